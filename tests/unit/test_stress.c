/*
 * test_stress.c - many threads in several processes on one shared breaker.
 *
 * Forked processes, each running threads, hammer one breaker in a shared
 * segment with a mix of admissions, successes, failures, releases, trips
 * and resets.  Time is a shared atomic counter every operation advances, so
 * the run is driven by a deterministic clock (the interleaving is not).
 * Every thread tallies what it did and every transition it was told it
 * made, in shared memory; afterwards the breaker's counters must equal the
 * sums exactly and its state must agree with the transitions made.  A
 * second test SIGKILLs such children at random moments, over and over, and
 * then checks that nothing went backwards, nothing is wedged, and a new
 * process can attach and use the breaker.  The last two run the failure-
 * rate rule across processes and threads: the window must lose no outcome
 * and the rule must open the breaker exactly once.  Children never call
 * cmocka.
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
#include "../../shim/words.h"

#define NPROCS 3
#define NTHREADS 4
#define ITERS (100000 / ITER_DIV)	/* operations per thread */
#define HELD 3				/* tickets a thread holds at once */
#define NDESTS 64			/* other keys, for the kill test */
#define KILL_ROUNDS 8
#define KILL_THREADS 2

/* What one thread did and saw. */
struct tally {
	uint64_t attempts, admitted, rejected, shadow;
	uint64_t successes, failures, releases;
	uint64_t trans[3][3];		/* [from][to], from != to */
	uint64_t trips, resets;
	int error;			/* first inconsistency, see work() */
};

struct shared {
	_Atomic uint64_t clock;		/* the fake CLOCK_MONOTONIC, in ms */
	_Atomic uint64_t progress;	/* operations done (kill test) */
	_Atomic int ready;
	int observe;
	pid_t parent;			/* children stop if it goes away */
	struct tally tally[NPROCS][NTHREADS];
};

struct worker {
	struct shared *sh;
	struct cb_table *t;
	struct cb_breaker b;
	struct tally *ty;
	uint64_t seed;
	uint64_t iters;			/* 0: until killed */
	int keys;			/* also insert other keys */
};

static const int fail_errnos[] = { ECONNREFUSED, ETIMEDOUT, ECONNRESET };

static char segment[64];

static void stress_policy(struct cb_policy *p);
static void dest_n(struct cb_dest *d, int n);
static void note_tr(struct tally *ty, const struct cb_transition *tr);
static void resolve(struct worker *w, struct cb_ticket *t, uint64_t now);
static void *work(void *arg);
static void run_process(struct shared *sh, int proc, int nthreads,
			uint64_t iters, int keys);
static struct cb_table *open_segment(int create);
static struct cb_breaker main_breaker(struct cb_table *t);
static void sum_tallies(struct shared *sh, struct tally *sum);
static int raw_state(struct cb_breaker *b);
static void check_exact(struct shared *sh, struct cb_breaker *b);
static void stress(int observe);
static int teardown(void **state);
struct sample;
static void take_sample(struct cb_breaker *b, uint64_t now, struct sample *s);
static void not_backwards(const struct sample *a, const struct sample *b);

/* ---- helpers -------------------------------------------------------- */

/* Small numbers, so that every state and transition happens often. */
static void
stress_policy(struct cb_policy *p)
{
	cb_policy_default(p);
	p->failure_threshold = 3;
	p->success_threshold = 2;
	p->half_open_max_calls = 2;
	p->open_timeout_ms = 40;
	p->open_timeout_max_ms = 400;
	p->backoff_milli = 1500;
}

static void
dest_n(struct cb_dest *d, int n)
{
	memset(d, 0, sizeof(*d));
	d->family = AF_INET;
	d->port = (uint16_t)(1000 + n);
	d->addr[0] = 10;
	d->addr[3] = (uint8_t)n;
}

static void
note_tr(struct tally *ty, const struct cb_transition *tr)
{
	if (tr->why == CB_WHY_NONE || tr->from == tr->to)
		return;
	if (tr->from > 2 || tr->to > 2) {
		ty->error = ty->error ? ty->error : 1;
		return;
	}
	ty->trans[tr->from][tr->to]++;
}

