/*
 * fdtrack.c - per-process fd table (see fdtrack.h).
 *
 * The word's layout is conn.h's.  Memory orders: the cookie is
 * stored before the word with release, and read after an acquire load of
 * the word, so whoever sees a word sees its cookie.
 */
#include "fdtrack.h"

#include <errno.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/mman.h>

struct entry {
	_Atomic uint64_t w;
	_Atomic uint64_t cookie;
	_Atomic uint64_t aux;
	_Atomic uint64_t t;	/* the connection's time stamp (conn.h t0) */
};

static struct entry *tab;
/* 0 until init; stored (release) after tab and read with acquire: the
 * shim initialises on its first connect, with other threads running */
static _Atomic uint32_t tab_len;
static _Atomic uint32_t high;

int
cb_fdtrack_init(uint32_t limit)
{
	void *m;

	if (limit == 0)
		return -EINVAL;
	m = mmap(NULL, (size_t)limit * sizeof(struct entry),
		 PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (m == MAP_FAILED)
		return -errno;
	tab = m;
	atomic_store_explicit(&tab_len, limit, memory_order_release);
	return 0;
}

uint32_t
cb_fdtrack_limit(void)
{
	return atomic_load_explicit(&tab_len, memory_order_acquire);
}

uint64_t
cb_fd_load(int fd)
{
	if (fd < 0 || (uint32_t)fd >= cb_fdtrack_limit())
		return 0;
	return atomic_load_explicit(&tab[fd].w, memory_order_acquire);
}

void
cb_fd_store(int fd, uint64_t w, uint64_t cookie)
{
	uint32_t h;

	if (fd < 0 || (uint32_t)fd >= cb_fdtrack_limit())
		return;
	atomic_store_explicit(&tab[fd].cookie, cookie, memory_order_relaxed);
	atomic_store_explicit(&tab[fd].w, w, memory_order_release);
	h = atomic_load_explicit(&high, memory_order_relaxed);
	while ((uint32_t)fd >= h &&
	       !atomic_compare_exchange_weak_explicit(&high, &h,
	       (uint32_t)fd + 1, memory_order_relaxed, memory_order_relaxed))
		;
}

int
cb_fd_cas(int fd, uint64_t old, uint64_t nw)
{
	if (fd < 0 || (uint32_t)fd >= cb_fdtrack_limit())
		return 0;
	return atomic_compare_exchange_strong_explicit(&tab[fd].w, &old, nw,
	    memory_order_acq_rel, memory_order_acquire);
}

void
cb_fd_set_cookie(int fd, uint64_t cookie)
{
	if (fd >= 0 && (uint32_t)fd < cb_fdtrack_limit())
		atomic_store_explicit(&tab[fd].cookie, cookie,
		    memory_order_relaxed);
}

uint64_t
cb_fd_cookie(int fd)
{
	if (fd < 0 || (uint32_t)fd >= cb_fdtrack_limit())
		return 0;
	return atomic_load_explicit(&tab[fd].cookie, memory_order_relaxed);
}

void
cb_fd_set_aux(int fd, uint64_t aux)
{
	if (fd >= 0 && (uint32_t)fd < tab_len)
		atomic_store_explicit(&tab[fd].aux, aux, memory_order_relaxed);
}

uint64_t
cb_fd_aux(int fd)
{
	if (fd < 0 || (uint32_t)fd >= tab_len)
		return 0;
	return atomic_load_explicit(&tab[fd].aux, memory_order_relaxed);
}

/* relaxed: like the aux word, stored before the word that needs it or by
 * the winner of the word's CAS */
void
cb_fd_set_time(int fd, uint64_t t)
{
	if (fd >= 0 && (uint32_t)fd < tab_len)
		atomic_store_explicit(&tab[fd].t, t, memory_order_relaxed);
}

uint64_t
cb_fd_time(int fd)
{
	if (fd < 0 || (uint32_t)fd >= tab_len)
		return 0;
	return atomic_load_explicit(&tab[fd].t, memory_order_relaxed);
}

/* relaxed: the flags order nothing else; the word's CAS orders the rest */
void
cb_fd_aux_or(int fd, uint64_t bits)
{
	if (fd >= 0 && (uint32_t)fd < tab_len)
		atomic_fetch_or_explicit(&tab[fd].aux, bits,
		    memory_order_relaxed);
}

void
cb_fd_aux_and(int fd, uint64_t bits)
{
	if (fd >= 0 && (uint32_t)fd < tab_len)
		atomic_fetch_and_explicit(&tab[fd].aux, bits,
		    memory_order_relaxed);
}

void
cb_fdtrack_forget(void)
{
	uint32_t h = atomic_load_explicit(&high, memory_order_relaxed);
	size_t len = (size_t)h * sizeof(struct entry);

	if (!tab || h == 0)
		return;
	/* Private anonymous pages: MADV_DONTNEED gives zero pages back. */
	len = (len + 4095) & ~(size_t)4095;
	if (madvise(tab, len, MADV_DONTNEED) < 0)
		memset(tab, 0, (size_t)h * sizeof(struct entry));
}

uint32_t
cb_fdtrack_high(void)
{
	return atomic_load_explicit(&high, memory_order_relaxed);
}
