#!/usr/bin/env bats
# config.bats - cb.conf honoured through the shim: every setting reaches the
# breakers real programs create, rules apply to their destinations only,
# the modes do what they say, and a bad file costs one warning line and
# nothing else.  Loopback only; nothing listens on a free_port unless the
# test starts a server there, so connects to it are refused.

load common
bats_require_minimum_version 1.5.0





# policy DEST KEY: one field of the breaker's policy (lists sorted, joined
# with spaces).
policy() {
	"$CBCTL" show "$1" --json | $PY -c '
import json, sys
v = json.load(sys.stdin)["policy"][sys.argv[1]]
print(" ".join(sorted(v)) if isinstance(v, list) else v)' "$2"
}

# two_free_ports: set A and B to two different free ports.
two_free_ports() {
	A=$(free_port)
	B=$(free_port)
	while [ "$B" = "$A" ]; do B=$(free_port); done
}

@test "defaults_reach_the_breaker: every defaults field is the policy of a breaker the shim creates" {
	conf 'defaults = {
  failure_threshold = 7; success_threshold = 2; open_timeout = "1500ms";
  half_open_max_calls = 4; backoff = 2.5; open_timeout_max = "2m";
  failures = [ "ECONNREFUSED", "EPIPE" ]; mode = "enforce";
  reject_errno = "EHOSTUNREACH"; connect_timeout = "2500ms";
};'
	port=$(free_port)
	run client -n 1 127.0.0.1 "$port"
	assert_success
	refute_output --partial cbshim:
	d=127.0.0.1:$port
	[ "$(policy $d failure_threshold)" = 7 ]
	[ "$(policy $d success_threshold)" = 2 ]
	[ "$(policy $d open_timeout_ms)" = 1500 ]
	[ "$(policy $d half_open_max_calls)" = 4 ]
	[ "$(policy $d backoff)" = 2.5 ]
	[ "$(policy $d open_timeout_max_ms)" = 120000 ]
	[ "$(policy $d failures)" = "ECONNREFUSED EPIPE" ]
	[ "$(policy $d mode)" = enforce ]
	[ "$(policy $d reject_errno)" = EHOSTUNREACH ]
	[ "$(policy $d connect_timeout_ms)" = 2500 ]
}

