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
# shellcheck source=lib.sh
. "$root/bench/lib.sh"
cleanup() {
	stop_registry
	rm -rf "$work"
}
trap cleanup EXIT

for tool in go /usr/bin/docker-registry /usr/bin/time; do
	command -v "$tool" >/dev/null || { echo "bench: $tool is required" >&2; exit 2; }
done

echo "building sc and pushfixtures…" >&2
(cd "$root" && go build -o "$work/sc" ./cmd/sc && go build -o "$work/pushfixtures" ./bench/cmd/pushfixtures)

start_registry

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
	local log="$work/run.log" result
	result=$(timed "$log" "$work/sc" release create --config "$stack" --cache-dir "$cache" --db-no-update "$@")
	# every step of every image must have run: no warning but the scan's
	# (softFail), nothing skipped
	if grep -E ' (warned|skipped|failed) +(resolve|sbom|provenance|sign|verify)' "$log" >&2; then
		echo "bench: a step did not run; the numbers would not be comparable" >&2
		exit 1
	fi
	echo "$result"
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
