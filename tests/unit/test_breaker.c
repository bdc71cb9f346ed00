/*
 * test_breaker.c - unit tests of one breaker's state machine (shim/breaker.c).
 *
 * The breaker is pure, so every test drives it with a fake clock: "now" is a
 * number the test chooses and nothing sleeps.  The first group pins down
 * the classic three-state breaker (closed, open, half-open; thresholds of
 * consecutive failures and of successful probes; the open timeout); the
 * rest what cbshim adds to it (generations, lost probes, holds, backoff
 * and jitter, observe mode, the effective state, the failure-rate window)
 * and catch the known wrong implementations described in tests/mutants/
 * (run.sh there builds this program on each one and checks that it
 * fails).
 * Threads appear only where concurrency is the point; they never call
 * cmocka's assertions (not thread-safe): they count, the main thread checks.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include <cmocka.h>

#include "testutil.h"

#include "../../shim/breaker.h"
#include "../../shim/conn.h"
#include "../../shim/words.h"

#define T0 1000000ull		/* an arbitrary start of the fake clock */
#define SEED 0x5eedu
#define NTHREADS 4

static void defaults(struct cb_policy *p);
/* A breaker in this block's own memory (a compound literal lives as
 * long as the block that declares it). */
#define NEW_BREAKER() cb_breaker_in(&(struct cb_breaker_mem){ 0 })

static void fresh(struct cb_breaker *b, const struct cb_policy *p);
static struct cb_ticket must_admit(struct cb_breaker *b, uint64_t now);
static void must_reject(struct cb_breaker *b, uint64_t now);
static void fail_once(struct cb_breaker *b, uint64_t now, int err);
static void succeed_once(struct cb_breaker *b, uint64_t now);
static void open_it(struct cb_breaker *b, uint64_t now);
static struct cb_snapshot snap(struct cb_breaker *b, uint64_t now);
static void *failures_thread(void *arg);
static void *calls_thread(void *arg);

/* ---- helpers -------------------------------------------------------- */

static void
defaults(struct cb_policy *p)
{
	cb_policy_default(p);
}

static void
fresh(struct cb_breaker *b, const struct cb_policy *p)
{
	struct cb_policy d;

	if (p == NULL) {
		defaults(&d);
		p = &d;
	}
	cb_breaker_init(b, p, SEED);
}

static struct cb_ticket
must_admit(struct cb_breaker *b, uint64_t now)
{
	struct cb_ticket t;
	struct cb_transition tr;

	memset(&t, 0xa5, sizeof(t));
	assert_int_equal(cb_breaker_admit(b, now, &t, &tr), 0);
	assert_int_not_equal(t.kind, CB_TICKET_NONE);
	return t;
}

static void
must_reject(struct cb_breaker *b, uint64_t now)
{
	struct cb_ticket t;
	struct cb_transition tr;

	assert_int_equal(cb_breaker_admit(b, now, &t, &tr), -ECONNREFUSED);
	assert_int_equal(t.kind, CB_TICKET_NONE);
	assert_int_equal(tr.why, CB_WHY_NONE);
}

static void
fail_once(struct cb_breaker *b, uint64_t now, int err)
{
	struct cb_ticket t = must_admit(b, now);

	cb_breaker_record(b, &t, 0, err, now, NULL);
}

static void
succeed_once(struct cb_breaker *b, uint64_t now)
{
	struct cb_ticket t = must_admit(b, now);

	cb_breaker_record(b, &t, 1, 0, now, NULL);
}

/* Five failures at now: a default breaker is open from now. */
static void
open_it(struct cb_breaker *b, uint64_t now)
{
	int i;

	for (i = 0; i < 5; i++)
		fail_once(b, now, ETIMEDOUT);
	assert_int_equal(snap(b, now).state, CB_OPEN);
}

static struct cb_snapshot
snap(struct cb_breaker *b, uint64_t now)
{
	struct cb_snapshot s;

	cb_breaker_snapshot(b, now, &s);
	return s;
}

/* ---- the classic three-state breaker -------------------------------- */

static void
closed_state_success(void **state)
{
	struct cb_breaker b = NEW_BREAKER();
	struct cb_ticket t;
	struct cb_snapshot s;
	int i;

	(void)state;
	fresh(&b, NULL);
	for (i = 0; i < 10; i++) {
		t = must_admit(&b, T0 + i);
		assert_int_equal(t.kind, CB_TICKET_NORMAL);
		cb_breaker_record(&b, &t, 1, 0, T0 + i, NULL);
	}
	s = snap(&b, T0 + 10);
	assert_int_equal(s.state, CB_CLOSED);
	assert_int_equal(s.total_calls, 10);
	assert_int_equal(s.successful_calls, 10);
	assert_int_equal(s.failed_calls, 0);
	assert_int_equal(s.rejected_calls, 0);
	assert_int_equal(s.state_transitions, 0);
	assert_int_equal(s.consecutive_failures, 0);
	assert_int_equal(s.opened_ms_ago, -1);
	assert_int_equal(s.open_remaining_ms, -1);
}

static void
closed_state_failure(void **state)
{
	struct cb_breaker b = NEW_BREAKER();
	struct cb_snapshot s;
	int i;

	(void)state;
	fresh(&b, NULL);
	for (i = 0; i < 4; i++)
		fail_once(&b, T0 + i, ECONNREFUSED);
	s = snap(&b, T0 + 4);
	assert_int_equal(s.state, CB_CLOSED);
	assert_int_equal(s.consecutive_failures, 4);
	assert_int_equal(s.failed_calls, 4);
	assert_int_equal(s.total_calls, 4);
	assert_int_equal(s.last_errno, ECONNREFUSED);
	assert_int_equal(cb_breaker_can_execute(&b, T0 + 4), 1);
	succeed_once(&b, T0 + 5);	/* still closed: attempts pass */
}

static void
transition_to_open(void **state)
{
	struct cb_breaker b = NEW_BREAKER();
	struct cb_ticket t;
	struct cb_transition tr;
	struct cb_snapshot s;
	int i;

	(void)state;
	fresh(&b, NULL);
	for (i = 0; i < 5; i++) {
		t = must_admit(&b, T0);
		cb_breaker_record(&b, &t, 0, ETIMEDOUT, T0, &tr);
		if (i < 4) {
			assert_int_equal(tr.why, CB_WHY_NONE);
			assert_int_equal(snap(&b, T0).state, CB_CLOSED);
		}
	}
	assert_int_equal(tr.from, CB_CLOSED);
	assert_int_equal(tr.to, CB_OPEN);
	assert_int_equal(tr.why, CB_WHY_THRESHOLD);
	s = snap(&b, T0 + 1000);
	assert_int_equal(s.state, CB_OPEN);
	assert_int_equal(s.state_transitions, 1);
	assert_int_equal(s.consecutive_failures, 0);
	assert_int_equal(s.opened_ms_ago, 1000);
	assert_int_equal(s.open_remaining_ms, 29000);
	assert_int_equal(s.open_ms, 30000);
	assert_int_equal(s.reopenings, 0);
}

static void
open_rejects(void **state)
{
	struct cb_breaker b = NEW_BREAKER();
	struct cb_ticket none = { 0, CB_TICKET_NONE };
	struct cb_snapshot s;

	(void)state;
	fresh(&b, NULL);
	open_it(&b, T0);
	assert_int_equal(cb_breaker_reject_errno(&b), ECONNREFUSED);
	must_reject(&b, T0);
	must_reject(&b, T0 + 1);
	must_reject(&b, T0 + 29999);
	/* a rejected attempt has no outcome: recording it changes nothing */
	cb_breaker_record(&b, &none, 0, ETIMEDOUT, T0 + 29999, NULL);
	cb_breaker_release(&b, &none);
	s = snap(&b, T0 + 29999);
	assert_int_equal(s.state, CB_OPEN);
	assert_int_equal(s.rejected_calls, 3);
	assert_int_equal(s.total_calls, 8);
	assert_int_equal(s.failed_calls, 5);
	assert_int_equal(s.state_transitions, 1);
}

static void
transition_to_half_open(void **state)
{
	struct cb_breaker b = NEW_BREAKER();
	struct cb_ticket t;
	struct cb_transition tr;
	struct cb_snapshot s;

	(void)state;
	fresh(&b, NULL);
	open_it(&b, T0);
	must_reject(&b, T0 + 29999);
	assert_int_equal(cb_breaker_admit(&b, T0 + 30000, &t, &tr), 0);
	assert_int_equal(t.kind, CB_TICKET_PROBE);
	assert_int_equal(tr.from, CB_OPEN);
	assert_int_equal(tr.to, CB_HALF_OPEN);
	assert_int_equal(tr.why, CB_WHY_TIMEOUT);
	s = snap(&b, T0 + 30000);
	assert_int_equal(s.state, CB_HALF_OPEN);
	assert_int_equal(s.half_open_in_flight, 1);
	assert_int_equal(s.half_open_successes, 0);
	assert_int_equal(s.state_transitions, 2);
}

static void
half_open_success(void **state)
{
	struct cb_breaker b = NEW_BREAKER();
	struct cb_ticket t;
	struct cb_transition tr;
	struct cb_snapshot s;
	uint64_t h = T0 + 30000;
	int i;

	(void)state;
	fresh(&b, NULL);
	open_it(&b, T0);
	for (i = 0; i < 3; i++) {
		t = must_admit(&b, h + i);
		assert_int_equal(t.kind, CB_TICKET_PROBE);
		cb_breaker_record(&b, &t, 1, 0, h + i, &tr);
		s = snap(&b, h + i);
		if (i < 2) {
			/* one success is not enough: success_threshold 3 */
			assert_int_equal(tr.why, CB_WHY_NONE);
			assert_int_equal(s.state, CB_HALF_OPEN);
			assert_int_equal(s.half_open_successes, i + 1);
			assert_int_equal(s.half_open_in_flight, 0);
		}
	}
	assert_int_equal(tr.from, CB_HALF_OPEN);
	assert_int_equal(tr.to, CB_CLOSED);
	assert_int_equal(tr.why, CB_WHY_PROBE_SUCCESS);
	assert_int_equal(s.state, CB_CLOSED);
	assert_int_equal(s.state_transitions, 3);
	assert_int_equal(s.consecutive_failures, 0);
	assert_int_equal(s.successful_calls, 3);
	/* closed again: a new run of five failures is needed to open */
	for (i = 0; i < 4; i++)
		fail_once(&b, h + 10, ETIMEDOUT);
	assert_int_equal(snap(&b, h + 10).state, CB_CLOSED);
}

static void
half_open_failure(void **state)
{
	struct cb_breaker b = NEW_BREAKER();
	struct cb_ticket t;
	struct cb_transition tr;
	struct cb_snapshot s;

	(void)state;
	fresh(&b, NULL);
	open_it(&b, T0);
	t = must_admit(&b, T0 + 30000);
	cb_breaker_record(&b, &t, 0, ECONNRESET, T0 + 30500, &tr);
	assert_int_equal(tr.from, CB_HALF_OPEN);
	assert_int_equal(tr.to, CB_OPEN);
	assert_int_equal(tr.why, CB_WHY_PROBE_FAILURE);
	s = snap(&b, T0 + 30500);
	assert_int_equal(s.state, CB_OPEN);
	assert_int_equal(s.state_transitions, 3);
	assert_int_equal(s.failed_calls, 6);
	assert_int_equal(s.last_errno, ECONNRESET);
	assert_int_equal(s.reopenings, 1);
	must_reject(&b, T0 + 30500);
}

static void
half_open_limit(void **state)
{
	struct cb_breaker b = NEW_BREAKER();
	struct cb_ticket p[4];
	struct cb_snapshot s;
	uint64_t h = T0 + 30000;
	int i;

	(void)state;
	fresh(&b, NULL);
	open_it(&b, T0);
	for (i = 0; i < 3; i++)
		p[i] = must_admit(&b, h);
	must_reject(&b, h);
	must_reject(&b, h + 1);
	s = snap(&b, h + 1);
	assert_int_equal(s.half_open_in_flight, 3);
	assert_int_equal(s.rejected_calls, 2);
	/* a place freed by an outcome is a place for the next probe */
	cb_breaker_record(&b, &p[0], 1, 0, h + 2, NULL);
	assert_int_equal(snap(&b, h + 2).half_open_in_flight, 2);
	p[3] = must_admit(&b, h + 2);
	must_reject(&b, h + 2);
	/* and so is one freed by a release (neither success nor failure) */
	cb_breaker_release(&b, &p[1]);
	assert_int_equal(snap(&b, h + 3).half_open_in_flight, 2);
	p[1] = must_admit(&b, h + 3);
	must_reject(&b, h + 3);
	assert_int_equal(snap(&b, h + 3).state, CB_HALF_OPEN);
}

