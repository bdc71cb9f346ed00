#!/bin/bash
# demo.sh - cbshim on real programs, narrated.  Run by `make demo`.
#
# A local web server, curl through the shim, the server hangs (its accept
# queue full, so connects time out), the breaker opens and curl fails at
# once instead of waiting, the server comes back, half-open, closed.
set -eu
cd "$(dirname "$0")/.."
top=$PWD
CBCTL=$top/build/cbctl
PY=/usr/bin/python3
export CBSHIM_SHM=/cbshim-demo-$$
work=$(mktemp -d)
pids=()
cleanup() {
	for p in "${pids[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	"$CBCTL" destroy >/dev/null 2>&1 || true
	rm -rf "$work"
}
trap cleanup EXIT

b=$(tput bold 2>/dev/null || true); n=$(tput sgr0 2>/dev/null || true)
say() { printf '\n%s==> %s%s\n' "$b" "$*" "$n"; }
run() { printf '$ %s\n' "$*"; "$@"; }
ms_since() { echo $(( ($(date +%s%N) - $1) / 1000000 )); }

free() { $PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
port=$(free)
hole=$(free)
hung=$(free)
url=http://127.0.0.1:$port/
cat >"$work/cb.conf" <<CONF
# the demo's policy: quick to open and to probe again
defaults = { failure_threshold = 3; open_timeout = "3s"; success_threshold = 2; };
# the black hole of the last act: connects bounded by the shim
# and the hung server of the act after it: judged by its first byte
rules = ( { match = "127.0.0.1:$hole"; connect_timeout = "1s"; },
          { match = "127.0.0.1:$hung"; response_timeout = "1s"; } );
CONF
export CBSHIM_CONFIG=$work/cb.conf
echo hello >"$work/index.html"

serve() {
	$PY -m http.server --bind 127.0.0.1 "$port" --directory "$work" \
		>/dev/null 2>&1 &
	pids+=($!)
	for _ in $(seq 100); do
		curl -s -o /dev/null "$url" && return 0
		sleep 0.05
	done
}

say "A web server on 127.0.0.1:$port, and curl through the shim (cbctl run)"
serve
run "$CBCTL" run -- curl -s "$url"
run "$CBCTL" list

say "The server hangs: it stops accepting (a full accept queue), so connects time out"
kill "${pids[-1]}"; wait "${pids[-1]}" 2>/dev/null || true
$PY "$top/tests/helpers/tcpserver.py" full "$port" >/dev/null &
pids+=($!)
sleep 0.5
for i in 1 2 3; do
	t=$(date +%s%N)
	"$CBCTL" run -- curl -s --connect-timeout 1 "$url" || true
	echo "curl #$i gave up after $(ms_since "$t") ms (its own --connect-timeout 1)"
done
say "Three failures: the breaker for 127.0.0.1:$port is open"
run "$CBCTL" list

say "Now curl fails at once: connect() returns ECONNREFUSED without touching the network"
for i in 1 2 3; do
	t=$(date +%s%N)
	"$CBCTL" run -- curl -s --connect-timeout 1 "$url" || echo "curl: exit $? (connection refused)"
	echo "curl #$i failed after $(ms_since "$t") ms, almost all of it curl starting up"
done
printf 'one whole socket()+connect()+close() while open, timed inside the program: '
LD_PRELOAD=$top/build/libcbshim.so "$top/build/tests/helpers/cbclient" -m sockerr -t 1000 -n 5 127.0.0.1 "$port" | tail -1 |
	awk '{print $3 " microseconds (" $2 ")"}'

say "The server comes back; after open_timeout (3 s) the breaker lets probes through"
kill "${pids[-1]}"; wait "${pids[-1]}" 2>/dev/null || true
serve
sleep 3
run "$CBCTL" list
run "$CBCTL" run -- curl -s "$url"
run "$CBCTL" run -- curl -s "$url"
say "Two successful probes: closed again"
run "$CBCTL" list
say "What happened, from the events ring"
run "$CBCTL" events
say "A black hole on 127.0.0.1:$hole (SYNs dropped), and curl with no --connect-timeout"
echo "Without the shim each curl would wait for the kernel's SYN retries, about 130 s."
echo "The rule for it sets connect_timeout = \"1s\" (TCP_USER_TIMEOUT before the connect):"
$PY "$top/tests/helpers/tcpserver.py" full "$hole" >/dev/null &
pids+=($!)
sleep 0.5
for i in 1 2 3 4; do
	t=$(date +%s%N)
	"$CBCTL" run -- curl -s "http://127.0.0.1:$hole/" || true
	echo "curl #$i failed after $(ms_since "$t") ms"
done
run "$CBCTL" show "127.0.0.1:$hole"

say "A hung server on 127.0.0.1:$hung: it accepts and never answers, and redis-cli"
echo "Without response_timeout each redis-cli waits forever and the breaker counts a success."
echo "The rule for it sets response_timeout = \"1s\": no first byte in time is a failure:"
$PY "$top/tests/helpers/tcpserver.py" hang "$hung" >/dev/null &
pids+=($!)
sleep 0.5
for i in 1 2 3 4; do
	t=$(date +%s%N)
	"$CBCTL" run -- redis-cli -p "$hung" PING 2>&1 || true
	echo "redis-cli #$i failed after $(ms_since "$t") ms"
done
run "$CBCTL" show "127.0.0.1:$hung"

say "Done.  Try: cbctl watch, cbctl metrics, cbctl trip 127.0.0.1:$port --for 10s"
