#!/bin/sh
# run.sh - build the libFuzzer targets and fuzz them for a bounded time.
#
#   fuzz/run.sh                 60 s in all (FUZZ_SECONDS=N to change)
#   fuzz/run.sh crash-file...   replay inputs (a crash reproduces)
#   FUZZ_SECONDS=0 fuzz/run.sh  build, then run each target once over its
#                               kept seeds, no fuzzing (make check does)
#
# Four targets, built here with clang (no make):
#   fuzz_config   the whole config loader, then the matcher (shim/config.c)
#   fuzz_match    rule matching against a reference
#   fuzz_dest     cbctl's DEST parser against a reference (cbctl/dest.c)
#   fuzz_segment  the segment validator and everything that reads or
#                 writes an attached segment, cbctl's commands included
#                 (shim/table.c, shim/breaker.c, cbctl/*.c)
# fuzz_config gets a third of the time, fuzz_segment a third, fuzz_match
# and fuzz_dest a sixth each.  The kept seeds in fuzz/corpus/<target>
# (config, match) or fuzz/<target>/corpus (dest, segment) are only read;
# what the fuzzer discovers goes to build-fuzz/corpus-<target>, crashes to
# build-fuzz/crash-<target>-*.  Exits non-zero if any target crashed,
# leaked, hit undefined behaviour or broke one of its checks.
#
# Leaks: libFuzzer's per-input leak check is off (-detect_leaks=0) because
# libconfig's own leak on syntax errors (fuzz/lsan.supp) would trigger a
# full scan on most inputs, at a seventh of the speed; LeakSanitizer still
# scans the whole process at exit and fails the run.  To find the input,
# replay the corpus with -detect_leaks=1.
#
# fuzz_segment runs cbctl's commands, which print: its stdout goes to
# /dev/null and its stderr is closed (-close_fd_mask=2; libFuzzer and the
# sanitizers keep reporting on a copy).  It works on /dev/shm/cbfuzz-seg-PID,
# removed at exit.
set -u
cd "$(dirname "$0")/.."
CC=${FUZZ_CC:-clang}
OUT=${FUZZ_OUT:-build-fuzz}
SECONDS_TOTAL=${FUZZ_SECONDS:-60}
FLAGS="-std=gnu11 -g -O1 -D_GNU_SOURCE -fno-omit-frame-pointer
	-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined
	-Wall -Wextra"

case $SECONDS_TOTAL in
''|*[!0-9]*) echo "run.sh: FUZZ_SECONDS must be a number" >&2; exit 2 ;;
esac
command -v "$CC" >/dev/null 2>&1 || {
	echo "run.sh: $CC not found (libFuzzer needs clang)" >&2; exit 1; }
mkdir -p "$OUT"
# the core the Makefile links into cbctl and the unit tests (CORE_SRCS):
# every shim/*.c but the ones only libcbshim.so holds
CORE=$(ls shim/*.c | grep -v -e /interpose.c -e /libconfig_dl.c -e /resolver.c)

for t in config match; do
	# shellcheck disable=SC2086
	$CC $FLAGS -o "$OUT/fuzz_$t" "fuzz/fuzz_$t.c" $CORE \
		-lconfig || exit 1
done
# shellcheck disable=SC2086
$CC $FLAGS -o "$OUT/fuzz_dest" fuzz/dest/fuzz_dest.c cbctl/dest.c \
	$CORE -lconfig || exit 1
# cbctl's main() is renamed so the commands can be called in-process
# shellcheck disable=SC2086
$CC $FLAGS -Dmain=cbctl_main -DCB_VERSION='"fuzz"' \
	-DCB_LIBDIR='"/nonexistent"' -o "$OUT/fuzz_segment" \
	fuzz/segment/fuzz_segment.c cbctl/*.c $CORE \
	-lconfig -lmicrohttpd -lm || exit 1

if [ $# -gt 0 ]; then		# replay
	st=0
	for f in "$@"; do
		case $f in
		*match*) "$OUT/fuzz_match" "$f" || st=1 ;;
		*) "$OUT/fuzz_config" "$f" || st=1 ;;
		esac
	done
	exit $st
fi

if [ "$SECONDS_TOTAL" -eq 0 ]; then	# seeds only: -runs=0 executes
	t_config=0 t_segment=0 t_match=0 t_dest=0	# the corpus, then stops
else
t_config=$((SECONDS_TOTAL / 3))
[ "$t_config" -ge 1 ] || t_config=1
t_segment=$((SECONDS_TOTAL / 3))
[ "$t_segment" -ge 1 ] || t_segment=1
t_match=$(((SECONDS_TOTAL - t_config - t_segment) / 2))
[ "$t_match" -ge 1 ] || t_match=1
t_dest=$((SECONDS_TOTAL - t_config - t_segment - t_match))
[ "$t_dest" -ge 1 ] || t_dest=1
fi

status=0
# run TARGET SECONDS MAX_LEN [LIBFUZZER-OPTION...]
run() {
	t=$1 secs=$2 maxlen=$3
	shift 3
	seeds=fuzz/corpus/$t dict=fuzz/$t.dict
	[ -d "$seeds" ] || seeds=fuzz/$t/corpus
	[ -f "$dict" ] || dict=fuzz/$t/$t.dict
	[ -f "$dict" ] && set -- "$@" -dict="$dict"
	mkdir -p "$OUT/corpus-$t"
	if [ "$secs" -eq 0 ]; then
		echo "fuzz: $t over its kept seeds"
		set -- "$@" -runs=0
	else
		echo "fuzz: $t for $secs s"
		set -- "$@" -max_total_time="$secs"
	fi
	ASAN_OPTIONS="detect_leaks=1:abort_on_error=0" \
	LSAN_OPTIONS="suppressions=$PWD/fuzz/lsan.supp:print_suppressions=0" \
	UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1" \
	"$OUT/fuzz_$t" -timeout=10 -rss_limit_mb=2048 \
		-detect_leaks=0 \
		-max_len="$maxlen" -print_final_stats=1 "$@" \
		-artifact_prefix="$OUT/crash-$t-" \
		"$OUT/corpus-$t" "$seeds" >"$OUT/fuzz_$t.log" 2>&1
	rc=$?
	grep -E '^(stat::number_of_executed_units|stat::peak_rss_mb|Done)' \
		"$OUT/fuzz_$t.log"
	if [ $rc -ne 0 ]; then
		echo "fuzz: $t FAILED (exit $rc); log: $OUT/fuzz_$t.log"
		grep -E 'ERROR|SUMMARY|differs|Test unit written|deadly' \
			"$OUT/fuzz_$t.log" | head -20
		status=1
	fi
}
run config "$t_config" 4096
run match "$t_match" 256
run dest "$t_dest" 256
run segment "$t_segment" 4096 -close_fd_mask=2
[ $status -eq 0 ] && echo "fuzz: no findings"
exit $status
