#!/usr/bin/env bats
# shim.bats - libcbshim.so protecting real programs, one behaviour a test.
# Servers and clients talk over loopback only (or inside a network
# namespace the test makes itself).

load common





# count FILE: connections a tcpserver.py "accept" server has seen.
count() {
	cat "$1"
}

@test "threshold_opens: five refused connects open the breaker, the sixth is rejected" {
	port=$(free_port)
	run client -n 6 127.0.0.1 "$port"
	assert_success
	assert_line --index 4 --regexp '^4 ECONNREFUSED '
	assert_line --index 5 --regexp '^5 ECONNREFUSED '
	[ "$(state 127.0.0.1:$port)" = open ]
	[ "$(field 127.0.0.1:$port failed_calls)" = 5 ]
	[ "$(field 127.0.0.1:$port rejected_calls)" = 1 ]
	[ "$(field 127.0.0.1:$port total_calls)" = 6 ]
	[ "$(field 127.0.0.1:$port last_errno)" = ECONNREFUSED ]
}

@test "success_resets_consecutive_failures: four failures, a success, four failures stay closed" {
	port=$(free_port)
	run client -n 4 127.0.0.1 "$port"
	server accept "$port"
	run client -n 1 127.0.0.1 "$port"
	assert_line --regexp '^0 ok '
	[ "$(field 127.0.0.1:$port consecutive_failures)" = 0 ]
	kill "${CB_PIDS[-1]}"; wait "${CB_PIDS[-1]}" 2>/dev/null || true
	run client -n 4 127.0.0.1 "$port"
	[ "$(state 127.0.0.1:$port)" = closed ]
	[ "$(field 127.0.0.1:$port consecutive_failures)" = 4 ]
}

@test "rejection_puts_nothing_on_the_wire: an open breaker's connect never reaches the listener" {
	port=$(free_port)
	server accept "$port" "$BATS_TEST_TMPDIR/n"
	run "$CBCTL" trip "127.0.0.1:$port"
	assert_success
	run client -n 20 127.0.0.1 "$port"
	assert_success
	refute_output --partial ' ok '
	[ "$(count "$BATS_TEST_TMPDIR/n")" = 0 ]
	[ "$(field 127.0.0.1:$port rejected_calls)" = 20 ]
	# and no connect(2) system call is made at all
	run strace -f -e trace=connect -o "$BATS_TEST_TMPDIR/st" \
		env LD_PRELOAD="$CBSHIM_LIB" "$HELPERS/cbclient" -n 3 127.0.0.1 "$port"
	run grep -c "htons($port)" "$BATS_TEST_TMPDIR/st"
	assert_output 0
}

@test "half_open_after_timeout: after open_timeout the next attempt probes" {
	conf 'defaults = { open_timeout = "1s"; };'
	port=$(free_port)
	run client -n 5 127.0.0.1 "$port"
	[ "$(state 127.0.0.1:$port)" = open ]
	sleep 1.3
	[ "$(state 127.0.0.1:$port)" = half-open ]
	server accept "$port" "$BATS_TEST_TMPDIR/n"
	run client -n 1 127.0.0.1 "$port"
	assert_line --regexp '^0 ok '
	accepted "$BATS_TEST_TMPDIR/n" 1
	[ "$(state 127.0.0.1:$port)" = half-open ]
	[ "$(field 127.0.0.1:$port half_open_successes)" = 1 ]
}

@test "success_threshold_closes: three successful probes close the breaker" {
	conf 'defaults = { open_timeout = "200ms"; };'
	port=$(free_port)
	run client -n 5 127.0.0.1 "$port"
	server accept "$port"
	sleep 0.4
	run client -n 3 127.0.0.1 "$port"
	assert_success
	[ "${#lines[@]}" -eq 3 ]
	refute_output --partial ECONN
	[ "$(state 127.0.0.1:$port)" = closed ]
	[ "$(field 127.0.0.1:$port state_transitions)" = 3 ]
}

