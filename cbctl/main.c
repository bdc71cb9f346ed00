/*
 * main.c - cbctl, the operator's tool: global options, the command table,
 * usage, and what every command shares (configuration, segment name,
 * attaching with a clear message, signals for the live views).
 *
 * Exit status everywhere: 0 done, 1 failed (the message says what and
 * why), 2 bad usage (the message, then the usage, on stderr).  Commands
 * return the status instead of calling exit(), so main() alone flushes
 * stdout and turns a failed write (a full disk, a closed pipe) into 1.
 */
#include "cbctl.h"

#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define JSON_OPT { "json", NULL, 0, "print JSON, for scripts" }

/* The commands, in the order --help lists them.  Usage, --help, the option
 * parser and every usage error come from here; the bash completion and
 * the man page's synopses are kept in step with it by a test
 * (tests/cbctl.bats, "command_table_matches_completion_and_man_page"). */
static const struct cbctl_cmd commands[] = {
	{ .name = "list", .synopsis = "[--json]",
	  .summary = "every breaker: state, counters, time left open",
	  .fn = cmd_list, .opts = { JSON_OPT } },
	{ .name = "show", .synopsis = "DEST [--json]",
	  .summary = "one breaker in full, with its policy",
	  .fn = cmd_show, .min_args = 1, .max_args = 1, .missing = "no DEST",
	  .opts = { JSON_OPT } },
	{ .name = "trip", .synopsis = "DEST [--hold | --for DURATION]",
	  .summary = "open it now (creates the breaker if needed)",
	  .fn = cmd_trip, .min_args = 1, .max_args = 1, .missing = "no DEST",
	  .opts = { { "for", "DURATION", 0, "open this long (90s, 5m; at "
		      "most 74h)" },
		    { "hold", NULL, 0, "open until cbctl reset" } } },
	{ .name = "reset", .synopsis = "DEST | --all",
	  .summary = "close it, clearing its cycle counters",
	  .fn = cmd_reset, .max_args = 1,
	  .opts = { { "all", NULL, 0, "every breaker that is not closed "
		      "already" } } },
	{ .name = "forget", .synopsis = "DEST",
	  .summary = "remove a closed breaker, freeing its place",
	  .fn = cmd_forget, .min_args = 1, .max_args = 1,
	  .missing = "DEST, please" },
	{ .name = "watch", .synopsis = "[--count N] [--interval S]",
	  .summary = "a live view of list", .fn = cmd_watch,
	  .opts = { { "count", "N", 0, "stop after N refreshes" },
		    { "interval", "S", 0, "refresh every S seconds (default "
		      "1; or e.g. 500ms)" } } },
	{ .name = "events", .synopsis = "[--follow] [--json]",
	  .summary = "recent transitions, oldest first", .fn = cmd_events,
	  .opts = { { "follow", NULL, 0, "keep printing new ones until "
		      "interrupted" },
		    { "json", NULL, 0, "print JSON Lines, for scripts" } } },
	{ .name = "metrics", .synopsis = "",
	  .summary = "Prometheus text exposition format", .fn = cmd_metrics },
	{ .name = "serve", .synopsis = "--listen ADDR:PORT",
	  .summary = "serve the metrics over HTTP at /metrics",
	  .fn = cmd_serve,
	  .opts = { { "listen", "ADDR:PORT", 'l', "a.b.c.d:port, "
		      "[v6addr]:port or :port (every address)" } } },
	{ .name = "run", .synopsis = "[--config FILE] [--shm NAME] -- CMD "
	  "[ARGS]", .summary = "run CMD with the shim preloaded",
	  .fn = cmd_run, .min_args = 1, .max_args = -1,
	  .missing = "no command to run", .in_order = 1,
	  .opts = { { "config", "FILE", 0, "check FILE and export it as "
		      "CBSHIM_CONFIG" },
		    { "shm", "NAME", 0, "export NAME as CBSHIM_SHM" } } },
	{ .name = "check-config", .synopsis = "[FILE]",
	  .summary = "validate a configuration file",
	  .fn = cmd_check_config, .max_args = 1 },
	{ .name = "reload", .synopsis = "",
	  .summary = "re-apply the configuration to existing breakers",
	  .fn = cmd_reload },
	{ .name = "destroy", .synopsis = "", .summary = "remove the segment",
	  .fn = cmd_destroy },
};
#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

