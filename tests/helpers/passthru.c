/*
 * passthru - every interposed call on the paths where the shim does not
 * reject, each printed as "case: return errno-name"; run once with the
 * shim preloaded and once without, the two outputs must be the same
 * (tests/passthru.bats diffs them).  errno is set to EDOM before each
 * call, so a call that succeeds must leave it there, as libc does.
 *
 *   passthru diff          every case below, on loopback servers of its own
 *   passthru keep MODE PORT  a non-blocking connect to 127.0.0.1:PORT (whose
 *                          breaker the test opened: rejected, EINPROGRESS),
 *                          then MODE, then SO_ERROR, which must still be
 *                          the refusal: dup2self, dup3bad, rangebad,
 *                          vforkclose, vforkdup2
 *   passthru biglen PORT   a connect to 127.0.0.1:PORT (breaker open) with
 *                          a longer address than any: EINVAL, then with
 *                          the right length: rejected
 *   passthru reuse MODE PORT  the same rejected socket, closed unseen
 *                          (MODE fclose: fdopen, fclose) or by closefrom(-1)
 *                          (MODE closefrom; glibc closes from 0), then a
 *                          file on its number: its write must work (exit
 *                          status 0), not fail with the old refusal
 *   passthru await MODE    a connection to a listener of its own, a request
 *                          sent, then one blocking read(), printed; run
 *                          with response_timeout set.  MODE late: the
 *                          answer came, the read starts after the deadline;
 *                          restart: SA_RESTART alarms every 50 ms, the
 *                          answer from the 6th; crashhandler: the same
 *                          with a SIGSEGV handler without SA_RESTART (it
 *                          cannot interrupt a wait); silent: the same alarms, no
 *                          answer; norestart: one alarm without SA_RESTART;
 *                          oneshot: the same, its handler SA_RESETHAND;
 *                          rcvtimeo: one SA_RESTART alarm on a socket with
 *                          its own (longer) SO_RCVTIMEO; ownshort, ownlong:
 *                          no answer, the socket's own SO_RCVTIMEO 200 ms
 *                          or 5 s
 *
 * Numbers that differ from run to run (fd numbers) print as "fd".
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef CLOSE_RANGE_UNSHARE
#define CLOSE_RANGE_UNSHARE (1U << 1)
#endif
#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

ssize_t __read_chk(int fd, void *buf, size_t n, size_t buflen);
ssize_t __recv_chk(int fd, void *buf, size_t n, size_t buflen, int flags);
ssize_t __recvfrom_chk(int fd, void *buf, size_t n, size_t buflen, int flags,
		       struct sockaddr *sa, socklen_t *len);

static struct sockaddr_in lst_sa, hole_sa, dead_sa;
static int lst;
static volatile int neg = -1;	/* not constants: no warning */
static struct iovec *volatile no_iov;

static void
show(const char *what, long r, int e, int isfd)
{
	const char *n = strerrorname_np(e);

	if (isfd && r >= 0)
		printf("%s: fd %s\n", what, n ? n : "0");
	else
		printf("%s: %ld %s\n", what, r, n ? n : "0");
}

/* T: a call returning a number; F: one returning an fd */
#define T(what, expr) do {						\
	long r_; int e_;						\
	errno = EDOM; r_ = (long)(expr); e_ = errno;			\
	show((what), r_, e_, 0);					\
} while (0)
#define F(what, expr) do {						\
	long r_; int e_;						\
	errno = EDOM; r_ = (long)(expr); e_ = errno;			\
	show((what), r_, e_, 1);					\
} while (0)

static struct sockaddr_in
loopback(int port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET,
				  .sin_port = htons((uint16_t)port) };

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	return sa;
}

