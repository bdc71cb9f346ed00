/*
 * test_text.c - the text helpers the configuration and cbctl share
 * (shim/text.h): where "HOST:PORT" and "[HOST]:PORT" split and why a split
 * fails, what a port is (1 to 5 decimal digits, 1..65535), and how a
 * string is quoted for a message (escaped, bounded, always terminated).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "../../shim/text.h"

static void
expect_split(const char *s, const char *host, const char *port,
	     int bracketed)
{
	struct cb_hostport hp;

	assert_int_equal(cb_text_split(s, &hp), 0);
	assert_int_equal(hp.err, CB_SPLIT_OK);
	assert_int_equal(hp.hostlen, strlen(host));
	assert_memory_equal(hp.host, host, hp.hostlen);
	assert_string_equal(hp.port, port);
	assert_int_equal(hp.bracketed, bracketed);
}

static void
expect_split_error(const char *s, enum cb_split_err why)
{
	struct cb_hostport hp;

	assert_int_equal(cb_text_split(s, &hp), -EINVAL);
	assert_int_equal(hp.err, why);
}

static void
split_cuts_at_the_port(void **state)
{
	(void)state;
	expect_split("10.0.0.1:80", "10.0.0.1", "80", 0);
	expect_split("db.internal:*", "db.internal", "*", 0);
	expect_split("[2001:db8::1]:443", "2001:db8::1", "443", 1);
	expect_split("[::1/128]:1-2", "::1/128", "1-2", 1);
	/* the caller judges an empty host or port */
	expect_split(":80", "", "80", 0);
	expect_split("[]:", "", "", 1);
	expect_split("host:", "host", "", 0);
	/* after "]" the port is everything that follows the ":" */
	expect_split("[::1]:8:0", "::1", "8:0", 1);
}

static void
split_says_why_not(void **state)
{
	(void)state;
	expect_split_error("[::1:80", CB_SPLIT_NO_CLOSE);
	expect_split_error("[::1]80", CB_SPLIT_NO_PORT_AFTER_CLOSE);
	expect_split_error("[::1]", CB_SPLIT_NO_PORT_AFTER_CLOSE);
	expect_split_error("10.0.0.1", CB_SPLIT_NO_PORT);
	expect_split_error("", CB_SPLIT_NO_PORT);
	expect_split_error("::1:80", CB_SPLIT_V6_UNBRACKETED);
	expect_split_error("a:b:80", CB_SPLIT_V6_UNBRACKETED);
}

static void
port_is_one_to_five_digits(void **state)
{
	static const char *bad[] = { "", "0", "00000", "65536", "99999",
				     "000080", "+80", "-80", " 80", "80 ",
				     "8x", "0x50", "123456" };
	uint16_t p = 7;
	size_t i;

	(void)state;
	assert_int_equal(cb_text_port("1", 1, &p), 0);
	assert_int_equal(p, 1);
	assert_int_equal(cb_text_port("65535", 5, &p), 0);
	assert_int_equal(p, 65535);
	assert_int_equal(cb_text_port("00080", 5, &p), 0);
	assert_int_equal(p, 80);
	/* only n bytes count: "8000-8099" is two ports */
	assert_int_equal(cb_text_port("8000-8099", 4, &p), 0);
	assert_int_equal(p, 8000);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		p = 7;
		if (cb_text_port(bad[i], strlen(bad[i]), &p) != -EINVAL)
			fail_msg("port \"%s\" accepted", bad[i]);
		assert_int_equal(p, 7);
	}
}

static void
quote_escapes_and_bounds(void **state)
{
	char buf[64], small[16], big[300];

	(void)state;
	assert_string_equal(cb_text_quote(buf, sizeof(buf), "*:80"),
			    "\"*:80\"");
	assert_string_equal(cb_text_quote(buf, sizeof(buf), ""), "\"\"");
	assert_string_equal(cb_text_quote(buf, sizeof(buf), "a\"b\\c"),
			    "\"a\\\"b\\\\c\"");
	assert_string_equal(cb_text_quote(buf, sizeof(buf), "a\x1b[2J\n\xff"),
			    "\"a\\x1b[2J\\x0a\\xff\"");
	/* cut with "...", never past the buffer, whatever the bytes */
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	cb_text_quote(small, sizeof(small), big);
	assert_string_equal(small, "\"xxxxxxx...\"");
	memset(big, '\x01', sizeof(big) - 1);
	cb_text_quote(buf, sizeof(buf), big);
	assert_true(strlen(buf) < sizeof(buf));
	assert_string_equal(buf + strlen(buf) - 4, "...\"");
	assert_int_equal(strspn(buf + 1, "\\x01"), strlen(buf) - 5);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(split_cuts_at_the_port),
		cmocka_unit_test(split_says_why_not),
		cmocka_unit_test(port_is_one_to_five_digits),
		cmocka_unit_test(quote_escapes_and_bounds),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
