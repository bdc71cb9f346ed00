/*
 * test_churn.c - reclaim under churn (idle breakers' places go to new
 * destinations): destinations far beyond the table's places, processes x
 * threads, trips and resets racing.
 *
 * A segment of CAP places; HELD destinations are tripped with --hold
 * before the run, TOGGLED ones are tripped and reset by the threads at
 * random, and LIVE ones (hundreds) only ever succeed.  The threads decide
 * attempts the way the shim's connect path does (find or insert, admit,
 * check that the slot still holds the key, else look again), with a clock
 * that every operation advances (shared, so deterministic; the
 * interleaving is not) and a reclaim_after of a few operations.  Every
 * breaker opens at its first failure, and only TOGGLED destinations ever
 * fail, so:
 *   - a LIVE destination is never refused: a refusal would be a decision
 *     on another destination's breaker, or a failure admitted before a
 *     reclaim that landed on the new destination;
 *   - a HELD destination is always found and always refused: never
 *     reclaimed, never decided on anybody else's breaker.
 * The second test SIGKILLs such children at random moments, over and over,
 * then checks that nothing is wedged: held ones still refuse, and every
 * place not held comes back to new destinations.  Children report through
 * shared memory and never call cmocka.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "testutil.h"

#include "../../shim/breaker.h"
#include "../../shim/table.h"

#define NPROCS 3
#define NTHREADS 3
#define ITERS (40000 / ITER_DIV)	/* operations per thread */
#define CAP 8				/* places */
#define HELD 2				/* destinations 0..1 */
#define TOGGLED 3			/* destinations 2..4 */
#define LIVE 400			/* destinations 5..404 */
#define NDEST (HELD + TOGGLED + LIVE)
#define RECLAIM_MS 40			/* clock ticks: one per operation */
#define KILL_ROUNDS 6

/* What the threads saw, summed in shared memory. */
struct shared {
	_Atomic uint64_t clock;			/* ms: +1 per operation */
	_Atomic uint64_t live_admitted, live_unprotected, live_refused;
	_Atomic uint64_t held_refused, held_missing, held_admitted;
	_Atomic uint64_t retries, errors;
	_Atomic int go;
};

static struct shared *sh;
static char segment[64];

static uint64_t
shared_now(void)
{
	return atomic_load_explicit(&sh->clock, memory_order_relaxed);
}

static void
dest_n(struct cb_dest *d, int n)
{
	memset(d, 0, sizeof(*d));
	d->family = AF_INET;
	d->port = (uint16_t)(2000 + n);
	d->addr[0] = 10;
	d->addr[1] = 7;
	d->addr[2] = (uint8_t)(n >> 8);
	d->addr[3] = (uint8_t)n;
}

static void
churn_policy(struct cb_policy *p)
{
	cb_policy_default(p);
	p->failure_threshold = 1;		/* the first failure opens */
	p->open_timeout_ms = CB_MAX_TIMEOUT_MS;	/* open until reset */
	p->open_timeout_max_ms = CB_MAX_TIMEOUT_MS;
}

static struct cb_table *
open_segment(int create)
{
	struct cb_table_opts o = { create, 0, 0600, CAP };
	struct cb_table *t;
	char why[256];

	if (cb_table_attach(&t, segment, &o, why, sizeof(why)) != 0)
		return NULL;
	cb_table_set_reclaim(t, RECLAIM_MS, shared_now);
	return t;
}

/* Decide one attempt on destination n as the shim does.  0 admitted (*b,
 * *tk), -ECONNREFUSED refused, 1 unprotected (no place).  *life (if not
 * NULL): the breaker's incarnation, for a trip or reset (cbctl's way);
 * ~0 if it was reclaimed meanwhile. */
static int
decide_life(struct cb_table *t, int n, struct cb_breaker *b,
	    struct cb_ticket *tk, uint32_t *life)
{
	struct cb_transition tr;
	struct cb_policy p;
	struct cb_dest d;
	struct cb_key k;
	uint32_t slot;
	int r, tries;

	dest_n(&d, n);
	cb_table_key(t, &d, &k);
	churn_policy(&p);
	for (tries = 0; tries < 100; tries++) {
		if (cb_table_find_key(t, &k, b, &slot) < 0 &&
		    cb_table_insert(t, &d, &p, b, &slot) < 0)
			return 1;
		r = cb_breaker_admit(b, shared_now(), tk, &tr);
		if (r != -EAGAIN && cb_table_holds_key(b, &k)) {
			if (life && cb_table_life(t, slot, &d, life) < 0)
				*life = ~0u;
			return r;
		}
		if (r == 0)
			cb_breaker_release(b, tk);
		atomic_fetch_add(&sh->retries, 1);
	}
	atomic_fetch_add(&sh->errors, 1);	/* looked again forever */
	return 1;
}

