/*
 * view.c - reading breakers for people and scripts: list, show, watch.
 *
 * Reading never writes the segment: the views attach it read-only, and
 * cb_breaker_snapshot() only loads (a "since" word nobody published yet
 * reads as now instead of being repaired).  What a row shows, and under
 * which name, is the field table's (fields.h); this file lays it out: the
 * aligned table of list and watch, the JSON of list and show, show's
 * key: value lines.
 */
#include "cbctl.h"
#include "dest.h"
#include "fields.h"
#include "json.h"
#include "rates.h"

#include <errno.h>
#include <inttypes.h>
#include <langinfo.h>
#include <locale.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_COLS 16
#define NRATES 4		/* watch's columns after the list's */
#define CELL (CB_NAME_MAX + 1)	/* a list cell: fits any destination, name */
#define NAME_MIN 12		/* a shortened NAME column keeps this much */

/* The columns of a table, and their widths once the rows are measured. */
struct table {
	int nc, nlist;				/* columns; the list's */
	const struct cbctl_field *field[MAX_COLS];	/* the list's */
	const char *head[MAX_COLS];
	int left[MAX_COLS];			/* left-aligned (text) */
	int w[MAX_COLS];
	int last;		/* the last column's width on a terminal */
	int name_col;
};

/* What watch adds to the list's rows. */
struct rate_view {
	const struct cbctl_rates *rt;	/* parallel to the rows */
	uint64_t now_ms;
	int utf8;
};

static int row_cmp(const void *a, const void *b);
static void size_text(uint64_t bytes, char *buf, size_t len);
static void print_segment(FILE *f, struct cb_table *t, size_t n);
static void table_init(struct table *tb, int rates);
static void table_cells(const struct table *tb, const struct cbctl_row *rows,
			size_t k, const struct rate_view *rv,
			char cells[][CELL]);
static void table_line(FILE *f, const struct table *tb, char cells[][CELL]);
static void table_end(FILE *f, struct cb_table *t, size_t n);
static void print_table(FILE *f, struct cb_table *t,
			const struct cbctl_row *rows, size_t n,
			const struct rate_view *rv);
static int term_columns(void);
static int text_width(const char *s);
static void fit_name(struct table *tb);
static void shorten(char *s, int width);
static void rate_cells(const struct cbctl_rate *h, const struct rate_view *rv,
		       char cells[][CELL]);
static void row_json(struct json *j, const struct cbctl_row *r, int full);
static void show_human(FILE *f, const struct cbctl_row *r);
static void show_print(const struct cbctl_row *r, int nr, int as_json,
		       int several);
static int parse_interval(const char *s, uint64_t *ms);
static int watch_frame(struct cbctl *c, int tty, uint64_t interval_ms,
		       int first, struct cbctl_rates *rt, int utf8);
static int watch_opts(const struct cbctl_args *a, uint64_t *interval,
		      uint64_t *count);

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

/* ---- the table of list and watch -------------------------------------- */

/* "1.6 MiB", "410 bytes". */
static void
size_text(uint64_t bytes, char *buf, size_t len)
{
	static const char *const unit[] = { "KiB", "MiB", "GiB" };
	double v = (double)bytes / 1024;
	int u = 0;

	if (bytes < 1024) {
		snprintf(buf, len, "%" PRIu64 " bytes", bytes);
		return;
	}
	while (v >= 1024 && u < 2) {
		v /= 1024;
		u++;
	}
	snprintf(buf, len, "%.1f %s", v, unit[u]);
}

/* list's first line: the segment, its places used and its memory, whole
 * and per place (the segment's size over max_breakers, header and events
 * included: what a place costs, whatever the layout). */
static void
print_segment(FILE *f, struct cb_table *t, size_t n)
{
	uint64_t size = cb_table_size(t), cap = cb_table_capacity(t);
	char whole[32];

	size_text(size, whole, sizeof(whole));
	fprintf(f, "%s: %zu of %" PRIu64 " places used, %s (%" PRIu64 " bytes "
		"per place)\n\n", cb_table_name(t), n, cap, whole,
		cap ? (size + cap / 2) / cap : size);
}

