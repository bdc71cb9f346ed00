#!/usr/bin/env bats
# hostile.bats - hostile neighbours (other users and programs sharing
# /dev/shm and stderr) and foreign clocks, and the temporary files of
# segment creators killed halfway: the one warning never harms the program
# (no SIGPIPE, never into a file or socket that replaced stderr), timestamps
# from another clock count as now, nobody can stop segments from being made
# or plant one root's programs trust, and cbctl takes every address, scoped
# IPv6, one name rule, the right hint, and notices when its output is gone.

load common
bats_require_minimum_version 1.5.0

SQUAT=

setup() {
	cb_setup
}

teardown() {
	# shellcheck disable=SC2086 # a list of /dev/shm paths
	[ -n "$SQUAT" ] && rm -f $SQUAT
	cb_teardown
}

NOBODY=(setpriv --reuid=nobody --regid=nogroup --clear-groups)

# deadpipe CMD...: run CMD with stderr a pipe nobody reads any more and
# SIGPIPE at its default; prints its exit status (-13: killed by SIGPIPE).
deadpipe() {
	$PY -c '
import os, subprocess, sys
r, w = os.pipe()
os.close(r)
p = subprocess.run(sys.argv[1:], stderr=w, stdout=subprocess.DEVNULL)
print(p.returncode)' "$@"
}

# ---- the one warning --------------------------------------------------------

@test "warning_never_raises_sigpipe: table full, stderr a dead pipe: the program lives" {
	conf 'shm = { max_breakers = 1; };'
	run deadpipe env LD_PRELOAD="$CBSHIM_LIB" "$HELPERS/hostile" connects \
		"$(free_port)" "$(free_port)"
	assert_output 0
	# the warning is still made: a live stderr gets it
	run --separate-stderr env LD_PRELOAD="$CBSHIM_LIB" "$HELPERS/hostile" \
		connects "$(free_port)" "$(free_port)"
	[[ $stderr == "cbshim: breaker table full"* ]]
}

@test "warning_never_raises_sigpipe_at_start: a bad config, stderr a dead pipe" {
	mkdir "$BATS_TEST_TMPDIR/dir.conf"
	run deadpipe env CBSHIM_CONFIG="$BATS_TEST_TMPDIR/dir.conf" \
		LD_PRELOAD="$CBSHIM_LIB" "$HELPERS/hostile" connects \
		"$(free_port)" "$(free_port)"
	assert_output 0
	run --separate-stderr env CBSHIM_CONFIG="$BATS_TEST_TMPDIR/dir.conf" \
		LD_PRELOAD="$CBSHIM_LIB" "$HELPERS/hostile" connects \
		"$(free_port)" "$(free_port)"
	[[ $stderr == "cbshim: $BATS_TEST_TMPDIR/dir.conf"* ]]
}

@test "warning_not_into_a_file_that_replaced_stderr: a daemon's data file on fd 2 stays clean" {
	conf 'shm = { max_breakers = 1; };'
	run env LD_PRELOAD="$CBSHIM_LIB" "$HELPERS/hostile" file \
		"$BATS_TEST_TMPDIR/data" "$(free_port)" "$(free_port)"
	assert_success
	[ "$(cat "$BATS_TEST_TMPDIR/data")" = HEADER ]
}

@test "warning_not_into_a_socket: a socketpair or an accepted connection on fd 2 gets nothing" {
	conf 'shm = { max_breakers = 1; };'
	run env LD_PRELOAD="$CBSHIM_LIB" "$HELPERS/hostile" pair \
		"$(free_port)" "$(free_port)"
	assert_success
	assert_output "received 0"
	# a fresh segment: the listener's own connection takes the one breaker
	rm -f "/dev/shm$CBSHIM_SHM"
	run env LD_PRELOAD="$CBSHIM_LIB" "$HELPERS/hostile" accept "$(free_port)"
	assert_success
	assert_output "received 0"
}

# ---- foreign clocks ------------------------------------------------------------

