package version_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"
	"time"

	"github.com/sc-project/sc/internal/testutil/trivytest"
	tv "github.com/sc-project/sc/internal/testutil/vulndb"
	"github.com/sc-project/sc/pkg/cmd"
	"github.com/sc-project/sc/pkg/cmd/options"
	"github.com/sc-project/sc/pkg/outcome"
	"github.com/sc-project/sc/pkg/version"
)

// run executes sc in-process with SC_CACHE_DIR=cache.
func run(t *testing.T, cache string, args ...string) (string, string, error) {
	t.Helper()
	env := map[string]string{options.EnvCacheDir: cache}
	root := &options.Root{Version: "v0.0.0-test", Getenv: func(k string) string { return env[k] }, Environ: func() []string { return nil }}
	c := cmd.New(root)
	var stdout, stderr bytes.Buffer
	c.SetOut(&stdout)
	c.SetErr(&stderr)
	err := cmd.Execute(context.Background(), c, args)
	return stdout.String(), stderr.String(), err
}

// report is `sc version --output json`, read back field by field.
type report struct {
	Version   string `json:"version"`
	GoVersion string `json:"goVersion"`
	Platform  string `json:"platform"`
	Modules   []struct {
		Path    string `json:"path"`
		Version string `json:"version"`
		Sum     string `json:"sum"`
	} `json:"modules"`
	VulnerabilityDB struct {
		State   string    `json:"state"`
		Path    string    `json:"path"`
		Schema  string    `json:"schema"`
		Built   time.Time `json:"built"`
		Source  string    `json:"source"`
		Problem string    `json:"problem"`
	} `json:"vulnerabilityDB"`
	Trivy struct {
		State   string `json:"state"`
		Path    string `json:"path"`
		Version string `json:"version"`
		DB      *struct {
			Schema string    `json:"schema"`
			Built  time.Time `json:"built"`
			Source string    `json:"source"`
		} `json:"db"`
		Problem string `json:"problem"`
	} `json:"trivy"`
}

func versionJSON(t *testing.T, cache string, args ...string) report {
	t.Helper()
	stdout, stderr, err := run(t, cache, append([]string{"version", "--output", "json"}, args...)...)
	if err != nil {
		t.Fatalf("sc version: %v\n%s", err, stderr)
	}
	var r report
	if err := json.Unmarshal([]byte(stdout), &r); err != nil {
		t.Fatalf("sc version JSON: %v\n%s", err, stdout)
	}
	return r
}

// noTrivy is a --trivy-path where there is no executable.
func noTrivy(t *testing.T) string { return filepath.Join(t.TempDir(), "trivy") }

// TestJSON checks every field. The module versions are checked against
// the test binary's build information, which lists the main module as
// "(devel)" and no dependencies (go test records none): TestBinary checks
// them in a real sc binary.
func TestJSON(t *testing.T) {
	cache := filepath.Join(t.TempDir(), "cache")
	trivy := noTrivy(t)
	r := versionJSON(t, cache, "--trivy-path", trivy)

	if r.Version != "v0.0.0-test" || r.GoVersion != runtime.Version() || r.Platform != runtime.GOOS+"/"+runtime.GOARCH {
		t.Errorf("version, go version, platform = %q, %q, %q", r.Version, r.GoVersion, r.Platform)
	}
	linked := map[string]string{}
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, d := range bi.Deps {
			linked[d.Path] = d.Version
			if d.Replace != nil {
				linked[d.Path] = d.Replace.Version
			}
		}
	}
	tracked := version.Tracked()
	if len(r.Modules) != len(tracked) {
		t.Fatalf("modules = %+v, want %d", r.Modules, len(tracked))
	}
	for i, m := range r.Modules {
		if m.Path != tracked[i] || m.Version != linked[m.Path] {
			t.Errorf("module %d = %+v, want %s at %q", i, m, tracked[i], linked[tracked[i]])
		}
	}

	db := r.VulnerabilityDB
	if db.State != "not installed" || db.Path != filepath.Join(cache, "vulndb", "6", "vulnerability.db") || db.Schema != "" || !db.Built.IsZero() {
		t.Errorf("vulnerabilityDB = %+v, want not installed under the cache", db)
	}
	if r.Trivy.State != "not installed" || r.Trivy.Path != trivy || r.Trivy.Version != "" || r.Trivy.Problem != "" {
		t.Errorf("trivy = %+v, want not installed at %s", r.Trivy, trivy)
	}
	// reading the version writes nothing, not even the cache directory
	if _, err := os.Stat(cache); !os.IsNotExist(err) {
		t.Errorf("sc version created %s (%v)", cache, err)
	}
}

