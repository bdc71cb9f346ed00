#!/usr/bin/env bats
# ops.bats - operations: the metrics pass promtool, "cbctl serve" answers
# HTTP and a real Prometheus scrapes it, the alert rules pass "promtool
# test rules", every query of the Grafana dashboard names (and finds)
# series cbctl really exports, and the systemd units verify.

load common

RULES=$TOP/contrib/prometheus
DASH=$TOP/contrib/grafana/cbshim-dashboard.json

# breakers: real traffic through the shim. $dead (nothing listens) opens
# after 5 refused connects; $live serves and is closed with successes;
# [::1]:$v6 is tripped by hand.
breakers() {
	live=$(free_port)
	dead=$(free_port)
	v6=$(free_port)
	http_server "$live"
	for i in 1 2 3; do
		shimmed curl -s -o /dev/null "http://127.0.0.1:$live/"
	done
	for i in 1 2 3 4 5 6 7; do
		shimmed curl -s -o /dev/null "http://127.0.0.1:$dead/" || true
	done
	"$CBCTL" trip "[::1]:$v6" >/dev/null
	[ "$(state "127.0.0.1:$dead")" = open ]
}

# serve ADDR:PORT: start cbctl serve in the background; sets $url from
# the line it prints once listening, $serve_pid.
serve() {
	local out=$BATS_TEST_TMPDIR/serve.$RANDOM i
	"$CBCTL" serve --listen "$1" >"$out" 2>"$out.err" &
	serve_pid=$!
	CB_PIDS+=("$serve_pid")
	for i in $(seq 200); do
		url=$(sed -n 's/^serving //p' "$out")
		[ -n "$url" ] && return 0
		sleep 0.05
	done
	cat "$out.err"
	return 1
}

# stopped_with SIG: send SIG to the server, give it 10 s to end, and
# check that it exited 0 (not killed by the signal).
stopped_with() {
	local i st=0
	kill -"$1" "$serve_pid"
	for i in $(seq 200); do
		kill -0 "$serve_pid" 2>/dev/null || break
		sleep 0.05
	done
	wait "$serve_pid" || st=$?
	echo "cbctl serve: status $st after SIG$1"
	[ "$st" -eq 0 ]
}

# series_names: the metric names cbctl metrics writes now.
series_names() {
	"$CBCTL" metrics | sed -n 's/^\([a-z_:][a-z0-9_:]*\)[{ ].*/\1/p' | sort -u
}

# check_queries DASHBOARD RULES: every query of the dashboard (panels and
# variables) and every rule expression names at least one series, only
# series listed in $BATS_TEST_TMPDIR/names, and only states cbctl writes.
check_queries() {
	$PY - "$1" "$BATS_TEST_TMPDIR/names" "$2" <<-'EOF'
	import json, re, sys
	dash = json.load(open(sys.argv[1]))
	names = set(open(sys.argv[2]).read().split())
	exprs = [t["expr"] for p in dash["panels"] for t in p.get("targets", [])]
	exprs += [v["query"]["query"] for v in dash["templating"]["list"]]
	rules = open(sys.argv[3]).read()
	exprs += re.findall(r"^ +expr: (?:>\n)?((?:.*\S.*\n)(?: {10}.*\n)*)", rules, re.M)
	bad = 0
	for e in exprs:
	    used = set(re.findall(r"\bcbshim_[a-z_]+\b", e))
	    for s in sorted(used - names) or ([] if used else ["(none)"]):
	        print("not exported:", s, "in", e); bad += 1
	    for v in re.findall(r'state=~?"([^"]*)"', e):
	        if v not in ("closed", "open", "half-open"):
	            print("no such state:", v); bad += 1
	print(len(exprs), "queries")
	sys.exit(bad)
	EOF
}

@test "promtool_check_metrics_passes_on_real_breakers" {
	breakers
	run "$CBCTL" metrics
	assert_success
	assert_output --partial "cbshim_state{dest=\"127.0.0.1:$dead\",state=\"open\"} 1"
	assert_output --partial "cbshim_rejected_calls_total{dest=\"127.0.0.1:$dead\"} 2"
	assert_output --partial "cbshim_successful_calls_total{dest=\"127.0.0.1:$live\"} 3"
	assert_output --partial "cbshim_state{dest=\"[::1]:$v6\",state=\"open\"} 1"
	run promtool check metrics <<<"$output"
	assert_success
	assert_output ""
}

@test "promtool_check_metrics_notices_a_broken_exposition" {
	# the check above can fail: promtool rejects a counter without _total
	breakers
	run promtool check metrics < <("$CBCTL" metrics |
		sed 's/cbshim_calls_total/cbshim_calls/g')
	assert_failure
}

