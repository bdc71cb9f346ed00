/*
 * breaker.h - one circuit breaker's state machine.
 *
 * Pure: every function takes "now" (milliseconds of CLOCK_MONOTONIC) as a
 * parameter, does no I/O and touches no globals, so the unit tests drive it
 * with a fake clock.  A breaker's words (struct cb_hot and struct
 * cb_cold, reached through the handle struct cb_breaker) are designed to
 * live in POSIX shared memory and to be used by many threads and
 * processes at once:
 *
 *   - The state, generation and cycle counters live in ONE 64-bit atomic
 *     word (ctl) changed only by compare-and-swap.  A process killed between
 *     any two instructions therefore leaves either the old or the new state,
 *     never a torn one, and no lock is ever held.
 *   - The generation in ctl is 24 bits; the full generation (genx, 64 bits,
 *     the last one anybody saw) extends it, and a ticket carries
 *     CB_TICKET_GEN_BITS of the full one, so an outcome is never taken for
 *     a later generation's (2^44 transitions: 557 years at one per
 *     millisecond).
 *     Whoever moves ctl to a new generation first settles the current one
 *     (genx, and the transition count, see below), so neither can lag.
 *   - state_transitions is exact even when a process dies right after its
 *     transition: it is not a counter bumped after the CAS but an account
 *     word (count, state, generation) that the next transition or any
 *     reader completes from ctl itself.
 *   - The time the current generation began lives in a second word (since),
 *     tagged with the low bits of the generation.  The thread that made the
 *     transition publishes it; any reader that finds it missing (the
 *     transitioner died or is slow) publishes its own "now" instead, which is
 *     never earlier than the transition.  Nothing waits on anybody.
 *   - Metrics are independent 64-bit counters updated with fetch_add.
 *   - The policy is stored in the breaker (atomic words) so every process
 *     agrees on it; cb_breaker_set_policy() re-applies one (cbctl reload).
 *
 * Hot fields (ctl, since, the policy words a decision reads, the rejection
 * counter) share one cache line with the table's key words (struct
 * cb_hot), so a rejection touches one line; the rest is struct cb_cold.
 */
#ifndef CB_BREAKER_H
#define CB_BREAKER_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

/* CB_HOT marks what a closed-breaker connect runs (the decision, the
 * entry's steps, the outcome) and the I/O wrappers: the linker keeps such
 * functions together (.text.hot), so that each call touches few pages of
 * code.  That counts: where the kernel isolates its page tables without
 * PCID, every system call empties the TLB, and the shim runs right after
 * one (bench/RESULTS.md, "closed path"). */
#define CB_HOT __attribute__((hot))

enum cb_state { CB_CLOSED = 0, CB_OPEN = 1, CB_HALF_OPEN = 2 };
enum cb_mode { CB_MODE_ENFORCE = 0, CB_MODE_OBSERVE = 1, CB_MODE_OFF = 2 };

/* Why a transition happened (events ring, cbctl events). */
enum cb_why {
	CB_WHY_NONE = 0,
	CB_WHY_THRESHOLD,	/* closed -> open: failure_threshold reached */
	CB_WHY_TIMEOUT,		/* open -> half-open: open time elapsed */
	CB_WHY_PROBE_SUCCESS,	/* half-open -> closed */
	CB_WHY_PROBE_FAILURE,	/* half-open -> open */
	CB_WHY_TRIP,		/* cbctl trip */
	CB_WHY_RESET,		/* cbctl reset */
	CB_WHY_FAILURE_RATE,	/* closed -> open: failure_rate_threshold */
};

/* Limits of the packed representation; config validation enforces them. */
#define CB_MAX_FAILURE_THRESHOLD 65535u
#define CB_MAX_SUCCESS_THRESHOLD 4095u
#define CB_MAX_HALF_OPEN_CALLS 4095u
#define CB_MAX_TIMEOUT_MS 0x7fffffffu	/* about 24.8 days */
#define CB_MAX_TRIP_FOR_MS 0x0fffffffu	/* about 74.5 hours */
#define CB_MAX_BACKOFF_MILLI 100000u	/* backoff 100.0 */
#define CB_ERRNO_MAX 256		/* errnos 1..255 can be failures */
#define CB_MAX_RATE_THRESHOLD 100u	/* percent; 0 = the rate rule is off */
#define CB_MIN_WINDOW_MS 100u
#define CB_MAX_WINDOW_MS 86400000u	/* 24 h */
#define CB_MAX_MINIMUM_CALLS 1000000u
/* The failure-rate window is CB_WINDOW_BUCKETS buckets of window / 6 ms;
 * a bucket counts up to CB_WINDOW_BUCKET_MAX failures, a window up to
 * CB_WINDOW_SUCCESS_MAX successes (breaker.c). */
