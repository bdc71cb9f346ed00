#!/usr/bin/env bash
# bench/run.sh - what `make bench` runs once everything is built: every
# benchmark (closed path, fail fast, scale, contention, HAProxy, memory,
# instructions, process start: the sections of bench/report.py), with and
# without the shim interleaved (A B A B ..., never two blocks), then one
# table of medians with min-max over the repetitions, printed and written
# to $B/bench/results.md.
#
#   bench/run.sh            the full run (about 2 minutes on 2 cores)
#   QUICK=1 bench/run.sh    fewer repetitions, for trying the script out
#   B=dir                   build directory (default: build)
#   CBSHIM_LIB=path         the shim to measure (default: $B/libcbshim.so),
#                           e.g. a patched build, against the same baseline
#
# Everything runs on 127.0.0.1 with ports the kernel picks, against servers
# this script starts (bench/server.c, haproxy) and kills on exit; every
# shared-memory segment is named /cbbench-<pid>-* and removed on exit.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
B=${B:-build}
case $B in /*) ;; *) B=$ROOT/$B ;; esac
BIN=$B/bench
LIB=${CBSHIM_LIB:-$B/libcbshim.so}	# CBSHIM_LIB=...: measure another build
CBCTL=$B/cbctl
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3
QUICK=${QUICK:-0}
TMP=$(mktemp -d /tmp/cbbench.XXXXXX)
SHM=/cbbench-$$
DATA=$TMP/data
PIDS=()

cleanup() {
	local p
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -f /dev/shm/cbbench-$$ /dev/shm/cbbench-$$-*
	if [ "${KEEP:-0}" = 1 ]; then echo "raw data kept in $TMP" >&2
	else rm -rf "$TMP"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

for f in "$LIB" "$CBCTL" "$BIN/connbench" "$BIN/segbench" "$BIN/server" \
	"$BIN/startbench" "$BIN/empty.so"; do
	[ -x "$f" ] || [ -f "$f" ] || { echo "bench: $f missing (run make bench)" >&2; exit 1; }
done
: > "$TMP/empty.conf"
CONF=$TMP/empty.conf

if [ "$QUICK" = 1 ]; then REPS=3 CYC=2000 NC=3000 RR=1000 CREPS=1 SBLK=3 SEXE=100
else REPS=9 CYC=4000 NC=10000 RR=2000 CREPS=15 SBLK=15 SEXE=200; fi
PAIRS=$((REPS * 2 + 3))		# closed-path pairs: the noisiest figure

# Client on CPU 0, servers (and HAProxy) on CPU 1: otherwise every process
# start draws a placement (same CPU or not), which alone moves a loopback
# cycle between ~36 and ~50 µs and drowns a 2 % effect.
CL=() SV=()
if [ "$(nproc)" -ge 2 ] && command -v taskset > /dev/null; then
	CL=(taskset -c 0) SV=(taskset -c 1)
fi

say() { printf 'bench: %s\n' "$*" >&2; }
rec() { echo "$*" >> "$DATA"; }
# field NAME: the value after NAME on stdin's first line
field() { awk -v k="$1" '{for (i = 1; i < NF; i++) if ($i == k) { print $(i+1); exit }}'; }
# shim SEGMENT CMD...: run CMD with the shim on segment SEGMENT
shim() { local s=$1; shift; CBSHIM_SHM=$s CBSHIM_CONFIG=$CONF LD_PRELOAD=$LIB "$@"; }

# start KIND: start a bench server, set PORT, remember its pid
start() {
	local f=$TMP/port.$1.$RANDOM i
	"${SV[@]}" "$BIN/server" "$1" > "$f" &
	PIDS+=($!)
	for i in $(seq 100); do [ -s "$f" ] && break; sleep 0.05; done
	PORT=$(cat "$f")
	[ -n "$PORT" ] || { echo "bench: server $1 did not start" >&2; exit 1; }
}

free_port() {
	"$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

machine() {
	rec "machine nproc $(nproc)"
	rec "machine cpu $(awk -F': ' '/^model name/{print $2; exit}' /proc/cpuinfo)"
	rec "machine kernel $(uname -r)"
	rec "machine clocksource $(cat /sys/devices/system/clocksource/clocksource0/current_clocksource 2>/dev/null || echo '?')"
	rec "machine meltdown $(cat /sys/devices/system/cpu/vulnerabilities/meltdown 2>/dev/null || echo '?')"
	rec "machine haproxy $(haproxy -v 2>/dev/null | awk 'NR==1{print $3}')"
	rec "machine date $(date -u +%Y-%m-%dT%H:%MZ)"
	rec "machine commit $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?')"
}

# 1. closed path: socket+connect+accept+close cycles, off/on alternately
bench_closed() {
	local i a b r
	say "1. closed path: $PAIRS pairs of $CYC cycles"
	start accept
	for i in $(seq "$PAIRS"); do
		if [ $((i % 2)) = 1 ]; then
			a=$("${CL[@]}" "$BIN/connbench" cycle 127.0.0.1 "$PORT" "$CYC" | field cycle_ns)
			b=$(shim "$SHM-closed" "${CL[@]}" "$BIN/connbench" cycle 127.0.0.1 "$PORT" "$CYC" | field cycle_ns)
		else
			b=$(shim "$SHM-closed" "${CL[@]}" "$BIN/connbench" cycle 127.0.0.1 "$PORT" "$CYC" | field cycle_ns)
			a=$("${CL[@]}" "$BIN/connbench" cycle 127.0.0.1 "$PORT" "$CYC" | field cycle_ns)
		fi
		rec "closed $i off $a"
		rec "closed $i on $b"
	done
	say "1. closed path, in one process: $((PAIRS * 10)) block pairs of 40 cycles"
	r=$(shim "$SHM-closed" "${CL[@]}" "$BIN/connbench" abcycle 127.0.0.1 "$PORT" $((PAIRS * 10)) 40)
	rec "abcycle $r"
	rec "syscost $("$BIN/connbench" syscost 20000)"
	closed_strace
	rec "closed_state $("$CBCTL" --shm "$SHM-closed" show "127.0.0.1:$PORT" --json | tr -d '\n ')"
	bench_closed_ct
	CLOSED_PORT=$PORT
}

# 1b. the closed path with connect_timeout set (TCP_USER_TIMEOUT read, set
# and given back: three system calls) against the same shim without it
bench_closed_ct() {
	local i a b ct=$TMP/ct.conf
	echo 'defaults = { connect_timeout = "5s"; };' > "$ct"
	say "1b. closed path with connect_timeout: $REPS pairs of $CYC cycles"
	for i in $(seq "$REPS"); do
		a=$(shim "$SHM-closed" "${CL[@]}" "$BIN/connbench" cycle 127.0.0.1 "$PORT" "$CYC" | field cycle_ns)
		b=$(CBSHIM_SHM="$SHM-closedct" CBSHIM_CONFIG="$ct" LD_PRELOAD="$LIB" \
			"${CL[@]}" "$BIN/connbench" cycle 127.0.0.1 "$PORT" "$CYC" | field cycle_ns)
		rec "closed_ct $i plain $a"
		rec "closed_ct $i ct $b"
	done
}

# syscalls per closed-path cycle, with and without the shim (N and 2N)
closed_strace() {
	local n=500 m
	command -v strace > /dev/null || return 0
	for m in $n $((2 * n)); do
		shim "$SHM-closed" strace -f -c -o "$TMP/strace.on.$m" \
			"$BIN/connbench" cycle 127.0.0.1 "$PORT" "$m" > /dev/null
		strace -f -c -o "$TMP/strace.off.$m" \
			"$BIN/connbench" cycle 127.0.0.1 "$PORT" "$m" > /dev/null
	done
	strace_per_call "$n" on off >> "$DATA"
}

# strace_per_call N KIND...: "strace KIND name=calls..." per call, from
# $TMP/strace.KIND.N and .2N (the difference cancels start-up)
strace_per_call() {
	"$PY" - "$TMP" "$@" <<'EOF'
import re, sys
tmp, n, kinds = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
def counts(f):
    c = {}
    for l in open(f):
        m = re.match(r'\s*[\d.]+\s+[\d.]+\s+\d+\s+(\d+)\s+(?:\d+\s+)?(\w+)\s*$', l)
        if m and m.group(2) != 'total':
            c[m.group(2)] = int(m.group(1))
    return c
for kind in kinds:
    a, b = counts(f'{tmp}/strace.{kind}.{n}'), counts(f'{tmp}/strace.{kind}.{2*n}')
    per = {k: (b.get(k, 0) - a.get(k, 0)) / n for k in set(a) | set(b)}
    per = {k: v for k, v in per.items() if v >= 0.5}
    print(f"strace {kind} " + ' '.join(f'{k}={v:.3g}' for k, v in sorted(per.items())))
EOF
}

# 2 and 3. rejection (1, 64, 4096 breakers; warm and flushed) and lookup,
# interleaved with the kernel's refusal in every repetition
bench_reject() {
	local i k r ref
	say "2/3. fail fast and scale: $REPS repetitions"
	start refuse
	ref=$PORT
	for k in 1 64 4096; do
		"$BIN/segbench" fill "$SHM-open$k" "$k" 127.1.0.1 9 open > /dev/null
		"$BIN/segbench" fill "$SHM-closed$k" "$k" 127.1.0.1 9 closed > /dev/null
	done
	for k in 1 4096; do
		"$BIN/segbench" fill "$SHM-timed$k" "$k" 127.1.0.1 9 timed > /dev/null
	done
	# the same 4096 open breakers in a segment of 65536 places
	"$BIN/segbench" fill "$SHM-wide" 4096 127.1.0.1 9 open 65536 > /dev/null
	# a full segment (65536 open breakers: none reclaimable)
	"$BIN/segbench" fill "$SHM-full" 65536 127.1.0.1 9 open 65536 > /dev/null
	"$CBCTL" --shm "$SHM-trip" trip "127.0.0.1:$ref" --hold > /dev/null
	for i in $(seq "$REPS"); do
		r=$("${CL[@]}" "$BIN/connbench" ctime 127.0.0.1 "$ref" 1 "$NC")
		[ "$(echo "$r" | field refused)" = "$NC" ] || { echo "bench: refusal: $r" >&2; exit 1; }
		rec "refuse $i $(echo "$r" | field median_ns)"
		r=$(shim "$SHM-trip" "${CL[@]}" "$BIN/connbench" ctime 127.0.0.1 "$ref" 1 "$NC")
		rec "reject_cbctl $i $(echo "$r" | field median_ns)"
		for k in 1 64 4096; do
			r=$(shim "$SHM-open$k" "${CL[@]}" "$BIN/connbench" ctime 127.1.0.1 9 "$k" "$NC")
			[ "$(echo "$r" | field refused)" = "$NC" ] || { echo "bench: rejection: $r" >&2; exit 1; }
			rec "reject$k $i $(echo "$r" | field median_ns)"
			r=$("${CL[@]}" "$BIN/segbench" lookup "$SHM-closed$k" "$k" 127.1.0.1 9 "$NC")
			rec "lookup$k $i $(echo "$r" | field median_ns)"
		done
		for k in 1 4096; do
			r=$(shim "$SHM-timed$k" "${CL[@]}" "$BIN/connbench" ctime 127.1.0.1 9 "$k" "$NC")
			rec "reject_timed$k $i $(echo "$r" | field median_ns)"
		done
		r=$(shim "$SHM-wide" "${CL[@]}" "$BIN/connbench" ctime 127.1.0.1 9 4096 "$NC")
		[ "$(echo "$r" | field refused)" = "$NC" ] || { echo "bench: rejection: $r" >&2; exit 1; }
		rec "reject_wide $i $(echo "$r" | field median_ns)"
		# the same, the decision line read, or fetched for writing (as
		# the rejection's count needs it), by the benchmark just before
		# each call: what is left of the ratio without the line's latency
		for m in read own; do
			r=$(shim "$SHM-wide" "${CL[@]}" "$BIN/connbench" ctime 127.1.0.1 9 4096 "$NC" "$SHM-wide" $m)
			rec "reject_wide_$m $i $(echo "$r" | field median_ns)"
		done
		# connect() to 100 new destinations (nothing listens: the
		# kernel refuses) with a full segment, and without the shim
		r=$("${CL[@]}" "$BIN/connbench" ctime 127.3.0.1 9 100 "$NC")
		rec "full_new_off $i $(echo "$r" | field median_ns)"
		r=$(shim "$SHM-full" "${CL[@]}" "$BIN/connbench" ctime 127.3.0.1 9 100 "$NC")
		rec "full_new_on $i $(echo "$r" | field median_ns)"
		# the same decisions in a tight loop: no system call between
		for k in 1 4096 wide; do
			if [ $k = wide ]; then
				r=$("${CL[@]}" "$BIN/segbench" tight "$SHM-wide" 4096 127.1.0.1 9 200000)
			else
				r=$("${CL[@]}" "$BIN/segbench" tight "$SHM-open$k" $k 127.1.0.1 9 200000)
			fi
			rec "tight_$k $i $(echo "$r" | field median_ns)"
		done
		r=$(shim "$SHM-open4096" "${CL[@]}" "$BIN/connbench" ctime 127.1.0.1 9 4096 $((NC / 4)) "$SHM-open4096")
		rec "reject4096flush $i $(echo "$r" | field median_ns)"
	done
	REF_PORT=$ref
}

# syscalls per call, from strace -c of runs of N and 2N calls
bench_strace() {
	local n=2000 m
	command -v strace > /dev/null || { rec "strace none"; return; }
	say "2. strace -c of the rejection path"
	for m in $n $((2 * n)); do
		shim "$SHM-trip" strace -f -c -o "$TMP/strace.rej.$m" \
			"$BIN/connbench" ctime 127.0.0.1 "$REF_PORT" 1 "$m" > /dev/null
		strace -f -c -o "$TMP/strace.ref.$m" \
			"$BIN/connbench" ctime 127.0.0.1 "$REF_PORT" 1 "$m" > /dev/null
	done
	strace_per_call "$n" rej ref >> "$DATA"
}

# a destination that never answers: the program's own 100 ms timeout, and
# the same destination under the shim (its breaker opens after 5)
bench_hang() {
	say "2. a destination that never answers (100 ms client timeout)"
	start hang
	"$BIN/connbench" hang 127.0.0.1 "$PORT" 3 100 | awk '{print "hang off", $2, $3, $4}' >> "$DATA"
	shim "$SHM-hang" "$BIN/connbench" hang 127.0.0.1 "$PORT" 8 100 | awk '{print "hang on", $2, $3, $4}' >> "$DATA"
}

# 4. contention on the segment, threads and processes.  CREPS (15) pairs
# of runs, the rule off then on: on one shared breaker with 2-8 threads on
# 2 CPUs a pair's ratio moves by +-20 % from pair to pair (time slicing,
# the line moving between CPUs), so the median needs many pairs.
bench_contend() {
	local i m t r
	say "4. contention: $CREPS repetitions"
	for i in $(seq "$CREPS"); do
		for m in one distinct; do
			# each run with the failure-rate rule off, then on (rate-*)
			for t in 1 2 4 8; do
				r=$("$BIN/segbench" contend "$SHM-cont" "$m" "$t" $((2000000 / t)) threads)
				rec "contend $m ${t}t $(echo "$r" | field decisions_per_s) $(echo "$r" | field exact)"
				r=$("$BIN/segbench" contend "$SHM-cont" "$m" "$t" $((2000000 / t)) threads rate)
				rec "contend rate-$m ${t}t $(echo "$r" | field decisions_per_s) $(echo "$r" | field exact)"
			done
			r=$("$BIN/segbench" contend "$SHM-cont" "$m" 2 1000000 procs)
			rec "contend $m 2p $(echo "$r" | field decisions_per_s) $(echo "$r" | field exact)"
			r=$("$BIN/segbench" contend "$SHM-cont" "$m" 2 1000000 procs rate)
			rec "contend rate-$m 2p $(echo "$r" | field decisions_per_s) $(echo "$r" | field exact)"
		done
	done
}

# 5. HAProxy in front of the same backend, and a dead backend.
# haproxy_cfg NAME FRONT_PORT BACK_PORT: one frontend, one server with
# passive health checks; active checks every 10 s as well (observe needs
# "check"), so that in the dead-backend run it is the passive observation
# that marks the server down.
haproxy_cfg() {
	cat > "$TMP/haproxy.$1.cfg" <<EOF
global
    maxconn 4096
    nbthread 1
    log stdout format raw local0 warning
defaults
    mode tcp
    log global
    timeout connect 5s
    timeout client 30s
    timeout server 30s
    retries 3
frontend fe_$1
    bind 127.0.0.1:$2
    default_backend be_$1
backend be_$1
    server $1 127.0.0.1:$3 check inter 10s observe layer4 error-limit 5 on-error mark-down
EOF
}

# haproxy_start NAME FRONT_PORT BACK_PORT: start it, wait until it listens
haproxy_start() {
	local i
	haproxy_cfg "$@"
	"${SV[@]}" haproxy -f "$TMP/haproxy.$1.cfg" > "$TMP/haproxy.$1.log" 2>&1 &
	PIDS+=($!)
	for i in $(seq 100); do
		ss -Hltn "sport = :$2" 2>/dev/null | grep -q . && return 0
		sleep 0.05
	done
	echo "bench: haproxy did not start" >&2
	cat "$TMP/haproxy.$1.log" >&2
	exit 1
}

bench_haproxy() {
	local echo fl fd i m n r
	command -v haproxy > /dev/null || { rec "haproxy none"; return; }
	say "5. HAProxy: $REPS repetitions, then a dead backend"
	start echo; echo=$PORT
	fl=$(free_port)
	haproxy_start live "$fl" "$echo"
	for i in $(seq "$REPS"); do
		for m in conn req; do
			n=$RR; [ $m = req ] && n=$((RR * 2))
			r=$("${CL[@]}" "$BIN/connbench" rr 127.0.0.1 "$echo" $m $n | field op_ns)
			rec "rr $m direct $i $r"
			r=$(shim "$SHM-rr" "${CL[@]}" "$BIN/connbench" rr 127.0.0.1 "$echo" $m $n | field op_ns)
			rec "rr $m shim $i $r"
			r=$("${CL[@]}" "$BIN/connbench" rr 127.0.0.1 "$fl" $m $n | field op_ns)
			rec "rr $m haproxy $i $r"
		done
	done
	say "5. the shim's share of a request, in one process (libc's functions vs the shim's)"
	for m in conn req; do
		r=$(shim "$SHM-rr" "${CL[@]}" "$BIN/connbench" abrr 127.0.0.1 "$echo" $m $((REPS * 10)) 20)
		rec "abrr $m $r"
	done
	# requests on a kept-alive connection after its first byte, with
	# response_timeout set: the entry is settled, one load per call
	echo 'defaults = { response_timeout = "5s"; };' > "$TMP/rto.conf"
	r=$(CBSHIM_SHM="$SHM-rto" CBSHIM_CONFIG="$TMP/rto.conf" LD_PRELOAD="$LIB" \
		"${CL[@]}" "$BIN/connbench" abrr 127.0.0.1 "$echo" req $((REPS * 10)) 20)
	rec "abrr_rto req $r"
	# a backend that dies while HAProxy runs: HAProxy sees it up first
	# (its first active check passes), then it is killed; the next active
	# check is 10 s away, so what follows is the passive observation's
	# doing.  The shim meets the same dead port with a fresh breaker.
	start echo
	fd=$(free_port)
	haproxy_start dead "$fd" "$PORT"
	sleep 0.5
	kill "${PIDS[-2]}"
	sleep 0.1
	"${CL[@]}" "$BIN/connbench" dead 127.0.0.1 "$fd" 12 | awk '{print "dead haproxy", $2, $4, $5}' >> "$DATA"
	shim "$SHM-dead" "${CL[@]}" "$BIN/connbench" dead 127.0.0.1 "$PORT" 12 | awk '{print "dead shim", $2, $4, $5}' >> "$DATA"
	grep -m1 -o 'Server be_dead/dead is DOWN[^,]*' "$TMP/haproxy.dead.log" | sed 's/^/haproxy_log /' >> "$DATA" || true
}

# 6. memory
bench_memory() {
	local k r f
	say "6. memory"
	start echo
	for k in 1 1000; do
		r=$("$BIN/connbench" mem 127.0.0.1 "$PORT" $k)
		rec "mem off $k $r"
		r=$(shim "$SHM-mem" "$BIN/connbench" mem 127.0.0.1 "$PORT" $k)
		rec "mem on $k $r"
	done
	f=/dev/shm$SHM-mem
	rec "segment_bytes $(stat -c %s "$f") $("$CBCTL" --shm "$SHM-mem" list --json | "$PY" -c 'import json,sys; print(len(json.load(sys.stdin)))')"
	rec "segment_layout $("$BIN/segbench" fill "$SHM-layout" 1 127.3.0.1 9 closed)"
	# the size of a segment by max_breakers (made, measured, removed)
	for k in 4096 65536 1048576; do
		rec "segment_cap $k $("$BIN/segbench" fill "$SHM-cap" 1 127.3.0.1 9 closed $k | sed 's/.*segment \([0-9]*\) bytes.*/\1/')"
		"$CBCTL" --shm "$SHM-cap" destroy > /dev/null 2>&1 || rm -f "/dev/shm$SHM-cap"
	done
	rec "fd_limit $(ulimit -Hn)"
	# a lookup of a new destination after churn: 8 x 65536 destinations
	# through 65536 places, reclaimed over and over
	rec "churn_miss $("$BIN/segbench" churn "$SHM-churn" 65536 8 20000)"
}

