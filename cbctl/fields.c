/*
 * fields.c - the breaker field table (see fields.h), the policy's field
 * table, and the small text helpers every view shares: durations, errno
 * names.
 *
 * A counter of the snapshot is described by where it lies (offset and
 * width), so it needs no code at all; the few fields that are computed
 * (a name or null, the time left open) have a getter of a few lines, and
 * the two places where people read a field differently than scripts do
 * (list's LEFT column, show's "opened X ago") a formatter of their own.
 * A policy field is a member of struct cb_policy and one of a few kinds
 * (a count, a duration, one that may be off, ...): the kind says how both
 * show and show --json write it.
 */
#include "fields.h"
#include "json.h"

#include <inttypes.h>
#include <string.h>

/* How a policy field reads: its JSON, then its text in show. */
enum pol_kind {
	P_COUNT,		/* 5 / 5 */
	P_MS,			/* 30000 / 30.0s */
	P_MS_OFF,		/* 0 / off when 0, else as P_MS */
	P_PERCENT,		/* null / off when 0, else 50 / 50% */
	P_MILLI,		/* 1.5 / 1.5 */
	P_MODE,			/* "enforce" / enforce */
	P_ERRNO,		/* "ECONNREFUSED" / ECONNREFUSED */
	P_ERRNOS,		/* ["ETIMEDOUT", ...] / ETIMEDOUT ... */
};

/* One field of a breaker's policy, as show and show --json give it. */
struct pol_field {
	const char *key;	/* JSON key */
	const char *label;	/* show's label, NULL: the key */
	enum pol_kind kind;
	size_t off, width;	/* its member of struct cb_policy */
};

static void get_dest(const struct cbctl_row *r, struct cbctl_fval *v);
static void get_name(const struct cbctl_row *r, struct cbctl_fval *v);
static void get_state(const struct cbctl_row *r, struct cbctl_fval *v);
static void get_errno(const struct cbctl_row *r, struct cbctl_fval *v);
static void get_failure(const struct cbctl_row *r, struct cbctl_fval *v);
static void get_opened(const struct cbctl_row *r, struct cbctl_fval *v);
static void get_remaining(const struct cbctl_row *r, struct cbctl_fval *v);
static void get_hold(const struct cbctl_row *r, struct cbctl_fval *v);
static void cell_left(const struct cbctl_row *r, char *buf, size_t len);
static void show_state(const struct cbctl_row *r, char *buf, size_t len);
static void show_opened(const struct cbctl_row *r, char *buf, size_t len);
static const char *mode_name(int mode);
static void milli_text(uint32_t milli, char *buf, size_t len);
static void failures_text(const struct cb_policy *p, char *buf, size_t len);
static uint32_t pol_u32(const struct pol_field *f, const struct cb_policy *p);
static void policy_value_json(struct json *j, const struct pol_field *f,
			      const struct cb_policy *p);
static void policy_value_text(const struct pol_field *f,
			      const struct cb_policy *p, char *buf,
			      size_t len);

/* An unsigned member m of struct cb_snapshot. */
#define SNAP(m) .kind = CBCTL_NUM, .off = offsetof(struct cb_snapshot, m), \
	.width = sizeof(((struct cb_snapshot *)0)->m)
#define COUNTER(name, r, h) .metric = name, .type = "counter", .rank = r, \
	.help = h
#define GAUGE(name, r, h) .metric = name, .type = "gauge", .rank = r, \
	.help = h

