/* awsmeta.h - a loopback stand-in for the AWS credential endpoints: the ECS
 * container endpoint (GET /v2/credentials/task, optionally checking an
 * Authorization value) and EC2 instance metadata with IMDSv2 (PUT
 * /latest/api/token with the TTL header, then the role name and its
 * credentials under /latest/meta-data/iam/security-credentials/, each GET
 * needing the token).  The credentials served carry a session token
 * "session-<n>" (n counts the documents served) and expire
 * expires_in_seconds from now.  Header-only (static functions), like
 * receiver.h; one connection at a time on an ephemeral port. */
#ifndef TEST_AWSMETA_H
#define TEST_AWSMETA_H

#include "harness.h"
#include "receiver.h"

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

#define AWSMETA_IMDS_TOKEN "imds-token-7f3a"
#define AWSMETA_ROLE	   "b4-worker-role"
#define AWSMETA_CREDS_PATH "/latest/meta-data/iam/security-credentials/"

struct awsmeta {
	int fd;
	int port;
	pthread_t thread;
	atomic_bool stop;
	pthread_mutex_t lock;
	/* set by the test (under lock once started) */
	char key_id[64];
	char secret[64];
	long expires_in_seconds;
	bool fail;		 /* answer 500 to every credentials document */
	char required_auth[128]; /* container: Authorization must equal this */
	/* seen */
	int documents;	/* credential documents served */
	int token_puts; /* IMDSv2 token PUTs with the TTL header */
	int refused;	/* requests answered 401/400/404 */
	char last_path[128];
};

static void awsmeta_reply(int fd, int status, const char *type, const char *body)
{
	char head[256];
	int len = snprintf(head, sizeof(head),
			   "HTTP/1.1 %d X\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
			   "Connection: close\r\n\r\n",
			   status, type, strlen(body));

	if (write(fd, head, (size_t)len) < 0 || write(fd, body, strlen(body)) < 0)
		return;
}

/* The credentials document; called with the lock held. */
static void awsmeta_document(struct awsmeta *m, int fd)
{
	char body[1024], expiration[32];
	time_t at = time(NULL) + m->expires_in_seconds;
	struct tm tm;

	if (m->fail) {
		awsmeta_reply(fd, 500, "text/plain", "down");
		return;
	}
	gmtime_r(&at, &tm);
	strftime(expiration, sizeof(expiration), "%Y-%m-%dT%H:%M:%SZ", &tm);
	m->documents++;
	snprintf(body, sizeof(body),
		 "{\"Code\":\"Success\",\"Type\":\"AWS-HMAC\",\"AccessKeyId\":\"%s\","
		 "\"SecretAccessKey\":\"%s\",\"Token\":\"session-%d\",\"Expiration\":\"%s\","
		 "\"RoleArn\":\"arn:aws:iam::123456789012:role/b4\"}",
		 m->key_id, m->secret, m->documents, expiration);
	awsmeta_reply(fd, 200, "application/json", body);
}

static void awsmeta_serve(struct awsmeta *m, int fd)
{
	char buf[8192], method[8] = "", path[128] = "", value[256];
	size_t used = 0;

	while (used < sizeof(buf) - 1) {
		ssize_t got = read(fd, buf + used, sizeof(buf) - 1 - used);
		if (got <= 0)
			return;
		used += (size_t)got;
		buf[used] = '\0';
		if (strstr(buf, "\r\n\r\n"))
			break;
	}
	sscanf(buf, "%7s %127s", method, path);
	pthread_mutex_lock(&m->lock);
	snprintf(m->last_path, sizeof(m->last_path), "%s", path);
	if (strcmp(method, "GET") == 0 && strcmp(path, "/v2/credentials/task") == 0) {
		rcv_header(buf, "Authorization", value, sizeof(value));
		if (m->required_auth[0] && strcmp(value, m->required_auth) != 0) {
			m->refused++;
			awsmeta_reply(fd, 401, "text/plain", "no");
		} else {
			awsmeta_document(m, fd);
		}
	} else if (strcmp(method, "PUT") == 0 && strcmp(path, "/latest/api/token") == 0) {
		rcv_header(buf, "X-aws-ec2-metadata-token-ttl-seconds", value, sizeof(value));
		if (atoi(value) < 1) {
			m->refused++;
			awsmeta_reply(fd, 400, "text/plain", "ttl");
		} else {
			m->token_puts++;
			awsmeta_reply(fd, 200, "text/plain", AWSMETA_IMDS_TOKEN);
		}
	} else if (strcmp(method, "GET") == 0 &&
		   strncmp(path, AWSMETA_CREDS_PATH, strlen(AWSMETA_CREDS_PATH)) == 0) {
		rcv_header(buf, "X-aws-ec2-metadata-token", value, sizeof(value));
		if (strcmp(value, AWSMETA_IMDS_TOKEN) != 0) {
			m->refused++; /* IMDSv1 is off */
			awsmeta_reply(fd, 401, "text/plain", "token");
		} else if (path[strlen(AWSMETA_CREDS_PATH)] == '\0') {
			awsmeta_reply(fd, 200, "text/plain", AWSMETA_ROLE "\n");
		} else if (strcmp(path + strlen(AWSMETA_CREDS_PATH), AWSMETA_ROLE) == 0) {
			awsmeta_document(m, fd);
		} else {
			m->refused++;
			awsmeta_reply(fd, 404, "text/plain", "role");
		}
	} else {
		m->refused++;
		awsmeta_reply(fd, 404, "text/plain", "path");
	}
	pthread_mutex_unlock(&m->lock);
}

static void *awsmeta_main(void *arg)
{
	struct awsmeta *m = arg;

	while (!atomic_load(&m->stop)) {
		int fd = accept(m->fd, NULL, NULL);
		if (fd < 0)
			continue;
		awsmeta_serve(m, fd);
		close(fd);
	}
	return NULL;
}

/* Starts on 127.0.0.1 with the given credentials; 0 or -1. */
static inline int awsmeta_start(struct awsmeta *m, const char *key_id, const char *secret)
{
	memset(m, 0, sizeof(*m));
	snprintf(m->key_id, sizeof(m->key_id), "%s", key_id);
	snprintf(m->secret, sizeof(m->secret), "%s", secret);
	m->expires_in_seconds = 3600;
	pthread_mutex_init(&m->lock, NULL);
	m->fd = h_listen_loopback(&m->port);
	if (m->fd < 0)
		return -1;
	return pthread_create(&m->thread, NULL, awsmeta_main, m) == 0 ? 0 : -1;
}

static inline void awsmeta_stop(struct awsmeta *m)
{
	atomic_store(&m->stop, true);
	shutdown(m->fd, SHUT_RDWR);
	pthread_join(m->thread, NULL);
	close(m->fd);
}

/* Reads a counter under the lock. */
static inline int awsmeta_count(struct awsmeta *m, const int *field)
{
	int n;

	pthread_mutex_lock(&m->lock);
	n = *field;
	pthread_mutex_unlock(&m->lock);
	return n;
}

#endif
