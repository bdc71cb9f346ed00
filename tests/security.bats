#!/usr/bin/env bats
# security.bats - hostile and foreign state: segments that are garbage,
# cut short, of another layout, of another user, writable by anybody, not
# a file at all, or valid but full of hostile words; setuid and setgid
# programs; the modes and owners of the segments the shim and cbctl make;
# an unprivileged user's cbctl and programs on root's segment.
#
# What must hold: the shim passes through with exactly one "cbshim:" line,
# cbctl exits 1 with "cbctl: segment NAME: why", nobody writes to a
# segment they should not (checksums before and after), nothing crashes or
# hangs.  Tests that act as another user run as nobody/nogroup (setpriv),
# on copies staged where nobody can reach them (stage_for_others).

load common
bats_require_minimum_version 1.5.0

NOBODY=(setpriv --reuid=nobody --regid=nogroup --clear-groups)
NOBODY_SEG=/dev/shm/cbshim-$(id -u nobody)
PRELIB=

setup() {
	cb_setup
	# nobody's default segment is the test's to make: keep any real one
	if [ -e "$NOBODY_SEG" ] || [ -L "$NOBODY_SEG" ]; then
		mv "$NOBODY_SEG" "$BATS_TEST_TMPDIR/saved-nobody-seg"
	fi
}

teardown() {
	rm -f "$NOBODY_SEG"
	if [ -e "$BATS_TEST_TMPDIR/saved-nobody-seg" ]; then
		mv "$BATS_TEST_TMPDIR/saved-nobody-seg" "$NOBODY_SEG"
	fi
	[ -n "$PRELIB" ] && rm -f "$PRELIB"
	[ -n "${SEGPATH:-}" ] && { rm -rf "$SEGPATH"; rm -f "$SEGPATH"; }
	cb_teardown
}


seg() { echo "/dev/shm${CBSHIM_SHM}"; }

# fingerprint PATH: what nobody may change: type, mode, owner, size, and
# the bytes of a regular file (without opening anything else).
fingerprint() {
	stat -c '%F %a %u %g %s' "$1"
	if [ -f "$1" ] && [ ! -L "$1" ]; then
		md5sum <"$1"
	fi
}

# real_segment: a valid segment with two breakers, made by cbctl.
real_segment() {
	"$CBCTL" trip 127.0.0.1:9 >/dev/null
	"$CBCTL" trip '[::1]:10' --hold >/dev/null
}

# poke OFFSET HEX: overwrite bytes of the segment in place.
poke() {
	printf "$2" | dd of="$(seg)" bs=1 seek="$1" conv=notrunc 2>/dev/null
}

# refused WHY: the segment is refused everywhere, and left as it was.
# WHY is a glob for the reason both the shim and cbctl give.
refused() {
	local why=$1 before cmd port
	before=$(fingerprint "$(seg)")
	port=$(free_port)
	server accept "$port"
	# a program: works, one warning
	run --separate-stderr timeout 10 env LD_PRELOAD="$CBSHIM_LIB" \
		"$HELPERS/cbclient" -n 3 127.0.0.1 "$port"
	assert_success
	[ "$(grep -c ' ok ' <<<"$output")" = 3 ]
	[ "$(grep -c '^cbshim: ' <<<"$stderr")" = 1 ]
	[[ $stderr == "cbshim: segment $CBSHIM_SHM: "$why*"; passing through"* ]]
	# a program with threads made before and after its first connect
	run --separate-stderr timeout 10 env LD_PRELOAD="$CBSHIM_LIB" \
		"$HELPERS/procs" threads "$port" 3 3 5
	assert_success
	assert_output "connects=31 ok=31"
	[ "$(grep -c '^cbshim: ' <<<"$stderr")" = 1 ]
	# every cbctl command that uses a segment: exit 1, the reason, no output
	for cmd in list "list --json" "show 127.0.0.1:9" "show 127.0.0.1:9 --json" \
		   metrics events "events --json" "watch --count 1" \
		   "trip 127.0.0.1:9" "trip 127.0.0.1:11 --hold" "reset 127.0.0.1:9" \
		   "reset --all" reload; do
		run --separate-stderr timeout 5 "$CBCTL" $cmd
		echo "cbctl $cmd: $status $stderr"
		assert_failure 1
		[ -z "$output" ]
		[[ $stderr == "cbctl: segment $CBSHIM_SHM: "$why* ]]
	done
	[ "$(fingerprint "$(seg)")" = "$before" ]
}

# ---- bad segments --------------------------------------------------------

