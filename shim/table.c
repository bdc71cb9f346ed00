/*
 * table.c - the shared-memory segment (see table.h for the protocol).
 *
 * Layout (segment.h): the header, the events ring, then one entry per slot
 * in each of three arrays: the decision lines (struct cb_hot: the key and
 * every word a decision on an open or closed breaker reads, 64 bytes, one
 * line), the cold parts (the breaker's other words, the claim and reclaim
 * words) and the names.  A lookup walks the dense decision lines only; a
 * slot's cold part is entry i of its array (slot_brk()).  There are a
 * power of two slots, at least twice max_breakers, so open addressing with
 * linear probing stays short even when the table is "full" (used ==
 * max_breakers).
 *
 * Memory orders: key words and the policy-ready word are published with
 * release CAS/stores and read with acquire loads, so whoever sees a ready
 * slot sees its key and policy.  Header counters are relaxed (exact, order
 * nothing).
 *
 * Event entries: a writer owns entry n (n % CB_EVENTS) by a CAS of its seq
 * word to WRITING | n+1 (only forward: a writer lapped before it starts
 * writes nothing), stores the three fields each tagged with low bits of
 * n+1, and seals the entry by a CAS from WRITING | n+1 to n+1, which fails
 * if a later writer took the entry meanwhile.  A reader accepts an entry
 * only if seq is n+1, unchanged across the copy, and every field carries
 * n+1's tag: a stalled writer's late stores carry its own tag, so an entry
 * mixed from two writers is skipped, never shown (a mixture could pass only
 * if the stall lasted a multiple of 2^21 events).
 *
 * A name entry's word goes 0 -> CLAIM|stamp (CAS) -> READY|checksum|length
 * (release CAS) after the bytes are stored; readers load it with acquire
 * and check the checksum of what they copied, so a claim taken over from a
 * stalled writer that later wakes up can garble the bytes but never show
 * them; a garbled name counts as none, and the next namer replaces it.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "table.h"
#include "crashpoint.h"
#include "segment.h"
#include "words.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stddef.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define SHM_DIR "/dev/shm"
#define TMP_PREFIX ".cbshim-new-"
#define TMP_STALE_S 10		/* an unlocked temporary this old is leaked */
#define KEY_MARK (1ull << 63)
#define READY_BIT CB_MASK(POL_READY)
#define NAME_READY (1ull << 63)
#define NAME_CLAIM (1ull << 62)
#define NAME_STAMP ((1ull << 48) - 1)
#define NAME_TAKEOVER_MS 5000u		/* a claim older than this is dead */
#define NAME_WORDS CB_NAME_WORDS

#define RING_WRITING (1ull << 63)
#define TAG_TIME(s) (((s) & 0xffffffull) << 40)
#define TAG_SP(s) (((s) & 0x1fffffull) << 43)
#define TAG_WHAT(s) (((s) & 0xffffffffffull) << 24)
/* the fields of a ring entry's words below their tags (segment.h) */
#define EV_TIME 0, 40			/* time_ms: ms */
#define SP_SLOT 0, CB_SLOT_BITS		/* slot_pid: the slot index */
#define SP_PID CB_SLOT_BITS, 22		/* the pid's low 22 bits */
#define W_FROM 0, 8			/* what: the transition */
#define W_TO 8, 8
#define W_WHY 16, 8
_Static_assert(CB_END(SP_PID) == 43 && CB_END(W_WHY) == 24,
	       "every field of an event below its tag");
/* a name entry's ready word: READY | checksum | length */
#define NAME_LEN 0, 16
#define NAME_SUM 16, 32
_Static_assert(CB_NAME_MAX <= CB_GET(~0ull, NAME_LEN) &&
	       CB_END(NAME_SUM) < 62, "length and checksum below the flags");

/* the decision line: the key, then the breaker's hot words, and nothing
 * a decision does not read */
_Static_assert(offsetof(struct cb_hot, key) == 0 &&
	       offsetof(struct cb_hot, ctl) == sizeof(uint64_t[3]),
	       "the key right before ctl, on the decision line");
_Static_assert(offsetof(struct cb_hot, rejected) + 8 <= 64 &&
	       _Alignof(struct cb_hot) == 64,
	       "a decision reads one aligned cache line");

struct cb_table {
	struct cb_shm_header *h;
	uint64_t (*now)(void);		/* the clock (tests: a fake one) */
	uint64_t (*clock)(void);	/* the breakers' (struct cb_breaker):
					 * NULL until cb_table_set_reclaim */
	uint32_t reclaim_after;		/* ms; 0: never reclaim */
	struct cb_ring_entry *ring;
	struct cb_hot *hot;		/* the decision lines */
	struct cb_slot_cold *cold;	/* the rest of each slot */
	struct cb_name_entry *names;
	size_t size;
	uint32_t mask;
	int readonly;
	char name[256];
};

static int create_segment(const char *name, const struct cb_table_opts *o,
			  char *why, size_t whylen);
struct geometry;
static int validate(const struct cb_shm_header *h, size_t fsize,
		    struct geometry *g, char *why, size_t whylen);
static void key_encode(const struct cb_dest *d, uint64_t k[3]);
static void key_decode(const uint64_t k[3], struct cb_dest *d);
static uint64_t key_hash(const uint64_t k[3]);
static void slot_init(struct cb_table *t, uint32_t i, const uint64_t k[3],
		      const struct cb_policy *p, uint64_t ev_head);

/* Where the parts of a segment lie (segment.h). */
struct geometry {
	uint32_t slots;
	uint64_t ring_off, hot_off, cold_off, names_off, size;
};

/* ---- names and layout -------------------------------------------- */

void
cb_table_default_name(char *buf, size_t len)
{
	snprintf(buf, len, "/cbshim-%u", (unsigned)getuid());
}

int
cb_table_valid_name(const char *name)
{
	size_t n = strlen(name);

	return n >= 2 && n < 200 && name[0] == '/' &&
	       strchr(name + 1, '/') == NULL && strcmp(name, "/.") != 0 &&
	       strcmp(name, "/..") != 0;
}

#define LINE_UP(x) (((x) + 63) & ~63ull)

/* The geometry of a segment for capacity places: slots a power of two at
 * least twice capacity (linear probing stays short at load 1/2). */
static void
layout(uint32_t capacity, struct geometry *g)
{
	uint32_t n = 64;

	while (n < 2 * capacity)
		n <<= 1;
	g->slots = n;
	g->ring_off = LINE_UP(sizeof(struct cb_shm_header));
	g->hot_off = g->ring_off + (uint64_t)CB_EVENTS *
		     sizeof(struct cb_ring_entry);
	g->cold_off = g->hot_off + (uint64_t)n * sizeof(struct cb_hot);
	g->names_off = g->cold_off + (uint64_t)n * sizeof(struct cb_slot_cold);
	g->size = g->names_off + LINE_UP((uint64_t)n *
		  sizeof(struct cb_name_entry));
}

size_t
cb_table_size_for(uint32_t capacity)
{
	struct geometry g;

	if (capacity < 1 || capacity > CB_MAX_CAPACITY)
		return 0;
	layout(capacity, &g);
	return (size_t)g.size;
}

uint64_t
cb_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* ---- creation ----------------------------------------------------- */

/* Is the temporary file at dirfd/n leaked: unlocked (its creator holds a
 * flock while it lives) and untouched for TMP_STALE_S seconds (a creator
 * between open and flock is a few instructions young)? */
