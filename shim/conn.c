/*
 * conn.c - one connection's lifecycle (see conn.h): one handler per
 * state, each a plain function of (entry, event).  Nothing here calls the
 * kernel or reads the clock; facts that need a system call are asked for
 * with CB_NEED_*.
 */
#include "conn.h"

#include <errno.h>
#include <string.h>

typedef int (*handler)(const struct cb_conn *, const struct cb_conn_ev *,
		       struct cb_conn *, struct cb_conn_out *);

static int on_tcp(const struct cb_conn *c, const struct cb_conn_ev *ev,
		  struct cb_conn *n, struct cb_conn_out *o);
static int on_connecting(const struct cb_conn *c, const struct cb_conn_ev *ev,
			 struct cb_conn *n, struct cb_conn_out *o);
static int on_connected(const struct cb_conn *c, const struct cb_conn_ev *ev,
			struct cb_conn *n, struct cb_conn_out *o);
static int on_rejected(const struct cb_conn *c, const struct cb_conn_ev *ev,
		       struct cb_conn *n, struct cb_conn_out *o);

/* The entry goes to state s, keeping its flags; breaker fields cleared
 * when it leaves the attempt behind. */
static int
go(const struct cb_conn *c, struct cb_conn *n, int s)
{
	*n = *c;
	n->state = (uint8_t)s;
	if (s == CB_CONN_TCP || s == CB_CONN_NONE) {
		n->slot = 0;
		n->ticket.gen = 0;
		n->ticket.kind = 0;
		n->uto = 0;
	}
	if (s == CB_CONN_NONE)
		n->nonblock = 0;
	return 1;
}

/* Leaving CONNECTING for s with verdict v: the program's own
 * TCP_USER_TIMEOUT comes back whatever the outcome. */
static int
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
static int
still_pending(int e)
{
	return e == EINPROGRESS || e == EALREADY || e == EINTR ||
	       e == EAGAIN || e == EWOULDBLOCK || e == ENOTCONN;
}

int
cb_conn_step(const struct cb_conn *c, const struct cb_conn_ev *ev,
	     struct cb_conn *n, struct cb_conn_out *o)
{
	static const handler by_state[] = {
		[CB_CONN_TCP] = on_tcp,
		[CB_CONN_CONNECTING] = on_connecting,
		[CB_CONN_CONNECTED] = on_connected,
		[CB_CONN_SETTLED] = on_connected,
		[CB_CONN_REJECTED] = on_rejected,
	};

	memset(o, 0, sizeof(*o));
	if (c->state == CB_CONN_NONE || c->state == CB_CONN_OTHER ||
	    c->state >= sizeof(by_state) / sizeof(by_state[0]))
		return 0;
	if (ev->kind == CB_EV_FLAGS) {
		if (c->nonblock == (ev->r != 0))
			return 0;
		*n = *c;
		n->nonblock = ev->r != 0;
		return 1;
	}
	if (ev->kind == CB_EV_END && c->state != CB_CONN_CONNECTING)
		return go(c, n, CB_CONN_NONE);
	return by_state[c->state](c, ev, n, o);
}

static int
on_tcp(const struct cb_conn *c, const struct cb_conn_ev *ev,
       struct cb_conn *n, struct cb_conn_out *o)
{
	(void)o;
	switch (ev->kind) {
	case CB_EV_BEGIN:
		go(c, n, CB_CONN_CONNECTING);
		n->slot = ev->slot & 0x1fffff;
		n->ticket = ev->ticket;
		n->uto = ev->uto;
		return 1;
	case CB_EV_REJECT:
		if (!c->nonblock)
			return 0;	/* blocking: the call failed at once */
		go(c, n, CB_CONN_REJECTED);
		n->slot = ev->slot & 0x1fffff;
		return 1;
	default:
		return 0;
	}
}

/* A receive or send on a connecting socket: data proves it connected;
 * 0 bytes prove nothing unless the kernel says connected; an error that
 * is not "try later" ends the attempt (if it is still our socket). */
