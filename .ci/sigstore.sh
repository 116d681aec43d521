#!/usr/bin/env bash
# Installs the real Sigstore services that the keyless integration tests
# (internal/sigstorelocal) start on 127.0.0.1: Fulcio, Rekor v1 on Trillian
# (log server and log signer) backed by MariaDB, a certificate transparency
# log for Fulcio's SCTs (certificate-transparency-go's ct_server on the same
# Trillian), and the timestamp authority. Each is built from its Go module with `go install` into the
# tools directory that outlives a run, ${SC_TOOLS_DIR:-$HOME/.cache/sc-tools}/bin,
# and recorded with its version; MariaDB is Debian's mariadb-server (apt).
# Idempotent: what is installed at the pinned version is skipped. The first
# run takes minutes per service.
set -euo pipefail

FULCIO_VERSION=v1.8.8
REKOR_VERSION=v1.5.3
TRILLIAN_VERSION=v1.8.0
TSA_VERSION=v2.1.3
CT_VERSION=v1.3.3

bin="${SC_TOOLS_DIR:-$HOME/.cache/sc-tools}/bin"
mkdir -p "$bin"

if ! command -v mariadbd >/dev/null 2>&1 && [ ! -x /usr/sbin/mariadbd ]; then
  echo "installing mariadb-server (apt)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq --no-install-recommends mariadb-server >/dev/null
  # the tests start their own server in a scratch directory; the
  # package's own service is not needed
  if command -v service >/dev/null 2>&1; then service mariadb stop >/dev/null 2>&1 || true; fi
fi

# install NAME PACKAGE VERSION [LDFLAGS]: go install PACKAGE@VERSION as
# $bin/NAME, once per version
install() {
  local name=$1 pkg=$2 version=$3 ldflags=${4:-}
  if [ -x "$bin/$name" ] && [ "$(cat "$bin/$name.version" 2>/dev/null)" = "$version" ]; then
    echo "$name $version: present"
    return
  fi
  local start=$SECONDS tmp
  echo "$name $version: building (minutes)"
  tmp=$(mktemp -d)
  GOBIN="$tmp" GOFLAGS= CGO_ENABLED=0 go install -trimpath -ldflags "$ldflags" "$pkg@$version"
  mv "$tmp/$(basename "$pkg")" "$bin/$name"
  rm -rf "$tmp"
  echo "$version" >"$bin/$name.version"
  echo "$name $version: built in $((SECONDS - start))s"
}

install fulcio github.com/sigstore/fulcio "$FULCIO_VERSION" \
  "-X sigs.k8s.io/release-utils/version.gitVersion=$FULCIO_VERSION"
install rekor-server github.com/sigstore/rekor/cmd/rekor-server "$REKOR_VERSION" \
  "-X sigs.k8s.io/release-utils/version.gitVersion=$REKOR_VERSION"
install trillian_log_server github.com/google/trillian/cmd/trillian_log_server "$TRILLIAN_VERSION"
install trillian_log_signer github.com/google/trillian/cmd/trillian_log_signer "$TRILLIAN_VERSION"
install createtree github.com/google/trillian/cmd/createtree "$TRILLIAN_VERSION"
install timestamp-server github.com/sigstore/timestamp-authority/v2/cmd/timestamp-server "$TSA_VERSION" \
  "-X sigs.k8s.io/release-utils/version.gitVersion=$TSA_VERSION"
install ct_server github.com/google/certificate-transparency-go/trillian/ctfe/ct_server "$CT_VERSION"

# Trillian's MySQL schema, which the tests load into a fresh database
share="${SC_TOOLS_DIR:-$HOME/.cache/sc-tools}/share"
mkdir -p "$share"
if [ "$(cat "$share/trillian-storage.sql.version" 2>/dev/null)" != "$TRILLIAN_VERSION" ]; then
  dir=$(cd / && GO111MODULE=on go mod download -json "github.com/google/trillian@$TRILLIAN_VERSION" | sed -n 's/^\s*"Dir": "\(.*\)",$/\1/p')
  cp "$dir/storage/mysql/schema/storage.sql" "$share/trillian-storage.sql"
  echo "$TRILLIAN_VERSION" >"$share/trillian-storage.sql.version"
fi

# Fulcio's own identity configuration: the tests take its CI-provider
# templates (how a GitHub Actions token becomes certificate extensions)
if [ "$(cat "$share/fulcio-identity-config.yaml.version" 2>/dev/null)" != "$FULCIO_VERSION" ]; then
  dir=$(cd / && GO111MODULE=on go mod download -json "github.com/sigstore/fulcio@$FULCIO_VERSION" | sed -n 's/^\s*"Dir": "\(.*\)",$/\1/p')
  cp "$dir/config/identity/config.yaml" "$share/fulcio-identity-config.yaml"
  echo "$FULCIO_VERSION" >"$share/fulcio-identity-config.yaml.version"
fi
