#!/usr/bin/env bash
# bench/release.sh times `sc release create` on the fixture release against a
# local docker-registry: 1 and 9 images, cold (fresh cache, fresh
# repositories: nothing signed yet) and warm (the same run again: SBOMs and
# scan reports from the cache, signatures and SBOM attestations already
# there). Every run does every step: resolve, SBOM, scan (the offline sample
# database, softFail so that signing goes on), provenance, key-based signing
# without a transparency log, both attestations, and every verification.
#
# Usage: bench/release.sh [RUNS]   (RUNS per measurement, default 1; the
# median is reported when RUNS > 1)
#
# Needs: go, /usr/bin/docker-registry (apt-get install docker-registry),
# /usr/bin/time (GNU time, for peak memory). Everything listens on
# 127.0.0.1 and is removed at exit.
set -euo pipefail

runs=${1:-1}
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/sc-bench-XXXXXX")
registry_pid=""
cleanup() {
	if [[ -n $registry_pid ]]; then
		kill "$registry_pid" 2>/dev/null || true
		wait "$registry_pid" 2>/dev/null || true
	fi
	rm -rf "$work"
}
trap cleanup EXIT

for tool in go /usr/bin/docker-registry /usr/bin/time; do
	command -v "$tool" >/dev/null || { echo "bench: $tool is required" >&2; exit 2; }
done

echo "building sc and pushfixtures…" >&2
(cd "$root" && go build -o "$work/sc" ./cmd/sc && go build -o "$work/pushfixtures" ./bench/cmd/pushfixtures)

# A free port on 127.0.0.1 for the registry and one for its debug listener.
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
port=$(free_port)
debug_port=$(free_port)
cat >"$work/registry.yml" <<EOF
version: 0.1
log: {level: error, accesslog: {disabled: true}}
storage: {filesystem: {rootdirectory: $work/registry}, delete: {enabled: true}}
http: {addr: 127.0.0.1:$port, secret: sc-bench, debug: {addr: 127.0.0.1:$debug_port}}
EOF
/usr/bin/docker-registry serve "$work/registry.yml" >"$work/registry.log" 2>&1 &
registry_pid=$!
for _ in $(seq 100); do
	curl -fs "http://127.0.0.1:$port/v2/" >/dev/null 2>&1 && break
	sleep 0.1
done
curl -fs "http://127.0.0.1:$port/v2/" >/dev/null || { echo "bench: docker-registry did not start:" >&2; cat "$work/registry.log" >&2; exit 3; }
echo "docker-registry on 127.0.0.1:$port" >&2

# A CI run as GitHub Actions describes it, so that provenance has a source
# repository and commit (the builder id is in the stack file): plain progress
# lines, and no job summary.
export SC_KEY_PASSWORD=bench CI=true GITHUB_ACTIONS=true GITHUB_SERVER_URL=https://github.com \
	GITHUB_REPOSITORY=sc-project/sc GITHUB_SHA=4b1c2a9d7e3f5a6b8c0d1e2f3a4b5c6d7e8f9a0b \
	GITHUB_REF=refs/heads/main GITHUB_RUN_ID=1 GITHUB_RUN_ATTEMPT=1 \
	GITHUB_WORKFLOW_REF=sc-project/sc/.github/workflows/bench.yml@refs/heads/main
unset GITHUB_STEP_SUMMARY ACTIONS_ID_TOKEN_REQUEST_URL ACTIONS_ID_TOKEN_REQUEST_TOKEN SIGSTORE_ID_TOKEN || true

# measure LABEL STACK CACHE ARGS…: runs sc release create once, prints
# "seconds rss_kib", and fails loudly if the release did not pass.
measure() {
	local stack=$1 cache=$2
	shift 2
	local log="$work/run.log"
	if ! /usr/bin/time -v -o "$work/time.txt" "$work/sc" release create --config "$stack" --cache-dir "$cache" \
		--db-no-update "$@" >"$log" 2>&1; then
		echo "bench: sc release create failed:" >&2
		cat "$log" >&2
		exit 1
	fi
	# every step of every image must have run: no warning but the scan's
	# (softFail), nothing skipped
	if grep -E ' (warned|skipped|failed) +(resolve|sbom|provenance|sign|verify)' "$log" >&2; then
		echo "bench: a step did not run; the numbers would not be comparable" >&2
		exit 1
	fi
	local wall rss
	wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {print $2}' "$work/time.txt")
	rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$work/time.txt")
	# m:ss.ss or h:mm:ss to seconds
	wall=$(awk -v t="$wall" 'BEGIN { n=split(t, p, ":"); s=0; for (i=1; i<=n; i++) s=s*60+p[i]; printf "%.2f", s }')
	echo "$wall $rss"
}

# median of the first field, with the largest second field
summarize() { sort -n | awk '{ w[NR]=$1; if ($2>m) m=$2 } END { printf "%.2f %d\n", w[int((NR+1)/2)], m }'; }

printf '\n%-7s %-6s %10s %14s\n' images cache seconds "peak RSS MiB"
n=0
for images in 1 9; do
	cold_results="" warm_results=""
	for r in $(seq "$runs"); do
		n=$((n + 1))
		dir="$work/release-$n"
		stack=$("$work/pushfixtures" --registry "127.0.0.1:$port" --prefix "run$n" --count 9 --dir "$dir")
		cache="$dir/cache"
		"$work/sc" scan db import --cache-dir "$cache" "$dir/vulnerability.db" >/dev/null 2>&1
		select=()
		if [[ $images == 1 ]]; then select=(--service service-01); fi
		cold_results+="$(measure "$stack" "$cache" "${select[@]}")"$'\n'
		warm_results+="$(measure "$stack" "$cache" "${select[@]}")"$'\n'
	done
	for kind in cold warm; do
		results=cold_results
		[[ $kind == warm ]] && results=warm_results
		read -r secs rss < <(printf '%s' "${!results}" | summarize)
		printf '%-7s %-6s %10s %14s\n' "$images" "$kind" "$secs" "$((rss / 1024))"
	done
done
echo >&2
echo "(each run: every step of every image; cold = fresh cache and repositories, warm = the same run again)" >&2