static int
decide(struct cb_table *t, int n, struct cb_breaker *b,
       struct cb_ticket *tk)
{
	return decide_life(t, n, b, tk, NULL);
}

/* One operation of a thread, on a destination picked by x. */
static void
one_op(struct cb_table *t, unsigned x)
{
	struct cb_transition tr;
	struct cb_breaker bh_, *b = &bh_;
	struct cb_ticket tk;
	int n = (int)(x % 16 == 0 ? x / 16 % HELD : x % 16 < 4 ?
		      HELD + x / 16 % TOGGLED : HELD + TOGGLED + x / 16 % LIVE);
	uint32_t life = ~0u;
	int r;

	atomic_fetch_add_explicit(&sh->clock, 1, memory_order_relaxed);
	r = decide_life(t, n, b, &tk, &life);
	if (n < HELD) {
		atomic_fetch_add(r == -ECONNREFUSED ? &sh->held_refused :
				 r == 1 ? &sh->held_missing :
				 &sh->held_admitted, 1);
		if (r == 0)
			cb_breaker_record(b, &tk, 1, 0, shared_now(), &tr);
		return;
	}
	if (n < HELD + TOGGLED) {
		if (r == 0 && x % 3 == 0)
			sched_yield();	/* outcomes late, across reclaims */
		if (r == 0)	/* fail, or trip/reset it now and then */
			cb_breaker_record(b, &tk, 0, ECONNREFUSED,
					  shared_now(), &tr);
		if (r != 1 && x % 7 == 0)
			cb_breaker_reset_life(b, life, shared_now(), &tr);
		else if (r != 1 && x % 11 == 0)
			cb_breaker_trip_life(b, life, shared_now(), 0, 0, &tr);
		return;
	}
	atomic_fetch_add(r == 0 ? &sh->live_admitted : r == 1 ?
			 &sh->live_unprotected : &sh->live_refused, 1);
	if (r == 0) {
		if (x % 3 == 0)
			sched_yield();	/* outcomes late, across reclaims */
		cb_breaker_record(b, &tk, 1, 0, shared_now(), &tr);
	}
}

struct worker {
	struct cb_table *t;
	unsigned seed;
	long iters;		/* < 0: until killed */
};

static void *
worker_main(void *arg)
{
	struct worker *w = arg;
	unsigned x = w->seed;
	long i;

	while (!atomic_load(&sh->go))
		sched_yield();
	for (i = 0; w->iters < 0 || i < w->iters; i++) {
		x = x * 1103515245u + 12345u;
		one_op(w->t, x >> 8);
	}
	return NULL;
}

/* A child process: NTHREADS workers on its own attachment. */
static void
child_main(int p, long iters)
{
	struct worker w[NTHREADS];
	pthread_t th[NTHREADS];
	struct cb_table *t = open_segment(0);
	int i;

	if (!t) {
		atomic_fetch_add(&sh->errors, 1);
		_exit(1);
	}
	for (i = 0; i < NTHREADS; i++) {
		w[i] = (struct worker){ t, (unsigned)(p * 7919 + i * 104729 +
						      1), iters };
		if (pthread_create(&th[i], NULL, worker_main, &w[i]) != 0) {
			atomic_fetch_add(&sh->errors, 1);
			_exit(1);
		}
	}
	for (i = 0; i < NTHREADS; i++)
		pthread_join(th[i], NULL);
	_exit(0);
}

/* A fresh segment with the held destinations tripped. */
static struct cb_table *
setup_run(void)
{
	struct cb_transition tr;
	struct cb_breaker bh_, *b = &bh_;
	struct cb_policy p;
	struct cb_dest d;
	struct cb_table *t;
	int i;

	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE,
		  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	assert_true(sh != MAP_FAILED);
	memset(sh, 0, sizeof(*sh));
	sh->clock = 1000;
	snprintf(segment, sizeof(segment), "/cbtest-churn-%ld",
		 (long)getpid());
	cb_table_destroy(segment);
	assert_non_null(t = open_segment(1));
	churn_policy(&p);
	for (i = 0; i < HELD; i++) {
		dest_n(&d, i);
		assert_int_equal(cb_table_insert(t, &d, &p, b, NULL), 0);
		cb_breaker_trip(b, shared_now(), 1, 0, &tr);
	}
	return t;
}

