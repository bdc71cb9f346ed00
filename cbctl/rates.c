/*
 * rates.c - per-destination rates and the rejection sparkline of
 * "cbctl watch" (see rates.h for the contract).
 *
 * Rates are counter differences over the time between two frames.  The
 * sparkline keeps rejections in 12 cells of 5 s on the monotonic clock;
 * the rejections of one interval are spread over the cells it spans in
 * proportion to the overlap, so any refresh interval (0.5 s or 20 s)
 * draws the same minute.  A cell is a slot of a small ring that also
 * records which cell it holds, so a slot not written for a while reads
 * as empty without ever being cleared.
 */
#include "rates.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static void spread(struct cbctl_rate *h, uint64_t a, uint64_t b,
		   uint64_t rejected);
static double cell_value(const struct cbctl_rate *h, uint64_t c);
static int rate_cmp(const void *a, const void *b);

/* Add rejected, which happened over [a, b) (a < b), to the cells of the
 * last minute that the interval overlaps. */
static void
spread(struct cbctl_rate *h, uint64_t a, uint64_t b, uint64_t rejected)
{
	uint64_t from = b > CBCTL_SPARK_SPAN_MS ? b - CBCTL_SPARK_SPAN_MS : 0;
	uint64_t c, lo, hi, s;

	for (c = (a > from ? a : from) / CBCTL_SPARK_CELL_MS;
	     c * CBCTL_SPARK_CELL_MS < b; c++) {
		lo = c * CBCTL_SPARK_CELL_MS;
		hi = lo + CBCTL_SPARK_CELL_MS;
		lo = lo > a ? lo : a;
		hi = hi < b ? hi : b;
		s = c % CBCTL_SPARK_CELLS;
		if (h->cell_no[s] != c) {
			h->cell_no[s] = c;
			h->cell[s] = 0;
		}
		h->cell[s] += (double)rejected * (double)(hi - lo) /
			      (double)(b - a);
	}
}

void
cbctl_rate_sample(struct cbctl_rate *h, uint64_t calls, uint64_t failed,
		  uint64_t rejected, uint64_t now_ms)
{
	double dt;

	if (h->first_ms == 0 || calls < h->calls || failed < h->failed ||
	    rejected < h->rejected || now_ms < h->t_ms) {
		/* first sample, or counters that started over */
		memset(h->cell, 0, sizeof(h->cell));
		memset(h->cell_no, 0xff, sizeof(h->cell_no));
		h->first_ms = now_ms ? now_ms : 1;
		h->have_rates = 0;
	} else if (now_ms > h->t_ms) {
		dt = (double)(now_ms - h->t_ms) / 1000.0;
		h->calls_s = (double)(calls - h->calls) / dt;
		h->failed_s = (double)(failed - h->failed) / dt;
		h->rejected_s = (double)(rejected - h->rejected) / dt;
		h->have_rates = 1;
		spread(h, h->t_ms, now_ms, rejected - h->rejected);
	} else {
		return;		/* same instant: nothing new to say */
	}
	h->t_ms = now_ms;
	h->calls = calls;
	h->failed = failed;
	h->rejected = rejected;
}

static double
cell_value(const struct cbctl_rate *h, uint64_t c)
{
	uint64_t s = c % CBCTL_SPARK_CELLS;

	return h->cell_no[s] == c ? h->cell[s] : 0;
}

void
cbctl_rate_spark(const struct cbctl_rate *h, uint64_t now_ms, int utf8,
		 char *buf, size_t len)
{
	static const char *const bars[2][8] = {
		{ "_", ".", ":", "-", "=", "+", "*", "#" },
		{ "\u2581", "\u2582", "\u2583", "\u2584", "\u2585", "\u2586",
		  "\u2587", "\u2588" },
	};
	uint64_t last = now_ms / CBCTL_SPARK_CELL_MS, c;
	double max = 0, v[CBCTL_SPARK_CELLS];
	size_t used = 0;
	int i, lvl, known[CBCTL_SPARK_CELLS];

	for (i = 0; i < CBCTL_SPARK_CELLS; i++) {
		/* cell i of the minute; one that ended before the first
		 * sample (or before the clock began) is unknown */
		c = last - (uint64_t)(CBCTL_SPARK_CELLS - 1 - i);
		known[i] = last >= (uint64_t)(CBCTL_SPARK_CELLS - 1 - i) &&
			   (c + 1) * CBCTL_SPARK_CELL_MS > h->first_ms;
		v[i] = known[i] ? cell_value(h, c) : 0;
		max = v[i] > max ? v[i] : max;
	}
	buf[0] = '\0';
	for (i = 0; i < CBCTL_SPARK_CELLS && used + 4 <= len; i++) {
		lvl = v[i] > 0 ? 1 + (int)(v[i] / max * 6 + 0.5) : 0;
		used += (size_t)snprintf(buf + used, len - used, "%s",
			known[i] ? bars[utf8 != 0][lvl > 7 ? 7 : lvl] : " ");
	}
}

static int
rate_cmp(const void *a, const void *b)
{
	return strcmp(((const struct cbctl_rate *)a)->name,
		      ((const struct cbctl_rate *)b)->name);
}

int
cbctl_rates_frame(struct cbctl_rates *r, const struct cbctl_row *rows,
		  size_t n, uint64_t now_ms)
{
	struct cbctl_rate *v, key, *old;
	size_t k;

	if ((v = calloc(n ? n : 1, sizeof(*v))) == NULL)
		return -ENOMEM;
	/* the previous frame's array, by name, for the lookups below */
	if (r->n)
		qsort(r->v, r->n, sizeof(*r->v), rate_cmp);
	for (k = 0; k < n; k++) {
		snprintf(key.name, sizeof(key.name), "%s", rows[k].name);
		old = r->n ? bsearch(&key, r->v, r->n, sizeof(*r->v),
				     rate_cmp) : NULL;
		if (old)
			v[k] = *old;
		else
			memcpy(v[k].name, key.name, sizeof(key.name));
		cbctl_rate_sample(&v[k], rows[k].s.total_calls,
				  rows[k].s.failed_calls,
				  rows[k].s.rejected_calls, now_ms);
	}
	free(r->v);
	r->v = v;
	r->n = n;
	return 0;
}

void
cbctl_rates_free(struct cbctl_rates *r)
{
	free(r->v);
	r->v = NULL;
	r->n = 0;
}