static int
listener(int backlog, struct sockaddr_in *sa)
{
	socklen_t l = sizeof(*sa);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	*sa = loopback(0);
	if (fd < 0 || bind(fd, (struct sockaddr *)sa, l) < 0 ||
	    listen(fd, backlog) < 0 ||
	    getsockname(fd, (struct sockaddr *)sa, &l) < 0) {
		perror("listener");
		exit(2);
	}
	return fd;
}

static int
tcp(int nonblock)
{
	return socket(AF_INET, SOCK_STREAM | (nonblock ? SOCK_NONBLOCK : 0), 0);
}

#define SA(s) ((const struct sockaddr *)&(s))

/* the next connection on the (non-blocking) listener, within 5 s (no
 * poll: a test makes poll fail) */
static int
take(void)
{
	int i, fd;

	for (i = 0; i < 500; i++) {
		if ((fd = accept(lst, NULL, NULL)) >= 0)
			return fd;
		usleep(10 * 1000);
	}
	fprintf(stderr, "nothing to accept\n");
	exit(2);
}

/* accept and close whatever waits on the listener */
static void
drain(void)
{
	int fd;

	while ((fd = accept(lst, NULL, NULL)) >= 0)
		close(fd);
}

/* a connected pair: *peer is the accepted end */
static int
pair(int *peer)
{
	int c = tcp(0);

	if (connect(c, SA(lst_sa), sizeof(lst_sa)) < 0) {
		perror("connect");
		exit(2);
	}
	*peer = take();
	return c;
}

/* every I/O call on fd (names prefixed by tag) */
static void
io_calls(const char *tag, int fd)
{
	char buf[64], name[96];
	struct iovec iov = { buf, sizeof(buf) };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct mmsghdr mm = { .msg_hdr = m };
	int v = 1, flags = MSG_DONTWAIT | MSG_NOSIGNAL;
	socklen_t l = sizeof(v);

	memset(buf, 'x', sizeof(buf));
#define N(s) (snprintf(name, sizeof(name), "%s %s", tag, s), name)
	T(N("connect"), connect(fd, SA(dead_sa), sizeof(dead_sa)));
	T(N("send"), send(fd, buf, 1, flags));
	T(N("sendto"), sendto(fd, buf, 1, flags, NULL, 0));
	T(N("sendmsg"), sendmsg(fd, &m, flags));
	T(N("sendmmsg"), sendmmsg(fd, &mm, 1, flags));
	T(N("recv"), recv(fd, buf, sizeof(buf), MSG_DONTWAIT));
	T(N("recvfrom"), recvfrom(fd, buf, sizeof(buf), MSG_DONTWAIT, NULL,
				  NULL));
	T(N("recvmsg"), recvmsg(fd, &m, MSG_DONTWAIT));
	T(N("__recv_chk"), __recv_chk(fd, buf, 8, sizeof(buf), MSG_DONTWAIT));
	T(N("__recvfrom_chk"), __recvfrom_chk(fd, buf, 8, sizeof(buf),
					     MSG_DONTWAIT, NULL, NULL));
	T(N("getsockopt"), getsockopt(fd, SOL_SOCKET, SO_ERROR, &v, &l));
	T(N("ioctl FIONBIO"), ioctl(fd, FIONBIO, &v));
	T(N("fcntl F_GETFL"), fcntl(fd, F_GETFL) & O_NONBLOCK);
	T(N("fcntl F_SETFL"), fcntl(fd, F_SETFL, O_NONBLOCK));
	T(N("write"), write(fd, buf, 1));
	T(N("writev"), writev(fd, &iov, 1));
	T(N("read"), read(fd, buf, sizeof(buf)));
	T(N("readv"), readv(fd, &iov, 1));
	T(N("__read_chk"), __read_chk(fd, buf, 8, sizeof(buf)));
#undef N
}

