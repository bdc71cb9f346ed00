/*
 * cbctl.h - what the command files of cbctl share: the invocation context
 * (segment name, configuration), the ways a command ends (done, failed,
 * misused), the command table's types, and the helpers every view needs
 * (reading breakers, human durations, errno names, signals for the live
 * views).
 *
 * Each command is an entry of main.c's command table (name, options,
 * operands, synopsis, summary) and a handler int cmd_NAME(struct cbctl *,
 * const struct cbctl_args *) that gets its options parsed and its
 * operands counted; it returns the exit status (0 done, 1 failed, 2 bad
 * usage) and prints its own errors as "cbctl: what: why".
 */
#ifndef CBCTL_H
#define CBCTL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "../shim/breaker.h"
#include "../shim/config.h"
#include "../shim/table.h"

#define CBCTL_OK 0
#define CBCTL_FAIL 1
#define CBCTL_USAGE 2

/* The invocation: global options and what was loaded lazily. */
struct cbctl {
	const char *shm_opt;		/* --shm NAME, or NULL */
	char shm[256];			/* the resolved segment name */
	int shm_resolved;
	struct cb_config *cfg;		/* loaded on first need */
	const char *cfg_path;		/* its file, NULL: built-in defaults */
	int cfg_loaded;
};

/* How a command wants the segment. */
enum cbctl_access {
	CBCTL_READ,		/* read-only mapping, must exist */
	CBCTL_WRITE,		/* read-write, must exist */
	CBCTL_CREATE,		/* read-write, created with the config's mode
				 * and capacity if missing */
};

#define CBCTL_MAX_OPTS 4	/* options a command takes, besides --help */

/* One option of a command: --NAME, or --NAME VALUE when arg names the
 * value (as usage shows it). */
struct cbctl_opt {
	const char *name;
	const char *arg;	/* "DURATION"; NULL: a flag */
	char short_name;	/* also -X; 0: none */
	const char *help;	/* one line, for the command's --help */
};

struct cbctl_cmd;

/* A command line as its handler gets it: options parsed, operands
 * counted (within the command's min_args..max_args). */
struct cbctl_args {
	const struct cbctl_cmd *cmd;
	const char *opt[CBCTL_MAX_OPTS];	/* parallel to cmd->opts: the
						 * value, "" for a flag, NULL
						 * when not given */
	int argc;
	char **argv;				/* the operands */
};

/* One entry of the command table (main.c): everything usage, --help,
 * the option parser and the error messages need, and the handler. */
struct cbctl_cmd {
	const char *name;
	const char *synopsis;	/* after "cbctl [--shm NAME] NAME " */
	const char *summary;
	int (*fn)(struct cbctl *c, const struct cbctl_args *a);
	int min_args, max_args;	/* operands; max -1: any number */
	const char *missing;	/* the complaint when there are fewer */
	int in_order;		/* options end at the first operand (run:
				 * the rest is the command's own) */
	struct cbctl_opt opts[CBCTL_MAX_OPTS];	/* sorted; up to a NULL name */
};

/* cbctl_command - run the command line argv (argv[0] the command's name)
 * with context c: its exit status, after its usage error if it has one.
 * main() calls it after the global options; the fuzzers call it too. */
int cbctl_command(struct cbctl *c, int argc, char **argv);

/* cbctl_opt - the value of a's option NAME ("" for a flag given), or
 * NULL when it was not given.  NAME must be one of the command's. */
const char *cbctl_opt(const struct cbctl_args *a, const char *name);

/* ---- main.c: context, errors, usage ------------------------------- */

/* cbctl_fail - print "cbctl: FMT" on stderr; returns CBCTL_FAIL. */
int cbctl_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* cbctl_fail_once - for the live views, which retry every refresh: from
 * now on cbctl_fail does not print a message again while it is the last
 * one printed (a segment missing for a minute is said once).  Calling it
 * again (after a success) lets the next failure be said. */
void cbctl_fail_once(void);

/* cbctl_misuse - print "cbctl: FMT" and argv0's usage on stderr; returns
 * CBCTL_USAGE. */
