/*
 * control.c - the commands that change the segment: trip, reset, reload,
 * destroy.
 *
 * Every manual transition is recorded in the events ring with cbctl's pid,
 * exactly as the shim records the transitions traffic makes, so "cbctl
 * events" tells the whole story.  trip is the one command that creates:
 * the segment (with the config's mode and max_breakers) and the breaker
 * (with the policy the config gives that destination), so that an operator
 * can open a breaker before any program has used the destination.
 */
#include "cbctl.h"
#include "dest.h"
#include "../shim/names.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int trip_one(struct cbctl *c, struct cb_table *t,
		    const struct cb_dest *d, const char *host, int hold,
		    uint32_t for_ms);
static void operand_name(const char *arg, char *out);
static int reset_all(struct cb_table *t);
static int reset_dests(struct cb_table *t, const struct cb_dest *d, int nd);
static void record(struct cb_table *t, uint32_t slot,
		   const struct cb_transition *tr, uint64_t now);
static int parse_dest(const char *cmd, const char *arg, struct cb_dest **d,
		      int *nd);

static void
record(struct cb_table *t, uint32_t slot, const struct cb_transition *tr,
       uint64_t now)
{
	if (tr->why != CB_WHY_NONE)
		cb_table_event(t, slot, tr, now, getpid());
}

/* DEST operand: 0, or the exit status of a bad one (message printed). */
static int
parse_dest(const char *cmd, const char *arg, struct cb_dest **d, int *nd)
{
	char err[256];

	*nd = cb_dest_parse_all(arg, d, 0, err, sizeof(err));
	if (*nd == -EAGAIN)
		return cbctl_fail("%s", err);
	if (*nd < 0)
		return cbctl_misuse(cmd, "%s", err);
	return 0;
}

/* ---- trip ------------------------------------------------------------- */

/* The host name of a "NAME:PORT" operand into out (normalised), or "". */
static void
operand_name(const char *arg, char *out)
{
	char buf[CB_NAME_MAX + 2];
	const char *colon = strrchr(arg, ':');
	size_t n = colon ? (size_t)(colon - arg) : 0;

	out[0] = '\0';
	if (arg[0] == '[' || n == 0 || n >= sizeof(buf))
		return;
	memcpy(buf, arg, n);
	buf[n] = '\0';
	if (cb_name_normal(buf, out) < 0)
		out[0] = '\0';
}

/* Trip d (created if need be; named host when it has no name yet, and
 * given the policy the rules give d reached through host). */
static int
trip_one(struct cbctl *c, struct cb_table *t, const struct cb_dest *d,
	 const char *host, int hold, uint32_t for_ms)
{
	struct cb_transition tr;
	struct cb_breaker bh, *b = &bh;
	struct cb_policy p;
	struct cbctl_row r;
	char left[48], dur[32];
	uint64_t now;
	uint32_t slot, life, tries = 0;
	int rc;

	cb_config_policy_named(c->cfg, d, *host ? host : NULL, &p);
	cb_dest_format(d, r.name, sizeof(r.name));
	if (cb_policy_valid(&p) < 0)
		return cbctl_fail("trip %s: the configuration gives it an "
				  "invalid policy", r.name);
	/* a trip never lands on the breaker of a destination that took
	 * this one's place meanwhile (reclaim): then insert again */
	do {
		rc = cb_table_insert(t, d, &p, b, &slot);
		now = cb_now_ms();
	} while (rc == 0 && (cb_table_life(t, slot, d, &life) < 0 ||
		 cb_breaker_trip_life(b, life, now, hold, for_ms, &tr) < 0) &&
		 ++tries < 8);
	if (rc == 0 && tries == 8)
		rc = -EBUSY;
	if (rc == -ENOSPC)
		return cbctl_fail("trip %s: table full (max_breakers %u); "
				  "cbctl destroy and a larger shm.max_breakers "
				  "make room", r.name, cb_table_capacity(t));
	if (rc < 0)
		return cbctl_fail("trip %s: %s", r.name, strerror(-rc));
	if (*host)
		cb_table_set_name(t, slot, d, host, now);
	record(t, slot, &tr, now);
	/* as of the trip: a preempted cbctl must not print "29.9s" */
	cbctl_read_breaker(&r, b, d, slot, now);
	if (hold) {
		snprintf(left, sizeof(left), "until reset");
	} else {
		cbctl_duration((uint64_t)(r.s.open_remaining_ms > 0 ?
			       r.s.open_remaining_ms : 0), dur, sizeof(dur));
		snprintf(left, sizeof(left), "for %s", dur);
	}
	printf("%s: open %s%s\n", r.name, left,
	       r.p.mode == CB_MODE_OBSERVE ? " (mode observe: attempts are "
	       "counted, not rejected)" : r.p.mode == CB_MODE_OFF ?
	       " (mode off: traffic is not governed)" : "");
	return 0;
}

