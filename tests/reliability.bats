#!/usr/bin/env bats
# reliability.bats - nothing lost, wedged or crashed: kill -9 storms on
# processes sharing breakers, connect() from signal handlers, fork / vfork /
# posix_spawn / exec / threads, full tables, high fds, thousands of
# destinations, EMFILE and other errnos of the kernel, segment creation
# failing, a full /dev/shm, and valgrind's memcheck.  Loopback only; helpers
# in tests/helpers (storm, sigconnect, procs, resources, errinj).

load common
bats_require_minimum_version 1.5.0





# ports N: set P1..PN to N different free ports.
ports() {
	local i p seen=" "
	for i in $(seq 1 "$1"); do
		p=$(free_port)
		while [[ $seen == *" $p "* ]]; do p=$(free_port); done
		seen+="$p "
		printf -v "P$i" '%s' "$p"
	done
}

# fields DEST NAME...: the named fields of cbctl show --json, space-separated.
fields() {
	local d=$1
	shift
	"$CBCTL" show "$d" --json | $PY -c '
import json, sys
d = json.load(sys.stdin)
print(" ".join(str(d[k]) for k in sys.argv[1:]))' "$@"
}

# shm_leftovers: temporary segments under construction left in /dev/shm.
# (Names: a creator also removes stale ones that others left, so the test
# asks that none is new, not that the count stays.)
shm_leftovers() {
	find /dev/shm -maxdepth 1 -name '.cbshim-new-*' | sort
}

# ---- crashes -----------------------------------------------------------

