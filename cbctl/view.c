/*
 * view.c - reading breakers for people and scripts: list, show, watch.
 *
 * Reading never writes the segment.  The views attach it read-only, and a
 * breaker is first copied word by word into private memory and only the
 * copy is handed to cb_breaker_snapshot(), because the snapshot may repair
 * a missing "since" word (a transitioner killed mid-way) by writing it --
 * which on a read-only mapping would be a crash, and on a garbage slot
 * could be anything.  The copy is as consistent as the snapshot itself
 * would be: each word is read atomically, ctl first.
 */
#include "cbctl.h"
#include "dest.h"
#include "json.h"
#include "rates.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <langinfo.h>
#include <locale.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define NCOLS 10
#define NRATES 4		/* watch's columns after the list's */
#define CELL (CB_NAME_MAX + 1)	/* a list cell: fits any destination, name */
#define NAME_COL 1
#define NAME_MIN 12		/* a shortened NAME column keeps this much */

/* What watch adds to the list's rows. */
struct rate_view {
	const struct cbctl_rates *rt;	/* parallel to the rows */
	uint64_t now_ms;
	int utf8;
};

static int row_cmp(const void *a, const void *b);
static void row_cells(const struct cbctl_row *r, char cells[][CELL]);
static void rate_cells(const struct cbctl_rate *h, const struct rate_view *rv,
		       char cells[][CELL]);
static void print_table(FILE *f, struct cb_table *t,
			const struct cbctl_row *rows, size_t n,
			const struct rate_view *rv);
static int term_columns(void);
static int text_width(const char *s);
static void fit_name(int *w, int nc, int last);
static void shorten(char *s, int width);
static void row_json(struct json *j, const struct cbctl_row *r, int full);
static void policy_json(struct json *j, const struct cb_policy *p);
static void show_human(FILE *f, const struct cbctl_row *r);
static void show_policy(FILE *f, const struct cb_policy *p);
static void show_print(const struct cbctl_row *r, int nr, int as_json,
		       int several);
static void milli_text(uint32_t milli, char *buf, size_t len);
static const char *mode_name(int mode);
static void failures_text(const struct cb_policy *p, char *buf, size_t len);
static int parse_interval(const char *s, uint64_t *ms);
static const char *failure_name(uint32_t cause, char *buf, size_t len);
static int watch_frame(struct cbctl *c, int tty, uint64_t interval_ms,
		       int first, struct cbctl_rates *rt, int utf8);

/* ---- reading -------------------------------------------------------- */

void
cbctl_read_breaker(struct cbctl_row *r, struct cb_breaker *b,
		   const struct cb_dest *d, uint32_t slot, uint64_t now)
{
	/* snapshot and get_policy only read (a read-only mapping) */
	memset(r, 0, sizeof(*r));
	r->dest = *d;
	r->slot = slot;
	cb_dest_format(d, r->name, sizeof(r->name));
	cb_breaker_snapshot(b, now, &r->s);
	cb_breaker_get_policy(b, &r->p);
}

void
cbctl_read_name(struct cbctl_row *r, struct cb_table *t)
{
	cb_table_get_name(t, r->slot, r->host);
}

/* By family (IPv4 first), address, port: the order people expect. */
static int
row_cmp(const void *a, const void *b)
{
	const struct cbctl_row *x = a, *y = b;
	int r;

	if (x->dest.family != y->dest.family)
		return x->dest.family == AF_INET ? -1 : 1;
	if ((r = memcmp(x->dest.addr, y->dest.addr, sizeof(x->dest.addr))))
		return r;
	return (int)x->dest.port - (int)y->dest.port;
}

