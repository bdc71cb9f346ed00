/*
 * test_table.c - unit tests of the shared-memory segment (shim/table.c).
 *
 * Every test works on its own segment, "/cbtest-unit-PID-N", and the group
 * teardown removes them all, so tests never meet each other or a real
 * /cbshim-UID.  Bad segments are made by hand: a valid one is created and
 * then damaged through a second, raw mapping (the header offsets used for
 * that are those of layout version 1, written out below).  Concurrency is
 * real: threads, and forked processes meeting at a barrier in shared memory;
 * children report through that memory and _exit(), never through cmocka.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#define ITER_DIV_TSAN 2	/* fewer iterations under TSan (testutil.h) */
#include "testutil.h"

#include "../../shim/breaker.h"
#include "../../shim/segment.h"
#include "../../shim/table.h"

/* struct shm_header of layout version 1 (table.c), for damaging it. */
/* where the header keeps what these tests damage (segment.h) */
#define H_(f) offsetof(struct cb_shm_header, f)

#define NTHREADS 6
#define NPROCS 4
#define NKEYS 200
#define MAXNAMES 64

static char names[MAXNAMES][64];
static int nnames;
static struct cb_table *tables[MAXNAMES];	/* detached by teardown */

static const char *segname(void);
static struct cb_table *attach(const char *name, uint32_t capacity);
static struct cb_table *track(struct cb_table *t);
static void detach(struct cb_table *t);
static void dest4(struct cb_dest *d, uint32_t ip, uint16_t port);
static void dest6(struct cb_dest *d, const char *a16, uint16_t port);
static void key_n(struct cb_dest *d, int n);
static void *raw_map(const char *name, size_t *size);
static void raw_truncate(const char *name, off_t size);
static void raw_chmod(const char *name, mode_t mode);
static void shuffle(int *v, int n, unsigned seed);
static void barrier(_Atomic int *count, int n);
static void *insert_thread(void *arg);
static int teardown(void **state);
static int count_files(const char *dir, const char *prefix);
static void expect_refusal(const char *name, int readonly, int e,
			   const char *word);

/* ---- helpers -------------------------------------------------------- */

/* A fresh segment name, remembered so that teardown removes it. */
static const char *
segname(void)
{
	assert_true(nnames < MAXNAMES);
	snprintf(names[nnames], sizeof(names[0]), "/cbtest-unit-%ld-%d",
		 (long)getpid(), nnames);
	cb_table_destroy(names[nnames]);
	return names[nnames++];
}

static struct cb_table *
attach(const char *name, uint32_t capacity)
{
	struct cb_table_opts o = { 1, 0, 0600, capacity };
	struct cb_table *t;
	char why[256];
	int r = cb_table_attach(&t, name, &o, why, sizeof(why));

	if (r != 0)
		fail_msg("attach %s: %d %s", name, r, why);
	return track(t);
}

/* Remember t, so that a test failing halfway does not leak it. */
static struct cb_table *
track(struct cb_table *t)
{
	int i;

	for (i = 0; i < MAXNAMES; i++) {
		if (tables[i] == NULL) {
			tables[i] = t;
			return t;
		}
	}
	fail_msg("too many tables");
	return t;
}

static void
detach(struct cb_table *t)
{
	int i;

	for (i = 0; i < MAXNAMES; i++)
		if (tables[i] == t)
			tables[i] = NULL;
	cb_table_detach(t);
}

static void
dest4(struct cb_dest *d, uint32_t ip, uint16_t port)
{
	memset(d, 0, sizeof(*d));
	d->family = AF_INET;
	d->port = port;
	d->addr[0] = (uint8_t)(ip >> 24);
	d->addr[1] = (uint8_t)(ip >> 16);
	d->addr[2] = (uint8_t)(ip >> 8);
	d->addr[3] = (uint8_t)ip;
}

static void
dest6(struct cb_dest *d, const char *a16, uint16_t port)
{
	memset(d, 0, sizeof(*d));
	d->family = AF_INET6;
	d->port = port;
	memcpy(d->addr, a16, 16);
}

/* The n-th test destination: IPv4 and IPv6 alternately. */
static void
key_n(struct cb_dest *d, int n)
{
	char a[16];

	if (n % 2) {
		memset(a, 0, sizeof(a));
		a[0] = 0x20;
		a[1] = 0x01;
		a[14] = (char)(n >> 8);
		a[15] = (char)n;
		dest6(d, a, (uint16_t)(443 + n % 7));
	} else {
		dest4(d, 0x0a000000u + (uint32_t)n, (uint16_t)(80 + n % 5));
	}
}

/* A second, raw read-write mapping of segment name. */
static void *
raw_map(const char *name, size_t *size)
{
	struct stat st;
	void *m;
	int fd = shm_open(name, O_RDWR, 0);

	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	*size = (size_t)st.st_size;
	m = mmap(NULL, *size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	assert_true(m != MAP_FAILED);
	return m;
}

static void
raw_truncate(const char *name, off_t size)
{
	int fd = shm_open(name, O_RDWR | O_CREAT, 0600);

	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, size), 0);
	close(fd);
}

static void
raw_chmod(const char *name, mode_t mode)
{
	int fd = shm_open(name, O_RDWR, 0);

	assert_true(fd >= 0);
	assert_int_equal(fchmod(fd, mode), 0);
	close(fd);
}

static void
shuffle(int *v, int n, unsigned seed)
{
	int i, j, x;

	for (i = 0; i < n; i++)
		v[i] = i;
	for (i = n - 1; i > 0; i--) {
		seed = seed * 1103515245u + 12345u;
		j = (int)((seed >> 8) % (unsigned)(i + 1));
		x = v[i];
		v[i] = v[j];
		v[j] = x;
	}
}

/* Everybody arrives, then everybody goes at once. */
static void
barrier(_Atomic int *count, int n)
{
	atomic_fetch_add(count, 1);
	while (atomic_load(count) < n)
		sched_yield();
}



/* How many entries of dir begin with prefix. */
static int
count_files(const char *dir, const char *prefix)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	assert_non_null(d);
	while ((e = readdir(d)) != NULL)
		n += strncmp(e->d_name, prefix, strlen(prefix)) == 0;
	closedir(d);
	return n;
}

static int
teardown(void **state)
{
	int i;

	(void)state;
	for (i = 0; i < MAXNAMES; i++)
		if (tables[i] != NULL)
			detach(tables[i]);
	for (i = 0; i < nnames; i++)
		cb_table_destroy(names[i]);
	return 0;
}

/* ---- create and attach ---------------------------------------------- */

static void
create_then_attach_shares_one_segment(void **state)
{
	const char *name = segname();
	struct cb_table *t1, *t2;
	struct cb_breaker b1h_, *b1 = &b1h_, b2h_, *b2 = &b2h_;
	struct cb_policy p, q;
	struct cb_dest d;
	struct stat st;
	char path[128];
	uint32_t s1, s2;

	(void)state;
	t1 = attach(name, 100);
	assert_int_equal(cb_table_capacity(t1), 100);
	assert_true(cb_table_slots(t1) >= 200);
	assert_int_equal(cb_table_slots(t1) & (cb_table_slots(t1) - 1), 0);
	assert_int_equal(cb_table_used(t1), 0);
	assert_int_equal(cb_table_unprotected(t1), 0);
	assert_string_equal(cb_table_name(t1), name);
	snprintf(path, sizeof(path), "/dev/shm%s", name);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal((size_t)st.st_size, cb_table_size(t1));

	t2 = attach(name, 5);		/* exists: its capacity wins */
	assert_int_equal(cb_table_capacity(t2), 100);
	assert_int_equal(cb_table_size(t2), cb_table_size(t1));

	cb_policy_default(&p);
	p.failure_threshold = 7;
	p.open_timeout_ms = 1234;
	dest4(&d, 0x7f000001, 8080);
	assert_int_equal(cb_table_find(t2, &d, b2, &s2), -ENOENT);
	assert_int_equal(cb_table_insert(t1, &d, &p, b1, &s1), 0);
	assert_int_equal(cb_table_find(t2, &d, b2, &s2), 0);
	assert_int_equal(s1, s2);
	assert_int_equal(cb_table_used(t2), 1);
	cb_breaker_get_policy(b2, &q);
	assert_memory_equal(&p, &q, sizeof(p));
	/* one breaker seen through two mappings */
	cb_breaker_trip(b1, 1000, 0, 0, NULL);
	assert_int_equal(cb_breaker_can_execute(b2, 1001), 0);
	detach(t1);
	detach(t2);
}

static void
create_honours_the_mode(void **state)
{
	const char *name = segname();
	struct cb_table_opts o = { 1, 0, 0640, 10 };
	struct cb_table *t;
	struct stat st;
	char why[256], path[128];

	(void)state;
	assert_int_equal(cb_table_attach(&t, name, &o, why, sizeof(why)), 0);
	track(t);
	snprintf(path, sizeof(path), "/dev/shm%s", name);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0640);
	detach(t);
}

static void
attach_refuses_missing_segment_bad_name_and_bad_capacity(void **state)
{
	const char *name = segname();
	struct cb_table_opts o = { 0, 0, 0600, 10 };
	struct cb_table *t;
	char why[256];
	static const char *const bad[] = { "", "/", "noslash", "/a/b",
					   "/..", "/." };
	size_t i;

	(void)state;
	assert_int_equal(cb_table_attach(&t, name, &o, why, sizeof(why)),
			 -ENOENT);
	assert_null(t);
	assert_string_equal(why, "no such segment");
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		why[0] = 0;
		assert_int_equal(cb_table_attach(&t, bad[i], &o, why,
						 sizeof(why)), -EINVAL);
		assert_true(why[0] != 0);
	}
	o.create = 1;
	o.capacity = 0;
	assert_int_equal(cb_table_attach(&t, name, &o, why, sizeof(why)),
			 -EINVAL);
	assert_non_null(strstr(why, "max_breakers"));
	o.capacity = CB_MAX_CAPACITY + 1;
	assert_int_equal(cb_table_attach(&t, name, &o, why, sizeof(why)),
			 -EINVAL);
	o.create = 0;
	assert_int_equal(cb_table_attach(&t, name, &o, why, sizeof(why)),
			 -ENOENT);	/* nothing was left behind */
}

static void
default_name_is_per_real_user(void **state)
{
	char buf[64], want[64];

	(void)state;
	cb_table_default_name(buf, sizeof(buf));
	snprintf(want, sizeof(want), "/cbshim-%u", (unsigned)getuid());
	assert_string_equal(buf, want);
}

