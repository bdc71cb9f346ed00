/*
 * match.h - which destinations a configuration rule is for: its "match"
 * text, "ADDR:PORTS", "CIDR:PORTS", "[V6]:PORTS", "[V6/len]:PORTS",
 * "*:PORTS", "NAME:PORTS" or "*.DOMAIN:PORTS", with PORTS "443",
 * "8000-8099" or "*".
 *
 * Parsing allocates nothing and happens at load (config.c); matching is
 * pure and allocation-free, called when a destination's breaker is made.
 */
#ifndef CB_MATCH_H
#define CB_MATCH_H

#include <stddef.h>
#include <stdint.h>

#include "names.h"
#include "table.h"

#define CB_MATCH_MAX 272		/* longest match text */

/* A parsed match.  family 0 (with mask 0) matches both families; a name
 * match (host non-empty: "db.internal" or "*.svc.cluster.local", lower
 * case) fits by the name a destination was reached through instead of its
 * address.  A v4-mapped IPv6 network is kept as the IPv4 one. */
struct cb_match {
	uint64_t net[2];
	uint64_t mask[2];
	char host[CB_NAME_MAX + 3];
	int family;
	uint16_t port_lo, port_hi;
};

/* cb_match_parse - the match text s into *m (zeroed by the caller).
 * NULL, or why not: a constant message or why (whylen bytes), without
 * the text itself (the caller quotes it).  An address with bits set
 * beyond its prefix is refused, naming the network meant. */
const char *cb_match_parse(const char *s, struct cb_match *m, char *why,
			   size_t whylen);

/* cb_match_words - d's address as the words matches compare; computed
 * once for a scan over many matches. */
void cb_match_words(const struct cb_dest *d, uint64_t w[2]);

/* cb_match_fits - 1 when m fits d (w: cb_match_words of d), reached
 * through host name name (normalised as cb_name_normal does; NULL when
 * none), else 0. */
int cb_match_fits(const struct cb_match *m, const struct cb_dest *d,
		  const uint64_t w[2], const char *name);

#endif
