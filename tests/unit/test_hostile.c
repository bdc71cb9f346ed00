/*
 * test_hostile.c - a segment whose words were written by somebody hostile
 * or broken (shim/table.c, shim/breaker.c).
 *
 * cbshim(7) promises that a process able to write the segment can make the
 * shim reject connects, but cannot make it read or write outside the
 * segment, loop forever or crash.  These tests attach a real segment,
 * overwrite its slots, ring and header counters through a second, raw
 * mapping with seeded random words or with every field at its limit, and
 * then run every core function over it.  They assert what must still hold
 * (indices in range, names for every state, bounded answers); ASan, UBSan
 * and the mapping's own bounds (a stray access faults) in `make check`
 * catch the rest.  Deterministic (seeded), single-threaded, no sleeps.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "testutil.h"

#include "../../shim/breaker.h"
#include "../../shim/segment.h"
#include "../../shim/table.h"
#include "../../shim/words.h"

/* where the header keeps what is damaged here (segment.h) */
#define H_(f) offsetof(struct cb_shm_header, f)

#define NDESTS 40
#define ROUNDS 48

static char segment[64];
static struct cb_table *table;
static uint8_t *raw;
static size_t raw_size;

static void
dest_n(struct cb_dest *d, int n)
{
	memset(d, 0, sizeof(*d));
	d->family = n % 3 ? AF_INET : AF_INET6;
	d->port = (uint16_t)(1 + n * 7);
	d->addr[0] = 10;
	d->addr[3] = (uint8_t)n;
	d->addr[15] = (uint8_t)(n * 3);
}

static uint64_t
rd64(size_t off)
{
	uint64_t v;

	memcpy(&v, raw + off, 8);
	return v;
}

static void
wr64(size_t off, uint64_t v)
{
	memcpy(raw + off, &v, 8);
}

/* A fresh segment of capacity cap with a few breakers, and a raw
 * read-write mapping of it. */