func TestDatabaseInstalled(t *testing.T) {
	cache := t.TempDir()
	built := time.Date(2026, 11, 20, 6, 0, 0, 0, time.UTC)
	if _, stderr, err := run(t, cache, "scan", "db", "import", tv.DBBuiltAt(t, built, tv.FixtureAdvisories()...)); err != nil {
		t.Fatalf("importing the test database: %v\n%s", err, stderr)
	}
	db := versionJSON(t, cache, "--trivy-path", noTrivy(t)).VulnerabilityDB
	if db.State != "installed" || !strings.HasPrefix(db.Schema, "v6.") || !db.Built.Equal(built) || db.Source != "manual import" ||
		db.Path != filepath.Join(cache, "vulndb", "6", "vulnerability.db") || db.Problem != "" {
		t.Errorf("vulnerabilityDB = %+v, want installed, v6, built %s, manual import", db, built)
	}

	// a database that fails its checksum is reported, not an error
	if err := os.WriteFile(db.Path, []byte("not a database"), 0o644); err != nil {
		t.Fatal(err)
	}
	db = versionJSON(t, cache, "--trivy-path", noTrivy(t)).VulnerabilityDB
	if db.State != "unusable" || db.Problem == "" {
		t.Errorf("vulnerabilityDB of a damaged database = %+v, want unusable with the problem", db)
	}
}