@test "garbage_segment: refused by the shim and cbctl, never written" {
	head -c 200000 /dev/urandom >"$(seg)"
	chmod 600 "$(seg)"
	refused "not a cbshim segment"
}

@test "truncated_segment: a real segment cut short is refused, never written" {
	real_segment
	truncate -s 8192 "$(seg)"
	refused "size 8192, header says"
}

@test "grown_segment: a real segment with a page added is refused, never written" {
	real_segment
	truncate -s "+4096" "$(seg)"
	refused "size "
}

@test "empty_segment: a zero-length file is refused, never written" {
	: >"$(seg)"
	chmod 600 "$(seg)"
	refused "too small (0 bytes)"
}

@test "another_layout_version: the version word patched to 7 is refused, never written" {
	real_segment
	poke 8 '\x07\x00\x00\x00'
	refused "layout version 7, this build uses "
}

@test "corrupt_header: a capacity that does not match the size is refused, never written" {
	real_segment
	poke 32 '\x00\x01\x00\x00'	# capacity 256
	refused "corrupt header"
}

@test "writable_by_anybody: a real segment of mode 0666 or 0602 is refused, never written or re-moded" {
	real_segment
	chmod 0666 "$(seg)"
	refused "segment is writable by anybody (mode 0666)"
	chmod 0602 "$(seg)"
	refused "segment is writable by anybody (mode 0602)"
}

@test "symlink_segment: a symlink at the name is never followed, its target never written" {
	echo precious >"$BATS_TEST_TMPDIR/victim"
	ln -s "$BATS_TEST_TMPDIR/victim" "$(seg)"
	refused "cannot open"
	[ "$(cat "$BATS_TEST_TMPDIR/victim")" = precious ]
	[ -L "$(seg)" ]
}

@test "fifo_segment: a FIFO planted at the name hangs nothing and is refused" {
	mkfifo -m 600 "$(seg)"
	refused ""
	[ -p "$(seg)" ]
}

@test "directory_segment: a directory at the name is refused" {
	mkdir -m 700 "$(seg)"
	SEGPATH=$(seg)
	refused ""
	[ -d "$(seg)" ]
}

@test "hostile_contents: a valid header over random slots and ring crashes and hangs nothing" {
	port=$(free_port)
	server echo "$port"
	real_segment
	for round in 1 2 3; do
		# keep the header (whose offsets say where the rest is), then
		# fill everything after it with random bytes
		$PY - "$(seg)" "$round" <<'PYEOF'
import os, random, struct, sys
path = sys.argv[1]
random.seed(int(sys.argv[2]))
with open(path, "r+b") as f:
    head = f.read(64)
    ring_off = struct.unpack_from("<Q", head, 48)[0]
    size = os.fstat(f.fileno()).st_size
    f.seek(ring_off)
    # round 1: every byte random; rounds 2, 3: one word in four
    if sys.argv[2] == "1":
        f.write(random.randbytes(size - ring_off))
    else:
        for off in range(ring_off, size - 8, 8):
            if random.random() < 0.25:
                f.seek(off)
                f.write(random.randbytes(8))
PYEOF
		for m in block sockerr send abandon fastopen; do
			run timeout 10 env LD_PRELOAD="$CBSHIM_LIB" \
				"$HELPERS/cbclient" -m "$m" -t 20 -n 3 127.0.0.1 "$port"
			assert_success
		done
		run timeout 20 env LD_PRELOAD="$CBSHIM_LIB" "$HELPERS/resources" \
			-a 200 127.2.0.1 "$port"
		assert_success
		run timeout 10 env LD_PRELOAD="$CBSHIM_LIB" "$HELPERS/procs" \
			threads "$port" 2 2 20
		[ "$status" -le 1 ]
		for cmd in list "list --json" "show 127.0.0.1:9" metrics events \
			   "events --json" "watch --count 1" "reset --all" reload; do
			run --separate-stderr timeout 5 "$CBCTL" $cmd
			echo "cbctl $cmd: $status"
			[ "$status" -le 1 ]
		done
	done
}

# ---- secure execution ------------------------------------------------------

# trusted_shim: install the shim where ld.so loads it even into setuid and
# setgid programs (a standard directory, the file itself set-user-ID), so
# that the shim's own AT_SECURE check is what is tested, not ld.so's
# refusal of a preload path with a slash.  Sets PRELIB (removed in
# teardown) and prints the LD_PRELOAD value to use.
trusted_shim() {
	PRELIB=/usr/lib/libcbshim-sectest-$$-$BATS_TEST_NUMBER.so
	install -m 4755 "$CBSHIM_LIB" "$PRELIB"
}

