/*
 * fdtrack.c - per-process fd table (see fdtrack.h; the accessors are
 * inline there).
 *
 * The word's layout is conn.h's.  Memory orders: the cookie, auxiliary
 * and time words are stored before the word with release, and read after
 * an acquire load of the word, so whoever sees a word sees them.
 */
#include "fdtrack.h"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>

_Static_assert(sizeof(struct cb_fd_entry) == 32, "entries share no line");

struct cb_fd_entry *cb_fd_tab;
_Atomic uint32_t cb_fd_len;
_Atomic uint32_t cb_fd_high;
_Atomic uint32_t cb_fd_watched;

/* entry e's word was old (replaced by an exchange): uncount it */
static void
unwatch(uint64_t old)
{
	if (cb_fd_watched_state(old))
		atomic_fetch_sub_explicit(&cb_fd_watched, 1,
		    memory_order_relaxed);
}

int
cb_fdtrack_init(uint32_t limit)
{
	void *m;

	if (limit == 0)
		return -EINVAL;
	m = mmap(NULL, (size_t)limit * sizeof(struct cb_fd_entry),
		 PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (m == MAP_FAILED)
		return -errno;
	cb_fd_tab = m;
	atomic_store_explicit(&cb_fd_len, limit, memory_order_release);
	return 0;
}

CB_HOT void
cb_fd_store(int fd, uint64_t w, uint64_t cookie)
{
	struct cb_fd_entry *e = cb_fd_entry(fd);
	uint32_t h;

	if (!e)
		return;
	atomic_store_explicit(&e->cookie, cookie, memory_order_relaxed);
	if (cb_fd_watched_state(w))	/* counted before it can be seen */
		atomic_fetch_add_explicit(&cb_fd_watched, 1,
		    memory_order_seq_cst);
	/* an exchange, not a store: the word it replaces is uncounted
	 * exactly once, by whoever replaced it */
	unwatch(atomic_exchange_explicit(&e->w, w, memory_order_acq_rel));
	h = atomic_load_explicit(&cb_fd_high, memory_order_relaxed);
	while ((uint32_t)fd >= h &&
	       !atomic_compare_exchange_weak_explicit(&cb_fd_high, &h,
	       (uint32_t)fd + 1, memory_order_relaxed, memory_order_relaxed))
		;
}

CB_HOT void
cb_fd_clear(int fd)
{
	struct cb_fd_entry *e = cb_fd_entry(fd);

	if (!e)
		return;
	unwatch(atomic_exchange_explicit(&e->w, 0, memory_order_acq_rel));
	atomic_store_explicit(&e->cookie, 0, memory_order_relaxed);
	atomic_store_explicit(&e->aux, 0, memory_order_relaxed);
	atomic_store_explicit(&e->t, 0, memory_order_relaxed);
}

void
cb_fdtrack_forget(void)
{
	uint32_t h = cb_fdtrack_high();
	size_t len = (size_t)h * sizeof(struct cb_fd_entry);

	if (!cb_fd_tab || h == 0)
		return;
	/* Private anonymous pages: MADV_DONTNEED gives zero pages back. */
	len = (len + 4095) & ~(size_t)4095;
	if (madvise(cb_fd_tab, len, MADV_DONTNEED) < 0)
		memset(cb_fd_tab, 0, (size_t)h * sizeof(struct cb_fd_entry));
	/* the child's one thread: nothing is watched any more */
	atomic_store_explicit(&cb_fd_watched, 0, memory_order_relaxed);
}
