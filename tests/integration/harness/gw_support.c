/* Test support for the b4-gateway integration tests; see gw_support.h. */
#include "gw_support.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* ---------------------------------------------------------------- backend */

struct conn_arg {
	struct gw_backend *b;
	int fd;
};

static const char *find_header(const char *head, const char *name, size_t *vlen)
{
	size_t n = strlen(name);
	const char *p = strstr(head, "\r\n");
	while (p && p[2] != '\r') {
		const char *line = p + 2;
		if (strncasecmp(line, name, n) == 0 && line[n] == ':') {
			const char *v = line + n + 1;
			while (*v == ' ' || *v == '\t')
				v++;
			const char *e = strstr(v, "\r\n");
			*vlen = e ? (size_t)(e - v) : strlen(v);
			return v;
		}
		p = strstr(line, "\r\n");
	}
	return NULL;
}

/* buffered reader over a blocking socket */
struct rd {
	int fd;
	char buf[131072];
	size_t len, off;
};

static int rd_fill(struct rd *r)
{
	ssize_t n;
	if (r->off > 0 && r->off == r->len)
		r->off = r->len = 0;
	if (r->len == sizeof(r->buf)) {
		if (r->off == 0)
			return -1;
		memmove(r->buf, r->buf + r->off, r->len - r->off);
		r->len -= r->off;
		r->off = 0;
	}
	n = recv(r->fd, r->buf + r->len, sizeof(r->buf) - r->len, 0);
	if (n <= 0)
		return -1;
	r->len += (size_t)n;
	return 0;
}

/* Reads up to and including delim into out (NUL-terminated). */
static int rd_until(struct rd *r, const char *delim, char *out, size_t cap)
{
	size_t dlen = strlen(delim);

	for (;;) {
		char *e = memmem(r->buf + r->off, r->len - r->off, delim, dlen);
		if (e) {
			size_t n = (size_t)(e + dlen - (r->buf + r->off));
			if (n >= cap)
				return -1;
			memcpy(out, r->buf + r->off, n);
			out[n] = '\0';
			r->off += n;
			return 0;
		}
		if (rd_fill(r) != 0)
			return -1;
	}
}

static int rd_head(struct rd *r, char *out, size_t cap)
{
	return rd_until(r, "\r\n\r\n", out, cap);
}

static int rd_bytes(struct rd *r, char *out, size_t n)
{
	while (n > 0) {
		size_t avail = r->len - r->off, k;
		if (avail == 0) {
			if (rd_fill(r) != 0)
				return -1;
			continue;
		}
		k = avail < n ? avail : n;
		if (out) {
			memcpy(out, r->buf + r->off, k);
			out += k;
		}
		r->off += k;
		n -= k;
	}
	return 0;
}

static int rd_line(struct rd *r, char *out, size_t cap)
{
	return rd_until(r, "\r\n", out, cap);
}

static void append(char *dst, size_t *len, size_t cap, const char *src, size_t n)
{
	if (*len + n > cap)
		n = cap - *len;
	memcpy(dst + *len, src, n);
	*len += n;
}