const struct cbctl_field cbctl_fields[] = {
	{ .key = "dest", .head = "DEST", .col = 1, .kind = CBCTL_TEXT,
	  .get = get_dest },
	{ .key = "name", .head = "NAME", .col = 2, .kind = CBCTL_TEXT,
	  .get = get_name },
	{ .key = "state", .head = "STATE", .col = 3, .kind = CBCTL_TEXT,
	  .get = get_state, .show = show_state, .per_state = 1,
	  GAUGE("cbshim_state", 8, "1 for the breaker's current state "
		"(closed, open, half-open), 0 for the others.") },
	{ .key = "total_calls", .head = "TOTAL", .col = 4, SNAP(total_calls),
	  COUNTER("cbshim_calls_total", 1, "Attempts to connect to the "
		  "destination, admitted or rejected.") },
	{ .key = "successful_calls", .head = "OK", .col = 5,
	  SNAP(successful_calls),
	  COUNTER("cbshim_successful_calls_total", 2, "Attempts that "
		  "connected.") },
	{ .key = "failed_calls", .head = "FAIL", .col = 6, SNAP(failed_calls),
	  COUNTER("cbshim_failed_calls_total", 3, "Attempts and connections "
		  "that failed with a failure errno.") },
	{ .key = "rejected_calls", .head = "REJECTED", .col = 7,
	  SNAP(rejected_calls),
	  COUNTER("cbshim_rejected_calls_total", 5, "Attempts the breaker "
		  "rejected (or, in observe mode, would have).") },
	{ .key = "state_transitions", .head = "TRANS", .col = 8,
	  SNAP(state_transitions),
	  COUNTER("cbshim_state_transitions_total", 6, "State changes of the "
		  "breaker.") },
	{ .key = "consecutive_failures", SNAP(consecutive_failures),
	  GAUGE("cbshim_consecutive_failures", 9, "Failures in a row while "
		"closed.") },
	{ .key = "half_open_successes", SNAP(half_open_successes) },
	{ .key = "half_open_in_flight", SNAP(half_open_in_flight),
	  GAUGE("cbshim_half_open_in_flight", 10, "Probes in flight while "
		"half-open.") },
	{ .key = "last_errno", .head = "ERRNO", .col = 10, .kind = CBCTL_TEXT,
	  .get = get_errno },
	{ .key = "slow_calls", SNAP(slow_calls),
	  COUNTER("cbshim_slow_calls_total", 4, "Successes later than "
		  "slow_call_duration, counted as failures (also in "
		  "failed_calls).") },
	{ .key = "last_failure", .kind = CBCTL_TEXT, .get = get_failure },
	{ .key = "opened_ms_ago", .label = "opened", .kind = CBCTL_MS,
	  .get = get_opened, .show = show_opened },
	{ .key = "open_remaining_ms", .label = "open_remaining",
	  .head = "LEFT", .col = 9, .kind = CBCTL_MS, .get = get_remaining,
	  .cell = cell_left },
	{ .key = "hold", .label = "", .kind = CBCTL_BOOL, .get = get_hold },
	{ .key = "stale_outcomes", SNAP(stale_outcomes),
	  COUNTER("cbshim_stale_outcomes_total", 7, "Outcomes of attempts "
		  "admitted in an earlier generation (counted, state "
		  "unchanged).") },
	{ .key = "window_calls", SNAP(window_calls),
	  GAUGE("cbshim_window_calls", 11, "Outcomes in the failure-rate "
		"window now (0 unless closed with the rule on).") },
	{ .key = "window_failures", SNAP(window_failures),
	  GAUGE("cbshim_window_failures", 12, "Failures in the failure-rate "
		"window now.") },
	{ .key = "generation", .full = 1, SNAP(gen) },
	{ .key = "reopenings", .full = 1, SNAP(reopenings) },
};
const size_t cbctl_nfields = sizeof(cbctl_fields) / sizeof(cbctl_fields[0]);

#define POL(m) offsetof(struct cb_policy, m), \
	sizeof(((struct cb_policy *)0)->m)

/* The policy, in the order of show's lines and of the JSON keys. */
static const struct pol_field pol_fields[] = {
	{ "mode", NULL, P_MODE, POL(mode) },
	{ "failure_threshold", NULL, P_COUNT, POL(failure_threshold) },
	{ "success_threshold", NULL, P_COUNT, POL(success_threshold) },
	{ "open_timeout_ms", "open_timeout", P_MS, POL(open_timeout_ms) },
	{ "half_open_max_calls", NULL, P_COUNT, POL(half_open_max_calls) },
	{ "backoff", NULL, P_MILLI, POL(backoff_milli) },
	{ "open_timeout_max_ms", "open_timeout_max", P_MS,
	  POL(open_timeout_max_ms) },
	{ "failures", NULL, P_ERRNOS, POL(failures) },
	{ "reject_errno", NULL, P_ERRNO, POL(reject_errno) },
	{ "failure_rate_threshold", NULL, P_PERCENT,
	  POL(failure_rate_threshold) },
	{ "window_ms", "window", P_MS, POL(window_ms) },
	{ "minimum_calls", NULL, P_COUNT, POL(minimum_calls) },
	{ "connect_timeout_ms", "connect_timeout", P_MS_OFF,
	  POL(connect_timeout_ms) },
	{ "response_timeout_ms", "response_timeout", P_MS_OFF,
	  POL(response_timeout_ms) },
	{ "slow_call_duration_ms", "slow_call_duration", P_MS_OFF,
	  POL(slow_call_ms) },
};
#define NPOL (sizeof(pol_fields) / sizeof(pol_fields[0]))

/* ---- getters ------------------------------------------------------- */

