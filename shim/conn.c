/*
 * conn.c - one connection's lifecycle (see conn.h): one handler per
 * state, each a plain function of (entry, event).  Nothing here calls the
 * kernel or reads the clock; facts that need a system call are asked for
 * with CB_NEED_*.
 */
#include "conn.h"

#include <errno.h>
#include <string.h>

static int on_tcp(const struct cb_conn *c, const struct cb_conn_ev *ev,
		  struct cb_conn *n, struct cb_conn_out *o);
static int on_connecting(const struct cb_conn *c, const struct cb_conn_ev *ev,
			 struct cb_conn *n, struct cb_conn_out *o);
static int on_connected(const struct cb_conn *c, const struct cb_conn_ev *ev,
			struct cb_conn *n, struct cb_conn_out *o);
static int on_rejected(const struct cb_conn *c, const struct cb_conn_ev *ev,
		       struct cb_conn *n, struct cb_conn_out *o);
static int on_awaiting(const struct cb_conn *c, const struct cb_conn_ev *ev,
		       struct cb_conn *n, struct cb_conn_out *o);

/* The entry goes to state s, keeping its flags; breaker fields cleared
 * when it leaves the attempt behind. */
static CB_HOT int
go(const struct cb_conn *c, struct cb_conn *n, int s)
{
	*n = *c;
	n->state = (uint8_t)s;
	if (s == CB_CONN_TCP || s == CB_CONN_NONE) {
		n->slot = 0;
		n->ticket.gen = 0;
		n->ticket.kind = 0;
		n->uto = 0;
		n->timed = n->sent = n->waited = 0;
		n->t0 = 0;
	}
	if (s == CB_CONN_NONE)
		n->nonblock = 0;
	return 1;
}

/* Leaving CONNECTING for s with verdict v: the program's own
 * TCP_USER_TIMEOUT comes back whatever the outcome. */
static CB_HOT int
leave(const struct cb_conn *c, struct cb_conn *n, struct cb_conn_out *o,
      int s, int v, int err)
{
	o->verdict = (uint8_t)v;
	o->err = err;
	o->restore = c->uto && s != CB_CONN_NONE;
	return go(c, n, s);
}

/* errnos after which an attempt is still in progress (or was not
 * touched): the outcome comes later. */
static CB_HOT int
still_pending(int e)
{
	return e == EINPROGRESS || e == EALREADY || e == EINTR ||
	       e == EAGAIN || e == EWOULDBLOCK || e == ENOTCONN;
}

CB_HOT int
cb_conn_step(const struct cb_conn *c, const struct cb_conn_ev *ev,
	     struct cb_conn *n, struct cb_conn_out *o)
{
	memset(o, 0, sizeof(*o));
	if (c->state == CB_CONN_NONE || c->state == CB_CONN_OTHER ||
	    c->state > CB_CONN_AWAITING)
		return 0;
	if (ev->kind == CB_EV_FLAGS) {
		if (c->nonblock == (ev->r != 0))
			return 0;
		*n = *c;
		n->nonblock = ev->r != 0;
		return 1;
	}
	if (ev->kind == CB_EV_END && c->state != CB_CONN_CONNECTING &&
	    c->state != CB_CONN_AWAITING)
		return go(c, n, CB_CONN_NONE);
	/* one handler per state (a switch: the shim has no jump tables) */
	switch (c->state) {
	case CB_CONN_TCP:
		return on_tcp(c, ev, n, o);
	case CB_CONN_CONNECTING:
		return on_connecting(c, ev, n, o);
	case CB_CONN_CONNECTED:
	case CB_CONN_SETTLED:
		return on_connected(c, ev, n, o);
	case CB_CONN_REJECTED:
		return on_rejected(c, ev, n, o);
	default:
		return on_awaiting(c, ev, n, o);
	}
}

static CB_HOT int
on_tcp(const struct cb_conn *c, const struct cb_conn_ev *ev,
       struct cb_conn *n, struct cb_conn_out *o)
{
	(void)o;
	switch (ev->kind) {
	case CB_EV_BEGIN:
		go(c, n, CB_CONN_CONNECTING);
		n->slot = ev->slot & CB_CONN_SLOT_MASK;
		n->ticket = ev->ticket;
		n->uto = ev->uto;
		n->timed = ev->timed;
		n->t0 = ev->timed ? ev->now : 0;
		return 1;
	case CB_EV_REJECT:
		if (!c->nonblock)
			return 0;	/* blocking: the call failed at once */
		go(c, n, CB_CONN_REJECTED);
		n->slot = ev->slot & CB_CONN_SLOT_MASK;
		return 1;
	default:
		return 0;
	}
}

