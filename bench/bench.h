/*
 * bench.h - small helpers shared by the benchmark programs in bench/:
 * a monotonic nanosecond clock, sorting and order statistics, IPv4
 * address arithmetic (destination i of a series is base + i), a cheap
 * random generator, and a fatal-error exit.
 *
 * Header-only (static functions) because every bench/ C file is built into its
 * own program by the Makefile; there is no bench library to link.
 */
#ifndef CB_BENCH_H
#define CB_BENCH_H

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

static void die(const char *fmt, ...)
	__attribute__((noreturn, format(printf, 1, 2), unused));

static void
die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("bench: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(1);
}

static inline uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Sort v in place and return its q-quantile (0 <= q <= 1). */
static __attribute__((unused)) uint64_t
quantile(uint64_t *v, size_t n, double q)
{
	size_t i;

	if (n == 0)
		return 0;
	qsort(v, n, sizeof(*v), cmp_u64);
	i = (size_t)(q * (double)(n - 1) + 0.5);
	return v[i < n ? i : n - 1];
}

/* xorshift64*: reproducible, cheap, good enough to shuffle the order. */
static __attribute__((unused)) uint64_t
rnd(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 0x2545f4914f6cdd1dull;
}

/* Fill sin with the i-th address after host (host + i, port). */
static __attribute__((unused)) void
dest_n(struct sockaddr_in *sin, const char *host, unsigned port, uint32_t i)
{
	struct in_addr a;

	if (inet_pton(AF_INET, host, &a) != 1)
		die("bad IPv4 address %s", host);
	memset(sin, 0, sizeof(*sin));
	sin->sin_family = AF_INET;
	sin->sin_port = htons((uint16_t)port);
	sin->sin_addr.s_addr = htonl(ntohl(a.s_addr) + i);
}

/* Median cost of an empty pair of clock reads, to subtract. */
static __attribute__((unused)) uint64_t
timer_overhead_ns(void)
{
	uint64_t v[2001];
	size_t i;

	for (i = 0; i < 2001; i++) {
		uint64_t t0 = now_ns();

		v[i] = now_ns() - t0;
	}
	return quantile(v, 2001, 0.5);
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Print "ratio_median M ratio_min A ratio_max B" (sorts r), no newline. */
static __attribute__((unused)) void
print_ratios(double *r, size_t n)
{
	qsort(r, n, sizeof(*r), cmp_double);
	printf("ratio_median %.5f ratio_min %.5f ratio_max %.5f",
	       n % 2 ? r[n / 2] : (r[n / 2 - 1] + r[n / 2]) / 2, r[0], r[n - 1]);
}

static __attribute__((unused)) unsigned long
arg_ul(const char *s, const char *what)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || end == s)
		die("bad %s: %s", what, s);
	return v;
}

#endif
