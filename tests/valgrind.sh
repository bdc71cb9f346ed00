#!/bin/bash
# valgrind.sh - memcheck of cbctl and of programs running under the shim.
#
#   tests/valgrind.sh cbctl                  every cbctl command, good and bad
#   tests/valgrind.sh client OKPORT BADPORT  shimmed test helpers, every way
#                                            of connecting, to 127.0.0.1:OKPORT
#                                            (a server that accepts) and
#                                            BADPORT (nothing listens)
#
# Each run is one program under valgrind's memcheck with
# --error-exitcode=99 (so a program's own exit status, 1 or 2 for cbctl's
# refusals, is told apart from a memory error), full leak checking, and
# leaks of every kind but "still reachable" counted as errors.  No
# suppressions: nothing needs one today; add one only with the reason
# beside it.  Runs that do not depend on each other go in parallel, one
# per CPU (valgrind's start-up is most of each run); to find where an
# uninitialised value came from, add --track-origins=yes to VG.  Uses CBCTL, CBSHIM_LIB, HELPERS like the bats suite; the
# segment is $CBSHIM_SHM (a fresh one of its own if unset), removed at
# the end.  Prints one line per run and "valgrind: N runs, M with errors";
# exit status 0 when M is 0.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
CBCTL=${CBCTL:-$top/build/cbctl}
CBSHIM_LIB=${CBSHIM_LIB:-$top/build/libcbshim.so}
HELPERS=${HELPERS:-$top/build/tests/helpers}
own_shm=
if [ -z "${CBSHIM_SHM:-}" ]; then
	export CBSHIM_SHM=/cbtest-valgrind-$$
	own_shm=1
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"; [ -n "$own_shm" ] && rm -f "/dev/shm$CBSHIM_SHM"' EXIT
: >"$tmp/empty.conf"
export CBSHIM_CONFIG=${CBSHIM_CONFIG:-$tmp/empty.conf}

runs=0
bad=0
jobs=()
cpus=$(nproc 2>/dev/null || echo 2)
# shellcheck disable=SC2054	# the commas are inside option values
VG=(valgrind -q --error-exitcode=99 --leak-check=full
    --show-leak-kinds=definite,indirect,possible
    --errors-for-leak-kinds=definite,indirect,possible)

# one N WANT PRELOAD CMD...: run N of CMD under memcheck, with PRELOAD
# (may be empty) as LD_PRELOAD; WANT is the exit status CMD itself should
# end with.  Leaves the verdict in $tmp/N.verdict.
one() {
	local n=$1 want=$2 pre=$3 rc
	shift 3
	env ${pre:+LD_PRELOAD="$pre"} "${VG[@]}" --log-file="$tmp/$n.vg" \
		"$@" >"$tmp/$n.out" 2>"$tmp/$n.err"
	rc=$?
	[ -n "$pre" ] && set -- "LD_PRELOAD=${pre##*/}" "$@"
	{
		if [ "$rc" -eq 99 ] || [ -s "$tmp/$n.vg" ]; then
			echo "ERRORS: $*"
			sed 's/^/    /' "$tmp/$n.vg"
		elif [ "$rc" -ne "$want" ]; then
			echo "EXIT $rc (want $want): $*"
			sed 's/^/    /' "$tmp/$n.err"
		else
			echo "clean: $*"
		fi
	} >"$tmp/$n.verdict"
}