static void
destroy_removes_the_segment(void **state)
{
	const char *name = segname();
	struct cb_table_opts o = { 0, 0, 0600, 10 };
	struct cb_table *t, *t2;
	struct cb_breaker bh_, *b = &bh_;
	struct cb_policy p;
	struct cb_dest d;
	char why[256];

	(void)state;
	t = attach(name, 10);
	assert_int_equal(cb_table_destroy(name), 0);
	assert_int_equal(cb_table_attach(&t2, name, &o, why, sizeof(why)),
			 -ENOENT);
	assert_int_equal(cb_table_destroy(name), -ENOENT);
	assert_int_equal(cb_table_destroy("no-slash"), -EINVAL);
	/* a process that still maps it goes on working */
	cb_policy_default(&p);
	dest4(&d, 0x01020304, 1);
	assert_int_equal(cb_table_insert(t, &d, &p, b, NULL), 0);
	detach(t);
}

static void
readonly_mapping_finds_but_never_writes(void **state)
{
	const char *name = segname();
	struct cb_table_opts o = { 0, 1, 0600, 10 };
	struct cb_table *t, *ro;
	struct cb_breaker bh_, *b = &bh_;
	struct cb_transition tr = { CB_CLOSED, CB_OPEN, CB_WHY_TRIP };
	struct cb_event ev[4];
	struct cb_policy p;
	struct cb_dest d, d2;
	char why[256];

	(void)state;
	t = attach(name, 10);
	cb_policy_default(&p);
	dest4(&d, 0x01020304, 1);
	dest4(&d2, 0x01020305, 1);
	assert_int_equal(cb_table_insert(t, &d, &p, b, NULL), 0);
	assert_int_equal(cb_table_attach(&ro, name, &o, why, sizeof(why)), 0);
	track(ro);
	assert_int_equal(cb_table_find(ro, &d, b, NULL), 0);
	assert_int_equal(cb_table_insert(ro, &d2, &p, b, NULL), -EROFS);
	cb_table_count_unprotected(ro);
	cb_table_event(ro, 0, &tr, 1, getpid());
	assert_int_equal(cb_table_unprotected(ro), 0);
	assert_int_equal(cb_table_events(ro, 0, ev, 4), 0);
	detach(ro);
	detach(t);
}

/* A read-only mapping is for inspection (table.h), and inspecting means
 * cb_breaker_snapshot().  A breaker whose last transitioner was killed
 * between its CAS on ctl and publishing "since" (simulated here) must
 * still be displayable through one: a snapshot must not write. */
static void
snapshot_through_readonly_mapping_does_not_write(void **state)
{
	const char *name = segname();
	struct cb_table_opts o = { 0, 1, 0600, 10 };
	struct cb_table *t, *ro;
	struct cb_breaker bh_, *b = &bh_, rbh_, *rb = &rbh_;
	struct cb_snapshot s;
	struct cb_policy p;
	struct cb_dest d;
	char why[256];
	pid_t pid;
	int st;

	(void)state;
	t = attach(name, 10);
	cb_policy_default(&p);
	dest4(&d, 0x01020304, 1);
	assert_int_equal(cb_table_insert(t, &d, &p, b, NULL), 0);
	cb_breaker_trip(b, 5000, 0, 0, NULL);
	/* the tripper "died" before its since word was published */
	atomic_store(&b->hot->since, 0);
	assert_int_equal(cb_table_attach(&ro, name, &o, why, sizeof(why)), 0);
	track(ro);
	assert_int_equal(cb_table_find(ro, &d, rb, NULL), 0);
	pid = child();
	if (pid == 0) {
		cb_breaker_snapshot(rb, 6000, &s);
		(void)cb_breaker_can_execute(rb, 6000);
		_exit(s.state == CB_OPEN ? 0 : 1);
	}
	st = wait_child(pid);
	if (st > 100)
		fail_msg("snapshot through a read-only mapping died of signal "
			 "%d: it writes (since_ms() publishes b->since)",
			 st - 100);
	assert_int_equal(st, 0);
	detach(ro);
	detach(t);
}

/* ---- keys ------------------------------------------------------------ */

static void
v4_mapped_ipv6_uses_the_ipv4_key(void **state)
{
	const char *name = segname();
	struct sockaddr_in s4;
	struct sockaddr_in6 s6;
	struct sockaddr_un su;
	struct cb_dest d4, d6, dc;
	struct cb_table *t;
	struct cb_breaker b1h_, *b1 = &b1h_, b2h_, *b2 = &b2h_, b3h_, *b3 = &b3h_;
	struct cb_policy p;
	uint32_t i1, i2, i3;
	char buf[64];

	(void)state;
	memset(&s4, 0, sizeof(s4));
	s4.sin_family = AF_INET;
	s4.sin_port = htons(5432);
	s4.sin_addr.s_addr = htonl(0x0a010203);
	memset(&s6, 0, sizeof(s6));
	s6.sin6_family = AF_INET6;
	s6.sin6_port = htons(5432);
	s6.sin6_addr.s6_addr[10] = 0xff;
	s6.sin6_addr.s6_addr[11] = 0xff;
	memcpy(&s6.sin6_addr.s6_addr[12], "\x0a\x01\x02\x03", 4);
	assert_int_equal(cb_dest_from_sockaddr(&d4, (void *)&s4, sizeof(s4)),
			 0);
	assert_int_equal(cb_dest_from_sockaddr(&d6, (void *)&s6, sizeof(s6)),
			 0);
	assert_int_equal(d6.family, AF_INET);
	assert_int_equal(d6.port, 5432);
	assert_memory_equal(&d4, &d6, sizeof(d4));
	cb_dest_format(&d6, buf, sizeof(buf));
	assert_string_equal(buf, "10.1.2.3:5432");
	/* ::10.1.2.3 (not mapped) is an IPv6 destination of its own */
	s6.sin6_addr.s6_addr[10] = 0;
	s6.sin6_addr.s6_addr[11] = 0;
	assert_int_equal(cb_dest_from_sockaddr(&dc, (void *)&s6, sizeof(s6)),
			 0);
	assert_int_equal(dc.family, AF_INET6);
	cb_dest_format(&dc, buf, sizeof(buf));
	assert_string_equal(buf, "[::10.1.2.3]:5432");

	t = attach(name, 10);
	cb_policy_default(&p);
	assert_int_equal(cb_table_insert(t, &d4, &p, b1, &i1), 0);
	assert_int_equal(cb_table_insert(t, &d6, &p, b2, &i2), 0);
	assert_int_equal(cb_table_insert(t, &dc, &p, b3, &i3), 0);
	assert_int_equal(i1, i2);
	assert_ptr_equal(b1->hot, b2->hot);
	assert_int_not_equal(i1, i3);
	assert_int_equal(cb_table_used(t), 2);
	detach(t);

	/* other families and short lengths are not destinations */
	memset(&su, 0, sizeof(su));
	su.sun_family = AF_UNIX;
	assert_int_equal(cb_dest_from_sockaddr(&dc, (void *)&su, sizeof(su)),
			 -EAFNOSUPPORT);
	assert_int_equal(cb_dest_from_sockaddr(&dc, (void *)&s4,
					       sizeof(s4) - 1), -EAFNOSUPPORT);
	/* Linux connects with the 24-byte RFC 2133 sockaddr_in6 (no scope
	 * id): governed like the full one; 23 bytes are refused by both */
	assert_int_equal(cb_dest_from_sockaddr(&dc, (void *)&s6, 24), 0);
	assert_int_equal(cb_dest_from_sockaddr(&dc, (void *)&s6, 23),
			 -EAFNOSUPPORT);
	assert_int_equal(cb_dest_from_sockaddr(&dc, NULL, 0), -EAFNOSUPPORT);
	/* a length too short for the family is never dereferenced (the
	 * kernel says EINVAL; the program must not crash in the shim) */
	assert_int_equal(cb_dest_from_sockaddr(&dc, (void *)8, 0),
			 -EAFNOSUPPORT);
	assert_int_equal(cb_dest_from_sockaddr(&dc, (void *)8, 1),
			 -EAFNOSUPPORT);
}

static void
keys_stay_distinct_and_decode_to_their_destination(void **state)
{
	const char *name = segname();
	static const char ones[16] = "\xff\xff\xff\xff\xff\xff\xff\xff"
				     "\xff\xff\xff\xff\xff\xff\xff\xff";
	char hi[16], lo[16], mid[16];
	struct cb_dest d[9], back;
	struct cb_table *t;
	struct cb_breaker bh_, *b = &bh_;
	struct cb_policy p;
	uint32_t slot[9];
	char buf[64];
	int i, j;

	(void)state;
	memset(hi, 0, 16);
	memset(lo, 0, 16);
	memset(mid, 0, 16);
	hi[0] = (char)0x80;	/* only the top bit (in the third key word) */
	lo[15] = 1;		/* only the bottom bit (in the first) */
	mid[8] = 1;		/* in the second */
	dest4(&d[0], 0x00000001, 80);
	dest6(&d[1], lo, 80);	/* same low address bits, other family */
	dest4(&d[2], 0x00000001, 81);	/* other port */
	dest6(&d[3], hi, 80);
	dest6(&d[4], mid, 80);
	dest6(&d[5], ones, 65535);
	dest4(&d[6], 0xffffffff, 65535);
	dest4(&d[7], 0, 0);
	dest6(&d[8], ones, 0);
	t = attach(name, 16);
	cb_policy_default(&p);
	for (i = 0; i < 9; i++)
		assert_int_equal(cb_table_insert(t, &d[i], &p, b, &slot[i]),
				 0);
	assert_int_equal(cb_table_used(t), 9);
	for (i = 0; i < 9; i++) {
		for (j = 0; j < i; j++)
			assert_int_not_equal(slot[i], slot[j]);
		assert_int_equal(cb_table_slot(t, slot[i], b, &back), 0);
		assert_int_equal(back.family, d[i].family);
		assert_int_equal(back.port, d[i].port);
		assert_memory_equal(back.addr, d[i].addr,
				    d[i].family == AF_INET6 ? 16 : 4);
	}
	cb_dest_format(&d[5], buf, sizeof(buf));
	assert_string_equal(buf,
		"[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff]:65535");
	cb_dest_format(&d[6], buf, sizeof(buf));
	assert_string_equal(buf, "255.255.255.255:65535");
	assert_int_equal(cb_table_slot(t, cb_table_slots(t), b, &back),
			 -ENOENT);
	detach(t);
}

/* ---- full table -------------------------------------------------------- */