#define CB_WINDOW_BUCKETS 6u
#define CB_WINDOW_BUCKET_MAX 0xffffffffffull
#define CB_WINDOW_SUCCESS_MAX 0x7fffffffffull
#define CB_CONN_TIMEOUT_SET 0x80000000u	/* conn_timeout: written */

/* A breaker's policy, as the configuration describes it. */
struct cb_policy {
	uint32_t failure_threshold;	/* 1..65535, default 5 */
	uint32_t success_threshold;	/* 1..4095, default 3 */
	uint32_t half_open_max_calls;	/* 1..4095, default 3 */
	uint32_t open_timeout_ms;	/* 1..CB_MAX_TIMEOUT_MS, default 30000 */
	uint32_t open_timeout_max_ms;	/* >= open_timeout_ms, default 600000 */
	uint32_t backoff_milli;		/* backoff x 1000, 1000..100000 */
	uint32_t failure_rate_threshold;	/* percent 1..100, 0 = off */
	uint32_t window_ms;		/* CB_MIN..CB_MAX_WINDOW_MS, 10000 */
	uint32_t minimum_calls;		/* 1..CB_MAX_MINIMUM_CALLS, 20 */
	uint8_t mode;			/* enum cb_mode */
	uint8_t reject_errno;		/* errno of a rejection, ECONNREFUSED */
	uint32_t connect_timeout_ms;	/* 0 (off) or 1..CB_MAX_TIMEOUT_MS */
	uint32_t response_timeout_ms;	/* 0 (off) or 1..CB_MAX_TIMEOUT_MS */
	uint32_t slow_call_ms;		/* slow_call_duration, 0 (off) */
	uint64_t failures[CB_ERRNO_MAX / 64];	/* bit e set: errno e fails */
};

/* A breaker lives in two parts (table.c keeps each in an array of its
 * own): the decision line, 64 bytes, holding everything a decision on an
 * open or closed breaker reads (the table's key words included), and the
 * cold part, read and written once per admitted attempt, outcome or
 * transition.  Zero-filled memory is a closed breaker with an all-zero
 * policy; cb_breaker_init() gives it a policy.  The packing of ctl, since
 * and the policy words is in words.h. */
struct cb_hot {
	_Atomic uint64_t key[3];	/* the destination (table.c's) */
	_Atomic uint64_t ctl;		/* state | hold | gen | payload */
	_Atomic uint64_t since;		/* gen (16 bits) | start ms (48 bits) */
	_Atomic uint64_t pol_a;		/* thresholds, mode, reject errno */
	_Atomic uint64_t pol_b;		/* open_timeout_ms | open_timeout_max_ms */
	_Atomic uint64_t rejected;	/* rejected_calls */
} __attribute__((aligned(64)));

struct cb_cold {
	_Atomic uint64_t admitted;	/* attempts let through */
	_Atomic uint64_t successful;
	/* the failure-rate window's failures per bucket (breaker.c), on the
	 * line of the two counters above */
	_Atomic uint64_t win[CB_WINDOW_BUCKETS];
	/* the count of successful at each bucket's start (breaker.c) */
	_Atomic uint64_t win_base[CB_WINDOW_BUCKETS];
	_Atomic uint64_t failed;
	_Atomic uint64_t transitions;	/* count | state | gen: see breaker.c */
	_Atomic uint64_t stale;		/* outcomes dropped: older generation */
	_Atomic uint64_t pol_c;		/* backoff_milli | jitter seed */
	_Atomic uint32_t last_errno;
	_Atomic uint32_t conn_timeout;	/* SET | connect_timeout_ms (0 off) */
	_Atomic uint64_t pol_r;		/* the failure-rate rule (breaker.c) */
	_Atomic uint64_t win_last;	/* latest bucket's end ms | gen */
	_Atomic uint64_t win_fail;	/* ms until a failure leaves it */
	_Atomic uint64_t win_out;	/* successes kept out of successful */
	_Atomic uint64_t fail_mask[CB_ERRNO_MAX / 64];
	/* read on transitions and probes only (closed decisions find the
	 * full generation in ctl itself) */
	_Atomic uint64_t genx;		/* full generation, last settled */
	_Atomic uint64_t probe_ms;	/* latest probe admission (ms) */
	/* the first generation of this place's destination (the place's
	 * incarnation; read only for an outcome of another generation) */
	_Atomic uint64_t born;
	/* response outcomes: read when an outcome needs the time */
	_Atomic uint32_t resp_timeout;	/* response_timeout_ms, 0 off */
	_Atomic uint32_t slow_ms;	/* slow_call_duration in ms, 0 off */
	_Atomic uint64_t slow;		/* slow_calls */
	_Atomic uint32_t last_failure;	/* enum cb_cause or an errno */
	uint32_t unused_;
};