/* calls that create, replace or end fds, on fd */
static void
fd_calls(const char *tag, int fd)
{
	char name[96];
	int spare = dup(0);

#define N(s) (snprintf(name, sizeof(name), "%s %s", tag, s), name)
	F(N("dup"), dup(fd));
	F(N("dup2"), dup2(fd, spare));
	F(N("dup3"), dup3(fd, spare, O_CLOEXEC));
	F(N("dup2 onto"), dup2(spare, fd));
	F(N("fcntl F_DUPFD"), fcntl(fd, F_DUPFD, 0));
	T(N("fdopen"), fdopen(fd, "r") != NULL);
	T(N("close"), close(fd));
	T(N("close again"), close(fd));
#undef N
	close(spare);
}

static void
bad_fds(void)
{
	struct rlimit rl;
	int closed = dup(0), bad[5], i;
	char tag[32];

	close(closed);
	getrlimit(RLIMIT_NOFILE, &rl);
	bad[0] = -1;
	bad[1] = closed;
	bad[2] = (int)rl.rlim_cur;
	bad[3] = 1 << 22;
	bad[4] = INT_MAX;
	for (i = 0; i < 5; i++) {
		snprintf(tag, sizeof(tag), "bad%d", i);
		io_calls(tag, bad[i]);
		fd_calls(tag, bad[i]);
		T("close_range bad", close_range((unsigned)bad[i],
						 (unsigned)bad[i], 0));
	}
}

static void
other_fds(void)
{
	int p[2], sv[2], fd;

	if (pipe(p) < 0 || socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0)
		exit(2);
	io_calls("pipe-w", p[1]);
	io_calls("pipe-r", p[0]);
	fd_calls("pipe-r", p[0]);
	close(p[1]);
	fd = open("/dev/null", O_RDWR);
	io_calls("devnull", fd);
	fd_calls("devnull", fd);
	fd = eventfd(0, EFD_NONBLOCK);
	io_calls("eventfd", fd);
	close(fd);
	io_calls("unix", sv[0]);
	fd_calls("unix", sv[0]);
	close(sv[1]);
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	T("udp connect", connect(fd, SA(lst_sa), sizeof(lst_sa)));
	io_calls("udp", fd);
	fd_calls("udp", fd);
	fd = socket(AF_INET6, SOCK_DGRAM, 0);
	io_calls("udp6", fd);
	close(fd);
	fd = socket(AF_INET, SOCK_RAW, IPPROTO_ICMP);	/* EPERM unless root */
	T("raw", fd >= 0);
	if (fd >= 0) {
		T("raw connect", connect(fd, SA(lst_sa), sizeof(lst_sa)));
		close(fd);
	}
}

/* connect's arguments on fresh, unconnected TCP sockets */
static void
addresses(void)
{
	struct sockaddr_storage big = { 0 };
	struct sockaddr_in6 s6 = { .sin6_family = AF_INET6 };
	struct sockaddr odd = { .sa_family = 250 };
	struct sockaddr un = { .sa_family = AF_UNSPEC };
	int fd;

	memcpy(&big, &lst_sa, sizeof(lst_sa));
#define FRESH(what, expr) do {						\
	fd = tcp(0);							\
	T(what, expr);							\
	close(fd);							\
	drain();							\
} while (0)
	FRESH("connect NULL", connect(fd, NULL, sizeof(lst_sa)));
	FRESH("connect NULL 0", connect(fd, NULL, 0));
	FRESH("connect len 0", connect(fd, SA(lst_sa), 0));
	FRESH("connect len 1", connect(fd, SA(lst_sa), 1));
	FRESH("connect len 8", connect(fd, SA(lst_sa), 8));
	FRESH("connect len 200", connect(fd, SA(big), 200));
	FRESH("connect len max", connect(fd, SA(big), sizeof(big)));
	FRESH("connect len -1", connect(fd, SA(big), (socklen_t)-1));
	FRESH("connect inet6 on inet", connect(fd, SA(s6), sizeof(s6)));
	FRESH("connect family 250", connect(fd, &odd, sizeof(odd)));
	FRESH("connect unspec", connect(fd, &un, sizeof(un)));
	FRESH("connect unspec short", connect(fd, &un, 1));
	FRESH("connect refused", connect(fd, SA(dead_sa), sizeof(dead_sa)));
	fd = tcp(0);
	T("refused", connect(fd, SA(dead_sa), sizeof(dead_sa)));
	T("refused again", connect(fd, SA(dead_sa), sizeof(dead_sa)));
	T("refused then good", connect(fd, SA(lst_sa), sizeof(lst_sa)));
	T("good again (EISCONN)", connect(fd, SA(lst_sa), sizeof(lst_sa)));
	T("unspec on connected", connect(fd, &un, sizeof(un)));
	T("send after unspec", send(fd, "x", 1, MSG_NOSIGNAL));
	T("reconnect after unspec", connect(fd, SA(lst_sa), sizeof(lst_sa)));
	T("send after reconnect", send(fd, "x", 1, MSG_NOSIGNAL));
	close(fd);