static void
full_table_answers_enospc_and_counts_unprotected(void **state)
{
	const char *name = segname();
	struct cb_table *t;
	struct cb_breaker bh_, *b = &bh_;
	struct cb_policy p;
	struct cb_dest d;
	uint32_t s0, s;
	int i;

	(void)state;
	t = attach(name, 10);
	cb_policy_default(&p);
	for (i = 0; i < 10; i++) {
		key_n(&d, i);
		assert_int_equal(cb_table_insert(t, &d, &p, b, &s), 0);
	}
	assert_int_equal(cb_table_used(t), 10);
	key_n(&d, 10);
	assert_int_equal(cb_table_insert(t, &d, &p, b, &s), -ENOSPC);
	assert_int_equal(cb_table_find(t, &d, b, &s), -ENOENT);
	assert_int_equal(cb_table_used(t), 10);
	assert_int_equal(cb_table_unprotected(t), 0);	/* caller counts */
	for (i = 0; i < 3; i++)
		cb_table_count_unprotected(t);
	assert_int_equal(cb_table_unprotected(t), 3);
	/* a destination that already has its breaker keeps it */
	key_n(&d, 3);
	assert_int_equal(cb_table_find(t, &d, b, &s0), 0);
	assert_int_equal(cb_table_insert(t, &d, &p, b, &s), 0);
	assert_int_equal(s, s0);
	/* a one-breaker table works the same */
	detach(t);
	name = segname();
	t = attach(name, 1);
	key_n(&d, 1);
	assert_int_equal(cb_table_insert(t, &d, &p, b, &s), 0);
	key_n(&d, 2);
	assert_int_equal(cb_table_insert(t, &d, &p, b, &s), -ENOSPC);
	detach(t);
}

/* ---- the same key from many threads and processes ------------------- */

struct insert_arg {
	struct cb_table *t;
	pthread_barrier_t *go;
	unsigned seed;
	uint32_t slot[NKEYS];
	int errors, rc;		/* failed inserts, the first one's error */
};

static void *
insert_thread(void *arg)
{
	struct insert_arg *a = arg;
	struct cb_breaker bh_, *b = &bh_;
	struct cb_policy p;
	struct cb_dest d;
	int order[NKEYS], i, rc;

	cb_policy_default(&p);
	shuffle(order, NKEYS, a->seed);
	pthread_barrier_wait(a->go);
	for (i = 0; i < NKEYS; i++) {
		key_n(&d, order[i]);
		rc = cb_table_insert(a->t, &d, &p, b, &a->slot[order[i]]);
		if (rc != 0 && a->errors++ == 0)
			a->rc = rc;
	}
	return NULL;
}

static void
same_key_from_many_threads_gets_one_slot(void **state)
{
	const char *name;
	struct insert_arg *a;
	pthread_t th[NTHREADS];
	pthread_barrier_t go;
	struct cb_table *t;
	int round, i, k;

	(void)state;
	a = calloc(NTHREADS, sizeof(*a));
	assert_non_null(a);
	for (round = 0; round < 10 / ITER_DIV; round++) {
		name = segname();
		/* room to spare: filling the very last place is the test
		 * keys_that_fit_are_never_refused_when_filling_to_capacity */
		t = attach(name, 2 * NKEYS);
		pthread_barrier_init(&go, NULL, NTHREADS);
		for (i = 0; i < NTHREADS; i++) {
			memset(&a[i], 0, sizeof(a[i]));
			a[i].t = t;
			a[i].go = &go;
			/* half the threads in one order: most collisions */
			a[i].seed = i % 2 ? 1u : 77u + (unsigned)i;
			assert_int_equal(pthread_create(&th[i], NULL,
					 insert_thread, &a[i]), 0);
		}
		for (i = 0; i < NTHREADS; i++)
			pthread_join(th[i], NULL);
		pthread_barrier_destroy(&go);
		for (i = 0; i < NTHREADS; i++) {
			if (a[i].errors)
				fail_msg("round %d thread %d: %d inserts "
					 "failed, the first with %d (%s)",
					 round, i, a[i].errors, a[i].rc,
					 strerror(-a[i].rc));
			for (k = 0; k < NKEYS; k++)
				assert_int_equal(a[i].slot[k], a[0].slot[k]);
		}
		assert_int_equal(cb_table_used(t), NKEYS);
		detach(t);
		cb_table_destroy(name);
	}
	free(a);
}

struct attach_arg {
	const char *name;
	struct cb_table *t;
	_Atomic int returned;
};

static void *
attach_then_cancel(void *arg)
{
	struct attach_arg *a = arg;
	struct cb_table_opts o = { 1, 0, 0600, 10 };
	char why[256];

	if (cb_table_attach(&a->t, a->name, &o, why, sizeof(why)) != 0)
		a->t = NULL;
	atomic_store(&a->returned, 1);
	pthread_testcancel();
	return NULL;
}

/* A thread cancelled while it creates a segment is not cancelled inside
 * (open, posix_fallocate... are cancellation points): a creator stopped
 * there would keep its locked temporary file open, never cleaned, for
 * as long as its process lives.  The attach finishes first. */
static void
attach_is_never_cancelled_halfway(void **state)
{
	struct attach_arg a = { segname(), NULL, 0 };
	pthread_t th;

	(void)state;
	assert_int_equal(pthread_create(&th, NULL, attach_then_cancel, &a), 0);
	pthread_cancel(th);
	pthread_join(th, NULL);
	assert_int_equal(atomic_load(&a.returned), 1);
	assert_non_null(a.t);
	track(a.t);
	detach(a.t);
}

/* Threads of one process fill a small table and give places back (cbctl
 * forget) at once, over and over, each with keys of its own: the
 * breakers ready never number more than max_breakers.  live counts a
 * breaker after its insert returned and uncounts it before its forget, so
 * it never exceeds the breakers ready (a scan could: it is not one
 * instant).  (Claims of our own pid are judged by which of our inserts
 * run: one finished between an exact count's two looks must still be
 * counted.) */
#define CHURN_CAP 4
#define CHURN_KEYS 8
struct churn_arg {
	struct cb_table *t;
	_Atomic int *live;
	unsigned seed;
	int id, over, ok, errors;
};

static void *
churn_thread(void *arg)
{
	struct churn_arg *a = arg;
	struct cb_breaker bh_, *b = &bh_;
	struct cb_policy p;
	struct cb_dest d;
	int i, k, held[CHURN_KEYS] = { 0 };

	cb_policy_default(&p);
	for (i = 0; i < 4000 / ITER_DIV; i++) {
		k = (int)(rand_r(&a->seed) % CHURN_KEYS);
		key_n(&d, a->id * CHURN_KEYS + k);
		if (held[k]) {
			atomic_fetch_sub(a->live, 1);
			if (cb_table_forget(a->t, &d) != 0)
				a->errors++;	/* cmocka: not in a thread */
			held[k] = 0;
		} else if (cb_table_insert(a->t, &d, &p, b, NULL) == 0) {
			held[k] = 1;
			a->ok++;
			if (atomic_fetch_add(a->live, 1) + 1 > CHURN_CAP)
				a->over++;
		}
	}
	return NULL;
}

static void
threads_filling_and_forgetting_never_pass_capacity(void **state)
{
	const char *name = segname();
	struct churn_arg a[NTHREADS];
	pthread_t th[NTHREADS];
	struct cb_table *t = attach(name, CHURN_CAP);
	_Atomic int live = 0;
	int i, over = 0, ok = 0;

	(void)state;
	for (i = 0; i < NTHREADS; i++) {
		a[i] = (struct churn_arg){ t, &live, 7u + (unsigned)i, i, 0,
					   0, 0 };
		assert_int_equal(pthread_create(&th[i], NULL, churn_thread,
				 &a[i]), 0);
	}
	for (i = 0; i < NTHREADS; i++) {
		pthread_join(th[i], NULL);
		over += a[i].over;
		ok += a[i].ok;
		assert_int_equal(a[i].errors, 0);	/* forgets failed */
	}
	if (over)
		fail_msg("%d times more than %d breakers", over, CHURN_CAP);
	assert_true(ok > 1000 / ITER_DIV);
	assert_true(cb_table_used(t) <= CHURN_CAP);
	detach(t);
	cb_table_destroy(name);
}

/* Many threads insert the same keys into a table that they fill exactly
 * to capacity.  Every key fits, so none may be refused: a thread that saw
 * a key's slot empty, then lost the last place to another thread
 * inserting that same key, must find the key, not answer -ENOSPC.  (A
 * race: with it, one round in tens fails on two CPUs; without it, none.) */
static void
keys_that_fit_are_never_refused_when_filling_to_capacity(void **state)
{
	const char *name = segname();
	struct insert_arg *a;
	pthread_t th[NTHREADS];
	pthread_barrier_t go;
	struct cb_table *t;
	int round, i, refused = 0, rc = 0;

	(void)state;
	a = calloc(NTHREADS, sizeof(*a));
	assert_non_null(a);
	for (round = 0; round < 200 / ITER_DIV && !refused; round++) {
		t = attach(name, NKEYS);
		pthread_barrier_init(&go, NULL, NTHREADS);
		for (i = 0; i < NTHREADS; i++) {
			memset(&a[i], 0, sizeof(a[i]));
			a[i].t = t;
			a[i].go = &go;
			a[i].seed = i % 2 ? 1u : 77u + (unsigned)i;
			assert_int_equal(pthread_create(&th[i], NULL,
					 insert_thread, &a[i]), 0);
		}
		for (i = 0; i < NTHREADS; i++) {
			pthread_join(th[i], NULL);
			refused += a[i].errors;
			rc = a[i].errors ? a[i].rc : rc;
		}
		pthread_barrier_destroy(&go);
		detach(t);
		cb_table_destroy(name);
	}
	free(a);
	if (refused)
		fail_msg("round %d: %d inserts of keys that fit failed "
			 "(%d, %s)", round, refused, rc, strerror(-rc));
}

struct procs_shared {
	_Atomic int ready;
	int rc[NPROCS];
	uint32_t slot[NPROCS][NKEYS];
};

