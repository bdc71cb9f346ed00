/*
 * connbench.c - the client side of the benchmarks: plain programs doing
 * what unmodified programs do (socket, connect, send, recv, close), run
 * with and without LD_PRELOAD=libcbshim.so by bench/run.sh.
 *
 *   connbench cycle HOST PORT N
 *       N cycles of socket + connect + recv (until the server, which
 *       accepts and closes, ends it) + close (SO_LINGER 0, so neither side
 *       keeps a TIME_WAIT).  Prints ns per cycle.
 *   connbench abcycle HOST PORT BLOCKS CYCLES
 *       the same cycle, in BLOCKS blocks of CYCLES cycles alternating
 *       between the functions the program normally gets (the shim's when it
 *       is preloaded) and libc's own, found with dlsym on libc.so.6.  Fine
 *       interleaving in one process cancels most of a noisy machine's
 *       drift.  Prints the median of the per-pair ratios (shim / libc)
 *       with its min and max, and the median and 10th percentile ns per
 *       cycle of each side (the p10 is what a loaded machine disturbs least),
 *       and each side's CPU time per cycle (CLOCK_THREAD_CPUTIME_ID).
 *   connbench ctime HOST PORT K N [SHM [flush|read|own]]
 *       N connect() calls, each on a fresh socket (socket() and close()
 *       around it, as a real program does), to K destinations HOST+i:PORT
 *       in random order; only connect() is timed.  With SHM (the segment
 *       the preloaded shim uses), what the benchmark does to the breaker's
 *       decision line after socket(), before the call: flush (the default)
 *       evicts it and the lines before it from every cache level (cold);
 *       read reads it through the shim's own mapping (line and TLB entry
 *       warm, the line not owned); own fetches it for writing the same way
 *       (prefetchw), as the rejection's count needs it: what remains is
 *       the shim's own code, with no memory latency.
 *       Prints the median, p10 and p90 in ns (clock overhead removed), and
 *       how the calls ended.
 *   connbench hang HOST PORT N TIMEOUT_MS
 *       N non-blocking connects, each waited on with poll(TIMEOUT_MS) and
 *       closed; prints each attempt's time and outcome.
 *   connbench rr HOST PORT conn|req N
 *       conn: N times socket + connect + 64-byte request + 64-byte reply +
 *       close; req: N request/reply round trips on one connection.  Prints
 *       ns per operation.
 *   connbench abrr HOST PORT conn|req BLOCKS OPS
 *       rr in BLOCKS pairs of OPS operations alternating libc's functions
 *       and the program's own, as abcycle does for cycles.
 *   connbench dead HOST PORT N
 *       N attempts to talk to a dead backend (directly or via a proxy):
 *       connect, and if that succeeds send a request and wait for the
 *       reply; prints, per attempt, the time until the error was known.
 *   connbench syscost N
 *       the price of what the shim adds to a closed-path connect: median ns
 *       of getsockopt(SO_COOKIE) on a TCP socket and of clock_gettime
 *       (CLOCK_MONOTONIC), N calls each, libc's own (not the shim's), and
 *       of the cheapest system call (getppid), the floor of any syscall.
 *   connbench mem HOST PORT K
 *       hold K connections open, then print VmRSS and the resident size of
 *       the shim's fd table and of its segment mapping (from smaps).
 *
 * Client sockets close with SO_LINGER 0 where the loop would otherwise
 * leave one TIME_WAIT per cycle and run out of ephemeral ports.
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "bench.h"
#include "../shim/table.h"

#define REQ 64

static void linger0(int fd);
static void cmd_cycle(const char *host, unsigned port, unsigned long n);
static void cmd_abcycle(const char *host, unsigned port, unsigned long blocks,
			unsigned long cycles);
static void cmd_ctime(const char *host, unsigned port, uint32_t k,
		      unsigned long n, const char *shm, int mode);
static void cmd_hang(const char *host, unsigned port, unsigned long n,
		     int timeout_ms);
static void cmd_rr(const char *host, unsigned port, const char *mode,
		   unsigned long n);
static void cmd_abrr(const char *host, unsigned port, const char *mode,
		     unsigned long blocks, unsigned long ops);
static void cmd_dead(const char *host, unsigned port, unsigned long n);
static void cmd_syscost(unsigned long n);
static void cmd_mem(const char *host, unsigned port, unsigned long k);

/* The socket calls a benchmark makes, through whichever functions a set
 * holds: the program's own (the shim's when it is preloaded), or libc's,
 * found with dlsym on libc.so.6 (for in-process A/B comparisons). */
