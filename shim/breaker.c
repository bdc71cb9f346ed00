/*
 * breaker.c - one circuit breaker's state machine (see breaker.h).
 *
 * The control word (ctl, 64 bits, changed only by compare-and-swap) packs
 * the state, the hold bit, a 24-bit generation and the state's counters;
 * words.h gives its layout and that of the policy words.  A decision on
 * a closed or open breaker reads the decision line only (struct cb_hot):
 * ctl, since, pol_a, pol_b, and writes rejected; genx and the other cold
 * words are read for tickets of open and half-open breakers, outcomes and
 * transitions.
 *
 * The failure-rate window (policy word pol_r): time is cut into buckets
 * of window / 6 ms; bucket number E = now / width.  The window of closed
 * generation g at bucket E is what g's outcomes counted in buckets E-5..E,
 * and it is kept without a single read-modify-write of its own on a
 * success: successes are a difference of the counter successful, which a
 * success increments anyway.
 *
 *   win_base[E % 6]  successful's count when bucket E began for g (its low
 *                    39 bits, a mark bit, and the stamp: bits 40-47 g's
 *                    low 8, bits 48-63 E's low 16), installed by CAS by the
 *                    first outcome of g in bucket E BEFORE it counts itself
 *                    (whoever comes second finds it there).  The window's
 *                    successes are successful now minus the earliest base
 *                    of g among E-5..E (none: none).
 *   win[E % 6]       g's failures in bucket E (bits 0-39) and the same
 *                    stamp: a failure is one CAS, as before.
 *   win_last         the latest bucket's end in ms (bits 0-39) and the
 *                    generation it is current for (bits 40-63, ctl's 24),
 *                    moved on, after its base is installed, by whoever
 *                    starts a bucket or a generation.  A success whose
 *                    generation it names and whose now is before that end
 *                    (the usual case) therefore only loads it: its base is
 *                    there, and it counts from that bucket.
 *   win_fail         the ms at which the latest failure's bucket leaves
 *                    the window: a success before it sums the window, a
 *                    success after it cannot meet the rule and stops.
 *   win_out          successes that are no closed window's (a probe's, a
 *                    shadow attempt's, an earlier generation's, one older
 *                    than the window): they count here instead of in
 *                    successful, so successful - base is exactly the
 *                    window's; successful_calls is the sum of the two.
 *
 * A transition to closed starts a new generation, so its window starts
 * empty without anybody clearing it: its first outcome installs a base
 * stamped with it.  Whoever moves win_last on to a new bucket first zeroes
 * the buckets that have fallen out of the window (CAS from the value seen),
 * so every live stamp lies within 6 of it and a 16-bit bucket number is
 * never ambiguous, even after a quiet day; a win_last far ahead of now (a
 * reload changed the width, a foreign clock) starts the window afresh.
 * Every word is changed by one CAS (or an add), so a process killed
 * anywhere leaves each whole: a base installed without win_last moved on
 * is found by the next outcome, a sweep half done is finished by it.
 * A base installed late (its installer was slow) can be larger than a
 * later bucket's: the window takes the largest difference, i.e. from the
 * earliest cut, and loses nothing.
 * Exact means: every success of g that found g current when it looked
 * (ctl, then win_last) is counted once, in the bucket of its now or a
 * later one; a success whose look and count straddle a transition to a
 * later closed generation and that new generation's first outcome (a few
 * instructions against an admission and a record) counts in the new
 * window.  Failures count by their stamp, exactly as their generation's.
 * Window words, successful and ctl's loads here are seq_cst: two outcomes
 * counted at once must each see the other's in the sum that follows (the
 * store-buffer case), or neither would open the breaker; on x86 that
 * costs nothing more than the add and CAS already do.
 *
 * Every transition, and nothing else, starts a new generation (so do a
 * trip while open, a reset while closed and the freeing of lost probes,
 * which change no state).  Before a CAS that starts one, settle() brings
 * the two words that follow generations up to the current one:
 *
 *   genx         the full (64-bit) generation: the 24 bits of ctl extended
 *                by the last full value settled.  It never lags ctl by more
 *                than one generation, so the extension is exact.
 *   transitions  bits 0-23 generation accounted, 24-25 its state, 26-63
 *                the count of state changes up to it.  It is always at the
 *                current generation or the one before: the count shown is
 *                the stored one plus one if the current generation changed
 *                the state.  So a process killed right after its transition
 *                CAS loses no count: the next transition or any reader
 *                completes it from ctl.
 *
 * Lost probes: a probe place is freed (by a new generation) only when the
 * latest probe admitted (probe_ms, raised before the admission's CAS) is
 * open_timeout old: every place then holds a probe at least that old.
 *
 * Reclaim (table.c): a closed breaker's place is given to another
 * destination by retiring it (a CAS of ctl from closed to GONE at the next
 * generation: nothing admits on GONE, an admission says "look again") and
 * later, by the place's next creator, a rebirth: counters cleared, ctl
 * closed at the generation after GONE's, and born set to it (low 32 bits).
 * The generation is therefore the place's incarnation: an outcome whose
 * ticket is older than born (or that finds ctl GONE) belongs to the place's
 * previous destination and is dropped whole, counted nowhere.
 *
 * Memory orders: a transition is a CAS with acq_rel on ctl, so whoever
 * loads ctl with acquire and sees the new generation also sees what the
 * transitioner wrote before (nothing else it needs: since is published
 * after and checked by its generation tag).  Counters are relaxed: each is
 * exact on its own and none orders anything else.  Policy words are relaxed:
 * each is valid on its own, and a reload may be seen word by word.
 */
#include "breaker.h"
#include "crashpoint.h"
#include "words.h"

#include <errno.h>
#include <string.h>

#define ST_MASK CB_MASK(CTL_STATE)
#define ST_GONE ((uint64_t)CTL_GONE)	/* retired for reclaim: nobody admits */
#define HOLD_BIT CB_MASK(CTL_HOLD)
#define GEN_MASK CB_GET(~0ull, CTL_GEN)
#define TICKET_MASK ((1ull << CB_TICKET_GEN_BITS) - 1)
/* the transitions account: generation (24) | state (2) | count (38) */
#define ACC_GEN 0, 24
#define ACC_STATE 24, 2
#define ACC_COUNT 26, 38

#define C_CONSEC(c) CB_GET(c, CTL_C_CONSEC)
#define C_HI(c) CB_GET(c, CTL_C_HI)
#define O_K(c) CB_GET(c, CTL_O_K)
#define O_CUSTOM(c) CB_GET(c, CTL_O_CUSTOM)
#define O_CUSTOM_MS(c) CB_GET(c, CTL_O_MS)
#define H_SUCC(c) CB_GET(c, CTL_H_SUCC)
#define H_INFL(c) CB_GET(c, CTL_H_INFL)
#define H_K(c) CB_GET(c, CTL_H_K)

#define POL_READY_BIT CB_MASK(POL_READY)
#define SINCE_OF(g) CB_PUT(g, SINCE_TAG)	/* the tag of generation g */
_Static_assert(CB_END(ACC_COUNT) == 64 && CB_END(ACC_GEN) == 24 &&
	       CB_MASK(ACC_GEN) == CB_GET(~0ull, CTL_GEN),
	       "the account keeps a whole ctl generation");

/* pol_r, the failure-rate rule: its fields in words.h */
#define PR_WINDOW(r) ((uint32_t)CB_GET(r, POLR_WINDOW))
#define PR_MINIMUM(r) ((uint32_t)CB_GET(r, POLR_MINIMUM))
#define PR_THRESHOLD(r) ((uint32_t)CB_GET(r, POLR_THRESHOLD))
#define PR_MARK CB_MASK(POLR_MARK)

/* Window words (see the top of this file).  win[] and win_base[] share
 * the stamp in bits 40-63; the count below it is failures (win[]) or a
 * mark and successful's low bits (win_base[]). */
#define WB_STAMP_SHIFT 40
#define WB_COUNT_MASK ((1ull << WB_STAMP_SHIFT) - 1)	/* failures */
#define WB_BASE_MASK ((1ull << 39) - 1)	/* successful's low bits */
#define WB_BASE_SET (1ull << 39)		/* a base, even of 0 */
#define WB_GEN_MASK 0xffu
#define WB_EPOCH_MASK 0xffffu
#define WB_EPOCH_SHIFT 8			/* in a stamp */
#define WB_STAMP_OF(w) ((w) >> WB_STAMP_SHIFT)
#define WB_GEN(w) ((uint32_t)WB_STAMP_OF(w) & WB_GEN_MASK)
#define WB_EPOCH(w) ((uint32_t)(WB_STAMP_OF(w) >> WB_EPOCH_SHIFT))
#define WB_GEN_TAG(g) ((uint32_t)(g) & WB_GEN_MASK)
#define WB_EPOCH_TAG(e) ((uint32_t)(e) & WB_EPOCH_MASK)
#define WB_STAMP(g, e) (WB_GEN_TAG(g) | \
			((uint64_t)WB_EPOCH_TAG(e) << WB_EPOCH_SHIFT))
