/*
 * test_config.c - cb.conf: every setting parses into what it says, rules
 * match by family, address, prefix and port with the first match winning
 * and overriding only its own fields, and every kind of bad file fails
 * with its exact "FILE:LINE: message".  Each snippet goes to a mkstemp
 * file that is removed after loading.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "../../shim/config.h"

static char conf_path[256];

/* Write text (n bytes) to a fresh temporary file; its path in conf_path. */
static const char *
write_conf_n(const char *text, size_t n)
{
	const char *dir = getenv("TMPDIR");
	int fd;

	snprintf(conf_path, sizeof(conf_path), "%s/cbconf-XXXXXX",
		 dir && *dir ? dir : "/tmp");
	fd = mkstemp(conf_path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, n), (ssize_t)n);
	close(fd);
	return conf_path;
}

/* Load text as a file; 0 or -errno, *c and err as cb_config_load. */
static int
load_n(const char *text, size_t n, struct cb_config **c, char *err,
       size_t errlen)
{
	int r;

	write_conf_n(text, n);
	r = cb_config_load(c, conf_path, err, errlen);
	unlink(conf_path);
	return r;
}

static struct cb_config *
load_ok(const char *text)
{
	struct cb_config *c = NULL;
	char err[512] = "";
	int r = load_n(text, strlen(text), &c, err, sizeof(err));

	if (r != 0)
		fail_msg("load failed (%d): %s", r, err);
	assert_non_null(c);
	return c;
}

/* text must fail with exactly "PATH:line: msg". */
static void
expect_error(const char *text, int line, const char *msg)
{
	struct cb_config *c = (struct cb_config *)1;
	char err[512] = "", want[768];
	int r = load_n(text, strlen(text), &c, err, sizeof(err));

	snprintf(want, sizeof(want), "%s:%d: %s", conf_path, line, msg);
	assert_string_equal(err, want);
	assert_int_equal(r, -EINVAL);
	assert_null(c);
}

/* The policy of "ADDR" (v4 or v6 text) port. */
static struct cb_policy
policy_of(const struct cb_config *c, const char *addr, unsigned port)
{
	struct cb_dest d;
	struct cb_policy p;

	memset(&d, 0, sizeof(d));
	d.family = strchr(addr, ':') ? AF_INET6 : AF_INET;
	assert_int_equal(inet_pton(d.family, addr, d.addr), 1);
	d.port = (uint16_t)port;
	cb_config_policy(c, &d, &p);
	return p;
}

static unsigned
threshold_of(const struct cb_config *c, const char *addr, unsigned port)
{
	return policy_of(c, addr, port).failure_threshold;
}

static void
assert_policy_equal(const struct cb_policy *a, const struct cb_policy *b)
{
	assert_memory_equal(a, b, sizeof(*a));
}

/* ---- no file, empty file --------------------------------------------- */

static void
no_file_gives_builtin_defaults(void **state)
{
	struct cb_config *c = NULL;
	struct cb_policy want, got;
	char err[64] = "x";

	(void)state;
	assert_int_equal(cb_config_load(&c, NULL, err, sizeof(err)), 0);
	assert_string_equal(err, "");
	cb_policy_default(&want);
	got = policy_of(c, "192.0.2.1", 80);
	assert_policy_equal(&got, &want);
	got = policy_of(c, "2001:db8::1", 443);
	assert_policy_equal(&got, &want);
	assert_null(cb_config_shm_name(c));
	assert_int_equal(cb_config_shm_mode(c), 0600);
	assert_int_equal(cb_config_max_breakers(c), 4096);
	assert_int_equal(cb_config_log_level(c), CB_LOG_WARN);
	assert_int_equal(cb_config_log_syslog(c), 0);
	cb_config_free(c);
}

static void
empty_and_comment_only_files_give_builtin_defaults(void **state)
{
	static const char *texts[] = {
		"", "\n\n", "# nothing\n// nothing\n/* nothing\n */\n",
	};
	struct cb_policy want, got;
	size_t i;

	(void)state;
	cb_policy_default(&want);
	for (i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		struct cb_config *c = load_ok(texts[i]);

		got = policy_of(c, "10.0.0.1", 1);
		assert_policy_equal(&got, &want);
		assert_null(cb_config_shm_name(c));
		assert_int_equal(cb_config_shm_mode(c), 0600);
		cb_config_free(c);
	}
}

static void
dev_null_is_an_empty_file(void **state)
{
	struct cb_config *c = NULL;
	char err[128];

	(void)state;
	assert_int_equal(cb_config_load(&c, "/dev/null", err, sizeof(err)),
			 0);
	assert_int_equal(cb_config_max_breakers(c), 4096);
	cb_config_free(c);
}

static void
free_and_accessors_accept_null(void **state)
{
	struct cb_policy want, got;

	(void)state;
	cb_config_free(NULL);
	cb_policy_default(&want);
	got = policy_of(NULL, "10.0.0.1", 80);
	assert_policy_equal(&got, &want);
	assert_null(cb_config_shm_name(NULL));
	assert_int_equal(cb_config_shm_mode(NULL), 0600);
	assert_int_equal(cb_config_max_breakers(NULL), 4096);
}

/* ---- every setting --------------------------------------------------- */

static void
shm_settings_are_parsed(void **state)
{
	struct cb_config *c;

	(void)state;
	c = load_ok("shm = { name = \"/cbshim-shared\"; mode = \"0660\";\n"
		    "  max_breakers = 1048576; };\n");
	assert_string_equal(cb_config_shm_name(c), "/cbshim-shared");
	assert_int_equal(cb_config_shm_mode(c), 0660);
	assert_int_equal(cb_config_max_breakers(c), 1048576);
	cb_config_free(c);
	c = load_ok("shm = { mode = \"640\"; max_breakers = 1; };");
	assert_null(cb_config_shm_name(c));
	assert_int_equal(cb_config_shm_mode(c), 0640);
	assert_int_equal(cb_config_max_breakers(c), 1);
	cb_config_free(c);
	c = load_ok("shm = { mode = \"0700\"; max_breakers = 7L; };");
	assert_int_equal(cb_config_shm_mode(c), 0700);
	assert_int_equal(cb_config_max_breakers(c), 7);
	assert_int_equal(cb_config_reclaim_after(c), 600000);
	cb_config_free(c);
	c = load_ok("shm = { reclaim_after = \"1h\"; };");
	assert_int_equal(cb_config_reclaim_after(c), 3600000);
	cb_config_free(c);
	assert_int_equal(cb_config_reclaim_after(NULL), 600000);
}

static void
bad_reclaim_after_is_an_error(void **state)
{
	(void)state;
	expect_error("shm = {\n  reclaim_after = 60; };", 2,
		     "shm.reclaim_after: must be a duration string with a unit "
		     "(ms, s, m, h) like \"30s\", got an integer");
	expect_error("shm = { reclaim_after = \"ten\"; };", 1,
		     "shm.reclaim_after: must be a number with a unit (ms, s, "
		     "m, h) like \"30s\", got \"ten\"");
	expect_error("shm = { reclaim_after = \"0ms\"; };", 1,
		     "shm.reclaim_after: must be 1ms..2147483647ms, got \"0ms\"");
	expect_error("shm = { reclaim_after = \"25d\"; };", 1,
		     "shm.reclaim_after: must be a number with a unit (ms, s, "
		     "m, h) like \"30s\", got \"25d\"");
	expect_error("shm = { reclaim_after = \"600h\"; };", 1,
		     "shm.reclaim_after: must be 1ms..2147483647ms, got "
		     "\"600h\"");
}

static void
every_defaults_field_is_parsed(void **state)
{
	struct cb_config *c;
	struct cb_policy p;

	(void)state;
	c = load_ok("defaults = {\n"
		    "  failure_threshold = 65535;\n"
		    "  success_threshold = 4095;\n"
		    "  open_timeout = \"250ms\";\n"
		    "  half_open_max_calls = 1;\n"
		    "  failures = [ \"EPIPE\", \"ETIMEDOUT\" ];\n"
		    "  mode = \"observe\";\n"
		    "  backoff = 1.5;\n"
		    "  open_timeout_max = \"2h\";\n"
		    "  reject_errno = \"EHOSTUNREACH\";\n"
		    "};\n");
	p = policy_of(c, "10.0.0.1", 80);
	assert_int_equal(p.failure_threshold, 65535);
	assert_int_equal(p.success_threshold, 4095);
	assert_int_equal(p.open_timeout_ms, 250);
	assert_int_equal(p.half_open_max_calls, 1);
	assert_true(cb_policy_is_failure(&p, EPIPE));
	assert_true(cb_policy_is_failure(&p, ETIMEDOUT));
	assert_false(cb_policy_is_failure(&p, ECONNREFUSED));
	assert_int_equal(p.mode, CB_MODE_OBSERVE);
	assert_int_equal(p.backoff_milli, 1500);
	assert_int_equal(p.open_timeout_max_ms, 7200000);
	assert_int_equal(p.reject_errno, EHOSTUNREACH);
	assert_int_equal(cb_policy_valid(&p), 0);
	cb_config_free(c);
}

