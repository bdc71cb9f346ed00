/*
 * hostile - programs in the situations the hostile-neighbours review found
 * the shim harming them; each prints what it saw (the bats test checks).
 * With shm.max_breakers = 1, the second destination makes the shim warn.
 *
 *   hostile rand P1            connect to 127.0.0.1:P1 (the shim starts:
 *                              config, segment), then print random() twice
 *                              (the shim must not consume the sequence)
 *   hostile file PATH P1 P2    fd 2 closed and PATH opened in its place
 *                              (a daemon's data file), then connects to
 *                              127.0.0.1:P1 and :P2
 *   hostile pair P1 P2         one end of a socketpair on fd 2, connects,
 *                              then prints how many bytes the other end got
 *   hostile accept P1          an accepted connection lands on fd 2, then
 *                              a connect to 127.0.0.1:P1; prints how many
 *                              bytes the connecting side received
 *   hostile connects P1 P2     only the connects (stderr left alone)
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static void
connect_to(int port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET,
				  .sin_port = htons((uint16_t)port) };
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	connect(fd, (struct sockaddr *)&sa, sizeof(sa));
	close(fd);
}

static long
drain(int fd)
{
	char buf[4096];
	ssize_t n;
	long total = 0;

	fcntl(fd, F_SETFL, O_NONBLOCK);
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		total += n;
	return total;
}

static int
accepted_on_2(int *client)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t len = sizeof(sa);
	int l = socket(AF_INET, SOCK_STREAM, 0);

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(l, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    listen(l, 1) < 0 ||
	    getsockname(l, (struct sockaddr *)&sa, &len) < 0)
		return -1;
	*client = socket(AF_INET, SOCK_STREAM, 0);
	if (connect(*client, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return -1;
	close(2);
	return accept(l, NULL, NULL) == 2 ? 0 : -1;
}

int
main(int argc, char **argv)
{
	int sv[2], client;

	if (argc == 3 && strcmp(argv[1], "rand") == 0) {
		connect_to(atoi(argv[2]));
		printf("%ld %ld\n", random(), random());
	} else if (argc == 5 && strcmp(argv[1], "file") == 0) {
		close(2);
		if (open(argv[2], O_WRONLY | O_CREAT | O_APPEND, 0600) != 2)
			return 1;
		if (write(2, "HEADER", 6) != 6)
			return 1;
		connect_to(atoi(argv[3]));
		connect_to(atoi(argv[4]));
	} else if (argc == 4 && strcmp(argv[1], "pair") == 0) {
		if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0 ||
		    dup2(sv[0], 2) != 2)
			return 1;
		connect_to(atoi(argv[2]));
		connect_to(atoi(argv[3]));
		printf("received %ld\n", drain(sv[1]));
	} else if (argc == 3 && strcmp(argv[1], "accept") == 0) {
		if (accepted_on_2(&client) < 0)
			return 1;
		connect_to(atoi(argv[2]));
		printf("received %ld\n", drain(client));
	} else if (argc == 4 && strcmp(argv[1], "connects") == 0) {
		connect_to(atoi(argv[2]));
		connect_to(atoi(argv[3]));
	} else {
		fprintf(stderr, "usage: hostile rand|file|pair|accept|connects "
			"...\n");
		return 2;
	}
	return 0;
}
