/*
 * server.c - the loopback servers the benchmarks talk to.  Each binds
 * 127.0.0.1 on a port the kernel picks, prints that port on one line and
 * serves until killed:
 *
 *   server accept      accept and close at once; the client knows its
 *                      connection was accepted when recv() sees the EOF
 *   server echo        echo everything back (epoll, one thread)
 *   server hang        a destination that never answers: listen(backlog 0)
 *                      and fill the accept queue with our own connections,
 *                      so the kernel drops every further SYN
 *   server refuse      bind without listen: the kernel answers SYN with RST
 *                      (the port is held so nobody else can take it)
 *
 * Run without the shim: the shim is measured on the client side only.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bench.h"

static int listen_on(int backlog, int do_listen, unsigned *port);
static void serve_accept(int lfd);
static void serve_echo(int lfd);
static void serve_hang(int lfd, unsigned port);

static int
listen_on(int backlog, int do_listen, unsigned *port)
{
	struct sockaddr_in sin;
	socklen_t l = sizeof(sin);
	int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;

	if (fd < 0)
		die("socket: %s", strerror(errno));
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	dest_n(&sin, "127.0.0.1", 0, 0);
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0)
		die("bind: %s", strerror(errno));
	if (do_listen && listen(fd, backlog) < 0)
		die("listen: %s", strerror(errno));
	if (getsockname(fd, (struct sockaddr *)&sin, &l) < 0)
		die("getsockname: %s", strerror(errno));
	*port = ntohs(sin.sin_port);
	return fd;
}

static void
serve_accept(int lfd)
{
	for (;;) {
		int c = accept(lfd, NULL, NULL);

		if (c >= 0)
			close(c);
	}
}

static void
serve_echo(int lfd)
{
	struct epoll_event ev = { .events = EPOLLIN }, evs[64];
	char buf[65536];
	int ep = epoll_create1(0), n, i, fd;
	ssize_t r;

	ev.data.fd = lfd;
	if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev) < 0)
		die("epoll: %s", strerror(errno));
	for (;;) {
		n = epoll_wait(ep, evs, 64, -1);
		for (i = 0; i < n; i++) {
			fd = evs[i].data.fd;
			if (fd == lfd) {
				int c = accept4(lfd, NULL, NULL, SOCK_NONBLOCK);

				if (c < 0)
					continue;
				ev.data.fd = c;
				epoll_ctl(ep, EPOLL_CTL_ADD, c, &ev);
				continue;
			}
			r = read(fd, buf, sizeof(buf));
			if (r > 0 && write(fd, buf, (size_t)r) == r)
				continue;
			if (r < 0 && errno == EAGAIN)
				continue;
			close(fd);	/* EOF or error; epoll forgets it */
		}
	}
}

/* Fill the accept queue: connect to ourselves until a connect no longer
 * completes within 50 ms, i.e. SYNs are being dropped. */
static void
serve_hang(int lfd, unsigned port)
{
	struct sockaddr_in sin;
	int i;

	(void)lfd;
	dest_n(&sin, "127.0.0.1", port, 0);
	for (i = 0; i < 16; i++) {
		int c = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
		struct pollfd p = { .fd = c, .events = POLLOUT };

		if (connect(c, (struct sockaddr *)&sin, sizeof(sin)) == 0)
			continue;
		if (errno != EINPROGRESS)
			die("filler connect: %s", strerror(errno));
		if (poll(&p, 1, 50) == 0) {
			close(c);
			return;
		}
	}
	die("accept queue never filled");
}

int
main(int argc, char **argv)
{
	unsigned port;
	int lfd;

	if (argc != 2)
		die("usage: server accept|echo|hang|refuse");
	if (!strcmp(argv[1], "accept") || !strcmp(argv[1], "echo"))
		lfd = listen_on(4096, 1, &port);
	else if (!strcmp(argv[1], "hang"))
		lfd = listen_on(0, 1, &port);
	else if (!strcmp(argv[1], "refuse"))
		lfd = listen_on(0, 0, &port);
	else
		die("unknown server %s", argv[1]);
	if (!strcmp(argv[1], "hang"))
		serve_hang(lfd, port);
	printf("%u\n", port);
	fflush(stdout);
	if (!strcmp(argv[1], "accept"))
		serve_accept(lfd);
	if (!strcmp(argv[1], "echo"))
		serve_echo(lfd);
	for (;;)
		pause();
}
