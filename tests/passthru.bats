#!/usr/bin/env bats
# passthru.bats - on every path where the shim does not reject, each
# interposed call returns exactly what the C library returns, with the same
# errno, and never leaves tracking behind that changes another call.
# tests/helpers/passthru runs the same calls with and without the shim;
# these tests diff the two, or check one case the shim must get right.
# Loopback only.

load common

# diff_against_libc: the helper's "diff" run under the shim (this test's
# cb.conf and segment) prints exactly what it prints without the shim; the
# shim's own stderr goes to $BATS_TEST_TMPDIR/err.
diff_against_libc() {
	"$HELPERS/passthru" diff >"$BATS_TEST_TMPDIR/libc"
	shimmed "$HELPERS/passthru" diff >"$BATS_TEST_TMPDIR/shim" \
		2>"$BATS_TEST_TMPDIR/err"
	# the cases ran to the end, then the two agree line by line
	grep -q '^ghbn_r small: ' "$BATS_TEST_TMPDIR/libc"
	diff -u "$BATS_TEST_TMPDIR/libc" "$BATS_TEST_TMPDIR/shim"
}

@test "every_call_as_libc: bad fds, pipes, files, UDP, Unix and raw sockets, short and NULL addresses, AF_UNSPEC, EINTR, flags, zero lengths, dup, close_range, fork, handlers, resolver" {
	# many failures on purpose (refused, abandoned): none may open a breaker
	conf 'defaults = { failure_threshold = 1000; };'
	diff_against_libc
	[ ! -s "$BATS_TEST_TMPDIR/err" ]
}

@test "every_call_as_libc_with_bounds: connect_timeout and response_timeout set change no call that returns at once" {
	# a first byte still to come: a read of 0 bytes, MSG_OOB, MSG_ERRQUEUE,
	# a bad iovec count, O_NONBLOCK set through a dup return at once, as
	# the kernel's; the program's own TCP_USER_TIMEOUT comes back after
	# every attempt
	conf 'defaults = { failure_threshold = 1000; connect_timeout = "5s"; response_timeout = "2s"; };'
	diff_against_libc
	[ ! -s "$BATS_TEST_TMPDIR/err" ]
}

@test "every_call_as_libc_segment_unusable: a bad segment name passes everything through, one warning" {
	export CBSHIM_SHM=/cbtest/not-a-name
	diff_against_libc
	run cat "$BATS_TEST_TMPDIR/err"
	assert_output --regexp '^cbshim: segment /cbtest/not-a-name: .*passing through'
	[ "${#lines[@]}" = 1 ]
}

@test "every_call_as_libc_table_full: destinations past max_breakers pass through, one warning" {
	conf 'shm = { max_breakers = 1; }; defaults = { failure_threshold = 1000; };'
	diff_against_libc
	run cat "$BATS_TEST_TMPDIR/err"
	assert_output --regexp '^cbshim: breaker table full'
	[ "${#lines[@]}" = 1 ]
}

@test "every_call_as_libc_mode_off: mode off governs nothing, says nothing" {
	conf 'defaults = { mode = "off"; };'
	diff_against_libc
	[ ! -s "$BATS_TEST_TMPDIR/err" ]
}

@test "late_read_gets_the_answer: a blocking read after response_timeout with the answer waiting returns it" {
	conf 'defaults = { response_timeout = "300ms"; };'
	run shimmed "$HELPERS/passthru" await late
	assert_success
	assert_output 'read: 2 EDOM'
}

@test "failing_poll_leaves_the_read_to_the_kernel: poll's ENOMEM is never the read's errno" {
	conf 'defaults = { response_timeout = "300ms"; };'
	run "$HELPERS/errinj" poll:ENOMEM,ppoll:ENOMEM env LD_PRELOAD="$CBSHIM_LIB" \
		"$HELPERS/passthru" await late
	assert_success
	assert_output 'read: 2 EDOM'
}

@test "sa_restart_alarms_do_not_interrupt_the_bounded_read: the answer read despite SA_RESTART signals" {
	conf 'defaults = { response_timeout = "5s"; };'
	run shimmed "$HELPERS/passthru" await restart
	assert_success
	assert_output 'read: 2 EDOM'
}

@test "crash_handler_does_not_make_sa_restart_reads_eintr: a SIGSEGV handler without SA_RESTART cannot have interrupted the wait" {
	conf 'defaults = { response_timeout = "5s"; };'
	run shimmed "$HELPERS/passthru" await crashhandler
	assert_success
	assert_output 'read: 2 EDOM'
}