/* Give held ticket t an outcome: success, failure or neither. */
static void
resolve(struct worker *w, struct cb_ticket *t, uint64_t now)
{
	struct cb_transition tr;
	uint64_t r = rnd(&w->seed) % 100;
	int e = fail_errnos[r % 3];

	if (r < 47) {
		cb_breaker_record(&w->b, t, 1, 0, now, &tr);
		w->ty->successes++;
	} else if (r < 92) {
		cb_breaker_record(&w->b, t, 0, e, now, &tr);
		w->ty->failures++;
	} else {
		cb_breaker_release(&w->b, t);
		w->ty->releases++;
		return;
	}
	note_tr(w->ty, &tr);
}

/* One thread: attempts, outcomes of the tickets it holds, now and then a
 * trip or a reset; every operation takes the next tick of the clock. */
static void *
work(void *arg)
{
	struct worker *w = arg;
	struct cb_ticket held[HELD], t;
	struct cb_transition tr;
	struct cb_breaker obh_, *ob = &obh_;
	struct cb_dest d;
	struct cb_policy p;
	uint64_t i, now, r;
	int nheld = 0, rc;

	stress_policy(&p);
	for (i = 0; w->iters == 0 || i < w->iters; i++) {
		if (w->iters == 0 && i % 1024 == 0 &&
		    getppid() != w->sh->parent)
			_exit(4);
		now = atomic_fetch_add(&w->sh->clock, 1);
		atomic_fetch_add_explicit(&w->sh->progress, 1,
					  memory_order_relaxed);
		r = rnd(&w->seed) % 1000;
		if (r < 3) {
			cb_breaker_trip(&w->b, now, 0, r == 0 ? 0 : 60, &tr);
			note_tr(w->ty, &tr);
			w->ty->trips++;
		} else if (r < 6) {
			cb_breaker_reset(&w->b, now, &tr);
			note_tr(w->ty, &tr);
			w->ty->resets++;
		} else if (r < 10 && w->keys) {
			dest_n(&d, (int)(rnd(&w->seed) % NDESTS));
			if (cb_table_insert(w->t, &d, &p, ob, NULL) != 0)
				w->ty->error = w->ty->error ? w->ty->error : 2;
		} else if (nheld == HELD || (nheld > 0 && r % 2)) {
			resolve(w, &held[--nheld], now);
		} else {
			w->ty->attempts++;
			rc = cb_breaker_admit(&w->b, now, &t, &tr);
			note_tr(w->ty, &tr);
			if (rc == -ECONNREFUSED && t.kind == CB_TICKET_NONE &&
			    !w->sh->observe) {
				w->ty->rejected++;
				continue;
			}
			if (rc != 0 || t.kind == CB_TICKET_NONE ||
			    (t.kind == CB_TICKET_SHADOW && !w->sh->observe)) {
				w->ty->error = w->ty->error ? w->ty->error : 3;
				continue;
			}
			if (t.kind == CB_TICKET_SHADOW)
				w->ty->shadow++;
			else
				w->ty->admitted++;
			held[nheld++] = t;
		}
	}
	while (nheld > 0)
		resolve(w, &held[--nheld],
			atomic_fetch_add(&w->sh->clock, 1));
	return NULL;
}