static volatile sig_atomic_t stop_flag;

static void main_usage(FILE *f);
static void command_help(const struct cbctl_cmd *c);
static const struct cbctl_cmd *find_command(const char *name);
static int getopt_error(const char *cmd, int ch, char **argv);
static int long_options(const struct cbctl_cmd *cmd, struct option *lo,
			char *optstring);
static int parse_args(const struct cbctl_cmd *cmd, int argc, char **argv,
		      struct cbctl_args *a);
static int finish(int status);
static void on_signal(int sig);

/* ---- usage and errors --------------------------------------------- */

static void
main_usage(FILE *f)
{
	size_t i;

	fputs("usage: cbctl [--shm NAME] COMMAND [ARGS]\n"
	      "       cbctl --help | --version\n\ncommands:\n", f);
	for (i = 0; i < NCOMMANDS; i++)
		fprintf(f, "  %-13s %-44s\n  %-13s   %s\n", commands[i].name,
			commands[i].synopsis, "", commands[i].summary);
	fputs("\nDEST is a.b.c.d:port, [v6addr]:port or hostname:port (every "
	      "address).\n"
	      "The segment is --shm NAME, else $CBSHIM_SHM, else the config's "
	      "shm.name,\nelse /cbshim-UID.  'cbctl COMMAND --help' for one "
	      "command.\n"
	      "Exit status: 0 done, 1 failed, 2 bad usage.\n", f);
}

void
cbctl_usage(const char *cmd, FILE *f)
{
	const struct cbctl_cmd *c = find_command(cmd);

	if (c == NULL) {
		main_usage(f);
		return;
	}
	fprintf(f, "usage: cbctl [--shm NAME] %s%s%s\n  %s\n", c->name,
		*c->synopsis ? " " : "", c->synopsis, c->summary);
}

/* A command's --help: its usage, then each option with its line. */
static void
command_help(const struct cbctl_cmd *c)
{
	char opt[48];
	int i;

	cbctl_usage(c->name, stdout);
	fputs("\noptions:\n", stdout);
	for (i = 0; i < CBCTL_MAX_OPTS && c->opts[i].name; i++) {
		snprintf(opt, sizeof(opt), "--%s%s%s", c->opts[i].name,
			 c->opts[i].arg ? " " : "", c->opts[i].arg ?
			 c->opts[i].arg : "");
		printf("  %-19s %s\n", opt, c->opts[i].help);
	}
	printf("  %-19s %s\n", "--help", "print this and exit");
}

/* For the live views (cbctl_fail_once): the last message said, and
 * whether a repeat of it is kept quiet. */
static char last_fail[1024];
static int fail_once;

int
cbctl_fail(const char *fmt, ...)
{
	char msg[sizeof(last_fail)];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (fail_once && strcmp(msg, last_fail) == 0)
		return CBCTL_FAIL;
	memcpy(last_fail, msg, sizeof(msg));
	fflush(stdout);
	fprintf(stderr, "cbctl: %s\n", msg);
	return CBCTL_FAIL;
}

void
cbctl_fail_once(void)
{
	fail_once = 1;
	last_fail[0] = '\0';
}

