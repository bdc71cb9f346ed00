#!/bin/bash
# run.sh - prove that tests/unit/test_breaker.c catches each wrong breaker.
#
# Every tests/mutants/X.patch is a deliberately wrong shim/breaker.c (its
# first line says how).  For each one this script copies the source tree to
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

# Only what the test needs: the breaker and the test itself.
mkdir -p "$tmp/base/shim" "$tmp/base/tests/unit"
cp "$top/shim/breaker.c" "$top/shim/breaker.h" "$top/shim/crashpoint.h" \
	"$tmp/base/shim/" &&
	cp "$top/tests/unit/test_breaker.c" "$tmp/base/tests/unit/" || exit 1

# build DIR LOG: compile DIR/test_breaker; 0 or 1 (log in LOG).
build() {
	(cd "$1" && $CC $CFLAGS -o test_breaker tests/unit/test_breaker.c \
		shim/breaker.c -lcmocka) >"$2" 2>&1
}

# run DIR LOG: 0 if test_breaker passes, 1 if it fails.
run() {
	(cd "$1" && CMOCKA_MESSAGE_OUTPUT=TAP timeout "$TIMEOUT" \
		./test_breaker) >"$2" 2>&1
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

if ! build "$tmp/base" "$tmp/base.log"; then
	echo "baseline: does not build:"; cat "$tmp/base.log"; exit 1
fi
if run "$tmp/base" "$tmp/base.log"; then
	echo "baseline: unpatched breaker.c passes test_breaker"
elif ! complete "$tmp/base.log"; then
	echo "baseline: test_breaker crashed on the unpatched breaker.c"
	cat "$tmp/base.log"; exit 1
else
	echo "baseline: unpatched breaker.c fails (a known bug; these tests" \
		"do not count as catching a mutant):"
	failing "$tmp/base.log" | sed 's/^/   /'
fi
failing "$tmp/base.log" >"$tmp/base.failing"

status=0
for patch in "$here"/*.patch; do
	name=$(basename "$patch" .patch)
	what=$(head -n 1 "$patch" | sed 's/^Mutant [A-Z]*: //')
	dir=$tmp/$name
	cp -a "$tmp/base" "$dir"
	if ! (cd "$dir" && patch -p1 -s --no-backup-if-mismatch) \
		<"$patch" >"$tmp/$name.patchlog" 2>&1; then
		echo "$name: patch does not apply: $(cat "$tmp/$name.patchlog")"
		status=1
		continue
	fi
	if ! build "$dir" "$tmp/$name.log"; then
		echo "$name: does not build:"; cat "$tmp/$name.log"
		status=1
		continue
	fi
	caught=
	for try in $(seq "$RUNS"); do
		run "$dir" "$tmp/$name.log" && continue
		if ! complete "$tmp/$name.log"; then
			caught="(crashed or timed out)"
			break
		fi
		caught=$(failing "$tmp/$name.log" |
			 comm -23 - "$tmp/base.failing" | tr '\n' ' ')
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
