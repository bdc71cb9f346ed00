/*
 * crashpoint.c - the test hook behind CB_CRASH_POINT (see crashpoint.h).
 * Compiled to nothing unless -DCB_CRASH_POINTS.
 */
#include "crashpoint.h"

#ifdef CB_CRASH_POINTS
#include <signal.h>
#include <string.h>

#define QUEUE 4

static struct {
	const char *name;
	unsigned skip;
	enum cb_crash_action act;
} q[QUEUE];
static unsigned head, tail;

void
cb_crash_arm(const char *name, unsigned skip, enum cb_crash_action act)
{
	if (tail - head < QUEUE) {
		q[tail % QUEUE].name = name;
		q[tail % QUEUE].skip = skip;
		q[tail % QUEUE].act = act;
		tail++;
	}
}

void
cb_crash_point(const char *name)
{
	unsigned i = head % QUEUE;

	if (head == tail || strcmp(q[i].name, name) != 0)
		return;
	if (q[i].skip > 0) {
		q[i].skip--;
		return;
	}
	head++;
	if (q[i].act == CB_CRASH_KILL)
		raise(SIGKILL);
	else if (q[i].act == CB_CRASH_STOP)
		raise(SIGSTOP);
}
#else
typedef int cb_crashpoint_unused_;	/* ISO C: no empty translation unit */
#endif
