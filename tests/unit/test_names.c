/*
 * test_names.c - host names (the names a program resolved, kept with their
 * addresses' breakers): what counts as a name and how rules match it, the
 * per-process address -> name map (recent addresses kept,
 * IPv4-mapped addresses as IPv4, later names replace earlier ones, never a
 * torn or foreign name while threads record and look up at once), and the
 * name stored with a breaker in the segment (first name wins, exactly one
 * winner among racing threads, read-only mappings refused).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "../../shim/names.h"
#include "../../shim/table.h"

static struct cb_dest
dest(const char *addr, unsigned port)
{
	struct cb_dest d;

	memset(&d, 0, sizeof(d));
	d.family = strchr(addr, ':') ? AF_INET6 : AF_INET;
	assert_int_equal(inet_pton(d.family, addr, d.addr), 1);
	d.port = (uint16_t)port;
	return d;
}

static void
record(const char *addr, const char *name)
{
	struct cb_dest d = dest(addr, 1);

	cb_names_record(d.family, d.addr, name);
}

/* The name looked up for addr, "" when none. */
static const char *
lookup(const char *addr)
{
	static char out[CB_NAME_MAX + 1];
	struct cb_dest d = dest(addr, 80);

	if (cb_names_lookup(&d, out) == 0)
		out[0] = '\0';
	return out;
}

/* ---- names ------------------------------------------------------------ */

static void
names_are_lower_case_without_final_dot(void **state)
{
	char out[CB_NAME_MAX + 1], long_name[300], label[70];

	(void)state;
	assert_int_equal(cb_name_normal("DB.Internal.", out), 0);
	assert_string_equal(out, "db.internal");
	assert_int_equal(cb_name_normal("svc-1_a.x", out), 0);
	assert_string_equal(out, "svc-1_a.x");
	assert_int_equal(cb_name_normal("localhost", out), 0);
	/* numeric addresses, bad bytes, empty labels are no names */
	assert_int_equal(cb_name_normal("127.0.0.1", out), -EINVAL);
	assert_int_equal(cb_name_normal("::1", out), -EINVAL);
	assert_int_equal(cb_name_normal("", out), -EINVAL);
	assert_int_equal(cb_name_normal(".", out), -EINVAL);
	assert_int_equal(cb_name_normal("a..b", out), -EINVAL);
	assert_int_equal(cb_name_normal(".a", out), -EINVAL);
	assert_int_equal(cb_name_normal("a b", out), -EINVAL);
	assert_int_equal(cb_name_normal("a/b", out), -EINVAL);
	assert_int_equal(cb_name_normal("*.a", out), -EINVAL);
	/* a label of 63 bytes is fine, 64 is not */
	memset(label, 'a', 64);
	label[63] = '\0';
	assert_int_equal(cb_name_normal(label, out), 0);
	label[63] = 'a';
	label[64] = '\0';
	assert_int_equal(cb_name_normal(label, out), -EINVAL);
	/* 253 bytes in all is fine (a final dot aside), 254 is not */
	memset(long_name, 'b', sizeof(long_name));
	for (int i = 50; i < 300; i += 51)
		long_name[i] = '.';
	long_name[253] = '\0';
	assert_int_equal(cb_name_normal(long_name, out), 0);
	assert_int_equal(strlen(out), 253);
	long_name[253] = '.';
	long_name[254] = '\0';
	assert_int_equal(cb_name_normal(long_name, out), 0);
	long_name[253] = 'b';
	assert_int_equal(cb_name_normal(long_name, out), -EINVAL);
}

static void
star_dot_matches_deeper_names_only(void **state)
{
	(void)state;
	assert_true(cb_name_match("db.internal", "db.internal"));
	assert_true(cb_name_match("db.internal", "DB.internal"));
	assert_false(cb_name_match("db.internal", "xdb.internal"));
	assert_false(cb_name_match("db.internal", "a.db.internal"));
	assert_true(cb_name_match("*.svc.local", "a.svc.local"));
	assert_true(cb_name_match("*.svc.local", "a.b.svc.local"));
	assert_true(cb_name_match("*.svc.local", "A.SVC.Local"));
	assert_false(cb_name_match("*.svc.local", "svc.local"));
	assert_false(cb_name_match("*.svc.local", "xsvc.local"));
	assert_false(cb_name_match("*.svc.local", "a.svc.local.evil"));
}

/* ---- the per-process map ------------------------------------------ */