static void
reset(void **state)
{
	struct cb_breaker b = NEW_BREAKER();
	struct cb_transition tr;
	struct cb_snapshot s;

	(void)state;
	fresh(&b, NULL);
	open_it(&b, T0);
	cb_breaker_reset(&b, T0 + 1, &tr);
	assert_int_equal(tr.from, CB_OPEN);
	assert_int_equal(tr.to, CB_CLOSED);
	assert_int_equal(tr.why, CB_WHY_RESET);
	s = snap(&b, T0 + 1);
	assert_int_equal(s.state, CB_CLOSED);
	assert_int_equal(s.consecutive_failures, 0);
	assert_int_equal(s.state_transitions, 2);
	assert_int_equal(s.failed_calls, 5);	/* metrics are kept */
	assert_int_equal(must_admit(&b, T0 + 1).kind, CB_TICKET_NORMAL);
	/* resetting a closed breaker clears its run of failures */
	fail_once(&b, T0 + 2, ETIMEDOUT);
	fail_once(&b, T0 + 2, ETIMEDOUT);
	cb_breaker_reset(&b, T0 + 3, &tr);
	assert_int_equal(tr.why, CB_WHY_RESET);
	s = snap(&b, T0 + 3);
	assert_int_equal(s.consecutive_failures, 0);
	assert_int_equal(s.state_transitions, 2);	/* closed -> closed */
}

static void
trip(void **state)
{
	struct cb_breaker b = NEW_BREAKER();
	struct cb_transition tr;
	struct cb_snapshot s;

	(void)state;
	fresh(&b, NULL);
	cb_breaker_trip(&b, T0, 0, 0, &tr);
	assert_int_equal(tr.from, CB_CLOSED);
	assert_int_equal(tr.to, CB_OPEN);
	assert_int_equal(tr.why, CB_WHY_TRIP);
	s = snap(&b, T0);
	assert_int_equal(s.state, CB_OPEN);
	assert_int_equal(s.hold, 0);
	assert_int_equal(s.open_remaining_ms, 30000);
	assert_int_equal(s.state_transitions, 1);
	must_reject(&b, T0);
	must_reject(&b, T0 + 29999);
	/* the normal timeout applies */
	assert_int_equal(must_admit(&b, T0 + 30000).kind, CB_TICKET_PROBE);
}

static void
metrics(void **state)
{
	struct cb_breaker b = NEW_BREAKER();
	struct cb_snapshot s;
	int i;

	(void)state;
	fresh(&b, NULL);
	for (i = 0; i < 3; i++)
		succeed_once(&b, T0);
	for (i = 0; i < 5; i++)
		fail_once(&b, T0 + 1, EHOSTUNREACH);
	must_reject(&b, T0 + 2);
	must_reject(&b, T0 + 3);
	for (i = 0; i < 3; i++)
		succeed_once(&b, T0 + 30001 + i);
	s = snap(&b, T0 + 30010);
	assert_int_equal(s.state, CB_CLOSED);
	assert_int_equal(s.total_calls, 13);
	assert_int_equal(s.successful_calls, 6);
	assert_int_equal(s.failed_calls, 5);
	assert_int_equal(s.rejected_calls, 2);
	assert_int_equal(s.state_transitions, 3);
	assert_int_equal(s.stale_outcomes, 0);
	assert_int_equal(s.last_errno, EHOSTUNREACH);
	assert_int_equal(s.total_calls, s.successful_calls + s.failed_calls +
			 s.rejected_calls);
}

/* The failure's cause: slow successes count in failed_calls and
 * slow_calls and open like any failure; last_failure names the cause
 * while last_errno keeps the last errno. */
static void
failure_causes(void **state)
{
	struct cb_breaker b = NEW_BREAKER();
	struct cb_snapshot s;
	struct cb_ticket t;

	(void)state;
	fresh(&b, NULL);
	fail_once(&b, T0, ECONNREFUSED);
	t = must_admit(&b, T0);
	cb_breaker_record_cause(&b, &t, 0, 0, CB_CAUSE_SLOW, T0, NULL);
	s = snap(&b, T0);
	assert_int_equal(s.failed_calls, 2);
	assert_int_equal(s.slow_calls, 1);
	assert_int_equal(s.consecutive_failures, 2);
	assert_int_equal(s.last_failure, CB_CAUSE_SLOW);
	assert_int_equal(s.last_errno, ECONNREFUSED);
	t = must_admit(&b, T0);
	cb_breaker_record_cause(&b, &t, 0, ETIMEDOUT, CB_CAUSE_NO_RESPONSE, T0,
				NULL);
	fail_once(&b, T0, EHOSTUNREACH);
	s = snap(&b, T0);
	assert_int_equal(s.slow_calls, 1);
	assert_int_equal(s.last_failure, EHOSTUNREACH);
	t = must_admit(&b, T0);
	cb_breaker_record_cause(&b, &t, 0, 0, CB_CAUSE_EOF, T0, NULL);
	s = snap(&b, T0);
	assert_int_equal(s.state, CB_OPEN);	/* the fifth failure */
	assert_int_equal(s.last_failure, CB_CAUSE_EOF);
	assert_int_equal(s.last_errno, EHOSTUNREACH);
}

struct calls_arg {
	struct cb_breaker *b;
	pthread_barrier_t *go;
	int n, fail_every;
	uint64_t admitted, rejected, ok, failed;
};

static void *
calls_thread(void *arg)
{
	struct calls_arg *a = arg;
	struct cb_ticket t;
	int i, fail;

	pthread_barrier_wait(a->go);
	for (i = 0; i < a->n; i++) {
		if (cb_breaker_admit(a->b, T0 + (uint64_t)i, &t, NULL) < 0) {
			a->rejected++;
			continue;
		}
		a->admitted++;
		fail = a->fail_every && i % a->fail_every == 0;
		cb_breaker_record(a->b, &t, !fail, ETIMEDOUT, T0 + (uint64_t)i,
				  NULL);
		if (fail)
			a->failed++;
		else
			a->ok++;
	}
	return NULL;
}

static void
concurrent_calls(void **state)
{
	struct cb_breaker b = NEW_BREAKER();
	struct calls_arg a[NTHREADS];
	pthread_t th[NTHREADS];
	pthread_barrier_t go;
	struct cb_snapshot s;
	uint64_t adm = 0, rej = 0, ok = 0, bad = 0;
	int i;

	(void)state;
	fresh(&b, NULL);
	pthread_barrier_init(&go, NULL, NTHREADS);
	for (i = 0; i < NTHREADS; i++) {
		memset(&a[i], 0, sizeof(a[i]));
		a[i].b = &b;
		a[i].go = &go;
		a[i].n = 20000 / ITER_DIV;
		a[i].fail_every = 3 + i;
		assert_int_equal(pthread_create(&th[i], NULL, calls_thread,
						&a[i]), 0);
	}
	for (i = 0; i < NTHREADS; i++) {
		pthread_join(th[i], NULL);
		adm += a[i].admitted;
		rej += a[i].rejected;
		ok += a[i].ok;
		bad += a[i].failed;
	}
	pthread_barrier_destroy(&go);
	s = snap(&b, T0 + 20000);
	assert_int_equal(s.total_calls,
			 (uint64_t)NTHREADS * (20000 / ITER_DIV));
	assert_int_equal(s.total_calls, adm + rej);
	assert_int_equal(s.rejected_calls, rej);
	assert_int_equal(s.successful_calls, ok);
	assert_int_equal(s.failed_calls, bad);
}

static void
can_execute(void **state)
{
	struct cb_breaker b = NEW_BREAKER();
	struct cb_ticket p[3];
	struct cb_transition tr;
	struct cb_snapshot s;
	uint64_t h = T0 + 30000;
	int i;

	(void)state;
	fresh(&b, NULL);
	assert_int_equal(cb_breaker_can_execute(&b, T0), 1);
	open_it(&b, T0);
	assert_int_equal(cb_breaker_can_execute(&b, T0), 0);
	assert_int_equal(cb_breaker_can_execute(&b, h - 1), 0);
	assert_int_equal(cb_breaker_can_execute(&b, h), 1);
	/* asking changes nothing: the next admission makes the transition */
	s = snap(&b, h);
	assert_int_equal(s.state_transitions, 1);
	assert_int_equal(s.total_calls, 5);
	assert_int_equal(cb_breaker_admit(&b, h, &p[0], &tr), 0);
	assert_int_equal(tr.why, CB_WHY_TIMEOUT);
	for (i = 1; i < 3; i++) {
		assert_int_equal(cb_breaker_can_execute(&b, h), 1);
		p[i] = must_admit(&b, h);
	}
	assert_int_equal(cb_breaker_can_execute(&b, h), 0);
	cb_breaker_release(&b, &p[2]);
	assert_int_equal(cb_breaker_can_execute(&b, h), 1);
	cb_breaker_record(&b, &p[0], 0, ETIMEDOUT, h, NULL);
	assert_int_equal(cb_breaker_can_execute(&b, h), 0);	/* reopened */
	cb_breaker_trip(&b, h, 1, 0, NULL);
	assert_int_equal(cb_breaker_can_execute(&b, h + 100000000ull), 0);
	cb_breaker_reset(&b, h + 1, NULL);
	assert_int_equal(cb_breaker_can_execute(&b, h + 1), 1);
}

/* ---- wrong implementations (tests/mutants/A.mutant to E.mutant) ---- */

/* A: half-open closes on the first success.  (Also half_open_success.) */
static void
half_open_needs_success_threshold_successes_to_close(void **state)
{
	struct cb_breaker b = NEW_BREAKER();
	struct cb_policy p;
	struct cb_ticket t[5];
	uint64_t h;
	int i;

	(void)state;
	defaults(&p);
	p.success_threshold = 5;
	p.half_open_max_calls = 5;
	fresh(&b, &p);
	open_it(&b, T0);
	h = T0 + 30000;
	for (i = 0; i < 5; i++)
		t[i] = must_admit(&b, h);
	for (i = 0; i < 4; i++) {
		cb_breaker_record(&b, &t[i], 1, 0, h + 1, NULL);
		assert_int_equal(snap(&b, h + 1).state, CB_HALF_OPEN);
	}
	cb_breaker_record(&b, &t[4], 1, 0, h + 1, NULL);
	assert_int_equal(snap(&b, h + 1).state, CB_CLOSED);
}

/* B: a gap between reading and writing the failure count loses updates.
 * Every thread records failures at once; the threshold is out of reach,
 * so the run of failures must equal the number recorded, exactly.  The
 * threads stay alive over many rounds and start each one spinning, so
 * that they really overlap even on a loaded machine. */
#define B_ROUNDS (200 / ITER_DIV)

struct fail_arg {
	struct cb_breaker *b;
	_Atomic int *go;	/* rounds started */
	_Atomic int *done;	/* thread-rounds finished */
	int n;
	int errors;
};

static void *
failures_thread(void *arg)
{
	struct fail_arg *a = arg;
	struct cb_ticket t;
	int i, round;

	for (round = 0; round < B_ROUNDS; round++) {
		while (atomic_load(a->go) <= round)
			sched_yield();
		for (i = 0; i < a->n; i++) {
			if (cb_breaker_admit(a->b, T0, &t, NULL) != 0 ||
			    t.kind != CB_TICKET_NORMAL) {
				a->errors++;
				continue;
			}
			cb_breaker_record(a->b, &t, 0, ETIMEDOUT, T0, NULL);
		}
		atomic_fetch_add(a->done, 1);
	}
	return NULL;
}

