/*
 * test_conn.c - the connection lifecycle (shim/conn.c) alone: every
 * state's answer to every event, the facts it asks for, the outcome it
 * gives, with no socket, no segment and no clock.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "../../shim/conn.h"

/* An entry in state s for slot 7, generation 9, a probe. */
static struct cb_conn
entry(int s)
{
	struct cb_conn c = { .state = (uint8_t)s, .slot = 7,
			     .ticket = { .gen = 9, .kind = CB_TICKET_PROBE } };

	return c;
}

/* An event of kind k with every fact unknown. */
static struct cb_conn_ev
ev_of(int k, int64_t r, int err)
{
	struct cb_conn_ev ev = { .kind = (uint8_t)k, .r = r, .err = err,
				 .peer = -1, .same = -1, .soerr = -1 };

	return ev;
}

/* Step c by ev, answering the facts asked with peer/same/soerr; the
 * number of questions asked goes to *asked. */
static int
step(const struct cb_conn *c, struct cb_conn_ev ev, int peer, int same,
     int soerr, struct cb_conn *n, struct cb_conn_out *o, int *asked)
{
	int r, k = 0;

	while ((r = cb_conn_step(c, &ev, n, o)) < 0) {
		k++;
		if (r == CB_NEED_PEER)
			ev.peer = peer;
		else if (r == CB_NEED_SAME)
			ev.same = same;
		else
			ev.soerr = soerr;
		assert_true(k < 5);
	}
	if (asked)
		*asked = k;
	return r;
}

static void
begin_records_the_attempt_before_the_call(void **state)
{
	struct cb_conn c = { .state = CB_CONN_TCP, .nonblock = 1 }, n;
	struct cb_conn_ev ev = ev_of(CB_EV_BEGIN, 0, 0);
	struct cb_conn_out o;

	(void)state;
	ev.slot = 42;
	ev.ticket.gen = 5;
	ev.ticket.kind = CB_TICKET_NORMAL;
	ev.uto = 1;
	assert_int_equal(cb_conn_step(&c, &ev, &n, &o), 1);
	assert_int_equal(n.state, CB_CONN_CONNECTING);
	assert_int_equal(n.slot, 42);
	assert_int_equal(n.ticket.gen, 5);
	assert_int_equal(n.uto, 1);
	assert_int_equal(n.nonblock, 1);
	assert_int_equal(o.verdict, CB_OUT_NONE);
}

static void
connect_returned_zero_is_a_success_and_restores_the_timeout(void **state)
{
	struct cb_conn c = entry(CB_CONN_CONNECTING), n;
	struct cb_conn_out o;

	(void)state;
	c.uto = 1;
	assert_int_equal(step(&c, ev_of(CB_EV_RETURNED, 0, 0), 0, 1, 0, &n,
			      &o, NULL), 1);
	assert_int_equal(n.state, CB_CONN_CONNECTED);
	assert_int_equal(o.verdict, CB_OUT_SUCCESS);
	assert_int_equal(o.restore, 1);
	assert_int_equal(n.slot, 7);
	assert_int_equal(n.ticket.gen, 9);
}

static void
in_progress_errnos_leave_it_pending(void **state)
{
	static const int errs[] = { EINPROGRESS, EALREADY, EINTR };
	struct cb_conn c = entry(CB_CONN_CONNECTING), n;
	struct cb_conn_out o;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(errs) / sizeof(errs[0]); i++) {
		assert_int_equal(step(&c, ev_of(CB_EV_RETURNED, -1, errs[i]),
				      0, 1, 0, &n, &o, NULL), 0);
		assert_int_equal(o.verdict, CB_OUT_NONE);
	}
}

static void
eisconn_on_a_pending_attempt_is_a_success(void **state)
{
	struct cb_conn c = entry(CB_CONN_CONNECTING), n;
	struct cb_conn_out o;

	(void)state;
	assert_int_equal(step(&c, ev_of(CB_EV_RETURNED, -1, EISCONN), 0, 1, 0,
			      &n, &o, NULL), 1);
	assert_int_equal(o.verdict, CB_OUT_SUCCESS);
}