#undef FRESH
	drain();
}

static int uto_of(int fd)
{
	int v = -1;
	socklen_t l = sizeof(v);

	getsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &v, &l);
	return v;
}

static void
on_alarm(int sig)
{
	(void)sig;
}

/* connects that stay in progress (the black hole: a listener whose
 * accept queue is full drops SYNs), retried, interrupted, dissolved */
static void
in_progress(void)
{
	struct sockaddr un = { .sa_family = AF_UNSPEC };
	struct sigaction sa = { .sa_handler = on_alarm };
	struct itimerval it = { { 0, 0 }, { 0, 100 * 1000 } };
	int fd = tcp(1), v = 0, own = 700;
	socklen_t l = sizeof(v);

	T("hole", connect(fd, SA(hole_sa), sizeof(hole_sa)));
	T("hole again", connect(fd, SA(hole_sa), sizeof(hole_sa)));
	T("hole SO_ERROR", getsockopt(fd, SOL_SOCKET, SO_ERROR, &v, &l) + v);
	T("hole send", send(fd, "x", 1, MSG_NOSIGNAL));
	T("hole recv", recv(fd, &v, 1, 0));
	T("hole read 0", read(fd, &v, 0));
	T("hole unspec", connect(fd, &un, sizeof(un)));
	T("hole uto after unspec", uto_of(fd));
	T("hole SO_ERROR after unspec",
	  getsockopt(fd, SOL_SOCKET, SO_ERROR, &v, &l) + v);
	T("hole send after unspec", send(fd, "x", 1, MSG_NOSIGNAL));
	close(fd);

	/* a blocking connect interrupted (no SA_RESTART), asked again */
	sigaction(SIGALRM, &sa, NULL);
	fd = tcp(0);
	setitimer(ITIMER_REAL, &it, NULL);
	T("hole blocking EINTR", connect(fd, SA(hole_sa), sizeof(hole_sa)));
	fcntl(fd, F_SETFL, O_NONBLOCK);
	T("hole retry", connect(fd, SA(hole_sa), sizeof(hole_sa)));
	T("hole retry again", connect(fd, SA(hole_sa), sizeof(hole_sa)));
	close(fd);

	/* SA_RESTART: the kernel restarts it; the program's own
	 * TCP_USER_TIMEOUT ends it */
	sa.sa_flags = SA_RESTART;
	sigaction(SIGALRM, &sa, NULL);
	fd = tcp(0);
	setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &own, sizeof(own));
	setitimer(ITIMER_REAL, &it, NULL);
	T("hole blocking restarted", connect(fd, SA(hole_sa), sizeof(hole_sa)));
	T("hole own uto kept", uto_of(fd));
	close(fd);
	signal(SIGALRM, SIG_DFL);
}

