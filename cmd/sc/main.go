// Command sc secures container images on their way to production. This
// package only wires the process to the command tree: signals, the
// environment, and the mapping from errors to exit codes.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/sc-project/sc/pkg/cmd"
	"github.com/sc-project/sc/pkg/cmd/options"
	"github.com/sc-project/sc/pkg/outcome"
	scversion "github.com/sc-project/sc/pkg/version"
)

// version is set at link time: -ldflags "-X main.version=v1.2.3".
var version string

func main() {
	os.Exit(run())
}

func run() int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	root := &options.Root{
		Version: buildVersion(),
		Getenv:  os.Getenv,
		Environ: os.Environ,
	}
	err := cmd.Execute(ctx, cmd.New(root), os.Args[1:])
	if err == nil {
		return outcome.ExitOK
	}
	if ctx.Err() != nil && errors.Is(err, context.Canceled) {
		fmt.Fprintln(os.Stderr, "sc: interrupted; nothing further was written")
		return outcome.ExitOperational
	}
	fmt.Fprintf(os.Stderr, "sc: %v\n", err)
	return outcome.Code(err)
}

func buildVersion() string { return scversion.Read(version).Version }
