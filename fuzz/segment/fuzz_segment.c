/*
 * fuzz_segment.c - libFuzzer target: the segment validator
 * (cb_table_attach) and everything that reads or writes an attached
 * segment, on hostile bytes.
 *
 * A segment can hold anything: another program's file, a half-written
 * one, or bytes written on purpose by a process that may write it.  The
 * shim and cbctl must refuse what is not a segment of their layout and,
 * for a segment that passes, stay inside it whatever its words say.
 *
 * cb_table_attach() takes only a POSIX shm name, so each input is written
 * to /dev/shm/cbfuzz-seg-PID (tmpfs: no disk) and attached by name.  The
 * first byte picks how the file is made:
 *
 *   mode 0        the rest of the input is the whole file
 *   mode 1, 2     a real segment (capacity 1 or 5, with breakers in every
 *                 state, events, an unprotected count), patched by the rest
 *                 of the input: records [where u8][offset u16 LE][len u8]
 *                 [bytes], where = 0 header, 1 ring, 2 slots, 3 anywhere
 *   bit 2         also run cbctl's commands over it (slower: a tenth
 *                 of the speed, so only on the inputs that ask)
 *   bits 4-7      then cut or grow the file (0: keep its size)
 *
 * Checks, besides crashes, ASan and UBSan: read-only and read-write
 * attaches agree; a refusal is -EBADMSG or -EPROTO with a reason; an
 * accepted segment has exactly the size its header claims; then every
 * core function is run over it (slots, lookups, inserts, admissions,
 * outcomes, trips, events), and cbctl's own commands (list, list --json,
 * show, watch --count 1, events, events --json, metrics, reset --all,
 * trip, reload), with cbctl's main() renamed by the build.  The mapping
 * is the file, so a write or read outside it faults; the read-only
 * commands also have to leave the file byte for byte as it was.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../cbctl/cbctl.h"
#include "../../shim/breaker.h"
#include "../../shim/segment.h"
#include "../../shim/table.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* where the header keeps what is damaged here (segment.h) */
#define H_(f) offsetof(struct cb_shm_header, f)
#define MAXFILE (8u << 20)

static char name[64], path[96];
static uint8_t *tmpl[2], *buf;
static size_t tmpl_size[2];
static const uint32_t tmpl_cap[2] = { 1, 5 };

static const struct cb_dest dests[] = {
	{ AF_INET, 80, { 127, 0, 0, 1 }, 0 },
	{ AF_INET, 5432, { 10, 1, 2, 3 }, 0 },
	{ AF_INET6, 443, { 0x20, 0x01, 0x0d, 0xb8, [15] = 1 }, 0 },
	{ AF_INET, 9, { 127, 0, 0, 2 }, 0 },
	{ AF_INET, 65535, { 255, 255, 255, 255 }, 0 },
	{ AF_INET6, 1, { 0 }, 0 },
};
#define NDESTS (sizeof(dests) / sizeof(dests[0]))

static void
cleanup(void)
{
	unlink(path);
}

static void
put(const uint8_t *d, size_t n)
{
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	size_t off = 0;
	ssize_t w;

	if (fd < 0)
		abort();
	while (off < n) {
		w = write(fd, d + off, n - off);
		if (w <= 0)
			abort();
		off += (size_t)w;
	}
	close(fd);
}

static uint8_t *
get(size_t *n)
{
	struct stat st;
	uint8_t *d;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0 || fstat(fd, &st) < 0 || !(d = malloc((size_t)st.st_size +
	    1)) || read(fd, d, (size_t)st.st_size) != st.st_size)
		abort();
	close(fd);
	*n = (size_t)st.st_size;
	return d;
}

/* A real segment of capacity cap with breakers in every state. */
static void
make_template(int k)
{
	struct cb_table_opts o = { 1, 0, 0600, tmpl_cap[k] };
	struct cb_table *t;
	struct cb_breaker bh_, *b = &bh_;
	struct cb_policy p;
	struct cb_ticket tk;
	struct cb_transition tr;
	char why[256];
	uint32_t slot;
	uint64_t now = 1000000;
	size_t i;
	int j;

	unlink(path);
	if (cb_table_attach(&t, name, &o, why, sizeof(why)) != 0)
		abort();
	cb_policy_default(&p);
	p.open_timeout_ms = 100;
	for (i = 0; i < NDESTS; i++) {
		if (cb_table_insert(t, &dests[i], &p, b, &slot) < 0) {
			cb_table_count_unprotected(t);
			continue;
		}
		switch (i % 4) {
		case 0:		/* open by failures, then half-open probe */
			for (j = 0; j < 5; j++) {
				cb_breaker_admit(b, now, &tk, &tr);
				cb_breaker_record(b, &tk, 0, ECONNREFUSED, now,
						  &tr);
				cb_table_event(t, slot, &tr, now, 1);
			}
			cb_breaker_admit(b, now + 200, &tk, &tr);
			cb_table_event(t, slot, &tr, now + 200, 1);
			break;
		case 1:
			cb_breaker_trip(b, now, 1, 0, &tr);
			cb_table_event(t, slot, &tr, now, 2);
			break;
		case 2:
			cb_breaker_trip(b, now, 0, 5000, &tr);
			cb_table_event(t, slot, &tr, now, 3);
			break;
		default:
			cb_breaker_admit(b, now, &tk, &tr);
			cb_breaker_record(b, &tk, 1, 0, now, &tr);
			break;
		}
	}
	cb_table_detach(t);
	tmpl[k] = get(&tmpl_size[k]);
	unlink(path);
}