struct fns {
	int (*socket)(int, int, int);
	int (*connect)(int, const struct sockaddr *, socklen_t);
	ssize_t (*recv)(int, void *, size_t, int);
	ssize_t (*send)(int, const void *, size_t, int);
	int (*setsockopt)(int, int, int, const void *, socklen_t);
	int (*close)(int);
};

static const struct fns dflt = { socket, connect, recv, send, setsockopt,
				 close };
static const struct fns *F = &dflt;	/* what connect_to/round_trip use */

static void
libc_fns(struct fns *libc)
{
	void *h = dlopen("libc.so.6", RTLD_NOW | RTLD_NOLOAD);

	if (!h)
		die("no handle on libc.so.6");
	*(void **)&libc->socket = dlsym(h, "socket");
	*(void **)&libc->connect = dlsym(h, "connect");
	*(void **)&libc->recv = dlsym(h, "recv");
	*(void **)&libc->send = dlsym(h, "send");
	*(void **)&libc->setsockopt = dlsym(h, "setsockopt");
	*(void **)&libc->close = dlsym(h, "close");
}

static void
linger0(int fd)
{
	struct linger lg = { 1, 0 };

	F->setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
}

static void
cmd_cycle(const char *host, unsigned port, unsigned long n)
{
	struct sockaddr_in sin;
	unsigned long i, warm = n / 10 + 100;
	uint64_t t0 = 0;
	char c;

	dest_n(&sin, host, port, 0);
	for (i = 0; i < n + warm; i++) {
		int fd;

		if (i == warm)
			t0 = now_ns();
		fd = socket(AF_INET, SOCK_STREAM, 0);
		if (fd < 0)
			die("socket: %s", strerror(errno));
		if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0)
			die("connect: %s", strerror(errno));
		while (recv(fd, &c, 1, 0) > 0)
			;
		linger0(fd);	/* the server closed first: no TIME_WAIT */
		close(fd);
	}
	printf("cycle_ns %.1f\n", (double)(now_ns() - t0) / (double)n);
}


static void
cycles_with(const struct fns *fs, const struct sockaddr_in *sin,
	    unsigned long n)
{
	struct linger lg = { 1, 0 };
	unsigned long i;
	char c;

	for (i = 0; i < n; i++) {
		int fd = fs->socket(AF_INET, SOCK_STREAM, 0);

		if (fd < 0)
			die("socket: %s", strerror(errno));
		if (fs->connect(fd, (const struct sockaddr *)sin,
		    sizeof(*sin)) < 0)
			die("connect: %s", strerror(errno));
		while (fs->recv(fd, &c, 1, 0) > 0)
			;
		fs->setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
		fs->close(fd);
	}
}

/* ---- in-process A/B: libc's functions vs the program's ---------------- */

struct ab_job {
	const struct sockaddr_in *sin;
	unsigned long ops;
	int fd;			/* abrr req: the connection; else -1 */
	int cycle;		/* abcycle (1) or abrr (0) */
};

static uint64_t rr_ops(const struct sockaddr_in *sin, int fd,
		       unsigned long n);

static uint64_t
thread_cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void
ab_block(const struct fns *fs, const struct ab_job *j, uint64_t *wall,
	 uint64_t *cpu)
{
	uint64_t w0, c0 = thread_cpu_ns();

	w0 = now_ns();
	F = fs;
	if (j->cycle)
		cycles_with(fs, j->sin, j->ops);
	else
		rr_ops(j->sin, j->fd, j->ops);
	F = &dflt;
	*wall = now_ns() - w0;
	*cpu = thread_cpu_ns() - c0;
}

