/* test_lambda_api.h - a small AWS Lambda Runtime API server (a thread of
 * the test binary) and a way to run `b4-worker --lambda <type>` against it.
 * Included by test_lambda.c and test_invoice.c.
 *
 * The server hands out the queued events on GET .../invocation/next (one
 * per request, request ids "req-1", "req-2", ...), records every POST
 * (path, body, error type header) and, once the events are used up,
 * closes the next /next connection without an answer: the runtime then
 * exits, so a test waits for the process instead of sleeping.
 */
#ifndef TEST_LAMBDA_API_H
#define TEST_LAMBDA_API_H

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "harness.h"

#include "b4/storage.h"
#include "b4/crypto.h"
#include "b4/pii.h"

#define RAPI_MAX 32

struct rapi_post {
	char path[200];
	char error_type[64];
	char *body;
};

struct rapi {
	int listen_fd;
	int port;
	pthread_t thread;
	pthread_mutex_t lock;
	const char *events[RAPI_MAX];
	size_t nevents, served;
	struct rapi_post posts[RAPI_MAX];
	size_t nposts;
	bool done; /* the events are used up and /next was refused */
};

/* Reads one HTTP request (head + Content-Length body) from fd. */
static __attribute__((unused)) char *rapi_read_request(int fd, size_t *head_len, size_t *total)
{
	size_t cap = 1 << 16, len = 0, want = 0;
	char *buf = malloc(cap + 1);

	*head_len = 0;
	while (buf) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		ssize_t n;
		if (poll(&p, 1, 5000) <= 0)
			break;
		n = read(fd, buf + len, cap - len);
		if (n <= 0)
			break;
		len += (size_t)n;
		buf[len] = '\0';
		if (!*head_len) {
			char *end = strstr(buf, "\r\n\r\n");
			if (end) {
				const char *cl = strcasestr(buf, "\r\nContent-Length:");
				*head_len = (size_t)(end - buf) + 4;
				want = *head_len + (cl && cl < end ? (size_t)atol(cl + 17) : 0);
			}
		}
		if (*head_len && len >= want)
			break;
		if (len == cap)
			break;
	}
	*total = len;
	return buf;
}

static __attribute__((unused)) void rapi_reply(int fd, int status, const char *headers,
					       const char *body)
{
	char head[512];
	int n = snprintf(head, sizeof(head),
			 "HTTP/1.1 %d X\r\nContent-Type: application/json\r\n%s"
			 "Content-Length: %zu\r\nConnection: close\r\n\r\n",
			 status, headers, strlen(body));
	if (write(fd, head, (size_t)n) < 0 || write(fd, body, strlen(body)) < 0)
		return;
}

static __attribute__((unused)) void *rapi_main(void *arg)
{
	struct rapi *api = arg;

	for (;;) {
		char method[8] = "", path[256] = "", *req;
		size_t head_len, total;
		int fd = accept(api->listen_fd, NULL, NULL);

		if (fd < 0)
			return NULL; /* listen socket closed: stop */
		req = rapi_read_request(fd, &head_len, &total);
		if (req && sscanf(req, "%7s %255s", method, path) == 2) {
			pthread_mutex_lock(&api->lock);
			if (strcmp(method, "GET") == 0 && strstr(path, "/invocation/next")) {
				if (api->served < api->nevents) {
					char headers[200];
					size_t i = api->served++;
					snprintf(headers, sizeof(headers),
						 "Lambda-Runtime-Aws-Request-Id: req-%zu\r\n"
						 "Lambda-Runtime-Deadline-Ms: 4102444800000\r\n",
						 i + 1);
					rapi_reply(fd, 200, headers, api->events[i]);
				} else {
					api->done = true; /* close without an answer */
				}
			} else if (strcmp(method, "POST") == 0 && api->nposts < RAPI_MAX) {
				struct rapi_post *p = &api->posts[api->nposts++];
				static const char needle[] =
				    "\r\nLambda-Runtime-Function-Error-Type:";
				const char *type = strcasestr(req, needle);
				snprintf(p->path, sizeof(p->path), "%s", path);
				if (type && (size_t)(type - req) < head_len)
					sscanf(type + sizeof(needle) - 1, " %63[^\r\n]",
					       p->error_type);
				p->body = strndup(req + head_len, total - head_len);
				rapi_reply(fd, 202, "", "{\"status\":\"OK\"}");
			} else {
				rapi_reply(fd, 404, "", "{}");
			}
			pthread_mutex_unlock(&api->lock);
		}
		free(req);
		close(fd);
	}
}