@test "connect_timeout_zero_is_off: \"0\" and absent both leave connects unbounded" {
	two_free_ports
	conf "rules = ( { match = \"127.0.0.1:$A\"; connect_timeout = \"0\"; } );
defaults = { connect_timeout = \"1s\"; };"
	run client -n 1 127.0.0.1 "$A"
	run client -n 1 127.0.0.1 "$B"
	refute_output --partial cbshim:
	[ "$(policy 127.0.0.1:$A connect_timeout_ms)" = 0 ]
	[ "$(policy 127.0.0.1:$B connect_timeout_ms)" = 1000 ]
}

@test "rule_threshold_applies_to_its_destination_only: A opens after 2, B stays closed after 3" {
	two_free_ports
	conf "rules = ( { match = \"127.0.0.1:$A\"; failure_threshold = 2; } );"
	run client -n 3 127.0.0.1 "$A"
	assert_success
	assert_line --index 2 --regexp '^2 ECONNREFUSED '
	[ "$(state 127.0.0.1:$A)" = open ]
	[ "$(field 127.0.0.1:$A failed_calls)" = 2 ]
	[ "$(field 127.0.0.1:$A rejected_calls)" = 1 ]
	run client -n 3 127.0.0.1 "$B"
	[ "$(state 127.0.0.1:$B)" = closed ]
	[ "$(field 127.0.0.1:$B failed_calls)" = 3 ]
	[ "$(field 127.0.0.1:$B consecutive_failures)" = 3 ]
	[ "$(policy 127.0.0.1:$B failure_threshold)" = 5 ]
}

@test "rule_overrides_only_its_fields: the rest comes from the defaults section, first match wins" {
	port=$(free_port)
	conf "defaults = { success_threshold = 2; open_timeout = \"7s\"; };
rules = (
  { match = \"127.0.0.1:$port\"; failure_threshold = 3; },
  { match = \"127.0.0.0/8:*\"; failure_threshold = 9; }
);"
	run client -n 1 127.0.0.1 "$port"
	d=127.0.0.1:$port
	[ "$(policy $d failure_threshold)" = 3 ]
	[ "$(policy $d success_threshold)" = 2 ]
	[ "$(policy $d open_timeout_ms)" = 7000 ]
	[ "$(policy $d half_open_max_calls)" = 3 ]
}

@test "cidr_and_port_range_rules: 127.0.0.0/8 with a port range matches inside, not outside" {
	port=$(free_port)
	[ "$port" -lt 65000 ] || port=$((port - 10))
	conf "rules = ( { match = \"127.0.0.0/8:$port-$((port + 1))\"; failure_threshold = 2; } );"
	run client -n 1 127.0.0.1 "$port"
	run client -n 1 127.0.0.2 "$((port + 1))"
	run client -n 1 127.0.0.1 "$((port + 2))"
	[ "$(policy 127.0.0.1:$port failure_threshold)" = 2 ]
	[ "$(policy 127.0.0.2:$((port + 1)) failure_threshold)" = 2 ]
	[ "$(policy 127.0.0.1:$((port + 2)) failure_threshold)" = 5 ]
}

@test "ipv4_rule_never_matches_ipv6: a 127.0.0.1 rule leaves [::1] alone and the other way round" {
	two_free_ports
	conf "rules = ( { match = \"127.0.0.1:$A\"; failure_threshold = 2; },
  { match = \"[::1]:$B\"; failure_threshold = 3; },
  { match = \"0.0.0.0/0:*\"; failure_threshold = 4; } );"
	run client -n 1 ::1 "$A"
	run client -n 1 127.0.0.1 "$B"
	run client -n 1 ::1 "$B"
	[ "$(policy [::1]:$A failure_threshold)" = 5 ]
	[ "$(policy 127.0.0.1:$B failure_threshold)" = 4 ]
	[ "$(policy [::1]:$B failure_threshold)" = 3 ]
}

@test "observe_mode_never_rejects_but_counts: an open breaker lets every connect through" {
	port=$(free_port)
	conf 'defaults = { mode = "observe"; failure_threshold = 2; };'
	# refused connects: all really attempted, the ones past the threshold
	# counted as would-be rejections
	run client -n 5 127.0.0.1 "$port"
	assert_success
	[ "$(grep -c ECONNREFUSED <<<"$output")" = 5 ]
	[ "$(field 127.0.0.1:$port failed_calls)" = 5 ]
	[ "$(field 127.0.0.1:$port rejected_calls)" = 3 ]
	[ "$(state 127.0.0.1:$port)" = open ]
	# a listener behind an open breaker is reached every time
	server accept "$port" "$BATS_TEST_TMPDIR/n"
	run "$CBCTL" trip --hold "127.0.0.1:$port"
	run client -n 3 127.0.0.1 "$port"
	[ "$(grep -c ' ok ' <<<"$output")" = 3 ]
	accepted "$BATS_TEST_TMPDIR/n" 3
	[ "$(field 127.0.0.1:$port rejected_calls)" = 6 ]
}

@test "observe_rule: only the rule's destination observes, others enforce" {
	two_free_ports
	conf "defaults = { failure_threshold = 2; };
rules = ( { match = \"127.0.0.1:$A\"; mode = \"observe\"; } );"
	run client -n 4 127.0.0.1 "$A"
	[ "$(field 127.0.0.1:$A failed_calls)" = 4 ]
	[ "$(field 127.0.0.1:$A rejected_calls)" = 2 ]
	run client -n 4 127.0.0.1 "$B"
	[ "$(field 127.0.0.1:$B failed_calls)" = 2 ]
	[ "$(field 127.0.0.1:$B rejected_calls)" = 2 ]
}

@test "off_mode_leaves_no_breaker: defaults off, and a rule off next to a governed port" {
	two_free_ports
	conf 'defaults = { mode = "off"; failure_threshold = 1; };'
	run client -n 3 127.0.0.1 "$A"
	[ "$(grep -c ECONNREFUSED <<<"$output")" = 3 ]
	run --separate-stderr "$CBCTL" show "127.0.0.1:$A" --json
	assert_failure 1
	[[ $stderr == *"no breaker"* ]]

	conf "rules = ( { match = \"*:$A\"; mode = \"off\"; } );"
	run client -n 6 127.0.0.1 "$A"
	run client -n 1 127.0.0.1 "$B"
	run "$CBCTL" show "127.0.0.1:$A" --json
	assert_failure 1
	[ "$(state 127.0.0.1:$B)" = closed ]
}

@test "reject_errno_rule: a rejected connect fails with the rule's errno" {
	two_free_ports
	conf "rules = ( { match = \"127.0.0.1:$A\"; reject_errno = \"EHOSTUNREACH\"; } );"
	"$CBCTL" trip "127.0.0.1:$A"
	"$CBCTL" trip "127.0.0.1:$B"
	run client -n 1 127.0.0.1 "$A"
	assert_line --regexp '^0 EHOSTUNREACH '
	run client -n 1 127.0.0.1 "$B"
	assert_line --regexp '^0 ECONNREFUSED '
	[ "$(field 127.0.0.1:$A rejected_calls)" = 1 ]
}

@test "failures_list: only the listed errnos count as failures" {
	port=$(free_port)
	conf 'defaults = { failures = [ "ETIMEDOUT" ]; failure_threshold = 1; };'
	run client -n 3 127.0.0.1 "$port"
	[ "$(grep -c ECONNREFUSED <<<"$output")" = 3 ]
	[ "$(state 127.0.0.1:$port)" = closed ]
	[ "$(field 127.0.0.1:$port failed_calls)" = 0 ]
	[ "$(field 127.0.0.1:$port rejected_calls)" = 0 ]
}

@test "rule_open_timeout: the rule's open time applies to its destination only" {
	two_free_ports
	conf "defaults = { failure_threshold = 1; };
rules = ( { match = \"127.0.0.1:$A\"; open_timeout = \"200ms\"; } );"
	run client -n 1 127.0.0.1 "$A"
	run client -n 1 127.0.0.1 "$B"
	sleep 0.4
	[ "$(state 127.0.0.1:$A)" = half-open ]
	[ "$(state 127.0.0.1:$B)" = open ]
}

@test "shm_settings: mode and max_breakers shape the segment the shim creates" {
	conf 'shm = { mode = "0640"; max_breakers = 2; };'
	for i in 1 2 3; do
		p=$(free_port)
		run client -n 1 127.0.0.1 "$p"
	done
	[ "$(stat -c %a "/dev/shm$CBSHIM_SHM")" = 640 ]
	run "$CBCTL" list
	assert_output --partial "table full (max_breakers 2)"
	[ "$("$CBCTL" list --json | $PY -c 'import json,sys; print(len(json.load(sys.stdin)))')" = 2 ]
}

@test "shm_name: without CBSHIM_SHM the shim uses the config's shm.name" {
	name=/cbtest-name-$$-$RANDOM
	conf "shm = { name = \"$name\"; };"
	unset CBSHIM_SHM
	port=$(free_port)
	run client -n 1 127.0.0.1 "$port"
	[ -e "/dev/shm$name" ]
	run "$CBCTL" --shm "$name" show "127.0.0.1:$port" --json
	rm -f "/dev/shm$name"
	assert_success
}

@test "log_level: level error silences the shim's warnings, warn shows them once" {
	conf 'shm = { max_breakers = 1; };
log = { level = "error"; };'
	run client -n 1 127.0.0.1 "$(free_port)"
	run client -n 2 127.0.0.1 "$(free_port)"
	refute_output --partial cbshim:
	conf 'shm = { max_breakers = 1; };
log = { level = "warn"; target = "stderr"; };'
	run client -n 2 127.0.0.1 "$(free_port)"
	[ "$(grep -c '^cbshim: breaker table full' <<<"$output")" = 1 ]
}

@test "log_target_syslog: warnings leave stderr" {
	conf 'shm = { max_breakers = 1; };
log = { target = "syslog"; };'
	run client -n 1 127.0.0.1 "$(free_port)"
	run client -n 2 127.0.0.1 "$(free_port)"
	assert_success
	refute_output --partial cbshim:
}

@test "bad_config_warns_once_and_passes_through: one cbshim: FILE:LINE line, the program works" {
	port=$(free_port)
	conf '# cb.conf
defaults = {
  failure_threshold = 0;
};'
	server accept "$port" "$BATS_TEST_TMPDIR/n"
	run client -n 3 127.0.0.1 "$port"
	assert_success
	[ "$(grep -c '^cbshim:' <<<"$output")" = 1 ]
	assert_line "cbshim: $CBSHIM_CONFIG:3: defaults.failure_threshold: must be 1..65535, got 0"
	[ "$(grep -c ' ok ' <<<"$output")" = 3 ]
	accepted "$BATS_TEST_TMPDIR/n" 3
	# passing through means no segment either
	[ ! -e "/dev/shm$CBSHIM_SHM" ]
}

@test "bad_config_kinds: syntax, unknown key, bad CIDR, unknown errno, bad duration each name their line" {
	port=$(free_port)
	check() {	# TEXT LINE MESSAGE
		conf "$1"
		run client -n 2 127.0.0.1 "$port"
		assert_success
		[ "$(grep -c '^cbshim:' <<<"$output")" = 1 ]
		assert_line "cbshim: $CBSHIM_CONFIG:$2: $3"
		[ "$(grep -c ECONNREFUSED <<<"$output")" = 2 ]
	}
	check 'defaults = {
  mode = ;
};' 2 'syntax error'
	check 'defaults = { failure_treshold = 3; };' 1 'defaults.failure_treshold: unknown setting'
	check 'rules = (
  { match = "10.1.2.3/16:80"; }
);' 2 'rules[0].match: address has bits set beyond /16 (the network is 10.1.0.0/16), got "10.1.2.3/16:80"'
	check 'defaults = { failures = [ "ECONNREFUSED", "ENOPE" ]; };' 1 'defaults.failures[1]: unknown errno name "ENOPE"'
	check 'defaults = { open_timeout = "30"; };' 1 'defaults.open_timeout: must be a number with a unit (ms, s, m, h) like "30s", got "30"'
	check 'rules = (
  { match = "127.0.0.1:*"; connect_timeout = "soon"; }
);' 2 'rules[0].connect_timeout: must be a number with a unit (ms, s, m, h) like "30s", got "soon"'
	check 'defaults = { connect_timeout = 5; };' 1 'defaults.connect_timeout: must be a duration string with a unit (ms, s, m, h) like "30s", got an integer'
	check 'rules = (
  { match = "127.0.0.1:*"; response_timeout = "eleven"; }
);' 2 'rules[0].response_timeout: must be a number with a unit (ms, s, m, h) like "30s", got "eleven"'
	check 'defaults = {
  slow_call_duration = 2;
};' 2 'defaults.slow_call_duration: must be a duration string with a unit (ms, s, m, h) like "30s", got an integer'
	[ ! -e "/dev/shm$CBSHIM_SHM" ]
}

@test "missing_config_file: a CBSHIM_CONFIG naming no file warns once and passes through" {
	export CBSHIM_CONFIG=$BATS_TEST_TMPDIR/nope.conf
	port=$(free_port)
	run client -n 2 127.0.0.1 "$port"
	assert_success
	assert_line "cbshim: $BATS_TEST_TMPDIR/nope.conf: No such file or directory"
	[ "$(grep -c '^cbshim:' <<<"$output")" = 1 ]
}

@test "example_config_runs_clean: the shipped cb.conf.example loads silently and gives the defaults" {
	export CBSHIM_CONFIG=$TOP/cb.conf.example
	port=$(free_port)
	run client -n 1 127.0.0.1 "$port"
	assert_success
	refute_output --partial cbshim:
	d=127.0.0.1:$port
	[ "$(policy $d failure_threshold)" = 5 ]
	[ "$(policy $d open_timeout_ms)" = 30000 ]
	[ "$(policy $d mode)" = enforce ]
	[ "$(policy $d failures)" = "ECONNREFUSED ECONNRESET EHOSTUNREACH ENETUNREACH ETIMEDOUT" ]
	[ "$(stat -c %a "/dev/shm$CBSHIM_SHM")" = 600 ]
}
