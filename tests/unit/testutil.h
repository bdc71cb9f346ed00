/*
 * testutil.h - helpers the unit tests share: ITER_DIV (fewer iterations
 * under ThreadSanitizer), a small pseudo-random generator, memory shared
 * with forked children, and forking a child that dies of its own crash
 * signals (not caught by cmocka's handler) and reading how it ended.
 * Include after <cmocka.h>.
 */
#ifndef CB_TESTUTIL_H
#define CB_TESTUTIL_H

#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

/* ITER_DIV: loops of many iterations make ITER_DIV times fewer under
 * ThreadSanitizer, which is 5-15x slower (and has 2 cores for up to 12
 * threads here), so that every test stays short.  A test file may set
 * ITER_DIV_TSAN before including this file; the default is 4. */
#ifndef __has_feature
#define __has_feature(x) 0
#endif
#ifndef ITER_DIV_TSAN
#define ITER_DIV_TSAN 4
#endif
#if defined(__SANITIZE_THREAD__) || __has_feature(thread_sanitizer)
#define ITER_DIV ITER_DIV_TSAN
#else
#define ITER_DIV 1
#endif

/* xorshift64: the next pseudo-random number of the sequence whose state
 * is *s (never 0).  The same seed gives the same run. */
static inline uint64_t
rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* size bytes of zeroed memory shared with the children forked after it. */
static inline void *
shared_alloc(size_t size)
{
	void *m = mmap(NULL, size, PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	assert_true(m != MAP_FAILED);
	memset(m, 0, size);
	return m;
}

/* fork(); in the child, crash signals get their default action, so that
 * it dies of its signal instead of going on to run the rest of the suite. */
static inline pid_t
child(void)
{
	static const int sigs[] = { SIGSEGV, SIGBUS, SIGILL, SIGFPE,
				    SIGABRT };
	pid_t pid = fork();
	size_t i;

	assert_true(pid >= 0);
	if (pid == 0)
		for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
			signal(sigs[i], SIG_DFL);
	return pid;
}

/* The child's exit status, or 100 + the signal that killed it; -1 if it
 * could not be waited for. */
static inline int
wait_child(pid_t pid)
{
	int st;

	if (waitpid(pid, &st, 0) != pid)
		return -1;
	return WIFSIGNALED(st) ? 100 + WTERMSIG(st) : WEXITSTATUS(st);
}

#endif
