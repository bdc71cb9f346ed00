/*
 * events.c - "cbctl events": the transitions ring.
 *
 * Event times are CLOCK_MONOTONIC milliseconds (what every process of the
 * host agrees on); they are shown as wall-clock time using the offset
 * between CLOCK_REALTIME and CLOCK_MONOTONIC now, so a clock step after the
 * event moves its printed time with it -- the honest best for a ring that
 * stores no wall-clock time.
 *
 * --follow polls every 100 ms.  An entry may be read while a writer is
 * still filling it (the ring skips it); the follower then waits a few
 * polls for the gap to fill before moving past it, so it neither loses
 * slow entries nor stalls forever on one a killed writer left torn --
 * unless a later event already took the entry's place in the ring (more
 * than the ring holds came between two polls): then it is gone at once,
 * and how many were missed is said on stderr.
 * At each poll it also looks whether the segment's name still names the
 * object it mapped (device, inode and size of /dev/shm/NAME): a segment
 * destroyed, made again or cut short is said on stderr once, and the new
 * one is followed from its first event, as watch and serve follow it.
 */
#include "cbctl.h"
#include "json.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#define POLL_MS 100
#define GAP_POLLS 10

/* Which object a segment name names (0, 0: none), and its size (one cut
 * short under a follower is mapped again, and refused, before it is
 * read past its end). */
struct seg_id {
	dev_t dev;
	ino_t ino;
	off_t size;
};

struct evout {
	int json;
	int header_done;
	int dest_width;			/* the DEST column (0: 23) */
	int64_t offset_ms;		/* CLOCK_REALTIME - CLOCK_MONOTONIC */
};

static int64_t clock_offset_ms(void);
static void iso_time(uint64_t wall_ms, char *buf, size_t len);
static void print_event(struct evout *o, const struct cb_event *e);
static int dest_width(const struct cb_event *ev, size_t n);
static struct seg_id seg_id(const char *name);
static int attach_id(struct cbctl *c, struct cb_table **tp,
		     struct seg_id *id);
static int follow(struct cbctl *c, struct cb_table **tp, struct seg_id *id,
		  struct evout *o, struct cb_event *ev, uint64_t last);

/* ---- time ------------------------------------------------------------ */

static int64_t
clock_offset_ms(void)
{
	struct timespec rt, mono;

	clock_gettime(CLOCK_REALTIME, &rt);
	clock_gettime(CLOCK_MONOTONIC, &mono);
	return ((int64_t)rt.tv_sec - (int64_t)mono.tv_sec) * 1000 +
	       ((int64_t)rt.tv_nsec - (int64_t)mono.tv_nsec) / 1000000;
}

/* ISO-8601 local time with milliseconds and the UTC offset:
 * 2026-11-28T01:02:03.456+01:00 */
static void
iso_time(uint64_t wall_ms, char *buf, size_t len)
{
	time_t s = (time_t)(wall_ms / 1000);
	char date[32], zone[8];
	struct tm tm;

	localtime_r(&s, &tm);
	strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%S", &tm);
	strftime(zone, sizeof(zone), "%z", &tm);	/* +0100 */
	snprintf(buf, len, "%s.%03u%.3s:%.2s", date,
		 (unsigned)(wall_ms % 1000), zone, zone + 3);
}

/* ---- events ------------------------------------------------------------ */

static void
print_event(struct evout *o, const struct cb_event *e)
{
	char when[48], dest[64], tr[40];
	uint64_t now = cb_now_ms(), wall;
	struct json j;

	/* a writer in another time namespace (or under a faked clock) may
	 * stamp the future: count it as now */
	wall = (uint64_t)((int64_t)(e->time_ms > now ? now : e->time_ms) +
			  o->offset_ms);

	iso_time(wall, when, sizeof(when));
	if (e->dest.family)
		cb_dest_format(&e->dest, dest, sizeof(dest));
	if (o->json) {
		json_init(&j, stdout, 0);
		json_obj_begin(&j);
		json_key(&j, "time");
		json_str(&j, when);
		json_key(&j, "time_ms");
		json_u64(&j, wall);
		json_key(&j, "dest");
		json_str(&j, e->dest.family ? dest : NULL);
		json_key(&j, "from");
		json_str(&j, cb_state_name(e->from));
		json_key(&j, "to");
		json_str(&j, cb_state_name(e->to));
		json_key(&j, "why");
		json_str(&j, cb_why_name(e->why));
		json_key(&j, "pid");
		json_u64(&j, e->pid);
		json_obj_end(&j);
		json_end(&j);
		return;
	}
	if (o->dest_width < 23)
		o->dest_width = 23;
	if (!o->header_done) {
		printf("%-29s  %-*s  %-22s  %-13s  %s\n", "TIME",
		       o->dest_width, "DEST", "TRANSITION", "WHY", "PID");
		o->header_done = 1;
	}
	snprintf(tr, sizeof(tr), "%s -> %s", cb_state_name(e->from),
		 cb_state_name(e->to));
	printf("%-29s  %-*s  %-22s  %-13s  %u\n", when, o->dest_width,
	       e->dest.family ? dest : "?", tr, cb_why_name(e->why), e->pid);
}

/* The DEST column that fits every destination of ev[0..n): a table that
 * lines up (a later, wider one in --follow widens it from there on). */
static int
dest_width(const struct cb_event *ev, size_t n)
{
	char dest[64];
	int w = 0, k;
	size_t i;

	for (i = 0; i < n; i++) {
		if (!ev[i].dest.family)
			continue;
		cb_dest_format(&ev[i].dest, dest, sizeof(dest));
		if ((k = (int)strlen(dest)) > w)
			w = k;
	}
	return w;
}