@test "failed_probe_reopens: a refused probe opens the breaker again with a fresh timer" {
	conf 'defaults = { open_timeout = "1s"; };'
	port=$(free_port)
	run client -n 5 127.0.0.1 "$port"
	sleep 1.3
	run client -n 2 127.0.0.1 "$port"
	left=$(field 127.0.0.1:$port open_remaining_ms)
	[ "$left" -gt 300 ]
	[ "$(state 127.0.0.1:$port)" = open ]
	[ "$(field 127.0.0.1:$port failed_calls)" = 6 ]
	[ "$(field 127.0.0.1:$port rejected_calls)" = 1 ]
	[ "$(field 127.0.0.1:$port state_transitions)" = 3 ]
}

@test "probe_limit: half_open_max_calls probes in flight, the next is rejected" {
	conf 'defaults = { open_timeout = "200ms"; half_open_max_calls = 2; };'
	port=$(free_port)
	run client -n 5 127.0.0.1 "$port"
	server full "$port"
	sleep 0.3
	# three non-blocking connects in flight at once from one process
	run shimmed $PY - "$port" <<'PYEOF'
import socket, sys, errno
port = int(sys.argv[1]); out = []; keep = []
for i in range(3):
    s = socket.socket(); s.setblocking(False); keep.append(s)
    try:
        s.connect(("127.0.0.1", port)); out.append("ok")
    except OSError as e:
        out.append(errno.errorcode[e.errno])
    # a rejected non-blocking connect reports its refusal as the kernel
    # does for a refused one: SO_ERROR, once
    e = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
    out[-1] += "/" + (errno.errorcode[e] if e else "0")
print(" ".join(out))
PYEOF
	assert_output "EINPROGRESS/0 EINPROGRESS/0 EINPROGRESS/ECONNREFUSED"
}

@test "lost_probe_frees_its_place: a probe abandoned by a killed process does not wedge half-open" {
	conf 'defaults = { open_timeout = "1s"; half_open_max_calls = 1; };'
	port=$(free_port)
	run client -n 5 127.0.0.1 "$port"
	server full "$port"
	sleep 1.3
	shimmed $PY -c "
import socket, os, signal
s = socket.socket(); s.setblocking(False)
try: s.connect(('127.0.0.1', $port))
except BlockingIOError: pass
os.kill(os.getpid(), signal.SIGKILL)" || true
	[ "$(field 127.0.0.1:$port half_open_in_flight)" = 1 ]
	run client -n 1 -t 100 -m sockerr 127.0.0.1 "$port"
	assert_line --regexp '^0 ECONNREFUSED '
	[ "$(field 127.0.0.1:$port rejected_calls)" = 1 ]
	sleep 1.3
	run client -n 1 -t 100 -m abandon 127.0.0.1 "$port"
	assert_line --regexp '^0 ETIMEDOUT '
	[ "$(field 127.0.0.1:$port failed_calls)" = 6 ]
}

@test "nonblocking_sockerr: SO_ERROR reports the failures and the successes" {
	port=$(free_port)
	run client -m sockerr -n 5 127.0.0.1 "$port"
	[ "$(state 127.0.0.1:$port)" = open ]
	[ "$(field 127.0.0.1:$port failed_calls)" = 5 ]
	port2=$(free_port)
	server accept "$port2"
	run client -m sockerr -n 3 127.0.0.1 "$port2"
	refute_output --partial ECONN
	[ "$(field 127.0.0.1:$port2 successful_calls)" = 3 ]
}

@test "nonblocking_first_io: the first send or recv settles a pending connect" {
	port=$(free_port)
	run client -m send -n 2 127.0.0.1 "$port"
	run client -m recv -n 3 127.0.0.1 "$port"
	[ "$(field 127.0.0.1:$port failed_calls)" = 5 ]
	[ "$(state 127.0.0.1:$port)" = open ]
	port2=$(free_port)
	server echo "$port2"
	run client -m send -n 2 127.0.0.1 "$port2"
	run client -m recv -n 2 127.0.0.1 "$port2"
	[ "$(field 127.0.0.1:$port2 successful_calls)" = 4 ]
	[ "$(field 127.0.0.1:$port2 failed_calls)" = 0 ]
}