static void
same_key_from_many_processes_gets_one_slot(void **state)
{
	struct procs_shared *sh = shared_alloc(sizeof(*sh));
	struct cb_table_opts o = { 0, 0, 0600, 2 * NKEYS };
	const char *name;
	struct cb_table *t;
	struct cb_breaker bh_, *b = &bh_;
	struct cb_policy p;
	struct cb_dest d;
	char why[256];
	pid_t pid[NPROCS];
	int round, i, k, order[NKEYS];

	(void)state;
	cb_policy_default(&p);
	for (round = 0; round < 5; round++) {
		name = segname();
		t = attach(name, 2 * NKEYS);
		memset(sh, 0, sizeof(*sh));
		for (i = 0; i < NPROCS; i++) {
			pid[i] = child();
			if (pid[i] > 0)
				continue;
			/* child: its own mapping, then all insert at once */
			struct cb_table *ct;
			if (cb_table_attach(&ct, name, &o, why, sizeof(why)))
				_exit(2);
			shuffle(order, NKEYS, i % 2 ? 5u : 11u + (unsigned)i);
			barrier(&sh->ready, NPROCS);
			for (k = 0; k < NKEYS; k++) {
				key_n(&d, order[k]);
				sh->rc[i] = cb_table_insert(ct, &d, &p, b,
				    &sh->slot[i][order[k]]);
				if (sh->rc[i] != 0)
					_exit(3);
			}
			_exit(0);
		}
		for (i = 0; i < NPROCS; i++) {
			k = wait_child(pid[i]);
			if (k != 0)
				fail_msg("round %d child %d: status %d, insert "
					 "%d (%s)", round, i, k, sh->rc[i],
					 strerror(-sh->rc[i]));
		}
		for (i = 1; i < NPROCS; i++)
			for (k = 0; k < NKEYS; k++)
				assert_int_equal(sh->slot[i][k],
						 sh->slot[0][k]);
		assert_int_equal(cb_table_used(t), NKEYS);
		for (k = 0; k < NKEYS; k++) {
			uint32_t s;

			key_n(&d, k);
			assert_int_equal(cb_table_find(t, &d, b, &s), 0);
			assert_int_equal(s, sh->slot[0][k]);
		}
		detach(t);
		cb_table_destroy(name);
	}
	munmap(sh, sizeof(*sh));
}

static void
many_processes_creating_at_once_make_one_segment(void **state)
{
	struct procs_shared *sh = shared_alloc(sizeof(*sh));
	struct cb_table_opts o = { 1, 0, 0600, 64 };
	const char *name = segname();
	struct cb_table *t;
	struct cb_breaker bh_, *b = &bh_;
	struct cb_policy p;
	struct cb_dest d;
	char why[256], tmp[128];
	pid_t pid[NPROCS];
	int i;

	(void)state;
	cb_policy_default(&p);
	for (i = 0; i < NPROCS; i++) {
		pid[i] = child();
		if (pid[i] > 0)
			continue;
		barrier(&sh->ready, NPROCS);
		if (cb_table_attach(&t, name, &o, why, sizeof(why)))
			_exit(2);
		key_n(&d, i);
		_exit(cb_table_insert(t, &d, &p, b, NULL) ? 3 : 0);
	}
	for (i = 0; i < NPROCS; i++)
		assert_int_equal(wait_child(pid[i]), 0);
	/* every child's breaker is in the one segment that won */
	o.create = 0;
	assert_int_equal(cb_table_attach(&t, name, &o, why, sizeof(why)), 0);
	track(t);
	assert_int_equal(cb_table_used(t), NPROCS);
	for (i = 0; i < NPROCS; i++) {
		key_n(&d, i);
		assert_int_equal(cb_table_find(t, &d, b, NULL), 0);
	}
	detach(t);
	/* and no temporary file was left behind */
	for (i = 0; i < NPROCS; i++) {
		snprintf(tmp, sizeof(tmp), ".cbshim-new-%ld-", (long)pid[i]);
		assert_int_equal(count_files("/dev/shm", tmp), 0);
	}
	munmap(sh, sizeof(*sh));
}

/* ---- kill safety of an insert ---------------------------------------- */

static void
insert_finishes_a_slot_its_creator_left_half_made(void **state)
{
	const char *name = segname();
	struct cb_table *t;
	struct cb_breaker bh_, *b = &bh_, b2h_, *b2 = &b2h_;
	struct cb_policy p, q;
	struct cb_dest d;
	uint64_t *key, hot_off, cold_off;
	uint32_t s, s2;
	size_t size;
	char *raw, *cold;
	int j;

	(void)state;
	t = attach(name, 10);
	cb_policy_default(&p);
	key_n(&d, 1);
	assert_int_equal(cb_table_insert(t, &d, &p, b, &s), 0);
	raw = raw_map(name, &size);
	memcpy(&hot_off, raw + H_(hot_off), 8);
	memcpy(&cold_off, raw + H_(cold_off), 8);
	key = (uint64_t *)(raw + hot_off + (uint64_t)s * sizeof(struct cb_hot));
	cold = raw + cold_off + (uint64_t)s * sizeof(struct cb_slot_cold);
	/* the creator "died" after the first key word: nothing else there */
	memset(&key[1], 0, sizeof(struct cb_hot) - sizeof(uint64_t));
	memset(cold, 0, sizeof(struct cb_slot_cold));
	assert_int_equal(cb_table_find(t, &d, b2, &s2), -ENOENT);
	assert_int_equal(cb_table_slot(t, s, b2, NULL), -ENOENT);
	p.failure_threshold = 9;
	assert_int_equal(cb_table_insert(t, &d, &p, b2, &s2), 0);
	assert_int_equal(s2, s);
	assert_int_equal(cb_table_used(t), 1);
	cb_breaker_get_policy(b2, &q);
	assert_int_equal(q.failure_threshold, 9);
	/* died after the whole key, before the policy */
	memset(&key[3], 0, sizeof(struct cb_hot) - 3 * sizeof(uint64_t));
	memset(cold, 0, sizeof(struct cb_slot_cold));
	assert_int_equal(cb_table_find(t, &d, b2, &s2), -ENOENT);
	assert_int_equal(cb_table_insert(t, &d, &p, b2, &s2), 0);
	assert_int_equal(s2, s);
	assert_int_equal(cb_table_find(t, &d, b2, &s2), 0);
	for (j = 0; j < 3; j++)
		assert_int_not_equal(key[j], 0);
	assert_int_equal(cb_table_used(t), 1);
	munmap(raw, size);
	detach(t);
}

/* A claimer killed right after winning the first key word, before it
 * counted the slot in "used": whoever finishes the slot must leave the
 * count right, or the table takes more than max_breakers. */
static void
used_counts_a_slot_whose_claimer_died_before_counting_it(void **state)
{
	const char *name = segname();
	struct cb_table *t;
	struct cb_breaker bh_, *b = &bh_;
	struct cb_policy p;
	struct cb_dest d;
	uint64_t k0, used, hot_off, cold_off;
	uint32_t s, s2;
	size_t size;
	char *raw, *slot;

	(void)state;
	t = attach(name, 2);
	cb_policy_default(&p);
	key_n(&d, 1);
	assert_int_equal(cb_table_insert(t, &d, &p, b, &s), 0);
	raw = raw_map(name, &size);
	memcpy(&hot_off, raw + H_(hot_off), 8);
	memcpy(&cold_off, raw + H_(cold_off), 8);
	slot = raw + hot_off + (uint64_t)s * sizeof(struct cb_hot);
	/* back to "key word 0 claimed, nothing else done, nothing counted" */
	memcpy(&k0, slot, 8);
	memset(slot, 0, sizeof(struct cb_hot));
	memcpy(slot, &k0, 8);
	memset(raw + cold_off + (uint64_t)s * sizeof(struct cb_slot_cold), 0,
	       sizeof(struct cb_slot_cold));
	used = 0;
	memcpy(raw + H_(used), &used, 8);
	assert_int_equal(cb_table_insert(t, &d, &p, b, &s2), 0);
	assert_int_equal(s2, s);
	assert_int_equal(cb_table_used(t), 1);
	munmap(raw, size);
	detach(t);
}

/* ---- bad segments ------------------------------------------------------ */

/* Attach name (no create) and expect error e with a reason containing
 * word. */
static void
expect_refusal(const char *name, int readonly, int e, const char *word)
{
	struct cb_table_opts o = { 0, readonly, 0600, 10 };
	struct cb_table *t = (void *)1;
	char why[256] = "";

	assert_int_equal(cb_table_attach(&t, name, &o, why, sizeof(why)), e);
	assert_null(t);
	if (strstr(why, word) == NULL)
		fail_msg("reason \"%s\" does not say \"%s\"", why, word);
}

static void
garbage_segment_is_refused(void **state)
{
	const char *name = segname();
	size_t size, i;
	unsigned char *raw;

	(void)state;
	raw_truncate(name, 65536);
	raw = raw_map(name, &size);
	for (i = 0; i < size; i++)
		raw[i] = (unsigned char)(i * 2654435761u >> 13);
	munmap(raw, size);
	expect_refusal(name, 0, -EBADMSG, "magic");
	expect_refusal(name, 1, -EBADMSG, "magic");
}

static void
empty_and_tiny_segments_are_refused(void **state)
{
	const char *name = segname();

	(void)state;
	raw_truncate(name, 0);
	expect_refusal(name, 0, -EBADMSG, "too small");
	raw_truncate(name, 40);
	expect_refusal(name, 1, -EBADMSG, "too small");
}

static void
truncated_or_grown_segment_is_refused(void **state)
{
	const char *name = segname();
	struct cb_table *t = attach(name, 100);
	struct cb_table_opts o = { 0, 0, 0600, 100 };
	size_t size = cb_table_size(t);
	char why[256];

	(void)state;
	detach(t);
	raw_truncate(name, (off_t)(size / 2));
	expect_refusal(name, 0, -EBADMSG, "truncated");
	raw_truncate(name, (off_t)size + 4096);
	expect_refusal(name, 0, -EBADMSG, "size");
	raw_truncate(name, (off_t)size);
	/* the right size again, but the regrown part is a hole: a writer
	 * could die of SIGBUS there when /dev/shm fills, so it is refused;
	 * a reader may still look */
	expect_refusal(name, 0, -EBADMSG, "not fully allocated");
	o.readonly = 1;
	assert_int_equal(cb_table_attach(&t, name, &o, why, sizeof(why)), 0);
	detach(t);
}

static void
segment_of_another_layout_version_is_refused(void **state)
{
	char want[64];
	const char *name = segname();
	struct cb_table *t = attach(name, 10);
	uint32_t v = CB_LAYOUT_VERSION + 1, hot_size;
	size_t size;
	char *raw;

	(void)state;
	detach(t);
	raw = raw_map(name, &size);
	memcpy(raw + H_(version), &v, 4);
	snprintf(want, sizeof(want), "layout version %u", v);
	expect_refusal(name, 0, -EPROTO, want);
	expect_refusal(name, 1, -EPROTO, "layout version");
	/* same version number, different geometry: refused too */
	v = CB_LAYOUT_VERSION;
	memcpy(raw + H_(version), &v, 4);
	memcpy(&hot_size, raw + H_(hot_size), 4);
	hot_size += 64;
	memcpy(raw + H_(hot_size), &hot_size, 4);
	expect_refusal(name, 0, -EPROTO, "layout");
	hot_size -= 64;
	memcpy(raw + H_(hot_size), &hot_size, 4);
	munmap(raw, size);
	t = attach(name, 10);
	detach(t);
}

