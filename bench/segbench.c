/*
 * segbench.c - benchmarks of the shared segment itself, with the shim's
 * core (table.c, breaker.c) linked in and called directly, no sockets in
 * the measured code:
 *
 *   segbench fill SHM K HOST PORT open|timed|closed [CAP]
 *       create segment SHM (capacity CAP, default max(4096, K)) and K
 *       breakers for HOST+i:PORT: open until a reset (cbctl trip --hold),
 *       open for 10 minutes (timed: a decision must read the clock, as
 *       after failure_threshold failures), or left closed.  Prints the
 *       segment's size and its bytes per place of capacity.
 *   segbench lookup SHM K HOST PORT N
 *       N lookups (cb_table_find + cb_breaker_can_execute) of random
 *       destinations among the K, each after a socket()/close() pair as a
 *       real program makes; prints the median ns (clock cost removed).
 *   segbench probe SHM K HOST PORT N EVICT_KB
 *       for callgrind --cache-sim: N decisions (find + admit, in the
 *       non-inlined function decide()), each after reading EVICT_KB of
 *       unrelated memory, so the cache lines a decision needs are counted
 *       by running with --toggle-collect=decide.  decide()'s frames sit at
 *       the same offset in a cache line in every run (the arguments'
 *       length moves the stack), so runs differ by segment lines only.
 *   segbench tight SHM K HOST PORT N
 *       N decisions (find + admit) of random destinations among the K in
 *       a tight loop, no system call between them, timed in batches of
 *       256; prints the median ns per decision (destinations made before
 *       the timed batch).
 *   segbench churn SHM CAP ROUNDS N
 *       create SHM with CAP places, then ROUNDS x CAP new destinations
 *       (10.0.0.0 up), each inserted where it is missing, on a fake clock
 *       2 ms apart with reclaim after 1 ms: places are reclaimed over and
 *       over, as on a host reaching far more destinations than places.
 *       Then N lookups of destinations never seen (11.0.0.0 up), timed in
 *       batches of 256.  Prints the median ns per such lookup, and how many
 *       slots are still never used (what ended a lookup before the reach).
 *       Removes SHM.
 *   segbench contend SHM one|distinct T ITERS threads|procs [rate]
 *       T threads (or T processes) each making ITERS decisions
 *       (cb_breaker_admit + cb_breaker_record success) on one shared
 *       breaker or on one breaker each; prints decisions per second and
 *       whether every counter is exact afterwards.  With "rate", the
 *       breakers have the failure-rate rule on (50 %, 20 calls, 10 s), so
 *       every outcome also goes into the window.  Removes SHM.
 */
#include <alloca.h>
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"
#include "../shim/breaker.h"
#include "../shim/table.h"

static struct cb_table *open_seg(const char *shm, uint32_t cap, int create);
static void cmd_fill(const char *shm, uint32_t k, const char *host,
		     unsigned port, const char *how, uint32_t cap);
static void cmd_lookup(const char *shm, uint32_t k, const char *host,
		       unsigned port, unsigned long n);
static void cmd_probe(const char *shm, uint32_t k, const char *host,
		      unsigned port, unsigned long n, unsigned long evict_kb);
static void cmd_churn(const char *shm, uint32_t cap, unsigned long rounds,
		      unsigned long n);
static void cmd_tight(const char *shm, uint32_t k, const char *host,
		      unsigned port, unsigned long n);
static void cmd_contend(const char *shm, int one, unsigned nt,
			unsigned long iters, int procs, int rate);

static struct cb_table *
open_seg(const char *shm, uint32_t cap, int create)
{
	struct cb_table_opts o = { .create = create, .mode = 0600,
				   .capacity = cap < 4096 ? 4096 : cap };
	struct cb_table *t;
	char why[256];

	if (cb_table_attach(&t, shm, &o, why, sizeof(why)) < 0)
		die("segment %s: %s", shm, why);
	return t;
}

static void
dest_i(struct cb_dest *d, const char *host, unsigned port, uint32_t i)
{
	struct sockaddr_in sin;

	dest_n(&sin, host, port, i);
	if (cb_dest_from_sockaddr(d, (struct sockaddr *)&sin, sizeof(sin)) < 0)
		die("cb_dest_from_sockaddr failed");
}