static void
concurrent_failures_are_counted_exactly(void **state)
{
	struct cb_breaker b = NEW_BREAKER();
	struct cb_policy p;
	struct fail_arg a[NTHREADS];
	pthread_t th[NTHREADS];
	_Atomic int go = 0, done = 0;
	struct cb_snapshot s;
	int i, round, lost = 0, n = 15000 / ITER_DIV;

	(void)state;
	defaults(&p);
	p.failure_threshold = CB_MAX_FAILURE_THRESHOLD;
	fresh(&b, &p);
	for (i = 0; i < NTHREADS; i++) {
		a[i].b = &b;
		a[i].go = &go;
		a[i].done = &done;
		a[i].n = n;
		a[i].errors = 0;
		assert_int_equal(pthread_create(&th[i], NULL, failures_thread,
						&a[i]), 0);
	}
	for (round = 0; round < B_ROUNDS; round++) {
		atomic_store(&go, round + 1);
		while (atomic_load(&done) < (round + 1) * NTHREADS)
			sched_yield();
		s = snap(&b, T0);
		if (s.state != CB_CLOSED ||
		    s.total_calls != (uint64_t)NTHREADS * n ||
		    s.failed_calls != (uint64_t)NTHREADS * n ||
		    s.consecutive_failures != (uint64_t)NTHREADS * n)
			lost++;
		fresh(&b, &p);	/* the threads are waiting for "go" */
	}
	for (i = 0; i < NTHREADS; i++) {
		pthread_join(th[i], NULL);
		assert_int_equal(a[i].errors, 0);
	}
	if (lost)
		fail_msg("%d of %d rounds of %d x %d concurrent failures did "
			 "not count exactly", lost, B_ROUNDS, NTHREADS, n);
}

/* B on any number of CPUs: the threads above overlap only when two of
 * them run at once, never on one CPU.  Here a timer's signal handler
 * records failures while the test records its own, so a handler's outcome
 * lands between the other's read and write wherever the signal interrupts
 * it (lock-free code is async-signal-safe).  The signal is blocked while
 * the breaker is reset or read. */
#define SIG_ROUNDS (20 / ITER_DIV)
#define SIG_PER_ROUND 50000	/* with the handler's: under the threshold */

static struct cb_breaker *sig_b;
static volatile sig_atomic_t sig_n;

static void
record_from_signal(int sig)
{
	struct cb_ticket t;

	(void)sig;
	if (cb_breaker_admit(sig_b, T0, &t, NULL) == 0 &&
	    t.kind == CB_TICKET_NORMAL) {
		cb_breaker_record(sig_b, &t, 0, ETIMEDOUT, T0, NULL);
		sig_n++;
	}
}

static void
failures_interrupted_by_a_signal_handler_are_counted_exactly(void **state)
{
	const struct itimerval every = { { 0, 100 }, { 0, 100 } }, off = { 0 };
	struct sigaction sa = { .sa_handler = record_from_signal }, old;
	struct cb_breaker b = NEW_BREAKER();
	struct cb_policy p;
	struct cb_snapshot s;
	sigset_t alrm;
	int i, round, lost = 0;
	uint64_t want;

	(void)state;
	defaults(&p);
	p.failure_threshold = CB_MAX_FAILURE_THRESHOLD;
	sig_b = &b;
	sigemptyset(&alrm);
	sigaddset(&alrm, SIGALRM);
	assert_int_equal(sigprocmask(SIG_BLOCK, &alrm, NULL), 0);
	assert_int_equal(sigaction(SIGALRM, &sa, &old), 0);
	assert_int_equal(setitimer(ITIMER_REAL, &every, NULL), 0);
	for (round = 0; round < SIG_ROUNDS; round++) {
		fresh(&b, &p);
		sig_n = 0;
		sigprocmask(SIG_UNBLOCK, &alrm, NULL);
		for (i = 0; i < SIG_PER_ROUND; i++)
			fail_once(&b, T0, ETIMEDOUT);
		sigprocmask(SIG_BLOCK, &alrm, NULL);
		want = (uint64_t)SIG_PER_ROUND + (uint64_t)sig_n;
		s = snap(&b, T0);
		if (s.state != CB_CLOSED || s.total_calls != want ||
		    s.failed_calls != want || s.consecutive_failures != want)
			lost++;
	}
	setitimer(ITIMER_REAL, &off, NULL);
	sigprocmask(SIG_UNBLOCK, &alrm, NULL);	/* one may be pending */
	sigaction(SIGALRM, &old, NULL);
	if (lost)
		fail_msg("%d of %d rounds of failures interrupted by a signal "
			 "handler's did not count exactly", lost, SIG_ROUNDS);
}

/* C: a success in closed must end the run of failures. */
static void
closed_success_resets_consecutive_failures(void **state)
{
	struct cb_breaker b = NEW_BREAKER();
	int i;

	(void)state;
	fresh(&b, NULL);
	for (i = 0; i < 4; i++)
		fail_once(&b, T0, ETIMEDOUT);
	succeed_once(&b, T0 + 1);
	assert_int_equal(snap(&b, T0 + 1).consecutive_failures, 0);
	for (i = 0; i < 4; i++)
		fail_once(&b, T0 + 2, ETIMEDOUT);
	assert_int_equal(snap(&b, T0 + 2).state, CB_CLOSED);
	assert_int_equal(snap(&b, T0 + 2).consecutive_failures, 4);
	fail_once(&b, T0 + 3, ETIMEDOUT);
	assert_int_equal(snap(&b, T0 + 3).state, CB_OPEN);
}

/* D: opening must start the open timer (and only opening restarts it). */
static void
opening_starts_the_timer_so_it_half_opens(void **state)
{
	struct cb_breaker b = NEW_BREAKER();
	struct cb_snapshot s;
	uint64_t now;

	(void)state;
	fresh(&b, NULL);
	open_it(&b, T0);
	/* rejections in the meantime do not push the deadline back */
	for (now = T0; now < T0 + 30000; now += 1000)
		must_reject(&b, now);
	s = snap(&b, T0 + 29999);
	assert_int_equal(s.open_remaining_ms, 1);
	assert_int_equal(s.opened_ms_ago, 29999);
	assert_int_equal(snap(&b, T0 + 30000).state, CB_HALF_OPEN);
	assert_int_equal(must_admit(&b, T0 + 30000).kind, CB_TICKET_PROBE);
}

/* E: an admitted attempt that fails is a failure with its own errno, not
 * a rejection - even the failure that opens the breaker. */
static void
admitted_failure_keeps_its_errno_and_is_not_a_rejection(void **state)
{
	struct cb_breaker b = NEW_BREAKER();
	struct cb_ticket t;
	struct cb_transition tr;
	struct cb_snapshot s;
	int i;

	(void)state;
	fresh(&b, NULL);
	for (i = 0; i < 5; i++) {
		assert_int_equal(cb_breaker_admit(&b, T0, &t, &tr), 0);
		assert_int_equal(t.kind, CB_TICKET_NORMAL);
		cb_breaker_record(&b, &t, 0, ECONNRESET, T0, &tr);
		s = snap(&b, T0);
		assert_int_equal(s.rejected_calls, 0);
		assert_int_equal(s.failed_calls, i + 1);
		assert_int_equal(s.last_errno, ECONNRESET);
	}
	assert_int_equal(s.state, CB_OPEN);
	assert_int_equal(s.total_calls, 5);
	/* a probe's failure, too */
	t = must_admit(&b, T0 + 30000);
	cb_breaker_record(&b, &t, 0, EHOSTUNREACH, T0 + 30000, NULL);
	s = snap(&b, T0 + 30000);
	assert_int_equal(s.rejected_calls, 0);
	assert_int_equal(s.failed_calls, 6);
	assert_int_equal(s.last_errno, EHOSTUNREACH);
}

/* ---- generations ---------------------------------------------------- */

static void
late_success_from_before_open_does_not_close(void **state)
{
	struct cb_breaker b = NEW_BREAKER();
	struct cb_ticket early[3], probe;
	struct cb_transition tr;
	struct cb_snapshot s;
	int i;

	(void)state;
	fresh(&b, NULL);
	for (i = 0; i < 3; i++)
		early[i] = must_admit(&b, T0);
	open_it(&b, T0 + 1);
	probe = must_admit(&b, T0 + 30001);
	for (i = 0; i < 3; i++) {
		cb_breaker_record(&b, &early[i], 1, 0, T0 + 30002, &tr);
		assert_int_equal(tr.why, CB_WHY_NONE);
	}
	s = snap(&b, T0 + 30002);
	assert_int_equal(s.state, CB_HALF_OPEN);
	assert_int_equal(s.half_open_successes, 0);
	assert_int_equal(s.half_open_in_flight, 1);
	assert_int_equal(s.stale_outcomes, 3);
	assert_int_equal(s.successful_calls, 3);	/* metrics count them */
	cb_breaker_record(&b, &probe, 1, 0, T0 + 30003, NULL);
	assert_int_equal(snap(&b, T0 + 30003).half_open_successes, 1);
}

static void
late_success_from_before_open_does_not_reset_open(void **state)
{
	struct cb_breaker b = NEW_BREAKER();
	struct cb_ticket early;
	struct cb_snapshot s;

	(void)state;
	fresh(&b, NULL);
	early = must_admit(&b, T0);
	open_it(&b, T0 + 1);
	cb_breaker_record(&b, &early, 1, 0, T0 + 2, NULL);
	s = snap(&b, T0 + 2);
	assert_int_equal(s.state, CB_OPEN);
	assert_int_equal(s.open_remaining_ms, 29999);
	assert_int_equal(s.stale_outcomes, 1);
	assert_int_equal(s.successful_calls, 1);
	must_reject(&b, T0 + 2);
}

static void
late_failure_from_before_reset_does_not_count(void **state)
{
	struct cb_breaker b = NEW_BREAKER();
	struct cb_ticket t[5];
	struct cb_snapshot s;
	int i;

	(void)state;
	fresh(&b, NULL);
	for (i = 0; i < 5; i++)
		t[i] = must_admit(&b, T0);
	for (i = 0; i < 4; i++)
		cb_breaker_record(&b, &t[i], 0, ETIMEDOUT, T0, NULL);
	cb_breaker_reset(&b, T0 + 1, NULL);
	cb_breaker_record(&b, &t[4], 0, ETIMEDOUT, T0 + 2, NULL);
	s = snap(&b, T0 + 2);
	assert_int_equal(s.state, CB_CLOSED);
	assert_int_equal(s.consecutive_failures, 0);
	assert_int_equal(s.failed_calls, 5);
	assert_int_equal(s.stale_outcomes, 1);
	assert_int_equal(s.last_errno, ETIMEDOUT);
}

static void
late_failure_from_before_close_does_not_reopen(void **state)
{
	struct cb_breaker b = NEW_BREAKER();
	struct cb_ticket early, p[3];
	struct cb_snapshot s;
	uint64_t h = T0 + 30000;
	int i;

	(void)state;
	fresh(&b, NULL);
	open_it(&b, T0);
	for (i = 0; i < 3; i++)
		p[i] = must_admit(&b, h);
	cb_breaker_record(&b, &p[0], 1, 0, h, NULL);
	cb_breaker_record(&b, &p[1], 1, 0, h, NULL);
	early = p[2];
	cb_breaker_reset(&b, h + 1, NULL);
	/* the third probe's failure belongs to a half-open that is over */
	cb_breaker_record(&b, &early, 0, ETIMEDOUT, h + 2, NULL);
	s = snap(&b, h + 2);
	assert_int_equal(s.state, CB_CLOSED);
	assert_int_equal(s.consecutive_failures, 0);
	assert_int_equal(s.stale_outcomes, 1);
	assert_int_equal(s.failed_calls, 6);
}

static void
outcome_of_previous_half_open_does_not_count_in_the_next(void **state)
{
	struct cb_breaker b = NEW_BREAKER();
	struct cb_ticket first, old;
	struct cb_snapshot s;
	uint64_t h = T0 + 30000, h2;

	(void)state;
	fresh(&b, NULL);
	open_it(&b, T0);
	first = must_admit(&b, h);
	old = must_admit(&b, h);
	cb_breaker_record(&b, &first, 0, ETIMEDOUT, h + 1, NULL); /* reopens */
	s = snap(&b, h + 1);
	assert_int_equal(s.state, CB_OPEN);
	h2 = h + 1 + s.open_ms;
	assert_int_equal(must_admit(&b, h2).kind, CB_TICKET_PROBE);
	cb_breaker_record(&b, &old, 0, ETIMEDOUT, h2, NULL);
	s = snap(&b, h2);
	assert_int_equal(s.state, CB_HALF_OPEN);
	assert_int_equal(s.half_open_in_flight, 1);
	assert_int_equal(s.stale_outcomes, 1);
	cb_breaker_release(&b, &old);		/* stale release: no effect */
	assert_int_equal(snap(&b, h2).half_open_in_flight, 1);
}

