#!/usr/bin/env bash
# Installs the Pulumi CLI, whose real engine the Pulumi hook's integration
# tests (internal/pulumiint) drive through the Automation API, into the
# tools directory that outlives a run:
# ${SC_TOOLS_DIR:-$HOME/.cache/sc-tools}/bin/pulumi, at the version of the
# Pulumi SDK sc links. Pulumi publishes no binary we can fetch here, and
# `go install` refuses its module (github.com/pulumi/pulumi/pkg/v3 replaces
# the SDK with ../sdk), so this builds a writable copy of the module with the
# replace pointed at the served SDK (about 10 minutes of CPU the first
# time: 31 minutes on 2 cores shared with a cold CI run; the Go build cache
# keeps it warm). Idempotent: does nothing when the installed pulumi is
# already $version.
set -euo pipefail

version=v3.274.1
dir="${SC_TOOLS_DIR:-$HOME/.cache/sc-tools}/bin"

export PULUMI_SKIP_UPDATE_CHECK=true # no network here; nothing to learn from it
if [ -x "$dir/pulumi" ] && [ "$("$dir/pulumi" version 2>/dev/null)" = "$version" ]; then
  echo "pulumi $version already installed in $dir"
  exit 0
fi

echo "building pulumi $version into $dir (go build; minutes the first time)"
mkdir -p "$dir"
start=$(date +%s)
src=$(cd / && GO111MODULE=on GOFLAGS= go mod download -json "github.com/pulumi/pulumi/pkg/v3@$version" |
  sed -n 's/^\s*"Dir": "\(.*\)",$/\1/p')
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# the module cache is read-only; the copy has to take go.mod edits
cp -r "$src" "$tmp/pkg"
chmod -R u+w "$tmp/pkg"
cd "$tmp/pkg"
GOFLAGS= go mod edit -replace "github.com/pulumi/pulumi/sdk/v3=github.com/pulumi/pulumi/sdk/v3@$version"
GOFLAGS= go mod tidy
# Without the -X the CLI reports no version and the Automation API refuses it.
GOFLAGS= CGO_ENABLED=0 go build -trimpath \
  -ldflags "-X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=$version" \
  -o "$tmp/pulumi" ./cmd/pulumi
mv "$tmp/pulumi" "$dir/pulumi"
"$dir/pulumi" version
echo "pulumi $version built in $(( $(date +%s) - start ))s"