#define WB_NONE UINT64_MAX		/* window_advance: not counted */
/* win_last: the latest bucket's end (ms) and its generation (ctl's) */
#define WL_END_MASK ((1ull << 40) - 1)
#define WL_GEN_SHIFT 40
#define WL_END(l) ((l) & WL_END_MASK)
#define WL_GEN(l) ((uint32_t)((l) >> WL_GEN_SHIFT))
#define WL_MAKE(end, g) ((end) | (((uint64_t)(g) & GEN_MASK) << WL_GEN_SHIFT))
/* beyond this now (34 years of CLOCK_MONOTONIC) the rule is off: a
 * bucket's end must fit WL_END_MASK */
#define WL_NOW_MAX (WL_END_MASK - CB_MAX_WINDOW_MS)
_Static_assert(CB_WINDOW_BUCKET_MAX == WB_COUNT_MASK, "40-bit failures");
_Static_assert(CB_WINDOW_SUCCESS_MAX == WB_BASE_MASK, "39-bit successes");
_Static_assert(CB_MIN_WINDOW_MS >= CB_WINDOW_BUCKETS, "width >= 1 ms");
_Static_assert(GEN_MASK >> 24 == 0, "a generation fits win_last's 24 bits");

static uint64_t mk_closed(uint64_t full, uint64_t consec);
static uint64_t closed_same(uint64_t c, uint64_t consec);
static uint64_t tgen(struct cb_breaker *b, uint64_t c);
static uint64_t mk_open(uint32_t gen, int hold, unsigned k, uint32_t for_ms);
static uint64_t mk_half(uint32_t gen, uint64_t succ, uint64_t infl,
			unsigned k);
static uint32_t gen_of(uint64_t c);
static int cas(struct cb_breaker *b, uint64_t *old, uint64_t nw);
static uint64_t since_ms(struct cb_breaker *b, uint64_t c, uint64_t now,
			 int help);
static void publish(struct cb_breaker *b, uint64_t c, uint64_t now);
static void policy_hot(const struct cb_breaker *b, struct cb_policy *p);
static uint64_t open_deadline(struct cb_breaker *b, uint64_t c, uint64_t now,
			      const struct cb_policy *p, int help);
static void note(struct cb_transition *tr, uint64_t from, uint64_t to,
		 int why);
static int admit_open(struct cb_breaker *b, uint64_t *c, uint64_t now,
		      const struct cb_policy *p, struct cb_ticket *t,
		      struct cb_transition *tr);
static int admit_half(struct cb_breaker *b, uint64_t *c, uint64_t now,
		      const struct cb_policy *p, struct cb_ticket *t);
static int record_closed(struct cb_breaker *b, uint64_t *c, int success,
			 uint64_t now, const struct cb_policy *p,
			 struct cb_transition *tr);
static int record_rate(struct cb_breaker *b, uint64_t *c, int success,
		       uint64_t now, const struct cb_policy *p,
		       struct cb_transition *tr);
static uint32_t bucket_age(uint64_t w, uint64_t e);
static void window_sweep(struct cb_breaker *b, uint64_t ref, int mode);
static void window_reset(struct cb_breaker *b);
static int window_taken(struct cb_breaker *b, uint64_t w, uint32_t gen,
			uint64_t e);
static int window_base(struct cb_breaker *b, uint32_t gen, uint64_t e);
static uint64_t window_advance(struct cb_breaker *b, uint32_t gen,
			       uint64_t e, uint64_t width);
static int window_add(struct cb_breaker *b, uint32_t gen, uint64_t e);
static void window_failed(struct cb_breaker *b, uint64_t until);
static void window_total(struct cb_breaker *b, uint32_t gen, uint64_t e,
			 uint64_t *calls, uint64_t *fails);
static int window_check(struct cb_breaker *b, uint64_t r, uint32_t gen,
			uint64_t now, uint64_t width);
static int window_success(struct cb_breaker *b, uint32_t gen, uint64_t now);
static int window_failure(struct cb_breaker *b, uint32_t gen, uint64_t now);
static int record_half(struct cb_breaker *b, uint64_t *c, int success,
		       uint64_t now, const struct cb_policy *p,
		       struct cb_transition *tr);
static int reject(struct cb_breaker *b, uint64_t c,
		  const struct cb_policy *p, struct cb_ticket *t);
static void transitioned(struct cb_breaker *b, uint64_t from, uint64_t to,
			 uint64_t now, int why, struct cb_transition *tr);
static uint32_t mix32(uint32_t x);
static int still(struct cb_breaker *b, uint64_t *c);
static uint64_t full_gen(struct cb_breaker *b, uint64_t c, int help);
static void settle(struct cb_breaker *b, uint64_t c);
static int cas_gen(struct cb_breaker *b, uint64_t *c, uint64_t to);
static uint64_t count_transitions(struct cb_breaker *b, uint64_t c);
static void note_probe(struct cb_breaker *b, uint64_t now);
static uint64_t probe_ms_of(struct cb_breaker *b, uint64_t now, int help);

/* ---- policy -------------------------------------------------------- */

void
cb_policy_default(struct cb_policy *p)
{
	static const int fails[] = { ECONNREFUSED, ETIMEDOUT, EHOSTUNREACH,
				     ENETUNREACH, ECONNRESET };
	size_t i;

	memset(p, 0, sizeof(*p));
	p->failure_threshold = 5;
	p->success_threshold = 3;
	p->half_open_max_calls = 3;
	p->open_timeout_ms = 30000;
	p->open_timeout_max_ms = 600000;
	p->backoff_milli = 1000;
	p->mode = CB_MODE_ENFORCE;
	p->reject_errno = ECONNREFUSED;
	p->failure_rate_threshold = 0;		/* off */
	p->window_ms = 10000;
	p->minimum_calls = 20;
	for (i = 0; i < sizeof(fails) / sizeof(fails[0]); i++)
		p->failures[fails[i] / 64] |= 1ull << (fails[i] % 64);
}

int
cb_policy_valid(const struct cb_policy *p)
{
	if (p->failure_threshold < 1 ||
	    p->failure_threshold > CB_MAX_FAILURE_THRESHOLD ||
	    p->success_threshold < 1 ||
	    p->success_threshold > CB_MAX_SUCCESS_THRESHOLD ||
	    p->half_open_max_calls < 1 ||
	    p->half_open_max_calls > CB_MAX_HALF_OPEN_CALLS ||
	    p->open_timeout_ms < 1 || p->open_timeout_ms > CB_MAX_TIMEOUT_MS ||
	    p->open_timeout_max_ms < p->open_timeout_ms ||
	    p->open_timeout_max_ms > CB_MAX_TIMEOUT_MS ||
	    p->backoff_milli < 1000 || p->backoff_milli > CB_MAX_BACKOFF_MILLI ||
	    p->mode > CB_MODE_OFF || !cb_reject_errno_ok(p->reject_errno) ||
	    p->failure_rate_threshold > CB_MAX_RATE_THRESHOLD ||
	    p->window_ms < CB_MIN_WINDOW_MS || p->window_ms > CB_MAX_WINDOW_MS ||
	    p->minimum_calls < 1 || p->minimum_calls > CB_MAX_MINIMUM_CALLS ||
	    p->connect_timeout_ms > CB_MAX_TIMEOUT_MS ||
	    p->response_timeout_ms > CB_MAX_TIMEOUT_MS ||
	    p->slow_call_ms > CB_MAX_TIMEOUT_MS)
		return -EINVAL;
	return 0;
}

int
cb_policy_is_failure(const struct cb_policy *p, int e)
{
	if (e <= 0 || e >= CB_ERRNO_MAX || e % 64 == 0)
		return 0;
	return (int)((p->failures[e / 64] >> (e % 64)) & 1);
}

/* ---- encoding ------------------------------------------------------ */

/* Closed at full generation full (its bits 0-44 are kept). */
static uint64_t
mk_closed(uint64_t full, uint64_t consec)
{
	return CB_PUT(CB_CLOSED, CTL_STATE) | CB_PUT(full, CTL_GEN) |
	       CB_PUT(consec, CTL_C_CONSEC) | CB_PUT(full >> 24, CTL_C_HI);
}

/* Closed value c with another run of failures, same generation. */
static uint64_t
closed_same(uint64_t c, uint64_t consec)
{
	return (c & ~CB_MASK(CTL_C_CONSEC)) | CB_PUT(consec, CTL_C_CONSEC);
}

static uint64_t
mk_open(uint32_t gen, int hold, unsigned k, uint32_t for_ms)
{
	uint64_t c = CB_PUT(CB_OPEN, CTL_STATE) | CB_PUT(gen, CTL_GEN) |
		     CB_PUT(k > 255 ? 255 : k, CTL_O_K);

	if (hold)
		c |= HOLD_BIT;
	if (for_ms)
		c |= CB_PUT(1, CTL_O_CUSTOM) | CB_PUT(for_ms, CTL_O_MS);
	return c;
}

static uint64_t
mk_half(uint32_t gen, uint64_t succ, uint64_t infl, unsigned k)
{
	return CB_PUT(CB_HALF_OPEN, CTL_STATE) | CB_PUT(gen, CTL_GEN) |
	       CB_PUT(succ, CTL_H_SUCC) | CB_PUT(infl, CTL_H_INFL) |
	       CB_PUT(k, CTL_H_K);
}

static uint32_t
gen_of(uint64_t c)
{
	return (uint32_t)CB_GET(c, CTL_GEN);
}

