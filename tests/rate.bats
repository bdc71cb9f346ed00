#!/usr/bin/env bats
# rate.bats - the failure-rate rule (failure_rate_threshold over window,
# once minimum_calls outcomes are in) with a real client (Python) against a
# loopback listener that comes and goes: half of the connects are refused,
# never two in a row, so the consecutive rule alone never opens.

load common

FLAP=$TOP/tests/helpers/flapclient.py

# flap PORT N PATTERN: tests/helpers/flapclient.py under the shim.
flap() {
	shimmed $PY "$FLAP" "$@"
}

@test "failure_rate_opens_at_half_refused: 50 % refused over 10 outcomes opens it, why failure rate" {
	conf 'defaults = { failure_rate_threshold = 50; minimum_calls = 10; window = "10m"; };'
	port=$(free_port)
	run flap "$port" 30 ud
	assert_success
	assert_line --index 0 '0 up ok'
	assert_line --index 8 '8 up ok'
	assert_line --index 9 '9 down ECONNREFUSED'
	# from the 10th outcome on it is open: the listener is up, yet refused
	assert_line --index 10 '10 up ECONNREFUSED'
	assert_line --index 28 '28 up ECONNREFUSED'
	refute_line --regexp '^(1[0-9]|2[0-9]) up ok$'
	[ "$(state 127.0.0.1:$port)" = open ]
	[ "$(field 127.0.0.1:$port successful_calls)" = 5 ]
	[ "$(field 127.0.0.1:$port failed_calls)" = 5 ]
	[ "$(field 127.0.0.1:$port rejected_calls)" = 20 ]
	"$CBCTL" events --json | $PY -c '
import json, sys
e = [json.loads(l) for l in sys.stdin if l.strip()]
assert [x["why"] for x in e] == ["failure rate"], e'
	run "$CBCTL" events
	assert_output --regexp "127\.0\.0\.1:$port +closed -> open +failure rate"
}

@test "consecutive_rule_alone_never_opens_on_alternating_failures" {
	port=$(free_port)
	run flap "$port" 30 ud
	assert_success
	assert_line --index 28 '28 up ok'
	assert_line --index 29 '29 down ECONNREFUSED'
	[ "$(state 127.0.0.1:$port)" = closed ]
	[ "$(field 127.0.0.1:$port failed_calls)" = 15 ]
	[ "$(field 127.0.0.1:$port window_calls)" = 0 ]	# rule off: not kept
}

@test "failure_rate_below_threshold_stays_closed: 1 in 3 refused under a 50 % threshold" {
	conf 'defaults = { failure_rate_threshold = 50; minimum_calls = 10; window = "10m"; };'
	port=$(free_port)
	run flap "$port" 30 uud
	assert_success
	assert_line --index 27 '27 up ok'
	[ "$(state 127.0.0.1:$port)" = closed ]
	[ "$(field 127.0.0.1:$port window_calls)" = 30 ]
	[ "$(field 127.0.0.1:$port window_failures)" = 10 ]
}

@test "window_fields_in_show_list_metrics: window_calls and window_failures, empty again after reset" {
	conf 'defaults = { failure_rate_threshold = 60; minimum_calls = 100; window = "10m"; };'
	port=$(free_port)
	run flap "$port" 8 ud
	assert_success
	d=127.0.0.1:$port
	[ "$(field $d window_calls)" = 8 ]
	[ "$(field $d window_failures)" = 4 ]
	run "$CBCTL" show "$d"
	assert_line --regexp '^window_calls: +8$'
	assert_line --regexp '^window_failures: +4$'
	assert_line --regexp '^  failure_rate_threshold: +60%$'
	assert_line --regexp '^  window: +10m00s$'
	assert_line --regexp '^  minimum_calls: +100$'
	"$CBCTL" list --json | $PY -c '
import json, sys
o = json.load(sys.stdin)[0]
assert (o["window_calls"], o["window_failures"]) == (8, 4), o'
	run "$CBCTL" metrics
	assert_line "cbshim_window_calls{dest=\"$d\"} 8"
	assert_line "cbshim_window_failures{dest=\"$d\"} 4"
	"$CBCTL" show "$d" --json | $PY -c '
import json, sys
p = json.load(sys.stdin)["policy"]
assert (p["failure_rate_threshold"], p["window_ms"], p["minimum_calls"]) == \
    (60, 600000, 100), p'
	"$CBCTL" reset "$d"
	[ "$(field $d window_calls)" = 0 ]
	[ "$(state $d)" = closed ]
}

@test "failure_rate_config_errors_name_file_and_line" {
	printf 'defaults = {\n  failure_rate_threshold = 150;\n};\n' >"$BATS_TEST_TMPDIR/bad.conf"
	run "$CBCTL" check-config "$BATS_TEST_TMPDIR/bad.conf"
	assert_failure 1
	assert_output --partial "bad.conf:2: defaults.failure_rate_threshold: must be 0..100, got 150"
	printf 'rules = ( { match = "*:*";\n window = "1ms"; } );\n' >"$BATS_TEST_TMPDIR/bad.conf"
	run "$CBCTL" check-config "$BATS_TEST_TMPDIR/bad.conf"
	assert_failure 1
	assert_output --partial "bad.conf:2: rules[0].window: must be 100ms..24h"
}