int cbctl_misuse(const char *cmd, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* cbctl_usage - print command cmd's usage to f. */
void cbctl_usage(const char *cmd, FILE *f);

/* cbctl_config - load the configuration once (cb_config_path()).
 * 0, or CBCTL_FAIL after printing why. */
int cbctl_config(struct cbctl *c);

/* cbctl_segment - resolve the segment name (--shm, $CBSHIM_SHM, the
 * config's shm.name, /cbshim-UID) into c->shm.  0 or CBCTL_FAIL. */
int cbctl_segment(struct cbctl *c);

/* cbctl_attach - map the segment as acc says.  0 and *tp, or CBCTL_FAIL
 * after printing "cbctl: segment NAME: why" (plus a hint). */
int cbctl_attach(struct cbctl *c, enum cbctl_access acc,
		 struct cb_table **tp);

/* Signals for the live views (watch, events --follow): after
 * cbctl_catch_signals(), SIGINT/SIGTERM set a flag instead of killing;
 * cbctl_sleep_ms returns nonzero once it is set. */
void cbctl_catch_signals(void);
int cbctl_stopped(void);
int cbctl_sleep_ms(uint64_t ms);

/* cbctl_output_failed - for the live views: 1 (after printing "cbctl:
 * stdout: CAUSE" once) when stdout is gone (a write failed, the reader of
 * its pipe left, it is closed), else 0.  cbctl_sleep_ms also wakes, and
 * returns nonzero, as soon as stdout is gone. */
int cbctl_output_failed(void);

/* ---- view.c: reading breakers ------------------------------------- */

/* One breaker as the views show it: its destination and host name, its
 * snapshot at now and its policy (read without writing the segment). */
struct cbctl_row {
	struct cb_dest dest;
	char name[64];			/* "a.b.c.d:port" / "[v6]:port" */
	char host[CB_NAME_MAX + 1];	/* the host name, "" when unknown */
	uint32_t slot;
	struct cb_snapshot s;
	struct cb_policy p;
};

/* cbctl_read_breaker - fill r from the shared breaker b at now. */
void cbctl_read_breaker(struct cbctl_row *r, struct cb_breaker *b,
			const struct cb_dest *d, uint32_t slot, uint64_t now);

/* cbctl_read_name - r's host name from slot r->slot of t ("" if none). */
void cbctl_read_name(struct cbctl_row *r, struct cb_table *t);

/* cbctl_read_all - every ready breaker of t, sorted by destination, into
 * a malloc'd array (*rows, *n).  0 or -ENOMEM. */
int cbctl_read_all(struct cb_table *t, struct cbctl_row **rows, size_t *n);


/* cbctl_no_breaker - "cbctl: no breaker for DEST: ..." on stderr, for the
 * nd destinations d that operand arg gave. */
void cbctl_no_breaker(const char *arg, const struct cb_dest *d, int nd,
		      const char *shm);

/* ---- fields.c: text helpers (the field table is in fields.h) ------- */

/* cbctl_duration - "850ms", "12.3s", "4m05s", "2h07m", "3d04h" into buf. */
void cbctl_duration(uint64_t ms, char *buf, size_t len);

/* cbctl_errno_name - "ECONNREFUSED" for 111; "E<n>" if nameless;
 * NULL for 0. */
const char *cbctl_errno_name(uint32_t e, char *buf, size_t len);

/* ---- metrics.c ------------------------------------------------------ */

/* cbctl_metrics_write - every breaker of t and the segment's own series,
 * in the Prometheus text format, to f.  0 or -ENOMEM (write errors are
 * f's: check ferror). */
int cbctl_metrics_write(FILE *f, struct cb_table *t);

/* ---- the commands: int cmd_NAME(c, a), 0/1/2 (and run's 126/127) -- */

int cmd_list(struct cbctl *c, const struct cbctl_args *a);
int cmd_show(struct cbctl *c, const struct cbctl_args *a);
int cmd_watch(struct cbctl *c, const struct cbctl_args *a);
int cmd_events(struct cbctl *c, const struct cbctl_args *a);
int cmd_metrics(struct cbctl *c, const struct cbctl_args *a);
int cmd_serve(struct cbctl *c, const struct cbctl_args *a);
int cmd_trip(struct cbctl *c, const struct cbctl_args *a);
int cmd_reset(struct cbctl *c, const struct cbctl_args *a);
int cmd_reload(struct cbctl *c, const struct cbctl_args *a);
int cmd_destroy(struct cbctl *c, const struct cbctl_args *a);
int cmd_run(struct cbctl *c, const struct cbctl_args *a);
int cmd_check_config(struct cbctl *c, const struct cbctl_args *a);
int cmd_forget(struct cbctl *c, const struct cbctl_args *a);

#endif