static void
a_failed_connect_ends_with_its_errno(void **state)
{
	struct cb_conn c = entry(CB_CONN_CONNECTING), n;
	struct cb_conn_out o;

	(void)state;
	c.uto = 1;
	assert_int_equal(step(&c, ev_of(CB_EV_RETURNED, -1, ETIMEDOUT), 0, 1,
			      0, &n, &o, NULL), 1);
	assert_int_equal(n.state, CB_CONN_TCP);
	assert_int_equal(n.slot, 0);
	assert_int_equal(o.verdict, CB_OUT_ENDED);
	assert_int_equal(o.err, ETIMEDOUT);
	assert_int_equal(o.restore, 1);
}

static void
so_error_nonzero_fails_zero_asks_whether_connected(void **state)
{
	struct cb_conn c = entry(CB_CONN_CONNECTING), n;
	struct cb_conn_out o;
	int asked;

	(void)state;
	assert_int_equal(step(&c, ev_of(CB_EV_SOERROR, ECONNREFUSED, 0), 0, 1,
			      0, &n, &o, &asked), 1);
	assert_int_equal(o.verdict, CB_OUT_ENDED);
	assert_int_equal(o.err, ECONNREFUSED);
	assert_int_equal(asked, 0);
	/* 0 while still connecting: nothing */
	assert_int_equal(step(&c, ev_of(CB_EV_SOERROR, 0, 0), 0, 1, 0, &n, &o,
			      &asked), 0);
	assert_int_equal(asked, 1);
	/* 0 and connected: success */
	assert_int_equal(step(&c, ev_of(CB_EV_SOERROR, 0, 0), 1, 1, 0, &n, &o,
			      NULL), 1);
	assert_int_equal(o.verdict, CB_OUT_SUCCESS);
	assert_int_equal(n.state, CB_CONN_CONNECTED);
}

static void
data_proves_connected_zero_bytes_prove_nothing(void **state)
{
	struct cb_conn c = entry(CB_CONN_CONNECTING), n;
	struct cb_conn_out o;
	int asked;

	(void)state;
	assert_int_equal(step(&c, ev_of(CB_EV_IO, 5, 0), 0, 1, 0, &n, &o,
			      &asked), 1);
	assert_int_equal(o.verdict, CB_OUT_SUCCESS);
	assert_int_equal(asked, 0);
	assert_int_equal(step(&c, ev_of(CB_EV_IO, 0, 0), 0, 1, 0, &n, &o,
			      &asked), 0);
	assert_int_equal(asked, 1);
	assert_int_equal(step(&c, ev_of(CB_EV_IO, 0, 0), 1, 1, 0, &n, &o,
			      NULL), 1);
	assert_int_equal(o.verdict, CB_OUT_SUCCESS);
}

static void
io_errors_end_the_attempt_unless_try_again_or_stale(void **state)
{
	struct cb_conn c = entry(CB_CONN_CONNECTING), n;
	struct cb_conn_out o;

	(void)state;
	assert_int_equal(step(&c, ev_of(CB_EV_IO, -1, EAGAIN), 0, 1, 0, &n, &o,
			      NULL), 0);
	assert_int_equal(step(&c, ev_of(CB_EV_IO, -1, ENOTCONN), 0, 1, 0, &n,
			      &o, NULL), 0);
	assert_int_equal(step(&c, ev_of(CB_EV_IO, -1, ECONNREFUSED), 0, 1, 0,
			      &n, &o, NULL), 1);
	assert_int_equal(o.verdict, CB_OUT_ENDED);
	assert_int_equal(o.err, ECONNREFUSED);
	/* another socket on the same number now: forgotten, unblamed */
	assert_int_equal(step(&c, ev_of(CB_EV_IO, -1, ECONNREFUSED), 0, 0, 0,
			      &n, &o, NULL), 1);
	assert_int_equal(o.verdict, CB_OUT_NONE);
	assert_int_equal(n.state, CB_CONN_NONE);
}

