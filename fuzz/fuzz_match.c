/*
 * fuzz_match.c - libFuzzer target: the rule matcher against a reference.
 *
 * Input: 1 flag byte, 2 port bytes, 16 address bytes, then the "match"
 * string (up to a NUL).  The harness writes a one-rule config around the
 * string (escaping what needs it) and loads it.  An independent, slow,
 * bit-by-bit reference parses and matches the same string; the two must
 * agree on whether the string is valid and, when it is, on whether the
 * destination matches.  Flag bits steer the destination into the rule's
 * network and port range so that both outcomes are explored.  A host-name
 * rule ("db.internal:5432", "*.svc.local:*") is checked the same way, with
 * the destination reached through a name that flag bits make fit or not.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../shim/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct ref {
	int any;		/* "*" address */
	int named, wild;	/* a host-name rule, "*." */
	char host[260];		/* its name (without "*."), lower case */
	int family;
	uint8_t net[16];
	int plen;
	unsigned lo, hi;
};

static int memfd = -1;
static char path[64];

static int
ref_port(const char *s, size_t n, unsigned *v)
{
	char buf[8];
	size_t i;

	if (n < 1 || n > 5)
		return -1;
	for (i = 0; i < n; i++)
		if (!strchr("0123456789", s[i]) || s[i] == '\0')
			return -1;
	memcpy(buf, s, n);
	buf[n] = '\0';
	*v = (unsigned)strtoul(buf, NULL, 10);
	return *v >= 1 && *v <= 65535 ? 0 : -1;
}

static int
ref_ports(const char *s, struct ref *r)
{
	const char *dash;

	if (strcmp(s, "*") == 0) {
		r->lo = 0;
		r->hi = 65535;
		return 0;
	}
	if ((dash = strchr(s, '-')) == NULL) {
		if (ref_port(s, strlen(s), &r->lo) < 0)
			return -1;
		r->hi = r->lo;
		return 0;
	}
	if (ref_port(s, (size_t)(dash - s), &r->lo) < 0 ||
	    ref_port(dash + 1, strlen(dash + 1), &r->hi) < 0)
		return -1;
	return r->lo <= r->hi ? 0 : -1;
}

static int
bit(const uint8_t *a, int i)
{
	return (a[i / 8] >> (7 - i % 8)) & 1;
}

static int
ref_host(char *host, struct ref *r)
{
	char *slash = strchr(host, '/');
	int max = r->family == AF_INET6 ? 128 : 32, i;
	size_t n;

	r->plen = max;
	if (slash) {
		*slash = '\0';
		n = strlen(slash + 1);
		if (n < 1 || n > 3 || strspn(slash + 1, "0123456789") != n)
			return -1;
		r->plen = atoi(slash + 1);
		if (r->plen > max)
			return -1;
	}
	if (inet_pton(r->family, host, r->net) != 1)
		return -1;
	for (i = r->plen; i < max; i++)
		if (bit(r->net, i))
			return -1;
	if (r->family == AF_INET6 && r->plen >= 96 &&
	    memcmp(r->net, "\0\0\0\0\0\0\0\0\0\0\xff\xff", 12) == 0) {
		r->family = AF_INET;
		memmove(r->net, r->net + 12, 4);
		memset(r->net + 4, 0, 12);
		r->plen -= 96;
	}
	return 0;
}

/* A host name: optional "*." then labels of [A-Za-z0-9_-], 1..63 bytes,
 * 253 in all, one final dot allowed, not only digits. */
static int
ref_name(const char *host, struct ref *r)
{
	const char *h = host;
	size_t n, i, label = 0;
	int digits = 1;

	if (host[0] == '*' && host[1] == '.') {
		r->wild = 1;
		h += 2;
	}
	n = strlen(h);
	if (n > 0 && h[n - 1] == '.')
		n--;
	if (n < 1 || n > 253)
		return -1;
	for (i = 0; i < n; i++) {
		char ch = h[i];

		if (ch == '.') {
			if (label == 0)
				return -1;
			label = 0;
			r->host[i] = '.';
			continue;
		}
		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		      (ch >= '0' && ch <= '9') || ch == '-' || ch == '_'))
			return -1;
		if (++label > 63)
			return -1;
		digits &= ch >= '0' && ch <= '9';
		r->host[i] = (ch >= 'A' && ch <= 'Z') ? (char)(ch + 32) : ch;
	}
	if (label == 0 || digits)
		return -1;
	r->host[n] = '\0';
	r->named = 1;
	return 0;
}

static int
ref_parse(const char *m, struct ref *r)
{
	char buf[256], *rb, *colon;

	memset(r, 0, sizeof(*r));
	if (strlen(m) > 272)
		return -1;
	snprintf(buf, sizeof(buf), "%s", m);
	if (buf[0] == '[') {
		if ((rb = strchr(buf, ']')) == NULL || rb[1] != ':')
			return -1;
		*rb = '\0';
		if (ref_ports(rb + 2, r) < 0)
			return -1;
		r->family = AF_INET6;
		return ref_host(buf + 1, r);
	}
	if ((colon = strrchr(buf, ':')) == NULL)
		return -1;
	*colon = '\0';
	if (strchr(buf, ':') || ref_ports(colon + 1, r) < 0)
		return -1;
	if (strcmp(buf, "*") == 0) {
		r->any = 1;
		return 0;
	}
	if (!strchr(buf, '/') && buf[strspn(buf, "0123456789.")] != '\0')
		return ref_name(buf, r);
	r->family = AF_INET;
	return ref_host(buf, r);
}