static void
every_mode_is_parsed(void **state)
{
	static const struct { const char *text; int mode; } t[] = {
		{ "defaults = { mode = \"enforce\"; };", CB_MODE_ENFORCE },
		{ "defaults = { mode = \"observe\"; };", CB_MODE_OBSERVE },
		{ "defaults = { mode = \"off\"; };", CB_MODE_OFF },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct cb_config *c = load_ok(t[i].text);

		assert_int_equal(policy_of(c, "10.0.0.1", 1).mode, t[i].mode);
		cb_config_free(c);
	}
}

static void
backoff_accepts_integer_and_float(void **state)
{
	static const struct { const char *text; unsigned milli; } t[] = {
		{ "defaults = { backoff = 2; };", 2000 },
		{ "defaults = { backoff = 1.5; };", 1500 },
		{ "defaults = { backoff = 1.0; };", 1000 },
		{ "defaults = { backoff = 100.0; };", 100000 },
		{ "defaults = { backoff = 100; };", 100000 },
		{ "defaults = { backoff = 1.0005; };", 1001 },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct cb_config *c = load_ok(t[i].text);

		assert_int_equal(policy_of(c, "10.0.0.1", 1).backoff_milli,
				 t[i].milli);
		cb_config_free(c);
	}
}

static void
failures_list_replaces_the_default_set(void **state)
{
	struct cb_config *c;
	struct cb_policy p;
	int e, n;

	(void)state;
	c = load_ok("defaults = { failures = ( \"EPIPE\" ); };");
	p = policy_of(c, "10.0.0.1", 1);
	for (e = 1, n = 0; e < CB_ERRNO_MAX; e++)
		n += cb_policy_is_failure(&p, e);
	assert_int_equal(n, 1);
	assert_true(cb_policy_is_failure(&p, EPIPE));
	cb_config_free(c);

	c = load_ok("defaults = { failures = [ ]; };");
	p = policy_of(c, "10.0.0.1", 1);
	for (e = 1, n = 0; e < CB_ERRNO_MAX; e++)
		n += cb_policy_is_failure(&p, e);
	assert_int_equal(n, 0);
	cb_config_free(c);

	c = load_ok("defaults = { failures = [ \"EWOULDBLOCK\", \"ENOTSUP\","
		    " \"EHWPOISON\" ]; };");
	p = policy_of(c, "10.0.0.1", 1);
	assert_true(cb_policy_is_failure(&p, EAGAIN));
	assert_true(cb_policy_is_failure(&p, EOPNOTSUPP));
	assert_true(cb_policy_is_failure(&p, EHWPOISON));
	cb_config_free(c);
}

static void
log_settings_are_parsed(void **state)
{
	static const struct { const char *level; int want; } t[] = {
		{ "error", CB_LOG_ERROR }, { "warn", CB_LOG_WARN },
		{ "info", CB_LOG_INFO }, { "debug", CB_LOG_DEBUG },
	};
	struct cb_config *c;
	char text[128];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		snprintf(text, sizeof(text), "log = { level = \"%s\"; };",
			 t[i].level);
		c = load_ok(text);
		assert_int_equal(cb_config_log_level(c), t[i].want);
		assert_int_equal(cb_config_log_syslog(c), 0);
		cb_config_free(c);
	}
	c = load_ok("log = { target = \"syslog\"; };");
	assert_int_equal(cb_config_log_syslog(c), 1);
	assert_int_equal(cb_config_log_level(c), CB_LOG_WARN);
	cb_config_free(c);
	c = load_ok("log = { target = \"stderr\"; };");
	assert_int_equal(cb_config_log_syslog(c), 0);
	cb_config_free(c);
}

static void
sections_may_come_in_any_order(void **state)
{
	struct cb_config *c;

	(void)state;
	c = load_ok("log = { level = \"debug\"; };\n"
		    "rules = ( { match = \"*:80\"; success_threshold = 9; } );\n"
		    "defaults = { failure_threshold = 8; };\n"
		    "shm = { max_breakers = 10; };\n");
	assert_int_equal(threshold_of(c, "10.0.0.1", 80), 8);
	assert_int_equal(policy_of(c, "10.0.0.1", 80).success_threshold, 9);
	assert_int_equal(threshold_of(c, "10.0.0.1", 81), 8);
	assert_int_equal(cb_config_max_breakers(c), 10);
	assert_int_equal(cb_config_log_level(c), CB_LOG_DEBUG);
	cb_config_free(c);
}

/* ---- durations and errno names --------------------------------------- */

static void
durations_take_ms_s_m_h_and_fractions(void **state)
{
	static const struct { const char *s; uint64_t ms; } t[] = {
		{ "250ms", 250 }, { "30s", 30000 }, { "2m", 120000 },
		{ "1h", 3600000 }, { "1.5s", 1500 }, { "0.25s", 250 },
		{ "1.5m", 90000 }, { "0.001s", 1 }, { "0ms", 0 },
		{ "2147483647ms", 2147483647u }, { "1.50s", 1500 },
		{ "007s", 7000 }, { "24h", 86400000 },
	};
	size_t i;
	uint64_t ms;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		ms = 12345;
		if (cb_parse_duration(t[i].s, &ms) != 0)
			fail_msg("\"%s\" refused", t[i].s);
		assert_true(ms == t[i].ms);
	}
}

static void
durations_without_a_unit_or_malformed_are_refused(void **state)
{
	static const char *bad[] = {
		"30", "", "s", "ms", "1.5ms", "-1s", "+1s", " 1s", "1s ",
		"1 s", "1sec", "1S", "1.s", ".5s", "1..5s", "1e3ms", "0x10s",
		"1.0000000001s", "99999999999999999999ms",
		"18446744073709551615h", "1d", "1mm", "1hs",
	};
	size_t i;
	uint64_t ms = 777;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (cb_parse_duration(bad[i], &ms) != -EINVAL)
			fail_msg("\"%s\" accepted", bad[i]);
	assert_int_equal(cb_parse_duration(NULL, &ms), -EINVAL);
	assert_true(ms == 777);
}

static void
errno_names_round_trip(void **state)
{
	(void)state;
	assert_int_equal(cb_errno_by_name("ECONNREFUSED"), ECONNREFUSED);
	assert_string_equal(cb_errno_name(ECONNREFUSED), "ECONNREFUSED");
	assert_string_equal(cb_errno_name(ETIMEDOUT), "ETIMEDOUT");
	assert_string_equal(cb_errno_name(EPERM), "EPERM");
	assert_string_equal(cb_errno_name(EHWPOISON), "EHWPOISON");
	/* aliases resolve, and the canonical name is the one printed */
	assert_int_equal(cb_errno_by_name("EWOULDBLOCK"), EAGAIN);
	assert_int_equal(cb_errno_by_name("EDEADLOCK"), EDEADLK);
	assert_int_equal(cb_errno_by_name("ENOTSUP"), EOPNOTSUPP);
	assert_string_equal(cb_errno_name(EAGAIN), "EAGAIN");
	assert_string_equal(cb_errno_name(EDEADLK), "EDEADLK");
	assert_string_equal(cb_errno_name(EOPNOTSUPP), "EOPNOTSUPP");
	/* unknown */
	assert_int_equal(cb_errno_by_name("EBOGUS"), -1);
	assert_int_equal(cb_errno_by_name("econnrefused"), -1);
	assert_int_equal(cb_errno_by_name(""), -1);
	assert_int_equal(cb_errno_by_name(NULL), -1);
	assert_null(cb_errno_name(0));
	assert_null(cb_errno_name(-1));
	assert_null(cb_errno_name(4096));
}

/* The table holds exactly the names glibc knows. */
static void
errno_table_agrees_with_glibc(void **state)
{
	int e, known = 0;

	(void)state;
#if defined(__GLIBC__) && (__GLIBC__ > 2 || __GLIBC_MINOR__ >= 32)
	for (e = 1; e < 4096; e++) {
		const char *g = strerrorname_np(e), *mine = cb_errno_name(e);

		if (g == NULL) {
			if (mine != NULL)
				fail_msg("%d: glibc has no name, we say %s", e,
					 mine);
			continue;
		}
		known++;
		if (mine == NULL || strcmp(g, mine) != 0)
			fail_msg("%d: glibc says %s, we say %s", e, g,
				 mine ? mine : "(null)");
		assert_int_equal(cb_errno_by_name(g), e);
		assert_true(e < CB_ERRNO_MAX);
	}
	assert_true(known >= 130);
#else
	for (e = 1; e < 134; e++)
		known += cb_errno_name(e) != NULL;
	assert_int_equal(known, 133);
#endif
}

/* ---- lookup order ---------------------------------------------------- */

static void
config_path_prefers_the_environment(void **state)
{
	const char *old = getenv("CBSHIM_CONFIG"), *want;
	char *saved = old ? strdup(old) : NULL;

	(void)state;
	want = access(CB_CONFIG_DEFAULT_PATH, F_OK) == 0 ?
	       CB_CONFIG_DEFAULT_PATH : NULL;
	setenv("CBSHIM_CONFIG", "/some/where/cb.conf", 1);
	assert_string_equal(cb_config_path(), "/some/where/cb.conf");
	setenv("CBSHIM_CONFIG", "", 1);		/* empty: as if unset */
	if (want)
		assert_string_equal(cb_config_path(), want);
	else
		assert_null(cb_config_path());
	unsetenv("CBSHIM_CONFIG");
	if (want)
		assert_string_equal(cb_config_path(), want);
	else
		assert_null(cb_config_path());
	if (saved)
		setenv("CBSHIM_CONFIG", saved, 1);
	free(saved);
}

