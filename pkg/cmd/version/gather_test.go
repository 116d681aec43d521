package version

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sc-project/sc/pkg/cmd/options"
)

// TestTrivyMisbehaving runs executables that are not a working trivy: what
// they do is a field of the report, and sc version neither fails nor waits
// past its timeout. (trivytest.Fake is a working trivy; these are not.)
func TestTrivyMisbehaving(t *testing.T) {
	for _, tc := range []struct {
		name, script, problem string
	}{
		{"exits non-zero", "echo 'FATAL cache is locked' >&2; exit 1", "cache is locked"},
		{"writes garbage", "echo 'Version: 0.74.0'", "reading `trivy version --format json`"},
		{"hangs", "exec sleep 30", "did not answer within"},
	} {
		// not parallel: writing an executable while another test forks
		// makes exec fail with "text file busy"
		t.Run(tc.name, func(t *testing.T) {
			exe := filepath.Join(t.TempDir(), "trivy")
			if err := os.WriteFile(exe, []byte("#!/bin/sh\n"+tc.script+"\n"), 0o755); err != nil {
				t.Fatal(err)
			}
			cache := t.TempDir()
			root := &options.Root{Getenv: func(k string) string { return map[string]string{options.EnvCacheDir: cache}[k] }}
			start := time.Now()
			r := gather(context.Background(), root, &options.ScanDB{}, exe, 500*time.Millisecond)
			if d := time.Since(start); d > 10*time.Second {
				t.Errorf("gather took %s", d)
			}
			if r.Trivy.State != stateUnusable || !strings.Contains(r.Trivy.Problem, tc.problem) || r.Trivy.Path != exe || r.Trivy.Version != "" {
				t.Errorf("trivy = %+v, want unusable with a problem containing %q", r.Trivy, tc.problem)
			}
			if r.VulnerabilityDB.State != stateNotInstalled {
				t.Errorf("vulnerabilityDB = %+v", r.VulnerabilityDB)
			}
		})
	}
}

// TestNoCacheDir: without any cache directory the database is unknown,
// not an error, and Trivy is still asked.
func TestNoCacheDir(t *testing.T) {
	t.Setenv("HOME", "")
	t.Setenv("XDG_CACHE_HOME", "")
	root := &options.Root{Getenv: func(string) string { return "" }}
	r := gather(context.Background(), root, &options.ScanDB{}, filepath.Join(t.TempDir(), "trivy"), time.Second)
	if r.VulnerabilityDB.State != stateUnusable || !strings.Contains(r.VulnerabilityDB.Problem, "no cache directory") {
		t.Errorf("vulnerabilityDB = %+v, want unusable: no cache directory", r.VulnerabilityDB)
	}
	if r.Trivy.State != stateNotInstalled {
		t.Errorf("trivy = %+v", r.Trivy)
	}
}
