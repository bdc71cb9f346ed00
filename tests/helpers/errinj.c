/*
 * errinj - run a program with some system calls failing with a chosen
 * errno, so the tests can make the kernel answer connect() with EMFILE,
 * ENOBUFS or an errno nobody expects, or make the shim's own segment
 * creation fail (ftruncate, fallocate, link, fchmod: /dev/shm full,
 * quota, a read-only mount), and check that the program gets exactly the
 * kernel's answer and that nothing is counted or left behind.
 *
 * usage: errinj SYSCALL:ERRNO[,SYSCALL:ERRNO...] PROG [ARG...]
 *   SYSCALL is one of connect, ftruncate, fallocate, link, linkat, fchmod,
 *   getsockopt, getpeername, mmap-shared (mmap with MAP_SHARED only),
 *   poll, ppoll;
 *   ERRNO a number or one of the names below.  The filter is a seccomp
 *   SECCOMP_RET_ERRNO program (no_new_privs is set first), so it holds
 *   from the first instruction of PROG, the shim's constructor included.
 * Exit status: PROG's, or 127 when it cannot be run, 2 on bad usage.
 */
#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#if defined(__x86_64__)
#define ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define ARCH AUDIT_ARCH_AARCH64
#else
#error "errinj: unknown architecture"
#endif

#define MAXRULES 16

static const struct {
	const char *name;
	int nr;
} calls[] = {
	{ "connect", __NR_connect }, { "ftruncate", __NR_ftruncate },
	{ "fallocate", __NR_fallocate }, { "linkat", __NR_linkat },
#ifdef __NR_link
	{ "link", __NR_link },
#else
	{ "link", __NR_linkat },
#endif
	{ "fchmod", __NR_fchmod }, { "getsockopt", __NR_getsockopt },
	{ "getpeername", __NR_getpeername }, { "mmap-shared", __NR_mmap },
#ifdef __NR_poll
	{ "poll", __NR_poll },
#else
	{ "poll", __NR_ppoll },
#endif
	{ "ppoll", __NR_ppoll },
};

static const struct {
	const char *name;
	int e;
} errnos[] = {
	{ "EMFILE", EMFILE }, { "ENFILE", ENFILE }, { "ENOBUFS", ENOBUFS },
	{ "ENOMEM", ENOMEM }, { "EADDRNOTAVAIL", EADDRNOTAVAIL },
	{ "EAGAIN", EAGAIN }, { "EACCES", EACCES }, { "EPERM", EPERM },
	{ "ENOSPC", ENOSPC }, { "EDQUOT", EDQUOT }, { "EROFS", EROFS },
	{ "EIO", EIO }, { "ECONNREFUSED", ECONNREFUSED },
	{ "ETIMEDOUT", ETIMEDOUT }, { "EINVAL", EINVAL },
	{ "EXDEV", EXDEV }, { "ENETDOWN", ENETDOWN },
};

struct rule {
	int nr, e, shared_only;
};

static int
parse(char *spec, struct rule *r, int max)
{
	char *tok, *save = NULL, *colon, *end;
	size_t i;
	int n = 0;

	for (tok = strtok_r(spec, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save)) {
		if (n == max || !(colon = strchr(tok, ':')))
			return -1;
		*colon++ = '\0';
		for (i = 0; i < sizeof(calls) / sizeof(calls[0]); i++)
			if (strcmp(tok, calls[i].name) == 0)
				break;
		if (i == sizeof(calls) / sizeof(calls[0]))
			return -1;
		r[n].nr = calls[i].nr;
		r[n].shared_only = strcmp(tok, "mmap-shared") == 0;
		r[n].e = (int)strtol(colon, &end, 10);
		if (*end || end == colon) {
			for (i = 0; i < sizeof(errnos) / sizeof(errnos[0]); i++)
				if (strcmp(colon, errnos[i].name) == 0)
					break;
			if (i == sizeof(errnos) / sizeof(errnos[0]))
				return -1;
			r[n].e = errnos[i].e;
		}
		if (r[n].e < 1 || r[n].e > 4095)
			return -1;
		n++;
	}
	return n;
}

/* Build: check the arch; per rule, if nr matches (and, for mmap-shared,
 * the flags argument has MAP_SHARED) return ERRNO; else allow. */
static int
install(const struct rule *r, int n)
{
	struct sock_filter f[8 + MAXRULES * 5];
	struct sock_fprog prog;
	int k = 0, i;

	f[k++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
		offsetof(struct seccomp_data, arch));
	f[k++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, ARCH,
		1, 0);
	f[k++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K,
		SECCOMP_RET_ALLOW);
	for (i = 0; i < n; i++) {
		f[k++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
			offsetof(struct seccomp_data, nr));
		if (!r[i].shared_only) {
			f[k++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ |
				BPF_K, (unsigned)r[i].nr, 0, 1);
			f[k++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K,
				SECCOMP_RET_ERRNO | (unsigned)r[i].e);
			continue;
		}
		f[k++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K,
			(unsigned)r[i].nr, 0, 3);
		f[k++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
			offsetof(struct seccomp_data, args[3]));
		f[k++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K,
			MAP_SHARED, 0, 1);
		f[k++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K,
			SECCOMP_RET_ERRNO | (unsigned)r[i].e);
	}
	f[k++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K,
		SECCOMP_RET_ALLOW);
	prog.len = (unsigned short)k;
	prog.filter = f;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
	    prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) < 0) {
		perror("errinj: seccomp");
		return -1;
	}
	return 0;
}

int
main(int argc, char **argv)
{
	struct rule r[MAXRULES];
	int n;

	if (argc < 3 || (n = parse(argv[1], r, MAXRULES)) < 1) {
		fprintf(stderr, "usage: errinj SYSCALL:ERRNO[,...] PROG "
			"[ARG...]\n");
		return 2;
	}
	if (install(r, n) < 0)
		return 127;
	execvp(argv[2], argv + 2);
	perror(argv[2]);
	return 127;
}