static int
tmp_leaked(int dirfd, const char *n, time_t now)
{
	struct stat st;
	int fd, leaked;

	fd = openat(dirfd, n, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	if (fd < 0)
		return 0;
	leaked = fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
		 st.st_mtime + TMP_STALE_S < now &&
		 flock(fd, LOCK_EX | LOCK_NB) == 0;
	close(fd);		/* drops the lock we may have taken */
	return leaked;
}

int
cb_table_clean_temp(void)
{
	struct dirent *e;
	struct timespec ts;
	DIR *d;
	int n = 0;

	if (!(d = opendir(SHM_DIR)))
		return -errno;
	clock_gettime(CLOCK_REALTIME, &ts);
	while ((e = readdir(d)) != NULL) {
		/* the sticky /dev/shm lets only the owner (or root) unlink */
		if (strncmp(e->d_name, TMP_PREFIX, strlen(TMP_PREFIX)) == 0 &&
		    tmp_leaked(dirfd(d), e->d_name, ts.tv_sec) &&
		    unlinkat(dirfd(d), e->d_name, 0) == 0)
			n++;
	}
	closedir(d);
	return n;
}

/* Open a new temporary file under a name nobody can guess (getrandom: the
 * program's random() state stays untouched), locked while we live so that
 * cb_table_clean_temp leaves it alone.  fd or -errno. */
static int
tmp_open(char *tmp, size_t len)
{
	uint64_t rnd;
	int fd, tries;

	for (tries = 0; tries < 4; tries++) {
		if (getrandom(&rnd, sizeof(rnd), GRND_NONBLOCK) != sizeof(rnd))
			rnd ^= (uint64_t)getpid() << 32 ^ cb_now_ms() ^
			       (uintptr_t)&rnd;
		snprintf(tmp, len, SHM_DIR "/" TMP_PREFIX "%016llx",
			 (unsigned long long)rnd);
		fd = open(tmp, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC |
			  O_NOFOLLOW, 0600);
		if (fd >= 0) {
			flock(fd, LOCK_EX | LOCK_NB);
			return fd;
		}
		if (errno != EEXIST)
			break;
	}
	return -errno;
}

/* Fill in a new segment's header, magic last. */
static void
header_init(struct cb_shm_header *h, uint32_t capacity,
	    const struct geometry *g)
{
	h->version = CB_LAYOUT_VERSION;
	h->header_size = sizeof(*h);
	h->event_size = sizeof(struct cb_ring_entry);
	h->events = CB_EVENTS;
	h->hot_size = sizeof(struct cb_hot);
	h->cold_size = sizeof(struct cb_slot_cold);
	h->name_size = sizeof(struct cb_name_entry);
	h->slots = g->slots;
	h->capacity = capacity;
	h->total_size = g->size;
	h->ring_off = g->ring_off;
	h->hot_off = g->hot_off;
	h->cold_off = g->cold_off;
	h->names_off = g->names_off;
	h->created_ms = cb_now_ms();
	/* release: whoever sees the magic sees the header */
	atomic_store_explicit(&h->magic, CB_SHM_MAGIC, memory_order_release);
}

/* Build a complete segment under a temporary name, then link it into
 * place.  0 on success or when another process won (EEXIST), else -errno.
 * Temporaries leaked by creators killed before they unlinked theirs are
 * removed first. */
static int
create_segment(const char *name, const struct cb_table_opts *o, char *why,
	       size_t whylen)
{
	char tmp[300], path[300];
	struct cb_shm_header *h;
	struct geometry g;
	size_t size;
	int fd, r = 0;

	if (o->capacity < 1 || o->capacity > CB_MAX_CAPACITY)
		return snprintf(why, whylen, "max_breakers %u out of range "
				"1..%u", o->capacity, CB_MAX_CAPACITY), -EINVAL;
	layout(o->capacity, &g);
	size = g.size;
	snprintf(path, sizeof(path), SHM_DIR "%s", name);
	cb_table_clean_temp();
	if ((fd = tmp_open(tmp, sizeof(tmp))) < 0)
		return snprintf(why, whylen, "cannot create %s: %s", tmp,
				strerror(-fd)), fd;
	/* allocate every page now: on a full tmpfs, ftruncate alone succeeds
	 * and the first touch of a page is a SIGBUS in whoever touches it */
	if (fchmod(fd, o->mode & 0777) < 0 || ftruncate(fd, (off_t)size) < 0)
		goto fail;
	if ((errno = posix_fallocate(fd, 0, (off_t)size)) != 0)
		goto fail;
	h = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (h == MAP_FAILED)
		goto fail;
	header_init(h, o->capacity, &g);
	munmap(h, size);
	if (link(tmp, path) < 0 && errno != EEXIST)
		goto fail;
	unlink(tmp);
	close(fd);
	return 0;
fail:
	r = -errno;
	snprintf(why, whylen, "cannot create segment %s: %s", name,
		 strerror(errno));
	unlink(tmp);
	close(fd);
	return r;
}

/* ---- attaching ----------------------------------------------------- */

/* Check the header of a segment of fsize bytes: 0 and its geometry in
 * *g (from the capacity, read once: a segment is used by g, never by
 * offsets read again from the header, which a writer may change after
 * this check), or -errno with why. */
static int
validate(const struct cb_shm_header *h, size_t fsize, struct geometry *g,
	 char *why, size_t whylen)
{
	uint64_t magic = atomic_load_explicit(&h->magic, memory_order_acquire);
	uint32_t cap;

	if (magic != CB_SHM_MAGIC)
		return snprintf(why, whylen, "not a cbshim segment (bad magic)"),
		       -EBADMSG;
	if (h->version != CB_LAYOUT_VERSION)
		return snprintf(why, whylen, "layout version %u, this build "
				"uses %u", h->version, CB_LAYOUT_VERSION),
		       -EPROTO;
	if (h->header_size != sizeof(*h) ||
	    h->event_size != sizeof(struct cb_ring_entry) ||
	    h->events != CB_EVENTS || h->hot_size != sizeof(struct cb_hot) ||
	    h->cold_size != sizeof(struct cb_slot_cold) ||
	    h->name_size != sizeof(struct cb_name_entry))
		return snprintf(why, whylen, "layout differs from this build"),
		       -EPROTO;
	/* read once (volatile): a writer may change it meanwhile */
	cap = *(const volatile uint32_t *)&h->capacity;
	if (cap < 1 || cap > CB_MAX_CAPACITY)
		return snprintf(why, whylen, "corrupt header"), -EBADMSG;
	layout(cap, g);
	if (h->total_size != g->size || h->slots != g->slots ||
	    h->ring_off != g->ring_off || h->hot_off != g->hot_off ||
	    h->cold_off != g->cold_off || h->names_off != g->names_off)
		return snprintf(why, whylen, "corrupt header"), -EBADMSG;
	if (g->size != fsize)
		return snprintf(why, whylen, "size %zu, header says %llu "
				"(truncated?)", fsize,
				(unsigned long long)g->size), -EBADMSG;
	return 0;
}

/* Trust: whoever can write a segment can trip and reset its
 * breakers and crash its readers by truncating it, so a segment is used
 * only when its owner is the effective uid, root or shm.owner, and nobody
 * else may write it.  The default name belongs to one user only. */
static int
trusted(const struct stat *st, const char *name, long owner, char *why,
	size_t whylen)
{
	char dflt[64];

	cb_table_default_name(dflt, sizeof(dflt));
	if (strcmp(name, dflt) == 0 && st->st_uid != getuid())
		return snprintf(why, whylen, "segment belongs to uid %u, not "
				"%u; refusing it", (unsigned)st->st_uid,
				(unsigned)getuid()), -EPERM;
	if (st->st_uid != geteuid() && st->st_uid != 0 &&
	    (owner < 0 || st->st_uid != (uid_t)owner))
		return snprintf(why, whylen, "segment belongs to uid %u, who "
				"is neither this user (%u), root nor shm.owner; "
				"refusing it", (unsigned)st->st_uid,
				(unsigned)geteuid()), -EPERM;
	if (st->st_mode & 0002)
		return snprintf(why, whylen, "segment is writable by anybody "
				"(mode %04o); refusing it",
				st->st_mode & 07777), -EPERM;
	return 0;
}

int
cb_table_attach(struct cb_table **tp, const char *name,
		const struct cb_table_opts *o, char *why, size_t whylen)
{
	return cb_table_attach_owner(tp, name, o, -1, why, whylen);
}

/* Open segment name, creating it first when asked: fd or -errno. */
static int
open_segment(const char *name, const struct cb_table_opts *o, char *why,
	     size_t whylen)
{
	int fd, r, tries;

	for (tries = 0;; tries++) {
		/* O_NONBLOCK: a FIFO planted at the name must not hang us */
		fd = shm_open(name, (o->readonly ? O_RDONLY : O_RDWR) |
			      O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK, 0);
		if (fd >= 0 || errno != ENOENT || !o->create || tries > 3)
			break;
		if ((r = create_segment(name, o, why, whylen)) < 0)
			return r;
	}
	if (fd < 0) {
		r = -errno;
		snprintf(why, whylen, r == -ENOENT ? "no such segment" :
			 "cannot open: %s", strerror(-r));
		return r;
	}
	return fd;
}

/* Map the segment open on fd (file facts st) after checking whose it is
 * and what it holds: 0, *mp and its geometry *g, or -errno with why.
 * Closes fd. */
static int
map_segment(int fd, const struct stat *st, const char *name,
	    const struct cb_table_opts *o, long owner, void **mp,
	    struct geometry *g, char *why, size_t whylen)
{
	size_t size = (size_t)st->st_size;
	void *m = MAP_FAILED;
	int r = -EBADMSG;

	if (!S_ISREG(st->st_mode))
		snprintf(why, whylen, "not a regular file; refusing it");
	else if ((r = trusted(st, name, owner, why, whylen)) < 0)
		;
	else if (size < sizeof(struct cb_shm_header))
		r = -EBADMSG, snprintf(why, whylen, "too small (%zu bytes): "
				       "not a cbshim segment", size);
	else if ((m = mmap(NULL, size, PROT_READ | (o->readonly ? 0 :
		  PROT_WRITE), MAP_SHARED, fd, 0)) == MAP_FAILED)
		r = -errno, snprintf(why, whylen, "%s", strerror(errno));
	close(fd);
	if (m == MAP_FAILED)
		return r;
	if ((r = validate(m, size, g, why, whylen)) < 0) {
		munmap(m, size);
		return r;
	}
	/* a segment with holes could SIGBUS its writers when /dev/shm fills:
	 * ours are allocated whole (create_segment); refuse others */
	if (!o->readonly && (uint64_t)st->st_blocks * 512 < (uint64_t)size) {
		munmap(m, size);
		return snprintf(why, whylen, "segment is not fully allocated "
				"(has holes); refusing to write to it"),
		       -EBADMSG;
	}
	*mp = m;
	return 0;
}

/* cb_table_attach_owner, not cancellable: open, posix_fallocate and the
 * rest are cancellation points, and a creator cancelled halfway would
 * keep its locked temporary file (up to 1.36 GB) open, so never cleaned,
 * for as long as its process lives. */
static int
attach_in(struct cb_table **tp, const char *name,
	  const struct cb_table_opts *o, long owner, char *why, size_t whylen)
{
	struct cb_table *t;
	struct geometry g = { 0 };
	struct stat st;
	void *m = NULL;
	int fd, r;

	*tp = NULL;
	snprintf(why, whylen, "?");
	if (!cb_table_valid_name(name))
		return snprintf(why, whylen, "bad segment name \"%s\" (want "
				"/name)", name), -EINVAL;
	if ((fd = open_segment(name, o, why, whylen)) < 0)
		return fd;
	if (fstat(fd, &st) < 0) {
		r = -errno;
		snprintf(why, whylen, "%s", strerror(errno));
		close(fd);
		return r;
	}
	if ((r = map_segment(fd, &st, name, o, owner, &m, &g, why,
	    whylen)) < 0)
		return r;
	if (!(t = calloc(1, sizeof(*t)))) {
		munmap(m, (size_t)st.st_size);
		return snprintf(why, whylen, "out of memory"), -ENOMEM;
	}
	t->h = m;
	t->size = (size_t)st.st_size;
	CB_CRASH_POINT("attach:validated");
	/* by the geometry checked, never by the header read again */
	t->ring = (struct cb_ring_entry *)((char *)m + g.ring_off);
	t->hot = (struct cb_hot *)((char *)m + g.hot_off);
	t->cold = (struct cb_slot_cold *)((char *)m + g.cold_off);
	t->names = (struct cb_name_entry *)((char *)m + g.names_off);
	t->mask = g.slots - 1;
	t->readonly = o->readonly;
	t->now = cb_now_ms;
	snprintf(t->name, sizeof(t->name), "%s", name);
	*tp = t;
	return 0;
}

int
cb_table_attach_owner(struct cb_table **tp, const char *name,
		      const struct cb_table_opts *o, long owner, char *why,
		      size_t whylen)
{
	int r, old;

	pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &old);
	r = attach_in(tp, name, o, owner, why, whylen);
	pthread_setcancelstate(old, NULL);
	return r;
}

