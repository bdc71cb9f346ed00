#!/usr/bin/env bats
# cbctl.bats - the operator's tool, one behaviour a test: every command,
# every error exit, against breakers made by cbctl itself and by shimmed
# programs (build/libcbshim.so with tests/helpers/cbclient).

load common

bats_require_minimum_version 1.5.0

# EXTRA_SHM: another segment a test made, removed too.
teardown() {
	[ -n "${EXTRA_SHM:-}" ] && rm -f "/dev/shm$EXTRA_SHM"
	cb_teardown
}


seg() { echo "/dev/shm${CBSHIM_SHM}"; }

# refused N: N shimmed connects to 127.0.0.1:PORT where nothing listens.
refused() {
	"$CBCTL" run -- "$HELPERS/cbclient" -n "$1" 127.0.0.1 "$2" >/dev/null
}

# pyjson EXPR: evaluate EXPR with d = the JSON document on stdin.
pyjson() {
	$PY -c 'import json,sys; d=json.load(sys.stdin); print(eval(sys.argv[1]))' "$1"
}

# ---- global usage ------------------------------------------------------

@test "help_goes_to_stdout: --help prints every command and exits 0" {
	run --separate-stderr "$CBCTL" --help
	assert_success
	[ -z "$stderr" ]
	for c in list show trip reset forget watch events metrics serve run check-config reload destroy; do
		assert_output --partial "  $c "
	done
}

@test "command_help: every command's --help prints its usage to stdout, exit 0" {
	for c in list show trip reset forget watch events metrics serve run check-config reload destroy; do
		run --separate-stderr "$CBCTL" "$c" --help
		assert_success
		assert_output --partial "usage: cbctl [--shm NAME] $c"
		[ -z "$stderr" ]
	done
}

# complete WORDS...: what the bash completion offers for the last word.
complete_words() {
	bash -c '
		source /usr/share/bash-completion/bash_completion
		source "$1"; shift
		COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1))
		COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}
		_cbctl; printf "%s\n" "${COMPREPLY[@]}"' _ "$TOP/contrib/cbctl.bash-completion" "$@"
}

# The command table as cbctl states it, one "CMD --opt ..." line per
# command (its options sorted, --help left out): from each command's
# --help options block (table) or its usage line (synopsis).
table_options() {	# table | synopsis
	local c opts
	for c in $("$CBCTL" --help | sed -n '/^commands:/,/^$/s/^  \([a-z][a-z-]*\) .*/\1/p'); do
		if [ "$1" = table ]; then
			opts=$("$CBCTL" "$c" --help | sed -n '/^options:/,$s/^  \(--[a-z-]*\).*/\1/p')
		else
			opts=$("$CBCTL" "$c" --help | head -1 |
				sed 's/^usage: cbctl \[--shm NAME\] //' | grep -o -- '--[a-z][a-z-]*' || true)
		fi
		opts=$(echo "$opts" | { grep -vx -- --help || true; } | sort -u | tr '\n' ' ')
		echo "$c $opts" | sed 's/ *$//'
	done
}

@test "command_table_matches_completion_and_man_page: same commands and options in the table, usage, bash completion and cbctl(1)" {
	table=$(table_options table)
	[ "$(echo "$table" | wc -l)" -ge 13 ]
	echo "$table" | grep -qx 'trip --for --hold'
	# the synopsis each command's usage prints names exactly its options
	diff <(echo "$table") <(table_options synopsis)
	# bash completion: the commands, then each command's options
	diff <(echo "$table" | cut -d' ' -f1 | sort) <(complete_words "$CBCTL" "" | sort)
	completion=$(for c in $(echo "$table" | cut -d' ' -f1); do
		opts=$(complete_words "$CBCTL" "$c" -- | { grep -vx -- '--\|--help' || true; } | sort | tr '\n' ' ')
		echo "$c $opts" | sed 's/ *$//'
	done)
	diff <(echo "$table") <(echo "$completion")
	diff <(printf '%s\n' --help --shm --version) <(complete_words "$CBCTL" -- | sort)
	# cbctl(1): each command's line in SYNOPSIS and its item in COMMANDS
	for part in synopsis commands; do
		$PY - "$TOP/man/cbctl.1" "$part" >"$BATS_TEST_TMPDIR/man" <<-'PY'
		import re, sys
		text = open(sys.argv[1]).read()
		syn = text.split(".Sh SYNOPSIS")[1].split(".Sh ")[0]
		cmds = text.split(".Sh COMMANDS")[1].split(".Sh ")[0]
		if sys.argv[2] == "synopsis":
		    # one command per ".Nm" paragraph that names one with .Cm
		    parts = [p for p in syn.split(".Nm\n") if ".Cm " in p]
		else:
		    parts = [l for l in cmds.splitlines() if l.startswith(".It Cm ")]
		for p in parts:
		    name = re.search(r"Cm ([a-z-]+)", p).group(1)
		    opts = sorted(set("--" + o for o in re.findall(r"\\-([a-z][a-z-]*)", p)))
		    print(" ".join([name] + opts))
		PY
		diff <(echo "$table") "$BATS_TEST_TMPDIR/man"
	done
	# and its global synopsis the global options
	run $PY -c '
import re, sys
syn = open(sys.argv[1]).read().split(".Sh SYNOPSIS")[1].split(".Cm")[0]
print(" ".join(sorted(set(re.findall(r"\\-([a-z]+)", syn)))))' "$TOP/man/cbctl.1"
	assert_output "help shm version"
}

@test "completion_after_shm_equals: --shm=NAME (split by bash at =) still completes the command and that segment's destinations" {
	other="/cbtest-other-$$-$RANDOM"
	EXTRA_SHM=$other
	"$CBCTL" --shm "$other" trip 127.0.0.3:9 >/dev/null
	run complete_words "$CBCTL" --shm = "$other" trip ""
	assert_output "127.0.0.3:9"
	run complete_words "$CBCTL" --shm "$other" trip ""
	assert_output "127.0.0.3:9"
	run complete_words "$CBCTL" --shm = "$other" tr
	assert_output "trip"
	run complete_words "$CBCTL" --shm = "${other%?}"
	assert_output "$other"
}

@test "version: --version prints the version" {
	run "$CBCTL" --version
	assert_success
	assert_output --regexp '^cbctl [0-9]+\.[0-9]+\.[0-9]+$'
}

@test "no_command_is_misuse: usage on stderr, exit 2, nothing on stdout" {
	run --separate-stderr "$CBCTL"
	assert_failure 2
	[ -z "$output" ]
	[[ $stderr == *"cbctl: no command"* ]]
	[[ $stderr == *"usage: cbctl"* ]]
}

@test "unknown_command_is_misuse: exit 2" {
	run --separate-stderr "$CBCTL" frobnicate
	assert_failure 2
	[ -z "$output" ]
	[[ $stderr == *'cbctl: unknown command "frobnicate"'* ]]
}

@test "unknown_option_is_misuse: global and per command, exit 2" {
	run --separate-stderr "$CBCTL" --bogus list
	assert_failure 2
	[[ $stderr == *"cbctl: unknown option --bogus"* ]]
	for c in list show trip reset forget watch events metrics serve run check-config reload destroy; do
		run --separate-stderr "$CBCTL" "$c" --bogus
		assert_failure 2
		[ -z "$output" ]
		[[ $stderr == "cbctl: $c: unknown option --bogus"* ]]
	done
}

@test "global_option_after_the_command: --shm after the command says where it goes" {
	for a in "list --shm /x" "show 127.0.0.1:9 --shm=/x" "events --follow --shm /x"; do
		run --separate-stderr "$CBCTL" $a
		assert_failure 2
		[ -z "$output" ]
		[[ $stderr == "cbctl: ${a%% *}: --shm goes before the command (cbctl --shm NAME ${a%% *} ...)"* ]]
	done
}

@test "missing_option_value_is_misuse: --shm, --for, --interval, --count, --config" {
	run --separate-stderr "$CBCTL" --shm
	assert_failure 2
	[[ $stderr == *"missing value for --shm"* ]]
	for a in "trip 1.2.3.4:5 --for" "watch --interval" "watch --count" "run --config"; do
		run --separate-stderr "$CBCTL" $a
		assert_failure 2
		[[ $stderr == *"missing value for --"* ]]
	done
}

@test "option_value_given_twice_is_misuse: --shm, --for, --interval, --count, --listen, run's --config and --shm; a flag twice is fine" {
	for a in "--shm /a --shm /b list" "trip 127.0.0.1:9 --for 5s --for 10s" \
		"watch --interval 1 --interval 2" "watch --count 1 --count 2" \
		"serve --listen :0 -l :0" "run --config /dev/null --config /dev/null -- true" \
		"run --shm /a --shm /b -- true"; do
		run --separate-stderr "$CBCTL" $a
		assert_failure 2
		[ -z "$output" ]
		[[ $stderr == "cbctl: "*"given twice"* ]] || { echo "$a: $stderr"; false; }
	done
	run "$CBCTL" trip 127.0.0.1:9 --hold --hold
	assert_success
	run "$CBCTL" list --json --json
	assert_success
	# the global --shm and run's own are two options
	run "$CBCTL" --shm /cbtest-a run --shm /cbtest-b -- sh -c 'echo "$CBSHIM_SHM"'
	assert_success
	assert_output /cbtest-b
}