/* ---- lost probes ---------------------------------------------------- */

static void
lost_probes_free_their_places_after_open_timeout(void **state)
{
	struct cb_breaker b = NEW_BREAKER();
	struct cb_ticket lost[3], p;
	struct cb_snapshot s;
	uint64_t h = T0 + 30000;
	int i;

	(void)state;
	fresh(&b, NULL);
	open_it(&b, T0);
	for (i = 0; i < 3; i++)
		lost[i] = must_admit(&b, h);	/* never reported */
	must_reject(&b, h + 29999);
	assert_int_equal(cb_breaker_can_execute(&b, h + 29999), 0);
	assert_int_equal(cb_breaker_can_execute(&b, h + 30000), 1);
	p = must_admit(&b, h + 30000);
	assert_int_equal(p.kind, CB_TICKET_PROBE);
	s = snap(&b, h + 30000);
	assert_int_equal(s.state, CB_HALF_OPEN);
	assert_int_equal(s.half_open_in_flight, 1);
	/* the lost probes' late outcomes are stale, their places gone */
	for (i = 0; i < 3; i++)
		cb_breaker_record(&b, &lost[i], 1, 0, h + 30001, NULL);
	s = snap(&b, h + 30001);
	assert_int_equal(s.stale_outcomes, 3);
	assert_int_equal(s.half_open_successes, 0);
	assert_int_equal(s.half_open_in_flight, 1);
	/* and the breaker goes on: it closes on fresh probes */
	cb_breaker_record(&b, &p, 1, 0, h + 30002, NULL);
	succeed_once(&b, h + 30003);
	succeed_once(&b, h + 30004);
	assert_int_equal(snap(&b, h + 30004).state, CB_CLOSED);
}

static void
lost_probes_never_wedge_the_breaker(void **state)
{
	struct cb_breaker b = NEW_BREAKER();
	struct cb_snapshot s;
	uint64_t now = T0 + 30000;
	int round, i;

	(void)state;
	fresh(&b, NULL);
	open_it(&b, T0);
	/* every round, every place is taken by a probe that never reports;
	 * after open_timeout a place must be free again */
	for (round = 0; round < 5; round++) {
		for (i = 0; i < 3; i++)
			(void)must_admit(&b, now);
		must_reject(&b, now);
		must_reject(&b, now + 29999);
		now += 30000;
	}
	s = snap(&b, now);
	assert_int_equal(s.state, CB_HALF_OPEN);
	for (i = 0; i < 3; i++)
		succeed_once(&b, now);
	assert_int_equal(snap(&b, now).state, CB_CLOSED);
}

/* ---- manual control ------------------------------------------------- */

static void
trip_hold_never_half_opens(void **state)
{
	struct cb_breaker b = NEW_BREAKER();
	struct cb_transition tr;
	struct cb_snapshot s;
	uint64_t far = T0 + 100000000000ull;	/* three years later */

	(void)state;
	fresh(&b, NULL);
	cb_breaker_trip(&b, T0, 1, 0, &tr);
	assert_int_equal(tr.why, CB_WHY_TRIP);
	must_reject(&b, T0 + 30000);
	must_reject(&b, far);
	assert_int_equal(cb_breaker_can_execute(&b, far), 0);
	s = snap(&b, far);
	assert_int_equal(s.state, CB_OPEN);
	assert_int_equal(s.hold, 1);
	assert_int_equal(s.open_remaining_ms, -1);
	assert_int_equal(s.opened_ms_ago, far - T0);
	cb_breaker_reset(&b, far + 1, &tr);
	assert_int_equal(tr.why, CB_WHY_RESET);
	s = snap(&b, far + 1);
	assert_int_equal(s.state, CB_CLOSED);
	assert_int_equal(s.hold, 0);
	assert_int_equal(must_admit(&b, far + 1).kind, CB_TICKET_NORMAL);
}

static void
trip_hold_survives_a_probe_failure_and_lost_probes(void **state)
{
	struct cb_breaker b = NEW_BREAKER();
	struct cb_ticket p;

	(void)state;
	fresh(&b, NULL);
	open_it(&b, T0);
	p = must_admit(&b, T0 + 30000);
	cb_breaker_trip(&b, T0 + 30001, 1, 0, NULL);
	cb_breaker_record(&b, &p, 1, 0, T0 + 30002, NULL);	/* stale */
	must_reject(&b, T0 + 30000000);
	assert_int_equal(snap(&b, T0 + 30000000).state, CB_OPEN);
}

static void
trip_for_a_duration_opens_for_exactly_that_long(void **state)
{
	struct cb_breaker b = NEW_BREAKER();
	struct cb_snapshot s;

	(void)state;
	fresh(&b, NULL);
	cb_breaker_trip(&b, T0, 0, 5000, NULL);
	s = snap(&b, T0 + 1000);
	assert_int_equal(s.open_ms, 5000);
	assert_int_equal(s.open_remaining_ms, 4000);
	must_reject(&b, T0 + 4999);
	assert_int_equal(must_admit(&b, T0 + 5000).kind, CB_TICKET_PROBE);
	/* longer than open_timeout too */
	cb_breaker_trip(&b, T0 + 6000, 0, 120000, NULL);
	must_reject(&b, T0 + 6000 + 30000);
	must_reject(&b, T0 + 6000 + 119999);
	assert_int_equal(must_admit(&b, T0 + 6000 + 120000).kind,
			 CB_TICKET_PROBE);
	/* beyond the representable limit it is clamped, not wrapped */
	cb_breaker_trip(&b, T0, 0, UINT32_MAX, NULL);
	assert_int_equal(snap(&b, T0).open_ms, CB_MAX_TRIP_FOR_MS);
	must_reject(&b, T0 + CB_MAX_TRIP_FOR_MS - 1);
}

static void
trip_restarts_the_timer_of_an_open_breaker(void **state)
{
	struct cb_breaker b = NEW_BREAKER();
	struct cb_transition tr;
	struct cb_snapshot s;

	(void)state;
	fresh(&b, NULL);
	open_it(&b, T0);
	cb_breaker_trip(&b, T0 + 20000, 0, 0, &tr);
	assert_int_equal(tr.from, CB_OPEN);
	assert_int_equal(tr.to, CB_OPEN);
	assert_int_equal(tr.why, CB_WHY_TRIP);
	s = snap(&b, T0 + 20000);
	assert_int_equal(s.state_transitions, 1);	/* open -> open */
	assert_int_equal(s.open_remaining_ms, 30000);
	must_reject(&b, T0 + 30000);
	must_reject(&b, T0 + 49999);
	assert_int_equal(must_admit(&b, T0 + 50000).kind, CB_TICKET_PROBE);
}

static void
reset_clears_cycle_counters_and_backoff(void **state)
{
	struct cb_breaker b = NEW_BREAKER();
	struct cb_policy p;
	struct cb_ticket t;
	struct cb_snapshot s;
	uint64_t now = T0;
	int i;

	(void)state;
	defaults(&p);
	p.backoff_milli = 2000;
	fresh(&b, &p);
	open_it(&b, now);
	/* two reopenings: the open time has grown to about 4 x 30 s */
	for (i = 0; i < 2; i++) {
		now += snap(&b, now).open_ms;
		t = must_admit(&b, now);
		cb_breaker_record(&b, &t, 0, ETIMEDOUT, now, NULL);
	}
	s = snap(&b, now);
	assert_int_equal(s.reopenings, 2);
	assert_in_range(s.open_ms, 108000, 132000);
	/* half-open with two successes, then reset */
	now += s.open_ms;
	succeed_once(&b, now);
	succeed_once(&b, now);
	assert_int_equal(snap(&b, now).half_open_successes, 2);
	cb_breaker_reset(&b, now, NULL);
	s = snap(&b, now);
	assert_int_equal(s.state, CB_CLOSED);
	assert_int_equal(s.half_open_successes, 0);
	assert_int_equal(s.half_open_in_flight, 0);
	assert_int_equal(s.reopenings, 0);
	/* the next opening is back to open_timeout, and the next half-open
	 * needs all three successes again */
	open_it(&b, now);
	s = snap(&b, now);
	assert_int_equal(s.reopenings, 0);
	assert_int_equal(s.open_ms, 30000);
	now += 30000;
	succeed_once(&b, now);
	succeed_once(&b, now);
	assert_int_equal(snap(&b, now).state, CB_HALF_OPEN);
	succeed_once(&b, now);
	assert_int_equal(snap(&b, now).state, CB_CLOSED);
}

/* ---- backoff and jitter --------------------------------------------- */

static void
backoff_grows_per_reopening_up_to_the_cap(void **state)
{
	struct cb_policy p;
	uint64_t v;
	unsigned k;

	(void)state;
	defaults(&p);
	p.open_timeout_ms = 1000;
	p.open_timeout_max_ms = 10000;
	p.backoff_milli = 2000;
	assert_int_equal(cb_breaker_open_ms(&p, 0, 7, SEED), 1000);
	assert_in_range(cb_breaker_open_ms(&p, 1, 7, SEED), 1800, 2200);
	assert_in_range(cb_breaker_open_ms(&p, 2, 7, SEED), 3600, 4400);
	assert_in_range(cb_breaker_open_ms(&p, 3, 7, SEED), 7200, 8800);
	for (k = 4; k < 300; k++) {
		v = cb_breaker_open_ms(&p, k, 7 + k, SEED);
		assert_in_range(v, 9000, 10000);	/* never above cap */
	}
	/* backoff 1.0: every reopening is open_timeout, jittered */
	p.backoff_milli = 1000;
	for (k = 1; k < 10; k++)
		assert_in_range(cb_breaker_open_ms(&p, k, k, SEED), 900, 1100);
}

static void
backoff_applies_to_the_breaker_and_closing_restores_open_timeout(void **st)
{
	struct cb_breaker b = NEW_BREAKER();
	struct cb_policy p;
	struct cb_ticket t;
	struct cb_snapshot s;
	uint64_t now = T0, prev = 0;
	int i;

	(void)st;
	defaults(&p);
	p.open_timeout_ms = 1000;
	p.open_timeout_max_ms = 20000;
	p.backoff_milli = 2000;
	fresh(&b, &p);
	open_it(&b, now);
	assert_int_equal(snap(&b, now).open_ms, 1000);
	for (i = 1; i <= 8; i++) {
		now += snap(&b, now).open_ms;
		t = must_admit(&b, now);
		cb_breaker_record(&b, &t, 0, ETIMEDOUT, now, NULL);
		s = snap(&b, now);
		assert_int_equal(s.reopenings, i);
		assert_int_equal(s.open_ms,
				 cb_breaker_open_ms(&p, i, s.gen, SEED));
		assert_true(s.open_ms <= 20000);
		if (i <= 4)
			assert_true(s.open_ms > prev);
		prev = s.open_ms;
		must_reject(&b, now + s.open_ms - 1);
	}
	assert_in_range(prev, 18000, 20000);
	now += prev;
	for (i = 0; i < 3; i++)
		succeed_once(&b, now);
	assert_int_equal(snap(&b, now).state, CB_CLOSED);
	open_it(&b, now);
	assert_int_equal(snap(&b, now).open_ms, 1000);
}

static void
jitter_stays_within_ten_percent_and_repeats_for_same_seed_and_gen(void **st)
{
	struct cb_policy p;
	uint64_t v, lo = UINT64_MAX, hi = 0, differ = 0;
	uint32_t seed, gen;

	(void)st;
	defaults(&p);
	p.open_timeout_ms = 10000;
	for (seed = 0; seed < 16; seed++) {
		for (gen = 0; gen < 500; gen++) {
			v = cb_breaker_open_ms(&p, 1, gen, seed);
			assert_in_range(v, 9000, 11000);
			assert_int_equal(v,
					 cb_breaker_open_ms(&p, 1, gen, seed));
			differ += v != cb_breaker_open_ms(&p, 1, gen, seed + 1);
			lo = v < lo ? v : lo;
			hi = v > hi ? v : hi;
		}
	}
	/* it really spreads over the band, and seeds decorrelate */
	assert_true(lo < 9200);
	assert_true(hi > 10800);
	assert_true(differ > 16 * 500 * 9 / 10);
}

