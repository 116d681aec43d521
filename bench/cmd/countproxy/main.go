// Command countproxy is a reverse proxy in front of a registry that counts
// the requests it passes, by kind (manifest, blob, referrers, upload;
// internal/regcount): bench/shards.sh puts it in front of Debian's
// docker-registry to report the registry load of a release run whole and
// as shards.
//
// GET /-/counts answers the counts since the last such request, on one
// line ("manifest 120 (GET 60, HEAD 60), blob …"), and starts counting
// again; every other request goes to --to unchanged. It is a benchmark
// helper, not part of sc: it listens where it is told (loopback in the
// benchmark) and keeps nothing but the counts.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/signal"
	"syscall"

	"github.com/sc-project/sc/internal/regcount"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "countproxy:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("countproxy", flag.ContinueOnError)
	listen := fs.String("listen", "", "address to listen on, host:port (required)")
	to := fs.String("to", "", "registry URL to pass requests to, http://host:port (required)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *listen == "" || *to == "" {
		return errors.New("--listen and --to are required")
	}
	u, err := url.Parse(*to)
	if err != nil {
		return fmt.Errorf("--to: %w", err)
	}
	var log regcount.Log
	mux := http.NewServeMux()
	mux.HandleFunc("GET /-/counts", func(w http.ResponseWriter, _ *http.Request) {
		reqs := log.Requests()
		log.Reset()
		fmt.Fprintln(w, regcount.Summary(reqs))
	})
	mux.Handle("/", log.Wrap(httputil.NewSingleHostReverseProxy(u)))
	srv := &http.Server{Addr: *listen, Handler: mux}
	go func() {
		<-ctx.Done()
		_ = srv.Close()
	}()
	if err := srv.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