static void
get_dest(const struct cbctl_row *r, struct cbctl_fval *v)
{
	v->text = r->name;
}

static void
get_name(const struct cbctl_row *r, struct cbctl_fval *v)
{
	v->text = r->host[0] ? r->host : NULL;
}

static void
get_state(const struct cbctl_row *r, struct cbctl_fval *v)
{
	v->text = cb_state_name(r->s.state);
}

static void
get_errno(const struct cbctl_row *r, struct cbctl_fval *v)
{
	v->text = cbctl_errno_name(r->s.last_errno, v->buf, sizeof(v->buf));
}

/* The cause of the last failure (enum cb_cause, or an errno): "slow",
 * "no response", "eof", "ECONNREFUSED", ...; none for 0. */
static void
get_failure(const struct cbctl_row *r, struct cbctl_fval *v)
{
	switch (r->s.last_failure) {
	case CB_CAUSE_SLOW: v->text = "slow"; break;
	case CB_CAUSE_NO_RESPONSE: v->text = "no response"; break;
	case CB_CAUSE_EOF: v->text = "eof"; break;
	default:
		v->text = cbctl_errno_name(r->s.last_failure, v->buf,
					   sizeof(v->buf));
	}
}

static void
get_opened(const struct cbctl_row *r, struct cbctl_fval *v)
{
	v->ms = r->s.opened_ms_ago;
}

static void
get_remaining(const struct cbctl_row *r, struct cbctl_fval *v)
{
	v->ms = r->s.open_remaining_ms;
}

static void
get_hold(const struct cbctl_row *r, struct cbctl_fval *v)
{
	v->num = r->s.hold != 0;
}

/* ---- the places people read a field differently ---------------------- */

/* list's LEFT: "held" for a breaker tripped with --hold, else the time
 * left open, "-" when not open. */
static void
cell_left(const struct cbctl_row *r, char *buf, size_t len)
{
	if (r->s.state == CB_OPEN && r->s.hold)
		snprintf(buf, len, "held");
	else if (r->s.state == CB_OPEN && r->s.open_remaining_ms >= 0)
		cbctl_duration((uint64_t)r->s.open_remaining_ms, buf, len);
	else
		snprintf(buf, len, "-");
}

static void
show_state(const struct cbctl_row *r, char *buf, size_t len)
{
	snprintf(buf, len, "%s%s", cb_state_name(r->s.state),
		 r->s.hold && r->s.state == CB_OPEN ? " (held until reset)" :
		 "");
}

static void
show_opened(const struct cbctl_row *r, char *buf, size_t len)
{
	char d[32];

	cbctl_duration((uint64_t)r->s.opened_ms_ago, d, sizeof(d));
	snprintf(buf, len, "%s ago", d);
}

/* ---- reading and writing a field ------------------------------------- */

void
cbctl_field_value(const struct cbctl_field *f, const struct cbctl_row *r,
		  struct cbctl_fval *v)
{
	uint32_t v32;

	memset(v, 0, sizeof(*v));
	v->ms = -1;
	if (f->get) {
		f->get(r, v);
	} else if (f->width == sizeof(v32)) {
		memcpy(&v32, (const char *)&r->s + f->off, sizeof(v32));
		v->num = v32;
	} else {
		memcpy(&v->num, (const char *)&r->s + f->off, sizeof(v->num));
	}
}

void
cbctl_field_text(const struct cbctl_field *f, const struct cbctl_row *r,
		 int where, char *buf, size_t len)
{
	struct cbctl_fval v;

	if (where == CBCTL_IN_LIST && f->cell) {
		f->cell(r, buf, len);
		return;
	}
	if (where == CBCTL_IN_SHOW && f->show) {
		f->show(r, buf, len);
		return;
	}
	cbctl_field_value(f, r, &v);
	switch (f->kind) {
	case CBCTL_NUM:
		snprintf(buf, len, "%" PRIu64, v.num);
		break;
	case CBCTL_TEXT:
		snprintf(buf, len, "%s", v.text ? v.text : "-");
		break;
	case CBCTL_MS:
		if (v.ms >= 0)
			cbctl_duration((uint64_t)v.ms, buf, len);
		else
			snprintf(buf, len, "-");
		break;
	case CBCTL_BOOL:
		snprintf(buf, len, "%s", v.num ? "yes" : "no");
		break;
	}
}