/* ---- matching -------------------------------------------------------- */

static void
ipv4_address_rule_matches_only_that_address(void **state)
{
	struct cb_config *c;

	(void)state;
	c = load_ok("rules = ( { match = \"10.1.2.3:80\"; "
		    "failure_threshold = 2; } );");
	assert_int_equal(threshold_of(c, "10.1.2.3", 80), 2);
	assert_int_equal(threshold_of(c, "10.1.2.4", 80), 5);
	assert_int_equal(threshold_of(c, "10.1.2.2", 80), 5);
	assert_int_equal(threshold_of(c, "10.1.2.3", 81), 5);
	cb_config_free(c);
}

static void
ipv4_cidr_rule_matches_inside_and_not_outside(void **state)
{
	struct cb_config *c;

	(void)state;
	c = load_ok("rules = ( { match = \"10.1.0.0/16:5432\"; "
		    "failure_threshold = 3; },\n"
		    "{ match = \"172.16.0.0/12:*\"; failure_threshold = 4; },\n"
		    "{ match = \"192.168.1.128/25:*\"; failure_threshold = 6; } );");
	assert_int_equal(threshold_of(c, "10.1.0.0", 5432), 3);
	assert_int_equal(threshold_of(c, "10.1.255.255", 5432), 3);
	assert_int_equal(threshold_of(c, "10.0.255.255", 5432), 5);
	assert_int_equal(threshold_of(c, "10.2.0.0", 5432), 5);
	assert_int_equal(threshold_of(c, "172.16.0.1", 1), 4);
	assert_int_equal(threshold_of(c, "172.31.255.254", 1), 4);
	assert_int_equal(threshold_of(c, "172.32.0.1", 1), 5);
	assert_int_equal(threshold_of(c, "192.168.1.128", 1), 6);
	assert_int_equal(threshold_of(c, "192.168.1.255", 1), 6);
	assert_int_equal(threshold_of(c, "192.168.1.127", 1), 5);
	cb_config_free(c);
}

static void
ipv6_address_and_cidr_rules_match(void **state)
{
	struct cb_config *c;

	(void)state;
	c = load_ok("rules = ( { match = \"[2001:db8::1]:443\"; "
		    "failure_threshold = 2; },\n"
		    "{ match = \"[2001:db8::/32]:*\"; failure_threshold = 3; },\n"
		    "{ match = \"[fd00:1:2:3:4:5:6:0/113]:*\"; "
		    "failure_threshold = 4; },\n"
		    "{ match = \"[::1]:*\"; failure_threshold = 7; } );");
	assert_int_equal(threshold_of(c, "2001:db8::1", 443), 2);
	assert_int_equal(threshold_of(c, "2001:db8::1", 444), 3);
	assert_int_equal(threshold_of(c, "2001:db8:ffff:ffff::", 1), 3);
	assert_int_equal(threshold_of(c, "2001:db9::", 1), 5);
	assert_int_equal(threshold_of(c, "fd00:1:2:3:4:5:6:7fff", 1), 4);
	assert_int_equal(threshold_of(c, "fd00:1:2:3:4:5:6:8000", 1), 5);
	assert_int_equal(threshold_of(c, "::1", 9), 7);
	assert_int_equal(threshold_of(c, "::2", 9), 5);
	cb_config_free(c);
}

static void
ports_match_exactly_by_range_or_star(void **state)
{
	struct cb_config *c;

	(void)state;
	c = load_ok("rules = ( { match = \"10.0.0.1:8000-8099\"; "
		    "failure_threshold = 2; },\n"
		    "{ match = \"10.0.0.1:65535\"; failure_threshold = 3; },\n"
		    "{ match = \"10.0.0.2:*\"; failure_threshold = 4; },\n"
		    "{ match = \"10.0.0.3:1-1\"; failure_threshold = 6; } );");
	assert_int_equal(threshold_of(c, "10.0.0.1", 8000), 2);
	assert_int_equal(threshold_of(c, "10.0.0.1", 8050), 2);
	assert_int_equal(threshold_of(c, "10.0.0.1", 8099), 2);
	assert_int_equal(threshold_of(c, "10.0.0.1", 7999), 5);
	assert_int_equal(threshold_of(c, "10.0.0.1", 8100), 5);
	assert_int_equal(threshold_of(c, "10.0.0.1", 65535), 3);
	assert_int_equal(threshold_of(c, "10.0.0.2", 0), 4);
	assert_int_equal(threshold_of(c, "10.0.0.2", 1), 4);
	assert_int_equal(threshold_of(c, "10.0.0.2", 65535), 4);
	assert_int_equal(threshold_of(c, "10.0.0.3", 1), 6);
	assert_int_equal(threshold_of(c, "10.0.0.3", 2), 5);
	cb_config_free(c);
}

static void
star_address_matches_both_families(void **state)
{
	struct cb_config *c;

	(void)state;
	c = load_ok("rules = ( { match = \"*:53\"; mode = \"off\"; } );");
	assert_int_equal(policy_of(c, "8.8.8.8", 53).mode, CB_MODE_OFF);
	assert_int_equal(policy_of(c, "2001:4860::8888", 53).mode,
			 CB_MODE_OFF);
	assert_int_equal(policy_of(c, "8.8.8.8", 54).mode, CB_MODE_ENFORCE);
	cb_config_free(c);
	c = load_ok("rules = ( { match = \"*:*\"; failure_threshold = 9; } );");
	assert_int_equal(threshold_of(c, "0.0.0.0", 0), 9);
	assert_int_equal(threshold_of(c, "::", 65535), 9);
	cb_config_free(c);
}

static void
first_matching_rule_wins(void **state)
{
	struct cb_config *c;

	(void)state;
	c = load_ok("rules = (\n"
		    "  { match = \"10.1.2.0/24:80\"; failure_threshold = 2; },\n"
		    "  { match = \"10.1.0.0/16:80\"; failure_threshold = 3; },\n"
		    "  { match = \"10.1.2.3:80\"; failure_threshold = 4; },\n"
		    "  { match = \"*:*\"; failure_threshold = 6; }\n"
		    ");\n");
	assert_int_equal(threshold_of(c, "10.1.2.3", 80), 2);
	assert_int_equal(threshold_of(c, "10.1.3.3", 80), 3);
	assert_int_equal(threshold_of(c, "10.1.2.3", 81), 6);
	assert_int_equal(threshold_of(c, "::1", 80), 6);
	cb_config_free(c);
}

/* A rule's other fields come from the defaults section, not from the
 * built-in defaults. */
static void
rule_overrides_only_the_fields_it_sets(void **state)
{
	struct cb_config *c;
	struct cb_policy d, r;

	(void)state;
	c = load_ok("defaults = { failure_threshold = 7; success_threshold = 2;"
		    " open_timeout = \"5s\"; half_open_max_calls = 4;\n"
		    "  backoff = 3; open_timeout_max = \"1h\"; mode = \"observe\";"
		    " reject_errno = \"ENETUNREACH\"; failures = [ \"EIO\" ]; };\n"
		    "rules = ( { match = \"10.0.0.0/8:*\"; open_timeout = \"9s\";"
		    " } );\n");
	d = policy_of(c, "192.0.2.1", 1);
	r = policy_of(c, "10.9.9.9", 1);
	assert_int_equal(d.open_timeout_ms, 5000);
	assert_int_equal(r.open_timeout_ms, 9000);
	r.open_timeout_ms = d.open_timeout_ms;
	assert_policy_equal(&r, &d);
	assert_int_equal(r.failure_threshold, 7);
	assert_int_equal(r.mode, CB_MODE_OBSERVE);
	assert_int_equal(r.reject_errno, ENETUNREACH);
	assert_true(cb_policy_is_failure(&r, EIO));
	assert_false(cb_policy_is_failure(&r, ECONNREFUSED));
	cb_config_free(c);
}

static void
rule_can_set_every_policy_field(void **state)
{
	struct cb_config *c;
	struct cb_policy p;

	(void)state;
	c = load_ok("rules = ( { match = \"[::1]:1\"; failure_threshold = 1;\n"
		    "  success_threshold = 1; open_timeout = \"1ms\";\n"
		    "  half_open_max_calls = 4095; failures = [ \"ECONNRESET\" ];\n"
		    "  mode = \"off\"; backoff = 99.5; open_timeout_max = \"1s\";\n"
		    "  reject_errno = \"EHOSTUNREACH\"; } );");
	p = policy_of(c, "::1", 1);
	assert_int_equal(p.failure_threshold, 1);
	assert_int_equal(p.success_threshold, 1);
	assert_int_equal(p.open_timeout_ms, 1);
	assert_int_equal(p.half_open_max_calls, 4095);
	assert_true(cb_policy_is_failure(&p, ECONNRESET));
	assert_false(cb_policy_is_failure(&p, ECONNREFUSED));
	assert_int_equal(p.mode, CB_MODE_OFF);
	assert_int_equal(p.backoff_milli, 99500);
	assert_int_equal(p.open_timeout_max_ms, 1000);
	assert_int_equal(p.reject_errno, EHOSTUNREACH);
	cb_config_free(c);
}

