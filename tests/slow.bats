#!/usr/bin/env bats
# slow.bats - slow and silent failures: connects to a black hole bounded
# by connect_timeout, attempts abandoned by siglongjmp or pthread_cancel,
# and rejections of non-blocking connects that look like the kernel's
# refusal.
#
# The black hole is a listener on loopback whose accept queue is full
# (tcpserver.py full): the kernel drops further SYNs, so a connect there
# waits for the SYN retries (about 130 s) unless something bounds it.

load common

# fields DEST NAME...: those fields of cbctl show --json, on one line.
fields() {
	local d=$1
	shift
	"$CBCTL" show "$d" --json | $PY -c '
import json, sys
d = json.load(sys.stdin)
print(" ".join(str(d[k]) for k in sys.argv[1:]))' "$@"
}

# blocking_connect PORT: a blocking python3 client with no timeout of its
# own; prints "connected" or the errno name and the seconds it took.
blocking_connect() {
	$PY - "$1" <<'PYEOF'
import errno, socket, sys, time
t = time.monotonic()
try:
    socket.create_connection(("127.0.0.1", int(sys.argv[1])))
    print("connected", end=" ")
except OSError as e:
    print(errno.errorcode[e.errno], end=" ")
print(round(time.monotonic() - t, 2))
PYEOF
}

@test "blackhole_blocking_without_connect_timeout_hangs: nothing bounds it (the case connect_timeout is for)" {
	port=$(free_port)
	server full "$port"
	run timeout 3 env LD_PRELOAD="$CBSHIM_LIB" $PY -c '
import socket, sys
socket.create_connection(("127.0.0.1", int(sys.argv[1])))' "$port"
	[ "$status" = 124 ]		# still blocked in connect when killed
}

@test "blackhole_blocking_with_connect_timeout: ETIMEDOUT in about 1 s, a failure; the breaker opens after failure_threshold" {
	conf 'defaults = { connect_timeout = "500ms"; failure_threshold = 2; };'
	port=$(free_port)
	server full "$port"
	for i in 1 2; do
		run shimmed bash -c "$(declare -f blocking_connect); PY=$PY blocking_connect $port"
		assert_output --regexp '^ETIMEDOUT [0-9.]+$'
		# the kernel's first check is at the initial RTO (1 s): well
		# under the 130 s of SYN retries, whatever the load
		$PY -c 'import sys; sys.exit(0 if float(sys.argv[1]) < 20 else 1)' "${output#* }"
	done
	read -r st fail last < <(fields "127.0.0.1:$port" state failed_calls last_errno)
	[ "$st" = open ] && [ "$fail" = 2 ] && [ "$last" = ETIMEDOUT ]
	# open: the next one is rejected at once
	run shimmed bash -c "$(declare -f blocking_connect); PY=$PY blocking_connect $port"
	assert_output --regexp '^ECONNREFUSED '
}

@test "blackhole_nonblocking_with_connect_timeout: SO_ERROR reports ETIMEDOUT, as the kernel does" {
	conf 'defaults = { connect_timeout = "300ms"; };'
	port=$(free_port)
	server full "$port"
	run shimmed $PY - "$port" <<'PYEOF'
import errno, select, socket, sys
s = socket.socket(); s.setblocking(False)
try:
    s.connect(("127.0.0.1", int(sys.argv[1])))
except BlockingIOError:
    pass
_, w, _ = select.select([], [s], [], 60)
e = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
print("writable" if w else "timeout", errno.errorcode.get(e, e))
PYEOF
	assert_output "writable ETIMEDOUT"
	read -r fail last < <(fields "127.0.0.1:$port" failed_calls last_errno)
	[ "$fail" = 1 ] && [ "$last" = ETIMEDOUT ]
}