@test "sa_restart_alarms_silent_server: the bounded read ends with ETIMEDOUT, not EINTR" {
	conf 'defaults = { response_timeout = "300ms"; };'
	run shimmed "$HELPERS/passthru" await silent
	assert_success
	assert_output 'read: -1 ETIMEDOUT'
}

@test "handler_without_sa_restart_interrupts_the_bounded_read: EINTR, as the kernel's read" {
	conf 'defaults = { response_timeout = "5s"; };'
	run shimmed "$HELPERS/passthru" await norestart
	assert_success
	assert_output 'read: -1 EINTR'
}

@test "one_shot_handler_interrupts_the_bounded_read: a handler gone after it ran (SA_RESETHAND) still means EINTR" {
	conf 'defaults = { response_timeout = "5s"; };'
	run shimmed "$HELPERS/passthru" await oneshot
	assert_success
	assert_output 'read: -1 EINTR'
}

@test "shorter_own_rcvtimeo_is_the_kernels_eagain: the program's own receive timeout ends the read, not the shim's ETIMEDOUT" {
	conf 'defaults = { response_timeout = "5s"; };'
	run shimmed "$HELPERS/passthru" await ownshort
	assert_success
	assert_output 'read: -1 EAGAIN'
}

@test "longer_own_rcvtimeo_is_bounded_by_the_shim: ETIMEDOUT at response_timeout" {
	conf 'defaults = { response_timeout = "300ms"; };'
	run shimmed "$HELPERS/passthru" await ownlong
	assert_success
	assert_output 'read: -1 ETIMEDOUT'
}

@test "own_rcvtimeo_makes_sa_restart_read_eintr: with SO_RCVTIMEO set the kernel says EINTR, so does the shim" {
	conf 'defaults = { response_timeout = "2s"; };'
	run shimmed "$HELPERS/passthru" await rcvtimeo
	assert_success
	assert_output 'read: -1 EINTR'
}

# keep MODE: a rejected non-blocking socket's refusal survives MODE
keep() {
	port=$(free_port)
	run "$CBCTL" trip "127.0.0.1:$port"
	assert_success
	run shimmed "$HELPERS/passthru" keep "$1" "$port"
	assert_success
	assert_line --index 1 'SO_ERROR: 0 EDOM'
	assert_line --index 2 ECONNREFUSED
}

@test "dup2_onto_itself_keeps_the_refusal: dup2(fd, fd) changes nothing" {
	keep dup2self
	assert_line --index 0 'dup2self: 1 EDOM'
}

@test "dup3_with_bad_flags_keeps_the_refusal: EINVAL closes nothing, forgets nothing" {
	keep dup3bad
	assert_line --index 0 'dup3bad: -1 EINVAL'
}

@test "close_range_with_bad_flags_keeps_the_refusal: EINVAL closes nothing, forgets nothing" {
	keep rangebad
	assert_line --index 0 'rangebad: -1 EINVAL'
}

@test "vfork_child_close_keeps_the_parents_refusal: the child's close forgets nothing of the parent's" {
	port=$(free_port)
	"$CBCTL" trip "127.0.0.1:$port"
	run shimmed "$HELPERS/passthru" keep vforkclose "$port"
	assert_success
	assert_output $'SO_ERROR: 0 EDOM\nECONNREFUSED'
}

@test "vfork_child_dup2_keeps_the_parents_refusal: the child's dup2 over it forgets nothing of the parent's" {
	port=$(free_port)
	"$CBCTL" trip "127.0.0.1:$port"
	run shimmed "$HELPERS/passthru" keep vforkdup2 "$port"
	assert_success
	assert_output $'SO_ERROR: 0 EDOM\nECONNREFUSED'
}

@test "oversized_address_is_einval_not_rejected: the kernel refuses it, the open breaker never sees it" {
	port=$(free_port)
	"$CBCTL" trip "127.0.0.1:$port"
	run shimmed "$HELPERS/passthru" biglen "$port"
	assert_success
	assert_output $'biglen: -1 EINVAL\nright len: -1 ECONNREFUSED'
	[ "$(field 127.0.0.1:$port rejected_calls)" = 1 ]
}

@test "closefrom_negative_forgets_everything: a file on a rejected socket's old number writes" {
	port=$(free_port)
	"$CBCTL" trip "127.0.0.1:$port"
	run shimmed "$HELPERS/passthru" reuse closefrom "$port"
	assert_success
}

@test "fclosed_rejected_socket_reused_by_a_file: its write is not refused" {
	port=$(free_port)
	"$CBCTL" trip "127.0.0.1:$port"
	run shimmed "$HELPERS/passthru" reuse fclose "$port"
	assert_success
}
