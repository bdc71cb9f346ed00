/*
 * conn.h - one connection's lifecycle, as one pure transition function.
 *
 * Each fd the shim follows has one entry (a 64-bit word in the fd table,
 * fdtrack.h) whose state says where its connection stands:
 *
 *   TCP --begin--> CONNECTING --returned 0 / SO_ERROR 0 / data--> CONNECTED
 *    ^                 |  (failure errno, or closed still connecting:
 *    |                 |   an abandoned attempt, ETIMEDOUT)
 *    +-----------------+
 *   CONNECTED --send fails EPIPE/ECONNRESET/ETIMEDOUT--> SETTLED
 *   TCP --rejected, non-blocking--> REJECTED --SO_ERROR / first I/O--> TCP
 *
 * With response_timeout an established connection is judged by its first
 * response byte instead:
 *
 *   CONNECTING --established--> AWAITING --first byte--> SETTLED
 *   AWAITING: EOF, reset, or no byte within response_timeout of the
 *   first send (of establishment when the program receives first) is a
 *   failure, once (the ticket is dropped: "judged"); it stays AWAITING so
 *   blocking receives stay bounded until the first byte.  A close without
 *   having sent or waited, or before the deadline, is neither.
 *
 * slow_call_duration: a success later than that (the handshake from
 * connect(), or the first byte from the timer's start) is a failure,
 * cause "slow".  Time is an event's fact (CB_NEED_NOW), never read here.
 *
 * cb_conn_step() takes the entry and an event (what a wrapper in
 * interpose.c saw: a connect begun or returned, an SO_ERROR value, an I/O
 * result, a close, a dup over the fd, ...) and gives the next entry and
 * the outcome to record on the breaker.  It is pure: no system call, no
 * clock, no globals, so tests/unit/test_conn.c drives it alone.  When it
 * needs a fact that costs a system call (is the socket connected?  is it
 * still the socket the entry was made for?  its SO_ERROR?) it says so and
 * the caller asks the kernel and steps again: facts are only gathered on
 * the rare paths that need them.
 *
 * The attempt is recorded (CONNECTING) BEFORE the real connect() is
 * entered, so a program that leaves a blocking connect by siglongjmp or
 * pthread_cancel and closes the fd has abandoned an attempt: a failure.
 */
#ifndef CB_CONN_H
#define CB_CONN_H

#include <stdint.h>

#include "breaker.h"

enum cb_conn_state {
	CB_CONN_NONE = 0,	/* nothing known */
	CB_CONN_OTHER,		/* a socket that is not governed */
	CB_CONN_TCP,		/* an AF_INET/AF_INET6 stream socket, idle */
	CB_CONN_CONNECTING,	/* attempt admitted, outcome unknown */
	CB_CONN_CONNECTED,	/* established: one send failure may count */
	CB_CONN_SETTLED,	/* its one send failure was counted */
	CB_CONN_REJECTED,	/* rejected non-blocking: err still to report */
	CB_CONN_AWAITING,	/* established, awaiting the first byte */
};

/* A decoded entry. */
struct cb_conn {
	uint8_t state;			/* enum cb_conn_state */
	uint8_t nonblock;		/* O_NONBLOCK as last seen */
	uint8_t uto;			/* we set TCP_USER_TIMEOUT: restore */
	uint8_t timed;			/* response_timeout or slow set */
	uint8_t sent;			/* AWAITING: the program sent */
	uint8_t waited;			/* AWAITING: it received first */
	uint64_t t0;			/* ms: CONNECTING: the connect began;
					 * AWAITING: the timer's start */
	uint32_t slot;			/* breaker slot; REJECTED: the errno */
	struct cb_ticket ticket;	/* as cb_breaker_admit gave it */
};

enum cb_conn_ev_kind {
	CB_EV_BEGIN = 1,	/* admitted: connect about to be entered */
	CB_EV_REJECT,		/* rejected (slot = the reject errno) */
	CB_EV_RETURNED,		/* connect returned r (errno err) */
	CB_EV_SOERROR,		/* getsockopt(SO_ERROR) read err */
	CB_EV_IO,		/* a send (sending) or receive returned r */
	CB_EV_END,		/* close, dup over it, close_range */
	CB_EV_DISSOLVE,		/* connect(AF_UNSPEC) succeeded */
	CB_EV_FLAGS,		/* O_NONBLOCK set (r = 1) or cleared (r = 0) */
	CB_EV_EXPIRED,		/* a blocking receive's bounded wait ran out */
};