/* A child process: its own mapping, nthreads workers, then _exit. */
static void
run_process(struct shared *sh, int proc, int nthreads, uint64_t iters,
	    int keys)
{
	struct worker w[NTHREADS];
	pthread_t th[NTHREADS];
	struct cb_table *t = open_segment(0);
	struct cb_breaker bh_, *b = &bh_;
	struct cb_dest d;
	int i;

	dest_n(&d, NDESTS);
	if (t == NULL || cb_table_find(t, &d, b, NULL) != 0)
		_exit(2);
	atomic_fetch_add(&sh->ready, 1);
	while (atomic_load(&sh->ready) < NPROCS)
		sched_yield();
	for (i = 0; i < nthreads; i++) {
		w[i].sh = sh;
		w[i].t = t;
		w[i].b = *b;
		w[i].ty = &sh->tally[proc][i];
		w[i].seed = 0x9e3779b97f4a7c15ull *
			    (uint64_t)(proc * 16 + i + 1);
		w[i].iters = iters;
		w[i].keys = keys;
		if (pthread_create(&th[i], NULL, work, &w[i]) != 0)
			_exit(3);
	}
	for (i = 0; i < nthreads; i++)
		pthread_join(th[i], NULL);
	_exit(0);
}

/* The test's segment (NULL on failure: children must not assert). */
static struct cb_table *
open_segment(int create)
{
	struct cb_table_opts o = { create, 0, 0600, 2 * NDESTS };
	struct cb_table *t;
	char why[256];

	return cb_table_attach(&t, segment, &o, why, sizeof(why)) ? NULL : t;
}

static struct cb_breaker
main_breaker(struct cb_table *t)
{
	struct cb_breaker b;
	struct cb_policy p;
	struct cb_dest d;

	stress_policy(&p);
	dest_n(&d, NDESTS);
	assert_int_equal(cb_table_insert(t, &d, &p, &b, NULL), 0);
	return b;
}

static void
sum_tallies(struct shared *sh, struct tally *sum)
{
	const struct tally *ty;
	int p, i, f, to;

	memset(sum, 0, sizeof(*sum));
	for (p = 0; p < NPROCS; p++) {
		for (i = 0; i < NTHREADS; i++) {
			ty = &sh->tally[p][i];
			if (ty->error)
				fail_msg("process %d thread %d: error %d", p,
					 i, ty->error);
			sum->attempts += ty->attempts;
			sum->admitted += ty->admitted;
			sum->rejected += ty->rejected;
			sum->shadow += ty->shadow;
			sum->successes += ty->successes;
			sum->failures += ty->failures;
			sum->releases += ty->releases;
			sum->trips += ty->trips;
			sum->resets += ty->resets;
			for (f = 0; f < 3; f++)
				for (to = 0; to < 3; to++)
					sum->trans[f][to] += ty->trans[f][to];
		}
	}
}

/* The state in the control word itself (bits 0-1, see breaker.c), not
 * the effective one a snapshot shows. */
static int
raw_state(struct cb_breaker *b)
{
	return (int)CB_GET(atomic_load(&b->hot->ctl), CTL_STATE);
}

/* The breaker's counters against the sum of what the threads did. */
static void
check_exact(struct shared *sh, struct cb_breaker *b)
{
	struct tally sum;
	struct cb_snapshot s;
	struct cb_policy p;
	uint64_t moves = 0;
	int st, f, to, in, out, want;

	sum_tallies(sh, &sum);
	stress_policy(&p);
	cb_breaker_snapshot(b, atomic_load(&sh->clock), &s);
	assert_int_equal(s.total_calls, sum.attempts);
	assert_int_equal(s.total_calls,
			 sum.admitted + sum.rejected + sum.shadow);
	assert_int_equal(s.rejected_calls, sum.rejected + sum.shadow);
	assert_int_equal(s.successful_calls, sum.successes);
	assert_int_equal(s.failed_calls, sum.failures);
	assert_int_equal(sum.admitted + sum.shadow,
			 sum.successes + sum.failures + sum.releases);
	assert_true(s.stale_outcomes <= sum.successes + sum.failures);
	for (f = 0; f < 3; f++)
		for (to = 0; to < 3; to++)
			moves += sum.trans[f][to];
	assert_int_equal(s.state_transitions, moves);
	/* every state was entered as often as it was left, give or take
	 * where the breaker started (closed) and where it is now */
	st = raw_state(b);
	for (f = 0; f < 3; f++) {
		in = out = 0;
		for (to = 0; to < 3; to++) {
			in += (int)sum.trans[to][f];
			out += (int)sum.trans[f][to];
		}
		want = (st == f) - (f == CB_CLOSED);
		if (in - out != want)
			fail_msg("state %s: entered %d, left %d, now %s",
				 cb_state_name(f), in, out, cb_state_name(st));
	}
	/* every ticket was resolved: nothing is in flight or half-counted */
	if (st == CB_HALF_OPEN) {
		assert_int_equal(s.half_open_in_flight, 0);
		assert_true(s.half_open_successes < p.success_threshold);
	}
	if (st == CB_CLOSED)
		assert_true(s.consecutive_failures < p.failure_threshold);
	/* and the run went through every transition there is */
	assert_true(sum.trans[CB_CLOSED][CB_OPEN] > 0);
	assert_true(sum.trans[CB_OPEN][CB_HALF_OPEN] > 0);
	assert_true(sum.trans[CB_HALF_OPEN][CB_CLOSED] > 0);
	assert_true(sum.trans[CB_HALF_OPEN][CB_OPEN] > 0);
	assert_true(sum.trans[CB_OPEN][CB_CLOSED] > 0);
	assert_true(s.stale_outcomes > 0);
	if (sh->observe) {
		assert_int_equal(sum.rejected, 0);
		assert_true(sum.shadow > 0);
	} else {
		assert_int_equal(sum.shadow, 0);
		assert_true(sum.rejected > 0);
	}
}

