#!/usr/bin/env bats
# response.bats - response outcomes: with response_timeout a
# connection is judged by its first response byte; slow_call_duration
# turns late successes into failures.  Real clients (python3, curl,
# redis-cli) against loopback servers (tests/helpers/tcpserver.py) that
# accept and never answer, close before answering, answer late, speak
# first, or answer and then hold a long poll.

load common

# fields DEST NAME...: those fields of cbctl show --json, on one line.
fields() {
	local d=$1
	shift
	"$CBCTL" show "$d" --json | $PY -c '
import json, sys
d = json.load(sys.stdin)
print(" ".join(str(d[k]).replace(" ", "_") for k in sys.argv[1:]))' "$@"
}

# ask PORT [WAIT]: a blocking python3 client with no timeout of its own:
# connect, send a line, receive (then, with WAIT, receive once more after
# the first answer); prints what it got or the errno name, and the seconds.
ask() {
	$PY - "$@" <<'PYEOF'
import errno, socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
t = time.monotonic()
try:
    s.sendall(b"hi\n")
    got = s.recv(100)
    if len(sys.argv) > 2:
        got += s.recv(100)
    print(got.decode().strip().replace("\n", "+") or "EOF", end=" ")
except OSError as e:
    print(errno.errorcode[e.errno], end=" ")
print(round(time.monotonic() - t, 2))
PYEOF
}

# under SECONDS VALUE: VALUE < SECONDS (a generous bound, not a timing claim).
under() {
	$PY -c 'import sys; sys.exit(0 if float(sys.argv[2]) < float(sys.argv[1]) else 1)' "$@"
}

@test "hung_server_blocking_client: each receive fails with ETIMEDOUT after response_timeout; the breaker opens after 5" {
	conf 'defaults = { response_timeout = "500ms"; };'
	port=$(free_port)
	server hang "$port"
	start=$(date +%s.%N)
	for i in 1 2 3 4 5; do
		run shimmed bash -c "$(declare -f ask); PY=$PY ask $port"
		assert_output --regexp '^ETIMEDOUT [0-9.]+$'
		# bounded: without the shim this client waits forever
		under 20 "${output#* }"
		$PY -c 'import sys; sys.exit(0 if float(sys.argv[1]) >= 0.45 else 1)' "${output#* }"
	done
	read -r st fail last lerr < <(fields "127.0.0.1:$port" state failed_calls last_failure last_errno)
	[ "$st" = open ] && [ "$fail" = 5 ] && [ "$last" = no_response ] && [ "$lerr" = ETIMEDOUT ]
	run shimmed bash -c "$(declare -f ask); PY=$PY ask $port"
	assert_failure		# rejected at connect: ConnectionRefusedError
	assert_output --partial ConnectionRefused
}