/* CAS ctl; acq_rel so the winner's view is ordered with other winners'. */
static int
cas(struct cb_breaker *b, uint64_t *old, uint64_t nw)
{
	return atomic_compare_exchange_weak_explicit(
	    &b->hot->ctl, old, nw, memory_order_acq_rel, memory_order_acquire);
}

/* ---- generations ---------------------------------------------------- */

/* The full generation of ctl value c: genx extended by the signed 24-bit
 * distance to c's generation (genx lags ctl by at most one; a stale c is
 * behind it by little).  help: raise genx to it (never lower). */
static uint64_t
full_gen(struct cb_breaker *b, uint64_t c, int help)
{
	/* relaxed: genx is only ever compared with ctl values loaded with
	 * acquire after the CAS that settled it */
	uint64_t f = atomic_load_explicit(&b->cold->genx, memory_order_relaxed), g;
	int32_t d;

	for (;;) {
		d = (int32_t)((gen_of(c) - (uint32_t)f) << 8) >> 8;
		g = f + (uint64_t)(int64_t)d;
		if (!help || d <= 0 ||
		    atomic_compare_exchange_weak_explicit(&b->cold->genx, &f, g,
		    memory_order_relaxed, memory_order_relaxed))
			return g;
	}
}

/* The generation a ticket admitted on ctl value c carries (compared in
 * CB_TICKET_GEN_BITS): closed, from c alone; otherwise through genx. */
static uint64_t
tgen(struct cb_breaker *b, uint64_t c)
{
	if ((c & ST_MASK) == CB_CLOSED)
		return (C_HI(c) << 24) | gen_of(c);
	return full_gen(b, c, 0);
}

/* Bring genx and the transitions account up to c's generation (see the
 * head comment).  Called with c current, before a CAS leaves it, and
 * after a transition with the new value. */
static void
settle(struct cb_breaker *b, uint64_t c)
{
	uint64_t a = atomic_load_explicit(&b->cold->transitions,
	    memory_order_acquire), n;
	uint32_t g = gen_of(c);

	full_gen(b, c, 1);
	if ((a & GEN_MASK) != ((g - 1) & GEN_MASK))
		return;		/* done already (or c is stale) */
	n = CB_GET(a, ACC_COUNT) + (CB_GET(a, ACC_STATE) != (c & ST_MASK));
	/* strong, once: the only other CAS possible is this same step */
	atomic_compare_exchange_strong_explicit(&b->cold->transitions, &a,
	    CB_PUT(n, ACC_COUNT) | CB_PUT(c, ACC_STATE) | CB_PUT(g, ACC_GEN),
	    memory_order_acq_rel,
	    memory_order_relaxed);
}

/* CAS ctl from *c to a value of a new generation, settling first. */
static int
cas_gen(struct cb_breaker *b, uint64_t *c, uint64_t to)
{
	settle(b, *c);
	if (!cas(b, c, to))
		return 0;
	CB_CRASH_POINT("breaker:transitioned");
	settle(b, to);
	return 1;
}

/* state_transitions as of ctl value c, loaded before (acquire).  The
 * account is at c's generation, the one before, or (c went stale while we
 * looked) later: then its own count, never one more, so that successive
 * readings never go backwards. */
static uint64_t
count_transitions(struct cb_breaker *b, uint64_t c)
{
	uint64_t a = atomic_load_explicit(&b->cold->transitions,
	    memory_order_acquire);

	return CB_GET(a, ACC_COUNT) +
	       ((a & GEN_MASK) == ((gen_of(c) - 1) & GEN_MASK) &&
		CB_GET(a, ACC_STATE) != (c & ST_MASK));
}

/* A probe is being admitted at now: raise probe_ms to it (before the
 * admission's CAS, whose release publishes it). */
static void
note_probe(struct cb_breaker *b, uint64_t now)
{
	uint64_t p = atomic_load_explicit(&b->cold->probe_ms, memory_order_relaxed);

	while (p < now && !atomic_compare_exchange_weak_explicit(&b->cold->probe_ms,
	       &p, now, memory_order_relaxed, memory_order_relaxed))
		;
}

/* The latest probe admission, a time from another clock later than now
 * counting as now (made to stick when help, as since_ms does), so a
 * probe place held by a lost probe frees open_timeout after we saw it. */
static uint64_t
probe_ms_of(struct cb_breaker *b, uint64_t now, int help)
{
	uint64_t p = atomic_load_explicit(&b->cold->probe_ms, memory_order_relaxed);

	if (p <= now)
		return p;
	if (help)	/* relaxed: as note_probe; a lost race changes nothing */
		atomic_compare_exchange_strong_explicit(&b->cold->probe_ms, &p, now,
		    memory_order_relaxed, memory_order_relaxed);
	return now;
}

/* ---- time of the current generation ------------------------------ */

/* Publish "generation of c began at now" unless someone already did or
 * the breaker has moved on.  Callers that made the transition pass their
 * own now; readers that find it missing pass theirs, which is later. */
static void
publish(struct cb_breaker *b, uint64_t c, uint64_t now)
{
	uint64_t s = atomic_load_explicit(&b->hot->since, memory_order_acquire);
	uint64_t want = SINCE_OF(gen_of(c)) | CB_PUT(now, SINCE_MS);

	while (CB_GET(s, SINCE_TAG) != SINCE_OF(gen_of(c))) {
		if (gen_of(atomic_load_explicit(&b->hot->ctl,
		    memory_order_acquire)) != gen_of(c))
			return;		/* superseded: its owner publishes */
		if (atomic_compare_exchange_weak_explicit(&b->hot->since, &s, want,
		    memory_order_acq_rel, memory_order_acquire))
			return;
	}
}

/* now, or the breaker's clock when it is later: what a call that helps
 * publish or repair another's start time takes as "now", so that a caller
 * whose now was read before a stall never installs a start earlier than
 * the transition it found (which would shorten the open period). */
static uint64_t
fresh(const struct cb_breaker *b, uint64_t now)
{
	uint64_t t;

	if (!b->clock)
		return now;
	t = b->clock();
	return t > now ? t : now;
}

/* When the generation of c began.  If nobody published it yet, help
 * (publish the breaker's clock, see fresh()) unless help == 0: readers of
 * a read-only mapping (cbctl) must not write, and take now instead. */
static uint64_t
since_ms(struct cb_breaker *b, uint64_t c, uint64_t now, int help)
{
	uint64_t s = atomic_load_explicit(&b->hot->since, memory_order_acquire);

	if (CB_GET(s, SINCE_TAG) != SINCE_OF(gen_of(c))) {
		if (!help)
			return now;
		now = fresh(b, now);
		publish(b, c, now);
		s = atomic_load_explicit(&b->hot->since, memory_order_acquire);
		if (CB_GET(s, SINCE_TAG) != SINCE_OF(gen_of(c)))
			return now;	/* moved on meanwhile; caller retries */
	}
	/* a writer with another clock (time namespace, faked time) may have
	 * stamped the future: it counts as now, and a writer makes that
	 * stick (CAS; a lost race means someone else did or moved on), so no
	 * period outlasts its policy for anybody with our clock.  A writer
	 * judges "future" by a fresh clock, not by a now read before a stall
	 * (that would move a true start back). */
	if (CB_GET(s, SINCE_MS) > now && help)
		now = fresh(b, now);
	if (CB_GET(s, SINCE_MS) > now) {
		if (help)
			atomic_compare_exchange_strong_explicit(&b->hot->since, &s,
			    (s & CB_MASK(SINCE_TAG)) | CB_PUT(now, SINCE_MS),
			    memory_order_acq_rel, memory_order_acquire);
		return now;
	}
	return CB_GET(s, SINCE_MS);
}

/* ---- policy words --------------------------------------------------- */

void
cb_breaker_init(struct cb_breaker *b, const struct cb_policy *p,
		uint32_t jitter_seed)
{
	memset(b->hot, 0, sizeof(*b->hot));
	memset(b->cold, 0, sizeof(*b->cold));
	atomic_store_explicit(&b->cold->pol_c, CB_PUT(jitter_seed, POL_SEED),
	    memory_order_relaxed);
	cb_breaker_set_policy(b, p);
	atomic_fetch_or_explicit(&b->hot->pol_a, POL_READY_BIT,
	    memory_order_release);
}

