#!/bin/bash
# run.sh - prove that the unit tests catch each wrong state machine.
#
# Every tests/mutants/X.patch is a deliberately wrong shim/breaker.c or
# shim/conn.c (its first line says how; the file it patches says which
# test judges it: test_breaker or test_conn).  For each one this script copies the source tree to
# a temporary directory - never patching the real tree, where others are
# building - applies the patch there, builds test_breaker against that
# breaker.c alone (so work in progress in other modules cannot get in the
# way), and runs it.  A mutant is caught when a test that passes on the
# real breaker.c fails on the mutant (so a known bug of the real one, whose
# test fails on both, proves nothing and is listed as such), or when the
# program crashes or hangs.  A mutant's program runs up to $RUNS times and
# counts as caught at the first such failure: B (lost updates) is a race,
# caught in nearly every round on an idle machine with two CPUs but in
# fewer when the machine is loaded.
# Exit status: 0 every mutant caught, 1 a mutant survived or something
# could not be built/applied.
set -u
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
CC=${CC:-cc}
CFLAGS="-std=gnu11 -O2 -g -pthread -D_GNU_SOURCE -Wall -Wextra -Wshadow"
TIMEOUT=${MUTANT_TIMEOUT:-300}
RUNS=${MUTANT_RUNS:-5}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/cbshim-mutants.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT

MODULES="breaker conn"

# Only what the tests need: the state machines and their tests.
mkdir -p "$tmp/base/shim" "$tmp/base/tests/unit"
for m in $MODULES; do
	cp "$top/shim/$m.c" "$top/shim/$m.h" "$top/shim/crashpoint.h" \
		"$tmp/base/shim/" &&
		cp "$top/tests/unit/test_$m.c" "$tmp/base/tests/unit/" || exit 1
done

# build DIR LOG M: compile DIR/test_M against DIR/shim/M.c; 0 or 1.
build() {
	(cd "$1" && $CC $CFLAGS -o "test_$3" "tests/unit/test_$3.c" \
		"shim/$3.c" -lcmocka) >"$2" 2>&1
}

# run DIR LOG M: 0 if test_M passes, 1 if it fails.
run() {
	(cd "$1" && CMOCKA_MESSAGE_OUTPUT=TAP timeout "$TIMEOUT" \
		"./test_$3") >"$2" 2>&1
}

# complete LOG: 0 if every planned test reported (no crash, no hang).
complete() {
	local plan
	plan=$(sed -n 's/^1\.\.//p' "$1")
	[ -n "$plan" ] && [ "$(grep -c '^ok \|^not ok ' "$1")" -eq "$plan" ]
}

# failing LOG: the names of the tests that failed, one a line.
failing() {
	sed -n 's/^not ok [0-9]* - //p' "$1" | sort
}

for m in $MODULES; do
	log=$tmp/base-$m.log
	if ! build "$tmp/base" "$log" "$m"; then
		echo "baseline: does not build:"; cat "$log"; exit 1
	fi
	if run "$tmp/base" "$log" "$m"; then
		echo "baseline: unpatched $m.c passes test_$m"
	elif ! complete "$log"; then
		echo "baseline: test_$m crashed on the unpatched $m.c"
		cat "$log"; exit 1
	else
		echo "baseline: unpatched $m.c fails (a known bug; these tests" \
			"do not count as catching a mutant):"
		failing "$log" | sed 's/^/   /'
	fi
	failing "$log" >"$tmp/base-$m.failing"
done

status=0
for patch in "$here"/*.patch; do
	name=$(basename "$patch" .patch)
	what=$(head -n 1 "$patch" | sed 's/^Mutant [A-Z0-9]*: //')
	m=$(sed -n 's|^+++ b/shim/\([a-z]*\)\.c.*|\1|p' "$patch" | head -n 1)
	dir=$tmp/$name
	cp -a "$tmp/base" "$dir"
	if ! (cd "$dir" && patch -p1 -s --no-backup-if-mismatch) \
		<"$patch" >"$tmp/$name.patchlog" 2>&1; then
		echo "$name: patch does not apply: $(cat "$tmp/$name.patchlog")"
		status=1
		continue
	fi
	if ! build "$dir" "$tmp/$name.log" "$m"; then
		echo "$name: does not build:"; cat "$tmp/$name.log"
		status=1
		continue
	fi
	caught=
	for try in $(seq "$RUNS"); do
		run "$dir" "$tmp/$name.log" "$m" && continue
		if ! complete "$tmp/$name.log"; then
			caught="(crashed or timed out)"
			break
		fi
		caught=$(failing "$tmp/$name.log" |
			 comm -23 - "$tmp/base-$m.failing" | tr '\n' ' ')
		[ -n "$caught" ] && break
	done
	if [ -n "$caught" ]; then
		echo "$name: CAUGHT (run $try of at most $RUNS) - $what"
		echo "   failing tests: $caught"
	else
		echo "$name: SURVIVED $RUNS runs - $what"
		status=1
	fi
done
if [ $status -eq 0 ]; then
	echo "all mutants caught"
else
	echo "some mutants were not caught"
fi
exit $status
