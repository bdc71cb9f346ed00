/*
 * config.c - cb.conf (libconfig) -> segment and log settings, the default
 * policy and the rules; matching a destination to its policy.
 *
 * Loading reads the whole file (at most 1 MiB) into memory and runs two
 * passes over it.  A small lexer (prescan) first walks the text the way
 * libconfig's scanner does, for what libconfig 1.5 does not say: it wraps
 * integers silently to 32 bits (max_breakers = 4294967297 would read as 1),
 * keeps line numbers in an unsigned short, stops a string at a NUL byte,
 * and would read other files for @include.  Then libconfig parses the text
 * and a strict walk turns the tree into a struct cb_config, failing on the
 * first unknown key, wrong type or out-of-range value with "FILE:LINE:
 * path.key: message".
 *
 * Every rule's policy is computed in full at load (its own fields over the
 * defaults section) and its match is kept as masked 64-bit words, so
 * cb_config_policy() is a scan of a flat array that neither allocates nor
 * parses: first match wins.  A configuration is immutable once loaded.
 */
#include "config.h"
#include "names.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <libconfig.h>
#include <limits.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#define MAX_FILE_BYTES (1u << 20)
#define MAX_LINES 65535u		/* libconfig keeps lines in 16 bits */
#define MATCH_MAX 272			/* longest "match" string */

/* Policy fields a group sets (defaults or a rule). */
enum {
	F_FAILURE_TH = 1 << 0,
	F_SUCCESS_TH = 1 << 1,
	F_HALF_OPEN = 1 << 2,
	F_TIMEOUT = 1 << 3,
	F_TIMEOUT_MAX = 1 << 4,
	F_BACKOFF = 1 << 5,
	F_MODE = 1 << 6,
	F_REJECT = 1 << 7,
	F_FAILURES = 1 << 8,
	F_RATE = 1 << 9,
	F_WINDOW = 1 << 10,
	F_MINIMUM = 1 << 11,
	F_CONNECT_TO = 1 << 12,
	F_RESPONSE_TO = 1 << 13,
	F_SLOW = 1 << 14,
};

/* A rule: family 0 matches both; addresses are big-endian words (an IPv4
 * address is the top 32 bits of w[0]), compared after masking.  A name
 * rule (host non-empty: "db.internal" or "*.svc.cluster.local", lower
 * case) matches by the name a destination was reached through instead. */
struct cb_rule {
	uint64_t net[2];
	uint64_t mask[2];
	char host[CB_NAME_MAX + 3];
	int family;
	uint16_t port_lo, port_hi;
	struct cb_policy pol;
};

struct cb_config {
	struct cb_policy def;
	char *shm_name;			/* NULL: not set */
	unsigned shm_mode;
	long shm_owner;			/* -1: not set */
	uint32_t max_breakers;
	uint32_t reclaim_after;		/* ms */
	int log_level;
	int log_syslog;
	size_t nrules;
	struct cb_rule rules[];
};

/* One load: where errors go, and what the prescan found. */
struct ctx {
	const char *path;
	char *err;
	size_t errlen;
	int failed;
	unsigned ov_line;		/* first integer libconfig would wrap */
	unsigned ov_name_line;		/* line of the name before it */
	char ov_name[64];
	char ov_text[32];
};

/* A group of policy fields being read (defaults or one rule). */
struct polgroup {
	struct cb_policy *p;
	const char *where;		/* "defaults", "rules[3]" */
	unsigned set;			/* F_* this group set */
	const config_setting_t *timeout, *timeout_max;
};

struct pkey {
	const char *name;
	unsigned bit;
	int (*read)(struct ctx *, const config_setting_t *, const char *,
		    struct cb_policy *);
};

