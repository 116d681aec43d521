#!/usr/bin/env bash
# Installs local-kms (github.com/nsmithuk/local-kms), the AWS KMS emulator
# that the awskms:// signing tests start on 127.0.0.1, into the tools
# directory that outlives a run:
# ${SC_TOOLS_DIR:-$HOME/.cache/sc-tools}/bin/local-kms, with its pinned
# version recorded in local-kms.version (the binary prints no version).
# Built from its Go module (under a minute once the build cache is warm).
# Idempotent: does nothing when the pinned version is already installed.
set -euo pipefail

version=v0.0.0-20260228092603-2a5e92d09ab6
dir="${SC_TOOLS_DIR:-$HOME/.cache/sc-tools}/bin"

if [ -x "$dir/local-kms" ] && [ "$(cat "$dir/local-kms.version" 2>/dev/null)" = "$version" ]; then
  echo "local-kms $version already installed in $dir"
  exit 0
fi

echo "building local-kms $version into $dir (go install)"
mkdir -p "$dir"
start=$(date +%s)
GOBIN="$dir" GOFLAGS= go install \
  -ldflags "-X main.Version=$version" \
  "github.com/nsmithuk/local-kms@$version"
echo "$version" >"$dir/local-kms.version"
echo "local-kms $version built in $(( $(date +%s) - start ))s"
