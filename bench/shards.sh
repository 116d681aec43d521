#!/usr/bin/env bash
# bench/shards.sh times a release run whole against the same release run as
# shards (issue 12): `sc release create` on N services (default 60) in one
# sc process, then `sc release plan` and S shards (default 4) as S
# concurrent `sc release create --shard I/S` processes, each with its own
# empty cache directory (a CI matrix job on a fresh runner), then `sc
# release merge` of their parts. Both runs go to one Debian docker-registry
# (each to repositories of its own, so each starts with nothing signed),
# through bench/cmd/countproxy, which counts the registry requests of each
# phase by kind: manifest, blob, referrers, upload.
#
# Every run does every step: resolve, SBOM, scan (the sample grype
# database, a handful of records; softFail so that signing goes on),
# provenance, key-based signing without a transparency log, the SBOM,
# provenance and vuln attestations, and every verification. The images are
# the fixture images (internal/fixture: small, sharing their lower layers).
#
# Usage: bench/shards.sh [SERVICES [SHARDS]]
#
# It prints the wall time of the whole run, of the sharded run (from the
# first shard's start to the last one's end, plan and merge listed apart),
# each shard's time and peak memory, and the request counts. On one
# machine the shards share its cores: the sharded wall time is what S
# runners sharing one machine's CPU would take, not S real runners; see
# bench/README.md for reading the numbers.
#
# Needs: go, /usr/bin/docker-registry (apt-get install docker-registry),
# /usr/bin/time (GNU time), python3, curl. Everything listens on 127.0.0.1
# and is removed at exit.
set -euo pipefail

services=${1:-60}
shards=${2:-4}
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/sc-shards-XXXXXX")
# shellcheck source=lib.sh
. "$root/bench/lib.sh"
proxy_pid=""
cleanup() {
	if [[ -n $proxy_pid ]]; then
		kill "$proxy_pid" 2>/dev/null || true
		wait "$proxy_pid" 2>/dev/null || true
	fi
	stop_registry
	rm -rf "$work"
}
trap cleanup EXIT

for tool in go /usr/bin/docker-registry /usr/bin/time python3 curl; do
	command -v "$tool" >/dev/null || { echo "bench: $tool is required" >&2; exit 2; }
done

echo "building sc, pushfixtures and countproxy…" >&2
(cd "$root" && go build -o "$work/sc" ./cmd/sc && go build -o "$work/pushfixtures" ./bench/cmd/pushfixtures &&
	go build -o "$work/countproxy" ./bench/cmd/countproxy)

start_registry
proxy_port=$(free_port)
"$work/countproxy" --listen "127.0.0.1:$proxy_port" --to "http://127.0.0.1:$port" 2>"$work/countproxy.log" &
proxy_pid=$!
for _ in $(seq 100); do
	curl -fs "http://127.0.0.1:$proxy_port/v2/" >/dev/null 2>&1 && break
	sleep 0.1
done
counts() { curl -fs "http://127.0.0.1:$proxy_port/-/counts"; }
counts >/dev/null || { echo "bench: countproxy did not start:" >&2; cat "$work/countproxy.log" >&2; exit 3; }

# A CI run as GitHub Actions describes it (provenance has a source
# repository and commit), plain progress lines, no job summary.
export SC_KEY_PASSWORD=bench CI=true GITHUB_ACTIONS=true GITHUB_SERVER_URL=https://github.com \
	GITHUB_REPOSITORY=sc-project/sc GITHUB_SHA=4b1c2a9d7e3f5a6b8c0d1e2f3a4b5c6d7e8f9a0b \
	GITHUB_REF=refs/heads/main GITHUB_RUN_ID=1 GITHUB_RUN_ATTEMPT=1 \
	GITHUB_WORKFLOW_REF=sc-project/sc/.github/workflows/bench.yml@refs/heads/main
unset GITHUB_STEP_SUMMARY ACTIONS_ID_TOKEN_REQUEST_URL ACTIONS_ID_TOKEN_REQUEST_TOKEN SIGSTORE_ID_TOKEN || true