void
cb_breaker_set_policy(struct cb_breaker *b, const struct cb_policy *p)
{
	uint64_t a, seed, old;
	int i;

	/* bit 0 of every mask word is set so that no written word is zero
	 * (a zero policy word reads as "never written"); errnos 64 and 128 are
	 * therefore never failures (ENONET, EKEYREVOKED: not connect's) */
	for (i = 0; i < CB_ERRNO_MAX / 64; i++)
		atomic_store_explicit(&b->cold->fail_mask[i], p->failures[i] | 1,
				      memory_order_relaxed);
	atomic_store_explicit(&b->hot->pol_b,
	    CB_PUT(p->open_timeout_ms, POL_OPEN_MS) |
	    CB_PUT(p->open_timeout_max_ms, POL_OPEN_MAX_MS),
	    memory_order_relaxed);
	old = atomic_load_explicit(&b->cold->pol_r, memory_order_relaxed);
	/* bucket numbers change meaning, or successes went unbucketed while
	 * the rule was off: start the window afresh */
	if (PR_WINDOW(old) != p->window_ms ||
	    (PR_THRESHOLD(old) == 0 && p->failure_rate_threshold != 0))
		window_reset(b);
	atomic_store_explicit(&b->cold->pol_r, CB_PUT(p->window_ms, POLR_WINDOW) |
	    CB_PUT(p->minimum_calls, POLR_MINIMUM) |
	    CB_PUT(p->failure_rate_threshold, POLR_THRESHOLD) | PR_MARK,
	    memory_order_relaxed);
	seed = atomic_load_explicit(&b->cold->pol_c, memory_order_relaxed);
	atomic_store_explicit(&b->cold->pol_c, CB_PUT(p->backoff_milli,
	    POL_BACKOFF) | (seed & CB_MASK(POL_SEED)), memory_order_relaxed);
	/* bit 31 set: a written word is never zero (CB_MAX_TIMEOUT_MS
	 * leaves it free) */
	atomic_store_explicit(&b->cold->conn_timeout,
			      p->connect_timeout_ms | CB_CONN_TIMEOUT_SET,
			      memory_order_relaxed);
	atomic_store_explicit(&b->cold->resp_timeout, p->response_timeout_ms,
			      memory_order_relaxed);
	atomic_store_explicit(&b->cold->slow_ms, p->slow_call_ms,
			      memory_order_relaxed);
	a = CB_PUT(p->failure_threshold, POL_FAILURES) |
	    CB_PUT(p->success_threshold, POL_SUCCESSES) |
	    CB_PUT(p->half_open_max_calls, POL_HALF_OPEN) |
	    CB_PUT(p->mode, POL_MODE) |
	    CB_PUT(p->reject_errno, POL_REJECT_ERRNO);
	CB_CRASH_POINT("policy:words");
	/* the ready bit stays as it is (the table's: a reload never makes a
	 * slot being created or reclaimed ready); release: whoever sees the
	 * new word sees the other words */
	old = atomic_load_explicit(&b->hot->pol_a, memory_order_relaxed);
	while (!atomic_compare_exchange_weak_explicit(&b->hot->pol_a, &old,
	       a | (old & POL_READY_BIT), memory_order_release,
	       memory_order_relaxed))
		;
}

/* The fields a decision needs: pol_a and pol_b only (the hot line). */
static void
policy_hot(const struct cb_breaker *b, struct cb_policy *p)
{
	uint64_t a = atomic_load_explicit(&b->hot->pol_a, memory_order_relaxed);
	uint64_t t = atomic_load_explicit(&b->hot->pol_b, memory_order_relaxed);

	p->failure_threshold = (uint32_t)CB_GET(a, POL_FAILURES);
	p->success_threshold = (uint32_t)CB_GET(a, POL_SUCCESSES);
	p->half_open_max_calls = (uint32_t)CB_GET(a, POL_HALF_OPEN);
	p->mode = (uint8_t)CB_GET(a, POL_MODE);
	p->reject_errno = (uint8_t)CB_GET(a, POL_REJECT_ERRNO);
	p->open_timeout_ms = (uint32_t)CB_GET(t, POL_OPEN_MS);
	p->open_timeout_max_ms = (uint32_t)CB_GET(t, POL_OPEN_MAX_MS);
	p->backoff_milli = 0;		/* read only when k > 0 */
}

void
cb_breaker_get_policy(const struct cb_breaker *b, struct cb_policy *p)
{
	uint64_t r;
	int i;

	memset(p, 0, sizeof(*p));
	policy_hot(b, p);
	p->backoff_milli = (uint32_t)CB_GET(atomic_load_explicit(
	    &b->cold->pol_c, memory_order_relaxed), POL_BACKOFF);
	r = atomic_load_explicit(&b->cold->pol_r, memory_order_relaxed);
	p->failure_rate_threshold = PR_THRESHOLD(r);
	p->window_ms = PR_WINDOW(r);
	p->minimum_calls = PR_MINIMUM(r);
	p->connect_timeout_ms = cb_breaker_connect_timeout(b);
	p->response_timeout_ms = cb_breaker_response_timeout(b);
	p->slow_call_ms = cb_breaker_slow_ms(b);
	for (i = 0; i < CB_ERRNO_MAX / 64; i++)
		p->failures[i] = atomic_load_explicit(&b->cold->fail_mask[i],
		    memory_order_relaxed) & ~1ull;
}

/* relaxed: a policy word read on its own; a reload racing an attempt
 * gives it the old or the new timeout, either is right */
uint32_t
cb_breaker_connect_timeout(const struct cb_breaker *b)
{
	return atomic_load_explicit(&b->cold->conn_timeout, memory_order_relaxed) &
	       ~CB_CONN_TIMEOUT_SET;
}

/* relaxed: as connect_timeout; a reload racing a connection gives the old
 * or the new value, either is right */
uint32_t
cb_breaker_response_timeout(const struct cb_breaker *b)
{
	return atomic_load_explicit(&b->cold->resp_timeout, memory_order_relaxed) &
	       CB_MAX_TIMEOUT_MS;
}

uint32_t
cb_breaker_slow_ms(const struct cb_breaker *b)
{
	return atomic_load_explicit(&b->cold->slow_ms, memory_order_relaxed) &
	       CB_MAX_TIMEOUT_MS;
}

int
cb_breaker_mode(const struct cb_breaker *b)
{
	return (int)CB_GET(atomic_load_explicit(&b->hot->pol_a,
	    memory_order_relaxed), POL_MODE);
}

int
cb_reject_errno_ok(int e)
{
	switch (e) {
	case ECONNREFUSED: case EHOSTUNREACH: case ENETUNREACH:
	case ETIMEDOUT: case ECONNRESET: case ECONNABORTED:
	case EHOSTDOWN: case ENETDOWN: case EACCES: case EPERM:
		return 1;
	default:
		return 0;
	}
}

int
cb_breaker_reject_errno(const struct cb_breaker *b)
{
	int e = (int)CB_GET(atomic_load_explicit(&b->hot->pol_a,
	    memory_order_relaxed), POL_REJECT_ERRNO);

	return cb_reject_errno_ok(e) ? e : ECONNREFUSED;
}

int
cb_breaker_is_failure(const struct cb_breaker *b, int e)
{
	if (e <= 0 || e >= CB_ERRNO_MAX || e % 64 == 0)
		return 0;
	return (int)((atomic_load_explicit(&b->cold->fail_mask[e / 64],
		      memory_order_relaxed) >> (e % 64)) & 1);
}

/* ---- open time ----------------------------------------------------- */

static uint32_t
mix32(uint32_t x)
{
	x ^= x >> 16;
	x *= 0x7feb352dU;
	x ^= x >> 15;
	x *= 0x846ca68bU;
	x ^= x >> 16;
	return x;
}

uint64_t
cb_breaker_open_ms(const struct cb_policy *p, unsigned k, uint32_t gen,
		   uint32_t seed)
{
	double d = p->open_timeout_ms, cap = p->open_timeout_max_ms;
	double f = p->backoff_milli / 1000.0;
	int32_t j;
	unsigned i;

	if (k == 0)
		return p->open_timeout_ms;
	for (i = 0; i < k && d < cap; i++)
		d *= f;
	/* jitter in [-1000, +1000] ten-thousandths: +-10 %, the same in
	 * every process because it depends only on (seed, gen) */
	j = (int32_t)(mix32(seed ^ mix32(gen)) % 2001u) - 1000;
	d = (d < cap ? d : cap) * (1.0 + j / 10000.0);
	if (d > cap)
		d = cap;
	return d < 1 ? 1 : (uint64_t)d;
}

/* When the open period of ctl c ends (UINT64_MAX if held). */
static uint64_t
open_deadline(struct cb_breaker *b, uint64_t c, uint64_t now,
	      const struct cb_policy *p, int help)
{
	uint64_t start, len, pc;
	struct cb_policy q;

	if (c & HOLD_BIT)
		return UINT64_MAX;
	start = since_ms(b, c, now, help);
	if (O_CUSTOM(c)) {
		len = O_CUSTOM_MS(c);
	} else if (O_K(c) == 0) {
		len = p->open_timeout_ms;
	} else {
		pc = atomic_load_explicit(&b->cold->pol_c,
		    memory_order_relaxed);
		q = *p;
		q.backoff_milli = (uint32_t)CB_GET(pc, POL_BACKOFF);
		len = cb_breaker_open_ms(&q, (unsigned)O_K(c), gen_of(c),
		    (uint32_t)CB_GET(pc, POL_SEED));
	}
	return start + len;
}

static void
note(struct cb_transition *tr, uint64_t from, uint64_t to, int why)
{
	if (tr) {
		tr->from = (uint8_t)(from & ST_MASK);
		tr->to = (uint8_t)(to & ST_MASK);
		tr->why = (uint8_t)why;
	}
}

/* A transition won: count it, publish its start time, report it. */
static void
transitioned(struct cb_breaker *b, uint64_t from, uint64_t to, uint64_t now,
	     int why, struct cb_transition *tr)
{
	int moved = (from & ST_MASK) != (to & ST_MASK);

	/* counted by settle() (cas_gen), not here: a kill before this line
	 * loses the event and the start time's precision, not the count */
	publish(b, to, now);
	/* a manual trip or reset is always reported, even open -> open */
	if (moved || why == CB_WHY_TRIP || why == CB_WHY_RESET)
		note(tr, from, to, why);
}

