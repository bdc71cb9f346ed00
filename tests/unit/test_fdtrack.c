/*
 * test_fdtrack.c - the per-process fd table: encoding round trips, CAS
 * settles an entry exactly once, out-of-range fds are ignored, fork's
 * forget clears everything.
 */
#include <errno.h>
#include <stdatomic.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "../../shim/fdtrack.h"

#define LIMIT 4096

static int
setup_once(void **state)
{
	(void)state;
	if (cb_fdtrack_limit() == 0)
		return cb_fdtrack_init(LIMIT);
	return 0;
}

static void
encode_decode_round_trip(void **state)
{
	struct cb_conn f = { .state = CB_CONN_CONNECTING, .slot = 0x1fffff,
			   .ticket = { .gen = 0x3abcdef012ull,
				       .kind = CB_TICKET_PROBE } }, g;

	(void)state;
	cb_conn_decode(cb_conn_encode(&f), 0, 0, &g);
	assert_int_equal(g.state, CB_CONN_CONNECTING);
	assert_int_equal(g.slot, 0x1fffff);
	assert_int_equal(g.ticket.gen, 0x3abcdef012ull);
	assert_int_equal(g.ticket.kind, CB_TICKET_PROBE);
	assert_int_equal(cb_conn_state_of(cb_conn_encode(&f)), CB_CONN_CONNECTING);
}

static void
store_load_and_cookie(void **state)
{
	struct cb_conn f = { .state = CB_CONN_CONNECTED, .slot = 7 };
	uint64_t w = cb_conn_encode(&f);

	(void)state;
	cb_fd_store(100, w, 0x1234);
	assert_true(cb_fd_load(100) == w);
	assert_true(cb_fd_cookie(100) == 0x1234);
	assert_true(cb_fdtrack_high() >= 101);
}

static void
out_of_range_fds_are_ignored(void **state)
{
	(void)state;
	cb_fd_store(-1, 5, 5);
	cb_fd_store(LIMIT, 5, 5);
	cb_fd_store(1 << 30, 5, 5);
	assert_true(cb_fd_load(-1) == 0);
	assert_true(cb_fd_load(LIMIT) == 0);
	assert_true(cb_fd_load(1 << 30) == 0);
	assert_false(cb_fd_cas(LIMIT, 0, 1));
	assert_true(cb_fd_cookie(-5) == 0);
}

static _Atomic int winners;

static void *
settle_thread(void *arg)
{
	uint64_t w = *(uint64_t *)arg;
	struct cb_conn done = { .state = CB_CONN_CONNECTED };

	if (cb_fd_cas(200, w, cb_conn_encode(&done)))
		atomic_fetch_add(&winners, 1);
	return NULL;
}

static void
pending_entry_settles_exactly_once(void **state)
{
	struct cb_conn f = { .state = CB_CONN_CONNECTING, .slot = 3,
			   .ticket = { .gen = 9, .kind = CB_TICKET_NORMAL } };
	uint64_t w = cb_conn_encode(&f);
	pthread_t t[8];
	int i, round;

	(void)state;
	for (round = 0; round < 50; round++) {
		atomic_store(&winners, 0);
		cb_fd_store(200, w, 1);
		for (i = 0; i < 8; i++)
			pthread_create(&t[i], NULL, settle_thread, &w);
		for (i = 0; i < 8; i++)
			pthread_join(t[i], NULL);
		assert_int_equal(atomic_load(&winners), 1);
	}
}

static void
forget_clears_every_entry(void **state)
{
	int fd;

	(void)state;
	for (fd = 0; fd < 300; fd++)
		cb_fd_store(fd, (uint64_t)fd + 1, 1);
	cb_fdtrack_forget();
	for (fd = 0; fd < 300; fd++)
		assert_true(cb_fd_load(fd) == 0);
}

/* ---- the count of watched entries (cb_fd_io_watched) ----------------
 * An I/O call skips the fd's entry while the count is zero, so it must
 * never be below the number of entries connecting, awaiting their first
 * byte or rejected; at rest it equals it. */

static uint32_t
watched_entries(void)
{
	uint32_t n = 0;
	int fd;

	for (fd = 0; fd < LIMIT; fd++)
		n += (uint32_t)cb_fd_watched_state(cb_fd_load(fd));
	return n;
}