static void
close_while_connecting_is_an_abandoned_attempt(void **state)
{
	struct cb_conn c = entry(CB_CONN_CONNECTING), n;
	struct cb_conn_out o;
	int asked;

	(void)state;
	/* still in progress (SO_ERROR 0, not connected): the program gave
	 * up on it - a timeout of its own, a siglongjmp, a cancellation */
	assert_int_equal(step(&c, ev_of(CB_EV_END, 0, 0), 0, 1, 0, &n, &o,
			      &asked), 1);
	assert_int_equal(asked, 3);
	assert_int_equal(o.verdict, CB_OUT_FAILURE);
	assert_int_equal(o.err, ETIMEDOUT);
	assert_int_equal(n.state, CB_CONN_NONE);
	assert_int_equal(o.restore, 0);
	/* connected meanwhile: a success */
	assert_int_equal(step(&c, ev_of(CB_EV_END, 0, 0), 1, 1, 0, &n, &o,
			      NULL), 1);
	assert_int_equal(o.verdict, CB_OUT_SUCCESS);
	/* failed meanwhile: its errno */
	assert_int_equal(step(&c, ev_of(CB_EV_END, 0, 0), 0, 1, EHOSTUNREACH,
			      &n, &o, NULL), 1);
	assert_int_equal(o.verdict, CB_OUT_ENDED);
	assert_int_equal(o.err, EHOSTUNREACH);
	/* not our socket any more: nothing */
	assert_int_equal(step(&c, ev_of(CB_EV_END, 0, 0), 0, 0, 0, &n, &o,
			      NULL), 1);
	assert_int_equal(o.verdict, CB_OUT_NONE);
	/* SO_ERROR unreadable: forgotten */
	assert_int_equal(step(&c, ev_of(CB_EV_END, 0, 0), 0, 1, -2, &n, &o,
			      NULL), 1);
	assert_int_equal(o.verdict, CB_OUT_NONE);
}

static void
dissolve_releases_a_pending_attempt(void **state)
{
	struct cb_conn c = entry(CB_CONN_CONNECTING), n;
	struct cb_conn_out o;

	(void)state;
	assert_int_equal(step(&c, ev_of(CB_EV_DISSOLVE, 0, 0), 0, 1, 0, &n, &o,
			      NULL), 1);
	assert_int_equal(o.verdict, CB_OUT_RELEASE);
	assert_int_equal(n.state, CB_CONN_TCP);
	c = entry(CB_CONN_CONNECTED);
	assert_int_equal(step(&c, ev_of(CB_EV_DISSOLVE, 0, 0), 0, 1, 0, &n, &o,
			      NULL), 1);
	assert_int_equal(o.verdict, CB_OUT_NONE);
	assert_int_equal(n.state, CB_CONN_TCP);
}

static void
one_send_failure_per_connection(void **state)
{
	struct cb_conn c = entry(CB_CONN_CONNECTED), n;
	struct cb_conn_out o;
	struct cb_conn_ev ev = ev_of(CB_EV_IO, -1, EPIPE);

	(void)state;
	ev.sending = 1;
	assert_int_equal(step(&c, ev, 0, 1, 0, &n, &o, NULL), 1);
	assert_int_equal(o.verdict, CB_OUT_FAILURE);
	assert_int_equal(o.err, EPIPE);
	assert_int_equal(n.state, CB_CONN_SETTLED);
	assert_int_equal(step(&n, ev, 0, 1, 0, &c, &o, NULL), 0);
	/* a receive error, or EAGAIN, proves nothing about the destination */
	c = entry(CB_CONN_CONNECTED);
	ev.sending = 0;
	assert_int_equal(step(&c, ev, 0, 1, 0, &n, &o, NULL), 0);
	ev.sending = 1;
	ev.err = EAGAIN;
	assert_int_equal(step(&c, ev, 0, 1, 0, &n, &o, NULL), 0);
}

static void
blocking_rejection_changes_nothing(void **state)
{
	struct cb_conn c = { .state = CB_CONN_TCP }, n;
	struct cb_conn_ev ev = ev_of(CB_EV_REJECT, 0, 0);
	struct cb_conn_out o;

	(void)state;
	ev.slot = ECONNREFUSED;
	assert_int_equal(cb_conn_step(&c, &ev, &n, &o), 0);
}

static void
nonblocking_rejection_reports_once(void **state)
{
	struct cb_conn c = { .state = CB_CONN_TCP, .nonblock = 1 }, n, m;
	struct cb_conn_ev ev = ev_of(CB_EV_REJECT, 0, 0);
	struct cb_conn_out o;
	static const int kinds[] = { CB_EV_SOERROR, CB_EV_IO, CB_EV_RETURNED };
	size_t i;

	(void)state;
	ev.slot = EHOSTUNREACH;
	assert_int_equal(cb_conn_step(&c, &ev, &n, &o), 1);
	assert_int_equal(n.state, CB_CONN_REJECTED);
	for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		assert_int_equal(step(&n, ev_of(kinds[i], 0, 0), 0, 1, 0, &m,
				      &o, NULL), 1);
		assert_int_equal(o.report, EHOSTUNREACH);
		assert_int_equal(o.verdict, CB_OUT_NONE);
		assert_int_equal(m.state, CB_CONN_TCP);
		assert_int_equal(m.nonblock, 1);
		/* once: the idle socket reports nothing more */
		assert_int_equal(step(&m, ev_of(kinds[i], 0, 0), 0, 1, 0, &c,
				      &o, NULL), 0);
		assert_int_equal(o.report, 0);
	}
}