/* Facts a step may ask for: -1 unknown, else 0/1 (soerr: the value). */
struct cb_conn_ev {
	uint8_t kind;		/* enum cb_conn_ev_kind */
	uint8_t sending;	/* CB_EV_IO: a send, not a receive */
	uint8_t uto;		/* CB_EV_BEGIN: TCP_USER_TIMEOUT was set */
	uint8_t timed;		/* CB_EV_BEGIN: response/slow timing on
				 * (then now is given with it) */
	uint8_t empty;		/* CB_EV_IO: a receive asked for 0 bytes
				 * (its 0 is no EOF) */
	int64_t r;		/* the call's return value */
	int err;		/* its errno when r < 0 */
	uint32_t slot;		/* CB_EV_BEGIN: breaker slot */
	struct cb_ticket ticket;	/* CB_EV_BEGIN: the admission */
	int peer;		/* fact: the socket is connected */
	int same;		/* fact: still the socket of the entry */
	int soerr;		/* fact: SO_ERROR now (-1: cannot read) */
	uint64_t now;		/* fact: ms now (0: not known yet) with */
	uint32_t rto;		/* the breaker's response_timeout and */
	uint32_t slow;		/* slow_call_duration (ms, 0 off) */
};

/* What to record on the breaker, what the caller must do. */
enum cb_conn_verdict {
	CB_OUT_NONE = 0,
	CB_OUT_SUCCESS,		/* established */
	CB_OUT_FAILURE,		/* failed with err, whatever the policy */
	CB_OUT_ENDED,		/* ended with err: failure if the policy
				 * says err fails, else neither (release) */
	CB_OUT_RELEASE,		/* neither: free a probe's place */
};

struct cb_conn_out {
	uint8_t verdict;	/* enum cb_conn_verdict */
	uint8_t restore;	/* put the program's TCP_USER_TIMEOUT back */
	uint16_t cause;		/* enum cb_cause of a failure */
	int err;		/* errno of the failure (0: none) */
	int report;		/* REJECTED: the call fails with this errno
				 * (SO_ERROR reads it) instead of the kernel's */
};

/* Steps that need a fact return one of these (negative). */
#define CB_NEED_PEER	(-1)
#define CB_NEED_SAME	(-2)
#define CB_NEED_SOERR	(-3)
#define CB_NEED_NOW	(-4)	/* now, rto and slow */

/* cb_conn_step - entry c saw event ev.  Returns 1 and *next, *out when
 * the entry changes (the caller installs *next by CAS and, if it won,
 * does *out), 0 when nothing changes (*out cleared), or CB_NEED_*: fill
 * that fact in ev and call again.  Pure; async-signal-safe. */
int cb_conn_step(const struct cb_conn *c, const struct cb_conn_ev *ev,
		 struct cb_conn *next, struct cb_conn_out *out);

/* ---- the entry's encoding -------------------------------------------
 *
 * The fd table's word (changed only by CAS: the one word that says where a
 * connection stands) holds the state, the ticket's kind, the slot and the
 * low CB_CONN_W_GEN_BITS of the ticket's generation:
 *
 *   bits  0- 2  state          CB_CONN_W_STATE
 *   bits  3- 4  ticket kind    CB_CONN_W_KIND
 *   bits  5-25  slot           CB_CONN_W_SLOT (the table has at most
 *                              2^CB_CONN_SLOT_BITS slots); REJECTED: errno
 *   bits 26-63  generation, low bits
 *
 * The auxiliary word holds the program's own TCP_USER_TIMEOUT (bits 0-31)
 * while connect_timeout's is set, the flags (bits 32-36) and the rest of
 * the ticket's generation (bits 40-45), so that a ticket keeps
 * CB_TICKET_GEN_BITS (>= 40) of its generation: an outcome is never taken
 * for one 2^38 generations later's.  The generation's high bits are
 * written with the word that needs them (before it: its release store
 * publishes them) and never change while that word stands; a word's CAS
 * still tells one attempt from the next by slot and low generation. */
#define CB_CONN_STATE_BITS 3
#define CB_CONN_KIND_BITS 2
#define CB_CONN_SLOT_BITS 21
#define CB_CONN_SLOT_SHIFT (CB_CONN_STATE_BITS + CB_CONN_KIND_BITS)
#define CB_CONN_W_GEN_SHIFT (CB_CONN_SLOT_SHIFT + CB_CONN_SLOT_BITS)
#define CB_CONN_W_GEN_BITS (64 - CB_CONN_W_GEN_SHIFT)
#define CB_CONN_W_STATE ((1ull << CB_CONN_STATE_BITS) - 1)
#define CB_CONN_W_KIND (((1ull << CB_CONN_KIND_BITS) - 1) << CB_CONN_STATE_BITS)
#define CB_CONN_SLOT_MASK ((1u << CB_CONN_SLOT_BITS) - 1)
#define CB_CONN_W_SLOT ((uint64_t)CB_CONN_SLOT_MASK << CB_CONN_SLOT_SHIFT)

#define CB_AUX_OWN_MASK 0xffffffffull
#define CB_AUX_NONBLOCK (1ull << 32)
#define CB_AUX_UTO (1ull << 33)
#define CB_AUX_TIMED (1ull << 34)
#define CB_AUX_SENT (1ull << 35)
#define CB_AUX_WAITED (1ull << 36)
#define CB_AUX_FLAGS (CB_AUX_NONBLOCK | CB_AUX_UTO | CB_AUX_TIMED | \
		      CB_AUX_SENT | CB_AUX_WAITED)
