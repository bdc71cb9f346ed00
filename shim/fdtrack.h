/*
 * fdtrack.h - this process's file descriptors: the storage of each fd's
 * connection entry (its word, encoded and stepped by conn.h), the socket's
 * cookie and one auxiliary word (the program's own TCP_USER_TIMEOUT while
 * connect_timeout's is in force) and one time stamp (response outcomes).
 *
 * One 32-byte entry per fd in an array reserved once with mmap
 * (MAP_NORESERVE: only touched pages cost memory), sized from the fd limit,
 * so the hot path neither allocates nor locks: an entry is one atomic word
 * changed by CAS (exactly one thread resolves an outcome) plus the socket's
 * cookie, which tells a stale entry (the fd was closed behind our back and
 * reused) from the socket it was made for.
 */
#ifndef CB_FDTRACK_H
#define CB_FDTRACK_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "conn.h"

/* One entry; the table is an array of them (the accessors below are
 * inline: they run on every connect, I/O and close of a followed fd). */
struct cb_fd_entry {
	_Atomic uint64_t w;		/* the connection's word (conn.h) */
	_Atomic uint64_t cookie;	/* the socket's cookie, or 0 */
	_Atomic uint64_t aux;		/* conn.h's auxiliary word */
	_Atomic uint64_t t;		/* the connection's time stamp (t0) */
};

/* The table and its length: 0 until init, stored (release) after the
 * table and read with acquire (the shim initialises on its first connect,
 * with other threads running).  fdtrack.c's; read here only. */
extern struct cb_fd_entry *cb_fd_tab;
extern _Atomic uint32_t cb_fd_len;
extern _Atomic uint32_t cb_fd_high;

/* How many entries are in a state where I/O on the fd matters besides a
 * failed send (CONNECTING, AWAITING, REJECTED: cb_fd_watched_state), at
 * least: a store or CAS that makes one counts it before, one that ends one
 * uncounts it after, so the count is never below the truth.  While it is
 * zero an I/O call needs no entry at all (cb_fd_io_watched). */
extern _Atomic uint32_t cb_fd_watched;

static inline int
cb_fd_watched_state(uint64_t w)
{
	return cb_conn_unsettled(w) ||
	       cb_conn_state_of(w) == CB_CONN_REJECTED;
}

/* cb_fd_io_watched - might any entry care about an I/O call's result?
 * One relaxed load: the connect that made an entry watched came after its
 * count (program order, then the kernel's ordering of the socket's own
 * calls), so an I/O whose result depends on that connect sees it. */
static inline int
cb_fd_io_watched(void)
{
	return atomic_load_explicit(&cb_fd_watched, memory_order_relaxed) != 0;
}

/* cb_fdtrack_init - reserve the table for fds below limit.  0 or -errno.
 * Call once, before any other function here. */
int cb_fdtrack_init(uint32_t limit);

/* cb_fdtrack_limit - fds below this are tracked (0 before init). */
static inline uint32_t
cb_fdtrack_limit(void)
{
	return atomic_load_explicit(&cb_fd_len, memory_order_acquire);
}

/* entry fd, or NULL when fd is out of range */
static inline struct cb_fd_entry *
cb_fd_entry(int fd)
{
	return (uint32_t)fd < cb_fdtrack_limit() ? &cb_fd_tab[fd] : NULL;
}

/* cb_fd_load - entry fd's raw word (0 for fds out of range).  Acquire:
 * whoever sees a word sees the cookie, aux and time stored before it. */
static inline uint64_t
cb_fd_load(int fd)
{
	struct cb_fd_entry *e = cb_fd_entry(fd);

	return e ? atomic_load_explicit(&e->w, memory_order_acquire) : 0;
}

/* cb_fd_store - set entry fd (cookie first, then the word, release). */
void cb_fd_store(int fd, uint64_t w, uint64_t cookie);

/* cb_fd_clear - forget entry fd: word, cookie, auxiliary word, time. */
void cb_fd_clear(int fd);