/* ms from the entry's time stamp to the event's "now" (0 if the clock
 * seems to have gone back). */
static CB_HOT uint64_t
elapsed(const struct cb_conn *c, const struct cb_conn_ev *ev)
{
	return ev->now > c->t0 ? ev->now - c->t0 : 0;
}

/* A success into state s: or, later than slow_call_duration since the
 * entry's time stamp, a failure with cause "slow". */
static CB_HOT int
success_to(const struct cb_conn *c, const struct cb_conn_ev *ev,
	   struct cb_conn *n, struct cb_conn_out *o, int s)
{
	if (c->timed && ev->slow && elapsed(c, ev) > ev->slow) {
		leave(c, n, o, s, CB_OUT_FAILURE, 0);
		o->cause = CB_CAUSE_SLOW;
		return 1;
	}
	return leave(c, n, o, s, CB_OUT_SUCCESS, 0);
}

/* The attempt connected.  With response outcomes it now awaits its first
 * byte, the ticket kept (a probe holds its place), the timer started at
 * establishment; else a success (or a slow one). */
static CB_HOT int
established(const struct cb_conn *c, const struct cb_conn_ev *ev,
	    struct cb_conn *n, struct cb_conn_out *o)
{
	if (!c->timed)
		return leave(c, n, o, CB_CONN_CONNECTED, CB_OUT_SUCCESS, 0);
	if (!ev->now)
		return CB_NEED_NOW;
	if (!ev->rto)
		return success_to(c, ev, n, o, CB_CONN_CONNECTED);
	leave(c, n, o, CB_CONN_AWAITING, CB_OUT_NONE, 0);
	n->t0 = ev->now;
	n->sent = n->waited = 0;
	return 1;
}

/* A receive or send on a connecting socket: data proves it connected;
 * 0 bytes prove nothing unless the kernel says connected; an error that
 * is not "try later" ends the attempt (if it is still our socket). */
static CB_HOT int
io_connecting(const struct cb_conn *c, const struct cb_conn_ev *ev,
	      struct cb_conn *n, struct cb_conn_out *o)
{
	int r;

	if (ev->r > 0 && c->timed && !ev->now)
		return CB_NEED_NOW;
	if (ev->r > 0 && ev->sending && ev->rto) {
		r = established(c, ev, n, o);	/* and sent: the timer */
		n->sent = 1;
		return r;
	}
	if (ev->r > 0)		/* a receive: the first byte too */
		return success_to(c, ev, n, o, ev->rto ? CB_CONN_SETTLED :
						       CB_CONN_CONNECTED);
	if (ev->r == 0) {
		if (ev->peer < 0)
			return CB_NEED_PEER;
		return ev->peer ? established(c, ev, n, o) : 0;
	}
	if (still_pending(ev->err))
		return 0;
	if (ev->same < 0)
		return CB_NEED_SAME;
	if (!ev->same)
		return go(c, n, CB_CONN_NONE);	/* stale: forget, unblamed */
	return leave(c, n, o, CB_CONN_TCP, CB_OUT_ENDED, ev->err);
}

/* The fd goes away with the attempt unsettled: found connected, a
 * success; failed, its errno; still in progress, the program gave up on
 * it (a timeout of its own, a siglongjmp, a cancelled thread): ETIMEDOUT,
 * a failure. */
static CB_HOT int
end_connecting(const struct cb_conn *c, const struct cb_conn_ev *ev,
	       struct cb_conn *n, struct cb_conn_out *o)
{
	if (ev->same < 0)
		return CB_NEED_SAME;
	if (!ev->same)
		return go(c, n, CB_CONN_NONE);
	if (ev->peer < 0)
		return CB_NEED_PEER;
	if (ev->peer && c->timed && !ev->now)
		return CB_NEED_NOW;
	if (ev->peer && ev->rto)	/* connected, never used: neither */
		return leave(c, n, o, CB_CONN_NONE, CB_OUT_RELEASE, 0);
	if (ev->peer)
		return success_to(c, ev, n, o, CB_CONN_NONE);
	if (ev->soerr == -1)
		return CB_NEED_SOERR;
	if (ev->soerr > 0)
		return leave(c, n, o, CB_CONN_NONE, CB_OUT_ENDED, ev->soerr);
	if (ev->soerr == 0)
		return leave(c, n, o, CB_CONN_NONE, CB_OUT_FAILURE, ETIMEDOUT);
	return go(c, n, CB_CONN_NONE);	/* SO_ERROR unreadable */
}

