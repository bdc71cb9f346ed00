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

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(encode_decode_round_trip),
		cmocka_unit_test(store_load_and_cookie),
		cmocka_unit_test(out_of_range_fds_are_ignored),
		cmocka_unit_test(pending_entry_settles_exactly_once),
		cmocka_unit_test(forget_clears_every_entry),
	};

	return cmocka_run_group_tests(tests, setup_once, NULL);
}
