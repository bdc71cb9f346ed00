/*
 * fdreuse - an fd that reaches its end behind the shim's back (closed
 * inside libc by fclose) and is reused, without the shim seeing it, first
 * for a pipe and then for another socket.  A send failure on the reused fd
 * must never be charged to the first socket's destination.
 *
 * usage: fdreuse HOST PORT [PORT2]   (PORT: a server that stays up;
 *        PORT2: optional, a server that resets connections)
 * Prints what happened; exit 0 when every step ran as planned.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

static int
dial(const char *host, int port, int raw)
{
	struct sockaddr_in sa = { .sin_family = AF_INET,
				  .sin_port = htons((uint16_t)port) };
	int fd;

	inet_pton(AF_INET, host, &sa.sin_addr);
	fd = raw ? (int)syscall(SYS_socket, AF_INET, SOCK_STREAM, 0)
		 : socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0)
		return -1;
	if ((raw ? syscall(SYS_connect, fd, &sa, sizeof(sa))
		 : connect(fd, (struct sockaddr *)&sa, sizeof(sa))) < 0)
		return -1;
	return fd;
}

int
main(int argc, char **argv)
{
	int s, p[2], r, fd2, i;
	FILE *f;

	if (argc < 3) {
		fprintf(stderr, "usage: fdreuse HOST PORT [PORT2]\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	if ((s = dial(argv[1], atoi(argv[2]), 0)) < 0)
		return perror("connect"), 1;
	/* glibc's fclose closes through an internal path, not close() */
	f = fdopen(s, "r+");
	fclose(f);
	if (syscall(SYS_pipe2, p, 0) < 0)
		return perror("pipe2"), 1;
	syscall(SYS_close, p[0]);
	if (p[1] != s && syscall(SYS_dup3, p[1], s, 0) < 0)
		return perror("dup3"), 1;
	if (p[1] != s)
		syscall(SYS_close, p[1]);
	r = (int)write(s, "x", 1);
	printf("%s on reused fd %d\n", r < 0 ? strerror(errno) : "wrote", s);
	if (r < 0 && errno == EPIPE)
		printf("EPIPE on reused fd\n");
	syscall(SYS_close, s);
	if (argc > 3) {
		/* the same number, now another socket the shim never saw */
		if ((fd2 = dial(argv[1], atoi(argv[3]), 1)) != s)
			return fprintf(stderr, "fd %d != %d\n", fd2, s), 1;
		for (i = 0; i < 200; i++) {
			if (send(fd2, "x", 1, MSG_NOSIGNAL) < 0) {
				printf("%s on reused socket\n",
				       strerror(errno));
				break;
			}
			usleep(10000);
		}
	}
	return 0;
}