/* A breaker: where its two parts are.  Small, passed by pointer; a table
 * fills one in (cb_table_find, cb_table_insert, cb_table_slot).  A
 * handle stays valid as long as the table is attached; whether the place
 * still holds the same destination is cb_table_holds_key's question. */
struct cb_breaker {
	struct cb_hot *hot;
	struct cb_cold *cold;
	/* The clock read when a call must publish the start of a generation
	 * somebody else began (its transitioner was killed or stalled before
	 * publishing it) or repair a start stamped in the future: the
	 * caller's now may be older than that transition (read before a
	 * stall), and an older start would shorten the open period.  Read
	 * only on those rare paths; NULL: the caller's now is used. */
	uint64_t (*clock)(void);
};

/* Both parts side by side, for a breaker outside any table (tests). */
struct cb_breaker_mem {
	struct cb_hot hot;
	struct cb_cold cold;
};

_Static_assert(sizeof(struct cb_hot) == 64,
	       "a decision reads exactly one 64-byte line");
_Static_assert(offsetof(struct cb_cold, win) +
	       sizeof(((struct cb_cold *)0)->win) == 64,
	       "admitted, successful and the window's failures: the first cold line");

/* cb_breaker_in - the handle of a breaker kept in m. */
static inline struct cb_breaker
cb_breaker_in(struct cb_breaker_mem *m)
{
	struct cb_breaker b = { &m->hot, &m->cold, 0 };

	return b;
}

/* A failure's cause (last_failure): an errno 1..CB_ERRNO_MAX-1, or one of
 * these, which are none. */
enum cb_cause {
	CB_CAUSE_ERRNO = 0,	/* the failure's errno is its cause */
	CB_CAUSE_SLOW = CB_ERRNO_MAX + 1,	/* a success too late */
	CB_CAUSE_NO_RESPONSE,	/* no first byte within response_timeout */
	CB_CAUSE_EOF,		/* the peer closed before its first byte */
};

/* What an admission hands back; pass it unchanged to record/release. */
enum cb_ticket_kind {
	CB_TICKET_NONE = 0,	/* not admitted (rejected) */
	CB_TICKET_NORMAL,	/* admitted in closed */
	CB_TICKET_PROBE,	/* admitted as a half-open probe */
	CB_TICKET_SHADOW,	/* observe mode: would have been rejected */
};
#define CB_TICKET_GEN_BITS 44
struct cb_ticket {
	uint64_t gen;		/* full generation, CB_TICKET_GEN_BITS kept */
	uint8_t kind;
};

/* A transition a call performed (why == CB_WHY_NONE: none). */
struct cb_transition {
	uint8_t from, to, why;
};

/* A consistent-enough copy for display; state is the effective one (an
 * open breaker whose time is up reads as half-open). */
struct cb_snapshot {
	enum cb_state state;
	int hold;
	uint64_t gen;			/* full generation */
	uint32_t consecutive_failures;
	uint32_t half_open_successes;
	uint32_t half_open_in_flight;
	uint32_t reopenings;		/* backoff level k */
	uint64_t total_calls, successful_calls, failed_calls;
	uint64_t rejected_calls, state_transitions, stale_outcomes;
	uint32_t window_calls, window_failures;	/* closed only, else 0 */
	uint32_t last_errno;
	uint32_t last_failure;		/* enum cb_cause or errno, 0 none */
	uint64_t slow_calls;
	int64_t opened_ms_ago;		/* -1 unless open or half-open */
	int64_t open_remaining_ms;	/* -1 unless open (and not held) */
	uint64_t open_ms;		/* length of the current open period */
};

/* cb_policy_default - fill p with the reference defaults (5, 3, 30 s, 3,
 * backoff 1.0, max 10 min, enforce, ECONNREFUSED, the five failure errnos). */
void cb_policy_default(struct cb_policy *p);

/* cb_policy_valid - 0 if every field is within the limits above, else
 * -EINVAL. */