/* A rejected socket's fd closed unseen (fdopen, fclose) and reused: the
 * new file's calls get nothing of the old refusal. */
static void
rejection_is_not_reported_to_another_file(void **state)
{
	struct cb_conn c = { .state = CB_CONN_TCP, .nonblock = 1 }, n, m;
	struct cb_conn_ev ev = ev_of(CB_EV_REJECT, 0, 0);
	struct cb_conn_out o;
	static const int kinds[] = { CB_EV_SOERROR, CB_EV_IO, CB_EV_RETURNED };
	size_t i;
	int asked;

	(void)state;
	ev.slot = ECONNREFUSED;
	assert_int_equal(cb_conn_step(&c, &ev, &n, &o), 1);
	for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		assert_int_equal(step(&n, ev_of(kinds[i], 0, 0), 0, 0, 0, &m,
				      &o, &asked), 1);
		assert_int_equal(asked, 1);	/* is it still the socket? */
		assert_int_equal(o.report, 0);
		assert_int_equal(o.verdict, CB_OUT_NONE);
		assert_int_equal(m.state, CB_CONN_NONE);
	}
}

static void
flags_follow_o_nonblock(void **state)
{
	struct cb_conn c = { .state = CB_CONN_TCP }, n;
	struct cb_conn_ev ev = ev_of(CB_EV_FLAGS, 1, 0);
	struct cb_conn_out o;

	(void)state;
	assert_int_equal(cb_conn_step(&c, &ev, &n, &o), 1);
	assert_int_equal(n.nonblock, 1);
	assert_int_equal(cb_conn_step(&n, &ev, &c, &o), 0);
	c = (struct cb_conn){ .state = CB_CONN_OTHER };
	assert_int_equal(cb_conn_step(&c, &ev, &n, &o), 0);
}

static void
close_forgets_every_other_state(void **state)
{
	static const int states[] = { CB_CONN_TCP, CB_CONN_CONNECTED,
				      CB_CONN_SETTLED, CB_CONN_REJECTED };
	struct cb_conn c, n;
	struct cb_conn_out o;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(states) / sizeof(states[0]); i++) {
		c = entry(states[i]);
		assert_int_equal(step(&c, ev_of(CB_EV_END, 0, 0), 0, 1, 0, &n,
				      &o, NULL), 1);
		assert_int_equal(n.state, CB_CONN_NONE);
		assert_int_equal(o.verdict, CB_OUT_NONE);
	}
}

static void
encode_decode_round_trip(void **state)
{
	struct cb_conn c = { .state = CB_CONN_REJECTED, .nonblock = 1,
			     .uto = 1, .slot = 0x1fffff,
			     .ticket = { .gen = 0x3abcdef012ull,
					 .kind = CB_TICKET_SHADOW } }, d;
	uint64_t w = cb_conn_encode(&c), aux = cb_conn_flags(&c) | 12345;

	(void)state;
	cb_conn_decode(w, aux, 0, &d);
	assert_int_equal(d.state, c.state);
	assert_int_equal(d.nonblock, 1);
	assert_int_equal(d.uto, 1);
	assert_int_equal(d.slot, c.slot);
	assert_true(d.ticket.gen == c.ticket.gen);
	assert_int_equal(d.ticket.kind, c.ticket.kind);
	assert_int_equal(cb_conn_state_of(w), CB_CONN_REJECTED);
	assert_true((aux & CB_AUX_OWN_MASK) == 12345);
	/* flags off: none in the auxiliary word */
	c.nonblock = c.uto = 0;
	assert_true(cb_conn_flags(&c) == 0);
}

/* ---- response outcomes (response_timeout, slow_call_duration) --------
 * The clock is a parameter: each step answers CB_NEED_NOW with the fake
 * time below, the breaker's response_timeout RTO and slow_call SLOW. */

