package scan_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	tv "github.com/sc-project/sc/internal/testutil/vulndb"
	"github.com/sc-project/sc/pkg/cmd/internal/rootcmd"
	"github.com/sc-project/sc/pkg/cmd/options"
	scancmd "github.com/sc-project/sc/pkg/cmd/scan"
	"github.com/sc-project/sc/pkg/outcome"
)

// archive is built once, before the tests run: grype's archive builder
// changes the working directory.
var archive *tv.Archive

func TestMain(m *testing.M) {
	os.Exit(func() int {
		dir, err := os.MkdirTemp("", "scan-cmd-test-")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer os.RemoveAll(dir)
		if archive, err = tv.BuildIn(dir, tv.FixtureAdvisories()...); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		return m.Run()
	}())
}

// run executes sc in-process with SC_CACHE_DIR=cache and returns stdout,
// stderr and the error.
func run(t *testing.T, cache string, args ...string) (string, string, error) {
	t.Helper()
	env := map[string]string{options.EnvCacheDir: cache}
	root := &options.Root{Version: "v0.0.0-test", Getenv: func(k string) string { return env[k] }, Environ: func() []string { return nil }}
	c := rootcmd.New(root, scancmd.New(root))
	var stdout, stderr bytes.Buffer
	c.SetOut(&stdout)
	c.SetErr(&stderr)
	err := rootcmd.Execute(context.Background(), c, args)
	return stdout.String(), stderr.String(), err
}

type status struct {
	Path      string `json:"path"`
	Installed bool   `json:"installed"`
	Schema    string `json:"schema"`
	Source    string `json:"source"`
	MaxAge    string `json:"maxAge"`
	State     string `json:"state"`
	Usable    bool   `json:"usable"`
}

func statusOf(t *testing.T, stdout string) status {
	t.Helper()
	var st status
	if err := json.Unmarshal([]byte(stdout), &st); err != nil {
		t.Fatalf("status JSON %q: %v", stdout, err)
	}
	return st
}

func TestStatusNotInstalled(t *testing.T) {
	cache := t.TempDir()
	stdout, _, err := run(t, cache, "scan", "db", "status")
	if outcome.Code(err) != outcome.ExitCheckFailed {
		t.Fatalf("status = %v (exit %d), want exit 1", err, outcome.Code(err))
	}
	if !strings.Contains(stdout, "not installed") || !strings.Contains(stdout, filepath.Join(cache, "vulndb", "6", "vulnerability.db")) {
		t.Errorf("stdout = %q", stdout)
	}
}

func TestImport(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"archive", []string{archive.Path}},
		{"db file", []string{archive.DBPath}},
		{"sample", []string{"--sample"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cache := t.TempDir()
			_, stderr, err := run(t, cache, append([]string{"scan", "db", "import", "-o", "json"}, tc.args...)...)
			if err != nil {
				t.Fatalf("import: %v\n%s", err, stderr)
			}
			stdout, _, err := run(t, cache, "scan", "db", "status", "-o", "json")
			if err != nil {
				t.Fatalf("status: %v", err)
			}
			if st := statusOf(t, stdout); !st.Usable || st.State != "usable" || st.Source != "manual import" || st.MaxAge != "120h0m0s" {
				t.Errorf("status = %+v", st)
			}
			if tc.name == "sample" && !strings.Contains(stderr, "SAMPLE DATA") {
				t.Errorf("stderr %q does not say the data is a sample", stderr)
			}
		})
	}
}

func TestImportErrors(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "bad.tar.gz")
	if err := os.WriteFile(bad, []byte("not an archive"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		args []string
		code int
	}{
		{"no argument", nil, outcome.ExitInvalid},
		{"two arguments", []string{"a", "b"}, outcome.ExitInvalid},
		{"sample and a file", []string{"--sample", archive.Path}, outcome.ExitInvalid},
		{"garbage", []string{bad}, outcome.ExitOperational},
		{"missing file", []string{filepath.Join(t.TempDir(), "none.tar.gz")}, outcome.ExitOperational},
		{"bad output", []string{"-o", "xml", archive.Path}, outcome.ExitInvalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := run(t, t.TempDir(), append([]string{"scan", "db", "import"}, tc.args...)...)
			if outcome.Code(err) != tc.code {
				t.Errorf("import %v = %v (exit %d), want exit %d", tc.args, err, outcome.Code(err), tc.code)
			}
		})
	}
}

func TestUpdate(t *testing.T) {
	srv := tv.Serve(t, archive)
	cache := t.TempDir()
	stdout, stderr, err := run(t, cache, "scan", "db", "update", "--db-listing-url", srv.ListingURL(), "-o", "json")
	if err != nil {
		t.Fatalf("update: %v\n%s", err, stderr)
	}
	if st := statusOf(t, stdout); !st.Usable || !strings.HasPrefix(st.Source, srv.URL) {
		t.Errorf("status after update = %+v", st)
	}
	if !strings.Contains(stderr, "installed the vulnerability database") {
		t.Errorf("stderr = %q", stderr)
	}
	_, stderr, err = run(t, cache, "scan", "db", "update", "--db-listing-url", srv.ListingURL())
	if err != nil || !strings.Contains(stderr, "up to date") {
		t.Errorf("second update = %v, stderr %q; want up to date", err, stderr)
	}

	dead := tv.Serve(t, archive).URL + "/nothing/latest.json"
	if _, _, err := run(t, t.TempDir(), "scan", "db", "update", "--db-listing-url", dead); outcome.Code(err) != outcome.ExitOperational {
		t.Errorf("update from a listing that is not there = %v, want exit 3", err)
	}
}