/* The CPU time the program's functions add per operation, from the pairs
 * of blocks (each pair ran back to back, so a drift of the machine's load
 * cancels): median and quartiles of the per-pair differences.  Before
 * quantile() sorts ca and cb. */
static void
print_cpu_diff(const uint64_t *ca, const uint64_t *cb, unsigned long blocks,
	       double ops)
{
	const uint64_t mid = 1ull << 63;
	uint64_t *d = calloc(blocks, sizeof(uint64_t));
	unsigned long i;

	if (!d)
		die("out of memory");
	/* offset by 2^63 so that the unsigned sort orders signed values */
	for (i = 0; i < blocks; i++)
		d[i] = (cb[i] - ca[i]) + mid;
	printf(" cpu_diff_ns %.1f cpu_diff_p25_ns %.1f cpu_diff_p75_ns %.1f",
	       (double)(int64_t)(quantile(d, blocks, 0.5) - mid) / ops,
	       (double)(int64_t)(quantile(d, blocks, 0.25) - mid) / ops,
	       (double)(int64_t)(quantile(d, blocks, 0.75) - mid) / ops);
	free(d);
}

/* blocks pairs of blocks, libc's functions and the program's alternately
 * (which goes first alternates too).  Prints the wall-time ratios (median,
 * min, max), each side's median and 10th-percentile wall ns per operation,
 * and each side's median CPU ns per operation (this thread's CPU time: what
 * the shim costs the program whether or not the machine is busy). */
static void
ab_compare(const struct ab_job *j, unsigned long blocks)
{
	struct fns libc;
	double *ratio = calloc(blocks, sizeof(double)), ops = (double)j->ops;
	uint64_t *v = calloc(4 * blocks, sizeof(uint64_t));
	uint64_t *wa = v, *wb = v + blocks, *ca = v + 2 * blocks;
	uint64_t *cb = v + 3 * blocks;
	unsigned long i;

	if (!ratio || !v)
		die("out of memory");
	libc_fns(&libc);
	ab_block(&dflt, j, &wa[0], &ca[0]);	/* warm both */
	ab_block(&libc, j, &wa[0], &ca[0]);
	for (i = 0; i < blocks; i++) {
		if (i % 2) {
			ab_block(&dflt, j, &wb[i], &cb[i]);
			ab_block(&libc, j, &wa[i], &ca[i]);
		} else {
			ab_block(&libc, j, &wa[i], &ca[i]);
			ab_block(&dflt, j, &wb[i], &cb[i]);
		}
		ratio[i] = (double)wb[i] / (double)wa[i];
	}
	print_ratios(ratio, blocks);
	print_cpu_diff(ca, cb, blocks, ops);
	printf(" libc_ns %.1f dflt_ns %.1f", quantile(wa, blocks, 0.5) / ops,
	       quantile(wb, blocks, 0.5) / ops);
	printf(" libc_p10_ns %.1f dflt_p10_ns %.1f",
	       quantile(wa, blocks, 0.1) / ops, quantile(wb, blocks, 0.1) / ops);
	printf(" libc_cpu_ns %.1f dflt_cpu_ns %.1f\n",
	       quantile(ca, blocks, 0.5) / ops, quantile(cb, blocks, 0.5) / ops);
	free(ratio);
	free(v);
}

static void
cmd_abcycle(const char *host, unsigned port, unsigned long blocks,
	    unsigned long cycles)
{
	struct sockaddr_in sin;
	struct ab_job j = { &sin, cycles, -1, 1 };

	dest_n(&sin, host, port, 0);
	ab_compare(&j, blocks);
}

/* Evict the lines around breaker b (its slot and the probe chain before
 * it) from every cache level. */
static void
flush_around(const void *b)
{
	const char *p = (const char *)((uintptr_t)b & ~(uintptr_t)63);
	const char *lo = p - 4096, *hi = p + 512;

	for (; lo < hi; lo += 64)
		__builtin_ia32_clflush(lo);
	__builtin_ia32_mfence();
}