/* ---- observe mode ---------------------------------------------------- */

static void
observe_mode_never_rejects_but_counts_rejections(void **state)
{
	struct cb_breaker b = NEW_BREAKER();
	struct cb_policy p;
	struct cb_ticket t;
	struct cb_snapshot s;
	int i;

	(void)state;
	defaults(&p);
	p.mode = CB_MODE_OBSERVE;
	fresh(&b, &p);
	assert_int_equal(cb_breaker_mode(&b), CB_MODE_OBSERVE);
	open_it(&b, T0);
	for (i = 0; i < 4; i++) {
		assert_int_equal(cb_breaker_admit(&b, T0 + 1, &t, NULL), 0);
		assert_int_equal(t.kind, CB_TICKET_SHADOW);
		/* its outcome counts in the metrics, never in the state */
		cb_breaker_record(&b, &t, 1, 0, T0 + 1, NULL);
	}
	s = snap(&b, T0 + 1);
	assert_int_equal(s.state, CB_OPEN);
	assert_int_equal(s.open_remaining_ms, 29999);
	assert_int_equal(s.rejected_calls, 4);
	assert_int_equal(s.total_calls, 9);
	assert_int_equal(s.successful_calls, 4);
	assert_int_equal(s.failed_calls, 5);
	/* and the machine runs on as in enforce mode */
	t = must_admit(&b, T0 + 30000);
	assert_int_equal(t.kind, CB_TICKET_PROBE);
	for (i = 0; i < 2; i++)
		assert_int_equal(must_admit(&b, T0 + 30000).kind,
				 CB_TICKET_PROBE);
	assert_int_equal(must_admit(&b, T0 + 30000).kind, CB_TICKET_SHADOW);
	assert_int_equal(snap(&b, T0 + 30000).half_open_in_flight, 3);
}

/* ---- display --------------------------------------------------------- */

static void
snapshot_reads_open_past_its_deadline_as_half_open(void **state)
{
	struct cb_breaker b = NEW_BREAKER();
	struct cb_transition tr;
	struct cb_ticket t;
	struct cb_snapshot s;

	(void)state;
	fresh(&b, NULL);
	open_it(&b, T0);
	s = snap(&b, T0 + 29999);
	assert_int_equal(s.state, CB_OPEN);
	assert_int_equal(s.open_remaining_ms, 1);
	s = snap(&b, T0 + 30000);
	assert_int_equal(s.state, CB_HALF_OPEN);
	assert_int_equal(s.open_remaining_ms, -1);
	assert_int_equal(s.opened_ms_ago, 30000);
	assert_int_equal(s.state_transitions, 1);	/* only displayed */
	s = snap(&b, T0 + 45000);
	assert_int_equal(s.state, CB_HALF_OPEN);
	/* the admission that follows still makes (and reports) it */
	assert_int_equal(cb_breaker_admit(&b, T0 + 45000, &t, &tr), 0);
	assert_int_equal(tr.why, CB_WHY_TIMEOUT);
	assert_int_equal(snap(&b, T0 + 45000).state_transitions, 2);
}

/* A writer in another time namespace stamps the open period a day ahead:
 * a reader with our clock counts it as opened now (display and decision),
 * and from its first decision on the period ends open_timeout later. */
static void
open_period_from_a_future_clock_counts_as_now(void **state)
{
	const uint64_t day = 86400000ull;
	struct cb_breaker b = NEW_BREAKER();
	struct cb_snapshot s;

	(void)state;
	fresh(&b, NULL);
	open_it(&b, T0 + day);
	s = snap(&b, T0);
	assert_int_equal(s.state, CB_OPEN);
	assert_int_equal(s.opened_ms_ago, 0);
	assert_int_equal(s.open_remaining_ms, 30000);
	must_reject(&b, T0 + 10);
	must_reject(&b, T0 + 30009);
	assert_int_equal(snap(&b, T0 + 30009).open_remaining_ms, 1);
	must_admit(&b, T0 + 30010);
	assert_int_equal(snap(&b, T0 + 30010).state, CB_HALF_OPEN);
}

/* A probe admitted by a process whose clock is a day ahead, then lost:
 * its place frees open_timeout after a process with our clock first met
 * it, not a day later. */
static void
lost_probe_from_a_future_clock_frees_its_place(void **state)
{
	const uint64_t day = 86400000ull;
	struct cb_breaker b = NEW_BREAKER();
	struct cb_policy p;

	(void)state;
	defaults(&p);
	p.half_open_max_calls = 1;
	fresh(&b, &p);
	open_it(&b, T0);
	must_admit(&b, T0 + day + 30000);	/* the only probe, never ends */
	assert_int_equal(snap(&b, T0 + 30010).state, CB_HALF_OPEN);
	must_reject(&b, T0 + 30010);
	must_reject(&b, T0 + 60009);
	must_admit(&b, T0 + 60010);		/* the lost probe's place */
}

static void
release_counts_nothing_and_frees_only_a_probe_place(void **state)
{
	struct cb_breaker b = NEW_BREAKER();
	struct cb_ticket t;
	struct cb_snapshot s;

	(void)state;
	fresh(&b, NULL);
	t = must_admit(&b, T0);
	cb_breaker_release(&b, &t);
	s = snap(&b, T0);
	assert_int_equal(s.total_calls, 1);
	assert_int_equal(s.successful_calls + s.failed_calls, 0);
	assert_int_equal(s.stale_outcomes, 0);
	open_it(&b, T0);
	t = must_admit(&b, T0 + 30000);
	cb_breaker_release(&b, &t);
	s = snap(&b, T0 + 30000);
	assert_int_equal(s.state, CB_HALF_OPEN);
	assert_int_equal(s.half_open_in_flight, 0);
	assert_int_equal(s.half_open_successes, 0);
}

/* Every call that reports a transition reports exactly the one it made,
 * whatever *tr held before: a closed -> closed reset is "reset", with
 * from == to, and never the caller's stale contents. */
static void
every_call_overwrites_the_transition_it_reports(void **state)
{
	static const struct cb_transition stale = {
		CB_OPEN, CB_HALF_OPEN, CB_WHY_TIMEOUT };
	struct cb_breaker b = NEW_BREAKER();
	struct cb_transition tr;
	struct cb_ticket t;

	(void)state;
	fresh(&b, NULL);
	tr = stale;
	t = must_admit(&b, T0);
	tr = stale;
	assert_int_equal(cb_breaker_admit(&b, T0, &t, &tr), 0);
	assert_int_equal(tr.why, CB_WHY_NONE);
	tr = stale;
	cb_breaker_record(&b, &t, 1, 0, T0, &tr);
	assert_int_equal(tr.why, CB_WHY_NONE);
	tr = stale;
	cb_breaker_reset(&b, T0, &tr);		/* closed -> closed */
	assert_int_equal(tr.from, CB_CLOSED);
	assert_int_equal(tr.to, CB_CLOSED);
	assert_int_equal(tr.why, CB_WHY_RESET);
	tr = stale;
	cb_breaker_trip(&b, T0, 0, 0, &tr);
	assert_int_equal(tr.from, CB_CLOSED);
	assert_int_equal(tr.to, CB_OPEN);
	assert_int_equal(tr.why, CB_WHY_TRIP);
	tr = stale;				/* a rejection clears it */
	assert_int_equal(cb_breaker_admit(&b, T0, &t, &tr), -ECONNREFUSED);
	assert_int_equal(tr.why, CB_WHY_NONE);
}

/* ---- policy and names ----------------------------------------------- */

static void
policy_defaults_are_the_documented_ones(void **state)
{
	struct cb_policy p, q;
	struct cb_breaker b = NEW_BREAKER();

	(void)state;
	defaults(&p);
	assert_int_equal(p.failure_threshold, 5);
	assert_int_equal(p.success_threshold, 3);
	assert_int_equal(p.open_timeout_ms, 30000);
	assert_int_equal(p.half_open_max_calls, 3);
	assert_int_equal(p.backoff_milli, 1000);
	assert_int_equal(p.open_timeout_max_ms, 600000);
	assert_int_equal(p.mode, CB_MODE_ENFORCE);
	assert_int_equal(p.reject_errno, ECONNREFUSED);
	assert_int_equal(cb_policy_valid(&p), 0);
	assert_true(cb_policy_is_failure(&p, ECONNREFUSED));
	assert_true(cb_policy_is_failure(&p, ETIMEDOUT));
	assert_true(cb_policy_is_failure(&p, EHOSTUNREACH));
	assert_true(cb_policy_is_failure(&p, ENETUNREACH));
	assert_true(cb_policy_is_failure(&p, ECONNRESET));
	assert_false(cb_policy_is_failure(&p, EAGAIN));
	assert_false(cb_policy_is_failure(&p, EADDRNOTAVAIL));
	assert_false(cb_policy_is_failure(&p, 0));
	assert_false(cb_policy_is_failure(&p, -1));
	assert_false(cb_policy_is_failure(&p, CB_ERRNO_MAX));
	/* stored in the breaker and read back whole */
	p.failure_threshold = 9;
	p.mode = CB_MODE_OBSERVE;
	p.backoff_milli = 1500;
	fresh(&b, &p);
	cb_breaker_get_policy(&b, &q);
	assert_memory_equal(&p, &q, sizeof(p));
	assert_true(cb_breaker_is_failure(&b, ETIMEDOUT));
	assert_false(cb_breaker_is_failure(&b, EPIPE));
}

static void
policy_out_of_range_is_invalid(void **state)
{
	struct cb_policy p;

	(void)state;
#define BAD(field, value) do { defaults(&p); p.field = (value); \
	assert_int_equal(cb_policy_valid(&p), -EINVAL); } while (0)
	BAD(failure_threshold, 0);
	BAD(failure_threshold, CB_MAX_FAILURE_THRESHOLD + 1);
	BAD(success_threshold, 0);
	BAD(success_threshold, CB_MAX_SUCCESS_THRESHOLD + 1);
	BAD(half_open_max_calls, 0);
	BAD(half_open_max_calls, CB_MAX_HALF_OPEN_CALLS + 1);
	BAD(open_timeout_ms, 0);
	BAD(open_timeout_max_ms, 29999);
	BAD(backoff_milli, 999);
	BAD(backoff_milli, CB_MAX_BACKOFF_MILLI + 1);
	BAD(mode, 3);
	BAD(reject_errno, 0);
	BAD(reject_errno, EINTR);
	BAD(reject_errno, EINPROGRESS);
#undef BAD
}

/* A rejection errno read from the segment is not trusted: a writer of the
 * segment who stores EINTR or EINPROGRESS must not make programs spin or
 * wait; they get ECONNREFUSED. */
static void
hostile_reject_errno_falls_back_to_econnrefused(void **state)
{
	struct cb_breaker b = NEW_BREAKER();
	struct cb_policy p;
	uint64_t a;
	int bad[] = { 0, EINTR, EINPROGRESS, EAGAIN, EALREADY, 255 }, i;

	(void)state;
	defaults(&p);
	p.reject_errno = EHOSTUNREACH;
	cb_breaker_init(&b, &p, 1);
	assert_int_equal(cb_breaker_reject_errno(&b), EHOSTUNREACH);
	for (i = 0; i < (int)(sizeof(bad) / sizeof(bad[0])); i++) {
		a = atomic_load(&b.hot->pol_a) & ~CB_MASK(POL_REJECT_ERRNO);
		atomic_store(&b.hot->pol_a, a | CB_PUT(bad[i], POL_REJECT_ERRNO));
		assert_int_equal(cb_breaker_reject_errno(&b), ECONNREFUSED);
	}
}

static void
state_and_why_names_are_spelled_for_people(void **state)
{
	(void)state;
	assert_string_equal(cb_state_name(CB_CLOSED), "closed");
	assert_string_equal(cb_state_name(CB_OPEN), "open");
	assert_string_equal(cb_state_name(CB_HALF_OPEN), "half-open");
	assert_string_equal(cb_why_name(CB_WHY_THRESHOLD), "threshold");
	assert_string_equal(cb_why_name(CB_WHY_TIMEOUT), "timeout");
	assert_string_equal(cb_why_name(CB_WHY_PROBE_SUCCESS), "probe success");
	assert_string_equal(cb_why_name(CB_WHY_PROBE_FAILURE), "probe failure");
	assert_string_equal(cb_why_name(CB_WHY_TRIP), "trip");
	assert_string_equal(cb_why_name(CB_WHY_RESET), "reset");
	assert_string_equal(cb_why_name(CB_WHY_FAILURE_RATE), "failure rate");
}

