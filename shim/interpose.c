/*
 * interpose.c - the exported libc wrappers: what happens on connect().
 *
 *   connect() -> begin(): govern() decides (is this a TCP socket to an
 *   IP:port whose breaker says no?  Then reject(): ECONNREFUSED at once,
 *   or on a non-blocking socket EINPROGRESS and the refusal reported later,
 *   as the kernel does; no system call toward the destination).  Admitted,
 *   the attempt is bounded (connect_timeout) and recorded BEFORE the real
 *   connect; its result, and every later event on the fd (SO_ERROR, I/O,
 *   close, dup over it), goes to report(), which steps the fd's entry
 *   through conn.c's one transition function and records the outcome.
 *
 * Everything else here follows an fd's life (socket, accept, dup*, fcntl
 * F_DUPFD*, F_SETFL, ioctl FIONBIO, close, close_range, closefrom, fork) so
 * that an outcome is only ever charged to the destination its socket was
 * connected to.
 *
 * Rules: real functions are found once with dlsym(RTLD_NEXT); any trouble
 * means pass-through with one "cbshim: ..." line per process; on every path
 * that does not reject, the caller gets the real call's return value and
 * errno; the hot paths take no lock, allocate nothing and log with write(2).
 *
 * Lazy start: loading the shim only resolves the real functions.  The
 * configuration, the segment and the fd table come with the process's
 * first governed connect (AF_INET/AF_INET6, SOCK_STREAM): a program that
 * never connects reads nothing and creates nothing.  Until then no socket
 * is tracked, so every other hook is the usual cheap fd-table check.  See
 * ensure_init() for threads, signals and fork during that first connect.
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <linux/futex.h>
#include <signal.h>
#include <netinet/tcp.h>
#include <sys/auxv.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <syslog.h>
#include <unistd.h>

#include "breaker.h"
#include "config.h"
#include "conn.h"
#include "fdtrack.h"
#include "libconfig_dl.h"
#include "names.h"
#include "table.h"

#define EXPORT __attribute__((visibility("default")))

/* an fd entry keeps a slot index in CB_CONN_SLOT_BITS (conn.h): the
 * table has at most the power of two >= 2 x CB_MAX_CAPACITY slots */
_Static_assert(2ull * CB_MAX_CAPACITY <= 1ull << CB_CONN_SLOT_BITS,
	       "every slot index fits an fd entry");
/* off the closed path: out of line, away from the CB_HOT functions */
#define RARE __attribute__((cold, noinline))
#define FD_LIMIT_CAP (1u << 22)

#ifndef SO_COOKIE
#define SO_COOKIE 57
#endif
/* socket()'s type without SOCK_NONBLOCK and SOCK_CLOEXEC (the kernel's
 * own mask, which glibc does not export) */
#define SOCK_TYPE_MASK 0xf
#ifndef CLOSE_RANGE_UNSHARE
#define CLOSE_RANGE_UNSHARE (1U << 1)
#endif
#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

/* ---- the real functions ------------------------------------------ */

static struct {
	int (*socket)(int, int, int);
	int (*connect)(int, const struct sockaddr *, socklen_t);
	int (*accept)(int, struct sockaddr *, socklen_t *);
	int (*accept4)(int, struct sockaddr *, socklen_t *, int);
	ssize_t (*send)(int, const void *, size_t, int);
	ssize_t (*sendto)(int, const void *, size_t, int,
			  const struct sockaddr *, socklen_t);
	ssize_t (*sendmsg)(int, const struct msghdr *, int);
	int (*sendmmsg)(int, struct mmsghdr *, unsigned int, int);
	ssize_t (*write)(int, const void *, size_t);
	ssize_t (*writev)(int, const struct iovec *, int);
	ssize_t (*recv)(int, void *, size_t, int);
	ssize_t (*recvfrom)(int, void *, size_t, int, struct sockaddr *,
			    socklen_t *);
	ssize_t (*recvmsg)(int, struct msghdr *, int);
	ssize_t (*read)(int, void *, size_t);
	ssize_t (*readv)(int, const struct iovec *, int);
	int (*getsockopt)(int, int, int, void *, socklen_t *);
	int (*close)(int);
	int (*close_range)(unsigned, unsigned, int);
	void (*closefrom)(int);
	int (*dup)(int);
	int (*dup2)(int, int);
	int (*dup3)(int, int, int);
	int (*fcntl)(int, int, ...);
	int (*fcntl64)(int, int, ...);
	int (*ioctl)(int, unsigned long, ...);
	FILE *(*fdopen)(int, const char *);
	ssize_t (*read_chk)(int, void *, size_t, size_t);
	ssize_t (*recv_chk)(int, void *, size_t, size_t, int);
	ssize_t (*recvfrom_chk)(int, void *, size_t, size_t, int,
				struct sockaddr *, socklen_t *);
} real;

static _Atomic int resolved;

static void resolve(void);
static void keep_env(void);
static void init(void);
static int active(void);
static int governing(int fd, const struct sockaddr *sa, socklen_t len);
static void warn_once(const char *msg, int hot);
static int govern(int fd, uint64_t w, const struct sockaddr *sa,
		  socklen_t len, struct cb_breaker *bp, struct cb_conn_ev *ev);
/* off the decision's path: kept out of govern() so its frame stays small */
static int create_breaker(const struct cb_dest *d, uint64_t hash,
			  struct cb_breaker *bp, uint32_t *slot)
	__attribute__((noinline));
static void name_breaker(uint32_t slot, uint64_t hash)
	__attribute__((noinline));
static void outcome(const struct cb_conn *c, int success, int err,
		    int cause);
static void conclude(const struct cb_conn *c, int err);
static int report(int fd, uint64_t w, struct cb_conn_ev *ev);
static void timing(const struct cb_conn *c, struct cb_conn_ev *ev);
static int begin(int fd, uint64_t *wp, const struct sockaddr *sa,
		 socklen_t len);
static int untracked(int fd, const struct cb_conn *c,
		     const struct cb_conn *n, int changed,
		     struct cb_conn_out *o);
static void arm_timeout(int fd, const struct cb_breaker *b,
			struct cb_conn_ev *ev, unsigned *own);
static void arm_timeout_set(int fd, unsigned ct, struct cb_conn_ev *ev,
			    unsigned *own);
static void sync_flags(int fd, const struct cb_conn *c,
		       const struct cb_conn *n);
static int reject(int fd, struct cb_conn *c, int err);
static int nonblocking(int fd);
static void after_io(int fd, uint64_t w, ssize_t r, int sending,
		     int empty);
static void forget_fd(int fd);
static uint64_t cookie_of(int fd);
static int connected(int fd);
static int dissolve(int fd, const struct sockaddr *sa, socklen_t len);
static void at_fork_child(void);
static void flags_set(int fd, int nonblock);

#define R(name) (resolved ? real.name : (resolve(), real.name))

static void
resolve(void)
{
#define GET(name) real.name = dlsym(RTLD_NEXT, #name)
	GET(socket); GET(connect); GET(accept); GET(accept4);
	GET(send); GET(sendto); GET(sendmsg); GET(sendmmsg);
	GET(write); GET(writev); GET(recv); GET(recvfrom); GET(recvmsg);
	GET(read); GET(readv); GET(getsockopt); GET(close); GET(close_range);
	GET(closefrom); GET(dup); GET(dup2); GET(dup3); GET(fcntl);
	GET(fcntl64); GET(fdopen); GET(ioctl);
#undef GET
	/* _FORTIFY_SOURCE builds call these instead of read/recv/recvfrom */
	real.read_chk = dlsym(RTLD_NEXT, "__read_chk");
	real.recv_chk = dlsym(RTLD_NEXT, "__recv_chk");
	real.recvfrom_chk = dlsym(RTLD_NEXT, "__recvfrom_chk");
	atomic_store(&resolved, 1);
}

/* ---- process state ------------------------------------------------- */

/* state: ST_NEW, ST_READY or ST_OFF, or st_init(tid) while thread
 * tid initialises (tid < 2^22, pid_max's limit, so it fits).  It is also
 * the futex the other threads' first connects wait on. */
enum { ST_NEW = 0, ST_READY, ST_OFF, ST_INIT };
#define ST_BITS 2		/* ST_* in the low bits, the tid above */

