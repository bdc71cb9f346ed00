/*
 * resolver.c - the exported resolver wrappers: getaddrinfo, gethostbyname,
 * gethostbyname2 and their _r forms, which tell the shim the host name a
 * program reached an address through.
 *
 * Each calls the real function and hands back exactly its result and
 * errno; on success it records every IPv4/IPv6 address in the answer
 * under the name the program asked for (names.c), so that the connect
 * path can tell which name an address was reached through.  Numeric
 * addresses are no names and record nothing.  Nothing here touches the
 * segment or the configuration: resolving never starts the shim, and a
 * process that resolves but never connects pays a lookup in static memory.
 *
 * Not seen: programs that resolve without the C library (Go's pure
 * resolver, c-ares users such as node's dns.resolve), and addresses a
 * program cached from an earlier run (cbshim(7)).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <stddef.h>
#include <sys/auxv.h>
#include <sys/socket.h>

#include "names.h"

#define EXPORT __attribute__((visibility("default")))

typedef int (*gai_fn)(const char *, const char *, const struct addrinfo *,
		      struct addrinfo **);
typedef struct hostent *(*ghbn_fn)(const char *);
typedef struct hostent *(*ghbn2_fn)(const char *, int);
typedef int (*ghbnr_fn)(const char *, struct hostent *, char *, size_t,
			struct hostent **, int *);
typedef int (*ghbn2r_fn)(const char *, int, struct hostent *, char *,
			 size_t, struct hostent **, int *);

static void *real_fn(_Atomic(void *) *slot, const char *name);
static int recording(void);
static void record_ai(const char *node, const struct addrinfo *ai);
static void record_he(const char *name, const struct hostent *he);

/* The real function name, found once (dlsym is thread-safe; two threads
 * finding it at once store the same pointer). */
static void *
real_fn(_Atomic(void *) *slot, const char *name)
{
	void *f = atomic_load_explicit(slot, memory_order_acquire);

	if (f == NULL) {
		f = dlsym(RTLD_NEXT, name);
		atomic_store_explicit(slot, f, memory_order_release);
	}
	return f;
}

#define REAL(type, name) \
	static _Atomic(void *) real_##name; \
	type fn = (type)real_fn(&real_##name, #name)

/* 0 in secure-execution mode (setuid etc.): the shim does nothing there. */
static int
recording(void)
{
	static _Atomic int secure = -1;
	int s = atomic_load_explicit(&secure, memory_order_relaxed);

	if (s < 0) {
		s = getauxval(AT_SECURE) != 0;
		atomic_store_explicit(&secure, s, memory_order_relaxed);
	}
	return !s;
}

static void
record_ai(const char *node, const struct addrinfo *ai)
{
	int saved = errno;

	for (; ai && node && recording(); ai = ai->ai_next) {
		if (ai->ai_family == AF_INET && ai->ai_addr &&
		    ai->ai_addrlen >= sizeof(struct sockaddr_in))
			cb_names_record(AF_INET, &((const struct sockaddr_in *)
			    (const void *)ai->ai_addr)->sin_addr, node);
		else if (ai->ai_family == AF_INET6 && ai->ai_addr &&
			 ai->ai_addrlen >= sizeof(struct sockaddr_in6))
			cb_names_record(AF_INET6, &((const struct sockaddr_in6 *)
			    (const void *)ai->ai_addr)->sin6_addr, node);
	}
	errno = saved;
}

static void
record_he(const char *name, const struct hostent *he)
{
	int saved = errno;
	char **a;

	if (he == NULL || name == NULL || he->h_addr_list == NULL ||
	    !recording())
		return;
	for (a = he->h_addr_list; *a; a++)
		if ((he->h_addrtype == AF_INET && he->h_length == 4) ||
		    (he->h_addrtype == AF_INET6 && he->h_length == 16))
			cb_names_record(he->h_addrtype, *a, name);
	errno = saved;
}

EXPORT int
getaddrinfo(const char *node, const char *service,
	    const struct addrinfo *hints, struct addrinfo **res)
{
	REAL(gai_fn, getaddrinfo);
	int r;

	if (fn == NULL)
		return EAI_SYSTEM;
	r = fn(node, service, hints, res);
	if (r == 0 && res)
		record_ai(node, *res);
	return r;
}

EXPORT struct hostent *
gethostbyname(const char *name)
{
	REAL(ghbn_fn, gethostbyname);
	struct hostent *he;

	if (fn == NULL)
		return NULL;
	he = fn(name);
	record_he(name, he);
	return he;
}

EXPORT struct hostent *
gethostbyname2(const char *name, int af)
{
	REAL(ghbn2_fn, gethostbyname2);
	struct hostent *he;

	if (fn == NULL)
		return NULL;
	he = fn(name, af);
	record_he(name, he);
	return he;
}

EXPORT int
gethostbyname_r(const char *name, struct hostent *ret, char *buf,
		size_t len, struct hostent **result, int *h_errnop)
{
	REAL(ghbnr_fn, gethostbyname_r);
	int r;

	if (fn == NULL)
		return ENOSYS;
	r = fn(name, ret, buf, len, result, h_errnop);
	if (r == 0 && result)
		record_he(name, *result);
	return r;
}

EXPORT int
gethostbyname2_r(const char *name, int af, struct hostent *ret, char *buf,
		 size_t len, struct hostent **result, int *h_errnop)
{
	REAL(ghbn2r_fn, gethostbyname2_r);
	int r;

	if (fn == NULL)
		return ENOSYS;
	r = fn(name, af, ret, buf, len, result, h_errnop);
	if (r == 0 && result)
		record_he(name, *result);
	return r;
}