static uint64_t
word(int st)
{
	struct cb_conn c = { .state = (uint8_t)st, .slot = 4,
			     .ticket = { .gen = 7, .kind = CB_TICKET_NORMAL } };

	return cb_conn_encode(&c);
}

static void
watched_count_follows_every_change(void **state)
{
	uint32_t base = atomic_load(&cb_fd_watched);

	(void)state;
	assert_int_equal(base, watched_entries());
	cb_fd_store(300, word(CB_CONN_TCP), 0);
	assert_int_equal(atomic_load(&cb_fd_watched), base);
	cb_fd_store(300, word(CB_CONN_CONNECTING), 0);
	assert_int_equal(atomic_load(&cb_fd_watched), base + 1);
	assert_true(cb_fd_io_watched());
	/* a store over a watched entry (fd reused unseen) replaces it */
	cb_fd_store(300, word(CB_CONN_REJECTED), 0);
	assert_int_equal(atomic_load(&cb_fd_watched), base + 1);
	assert_false(cb_fd_cas(300, word(CB_CONN_CONNECTING),
			       word(CB_CONN_CONNECTED)));	/* lost */
	assert_int_equal(atomic_load(&cb_fd_watched), base + 1);
	assert_true(cb_fd_cas(300, word(CB_CONN_REJECTED),
			      word(CB_CONN_TCP)));
	assert_int_equal(atomic_load(&cb_fd_watched), base);
	assert_false(cb_fd_cas(300, word(CB_CONN_CONNECTING),
			       word(CB_CONN_AWAITING)));	/* lost */
	assert_int_equal(atomic_load(&cb_fd_watched), base);
	assert_true(cb_fd_cas(300, word(CB_CONN_TCP),
			      word(CB_CONN_AWAITING)));
	assert_true(cb_fd_cas(300, word(CB_CONN_AWAITING),
			      word(CB_CONN_AWAITING) | 1ull << 40));
	assert_int_equal(atomic_load(&cb_fd_watched), base + 1);
	cb_fd_clear(300);
	assert_int_equal(atomic_load(&cb_fd_watched), base);
	cb_fd_clear(300);
	assert_int_equal(atomic_load(&cb_fd_watched), base);
	assert_int_equal(atomic_load(&cb_fd_watched), watched_entries());
}

static _Atomic int go_on;

/* threads, each on an fd of its own (400-407), changing the count
 * together: begin (store), settle (CAS), close (clear), each watching
 * that the count never falls below what it holds watched itself */
static void *
churn_thread(void *arg)
{
	int fd = 400 + (int)(intptr_t)arg, i;
	uint64_t w;

	for (i = 0; i < 20000; i++) {
		cb_fd_store(fd, word(i % 3 ? CB_CONN_CONNECTING :
				     CB_CONN_REJECTED), 0);
		w = cb_fd_load(fd);
		if (cb_fd_watched_state(w) && atomic_load(&cb_fd_watched) == 0)
			atomic_store(&go_on, 0);	/* below the truth */
		cb_fd_cas(fd, w, word(i % 2 ? CB_CONN_CONNECTED :
				      CB_CONN_AWAITING));
		if (i % 5 == 0)
			cb_fd_clear(fd);
	}
	return NULL;
}

static void
watched_count_is_exact_under_races(void **state)
{
	pthread_t t[8];
	intptr_t i;

	(void)state;
	atomic_store(&go_on, 1);
	for (i = 0; i < 8; i++)
		pthread_create(&t[i], NULL, churn_thread, (void *)i);
	for (i = 0; i < 8; i++)
		pthread_join(t[i], NULL);
	assert_int_equal(atomic_load(&go_on), 1);
	assert_int_equal(atomic_load(&cb_fd_watched), watched_entries());
	cb_fdtrack_forget();
	assert_int_equal(atomic_load(&cb_fd_watched), 0);
	assert_false(cb_fd_io_watched());
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(encode_decode_round_trip),
		cmocka_unit_test(store_load_and_cookie),
		cmocka_unit_test(out_of_range_fds_are_ignored),
		cmocka_unit_test(pending_entry_settles_exactly_once),
		cmocka_unit_test(forget_clears_every_entry),
		cmocka_unit_test(watched_count_follows_every_change),
		cmocka_unit_test(watched_count_is_exact_under_races),
	};

	return cmocka_run_group_tests(tests, setup_once, NULL);
}
