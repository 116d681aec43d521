# bench/lib.sh: what the benchmark scripts share. Source it after setting
# $work (a scratch directory the script removes at exit); it defines
#   free_port                 a free TCP port on 127.0.0.1
#   start_registry            starts /usr/bin/docker-registry on 127.0.0.1
#                             under $work, sets $port and $registry_pid
#   stop_registry             stops it (call it from the script's EXIT trap)
#   timed OUT CMD…            runs CMD under GNU time (its report in
#                             $timefile, default $work/time.txt: set it
#                             per process when several run at once), its output to OUT,
#                             and prints "seconds peak_rss_kib"; fails loudly
#                             when CMD fails
#   debian_rootfs CACHE       prints the path of a Debian 12 (bookworm)
#                             minbase root filesystem, a .tar.gz made once
#                             with debootstrap (Debian's package, installed
#                             with apt when missing; needs root and
#                             deb.debian.org) and kept in CACHE

registry_pid=""

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }

start_registry() {
	port=$(free_port)
	local debug_port
	debug_port=$(free_port)
	cat >"$work/registry.yml" <<YML
version: 0.1
log: {level: error, accesslog: {disabled: true}}
storage: {filesystem: {rootdirectory: $work/registry}, delete: {enabled: true}}
http: {addr: 127.0.0.1:$port, secret: sc-bench, debug: {addr: 127.0.0.1:$debug_port}}
YML
	/usr/bin/docker-registry serve "$work/registry.yml" >"$work/registry.log" 2>&1 &
	registry_pid=$!
	for _ in $(seq 100); do
		curl -fs "http://127.0.0.1:$port/v2/" >/dev/null 2>&1 && break
		sleep 0.1
	done
	curl -fs "http://127.0.0.1:$port/v2/" >/dev/null || { echo "bench: docker-registry did not start:" >&2; cat "$work/registry.log" >&2; exit 3; }
	echo "docker-registry on 127.0.0.1:$port" >&2
}

stop_registry() {
	if [[ -n $registry_pid ]]; then
		kill "$registry_pid" 2>/dev/null || true
		wait "$registry_pid" 2>/dev/null || true
	fi
}

timed() {
	local out=$1
	shift
	if ! /usr/bin/time -v -o "${timefile:-$work/time.txt}" "$@" >"$out" 2>&1; then
		echo "bench: $* failed:" >&2
		tail -30 "$out" >&2
		exit 1
	fi
	local wall rss
	wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {print $2}' "${timefile:-$work/time.txt}")
	rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "${timefile:-$work/time.txt}")
	# m:ss.ss or h:mm:ss to seconds
	wall=$(awk -v t="$wall" 'BEGIN { n=split(t, p, ":"); s=0; for (i=1; i<=n; i++) s=s*60+p[i]; printf "%.2f", s }')
	echo "$wall $rss"
}

debian_rootfs() {
	local cache=$1 out=$1/debian-bookworm-minbase.tar.gz
	if [[ ! -f $out ]]; then
		if ! command -v debootstrap >/dev/null 2>&1; then
			echo "installing debootstrap (apt)…" >&2
			DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends debootstrap >/dev/null ||
				{ echo "bench: debootstrap did not install" >&2; exit 2; }
		fi
		echo "debootstrap --variant=minbase bookworm (a minute, once)…" >&2
		local tmp=$cache/rootfs.tmp
		rm -rf "$tmp" && mkdir -p "$tmp"
		debootstrap --variant=minbase bookworm "$tmp/root" http://deb.debian.org/debian >"$tmp/log" 2>&1 ||
			{ echo "bench: debootstrap failed:" >&2; tail -20 "$tmp/log" >&2; exit 3; }
		# what an image build leaves out: downloaded packages, apt lists,
		# the pseudo filesystems
		rm -rf "$tmp/root/var/cache/apt/archives/"*.deb "$tmp/root/var/lib/apt/lists/"* \
			"$tmp/root/dev/"* "$tmp/root/proc/"* "$tmp/root/sys/"*
		tar --numeric-owner -C "$tmp/root" -czf "$tmp/rootfs.tar.gz" .
		mv "$tmp/rootfs.tar.gz" "$out"
		rm -rf "$tmp"
	fi
	echo "$out"
}