/* Starts the server on 127.0.0.1 (ephemeral port) with events queued. */
static __attribute__((unused)) int rapi_start(struct rapi *api, const char *const *events,
					      size_t nevents)
{
	struct sockaddr_in addr = {.sin_family = AF_INET};
	socklen_t alen = sizeof(addr);

	memset(api, 0, sizeof(*api));
	pthread_mutex_init(&api->lock, NULL);
	for (size_t i = 0; i < nevents && i < RAPI_MAX; i++)
		api->events[api->nevents++] = events[i];
	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	api->listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (api->listen_fd < 0 ||
	    bind(api->listen_fd, (struct sockaddr *)&addr, sizeof(addr)) < 0 ||
	    listen(api->listen_fd, 16) < 0 ||
	    getsockname(api->listen_fd, (struct sockaddr *)&addr, &alen) < 0)
		return -1;
	api->port = ntohs(addr.sin_port);
	return pthread_create(&api->thread, NULL, rapi_main, api) == 0 ? 0 : -1;
}

static __attribute__((unused)) void rapi_stop(struct rapi *api)
{
	shutdown(api->listen_fd, SHUT_RDWR);
	close(api->listen_fd);
	pthread_join(api->thread, NULL);
	for (size_t i = 0; i < api->nposts; i++)
		free(api->posts[i].body);
	pthread_mutex_destroy(&api->lock);
}

/* The recorded POST whose path ends with suffix, or NULL. */
static __attribute__((unused)) const struct rapi_post *rapi_find(const struct rapi *api,
								 const char *suffix)
{
	size_t slen = strlen(suffix);
	for (size_t i = 0; i < api->nposts; i++) {
		size_t plen = strlen(api->posts[i].path);
		if (plen >= slen && strcmp(api->posts[i].path + plen - slen, suffix) == 0)
			return &api->posts[i];
	}
	return NULL;
}

/* Does this build of b4-worker understand --lambda?  (workers/main.c
 * hands it to worker_lambda_main; a build without that hook refuses the
 * flag like any unknown option.) */
static __attribute__((unused)) bool rapi_worker_has_lambda(void)
{
	char cmd[1300], out[512] = "";
	FILE *p;

	/* with the hook, the missing runtime API is what it complains about */
	snprintf(cmd, sizeof(cmd),
		 "env -u AWS_LAMBDA_RUNTIME_API B4_NO_DB=true '%s/bin/b4-worker' --lambda"
		 " invoice.issue 2>&1",
		 h_build());
	p = popen(cmd, "r");
	if (!p)
		return false;
	out[fread(out, 1, sizeof(out) - 1, p)] = '\0';
	pclose(p);
	return strstr(out, "AWS_LAMBDA_RUNTIME_API") != NULL;
}

/* Fails the calling test when b4-worker has no Lambda mode. */
#define RAPI_REQUIRE_LAMBDA_HOOK()                                                                 \
	do {                                                                                       \
		if (!rapi_worker_has_lambda())                                                     \
			fail_msg("b4-worker has no --lambda mode (workers/main.c must call "       \
				 "worker_lambda_main)");                                           \
	} while (0)

/* In a child: sends stdout and stderr to the file at path. */
static __attribute__((unused)) void rapi_redirect_output(const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_APPEND, 0644);
	if (fd >= 0) {
		dup2(fd, STDOUT_FILENO);
		dup2(fd, STDERR_FILENO);
		close(fd);
	}
}

/* Runs `b4-worker --lambda handler` against api with the test database
 * (db) and extra env ("K=V", NULL-terminated); waits (20 s max) for it
 * to exit and returns its exit status (-1 when it had to be killed). */
static __attribute__((unused)) int rapi_run_worker(struct rapi *api, const char *handler,
						   const char *db, const char *const *env)
{
	static int counter;
	char bin[1100], log_path[1200], api_env[64];
	long long deadline;
	int status;
	pid_t pid;

	snprintf(bin, sizeof(bin), "%s/bin/b4-worker", h_build());
	snprintf(log_path, sizeof(log_path), "%s/logs", h_var());
	mkdir(log_path, 0755);
	snprintf(log_path, sizeof(log_path), "%s/logs/b4-worker-lambda-%d-%d.log", h_var(),
		 (int)getpid(), ++counter);
	snprintf(api_env, sizeof(api_env), "AWS_LAMBDA_RUNTIME_API=127.0.0.1:%d", api->port);
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		char port_env[64], name_env[200], sock_env[1200];
		const char *sock = getenv("B4_TEST_DB_SOCKET");
		rapi_redirect_output(log_path);
		setenv("B4_ENV", "test", 1);
		setenv("B4_LOG_LEVEL", "info", 1);
		setenv("B4_FIELD_KEYS", H_FIELD_KEYS, 1);
		setenv("B4_BLIND_INDEX_KEY", H_BLIND_INDEX_KEY, 1);
		setenv("B4_DB_HOST", "127.0.0.1", 1);
		setenv("B4_DB_USER", "b4", 1);
		setenv("B4_DB_PASSWORD", "b4dev", 1);
		snprintf(port_env, sizeof(port_env), "B4_DB_PORT=%d", h_db_port());
		snprintf(name_env, sizeof(name_env), "B4_DB_NAME=%s", db ? db : "");
		snprintf(sock_env, sizeof(sock_env), "B4_DB_SOCKET=%s", sock ? sock : "");
		putenv(port_env);
		putenv(name_env);
		putenv(sock_env);
		putenv(api_env);
		for (size_t i = 0; env && env[i]; i++)
			putenv((char *)env[i]);
		execl(bin, bin, "--lambda", handler, (char *)NULL);
		_exit(127);
	}
	deadline = h_now_ms() + 20000;
	while (h_now_ms() < deadline) {
		pid_t done = waitpid(pid, &status, WNOHANG);
		if (done == pid)
			return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
		h_sleep_ms(20);
	}
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	fprintf(stderr, "lambda worker did not exit; log: %s\n", log_path);
	return -1;
}