/* the state while thread tid initialises, and that thread's tid */
static inline int
st_init(pid_t tid)
{
	return (int)tid << ST_BITS | ST_INIT;
}

static inline pid_t
st_tid(int s)
{
	return s >> ST_BITS;
}

static _Atomic int state;
static _Atomic int warned;

/* Which copy of the library this is: with two in one process
 * (/etc/ld.so.preload and LD_PRELOAD both naming one, say) the first in
 * the lookup order has its definition of this name found first; it
 * governs, and the others pass everything through, so an attempt is
 * decided and counted once. */
static const char *
copy_mark(void)
{
	return "cbshim " CB_VERSION;
}
/* exported under this name (a function: two copies of one exported
 * variable would be an ODR violation to ASan); copy_mark (hidden) is
 * this copy's own address, where a reference to cbshim_copy would find
 * the first copy's */
const char *cbshim_copy(void)
	__attribute__((alias("copy_mark"), visibility("default")));
static struct cb_table *table;
static struct cb_config *config;
static int log_level = CB_LOG_WARN;
static int log_syslog;
static pid_t my_pid;
/* see keep_env; small enough to stay in the data segment's last page
 * (more .bss costs every process one more mmap at load) */
static char start_config[1024], start_shm[256];
static int start_kept, start_too_long;

/* The file fd 2 was when the library was loaded (st_dev 0 and st_ino 0:
 * none, or a socket).  The warning goes only there. */
static dev_t err_dev;
static ino_t err_ino;

static void
record_stderr(void)
{
	struct stat st;

	if (fstat(2, &st) == 0 && !S_ISSOCK(st.st_mode)) {
		err_dev = st.st_dev;
		err_ino = st.st_ino;
	}
}

/* write(2) msg to fd 2 if it is still the file it was at load, never
 * raising SIGPIPE: blocked around the write, and one the write made is
 * consumed (unless one was pending already, which is the program's). */
static void
write_stderr(const char *msg, size_t n)
{
	static const struct timespec zero_wait = { 0, 0 };
	sigset_t pipe, old, pending;
	struct stat st;
	int was_pending, e = errno;

	if (fstat(2, &st) < 0 || S_ISSOCK(st.st_mode) ||
	    (err_dev == 0 && err_ino == 0) || st.st_dev != err_dev ||
	    st.st_ino != err_ino)
		return;
	sigemptyset(&pipe);
	sigaddset(&pipe, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &pipe, &old);
	was_pending = sigpending(&pending) == 0 &&
		      sigismember(&pending, SIGPIPE) == 1;
	if (R(write)(2, msg, n) < 0 && errno == EPIPE && !was_pending)
		sigtimedwait(&pipe, NULL, &zero_wait);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	errno = e;
}

/* One line per process: to stderr while it is the file it was at start
 * (write_stderr), or to syslog when configured.  On the connect path
 * (hot) only write(2) is safe, so a syslog configuration stays silent
 * there (the table-full count shows in cbctl list). */
static void
warn_once(const char *msg, int hot)
{
	char buf[512];
	int n, zero = 0;

	if (log_level < CB_LOG_WARN ||
	    !atomic_compare_exchange_strong(&warned, &zero, 1))
		return;
	if (log_syslog) {
		if (!hot)
			syslog(LOG_WARNING, "cbshim: %s", msg);
		return;
	}
	n = snprintf(buf, sizeof(buf), "cbshim: %s\n", msg);
	if (n > (int)sizeof(buf) - 1)
		n = (int)sizeof(buf) - 1;
	write_stderr(buf, (size_t)n);
}

static void
fail_init(const char *msg)
{
	warn_once(msg, 0);
	atomic_store(&state, ST_OFF);
}

/* The segment the configuration (or CBSHIM_SHM) names, attached or
 * created into table: 0, or -1 after fail_init. */
static int
attach_segment(void)
{
	char err[1024], name[256], why[256];
	struct cb_table_opts o = { .create = 1, .mode = 0600,
				   .capacity = CB_DEFAULT_CAPACITY };
	int r;

	if (start_shm[0])
		snprintf(name, sizeof(name), "%s", start_shm);
	else if (cb_config_shm_name(config))
		snprintf(name, sizeof(name), "%s", cb_config_shm_name(config));
	else
		cb_table_default_name(name, sizeof(name));
	o.mode = cb_config_shm_mode(config);
	o.capacity = cb_config_max_breakers(config);
	if ((r = cb_table_attach_owner(&table, name, &o,
				       cb_config_shm_owner(config), why,
				       sizeof(why))) < 0) {
		snprintf(err, sizeof(err), "segment %s: %s; passing through%s",
			 name, why, (r == -EBADMSG || r == -EPROTO ||
			 r == -EPERM) && cb_table_removable(name) ?
			 " (cbctl destroy removes it)" : "");
		fail_init(err);
		return -1;
	}
	return 0;
}

/* Another copy of the library comes first in the lookup order (none is
 * found when this one was loaded with RTLD_LOCAL: then it governs). */
static int
another_copy_first(void)
{
	const void *first = dlsym(RTLD_DEFAULT, "cbshim_copy");

	return first != NULL && first != (const void *)copy_mark;
}

static void
init(void)
{
	char err[1024], why[256];
	const char *path;
	struct rlimit rl;
	uint32_t lim;
	int r;

	if (!resolved)
		resolve();
	if (getauxval(AT_SECURE) ||	/* setuid etc.: do nothing at all */
	    another_copy_first()) {	/* (it governs: quietly) */
		atomic_store(&state, ST_OFF);
		return;
	}
	keep_env();	/* done, unless a connect came before our constructor */
	if (start_too_long)
		return fail_init("CBSHIM_CONFIG or CBSHIM_SHM too long; "
				 "passing through");
	if (cb_libconfig_load(why, sizeof(why)) < 0) {
		snprintf(err, sizeof(err), "cannot load %s (%s); passing through",
			 CB_LIBCONFIG_SONAME, why);
		return fail_init(err);
	}
	path = start_config[0] ? start_config : cb_config_path();
	if ((r = cb_config_load(&config, path, err, sizeof(err))) < 0)
		return fail_init(err);
	log_level = cb_config_log_level(config);
	log_syslog = cb_config_log_syslog(config);
	if (attach_segment() < 0)
		return;
	cb_table_set_reclaim(table, cb_config_reclaim_after(config), NULL);
	lim = FD_LIMIT_CAP;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_max < lim)
		lim = rl.rlim_max < 1024 ? 1024 : (uint32_t)rl.rlim_max;
	/* the slots this process knows named (no room: breakers are named
	 * only when created) */
	cb_names_slots(cb_table_slots(table));
	if (cb_fdtrack_init(lim) < 0)
		return fail_init("cannot reserve the fd table; passing through");
	my_pid = getpid();
	pthread_atfork(NULL, NULL, at_fork_child);
	atomic_store(&state, ST_READY);
}

/* The shim's variables as the program started, read at load for its
 * first connect: a program may clear or rewrite its environment before
 * (nginx keeps only TZ, and overwrites the strings with its title). */
static void
keep_env(void)
{
	const char *e;

	if (start_kept)
		return;
	start_kept = 1;
	if ((e = secure_getenv("CBSHIM_CONFIG")) && *e &&
	    snprintf(start_config, sizeof(start_config), "%s", e) >=
	    (int)sizeof(start_config))
		start_too_long = 1;
	if ((e = getenv("CBSHIM_SHM")) && *e &&
	    snprintf(start_shm, sizeof(start_shm), "%s", e) >=
	    (int)sizeof(start_shm))
		start_too_long = 1;
}

/* At load: the real functions and two environment variables, nothing
 * else (see the head comment). */
__attribute__((constructor)) static void
cbshim_ctor(void)
{
	record_stderr();	/* "the file at start": one fstat */
	resolve();
	keep_env();
}

/* 1 when breakers are on (never initialises: only a governed connect
 * does).  Acquire: pairs with the release that published table, config
 * and the fd table. */
static int
active(void)
{
	return atomic_load_explicit(&state, memory_order_acquire) == ST_READY;
}

/* The signals a thread's own instruction raises (a fault): they cannot
 * arrive while it waits in a system call, and blocking them would kill. */
static const int sync_sigs[] = { SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP,
				 SIGSYS };