/* ---- admission ----------------------------------------------------- */

/* Reject the attempt met on ctl value c (observe mode: let it go as a
 * shadow, whose outcome is counted against c's generation). */
static int
reject(struct cb_breaker *b, uint64_t c, const struct cb_policy *p,
       struct cb_ticket *t)
{
	/* total_calls = admitted + rejected: a shadow attempt counts once */
	atomic_fetch_add_explicit(&b->hot->rejected, 1, memory_order_relaxed);
	if (p->mode == CB_MODE_OBSERVE) {
		t->gen = tgen(b, c);	/* genx: a cold line, observe only */
		t->kind = CB_TICKET_SHADOW;
		return 0;
	}
	t->gen = 0;
	t->kind = CB_TICKET_NONE;
	return -ECONNREFUSED;
}

/* About to reject on the strength of ctl value *c: -1 if it still holds,
 * else 0 (retry with the new value), so an attempt racing a transition
 * is decided on the state it meets, never on a stale one. */
static int
still(struct cb_breaker *b, uint64_t *c)
{
	uint64_t now_c = atomic_load_explicit(&b->hot->ctl, memory_order_acquire);

	if (now_c == *c)
		return -1;
	*c = now_c;
	return 0;
}

/* Open: reject until the deadline, then become half-open (this attempt is
 * the first probe).  1 = decided, 0 = lost a race, retry. */
static int
admit_open(struct cb_breaker *b, uint64_t *c, uint64_t now,
	   const struct cb_policy *p, struct cb_ticket *t,
	   struct cb_transition *tr)
{
	uint64_t from = *c, to;

	if (now < open_deadline(b, from, now, p, 1))
		return still(b, c);
	to = mk_half(gen_of(from) + 1, 0, 1, (unsigned)O_K(from));
	note_probe(b, now);
	if (!cas_gen(b, c, to))
		return 0;
	transitioned(b, from, to, now, CB_WHY_TIMEOUT, tr);
	t->gen = full_gen(b, to, 0);
	t->kind = CB_TICKET_PROBE;
	return 1;
}

/* Half-open: a place among half_open_max_calls, or, when every place is
 * held by a probe at least open_timeout old (the latest admitted is that
 * old: lost probes), a new generation that frees them.  1 = admitted,
 * 0 = retry, -1 = reject. */
static int
admit_half(struct cb_breaker *b, uint64_t *c, uint64_t now,
	   const struct cb_policy *p, struct cb_ticket *t)
{
	uint64_t from = *c, to, last, start;

	if (H_INFL(from) < p->half_open_max_calls) {
		to = mk_half(gen_of(from), H_SUCC(from), H_INFL(from) + 1,
			     (unsigned)H_K(from));
	} else {
		start = since_ms(b, from, now, 1);
		last = probe_ms_of(b, now, 1);
		if (now < (last > start ? last : start) + p->open_timeout_ms)
			return still(b, c);
		to = mk_half(gen_of(from) + 1, H_SUCC(from), 1,
			     (unsigned)H_K(from));
	}
	note_probe(b, now);
	if (gen_of(to) == gen_of(from) ? !cas(b, c, to) : !cas_gen(b, c, to))
		return 0;
	if (gen_of(to) != gen_of(from))
		publish(b, to, now);
	t->gen = full_gen(b, to, 0);
	t->kind = CB_TICKET_PROBE;
	return 1;
}

int
cb_breaker_admit(struct cb_breaker *b, uint64_t now, struct cb_ticket *t,
		 struct cb_transition *tr)
{
	struct cb_policy p;
	uint64_t c = atomic_load_explicit(&b->hot->ctl, memory_order_acquire);
	int r;

	note(tr, 0, 0, CB_WHY_NONE);
	policy_hot(b, &p);
	for (;;) {
		switch (c & ST_MASK) {
		case CB_CLOSED:
			t->gen = tgen(b, c);
			t->kind = CB_TICKET_NORMAL;
			r = 1;
			break;
		case CB_OPEN:
			r = admit_open(b, &c, now, &p, t, tr);
			break;
		case ST_GONE:	/* reclaimed meanwhile: find again */
			t->gen = 0;
			t->kind = CB_TICKET_NONE;
			return -EAGAIN;
		default:
			r = admit_half(b, &c, now, &p, t);
			break;
		}
		if (r == 1)
			break;
		if (r < 0)
			return reject(b, c, &p, t);
		/* r == 0: c was refreshed by the failed CAS */
	}
	/* a kill here loses this one attempt from total_calls */
	CB_CRASH_POINT("breaker:admitted");
	atomic_fetch_add_explicit(&b->cold->admitted, 1, memory_order_relaxed);
	return 0;
}

int
cb_breaker_admit_fast(struct cb_breaker *b, struct cb_ticket *t)
{
	uint64_t c = atomic_load_explicit(&b->hot->ctl, memory_order_acquire);
	struct cb_policy p;

	if ((c & ST_MASK) == CB_CLOSED) {
		t->gen = tgen(b, c);
		t->kind = CB_TICKET_NORMAL;
		atomic_fetch_add_explicit(&b->cold->admitted, 1,
		    memory_order_relaxed);
		return 0;
	}
	if ((c & ST_MASK) != CB_OPEN || !(c & HOLD_BIT))
		return 1;
	p.mode = (uint8_t)cb_breaker_mode(b);
	return reject(b, c, &p, t);
}

int
cb_breaker_record_fast(struct cb_breaker *b, const struct cb_ticket *t)
{
	uint64_t c = atomic_load_explicit(&b->hot->ctl, memory_order_acquire);
	uint64_t r = atomic_load_explicit(&b->cold->pol_r, memory_order_relaxed);

	/* what cb_breaker_record does for this success, whatever now is:
	 * the current closed generation's, no failure run to end, the
	 * failure-rate rule off (window_success: successful, relaxed) */
	if (t->kind != CB_TICKET_NORMAL || (c & ST_MASK) != CB_CLOSED ||
	    C_CONSEC(c) != 0 || ((tgen(b, c) ^ t->gen) & TICKET_MASK) ||
	    PR_THRESHOLD(r) != 0)
		return 1;
	atomic_fetch_add_explicit(&b->cold->successful, 1,
	    memory_order_relaxed);
	return 0;
}

int
cb_breaker_can_execute(struct cb_breaker *b, uint64_t now)
{
	struct cb_policy p;
	uint64_t c = atomic_load_explicit(&b->hot->ctl, memory_order_acquire);

	policy_hot(b, &p);
	switch (c & ST_MASK) {
	case CB_CLOSED:
		return 1;
	case CB_OPEN:
		return now >= open_deadline(b, c, now, &p, 0);
	default:
		return H_INFL(c) < p.half_open_max_calls ||
		       (now >= since_ms(b, c, now, 0) + p.open_timeout_ms &&
			now >= probe_ms_of(b, now, 0) + p.open_timeout_ms);
	}
}

/* ---- failure-rate window ------------------------------------------- */

/* How many buckets window word w lies before bucket number e, modulo
 * 2^16: 0 the same bucket, 0x8000 and more: after e. */
static uint32_t
bucket_age(uint64_t w, uint64_t e)
{
	return (WB_EPOCH_TAG(e) - WB_EPOCH(w)) & WB_EPOCH_MASK;
}

/* Zero window words (failures and bases) by CAS from the value seen (a
 * word somebody has just written is left alone).  mode 0: those out of
 * the window ending at bucket ref (older by 6 or more); 1: those of the
 * window ending at ref (after a quiet gap, everything win_last = ref
 * left); 2: all. */
static void
window_sweep(struct cb_breaker *b, uint64_t ref, int mode)
{
	_Atomic uint64_t *wp;
	uint64_t w;
	uint32_t age;
	unsigned i;

	for (i = 0; i < 2 * CB_WINDOW_BUCKETS; i++) {
		wp = i < CB_WINDOW_BUCKETS ? &b->cold->win[i] :
		     &b->cold->win_base[i - CB_WINDOW_BUCKETS];
		w = atomic_load_explicit(wp, memory_order_seq_cst);
		age = bucket_age(w, ref);
		if (w == 0 || (mode == 0 && (age < CB_WINDOW_BUCKETS ||
		    age >= 0x8000)) || (mode == 1 && age >= CB_WINDOW_BUCKETS))
			continue;
		atomic_compare_exchange_strong_explicit(wp, &w, 0,
		    memory_order_seq_cst, memory_order_seq_cst);
	}
}

/* Start the window afresh (a reload changed what a bucket number means,
 * or turned the rule on after successes went uncounted by bucket). */
static void
window_reset(struct cb_breaker *b)
{
	window_sweep(b, 0, 2);
	atomic_store_explicit(&b->cold->win_last, 0, memory_order_seq_cst);
	atomic_store_explicit(&b->cold->win_fail, 0, memory_order_seq_cst);
}

/* Window word w, found where bucket e of generation gen goes, belongs to
 * a later bucket of gen, or to another generation while gen is no longer
 * current: an outcome of (gen, e) is late and must leave it alone. */
