/*
 * test_crash.c - the shared protocols when a process dies or stalls at a
 * chosen instruction: nothing stays wedged, nothing is counted twice.
 *
 * Built against the core compiled with -DCB_CRASH_POINTS (Makefile,
 * build/crash/): a forked child arms a named point (shim/crashpoint.h),
 * runs one operation on a segment it shares with the parent, and is
 * killed (SIGKILL) or stopped (SIGSTOP) there; the parent then acts and
 * checks what must hold at any kill point.  Each test is one window the
 * kill -9 storms and TSan cannot reach: a random kill almost never lands
 * inside a few instructions, and TSan does not see across processes.
 */
#define CB_CRASH_POINTS 1

#include <errno.h>
#include <pthread.h>
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
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "testutil.h"

#include "../../shim/breaker.h"
#include "../../shim/crashpoint.h"
#include "../../shim/table.h"

static char segment[64];
static struct cb_table *table;

/* A fresh segment of capacity cap, shared with children by fork. */
static void
fresh(uint32_t cap)
{
	struct cb_table_opts o = { 1, 0, 0600, cap };
	char why[256];

	snprintf(segment, sizeof(segment), "/cbtest-crash-%ld",
		 (long)getpid());
	cb_table_destroy(segment);
	if (cb_table_attach(&table, segment, &o, why, sizeof(why)) != 0)
		fail_msg("attach %s: %s", segment, why);
}