static int fail_line(struct ctx *x, unsigned line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int fail_at(struct ctx *x, const config_setting_t *s, const char *fmt,
		   ...) __attribute__((format(printf, 3, 4)));
static const char *quote(char *buf, size_t len, const char *s);
static const char *type_name(const config_setting_t *s);
static const char *join(char *buf, size_t len, const char *where,
			const config_setting_t *s);
static int read_all(int fd, size_t hint, char **bufp, size_t *lenp);
static int read_file(struct ctx *x, char **bufp, size_t *lenp);
static int prescan(struct ctx *x, const char *s, size_t n);
static size_t skip_comment_block(struct ctx *x, const char *s, size_t i,
				 unsigned *line);
static size_t skip_string(struct ctx *x, const char *s, size_t i,
			  unsigned *line, int *bad);
static int is_name_char(char c);
static size_t number_len(const char *s, int *kind);
static size_t float_len(const char *s);
static void check_int_token(struct ctx *x, const char *s, size_t len,
			    int kind, unsigned line, const char *name,
			    size_t namelen, unsigned name_line);
static int get_int(struct ctx *x, const config_setting_t *s, const char *path,
		   long long lo, long long hi, long long *v);
static int get_string(struct ctx *x, const config_setting_t *s,
		      const char *path, const char **v);
static int check_keys(struct ctx *x, const config_setting_t *g,
		      const char *where, const char *const *keys, int policy);
static int is_policy_key(const char *name);
static int rd_count(struct ctx *x, const config_setting_t *s, const char *path,
		    uint32_t max, uint32_t *dst);
static int rd_failure_th(struct ctx *x, const config_setting_t *s,
			 const char *path, struct cb_policy *p);
static int rd_success_th(struct ctx *x, const config_setting_t *s,
			 const char *path, struct cb_policy *p);
static int rd_half_open(struct ctx *x, const config_setting_t *s,
			const char *path, struct cb_policy *p);
static int rd_duration(struct ctx *x, const config_setting_t *s,
		       const char *path, uint32_t *ms);
static int rd_rate(struct ctx *x, const config_setting_t *s,
		   const char *path, struct cb_policy *p);
static int rd_window(struct ctx *x, const config_setting_t *s,
		     const char *path, struct cb_policy *p);
static int rd_minimum(struct ctx *x, const config_setting_t *s,
		      const char *path, struct cb_policy *p);
static int rd_timeout(struct ctx *x, const config_setting_t *s,
		      const char *path, struct cb_policy *p);
static int rd_timeout_max(struct ctx *x, const config_setting_t *s,
			  const char *path, struct cb_policy *p);
static int rd_off_duration(struct ctx *x, const config_setting_t *s,
			   const char *path, uint32_t *ms);
static int rd_connect_timeout(struct ctx *x, const config_setting_t *s,
			      const char *path, struct cb_policy *p);
static int rd_response_timeout(struct ctx *x, const config_setting_t *s,
			       const char *path, struct cb_policy *p);
static int rd_slow(struct ctx *x, const config_setting_t *s,
		   const char *path, struct cb_policy *p);
static int rd_backoff(struct ctx *x, const config_setting_t *s,
		      const char *path, struct cb_policy *p);
static int rd_mode(struct ctx *x, const config_setting_t *s, const char *path,
		   struct cb_policy *p);
static int rd_reject(struct ctx *x, const config_setting_t *s,
		     const char *path, struct cb_policy *p);
static int rd_failures(struct ctx *x, const config_setting_t *s,
		       const char *path, struct cb_policy *p);
static int read_policy(struct ctx *x, const config_setting_t *g,
		       struct polgroup *pg, unsigned inherited);
static void fmt_duration(char *buf, size_t len, uint64_t ms);
static int check_timeouts(struct ctx *x, const config_setting_t *g,
			  struct polgroup *pg, unsigned inherited);
static int need_group(struct ctx *x, const config_setting_t *s);
static int parse_defaults(struct ctx *x, const config_setting_t *d,
			  struct polgroup *pg);
static int parse_root(struct ctx *x, const config_setting_t *root,
		      struct cb_config *c);
static int parse_shm(struct ctx *x, const config_setting_t *g,
		     struct cb_config *c);
static int parse_shm_owner(struct ctx *x, const config_setting_t *s,
			   long *owner);
static int parse_shm_mode(struct ctx *x, const config_setting_t *s,
			  unsigned *mode);
static int parse_log(struct ctx *x, const config_setting_t *g,
		     struct cb_config *c);
static int parse_rules(struct ctx *x, const config_setting_t *l,
		       struct cb_config *c, unsigned defset);
static int parse_rule(struct ctx *x, const config_setting_t *g, size_t i,
		      struct cb_config *c, unsigned defset);
static const char *parse_match(const char *s, struct cb_rule *r, char *why,
			       size_t whylen);
static const char *parse_ports(const char *s, struct cb_rule *r);
static const char *parse_host_name(const char *host, struct cb_rule *r);
static int parse_u16(const char *s, size_t n, uint16_t *v);
static int parse_prefix(const char *s, int max, int *len);
static const char *parse_addr(char *host, int v6, struct cb_rule *r,
			      char *why, size_t whylen);
static void prefix_mask(int plen, uint64_t m[2]);
static void addr_words(int family, const uint8_t *a, uint64_t w[2]);
static void words_addr(int family, const uint64_t w[2], uint8_t *a);
static int parse_text(struct ctx *x, const char *buf, size_t len,
		      struct cb_config **cp);
static struct cb_config *config_new(size_t nrules);
static void config_defaults(struct cb_config *c);

/* ---- errno names ---------------------------------------------------- */

/* The Linux errno names glibc defines (asm-generic/errno-base.h,
 * asm-generic/errno.h, bits/errno.h).  The canonical name of a number
 * comes first; aliases (EWOULDBLOCK, EDEADLOCK, ENOTSUP) after it. */
#define E_(n) { #n, n }
static const struct {
	const char *name;
	int value;
} errnos[] = {
	E_(EPERM), E_(ENOENT), E_(ESRCH), E_(EINTR), E_(EIO), E_(ENXIO),
	E_(E2BIG), E_(ENOEXEC), E_(EBADF), E_(ECHILD), E_(EAGAIN),
	E_(ENOMEM), E_(EACCES), E_(EFAULT), E_(ENOTBLK), E_(EBUSY),
	E_(EEXIST), E_(EXDEV), E_(ENODEV), E_(ENOTDIR), E_(EISDIR),
	E_(EINVAL), E_(ENFILE), E_(EMFILE), E_(ENOTTY), E_(ETXTBSY),
	E_(EFBIG), E_(ENOSPC), E_(ESPIPE), E_(EROFS), E_(EMLINK), E_(EPIPE),
	E_(EDOM), E_(ERANGE), E_(EDEADLK), E_(ENAMETOOLONG), E_(ENOLCK),
	E_(ENOSYS), E_(ENOTEMPTY), E_(ELOOP), E_(ENOMSG), E_(EIDRM),
	E_(ECHRNG), E_(EL2NSYNC), E_(EL3HLT), E_(EL3RST), E_(ELNRNG),
	E_(EUNATCH), E_(ENOCSI), E_(EL2HLT), E_(EBADE), E_(EBADR),
	E_(EXFULL), E_(ENOANO), E_(EBADRQC), E_(EBADSLT), E_(EBFONT),
	E_(ENOSTR), E_(ENODATA), E_(ETIME), E_(ENOSR), E_(ENONET),
	E_(ENOPKG), E_(EREMOTE), E_(ENOLINK), E_(EADV), E_(ESRMNT),
	E_(ECOMM), E_(EPROTO), E_(EMULTIHOP), E_(EDOTDOT), E_(EBADMSG),
	E_(EOVERFLOW), E_(ENOTUNIQ), E_(EBADFD), E_(EREMCHG), E_(ELIBACC),
	E_(ELIBBAD), E_(ELIBSCN), E_(ELIBMAX), E_(ELIBEXEC), E_(EILSEQ),
	E_(ERESTART), E_(ESTRPIPE), E_(EUSERS), E_(ENOTSOCK),
	E_(EDESTADDRREQ), E_(EMSGSIZE), E_(EPROTOTYPE), E_(ENOPROTOOPT),
	E_(EPROTONOSUPPORT), E_(ESOCKTNOSUPPORT), E_(EOPNOTSUPP),
	E_(EPFNOSUPPORT), E_(EAFNOSUPPORT), E_(EADDRINUSE),
	E_(EADDRNOTAVAIL), E_(ENETDOWN), E_(ENETUNREACH), E_(ENETRESET),
	E_(ECONNABORTED), E_(ECONNRESET), E_(ENOBUFS), E_(EISCONN),
	E_(ENOTCONN), E_(ESHUTDOWN), E_(ETOOMANYREFS), E_(ETIMEDOUT),
	E_(ECONNREFUSED), E_(EHOSTDOWN), E_(EHOSTUNREACH), E_(EALREADY),
	E_(EINPROGRESS), E_(ESTALE), E_(EUCLEAN), E_(ENOTNAM), E_(ENAVAIL),
	E_(EISNAM), E_(EREMOTEIO), E_(EDQUOT), E_(ENOMEDIUM),
	E_(EMEDIUMTYPE), E_(ECANCELED), E_(ENOKEY), E_(EKEYEXPIRED),
	E_(EKEYREVOKED), E_(EKEYREJECTED), E_(EOWNERDEAD),
	E_(ENOTRECOVERABLE), E_(ERFKILL), E_(EHWPOISON),
	E_(EWOULDBLOCK), E_(EDEADLOCK), E_(ENOTSUP),
};
#undef E_

int
cb_errno_by_name(const char *name)
{
	size_t i;

	if (name == NULL)
		return -1;
	for (i = 0; i < sizeof(errnos) / sizeof(errnos[0]); i++)
		if (strcmp(errnos[i].name, name) == 0)
			return errnos[i].value;
	return -1;
}

const char *
cb_errno_name(int e)
{
	size_t i;

	for (i = 0; i < sizeof(errnos) / sizeof(errnos[0]); i++)
		if (errnos[i].value == e)
			return errnos[i].name;
	return NULL;
}

/* ---- durations ------------------------------------------------------ */

int
cb_parse_duration(const char *s, uint64_t *ms)
{
	uint64_t ip = 0, frac = 0, scale = 1, unit, fms;
	const char *p = s;

	if (p == NULL || *p < '0' || *p > '9')
		return -EINVAL;
	for (; *p >= '0' && *p <= '9'; p++) {
		if (ip > (UINT64_MAX - 9) / 10)
			return -EINVAL;
		ip = ip * 10 + (uint64_t)(*p - '0');
	}
	if (*p == '.') {
		if (*++p < '0' || *p > '9')
			return -EINVAL;
		for (; *p >= '0' && *p <= '9'; p++) {
			if (scale >= 1000000000u)	/* 9 decimals */
				return -EINVAL;
			frac = frac * 10 + (uint64_t)(*p - '0');
			scale *= 10;
		}
	}
	if (strcmp(p, "ms") == 0)
		unit = 1;
	else if (strcmp(p, "s") == 0)
		unit = 1000;
	else if (strcmp(p, "m") == 0)
		unit = 60000;
	else if (strcmp(p, "h") == 0)
		unit = 3600000;
	else
		return -EINVAL;
	if ((frac * unit) % scale != 0)		/* not whole milliseconds */
		return -EINVAL;
	fms = frac * unit / scale;
	if (ip > (UINT64_MAX - fms) / unit)
		return -EINVAL;
	*ms = ip * unit + fms;
	return 0;
}

/* "30s", "10m", "1500ms": the shortest exact spelling, for messages. */
static void
fmt_duration(char *buf, size_t len, uint64_t ms)
{
	if (ms != 0 && ms % 3600000 == 0)
		snprintf(buf, len, "%lluh", (unsigned long long)(ms / 3600000));
	else if (ms != 0 && ms % 60000 == 0)
		snprintf(buf, len, "%llum", (unsigned long long)(ms / 60000));
	else if (ms != 0 && ms % 1000 == 0)
		snprintf(buf, len, "%llus", (unsigned long long)(ms / 1000));
	else
		snprintf(buf, len, "%llums", (unsigned long long)ms);
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

/* s in double quotes for a one-line message: control characters and
 * non-ASCII bytes escaped, long strings cut with "...". */
static const char *
quote(char *buf, size_t len, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;
	unsigned char ch;

	buf[o++] = '"';
	for (; (ch = (unsigned char)*s) != 0 && o + 8 < len; s++) {
		if (ch == '"' || ch == '\\') {
			buf[o++] = '\\';
			buf[o++] = (char)ch;
		} else if (ch < 0x20 || ch >= 0x7f) {
			buf[o++] = '\\';
			buf[o++] = 'x';
			buf[o++] = hex[ch >> 4];
			buf[o++] = hex[ch & 15];
		} else {
			buf[o++] = (char)ch;
		}
	}
	if (*s)
		o += (size_t)snprintf(buf + o, len - o, "...");
	buf[o++] = '"';
	buf[o] = '\0';
	return buf;
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

/* ---- reading and prescanning ---------------------------------------- */

/* Read fd to its end into a buffer that starts at hint bytes and doubles,
 * stopping at MAX_FILE_BYTES + 1 (enough to tell a file is too large).
 * NUL-terminated. */
static int
read_all(int fd, size_t hint, char **bufp, size_t *lenp)
{
	char *buf = NULL, *nb;
	size_t len = 0, cap = hint;
	ssize_t n;
	int e;

	for (;;) {
		if (buf == NULL || len == cap) {
			if (len > MAX_FILE_BYTES)
				break;
			if (buf != NULL)
				cap = cap > MAX_FILE_BYTES / 2 ?
				      MAX_FILE_BYTES + 1 : cap * 2;
			if ((nb = realloc(buf, cap + 1)) == NULL) {
				free(buf);
				return -ENOMEM;
			}
			buf = nb;
		}
		if ((n = read(fd, buf + len, cap - len)) == 0)
			break;
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			e = errno;
			free(buf);
			return -e;
		}
		len += (size_t)n;
	}
	buf[len] = '\0';
	*bufp = buf;
	*lenp = len;
	return 0;
}

/* The whole file, NUL-terminated.  Opened non-blocking so a FIFO cannot
 * hang the caller; anything but a regular file or /dev/null is refused.
 * The buffer starts at the file's size and grows if the file does. */
static int
read_file(struct ctx *x, char **bufp, size_t *lenp)
{
	struct stat st;
	char *buf = NULL;
	size_t len = 0, hint;
	int fd, r;

	if ((fd = open(x->path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)) < 0 ||
	    fstat(fd, &st) < 0) {
		r = -errno;
		goto fail;
	}
	if (S_ISDIR(st.st_mode)) {
		r = -EISDIR;
		goto fail;
	}
	if (!S_ISREG(st.st_mode) &&
	    !(S_ISCHR(st.st_mode) && st.st_rdev == makedev(1, 3))) {
		r = -EINVAL;
		snprintf(x->err, x->errlen, "%s: not a regular file", x->path);
		goto fail_quiet;
	}
	hint = st.st_size > 0 && (uint64_t)st.st_size <= MAX_FILE_BYTES ?
	       (size_t)st.st_size + 1 : st.st_size > 0 ? MAX_FILE_BYTES + 1 :
	       256;
	if ((r = read_all(fd, hint, &buf, &len)) < 0)
		goto fail;
	if (len > MAX_FILE_BYTES) {
		r = -EFBIG;
		snprintf(x->err, x->errlen, "%s: too large (more than %u bytes)",
			 x->path, MAX_FILE_BYTES);
		goto fail_quiet;
	}
	close(fd);
	buf[len] = '\0';
	*bufp = buf;
	*lenp = len;
	return 0;
fail:
	snprintf(x->err, x->errlen, "%s: %s", x->path, strerror(-r));
fail_quiet:
	if (fd >= 0)
		close(fd);
	free(buf);
	return r;
}

/* Walk the text as libconfig's scanner does (comments, strings, names,
 * numbers) and fail on a NUL byte, "@include" or too many lines; note the
 * first integer libconfig would wrap (decimal outside int32, hex above
 * 0x7fffffff, both without an L suffix) for get_int to report by key. */
static int
prescan(struct ctx *x, const char *s, size_t n)
{
	const char *name = "";
	size_t i = 0, len, namelen = 0;
	unsigned line = 1, name_line = 1;
	int kind, bad = 0;

	while (i < n && !x->failed) {
		char c = s[i];

		if (c == '\0')
			return fail_line(x, line, "NUL byte in the file");
		if (c == '\n') {
			if (++line > MAX_LINES)
				return fail_line(x, line, "too many lines "
						 "(at most %u)", MAX_LINES);
			i++;
		} else if (c == '#' || (c == '/' && s[i + 1] == '/')) {
			while (i < n && s[i] != '\n' && s[i] != '\0')
				i++;
		} else if (c == '/' && s[i + 1] == '*') {
			i = skip_comment_block(x, s, i + 2, &line);
		} else if (c == '"') {
			i = skip_string(x, s, i + 1, &line, &bad);
			if (bad)
				return fail_line(x, line, "NUL byte in a string");
		} else if (c == '@' && strncmp(s + i, "@include", 8) == 0) {
			return fail_line(x, line, "@include is not supported "
					 "(keep the configuration in one file)");
		} else if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
			   c == '*') {
			name = s + i;
			name_line = line;
			for (namelen = 1; is_name_char(s[i + namelen]);
			     namelen++)
				;
			i += namelen;
		} else if ((len = number_len(s + i, &kind)) > 0) {
			check_int_token(x, s + i, len, kind, line, name,
					namelen, name_line);
			i += len;
		} else {
			i++;
		}
	}
	return x->failed ? -EINVAL : 0;
}

/* Past the closing star-slash (or to the end); counts lines, fails on NUL. */
static size_t
skip_comment_block(struct ctx *x, const char *s, size_t i, unsigned *line)
{
	for (; s[i] != '\0'; i++) {
		if (s[i] == '*' && s[i + 1] == '/')
			return i + 2;
		if (s[i] == '\n' && ++*line > MAX_LINES) {
			fail_line(x, *line, "too many lines (at most %u)",
				  MAX_LINES);
			return i;
		}
	}
	return i;	/* the caller sees NUL (or the end) next */
}

/* Past the closing quote; *bad when the string holds a NUL (raw or
 * "\x00"), which libconfig would silently cut it at. */
static size_t
skip_string(struct ctx *x, const char *s, size_t i, unsigned *line, int *bad)
{
	for (; s[i] != '\0' && s[i] != '"'; i++) {
		if (s[i] == '\n' && ++*line > MAX_LINES) {
			fail_line(x, *line, "too many lines (at most %u)",
				  MAX_LINES);
			return i;
		}
		if (s[i] != '\\')
			continue;
		if (s[i + 1] == '"' || s[i + 1] == '\\')
			i++;
		else if ((s[i + 1] | 0x20) == 'x' && s[i + 2] == '0' &&
			 s[i + 3] == '0')
			*bad = 1;
	}
	return s[i] == '"' ? i + 1 : i;
}

/* libconfig's name: [A-Za-z*][-A-Za-z0-9_*]* */
static int
is_name_char(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	       (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '*';
}

/* Length of the number token at s, the longest of libconfig's integer,
 * integer64, hex, hex64 and float rules (0: none).  *kind: 'i' integer,
 * 'x' hex, else 0 (64-bit or float: nothing to check). */
static size_t
number_len(const char *s, int *kind)
{
	size_t d = (s[0] == '-' || s[0] == '+') ? 1 : 0, i = d, h, fl, best;

	*kind = 0;
	while (s[i] >= '0' && s[i] <= '9')
		i++;
	best = i > d ? i : 0;
	if (best) {
		*kind = 'i';
		if (s[i] == 'L') {
			best = s[i + 1] == 'L' ? i + 2 : i + 1;
			*kind = 0;
		}
	}
	if (s[0] == '0' && (s[1] | 0x20) == 'x') {
		for (h = 2; (s[h] >= '0' && s[h] <= '9') ||
		     ((s[h] | 0x20) >= 'a' && (s[h] | 0x20) <= 'f'); h++)
			;
		if (h > 2 && h >= best) {
			best = h;
			*kind = 'x';
			if (s[h] == 'L') {
				best = s[h + 1] == 'L' ? h + 2 : h + 1;
				*kind = 0;
			}
		}
	}
	fl = float_len(s);
	if (fl > best) {	/* on a tie flex picks float, listed first */
		best = fl;
		*kind = 0;
	} else if (fl == best && fl > 0) {
		*kind = 0;
	}
	return best;
}

/* libconfig's float: [-+]?[0-9]*\.[0-9]*([eE][-+]?[0-9]+)?
 *                 | [-+]?[0-9]+(\.[0-9]*)?[eE][-+]?[0-9]+ */
static size_t
float_len(const char *s)
{
	size_t i = (s[0] == '-' || s[0] == '+') ? 1 : 0, digits, e;
	int dot = 0;

	for (digits = 0; s[i] >= '0' && s[i] <= '9'; i++)
		digits++;
	if (s[i] == '.') {
		dot = 1;
		for (i++; s[i] >= '0' && s[i] <= '9'; i++)
			;
	}
	if (!dot && digits == 0)
		return 0;
	if ((s[i] | 0x20) == 'e') {
		e = i + 1;
		if (s[e] == '-' || s[e] == '+')
			e++;
		if (s[e] >= '0' && s[e] <= '9') {
			while (s[e] >= '0' && s[e] <= '9')
				e++;
			return e;
		}
	}
	return dot ? i : 0;
}

static void
check_int_token(struct ctx *x, const char *s, size_t len, int kind,
		unsigned line, const char *name, size_t namelen,
		unsigned name_line)
{
	unsigned long long v = 0, lim;
	size_t i = kind == 'x' ? 2 : (s[0] == '-' || s[0] == '+');
	int base = kind == 'x' ? 16 : 10;

	if (kind == 0 || x->ov_line != 0)
		return;
	lim = (kind == 'i' && s[0] == '-') ? 2147483648ull : 2147483647ull;
	for (; i < len; i++) {
		unsigned dv = s[i] <= '9' ? (unsigned)(s[i] - '0') :
				(unsigned)((s[i] | 0x20) - 'a' + 10);
		v = v * (unsigned)base + dv;
		if (v > lim)
			break;
	}
	if (v <= lim)
		return;
	x->ov_line = line;
	x->ov_name_line = name_line;
	snprintf(x->ov_name, sizeof(x->ov_name), "%.*s",
		 (int)(namelen < 63 ? namelen : 63), name);
	if (len < sizeof(x->ov_text))
		snprintf(x->ov_text, sizeof(x->ov_text), "%.*s", (int)len, s);
	else
		snprintf(x->ov_text, sizeof(x->ov_text), "%.24s...", s);
}

/* ---- typed getters -------------------------------------------------- */

/* An integer setting within lo..hi.  Reports a token libconfig wrapped
 * (see prescan) with the text as written. */
static int
get_int(struct ctx *x, const config_setting_t *s, const char *path,
	long long lo, long long hi, long long *v)
{
	const char *name = config_setting_name(s);
	int t = config_setting_type(s);

	*v = 0;
	if (t != CONFIG_TYPE_INT && t != CONFIG_TYPE_INT64)
		return fail_at(x, s, "%s: must be an integer, got %s", path,
			       type_name(s));
	if (x->ov_line && name &&
	    config_setting_source_line(s) == x->ov_name_line &&
	    strcmp(name, x->ov_name) == 0)
		return fail_at(x, s, "%s: must be %lld..%lld, got %s", path,
			       lo, hi, x->ov_text);
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

/* Every member of group g must be one of keys (NULL-terminated, may be
 * NULL) or, when policy is set, a policy field. */
static int
check_keys(struct ctx *x, const config_setting_t *g, const char *where,
	   const char *const *keys, int policy)
{
	const config_setting_t *s;
	const char *const *k;
	char path[96];
	int i, ok;

	for (i = 0; (s = config_setting_get_elem(g, (unsigned)i)); i++) {
		const char *name = config_setting_name(s);

		ok = policy && is_policy_key(name);
		for (k = keys; !ok && k && *k; k++)
			ok = strcmp(*k, name) == 0;
		if (!ok)
			return fail_at(x, s, "%s: unknown setting",
				       join(path, sizeof(path), where, s));
	}
	return 0;
}

/* ---- policy fields -------------------------------------------------- */

static const struct pkey pkeys[] = {
	{ "failure_threshold", F_FAILURE_TH, rd_failure_th },
	{ "success_threshold", F_SUCCESS_TH, rd_success_th },
	{ "open_timeout", F_TIMEOUT, rd_timeout },
	{ "half_open_max_calls", F_HALF_OPEN, rd_half_open },
	{ "failures", F_FAILURES, rd_failures },
	{ "mode", F_MODE, rd_mode },
	{ "backoff", F_BACKOFF, rd_backoff },
	{ "open_timeout_max", F_TIMEOUT_MAX, rd_timeout_max },
	{ "reject_errno", F_REJECT, rd_reject },
	{ "failure_rate_threshold", F_RATE, rd_rate },
	{ "window", F_WINDOW, rd_window },
	{ "minimum_calls", F_MINIMUM, rd_minimum },
	{ "connect_timeout", F_CONNECT_TO, rd_connect_timeout },
	{ "response_timeout", F_RESPONSE_TO, rd_response_timeout },
	{ "slow_call_duration", F_SLOW, rd_slow },
};
#define NPKEYS (sizeof(pkeys) / sizeof(pkeys[0]))

static int
is_policy_key(const char *name)
{
	size_t k;

	for (k = 0; k < NPKEYS; k++)
		if (strcmp(pkeys[k].name, name) == 0)
			return 1;
	return 0;
}

/* A count in 1..max into *dst. */
static int
rd_count(struct ctx *x, const config_setting_t *s, const char *path,
	 uint32_t max, uint32_t *dst)
{
	long long v;
	int r = get_int(x, s, path, 1, max, &v);

	if (r == 0)
		*dst = (uint32_t)v;
	return r;
}

static int
rd_failure_th(struct ctx *x, const config_setting_t *s, const char *path,
	      struct cb_policy *p)
{
	return rd_count(x, s, path, CB_MAX_FAILURE_THRESHOLD,
			&p->failure_threshold);
}

static int
rd_success_th(struct ctx *x, const config_setting_t *s, const char *path,
	      struct cb_policy *p)
{
	return rd_count(x, s, path, CB_MAX_SUCCESS_THRESHOLD,
			&p->success_threshold);
}

static int
rd_half_open(struct ctx *x, const config_setting_t *s, const char *path,
	     struct cb_policy *p)
{
	return rd_count(x, s, path, CB_MAX_HALF_OPEN_CALLS,
			&p->half_open_max_calls);
}

/* A duration string within 1ms..CB_MAX_TIMEOUT_MS. */
static int
rd_duration(struct ctx *x, const config_setting_t *s, const char *path,
	    uint32_t *ms)
{
	const char *str;
	char q[80];
	uint64_t v;

	if (config_setting_type(s) != CONFIG_TYPE_STRING)
		return fail_at(x, s, "%s: must be a duration string with a "
			       "unit (ms, s, m, h) like \"30s\", got %s", path,
			       type_name(s));
	str = config_setting_get_string(s);
	if (cb_parse_duration(str, &v) < 0)
		return fail_at(x, s, "%s: must be a number with a unit (ms, s, "
			       "m, h) like \"30s\", got %s", path,
			       quote(q, sizeof(q), str));
	if (v < 1 || v > CB_MAX_TIMEOUT_MS)
		return fail_at(x, s, "%s: must be 1ms..%ums, got %s", path,
			       CB_MAX_TIMEOUT_MS, quote(q, sizeof(q), str));
	*ms = (uint32_t)v;
	return 0;
}

static int
rd_timeout(struct ctx *x, const config_setting_t *s, const char *path,
	   struct cb_policy *p)
{
	return rd_duration(x, s, path, &p->open_timeout_ms);
}

static int
rd_timeout_max(struct ctx *x, const config_setting_t *s, const char *path,
	       struct cb_policy *p)
{
	return rd_duration(x, s, path, &p->open_timeout_max_ms);
}

/* A percent 1..100, or 0: the failure-rate rule off. */
static int
rd_rate(struct ctx *x, const config_setting_t *s, const char *path,
	struct cb_policy *p)
{
	long long v;
	int r = get_int(x, s, path, 0, CB_MAX_RATE_THRESHOLD, &v);

	if (r == 0)
		p->failure_rate_threshold = (uint32_t)v;
	return r;
}

static int
rd_window(struct ctx *x, const config_setting_t *s, const char *path,
	  struct cb_policy *p)
{
	char a[32], b[32], q[80];
	uint32_t ms;
	int r = rd_duration(x, s, path, &ms);

	if (r < 0)
		return r;
	if (ms < CB_MIN_WINDOW_MS || ms > CB_MAX_WINDOW_MS) {
		fmt_duration(a, sizeof(a), CB_MIN_WINDOW_MS);
		fmt_duration(b, sizeof(b), CB_MAX_WINDOW_MS);
		return fail_at(x, s, "%s: must be %s..%s, got %s", path, a, b,
			       quote(q, sizeof(q), config_setting_get_string(s)));
	}
	p->window_ms = ms;
	return 0;
}

static int
rd_minimum(struct ctx *x, const config_setting_t *s, const char *path,
	   struct cb_policy *p)
{
	return rd_count(x, s, path, CB_MAX_MINIMUM_CALLS, &p->minimum_calls);
}

/* A duration that may be off: "0" (or absent) is off (0 ms). */
static int
rd_off_duration(struct ctx *x, const config_setting_t *s, const char *path,
		uint32_t *ms)
{
	const char *str;

	if (config_setting_type(s) == CONFIG_TYPE_STRING &&
	    (str = config_setting_get_string(s)) && strcmp(str, "0") == 0) {
		*ms = 0;
		return 0;
	}
	return rd_duration(x, s, path, ms);
}

static int
rd_connect_timeout(struct ctx *x, const config_setting_t *s,
		   const char *path, struct cb_policy *p)
{
	return rd_off_duration(x, s, path, &p->connect_timeout_ms);
}

static int
rd_response_timeout(struct ctx *x, const config_setting_t *s,
		    const char *path, struct cb_policy *p)
{
	return rd_off_duration(x, s, path, &p->response_timeout_ms);
}

static int
rd_slow(struct ctx *x, const config_setting_t *s, const char *path,
	struct cb_policy *p)
{
	return rd_off_duration(x, s, path, &p->slow_call_ms);
}

/* A float or an integer, 1.0..100.0, kept in thousandths. */
static int
rd_backoff(struct ctx *x, const config_setting_t *s, const char *path,
	   struct cb_policy *p)
{
	const char *name = config_setting_name(s);
	int t = config_setting_type(s);
	double v;

	if (t == CONFIG_TYPE_FLOAT) {
		v = config_setting_get_float(s);
	} else if (t == CONFIG_TYPE_INT || t == CONFIG_TYPE_INT64) {
		if (x->ov_line && name &&
		    config_setting_source_line(s) == x->ov_name_line &&
		    strcmp(name, x->ov_name) == 0)
			return fail_at(x, s, "%s: must be 1.0..100.0, got %s",
				       path, x->ov_text);
		v = (double)config_setting_get_int64(s);
	} else {
		return fail_at(x, s, "%s: must be a number, got %s", path,
			       type_name(s));
	}
	if (!(v >= 1.0 && v <= 100.0))		/* also NaN */
		return fail_at(x, s, "%s: must be 1.0..100.0, got %g", path, v);
	p->backoff_milli = (uint32_t)(v * 1000.0 + 0.5);
	return 0;
}

static int
rd_mode(struct ctx *x, const config_setting_t *s, const char *path,
	struct cb_policy *p)
{
	const char *v;
	char q[80];

	if (get_string(x, s, path, &v) < 0)
		return -EINVAL;
	if (strcmp(v, "enforce") == 0)
		p->mode = CB_MODE_ENFORCE;
	else if (strcmp(v, "observe") == 0)
		p->mode = CB_MODE_OBSERVE;
	else if (strcmp(v, "off") == 0)
		p->mode = CB_MODE_OFF;
	else
		return fail_at(x, s, "%s: must be \"enforce\", \"observe\" or "
			       "\"off\", got %s", path, quote(q, sizeof(q), v));
	return 0;
}

static int
rd_reject(struct ctx *x, const config_setting_t *s, const char *path,
	  struct cb_policy *p)
{
	const char *v;
	char q[80];
	int e;

	if (get_string(x, s, path, &v) < 0)
		return -EINVAL;
	e = cb_errno_by_name(v);
	if (e < 1 || e >= CB_ERRNO_MAX)
		return fail_at(x, s, "%s: unknown errno name %s", path,
			       quote(q, sizeof(q), v));
	if (!cb_reject_errno_ok(e))
		return fail_at(x, s, "%s: %s would make programs wait or "
			       "retry; use one that says \"cannot connect\" "
			       "(ECONNREFUSED, EHOSTUNREACH, ENETUNREACH, "
			       "ETIMEDOUT, ECONNRESET, ECONNABORTED, EHOSTDOWN, "
			       "ENETDOWN, EACCES, EPERM)", path, v);
	p->reject_errno = (uint8_t)e;
	return 0;
}

/* An array (or list) of errno names; it replaces the inherited set. */
static int
rd_failures(struct ctx *x, const config_setting_t *s, const char *path,
	    struct cb_policy *p)
{
	const config_setting_t *e;
	const char *v;
	char q[80];
	int i, t = config_setting_type(s), n;

	if (t != CONFIG_TYPE_ARRAY && t != CONFIG_TYPE_LIST)
		return fail_at(x, s, "%s: must be an array of errno names "
			       "like [ \"ECONNREFUSED\" ], got %s", path,
			       type_name(s));
	memset(p->failures, 0, sizeof(p->failures));
	for (i = 0; (e = config_setting_get_elem(s, (unsigned)i)); i++) {
		if (config_setting_type(e) != CONFIG_TYPE_STRING)
			return fail_at(x, e, "%s[%d]: must be an errno name "
				       "(a string), got %s", path, i,
				       type_name(e));
		v = config_setting_get_string(e);
		n = cb_errno_by_name(v);
		if (n < 1 || n >= CB_ERRNO_MAX)
			return fail_at(x, e, "%s[%d]: unknown errno name %s",
				       path, i, quote(q, sizeof(q), v));
		if (n % 64 == 0)	/* bits the breaker keeps for itself */
			return fail_at(x, e, "%s[%d]: %s cannot be a failure "
				       "errno (connect never returns it)",
				       path, i, v);
		p->failures[n / 64] |= 1ull << (n % 64);
	}
	return 0;
}

/* open_timeout_max below open_timeout: an error if either was written
 * (here or in defaults) so that they clash, else the ceiling follows the
 * timeout up (open_timeout = "20m" alone is fine). */
static int
check_timeouts(struct ctx *x, const config_setting_t *g,
	       struct polgroup *pg, unsigned inherited)
{
	struct cb_policy *p = pg->p;
	char a[32], b[32];

	if (p->open_timeout_max_ms >= p->open_timeout_ms)
		return 0;
	if (!((inherited | pg->set) & F_TIMEOUT_MAX)) {
		p->open_timeout_max_ms = p->open_timeout_ms;
		return 0;
	}
	fmt_duration(a, sizeof(a), p->open_timeout_ms);
	fmt_duration(b, sizeof(b), p->open_timeout_max_ms);
	if (pg->timeout_max)
		return fail_at(x, pg->timeout_max, "%s.open_timeout_max: must "
			       "be at least open_timeout (%s), got %s",
			       pg->where, a, b);
	return fail_at(x, pg->timeout ? pg->timeout : g, "%s.open_timeout: "
		       "must be at most open_timeout_max (%s), got %s",
		       pg->where, b, a);
}

/* The policy fields of group g over *pg->p; other members are skipped
 * (check_keys has vetted them). */
static int
read_policy(struct ctx *x, const config_setting_t *g, struct polgroup *pg,
	    unsigned inherited)
{
	const config_setting_t *s;
	char path[96];
	size_t k;
	int i;

	for (i = 0; (s = config_setting_get_elem(g, (unsigned)i)); i++) {
		const char *name = config_setting_name(s);

		for (k = 0; k < NPKEYS && strcmp(pkeys[k].name, name); k++)
			;
		if (k == NPKEYS)
			continue;
		join(path, sizeof(path), pg->where, s);
		if (pkeys[k].read(x, s, path, pg->p) < 0)
			return -EINVAL;
		pg->set |= pkeys[k].bit;
		if (pkeys[k].bit == F_TIMEOUT)
			pg->timeout = s;
		else if (pkeys[k].bit == F_TIMEOUT_MAX)
			pg->timeout_max = s;
	}
	if (check_timeouts(x, g, pg, inherited) < 0)
		return -EINVAL;
	if (cb_policy_valid(pg->p) < 0)		/* cannot happen: belt */
		return fail_at(x, g, "%s: invalid policy", pg->where);
	return 0;
}

/* ---- sections ------------------------------------------------------- */

static int
parse_shm(struct ctx *x, const config_setting_t *g, struct cb_config *c)
{
	static const char *const keys[] = { "name", "mode", "max_breakers",
					    "reclaim_after", "owner", NULL };
	const config_setting_t *s;
	const char *name;
	long long v;
	char q[80];

	if (check_keys(x, g, "shm", keys, 0) < 0)
		return -EINVAL;
	if ((s = config_setting_get_member(g, "name"))) {
		if (get_string(x, s, "shm.name", &name) < 0)
			return -EINVAL;
		if (!cb_table_valid_name(name))
			return fail_at(x, s, "shm.name: must be \"/name\" (2..199 "
				       "characters, no other \"/\"), got %s",
				       quote(q, sizeof(q), name));
		if ((c->shm_name = strdup(name)) == NULL)
			return -ENOMEM;
	}
	if ((s = config_setting_get_member(g, "mode")) &&
	    parse_shm_mode(x, s, &c->shm_mode) < 0)
		return -EINVAL;
	if ((s = config_setting_get_member(g, "owner")) &&
	    parse_shm_owner(x, s, &c->shm_owner) < 0)
		return -EINVAL;
	if ((s = config_setting_get_member(g, "max_breakers"))) {
		if (get_int(x, s, "shm.max_breakers", 1, CB_MAX_CAPACITY,
			    &v) < 0)
			return -EINVAL;
		c->max_breakers = (uint32_t)v;
	}
	if ((s = config_setting_get_member(g, "reclaim_after")) &&
	    rd_duration(x, s, "shm.reclaim_after", &c->reclaim_after) < 0)
		return -EINVAL;
	return 0;
}

/* A user name ("svc") or a uid (1001) whose segments are trusted too. */
static int
parse_shm_owner(struct ctx *x, const config_setting_t *s, long *owner)
{
	struct passwd pw, *res = NULL;
	char buf[4096], q[80];
	const char *v;
	long long u;

	if (config_setting_type(s) != CONFIG_TYPE_STRING) {
		if (get_int(x, s, "shm.owner", 0, 4294967294ll, &u) < 0)
			return -EINVAL;
		*owner = (long)u;
		return 0;
	}
	v = config_setting_get_string(s);
	if (getpwnam_r(v, &pw, buf, sizeof(buf), &res) != 0 || res == NULL)
		return fail_at(x, s, "shm.owner: no such user %s",
			       quote(q, sizeof(q), v));
	*owner = (long)pw.pw_uid;
	return 0;
}

/* "0660": octal, at most 0777, nobody else may write, the owner must be
 * able to read and write (or no process could attach after the first). */
static int
parse_shm_mode(struct ctx *x, const config_setting_t *s, unsigned *mode)
{
	const char *v, *p;
	unsigned m = 0;
	char q[80];

	if (config_setting_type(s) != CONFIG_TYPE_STRING)
		return fail_at(x, s, "shm.mode: must be a string of octal "
			       "digits like \"0660\", got %s", type_name(s));
	v = config_setting_get_string(s);
	for (p = v; *p >= '0' && *p <= '7' && p - v < 8; p++)
		m = m * 8 + (unsigned)(*p - '0');
	if (p == v || *p)
		return fail_at(x, s, "shm.mode: must be octal digits like "
			       "\"0660\", got %s", quote(q, sizeof(q), v));
	if (m > 0777)
		return fail_at(x, s, "shm.mode: must be 0000..0777, got %s",
			       quote(q, sizeof(q), v));
	if (m & 0002)
		return fail_at(x, s, "shm.mode: must not let others write "
			       "(0002), got %s", quote(q, sizeof(q), v));
	if ((m & 0600) != 0600)
		return fail_at(x, s, "shm.mode: must let the owner read and "
			       "write (0600), got %s", quote(q, sizeof(q), v));
	*mode = m;
	return 0;
}

static int
parse_log(struct ctx *x, const config_setting_t *g, struct cb_config *c)
{
	static const char *const keys[] = { "level", "target", NULL };
	static const char *const levels[] = { "error", "warn", "info",
					      "debug" };
	const config_setting_t *s;
	const char *v;
	char q[80];
	int i;

	if (check_keys(x, g, "log", keys, 0) < 0)
		return -EINVAL;
	if ((s = config_setting_get_member(g, "level"))) {
		if (get_string(x, s, "log.level", &v) < 0)
			return -EINVAL;
		for (i = 0; i < 4 && strcmp(levels[i], v) != 0; i++)
			;
		if (i == 4)
			return fail_at(x, s, "log.level: must be \"error\", "
				       "\"warn\", \"info\" or \"debug\", got %s",
				       quote(q, sizeof(q), v));
		c->log_level = i;	/* enum cb_log_level order */
	}
	if ((s = config_setting_get_member(g, "target"))) {
		if (get_string(x, s, "log.target", &v) < 0)
			return -EINVAL;
		if (strcmp(v, "stderr") != 0 && strcmp(v, "syslog") != 0)
			return fail_at(x, s, "log.target: must be \"stderr\" or "
				       "\"syslog\", got %s",
				       quote(q, sizeof(q), v));
		c->log_syslog = strcmp(v, "syslog") == 0;
	}
	return 0;
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
	return 0;
}

static int
parse_rule(struct ctx *x, const config_setting_t *g, size_t i,
	   struct cb_config *c, unsigned defset)
{
	static const char *const keys[] = { "match", NULL };
	struct cb_rule *r = &c->rules[c->nrules];
	struct polgroup pg;
	const config_setting_t *m;
	const char *str, *why;
	char where[32], path[48], q[MATCH_MAX + 16], whybuf[128];

	snprintf(where, sizeof(where), "rules[%zu]", i);
	if (config_setting_type(g) != CONFIG_TYPE_GROUP)
		return fail_at(x, g, "%s: must be a group { match = ...; }, "
			       "got %s", where, type_name(g));
	if (check_keys(x, g, where, keys, 1) < 0)
		return -EINVAL;
	if ((m = config_setting_get_member(g, "match")) == NULL)
		return fail_at(x, g, "%s: missing match (like match = "
			       "\"10.0.0.0/8:*\";)", where);
	snprintf(path, sizeof(path), "%s.match", where);
	if (get_string(x, m, path, &str) < 0)
		return -EINVAL;
	memset(r, 0, sizeof(*r));
	if ((why = parse_match(str, r, whybuf, sizeof(whybuf))) != NULL)
		return fail_at(x, m, "%s: %s, got %s", path, why,
			       quote(q, sizeof(q), str));
	r->pol = c->def;
	memset(&pg, 0, sizeof(pg));
	pg.p = &r->pol;
	pg.where = where;
	if (read_policy(x, g, &pg, defset) < 0)
		return -EINVAL;
	c->nrules++;
	return 0;
}

static int
need_group(struct ctx *x, const config_setting_t *s)
{
	if (config_setting_type(s) == CONFIG_TYPE_GROUP)
		return 0;
	return fail_at(x, s, "%s: must be a group { ... }, got %s",
		       config_setting_name(s), type_name(s));
}

static int
parse_defaults(struct ctx *x, const config_setting_t *d, struct polgroup *pg)
{
	if (need_group(x, d) < 0 || check_keys(x, d, "defaults", NULL, 1) < 0)
		return -EINVAL;
	return read_policy(x, d, pg, 0);
}

/* The top level, in file order, except that the defaults section is read
 * before the first rule wherever it stands (so an error in a defaults
 * section written after the rules is reported before the rules' errors). */
static int
parse_root(struct ctx *x, const config_setting_t *root, struct cb_config *c)
{
	const config_setting_t *s, *d;
	struct polgroup pg;
	char path[96];
	int i, r, done = 0;

	memset(&pg, 0, sizeof(pg));
	pg.p = &c->def;
	pg.where = "defaults";
	d = config_setting_get_member(root, "defaults");
	for (i = 0; (s = config_setting_get_elem(root, (unsigned)i)); i++) {
		const char *name = config_setting_name(s);

		if (strcmp(name, "shm") == 0) {
			r = need_group(x, s);
			r = r < 0 ? r : parse_shm(x, s, c);
		} else if (strcmp(name, "log") == 0) {
			r = need_group(x, s);
			r = r < 0 ? r : parse_log(x, s, c);
		} else if (strcmp(name, "defaults") == 0 ||
			   strcmp(name, "rules") == 0) {
			r = 0;
			if (d && !done++)
				r = parse_defaults(x, d, &pg);
			if (r == 0 && strcmp(name, "rules") == 0)
				r = parse_rules(x, s, c, pg.set);
		} else {
			r = fail_at(x, s, "%s: unknown setting",
				    join(path, sizeof(path), NULL, s));
		}
		if (r < 0)
			return r;
	}
	return 0;
}

/* ---- matches -------------------------------------------------------- */

/* "ADDR:PORTS", "CIDR:PORTS", "[V6]:PORTS", "[V6/len]:PORTS", "*:PORTS"
 * into r.  NULL, or why not (a constant, or why). */
static const char *
parse_match(const char *s, struct cb_rule *r, char *why, size_t whylen)
{
	char buf[MATCH_MAX + 1], *host, *ports, *end;
	size_t n = strlen(s);
	const char *e;
	int v6 = 0;

	if (n > MATCH_MAX)
		return "too long";
	memcpy(buf, s, n + 1);
	if (buf[0] == '[') {
		if ((end = strchr(buf, ']')) == NULL)
			return "missing \"]\" after the IPv6 address";
		if (end[1] != ':')
			return "missing \":PORT\" after \"]\" (like "
			       "\"[2001:db8::/32]:443\")";
		*end = '\0';
		host = buf + 1;
		ports = end + 2;
		v6 = 1;
	} else {
		if ((end = strrchr(buf, ':')) == NULL)
			return "missing \":PORT\" (like \"10.0.0.0/8:*\")";
		*end = '\0';
		host = buf;
		ports = end + 1;
		if (strchr(host, ':'))
			return "an IPv6 address goes in brackets (like "
			       "\"[2001:db8::/32]:443\")";
	}
	if ((e = parse_ports(ports, r)) != NULL)
		return e;
	if (!v6 && strcmp(host, "*") == 0)
		return NULL;			/* family 0, mask 0: any */
	/* not only digits, dots and a prefix: a host name */
	if (!v6 && !strchr(host, '/') && host[strspn(host, "0123456789.")])
		return parse_host_name(host, r);
	return parse_addr(host, v6, r, why, whylen);
}

/* "db.internal" or "*.svc.cluster.local" into r->host, normalised. */
static const char *
parse_host_name(const char *host, struct cb_rule *r)
{
	int wild = strncmp(host, "*.", 2) == 0;

	if (strchr(host + 2 * wild, '*'))
		return "a \"*\" in a host name only as \"*.\" at its start "
		       "(like \"*.svc.cluster.local:*\")";
	if (wild)
		memcpy(r->host, "*.", 2);
	if (cb_name_normal(host + 2 * wild, r->host + 2 * wild) < 0)
		return "bad host name (labels of letters, digits, \"-\" or "
		       "\"_\" joined by dots, 63 bytes each, 253 in all)";
	return NULL;
}

/* "*", "443" or "8000-8099". */
static const char *
parse_ports(const char *s, struct cb_rule *r)
{
	static const char bad[] = "bad port (1..65535, a range like "
				  "8000-8099, or *)";
	const char *dash = strchr(s, '-');

	if (strcmp(s, "*") == 0) {
		r->port_lo = 0;
		r->port_hi = 65535;
		return NULL;
	}
	if (dash == NULL) {
		if (parse_u16(s, strlen(s), &r->port_lo) < 0)
			return bad;
		r->port_hi = r->port_lo;
		return NULL;
	}
	if (parse_u16(s, (size_t)(dash - s), &r->port_lo) < 0 ||
	    parse_u16(dash + 1, strlen(dash + 1), &r->port_hi) < 0)
		return bad;
	if (r->port_lo > r->port_hi)
		return "port range ends before it starts";
	return NULL;
}

/* n decimal digits (1..5), 1..65535. */
static int
parse_u16(const char *s, size_t n, uint16_t *v)
{
	unsigned x = 0;
	size_t i;

	if (n < 1 || n > 5)
		return -1;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		x = x * 10 + (unsigned)(s[i] - '0');
	}
	if (x < 1 || x > 65535)
		return -1;
	*v = (uint16_t)x;
	return 0;
}

/* 1..3 decimal digits, 0..max. */
static int
parse_prefix(const char *s, int max, int *len)
{
	int x = 0, i;

	for (i = 0; s[i] >= '0' && s[i] <= '9' && i < 3; i++)
		x = x * 10 + (s[i] - '0');
	if (i == 0 || s[i] != '\0' || x > max)
		return -1;
	*len = x;
	return 0;
}

/* "a.b.c.d[/len]" or (v6) "x:y::z[/len]" into r.  An address with bits
 * beyond its prefix is refused (it is usually a typo), naming the
 * network meant.  A v4-mapped IPv6 network becomes the IPv4 one, since
 * such destinations are IPv4 by the time they are matched. */
static const char *
parse_addr(char *host, int v6, struct cb_rule *r, char *why, size_t whylen)
{
	int family = v6 ? AF_INET6 : AF_INET, max = v6 ? 128 : 32, plen = max;
	char *slash = strchr(host, '/'), net[INET6_ADDRSTRLEN];
	uint8_t a[16] = { 0 };
	uint64_t w[2], m[2];

	if (*host == '\0' || host == slash)
		return "missing address (\"*:PORT\" matches any)";
	if (slash) {
		*slash = '\0';
		if (parse_prefix(slash + 1, max, &plen) < 0)
			return v6 ? "bad prefix length (0..128)" :
				    "bad prefix length (0..32)";
	}
	if (inet_pton(family, host, a) != 1)
		return v6 ? "bad IPv6 address" : "bad IPv4 address";
	addr_words(family, a, w);
	prefix_mask(plen, m);
	if ((w[0] & ~m[0]) || (w[1] & ~m[1])) {
		w[0] &= m[0];
		w[1] &= m[1];
		words_addr(family, w, a);
		inet_ntop(family, a, net, sizeof(net));
		snprintf(why, whylen, "address has bits set beyond /%d (the "
			 "network is %s/%d)", plen, net, plen);
		return why;
	}
	if (v6 && plen >= 96 && IN6_IS_ADDR_V4MAPPED((struct in6_addr *)a)) {
		family = AF_INET;
		memmove(a, a + 12, 4);
		plen -= 96;
		addr_words(family, a, w);
		prefix_mask(plen, m);
	}
	r->family = family;
	r->net[0] = w[0];
	r->net[1] = w[1];
	r->mask[0] = m[0];
	r->mask[1] = m[1];
	return NULL;
}

/* The top plen bits of 128. */
static void
prefix_mask(int plen, uint64_t m[2])
{
	m[0] = plen <= 0 ? 0 : plen >= 64 ? ~0ull : ~0ull << (64 - plen);
	m[1] = plen <= 64 ? 0 : plen >= 128 ? ~0ull : ~0ull << (128 - plen);
}

/* Address bytes -> big-endian words; IPv4 fills the top of w[0]. */
static void
addr_words(int family, const uint8_t *a, uint64_t w[2])
{
	int i, n = family == AF_INET6 ? 16 : family == AF_INET ? 4 : 0;

	w[0] = w[1] = 0;
	for (i = 0; i < n; i++)
		w[i / 8] |= (uint64_t)a[i] << (56 - 8 * (i % 8));
}

static void
words_addr(int family, const uint64_t w[2], uint8_t *a)
{
	int i, n = family == AF_INET6 ? 16 : 4;

	for (i = 0; i < n; i++)
		a[i] = (uint8_t)(w[i / 8] >> (56 - 8 * (i % 8)));
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

/* Prescan, libconfig, then the strict walk. */
static int
parse_text(struct ctx *x, const char *buf, size_t len, struct cb_config **cp)
{
	const config_setting_t *rules;
	struct cb_config *c = NULL;
	config_t cfg;
	size_t n = 0;
	int r;

	if ((r = prescan(x, buf, len)) < 0)
		return r;
	config_init(&cfg);
	if (config_read_string(&cfg, buf) != CONFIG_TRUE) {
		r = fail_line(x, (unsigned)config_error_line(&cfg), "%s",
			      config_error_text(&cfg) ? config_error_text(&cfg) :
			      "syntax error");
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
	if (r == 0 && x->ov_line)	/* a wrapped integer nobody claimed */
		r = fail_line(x, x->ov_line, "%s: integer %s is out of range",
			      x->ov_name, x->ov_text);
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

/* Does rule r fit d (address words w), reached through name (or NULL)? */
static int
rule_fits(const struct cb_rule *r, const struct cb_dest *d,
	  const uint64_t w[2], const char *name)
{
	if (d->port < r->port_lo || d->port > r->port_hi)
		return 0;
	if (r->host[0])
		return name != NULL && cb_name_match(r->host, name);
	return (r->family == 0 || r->family == d->family) &&
	       (w[0] & r->mask[0]) == r->net[0] &&
	       (w[1] & r->mask[1]) == r->net[1];
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
	addr_words(d->family, d->addr, w);
	for (i = 0; i < c->nrules; i++) {
		if (rule_fits(&c->rules[i], d, w, name)) {
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