func TestTrivy(t *testing.T) {
	t.Run("installed, with a database", func(t *testing.T) {
		cache := t.TempDir()
		exe, _, calls := trivytest.Fake(t, "0.74.0", "/dev/null")
		// the fake reports a database once its cache holds one
		if err := os.MkdirAll(filepath.Join(cache, "trivy", "db"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(cache, "trivy", "db", "trivy.db"), nil, 0o644); err != nil {
			t.Fatal(err)
		}
		tr := versionJSON(t, cache, "--trivy-path", exe).Trivy
		if tr.State != "installed" || tr.Version != "0.74.0" || tr.Path != exe || tr.Problem != "" || tr.DB == nil ||
			tr.DB.Schema != "2" || !tr.DB.Built.Equal(time.Date(2026, 11, 20, 6, 0, 0, 0, time.UTC)) || tr.DB.Source != "trivy-db" {
			t.Errorf("trivy = %+v, want 0.74.0 with database 2 built 2026-11-20T06:00:00Z", tr)
		}
		got, err := os.ReadFile(calls)
		if err != nil {
			t.Fatal(err)
		}
		// asked for its version, with sc's Trivy cache; never a download
		if want := "version --format json --cache-dir " + filepath.Join(cache, "trivy") + "\n"; string(got) != want {
			t.Errorf("trivy calls = %q, want %q", got, want)
		}
	})
	t.Run("installed, no database", func(t *testing.T) {
		exe, _, _ := trivytest.Fake(t, "0.74.1", "/dev/null")
		tr := versionJSON(t, t.TempDir(), "--trivy-path", exe).Trivy
		if tr.State != "installed" || tr.Version != "0.74.1" || tr.DB != nil {
			t.Errorf("trivy = %+v, want 0.74.1 without a database", tr)
		}
	})
	t.Run("too old", func(t *testing.T) {
		exe, _, _ := trivytest.Fake(t, "0.73.9", "/dev/null")
		tr := versionJSON(t, t.TempDir(), "--trivy-path", exe).Trivy
		if tr.State != "unusable" || !strings.Contains(tr.Problem, "0.73.9") || tr.Path != exe {
			t.Errorf("trivy = %+v, want unusable naming 0.73.9", tr)
		}
	})
}

func TestText(t *testing.T) {
	cache := t.TempDir()
	stdout, _, err := run(t, cache, "version", "--trivy-path", noTrivy(t))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(stdout, "\n")
	if lines[0] != "sc/v0.0.0-test" {
		t.Errorf("first line = %q, want the user agent sc/v0.0.0-test", lines[0])
	}
	for _, want := range append(version.Tracked(), "version:", "v0.0.0-test", "commit:", "not recorded", runtime.Version(),
		"vulnerability database:", "not installed", filepath.Join(cache, "vulndb"), "trivy:") {
		if !strings.Contains(stdout, want) {
			t.Errorf("text output lacks %q:\n%s", want, stdout)
		}
	}
	// table is accepted as another name of the text output
	table, _, err := run(t, cache, "version", "--trivy-path", noTrivy(t), "-o", "table")
	if err != nil || !strings.HasPrefix(table, "sc/v0.0.0-test\n") {
		t.Errorf("-o table = %v\n%s", err, table)
	}
}

func TestUsage(t *testing.T) {
	for _, args := range [][]string{
		{"version", "extra"},
		{"version", "--output", "yaml"},
		{"version", "--no-such-flag"},
	} {
		if _, _, err := run(t, t.TempDir(), args...); outcome.Code(err) != outcome.ExitInvalid {
			t.Errorf("sc %v = %v (exit %d), want exit 2", args, err, outcome.Code(err))
		}
	}
}

// TestBinary builds sc as users get it and checks that `sc version` reports
// the version stamped at link time and, for every tracked module, the
// version go.mod resolves — what a test binary cannot show.
func TestBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the sc binary")
	}
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("the go command is not on PATH")
	}
	dir := t.TempDir()
	sc := filepath.Join(dir, "sc")
	build := exec.Command("go", "build", "-ldflags", "-X main.version=v9.9.9-test", "-o", sc, "github.com/sc-project/sc/cmd/sc")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	args := append([]string{"list", "-m", "-f", "{{.Path}} {{with .Replace}}{{.Version}}{{else}}{{.Version}}{{end}}"}, version.Tracked()...)
	out, err := exec.Command("go", args...).Output()
	if err != nil {
		t.Fatalf("go list -m: %v", err)
	}
	want := map[string]string{}
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		path, v, _ := strings.Cut(l, " ")
		want[path] = v
	}

	cmd := exec.Command(sc, "version", "--output", "json", "--cache-dir", filepath.Join(dir, "cache"), "--trivy-path", noTrivy(t))
	stdout, err := cmd.Output()
	if err != nil {
		t.Fatalf("sc version: %v", err)
	}
	var r report
	if err := json.Unmarshal(stdout, &r); err != nil {
		t.Fatalf("sc version JSON: %v\n%s", err, stdout)
	}
	if r.Version != "v9.9.9-test" || r.GoVersion != runtime.Version() {
		t.Errorf("version, go version = %q, %q, want v9.9.9-test, %s", r.Version, r.GoVersion, runtime.Version())
	}
	if len(r.Modules) != len(version.Tracked()) {
		t.Fatalf("modules = %+v", r.Modules)
	}
	for _, m := range r.Modules {
		if m.Version == "" || m.Version != want[m.Path] || !strings.HasPrefix(m.Sum, "h1:") {
			t.Errorf("module %+v, want version %q (go.mod's) with its sum", m, want[m.Path])
		}
	}
	if r.VulnerabilityDB.State != "not installed" || r.Trivy.State != "not installed" {
		t.Errorf("vulnerabilityDB %+v, trivy %+v, want both not installed", r.VulnerabilityDB, r.Trivy)
	}

	text, err := exec.Command(sc, "version", "--cache-dir", filepath.Join(dir, "cache"), "--trivy-path", noTrivy(t)).Output()
	if err != nil || !strings.HasPrefix(string(text), "sc/v9.9.9-test\n") {
		t.Errorf("sc version = %v, first line not the user agent:\n%s", err, text)
	}
}
