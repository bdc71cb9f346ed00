#!/usr/bin/env bats
# lazy.bats - the shim's lazy start: loading it only resolves the real
# functions; the configuration, libconfig, the segment and the fd table come
# with a process's first governed connect (TCP to an IP address).  Programs
# that never connect read nothing and create nothing; the first connect is
# made once however many threads make it together, after a fork, from a
# signal handler, or with no fd left.  Loopback only; tests/helpers/
# firstconnect, sigconnect and resources.

load common
bats_require_minimum_version 1.5.0

seg() { echo "/dev/shm${CBSHIM_SHM}"; }

# fields DEST NAME...: the named fields of cbctl show --json, space-separated.
fields() {
	local d=$1
	shift
	"$CBCTL" show "$d" --json | $PY -c '
import json, sys
d = json.load(sys.stdin)
print(" ".join(str(d[k]) for k in sys.argv[1:]))' "$@"
}

bad_config() {
	printf 'defaults = { failure_threshold = ;\n' >"$BATS_TEST_TMPDIR/bad.conf"
	export CBSHIM_CONFIG=$BATS_TEST_TMPDIR/bad.conf
}

@test "never_connects: no configuration read, no libconfig, no segment, no warning" {
	bad_config
	port=$(free_port)
	run --separate-stderr strace -f -qq -e trace=open,openat,link,ftruncate \
		-o "$BATS_TEST_TMPDIR/trace" env LD_PRELOAD="$CBSHIM_LIB" sh -c '
		/bin/true; echo hello | sed s/h/H/ >"$1/out"; date >/dev/null
		"$2/firstconnect" none "$3"' _ "$BATS_TEST_TMPDIR" "$HELPERS" "$port"
	assert_success
	assert_output "ok=0 refused=0 other=0"
	[ -z "$stderr" ]
	[ "$(cat "$BATS_TEST_TMPDIR/out")" = Hello ]
	[ ! -e "$(seg)" ]
	# the shim was loaded into every one of them ...
	grep -q 'libcbshim\.so' "$BATS_TEST_TMPDIR/trace"
	# ... and none opened the configuration, libconfig or /dev/shm
	run grep -E 'bad\.conf|libconfig|/dev/shm|ftruncate|link\(' "$BATS_TEST_TMPDIR/trace"
	assert_failure
	# the same configuration and a TCP connect: read, one warning
	run --separate-stderr env LD_PRELOAD="$CBSHIM_LIB" "$HELPERS/firstconnect" fork "$port"
	assert_success
	assert_output "ok=0 refused=2 other=0"
	[ "$(grep -c '^cbshim: .*bad\.conf:1' <<<"$stderr")" = 2 ]	# parent, child
}

@test "no_libcbshim_libconfig_at_load: not a DT_NEEDED, its functions not exported" {
	run readelf -d "$CBSHIM_LIB"
	assert_success
	assert_output --partial 'libc.so'
	refute_output --partial 'libconfig'
	run nm -D --defined-only "$CBSHIM_LIB"
	assert_success
	assert_output --partial ' connect'
	refute_output --partial 'config_'
}

@test "libconfig_missing: the first connect passes through with one warning" {
	port=$(free_port)
	server accept "$port"
	mkdir "$BATS_TEST_TMPDIR/lib"
	: >"$BATS_TEST_TMPDIR/lib/libconfig.so.9"	# not a library
	run --separate-stderr env LD_LIBRARY_PATH="$BATS_TEST_TMPDIR/lib" \
		LD_PRELOAD="$CBSHIM_LIB" "$HELPERS/cbclient" -n 3 127.0.0.1 "$port"
	assert_success
	[ "${#lines[@]}" = 3 ]
	assert_line --index 0 --regexp '^0 ok '
	assert_line --index 2 --regexp '^2 ok '
	[ "$(grep -c . <<<"$stderr")" = 1 ]
	[[ $stderr == "cbshim: cannot load libconfig.so.9 ("*"); passing through" ]]
	[ ! -e "$(seg)" ]
}

