/* probe.c - the shell-free health check; see b4/probe.h. */
#include "b4/probe.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static const char *probe_url(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--probe") == 0)
			return i + 1 < argc ? argv[i + 1] : "";
		if (strncmp(argv[i], "--probe=", 8) == 0)
			return argv[i] + 8;
	}
	return NULL;
}

bool b4_probe_requested(int argc, char **argv)
{
	return probe_url(argc, argv) != NULL;
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

struct probe_target {
	char host[256];
	char port[8];
	char path[1024];
};

/* Splits http://host[:port][/path]; -1 on anything else. */
static int parse_url(const char *url, struct probe_target *t)
{
	const char *p, *host_end, *port_start = NULL, *path;
	size_t host_len;

	if (strncmp(url, "http://", 7) != 0)
		return -1;
	p = url + 7;
	path = p + strcspn(p, "/?#");
	if (*p == '[') {
		host_end = memchr(p, ']', (size_t)(path - p));
		if (!host_end)
			return -1;
		p++;
		if (host_end[1] == ':')
			port_start = host_end + 2;
		else if (host_end + 1 != path)
			return -1;
	} else {
		host_end = memchr(p, ':', (size_t)(path - p));
		if (host_end)
			port_start = host_end + 1;
		else
			host_end = path;
	}
	host_len = (size_t)(host_end - p);
	if (host_len == 0 || host_len >= sizeof(t->host))
		return -1;
	memcpy(t->host, p, host_len);
	t->host[host_len] = '\0';
	if (port_start) {
		size_t port_len = (size_t)(path - port_start);
		if (port_len == 0 || port_len >= sizeof(t->port) ||
		    strspn(port_start, "0123456789") < port_len)
			return -1;
		memcpy(t->port, port_start, port_len);
		t->port[port_len] = '\0';
	} else {
		strcpy(t->port, "80");
	}
	if (*path == '/')
		snprintf(t->path, sizeof(t->path), "%.*s", (int)strcspn(path, "#"), path);
	else if (*path == '?')
		snprintf(t->path, sizeof(t->path), "/%.*s", (int)strcspn(path, "#"), path);
	else
		strcpy(t->path, "/");
	/* no bytes that would let the URL write its own request line */
	for (const char *c = t->path; *c; c++)
		if ((unsigned char)*c <= ' ' || *c == 0x7f)
			return -1;
	return 0;
}

/* Waits until fd is ready for events or the deadline passes; 0 or -1. */
static int wait_fd(int fd, short events, long long deadline)
{
	struct pollfd pfd = {.fd = fd, .events = events};
	int left, rc;

	do {
		left = (int)(deadline - now_ms());
		if (left <= 0)
			return -1;
		rc = poll(&pfd, 1, left);
	} while (rc < 0 && errno == EINTR);
	return rc > 0 ? 0 : -1;
}

static int connect_any(const struct probe_target *t, long long deadline, char *why, size_t whylen)
{
	struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *list, *ai;
	int fd = -1, rc;

	rc = getaddrinfo(t->host, t->port, &hints, &list);
	if (rc != 0) {
		snprintf(why, whylen, "cannot resolve %s: %s", t->host, gai_strerror(rc));
		return -1;
	}
	snprintf(why, whylen, "no address for %s", t->host);
	for (ai = list; ai; ai = ai->ai_next) {
		int soerr = 0;
		socklen_t len = sizeof(soerr);

		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
			    ai->ai_protocol);
		if (fd < 0)
			continue;
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		if (errno == EINPROGRESS && wait_fd(fd, POLLOUT, deadline) == 0 &&
		    getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) == 0 && soerr == 0)
			break;
		snprintf(why, whylen, "connect to %s:%s: %s", t->host, t->port,
			 soerr ? strerror(soerr)
			       : (errno == EINPROGRESS ? "timed out" : strerror(errno)));
		close(fd);
		fd = -1;
	}
	freeaddrinfo(list);
	return fd;
}

