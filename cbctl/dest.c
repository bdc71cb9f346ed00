/*
 * dest.c - DEST operands (see dest.h).
 *
 * The split is strict on purpose: the port is the text after the last
 * colon (after the ']' of a bracketed address) and must be 1..65535 in
 * decimal digits; an IPv6 address must be bracketed (so "::1:80" is an
 * error, not a guess); a host made only of digits and dots must be a
 * dotted quad (getaddrinfo would take "10.1" as 10.0.0.1, which nobody
 * means); anything else must look like a hostname (letters, digits, '-',
 * '.', '_') before the resolver is asked.  Messages quote the operand with
 * control and non-ASCII bytes shown as \xNN, so no input can put escape
 * sequences on the operator's terminal.  Every copy is bounded: any string
 * is safe to feed it.  Splitting, the port and the quoting follow the
 * rules the configuration's "match" follows (shim/text.h).
 */
#include "dest.h"
#include "../shim/text.h"

#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define HOST_MAX 253

struct why {
	char *buf;
	size_t len;
	char shown[128];	/* the operand, quoted (cb_text_quote) */
};

static int fail(struct why *w, int r, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int split(const char *s, char *host, size_t hostlen, int *bracketed,
		 uint16_t *port, struct why *w);
static int hostname_ok(const char *h);
static int all_digits_dots(const char *h);
static int literal(const char *host, int bracketed, uint16_t port,
		   struct cb_dest *d, const char **why);
static int scoped(const char *host, struct sockaddr_in6 *s6,
		  const char **why);
static int resolve(const char *host, uint16_t port, struct cb_dest *out,
		   size_t max, struct why *w);
static int seen(const struct cb_dest *out, size_t n, const struct cb_dest *d);

/* "bad destination "OPERAND": FMT" into the caller's buffer; returns r. */
static int
fail(struct why *w, int r, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (w->len == 0)
		return r;
	n = snprintf(w->buf, w->len, "bad destination %s: ", w->shown);
	if (n >= 0 && (size_t)n < w->len) {
		va_start(ap, fmt);
		vsnprintf(w->buf + n, w->len - (size_t)n, fmt, ap);
		va_end(ap);
	}
	return r;
}

/* "host:port" or "[host]:port" -> host (brackets removed) and port. */
static int
split(const char *s, char *host, size_t hostlen, int *bracketed,
      uint16_t *port, struct why *w)
{
	static const char *const why[] = {
		[CB_SPLIT_NO_CLOSE] = "no closing ']'",
		[CB_SPLIT_NO_PORT_AFTER_CLOSE] = "no port (want [IPv6]:PORT)",
		[CB_SPLIT_NO_PORT] = "no port (want HOST:PORT)",
		[CB_SPLIT_V6_UNBRACKETED] = "write an IPv6 address as "
					    "[addr]:port",
	};
	struct cb_hostport hp;

	if (cb_text_split(s, &hp) < 0)
		return fail(w, -EINVAL, "%s", why[hp.err]);
	*bracketed = hp.bracketed;
	if (hp.hostlen == 0)
		return fail(w, -EINVAL, "no address");
	if (hp.hostlen >= hostlen)
		return fail(w, -EINVAL, "address too long");
	memcpy(host, hp.host, hp.hostlen);
	host[hp.hostlen] = '\0';
	if (cb_text_port(hp.port, strlen(hp.port), port) < 0)
		return fail(w, -EINVAL, "bad port (want 1..65535)");
	return 0;
}

static int
all_digits_dots(const char *h)
{
	for (; *h; h++)
		if ((*h < '0' || *h > '9') && *h != '.')
			return 0;
	return 1;
}

/* Letters, digits, '-', '_' and '.', no empty label, no leading '-'. */
static int
hostname_ok(const char *h)
{
	int label = 0;

	if (*h == '\0' || strlen(h) > HOST_MAX)
		return 0;
	for (; *h; h++) {
		if (*h == '.') {
			if (label == 0)
				return 0;
			label = 0;
			continue;
		}
		if (!((*h >= 'a' && *h <= 'z') || (*h >= 'A' && *h <= 'Z') ||
		      (*h >= '0' && *h <= '9') || *h == '_' ||
		      (*h == '-' && label > 0)))
			return 0;
		if (++label > 63)
			return 0;
	}
	return 1;
}

/* A numeric address: 1 and *d if host is one, 0 if not (*why, for an
 * IPv6 address with a scope, says what is wrong with it, else NULL). */
static int
literal(const char *host, int bracketed, uint16_t port, struct cb_dest *d,
	const char **why)
{
	struct sockaddr_in s4;
	struct sockaddr_in6 s6;

	*why = NULL;
	if (!bracketed) {
		memset(&s4, 0, sizeof(s4));
		s4.sin_family = AF_INET;
		s4.sin_port = htons(port);
		if (inet_pton(AF_INET, host, &s4.sin_addr) != 1)
			return 0;
		return cb_dest_from_sockaddr(d, (struct sockaddr *)&s4,
					     sizeof(s4)) == 0;
	}
	memset(&s6, 0, sizeof(s6));
	s6.sin6_family = AF_INET6;
	s6.sin6_port = htons(port);
	if (strchr(host, '%') && scoped(host, &s6, why) < 0)
		return 0;
	if (!strchr(host, '%') && inet_pton(AF_INET6, host,
					    &s6.sin6_addr) != 1)
		return 0;
	return cb_dest_from_sockaddr(d, (struct sockaddr *)&s6,
				     sizeof(s6)) == 0;
}

/* "fe80::1%eth0" or "fe80::1%2" into s6: the scope is an interface name
 * that exists, or an index (taken as given: list shows the index of an
 * interface that is gone), and only on an address the kernel scopes.
 * 0, or -EINVAL and *why. */
static int
scoped(const char *host, struct sockaddr_in6 *s6, const char **why)
{
	const char *pct = strchr(host, '%'), *sc = pct + 1;
	char a[INET6_ADDRSTRLEN];
	unsigned long v;
	char *end;

	if (pct - host >= (ptrdiff_t)sizeof(a))
		return *why = "bad IPv6 address", -EINVAL;
	memcpy(a, host, (size_t)(pct - host));
	a[pct - host] = '\0';
	if (inet_pton(AF_INET6, a, &s6->sin6_addr) != 1)
		return *why = "bad IPv6 address", -EINVAL;
	if (!IN6_IS_ADDR_LINKLOCAL(&s6->sin6_addr) &&
	    !IN6_IS_ADDR_MC_LINKLOCAL(&s6->sin6_addr) &&
	    !IN6_IS_ADDR_MC_NODELOCAL(&s6->sin6_addr))
		return *why = "a scope (%IFACE) goes only on a link-local "
			      "address, like fe80::1", -EINVAL;
	if (*sc >= '0' && *sc <= '9') {
		errno = 0;
		v = strtoul(sc, &end, 10);
		if (*end || errno || v == 0 || v > UINT32_MAX)
			return *why = "bad interface index after %", -EINVAL;
		s6->sin6_scope_id = (uint32_t)v;
		return 0;
	}
	if (*sc == '\0')
		return *why = "no interface after %", -EINVAL;
	if (strlen(sc) >= IF_NAMESIZE ||
	    (s6->sin6_scope_id = if_nametoindex(sc)) == 0)
		return *why = "no such interface after %", -EINVAL;
	return 0;
}

static int
seen(const struct cb_dest *out, size_t n, const struct cb_dest *d)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (out[i].family == d->family && out[i].port == d->port &&
		    out[i].scope == d->scope &&
		    memcmp(out[i].addr, d->addr, sizeof(d->addr)) == 0)
			return 1;
	return 0;
}

