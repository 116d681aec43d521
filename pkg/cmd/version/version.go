// Package version holds `sc version`, the report an auditor reads to know
// what produced sc's results: sc's version and commit, the Go toolchain and
// platform, and the linked versions of syft, grype, cosign, sigstore-go,
// sigstore and go-containerregistry (all from pkg/version); the
// vulnerability database installed under the cache directory (schema,
// build time, source, from pkg/security/scan/vulndb); and the Trivy that
// `sc image scan --tool trivy|all` would run (pkg/security/scan).
//
// The command only reads: it never downloads a database, never writes to
// the cache, and never fails because a database or Trivy is missing or
// broken; those are fields of the report. It links grype (through vulndb)
// to read the database's description.
package version

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/sc-project/sc/pkg/cmd/options"
	"github.com/sc-project/sc/pkg/outcome"
	"github.com/sc-project/sc/pkg/security/scan"
	"github.com/sc-project/sc/pkg/security/scan/vulndb"
	"github.com/sc-project/sc/pkg/version"
)

// trivyTimeout bounds `trivy version`: a Trivy that hangs is reported, not
// waited for.
const trivyTimeout = 10 * time.Second

// The states of an installed component.
const (
	stateInstalled    = "installed"
	stateNotInstalled = "not installed"
	// stateUnusable is a component that is there but cannot be used or
	// read (Problem says why).
	stateUnusable = "unusable"
)

// report is what `sc version` prints; its JSON is `--output json`.
type report struct {
	version.Info
	// VulnerabilityDB is grype's database in <cache-dir>/vulndb.
	VulnerabilityDB database `json:"vulnerabilityDB"`
	// Trivy is the trivy executable of --trivy-path.
	Trivy trivy `json:"trivy"`
}

// database describes the installed vulnerability database.
type database struct {
	// State is installed, not installed or unusable.
	State string `json:"state"`
	// Path is the database file, "" when the cache directory is unknown.
	Path string `json:"path,omitempty"`
	// Schema is its schema version ("v6.1.10").
	Schema string `json:"schema,omitempty"`
	// Built is when it was built.
	Built time.Time `json:"built,omitzero"`
	// Source is where it was installed from: a URL, or "manual import".
	Source string `json:"source,omitempty"`
	// Problem says why it is unusable.
	Problem string `json:"problem,omitempty"`
}

// trivy describes the trivy executable.
type trivy struct {
	// State is installed, not installed or unusable (too old, failing,
	// answering nonsense or not at all).
	State string `json:"state"`
	// Path is the executable found, or the name looked for.
	Path string `json:"path"`
	// Version is Trivy's version ("0.74.0").
	Version string `json:"version,omitempty"`
	// DB is Trivy's vulnerability database in <cache-dir>/trivy, nil when
	// it has none.
	DB *scan.DBInfo `json:"db,omitempty"`
	// Problem says why it is unusable.
	Problem string `json:"problem,omitempty"`
}

// New returns `sc version`.
func New(root *options.Root) *cobra.Command {
	var (
		db        options.ScanDB
		trivyPath string
		output    string
	)
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Print sc's version, the libraries it links, its vulnerability database and Trivy",
		Long: `Version prints what produced sc's results: sc's version and commit, the Go
version and platform, the versions of the syft, grype, cosign, sigstore-go,
sigstore and go-containerregistry modules linked into this binary, the
vulnerability database in <cache-dir>/vulndb (schema, build time, source) and
the version of the trivy executable, when there is one.

It never downloads anything. A database or Trivy that is missing or broken is
reported, not an error. The first line of the text output is sc/<version>, the
User-Agent sc sends.`,
		Example: `  sc version
  sc version --output json | jq -r '.modules[] | "\(.path) \(.version)"'`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if output != "text" && output != "table" && output != "json" {
				return outcome.Invalidf("--output %q: want text or json", output)
			}
			r := gather(cmd.Context(), root, &db, trivyPath, trivyTimeout)
			if err := cmd.Context().Err(); err != nil {
				return err
			}
			if err := write(cmd.OutOrStdout(), output, root.UserAgent(), r); err != nil {
				return outcome.Operationalf("writing the version: %w", err)
			}
			return nil
		},
	}
	db.Cache.AddFlags(cmd.Flags())
	cmd.Flags().StringVar(&trivyPath, "trivy-path", "trivy", "trivy executable to report on (a path, or a name looked up on PATH)")
	cmd.Flags().StringVarP(&output, "output", "o", "text", "output format: text or json")
	return cmd
}

