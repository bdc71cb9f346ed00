#!/bin/sh
# run.sh - build the libFuzzer targets and fuzz them for a bounded time.
#
#   fuzz/run.sh                 60 s in all (FUZZ_SECONDS=N to change)
#   fuzz/run.sh crash-file...   replay inputs (a crash reproduces)
#
# Two targets, built here with clang from shim/config.c and shim/breaker.c
# (no make): fuzz_config (the whole loader, then the matcher) gets two
# thirds of the time, fuzz_match (rule matching against a reference) the
# rest.  The kept seeds in fuzz/corpus/<target> are only read; what the
# fuzzer discovers goes to build-fuzz/corpus-<target>, crashes to
# build-fuzz/crash-<target>-*.  Exits non-zero if any target crashed,
# leaked, hit undefined behaviour or broke one of its checks.
#
# Leaks: libFuzzer's per-input leak check is off (-detect_leaks=0) because
# libconfig's own leak on syntax errors (fuzz/lsan.supp) would trigger a
# full scan on most inputs, at a seventh of the speed; LeakSanitizer still
# scans the whole process at exit and fails the run.  To find the input,
# replay the corpus with -detect_leaks=1.
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

for t in config match; do
	# shellcheck disable=SC2086
	$CC $FLAGS -o "$OUT/fuzz_$t" "fuzz/fuzz_$t.c" shim/config.c \
		shim/breaker.c -lconfig || exit 1
done

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

t_config=$((SECONDS_TOTAL * 2 / 3))
[ "$t_config" -ge 1 ] || t_config=1
t_match=$((SECONDS_TOTAL - t_config))
[ "$t_match" -ge 1 ] || t_match=1

status=0
# run TARGET SECONDS MAX_LEN
run() {
	mkdir -p "$OUT/corpus-$1"
	echo "fuzz: $1 for $2 s"
	ASAN_OPTIONS="detect_leaks=1:abort_on_error=0" \
	LSAN_OPTIONS="suppressions=$PWD/fuzz/lsan.supp:print_suppressions=0" \
	UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1" \
	"$OUT/fuzz_$1" -max_total_time="$2" -timeout=10 -rss_limit_mb=2048 \
		-detect_leaks=0 \
		-max_len="$3" -dict="fuzz/$1.dict" -print_final_stats=1 \
		-artifact_prefix="$OUT/crash-$1-" \
		"$OUT/corpus-$1" "fuzz/corpus/$1" >"$OUT/fuzz_$1.log" 2>&1
	rc=$?
	grep -E '^(stat::number_of_executed_units|stat::peak_rss_mb|Done)' \
		"$OUT/fuzz_$1.log"
	if [ $rc -ne 0 ]; then
		echo "fuzz: $1 FAILED (exit $rc); log: $OUT/fuzz_$1.log"
		grep -E 'ERROR|SUMMARY|differs|Test unit written' \
			"$OUT/fuzz_$1.log" | head -20
		status=1
	fi
}
run config "$t_config" 4096
run match "$t_match" 256
[ $status -eq 0 ] && echo "fuzz: no findings"
exit $status