#define CB_AUX_GEN_SHIFT 40
#define CB_AUX_GEN_BITS (CB_TICKET_GEN_BITS - CB_CONN_W_GEN_BITS)
#define CB_AUX_GEN (((1ull << CB_AUX_GEN_BITS) - 1) << CB_AUX_GEN_SHIFT)

_Static_assert(CB_CONN_AWAITING <= CB_CONN_W_STATE, "states fit the word");
_Static_assert(CB_TICKET_SHADOW < 1 << CB_CONN_KIND_BITS, "kinds fit");
_Static_assert(CB_TICKET_GEN_BITS >= 40, "a generation that cannot wrap");
_Static_assert(CB_AUX_GEN_BITS > 0 &&
	       CB_AUX_GEN_SHIFT + CB_AUX_GEN_BITS <= 64 &&
	       (CB_AUX_GEN & (CB_AUX_FLAGS | CB_AUX_OWN_MASK)) == 0,
	       "the generation's high bits fit the auxiliary word alone");

/* cb_conn_decode - word w, auxiliary word aux and time word t -> entry. */
static inline void
cb_conn_decode(uint64_t w, uint64_t aux, uint64_t t, struct cb_conn *c)
{
	c->state = (uint8_t)(w & CB_CONN_W_STATE);
	c->ticket.kind = (uint8_t)((w & CB_CONN_W_KIND) >> CB_CONN_STATE_BITS);
	c->slot = (uint32_t)((w & CB_CONN_W_SLOT) >> CB_CONN_SLOT_SHIFT);
	c->ticket.gen = (w >> CB_CONN_W_GEN_SHIFT) |
			((aux & CB_AUX_GEN) >> (CB_AUX_GEN_SHIFT -
						CB_CONN_W_GEN_BITS));
	c->nonblock = (aux & CB_AUX_NONBLOCK) != 0;
	c->uto = (aux & CB_AUX_UTO) != 0;
	c->timed = (aux & CB_AUX_TIMED) != 0;
	c->sent = (aux & CB_AUX_SENT) != 0;
	c->waited = (aux & CB_AUX_WAITED) != 0;
	c->t0 = t;
}

/* cb_conn_encode - entry -> the word (its slot and generation cut to
 * their fields). */
static inline uint64_t
cb_conn_encode(const struct cb_conn *c)
{
	return ((uint64_t)c->state & CB_CONN_W_STATE) |
	       (((uint64_t)c->ticket.kind << CB_CONN_STATE_BITS) &
		CB_CONN_W_KIND) |
	       (((uint64_t)c->slot << CB_CONN_SLOT_SHIFT) & CB_CONN_W_SLOT) |
	       (c->ticket.gen << CB_CONN_W_GEN_SHIFT);
}

/* cb_conn_flags - the entry's flags, as the auxiliary word keeps them. */
static inline uint64_t
cb_conn_flags(const struct cb_conn *c)
{
	return (c->nonblock ? CB_AUX_NONBLOCK : 0) | (c->uto ? CB_AUX_UTO : 0) |
	       (c->timed ? CB_AUX_TIMED : 0) | (c->sent ? CB_AUX_SENT : 0) |
	       (c->waited ? CB_AUX_WAITED : 0);
}

/* cb_conn_aux - all of the entry's bits in the auxiliary word: its flags
 * and its generation's high bits (not the program's own timeout). */
static inline uint64_t
cb_conn_aux(const struct cb_conn *c)
{
	return cb_conn_flags(c) |
	       ((c->ticket.gen >> CB_CONN_W_GEN_BITS << CB_AUX_GEN_SHIFT) &
		CB_AUX_GEN);
}

/* cb_conn_state_of - the state in a raw word. */
static inline enum cb_conn_state
cb_conn_state_of(uint64_t w)
{
	return (enum cb_conn_state)(w & CB_CONN_W_STATE);
}

/* cb_conn_unsettled - an attempt or a first byte still to judge: the
 * fd's end has an outcome (and only its own process may settle it). */
static inline int
cb_conn_unsettled(uint64_t w)
{
	return cb_conn_state_of(w) == CB_CONN_CONNECTING ||
	       cb_conn_state_of(w) == CB_CONN_AWAITING;
}

/* cb_conn_io_matters - can a send (sending) or receive that returned r
 * change entry w?  While connecting (it proves the connection, or ends
 * it), while awaiting the first byte, and a failed send while connected
 * (it counts once); never a receive or a send that worked on a connected
 * fd (conn.c). */
static inline int
cb_conn_io_matters(uint64_t w, int sending, int64_t r)
{
	unsigned m = 1u << CB_CONN_CONNECTING | 1u << CB_CONN_AWAITING |
		     (sending && r < 0 ? 1u << CB_CONN_CONNECTED : 0);

	return (int)((m >> cb_conn_state_of(w)) & 1);
}

#endif