@test "extra_arguments_are_misuse: list, metrics, reload, destroy, events, watch, check-config" {
	for a in "list x" "metrics x" "reload x" "destroy x" "events x" "watch x" "check-config a b" "show 1.2.3.4:5 1.2.3.4:6"; do
		run --separate-stderr "$CBCTL" $a
		assert_failure 2
		[ -z "$output" ]
	done
}

@test "bad_shm_name_is_misuse: --shm without a leading slash or with another slash" {
	for n in bad /a/b / ""; do
		run --separate-stderr "$CBCTL" --shm "$n" list
		assert_failure 2
		[[ $stderr == *"bad segment name"* ]]
	done
}

# ---- the segment: missing, garbage, foreign, permission ----------------

@test "missing_segment: every command that needs one fails with exit 1 and says so" {
	for a in list "show 127.0.0.1:9" "reset 127.0.0.1:9" "reset --all" watch events metrics reload destroy; do
		run --separate-stderr "$CBCTL" $a
		assert_failure 1
		[ -z "$output" ]
		[[ $stderr == "cbctl: segment $CBSHIM_SHM: no such segment"* ]]
	done
	run --separate-stderr "$CBCTL" list
	[ "$stderr" = "cbctl: segment $CBSHIM_SHM: no such segment (no program has used cbshim with it yet)" ]
}

@test "garbage_segment: refused with the reason and a hint; destroy removes it" {
	head -c 200000 /dev/urandom >"$(seg)"
	for a in list "show 127.0.0.1:9" events metrics watch "trip 127.0.0.1:9" "reset --all" reload; do
		run --separate-stderr "$CBCTL" $a
		assert_failure 1
		[ -z "$output" ]
		[[ $stderr == *"not a cbshim segment"*"(cbctl destroy removes it)"* ]]
	done
	run "$CBCTL" destroy
	assert_success
	assert_output "removed segment $CBSHIM_SHM"
	[ ! -e "$(seg)" ]
}

@test "tiny_segment: a few bytes are refused as too small" {
	printf 'xx' >"$(seg)"
	run --separate-stderr "$CBCTL" list
	assert_failure 1
	[[ $stderr == *"too small (2 bytes)"*"(cbctl destroy removes it)"* ]]
}

@test "truncated_segment: a real segment cut short is refused" {
	"$CBCTL" trip 127.0.0.1:9 >/dev/null
	truncate -s 8192 "$(seg)"
	run --separate-stderr "$CBCTL" list
	assert_failure 1
	[[ $stderr == *"size 8192, header says"*"(truncated?)"*"(cbctl destroy removes it)"* ]]
	run "$CBCTL" destroy
	assert_success
}

@test "foreign_version_segment: another layout version is refused, destroy removes it" {
	"$CBCTL" trip 127.0.0.1:9 >/dev/null
	# the layout version is the 32-bit word after the 8-byte magic
	printf '\x07\x00\x00\x00' | dd of="$(seg)" bs=1 seek=8 conv=notrunc 2>/dev/null
	run --separate-stderr "$CBCTL" show 127.0.0.1:9
	assert_failure 1
	[[ $stderr == *"layout version 7, this build uses"*"(cbctl destroy removes it)"* ]]
	run "$CBCTL" destroy
	assert_success
	[ ! -e "$(seg)" ]
}

@test "permission_denied: another user cannot read a 0600 segment, exit 1" {
	stage_for_others
	"$CBCTL" trip 127.0.0.1:9 >/dev/null
	chmod 0600 "$(seg)"
	run --separate-stderr setpriv --reuid=65534 --regid=65534 --clear-groups \
		env CBSHIM_CONFIG=/dev/null "$CBCTL" list
	assert_failure 1
	[[ $stderr == "cbctl: segment $CBSHIM_SHM: cannot open: Permission denied" ]]
	run --separate-stderr setpriv --reuid=65534 --regid=65534 --clear-groups \
		env CBSHIM_CONFIG=/dev/null "$CBCTL" destroy
	assert_failure 1
	[ -e "$(seg)" ]
}

@test "readers_never_write: list, show, events, metrics, watch leave the segment byte for byte" {
	port=$(free_port)
	refused 6 "$port"
	"$CBCTL" trip 127.0.0.1:9 --hold >/dev/null
	before=$(md5sum <"$(seg)")
	"$CBCTL" list >/dev/null
	"$CBCTL" list --json >/dev/null
	"$CBCTL" show "127.0.0.1:$port" >/dev/null
	"$CBCTL" show "127.0.0.1:$port" --json >/dev/null
	"$CBCTL" events >/dev/null
	"$CBCTL" metrics >/dev/null
	"$CBCTL" watch --count 2 --interval 0.05 >/dev/null
	[ "$(md5sum <"$(seg)")" = "$before" ]
}

@test "garbage_slots: a valid header over random slots and ring: readers survive, output parses, nothing written" {
	"$CBCTL" trip 127.0.0.1:9 >/dev/null
	# keep the header (the first 700 bytes), randomise the ring and slots
	$PY -c '
import os, sys
p = sys.argv[1]; n = os.path.getsize(p)
with open(p, "r+b") as f:
    f.seek(700); f.write(os.urandom(n - 700))' "$(seg)"
	before=$(md5sum <"$(seg)")
	run "$CBCTL" list
	assert_success
	"$CBCTL" list --json | $PY -c 'import json, sys; assert isinstance(json.load(sys.stdin), list)'
	"$CBCTL" metrics | $PY -c '
import sys
from prometheus_client.parser import text_string_to_metric_families
list(text_string_to_metric_families(sys.stdin.read()))'
	"$CBCTL" events --json | $PY -c 'import json, sys; [json.loads(l) for l in sys.stdin]'
	run "$CBCTL" watch --count 1
	assert_success
	[ "$(md5sum <"$(seg)")" = "$before" ]
}

# ---- segment name ------------------------------------------------------

@test "shm_option_wins: --shm overrides CBSHIM_SHM" {
	other="/cbtest-other-$$-$RANDOM"
	EXTRA_SHM=$other
	run "$CBCTL" --shm "$other" trip 127.0.0.1:9
	assert_success
	[ -e "/dev/shm$other" ]
	[ ! -e "$(seg)" ]
	run "$CBCTL" --shm "$other" destroy
	assert_success
}

@test "config_shm_name: without --shm or CBSHIM_SHM the config's shm.name is used" {
	name="/cbtest-conf-$$-$RANDOM"
	EXTRA_SHM=$name
	conf "shm = { name = \"$name\"; };"
	run env -u CBSHIM_SHM "$CBCTL" trip 127.0.0.1:9
	assert_success
	[ -e "/dev/shm$name" ]
	run env -u CBSHIM_SHM "$CBCTL" destroy
	assert_success
	assert_output "removed segment $name"
}

@test "default_name: /cbshim-UID of the real user when nothing names a segment" {
	stage_for_others
	run --separate-stderr setpriv --reuid=65534 --regid=65534 --clear-groups \
		env -u CBSHIM_SHM CBSHIM_CONFIG=/dev/null "$CBCTL" list
	assert_failure 1
	[[ $stderr == "cbctl: segment /cbshim-65534: no such segment"* ]]
}

@test "bad_config_for_name: a bad config without --shm fails with its FILE:LINE" {
	conf 'shm = { name = 42; };'
	run --separate-stderr env -u CBSHIM_SHM "$CBCTL" list
	assert_failure 1
	[[ $stderr == "cbctl: $CBSHIM_CONFIG:1: "* ]]
}

# ---- DEST --------------------------------------------------------------

@test "bad_dest_forms: usage error, exit 2, cbctl: on stderr, nothing on stdout" {
	"$CBCTL" trip 127.0.0.1:9 >/dev/null
	for d in 127.0.0.1 127.0.0.1: 127.0.0.1:0 127.0.0.1:65536 127.0.0.1:99999999999 \
		127.0.0.1:-1 127.0.0.1:+80 127.0.0.1:000080 '127.0.0.1:80 ' 127.0.0.1:http ::1:80 '[::1]' \
		'[::1]80' '[::1:80' '[1.2.3.4]:80' '[zz::1]:80' 10.1:80 1.2.3.256:80 \
		'a b:80' ':80' '[]:80' '' '[fe80::1%nosuchif0]:80' '[::1%lo]:80' 'bad..name:80' \
		"$(printf 'a\033[2Jb:80')" -x:80; do
		for c in show trip reset; do
			run --separate-stderr "$CBCTL" "$c" -- "$d"
			[ "$status" -eq 2 ] || { echo "$c '$d': status $status"; false; }
			[ -z "$output" ] || { echo "$c '$d': stdout: $output"; false; }
			[[ $stderr == "cbctl: bad destination"* ]] || { echo "$c '$d': $stderr"; false; }
		done
	done
}