void
cb_table_detach(struct cb_table *t)
{
	if (t) {
		munmap(t->h, t->size);
		free(t);
	}
}

int
cb_table_removable(const char *name)
{
	char path[300];
	struct stat st;

	if (!cb_table_valid_name(name))
		return 0;
	snprintf(path, sizeof(path), SHM_DIR "%s", name);
	/* /dev/shm is sticky: the file's owner or root may unlink */
	return lstat(path, &st) == 0 &&
	       (geteuid() == 0 || st.st_uid == geteuid());
}

int
cb_table_destroy(const char *name)
{
	if (!cb_table_valid_name(name))
		return -EINVAL;
	return shm_unlink(name) < 0 ? -errno : 0;
}

/* ---- keys ---------------------------------------------------------- */

/* 177 bits (family, port, 128-bit address, 32-bit scope) in three words
 * of 63 bits, each with bit 63 set so that no written word is zero. */
static CB_HOT void
key_encode(const struct cb_dest *d, uint64_t k[3])
{
	unsigned __int128 a = 0;
	uint64_t v4;
	int i;

	if (d->family != AF_INET6) {	/* 32 bits: k[1], k[2] hold none */
		v4 = (uint64_t)d->addr[0] << 24 | (uint64_t)d->addr[1] << 16 |
		     (uint64_t)d->addr[2] << 8 | d->addr[3];
		k[0] = KEY_MARK | d->port | (v4 << 17);
		k[1] = KEY_MARK;
		k[2] = KEY_MARK;
		return;
	}
	for (i = 0; i < 16; i++)
		a = (a << 8) | d->addr[i];
	k[0] = KEY_MARK | d->port | ((uint64_t)(d->family == AF_INET6) << 16) |
	       (((uint64_t)a & ((1ull << 46) - 1)) << 17);
	k[1] = KEY_MARK | ((uint64_t)(a >> 46) & ~KEY_MARK);
	k[2] = KEY_MARK | (uint64_t)(a >> 109) | (uint64_t)d->scope << 19;
}

static void
key_decode(const uint64_t k[3], struct cb_dest *d)
{
	unsigned __int128 a;
	int i, n;

	memset(d, 0, sizeof(*d));
	d->port = (uint16_t)k[0];
	d->family = (k[0] >> 16) & 1 ? AF_INET6 : AF_INET;
	a = ((k[0] & ~KEY_MARK) >> 17) |
	    ((unsigned __int128)(k[1] & ~KEY_MARK) << 46) |
	    ((unsigned __int128)(k[2] & ((1ull << 19) - 1)) << 109);
	n = d->family == AF_INET6 ? 16 : 4;
	if (d->family == AF_INET6)
		d->scope = (uint32_t)(k[2] >> 19);
	for (i = n - 1; i >= 0; i--, a >>= 8)
		d->addr[i] = (uint8_t)a;
}

static uint64_t
key_hash(const uint64_t k[3])
{
	uint64_t h = k[0] * 0x9e3779b97f4a7c15ull;

	h ^= (k[1] + (h << 6) + (h >> 2)) * 0xbf58476d1ce4e5b9ull;
	h ^= (k[2] + (h << 6) + (h >> 2)) * 0x94d049bb133111ebull;
	return h ^ (h >> 31);
}

/* ---- lookup -------------------------------------------------------- */

/* ---- slots: the claim protocol ----------------------------------------
 *
 * A slot is written by one creator only: whoever owns its own word.  own is
 * 0 (never used: the end of every probe chain), OWN_VOID (given up: a link
 * in chains, free for any key), or OWN_CLAIM | fingerprint | pid (and
 * OWN_COUNTING once it takes capacity): the process pid creates (or
 * created) the breaker of the key whose hash has that fingerprint.
 * A creator
 *   1. takes own by CAS (from 0, from OWN_VOID, or from the claim of a dead
 *      process: kill(pid, 0) says ESRCH; a claim with our own pid is dead
 *      unless another insert, forget or reclaim of ours runs (busy): the
 *      pid was reused, as a restarted container's pid 1 is);
 *   2. writes the key, then looks along the chain again for a twin (the
 *      same key ready, or a live claim with the same fingerprint) and
 *      yields to it (the earlier in the chain wins; a later twin is waited
 *      for), so one key gets one slot;
 *   3. sets OWN_COUNTING, its reservation: an exact scan counts it, so
 *      nothing erases it while its owner lives; then counts itself in
 *      "used" (count_in: at most max_breakers, checked against an exact
 *      scan when the counter says full);
 *   4. writes the whole policy, and last the ready bit of pol_a (release).
 * Only a ready slot is ever used, and its key never changes: a policy is
 * one creator's, complete before anybody reads it.  A creator killed at
 * any point leaves a claim that the next insert passing by takes over (or
 * a VOID): no capacity and no place is lost for good.  "used" may count a
 * dead creator's place for good, never less than the truth: an insert
 * that finds it at max_breakers asks an exact scan (count_in).
 *
 * Reclaim (giving a place to a new destination) fits the same word: a
 * reclaimer takes own of an idle ready slot, clears ready, re-keys it and starts its breaker at the next
 * generation (genx goes on, never back to 0).  The full generation is then
 * the place's incarnation: an outcome admitted before the reclaim carries
 * an older one and is stale, so it never lands on the new destination.
 */

#define OWN_CLAIM 1ull
#define OWN_VOID 2ull
#define OWN_COUNTING 4ull
#define OWN_RECLAIMING OWN_VOID	/* with OWN_CLAIM: a reclaimer's claim */
#define IS_RECLAIMING(o) (((o) & (OWN_CLAIM | OWN_RECLAIMING)) == \
			  (OWN_CLAIM | OWN_RECLAIMING))
#define OWN_FP(h) (((h) >> 32) & 0xfffffff8ull)
#define OWN_PID(o) ((pid_t)((o) >> 32))
#define RECLAIM_BATCH 1024u	/* slots one reclaim search looks at */
#define FULL_RETRY_MS 1000u	/* a search that found nothing stands */
#define EXACT_RETRY_MS 30000u	/* an exact count that found it full */
#define WAITS 2000		/* about 100 ms: see pause_once(); a creator merely
				 * preempted (a loaded host, TSan) must not look stalled */

