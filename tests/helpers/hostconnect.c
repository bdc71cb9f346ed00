/*
 * hostconnect - resolve a host name the old way and connect to it, for the
 * names tests: gethostbyname_r (or gethostbyname2_r with -6), then one
 * blocking connect() to the first address and PORT.  Prints one line:
 *
 *   <address> <result>          result: "ok" or the errno number
 *
 * usage: hostconnect [-6] HOST PORT
 * Exit status 0 when it connected or was refused (the result is in the
 * output), 1 when the name did not resolve, 2 on bad usage.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int
main(int argc, char **argv)
{
	struct hostent he, *res = NULL;
	struct sockaddr_storage ss;
	char buf[8192], text[INET6_ADDRSTRLEN];
	int six = argc > 1 && strcmp(argv[1], "-6") == 0, herr = 0, fd, r;
	socklen_t len;

	if (argc != 3 + six)
		return fprintf(stderr, "usage: hostconnect [-6] HOST PORT\n"), 2;
	argv += six;
	if (six)
		r = gethostbyname2_r(argv[1], AF_INET6, &he, buf, sizeof(buf),
				     &res, &herr);
	else
		r = gethostbyname_r(argv[1], &he, buf, sizeof(buf), &res,
				    &herr);
	if (r != 0 || res == NULL || res->h_addr_list[0] == NULL)
		return fprintf(stderr, "hostconnect: %s: no address\n",
			       argv[1]), 1;
	memset(&ss, 0, sizeof(ss));
	if (res->h_addrtype == AF_INET6) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;

		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)atoi(argv[2]));
		memcpy(&s6->sin6_addr, res->h_addr_list[0], 16);
		len = sizeof(*s6);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;

		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)atoi(argv[2]));
		memcpy(&s4->sin_addr, res->h_addr_list[0], 4);
		len = sizeof(*s4);
	}
	inet_ntop(res->h_addrtype, res->h_addr_list[0], text, sizeof(text));
	fd = socket(res->h_addrtype, SOCK_STREAM, 0);
	r = connect(fd, (struct sockaddr *)&ss, len);
	if (r == 0)
		printf("%s ok\n", text);
	else
		printf("%s %d\n", text, errno);
	close(fd);
	return 0;
}