int
cbctl_read_all(struct cb_table *t, struct cbctl_row **rows, size_t *n)
{
	uint32_t i, slots = cb_table_slots(t);
	uint64_t now = cb_now_ms();
	struct cbctl_row *v = NULL, *nv;
	struct cb_breaker bh, *b = &bh;
	struct cb_dest d;
	size_t cap = 0, k = 0;

	for (i = 0; i < slots; i++) {
		if (cb_table_slot(t, i, b, &d) < 0)
			continue;
		if (k == cap) {
			cap = cap ? cap * 2 : 64;
			if (!(nv = realloc(v, cap * sizeof(*v)))) {
				free(v);
				return -ENOMEM;
			}
			v = nv;
		}
		cbctl_read_breaker(&v[k], b, &d, i, now);
		cbctl_read_name(&v[k++], t);
	}
	if (k > 1)
		qsort(v, k, sizeof(*v), row_cmp);
	*rows = v;
	*n = k;
	return 0;
}

/* ---- formatting ------------------------------------------------------ */

void
cbctl_duration(uint64_t ms, char *buf, size_t len)
{
	uint64_t s = ms / 1000;

	if (ms < 1000)
		snprintf(buf, len, "%" PRIu64 "ms", ms);
	else if (s < 60)
		snprintf(buf, len, "%" PRIu64 ".%" PRIu64 "s", s,
			 (ms % 1000) / 100);
	else if (s < 3600)
		snprintf(buf, len, "%" PRIu64 "m%02" PRIu64 "s", s / 60, s % 60);
	else if (s < 86400)
		snprintf(buf, len, "%" PRIu64 "h%02" PRIu64 "m", s / 3600,
			 s / 60 % 60);
	else
		snprintf(buf, len, "%" PRIu64 "d%02" PRIu64 "h", s / 86400,
			 s / 3600 % 24);
}

const char *
cbctl_errno_name(uint32_t e, char *buf, size_t len)
{
	const char *n;

	if (e == 0)
		return NULL;
	if (e < 4096 && (n = cb_errno_name((int)e)) != NULL)
		return n;
	if (e < 4096 && (n = strerrorname_np((int)e)) != NULL)
		return n;
	snprintf(buf, len, "E%u", e);
	return buf;
}

static const char *
mode_name(int mode)
{
	switch (mode) {
	case CB_MODE_ENFORCE: return "enforce";
	case CB_MODE_OBSERVE: return "observe";
	case CB_MODE_OFF: return "off";
	default: return "unknown";
	}
}

/* The list row: DEST NAME STATE TOTAL OK FAIL REJECTED TRANS LEFT ERRNO. */
static void
row_cells(const struct cbctl_row *r, char cells[][CELL])
{
	const struct cb_snapshot *s = &r->s;
	char eb[16];
	const char *en;

	snprintf(cells[0], CELL, "%s", r->name);
	snprintf(cells[1], CELL, "%s", r->host[0] ? r->host : "-");
	snprintf(cells[2], CELL, "%s", cb_state_name(s->state));
	snprintf(cells[3], CELL, "%" PRIu64, s->total_calls);
	snprintf(cells[4], CELL, "%" PRIu64, s->successful_calls);
	snprintf(cells[5], CELL, "%" PRIu64, s->failed_calls);
	snprintf(cells[6], CELL, "%" PRIu64, s->rejected_calls);
	snprintf(cells[7], CELL, "%" PRIu64, s->state_transitions);
	if (s->state == CB_OPEN && s->hold)
		snprintf(cells[8], CELL, "held");
	else if (s->state == CB_OPEN && s->open_remaining_ms >= 0)
		cbctl_duration((uint64_t)s->open_remaining_ms, cells[8], CELL);
	else
		snprintf(cells[8], CELL, "-");
	en = cbctl_errno_name(s->last_errno, eb, sizeof(eb));
	snprintf(cells[9], CELL, "%s", en ? en : "-");
}

/* The terminal's width: $COLUMNS, else the window size of stdout when it
 * is a terminal, else 0 (no limit: scripts and pipes get whole names). */
static int
term_columns(void)
{
	const char *e = getenv("COLUMNS");
	struct winsize ws;
	char *end;
	long v;

	if (e && *e) {
		v = strtol(e, &end, 10);
		if (*end == '\0' && v > 0 && v < 100000)
			return (int)v;
	}
	if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
		return ws.ws_col;
	return 0;
}