static void
ipv4_rule_never_matches_ipv6_destination(void **state)
{
	struct cb_config *c;

	(void)state;
	c = load_ok("rules = ( { match = \"0.0.0.0/0:*\"; failure_threshold = 2; },"
		    "\n{ match = \"10.0.0.0/8:80\"; failure_threshold = 3; } );");
	assert_int_equal(threshold_of(c, "10.0.0.1", 80), 2);
	assert_int_equal(threshold_of(c, "::", 80), 5);
	/* an IPv6 address whose first bytes look like 10.x */
	assert_int_equal(threshold_of(c, "a00::1", 80), 5);
	assert_int_equal(threshold_of(c, "::ffff:10.0.0.1", 80), 5);
	cb_config_free(c);
}

static void
ipv6_rule_never_matches_ipv4_destination(void **state)
{
	struct cb_config *c;

	(void)state;
	c = load_ok("rules = ( { match = \"[::/0]:*\"; failure_threshold = 2; } );");
	assert_int_equal(threshold_of(c, "2001:db8::1", 1), 2);
	assert_int_equal(threshold_of(c, "10.0.0.1", 1), 5);
	assert_int_equal(threshold_of(c, "0.0.0.0", 1), 5);
	cb_config_free(c);
}

/* v4-mapped destinations arrive as AF_INET, so a v4-mapped rule is an
 * IPv4 rule. */
static void
ipv4_mapped_rule_matches_the_ipv4_destination(void **state)
{
	struct cb_config *c;

	(void)state;
	c = load_ok("rules = ( { match = \"[::ffff:192.0.2.0/120]:80\"; "
		    "failure_threshold = 2; },\n"
		    "{ match = \"[::ffff:198.51.100.7]:80\"; "
		    "failure_threshold = 3; } );");
	assert_int_equal(threshold_of(c, "192.0.2.200", 80), 2);
	assert_int_equal(threshold_of(c, "192.0.3.1", 80), 5);
	assert_int_equal(threshold_of(c, "198.51.100.7", 80), 3);
	assert_int_equal(threshold_of(c, "::ffff:192.0.2.200", 80), 5);
	cb_config_free(c);
}

static void
unknown_family_matches_only_star_rules(void **state)
{
	struct cb_config *c;
	struct cb_dest d;
	struct cb_policy p;

	(void)state;
	c = load_ok("rules = ( { match = \"0.0.0.0/0:*\"; failure_threshold = 2; },"
		    " { match = \"[::/0]:*\"; failure_threshold = 3; },"
		    " { match = \"*:*\"; failure_threshold = 4; } );");
	memset(&d, 0, sizeof(d));
	d.family = AF_UNIX;
	d.port = 1;
	cb_config_policy(c, &d, &p);
	assert_int_equal(p.failure_threshold, 4);
	cb_config_free(c);
}

static void
open_timeout_alone_raises_the_ceiling(void **state)
{
	struct cb_config *c;

	(void)state;
	c = load_ok("defaults = { open_timeout = \"20m\"; };\n"
		    "rules = ( { match = \"*:1\"; open_timeout = \"1h\"; },\n"
		    "{ match = \"*:2\"; open_timeout = \"1s\"; } );");
	assert_int_equal(policy_of(c, "10.0.0.1", 3).open_timeout_max_ms,
			 1200000);
	assert_int_equal(policy_of(c, "10.0.0.1", 1).open_timeout_max_ms,
			 3600000);
	assert_int_equal(policy_of(c, "10.0.0.1", 2).open_timeout_max_ms,
			 1200000);
	cb_config_free(c);
}

static void
empty_rules_are_fine(void **state)
{
	struct cb_config *c;

	(void)state;
	c = load_ok("rules = ( );");
	assert_int_equal(threshold_of(c, "10.0.0.1", 1), 5);
	cb_config_free(c);
	c = load_ok("rules = [ ];");
	assert_int_equal(threshold_of(c, "10.0.0.1", 1), 5);
	cb_config_free(c);
}

/* ---- errors: one per kind, exact line and message --------------------- */

static void
syntax_error_names_its_line(void **state)
{
	(void)state;
	expect_error("defaults = {\n  failure_threshold = 5;\n  mode = ;\n};\n",
		     3, "syntax error");
	/* libconfig's message, with the name when its line has one */
	expect_error("a = 1;\na = 2;\n", 2, "a: set twice in the same group "
		     "(duplicate setting name)");
	expect_error("defaults = {\n  mode = \"off\"; # mode = x\n"
		     "  mode = \"x:y\";\n};\n", 3, "mode: set twice in the "
		     "same group (duplicate setting name)");
	expect_error("defaults = { mode = \"off\"; mode = \"on\"; };\n", 1,
		     "duplicate setting name");
}

/* libconfig runs into the end of the file and says "syntax error" past
 * the last line: the line that opened the string or bracket instead. */
static void
left_open_names_where_it_opened(void **state)
{
	(void)state;
	expect_error("shm = { mode = \"0600; };\nlog = { };\n", 1,
		     "string never closed: no closing '\"' after the one on "
		     "this line");
	expect_error("log = { };\ndefaults = {\n  mode = \"off\";\n\n", 2,
		     "'{' never closed: no '}' for it before the end of the "
		     "file");
	expect_error("rules = (\n { match = \"*:53\"; }  # )\n", 1,
		     "'(' never closed: no ')' for it before the end of the "
		     "file");
	expect_error("\xef\xbb\xbf" "defaults = { };\n", 1, "the file starts "
		     "with a UTF-8 byte order mark (BOM): save it without one");
	/* an error before the end is libconfig's, at its line */
	expect_error("defaults = {\n mode = ;\n\n", 2, "syntax error");
	expect_error("a = ( 1 ];\nb = \"x;\n", 1, "syntax error");
}

static void
unknown_top_level_key_is_an_error(void **state)
{
	(void)state;
	expect_error("\n\nbreakers = { };\n", 3, "breakers: unknown setting");
}

static void
unknown_key_in_defaults_is_an_error(void **state)
{
	(void)state;
	expect_error("defaults = {\n  failure_threshold = 5;\n"
		     "  failure_treshold = 5;\n};\n", 3,
		     "defaults.failure_treshold: unknown setting");
	expect_error("defaults = { match = \"*:*\"; };", 1,
		     "defaults.match: unknown setting");
}

static void
unknown_key_in_a_rule_is_an_error(void **state)
{
	(void)state;
	expect_error("rules = (\n  { match = \"*:80\"; },\n"
		     "  { match = \"*:81\";\n    timeout = \"1s\"; }\n);\n", 4,
		     "rules[1].timeout: unknown setting");
}

static void
unknown_key_in_shm_and_log_is_an_error(void **state)
{
	(void)state;
	expect_error("shm = { size = 5; };", 1, "shm.size: unknown setting");
	expect_error("log = {\n file = \"x\"; };", 2,
		     "log.file: unknown setting");
}

static void
wrong_type_is_an_error(void **state)
{
	(void)state;
	expect_error("defaults = { failure_threshold = \"5\"; };", 1,
		     "defaults.failure_threshold: must be an integer, got a "
		     "string");
	expect_error("defaults = { failure_threshold = 5.0; };", 1,
		     "defaults.failure_threshold: must be an integer, got a "
		     "float");
	expect_error("shm = 5;", 1, "shm: must be a group { ... }, got an "
		     "integer");
	expect_error("\ndefaults = ( );", 2, "defaults: must be a group "
		     "{ ... }, got a list");
	expect_error("log = \"stderr\";", 1, "log: must be a group { ... }, "
		     "got a string");
	expect_error("rules = { };", 1, "rules: must be a list ( { match = "
		     "...; }, ... ), got a group");
	expect_error("rules = [ 1 ];", 1, "rules: must be a list ( { match = "
		     "...; }, ... ), got an array");
	expect_error("rules = ( 1 );", 1, "rules[0]: must be a group { match "
		     "= ...; }, got an integer");
	expect_error("defaults = { mode = true; };", 1, "defaults.mode: must "
		     "be a string, got a boolean");
	expect_error("defaults = { backoff = \"2\"; };", 1, "defaults.backoff: "
		     "must be a number, got a string");
	expect_error("defaults = { failures = \"EIO\"; };", 1,
		     "defaults.failures: must be an array of errno names like "
		     "[ \"ECONNREFUSED\" ], got a string");
	expect_error("defaults = { failures = ( \"EIO\", 5 ); };", 1,
		     "defaults.failures[1]: must be an errno name (a string), "
		     "got an integer");
	expect_error("shm = { name = 5; };", 1, "shm.name: must be a string, "
		     "got an integer");
	expect_error("rules = ( { match = 80; } );", 1, "rules[0].match: must "
		     "be a string, got an integer");
}

/* The error cb.conf(5) shows under EXAMPLES (cbctl check-config). */
static void
man_page_example_error_is_reported_verbatim(void **state)
{
	(void)state;
	expect_error("# cb.conf\n\nshm = { max_breakers = 4096; };\n\n"
		     "defaults = {\n  mode = \"enforce\";\n"
		     "  failure_threshold = 0;\n};\n", 7,
		     "defaults.failure_threshold: must be 1..65535, got 0");
}

