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

#include <stdint.h>

#include "conn.h"

/* cb_fdtrack_init - reserve the table for fds below limit.  0 or -errno.
 * Call once, before any other function here. */
int cb_fdtrack_init(uint32_t limit);

/* cb_fdtrack_limit - fds below this are tracked (0 before init). */
uint32_t cb_fdtrack_limit(void);

/* cb_fd_load - entry fd's raw word (0 for fds out of range). */
uint64_t cb_fd_load(int fd);

/* cb_fd_store - set entry fd (cookie first, then the word, release). */
void cb_fd_store(int fd, uint64_t w, uint64_t cookie);

/* cb_fd_cas - replace entry fd's word old by nw; 1 if it was old. */
int cb_fd_cas(int fd, uint64_t old, uint64_t nw);

/* cb_fd_set_cookie - replace only the cookie of entry fd. */
void cb_fd_set_cookie(int fd, uint64_t cookie);

/* cb_fd_cookie - the cookie stored with entry fd. */
uint64_t cb_fd_cookie(int fd);

/* cb_fd_set_aux / cb_fd_aux - the auxiliary word of entry fd (store it
 * before the word that needs it: cb_fd_store's release publishes it). */
void cb_fd_set_aux(int fd, uint64_t aux);
uint64_t cb_fd_aux(int fd);

/* cb_fd_set_time / cb_fd_time - the time stamp (ms) of entry fd's
 * connection (conn.h t0): the connect's start or the first byte's timer. */
void cb_fd_set_time(int fd, uint64_t t);
uint64_t cb_fd_time(int fd);

/* cb_fd_aux_or / cb_fd_aux_and - set / keep bits of the auxiliary word
 * atomically (flags changed by one thread while another steps the word). */
void cb_fd_aux_or(int fd, uint64_t bits);
void cb_fd_aux_and(int fd, uint64_t bits);

/* cb_fdtrack_forget - clear every entry (after fork, in the child: the
 * parent owns the outcomes of the sockets they share). */
void cb_fdtrack_forget(void);

/* cb_fdtrack_high - one past the highest fd ever stored. */
uint32_t cb_fdtrack_high(void);

#endif
