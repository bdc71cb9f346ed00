/*
 * names.c - the per-process address -> host name map (see names.h).
 *
 * CB_NAMES_ENTRIES entries, open addressing: an address
 * lives in one of PROBE entries from its hash; a new address takes an
 * empty one or else evicts one of them (round robin), so the map keeps the
 * most recently resolved addresses and its memory never grows.  The
 * entries are mapped by the first record (about 300 KB, on the resolver
 * path): a static array would cost every process, even one that never
 * resolves a name, an extra mapping at load; published with release so a
 * reader that finds the pointer finds zeroed entries behind it.
 *
 * Memory orders: each entry is a sequence lock.  A writer (one at a time,
 * under wlock) makes seq odd with an acq_rel exchange (no field store
 * moves before it), stores the fields (relaxed atomics: readers may read
 * them at the same time), then makes seq even with a release store.  A
 * reader loads seq (acquire), the fields (with acquire, so that its
 * second load of seq comes after all of them), then seq again: equal
 * and even means none of the fields it read came from a write in
 * progress.  Every shared word is an atomic and there is no fence, so
 * ThreadSanitizer follows it all.
 *
 * wlock holds the pid of the process whose thread holds it.  A child
 * forked while a parent's thread held it finds another pid there and
 * takes it over (that thread does not exist in the child); a thread
 * never dies holding it (no cancellation point inside).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "names.h"

#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdatomic.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#define PROBE 8u
#define WORDS ((CB_NAME_MAX + 1 + 7) / 8)
#define LOCK_TRIES 256
#define READ_TRIES 4

struct entry {
	_Atomic uint32_t seq;		/* odd: being written */
	_Atomic uint32_t meta;		/* family << 16 | name length; 0 free */
	_Atomic uint64_t a[2];		/* the address, 16 bytes */
	_Atomic uint64_t w[WORDS];	/* the name, NUL-padded */
};

static struct entry *_Atomic map_p;	/* NULL until the first record */
_Atomic int cb_names_recorded;
_Atomic(_Atomic uint8_t *) cb_names_known;
static _Atomic(_Atomic uint8_t *) known_room;	/* cb_names_slots' */
static uint32_t known_slots;
static _Atomic pid_t wlock;
static _Atomic uint32_t victim;

static uint32_t addr_hash(int family, const uint64_t a[2]);
static int lock_writer(void);
static void publish_known(void);
static struct entry *map_entries(void);
static void write_entry(struct entry *e, uint32_t meta, const uint64_t a[2],
			const char *name, size_t len);
static size_t match_entry(struct entry *e, int family, const uint64_t a[2],
			  char *out);

/* ---- names --------------------------------------------------------- */

int
cb_name_normal(const char *s, char *out)
{
	size_t n = strlen(s), i, label = 0;
	int numeric = 1;

	if (n > 0 && s[n - 1] == '.')
		n--;
	if (n == 0 || n > CB_NAME_MAX)
		return -EINVAL;
	for (i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (ch == '.') {
			if (label == 0)
				return -EINVAL;
			label = 0;
		} else if (isalnum(ch) || ch == '-' || ch == '_') {
			if (++label > 63)
				return -EINVAL;
			numeric &= isdigit(ch) != 0;
		} else {
			return -EINVAL;
		}
		out[i] = (char)tolower(ch);
	}
	if (label == 0 || numeric)
		return -EINVAL;
	out[n] = '\0';
	return 0;
}

int
cb_name_match(const char *pattern, const char *name)
{
	size_t pl, nl = strlen(name);

	if (pattern[0] != '*')
		return strcasecmp(pattern, name) == 0;
	pattern++;				/* ".SUFFIX" */
	pl = strlen(pattern);
	return nl > pl && strcasecmp(name + nl - pl, pattern) == 0;
}

/* ---- the map ------------------------------------------------------- */

static uint32_t
addr_hash(int family, const uint64_t a[2])
{
	uint64_t h = (a[0] ^ (uint64_t)family) * 0x9e3779b97f4a7c15ull;

	h ^= a[1] + (h >> 29);
	h *= 0xbf58476d1ce4e5b9ull;
	return (uint32_t)(h >> 32);
}