/* Wait a little for another creator: yield, then sleep 50 us.  The raw
 * system call: nanosleep() is a cancellation point, and a thread
 * cancelled here (in a connect, which programs do cancel) would leave
 * its claim, or its busy count, to its process for good; nothing an
 * insert calls is one now. */
static void
pause_once(int waits)
{
	struct timespec ts = { 0, 50000 };
	int e = errno;

	if (waits < 32)
		sched_yield();
	else
		syscall(SYS_nanosleep, &ts, NULL);
	errno = e;
}

/* A slot in use: ready, and its breaker not retired by a reclaim (a
 * reclaimer killed right after retiring leaves the ready bit set; ctl is
 * on the same line as the key, so this costs no other line). */
static int
ready(const struct cb_hot *h)
{
	return (atomic_load_explicit(&h->pol_a, memory_order_acquire) &
		READY_BIT) != 0 &&
	       CB_GET(atomic_load_explicit(&h->ctl, memory_order_acquire),
		      CTL_STATE) != CTL_GONE;
}

static int
key_is(const struct cb_hot *h, const uint64_t k[3])
{
	int j;

	for (j = 0; j < 3; j++)
		if (atomic_load_explicit(&h->key[j], memory_order_acquire) !=
		    k[j])
			return 0;
	return 1;
}

/* Slot i's breaker. */
static struct cb_breaker
slot_brk(struct cb_table *t, uint32_t i)
{
	struct cb_breaker b = { &t->hot[i], &t->cold[i].br, t->clock };

	return b;
}

/* Inserts, forgets and reclaims of this process under way (bits 0-31)
 * and the pid they were counted under (bits 32-63: a child forked during
 * one starts from none).  Only they make claims with our pid, so a claim
 * with our pid while none of them but the caller runs is a dead
 * predecessor's whose pid we got (a restarted container's pid 1).
 * acq_rel: a claim seen before a leave is finished when the count says
 * so (create() checks ready after taking it). */
static _Atomic uint64_t busy;

static void
busy_enter(void)
{
	uint64_t pid = (uint32_t)getpid(), b, n;

	b = atomic_load_explicit(&busy, memory_order_relaxed);
	do
		n = (b >> 32 == pid ? b : pid << 32) + 1;
	while (!atomic_compare_exchange_weak_explicit(&busy, &b, n,
	       memory_order_acq_rel, memory_order_relaxed));
}

static void
busy_leave(void)
{
	atomic_fetch_sub_explicit(&busy, 1, memory_order_release);
}

/* A claim nobody will finish: its owner is gone.  EPERM: alive, not ours.
 * Our pid: alive while another of our inserts, forgets or reclaims runs
 * (ours are skipped by the callers).  errno is left as it was (the
 * program's, on the connect path). */
static int
claim_dead(uint64_t o)
{
	uint64_t b;
	int e = errno, dead;

	if (!(o & OWN_CLAIM))
		return 0;
	if (OWN_PID(o) == getpid()) {
		b = atomic_load_explicit(&busy, memory_order_acquire);
		return b >> 32 == (uint32_t)OWN_PID(o) &&
		       (uint32_t)b <= 1;
	}
	dead = kill(OWN_PID(o), 0) < 0 && errno == ESRCH;
	errno = e;
	return dead;
}

/* Breakers plus live claims: the exact use of capacity (a scan).  mine:
 * the caller's own claim, live. */
static uint64_t
count_exact(struct cb_table *t, uint32_t mine)
{
	uint64_t n = 0, o;
	uint32_t i;

	for (i = 0; i <= t->mask; i++) {
		if (ready(&t->hot[i])) {
			n++;
			continue;
		}
		o = atomic_load_explicit(&t->cold[i].own,
		    memory_order_acquire);
		/* ready again after claim_dead: one of our threads finished
		 * it between our two looks (busy's acquire shows it) */
		n += (o & OWN_COUNTING) && (i == mine || !claim_dead(o) ||
		     ready(&t->hot[i]));
	}
	return n;
}

/* A time kept in 32 bits (ms), never 0: 0 says "none". */
static uint32_t
stamp32(uint64_t now)
{
	return (uint32_t)now ? (uint32_t)now : 1;
}

/* Stamp f (0: none) is less than lim ms before now; one from the future
 * (a clock ahead of ours) is old, as the difference wraps. */
static int
recent(uint32_t f, uint64_t now, uint32_t lim)
{
	return f != 0 && (uint32_t)now - f < lim;
}

/* Count our claim of slot i, just reserved, in "used".  0, or -ENOSPC
 * (uncounted again).  reclaimed: this insert has just given a place back;
 * an exact count that found the table full before is not believed then
 * (with places still counted for killed processes the counter says full
 * again, and the place would be lost). */
static int
count_in(struct cb_table *t, uint32_t i, int reclaimed)
{
	uint64_t n = atomic_fetch_add_explicit(&t->h->used, 1,
	    memory_order_relaxed) + 1;
	uint64_t now;
	uint32_t f;

	if (n - 1 < t->h->capacity)	/* (a wrapped hostile value scans) */
		return 0;
	/* the counter says full; it never counts less than the truth, but
	 * may count more (a creator or reclaimer killed before it gave a
	 * place back): the exact scan decides, once per EXACT_RETRY_MS at
	 * most (see "a full table" below).  The counter is not set down
	 * to the scan's figure: with places given back (reclaim) an increment
	 * and a decrement can cancel between our increment and such a write,
	 * and a scan that missed the incrementer's reservation would then
	 * set the counter below the truth (found by test_churn).  So a place
	 * lost to a killed process costs a scan, and its place for
	 * EXACT_RETRY_MS at most. */
	f = atomic_load_explicit(&t->h->full_ms, memory_order_relaxed);
	now = t->now();
	if (reclaimed || !recent(f, now, EXACT_RETRY_MS)) {
		if (count_exact(t, i) <= t->h->capacity)
			return 0;
		atomic_store_explicit(&t->h->full_ms, stamp32(now),
		    memory_order_relaxed);
	}
	atomic_fetch_sub_explicit(&t->h->used, 1, memory_order_relaxed);
	return -ENOSPC;
}

/* Give up our claim of slot i (a twin won, or no capacity). */
static void
give_back(struct cb_table *t, uint32_t i, uint64_t mine)
{
	atomic_compare_exchange_strong_explicit(&t->cold[i].own, &mine,
	    OWN_VOID, memory_order_release, memory_order_relaxed);
}

/* Write policy p (and the jitter seed) into slot i, ready bit last. */
static void
slot_init(struct cb_table *t, uint32_t i, const uint64_t k[3],
	  const struct cb_policy *p, uint64_t ev_head)
{
	struct cb_breaker b = slot_brk(t, i);

	/* a reclaimed place: a fresh breaker at a later generation */
	cb_breaker_rebirth(&b);
	atomic_store_explicit(&t->cold[i].mark, 0, memory_order_relaxed);
	/* events up to here are of the place's earlier destinations */
	atomic_store_explicit(&t->cold[i].born_ev, ev_head,
	    memory_order_relaxed);
	atomic_store_explicit(&b.cold->pol_c, CB_PUT(key_hash(k), POL_SEED),
	    memory_order_relaxed);
	CB_CRASH_POINT("slot:policy");
	cb_breaker_set_policy(&b, p);
	/* release: whoever sees the ready bit sees the key and policy */
	atomic_fetch_or_explicit(&b.hot->pol_a, READY_BIT,
	    memory_order_release);
}

/* ---- chains: how far a lookup goes ----------------------------------
 *
 * A chain ends at a never-used slot.  A reclaimed place is not one (it
 * stays a link: keys placed beyond it must stay found), so after enough
 * churn (destinations far beyond places, reclaim) no never-used slot is
 * left and a lookup of a new destination went round the whole table: 2 us
 * at 2048 slots after 8 x capacity of churn, milliseconds at 65536 places.
 * So each slot, as a home, keeps its reach: the farthest from it a key of
 * that home was ever placed (raised by the creator right after its claim,
 * never lowered).  A lookup that has passed REACH_FREE slots reads its
 * home's reach and stops beyond it; in a table with room the never-used
 * slot ends it first and the reach is not read.
 */

#define REACH_FREE 8u	/* slots looked at before the reach is read */

/* How far from home keys of home i were placed (seq_cst: with the
 * creator's seq_cst raise before its key, a claim beyond is seen). */
static uint32_t
reach(struct cb_table *t, uint32_t i)
{
	return atomic_load_explicit(&t->cold[i].reach, memory_order_seq_cst);
}