static void
init(void)
{
	snprintf(name, sizeof(name), "/cbfuzz-seg-%ld", (long)getpid());
	snprintf(path, sizeof(path), "/dev/shm%s", name);
	atexit(cleanup);
	/* cbctl's commands print: to /dev/null (libFuzzer keeps its own
	 * stderr with -close_fd_mask) */
	if (!freopen("/dev/null", "w", stdout))
		abort();
	setenv("CBSHIM_CONFIG", "/dev/null", 1);	/* built-in defaults */
	unsetenv("CBSHIM_SHM");
	make_template(0);
	make_template(1);
	buf = malloc(MAXFILE);
	if (!buf)
		abort();
}

static uint64_t
rd64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return v;
}

/* The file for this input into buf; its size. */
static size_t
build(const uint8_t *data, size_t size)
{
	unsigned mode = data[0] & 3, cut = data[0] >> 4;
	size_t n, i, off, len, base;
	const uint8_t *tp;
	uint64_t ro, so;

	data++, size--;
	if (mode == 0 || mode == 3) {
		n = size < MAXFILE ? size : MAXFILE;
		memcpy(buf, data, n);
		return n;
	}
	tp = tmpl[mode - 1];
	n = tmpl_size[mode - 1];
	memcpy(buf, tp, n);
	ro = rd64(tp + H_(ring_off));
	so = rd64(tp + H_(hot_off));
	for (i = 0; i + 4 <= size;) {
		unsigned where = data[i] & 3;

		off = (size_t)data[i + 1] | (size_t)data[i + 2] << 8;
		len = data[i + 3];
		i += 4;
		if (len > size - i)
			len = size - i;
		base = where == 1 ? ro : where == 2 ? so : 0;
		if (where == 3)
			off = (off * 64) % n;
		off = (base + off) % n;
		if (len > n - off)
			len = n - off;
		memcpy(buf + off, data + i, len);
		i += len;
	}
	if (cut >= 1 && cut <= 7)		/* cut 8..56 bytes */
		n -= cut * 8;
	else if (cut >= 8 && cut <= 13)		/* grow by pages */
		n += (cut - 7) * 4096u, memset(buf + n - (cut - 7) * 4096u, 0,
					       (cut - 7) * 4096u);
	else if (cut == 14)
		n = 0;
	else if (cut == 15)
		n = n > 128 ? 128 : n;
	return n;
}

static void
copy_snapshot(struct cb_breaker *b, uint64_t now)
{
	struct cb_snapshot s;
	struct cb_policy p;

	/* as cbctl does: snapshot and policy only read, so a read-only
	 * mapping is read in place */
	cb_breaker_snapshot(b, now, &s);
	cb_breaker_get_policy(b, &p);
	(void)cb_state_name(s.state);
}

static void
read_only(struct cb_table *t, uint64_t now)
{
	static struct cb_event ev[CB_EVENTS];
	struct cb_breaker bh_, *b = &bh_;
	struct cb_dest d;
	char s[64];
	uint32_t i, slot, n = cb_table_slots(t);
	size_t k, got;

	(void)cb_table_used(t);		/* may be a lie: nothing trusts it */
	for (i = 0; i <= n + 1; i++) {
		if (cb_table_slot(t, i, b, &d) < 0)
			continue;
		if (i >= n)
			abort();	/* out of range yet answered */
		cb_dest_format(&d, s, sizeof(s));
		copy_snapshot(b, now);
	}
	for (k = 0; k < NDESTS; k++)
		if (cb_table_find(t, &dests[k], b, &slot) == 0) {
			if (slot >= n)
				abort();
			copy_snapshot(b, now);
		}
	got = cb_table_events(t, 0, ev, CB_EVENTS);
	for (k = 0; k < got; k++) {
		cb_dest_format(&ev[k].dest, s, sizeof(s));
		(void)cb_why_name(ev[k].why);
		(void)cb_state_name(ev[k].from);
	}
	(void)cb_table_events(t, UINT64_MAX - 5, ev, 4);
	(void)cb_table_unprotected(t);
	(void)cb_table_capacity(t);
}