/* Columns s takes on a terminal: UTF-8 continuation bytes take none. */
static int
text_width(const char *s)
{
	int n = 0;

	for (; *s; s++)
		n += ((unsigned char)*s & 0xc0) != 0x80;
	return n;
}

/* Narrow the NAME column of widths w (nc columns, the last last wide and
 * unpadded) so that a row fits the terminal; the other columns keep
 * theirs, and NAME keeps at least NAME_MIN. */
static void
fit_name(int *w, int nc, int last)
{
	int cols = term_columns(), rest = last, i;

	for (i = 0; i < nc - 1; i++)
		rest += i == NAME_COL ? 0 : w[i] + 2;
	if (cols > 0 && rest + w[NAME_COL] + 2 > cols)
		w[NAME_COL] = cols - rest - 2 > NAME_MIN ? cols - rest - 2 :
			      NAME_MIN;
}

/* Fit s into width bytes with "..." in the middle: a name's first labels
 * and its domain both stay readable. */
static void
shorten(char *s, int width)
{
	int n = (int)strlen(s), head, tail;

	if (n <= width || width < 5)
		return;
	head = (width - 3 + 1) / 2;
	tail = width - 3 - head;
	memcpy(s + head, "...", 3);
	memmove(s + head + 3, s + n - tail, (size_t)tail + 1);
}

/* watch's cells: calls/s, failures/s, rejections/s over the last
 * refresh ("-" until there are two samples) and the rejection sparkline. */
static void
rate_cells(const struct cbctl_rate *h, const struct rate_view *rv,
	   char cells[][CELL])
{
	const double v[3] = { h->calls_s, h->failed_s, h->rejected_s };
	int i;

	for (i = 0; i < 3; i++) {
		if (h->have_rates)
			snprintf(cells[i], CELL, "%.1f", v[i]);
		else
			snprintf(cells[i], CELL, "-");
	}
	cbctl_rate_spark(h, rv->now_ms, rv->utf8, cells[3], CELL);
}

/* The list table; with rv, watch's rate columns too (the sparkline last,
 * so its multibyte cells need no padding). */
static void
print_table(FILE *f, struct cb_table *t, const struct cbctl_row *rows,
	    size_t n, const struct rate_view *rv)
{
	static const char *const head[NCOLS + NRATES] = { "DEST", "NAME",
		"STATE", "TOTAL", "OK", "FAIL", "REJECTED", "TRANS", "LEFT",
		"ERRNO", "CALLS/S", "FAIL/S", "REJ/S", "REJECTED 1m" };
	/* text columns left-aligned, numbers right-aligned */
	static const int left[NCOLS + NRATES] = { 1, 1, 1, 0, 0, 0, 0, 0, 0,
		1, 0, 0, 0, 1 };
	char cells[NCOLS + NRATES][CELL];
	int w[NCOLS + NRATES], i, len, nc = rv ? NCOLS + NRATES : NCOLS;
	int last;
	size_t k;

	for (i = 0; i < nc; i++)
		w[i] = (int)strlen(head[i]);
	last = w[nc - 1];
	for (k = 0; k < n; k++) {
		row_cells(&rows[k], cells);
		if (rv)
			rate_cells(&rv->rt->v[k], rv, cells + NCOLS);
		for (i = 0; i < nc - 1; i++)
			if ((len = (int)strlen(cells[i])) > w[i])
				w[i] = len;
		if ((len = text_width(cells[nc - 1])) > last)
			last = len;
	}
	fit_name(w, nc, last);
	for (k = 0; k <= n; k++) {
		if (k > 0) {
			row_cells(&rows[k - 1], cells);
			if (rv)
				rate_cells(&rv->rt->v[k - 1], rv, cells + NCOLS);
			shorten(cells[NAME_COL], w[NAME_COL]);
		}
		for (i = 0; i < nc; i++) {
			const char *v = k == 0 ? head[i] : cells[i];

			if (i == nc - 1)
				fprintf(f, "%s\n", v);
			else
				fprintf(f, left[i] ? "%-*s  " : "%*s  ", w[i], v);
		}
	}
	if (n == 0)
		fprintf(f, "(no breakers in %s yet)\n", cb_table_name(t));
	if (cb_table_unprotected(t) > 0 || cb_table_reclaimed(t) > 0) {
		fprintf(f, "table full (max_breakers %u): %" PRIu64 " attempts "
			"to new destinations went unprotected",
			cb_table_capacity(t), cb_table_unprotected(t));
		if (cb_table_reclaimed(t) > 0)
			fprintf(f, ", %" PRIu64 " idle breakers reclaimed",
				cb_table_reclaimed(t));
		fputc('\n', f);
	}
}