static int
is_sync_signal(int sig)
{
	size_t i;

	for (i = 0; i < sizeof(sync_sigs) / sizeof(sync_sigs[0]); i++)
		if (sync_sigs[i] == sig)
			return 1;
	return 0;
}

/* Block every asynchronous signal in this thread (old: the mask before),
 * so that none of its handlers runs inside init: a handler that connects
 * runs once the state is final, and is governed. */
static void
block_signals(sigset_t *old)
{
	sigset_t all;
	size_t i;

	sigfillset(&all);
	for (i = 0; i < sizeof(sync_sigs) / sizeof(sync_sigs[0]); i++)
		sigdelset(&all, sync_sigs[i]);
	pthread_sigmask(SIG_BLOCK, &all, old);
}

/* Run init() as the thread the state names, signals blocked, with
 * cancellation off (libconfig and shm calls are cancellation points; a
 * cancelled init would leave the state stuck), then wake the threads
 * waiting for it. */
static int
run_init(void)
{
	int cs, s;

	pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &cs);
	init();			/* stores ST_READY or ST_OFF */
	s = atomic_load_explicit(&state, memory_order_acquire);
	syscall(SYS_futex, &state, FUTEX_WAKE_PRIVATE, INT32_MAX, NULL,
		NULL, 0);
	pthread_setcancelstate(cs, NULL);
	return s == ST_READY;
}

/* Has thread tid of this process ended?  (The initialising thread exists
 * in the parent only when another thread forked during init.) */
static int
gone(int tid)
{
	return syscall(SYS_tgkill, getpid(), tid, 0) < 0 && errno == ESRCH;
}

/* Initialise once, whoever comes first: the state moves ST_NEW -> ST_INIT
 * by one CAS; the winner runs init(); every other thread's first connect
 * waits on the futex until the state is final, so no attempt made while
 * the process initialises escapes its breaker.  The initialising thread
 * itself never waits: a re-entry from inside init passes through.  After
 * a fork during another thread's init the child has no initialiser: a
 * waiter that finds it gone resets the state and initialises itself.
 * Only system calls outside init(), so a signal handler may get here.
 * The wait is bounded (2 s): a handler that waits holding what init needs
 * (it interrupted malloc, say) passes through rather than deadlocks.
 * Returns 1 when breakers are on; errno is kept. */
static __attribute__((cold, noinline)) int
ensure_init(void)
{
	const struct timespec tick = { 0, 20 * 1000 * 1000 };
	uint64_t until = cb_now_ms() + 2000;	/* then pass through */
	int e = errno, mine = st_init(gettid()), s, on = 0;
	sigset_t old;

	while (cb_now_ms() < until) {
		/* acquire: see what the initialiser published */
		s = atomic_load_explicit(&state, memory_order_acquire);
		if (s == ST_READY || s == ST_OFF) {
			on = s == ST_READY;
			break;
		}
		if (s == ST_NEW) {
			block_signals(&old);	/* before: no window */
			if (atomic_compare_exchange_strong_explicit(&state, &s,
			    mine, memory_order_acq_rel, memory_order_acquire))
				on = run_init();
			pthread_sigmask(SIG_SETMASK, &old, NULL);
			if (s == ST_NEW)	/* we won and ran it */
				break;
			continue;
		}
		if (s == mine) {	/* re-entered from our own init */
			on = 0;
			break;
		}
		if (syscall(SYS_futex, &state, FUTEX_WAIT_PRIVATE, s, &tick,
			    NULL, 0) < 0 && errno == ETIMEDOUT && gone(st_tid(s)))
			atomic_compare_exchange_strong_explicit(&state, &s,
			    ST_NEW, memory_order_acq_rel, memory_order_acquire);
	}
	errno = e;
	return on;
}

/* 1 when a connect to sa on fd is to be governed; the first one that
 * would be (an IP destination, a stream socket) initialises the process.
 * Before that, only this check: no tracked socket exists yet. */
static CB_HOT int
governing(int fd, const struct sockaddr *sa, socklen_t len)
{
	struct cb_dest d;
	int s = atomic_load_explicit(&state, memory_order_acquire);
	int type = 0, e;
	socklen_t l = sizeof(type);

	if (__builtin_expect(s == ST_READY || s == ST_OFF, 1))
		return s == ST_READY;
	if (!sa || cb_dest_from_sockaddr(&d, sa, len) < 0)
		return 0;
	e = errno;
	if (R(getsockopt)(fd, SOL_SOCKET, SO_TYPE, &type, &l) < 0 ||
	    type != SOCK_STREAM) {
		errno = e;
		return 0;
	}
	return ensure_init();
}

static void
at_fork_child(void)
{
	my_pid = getpid();
	cb_fdtrack_forget();
}

/* ---- deciding ------------------------------------------------------ */

/* A TCP socket handed to fdopen() before its connect: take its cookie at
 * connect.  fclose() closes through libc's internal path, unseen, so only
 * such sockets can end behind our back and be reused (short of raw system
 * calls); every other socket skips the extra system call. */
#define COOKIE_WANTED UINT64_MAX

/* The cookie an attempt's entry keeps: the socket's own when fdopen()
 * asked for it, else what the entry had. */
static CB_HOT uint64_t
cookie_for_attempt(int fd)
{
	uint64_t c = cb_fd_cookie(fd);

	return c == COOKIE_WANTED ? cookie_of(fd) : c;
}

static uint64_t
cookie_of(int fd)
{
	uint64_t c = 0;
	socklen_t l = sizeof(c);
	int e = errno;

	if (R(getsockopt)(fd, SOL_SOCKET, SO_COOKIE, &c, &l) < 0)
		c = 0;
	errno = e;
	return c;
}

static void
event(uint32_t slot, const struct cb_transition *tr)
{
	if (tr->why != CB_WHY_NONE)
		cb_table_event(table, slot, tr, cb_now_ms(), getpid());
}

/* Slot's breaker into *b: b, or NULL when the slot holds none. */
static CB_HOT struct cb_breaker *
breaker_at(uint32_t slot, struct cb_breaker *b)
{
	return cb_table_slot(table, slot, b, NULL) == 0 ? b : NULL;
}

/* Is this a governed TCP socket?  Known from socket() when we saw it;
 * else ask the kernel once. */
static CB_HOT int
is_tcp(int fd, uint64_t w)
{
	int type = 0;
	socklen_t l = sizeof(type);

	switch (cb_conn_state_of(w)) {
	case CB_CONN_OTHER:
		return 0;
	case CB_CONN_NONE:
		if (R(getsockopt)(fd, SOL_SOCKET, SO_TYPE, &type, &l) < 0)
			return 0;
		return type == SOCK_STREAM;
	default:
		return 1;
	}
}

/* Decide an attempt to sa on fd (entry word w).  Returns 0: not governed,
 * just pass; 1: admitted (*bp, ev->slot, ev->ticket filled); -1: rejected
 * (*bp and ev->slot filled). */
static CB_HOT int
govern(int fd, uint64_t w, const struct sockaddr *sa, socklen_t len,
       struct cb_breaker *bp, struct cb_conn_ev *ev)
{
	struct cb_dest d;
	struct cb_key k;
	struct cb_transition tr;
	int r, tries = 0;

	/* a longer address the kernel refuses (EINVAL): never rejected */
	if (len > sizeof(struct sockaddr_storage) ||
	    cb_dest_from_sockaddr(&d, sa, len) < 0)
		return 0;
	/* the breaker's line is likely cold (a system call came before):
	 * fetch it while the fd table is read */
	cb_table_key(table, &d, &k);
	if (!is_tcp(fd, w))
		return 0;
again:
	if (cb_table_find_key(table, &k, bp, &ev->slot) < 0 &&
	    create_breaker(&d, k.hash, bp, &ev->slot) < 0)
		return 0;
	if (cb_breaker_mode(bp) == CB_MODE_OFF)
		return 0;
	/* closed, or open until reset: decided without reading the clock */
	r = cb_breaker_admit_fast(bp, &ev->ticket);
	if (r > 0) {
		r = cb_breaker_admit(bp, cb_now_ms(), &ev->ticket, &tr);
		event(ev->slot, &tr);
	}
	/* the place was reclaimed for another destination while we looked
	 * (the key changed, or the breaker is retired): look again; after
	 * many tries (never seen) this attempt passes, unprotected */
	if (r == -EAGAIN || !cb_table_holds_key(bp, &k)) {
		if (r == 0)
			cb_breaker_release(bp, &ev->ticket);
		if (++tries < 8)
			goto again;
		return 0;
	}
	if (r < 0)
		return -1;
	/* a breaker made before any name gets the first one seen later; for
	 * one known named, a byte of this process's memory says so */
	if (cb_names_slot_unknown(ev->slot, k.hash))
		name_breaker(ev->slot, k.hash);
	return 1;
}

