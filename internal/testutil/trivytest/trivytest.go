// Package trivytest finds Aqua's real trivy executable for tests (Binary),
// and provides a stand-in for it (Fake) for the failures the real one
// cannot be made to show: a shell script that answers the commands sc runs — `version --format json`,
// `image --download-db-only` and `sbom --output FILE` — as trivy's command
// line does, reporting the version it was given and recording the
// arguments of every call. It needs /bin/sh.
//
// The stand-in imitates the command line, not the scanner: `sbom` copies a
// prepared report to --output, whatever the SBOM holds, and the "database"
// is an empty file. Tests of the scanner run the real binary, with a
// database built by internal/testutil/trivydb.
package trivytest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// Version is the Trivy .ci/trivy.sh installs.
const Version = "0.74.0"

// InstallCommand installs the real trivy where Binary looks first.
const InstallCommand = "bash .ci/trivy.sh"

// Binary returns the path of the real trivy: the one .ci/trivy.sh built in
// ${SC_TOOLS_DIR:-$HOME/.cache/sc-tools}/bin, else one on PATH. When there
// is none the test is skipped, or fails when the environment says CI=true
// (CI installs it, and must not skip), with the command that installs it.
func Binary(t testing.TB) string {
	t.Helper()
	// Test support reads the environment here, as StartDockerRegistry
	// does: where the tools are, and whether CI must not skip.
	dir := os.Getenv("SC_TOOLS_DIR")
	if dir == "" {
		if home, err := os.UserHomeDir(); err == nil {
			dir = filepath.Join(home, ".cache", "sc-tools")
		}
	}
	if dir != "" {
		p := filepath.Join(dir, "bin", "trivy")
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0 {
			return p
		}
	}
	if p, err := exec.LookPath("trivy"); err == nil {
		return p
	}
	msg := fmt.Sprintf("trivytest: no trivy in %s/bin or on PATH; install Trivy %s with `%s`", dir, Version, InstallCommand)
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

// Fake writes the stand-in to a temporary directory of t. It answers
// `version` with version, and with a vulnerability database (schema 2,
// built 2026-11-20T06:00:00Z, next update 2026-11-20T12:00:00Z) once
// `image --download-db-only` has made one under --cache-dir; `sbom` copies
// the file report to --output and fails while there is no database. It
// returns the executable, a cache directory for --cache-dir (not yet
// created) and calls, a file with one line of arguments per call.
func Fake(t testing.TB, version, report string) (exe, cacheDir, calls string) {
	t.Helper()
	dir := t.TempDir()
	cacheDir = filepath.Join(dir, "cache")
	calls = filepath.Join(dir, "calls.log")
	exe = filepath.Join(dir, "trivy")
	script := fmt.Sprintf(`#!/bin/sh
echo "$*" >> %[1]q
cmd=$1
out=""; cache=""
while [ $# -gt 0 ]; do
  case "$1" in
    --output) out=$2; shift;;
    --cache-dir) cache=$2; shift;;
  esac
  shift
done
case "$cmd" in
  version)
    if [ -f "$cache/db/trivy.db" ]; then
      echo '{"Version":"%[2]s","VulnerabilityDB":{"Version":2,"UpdatedAt":"2026-11-20T06:00:00Z","NextUpdate":"2026-11-20T12:00:00Z","DownloadedAt":"2026-11-20T07:00:00Z"}}'
    else
      echo '{"Version":"%[2]s"}'
    fi;;
  image)
    mkdir -p "$cache/db" && : > "$cache/db/trivy.db";;
  sbom)
    [ -f "$cache/db/trivy.db" ] || { echo "no database" >&2; exit 1; }
    cp %[3]q "$out";;
  *) echo "unknown command $cmd" >&2; exit 2;;
esac
`, calls, version, report)
	if err := os.WriteFile(exe, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return exe, cacheDir, calls
}