/* ---- suite fixtures: a seeded database and a private objects directory -- */

static __attribute__((unused)) const char *rapi_db;
static __attribute__((unused)) char rapi_objects_dir[1200];
static __attribute__((unused)) char rapi_storage_env[1300]; /* "B4_STORAGE_DIR=..." */

/* Loads the test keys, creates database <prefix>_<pid> with the demo seed
 * and an empty objects directory.  Returns 0 or -1. */
static __attribute__((unused)) int rapi_suite_setup(const char *prefix)
{
	char cmd[1400];

	setenv("B4_FIELD_KEYS", H_FIELD_KEYS, 1);
	setenv("B4_BLIND_INDEX_KEY", H_BLIND_INDEX_KEY, 1);
	if (!b4_pii_ready() && b4_pii_init(prefix) < 0)
		return -1;
	rapi_db = h_db_create(prefix, true);
	snprintf(rapi_objects_dir, sizeof(rapi_objects_dir), "%s/objects-%s-%d", h_var(), prefix,
		 (int)getpid());
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", rapi_objects_dir);
	if (system(cmd) != 0)
		return -1;
	snprintf(rapi_storage_env, sizeof(rapi_storage_env), "B4_STORAGE_DIR=%s", rapi_objects_dir);
	return rapi_db ? 0 : -1;
}

/* An object the worker stored under rapi_objects_dir, read back through
 * the storage layer with the services' keys; on the way it checks that the
 * file at rest is an envelope (objects are sealed at rest) that does not
 * hold `secret` (may be NULL) in clear.  malloc'd (free it), *len set;
 * NULL when there is no such object. */
static __attribute__((unused)) char *rapi_object_read(const char *key, const char *secret,
						      size_t *len)
{
	struct b4_storage_config cfg = {
	    .backend = B4_STORAGE_LOCAL, .dir = rapi_objects_dir, .encryption_keys = H_FIELD_KEYS};
	char err[256], path[2800], *raw, *data = NULL;
	struct b4_storage *st;
	size_t raw_len;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", rapi_objects_dir, key);
	f = fopen(path, "rb");
	if (!f)
		return NULL;
	raw = calloc(1, 1 << 20);
	assert_non_null(raw);
	raw_len = fread(raw, 1, 1 << 20, f);
	fclose(f);
	assert_true(raw_len > 4);
	assert_memory_equal(raw, "B4S1", 4);
	for (size_t i = 0; secret && i + strlen(secret) <= raw_len; i++)
		assert_false(memcmp(raw + i, secret, strlen(secret)) == 0);
	free(raw);
	st = b4_storage_new(&cfg, err, sizeof(err));
	assert_non_null(st);
	assert_int_equal(b4_storage_get(st, key, &data, len), 1);
	b4_storage_free(st);
	return data;
}

/* Runs SQL in the suite database or fails the test. */
static __attribute__((unused)) void rapi_sql(const char *sql)
{
	if (h_sql(rapi_db, sql) != 0)
		fail_msg("SQL failed: %s", sql);
}

/* Makes a customer with the document encrypted the way checkout does;
 * email NULL means buyer-<id>@example.com. */
static __attribute__((unused)) void rapi_make_customer(char id[37], const char *document,
						       const char *type, const char *name,
						       const char *email)
{
	char sql[2048], bidx[65], own_email[80];
	char *enc = b4_pii_encrypt("customers.document_enc", document);

	if (!enc || b4_crypto_uuid7(id) < 0 || b4_pii_blind_index("document", document, bidx) < 0)
		fail_msg("cannot encrypt the test document");
	if (!email) {
		snprintf(own_email, sizeof(own_email), "buyer-%s@example.com", id);
		email = own_email;
	}
	snprintf(sql, sizeof(sql),
		 "INSERT INTO customers (id, email, full_name, document_enc, document_bidx,"
		 " document_type) VALUES ('%s', '%s', '%s', '%s', '%s', '%s')",
		 id, email, name, enc, bidx, type);
	free(enc);
	rapi_sql(sql);
}

#endif