static void
check_held(struct cb_table *t)
{
	struct cb_breaker bh_, *b = &bh_;
	struct cb_ticket tk;
	int i;

	for (i = 0; i < HELD; i++)
		assert_int_equal(decide(t, i, b, &tk), -ECONNREFUSED);
}

static void
teardown_run(struct cb_table *t)
{
	cb_table_detach(t);
	cb_table_destroy(segment);
	munmap(sh, sizeof(*sh));
}

static void
live_destinations_always_connect_and_held_ones_are_always_refused(void **s)
{
	struct cb_table *t = setup_run();
	pid_t pid[NPROCS];
	int p;

	(void)s;
	for (p = 0; p < NPROCS; p++)
		if ((pid[p] = child()) == 0)
			child_main(p, ITERS);
	atomic_store(&sh->go, 1);
	for (p = 0; p < NPROCS; p++)
		assert_int_equal(wait_child(pid[p]), 0);
	print_message("# live: %llu admitted, %llu unprotected; held: %llu "
		      "refused; %llu reclaimed, %llu looked again\n",
		      (unsigned long long)sh->live_admitted,
		      (unsigned long long)sh->live_unprotected,
		      (unsigned long long)sh->held_refused,
		      (unsigned long long)cb_table_reclaimed(t),
		      (unsigned long long)sh->retries);
	assert_int_equal(sh->errors, 0);
	assert_int_equal(sh->live_refused, 0);
	assert_int_equal(sh->held_missing + sh->held_admitted, 0);
	assert_true(sh->held_refused > 0);
	/* the churn really churned */
	assert_true(sh->live_admitted > 1000);
	assert_true(cb_table_reclaimed(t) > 100);
	assert_true(cb_table_used(t) <= CAP);
	check_held(t);
	teardown_run(t);
}

/* After children were killed at random moments (mid-reclaim among them),
 * nothing is wedged. */
static void
reclaim_survives_children_killed_at_random_moments(void **s)
{
	struct cb_table *t = setup_run();
	struct cb_transition tr;
	struct cb_breaker bh_, *b = &bh_;
	struct cb_ticket tk;
	struct cb_dest d;
	pid_t pid[NPROCS];
	int p, round, i, r;
	uint64_t before;

	(void)s;
	atomic_store(&sh->go, 1);
	for (round = 0; round < KILL_ROUNDS; round++) {
		for (p = 0; p < NPROCS; p++)
			if ((pid[p] = child()) == 0)
				child_main(p + round * NPROCS, -1);
		before = cb_table_reclaimed(t);
		/* let them churn until reclaims happen, then kill */
		for (i = 0; i < 100000 && cb_table_reclaimed(t) < before +
		     50 + (uint64_t)round * 37; i++)
			sched_yield();
		for (p = 0; p < NPROCS; p++) {
			kill(pid[p], SIGKILL);
			assert_int_equal(wait_child(pid[p]), 100 + SIGKILL);
		}
	}
	assert_int_equal(sh->errors, 0);
	assert_int_equal(sh->live_refused, 0);
	assert_int_equal(sh->held_missing + sh->held_admitted, 0);
	check_held(t);
	/* every place not held comes back: the toggled ones closed, each
	 * new destination gets one (after a stamp and reclaim_after), even
	 * where killed creators left places counted */
	for (i = HELD; i < HELD + TOGGLED; i++) {
		dest_n(&d, i);
		if (cb_table_find(t, &d, b, NULL) == 0)
			cb_breaker_reset(b, shared_now(), &tr);
	}
	for (i = 0; i < CAP - HELD; i++) {
		r = decide(t, 5000 + i, b, &tk);
		/* no place: an idle one is reclaimed after reclaim_after; a
		 * place still counted for a killed creator comes back at the
		 * next exact count (30 s after one that found the table full) */
		for (round = 0; r == 1 && round < 2; round++) {
			/* the new ones placed so far stay in use: an attempt
			 * each, or they would be idle by then and reclaimed */
			for (p = 0; p < i; p++)
				if (decide(t, 5000 + p, b, &tk) != 0)
					fail_msg("new destination %d lost", p);
			atomic_fetch_add(&sh->clock, round ? 30000 : RECLAIM_MS);
			r = decide(t, 5000 + i, b, &tk);
		}
		if (r != 0)
			fail_msg("new destination %d: %d (wedged?)", i, r);
	}
	assert_int_equal(cb_table_used(t), CAP);
	check_held(t);
	teardown_run(t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
		    live_destinations_always_connect_and_held_ones_are_always_refused),
		cmocka_unit_test(
		    reclaim_survives_children_killed_at_random_moments),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