static void
read_write(struct cb_table *t, uint64_t now, const uint8_t *data,
	   size_t size)
{
	struct cb_breaker bh_, *b = &bh_;
	struct cb_policy p;
	struct cb_ticket tk;
	struct cb_transition tr;
	struct cb_snapshot s;
	struct cb_dest d = { AF_INET, 7, { 192, 0, 2, 1 }, 0 };
	uint32_t i, slot, n = cb_table_slots(t);
	size_t k;

	cb_policy_default(&p);
	if (size >= 4)
		memcpy(d.addr, data + size - 4, 4);
	for (k = 0; k <= NDESTS; k++) {
		const struct cb_dest *x = k < NDESTS ? &dests[k] : &d;

		if (cb_table_insert(t, x, &p, b, &slot) < 0) {
			cb_table_count_unprotected(t);
			continue;
		}
		if (slot >= n)
			abort();
		if (cb_breaker_admit(b, now, &tk, &tr) == 0) {
			cb_table_event(t, slot, &tr, now, 9);
			if (k & 1)
				cb_breaker_record(b, &tk, (int)(k & 2), 111,
						  now, &tr);
			else
				cb_breaker_release(b, &tk);
			cb_table_event(t, slot, &tr, now, 9);
		}
		(void)cb_breaker_can_execute(b, now + 1000000);
		cb_breaker_snapshot(b, now, &s);
	}
	for (i = 0; i < n; i++) {
		if (cb_table_slot(t, i, b, NULL) < 0)
			continue;
		cb_breaker_snapshot(b, now + 7, &s);
		if (i % 3 == 0)
			cb_breaker_trip(b, now, (int)(i & 4), i, &tr);
		else if (i % 3 == 1)
			cb_breaker_reset(b, now, &tr);
		cb_table_event(t, i, &tr, now, 9);
	}
}

/* cbctl's commands over the segment, as an operator would run them:
 * the readers never write it, and nothing writes a refused one. */
static void
commands(int refused)
{
	static char *ro[][4] = {
		{ "list", NULL }, { "list", "--json", NULL },
		{ "show", "127.0.0.1:80", NULL },
		{ "show", "[2001:db8::1]:443", "--json", NULL },
		{ "watch", "--count", "1", NULL },
		{ "events", NULL }, { "events", "--json", NULL },
		{ "metrics", NULL },
	};
	static char *rw[][4] = {
		{ "reset", "--all", NULL }, { "trip", "10.1.2.3:5432", NULL },
		{ "trip", "127.0.0.1:9", "--hold", NULL }, { "reload", NULL },
	};
	size_t i, before_n, after_n;
	uint8_t *before, *after;
	int argc, r;

	before = get(&before_n);
	for (i = 0; i < sizeof(ro) / sizeof(ro[0]); i++) {
		struct cbctl c = { .shm_opt = name };

		for (argc = 0; ro[i][argc]; argc++)
			;
		r = cbctl_command(&c, argc, ro[i]);
		if (r > CBCTL_FAIL || (refused && r != CBCTL_FAIL))
			abort();	/* usage error, or a refused one read */
		cb_config_free(c.cfg);
	}
	for (i = 0; refused && i < sizeof(rw) / sizeof(rw[0]); i++) {
		struct cbctl c = { .shm_opt = name };

		for (argc = 0; rw[i][argc]; argc++)
			;
		if (cbctl_command(&c, argc, rw[i]) != CBCTL_FAIL)
			abort();	/* a refused segment, used anyway */
		cb_config_free(c.cfg);
	}
	after = get(&after_n);
	if (after_n != before_n || memcmp(before, after, before_n) != 0)
		abort();		/* written by a reader, or refused */
	free(before);
	free(after);
	for (i = 0; !refused && i < sizeof(rw) / sizeof(rw[0]); i++) {
		struct cbctl c = { .shm_opt = name };

		for (argc = 0; rw[i][argc]; argc++)
			;
		if (cbctl_command(&c, argc, rw[i]) > CBCTL_FAIL)
			abort();
		cb_config_free(c.cfg);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cb_table_opts ro = { 0, 1, 0600, 1 }, rw = { 0, 0, 0600, 1 };
	struct cb_table *t1 = NULL, *t2 = NULL;
	char why1[256], why2[256];
	uint64_t now;
	size_t n;
	int r1, r2;

	if (!buf)
		init();
	if (size < 1)
		return 0;
	n = build(data, size);
	put(buf, n);
	r1 = cb_table_attach(&t1, name, &ro, why1, sizeof(why1));
	r2 = cb_table_attach(&t2, name, &rw, why2, sizeof(why2));
	if (r1 != r2)
		abort();		/* read-only and read-write disagree */
	if (r1 < 0) {
		if ((r1 != -EBADMSG && r1 != -EPROTO) || !why1[0] ||
		    strcmp(why1, why2) != 0 || t1 || t2)
			abort();
		if (data[0] & 4)
			commands(1);	/* each must refuse, write nothing */
		return 0;
	}
	if (cb_table_size(t1) != n || cb_table_size(t2) != n ||
	    cb_table_slots(t1) == 0 ||
	    (cb_table_slots(t1) & (cb_table_slots(t1) - 1)) != 0)
		abort();
	now = size >= 9 ? rd64(data + 1) >> 20 : 12345;
	read_only(t1, now);
	read_write(t2, now, data, size);
	read_only(t1, now + 1);
	cb_table_detach(t1);
	cb_table_detach(t2);
	if (data[0] & 4)
		commands(0);
	return 0;
}