static int
teardown(void **state)
{
	(void)state;
	if (table)
		cb_table_detach(table);
	table = NULL;
	cb_table_destroy(segment);
	return 0;
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

/* Wait until child pid has stopped (at its armed point). */
static void
wait_stopped(pid_t pid)
{
	int st;

	assert_int_equal(waitpid(pid, &st, WUNTRACED), pid);
	assert_true(WIFSTOPPED(st));
}

/* Fork a child that inserts destination n with policy p, after arming
 * point at with act; it exits with -(insert's result). */
static pid_t
inserter(int n, const struct cb_policy *p, const char *at,
	 enum cb_crash_action act)
{
	struct cb_breaker bh_, *b = &bh_;
	struct cb_dest d;
	pid_t pid = child();

	if (pid == 0) {
		dest_n(&d, n);
		cb_crash_arm(at, 0, act);
		_exit(-cb_table_insert(table, &d, p, b, NULL));
	}
	if (act == CB_CRASH_STOP)
		wait_stopped(pid);
	else
		assert_int_equal(wait_child(pid), 100 + SIGKILL);
	return pid;
}

static void
two_policies(struct cb_policy *p1, struct cb_policy *p2)
{
	cb_policy_default(p1);
	p1->failure_threshold = 77;
	p1->success_threshold = 7;
	p1->half_open_max_calls = 7;
	cb_policy_default(p2);
	p2->open_timeout_ms = 1111;
	p2->open_timeout_max_ms = 11110;
	p2->backoff_milli = 1500;
	p2->failures[0] = 1ull << 5;
}

static void
assert_policy_is(struct cb_breaker *b, const struct cb_policy *p)
{
	struct cb_policy q;

	cb_breaker_get_policy(b, &q);
	if (memcmp(&q, p, sizeof(q)) != 0)
		fail_msg("policy is a mixture or another creator's: "
			 "failure_threshold %u open_timeout %u backoff %u",
			 q.failure_threshold, q.open_timeout_ms,
			 q.backoff_milli);
}

/* A creator killed halfway through its policy; the next
 * creator (another config) makes the breaker whole with its own. */
static void
policy_is_one_creators_when_the_creator_dies_halfway(void **state)
{
	struct cb_policy p1, p2;
	struct cb_breaker bh_, *b = &bh_;
	struct cb_dest d;

	(void)state;
	fresh(8);
	two_policies(&p1, &p2);
	inserter(1, &p1, "policy:words", CB_CRASH_KILL);
	dest_n(&d, 1);
	assert_int_equal(cb_table_find(table, &d, b, NULL), -ENOENT);
	assert_int_equal(cb_table_insert(table, &d, &p2, b, NULL), 0);
	assert_policy_is(b, &p2);
	assert_int_equal(cb_table_used(table), 1);
	teardown(NULL);
}

/* The same, stalled instead: nobody uses the breaker before the creator's
 * policy is whole, and then it is that creator's, all of it. */
static void
policy_is_one_creators_when_the_creator_stalls_halfway(void **state)
{
	struct cb_policy p1, p2;
	struct cb_breaker bh_, *b = &bh_;
	struct cb_dest d;
	pid_t pid;

	(void)state;
	fresh(8);
	two_policies(&p1, &p2);
	pid = inserter(1, &p1, "policy:words", CB_CRASH_STOP);
	dest_n(&d, 1);
	assert_int_equal(cb_table_find(table, &d, b, NULL), -ENOENT);
	assert_int_equal(cb_table_insert(table, &d, &p2, b, NULL), -EBUSY);
	kill(pid, SIGCONT);
	assert_int_equal(wait_child(pid), 0);
	assert_int_equal(cb_table_find(table, &d, b, NULL), 0);
	assert_policy_is(b, &p1);
	assert_int_equal(cb_table_insert(table, &d, &p2, b, NULL), 0);
	assert_policy_is(b, &p1);
	teardown(NULL);
}

/* A creator stalled between its reservation and its count;
 * others fill the table meanwhile: never more than max_breakers. */
static void
reservation_of_a_live_creator_is_never_erased(void **state)
{
	struct cb_policy p;
	struct cb_breaker bh_, *b = &bh_;
	struct cb_dest d;
	pid_t pid;
	int n, st;

	(void)state;
	fresh(2);
	cb_policy_default(&p);
	pid = inserter(1, &p, "slot:reserved", CB_CRASH_STOP);
	for (n = 2; n <= 4; n++) {
		dest_n(&d, n);
		cb_table_insert(table, &d, &p, b, NULL);
	}
	kill(pid, SIGCONT);
	st = wait_child(pid);
	assert_true(st == 0 || st == ENOSPC);
	if (cb_table_used(table) > 2)
		fail_msg("%u breakers in a table of max_breakers 2",
			 cb_table_used(table));
	teardown(NULL);
}

/* Creators killed at every step of an insert take no capacity
 * for good: the next new destinations fit, up to max_breakers. */
static void
creators_killed_midway_leave_their_places_to_others(void **state)
{
	static const char *const at[] = { "slot:claimed", "slot:keyed",
		"slot:reserved", "slot:counted", "policy:words" };
	struct cb_policy p;
	struct cb_breaker bh_, *b = &bh_;
	struct cb_dest d;
	size_t i;

	(void)state;
	fresh(2);
	cb_policy_default(&p);
	for (i = 0; i < sizeof(at) / sizeof(at[0]); i++)
		inserter(10 + (int)i, &p, at[i], CB_CRASH_KILL);
	assert_int_equal(cb_table_used(table), 0);
	dest_n(&d, 1);
	assert_int_equal(cb_table_insert(table, &d, &p, b, NULL), 0);
	dest_n(&d, 2);
	assert_int_equal(cb_table_insert(table, &d, &p, b, NULL), 0);
	dest_n(&d, 3);
	assert_int_equal(cb_table_insert(table, &d, &p, b, NULL), -ENOSPC);
	/* a killed creator's own key is no exception */
	dest_n(&d, 12);
	assert_int_equal(cb_table_insert(table, &d, &p, b, NULL), -ENOSPC);
	assert_int_equal(cb_table_used(table), 2);
	teardown(NULL);
}

/* Killed creators, the same key: the next insert of it finishes the slot. */
static void
a_killed_creators_key_is_finished_by_the_next_insert_of_it(void **state)
{
	struct cb_policy p;
	struct cb_breaker bh_, *b = &bh_, b2h_, *b2 = &b2h_;
	struct cb_dest d;
	uint32_t s, s2;

	(void)state;
	fresh(1);
	cb_policy_default(&p);
	inserter(1, &p, "slot:counted", CB_CRASH_KILL);
	dest_n(&d, 1);
	assert_int_equal(cb_table_insert(table, &d, &p, b, &s), 0);
	assert_int_equal(cb_table_find(table, &d, b2, &s2), 0);
	assert_int_equal(s, s2);
	assert_int_equal(cb_table_used(table), 1);
	teardown(NULL);
}

/* A writer stalls after it owns a ring entry; the ring laps
 * over it; the stalled writer's late stores land on the later entry.
 * A reader never shows a mixture, nor the stalled writer's event as the
 * later one. */
static void
ring_never_shows_an_entry_written_by_two_writers(void **state)
{
	struct cb_transition mine = { CB_CLOSED, CB_OPEN, CB_WHY_THRESHOLD };
	struct cb_transition theirs = { CB_OPEN, CB_HALF_OPEN,
					CB_WHY_TIMEOUT };
	struct cb_event *ev;
	size_t i, got;
	pid_t pid;

	(void)state;
	fresh(8);
	pid = child();
	if (pid == 0) {
		cb_crash_arm("event:owned", 0, CB_CRASH_STOP);
		cb_crash_arm("event:written", 0, CB_CRASH_STOP);
		cb_table_event(table, 1, &mine, 111, getpid());
		_exit(0);
	}
	wait_stopped(pid);
	for (i = 0; i < CB_EVENTS; i++)
		cb_table_event(table, 2, &theirs, 222, 4242);
	kill(pid, SIGCONT);
	wait_stopped(pid);		/* its fields are in, not sealed */
	ev = calloc(CB_EVENTS, sizeof(*ev));
	assert_non_null(ev);
	for (int round = 0; round < 2; round++) {
		got = cb_table_events(table, 0, ev, CB_EVENTS);
		assert_true(got >= CB_EVENTS - 1);
		for (i = 0; i < got; i++) {
			if (ev[i].slot != 2 || ev[i].pid != 4242 ||
			    ev[i].time_ms != 222 || ev[i].why != CB_WHY_TIMEOUT)
				fail_msg("event %llu is not whole: slot %u pid "
					 "%u time %llu why %u",
					 (unsigned long long)ev[i].seq,
					 ev[i].slot, ev[i].pid,
					 (unsigned long long)ev[i].time_ms,
					 ev[i].why);
		}
		if (round == 0) {
			kill(pid, SIGCONT);	/* its seal must fail */
			assert_int_equal(wait_child(pid), 0);
		}
	}
	free(ev);
	teardown(NULL);
}

/* Breakers in the table, counted slot by slot. */
static uint32_t
ready_count(void)
{
	struct cb_breaker bh_, *b = &bh_;
	uint32_t i, n = 0;

	for (i = 0; i < cb_table_slots(table); i++)
		n += cb_table_slot(table, i, b, NULL) == 0;
	return n;
}

/* Every slot point, killed at random passes, in many processes inserting
 * keys they share and keys of their own at once; then: no key in two
 * slots, never more than max_breakers, and new keys fit until the table
 * is really full (a killed creator's place is not lost). */
static void
creators_killed_anywhere_leave_one_slot_per_key_and_no_lost_room(
	void **state)
{
	static const char *const at[] = { "slot:claimed", "slot:keyed",
		"slot:reserved", "slot:counted", "policy:words" };
	enum { SHARED = 6, OWN = 3, CAP = 48, PROCS = 12 };
	struct cb_policy p;
	struct cb_breaker bh_, *b = &bh_;
	struct cb_dest d, seen[CAP + 1];
	pid_t pids[PROCS];
	uint32_t i, n, j;
	int k, r, round;

	(void)state;
	cb_policy_default(&p);
	for (round = 0; round < 4; round++) {
		fresh(CAP);
		for (k = 0; k < PROCS; k++) {
			pids[k] = child();
			if (pids[k] == 0) {
				srandom((unsigned)(getpid() * 31 + round));
				cb_crash_arm(at[random() % 5],
					     (unsigned)(random() % 4),
					     CB_CRASH_KILL);
				for (j = 0; j < SHARED + OWN; j++) {
					dest_n(&d, j < SHARED ?
					       (int)((j + (unsigned)k) % SHARED) :
					       100 + k * OWN + (int)j);
					cb_table_insert(table, &d, &p, b, NULL);
				}
				_exit(0);
			}
		}
		for (k = 0; k < PROCS; k++)
			wait_child(pids[k]);
		n = 0;
		for (i = 0; i < cb_table_slots(table); i++) {
			if (cb_table_slot(table, i, b, &d) < 0)
				continue;
			for (j = 0; j < n; j++)
				if (memcmp(&seen[j], &d, sizeof(d)) == 0)
					fail_msg("round %d: a key in two slots",
						 round);
			if (n == CAP)
				fail_msg("round %d: more than %u breakers",
					 round, CAP);
			seen[n++] = d;
		}
		for (j = 0; j < CAP; j++) {
			dest_n(&d, 200 + (int)j);
			r = cb_table_insert(table, &d, &p, b, NULL);
			if (r == -ENOSPC)
				break;
			assert_int_equal(r, 0);
		}
		if (ready_count() != CAP)
			fail_msg("round %d: new keys refused at %u breakers of "
				 "%u", round, ready_count(), CAP);
		teardown(NULL);
	}
}

/* A breaker in memory shared with children, its handle with it. */
struct shared_breaker {
	struct cb_breaker_mem m;
	struct cb_breaker b;
};

static struct cb_breaker *
shared_breaker(const struct cb_policy *p)
{
	struct shared_breaker *sb = mmap(NULL, sizeof(*sb), PROT_READ |
	    PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	assert_true(sb != MAP_FAILED);
	sb->b = cb_breaker_in(&sb->m);
	cb_breaker_init(&sb->b, p, 7);
	return &sb->b;
}

/* Killed right after its transition's CAS, a process leaves
 * the transition counted all the same (the event alone is lost). */
static void
transition_counts_when_its_maker_dies_right_after_it(void **state)
{
	struct cb_policy p;
	struct cb_breaker bh_, *b = &bh_;
	struct cb_ticket t;
	struct cb_transition tr;
	struct cb_snapshot s;
	pid_t pid;

	(void)state;
	cb_policy_default(&p);
	p.failure_threshold = 1;
	b = shared_breaker(&p);
	pid = child();
	if (pid == 0) {
		cb_crash_arm("breaker:transitioned", 0, CB_CRASH_KILL);
		cb_breaker_admit(b, 1000, &t, &tr);
		cb_breaker_record(b, &t, 0, ECONNREFUSED, 1000, &tr);
		_exit(0);
	}
	assert_int_equal(wait_child(pid), 100 + SIGKILL);
	cb_breaker_snapshot(b, 1000, &s);
	assert_int_equal(s.state, CB_OPEN);
	assert_int_equal(s.gen, 1);
	assert_int_equal(s.state_transitions, 1);
	/* and the next transitions count on from there */
	cb_breaker_reset(b, 1001, &tr);
	cb_breaker_snapshot(b, 1001, &s);
	assert_int_equal(s.state_transitions, 2);
	pid = child();
	if (pid == 0) {
		cb_crash_arm("breaker:transitioned", 0, CB_CRASH_KILL);
		cb_breaker_trip(b, 1002, 0, 0, &tr);
		_exit(0);
	}
	assert_int_equal(wait_child(pid), 100 + SIGKILL);
	cb_breaker_trip(b, 1003, 0, 0, &tr);	/* open -> open: no change */
	cb_breaker_snapshot(b, 1003, &s);
	assert_int_equal(s.state_transitions, 3);
	assert_int_equal(s.gen, 4);
	munmap((char *)b - offsetof(struct shared_breaker, b),
	       sizeof(struct shared_breaker));
}

/* The breaker's clock in these tests (struct cb_breaker's clock). */
static uint64_t clock_ms;

static uint64_t
test_clock(void)
{
	return clock_ms;
}

/* A caller whose now was read before a stall never moves an open period's
 * start back: neither when it helps publish the start of a period whose
 * opener died before publishing it, nor when the published start looks
 * "in the future" next to its old now.  The period lasts open_timeout
 * from the transition. */
static void
stalled_caller_never_moves_an_open_period_back(void **state)
{
	struct cb_policy p;
	struct cb_breaker *b;
	struct cb_ticket t;
	struct cb_transition tr;
	int killed;
	pid_t pid;

	(void)state;
	cb_policy_default(&p);			/* open_timeout 30 s */
	for (killed = 0; killed < 2; killed++) {
		b = shared_breaker(&p);
		b->clock = test_clock;
		clock_ms = 50000;
		pid = child();
		if (pid == 0) {
			if (killed)	/* after the CAS, before the start */
				cb_crash_arm("breaker:transitioned", 0,
					     CB_CRASH_KILL);
			cb_breaker_trip(b, 50000, 0, 0, &tr);
			_exit(0);
		}
		assert_int_equal(wait_child(pid), killed ? 100 + SIGKILL : 0);
		/* now read at 20000, then a 30 s stall */
		assert_int_equal(cb_breaker_admit(b, 20000, &t, &tr),
				 -ECONNREFUSED);
		clock_ms = 79999;
		assert_int_equal(cb_breaker_admit(b, 79999, &t, &tr),
				 -ECONNREFUSED);
		clock_ms = 80000;
		assert_int_equal(cb_breaker_admit(b, 80000, &t, &tr), 0);
		assert_int_equal(t.kind, CB_TICKET_PROBE);
		munmap((char *)b - offsetof(struct shared_breaker, b),
		       sizeof(struct shared_breaker));
	}
}

/* A success killed anywhere while it starts a new bucket of the
 * failure-rate window (swept, base installed, counted) leaves the window
 * whole: the next outcome finishes what it began, and the window counts
 * exactly what was counted, no more, from the right bucket. */
static void
window_bucket_start_survives_a_kill_anywhere(void **state)
{
	static const char *const at[] = { "window:swept", "window:based",
		"window:counted" };
	const uint64_t t = 1000ull * 1000;	/* a bucket's first ms */
	struct cb_policy p;
	struct cb_breaker *b;
	struct cb_ticket tk;
	struct cb_transition tr;
	struct cb_snapshot s;
	unsigned i, k;
	pid_t pid;

	(void)state;
	cb_policy_default(&p);
	p.failure_rate_threshold = 50;
	p.minimum_calls = 4;
	p.window_ms = 6000;			/* buckets of 1000 ms */
	for (i = 0; i < sizeof(at) / sizeof(at[0]); i++) {
		k = !strcmp(at[i], "window:counted");	/* the kill counted */
		b = shared_breaker(&p);
		assert_int_equal(cb_breaker_admit(b, t, &tk, &tr), 0);
		cb_breaker_record(b, &tk, 1, 0, t, &tr);
		pid = child();
		if (pid == 0) {
			cb_crash_arm(at[i], 0, CB_CRASH_KILL);
			cb_breaker_admit(b, t + 1000, &tk, &tr);
			cb_breaker_record(b, &tk, 1, 0, t + 1000, &tr);
			_exit(0);
		}
		assert_int_equal(wait_child(pid), 100 + SIGKILL);
		cb_breaker_snapshot(b, t + 1000, &s);
		assert_int_equal(s.window_calls, 1 + k);
		assert_int_equal(cb_breaker_admit(b, t + 1000, &tk, &tr), 0);
		cb_breaker_record(b, &tk, 1, 0, t + 1000, &tr);
		cb_breaker_snapshot(b, t + 1000, &s);
		assert_int_equal(s.window_calls, 2 + k);
		assert_int_equal(s.successful_calls, 2 + k);
		cb_breaker_snapshot(b, t + 6999, &s);	/* t's bucket left */
		assert_int_equal(s.window_calls, 1 + k);
		munmap(b, sizeof(*b));
	}
}

/* A reclaimer killed at any point of a reclaim (here through
 * cbctl forget's path) leaves nothing wedged: the destination is either
 * still a working breaker or gone, the place comes back to whoever needs
 * it, and no key ever has two breakers. */
static void
reclaimer_killed_anywhere_leaves_nothing_wedged(void **state)
{
	static const char *const at[] = { "reclaim:claimed",
		"breaker:retired", "reclaim:retired", "reclaim:unready" };
	struct cb_policy p;
	struct cb_breaker bh_, *b = &bh_;
	struct cb_ticket tk;
	struct cb_dest d;
	size_t i;
	int r;
	pid_t pid;

	(void)state;
	cb_policy_default(&p);
	for (i = 0; i < sizeof(at) / sizeof(at[0]); i++) {
		fresh(2);
		dest_n(&d, 0);
		assert_int_equal(cb_table_insert(table, &d, &p, b, NULL), 0);
		dest_n(&d, 1);
		assert_int_equal(cb_table_insert(table, &d, &p, b, NULL), 0);
		pid = child();
		if (pid == 0) {
			dest_n(&d, 0);
			cb_crash_arm(at[i], 0, CB_CRASH_KILL);
			_exit(-cb_table_forget(table, &d));
		}
		assert_int_equal(wait_child(pid), 100 + SIGKILL);
		/* destination 0: still whole (forget takes it now) or gone */
		dest_n(&d, 0);
		if (cb_table_find(table, &d, b, NULL) == 0) {
			assert_int_equal(cb_breaker_admit_fast(b, &tk), 0);
			assert_int_equal(cb_table_forget(table, &d), 0);
		}
		assert_int_equal(cb_table_find(table, &d, b, NULL), -ENOENT);
		/* its place is free for a new destination, and 0 comes back
		 * as a fresh breaker once 2 is forgotten */
		dest_n(&d, 2);
		r = cb_table_insert(table, &d, &p, b, NULL);
		if (r != 0)
			fail_msg("killed at %s: insert %d", at[i], r);
		assert_int_equal(cb_table_forget(table, &d), 0);
		dest_n(&d, 0);
		assert_int_equal(cb_table_insert(table, &d, &p, b, NULL), 0);
		assert_int_equal(cb_breaker_admit_fast(b, &tk), 0);
		assert_int_equal(cb_table_used(table), 2);
		teardown(NULL);
	}
}

/* A reclaimer stopped halfway blocks nobody: the destination it was
 * taking gets a new breaker at once, and when it goes on it finishes
 * without touching that one. */
static void
reclaimer_stalled_halfway_blocks_nobody(void **state)
{
	struct cb_policy p;
	struct cb_breaker bh_, *b = &bh_, b2h_, *b2 = &b2h_;
	struct cb_dest d;
	pid_t pid;

	(void)state;
	cb_policy_default(&p);
	fresh(4);
	dest_n(&d, 0);
	assert_int_equal(cb_table_insert(table, &d, &p, b, NULL), 0);
	pid = child();
	if (pid == 0) {
		cb_crash_arm("reclaim:retired", 0, CB_CRASH_STOP);
		_exit(-cb_table_forget(table, &d));
	}
	wait_stopped(pid);
	assert_int_equal(cb_table_find(table, &d, b2, NULL), -ENOENT);
	assert_int_equal(cb_table_insert(table, &d, &p, b2, NULL), 0);
	assert_ptr_not_equal(b->hot, b2->hot);
	kill(pid, SIGCONT);
	assert_int_equal(wait_child(pid), 0);
	assert_int_equal(cb_table_find(table, &d, b, NULL), 0);
	assert_ptr_equal(b->hot, b2->hot);
	assert_int_equal(cb_table_used(table), 1);
}

/* A creator stopped halfway (SIGSTOP, a debugger): an insert of its key
 * waits for it (~100 ms), then passes.  The next insert that meets the
 * same claim, unchanged, passes at once instead of waiting again (here:
 * a wait would reach insert:wait and be killed).  Once the creator goes
 * on, its breaker is everybody's. */
static void
claim_waited_on_in_vain_is_not_waited_on_again(void **state)
{
	struct cb_policy p;
	struct cb_breaker bh_, *b = &bh_;
	struct cb_dest d;
	pid_t pid, waiter;
	uint32_t s, s2;
	int r;

	(void)state;
	fresh(4);
	cb_policy_default(&p);
	pid = inserter(1, &p, "slot:keyed", CB_CRASH_STOP);
	waiter = child();
	if (waiter == 0) {
		dest_n(&d, 1);
		if (cb_table_insert(table, &d, &p, b, NULL) != -EBUSY)
			_exit(1);
		cb_crash_arm("insert:wait", 0, CB_CRASH_KILL);
		_exit(-cb_table_insert(table, &d, &p, b, NULL));
	}
	r = wait_child(waiter);
	kill(pid, SIGCONT);	/* first: a failure leaves nobody stopped */
	assert_int_equal(wait_child(pid), 0);
	assert_int_equal(r, EBUSY);
	dest_n(&d, 1);
	assert_int_equal(cb_table_find(table, &d, b, &s), 0);
	assert_int_equal(cb_table_insert(table, &d, &p, b, &s2), 0);
	assert_int_equal(s, s2);
	assert_int_equal(cb_table_used(table), 1);
}

/* Slot whose claim word carries pid, through a raw mapping of the
 * segment (offsets from segment.h); its own word in *own (munmap *raw,
 * *size when done).  -1 when no slot has such a claim (or own is NULL:
 * the raw mapping only). */
static long
claim_of(pid_t pid, _Atomic uint64_t **own, void **raw, size_t *size)
{
	struct cb_shm_header *h;
	struct cb_slot_cold *cold;
	struct stat st;
	uint32_t i;
	int fd = shm_open(segment, O_RDWR, 0);

	assert_true(fd >= 0 && fstat(fd, &st) == 0);
	*size = (size_t)st.st_size;
	*raw = mmap(NULL, *size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	assert_true(*raw != MAP_FAILED);
	h = *raw;
	cold = (struct cb_slot_cold *)((char *)*raw + h->cold_off);
	for (i = 0; i < h->slots; i++) {
		if (own && (atomic_load(&cold[i].own) & 1) &&
		    (pid_t)(atomic_load(&cold[i].own) >> 32) == pid) {
			*own = &cold[i].own;
			return i;
		}
	}
	return -1;
}

/* A creator killed halfway whose process id is now ours (a container
 * restarted: its program is pid 1 again; a reused pid) leaves a claim
 * that looks like ours.  None of our threads is making it, so it is a
 * dead one's: the killed creator's key gets its breaker at once (not
 * -EBUSY after waiting for a "live twin", on every connect), and its
 * place is not counted as used. */
static void
claim_of_a_dead_creator_with_our_reused_pid_wedges_nothing(void **state)
{
	static const char *const at[] = { "slot:claimed", "slot:keyed",
		"slot:reserved", "slot:counted" };
	struct cb_policy p;
	struct cb_breaker bh_, *b = &bh_;
	_Atomic uint64_t *own;
	struct cb_dest d;
	size_t i, size;
	void *raw;
	pid_t pid;

	(void)state;
	cb_policy_default(&p);
	for (i = 0; i < sizeof(at) / sizeof(at[0]); i++) {
		fresh(2);
		pid = inserter(1, &p, at[i], CB_CRASH_KILL);
		assert_true(claim_of(pid, &own, &raw, &size) >= 0);
		/* the dead creator's pid is ours now */
		atomic_store(own, (atomic_load(own) & 0xffffffffull) |
			     (uint64_t)(uint32_t)getpid() << 32);
		dest_n(&d, 2);
		if (cb_table_insert(table, &d, &p, b, NULL) != 0)
			fail_msg("killed at %s: the place of a dead creator "
				 "with our pid counted as used", at[i]);
		dest_n(&d, 1);
		if (cb_table_insert(table, &d, &p, b, NULL) != 0)
			fail_msg("killed at %s: its key wedged behind a dead "
				 "claim with our pid", at[i]);
		dest_n(&d, 3);
		assert_int_equal(cb_table_insert(table, &d, &p, b, NULL),
				 -ENOSPC);
		assert_int_equal(cb_table_used(table), 2);
		munmap(raw, size);
		teardown(NULL);
	}
}

/* A writer rewrites the header's geometry (offsets, slots) right after
 * an attacher checked it: the attacher uses the geometry it checked,
 * never reads outside its mapping.  Stopped at attach:validated, then
 * the header is damaged, then the child looks up, inserts, names and
 * reads events through its new mapping. */
static void
header_changed_after_the_check_is_not_used(void **state)
{
	struct cb_table_opts o = { 0, 0, 0600, 0 };
	struct cb_shm_header *h;
	struct cb_transition tr = { CB_CLOSED, CB_OPEN, CB_WHY_TRIP };
	struct cb_event ev[4];
	struct cb_breaker bh_, *b = &bh_;
	struct cb_table *t2;
	struct cb_policy p;
	struct cb_dest d;
	char why[256];
	size_t size;
	uint32_t slot, slots;
	void *raw;
	pid_t pid;
	int r;

	(void)state;
	fresh(4);
	cb_policy_default(&p);
	slots = cb_table_slots(table);
	pid = child();
	if (pid == 0) {
		cb_crash_arm("attach:validated", 0, CB_CRASH_STOP);
		if (cb_table_attach(&t2, segment, &o, why, sizeof(why)) != 0)
			_exit(2);
		dest_n(&d, 1);
		if (cb_table_find(t2, &d, b, NULL) != -ENOENT ||
		    cb_table_slots(t2) != slots ||
		    cb_table_insert(t2, &d, &p, b, &slot) != 0 ||
		    cb_table_set_name(t2, slot, NULL, "a.example", 1) != 0)
			_exit(3);
		cb_table_event(t2, slot, &tr, 1, 1);
		_exit(cb_table_events(t2, 0, ev, 4) == 1 ? 0 : 4);
	}
	wait_stopped(pid);
	assert_true(claim_of(-1, NULL, &raw, &size) == -1);
	h = raw;
	h->ring_off = h->hot_off = h->cold_off = h->names_off = 1ull << 40;
	h->slots = 1u << 30;
	kill(pid, SIGCONT);
	r = wait_child(pid);
	munmap(raw, size);
	assert_int_equal(r, 0);
}

/* A destination (dest n >= from) whose key starts its chain at the same
 * slot as d's: a new breaker for it takes d's place once d is gone. */
static void
same_home(const struct cb_dest *d, int from, struct cb_dest *out)
{
	struct cb_key k, k2;
	int n;

	cb_table_key(table, d, &k);
	for (n = from; n < from + 100000; n++) {
		dest_n(out, n);
		cb_table_key(table, out, &k2);
		if (((k.hash ^ k2.hash) & (cb_table_slots(table) - 1)) == 0)
			return;
	}
	fail_msg("no destination shares a home slot");
}

/* cbctl forget found d's breaker and stalled; meanwhile d was forgotten
 * and another destination's breaker was born in the same place.  When it
 * goes on it must not remove that one: it finds the key changed. */
static void
forget_removes_only_the_destination_it_found(void **state)
{
	struct cb_policy p;
	struct cb_breaker bh_, *b = &bh_;
	struct cb_dest d, d2;
	uint32_t s, s2;
	pid_t pid;
	int r;

	(void)state;
	fresh(4);
	cb_policy_default(&p);
	dest_n(&d, 1);
	assert_int_equal(cb_table_insert(table, &d, &p, b, &s), 0);
	same_home(&d, 2, &d2);
	pid = child();
	if (pid == 0) {
		cb_crash_arm("forget:found", 0, CB_CRASH_STOP);
		_exit(-cb_table_forget(table, &d));
	}
	wait_stopped(pid);
	assert_int_equal(cb_table_forget(table, &d), 0);
	assert_int_equal(cb_table_insert(table, &d2, &p, b, &s2), 0);
	assert_int_equal(s2, s);		/* d's place, reborn for d2 */
	kill(pid, SIGCONT);
	r = wait_child(pid);
	assert_int_equal(cb_table_find(table, &d2, b, NULL), 0);
	assert_int_equal(r, ENOENT);
}

/* Two reclaimers of one place (here two cbctl forget): the second meets
 * the first's claim while it works.  It must leave it alone: taken and
 * given back after the first's give_back, it would stay on the place for
 * as long as the first process lives, and no chain could use the place.
 * The first stops at reclaim:claimed, then again (alive) once done. */
static void
reclaimer_never_takes_a_live_reclaimers_claim(void **state)
{
	struct cb_policy p;
	struct cb_breaker bh_, *b = &bh_;
	struct cb_dest d, d3;
	uint32_t s, s3;
	pid_t first, second;
	int st, r2, ins;

	(void)state;
	fresh(4);
	cb_policy_default(&p);
	dest_n(&d, 1);
	assert_int_equal(cb_table_insert(table, &d, &p, b, &s), 0);
	same_home(&d, 2, &d3);
	first = child();
	if (first == 0) {
		cb_crash_arm("reclaim:claimed", 0, CB_CRASH_STOP);
		r2 = cb_table_forget(table, &d);
		raise(SIGSTOP);		/* done, and alive */
		_exit(-r2);
	}
	wait_stopped(first);
	second = child();
	if (second == 0) {
		cb_crash_arm("reclaim:claimed", 0, CB_CRASH_STOP);
		_exit(-cb_table_forget(table, &d));
	}
	assert_int_equal(waitpid(second, &st, WUNTRACED), second);
	kill(first, SIGCONT);
	wait_stopped(first);		/* its forget is done */
	if (WIFSTOPPED(st)) {		/* it took the first's claim */
		kill(second, SIGCONT);
		r2 = wait_child(second);
	} else {
		r2 = WEXITSTATUS(st);
	}
	ins = cb_table_insert(table, &d3, &p, b, &s3);
	kill(first, SIGCONT);
	assert_int_equal(wait_child(first), 0);
	assert_int_equal(ins, 0);
	assert_int_equal(s3, s);	/* the place is free for chains */
	assert_int_equal(r2, EBUSY);
}

struct canceled {
	struct cb_dest d;
	_Atomic int returned;
};

static void *
insert_then_cancel(void *arg)
{
	struct canceled *c = arg;
	struct cb_breaker bh_, *b = &bh_;
	struct cb_policy p;

	cb_policy_default(&p);
	(void)cb_table_insert(table, &c->d, &p, b, NULL);
	atomic_store(&c->returned, 1);
	pthread_testcancel();
	return NULL;
}

/* A thread cancelled while its insert waits for another creator (a
 * connect is a cancellation point, and programs cancel threads blocked
 * in one) is not cancelled inside the insert, where it could leave a
 * claim or its process's count of running inserts for good: the insert
 * has no cancellation point and returns first. */
static void
insert_is_never_cancelled_halfway(void **state)
{
	struct cb_policy p;
	struct canceled c;
	pthread_t th;
	pid_t pid;

	(void)state;
	fresh(4);
	cb_policy_default(&p);
	pid = inserter(1, &p, "slot:keyed", CB_CRASH_STOP);
	memset(&c, 0, sizeof(c));
	dest_n(&c.d, 1);
	assert_int_equal(pthread_create(&th, NULL, insert_then_cancel, &c),
			 0);
	pthread_cancel(th);
	pthread_join(th, NULL);
	kill(pid, SIGCONT);
	assert_int_equal(wait_child(pid), 0);
	assert_int_equal(atomic_load(&c.returned), 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(
		    policy_is_one_creators_when_the_creator_dies_halfway,
		    teardown),
		cmocka_unit_test_teardown(
		    policy_is_one_creators_when_the_creator_stalls_halfway,
		    teardown),
		cmocka_unit_test_teardown(
		    reservation_of_a_live_creator_is_never_erased, teardown),
		cmocka_unit_test_teardown(
		    creators_killed_midway_leave_their_places_to_others,
		    teardown),
		cmocka_unit_test_teardown(
		    a_killed_creators_key_is_finished_by_the_next_insert_of_it,
		    teardown),
		cmocka_unit_test_teardown(
		    creators_killed_anywhere_leave_one_slot_per_key_and_no_lost_room,
		    teardown),
		cmocka_unit_test_teardown(
		    ring_never_shows_an_entry_written_by_two_writers, teardown),
		cmocka_unit_test(
		    transition_counts_when_its_maker_dies_right_after_it),
		cmocka_unit_test(window_bucket_start_survives_a_kill_anywhere),
		cmocka_unit_test(stalled_caller_never_moves_an_open_period_back),
		cmocka_unit_test_teardown(
		    reclaimer_killed_anywhere_leaves_nothing_wedged, teardown),
		cmocka_unit_test_teardown(
		    reclaimer_stalled_halfway_blocks_nobody, teardown),
		cmocka_unit_test_teardown(
		    claim_of_a_dead_creator_with_our_reused_pid_wedges_nothing,
		    teardown),
		cmocka_unit_test_teardown(
		    claim_waited_on_in_vain_is_not_waited_on_again, teardown),
		cmocka_unit_test_teardown(
		    header_changed_after_the_check_is_not_used, teardown),
		cmocka_unit_test_teardown(
		    forget_removes_only_the_destination_it_found, teardown),
		cmocka_unit_test_teardown(
		    reclaimer_never_takes_a_live_reclaimers_claim, teardown),
		cmocka_unit_test_teardown(insert_is_never_cancelled_halfway,
		    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
