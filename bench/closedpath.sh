#!/usr/bin/env bash
# bench/closedpath.sh - where a closed connect cycle's cost goes, for one or
# more builds of the shim (LIB...: e.g. main's and a branch's), same run:
#   1. callgrind: the shim's own instructions per cycle ((2N - N) / N)
#   2. lackey: pages and lines touched between system calls per cycle
#      (bench/cyclelines.py), with and without the shim
#   3. a fake kernel (bench/fakekernel): ns per cycle the shim adds with no
#      system call at all, caches warm (KB=0) and with 1 MiB touched
#      between calls (the L2 taken back), median of 5 interleaved rounds
#   4. the in-process A/B (connbench abcycle, blocks of 200 cycles): wall
#      ratio and the median per-pair CPU difference
# Needs make all helpers and build/bench/{connbench,server} (make bench).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
B=${B:-$ROOT/build}
BIN=$B/bench
TMP=$(mktemp -d /tmp/cbclosed.XXXXXX)
BLOCKS=${BLOCKS:-100}
SRV=
trap 'kill $SRV 2>/dev/null; rm -rf "$TMP"; rm -f /dev/shm/cbclosed-$$*' EXIT
[ $# -ge 1 ] || { echo "usage: bench/closedpath.sh LIB..." >&2; exit 2; }
: > "$TMP/empty.conf"
cc -O2 -shared -fPIC -o "$TMP/fake.so" "$ROOT/bench/fakekernel/fake.c" -ldl
cc -O2 -o "$TMP/loop" "$ROOT/bench/fakekernel/loop.c" -ldl
taskset -c 1 "$BIN/server" accept > "$TMP/port" & SRV=$!
for i in $(seq 100); do [ -s "$TMP/port" ] && break; sleep 0.05; done
P=$(cat "$TMP/port")
shim() { CBSHIM_SHM=/cbclosed-$$ CBSHIM_CONFIG=$TMP/empty.conf LD_PRELOAD="$1" "${@:2}"; }

ir() {	# ir LIB: the shim's Ir per cycle
	local m
	for m in 1000 2000; do
		shim "$1" valgrind --tool=callgrind --callgrind-out-file="$TMP/cg.$m" \
			"$BIN/connbench" cycle 127.0.0.1 "$P" $m > /dev/null 2>&1
		callgrind_annotate --threshold=100 "$TMP/cg.$m" |
			awk -v lib="$(basename "$1")" '$0 ~ "\\[.*" lib "\\]" {
				gsub(",", "", $1); s += $1 } END { print s }' > "$TMP/ir.$m"
	done
	echo "$(( ($(cat "$TMP/ir.2000") - $(cat "$TMP/ir.1000")) / 1100 ))"
}

lines() {	# lines [LIB]: pages and lines between system calls per cycle
	if [ -n "${1:-}" ]; then
		shim "$1" valgrind --tool=lackey --trace-mem=yes --trace-syscalls=yes \
			--log-file="$TMP/lk" "$BIN/connbench" cycle 127.0.0.1 "$P" 50 > /dev/null
	else
		valgrind --tool=lackey --trace-mem=yes --trace-syscalls=yes \
			--log-file="$TMP/lk" "$BIN/connbench" cycle 127.0.0.1 "$P" 50 > /dev/null
	fi
	python3 "$ROOT/bench/cyclelines.py" "$TMP/lk" 40
}

fake() {	# fake KB LIB: ns the shim adds per cycle, median of 5 rounds
	local r a b d=()
	for r in 1 2 3 4 5; do
		a=$(FAKE_KB=$1 LD_PRELOAD="$TMP/fake.so" taskset -c 0 "$TMP/loop" 10000)
		b=$(FAKE_KB=$1 shim "$2 $TMP/fake.so" taskset -c 0 "$TMP/loop" 10000)
		d+=("$(echo "$b - $a" | bc)")
	done
	printf '%s\n' "${d[@]}" | sort -n | sed -n 3p
}

echo "machine: $(uname -r), $(nproc) CPUs, meltdown: $(cat /sys/devices/system/cpu/vulnerabilities/meltdown), load: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "no shim: $(lines)"
for L in "$@"; do
	echo "$L: shim Ir per cycle $(ir "$L"); $(lines "$L")"
	echo "$L: fake kernel: +$(fake 0 "$L") ns warm, +$(fake 1024 "$L") ns after 1 MiB"
done
for L in "$@"; do
	echo "$L: A/B: $(shim "$L" taskset -c 0 "$BIN/connbench" abcycle 127.0.0.1 "$P" "$BLOCKS" 200 |
		awk '{for (i = 1; i < NF; i++) if ($i ~ /^(ratio_median|cpu_diff_ns|cpu_diff_p25_ns|cpu_diff_p75_ns|libc_cpu_ns)$/) printf "%s %s ", $i, $(i+1); print ""}')"
	rm -f /dev/shm/cbclosed-$$
done
