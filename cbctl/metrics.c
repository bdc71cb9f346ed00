/*
 * metrics.c - "cbctl metrics": every breaker in the Prometheus text
 * exposition format (version 0.0.4), for a node_exporter textfile
 * collector; cbctl serve (serve.c) sends the same text over HTTP through
 * cbctl_metrics_write.
 *
 * Counters are named cbshim_<metric>_total and carry the TYPE line under
 * that full name, as the official clients write them; the state is a
 * gauge with one series per state (1 for the current one), so a query
 * like cbshim_state{state="open"} == 1 finds open breakers.  Every series
 * of a breaker is labelled dest="a.b.c.d:port" / dest="[v6]:port", and
 * name="HOST" when the breaker has a host name (SPEC 2d).
 */
#include "cbctl.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

static void metric_head(FILE *f, const char *name, const char *type,
			const char *help);
static void label_escape(FILE *f, const char *s);
static void labels(FILE *f, const struct cbctl_row *r);
static void metric(FILE *f, const char *name, const struct cbctl_row *rows,
		   size_t n, size_t off, size_t width);
static void breaker_series(FILE *f, const struct cbctl_row *rows, size_t n);
static void segment_series(FILE *f, struct cb_table *t);

static void
metric_head(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* A label value: backslash, double quote and newline escaped. */
static void
label_escape(FILE *f, const char *s)
{
	for (; *s; s++) {
		if (*s == '\\' || *s == '"')
			fprintf(f, "\\%c", *s);
		else if (*s == '\n')
			fputs("\\n", f);
		else
			putc(*s, f);
	}
}

/* A breaker's labels: dest, and name when it has one. */
static void
labels(FILE *f, const struct cbctl_row *r)
{
	fputs("dest=\"", f);
	label_escape(f, r->name);
	if (r->host[0]) {
		fputs("\",name=\"", f);
		label_escape(f, r->host);
	}
	fputc('"', f);
}

/* One series per breaker of the unsigned field of its snapshot at offset
 * off, width bytes wide (a uint64_t or a uint32_t). */
static void
metric(FILE *f, const char *name, const struct cbctl_row *rows, size_t n,
       size_t off, size_t width)
{
	size_t k;
	uint64_t v;
	uint32_t v32;

	for (k = 0; k < n; k++) {
		if (width == sizeof(v32)) {
			memcpy(&v32, (const char *)&rows[k].s + off, width);
			v = v32;
		} else {
			memcpy(&v, (const char *)&rows[k].s + off, sizeof(v));
		}
		fprintf(f, "%s{", name);
		labels(f, &rows[k]);
		fprintf(f, "} %" PRIu64 "\n", v);
	}
}

#define S(f) offsetof(struct cb_snapshot, f)
static const struct {
	const char *name, *help;
	size_t off;
} counters[] = {
	{ "cbshim_calls_total", "Attempts to connect to the destination, "
	  "admitted or rejected.", S(total_calls) },
	{ "cbshim_successful_calls_total", "Attempts that connected.",
	  S(successful_calls) },
	{ "cbshim_failed_calls_total", "Attempts and connections that failed "
	  "with a failure errno.", S(failed_calls) },
	{ "cbshim_slow_calls_total", "Successes later than "
	  "slow_call_duration, counted as failures (also in failed_calls).",
	  S(slow_calls) },
	{ "cbshim_rejected_calls_total", "Attempts the breaker rejected (or, "
	  "in observe mode, would have).", S(rejected_calls) },
	{ "cbshim_state_transitions_total", "State changes of the breaker.",
	  S(state_transitions) },
	{ "cbshim_stale_outcomes_total", "Outcomes of attempts admitted in an "
	  "earlier generation (counted, state unchanged).", S(stale_outcomes) },
};

/* The per-breaker series: counters, then gauges. */
static void
breaker_series(FILE *f, const struct cbctl_row *rows, size_t n)
{
	size_t i, k;
	int st;

	for (i = 0; i < sizeof(counters) / sizeof(counters[0]); i++) {
		metric_head(f, counters[i].name, "counter", counters[i].help);
		metric(f, counters[i].name, rows, n, counters[i].off,
		       sizeof(uint64_t));
	}
	metric_head(f, "cbshim_state", "gauge", "1 for the breaker's current "
		    "state (closed, open, half-open), 0 for the others.");
	for (k = 0; k < n; k++)
		for (st = CB_CLOSED; st <= CB_HALF_OPEN; st++) {
			fputs("cbshim_state{", f);
			labels(f, &rows[k]);
			fprintf(f, ",state=\"%s\"} %d\n", cb_state_name(st),
			       rows[k].s.state == (enum cb_state)st);
		}
	metric_head(f, "cbshim_consecutive_failures", "gauge", "Failures in a "
		    "row while closed.");
	metric(f, "cbshim_consecutive_failures", rows, n,
	       S(consecutive_failures), sizeof(uint32_t));
	metric_head(f, "cbshim_half_open_in_flight", "gauge", "Probes in flight "
		    "while half-open.");
	metric(f, "cbshim_half_open_in_flight", rows, n,
	       S(half_open_in_flight), sizeof(uint32_t));
	metric_head(f, "cbshim_window_calls", "gauge", "Outcomes in the "
		    "failure-rate window now (0 unless closed with the rule "
		    "on).");
	metric(f, "cbshim_window_calls", rows, n, S(window_calls),
	       sizeof(uint32_t));
	metric_head(f, "cbshim_window_failures", "gauge", "Failures in the "
		    "failure-rate window now.");
	metric(f, "cbshim_window_failures", rows, n, S(window_failures),
	       sizeof(uint32_t));
}
#undef S

/* The segment's own series. */
static void
segment_series(FILE *f, struct cb_table *t)
{
	metric_head(f, "cbshim_unprotected_attempts_total", "counter", "Attempts "
		    "to new destinations that went unprotected: table full.");
	fprintf(f, "cbshim_unprotected_attempts_total %" PRIu64 "\n",
	       cb_table_unprotected(t));
	metric_head(f, "cbshim_reclaimed_total", "counter", "Idle closed "
		    "breakers whose place went to a new destination "
		    "(shm.reclaim_after).");
	fprintf(f, "cbshim_reclaimed_total %" PRIu64 "\n",
	       cb_table_reclaimed(t));
	metric_head(f, "cbshim_breakers", "gauge", "Breakers in the segment.");
	fprintf(f, "cbshim_breakers %u\n", cb_table_used(t));
	metric_head(f, "cbshim_max_breakers", "gauge", "Capacity of the segment "
		    "(max_breakers).");
	fprintf(f, "cbshim_max_breakers %u\n", cb_table_capacity(t));
}

int
cbctl_metrics_write(FILE *f, struct cb_table *t)
{
	struct cbctl_row *rows;
	size_t n;

	if (cbctl_read_all(t, &rows, &n) < 0)
		return -ENOMEM;
	breaker_series(f, rows, n);
	segment_series(f, t);
	free(rows);
	return 0;
}

int
cmd_metrics(struct cbctl *c, int argc, char **argv)
{
	struct cb_table *t;
	int first, r;

	if ((r = cbctl_simple_opts("metrics", argc, argv, 0, &first)) >= 0)
		return r;
	if (cbctl_attach(c, CBCTL_READ, &t) != 0)
		return CBCTL_FAIL;
	r = cbctl_metrics_write(stdout, t);
	cb_table_detach(t);
	if (r < 0)
		return cbctl_fail("metrics: %s", strerror(-r));
	return CBCTL_OK;
}