static void
thresholds_out_of_range_are_errors(void **state)
{
	(void)state;
	expect_error("defaults = { failure_threshold = 65536; };", 1,
		     "defaults.failure_threshold: must be 1..65535, got 65536");
	expect_error("defaults = { success_threshold = 0; };", 1,
		     "defaults.success_threshold: must be 1..4095, got 0");
	expect_error("defaults = { success_threshold = 4096; };", 1,
		     "defaults.success_threshold: must be 1..4095, got 4096");
	expect_error("defaults = { half_open_max_calls = 0; };", 1,
		     "defaults.half_open_max_calls: must be 1..4095, got 0");
	expect_error("defaults = { half_open_max_calls = -3; };", 1,
		     "defaults.half_open_max_calls: must be 1..4095, got -3");
	expect_error("rules = ( { match = \"*:1\";\n failure_threshold = 0; } );",
		     2, "rules[0].failure_threshold: must be 1..65535, got 0");
	expect_error("shm = { max_breakers = 0; };", 1,
		     "shm.max_breakers: must be 1..1048576, got 0");
	expect_error("shm = { max_breakers = 1048577; };", 1,
		     "shm.max_breakers: must be 1..1048576, got 1048577");
	expect_error("shm = { max_breakers = 9999999999L; };", 1,
		     "shm.max_breakers: must be 1..1048576, got 9999999999");
}

/* libconfig 1.5 wraps integers to 32 bits without a word: 4294967297
 * would read as 1.  The text as written is what gets judged. */
static void
integers_libconfig_would_wrap_are_errors(void **state)
{
	(void)state;
	expect_error("shm = {\n  max_breakers = 4294967297;\n};\n", 2,
		     "shm.max_breakers: must be 1..1048576, got 4294967297");
	expect_error("defaults = {\n  failure_threshold =\n    4294967301;\n};",
		     2, "defaults.failure_threshold: must be 1..65535, got "
		     "4294967301");
	expect_error("defaults = { success_threshold = 0x100000003; };", 1,
		     "defaults.success_threshold: must be 1..4095, got "
		     "0x100000003");
	expect_error("defaults = { backoff = 4294967298; };", 1,
		     "defaults.backoff: must be 1.0..100.0, got 4294967298");
	expect_error("defaults = { half_open_max_calls = -4294967295; };", 1,
		     "defaults.half_open_max_calls: must be 1..4095, got "
		     "-4294967295");
}

/* The integer is read again from its own line: what libconfig made of
 * it must be what is written, however it is spelled or placed. */
static void
integers_are_judged_as_written_wherever_they_stand(void **state)
{
	struct cb_config *c;

	(void)state;
	/* a comment between "=" and the number, a name on its own line */
	expect_error("defaults = { failure_threshold = /* x */ 4294967297; };",
		     1, "defaults.failure_threshold: must be 1..65535, got "
		     "4294967297");
	expect_error("shm = {\n  max_breakers\n  =\n  # n\n  4294967297;\n};",
		     2, "shm.max_breakers: must be 1..1048576, got 4294967297");
	/* beyond 64 bits even with L: reported as written, not saturated */
	expect_error("shm = { owner = 99999999999999999999L; };", 1,
		     "shm.owner: must be 0..4294967294, got "
		     "99999999999999999999L");
	expect_error("shm = { owner = 0x1FFFFFFFFFFFFFFFFL; };", 1,
		     "shm.owner: must be 0..4294967294, got "
		     "0x1FFFFFFFFFFFFFFFFL");
	/* the same name twice on a line: each setting finds its own */
	expect_error("defaults = { failure_threshold = 5; }; rules = ( { "
		     "match = \"*:1\"; failure_threshold = 4294967297; } );", 1,
		     "rules[0].failure_threshold: must be 1..65535, got "
		     "4294967297");
	/* what fits is taken: L, hex, a sign, leading zeros */
	c = load_ok("shm = { owner = 4294967294L; max_breakers = 0x10; };\n"
		    "defaults = { failure_threshold = +007; success_threshold"
		    " = 2; half_open_max_calls = 0x2; };");
	assert_int_equal(cb_config_shm_owner(c), 4294967294L);
	assert_int_equal(cb_config_max_breakers(c), 16);
	assert_int_equal(policy_of(c, "10.0.0.1", 1).failure_threshold, 7);
	assert_int_equal(policy_of(c, "10.0.0.1", 1).half_open_max_calls, 2);
	cb_config_free(c);
}

static void
backoff_out_of_range_is_an_error(void **state)
{
	(void)state;
	expect_error("defaults = { backoff = 0.5; };", 1,
		     "defaults.backoff: must be 1.0..100.0, got 0.5");
	expect_error("defaults = { backoff = 100.5; };", 1,
		     "defaults.backoff: must be 1.0..100.0, got 100.5");
	expect_error("defaults = { backoff = 0; };", 1,
		     "defaults.backoff: must be 1.0..100.0, got 0");
	expect_error("defaults = { backoff = 1e999; };", 1,
		     "defaults.backoff: must be 1.0..100.0, got inf");
}

static void
duration_without_unit_is_an_error(void **state)
{
	(void)state;
	expect_error("defaults = {\n  open_timeout = \"30\";\n};", 2,
		     "defaults.open_timeout: must be a number with a unit (ms, "
		     "s, m, h) like \"30s\", got \"30\"");
	expect_error("defaults = { open_timeout = 30; };", 1,
		     "defaults.open_timeout: must be a duration string with a "
		     "unit (ms, s, m, h) like \"30s\", got an integer");
	expect_error("rules = ( { match = \"*:1\"; open_timeout_max = \"5 m\";"
		     " } );", 1, "rules[0].open_timeout_max: must be a number "
		     "with a unit (ms, s, m, h) like \"30s\", got \"5 m\"");
}

static void
duration_out_of_range_is_an_error(void **state)
{
	(void)state;
	expect_error("defaults = { open_timeout = \"0ms\"; };", 1,
		     "defaults.open_timeout: must be 1ms..2147483647ms, got "
		     "\"0ms\"");
	expect_error("defaults = { open_timeout_max = \"600h\"; };", 1,
		     "defaults.open_timeout_max: must be 1ms..2147483647ms, "
		     "got \"600h\"");
}

static void
open_timeout_max_below_open_timeout_is_an_error(void **state)
{
	(void)state;
	expect_error("defaults = {\n  open_timeout = \"2m\";\n"
		     "  open_timeout_max = \"1m\";\n};", 3,
		     "defaults.open_timeout_max: must be at least open_timeout "
		     "(2m), got 1m");
	expect_error("defaults = { open_timeout = \"20m\"; };\nrules = (\n"
		     "  { match = \"*:1\"; open_timeout_max = \"1m\"; } );", 3,
		     "rules[0].open_timeout_max: must be at least open_timeout "
		     "(20m), got 1m");
	expect_error("defaults = { open_timeout_max = \"1m\"; };\nrules = (\n"
		     "  { match = \"*:1\";\n    open_timeout = \"90s\"; } );", 4,
		     "rules[0].open_timeout: must be at most open_timeout_max "
		     "(1m), got 90s");
}

static void
unknown_errno_name_is_an_error(void **state)
{
	(void)state;
	expect_error("defaults = {\n  failures = [ \"ECONNREFUSED\",\n"
		     "    \"ECONREFUSED\" ];\n};", 3,
		     "defaults.failures[1]: unknown errno name \"ECONREFUSED\"");
	expect_error("defaults = { reject_errno = \"EFOO\"; };", 1,
		     "defaults.reject_errno: unknown errno name \"EFOO\"");
	expect_error("rules = ( { match = \"*:1\"; reject_errno = \"111\"; } );",
		     1, "rules[0].reject_errno: unknown errno name \"111\"");
}

/* A rejection's errno must say "cannot connect": EINTR or EINPROGRESS
 * would make programs retry at once or wait; ENONET's bit is reserved. */
static void
reject_errno_that_makes_programs_wait_is_an_error(void **state)
{
#define OK_REJECTS " would make programs wait or retry; use one that says " \
	"\"cannot connect\" (ECONNREFUSED, EHOSTUNREACH, ENETUNREACH, " \
	"ETIMEDOUT, ECONNRESET, ECONNABORTED, EHOSTDOWN, ENETDOWN, EACCES, " \
	"EPERM)"
	(void)state;
	expect_error("defaults = {\n reject_errno = \"EINTR\"; };", 2,
		     "defaults.reject_errno: EINTR" OK_REJECTS);
	expect_error("rules = ( { match = \"*:1\"; reject_errno = "
		     "\"EINPROGRESS\"; } );", 1,
		     "rules[0].reject_errno: EINPROGRESS" OK_REJECTS);
	expect_error("defaults = { failures = [ \"ENONET\" ]; };", 1,
		     "defaults.failures[0]: ENONET cannot be a failure errno "
		     "(connect never returns it)");
#undef OK_REJECTS
}

static void
bad_enumerations_are_errors(void **state)
{
	(void)state;
	expect_error("defaults = { mode = \"strict\"; };", 1,
		     "defaults.mode: must be \"enforce\", \"observe\" or \"off\", "
		     "got \"strict\"");
	expect_error("log = { level = \"loud\"; };", 1, "log.level: must be "
		     "\"error\", \"warn\", \"info\" or \"debug\", got \"loud\"");
	expect_error("log = { target = \"file\"; };", 1, "log.target: must be "
		     "\"stderr\" or \"syslog\", got \"file\"");
}