static struct cb_table *
attach_ro(const char *shm)
{
	struct cb_table_opts o = { .readonly = 1 };
	struct cb_table *t;
	char why[256];

	if (cb_table_attach(&t, shm, &o, why, sizeof(why)) < 0)
		die("attach %s: %s", shm, why);
	return t;
}

/* The decision line of sin's breaker. */
static const void *
breaker_of(struct cb_table *t, const struct sockaddr_in *sin)
{
	struct cb_dest d;
	struct cb_breaker b;

	if (cb_dest_from_sockaddr(&d, (const struct sockaddr *)sin,
	    sizeof(*sin)) < 0 || cb_table_find(t, &d, &b, NULL) < 0)
		die("no breaker for a destination (was the segment filled?)");
	return b.hot;
}

/* The modes of ctime with a segment: what the benchmark does to the
 * breaker's decision line between socket() and the timed connect(). */
enum { CT_FLUSH, CT_READ, CT_OWN };

/* The distance from this process's mapping of t (the benchmark's own)
 * to the shim's mapping of the same segment, made at the shim's first
 * connect: touching the line there also fills the TLB entry the shim's
 * decision uses. */
static ptrdiff_t
shim_alias(struct cb_table *t, const struct sockaddr_in *sin)
{
	const char *p = breaker_of(t, sin);
	char line[512], path[512], want[512] = "";
	unsigned long lo, hi, off, base = 0, other = 0;
	FILE *f = fopen("/proc/self/maps", "r");
	int s = socket(AF_INET, SOCK_STREAM, 0), pass;

	connect(s, (const struct sockaddr *)sin, sizeof(*sin));
	close(s);
	if (!f)
		die("/proc/self/maps: %s", strerror(errno));
	for (pass = 0; pass < 2; pass++, rewind(f))
		while (fgets(line, sizeof(line), f)) {
			if (sscanf(line, "%lx-%lx %*s %lx %*s %*s %511s", &lo,
				   &hi, &off, path) < 4 || off != 0)
				continue;
			if (!pass && (uintptr_t)p >= lo && (uintptr_t)p < hi) {
				base = lo;
				strcpy(want, path);
			} else if (pass && lo != base && !strcmp(path, want))
				other = lo;
		}
	fclose(f);
	if (!other)
		die("the shim has not mapped the segment (is it preloaded?)");
	return (ptrdiff_t)(other - base);
}

/* Fetch the line at p into this CPU's cache: for reading, or owned (for
 * writing, as a rejection's count needs it). */
static void
touch_line(const void *p, int own)
{
	const volatile uint64_t *w = p;

#if defined(__x86_64__) || defined(__i386__)
	if (own)
		__asm__ volatile("prefetchw %0" : : "m"(*(const char *)p));
#else
	if (own)
		__builtin_prefetch(p, 1, 3);
#endif
	(void)w[0];
}

static void
cmd_ctime(const char *host, unsigned port, uint32_t k, unsigned long n,
	  const char *shm, int mode)
{
	struct sockaddr_in sin;
	struct cb_table *t = shm ? attach_ro(shm) : NULL;
	uint64_t *v = calloc(n, sizeof(*v)), seed = 88172645463325252ull;
	uint64_t over = timer_overhead_ns(), t0, t1;
	unsigned long i, refused = 0, other = 0;
	const char *line = NULL;
	ptrdiff_t alias = 0;
	int fd, r;

	if (!v)
		die("out of memory");
	if (t && mode != CT_FLUSH) {
		dest_n(&sin, host, port, 0);
		alias = shim_alias(t, &sin);
	}
	for (i = 0; i < n; i++) {
		dest_n(&sin, host, port, k > 1 ? (uint32_t)(rnd(&seed) % k) : 0);
		if (t && mode == CT_FLUSH)
			flush_around(breaker_of(t, &sin));
		else if (t)
			line = (const char *)breaker_of(t, &sin) + alias;
		if ((fd = socket(AF_INET, SOCK_STREAM, 0)) < 0)
			die("socket: %s", strerror(errno));
		if (line)
			touch_line(line, mode == CT_OWN);
		t0 = now_ns();
		r = connect(fd, (struct sockaddr *)&sin, sizeof(sin));
		t1 = now_ns();
		if (r < 0 && errno == ECONNREFUSED)
			refused++;
		else
			other++;
		close(fd);
		v[i] = t1 - t0 > over ? t1 - t0 - over : 0;
	}
	printf("median_ns %llu p10_ns %llu p90_ns %llu timer_ns %llu "
	       "refused %lu other %lu\n",
	       (unsigned long long)quantile(v, n, 0.5),
	       (unsigned long long)quantile(v, n, 0.1),
	       (unsigned long long)quantile(v, n, 0.9),
	       (unsigned long long)over, refused, other);
	free(v);
}