/* Make home i's reach at least d. */
static void
reach_out(struct cb_table *t, uint32_t i, uint32_t d)
{
	uint32_t r = atomic_load_explicit(&t->cold[i].reach,
	    memory_order_relaxed);

	while (r < d && !atomic_compare_exchange_weak_explicit(
	    &t->cold[i].reach, &r, d, memory_order_seq_cst,
	    memory_order_relaxed))
		;
}

/* What a walk along k's chain found. */
struct walk {
	long found;	/* ready slot holding k */
	long free;	/* first slot a creator may take (-1: none) */
	long twin;	/* first live claim with k's fingerprint, not ours */
	int full;	/* probed every slot */
};

/* Walk k's chain from its home to the first never-used slot.  skip: our
 * own claim (not a twin).  seq_cst loads: with the claims' seq_cst CAS,
 * of two creators of one key at least one sees the other. */
static void
walk(struct cb_table *t, const uint64_t k[3], uint64_t hash, long skip,
     struct walk *w)
{
	uint32_t i = (uint32_t)hash & t->mask, n;
	uint64_t o, fp = OWN_FP(hash);

	uint32_t r = 0;

	w->found = w->free = w->twin = -1;
	w->full = 0;
	for (n = 0; n <= t->mask; n++, i = (i + 1) & t->mask) {
		if (n == REACH_FREE)
			r = reach(t, (uint32_t)hash & t->mask);
		/* past the home's reach no key nor claim of k can be: only
		 * a free slot is still looked for */
		if (n >= REACH_FREE && n > r && w->free >= 0)
			return;
		if (ready(&t->hot[i])) {
			if (key_is(&t->hot[i], k)) {
				w->found = i;
				return;
			}
			continue;
		}
		o = atomic_load_explicit(&t->cold[i].own, memory_order_seq_cst);
		if ((long)i == skip)
			continue;
		if (o == 0 || o == OWN_VOID || claim_dead(o)) {
			if (w->free < 0)
				w->free = i;
			if (o == 0)
				return;
		} else if ((o & 0xfffffff8ull) == fp && w->twin < 0) {
			w->twin = i;
		}
	}
	w->full = 1;
}

/* Position of slot i in the chain that starts at home. */
static uint32_t
dist(const struct cb_table *t, uint64_t hash, long i)
{
	return ((uint32_t)i - (uint32_t)hash) & t->mask;
}

/* Our claim of slot c is keyed: 1 if it stands (no twin
 * before it; a twin after it gave up or died), 0 if we gave it back
 * (then *w says why: found, or a twin to wait for). */
static int
stands(struct cb_table *t, const uint64_t k[3], uint64_t hash, uint32_t c,
       uint64_t mine, struct walk *w)
{
	int waits = 0;

	for (;;) {
		walk(t, k, hash, c, w);
		if (w->found >= 0)
			break;		/* the key is ready elsewhere */
		if (w->twin < 0)
			return 1;
		if (dist(t, hash, w->twin) < dist(t, hash, c))
			break;		/* an earlier twin wins */
		if (waits >= WAITS)
			break;		/* a later twin, busy for long */
		pause_once(waits++);	/* a later twin: see how it ends */
	}
	give_back(t, c, mine);
	return 0;
}

/* Take slot i (own value o) for k and make it a ready breaker with p.
 * 0 and the slot in *out; 1: lost a race or yielded, walk again;
 * -ENOSPC: full.  reclaimed: as count_in()'s. */
static int
create(struct cb_table *t, const uint64_t k[3], uint64_t hash, uint32_t i,
       uint64_t o, const struct cb_policy *p, long *out, int reclaimed)
{
	struct cb_hot *s = &t->hot[i];
	struct cb_slot_cold *sc = &t->cold[i];
	uint64_t mine = OWN_CLAIM | OWN_FP(hash) |
			((uint64_t)(uint32_t)getpid() << 32);
	struct walk w;
	int j;

	if (!(o == 0 || o == OWN_VOID || claim_dead(o)))
		return 1;	/* taken meanwhile */
	if (!atomic_compare_exchange_strong_explicit(&sc->own, &o, mine,
	    memory_order_seq_cst, memory_order_relaxed))
		return 1;
	CB_CRASH_POINT("slot:claimed");
	/* a claim with our pid, judged dead, finished meanwhile (busy) */
	if (ready(s)) {
		atomic_compare_exchange_strong_explicit(&sc->own, &mine, o,
		    memory_order_release, memory_order_relaxed);
		return 1;
	}
	/* before the key: a walk that reads the reach after this sees the
	 * claim (both seq_cst), so of two twins one sees the other */
	reach_out(t, (uint32_t)hash & t->mask, dist(t, hash, i));
	/* a slot left retired but ready by a reclaimer that died */
	atomic_fetch_and_explicit(&s->pol_a, ~READY_BIT, memory_order_relaxed);
	for (j = 0; j < 3; j++)
		atomic_store_explicit(&s->key[j], k[j], memory_order_relaxed);
	CB_CRASH_POINT("slot:keyed");
	if (!stands(t, k, hash, i, mine, &w)) {
		*out = w.found;
		return w.found >= 0 ? 0 : 1;
	}
	/* seq_cst: an exact scan that misses the reservation comes before
	 * it, and then before our count too */
	atomic_store_explicit(&sc->own, mine | OWN_COUNTING,
	    memory_order_seq_cst);
	CB_CRASH_POINT("slot:reserved");
	if (count_in(t, i, reclaimed) < 0) {
		give_back(t, i, mine | OWN_COUNTING);
		return -ENOSPC;
	}
	CB_CRASH_POINT("slot:counted");
	/* a reclaimed place: the name of its last destination goes (here,
	 * not in the reclaim, so a reclaimer killed early leaves none) */
	/* release: a namer whose claim follows this sees our key */
	atomic_store_explicit(&t->names[i].word, 0, memory_order_release);
	slot_init(t, i, k, p, atomic_load_explicit(&t->h->ev_head,
	    memory_order_relaxed));
	*out = i;
	return 0;
}

/* ---- reclaim --------------------------------------------------------
 *
 * Idleness costs the connect path nothing: no clock read, no store.  A
 * breaker's attempts are counted anyway (admitted + rejected); a searcher
 * stamps each slot it passes with that count and its own time (mark), and
 * a slot whose count has not moved since a stamp at least reclaim_after
 * old has seen no attempt for that long.  Stamps are written only while
 * the table is full and only when the count moved, on the claim word's
 * line, which no decision reads.  The cost: the first reclaim comes
 * reclaim_after after the table first fills, not at once.  A stamp from a
 * clock far ahead of ours (age >= 2^31 ms in 32-bit arithmetic) is taken
 * as new.
 *
 * A reclaimer takes the slot's own word (from whatever it holds: a ready
 * slot's own is read by nobody else; but not from a live reclaimer, whose
 * claim, OWN_CLAIM | OWN_RECLAIMING | OWN_COUNTING | pid, a second one
 * would give back over the first's give_back, stranding it), checks
 * again (cbctl forget: that the key is still the one it found), retires
 * the breaker
 * (one CAS of ctl, closed -> gone: from then on ready() is false and an
 * admission says "look again"), counts the reclaim, clears the ready bit,
 * gives the place back to "used" and the slot to the chains (OWN_VOID).
 * A reclaimer killed anywhere leaves a claim of a dead process on a slot
 * that is not in use (ready() false once retired), which the next creator
 * passing takes over (create() clears a stale ready bit first), and at
 * worst a "used" one too high until the next exact scan.
 */

/* Attempts ever made on slot i's breaker (32 bits, modulo). */
static uint32_t
attempts(struct cb_table *t, uint32_t i)
{
	return (uint32_t)(atomic_load_explicit(&t->cold[i].br.admitted,
	    memory_order_relaxed) + atomic_load_explicit(&t->hot[i].rejected,
	    memory_order_relaxed));
}

/* 1 if slot i's breaker has seen no attempt for reclaim_after ms by its
 * mark; else 0, and the mark renewed when the count moved. */
static int
idle(struct cb_table *t, uint32_t i, uint64_t now)
{
	struct cb_slot_cold *s = &t->cold[i];
	uint64_t m = atomic_load_explicit(&s->mark, memory_order_relaxed);
	uint32_t n = attempts(t, i), age = (uint32_t)now - (uint32_t)m;

	if (m != 0 && (uint32_t)(m >> 32) == n && age < 0x80000000u)
		return age >= t->reclaim_after;
	/* relaxed: a mark orders nothing; a lost race leaves another's */
	atomic_compare_exchange_strong_explicit(&s->mark, &m,
	    (uint64_t)n << 32 | (uint32_t)now, memory_order_relaxed,
	    memory_order_relaxed);
	return 0;
}

/* Take slot i's place from its breaker: k's only (cbctl forget: force,
 * k not NULL) or any idle one's (k NULL).  0, -ENOENT (not in use, or
 * no longer k's), -EBUSY (not closed, in use, or taken by another
 * reclaimer: a live reclaimer's claim is never taken, else it could be
 * given back over its give_back and stay for good). */