int
cmd_trip(struct cbctl *c, const struct cbctl_args *a)
{
	const char *for_arg = cbctl_opt(a, "for");
	int hold = cbctl_opt(a, "hold") != NULL, nd, i, rc = CBCTL_OK;
	char host[CB_NAME_MAX + 1];
	struct cb_table *t;
	struct cb_dest *d;
	uint64_t for_ms = 0;

	if (hold && for_arg)
		return cbctl_misuse("trip", "trip: --hold and --for exclude "
				    "each other");
	if (for_arg && (cb_parse_duration(for_arg, &for_ms) < 0 ||
			for_ms < 1 || for_ms > CB_MAX_TRIP_FOR_MS))
		return cbctl_misuse("trip", "trip: bad --for \"%s\" (a duration"
				    " like 90s or 5m, at most %uh)", for_arg,
				    CB_MAX_TRIP_FOR_MS / 3600000);
	if ((i = parse_dest("trip", a->argv[0], &d, &nd)) != 0)
		return i;
	if (cbctl_config(c) != 0 || cbctl_attach(c, CBCTL_CREATE, &t) != 0) {
		free(d);
		return CBCTL_FAIL;
	}
	operand_name(a->argv[0], host);
	for (i = 0; i < nd; i++)
		if (trip_one(c, t, &d[i], host, hold, (uint32_t)for_ms) != 0)
			rc = CBCTL_FAIL;
	cb_table_detach(t);
	free(d);
	return rc;
}

/* ---- reset ------------------------------------------------------------ */

/* Reset every breaker that is not closed already (or has failures
 * counted): those that are need nothing, and resetting them would flood
 * the events ring. */
static int
reset_all(struct cb_table *t)
{
	uint32_t i, slots = cb_table_slots(t), n = 0, total = 0;
	struct cb_transition tr;
	struct cb_breaker bh, *b = &bh;
	struct cbctl_row r;
	struct cb_dest d;
	uint64_t now;
	uint32_t life;

	for (i = 0; i < slots; i++) {
		if (cb_table_slot(t, i, b, &d) < 0 ||
		    cb_table_life(t, i, &d, &life) < 0)
			continue;
		total++;
		now = cb_now_ms();
		cbctl_read_breaker(&r, b, &d, i, now);
		if (r.s.state == CB_CLOSED && r.s.consecutive_failures == 0)
			continue;
		if (cb_breaker_reset_life(b, life, now, &tr) < 0)
			continue;	/* reclaimed meanwhile: not closed */
		record(t, i, &tr, now);
		n++;
	}
	printf("reset %u breaker%s (%u of %u were closed already)\n", n,
	       n == 1 ? "" : "s", total - n, total);
	return CBCTL_OK;
}

/* Reset the breakers of DEST's addresses: how many there were. */
static int
reset_dests(struct cb_table *t, const struct cb_dest *d, int nd)
{
	struct cb_transition tr;
	struct cb_breaker bh, *b = &bh;
	char name[64];
	uint32_t slot, life;
	uint64_t now;
	int i, found = 0;

	for (i = 0; i < nd; i++) {
		if (cb_table_find(t, &d[i], b, &slot) < 0 ||
		    cb_table_life(t, slot, &d[i], &life) < 0)
			continue;
		now = cb_now_ms();
		if (cb_breaker_reset_life(b, life, now, &tr) < 0)
			continue;	/* reclaimed meanwhile: none now */
		record(t, slot, &tr, now);
		cb_dest_format(&d[i], name, sizeof(name));
		printf("%s: closed\n", name);
		found++;
	}
	return found;
}