static int
teardown(void **state)
{
	(void)state;
	if (segment[0])
		cb_table_destroy(segment);
	return 0;
}

/* ---- exact counters ---------------------------------------------------- */

static void
stress(int observe)
{
	struct shared *sh = shared_alloc(sizeof(*sh));
	struct cb_table *t;
	struct cb_breaker bh_, *b = &bh_;
	struct cb_policy p;
	pid_t pid[NPROCS];
	int i;

	snprintf(segment, sizeof(segment), "/cbtest-unit-%ld-stress%d",
		 (long)getpid(), observe);
	cb_table_destroy(segment);
	t = open_segment(1);
	assert_non_null(t);
	*b = main_breaker(t);
	if (observe) {
		stress_policy(&p);
		p.mode = CB_MODE_OBSERVE;
		cb_breaker_set_policy(b, &p);
	}
	sh->observe = observe;
	atomic_store(&sh->clock, 1000);
	sh->parent = getpid();
	for (i = 0; i < NPROCS; i++) {
		pid[i] = child();
		if (pid[i] == 0)
			run_process(sh, i, NTHREADS, ITERS, 0);
	}
	for (i = 0; i < NPROCS; i++)
		assert_int_equal(wait_child(pid[i]), 0);
	check_exact(sh, b);
	cb_table_detach(t);
	cb_table_destroy(segment);
	segment[0] = 0;
	munmap(sh, sizeof(*sh));
}

static void
threads_and_processes_keep_every_counter_exact(void **state)
{
	(void)state;
	stress(0);
}

static void
observe_mode_counters_stay_exact_under_threads_and_processes(void **state)
{
	(void)state;
	stress(1);
}

/* ---- kill -9 -------------------------------------------------------- */

struct sample {
	uint64_t total, rejected, ok, failed, transitions, stale;
};

static void
take_sample(struct cb_breaker *b, uint64_t now, struct sample *s)
{
	struct cb_snapshot sn;

	cb_breaker_snapshot(b, now, &sn);
	s->total = sn.total_calls;
	s->rejected = sn.rejected_calls;
	s->ok = sn.successful_calls;
	s->failed = sn.failed_calls;
	s->transitions = sn.state_transitions;
	s->stale = sn.stale_outcomes;
}

/* Every counter of b is at least that of a. */
static void
not_backwards(const struct sample *a, const struct sample *b)
{
	assert_true(b->total >= a->total);
	assert_true(b->rejected >= a->rejected);
	assert_true(b->ok >= a->ok);
	assert_true(b->failed >= a->failed);
	assert_true(b->transitions >= a->transitions);
	assert_true(b->stale >= a->stale);
}