# opened_in_the_future: a breaker opened by a writer whose clock is a day
# ahead (CMD... is how to run cbctl with that clock) must look opened now
# to everybody else and half-open after its open_timeout.
opened_in_the_future() {
	conf 'defaults = { open_timeout = "1s"; };'
	port=$(free_port)
	server accept "$port"
	run "$@" "$CBCTL" trip "127.0.0.1:$port"
	assert_success
	run "$CBCTL" list
	assert_success
	refute_output --regexp '[0-9]+d[0-9]+h'
	# first seen now: rejected for open_timeout from here, no longer
	run client -n 1 127.0.0.1 "$port"
	assert_line --index 0 --regexp '^0 ECONNREFUSED '
	run "$CBCTL" show "127.0.0.1:$port" --json
	refute_output --regexp '"open_remaining_ms": *[0-9]{5,}'
	sleep 1.5
	run client -n 1 127.0.0.1 "$port"
	assert_success
	assert_line --index 0 --regexp '^0 ok '
	run "$CBCTL" show "127.0.0.1:$port" --json
	refute_output --partial '"state": "open"'
}

@test "foreign_clock_time_namespace: a breaker opened a day ahead holds no longer than its policy" {
	unshare -T --fork --monotonic 1 true 2>/dev/null ||
		skip "no time namespaces on this kernel"
	opened_in_the_future unshare -T --fork --monotonic 86400
}

@test "foreign_clock_faketime: a breaker opened under FAKETIME=+1d holds no longer than its policy" {
	opened_in_the_future faketime -f +1d
}

@test "foreign_clock_events: cbctl never shows an event time in the future" {
	port=$(free_port)
	faketime -f +1d "$CBCTL" trip "127.0.0.1:$port" >/dev/null
	run "$CBCTL" events --json
	assert_success
	t=$(grep -o '"time_ms": *[0-9]*' <<<"$output" | grep -o '[0-9]*$')
	[ "$t" -le "$(($(date +%s%3N) + 1000))" ]
}

# ---- temporary files and creation ---------------------------------------------

@test "creation_uses_no_guessable_name: the old pid-based name squatted changes nothing" {
	port=$(free_port)
	server accept "$port"
	# what the old code used: /dev/shm/.cbshim-new-PID-6b8b4567
	run --separate-stderr bash -c 'touch /dev/shm/.cbshim-new-$$-6b8b4567
		echo /dev/shm/.cbshim-new-$$-6b8b4567 >"$1"
		exec env LD_PRELOAD="$2" "$3" -n 1 127.0.0.1 "$4"' _ \
		"$BATS_TEST_TMPDIR/squat" "$CBSHIM_LIB" "$HELPERS/cbclient" "$port"
	SQUAT=$(cat "$BATS_TEST_TMPDIR/squat")
	assert_success
	[ -z "$stderr" ]
	[ -f "/dev/shm$CBSHIM_SHM" ]
}

@test "creation_leaves_random_alone: the program's random() sequence is its own" {
	port=$(free_port)
	want=$("$HELPERS/hostile" rand "$port")
	run --separate-stderr env LD_PRELOAD="$CBSHIM_LIB" "$HELPERS/hostile" \
		rand "$port"
	assert_success
	assert_output "$want"
	[ -f "/dev/shm$CBSHIM_SHM" ]	# made by this program's connect
}

@test "leaked_temporary_is_cleaned: a killed creator's file goes, a live creator's stays" {
	leak=/dev/shm/.cbshim-new-$(od -An -tx8 -N8 /dev/urandom | tr -d ' ')
	live=/dev/shm/.cbshim-new-$(od -An -tx8 -N8 /dev/urandom | tr -d ' ')
	young=/dev/shm/.cbshim-new-$(od -An -tx8 -N8 /dev/urandom | tr -d ' ')
	SQUAT="$leak $live $young"
	# as a creator killed before its unlink leaves it: allocated, unlocked
	fallocate -l 1M "$leak"
	touch -d '1 hour ago' "$leak"
	# a creator still at work holds its lock; one just made may not yet
	fallocate -l 1M "$live"
	touch -d '1 hour ago' "$live"
	bg flock -F -x "$live" sleep 60
	for i in $(seq 100); do
		flock -n "$live" true || break
		sleep 0.05
	done
	: >"$young"
	port=$(free_port)
	server accept "$port"
	run --separate-stderr client -n 1 127.0.0.1 "$port"
	assert_success
	[ -z "$stderr" ]
	[ -f "/dev/shm$CBSHIM_SHM" ]
	[ ! -e "$leak" ]
	[ -e "$live" ]
	[ -e "$young" ]
	# cbctl destroy cleans them too
	fallocate -l 1M "$leak"
	touch -d '1 hour ago' "$leak"
	run "$CBCTL" destroy
	assert_success
	# (at least ours: a parallel run may have left one too)
	assert_line --regexp '^removed [0-9]+ leaked temporary files?$'
	[ ! -e "$leak" ]
	[ -e "$live" ]
	rm -f $SQUAT
}

