/*
 * serve.c - "cbctl serve --listen ADDR:PORT": the text of "cbctl metrics"
 * at http://ADDR:PORT/metrics, for Prometheus to scrape, until SIGTERM or
 * SIGINT (exit 0).
 *
 * The HTTP side is libmicrohttpd's, with its own polling thread; each
 * request is answered in that one thread, so the lazily loaded context
 * (segment name, configuration) is only ever touched by it.  cbctl binds
 * the listening socket itself and hands it over, so a bad address or a
 * port in use is reported as "cbctl: serve: ADDR:PORT: why" before any
 * thread starts, and port 0 works (the chosen port is printed).  Every
 * scrape attaches the segment afresh, read-only: a segment destroyed and
 * created again is followed, and one that cannot be read answers 503 with
 * the reason on cbctl's stderr.  The main thread just waits for the
 * signal with it blocked everywhere (sigwait), so no handler runs at all;
 * SIGPIPE is ignored (a scraper that hangs up is not a reason to die).
 */
#include "cbctl.h"

#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netdb.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

static int parse_listen(const char *arg, struct sockaddr_storage *ss,
			socklen_t *len);
static int open_listener(const char *arg, const struct sockaddr_storage *ss,
			 socklen_t len);
static void print_listening(int fd);
static enum MHD_Result reply(struct MHD_Connection *conn, unsigned status,
			     char *body, size_t len);
static enum MHD_Result reply_text(struct MHD_Connection *conn,
				  unsigned status, const char *text);
static enum MHD_Result scrape(struct cbctl *c, struct MHD_Connection *conn);
static int serve(struct cbctl *c, const char *arg,
		 const struct sockaddr_storage *ss, socklen_t len);
static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn,
				  const char *url, const char *method,
				  const char *version, const char *upload,
				  size_t *upload_size, void **req);

/* "a.b.c.d:port", "[v6]:port" (scope allowed), or ":port" (every address,
 * IPv6 and IPv4 where the host allows both).  Numeric only: a listen
 * address that needs a resolver is ambiguous.  0 or -EINVAL. */
static int
parse_listen(const char *arg, struct sockaddr_storage *ss, socklen_t *len)
{
	struct addrinfo hints, *ai;
	struct in_addr one;
	char host[128];
	const char *colon = strrchr(arg, ':'), *port;
	size_t hl;
	int v6;

	if (colon == NULL || colon[1] == '\0')
		return -EINVAL;
	port = colon + 1;
	if (port[strspn(port, "0123456789")] != '\0' || strlen(port) > 5 ||
	    atoi(port) > 65535)
		return -EINVAL;
	hl = (size_t)(colon - arg);
	v6 = hl == 0 || arg[0] == '[';
	if (hl > 0 && arg[0] == '[') {
		if (hl < 3 || arg[hl - 1] != ']')
			return -EINVAL;
		arg++;
		hl -= 2;
	} else if (memchr(arg, ':', hl)) {
		return -EINVAL;		/* IPv6 wants its brackets */
	}
	if (hl >= sizeof(host) || memchr(arg, ']', hl) || memchr(arg, '[', hl))
		return -EINVAL;
	memcpy(host, arg, hl);
	host[hl] = '\0';
	memset(&hints, 0, sizeof(hints));
	hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE;
	hints.ai_family = v6 ? AF_INET6 : AF_INET;
	hints.ai_socktype = SOCK_STREAM;
	if (getaddrinfo(hl ? host : NULL, port, &hints, &ai) != 0)
		return -EINVAL;
	/* getaddrinfo takes inet_aton's forms too ("10.1" is 10.0.0.1) */
	if (ai->ai_family == AF_INET && inet_pton(AF_INET, host, &one) != 1) {
		freeaddrinfo(ai);
		return -EINVAL;
	}
	memcpy(ss, ai->ai_addr, ai->ai_addrlen);
	*len = ai->ai_addrlen;
	freeaddrinfo(ai);
	return 0;
}

/* A listening socket on ss, or -1 after saying why (in use, not a local
 * address, permission). */
static int
open_listener(const char *arg, const struct sockaddr_storage *ss,
	      socklen_t len)
{
	int fd, one = 1, e;

	fd = socket(ss->ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return cbctl_fail("serve: %s: %s", arg, strerror(errno)), -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (const struct sockaddr *)ss, len) == 0 &&
	    listen(fd, 64) == 0)
		return fd;
	e = errno;
	close(fd);
	cbctl_fail("serve: %s: %s", arg, strerror(e));
	return -1;
}

/* "cbctl: serving http://ADDR:PORT/metrics" on stdout, flushed: the port
 * is the one the kernel chose for port 0. */
static void
print_listening(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	char host[INET6_ADDRSTRLEN + 16], port[8];

	if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0 ||
	    getnameinfo((struct sockaddr *)&ss, len, host, sizeof(host), port,
			sizeof(port), NI_NUMERICHOST | NI_NUMERICSERV) != 0)
		return;
	printf(ss.ss_family == AF_INET6 ? "serving http://[%s]:%s/metrics\n" :
	       "serving http://%s:%s/metrics\n", host, port);
	fflush(stdout);
}