static int
reclaim_slot(struct cb_table *t, uint32_t i, uint64_t now,
	     const uint64_t *k)
{
	struct cb_hot *s = &t->hot[i];
	struct cb_slot_cold *sc = &t->cold[i];
	struct cb_breaker b = slot_brk(t, i);
	uint64_t o = atomic_load_explicit(&sc->own, memory_order_acquire);
	uint64_t mine = OWN_CLAIM | OWN_RECLAIMING | OWN_COUNTING |
			((uint64_t)(uint32_t)getpid() << 32);

	if (!ready(s))
		return -ENOENT;
	if ((IS_RECLAIMING(o) && !claim_dead(o)) ||
	    !atomic_compare_exchange_strong_explicit(&sc->own, &o, mine,
	    memory_order_seq_cst, memory_order_relaxed))
		return -EBUSY;
	CB_CRASH_POINT("reclaim:claimed");
	/* the key is read with own held: no creator re-keys the slot now */
	if (!ready(s) || (k && !key_is(s, k)) || (!k && !idle(t, i, now)) ||
	    cb_breaker_retire(&b) < 0) {
		atomic_compare_exchange_strong_explicit(&sc->own, &mine, o,
		    memory_order_release, memory_order_relaxed);
		return ready(s) && (!k || key_is(s, k)) ? -EBUSY : -ENOENT;
	}
	CB_CRASH_POINT("reclaim:retired");
	if (!k)			/* cbctl forget is the operator's, not counted */
		atomic_fetch_add_explicit(&t->h->reclaimed, 1,
		    memory_order_relaxed);
	atomic_fetch_and_explicit(&s->pol_a, ~READY_BIT, memory_order_release);
	CB_CRASH_POINT("reclaim:unready");
	atomic_fetch_sub_explicit(&t->h->used, 1, memory_order_relaxed);
	atomic_store_explicit(&sc->mark, 0, memory_order_relaxed);
	give_back(t, i, mine);
	return 0;
}

/* Find an idle closed breaker and reclaim its place: 0, or -ENOSPC.
 * Looks at RECLAIM_BATCH slots at most, from the hand, stamping as it goes;
 * the hand moves past them, so searches that find nothing still sweep the
 * table a batch at a time. */
static int
reclaim_one(struct cb_table *t)
{
	uint64_t now = t->now();
	uint32_t i = (uint32_t)atomic_load_explicit(&t->h->reclaim_hand,
	    memory_order_relaxed) & t->mask, n;

	if (t->reclaim_after == 0)
		return -ENOSPC;
	for (n = 0; n <= t->mask && n < RECLAIM_BATCH;
	     n++, i = (i + 1) & t->mask) {
		/* open, half-open and held breakers are never reclaimed: only
		 * a closed one is worth its cold part's line */
		if (ready(&t->hot[i]) && CB_GET(atomic_load_explicit(
		    &t->hot[i].ctl, memory_order_relaxed), CTL_STATE) ==
		    CB_CLOSED && reclaim_slot(t, i, now, NULL) == 0) {
			atomic_store_explicit(&t->h->reclaim_hand,
			    (i + 1) & t->mask, memory_order_relaxed);
			return 0;
		}
	}
	atomic_store_explicit(&t->h->reclaim_hand, i, memory_order_relaxed);
	return -ENOSPC;
}

/* ---- a full table ---------------------------------------------------
 *
 * A new destination that finds no place costs an exact count (a scan of
 * the whole table, count_in()) and a reclaim search.  Done on every
 * connect to a new destination, that made each such connect of a full
 * 65536-place table take 14 ms instead of 8 us.  So:
 *   - a search that found nothing writes its time (the low 32 bits of
 *     ms) above the hand's position in reclaim_hand, and for the next
 *     retry_ms() an insert that finds the table counted full answers
 *     -ENOSPC at once (known_full());
 *   - an exact count that found the table full writes its time into the
 *     header's full_ms, and for EXACT_RETRY_MS the count is believed
 *     without a scan (count_in());
 *   - a search looks at RECLAIM_BATCH slots, not the whole table.
 * So a full table costs one batch per second and one scan per
 * EXACT_RETRY_MS, whatever the rate of new destinations.  cbctl forget,
 * which gives a place back, clears both times.  A hostile or stale time
 * delays a place by its retry at most: ages are taken modulo 2^32, and a
 * time from the future is old.
 */

/* How long a search that found nothing stands: a second, or
 * reclaim_after when shorter (an idle breaker is not missed for long). */
static uint32_t
retry_ms(const struct cb_table *t)
{
	return t->reclaim_after && t->reclaim_after < FULL_RETRY_MS ?
	       t->reclaim_after : FULL_RETRY_MS;
}

/* 1 if a search found no place less than retry_ms() ago and the count
 * still says full (the clock is read only then). */
static int
known_full(struct cb_table *t)
{
	uint32_t f = (uint32_t)(atomic_load_explicit(&t->h->reclaim_hand,
	    memory_order_relaxed) >> 32);

	return f != 0 &&
	       atomic_load_explicit(&t->h->used, memory_order_relaxed) >=
	       t->h->capacity && recent(f, t->now(), retry_ms(t));
}

/* No place for a new key: reclaim one (1: look again; a few times, as
 * the place may be taken by another insert first), or say so for a
 * while (-ENOSPC). */
static int
no_place(struct cb_table *t, int *reclaims)
{
	uint64_t h;

	if ((*reclaims)++ < 4 && reclaim_one(t) == 0)
		return 1;
	h = atomic_load_explicit(&t->h->reclaim_hand, memory_order_relaxed);
	/* relaxed: a hint; a race leaves one of two close times */
	atomic_store_explicit(&t->h->reclaim_hand, (uint32_t)h |
	    (uint64_t)stamp32(t->now()) << 32, memory_order_relaxed);
	return -ENOSPC;
}

int
cb_table_forget(struct cb_table *t, const struct cb_dest *d)
{
	struct cb_breaker b;
	struct cb_key k;
	uint32_t i;
	int r;

	if (t->readonly)
		return -EROFS;
	cb_table_key(t, d, &k);
	if (cb_table_find_key(t, &k, &b, &i) < 0)
		return -ENOENT;
	CB_CRASH_POINT("forget:found");
	busy_enter();
	r = reclaim_slot(t, i, t->now(), k.w);
	busy_leave();
	if (r == 0) {	/* a place given back: the next insert looks */
		atomic_store_explicit(&t->h->full_ms, 0, memory_order_relaxed);
		atomic_fetch_and_explicit(&t->h->reclaim_hand, 0xffffffffull,
		    memory_order_relaxed);
	}
	return r;
}

int
cb_table_life(struct cb_table *t, uint32_t slot, const struct cb_dest *d,
	      uint32_t *life)
{
	struct cb_breaker b;
	uint64_t k[3];

	if (slot > t->mask)
		return -ESTALE;
	key_encode(d, k);
	/* born first (acquire), the key after: see cb_breaker_life */
	b = slot_brk(t, slot);
	*life = cb_breaker_life(&b);
	return ready(&t->hot[slot]) && key_is(&t->hot[slot], k) ? 0 : -ESTALE;
}

int
cb_table_reclaim(struct cb_table *t)
{
	int r;

	if (t->readonly)
		return -EROFS;
	busy_enter();
	r = reclaim_one(t);
	busy_leave();
	return r;
}

void
cb_table_set_reclaim(struct cb_table *t, uint32_t reclaim_after_ms,
		     uint64_t (*now)(void))
{
	t->now = now ? now : cb_now_ms;
	t->clock = t->now;
	t->reclaim_after = reclaim_after_ms;
}

uint64_t
cb_table_reclaimed(const struct cb_table *t)
{
	return atomic_load_explicit(&t->h->reclaimed, memory_order_relaxed);
}

int
cb_table_find(struct cb_table *t, const struct cb_dest *d,
	      struct cb_breaker *bp, uint32_t *slotp)
{
	struct cb_key k;

	key_encode(d, k.w);
	k.hash = key_hash(k.w);
	return cb_table_find_key(t, &k, bp, slotp);
}

void
cb_table_key(struct cb_table *t, const struct cb_dest *d, struct cb_key *k)
{
	key_encode(d, k->w);
	k->hash = key_hash(k->w);
	__builtin_prefetch(&t->hot[k->hash & t->mask], 0, 3);
}

int
cb_table_find_key(struct cb_table *t, const struct cb_key *k,
		  struct cb_breaker *bp, uint32_t *slotp)
{
	uint32_t i = (uint32_t)k->hash & t->mask, n, r = 0;
	struct cb_hot *s;

