// Package trivytest is a stand-in for Aqua's trivy executable in tests: a
// shell script that answers the commands sc runs — `version --format json`,
// `image --download-db-only` and `sbom --output FILE` — as trivy's command
// line does, reporting the version it was given and recording the
// arguments of every call. It needs /bin/sh.
//
// It imitates the command line, not the scanner: `sbom` copies a prepared
// report to --output, whatever the SBOM holds, and the "database" is an
// empty file. Tests of the real scanner run the real binary.
package trivytest

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

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
