/*
 * cbclient - a precise TCP client for the tests: makes connect attempts the
 * way different programs do and prints one line per attempt:
 *
 *   <n> <result> <microseconds>     result: "ok" or the errno name
 *
 * usage: cbclient [-m MODE] [-n COUNT] [-t MS] [-w MS] HOST PORT
 *   -m block     blocking connect() (default)
 *   -m sockerr   non-blocking connect, poll for writability, SO_ERROR
 *   -m send      non-blocking connect, poll, then the first send() tells
 *   -m recv      non-blocking connect, poll, then the first recv() tells
 *   -m abandon   non-blocking connect, wait -t MS, close while in progress
 *   -m again     non-blocking connect, poll, then connect() again (EISCONN)
 *   -m close     non-blocking connect, poll, then close() with no I/O
 *   -m closerange  non-blocking connect, wait -t MS, close_range(fd, fd)
 *   -m dup2over  non-blocking connect, wait -t MS, dup2 /dev/null over it
 *   -m fastopen  sendto(MSG_FASTOPEN)
 *   -m udp       a UDP socket's connect() + send()
 *   -m hold      blocking connect, then keep the connection -w MS, sending
 *                a byte every 10 ms (a reset shows as a send failure; one
 *                more send follows the first failure)
 *   -n COUNT     attempts (default 1), -w MS pause between attempts
 * Exit status 0 when it ran (results are in the output), 2 on bad usage.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static const char *
ename(int e)
{
	static char buf[32];

	switch (e) {
#define N(x) case x: return #x
	N(ECONNREFUSED); N(ETIMEDOUT); N(EHOSTUNREACH); N(ENETUNREACH);
	N(ECONNRESET); N(EPIPE); N(EINPROGRESS); N(EALREADY); N(EISCONN);
	N(EAGAIN); N(EINTR); N(EBADF); N(EINVAL); N(EAFNOSUPPORT);
	N(EADDRNOTAVAIL); N(ENOTSOCK); N(EACCES); N(EPERM); N(ENOTCONN);
	N(EMFILE); N(ECONNABORTED);
#undef N
	}
	snprintf(buf, sizeof(buf), "E%d", e);
	return buf;
}

static double
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static int
wait_writable(int fd, int ms)
{
	struct pollfd p = { .fd = fd, .events = POLLOUT };

	return poll(&p, 1, ms);
}

static int
attempt(const char *mode, const struct sockaddr *sa, socklen_t len,
	int family, int tmo, int hold)
{
	int udp = strcmp(mode, "udp") == 0;
	int fd = socket(family, udp ? SOCK_DGRAM : SOCK_STREAM, 0);
	int r, e = 0, v = 0;
	socklen_t vl = sizeof(v);
	char c = 'x';

	if (fd < 0)
		return errno;
	if (strcmp(mode, "block") == 0 || strcmp(mode, "hold") == 0) {
		r = connect(fd, sa, len);
		e = r < 0 ? errno : 0;
		if (!e && hold) {
			double end = now_us() + hold * 1000.0;

			while (now_us() < end) {
				if (send(fd, &c, 1, MSG_NOSIGNAL) < 0) {
					e = errno;
					/* a second failure on the same
					 * connection must not count again */
					(void)send(fd, &c, 1, MSG_NOSIGNAL);
					break;
				}
				usleep(10000);
			}
		}
	} else if (udp) {
		r = connect(fd, sa, len);
		e = r < 0 ? errno : 0;
		if (!e && send(fd, &c, 1, 0) < 0)
			e = errno;
	} else if (strcmp(mode, "fastopen") == 0) {
		r = (int)sendto(fd, &c, 1, MSG_FASTOPEN | MSG_NOSIGNAL, sa,
				len);
		e = r < 0 ? errno : 0;
	} else {
		fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
		r = connect(fd, sa, len);
		e = r < 0 ? errno : 0;
		if (e == EINPROGRESS) {
			if (strcmp(mode, "abandon") == 0) {
				usleep((useconds_t)tmo * 1000);
				close(fd);
				return ETIMEDOUT;
			}
			if (strcmp(mode, "closerange") == 0) {
				usleep((useconds_t)tmo * 1000);
				close_range((unsigned)fd, (unsigned)fd, 0);
				return ETIMEDOUT;
			}
			if (strcmp(mode, "dup2over") == 0) {
				int nul = open("/dev/null", O_WRONLY);

				usleep((useconds_t)tmo * 1000);
				dup2(nul, fd);
				close(nul);
				e = write(fd, &c, 1) == 1 ? ETIMEDOUT : errno;
				close(fd);
				return e;
			}
			wait_writable(fd, tmo);
			if (strcmp(mode, "sockerr") == 0) {
				getsockopt(fd, SOL_SOCKET, SO_ERROR, &v, &vl);
				e = v;
			} else if (strcmp(mode, "send") == 0) {
				e = send(fd, &c, 1, MSG_NOSIGNAL) < 0 ? errno
								      : 0;
			} else if (strcmp(mode, "recv") == 0) {
				r = (int)recv(fd, &c, 1, MSG_DONTWAIT);
				e = r < 0 && errno != EAGAIN ? errno : 0;
			} else if (strcmp(mode, "close") == 0) {
				e = 0;		/* settled by close() below */
			} else if (strcmp(mode, "again") == 0) {
				r = connect(fd, sa, len);
				e = r < 0 && errno != EISCONN ? errno : 0;
			}
		}
	}
	close(fd);
	return e;
}

int
main(int argc, char **argv)
{
	const char *mode = "block";
	int n = 1, tmo = 2000, pause = 0, hold = 0, i, c, e;
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *ai;
	double t;

	while ((c = getopt(argc, argv, "m:n:t:w:h:")) != -1) {
		switch (c) {
		case 'm': mode = optarg; break;
		case 'n': n = atoi(optarg); break;
		case 't': tmo = atoi(optarg); break;
		case 'w': pause = atoi(optarg); break;
		case 'h': hold = atoi(optarg); break;
		default:
			fprintf(stderr, "usage: cbclient [-m MODE] [-n N] "
				"[-t MS] [-w MS] [-h MS] HOST PORT\n");
			return 2;
		}
	}
	if (argc - optind != 2) {
		fprintf(stderr, "usage: cbclient [-m MODE] [-n N] [-t MS] "
			"[-w MS] [-h MS] HOST PORT\n");
		return 2;
	}
	hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
	if (getaddrinfo(argv[optind], argv[optind + 1], &hints, &ai) != 0) {
		fprintf(stderr, "cbclient: bad address\n");
		return 2;
	}
	for (i = 0; i < n; i++) {
		t = now_us();
		e = attempt(mode, ai->ai_addr, ai->ai_addrlen, ai->ai_family,
			    tmo, hold);
		printf("%d %s %.0f\n", i, e ? ename(e) : "ok", now_us() - t);
		fflush(stdout);
		if (pause)
			usleep((useconds_t)pause * 1000);
	}
	freeaddrinfo(ai);
	return 0;
}
