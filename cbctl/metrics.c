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
 * name="HOST" when the breaker has a host name (the name a program
 * resolved to that address, stored with its breaker).  Which fields are
 * exported, under which names and in which order is the field table's
 * (fields.h).
 */
#include "cbctl.h"
#include "fields.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

static void metric_head(FILE *f, const char *name, const char *type,
			const char *help);
static void label_escape(FILE *f, const char *s);
static void labels(FILE *f, const struct cbctl_row *r);
static void field_series(FILE *f, const struct cbctl_field *fl,
			 const struct cbctl_row *rows, size_t n);
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

/* Field f's series: one per breaker, or, for the state, one per breaker
 * and state (1 for the current one). */
static void
field_series(FILE *f, const struct cbctl_field *fl,
	     const struct cbctl_row *rows, size_t n)
{
	struct cbctl_fval v;
	size_t k;
	int st;

	metric_head(f, fl->metric, fl->type, fl->help);
	for (k = 0; k < n; k++) {
		if (!fl->per_state) {
			cbctl_field_value(fl, &rows[k], &v);
			fprintf(f, "%s{", fl->metric);
			labels(f, &rows[k]);
			fprintf(f, "} %" PRIu64 "\n", v.num);
			continue;
		}
		for (st = CB_CLOSED; st <= CB_HALF_OPEN; st++) {
			fprintf(f, "%s{", fl->metric);
			labels(f, &rows[k]);
			fprintf(f, ",state=\"%s\"} %d\n", cb_state_name(st),
				rows[k].s.state == (enum cb_state)st);
		}
	}
}

/* The per-breaker series: the field table's metrics, by rank. */
static void
breaker_series(FILE *f, const struct cbctl_row *rows, size_t n)
{
	size_t i;
	int rank, found = 1;

	for (rank = 1; found; rank++) {
		found = 0;
		for (i = 0; i < cbctl_nfields; i++)
			if (cbctl_fields[i].metric &&
			    cbctl_fields[i].rank == rank) {
				field_series(f, &cbctl_fields[i], rows, n);
				found = 1;
			}
	}
}

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
	metric_head(f, "cbshim_segment_bytes", "gauge", "Size of the segment "
		    "in bytes (cbctl list divides it by max_breakers: the "
		    "memory per place).");
	fprintf(f, "cbshim_segment_bytes %zu\n", cb_table_size(t));
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
cmd_metrics(struct cbctl *c, const struct cbctl_args *a)
{
	struct cb_table *t;
	int r;

	(void)a;
	if (cbctl_attach(c, CBCTL_READ, &t) != 0)
		return CBCTL_FAIL;
	r = cbctl_metrics_write(stdout, t);
	cb_table_detach(t);
	if (r < 0)
		return cbctl_fail("metrics: %s", strerror(-r));
	return CBCTL_OK;
}
