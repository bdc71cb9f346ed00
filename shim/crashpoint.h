/*
 * crashpoint.h - named crash points between shared stores, for tests.
 *
 * CB_CRASH_POINT("name") marks a place in a protocol where a process dying
 * (or stalling) matters: between two stores to the shared segment.  In the
 * library and in every ordinary build it expands to nothing: zero cost.
 * Built with -DCB_CRASH_POINTS (the crash-test objects, build/crash/), it
 * calls cb_crash_point(), which does what the test asked of that point:
 * nothing, kill the process (SIGKILL), or stop it (SIGSTOP) until the
 * test's parent sends SIGCONT.  A test forks a child, arms a point in it,
 * drives it there, then checks what the parent sees.
 */
#ifndef CB_CRASHPOINT_H
#define CB_CRASHPOINT_H

#ifdef CB_CRASH_POINTS
enum cb_crash_action { CB_CRASH_NONE = 0, CB_CRASH_KILL, CB_CRASH_STOP };

/* cb_crash_arm - at the point called name, after skip passes, act; then
 * the next point armed (up to 4, in order) becomes the one watched.  Names
 * are compared in full.  For tests only, not thread-safe. */
void cb_crash_arm(const char *name, unsigned skip, enum cb_crash_action act);

/* cb_crash_point - the hook CB_CRASH_POINT calls. */
void cb_crash_point(const char *name);

#define CB_CRASH_POINT(name) cb_crash_point(name)
#else
#define CB_CRASH_POINT(name) ((void)0)
#endif

#endif
