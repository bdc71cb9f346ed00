/*
 * rates.h - what "cbctl watch" adds to the list: per-destination rates
 * over the refresh interval and a one-minute sparkline of rejections.
 *
 * Pure: the caller passes the monotonic time of each frame (ms), so the
 * unit test drives it with a fake clock.  A destination's history is
 * kept by its name from one frame to the next; a destination missing
 * from a frame is forgotten, and one whose counters went down (its
 * breaker was reclaimed or the segment recreated) starts over.
 */
#ifndef CBCTL_RATES_H
#define CBCTL_RATES_H

#include <stddef.h>
#include <stdint.h>

#include "cbctl.h"

#define CBCTL_SPARK_CELLS 12			/* cells of the sparkline */
#define CBCTL_SPARK_SPAN_MS 60000ull		/* the minute they cover */
#define CBCTL_SPARK_CELL_MS (CBCTL_SPARK_SPAN_MS / CBCTL_SPARK_CELLS)

/* One destination's history. */
struct cbctl_rate {
	char name[64];			/* the row's name: the key */
	uint64_t t_ms;			/* time of the last sample */
	uint64_t first_ms;		/* since when there is data */
	uint64_t calls, failed, rejected;	/* counters at t_ms */
	int have_rates;			/* 0 until two samples are known */
	double calls_s, failed_s, rejected_s;	/* over the last interval */
	double cell[CBCTL_SPARK_CELLS];	/* rejections in cell cell_no[] */
	uint64_t cell_no[CBCTL_SPARK_CELLS];	/* t / CELL_MS, slot = % CELLS */
};

/* The histories of one frame, parallel to its rows. */
struct cbctl_rates {
	struct cbctl_rate *v;
	size_t n;
};

/* cbctl_rate_sample - record counters at now_ms (not earlier than the
 * last sample) into h, whose name is set; a fresh h (zeroed) just takes
 * them.  Afterwards h's rates are those over [last sample, now_ms). */
void cbctl_rate_sample(struct cbctl_rate *h, uint64_t calls, uint64_t failed,
		       uint64_t rejected, uint64_t now_ms);

/* cbctl_rate_spark - the sparkline of h's rejections over the minute
 * ending at now_ms, into buf (len >= 3 * CBCTL_SPARK_CELLS + 1): one cell
 * per CELL_MS, oldest first, ' ' where there is no data yet, the lowest
 * bar for none, higher bars scaled to the minute's busiest cell.  utf8:
 * block characters, else ASCII "_.:-=+*#". */
void cbctl_rate_spark(const struct cbctl_rate *h, uint64_t now_ms, int utf8,
		      char *buf, size_t len);

/* cbctl_rates_frame - this frame's histories for rows[0..n) at now_ms:
 * each row's from r by name (sampled again), or a fresh one.  r->v is
 * replaced by an array parallel to rows.  0 or -ENOMEM (r unchanged). */
int cbctl_rates_frame(struct cbctl_rates *r, const struct cbctl_row *rows,
		      size_t n, uint64_t now_ms);

/* cbctl_rates_free - release r's array. */
void cbctl_rates_free(struct cbctl_rates *r);

#endif