@test "threads_first_connect: many threads at once initialise once, every call counted" {
	port=$(free_port)
	server accept "$port"
	run --separate-stderr strace -f -qq -e trace=openat -o "$BATS_TEST_TMPDIR/trace" \
		env LD_PRELOAD="$CBSHIM_LIB" "$HELPERS/firstconnect" threads 64 "$port"
	assert_success
	assert_output "ok=64 refused=0 other=0"
	[ -z "$stderr" ]
	[ "$(grep -c 'empty\.conf' "$BATS_TEST_TMPDIR/trace")" = 1 ]
	[ "$(grep -c 'libconfig\.so\.9.*= [0-9]' "$BATS_TEST_TMPDIR/trace")" = 1 ]
	# and without strace's pacing, fresh processes, one segment
	for i in $(seq 10); do
		run --separate-stderr env LD_PRELOAD="$CBSHIM_LIB" "$HELPERS/firstconnect" threads 64 "$port"
		assert_success
		assert_output "ok=64 refused=0 other=0"
		[ -z "$stderr" ]
	done
	[ "$(fields "127.0.0.1:$port" total_calls successful_calls failed_calls)" = "704 704 0" ]
}

@test "fork_before_first_connect: parent and child each initialise, both counted" {
	port=$(free_port)
	server accept "$port"
	run --separate-stderr timeout 20 env LD_PRELOAD="$CBSHIM_LIB" "$HELPERS/firstconnect" fork "$port"
	assert_success
	assert_output "ok=2 refused=0 other=0"
	[ -z "$stderr" ]
	[ "$(fields "127.0.0.1:$port" total_calls successful_calls)" = "2 2" ]
}

@test "signal_handler_first_connect: a handler's connect before any other call is governed" {
	port=$(free_port)
	server accept "$port"
	run --separate-stderr timeout 20 env LD_PRELOAD="$CBSHIM_LIB" "$HELPERS/firstconnect" signal "$port"
	assert_success
	assert_output "ok=1 refused=0 other=0"
	[ -z "$stderr" ]
	[ "$(fields "127.0.0.1:$port" total_calls successful_calls)" = "1 1" ]
}

@test "handler_during_init: a timer's handler connecting while the first connect initialises" {
	port=$(free_port)
	server accept "$port"
	total=0
	# a SIGALRM every 300 µs (shorter, and the handler's own connects
	# leave the main thread no time at all): the first connect's
	# initialisation (dlopen, configuration, segment) is interrupted
	for i in $(seq 5); do
		run --separate-stderr timeout 30 env LD_PRELOAD="$CBSHIM_LIB" \
			"$HELPERS/sigconnect" -n 20 -i 300 "$port"
		assert_success		# 124: it hung
		[ -z "$stderr" ]
		calls=$(sed -n "s/^$port calls=\\([0-9]*\\) .*/\\1/p" <<<"$output")
		total=$((total + calls))
	done
	[ "$(fields "127.0.0.1:$port" total_calls)" = "$total" ]
}

@test "emfile_at_first_connect: no fd for the shim's start, one warning, the program's own results" {
	port=$(free_port)
	server accept "$port"
	run --separate-stderr bash -c 'ulimit -n 64 && exec env LD_PRELOAD="$1" "$2" -E -n 3 127.0.0.1 "$3"' \
		_ "$CBSHIM_LIB" "$HELPERS/resources" "$port"
	assert_success
	assert_line --index 0 "0 EMFILE fd=-1"
	assert_line --index 2 "2 EMFILE fd=-1"
	assert_line --index 3 --regexp '^3 ok fd=[0-9]+$'
	[ "$(grep -c . <<<"$stderr")" = 1 ]
	[[ $stderr == "cbshim: "*"passing through"* ]]
	[ ! -e "$(seg)" ]
}

