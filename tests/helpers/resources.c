/*
 * resources - connects at the edges of a process's resources: a socket
 * moved to a high fd number, an fd limit raised after the shim sized its
 * table, no fd left (EMFILE), many destinations.
 *
 * usage: resources [-r LIMIT] [-f FD] [-F FD] [-m block|sockerr] [-n N]
 *                  [-a COUNT] [-W] [-E] [-B] [-M] HOST PORT
 *   -r LIMIT  setrlimit(RLIMIT_NOFILE) to LIMIT (soft and hard) first
 *   -f FD     dup2 each new socket to FD (closing the original) before
 *             connecting on it
 *   -F FD     attempt i uses the socket the process inherited on fd FD+i
 *             (opened by whoever started it, maybe past its fd limit)
 *   -m MODE   block (default): blocking connect; sockerr: non-blocking,
 *             poll, getsockopt(SO_ERROR)
 *   -n N      attempts (default 1)
 *   -a COUNT  go round COUNT IPv4 addresses from HOST up (127.0.0.1,
 *             127.0.0.2, ...), one attempt each per round
 *   -W        first make one blocking connect to HOST PORT, not printed
 *             (the shim initialises on a process's first connect, and
 *             needs a few fds of its own to do it)
 *   -E        first use up every fd (opening /dev/null until EMFILE):
 *             each attempt's socket() fails; then free one fd and make
 *             one more attempt, which must get a socket
 *   -B        before anything else, connect() on fds that are not
 *             sockets or not open: -1, 2147483647, a closed high fd, and
 *             print "bad fd <fd> <ERRNO>" for each
 *   -M        print "shim=yes" or "shim=no": is libcbshim mapped into this
 *             process (so that a test of a setuid copy knows the shim was
 *             really loaded, and refused to act, rather than ignored).  A
 *             mapping is the shim when its file's name (the last path
 *             component) is libcbshim*.so: the directories above it, such
 *             as a checkout named cbshim, say nothing
 * Then prints one line per attempt, "<n> <ok|ERRNO> fd=<fd>" (fd=-1 when
 * socket() failed), except with -a, which prints one summary line:
 * "attempts=N ok=N ECONNREFUSED=N other=N".  Exit 0 when it ran.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

static const char *
ename(int e)
{
	static char buf[32];

	switch (e) {
#define N(x) case x: return #x
	N(ECONNREFUSED); N(ETIMEDOUT); N(EINPROGRESS); N(EBADF);
	N(EMFILE); N(ENFILE); N(EINVAL); N(ECONNRESET); N(ENOTSOCK);
#undef N
	}
	snprintf(buf, sizeof(buf), "E%d", e);
	return buf;
}

/* One attempt (on inherited fd `given' if >= 0); returns 0 or an errno,
 * *fdp the fd used (-1: none). */
static int
attempt(const struct sockaddr_in *sa, int given, int tofd, int sockerr,
	int *fdp)
{
	int fd = given >= 0 ? given : socket(AF_INET, SOCK_STREAM, 0);
	int e = 0, v = 0;
	socklen_t vl = sizeof(v);
	struct pollfd p;

	*fdp = fd;
	if (fd < 0)
		return errno;
	if (tofd >= 0 && tofd != fd) {
		if (dup2(fd, tofd) < 0) {
			e = errno;
			close(fd);
			return e;
		}
		close(fd);
		*fdp = fd = tofd;
	}
	if (sockerr)
		fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	if (connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) < 0)
		e = errno;
	if (sockerr && e == EINPROGRESS) {
		p.fd = fd;
		p.events = POLLOUT;
		poll(&p, 1, 2000);
		getsockopt(fd, SOL_SOCKET, SO_ERROR, &v, &vl);
		e = v;
	}
	close(fd);
	return e;
}

static void
bad_fds(const struct sockaddr_in *sa)
{
	static const int fds[] = { -1, 2147483647, 65000, 1 << 24 };
	size_t i;
	int r;

	for (i = 0; i < sizeof(fds) / sizeof(fds[0]); i++) {
		errno = 0;
		r = connect(fds[i], (const struct sockaddr *)sa, sizeof(*sa));
		printf("bad fd %d %s\n", fds[i], r == 0 ? "ok" : ename(errno));
	}
}