static void *conn_main(void *arg)
{
	struct conn_arg *ca = arg;
	struct gw_backend *b = ca->b;
	int fd = ca->fd;
	struct rd *r = calloc(1, sizeof(*r));
	char *head = malloc(16384), *body = malloc(65536), *raw = malloc(65536);
	bool served = false;

	free(ca);
	if (!r || !head || !body || !raw)
		goto out;
	r->fd = fd;
	while (!atomic_load(&b->stopping)) {
		char method[16] = "", path[1024] = "", resp[2048];
		size_t vlen, body_len = 0, raw_len = 0;
		const char *v;
		bool close_after = false;

		if (rd_head(r, head, 16384) != 0)
			break;
		sscanf(head, "%15s %1023s", method, path);
		if ((v = find_header(head, "Content-Length", &vlen))) {
			size_t n = (size_t)strtoul(v, NULL, 10);
			if (n > 65536 || rd_bytes(r, body, n) != 0)
				break;
			body_len = n;
			memcpy(raw, body, n);
			raw_len = n;
		} else if ((v = find_header(head, "Transfer-Encoding", &vlen))) {
			char line[4200];
			for (;;) {
				size_t sz;
				if (rd_line(r, line, sizeof(line)) != 0)
					goto out;
				append(raw, &raw_len, 65536, line, strlen(line));
				sz = (size_t)strtoul(line, NULL, 16);
				if (sz == 0) {
					/* trailers until the empty line */
					for (;;) {
						if (rd_line(r, line, sizeof(line)) != 0)
							goto out;
						append(raw, &raw_len, 65536, line, strlen(line));
						if (strcmp(line, "\r\n") == 0)
							break;
					}
					break;
				}
				if (body_len + sz > 65536 || rd_bytes(r, body + body_len, sz) != 0)
					goto out;
				append(raw, &raw_len, 65536, body + body_len, sz);
				body_len += sz;
				if (rd_line(r, line, sizeof(line)) != 0)
					goto out;
				append(raw, &raw_len, 65536, line, strlen(line));
			}
		}
		if ((v = find_header(head, "Connection", &vlen)) && strncasecmp(v, "close", 5) == 0)
			close_after = true;

		if (strcmp(path, "/healthz") == 0) {
			atomic_fetch_add(&b->health_checks, 1);
			const char *st =
			    atomic_load(&b->health_fail) ? "503 Service Unavailable" : "200 OK";
			int n = snprintf(resp, sizeof(resp),
					 "HTTP/1.1 %s\r\nContent-Length: 2\r\n\r\nok", st);
			send(fd, resp, (size_t)n, MSG_NOSIGNAL);
			if (close_after)
				break;
			continue;
		}
		atomic_fetch_add(&b->requests, 1);
		if (!served) {
			served = true;
			atomic_fetch_add(&b->served_connections, 1);
		}
		pthread_mutex_lock(&b->mu);
		snprintf(b->last_head, sizeof(b->last_head), "%s", head);
		memcpy(b->last_body, body, body_len);
		b->last_body_len = body_len;
		memcpy(b->last_raw_body, raw, raw_len);
		b->last_raw_body_len = raw_len;
		pthread_mutex_unlock(&b->mu);

		if (atomic_load(&b->drop_all))
			break;
		if (strncmp(path, "/slow/", 6) == 0) {
			int ms = atoi(path + 6);
			for (int waited = 0; waited < ms && !atomic_load(&b->stopping);
			     waited += 10)
				h_sleep_ms(10);
		}
		if (strncmp(path, "/big/", 5) == 0) {
			/* <n> bytes of gw_pattern_byte, in one send */
			size_t n = (size_t)strtoul(path + 5, NULL, 10), hn;
			char *big;
			if (n > 1 << 20)
				n = 1 << 20;
			big = malloc(n + 128);
			if (!big)
				break;
			hn = (size_t)snprintf(big, 128,
					      "HTTP/1.1 200 OK\r\nContent-Length: %zu\r\n\r\n", n);
			for (size_t i = 0; i < n; i++)
				big[hn + i] = gw_pattern_byte(i);
			send(fd, big, hn + n, MSG_NOSIGNAL);
			free(big);
		} else if (strcmp(path, "/chunked") == 0) {
			static const char c[] = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n"
						"X-Backend-Test: yes\r\n\r\n"
						"6\r\nhello \r\n5\r\nworld\r\n0\r\n\r\n";
			send(fd, c, sizeof(c) - 1, MSG_NOSIGNAL);
		} else if (strcmp(path, "/close") == 0) {
			int n = snprintf(
			    resp, sizeof(resp),
			    "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n%s until close", b->name);
			send(fd, resp, (size_t)n, MSG_NOSIGNAL);
			break;
		} else {
			char text[1200];
			int tn = snprintf(text, sizeof(text), "%s %s %s %zu", b->name, method, path,
					  body_len);
			int n = snprintf(resp, sizeof(resp),
					 "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
					 "Content-Length: %d\r\nX-Backend: %s\r\n"
					 "Keep-Alive: timeout=60\r\nConnection: keep-alive\r\n"
					 "X-Hop: secret\r\n\r\n%s",
					 tn, b->name, text);
			if (strcmp(path, "/hop") == 0) {
				/* names X-Hop in Connection: the gateway must drop it */
				n = snprintf(resp, sizeof(resp),
					     "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n"
					     "Connection: X-Hop\r\nX-Hop: secret\r\n\r\n%s",
					     tn, text);
			}
			send(fd, resp, (size_t)n, MSG_NOSIGNAL);
		}
		if (close_after)
			break;
	}
out:
	free(r);
	free(head);
	free(body);
	free(raw);
	pthread_mutex_lock(&b->mu);
	for (int i = 0; i < b->nconns; i++)
		if (b->fds[i] == fd)
			b->fds[i] = -1;
	pthread_mutex_unlock(&b->mu);
	close(fd);
	return NULL;
}