static void
breaker_survives_children_killed_at_random_moments(void **state)
{
	struct shared *sh = shared_alloc(sizeof(*sh));
	struct cb_table *t;
	struct cb_breaker bh_, *b = &bh_, obh_, *ob = &obh_;
	struct cb_policy p;
	struct cb_dest d;
	struct cb_ticket tk;
	struct sample last, now_s;
	struct cb_snapshot sn;
	pid_t pid[NPROCS];
	uint64_t seed = 0x2545f4914f6cdd1dull ^ (uint64_t)getpid(), target;
	uint64_t now;
	uint32_t s1, s2;
	int round, i, st, steps;

	(void)state;
	snprintf(segment, sizeof(segment), "/cbtest-unit-%ld-kill",
		 (long)getpid());
	cb_table_destroy(segment);
	t = open_segment(1);
	assert_non_null(t);
	*b = main_breaker(t);
	stress_policy(&p);
	atomic_store(&sh->clock, 1000);
	sh->parent = getpid();
	memset(&last, 0, sizeof(last));
	for (round = 0; round < KILL_ROUNDS; round++) {
		atomic_store(&sh->ready, 0);
		for (i = 0; i < NPROCS; i++) {
			pid[i] = child();
			if (pid[i] == 0)
				run_process(sh, i, KILL_THREADS, 0, 1);
		}
		target = atomic_load(&sh->progress) + 1000 / ITER_DIV +
			 rnd(&seed) % (20000 / ITER_DIV);
		while (atomic_load(&sh->progress) < target) {
			take_sample(b, atomic_load(&sh->clock), &now_s);
			not_backwards(&last, &now_s);
			last = now_s;
			sched_yield();
		}
		for (i = 0; i < NPROCS; i++)
			kill(pid[(i + round) % NPROCS], SIGKILL);
		for (i = 0; i < NPROCS; i++) {
			st = wait_child(pid[i]);
			if (st != 100 + SIGKILL)
				fail_msg("round %d child %d: status %d", round,
					 i, st);
		}
		take_sample(b, atomic_load(&sh->clock), &now_s);
		not_backwards(&last, &now_s);
		last = now_s;
	}
	for (i = 0; i < NPROCS; i++)
		for (st = 0; st < NTHREADS; st++)
			assert_int_equal(sh->tally[i][st].error, 0);

	/* Nothing is wedged: whatever the children left (open, half-open
	 * full of lost probes, a run of failures), time and successes bring
	 * it back to closed. */
	now = atomic_load(&sh->clock) + 1000000;
	for (steps = 0; raw_state(b) != CB_CLOSED && steps < 10; steps++) {
		now += 1000;	/* more than the longest open time */
		if (cb_breaker_admit(b, now, &tk, NULL) == 0)
			cb_breaker_record(b, &tk, 1, 0, now, NULL);
	}
	assert_int_equal(raw_state(b), CB_CLOSED);
	/* (closed, maybe with a run of failures the children left: a success
	 * ends it) */
	assert_int_equal(cb_breaker_admit(b, now, &tk, NULL), 0);
	cb_breaker_record(b, &tk, 1, 0, now, NULL);
	cb_breaker_snapshot(b, now, &sn);
	assert_int_equal(sn.consecutive_failures, 0);
	/* ... and it works as a breaker: opens, rejects, half-opens */
	for (i = 0; i < 3; i++) {
		assert_int_equal(cb_breaker_admit(b, now, &tk, NULL), 0);
		cb_breaker_record(b, &tk, 0, ETIMEDOUT, now, NULL);
	}
	assert_int_equal(raw_state(b), CB_OPEN);
	assert_int_equal(cb_breaker_admit(b, now + 39, &tk, NULL),
			 -ECONNREFUSED);
	assert_int_equal(cb_breaker_admit(b, now + 40, &tk, NULL), 0);
	assert_int_equal(tk.kind, CB_TICKET_PROBE);
	cb_breaker_release(b, &tk);
	take_sample(b, now + 40, &now_s);
	not_backwards(&last, &now_s);
	last = now_s;

	/* A new process attaches and uses it: a probe that succeeds. */
	pid[0] = child();
	if (pid[0] == 0) {
		struct cb_table *ct = open_segment(0);
		struct cb_breaker cbh_, *cb = &cbh_;

		dest_n(&d, NDESTS);
		if (ct == NULL || cb_table_find(ct, &d, cb, NULL) != 0)
			_exit(2);
		if (cb_breaker_admit(cb, now + 41, &tk, NULL) != 0 ||
		    tk.kind != CB_TICKET_PROBE)
			_exit(3);
		cb_breaker_record(cb, &tk, 1, 0, now + 41, NULL);
		_exit(0);
	}
	assert_int_equal(wait_child(pid[0]), 0);
	take_sample(b, now + 41, &now_s);
	assert_int_equal(now_s.ok, last.ok + 1);
	assert_int_equal(now_s.total, last.total + 1);

	/* The other keys, inserted while processes were being killed: one
	 * slot each, and each complete. */
	assert_true(cb_table_used(t) <= NDESTS + 1);
	for (i = 0; i < NDESTS; i++) {
		dest_n(&d, i);
		assert_int_equal(cb_table_insert(t, &d, &p, ob, &s1), 0);
		assert_int_equal(cb_table_find(t, &d, ob, &s2), 0);
		assert_int_equal(s1, s2);
	}
	for (s1 = 0, st = 0; s1 < cb_table_slots(t); s1++)
		st += cb_table_slot(t, s1, ob, &d) == 0;
	assert_int_equal(st, NDESTS + 1);
	assert_int_equal(cb_table_used(t), NDESTS + 1);
	cb_table_detach(t);
	cb_table_destroy(segment);
	segment[0] = 0;
	munmap(sh, sizeof(*sh));
}