/* The columns: the list's, from the field table, then watch's rates. */
static void
table_init(struct table *tb, int rates)
{
	static const char *const rate_head[NRATES] = { "CALLS/S", "FAIL/S",
		"REJ/S", "REJECTED 1m" };
	const struct cbctl_field *fl;
	size_t i;
	int k;

	memset(tb, 0, sizeof(*tb));
	for (i = 0; i < cbctl_nfields; i++) {
		fl = &cbctl_fields[i];
		if ((k = fl->col - 1) < 0 || k >= MAX_COLS - NRATES)
			continue;
		tb->field[k] = fl;
		tb->head[k] = fl->head;
		tb->left[k] = fl->kind == CBCTL_TEXT;	/* numbers right */
		if (strcmp(fl->key, "name") == 0)
			tb->name_col = k;
		if (k >= tb->nlist)
			tb->nlist = k + 1;
	}
	tb->nc = tb->nlist;
	for (k = 0; rates && k < NRATES; k++) {
		tb->head[tb->nc] = rate_head[k];
		tb->left[tb->nc++] = k == NRATES - 1;	/* the sparkline */
	}
	for (k = 0; k < tb->nc; k++)
		tb->w[k] = (int)strlen(tb->head[k]);
	tb->last = tb->w[tb->nc - 1];
}

/* Row k's cells. */
static void
table_cells(const struct table *tb, const struct cbctl_row *rows, size_t k,
	    const struct rate_view *rv, char cells[][CELL])
{
	int i;

	for (i = 0; i < tb->nlist; i++)
		cbctl_field_text(tb->field[i], &rows[k], CBCTL_IN_LIST,
				 cells[i], CELL);
	if (rv)
		rate_cells(&rv->rt->v[k], rv, cells + tb->nlist);
}

/* One line: the head (cells NULL) or a row's cells. */
static void
table_line(FILE *f, const struct table *tb, char cells[][CELL])
{
	const char *v;
	int i;

	for (i = 0; i < tb->nc; i++) {
		v = cells ? cells[i] : tb->head[i];
		if (i == tb->nc - 1)
			fprintf(f, "%s\n", v);
		else
			fprintf(f, tb->left[i] ? "%-*s  " : "%*s  ", tb->w[i], v);
	}
}

/* After the rows: an empty segment says so; a full one says how many
 * attempts went unprotected and how many idle places were reclaimed. */