static void *accept_main(void *arg)
{
	struct gw_backend *b = arg;
	while (!atomic_load(&b->stopping)) {
		int fd = accept(b->listen_fd, NULL, NULL);
		struct conn_arg *ca;
		struct timeval tv = {10, 0};
		int one = 1;
		if (fd < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (atomic_load(&b->stopping)) {
			close(fd);
			break;
		}
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		atomic_fetch_add(&b->connections, 1);
		ca = malloc(sizeof(*ca));
		pthread_mutex_lock(&b->mu);
		if (!ca || b->nconns >= GW_BACKEND_MAX_CONNS) {
			pthread_mutex_unlock(&b->mu);
			free(ca);
			close(fd);
			continue;
		}
		ca->b = b;
		ca->fd = fd;
		b->fds[b->nconns] = fd;
		if (pthread_create(&b->threads[b->nconns], NULL, conn_main, ca) != 0) {
			pthread_mutex_unlock(&b->mu);
			free(ca);
			close(fd);
			continue;
		}
		b->nconns++;
		pthread_mutex_unlock(&b->mu);
	}
	return NULL;
}

struct gw_backend *gw_backend_start(const char *name)
{
	return gw_backend_start_at(name, "127.0.0.1", 0);
}

struct gw_backend *gw_backend_start_at(const char *name, const char *ipv4, int port)
{
	struct gw_backend *b = calloc(1, sizeof(*b));
	struct sockaddr_in sa = {0};
	socklen_t sl = sizeof(sa);
	int one = 1;

	if (!b)
		return NULL;
	snprintf(b->name, sizeof(b->name), "%s", name);
	pthread_mutex_init(&b->mu, NULL);
	b->listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	setsockopt(b->listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)port);
	if (inet_pton(AF_INET, ipv4, &sa.sin_addr) != 1) {
		close(b->listen_fd);
		free(b);
		return NULL;
	}
	if (bind(b->listen_fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
	    listen(b->listen_fd, 256) != 0 ||
	    getsockname(b->listen_fd, (struct sockaddr *)&sa, &sl) != 0) {
		close(b->listen_fd);
		free(b);
		return NULL;
	}
	b->port = ntohs(sa.sin_port);
	if (pthread_create(&b->accept_thread, NULL, accept_main, b) != 0) {
		close(b->listen_fd);
		free(b);
		return NULL;
	}
	return b;
}

void gw_backend_stop(struct gw_backend *b)
{
	int n;
	if (!b || atomic_exchange(&b->stopping, 1))
		return;
	shutdown(b->listen_fd, SHUT_RDWR);
	close(b->listen_fd);
	pthread_join(b->accept_thread, NULL);
	pthread_mutex_lock(&b->mu);
	for (int i = 0; i < b->nconns; i++)
		if (b->fds[i] >= 0)
			shutdown(b->fds[i], SHUT_RDWR);
	n = b->nconns;
	pthread_mutex_unlock(&b->mu);
	for (int i = 0; i < n; i++)
		pthread_join(b->threads[i], NULL);
}

void gw_backend_free(struct gw_backend *b)
{
	if (!b)
		return;
	gw_backend_stop(b);
	pthread_mutex_destroy(&b->mu);
	free(b);
}

void gw_backend_last_head(struct gw_backend *b, char *out, size_t cap)
{
	pthread_mutex_lock(&b->mu);
	snprintf(out, cap, "%s", b->last_head);
	pthread_mutex_unlock(&b->mu);
}

/* ---------------------------------------------------------------- gateway */

int gw_gateway_write_config(struct gw_gateway *gw, const char *config_json)
{
	char tmp[600];
	FILE *f;
	snprintf(tmp, sizeof(tmp), "%s.tmp", gw->config_path);
	f = fopen(tmp, "w");
	if (!f)
		return -1;
	fputs(config_json, f);
	if (fclose(f) != 0)
		return -1;
	return rename(tmp, gw->config_path);
}

int gw_gateway_start(struct gw_gateway *gw, const char *config_json, const char *const *extra_env)
{
	static atomic_int seq;
	char config_env[600];
	const char *env[32];
	size_t n = 0;

	signal(SIGPIPE, SIG_IGN); /* tests write to sockets the gateway may close */
	memset(gw, 0, sizeof(*gw));
	if (config_json) {
		snprintf(gw->config_path, sizeof(gw->config_path), "%s/gw-%d-%d.json", h_var(),
			 (int)getpid(), atomic_fetch_add(&seq, 1));
		if (gw_gateway_write_config(gw, config_json) != 0)
			return -1;
	}
	/* an empty B4_GATEWAY_CONFIG means the built-in defaults */
	snprintf(config_env, sizeof(config_env), "B4_GATEWAY_CONFIG=%s", gw->config_path);
	env[n++] = config_env;
	for (size_t i = 0; extra_env && extra_env[i] && n < 31; i++)
		env[n++] = extra_env[i];
	env[n] = NULL;
	if (h_start(&gw->proc, "b4-gateway", NULL, env) < 0)
		return -1;
	gw->pid = gw->proc.pid;
	gw->http_port = gw->proc.port;
	gw->https_port = gw->proc.https_port > 0 ? gw->proc.https_port : 0;
	gw->admin_port = gw->proc.admin_port;
	gw->log_path = gw->proc.log_path;
	return 0;
}

int gw_gateway_stop(struct gw_gateway *gw, int timeout_ms)
{
	int status = h_stop(&gw->proc, SIGTERM, timeout_ms);

	gw->pid = 0;
	return status < 0 ? 128 + SIGKILL : status;
}

/* ---------------------------------------------------------------- client */

int gw_connect(int port)
{
	struct sockaddr_in sa = {0};
	struct timeval tv = {5, 0};
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		close(fd);
		return -1;
	}
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	return fd;
}

