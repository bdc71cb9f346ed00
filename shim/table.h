/*
 * table.h - the shared-memory segment: a header, an events ring and a hash
 * table of breakers keyed by destination (address family, address, port).
 *
 * Creation is race-free and kill-safe: the creator builds the whole segment
 * under a private temporary name in /dev/shm and publishes it with link(2),
 * which either makes a complete segment visible under the real name or fails
 * because someone else's already is.  Nobody ever sees a half-made segment.
 * Temporary names are random (getrandom), so nobody can take them first;
 * the creator holds a flock on its file, and a file left by one killed
 * halfway (unlocked, untouched for 10 s) is removed by the next creator.
 *
 * Slots are claimed without locks: a key is three 64-bit words, each written
 * by compare-and-swap from zero, and anybody who finds a slot partly written
 * with its own key's words finishes the job.  So the same key inserted by
 * many threads and processes at once lands in exactly one slot, and a
 * process killed halfway through an insert leaves nothing anybody waits on.
 */
#ifndef CB_TABLE_H
#define CB_TABLE_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "breaker.h"
#include "segment.h"	/* CB_LAYOUT_VERSION, CB_MAX_CAPACITY, CB_NAME_MAX */

#define CB_DEFAULT_CAPACITY 4096u
#define CB_DEFAULT_RECLAIM_AFTER_MS 600000u	/* shm.reclaim_after: 10m */

/* A destination.  addr holds 4 bytes (AF_INET) or 16 (AF_INET6); a
 * v4-mapped IPv6 address is always stored as AF_INET. port: host order.
 * scope: the interface index of a link-local IPv6 address (fe80::1%lo),
 * else 0 (the kernel ignores it for other addresses). */
struct cb_dest {
	int family;
	uint16_t port;
	uint8_t addr[16];
	uint32_t scope;
};

/* One transition, as the events ring keeps it. */
struct cb_event {
	uint64_t seq;		/* position in the ring's history, from 1 */
	uint64_t time_ms;	/* CLOCK_MONOTONIC ms */
	uint32_t slot;
	uint32_t pid;
	uint8_t from, to, why;
	struct cb_dest dest;
};

struct cb_table;			/* opaque, per process */

/* Options for attaching. */
struct cb_table_opts {
	int create;		/* create the segment if it does not exist */
	int readonly;		/* map read-only (inspection) */
	unsigned mode;		/* permission bits when creating, e.g. 0600 */
	uint32_t capacity;	/* max_breakers when creating */
};

/* cb_table_default_name - "/cbshim-UID" for the real user id into buf. */
void cb_table_default_name(char *buf, size_t len);

/* cb_table_valid_name - 1 when name is a segment name this project accepts:
 * "/name", 2..199 characters, no other '/', not "/." or "/..".  The one
 * rule for the shim, the config file and every cbctl command. */
int cb_table_valid_name(const char *name);

/* cb_table_attach - map segment name (a "/name" POSIX shm name).
 * Returns 0 and *tp, or -errno with a reason in why (NUL-terminated):
 * -ENOENT no such segment (and !create), -EACCES permission, -EPROTO a
 * segment of another layout version, -EBADMSG garbage / truncated / wrong
 * size, -EINVAL bad name or options, -EPERM writable by others, or owned by
 * somebody untrusted: a segment is used only when its owner is the
 * effective uid, root, or the owner of cb_table_attach_owner; the default name
 * (cb_table_default_name) only when it is the real uid's.  Thread-safe; allocates (call it off the hot path). */
int cb_table_attach(struct cb_table **tp, const char *name,
		    const struct cb_table_opts *o, char *why, size_t whylen);

/* cb_table_attach_owner - cb_table_attach that also trusts segments owned
 * by uid owner (shm.owner; -1: nobody more). */
int cb_table_attach_owner(struct cb_table **tp, const char *name,
			  const struct cb_table_opts *o, long owner,
			  char *why, size_t whylen);

/* cb_table_detach - unmap and free t. */
void cb_table_detach(struct cb_table *t);

/* cb_table_removable - 1 when the caller could remove the object at name
 * (it exists; the caller owns it or is root), else 0.  For hints. */
int cb_table_removable(const char *name);

/* cb_table_clean_temp - remove the temporary files of creators that died
 * before publishing or unlinking them (unlocked, untouched for 10 s) and
 * that the caller may remove.  Count removed, or -errno.  Creating a
 * segment calls it first; so does cbctl destroy. */