/* A new destination d (key hash hash): its policy from the rules (by the
 * host name this process reached it through, if any), then its breaker,
 * named.  0 and *bp, or -1: not governed (mode off, or no place now). */
static int
create_breaker(const struct cb_dest *d, uint64_t hash, struct cb_breaker *bp,
	       uint32_t *slot)
{
	char name[CB_NAME_MAX + 1];
	struct cb_policy p;
	size_t n = cb_names_lookup(d, name);
	int r, e = errno;	/* kept: the connect may pass through */

	cb_config_policy_named(config, d, n ? name : NULL, &p);
	if (p.mode == CB_MODE_OFF)
		return -1;
	/* -EBUSY: another process is creating this breaker and stalls;
	 * this one attempt passes, unprotected, unsaid */
	if ((r = cb_table_insert(table, d, &p, bp, slot)) < 0) {
		cb_table_count_unprotected(table);
		if (r == -ENOSPC)
			warn_once("breaker table full: new destinations "
				  "pass through unprotected (raise "
				  "shm.max_breakers)", 1);
		errno = e;
		return -1;
	}
	if (n && (cb_table_set_name(table, *slot, d, name, cb_now_ms()) == 0 ||
		  cb_table_has_name(table, *slot)))
		cb_names_slot_mark(*slot, hash);
	errno = e;
	return 0;
}

/* Give slot's breaker the name this process reached its destination
 * through, if any.  The destination comes from the slot's key, so that
 * govern() need not keep its own copy alive past the decision; hash: the
 * key's hash, which the mark is for. */
static void
name_breaker(uint32_t slot, uint64_t hash)
{
	char name[CB_NAME_MAX + 1];
	struct cb_breaker b;
	struct cb_dest d;

	if (!cb_table_has_name(table, slot) &&
	    (cb_table_slot(table, slot, &b, &d) < 0 ||
	     cb_names_lookup(&d, name) == 0 ||
	     cb_table_set_name(table, slot, &d, name, cb_now_ms()) < 0))
		return;		/* none yet; or another is naming it now */
	cb_names_slot_mark(slot, hash);
}

/* ---- the lifecycle: events to conn.c, outcomes to the breaker ------ */

static CB_HOT void
outcome(const struct cb_conn *c, int success, int err, int cause)
{
	struct cb_transition tr;
	struct cb_breaker bb, *b = breaker_at(c->slot, &bb);

	if (!b || (success && cb_breaker_record_fast(b, &c->ticket) == 0))
		return;
	cb_breaker_record_cause(b, &c->ticket, success, err, cause,
				cb_now_ms(), &tr);
	event(c->slot, &tr);
}

/* An attempt that did not connect ended with err: a failure if the
 * breaker's policy says so, else neither (a probe's place is freed). */
static RARE void
conclude(const struct cb_conn *c, int err)
{
	struct cb_breaker bb, *b = breaker_at(c->slot, &bb);

	if (b && cb_breaker_is_failure(b, err))
		outcome(c, 0, err, CB_CAUSE_ERRNO);
	else if (b)
		cb_breaker_release(b, &c->ticket);
}

/* The program's own TCP_USER_TIMEOUT, kept while connect_timeout's was
 * in force, comes back. */
static RARE void
restore_timeout(int fd)
{
	unsigned own = (unsigned)(cb_fd_aux(fd) & CB_AUX_OWN_MASK);
	int e = errno;

	setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &own, sizeof(own));
	errno = e;
}

/* Do what a step said (errno untouched). */
static CB_HOT void
apply(int fd, const struct cb_conn *c, const struct cb_conn_out *o)
{
	struct cb_breaker bb, *b;

	if (o->restore)
		restore_timeout(fd);
	switch (o->verdict) {
	case CB_OUT_SUCCESS:
		outcome(c, 1, 0, 0);
		break;
	case CB_OUT_FAILURE:
		outcome(c, 0, o->err, o->cause);
		break;
	case CB_OUT_ENDED:
		conclude(c, o->err);
		break;
	case CB_OUT_RELEASE:
		if ((b = breaker_at(c->slot, &bb)))
			cb_breaker_release(b, &c->ticket);
		break;
	}
}

/* Is the socket on fd connected (its handshake done)? */
static RARE int
connected(int fd)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	int e = errno, r = getpeername(fd, (struct sockaddr *)&ss, &sl) == 0;

	errno = e;
	return r;
}

/* Is the socket on fd still the one the entry was made for? */
static RARE int
same_socket(int fd)
{
	uint64_t c = cb_fd_cookie(fd);

	return c == 0 || c == COOKIE_WANTED || c == cookie_of(fd);
}

/* The socket's pending error (consumed, as the kernel does when the
 * program would have read it next), or -2 when it cannot be read. */
static RARE int
so_error(int fd)
{
	int err = 0, e = errno;
	socklen_t l = sizeof(err);

	if (R(getsockopt)(fd, SOL_SOCKET, SO_ERROR, &err, &l) < 0)
		err = -2;
	errno = e;
	return err;
}

/* Event ev happened on fd, whose entry word was w: step the entry (asking
 * the kernel for the facts the step needs), install the next entry by CAS
 * and, if this thread did, record the outcome.  The one place where an
 * entry's state changes after its attempt began.  Returns the errno the
 * call must fail with instead of its own (a rejection reported late), or
 * 0.  errno is untouched: every fact and action that makes a system call
 * keeps it (connected, same_socket, so_error, restore_timeout). */
static CB_HOT int
report(int fd, uint64_t w, struct cb_conn_ev *ev)
{
	struct cb_conn c, n;
	struct cb_conn_out o;
	int r;

	ev->peer = ev->same = ev->soerr = -1;
	for (;;) {
		cb_conn_decode(w, cb_fd_aux(fd), cb_fd_time(fd), &c);
		r = cb_conn_step(&c, ev, &n, &o);
		if (r == CB_NEED_NOW)
			timing(&c, ev);
		else if (r == CB_NEED_PEER)
			ev->peer = connected(fd);
		else if (r == CB_NEED_SAME)
			ev->same = same_socket(fd);
		else if (r == CB_NEED_SOERR)
			ev->soerr = so_error(fd);
		else if ((uint32_t)fd >= cb_fdtrack_limit())
			return untracked(fd, &c, &n, r, &o);
		else if (r == 0)
			return 0;
		else if (cb_fd_cas(fd, w, cb_conn_encode(&n))) {
			if (n.t0 != c.t0)
				cb_fd_set_time(fd, n.t0);
			sync_flags(fd, &c, &n);
			apply(fd, &c, &o);
			return o.report;
		} else
			w = cb_fd_load(fd);	/* moved on: step again */
	}
}

/* The facts of time a step asks for: now, and the breaker's
 * response_timeout and slow_call_duration (read together: a reload racing
 * the step gives old or new values, either is right). */
static RARE void
timing(const struct cb_conn *c, struct cb_conn_ev *ev)
{
	struct cb_breaker bb, *b = breaker_at(c->slot, &bb);

	ev->now = cb_now_ms() | 1;	/* never 0: "not known" */
	ev->rto = b ? cb_breaker_response_timeout(b) : 0;
	ev->slow = b ? cb_breaker_slow_ms(b) : 0;
}

/* The entry's flags and its generation's high bits live beside its word
 * (conn.h): the CAS winner moves those that changed, bit by bit, so a
 * concurrent F_SETFL is not lost. */
static CB_HOT void
sync_flags(int fd, const struct cb_conn *c, const struct cb_conn *n)
{
	uint64_t was = cb_conn_aux(c), now = cb_conn_aux(n);

	if (now & ~was)
		cb_fd_aux_or(fd, now & ~was);
	if (was & ~now)
		cb_fd_aux_and(fd, ~(was & ~now));
}

