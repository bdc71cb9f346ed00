/*
 * text.c - the text helpers config.c and cbctl/dest.c share (text.h).
 *
 * Each caller words its own messages (a configuration file and a command
 * line say different things about the same mistake); what is shared is
 * the rule: where the port starts, what a port is, how a byte is shown,
 * how a duration is written.
 */
#include "text.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

int
cb_text_split(const char *s, struct cb_hostport *hp)
{
	const char *colon, *close;

	memset(hp, 0, sizeof(*hp));
	hp->bracketed = s[0] == '[';
	if (hp->bracketed) {
		if ((close = strchr(s, ']')) == NULL)
			hp->err = CB_SPLIT_NO_CLOSE;
		else if (close[1] != ':')
			hp->err = CB_SPLIT_NO_PORT_AFTER_CLOSE;
		else {
			hp->host = s + 1;
			hp->hostlen = (size_t)(close - s - 1);
			hp->port = close + 2;
		}
	} else if ((colon = strrchr(s, ':')) == NULL) {
		hp->err = CB_SPLIT_NO_PORT;
	} else if (memchr(s, ':', (size_t)(colon - s)) != NULL) {
		hp->err = CB_SPLIT_V6_UNBRACKETED;
	} else {
		hp->host = s;
		hp->hostlen = (size_t)(colon - s);
		hp->port = colon + 1;
	}
	return hp->err == CB_SPLIT_OK ? 0 : -EINVAL;
}

int
cb_text_port(const char *s, size_t n, uint16_t *port)
{
	unsigned v = 0;
	size_t i;

	if (n < 1 || n > 5)
		return -EINVAL;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -EINVAL;
		v = v * 10 + (unsigned)(s[i] - '0');
	}
	if (v < 1 || v > 65535)
		return -EINVAL;
	*port = (uint16_t)v;
	return 0;
}

const char *
cb_text_quote(char *buf, size_t len, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;
	unsigned char ch;

	buf[o++] = '"';
	/* o + 8 < len: room for the widest byte (4), then "...", '"', NUL */
	for (; (ch = (unsigned char)*s) != 0 && o + 8 < len; s++) {
		if (ch == '"' || ch == '\\') {
			buf[o++] = '\\';
			buf[o++] = (char)ch;
		} else if (ch < 0x20 || ch >= 0x7f) {
			buf[o++] = '\\';
			buf[o++] = 'x';
			buf[o++] = hex[ch >> 4];
			buf[o++] = hex[ch & 15];
		} else {
			buf[o++] = (char)ch;
		}
	}
	if (*s) {
		memcpy(buf + o, "...", 3);
		o += 3;
	}
	buf[o++] = '"';
	buf[o] = '\0';
	return buf;
}

int
cb_parse_duration(const char *s, uint64_t *ms)
{
	uint64_t ip = 0, frac = 0, scale = 1, unit, fms;
	const char *p = s;

	if (p == NULL || *p < '0' || *p > '9')
		return -EINVAL;
	for (; *p >= '0' && *p <= '9'; p++) {
		if (ip > (UINT64_MAX - 9) / 10)
			return -EINVAL;
		ip = ip * 10 + (uint64_t)(*p - '0');
	}
	if (*p == '.') {
		if (*++p < '0' || *p > '9')
			return -EINVAL;
		for (; *p >= '0' && *p <= '9'; p++) {
			if (scale >= 1000000000u)	/* 9 decimals */
				return -EINVAL;
			frac = frac * 10 + (uint64_t)(*p - '0');
			scale *= 10;
		}
	}
	if (strcmp(p, "ms") == 0)
		unit = 1;
	else if (strcmp(p, "s") == 0)
		unit = 1000;
	else if (strcmp(p, "m") == 0)
		unit = 60000;
	else if (strcmp(p, "h") == 0)
		unit = 3600000;
	else
		return -EINVAL;
	if ((frac * unit) % scale != 0)		/* not whole milliseconds */
		return -EINVAL;
	fms = frac * unit / scale;
	if (ip > (UINT64_MAX - fms) / unit)
		return -EINVAL;
	*ms = ip * unit + fms;
	return 0;
}

void
cb_text_duration(char *buf, size_t len, uint64_t ms)
{
	if (ms != 0 && ms % 3600000 == 0)
		snprintf(buf, len, "%lluh", (unsigned long long)(ms / 3600000));
	else if (ms != 0 && ms % 60000 == 0)
		snprintf(buf, len, "%llum", (unsigned long long)(ms / 60000));
	else if (ms != 0 && ms % 1000 == 0)
		snprintf(buf, len, "%llus", (unsigned long long)(ms / 1000));
	else
		snprintf(buf, len, "%llums", (unsigned long long)ms);
}
