/*
 * startbench.c - what a preload library costs a process that never
 * connects: the time to start, run and reap a program (posix_spawn +
 * waitpid of e.g. /bin/true) under each of several LD_PRELOAD values.
 *
 *   startbench BLOCKS EXECS PROG LIB...
 *       LIB "-" means no LD_PRELOAD.  BLOCKS blocks of EXECS rounds; a
 *       round starts PROG once under each LIB, in an order that rotates
 *       every round, so a slow moment hits every LIB alike.  Per block,
 *       the median time of each LIB.  Prints one line per LIB:
 *         "start K median_us M ratio R RMIN RMAX over_us D DMIN DMAX
 *          cpu_us C cpu_over_us E EMIN EMAX"
 *       M the median over all its starts; R (min, max) the median over
 *       blocks of its block median / the first LIB's; D (min, max) the
 *       same of its block median - the second LIB's, in µs.  C and E:
 *       the same of the child's CPU time (user + system, from wait4: the
 *       kernel's exact runtime, which a loaded machine disturbs less).
 *
 * The environment is this program's own plus LD_PRELOAD, so CBSHIM_SHM
 * and CBSHIM_CONFIG set by the caller reach the shim.
 */
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"

#define MAXLIB 8

extern char **environ;

static char **
env_with(const char *lib)
{
	size_t n = 0, i, k = 0;
	char **env;

	while (environ[n])
		n++;
	if (!(env = calloc(n + 2, sizeof(*env))))
		die("out of memory");
	for (i = 0; i < n; i++)
		if (strncmp(environ[i], "LD_PRELOAD=", 11) != 0)
			env[k++] = environ[i];
	if (strcmp(lib, "-") != 0) {
		if (!(env[k] = malloc(strlen(lib) + 12)))
			die("out of memory");
		sprintf(env[k++], "LD_PRELOAD=%s", lib);
	}
	env[k] = NULL;
	return env;
}

/* One start of prog under env: ns from spawn to reaped; *cpu the child's
 * CPU time in ns. */
static uint64_t
start_once(const char *prog, char **env, uint64_t *cpu)
{
	char *argv[] = { (char *)prog, NULL };
	uint64_t t0 = now_ns();
	struct rusage ru;
	pid_t pid;
	int st;

	if ((errno = posix_spawn(&pid, prog, NULL, NULL, argv, env)) != 0)
		die("spawn %s: %s", prog, strerror(errno));
	while (wait4(pid, &st, 0, &ru) < 0)
		if (errno != EINTR)
			die("wait4: %s", strerror(errno));
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		die("%s did not exit 0", prog);
	*cpu = (uint64_t)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) *
	       1000000000u + (uint64_t)(ru.ru_utime.tv_usec +
	       ru.ru_stime.tv_usec) * 1000u;
	return now_ns() - t0;
}

static double
median_d(double *v, size_t n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

int
main(int argc, char **argv)
{
	unsigned long blocks, execs, b, r;
	size_t nlib, k, j;
	char **env[MAXLIB];
	uint64_t *all[MAXLIB], *blk[MAXLIB], *allc[MAXLIB], *blkc[MAXLIB];
	double *bm[MAXLIB], *bc[MAXLIB], *ratio, *over, *cover;

	if (argc < 5 || argc - 4 > MAXLIB)
		die("usage: startbench BLOCKS EXECS PROG LIB... (at most %d)",
		    MAXLIB);
	blocks = arg_ul(argv[1], "BLOCKS");
	execs = arg_ul(argv[2], "EXECS");
	if (blocks == 0 || execs == 0)
		die("BLOCKS and EXECS must be > 0");
	nlib = (size_t)argc - 4;
	ratio = calloc(blocks, sizeof(double));
	over = calloc(blocks, sizeof(double));
	cover = calloc(blocks, sizeof(double));
	for (k = 0; k < nlib; k++) {
		env[k] = env_with(argv[4 + k]);
		all[k] = calloc(blocks * execs, sizeof(uint64_t));
		allc[k] = calloc(blocks * execs, sizeof(uint64_t));
		blk[k] = calloc(execs, sizeof(uint64_t));
		blkc[k] = calloc(execs, sizeof(uint64_t));
		bm[k] = calloc(blocks, sizeof(double));
		bc[k] = calloc(blocks, sizeof(double));
		if (!all[k] || !allc[k] || !blk[k] || !blkc[k] || !bm[k] ||
		    !bc[k] || !ratio || !over || !cover)
			die("out of memory");
	}
	for (b = 0; b < blocks; b++) {
		for (r = 0; r < execs; r++)
			for (j = 0; j < nlib; j++) {
				k = (j + r) % nlib;
				blk[k][r] = start_once(argv[3], env[k],
						       &blkc[k][r]);
				all[k][b * execs + r] = blk[k][r];
				allc[k][b * execs + r] = blkc[k][r];
			}
		for (k = 0; k < nlib; k++) {
			bm[k][b] = (double)quantile(blk[k], execs, 0.5);
			bc[k][b] = (double)quantile(blkc[k], execs, 0.5);
		}
	}
	for (k = 0; k < nlib; k++) {
		for (b = 0; b < blocks; b++) {
			ratio[b] = bm[k][b] / bm[0][b];
			over[b] = (bm[k][b] - bm[nlib > 1][b]) / 1e3;
			cover[b] = (bc[k][b] - bc[nlib > 1][b]) / 1e3;
		}
		printf("start %zu median_us %.1f", k,
		       (double)quantile(all[k], blocks * execs, 0.5) / 1e3);
		printf(" ratio %.4f", median_d(ratio, blocks));
		printf(" %.4f %.4f", ratio[0], ratio[blocks - 1]);
		printf(" over_us %.1f", median_d(over, blocks));
		printf(" %.1f %.1f", over[0], over[blocks - 1]);
		printf(" cpu_us %.1f",
		       (double)quantile(allc[k], blocks * execs, 0.5) / 1e3);
		printf(" cpu_over_us %.1f", median_d(cover, blocks));
		printf(" %.1f %.1f\n", cover[0], cover[blocks - 1]);
	}
	return 0;
}
