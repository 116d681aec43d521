#!/usr/bin/env bash
# Installs Trivy, the optional second scanner whose real binary the tests
# run, into the tools directory that outlives a run:
# ${SC_TOOLS_DIR:-$HOME/.cache/sc-tools}/bin/trivy. Trivy publishes no
# binary we can fetch here, so it is built from its Go module (about 10
# minutes on 2 cores the first time; the Go build cache keeps it warm).
# Idempotent: does nothing when the installed trivy is already $version.
set -euo pipefail

version=0.74.0
dir="${SC_TOOLS_DIR:-$HOME/.cache/sc-tools}/bin"

if [ -x "$dir/trivy" ] && "$dir/trivy" --version 2>/dev/null | grep -qx "Version: $version"; then
  echo "trivy $version already installed in $dir"
  exit 0
fi

echo "building trivy $version into $dir (go install; about 10 minutes the first time)"
mkdir -p "$dir"
start=$(date +%s)
# Trivy 0.74 needs encoding/json/v2 (the jsonv2 experiment); without the -X
# it reports its version as "dev", which sc refuses.
GOBIN="$dir" GOEXPERIMENT=jsonv2 GOFLAGS= go install \
  -ldflags "-X github.com/aquasecurity/trivy/pkg/version/app.ver=$version" \
  "github.com/aquasecurity/trivy/cmd/trivy@v$version"
"$dir/trivy" --version | head -1
echo "trivy $version built in $(( $(date +%s) - start ))s"
