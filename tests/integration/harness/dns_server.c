/* Test DNS server (dns_server.h): RFC 1035 messages, enough of them for a
 * stub resolver asking A and AAAA with one question. */
#include "dns_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_RECORDS 16
#define MAX_ZONE    16

struct zone_entry {
	char name[128];
	uint8_t v4[MAX_RECORDS][4];
	size_t nv4;
	uint8_t v6[MAX_RECORDS][16];
	size_t nv6;
	uint32_t ttl;
	int queries;
};

struct dns_server {
	int fd;
	int port;
	pthread_t thread;
	atomic_int stopping;
	pthread_mutex_t mu;
	struct zone_entry zone[MAX_ZONE];
	size_t nzone;
};

/* The question's name as dotted text; returns the offset after it, or 0. */
static size_t read_name(const uint8_t *msg, size_t len, size_t off, char *out, size_t cap)
{
	size_t n = 0;
	while (off < len && msg[off] != 0) {
		size_t l = msg[off++];
		if (l > 63 || off + l > len || n + l + 2 > cap)
			return 0;
		if (n)
			out[n++] = '.';
		memcpy(out + n, msg + off, l);
		n += l;
		off += l;
	}
	if (off >= len)
		return 0;
	out[n] = '\0';
	return off + 1;
}

static void put16(uint8_t *p, unsigned v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, v >> 16);
	put16(p + 2, v & 0xffff);
}

/* Builds the answer to query q[0..qlen) into out; returns its length or 0. */
static size_t answer(struct dns_server *s, const uint8_t *q, size_t qlen, uint8_t *out, size_t cap)
{
	char name[256];
	size_t qend, len, nans = 0;
	unsigned qtype, rcode = 0;
	struct zone_entry *z = NULL;

	if (qlen < 12 || (q[2] & 0x80) || q[4] != 0 || q[5] != 1)
		return 0;
	qend = read_name(q, qlen, 12, name, sizeof(name));
	if (!qend || qend + 4 > qlen || qend + 4 > cap)
		return 0;
	qtype = (unsigned)(q[qend] << 8 | q[qend + 1]);
	qend += 4;
	memcpy(out, q, qend); /* id, flags (fixed below), counts, question */
	len = qend;
	pthread_mutex_lock(&s->mu);
	for (size_t i = 0; i < s->nzone; i++)
		if (strcasecmp(s->zone[i].name, name) == 0)
			z = &s->zone[i];
	if (!z) {
		rcode = 3; /* NXDOMAIN */
	} else {
		size_t n = qtype == 1 ? z->nv4 : qtype == 28 ? z->nv6 : 0;
		size_t rdlen = qtype == 1 ? 4 : 16;
		z->queries++;
		for (size_t i = 0; i < n && len + 12 + rdlen <= cap; i++, nans++) {
			put16(out + len, 0xc00c); /* the question's name */
			put16(out + len + 2, qtype);
			put16(out + len + 4, 1);
			put32(out + len + 6, z->ttl);
			put16(out + len + 10, (unsigned)rdlen);
			memcpy(out + len + 12, qtype == 1 ? z->v4[i] : z->v6[i], rdlen);
			len += 12 + rdlen;
		}
	}
	pthread_mutex_unlock(&s->mu);
	out[2] = (uint8_t)(0x84 | (q[2] & 0x01)); /* QR, AA, RD copied */
	out[3] = (uint8_t)rcode;
	put16(out + 4, 1);
	put16(out + 6, (unsigned)nans);
	put16(out + 8, 0);
	put16(out + 10, 0);
	return len;
}

static void *serve(void *arg)
{
	struct dns_server *s = arg;
	uint8_t q[1500], out[1500];

	while (!atomic_load(&s->stopping)) {
		struct pollfd pfd = {s->fd, POLLIN, 0};
		struct sockaddr_storage from;
		socklen_t fl = sizeof(from);
		ssize_t n;
		size_t alen;
		if (poll(&pfd, 1, 100) <= 0)
			continue;
		n = recvfrom(s->fd, q, sizeof(q), 0, (struct sockaddr *)&from, &fl);
		if (n <= 0)
			continue;
		alen = answer(s, q, (size_t)n, out, sizeof(out));
		if (alen)
			sendto(s->fd, out, alen, 0, (struct sockaddr *)&from, fl);
	}
	return NULL;
}

struct dns_server *dns_server_start(void)
{
	struct dns_server *s = calloc(1, sizeof(*s));
	struct sockaddr_in sa = {0};
	socklen_t sl = sizeof(sa);

	if (!s)
		return NULL;
	pthread_mutex_init(&s->mu, NULL);
	s->fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (s->fd < 0 || bind(s->fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
	    getsockname(s->fd, (struct sockaddr *)&sa, &sl) != 0)
		goto out_close;
	s->port = ntohs(sa.sin_port);
	if (pthread_create(&s->thread, NULL, serve, s) != 0)
		goto out_close;
	return s;
out_close:
	if (s->fd >= 0)
		close(s->fd);
	free(s);
	return NULL;
}

int dns_server_port(const struct dns_server *s)
{
	return s->port;
}

int dns_server_set(struct dns_server *s, const char *name, const char *const *addresses,
		   size_t naddrs, uint32_t ttl)
{
	struct zone_entry e;
	int rc = 0;

	memset(&e, 0, sizeof(e));
	snprintf(e.name, sizeof(e.name), "%s", name);
	e.ttl = ttl;
	for (size_t i = 0; i < naddrs; i++) {
		if (e.nv4 < MAX_RECORDS && inet_pton(AF_INET, addresses[i], e.v4[e.nv4]) == 1)
			e.nv4++;
		else if (e.nv6 < MAX_RECORDS && inet_pton(AF_INET6, addresses[i], e.v6[e.nv6]) == 1)
			e.nv6++;
		else
			return -1;
	}
	pthread_mutex_lock(&s->mu);
	{
		size_t i;
		for (i = 0; i < s->nzone && strcasecmp(s->zone[i].name, name) != 0; i++)
			;
		if (i < s->nzone) {
			e.queries = s->zone[i].queries;
			s->zone[i] = e;
		} else if (s->nzone < MAX_ZONE) {
			s->zone[s->nzone++] = e;
		} else {
			rc = -1;
		}
	}
	pthread_mutex_unlock(&s->mu);
	return rc;
}

int dns_server_queries(struct dns_server *s, const char *name)
{
	int n = 0;
	pthread_mutex_lock(&s->mu);
	for (size_t i = 0; i < s->nzone; i++)
		if (strcasecmp(s->zone[i].name, name) == 0)
			n = s->zone[i].queries;
	pthread_mutex_unlock(&s->mu);
	return n;
}

void dns_server_stop(struct dns_server *s)
{
	if (!s)
		return;
	atomic_store(&s->stopping, 1);
	pthread_join(s->thread, NULL);
	close(s->fd);
	pthread_mutex_destroy(&s->mu);
	free(s);
}
