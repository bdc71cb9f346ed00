/*
 * text.h - small text helpers shared by the configuration (config.c) and
 * cbctl (its DEST operands, cbctl/dest.c, and its durations), so that
 * "ADDR:PORT" is split, a port or a duration is read and a string is shown
 * in a message by one rule.
 *
 * Pure functions: no allocation, no global state, any input is safe.
 * Compiled into libcbshim.so hidden (-fvisibility=hidden), like the rest
 * of the core.
 */
#ifndef CB_TEXT_H
#define CB_TEXT_H

#include <stddef.h>
#include <stdint.h>

/* Why cb_text_split refused its input. */
enum cb_split_err {
	CB_SPLIT_OK = 0,
	CB_SPLIT_NO_CLOSE,		/* "[" without "]" */
	CB_SPLIT_NO_PORT_AFTER_CLOSE,	/* "[...]" not followed by ":" */
	CB_SPLIT_NO_PORT,		/* no ":" at all */
	CB_SPLIT_V6_UNBRACKETED,	/* a ":" in the host: IPv6 needs "[]" */
};

/* "HOST:PORT" or "[HOST]:PORT", cut (nothing is copied). */
struct cb_hostport {
	const char *host;		/* into the input, hostlen bytes */
	size_t hostlen;
	const char *port;		/* the rest of the input after ":" */
	int bracketed;			/* HOST was in "[...]" */
	enum cb_split_err err;		/* set when -EINVAL */
};

/* cb_text_split - split s at its port: after "[HOST]" when s starts with
 * "[", else at the last ":" (and then the host may hold no ":", so an
 * IPv6 address must be bracketed: "::1:80" is an error, not a guess).
 * The host may be empty and the port text anything: the caller judges
 * them.  0, or -EINVAL with hp->err saying why. */
int cb_text_split(const char *s, struct cb_hostport *hp);

/* cb_text_port - the n bytes at s as a port: 1 to 5 decimal digits
 * (no sign, no blank), 1..65535.  0 and *port, or -EINVAL. */
int cb_text_port(const char *s, size_t n, uint16_t *port);

/* cb_text_quote - s in double quotes for a one-line message: '"' and '\'
 * escaped with a backslash, other bytes outside printable ASCII as \xNN
 * (no input can put an escape sequence on a terminal), cut with "..."
 * when buf is full.  len must be at least 16.  Returns buf. */
const char *cb_text_quote(char *buf, size_t len, const char *s);

/* cb_parse_duration - "250ms", "30s", "2m", "1h" (also "1.5s") -> ms:
 * digits, maybe a fraction, a unit; whole milliseconds only, no overflow.
 * 0 or -EINVAL. */
int cb_parse_duration(const char *s, uint64_t *ms);

/* cb_text_duration - ms as "30s", "10m", "1500ms": the shortest exact
 * spelling cb_parse_duration reads back, for messages. */
void cb_text_duration(char *buf, size_t len, uint64_t ms);

#endif