void
cbctl_print_list(FILE *f, struct cb_table *t, const struct cbctl_row *rows,
		 size_t n)
{
	print_table(f, t, rows, n, NULL);
}

static void
failures_text(const struct cb_policy *p, char *buf, size_t len)
{
	size_t used = 0;
	char eb[16];
	int e, n;

	buf[0] = '\0';
	for (e = 1; e < CB_ERRNO_MAX && used < len; e++) {
		if (!cb_policy_is_failure(p, e))
			continue;
		n = snprintf(buf + used, len - used, "%s%s", used ? " " : "",
			     cbctl_errno_name((uint32_t)e, eb, sizeof(eb)));
		if (n < 0)
			break;
		used += (size_t)n;
	}
}

/* ---- JSON ------------------------------------------------------------ */

static void
policy_json(struct json *j, const struct cb_policy *p)
{
	char eb[16];
	int e;

	json_obj_begin(j);
	json_key(j, "mode");
	json_str(j, mode_name(p->mode));
	json_key(j, "failure_threshold");
	json_u64(j, p->failure_threshold);
	json_key(j, "success_threshold");
	json_u64(j, p->success_threshold);
	json_key(j, "open_timeout_ms");
	json_u64(j, p->open_timeout_ms);
	json_key(j, "half_open_max_calls");
	json_u64(j, p->half_open_max_calls);
	json_key(j, "backoff");
	json_milli(j, p->backoff_milli);
	json_key(j, "open_timeout_max_ms");
	json_u64(j, p->open_timeout_max_ms);
	json_key(j, "failures");
	json_arr_begin(j);
	for (e = 1; e < CB_ERRNO_MAX; e++)
		if (cb_policy_is_failure(p, e))
			json_str(j, cbctl_errno_name((uint32_t)e, eb,
						     sizeof(eb)));
	json_arr_end(j);
	json_key(j, "reject_errno");
	json_str(j, cbctl_errno_name(p->reject_errno, eb, sizeof(eb)));
	json_key(j, "failure_rate_threshold");	/* null: the rule is off */
	if (p->failure_rate_threshold)
		json_u64(j, p->failure_rate_threshold);
	else
		json_null(j);
	json_key(j, "window_ms");
	json_u64(j, p->window_ms);
	json_key(j, "minimum_calls");
	json_u64(j, p->minimum_calls);
	json_key(j, "connect_timeout_ms");
	json_u64(j, p->connect_timeout_ms);
	json_key(j, "response_timeout_ms");
	json_u64(j, p->response_timeout_ms);
	json_key(j, "slow_call_duration_ms");
	json_u64(j, p->slow_call_ms);
	json_obj_end(j);
}

/* One breaker.  The keys and their order are the documented shape; show
 * (full) adds generation, reopenings and policy at the end. */