static void
segment_with_a_corrupt_header_is_refused(void **state)
{
	const char *name = segname();
	struct cb_table *t = attach(name, 10);
	uint32_t cap = 1000, zero = 0;
	uint64_t off;
	size_t size;
	char *raw;

	(void)state;
	detach(t);
	raw = raw_map(name, &size);
	memcpy(raw + H_(capacity), &cap, 4);	/* size no longer matches */
	expect_refusal(name, 0, -EBADMSG, "corrupt");
	memcpy(raw + H_(capacity), &zero, 4);
	expect_refusal(name, 0, -EBADMSG, "corrupt");
	cap = 10;
	memcpy(raw + H_(capacity), &cap, 4);
	memcpy(&off, raw + H_(ring_off), 8);
	off += 64;
	memcpy(raw + H_(ring_off), &off, 8);
	expect_refusal(name, 0, -EBADMSG, "corrupt");
	munmap(raw, size);
}

static void
segment_writable_by_others_is_refused(void **state)
{
	const char *name = segname();
	struct cb_table *t = attach(name, 10);

	(void)state;
	detach(t);
	raw_chmod(name, 0602);
	expect_refusal(name, 0, -EPERM, "writable by anybody");
	expect_refusal(name, 1, -EPERM, "writable");
	raw_chmod(name, 0660);		/* group-writable is a choice */
	t = attach(name, 10);
	detach(t);
}

struct uid_shared {
	int r[3];
	char why[3][256];
};

/* As root: a child takes another real uid U.  Its default name is then
 * "/cbshim-U"; a segment by that name that root owns is not trusted, while
 * one under another name may be shared on purpose.  With every uid set to
 * U, a 0600 segment of root's is simply not accessible. */
static void
default_name_owned_by_another_user_is_refused(void **state)
{
	struct uid_shared *sh;
	struct cb_table_opts o = { 0, 0, 0600, 10 };
	struct cb_table *t;
	char dflt[64];
	const char *shared_name;
	uid_t u = 3900000000u + (uid_t)(getpid() % 100000);
	pid_t pid;

	(void)state;
	if (geteuid() != 0)
		skip();		/* needs root to be another user */
	sh = shared_alloc(sizeof(*sh));
	assert_true(nnames + 2 <= MAXNAMES);
	snprintf(names[nnames], sizeof(names[0]), "/cbshim-%u", (unsigned)u);
	snprintf(dflt, sizeof(dflt), "%s", names[nnames++]);
	t = attach(dflt, 10);
	detach(t);
	raw_chmod(dflt, 0644);
	shared_name = segname();
	t = attach(shared_name, 10);
	detach(t);
	raw_chmod(shared_name, 0644);

	pid = child();
	if (pid == 0) {
		char mine[64];

		if (setresuid(u, 0, 0) != 0)
			_exit(2);
		cb_table_default_name(mine, sizeof(mine));
		if (strcmp(mine, dflt) != 0)
			_exit(3);
		o.readonly = 1;
		sh->r[0] = cb_table_attach(&t, dflt, &o, sh->why[0], 256);
		sh->r[1] = cb_table_attach(&t, shared_name, &o, sh->why[1],
					   256);
		if (setresuid(u, u, u) != 0)
			_exit(4);
		o.readonly = 0;
		sh->r[2] = cb_table_attach(&t, shared_name, &o, sh->why[2],
					   256);
		_exit(0);
	}
	assert_int_equal(wait_child(pid), 0);
	assert_int_equal(sh->r[0], -EPERM);
	assert_non_null(strstr(sh->why[0], "belongs to uid 0"));
	assert_int_equal(sh->r[1], 0);
	assert_int_equal(sh->r[2], -EACCES);
	assert_true(sh->why[2][0] != 0);
	munmap(sh, sizeof(*sh));
}

/* ---- events ring ------------------------------------------------------- */

static void
events_come_out_in_order_with_their_details(void **state)
{
	const char *name = segname();
	struct cb_transition tr[3] = {
		{ CB_CLOSED, CB_OPEN, CB_WHY_THRESHOLD },
		{ CB_OPEN, CB_HALF_OPEN, CB_WHY_TIMEOUT },
		{ CB_HALF_OPEN, CB_CLOSED, CB_WHY_PROBE_SUCCESS },
	};
	struct cb_transition none = { 0, 0, CB_WHY_NONE };
	struct cb_event ev[8];
	struct cb_table *t;
	struct cb_breaker bh_, *b = &bh_;
	struct cb_policy p;
	struct cb_dest d;
	uint32_t slot;
	size_t n, i;

	(void)state;
	t = attach(name, 10);
	cb_policy_default(&p);
	dest4(&d, 0xc0a80001, 443);
	assert_int_equal(cb_table_insert(t, &d, &p, b, &slot), 0);
	assert_int_equal(cb_table_events(t, 0, ev, 8), 0);
	for (i = 0; i < 3; i++) {
		cb_table_event(t, slot, &tr[i], 1000 + i, (pid_t)(4000 + i));
		cb_table_event(t, slot, &none, 1000 + i, 1);	/* ignored */
	}
	n = cb_table_events(t, 0, ev, 8);
	assert_int_equal(n, 3);
	for (i = 0; i < n; i++) {
		assert_int_equal(ev[i].seq, i + 1);
		assert_int_equal(ev[i].time_ms, 1000 + i);
		assert_int_equal(ev[i].pid, 4000 + i);
		assert_int_equal(ev[i].slot, slot);
		assert_int_equal(ev[i].from, tr[i].from);
		assert_int_equal(ev[i].to, tr[i].to);
		assert_int_equal(ev[i].why, tr[i].why);
		assert_int_equal(ev[i].dest.family, AF_INET);
		assert_int_equal(ev[i].dest.port, 443);
		assert_memory_equal(ev[i].dest.addr, "\xc0\xa8\x00\x01", 4);
	}
	/* only the ones after a given seq; never more than asked */
	n = cb_table_events(t, 2, ev, 8);
	assert_int_equal(n, 1);
	assert_int_equal(ev[0].seq, 3);
	assert_int_equal(cb_table_events(t, 3, ev, 8), 0);
	n = cb_table_events(t, 0, ev, 2);
	assert_int_equal(n, 2);
	assert_int_equal(ev[1].seq, 2);
	/* an event of a slot with no breaker has no destination */
	cb_table_event(t, slot ^ 1, &tr[0], 2000, 1);
	n = cb_table_events(t, 3, ev, 8);
	assert_int_equal(n, 1);
	assert_int_equal(ev[0].dest.family, 0);
	detach(t);
}

/* The largest slot index of the largest segment (2^21 - 1: 1,048,576
 * places have 2^21 slots) and the largest pid Linux gives (2^22 - 1)
 * come back whole from the ring: no field is a bit short. */
static void
event_keeps_the_largest_slot_and_pid(void **state)
{
	const uint32_t last = (uint32_t)(2ull * CB_MAX_CAPACITY - 1);
	struct cb_transition tr = { CB_CLOSED, CB_OPEN, CB_WHY_THRESHOLD };
	struct cb_event ev[2];
	struct cb_table *t;

	(void)state;
	assert_int_equal(cb_table_size_for(CB_MAX_CAPACITY) > 0, 1);
	t = attach(segname(), 10);
	cb_table_event(t, last, &tr, (1ull << 40) - 1, (pid_t)(1 << 22) - 1);
	assert_int_equal(cb_table_events(t, 0, ev, 2), 1);
	assert_int_equal(ev[0].slot, last);
	assert_int_equal(ev[0].pid, (1u << 22) - 1);
	assert_int_equal(ev[0].time_ms, (1ull << 40) - 1);
	assert_int_equal(ev[0].why, CB_WHY_THRESHOLD);
	assert_int_equal(ev[0].dest.family, 0);	/* beyond this table */
	detach(t);
}

static void
torn_event_is_skipped(void **state)
{
	const char *name = segname();
	struct cb_transition tr = { CB_CLOSED, CB_OPEN, CB_WHY_TRIP };
	struct cb_event ev[8];
	struct cb_table *t;
	uint64_t ring_off, head;
	uint32_t event_size;
	size_t size, n;
	char *raw;
	int i;

	(void)state;
	t = attach(name, 10);
	raw = raw_map(name, &size);
	memcpy(&ring_off, raw + H_(ring_off), 8);
	memcpy(&event_size, raw + H_(event_size), 4);
	for (i = 0; i < 3; i++)
		cb_table_event(t, 0, &tr, 100 + i, 1);
	/* the writer of event 2 was killed after zeroing its seq */
	memset(raw + ring_off + 1 * event_size, 0, 8);
	/* the writer of event 4 was killed right after taking its place */
	memcpy(&head, raw + H_(ev_head), 8);
	head++;
	memcpy(raw + H_(ev_head), &head, 8);
	cb_table_event(t, 0, &tr, 104, 1);
	n = cb_table_events(t, 0, ev, 8);
	assert_int_equal(n, 3);
	assert_int_equal(ev[0].seq, 1);
	assert_int_equal(ev[1].seq, 3);
	assert_int_equal(ev[2].seq, 5);
	assert_int_equal(ev[2].time_ms, 104);
	munmap(raw, size);
	detach(t);
}

static void
events_ring_wraps_keeping_the_latest(void **state)
{
	const char *name = segname();
	struct cb_transition tr = { CB_OPEN, CB_HALF_OPEN, CB_WHY_TIMEOUT };
	struct cb_event *ev;
	struct cb_table *t;
	size_t n, i, extra = 100;

	(void)state;
	ev = calloc(CB_EVENTS + 10, sizeof(*ev));
	assert_non_null(ev);
	t = attach(name, 10);
	for (i = 0; i < CB_EVENTS + extra; i++)
		cb_table_event(t, 0, &tr, i, (pid_t)i);
	n = cb_table_events(t, 0, ev, CB_EVENTS + 10);
	assert_int_equal(n, CB_EVENTS);
	for (i = 0; i < n; i++) {
		assert_int_equal(ev[i].seq, extra + i + 1);
		assert_int_equal(ev[i].time_ms, extra + i);
		assert_int_equal(ev[i].pid, extra + i);
	}
	/* a reader that had seen up to seq 50 lost 51..100, gets the rest */
	n = cb_table_events(t, 50, ev, CB_EVENTS + 10);
	assert_int_equal(n, CB_EVENTS);
	assert_int_equal(ev[0].seq, extra + 1);
	n = cb_table_events(t, CB_EVENTS + extra - 5, ev, CB_EVENTS + 10);
	assert_int_equal(n, 5);
	detach(t);
	free(ev);
}