	/* ready first, key after: a ready slot's key is final */
	for (n = 0; n <= t->mask; n++, i = (i + 1) & t->mask) {
		if (n == REACH_FREE)	/* a long chain: how far is worth it */
			r = reach(t, (uint32_t)k->hash & t->mask);
		if (n >= REACH_FREE && n > r)
			break;	/* no key of this home was placed farther */
		s = &t->hot[i];
		if (ready(s)) {
			if (key_is(s, k->w)) {
				*bp = slot_brk(t, i);
				if (slotp)
					*slotp = i;
				return 0;
			}
		} else if (atomic_load_explicit(&s->key[0],
			   memory_order_relaxed) == 0 &&
			   atomic_load_explicit(&t->cold[i].own,
			   memory_order_acquire) == 0) {
			break;	/* never used: the end of the chain */
		}
	}
	return -ENOENT;
}

/* The claim this process last waited on in vain (WAITS): a creator
 * stopped halfway, or a dead one's claim whose pid a live process got.
 * Met again unchanged, it is not waited on again: every attempt to its
 * destination would pay the wait for as long as it stays.  Two words,
 * not one: a torn pair costs one wait, nothing more. */
static _Atomic uint64_t stuck_own;
static _Atomic uint32_t stuck_slot;

/* 1 if the twin claim at slot i is the one we waited on in vain. */
static int
stuck(struct cb_table *t, long i)
{
	uint64_t o = atomic_load_explicit(&t->cold[i].own,
	    memory_order_relaxed);

	return o != 0 && o == atomic_load_explicit(&stuck_own,
	    memory_order_relaxed) && (uint32_t)i ==
	    atomic_load_explicit(&stuck_slot, memory_order_relaxed);
}

static void
stuck_note(struct cb_table *t, long i)
{
	atomic_store_explicit(&stuck_slot, (uint32_t)i, memory_order_relaxed);
	atomic_store_explicit(&stuck_own, atomic_load_explicit(&t->cold[i].own,
	    memory_order_relaxed), memory_order_relaxed);
}

/* cb_table_insert, between busy_enter and busy_leave. */
static int
insert_in(struct cb_table *t, const struct cb_dest *d,
	  const struct cb_policy *p, struct cb_breaker *bp, uint32_t *slotp)
{
	uint64_t k[3], hash;
	struct walk w;
	long i = -1;
	int r, waits = 0, reclaims = 0;

	key_encode(d, k);
	hash = key_hash(k);
	for (;;) {
		walk(t, k, hash, -1, &w);
		if (w.found >= 0) {
			i = w.found;
			break;
		}
		if (known_full(t))
			return -ENOSPC;
		if (w.twin >= 0 || w.free < 0) {
			/* being created by somebody alive (perhaps for this
			 * key): let it finish, then look again; the chain has
			 * no room at all when every slot is taken */
			if (w.twin < 0 && w.full) {
				if (no_place(t, &reclaims) > 0)
					continue;
				return -ENOSPC;
			}
			if (w.twin >= 0 && stuck(t, w.twin))
				return -EBUSY;	/* waited on in vain before */
			if (waits >= WAITS) {
				if (w.twin >= 0)
					stuck_note(t, w.twin);
				return -EBUSY;
			}
			CB_CRASH_POINT("insert:wait");
			pause_once(waits++);
			continue;
		}
		r = create(t, k, hash, (uint32_t)w.free,
		    atomic_load_explicit(&t->cold[w.free].own,
		    memory_order_relaxed), p, &i, reclaims > 0);
		if (r == -ENOSPC && no_place(t, &reclaims) > 0)
			continue;	/* a place given up: try again */
		if (r <= 0) {
			if (r < 0)
				return r;
			break;
		}
		if (waits >= WAITS)
			return -EBUSY;
		pause_once(waits++);
	}
	*bp = slot_brk(t, (uint32_t)i);
	if (slotp)
		*slotp = (uint32_t)i;
	return 0;
}

int
cb_table_insert(struct cb_table *t, const struct cb_dest *d,
		const struct cb_policy *p, struct cb_breaker *bp,
		uint32_t *slotp)
{
	int r;

	if (t->readonly)
		return -EROFS;
	busy_enter();
	r = insert_in(t, d, p, bp, slotp);
	busy_leave();
	return r;
}

void
cb_table_count_unprotected(struct cb_table *t)
{
	if (!t->readonly)
		atomic_fetch_add_explicit(&t->h->unprotected, 1,
		    memory_order_relaxed);
}

uint32_t cb_table_capacity(const struct cb_table *t) { return t->h->capacity; }
uint32_t cb_table_slots(const struct cb_table *t) { return t->mask + 1; }
size_t cb_table_size(const struct cb_table *t) { return t->size; }
const char *cb_table_name(const struct cb_table *t) { return t->name; }

uint32_t
cb_table_used(struct cb_table *t)
{
	uint32_t i, n = 0;

	for (i = 0; i <= t->mask; i++)
		n += ready(&t->hot[i]);
	return n;
}

uint64_t
cb_table_unprotected(const struct cb_table *t)
{
	return atomic_load_explicit(&t->h->unprotected, memory_order_relaxed);
}

int
cb_table_slot(struct cb_table *t, uint32_t i, struct cb_breaker *bp,
	      struct cb_dest *d)
{
	struct cb_hot *s;
	uint64_t k[3];
	int j;

	if (i > t->mask)
		return -ENOENT;
	s = &t->hot[i];
	if (!ready(s))
		return -ENOENT;
	for (j = 0; j < 3; j++)
		k[j] = atomic_load_explicit(&s->key[j], memory_order_acquire);
	if (d)
		key_decode(k, d);
	*bp = slot_brk(t, i);
	return 0;
}

/* ---- names --------------------------------------------------------- */

/* FNV-1a over the name's bytes: 32 bits of checksum in the ready word. */
static uint64_t
name_sum(const char *s, size_t n)
{
	uint32_t h = 2166136261u;
	size_t i;

	for (i = 0; i < n; i++)
		h = (h ^ (uint8_t)s[i]) * 16777619u;
	return h;
}

/* 1 if s (n bytes) is a name as names are kept: lower-case letters,
 * digits, '-', '_' and '.'.  A name read from the segment is shown only if
 * so: a writer of the segment cannot put escape sequences on a terminal
 * or break the metrics' text format through it. */
static int
name_ok(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' &&
		      s[i] <= '9') || s[i] == '-' || s[i] == '_' || s[i] == '.'))
			return 0;
	return n > 0;
}

/* The name published in e with ready word word into out (>= CB_NAME_MAX
 * + 1): its length, or 0 when none is, or when its bytes do not match
 * its checksum (garbled: a writer taken over wrote late) or are not a
 * name's. */
static size_t
name_read(const struct cb_name_entry *e, uint64_t word, char *out)
{
	size_t n = CB_GET(word, NAME_LEN), i;
	uint64_t w;

	out[0] = '\0';
	if (!(word & NAME_READY) || n == 0 || n > CB_NAME_MAX)
		return 0;
	for (i = 0; i * 8 < n; i++) {
		w = atomic_load_explicit(&e->w[i], memory_order_relaxed);
		memcpy(out + i * 8, &w, n - i * 8 < 8 ? n - i * 8 : 8);
	}
	if (name_sum(out, n) != CB_GET(word, NAME_SUM) || !name_ok(out, n)) {
		out[0] = '\0';
		return 0;
	}
	out[n] = '\0';
	return n;
}

/* Claim e for writing at now: 1 claimed (*w = the claim word), 0 not.  A
 * published name that reads garbled is never shown: it is claimed like
 * a free entry, so the breaker gets a name again. */
static int
name_claim(struct cb_name_entry *e, uint64_t now, uint64_t *w)
{
	uint64_t cur = atomic_load_explicit(&e->word, memory_order_acquire);
	uint64_t stamp = cur & NAME_STAMP;
	char buf[CB_NAME_MAX + 1];

	if ((cur & NAME_READY) && name_read(e, cur, buf) > 0)
		return 0;
	/* a stamp later than now (another clock, a process in another time
	 * namespace) counts as now: it is stamped now, so that it ages by
	 * our clock, not only once our clock has passed it */
	if ((cur & NAME_CLAIM) && !(cur & NAME_READY) &&
	    stamp > (now & NAME_STAMP)) {
		atomic_compare_exchange_strong_explicit(&e->word, &cur,
		    NAME_CLAIM | (now & NAME_STAMP), memory_order_relaxed,
		    memory_order_relaxed);
		return 0;
	}
	if ((cur & NAME_CLAIM) && !(cur & NAME_READY) &&
	    (now & NAME_STAMP) - stamp < NAME_TAKEOVER_MS)
		return 0;
	*w = NAME_CLAIM | (now & NAME_STAMP);
	return atomic_compare_exchange_strong_explicit(&e->word, &cur, *w,
	    memory_order_acquire, memory_order_relaxed);
}

