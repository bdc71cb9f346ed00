#!/usr/bin/env bats
# clients.bats - real programs under the shim: curl, nc, python3 (blocking
# and asyncio), Node.js, and nginx as a reverse proxy whose upstream dies and
# comes back.  Loopback only.

load common


@test "curl: refused five times, then rejected without a connection" {
	port=$(free_port)
	for i in 1 2 3 4 5; do
		run "$CBCTL" run -- curl -s -o /dev/null "http://127.0.0.1:$port/"
		assert_failure 7
	done
	[ "$(state 127.0.0.1:$port)" = open ]
	http_server "$port"
	run "$CBCTL" run -- curl -s -o /dev/null "http://127.0.0.1:$port/"
	assert_failure 7		# the server is up, but the breaker is open
	[ "$(field 127.0.0.1:$port rejected_calls)" = 1 ]
	run "$CBCTL" reset "127.0.0.1:$port"
	run "$CBCTL" run -- curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/"
	assert_success
	assert_output 200
	[ "$(field 127.0.0.1:$port successful_calls)" = 1 ]
}

@test "nc: -z probes count and an open breaker refuses at once" {
	port=$(free_port)
	for i in 1 2 3 4 5; do
		run shimmed nc -z -w 2 127.0.0.1 "$port"
		assert_failure
	done
	[ "$(state 127.0.0.1:$port)" = open ]
	run shimmed nc -v -z -w 2 127.0.0.1 "$port"
	assert_failure
	assert_output --partial "refused"
	[ "$(field 127.0.0.1:$port rejected_calls)" = 1 ]
}

@test "python3 blocking: socket.create_connection sees ConnectionRefusedError" {
	port=$(free_port)
	run shimmed $PY -c "
import socket
for i in range(7):
    try: socket.create_connection(('127.0.0.1', $port), timeout=2)
    except ConnectionRefusedError: print('refused')
"
	[ "${#lines[@]}" -eq 7 ]
	[ "$(field 127.0.0.1:$port failed_calls)" = 5 ]
	[ "$(field 127.0.0.1:$port rejected_calls)" = 2 ]
}

@test "python3 asyncio: non-blocking connects are governed" {
	port=$(free_port)
	run shimmed $PY -c "
import asyncio
async def main():
    for i in range(6):
        try:
            r, w = await asyncio.open_connection('127.0.0.1', $port)
        except ConnectionRefusedError:
            print('refused')
asyncio.run(main())
"
	[ "${#lines[@]}" -eq 6 ]
	[ "$(field 127.0.0.1:$port failed_calls)" = 5 ]
	[ "$(field 127.0.0.1:$port rejected_calls)" = 1 ]
	port2=$(free_port)
	http_server "$port2"
	run shimmed $PY -c "
import asyncio
async def main():
    for i in range(4):
        r, w = await asyncio.open_connection('127.0.0.1', $port2)
        w.write(b'GET / HTTP/1.0\r\n\r\n'); await w.drain()
        print((await r.readline()).decode().split()[1]); w.close()
asyncio.run(main())
"
	assert_output "200
200
200
200"
	[ "$(field 127.0.0.1:$port2 successful_calls)" = 4 ]
}

@test "node: net.connect errors ECONNREFUSED and the breaker opens" {
	command -v node || skip "node not installed"
	port=$(free_port)
	run shimmed node -e "
const net = require('net');
let n = 0;
function next() {
  if (n++ === 6) return;
  const s = net.connect($port, '127.0.0.1');
  s.on('error', e => { console.log(e.code); next(); });
  s.on('connect', () => { console.log('ok'); s.end(); next(); });
}
next();
"
	assert_success
	[ "${#lines[@]}" -eq 6 ]
	assert_line --index 5 ECONNREFUSED
	[ "$(field 127.0.0.1:$port failed_calls)" = 5 ]
	[ "$(field 127.0.0.1:$port rejected_calls)" = 1 ]
}

@test "nginx: a reverse proxy under the shim fails fast while its upstream is down, then recovers" {
	command -v nginx || skip "nginx not installed"
	conf 'defaults = { open_timeout = "2s"; };'
	front=$(free_port)
	back=$(free_port)
	d=$BATS_TEST_TMPDIR/nginx
	mkdir -p "$d/logs"
	cat >"$d/nginx.conf" <<NGX
daemon off;
master_process off;
worker_processes 1;
error_log $d/logs/error.log;
pid $d/nginx.pid;
events { worker_connections 64; }
http {
  access_log off;
  client_body_temp_path $d; proxy_temp_path $d;
  fastcgi_temp_path $d; uwsgi_temp_path $d; scgi_temp_path $d;
  server {
    listen 127.0.0.1:$front;
    location / { proxy_pass http://127.0.0.1:$back; proxy_connect_timeout 2s; }
  }
}
NGX
	bg env LD_PRELOAD="$CBSHIM_LIB" nginx -p "$d" -c "$d/nginx.conf"
	wait_port "$front"
	http_server "$back"
	code() { curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$front/"; }
	[ "$(code)" = 200 ]
	kill "${CB_PIDS[-1]}"; wait "${CB_PIDS[-1]}" 2>/dev/null || true
	for i in 1 2 3 4 5; do [ "$(code)" = 502 ]; done
	[ "$(state 127.0.0.1:$back)" = open ]
	[ "$(code)" = 502 ]
	[ "$(field 127.0.0.1:$back rejected_calls)" -ge 1 ]
	http_server "$back"
	sleep 2.3
	for i in 1 2 3; do [ "$(code)" = 200 ]; done
	[ "$(state 127.0.0.1:$back)" = closed ]
	grep -q "Connection refused" "$d/logs/error.log"
}
