/*
 * edges - corner cases of what counts, each one a mode; prints what the
 * program saw (the bats test reads the breaker with cbctl).
 *
 *   edges unspec PORT      non-blocking connect to 127.0.0.1:PORT left in
 *                          progress, then connect(AF_UNSPEC), then close
 *   edges zeroread PORT    non-blocking connect in progress, read(fd, 0
 *                          bytes), then close: the attempt is abandoned
 *   edges badaddr          connect() with a bad pointer and length 0
 *   edges short6 PORT      connect to [::1]:PORT with the 24-byte
 *                          RFC 2133 sockaddr_in6
 *   edges fortified PORT   non-blocking connect, poll, then read() as a
 *                          _FORTIFY_SOURCE build calls it (__read_chk)
 *                          until it fails
 */
#define _FORTIFY_SOURCE 2
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static int
pending(int port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET,
				  .sin_port = htons((uint16_t)port) };
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fcntl(fd, F_SETFL, O_NONBLOCK);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 ||
	    errno != EINPROGRESS)
		printf("connect: %s\n", strerror(errno));
	return fd;
}

int
main(int argc, char **argv)
{
	struct sockaddr sa0 = { .sa_family = AF_UNSPEC };
	struct sockaddr_in6 s6 = { .sin6_family = AF_INET6 };
	struct pollfd p;
	size_t n = argc > 3 ? (size_t)atoi(argv[3]) : 64;	/* <= 64 */
	char buf[64];
	ssize_t r;
	int fd;

	if (argc < 2)
		return 2;
	if (strcmp(argv[1], "unspec") == 0 && argc > 2) {
		fd = pending(atoi(argv[2]));
		printf("unspec: %d\n", connect(fd, &sa0, sizeof(sa0)));
		close(fd);
	} else if (strcmp(argv[1], "zeroread") == 0 && argc > 2) {
		fd = pending(atoi(argv[2]));
		printf("zeroread: %zd\n", read(fd, buf, 0));
		usleep(50000);
		close(fd);
	} else if (strcmp(argv[1], "badaddr") == 0) {
		fd = socket(AF_INET, SOCK_STREAM, 0);
		r = connect(fd, (struct sockaddr *)8, 0);
		printf("badaddr: %zd %s\n", r, r < 0 ? strerror(errno) : "");
		close(fd);
	} else if (strcmp(argv[1], "short6") == 0 && argc > 2) {
		fd = socket(AF_INET6, SOCK_STREAM, 0);
		s6.sin6_port = htons((uint16_t)atoi(argv[2]));
		s6.sin6_addr = in6addr_loopback;
		r = connect(fd, (struct sockaddr *)&s6, 24);
		printf("short6: %zd %s\n", r, r < 0 ? strerror(errno) : "ok");
		close(fd);
	} else if (strcmp(argv[1], "fortified") == 0 && argc > 2) {
		fd = pending(atoi(argv[2]));
		p.fd = fd;
		p.events = POLLOUT;
		poll(&p, 1, 2000);
		fcntl(fd, F_SETFL, 0);
		/* n is not known at compile time: read() is __read_chk */
		while ((r = read(fd, buf, n)) > 0)
			;
		printf("fortified: %zd %s\n", r, r < 0 ? strerror(errno) : "");
		close(fd);
	} else {
		return 2;
	}
	return 0;
}
