/*
 * abandon - the classic legacy ways of giving up on a blocking connect():
 *
 *   abandon longjmp N PORT   N times: arm a 200 ms timer (setitimer, as
 *                            alarm() would with 1 s granularity), block in
 *                            connect() to 127.0.0.1:PORT, siglongjmp out of
 *                            the SIGALRM handler, close the fd
 *   abandon cancel N PORT    N times: a thread blocks in connect(); the main
 *                            thread pthread_cancel()s it after 200 ms; a
 *                            cleanup handler closes the fd
 *
 * Prints one line per attempt: "I abandoned", or "I connected" / "I ERRNO"
 * when connect() returned before the timer.  Exit 0 when done.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

static struct sockaddr_in dst;
static sigjmp_buf jb;

static void
on_alarm(int sig)
{
	(void)sig;
	siglongjmp(jb, 1);
}

static void
say(int i, int r, int e)
{
	printf("%d %s\n", i, r == 0 ? "connected" : strerror(e));
}

static void
by_longjmp(int i)
{
	struct itimerval it = { .it_value = { 0, 200000 } }, off = { 0 };
	volatile int fd = socket(AF_INET, SOCK_STREAM, 0);
	int r;

	if (sigsetjmp(jb, 1)) {
		close(fd);
		printf("%d abandoned\n", i);
		return;
	}
	setitimer(ITIMER_REAL, &it, NULL);
	r = connect(fd, (struct sockaddr *)&dst, sizeof(dst));
	setitimer(ITIMER_REAL, &off, NULL);
	say(i, r, errno);
	close(fd);
}

static void
close_fd(void *p)
{
	close(*(int *)p);
}

static void *
connector(void *arg)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0), r;

	pthread_cleanup_push(close_fd, &fd);
	r = connect(fd, (struct sockaddr *)&dst, sizeof(dst));
	say(*(int *)arg, r, errno);
	pthread_cleanup_pop(1);
	return NULL;
}

static void
by_cancel(int i)
{
	pthread_t t;
	void *res;

	pthread_create(&t, NULL, connector, &i);
	usleep(200000);
	pthread_cancel(t);
	pthread_join(t, &res);
	if (res == PTHREAD_CANCELED)
		printf("%d abandoned\n", i);
}

int
main(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_alarm };
	int i, n;

	if (argc != 4) {
		fprintf(stderr, "usage: abandon longjmp|cancel N PORT\n");
		return 2;
	}
	n = atoi(argv[2]);
	dst.sin_family = AF_INET;
	dst.sin_port = htons((uint16_t)atoi(argv[3]));
	dst.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sigaction(SIGALRM, &sa, NULL);
	setvbuf(stdout, NULL, _IOLBF, 0);
	for (i = 0; i < n; i++) {
		if (strcmp(argv[1], "longjmp") == 0)
			by_longjmp(i);
		else
			by_cancel(i);
	}
	return 0;
}