static void
bad_shm_mode_is_an_error(void **state)
{
	(void)state;
	expect_error("shm = { mode = \"0666\"; };", 1, "shm.mode: must not let "
		     "others write (0002), got \"0666\"");
	expect_error("shm = { mode = \"0602\"; };", 1, "shm.mode: must not let "
		     "others write (0002), got \"0602\"");
	expect_error("shm = { mode = \"01660\"; };", 1, "shm.mode: must be "
		     "0000..0777, got \"01660\"");
	expect_error("shm = { mode = \"0860\"; };", 1, "shm.mode: must be octal "
		     "digits like \"0660\", got \"0860\"");
	expect_error("shm = { mode = \"\"; };", 1, "shm.mode: must be octal "
		     "digits like \"0660\", got \"\"");
	expect_error("shm = { mode = \"0440\"; };", 1, "shm.mode: must let the "
		     "owner read and write (0600), got \"0440\"");
	expect_error("shm = { mode = 0660; };", 1, "shm.mode: must be a string "
		     "of octal digits like \"0660\", got an integer");
}

static void
bad_shm_name_is_an_error(void **state)
{
	(void)state;
	expect_error("shm = { name = \"cbshim\"; };", 1, "shm.name: must be "
		     "\"/name\" (2..199 characters, no other \"/\"), got "
		     "\"cbshim\"");
	expect_error("shm = { name = \"/a/b\"; };", 1, "shm.name: must be "
		     "\"/name\" (2..199 characters, no other \"/\"), got "
		     "\"/a/b\"");
	expect_error("shm = { name = \"/..\"; };", 1, "shm.name: must be "
		     "\"/name\" (2..199 characters, no other \"/\"), got "
		     "\"/..\"");
}

static void
bad_cidr_is_an_error(void **state)
{
	(void)state;
	expect_error("rules = (\n { match = \"10.1.2.3/16:80\"; } );", 2,
		     "rules[0].match: address has bits set beyond /16 (the "
		     "network is 10.1.0.0/16), got \"10.1.2.3/16:80\"");
	expect_error("rules = ( { match = \"10.0.0.0/33:80\"; } );", 1,
		     "rules[0].match: bad prefix length (0..32), got "
		     "\"10.0.0.0/33:80\"");
	expect_error("rules = ( { match = \"10.0.0.0/:80\"; } );", 1,
		     "rules[0].match: bad prefix length (0..32), got "
		     "\"10.0.0.0/:80\"");
	expect_error("rules = ( { match = \"10.0.0.256:80\"; } );", 1,
		     "rules[0].match: bad IPv4 address, got \"10.0.0.256:80\"");
	expect_error("rules = ( { match = \"10.0.0:80\"; } );", 1,
		     "rules[0].match: bad IPv4 address, got \"10.0.0:80\"");
	expect_error("rules = ( { match = \"[2001:db8::1/32]:80\"; } );", 1,
		     "rules[0].match: address has bits set beyond /32 (the "
		     "network is 2001:db8::/32), got \"[2001:db8::1/32]:80\"");
	expect_error("rules = ( { match = \"[2001:db8::/129]:80\"; } );", 1,
		     "rules[0].match: bad prefix length (0..128), got "
		     "\"[2001:db8::/129]:80\"");
	expect_error("rules = ( { match = \"[2001:db8:::1]:80\"; } );", 1,
		     "rules[0].match: bad IPv6 address, got "
		     "\"[2001:db8:::1]:80\"");
	expect_error("rules = ( { match = \"2001:db8::1:80\"; } );", 1,
		     "rules[0].match: an IPv6 address goes in brackets (like "
		     "\"[2001:db8::/32]:443\"), got \"2001:db8::1:80\"");
	expect_error("rules = ( { match = \"[2001:db8::1:80\"; } );", 1,
		     "rules[0].match: missing \"]\" after the IPv6 address, got "
		     "\"[2001:db8::1:80\"");
	expect_error("rules = ( { match = \":80\"; } );", 1, "rules[0].match: "
		     "missing address (\"*:PORT\" matches any), got \":80\"");
	expect_error("rules = ( { match = \"10.0.0.300:80\"; } );", 1,
		     "rules[0].match: bad IPv4 address, got \"10.0.0.300:80\"");
}

/* ---- name rules -------------------------------------------------------- */

static unsigned
named_threshold(const struct cb_config *c, const char *addr, unsigned port,
		const char *name)
{
	struct cb_dest d;
	struct cb_policy p;

	memset(&d, 0, sizeof(d));
	d.family = strchr(addr, ':') ? AF_INET6 : AF_INET;
	assert_int_equal(inet_pton(d.family, addr, d.addr), 1);
	d.port = (uint16_t)port;
	cb_config_policy_named(c, &d, name, &p);
	return p.failure_threshold;
}

static void
name_rules_match_in_order_with_cidr_rules(void **state)
{
	struct cb_config *c = load_ok(
	    "rules = (\n"
	    "  { match = \"DB.Internal.:5432\"; failure_threshold = 2; },\n"
	    "  { match = \"10.0.0.0/8:*\"; failure_threshold = 3; },\n"
	    "  { match = \"*.svc.cluster.local:*\"; failure_threshold = 4; },\n"
	    "  { match = \"localhost:8000-8099\"; failure_threshold = 6; }\n"
	    ");\n");

	(void)state;
	/* by name, before the CIDR rule that also fits the address */
	assert_int_equal(named_threshold(c, "10.1.1.1", 5432, "db.internal"),
			 2);
	/* the name rule's port must fit too */
	assert_int_equal(named_threshold(c, "10.1.1.1", 5433, "db.internal"),
			 3);
	/* reached without a name: address rules only */
	assert_int_equal(named_threshold(c, "10.1.1.1", 5432, NULL), 3);
	assert_int_equal(threshold_of(c, "192.0.2.1", 5432), 5);
	/* the CIDR rule comes first for 10/8, then *. for deeper names */
	assert_int_equal(named_threshold(c, "10.2.2.2", 80,
					 "a.svc.cluster.local"), 3);
	assert_int_equal(named_threshold(c, "192.0.2.7", 80,
					 "a.b.svc.cluster.local"), 4);
	assert_int_equal(named_threshold(c, "192.0.2.7", 80,
					 "svc.cluster.local"), 5);
	assert_int_equal(named_threshold(c, "::1", 8080, "localhost"), 6);
	assert_int_equal(named_threshold(c, "::1", 8100, "localhost"), 5);
	cb_config_free(c);
}

static void
bad_names_in_rules_are_errors(void **state)
{
	(void)state;
	expect_error("rules = (\n  { match = \"db..internal:5432\"; }\n);", 2,
		     "rules[0].match: bad host name (labels of letters, "
		     "digits, \"-\" or \"_\" joined by dots, 63 bytes each, "
		     "253 in all), got \"db..internal:5432\"");
	expect_error("rules = ( { match = \"db.int ernal:1\"; } );", 1,
		     "rules[0].match: bad host name (labels of letters, "
		     "digits, \"-\" or \"_\" joined by dots, 63 bytes each, "
		     "253 in all), got \"db.int ernal:1\"");
	expect_error("rules = ( { match = \"a.*.local:1\"; } );", 1,
		     "rules[0].match: a \"*\" in a host name only as \"*.\" "
		     "at its start (like \"*.svc.cluster.local:*\"), got "
		     "\"a.*.local:1\"");
	expect_error("rules = ( { match = \"*svc.local:1\"; } );", 1,
		     "rules[0].match: a \"*\" in a host name only as \"*.\" "
		     "at its start (like \"*.svc.cluster.local:*\"), got "
		     "\"*svc.local:1\"");
	expect_error("rules = ( { match = \"db.internal\"; } );", 1,
		     "rules[0].match: missing \":PORT\" (like "
		     "\"10.0.0.0/8:*\"), got \"db.internal\"");
	expect_error("rules = ( { match = \"db.internal:0\"; } );", 1,
		     "rules[0].match: bad port (1..65535, a range like "
		     "8000-8099, or *), got \"db.internal:0\"");
}

static void
bad_port_is_an_error(void **state)
{
	static const char *bad[] = {
		"10.0.0.1:0", "10.0.0.1:65536", "10.0.0.1:", "10.0.0.1:http",
		"10.0.0.1:-80", "10.0.0.1:80-", "10.0.0.1:1-2-3",
		"10.0.0.1:+80", "10.0.0.1: 80", "10.0.0.1:000080",
		"[::1]:**", "*:0-10",
	};
	char text[128], msg[256];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(text, sizeof(text), "rules = ( { match = \"%s\"; } );",
			 bad[i]);
		snprintf(msg, sizeof(msg), "rules[0].match: bad port (1..65535, "
			 "a range like 8000-8099, or *), got \"%s\"", bad[i]);
		expect_error(text, 1, msg);
	}
	expect_error("rules = ( { match = \"*:8099-8000\"; } );", 1,
		     "rules[0].match: port range ends before it starts, got "
		     "\"*:8099-8000\"");
	expect_error("rules = ( { match = \"10.0.0.1\"; } );", 1,
		     "rules[0].match: missing \":PORT\" (like \"10.0.0.0/8:*\"), "
		     "got \"10.0.0.1\"");
	expect_error("rules = ( { match = \"[::1]\"; } );", 1,
		     "rules[0].match: missing \":PORT\" after \"]\" (like "
		     "\"[2001:db8::/32]:443\"), got \"[::1]\"");
}

static void
rule_without_match_is_an_error(void **state)
{
	(void)state;
	expect_error("rules = (\n  { match = \"*:1\"; },\n"
		     "  { failure_threshold = 2; }\n);", 3,
		     "rules[1]: missing match (like match = \"10.0.0.0/8:*\";)");
}