static int
window_taken(struct cb_breaker *b, uint64_t w, uint32_t gen, uint64_t e)
{
	if (w == 0)
		return 0;
	if (WB_GEN(w) == WB_GEN_TAG(gen))
		return bucket_age(w, e) >= 0x8000;
	return gen_of(atomic_load_explicit(&b->hot->ctl,
	    memory_order_seq_cst)) != (gen & GEN_MASK);
}

/* Install the base of bucket e for generation gen (successful's count
 * now, before the caller's own success counts) unless it is there.  0 if
 * the slot is a later bucket's or a later generation's: then gen's window
 * has moved on without us, and the caller is late. */
static int
window_base(struct cb_breaker *b, uint32_t gen, uint64_t e)
{
	_Atomic uint64_t *wp = &b->cold->win_base[e % CB_WINDOW_BUCKETS];
	uint64_t w = atomic_load_explicit(wp, memory_order_seq_cst), nw;

	while (WB_STAMP_OF(w) != WB_STAMP(gen, e) || w == 0) {
		if (window_taken(b, w, gen, e))
			return 0;
		nw = (atomic_load_explicit(&b->cold->successful,
		      memory_order_seq_cst) & WB_BASE_MASK) | WB_BASE_SET |
		     (WB_STAMP(gen, e) << WB_STAMP_SHIFT);
		if (atomic_compare_exchange_weak_explicit(wp, &w, nw,
		    memory_order_seq_cst, memory_order_seq_cst))
			return 1;
	}
	return 1;
}

/* Make the window of generation gen current for an outcome of bucket e:
 * sweep what left it, install the base of the bucket it now ends at, move
 * win_last on.  Returns that bucket (e, or the latest if e is older but
 * still in the window), or WB_NONE if e has left the window or gen is no
 * longer current. */
static uint64_t
window_advance(struct cb_breaker *b, uint32_t gen, uint64_t e,
	       uint64_t width)
{
	uint64_t l = atomic_load_explicit(&b->cold->win_last,
	    memory_order_seq_cst);
	uint64_t n, t;	/* n: the latest bucket + 1 (0: none yet) */

	for (;;) {
		n = WL_END(l) / width;
		if (WL_GEN(l) != (gen & GEN_MASK) &&
		    gen_of(atomic_load_explicit(&b->hot->ctl,
		    memory_order_seq_cst)) != (gen & GEN_MASK))
			return WB_NONE;	/* a later generation's */
		if (n > e && n - e <= CB_WINDOW_BUCKETS &&
		    WL_GEN(l) == (gen & GEN_MASK))
			return n - 1;		/* current already */
		if (n > e + CB_WINDOW_BUCKETS &&
		    n - e <= 2 * CB_WINDOW_BUCKETS)
			return WB_NONE;		/* a late outcome */
		t = e;
		if (n > e)		/* far ahead: width changed, clock */
			window_sweep(b, e, 2);
		else if (n != 0 && e - (n - 1) >= CB_WINDOW_BUCKETS)
			window_sweep(b, n - 1, 1);
		else if (n != 0 && e >= n)
			window_sweep(b, e, 0);
		else if (n != 0)	/* a new generation, same window */
			t = n - 1;
		CB_CRASH_POINT("window:swept");
		if (!window_base(b, gen, t))
			return WB_NONE;
		CB_CRASH_POINT("window:based");
		if (atomic_compare_exchange_weak_explicit(&b->cold->win_last,
		    &l, WL_MAKE((t + 1) * width, gen), memory_order_seq_cst,
		    memory_order_seq_cst))
			return t;
	}
}

/* Count one failure of generation gen in bucket e: 1 counted (or the
 * bucket is full), 0 not (gen is no longer current, or the bucket has
 * moved on past e). */
static int
window_add(struct cb_breaker *b, uint32_t gen, uint64_t e)
{
	_Atomic uint64_t *wp = &b->cold->win[e % CB_WINDOW_BUCKETS];
	uint64_t w = atomic_load_explicit(wp, memory_order_seq_cst), nw;
	uint64_t first = (WB_STAMP(gen, e) << WB_STAMP_SHIFT) | 1;

	for (;;) {
		if (w != 0 && WB_STAMP_OF(w) == WB_STAMP(gen, e)) {
			if ((w & WB_COUNT_MASK) == WB_COUNT_MASK)
				return 1;
			nw = w + 1;		/* the usual case */
		} else if (window_taken(b, w, gen, e)) {
			return 0;
		} else {
			nw = first;
		}
		if (atomic_compare_exchange_weak_explicit(wp, &w, nw,
		    memory_order_seq_cst, memory_order_seq_cst))
			return 1;
	}
}

/* Raise win_fail to until (never lower it). */
static void
window_failed(struct cb_breaker *b, uint64_t until)
{
	uint64_t f = atomic_load_explicit(&b->cold->win_fail,
	    memory_order_seq_cst);

	while (f < until && !atomic_compare_exchange_weak_explicit(
	       &b->cold->win_fail, &f, until, memory_order_seq_cst,
	       memory_order_seq_cst))
		;
}

/* The window of generation gen ending at bucket e: failures from the
 * stamped buckets, successes from the earliest base among them (read
 * before successful, so no difference is negative). */
static void
window_total(struct cb_breaker *b, uint32_t gen, uint64_t e, uint64_t *calls,
	     uint64_t *fails)
{
	uint64_t w, f = 0, s = 0, cur, base[CB_WINDOW_BUCKETS];
	unsigned k, nb = 0, i = (unsigned)(e % CB_WINDOW_BUCKETS);

	for (k = 0; k < CB_WINDOW_BUCKETS; k++) {
		w = atomic_load_explicit(&b->cold->win[i],
		    memory_order_seq_cst);
		if (w != 0 && WB_STAMP_OF(w) == WB_STAMP(gen, e - k))
			f += w & WB_COUNT_MASK;
		w = atomic_load_explicit(&b->cold->win_base[i],
		    memory_order_seq_cst);
		if (w != 0 && WB_STAMP_OF(w) == WB_STAMP(gen, e - k))
			base[nb++] = w & WB_BASE_MASK;
		i = i ? i - 1 : CB_WINDOW_BUCKETS - 1;
	}
	cur = atomic_load_explicit(&b->cold->successful, memory_order_seq_cst);
	for (k = 0; k < nb; k++)
		if (((cur - base[k]) & WB_BASE_MASK) > s)
			s = (cur - base[k]) & WB_BASE_MASK;
	*calls = s + f;
	*fails = f;
}

/* The failure-rate rule (policy word r) over gen's window at now, ending
 * at win_last's bucket if it is gen's and later than now's. */
static int
window_check(struct cb_breaker *b, uint64_t r, uint32_t gen, uint64_t now,
	     uint64_t width)
{
	uint64_t l = atomic_load_explicit(&b->cold->win_last,
	    memory_order_seq_cst);
	uint64_t e = now / width, last = WL_END(l) / width, calls, fails;
	uint64_t thr = PR_THRESHOLD(r);

	if (WL_GEN(l) == (gen & GEN_MASK) && last > e + 1)
		e = last - 1;
	window_total(b, gen, e, &calls, &fails);
	return calls >= PR_MINIMUM(r) && (uint64_t)fails * 100 >= thr * calls;
}

/* The rule's policy word and bucket width, 0 when the rule is off (or the
 * segment holds a zero window: then it is off too; or now is beyond what
 * win_last holds). */
static uint64_t
window_width(struct cb_breaker *b, uint64_t now, uint64_t *r)
{
	*r = atomic_load_explicit(&b->cold->pol_r, memory_order_relaxed);
	if (PR_THRESHOLD(*r) == 0 || now > WL_NOW_MAX)
		return 0;
	return PR_WINDOW(*r) / CB_WINDOW_BUCKETS;
}

/* A success of closed generation gen: counted in successful (after the
 * base of its bucket, see the top of this file) or, late, in win_out.  1
 * if the failure-rate rule now says open.  Usually: two loads, the add
 * the metric needs anyway, and one more load. */
static int
window_success(struct cb_breaker *b, uint32_t gen, uint64_t now)
{
	uint64_t r = atomic_load_explicit(&b->cold->pol_r,
	    memory_order_relaxed);
	uint64_t l, end, width;

	if (PR_THRESHOLD(r) == 0) {	/* relaxed: the rule is off */
		atomic_fetch_add_explicit(&b->cold->successful, 1,
		    memory_order_relaxed);
		return 0;
	}
	l = atomic_load_explicit(&b->cold->win_last, memory_order_seq_cst);
	/* win_last without gen's bits: its end if it is gen's, else >= 2^40 */
	end = l ^ ((uint64_t)(gen & GEN_MASK) << WL_GEN_SHIFT);
	if ((end <= now || end > WL_END_MASK) &&
	    (width = window_width(b, now, &r)) != 0 &&
	    window_advance(b, gen, now / width, width) == WB_NONE) {
		atomic_fetch_add_explicit(&b->cold->win_out, 1,
		    memory_order_relaxed);
		return 0;	/* late: not this window's */
	}
	/* seq_cst: after the base (read before it), before win_fail's load
	 * (the store-buffer case, see the top of this file) */
	atomic_fetch_add_explicit(&b->cold->successful, 1,
	    memory_order_seq_cst);
	CB_CRASH_POINT("window:counted");
	if (now >= atomic_load_explicit(&b->cold->win_fail,
	    memory_order_seq_cst))
		return 0;	/* no failure in the window: cannot open */
	width = window_width(b, now, &r);
	return width != 0 && window_check(b, r, gen, now, width);
}