int
cbctl_misuse(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	fputs("cbctl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	cbctl_usage(cmd, stderr);
	return CBCTL_USAGE;
}

/* getopt_long returned ch ('?' unknown option, ':' missing value; the
 * optstrings start with ':' and opterr is 0): say which, with cmd's usage
 * (NULL: the global one).  Returns CBCTL_USAGE. */
static int
getopt_error(const char *cmd, int ch, char **argv)
{
	char opt[3] = { '-', (char)optopt, '\0' };
	const char *what = ch == ':' ? "missing value for" : "unknown option";
	/* optopt names a bad short option; a long one is the word getopt
	 * just stepped over */
	const char *arg = ch == '?' && optopt > 0 && optopt < 256 ? opt :
			  argv[optind - 1];

	/* "cbctl list --shm /x": the global option after the command */
	if (cmd && ch == '?' && (strcmp(arg, "--shm") == 0 ||
				 strncmp(arg, "--shm=", 6) == 0))
		return cbctl_misuse(cmd, "%s: --shm goes before the command "
				    "(cbctl --shm NAME %s ...)", cmd, cmd);
	if (cmd)
		return cbctl_misuse(cmd, "%s: %s %s", cmd, what, arg);
	return cbctl_misuse(NULL, "%s %s", what, arg);
}

static const struct cbctl_cmd *
find_command(const char *name)
{
	size_t i;

	for (i = 0; name && i < NCOMMANDS; i++)
		if (strcmp(commands[i].name, name) == 0)
			return &commands[i];
	return NULL;
}

/* ---- parsing a command line ----------------------------------------- */

#define OPT_VAL 256		/* getopt's value for option i: OPT_VAL + i */

/* getopt_long's view of cmd's options (lo, at least CBCTL_MAX_OPTS + 2
 * long; optstring, at least 4 + 2 * CBCTL_MAX_OPTS): how many it has. */
static int
long_options(const struct cbctl_cmd *cmd, struct option *lo,
	     char *optstring)
{
	int i;

	strcpy(optstring, cmd->in_order ? "+:h" : ":h");
	for (i = 0; i < CBCTL_MAX_OPTS && cmd->opts[i].name; i++) {
		lo[i].name = cmd->opts[i].name;
		lo[i].has_arg = cmd->opts[i].arg ? required_argument :
			no_argument;
		lo[i].flag = NULL;
		lo[i].val = cmd->opts[i].short_name ? cmd->opts[i].short_name :
			OPT_VAL + i;
		if (cmd->opts[i].short_name)
			strcat(strncat(optstring, &cmd->opts[i].short_name, 1),
			       cmd->opts[i].arg ? ":" : "");
	}
	lo[i] = (struct option){ "help", no_argument, NULL, 'h' };
	lo[i + 1] = (struct option){ NULL, 0, NULL, 0 };
	return i;
}

/* The options and operands of cmd's command line (argv[0] is its name)
 * into a.  -1 to run it, or the exit status: 0 after --help, 2 after
 * saying what is wrong. */
static int
parse_args(const struct cbctl_cmd *cmd, int argc, char **argv,
	   struct cbctl_args *a)
{
	struct option lo[CBCTL_MAX_OPTS + 2];
	char optstring[4 + 2 * CBCTL_MAX_OPTS];
	int ch, i, n = long_options(cmd, lo, optstring);

	memset(a, 0, sizeof(*a));
	a->cmd = cmd;
	optind = 0;
	while ((ch = getopt_long(argc, argv, optstring, lo, NULL)) != -1) {
		if (ch == 'h') {
			command_help(cmd);
			return CBCTL_OK;
		}
		for (i = 0; i < n && ch != lo[i].val; i++)
			;
		if (i == n)
			return getopt_error(cmd->name, ch, argv);
		/* "--for 5s --for 10s": which was meant?  (a flag twice
		 * means the same as once) */
		if (a->opt[i] && lo[i].has_arg)
			return cbctl_misuse(cmd->name, "%s: --%s given twice",
					    cmd->name, lo[i].name);
		a->opt[i] = lo[i].has_arg ? optarg : "";
	}
	a->argc = argc - optind;
	a->argv = argv + optind;
	if (cmd->max_args >= 0 && a->argc > cmd->max_args)
		return cbctl_misuse(cmd->name, "%s: unexpected argument \"%s\"",
				    cmd->name, a->argv[cmd->max_args]);
	if (a->argc < cmd->min_args)
		return cbctl_misuse(cmd->name, "%s: %s", cmd->name,
				    cmd->missing ? cmd->missing :
				    "missing argument");
	return -1;
}

int
cbctl_command(struct cbctl *c, int argc, char **argv)
{
	const struct cbctl_cmd *cmd = find_command(argv[0]);
	struct cbctl_args a;
	int r;

	if (cmd == NULL)
		return cbctl_misuse(NULL, "unknown command \"%s\"", argv[0]);
	if ((r = parse_args(cmd, argc, argv, &a)) >= 0)
		return r;
	return cmd->fn(c, &a);
}

const char *
cbctl_opt(const struct cbctl_args *a, const char *name)
{
	int i;

	for (i = 0; i < CBCTL_MAX_OPTS && a->cmd->opts[i].name; i++)
		if (strcmp(a->cmd->opts[i].name, name) == 0)
			return a->opt[i];
	abort();		/* not an option of this command: a bug */
}

/* ---- configuration and segment ------------------------------------ */

int
cbctl_config(struct cbctl *c)
{
	char err[512];
	int r;

	if (c->cfg_loaded)
		return 0;
	c->cfg_path = cb_config_path();
	if ((r = cb_config_load(&c->cfg, c->cfg_path, err, sizeof(err))) < 0)
		return cbctl_fail("%s", *err ? err : strerror(-r));
	c->cfg_loaded = 1;
	return 0;
}

int
cbctl_segment(struct cbctl *c)
{
	const char *e = getenv("CBSHIM_SHM"), *n;

	if (c->shm_resolved)
		return 0;
	if (c->shm_opt) {
		snprintf(c->shm, sizeof(c->shm), "%s", c->shm_opt);
	} else if (e && *e) {
		snprintf(c->shm, sizeof(c->shm), "%s", e);
	} else {
		if (cbctl_config(c) != 0)
			return CBCTL_FAIL;
		if ((n = cb_config_shm_name(c->cfg)) != NULL)
			snprintf(c->shm, sizeof(c->shm), "%s", n);
		else
			cb_table_default_name(c->shm, sizeof(c->shm));
	}
	c->shm_resolved = 1;
	return 0;
}

int
cbctl_attach(struct cbctl *c, enum cbctl_access acc, struct cb_table **tp)
{
	struct cb_table_opts o = { 0, 0, 0600, CB_DEFAULT_CAPACITY };
	char why[256];
	int r;

	if (cbctl_segment(c) != 0)
		return CBCTL_FAIL;
	o.readonly = acc == CBCTL_READ;
	if (acc == CBCTL_CREATE) {
		if (cbctl_config(c) != 0)
			return CBCTL_FAIL;
		o.create = 1;
		o.mode = cb_config_shm_mode(c->cfg);
		o.capacity = cb_config_max_breakers(c->cfg);
	}
	r = cb_table_attach_owner(tp, c->shm, &o, c->cfg_loaded ?
				  cb_config_shm_owner(c->cfg) : -1, why,
				  sizeof(why));
	/* a foreign owner may be shm.owner: only then read the config */
	if (r == -EPERM && !c->cfg_loaded) {
		if (cbctl_config(c) != 0)
			return CBCTL_FAIL;
		r = cb_table_attach_owner(tp, c->shm, &o,
					  cb_config_shm_owner(c->cfg), why,
					  sizeof(why));
	}
	if (r == 0 && acc == CBCTL_CREATE)	/* trip may need a place */
		cb_table_set_reclaim(*tp, cb_config_reclaim_after(c->cfg),
				     NULL);
	if (r == 0)
		return 0;
	if (r == -ENOENT)
		return cbctl_fail("segment %s: no such segment (no program has "
				  "used cbshim with it yet)", c->shm);
	if ((r == -EBADMSG || r == -EPROTO || r == -EPERM) &&
	    cb_table_removable(c->shm))
		return cbctl_fail("segment %s: %s (cbctl destroy removes it)",
				  c->shm, why);
	return cbctl_fail("segment %s: %s", c->shm, why);
}

/* ---- signals ------------------------------------------------------- */

static int out_gone, out_told;	/* errno why stdout is gone; reported */

static void
on_signal(int sig)
{
	(void)sig;
	stop_flag = 1;
}

void
cbctl_catch_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);	/* no SA_RESTART: wake the sleep */
	sigaction(SIGTERM, &sa, NULL);
	/* a closed pipe is an EPIPE we report (exit 1), not a death */
	signal(SIGPIPE, SIG_IGN);
}