static void
fresh(uint32_t cap)
{
	struct cb_table_opts o = { 1, 0, 0600, cap };
	struct cb_policy p;
	struct cb_breaker bh_, *b = &bh_;
	struct cb_transition tr;
	struct cb_dest d;
	struct stat st;
	char why[256];
	uint32_t slot;
	int fd, i;

	snprintf(segment, sizeof(segment), "/cbtest-unit-%ld-hostile",
		 (long)getpid());
	cb_table_destroy(segment);
	assert_int_equal(cb_table_attach(&table, segment, &o, why,
					  sizeof(why)), 0);
	cb_policy_default(&p);
	for (i = 0; i < 4; i++) {
		dest_n(&d, i);
		assert_int_equal(cb_table_insert(table, &d, &p, b, &slot), 0);
		if (i & 1) {
			cb_breaker_trip(b, 1000, i & 2, 0, &tr);
			cb_table_event(table, slot, &tr, 1000, 1);
		}
	}
	fd = shm_open(segment, O_RDWR, 0);
	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	raw_size = (size_t)st.st_size;
	raw = mmap(NULL, raw_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	assert_true(raw != MAP_FAILED);
}

static int
teardown(void **state)
{
	(void)state;
	if (raw)
		munmap(raw, raw_size);
	raw = NULL;
	if (table)
		cb_table_detach(table);
	table = NULL;
	cb_table_destroy(segment);
	return 0;
}

/* Every core function over the table; asserts what must hold. */
static void
exercise(uint64_t now)
{
	static struct cb_event ev[CB_EVENTS];
	struct cb_policy p;
	struct cb_breaker bh_, *b = &bh_;
	struct cb_ticket tk;
	struct cb_transition tr;
	struct cb_snapshot s;
	struct cb_dest d;
	char name[64];
	uint32_t i, slot, n = cb_table_slots(table);
	size_t k, got;
	int j;

	cb_policy_default(&p);
	for (j = 0; j < NDESTS; j++) {
		dest_n(&d, j);
		if (cb_table_find(table, &d, b, &slot) == 0)
			assert_true(slot < n);
		if (cb_table_insert(table, &d, &p, b, &slot) < 0) {
			cb_table_count_unprotected(table);
			continue;
		}
		assert_true(slot < n);
		if (cb_breaker_admit(b, now, &tk, &tr) == 0) {
			cb_table_event(table, slot, &tr, now, 7);
			if (j % 3 == 0)
				cb_breaker_release(b, &tk);
			else
				cb_breaker_record(b, &tk, j % 3 == 1,
						  ECONNREFUSED, now + 1, &tr);
			cb_table_event(table, slot, &tr, now + 1, 7);
		} else {
			assert_true(cb_breaker_reject_errno(b) >= 0);
		}
	}
	for (i = 0; i <= n + 2; i++) {
		if (cb_table_slot(table, i, b, &d) < 0)
			continue;
		assert_true(i < n);
		cb_dest_format(&d, name, sizeof(name));
		assert_true(strlen(name) < sizeof(name));
		cb_breaker_snapshot(b, now, &s);
		assert_true(s.state <= 3);
		assert_non_null(cb_state_name(s.state));
		cb_breaker_get_policy(b, &p);
		(void)cb_breaker_can_execute(b, now);
		(void)cb_breaker_is_failure(b, (int)i);
		if (i % 5 == 0)
			cb_breaker_trip(b, now, (int)(i & 1), i * 1000, &tr);
		else if (i % 5 == 1)
			cb_breaker_reset(b, now, &tr);
		else
			continue;
		cb_table_event(table, i, &tr, now, 7);
	}
	got = cb_table_events(table, 0, ev, CB_EVENTS);
	assert_true(got <= CB_EVENTS);
	for (k = 0; k < got; k++) {
		assert_non_null(cb_why_name(ev[k].why));
		assert_non_null(cb_state_name(ev[k].from));
		assert_non_null(cb_state_name(ev[k].to));
		cb_dest_format(&ev[k].dest, name, sizeof(name));
	}
	(void)cb_table_used(table);
	(void)cb_table_unprotected(table);
}

static void
random_slots_and_ring_stay_inside_the_segment(void **state)
{
	uint64_t s, ro, so, off;
	int round;

	(void)state;
	for (round = 0; round < ROUNDS; round++) {
		fresh(16);
		s = 0x9e3779b97f4a7c15ull * (uint64_t)(round + 1);
		ro = rd64(H_(ring_off));
		so = rd64(H_(hot_off));
		/* half the rounds damage every word, half one in four
		 * (so that some slots still look complete and ready) */
		for (off = ro; off + 8 <= raw_size; off += 8)
			if (round % 2 == 0 || rnd(&s) % 4 == 0)
				wr64(off, rnd(&s));
		(void)so;
		exercise(rnd(&s) >> (round % 64));
		exercise(UINT64_MAX >> 16);
		exercise(0);
		teardown(NULL);
	}
}

static void
header_counters_at_their_limits_are_harmless(void **state)
{
	struct cb_breaker bh_, *b = &bh_;
	struct cb_policy p;
	struct cb_dest d;
	uint32_t slot;

	(void)state;
	fresh(4);
	wr64(H_(used), UINT64_MAX);
	wr64(H_(unprotected), UINT64_MAX);
	wr64(H_(ev_head), UINT64_MAX - 2);
	cb_policy_default(&p);
	dest_n(&d, 77);
	/* "used" says full: a new destination is refused, old ones found */
	assert_int_equal(cb_table_insert(table, &d, &p, b, &slot), -ENOSPC);
	dest_n(&d, 1);
	assert_int_equal(cb_table_insert(table, &d, &p, b, &slot), 0);
	exercise(5000);
	exercise(UINT64_MAX >> 17);
	wr64(H_(ev_head), 3);		/* behind the ring's entries */
	exercise(6000);
	teardown(NULL);
}

/* A breaker's words, set by hand to every extreme. */
static void
breaker_words_at_every_extreme_decide_without_undefined_behaviour(
	void **state)
{
	/* every field of each state at its limit (words.h) */
	static const uint64_t ctl[] = {
		0, ~0ull, CB_OPEN, CB_HALF_OPEN, CTL_GONE,
		CTL_GONE | ~0ull << 27,
		CB_OPEN | CB_MASK(CTL_O_CUSTOM),
		CB_OPEN | CB_MASK(CTL_O_CUSTOM) | CB_MASK(CTL_O_MS),
		CB_HALF_OPEN | CB_MASK(CTL_H_SUCC) | CB_MASK(CTL_H_INFL),
		CB_HALF_OPEN | CB_MASK(CTL_H_K),
		CB_CLOSED | CB_MASK(CTL_C_CONSEC), CB_MASK(CTL_HOLD) | CB_OPEN,
	};
	static const uint64_t pol[] = { 0, ~0ull, CB_MASK(POL_READY),
		CB_MASK(POL_FAILURES) | CB_MASK(POL_SUCCESSES) |
		CB_MASK(POL_HALF_OPEN) | CB_MASK(POL_MODE) |
		CB_MASK(POL_REJECT_ERRNO) | CB_MASK(POL_READY) };
	static const uint64_t timeouts[] = { 0, ~0ull, 1, 0xffffffffull,
		1ull << 32 };
	static const uint64_t backoff[] = { 0, ~0ull, 1000, 100000 };
	static const uint64_t since[] = { 0, ~0ull, 1ull << 16,
		0xffffull };
	static const uint64_t nows[] = { 0, 1, 1ull << 47, UINT64_MAX >> 16,
		UINT64_MAX - 1 };
	struct cb_breaker_mem m;
	struct cb_breaker bh = cb_breaker_in(&m), *b = &bh;
	struct cb_policy p;
	struct cb_ticket tk;
	struct cb_transition tr;
	struct cb_snapshot s;
	size_t a, c, t, k, n, w;
	unsigned kk;

	(void)state;
	for (a = 0; a < sizeof(ctl) / 8; a++)
	for (c = 0; c < sizeof(pol) / 8; c++)
	for (t = 0; t < sizeof(timeouts) / 8; t++)
	for (k = 0; k < sizeof(backoff) / 8; k++)
	for (w = 0; w < sizeof(since) / 8; w++)
	for (n = 0; n < sizeof(nows) / 8; n++) {
		memset(&m, 0, sizeof(m));
		atomic_store(&b->hot->ctl, ctl[a]);
		atomic_store(&b->hot->pol_a, pol[c]);
		atomic_store(&b->hot->pol_b, timeouts[t]);
		atomic_store(&b->cold->pol_c, backoff[k]);
		atomic_store(&b->hot->since, since[w]);
		cb_breaker_snapshot(b, nows[n], &s);
		assert_true(s.state <= 3);
		assert_non_null(cb_state_name(s.state));
		cb_breaker_get_policy(b, &p);
		for (kk = 0; kk < 256; kk += 51)
			(void)cb_breaker_open_ms(&p, kk, (uint32_t)a,
						 (uint32_t)n);
		if (cb_breaker_admit(b, nows[n], &tk, &tr) == 0) {
			cb_breaker_record(b, &tk, (int)(n & 1), ETIMEDOUT,
					  nows[n], &tr);
			cb_breaker_release(b, &tk);
		}
		(void)cb_breaker_can_execute(b, nows[n]);
		cb_breaker_trip(b, nows[n], (int)(w & 1), (uint32_t)~0u,
				&tr);
		cb_breaker_snapshot(b, nows[n], &s);
		/* state 3 is a retired breaker (reclaim): trip and reset
		 * leave it alone, and it shows as closed */
		assert_int_equal(s.state == CB_CLOSED,
				 CB_GET(ctl[a], CTL_STATE) == CTL_GONE);
		cb_breaker_reset(b, nows[n], &tr);
		cb_breaker_snapshot(b, nows[n], &s);
		assert_int_equal(s.state, CB_CLOSED);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(
		    random_slots_and_ring_stay_inside_the_segment, teardown),
		cmocka_unit_test_teardown(
		    header_counters_at_their_limits_are_harmless, teardown),
		cmocka_unit_test(
		    breaker_words_at_every_extreme_decide_without_undefined_behaviour),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