static void
cmd_fill(const char *shm, uint32_t k, const char *host, unsigned port,
	 const char *how, uint32_t cap)
{
	struct cb_table *t = open_seg(shm, cap > k ? cap : k, 1);
	int trip = strcmp(how, "closed") != 0, hold = !strcmp(how, "open");
	struct cb_policy p;
	struct cb_dest d;
	struct cb_breaker bh, *b = &bh;
	struct cb_transition tr;
	uint32_t i, slot;

	cb_policy_default(&p);
	for (i = 0; i < k; i++) {
		dest_i(&d, host, port, i);
		if (cb_table_insert(t, &d, &p, b, &slot) < 0)
			die("insert %u failed (table full?)", i);
		if (trip) {
			cb_breaker_trip(b, cb_now_ms(), hold, hold ? 0 : 600000,
					&tr);
			cb_table_event(t, slot, &tr, cb_now_ms(), getpid());
		}
	}
	printf("filled %u breakers (%s), segment %zu bytes, capacity %u, "
	       "slots %u, bytes_per_place %.1f\n", k, how,
	       cb_table_size(t), cb_table_capacity(t), cb_table_slots(t),
	       (double)cb_table_size(t) / cb_table_capacity(t));
	cb_table_detach(t);
}

static void
cmd_lookup(const char *shm, uint32_t k, const char *host, unsigned port,
	   unsigned long n)
{
	struct cb_table *t = open_seg(shm, k, 0);
	struct cb_dest *ds = calloc(k, sizeof(*ds));
	uint64_t *v = calloc(n, sizeof(*v)), seed = 2463534242ull;
	uint64_t over = timer_overhead_ns(), t0, t1, now = cb_now_ms();
	struct cb_breaker bh, *b = &bh;
	unsigned long i, found = 0;
	uint32_t j;

	if (!ds || !v)
		die("out of memory");
	for (j = 0; j < k; j++)
		dest_i(&ds[j], host, port, j);
	for (i = 0; i < n; i++) {
		struct cb_dest d = ds[rnd(&seed) % k];	/* warm, on the stack */
		int fd = socket(AF_INET, SOCK_STREAM, 0);

		t0 = now_ns();
		if (cb_table_find(t, &d, b, NULL) == 0) {
			cb_breaker_can_execute(b, now);
			found++;
		}
		t1 = now_ns();
		close(fd);
		v[i] = t1 - t0 > over ? t1 - t0 - over : 0;
	}
	if (found != n)
		die("lookup: %lu of %lu destinations not found", n - found, n);
	printf("median_ns %llu p10_ns %llu p90_ns %llu timer_ns %llu\n",
	       (unsigned long long)quantile(v, n, 0.5),
	       (unsigned long long)quantile(v, n, 0.1),
	       (unsigned long long)quantile(v, n, 0.9),
	       (unsigned long long)over);
	free(v);
	free(ds);
	cb_table_detach(t);
}

static uint64_t churn_ms = 1000000;

static uint64_t
churn_now(void)
{
	return churn_ms;
}

static void
cmd_churn(const char *shm, uint32_t cap, unsigned long rounds,
	  unsigned long n)
{
	struct cb_table_opts o = { .create = 1, .mode = 0600,
				   .capacity = cap };
	struct cb_table *t;
	struct cb_breaker b;
	struct cb_policy p;
	struct cb_dest d;
	uint32_t slots = 0, never = 0, s;
	unsigned long i, nb = (n + 255) / 256;
	uint64_t *v = calloc(nb, sizeof(*v)), t0;
	char why[256];
	int j;

	if (!v || cb_table_attach(&t, shm, &o, why, sizeof(why)) < 0)
		die("segment %s: %s", shm, v ? why : "out of memory");
	cb_table_set_reclaim(t, 1, churn_now);
	cb_policy_default(&p);
	for (i = 0; i < rounds * cap; i++) {
		churn_ms += 2;
		dest_i(&d, "10.0.0.0", 9, (uint32_t)i);
		if (cb_table_find(t, &d, &b, NULL) < 0)
			cb_table_insert(t, &d, &p, &b, NULL);
	}
	for (i = 0; i < nb; i++) {
		t0 = now_ns();
		for (j = 0; j < 256; j++) {
			dest_i(&d, "11.0.0.0", 9, (uint32_t)(i * 256 + j));
			if (cb_table_find(t, &d, &b, NULL) == 0)
				die("churn: a destination never seen was found");
		}
		v[i] = (now_ns() - t0) / 256;
	}
	/* slots never used: a key word still 0 (the decision lines are one
	 * dense array: found from any breaker's line and slot) */
	dest_i(&d, "10.0.0.0", 9, (uint32_t)(rounds * cap - 1));
	if (cb_table_find(t, &d, &b, &s) < 0)
		die("churn: the last destination is not there");
	slots = cb_table_slots(t);
	for (i = 0; i < slots; i++)
		never += atomic_load_explicit(&(b.hot - s + i)->key[0],
		    memory_order_relaxed) == 0;
	printf("median_ns %llu never_used %u of %u\n",
	       (unsigned long long)quantile(v, nb, 0.5), never, slots);
	cb_table_detach(t);
	cb_table_destroy(shm);
	free(v);
}