@test "scoped_dest_says_what_is_wrong: the interface or the address, not just 'bad IPv6 address'" {
	why() {		# DEST REASON
		run --separate-stderr "$CBCTL" trip "$1"
		assert_failure 2
		[ -z "$output" ]
		[ "${stderr%%$'\n'*}" = "cbctl: bad destination \"$1\": $2" ]
	}
	why '[fe80::1%nosuchif0]:80' 'no such interface after %'
	why '[fe80::1%]:80' 'no interface after %'
	why '[fe80::1%0]:80' 'bad interface index after %'
	why '[fe80::1%4294967296]:80' 'bad interface index after %'
	why '[::1%lo]:80' 'a scope (%IFACE) goes only on a link-local address, like fe80::1'
	why '[fe80::zz%lo]:80' 'bad IPv6 address'
	# an index is taken as given: list shows one whose interface is gone
	run "$CBCTL" trip '[fe80::1%1]:80'
	assert_success
	assert_output '[fe80::1%lo]:80: open for 30.0s'
	run "$CBCTL" trip '[fe80::1%4000000]:80'
	assert_success
	assert_output '[fe80::1%4000000]:80: open for 30.0s'
	run "$CBCTL" reset '[fe80::1%4000000]:80'
	assert_success
}

@test "unresolvable_host: a name that does not resolve is a usage error" {
	run --separate-stderr "$CBCTL" show no-such-host.invalid:80
	if [ "$status" -eq 1 ]; then
		# no resolver reachable at all: a runtime failure, said so
		[[ $stderr == *"cannot resolve the host: Temporary failure"* ]]
		return
	fi
	assert_failure 2
	[ -z "$output" ]
	[[ $stderr == 'cbctl: bad destination "no-such-host.invalid:80": cannot resolve the host: '* ]]
}

@test "dest_message_is_safe: control characters in DEST are shown as \\x escapes" {
	run --separate-stderr "$CBCTL" show "$(printf 'a\033[2Jb:80')"
	assert_failure 2
	[[ $stderr == *'bad destination "a\x1b[2Jb:80"'* ]]
	[[ $stderr != *$'\033'* ]]
}

@test "ipv6_dest: [v6]:port trips and shows an IPv6 breaker" {
	run "$CBCTL" trip '[::1]:8080'
	assert_success
	assert_output --partial '[::1]:8080: open'
	[ "$(field '[::1]:8080' dest)" = '[::1]:8080' ]
	[ "$(field '[0:0::1]:8080' state)" = open ]
}

@test "v4_mapped_dest: [::ffff:a.b.c.d]:port is the IPv4 breaker" {
	"$CBCTL" trip 127.0.0.1:9 >/dev/null
	[ "$(field '[::ffff:127.0.0.1]:9' dest)" = 127.0.0.1:9 ]
}

@test "hostname_dest: localhost:PORT means its addresses" {
	"$CBCTL" trip 127.0.0.1:9 >/dev/null
	run "$CBCTL" show localhost:9 --json
	assert_success
	# one object for one address, an array for several
	echo "$output" | $PY -c '
import json, sys
d = json.load(sys.stdin)
d = d if isinstance(d, list) else [d]
assert "127.0.0.1:9" in [x["dest"] for x in d], d'
}

# ---- trip --------------------------------------------------------------

@test "trip_creates: the segment and an open breaker with the default policy" {
	run "$CBCTL" trip 127.0.0.1:9
	assert_success
	assert_output "127.0.0.1:9: open for 30.0s"
	[ -e "$(seg)" ]
	[ "$(stat -c %a "$(seg)")" = 600 ]
	[ "$(state 127.0.0.1:9)" = open ]
	[ "$(field 127.0.0.1:9 hold)" = False ]
	left=$(field 127.0.0.1:9 open_remaining_ms)
	[ "$left" -gt 25000 ] && [ "$left" -le 30000 ]
	[ "$(field 127.0.0.1:9 state_transitions)" = 1 ]
}

@test "trip_config: the segment gets the config's mode and capacity, the breaker its rule's policy" {
	conf 'shm = { mode = "0640"; max_breakers = 7; };
defaults = { failure_threshold = 4; open_timeout = "20s"; };
rules = ( { match = "10.1.0.0/16:5432"; failure_threshold = 2; open_timeout = "5s"; mode = "observe"; } );'
	run "$CBCTL" trip 10.1.2.3:5432
	assert_success
	assert_output --partial "10.1.2.3:5432: open for 5.0s (mode observe"
	"$CBCTL" trip 10.2.0.1:5432 >/dev/null
	[ "$(stat -c %a "$(seg)")" = 640 ]
	run "$CBCTL" show 10.1.2.3:5432 --json
	[ "$(echo "$output" | pyjson 'd["policy"]["failure_threshold"]')" = 2 ]
	[ "$(echo "$output" | pyjson 'd["policy"]["open_timeout_ms"]')" = 5000 ]
	[ "$(echo "$output" | pyjson 'd["policy"]["mode"]')" = observe ]
	run "$CBCTL" show 10.2.0.1:5432 --json
	[ "$(echo "$output" | pyjson 'd["policy"]["failure_threshold"]')" = 4 ]
	[ "$(echo "$output" | pyjson 'd["policy"]["mode"]')" = enforce ]
	run "$CBCTL" metrics
	assert_line "cbshim_max_breakers 7"
}

@test "trip_hold: open until reset, shown as held, never half-open by itself" {
	conf 'defaults = { open_timeout = "100ms"; };'
	run "$CBCTL" trip 127.0.0.1:9 --hold
	assert_success
	assert_output "127.0.0.1:9: open until reset"
	sleep 0.3
	[ "$(state 127.0.0.1:9)" = open ]
	[ "$(field 127.0.0.1:9 hold)" = True ]
	[ "$(field 127.0.0.1:9 open_remaining_ms)" = None ]
	run "$CBCTL" list
	assert_line --regexp '^127\.0\.0\.1:9 +- +open +0 +0 +0 +0 +1 +held +-$'
}

@test "trip_for: --for DURATION sets this open period" {
	run "$CBCTL" trip 127.0.0.1:9 --for 5m
	assert_success
	assert_output --regexp '^127\.0\.0\.1:9: open for (5m00s|4m59s)$'
	left=$(field 127.0.0.1:9 open_remaining_ms)
	[ "$left" -gt 295000 ] && [ "$left" -le 300000 ]
	run "$CBCTL" list
	assert_line --regexp '^127\.0\.0\.1:9 +- +open .* 4m5[0-9]s +-$'
}

@test "trip_for_elapses: after its time the breaker shows half-open" {
	run "$CBCTL" trip 127.0.0.1:9 --for 200ms
	assert_success
	sleep 0.4
	[ "$(state 127.0.0.1:9)" = half-open ]
	[ "$(field 127.0.0.1:9 open_remaining_ms)" = None ]
}

@test "trip_options_misuse: --hold with --for, bad or out-of-range --for, no DEST" {
	for a in "127.0.0.1:9 --hold --for 5s" "127.0.0.1:9 --for 0s" "127.0.0.1:9 --for soon" \
		"127.0.0.1:9 --for 100h" "127.0.0.1:9 --for -5s" ""; do
		run --separate-stderr "$CBCTL" trip $a
		assert_failure 2
		[ -z "$output" ]
		[[ $stderr == "cbctl: "* ]]
	done
	[ ! -e "$(seg)" ]
}

@test "trip_table_full: a new destination in a full table fails with exit 1" {
	conf 'shm = { max_breakers = 1; };'
	"$CBCTL" trip 127.0.0.1:9 >/dev/null
	run --separate-stderr "$CBCTL" trip 127.0.0.1:10
	assert_failure 1
	[[ $stderr == *"trip 127.0.0.1:10: table full (max_breakers 1)"* ]]
	# the one already there can still be tripped
	run "$CBCTL" trip 127.0.0.1:9 --hold
	assert_success
}

@test "trip_bad_config: a config that does not load is an error, nothing is created" {
	conf 'defaults = { failure_threshold = 0; };'
	run --separate-stderr "$CBCTL" trip 127.0.0.1:9
	assert_failure 1
	[[ $stderr == "cbctl: $CBSHIM_CONFIG:1: "* ]]
	[ ! -e "$(seg)" ]
}

# ---- reset -------------------------------------------------------------

@test "reset_closes: an open breaker closes and its cycle counters clear" {
	port=$(free_port)
	refused 7 "$port"
	[ "$(state 127.0.0.1:$port)" = open ]
	run "$CBCTL" reset "127.0.0.1:$port"
	assert_success
	assert_output "127.0.0.1:$port: closed"
	[ "$(state 127.0.0.1:$port)" = closed ]
	[ "$(field 127.0.0.1:$port consecutive_failures)" = 0 ]
	[ "$(field 127.0.0.1:$port failed_calls)" = 5 ]
	[ "$(field 127.0.0.1:$port state_transitions)" = 2 ]
}

@test "reset_missing_breaker: exit 1 with no breaker for DEST" {
	"$CBCTL" trip 127.0.0.1:9 >/dev/null
	run --separate-stderr "$CBCTL" reset 127.0.0.1:10
	assert_failure 1
	[ -z "$output" ]
	[[ $stderr == "cbctl: no breaker for 127.0.0.1:10: "* ]]
}