/* The first error in the file is the one reported. */
static void
first_error_wins(void **state)
{
	(void)state;
	expect_error("defaults = {\n  failure_threshold = 0;\n"
		     "  success_threshold = 0;\n};\nfoo = 1;\n", 2,
		     "defaults.failure_threshold: must be 1..65535, got 0");
	expect_error("foo = 1;\ndefaults = {\n  failure_threshold = 0;\n};\n",
		     1, "foo: unknown setting");
	expect_error("shm = { max_breakers = 0; };\nlog = { level = \"x\"; };\n",
		     1, "shm.max_breakers: must be 1..1048576, got 0");
	expect_error("log = { level = \"x\"; };\nshm = { max_breakers = 0; };\n",
		     1, "log.level: must be \"error\", \"warn\", \"info\" or "
		     "\"debug\", got \"x\"");
	/* within a section, file order too */
	expect_error("shm = { max_breakers = 0;\n name = \"x\"; };\n", 1,
		     "shm.max_breakers: must be 1..1048576, got 0");
	expect_error("shm = { name = \"x\";\n max_breakers = 0; };\n", 1,
		     "shm.name: must be \"/name\" (2..199 characters, no "
		     "other \"/\"), got \"x\"");
}

static void
include_is_refused(void **state)
{
	(void)state;
	expect_error("a = 1;\n@include \"/etc/passwd\"\n", 2,
		     "@include is not supported (keep the configuration in one "
		     "file)");
}

/* The text is checked line by line, not tokenised: where libconfig would
 * include (a line starting with @include after blanks) or drop a byte
 * ("\x00"), the line is refused even inside a comment; "\\x00" is an
 * escaped backslash; an @include elsewhere is libconfig's syntax error. */
static void
text_checks_do_not_read_comments(void **state)
{
	struct cb_config *c;

	(void)state;
	expect_error("a = 1;\n /* old:\n \t@include \"/etc/passwd\"\n */\n",
		     3, "@include is not supported (keep the configuration in "
		     "one file)");
	expect_error("# \\x00\nlog = { level = \"warn\"; };", 1,
		     "NUL byte in a string");
	expect_error("log = { level = \"warn\"; }; @include \"/etc/passwd\"\n",
		     1, "syntax error");
	c = load_ok("shm = { name = \"/a\\\\x00\"; }; # \\\\x00 @include\n");
	assert_string_equal(cb_config_shm_name(c), "/a\\x00");
	cb_config_free(c);
}

/* libconfig takes a file ending inside a block comment as good, dropping
 * the rest: refused at the line that opens it, the text tokenised (a
 * "/" "*" in a string or after "#" or "//" opens nothing). */
static void
comment_left_open_is_an_error(void **state)
{
	struct cb_config *c;

	(void)state;
	expect_error("defaults = { failure_threshold = 2; };\n/* old\n"
		     "rules = ( { match = \"*:53\"; mode = \"off\"; } );\n",
		     2, "comment never closed: no \"*/\" after this \"/*\" "
		     "(the rest of the file would be ignored)");
	expect_error("/* a */ /* b */\n/**/ /*/ x\n", 2, "comment never "
		     "closed: no \"*/\" after this \"/*\" (the rest of the "
		     "file would be ignored)");
	c = load_ok("shm = { name = \"/a\\\"#b\"; }; # /*\n// /*\n"
		    "/* a\n */ log = { level = \"warn\"; };\n");
	assert_string_equal(cb_config_shm_name(c), "/a\"#b");
	cb_config_free(c);
	/* in a string: the string's own error, not a comment's */
	expect_error("\nshm = { name = \"/a/*b\"; };\n", 2, "shm.name: must "
		     "be \"/name\" (2..199 characters, no other \"/\"), got "
		     "\"/a/*b\"");
}

/* Two rules with the same match (as parsed: case, v4-mapped and zero
 * runs do not hide it): the later never applies; named with the line of
 * the rule that wins.  Rules that only overlap are fine. */
static void
duplicate_rule_is_an_error(void **state)
{
	struct cb_config *c;

	(void)state;
	expect_error("rules = (\n { match = \"*:53\"; mode = \"off\"; },\n"
		     " { match = \"*:53\"; mode = \"observe\"; }\n);\n", 3,
		     "rules[1].match: the same as rules[0] (line 2), which "
		     "comes first and wins: this rule would never apply");
	expect_error("rules = (\n { match = \"10.0.0.0/8:80\"; },\n"
		     " { match = \"Db.Internal:1-9\"; },\n"
		     " { match = \"db.internal:1-9\"; },\n"
		     " { match = \"[::ffff:10.0.0.0/104]:80\"; }\n);\n", 4,
		     "rules[2].match: the same as rules[1] (line 3), which "
		     "comes first and wins: this rule would never apply");
	expect_error("rules = ( { match = \"[2001:db8::/32]:*\"; },\n"
		     "{ match = \"[2001:db8:0::/32]:*\"; } );", 2,
		     "rules[1].match: the same as rules[0] (line 1), which "
		     "comes first and wins: this rule would never apply");
	c = load_ok("rules = ( { match = \"10.0.0.0/8:80\"; },\n"
		    "{ match = \"10.0.0.0/16:80\"; },\n"
		    "{ match = \"10.0.0.0/8:81\"; },\n"
		    "{ match = \"*.a.b:80\"; }, { match = \"a.b:80\"; },\n"
		    "{ match = \"[::/0]:80\"; }, { match = \"*:*\"; } );");
	cb_config_free(c);
}

static void
nul_bytes_are_errors(void **state)
{
	static const char raw[] = "log = { level = \"warn\"; };\n\0x = 1;\n";
	struct cb_config *c = (struct cb_config *)1;
	char err[512], want[512];

	(void)state;
	assert_int_equal(load_n(raw, sizeof(raw) - 1, &c, err, sizeof(err)),
			 -EINVAL);
	snprintf(want, sizeof(want), "%s:2: NUL byte in the file", conf_path);
	assert_string_equal(err, want);
	assert_null(c);
	expect_error("rules = (\n { match = \"*:80\\x00junk\"; } );", 2,
		     "NUL byte in a string");
}

static void
unreadable_files_say_why(void **state)
{
	struct cb_config *c = (struct cb_config *)1;
	char err[512], want[512], dir[64] = "/tmp/cbconfdir-XXXXXX";
	char fifo[128];

	(void)state;
	assert_int_equal(cb_config_load(&c, "/nonexistent/cb.conf", err,
					sizeof(err)), -ENOENT);
	assert_string_equal(err, "/nonexistent/cb.conf: No such file or "
			    "directory");
	assert_null(c);
	assert_non_null(mkdtemp(dir));
	assert_int_equal(cb_config_load(&c, dir, err, sizeof(err)), -EISDIR);
	snprintf(want, sizeof(want), "%s: Is a directory", dir);
	assert_string_equal(err, want);
	/* a FIFO must not block the program */
	snprintf(fifo, sizeof(fifo), "%s/fifo", dir);
	assert_int_equal(mkfifo(fifo, 0600), 0);
	assert_int_equal(cb_config_load(&c, fifo, err, sizeof(err)), -EINVAL);
	snprintf(want, sizeof(want), "%s: not a regular file", fifo);
	assert_string_equal(err, want);
	unlink(fifo);
	rmdir(dir);
	assert_null(c);
}

static void
huge_file_is_refused(void **state)
{
	size_t n = (1u << 20) + 1;
	char *text = malloc(n), err[512], want[512];
	struct cb_config *c = (struct cb_config *)1;

	(void)state;
	assert_non_null(text);
	memset(text, '\n', n);
	assert_int_equal(load_n(text, n, &c, err, sizeof(err)), -EFBIG);
	snprintf(want, sizeof(want), "%s: too large (more than 1048576 bytes)",
		 conf_path);
	assert_string_equal(err, want);
	assert_null(c);
	/* lines libconfig cannot count (16 bits) */
	assert_int_equal(load_n(text, 70000, &c, err, sizeof(err)), -EINVAL);
	snprintf(want, sizeof(want), "%s:65536: too many lines (at most "
		 "65535)", conf_path);
	assert_string_equal(err, want);
	free(text);
}

static void
errors_need_no_buffer_and_stay_one_line(void **state)
{
	struct cb_config *c = (struct cb_config *)1;
	char err[40];

	(void)state;
	assert_int_equal(load_n("foo = 1;", 8, &c, NULL, 0), -EINVAL);
	assert_null(c);
	/* a short buffer gets a truncated, terminated message */
	assert_int_equal(load_n("foo = 1;", 8, &c, err, sizeof(err)), -EINVAL);
	assert_true(strlen(err) == sizeof(err) - 1);
	/* control characters from the file are escaped */
	expect_error("defaults = { mode = \"a\\nb\\x01\\\"\"; };", 1,
		     "defaults.mode: must be \"enforce\", \"observe\" or \"off\", "
		     "got \"a\\x0ab\\x01\\\"\"");
}

/* ---- the example file ------------------------------------------------ */