static void
row_json(struct json *j, const struct cbctl_row *r, int full)
{
	const struct cb_snapshot *s = &r->s;
	char eb[16];

	json_obj_begin(j);
	json_key(j, "dest");
	json_str(j, r->name);
	json_key(j, "name");
	json_str(j, r->host[0] ? r->host : NULL);
	json_key(j, "state");
	json_str(j, cb_state_name(s->state));
	json_key(j, "total_calls");
	json_u64(j, s->total_calls);
	json_key(j, "successful_calls");
	json_u64(j, s->successful_calls);
	json_key(j, "failed_calls");
	json_u64(j, s->failed_calls);
	json_key(j, "rejected_calls");
	json_u64(j, s->rejected_calls);
	json_key(j, "state_transitions");
	json_u64(j, s->state_transitions);
	json_key(j, "consecutive_failures");
	json_u64(j, s->consecutive_failures);
	json_key(j, "half_open_successes");
	json_u64(j, s->half_open_successes);
	json_key(j, "half_open_in_flight");
	json_u64(j, s->half_open_in_flight);
	json_key(j, "last_errno");
	json_str(j, cbctl_errno_name(s->last_errno, eb, sizeof(eb)));
	json_key(j, "slow_calls");
	json_u64(j, s->slow_calls);
	json_key(j, "last_failure");
	json_str(j, failure_name(s->last_failure, eb, sizeof(eb)));
	json_key(j, "opened_ms_ago");
	if (s->opened_ms_ago >= 0)
		json_i64(j, s->opened_ms_ago);
	else
		json_null(j);
	json_key(j, "open_remaining_ms");
	if (s->open_remaining_ms >= 0)
		json_i64(j, s->open_remaining_ms);
	else
		json_null(j);
	json_key(j, "hold");
	json_bool(j, s->hold);
	json_key(j, "stale_outcomes");
	json_u64(j, s->stale_outcomes);
	json_key(j, "window_calls");
	json_u64(j, s->window_calls);
	json_key(j, "window_failures");
	json_u64(j, s->window_failures);
	if (full) {
		json_key(j, "generation");
		json_u64(j, s->gen);
		json_key(j, "reopenings");
		json_u64(j, s->reopenings);
		json_key(j, "policy");
		policy_json(j, &r->p);
	}
	json_obj_end(j);
}

/* ---- show (human) ------------------------------------------------------ */

#define KV(k, ...) (fprintf(f, "%-26s", k ":"), fprintf(f, __VA_ARGS__), \
		    fputc('\n', f))

/* 1000 -> "1.0", 1500 -> "1.5", 1250 -> "1.25". */
static void
milli_text(uint32_t milli, char *buf, size_t len)
{
	int n = snprintf(buf, len, "%u.%03u", milli / 1000, milli % 1000);

	while (n > 2 && (size_t)n < len && buf[n - 1] == '0' &&
	       buf[n - 2] != '.')
		buf[--n] = '\0';
}

static void
show_policy(FILE *f, const struct cb_policy *p)
{
	char d1[32], fl[512], eb[16];

	fputs("policy:\n", f);
	KV("  mode", "%s", mode_name(p->mode));
	KV("  failure_threshold", "%u", p->failure_threshold);
	KV("  success_threshold", "%u", p->success_threshold);
	cbctl_duration(p->open_timeout_ms, d1, sizeof(d1));
	KV("  open_timeout", "%s", d1);
	KV("  half_open_max_calls", "%u", p->half_open_max_calls);
	milli_text(p->backoff_milli, d1, sizeof(d1));
	KV("  backoff", "%s", d1);
	cbctl_duration(p->open_timeout_max_ms, d1, sizeof(d1));
	KV("  open_timeout_max", "%s", d1);
	failures_text(p, fl, sizeof(fl));
	KV("  failures", "%s", *fl ? fl : "(none)");
	KV("  reject_errno", "%s",
	   cbctl_errno_name(p->reject_errno, eb, sizeof(eb)) ?: "-");
	if (p->failure_rate_threshold)
		KV("  failure_rate_threshold", "%u%%",
		   p->failure_rate_threshold);
	else
		KV("  failure_rate_threshold", "off");
	cbctl_duration(p->window_ms, d1, sizeof(d1));
	KV("  window", "%s", d1);
	KV("  minimum_calls", "%u", p->minimum_calls);
	if (p->connect_timeout_ms)
		cbctl_duration(p->connect_timeout_ms, d1, sizeof(d1));
	KV("  connect_timeout", "%s", p->connect_timeout_ms ? d1 : "off");
	if (p->response_timeout_ms)
		cbctl_duration(p->response_timeout_ms, d1, sizeof(d1));
	KV("  response_timeout", "%s", p->response_timeout_ms ? d1 : "off");
	if (p->slow_call_ms)
		cbctl_duration(p->slow_call_ms, d1, sizeof(d1));
	KV("  slow_call_duration", "%s", p->slow_call_ms ? d1 : "off");
}