static void
cmd_hang(const char *host, unsigned port, unsigned long n, int timeout_ms)
{
	struct sockaddr_in sin;
	unsigned long i;

	dest_n(&sin, host, port, 0);
	for (i = 0; i < n; i++) {
		int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
		struct pollfd p = { .fd = fd, .events = POLLOUT };
		uint64_t t0 = now_ns();
		const char *what = "connected";
		int r = connect(fd, (struct sockaddr *)&sin, sizeof(sin));

		if (r < 0 && errno == EINPROGRESS) {
			int e = 0;
			socklen_t l = sizeof(e);

			/* ready: SO_ERROR says how (a rejection on a
			 * non-blocking socket is reported here, as the
			 * kernel's asynchronous refusal is) */
			if (poll(&p, 1, timeout_ms) == 0)
				what = "timeout";
			else if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &e,
					    &l) == 0 && e == ECONNREFUSED)
				what = "ECONNREFUSED";
			else
				what = e ? "error" : "answered";
		} else if (r < 0)
			what = errno == ECONNREFUSED ? "ECONNREFUSED" :
			       "error";
		printf("attempt %lu %s %.1f us\n", i + 1, what,
		       (double)(now_ns() - t0) / 1e3);
		close(fd);
	}
}

static int
connect_to(const struct sockaddr_in *sin)
{
	int fd = F->socket(AF_INET, SOCK_STREAM, 0), one = 1;

	if (fd < 0)
		die("socket: %s", strerror(errno));
	F->setsockopt(fd, IPPROTO_TCP, 1 /* TCP_NODELAY */, &one, sizeof(one));
	if (F->connect(fd, (const struct sockaddr *)sin, sizeof(*sin)) < 0) {
		int e = errno;

		F->close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

/* One request and its whole reply: 0, or -1 (errno; 0 for EOF). */
static int
round_trip(int fd)
{
	char buf[REQ] = "GET / this is a 64-byte request of the benchmark.....";
	size_t got = 0;
	ssize_t r;

	if (F->send(fd, buf, REQ, MSG_NOSIGNAL) != REQ)
		return -1;
	while (got < REQ) {
		r = F->recv(fd, buf + got, REQ - got, 0);
		if (r <= 0) {
			if (r == 0)
				errno = 0;
			return -1;
		}
		got += (size_t)r;
	}
	return 0;
}

/* n operations: with fd < 0, connection + request + close each; else a
 * request on fd.  Returns the ns they took. */
static uint64_t
rr_ops(const struct sockaddr_in *sin, int fd, unsigned long n)
{
	uint64_t t0 = now_ns();
	unsigned long i;
	int c = fd;

	for (i = 0; i < n; i++) {
		if (fd < 0 && (c = connect_to(sin)) < 0)
			die("connect: %s", strerror(errno));
		if (round_trip(c) < 0)
			die("round trip: %s", strerror(errno));
		if (fd < 0) {
			linger0(c);
			F->close(c);
		}
	}
	return now_ns() - t0;
}

static void
cmd_rr(const char *host, unsigned port, const char *mode, unsigned long n)
{
	struct sockaddr_in sin;
	int fd = -1;

	dest_n(&sin, host, port, 0);
	if (strcmp(mode, "conn") && (fd = connect_to(&sin)) < 0)
		die("connect: %s", strerror(errno));
	rr_ops(&sin, fd, n / 10 + 20);		/* warm up */
	printf("op_ns %.1f\n", (double)rr_ops(&sin, fd, n) / (double)n);
}

/* As abcycle, for rr: on one connection (req) or a new one each (conn). */
static void
cmd_abrr(const char *host, unsigned port, const char *mode,
	 unsigned long blocks, unsigned long ops)
{
	struct sockaddr_in sin;
	struct ab_job j = { &sin, ops, -1, 0 };

	dest_n(&sin, host, port, 0);
	if (strcmp(mode, "conn") && (j.fd = connect_to(&sin)) < 0)
		die("connect: %s", strerror(errno));
	ab_compare(&j, blocks);
}

static void
cmd_dead(const char *host, unsigned port, unsigned long n)
{
	struct sockaddr_in sin;
	unsigned long i;

	dest_n(&sin, host, port, 0);
	for (i = 0; i < n; i++) {
		uint64_t t0 = now_ns();
		int fd = connect_to(&sin), e;
		const char *how = "connect";

		if (fd >= 0) {
			how = "reply";
			if (round_trip(fd) == 0)
				die("a dead backend answered");
			e = errno;
			linger0(fd);
			close(fd);
		} else {
			e = errno;
		}
		printf("attempt %lu %s %s %.1f us\n", i + 1, how,
		       e == 0 ? "EOF" : e == ECONNREFUSED ? "ECONNREFUSED" :
		       e == ECONNRESET ? "ECONNRESET" : strerror(e),
		       (double)(now_ns() - t0) / 1e3);
	}
}

static void
cmd_syscost(unsigned long n)
{
	void *h = dlopen("libc.so.6", RTLD_NOW | RTLD_NOLOAD);
	int (*gso)(int, int, int, void *, socklen_t *);
	uint64_t *v = calloc(n, sizeof(*v)), over = timer_overhead_ns(), t0;
	uint64_t cookie, cookie_ns, clock_ns;
	struct timespec ts;
	socklen_t l;
	unsigned long i;
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	if (!h || !v || fd < 0)
		die("syscost: set-up failed");
	*(void **)&gso = dlsym(h, "getsockopt");
	for (i = 0; i < n; i++) {
		l = sizeof(cookie);
		t0 = now_ns();
		gso(fd, SOL_SOCKET, 57 /* SO_COOKIE */, &cookie, &l);
		v[i] = now_ns() - t0;
	}
	cookie_ns = quantile(v, n, 0.5);
	for (i = 0; i < n; i++) {
		t0 = now_ns();
		clock_gettime(CLOCK_MONOTONIC, &ts);
		v[i] = now_ns() - t0;
	}
	clock_ns = quantile(v, n, 0.5);
	for (i = 0; i < n; i++) {
		t0 = now_ns();
		syscall(SYS_getppid);
		v[i] = now_ns() - t0;
	}
	printf("so_cookie_ns %llu clock_gettime_ns %llu getppid_ns %llu\n",
	       (unsigned long long)(cookie_ns > over ? cookie_ns - over : 0),
	       (unsigned long long)(clock_ns > over ? clock_ns - over : 0),
	       (unsigned long long)(quantile(v, n, 0.5) > over ?
				    quantile(v, n, 0.5) - over : 0));
	close(fd);
	free(v);
}

/* kB of field "Rss:" for the first smaps mapping that match() accepts. */
static long
smaps_rss(int (*match)(const char *line, unsigned long size))
{
	FILE *f = fopen("/proc/self/smaps", "r");
	char line[512], perms[5];
	unsigned long lo, hi;
	long rss = -1, kb;
	int in = 0;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%lx-%lx %4s", &lo, &hi, perms) == 3) {
			in = match(line, hi - lo);
			continue;
		}
		if (in && sscanf(line, "Rss: %ld kB", &kb) == 1) {
			rss = kb;
			break;
		}
	}
	fclose(f);
	return rss;
}