/* ---- failure-rate window (failure_rate_threshold, minimum_calls) --- */

/* A policy with the rate rule on and the consecutive rule out of reach. */
static void
rate_policy(struct cb_policy *p, uint32_t thr, uint32_t min, uint32_t win)
{
	defaults(p);
	p->failure_threshold = CB_MAX_FAILURE_THRESHOLD;
	p->failure_rate_threshold = thr;
	p->minimum_calls = min;
	p->window_ms = win;
}

/* One outcome at now; returns the transition it made. */
static struct cb_transition
outcome(struct cb_breaker *b, uint64_t now, int success)
{
	struct cb_ticket t = must_admit(b, now);
	struct cb_transition tr;

	cb_breaker_record(b, &t, success, success ? 0 : ECONNREFUSED, now,
			  &tr);
	return tr;
}

/* n outcomes at now, none of which may open the breaker. */
static void
outcomes(struct cb_breaker *b, uint64_t now, int n, int success)
{
	while (n-- > 0)
		assert_int_equal(outcome(b, now, success).why, CB_WHY_NONE);
	assert_int_equal(snap(b, now).state, CB_CLOSED);
}

static void
failure_rate_is_off_by_default(void **state)
{
	struct cb_breaker b = NEW_BREAKER();
	struct cb_snapshot s;
	int i;

	(void)state;
	fresh(&b, NULL);
	for (i = 0; i < 1000; i++)	/* 50 %, never 5 in a row */
		assert_int_equal(outcome(&b, T0 + i, i % 2).why, CB_WHY_NONE);
	s = snap(&b, T0 + 1000);
	assert_int_equal(s.state, CB_CLOSED);
	assert_int_equal(s.failed_calls, 500);
	assert_int_equal(s.window_calls, 0);	/* not kept when off */
}

static void
failure_rate_opens_at_minimum_calls_and_not_one_before(void **state)
{
	struct cb_breaker b = NEW_BREAKER();
	struct cb_policy p;
	struct cb_transition tr;
	struct cb_snapshot s;

	(void)state;
	rate_policy(&p, 50, 20, 10000);
	fresh(&b, &p);
	outcomes(&b, T0, 19, 0);		/* 100 %, but 19 calls */
	s = snap(&b, T0);
	assert_int_equal(s.window_calls, 19);
	assert_int_equal(s.window_failures, 19);
	tr = outcome(&b, T0 + 1, 0);
	assert_int_equal(tr.from, CB_CLOSED);
	assert_int_equal(tr.to, CB_OPEN);
	assert_int_equal(tr.why, CB_WHY_FAILURE_RATE);
	s = snap(&b, T0 + 1);
	assert_int_equal(s.state, CB_OPEN);
	assert_int_equal(s.state_transitions, 1);
	assert_int_equal(s.window_calls, 0);	/* not closed */
	assert_string_equal(cb_why_name(CB_WHY_FAILURE_RATE), "failure rate");
}

/* The minimum can be reached by a success: the share is what counts. */
static void
failure_rate_opens_on_the_success_that_reaches_minimum_calls(void **state)
{
	struct cb_breaker b = NEW_BREAKER();
	struct cb_policy p;
	struct cb_transition tr;

	(void)state;
	rate_policy(&p, 50, 20, 10000);
	fresh(&b, &p);
	outcomes(&b, T0, 10, 0);
	outcomes(&b, T0, 9, 1);			/* 19 calls, 10 failed */
	tr = outcome(&b, T0, 1);		/* 20 calls, 50 % */
	assert_int_equal(tr.why, CB_WHY_FAILURE_RATE);
	assert_int_equal(snap(&b, T0).state, CB_OPEN);
}

/* failures x 100 >= threshold x calls, tested one call either side. */
static void
failure_rate_just_under_stays_closed_and_exactly_at_opens(void **state)
{
	struct cb_breaker b = NEW_BREAKER();
	struct cb_policy p;

	(void)state;
	rate_policy(&p, 1, 100, 10000);
	fresh(&b, &p);				/* 1 of 101 = 0.99 % */
	outcomes(&b, T0, 100, 1);
	outcomes(&b, T0, 1, 0);
	assert_int_equal(snap(&b, T0).window_calls, 101);
	fresh(&b, &p);				/* 1 of 100 = 1 % */
	outcomes(&b, T0, 99, 1);
	assert_int_equal(outcome(&b, T0, 0).why, CB_WHY_FAILURE_RATE);

	rate_policy(&p, 30, 10, 10000);
	fresh(&b, &p);				/* 2 of 10: 20 % */
	outcomes(&b, T0, 8, 1);
	outcomes(&b, T0, 2, 0);
	fresh(&b, &p);				/* 3 of 10: 30 % */
	outcomes(&b, T0, 7, 1);
	outcomes(&b, T0, 2, 0);
	assert_int_equal(outcome(&b, T0, 0).why, CB_WHY_FAILURE_RATE);
}

/* Buckets of window / 6: an outcome at a bucket's first millisecond
 * counts for exactly window, one at its last for window - width + 1. */
static void
failure_rate_window_slides_at_bucket_edges(void **state)
{
	struct cb_breaker b = NEW_BREAKER();
	struct cb_policy p;
	const uint64_t t = 1000ull * 1000;	/* a bucket's first ms */

	(void)state;
	rate_policy(&p, 50, 4, 6000);		/* width 1000 ms */
	fresh(&b, &p);
	outcomes(&b, t, 3, 0);
	assert_int_equal(snap(&b, t + 5999).window_calls, 3);
	assert_int_equal(snap(&b, t + 6000).window_calls, 0);
	assert_int_equal(outcome(&b, t + 5999, 0).why, CB_WHY_FAILURE_RATE);

	fresh(&b, &p);
	outcomes(&b, t + 999, 3, 0);		/* the bucket's last ms */
	assert_int_equal(snap(&b, t + 5999).window_failures, 3);
	assert_int_equal(snap(&b, t + 6000).window_failures, 0);
	outcome(&b, t + 6000, 0);		/* just outside */
	assert_int_equal(snap(&b, t + 6000).state, CB_CLOSED);
	assert_int_equal(snap(&b, t + 6000).window_calls, 1);

	/* sliding: old successes leave, the failures since remain */
	fresh(&b, &p);
	outcomes(&b, t, 4, 1);
	outcomes(&b, t + 3000, 3, 0);		/* 3 of 7 */
	assert_int_equal(snap(&b, t + 6000).window_calls, 3);
	assert_int_equal(outcome(&b, t + 6000, 0).why, CB_WHY_FAILURE_RATE);
}

/* A quiet spell of 2^16 buckets brings a bucket's 16-bit number round
 * again: what it held then must not count now. */
/* A success may complete the rule with failures from earlier buckets of
 * the window (the success path's shortcut must not skip them), and not
 * with failures that have left it. */
static void
failure_rate_success_counts_failures_of_earlier_buckets(void **state)
{
	struct cb_breaker b = NEW_BREAKER();
	struct cb_policy p;
	const uint64_t t = 1000ull * 1000;

	(void)state;
	rate_policy(&p, 50, 6, 6000);		/* width 1000 ms */
	fresh(&b, &p);
	outcomes(&b, t, 3, 0);
	outcomes(&b, t + 5000, 2, 1);
	assert_int_equal(outcome(&b, t + 5999, 1).why, CB_WHY_FAILURE_RATE);
	fresh(&b, &p);
	outcomes(&b, t, 3, 0);
	outcomes(&b, t + 6000, 6, 1);		/* the failures have left */
	assert_int_equal(snap(&b, t + 6000).window_failures, 0);
}

static void
failure_rate_window_forgets_across_a_long_quiet_spell(void **state)
{
	struct cb_breaker b = NEW_BREAKER();
	struct cb_policy p;
	uint64_t t = 1000ull * 1000, later = t + 65536ull * 100;

	(void)state;
	rate_policy(&p, 50, 4, 600);		/* width 100 ms */
	fresh(&b, &p);
	outcomes(&b, t, 3, 0);
	assert_int_equal(snap(&b, later).window_calls, 0);
	outcomes(&b, later, 1, 0);
	assert_int_equal(snap(&b, later).window_calls, 1);
	outcomes(&b, later + 50, 2, 0);
	assert_int_equal(snap(&b, later + 50).window_calls, 3);
}

static void
failure_rate_window_starts_empty_on_every_close(void **state)
{
	struct cb_breaker b = NEW_BREAKER();
	struct cb_policy p;
	int i;

	(void)state;
	rate_policy(&p, 50, 4, 10000);
	fresh(&b, &p);
	outcomes(&b, T0, 3, 0);
	cb_breaker_reset(&b, T0, NULL);		/* closed -> closed */
	assert_int_equal(snap(&b, T0).window_calls, 0);
	outcomes(&b, T0, 3, 0);			/* 3, not 6 */
	assert_int_equal(snap(&b, T0).window_calls, 3);
	assert_int_equal(outcome(&b, T0, 0).why, CB_WHY_FAILURE_RATE);
	/* open -> half-open -> closed by probes: empty again */
	for (i = 0; i < 3; i++)
		outcome(&b, T0 + 30000, 1);
	assert_int_equal(snap(&b, T0 + 30000).state, CB_CLOSED);
	assert_int_equal(snap(&b, T0 + 30000).window_calls, 0);
	outcomes(&b, T0 + 30000, 3, 0);
	assert_int_equal(outcome(&b, T0 + 30001, 0).why,
			 CB_WHY_FAILURE_RATE);
	/* trip + reset within one bucket */
	cb_breaker_trip(&b, T0 + 30001, 0, 0, NULL);
	cb_breaker_reset(&b, T0 + 30001, NULL);
	outcomes(&b, T0 + 30001, 3, 0);
}

/* Outcomes of an earlier generation count in the metrics only. */
static void
failure_rate_ignores_outcomes_of_earlier_generations(void **state)
{
	struct cb_breaker b = NEW_BREAKER();
	struct cb_policy p;
	struct cb_ticket old[4];
	struct cb_snapshot s;
	int i;

	(void)state;
	rate_policy(&p, 50, 4, 10000);
	fresh(&b, &p);
	for (i = 0; i < 4; i++)
		old[i] = must_admit(&b, T0);
	cb_breaker_reset(&b, T0, NULL);
	for (i = 0; i < 4; i++)
		cb_breaker_record(&b, &old[i], 0, ECONNREFUSED, T0, NULL);
	s = snap(&b, T0);
	assert_int_equal(s.state, CB_CLOSED);
	assert_int_equal(s.failed_calls, 4);
	assert_int_equal(s.stale_outcomes, 4);
	assert_int_equal(s.window_calls, 0);
	/* half-open probes are not outcomes of a closed window either */
	cb_breaker_trip(&b, T0, 0, 0, NULL);
	outcome(&b, T0 + 30000, 1);
	outcome(&b, T0 + 30000, 1);
	assert_int_equal(outcome(&b, T0 + 30000, 1).why,
			 CB_WHY_PROBE_SUCCESS);
	assert_int_equal(snap(&b, T0 + 30000).window_calls, 0);
}

/* Either rule opens, whichever comes first; the reason says which. */
static void
consecutive_and_rate_rules_both_open(void **state)
{
	struct cb_breaker b = NEW_BREAKER();
	struct cb_policy p;

	(void)state;
	rate_policy(&p, 90, 20, 10000);
	p.failure_threshold = 5;
	fresh(&b, &p);
	outcomes(&b, T0, 4, 0);
	assert_int_equal(outcome(&b, T0, 0).why, CB_WHY_THRESHOLD);
	rate_policy(&p, 50, 4, 10000);
	p.failure_threshold = 5;
	fresh(&b, &p);
	outcomes(&b, T0, 1, 1);
	outcomes(&b, T0, 1, 0);
	outcomes(&b, T0, 1, 1);
	assert_int_equal(outcome(&b, T0, 0).why, CB_WHY_FAILURE_RATE);
}

