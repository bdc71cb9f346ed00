/*
 * match.c - a rule's match (see match.h): the text parsed once, at load,
 * into masked address words and a port range, so that matching is a few
 * compares.
 *
 * Addresses are big-endian 64-bit words (an IPv4 address is the top 32
 * bits of w[0]); a network is its address with the bits beyond its
 * prefix clear plus the mask of its prefix.  The text is split and its
 * port read by the rules cbctl's DEST operands follow (text.h).
 */
#include "match.h"
#include "names.h"
#include "text.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

static const char *parse_ports(const char *s, struct cb_match *r);
static const char *parse_host_name(const char *host, struct cb_match *r);
static int parse_prefix(const char *s, int max, int *len);
static const char *parse_addr(char *host, int v6, struct cb_match *r,
			      char *why, size_t whylen);
static void prefix_mask(int plen, uint64_t m[2]);
static void addr_words(int family, const uint8_t *a, uint64_t w[2]);
static void words_addr(int family, const uint64_t w[2], uint8_t *a);

const char *
cb_match_parse(const char *s, struct cb_match *r, char *why, size_t whylen)
{
	static const char *const split_why[] = {
		[CB_SPLIT_NO_CLOSE] = "missing \"]\" after the IPv6 address",
		[CB_SPLIT_NO_PORT_AFTER_CLOSE] = "missing \":PORT\" after "
			"\"]\" (like \"[2001:db8::/32]:443\")",
		[CB_SPLIT_NO_PORT] = "missing \":PORT\" (like "
			"\"10.0.0.0/8:*\")",
		[CB_SPLIT_V6_UNBRACKETED] = "an IPv6 address goes in brackets "
			"(like \"[2001:db8::/32]:443\")",
	};
	char host[CB_MATCH_MAX + 1];
	struct cb_hostport hp;
	const char *e;

	if (strlen(s) > CB_MATCH_MAX)
		return "too long";
	if (cb_text_split(s, &hp) < 0)
		return split_why[hp.err];
	memcpy(host, hp.host, hp.hostlen);
	host[hp.hostlen] = '\0';
	if ((e = parse_ports(hp.port, r)) != NULL)
		return e;
	if (!hp.bracketed && strcmp(host, "*") == 0)
		return NULL;			/* family 0, mask 0: any */
	/* not only digits, dots and a prefix: a host name */
	if (!hp.bracketed && !strchr(host, '/') &&
	    host[strspn(host, "0123456789.")])
		return parse_host_name(host, r);
	return parse_addr(host, hp.bracketed, r, why, whylen);
}

/* "db.internal" or "*.svc.cluster.local" into r->host, normalised. */
static const char *
parse_host_name(const char *host, struct cb_match *r)
{
	int wild = strncmp(host, "*.", 2) == 0;

	if (strchr(host + 2 * wild, '*'))
		return "a \"*\" in a host name only as \"*.\" at its start "
		       "(like \"*.svc.cluster.local:*\")";
	if (wild)
		memcpy(r->host, "*.", 2);
	if (cb_name_normal(host + 2 * wild, r->host + 2 * wild) < 0)
		return "bad host name (labels of letters, digits, \"-\" or "
		       "\"_\" joined by dots, 63 bytes each, 253 in all)";
	return NULL;
}

/* "*", "443" or "8000-8099". */
static const char *
parse_ports(const char *s, struct cb_match *r)
{
	static const char bad[] = "bad port (1..65535, a range like "
				  "8000-8099, or *)";
	const char *dash = strchr(s, '-');

	if (strcmp(s, "*") == 0) {
		r->port_lo = 0;
		r->port_hi = 65535;
		return NULL;
	}
	if (dash == NULL) {
		if (cb_text_port(s, strlen(s), &r->port_lo) < 0)
			return bad;
		r->port_hi = r->port_lo;
		return NULL;
	}
	if (cb_text_port(s, (size_t)(dash - s), &r->port_lo) < 0 ||
	    cb_text_port(dash + 1, strlen(dash + 1), &r->port_hi) < 0)
		return bad;
	if (r->port_lo > r->port_hi)
		return "port range ends before it starts";
	return NULL;
}