/* ---- reclaim: idle breakers' places given to new destinations ------ */

static uint64_t fake_ms = 1000000;

static uint64_t
fake_now(void)
{
	return fake_ms;
}

/* A table of capacity cap reclaiming after 10 s of the fake clock. */
static struct cb_table *
reclaiming(uint32_t cap)
{
	struct cb_table *t = attach(segname(), cap);

	fake_ms = 1000000;
	cb_table_set_reclaim(t, 10000, fake_now);
	return t;
}

static int
present(struct cb_table *t, int n)
{
	struct cb_breaker bh_, *b = &bh_;
	struct cb_dest d;

	key_n(&d, n);
	return cb_table_find(t, &d, b, NULL) == 0;
}

static int
insert_n(struct cb_table *t, int n, struct cb_breaker *bp, uint32_t *slot)
{
	struct cb_policy p;
	struct cb_breaker bh_, *b = &bh_;
	struct cb_dest d;

	cb_policy_default(&p);
	key_n(&d, n);
	return cb_table_insert(t, &d, &p, bp ? bp : b, slot);
}

/* Only a closed breaker idle for reclaim_after gives up its place, by the
 * fake clock: not before, not one with a recent attempt, never an open
 * or held one; the count is kept. */
static void
reclaim_takes_only_idle_closed_breakers(void **state)
{
	struct cb_table *t = reclaiming(4);
	struct cb_breaker b[4], x;
	struct cb_transition tr;
	struct cb_ticket tk;
	int i;

	(void)state;
	for (i = 0; i < 4; i++)
		assert_int_equal(insert_n(t, i, &b[i], NULL), 0);
	cb_breaker_trip(&b[1], fake_ms, 0, 0, &tr);	/* open */
	cb_breaker_trip(&b[2], fake_ms, 1, 0, &tr);	/* held */
	/* the first search only stamps: nothing is idle yet */
	assert_int_equal(insert_n(t, 10, &x, NULL), -ENOSPC);
	fake_ms += 9999;
	assert_int_equal(insert_n(t, 10, &x, NULL), -ENOSPC);
	assert_int_equal(cb_breaker_admit_fast(&b[0], &tk), 0);
	fake_ms += 1;
	/* 3 has been idle 10 s, but the table was found full 1 ms ago: it
	 * is taken as full for a second, with no search */
	assert_int_equal(insert_n(t, 10, &x, NULL), -ENOSPC);
	fake_ms += 999;
	/* 3 has been idle 11 s; 0 had an attempt since its stamp */
	assert_int_equal(insert_n(t, 10, &x, NULL), 0);
	assert_int_equal(cb_table_reclaimed(t), 1);
	assert_false(present(t, 3));
	assert_true(present(t, 0) && present(t, 1) && present(t, 2) &&
		    present(t, 10));
	/* later: 0 and 10 idle too; open and held never go */
	fake_ms += 100000;
	assert_int_equal(insert_n(t, 11, &x, NULL), -ENOSPC);	/* stamps */
	fake_ms += 10000;
	assert_int_equal(insert_n(t, 11, &x, NULL), 0);
	assert_int_equal(insert_n(t, 12, &x, NULL), 0);
	assert_int_equal(insert_n(t, 13, &x, NULL), -ENOSPC);
	assert_int_equal(cb_table_reclaimed(t), 3);
	assert_true(present(t, 1) && present(t, 2));
	assert_false(present(t, 0) || present(t, 10));
	assert_int_equal(cb_table_used(t), 4);
	detach(t);
}

/* Find a destination that lands in slot want (of a table with room). */
static int
insert_into_slot(struct cb_table *t, uint32_t want, struct cb_breaker *bp)
{
	struct cb_dest d;
	uint32_t slot;
	int n;

	for (n = 1000; n < 200000; n++) {
		assert_int_equal(insert_n(t, n, bp, &slot), 0);
		if (slot == want)
			return n;
		key_n(&d, n);
		assert_int_equal(cb_table_forget(t, &d), 0);
	}
	fail_msg("no destination landed in slot %u", want);
	return -1;
}

/* An outcome admitted before a reclaim never lands on the destination
 * that gets the place after it: its breaker counts nothing of it and
 * does not open; an attempt holding the old breaker is told to look
 * again; the new breaker starts at a later generation. */
static void
outcome_from_before_a_reclaim_never_lands_on_the_new_destination(void **state)
{
	struct cb_table *t = reclaiming(1);
	struct cb_breaker ah_, *a = &ah_, bh_, *b = &bh_;
	struct cb_transition tr;
	struct cb_snapshot s;
	struct cb_ticket old, tk;
	struct cb_policy p;
	struct cb_dest d;
	uint32_t slot;
	struct cb_key k;

	(void)state;
	cb_policy_default(&p);
	p.failure_threshold = 1;
	key_n(&d, 0);
	assert_int_equal(cb_table_insert(t, &d, &p, a, &slot), 0);
	cb_breaker_trip(a, fake_ms, 0, 0, &tr);
	cb_breaker_reset(a, fake_ms, &tr);
	assert_int_equal(cb_breaker_admit(a, fake_ms, &old, &tr), 0);
	cb_table_key(t, &d, &k);
	assert_int_equal(cb_table_forget(t, &d), 0);
	assert_false(cb_table_holds_key(a, &k) && present(t, 0));
	/* the old breaker, retired: look again; trip and reset do nothing */
	assert_int_equal(cb_breaker_admit(a, fake_ms, &tk, &tr), -EAGAIN);
	cb_breaker_trip(a, fake_ms, 1, 0, &tr);
	assert_int_equal(tr.why, CB_WHY_NONE);
	assert_int_equal(insert_into_slot(t, slot, b) >= 0, 1);
	assert_ptr_equal(a->hot, b->hot);	/* the same place */
	assert_false(cb_table_holds_key(b, &k));
	cb_breaker_record(b, &old, 0, ECONNREFUSED, fake_ms, &tr);
	cb_breaker_snapshot(b, fake_ms, &s);
	assert_int_equal(s.state, CB_CLOSED);
	assert_int_equal(s.failed_calls + s.successful_calls +
			 s.stale_outcomes + s.total_calls +
			 s.state_transitions, 0);
	assert_true(s.gen > old.gen);
	/* the new destination's own attempts count as usual */
	assert_int_equal(cb_breaker_admit(b, fake_ms, &tk, &tr), 0);
	cb_breaker_record(b, &tk, 0, ECONNREFUSED, fake_ms, &tr);
	cb_breaker_snapshot(b, fake_ms, &s);
	assert_int_equal(s.consecutive_failures, 1);
	assert_int_equal(s.failed_calls, 1);
	detach(t);
}

/* cbctl forget: a closed breaker goes; open, half-open and held ones
 * and missing ones are refused; a read-only mapping changes nothing. */
static void
forget_removes_only_a_closed_breaker(void **state)
{
	const char *name = segname();
	struct cb_table *t = attach(name, 8), *ro;
	struct cb_table_opts o = { 0, 1, 0600, 8 };
	struct cb_breaker b[3];
	struct cb_transition tr;
	struct cb_dest d;
	char why[256];
	int i;

	(void)state;
	for (i = 0; i < 3; i++)
		assert_int_equal(insert_n(t, i, &b[i], NULL), 0);
	cb_breaker_trip(&b[1], 1, 0, 0, &tr);
	cb_breaker_trip(&b[2], 1, 1, 0, &tr);
	assert_int_equal(cb_table_attach(&ro, name, &o, why, sizeof(why)), 0);
	key_n(&d, 0);
	assert_int_equal(cb_table_forget(ro, &d), -EROFS);
	cb_table_detach(ro);
	assert_int_equal(cb_table_forget(t, &d), 0);
	assert_int_equal(cb_table_forget(t, &d), -ENOENT);
	key_n(&d, 1);
	assert_int_equal(cb_table_forget(t, &d), -EBUSY);
	key_n(&d, 2);
	assert_int_equal(cb_table_forget(t, &d), -EBUSY);
	key_n(&d, 99);
	assert_int_equal(cb_table_forget(t, &d), -ENOENT);
	assert_false(present(t, 0));
	assert_true(present(t, 1) && present(t, 2));
	assert_int_equal(cb_table_reclaimed(t), 0);	/* by hand: not */
	assert_int_equal(cb_table_used(t), 2);
	/* the place is free again: 7 more fit */
	for (i = 10; i < 16; i++)
		assert_int_equal(insert_n(t, i, NULL, NULL), 0);
	assert_int_equal(insert_n(t, 16, NULL, NULL), -ENOSPC);
	detach(t);
}

/* A stamp from a clock far ahead of ours is taken as new, never as old. */
static void
reclaim_distrusts_a_stamp_from_the_future(void **state)
{
	struct cb_table *t = reclaiming(1);
	struct cb_breaker xh_, *x = &xh_;

	(void)state;
	assert_int_equal(insert_n(t, 0, NULL, NULL), 0);
	fake_ms += 5000000;	/* a process whose clock runs ahead stamps */
	assert_int_equal(insert_n(t, 1, x, NULL), -ENOSPC);
	fake_ms -= 5000000;
	assert_int_equal(insert_n(t, 1, x, NULL), -ENOSPC);
	fake_ms += 9999;
	assert_int_equal(insert_n(t, 1, x, NULL), -ENOSPC);
	fake_ms += 1000;	/* past the second a full table is full */
	assert_int_equal(insert_n(t, 1, x, NULL), 0);
	detach(t);
}

/* The hand's position and the time its last search found nothing. */
#define HAND_POS(h) ((uint32_t)(h) & 2047)
#define HAND_MS(h) ((uint32_t)((h) >> 32))

/* A table found full answers the next new destinations at once for a
 * second: no exact count, no reclaim search (the hand stays); a search
 * looks at one batch of slots, not the whole table (the hand moves by
 * 1024 of 2048 slots).  Each connect to a new destination of a full
 * 65536-place table used to pay two whole-table scans (14 ms). */