# 8. process start: a program that never connects (/bin/true) started with
# no preload, an empty preload library and the shim, in rotation; then
# its system calls under each, and whether the shim left a segment
bench_start() {
	local v e
	say "8. process start: $SBLK blocks of $SEXE starts of /bin/true each"
	CBSHIM_SHM="$SHM-start" CBSHIM_CONFIG="$CONF" "${CL[@]}" "$BIN/startbench" \
		"$SBLK" "$SEXE" /bin/true - "$BIN/empty.so" "$LIB" >> "$DATA"
	if command -v strace > /dev/null; then
		for v in - "$BIN/empty.so" "$LIB"; do
			e=()
			[ "$v" = - ] || e=(-E "LD_PRELOAD=$v")
			CBSHIM_SHM="$SHM-start" CBSHIM_CONFIG="$CONF" strace -f -c \
				-o "$TMP/strace.start" "${e[@]}" /bin/true
			rec "start_syscalls $(awk '$NF == "total" {print $4}' "$TMP/strace.start")"
		done
	fi
	if command -v valgrind > /dev/null; then
		for v in "$BIN/empty.so" "$LIB"; do
			CBSHIM_SHM="$SHM-start" CBSHIM_CONFIG="$CONF" LD_PRELOAD="$v" \
				valgrind --tool=callgrind --callgrind-out-file=/dev/null \
				/bin/true 2> "$TMP/cg.start.log"
			rec "start_ir $(sed -n 's/.*Collected : \([0-9]*\).*/\1/p' "$TMP/cg.start.log")"
		done
	fi
	rec "start_segment $([ -e "/dev/shm$SHM-start" ] && echo yes || echo no)"
}

