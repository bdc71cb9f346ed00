/*
 * config.c - cb.conf (libconfig) -> segment and log settings, the default
 * policy and the rules; matching a destination to its policy.
 *
 * Loading reads the whole file (at most 1 MiB) into memory, refuses what
 * libconfig 1.5 would take silently (check_text: NUL bytes, @include,
 * more lines than it counts), lets libconfig parse it (text_end: a comment
 * left open, which it takes silently, and where a string or bracket left
 * open began, which it reports past the end), and walks the tree
 * strictly into a struct cb_config, failing on the first unknown key,
 * wrong type, out-of-range value or rule that repeats an earlier rule's
 * match with "FILE:LINE: path.key: message".
 * Every setting is one line of the key table (keys[]): its group, name,
 * reader, range and where it lands.  libconfig 1.5 also wraps integers
 * silently to 32 bits (max_breakers = 4294967297 would read as 1), so an
 * integer is judged as written: get_int reads its number again from the
 * setting's own line and compares (int_as_written).
 *
 * Every rule's policy is computed in full at load (its own fields over the
 * defaults section) and its match as masked 64-bit words (match.c), so
 * cb_config_policy() is a scan of a flat array that neither allocates nor
 * parses: first match wins.  A configuration is immutable once loaded.
 */
#include "config.h"
#include "match.h"
#include "text.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <libconfig.h>
#include <limits.h>
#include <pwd.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#define MAX_FILE_BYTES (1u << 20)
#define MAX_LINES 65535u		/* libconfig keeps lines in 16 bits */
#define ERRNO_NAMES_MAX 4096		/* cb_errno_name answers below this */

/* A rule: the destinations it is for, and their policy in full. */
struct cb_rule {
	struct cb_match m;
	struct cb_policy pol;
};

struct cb_config {
	struct cb_policy def;
	char *shm_name;			/* NULL: not set */
	unsigned shm_mode;
	long shm_owner;			/* -1: not set */
	uint32_t max_breakers;
	uint32_t reclaim_after;		/* ms */
	uint32_t log_level;		/* enum cb_log_level */
	uint32_t log_syslog;
	size_t nrules;
	struct cb_rule rules[];
};

/* One load: where errors go, and the text (for int_as_written). */
struct ctx {
	const char *path;
	char *err;
	size_t errlen;
	int failed;
	const char *text;
	const char *cur, *cur_end;	/* line cur_line of the text */
	unsigned cur_line;
	const char *next;		/* past the last integer's name */
};

/* A setting: its group ("shm", "log", or NULL for a policy field, read
 * in defaults and in every rule), its name, the reader that checks its
 * value and stores it at offset off (size bytes) of the struct the group
 * fills (struct cb_config, or struct cb_policy for a policy field), and
 * what the reader needs: a range (lo..hi) or the words it accepts (a
 * word's index is its value). */
struct key;
typedef int reader(struct ctx *x, const config_setting_t *s,
		   const char *path, const struct key *k, void *dst);
struct key {
	const char *group;
	const char *name;
	reader *read;
	size_t off, size;
	long long lo, hi;
	const char *const *words;
};