/* flags and sizes on an established connection */
static void
established(void)
{
	char buf[64] = "hello";
	struct iovec iov = { buf, 0 };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct linger lg = { 1, 0 };
	int peer, own = 60000, fd = tcp(0);

	setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &own, sizeof(own));
	T("est connect", connect(fd, SA(lst_sa), sizeof(lst_sa)));
	peer = take();
	T("est own uto", uto_of(fd));
	T("est read 0", read(fd, buf, 0));
	T("est readv 0", readv(fd, &iov, 1));
	T("est readv cnt 0", readv(fd, &iov, 0));
	T("est readv cnt -1", readv(fd, &iov, neg));
	T("est readv NULL", readv(fd, no_iov, 1));
	T("est recv 0 dontwait", recv(fd, buf, 0, MSG_DONTWAIT));
	T("est recv oob", recv(fd, buf, 1, MSG_OOB));
	T("est recv errqueue", recv(fd, buf, 1, MSG_ERRQUEUE));
	T("est recvmsg NULL", recvmsg(fd, NULL, 0));
	T("est peek dontwait", recv(fd, buf, 1, MSG_PEEK | MSG_DONTWAIT));
	T("est send 0", send(fd, buf, 0, 0));
	T("est write 0", write(fd, buf, 0));
	T("est sendmsg empty", sendmsg(fd, &m, 0));
	T("est sendmmsg 0", sendmmsg(fd, NULL, 0, 0));
	T("est writev cnt 0", writev(fd, &iov, 0));
	T("peer send", send(peer, "hi", 2, 0));
	T("est peek", recv(fd, buf, sizeof(buf), MSG_PEEK));
	T("est recv", recv(fd, buf, sizeof(buf), 0));
	T("est recv 0 dontwait after", recv(fd, buf, 0, MSG_DONTWAIT));
	T("est send", send(fd, "x", 1, MSG_NOSIGNAL));
	T("est own uto still", uto_of(fd));
	setsockopt(peer, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	close(peer);		/* a reset */
	usleep(20000);
	T("est send after reset", send(fd, "x", 1, MSG_NOSIGNAL));
	T("est send again", send(fd, "x", 1, MSG_NOSIGNAL));
	T("est recv after reset", recv(fd, buf, 1, 0));
	close(fd);
}

/* a first byte still to come (response_timeout in the shimmed run):
 * calls that return at once in the kernel return at once here */
static void
awaiting(void)
{
	char buf[8];
	struct iovec iov = { buf, 0 };
	int peer, fd = pair(&peer), c;

	T("aw send", send(fd, "q", 1, 0));
	T("aw read 0", read(fd, buf, 0));
	T("aw readv 0", readv(fd, &iov, 1));
	T("aw readv cnt 0", readv(fd, &iov, 0));
	T("aw readv cnt -1", readv(fd, &iov, neg));
	T("aw readv NULL", readv(fd, no_iov, 1));
	T("aw __read_chk 0", __read_chk(fd, buf, 0, sizeof(buf)));
	T("aw recv oob", recv(fd, buf, 1, MSG_OOB));
	T("aw recv errqueue", recv(fd, buf, 1, MSG_ERRQUEUE));
	T("aw recvmsg NULL", recvmsg(fd, NULL, 0));
	T("aw recv dontwait", recv(fd, buf, 1, MSG_DONTWAIT));
	/* O_NONBLOCK set through another fd on the same socket */
	c = dup(fd);
	fcntl(c, F_SETFL, O_NONBLOCK);
	T("aw recv nonblock by dup", recv(fd, buf, 1, 0));
	T("aw read nonblock by dup", read(fd, buf, 1));
	fcntl(c, F_SETFL, 0);
	close(c);
	T("aw peer sends", send(peer, "ab", 2, 0));
	T("aw recv 0 with data", recv(fd, buf, 0, 0));
	T("aw read", read(fd, buf, sizeof(buf)));
	close(peer);
	T("aw read eof", read(fd, buf, sizeof(buf)));
	close(fd);
}