static int
clear(void **state)
{
	(void)state;
	cb_names_clear();
	return 0;
}

static void
recorded_addresses_are_found_by_name(void **state)
{
	(void)state;
	assert_false(cb_names_any());
	assert_string_equal(lookup("10.0.0.1"), "");
	record("10.0.0.1", "DB.internal.");
	assert_true(cb_names_any());
	record("2001:db8::5", "v6.example");
	assert_string_equal(lookup("10.0.0.1"), "db.internal");
	assert_string_equal(lookup("2001:db8::5"), "v6.example");
	assert_string_equal(lookup("10.0.0.2"), "");
	assert_string_equal(lookup("2001:db8::6"), "");
	/* v4-mapped is recorded as the IPv4 address it is */
	record("::ffff:10.0.0.9", "mapped.example");
	assert_string_equal(lookup("10.0.0.9"), "mapped.example");
	/* numeric "names" are none; a later name replaces an earlier one */
	record("10.0.0.3", "10.0.0.3");
	assert_string_equal(lookup("10.0.0.3"), "");
	record("10.0.0.1", "db2.internal");
	assert_string_equal(lookup("10.0.0.1"), "db2.internal");
}

static void
map_keeps_the_most_recent_addresses(void **state)
{
	char addr[32], want[64];
	unsigned i, n = 8 * CB_NAMES_ENTRIES, found = 0;

	(void)state;
	for (i = 0; i < n; i++) {
		snprintf(addr, sizeof(addr), "10.%u.%u.%u", i >> 16,
			 (i >> 8) & 255, i & 255);
		snprintf(want, sizeof(want), "h%u.example", i);
		record(addr, want);
		/* the address just recorded is always there */
		assert_string_equal(lookup(addr), want);
	}
	for (i = 0; i < n; i++) {
		snprintf(addr, sizeof(addr), "10.%u.%u.%u", i >> 16,
			 (i >> 8) & 255, i & 255);
		found += lookup(addr)[0] != '\0';
	}
	assert_true(found <= CB_NAMES_ENTRIES);
	assert_true(found >= CB_NAMES_ENTRIES / 2);
}

/* Threads record (each address always under its own name) while others
 * look up: a reader finds the right name or none, never another. */
#define RACE_ADDRS 4096u
#define RACE_ROUNDS 20000u

static _Atomic int race_stop;

static void
race_addr(unsigned i, struct cb_dest *d, char *name, size_t len)
{
	memset(d, 0, sizeof(*d));
	d->family = AF_INET;
	d->addr[0] = 10;
	d->addr[1] = 9;
	d->addr[2] = (uint8_t)(i >> 8);
	d->addr[3] = (uint8_t)i;
	snprintf(name, len, "host-%u.%s.example", i, i % 2 ? "odd-names-"
		 "are-longer-than-one-word-so-they-span-several-words" : "e");
}

static void *
race_writer(void *arg)
{
	unsigned seed = (unsigned)(uintptr_t)arg, i, k;
	struct cb_dest d;
	char name[CB_NAME_MAX + 1];

	for (k = 0; k < RACE_ROUNDS; k++) {
		seed = seed * 1103515245u + 12345u;
		i = (seed >> 8) % RACE_ADDRS;
		race_addr(i, &d, name, sizeof(name));
		cb_names_record(AF_INET, d.addr, name);
	}
	return NULL;
}

static void *
race_reader(void *arg)
{
	unsigned seed = (unsigned)(uintptr_t)arg, i;
	uintptr_t bad = 0;
	struct cb_dest d;
	char name[CB_NAME_MAX + 1], got[CB_NAME_MAX + 1];

	while (!atomic_load(&race_stop)) {
		seed = seed * 1103515245u + 12345u;
		i = (seed >> 8) % RACE_ADDRS;
		race_addr(i, &d, name, sizeof(name));
		if (cb_names_lookup(&d, got) > 0 && strcmp(got, name) != 0)
			bad++;
	}
	return (void *)bad;
}

