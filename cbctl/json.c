/*
 * json.c - a small JSON writer (see json.h).
 *
 * Every value goes through sep(), which writes the comma and the
 * indentation its position needs, so the document is well formed whatever
 * order the caller writes members in.  Nesting deeper than JSON_DEPTH is a
 * programming error; it is clamped rather than overflowing.
 */
#include "json.h"

#include <inttypes.h>
#include <string.h>

static void sep(struct json *j);
static void indent(struct json *j, int depth);
static void open_(struct json *j, int c);
static void close_(struct json *j, int c);
static size_t utf8_len(const unsigned char *s);

void
json_init(struct json *j, FILE *f, int pretty)
{
	memset(j, 0, sizeof(*j));
	j->f = f;
	j->pretty = pretty;
}

static void
indent(struct json *j, int depth)
{
	int i;

	if (!j->pretty)
		return;
	fputc('\n', j->f);
	for (i = 0; i < depth; i++)
		fputs("  ", j->f);
}

/* Before a value or a key: the comma and the line break it needs. */
static void
sep(struct json *j)
{
	if (j->after_key) {
		j->after_key = 0;
		return;
	}
	if (j->depth == 0)
		return;
	if (j->count[j->depth - 1]++ > 0)
		fputc(',', j->f);
	indent(j, j->depth);
}

static void
open_(struct json *j, int c)
{
	sep(j);
	fputc(c, j->f);
	if (j->depth < JSON_DEPTH)
		j->count[j->depth] = 0;
	if (j->depth < JSON_DEPTH)
		j->depth++;
}

static void
close_(struct json *j, int c)
{
	if (j->depth > 0) {
		j->depth--;
		if (j->count[j->depth] > 0)
			indent(j, j->depth);
	}
	fputc(c, j->f);
}

void json_obj_begin(struct json *j) { open_(j, '{'); }
void json_obj_end(struct json *j) { close_(j, '}'); }
void json_arr_begin(struct json *j) { open_(j, '['); }
void json_arr_end(struct json *j) { close_(j, ']'); }

void
json_key(struct json *j, const char *k)
{
	sep(j);
	json_escape(j->f, k);
	fputs(j->pretty ? ": " : ":", j->f);
	j->after_key = 1;
}

void
json_str(struct json *j, const char *s)
{
	if (s == NULL) {
		json_null(j);
		return;
	}
	sep(j);
	json_escape(j->f, s);
}

void
json_u64(struct json *j, uint64_t v)
{
	sep(j);
	fprintf(j->f, "%" PRIu64, v);
}

void
json_i64(struct json *j, int64_t v)
{
	sep(j);
	fprintf(j->f, "%" PRId64, v);
}

void
json_bool(struct json *j, int v)
{
	sep(j);
	fputs(v ? "true" : "false", j->f);
}

void
json_null(struct json *j)
{
	sep(j);
	fputs("null", j->f);
}

void
json_milli(struct json *j, uint32_t milli)
{
	char frac[8];
	int n;

	sep(j);
	fprintf(j->f, "%u", milli / 1000);
	if (milli % 1000) {
		n = snprintf(frac, sizeof(frac), "%03u", milli % 1000);
		while (n > 0 && frac[n - 1] == '0')
			frac[--n] = '\0';
		fprintf(j->f, ".%s", frac);
	}
}

void
json_end(struct json *j)
{
	fputc('\n', j->f);
}

/* Length of the valid UTF-8 sequence at s (1..4), or 0 if invalid. */
static size_t
utf8_len(const unsigned char *s)
{
	size_t n, i;
	uint32_t cp;

	if (s[0] < 0x80)
		return 1;
	if ((s[0] & 0xe0) == 0xc0)
		n = 2, cp = s[0] & 0x1f;
	else if ((s[0] & 0xf0) == 0xe0)
		n = 3, cp = s[0] & 0x0f;
	else if ((s[0] & 0xf8) == 0xf0)
		n = 4, cp = s[0] & 0x07;
	else
		return 0;
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	/* overlong forms, surrogates and beyond U+10FFFF are invalid */
	if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) ||
	    (n == 4 && cp < 0x10000) || cp > 0x10ffff ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

void
json_escape(FILE *f, const char *str)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t n;

	fputc('"', f);
	while (*s) {
		if (*s == '"' || *s == '\\') {
			fputc('\\', f);
			fputc(*s++, f);
		} else if (*s == '\n') {
			fputs("\\n", f), s++;
		} else if (*s == '\t') {
			fputs("\\t", f), s++;
		} else if (*s < 0x20 || *s == 0x7f) {
			fprintf(f, "\\u%04x", *s++);
		} else if ((n = utf8_len(s)) == 0) {
			fputs("\\ufffd", f), s++;
		} else {
			fwrite(s, 1, n, f);
			s += n;
		}
	}
	fputc('"', f);
}