/* One decision, as interpose.c's govern() makes it: find, then admit. */
__attribute__((noinline)) int
decide(struct cb_table *t, const struct cb_dest *d, uint64_t now);

__attribute__((noinline)) int
decide(struct cb_table *t, const struct cb_dest *d, uint64_t now)
{
	struct cb_breaker bh, *b = &bh;
	struct cb_ticket tk;
	struct cb_transition tr;

	if (cb_table_find(t, d, b, NULL) < 0)
		return -ENOENT;
	return cb_breaker_admit(b, now, &tk, &tr);
}

static void
cmd_probe(const char *shm, uint32_t k, const char *host, unsigned port,
	  unsigned long n, unsigned long evict_kb)
{
	struct cb_table *t = open_seg(shm, k, 0);
	size_t ev = evict_kb * 1024;
	volatile uint8_t *buf = malloc(ev ? ev : 1);
	uint64_t seed = 2463534242ull, now = cb_now_ms(), sum = 0;
	struct cb_dest d;
	unsigned long i, rejected = 0;
	volatile char *pad;
	size_t j;

	if (!buf)
		die("out of memory");
	/* bring the stack to a fixed offset within a cache line */
	pad = alloca(64 + ((uintptr_t)&pad & 63));
	__asm__ volatile("" : : "r"(pad) : "memory");
	for (i = 0; i < n; i++) {
		dest_i(&d, host, port, (uint32_t)(rnd(&seed) % k));
		for (j = 0; j < ev; j += 64)
			sum += buf[j];
		if (decide(t, &d, now) == -ECONNREFUSED)
			rejected++;
	}
	printf("decisions %lu rejected %lu (%llu)\n", n, rejected,
	       (unsigned long long)(sum & 1));
	cb_table_detach(t);
}

static void
cmd_tight(const char *shm, uint32_t k, const char *host, unsigned port,
	  unsigned long n)
{
	struct cb_table *t = open_seg(shm, k, 0);
	struct cb_dest *ds = calloc(k, sizeof(*ds)), batch[256];
	unsigned long nb = n / 256 ? n / 256 : 1, i, rejected = 0;
	uint64_t *v = calloc(nb, sizeof(*v)), seed = 2463534242ull;
	uint64_t now = cb_now_ms(), t0;
	uint32_t j;

	if (!ds || !v)
		die("out of memory");
	for (j = 0; j < k; j++)
		dest_i(&ds[j], host, port, j);
	for (i = 0; i < nb; i++) {
		for (j = 0; j < 256; j++)
			batch[j] = ds[rnd(&seed) % k];
		t0 = now_ns();
		for (j = 0; j < 256; j++)
			rejected += decide(t, &batch[j], now) == -ECONNREFUSED;
		v[i] = now_ns() - t0;
	}
	if (rejected != nb * 256)
		die("tight: %lu of %lu decisions not rejections", nb * 256 -
		    rejected, nb * 256);
	printf("median_ns %.1f\n", (double)quantile(v, nb, 0.5) / 256);
	free(v);
	free(ds);
	cb_table_detach(t);
}

/* ---- contention ------------------------------------------------------ */

struct shared {
	_Atomic unsigned ready;
	_Atomic int go;
};

struct worker {
	struct cb_breaker b;
	struct shared *sh;
	unsigned long iters;
};

static void *
work(void *arg)
{
	struct worker *w = arg;
	struct cb_ticket tk;
	struct cb_transition tr;
	uint64_t now = cb_now_ms();
	unsigned long i;

	atomic_fetch_add(&w->sh->ready, 1);
	while (!atomic_load_explicit(&w->sh->go, memory_order_acquire))
		sched_yield();
	for (i = 0; i < w->iters; i++) {
		if (cb_breaker_admit(&w->b, now, &tk, &tr) == 0)
			cb_breaker_record(&w->b, &tk, 1, 0, now, &tr);
		if ((i & 4095) == 0)
			now = cb_now_ms();
	}
	return NULL;
}

/* Start nt workers (threads, or processes each running one), release
 * them at once, and return the wall time until all are done. */