@test "forget_closed: a closed breaker is removed and its place freed" {
	"$CBCTL" trip 127.0.0.1:9 >/dev/null
	"$CBCTL" reset 127.0.0.1:9 >/dev/null
	"$CBCTL" trip 127.0.0.1:10 >/dev/null
	run "$CBCTL" forget 127.0.0.1:9
	assert_success
	assert_output "127.0.0.1:9: forgotten"
	run "$CBCTL" list
	refute_output --partial "127.0.0.1:9 "
	assert_output --partial "127.0.0.1:10 "
	refute_output --partial "reclaimed"	# by hand: not counted
	run --separate-stderr "$CBCTL" show 127.0.0.1:9
	assert_failure 1
}

@test "forget_refuses_open_held_and_missing: exit 1, the breaker stays" {
	"$CBCTL" trip 127.0.0.1:9 >/dev/null
	"$CBCTL" trip 127.0.0.1:10 --hold >/dev/null
	for d in 127.0.0.1:9 127.0.0.1:10; do
		run --separate-stderr "$CBCTL" forget "$d"
		assert_failure 1
		[ -z "$output" ]
		[[ $stderr == "cbctl: forget $d: the breaker is not closed (open, half-open or held); cbctl reset $d first"* ]]
		[ "$(state "$d")" = open ]
	done
	run --separate-stderr "$CBCTL" forget 127.0.0.1:11
	assert_failure 1
	[[ $stderr == "cbctl: no breaker for 127.0.0.1:11: "* ]]
	run --separate-stderr "$CBCTL" forget
	assert_failure 2
}

@test "reclaim_gives_an_idle_breakers_place_to_a_new_destination: counted in list and metrics" {
	conf 'shm = { max_breakers = 1; reclaim_after = "50ms"; };'
	a=$(free_port)
	b=$(free_port)
	refused 1 "$a"
	refused 1 "$b"		# full; the search stamps a's breaker
	sleep 0.3
	refused 1 "$b"		# a has been idle for 50 ms: b takes its place
	run "$CBCTL" list
	assert_success
	assert_line --index 0 --regexp "^$CBSHIM_SHM: 1 of 1 places used, "
	assert_line "table full (max_breakers 1): 1 attempts to new destinations went unprotected, 1 idle breakers reclaimed"
	assert_output --partial "127.0.0.1:$b "
	refute_output --partial "127.0.0.1:$a "
	[ "$(field 127.0.0.1:$b total_calls)" = 1 ]
	run "$CBCTL" metrics
	assert_line "cbshim_reclaimed_total 1"
}

@test "reclaim_never_takes_a_held_breaker: it stays refused, newcomers go unprotected" {
	conf 'shm = { max_breakers = 1; reclaim_after = "50ms"; };'
	b=$(free_port)
	"$CBCTL" trip 127.0.0.1:9 --hold >/dev/null
	refused 1 "$b"
	sleep 0.3
	refused 1 "$b"
	run "$CBCTL" list
	assert_line "table full (max_breakers 1): 2 attempts to new destinations went unprotected"
	run "$CBCTL" run -- "$HELPERS/cbclient" 127.0.0.1 9
	assert_output --regexp '^0 ECONNREFUSED [0-9]+$'
	[ "$(field 127.0.0.1:9 rejected_calls)" = 1 ]
}

@test "reset_all: every open breaker closes, closed ones are left alone" {
	"$CBCTL" trip 127.0.0.1:9 >/dev/null
	"$CBCTL" trip 127.0.0.1:10 --hold >/dev/null
	"$CBCTL" trip '[::1]:11' >/dev/null
	"$CBCTL" reset '[::1]:11' >/dev/null
	run "$CBCTL" reset --all
	assert_success
	assert_output "reset 2 breakers (1 of 3 were closed already)"
	for d in 127.0.0.1:9 127.0.0.1:10 '[::1]:11'; do
		[ "$(state "$d")" = closed ]
	done
}

@test "reset_misuse: DEST with --all, nothing at all, two DESTs" {
	for a in "127.0.0.1:9 --all" "" "127.0.0.1:9 127.0.0.1:10"; do
		run --separate-stderr "$CBCTL" reset $a
		assert_failure 2
		[ -z "$output" ]
	done
}

# ---- list --------------------------------------------------------------

@test "list_table: a header and one aligned row per breaker, sorted" {
	port=$(free_port)
	refused 6 "$port"
	"$CBCTL" trip 127.0.0.1:9 --hold >/dev/null
	"$CBCTL" trip '[::1]:443' >/dev/null
	run "$CBCTL" list
	assert_success
	# the segment, then a blank line (not in $lines), then the table
	assert_line --index 0 --regexp "^$CBSHIM_SHM: 3 of 4096 places used, [0-9.]+ MiB \\([0-9]+ bytes per place\\)$"
	[ -z "$(sed -n 2p <<<"$output")" ]
	assert_line --index 1 --regexp '^DEST +NAME +STATE +TOTAL +OK +FAIL +REJECTED +TRANS +LEFT +ERRNO$'
	assert_line --index 2 --regexp '^127\.0\.0\.1:9 +- +open +0 +0 +0 +0 +1 +held +-$'
	assert_line --index 3 --regexp "^127\\.0\\.0\\.1:$port +- +open +6 +0 +5 +1 +1 +[0-9.]+s +ECONNREFUSED$"
	assert_line --index 4 --regexp '^\[::1\]:443 +- +open '
	[ "${#lines[@]}" -eq 5 ]
	# aligned: text columns start, number columns end, where the header's do
	printf '%s\n' "${lines[@]:1}" | $PY -c '
import re, sys
rows = sys.stdin.read().splitlines()
spans = lambda l: [(m.start(), m.end()) for m in re.finditer(r"\S+", l)]
head = spans(rows[0])
for r in rows[1:]:
    cells = spans(r)
    assert len(cells) == len(head), r
    for k, ((hs, he), (cs, ce)) in enumerate(zip(head, cells)):
        assert (cs == hs) if k in (0, 1, 2, 9) else (ce == he), (r, k)
'
}

@test "list_empty: a segment without breakers says so" {
	# the shim makes the segment on a program's first TCP connect; a
	# destination whose mode is off gets no breaker
	printf 'defaults = { mode = "off"; };\n' >"$BATS_TEST_TMPDIR/off.conf"
	run env CBSHIM_CONFIG="$BATS_TEST_TMPDIR/off.conf" "$CBCTL" run -- "$HELPERS/cbclient" 127.0.0.1 "$(free_port)"
	assert_success
	[ -e "$(seg)" ]
	run "$CBCTL" list
	assert_success
	assert_line --index 0 --regexp "^$CBSHIM_SHM: 0 of 4096 places used, "
	assert_line --index 1 --regexp '^DEST +NAME +STATE '
	assert_line --index 2 "(no breakers in $CBSHIM_SHM yet)"
	run "$CBCTL" list --json
	assert_output "[]"
	run "$CBCTL" metrics
	assert_success
	assert_line "cbshim_breakers 0"
}

@test "list_json: an array of objects with exactly the documented keys" {
	port=$(free_port)
	refused 6 "$port"
	"$CBCTL" trip 127.0.0.1:9 --hold >/dev/null
	run "$CBCTL" list --json
	assert_success
	echo "$output" | $PY -c '
import json, sys
d = json.load(sys.stdin)
keys = ["dest", "name", "state", "total_calls", "successful_calls", "failed_calls",
        "rejected_calls", "state_transitions", "consecutive_failures",
        "half_open_successes", "half_open_in_flight", "last_errno",
        "slow_calls", "last_failure",
        "opened_ms_ago", "open_remaining_ms", "hold", "stale_outcomes",
        "window_calls", "window_failures"]
assert isinstance(d, list) and len(d) == 2, d
for o in d:
    assert list(o.keys()) == keys, list(o.keys())
held, shimmed = d
assert held["dest"] == "127.0.0.1:9" and held["hold"] is True
assert held["name"] is None and shimmed["name"] is None
assert held["open_remaining_ms"] is None and held["last_errno"] is None
assert isinstance(held["opened_ms_ago"], int)
assert shimmed["dest"] == "127.0.0.1:" + sys.argv[1]
assert shimmed["state"] == "open" and shimmed["hold"] is False
assert (shimmed["total_calls"], shimmed["failed_calls"], shimmed["rejected_calls"]) == (6, 5, 1)
assert shimmed["last_errno"] == "ECONNREFUSED"
assert 0 < shimmed["open_remaining_ms"] <= 30000
' "$port"
}

@test "list_unprotected: a full table's unprotected attempts are counted in list and metrics" {
	conf 'shm = { max_breakers = 1; };'
	refused 2 "$(free_port)"
	refused 3 "$(free_port)"
	run "$CBCTL" list
	assert_success
	assert_line "table full (max_breakers 1): 3 attempts to new destinations went unprotected"
	run "$CBCTL" metrics
	assert_line "cbshim_unprotected_attempts_total 3"
}

@test "list_segment_line: the places used, the segment's size and the memory per place, as metrics says" {
	conf 'shm = { max_breakers = 300; };'
	"$CBCTL" trip 127.0.0.1:9 >/dev/null
	"$CBCTL" trip 127.0.0.1:10 >/dev/null
	bytes=$(stat -c %s "$(seg)")
	run "$CBCTL" metrics
	assert_line "cbshim_segment_bytes $bytes"
	assert_line "cbshim_max_breakers 300"
	run "$CBCTL" list
	assert_success
	per=$(( (bytes + 150) / 300 ))
	mib=$($PY -c "print('%.1f' % ($bytes / 1048576))")
	kib=$($PY -c "print('%.1f' % ($bytes / 1024))")
	assert_line --index 0 --regexp "^$CBSHIM_SHM: 2 of 300 places used, ($mib MiB|$kib KiB) \\($per bytes per place\\)$"
}

