/*
 * dest.h - DEST operands of cbctl: "a.b.c.d:port", "[v6addr]:port" or
 * "hostname:port", into the struct cb_dest keys the table uses.
 *
 * Kept apart from the commands so that it can be unit-tested and fuzzed on
 * its own: cb_dest_parse() with CB_DEST_NUMERIC never touches the network
 * or any global state.
 */
#ifndef CBCTL_DEST_H
#define CBCTL_DEST_H

#include <stddef.h>

#include "../shim/table.h"

#define CB_DEST_NUMERIC 1	/* flag: refuse hostnames (no resolver) */

/* cb_dest_parse - parse DEST operand s into up to max destinations.
 * Returns how many (>= 1; a literal address gives 1, a hostname every
 * distinct address it resolves to, v4-mapped IPv6 stored as IPv4), or:
 *   -EINVAL  malformed: no port, port 0 or > 65535, bad address, garbage
 *            (a usage error);
 *   -ENOENT  the hostname does not resolve (a usage error);
 *   -EAGAIN  the resolver failed for now (a runtime failure);
 *   -E2BIG   the hostname has more than max distinct addresses.
 * On error err (if errlen > 0) gets a one-line reason without the
 * "cbctl: " prefix.  Thread-safe; resolving may block on DNS. */
int cb_dest_parse(const char *s, struct cb_dest *out, size_t max,
		  int flags, char *err, size_t errlen);

/* cb_dest_parse_all - cb_dest_parse into a malloc'd *out (free it) big
 * enough for every address of the name.  Same returns (-EAGAIN also when
 * out of memory). */
int cb_dest_parse_all(const char *s, struct cb_dest **out, int flags,
		      char *err, size_t errlen);

#endif