@test "secure_execution_with_the_shim_loaded: setuid and setgid copies load the shim, which does nothing" {
	trusted_shim
	pre=${PRELIB##*/}
	port=$(free_port)
	server accept "$port"
	"$CBCTL" trip "127.0.0.1:$port" --hold >/dev/null
	chmod 755 "$BATS_TEST_TMPDIR"
	cp "$HELPERS/resources" "$BATS_TEST_TMPDIR/suid"
	chown nobody "$BATS_TEST_TMPDIR/suid"
	chmod 4755 "$BATS_TEST_TMPDIR/suid"
	cp "$HELPERS/resources" "$BATS_TEST_TMPDIR/sgid"
	chgrp nogroup "$BATS_TEST_TMPDIR/sgid"
	chmod 2755 "$BATS_TEST_TMPDIR/sgid"
	# the control: the same preload in an ordinary program is enforced
	run env LD_PRELOAD="$pre" "$HELPERS/resources" -M 127.0.0.1 "$port"
	assert_line --index 0 "shim=yes"
	assert_line --index 1 --regexp '^0 ECONNREFUSED fd=[0-9]+$'
	for b in suid sgid; do
		run --separate-stderr env LD_PRELOAD="$pre" "$BATS_TEST_TMPDIR/$b" \
			-M -n 2 127.0.0.1 "$port"
		assert_success
		assert_line --index 0 "shim=yes"
		assert_line --index 1 --regexp '^0 ok fd=[0-9]+$'
		assert_line --index 2 --regexp '^1 ok fd=[0-9]+$'
		[ "${#lines[@]}" -eq 3 ]
		[ -z "$stderr" ]
	done
	[ "$(field "127.0.0.1:$port" rejected_calls)" = 1 ]
	# nor does it create or touch any segment
	fresh=/cbtest-sec-$$-fresh
	for b in suid sgid; do
		run env CBSHIM_SHM="$fresh" LD_PRELOAD="$pre" "$BATS_TEST_TMPDIR/$b" \
			-n 1 127.0.0.1 "$port"
		assert_success
		[ ! -e "/dev/shm$fresh" ]
	done
}

# ---- modes and owners --------------------------------------------------------

@test "default_segment_is_the_callers_and_0600: made by nobody's program and cbctl, whatever the umask" {
	stage_for_others
	port=$(free_port)
	server accept "$port"
	run env -u CBSHIM_SHM CBSHIM_CONFIG=/dev/null "${NOBODY[@]}" sh -c \
		'umask 000; exec env LD_PRELOAD="$1" "$2" -n 1 127.0.0.1 "$3"' \
		_ "$CBSHIM_LIB" "$HELPERS/cbclient" "$port"
	assert_success
	assert_line --index 0 --regexp '^0 ok '
	[ "$(stat -c '%a %u %g' "$NOBODY_SEG")" = "600 65534 65534" ]
	rm -f "$NOBODY_SEG"
	run env -u CBSHIM_SHM CBSHIM_CONFIG=/dev/null "${NOBODY[@]}" sh -c \
		'umask 000; exec "$1" trip 127.0.0.1:9' _ "$CBCTL"
	assert_success
	[ "$(stat -c '%a %u %g' "$NOBODY_SEG")" = "600 65534 65534" ]
	# and a named one, as root
	(umask 000; shimmed "$HELPERS/cbclient" -n 1 127.0.0.1 "$port" >/dev/null)
	[ "$(stat -c '%a %u' "$(seg)")" = "600 0" ]
	[ "$(find /dev/shm -maxdepth 1 -name '.cbshim-new-*' -newer "$BATS_TEST_TMPDIR" | wc -l)" = 0 ]
}

@test "configured_mode_is_exact: shm.mode 0640 under umask 077, 0660 under umask 000" {
	printf 'shm = { mode = "0640"; };\n' >"$BATS_TEST_TMPDIR/m.conf"
	# a TCP connect (the first one creates the segment; a UDP one does not)
	(umask 077; CBSHIM_CONFIG=$BATS_TEST_TMPDIR/m.conf shimmed "$HELPERS/cbclient" 127.0.0.1 "$(free_port)" >/dev/null)
	[ "$(stat -c '%a' "$(seg)")" = 640 ]
	rm -f "$(seg)"
	printf 'shm = { mode = "0660"; };\n' >"$BATS_TEST_TMPDIR/m.conf"
	(umask 000; CBSHIM_CONFIG=$BATS_TEST_TMPDIR/m.conf "$CBCTL" trip 127.0.0.1:9 >/dev/null)
	[ "$(stat -c '%a' "$(seg)")" = 660 ]
}

@test "another_users_default_segment: root's segment at nobody's default name is refused by nobody" {
	stage_for_others
	"$CBCTL" --shm "/cbshim-65534" trip 127.0.0.1:9 >/dev/null
	chgrp nogroup "$NOBODY_SEG"
	chmod 0660 "$NOBODY_SEG"	# nobody can open it read-write
	before=$(fingerprint "$NOBODY_SEG")
	port=$(free_port)
	server accept "$port"
	run --separate-stderr env -u CBSHIM_SHM CBSHIM_CONFIG=/dev/null "${NOBODY[@]}" \
		env LD_PRELOAD="$CBSHIM_LIB" "$HELPERS/cbclient" -n 3 127.0.0.1 "$port"
	assert_success
	[ "$(grep -c ' ok ' <<<"$output")" = 3 ]
	[[ $stderr == "cbshim: segment /cbshim-65534: segment belongs to uid 0, not 65534; refusing it; passing through"* ]]
	[ "$(grep -c '^cbshim: ' <<<"$stderr")" = 1 ]
	for cmd in list "show 127.0.0.1:9" metrics events "trip 127.0.0.1:9" "reset --all" reload; do
		run --separate-stderr env -u CBSHIM_SHM CBSHIM_CONFIG=/dev/null \
			"${NOBODY[@]}" "$CBCTL" $cmd
		assert_failure 1
		[ -z "$output" ]
		[[ $stderr == "cbctl: segment /cbshim-65534: segment belongs to uid 0, not 65534; refusing it"* ]]
	done
	[ "$(fingerprint "$NOBODY_SEG")" = "$before" ]
}

# ---- without permission ----------------------------------------------------

@test "cbctl_without_permission: nobody on root's 0600 segment, every command exits 1, nothing changes" {
	stage_for_others
	real_segment
	before=$(fingerprint "$(seg)")
	for cmd in list "list --json" "show 127.0.0.1:9" metrics events "watch --count 1" \
		   "trip 127.0.0.1:9" "reset 127.0.0.1:9" "reset --all" reload; do
		run --separate-stderr env CBSHIM_CONFIG=/dev/null "${NOBODY[@]}" "$CBCTL" $cmd
		assert_failure 1
		[ -z "$output" ]
		[ "$stderr" = "cbctl: segment $CBSHIM_SHM: cannot open: Permission denied" ]
	done
	run --separate-stderr env CBSHIM_CONFIG=/dev/null "${NOBODY[@]}" "$CBCTL" destroy
	assert_failure 1
	[ "$stderr" = "cbctl: segment $CBSHIM_SHM: cannot remove: Permission denied" ]
	[ "$(fingerprint "$(seg)")" = "$before" ]
}

@test "cbctl_read_only_permission: nobody may read root's 0644 segment, not change it" {
	stage_for_others
	real_segment
	chmod 0644 "$(seg)"
	before=$(fingerprint "$(seg)")
	run env CBSHIM_CONFIG=/dev/null "${NOBODY[@]}" "$CBCTL" list
	assert_success
	assert_line --regexp '^127\.0\.0\.1:9 +- +open '
	for cmd in "trip 127.0.0.1:9" "trip 127.0.0.1:12" "reset 127.0.0.1:9" "reset --all" reload destroy; do
		run --separate-stderr env CBSHIM_CONFIG=/dev/null "${NOBODY[@]}" "$CBCTL" $cmd
		assert_failure 1
		[[ $stderr == "cbctl: "*"Permission denied"* ]]
	done
	[ "$(fingerprint "$(seg)")" = "$before" ]
}

@test "program_without_permission: nobody's shimmed program on root's 0600 segment passes through" {
	stage_for_others
	real_segment
	before=$(fingerprint "$(seg)")
	port=$(free_port)
	server accept "$port"
	run --separate-stderr env CBSHIM_CONFIG=/dev/null "${NOBODY[@]}" \
		env LD_PRELOAD="$CBSHIM_LIB" "$HELPERS/cbclient" -n 3 127.0.0.1 "$port"
	assert_success
	[ "$(grep -c ' ok ' <<<"$output")" = 3 ]
	[ "$stderr" = "cbshim: segment $CBSHIM_SHM: cannot open: Permission denied; passing through" ]
	[ "$(fingerprint "$(seg)")" = "$before" ]
}