/* An attempt on an fd past the table (a limit raised after start-up)
 * lives only in its connect call: settled there, or, still in progress,
 * let go (neither) since nothing can follow it. */
static RARE int
untracked(int fd, const struct cb_conn *c, const struct cb_conn *n,
	  int changed, struct cb_conn_out *o)
{
	if ((!changed && c->state == CB_CONN_CONNECTING) ||
	    (changed && n->state == CB_CONN_AWAITING &&
	     o->verdict == CB_OUT_NONE)) {
		o->verdict = CB_OUT_RELEASE;
		o->restore = c->uto;
	}
	apply(fd, c, o);
	return 0;
}

/* The attempt to sa on fd (entry word w) is about to enter the kernel:
 * decide it; admitted, bound it (connect_timeout) and record it as
 * CONNECTING before the real call, so that leaving the call by a
 * siglongjmp or a cancellation still leaves an attempt to settle.
 * Returns 0 to go ahead, -1 rejected (errno set as the kernel's refusal
 * would: ECONNREFUSED, or EINPROGRESS on a non-blocking socket). */
static CB_HOT int
begin(int fd, uint64_t *wp, const struct sockaddr *sa, socklen_t len)
{
	struct cb_conn_ev ev = { .kind = CB_EV_BEGIN };
	struct cb_breaker bb, *b = &bb;
	struct cb_conn c, n;
	struct cb_conn_out o;
	unsigned own = 0;
	int r = govern(fd, *wp, sa, len, b, &ev);

	if (r == 0)
		return 0;
	cb_conn_decode(*wp, cb_fd_aux(fd), cb_fd_time(fd), &c);
	if (c.state == CB_CONN_NONE) {	/* a socket we did not see made */
		c.state = CB_CONN_TCP;
		c.nonblock = nonblocking(fd);
	}
	if (r < 0)
		return reject(fd, &c, cb_breaker_reject_errno(b));
	arm_timeout(fd, b, &ev, &own);
	if (cb_breaker_response_timeout(b) || cb_breaker_slow_ms(b)) {
		ev.timed = 1;
		ev.now = cb_now_ms() | 1;
	}
	if (cb_conn_step(&c, &ev, &n, &o) == 1) {
		*wp = cb_conn_encode(&n);
		cb_fd_set_time(fd, n.t0);
		cb_fd_set_aux(fd, own | cb_conn_aux(&n));
		cb_fd_store(fd, *wp, cookie_for_attempt(fd));
	}
	return 0;
}

/* O_NONBLOCK of fd, asked of the kernel (errno kept): for a socket whose
 * making we did not see (before the shim started, or inherited), then
 * followed (F_SETFL, FIONBIO); and before a receive is delayed. */
static RARE int
nonblocking(int fd)
{
	int e = errno, fl = R(fcntl)(fd, F_GETFL);

	errno = e;
	return fl >= 0 && (fl & O_NONBLOCK);
}

/* connect_timeout: TCP_USER_TIMEOUT also bounds the SYN retries, so the
 * kernel itself ends the attempt with ETIMEDOUT, blocking or not, with
 * every signal and flag behaving as without us.  A shorter timeout of the
 * program's own wins; its own value comes back once the attempt is over
 * (restore_timeout). */
static CB_HOT void
arm_timeout(int fd, const struct cb_breaker *b, struct cb_conn_ev *ev,
	    unsigned *own)
{
	unsigned ct = cb_breaker_connect_timeout(b);

	/* an fd past the table could not keep the program's own value */
	if (ct != 0 && (uint32_t)fd < cb_fdtrack_limit())
		arm_timeout_set(fd, ct, ev, own);
}

/* connect_timeout ct is set: TCP_USER_TIMEOUT is read and, unless the
 * program's own is shorter, set (errno kept). */
static RARE void
arm_timeout_set(int fd, unsigned ct, struct cb_conn_ev *ev, unsigned *own)
{
	socklen_t l = sizeof(*own);
	int e = errno;

	if (R(getsockopt)(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, own, &l) == 0 &&
	    (*own == 0 || *own > ct) &&
	    setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &ct, sizeof(ct)) == 0)
		ev->uto = 1;
	errno = e;
}

/* A rejected attempt (entry c, reject errno err).  Blocking: the call
 * fails at once with err.  Non-blocking: like the kernel's refusal,
 * EINPROGRESS now; the socket, never connected, is ready at once for
 * poll/epoll/select, and SO_ERROR or the first I/O reports err (the
 * REJECTED entry).  Whether it blocks is known from the entry (begin()
 * asked the kernel for a socket we did not see made). */
static CB_HOT __attribute__((noinline)) int
reject(int fd, struct cb_conn *c, int err)
{
	struct cb_conn_ev ev = { .kind = CB_EV_REJECT, .slot = (uint32_t)err };
	struct cb_conn n;
	struct cb_conn_out o;

	if ((uint32_t)fd >= cb_fdtrack_limit())
		goto out;		/* nothing could report it later */
	if (cb_conn_step(c, &ev, &n, &o) == 1) {
		cb_fd_set_aux(fd, cb_conn_aux(&n));
		cb_fd_store(fd, cb_conn_encode(&n), cb_fd_cookie(fd));
		err = EINPROGRESS;
	}
out:
	errno = err;
	return -1;
}

/* fd is going away (close, dup2 over it, close_range): its attempt, if
 * one is unsettled, ends now (conn.c says how). */
static CB_HOT void
forget_fd(int fd)
{
	uint64_t w = cb_fd_load(fd);
	struct cb_conn_ev ev = { .kind = CB_EV_END };

	if (w == 0)
		return;
	/* a vfork child shares our memory but not our sockets' fate:
	 * closing its copy ends nothing, and leaves a refusal still to be
	 * reported (REJECTED) to us */
	if (cb_fd_watched_state(w) && getpid() != my_pid)
		return;
	/* in any other state the end has no outcome (conn.c: the entry
	 * just goes) */
	if (cb_conn_unsettled(w))
		report(fd, w, &ev);
	cb_fd_clear(fd);
}

/* A send (sending) or receive on fd returned r (errno: its error);
 * empty: a receive that asked for 0 bytes. */
static CB_HOT __attribute__((noinline)) void
after_io(int fd, uint64_t w, ssize_t r, int sending, int empty)
{
	struct cb_conn_ev ev = { .kind = CB_EV_IO, .sending = (uint8_t)sending,
				 .empty = (uint8_t)empty, .r = r,
				 .err = r < 0 ? errno : 0 };

	report(fd, w, &ev);	/* errno untouched */
}

/* An I/O call on a REJECTED fd fails with the rejection, once. */
static __attribute__((noinline)) int
io_rejected(int fd, uint64_t w)
{
	struct cb_conn_ev ev = { .kind = CB_EV_IO, .r = -1 };
	int e = errno, rep = report(fd, w, &ev);

	errno = rep ? rep : e;
	return rep;
}

/* Receives that never wait in the kernel, whatever the socket's mode:
 * never delayed either. */
#define RECV_NO_WAIT (MSG_DONTWAIT | MSG_OOB | MSG_ERRQUEUE)

/* A handler interrupted a wait of this thread (poll failed with EINTR):
 * would the kernel have restarted the receive the wait stands for?  It
 * restarts a receive whose handler has SA_RESTART, unless the socket has
 * a receive timeout of its own (signal(7)); poll is never restarted.
 * Which signal ran is not known: 1 when there are handlers of
 * asynchronous signals not blocked here and every one asks for
 * SA_RESTART, else 0 (EINTR, which a handler without it would give; none
 * left: the one that ran reset itself, SA_RESETHAND).  Crash handlers
 * (SIGSEGV...: sync_sigs) cannot have run.  Only after an EINTR: one
 * sigaction per signal.  errno kept. */
static RARE int
restartable(void)
{
	struct sigaction sa;
	sigset_t blocked;
	int sig, seen = 0, e = errno;

	pthread_sigmask(SIG_BLOCK, NULL, &blocked);
	for (sig = 1; sig < NSIG; sig++) {
		if (is_sync_signal(sig) || sigismember(&blocked, sig) == 1 ||
		    sigaction(sig, NULL, &sa) < 0)
			continue;	/* a fault's, blocked, or glibc's own */
		if (!(sa.sa_flags & SA_SIGINFO) &&
		    (sa.sa_handler == SIG_DFL || sa.sa_handler == SIG_IGN))
			continue;	/* no handler: never EINTR */
		if (!(sa.sa_flags & SA_RESTART)) {
			seen = 0;
			break;
		}
		seen = 1;
	}
	errno = e;
	return seen;
}