@test "serve_answers_the_metrics_text_at_metrics_and_404_elsewhere" {
	breakers
	serve 127.0.0.1:0
	run curl -s -D "$BATS_TEST_TMPDIR/h" "$url"
	assert_success
	assert_output "$("$CBCTL" metrics)"
	run grep -i '^content-type: text/plain; version=0.0.4' "$BATS_TEST_TMPDIR/h"
	assert_success
	run curl -s -o /dev/null -w '%{http_code}' "${url%/metrics}/"
	assert_output 404
	run curl -s -o /dev/null -w '%{http_code}' "${url}x"
	assert_output 404
	run curl -s -o /dev/null -w '%{http_code}' -X POST "$url"
	assert_output 405
	stopped_with TERM
}

@test "serve_listens_on_ipv6_and_exits_0_on_sigint" {
	breakers
	serve "[::1]:0"
	[[ $url == "http://[::1]:"*/metrics ]]
	run curl -s -g "$url"
	assert_success
	assert_output --partial "cbshim_state{dest=\"[::1]:$v6\",state=\"open\"} 1"
	stopped_with INT
}

@test "serve_follows_a_segment_destroyed_and_created_again" {
	"$CBCTL" trip 127.0.0.1:1 >/dev/null
	serve 127.0.0.1:0
	run curl -s "$url"
	assert_output --partial 'cbshim_breakers 1'
	"$CBCTL" destroy >/dev/null
	run curl -s -o /dev/null -w '%{http_code}' "$url"
	assert_output 503
	run cat "$(ls "$BATS_TEST_TMPDIR"/serve.*.err)"
	assert_output --partial "no such segment"
	"$CBCTL" trip 127.0.0.1:2 >/dev/null
	"$CBCTL" trip 127.0.0.1:3 >/dev/null
	run curl -s "$url"
	assert_output --partial 'cbshim_breakers 2'
}

@test "serve_bad_listen_address_is_a_usage_error" {
	for a in 127.0.0.1 127.0.0.1: 1.2.3:80 ::1:80 "[::1:80" \
		127.0.0.1:65536 localhost:80 "[127.0.0.1]:80"; do
		run "$CBCTL" serve --listen "$a"
		[ "$status" -eq 2 ] || { echo "$a: status $status"; false; }
		assert_output --partial "bad --listen \"$a\""
	done
	run "$CBCTL" serve
	assert_failure 2
	assert_output --partial "--listen ADDR:PORT is required"
}

