/*
 * testutil.h - helpers the unit tests share: fork a child that dies of
 * its own crash signals (not caught by cmocka's handler), and read how it
 * ended.  Include after <cmocka.h>.
 */
#ifndef CB_TESTUTIL_H
#define CB_TESTUTIL_H

#include <signal.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

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
