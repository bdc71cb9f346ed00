# common.bash - shared set-up for the bats suite.
#
# Every test gets its own segment name (CBSHIM_SHM), removed in teardown,
# and helpers to pick a free loopback port and run servers that are killed
# when the test ends.  Paths come from tests/check.sh (CBSHIM_LIB, CBCTL,
# HELPERS), defaulting to the build tree.  The checkout may be anywhere
# (/root is mode 0700): a test that runs something as another user stages
# it first (stage_for_others).

load /usr/lib/bats/bats-support/load.bash
load /usr/lib/bats/bats-assert/load.bash

# one locale whatever the caller's (a bare Debian 12 sets none): messages in
# English, UTF-8 for cbctl's sparklines and the patterns that match them
export LC_ALL=C.UTF-8

TOP=${TOP:-$(cd "$BATS_TEST_DIRNAME/.." && pwd)}
CBSHIM_LIB=${CBSHIM_LIB:-$TOP/build/libcbshim.so}
CBCTL=${CBCTL:-$TOP/build/cbctl}
HELPERS=${HELPERS:-$TOP/build/tests/helpers}
PY=/usr/bin/python3

cb_setup() {
	export CBSHIM_SHM="/cbtest-$$-${BATS_TEST_NUMBER:-0}-$RANDOM"
	# built-in defaults (an empty file), whatever /etc/cbshim holds
	: >"$BATS_TEST_TMPDIR/empty.conf"
	export CBSHIM_CONFIG="$BATS_TEST_TMPDIR/empty.conf"
	CB_PIDS=()
	CB_STAGE=
}

cb_teardown() {
	local p
	for p in "${CB_PIDS[@]:-}"; do
		[ -n "$p" ] && kill "$p" 2>/dev/null
	done
	for p in "${CB_PIDS[@]:-}"; do
		[ -n "$p" ] && wait "$p" 2>/dev/null
	done
	rm -f "/dev/shm${CBSHIM_SHM}"
	[ -n "${CB_STAGE:-}" ] && rm -rf "$CB_STAGE"
	return 0
}

setup() { cb_setup; }
teardown() { cb_teardown; }

# free_port: print a TCP port on 127.0.0.1 that nothing listens on now.
free_port() {
	$PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# stage_for_others: copy cbctl, the library and the helpers into a new
# directory under /tmp that every user can reach, and point CBCTL,
# CBSHIM_LIB and HELPERS at the copies for the rest of the test (the
# checkout itself may be unreachable, e.g. in /root).  Removed in teardown.
stage_for_others() {
	CB_STAGE=$(mktemp -d /tmp/cbstage.XXXXXX) || return 1
	mkdir "$CB_STAGE/helpers" &&
		cp "$CBCTL" "$CB_STAGE/cbctl" &&
		cp "$CBSHIM_LIB" "$CB_STAGE/libcbshim.so" &&
		cp "$HELPERS"/* "$CB_STAGE/helpers/" &&
		chmod -R a+rX "$CB_STAGE" || return 1
	CBCTL=$CB_STAGE/cbctl
	CBSHIM_LIB=$CB_STAGE/libcbshim.so
	HELPERS=$CB_STAGE/helpers
}

# need_private_mounts: skip the test unless a private mount namespace can
# be made here.  unshare -m first makes every mount private, which fails
# where / is not a mount point (a chroot, some containers); a mount made
# without that could reach the host, so the test cannot run safely.
need_private_mounts() {
	local err
	err=$(unshare -m true 2>&1) ||
		skip "cannot make a private mount namespace here (${err:-unshare -m failed})"
}

# shimmed CMD...: run CMD with the shim preloaded.
shimmed() {
	LD_PRELOAD="$CBSHIM_LIB" "$@"
}

# bg CMD...: start CMD in the background; killed in teardown.
bg() {
	"$@" 3>&- &
	CB_PIDS+=($!)
}

# within_10s WHAT CMD...: CMD succeeds within 10 s (tried every 50 ms);
# else says WHAT and fails.
within_10s() {
	local what=$1 i
	shift
	for i in $(seq 1 200); do
		"$@" && return 0
		sleep 0.05
	done
	echo "$what" >&2
	return 1
}

has_lines() { [ "$(wc -l <"$1")" -ge "$2" ]; }
says() { [ "$(cat "$1" 2>/dev/null)" = "$2" ]; }

# lines_reach FILE N: FILE (a follower's output) has N lines or more
# within 10 s; says what it has otherwise.
lines_reach() {
	within_10s "lines_reach: $1 has $(wc -l <"$1") lines, expected $2" \
		has_lines "$1" "$2"
}

# accepted FILE N: a tcpserver.py "accept" server's count in FILE reaches N
# (within 10 s: it counts after accept(), which may run after the client's
# connect has returned); says what it found otherwise.
accepted() {
	within_10s "accepted: $1 says '$(cat "$1" 2>/dev/null)', expected $2" \
		says "$1" "$2"
}

# follow_events: start `cbctl events --follow --json` in the background,
# its output in $out and its errors in $err, its pid in $pid (killed in
# teardown).
follow_events() {
	out=$BATS_TEST_TMPDIR/follow err=$BATS_TEST_TMPDIR/err
	"$CBCTL" events --follow --json >"$out" 2>"$err" &
	pid=$!
	CB_PIDS+=("$pid")
}

# wait_port PORT [HOST]: wait (up to 10 s) until something listens there.
wait_port() {
	local i
	for i in $(seq 1 200); do
		$PY - "$1" "${2:-127.0.0.1}" <<'PYEOF' && return 0
import socket, sys
s = socket.socket(socket.AF_INET6 if ":" in sys.argv[2] else socket.AF_INET)
try:
    s.connect((sys.argv[2], int(sys.argv[1]))); sys.exit(0)
except OSError:
    sys.exit(1)
PYEOF
		sleep 0.05
	done
	return 1
}

# http_server PORT: a Python HTTP server on 127.0.0.1:PORT (background).
http_server() {
	bg $PY -m http.server --bind 127.0.0.1 "$1" --directory "$BATS_TEST_TMPDIR"
	wait_port "$1"
}

# state DEST: the state cbctl shows for DEST.
state() {
	"$CBCTL" show "$1" --json | $PY -c 'import json,sys; print(json.load(sys.stdin)["state"])'
}

# field DEST NAME: one field of cbctl show --json.
field() {
	"$CBCTL" show "$1" --json | $PY -c 'import json,sys; print(json.load(sys.stdin)[sys.argv[1]])' "$2"
}

SRV=$TOP/tests/helpers/tcpserver.py

# conf TEXT: use TEXT as this test's cb.conf.
conf() {
	printf '%s\n' "$1" >"$BATS_TEST_TMPDIR/cb.conf"
	export CBSHIM_CONFIG="$BATS_TEST_TMPDIR/cb.conf"
}

# server MODE PORT [COUNTFILE] [HOST]: start tests/helpers/tcpserver.py,
# wait until it says it is ready (its output goes to a file: a FIFO opened
# here would block until the server opened it).
server() {
	local out=$BATS_TEST_TMPDIR/ready.$RANDOM i
	bg $PY "$SRV" "$@" >"$out"
	for i in $(seq 200); do
		grep -q ready "$out" 2>/dev/null && return 0
		sleep 0.05
	done
	return 1
}

# client ARGS...: tests/helpers/cbclient under the shim.
client() {
	shimmed "$HELPERS/cbclient" "$@"
}