@test "second_receive_waits_again: a later blocking receive is bounded the same way; the connection counts once" {
	conf 'defaults = { response_timeout = "400ms"; };'
	port=$(free_port)
	server hang "$port"
	run shimmed $PY -c '
import errno, socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(b"hi\n")
for i in range(2):
    t = time.monotonic()
    try:
        s.recv(10)
    except OSError as e:
        print(errno.errorcode[e.errno], round(time.monotonic() - t, 2))
s.sendall(b"still open\n")' "$port"
	assert_success			# the connection stayed open
	assert_line --index 0 --regexp '^ETIMEDOUT '
	assert_line --index 1 --regexp '^ETIMEDOUT '
	second=$(sed -n 2p <<<"$output"); second=${second#* }
	$PY -c 'import sys; sys.exit(0 if float(sys.argv[1]) >= 0.35 else 1)' "$second"
	read -r fail last < <(fields "127.0.0.1:$port" failed_calls last_failure)
	[ "$fail" = 1 ] && [ "$last" = no_response ]
}

@test "half_open_probe_holds_its_place_until_its_first_byte" {
	conf 'defaults = { response_timeout = "10s"; half_open_max_calls = 1; open_timeout = "10s"; };'
	port=$(free_port)
	server slow "$port"
	"$CBCTL" trip "127.0.0.1:$port" --for 100ms >/dev/null
	sleep 0.3			# half-open now (a lost probe would
					# free its place only after 10 s)
	bg shimmed bash -c "$(declare -f ask); PY=$PY ask $port > $BATS_TEST_TMPDIR/probe"
	for i in $(seq 100); do
		[ "$(field 127.0.0.1:$port half_open_in_flight)" = 1 ] && break
		sleep 0.05
	done
	# connected, awaiting its first byte: the one place is still taken
	sleep 0.3
	[ "$(field 127.0.0.1:$port half_open_in_flight)" = 1 ]
	run shimmed bash -c "$(declare -f ask); PY=$PY ask $port"
	assert_failure
	assert_output --partial ConnectionRefused
	for i in $(seq 100); do
		[ -s "$BATS_TEST_TMPDIR/probe" ] && break
		sleep 0.05
	done
	grep -q '^late ' "$BATS_TEST_TMPDIR/probe"
	read -r infl ok < <(fields "127.0.0.1:$port" half_open_in_flight half_open_successes)
	[ "$infl" = 0 ] && [ "$ok" = 1 ]
}

@test "hung_server_without_response_timeout: the same client hangs and the breaker counts a success" {
	port=$(free_port)
	server hang "$port"
	run timeout 2 env LD_PRELOAD="$CBSHIM_LIB" bash -c "$(declare -f ask); PY=$PY ask $port"
	[ "$status" = 124 ]
	read -r ok fail < <(fields "127.0.0.1:$port" successful_calls failed_calls)
	[ "$ok" = 1 ] && [ "$fail" = 0 ]
}

@test "hung_server_curl_max_time: curl's own timeout closes the connection unanswered: no response, a failure; opens after 5" {
	conf 'defaults = { response_timeout = "300ms"; };'
	port=$(free_port)
	server hang "$port"
	for i in 1 2 3 4 5; do
		run shimmed curl -sS --max-time 1 "http://127.0.0.1:$port/"
		[ "$status" = 28 ]		# curl: operation timed out
	done
	read -r st fail last < <(fields "127.0.0.1:$port" state failed_calls last_failure)
	[ "$st" = open ] && [ "$fail" = 5 ] && [ "$last" = no_response ]
	run shimmed curl -sS --max-time 1 "http://127.0.0.1:$port/"
	[ "$status" = 7 ]			# rejected: could not connect
}

@test "hung_server_redis_cli: redis-cli gets an error after response_timeout instead of hanging" {
	command -v redis-cli || skip "redis-cli not installed (tests/deps.sh lists redis-tools)"
	conf 'defaults = { response_timeout = "500ms"; failure_threshold = 2; };'
	port=$(free_port)
	server hang "$port"
	for i in 1 2; do
		run timeout 20 env LD_PRELOAD="$CBSHIM_LIB" redis-cli -h 127.0.0.1 -p "$port" PING
		[ "$status" != 124 ]
		refute_output --partial PONG
	done
	read -r st fail last < <(fields "127.0.0.1:$port" state failed_calls last_failure)
	[ "$st" = open ] && [ "$fail" = 2 ] && [ "$last" = no_response ]
}

@test "eof_before_first_byte: the peer closes unanswered: a failure, last_failure eof" {
	conf 'defaults = { response_timeout = "5s"; };'
	port=$(free_port)
	server eof "$port"
	run shimmed bash -c "$(declare -f ask); PY=$PY ask $port"
	assert_output --regexp '^EOF '
	read -r ok fail last < <(fields "127.0.0.1:$port" successful_calls failed_calls last_failure)
	[ "$ok" = 0 ] && [ "$fail" = 1 ] && [ "$last" = eof ]
}

@test "server_speaks_first: the greeting is the first byte, a success; nothing delayed" {
	conf 'defaults = { response_timeout = "300ms"; };'
	port=$(free_port)
	server greet "$port"
	run shimmed $PY -c '
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
print(s.recv(100).decode().strip())
time.sleep(1)            # idle after the first byte: never judged
s.sendall(b"x\n"); print(s.recv(100).decode().strip())' "$port"
	assert_output $'hello\nx'
	read -r ok fail < <(fields "127.0.0.1:$port" successful_calls failed_calls)
	[ "$ok" = 1 ] && [ "$fail" = 0 ]
}

@test "long_poll_after_first_byte: a wait after the first byte longer than response_timeout is untouched" {
	conf 'defaults = { response_timeout = "500ms"; };'
	port=$(free_port)
	server longpoll "$port"
	run shimmed bash -c "$(declare -f ask); PY=$PY ask $port wait"
	assert_output --regexp '^ok\+more '
	read -r ok fail < <(fields "127.0.0.1:$port" successful_calls failed_calls)
	[ "$ok" = 1 ] && [ "$fail" = 0 ]
}

@test "close_without_sending: neither a success nor a failure" {
	conf 'defaults = { response_timeout = "300ms"; };'
	port=$(free_port)
	server hang "$port"
	run shimmed $PY -c '
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1]))); time.sleep(0.5); s.close()' "$port"
	assert_success
	read -r tot ok fail < <(fields "127.0.0.1:$port" total_calls successful_calls failed_calls)
	[ "$tot" = 1 ] && [ "$ok" = 0 ] && [ "$fail" = 0 ]
}

