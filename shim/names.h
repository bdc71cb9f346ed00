/*
 * names.h - this process's map from address to the host name it was
 * resolved from (so that a breaker, still one per IP:port, can show the
 * name and configuration rules can match it), and the rules for names.
 *
 * The resolver wrappers (resolver.c) record every address getaddrinfo and
 * gethostbyname* hand back under the name the program asked for; the
 * connect path looks an address up only when it needs a name (a breaker
 * is being created, or has no name yet).  The map is fixed-size static
 * memory (CB_NAMES_ENTRIES entries, the most recent addresses win), so
 * recording never allocates and a lookup never takes a lock: each entry
 * is a sequence lock that readers retry, and writers (resolver path only)
 * serialise on a short try-lock that a fork or a killed thread cannot
 * wedge.
 */
#ifndef CB_NAMES_H
#define CB_NAMES_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "table.h"

#define CB_NAMES_ENTRIES 1024u		/* power of two */

/* cb_name_normal - copy the host name s into out (>= CB_NAME_MAX + 1) as
 * names are kept: lower case, no final dot.  0, or -EINVAL when s is not
 * a host name (empty, too long, an empty label or a label longer than 63,
 * bytes other than letters, digits, '-' and '_') or is a numeric address
 * (all digits and dots, or containing ':').  Pure. */
int cb_name_normal(const char *s, char *out);

/* cb_name_match - 1 if the (normalised) name fits pattern: equal, or, for
 * a pattern "*.SUFFIX", any name with one or more labels before SUFFIX.
 * Pattern and name compare without regard to case.  Pure. */
int cb_name_match(const char *pattern, const char *name);

/* cb_names_record - remember that address a (family AF_INET: 4 bytes,
 * AF_INET6: 16; a v4-mapped IPv6 address is recorded as IPv4) came from
 * host name name (normalised here; anything cb_name_normal refuses is
 * ignored).  A later record for the same address replaces it.  Never
 * blocks for long: gives up (records nothing) if other writers hold the
 * map too long.  Thread-safe; not async-signal-safe. */
void cb_names_record(int family, const void *a, const char *name);

/* cb_names_any - nonzero once anything was recorded: one relaxed load
 * (inline: the connect path asks it of every unnamed breaker), so a
 * process that never resolves a name pays nothing more. */
extern _Atomic int cb_names_recorded __attribute__((visibility("hidden")));
static inline int
cb_names_any(void)
{
	return atomic_load_explicit(&cb_names_recorded, memory_order_relaxed);
}

/* cb_names_lookup - the name recorded for d's address into out (>=
 * CB_NAME_MAX + 1): its length, or 0 when none.  Lock-free, no
 * allocation, async-signal-safe; never sees a half-written entry. */
size_t cb_names_lookup(const struct cb_dest *d, char *out);

/* Which slots of the segment this process knows to have a name, so that
 * the connect path of a named breaker reads one byte of process memory,
 * not the segment's cold names array.
 *
 * cb_names_slots - make room for nslots (once the segment is attached;
 * allocates).  0, or -ENOMEM: then breakers get names only when they are
 * created.  Not thread-safe.
 * cb_names_slot_unknown - nonzero when slot may still need a name: this
 * process has recorded names, has room, and has not seen slot named for
 * the destination whose key hash (struct cb_key) is hash.  Two loads
 * while nothing was resolved, three after.
 * cb_names_slot_mark - slot is named, for the destination of hash.  A
 * mark keeps a tag of hash (8 bits, never 0): a place that reclaim or
 * cbctl forget gives to another destination is not taken as named for
 * it (1 in 128 alike).  Both lock-free, signal-safe. */
int cb_names_slots(uint32_t nslots);
/* the room, published once names were recorded too (NULL before) */
extern _Atomic(_Atomic uint8_t *) cb_names_known
	__attribute__((visibility("hidden")));
static inline uint8_t
cb_names_tag(uint64_t hash)
{
	return (uint8_t)(hash >> 56) | 1;
}
static inline int
cb_names_slot_unknown(uint32_t slot, uint64_t hash)
{
	_Atomic uint8_t *k = atomic_load_explicit(&cb_names_known,
	    memory_order_relaxed);

	return k != NULL && __builtin_expect(atomic_load_explicit(&k[slot],
	    memory_order_relaxed) != cb_names_tag(hash), 0);
}
void cb_names_slot_mark(uint32_t slot, uint64_t hash);

/* cb_names_clear - forget everything (tests). Not thread-safe. */
void cb_names_clear(void);

#endif