static void
threads_never_see_a_torn_or_foreign_name(void **state)
{
	pthread_t w[3], r[3];
	void *bad;
	uintptr_t total = 0;
	int i;

	(void)state;
	atomic_store(&race_stop, 0);
	for (i = 0; i < 3; i++) {
		assert_int_equal(pthread_create(&r[i], NULL, race_reader,
						(void *)(uintptr_t)(i + 7)), 0);
		assert_int_equal(pthread_create(&w[i], NULL, race_writer,
						(void *)(uintptr_t)(i + 1)), 0);
	}
	for (i = 0; i < 3; i++)
		pthread_join(w[i], NULL);
	atomic_store(&race_stop, 1);
	for (i = 0; i < 3; i++) {
		pthread_join(r[i], &bad);
		total += (uintptr_t)bad;
	}
	assert_int_equal(total, 0);
}

/* ---- names in the segment ----------------------------------------- */

static char seg[64];

static struct cb_table *
segment(int readonly)
{
	struct cb_table_opts o = { !readonly, readonly, 0600, 64 };
	struct cb_table *t;
	char why[256];

	if (!readonly) {
		snprintf(seg, sizeof(seg), "/cbtest-names-%ld",
			 (long)getpid());
		cb_table_destroy(seg);
	}
	if (cb_table_attach(&t, seg, &o, why, sizeof(why)) != 0)
		fail_msg("attach %s: %s", seg, why);
	return t;
}

static void
first_name_wins_and_is_read_back(void **state)
{
	struct cb_table *t = segment(0), *ro;
	struct cb_dest d = dest("10.1.2.3", 5432);
	struct cb_policy p;
	struct cb_breaker bh_, *b = &bh_;
	uint32_t slot;
	char out[CB_NAME_MAX + 1], big[CB_NAME_MAX + 2];

	(void)state;
	cb_policy_default(&p);
	assert_int_equal(cb_table_insert(t, &d, &p, b, &slot), 0);
	assert_false(cb_table_has_name(t, slot));
	assert_int_equal(cb_table_get_name(t, slot, out), 0);
	assert_string_equal(out, "");
	assert_int_equal(cb_table_set_name(t, slot, NULL, "db.internal",
					   1000), 0);
	assert_true(cb_table_has_name(t, slot));
	assert_int_equal(cb_table_set_name(t, slot, NULL, "other.internal",
					   1001),
			 -EEXIST);
	assert_int_equal(cb_table_get_name(t, slot, out), 11);
	assert_string_equal(out, "db.internal");
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(cb_table_set_name(t, slot, NULL, big, 1), -EINVAL);
	assert_int_equal(cb_table_set_name(t, cb_table_slots(t), NULL, "a", 1),
			 -EINVAL);
	assert_int_equal(cb_table_set_name(t, slot, NULL, "Up.case", 1),
			 -EINVAL);
	assert_int_equal(cb_table_set_name(t, slot, NULL, "esc\033[1m", 1),
			 -EINVAL);
	assert_int_equal(cb_table_set_name(t, slot, NULL, "", 1), -EINVAL);
	ro = segment(1);
	assert_int_equal(cb_table_get_name(ro, slot, out), 11);
	assert_string_equal(out, "db.internal");
	assert_int_equal(cb_table_set_name(ro, slot, NULL, "x.y", 1), -EROFS);
	cb_table_detach(ro);
	cb_table_detach(t);
	cb_table_destroy(seg);
}

/* A 253-byte name survives the round trip whole. */
static void
longest_name_is_kept_whole(void **state)
{
	struct cb_table *t = segment(0);
	struct cb_dest d = dest("10.1.2.4", 1);
	struct cb_policy p;
	struct cb_breaker bh_, *b = &bh_;
	uint32_t slot;
	char name[CB_NAME_MAX + 1], out[CB_NAME_MAX + 1];

	(void)state;
	memset(name, 'n', CB_NAME_MAX);
	name[CB_NAME_MAX] = '\0';
	cb_policy_default(&p);
	assert_int_equal(cb_table_insert(t, &d, &p, b, &slot), 0);
	assert_int_equal(cb_table_set_name(t, slot, NULL, name, 5), 0);
	assert_int_equal(cb_table_get_name(t, slot, out), CB_NAME_MAX);
	assert_string_equal(out, name);
	cb_table_detach(t);
	cb_table_destroy(seg);
}

static uint32_t
fnv(const char *s, size_t n)
{
	uint32_t h = 2166136261u;
	size_t i;

	for (i = 0; i < n; i++)
		h = (h ^ (uint8_t)s[i]) * 16777619u;
	return h;
}

/* A breaker for dst named good, and the segment mapped writable here:
 * where the name's bytes are (the mapping in *m, its size in *len). */
