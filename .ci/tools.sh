#!/usr/bin/env bash
# Builds the cluster policy evaluators that the export tests run against
# sc-signed images: Sigstore policy-controller's policy-tester and Kyverno's
# CLI, each from its pinned Go module (their replace directives stop `go
# install`, a build inside the module directory works). Idempotent: a tool
# already built at the pinned version is skipped. Binaries go to
# ${SC_TOOLS_DIR:-$HOME/.cache/sc-tools}/bin, which survives between runs;
# each build takes minutes, once per machine.
set -euo pipefail

POLICY_CONTROLLER_VERSION=v0.13.1
KYVERNO_VERSION=v1.19.1

tools="${SC_TOOLS_DIR:-$HOME/.cache/sc-tools}"
bin="$tools/bin"
mkdir -p "$bin"

# build NAME MODULE VERSION PACKAGE: builds PACKAGE of MODULE@VERSION into
# $bin/NAME and records VERSION in $bin/NAME.version.
build() {
  local name=$1 module=$2 version=$3 pkg=$4
  if [ -x "$bin/$name" ] && [ "$(cat "$bin/$name.version" 2>/dev/null)" = "$version" ]; then
    echo "$name $version: present"
    return
  fi
  local start=$SECONDS dir work
  echo "$name $version: building (minutes)"
  # outside any module, so that sc's go.mod and go.sum are left alone
  dir=$(cd / && GO111MODULE=on go mod download -json "$module@$version" | sed -n 's/^\s*"Dir": "\(.*\)",$/\1/p')
  if [ -z "$dir" ]; then
    echo "go mod download $module@$version did not report a directory" >&2
    return 1
  fi
  # The module cache is read-only; build in a writable copy.
  work=$(mktemp -d)
  cp -r "$dir/." "$work/"
  chmod -R u+w "$work"
  (cd "$work" && GOFLAGS="${GOFLAGS:-} -mod=mod" CGO_ENABLED=0 go build -trimpath -o "$bin/$name.tmp" "$pkg")
  mv "$bin/$name.tmp" "$bin/$name"
  echo "$version" >"$bin/$name.version"
  rm -rf "$work"
  echo "$name $version: built in $((SECONDS - start))s"
}

build policy-tester github.com/sigstore/policy-controller "$POLICY_CONTROLLER_VERSION" ./cmd/tester
build kubectl-kyverno github.com/kyverno/kyverno "$KYVERNO_VERSION" ./cmd/cli/kubectl-kyverno