#define RTO 500
#define SLOW 200

/* Step c by ev at fake time now (ms), the fd still ours. */
static int
at(const struct cb_conn *c, struct cb_conn_ev ev, uint64_t now,
   uint32_t slow, struct cb_conn *n, struct cb_conn_out *o)
{
	int r, k = 0;

	while ((r = cb_conn_step(c, &ev, n, o)) < 0) {
		assert_true(++k < 6);
		if (r == CB_NEED_NOW) {
			ev.now = now;
			ev.rto = RTO;
			ev.slow = slow;
		} else if (r == CB_NEED_PEER) {
			ev.peer = 1;
		} else if (r == CB_NEED_SAME) {
			ev.same = 1;
		} else {
			ev.soerr = 0;
		}
	}
	return r;
}

/* A send that returned r. */
static struct cb_conn_ev
tx(int64_t r)
{
	struct cb_conn_ev ev = ev_of(CB_EV_IO, r, 0);

	ev.sending = 1;
	return ev;
}

/* An entry awaiting its first byte since t0 (timer started there). */
static struct cb_conn
awaiting(uint64_t t0, int sent)
{
	struct cb_conn c = entry(CB_CONN_AWAITING);

	c.timed = 1;
	c.t0 = t0;
	c.sent = (uint8_t)sent;
	return c;
}

static void
established_with_response_timeout_awaits_the_first_byte(void **state)
{
	struct cb_conn c = entry(CB_CONN_CONNECTING), n;
	struct cb_conn_out o;

	(void)state;
	c.timed = 1;
	c.t0 = 1000;
	assert_int_equal(at(&c, ev_of(CB_EV_RETURNED, 0, 0), 1010, 0, &n, &o),
			 1);
	assert_int_equal(n.state, CB_CONN_AWAITING);
	assert_int_equal(o.verdict, CB_OUT_NONE);	/* not yet judged */
	assert_int_equal(n.ticket.kind, CB_TICKET_PROBE);  /* place held */
	assert_true(n.t0 == 1010);
	/* without the timing flag: a success at once, no clock asked */
	c.timed = 0;
	assert_int_equal(cb_conn_step(&c, &(struct cb_conn_ev){
		.kind = CB_EV_RETURNED, .peer = -1, .same = -1, .soerr = -1 },
		&n, &o), 1);
	assert_int_equal(o.verdict, CB_OUT_SUCCESS);
}

static void
first_send_starts_the_timer_first_byte_succeeds(void **state)
{
	struct cb_conn c = awaiting(1000, 0), n, m;
	struct cb_conn_out o;

	(void)state;
	assert_int_equal(at(&c, tx(5), 4000, 0, &n, &o), 1);
	assert_int_equal(n.sent, 1);
	assert_true(n.t0 == 4000);
	/* a second send changes nothing */
	assert_int_equal(at(&n, tx(5), 4100, 0, &m, &o), 0);
	/* the first byte, 400 ms after the first send */
	assert_int_equal(at(&n, ev_of(CB_EV_IO, 7, 0), 4400, SLOW, &m, &o), 1);
	assert_int_equal(m.state, CB_CONN_SETTLED);
	assert_int_equal(o.verdict, CB_OUT_FAILURE);	/* 400 > SLOW */
	assert_int_equal(o.cause, CB_CAUSE_SLOW);
	assert_int_equal(at(&n, ev_of(CB_EV_IO, 7, 0), 4150, SLOW, &m, &o), 1);
	assert_int_equal(o.verdict, CB_OUT_SUCCESS);
	assert_int_equal(m.state, CB_CONN_SETTLED);
}

