/*
 * fake.c - a stand-in for the kernel's side of the closed cycle, preloaded
 * after the shim (LD_PRELOAD="libcbshim.so fake.so"): socket, connect,
 * recv, setsockopt, getsockopt and close on fake descriptors (>= FAKE_FD)
 * make no system call and answer as a loopback server that accepts and
 * closes would (connected; EOF).  Each touches FAKE_KB KiB of memory
 * first (FAKE_KB, default 0), the part of the caches the kernel's own work
 * takes back between two calls, and the time that takes is kept out of
 * the measure (fake_ns).  Only after FAKE_ON is set in the environment
 * (by loop.c, after the shim's load): until then everything is libc's.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#define FAKE_FD 900

uint64_t fake_ns;		/* time spent touching memory */

static volatile char *junk;
static size_t kb;

static uint64_t
mono(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

static void
evict(void)
{
	uint64_t t0;
	size_t i;

	if (!junk) {
		const char *e = getenv("FAKE_KB");

		kb = e ? strtoul(e, NULL, 10) : 0;
		if (kb == 0 || !(junk = malloc(kb * 1024)))
			return;
	}
	t0 = mono();
	for (i = 0; i < kb * 1024; i += 64)
		junk[i]++;
	fake_ns += mono() - t0;
}

/* libc's function name, found on first use */
#define REAL(name) ((void)(real_##name || \
	(*(void **)&real_##name = dlsym(RTLD_NEXT, #name))), real_##name)

static int (*real_socket)(int, int, int);
static int (*real_connect)(int, const struct sockaddr *, socklen_t);
static ssize_t (*real_recv)(int, void *, size_t, int);
static int (*real_setsockopt)(int, int, int, const void *, socklen_t);
static int (*real_getsockopt)(int, int, int, void *, socklen_t *);
static int (*real_close)(int);

int
socket(int d, int t, int p)
{
	if (!getenv("FAKE_ON"))
		return REAL(socket)(d, t, p);
	evict();
	return FAKE_FD;
}

int
connect(int fd, const struct sockaddr *sa, socklen_t l)
{
	if (fd < FAKE_FD)
		return REAL(connect)(fd, sa, l);
	evict();
	return 0;
}

ssize_t
recv(int fd, void *b, size_t n, int f)
{
	if (fd < FAKE_FD)
		return REAL(recv)(fd, b, n, f);
	evict();
	return 0;
}

int
setsockopt(int fd, int l, int o, const void *v, socklen_t n)
{
	if (fd < FAKE_FD)
		return REAL(setsockopt)(fd, l, o, v, n);
	evict();
	return 0;
}

int
getsockopt(int fd, int l, int o, void *v, socklen_t *n)
{
	if (fd < FAKE_FD)
		return REAL(getsockopt)(fd, l, o, v, n);
	if (l == SOL_SOCKET && o == SO_TYPE)
		*(int *)v = SOCK_STREAM;
	else
		memset(v, 0, *n);
	return 0;
}

int
close(int fd)
{
	if (fd < FAKE_FD)
		return REAL(close)(fd);
	evict();
	return 0;
}