int
cbctl_stopped(void)
{
	return stop_flag != 0;
}

/* Why stdout cannot take output (EPIPE: the reader is gone, EBADF: it is
 * closed), or 0 as far as poll can tell. */
static int
stdout_gone(int timeout_ms)
{
	struct pollfd p = { STDOUT_FILENO, 0, 0 };

	while (poll(&p, 1, timeout_ms) < 0)
		if (errno != EINTR || stop_flag)
			return 0;
	if (p.revents & POLLNVAL)
		return EBADF;
	return p.revents & (POLLERR | POLLHUP) ? EPIPE : 0;
}

int
cbctl_sleep_ms(uint64_t ms)
{
	uint64_t end = cb_now_ms() + ms, now;

	/* poll stdout for an error while sleeping: a live view whose reader
	 * went away ends now, not at its next write */
	while (!stop_flag && !out_gone && (now = cb_now_ms()) < end)
		out_gone = stdout_gone((int)(end - now > 1000 ? 1000 :
						 end - now));
	return stop_flag || out_gone;
}

int
cbctl_output_failed(void)
{
	int e;

	if (!out_gone) {
		/* errno is not cleared first: stdio keeps only the error
		 * flag of a write that failed earlier (a full disk), and the
		 * errno it left is the cause unless this flush fails anew */
		if (fflush(stdout) != 0 || ferror(stdout)) {
			e = errno;
			out_gone = stdout_gone(0);
			if (!out_gone)
				out_gone = e ? e : EIO;
		} else {
			out_gone = stdout_gone(0);
		}
	}
	if (out_gone && !out_told) {
		fprintf(stderr, "cbctl: stdout: %s\n", strerror(out_gone));
		out_told = 1;
	}
	return out_gone != 0;
}