@test "list_narrow_terminal: a short NAME column is never widened to fit a terminal too narrow for the row" {
	"$CBCTL" trip localhost:80 >/dev/null
	for c in 20 1 ""; do
		COLUMNS=$c run "$CBCTL" list
		assert_success
		assert_line --regexp '^127\.0\.0\.1:80  localhost  open '
	done
}

@test "list_no_unprotected_line: nothing about a full table while none went unprotected" {
	"$CBCTL" trip 127.0.0.1:9 >/dev/null
	run "$CBCTL" list
	refute_output --partial "unprotected"
}

# ---- show --------------------------------------------------------------

@test "show_human: every metric and the policy as key: value lines" {
	port=$(free_port)
	refused 6 "$port"
	run "$CBCTL" show "127.0.0.1:$port"
	assert_success
	assert_line --regexp "^dest: +127\\.0\\.0\\.1:$port$"
	assert_line --regexp '^state: +open$'
	assert_line --regexp '^total_calls: +6$'
	assert_line --regexp '^failed_calls: +5$'
	assert_line --regexp '^rejected_calls: +1$'
	assert_line --regexp '^last_errno: +ECONNREFUSED$'
	assert_line --regexp '^open_remaining: +[0-9.]+s$'
	assert_line 'policy:'
	assert_line --regexp '^  failure_threshold: +5$'
	assert_line --regexp '^  open_timeout: +30\.0s$'
	assert_line --regexp '^  failures: +.*ECONNREFUSED'
}

@test "show_json: one object with the list keys, generation, reopenings and policy" {
	"$CBCTL" trip 127.0.0.1:9 >/dev/null
	run "$CBCTL" show 127.0.0.1:9 --json
	assert_success
	echo "$output" | $PY -c '
import json, sys
d = json.load(sys.stdin)
assert isinstance(d, dict)
assert list(d)[:20] == ["dest", "name", "state", "total_calls", "successful_calls",
    "failed_calls", "rejected_calls", "state_transitions",
    "consecutive_failures", "half_open_successes", "half_open_in_flight",
    "last_errno", "slow_calls", "last_failure", "opened_ms_ago",
    "open_remaining_ms", "hold",
    "stale_outcomes", "window_calls", "window_failures"], list(d)
assert list(d)[20:] == ["generation", "reopenings", "policy"]
p = d["policy"]
assert p == {"mode": "enforce", "failure_threshold": 5, "success_threshold": 3,
    "open_timeout_ms": 30000, "half_open_max_calls": 3, "backoff": 1,
    "open_timeout_max_ms": 600000,
    "failures": ["ENETUNREACH", "ECONNRESET", "ETIMEDOUT", "ECONNREFUSED", "EHOSTUNREACH"],
    "reject_errno": "ECONNREFUSED", "failure_rate_threshold": None,
    "window_ms": 10000, "minimum_calls": 20, "connect_timeout_ms": 0,
    "response_timeout_ms": 0, "slow_call_duration_ms": 0}, p
'
}

@test "show_missing_breaker: exit 1, cbctl: no breaker for DEST, nothing on stdout" {
	"$CBCTL" trip 127.0.0.1:10 >/dev/null
	run --separate-stderr "$CBCTL" show 127.0.0.1:9
	assert_failure 1
	[ -z "$output" ]
	[[ $stderr == "cbctl: no breaker for 127.0.0.1:9: "* ]]
	run --separate-stderr "$CBCTL" show 127.0.0.1:9 --json
	assert_failure 1
	[ -z "$output" ]
}

@test "show_half_open: an open breaker whose time is up shows half-open before any attempt" {
	conf 'defaults = { open_timeout = "1s"; };'
	port=$(free_port)
	refused 5 "$port"
	[ "$(state 127.0.0.1:$port)" = open ]
	sleep 1.3
	[ "$(state 127.0.0.1:$port)" = half-open ]
	[ "$(field 127.0.0.1:$port open_remaining_ms)" = None ]
	run "$CBCTL" list
	assert_line --regexp "^127\\.0\\.0\\.1:$port +- +half-open "
}

# ---- events ------------------------------------------------------------

@test "events_after_trip_and_reset: time, dest, from -> to, why and cbctl's pid" {
	"$CBCTL" trip 127.0.0.1:9 >/dev/null
	"$CBCTL" reset 127.0.0.1:9 >/dev/null
	run "$CBCTL" events
	assert_success
	assert_line --index 0 --regexp '^TIME +DEST +TRANSITION +WHY +PID$'
	assert_line --index 1 --regexp '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}[+-][0-9]{2}:[0-9]{2} +127\.0\.0\.1:9 +closed -> open +trip +[0-9]+$'
	assert_line --index 2 --regexp ' +127\.0\.0\.1:9 +open -> closed +reset +[0-9]+$'
	[ "${#lines[@]}" -eq 3 ]
}

@test "events_table_lines_up: a long IPv6 destination widens the DEST column for every line" {
	"$CBCTL" trip '[2001:db8:1234:5678:9abc:def0:1234:5678]:65535' >/dev/null
	"$CBCTL" trip 127.0.0.1:9 >/dev/null
	run "$CBCTL" events
	assert_success
	[ "${#lines[@]}" -eq 3 ]
	# TRANSITION starts at the same column on every line
	col() { local pre=${1%%"$2"*}; echo "${#pre}"; }
	c=$(col "${lines[0]}" TRANSITION)
	[ "$(col "${lines[1]}" 'closed -> open')" = "$c" ]
	[ "$(col "${lines[2]}" 'closed -> open')" = "$c" ]
}

@test "events_of_a_forgotten_breaker: its destination shows as ?, never as the next one in its place" {
	"$CBCTL" trip 127.0.0.1:9 >/dev/null
	"$CBCTL" reset 127.0.0.1:9 >/dev/null
	"$CBCTL" forget 127.0.0.1:9 >/dev/null
	"$CBCTL" trip 127.0.0.1:9 >/dev/null
	run "$CBCTL" events
	assert_success
	assert_line --index 1 --regexp ' +\? +closed -> open +trip +[0-9]+$'
	assert_line --index 2 --regexp ' +\? +open -> closed +reset +[0-9]+$'
	assert_line --index 3 --regexp ' +127\.0\.0\.1:9 +closed -> open +trip +[0-9]+$'
}

@test "events_json: JSON Lines with time, time_ms, dest, from, to, why, pid" {
	port=$(free_port)
	refused 5 "$port"
	"$CBCTL" trip "127.0.0.1:$port" --hold >/dev/null
	"$CBCTL" reset "127.0.0.1:$port" >/dev/null
	run "$CBCTL" events --json
	assert_success
	[ "${#lines[@]}" -eq 3 ]
	printf '%s\n' "${lines[@]}" | $PY -c '
import datetime, json, sys, time
evs = [json.loads(l) for l in sys.stdin]
for e in evs:
    assert list(e) == ["time", "time_ms", "dest", "from", "to", "why", "pid"], e
    t = datetime.datetime.fromisoformat(e["time"])
    assert abs(t.timestamp() * 1000 - e["time_ms"]) < 1, e
    assert abs(time.time() * 1000 - e["time_ms"]) < 60000, e
    assert e["dest"] == "127.0.0.1:" + sys.argv[1]
    assert isinstance(e["pid"], int) and e["pid"] > 0
got = [(e["from"], e["to"], e["why"]) for e in evs]
assert got == [("closed", "open", "threshold"), ("open", "open", "trip"),
               ("open", "closed", "reset")], got
assert evs[0]["pid"] != evs[1]["pid"]   # the shimmed client, then cbctl
' "$port"
}

@test "events_probe_outcomes: timeout, probe failure and probe success are named" {
	conf 'defaults = { open_timeout = "100ms"; success_threshold = 1; };'
	port=$(free_port)
	refused 5 "$port"
	sleep 0.2
	refused 1 "$port"                      # the probe fails: open again
	sleep 0.2
	bg $PY "$TOP/tests/helpers/tcpserver.py" accept "$port" >/dev/null
	wait_port "$port"
	"$CBCTL" reset "127.0.0.1:$port" >/dev/null   # wait_port's probe was not shimmed
	"$CBCTL" trip "127.0.0.1:$port" --for 100ms >/dev/null
	sleep 0.2
	"$CBCTL" run -- "$HELPERS/cbclient" 127.0.0.1 "$port" >/dev/null
	run "$CBCTL" events --json
	printf '%s\n' "${lines[@]}" | $PY -c '
import json, sys
got = [json.loads(l)["why"] for l in sys.stdin]
for w in ["threshold", "timeout", "probe failure", "trip", "reset", "probe success"]:
    assert w in got, (w, got)
'
}