/* Queue body (malloc'd; freed by libmicrohttpd, or here on failure). */
static enum MHD_Result
reply(struct MHD_Connection *conn, unsigned status, char *body, size_t len)
{
	struct MHD_Response *rsp;
	enum MHD_Result r;

	rsp = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
	if (rsp == NULL) {
		free(body);
		return MHD_NO;
	}
	MHD_add_response_header(rsp, MHD_HTTP_HEADER_CONTENT_TYPE,
				status == MHD_HTTP_OK ? CONTENT_TYPE :
				"text/plain; charset=utf-8");
	r = MHD_queue_response(conn, status, rsp);
	MHD_destroy_response(rsp);
	return r;
}

static enum MHD_Result
reply_text(struct MHD_Connection *conn, unsigned status, const char *text)
{
	char *body = strdup(text);

	return body ? reply(conn, status, body, strlen(body)) : MHD_NO;
}

/* GET /metrics: the segment now, or 503 when it cannot be read (the
 * reason went to stderr through cbctl_attach). */
static enum MHD_Result
scrape(struct cbctl *c, struct MHD_Connection *conn)
{
	struct cb_table *t;
	char *buf = NULL;
	size_t len = 0;
	FILE *f;
	int r;

	if (cbctl_attach(c, CBCTL_READ, &t) != 0)
		return reply_text(conn, MHD_HTTP_SERVICE_UNAVAILABLE, "cbctl "
				  "serve: cannot read the segment (the reason "
				  "is on cbctl's stderr)\n");
	if ((f = open_memstream(&buf, &len)) == NULL) {
		cb_table_detach(t);
		return MHD_NO;
	}
	r = cbctl_metrics_write(f, t);
	cb_table_detach(t);
	if (fclose(f) != 0 || r < 0) {
		free(buf);
		return MHD_NO;
	}
	return reply(conn, MHD_HTTP_OK, buf, len);
}

static enum MHD_Result
on_request(void *cls, struct MHD_Connection *conn, const char *url,
	   const char *method, const char *version, const char *upload,
	   size_t *upload_size, void **req)
{
	(void)version;
	(void)upload;
	(void)upload_size;
	(void)req;
	if (strcmp(url, "/metrics") != 0)
		return reply_text(conn, MHD_HTTP_NOT_FOUND, "not found: the "
				  "metrics are at /metrics\n");
	if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 &&
	    strcmp(method, MHD_HTTP_METHOD_HEAD) != 0)
		return reply_text(conn, MHD_HTTP_METHOD_NOT_ALLOWED,
				  "only GET and HEAD\n");
	return scrape(cls, conn);
}

/* Listen on ss and answer until SIGINT/SIGTERM: CBCTL_OK, or CBCTL_FAIL
 * when the address cannot be bound or the server not started. */
static int
serve(struct cbctl *c, const char *arg, const struct sockaddr_storage *ss,
      socklen_t len)
{
	struct MHD_Daemon *d;
	sigset_t set;
	int fd, sig;

	/* blocked before the daemon's thread exists, so it inherits the
	 * mask and the signals wait for sigwait below */
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	/* an ignored signal is dropped even while blocked, and a shell
	 * starts "cbctl serve &" with SIGINT ignored */
	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	signal(SIGPIPE, SIG_IGN);
	if ((fd = open_listener(arg, ss, len)) < 0)
		return CBCTL_FAIL;
	d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD |
			     (ss->ss_family == AF_INET6 ? MHD_USE_IPv6 : 0),
			     0, NULL, NULL, on_request, c,
			     MHD_OPTION_LISTEN_SOCKET, fd,
			     MHD_OPTION_CONNECTION_LIMIT, 64u,
			     MHD_OPTION_CONNECTION_TIMEOUT, 30u,
			     MHD_OPTION_END);
	if (d == NULL) {
		close(fd);
		return cbctl_fail("serve: %s: cannot start the HTTP server",
				  arg);
	}
	print_listening(fd);
	while (sigwait(&set, &sig) != 0)
		;
	MHD_stop_daemon(d);		/* closes fd too */
	return CBCTL_OK;
}

int
cmd_serve(struct cbctl *c, const struct cbctl_args *a)
{
	const char *listen_arg = cbctl_opt(a, "listen");
	struct sockaddr_storage ss;
	socklen_t len = 0;

	if (listen_arg == NULL)
		return cbctl_misuse("serve", "serve: --listen ADDR:PORT is "
				    "required");
	if (parse_listen(listen_arg, &ss, &len) < 0)
		return cbctl_misuse("serve", "serve: bad --listen \"%s\" (want "
				    "a.b.c.d:port, [v6addr]:port or :port)",
				    listen_arg);
	return serve(c, listen_arg, &ss, len);
}