static int fail_line(struct ctx *x, unsigned line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int fail_at(struct ctx *x, const config_setting_t *s, const char *fmt,
		   ...) __attribute__((format(printf, 3, 4)));
static reader rd_int, rd_duration, rd_off_duration, rd_backoff, rd_word,
	rd_errno, rd_failures, rd_shm_name, rd_shm_mode, rd_owner;
static const char *text_line(struct ctx *x, unsigned line, const char **end);
static int is_name_char(char c);
static const char *skip_blank(const char *p);

/* ---- the settings --------------------------------------------------- */

static const char *const modes[] = { "enforce", "observe", "off", NULL };
static const char *const levels[] = { "error", "warn", "info", "debug",
				      NULL };
static const char *const targets[] = { "stderr", "syslog", NULL };

#define POL(f) offsetof(struct cb_policy, f), \
	sizeof(((struct cb_policy *)0)->f)
#define CFG(f) offsetof(struct cb_config, f), \
	sizeof(((struct cb_config *)0)->f)
#define TIMEOUT_MAX CB_MAX_TIMEOUT_MS

_Static_assert(CB_MODE_ENFORCE == 0 && CB_MODE_OBSERVE == 1 &&
	       CB_MODE_OFF == 2, "modes[] is in enum cb_mode order");
_Static_assert(CB_LOG_ERROR == 0 && CB_LOG_WARN == 1 && CB_LOG_INFO == 2 &&
	       CB_LOG_DEBUG == 3, "levels[] is in enum cb_log_level order");

static const struct key keys[] = {
	{ NULL, "failure_threshold", rd_int, POL(failure_threshold), 1,
	  CB_MAX_FAILURE_THRESHOLD, NULL },
	{ NULL, "success_threshold", rd_int, POL(success_threshold), 1,
	  CB_MAX_SUCCESS_THRESHOLD, NULL },
	{ NULL, "open_timeout", rd_duration, POL(open_timeout_ms), 1,
	  TIMEOUT_MAX, NULL },
	{ NULL, "half_open_max_calls", rd_int, POL(half_open_max_calls), 1,
	  CB_MAX_HALF_OPEN_CALLS, NULL },
	{ NULL, "failures", rd_failures, POL(failures), 0, 0, NULL },
	{ NULL, "mode", rd_word, POL(mode), 0, 0, modes },
	{ NULL, "backoff", rd_backoff, POL(backoff_milli), 1, 100, NULL },
	{ NULL, "open_timeout_max", rd_duration, POL(open_timeout_max_ms), 1,
	  TIMEOUT_MAX, NULL },
	{ NULL, "reject_errno", rd_errno, POL(reject_errno), 0, 0, NULL },
	{ NULL, "failure_rate_threshold", rd_int, POL(failure_rate_threshold),
	  0, CB_MAX_RATE_THRESHOLD, NULL },
	{ NULL, "window", rd_duration, POL(window_ms), CB_MIN_WINDOW_MS,
	  CB_MAX_WINDOW_MS, NULL },
	{ NULL, "minimum_calls", rd_int, POL(minimum_calls), 1,
	  CB_MAX_MINIMUM_CALLS, NULL },
	{ NULL, "connect_timeout", rd_off_duration, POL(connect_timeout_ms), 1,
	  TIMEOUT_MAX, NULL },
	{ NULL, "response_timeout", rd_off_duration, POL(response_timeout_ms),
	  1, TIMEOUT_MAX, NULL },
	{ NULL, "slow_call_duration", rd_off_duration, POL(slow_call_ms), 1,
	  TIMEOUT_MAX, NULL },
	{ "shm", "name", rd_shm_name, CFG(shm_name), 0, 0, NULL },
	{ "shm", "mode", rd_shm_mode, CFG(shm_mode), 0, 0777, NULL },
	{ "shm", "owner", rd_owner, CFG(shm_owner), 0, 4294967294ll, NULL },
	{ "shm", "max_breakers", rd_int, CFG(max_breakers), 1,
	  CB_MAX_CAPACITY, NULL },
	{ "shm", "reclaim_after", rd_duration, CFG(reclaim_after), 1,
	  TIMEOUT_MAX, NULL },
	{ "log", "level", rd_word, CFG(log_level), 0, 0, levels },
	{ "log", "target", rd_word, CFG(log_syslog), 0, 0, targets },
};
#define NKEYS (sizeof(keys) / sizeof(keys[0]))
_Static_assert(NKEYS <= 32, "a group's settings are bits of an unsigned");

/* The key name of group (NULL: a policy field), or NULL. */
static const struct key *
find_key(const char *group, const char *name)
{
	size_t k;

	for (k = 0; k < NKEYS; k++)
		if ((keys[k].group == group || (keys[k].group && group &&
		     strcmp(keys[k].group, group) == 0)) &&
		    strcmp(keys[k].name, name) == 0)
			return &keys[k];
	return NULL;
}

/* The bit of a policy field in a group's set of fields written. */
static unsigned
key_bit(const char *name)
{
	return 1u << (find_key(NULL, name) - keys);
}

/* v into the size bytes at dst (a uint8_t, uint32_t or 64-bit field). */
static void
put(void *dst, size_t size, long long v)
{
	uint8_t u8 = (uint8_t)v;
	uint32_t u32 = (uint32_t)v;
	int64_t i64 = v;

	if (size == 1)
		memcpy(dst, &u8, 1);
	else if (size == 4)
		memcpy(dst, &u32, 4);
	else if (size == 8)
		memcpy(dst, &i64, 8);
}

/* ---- errno names ---------------------------------------------------- */

/* glibc's names (strerrorname_np gives each number's canonical one) and
 * the aliases it never returns.  A name is looked up among the errnos a
 * setting can hold (below CB_ERRNO_MAX; glibc names none above 133). */
static const struct {
	const char *name;
	int value;
} errno_aliases[] = {
	{ "EWOULDBLOCK", EWOULDBLOCK },
	{ "EDEADLOCK", EDEADLOCK },
	{ "ENOTSUP", ENOTSUP },
};

int
cb_errno_by_name(const char *name)
{
	const char *n;
	size_t i;
	int e;

	if (name == NULL || name[0] != 'E')
		return -1;
	for (e = 1; e < CB_ERRNO_MAX; e++)
		if ((n = strerrorname_np(e)) != NULL && strcmp(n, name) == 0)
			return e;
	for (i = 0; i < sizeof(errno_aliases) / sizeof(errno_aliases[0]); i++)
		if (strcmp(errno_aliases[i].name, name) == 0)
			return errno_aliases[i].value;
	return -1;
}

const char *
cb_errno_name(int e)
{
	return e > 0 && e < ERRNO_NAMES_MAX ? strerrorname_np(e) : NULL;
}

/* ---- messages ------------------------------------------------------- */

static int
vfail(struct ctx *x, unsigned line, const char *fmt, va_list ap)
{
	int n;

	if (x->failed)
		return -EINVAL;
	x->failed = 1;
	if (x->err == NULL || x->errlen == 0)
		return -EINVAL;
	n = snprintf(x->err, x->errlen, "%s:%u: ", x->path, line);
	if (n >= 0 && (size_t)n < x->errlen)
		vsnprintf(x->err + n, x->errlen - (size_t)n, fmt, ap);
	return -EINVAL;
}

static int
fail_line(struct ctx *x, unsigned line, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = vfail(x, line, fmt, ap);
	va_end(ap);
	return r;
}

static int
fail_at(struct ctx *x, const config_setting_t *s, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = vfail(x, config_setting_source_line(s), fmt, ap);
	va_end(ap);
	return r;
}

static const char *
type_name(const config_setting_t *s)
{
	switch (config_setting_type(s)) {
	case CONFIG_TYPE_GROUP: return "a group";
	case CONFIG_TYPE_INT:
	case CONFIG_TYPE_INT64: return "an integer";
	case CONFIG_TYPE_FLOAT: return "a float";
	case CONFIG_TYPE_STRING: return "a string";
	case CONFIG_TYPE_BOOL: return "a boolean";
	case CONFIG_TYPE_ARRAY: return "an array";
	case CONFIG_TYPE_LIST: return "a list";
	default: return "nothing";
	}
}

/* "where.name" (or "name" at the top) into buf. */
static const char *
join(char *buf, size_t len, const char *where, const config_setting_t *s)
{
	const char *name = config_setting_name(s);

	if (where == NULL)
		snprintf(buf, len, "%s", name ? name : "?");
	else
		snprintf(buf, len, "%s.%s", where, name ? name : "?");
	return buf;
}

/* ---- reading and checking the text ------------------------------------ */

/* What kept fd from being read (a regular file or /dev/null, non-blocking
 * so a FIFO cannot hang the caller), or 0; err says why when quiet. */
static int
refuse_kind(struct ctx *x, int fd, int *quiet)
{
	struct stat st;

	if (fstat(fd, &st) < 0)
		return -errno;
	if (S_ISDIR(st.st_mode))
		return -EISDIR;
	if (S_ISREG(st.st_mode) ||
	    (S_ISCHR(st.st_mode) && st.st_rdev == makedev(1, 3)))
		return 0;
	snprintf(x->err, x->errlen, "%s: not a regular file", x->path);
	*quiet = 1;
	return -EINVAL;
}

/* The whole file, NUL-terminated, into a buffer with room for one byte
 * more than MAX_FILE_BYTES (enough to tell a file is too large; malloc
 * maps it, so only the pages read are touched). */
static int
read_file(struct ctx *x, char **bufp, size_t *lenp)
{
	char *buf = NULL;
	size_t len = 0;
	ssize_t n;
	int fd, r, quiet = 0;

	if ((fd = open(x->path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)) < 0)
		r = -errno;
	else if ((r = refuse_kind(x, fd, &quiet)) == 0 &&
		 (buf = malloc(MAX_FILE_BYTES + 2)) == NULL)
		r = -ENOMEM;
	while (r == 0 && len <= MAX_FILE_BYTES &&
	       (n = read(fd, buf + len, MAX_FILE_BYTES + 1 - len)) != 0) {
		if (n > 0)
			len += (size_t)n;
		else if (errno != EINTR)
			r = -errno;
	}
	if (r == 0 && len > MAX_FILE_BYTES) {
		snprintf(x->err, x->errlen, "%s: too large (more than %u "
			 "bytes)", x->path, MAX_FILE_BYTES);
		r = -EFBIG;
		quiet = 1;
	}
	if (fd >= 0)
		close(fd);
	if (r < 0) {
		if (!quiet)
			snprintf(x->err, x->errlen, "%s: %s", x->path,
				 strerror(-r));
		free(buf);
		return r;
	}
	buf[len] = '\0';
	*bufp = buf;
	*lenp = len;
	return 0;
}

/* 1 when [p, end) holds a "\x00" escape (its backslash not escaped). */
static int
nul_escape(const char *p, const char *end)
{
	for (; p < end; p++) {
		if (p[0] == '\\' && p[1] == '\\')
			p++;
		else if (p[0] == '\\' && (p[1] | 0x20) == 'x' &&
			 p[2] == '0' && p[3] == '0')
			return 1;
	}
	return 0;
}

/* What libconfig 1.5 would take silently, refused before it parses: a NUL
 * byte (the text would end there), more lines than it counts (16 bits),
 * "@include" at the start of a line after blanks (where libconfig takes
 * it: it would read another file) and a "\x00" escape (libconfig drops
 * the byte from the string); and a byte order mark, which it calls a
 * syntax error without saying why.  The text is not tokenised: a comment
 * holding a "\x00" escape or a line starting with @include is refused as
 * well, which costs nobody anything. */
static int
check_text(struct ctx *x, const char *s, size_t n)
{
	const char *p, *end, *nul = memchr(s, '\0', n);
	unsigned line = 1;

	/* libconfig's "syntax error" on line 1 would not say why */
	if (n >= 3 && memcmp(s, "\xef\xbb\xbf", 3) == 0)
		return fail_line(x, 1, "the file starts with a UTF-8 byte "
				 "order mark (BOM): save it without one");
	for (p = s; p < s + n; p = end + 1, line++) {
		if ((end = memchr(p, '\n', (size_t)(s + n - p))) == NULL)
			end = s + n;
		if (line > MAX_LINES)
			return fail_line(x, line, "too many lines (at most %u)",
					 MAX_LINES);
		if (nul && nul < end)
			return fail_line(x, line, "NUL byte in the file");
		if (strncmp(p + strspn(p, " \t"), "@include", 8) == 0)
			return fail_line(x, line, "@include is not supported "
					 "(keep the configuration in one "
					 "file)");
		if (nul_escape(p, end))
			return fail_line(x, line, "NUL byte in a string");
	}
	return 0;
}

/* Where the text ends, tokenised as libconfig's scanner does (strings
 * with backslash escapes, "#" and "//" to the end of the line, unnested
 * block comments): inside what, opened on which line, and the line of the
 * innermost bracket left open.  libconfig 1.5 takes a file that ends
 * inside a block comment as if it were closed there (a forgotten close
 * drops the rest of the file silently), and reports a string or a group
 * left open as a "syntax error" past the last line. */
struct text_end {
	enum { TEXT, STRING, LINE, BLOCK } st;
	unsigned opened;	/* the line of the string or comment */
	unsigned bracket;	/* of the innermost open bracket, 0: none */
	char open;		/* that bracket */
	unsigned last;		/* the line the text ends on */
};

#define BRACKETS_MAX 64

static void
text_end(const char *s, size_t n, struct text_end *te)
{
	unsigned line = 1, lines[BRACKETS_MAX];
	char open[BRACKETS_MAX];
	size_t i, depth = 0;

	te->st = TEXT;
	for (i = 0; i < n; i++) {
		char ch = s[i], next = i + 1 < n ? s[i + 1] : '\0';

		if (ch == '\n') {
			line++;
			te->st = te->st == LINE ? TEXT : te->st;
		} else if (te->st == TEXT && ch == '"') {
			te->st = STRING, te->opened = line;
		} else if (te->st == TEXT && (ch == '#' || (ch == '/' &&
							   next == '/'))) {
			te->st = LINE;
		} else if (te->st == TEXT && ch == '/' && next == '*') {
			te->st = BLOCK, te->opened = line, i++;
		} else if (te->st == TEXT && strchr("{([", ch) && ch) {
			if (depth < BRACKETS_MAX)
				lines[depth] = line, open[depth] = ch;
			depth++;
		} else if (te->st == TEXT && strchr("})]", ch) && ch) {
			depth -= depth > 0;
		} else if (te->st == STRING && ch == '\\' && next &&
			   next != '\n') {
			i++;
		} else if ((te->st == STRING && ch == '"') ||
			   (te->st == BLOCK && ch == '*' && next == '/')) {
			i += te->st == BLOCK;
			te->st = TEXT;
		}
	}
	te->bracket = depth && depth <= BRACKETS_MAX ? lines[depth - 1] : 0;
	te->open = te->bracket ? open[depth - 1] : 0;
	te->last = line;
}

/* The one setting name written on line line ("NAME =" or "NAME :",
 * strings and comments skipped) into out, or "" when there is none or
 * more than one. */
static void
name_on_line(struct ctx *x, unsigned line, char *out, size_t len)
{
	const char *end, *p = text_line(x, line, &end), *q, *name = NULL;
	int found = 0;

	out[0] = '\0';
	while (p < end && *p != '#' && !(p[0] == '/' && (p[1] == '/' ||
						      p[1] == '*'))) {
		if (*p == '"') {
			for (p++; p < end && *p != '"'; p++)
				p += *p == '\\' && p + 1 < end;
			p++;
		} else if (isalpha((unsigned char)*p) || *p == '*') {
			for (q = p; q < end && is_name_char(*q); q++)
				;
			if (*skip_blank(q) == '=' || *skip_blank(q) == ':')
				found++, name = p;
			p = q;
		} else {
			p++;
		}
	}
	if (found == 1) {
		for (q = name; is_name_char(*q); q++)
			;
		snprintf(out, len, "%.*s", (int)(q - name), name);
	}
}

/* libconfig failed at line line: its message, or, when it ran into the
 * end of the text inside a string or a bracket left open, where that
 * opened. */
static int
syntax_error(struct ctx *x, const char *buf, size_t len, unsigned line,
	     const char *msg)
{
	static const char *const close[] = { ['{'] = "}", ['('] = ")",
					     ['['] = "]" };
	struct text_end te;
	char name[64];

	text_end(buf, len, &te);
	x->text = buf;
	if (strcmp(msg, "duplicate setting name") == 0) {
		name_on_line(x, line, name, sizeof(name));
		if (*name)
			return fail_line(x, line, "%s: set twice in the same "
					 "group (duplicate setting name)",
					 name);
	}
	if (te.st == STRING && line >= te.opened)
		return fail_line(x, te.opened, "string never closed: no "
				 "closing '\"' after the one on this line");
	if (te.st == TEXT && te.bracket && line >= te.last &&
	    strcmp(msg, "syntax error") == 0)
		return fail_line(x, te.bracket, "'%c' never closed: no '%s' "
				 "for it before the end of the file", te.open,
				 close[(unsigned char)te.open]);
	return fail_line(x, line, "%s", msg);
}

/* Line line (1-based) of the text: its start, and its end in *end.
 * Settings are mostly read in file order, so the search goes on from the
 * last line asked. */
static const char *
text_line(struct ctx *x, unsigned line, const char **end)
{
	const char *nl;

	if (x->cur == NULL || line < x->cur_line) {
		x->cur = x->text;
		x->cur_line = 1;
		x->cur_end = NULL;
	}
	while (x->cur_line < line && (nl = strchr(x->cur, '\n')) != NULL) {
		x->cur = nl + 1;
		x->cur_line++;
		x->cur_end = NULL;
	}
	if (x->cur_end == NULL)
		x->cur_end = strchrnul(x->cur, '\n');
	*end = x->cur_end;
	return x->cur;
}

/* libconfig's name: [A-Za-z*][-A-Za-z0-9_*]* */
static int
is_name_char(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	       (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '*';
}

/* Past blanks, line ends and comments. */
static const char *
skip_blank(const char *p)
{
	const char *e;

	for (;;) {
		if (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n' ||
		    *p == '\f')
			p++;
		else if (p[0] == '#' || (p[0] == '/' && p[1] == '/'))
			p = strchrnul(p, '\n');
		else if (p[0] == '/' && p[1] == '*')
			p = (e = strstr(p + 2, "*/")) ? e + 2 : p + strlen(p);
		else
			return p;
	}
}

/* The integer written at p ([-+]digits or 0x hex digits, then maybe an L
 * or LL), its text into text (len bytes): 2 when its exact value is v, 1
 * when only its low 32 bits are v's (libconfig wrapped it), 0 when
 * neither, -1 when no integer is written there. */
static int
written_as(const char *p, long long v, char *text, size_t len)
{
	const char *d = p + (*p == '-' || *p == '+');
	int hex = d[0] == '0' && (d[1] | 0x20) == 'x';
	unsigned long long m;
	char *end;
	size_t n;

	if (hex ? !isxdigit((unsigned char)d[2]) : !isdigit((unsigned char)*d))
		return -1;
	errno = 0;
	m = strtoull(d, &end, hex ? 16 : 10);
	n = (size_t)(end - p) + strspn(end, "L");
	if (n < len)
		snprintf(text, len, "%.*s", (int)n, p);
	else
		snprintf(text, len, "%.*s...", (int)(len - 8), p);
	if (*p == '-')
		m = 0ull - m;
	if (errno != ERANGE && m == (unsigned long long)v &&
	    (*p == '-' ? v <= 0 : v >= 0))
		return 2;
	return (uint32_t)m == (uint32_t)v;
}

/* libconfig 1.5 keeps an integer written without the L suffix in 32 bits
 * and wraps it without a word (max_breakers = 4294967297 reads as 1;
 * 0x100000003 as 3).  So the integer setting s is read again from the
 * text: on its line (libconfig's line of a setting is that of its name)
 * its name, then "=" or ":", then the number, taken exactly, which must
 * be what libconfig made of it.  Should the name be there twice (two
 * groups on one line), either may match.  0, or -1 with the number as
 * written (the one libconfig wrapped, else the first, else "?") in text. */
static int
int_as_written(struct ctx *x, const config_setting_t *s, char *text,
	       size_t len)
{
	const char *name = config_setting_name(s), *ls, *end, *p, *q;
	long long v = config_setting_get_int64(s);
	size_t n = name ? strlen(name) : 0;
	char t[32];
	int r, best = -1;

	snprintf(text, len, "?");
	ls = text_line(x, config_setting_source_line(s), &end);
	/* settings are read in file order: on a long line, go on from the
	 * last one found (else a line of n rules would take n^2 steps) */
	p = x->next > ls && x->next < end ? x->next : ls;
	for (; n && (p = memmem(p, (size_t)(end - p), name, n)) != NULL;
	     p += n) {
		if ((p > ls && is_name_char(p[-1])) || is_name_char(p[n]))
			continue;
		q = skip_blank(p + n);
		if (*q != '=' && *q != ':')
			continue;
		if ((r = written_as(skip_blank(q + 1), v, t, sizeof(t))) == 2) {
			x->next = p + n;
			return 0;
		}
		if (r > best) {
			best = r;
			snprintf(text, len, "%s", t);
		}
	}
	if (x->next > ls && x->next < end) {	/* once more, from the start */
		x->next = NULL;
		return int_as_written(x, s, text, len);
	}
	return -1;
}

/* ---- typed getters -------------------------------------------------- */

/* An integer setting within lo..hi, judged as written (int_as_written). */
static int
get_int(struct ctx *x, const config_setting_t *s, const char *path,
	long long lo, long long hi, long long *v)
{
	int t = config_setting_type(s);
	char text[32];

	*v = 0;
	if (t != CONFIG_TYPE_INT && t != CONFIG_TYPE_INT64)
		return fail_at(x, s, "%s: must be an integer, got %s", path,
			       type_name(s));
	if (int_as_written(x, s, text, sizeof(text)) < 0)
		return fail_at(x, s, "%s: must be %lld..%lld, got %s", path,
			       lo, hi, text);
	*v = config_setting_get_int64(s);
	if (*v < lo || *v > hi)
		return fail_at(x, s, "%s: must be %lld..%lld, got %lld", path,
			       lo, hi, *v);
	return 0;
}

static int
get_string(struct ctx *x, const config_setting_t *s, const char *path,
	   const char **v)
{
	*v = "";
	if (config_setting_type(s) != CONFIG_TYPE_STRING)
		return fail_at(x, s, "%s: must be a string, got %s", path,
			       type_name(s));
	*v = config_setting_get_string(s);
	return 0;
}

/* ---- readers (the key table's) -------------------------------------- */

static int
rd_int(struct ctx *x, const config_setting_t *s, const char *path,
       const struct key *k, void *dst)
{
	long long v;

	if (get_int(x, s, path, k->lo, k->hi, &v) < 0)
		return -EINVAL;
	put(dst, k->size, v);
	return 0;
}

/* A duration string within 1ms..CB_MAX_TIMEOUT_MS, then k's range. */
static int
rd_duration(struct ctx *x, const config_setting_t *s, const char *path,
	    const struct key *k, void *dst)
{
	const char *str;
	char q[80], a[32], b[32];
	uint64_t v;

	if (config_setting_type(s) != CONFIG_TYPE_STRING)
		return fail_at(x, s, "%s: must be a duration string with a "
			       "unit (ms, s, m, h) like \"30s\", got %s", path,
			       type_name(s));
	str = config_setting_get_string(s);
	cb_text_quote(q, sizeof(q), str);
	if (cb_parse_duration(str, &v) < 0)
		return fail_at(x, s, "%s: must be a number with a unit (ms, s, "
			       "m, h) like \"30s\", got %s", path, q);
	if (v < 1 || v > CB_MAX_TIMEOUT_MS)
		return fail_at(x, s, "%s: must be 1ms..%ums, got %s", path,
			       CB_MAX_TIMEOUT_MS, q);
	if (v < (uint64_t)k->lo || v > (uint64_t)k->hi) {
		cb_text_duration(a, sizeof(a), (uint64_t)k->lo);
		cb_text_duration(b, sizeof(b), (uint64_t)k->hi);
		return fail_at(x, s, "%s: must be %s..%s, got %s", path, a, b,
			       q);
	}
	put(dst, k->size, (long long)v);
	return 0;
}

/* A duration that may be off: "0" is off (0 ms). */
static int
rd_off_duration(struct ctx *x, const config_setting_t *s, const char *path,
		const struct key *k, void *dst)
{
	const char *str;

	if (config_setting_type(s) == CONFIG_TYPE_STRING &&
	    (str = config_setting_get_string(s)) && strcmp(str, "0") == 0) {
		put(dst, k->size, 0);
		return 0;
	}
	return rd_duration(x, s, path, k, dst);
}

/* A float or an integer, lo..hi (1.0..100.0), kept in thousandths. */
static int
rd_backoff(struct ctx *x, const config_setting_t *s, const char *path,
	   const struct key *k, void *dst)
{
	int t = config_setting_type(s);
	char text[32];
	double v;

	if (t == CONFIG_TYPE_FLOAT) {
		v = config_setting_get_float(s);
	} else if (t == CONFIG_TYPE_INT || t == CONFIG_TYPE_INT64) {
		if (int_as_written(x, s, text, sizeof(text)) < 0)
			return fail_at(x, s, "%s: must be %lld.0..%lld.0, "
				       "got %s", path, k->lo, k->hi, text);
		v = (double)config_setting_get_int64(s);
	} else {
		return fail_at(x, s, "%s: must be a number, got %s", path,
			       type_name(s));
	}
	if (!(v >= (double)k->lo && v <= (double)k->hi))	/* also NaN */
		return fail_at(x, s, "%s: must be %lld.0..%lld.0, got %g",
			       path, k->lo, k->hi, v);
	put(dst, k->size, (long long)(v * 1000.0 + 0.5));
	return 0;
}

/* One of k->words; its index is the value. */
static int
rd_word(struct ctx *x, const config_setting_t *s, const char *path,
	const struct key *k, void *dst)
{
	char list[96], q[80];
	const char *v;
	size_t i, o = 0;

	if (get_string(x, s, path, &v) < 0)
		return -EINVAL;
	for (i = 0; k->words[i]; i++) {
		if (strcmp(k->words[i], v) == 0) {
			put(dst, k->size, (long long)i);
			return 0;
		}
	}
	/* "a", "b" or "c" */
	for (i = 0; k->words[i] && o < sizeof(list); i++)
		o += (size_t)snprintf(list + o, sizeof(list) - o, "%s\"%s\"",
				      i == 0 ? "" : k->words[i + 1] ? ", " :
				      " or ", k->words[i]);
	return fail_at(x, s, "%s: must be %s, got %s", path, list,
		       cb_text_quote(q, sizeof(q), v));
}

/* An errno name that says "cannot connect" (cb_reject_errno_ok). */
static int
rd_errno(struct ctx *x, const config_setting_t *s, const char *path,
	 const struct key *k, void *dst)
{
	const char *v;
	char q[80];
	int e;

	if (get_string(x, s, path, &v) < 0)
		return -EINVAL;
	e = cb_errno_by_name(v);
	if (e < 1 || e >= CB_ERRNO_MAX)
		return fail_at(x, s, "%s: unknown errno name %s", path,
			       cb_text_quote(q, sizeof(q), v));
	if (!cb_reject_errno_ok(e))
		return fail_at(x, s, "%s: %s would make programs wait or "
			       "retry; use one that says \"cannot connect\" "
			       "(ECONNREFUSED, EHOSTUNREACH, ENETUNREACH, "
			       "ETIMEDOUT, ECONNRESET, ECONNABORTED, EHOSTDOWN, "
			       "ENETDOWN, EACCES, EPERM)", path, v);
	put(dst, k->size, e);
	return 0;
}

/* An array (or list) of errno names; it replaces the inherited set. */
static int
rd_failures(struct ctx *x, const config_setting_t *s, const char *path,
	    const struct key *k, void *dst)
{
	struct cb_policy set;
	const config_setting_t *e;
	const char *v;
	char q[80];
	int i, t = config_setting_type(s), n;

	if (t != CONFIG_TYPE_ARRAY && t != CONFIG_TYPE_LIST)
		return fail_at(x, s, "%s: must be an array of errno names "
			       "like [ \"ECONNREFUSED\" ], got %s", path,
			       type_name(s));
	memset(&set, 0, sizeof(set));
	for (i = 0; (e = config_setting_get_elem(s, (unsigned)i)); i++) {
		if (config_setting_type(e) != CONFIG_TYPE_STRING)
			return fail_at(x, e, "%s[%d]: must be an errno name "
				       "(a string), got %s", path, i,
				       type_name(e));
		v = config_setting_get_string(e);
		n = cb_errno_by_name(v);
		if (n < 1 || n >= CB_ERRNO_MAX)
			return fail_at(x, e, "%s[%d]: unknown errno name %s",
				       path, i, cb_text_quote(q, sizeof(q), v));
		set.failures[n / 64] |= 1ull << (n % 64);
		/* the breaker keeps some bits for itself: ask it */
		if (!cb_policy_is_failure(&set, n))
			return fail_at(x, e, "%s[%d]: %s cannot be a failure "
				       "errno (connect never returns it)",
				       path, i, v);
	}
	memcpy(dst, set.failures, k->size);
	return 0;
}

static int
rd_shm_name(struct ctx *x, const config_setting_t *s, const char *path,
	    const struct key *k, void *dst)
{
	const char *name;
	char *copy, q[80];

	(void)k;
	if (get_string(x, s, path, &name) < 0)
		return -EINVAL;
	if (!cb_table_valid_name(name))
		return fail_at(x, s, "%s: must be \"/name\" (2..199 "
			       "characters, no other \"/\"), got %s", path,
			       cb_text_quote(q, sizeof(q), name));
	if ((copy = strdup(name)) == NULL)
		return -ENOMEM;
	free(*(char **)dst);
	*(char **)dst = copy;
	return 0;
}

/* A user name ("svc") or a uid (1001) whose segments are trusted too. */
static int
rd_owner(struct ctx *x, const config_setting_t *s, const char *path,
	 const struct key *k, void *dst)
{
	struct passwd pw, *res = NULL;
	char buf[4096], q[80];
	const char *v;

	if (config_setting_type(s) != CONFIG_TYPE_STRING)
		return rd_int(x, s, path, k, dst);
	v = config_setting_get_string(s);
	if (getpwnam_r(v, &pw, buf, sizeof(buf), &res) != 0 || res == NULL)
		return fail_at(x, s, "%s: no such user %s%s", path,
			       cb_text_quote(q, sizeof(q), v),
			       *v && v[strspn(v, "0123456789")] == '\0' ?
			       " (a uid is a number, written without quotes)" :
			       "");
	put(dst, k->size, (long long)pw.pw_uid);
	return 0;
}

/* "0660": octal, at most 0777, nobody else may write, the owner must be
 * able to read and write (or no process could attach after the first). */
static int
rd_shm_mode(struct ctx *x, const config_setting_t *s, const char *path,
	    const struct key *k, void *dst)
{
	const char *v, *p;
	unsigned m = 0;
	char q[80];

	if (config_setting_type(s) != CONFIG_TYPE_STRING)
		return fail_at(x, s, "%s: must be a string of octal digits "
			       "like \"0660\", got %s", path, type_name(s));
	v = config_setting_get_string(s);
	cb_text_quote(q, sizeof(q), v);
	for (p = v; *p >= '0' && *p <= '7' && p - v < 8; p++)
		m = m * 8 + (unsigned)(*p - '0');
	if (p == v || *p)
		return fail_at(x, s, "%s: must be octal digits like \"0660\", "
			       "got %s", path, q);
	if (m > (unsigned)k->hi)
		return fail_at(x, s, "%s: must be 0000..0777, got %s", path, q);
	if (m & 0002)
		return fail_at(x, s, "%s: must not let others write (0002), "
			       "got %s", path, q);
	if ((m & 0600) != 0600)
		return fail_at(x, s, "%s: must let the owner read and write "
			       "(0600), got %s", path, q);
	put(dst, k->size, m);
	return 0;
}

/* ---- groups --------------------------------------------------------- */

/* Every member of g (a section of keys of group, "where" in messages)
 * must be one of its keys, or extra when not NULL. */
static int
check_names(struct ctx *x, const config_setting_t *g, const char *group,
	    const char *where, const char *extra)
{
	const config_setting_t *s;
	char path[96];
	int i;

	for (i = 0; (s = config_setting_get_elem(g, (unsigned)i)); i++) {
		const char *name = config_setting_name(s);

		if (!find_key(group, name) &&
		    !(extra && strcmp(extra, name) == 0))
			return fail_at(x, s, "%s: unknown setting",
				       join(path, sizeof(path), where, s));
	}
	return 0;
}

/* The members of g into base, in file order, after check_names; extra is
 * the caller's to read.  *set gets the bits (1 << key index) of the keys
 * written. */
static int
read_group(struct ctx *x, const config_setting_t *g, const char *group,
	   const char *where, const char *extra, void *base, unsigned *set)
{
	const config_setting_t *s;
	const struct key *k;
	char path[96];
	int i, r;

	if ((r = check_names(x, g, group, where, extra)) < 0)
		return r;
	for (i = 0; (s = config_setting_get_elem(g, (unsigned)i)); i++) {
		if (!(k = find_key(group, config_setting_name(s))))
			continue;
		join(path, sizeof(path), where, s);
		if ((r = k->read(x, s, path, k, (char *)base + k->off)) < 0)
			return r;
		*set |= 1u << (k - keys);
	}
	return 0;
}

/* open_timeout_max below open_timeout: an error if either was written
 * (here or in defaults) so that they clash, else the ceiling follows the
 * timeout up (open_timeout = "20m" alone is fine). */
static int
check_timeouts(struct ctx *x, const config_setting_t *g, const char *where,
	       struct cb_policy *p, unsigned set)
{
	const config_setting_t *t = config_setting_get_member(g,
							      "open_timeout");
	const config_setting_t *tm = config_setting_get_member(g,
						      "open_timeout_max");
	char a[32], b[32];

	if (p->open_timeout_max_ms >= p->open_timeout_ms)
		return 0;
	if (!(set & key_bit("open_timeout_max"))) {
		p->open_timeout_max_ms = p->open_timeout_ms;
		return 0;
	}
	cb_text_duration(a, sizeof(a), p->open_timeout_ms);
	cb_text_duration(b, sizeof(b), p->open_timeout_max_ms);
	if (tm)
		return fail_at(x, tm, "%s.open_timeout_max: must be at least "
			       "open_timeout (%s), got %s", where, a, b);
	return fail_at(x, t ? t : g, "%s.open_timeout: must be at most "
		       "open_timeout_max (%s), got %s", where, b, a);
}

/* The policy fields of g (defaults, or a rule with its match: extra)
 * over *p, which holds the inherited fields (inherited: those written in
 * defaults).  *set gets the fields g writes. */
static int
read_policy(struct ctx *x, const config_setting_t *g, const char *where,
	    const char *extra, struct cb_policy *p, unsigned inherited,
	    unsigned *set)
{
	int r;

	if ((r = read_group(x, g, NULL, where, extra, p, set)) < 0)
		return r;
	if (check_timeouts(x, g, where, p, inherited | *set) < 0)
		return -EINVAL;
	if (cb_policy_valid(p) < 0)		/* cannot happen: belt */
		return fail_at(x, g, "%s: invalid policy", where);
	return 0;
}

/* ---- sections ------------------------------------------------------- */

static int
need_group(struct ctx *x, const config_setting_t *s)
{
	if (config_setting_type(s) == CONFIG_TYPE_GROUP)
		return 0;
	return fail_at(x, s, "%s: must be a group { ... }, got %s",
		       config_setting_name(s), type_name(s));
}

static int
parse_rule(struct ctx *x, const config_setting_t *g, size_t i,
	   struct cb_config *c, unsigned defset)
{
	struct cb_rule *r = &c->rules[c->nrules];
	const config_setting_t *m;
	const char *str, *why;
	char where[32], path[48], q[CB_MATCH_MAX + 16], whybuf[128];
	unsigned set = 0;

	snprintf(where, sizeof(where), "rules[%zu]", i);
	if (config_setting_type(g) != CONFIG_TYPE_GROUP)
		return fail_at(x, g, "%s: must be a group { match = ...; }, "
			       "got %s", where, type_name(g));
	if (check_names(x, g, NULL, where, "match") < 0)
		return -EINVAL;
	if ((m = config_setting_get_member(g, "match")) == NULL)
		return fail_at(x, g, "%s: missing match (like match = "
			       "\"10.0.0.0/8:*\";)", where);
	snprintf(path, sizeof(path), "%s.match", where);
	if (get_string(x, m, path, &str) < 0)
		return -EINVAL;
	memset(r, 0, sizeof(*r));
	if ((why = cb_match_parse(str, &r->m, whybuf, sizeof(whybuf))) != NULL)
		return fail_at(x, m, "%s: %s, got %s", path, why,
			       cb_text_quote(q, sizeof(q), str));
	r->pol = c->def;
	if (read_policy(x, g, where, "match", &r->pol, defset, &set) < 0)
		return -EINVAL;
	c->nrules++;
	return 0;
}

/* A rule's match and its place, sorted to find two rules alike. */
struct rule_ref {
	const struct cb_match *m;
	size_t i;
};

static int
cmp_u64(uint64_t a, uint64_t b)
{
	return a < b ? -1 : a > b;
}

static int
match_cmp(const struct cb_match *x, const struct cb_match *y)
{
	int r;

	if ((r = x->family - y->family) || (r = x->port_lo - y->port_lo) ||
	    (r = x->port_hi - y->port_hi) ||
	    (r = cmp_u64(x->net[0], y->net[0])) ||
	    (r = cmp_u64(x->net[1], y->net[1])) ||
	    (r = cmp_u64(x->mask[0], y->mask[0])) ||
	    (r = cmp_u64(x->mask[1], y->mask[1])))
		return r;
	return strcmp(x->host, y->host);
}

/* By match, then by place in the file. */
static int
rule_ref_cmp(const void *pa, const void *pb)
{
	const struct rule_ref *a = pa, *b = pb;
	int r = match_cmp(a->m, b->m);

	return r ? r : cmp_u64(a->i, b->i);
}

/* Two rules with the same match: the later one would never apply (the
 * first match wins), which is surely not what was meant.  The first such
 * rule in file order is named, with the line of the one that wins.
 * Sorting keeps a long list of rules at n log n. */
static int
duplicate_rules(struct ctx *x, const config_setting_t *l,
		const struct cb_config *c)
{
	const config_setting_t *m;
	struct rule_ref *v;
	size_t k, g = 0, dup = SIZE_MAX, first = 0;

	if (c->nrules < 2)
		return 0;
	if ((v = malloc(c->nrules * sizeof(*v))) == NULL)
		return -ENOMEM;
	for (k = 0; k < c->nrules; k++)
		v[k] = (struct rule_ref){ &c->rules[k].m, k };
	qsort(v, c->nrules, sizeof(*v), rule_ref_cmp);
	for (k = 1; k < c->nrules; k++) {
		if (match_cmp(v[k - 1].m, v[k].m) != 0)
			g = k;			/* a new group of alike */
		else if (v[k].i < dup)
			dup = v[k].i, first = v[g].i;
	}
	free(v);
	if (dup == SIZE_MAX)
		return 0;
	m = config_setting_get_member(config_setting_get_elem(l,
				      (unsigned)first), "match");
	return fail_at(x, config_setting_get_member(config_setting_get_elem(l,
		       (unsigned)dup), "match"), "rules[%zu].match: the same as "
		       "rules[%zu] (line %d), which comes first and wins: this "
		       "rule would never apply", dup, first,
		       config_setting_source_line(m));
}

static int
parse_rules(struct ctx *x, const config_setting_t *l, struct cb_config *c,
	    unsigned defset)
{
	const config_setting_t *g;
	size_t i;

	/* An empty [] is an empty array to libconfig: allow it too. */
	if (config_setting_type(l) != CONFIG_TYPE_LIST &&
	    !(config_setting_type(l) == CONFIG_TYPE_ARRAY &&
	      config_setting_length(l) == 0))
		return fail_at(x, l, "rules: must be a list ( { match = ...; "
			       "}, ... ), got %s", type_name(l));
	for (i = 0; (g = config_setting_get_elem(l, (unsigned)i)); i++)
		if (parse_rule(x, g, i, c, defset) < 0)
			return -EINVAL;
	return duplicate_rules(x, l, c);
}

/* The top level, in file order, except that the defaults section is read
 * before the first rule wherever it stands (so an error in a defaults
 * section written after the rules is reported before the rules' errors). */
static int
parse_root(struct ctx *x, const config_setting_t *root, struct cb_config *c)
{
	const config_setting_t *s, *d;
	unsigned set = 0, unused = 0;
	char path[96];
	int i, r, done = 0;

	d = config_setting_get_member(root, "defaults");
	for (i = 0; (s = config_setting_get_elem(root, (unsigned)i)); i++) {
		const char *name = config_setting_name(s);

		if (strcmp(name, "shm") == 0 || strcmp(name, "log") == 0) {
			r = need_group(x, s);
			r = r < 0 ? r : read_group(x, s, name, name, NULL, c,
						   &unused);
		} else if (strcmp(name, "defaults") == 0 ||
			   strcmp(name, "rules") == 0) {
			r = 0;
			if (d && !done++)
				r = need_group(x, d) < 0 ? -EINVAL :
				    read_policy(x, d, "defaults", NULL, &c->def,
						0, &set);
			if (r == 0 && strcmp(name, "rules") == 0)
				r = parse_rules(x, s, c, set);
		} else {
			r = fail_at(x, s, "%s: unknown setting",
				    join(path, sizeof(path), NULL, s));
		}
		if (r < 0)
			return r;
	}
	return 0;
}

/* ---- the public face ------------------------------------------------ */

static void
config_defaults(struct cb_config *c)
{
	cb_policy_default(&c->def);
	c->shm_mode = 0600;
	c->shm_owner = -1;
	c->max_breakers = CB_DEFAULT_CAPACITY;
	c->reclaim_after = CB_DEFAULT_RECLAIM_AFTER_MS;
	c->log_level = CB_LOG_WARN;
	c->log_syslog = 0;
}

static struct cb_config *
config_new(size_t nrules)
{
	struct cb_config *c;

	if (nrules > (SIZE_MAX - sizeof(*c)) / sizeof(c->rules[0]))
		return NULL;
	c = calloc(1, sizeof(*c) + nrules * sizeof(c->rules[0]));
	if (c)
		config_defaults(c);
	return c;
}

/* The text checks, libconfig, then the strict walk. */
static int
parse_text(struct ctx *x, const char *buf, size_t len, struct cb_config **cp)
{
	const config_setting_t *rules;
	struct cb_config *c = NULL;
	config_t cfg;
	struct text_end te;
	size_t n = 0;
	int r;

	if ((r = check_text(x, buf, len)) < 0)
		return r;
	x->text = buf;
	config_init(&cfg);
	if (config_read_string(&cfg, buf) != CONFIG_TRUE) {
		r = syntax_error(x, buf, len, (unsigned)config_error_line(&cfg),
				 config_error_text(&cfg) ?
				 config_error_text(&cfg) : "syntax error");
		goto out;
	}
	text_end(buf, len, &te);
	if (te.st == BLOCK) {
		r = fail_line(x, te.opened, "comment never closed: no \"*/\" "
			      "after this \"/*\" (the rest of the file would be "
			      "ignored)");
		goto out;
	}
	rules = config_setting_get_member(config_root_setting(&cfg), "rules");
	if (rules && config_setting_is_aggregate(rules))
		n = (size_t)config_setting_length(rules);
	if ((c = config_new(n)) == NULL) {
		r = -ENOMEM;
		goto out;
	}
	r = parse_root(x, config_root_setting(&cfg), c);
out:
	config_destroy(&cfg);
	if (r < 0) {
		cb_config_free(c);
		return r;
	}
	*cp = c;
	return 0;
}

int
cb_config_load(struct cb_config **cp, const char *path, char *err,
	       size_t errlen)
{
	struct ctx x;
	char dummy[1], *buf = NULL;
	size_t len = 0;
	int r;

	*cp = NULL;
	memset(&x, 0, sizeof(x));
	x.path = path;
	x.err = err && errlen ? err : dummy;
	x.errlen = err && errlen ? errlen : sizeof(dummy);
	x.err[0] = '\0';
	if (path == NULL) {
		if ((*cp = config_new(0)) == NULL)
			return -ENOMEM;
		return 0;
	}
	if ((r = read_file(&x, &buf, &len)) < 0)
		return r;
	r = parse_text(&x, buf, len, cp);
	free(buf);
	if (r == -ENOMEM && !x.failed)
		snprintf(x.err, x.errlen, "%s: out of memory", path);
	return r;
}

void
cb_config_free(struct cb_config *c)
{
	if (c == NULL)
		return;
	free(c->shm_name);
	free(c);
}

void
cb_config_policy(const struct cb_config *c, const struct cb_dest *d,
		 struct cb_policy *p)
{
	cb_config_policy_named(c, d, NULL, p);
}

void
cb_config_policy_named(const struct cb_config *c, const struct cb_dest *d,
		       const char *name, struct cb_policy *p)
{
	uint64_t w[2];
	size_t i;

	if (c == NULL) {
		cb_policy_default(p);
		return;
	}
	cb_match_words(d, w);
	for (i = 0; i < c->nrules; i++) {
		if (cb_match_fits(&c->rules[i].m, d, w, name)) {
			*p = c->rules[i].pol;
			return;
		}
	}
	*p = c->def;
}

const char *
cb_config_path(void)
{
	const char *e = secure_getenv("CBSHIM_CONFIG");

	if (e && *e)
		return e;
	if (access(CB_CONFIG_DEFAULT_PATH, F_OK) == 0)
		return CB_CONFIG_DEFAULT_PATH;
	return NULL;
}

const char *
cb_config_shm_name(const struct cb_config *c)
{
	return c ? c->shm_name : NULL;
}

unsigned
cb_config_shm_mode(const struct cb_config *c)
{
	return c ? c->shm_mode : 0600;
}

long
cb_config_shm_owner(const struct cb_config *c)
{
	return c ? c->shm_owner : -1;
}

uint32_t
cb_config_max_breakers(const struct cb_config *c)
{
	return c ? c->max_breakers : CB_DEFAULT_CAPACITY;
}

uint32_t
cb_config_reclaim_after(const struct cb_config *c)
{
	return c ? c->reclaim_after : CB_DEFAULT_RECLAIM_AFTER_MS;
}

int
cb_config_log_level(const struct cb_config *c)
{
	return c ? c->log_level : CB_LOG_WARN;
}

int
cb_config_log_syslog(const struct cb_config *c)
{
	return c ? c->log_syslog : 0;
}

