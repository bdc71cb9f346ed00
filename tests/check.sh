#!/bin/bash
# check.sh - run every test and end with one line "N passed, N failed".
#
# Unit tests (cmocka, TAP output) run from build/, build-asan/ and
# build-tsan/; then the mutants (tests/mutants/run.sh, a line each); then
# the bats suite runs against build/, and shim.bats, reliability.bats and
# passthru.bats again against build-asan/libcbshim.so.  A test program that
# crashes before reporting all of its plan counts the missing ones as failed.
set -u
cd "$(dirname "$0")/.."
top=$PWD
pass=0
fail=0
failed_names=()

# tally LABEL < TAP: count ok / not ok lines against the plan.
tally() {
	local label=$1 line plan=0 seen=0
	while IFS= read -r line; do
		printf '%s\n' "$line"
		case $line in
		1..*) plan=${line#1..} ;;
		"ok "*) pass=$((pass + 1)); seen=$((seen + 1)) ;;
		"not ok "*) fail=$((fail + 1)); seen=$((seen + 1))
			failed_names+=("$label: ${line#not ok }") ;;
		esac
	done
	if [ "$seen" -lt "$plan" ]; then
		fail=$((fail + plan - seen))
		failed_names+=("$label: $((plan - seen)) test(s) never reported")
	fi
	if [ "$plan" -eq 0 ] && [ "$seen" -eq 0 ]; then
		fail=$((fail + 1))
		failed_names+=("$label: no TAP output (crashed?)")
	fi
}

run_unit() {
	local dir=$1 t prefix=()
	[ "$dir" = build-tsan ] && prefix=(setarch "$(uname -m)" -R)
	for t in "$dir"/tests/unit/test_*; do
		[ -x "$t" ] || continue
		echo "# $t"
		tally "$t" < <(CMOCKA_MESSAGE_OUTPUT=TAP \
			TSAN_OPTIONS="halt_on_error=1" \
			ASAN_OPTIONS="detect_leaks=1" \
			UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1" \
			"${prefix[@]}" "$t" 2>&1)
	done
}

for d in build build-asan build-tsan; do
	run_unit "$d"
done

# Every known wrong implementation (tests/mutants/*.mutant) must make its
# unit-test program fail: one line per mutant.  run.sh builds what it
# needs itself, from a snapshot of the sources.
echo "# mutants: tests/mutants/run.sh"
tally mutants < <(tests/mutants/run.sh 2>&1)

# The fuzz targets build (they list the core's sources themselves) and
# pass over their kept seeds: a reference that disagrees shows here too.
echo "# fuzz targets over their kept seeds"
if FUZZ_SECONDS=0 FUZZ_OUT=build-fuzz fuzz/run.sh >build/fuzz-seeds.log 2>&1; then
	pass=$((pass + 1)); echo "ok - fuzz targets build and pass their seeds"
else
	fail=$((fail + 1)); echo "not ok - fuzz targets (build/fuzz-seeds.log)"
	failed_names+=("fuzz: seeds (see build/fuzz-seeds.log)")
fi

export CBSHIM_LIB=$top/build/libcbshim.so CBCTL=$top/build/cbctl
export HELPERS=$top/build/tests/helpers TOP=$top
shopt -s nullglob
bats_files=(tests/*.bats)
# mount_points: every mount point on the host, one a line, sorted.
mount_points() {
	awk '{ print $5 }' /proc/self/mountinfo | sort
}

if [ ${#bats_files[@]} -gt 0 ]; then
	mounts_before=$(mount_points)
	tally bats < <(bats --tap "${bats_files[@]}" 2>&1)
	# tests leave the machine as they found it: no mount left behind
	left=$(comm -13 <(echo "$mounts_before") <(mount_points) | paste -sd ' ' -)
	if [ -n "$left" ]; then
		fail=$((fail + 1))
		failed_names+=("bats: mounts left behind: $left")
	fi
fi

# the shim itself (interpose.c included) under ASan+UBSan in real
# programs: the sanitizer runtime must come first in LD_PRELOAD
asan_rt=$(${CC:-cc} -print-file-name=libasan.so)
if [ -f build-asan/libcbshim.so ] && [ -f "$asan_rt" ]; then
	tally bats-asan < <(CBSHIM_LIB="$asan_rt $top/build-asan/libcbshim.so" \
		ASAN_OPTIONS=detect_leaks=0 UBSAN_OPTIONS=print_stacktrace=1 \
		CB_STORM_MIN_KILLS=20 \
		bats --tap tests/shim.bats tests/reliability.bats \
		tests/passthru.bats 2>&1)
else
	fail=$((fail + 1))
	failed_names+=("bats-asan: no build-asan/libcbshim.so or $asan_rt")
fi

if [ ${#failed_names[@]} -gt 0 ]; then
	echo "# failed:"
	printf '#   %s\n' "${failed_names[@]}"
fi
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