echo "pushing $services services twice (whole, sharded)…" >&2
whole=$("$work/pushfixtures" --registry "127.0.0.1:$proxy_port" --prefix whole --count "$services" --dir "$work/whole")
sharded=$("$work/pushfixtures" --registry "127.0.0.1:$proxy_port" --prefix sharded --count "$services" --dir "$work/sharded")
counts >/dev/null

# fresh DIR: an empty cache holding only the sample database
fresh() {
	mkdir -p "$1"
	"$work/sc" scan db import --cache-dir "$1" "$work/whole/vulnerability.db" >/dev/null 2>&1
	echo "$1"
}

# release ARGS…: sc release create, its JSON result on stdout
release() { "$work/sc" release create --db-no-update --output json "$@"; }
export -f release
export work

# the release must have passed and done every step: exit 0 (softFail), no
# step warned, skipped or failed
check_log() {
	if grep -E ' (warned|skipped|failed) +(resolve|sbom|provenance|sign|verify|vuln)' "$1" >&2; then
		echo "bench: a step did not run in $1; the numbers would not be comparable" >&2
		exit 1
	fi
}

echo "whole release: 1 process…" >&2
cache=$(fresh "$work/whole/cache")
read -r whole_secs whole_rss < <(timed "$work/whole.log" bash -c 'release "$@" >"$work/whole.json"' _ --config "$whole" --cache-dir "$cache")
check_log "$work/whole.log"
whole_counts=$(counts)

echo "plan…" >&2
read -r plan_secs _ < <(timed "$work/plan.log" "$work/sc" release plan --config "$sharded" --shards "$shards" --format json)
plan_counts=$(counts)

echo "sharded release: $shards concurrent processes…" >&2
for i in $(seq "$shards"); do
	fresh "$work/sharded/cache-$i" >/dev/null
done
start=$(date +%s.%N)
pids=()
for i in $(seq "$shards"); do
	(
		timefile="$work/time-$i.txt"
		timed "$work/shard-$i.log" bash -c 'i=$1; shift; release "$@" >"$work/part-$i.json"' _ "$i" --config "$sharded" \
			--cache-dir "$work/sharded/cache-$i" --shard "$i/$shards" >"$work/shard-$i.result"
	) &
	pids+=($!)
done
failed=0
for p in "${pids[@]}"; do wait "$p" || failed=1; done
end=$(date +%s.%N)
((failed == 0)) || { echo "bench: a shard failed" >&2; exit 1; }
sharded_secs=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.2f", b - a }')
for i in $(seq "$shards"); do check_log "$work/shard-$i.log"; done
sharded_counts=$(counts)

parts=()
for i in $(seq "$shards"); do parts+=("$work/part-$i.json"); done
read -r merge_secs _ < <(timed "$work/merge.log" bash -c '"$0" release merge --output json "$@" >"$work/merged.json"' "$work/sc" "${parts[@]}")
got=$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["services"]))' "$work/merged.json")
[[ $got == "$services" ]] || { echo "bench: the merge holds $got services, want $services" >&2; exit 1; }

echo
echo "release of $services services, $shards shards, on $(nproc) cores (load average at the end: $(cut -d' ' -f1-3 /proc/loadavg))"
printf '%-28s %9s %14s\n' run seconds "peak RSS MiB"
printf '%-28s %9s %14s\n' "whole, 1 process" "$whole_secs" "$((whole_rss / 1024))"
printf '%-28s %9s\n' "plan ($shards shards)" "$plan_secs"
printf '%-28s %9s\n' "sharded, $shards processes" "$sharded_secs"
for i in $(seq "$shards"); do
	read -r s rss <"$work/shard-$i.result"
	n=$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["services"]))' "$work/part-$i.json")
	printf '%-28s %9s %14s\n' "  shard $i/$shards ($n services)" "$s" "$((rss / 1024))"
done
printf '%-28s %9s\n' "merge" "$merge_secs"
echo
echo "registry requests"
echo "  whole:   $whole_counts"
echo "  plan:    $plan_counts"
echo "  sharded: $sharded_counts"
