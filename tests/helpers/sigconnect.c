/*
 * sigconnect - connect() from a signal handler while the interrupted
 * thread is itself inside connect(), close() or getsockopt(), i.e. inside
 * the shim.  A deadlock in the shim (a lock, a non-reentrant allocator, a
 * stdio buffer) hangs this program; lost or doubled counts show in the
 * breakers' counters, which the test compares with the exact counts
 * printed here.
 *
 * usage: sigconnect [-n N] [-i USEC] PORT...
 *   The main thread makes N attempts (default 20000), going round the
 *   ports (127.0.0.1) and round three ways: blocking connect; non-blocking
 *   connect settled by SO_ERROR; non-blocking connect closed at once.  An
 *   interval timer (SIGALRM every USEC microseconds, default 50) runs a
 *   handler that makes one blocking attempt to the next port in turn.
 * Prints, per port: "PORT calls=C ok=O refused=R other=E" (main thread
 * and handler together) and "handler=H" attempts made by the handler.
 * Exit 0 when it finished.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#define MAXP 8

static struct sockaddr_in addr[MAXP];
static int nports;
/* written by the main thread with SIGALRM blocked, or by the handler */
static volatile unsigned long calls[MAXP], ok[MAXP], refused[MAXP],
	other[MAXP];
static volatile unsigned long handler_calls;
static volatile unsigned hnext;
static sigset_t alrm;

static void
tally(int i, int e)
{
	if (e == 0)
		ok[i]++;
	else if (e == ECONNREFUSED)
		refused[i]++;
	else
		other[i]++;
}

/* One blocking attempt to port i; async-signal-safe (socket, connect,
 * close).  Returns 0 or the errno of connect. */
static int
blocking(int i)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0), e = 0;

	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&addr[i], sizeof(addr[i])) < 0)
		e = errno;
	close(fd);
	return e;
}

static void
on_alarm(int sig)
{
	int saved = errno, i = (int)(hnext++ % (unsigned)nports), e;

	(void)sig;
	e = blocking(i);
	if (e >= 0) {
		calls[i]++;
		tally(i, e);
		handler_calls++;
	}
	errno = saved;
}

/* The main thread's attempt, way w.  Only the bookkeeping is done with
 * the signal blocked: the calls into the shim are all interruptible. */
static void
attempt(int i, int w)
{
	int fd, e = 0, v = 0;
	socklen_t vl = sizeof(v);
	struct pollfd p;
	sigset_t old;

	if (w == 0) {
		e = blocking(i);
	} else {
		fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
		if (fd < 0)
			return;
		if (connect(fd, (struct sockaddr *)&addr[i],
			    sizeof(addr[i])) < 0)
			e = errno;
		if (e == EINPROGRESS && w == 1) {
			p.fd = fd;
			p.events = POLLOUT;
			while (poll(&p, 1, 1000) < 0 && errno == EINTR)
				;
			while (getsockopt(fd, SOL_SOCKET, SO_ERROR, &v,
					  &vl) < 0 && errno == EINTR)
				;
			e = v;
		} else if (e == EINPROGRESS) {
			e = 0;		/* closed at once: not checked */
		}
		close(fd);
	}
	if (e < 0)
		return;
	sigprocmask(SIG_BLOCK, &alrm, &old);
	calls[i]++;
	if (w == 2)
		other[i]++;	/* outcome unknown to us */
	else
		tally(i, e);
	sigprocmask(SIG_SETMASK, &old, NULL);
}

int
main(int argc, char **argv)
{
	long n = 20000, usec = 50, k;
	struct sigaction sa;
	struct itimerval it;
	int c, i;

	while ((c = getopt(argc, argv, "n:i:")) != -1) {
		switch (c) {
		case 'n': n = atol(optarg); break;
		case 'i': usec = atol(optarg); break;
		default: goto usage;
		}
	}
	if (optind >= argc || argc - optind > MAXP || usec < 1)
		goto usage;
	for (i = optind; i < argc; i++) {
		addr[nports].sin_family = AF_INET;
		addr[nports].sin_port = htons((uint16_t)atoi(argv[i]));
		addr[nports].sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		nports++;
	}
	sigemptyset(&alrm);
	sigaddset(&alrm, SIGALRM);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_alarm;
	sa.sa_flags = SA_RESTART;
	sigaction(SIGALRM, &sa, NULL);
	it.it_interval.tv_sec = 0;
	it.it_interval.tv_usec = usec;
	it.it_value = it.it_interval;
	setitimer(ITIMER_REAL, &it, NULL);
	for (k = 0; k < n; k++)
		attempt((int)(k % nports), (int)((k / nports) % 3));
	sigprocmask(SIG_BLOCK, &alrm, NULL);
	for (i = 0; i < nports; i++)
		printf("%d calls=%lu ok=%lu refused=%lu other=%lu\n",
		       ntohs(addr[i].sin_port), calls[i], ok[i], refused[i],
		       other[i]);
	printf("handler=%lu\n", handler_calls);
	return 0;
usage:
	fprintf(stderr, "usage: sigconnect [-n N] [-i USEC] PORT...\n");
	return 2;
}