/* ---- main ------------------------------------------------------------ */

/* Flush stdout: output that could not be written is a failure. */
static int
finish(int status)
{
	if (out_told)
		return CBCTL_FAIL;
	if (fflush(stdout) != 0 || ferror(stdout)) {
		if (errno != EPIPE)
			fprintf(stderr, "cbctl: stdout: %s\n", strerror(errno));
		return CBCTL_FAIL;
	}
	return status;
}

int
main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "shm", required_argument, NULL, 's' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct cbctl c;
	int ch, r;

	memset(&c, 0, sizeof(c));
	opterr = 0;		/* getopt_error says it our way */
	while ((ch = getopt_long(argc, argv, "+:hV", lo, NULL)) != -1) {
		switch (ch) {
		case 'h':
			main_usage(stdout);
			return finish(CBCTL_OK);
		case 's':
			if (c.shm_opt)
				return cbctl_misuse(NULL, "--shm given twice");
			c.shm_opt = optarg;
			break;
		case 'V':
			printf("cbctl %s\n", CB_VERSION);
			return finish(CBCTL_OK);
		default:
			return getopt_error(NULL, ch, argv);
		}
	}
	if (c.shm_opt && !cb_table_valid_name(c.shm_opt))
		return cbctl_misuse(NULL, "--shm \"%s\": bad segment name "
				    "(want /name)", c.shm_opt);
	if (optind >= argc)
		return cbctl_misuse(NULL, "no command");
	r = cbctl_command(&c, argc - optind, argv + optind);
	cb_config_free(c.cfg);
	return finish(r);
}
