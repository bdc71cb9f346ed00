/*
 * firstconnect - a process's first connect() made the awkward ways, for
 * the shim's lazy start (it initialises on the first governed connect).
 *
 * usage: firstconnect threads T PORT
 *            T threads, released together by a barrier, each make one
 *            blocking connect to 127.0.0.1:PORT: the process's first.
 *        firstconnect fork PORT
 *            fork before any connect; the child connects once and exits,
 *            then the parent connects once.
 *        firstconnect signal PORT
 *            a SIGUSR1 handler makes one blocking connect; raise(SIGUSR1)
 *            is the first thing main does.
 *        firstconnect forkinit PORT
 *            a thread makes the first connect; 100 ms later, while the
 *            shim may still be initialising for it (a test slows that
 *            down), the main thread forks; the child connects once.
 *        firstconnect none PORT
 *            no connect at all: socket(), bind, read and write on it,
 *            close, and a UDP connect (not governed).
 * Prints "ok=N refused=M other=K" over every attempt the process (and,
 * for fork, its child) made.  Exit 0 when it ran.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAXT 256

static struct sockaddr_in dest;
static pthread_barrier_t go;
static _Atomic int ok, refused, other;

/* One blocking attempt; async-signal-safe.  Tallies its outcome. */
static void
attempt(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0), e = 0;

	if (fd < 0) {
		atomic_fetch_add(&other, 1);
		return;
	}
	if (connect(fd, (struct sockaddr *)&dest, sizeof(dest)) < 0)
		e = errno;
	close(fd);
	atomic_fetch_add(e == 0 ? &ok : e == ECONNREFUSED ? &refused : &other,
			 1);
}

static void *
thread(void *unused)
{
	(void)unused;
	pthread_barrier_wait(&go);
	attempt();
	return NULL;
}

static void
on_usr1(int sig)
{
	int saved = errno;

	(void)sig;
	attempt();
	errno = saved;
}

static int
threads(int n)
{
	pthread_t t[MAXT];
	int i;

	if (n < 1 || n > MAXT)
		return 2;
	pthread_barrier_init(&go, NULL, (unsigned)n);
	for (i = 0; i < n; i++)
		if (pthread_create(&t[i], NULL, thread, NULL) != 0)
			return 1;
	for (i = 0; i < n; i++)
		pthread_join(t[i], NULL);
	return 0;
}

static int
forked(void)
{
	int st, r[3];
	int p[2];
	pid_t pid;

	if (pipe(p) < 0 || (pid = fork()) < 0)
		return 1;
	if (pid == 0) {
		attempt();
		r[0] = ok;
		r[1] = refused;
		r[2] = other;
		_exit(write(p[1], r, sizeof(r)) == sizeof(r) ? 0 : 1);
	}
	if (waitpid(pid, &st, 0) < 0 || st != 0 ||
	    read(p[0], r, sizeof(r)) != sizeof(r))
		return 1;
	ok += r[0];
	refused += r[1];
	other += r[2];
	attempt();
	return 0;
}

static void *
one(void *unused)
{
	(void)unused;
	attempt();
	return NULL;
}

static int
forkinit(void)
{
	pthread_t t;
	int st, r[3];
	int p[2];
	pid_t pid;

	if (pipe(p) < 0 || pthread_create(&t, NULL, one, NULL) != 0)
		return 1;
	usleep(100000);
	if ((pid = fork()) < 0)
		return 1;
	if (pid == 0) {
		atomic_store(&ok, 0);
		atomic_store(&refused, 0);
		atomic_store(&other, 0);
		attempt();
		r[0] = ok;
		r[1] = refused;
		r[2] = other;
		_exit(write(p[1], r, sizeof(r)) == sizeof(r) ? 0 : 1);
	}
	if (waitpid(pid, &st, 0) < 0 || st != 0 ||
	    read(p[0], r, sizeof(r)) != sizeof(r))
		return 1;
	pthread_join(t, NULL);
	ok += r[0];
	refused += r[1];
	other += r[2];
	return 0;
}

/* Everything but a governed connect. */
static int
none(void)
{
	struct sockaddr_in any = { .sin_family = AF_INET };
	int fd = socket(AF_INET, SOCK_STREAM, 0), u;
	char c = 0;

	any.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	signal(SIGPIPE, SIG_IGN);
	if (fd < 0 || bind(fd, (struct sockaddr *)&any, sizeof(any)) < 0)
		return 1;
	if (write(fd, &c, 1) >= 0 || read(fd, &c, 1) >= 0)
		return 1;		/* not connected: both must fail */
	close(fd);
	if ((u = socket(AF_INET, SOCK_DGRAM, 0)) < 0 ||
	    connect(u, (struct sockaddr *)&dest, sizeof(dest)) < 0)
		return 1;
	close(u);
	return 0;
}

int
main(int argc, char **argv)
{
	struct sigaction sa;
	int r;

	if (argc < 3)
		goto usage;
	dest.sin_family = AF_INET;
	dest.sin_port = htons((uint16_t)atoi(argv[argc - 1]));
	dest.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	memset(&sa, 0, sizeof(sa));
	if (strcmp(argv[1], "signal") == 0) {
		sa.sa_handler = on_usr1;
		sigaction(SIGUSR1, &sa, NULL);
		raise(SIGUSR1);
	}
	if (strcmp(argv[1], "threads") == 0 && argc == 4)
		r = threads(atoi(argv[2]));
	else if (strcmp(argv[1], "fork") == 0 && argc == 3)
		r = forked();
	else if (strcmp(argv[1], "forkinit") == 0 && argc == 3)
		r = forkinit();
	else if (strcmp(argv[1], "signal") == 0 && argc == 3)
		r = 0;
	else if (strcmp(argv[1], "none") == 0 && argc == 3)
		r = none();
	else
		goto usage;
	if (r != 0) {
		fprintf(stderr, "firstconnect: %s failed\n", argv[1]);
		return r;
	}
	printf("ok=%d refused=%d other=%d\n", ok, refused, other);
	return 0;
usage:
	fprintf(stderr, "usage: firstconnect threads T PORT | fork PORT | "
		"forkinit PORT | signal PORT | none PORT\n");
	return 2;
}