/* The cause of a breaker's last failure (enum cb_cause, or an errno):
 * "slow", "no response", "eof", "ECONNREFUSED", ...; NULL for none. */
static const char *
failure_name(uint32_t cause, char *buf, size_t len)
{
	switch (cause) {
	case CB_CAUSE_SLOW: return "slow";
	case CB_CAUSE_NO_RESPONSE: return "no response";
	case CB_CAUSE_EOF: return "eof";
	default: return cbctl_errno_name(cause, buf, len);
	}
}

static void
show_human(FILE *f, const struct cbctl_row *r)
{
	const struct cb_snapshot *s = &r->s;
	char d[32], eb[16];
	const char *en;

	KV("dest", "%s", r->name);
	KV("name", "%s", r->host[0] ? r->host : "-");
	KV("state", "%s%s", cb_state_name(s->state),
	   s->hold && s->state == CB_OPEN ? " (held until reset)" : "");
	KV("total_calls", "%" PRIu64, s->total_calls);
	KV("successful_calls", "%" PRIu64, s->successful_calls);
	KV("failed_calls", "%" PRIu64, s->failed_calls);
	KV("rejected_calls", "%" PRIu64, s->rejected_calls);
	KV("state_transitions", "%" PRIu64, s->state_transitions);
	KV("consecutive_failures", "%u", s->consecutive_failures);
	KV("half_open_successes", "%u", s->half_open_successes);
	KV("half_open_in_flight", "%u", s->half_open_in_flight);
	en = cbctl_errno_name(s->last_errno, eb, sizeof(eb));
	KV("last_errno", "%s", en ? en : "-");
	KV("slow_calls", "%" PRIu64, s->slow_calls);
	en = failure_name(s->last_failure, eb, sizeof(eb));
	KV("last_failure", "%s", en ? en : "-");
	if (s->opened_ms_ago >= 0) {
		cbctl_duration((uint64_t)s->opened_ms_ago, d, sizeof(d));
		KV("opened", "%s ago", d);
	}
	if (s->open_remaining_ms >= 0) {
		cbctl_duration((uint64_t)s->open_remaining_ms, d, sizeof(d));
		KV("open_remaining", "%s", d);
	}
	KV("stale_outcomes", "%" PRIu64, s->stale_outcomes);
	KV("window_calls", "%u", s->window_calls);
	KV("window_failures", "%u", s->window_failures);
	KV("generation", "%" PRIu64, s->gen);
	KV("reopenings", "%u", s->reopenings);
	show_policy(f, &r->p);
}

/* ---- list ------------------------------------------------------------- */

int
cmd_list(struct cbctl *c, int argc, char **argv)
{
	static const struct option lo[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "json", no_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 },
	};
	struct cb_table *t;
	struct cbctl_row *rows;
	struct json j;
	size_t n, k;
	int ch, as_json = 0;

	optind = 0;
	while ((ch = getopt_long(argc, argv, ":h", lo, NULL)) != -1) {
		if (ch == 'h')
			return cbctl_usage("list", stdout), CBCTL_OK;
		if (ch != 'j')
			return cbctl_getopt_error("list", ch, argv);
		as_json = 1;
	}
	if (optind < argc)
		return cbctl_misuse("list", "list: unexpected argument \"%s\"",
				    argv[optind]);
	if (cbctl_attach(c, CBCTL_READ, &t) != 0)
		return CBCTL_FAIL;
	if (cbctl_read_all(t, &rows, &n) < 0) {
		cb_table_detach(t);
		return cbctl_fail("list: %s", strerror(ENOMEM));
	}
	if (as_json) {
		json_init(&j, stdout, 1);
		json_arr_begin(&j);
		for (k = 0; k < n; k++)
			row_json(&j, &rows[k], 0);
		json_arr_end(&j);
		json_end(&j);
	} else {
		cbctl_print_list(stdout, t, rows, n);
	}
	free(rows);
	cb_table_detach(t);
	return CBCTL_OK;
}