/* ---- the failure-rate rule across processes ------------------------- */

#define RATE_ITERS (20000 / ITER_DIV)	/* outcomes per thread */
#define RATE_T0 1666000ull		/* a bucket's first ms (width 1666) */

struct rate_shared {
	_Atomic int go;
	_Atomic uint64_t opened;	/* failure-rate transitions reported */
	_Atomic uint64_t recorded;	/* outcomes recorded */
	uint32_t fail_per_10;		/* failures in every 10 outcomes */
};

struct rate_worker {
	struct rate_shared *rs;
	struct cb_breaker b;
	unsigned id;
};

/* Outcomes spread over the 6 buckets of one 10 s window (so buckets are
 * recycled while others count), fail_per_10 of every 10 failing. */
static void *
rate_work(void *arg)
{
	struct rate_worker *w = arg;
	struct cb_ticket t;
	struct cb_transition tr;
	uint64_t now;
	unsigned i;

	while (!atomic_load(&w->rs->go))
		sched_yield();
	for (i = 0; i < RATE_ITERS; i++) {
		now = RATE_T0 + (uint64_t)i * 9995 / RATE_ITERS;
		if (cb_breaker_admit(&w->b, now, &t, &tr) != 0)
			continue;
		cb_breaker_record(&w->b, &t, (i + w->id) % 10 >=
				  w->rs->fail_per_10, ETIMEDOUT, now, &tr);
		atomic_fetch_add(&w->rs->recorded, 1);
		if (tr.why == CB_WHY_FAILURE_RATE)
			atomic_fetch_add(&w->rs->opened, 1);
	}
	return NULL;
}

static void
rate_process(struct rate_shared *rs, int proc)
{
	struct rate_worker w[NTHREADS];
	pthread_t th[NTHREADS];
	struct cb_table *t = open_segment(0);
	struct cb_dest d;
	int i;

	dest_n(&d, NDESTS);
	if (t == NULL || cb_table_find(t, &d, &w[0].b, NULL) != 0)
		_exit(3);
	for (i = 0; i < NTHREADS; i++) {
		w[i].rs = rs;
		w[i].b = w[0].b;
		w[i].id = (unsigned)(proc * NTHREADS + i);
		if (pthread_create(&th[i], NULL, rate_work, &w[i]))
			_exit(4);
	}
	for (i = 0; i < NTHREADS; i++)
		pthread_join(th[i], NULL);
	_exit(0);
}