/* poll()'s timeout for ms left (none left: a look, no wait) */
static int
wait_ms(int64_t left)
{
	return left <= 0 ? 0 : left > INT_MAX ? INT_MAX : (int)left;
}

/* A blocking receive on an fd awaiting its first byte (response_timeout):
 * wait for data at most until the deadline (response_timeout after the
 * first send, or after establishment when the program receives first);
 * past it, with still nothing to read, the call fails with ETIMEDOUT, the
 * connection stays open, and the silence is reported (once: conn.c).
 * Never delayed: a non-blocking socket, a receive that never waits
 * (RECV_NO_WAIT, or nowait: a read of 0 bytes, a bad iovec count), a
 * shorter SO_RCVTIMEO of the program's own, an fd that is no longer the
 * socket (closed unseen and reused).  A signal's handler interrupts the
 * wait as it would the receive (restartable).  Returns 0 to go on with
 * the real call, -1 (errno set) to fail it. */
static int
await_first(int fd, uint64_t w, int flags, int nowait)
{
	struct cb_conn_ev ev = { .kind = CB_EV_EXPIRED };
	struct pollfd p = { .fd = fd, .events = POLLIN };
	struct timeval own = { 0 };
	socklen_t l = sizeof(own);
	struct cb_breaker bb, *b;
	struct cb_conn c;
	int64_t left, end;
	uint32_t rto;
	int e = errno, n, timeo;

	cb_conn_decode(w, cb_fd_aux(fd), cb_fd_time(fd), &c);
	/* O_NONBLOCK from the kernel, not the entry: another fd on the same
	 * socket (dup, a forked child) may have set it unseen */
	if (nowait || (flags & RECV_NO_WAIT) ||
	    !(b = breaker_at(c.slot, &bb)) ||
	    !(rto = cb_breaker_response_timeout(b)) || !same_socket(fd) ||
	    nonblocking(fd))
		return 0;
	end = (int64_t)(c.t0 + rto);
	left = end - (int64_t)cb_now_ms();
	timeo = R(getsockopt)(fd, SOL_SOCKET, SO_RCVTIMEO, &own, &l) == 0 &&
		(own.tv_sec || own.tv_usec);
	if (timeo && own.tv_sec * 1000 + own.tv_usec / 1000 < left)
		goto pass;
	for (;;) {
		n = poll(&p, 1, wait_ms(left));
		if (n > 0 || (n < 0 && errno != EINTR))
			goto pass;	/* ready, or poll's own trouble */
		if (n < 0 && (timeo || !restartable()))
			return -1;	/* EINTR: as the receive's */
		left = end - (int64_t)cb_now_ms();
		if (n == 0 && left <= 0)
			break;
	}
	report(fd, cb_fd_load(fd), &ev);
	errno = ETIMEDOUT;
	return -1;
pass:
	errno = e;
	return 0;
}

/* Before a receive: a REJECTED fd fails with its refusal; an AWAITING one
 * may be bounded (await_first).  Returns nonzero to fail the call (errno
 * set). */
static __attribute__((noinline)) int
before_recv(int fd, uint64_t w, int flags, int nowait)
{
	if (cb_conn_state_of(w) == CB_CONN_REJECTED)
		return io_rejected(fd, w);
	return await_first(fd, w, flags, nowait);
}

/* Does the iovec array iov[n] ask for no bytes at all?  Before a readv
 * (one of 0 bytes returns at once; the caller has ruled out a NULL array,
 * the kernel's EFAULT) and after a receive that returned 0 (the kernel
 * took the array).  Read directly, as the kernel reads it first, with no
 * system call (process_vm_readv, say, is one a seccomp filter may kill
 * for). */
static int
iov_empty(const struct iovec *iov, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (iov[i].iov_len)
			return 0;
	return 1;
}

/* ---- the wrappers -------------------------------------------------- */

EXPORT CB_HOT int
socket(int domain, int type, int protocol)
{
	int fd = R(socket)(domain, type, protocol);
	struct cb_conn c = { 0 };

	if (fd >= 0 && active()) {
		c.state = (domain == AF_INET || domain == AF_INET6) &&
			  (type & SOCK_TYPE_MASK) == SOCK_STREAM ? CB_CONN_TCP :
			  CB_CONN_OTHER;
		c.nonblock = (type & SOCK_NONBLOCK) != 0;
		cb_fd_set_aux(fd, cb_conn_aux(&c));
		cb_fd_store(fd, cb_conn_encode(&c), 0);
	}
	return fd;	/* errno: nothing above touches it */
}

/* connect(AF_UNSPEC) dissolves the association: an attempt in progress is
 * abandoned by the program's choice (neither success nor failure) and the
 * socket is a plain TCP socket again, to be governed on its next connect. */
static int
dissolve(int fd, const struct sockaddr *sa, socklen_t len)
{
	struct cb_conn_ev ev = { .kind = CB_EV_DISSOLVE };
	int r = R(connect)(fd, sa, len), e = errno;
	uint64_t w;

	if (r == 0 && cb_conn_state_of(w = cb_fd_load(fd)) >= CB_CONN_TCP)
		report(fd, w, &ev);
	errno = e;
	return r;
}

/* The real connect of an attempt that began (or was asked again), then
 * its result reported. */
static CB_HOT int
connect_and_report(int fd, uint64_t w, const struct sockaddr *sa,
		   socklen_t len)
{
	struct cb_conn_ev ev = { .kind = CB_EV_RETURNED };
	int r = R(connect)(fd, sa, len);

	if ((uint32_t)fd < cb_fdtrack_limit())
		w = cb_fd_load(fd);	/* it may have moved meanwhile */

	if (cb_conn_state_of(w) == CB_CONN_CONNECTING) {
		ev.r = r;
		ev.err = r < 0 ? errno : 0;
		report(fd, w, &ev);	/* errno untouched */
	}
	return r;
}

EXPORT CB_HOT int
connect(int fd, const struct sockaddr *sa, socklen_t len)
{
	struct cb_conn_ev ev = { .kind = CB_EV_RETURNED, .r = -1 };
	uint64_t w;
	int rep;

	if (!governing(fd, sa, len))
		return R(connect)(fd, sa, len);
	w = cb_fd_load(fd);
	if (sa && len >= sizeof(sa_family_t) && sa->sa_family == AF_UNSPEC)
		return dissolve(fd, sa, len);
	switch (cb_conn_state_of(w)) {
	case CB_CONN_CONNECTING:	/* the same attempt, asked again */
		break;
	case CB_CONN_REJECTED:		/* asked again: the refusal */
		if ((rep = report(fd, w, &ev))) {
			errno = rep;
			return -1;
		}
		return R(connect)(fd, sa, len);
	case CB_CONN_CONNECTED:
	case CB_CONN_SETTLED:
	case CB_CONN_AWAITING:
		return R(connect)(fd, sa, len);
	default:
		if (begin(fd, &w, sa, len) < 0)
			return -1;
	}
	return connect_and_report(fd, w, sa, len);
}

EXPORT CB_HOT int
close(int fd)
{
	if (cb_fd_load(fd))
		forget_fd(fd);	/* errno untouched */
	return R(close)(fd);
}

static CB_HOT int
accepted(int fd)
{
	int e = errno;
	struct cb_conn c = { .state = CB_CONN_OTHER };

	if (fd >= 0 && active())
		cb_fd_store(fd, cb_conn_encode(&c), 0);
	errno = e;
	return fd;
}

EXPORT CB_HOT int
accept(int fd, struct sockaddr *sa, socklen_t *len)
{
	return accepted(R(accept)(fd, sa, len));
}

EXPORT CB_HOT int
accept4(int fd, struct sockaddr *sa, socklen_t *len, int flags)
{
	return accepted(R(accept4)(fd, sa, len, flags));
}