// gather reads the report. It does not fail: what cannot be read is a
// state and a problem in the report.
func gather(ctx context.Context, root *options.Root, db *options.ScanDB, trivyPath string, timeout time.Duration) report {
	r := report{Info: version.Read(root.Version)}
	r.VulnerabilityDB = readDB(ctx, root, db)
	r.Trivy = readTrivy(ctx, root, db, trivyPath, timeout)
	return r
}

func readDB(ctx context.Context, root *options.Root, db *options.ScanDB) database {
	dir, err := db.Dir(root)
	if err != nil {
		return database{State: stateUnusable, Problem: err.Error()}
	}
	store := vulndb.NewStore(dir)
	st, err := store.Status(ctx)
	if err != nil {
		return database{State: stateUnusable, Path: dir, Problem: err.Error()}
	}
	d := database{State: stateNotInstalled, Path: st.Path}
	if st.Installed {
		d.State, d.Schema, d.Built, d.Source = stateInstalled, st.Schema, st.Built, st.Source
		if st.Problem != "" {
			d.State, d.Problem = stateUnusable, st.Problem
		}
	}
	return d
}

func readTrivy(ctx context.Context, root *options.Root, db *options.ScanDB, path string, timeout time.Duration) trivy {
	t := trivy{State: stateNotInstalled, Path: path}
	cacheDir, err := db.TrivyCacheDir(root)
	if err != nil {
		// trivy still reports its version; it has no database to describe
		cacheDir = ""
	}
	if exe, err := exec.LookPath(path); err == nil {
		t.Path = exe
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	v, err := scan.NewTrivy(cacheDir, scan.WithTrivyPath(path)).Version(ctx)
	switch {
	case errors.Is(err, scan.ErrScannerNotFound):
		return t
	case errors.Is(err, context.DeadlineExceeded):
		t.State, t.Problem = stateUnusable, fmt.Sprintf("`trivy version` did not answer within %s", timeout)
		return t
	case err != nil:
		t.State, t.Problem = stateUnusable, err.Error()
		return t
	}
	t.State, t.Version = stateInstalled, v.Version
	if vdb := v.VulnerabilityDB; vdb != nil {
		t.DB = &scan.DBInfo{Built: vdb.UpdatedAt.UTC(), Schema: strconv.Itoa(vdb.Version), Source: "trivy-db"}
	}
	return t
}

func write(w io.Writer, output, userAgent string, r report) error {
	if output == "json" {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(r)
	}
	fmt.Fprintln(w, userAgent)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	commit := r.Commit
	switch {
	case commit == "":
		commit = "not recorded"
	case r.Dirty:
		commit += " (dirty: uncommitted changes)"
	}
	fmt.Fprintf(tw, "version:\t%s\n", r.Version)
	fmt.Fprintf(tw, "commit:\t%s\n", commit)
	if r.CommitTime != "" {
		fmt.Fprintf(tw, "commit time:\t%s\n", r.CommitTime)
	}
	fmt.Fprintf(tw, "go version:\t%s\n", r.GoVersion)
	fmt.Fprintf(tw, "platform:\t%s\n", r.Platform)
	for _, m := range r.Modules {
		v := m.Version
		switch {
		case v == "":
			v = "not linked"
		case m.Replaced != "":
			v += " (replaced by " + m.Replaced + ")"
		}
		fmt.Fprintf(tw, "%s:\t%s\n", m.Path, v)
	}
	d := r.VulnerabilityDB
	fmt.Fprintf(tw, "vulnerability database:\t%s\n", d.State)
	if d.Schema != "" {
		fmt.Fprintf(tw, "  schema:\t%s\n", d.Schema)
	}
	if !d.Built.IsZero() {
		fmt.Fprintf(tw, "  built:\t%s\n", d.Built.Format(time.RFC3339))
	}
	if d.Source != "" {
		fmt.Fprintf(tw, "  source:\t%s\n", d.Source)
	}
	if d.Path != "" {
		fmt.Fprintf(tw, "  path:\t%s\n", d.Path)
	}
	if d.Problem != "" {
		fmt.Fprintf(tw, "  problem:\t%s\n", d.Problem)
	}
	t := r.Trivy
	fmt.Fprintf(tw, "trivy:\t%s\n", t.State)
	if t.Version != "" {
		fmt.Fprintf(tw, "  version:\t%s\n", t.Version)
	}
	fmt.Fprintf(tw, "  path:\t%s\n", t.Path)
	if t.DB != nil {
		fmt.Fprintf(tw, "  database:\tschema %s, built %s\n", t.DB.Schema, t.DB.Built.Format(time.RFC3339))
	}
	if t.Problem != "" {
		fmt.Fprintf(tw, "  problem:\t%s\n", t.Problem)
	}
	return tw.Flush()
}
