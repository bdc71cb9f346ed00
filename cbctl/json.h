/*
 * json.h - a small JSON writer for cbctl's --json output.
 *
 * It tracks nesting and commas so callers cannot produce a malformed
 * document by forgetting one, escapes every string (control characters,
 * quotes, backslashes, invalid UTF-8 as U+FFFD), and prints either
 * indented (pretty, for list/show) or on one line (JSON Lines, events).
 * Keys are written in the order the caller gives, so the shape of the
 * output is exactly what the code says: stable for scripts.
 */
#ifndef CBCTL_JSON_H
#define CBCTL_JSON_H

#include <stdint.h>
#include <stdio.h>

#define JSON_DEPTH 8

struct json {
	FILE *f;
	int pretty;
	int depth;
	int count[JSON_DEPTH];		/* members written at each level */
	int after_key;			/* a key was written, value pending */
};

void json_init(struct json *j, FILE *f, int pretty);
void json_obj_begin(struct json *j);
void json_obj_end(struct json *j);
void json_arr_begin(struct json *j);
void json_arr_end(struct json *j);
void json_key(struct json *j, const char *k);
void json_str(struct json *j, const char *s);	/* NULL: null */
void json_u64(struct json *j, uint64_t v);
void json_i64(struct json *j, int64_t v);
void json_bool(struct json *j, int v);
void json_null(struct json *j);
void json_milli(struct json *j, uint32_t milli);	/* 1500 -> 1.5 */
/* json_end - finish the document with a newline. */
void json_end(struct json *j);

/* json_escape - write s as a JSON string literal (with quotes) to f. */
void json_escape(FILE *f, const char *s);

#endif