/* Rejections are not outcomes; observe mode's shadow attempts neither. */
static void
failure_rate_counts_no_rejections(void **state)
{
	struct cb_breaker b = NEW_BREAKER();
	struct cb_policy p;
	struct cb_ticket t;
	struct cb_transition tr;

	(void)state;
	rate_policy(&p, 50, 4, 10000);
	fresh(&b, &p);
	outcomes(&b, T0, 3, 0);
	outcome(&b, T0, 0);			/* opens */
	must_reject(&b, T0 + 1);
	p.mode = CB_MODE_OBSERVE;
	fresh(&b, &p);
	outcomes(&b, T0, 3, 0);
	outcome(&b, T0, 0);			/* "opens" */
	assert_int_equal(cb_breaker_admit(&b, T0 + 1, &t, &tr), 0);
	assert_int_equal(t.kind, CB_TICKET_SHADOW);
	cb_breaker_record(&b, &t, 0, ECONNREFUSED, T0 + 1, NULL);
	cb_breaker_reset(&b, T0 + 1, NULL);
	assert_int_equal(snap(&b, T0 + 1).window_calls, 0);
}

static void
failure_rate_policy_round_trips_and_is_validated(void **state)
{
	struct cb_breaker b = NEW_BREAKER();
	struct cb_policy p, q;

	(void)state;
	rate_policy(&p, 37, 123456, 3600000);
	fresh(&b, &p);
	cb_breaker_get_policy(&b, &q);
	assert_int_equal(q.failure_rate_threshold, 37);
	assert_int_equal(q.minimum_calls, 123456);
	assert_int_equal(q.window_ms, 3600000);
	assert_int_equal(cb_policy_valid(&p), 0);
	defaults(&p);
	assert_int_equal(p.failure_rate_threshold, 0);
	assert_int_equal(p.window_ms, 10000);
	assert_int_equal(p.minimum_calls, 20);
	p.failure_rate_threshold = 101;
	assert_int_equal(cb_policy_valid(&p), -EINVAL);
	defaults(&p);
	p.window_ms = CB_MIN_WINDOW_MS - 1;
	assert_int_equal(cb_policy_valid(&p), -EINVAL);
	p.window_ms = CB_MAX_WINDOW_MS + 1;
	assert_int_equal(cb_policy_valid(&p), -EINVAL);
	defaults(&p);
	p.minimum_calls = 0;
	assert_int_equal(cb_policy_valid(&p), -EINVAL);
	p.minimum_calls = CB_MAX_MINIMUM_CALLS + 1;
	assert_int_equal(cb_policy_valid(&p), -EINVAL);
}

/* A reload that changes the window starts it afresh (bucket numbers mean
 * another time); one that does not keeps it. */
static void
failure_rate_reload_keeps_or_restarts_the_window(void **state)
{
	struct cb_breaker b = NEW_BREAKER();
	struct cb_policy p;

	(void)state;
	rate_policy(&p, 50, 4, 10000);
	fresh(&b, &p);
	outcomes(&b, T0, 3, 0);
	p.minimum_calls = 5;
	cb_breaker_set_policy(&b, &p);
	assert_int_equal(snap(&b, T0).window_calls, 3);
	p.window_ms = 20000;
	cb_breaker_set_policy(&b, &p);
	assert_int_equal(snap(&b, T0).window_calls, 0);
	outcomes(&b, T0, 4, 0);
	assert_int_equal(outcome(&b, T0, 0).why, CB_WHY_FAILURE_RATE);
}

/* A segment whose window word says 0 ms (garbage, hostile) must not make
 * the rule divide by zero: the rule is off. */
static void
failure_rate_with_a_zero_window_word_is_off(void **state)
{
	struct cb_breaker b = NEW_BREAKER();
	struct cb_policy p;

	(void)state;
	rate_policy(&p, 50, 4, 10000);
	fresh(&b, &p);
	atomic_store(&b.cold->pol_r,
	    atomic_load(&b.cold->pol_r) & ~CB_MASK(POLR_WINDOW));
	outcomes(&b, T0, 10, 0);
	assert_int_equal(snap(&b, T0).window_calls, 0);
}

/* The window's successes are a difference of successful_calls' own
 * counter: successes that are no closed window's (an earlier generation's,
 * a probe's, a shadow attempt's recorded after a close) must still count in
 * successful_calls, once, and stay out of the window. */
static void
failure_rate_successes_outside_the_window_count_in_metrics_only(void **state)
{
	struct cb_breaker b = NEW_BREAKER();
	struct cb_policy p;
	struct cb_ticket old, shadow;
	struct cb_transition tr;
	struct cb_snapshot s;
	int i;

	(void)state;
	rate_policy(&p, 50, 4, 10000);
	fresh(&b, &p);
	old = must_admit(&b, T0);
	cb_breaker_reset(&b, T0, NULL);
	outcomes(&b, T0, 1, 1);
	cb_breaker_record(&b, &old, 1, 0, T0, NULL);	/* stale */
	s = snap(&b, T0);
	assert_int_equal(s.successful_calls, 2);
	assert_int_equal(s.stale_outcomes, 1);
	assert_int_equal(s.window_calls, 1);
	cb_breaker_trip(&b, T0, 0, 0, NULL);
	for (i = 0; i < 3; i++)				/* probes close it */
		outcome(&b, T0 + 30000, 1);
	s = snap(&b, T0 + 30000);
	assert_int_equal(s.state, CB_CLOSED);
	assert_int_equal(s.successful_calls, 5);
	assert_int_equal(s.window_calls, 0);
	p.mode = CB_MODE_OBSERVE;
	cb_breaker_set_policy(&b, &p);
	cb_breaker_trip(&b, T0 + 30000, 0, 0, NULL);
	assert_int_equal(cb_breaker_admit(&b, T0 + 30001, &shadow, &tr), 0);
	assert_int_equal(shadow.kind, CB_TICKET_SHADOW);
	cb_breaker_reset(&b, T0 + 30001, NULL);
	outcomes(&b, T0 + 30001, 1, 1);
	cb_breaker_record(&b, &shadow, 1, 0, T0 + 30001, NULL);
	s = snap(&b, T0 + 30001);
	assert_int_equal(s.successful_calls, 7);
	assert_int_equal(s.window_calls, 1);
	assert_int_equal(s.total_calls, 7);	/* shadow: a rejection */
}

/* A reload that turns the rule on starts the window afresh: what was
 * counted before it was turned off is not mixed with what came since. */
static void
failure_rate_turned_on_by_a_reload_starts_afresh(void **state)
{
	struct cb_breaker b = NEW_BREAKER();
	struct cb_policy p;

	(void)state;
	rate_policy(&p, 50, 4, 10000);
	fresh(&b, &p);
	outcomes(&b, T0, 2, 1);
	p.failure_rate_threshold = 0;
	cb_breaker_set_policy(&b, &p);
	outcomes(&b, T0 + 1, 10, 1);
	assert_int_equal(snap(&b, T0 + 1).window_calls, 0);	/* off */
	p.failure_rate_threshold = 50;
	cb_breaker_set_policy(&b, &p);
	assert_int_equal(snap(&b, T0 + 1).window_calls, 0);
	outcomes(&b, T0 + 2, 3, 0);
	assert_int_equal(snap(&b, T0 + 2).window_calls, 3);
	assert_int_equal(outcome(&b, T0 + 2, 0).why, CB_WHY_FAILURE_RATE);
}

/* An outcome recorded after a later bucket began (its time was taken
 * before a slower record) counts from that later bucket, a failure as a
 * success: it leaves the window with it, never earlier. */
static void
failure_rate_late_outcome_counts_from_the_later_bucket(void **state)
{
	struct cb_breaker b = NEW_BREAKER();
	struct cb_policy p;
	const uint64_t t = 1000ull * 1000;

	(void)state;
	rate_policy(&p, 50, 10, 6000);		/* width 1000 ms */
	fresh(&b, &p);
	outcomes(&b, t + 1000, 1, 1);
	outcomes(&b, t + 999, 1, 1);		/* late, into t + 1000's */
	outcomes(&b, t + 999, 1, 0);
	assert_int_equal(snap(&b, t + 6999).window_calls, 3);
	assert_int_equal(snap(&b, t + 6999).window_failures, 1);
	assert_int_equal(snap(&b, t + 7000).window_calls, 0);
}

/* The window compares generations in ctl's 24 bits: past 2^24
 * transitions a new generation's window still counts. */
static void
failure_rate_counts_past_2_pow_24_generations(void **state)
{
	struct cb_breaker b = NEW_BREAKER();
	struct cb_policy p;
	uint32_t i;

	(void)state;
	rate_policy(&p, 50, 4, 10000);
	fresh(&b, &p);
	for (i = 0; i < (1u << 23); i++) {
		cb_breaker_trip(&b, T0, 0, 0, NULL);
		cb_breaker_reset(&b, T0, NULL);
	}
	assert_int_equal(snap(&b, T0).gen, 1ull << 24);
	outcomes(&b, T0, 1, 0);		/* the first: in the next generation */
	cb_breaker_reset(&b, T0, NULL);
	outcomes(&b, T0, 3, 0);
	assert_int_equal(snap(&b, T0).window_calls, 3);
	assert_int_equal(outcome(&b, T0, 0).why, CB_WHY_FAILURE_RATE);
}

/* Threads record a 50 % mix: the window is exact and the rule opens the
 * breaker exactly once. */
struct rate_arg {
	struct cb_breaker *b;
	int n, opened;
};

static void *
rate_thread(void *arg)
{
	struct rate_arg *a = arg;
	struct cb_ticket t;
	struct cb_transition tr;
	int i;

	for (i = 0; i < a->n; i++) {
		if (cb_breaker_admit(a->b, T0, &t, &tr) != 0)
			continue;
		cb_breaker_record(a->b, &t, i % 2, ECONNREFUSED, T0, &tr);
		a->opened += tr.why == CB_WHY_FAILURE_RATE;
	}
	return NULL;
}

static void
concurrent_outcomes_fill_the_window_exactly_and_open_once(void **state)
{
	static struct cb_breaker_mem m;
	struct cb_breaker b = cb_breaker_in(&m);
	struct cb_policy p;
	struct rate_arg a[NTHREADS];
	pthread_t th[NTHREADS];
	int i, n = 20000 / ITER_DIV, opened = 0;

	(void)state;
	rate_policy(&p, 50, (uint32_t)(NTHREADS * n), 10000);
	fresh(&b, &p);
	for (i = 0; i < NTHREADS; i++) {
		a[i].b = &b;
		a[i].n = n;
		a[i].opened = 0;
		assert_int_equal(pthread_create(&th[i], NULL, rate_thread,
						&a[i]), 0);
	}
	for (i = 0; i < NTHREADS; i++) {
		pthread_join(th[i], NULL);
		opened += a[i].opened;
	}
	/* minimum_calls = every call: only the very last outcome can open */
	assert_int_equal(opened, 1);
	assert_int_equal(snap(&b, T0).state, CB_OPEN);
	assert_int_equal(snap(&b, T0).state_transitions, 1);
}

/* ---- generations past 2^24 and the age of lost probes --------------- */

/* The 24 bits of generation in ctl wrap after 2^24 transitions;
 * a ticket from before must still be known stale (full generations). */
static void
ticket_from_2_pow_24_generations_ago_is_stale(void **state)
{
	struct cb_breaker b = NEW_BREAKER();
	struct cb_policy p;
	struct cb_ticket old;
	struct cb_transition tr;
	struct cb_snapshot s;
	uint32_t i;

	(void)state;
	defaults(&p);
	p.failure_threshold = 1;
	fresh(&b, &p);
	old = must_admit(&b, T0);
	/* 2^24 generations: ctl's 24 bits are back where they were */
	for (i = 0; i < (1u << 23); i++) {
		cb_breaker_trip(&b, T0, 0, 0, &tr);
		cb_breaker_reset(&b, T0, &tr);
	}
	cb_breaker_record(&b, &old, 0, ECONNREFUSED, T0, &tr);
	s = snap(&b, T0);
	assert_int_equal(s.state, CB_CLOSED);
	assert_int_equal(s.stale_outcomes, 1);
	assert_int_equal(tr.why, CB_WHY_NONE);
	assert_int_equal(s.gen, 1ull << 24);
	assert_int_equal(s.state_transitions, 1ull << 24);
}

/* cb_breaker_record_fast (the shim's closed success, without the clock)
 * counts exactly what cb_breaker_record would, and only where that needs
 * no time: else it does nothing and says so. */