/* 1..3 decimal digits, 0..max. */
static int
parse_prefix(const char *s, int max, int *len)
{
	int x = 0, i;

	for (i = 0; s[i] >= '0' && s[i] <= '9' && i < 3; i++)
		x = x * 10 + (s[i] - '0');
	if (i == 0 || s[i] != '\0' || x > max)
		return -1;
	*len = x;
	return 0;
}

/* "a.b.c.d[/len]" or (v6) "x:y::z[/len]" into r.  An address with bits
 * beyond its prefix is refused (it is usually a typo), naming the
 * network meant.  A v4-mapped IPv6 network becomes the IPv4 one, since
 * such destinations are IPv4 by the time they are matched. */
static const char *
parse_addr(char *host, int v6, struct cb_match *r, char *why, size_t whylen)
{
	int family = v6 ? AF_INET6 : AF_INET, max = v6 ? 128 : 32, plen = max;
	char *slash = strchr(host, '/'), net[INET6_ADDRSTRLEN];
	uint8_t a[16] = { 0 };
	uint64_t w[2], m[2];

	if (*host == '\0' || host == slash)
		return "missing address (\"*:PORT\" matches any)";
	if (slash) {
		*slash = '\0';
		if (parse_prefix(slash + 1, max, &plen) < 0)
			return v6 ? "bad prefix length (0..128)" :
				    "bad prefix length (0..32)";
	}
	if (inet_pton(family, host, a) != 1)
		return v6 ? "bad IPv6 address" : "bad IPv4 address";
	addr_words(family, a, w);
	prefix_mask(plen, m);
	if ((w[0] & ~m[0]) || (w[1] & ~m[1])) {
		w[0] &= m[0];
		w[1] &= m[1];
		words_addr(family, w, a);
		inet_ntop(family, a, net, sizeof(net));
		snprintf(why, whylen, "address has bits set beyond /%d (the "
			 "network is %s/%d)", plen, net, plen);
		return why;
	}
	if (v6 && plen >= 96 && IN6_IS_ADDR_V4MAPPED((struct in6_addr *)a)) {
		family = AF_INET;
		memmove(a, a + 12, 4);
		plen -= 96;
		addr_words(family, a, w);
		prefix_mask(plen, m);
	}
	r->family = family;
	r->net[0] = w[0];
	r->net[1] = w[1];
	r->mask[0] = m[0];
	r->mask[1] = m[1];
	return NULL;
}

/* The top plen bits of 128. */
static void
prefix_mask(int plen, uint64_t m[2])
{
	m[0] = plen <= 0 ? 0 : plen >= 64 ? ~0ull : ~0ull << (64 - plen);
	m[1] = plen <= 64 ? 0 : plen >= 128 ? ~0ull : ~0ull << (128 - plen);
}

/* Address bytes -> big-endian words; IPv4 fills the top of w[0]. */
static void
addr_words(int family, const uint8_t *a, uint64_t w[2])
{
	int i, n = family == AF_INET6 ? 16 : family == AF_INET ? 4 : 0;

	w[0] = w[1] = 0;
	for (i = 0; i < n; i++)
		w[i / 8] |= (uint64_t)a[i] << (56 - 8 * (i % 8));
}

void
cb_match_words(const struct cb_dest *d, uint64_t w[2])
{
	addr_words(d->family, d->addr, w);
}

static void
words_addr(int family, const uint64_t w[2], uint8_t *a)
{
	int i, n = family == AF_INET6 ? 16 : 4;

	for (i = 0; i < n; i++)
		a[i] = (uint8_t)(w[i / 8] >> (56 - 8 * (i % 8)));
}

int
cb_match_fits(const struct cb_match *r, const struct cb_dest *d,
	      const uint64_t w[2], const char *name)
{
	if (d->port < r->port_lo || d->port > r->port_hi)
		return 0;
	if (r->host[0])
		return name != NULL && cb_name_match(r->host, name);
	return (r->family == 0 || r->family == d->family) &&
	       (w[0] & r->mask[0]) == r->net[0] &&
	       (w[1] & r->mask[1]) == r->net[1];
}
