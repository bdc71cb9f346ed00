/*
 * run.c - "cbctl run": exec a command with the shim preloaded, and
 * "cbctl check-config": validate a configuration file.
 *
 * run finds the shim next to cbctl first (so build/cbctl uses
 * build/libcbshim.so from the same build), then in ../lib beside an
 * installed cbctl, then in the library directory it was built for.  The
 * shim is appended to any LD_PRELOAD already set (other preloads keep
 * their order and go first; another copy of the shim, say an installed
 * one, is dropped: both would count every connect), and run exits like a shell when the command
 * cannot be executed: 127 not found, 126 not executable (or a script whose
 * #! interpreter is missing, which exec reports as ENOENT).  A --config file is checked before anything is run, because
 * the shim would only pass through with a warning on a bad one.
 */
#include "cbctl.h"

#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SHIM_NAME "libcbshim.so"

static int find_shim(char *buf, size_t len);
static int other_shim(const char *e, size_t k, const char *shim);
static int set_preload(const char *shim);
static int check_file(const char *path);
static int exec_failed(const char *cmd, int e);

/* The shim next to /proc/self/exe (the build tree), else in ../lib from
 * it (an installed PREFIX/bin/cbctl, wherever PREFIX or DESTDIR put it),
 * else CB_LIBDIR.  0 or -ENOENT. */
static int
find_shim(char *buf, size_t len)
{
	char exe[PATH_MAX], *dir;
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

	if (n > 0) {
		exe[n] = '\0';
		dir = dirname(exe);
		snprintf(buf, len, "%s/" SHIM_NAME, dir);
		if (access(buf, R_OK) == 0)
			return 0;
		snprintf(buf, len, "%s/../lib/" SHIM_NAME, dir);
		if (access(buf, R_OK) == 0)
			return 0;
	}
	snprintf(buf, len, "%s/" SHIM_NAME, CB_LIBDIR);
	return access(buf, R_OK) == 0 ? 0 : -ENOENT;
}

/* Is the entry [e, e + k) another copy of the shim than shim: a file
 * named libcbshim.so elsewhere?  Two copies would both interpose, and
 * every connect would be counted twice. */
static int
other_shim(const char *e, size_t k, const char *shim)
{
	const size_t n = sizeof(SHIM_NAME) - 1;

	if (k == strlen(shim) && strncmp(e, shim, k) == 0)
		return 0;
	return k >= n && strncmp(e + k - n, SHIM_NAME, n) == 0 &&
	       (k == n || e[k - n - 1] == '/');
}

/* LD_PRELOAD's (space- or colon-separated) entries in their order, but
 * for other copies of the shim, then shim unless it is there already. */
static int
set_preload(const char *shim)
{
	const char *old = getenv("LD_PRELOAD"), *e;
	size_t k, len = 0;
	char *v;
	int has = 0, r;

	if (old == NULL)
		old = "";
	if ((v = malloc(strlen(old) + strlen(shim) + 2)) == NULL)
		return -1;
	for (e = old + strspn(old, " :"); *e; e += k, e += strspn(e, " :")) {
		k = strcspn(e, " :");
		if (other_shim(e, k, shim))
			continue;
		has |= k == strlen(shim) && strncmp(e, shim, k) == 0;
		if (len)
			v[len++] = ' ';
		memcpy(v + len, e, k);
		len += k;
	}
	if (!has)
		len += (size_t)sprintf(v + len, "%s%s", len ? " " : "", shim);
	v[len] = '\0';
	r = setenv("LD_PRELOAD", v, 1);
	free(v);
	return r;
}

/* Load path as the shim would: 0 if good, else CBCTL_FAIL (printed). */
static int
check_file(const char *path)
{
	struct cb_config *cfg;
	char err[512];
	int r;

	if ((r = cb_config_load(&cfg, path, err, sizeof(err))) < 0)
		return cbctl_fail("%s", *err ? err : strerror(-r));
	cb_config_free(cfg);
	return 0;
}

int
cmd_run(struct cbctl *c, const struct cbctl_args *a)
{
	const char *config = cbctl_opt(a, "config"), *shm = cbctl_opt(a, "shm");
	char shim[PATH_MAX + 32], *abs = NULL;

	if (shm == NULL)
		shm = c->shm_opt;
	if (shm && !cb_table_valid_name(shm))
		return cbctl_misuse("run", "run: --shm \"%s\": bad segment "
				    "name (want /name)", shm);
	if (find_shim(shim, sizeof(shim)) < 0)
		return cbctl_fail("run: cannot find " SHIM_NAME " next to cbctl "
				  "nor in %s", CB_LIBDIR);
	if (config) {
		if (check_file(config) != 0)
			return CBCTL_FAIL;
		/* absolute: the command may change directory before the
		 * shim reads it */
		abs = realpath(config, NULL);
		if (setenv("CBSHIM_CONFIG", abs ? abs : config, 1) < 0)
			return cbctl_fail("run: %s", strerror(errno));
		free(abs);
	}
	if ((shm && setenv("CBSHIM_SHM", shm, 1) < 0) ||
	    set_preload(shim) < 0)
		return cbctl_fail("run: %s", strerror(errno));
	fflush(stdout);
	execvp(a->argv[0], a->argv);
	return exec_failed(a->argv[0], errno);
}

/* Is there a file cmd would name (as execvp looks for it)?  Then an
 * ENOENT from exec is its #! interpreter's. */
static int
exists(const char *cmd)
{
	const char *p = getenv("PATH"), *end;
	char path[PATH_MAX];
	struct stat st;

	if (strchr(cmd, '/'))
		return stat(cmd, &st) == 0;
	for (p = p ? p : "/bin:/usr/bin"; *cmd; p = end + 1) {
		end = strchrnul(p, ':');
		snprintf(path, sizeof(path), "%.*s%s%s", (int)(end - p), p,
			 end > p ? "/" : "", cmd);
		if (stat(path, &st) == 0 && S_ISREG(st.st_mode) &&
		    access(path, X_OK) == 0)
			return 1;
		if (*end == '\0')
			break;
	}
	return 0;
}

/* Say why cmd could not be executed (errno e) and exit like a shell:
 * 127 not found, 126 found but not executable. */
static int
exec_failed(const char *cmd, int e)
{
	if (e == ENOENT && exists(cmd))
		return cbctl_fail("%s: bad interpreter (its #! line names a "
				  "program that does not exist)", cmd), 126;
	cbctl_fail("%s: %s", cmd, e == ENOENT && !strchr(cmd, '/') ?
		   "command not found" : strerror(e));
	return e == ENOENT ? 127 : 126;
}

int
cmd_check_config(struct cbctl *c, const struct cbctl_args *a)
{
	const char *path = a->argc ? a->argv[0] : cb_config_path();

	(void)c;
	if (path == NULL) {
		printf("no config file; built-in defaults\n");
		return CBCTL_OK;
	}
	if (check_file(path) != 0)
		return CBCTL_FAIL;
	printf("%s: ok\n", path);
	return CBCTL_OK;
}