int gw_send_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	while (len > 0) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
		if (n <= 0) {
			if (n < 0 && errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int gw_send_str(int fd, const char *s)
{
	return gw_send_all(fd, s, strlen(s));
}

/* recv with a deadline; returns bytes, 0 on close, -1 on timeout/error */
static ssize_t recv_deadline(int fd, char *buf, size_t cap, long long deadline)
{
	for (;;) {
		struct pollfd p = {fd, POLLIN, 0};
		long long left = deadline - h_now_ms();
		int rc;
		if (left <= 0)
			return -1;
		rc = poll(&p, 1, (int)left);
		if (rc < 0 && errno == EINTR)
			continue;
		if (rc <= 0)
			return -1;
		ssize_t n = recv(fd, buf, cap, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == ECONNRESET)
			return 0;
		return n;
	}
}

/* Per-fd leftover bytes would need state; these tests read one response at
 * a time and never pipeline, so a response is read byte-exactly: the head
 * byte by byte is too slow, so read greedily and keep the rest here. */
static __thread char leftover[262144];
static __thread size_t leftover_len;
static __thread int leftover_fd = -1;

static ssize_t rd_some(int fd, char *buf, size_t cap, long long deadline)
{
	if (leftover_fd == fd && leftover_len > 0) {
		size_t n = leftover_len < cap ? leftover_len : cap;
		memcpy(buf, leftover, n);
		memmove(leftover, leftover + n, leftover_len - n);
		leftover_len -= n;
		return (ssize_t)n;
	}
	return recv_deadline(fd, buf, cap, deadline);
}

static void push_back(int fd, const char *buf, size_t n)
{
	if (leftover_fd != fd) {
		leftover_fd = fd;
		leftover_len = 0;
	}
	if (n > sizeof(leftover) - leftover_len)
		n = sizeof(leftover) - leftover_len;
	memmove(leftover + n, leftover, leftover_len);
	memcpy(leftover, buf, n);
	leftover_len += n;
}

int gw_read_response(int fd, struct gw_response *r, int timeout_ms)
{
	long long deadline = h_now_ms() + timeout_ms;
	static __thread char buf[131072];
	size_t len = 0, head_len;
	char *e;
	size_t vlen;
	const char *v;

	memset(r, 0, sizeof(*r));
	if (leftover_fd != fd)
		leftover_len = 0;
	for (;;) {
		ssize_t n;
		e = memmem(buf, len, "\r\n\r\n", 4);
		if (e)
			break;
		if (len == sizeof(buf))
			return -1;
		n = rd_some(fd, buf + len, sizeof(buf) - len, deadline);
		if (n <= 0)
			return -1;
		len += (size_t)n;
	}
	head_len = (size_t)(e + 4 - buf);
	if (head_len >= sizeof(r->head))
		return -1;
	memcpy(r->head, buf, head_len);
	r->head[head_len] = '\0';
	if (sscanf(r->head, "HTTP/1.%*d %d", &r->status) != 1)
		return -1;
	/* 1xx: skip and read the final response */
	if (r->status >= 100 && r->status < 200) {
		push_back(fd, buf + head_len, len - head_len);
		return gw_read_response(fd, r, (int)(deadline - h_now_ms()));
	}
	memmove(buf, buf + head_len, len - head_len);
	len -= head_len;
	if ((v = find_header(r->head, "Content-Length", &vlen))) {
		size_t want = (size_t)strtoul(v, NULL, 10);
		while (len < want) {
			ssize_t n = rd_some(fd, buf + len, sizeof(buf) - len, deadline);
			if (n <= 0)
				return -1;
			len += (size_t)n;
		}
		r->body_len = want < sizeof(r->body) ? want : sizeof(r->body);
		memcpy(r->body, buf, r->body_len);
		push_back(fd, buf + want, len - want);
	} else if ((v = find_header(r->head, "Transfer-Encoding", &vlen))) {
		size_t pos = 0;
		for (;;) {
			char *crlf;
			size_t sz;
			while (!(crlf = memmem(buf + pos, len - pos, "\r\n", 2))) {
				ssize_t n = rd_some(fd, buf + len, sizeof(buf) - len, deadline);
				if (n <= 0)
					return -1;
				len += (size_t)n;
			}
			sz = (size_t)strtoul(buf + pos, NULL, 16);
			pos = (size_t)(crlf + 2 - buf);
			if (sz == 0) {
				while (!memmem(buf + pos - 2, len - pos + 2, "\r\n\r\n", 4)) {
					ssize_t n =
					    rd_some(fd, buf + len, sizeof(buf) - len, deadline);
					if (n <= 0)
						return -1;
					len += (size_t)n;
				}
				char *end = memmem(buf + pos - 2, len - pos + 2, "\r\n\r\n", 4);
				pos = (size_t)(end + 4 - buf);
				push_back(fd, buf + pos, len - pos);
				break;
			}
			while (len < pos + sz + 2) {
				ssize_t n = rd_some(fd, buf + len, sizeof(buf) - len, deadline);
				if (n <= 0)
					return -1;
				len += (size_t)n;
			}
			if (r->body_len + sz <= sizeof(r->body)) {
				memcpy(r->body + r->body_len, buf + pos, sz);
				r->body_len += sz;
			}
			pos += sz + 2;
		}
	} else if (r->status == 204 || r->status == 304) {
		push_back(fd, buf, len);
	} else {
		for (;;) {
			ssize_t n = rd_some(fd, buf + len, sizeof(buf) - len, deadline);
			if (n < 0)
				return -1;
			if (n == 0)
				break;
			len += (size_t)n;
		}
		r->body_len = len < sizeof(r->body) ? len : sizeof(r->body);
		memcpy(r->body, buf, r->body_len);
		r->closed = true;
	}
	r->body[r->body_len < sizeof(r->body) ? r->body_len : sizeof(r->body) - 1] = '\0';
	return 0;
}

bool gw_wait_closed(int fd, int timeout_ms)
{
	long long deadline = h_now_ms() + timeout_ms;
	char buf[4096];
	if (leftover_fd == fd)
		leftover_len = 0;
	for (;;) {
		ssize_t n = recv_deadline(fd, buf, sizeof(buf), deadline);
		if (n == 0)
			return true;
		if (n < 0)
			return false;
	}
}

bool gw_header(const struct gw_response *r, const char *name, char *out, size_t cap)
{
	size_t vlen;
	const char *v = find_header(r->head, name, &vlen);
	if (!v)
		return false;
	if (vlen >= cap)
		vlen = cap - 1;
	memcpy(out, v, vlen);
	out[vlen] = '\0';
	return true;
}

bool gw_header_is(const struct gw_response *r, const char *name, const char *want)
{
	char v[1024];
	if (!gw_header(r, name, v, sizeof(v))) {
		fprintf(stderr, "missing %s in:\n%s\n", name, r->head);
		return false;
	}
	if (strcmp(v, want) != 0) {
		fprintf(stderr, "%s: got \"%s\", want \"%s\"\n", name, v, want);
		return false;
	}
	return true;
}

int gw_request(int port, const char *method, const char *path, const char *extra_headers,
	       const char *body, struct gw_response *r)
{
	char req[8192];
	int fd = gw_connect(port), rc;
	if (fd < 0)
		return -1;
	if (body)
		snprintf(req, sizeof(req),
			 "%s %s HTTP/1.1\r\nHost: test\r\n%sContent-Length: %zu\r\n\r\n%s", method,
			 path, extra_headers ? extra_headers : "", strlen(body), body);
	else
		snprintf(req, sizeof(req), "%s %s HTTP/1.1\r\nHost: test\r\n%s\r\n", method, path,
			 extra_headers ? extra_headers : "");
	rc = gw_send_str(fd, req) == 0 ? gw_read_response(fd, r, 10000) : -1;
	close(fd);
	return rc;
}

int gw_admin_get(int port, const char *path, struct gw_response *r)
{
	return gw_request(port, "GET", path, "Connection: close\r\n", NULL, r);
}

double gw_metric(int admin_port, const char *sample_prefix)
{
	static __thread struct gw_response r;
	const char *p;
	if (gw_admin_get(admin_port, "/metrics", &r) != 0 || r.status != 200)
		return -1;
	p = r.body;
	size_t n = strlen(sample_prefix);
	while (p && *p) {
		if (strncmp(p, sample_prefix, n) == 0 && p[n] == ' ')
			return strtod(p + n + 1, NULL);
		p = strchr(p, '\n');
		if (p)
			p++;
	}
	return -1;
}