static int
io_connecting(const struct cb_conn *c, const struct cb_conn_ev *ev,
	      struct cb_conn *n, struct cb_conn_out *o)
{
	if (ev->r > 0)
		return leave(c, n, o, CB_CONN_CONNECTED, CB_OUT_SUCCESS, 0);
	if (ev->r == 0) {
		if (ev->peer < 0)
			return CB_NEED_PEER;
		return ev->peer ? leave(c, n, o, CB_CONN_CONNECTED,
					CB_OUT_SUCCESS, 0) : 0;
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
static int
end_connecting(const struct cb_conn *c, const struct cb_conn_ev *ev,
	       struct cb_conn *n, struct cb_conn_out *o)
{
	if (ev->same < 0)
		return CB_NEED_SAME;
	if (!ev->same)
		return go(c, n, CB_CONN_NONE);
	if (ev->peer < 0)
		return CB_NEED_PEER;
	if (ev->peer)
		return leave(c, n, o, CB_CONN_NONE, CB_OUT_SUCCESS, 0);
	if (ev->soerr == -1)
		return CB_NEED_SOERR;
	if (ev->soerr > 0)
		return leave(c, n, o, CB_CONN_NONE, CB_OUT_ENDED, ev->soerr);
	if (ev->soerr == 0)
		return leave(c, n, o, CB_CONN_NONE, CB_OUT_FAILURE, ETIMEDOUT);
	return go(c, n, CB_CONN_NONE);	/* SO_ERROR unreadable */
}

static int
on_connecting(const struct cb_conn *c, const struct cb_conn_ev *ev,
	      struct cb_conn *n, struct cb_conn_out *o)
{
	switch (ev->kind) {
	case CB_EV_RETURNED:
		if (ev->r == 0 || ev->err == EISCONN)
			return leave(c, n, o, CB_CONN_CONNECTED,
				     CB_OUT_SUCCESS, 0);
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
		return ev->peer ? leave(c, n, o, CB_CONN_CONNECTED,
					CB_OUT_SUCCESS, 0) : 0;
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
static int
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

/* A rejected non-blocking connect: the refusal is reported once, where
 * the kernel reports an asynchronous one (SO_ERROR, the first I/O, a
 * second connect), and the socket is a plain idle one again. */
static int
on_rejected(const struct cb_conn *c, const struct cb_conn_ev *ev,
	    struct cb_conn *n, struct cb_conn_out *o)
{
	switch (ev->kind) {
	case CB_EV_SOERROR:
	case CB_EV_IO:
	case CB_EV_RETURNED:
		o->report = (int)c->slot;
		return go(c, n, CB_CONN_TCP);
	case CB_EV_DISSOLVE:
		return go(c, n, CB_CONN_TCP);
	default:
		return 0;
	}
}

_Static_assert(26 + CB_TICKET_GEN_BITS == 64, "fd word: generation bits");

void
cb_conn_decode(uint64_t w, uint64_t aux, struct cb_conn *c)
{
	c->state = (uint8_t)(w & 7);
	c->ticket.kind = (uint8_t)((w >> 3) & 3);
	c->slot = (uint32_t)((w >> 5) & 0x1fffff);
	c->ticket.gen = w >> 26;
	c->nonblock = (aux & CB_AUX_NONBLOCK) != 0;
	c->uto = (aux & CB_AUX_UTO) != 0;
}

uint64_t
cb_conn_encode(const struct cb_conn *c)
{
	return (uint64_t)(c->state & 7) | ((uint64_t)(c->ticket.kind & 3) << 3) |
	       ((uint64_t)(c->slot & 0x1fffff) << 5) | (c->ticket.gen << 26);
}

uint64_t
cb_conn_flags(const struct cb_conn *c)
{
	return (c->nonblock ? CB_AUX_NONBLOCK : 0) | (c->uto ? CB_AUX_UTO : 0);
}