# 7. instruction counts under callgrind: a run of N and one of 2N calls,
# the difference divided by N cancels start-up and the first insert
# cg OUT [VAR=VALUE...] CMD...: the variables go to valgrind's environment
# (LD_PRELOAD must reach the client; valgrind passes it on)
cg() {
	local out=$1 env=()
	shift
	while [[ $1 == *=* ]]; do env+=("$1"); shift; done
	env "${env[@]}" valgrind --tool=callgrind --callgrind-out-file="$out" "$@" \
		> /dev/null 2> "$out.log"
}

bench_callgrind() {
	local n=1000 m k cs cn
	command -v valgrind > /dev/null || { rec "callgrind none"; return; }
	say "7. instruction counts (callgrind)"
	for m in $n $((2 * n)); do
		cg "$TMP/cg.closed.on.$m" CBSHIM_SHM="$SHM-cg" CBSHIM_CONFIG="$CONF" \
			LD_PRELOAD="$LIB" "$BIN/connbench" cycle 127.0.0.1 "$CLOSED_PORT" $m
		cg "$TMP/cg.closed.off.$m" "$BIN/connbench" cycle 127.0.0.1 "$CLOSED_PORT" $m
		for k in 1 4096; do
			cg "$TMP/cg.open$k.on.$m" CBSHIM_SHM="$SHM-open$k" CBSHIM_CONFIG="$CONF" \
				LD_PRELOAD="$LIB" "$BIN/connbench" ctime 127.1.0.1 9 $k $m
		done
	done
	# cache lines per decision: find + admit among 4096 after evicting
	# (4096 places, load 1/2; and 65536 places, "wide")
	for k in 1 4096 wide; do
		cs=$SHM-open$k cn=$k
		[ $k = wide ] && cs=$SHM-wide cn=4096
		valgrind --tool=callgrind --cache-sim=yes --toggle-collect=decide \
			--D1=32768,8,64 --LL=524288,16,64 --callgrind-out-file="$TMP/cs.$k" \
			"$BIN/segbench" probe "$cs" $cn 127.1.0.1 9 500 1024 > /dev/null 2>&1
	done
	"$PY" "$ROOT/bench/cgparse.py" "$TMP" $n >> "$DATA"
}

main() {
	say "results go to $B/bench/results.md; raw data in $TMP"
	machine
	bench_closed
	bench_reject
	bench_strace
	bench_hang
	bench_contend
	bench_haproxy
	bench_memory
	bench_start
	bench_callgrind
	mkdir -p "$B/bench"
	cp "$DATA" "$B/bench/results.data"
	"$PY" "$ROOT/bench/report.py" "$DATA" | tee "$B/bench/results.md"
}

main "$@"