static void
full_table_is_not_searched_again_for_a_second(void **state)
{
	const char *name = segname();
	struct cb_table *t = attach(name, 1024);
	struct cb_transition tr;
	struct cb_breaker b;
	uint64_t hand0, hand1, hand;
	uint32_t full;
	size_t size;
	char *raw;
	int i;

	(void)state;
	fake_ms = 1000000;
	cb_table_set_reclaim(t, 600000, fake_now);
	for (i = 0; i < 1024; i++) {
		assert_int_equal(insert_n(t, i, &b, NULL), 0);
		cb_breaker_trip(&b, fake_ms, 0, 0, &tr);  /* never reclaimed */
	}
	raw = raw_map(name, &size);
	memcpy(&hand0, raw + H_(reclaim_hand), 8);
	assert_int_equal(insert_n(t, 5000, NULL, NULL), -ENOSPC);
	memcpy(&hand1, raw + H_(reclaim_hand), 8);
	memcpy(&full, raw + H_(full_ms), 4);
	assert_int_equal((HAND_POS(hand1) - HAND_POS(hand0)) & 2047, 1024);
	assert_int_equal(HAND_MS(hand1), (uint32_t)fake_ms);
	assert_int_equal(full, (uint32_t)fake_ms);	/* an exact count */
	fake_ms += 999;
	for (i = 5001; i < 5100; i++)
		assert_int_equal(insert_n(t, i, NULL, NULL), -ENOSPC);
	memcpy(&hand, raw + H_(reclaim_hand), 8);
	assert_int_equal(hand, hand1);
	fake_ms += 1;
	assert_int_equal(insert_n(t, 5100, NULL, NULL), -ENOSPC);
	memcpy(&hand, raw + H_(reclaim_hand), 8);
	assert_int_equal((HAND_POS(hand) - HAND_POS(hand1)) & 2047, 1024);
	assert_int_equal(HAND_MS(hand), (uint32_t)fake_ms);
	/* the exact count is believed for 30 s: not done again */
	memcpy(&full, raw + H_(full_ms), 4);
	assert_int_equal(full, (uint32_t)fake_ms - 1000);
	/* a time from a clock far ahead (or forged) is old, not fresh */
	hand = HAND_POS(hand) | (uint64_t)((uint32_t)fake_ms + 5000000u) << 32;
	memcpy(raw + H_(reclaim_hand), &hand, 8);
	assert_int_equal(insert_n(t, 5101, NULL, NULL), -ENOSPC);
	memcpy(&hand1, raw + H_(reclaim_hand), 8);
	assert_int_equal((HAND_POS(hand1) - HAND_POS(hand)) & 2047, 1024);
	munmap(raw, size);
	detach(t);
}

/* A table of cap places, all taken by destinations 0..cap-1 (closed),
 * on the fake clock with reclaim off; slot 0's place in *s0. */
static struct cb_table *
filled(const char *name, uint32_t cap, uint32_t *s0)
{
	struct cb_table *t = attach(name, cap);
	uint32_t i;

	fake_ms = 1000000;
	cb_table_set_reclaim(t, 0, fake_now);
	for (i = 0; i < cap; i++)
		assert_int_equal(insert_n(t, (int)i, NULL, i ? NULL : s0), 0);
	return t;
}

/* A place lost to a killed process (its slot free, "used" still counting
 * it) is found by the next exact count, which a table found full makes
 * once per 30 s (at the first search after that): not at once, not
 * never. */
static void
lost_place_is_found_within_30_s(void **state)
{
	const char *name = segname();
	uint64_t hot_off, cold_off;
	uint32_t s;
	struct cb_table *t = filled(name, 4, &s);
	size_t size;
	char *raw;

	(void)state;
	assert_int_equal(insert_n(t, 10, NULL, NULL), -ENOSPC);
	/* slot s as a reclaimer killed before giving its place back leaves
	 * it: never used again (own 0), still counted */
	raw = raw_map(name, &size);
	memcpy(&hot_off, raw + H_(hot_off), 8);
	memcpy(&cold_off, raw + H_(cold_off), 8);
	memset(raw + hot_off + (uint64_t)s * sizeof(struct cb_hot), 0,
	       sizeof(struct cb_hot));
	memset(raw + cold_off + (uint64_t)s * sizeof(struct cb_slot_cold), 0,
	       sizeof(struct cb_slot_cold));
	fake_ms += 1000;
	assert_int_equal(insert_n(t, 10, NULL, NULL), -ENOSPC);
	fake_ms += 28999;
	assert_int_equal(insert_n(t, 10, NULL, NULL), -ENOSPC);
	/* 30 s after the count, and 1 s after the last search */
	fake_ms += 1000;
	assert_int_equal(insert_n(t, 10, NULL, NULL), 0);
	assert_true(present(t, 10) && !present(t, 0));
	munmap(raw, size);
	detach(t);
}

/* The first n destinations (key_n numbers from 0 up) whose home in t is
 * home; their numbers in out. */
static void
same_home(struct cb_table *t, uint32_t home, uint32_t mask, int *out, int n)
{
	struct cb_dest d;
	struct cb_key k;
	int i, j = 0;

	for (i = 0; j < n; i++) {
		key_n(&d, i);
		cb_table_key(t, &d, &k);
		if (((uint32_t)k.hash & mask) == home)
			out[j++] = i;
	}
}

/* A key placed far from its home (12 keys of one home: the last 11 slots
 * away) stays found, and stays one breaker, when the slots before it are
 * given back (forget) and taken by others: a lookup goes as far as the
 * home's reach. */
static void
key_far_from_home_stays_found(void **state)
{
	struct cb_table *t = attach(segname(), 1024);
	struct cb_breaker b;
	struct cb_dest d;
	uint32_t slot[12], s;
	int n[12], i;

	(void)state;
	same_home(t, 100, 2047, n, 12);
	for (i = 0; i < 12; i++)
		assert_int_equal(insert_n(t, n[i], NULL, &slot[i]), 0);
	assert_int_equal(slot[11], 111);
	for (i = 0; i < 11; i++) {
		key_n(&d, n[i]);
		assert_int_equal(cb_table_forget(t, &d), 0);
	}
	/* other destinations take places before it */
	for (i = 0; i < 200; i++)
		insert_n(t, 100000 + i, NULL, NULL);
	key_n(&d, n[11]);
	assert_int_equal(cb_table_find(t, &d, &b, &s), 0);
	assert_int_equal(s, 111);
	assert_int_equal(insert_n(t, n[11], NULL, &s), 0);
	assert_int_equal(s, 111);
	detach(t);
}

/* After churn has used every slot once (reclaimed places stay links of
 * their chains), a lookup of a new destination still ends near its home:
 * every decision line more than a page past it is made inaccessible, and
 * the lookup answers "not found".  Before the reach it went round the
 * whole table (2 us at 2048 slots, milliseconds at 65536 places). */
static void
lookup_after_churn_ends_near_home(void **state)
{
	const char *name = segname();
	struct cb_table *t = attach(name, 1024);
	struct cb_breaker b;
	struct cb_dest d;
	struct cb_key k;
	uint32_t s, home, unused = 0, i;
	char *hot;
	size_t page = (size_t)sysconf(_SC_PAGESIZE), len = 2048 * 64;
	uintptr_t base, lo, hi;

	(void)state;
	fake_ms = 1000000;
	cb_table_set_reclaim(t, 1, fake_now);
	for (i = 0; i < 40000; i++) {
		fake_ms += 2;
		insert_n(t, 200000 + (int)i, NULL, NULL);
	}
	assert_int_equal(insert_n(t, 0, &b, &s), 0);
	hot = (char *)b.hot - (uint64_t)s * 64;
	for (i = 0; i < 2048; i++)
		unused += ((uint64_t *)(hot + i * 64ull))[0] == 0;
	assert_int_equal(unused, 0);	/* no chain ends early any more */
	/* a destination never seen, whose home is not near either end */
	for (i = 1; ; i += 2) {
		key_n(&d, (int)i);
		cb_table_key(t, &d, &k);
		home = (uint32_t)k.hash & 2047;
		if (home >= 256 && home < 2048 - 256 &&
		    cb_table_find(t, &d, &b, NULL) == -ENOENT)
			break;
	}
	base = ((uintptr_t)hot + page - 1) & ~(uintptr_t)(page - 1);
	lo = ((uintptr_t)hot + home * 64ull) & ~(uintptr_t)(page - 1);
	hi = lo + 2 * page;
	assert_int_equal(mprotect((void *)base, lo - base, PROT_NONE), 0);
	assert_int_equal(mprotect((void *)hi, (uintptr_t)hot + len - hi,
				  PROT_NONE), 0);
	assert_int_equal(cb_table_find(t, &d, &b, NULL), -ENOENT);
	mprotect((void *)base, (uintptr_t)hot + len - base,
		 PROT_READ | PROT_WRITE);
	detach(t);
}

/* A place reclaimed for a new destination goes to it, even while the
 * table was found full less than 30 s ago and "used" still counts a
 * killed creator's place (so the count alone says full again). */
static void
reclaimed_place_is_not_lost_to_a_stale_count(void **state)
{
	const char *name = segname();
	uint32_t s;
	struct cb_table *t = filled(name, 4, &s);
	uint64_t used;
	size_t size;
	char *raw;

	(void)state;
	cb_table_set_reclaim(t, 1000, fake_now);
	raw = raw_map(name, &size);
	memcpy(&used, raw + H_(used), 8);
	used++;			/* a creator killed after counting itself */
	memcpy(raw + H_(used), &used, 8);
	/* found full by an exact count; the search only stamps */
	assert_int_equal(insert_n(t, 10, NULL, NULL), -ENOSPC);
	fake_ms += 1000;
	assert_int_equal(insert_n(t, 10, NULL, NULL), 0);
	assert_int_equal(cb_table_reclaimed(t), 1);
	assert_true(present(t, 10));
	munmap(raw, size);
	detach(t);
}

/* A place given back by hand (cbctl forget) is found at once, even while
 * the table is taken as full and "used" counts a killed creator's place
 * (so the count alone still says full). */
static void
forget_ends_a_full_table_at_once(void **state)
{
	const char *name = segname();
	uint32_t s;
	struct cb_table *t = filled(name, 4, &s);
	struct cb_dest d;
	uint64_t used;
	size_t size;
	char *raw;

	(void)state;
	raw = raw_map(name, &size);
	memcpy(&used, raw + H_(used), 8);
	used++;			/* a creator killed after counting itself */
	memcpy(raw + H_(used), &used, 8);
	assert_int_equal(insert_n(t, 10, NULL, NULL), -ENOSPC);
	key_n(&d, 0);
	assert_int_equal(cb_table_forget(t, &d), 0);
	assert_int_equal(insert_n(t, 10, NULL, NULL), 0);
	assert_int_equal(insert_n(t, 11, NULL, NULL), -ENOSPC);
	munmap(raw, size);
	detach(t);
}