/* Reads until the status line is complete; returns the code or -1. */
static int read_status(int fd, long long deadline, char *why, size_t whylen)
{
	char head[512];
	size_t used = 0;
	int code;

	while (used < sizeof(head) - 1) {
		ssize_t got;

		if (wait_fd(fd, POLLIN, deadline) < 0) {
			snprintf(why, whylen, "no answer in time");
			return -1;
		}
		got = read(fd, head + used, sizeof(head) - 1 - used);
		if (got < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (got <= 0)
			break;
		used += (size_t)got;
		head[used] = '\0';
		if (strchr(head, '\n'))
			break;
	}
	head[used] = '\0';
	if (used < 12 || strncmp(head, "HTTP/1.", 7) != 0 || head[8] != ' ' ||
	    sscanf(head + 9, "%3d", &code) != 1 || code < 100 || code > 599) {
		snprintf(why, whylen, "not an HTTP answer");
		return -1;
	}
	return code;
}

int b4_probe_get(const char *url, int timeout_ms, char *why, size_t whylen)
{
	struct probe_target t;
	long long deadline = now_ms() + timeout_ms;
	char request[1536];
	size_t sent = 0, len;
	int fd, code = -1;

	if (parse_url(url, &t) < 0) {
		snprintf(why, whylen, "expected http://host[:port][/path]");
		return -1;
	}
	fd = connect_any(&t, deadline, why, whylen);
	if (fd < 0)
		return -1;
	len = (size_t)snprintf(request, sizeof(request),
			       "GET %s HTTP/1.0\r\nHost: %s:%s\r\nUser-Agent: b4-probe\r\n"
			       "Connection: close\r\n\r\n",
			       t.path, t.host, t.port);
	while (sent < len) {
		ssize_t n = send(fd, request + sent, len - sent, MSG_NOSIGNAL);

		if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
			if (wait_fd(fd, POLLOUT, deadline) < 0) {
				snprintf(why, whylen, "no answer in time");
				goto out_close;
			}
			continue;
		}
		if (n <= 0) {
			snprintf(why, whylen, "send: %s", strerror(errno));
			goto out_close;
		}
		sent += (size_t)n;
	}
	code = read_status(fd, deadline, why, whylen);
out_close:
	close(fd);
	return code;
}

/* The port a bare path is probed on: B4_PROBE_PORT, B4_PORT, else the
 * binary's own default; -1 when the chosen text is not a port. */
static long probe_port(int default_port)
{
	const char *text = getenv("B4_PROBE_PORT");
	char *end;
	long port;

	if (!text || !*text)
		text = getenv("B4_PORT");
	if (!text || !*text)
		return default_port;
	port = strtol(text, &end, 10);
	return *end || port < 1 || port > 65535 ? -1 : port;
}

int b4_probe_main(const char *prog, int default_port, int argc, char **argv, FILE *err)
{
	const char *url = probe_url(argc, argv);
	char why[256] = "", local[1100];
	int code;

	if (!url || !*url) {
		fprintf(err, "%s: --probe needs a URL (http://host:port/healthz or /healthz)\n",
			prog);
		return 1;
	}
	if (url[0] == '/') {
		long port = probe_port(default_port);
		if (port < 1) {
			fprintf(err, "%s: probe %s: B4_PROBE_PORT/B4_PORT is not a port\n", prog,
				url);
			return 1;
		}
		snprintf(local, sizeof(local), "http://127.0.0.1:%ld%.1000s", port, url);
		url = local;
	}
	code = b4_probe_get(url, B4_PROBE_TIMEOUT_MS, why, sizeof(why));
	if (code >= 200 && code <= 299)
		return 0;
	if (code > 0)
		fprintf(err, "%s: probe %s: status %d\n", prog, url, code);
	else
		fprintf(err, "%s: probe %s: %s\n", prog, url, why);
	return 1;
}