static void
example_file_loads_and_means_what_it_says(void **state)
{
	static const char *where[] = { "cb.conf.example", "../cb.conf.example",
				       "../../cb.conf.example",
				       "../../../cb.conf.example" };
	struct cb_config *c = NULL;
	struct cb_policy want, p;
	char err[512] = "";
	const char *top = getenv("TOP");
	char path[512];
	size_t i;

	(void)state;
	if (top && *top)
		snprintf(path, sizeof(path), "%s/cb.conf.example", top);
	for (i = 0; !(top && *top) && i < 4; i++)
		if (access(where[i], R_OK) == 0) {
			snprintf(path, sizeof(path), "%s", where[i]);
			break;
		}
	if (cb_config_load(&c, path, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	/* the defaults it writes out are the built-in ones */
	cb_policy_default(&want);
	p = policy_of(c, "198.51.100.1", 80);
	assert_policy_equal(&p, &want);
	assert_null(cb_config_shm_name(c));
	assert_int_equal(cb_config_shm_mode(c), 0600);
	assert_int_equal(cb_config_max_breakers(c), 4096);
	assert_int_equal(cb_config_log_level(c), CB_LOG_WARN);
	assert_int_equal(cb_config_log_syslog(c), 0);
	/* and its rules */
	p = policy_of(c, "10.1.200.3", 5432);
	assert_int_equal(p.failure_threshold, 3);
	assert_int_equal(p.open_timeout_ms, 10000);
	assert_int_equal(threshold_of(c, "10.1.200.3", 5433), 5);
	assert_int_equal(policy_of(c, "2001:db8::7", 443).mode,
			 CB_MODE_OBSERVE);
	assert_int_equal(policy_of(c, "9.9.9.9", 53).mode, CB_MODE_OFF);
	p = policy_of(c, "192.0.2.9", 8080);
	assert_int_equal(p.reject_errno, EHOSTUNREACH);
	assert_int_equal(p.backoff_milli, 2000);
	assert_int_equal(p.open_timeout_max_ms, 300000);
	assert_true(cb_policy_is_failure(&p, ECONNREFUSED));
	assert_false(cb_policy_is_failure(&p, ETIMEDOUT));
	cb_config_free(c);
}

static void
failure_rate_fields_are_parsed_per_rule_with_file_line_errors(void **state)
{
	struct cb_config *c;
	struct cb_policy p;

	(void)state;
	c = load_ok("defaults = { failure_rate_threshold = 50;\n"
		    "  window = \"30s\"; minimum_calls = 100; };\n"
		    "rules = (\n"
		    "  { match = \"10.0.0.1:1\"; failure_rate_threshold = 0; },\n"
		    "  { match = \"10.0.0.1:2\"; window = \"100ms\";\n"
		    "    minimum_calls = 1; failure_rate_threshold = 100; }\n"
		    ");\n");
	p = policy_of(c, "10.0.0.9", 9);
	assert_int_equal(p.failure_rate_threshold, 50);
	assert_int_equal(p.window_ms, 30000);
	assert_int_equal(p.minimum_calls, 100);
	p = policy_of(c, "10.0.0.1", 1);		/* off in one rule */
	assert_int_equal(p.failure_rate_threshold, 0);
	assert_int_equal(p.window_ms, 30000);
	p = policy_of(c, "10.0.0.1", 2);
	assert_int_equal(p.failure_rate_threshold, 100);
	assert_int_equal(p.window_ms, 100);
	assert_int_equal(p.minimum_calls, 1);
	assert_int_equal(cb_policy_valid(&p), 0);
	cb_config_free(c);
	c = load_ok("");
	p = policy_of(c, "10.0.0.1", 1);
	assert_int_equal(p.failure_rate_threshold, 0);	/* off by default */
	assert_int_equal(p.window_ms, 10000);
	assert_int_equal(p.minimum_calls, 20);
	cb_config_free(c);

	expect_error("defaults = { failure_rate_threshold = 101; };", 1,
		     "defaults.failure_rate_threshold: must be 0..100, got 101");
	expect_error("\ndefaults = { failure_rate_threshold = -1; };", 2,
		     "defaults.failure_rate_threshold: must be 0..100, got -1");
	expect_error("defaults = { failure_rate_threshold = \"50%\"; };", 1,
		     "defaults.failure_rate_threshold: must be an integer, got "
		     "a string");
	expect_error("rules = ( { match = \"*:*\";\n window = \"99ms\"; } );",
		     2, "rules[0].window: must be 100ms..24h, got \"99ms\"");
	expect_error("defaults = { window = \"25h\"; };", 1,
		     "defaults.window: must be 100ms..24h, got \"25h\"");
	expect_error("defaults = { window = 10; };", 1, "defaults.window: must "
		     "be a duration string with a unit (ms, s, m, h) like "
		     "\"30s\", got an integer");
	expect_error("defaults = { minimum_calls = 0; };", 1,
		     "defaults.minimum_calls: must be 1..1000000, got 0");
	expect_error("defaults = { minimum_calls = 1000001; };", 1,
		     "defaults.minimum_calls: must be 1..1000000, got 1000001");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(no_file_gives_builtin_defaults),
		cmocka_unit_test(empty_and_comment_only_files_give_builtin_defaults),
		cmocka_unit_test(dev_null_is_an_empty_file),
		cmocka_unit_test(free_and_accessors_accept_null),
		cmocka_unit_test(shm_settings_are_parsed),
		cmocka_unit_test(every_defaults_field_is_parsed),
		cmocka_unit_test(failure_rate_fields_are_parsed_per_rule_with_file_line_errors),
		cmocka_unit_test(every_mode_is_parsed),
		cmocka_unit_test(backoff_accepts_integer_and_float),
		cmocka_unit_test(failures_list_replaces_the_default_set),
		cmocka_unit_test(log_settings_are_parsed),
		cmocka_unit_test(sections_may_come_in_any_order),
		cmocka_unit_test(durations_take_ms_s_m_h_and_fractions),
		cmocka_unit_test(durations_without_a_unit_or_malformed_are_refused),
		cmocka_unit_test(errno_names_round_trip),
		cmocka_unit_test(errno_table_agrees_with_glibc),
		cmocka_unit_test(config_path_prefers_the_environment),
		cmocka_unit_test(ipv4_address_rule_matches_only_that_address),
		cmocka_unit_test(ipv4_cidr_rule_matches_inside_and_not_outside),
		cmocka_unit_test(ipv6_address_and_cidr_rules_match),
		cmocka_unit_test(ports_match_exactly_by_range_or_star),
		cmocka_unit_test(star_address_matches_both_families),
		cmocka_unit_test(first_matching_rule_wins),
		cmocka_unit_test(rule_overrides_only_the_fields_it_sets),
		cmocka_unit_test(rule_can_set_every_policy_field),
		cmocka_unit_test(ipv4_rule_never_matches_ipv6_destination),
		cmocka_unit_test(ipv6_rule_never_matches_ipv4_destination),
		cmocka_unit_test(ipv4_mapped_rule_matches_the_ipv4_destination),
		cmocka_unit_test(unknown_family_matches_only_star_rules),
		cmocka_unit_test(open_timeout_alone_raises_the_ceiling),
		cmocka_unit_test(empty_rules_are_fine),
		cmocka_unit_test(syntax_error_names_its_line),
		cmocka_unit_test(left_open_names_where_it_opened),
		cmocka_unit_test(unknown_top_level_key_is_an_error),
		cmocka_unit_test(unknown_key_in_defaults_is_an_error),
		cmocka_unit_test(unknown_key_in_a_rule_is_an_error),
		cmocka_unit_test(unknown_key_in_shm_and_log_is_an_error),
		cmocka_unit_test(wrong_type_is_an_error),
		cmocka_unit_test(man_page_example_error_is_reported_verbatim),
		cmocka_unit_test(thresholds_out_of_range_are_errors),
		cmocka_unit_test(integers_libconfig_would_wrap_are_errors),
		cmocka_unit_test(integers_are_judged_as_written_wherever_they_stand),
		cmocka_unit_test(backoff_out_of_range_is_an_error),
		cmocka_unit_test(duration_without_unit_is_an_error),
		cmocka_unit_test(duration_out_of_range_is_an_error),
		cmocka_unit_test(open_timeout_max_below_open_timeout_is_an_error),
		cmocka_unit_test(unknown_errno_name_is_an_error),
		cmocka_unit_test(reject_errno_that_makes_programs_wait_is_an_error),
		cmocka_unit_test(bad_enumerations_are_errors),
		cmocka_unit_test(bad_shm_mode_is_an_error),
		cmocka_unit_test(bad_reclaim_after_is_an_error),
		cmocka_unit_test(bad_shm_name_is_an_error),
		cmocka_unit_test(bad_cidr_is_an_error),
		cmocka_unit_test(bad_port_is_an_error),
		cmocka_unit_test(rule_without_match_is_an_error),
		cmocka_unit_test(first_error_wins),
		cmocka_unit_test(include_is_refused),
		cmocka_unit_test(nul_bytes_are_errors),
		cmocka_unit_test(text_checks_do_not_read_comments),
		cmocka_unit_test(comment_left_open_is_an_error),
		cmocka_unit_test(duplicate_rule_is_an_error),
		cmocka_unit_test(unreadable_files_say_why),
		cmocka_unit_test(huge_file_is_refused),
		cmocka_unit_test(errors_need_no_buffer_and_stay_one_line),
		cmocka_unit_test(example_file_loads_and_means_what_it_says),
		cmocka_unit_test(name_rules_match_in_order_with_cidr_rules),
		cmocka_unit_test(bad_names_in_rules_are_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
