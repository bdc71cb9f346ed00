/*
 * loop.c - N closed cycles (socket, connect to 127.0.0.1:9, recv to EOF,
 * SO_LINGER, close) against fake.c, 15 times; prints the best ns per
 * cycle, less the time fake.c spent evicting caches.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static uint64_t
mono(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

int
main(int argc, char **argv)
{
	struct sockaddr_in s = { .sin_family = AF_INET, .sin_port = htons(9) };
	struct linger lg = { 1, 0 };
	uint64_t best = UINT64_MAX, t0, f0, d, *fk;
	long n = argc > 1 ? atol(argv[1]) : 10000, i;
	int rep, fd;
	char c;

	inet_pton(AF_INET, "127.0.0.1", &s.sin_addr);
	if (!(fk = dlsym(RTLD_DEFAULT, "fake_ns"))) {
		fprintf(stderr, "loop: preload fake.so\n");
		return 1;
	}
	setenv("FAKE_ON", "1", 1);
	for (rep = 0; rep < 15; rep++) {
		t0 = mono();
		f0 = *fk;
		for (i = 0; i < n; i++) {
			fd = socket(AF_INET, SOCK_STREAM, 0);
			if (connect(fd, (struct sockaddr *)&s, sizeof(s)) < 0) {
				perror("connect");
				return 1;
			}
			while (recv(fd, &c, 1, 0) > 0)
				;
			setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
			close(fd);
		}
		d = mono() - t0 - (*fk - f0);
		if (d < best)
			best = d;
	}
	printf("%.1f\n", (double)best / (double)n);
	return 0;
}