static uint64_t
run_workers(struct worker *ws, unsigned nt, int procs)
{
	pthread_t th[64];
	pid_t pid[64];
	uint64_t t0;
	unsigned i;

	for (i = 0; i < nt; i++) {
		if (!procs) {
			if (pthread_create(&th[i], NULL, work, &ws[i]))
				die("pthread_create failed");
		} else if ((pid[i] = fork()) == 0) {
			work(&ws[i]);
			_exit(0);
		} else if (pid[i] < 0) {
			die("fork: %s", strerror(errno));
		}
	}
	while (atomic_load(&ws[0].sh->ready) < nt)
		sched_yield();
	t0 = now_ns();
	atomic_store_explicit(&ws[0].sh->go, 1, memory_order_release);
	for (i = 0; i < nt; i++) {
		if (!procs)
			pthread_join(th[i], NULL);
		else
			waitpid(pid[i], NULL, 0);
	}
	return now_ns() - t0;
}

static void
cmd_contend(const char *shm, int one, unsigned nt, unsigned long iters,
	    int procs, int rate)
{
	struct cb_table *t;
	struct shared *sh;
	struct worker ws[64];
	struct cb_policy p;
	struct cb_dest d;
	struct cb_snapshot s;
	uint64_t ns, calls = 0, succ = 0, want;
	unsigned i, nb = one ? 1 : nt;

	if (nt < 1 || nt > 64)
		die("1..64 workers");
	cb_table_destroy(shm);
	t = open_seg(shm, 4096, 1);
	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE,
		  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED)
		die("mmap: %s", strerror(errno));
	cb_policy_default(&p);
	if (rate)
		p.failure_rate_threshold = 50;
	for (i = 0; i < nt; i++) {
		dest_i(&d, "127.2.0.1", 9, one ? 0 : i);
		if (cb_table_insert(t, &d, &p, &ws[i].b, NULL) < 0)
			die("insert failed");
		ws[i].sh = sh;
		ws[i].iters = iters;
	}
	ns = run_workers(ws, nt, procs);
	for (i = 0; i < nb; i++) {
		cb_breaker_snapshot(&ws[i].b, cb_now_ms(), &s);
		calls += s.total_calls;
		succ += s.successful_calls;
	}
	want = (uint64_t)nt * iters;
	printf("decisions_per_s %.0f exact %s total_calls %llu "
	       "successful_calls %llu expected %llu\n",
	       (double)want * 1e9 / (double)ns,
	       calls == want && succ == want ? "yes" : "NO",
	       (unsigned long long)calls, (unsigned long long)succ,
	       (unsigned long long)want);
	cb_table_detach(t);
	cb_table_destroy(shm);
}

int
main(int argc, char **argv)
{
	const char *cmd = argc > 1 ? argv[1] : "";

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (!strcmp(cmd, "fill") && (argc == 7 || argc == 8))
		cmd_fill(argv[2], (uint32_t)arg_ul(argv[3], "K"), argv[4],
			 arg_ul(argv[5], "port"), argv[6], argc == 8 ?
			 (uint32_t)arg_ul(argv[7], "CAP") : 4096);
	else if (!strcmp(cmd, "lookup") && argc == 7)
		cmd_lookup(argv[2], (uint32_t)arg_ul(argv[3], "K"), argv[4],
			   arg_ul(argv[5], "port"), arg_ul(argv[6], "N"));
	else if (!strcmp(cmd, "probe") && argc == 8)
		cmd_probe(argv[2], (uint32_t)arg_ul(argv[3], "K"), argv[4],
			  arg_ul(argv[5], "port"), arg_ul(argv[6], "N"),
			  arg_ul(argv[7], "EVICT_KB"));
	else if (!strcmp(cmd, "tight") && argc == 7)
		cmd_tight(argv[2], (uint32_t)arg_ul(argv[3], "K"), argv[4],
			  arg_ul(argv[5], "port"), arg_ul(argv[6], "N"));
	else if (!strcmp(cmd, "churn") && argc == 6)
		cmd_churn(argv[2], (uint32_t)arg_ul(argv[3], "CAP"),
			  arg_ul(argv[4], "ROUNDS"), arg_ul(argv[5], "N"));
	else if (!strcmp(cmd, "contend") && (argc == 7 || (argc == 8 &&
		 !strcmp(argv[7], "rate"))))
		cmd_contend(argv[2], !strcmp(argv[3], "one"),
			    (unsigned)arg_ul(argv[4], "T"),
			    arg_ul(argv[5], "ITERS"),
			    !strcmp(argv[6], "procs"), argc == 8);
	else
		die("usage: segbench fill|lookup|probe|tight|churn|contend ... "
		    "(see the comment at the top of bench/segbench.c)");
	return 0;
}