static void
addr_words(int family, const void *p, uint64_t a[2])
{
	a[0] = a[1] = 0;
	memcpy(a, p, family == AF_INET6 ? 16 : 4);
}

/* 1 when this thread now holds wlock, 0 when it gave up. */
static int
lock_writer(void)
{
	pid_t me = getpid(), cur;
	int i;

	for (i = 0; i < LOCK_TRIES; i++) {
		cur = 0;
		/* acquire: this writer's loads and stores of entries come
		 * after the previous holder's, released by its unlock */
		if (atomic_compare_exchange_strong_explicit(&wlock, &cur, me,
		    memory_order_acquire, memory_order_relaxed))
			return 1;
		if (cur != me &&
		    atomic_compare_exchange_strong_explicit(&wlock, &cur, me,
		    memory_order_acquire, memory_order_relaxed))
			return 1;	/* left by a parent's thread */
		sched_yield();
	}
	return 0;
}

static void
write_entry(struct entry *e, uint32_t meta, const uint64_t a[2],
	    const char *name, size_t len)
{
	uint32_t s = atomic_load_explicit(&e->seq, memory_order_relaxed);
	uint64_t w;
	size_t i;

	s += s & 1;	/* odd: a fork's child inherited a write in progress */
	/* acquire (of the exchange): no field store below moves before it */
	atomic_exchange_explicit(&e->seq, s + 1, memory_order_acq_rel);
	atomic_store_explicit(&e->meta, meta, memory_order_relaxed);
	atomic_store_explicit(&e->a[0], a[0], memory_order_relaxed);
	atomic_store_explicit(&e->a[1], a[1], memory_order_relaxed);
	for (i = 0; i < WORDS; i++) {
		w = 0;
		if (i * 8 < len)
			memcpy(&w, name + i * 8, len - i * 8 < 8 ?
			       len - i * 8 : 8);
		atomic_store_explicit(&e->w[i], w, memory_order_relaxed);
	}
	atomic_store_explicit(&e->seq, s + 2, memory_order_release);
}

/* The entries, mapped on first use (under wlock); NULL if that fails. */
static struct entry *
map_entries(void)
{
	struct entry *m = atomic_load_explicit(&map_p, memory_order_relaxed);

	if (m != NULL)
		return m;
	m = mmap(NULL, CB_NAMES_ENTRIES * sizeof(*m), PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m == MAP_FAILED)
		return NULL;
	/* release: a reader that loads the pointer sees the zeroed pages */
	atomic_store_explicit(&map_p, m, memory_order_release);
	return m;
}

void
cb_names_record(int family, const void *p, const char *name)
{
	static const uint8_t mapped[12] = { [10] = 0xff, [11] = 0xff };
	char norm[CB_NAME_MAX + 1];
	uint64_t a[2];
	uint32_t h, i, m, meta, free_at = UINT32_MAX;
	struct entry *e, *map;

	if (name == NULL || cb_name_normal(name, norm) < 0)
		return;
	if (family == AF_INET6 && memcmp(p, mapped, 12) == 0) {
		family = AF_INET;
		p = (const uint8_t *)p + 12;
	}
	if (family != AF_INET && family != AF_INET6)
		return;
	addr_words(family, p, a);
	meta = (uint32_t)family << 16 | (uint32_t)strlen(norm);
	h = addr_hash(family, a);
	if (!lock_writer())
		return;
	if ((map = map_entries()) == NULL) {
		atomic_store_explicit(&wlock, 0, memory_order_release);
		return;
	}
	for (i = 0; i < PROBE; i++) {
		e = &map[(h + i) & (CB_NAMES_ENTRIES - 1)];
		m = atomic_load_explicit(&e->meta, memory_order_relaxed);
		if (m >> 16 == (uint32_t)family &&
		    atomic_load_explicit(&e->a[0], memory_order_relaxed) ==
		    a[0] && atomic_load_explicit(&e->a[1],
		    memory_order_relaxed) == a[1])
			break;
		if (m == 0 && free_at == UINT32_MAX)
			free_at = i;
	}
	if (i == PROBE)
		i = free_at != UINT32_MAX ? free_at :
		    atomic_fetch_add_explicit(&victim, 1,
		    memory_order_relaxed) % PROBE;
	write_entry(&map[(h + i) & (CB_NAMES_ENTRIES - 1)], meta, a, norm,
		    strlen(norm));
	atomic_store_explicit(&cb_names_recorded, 1, memory_order_relaxed);
	publish_known();
	/* release: the next writer sees every entry store above */
	atomic_store_explicit(&wlock, 0, memory_order_release);
}