static CB_HOT int
on_connecting(const struct cb_conn *c, const struct cb_conn_ev *ev,
	      struct cb_conn *n, struct cb_conn_out *o)
{
	switch (ev->kind) {
	case CB_EV_RETURNED:
		if (ev->r == 0 || ev->err == EISCONN)
			return established(c, ev, n, o);
		if (ev->err == EINPROGRESS || ev->err == EALREADY ||
		    ev->err == EINTR)
			return 0;
		return leave(c, n, o, CB_CONN_TCP, CB_OUT_ENDED, ev->err);
	case CB_EV_SOERROR:
		if (ev->r != 0)
			return leave(c, n, o, CB_CONN_TCP, CB_OUT_ENDED,
				     (int)ev->r);
		if (ev->peer < 0)
			return CB_NEED_PEER;
		return ev->peer ? established(c, ev, n, o) : 0;
	case CB_EV_IO:
		return io_connecting(c, ev, n, o);
	case CB_EV_END:
		return end_connecting(c, ev, n, o);
	case CB_EV_DISSOLVE:
		return leave(c, n, o, CB_CONN_TCP, CB_OUT_RELEASE, 0);
	default:
		return 0;
	}
}

/* Established: at most one send failure counts, charged only while the
 * fd is still the socket that connected. */
static CB_HOT int
on_connected(const struct cb_conn *c, const struct cb_conn_ev *ev,
	     struct cb_conn *n, struct cb_conn_out *o)
{
	if (ev->kind == CB_EV_DISSOLVE)
		return go(c, n, CB_CONN_TCP);
	if (c->state != CB_CONN_CONNECTED || ev->kind != CB_EV_IO ||
	    !ev->sending || ev->r >= 0 ||
	    (ev->err != EPIPE && ev->err != ECONNRESET && ev->err != ETIMEDOUT))
		return 0;
	if (ev->same < 0)
		return CB_NEED_SAME;
	if (!ev->same)
		return go(c, n, CB_CONN_NONE);
	o->verdict = CB_OUT_FAILURE;
	o->err = ev->err;
	return go(c, n, CB_CONN_SETTLED);
}

/* ---- awaiting the first byte (response_timeout) ---------------------
 * The ticket is the attempt's until it is judged: a failure drops it (kind
 * NONE), so each connection counts once; the state stays AWAITING until
 * the first byte so blocking receives stay bounded. */

/* Judged a failure (cause, err) into state s, if the fd is still ours. */
static int
judge(const struct cb_conn *c, const struct cb_conn_ev *ev,
      struct cb_conn *n, struct cb_conn_out *o, int s, int cause, int err)
{
	if (ev->same < 0)
		return CB_NEED_SAME;
	if (!ev->same)
		return go(c, n, CB_CONN_NONE);
	go(c, n, s);
	o->verdict = cause == CB_CAUSE_ERRNO ? CB_OUT_ENDED : CB_OUT_FAILURE;
	o->cause = (uint16_t)cause;
	o->err = err;
	n->ticket.kind = CB_TICKET_NONE;
	n->ticket.gen = 0;
	return 1;
}

/* Has response_timeout passed since the timer's start? */
static int
late(const struct cb_conn *c, const struct cb_conn_ev *ev)
{
	return ev->rto && elapsed(c, ev) >= ev->rto;
}

/* A receive: data settles it (success, or slow), EOF or a reset before it
 * fails it, a "nothing yet" after the deadline fails it (no response),
 * before the deadline with nothing sent starts the waited timer. */
static int
recv_awaiting(const struct cb_conn *c, const struct cb_conn_ev *ev,
	      struct cb_conn *n, struct cb_conn_out *o)
{
	int judged = c->ticket.kind == CB_TICKET_NONE;

	if (ev->r > 0 && judged)
		return go(c, n, CB_CONN_SETTLED);
	if (ev->r > 0)
		return ev->now ? success_to(c, ev, n, o, CB_CONN_SETTLED) :
				 CB_NEED_NOW;
	if (ev->r == 0 && ev->empty)	/* 0 bytes asked, 0 given */
		return 0;
	if (ev->r == 0)
		return judged ? go(c, n, CB_CONN_SETTLED) :
		       judge(c, ev, n, o, CB_CONN_SETTLED, CB_CAUSE_EOF, 0);
	if (!still_pending(ev->err))
		return ev->err != ECONNRESET && ev->err != ETIMEDOUT &&
		       ev->err != EPIPE ? 0 : judged ?
		       go(c, n, CB_CONN_SETTLED) :
		       judge(c, ev, n, o, CB_CONN_SETTLED, CB_CAUSE_ERRNO,
			     ev->err);
	if (judged)
		return 0;
	if (!ev->now)
		return CB_NEED_NOW;
	if (late(c, ev))
		return judge(c, ev, n, o, CB_CONN_AWAITING,
			     CB_CAUSE_NO_RESPONSE, ETIMEDOUT);
	if (c->sent || c->waited)
		return 0;
	*n = *c;
	n->waited = 1;
	return 1;
}