/* The I/O wrappers: before the call, a REJECTED fd fails with its
 * refusal; after it, an attempt or connection reports the result.  While
 * no entry is connecting, awaiting its first byte or rejected (the usual
 * case: established connections), that is one load of a per-process word
 * (cb_fd_io_watched), and the fd's entry is read only after a failed
 * send; otherwise one load of the entry and a compare. */
#define BEFORE_IO(fd) do {						\
	uint64_t w_;							\
	if (cb_fd_io_watched() &&					\
	    cb_conn_state_of(w_ = cb_fd_load(fd)) == CB_CONN_REJECTED && \
	    io_rejected((fd), w_))					\
		return -1;						\
} while (0)

/* A receive (flags: its MSG_ flags; nowait: an expression, true when
 * the kernel returns at once whatever the data) on an fd awaiting its
 * first byte may be bounded first (await_first); REJECTED and AWAITING
 * are the two top states, so an fd in neither costs one load and one
 * compare. */
#define BEFORE_RECV(fd, flags, nowait) do {				\
	uint64_t w_;							\
	if (cb_fd_io_watched() &&					\
	    cb_conn_state_of(w_ = cb_fd_load(fd)) >= CB_CONN_REJECTED && \
	    before_recv((fd), w_, (flags), (nowait)))			\
		return -1;						\
} while (0)

#define AFTER_IO(fd, r, sending) do {					\
	uint64_t w_;							\
	if ((cb_fd_io_watched() || ((sending) && (r) < 0)) &&		\
	    cb_conn_io_matters(w_ = cb_fd_load(fd), (sending), (r)))	\
		after_io((fd), w_, (r), (sending), 0);			\
} while (0)

/* After a receive; empty: an expression, true when it asked for 0 bytes
 * (read only when it returned 0: then its arguments were good). */
#define AFTER_RECV(fd, r, empty) do {					\
	uint64_t w_;							\
	if (cb_fd_io_watched() &&					\
	    cb_conn_io_matters(w_ = cb_fd_load(fd), 0, (r)))		\
		after_io((fd), w_, (r), 0, (r) == 0 && (empty));	\
} while (0)

EXPORT CB_HOT ssize_t
send(int fd, const void *buf, size_t n, int flags)
{
	ssize_t r;

	BEFORE_IO(fd);
	r = R(send)(fd, buf, n, flags);
	AFTER_IO(fd, r, 1);
	return r;
}

/* sendto/sendmsg with MSG_FASTOPEN: a connect carrying data. */
static ssize_t
fastopen(int fd, const struct sockaddr *sa, socklen_t len,
	 ssize_t (*call)(int, const void *, const void *), const void *a,
	 const void *b)
{
	struct cb_conn_ev ev = { .kind = CB_EV_RETURNED, .r = -1 };
	uint64_t w;
	ssize_t r;
	int e;

	w = cb_fd_load(fd);
	if (begin(fd, &w, sa, len) < 0)
		return -1;
	r = call(fd, a, b);
	e = errno;
	/* data queued with the SYN: the outcome comes later, as after
	 * EINPROGRESS */
	ev.err = r >= 0 ? EINPROGRESS : e;
	if ((uint32_t)fd < cb_fdtrack_limit())
		w = cb_fd_load(fd);
	if (cb_conn_state_of(w) == CB_CONN_CONNECTING)
		report(fd, w, &ev);
	errno = e;
	return r;
}
struct sendto_args {
	const void *buf;
	size_t n;
	int flags;
	const struct sockaddr *sa;
	socklen_t len;
};

static ssize_t
call_sendto(int fd, const void *a, const void *unused)
{
	const struct sendto_args *s = a;

	(void)unused;
	return R(sendto)(fd, s->buf, s->n, s->flags, s->sa, s->len);
}

static ssize_t
call_sendmsg(int fd, const void *msg, const void *flags)
{
	return R(sendmsg)(fd, msg, *(const int *)flags);
}

EXPORT CB_HOT ssize_t
sendto(int fd, const void *buf, size_t n, int flags,
       const struct sockaddr *sa, socklen_t len)
{
	struct sendto_args a = { buf, n, flags, sa, len };
	ssize_t r;

	if ((flags & MSG_FASTOPEN) && sa && governing(fd, sa, len) &&
	    cb_conn_state_of(cb_fd_load(fd)) < CB_CONN_CONNECTING)
		return fastopen(fd, sa, len, call_sendto, &a, NULL);
	BEFORE_IO(fd);
	r = R(sendto)(fd, buf, n, flags, sa, len);
	AFTER_IO(fd, r, 1);
	return r;
}

EXPORT CB_HOT ssize_t
sendmsg(int fd, const struct msghdr *msg, int flags)
{
	ssize_t r;

	if ((flags & MSG_FASTOPEN) && msg && msg->msg_name &&
	    governing(fd, msg->msg_name, msg->msg_namelen) &&
	    cb_conn_state_of(cb_fd_load(fd)) < CB_CONN_CONNECTING)
		return fastopen(fd, msg->msg_name, msg->msg_namelen,
				call_sendmsg, msg, &flags);
	BEFORE_IO(fd);
	r = R(sendmsg)(fd, msg, flags);
	AFTER_IO(fd, r, 1);
	return r;
}

EXPORT CB_HOT int
sendmmsg(int fd, struct mmsghdr *v, unsigned int n, int flags)
{
	int r;

	BEFORE_IO(fd);
	r = R(sendmmsg)(fd, v, n, flags);
	AFTER_IO(fd, r, 1);
	return r;
}

EXPORT CB_HOT ssize_t
write(int fd, const void *buf, size_t n)
{
	ssize_t r;

	BEFORE_IO(fd);
	r = R(write)(fd, buf, n);
	AFTER_IO(fd, r, 1);
	return r;
}

EXPORT CB_HOT ssize_t
writev(int fd, const struct iovec *iov, int n)
{
	ssize_t r;

	BEFORE_IO(fd);
	r = R(writev)(fd, iov, n);
	AFTER_IO(fd, r, 1);
	return r;
}

EXPORT CB_HOT ssize_t
recv(int fd, void *buf, size_t n, int flags)
{
	ssize_t r;

	BEFORE_RECV(fd, flags, 0);
	r = R(recv)(fd, buf, n, flags);
	AFTER_RECV(fd, r, n == 0);
	return r;
}

EXPORT CB_HOT ssize_t
recvfrom(int fd, void *buf, size_t n, int flags, struct sockaddr *sa,
	 socklen_t *len)
{
	ssize_t r;

	BEFORE_RECV(fd, flags, 0);
	r = R(recvfrom)(fd, buf, n, flags, sa, len);
	AFTER_RECV(fd, r, n == 0);
	return r;
}

EXPORT CB_HOT ssize_t
recvmsg(int fd, struct msghdr *msg, int flags)
{
	ssize_t r;

	BEFORE_RECV(fd, flags, msg == NULL);
	r = R(recvmsg)(fd, msg, flags);
	AFTER_RECV(fd, r, iov_empty(msg->msg_iov, msg->msg_iovlen));
	return r;
}

EXPORT CB_HOT ssize_t
read(int fd, void *buf, size_t n)
{
	ssize_t r;

	BEFORE_RECV(fd, 0, n == 0);
	r = R(read)(fd, buf, n);
	AFTER_RECV(fd, r, n == 0);
	return r;
}

EXPORT CB_HOT ssize_t
readv(int fd, const struct iovec *iov, int n)
{
	ssize_t r;

	BEFORE_RECV(fd, 0, n <= 0 || n > IOV_MAX || !iov ||
		    iov_empty(iov, (size_t)n));
	r = R(readv)(fd, iov, n);
	AFTER_RECV(fd, r, iov_empty(iov, (size_t)n));
	return r;
}

EXPORT int
getsockopt(int fd, int level, int name, void *val, socklen_t *len)
{
	int r = R(getsockopt)(fd, level, name, val, len), e = errno, v, rep;
	struct cb_conn_ev ev = { .kind = CB_EV_SOERROR };
	uint64_t w;

	if (r == 0 && level == SOL_SOCKET && name == SO_ERROR && val &&
	    len && *len >= sizeof(int) &&
	    (cb_conn_state_of(w = cb_fd_load(fd)) == CB_CONN_CONNECTING ||
	     cb_conn_state_of(w) == CB_CONN_REJECTED)) {
		memcpy(&v, val, sizeof(v));
		ev.r = v;
		if ((rep = report(fd, w, &ev)))	/* a rejection, reported */
			memcpy(val, &rep, sizeof(rep));
	}
	errno = e;
	return r;
}