static void
table_end(FILE *f, struct cb_table *t, size_t n)
{
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

/* The list table; with rv, watch's rate columns too (the sparkline last,
 * so its multibyte cells need no padding). */
static void
print_table(FILE *f, struct cb_table *t, const struct cbctl_row *rows,
	    size_t n, const struct rate_view *rv)
{
	char cells[MAX_COLS][CELL];
	struct table tb;
	int i, len;
	size_t k;

	table_init(&tb, rv != NULL);
	for (k = 0; k < n; k++) {
		table_cells(&tb, rows, k, rv, cells);
		for (i = 0; i < tb.nc - 1; i++)
			if ((len = (int)strlen(cells[i])) > tb.w[i])
				tb.w[i] = len;
		if ((len = text_width(cells[tb.nc - 1])) > tb.last)
			tb.last = len;
	}
	fit_name(&tb);
	table_line(f, &tb, NULL);
	for (k = 0; k < n; k++) {
		table_cells(&tb, rows, k, rv, cells);
		shorten(cells[tb.name_col], tb.w[tb.name_col]);
		table_line(f, &tb, cells);
	}
	table_end(f, t, n);
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

/* Narrow the NAME column of tb so that a row fits the terminal; the
 * other columns keep their widths, and NAME keeps at least NAME_MIN. */
static void
fit_name(struct table *tb)
{
	int cols = term_columns(), rest = tb->last, i, *w = tb->w;
	int nm = tb->name_col;

	for (i = 0; i < tb->nc - 1; i++)
		rest += i == nm ? 0 : w[i] + 2;
	/* never wider than it was: a name already narrower than NAME_MIN
	 * stays as it is */
	if (cols > 0 && rest + w[nm] + 2 > cols && w[nm] > NAME_MIN)
		w[nm] = cols - rest - 2 > NAME_MIN ? cols - rest - 2 : NAME_MIN;
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

/* ---- JSON ------------------------------------------------------------ */

/* One breaker: the field table's keys in its order (the documented
 * shape); show (full) adds generation, reopenings and the policy. */
static void
row_json(struct json *j, const struct cbctl_row *r, int full)
{
	size_t i;

	json_obj_begin(j);
	for (i = 0; i < cbctl_nfields; i++)
		if (full || !cbctl_fields[i].full)
			cbctl_field_json(j, &cbctl_fields[i], r);
	if (full) {
		json_key(j, "policy");
		cbctl_policy_json(j, &r->p);
	}
	json_obj_end(j);
}

/* ---- show (human) ------------------------------------------------------ */

/* Every field with a label, as "label: value" (a time that does not
 * apply is left out), then the policy. */
static void
show_human(FILE *f, const struct cbctl_row *r)
{
	const struct cbctl_field *fl;
	char v[CELL + 32];
	struct cbctl_fval val;
	size_t i;

	for (i = 0; i < cbctl_nfields; i++) {
		fl = &cbctl_fields[i];
		if (fl->label && !*fl->label)
			continue;
		cbctl_field_value(fl, r, &val);
		if (fl->kind == CBCTL_MS && val.ms < 0)
			continue;
		cbctl_field_text(fl, r, CBCTL_IN_SHOW, v, sizeof(v));
		cbctl_kv(f, fl->label ? fl->label : fl->key, v);
	}
	cbctl_policy_show(f, &r->p);
}

/* ---- list ------------------------------------------------------------- */

int
cmd_list(struct cbctl *c, const struct cbctl_args *a)
{
	struct cb_table *t;
	struct cbctl_row *rows;
	struct json j;
	size_t n, k;

	if (cbctl_attach(c, CBCTL_READ, &t) != 0)
		return CBCTL_FAIL;
	if (cbctl_read_all(t, &rows, &n) < 0) {
		cb_table_detach(t);
		return cbctl_fail("list: %s", strerror(ENOMEM));
	}
	if (cbctl_opt(a, "json")) {
		json_init(&j, stdout, 1);
		json_arr_begin(&j);
		for (k = 0; k < n; k++)
			row_json(&j, &rows[k], 0);
		json_arr_end(&j);
		json_end(&j);
	} else {
		print_segment(stdout, t, n);
		print_table(stdout, t, rows, n, NULL);
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
cmd_show(struct cbctl *c, const struct cbctl_args *a)
{
	struct cb_dest *d;
	struct cbctl_row *r;
	struct cb_breaker bh, *b = &bh;
	struct cb_table *t;
	char err[256];
	uint32_t slot;
	int nd, nr = 0, i;

	nd = cb_dest_parse_all(a->argv[0], &d, 0, err, sizeof(err));
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
		cbctl_no_breaker(a->argv[0], d, nd, c->shm);
	else
		show_print(r, nr, cbctl_opt(a, "json") != NULL, nd > 1);
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

	/* digits and a point only: strtod would take " 1", "0x10", "1e3" */
	errno = 0;
	v = strtod(s, &end);
	if (end != s && *end == '\0' && errno == 0 &&
	    s[strspn(s, "0123456789.")] == '\0') {
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
	/* a segment gone from now on is said once, not at every refresh;
	 * each time it comes back, a new loss is said again */
	cbctl_fail_once();
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

/* watch's options: 0, or the exit status of a bad one. */
static int
watch_opts(const struct cbctl_args *a, uint64_t *interval, uint64_t *count)
{
	const char *iv = cbctl_opt(a, "interval"), *cn = cbctl_opt(a, "count");
	char *end;

	if (iv && parse_interval(iv, interval) < 0)
		return cbctl_misuse("watch", "watch: bad --interval \"%s\" "
				    "(seconds, 0.01..86400, or e.g. 500ms)", iv);
	if (cn) {
		errno = 0;
		*count = strtoull(cn, &end, 10);
		if (*cn < '0' || *cn > '9' || *end || errno || *count == 0)
			return cbctl_misuse("watch", "watch: bad --count \"%s\" "
					    "(a positive number)", cn);
	}
	return 0;
}

int
cmd_watch(struct cbctl *c, const struct cbctl_args *a)
{
	uint64_t interval = 1000, count = 0, i;
	struct cbctl_rates rt = { NULL, 0 };
	int tty = isatty(STDOUT_FILENO), utf8, rc;

	if ((rc = watch_opts(a, &interval, &count)) != 0)
		return rc;
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