int
cb_table_set_name(struct cb_table *t, uint32_t slot,
		  const struct cb_dest *d, const char *name, uint64_t now)
{
	size_t n = strlen(name), i;
	struct cb_name_entry *e;
	uint64_t claim, w, k[3];

	if (t->readonly)
		return -EROFS;
	if (slot > t->mask || n > CB_NAME_MAX || !name_ok(name, n))
		return -EINVAL;
	e = &t->names[slot];
	if (!name_claim(e, now, &claim))
		return -EEXIST;
	/* d's breaker still?  After our claim (acquire): a creator that
	 * re-keyed the place clears the word after the key (release), so
	 * either we see its key here or its clearing fails our publish */
	if (d) {
		key_encode(d, k);
		if (!ready(&t->hot[slot]) || !key_is(&t->hot[slot], k)) {
			atomic_compare_exchange_strong_explicit(&e->word,
			    &claim, 0, memory_order_relaxed,
			    memory_order_relaxed);
			return -ESTALE;
		}
	}
	for (i = 0; i < NAME_WORDS; i++) {
		w = 0;
		if (i * 8 < n)
			memcpy(&w, name + i * 8, n - i * 8 < 8 ? n - i * 8 : 8);
		atomic_store_explicit(&e->w[i], w, memory_order_relaxed);
	}
	/* release: whoever sees READY sees the bytes stored above */
	if (!atomic_compare_exchange_strong_explicit(&e->word, &claim,
	    NAME_READY | CB_PUT(name_sum(name, n), NAME_SUM) |
	    CB_PUT(n, NAME_LEN), memory_order_release,
	    memory_order_relaxed))
		return -EEXIST;		/* taken over: we were too slow */
	return 0;
}

int
cb_table_has_name(struct cb_table *t, uint32_t slot)
{
	char buf[CB_NAME_MAX + 1];

	return cb_table_get_name(t, slot, buf) > 0;
}

size_t
cb_table_get_name(struct cb_table *t, uint32_t slot, char *out)
{
	out[0] = '\0';
	if (slot > t->mask)
		return 0;
	return name_read(&t->names[slot], atomic_load_explicit(
	    &t->names[slot].word, memory_order_acquire), out);
}

/* ---- events -------------------------------------------------------- */

void
cb_table_event(struct cb_table *t, uint32_t slot,
	       const struct cb_transition *tr, uint64_t now, pid_t pid)
{
	uint64_t n, s;
	struct cb_ring_entry *e;

	if (t->readonly || tr->why == CB_WHY_NONE)
		return;
	n = atomic_fetch_add_explicit(&t->h->ev_head, 1,
	    memory_order_relaxed);
	e = &t->ring[n % CB_EVENTS];
	s = atomic_load_explicit(&e->seq, memory_order_relaxed);
	do {
		if ((s & ~RING_WRITING) >= n + 1)
			return;		/* lapped already: a later event */
	} while (!atomic_compare_exchange_weak_explicit(&e->seq, &s,
		 RING_WRITING | (n + 1), memory_order_relaxed,
		 memory_order_relaxed));
	/* release: the fields are not seen before the WRITING mark */
	atomic_thread_fence(memory_order_release);
	CB_CRASH_POINT("event:owned");
	atomic_store_explicit(&e->time_ms, CB_PUT(now, EV_TIME) |
	    TAG_TIME(n + 1), memory_order_relaxed);
	atomic_store_explicit(&e->slot_pid, CB_PUT(slot, SP_SLOT) |
	    CB_PUT(pid, SP_PID) | TAG_SP(n + 1),
	    memory_order_relaxed);
	atomic_store_explicit(&e->what, CB_PUT(tr->from, W_FROM) |
	    CB_PUT(tr->to, W_TO) | CB_PUT(tr->why, W_WHY) | TAG_WHAT(n + 1),
	    memory_order_relaxed);
	CB_CRASH_POINT("event:written");
	s = RING_WRITING | (n + 1);
	atomic_compare_exchange_strong_explicit(&e->seq, &s, n + 1,
	    memory_order_release, memory_order_relaxed);
}

size_t
cb_table_events(struct cb_table *t, uint64_t after, struct cb_event *ev,
		size_t max)
{
	uint64_t head = atomic_load_explicit(&t->h->ev_head,
	    memory_order_acquire), n, s1, s2, sp, w;
	size_t got = 0;
	struct cb_breaker b;

	n = head > CB_EVENTS ? head - CB_EVENTS : 0;
	if (n < after)
		n = after;
	for (; n < head && got < max; n++) {
		struct cb_ring_entry *e = &t->ring[n % CB_EVENTS];

		s1 = atomic_load_explicit(&e->seq, memory_order_acquire);
		ev[got].time_ms = atomic_load_explicit(&e->time_ms,
		    memory_order_relaxed);
		sp = atomic_load_explicit(&e->slot_pid, memory_order_relaxed);
		w = atomic_load_explicit(&e->what, memory_order_relaxed);
		atomic_thread_fence(memory_order_acquire);
		s2 = atomic_load_explicit(&e->seq, memory_order_relaxed);
		if (s1 != n + 1 || s2 != s1 || (ev[got].time_ms >> 40) !=
		    (TAG_TIME(s1) >> 40) || (sp >> 43) != (TAG_SP(s1) >> 43) ||
		    (w >> 24) != (TAG_WHAT(s1) >> 24))
			continue;	/* being written, torn or overwritten */
		ev[got].time_ms = CB_GET(ev[got].time_ms, EV_TIME);
		ev[got].seq = s1;
		ev[got].slot = (uint32_t)CB_GET(sp, SP_SLOT);
		ev[got].pid = (uint32_t)CB_GET(sp, SP_PID);
		ev[got].from = (uint8_t)CB_GET(w, W_FROM);
		ev[got].to = (uint8_t)CB_GET(w, W_TO);
		ev[got].why = (uint8_t)CB_GET(w, W_WHY);
		/* the slot's destination now, unless it was reclaimed for
		 * another since (then unknown: shown as such) */
		if (cb_table_slot(t, ev[got].slot, &b, &ev[got].dest) < 0 ||
		    n < atomic_load_explicit(&t->cold[ev[got].slot].born_ev,
		    memory_order_relaxed))
			memset(&ev[got].dest, 0, sizeof(ev[got].dest));
		got++;
	}
	return got;
}

/* ---- destinations ------------------------------------------------ */

int
cb_dest_from_sockaddr(struct cb_dest *d, const struct sockaddr *sa,
		      size_t len)
{
	static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
					    0xff, 0xff };

	memset(d, 0, sizeof(*d));
	/* never read past len: the kernel answers a short or bad address
	 * with EINVAL/EFAULT, and so must the program, not crash here */
	if (sa == NULL || len < sizeof(sa_family_t))
		return -EAFNOSUPPORT;
	if (sa->sa_family == AF_INET && len >= sizeof(struct sockaddr_in)) {
		const struct sockaddr_in *s4 = (const void *)sa;

		d->family = AF_INET;
		d->port = ntohs(s4->sin_port);
		memcpy(d->addr, &s4->sin_addr, 4);
		return 0;
	}
	/* Linux takes the 24-byte RFC 2133 form too (no scope id) */
	if (sa->sa_family == AF_INET6 &&
	    len >= offsetof(struct sockaddr_in6, sin6_scope_id)) {
		const struct sockaddr_in6 *s6 = (const void *)sa;

		d->port = ntohs(s6->sin6_port);
		if (memcmp(s6->sin6_addr.s6_addr, mapped, 12) == 0) {
			d->family = AF_INET;
			memcpy(d->addr, s6->sin6_addr.s6_addr + 12, 4);
		} else {
			d->family = AF_INET6;
			memcpy(d->addr, s6->sin6_addr.s6_addr, 16);
			/* fe80::1%lo and fe80::1%eth0 are different places:
			 * the scope is part of the key where the kernel uses
			 * it, never read past the 24-byte form */
			if (len >= sizeof(*s6) &&
			    (IN6_IS_ADDR_LINKLOCAL(&s6->sin6_addr) ||
			     IN6_IS_ADDR_MC_LINKLOCAL(&s6->sin6_addr) ||
			     IN6_IS_ADDR_MC_NODELOCAL(&s6->sin6_addr)))
				d->scope = s6->sin6_scope_id;
		}
		return 0;
	}
	return -EAFNOSUPPORT;
}

void
cb_dest_format(const struct cb_dest *d, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN];
	char ifn[IF_NAMESIZE + 1];

	if (d->family == AF_INET6) {
		inet_ntop(AF_INET6, d->addr, a, sizeof(a));
		if (d->scope == 0)
			snprintf(buf, len, "[%s]:%u", a, d->port);
		else if (if_indextoname(d->scope, ifn))
			snprintf(buf, len, "[%s%%%s]:%u", a, ifn, d->port);
		else
			snprintf(buf, len, "[%s%%%u]:%u", a, d->scope, d->port);
	} else {
		inet_ntop(AF_INET, d->addr, a, sizeof(a));
		snprintf(buf, len, "%s:%u", a, d->port);
	}
}
