/*
 * fdtrack.h - this process's file descriptors: which ones are TCP sockets,
 * which have a connect attempt pending or an established connection, with
 * the breaker slot and ticket each outcome must be charged to.
 *
 * One 16-byte entry per fd in an array reserved once with mmap
 * (MAP_NORESERVE: only touched pages cost memory), sized from the fd limit,
 * so the hot path neither allocates nor locks: an entry is one atomic word
 * changed by CAS (exactly one thread resolves an outcome) plus the socket's
 * cookie, which tells a stale entry (the fd was closed behind our back and
 * reused) from the socket it was made for.
 */
#ifndef CB_FDTRACK_H
#define CB_FDTRACK_H

#include <stdint.h>

#include "breaker.h"

enum cb_fd_state {
	CB_FD_NONE = 0,		/* nothing known */
	CB_FD_OTHER,		/* a socket that is not governed */
	CB_FD_TCP,		/* an AF_INET/AF_INET6 stream socket */
	CB_FD_PENDING,		/* connect in progress: outcome unknown */
	CB_FD_CONNECTED,	/* established: a send failure may count */
	CB_FD_SPENT,		/* its one send failure was counted */
};

/* A decoded entry. */
struct cb_fd {
	enum cb_fd_state state;
	uint32_t slot;			/* breaker slot in the table */
	struct cb_ticket ticket;	/* as cb_breaker_admit gave it */
};

/* cb_fdtrack_init - reserve the table for fds below limit.  0 or -errno.
 * Call once, before any other function here. */
int cb_fdtrack_init(uint32_t limit);

/* cb_fdtrack_limit - fds below this are tracked (0 before init). */
uint32_t cb_fdtrack_limit(void);

/* cb_fd_load - entry fd's raw word (0 for fds out of range). */
uint64_t cb_fd_load(int fd);

/* cb_fd_decode / cb_fd_encode - raw word <-> struct cb_fd. */
void cb_fd_decode(uint64_t w, struct cb_fd *f);
uint64_t cb_fd_encode(const struct cb_fd *f);

/* cb_fd_state_of - the state in a raw word. */
static inline enum cb_fd_state
cb_fd_state_of(uint64_t w)
{
	return (enum cb_fd_state)(w & 7);
}

/* cb_fd_store - set entry fd (cookie first, then the word, release). */
void cb_fd_store(int fd, uint64_t w, uint64_t cookie);

/* cb_fd_cas - replace entry fd's word old by nw; 1 if it was old. */
int cb_fd_cas(int fd, uint64_t old, uint64_t nw);

/* cb_fd_set_cookie - replace only the cookie of entry fd. */
void cb_fd_set_cookie(int fd, uint64_t cookie);

/* cb_fd_cookie - the cookie stored with entry fd. */
uint64_t cb_fd_cookie(int fd);

/* cb_fdtrack_forget - clear every entry (after fork, in the child: the
 * parent owns the outcomes of the sockets they share). */
void cb_fdtrack_forget(void);

/* cb_fdtrack_high - one past the highest fd ever stored. */
uint32_t cb_fdtrack_high(void);

#endif