/* ---- the segment followed --------------------------------------------- */

static struct seg_id
seg_id(const char *name)
{
	struct seg_id id = { 0, 0, 0 };
	char path[300];
	struct stat st;

	snprintf(path, sizeof(path), "/dev/shm%s", name);
	if (stat(path, &st) == 0) {
		id.dev = st.st_dev;
		id.ino = st.st_ino;
		id.size = st.st_size;
	}
	return id;
}

static int
same_id(struct seg_id a, struct seg_id b)
{
	return a.dev == b.dev && a.ino == b.ino && a.size == b.size;
}

/* Map the segment and learn which object it is: the name is looked up
 * before and after, so a segment replaced in between is not mistaken for
 * the one mapped.  0, or CBCTL_FAIL (said by cbctl_attach). */
static int
attach_id(struct cbctl *c, struct cb_table **tp, struct seg_id *id)
{
	struct seg_id before;
	int tries;

	for (tries = 0;; tries++) {
		if (cbctl_segment(c) != 0)
			return CBCTL_FAIL;
		before = seg_id(c->shm);
		if (cbctl_attach(c, CBCTL_READ, tp) != 0)
			return CBCTL_FAIL;
		*id = seg_id(c->shm);
		if (same_id(before, *id) || tries == 3)
			return 0;
		cb_table_detach(*tp);
	}
}

/* The segment *tp is mapped from, if its name names another object now
 * (or none): say so, and map the new one if there is one (*tp NULL while
 * there is none).  1 when a new segment is mapped, else 0. */
static int
follow_segment(struct cbctl *c, struct cb_table **tp, struct seg_id *id)
{
	struct seg_id now = seg_id(c->shm);

	if (*tp && same_id(now, *id))
		return 0;
	if (*tp) {
		cb_table_detach(*tp);
		*tp = NULL;
		cbctl_fail("segment %s: %s", c->shm, now.ino == id->ino &&
			   now.dev == id->dev ? "changed size" : now.ino ?
			   "replaced; following the new one" : "removed; "
			   "waiting for a new one");
	}
	if (now.ino == 0 || attach_id(c, tp, id) != 0)
		return 0;
	cbctl_fail_once();	/* a later loss is said again */
	return 1;
}

/* Print ev[0..n), the events after *last, in order.  A gap (an entry
 * being written, or one a killed writer left torn) is waited for a few
 * polls, unless a later event already took its place in the ring: then
 * it is gone.  Returns how many were skipped as gone. */
static uint64_t
print_new(struct evout *o, const struct cb_event *ev, size_t n,
	  uint64_t *last, int *waits)
{
	uint64_t missed = 0;
	size_t k;

	for (k = 0; k < n; k++) {
		if (ev[k].seq != *last + 1) {
			if (ev[n - 1].seq < *last + 1 + CB_EVENTS &&
			    (*waits)++ < GAP_POLLS)
				break;		/* let a slow writer finish */
			missed += ev[k].seq - *last - 1;
		}
		print_event(o, &ev[k]);
		*last = ev[k].seq;
		*waits = 0;
	}
	return missed;
}

static int
follow(struct cbctl *c, struct cb_table **tp, struct seg_id *id,
       struct evout *o, struct cb_event *ev, uint64_t last)
{
	uint64_t missed;
	size_t n;
	int waits = 0;

	cbctl_catch_signals();
	cbctl_fail_once();
	while (!cbctl_sleep_ms(POLL_MS)) {
		if (follow_segment(c, tp, id))
			last = 0, waits = 0;	/* its ring from the start */
		n = *tp ? cb_table_events(*tp, last, ev, CB_EVENTS) : 0;
		o->offset_ms = clock_offset_ms();
		if (dest_width(ev, n) > o->dest_width)
			o->dest_width = dest_width(ev, n);
		if ((missed = print_new(o, ev, n, &last, &waits)) > 0)
			cbctl_fail("events: %" PRIu64 " transition%s missed "
				   "(overwritten in the ring of the last %u "
				   "before they were read, or left torn)",
				   missed, missed == 1 ? "" : "s", CB_EVENTS);
		if (cbctl_output_failed())
			return CBCTL_FAIL;
	}
	return cbctl_output_failed() ? CBCTL_FAIL : CBCTL_OK;
}

int
cmd_events(struct cbctl *c, const struct cbctl_args *a)
{
	struct evout o = { .json = cbctl_opt(a, "json") != NULL };
	int fol = cbctl_opt(a, "follow") != NULL, rc = CBCTL_OK;
	struct cb_event *ev;
	struct cb_table *t;
	struct seg_id id;
	uint64_t last = 0;
	size_t n, k;

	if (attach_id(c, &t, &id) != 0)
		return CBCTL_FAIL;
	if (!(ev = calloc(CB_EVENTS, sizeof(*ev)))) {
		cb_table_detach(t);
		return cbctl_fail("events: %s", strerror(ENOMEM));
	}
	n = cb_table_events(t, 0, ev, CB_EVENTS);
	o.offset_ms = clock_offset_ms();
	o.dest_width = dest_width(ev, n);
	for (k = 0; k < n; k++) {
		print_event(&o, &ev[k]);
		last = ev[k].seq;
	}
	if (n == 0 && !o.json && !fol)
		printf("(no events in %s yet)\n", c->shm);
	fflush(stdout);
	if (fol)
		rc = follow(c, &t, &id, &o, ev, last);
	free(ev);
	if (t)
		cb_table_detach(t);
	return rc;
}