/* ---- show ------------------------------------------------------------- */

void
cbctl_no_breaker(const char *arg, const struct cb_dest *d, int nd,
		 const char *shm)
{
	char name[64];

	if (nd == 1) {
		cb_dest_format(&d[0], name, sizeof(name));
		cbctl_fail("no breaker for %s: nothing connected there through "
			   "segment %s yet, nor was it tripped", name, shm);
	} else {
		cbctl_fail("no breaker for any of the %d addresses of %s in "
			   "segment %s", nd, arg, shm);
	}
}

/* The breakers one DEST gave: an object (or key: value block) each, an
 * array when the DEST named several addresses. */
static void
show_print(const struct cbctl_row *r, int nr, int as_json, int several)
{
	struct json j;
	int i;

	if (!as_json) {
		for (i = 0; i < nr; i++) {
			if (i > 0)
				putchar('\n');
			show_human(stdout, &r[i]);
		}
		return;
	}
	json_init(&j, stdout, 1);
	if (several)
		json_arr_begin(&j);
	for (i = 0; i < nr; i++)
		row_json(&j, &r[i], 1);
	if (several)
		json_arr_end(&j);
	json_end(&j);
}

int
cmd_show(struct cbctl *c, int argc, char **argv)
{
	static const struct option lo[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "json", no_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 },
	};
	struct cb_dest *d;
	struct cbctl_row *r;
	struct cb_breaker bh, *b = &bh;
	struct cb_table *t;
	char err[256];
	uint32_t slot;
	int ch, as_json = 0, nd, nr = 0, i;

	optind = 0;
	while ((ch = getopt_long(argc, argv, ":h", lo, NULL)) != -1) {
		if (ch == 'h')
			return cbctl_usage("show", stdout), CBCTL_OK;
		if (ch != 'j')
			return cbctl_getopt_error("show", ch, argv);
		as_json = 1;
	}
	if (argc - optind != 1)
		return cbctl_misuse("show", "show: %s", argc - optind ?
				    "one DEST, please" : "no DEST");
	nd = cb_dest_parse_all(argv[optind], &d, 0, err, sizeof(err));
	if (nd == -EAGAIN)
		return cbctl_fail("%s", err);
	if (nd < 0)
		return cbctl_misuse("show", "%s", err);
	if (!(r = calloc((size_t)nd, sizeof(*r)))) {
		free(d);
		return cbctl_fail("show: %s", strerror(ENOMEM));
	}
	if (cbctl_attach(c, CBCTL_READ, &t) != 0) {
		free(r);
		free(d);
		return CBCTL_FAIL;
	}
	for (i = 0; i < nd; i++) {
		if (cb_table_find(t, &d[i], b, &slot) < 0)
			continue;
		cbctl_read_breaker(&r[nr], b, &d[i], slot, cb_now_ms());
		cbctl_read_name(&r[nr++], t);
	}
	if (nr == 0)
		cbctl_no_breaker(argv[optind], d, nd, c->shm);
	else
		show_print(r, nr, as_json, nd > 1);
	cb_table_detach(t);
	free(r);
	free(d);
	return nr == 0 ? CBCTL_FAIL : CBCTL_OK;
}

/* ---- watch ------------------------------------------------------------ */

/* "2", "0.5" (seconds) or a duration with a unit ("500ms", "1m"). */
static int
parse_interval(const char *s, uint64_t *ms)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (end != s && *end == '\0' && errno == 0) {
		if (!(v >= 0.01 && v <= 86400))
			return -EINVAL;
		*ms = (uint64_t)(v * 1000 + 0.5);
		return 0;
	}
	if (cb_parse_duration(s, ms) < 0 || *ms < 10 || *ms > 86400000)
		return -EINVAL;
	return 0;
}

