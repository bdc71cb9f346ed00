/*
 * storm - hammer shared breakers from many threads until killed, keeping a
 * ledger that survives kill -9, so that a test can check afterwards that
 * the breakers' counters lost nothing and counted nothing twice.
 *
 * usage: storm -l LEDGER [-t THREADS] [-s SEED] DEST...
 *   DEST is KIND:PORT on 127.0.0.1, KIND one of
 *     accept   a server that accepts (blocking, SO_ERROR or abandoned connects)
 *     refuse   nothing listens (blocking or SO_ERROR connects)
 *     reset    a server that resets (connect, send a byte, recv the RST)
 *     full     a listener whose queue is full (non-blocking connects,
 *              abandoned after a few ms: failures, lost probes when killed)
 *
 * Every thread loops: pick a destination and a way to connect, note the
 * destination in its ledger entry as pending, make exactly one connect()
 * call on a new socket, learn the outcome the way that mode does, close,
 * count the attempt as done and clear pending.  The ledger is a file mapped
 * MAP_SHARED, so what a thread wrote is there after the process is killed:
 * per destination, done <= total_calls <= done + pending, where pending
 * counts the threads caught inside an attempt.  Runs until killed (or -n
 * attempts per thread, then exits 0).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAXT 64
#define MAXD 8
#define LEDGER_MAGIC 0x5245474445474c53ull	/* "SLGDGER" */

enum kind { K_ACCEPT, K_REFUSE, K_RESET, K_FULL };

/* The ledger file: a header, then one entry per thread. */
struct ledger_head {
	uint64_t magic;
	uint32_t threads, dests;
};
struct ledger_entry {
	uint64_t done[MAXD];	/* attempts finished, per destination */
	uint64_t pending;	/* 1 + destination inside an attempt, or 0 */
	uint64_t pad[7];
};

struct dest {
	enum kind kind;
	struct sockaddr_in sa;
};

static struct dest dests[MAXD];
static int ndests;
static struct ledger_entry *ledger;
static long per_thread = -1;

static uint64_t
rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static void
wait_fd(int fd, short ev, int ms)
{
	struct pollfd p = { .fd = fd, .events = ev };

	poll(&p, 1, ms);
}

static void
nonblock(int fd)
{
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
}

/* One attempt on d in way w (0..2); exactly one connect() call. */
static void
attempt(const struct dest *d, unsigned w)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0), v = 0, r;
	socklen_t vl = sizeof(v);
	char c = 'x';
	const struct sockaddr *sa = (const struct sockaddr *)&d->sa;

	if (fd < 0)
		return;
	switch (d->kind) {
	case K_FULL:
		nonblock(fd);
		if (connect(fd, sa, sizeof(d->sa)) < 0 && errno == EINPROGRESS)
			wait_fd(fd, POLLOUT, 1 + (int)w * 3);
		break;
	case K_RESET:
		if (connect(fd, sa, sizeof(d->sa)) == 0 &&
		    send(fd, &c, 1, MSG_NOSIGNAL) == 1) {
			wait_fd(fd, POLLIN, 200);
			r = (int)recv(fd, &c, 1, MSG_DONTWAIT);
			(void)r;
		}
		break;
	default:
		if (w == 0) {
			r = connect(fd, sa, sizeof(d->sa));
			(void)r;
			break;
		}
		nonblock(fd);
		if (connect(fd, sa, sizeof(d->sa)) < 0 &&
		    errno == EINPROGRESS && w == 1) {
			wait_fd(fd, POLLOUT, 200);
			getsockopt(fd, SOL_SOCKET, SO_ERROR, &v, &vl);
		}
		/* w == 2: abandoned at once (settled by close) */
		break;
	}
	close(fd);
}

static void *
run(void *arg)
{
	struct ledger_entry *e = arg;
	uint64_t s = (uint64_t)(uintptr_t)arg ^ (uint64_t)getpid() << 20 ^
		     0x9e3779b97f4a7c15ull;
	long n;
	int i;

	for (n = 0; per_thread < 0 || n < per_thread; n++) {
		i = (int)(rnd(&s) % (uint64_t)ndests);
		__atomic_store_n(&e->pending, (uint64_t)i + 1,
				 __ATOMIC_SEQ_CST);
		attempt(&dests[i], (unsigned)(rnd(&s) % 3));
		__atomic_store_n(&e->done[i], e->done[i] + 1,
				 __ATOMIC_SEQ_CST);
		__atomic_store_n(&e->pending, 0, __ATOMIC_SEQ_CST);
	}
	return NULL;
}

static int
parse_dest(const char *s, struct dest *d)
{
	static const char *const kinds[] = { "accept", "refuse", "reset",
					     "full" };
	const char *colon = strchr(s, ':');
	size_t k;

	if (!colon)
		return -1;
	for (k = 0; k < 4; k++)
		if (strlen(kinds[k]) == (size_t)(colon - s) &&
		    strncmp(s, kinds[k], (size_t)(colon - s)) == 0)
			break;
	if (k == 4)
		return -1;
	d->kind = (enum kind)k;
	d->sa.sin_family = AF_INET;
	d->sa.sin_port = htons((uint16_t)atoi(colon + 1));
	d->sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	return 0;
}

int
main(int argc, char **argv)
{
	const char *path = NULL;
	int nthreads = 8, c, i, fd;
	pthread_t tid[MAXT];
	size_t size;
	struct ledger_head *h;

	while ((c = getopt(argc, argv, "l:t:n:")) != -1) {
		switch (c) {
		case 'l': path = optarg; break;
		case 't': nthreads = atoi(optarg); break;
		case 'n': per_thread = atol(optarg); break;
		default: goto usage;
		}
	}
	if (!path || nthreads < 1 || nthreads > MAXT || optind >= argc ||
	    argc - optind > MAXD)
		goto usage;
	for (i = optind; i < argc; i++)
		if (parse_dest(argv[i], &dests[ndests++]) < 0)
			goto usage;
	size = 4096 + (size_t)nthreads * sizeof(struct ledger_entry);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || ftruncate(fd, (off_t)size) < 0) {
		perror(path);
		return 1;
	}
	h = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (h == MAP_FAILED) {
		perror("mmap");
		return 1;
	}
	close(fd);
	h->threads = (uint32_t)nthreads;
	h->dests = (uint32_t)ndests;
	ledger = (struct ledger_entry *)((char *)h + 4096);
	__atomic_store_n(&h->magic, LEDGER_MAGIC, __ATOMIC_SEQ_CST);
	for (i = 0; i < nthreads; i++)
		if (pthread_create(&tid[i], NULL, run, &ledger[i]) != 0) {
			perror("pthread_create");
			return 1;
		}
	for (i = 0; i < nthreads; i++)
		pthread_join(tid[i], NULL);
	return 0;
usage:
	fprintf(stderr, "usage: storm -l LEDGER [-t THREADS] [-n N] "
		"KIND:PORT...\n");
	return 2;
}