/* dup2 over, dup2 onto itself, close_range flags on tracked sockets */
static void
dups(void)
{
	int p[2], peer, fd = pair(&peer), c;

	if (pipe(p) < 0)
		exit(2);
	T("dup2 self", dup2(fd, fd) == fd);
	T("dup3 self", dup3(fd, fd, 0));
	T("dup3 bad flags", dup3(fd, p[0], 0x4000000));
	T("send after dups", send(fd, "x", 1, MSG_NOSIGNAL));
	T("close_range cloexec", close_range((unsigned)fd, (unsigned)fd,
					     CLOSE_RANGE_CLOEXEC));
	T("cloexec set", fcntl(fd, F_GETFD));
	T("close_range bad flags", close_range((unsigned)fd, (unsigned)fd,
					       0x80));
	T("close_range lo > hi", close_range((unsigned)fd + 1,
					     (unsigned)fd, 0));
	T("send still", send(fd, "x", 1, MSG_NOSIGNAL));
	c = dup(fd);
	T("dup2 pipe over socket", dup2(p[1], fd) == fd);
	T("write pipe", write(fd, "x", 1));
	T("getsockopt pipe", getsockopt(fd, SOL_SOCKET, SO_ERROR, &peer,
					&(socklen_t){ sizeof(int) }));
	T("send dup", send(c, "x", 1, MSG_NOSIGNAL));
	T("close_range unshare", close_range((unsigned)c, (unsigned)c,
					     CLOSE_RANGE_UNSHARE));
	T("send closed", send(c, "x", 1, MSG_NOSIGNAL));
	close(fd);
	close(p[0]);
	close(p[1]);
}

/* fork and vfork with a tracked socket */
static void
forks(void)
{
	int peer, fd = pair(&peer), st;
	pid_t pid;

	fflush(stdout);
	if ((pid = fork()) == 0) {
		T("child send", send(fd, "x", 1, MSG_NOSIGNAL));
		T("child close", close(fd));
		fflush(stdout);
		_exit(0);
	}
	waitpid(pid, &st, 0);
	T("parent send", send(fd, "x", 1, MSG_NOSIGNAL));
	if ((pid = vfork()) == 0) {
		close(fd);
		_exit(0);
	}
	waitpid(pid, &st, 0);
	T("parent send after vfork", send(fd, "x", 1, MSG_NOSIGNAL));
	close(fd);
	close(peer);
}

static volatile sig_atomic_t hr[4];

static void
on_usr1(int sig)
{
	int fd = tcp(0), e = errno;

	(void)sig;
	hr[0] = connect(fd, SA(lst_sa), sizeof(lst_sa)) == 0 ? 1 : -errno;
	hr[1] = send(fd, "x", 1, MSG_NOSIGNAL) == 1 ? 1 : -errno;
	hr[2] = close(fd) == 0 ? 1 : -errno;
	hr[3] = close(fd) == 0 ? 1 : -errno;
	errno = e;
}

static void
handler(void)
{
	raise(SIGUSR1);
	printf("handler: %d %d %d %d\n", hr[0], hr[1], hr[2], hr[3]);
	drain();
}

static void
misc(void)
{
	int peer, fd = pair(&peer), v = 0, p[2];
	socklen_t l = 2;
	FILE *f;

	T("ioctl FIONBIO NULL", ioctl(fd, FIONBIO, NULL));
	T("ioctl FIONREAD", ioctl(fd, FIONREAD, &v));
	T("getsockopt NULL len", getsockopt(fd, SOL_SOCKET, SO_ERROR, &v,
					    NULL));
	T("getsockopt NULL val", getsockopt(fd, SOL_SOCKET, SO_ERROR, NULL,
					    &l));
	T("getsockopt short", getsockopt(fd, SOL_SOCKET, SO_ERROR, &v, &l));
	T("getsockopt bad level", getsockopt(fd, 9999, SO_ERROR, &v, &l));
	if (pipe(p) < 0)
		exit(2);
	T("fdopen mode", fdopen(p[0], "w") != NULL);
	f = fdopen(fd, "r+");
	T("fdopen socket", f != NULL);
	T("fclose", fclose(f));
	close(peer);
	close(p[0]);
	close(p[1]);
}