static void
forget_range(unsigned lo, unsigned hi)
{
	uint32_t h = cb_fdtrack_high(), i;
	int e = errno;

	/* a vfork child shares our fd table but not our fds' fate */
	if (h == 0 || lo >= h || getpid() != my_pid)
		return;
	if (hi >= h)
		hi = h - 1;
	for (i = lo; i <= hi; i++)
		if (cb_fd_load((int)i))
			forget_fd((int)i);
	errno = e;
}

/* The kernel checks close_range's arguments before it closes anything:
 * with lo > hi or a flag it does not know nothing is closed (EINVAL), and
 * nothing is forgotten.  The fds go from the table before the call (none
 * can be reused meanwhile); with a flag newer than this code, only after
 * the call said it closed them. */
#define CLOSE_RANGE_KNOWN (CLOSE_RANGE_UNSHARE | CLOSE_RANGE_CLOEXEC)

static int
real_close_range(unsigned lo, unsigned hi, int flags)
{
	if (!R(close_range))
		return (int)syscall(SYS_close_range, lo, hi, flags);
	return R(close_range)(lo, hi, flags);
}

EXPORT int
close_range(unsigned lo, unsigned hi, int flags)
{
	int closes = lo <= hi && !(flags & CLOSE_RANGE_CLOEXEC), r;

	if (!(flags & ~CLOSE_RANGE_KNOWN)) {
		if (closes)
			forget_range(lo, hi);
		return real_close_range(lo, hi, flags);
	}
	r = real_close_range(lo, hi, flags);
	if (r == 0 && closes)
		forget_range(lo, hi);	/* errno kept */
	return r;
}

/* glibc closes from 0 when lo is negative */
EXPORT void
closefrom(int lo)
{
	unsigned from = lo < 0 ? 0 : (unsigned)lo;

	forget_range(from, ~0u);
	if (R(closefrom))
		R(closefrom)(lo);
	else
		real_close_range(from, ~0u, 0);
}

/* A new fd number: whatever we knew of that number is gone. */
static int
fresh(int fd)
{
	int e = errno;

	uint64_t w = cb_fd_load(fd);

	/* an entry that still matters (an attempt or a first byte to
	 * judge, a refusal to report) is cleared only by its own process
	 * (a vfork child shares the table) */
	if (w && (!cb_fd_watched_state(w) || getpid() == my_pid))
		cb_fd_clear(fd);
	errno = e;
	return fd;
}

EXPORT int
dup(int fd)
{
	return fresh(R(dup)(fd));
}

/* dup2(fd, fd) changes nothing (fd's entry stays); dup3 fails at once
 * (EINVAL, nfd untouched) with fd == nfd or a flag besides O_CLOEXEC. */
EXPORT int
dup2(int fd, int nfd)
{
	int e = errno;

	if (fd == nfd)
		return R(dup2)(fd, nfd);
	if (cb_fd_load(nfd) && fcntl(fd, F_GETFD) >= 0) {
		forget_fd(nfd);
		errno = e;
	}
	return fresh(R(dup2)(fd, nfd));
}

EXPORT int
dup3(int fd, int nfd, int flags)
{
	int e = errno;

	if (fd == nfd || (flags & ~O_CLOEXEC))
		return R(dup3)(fd, nfd, flags);
	if (cb_fd_load(nfd) && fcntl(fd, F_GETFD) >= 0) {
		forget_fd(nfd);
		errno = e;
	}
	return fresh(R(dup3)(fd, nfd, flags));
}

/* fcntl is variadic: every command's argument fits in a long or pointer,
 * which the x86-64 and aarch64 ABIs pass alike. */
static int
do_fcntl(int (*fn)(int, int, ...), int fd, int cmd, va_list ap)
{
	void *arg = va_arg(ap, void *);
	int r = fn(fd, cmd, arg);

	if (cmd == F_DUPFD || cmd == F_DUPFD_CLOEXEC)
		fresh(r);
	else if (cmd == F_SETFL && r == 0)
		flags_set(fd, ((long)arg & O_NONBLOCK) != 0);
	return r;
}

/* O_NONBLOCK was set or cleared on fd: the entry remembers, so that a
 * rejection knows without a system call how to look like the kernel. */
static void
flags_set(int fd, int nonblock)
{
	struct cb_conn_ev ev = { .kind = CB_EV_FLAGS, .r = nonblock };
	uint64_t w = cb_fd_load(fd);
	int e = errno;

	if (cb_conn_state_of(w) >= CB_CONN_TCP)
		report(fd, w, &ev);
	errno = e;
}

/* ioctl(FIONBIO) sets O_NONBLOCK too.  Variadic like fcntl. */
EXPORT int
ioctl(int fd, unsigned long req, ...)
{
	va_list ap;
	void *arg;
	int r, v;

	va_start(ap, req);
	arg = va_arg(ap, void *);
	va_end(ap);
	r = R(ioctl)(fd, req, arg);
	if (r == 0 && req == FIONBIO && arg) {
		memcpy(&v, arg, sizeof(v));
		flags_set(fd, v != 0);
	}
	return r;
}

EXPORT int
fcntl(int fd, int cmd, ...)
{
	va_list ap;
	int r;

	va_start(ap, cmd);
	r = do_fcntl(R(fcntl), fd, cmd, ap);
	va_end(ap);
	return r;
}

EXPORT int
fcntl64(int fd, int cmd, ...)
{
	va_list ap;
	int r;

	va_start(ap, cmd);
	r = do_fcntl(R(fcntl64) ? R(fcntl64) : R(fcntl), fd, cmd, ap);
	va_end(ap);
	return r;
}

/* See COOKIE_WANTED: the one libc path by which a socket ends unseen. */
EXPORT FILE *
fdopen(int fd, const char *mode)
{
	uint64_t w = cb_fd_load(fd);
	int e = errno;

	if (w && cb_fd_cookie(fd) == 0 && active()) {
		if (cb_conn_state_of(w) >= CB_CONN_CONNECTING)
			cb_fd_set_cookie(fd, cookie_of(fd));
		else if (cb_conn_state_of(w) == CB_CONN_TCP)
			cb_fd_set_cookie(fd, COOKIE_WANTED);
		errno = e;
	}
	return R(fdopen)(fd, mode);
}

/* The _FORTIFY_SOURCE entry points: the same receives, checked.  glibc
 * declares them only in its internal headers. */
ssize_t __read_chk(int fd, void *buf, size_t n, size_t buflen);
ssize_t __recv_chk(int fd, void *buf, size_t n, size_t buflen, int flags);
ssize_t __recvfrom_chk(int fd, void *buf, size_t n, size_t buflen, int flags,
		       struct sockaddr *sa, socklen_t *len);

EXPORT CB_HOT ssize_t
__read_chk(int fd, void *buf, size_t n, size_t buflen)
{
	ssize_t r;

	if (!R(read_chk))
		return R(read)(fd, buf, n);
	BEFORE_RECV(fd, 0, n == 0);
	r = R(read_chk)(fd, buf, n, buflen);
	AFTER_RECV(fd, r, n == 0);
	return r;
}

EXPORT CB_HOT ssize_t
__recv_chk(int fd, void *buf, size_t n, size_t buflen, int flags)
{
	ssize_t r;

	if (!R(recv_chk))
		return R(recv)(fd, buf, n, flags);
	BEFORE_RECV(fd, flags, 0);
	r = R(recv_chk)(fd, buf, n, buflen, flags);
	AFTER_RECV(fd, r, n == 0);
	return r;
}

EXPORT CB_HOT ssize_t
__recvfrom_chk(int fd, void *buf, size_t n, size_t buflen, int flags,
	       struct sockaddr *sa, socklen_t *len)
{
	ssize_t r;

	if (!R(recvfrom_chk))
		return R(recvfrom)(fd, buf, n, flags, sa, len);
	BEFORE_RECV(fd, flags, 0);
	r = R(recvfrom_chk)(fd, buf, n, buflen, flags, sa, len);
	AFTER_RECV(fd, r, n == 0);
	return r;
}
