#!/bin/bash
# run.sh - prove that the unit tests catch each known wrong implementation.
#
#   tests/mutants/run.sh [NAME...]     (or: make mutants)
#
# Every tests/mutants/NAME.mutant describes one deliberately wrong version
# of a source file: which file, an exact snippet of its code that must
# occur there exactly once, what replaces it, and the unit-test program
# that must fail on the result (the format is in tests/mutants/README).
# This script snapshots shim/, cbctl/ and tests/unit/ into a temporary
# directory - never touching the real tree, where others are building -
# builds each named test program once as it is (the baseline), then, for
# each mutant, in parallel: applies the replacement to its own copy,
# compiles the changed file, links it with the baseline's other objects
# and runs the program.  A mutant is caught when a test that passes on the
# real code fails on the mutant (a test that already fails on the real
# code proves nothing), or when the program crashes or hangs.  A mutant's
# program runs up to $MUTANT_RUNS times and counts as caught at the first
# such failure (B, lost updates, is a race).
#
# Output is TAP, one "ok"/"not ok" line per mutant (tests/check.sh counts
# them); a snippet that is not found, or found more than once, is a
# "not ok" naming the mutant, the file and the lines: never skipped.
# Exit status: 0 every mutant caught, 1 otherwise.
# Environment: CC, MUTANT_RUNS (5), MUTANT_TIMEOUT (seconds per run, 120),
# MUTANT_JOBS (parallel mutants, the number of CPUs).
set -u
shopt -s nullglob
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
CC=${CC:-cc}
MCFLAGS=(-std=gnu11 -O2 -pthread -D_GNU_SOURCE -Wall -Wextra -Wshadow)
LIBS=(-lcmocka -lconfig -ldl -lm)
TIMEOUT=${MUTANT_TIMEOUT:-120}
RUNS=${MUTANT_RUNS:-5}
JOBS=${MUTANT_JOBS:-$(nproc 2>/dev/null || echo 2)}
started=$(date +%s)