static void
resolver(void)
{
	struct addrinfo hints = { .ai_family = AF_INET,
				  .ai_socktype = SOCK_STREAM }, *res = NULL;
	char buf[8];
	struct hostent he, *hp = NULL;
	int herr = 0;

	T("gai localhost", getaddrinfo("localhost", "80", &hints, &res));
	if (res)
		freeaddrinfo(res);
	T("gai numeric", getaddrinfo("127.0.0.1", "80", &hints, &res));
	if (res)
		freeaddrinfo(res);
	T("gai NULL", getaddrinfo(NULL, NULL, &hints, &res));
	hints.ai_flags = AI_NUMERICHOST;
	T("gai numerichost", getaddrinfo("no such", "80", &hints, &res));
	T("ghbn localhost", gethostbyname("localhost") != NULL);
	T("ghbn_r small", gethostbyname_r("localhost", &he, buf, sizeof(buf),
					  &hp, &herr));
}

/* the breaker for 127.0.0.1:port is open (the test tripped it): a
 * rejected non-blocking socket */
static int
rejected(int port)
{
	struct sockaddr_in sa = loopback(port);
	int fd = tcp(1);

	if (connect(fd, SA(sa), sizeof(sa)) == 0 || errno != EINPROGRESS) {
		printf("not rejected: %s\n", strerror(errno));
		exit(2);
	}
	return fd;
}

static int
keep(const char *mode, int port)
{
	int fd = rejected(port), p[2], v = 0;
	socklen_t l = sizeof(v);
	pid_t pid;

	if (pipe(p) < 0)
		return 2;
	if (strcmp(mode, "dup2self") == 0)
		T("dup2self", dup2(fd, fd) == fd);
	else if (strcmp(mode, "dup3bad") == 0)
		T("dup3bad", dup3(p[0], fd, 0x4000000));
	else if (strcmp(mode, "rangebad") == 0)
		T("rangebad", close_range((unsigned)fd, (unsigned)fd, 0x80));
	else if (strcmp(mode, "vforkclose") == 0 ||
		 strcmp(mode, "vforkdup2") == 0) {
		if ((pid = vfork()) == 0) {
			if (mode[5] == 'c')
				close(fd);
			else
				dup2(p[0], fd);
			_exit(0);
		}
		waitpid(pid, NULL, 0);
	} else
		return 2;
	T("SO_ERROR", getsockopt(fd, SOL_SOCKET, SO_ERROR, &v, &l));
	printf("%s\n", strerrorname_np(v) ? strerrorname_np(v) : "0");
	return 0;
}

/* the rejected socket's fd closed unseen, then reused by a file (opened
 * until one gets its number: open() is not followed by the shim, so an
 * entry left behind would still be there) */
static int
reuse(const char *mode, int port)
{
	int fd = rejected(port), f;

	if (strcmp(mode, "closefrom") == 0)
		closefrom(-1);
	else if (strcmp(mode, "fclose") == 0)
		fclose(fdopen(fd, "r+"));
	else
		return 2;
	while ((f = open("/dev/null", O_WRONLY)) >= 0 && f < fd)
		;
	if (f != fd)
		return 3;
	return write(fd, "x", 1) == 1 ? 0 : 1;
}

/* a connect to 127.0.0.1:port (breaker open) with an address longer
 * than any: the kernel's EINVAL, no rejection */
static int
biglen(int port)
{
	struct sockaddr_storage big[2];
	struct sockaddr_in sa = loopback(port);
	int fd = tcp(0);

	memset(big, 0, sizeof(big));
	memcpy(big, &sa, sizeof(sa));
	T("biglen", connect(fd, (struct sockaddr *)big, sizeof(big)));
	T("right len", connect(fd, (struct sockaddr *)big, sizeof(sa)));
	return 0;
}