# ---- trust ------------------------------------------------------------------

@test "squatted_segment_is_refused: another user's segment at root's name is not used" {
	stage_for_others
	port=$(free_port)
	server accept "$port"
	# nobody makes the segment (0600, theirs) and holds a breaker open
	run env CBSHIM_CONFIG=/dev/null "${NOBODY[@]}" "$CBCTL" trip \
		"127.0.0.1:$port" --hold
	assert_success
	[ "$(stat -c %u "/dev/shm$CBSHIM_SHM")" = "$(id -u nobody)" ]
	# root's program ignores it, with one warning naming the owner
	run --separate-stderr client -n 3 127.0.0.1 "$port"
	assert_success
	[ "$(grep -c ' ok ' <<<"$output")" = 3 ]
	[ "$(grep -c '^cbshim: ' <<<"$stderr")" = 1 ]
	[[ $stderr == "cbshim: segment $CBSHIM_SHM: segment belongs to uid $(id -u nobody), who is neither this user (0), root nor shm.owner; refusing it; passing through (cbctl destroy removes it)" ]]
	run --separate-stderr "$CBCTL" list
	assert_failure 1
	[[ $stderr == "cbctl: segment $CBSHIM_SHM: segment belongs to uid $(id -u nobody)"*"(cbctl destroy removes it)" ]]
	# unless the configuration trusts that user
	conf 'shm = { owner = "nobody"; };'
	run client -n 1 127.0.0.1 "$port"
	assert_success
	assert_line --index 0 --regexp '^0 (ECONNREFUSED|rejected)'
	run "$CBCTL" list
	assert_success
	# a segment truncated by its writer is refused, never a SIGBUS
	truncate -s 4096 "/dev/shm$CBSHIM_SHM"
	run --separate-stderr client -n 1 127.0.0.1 "$port"
	assert_success
	assert_line --index 0 --regexp '^0 ok '
}

@test "shm_owner_is_validated: a uid or a user name, anything else FILE:LINE" {
	printf 'shm = {\n  owner = "no-such-user-cb";\n};\n' >"$BATS_TEST_TMPDIR/o.conf"
	run --separate-stderr "$CBCTL" check-config "$BATS_TEST_TMPDIR/o.conf"
	assert_failure
	[[ $stderr == *"o.conf:2: shm.owner: no such user \"no-such-user-cb\""* ]]
	printf 'shm = {\n  owner = -5;\n};\n' >"$BATS_TEST_TMPDIR/o.conf"
	run --separate-stderr "$CBCTL" check-config "$BATS_TEST_TMPDIR/o.conf"
	assert_failure
	[[ $stderr == *"o.conf:2: shm.owner"* ]]
	printf 'shm = { owner = 65534; };\n' >"$BATS_TEST_TMPDIR/o.conf"
	run "$CBCTL" check-config "$BATS_TEST_TMPDIR/o.conf"
	assert_success
}

# ---- cbctl ------------------------------------------------------------------

@test "every_address_of_a_name: 100 addresses in /etc/hosts, trip and show take all" {
	need_private_mounts
	for i in $(seq 1 100); do
		echo "127.0.$((i / 200)).$((i % 200 + 1)) cbhundred"
	done >"$BATS_TEST_TMPDIR/hosts"
	run unshare -m sh -c '
		mount --bind "$1" /etc/hosts || exit 99
		"$2" trip cbhundred:4343 || exit 1
		"$2" show cbhundred:4343 --json' _ "$BATS_TEST_TMPDIR/hosts" "$CBCTL"
	[ "$status" -ne 99 ] || skip "cannot bind-mount /etc/hosts"
	assert_success
	[ "$(grep -c '^127\.0\.[0-9.]*:4343: open ' <<<"$output")" = 100 ]
	[ "$(grep -c '"state": "open"' <<<"$output")" = 100 ]
	run "$CBCTL" list
	[ "$(grep -c ':4343 ' <<<"$output")" = 100 ]
}