/* One refresh, composed in memory and written at once (no flicker on a
 * terminal), with the rates since the previous one (rt).  0, or
 * CBCTL_FAIL if the first frame cannot be read (later ones report on
 * stderr and go on: the segment may come back). */
static int
watch_frame(struct cbctl *c, int tty, uint64_t interval_ms, int first,
	    struct cbctl_rates *rt, int utf8)
{
	struct rate_view rv = { rt, cb_now_ms(), utf8 };
	struct cb_table *t;
	struct cbctl_row *rows;
	char when[64], iv[32], *buf = NULL;
	time_t now = time(NULL);
	size_t n, len = 0;
	struct tm tm;
	FILE *f;

	if (cbctl_attach(c, CBCTL_READ, &t) != 0)
		return first ? CBCTL_FAIL : 0;
	if (cbctl_read_all(t, &rows, &n) < 0 ||
	    cbctl_rates_frame(rt, rows, n, rv.now_ms) < 0) {
		free(rows);
		cb_table_detach(t);
		return cbctl_fail("watch: %s", strerror(ENOMEM));
	}
	if (!(f = open_memstream(&buf, &len))) {
		free(rows);
		cb_table_detach(t);
		return cbctl_fail("watch: %s", strerror(errno));
	}
	strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S",
		 localtime_r(&now, &tm));
	cbctl_duration(interval_ms, iv, sizeof(iv));
	if (tty)
		fputs("\033[H\033[2J", f);		/* home, clear screen */
	else if (!first)
		fputc('\n', f);
	fprintf(f, "%s  %s  every %s  (%zu breaker%s)\n\n", when, c->shm, iv,
		n, n == 1 ? "" : "s");
	print_table(f, t, rows, n, &rv);
	fclose(f);
	fwrite(buf, 1, len, stdout);
	fflush(stdout);
	free(buf);
	free(rows);
	cb_table_detach(t);
	return 0;
}

int
cmd_watch(struct cbctl *c, int argc, char **argv)
{
	static const struct option lo[] = {
		{ "count", required_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' },
		{ "interval", required_argument, NULL, 'i' },
		{ NULL, 0, NULL, 0 },
	};
	uint64_t interval = 1000, count = 0, i;
	struct cbctl_rates rt = { NULL, 0 };
	char *end;
	int ch, tty = isatty(STDOUT_FILENO), utf8;

	optind = 0;
	while ((ch = getopt_long(argc, argv, ":h", lo, NULL)) != -1) {
		switch (ch) {
		case 'h':
			return cbctl_usage("watch", stdout), CBCTL_OK;
		case 'i':
			if (parse_interval(optarg, &interval) < 0)
				return cbctl_misuse("watch", "watch: bad "
				    "--interval \"%s\" (seconds, 0.01..86400, "
				    "or e.g. 500ms)", optarg);
			break;
		case 'n':
			errno = 0;
			count = strtoull(optarg, &end, 10);
			if (*optarg < '0' || *optarg > '9' || *end || errno ||
			    count == 0)
				return cbctl_misuse("watch", "watch: bad "
				    "--count \"%s\" (a positive number)",
				    optarg);
			break;
		default:
			return cbctl_getopt_error("watch", ch, argv);
		}
	}
	if (optind < argc)
		return cbctl_misuse("watch", "watch: unexpected argument "
				    "\"%s\"", argv[optind]);
	cbctl_catch_signals();
	/* block characters for the sparkline where the terminal takes them */
	setlocale(LC_CTYPE, "");
	utf8 = strcmp(nl_langinfo(CODESET), "UTF-8") == 0;
	for (i = 0; !cbctl_stopped(); i++) {
		if (watch_frame(c, tty, interval, i == 0, &rt, utf8) != 0) {
			cbctl_rates_free(&rt);
			return CBCTL_FAIL;
		}
		if (count && i + 1 >= count)
			break;
		if (cbctl_output_failed() || cbctl_sleep_ms(interval))
			break;
	}
	cbctl_rates_free(&rt);
	return cbctl_output_failed() ? CBCTL_FAIL : CBCTL_OK;
}