@test "slow_answer: later than slow_call_duration: a failure, slow_calls, last_failure slow; metrics pass promtool" {
	conf 'defaults = { response_timeout = "10s"; slow_call_duration = "500ms"; };'
	port=$(free_port)
	server slow "$port"
	run shimmed bash -c "$(declare -f ask); PY=$PY ask $port"
	assert_output --regexp '^late '
	read -r ok fail slow last < <(fields "127.0.0.1:$port" successful_calls failed_calls slow_calls last_failure)
	[ "$ok" = 0 ] && [ "$fail" = 1 ] && [ "$slow" = 1 ] && [ "$last" = slow ]
	run "$CBCTL" show "127.0.0.1:$port"
	assert_output --regexp 'last_failure: +slow'
	"$CBCTL" metrics >"$BATS_TEST_TMPDIR/m"
	grep -q "^cbshim_slow_calls_total{dest=\"127.0.0.1:$port\"} 1$" "$BATS_TEST_TMPDIR/m"
	if command -v promtool; then promtool check metrics <"$BATS_TEST_TMPDIR/m"; fi
}

@test "fast_answer_under_slow_call_duration: a success" {
	conf 'defaults = { response_timeout = "10s"; slow_call_duration = "1s"; };'
	port=$(free_port)
	server echo "$port"
	run shimmed bash -c "$(declare -f ask); PY=$PY ask $port"
	assert_output --regexp '^hi '
	read -r ok fail slow < <(fields "127.0.0.1:$port" successful_calls failed_calls slow_calls)
	[ "$ok" = 1 ] && [ "$fail" = 0 ] && [ "$slow" = 0 ]
}

@test "response_timeout_zero_is_off: \"0\" in a rule turns the default off for its destination" {
	port=$(free_port)
	conf "rules = ( { match = \"127.0.0.1:$port\"; response_timeout = \"0\"; } );
defaults = { response_timeout = \"300ms\"; slow_call_duration = \"2s\"; };"
	server hang "$port"
	run timeout 2 env LD_PRELOAD="$CBSHIM_LIB" bash -c "$(declare -f ask); PY=$PY ask $port"
	[ "$status" = 124 ]		# unbounded: the rule turned it off
	"$CBCTL" show "127.0.0.1:$port" --json | $PY -c '
import json, sys
p = json.load(sys.stdin)["policy"]
assert p["response_timeout_ms"] == 0 and p["slow_call_duration_ms"] == 2000, p'
}