/* The name e holds for address (family, a) into out: its length, or 0
 * when e holds another address (or stayed busy).  The name is copied only
 * on a match. */
static size_t
match_entry(struct entry *e, int family, const uint64_t a[2], char *out)
{
	uint32_t s1, s2, meta;
	uint64_t w;
	size_t i, len;
	int t;

	for (t = 0; t < READ_TRIES; t++) {
		s1 = atomic_load_explicit(&e->seq, memory_order_acquire);
		/* acquire, each field: the second look at seq cannot move
		 * before any of them */
		meta = atomic_load_explicit(&e->meta, memory_order_acquire);
		len = meta & 0xffff;
		if (meta >> 16 != (uint32_t)family || len == 0 ||
		    len > CB_NAME_MAX ||
		    atomic_load_explicit(&e->a[0], memory_order_acquire) !=
		    a[0] || atomic_load_explicit(&e->a[1],
		    memory_order_acquire) != a[1]) {
			if (!(s1 & 1))
				return 0;
			continue;	/* being written: look again */
		}
		for (i = 0; i * 8 < len; i++) {
			w = atomic_load_explicit(&e->w[i],
			    memory_order_acquire);
			memcpy(out + i * 8, &w, 8);
		}
		s2 = atomic_load_explicit(&e->seq, memory_order_relaxed);
		if (s1 == s2 && !(s1 & 1)) {
			out[len] = '\0';
			return len;
		}
	}
	return 0;
}

size_t
cb_names_lookup(const struct cb_dest *d, char *out)
{
	struct entry *map = atomic_load_explicit(&map_p, memory_order_acquire);
	char buf[WORDS * 8];
	uint64_t a[2];
	uint32_t h, i;
	size_t len;

	if (map == NULL || (d->family != AF_INET && d->family != AF_INET6))
		return 0;
	addr_words(d->family, d->addr, a);
	h = addr_hash(d->family, a);
	for (i = 0; i < PROBE; i++) {
		len = match_entry(&map[(h + i) & (CB_NAMES_ENTRIES - 1)],
				  d->family, a, buf);
		if (len > 0) {
			memcpy(out, buf, len + 1);
			return len;
		}
	}
	return 0;
}

/* ---- slots known to be named --------------------------------------- */

/* Once there are both names and room, the connect path may look: each
 * of the two events calls this after its own, so the later one publishes
 * (both may; they store the same pointer).  Release: a reader that loads
 * the pointer sees the zeroed pages behind it. */
static void
publish_known(void)
{
	_Atomic uint8_t *k = atomic_load_explicit(&known_room,
	    memory_order_acquire);

	if (k != NULL && atomic_load_explicit(&cb_names_recorded,
	    memory_order_relaxed))
		atomic_store_explicit(&cb_names_known, k,
		    memory_order_release);
}

int
cb_names_slots(uint32_t nslots)
{
	void *m = mmap(NULL, nslots, PROT_READ | PROT_WRITE, MAP_PRIVATE |
		       MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	if (m == MAP_FAILED)
		return -ENOMEM;
	known_slots = nslots;
	atomic_store_explicit(&known_room, m, memory_order_release);
	publish_known();
	return 0;
}

void
cb_names_slot_mark(uint32_t slot, uint64_t hash)
{
	_Atomic uint8_t *k = atomic_load_explicit(&cb_names_known,
	    memory_order_relaxed);

	if (k != NULL && slot < known_slots)
		atomic_store_explicit(&k[slot], cb_names_tag(hash),
		    memory_order_relaxed);
}

void
cb_names_clear(void)
{
	struct entry *map = atomic_load(&map_p);

	if (map)
		memset(map, 0, CB_NAMES_ENTRIES * sizeof(*map));
	atomic_store(&cb_names_recorded, 0);
	atomic_store(&cb_names_known, NULL);
	atomic_store(&wlock, 0);
}