@test "reconnect_is_not_a_new_attempt: connect() again on a pending fd settles it (EISCONN)" {
	port=$(free_port)
	server accept "$port"
	run client -m again -n 2 127.0.0.1 "$port"
	refute_output --partial ECONN
	[ "$(field 127.0.0.1:$port total_calls)" = 2 ]
	[ "$(field 127.0.0.1:$port successful_calls)" = 2 ]
}

@test "abandoned_connect_is_a_failure: closing a connect still in progress counts" {
	port=$(free_port)
	server full "$port"
	run client -m abandon -t 50 -n 2 127.0.0.1 "$port"
	[ "$(field 127.0.0.1:$port failed_calls)" = 2 ]
	[ "$(field 127.0.0.1:$port last_errno)" = ETIMEDOUT ]
	[ "$(field 127.0.0.1:$port successful_calls)" = 0 ]
}

@test "closed_connected_is_a_success: a pending connect found connected at close() counts as one" {
	port=$(free_port)
	server accept "$port"
	run client -m close -n 3 127.0.0.1 "$port"
	[ "$(field 127.0.0.1:$port successful_calls)" = 3 ]
	[ "$(field 127.0.0.1:$port failed_calls)" = 0 ]
}

@test "close_range_and_dup2_end_a_pending_connect: the abandoned attempt is a failure" {
	port=$(free_port)
	server full "$port"
	run client -m closerange -t 50 -n 2 127.0.0.1 "$port"
	[ "$(field 127.0.0.1:$port failed_calls)" = 2 ]
	run client -m dup2over -t 50 -n 2 127.0.0.1 "$port"
	assert_line --index 0 --regexp '^0 ETIMEDOUT '
	[ "$(field 127.0.0.1:$port failed_calls)" = 4 ]
	[ "$(field 127.0.0.1:$port last_errno)" = ETIMEDOUT ]
	[ "$(field 127.0.0.1:$port successful_calls)" = 0 ]
}

@test "connect_af_unspec_abandons_without_counting: dissolving a pending connect is neither success nor failure" {
	port=$(free_port)
	server full "$port"
	run shimmed "$HELPERS/edges" unspec "$port"
	assert_output "unspec: 0"
	[ "$(field 127.0.0.1:$port total_calls)" = 1 ]
	[ "$(field 127.0.0.1:$port successful_calls)" = 0 ]
	[ "$(field 127.0.0.1:$port failed_calls)" = 0 ]
}

@test "zero_length_read_proves_nothing: a pending connect read for 0 bytes and closed is abandoned" {
	port=$(free_port)
	server full "$port"
	run shimmed "$HELPERS/edges" zeroread "$port"
	assert_output "zeroread: 0"
	[ "$(field 127.0.0.1:$port successful_calls)" = 0 ]
	[ "$(field 127.0.0.1:$port failed_calls)" = 1 ]
	[ "$(field 127.0.0.1:$port last_errno)" = ETIMEDOUT ]
}

@test "bad_address_gets_the_kernels_answer: a bad pointer with length 0 is EINVAL, not a crash" {
	run "$HELPERS/edges" badaddr
	want=$output
	run shimmed "$HELPERS/edges" badaddr
	assert_success
	assert_output "$want"
	assert_output --partial "Invalid argument"
}

@test "short_sockaddr_in6_is_governed: the 24-byte RFC 2133 form meets the same breaker" {
	port=$(free_port)
	run "$CBCTL" trip "[::1]:$port"
	run shimmed "$HELPERS/edges" short6 "$port"
	assert_output "short6: -1 Connection refused"
	[ "$(field "[::1]:$port" rejected_calls)" = 1 ]
}

