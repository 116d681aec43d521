// Package scan holds the `sc scan` commands, which manage what vulnerability
// scans need: `sc scan db status|update|import` for grype's vulnerability
// database under the cache directory. Scanning an image is `sc image scan`.
// The commands are thin: flags become options of
// pkg/security/scan/vulndb, whose results are printed to stdout; progress
// goes to stderr.
package scan

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/sc-project/sc/pkg/cmd/options"
	"github.com/sc-project/sc/pkg/outcome"
	"github.com/sc-project/sc/pkg/security/scan/vulndb"
)

// New returns the `sc scan` command group.
func New(root *options.Root) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "scan",
		Short: "Manage what vulnerability scans need (the vulnerability database)",
		Args:  cobra.NoArgs,
	}
	db := &cobra.Command{
		Use:   "db",
		Short: "Show, update or import grype's vulnerability database",
		Long: `The vulnerability database is grype's (schema v6), kept in <cache-dir>/vulndb and
shared by every scan. A scan updates it from --db-listing-url when there is none
or it is older than --db-max-age; a machine without network access installs one
with 'sc scan db import FILE|URL' (an archive from grype's listing, or a
vulnerability.db file).`,
		Args: cobra.NoArgs,
	}
	db.AddCommand(newStatus(root), newUpdate(root), newImport(root))
	cmd.AddCommand(db)
	return cmd
}

// Store returns the database store the flags describe, for every command
// that scans or manages the database.
func Store(root *options.Root, d *options.ScanDB, logger *slog.Logger) (*vulndb.Store, error) {
	if err := d.Validate(); err != nil {
		return nil, err
	}
	dir, err := d.Dir(root)
	if err != nil {
		return nil, err
	}
	opts := []vulndb.Option{
		vulndb.WithListingURL(d.ListingURL),
		vulndb.WithMaxAge(d.MaxAge),
		vulndb.WithAutoUpdate(!d.NoUpdate),
		vulndb.WithUserAgent("sc", strings.TrimPrefix(root.UserAgent(), "sc/")),
		vulndb.WithLogger(logger),
	}
	if d.InsecureAllowStale {
		opts = append(opts, vulndb.WithInsecureAllowStale())
	}
	if d.CACert != "" {
		opts = append(opts, vulndb.WithCACert(d.CACert))
	}
	return vulndb.NewStore(dir, opts...), nil
}

func outputFlag(cmd *cobra.Command, output *string) {
	cmd.Flags().StringVarP(output, "output", "o", "text", "output format: text or json")
}

func checkOutput(output string) error {
	if output != "text" && output != "json" {
		return outcome.Invalidf("--output %q: want text or json", output)
	}
	return nil
}

func newStatus(root *options.Root) *cobra.Command {
	var (
		d      options.ScanDB
		output string
	)
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show the installed vulnerability database; exit 1 when a scan could not use it",
		Long: `Status prints where the vulnerability database is, when it was built, its schema
and where it came from, and whether a scan can use it: installed, passing its
checksum, and not older than --db-max-age. It never touches the network. The
exit code is 1 when a scan could not use the database as it is.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkOutput(output); err != nil {
				return err
			}
			store, err := Store(root, &d, root.Logger(cmd.ErrOrStderr()))
			if err != nil {
				return err
			}
			st, err := store.Status(cmd.Context())
			if err != nil {
				return err
			}
			if err := writeStatus(cmd.OutOrStdout(), output, st); err != nil {
				return outcome.Operationalf("writing the status: %w", err)
			}
			if !st.Usable() {
				return outcome.CheckFailedf("the vulnerability database in %s is not usable: %s", store.Dir(), state(st))
			}
			return nil
		},
	}
	d.AddFlags(cmd.Flags())
	outputFlag(cmd, &output)
	return cmd
}

func newUpdate(root *options.Root) *cobra.Command {
	var (
		d      options.ScanDB
		output string
	)
	cmd := &cobra.Command{
		Use:   "update",
		Short: "Download the newest vulnerability database when there is a newer one",
		Long: `Update fetches the listing at --db-listing-url and, when it names a database
newer than the installed one, downloads it, checks its checksum and installs it.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkOutput(output); err != nil {
				return err
			}
			store, err := Store(root, &d, root.Logger(cmd.ErrOrStderr()))
			if err != nil {
				return err
			}
			st, updated, err := store.Update(cmd.Context())
			if err != nil {
				return err
			}
			if updated {
				fmt.Fprintf(cmd.ErrOrStderr(), "installed the vulnerability database built %s\n", st.Built.Format(time.RFC3339))
			} else {
				fmt.Fprintf(cmd.ErrOrStderr(), "the vulnerability database is up to date\n")
			}
			return writeStatus(cmd.OutOrStdout(), output, st)
		},
	}
	d.AddFlags(cmd.Flags())
	outputFlag(cmd, &output)
	return cmd
}

