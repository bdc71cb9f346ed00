/*
 * words.h - the bit layouts of a breaker's packed 64-bit words, written
 * once for breaker.c, table.c and the tests that forge such words.
 *
 * A field is named by a pair "shift, bits"; CB_GET reads it out of a word,
 * CB_PUT places a value (masked to its width) and CB_MASK gives its bits.
 * The _Static_asserts below state what the packing relies on: fields of
 * one word never overlap, every field fits in 64 bits, and every limit the
 * configuration accepts (breaker.h) fits its field.
 *
 * ctl, the control word (changed only by compare-and-swap):
 *   bits 0-1   state (closed, open, half-open; 3: gone, retired for reclaim)
 *   bit  2     hold (open until reset)
 *   bits 3-26  generation (24 bits; every transition adds one)
 *   closed:    bits 27-42 consecutive failures, 43-63 bits 24-44 of the
 *              full generation (a closed decision's ticket needs no other
 *              word)
 *   open:      bits 27-34 reopenings k, bit 35 custom, bits 36-63 custom ms
 *   half-open: bits 27-38 successes, 39-50 probes in flight, 51-58 k
 *
 * pol_a, the policy a decision reads with the state: failure threshold,
 * success threshold, half-open places, mode, the rejection's errno, and
 * bit 63, the table's "ready" bit (the place holds a complete breaker).
 * pol_b: open_timeout and open_timeout_max (ms).  pol_c: backoff x 1000
 * and the jitter seed.  since: the low 16 bits of the generation it is the
 * start time of, and that time in ms.
 */
#ifndef CB_WORDS_H
#define CB_WORDS_H

#include <stdint.h>

#include "breaker.h"

#define CB_MASK_(s, n) ((~0ull >> (64 - (n))) << (s))
#define CB_GET_(w, s, n) (((uint64_t)(w) >> (s)) & (~0ull >> (64 - (n))))
#define CB_PUT_(v, s, n) (((uint64_t)(v) & (~0ull >> (64 - (n)))) << (s))
#define CB_END_(s, n) ((s) + (n))
/* f is a field name below ("shift, bits"); the extra level expands it */
#define CB_MASK(f) CB_MASK_(f)
#define CB_GET(w, f) CB_GET_(w, f)
#define CB_PUT(v, f) CB_PUT_(v, f)
#define CB_END(f) CB_END_(f)

/* ctl: every state */
#define CTL_STATE 0, 2
#define CTL_HOLD 2, 1
#define CTL_GEN 3, 24
#define CTL_GONE 3u			/* the state of a retired breaker */
/* ctl: closed */
#define CTL_C_CONSEC 27, 16
#define CTL_C_HI 43, 21			/* full generation bits 24-44 */
/* ctl: open */
#define CTL_O_K 27, 8
#define CTL_O_CUSTOM 35, 1
#define CTL_O_MS 36, 28
/* ctl: half-open */
#define CTL_H_SUCC 27, 12
#define CTL_H_INFL 39, 12
#define CTL_H_K 51, 8

/* pol_a */
#define POL_FAILURES 0, 16
#define POL_SUCCESSES 16, 12
#define POL_HALF_OPEN 28, 12
#define POL_MODE 40, 4
#define POL_REJECT_ERRNO 44, 8
#define POL_READY 63, 1			/* the table's: see table.c */
/* pol_b */
#define POL_OPEN_MS 0, 32
#define POL_OPEN_MAX_MS 32, 32
/* pol_c */
#define POL_BACKOFF 0, 32
#define POL_SEED 32, 32
/* pol_r, the failure-rate rule; bit 63 is always set so the word is never
 * zero, like every policy word (a zero word is "never written") */
#define POLR_WINDOW 0, 32		/* window in ms */
#define POLR_MINIMUM 32, 20		/* minimum_calls */
#define POLR_THRESHOLD 52, 7		/* percent; 0: the rule is off */
#define POLR_MARK 63, 1
/* since */
#define SINCE_TAG 0, 16
#define SINCE_MS 16, 48

/* the generation's bits kept in a closed ctl: 24 + 21 >= a ticket's */
_Static_assert(CB_END(CTL_GEN) == 27 && CB_END(CTL_C_HI) == 64,
	       "closed ctl: generation, run of failures, high generation");
_Static_assert(24 + 21 >= CB_TICKET_GEN_BITS,
	       "a closed ctl holds every generation bit a ticket keeps");
_Static_assert((CB_MASK(CTL_C_CONSEC) & CB_MASK(CTL_C_HI)) == 0 &&
	       CB_MASK(CTL_C_CONSEC) >> 27 == CB_MAX_FAILURE_THRESHOLD,
	       "closed ctl: the run of failures fits 16 bits");
_Static_assert((CB_MASK(CTL_O_K) | CB_MASK(CTL_O_CUSTOM) |
		CB_MASK(CTL_O_MS)) == ~0ull << 27 &&
	       CB_MASK(CTL_O_MS) >> 36 >= CB_MAX_TRIP_FOR_MS,
	       "open ctl: k, custom flag and a trip's time fill bits 27-63");
_Static_assert((CB_MASK(CTL_H_SUCC) & CB_MASK(CTL_H_INFL)) == 0 &&
	       (CB_MASK(CTL_H_INFL) & CB_MASK(CTL_H_K)) == 0 &&
	       CB_END(CTL_H_K) <= 64 &&
	       CB_MASK(CTL_H_SUCC) >> 27 >= CB_MAX_SUCCESS_THRESHOLD &&
	       CB_MASK(CTL_H_INFL) >> 39 >= CB_MAX_HALF_OPEN_CALLS,
	       "half-open ctl: successes, probes in flight and k fit");
_Static_assert(CB_MASK(CTL_O_K) >> 27 == 255 && CB_MASK(CTL_H_K) >> 51 == 255,
	       "open and half-open keep k in 8 bits alike");
_Static_assert(CB_MASK(POL_FAILURES) >= CB_MAX_FAILURE_THRESHOLD &&
	       CB_MASK(POL_SUCCESSES) >> 16 >= CB_MAX_SUCCESS_THRESHOLD &&
	       CB_MASK(POL_HALF_OPEN) >> 28 >= CB_MAX_HALF_OPEN_CALLS &&
	       CB_MASK(POL_MODE) >> 40 >= CB_MODE_OFF &&
	       CB_END(POL_REJECT_ERRNO) < 63,
	       "pol_a: every policy field fits, below the ready bit");
_Static_assert(CB_MASK(POLR_WINDOW) >= CB_MAX_WINDOW_MS &&
	       CB_GET(~0ull, POLR_MINIMUM) >= CB_MAX_MINIMUM_CALLS &&
	       CB_GET(~0ull, POLR_THRESHOLD) >= CB_MAX_RATE_THRESHOLD &&
	       CB_END(POLR_THRESHOLD) <= 63,
	       "pol_r: window, minimum_calls and threshold fit, below the mark");
_Static_assert(CB_MASK(POL_OPEN_MS) >= CB_MAX_TIMEOUT_MS,
	       "pol_b: open timeouts fit 32 bits");
_Static_assert(CB_MASK(POL_BACKOFF) >= CB_MAX_BACKOFF_MILLI,
	       "pol_c: backoff fits 32 bits");

#endif