int cb_policy_valid(const struct cb_policy *p);

/* cb_policy_is_failure - 1 if errno e counts as a destination failure. */
int cb_policy_is_failure(const struct cb_policy *p, int e);

/* cb_breaker_init - make b a closed breaker with policy p.  Only for memory
 * nobody else uses yet (tests, a fresh slot); jitter_seed decorrelates the
 * jitter of different breakers.  Not thread-safe. */
void cb_breaker_init(struct cb_breaker *b, const struct cb_policy *p,
		     uint32_t jitter_seed);

/* cb_breaker_set_policy - store p into b (atomic stores, word by word; a
 * concurrent reader sees each word old or new).  Leaves pol_a's ready bit
 * (bit 63, the table's) as it was.  Thread-safe. */
void cb_breaker_set_policy(struct cb_breaker *b, const struct cb_policy *p);

/* cb_breaker_get_policy - read b's policy.  Thread-safe. */
void cb_breaker_get_policy(const struct cb_breaker *b, struct cb_policy *p);

/* cb_breaker_connect_timeout - b's connect_timeout in ms, 0 when off
 * (one relaxed load). */
uint32_t cb_breaker_connect_timeout(const struct cb_breaker *b) CB_HOT;

/* cb_breaker_response_timeout / cb_breaker_slow_ms - b's response_timeout
 * and slow_call_duration in ms, 0 when off (one relaxed load each). */
uint32_t cb_breaker_response_timeout(const struct cb_breaker *b) CB_HOT;
uint32_t cb_breaker_slow_ms(const struct cb_breaker *b) CB_HOT;

/* cb_breaker_mode - b's enum cb_mode (one relaxed load). */
int cb_breaker_mode(const struct cb_breaker *b) CB_HOT;

/* cb_reject_errno_ok - 1 if e may be a rejection's errno: one that says
 * "cannot connect" (ECONNREFUSED EHOSTUNREACH ENETUNREACH ETIMEDOUT
 * ECONNRESET ECONNABORTED EHOSTDOWN ENETDOWN EACCES EPERM), never one
 * that makes a program wait or retry at once (EINTR, EINPROGRESS, ...). */
int cb_reject_errno_ok(int e);

/* cb_breaker_reject_errno - the errno a rejection sets (ECONNREFUSED if
 * the stored one is not cb_reject_errno_ok: the segment is not trusted). */
int cb_breaker_reject_errno(const struct cb_breaker *b);

/* cb_breaker_is_failure - 1 if errno e is a failure under b's policy. */
int cb_breaker_is_failure(const struct cb_breaker *b, int e);

/* cb_breaker_admit - decide one attempt at time now.
 * Returns 0 when the attempt may go ahead (*t says how: NORMAL, PROBE, or
 * SHADOW in observe mode when enforce would have rejected), -ECONNREFUSED
 * when it is rejected (*t is NONE), -EAGAIN when b was retired (reclaimed:
 * find the destination's breaker again; nothing counted).  Counts total/rejected calls.  *tr gets
 * the transition made, if any (open -> half-open).  Lock-free, async-signal
 * -safe, no allocation. */
int cb_breaker_admit(struct cb_breaker *b, uint64_t now, struct cb_ticket *t,
		     struct cb_transition *tr);

/* cb_breaker_admit_fast - cb_breaker_admit without the clock where the
 * state allows: closed (admitted) or open until reset (rejected), with the
 * same return values and counting.  Returns 1 when the decision needs the
 * time: then call cb_breaker_admit.  One acquire load of ctl otherwise. */
int cb_breaker_admit_fast(struct cb_breaker *b, struct cb_ticket *t) CB_HOT;

/* cb_breaker_record_fast - a success, recorded without the clock where it
 * needs none: 0 when it was counted (t is a closed admission of the
 * current generation, no failure run is under way and the failure-rate
 * rule is off), 1 when nothing was done: call cb_breaker_record. */
int cb_breaker_record_fast(struct cb_breaker *b,
			   const struct cb_ticket *t) CB_HOT;

/* cb_breaker_can_execute - 1 if an attempt at now would be admitted, 0 if
 * rejected.  Changes nothing. */
int cb_breaker_can_execute(struct cb_breaker *b, uint64_t now);

/* cb_breaker_record - the outcome of an admitted attempt: success != 0 for
 * success, else a failure with errno err (err is stored as last_errno).
 * Metrics count it and the state changes only if t's generation is still
 * current (else stale_outcomes grows); an outcome admitted before b's
 * place was reclaimed (cb_breaker_retire) is dropped, counted nowhere.  Frees a probe's place.
 * Lock-free, async-signal-safe. */