func newImport(root *options.Root) *cobra.Command {
	var (
		d      options.ScanDB
		output string
		sample bool
	)
	cmd := &cobra.Command{
		Use:   "import FILE|URL",
		Short: "Install a vulnerability database from a file or URL, for machines without network",
		Long: `Import installs a vulnerability database: an archive as grype publishes them
(vulnerability-db_v6….tar.zst, .tar.xz or .tar.gz), a vulnerability.db file, or
the URL of an archive. Fetch the archive where there is network access (its URL
is in the listing, <listing>/v6/latest.json) and carry it over.

--sample installs a small sample database instead, made on the spot, whose
records match sc's fixture image: SAMPLE DATA — not real vulnerability data,
for trying sc out offline.`,
		Example: `  sc scan db import vulnerability-db_v6.1.10_2026-11-20T06:00:00Z_1763618400.tar.zst
  sc scan db import --sample`,
		Args: func(cmd *cobra.Command, args []string) error {
			if sample {
				return cobra.NoArgs(cmd, args)
			}
			return cobra.ExactArgs(1)(cmd, args)
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(output); err != nil {
				return err
			}
			store, err := Store(root, &d, root.Logger(cmd.ErrOrStderr()))
			if err != nil {
				return err
			}
			ref := ""
			if sample {
				tmp, err := os.MkdirTemp("", "sc-sample-db-")
				if err != nil {
					return outcome.Operationalf("writing the sample database: %w", err)
				}
				defer func() { _ = os.RemoveAll(tmp) }()
				if ref, err = vulndb.WriteSample(cmd.Context(), tmp); err != nil {
					return outcome.Operationalf("%w", err)
				}
				fmt.Fprintf(cmd.ErrOrStderr(), "%s This database is for trying sc out; run 'sc scan db update' for real data.\n", vulndb.SampleNotice)
			} else {
				ref = args[0]
			}
			st, err := store.Import(cmd.Context(), ref)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "imported the vulnerability database built %s\n", st.Built.Format(time.RFC3339))
			return writeStatus(cmd.OutOrStdout(), output, st)
		},
	}
	d.AddFlags(cmd.Flags())
	outputFlag(cmd, &output)
	cmd.Flags().BoolVar(&sample, "sample", false, "install the sample database (SAMPLE DATA — not real vulnerability data)")
	return cmd
}

// state says in a few words whether a scan can use the database.
func state(st *vulndb.Status) string {
	switch {
	case !st.Installed:
		return "not installed"
	case st.Problem != "":
		return "not usable: " + st.Problem
	case st.Stale:
		return "stale: older than the maximum age"
	}
	return "usable"
}

// statusJSON is the JSON form of a status.
type statusJSON struct {
	*vulndb.Status
	MaxAge string `json:"maxAge"`
	State  string `json:"state"`
	Usable bool   `json:"usable"`
}

func writeStatus(w io.Writer, output string, st *vulndb.Status) error {
	if output == "json" {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(statusJSON{Status: st, MaxAge: st.MaxAge.String(), State: state(st), Usable: st.Usable()})
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "database:\t%s\n", st.Path)
	if st.Installed {
		fmt.Fprintf(tw, "built:\t%s\n", st.Built.Format(time.RFC3339))
		fmt.Fprintf(tw, "schema:\t%s\n", st.Schema)
		fmt.Fprintf(tw, "source:\t%s\n", st.Source)
	}
	fmt.Fprintf(tw, "max age:\t%s\n", st.MaxAge)
	fmt.Fprintf(tw, "state:\t%s\n", state(st))
	return tw.Flush()
}