/* A send: the first one that sent a byte starts the timer (unless the
 * program received first; 0 bytes ask nothing of the peer); a broken
 * pipe before the first byte is a failure. */
static int
send_awaiting(const struct cb_conn *c, const struct cb_conn_ev *ev,
	      struct cb_conn *n, struct cb_conn_out *o)
{
	if (ev->r < 0)
		return (ev->err != EPIPE && ev->err != ECONNRESET &&
			ev->err != ETIMEDOUT) ? 0 :
		       c->ticket.kind == CB_TICKET_NONE ?
		       go(c, n, CB_CONN_SETTLED) :
		       judge(c, ev, n, o, CB_CONN_SETTLED, CB_CAUSE_ERRNO,
			     ev->err);
	if (ev->r == 0 || c->sent || c->waited)
		return 0;
	if (!ev->now)
		return CB_NEED_NOW;
	*n = *c;
	n->sent = 1;
	n->t0 = ev->now;
	return 1;
}

/* A blocking receive waited until the deadline: no response (once); the
 * next wait is bounded afresh from now. */
static int
expired(const struct cb_conn *c, const struct cb_conn_ev *ev,
	struct cb_conn *n, struct cb_conn_out *o)
{
	int r = 1;

	if (!ev->now)
		return CB_NEED_NOW;
	if (c->ticket.kind == CB_TICKET_NONE)
		*n = *c;
	else if ((r = judge(c, ev, n, o, CB_CONN_AWAITING,
			    CB_CAUSE_NO_RESPONSE, ETIMEDOUT)) != 1 ||
		 n->state != CB_CONN_AWAITING)
		return r;
	n->waited |= !c->sent;
	n->t0 = ev->now;
	return 1;
}

/* The fd goes away before the first byte: after the deadline with
 * something sent or waited for, no response; else neither. */
static int
end_awaiting(const struct cb_conn *c, const struct cb_conn_ev *ev,
	     struct cb_conn *n, struct cb_conn_out *o)
{
	if (c->ticket.kind == CB_TICKET_NONE)
		return go(c, n, CB_CONN_NONE);
	if (c->sent || c->waited) {
		if (!ev->now)
			return CB_NEED_NOW;
		if (late(c, ev))
			return judge(c, ev, n, o, CB_CONN_NONE,
				     CB_CAUSE_NO_RESPONSE, ETIMEDOUT);
	}
	o->verdict = CB_OUT_RELEASE;
	return go(c, n, CB_CONN_NONE);
}

static int
on_awaiting(const struct cb_conn *c, const struct cb_conn_ev *ev,
	    struct cb_conn *n, struct cb_conn_out *o)
{
	switch (ev->kind) {
	case CB_EV_IO:
		return ev->sending ? send_awaiting(c, ev, n, o) :
				     recv_awaiting(c, ev, n, o);
	case CB_EV_EXPIRED:
		return expired(c, ev, n, o);
	case CB_EV_END:
		return end_awaiting(c, ev, n, o);
	case CB_EV_DISSOLVE:
		if (c->ticket.kind != CB_TICKET_NONE)
			o->verdict = CB_OUT_RELEASE;
		return go(c, n, CB_CONN_TCP);
	default:
		return 0;
	}
}

/* A rejected non-blocking connect: the refusal is reported once, where
 * the kernel reports an asynchronous one (SO_ERROR, the first I/O, a
 * second connect), and the socket is a plain idle one again.  Only while
 * the fd is still that socket: one closed unseen (fdopen, fclose) and
 * reused for a pipe or file is forgotten, its calls untouched. */
static int
on_rejected(const struct cb_conn *c, const struct cb_conn_ev *ev,
	    struct cb_conn *n, struct cb_conn_out *o)
{
	switch (ev->kind) {
	case CB_EV_SOERROR:
	case CB_EV_IO:
	case CB_EV_RETURNED:
		if (ev->same < 0)
			return CB_NEED_SAME;
		if (!ev->same)
			return go(c, n, CB_CONN_NONE);
		o->report = (int)c->slot;
		return go(c, n, CB_CONN_TCP);
	case CB_EV_DISSOLVE:
		return go(c, n, CB_CONN_TCP);
	default:
		return 0;
	}
}