static void
no_byte_by_the_deadline_is_no_response_once(void **state)
{
	struct cb_conn c = awaiting(1000, 1), n, m;
	struct cb_conn_out o;
	struct cb_conn_ev again = ev_of(CB_EV_IO, -1, EAGAIN);

	(void)state;
	/* a non-blocking receive before the deadline: nothing */
	assert_int_equal(at(&c, again, 1000 + RTO - 1, 0, &n, &o), 0);
	/* at the deadline: a failure, the ticket dropped, still awaiting */
	assert_int_equal(at(&c, again, 1000 + RTO, 0, &n, &o), 1);
	assert_int_equal(o.verdict, CB_OUT_FAILURE);
	assert_int_equal(o.cause, CB_CAUSE_NO_RESPONSE);
	assert_int_equal(o.err, ETIMEDOUT);
	assert_int_equal(n.state, CB_CONN_AWAITING);
	assert_int_equal(n.ticket.kind, CB_TICKET_NONE);
	/* judged: later silence, EOF or data count nothing more */
	assert_int_equal(at(&n, again, 9000, 0, &m, &o), 0);
	assert_int_equal(at(&n, ev_of(CB_EV_IO, 3, 0), 9000, SLOW, &m, &o), 1);
	assert_int_equal(o.verdict, CB_OUT_NONE);
	assert_int_equal(m.state, CB_CONN_SETTLED);
	assert_int_equal(at(&n, ev_of(CB_EV_END, 0, 0), 9000, 0, &m, &o), 1);
	assert_int_equal(o.verdict, CB_OUT_NONE);
}

static void
blocking_wait_expired_fails_once_and_rearms(void **state)
{
	struct cb_conn c = awaiting(1000, 1), n, m;
	struct cb_conn_out o;

	(void)state;
	assert_int_equal(at(&c, ev_of(CB_EV_EXPIRED, 0, 0), 1500, 0, &n, &o),
			 1);
	assert_int_equal(o.verdict, CB_OUT_FAILURE);
	assert_int_equal(o.cause, CB_CAUSE_NO_RESPONSE);
	assert_true(n.t0 == 1500);		/* the next wait: afresh */
	assert_int_equal(at(&n, ev_of(CB_EV_EXPIRED, 0, 0), 2000, 0, &m, &o),
			 1);
	assert_int_equal(o.verdict, CB_OUT_NONE);
	assert_true(m.t0 == 2000);
}

static void
eof_or_reset_before_the_first_byte_fails(void **state)
{
	struct cb_conn c = awaiting(1000, 1), n;
	struct cb_conn_out o;

	(void)state;
	assert_int_equal(at(&c, ev_of(CB_EV_IO, 0, 0), 1100, 0, &n, &o), 1);
	assert_int_equal(o.verdict, CB_OUT_FAILURE);
	assert_int_equal(o.cause, CB_CAUSE_EOF);
	assert_int_equal(n.state, CB_CONN_SETTLED);
	assert_int_equal(at(&c, ev_of(CB_EV_IO, -1, ECONNRESET), 1100, 0, &n,
			    &o), 1);
	assert_int_equal(o.verdict, CB_OUT_ENDED);
	assert_int_equal(o.err, ECONNRESET);
}

/* A receive of 0 bytes returns 0 with or without data: no EOF.  A send
 * of 0 bytes asks nothing of the peer: no timer. */
static void
zero_byte_calls_judge_nothing(void **state)
{
	struct cb_conn c = awaiting(1000, 1), n;
	struct cb_conn_ev ev = ev_of(CB_EV_IO, 0, 0);
	struct cb_conn_out o;

	(void)state;
	ev.empty = 1;
	assert_int_equal(at(&c, ev, 1100, 0, &n, &o), 0);
	assert_int_equal(o.verdict, CB_OUT_NONE);
	/* past the deadline too: a 0-byte read waited for nothing */
	assert_int_equal(at(&c, ev, 1000 + RTO + 5, 0, &n, &o), 0);
	/* the same 0 from a receive that asked for bytes: EOF */
	ev.empty = 0;
	assert_int_equal(at(&c, ev, 1100, 0, &n, &o), 1);
	assert_int_equal(o.cause, CB_CAUSE_EOF);
	/* a 0-byte send before the first real one starts no timer */
	c = awaiting(1000, 0);
	assert_int_equal(at(&c, tx(0), 4000, 0, &n, &o), 0);
	assert_int_equal(at(&c, tx(1), 4000, 0, &n, &o), 1);
	assert_int_equal(n.sent, 1);
	assert_true(n.t0 == 4000);
}

