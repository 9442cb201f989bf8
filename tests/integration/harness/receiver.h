/* receiver.h - a loopback HTTP receiver standing in for whoever a binary
 * under test calls back: webhook endpoints (worker tests, workers bench),
 * checkout's callback URL (sandbox test).  An ephemeral port, one thread
 * per connection; it records every request (path, signature header, body)
 * and answers by path:
 *   /flaky     500 to the first two requests, then 200
 *   /hang      the first request gets no answer for hang_ms, then 200s
 *   /redirect  302 to /ok (must not be followed)
 *   any other  200, or 500 while fail_next > 0 and the body holds fail_match
 * Header-only (static functions) so tests and benches share it. */
#ifndef TEST_RECEIVER_H
#define TEST_RECEIVER_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

struct rcv_request {
	char path[64];
	char signature[256]; /* the signature_header's value */
	char *body;
	long long at_us; /* CLOCK_REALTIME microseconds when the body was read */
};

struct receiver {
	int fd;
	int port;
	int hang_ms;
	pthread_t thread;
	atomic_bool stop;
	pthread_mutex_t lock;
	struct rcv_request *reqs;
	size_t n, cap;
	int flaky_seen, hang_seen;
	/* set after rcv_start, under lock where requests may be arriving */
	char signature_header[64]; /* recorded per request; B4-Signature */
	int fail_next;		   /* answer 500 to this many more requests ... */
	char fail_match[80];	   /* ... whose body contains this */
};

struct rcv_conn {
	struct receiver *r;
	int fd;
};

static long long rcv_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (long long)ts.tv_sec * 1000000LL + ts.tv_nsec / 1000;
}

/* Copies the value of header name from the request head into out. */
static void rcv_header(const char *head, const char *name, char *out, size_t cap)
{
	size_t nlen = strlen(name);
	const char *p = head;

	out[0] = '\0';
	while ((p = strchr(p, '\n')) != NULL) {
		p++;
		if (strncasecmp(p, name, nlen) == 0 && p[nlen] == ':') {
			const char *v = p + nlen + 1;
			size_t len;

			while (*v == ' ')
				v++;
			len = strcspn(v, "\r\n");
			if (len >= cap)
				len = cap - 1;
			memcpy(out, v, len);
			out[len] = '\0';
			return;
		}
	}
}

static void rcv_answer(int fd, int status, const char *extra)
{
	char out[256];
	int len = snprintf(out, sizeof(out),
			   "HTTP/1.1 %d X\r\nContent-Type: text/plain\r\nContent-Length: 7\r\n"
			   "Connection: close\r\n%s\r\nthanks\n",
			   status, extra);

	if (write(fd, out, (size_t)len) < 0)
		return;
}

static void *rcv_conn_main(void *arg)
{
	struct rcv_conn *conn = arg;
	struct receiver *r = conn->r;
	char *buf = malloc(1 << 20);
	size_t used = 0, need = 0;
	char *head_end = NULL, clen[32];
	struct rcv_request req;
	int status = 200;
	bool hang = false;

	if (!buf)
		goto out_close;
	for (;;) {
		ssize_t got = read(conn->fd, buf + used, (1 << 20) - 1 - used);

		if (got <= 0)
			goto out_free;
		used += (size_t)got;
		buf[used] = '\0';
		if (!head_end && (head_end = strstr(buf, "\r\n\r\n")) != NULL) {
			rcv_header(buf, "Content-Length", clen, sizeof(clen));
			need = (size_t)(head_end - buf) + 4 + (size_t)atol(clen);
		}
		if (head_end && used >= need)
			break;
	}
	memset(&req, 0, sizeof(req));
	req.at_us = rcv_now_us();
	sscanf(buf, "%*s %63s", req.path);
	*head_end = '\0';
	pthread_mutex_lock(&r->lock);
	rcv_header(buf, r->signature_header, req.signature, sizeof(req.signature));
	req.body = strdup(head_end + 4);
	if (r->n == r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 64;
		struct rcv_request *grown = realloc(r->reqs, cap * sizeof(*grown));

		if (grown) {
			r->reqs = grown;
			r->cap = cap;
		}
	}
	if (r->n < r->cap)
		r->reqs[r->n++] = req;
	else
		free(req.body);
	if (strcmp(req.path, "/flaky") == 0 && r->flaky_seen++ < 2)
		status = 500;
	if (strcmp(req.path, "/hang") == 0 && r->hang_seen++ == 0)
		hang = true;
	if (r->fail_next > 0 && req.body && strstr(req.body, r->fail_match)) {
		r->fail_next--;
		status = 500;
	}
	pthread_mutex_unlock(&r->lock);
	if (hang) {
		struct timespec pause = {r->hang_ms / 1000, (long)(r->hang_ms % 1000) * 1000000L};

		nanosleep(&pause, NULL);
	} else if (strcmp(req.path, "/redirect") == 0) {
		rcv_answer(conn->fd, 302, "Location: /ok\r\n");
	} else {
		rcv_answer(conn->fd, status, "");
	}
out_free:
	free(buf);
out_close:
	close(conn->fd);
	free(conn);
	return NULL;
}