@test "curl_without_connect_timeout_option: bounded by connect_timeout, counted as failures" {
	conf 'defaults = { connect_timeout = "500ms"; failure_threshold = 2; };'
	port=$(free_port)
	server full "$port"
	for i in 1 2; do
		run timeout 60 env LD_PRELOAD="$CBSHIM_LIB" curl -s "http://127.0.0.1:$port/"
		[ "$status" -ne 0 ] && [ "$status" -ne 124 ]
	done
	read -r st fail last < <(fields "127.0.0.1:$port" state failed_calls last_errno)
	[ "$st" = open ] && [ "$fail" = 2 ] && [ "$last" = ETIMEDOUT ]
}

@test "connect_timeout_gives_back_the_programs_own_user_timeout: 0, a longer and a shorter own value after connect" {
	conf 'defaults = { connect_timeout = "700ms"; };'
	port=$(free_port)
	server accept "$port"
	run shimmed $PY - "$port" <<'PYEOF'
import socket, sys
TCP_USER_TIMEOUT = 18
out = []
for own in (None, 5000, 200):
    s = socket.socket()
    if own is not None:
        s.setsockopt(socket.IPPROTO_TCP, TCP_USER_TIMEOUT, own)
    s.connect(("127.0.0.1", int(sys.argv[1])))
    out.append(str(s.getsockopt(socket.IPPROTO_TCP, TCP_USER_TIMEOUT)))
    s.close()
print(" ".join(out))
PYEOF
	assert_output "0 5000 200"
	[ "$(field "127.0.0.1:$port" successful_calls)" = 3 ]
}

@test "siglongjmp_out_of_connect_then_close_is_a_failure: the alarm() timeout of legacy programs counts" {
	conf 'defaults = { failure_threshold = 3; };'
	port=$(free_port)
	server full "$port"
	run shimmed "$HELPERS/abandon" longjmp 3 "$port"
	assert_success
	assert_output "0 abandoned
1 abandoned
2 abandoned"
	read -r st total fail last < <(fields "127.0.0.1:$port" state total_calls failed_calls last_errno)
	[ "$st" = open ] && [ "$total" = 3 ] && [ "$fail" = 3 ] && [ "$last" = ETIMEDOUT ]
}

@test "pthread_cancel_of_a_blocked_connect_is_a_failure: and a half-open probe so abandoned frees its place" {
	conf 'defaults = { failure_threshold = 2; open_timeout = "300ms"; half_open_max_calls = 1; };'
	port=$(free_port)
	server full "$port"
	run shimmed "$HELPERS/abandon" cancel 2 "$port"
	assert_success
	assert_output "0 abandoned
1 abandoned"
	read -r st fail < <(fields "127.0.0.1:$port" state failed_calls)
	[ "$st" = open ] && [ "$fail" = 2 ]
	sleep 0.5			# half-open now: one probe place
	run shimmed "$HELPERS/abandon" cancel 1 "$port"
	assert_output "0 abandoned"
	read -r st fail infl < <(fields "127.0.0.1:$port" state failed_calls half_open_in_flight)
	# the probe failed (reopened), its place is not held
	[ "$st" = open ] && [ "$fail" = 3 ] && [ "$infl" = 0 ]
}

# refusal_view PORT: what an event-loop program sees of a non-blocking
# connect to 127.0.0.1:PORT, one field a line.
refusal_view() {
	$PY - "$1" <<'PYEOF'
import errno, select, socket, sys
port = int(sys.argv[1])
def name(e):
    return errno.errorcode.get(e, str(e))
def attempt():
    s = socket.socket(); s.setblocking(False)
    try:
        s.connect(("127.0.0.1", port)); r = "0"
    except OSError as e:
        r = name(e.errno)
    return s, r
s, r = attempt()
print("connect", r)
p = select.poll(); p.register(s, select.POLLOUT)
ev = p.poll(5000)
print("poll_writable", bool(ev and ev[0][1] & select.POLLOUT))
print("poll_hup", bool(ev and ev[0][1] & select.POLLHUP))
ep = select.epoll(); ep.register(s, select.EPOLLOUT)
print("epoll_writable", bool(ep.poll(5)))
print("select_writable", bool(select.select([], [s], [], 5)[1]))
print("so_error", name(s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)))
print("so_error_again", name(s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)))
try:
    s.getpeername(); print("getpeername ok")
except OSError as e:
    print("getpeername", name(e.errno))