@test "kill9_storm_loses_nothing: kill -9 on processes hammering shared breakers leaves them exact and working" {
	conf 'defaults = { open_timeout = "100ms"; success_threshold = 2; };'
	ports 4
	server accept "$P1"
	server reset "$P3"
	server full "$P4"
	run --separate-stderr timeout 60 $PY "$TOP/tests/helpers/killstorm.py" \
		--storm "$HELPERS/storm" --cbctl "$CBCTL" --lib "$CBSHIM_LIB" \
		--dir "$BATS_TEST_TMPDIR" --procs 4 --threads 6 --seconds 5 \
		"accept:$P1" "refuse:$P2" "reset:$P3" "full:$P4"
	echo "$output"
	assert_success
	# enough kills to mean something: 50 in 5 s, fewer where every
	# process starts slower (the ASan pass sets CB_STORM_MIN_KILLS)
	local kills=${lines[0]#kills=}
	kills=${kills%% *}
	[ "$kills" -ge "${CB_STORM_MIN_KILLS:-50}" ]
	# cbctl answers at once, and reads every breaker
	run timeout 2 "$CBCTL" list
	assert_success
	[ "${#lines[@]}" -eq 6 ]	# the segment line, the head, 4 breakers
	# no breaker is wedged: after open_timeout every destination admits
	# again (lost probes free their places), and a new program works
	sleep 0.3
	run client -n 4 127.0.0.1 "$P1"
	assert_line --index 3 --regexp '^3 ok '
	[ "$(state "127.0.0.1:$P1")" = closed ]
	before=$(field "127.0.0.1:$P2" rejected_calls)
	run client -n 1 127.0.0.1 "$P2"
	[ "$(field "127.0.0.1:$P2" rejected_calls)" = "$before" ]
	run client -m abandon -t 20 -n 1 127.0.0.1 "$P4"
	assert_line --index 0 --regexp '^0 ETIMEDOUT '
	run client -n 2 127.0.0.1 "$P3"
	assert_line --index 1 --regexp '^1 ok '
}

@test "killed_probe_holders_free_their_places: three probes killed inside connect(), the breaker recovers and closes" {
	conf 'defaults = { open_timeout = "2s"; half_open_max_calls = 3; success_threshold = 2; };'
	port=$(free_port)
	run client -n 5 127.0.0.1 "$port"
	[ "$(state "127.0.0.1:$port")" = open ]
	server full "$port"
	full_pid=${CB_PIDS[-1]}
	sleep 2.2
	# three probes, each blocked inside the real connect() (no SYN-ACK)
	for i in 1 2 3; do
		bg env LD_PRELOAD="$CBSHIM_LIB" "$HELPERS/cbclient" -n 1 127.0.0.1 "$port"
	done
	holders=("${CB_PIDS[@]: -3}")
	for i in $(seq 1 100); do
		[ "$(field "127.0.0.1:$port" half_open_in_flight)" = 3 ] && break
		sleep 0.05
	done
	[ "$(field "127.0.0.1:$port" half_open_in_flight)" = 3 ]
	run client -n 1 127.0.0.1 "$port"
	assert_line --index 0 --regexp '^0 ECONNREFUSED '
	[ "$(field "127.0.0.1:$port" rejected_calls)" = 1 ]
	kill -9 "${holders[@]}"
	wait "${holders[@]}" 2>/dev/null || true
	# their outcomes never come: the places stay taken for now
	[ "$(field "127.0.0.1:$port" half_open_in_flight)" = 3 ]
	kill "$full_pid"
	wait "$full_pid" 2>/dev/null || true
	server accept "$port"
	sleep 2.2
	run client -n 2 127.0.0.1 "$port"
	assert_line --index 0 --regexp '^0 ok '
	assert_line --index 1 --regexp '^1 ok '
	[ "$(state "127.0.0.1:$port")" = closed ]
	[ "$(field "127.0.0.1:$port" half_open_in_flight)" = 0 ]
}

# ---- signals -----------------------------------------------------------

@test "signal_handler_connects_inside_the_shim: no deadlock, every counter exact" {
	conf 'defaults = { failure_threshold = 65535; };'
	ports 3
	server accept "$P1"
	"$CBCTL" trip "127.0.0.1:$P3" --hold >/dev/null
	run --separate-stderr timeout 30 env LD_PRELOAD="$CBSHIM_LIB" \
		"$HELPERS/sigconnect" -n 15000 -i 50 "$P1" "$P2" "$P3"
	echo "$output"
	assert_success		# 124: it hung
	[ -z "$stderr" ]
	h=$(sed -n 's/^handler=//p' <<<"$output")
	[ "$h" -ge 500 ]
	for p in "$P1" "$P2" "$P3"; do
		read -r calls okn refn < <(sed -n "s/^$p calls=\\([0-9]*\\) ok=\\([0-9]*\\) refused=\\([0-9]*\\).*/\\1 \\2 \\3/p" <<<"$output")
		read -r total succ fail rej < <(fields "127.0.0.1:$p" total_calls successful_calls failed_calls rejected_calls)
		echo "$p: calls=$calls ok=$okn refused=$refn / total=$total ok=$succ fail=$fail rejected=$rej"
		[ "$total" -eq "$calls" ]
		if [ "$p" = "$P3" ]; then
			[ "$rej" -eq "$calls" ]
		else
			[ "$rej" -eq 0 ]
			[ $((succ + fail)) -eq "$calls" ]
			[ "$succ" -ge "$okn" ]
			[ "$fail" -ge "$refn" ]
		fi
	done
}

# ---- processes ---------------------------------------------------------

@test "threads_before_and_after_the_first_connect: all governed, counters exact" {
	port=$(free_port)
	server accept "$port"
	run timeout 60 env LD_PRELOAD="$CBSHIM_LIB" "$HELPERS/procs" threads "$port" 6 6 40
	assert_success
	assert_output "connects=481 ok=481"
	[ "$(fields "127.0.0.1:$port" total_calls successful_calls failed_calls)" = "481 481 0" ]
}

@test "fork_with_a_pending_connect: the parent settles it once, the child's close counts nothing" {
	port=$(free_port)
	server accept "$port"
	run timeout 60 env LD_PRELOAD="$CBSHIM_LIB" "$HELPERS/procs" fork "$port" 10
	assert_success
	assert_output "connects=11 ok=11"
	[ "$(fields "127.0.0.1:$port" total_calls successful_calls failed_calls)" = "11 11 0" ]
}

@test "vfork_exec_with_a_pending_connect: the child's close in the shared memory counts nothing, the exec'd program is governed" {
	port=$(free_port)
	server accept "$port"
	run timeout 60 env LD_PRELOAD="$CBSHIM_LIB" "$HELPERS/procs" vfork "$port" \
		"$HELPERS/cbclient" -n 3 127.0.0.1 "$port"
	assert_success
	slow=$(sed -n 's/^slow=//p' <<<"$output")
	assert_line "connects=2 ok=2"
	[ "$(grep -c ' ok ' <<<"$output")" = 3 ]
	# the pending connect (and the filler before it): made after the
	# child closed its copy, a success, never an abandoned failure
	[ "$(fields "127.0.0.1:$slow" total_calls successful_calls failed_calls)" = "2 2 0" ]
	[ "$(fields "127.0.0.1:$port" total_calls successful_calls failed_calls)" = "3 3 0" ]
}

@test "posix_spawn_with_a_pending_connect: a close action in the child counts nothing" {
	port=$(free_port)
	server accept "$port"
	run timeout 60 env LD_PRELOAD="$CBSHIM_LIB" "$HELPERS/procs" spawn "$port" \
		"$HELPERS/cbclient" -n 3 127.0.0.1 "$port"
	assert_success
	slow=$(sed -n 's/^slow=//p' <<<"$output")
	assert_line "connects=2 ok=2"
	[ "$(grep -c ' ok ' <<<"$output")" = 3 ]
	[ "$(fields "127.0.0.1:$slow" total_calls successful_calls failed_calls)" = "2 2 0" ]
	[ "$(fields "127.0.0.1:$port" total_calls successful_calls failed_calls)" = "3 3 0" ]
}

@test "exec_of_an_unshimmed_program: env -u LD_PRELOAD runs without the shim, the breaker never sees it" {
	port=$(free_port)
	server accept "$port"
	"$CBCTL" trip "127.0.0.1:$port" --hold >/dev/null
	run shimmed env -u LD_PRELOAD "$HELPERS/cbclient" -n 3 127.0.0.1 "$port"
	assert_success
	[ "$(grep -c ' ok ' <<<"$output")" = 3 ]
	run shimmed env -u LD_PRELOAD "$HELPERS/resources" -M 127.0.0.1 "$port"
	assert_line --index 0 "shim=no"
	[ "$(fields "127.0.0.1:$port" total_calls rejected_calls)" = "0 0" ]
	# and the same exec keeping LD_PRELOAD is governed
	run shimmed env "$HELPERS/cbclient" -n 2 127.0.0.1 "$port"
	[ "$(grep -c ' ECONNREFUSED ' <<<"$output")" = 2 ]
	[ "$(fields "127.0.0.1:$port" total_calls rejected_calls)" = "2 2" ]
}

@test "fork_while_threads_are_inside_connect: every child finishes, counters exact" {
	# GCC 12's ASan runtime can deadlock in a child forked while another
	# thread holds its allocator lock (seen in check.sh's sanitizer pass);
	# the plain pass runs this test
	[[ $CBSHIM_LIB != *libasan* ]] ||
		skip "the ASan runtime's allocator is not fork-safe with threads"
	port=$(free_port)
	server accept "$port"
	run timeout 60 env LD_PRELOAD="$CBSHIM_LIB" "$HELPERS/procs" forkstorm "$port" 4 40 10
	assert_success
	n=$(sed -n 's/^connects=\([0-9]*\) ok=\1$/\1/p' <<<"$output")
	[ -n "$n" ] && [ "$n" -gt 400 ]
	[ "$(fields "127.0.0.1:$port" total_calls successful_calls failed_calls)" = "$n $n 0" ]
}

# ---- resources ---------------------------------------------------------

@test "full_table: past max_breakers new destinations pass through unprotected, counted, one warning" {
	conf 'shm = { max_breakers = 4; };'
	port=$(free_port)
	# 127.0.0.1..127.0.0.6, six rounds: the first four get breakers that
	# open after five failures, the fifth and sixth are never rejected
	run --separate-stderr env LD_PRELOAD="$CBSHIM_LIB" "$HELPERS/resources" \
		-a 6 -n 6 127.0.0.1 "$port"
	assert_success
	assert_output "attempts=36 ok=0 ECONNREFUSED=36 other=0"
	[ "$(grep -c '^cbshim: ' <<<"$stderr")" = 1 ]
	[[ $stderr == "cbshim: breaker table full"* ]]
	for i in 1 2 3 4; do
		[ "$(fields "127.0.0.$i:$port" state total_calls failed_calls rejected_calls)" = "open 6 5 1" ]
	done
	for i in 5 6; do
		run "$CBCTL" show "127.0.0.$i:$port"
		assert_failure 1
	done
	run "$CBCTL" list
	assert_line "table full (max_breakers 4): 12 attempts to new destinations went unprotected"
}

@test "high_fd_near_the_limit: a socket on an fd just under RLIMIT_NOFILE is governed and settled" {
	ports 2
	server accept "$P1"
	# 100000 where the hard limit may be raised, else the hard limit
	lim=$(bash -c 'ulimit -n 100000 2>/dev/null || ulimit -n "$(ulimit -Hn)"; ulimit -n')
	[ "$lim" = unlimited ] && lim=100000
	[ "$lim" -ge 2048 ]
	fd=$((lim - 10))
	run bash -c 'ulimit -n "$4" 2>/dev/null; exec env LD_PRELOAD="$1" "$2" -f "$5" -m sockerr -n 3 127.0.0.1 "$3"' \
		_ "$CBSHIM_LIB" "$HELPERS/resources" "$P1" "$lim" "$fd"
	assert_success
	[ "$(grep -c " ok fd=$fd\$" <<<"$output")" = 3 ]
	[ "$(fields "127.0.0.1:$P1" total_calls successful_calls failed_calls)" = "3 3 0" ]
	run bash -c 'ulimit -n "$4" 2>/dev/null; exec env LD_PRELOAD="$1" "$2" -f "$5" -n 6 127.0.0.1 "$3"' \
		_ "$CBSHIM_LIB" "$HELPERS/resources" "$P2" "$lim" "$fd"
	assert_success
	[ "$(grep -c " ECONNREFUSED fd=$fd\$" <<<"$output")" = 6 ]
	[ "$(fields "127.0.0.1:$P2" state failed_calls rejected_calls)" = "open 5 1" ]
}

# past_table MODE PORT N: the shimmed resources helper, started with a
# hard fd limit of 1024 (so the shim's fd table has 1024 entries) but
# holding N sockets inherited on fds 15000.. from its launcher.
past_table() {
	$PY -c '
import os, resource, socket, sys
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
for i in range(int(sys.argv[1])):
    s = socket.socket()
    os.dup2(s.fileno(), 15000 + i)
    s.close()
resource.setrlimit(resource.RLIMIT_NOFILE, (1024, 1024))
os.execvp(sys.argv[2], sys.argv[2:])' "$3" env LD_PRELOAD="$CBSHIM_LIB" \
		"$HELPERS/resources" -F 15000 -m "$1" -n "$3" 127.0.0.1 "$2"
}

@test "fds_past_the_table_pass_through: sockets on fds past the shim's fd table work, no crash, no false failure" {
	[ "$(ulimit -Hn)" = unlimited ] || [ "$(ulimit -Hn)" -gt 15010 ]
	ports 2
	server accept "$P1"
	for m in block sockerr; do
		run past_table "$m" "$P1" 3
		assert_success
		assert_output "0 ok fd=15000
1 ok fd=15001
2 ok fd=15002"
	done
	read -r st total succ fail < <(fields "127.0.0.1:$P1" state total_calls successful_calls failed_calls)
	[ "$st" = closed ] && [ "$fail" = 0 ] && [ "$succ" -le "$total" ]
	run past_table sockerr "$P2" 3
	assert_success
	[ "$(grep -c ' ECONNREFUSED fd=1500[0-2]$' <<<"$output")" = 3 ]
	# a program that raises its own limit past the table, where allowed
	if $PY -c 'import resource as r; r.setrlimit(r.RLIMIT_NOFILE, (200000, 200000))' 2>/dev/null; then
		run bash -c 'ulimit -n 4096 && exec env LD_PRELOAD="$1" "$2" -r 200000 -f 150000 -m sockerr -n 3 127.0.0.1 "$3"' \
			_ "$CBSHIM_LIB" "$HELPERS/resources" "$P1"
		assert_success
		[ "$(grep -c ' ok fd=150000$' <<<"$output")" = 3 ]
	fi
}

@test "bad_fds: connect() on -1, INT_MAX and closed fds gives the real EBADF and counts nothing" {
	port=$(free_port)
	run shimmed "$HELPERS/resources" -B -n 0 127.0.0.1 "$port"
	assert_success
	assert_output "bad fd -1 EBADF
bad fd 2147483647 EBADF
bad fd 65000 EBADF
bad fd 16777216 EBADF"
	run "$CBCTL" show "127.0.0.1:$port"
	assert_failure 1
}

@test "thousands_of_destinations: 3000 loopback addresses refused, one breaker each, cbctl reads them all" {
	port=$(free_port)
	run timeout 60 env LD_PRELOAD="$CBSHIM_LIB" "$HELPERS/resources" -a 3000 -n 2 127.1.0.1 "$port"
	assert_success
	assert_output "attempts=6000 ok=0 ECONNREFUSED=6000 other=0"
	timeout 5 "$CBCTL" list --json >"$BATS_TEST_TMPDIR/list.json"
	$PY -c '
import json, sys
rows = json.load(open(sys.argv[1]))
assert len(rows) == 3000, len(rows)
assert len({r["dest"] for r in rows}) == 3000
for r in rows:
    assert (r["total_calls"], r["failed_calls"], r["state"]) == (2, 2, "closed"), r
' "$BATS_TEST_TMPDIR/list.json"
	run timeout 5 "$CBCTL" metrics
	assert_success
	[ "$(grep -c '^cbshim_calls_total{dest="127\.1\.[0-9.]*:'"$port"'"} 2$' <<<"$output")" = 3000 ]
	run "$CBCTL" list
	refute_output --partial unprotected
}

@test "emfile_passes_through: socket() failing with EMFILE is the program's answer, nothing is counted" {
	port=$(free_port)
	server accept "$port"
	# -W: one connect first, so that the shim is initialised (it needs
	# fds of its own for that; see lazy.bats for a first connect at EMFILE)
	run bash -c 'ulimit -n 64 && exec env LD_PRELOAD="$1" "$2" -W -E -n 3 127.0.0.1 "$3"' \
		_ "$CBSHIM_LIB" "$HELPERS/resources" "$port"
	assert_success
	assert_line --index 0 "0 EMFILE fd=-1"
	assert_line --index 2 "2 EMFILE fd=-1"
	assert_line --index 3 --regexp '^3 ok fd=[0-9]+$'
	[ "$(fields "127.0.0.1:$port" total_calls successful_calls failed_calls)" = "2 2 0" ]
}

@test "kernel_errnos_pass_through: connect() failing with EMFILE, ENOBUFS, ... or an unknown errno counts nothing" {
	port=$(free_port)
	declare -A shown=([EMFILE]=EMFILE [ENFILE]=E23 [ENOBUFS]=E105
		[ENOMEM]=E12 [EADDRNOTAVAIL]=EADDRNOTAVAIL [EAGAIN]=EAGAIN
		[EPERM]=EPERM [EACCES]=EACCES [EINVAL]=EINVAL [EXDEV]=E18
		[300]=E300 [4095]=E4095)
	for e in "${!shown[@]}"; do
		rm -f "/dev/shm$CBSHIM_SHM"
		run --separate-stderr "$HELPERS/errinj" "connect:$e" \
			env LD_PRELOAD="$CBSHIM_LIB" "$HELPERS/cbclient" -n 7 127.0.0.1 "$port"
		assert_success
		[ -z "$stderr" ]
		[ "$(grep -c "^[0-6] ${shown[$e]} " <<<"$output")" = 7 ]
		[ "$(fields "127.0.0.1:$port" state successful_calls failed_calls consecutive_failures last_errno)" = "closed 0 0 0 None" ]
	done
	# the same injection with a failure errno counts (the filter works)
	rm -f "/dev/shm$CBSHIM_SHM"
	run "$HELPERS/errinj" connect:ETIMEDOUT env LD_PRELOAD="$CBSHIM_LIB" \
		"$HELPERS/cbclient" -n 7 127.0.0.1 "$port"
	[ "$(grep -c ' ETIMEDOUT ' <<<"$output")" = 5 ]
	[ "$(fields "127.0.0.1:$port" state failed_calls rejected_calls last_errno)" = "open 5 2 ETIMEDOUT" ]
}

@test "segment_creation_failures_pass_through: ftruncate, fallocate, link, fchmod, mmap failing leave one warning and nothing behind" {
	port=$(free_port)
	server accept "$port"
	left=$(shm_leftovers)
	for inj in ftruncate:ENOSPC ftruncate:EDQUOT fallocate:ENOSPC link:EPERM link:ENOSPC \
		   fchmod:EPERM mmap-shared:ENOMEM mmap-shared:EACCES; do
		run --separate-stderr "$HELPERS/errinj" "$inj" \
			env LD_PRELOAD="$CBSHIM_LIB" "$HELPERS/cbclient" -n 3 127.0.0.1 "$port"
		echo "$inj: $stderr"
		assert_success
		[ "$(grep -c ' ok ' <<<"$output")" = 3 ]
		[ "$(grep -c '^cbshim: ' <<<"$stderr")" = 1 ]
		[[ $stderr == "cbshim: segment $CBSHIM_SHM: "* ]]
		[ ! -e "/dev/shm$CBSHIM_SHM" ]
		[ -z "$(comm -13 <(echo "$left") <(shm_leftovers))" ]
	done
}

@test "full_dev_shm_never_crashes_the_program: with no room left in /dev/shm, programs pass through" {
	need_private_mounts
	# a private mount namespace with a 128 KiB /dev/shm, nearly filled
	port=$(free_port)
	server accept "$port"
	run timeout 60 unshare -m sh -c '
		mount -t tmpfs -o size=128k tmpfs /dev/shm || exit 99
		head -c 120k /dev/zero >/dev/shm/filler
		for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do
			env LD_PRELOAD="$1" "$2" -n 1 "127.0.0.$i" "$3"
			echo "rc=$?"
		done' _ "$CBSHIM_LIB" "$HELPERS/cbclient" "$port"
	echo "$output"
	[ "$status" -ne 99 ]
	assert_success
	[ "$(grep -c '^rc=0$' <<<"$output")" = 20 ]
	assert_line --regexp '^0 ok '
}

# ---- checkers ----------------------------------------------------------

@test "valgrind_cbctl: every cbctl command, good and bad, runs clean under memcheck" {
	run timeout 300 "$TOP/tests/valgrind.sh" cbctl
	echo "$output"
	assert_success
	assert_line --regexp '^valgrind: [0-9]+ runs, 0 with errors$'
}

@test "valgrind_shimmed_programs: the test helpers under the shim run clean under memcheck" {
	# check.sh's sanitizer pass preloads the ASan runtime: memcheck cannot
	# run ASan-instrumented code (the plain pass runs this test)
	[[ $CBSHIM_LIB != *libasan* ]] ||
		skip "valgrind cannot run the ASan build of the shim"
	port=$(free_port)
	server echo "$port"
	run timeout 300 "$TOP/tests/valgrind.sh" client "$port" "$(free_port)"
	echo "$output"
	assert_success
	assert_line --regexp '^valgrind: [0-9]+ runs, 0 with errors$'
}