/* A failure of closed generation gen (failed is counted already): in the
 * word of its bucket, or of the latest if that is later (as a success).
 * 1 if the failure-rate rule now says open. */
static int
window_failure(struct cb_breaker *b, uint32_t gen, uint64_t now)
{
	uint64_t r, width = window_width(b, now, &r), e;

	if (width == 0)
		return 0;
	e = window_advance(b, gen, now / width, width);
	if (e == WB_NONE || !window_add(b, gen, e))
		return 0;
	window_failed(b, (e + CB_WINDOW_BUCKETS) * width);
	return window_check(b, r, gen, now, width);
}

void
cb_breaker_window(struct cb_breaker *b, uint64_t now, uint32_t *calls,
		  uint32_t *fails)
{
	uint64_t c = atomic_load_explicit(&b->hot->ctl, memory_order_acquire);
	uint64_t r, width = window_width(b, now, &r), e, n, ca, fa;

	*calls = *fails = 0;
	if ((c & ST_MASK) != CB_CLOSED || width == 0)
		return;
	e = now / width;
	n = WL_END(atomic_load_explicit(&b->cold->win_last,
	    memory_order_seq_cst)) / width;
	if (n > e + 1 && n - e <= 2 * CB_WINDOW_BUCKETS)
		e = n - 1;		/* a clock a little ahead of ours */
	if (n == 0 || e + 1 >= n + CB_WINDOW_BUCKETS)
		return;			/* nothing since a window ago */
	window_total(b, gen_of(c), e, &ca, &fa);
	*calls = ca > UINT32_MAX ? UINT32_MAX : (uint32_t)ca;
	*fails = fa > UINT32_MAX ? UINT32_MAX : (uint32_t)fa;
}

/* ---- outcomes ------------------------------------------------------ */

/* Closed: success clears the run of failures (no write if already 0);
 * failure extends it and opens at the threshold. 1 = done, 0 = retry. */
static int
record_closed(struct cb_breaker *b, uint64_t *c, int success, uint64_t now,
	      const struct cb_policy *p, struct cb_transition *tr)
{
	uint64_t from = *c, to, n;

	if (success) {
		if (C_CONSEC(from) == 0)
			return 1;
		return cas(b, c, closed_same(from, 0));
	}
	n = C_CONSEC(from) + 1;
	if (n < p->failure_threshold)
		return cas(b, c, closed_same(from, n));
	to = mk_open(gen_of(from) + 1, 0, 0, 0);
	if (!cas_gen(b, c, to))
		return 0;
	transitioned(b, from, to, now, CB_WHY_THRESHOLD, tr);
	return 1;
}

/* Closed, and the window's failure rate has reached its threshold: open
 * whatever this outcome was (a success can bring the window to
 * minimum_calls).  The reason is the consecutive rule's if this failure
 * also completes a run.  1 = done, 0 = retry. */
static int
record_rate(struct cb_breaker *b, uint64_t *c, int success, uint64_t now,
	    const struct cb_policy *p, struct cb_transition *tr)
{
	uint64_t from = *c, to = mk_open(gen_of(from) + 1, 0, 0, 0);
	int run = !success && C_CONSEC(from) + 1 >= p->failure_threshold;

	if (!cas_gen(b, c, to))
		return 0;
	transitioned(b, from, to, now,
		     run ? CB_WHY_THRESHOLD : CB_WHY_FAILURE_RATE, tr);
	return 1;
}

/* Half-open probe: success counts toward closing, failure reopens with
 * one more step of backoff. */
static int
record_half(struct cb_breaker *b, uint64_t *c, int success, uint64_t now,
	    const struct cb_policy *p, struct cb_transition *tr)
{
	uint64_t from = *c, to, s, infl = H_INFL(from);
	unsigned k = (unsigned)H_K(from);
	int why;

	if (infl)
		infl--;
	if (success) {
		s = H_SUCC(from) + 1;
		if (s < p->success_threshold)
			return cas(b, c, mk_half(gen_of(from), s, infl, k));
		to = mk_closed(full_gen(b, from, 1) + 1, 0);
		why = CB_WHY_PROBE_SUCCESS;
	} else {
		to = mk_open(gen_of(from) + 1, 0, k < 255 ? k + 1 : k, 0);
		why = CB_WHY_PROBE_FAILURE;
	}
	if (!cas_gen(b, c, to))
		return 0;
	transitioned(b, from, to, now, why, tr);
	return 1;
}

/* t's generation is not ctl value c's: was t admitted in an earlier
 * incarnation of b's place (before a reclaim), or is the place being
 * reclaimed?  Then its outcome is not b's.  born is read only then (not on
 * the common path); it is compared in 32 bits, modulo. */
static int
other_life(struct cb_breaker *b, uint64_t c, const struct cb_ticket *t)
{
	uint32_t born;

	if ((c & ST_MASK) == ST_GONE)
		return 1;
	born = (uint32_t)atomic_load_explicit(&b->cold->born, memory_order_relaxed);
	return (int32_t)((uint32_t)t->gen - born) < 0;
}

void
cb_breaker_record(struct cb_breaker *b, const struct cb_ticket *t,
		  int success, int err, uint64_t now, struct cb_transition *tr)
{
	cb_breaker_record_cause(b, t, success, err, CB_CAUSE_ERRNO, now, tr);
}

/* A failure's metrics: failed_calls, slow_calls for a slow success, the
 * last errno and cause (relaxed: display words, each whole). */
static void
count_failure(struct cb_breaker *b, int err, int cause)
{
	atomic_fetch_add_explicit(&b->cold->failed, 1, memory_order_relaxed);
	if (cause == CB_CAUSE_SLOW)
		atomic_fetch_add_explicit(&b->cold->slow, 1, memory_order_relaxed);
	if (err > 0)
		atomic_store_explicit(&b->cold->last_errno, (uint32_t)err,
		    memory_order_relaxed);
	atomic_store_explicit(&b->cold->last_failure,
	    (uint32_t)(cause == CB_CAUSE_ERRNO ? err : cause),
	    memory_order_relaxed);
}

/* A success that is no closed window's (a probe's, a shadow attempt's,
 * an earlier generation's): counted in win_out, not in successful, from
 * which the window is derived (relaxed: a metric on its own). */
static void
count_outside(struct cb_breaker *b, int success)
{
	if (success)
		atomic_fetch_add_explicit(&b->cold->win_out, 1,
		    memory_order_relaxed);
}

void
cb_breaker_record_cause(struct cb_breaker *b, const struct cb_ticket *t,
			int success, int err, int cause, uint64_t now,
			struct cb_transition *tr)
{
	struct cb_policy p;
	uint64_t c, g;
	int done = 0, rate = 0, first;

	note(tr, 0, 0, CB_WHY_NONE);
	if (t->kind == CB_TICKET_NONE)
		return;
	c = atomic_load_explicit(&b->hot->ctl, memory_order_acquire);
	g = tgen(b, c);
	if (((g ^ t->gen) & TICKET_MASK) && other_life(b, c, t))
		return;		/* the place's previous destination's */
	if (!success)
		count_failure(b, err, cause);
	if (t->kind == CB_TICKET_SHADOW) {
		count_outside(b, success);
		return;
	}
	policy_hot(b, &p);
	for (first = 1; !done; first = 0) {
		if (!first)	/* a CAS failed: c is new */
			g = tgen(b, c);
		if (((g ^ t->gen) & TICKET_MASK) ||
		    ((c & ST_MASK) == CB_HALF_OPEN) !=
		    (t->kind == CB_TICKET_PROBE)) {
			atomic_fetch_add_explicit(&b->cold->stale, 1,
			    memory_order_relaxed);
			if (first)
				count_outside(b, success);
			return;
		}
		if ((c & ST_MASK) == CB_CLOSED) {
			if (first)	/* once, whatever the CAS retries */
				rate = success ?
				    window_success(b, (uint32_t)t->gen, now) :
				    window_failure(b, (uint32_t)t->gen, now);
			done = rate ? record_rate(b, &c, success, now, &p, tr) :
			       record_closed(b, &c, success, now, &p, tr);
		} else {
			if (first)
				count_outside(b, success);
			done = record_half(b, &c, success, now, &p, tr);
		}
	}
}

void
cb_breaker_release(struct cb_breaker *b, const struct cb_ticket *t)
{
	uint64_t c;

	if (t->kind != CB_TICKET_PROBE)
		return;
	c = atomic_load_explicit(&b->hot->ctl, memory_order_acquire);
	while (!((tgen(b, c) ^ t->gen) & TICKET_MASK) &&
	       (c & ST_MASK) == CB_HALF_OPEN && H_INFL(c) > 0) {
		if (cas(b, &c, mk_half(gen_of(c), H_SUCC(c), H_INFL(c) - 1,
		    (unsigned)H_K(c))))
			return;
	}
}

/* ---- manual control ------------------------------------------------ */

/* ctl value c still belongs to life (any life when life is NULL)?  Read
 * after c (acquire): a rebirth stores born before its ctl (release), so a
 * c of a later life comes with its born; a c of an earlier one fails the
 * CAS that follows (the reclaim changed ctl). */