@test "fortified_read_settles_a_pending_connect: __read_chk is followed like read" {
	port=$(free_port)
	server reset "$port"
	run shimmed "$HELPERS/edges" fortified "$port" 32
	assert_output "fortified: -1 Connection reset by peer"
	[ "$(field 127.0.0.1:$port failed_calls)" = 1 ]
	[ "$(field 127.0.0.1:$port last_errno)" = ECONNRESET ]
}

@test "reset_by_server_counts_one_send_failure: a connection reset while sending is a failure" {
	port=$(free_port)
	server reset "$port"
	run client -m hold -h 1500 -n 1 127.0.0.1 "$port"
	assert_line --regexp '^0 (EPIPE|ECONNRESET) '
	[ "$(field 127.0.0.1:$port successful_calls)" = 1 ]
	[ "$(field 127.0.0.1:$port failed_calls)" = 1 ]
	[ "$(field 127.0.0.1:$port consecutive_failures)" = 1 ]
}

@test "fastopen_is_a_connect: sendto(MSG_FASTOPEN) is governed" {
	port=$(free_port)
	run client -m fastopen -n 6 127.0.0.1 "$port"
	[ "$(state 127.0.0.1:$port)" = open ]
	[ "$(field 127.0.0.1:$port rejected_calls)" = 1 ]
}

@test "udp_and_unix_untouched: no breaker for datagram or Unix sockets" {
	port=$(free_port)
	run client -m udp -n 8 127.0.0.1 "$port"
	run "$CBCTL" show "127.0.0.1:$port" --json
	assert_failure 1
	run shimmed $PY -c "
import socket, errno
s = socket.socket(socket.AF_UNIX)
try: s.connect('$BATS_TEST_TMPDIR/nothing')
except OSError as e: print(errno.errorcode[e.errno])"
	assert_output ENOENT
}

@test "ipv6_destination_has_its_own_breaker" {
	port=$(free_port)
	run client -n 6 ::1 "$port"
	assert_line --index 5 --regexp '^5 ECONNREFUSED '
	[ "$(state "[::1]:$port")" = open ]
	[ "$(field "[::1]:$port" rejected_calls)" = 1 ]
	run "$CBCTL" show "127.0.0.1:$port" --json
	assert_failure 1
}

@test "v4_mapped_uses_the_ipv4_breaker" {
	port=$(free_port)
	run client -n 5 ::ffff:127.0.0.1 "$port"
	[ "$(state 127.0.0.1:$port)" = open ]
	run client -n 1 127.0.0.1 "$port"
	assert_line --regexp '^0 ECONNREFUSED '
	[ "$(field 127.0.0.1:$port rejected_calls)" = 1 ]
	[ "$(field 127.0.0.1:$port total_calls)" = 6 ]
}

@test "fork: parent and child share the breaker and both keep working" {
	port=$(free_port)
	server accept "$port"
	run shimmed $PY -c "
import os, socket
def hit(n):
    for _ in range(n):
        s = socket.create_connection(('127.0.0.1', $port)); s.close()
hit(3)
pid = os.fork()
if pid == 0:
    hit(10); os._exit(0)
hit(10)
os.waitpid(pid, 0)
print('done')"
	assert_output done
	[ "$(field 127.0.0.1:$port total_calls)" = 23 ]
	[ "$(field 127.0.0.1:$port successful_calls)" = 23 ]
}

@test "threads: counters are exact with many threads connecting at once" {
	port=$(free_port)
	server accept "$port"
	run shimmed $PY -c "
import socket, threading
def hit():
    for _ in range(50):
        s = socket.create_connection(('127.0.0.1', $port)); s.close()
ts = [threading.Thread(target=hit) for _ in range(8)]
[t.start() for t in ts]; [t.join() for t in ts]
print('done')"
	assert_output done
	[ "$(field 127.0.0.1:$port total_calls)" = 400 ]
	[ "$(field 127.0.0.1:$port successful_calls)" = 400 ]
	[ "$(field 127.0.0.1:$port failed_calls)" = 0 ]
}