/* The shim's fd table: an anonymous mapping of 16 bytes per fd below
 * min(RLIMIT_NOFILE hard limit, 2^22), at least 1024 (see interpose.c). */
static int
is_fdtable(const char *line, unsigned long size)
{
	struct rlimit rl;
	unsigned long lim = 1ul << 22;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_max < lim)
		lim = rl.rlim_max < 1024 ? 1024 : rl.rlim_max;
	lim = (lim * 16 + 4095) & ~4095ul;
	return size == lim && strstr(line, " 00:00 0") != NULL;
}

static int
is_segment(const char *line, unsigned long size)
{
	(void)size;
	return strstr(line, "/dev/shm/") != NULL;
}

static void
cmd_mem(const char *host, unsigned port, unsigned long k)
{
	struct sockaddr_in sin;
	FILE *f;
	char line[256];
	long vmrss = -1;
	unsigned long i;
	int fd = -1;

	dest_n(&sin, host, port, 0);
	for (i = 0; i < k; i++)
		if ((fd = connect_to(&sin)) < 0)
			die("connect %lu: %s", i, strerror(errno));
	if ((f = fopen("/proc/self/status", "r"))) {
		while (fgets(line, sizeof(line), f))
			sscanf(line, "VmRSS: %ld kB", &vmrss);
		fclose(f);
	}
	printf("vmrss_kb %ld fdtable_rss_kb %ld segment_rss_kb %ld "
	       "highest_fd %d\n", vmrss, smaps_rss(is_fdtable),
	       smaps_rss(is_segment), fd);
}

