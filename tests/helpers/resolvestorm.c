/*
 * resolvestorm - threads resolving a name while other threads connect to
 * its address, for the names tests: the resolver wrappers write the
 * shim's per-process name map while the connect path reads it.
 *
 * usage: resolvestorm NAME PORT RESOLVERS CONNECTORS N
 *   resolves NAME once (getaddrinfo, IPv4), then RESOLVERS threads call
 *   getaddrinfo(NAME) and gethostbyname_r(NAME) in a loop while CONNECTORS
 *   threads make N blocking connects each to that address and PORT.
 * Prints "connects C resolves R" (C = CONNECTORS x N attempts made).
 * Exit status 0 when it ran, 1 if NAME does not resolve, 2 on bad usage.
 */
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static const char *name;
static struct sockaddr_in dst;
static long per_thread;
static _Atomic int done;
static _Atomic long connects, resolves;

static void *
resolver(void *arg)
{
	struct addrinfo hints = { .ai_family = AF_INET,
				  .ai_socktype = SOCK_STREAM }, *res;
	struct hostent he, *r;
	char buf[4096];
	int herr;

	(void)arg;
	while (!atomic_load(&done)) {
		if (getaddrinfo(name, NULL, &hints, &res) == 0) {
			freeaddrinfo(res);
			atomic_fetch_add(&resolves, 1);
		}
		if (gethostbyname_r(name, &he, buf, sizeof(buf), &r,
				    &herr) == 0 && r)
			atomic_fetch_add(&resolves, 1);
	}
	return NULL;
}

static void *
connector(void *arg)
{
	long i;
	int fd;

	(void)arg;
	for (i = 0; i < per_thread; i++) {
		fd = socket(AF_INET, SOCK_STREAM, 0);
		if (fd < 0)
			continue;
		connect(fd, (struct sockaddr *)&dst, sizeof(dst));
		atomic_fetch_add(&connects, 1);
		close(fd);
	}
	return NULL;
}

int
main(int argc, char **argv)
{
	struct addrinfo hints = { .ai_family = AF_INET,
				  .ai_socktype = SOCK_STREAM }, *res;
	pthread_t th[64];
	int nr, nc, i;

	if (argc != 6 || (nr = atoi(argv[3])) < 1 || (nc = atoi(argv[4])) < 1
	    || nr + nc > 64 || (per_thread = atol(argv[5])) < 1)
		return fprintf(stderr, "usage: resolvestorm NAME PORT "
			       "RESOLVERS CONNECTORS N\n"), 2;
	name = argv[1];
	if (getaddrinfo(name, argv[2], &hints, &res) != 0)
		return fprintf(stderr, "resolvestorm: %s: no address\n",
			       name), 1;
	memcpy(&dst, res->ai_addr, sizeof(dst));
	freeaddrinfo(res);
	for (i = 0; i < nr; i++)
		pthread_create(&th[i], NULL, resolver, NULL);
	for (i = 0; i < nc; i++)
		pthread_create(&th[nr + i], NULL, connector, NULL);
	for (i = 0; i < nc; i++)
		pthread_join(th[nr + i], NULL);
	atomic_store(&done, 1);
	for (i = 0; i < nr; i++)
		pthread_join(th[i], NULL);
	printf("connects %ld resolves %ld\n", atomic_load(&connects),
	       atomic_load(&resolves));
	return 0;
}