@test "events_empty: a segment without transitions says so; --json prints nothing" {
	conf 'defaults = { failure_threshold = 100; };'
	refused 1 "$(free_port)"
	run "$CBCTL" events
	assert_success
	assert_output "(no events in $CBSHIM_SHM yet)"
	run "$CBCTL" events --json
	assert_success
	assert_output ""
}

@test "events_follow: new transitions appear until the follower is stopped" {
	"$CBCTL" trip 127.0.0.1:9 >/dev/null
	follow_events
	sleep 0.3
	"$CBCTL" reset 127.0.0.1:9 >/dev/null
	"$CBCTL" trip 127.0.0.1:10 --hold >/dev/null
	lines_reach "$out" 3
	kill -INT "$pid"
	wait "$pid"
	run cat "$out"
	[ "${#lines[@]}" -eq 3 ]
	assert_line --index 0 --partial '"dest":"127.0.0.1:9","from":"closed","to":"open","why":"trip"'
	assert_line --index 1 --partial '"dest":"127.0.0.1:9","from":"open","to":"closed","why":"reset"'
	assert_line --index 2 --partial '"dest":"127.0.0.1:10","from":"closed","to":"open","why":"trip"'
}

@test "events_follow_a_new_segment: a destroyed or replaced segment is said once and the new one followed" {
	"$CBCTL" trip 127.0.0.1:9 >/dev/null
	follow_events
	sleep 0.3
	"$CBCTL" destroy >/dev/null
	sleep 0.5			# several polls with no segment
	"$CBCTL" trip 127.0.0.1:10 >/dev/null
	lines_reach "$out" 2
	# destroyed and made again between two polls: a replacement
	"$CBCTL" destroy >/dev/null && "$CBCTL" trip 127.0.0.1:11 >/dev/null
	lines_reach "$out" 3
	kill -INT "$pid"
	wait "$pid"
	run cat "$out"
	[ "${#lines[@]}" -eq 3 ]
	assert_line --index 1 --partial '"dest":"127.0.0.1:10","from":"closed","to":"open","why":"trip"'
	assert_line --index 2 --partial '"dest":"127.0.0.1:11","from":"closed","to":"open","why":"trip"'
	run cat "$err"
	assert_line --index 0 "cbctl: segment $CBSHIM_SHM: removed; waiting for a new one"
	assert_line --index 1 "cbctl: segment $CBSHIM_SHM: replaced; following the new one"
	[ "${#lines[@]}" -eq 2 ]
}

@test "events_follow_a_segment_cut_short: said and refused, not read past its end; the next one followed" {
	"$CBCTL" trip 127.0.0.1:9 >/dev/null
	follow_events
	sleep 0.3
	truncate -s 100 "$(seg)"
	sleep 0.5
	"$CBCTL" destroy >/dev/null
	"$CBCTL" trip 127.0.0.1:10 >/dev/null
	lines_reach "$out" 2
	kill -INT "$pid"
	wait "$pid"
	run cat "$out"
	[ "${#lines[@]}" -eq 2 ]
	assert_line --index 1 --partial '"dest":"127.0.0.1:10","from":"closed","to":"open","why":"trip"'
	run cat "$err"
	assert_line --index 0 "cbctl: segment $CBSHIM_SHM: changed size"
	assert_line --index 1 "cbctl: segment $CBSHIM_SHM: too small (100 bytes): not a cbshim segment (cbctl destroy removes it)"
}

@test "events_follow_says_what_it_missed: more transitions than the ring holds between two polls are counted on stderr" {
	conf 'defaults = { failure_threshold = 1; };'
	"$CBCTL" trip 127.0.0.1:9 >/dev/null
	follow_events
	lines_reach "$out" 1
	# stopped while 3000 destinations each open once: the ring keeps 1024
	kill -STOP "$pid"
	"$CBCTL" run -- $PY -c '
import socket
for p in range(40000, 43000):
    s = socket.socket()
    try: s.connect(("127.0.0.1", p))
    except OSError: pass
    s.close()'
	kill -CONT "$pid"
	total=$("$CBCTL" list --json | pyjson 'sum(b["state_transitions"] for b in d)')
	[ "$total" -gt 2000 ]
	lines_reach "$out" 1025
	kill -INT "$pid"
	wait "$pid"
	[ "$(wc -l <"$out")" -eq 1025 ]
	run cat "$err"
	[ "${#lines[@]}" -eq 1 ]
	assert_output "cbctl: events: $((total - 1025)) transitions missed (overwritten in the ring of the last 1024 before they were read, or left torn)"
}

# ---- watch -------------------------------------------------------------

@test "watch_not_a_terminal: --count 2 prints two snapshots and exits 0" {
	"$CBCTL" trip 127.0.0.1:9 >/dev/null
	run "$CBCTL" watch --count 2 --interval 0.1
	assert_success
	[ "$(printf '%s\n' "$output" | grep -c '^DEST ')" -eq 2 ]
	[ "$(printf '%s\n' "$output" | grep -c '^127\.0\.0\.1:9 ')" -eq 2 ]
	[ "$(printf '%s\n' "$output" | grep -c "  $CBSHIM_SHM  every 100ms  (1 breaker)$")" -eq 2 ]
	refute_output --partial $'\033'
}

@test "watch_terminal: on a terminal each refresh homes the cursor and clears" {
	"$CBCTL" trip 127.0.0.1:9 >/dev/null
	run script -qec "$CBCTL watch --count 3 --interval 0.05" /dev/null
	assert_success
	[ "$(printf '%s' "$output" | grep -o $'\033\\[H\033\\[2J' | wc -l)" -eq 3 ]
}

@test "watch_stops_on_signal: SIGTERM and SIGINT end it cleanly with 0" {
	"$CBCTL" trip 127.0.0.1:9 >/dev/null
	for sig in TERM INT; do
		"$CBCTL" watch --interval 10 >"$BATS_TEST_TMPDIR/w" &
		pid=$!
		sleep 0.3
		kill -$sig "$pid"
		wait "$pid"
		grep -q '^127\.0\.0\.1:9 ' "$BATS_TEST_TMPDIR/w"
	done
}

@test "watch_segment_gone: said once on stderr, not at every refresh; the new segment is shown" {
	"$CBCTL" trip 127.0.0.1:9 >/dev/null
	out=$BATS_TEST_TMPDIR/w err=$BATS_TEST_TMPDIR/err
	"$CBCTL" watch --interval 0.05 >"$out" 2>"$err" &
	pid=$!
	CB_PIDS+=("$pid")
	sleep 0.3
	"$CBCTL" destroy >/dev/null
	sleep 0.6			# a dozen refreshes without it
	"$CBCTL" trip 127.0.0.1:10 >/dev/null
	for i in $(seq 1 50); do
		grep -q '^127\.0\.0\.1:10 ' "$out" && break
		sleep 0.1
	done
	"$CBCTL" destroy >/dev/null
	sleep 0.6
	kill -TERM "$pid"
	wait "$pid"
	grep -q '^127\.0\.0\.1:10 ' "$out"
	run cat "$err"
	# once per loss: two losses, two lines
	[ "${#lines[@]}" -eq 2 ]
	assert_line --index 0 "cbctl: segment $CBSHIM_SHM: no such segment (no program has used cbshim with it yet)"
	assert_line --index 1 "cbctl: segment $CBSHIM_SHM: no such segment (no program has used cbshim with it yet)"
}

@test "watch_misuse: bad --interval or --count is exit 2" {
	for a in "--interval 0" "--interval -1" "--interval soon" "--interval 0x10" "--interval 1e1" \
		"--interval=+1" "--interval=infinity" "--count 0" "--count -2" "--count x" "--count 0x5"; do
		run --separate-stderr "$CBCTL" watch $a
		assert_failure 2
		[ -z "$output" ]
	done
}

@test "watch_interval_units: --interval takes a duration with a unit too" {
	"$CBCTL" trip 127.0.0.1:9 >/dev/null
	run "$CBCTL" watch --count 1 --interval 250ms
	assert_success
	assert_output --partial "every 250ms"
}

# ---- metrics -----------------------------------------------------------

@test "metrics_parse: prometheus_client reads every family and series" {
	port=$(free_port)
	refused 6 "$port"
	"$CBCTL" trip 127.0.0.1:9 --hold >/dev/null
	"$CBCTL" trip '[::1]:80' >/dev/null
	"$CBCTL" reset '[::1]:80' >/dev/null
	run "$CBCTL" metrics
	assert_success
	echo "$output" | $PY -c '
import sys
from prometheus_client.parser import text_string_to_metric_families
fams = {f.name: f for f in text_string_to_metric_families(sys.stdin.read())}
port = sys.argv[1]
for n in ["calls", "successful_calls", "failed_calls", "rejected_calls",
          "state_transitions", "stale_outcomes", "unprotected_attempts"]:
    assert "cbshim_" + n in fams and fams["cbshim_" + n].type == "counter", n
for n in ["state", "consecutive_failures", "half_open_in_flight", "breakers", "max_breakers"]:
    assert fams["cbshim_" + n].type == "gauge", n
def val(fam, **labels):
    got = [s.value for s in fams[fam].samples if s.labels == labels]
    assert len(got) == 1, (fam, labels, got)
    return got[0]
d = "127.0.0.1:" + port
assert val("cbshim_calls", dest=d) == 6
assert val("cbshim_failed_calls", dest=d) == 5
assert val("cbshim_rejected_calls", dest=d) == 1
assert val("cbshim_successful_calls", dest=d) == 0
assert val("cbshim_state_transitions", dest="[::1]:80") == 2
assert val("cbshim_state", dest=d, state="open") == 1
assert val("cbshim_state", dest=d, state="closed") == 0
assert val("cbshim_state", dest=d, state="half-open") == 0
assert val("cbshim_state", dest="[::1]:80", state="closed") == 1
assert val("cbshim_consecutive_failures", dest=d) == 0
assert val("cbshim_half_open_in_flight", dest=d) == 0
assert val("cbshim_unprotected_attempts") == 0
assert val("cbshim_breakers") == 3
assert val("cbshim_max_breakers") == 4096
states = [s for s in fams["cbshim_state"].samples]
assert len(states) == 9, states
' "$port"
}