@test "watch_ends_when_output_is_gone: a closed pipe, SIGPIPE ignored or not, exit 1 with the cause" {
	"$CBCTL" trip 127.0.0.1:9 >/dev/null
	for ign in "" "trap '' PIPE;"; do
		run timeout 10 bash -c "$ign"' "$1" watch --interval 0.05 | head -c 1 >/dev/null
			echo "status=${PIPESTATUS[0]}"' _ "$CBCTL"
		assert_output --partial "status=1"
		assert_output --partial "cbctl: stdout: Broken pipe"
	done
	# stdout closed: at once, not "Interrupted system call"
	run timeout 10 bash -c '"$1" watch --interval 0.05 >&-' _ "$CBCTL"
	assert_failure 1
	assert_output "cbctl: stdout: Bad file descriptor"
}

@test "events_follow_ends_when_output_is_gone: no new event needed" {
	"$CBCTL" trip 127.0.0.1:9 >/dev/null
	run timeout 10 bash -c "trap '' PIPE;"' "$1" events --follow | head -c 1 >/dev/null
		echo "status=${PIPESTATUS[0]}"' _ "$CBCTL"
	assert_output --partial "status=1"
	assert_output --partial "cbctl: stdout: Broken pipe"
}

@test "full_disk_is_named: every command writing to /dev/full says No space left on device, exit 1" {
	"$CBCTL" trip 127.0.0.1:9 >/dev/null
	for a in list "list --json" "show 127.0.0.1:9" events metrics \
		 "watch --count 1" "watch --count 3 --interval 0.05" \
		 "events --follow" "events --follow --json"; do
		run --separate-stderr timeout 10 bash -c '"$@" >/dev/full' _ \
			"$CBCTL" $a
		assert_failure 1
		[ "$stderr" = "cbctl: stdout: No space left on device" ]
	done
}

@test "one_segment_name_rule: run and every other command refuse /. alike" {
	for n in /. /.. /a/b bad; do
		run --separate-stderr "$CBCTL" --shm "$n" list
		assert_failure 2
		run --separate-stderr "$CBCTL" run --shm "$n" -- true
		assert_failure 2
		[[ $stderr == *"bad segment name"* ]]
	done
}

@test "destroy_hint_only_when_removable: another user's FIFO gets no hint" {
	stage_for_others
	mkfifo -m 666 "/dev/shm$CBSHIM_SHM"
	run --separate-stderr env CBSHIM_CONFIG=/dev/null "${NOBODY[@]}" \
		"$CBCTL" list
	assert_failure 1
	[[ $stderr == *"not a regular file"* ]]
	[[ $stderr != *"cbctl destroy"* ]]
	# root may remove it: the hint is right there
	run --separate-stderr "$CBCTL" list
	assert_failure 1
	[[ $stderr == *"(cbctl destroy removes it)"* ]]
}

@test "scoped_ipv6: [fe80::1%lo]:80 is its own breaker, in DEST and in the key" {
	run "$CBCTL" trip '[fe80::1]:80' --hold
	assert_success
	# the kernel's answer, never the breaker of fe80::1 without scope
	want=$("$HELPERS/cbclient" fe80::1%lo 80 | cut -d' ' -f2)
	[ "$want" != ECONNREFUSED ]
	run client -n 2 fe80::1%lo 80
	assert_success
	assert_line --index 0 --regexp "^0 $want "
	assert_line --index 1 --regexp "^1 $want "
	run "$CBCTL" list
	assert_line --regexp '^\[fe80::1%lo\]:80 +(- +)?closed +2 '
	assert_line --regexp '^\[fe80::1\]:80 +(- +)?open '
	# cbctl takes the scope by name or index, and shows the name
	run "$CBCTL" trip '[fe80::1%1]:80'
	assert_success
	assert_output --regexp '^\[fe80::1%lo\]:80: open '
	run "$CBCTL" show '[fe80::1%lo]:80' --json
	assert_output --partial '"dest": "[fe80::1%lo]:80"'
	run client -n 1 fe80::1%lo 80
	assert_line --index 0 --regexp '^0 ECONNREFUSED '
	# a scope where the kernel uses none, or no such interface: an error
	for d in '[2001:db8::1%lo]:80' '[fe80::1%nosuchif0]:80' '[fe80::1%]:80'; do
		run --separate-stderr "$CBCTL" trip "$d"
		assert_failure 2
		[[ $stderr == "cbctl: bad destination \"$d\": "*" after %"* ||
		   $stderr == *"a scope (%IFACE) goes only on a link-local address"* ]]
	done
}