static int
same_life(struct cb_breaker *b, uint64_t c, const uint32_t *life)
{
	return (c & ST_MASK) != ST_GONE &&
	       (!life || atomic_load_explicit(&b->cold->born,
	       memory_order_acquire) == *life);
}

static int
trip_in(struct cb_breaker *b, const uint32_t *life, uint64_t now, int hold,
	uint32_t for_ms, struct cb_transition *tr)
{
	uint64_t c = atomic_load_explicit(&b->hot->ctl, memory_order_acquire), to;

	note(tr, 0, 0, CB_WHY_NONE);
	if (for_ms > CB_MAX_TRIP_FOR_MS)
		for_ms = CB_MAX_TRIP_FOR_MS;
	do {
		if (!same_life(b, c, life))
			return -ESTALE;	/* reclaimed: not this breaker now */
		to = mk_open(gen_of(c) + 1, hold, 0, hold ? 0 : for_ms);
	} while (!cas_gen(b, &c, to));
	transitioned(b, c, to, now, CB_WHY_TRIP, tr);
	return 0;
}

static int
reset_in(struct cb_breaker *b, const uint32_t *life, uint64_t now,
	 struct cb_transition *tr)
{
	uint64_t c = atomic_load_explicit(&b->hot->ctl, memory_order_acquire), to;

	note(tr, 0, 0, CB_WHY_NONE);
	do {
		if (!same_life(b, c, life))
			return -ESTALE;	/* reclaimed: not this breaker now */
		to = mk_closed(full_gen(b, c, 1) + 1, 0);
	} while (!cas_gen(b, &c, to));
	transitioned(b, c, to, now, CB_WHY_RESET, tr);
	return 0;
}

void
cb_breaker_trip(struct cb_breaker *b, uint64_t now, int hold,
		uint32_t for_ms, struct cb_transition *tr)
{
	trip_in(b, NULL, now, hold, for_ms, tr);
}

void
cb_breaker_reset(struct cb_breaker *b, uint64_t now,
		 struct cb_transition *tr)
{
	reset_in(b, NULL, now, tr);
}

uint32_t
cb_breaker_life(const struct cb_breaker *b)
{
	return atomic_load_explicit(&b->cold->born, memory_order_acquire);
}

int
cb_breaker_trip_life(struct cb_breaker *b, uint32_t life, uint64_t now,
		     int hold, uint32_t for_ms, struct cb_transition *tr)
{
	return trip_in(b, &life, now, hold, for_ms, tr);
}

int
cb_breaker_reset_life(struct cb_breaker *b, uint32_t life, uint64_t now,
		      struct cb_transition *tr)
{
	return reset_in(b, &life, now, tr);
}

/* ---- reclaim (table.c) ---------------------------------------------- */

int
cb_breaker_retire(struct cb_breaker *b)
{
	uint64_t c = atomic_load_explicit(&b->hot->ctl, memory_order_acquire);

	if ((c & ST_MASK) != CB_CLOSED)
		return -EBUSY;
	/* strong: a failed CAS means the state moved; the caller gives up */
	settle(b, c);
	if (!atomic_compare_exchange_strong_explicit(&b->hot->ctl, &c,
	    CB_PUT(ST_GONE, CTL_STATE) | CB_PUT(gen_of(c) + 1, CTL_GEN),
	    memory_order_acq_rel, memory_order_acquire))
		return -EBUSY;
	CB_CRASH_POINT("breaker:retired");
	full_gen(b, atomic_load_explicit(&b->hot->ctl, memory_order_acquire), 1);
	return 0;
}

void
cb_breaker_rebirth(struct cb_breaker *b)
{
	uint64_t c = atomic_load_explicit(&b->hot->ctl, memory_order_acquire);
	uint64_t full, to;
	int i;

	if (c == 0 && atomic_load_explicit(&b->cold->genx, memory_order_relaxed)
	    == 0)
		return;		/* never used: zero memory is closed, gen 0 */
	full = full_gen(b, c, 1) + 1;
	to = mk_closed(full, 0);
	atomic_store_explicit(&b->cold->admitted, 0, memory_order_relaxed);
	atomic_store_explicit(&b->hot->rejected, 0, memory_order_relaxed);
	atomic_store_explicit(&b->cold->successful, 0, memory_order_relaxed);
	atomic_store_explicit(&b->cold->failed, 0, memory_order_relaxed);
	atomic_store_explicit(&b->cold->stale, 0, memory_order_relaxed);
	atomic_store_explicit(&b->cold->last_errno, 0, memory_order_relaxed);
	atomic_store_explicit(&b->cold->slow, 0, memory_order_relaxed);
	atomic_store_explicit(&b->cold->last_failure, 0, memory_order_relaxed);
	atomic_store_explicit(&b->cold->probe_ms, 0, memory_order_relaxed);
	atomic_store_explicit(&b->cold->win_last, 0, memory_order_relaxed);
	atomic_store_explicit(&b->cold->win_fail, 0, memory_order_relaxed);
	atomic_store_explicit(&b->cold->win_out, 0, memory_order_relaxed);
	for (i = 0; i < (int)CB_WINDOW_BUCKETS; i++) {
		atomic_store_explicit(&b->cold->win[i], 0,
		    memory_order_relaxed);
		atomic_store_explicit(&b->cold->win_base[i], 0,
		    memory_order_relaxed);
	}
	/* the account at the new generation, closed, nothing counted */
	atomic_store_explicit(&b->cold->transitions, CB_PUT(CB_CLOSED,
	    ACC_STATE) | CB_PUT(full, ACC_GEN), memory_order_relaxed);
	/* release: whoever reads this born sees the new key (table.c wrote
	 * it before) */
	atomic_store_explicit(&b->cold->born, (uint32_t)full, memory_order_release);
	atomic_store_explicit(&b->cold->genx, full, memory_order_relaxed);
	/* release: whoever sees the new ctl sees the cleared words and born */
	atomic_store_explicit(&b->hot->ctl, to, memory_order_release);
}

/* ---- display ------------------------------------------------------- */

void
cb_breaker_snapshot(struct cb_breaker *b, uint64_t now,
		    struct cb_snapshot *s)
{
	struct cb_policy p;
	uint64_t c = atomic_load_explicit(&b->hot->ctl, memory_order_acquire), dl;
	uint64_t start;

	memset(s, 0, sizeof(*s));
	policy_hot(b, &p);
	if ((c & ST_MASK) == ST_GONE)	/* being reclaimed: idle, closed */
		c = mk_closed(full_gen(b, c, 0), 0);
	s->state = (enum cb_state)(c & ST_MASK);
	s->hold = !!(c & HOLD_BIT);
	s->gen = full_gen(b, c, 0);
	s->opened_ms_ago = -1;
	s->open_remaining_ms = -1;
	if (s->state == CB_CLOSED) {
		s->consecutive_failures = (uint32_t)C_CONSEC(c);
		cb_breaker_window(b, now, &s->window_calls,
				  &s->window_failures);
	} else if (s->state == CB_OPEN) {
		s->reopenings = (uint32_t)O_K(c);
		start = since_ms(b, c, now, 0);
		s->opened_ms_ago = (int64_t)(now - start);
		dl = open_deadline(b, c, now, &p, 0);
		if (dl != UINT64_MAX) {
			s->open_ms = dl - start;
			if (now >= dl)
				s->state = CB_HALF_OPEN;	/* effective */
			else
				s->open_remaining_ms = (int64_t)(dl - now);
		}
	} else {
		s->half_open_successes = (uint32_t)H_SUCC(c);
		s->half_open_in_flight = (uint32_t)H_INFL(c);
		s->reopenings = (uint32_t)H_K(c);
		s->opened_ms_ago = (int64_t)(now - since_ms(b, c, now, 0));
	}
	s->rejected_calls = atomic_load_explicit(&b->hot->rejected,
	    memory_order_relaxed);
	s->total_calls = atomic_load_explicit(&b->cold->admitted,
	    memory_order_relaxed) + s->rejected_calls;
	s->successful_calls = atomic_load_explicit(&b->cold->successful,
	    memory_order_relaxed) + atomic_load_explicit(&b->cold->win_out,
	    memory_order_relaxed);
	s->failed_calls = atomic_load_explicit(&b->cold->failed,
	    memory_order_relaxed);
	s->state_transitions = count_transitions(b, c);
	s->stale_outcomes = atomic_load_explicit(&b->cold->stale,
	    memory_order_relaxed);
	s->last_errno = atomic_load_explicit(&b->cold->last_errno,
	    memory_order_relaxed);
	s->last_failure = atomic_load_explicit(&b->cold->last_failure,
	    memory_order_relaxed);
	s->slow_calls = atomic_load_explicit(&b->cold->slow, memory_order_relaxed);
}

const char *
cb_state_name(int state)
{
	switch (state) {
	case CB_CLOSED: return "closed";
	case CB_OPEN: return "open";
	case CB_HALF_OPEN: return "half-open";
	default: return "unknown";
	}
}

const char *
cb_why_name(int why)
{
	static const char *const n[] = { "none", "threshold", "timeout",
		"probe success", "probe failure", "trip", "reset",
		"failure rate" };

	return why >= 0 && why <= CB_WHY_FAILURE_RATE ? n[why] : "unknown";
}