s.close()
for first in ("recv", "send", "connect"):
    s, r = attempt()
    select.select([], [s], [], 5)
    try:
        if first == "recv": s.recv(10)
        elif first == "send": s.send(b"x", socket.MSG_NOSIGNAL)
        else: s.connect(("127.0.0.1", port))
        print("first", first, "ok")
    except OSError as e:
        print("first", first, name(e.errno))
    try:
        s.send(b"x", socket.MSG_NOSIGNAL); print("then send ok")
    except OSError as e:
        print("then send", name(e.errno))
    s.close()
PYEOF
}

@test "nonblocking_rejection_looks_like_the_kernels_refusal: field by field, and no packet toward the destination" {
	port=$(free_port)
	# the kernel's own refusal: nothing listens there
	run refusal_view "$port"
	assert_success
	kernel=$output
	# the shim's: a listener that would accept, behind a held breaker
	server accept "$port" "$BATS_TEST_TMPDIR/count"
	"$CBCTL" trip --hold "127.0.0.1:$port" >/dev/null
	run shimmed bash -c "$(declare -f refusal_view); PY=$PY refusal_view $port"
	assert_success
	assert_equal "$output" "$kernel"
	assert_line "connect EINPROGRESS"
	assert_line "so_error ECONNREFUSED"
	assert_line "first recv ECONNREFUSED"
	# 4 rejected connects (the second connect of the last one reports
	# the refusal, as the kernel does, and is not a new attempt)
	read -r rej total < <(fields "127.0.0.1:$port" rejected_calls total_calls)
	[ "$rej" = 4 ] && [ "$total" = 4 ]
	[ "$(cat "$BATS_TEST_TMPDIR/count" 2>/dev/null || echo 0)" = 0 ]
}

@test "blocking_rejection_keeps_the_immediate_error: ECONNREFUSED from connect itself" {
	port=$(free_port)
	"$CBCTL" trip --hold "127.0.0.1:$port" >/dev/null
	run shimmed bash -c "$(declare -f blocking_connect); PY=$PY blocking_connect $port"
	assert_output --regexp '^ECONNREFUSED '
}

@test "nonblocking_set_by_fcntl_and_ioctl_is_followed: the rejection answers EINPROGRESS either way" {
	port=$(free_port)
	"$CBCTL" trip --hold "127.0.0.1:$port" >/dev/null
	run shimmed $PY - "$port" <<'PYEOF'
import errno, fcntl, os, socket, struct, sys, termios
port = int(sys.argv[1]); out = []
def go(s):
    try:
        s.connect(("127.0.0.1", port)); out.append("0")
    except OSError as e:
        out.append(errno.errorcode[e.errno])
s = socket.socket()
fl = fcntl.fcntl(s, fcntl.F_GETFL); fcntl.fcntl(s, fcntl.F_SETFL, fl | os.O_NONBLOCK)
go(s)
s = socket.socket()
fcntl.ioctl(s, termios.FIONBIO, struct.pack("i", 1))
go(s)
# and back to blocking: the immediate refusal again
fcntl.ioctl(s, termios.FIONBIO, struct.pack("i", 0))
s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
go(s)
print(" ".join(out))
PYEOF
	assert_output "EINPROGRESS EINPROGRESS ECONNREFUSED"
}

@test "wrk_reconnects_after_trip_hold_and_reset: non-blocking rejections are not fatal to an event loop" {
	port=$(free_port)
	http_server "$port"
	d="127.0.0.1:$port"
	bg env LD_PRELOAD="$CBSHIM_LIB" wrk -t1 -c4 -d8s "http://$d/"
	sleep 2
	"$CBCTL" trip --hold "$d" >/dev/null
	sleep 2
	# while held, every reconnect is rejected; wrk keeps trying
	[ "$(field "$d" rejected_calls)" -gt 0 ]
	before=$(field "$d" successful_calls)
	"$CBCTL" reset "$d" >/dev/null
	sleep 2
	# after the reset wrk's connections came back
	[ "$(field "$d" successful_calls)" -gt "$before" ]
}
