/*
 * fuzz_dest.c - libFuzzer target: cbctl's DEST parser, cb_dest_parse()
 * (cbctl/dest.c), with CB_DEST_NUMERIC so it never asks the resolver.
 *
 * The input is the operand (everything up to the first NUL; the byte after
 * that, if any, picks the size of the error buffer and of the output
 * array, each allocated to the exact size so ASan sees any overrun).
 * Besides crashes and undefined behaviour it checks the parser's promises
 * against a reference written here from the contract in dest.h:
 *
 *   - it answers 1 or -EINVAL (numeric: no other outcome);
 *   - 1 exactly when the operand is "a.b.c.d:PORT", "[v6]:PORT" or
 *     "[v6%SCOPE]:PORT" with inet_pton accepting the address, SCOPE an
 *     interface name or index on a link-local address only, and PORT
 *     1..65535 in at most 5 plain decimal digits; the destination is that address,
 *     scope and port, a v4-mapped IPv6 address stored as IPv4;
 *   - cb_dest_format of the result parses back to the same destination;
 *   - an error is one line of printable ASCII, NUL-terminated within the
 *     buffer, whatever bytes the operand holds (no escape sequence can
 *     reach the operator's terminal).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "../../cbctl/dest.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The scope of "[v6%scope]": decimal 1..4294967295, or the index of an
 * interface by that name; 0 when neither. */
static uint32_t
ref_scope(const char *t)
{
	unsigned long long v = 0;
	const char *q;

	if (*t >= '0' && *t <= '9') {
		for (q = t; *q; q++) {
			if (*q < '0' || *q > '9' || (v = v * 10 +
			    (unsigned)(*q - '0')) > UINT32_MAX)
				return 0;
		}
		return (uint32_t)v;
	}
	return *t && strlen(t) < IF_NAMESIZE ? if_nametoindex(t) : 0;
}

/* The contract's reading of s: 1 and *d, or 0 (malformed). */
static int
reference(const char *s, struct cb_dest *d)
{
	const char *colon, *p;
	char host[300];
	struct sockaddr_in6 s6 = { .sin6_family = AF_INET6 };
	struct sockaddr_in s4 = { .sin_family = AF_INET };
	unsigned long port = 0;
	size_t n;

	if (s[0] == '[') {
		if (!(p = strchr(s, ']')) || p[1] != ':')
			return 0;
		colon = p + 1;
		n = (size_t)(p - s - 1);
		if (n >= sizeof(host))
			return 0;
		memcpy(host, s + 1, n);
	} else {
		if (!(colon = strrchr(s, ':')))
			return 0;
		n = (size_t)(colon - s);
		if (n >= sizeof(host))
			return 0;
		memcpy(host, s, n);
	}
	host[n] = '\0';
	if (!colon[1] || strlen(colon + 1) > 5)
		return 0;
	for (p = colon + 1; *p; p++) {
		if (*p < '0' || *p > '9')
			return 0;
		port = port * 10 + (unsigned long)(*p - '0');
		if (port > 65535)
			return 0;
	}
	if (port == 0)
		return 0;
	if (s[0] == '[') {
		if ((p = strchr(host, '%')) != NULL) {
			host[p - host] = '\0';
			if (!(s6.sin6_scope_id = ref_scope(p + 1)))
				return 0;
		}
		if (inet_pton(AF_INET6, host, &s6.sin6_addr) != 1)
			return 0;
		if (s6.sin6_scope_id &&
		    !IN6_IS_ADDR_LINKLOCAL(&s6.sin6_addr) &&
		    !IN6_IS_ADDR_MC_LINKLOCAL(&s6.sin6_addr) &&
		    !IN6_IS_ADDR_MC_NODELOCAL(&s6.sin6_addr))
			return 0;	/* a scope only where the kernel uses one */
		s6.sin6_port = htons((uint16_t)port);
		return cb_dest_from_sockaddr(d, (struct sockaddr *)&s6,
					     sizeof(s6)) == 0;
	}
	if (inet_pton(AF_INET, host, &s4.sin_addr) != 1)
		return 0;
	s4.sin_port = htons((uint16_t)port);
	return cb_dest_from_sockaddr(d, (struct sockaddr *)&s4,
				     sizeof(s4)) == 0;
}

static int
same(const struct cb_dest *a, const struct cb_dest *b)
{
	return a->family == b->family && a->port == b->port &&
	       a->scope == b->scope && memcmp(a->addr, b->addr, a->family == AF_INET ? 4 : 16) == 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t len = strnlen((const char *)data, size), errlen = 256, max = 1;
	struct cb_dest *out, ref, back;
	char *s, *err, again[80];
	int r, want, i;

	if (len < size) {		/* a byte after the NUL: sizes */
		errlen = data[len + 1 < size ? len + 1 : len] % 97;
		max = 1 + data[len] % 3;
	}
	s = malloc(len + 1);
	err = malloc(errlen ? errlen : 1);
	out = malloc(max * sizeof(*out));
	if (!s || !err || !out)
		abort();
	memcpy(s, data, len);
	s[len] = '\0';
	memset(out, 0, max * sizeof(*out));
	r = cb_dest_parse(s, out, max, CB_DEST_NUMERIC, err, errlen);
	want = reference(s, &ref);
	if (r != 1 && r != -EINVAL)
		abort();
	if ((r == 1) != (want == 1))
		abort();		/* parser and contract disagree */
	if (r == 1) {
		if (!same(&out[0], &ref))
			abort();
		cb_dest_format(&out[0], again, sizeof(again));
		if (cb_dest_parse(again, &back, 1, CB_DEST_NUMERIC, NULL,
				  0) != 1 || !same(&back, &out[0]))
			abort();	/* its own output does not parse */
		if (errlen > 0 && err[0] != '\0')
			abort();
	} else if (errlen > 0) {
		if (!memchr(err, '\0', errlen))
			abort();
		for (i = 0; err[i]; i++)
			if ((unsigned char)err[i] < 0x20 ||
			    (unsigned char)err[i] > 0x7e)
				abort();	/* raw bytes in the message */
		if (errlen > 40 && strncmp(err, "bad destination \"", 17) != 0)
			abort();
	}
	free(s);
	free(err);
	free(out);
	return 0;
}