static int
ref_match(const struct ref *r, const struct cb_dest *d, const char *name)
{
	size_t nl, hl;
	int i;

	if (d->port < r->lo || d->port > r->hi)
		return 0;
	if (r->named) {
		if (name == NULL)
			return 0;
		nl = strlen(name);
		hl = strlen(r->host);
		if (!r->wild)
			return strcasecmp(name, r->host) == 0;
		return nl > hl + 1 && name[nl - hl - 1] == '.' &&
		       strcasecmp(name + nl - hl, r->host) == 0;
	}
	if (r->any)
		return 1;
	if (d->family != r->family)
		return 0;
	for (i = 0; i < r->plen; i++)
		if (bit(d->addr, i) != bit(r->net, i))
			return 0;
	return 1;
}

static int
load(const char *match, struct cb_config **c)
{
	static const char hex[] = "0123456789abcdef";
	char text[1024], err[512];
	size_t o;
	const unsigned char *p;

	o = (size_t)snprintf(text, sizeof(text), "rules = ( { match = \"");
	for (p = (const unsigned char *)match; *p; p++) {
		if (*p == '"' || *p == '\\' || *p < 0x20 || *p > 0x7e) {
			text[o++] = '\\';
			text[o++] = 'x';
			text[o++] = hex[*p >> 4];
			text[o++] = hex[*p & 15];
		} else {
			text[o++] = (char)*p;
		}
	}
	o += (size_t)snprintf(text + o, sizeof(text) - o,
			      "\"; failure_threshold = 2; } );\n");
	if (memfd < 0) {
		if ((memfd = memfd_create("cbmatch", MFD_CLOEXEC)) < 0)
			abort();
		snprintf(path, sizeof(path), "/proc/self/fd/%d", memfd);
	}
	if (ftruncate(memfd, 0) < 0 || pwrite(memfd, text, o, 0) != (ssize_t)o)
		abort();
	return cb_config_load(c, path, err, sizeof(err));
}

/* Steer the destination into the reference rule (flag bits 1, 2, 3). */
static void
steer(struct cb_dest *d, const struct ref *r, uint8_t flag, uint16_t port)
{
	int i;

	if ((flag & 2) && !r->any) {
		d->family = r->family;		/* network bits: the rule's */
		for (i = 0; i < r->plen; i++)
			if (bit(d->addr, i) != bit(r->net, i))
				d->addr[i / 8] ^= (uint8_t)(0x80 >> (i % 8));
		if ((flag & 4) && r->plen > 0)		/* one bit out */
			d->addr[(r->plen - 1) / 8] ^=
				(uint8_t)(0x80 >> ((r->plen - 1) % 8));
	}
	if (flag & 8)
		d->port = (uint16_t)(r->lo + port % (r->hi - r->lo + 1));
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cb_config *c = NULL;
	struct cb_dest d;
	struct cb_policy p;
	struct ref r;
	char match[256], name[300];
	const char *dname = NULL;
	size_t n;
	int ok, rok, got, want;

	if (size < 19)
		return 0;
	n = size - 19 < sizeof(match) - 1 ? size - 19 : sizeof(match) - 1;
	memcpy(match, data + 19, n);
	match[n] = '\0';
	memset(&d, 0, sizeof(d));
	d.family = data[0] & 1 ? AF_INET6 : AF_INET;
	d.port = (uint16_t)(data[1] << 8 | data[2]);
	memcpy(d.addr, data + 3, 16);
	if (d.family == AF_INET)
		memset(d.addr + 4, 0, 12);

	ok = load(match, &c) == 0;
	rok = ref_parse(match, &r) == 0;
	if (ok != rok) {
		fprintf(stderr, "validity differs on \"%s\": cbshim %d, "
			"reference %d\n", match, ok, rok);
		abort();
	}
	if (ok) {
		steer(&d, &r, data[0], d.port);
		if (d.family == AF_INET)
			memset(d.addr + 4, 0, 12);
		/* flag 16: reached through a name; 32: the rule's own (a
		 * deeper one for "*."), in upper case with 64 */
		if (data[0] & 16) {
			if ((data[0] & 32) && r.named)
				snprintf(name, sizeof(name), "%s%s",
					 r.wild ? "x." : "", r.host);
			else
				snprintf(name, sizeof(name), "n%u.example",
					 data[1]);
			for (n = 0; (data[0] & 64) && name[n]; n++)
				if (name[n] >= 'a' && name[n] <= 'z')
					name[n] = (char)(name[n] - 32);
			dname = name;
		}
		cb_config_policy_named(c, &d, dname, &p);
		got = p.failure_threshold == 2;
		want = ref_match(&r, &d, dname);
		if (got != want) {
			fprintf(stderr, "match differs on \"%s\": cbshim %d, "
				"reference %d\n", match, got, want);
			abort();
		}
	}
	cb_config_free(c);
	return 0;
}
