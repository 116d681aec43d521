#!/usr/bin/env bash
# Installs the cosign CLI, whose real binary the interop tests run against
# what sc signs (pkg/cmd/release TestCreateIndex), into the tools directory
# that outlives a run: ${SC_TOOLS_DIR:-$HOME/.cache/sc-tools}/bin/cosign,
# at the version of the cosign module sc links. Built from its Go module
# (a few minutes the first time). Idempotent.
set -euo pipefail

version=v3.1.3
dir="${SC_TOOLS_DIR:-$HOME/.cache/sc-tools}/bin"

if [ -x "$dir/cosign" ] && "$dir/cosign" version 2>/dev/null | grep -q "GitVersion: *$version\$"; then
  echo "cosign $version already installed in $dir"
  exit 0
fi

echo "building cosign $version into $dir (go install)"
mkdir -p "$dir"
start=$(date +%s)
GOBIN="$dir" GOFLAGS= go install \
  -ldflags "-X sigs.k8s.io/release-utils/version.gitVersion=$version" \
  "github.com/sigstore/cosign/v3/cmd/cosign@$version"
echo "cosign $version built in $(( $(date +%s) - start ))s"