/* An event of a destination whose place was reclaimed since is never shown
 * as the new destination's: its destination reads as unknown. */
static void
events_of_a_reclaimed_place_never_name_the_new_destination(void **state)
{
	struct cb_table *t = reclaiming(1);
	struct cb_breaker ah_, *a = &ah_, bh_, *b = &bh_;
	struct cb_transition tr;
	struct cb_event ev[4];
	struct cb_dest d, e;
	uint32_t slot;
	size_t n;

	(void)state;
	key_n(&d, 0);
	assert_int_equal(insert_n(t, 0, a, &slot), 0);
	cb_breaker_trip(a, fake_ms, 0, 0, &tr);
	cb_table_event(t, slot, &tr, fake_ms, 1);
	cb_breaker_reset(a, fake_ms, &tr);
	cb_table_event(t, slot, &tr, fake_ms, 1);
	assert_int_equal(cb_table_forget(t, &d), 0);
	insert_into_slot(t, slot, b);
	cb_breaker_trip(b, fake_ms, 0, 0, &tr);
	cb_table_event(t, slot, &tr, fake_ms, 2);
	n = cb_table_events(t, 0, ev, 4);
	assert_int_equal(n, 3);
	assert_int_equal(ev[0].dest.family, 0);
	assert_int_equal(ev[1].dest.family, 0);
	assert_int_equal(ev[2].pid, 2);
	assert_int_equal(cb_table_slot(t, slot, b, &e), 0);
	assert_memory_equal(&ev[2].dest, &e, sizeof(e));
	detach(t);
}

/* ---- the layout ------------------------------------------------------ */

/* A segment is a header, the ring, then three arrays with one entry per
 * slot: decision lines (64 bytes, dense), cold parts, names; a breaker's
 * two parts are entry i of the first two arrays. */
static void
segment_parts_are_dense_arrays_of_lines(void **state)
{
	const char *name = segname();
	struct cb_table *t = attach(name, 4096);
	struct cb_shm_header h;
	struct cb_breaker b;
	struct cb_policy p;
	struct cb_dest d;
	uint32_t i, slot;
	size_t size;
	char *raw, *base;

	(void)state;
	raw = raw_map(name, &size);
	memcpy(&h, raw, sizeof(h));
	assert_int_equal(h.slots, 8192);
	assert_int_equal(h.hot_size, 64);
	assert_int_equal(h.cold_size, 320);
	assert_int_equal(h.hot_off % 64, 0);
	assert_int_equal(h.cold_off, h.hot_off + 8192ull * 64);
	assert_int_equal(h.names_off, h.cold_off + 8192ull * 320);
	assert_int_equal(h.total_size, size);
	assert_int_equal(cb_table_size_for(4096), size);
	assert_int_equal(cb_table_size(t), size);
	cb_policy_default(&p);
	for (i = 0; i < 64; i++) {
		key_n(&d, (int)i);
		assert_int_equal(cb_table_insert(t, &d, &p, &b, &slot), 0);
		base = (char *)b.hot - h.hot_off - (uint64_t)slot * 64;
		assert_ptr_equal((char *)b.cold, base + h.cold_off +
				 (uint64_t)slot * sizeof(struct cb_slot_cold));
		assert_int_equal((uintptr_t)b.hot % 64, 0);
	}
	munmap(raw, size);
	detach(t);
}

/* The size of a segment by max_breakers, up to the largest: slots stay
 * below 2^CB_SLOT_BITS (an fd entry keeps a slot in 21 bits), and a
 * place costs what cbshim(7) says. */
static void
segment_size_for_every_capacity(void **state)
{
	uint32_t caps[] = { 1, 4096, 65536, CB_MAX_CAPACITY }, i, slots;
	size_t per_slot = sizeof(struct cb_hot) + sizeof(struct cb_slot_cold) +
			  sizeof(struct cb_name_entry), fixed;

	(void)state;
	fixed = cb_table_size_for(1) - 64 * per_slot;
	for (i = 0; i < 4; i++) {
		slots = caps[i] * 2 < 64 ? 64 : caps[i] * 2;
		assert_true(slots <= 1u << CB_SLOT_BITS);
		assert_true(cb_table_size_for(caps[i]) >= fixed +
			    (size_t)slots * per_slot);
		assert_true(cb_table_size_for(caps[i]) < fixed + 64 +
			    (size_t)slots * per_slot);
	}
	assert_int_equal(per_slot, 64 + 320 + 264);
	assert_int_equal(cb_table_size_for(0), 0);
	assert_int_equal(cb_table_size_for(CB_MAX_CAPACITY + 1), 0);
}

/* A decision on an open breaker reads and writes its decision line only:
 * with every cold part and name made inaccessible, rejections (held,
 * timed, in observe mode too) and the reclaim check still work. */
static void
rejection_touches_the_decision_line_only(void **state)
{
	const char *name = segname();
	struct cb_table *t = attach(name, 64);
	struct cb_breaker b[3], f;
	struct cb_transition tr;
	struct cb_ticket tk;
	struct cb_shm_header h;
	struct cb_policy p;
	struct cb_dest d[3];
	struct cb_key k;
	uint32_t slot[3];
	uintptr_t lo, hi;
	size_t size;
	char *raw;
	int i;

	(void)state;
	raw = raw_map(name, &size);
	memcpy(&h, raw, sizeof(h));
	munmap(raw, size);
	cb_policy_default(&p);
	for (i = 0; i < 3; i++) {
		key_n(&d[i], 100 + i);
		assert_int_equal(cb_table_insert(t, &d[i], &p, &b[i], &slot[i]),
				 0);
		cb_breaker_trip(&b[i], 1000, i == 0, 0, &tr);
	}
	lo = ((uintptr_t)b[0].hot - h.hot_off - slot[0] * 64ull + h.cold_off +
	      4095) & ~(uintptr_t)4095;
	hi = (uintptr_t)b[0].hot - h.hot_off - slot[0] * 64ull + h.total_size;
	assert_int_equal(mprotect((void *)lo, hi - lo, PROT_NONE), 0);
	for (i = 0; i < 3; i++) {
		cb_table_key(t, &d[i], &k);
		assert_int_equal(cb_table_find_key(t, &k, &f, NULL), 0);
		if (i == 0)
			assert_int_equal(cb_breaker_admit_fast(&f, &tk),
					 -ECONNREFUSED);
		else
			assert_int_equal(cb_breaker_admit(&f, 2000, &tk, &tr),
					 -ECONNREFUSED);
		assert_true(cb_table_holds_key(&f, &k));
		assert_int_equal(cb_breaker_reject_errno(&f), ECONNREFUSED);
		assert_int_equal(cb_breaker_mode(&f), CB_MODE_ENFORCE);
	}
	assert_int_equal(mprotect((void *)lo, hi - lo, PROT_READ | PROT_WRITE),
			 0);
	detach(t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(create_then_attach_shares_one_segment),
		cmocka_unit_test(create_honours_the_mode),
		cmocka_unit_test(attach_refuses_missing_segment_bad_name_and_bad_capacity),
		cmocka_unit_test(default_name_is_per_real_user),
		cmocka_unit_test(destroy_removes_the_segment),
		cmocka_unit_test(readonly_mapping_finds_but_never_writes),
		cmocka_unit_test(snapshot_through_readonly_mapping_does_not_write),
		cmocka_unit_test(v4_mapped_ipv6_uses_the_ipv4_key),
		cmocka_unit_test(keys_stay_distinct_and_decode_to_their_destination),
		cmocka_unit_test(full_table_answers_enospc_and_counts_unprotected),
		cmocka_unit_test(same_key_from_many_processes_gets_one_slot),
		cmocka_unit_test(many_processes_creating_at_once_make_one_segment),
		cmocka_unit_test(insert_finishes_a_slot_its_creator_left_half_made),
		cmocka_unit_test(used_counts_a_slot_whose_claimer_died_before_counting_it),
		cmocka_unit_test(garbage_segment_is_refused),
		cmocka_unit_test(empty_and_tiny_segments_are_refused),
		cmocka_unit_test(truncated_or_grown_segment_is_refused),
		cmocka_unit_test(segment_of_another_layout_version_is_refused),
		cmocka_unit_test(segment_with_a_corrupt_header_is_refused),
		cmocka_unit_test(segment_writable_by_others_is_refused),
		cmocka_unit_test(default_name_owned_by_another_user_is_refused),
		cmocka_unit_test(events_come_out_in_order_with_their_details),
		cmocka_unit_test(event_keeps_the_largest_slot_and_pid),
		cmocka_unit_test(torn_event_is_skipped),
		cmocka_unit_test(events_ring_wraps_keeping_the_latest),
		cmocka_unit_test(reclaim_takes_only_idle_closed_breakers),
		cmocka_unit_test(outcome_from_before_a_reclaim_never_lands_on_the_new_destination),
		cmocka_unit_test(forget_removes_only_a_closed_breaker),
		cmocka_unit_test(reclaim_distrusts_a_stamp_from_the_future),
		cmocka_unit_test(full_table_is_not_searched_again_for_a_second),
		cmocka_unit_test(forget_ends_a_full_table_at_once),
		cmocka_unit_test(lost_place_is_found_within_30_s),
		cmocka_unit_test(reclaimed_place_is_not_lost_to_a_stale_count),
		cmocka_unit_test(key_far_from_home_stays_found),
		cmocka_unit_test(lookup_after_churn_ends_near_home),
		cmocka_unit_test(events_of_a_reclaimed_place_never_name_the_new_destination),
		/* threads last: forking is simplest before any were made */
		cmocka_unit_test(same_key_from_many_threads_gets_one_slot),
		cmocka_unit_test(
		    threads_filling_and_forgetting_never_pass_capacity),
		cmocka_unit_test(attach_is_never_cancelled_halfway),
		cmocka_unit_test(keys_that_fit_are_never_refused_when_filling_to_capacity),
		cmocka_unit_test(segment_parts_are_dense_arrays_of_lines),
		cmocka_unit_test(segment_size_for_every_capacity),
		cmocka_unit_test(rejection_touches_the_decision_line_only),
	};

	return cmocka_run_group_tests(tests, NULL, teardown);
}