static char *
named_in_segment(struct cb_table *t, const char *dst, const char *good,
		 uint32_t *slot, char **m, size_t *len)
{
	struct cb_dest d = dest(dst, 1);
	struct cb_breaker b;
	struct cb_policy p;
	struct stat st;
	char path[96], *at;
	int fd;

	cb_policy_default(&p);
	assert_int_equal(cb_table_insert(t, &d, &p, &b, slot), 0);
	assert_int_equal(cb_table_set_name(t, *slot, NULL, good, 1), 0);
	snprintf(path, sizeof(path), "/dev/shm%s", seg);
	assert_true((fd = open(path, O_RDWR)) >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	*len = (size_t)st.st_size;
	*m = mmap(NULL, *len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	assert_true(*m != MAP_FAILED);
	at = memmem(*m, *len, good, strlen(good));
	assert_non_null(at);
	return at;
}

/* A writer of the segment that forges a name with its right checksum
 * still cannot make cbctl print an escape sequence: such a name reads as
 * none. */
static void
forged_name_with_control_bytes_reads_as_none(void **state)
{
	static const char good[] = "zzzz-forge-me.example";
	char out[CB_NAME_MAX + 1], *m, *at;
	struct cb_table *t = segment(0);
	uint64_t word;
	uint32_t slot;
	size_t len;

	(void)state;
	at = named_in_segment(t, "10.1.2.5", good, &slot, &m, &len);
	memcpy(at, "\033[1m", 4);
	word = 1ull << 63 | (uint64_t)fnv(at, sizeof(good) - 1) << 16 |
	       (sizeof(good) - 1);
	memcpy(at - 8, &word, 8);
	assert_int_equal(cb_table_get_name(t, slot, out), 0);
	assert_string_equal(out, "");
	/* the same forgery with harmless bytes is read back: the test
	 * really wrote the word the table reads */
	memcpy(at, "aaaa", 4);
	word = 1ull << 63 | (uint64_t)fnv(at, sizeof(good) - 1) << 16 |
	       (sizeof(good) - 1);
	memcpy(at - 8, &word, 8);
	assert_int_equal(cb_table_get_name(t, slot, out), sizeof(good) - 1);
	assert_string_equal(out, "aaaa-forge-me.example");
	munmap(m, len);
	cb_table_detach(t);
	cb_table_destroy(seg);
}

/* A published name whose bytes changed afterwards (the late stores of a
 * namer taken over after a few seconds, or a writer of the segment) is
 * never shown, and not kept for good either: the breaker counts as
 * unnamed and the next namer replaces it. */
static void
garbled_name_is_replaced_by_the_next_namer(void **state)
{
	static const char good[] = "good-garble.example";
	char out[CB_NAME_MAX + 1], *m, *at;
	struct cb_table *t = segment(0);
	uint32_t slot;
	size_t len;

	(void)state;
	at = named_in_segment(t, "10.1.2.10", good, &slot, &m, &len);
	at[0] = 'x';		/* a late store: a name still, not its sum */
	assert_int_equal(cb_table_get_name(t, slot, out), 0);
	assert_false(cb_table_has_name(t, slot));
	assert_int_equal(cb_table_set_name(t, slot, NULL, "next.example", 2),
			 0);
	assert_int_equal(cb_table_get_name(t, slot, out), 12);
	assert_string_equal(out, "next.example");
	assert_true(cb_table_has_name(t, slot));
	assert_int_equal(cb_table_set_name(t, slot, NULL, "third.example", 3),
			 -EEXIST);	/* a whole name is kept: first wins */
	munmap(m, len);
	cb_table_detach(t);
	cb_table_destroy(seg);
}

/* A place given up (cbctl forget, or a reclaim) keeps no name: the next
 * breaker born there starts without one. */
static void
reborn_breaker_has_no_old_name(void **state)
{
	struct cb_table *t = segment(0);
	struct cb_dest d = dest("10.1.2.6", 1);
	struct cb_policy p;
	struct cb_breaker bh_, *b = &bh_;
	uint32_t slot, again;
	char out[CB_NAME_MAX + 1];

	(void)state;
	cb_policy_default(&p);
	assert_int_equal(cb_table_insert(t, &d, &p, b, &slot), 0);
	assert_int_equal(cb_table_set_name(t, slot, NULL, "old.example", 1), 0);
	assert_int_equal(cb_table_forget(t, &d), 0);
	assert_int_equal(cb_table_insert(t, &d, &p, b, &again), 0);
	assert_int_equal(again, slot);		/* the same place, reborn */
	assert_int_equal(cb_table_get_name(t, again, out), 0);
	assert_false(cb_table_has_name(t, again));
	assert_int_equal(cb_table_set_name(t, again, NULL, "new.example", 2),
			 0);
	assert_int_equal(cb_table_get_name(t, again, out), 11);
	assert_string_equal(out, "new.example");
	cb_table_detach(t);
	cb_table_destroy(seg);
}

/* A namer found d1's breaker, then stalled while d1 was forgotten and d2
 * born in its place: d1's name never lands on d2's breaker.  (The shim
 * names a breaker right after finding or making it; cbctl trip NAME:PORT
 * too.) */
static void
name_never_lands_on_the_destination_that_took_the_place(void **state)
{
	struct cb_table *t = segment(0);
	struct cb_dest d1 = dest("10.1.2.8", 1), d2;
	struct cb_policy p;
	struct cb_breaker bh_, *b = &bh_;
	struct cb_key k1, k2;
	uint32_t slot, again, port;
	char out[CB_NAME_MAX + 1];

	(void)state;
	cb_policy_default(&p);
	assert_int_equal(cb_table_insert(t, &d1, &p, b, &slot), 0);
	assert_int_equal(cb_table_forget(t, &d1), 0);
	/* another destination whose chain starts at the same slot */
	cb_table_key(t, &d1, &k1);
	for (port = 2; port < 100000; port++) {
		d2 = dest("10.1.2.9", (uint16_t)port);
		cb_table_key(t, &d2, &k2);
		if (((k1.hash ^ k2.hash) & (cb_table_slots(t) - 1)) == 0)
			break;
	}
	assert_int_equal(cb_table_insert(t, &d2, &p, b, &again), 0);
	assert_int_equal(again, slot);
	assert_int_equal(cb_table_set_name(t, slot, &d1, "one.example", 1),
			 -ESTALE);
	assert_false(cb_table_has_name(t, slot));
	assert_int_equal(cb_table_set_name(t, slot, &d2, "two.example", 1),
			 0);
	assert_int_equal(cb_table_get_name(t, slot, out), 11);
	assert_string_equal(out, "two.example");
	cb_table_detach(t);
	cb_table_destroy(seg);
}

/* A namer killed after its claim, in another time namespace whose clock
 * is far ahead: its claim's stamp lies in our future.  It counts as
 * claimed now, so the name is taken over a few seconds of our clock
 * later, not only once our clock passes the stamp (years). */
static void
claim_stamped_by_a_clock_ahead_is_taken_over_in_time(void **state)
{
	struct cb_table *t = segment(0);
	struct cb_dest d = dest("10.1.2.7", 1);
	struct cb_policy p;
	struct cb_breaker bh_, *b = &bh_;
	struct cb_shm_header *h;
	struct cb_name_entry *e;
	char path[96], out[CB_NAME_MAX + 1];
	uint32_t slot;
	struct stat st;
	char *m;
	int fd;

	(void)state;
	cb_policy_default(&p);
	assert_int_equal(cb_table_insert(t, &d, &p, b, &slot), 0);
	snprintf(path, sizeof(path), "/dev/shm%s", seg);
	assert_true((fd = open(path, O_RDWR)) >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	m = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED,
		 fd, 0);
	assert_true(m != MAP_FAILED);
	h = (struct cb_shm_header *)m;
	e = (struct cb_name_entry *)(m + h->names_off) + slot;
	/* a claim (bit 62) stamped 2^40 ms (35 years) ahead of us */
	atomic_store(&e->word, 1ull << 62 | 1ull << 40);
	assert_int_equal(cb_table_set_name(t, slot, NULL, "late.example", 1000),
			 -EEXIST);
	assert_int_equal(cb_table_set_name(t, slot, NULL, "late.example", 5999),
			 -EEXIST);		/* maybe alive: wait */
	assert_int_equal(cb_table_set_name(t, slot, NULL, "late.example",
					   6000), 0);
	assert_int_equal(cb_table_get_name(t, slot, out), 12);
	assert_string_equal(out, "late.example");
	munmap(m, (size_t)st.st_size);
	close(fd);
	cb_table_detach(t);
	cb_table_destroy(seg);
}

struct namer {
	struct cb_table *t;
	uint32_t slot;
	int id, won;
	_Atomic int *go;
};

static void *
namer(void *arg)
{
	struct namer *n = arg;
	char name[64];

	snprintf(name, sizeof(name), "racer-%d.example", n->id);
	while (!atomic_load(n->go))
		;
	n->won = cb_table_set_name(n->t, n->slot, NULL, name, 7) == 0;
	return NULL;
}

static void
racing_namers_have_one_winner(void **state)
{
	struct cb_table *t = segment(0);
	struct namer n[4];
	pthread_t th[4];
	_Atomic int go = 0;
	struct cb_policy p;
	struct cb_breaker bh_, *b = &bh_;
	char out[CB_NAME_MAX + 1], want[64];
	int i, round, winners, who = -1;

	(void)state;
	cb_policy_default(&p);
	for (round = 0; round < 20; round++) {
		struct cb_dest d = dest("10.2.0.1", (unsigned)round + 1);
		uint32_t slot;

		assert_int_equal(cb_table_insert(t, &d, &p, b, &slot), 0);
		atomic_store(&go, 0);
		for (i = 0; i < 4; i++) {
			n[i] = (struct namer){ t, slot, i, 0, &go };
			assert_int_equal(pthread_create(&th[i], NULL, namer,
							&n[i]), 0);
		}
		atomic_store(&go, 1);
		for (winners = 0, i = 0; i < 4; i++) {
			pthread_join(th[i], NULL);
			if (n[i].won) {
				winners++;
				who = i;
			}
		}
		assert_int_equal(winners, 1);
		snprintf(want, sizeof(want), "racer-%d.example", who);
		assert_true(cb_table_get_name(t, slot, out) > 0);
		assert_string_equal(out, want);
		assert_true(cb_table_has_name(t, slot));
	}
	cb_table_detach(t);
	cb_table_destroy(seg);
}

/* The process's record of named slots: nothing to ask before names were
 * recorded and room made (in either order), then unknown until marked,
 * and marked for one destination only: a place reclaimed for another
 * destination (another key hash) is unknown again. */
static void
named_slots_are_known_once_marked(void **state)
{
	const uint64_t ha = 0x12ull << 56, hb = 0x34ull << 56 | 1;

	(void)state;
	cb_names_clear();
	assert_false(cb_names_slot_unknown(5, ha));	/* no names, no room */
	assert_int_equal(cb_names_slots(1000), 0);
	assert_false(cb_names_slot_unknown(5, ha));	/* no names yet */
	record("10.0.0.1", "db.internal");
	assert_true(cb_names_slot_unknown(5, ha));
	assert_true(cb_names_slot_unknown(999, ha));
	cb_names_slot_mark(5, ha);
	cb_names_slot_mark(999, ha);
	cb_names_slot_mark(1000, ha);		/* beyond: ignored */
	assert_false(cb_names_slot_unknown(5, ha));
	assert_false(cb_names_slot_unknown(999, ha));
	assert_true(cb_names_slot_unknown(4, ha));
	assert_true(cb_names_slot_unknown(6, ha));
	assert_true(cb_names_slot_unknown(998, ha));
	/* slot 5's place now holds another destination */
	assert_true(cb_names_slot_unknown(5, hb));
	cb_names_slot_mark(5, hb);
	assert_false(cb_names_slot_unknown(5, hb));
	assert_true(cb_names_slot_unknown(5, ha));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(names_are_lower_case_without_final_dot),
		cmocka_unit_test(star_dot_matches_deeper_names_only),
		cmocka_unit_test_setup(recorded_addresses_are_found_by_name,
				       clear),
		cmocka_unit_test_setup(map_keeps_the_most_recent_addresses,
				       clear),
		cmocka_unit_test_setup(threads_never_see_a_torn_or_foreign_name,
				       clear),
		cmocka_unit_test(first_name_wins_and_is_read_back),
		cmocka_unit_test(longest_name_is_kept_whole),
		cmocka_unit_test(racing_namers_have_one_winner),
		cmocka_unit_test(named_slots_are_known_once_marked),
		cmocka_unit_test(reborn_breaker_has_no_old_name),
		cmocka_unit_test(garbled_name_is_replaced_by_the_next_namer),
		cmocka_unit_test(
		    name_never_lands_on_the_destination_that_took_the_place),
		cmocka_unit_test(
		    claim_stamped_by_a_clock_ahead_is_taken_over_in_time),
		cmocka_unit_test(forged_name_with_control_bytes_reads_as_none),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