@test "metrics_format: HELP and TYPE lines, counters named _total" {
	"$CBCTL" trip 127.0.0.1:9 >/dev/null
	run "$CBCTL" metrics
	assert_success
	assert_line '# TYPE cbshim_calls_total counter'
	assert_line --regexp '^# HELP cbshim_calls_total .+'
	assert_line 'cbshim_calls_total{dest="127.0.0.1:9"} 0'
	assert_line 'cbshim_state{dest="127.0.0.1:9",state="open"} 1'
	assert_line '# TYPE cbshim_state gauge'
}

# ---- run ---------------------------------------------------------------

@test "run_preloads: LD_PRELOAD is the shim next to cbctl" {
	run env -u LD_PRELOAD "$CBCTL" run -- sh -c 'printf "%s\n" "$LD_PRELOAD"'
	assert_success
	assert_output "$(dirname "$(readlink -f "$CBCTL")")/libcbshim.so"
}

@test "run_keeps_ld_preload: the shim is appended to an existing LD_PRELOAD" {
	lib=$(dirname "$(readlink -f "$CBCTL")")/libcbshim.so
	# a second, harmless library already preloaded: the C math library
	libm=$($PY -c 'import ctypes.util; print(ctypes.util.find_library("m"))')
	run env LD_PRELOAD="$libm" "$CBCTL" run -- sh -c 'printf "%s\n" "$LD_PRELOAD"'
	assert_success
	assert_output "$libm $lib"
	# already there: not added twice
	run env LD_PRELOAD="$lib" "$CBCTL" run -- sh -c 'printf "%s\n" "$LD_PRELOAD"'
	assert_output "$lib"
}

@test "run_drops_another_copy_of_the_shim: an installed libcbshim.so already preloaded would count every connect twice" {
	lib=$(dirname "$(readlink -f "$CBCTL")")/libcbshim.so
	libm=$($PY -c 'import ctypes.util; print(ctypes.util.find_library("m"))')
	mkdir "$BATS_TEST_TMPDIR/other"
	cp "$lib" "$BATS_TEST_TMPDIR/other/libcbshim.so"
	other=$BATS_TEST_TMPDIR/other/libcbshim.so
	run env LD_PRELOAD="$other:$libm" "$CBCTL" run -- sh -c 'printf "%s\n" "$LD_PRELOAD"'
	assert_success
	assert_output "$libm $lib"
	port=$(free_port)
	LD_PRELOAD="$other" "$CBCTL" run -- "$HELPERS/cbclient" -n 3 127.0.0.1 "$port" >/dev/null
	[ "$(field "127.0.0.1:$port" total_calls)" = 3 ]
	[ "$(field "127.0.0.1:$port" failed_calls)" = 3 ]
}

@test "run_exports: --config and --shm become CBSHIM_CONFIG and CBSHIM_SHM" {
	printf 'defaults = { failure_threshold = 2; };\n' >"$BATS_TEST_TMPDIR/run.conf"
	cd "$BATS_TEST_TMPDIR"
	x=/cbtest-run-x-$$ y=/cbtest-run-y-$$
	run "$CBCTL" run --config run.conf --shm $x -- sh -c 'echo "$CBSHIM_CONFIG $CBSHIM_SHM"'
	assert_success
	assert_output "$BATS_TEST_TMPDIR/run.conf $x"
	run "$CBCTL" --shm $y run -- sh -c 'echo "$CBSHIM_SHM"'
	assert_output "$y"
	rm -f "/dev/shm$x" "/dev/shm$y"
}

@test "run_governs: a program run through cbctl gets breakers with the run's config" {
	printf 'defaults = { failure_threshold = 2; };\n' >"$BATS_TEST_TMPDIR/run.conf"
	port=$(free_port)
	run "$CBCTL" run --config "$BATS_TEST_TMPDIR/run.conf" -- "$HELPERS/cbclient" -n 3 127.0.0.1 "$port"
	assert_success
	assert_line --index 2 --regexp '^2 ECONNREFUSED '
	[ "$(state 127.0.0.1:$port)" = open ]
	[ "$(field 127.0.0.1:$port failed_calls)" = 2 ]
	[ "$(field 127.0.0.1:$port rejected_calls)" = 1 ]
}

@test "run_passes_exit_status: the command's own status is cbctl's" {
	run "$CBCTL" run -- sh -c 'exit 42'
	assert_failure 42
}

@test "run_passes_a_signal: a command killed by SIGTERM or SIGKILL is seen killed by it (128+N), same pid" {
	run bash -c '"$1" run -- sh -c '\''kill -TERM $$'\''; echo "status=$?"' _ "$CBCTL"
	assert_output --partial "status=143"
	run bash -c '"$1" run -- sh -c '\''kill -KILL $$'\''; echo "status=$?"' _ "$CBCTL"
	assert_output --partial "status=137"
	# executed in place: the command has cbctl's pid
	run bash -c '"$1" run -- sh -c '\''echo $$'\'' & echo "cbctl=$!"; wait' _ "$CBCTL"
	[ "${lines[0]#cbctl=}" = "${lines[1]}" ] || [ "${lines[1]#cbctl=}" = "${lines[0]}" ]
}

@test "run_command_not_found: exit 127 like a shell" {
	run -127 --separate-stderr "$CBCTL" run -- no-such-command-cbtest
	assert_failure 127
	[ "$stderr" = "cbctl: no-such-command-cbtest: command not found" ]
	run -127 --separate-stderr "$CBCTL" run -- /no/such/file
	assert_failure 127
}

@test "run_not_executable: exit 126 like a shell" {
	: >"$BATS_TEST_TMPDIR/notexec"
	chmod 0644 "$BATS_TEST_TMPDIR/notexec"
	run --separate-stderr "$CBCTL" run -- "$BATS_TEST_TMPDIR/notexec"
	assert_failure 126
	[ "$stderr" = "cbctl: $BATS_TEST_TMPDIR/notexec: Permission denied" ]
}

@test "run_bad_interpreter: a script whose #! program is missing is 126 and says so, not 'not found'" {
	mkdir "$BATS_TEST_TMPDIR/bin"
	printf '#!/no/such/interpreter\necho hi\n' >"$BATS_TEST_TMPDIR/bin/cbscript"
	chmod 0755 "$BATS_TEST_TMPDIR/bin/cbscript"
	run --separate-stderr "$CBCTL" run -- "$BATS_TEST_TMPDIR/bin/cbscript"
	assert_failure 126
	[ "$stderr" = "cbctl: $BATS_TEST_TMPDIR/bin/cbscript: bad interpreter (its #! line names a program that does not exist)" ]
	# found through PATH
	run --separate-stderr env PATH="$BATS_TEST_TMPDIR/bin:$PATH" "$CBCTL" run -- cbscript
	assert_failure 126
	[ "$stderr" = "cbctl: cbscript: bad interpreter (its #! line names a program that does not exist)" ]
}

@test "run_misuse: no command, a bad --shm" {
	run --separate-stderr "$CBCTL" run
	assert_failure 2
	run --separate-stderr "$CBCTL" run --
	assert_failure 2
	run --separate-stderr "$CBCTL" run --shm nope -- true
	assert_failure 2
}

@test "run_bad_config: a config that does not load stops run before the command" {
	printf 'defaults = { bogus = 1; };\n' >"$BATS_TEST_TMPDIR/bad.conf"
	run --separate-stderr "$CBCTL" run --config "$BATS_TEST_TMPDIR/bad.conf" -- touch "$BATS_TEST_TMPDIR/ran"
	assert_failure 1
	[[ $stderr == "cbctl: $BATS_TEST_TMPDIR/bad.conf:1: "* ]]
	[ ! -e "$BATS_TEST_TMPDIR/ran" ]
	run --separate-stderr "$CBCTL" run --config "$BATS_TEST_TMPDIR/none.conf" -- true
	assert_failure 1
}

@test "run_without_shim: a cbctl with no shim beside it nor installed fails clearly" {
	libdir=/usr/local/lib	# the Makefile's default LIBDIR
	if [ -e "$libdir/libcbshim.so" ]; then
		# installed: then that one is used, which is right too
		cp "$CBCTL" "$BATS_TEST_TMPDIR/cbctl"
		run "$BATS_TEST_TMPDIR/cbctl" run -- sh -c 'echo "$LD_PRELOAD"'
		assert_output --partial "$libdir/libcbshim.so"
		return
	fi
	cp "$CBCTL" "$BATS_TEST_TMPDIR/cbctl"
	run --separate-stderr "$BATS_TEST_TMPDIR/cbctl" run -- true
	assert_failure 1
	[[ $stderr == "cbctl: run: cannot find libcbshim.so next to cbctl nor in "* ]]
}