int cb_table_clean_temp(void);

/* cb_table_destroy - shm_unlink name; 0 or -errno. */
int cb_table_destroy(const char *name);

/* cb_table_find - the breaker of d: 0 and its handle in *bp (valid while
 * t is attached), or -ENOENT.  O(1) expected,
 * lock-free, async-signal-safe, no allocation.  *slotp (if not NULL) gets
 * the slot index. */
int cb_table_find(struct cb_table *t, const struct cb_dest *d,
		  struct cb_breaker *bp, uint32_t *slotp);

/* A destination's key as the table stores it, with its hash. */
struct cb_key {
	uint64_t w[3];
	uint64_t hash;
};

/* cb_table_key - compute d's key and start loading the cache line where
 * its breaker would be, so that the miss overlaps the caller's other work
 * before cb_table_find_key.  Changes nothing; async-signal-safe. */
void cb_table_key(struct cb_table *t, const struct cb_dest *d,
		  struct cb_key *k) CB_HOT;

/* cb_table_find_key - cb_table_find with a key from cb_table_key. */
int cb_table_find_key(struct cb_table *t, const struct cb_key *k,
		      struct cb_breaker *bp, uint32_t *slotp) CB_HOT;

/* cb_table_insert - find d's breaker or create it with policy p.  0 and
 * *bp, -ENOSPC when the table is full (nothing counted; see
 * cb_table_count_unprotected), -EROFS on a read-only mapping.  Same
 * properties as cb_table_find. */
int cb_table_insert(struct cb_table *t, const struct cb_dest *d,
		    const struct cb_policy *p, struct cb_breaker *bp,
		    uint32_t *slotp);

/* Reclaim: when a new destination finds no place, cb_table_insert
 * takes the place of a closed breaker that has seen no attempt for
 * reclaim_after ms (see cb_table_set_reclaim; open, half-open and held ones never give theirs up).
 * Idleness is judged from the breakers' attempt counters, stamped by
 * searchers (table.c), so the connect path pays nothing for it.  After a
 * reclaim cb_breaker_admit says -EAGAIN to whoever still holds the old
 * breaker, and outcomes admitted before are dropped. */

/* cb_table_forget - remove d's breaker by hand (cbctl forget): 0, -ENOENT
 * (no such breaker), -EBUSY (not closed: open, half-open or held),
 * -EROFS. */
int cb_table_forget(struct cb_table *t, const struct cb_dest *d);

/* cb_table_reclaim - reclaim one idle breaker's place now: 0 or -ENOSPC
 * (none idle; the search stamps the breakers it passes).  For tests;
 * cb_table_insert calls it when the table is full. */
int cb_table_reclaim(struct cb_table *t);

/* cb_table_holds_key - 1 if breaker b's place (from cb_table_find_key or
 * cb_table_insert) still holds key k: a decision made on it after finding
 * it was made on k's (check after admitting).  Inline for the connect
 * path: a slot keeps its key on its decision line, right before ctl
 * (table.c asserts it).  Read after the admission's acquire load of ctl:
 * a rebirth wrote the new key before its ctl. */
static inline int
cb_table_holds_key(const struct cb_breaker *b, const struct cb_key *k)
{
	const _Atomic uint64_t *w = b->hot->key;

	return atomic_load_explicit(&w[0], memory_order_acquire) == k->w[0] &&
	       atomic_load_explicit(&w[1], memory_order_acquire) == k->w[1] &&
	       atomic_load_explicit(&w[2], memory_order_acquire) == k->w[2];
}

/* cb_table_life - the incarnation of slot's breaker while it is still
 * d's: 0 and *life (for cb_breaker_trip_life / reset_life), or -ESTALE. */
int cb_table_life(struct cb_table *t, uint32_t slot, const struct cb_dest *d,
		  uint32_t *life);

/* cb_table_set_reclaim - reclaim after reclaim_after_ms without an
 * attempt (shm.reclaim_after; 0, as after attaching: never), judged by the
 * clock now (NULL: cb_now_ms; tests pass a fake one).  From then on the
 * table's breakers also read that clock where a call repairs another's
 * start time (struct cb_breaker's clock; before: the caller's now), so
 * callers must pass now values of that clock.  Not thread-safe: call it
 * right after attaching. */
