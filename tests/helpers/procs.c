/*
 * procs - process and thread life cycles around the shim: threads made
 * before and after the first connect, fork, vfork + exec and posix_spawn
 * while a non-blocking connect is pending, fork while other threads are
 * inside connect().  Connects go to 127.0.0.1:PORT (a server that accepts).
 *
 * usage: procs MODE PORT [ARGS]
 *   threads BEFORE AFTER N   BEFORE threads wait while main makes the
 *                            first connect, AFTER more are made after it;
 *                            each makes N connects
 *   fork N                   a pending connect, fork: the child closes its
 *                            copy and makes N connects; the parent settles
 *                            the pending one with SO_ERROR
 *   vfork PROG ARG...        a connect left pending to a listener of its
 *                            own whose queue is full, vfork: the child
 *                            closes its copy and execs PROG; then the
 *                            parent empties the queue, the connection is
 *                            made (at the SYN's retransmission, ~1 s) and
 *                            the parent settles it: one success, which a
 *                            shim charging the child's close as an
 *                            abandoned connect would turn into a failure
 *   spawn PROG ARG...        the same with posix_spawn (and a close action)
 *   forkstorm T F N          T threads connect in a loop while the main
 *                            thread forks F children, each making N
 *                            connects; every child must finish
 * Prints "connects=C ok=O" (C = connect attempts this process and its
 * forked children made, O = those that succeeded; vfork and spawn first
 * print "slow=PORT", the port of their own listener) and exits 0, or says
 * what failed and exits 1.  A hang is ended by SIGALRM after 60 s.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

static struct sockaddr_in sa;
static _Atomic unsigned long *shared;	/* [0] connects, [1] ok: MAP_SHARED */
static _Atomic int go, stop;

static void
count(int e)
{
	atomic_fetch_add(&shared[0], 1);
	if (e == 0)
		atomic_fetch_add(&shared[1], 1);
}

/* One blocking connect; 0 or its errno. */
static int
dial(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0), e = 0;

	if (fd < 0)
		return errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		e = errno;
	close(fd);
	count(e);
	return e;
}

/* A non-blocking connect to to left pending; the fd. */
static int
pending(const struct sockaddr_in *to)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0), e = 0;

	if (fd < 0 || (connect(fd, (const struct sockaddr *)to, sizeof(*to)) <
		       0 && (e = errno) != EINPROGRESS)) {
		fprintf(stderr, "procs: pending connect: %s\n", strerror(e));
		exit(1);
	}
	return fd;
}

/* A listener on 127.0.0.1 whose accept queue is already full (backlog 0
 * and one connection made to it), so that a connect to it stays pending
 * until the queue is emptied.  Its address into *to, *filler the
 * connection in the queue; returns the listening fd. */
static int
slow_listener(struct sockaddr_in *to, int *filler)
{
	socklen_t l = sizeof(*to);
	int ls = socket(AF_INET, SOCK_STREAM, 0);

	memset(to, 0, sizeof(*to));
	to->sin_family = AF_INET;
	to->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (ls < 0 || bind(ls, (struct sockaddr *)to, sizeof(*to)) < 0 ||
	    listen(ls, 0) < 0 || getsockname(ls, (struct sockaddr *)to, &l) < 0 ||
	    (*filler = socket(AF_INET, SOCK_STREAM, 0)) < 0 ||
	    connect(*filler, (struct sockaddr *)to, sizeof(*to)) < 0) {
		perror("procs: listener");
		exit(1);
	}
	printf("slow=%d\n", ntohs(to->sin_port));
	fflush(stdout);
	count(0);		/* the filler's connect, through the shim */
	return ls;
}

/* Empty the listener's queue: the pending connection can now be made. */
static void
drain(int ls)
{
	int c = accept(ls, NULL, NULL);

	if (c >= 0)
		close(c);
}

/* Settle fd's connect with poll + SO_ERROR, then close it. */
static void
settle(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLOUT };
	int v = -1;
	socklen_t l = sizeof(v);

	poll(&p, 1, 10000);
	getsockopt(fd, SOL_SOCKET, SO_ERROR, &v, &l);
	count(v);
	if (v != 0)
		fprintf(stderr, "procs: the pending connect failed: %s\n",
			strerror(v));
	close(fd);
}

static void *
worker(void *arg)
{
	long i, n = (long)arg;

	while (!atomic_load(&go))
		sched_yield();
	for (i = 0; n < 0 ? !atomic_load(&stop) : i < n; i++)
		dial();
	return NULL;
}