# ---- check-config ------------------------------------------------------

@test "check_config_ok: a good file prints FILE: ok" {
	printf 'defaults = { failure_threshold = 3; open_timeout = "10s"; };\n' >"$BATS_TEST_TMPDIR/good.conf"
	run "$CBCTL" check-config "$BATS_TEST_TMPDIR/good.conf"
	assert_success
	assert_output "$BATS_TEST_TMPDIR/good.conf: ok"
}

@test "check_config_bad: the loader's FILE:LINE: message on stderr, exit 1" {
	printf '# a comment\ndefaults = {\n  failure_threshold = 0;\n};\n' >"$BATS_TEST_TMPDIR/bad.conf"
	run --separate-stderr "$CBCTL" check-config "$BATS_TEST_TMPDIR/bad.conf"
	assert_failure 1
	[ -z "$output" ]
	[[ $stderr == "cbctl: $BATS_TEST_TMPDIR/bad.conf:3: "* ]]
	printf 'defaults = { failure_threshold = 3 \n' >"$BATS_TEST_TMPDIR/syntax.conf"
	run --separate-stderr "$CBCTL" check-config "$BATS_TEST_TMPDIR/syntax.conf"
	assert_failure 1
	[[ $stderr == "cbctl: $BATS_TEST_TMPDIR/syntax.conf:"[0-9]* ]]
}

@test "check_config_every_kind: each kind of bad file names its line, exit 1, nothing on stdout" {
	f=$BATS_TEST_TMPDIR/k.conf
	bad() {		# TEXT LINE MESSAGE
		printf '%s\n' "$1" >"$f"
		run --separate-stderr "$CBCTL" check-config "$f"
		assert_failure 1
		[ -z "$output" ]
		[ "$stderr" = "cbctl: $f:$2: $3" ]
	}
	bad $'defaults = {\n  mode = ;\n};' 2 'syntax error'
	bad $'defaults = {\n  failure_threshold = 5;' 1 "'{' never closed: no '}' for it before the end of the file"
	bad $'rules = (\n  { match = "*:53"; }' 1 "'(' never closed: no ')' for it before the end of the file"
	bad $'shm = { mode = "0600; };\nlog = { };' 1 "string never closed: no closing '\"' after the one on this line"
	bad $'log = { level = "warn"; };\nlog = { };' 2 'log: set twice in the same group (duplicate setting name)'
	bad $'defaults = {\n  failure_threshold = 5;\n  failure_threshold = 6;\n};' 3 'failure_threshold: set twice in the same group (duplicate setting name)'
	bad $'defaults = { failures = [ "ECONNREFUSED", 5 ]; };' 1 'mismatched element type in array'
	bad $'a = 1;\n@include "x.conf"' 2 '@include is not supported (keep the configuration in one file)'
	bad $'\xef\xbb\xbfdefaults = { };' 1 'the file starts with a UTF-8 byte order mark (BOM): save it without one'
	bad $'defaults = {\r\n  failure_threshold = 0;\r\n};\r' 2 'defaults.failure_threshold: must be 1..65535, got 0'
	bad $'defaults = { failure_threshold = 2; };\n/* old rules:\nrules = ( { match = "*:53"; mode = "off"; } );' \
		2 'comment never closed: no "*/" after this "/*" (the rest of the file would be ignored)'
	bad $'defaults = {\n  failure_threshold = "5";\n};' 2 'defaults.failure_threshold: must be an integer, got a string'
	bad $'defaults = { open_timeout = 30; };' 1 'defaults.open_timeout: must be a duration string with a unit (ms, s, m, h) like "30s", got an integer'
	bad $'rules = { match = "*:53"; };' 1 'rules: must be a list ( { match = ...; }, ... ), got a group'
	bad $'shm = { max_breakers = 1048577; };' 1 'shm.max_breakers: must be 1..1048576, got 1048577'
	bad $'defaults = { failure_threshold = 4294967297; };' 1 'defaults.failure_threshold: must be 1..65535, got 4294967297'
	bad $'defaults = { backoff = 0.5; };' 1 'defaults.backoff: must be 1.0..100.0, got 0.5'
	bad $'\ndefaults = { failure_treshold = 5; };' 2 'defaults.failure_treshold: unknown setting'
	bad $'rules = ( { mode = "off"; } );' 1 'rules[0]: missing match (like match = "10.0.0.0/8:*";)'
	bad $'shm = { owner = "no-such-user-cb"; };' 1 'shm.owner: no such user "no-such-user-cb"'
	bad $'shm = { owner = "65534"; };' 1 'shm.owner: no such user "65534" (a uid is a number, written without quotes)'
	bad $'rules = (\n  { match = "*:53"; mode = "off"; },\n  { match = "*:53"; mode = "observe"; }\n);' \
		3 'rules[1].match: the same as rules[0] (line 2), which comes first and wins: this rule would never apply'
}

@test "check_config_unreadable: a missing file is exit 1" {
	run --separate-stderr "$CBCTL" check-config "$BATS_TEST_TMPDIR/none.conf"
	assert_failure 1
	[[ $stderr == "cbctl: $BATS_TEST_TMPDIR/none.conf: "* ]]
}

@test "check_config_default: CBSHIM_CONFIG is the default file" {
	conf 'defaults = { failure_threshold = 3; };'
	run "$CBCTL" check-config
	assert_success
	assert_output "$CBSHIM_CONFIG: ok"
}

@test "check_config_no_file: without any file the built-in defaults apply" {
	run env -u CBSHIM_CONFIG "$CBCTL" check-config
	assert_success
	if [ -e /etc/cbshim/cb.conf ]; then
		assert_output "/etc/cbshim/cb.conf: ok"
	else
		assert_output "no config file; built-in defaults"
	fi
}

# ---- reload ------------------------------------------------------------

@test "reload: existing breakers take the config file's policies" {
	"$CBCTL" trip 127.0.0.1:9 >/dev/null
	"$CBCTL" trip 10.1.2.3:5432 >/dev/null
	[ "$(field 127.0.0.1:9 policy | grep -c "'failure_threshold': 5")" = 1 ]
	conf 'defaults = { failure_threshold = 9; };
rules = ( { match = "10.1.0.0/16:*"; mode = "off"; } );'
	run "$CBCTL" reload
	assert_success
	assert_output "reloaded 2 breakers from $CBSHIM_CONFIG"
	run "$CBCTL" show 127.0.0.1:9 --json
	[ "$(echo "$output" | pyjson 'd["policy"]["failure_threshold"]')" = 9 ]
	run "$CBCTL" show 10.1.2.3:5432 --json
	[ "$(echo "$output" | pyjson 'd["policy"]["mode"]')" = off ]
	# the state is untouched
	[ "$(state 127.0.0.1:9)" = open ]
}

@test "reload_bad_config: a config that does not load changes nothing, exit 1" {
	"$CBCTL" trip 127.0.0.1:9 >/dev/null
	conf 'defaults = { failure_threshold = "x"; };'
	run --separate-stderr "$CBCTL" reload
	assert_failure 1
	[[ $stderr == "cbctl: $CBSHIM_CONFIG:1: "* ]]
	conf ''
	[ "$(field 127.0.0.1:9 policy | grep -c "'failure_threshold': 5")" = 1 ]
}

# ---- destroy -----------------------------------------------------------

@test "destroy: removes the segment; the next trip starts afresh" {
	"$CBCTL" trip 127.0.0.1:9 >/dev/null
	run "$CBCTL" destroy
	assert_success
	assert_output "removed segment $CBSHIM_SHM"
	[ ! -e "$(seg)" ]
	run --separate-stderr "$CBCTL" destroy
	assert_failure 1
	[ "$stderr" = "cbctl: segment $CBSHIM_SHM: no such segment" ]
	"$CBCTL" trip 127.0.0.1:10 >/dev/null
	run "$CBCTL" list --json
	[ "$(echo "$output" | pyjson 'len(d)')" = 1 ]
}

@test "show_hostname_with_several_addresses: --json prints an array, trip covers every address" {
	need_private_mounts
	printf '127.0.0.1 cbmulti\n::1 cbmulti\n' >"$BATS_TEST_TMPDIR/hosts"
	# a private /etc/hosts in a mount namespace of its own
	run unshare -m sh -c '
		mount --bind "$1" /etc/hosts || exit 99
		"$2" trip cbmulti:4343 >/dev/null &&
		"$2" show cbmulti:4343 --json' _ "$BATS_TEST_TMPDIR/hosts" "$CBCTL"
	[ "$status" -ne 99 ] || skip "cannot bind-mount in a mount namespace here"
	assert_success
	run $PY -c 'import json,sys; a=json.loads(sys.argv[1]); print(type(a).__name__, sorted(x["dest"] for x in a), {x["state"] for x in a})' "$output"
	assert_output "list ['127.0.0.1:4343', '[::1]:4343'] {'open'}"
}