static void
record_fast_counts_what_record_would_or_nothing(void **state)
{
	struct cb_breaker b = NEW_BREAKER(), r = NEW_BREAKER();
	struct cb_policy p;
	struct cb_ticket t, old;
	struct cb_snapshot s;

	(void)state;
	defaults(&p);
	fresh(&b, &p);
	t = must_admit(&b, T0);
	assert_int_equal(cb_breaker_record_fast(&b, &t), 0);
	s = snap(&b, T0);
	assert_int_equal(s.successful_calls, 1);
	assert_int_equal(s.total_calls, 1);
	assert_int_equal(s.stale_outcomes, 0);
	/* a failure run under way: the full record ends it */
	cb_breaker_record(&b, &t, 0, ECONNREFUSED, T0, NULL);
	t = must_admit(&b, T0);
	assert_int_equal(cb_breaker_record_fast(&b, &t), 1);
	assert_int_equal(snap(&b, T0).successful_calls, 1);
	assert_int_equal(snap(&b, T0).consecutive_failures, 1);
	/* an earlier generation's ticket: stale, the full record's to say */
	old = t;
	cb_breaker_trip(&b, T0, 0, 0, NULL);
	cb_breaker_reset(&b, T0, NULL);
	assert_int_equal(cb_breaker_record_fast(&b, &old), 1);
	assert_int_equal(snap(&b, T0).stale_outcomes, 0);
	/* a probe */
	cb_breaker_trip(&b, T0, 0, 0, NULL);
	t = must_admit(&b, T0 + p.open_timeout_ms);
	assert_int_equal(t.kind, CB_TICKET_PROBE);
	assert_int_equal(cb_breaker_record_fast(&b, &t), 1);
	assert_int_equal(snap(&b, T0 + p.open_timeout_ms).state, CB_HALF_OPEN);
	/* the failure-rate rule on: the window needs the time */
	rate_policy(&p, 50, 20, 10000);
	fresh(&r, &p);
	t = must_admit(&r, T0);
	assert_int_equal(cb_breaker_record_fast(&r, &t), 1);
	assert_int_equal(snap(&r, T0).successful_calls, 0);
}

/* A ticket keeps CB_TICKET_GEN_BITS (>= 40) of its generation, through
 * the fd entry too (whose word alone holds 38), so that a generation cannot
 * wrap within any realistic life: a probe's ticket 2^38 or 2^39
 * generations old is stale, not a success.
 * 2^38 transitions cannot be run, so the breaker's full generation is
 * moved on by hand (genx, the word that extends ctl's 24 bits): ctl
 * itself is the same after any multiple of 2^24 transitions.  The ticket
 * is taken at a generation above 2^39, so the entry must keep those bits. */
static void
ticket_from_2_pow_38_and_39_generations_ago_is_stale(void **state)
{
	static const unsigned ago[] = { 38, 39 };
	struct cb_breaker b = NEW_BREAKER();
	struct cb_policy p;
	struct cb_conn c = { .state = CB_CONN_CONNECTING, .slot = 5 }, d;
	struct cb_transition tr;
	struct cb_snapshot s;
	unsigned i;

	(void)state;
	for (i = 0; i < sizeof(ago) / sizeof(ago[0]); i++) {
		defaults(&p);
		p.success_threshold = 1;
		fresh(&b, &p);
		cb_breaker_trip(&b, T0, 0, 0, &tr);
		atomic_fetch_add(&b.cold->genx, 3ull << 38);
		c.ticket = must_admit(&b, T0 + p.open_timeout_ms);
		assert_int_equal(c.ticket.kind, CB_TICKET_PROBE);
		assert_true(c.ticket.gen == (3ull << 38) + 2);
		/* kept in an fd entry, as the shim keeps it */
		cb_conn_decode(cb_conn_encode(&c), cb_conn_aux(&c), 0, &d);
		assert_true(d.ticket.gen == c.ticket.gen);
		atomic_fetch_add(&b.cold->genx, 1ull << ago[i]);
		cb_breaker_record(&b, &d.ticket, 1, 0,
				  T0 + p.open_timeout_ms + 1, &tr);
		s = snap(&b, T0 + p.open_timeout_ms + 1);
		assert_int_equal(tr.why, CB_WHY_NONE);
		assert_int_equal(s.state, CB_HALF_OPEN);
		assert_int_equal(s.stale_outcomes, 1);
		assert_true(s.gen == c.ticket.gen + (1ull << ago[i]));
	}
}

/* A probe place is freed only when that probe is open_timeout
 * old, not when the half-open generation is: a probe admitted at 1999 ms
 * keeps the only place at 2000 ms, and its success at 2001 ms counts. */
static void
lost_probe_rule_uses_the_age_of_the_probe(void **state)
{
	struct cb_breaker b = NEW_BREAKER();
	struct cb_policy p;
	struct cb_ticket t1, t2;
	struct cb_snapshot s;

	(void)state;
	defaults(&p);
	p.half_open_max_calls = 1;
	p.success_threshold = 2;
	p.open_timeout_ms = 1000;
	p.open_timeout_max_ms = 1000;
	fresh(&b, &p);
	cb_breaker_trip(&b, T0, 0, 0, NULL);
	t1 = must_admit(&b, T0 + 1000);		/* half-open from here */
	assert_int_equal(t1.kind, CB_TICKET_PROBE);
	cb_breaker_record(&b, &t1, 1, 0, T0 + 1500, NULL);
	t2 = must_admit(&b, T0 + 1999);
	must_reject(&b, T0 + 2000);		/* its place is taken */
	must_reject(&b, T0 + 2998);
	cb_breaker_record(&b, &t2, 1, 0, T0 + 2001, NULL);
	s = snap(&b, T0 + 2001);
	assert_int_equal(s.state, CB_CLOSED);
	assert_int_equal(s.stale_outcomes, 0);
}

/* ... and a probe that is really lost frees its place once it is
 * open_timeout old; its late outcome is then stale. */
static void
lost_probe_frees_its_place_when_open_timeout_old(void **state)
{
	struct cb_breaker b = NEW_BREAKER();
	struct cb_policy p;
	struct cb_ticket t1, t2;
	struct cb_snapshot s;

	(void)state;
	defaults(&p);
	p.half_open_max_calls = 1;
	p.open_timeout_ms = 1000;
	p.open_timeout_max_ms = 1000;
	fresh(&b, &p);
	cb_breaker_trip(&b, T0, 0, 0, NULL);
	t1 = must_admit(&b, T0 + 1500);
	must_reject(&b, T0 + 2499);
	assert_int_equal(cb_breaker_can_execute(&b, T0 + 2499), 0);
	assert_int_equal(cb_breaker_can_execute(&b, T0 + 2500), 1);
	t2 = must_admit(&b, T0 + 2500);
	assert_int_equal(t2.kind, CB_TICKET_PROBE);
	cb_breaker_record(&b, &t1, 1, 0, T0 + 2600, NULL);
	s = snap(&b, T0 + 2600);
	assert_int_equal(s.stale_outcomes, 1);
	assert_int_equal(s.half_open_in_flight, 1);
	assert_int_equal(s.state_transitions, 2);	/* lost probes: none */
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(closed_state_success),
		cmocka_unit_test(closed_state_failure),
		cmocka_unit_test(transition_to_open),
		cmocka_unit_test(open_rejects),
		cmocka_unit_test(transition_to_half_open),
		cmocka_unit_test(half_open_success),
		cmocka_unit_test(half_open_failure),
		cmocka_unit_test(half_open_limit),
		cmocka_unit_test(reset),
		cmocka_unit_test(trip),
		cmocka_unit_test(metrics),
		cmocka_unit_test(failure_causes),
		cmocka_unit_test(concurrent_calls),
		cmocka_unit_test(can_execute),
		cmocka_unit_test(half_open_needs_success_threshold_successes_to_close),
		cmocka_unit_test(concurrent_failures_are_counted_exactly),
		cmocka_unit_test(failures_interrupted_by_a_signal_handler_are_counted_exactly),
		cmocka_unit_test(closed_success_resets_consecutive_failures),
		cmocka_unit_test(opening_starts_the_timer_so_it_half_opens),
		cmocka_unit_test(admitted_failure_keeps_its_errno_and_is_not_a_rejection),
		cmocka_unit_test(late_success_from_before_open_does_not_close),
		cmocka_unit_test(late_success_from_before_open_does_not_reset_open),
		cmocka_unit_test(late_failure_from_before_reset_does_not_count),
		cmocka_unit_test(late_failure_from_before_close_does_not_reopen),
		cmocka_unit_test(outcome_of_previous_half_open_does_not_count_in_the_next),
		cmocka_unit_test(lost_probes_free_their_places_after_open_timeout),
		cmocka_unit_test(lost_probes_never_wedge_the_breaker),
		cmocka_unit_test(trip_hold_never_half_opens),
		cmocka_unit_test(trip_hold_survives_a_probe_failure_and_lost_probes),
		cmocka_unit_test(trip_for_a_duration_opens_for_exactly_that_long),
		cmocka_unit_test(trip_restarts_the_timer_of_an_open_breaker),
		cmocka_unit_test(reset_clears_cycle_counters_and_backoff),
		cmocka_unit_test(backoff_grows_per_reopening_up_to_the_cap),
		cmocka_unit_test(backoff_applies_to_the_breaker_and_closing_restores_open_timeout),
		cmocka_unit_test(jitter_stays_within_ten_percent_and_repeats_for_same_seed_and_gen),
		cmocka_unit_test(observe_mode_never_rejects_but_counts_rejections),
		cmocka_unit_test(snapshot_reads_open_past_its_deadline_as_half_open),
		cmocka_unit_test(open_period_from_a_future_clock_counts_as_now),
		cmocka_unit_test(lost_probe_from_a_future_clock_frees_its_place),
		cmocka_unit_test(release_counts_nothing_and_frees_only_a_probe_place),
		cmocka_unit_test(every_call_overwrites_the_transition_it_reports),
		cmocka_unit_test(policy_defaults_are_the_documented_ones),
		cmocka_unit_test(policy_out_of_range_is_invalid),
		cmocka_unit_test(hostile_reject_errno_falls_back_to_econnrefused),
		cmocka_unit_test(state_and_why_names_are_spelled_for_people),
		cmocka_unit_test(failure_rate_is_off_by_default),
		cmocka_unit_test(failure_rate_opens_at_minimum_calls_and_not_one_before),
		cmocka_unit_test(failure_rate_opens_on_the_success_that_reaches_minimum_calls),
		cmocka_unit_test(failure_rate_just_under_stays_closed_and_exactly_at_opens),
		cmocka_unit_test(failure_rate_window_slides_at_bucket_edges),
		cmocka_unit_test(failure_rate_success_counts_failures_of_earlier_buckets),
		cmocka_unit_test(failure_rate_window_forgets_across_a_long_quiet_spell),
		cmocka_unit_test(failure_rate_window_starts_empty_on_every_close),
		cmocka_unit_test(failure_rate_ignores_outcomes_of_earlier_generations),
		cmocka_unit_test(consecutive_and_rate_rules_both_open),
		cmocka_unit_test(failure_rate_counts_no_rejections),
		cmocka_unit_test(failure_rate_policy_round_trips_and_is_validated),
		cmocka_unit_test(failure_rate_reload_keeps_or_restarts_the_window),
		cmocka_unit_test(failure_rate_with_a_zero_window_word_is_off),
		cmocka_unit_test(failure_rate_successes_outside_the_window_count_in_metrics_only),
		cmocka_unit_test(failure_rate_turned_on_by_a_reload_starts_afresh),
		cmocka_unit_test(failure_rate_late_outcome_counts_from_the_later_bucket),
		cmocka_unit_test(failure_rate_counts_past_2_pow_24_generations),
		cmocka_unit_test(concurrent_outcomes_fill_the_window_exactly_and_open_once),
		cmocka_unit_test(ticket_from_2_pow_24_generations_ago_is_stale),
		cmocka_unit_test(ticket_from_2_pow_38_and_39_generations_ago_is_stale),
		cmocka_unit_test(record_fast_counts_what_record_would_or_nothing),
		cmocka_unit_test(lost_probe_rule_uses_the_age_of_the_probe),
		cmocka_unit_test(lost_probe_frees_its_place_when_open_timeout_old),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
