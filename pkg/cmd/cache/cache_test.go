package cache

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/sc-project/sc/pkg/cmd/options"
	"github.com/sc-project/sc/pkg/outcome"
	"github.com/sc-project/sc/pkg/security/cache"
)

var update = flag.Bool("update", false, "rewrite golden files")

func digestOf(s string) string {
	sum := sha256.Sum256([]byte(s))
	return "sha256:" + hex.EncodeToString(sum[:])
}

// run executes `sc cache args…` in-process with env as the environment.
func run(t *testing.T, env map[string]string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	root := &options.Root{Getenv: func(k string) string { return env[k] }}
	c := New(root)
	var out, errOut bytes.Buffer
	c.SetOut(&out)
	c.SetErr(&errOut)
	c.SetArgs(args)
	err = c.ExecuteContext(t.Context())
	return out.String(), errOut.String(), err
}

// populate stores entries: two SBOMs and a scan result stored now, one SBOM
// stored 30 days ago (expired) and a corrupt file.
func populate(t *testing.T, dir string) []cache.Key {
	t.Helper()
	now := time.Now()
	old := now.Add(-30 * 24 * time.Hour)
	keys := []cache.Key{
		{Operation: "sbom", Digest: digestOf("api"), ConfigHash: "sha256:" + strings.Repeat("c", 64), ToolVersion: "syft 1.57.0"},
		{Operation: "sbom", Digest: digestOf("web"), ToolVersion: "syft 1.57.0"},
		{Operation: "scan", Digest: digestOf("api"), ToolVersion: "grype 0.121.0 db 2026-02-28"},
		{Operation: "sbom", Digest: digestOf("old"), ToolVersion: "syft 1.50.0"},
	}
	for i, k := range keys {
		created := now
		if i == 3 {
			created = old
		}
		c, err := cache.New(dir, cache.WithClock(func() time.Time { return created }))
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Put(t.Context(), k, bytes.Repeat([]byte("x"), 1000*(i+1))); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "v1", strings.Repeat("e", 64)), []byte("garbage"), 0o600); err != nil {
		t.Fatal(err)
	}
	return keys
}

var timeStamp = regexp.MustCompile(`\d{4}-\d\d-\d\d \d\d:\d\d UTC`)

func TestList(t *testing.T) {
	dir := t.TempDir()
	populate(t, dir)
	out, _, err := run(t, nil, "ls", "--cache-dir", dir)
	if err != nil {
		t.Fatalf("sc cache ls: %v", err)
	}
	// Times depend on when the test runs; the layout does not.
	got := strings.ReplaceAll(timeStamp.ReplaceAllString(out, "<time>"), dir, "<dir>")
	golden := filepath.Join("testdata", "ls.golden")
	if *update {
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("sc cache ls mismatch (-want +got):\n%s", diff)
	}
}

func TestListJSON(t *testing.T) {
	dir := t.TempDir()
	keys := populate(t, dir)
	out, _, err := run(t, map[string]string{options.EnvCacheDir: dir}, "ls", "-o", "json")
	if err != nil {
		t.Fatalf("sc cache ls: %v", err)
	}
	var got listing
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("output is not JSON: %v\n%s", err, out)
	}
	if got.Dir != dir {
		t.Errorf("dir = %q, want %q", got.Dir, dir)
	}
	var gotKeys []cache.Key
	var total int64
	expired := 0
	for _, e := range got.Entries {
		total += e.FileSize
		if e.Expired {
			expired++
		}
		if !e.Corrupt {
			gotKeys = append(gotKeys, e.Key)
		}
	}
	less := func(a, b cache.Key) bool { return a.ID() < b.ID() }
	if diff := cmp.Diff(keys, gotKeys, cmpopts.SortSlices(less)); diff != "" {
		t.Errorf("listed keys mismatch (-want +got):\n%s", diff)
	}
	if len(got.Entries) != 5 || expired != 2 || got.TotalBytes != total || total == 0 {
		t.Errorf("%d entries, %d expired, totalBytes %d (sum %d); want 5 entries, 2 expired (old and corrupt)",
			len(got.Entries), expired, got.TotalBytes, total)
	}
}

func TestListEmpty(t *testing.T) {
	for _, args := range [][]string{{"ls"}, {"ls", "-o", "json"}} {
		dir := filepath.Join(t.TempDir(), "never-created")
		out, _, err := run(t, map[string]string{"XDG_CACHE_HOME": dir}, args...)
		if err != nil {
			t.Fatalf("sc cache %v: %v", args, err)
		}
		want := "no entries in " + filepath.Join(dir, "sc") + "\n"
		if len(args) > 1 {
			want = `{
  "dir": "` + filepath.Join(dir, "sc") + `",
  "entries": [],
  "totalBytes": 0
}
`
		}
		if out != want {
			t.Errorf("sc cache %v = %q, want %q", args, out, want)
		}
	}
}