/* is_shim_mapping: does this /proc/self/maps line map libcbshim*.so? */
static int
is_shim_mapping(const char *line)
{
	const char *path = strchr(line, '/'), *name;
	size_t n;

	if (!path)
		return 0;	/* anonymous or [heap], [stack], ... */
	n = strcspn(path, "\n");
	name = path;
	for (const char *p = path; p < path + n; p++)
		if (*p == '/')
			name = p + 1;
	n -= (size_t)(name - path);
	return n >= strlen("libcbshim.so") && strncmp(name, "libcbshim", 9) == 0 &&
	       strncmp(name + n - 3, ".so", 3) == 0;
}

static void
shim_mapped(void)
{
	char line[4096 + 256];
	FILE *f = fopen("/proc/self/maps", "r");
	int yes = 0;

	while (f && fgets(line, sizeof(line), f))
		if (is_shim_mapping(line))
			yes = 1;
	if (f)
		fclose(f);
	printf("shim=%s\n", yes ? "yes" : "no");
}

static void
exhaust(void)
{
	while (open("/dev/null", O_RDONLY) >= 0)
		;
	if (errno != EMFILE)
		perror("resources: open");
}

int
main(int argc, char **argv)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	struct rlimit rl;
	long lim = 0, n = 1, addrs = 0, i, j, okn = 0, refn = 0, oth = 0;
	int tofd = -1, sockerr = 0, emfile = 0, badfd = 0, maps = 0, c, e, fd;
	int inherited = -1, warm = 0;
	uint32_t base;

	while ((c = getopt(argc, argv, "r:f:F:m:n:a:WEBM")) != -1) {
		switch (c) {
		case 'r': lim = atol(optarg); break;
		case 'f': tofd = atoi(optarg); break;
		case 'F': inherited = atoi(optarg); break;
		case 'm': sockerr = strcmp(optarg, "sockerr") == 0; break;
		case 'n': n = atol(optarg); break;
		case 'a': addrs = atol(optarg); break;
		case 'W': warm = 1; break;
		case 'E': emfile = 1; break;
		case 'B': badfd = 1; break;
		case 'M': maps = 1; break;
		default: goto usage;
		}
	}
	if (argc - optind != 2 ||
	    inet_pton(AF_INET, argv[optind], &sa.sin_addr) != 1)
		goto usage;
	sa.sin_port = htons((uint16_t)atoi(argv[optind + 1]));
	if (maps)
		shim_mapped();
	if (badfd)
		bad_fds(&sa);
	if (lim > 0) {
		rl.rlim_cur = rl.rlim_max = (rlim_t)lim;
		if (setrlimit(RLIMIT_NOFILE, &rl) < 0) {
			perror("resources: setrlimit");
			return 1;
		}
	}
	if (warm)
		attempt(&sa, -1, -1, 0, &fd);
	if (emfile)
		exhaust();
	base = ntohl(sa.sin_addr.s_addr);
	for (i = 0; i < n; i++) {
		if (addrs > 0) {
			for (j = 0; j < addrs; j++) {
				sa.sin_addr.s_addr = htonl(base + (uint32_t)j);
				e = attempt(&sa, -1, tofd, sockerr, &fd);
				if (e == 0)
					okn++;
				else if (e == ECONNREFUSED)
					refn++;
				else
					oth++;
			}
			continue;
		}
		e = attempt(&sa, inherited >= 0 ? inherited + (int)i : -1,
			    tofd, sockerr, &fd);
		printf("%ld %s fd=%d\n", i, e ? ename(e) : "ok", fd);
	}
	if (addrs > 0)
		printf("attempts=%ld ok=%ld ECONNREFUSED=%ld other=%ld\n",
		       n * addrs, okn, refn, oth);
	if (emfile) {
		close(3);
		e = attempt(&sa, -1, tofd, sockerr, &fd);
		printf("%ld %s fd=%d\n", n, e ? ename(e) : "ok", fd);
	}
	return 0;
usage:
	fprintf(stderr, "usage: resources [-r LIMIT] [-f FD] [-m MODE] [-n N]"
		" [-F FD] [-a COUNT] [-W] [-E] [-B] [-M] HOST PORT\n");
	return 2;
}
