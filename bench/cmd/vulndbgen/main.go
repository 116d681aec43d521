// Command vulndbgen writes the full-size synthetic vulnerability database
// of the benchmarks: internal/testutil/vulndb.Synthetic's records (by
// default SyntheticRecords, 300,000: Debian 12, npm and Go modules) and the
// fixture image's advisories, with grype's own v6 writer, to
// DIR/vulnerability.db. The records are the same every run; `sc scan db
// import` and `grype db import` take the file as it is.
//
// It is a benchmark helper, not part of sc, and writes only into --dir.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"time"

	tv "github.com/sc-project/sc/internal/testutil/vulndb"
	"github.com/sc-project/sc/pkg/security/scan/vulndb"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "vulndbgen:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("vulndbgen", flag.ContinueOnError)
	dir := fs.String("dir", "", "directory to write vulnerability.db into (required)")
	records := fs.Int("records", tv.SyntheticRecords, "number of synthetic records")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *dir == "" || *records < 0 {
		return fmt.Errorf("usage: vulndbgen --dir DIR [--records N]")
	}
	start := time.Now()
	advisories := append(tv.Synthetic(*records), tv.FixtureAdvisories()...)
	if err := vulndb.Write(ctx, *dir, advisories...); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "vulndbgen: %d records in %s (%s)\n", len(advisories),
		filepath.Join(*dir, "vulnerability.db"), time.Since(start).Round(time.Second))
	return nil
}