# vg WANT CMD...: start a run (at most one per CPU at a time).
vg() {
	local want=$1
	shift
	runs=$((runs + 1))
	[ ${#jobs[@]} -ge "$cpus" ] && barrier
	one "$runs" "$want" "${preload:-}" "$@" &
	jobs+=("$runs")
}

# barrier: wait for the runs started so far and report them in order.
barrier() {
	local n
	wait
	for n in "${jobs[@]}"; do
		cat "$tmp/$n.verdict"
		grep -q '^clean: ' "$tmp/$n.verdict" || bad=$((bad + 1))
	done
	jobs=()
}

# shimmed WANT CMD...: vg with the shim preloaded into the program (the
# LD_PRELOAD is valgrind's, which hands it to the program it runs).
shimmed() {
	preload=$CBSHIM_LIB vg "$@"
}

do_cbctl() {
	local d=127.0.0.1:9 bad_conf=$tmp/bad.conf
	printf 'defaults = { failure_threshold = 0; };\n' >"$bad_conf"
	vg 1 "$CBCTL" list			# no segment yet
	barrier
	vg 0 "$CBCTL" trip "$d"
	barrier
	vg 0 "$CBCTL" trip 127.0.0.1:10 --hold
	vg 0 "$CBCTL" trip '[::1]:11' --for 5s
	vg 0 "$CBCTL" trip localhost:12
	barrier
	vg 0 "$CBCTL" list
	vg 0 "$CBCTL" list --json
	vg 0 "$CBCTL" show "$d"
	vg 0 "$CBCTL" show "$d" --json
	vg 0 "$CBCTL" show localhost:12 --json
	vg 1 "$CBCTL" show 127.0.0.1:13
	vg 2 "$CBCTL" show 'no-port'
	vg 2 "$CBCTL" show $'\e[31m:1'
	vg 0 "$CBCTL" metrics
	vg 0 "$CBCTL" events
	vg 0 "$CBCTL" events --json
	vg 0 "$CBCTL" watch --count 2 --interval 0.01
	barrier
	vg 0 "$CBCTL" reset "$d"
	vg 0 "$CBCTL" reset --all
	vg 0 "$CBCTL" reload
	vg 0 "$CBCTL" check-config "$top/cb.conf.example"
	vg 1 "$CBCTL" check-config "$bad_conf"
	vg 1 "$CBCTL" check-config "$tmp/missing.conf"
	vg 0 "$CBCTL" --help
	vg 2 "$CBCTL" frobnicate
	vg 0 "$CBCTL" run -- true
	barrier
	vg 0 "$CBCTL" destroy
	barrier
	head -c 100000 /dev/urandom >"/dev/shm$CBSHIM_SHM"
	chmod 600 "/dev/shm$CBSHIM_SHM"
	vg 1 "$CBCTL" list			# garbage segment
	vg 1 "$CBCTL" trip "$d"
	barrier
	vg 0 "$CBCTL" destroy
	barrier
}

do_client() {
	local ok=$1 no=$2 m
	for m in block sockerr send recv abandon again fastopen udp; do
		shimmed 0 "$HELPERS/cbclient" -m "$m" -t 50 -n 2 127.0.0.1 "$ok"
	done
	# to where nothing listens: failures, then the open breaker's
	# rejections
	shimmed 0 "$HELPERS/cbclient" -m sockerr -n 7 127.0.0.1 "$no"
	shimmed 0 "$HELPERS/cbclient" -n 3 ::1 "$no"
	shimmed 0 "$HELPERS/procs" threads "$ok" 2 2 5
	shimmed 0 "$HELPERS/procs" fork "$ok" 3
	shimmed 0 "$HELPERS/resources" -M -B -f 900 -m sockerr -n 2 127.0.0.1 \
		"$ok"
	mapped=$runs
	shimmed 0 "$HELPERS/resources" -a 50 127.1.0.1 "$no"
	shimmed 0 "$HELPERS/sigconnect" -n 300 -i 2000 "$ok" "$no"
	barrier
	# the shim was in the program valgrind checked, not only around it
	if ! grep -q '^shim=yes$' "$tmp/$mapped.out"; then
		echo "the shim was not loaded into the program under valgrind"
		bad=$((bad + 1))
	fi
	rm -f "/dev/shm$CBSHIM_SHM"
	head -c 100000 /dev/urandom >"/dev/shm$CBSHIM_SHM"
	chmod 600 "/dev/shm$CBSHIM_SHM"
	shimmed 0 "$HELPERS/cbclient" -n 2 127.0.0.1 "$ok"	# passes through
	barrier
	rm -f "/dev/shm$CBSHIM_SHM"
}

case ${1:-} in
cbctl) do_cbctl ;;
client)
	[ $# -eq 3 ] || { echo "usage: valgrind.sh client OKPORT BADPORT" >&2
			  exit 2; }
	do_client "$2" "$3" ;;
*) echo "usage: valgrind.sh cbctl | client OKPORT BADPORT" >&2; exit 2 ;;
esac
echo "valgrind: $runs runs, $bad with errors"
[ "$bad" -eq 0 ]
