/*
 * fields.h - every field of a breaker that cbctl shows, once: its JSON
 * key, its label in show, its column in list, its Prometheus metric, how
 * to read it from a row and how to write it for people.
 *
 * view.c (list's table, list and show's JSON, show's key: value lines)
 * and metrics.c (the exposition) walk this one table, so a field added
 * here appears everywhere at once, and the four outputs cannot disagree
 * on a name or a value.  The order of the table is the order of the JSON
 * keys and of show's lines; the list columns and the metrics keep orders
 * of their own (col, rank), which scripts and dashboards already read.
 * A breaker's policy has a table of its own, in fields.c, for show and
 * show --json.
 */
#ifndef CBCTL_FIELDS_H
#define CBCTL_FIELDS_H

#include "cbctl.h"

/* What kind of value a field holds, which decides its JSON type and its
 * default text. */
enum cbctl_kind {
	CBCTL_NUM,		/* an unsigned count: 12 */
	CBCTL_TEXT,		/* a string, or none (JSON null, text "-") */
	CBCTL_MS,		/* milliseconds, or none (-1): null / left out */
	CBCTL_BOOL,		/* JSON true / false */
};

/* One field's value in one row. */
struct cbctl_fval {
	uint64_t num;			/* NUM; BOOL: 0 or 1 */
	int64_t ms;			/* MS: -1 when it does not apply */
	const char *text;		/* TEXT: NULL when there is none */
	char buf[24];			/* where text may point ("E4095") */
};

struct cbctl_field {
	const char *key;	/* JSON key */
	const char *label;	/* show's label: NULL the key, "" not shown */
	const char *head;	/* list column head, NULL: not a column */
	int col;		/* that column's position: 1..N, no gaps */
	int full;		/* show only: list --json leaves it out */
	enum cbctl_kind kind;
	size_t off, width;	/* NUM: an unsigned member of the snapshot */
	void (*get)(const struct cbctl_row *r, struct cbctl_fval *v);
				/* any other kind: how to read it */
	void (*cell)(const struct cbctl_row *r, char *buf, size_t len);
				/* list's cell when not the value's text */
	void (*show)(const struct cbctl_row *r, char *buf, size_t len);
				/* show's value when not the value's text */
	const char *metric;	/* Prometheus name, NULL: not exported */
	const char *type;	/* "counter" or "gauge" */
	const char *help;
	int rank;		/* the metric's position, from 1 */
	int per_state;		/* a gauge with one series per state */
};

extern const struct cbctl_field cbctl_fields[];
extern const size_t cbctl_nfields;

/* cbctl_field_value - field f of row r into v. */
void cbctl_field_value(const struct cbctl_field *f, const struct cbctl_row *r,
		       struct cbctl_fval *v);

/* cbctl_field_text - field f of row r as people read it, into buf:
 * "12", "ECONNREFUSED", "29.6s"; "-" for none.  With cell (list) or show
 * given, the field's own rendering for that place when it has one. */
void cbctl_field_text(const struct cbctl_field *f, const struct cbctl_row *r,
		      int where, char *buf, size_t len);
#define CBCTL_IN_TEXT 0
#define CBCTL_IN_LIST 1
#define CBCTL_IN_SHOW 2

struct json;

/* cbctl_policy_json - p as a JSON object (show --json's "policy"). */
void cbctl_policy_json(struct json *j, const struct cb_policy *p);

/* cbctl_policy_show - "policy:" and p's fields as show's indented
 * "label: value" lines, to f. */
void cbctl_policy_show(FILE *f, const struct cb_policy *p);

/* cbctl_kv - one of show's lines: "label:" padded, value, newline. */
void cbctl_kv(FILE *f, const char *label, const char *value);

/* cbctl_field_json - "key": value of field f of row r into j: a number,
 * a string, true / false, or null for none. */
void cbctl_field_json(struct json *j, const struct cbctl_field *f,
		      const struct cbctl_row *r);

#endif