@test "environment_cleared_before_first_connect: the variables as the program started count" {
	port=$(free_port)
	printf 'defaults = { failure_threshold = 2; };\n' >"$BATS_TEST_TMPDIR/two.conf"
	# as nginx does: the environment emptied before the first connect
	run --separate-stderr env CBSHIM_CONFIG="$BATS_TEST_TMPDIR/two.conf" \
		LD_PRELOAD="$CBSHIM_LIB" $PY -c '
import os, socket, sys
os.environ.clear()
assert "CBSHIM_SHM" not in os.environ
for i in range(3):
    s = socket.socket()
    print(s.connect_ex(("127.0.0.1", int(sys.argv[1]))))
    s.close()' "$port"
	assert_success
	[ -z "$stderr" ]
	[ "$(fields "127.0.0.1:$port" total_calls failed_calls rejected_calls state)" = "3 2 1 open" ]
}

@test "config_path_too_long: kept at start, refused at the first connect with one warning" {
	port=$(free_port)
	long=$BATS_TEST_TMPDIR/$(printf 'a%.0s' $(seq 1100))
	run --separate-stderr env CBSHIM_CONFIG="$long" LD_PRELOAD="$CBSHIM_LIB" \
		"$HELPERS/cbclient" -n 2 127.0.0.1 "$port"
	assert_success
	assert_line --index 0 --regexp '^0 ECONNREFUSED '
	assert_line --index 1 --regexp '^1 ECONNREFUSED '
	[ "$stderr" = "cbshim: CBSHIM_CONFIG or CBSHIM_SHM too long; passing through" ]
	[ ! -e "$(seg)" ]
}

@test "fork_during_init: a child forked while another thread initialises starts its own" {
	port=$(free_port)
	server accept "$port"
	# a preload after the shim that makes opening the configuration take
	# 300 ms, so that the fork lands inside the first connect's start
	cat >"$BATS_TEST_TMPDIR/slow.c" <<'C'
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <stdarg.h>
#include <string.h>
#include <unistd.h>
int open(const char *p, int flags, ...)
{
	static int (*real)(const char *, int, ...);
	va_list ap;
	int m = 0;

	if (flags & O_CREAT) { va_start(ap, flags); m = va_arg(ap, int); va_end(ap); }
	if (!real)
		real = (int (*)(const char *, int, ...))dlsym(RTLD_NEXT, "open");
	if (strstr(p, "slow.conf"))
		usleep(300000);
	return real(p, flags, m);
}
C
	cc -shared -fPIC -o "$BATS_TEST_TMPDIR/slow.so" "$BATS_TEST_TMPDIR/slow.c" -ldl
	: >"$BATS_TEST_TMPDIR/slow.conf"
	SECONDS=0
	run --separate-stderr timeout 20 env CBSHIM_CONFIG="$BATS_TEST_TMPDIR/slow.conf" \
		LD_PRELOAD="$CBSHIM_LIB $BATS_TEST_TMPDIR/slow.so" \
		"$HELPERS/firstconnect" forkinit "$port"
	assert_success
	assert_output "ok=2 refused=0 other=0"
	[ -z "$stderr" ]
	# the child did not sit out the 2 s bound and pass through: both counted
	[ "$(fields "127.0.0.1:$port" total_calls successful_calls)" = "2 2" ]
}

@test "connect_before_the_constructor: another library's constructor connects first, with the start-up variables" {
	port=$(free_port)
	server accept "$port"
	# preloaded after the shim, so its constructor runs before the shim's
	cat >"$BATS_TEST_TMPDIR/early.c" <<C
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>
__attribute__((constructor)) static void early(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons($port) };
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	connect(fd, (struct sockaddr *)&a, sizeof(a));
	close(fd);
}
C
	cc -shared -fPIC -o "$BATS_TEST_TMPDIR/early.so" "$BATS_TEST_TMPDIR/early.c"
	run --separate-stderr env LD_PRELOAD="$CBSHIM_LIB $BATS_TEST_TMPDIR/early.so" /bin/true
	assert_success
	[ -z "$stderr" ]
	[ "$(fields "127.0.0.1:$port" total_calls successful_calls)" = "1 1" ]
}