/* Run NPROCS x NTHREADS on a breaker with the rate rule (threshold 50 %,
 * minimum min); returns the breaker's snapshot in *s. */
static void
rate_stress(uint32_t min, uint32_t fail_per_10, struct rate_shared *rs,
	    struct cb_snapshot *s)
{
	struct cb_table *t;
	struct cb_breaker bh_, *b = &bh_;
	struct cb_policy p;
	struct cb_dest d;
	pid_t pid[NPROCS];
	int i;

	snprintf(segment, sizeof(segment), "/cbtest-unit-%ld-rate",
		 (long)getpid());
	cb_table_destroy(segment);
	assert_non_null(t = open_segment(1));
	cb_policy_default(&p);
	p.failure_threshold = CB_MAX_FAILURE_THRESHOLD;
	p.open_timeout_ms = 600000;
	p.failure_rate_threshold = 50;
	p.minimum_calls = min;
	p.window_ms = 10000;
	dest_n(&d, NDESTS);
	assert_int_equal(cb_table_insert(t, &d, &p, b, NULL), 0);
	rs->fail_per_10 = fail_per_10;
	for (i = 0; i < NPROCS; i++) {
		pid[i] = child();
		if (pid[i] == 0)
			rate_process(rs, i);
	}
	atomic_store(&rs->go, 1);
	for (i = 0; i < NPROCS; i++)
		assert_int_equal(wait_child(pid[i]), 0);
	cb_breaker_snapshot(b, RATE_T0 + 9995, s);
	cb_table_detach(t);
	cb_table_destroy(segment);
	segment[0] = 0;
}

/* minimum_calls = every outcome, exactly half failing: only the very last
 * outcome anywhere can open it, and only if the window lost nothing. */
static void
failure_rate_window_is_exact_across_processes_and_threads(void **state)
{
	struct rate_shared *rs = shared_alloc(sizeof(*rs));
	struct cb_snapshot s;
	uint32_t all = NPROCS * NTHREADS * RATE_ITERS;

	(void)state;
	rate_stress(all, 5, rs, &s);
	assert_int_equal(atomic_load(&rs->recorded), all);
	assert_int_equal(s.failed_calls, all / 2);
	assert_int_equal(atomic_load(&rs->opened), 1);
	assert_int_equal(s.state, CB_OPEN);
	assert_int_equal(s.state_transitions, 1);
	munmap(rs, sizeof(*rs));
}

/* 60 % failing, minimum 200: from the 200th outcome on every thread sees
 * the rule met at once, and the breaker opens exactly once. */
static void
failure_rate_opens_exactly_once_under_processes_and_threads(void **state)
{
	struct rate_shared *rs = shared_alloc(sizeof(*rs));
	struct cb_snapshot s;

	(void)state;
	rate_stress(200, 6, rs, &s);
	assert_int_equal(atomic_load(&rs->opened), 1);
	assert_int_equal(s.state, CB_OPEN);
	assert_int_equal(s.state_transitions, 1);
	assert_true(s.rejected_calls > 0);
	assert_int_equal(s.successful_calls + s.failed_calls,
			 atomic_load(&rs->recorded));
	munmap(rs, sizeof(*rs));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(threads_and_processes_keep_every_counter_exact),
		cmocka_unit_test(observe_mode_counters_stay_exact_under_threads_and_processes),
		cmocka_unit_test(breaker_survives_children_killed_at_random_moments),
		cmocka_unit_test(failure_rate_window_is_exact_across_processes_and_threads),
		cmocka_unit_test(failure_rate_opens_exactly_once_under_processes_and_threads),
	};

	return cmocka_run_group_tests(tests, NULL, teardown);
}