tmp=$(mktemp -d "${TMPDIR:-/tmp}/cbshim-mutants.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT

# ---- the mutants to run ---------------------------------------------

files=()
if [ $# -eq 0 ]; then
	files=("$here"/*.mutant)
else
	for name in "$@"; do
		f=$here/${name%.mutant}.mutant
		[ -f "$f" ] || { echo "run.sh: no mutant $f" >&2; exit 1; }
		files+=("$f")
	done
fi
[ ${#files[@]} -gt 0 ] || { echo "run.sh: no *.mutant in $here" >&2; exit 1; }

# the code as it is now, once: edits made during the run do not mix in
mkdir -p "$tmp/base/tests" &&
	cp -a "$top/shim" "$top/cbctl" "$tmp/base/" &&
	cp -a "$top/tests/unit" "$tmp/base/tests/" || exit 1

# apply.pl TARGET FIND REPLACE: replace the one occurrence of FIND's text
# in TARGET (a new file renamed over it: the copies are hard links).
cat >"$tmp/apply.pl" <<'EOF'
use strict; use warnings;
my ($target, $findf, $replf, $shown) = @ARGV;
sub slurp { local $/; open(my $h, '<', $_[0]) or die "$_[0]: $!\n"; <$h> }
my ($src, $find, $repl) = (slurp($target), slurp($findf), slurp($replf));
sub line_of { 1 + (substr($src, 0, $_[0]) =~ tr/\n//) }
my @at;
for (my $i = index($src, $find); $i >= 0; $i = index($src, $find, $i + 1)) {
	push @at, line_of($i);
}
if (@at == 0) {
	my ($first) = $find =~ /^\s*(.*?)\s*$/m;
	my @l = grep { index((split /\n/, $src)[$_ - 1] // '', $first) >= 0 }
	    1 .. ($src =~ tr/\n//) + 1;
	print "snippet not found in $shown", (@l ?
	    " (its first line is at line" . (@l > 1 ? "s " : " ") .
	    join(', ', @l) . ")" :
	    " (nor its first line)"), "\n";
	exit 1;
}
if (@at > 1) {
	print "snippet found ", scalar(@at), " times in $shown (lines ",
	    join(', ', @at), ")\n";
	exit 1;
}
substr($src, index($src, $find), length($find)) = $repl;
open(my $o, '>', "$target.new") or die "$target.new: $!\n";
print $o $src; close($o) or die "$target.new: $!\n";
rename("$target.new", $target) or die "$target: $!\n";
print "$at[0]\n";
EOF

# ---- the description files -------------------------------------------

# parse FILE DIR: check FILE and write its fields into DIR (what, file,
# test, find, replace); on a malformed file, print why and return 1.
parse() {
	local f=$1 d=$2 line n=0 part=head key val
	local -A seen=()
	local find='' repl='' fbody=0 rbody=0
	while IFS= read -r line || [ -n "$line" ]; do
		n=$((n + 1))
		case $part:$line in
		head:"@@ find") part='find'; continue ;;
		find:"@@ replace") part='replace'; continue ;;
		replace:"@@ end") part='end'; continue ;;
		esac
		case $part in
		head)
			case $line in
			"" | "#"*) continue ;;
			what:* | file:* | test:*)
				key=${line%%:*}
				val=${line#*:}
				val=${val#"${val%%[! ]*}"}
				[ -z "${seen[$key]:-}" ] ||
					{ echo "line $n: second '$key:'"; return 1; }
				seen[$key]=1
				printf '%s\n' "$val" >"$d/$key" ;;
			*) echo "line $n: expected 'what:', 'file:'," \
				"'test:' or '@@ find'"; return 1 ;;
			esac ;;
		find) find+=$line$'\n'; fbody=1 ;;
		replace) repl+=$line$'\n'; rbody=1 ;;
		end) [ -z "$line" ] ||
			{ echo "line $n: text after '@@ end'"; return 1; } ;;
		esac
	done <"$f"
	[ "$part" = end ] ||
		{ echo "no '@@ find' / '@@ replace' / '@@ end' block"; return 1; }
	for key in what file test; do
		[ -s "$d/$key" ] || { echo "no '$key:' line"; return 1; }
	done
	if [ "$fbody" = 0 ] || [ -z "${find//[$' \t\n']/}" ]; then
		echo "the snippet to find is empty"; return 1
	fi
	[ "$rbody" = 1 ] || repl=$'\n'
	# the text between the markers, without its last newline
	printf '%s' "${find%$'\n'}" >"$d/find"
	printf '%s' "${repl%$'\n'}" >"$d/replace"
	cmp -s "$d/find" "$d/replace" &&
		{ echo "the replacement is the snippet itself"; return 1; }
	read -r -a val <"$d/test"
	[ ${#val[@]} -ge 2 ] ||
		{ echo "'test:' names the program, then its sources"; return 1; }
	[ -f "$tmp/base/tests/unit/${val[0]}.c" ] ||
		{ echo "no tests/unit/${val[0]}.c"; return 1; }
	for key in "${val[@]:1}" "$(cat "$d/file")"; do
		[ -f "$tmp/base/$key" ] || { echo "no file $key"; return 1; }
	done
	case " ${val[*]:1} " in
	*" $(cat "$d/file") "*) ;;
	*) case $(cat "$d/file") in
	   *.h) ;;
	   *) echo "$(cat "$d/file") is not among the sources of" \
			"${val[0]}"; return 1 ;;
	   esac ;;
	esac
}

# ---- building and running --------------------------------------------

# obj SRCDIR SOURCE OBJDIR: compile SRCDIR/SOURCE into OBJDIR.
obj() {
	local o=$3/${2//\//_}.o
	"$CC" "${MCFLAGS[@]}" -c -o "$o" "$1/$2"
}

# build SRCDIR OBJDIR OUT PROGRAM SOURCE... [-- MUTATED]: compile the
# program's test and sources (or, after --, only MUTATED, taking the rest
# from OBJDIR) and link OUT.
build() {
	local src=$1 objs=$2 out=$3 prog=$4 s mine list=()
	shift 4
	local -a sources=()
	while [ $# -gt 0 ] && [ "$1" != -- ]; do sources+=("$1"); shift; done
	mine=${2:-}
	if [ -z "$mine" ]; then
		mkdir -p "$objs" || return 1
		for s in "tests/unit/$prog.c" "${sources[@]}"; do
			obj "$src" "$s" "$objs" || return 1
		done
	fi
	for s in "tests/unit/$prog.c" "${sources[@]}"; do
		if [ "$s" = "$mine" ]; then
			obj "$src" "$s" "$(dirname "$out")" || return 1
			list+=("$(dirname "$out")/${s//\//_}.o")
		else
			list+=("$objs/${s//\//_}.o")
		fi
	done
	"$CC" "${MCFLAGS[@]}" -o "$out" "${list[@]}" "${LIBS[@]}"
}

# run PROGRAM LOG: 0 if it passes, 1 if it fails (TAP in LOG).
run() {
	CMOCKA_MESSAGE_OUTPUT=TAP timeout "$TIMEOUT" "$1" >"$2" 2>&1
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

# baseline KEY PROG SOURCE...: build and run the program on the real code
# into $tmp/b/KEY; writes ok, or why not, into $tmp/b/KEY/status.
baseline() {
	local d=$tmp/b/$1 prog=$2
	shift 2
	mkdir -p "$d"
	if ! build "$tmp/base" "$d/obj" "$d/$prog" "$prog" "$@" \
		>"$d/log" 2>&1; then
		echo "$prog does not build on the real code" >"$d/status"
	elif run "$d/$prog" "$d/log" || complete "$d/log"; then
		echo ok >"$d/status"
	else
		echo "$prog crashed or hung on the real code" >"$d/status"
	fi
	failing "$d/log" >"$d/failing"
}

# mutant NAME: apply, build, run; writes $tmp/m/NAME/result: "ok" or
# "not ok", then the TAP description, then comment lines.
mutant() {
	local name=$1 d=$tmp/m/$1 file prog key at caught='' try msg
	local -a t
	file=$(cat "$d/file")
	read -r -a t <"$d/test"
	prog=${t[0]}
	key=$(printf '%s_' "${t[@]}" | tr -c 'A-Za-z0-9_\n' _)
	msg=$(cat "$tmp/b/$key/status")
	if [ "$msg" != ok ]; then
		printf 'not ok\n%s\n' "$msg"
		sed 's/^/# /' "$tmp/b/$key/log" | head -n 20
		return
	fi
	cp -al "$tmp/base" "$d/src" || return 1
	if ! at=$(perl "$tmp/apply.pl" "$d/src/$file" "$d/find" \
		"$d/replace" "$file"); then
		printf 'not ok\n%s\n' "$at"
		return
	fi
	case $file in
	*.h) build "$d/src" "$d/obj" "$d/$prog" "$prog" "${t[@]:1}" ;;
	*) build "$d/src" "$tmp/b/$key/obj" "$d/$prog" "$prog" \
		"${t[@]:1}" -- "$file" ;;
	esac >"$d/log" 2>&1 || {
		printf 'not ok\ndoes not build (%s:%s): %s\n' "$file" "$at" \
			"rewrite the replacement for the code as it is now"
		sed 's/^/# /' "$d/log" | head -n 20
		return
	}
	for try in $(seq "$RUNS"); do
		run "$d/$prog" "$d/log" && continue
		if ! complete "$d/log"; then
			caught="crashed or hung"
			break
		fi
		caught=$(failing "$d/log" | comm -23 - "$tmp/b/$key/failing" |
			 tr '\n' ' ')
		[ -n "$caught" ] && break
	done
	if [ -n "$caught" ]; then
		printf 'ok\ncaught by %s (%s:%s; run %s of at most %s)\n' \
			"$prog" "$file" "$at" "$try" "$RUNS"
		printf '# %s: failing: %s\n' "$name" "$caught"
	else
		printf 'not ok\nSURVIVED %s runs of %s (%s:%s)\n' \
			"$RUNS" "$prog" "$file" "$at"
	fi
}

# throttle: wait until fewer than $JOBS background jobs run.
throttle() {
	while [ "$(jobs -rp | wc -l)" -ge "$JOBS" ]; do
		wait -n
	done
}

# ---- main ------------------------------------------------------------

names=()
declare -A progs=()
for f in "${files[@]}"; do
	name=$(basename "$f" .mutant)
	names+=("$name")
	d=$tmp/m/$name
	mkdir -p "$d"
	if ! parse "$f" "$d" >"$d/parse" 2>&1; then
		printf 'not ok\nmalformed %s: %s\n' \
			"tests/mutants/$name.mutant" "$(cat "$d/parse")" \
			>"$d/result"
		continue
	fi
	read -r -a t <"$d/test"
	key=$(printf '%s_' "${t[@]}" | tr -c 'A-Za-z0-9_\n' _)
	progs[$key]="${t[*]}"
done

for key in "${!progs[@]}"; do
	throttle
	# shellcheck disable=SC2086 # the program, then its sources
	baseline "$key" ${progs[$key]} &
done
wait

for name in "${names[@]}"; do
	[ -e "$tmp/m/$name/result" ] && continue
	throttle
	mutant "$name" >"$tmp/m/$name/result" 2>&1 &
done
wait

echo "1..${#names[@]}"
i=0
status=0
for name in "${names[@]}"; do
	i=$((i + 1))
	d=$tmp/m/$name
	{ read -r verdict; read -r desc; } <"$d/result"
	printf '%s %d - mutant %s: %s%s\n' "${verdict:-not ok}" "$i" \
		"$name" "${desc:-no result}" \
		"$(sed 's/^/ - /' "$d/what" 2>/dev/null)"
	tail -n +3 "$d/result"
	[ "$verdict" = ok ] || status=1
done
for key in "${!progs[@]}"; do
	if [ -s "$tmp/b/$key/failing" ]; then
		echo "# the real code already fails these tests of" \
			"${progs[$key]%% *} (they count for no mutant):"
		sed 's/^/#   /' "$tmp/b/$key/failing"
	fi
done
echo "# ${#names[@]} mutants in $(($(date +%s) - started)) s"
exit $status