static void
close_before_deadline_or_unused_is_neither(void **state)
{
	struct cb_conn c = awaiting(1000, 0), n;
	struct cb_conn_out o;

	(void)state;
	/* never sent nor waited, long after: neither */
	assert_int_equal(at(&c, ev_of(CB_EV_END, 0, 0), 99000, 0, &n, &o), 1);
	assert_int_equal(o.verdict, CB_OUT_RELEASE);
	assert_int_equal(n.state, CB_CONN_NONE);
	/* sent, closed before the deadline: neither; after it: a failure */
	c.sent = 1;
	assert_int_equal(at(&c, ev_of(CB_EV_END, 0, 0), 1000 + RTO - 1, 0, &n,
			    &o), 1);
	assert_int_equal(o.verdict, CB_OUT_RELEASE);
	assert_int_equal(at(&c, ev_of(CB_EV_END, 0, 0), 1000 + RTO, 0, &n, &o),
			 1);
	assert_int_equal(o.verdict, CB_OUT_FAILURE);
	assert_int_equal(o.cause, CB_CAUSE_NO_RESPONSE);
}

static void
receiving_first_keeps_the_establishment_timer(void **state)
{
	struct cb_conn c = awaiting(1000, 0), n, m;
	struct cb_conn_out o;

	(void)state;
	assert_int_equal(at(&c, ev_of(CB_EV_IO, -1, EAGAIN), 1100, 0, &n, &o),
			 1);
	assert_int_equal(n.waited, 1);
	/* a send after waiting does not restart it */
	assert_int_equal(at(&n, tx(4), 1200, 0, &m, &o), 0);
	assert_int_equal(at(&n, ev_of(CB_EV_END, 0, 0), 1000 + RTO, 0, &m, &o),
			 1);
	assert_int_equal(o.cause, CB_CAUSE_NO_RESPONSE);
}

static void
slow_handshake_without_response_timeout(void **state)
{
	struct cb_conn c = entry(CB_CONN_CONNECTING), n;
	struct cb_conn_out o;
	struct cb_conn_ev ev = ev_of(CB_EV_RETURNED, 0, 0);

	(void)state;
	c.timed = 1;
	c.t0 = 1000;
	ev.now = 1000 + SLOW + 1;	/* rto 0: connect-level outcomes */
	ev.slow = SLOW;
	assert_int_equal(cb_conn_step(&c, &ev, &n, &o), 1);
	assert_int_equal(n.state, CB_CONN_CONNECTED);
	assert_int_equal(o.verdict, CB_OUT_FAILURE);
	assert_int_equal(o.cause, CB_CAUSE_SLOW);
	ev.now = 1000 + SLOW;
	assert_int_equal(cb_conn_step(&c, &ev, &n, &o), 1);
	assert_int_equal(o.verdict, CB_OUT_SUCCESS);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(begin_records_the_attempt_before_the_call),
		cmocka_unit_test(
		    connect_returned_zero_is_a_success_and_restores_the_timeout),
		cmocka_unit_test(in_progress_errnos_leave_it_pending),
		cmocka_unit_test(eisconn_on_a_pending_attempt_is_a_success),
		cmocka_unit_test(a_failed_connect_ends_with_its_errno),
		cmocka_unit_test(
		    so_error_nonzero_fails_zero_asks_whether_connected),
		cmocka_unit_test(data_proves_connected_zero_bytes_prove_nothing),
		cmocka_unit_test(
		    io_errors_end_the_attempt_unless_try_again_or_stale),
		cmocka_unit_test(close_while_connecting_is_an_abandoned_attempt),
		cmocka_unit_test(dissolve_releases_a_pending_attempt),
		cmocka_unit_test(one_send_failure_per_connection),
		cmocka_unit_test(blocking_rejection_changes_nothing),
		cmocka_unit_test(nonblocking_rejection_reports_once),
		cmocka_unit_test(rejection_is_not_reported_to_another_file),
		cmocka_unit_test(flags_follow_o_nonblock),
		cmocka_unit_test(close_forgets_every_other_state),
		cmocka_unit_test(encode_decode_round_trip),
		cmocka_unit_test(
		    established_with_response_timeout_awaits_the_first_byte),
		cmocka_unit_test(first_send_starts_the_timer_first_byte_succeeds),
		cmocka_unit_test(no_byte_by_the_deadline_is_no_response_once),
		cmocka_unit_test(blocking_wait_expired_fails_once_and_rearms),
		cmocka_unit_test(eof_or_reset_before_the_first_byte_fails),
		cmocka_unit_test(zero_byte_calls_judge_nothing),
		cmocka_unit_test(close_before_deadline_or_unused_is_neither),
		cmocka_unit_test(receiving_first_keeps_the_establishment_timer),
		cmocka_unit_test(slow_handshake_without_response_timeout),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