void cb_breaker_record(struct cb_breaker *b, const struct cb_ticket *t,
		       int success, int err, uint64_t now,
		       struct cb_transition *tr);

/* cb_breaker_record_cause - cb_breaker_record with the failure's cause
 * (enum cb_cause; CB_CAUSE_ERRNO: err is the cause).  CB_CAUSE_SLOW also
 * counts slow_calls.  err 0 leaves last_errno as it was. */
void cb_breaker_record_cause(struct cb_breaker *b, const struct cb_ticket *t,
			     int success, int err, int cause, uint64_t now,
			     struct cb_transition *tr);

/* cb_breaker_release - an admitted attempt ended with neither success nor
 * failure (caller's error, EAGAIN, local shortage): frees a probe's place,
 * counts nothing. */
void cb_breaker_release(struct cb_breaker *b, const struct cb_ticket *t);

/* cb_breaker_trip - open now.  hold != 0: stay open until a reset.
 * for_ms != 0: stay open for_ms (<= CB_MAX_TRIP_FOR_MS) instead of the
 * policy's open time.  Always starts a new generation and timer. */
void cb_breaker_trip(struct cb_breaker *b, uint64_t now, int hold,
		     uint32_t for_ms, struct cb_transition *tr);

/* cb_breaker_reset - close now, clearing the cycle counters and backoff. */
void cb_breaker_reset(struct cb_breaker *b, uint64_t now,
		      struct cb_transition *tr);

/* cb_breaker_life - b's place's incarnation: changes when the place is
 * reclaimed for another destination (read it, then check the table still
 * holds your key: cb_table_life does both). */
uint32_t cb_breaker_life(const struct cb_breaker *b);

/* cb_breaker_trip_life / cb_breaker_reset_life - trip or reset, but only
 * while b is still in incarnation life: 0, or -ESTALE (reclaimed meanwhile:
 * nothing done, so a trip never lands on another destination). */
int cb_breaker_trip_life(struct cb_breaker *b, uint32_t life, uint64_t now,
			 int hold, uint32_t for_ms, struct cb_transition *tr);
int cb_breaker_reset_life(struct cb_breaker *b, uint32_t life, uint64_t now,
			  struct cb_transition *tr);

/* cb_breaker_retire - take a closed breaker out of use so that its place
 * can be given to another destination (table.c: reclaim, cbctl forget):
 * one CAS from closed to "gone" at the next generation.  From then on an
 * admission returns -EAGAIN (find the breaker again), trip and reset do
 * nothing, and every outcome admitted before is dropped (record).
 * 0, or -EBUSY if b is not closed (open, half-open, held) or changed state
 * meanwhile.  Lock-free. */
int cb_breaker_retire(struct cb_breaker *b);

/* cb_breaker_rebirth - make b, retired (or never used), a fresh closed
 * breaker at a generation later than any before: counters, window and
 * transitions cleared, born set.  Only for the slot's creator, before the
 * slot is ready (nobody else uses it).  The policy is written after. */
void cb_breaker_rebirth(struct cb_breaker *b);

/* cb_breaker_snapshot - fill s for display at time now. */
void cb_breaker_snapshot(struct cb_breaker *b, uint64_t now,
			 struct cb_snapshot *s);

/* cb_breaker_window - the failure-rate window of b at now: outcomes
 * (*calls) and failures (*fails) recorded in the current generation over
 * the last window (an outcome counts for between 5/6 of window and window
 * after it was recorded: buckets of window / 6; one recorded late, after
 * a later bucket began, counts from that bucket).  0 and 0 unless closed
 * or when the rule is off.  Read-only (cbctl may call it on a read-only
 * mapping).  Thread-safe. */
void cb_breaker_window(struct cb_breaker *b, uint64_t now, uint32_t *calls,
		       uint32_t *fails);

/* cb_breaker_open_ms - the open time after k reopenings of generation gen:
 * open_timeout x backoff^k, +-10 % jitter for k > 0, capped at
 * open_timeout_max.  Exposed for tests. */
uint64_t cb_breaker_open_ms(const struct cb_policy *p, unsigned k,
			    uint32_t gen, uint32_t seed);

/* Names for people and scripts: "closed", "open", "half-open";
 * "threshold", "timeout", "probe success", ... */
const char *cb_state_name(int state);
const char *cb_why_name(int why);

#endif