@test "fd_reuse_never_misattributed: a pipe reusing a closed socket's fd is not blamed" {
	port=$(free_port)
	server echo "$port"
	port2=$(free_port)
	server reset "$port2"
	run shimmed "$HELPERS/fdreuse" 127.0.0.1 "$port" "$port2"
	assert_success
	assert_output --partial "EPIPE on reused fd"
	assert_output --regexp "(reset by peer|Broken pipe) on reused socket"
	[ "$(field 127.0.0.1:$port failed_calls)" = 0 ]
	[ "$(field 127.0.0.1:$port successful_calls)" = 1 ]
}

@test "real_errno_passes_through: ENETUNREACH in a namespace whose loopback is down" {
	# unshare -n, not ip netns: no name under /run/netns, no mount
	# namespace, nothing mounted on the host to clean up afterwards
	err=$(unshare -n true 2>&1) ||
		skip "cannot create a network namespace here ($err)"
	run unshare -n env LD_PRELOAD="$CBSHIM_LIB" "$HELPERS/cbclient" -n 6 127.0.0.1 80
	assert_line --index 0 --regexp '^0 ENETUNREACH '
	assert_line --index 4 --regexp '^4 ENETUNREACH '
	assert_line --index 5 --regexp '^5 ECONNREFUSED '
	[ "$(field 127.0.0.1:80 last_errno)" = ENETUNREACH ]
}

@test "caller_errors_are_not_failures: EISCONN on a connected socket counts nothing" {
	port=$(free_port)
	server echo "$port"
	run shimmed $PY -c "
import socket, errno
s = socket.create_connection(('127.0.0.1', $port))
for i in range(6):
    try: s.connect(('127.0.0.1', $port))
    except OSError as e: print(errno.errorcode[e.errno])
"
	assert_line --index 5 EISCONN
	[ "$(field 127.0.0.1:$port failed_calls)" = 0 ]
	[ "$(state 127.0.0.1:$port)" = closed ]
}

@test "bad_segment_passes_through_with_one_warning" {
	port=$(free_port)
	server accept "$port"
	head -c 4096 /dev/urandom >"/dev/shm$CBSHIM_SHM"
	chmod 600 "/dev/shm$CBSHIM_SHM"
	run client -n 3 127.0.0.1 "$port"
	assert_line --index 1 --regexp '^0 ok '
	assert_line --index 0 --regexp '^cbshim: segment .*'
	[ "$(grep -c '^cbshim:' <<<"$output")" = 1 ]
}

@test "two_copies_count_once: libcbshim.so preloaded twice (ld.so.preload and LD_PRELOAD, say) decides and counts each attempt once" {
	lib=${CBSHIM_LIB##* }		# the shim (after an ASan runtime)
	pre=${CBSHIM_LIB%"$lib"}
	mkdir "$BATS_TEST_TMPDIR/other"
	other=$BATS_TEST_TMPDIR/other/libcbshim.so
	cp "$lib" "$other"
	port=$(free_port)
	LD_PRELOAD="$pre$lib $other" "$HELPERS/cbclient" -n 3 127.0.0.1 "$port" >/dev/null || true
	[ "$(field "127.0.0.1:$port" total_calls)" = 3 ]
	[ "$(field "127.0.0.1:$port" failed_calls)" = 3 ]
	LD_PRELOAD="$pre$other $lib" "$HELPERS/cbclient" -n 2 127.0.0.1 "$port" >/dev/null || true
	[ "$(field "127.0.0.1:$port" total_calls)" = 5 ]
	# the open breaker rejects at once, whichever copy comes first
	LD_PRELOAD="$pre$lib $other" "$HELPERS/cbclient" -n 1 127.0.0.1 "$port" >/dev/null || true
	[ "$(field "127.0.0.1:$port" rejected_calls)" = 1 ]
	[ "$(field "127.0.0.1:$port" total_calls)" = 6 ]
}