static void *rcv_accept_main(void *arg)
{
	struct receiver *r = arg;

	while (!atomic_load(&r->stop)) {
		int fd = accept(r->fd, NULL, NULL);
		struct rcv_conn *conn;
		pthread_t t;

		if (fd < 0)
			continue;
		conn = malloc(sizeof(*conn));
		if (!conn) {
			close(fd);
			continue;
		}
		conn->r = r;
		conn->fd = fd;
		if (pthread_create(&t, NULL, rcv_conn_main, conn) != 0) {
			close(fd);
			free(conn);
			continue;
		}
		pthread_detach(t);
	}
	return NULL;
}

/* Starts listening on 127.0.0.1 (ephemeral port in r->port); 0 or -1. */
static inline int rcv_start(struct receiver *r, int hang_ms)
{
	struct sockaddr_in addr;
	socklen_t len = sizeof(addr);
	int one = 1;

	memset(r, 0, sizeof(*r));
	r->hang_ms = hang_ms;
	snprintf(r->signature_header, sizeof(r->signature_header), "B4-Signature");
	pthread_mutex_init(&r->lock, NULL);
	r->fd = socket(AF_INET, SOCK_STREAM, 0);
	if (r->fd < 0)
		return -1;
	setsockopt(r->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	memset(&addr, 0, sizeof(addr));
	addr.sin_family = AF_INET;
	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(r->fd, (struct sockaddr *)&addr, sizeof(addr)) < 0 || listen(r->fd, 512) < 0 ||
	    getsockname(r->fd, (struct sockaddr *)&addr, &len) < 0) {
		close(r->fd);
		return -1;
	}
	r->port = ntohs(addr.sin_port);
	return pthread_create(&r->thread, NULL, rcv_accept_main, r) == 0 ? 0 : -1;
}

/* Stops accepting and frees what was recorded (a connection still being
 * served finishes on its own). */
static inline void rcv_stop(struct receiver *r)
{
	atomic_store(&r->stop, true);
	shutdown(r->fd, SHUT_RDWR); /* wakes the accept */
	pthread_join(r->thread, NULL);
	close(r->fd);
	pthread_mutex_lock(&r->lock);
	for (size_t i = 0; i < r->n; i++)
		free(r->reqs[i].body);
	free(r->reqs);
	r->reqs = NULL;
	r->n = r->cap = 0;
	pthread_mutex_unlock(&r->lock);
}

/* Number of requests recorded so far. */
static inline size_t rcv_count(struct receiver *r)
{
	size_t n;

	pthread_mutex_lock(&r->lock);
	n = r->n;
	pthread_mutex_unlock(&r->lock);
	return n;
}

/* Waits (bounded) until at least want requests arrived. */
static inline bool rcv_wait(struct receiver *r, size_t want, int timeout_ms)
{
	for (int waited = 0; waited < timeout_ms; waited += 20) {
		if (rcv_count(r) >= want)
			return true;
		struct timespec pause = {0, 20 * 1000000L};
		nanosleep(&pause, NULL);
	}
	return rcv_count(r) >= want;
}

/* A copy of request i (its body stays valid until rcv_reset). */
static inline struct rcv_request rcv_get(struct receiver *r, size_t i)
{
	struct rcv_request copy;

	pthread_mutex_lock(&r->lock);
	copy = r->reqs[i];
	pthread_mutex_unlock(&r->lock);
	return copy;
}

/* Waits (bounded) for a request after index from whose body contains
 * both needles; returns its index or -1. */
static inline long rcv_find(struct receiver *r, size_t from, const char *needle_a,
			    const char *needle_b, int timeout_ms)
{
	for (int waited = 0;; waited += 20) {
		pthread_mutex_lock(&r->lock);
		for (size_t i = from; i < r->n; i++) {
			if (r->reqs[i].body && strstr(r->reqs[i].body, needle_a) &&
			    strstr(r->reqs[i].body, needle_b)) {
				pthread_mutex_unlock(&r->lock);
				return (long)i;
			}
		}
		pthread_mutex_unlock(&r->lock);
		if (waited >= timeout_ms)
			return -1;
		struct timespec pause = {0, 20 * 1000000L};
		nanosleep(&pause, NULL);
	}
}

/* Forgets the recorded requests and the per-path counters. */
static inline void rcv_reset(struct receiver *r)
{
	pthread_mutex_lock(&r->lock);
	for (size_t i = 0; i < r->n; i++)
		free(r->reqs[i].body);
	r->n = 0;
	r->flaky_seen = 0;
	r->hang_seen = 0;
	pthread_mutex_unlock(&r->lock);
}

#endif