void cb_table_set_reclaim(struct cb_table *t, uint32_t reclaim_after_ms,
			  uint64_t (*now)(void));

/* cb_table_reclaimed - places reclaimed so far (header counter; cbctl
 * forget is not counted). */
uint64_t cb_table_reclaimed(const struct cb_table *t);

/* cb_table_count_unprotected - one attempt went unprotected (table full). */
void cb_table_count_unprotected(struct cb_table *t);

/* Header facts. */
uint32_t cb_table_capacity(const struct cb_table *t);	/* max_breakers */
uint32_t cb_table_slots(const struct cb_table *t);	/* array size */
uint32_t cb_table_used(struct cb_table *t);	/* breakers: a scan */
uint64_t cb_table_unprotected(const struct cb_table *t);
size_t cb_table_size(const struct cb_table *t);		/* bytes */

/* cb_table_size_for - the bytes of a segment made for max_breakers
 * capacity (1..CB_MAX_CAPACITY; else 0), without making one.  Per place:
 * a 64-byte decision line, a 320-byte cold part and a name entry for
 * each of the 2 to 4 slots a place has (slots: a power of two at least
 * twice capacity), plus the header and the events ring. */
size_t cb_table_size_for(uint32_t capacity);
const char *cb_table_name(const struct cb_table *t);

/* cb_table_slot - slot i (0 <= i < cb_table_slots): 0 and its breaker and
 * destination if it holds a ready breaker, else -ENOENT. */
int cb_table_slot(struct cb_table *t, uint32_t i, struct cb_breaker *bp,
		  struct cb_dest *d) CB_HOT;

/* cb_table_set_name - give slot's breaker, d's (NULL: whoever's), the
 * host name name (at most CB_NAME_MAX bytes, normalised by the caller)
 * unless it has one: the first name wins.  0 when this call stored it,
 * -EEXIST when the slot already had a name (or is being named right now),
 * -ESTALE when the slot no longer holds d's breaker (reclaimed or
 * forgotten since it was found: never d's name on another destination),
 * -EROFS, -EINVAL (bad slot, or not lower-case letters, digits, '-', '_'
 * and '.').
 * Lock-free: the bytes are written under a claim, then published with
 * their length and checksum by one release CAS; a claimer killed midway
 * leaves a claim that another process takes over after a few seconds (of
 * its own clock: a claim stamped by a clock ahead of it is stamped again).
 * Async-signal-safe, no allocation.  now: cb_now_ms(). */
int cb_table_set_name(struct cb_table *t, uint32_t slot,
		      const struct cb_dest *d, const char *name, uint64_t now);

/* cb_table_get_name - slot's name into out (>= CB_NAME_MAX + 1): its
 * length, or 0 when it has none (yet).  Never a torn name: the copy is
 * checked against the published checksum.  Read-only; thread-safe. */
size_t cb_table_get_name(struct cb_table *t, uint32_t slot, char *out);

/* cb_table_has_name - nonzero when slot has a name cb_table_get_name
 * shows (a garbled one is none: the next namer replaces it).  Reads the
 * cold names entry, so the connect path asks the process's own record
 * first (cb_names_slot_unknown). */
int cb_table_has_name(struct cb_table *t, uint32_t slot);

/* cb_table_event - append a transition of slot's breaker to the ring.
 * Lock-free; a writer killed halfway leaves one entry readers skip. */
void cb_table_event(struct cb_table *t, uint32_t slot,
		    const struct cb_transition *tr, uint64_t now, pid_t pid);

/* cb_table_events - copy up to max events with seq > after, oldest first,
 * into ev.  Returns how many. */
size_t cb_table_events(struct cb_table *t, uint64_t after,
		       struct cb_event *ev, size_t max);

/* cb_now_ms - CLOCK_MONOTONIC in ms (vDSO: no system call). */
uint64_t cb_now_ms(void);

/* cb_dest_from_sockaddr - fill d from sa; v4-mapped becomes AF_INET.
 * 0, or -EAFNOSUPPORT for other families / short lengths. */
struct sockaddr;
int cb_dest_from_sockaddr(struct cb_dest *d, const struct sockaddr *sa,
			  size_t len) CB_HOT;

/* cb_dest_format - "a.b.c.d:port", "[v6]:port" or "[v6%ifname]:port"
 * (the index when no interface has it) into buf (>= 64). */
void cb_dest_format(const struct cb_dest *d, char *buf, size_t len);

#endif
