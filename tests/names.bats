#!/usr/bin/env bats
# names.bats - breakers and rules by the host names programs resolve through
# the C library: python3's socket module (getaddrinfo), curl (its threaded
# resolver), a C client using gethostbyname_r / gethostbyname2_r; name rules
# and "*." rules; an address reached without a name; names in list, show
# --json and metrics.  Every program that resolves runs in a private mount
# namespace whose /etc/hosts names loopback addresses only.

load common

setup() {
	cb_setup
	HOSTS=$BATS_TEST_TMPDIR/hosts
	cat >"$HOSTS" <<-EOF
	127.0.0.1 db.internal
	127.0.0.1 alias.internal
	127.0.0.2 orders.svc.cluster.local
	127.0.0.3 svc.cluster.local
	127.0.0.5 curl.internal
	127.0.0.6 ghbn.internal
	::1 v6.internal
	EOF
}

# named CMD...: run CMD (a shell command line) in a private mount
# namespace with our /etc/hosts; skips where none can be made safely.
named() {
	need_private_mounts
	run unshare -m sh -c 'mount --bind "$0" /etc/hosts || exit 99
		exec sh -c "$1"' "$HOSTS" "$1"
	[ "$status" -ne 99 ] || skip "cannot bind-mount /etc/hosts in a private mount namespace here"
}

# py_connect HOST PORT: python3 under the shim connects once (refused or not).
py_connect() {
	echo "LD_PRELOAD='$CBSHIM_LIB' $PY -c '
import socket, sys
try:
    socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=5).close(); print(\"ok\")
except OSError as e:
    print(e.errno)' $1 $2"
}

# name_of DEST: the "name" field of cbctl show --json ("None" when null).
name_of() {
	"$CBCTL" show "$1" --json | $PY -c 'import json,sys; print(json.load(sys.stdin)["name"])'
}

@test "python3: a breaker reached through a name shows it in list, show, --json and metrics; one reached without a name does not" {
	port=$(free_port)
	named "$(py_connect db.internal $port); $(py_connect 127.0.0.9 $port)"
	assert_success
	assert_output $'111\n111'
	[ "$(name_of 127.0.0.1:$port)" = db.internal ]
	[ "$(name_of 127.0.0.9:$port)" = None ]
	run "$CBCTL" list
	assert_line --regexp "^127\.0\.0\.1:$port +db\.internal +closed +1 "
	assert_line --regexp "^127\.0\.0\.9:$port +- +closed +1 "
	run "$CBCTL" show 127.0.0.1:$port
	assert_line --regexp '^name: +db\.internal$'
	run "$CBCTL" metrics
	assert_line "cbshim_calls_total{dest=\"127.0.0.1:$port\",name=\"db.internal\"} 1"
	assert_line "cbshim_calls_total{dest=\"127.0.0.9:$port\"} 1"
	assert_line "cbshim_state{dest=\"127.0.0.1:$port\",name=\"db.internal\",state=\"closed\"} 1"
	run "$CBCTL" list --json
	run $PY -c 'import json,sys; print(sorted((x["dest"], x["name"]) for x in json.loads(sys.argv[1])))' "$output"
	assert_output "[('127.0.0.1:$port', 'db.internal'), ('127.0.0.9:$port', None)]"
}

@test "curl: the threaded resolver's name reaches the breaker" {
	port=$(free_port)
	named "LD_PRELOAD='$CBSHIM_LIB' curl -s -o /dev/null http://CURL.internal:$port/; echo \$?"
	assert_success
	assert_output 7
	[ "$(name_of 127.0.0.5:$port)" = curl.internal ]
}

@test "gethostbyname_r and gethostbyname2_r: a C client's names reach the breaker" {
	port=$(free_port)
	named "LD_PRELOAD='$CBSHIM_LIB' '$HELPERS/hostconnect' ghbn.internal $port &&
	       LD_PRELOAD='$CBSHIM_LIB' '$HELPERS/hostconnect' -6 v6.internal $port"
	assert_success
	assert_output $'127.0.0.6 111\n::1 111'
	[ "$(name_of 127.0.0.6:$port)" = ghbn.internal ]
	[ "$(name_of "[::1]:$port")" = v6.internal ]
}