static int
run_threads(int before, int after, long n)
{
	pthread_t t[256];
	int i;

	if (before + after > 256)
		return 2;
	for (i = 0; i < before; i++)
		pthread_create(&t[i], NULL, worker, (void *)n);
	dial();			/* the first connect of the process */
	atomic_store(&go, 1);
	for (i = before; i < before + after; i++)
		pthread_create(&t[i], NULL, worker, (void *)n);
	for (i = 0; i < before + after; i++)
		pthread_join(t[i], NULL);
	return 0;
}

static int
wait_ok(pid_t pid)
{
	int st;

	if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) ||
	    WEXITSTATUS(st) != 0) {
		fprintf(stderr, "procs: child %d ended badly (status %#x)\n",
			(int)pid, st);
		return 1;
	}
	return 0;
}

static int
run_fork(long n)
{
	int fd = pending(&sa);
	pid_t pid = fork();
	long i;

	if (pid == 0) {
		close(fd);
		for (i = 0; i < n; i++)
			dial();
		_exit(0);
	}
	if (pid < 0 || wait_ok(pid))
		return 1;
	settle(fd);
	return 0;
}

static int
run_vfork(char **argv)
{
	struct sockaddr_in to;
	int filler, ls = slow_listener(&to, &filler), fd = pending(&to);
	pid_t pid = vfork();

	if (pid == 0) {
		close(fd);
		execve(argv[0], argv, environ);
		_exit(127);
	}
	if (pid < 0 || wait_ok(pid))
		return 1;
	drain(ls);
	settle(fd);
	close(filler);
	close(ls);
	return 0;
}

static int
run_spawn(char **argv)
{
	struct sockaddr_in to;
	int filler, ls = slow_listener(&to, &filler), fd = pending(&to), r;
	posix_spawn_file_actions_t fa;
	pid_t pid;

	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addclose(&fa, fd);
	r = posix_spawn(&pid, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (r != 0) {
		fprintf(stderr, "procs: posix_spawn: %s\n", strerror(r));
		return 1;
	}
	if (wait_ok(pid))
		return 1;
	drain(ls);
	settle(fd);
	close(filler);
	close(ls);
	return 0;
}

static int
run_forkstorm(int nt, int nf, long n)
{
	pthread_t t[64];
	pid_t pid;
	int i, bad = 0;
	long j;

	if (nt > 64)
		return 2;
	atomic_store(&go, 1);
	for (i = 0; i < nt; i++)
		pthread_create(&t[i], NULL, worker, (void *)-1L);
	for (i = 0; i < nf; i++) {
		pid = fork();
		if (pid == 0) {
			for (j = 0; j < n; j++)
				dial();
			_exit(0);
		}
		if (pid < 0 || wait_ok(pid))
			bad = 1;
	}
	atomic_store(&stop, 1);
	for (i = 0; i < nt; i++)
		pthread_join(t[i], NULL);
	return bad;
}

int
main(int argc, char **argv)
{
	int r = 2;

	if (argc < 3)
		goto usage;
	shared = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
		      MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (shared == MAP_FAILED)
		return 1;
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)atoi(argv[2]));
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	signal(SIGALRM, SIG_DFL);
	alarm(60);
	if (strcmp(argv[1], "threads") == 0 && argc == 6)
		r = run_threads(atoi(argv[3]), atoi(argv[4]), atol(argv[5]));
	else if (strcmp(argv[1], "fork") == 0 && argc == 4)
		r = run_fork(atol(argv[3]));
	else if (strcmp(argv[1], "vfork") == 0 && argc >= 4)
		r = run_vfork(argv + 3);
	else if (strcmp(argv[1], "spawn") == 0 && argc >= 4)
		r = run_spawn(argv + 3);
	else if (strcmp(argv[1], "forkstorm") == 0 && argc == 6)
		r = run_forkstorm(atoi(argv[3]), atoi(argv[4]), atol(argv[5]));
	if (r == 2)
		goto usage;
	printf("connects=%lu ok=%lu\n", atomic_load(&shared[0]),
	       atomic_load(&shared[1]));
	return r;
usage:
	fprintf(stderr, "usage: procs threads PORT BEFORE AFTER N | fork PORT N"
		" | vfork PORT PROG ARG... | spawn PORT PROG ARG... |"
		" forkstorm PORT THREADS FORKS N\n");
	return 2;
}