static int aw_peer, aw_ticks;

static void
on_tick(int sig)
{
	int e = errno;

	(void)sig;
	if (++aw_ticks == 6 && aw_peer >= 0)
		send(aw_peer, "ab", 2, MSG_NOSIGNAL);
	errno = e;
}

static int
await(const char *mode)
{
	struct sigaction sa = { .sa_handler = on_tick,
				.sa_flags = SA_RESTART };
	struct itimerval it = { { 0, 50 * 1000 }, { 0, 50 * 1000 } };
	struct timeval own = { 5, 0 };
	char buf[8];
	int fd, peer;

	lst = listener(8, &lst_sa);
	fcntl(lst, F_SETFL, O_NONBLOCK);
	fd = pair(&peer);
	aw_peer = -1;
	if (send(fd, "q", 1, 0) != 1)
		return 2;
	if (strcmp(mode, "late") == 0) {
		send(peer, "ab", 2, 0);
		usleep(600 * 1000);
	} else if (strcmp(mode, "restart") == 0) {
		aw_peer = peer;
	} else if (strcmp(mode, "crashhandler") == 0) {
		aw_peer = peer;
		sigaction(SIGSEGV, &(struct sigaction){ .sa_handler = on_tick },
			  NULL);
	} else if (strcmp(mode, "norestart") == 0) {
		sa.sa_flags = 0;
		it.it_interval.tv_usec = 0;
	} else if (strcmp(mode, "oneshot") == 0) {
		sa.sa_flags = SA_RESETHAND;
		it.it_interval.tv_usec = 0;
	} else if (strcmp(mode, "ownshort") == 0 ||
		   strcmp(mode, "ownlong") == 0) {
		own.tv_sec = mode[3] == 's' ? 0 : 5;
		own.tv_usec = mode[3] == 's' ? 200 * 1000 : 0;
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &own, sizeof(own));
		mode = "late";		/* no alarms */
	} else if (strcmp(mode, "rcvtimeo") == 0) {
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &own, sizeof(own));
		it.it_interval.tv_usec = 0;
	} else if (strcmp(mode, "silent") != 0) {
		return 2;
	}
	if (strcmp(mode, "late") != 0) {
		sigaction(SIGALRM, &sa, NULL);
		setitimer(ITIMER_REAL, &it, NULL);
	}
	T("read", read(fd, buf, sizeof(buf)));
	return 0;
}

int
main(int argc, char **argv)
{
	int hole, filler, peer;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc == 4 && strcmp(argv[1], "keep") == 0)
		return keep(argv[2], atoi(argv[3]));
	if (argc == 3 && strcmp(argv[1], "biglen") == 0)
		return biglen(atoi(argv[2]));
	if (argc == 4 && strcmp(argv[1], "reuse") == 0)
		return reuse(argv[2], atoi(argv[3]));
	if (argc == 3 && strcmp(argv[1], "await") == 0)
		return await(argv[2]);
	if (argc != 2 || strcmp(argv[1], "diff") != 0)
		return 2;
	signal(SIGUSR1, on_usr1);
	lst = listener(64, &lst_sa);
	fcntl(lst, F_SETFL, O_NONBLOCK);
	hole = listener(0, &hole_sa);
	/* refused: a port nothing listens on (a listener closed) */
	close(listener(1, &dead_sa));
	/* fill the hole's accept queue: later SYNs are dropped */
	filler = tcp(0);
	if (connect(filler, SA(hole_sa), sizeof(hole_sa)) < 0)
		return 2;
	/* the shim starts on its first governed connect */
	close(pair(&peer));
	close(peer);
	bad_fds();
	other_fds();
	addresses();
	in_progress();
	established();
	awaiting();
	dups();
	forks();
	handler();
	misc();
	resolver();
	close(hole);
	close(filler);
	return 0;
}