@test "the first name wins; a breaker made before any name gets the first one seen later" {
	port=$(free_port)
	named "$(py_connect 127.0.0.1 $port); $(py_connect alias.internal $port); $(py_connect db.internal $port)"
	assert_success
	assert_output $'111\n111\n111'
	[ "$(name_of 127.0.0.1:$port)" = alias.internal ]
	[ "$(field 127.0.0.1:$port total_calls)" = 3 ]
}

@test "name rules: first match wins, in order with CIDR rules, only for addresses reached through the name" {
	port=$(free_port)
	other=$(free_port)
	conf "rules = (
	  { match = \"db.internal:$port\"; failure_threshold = 1; },
	  { match = \"127.0.0.0/8:$other\"; failure_threshold = 7; },
	  { match = \"*.svc.cluster.local:*\"; failure_threshold = 1; }
	);"
	named "$(py_connect db.internal $port); $(py_connect 127.0.0.1 $other);
	       $(py_connect orders.svc.cluster.local $port); $(py_connect svc.cluster.local $port);
	       $(py_connect orders.svc.cluster.local $other)"
	assert_success
	assert_output $'111\n111\n111\n111\n111'
	[ "$(state 127.0.0.1:$port)" = open ]		# db.internal:PORT
	[ "$(state 127.0.0.2:$port)" = open ]		# *.svc.cluster.local
	[ "$(state 127.0.0.3:$port)" = closed ]		# not deeper than svc.cluster.local
	run "$CBCTL" show 127.0.0.3:$port --json
	assert_output --partial '"failure_threshold": 5'
	# the CIDR rule comes first for this port, whatever the name
	run "$CBCTL" show 127.0.0.2:$other --json
	assert_output --partial '"failure_threshold": 7'
	# the same address reached without the name: the default policy
	named "$(py_connect 127.0.0.1 $((port == 65535 ? port - 1 : port + 1)))"
	run "$CBCTL" show 127.0.0.1:$((port == 65535 ? port - 1 : port + 1)) --json
	assert_output --partial '"failure_threshold": 5'
}

@test "name rules: reload re-applies them by the stored name; trip NAME:PORT stores the name" {
	port=$(free_port)
	named "$(py_connect db.internal $port); '$CBCTL' trip orders.svc.cluster.local:$port"
	assert_success
	[ "$(name_of 127.0.0.2:$port)" = orders.svc.cluster.local ]
	conf "rules = ( { match = \"*.internal:$port\"; failure_threshold = 2; } );"
	run "$CBCTL" reload
	assert_success
	run "$CBCTL" show 127.0.0.1:$port --json
	assert_output --partial '"failure_threshold": 2'
	run "$CBCTL" show 127.0.0.2:$port --json
	assert_output --partial '"failure_threshold": 5'
}

@test "list: a long name is shortened in the middle to fit COLUMNS, columns stay aligned; whole in a pipe" {
	port=$(free_port)
	long=very-long-service-name.with-many-labels.orders.svc.cluster.local
	printf '127.0.0.7 %s\n' "$long" >>"$HOSTS"
	named "$(py_connect $long $port); $(py_connect db.internal $port)"
	assert_success
	COLUMNS=100 run "$CBCTL" list
	assert_success
	assert_output --partial "..."
	refute_output --partial "$long"
	# STATE starts in the same column on every line, within 100 columns
	run $PY -c '
import sys
lines = sys.argv[1].splitlines()[2:]	# after the segment line and a blank one
print(len({l.index("STATE") if i == 0 else l.index("closed") for i, l in enumerate(lines)}), max(map(len, lines)) <= 100)' "$output"
	assert_output "1 True"
	COLUMNS= run "$CBCTL" list
	assert_output --partial "$long"
}

@test "threads resolving while others connect: every attempt counted once, the name kept" {
	port=$(free_port)
	named "LD_PRELOAD='$CBSHIM_LIB' '$HELPERS/resolvestorm' db.internal $port 3 3 400"
	assert_success
	assert_output --regexp '^connects 1200 resolves [1-9][0-9]*$'
	[ "$(field 127.0.0.1:$port total_calls)" = 1200 ]
	[ "$(name_of 127.0.0.1:$port)" = db.internal ]
}