void
cbctl_field_json(struct json *j, const struct cbctl_field *f,
		 const struct cbctl_row *r)
{
	struct cbctl_fval v;

	cbctl_field_value(f, r, &v);
	json_key(j, f->key);
	switch (f->kind) {
	case CBCTL_NUM:
		json_u64(j, v.num);
		break;
	case CBCTL_TEXT:
		json_str(j, v.text);
		break;
	case CBCTL_MS:
		if (v.ms >= 0)
			json_i64(j, v.ms);
		else
			json_null(j);
		break;
	case CBCTL_BOOL:
		json_bool(j, v.num != 0);
		break;
	}
}

/* ---- the policy ------------------------------------------------------ */

/* Policy field f of p, an unsigned member of 1, 2 or 4 bytes. */
static uint32_t
pol_u32(const struct pol_field *f, const struct cb_policy *p)
{
	const char *m = (const char *)p + f->off;
	uint16_t v16;
	uint32_t v;

	if (f->width == 1)
		return *(const uint8_t *)m;
	if (f->width == 2) {
		memcpy(&v16, m, sizeof(v16));
		return v16;
	}
	memcpy(&v, m, sizeof(v));
	return v;
}

static void
policy_value_json(struct json *j, const struct pol_field *f,
		  const struct cb_policy *p)
{
	uint32_t v = f->kind == P_ERRNOS ? 0 : pol_u32(f, p);
	char eb[16];
	int e;

	switch (f->kind) {
	case P_MODE: json_str(j, mode_name((int)v)); break;
	case P_MILLI: json_milli(j, v); break;
	case P_ERRNO: json_str(j, cbctl_errno_name(v, eb, sizeof(eb))); break;
	case P_PERCENT:
		if (v)
			json_u64(j, v);
		else
			json_null(j);		/* the rule is off */
		break;
	case P_ERRNOS:
		json_arr_begin(j);
		for (e = 1; e < CB_ERRNO_MAX; e++)
			if (cb_policy_is_failure(p, e))
				json_str(j, cbctl_errno_name((uint32_t)e, eb,
							     sizeof(eb)));
		json_arr_end(j);
		break;
	default: json_u64(j, v); break;
	}
}

static void
policy_value_text(const struct pol_field *f, const struct cb_policy *p,
		  char *buf, size_t len)
{
	uint32_t v = f->kind == P_ERRNOS ? 0 : pol_u32(f, p);
	char eb[16];
	const char *en;

	switch (f->kind) {
	case P_COUNT: snprintf(buf, len, "%u", v); break;
	case P_MODE: snprintf(buf, len, "%s", mode_name((int)v)); break;
	case P_MILLI: milli_text(v, buf, len); break;
	case P_MS_OFF:
	case P_MS:
		if (v == 0 && f->kind == P_MS_OFF)
			snprintf(buf, len, "off");
		else
			cbctl_duration(v, buf, len);
		break;
	case P_PERCENT:
		snprintf(buf, len, v ? "%u%%" : "off", v);
		break;
	case P_ERRNO:
		en = cbctl_errno_name(v, eb, sizeof(eb));
		snprintf(buf, len, "%s", en ? en : "-");
		break;
	case P_ERRNOS:
		failures_text(p, buf, len);
		if (!*buf)
			snprintf(buf, len, "(none)");
		break;
	}
}

void
cbctl_policy_json(struct json *j, const struct cb_policy *p)
{
	size_t i;

	json_obj_begin(j);
	for (i = 0; i < NPOL; i++) {
		json_key(j, pol_fields[i].key);
		policy_value_json(j, &pol_fields[i], p);
	}
	json_obj_end(j);
}

void
cbctl_policy_show(FILE *f, const struct cb_policy *p)
{
	char label[40], v[512];
	size_t i;

	fputs("policy:\n", f);
	for (i = 0; i < NPOL; i++) {
		snprintf(label, sizeof(label), "  %s", pol_fields[i].label ?
			 pol_fields[i].label : pol_fields[i].key);
		policy_value_text(&pol_fields[i], p, v, sizeof(v));
		cbctl_kv(f, label, v);
	}
}

void
cbctl_kv(FILE *f, const char *label, const char *value)
{
	char k[64];

	snprintf(k, sizeof(k), "%s:", label);
	fprintf(f, "%-26s%s\n", k, value);
}

/* ---- text helpers ------------------------------------------------------ */

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

/* 1000 -> "1.0", 1500 -> "1.5", 1250 -> "1.25". */
static void
milli_text(uint32_t milli, char *buf, size_t len)
{
	int n = snprintf(buf, len, "%u.%03u", milli / 1000, milli % 1000);

	while (n > 2 && (size_t)n < len && buf[n - 1] == '0' &&
	       buf[n - 2] != '.')
		buf[--n] = '\0';
}

/* The failure errnos of p, by name, separated by spaces. */
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