func TestClean(t *testing.T) {
	tests := []struct {
		name        string
		args        []string
		wantLeft    int // entries left, corrupt one included
		wantMessage string
	}{
		{"default removes only expired", nil, 3, "removed 2 entries"},
		{"explicit expired", []string{"--expired"}, 3, "removed 2 entries"},
		{"all", []string{"--all"}, 0, "removed 5 entries"},
		{"operation", []string{"--operation", "sbom"}, 2, "removed 3 entries"},
		{"operation and expired", []string{"--operation", "sbom", "--expired"}, 4, "removed 1 entry "},
		{"older than (a fresh corrupt file is not old)", []string{"--older-than", "240h"}, 4, "removed 1 entry "},
		{"nothing to remove", []string{"--operation", "verify"}, 5, "removed 0 entries (0 B)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			populate(t, dir)
			out, _, err := run(t, nil, append([]string{"clean", "--cache-dir", dir}, tt.args...)...)
			if err != nil {
				t.Fatalf("sc cache clean: %v", err)
			}
			if !strings.Contains(out, tt.wantMessage) || !strings.Contains(out, dir) {
				t.Errorf("output %q does not say %q and name the directory", out, tt.wantMessage)
			}
			c, _ := cache.New(dir)
			left, err := c.List(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			if len(left) != tt.wantLeft {
				t.Errorf("%d entries left, want %d", len(left), tt.wantLeft)
			}
		})
	}
}

func TestCleanJSON(t *testing.T) {
	dir := t.TempDir()
	populate(t, dir)
	out, _, err := run(t, nil, "clean", "--cache-dir", dir, "--output", "json")
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Dir     string        `json:"dir"`
		Removed []cache.Entry `json:"removed"`
		Kept    int           `json:"kept"`
		Bytes   int64         `json:"bytes"`
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("output is not JSON: %v\n%s", err, out)
	}
	if got.Dir != dir || len(got.Removed) != 2 || got.Kept != 3 || got.Bytes == 0 {
		t.Errorf("clean JSON = %+v", got)
	}
}

func TestUsageErrors(t *testing.T) {
	dir := t.TempDir()
	tests := [][]string{
		{"clean", "--cache-dir", dir, "--all", "--operation", "sbom"},
		{"clean", "--cache-dir", dir, "--all", "--expired"},
		{"clean", "--cache-dir", dir, "--operation", "../etc"},
		{"clean", "--cache-dir", dir, "--older-than", "-1h"},
		{"clean", "--cache-dir", dir, "-o", "yaml"},
		{"ls", "--cache-dir", dir, "-o", "yaml"},
	}
	for _, args := range tests {
		t.Run(strings.Join(args[3:], " "), func(t *testing.T) {
			_, _, err := run(t, nil, args...)
			if code := outcome.Code(err); code != outcome.ExitInvalid {
				t.Errorf("sc cache %v: exit %d (%v), want %d", args, code, err, outcome.ExitInvalid)
			}
		})
	}
}

func TestUnusableCacheDir(t *testing.T) {
	file := filepath.Join(t.TempDir(), "not-a-dir")
	if err := os.WriteFile(file, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"ls"}, {"clean"}, {"clean", "--all"}} {
		_, _, err := run(t, map[string]string{options.EnvCacheDir: file}, args...)
		if code := outcome.Code(err); code != outcome.ExitOperational {
			t.Errorf("sc cache %v on a file: exit %d (%v), want %d", args, code, err, outcome.ExitOperational)
		}
	}
}

func TestCacheDirFlagWinsOverEnv(t *testing.T) {
	flagDir, envDir := t.TempDir(), t.TempDir()
	populate(t, flagDir)
	out, _, err := run(t, map[string]string{options.EnvCacheDir: envDir}, "ls", "--cache-dir", flagDir)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "5 entries") || !strings.Contains(out, flagDir) {
		t.Errorf("sc cache ls --cache-dir did not list the flag's directory:\n%s", out)
	}
}

func TestCleanHelpStatesDefault(t *testing.T) {
	out, _, err := run(t, nil, "clean", "--help")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "Without flags, only expired (and corrupt) entries are") {
		t.Errorf("clean help does not state the default:\n%s", out)
	}
}

func TestHumanBytes(t *testing.T) {
	tests := map[int64]string{
		0: "0 B", 1023: "1023 B", 1024: "1.0 KiB", 1536: "1.5 KiB",
		10 << 20: "10.0 MiB", 3 << 30: "3.0 GiB", 5 << 40: "5.0 TiB",
	}
	for n, want := range tests {
		if got := humanBytes(n); got != want {
			t.Errorf("humanBytes(%d) = %q, want %q", n, got, want)
		}
	}
}