int
cmd_reset(struct cbctl *c, const struct cbctl_args *a)
{
	int all = cbctl_opt(a, "all") != NULL, nd = 0, rc;
	struct cb_dest *d = NULL;
	struct cb_table *t;

	if (all && a->argc > 0)
		return cbctl_misuse("reset", "reset: DEST or --all, not both");
	if (!all && a->argc == 0)
		return cbctl_misuse("reset", "reset: DEST or --all");
	if (!all && (rc = parse_dest("reset", a->argv[0], &d, &nd)) != 0)
		return rc;
	if (cbctl_attach(c, CBCTL_WRITE, &t) != 0) {
		free(d);
		return CBCTL_FAIL;
	}
	if (all) {
		rc = reset_all(t);
	} else if (reset_dests(t, d, nd) > 0) {
		rc = CBCTL_OK;
	} else {
		cbctl_no_breaker(a->argv[0], d, nd, c->shm);
		rc = CBCTL_FAIL;
	}
	cb_table_detach(t);
	free(d);
	return rc;
}

/* ---- forget ----------------------------------------------------------- */

/* Forget the breakers of DEST's addresses.  *busy gets those refused
 * (not closed).  How many were removed. */
static int
forget_dests(struct cb_table *t, const struct cb_dest *d, int nd, int *busy)
{
	char name[64];
	int i, r, gone = 0;

	for (i = 0; i < nd; i++) {
		cb_dest_format(&d[i], name, sizeof(name));
		r = cb_table_forget(t, &d[i]);
		if (r == 0) {
			printf("%s: forgotten\n", name);
			gone++;
		} else if (r == -EBUSY) {
			cbctl_fail("forget %s: the breaker is not closed (open, "
				   "half-open or held); cbctl reset %s first",
				   name, name);
			(*busy)++;
		}
	}
	return gone;
}

int
cmd_forget(struct cbctl *c, const struct cbctl_args *a)
{
	struct cb_dest *d;
	struct cb_table *t;
	int nd = 0, rc, busy = 0, gone;

	if ((rc = parse_dest("forget", a->argv[0], &d, &nd)) != 0)
		return rc;
	if (cbctl_attach(c, CBCTL_WRITE, &t) != 0) {
		free(d);
		return CBCTL_FAIL;
	}
	gone = forget_dests(t, d, nd, &busy);
	if (gone == 0 && busy == 0)
		cbctl_no_breaker(a->argv[0], d, nd, c->shm);
	cb_table_detach(t);
	free(d);
	return gone > 0 && busy == 0 ? CBCTL_OK : CBCTL_FAIL;
}

/* ---- reload ----------------------------------------------------------- */

int
cmd_reload(struct cbctl *c, const struct cbctl_args *a)
{
	uint32_t i, slots, n = 0, bad = 0;
	struct cb_breaker bh, *b = &bh;
	struct cb_table *t;
	struct cb_policy p;
	struct cb_dest d;
	char name[CB_NAME_MAX + 1];

	(void)a;
	if (cbctl_config(c) != 0 || cbctl_attach(c, CBCTL_WRITE, &t) != 0)
		return CBCTL_FAIL;
	slots = cb_table_slots(t);
	for (i = 0; i < slots; i++) {
		if (cb_table_slot(t, i, b, &d) < 0)
			continue;
		/* a name rule fits by the name stored with the breaker */
		cb_config_policy_named(c->cfg, &d, cb_table_get_name(t, i,
				       name) ? name : NULL, &p);
		if (cb_policy_valid(&p) < 0) {
			bad++;
			continue;
		}
		cb_breaker_set_policy(b, &p);
		n++;
	}
	cb_table_detach(t);
	printf("reloaded %u breaker%s from %s\n", n, n == 1 ? "" : "s",
	       c->cfg_path ? c->cfg_path : "the built-in defaults");
	if (bad)
		return cbctl_fail("reload: %u breaker%s kept the old policy: the "
				  "configuration gives an invalid one", bad,
				  bad == 1 ? "" : "s");
	return CBCTL_OK;
}

/* ---- destroy ---------------------------------------------------------- */

int
cmd_destroy(struct cbctl *c, const struct cbctl_args *a)
{
	int n, r;

	(void)a;
	if (cbctl_segment(c) != 0)
		return CBCTL_FAIL;
	/* and the temporaries of creators killed before publishing theirs */
	if ((n = cb_table_clean_temp()) > 0)
		printf("removed %d leaked temporary file%s\n", n,
		       n == 1 ? "" : "s");
	/* no attach: a garbage or foreign segment must be removable too */
	r = cb_table_destroy(c->shm);
	if (r == -ENOENT)
		return cbctl_fail("segment %s: no such segment", c->shm);
	if (r < 0)
		return cbctl_fail("segment %s: cannot remove: %s", c->shm,
				  strerror(-r));
	printf("removed segment %s\n", c->shm);
	return CBCTL_OK;
}