/* cb_fd_cas - replace entry fd's word old by nw; 1 if it was old. */
static inline int
cb_fd_cas(int fd, uint64_t old, uint64_t nw)
{
	struct cb_fd_entry *e = cb_fd_entry(fd);
	int in = cb_fd_watched_state(nw) - cb_fd_watched_state(old), won;

	if (!e)
		return 0;
	if (in > 0)	/* counted before it can be seen */
		atomic_fetch_add_explicit(&cb_fd_watched, 1,
		    memory_order_seq_cst);
	won = atomic_compare_exchange_strong_explicit(&e->w, &old, nw,
	    memory_order_acq_rel, memory_order_acquire);
	if ((won && in < 0) || (!won && in > 0))
		atomic_fetch_sub_explicit(&cb_fd_watched, 1,
		    memory_order_relaxed);
	return won;
}

/* The other words are relaxed: each is stored before the word that needs
 * it (whose release publishes it) or by the winner of the word's CAS; the
 * flags order nothing else. */

/* cb_fd_set_cookie / cb_fd_cookie - the cookie stored with entry fd. */
static inline void
cb_fd_set_cookie(int fd, uint64_t cookie)
{
	struct cb_fd_entry *e = cb_fd_entry(fd);

	if (e)
		atomic_store_explicit(&e->cookie, cookie, memory_order_relaxed);
}

static inline uint64_t
cb_fd_cookie(int fd)
{
	struct cb_fd_entry *e = cb_fd_entry(fd);

	return e ? atomic_load_explicit(&e->cookie, memory_order_relaxed) : 0;
}

/* cb_fd_set_aux / cb_fd_aux - the auxiliary word of entry fd (store it
 * before the word that needs it: cb_fd_store's release publishes it). */
static inline void
cb_fd_set_aux(int fd, uint64_t aux)
{
	struct cb_fd_entry *e = cb_fd_entry(fd);

	if (e)
		atomic_store_explicit(&e->aux, aux, memory_order_relaxed);
}

static inline uint64_t
cb_fd_aux(int fd)
{
	struct cb_fd_entry *e = cb_fd_entry(fd);

	return e ? atomic_load_explicit(&e->aux, memory_order_relaxed) : 0;
}

/* cb_fd_set_time / cb_fd_time - the time stamp (ms) of entry fd's
 * connection (conn.h t0): the connect's start or the first byte's timer. */
static inline void
cb_fd_set_time(int fd, uint64_t t)
{
	struct cb_fd_entry *e = cb_fd_entry(fd);

	if (e)
		atomic_store_explicit(&e->t, t, memory_order_relaxed);
}

static inline uint64_t
cb_fd_time(int fd)
{
	struct cb_fd_entry *e = cb_fd_entry(fd);

	return e ? atomic_load_explicit(&e->t, memory_order_relaxed) : 0;
}

/* cb_fd_aux_or / cb_fd_aux_and - set / keep bits of the auxiliary word
 * atomically (flags changed by one thread while another steps the word). */
static inline void
cb_fd_aux_or(int fd, uint64_t bits)
{
	struct cb_fd_entry *e = cb_fd_entry(fd);

	if (e)
		atomic_fetch_or_explicit(&e->aux, bits, memory_order_relaxed);
}

static inline void
cb_fd_aux_and(int fd, uint64_t bits)
{
	struct cb_fd_entry *e = cb_fd_entry(fd);

	if (e)
		atomic_fetch_and_explicit(&e->aux, bits, memory_order_relaxed);
}

/* cb_fdtrack_forget - clear every entry (after fork, in the child: the
 * parent owns the outcomes of the sockets they share). */
void cb_fdtrack_forget(void);

/* cb_fdtrack_high - one past the highest fd ever stored. */
static inline uint32_t
cb_fdtrack_high(void)
{
	return atomic_load_explicit(&cb_fd_high, memory_order_relaxed);
}

#endif