static int
resolve(const char *host, uint16_t port, struct cb_dest *out, size_t max,
	struct why *w)
{
	struct addrinfo hints, *res, *ai;
	struct cb_dest d;
	size_t n = 0;
	int r;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	r = getaddrinfo(host, NULL, &hints, &res);
	if (r != 0)
		/* a resolver that failed for now is a runtime failure, a
		 * name that does not exist is the caller's mistake */
		return fail(w, r == EAI_AGAIN || r == EAI_MEMORY ||
			    r == EAI_SYSTEM ? -EAGAIN : -ENOENT,
			    "cannot resolve the host: %s", r == EAI_SYSTEM ?
			    strerror(errno) : gai_strerror(r));
	for (ai = res; ai; ai = ai->ai_next) {
		if (cb_dest_from_sockaddr(&d, ai->ai_addr, ai->ai_addrlen) < 0)
			continue;
		d.port = port;
		if (seen(out, n, &d))
			continue;
		if (n == max) {		/* never a silent cap */
			freeaddrinfo(res);
			return fail(w, -E2BIG, "more than %zu addresses", max);
		}
		out[n++] = d;
	}
	freeaddrinfo(res);
	if (n == 0)
		return fail(w, -ENOENT, "the host has no IPv4 or IPv6 address");
	return (int)n;
}

int
cb_dest_parse(const char *s, struct cb_dest *out, size_t max, int flags,
	      char *err, size_t errlen)
{
	struct why w = { err, errlen, "\"\"" };
	const char *why;
	char host[HOST_MAX + 2];
	uint16_t port = 0;
	int bracketed = 0, r;

	if (errlen > 0)
		err[0] = '\0';
	if (s == NULL || max == 0)
		return fail(&w, -EINVAL, "nothing to parse");
	cb_text_quote(w.shown, sizeof(w.shown), s);
	if ((r = split(s, host, sizeof(host), &bracketed, &port, &w)) < 0)
		return r;
	if (literal(host, bracketed, port, &out[0], &why))
		return 1;
	if (bracketed)
		return fail(&w, -EINVAL, "%s", why ? why : "bad IPv6 address");
	if (all_digits_dots(host))
		return fail(&w, -EINVAL, "bad IPv4 address (want a.b.c.d)");
	if (!hostname_ok(host))
		return fail(&w, -EINVAL, "bad host name");
	if (flags & CB_DEST_NUMERIC)
		return fail(&w, -EINVAL, "not a numeric address");
	return resolve(host, port, out, max, &w);
}

int
cb_dest_parse_all(const char *s, struct cb_dest **out, int flags, char *err,
		  size_t errlen)
{
	struct cb_dest *d = NULL, *nd;
	size_t max = 64;
	int r;

	for (;; max *= 4) {
		if (!(nd = realloc(d, max * sizeof(*d)))) {
			free(d);
			*out = NULL;
			snprintf(err, errlen, "%s", strerror(ENOMEM));
			return -EAGAIN;
		}
		d = nd;
		r = cb_dest_parse(s, d, max, flags, err, errlen);
		if (r != -E2BIG || max > 65536)
			break;
	}
	if (r < 0) {
		free(d);
		d = NULL;
	}
	*out = d;
	return r;
}