@test "serve_port_in_use_fails_with_a_clear_error" {
	serve 127.0.0.1:0
	addr=${url#http://}
	addr=${addr%/metrics}
	run "$CBCTL" serve --listen "$addr"
	assert_failure 1
	assert_output "cbctl: serve: $addr: Address already in use"
	run "$CBCTL" serve --listen 192.0.2.1:0		# not this host's
	assert_failure 1
	assert_output "cbctl: serve: 192.0.2.1:0: Cannot assign requested address"
}

@test "prometheus_scrapes_cbctl_serve_and_finds_the_series" {
	breakers
	serve 127.0.0.1:0
	target=${url#http://}
	target=${target%/metrics}
	pport=$(free_port)
	cat >"$BATS_TEST_TMPDIR/prometheus.yml" <<-EOF
	global:
	  scrape_interval: 1s
	  evaluation_interval: 1s
	rule_files:
	  - $RULES/cbshim-alerts.yml
	scrape_configs:
	  - job_name: cbshim
	    static_configs:
	      - targets: ['$target']
	EOF
	bg prometheus --config.file="$BATS_TEST_TMPDIR/prometheus.yml" \
		--storage.tsdb.path="$BATS_TEST_TMPDIR/tsdb" \
		--web.listen-address="127.0.0.1:$pport" --log.level=warn \
		2>"$BATS_TEST_TMPDIR/prometheus.log"
	q="cbshim_state{dest=\"127.0.0.1:$dead\",state=\"open\",job=\"cbshim\"}"
	found=""
	for i in $(seq 120); do
		found=$(curl -s -G "http://127.0.0.1:$pport/api/v1/query" \
			--data-urlencode "query=$q" |
			$PY -c 'import json,sys; r=json.load(sys.stdin)["data"]["result"]; print(r[0]["value"][1] if r else "")' 2>/dev/null) || true
		[ -n "$found" ] && break
		sleep 0.5
	done
	[ "$found" = 1 ] || { cat "$BATS_TEST_TMPDIR/prometheus.log"; false; }
	# the scrape itself is healthy
	run curl -s -G "http://127.0.0.1:$pport/api/v1/query" --data-urlencode 'query=up{job="cbshim"}'
	assert_output --partial '"value":['
	assert_output --partial ',"1"]'
	# every dashboard query runs against it and finds data
	sleep 3		# two scrapes more, so rate() has two points
	run $PY - "$DASH" "http://127.0.0.1:$pport" <<-'EOF'
	import json, sys, urllib.parse, urllib.request
	dash, base = json.load(open(sys.argv[1])), sys.argv[2]
	bad = 0
	for p in dash["panels"]:
	    for t in p.get("targets", []):
	        e = t["expr"].replace("$__rate_interval", "1m")
	        e = e.replace("$instance", ".*").replace("$dest", ".*")
	        u = base + "/api/v1/query?" + urllib.parse.urlencode({"query": e})
	        r = json.load(urllib.request.urlopen(u))
	        n = len(r["data"]["result"]) if r["status"] == "success" else -1
	        print(p["title"], n)
	        bad += n < 1
	sys.exit(bad)
	EOF
	assert_success
}

@test "alert_rules_pass_promtool_check_and_test" {
	run promtool check rules "$RULES/cbshim-alerts.yml"
	assert_success
	assert_output --partial "SUCCESS: 5 rules found"
	cd "$RULES"
	run promtool test rules cbshim-alerts.test.yml
	assert_success
	# and the tests can fail: a rule file whose threshold moved
	sed 's/rate(cbshim_rejected_calls_total\[5m\]) > 1$/rate(cbshim_rejected_calls_total[5m]) > 5/' \
		cbshim-alerts.yml >"$BATS_TEST_TMPDIR/cbshim-alerts.yml"
	cp cbshim-alerts.test.yml "$BATS_TEST_TMPDIR/"
	cd "$BATS_TEST_TMPDIR"
	run promtool test rules cbshim-alerts.test.yml
	assert_failure
	assert_output --partial CbshimRejecting
}

@test "alert_rules_and_dashboard_name_only_series_cbctl_exports" {
	breakers
	series_names >"$BATS_TEST_TMPDIR/names"
	[ "$(wc -l <"$BATS_TEST_TMPDIR/names")" -ge 8 ]
	run check_queries "$DASH" "$RULES/cbshim-alerts.yml"
	assert_success
	assert_output --partial "16 queries"
	# and the check can fail: a panel naming a series cbctl does not write
	sed 's/cbshim_failed_calls_total/cbshim_failures_total/' "$DASH" \
		>"$BATS_TEST_TMPDIR/dash.json"
	run check_queries "$BATS_TEST_TMPDIR/dash.json" "$RULES/cbshim-alerts.yml"
	assert_failure
	assert_output --partial "not exported: cbshim_failures_total"
	sed 's/state=\\"open\\"/state=\\"opened\\"/' "$DASH" >"$BATS_TEST_TMPDIR/dash.json"
	run check_queries "$BATS_TEST_TMPDIR/dash.json" "$RULES/cbshim-alerts.yml"
	assert_failure
	assert_output --partial "no such state: opened"
}

@test "systemd_units_verify" {
	d=$BATS_TEST_TMPDIR/units
	mkdir -p "$d/legacy-app.service.d"
	# verify checks that ExecStart exists: point it at this build
	sed "s|/usr/bin/cbctl|$CBCTL|" "$TOP/contrib/systemd/cbshim-exporter.service" \
		>"$d/cbshim-exporter.service"
	printf '[Unit]\nDescription=a legacy app\n[Service]\nExecStart=/bin/true\n' \
		>"$d/legacy-app.service"
	cp "$TOP/contrib/systemd/legacy-app-cbshim.conf" "$d/legacy-app.service.d/cbshim.conf"
	# --man=no: the man pages are not installed here
	run env SYSTEMD_UNIT_PATH="$d:" systemd-analyze verify --man=no \
		"$d/cbshim-exporter.service" "$d/legacy-app.service"
	assert_success
	assert_output ""
	# the drop-in really is read: a bad key in it is reported
	echo 'NoSuchKey=1' >>"$d/legacy-app.service.d/cbshim.conf"
	run env SYSTEMD_UNIT_PATH="$d:" systemd-analyze verify --man=no "$d/legacy-app.service"
	assert_output --partial "cbshim.conf"
	assert_output --partial "NoSuchKey"
}

@test "watch_shows_rates_over_the_interval_and_a_rejection_sparkline" {
	"$CBCTL" trip 127.0.0.1:9 >/dev/null
	# no traffic: the first frame has no rates yet, the second has 0.0
	run env LC_ALL=C "$CBCTL" watch --count 2 --interval 0.2
	assert_success
	assert_line --regexp '^DEST +NAME +STATE .* ERRNO +CALLS/S +FAIL/S +REJ/S +REJECTED 1m$'
	assert_line --regexp '^127\.0\.0\.1:9 +- +open .* - +- +- +_$'
	assert_line --regexp '^127\.0\.0\.1:9 +- +open .* 0\.0 +0\.0 +0\.0 +_+$'
	# block characters where the locale is UTF-8
	run env LC_ALL=C.UTF-8 "$CBCTL" watch --count 1
	assert_line --regexp $'^127\\.0\\.0\\.1:9 +- +open .* \u2581+$'
}