int
main(int argc, char **argv)
{
	const char *cmd = argc > 1 ? argv[1] : "";

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (!strcmp(cmd, "cycle") && argc == 5)
		cmd_cycle(argv[2], arg_ul(argv[3], "port"),
			  arg_ul(argv[4], "N"));
	else if (!strcmp(cmd, "abcycle") && argc == 6)
		cmd_abcycle(argv[2], arg_ul(argv[3], "port"),
			    arg_ul(argv[4], "BLOCKS"), arg_ul(argv[5], "CYCLES"));
	else if (!strcmp(cmd, "ctime") && argc >= 6 && argc <= 8 &&
		 (argc < 8 || !strcmp(argv[7], "flush") ||
		  !strcmp(argv[7], "read") || !strcmp(argv[7], "own")))
		cmd_ctime(argv[2], arg_ul(argv[3], "port"),
			  (uint32_t)arg_ul(argv[4], "K"), arg_ul(argv[5], "N"),
			  argc >= 7 ? argv[6] : NULL,
			  argc < 8 || argv[7][0] == 'f' ? CT_FLUSH :
			  argv[7][0] == 'r' ? CT_READ : CT_OWN);
	else if (!strcmp(cmd, "hang") && argc == 6)
		cmd_hang(argv[2], arg_ul(argv[3], "port"), arg_ul(argv[4], "N"),
			 (int)arg_ul(argv[5], "timeout"));
	else if (!strcmp(cmd, "rr") && argc == 6)
		cmd_rr(argv[2], arg_ul(argv[3], "port"), argv[4],
		       arg_ul(argv[5], "N"));
	else if (!strcmp(cmd, "abrr") && argc == 7)
		cmd_abrr(argv[2], arg_ul(argv[3], "port"), argv[4],
			 arg_ul(argv[5], "BLOCKS"), arg_ul(argv[6], "OPS"));
	else if (!strcmp(cmd, "dead") && argc == 5)
		cmd_dead(argv[2], arg_ul(argv[3], "port"), arg_ul(argv[4], "N"));
	else if (!strcmp(cmd, "syscost") && argc == 3)
		cmd_syscost(arg_ul(argv[2], "N"));
	else if (!strcmp(cmd, "mem") && argc == 5)
		cmd_mem(argv[2], arg_ul(argv[3], "port"), arg_ul(argv[4], "K"));
	else
		die("usage: connbench cycle|abcycle|ctime|hang|rr|abrr|dead|syscost|mem ... "
		    "(see the comment at the top of bench/connbench.c)");
	return 0;
}
