/* test_http_server.c - the libcommon HTTP server under stress: graceful
 * drain on SIGTERM, 503 when the queue is full, clients that vanish
 * mid-request, handlers that forget to answer, header limits.  A child
 * process runs b4_server_run with test routes (a slow handler is what makes
 * these cases observable); the parent talks HTTP to it. */
#include "harness.h"

#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "b4/http.h"
#include "b4/log.h"

static void slow(struct b4_req *req)
{
	const char *ms = b4_req_query(req, "ms");
	int wait_ms = ms ? atoi(ms) : 500;
	struct timespec ts = {wait_ms / 1000, (long)(wait_ms % 1000) * 1000000L};
	cJSON *out = cJSON_CreateObject();

	nanosleep(&ts, NULL);
	cJSON_AddNumberToObject(out, "slept_ms", wait_ms);
	b4_req_send_json(req, 200, out);
}

static void echo(struct b4_req *req)
{
	cJSON *out = cJSON_CreateObject();
	cJSON_AddNumberToObject(out, "len", (double)req->body_len);
	b4_req_send_json(req, 200, out);
}

static void silent(struct b4_req *req)
{
	(void)req; /* forgets to answer: the server must answer 500 */
}

static const struct b4_route routes[] = {
    {"GET", "/slow", slow, B4_ROLE_PUBLIC},
    {"POST", "/echo", echo, B4_ROLE_PUBLIC},
    {"GET", "/silent", silent, B4_ROLE_PUBLIC},
};

struct server {
	pid_t pid;
	int port;
	char port_file[512];
};

static int start_server(struct server *s, int workers, int queue_max, double drain)
{
	static int n;
	long long deadline;

	snprintf(s->port_file, sizeof(s->port_file), "%s/http-server-%d-%d.port", h_var(),
		 (int)getpid(), ++n);
	unlink(s->port_file);
	s->pid = fork();
	if (s->pid < 0)
		return -1;
	if (s->pid == 0) {
		struct b4_server_config cfg = {
		    .service = "test-server",
		    .bind_address = "127.0.0.1",
		    .port = 0,
		    .port_file = s->port_file,
		    .loop_threads = 1,
		    .worker_threads = workers,
		    .queue_max = queue_max,
		    .max_header_bytes = 4096,
		    .max_body_bytes = 65536,
		    .idle_timeout = 5,
		    .drain_seconds = drain,
		    .routes = routes,
		    .nroutes = sizeof(routes) / sizeof(routes[0]),
		};
		char logpath[1100];
		snprintf(logpath, sizeof(logpath), "%s/logs", h_var());
		mkdir(logpath, 0755);
		snprintf(logpath, sizeof(logpath), "%s/logs/test-server-%d.log", h_var(),
			 (int)getpid());
		if (!freopen(logpath, "a", stdout))
			_exit(3);
		b4_log_init("test-server", B4_LOG_INFO);
		_exit(b4_server_run(&cfg) == 0 ? 0 : 1);
	}
	deadline = h_now_ms() + 5000;
	while (h_now_ms() < deadline) {
		FILE *f = fopen(s->port_file, "r");
		if (f) {
			int ok = fscanf(f, "http=%d", &s->port);
			fclose(f);
			if (ok == 1)
				return 0;
		}
		h_sleep_ms(10);
	}
	kill(s->pid, SIGKILL);
	return -1;
}

static int wait_exit(struct server *s, int timeout_ms)
{
	long long deadline = h_now_ms() + timeout_ms;
	int status;

	while (h_now_ms() < deadline) {
		if (waitpid(s->pid, &status, WNOHANG) == s->pid)
			return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
		h_sleep_ms(10);
	}
	kill(s->pid, SIGKILL);
	waitpid(s->pid, &status, 0);
	return -1;
}

static const char *url(const struct server *s, const char *path)
{
	static char bufs[4][256];
	static int i;
	char *b = bufs[i++ % 4];
	snprintf(b, 256, "http://127.0.0.1:%d%s", s->port, path);
	return b;
}

struct call {
	const char *url;
	long status;
	char retry_after[16];
	char type[32];
};

static void *call_thread(void *arg)
{
	struct call *c = arg;
	struct h_resp r;

	if (h_http(&r, "GET", c->url, NULL, NULL) == 0) {
		const char *ra = h_resp_header(&r, "Retry-After");
		const char *type = h_json_str(&r, "error.type");
		c->status = r.status;
		snprintf(c->retry_after, sizeof(c->retry_after), "%s", ra ? ra : "");
		snprintf(c->type, sizeof(c->type), "%s", type ? type : "");
	}
	h_resp_free(&r);
	return NULL;
}

static void test_sigterm_drains_in_flight_request(void **state)
{
	struct server s;
	struct call c;
	pthread_t t;
	struct h_resp r;
	bool closed;
	char *reply;
	(void)state;

	assert_int_equal(start_server(&s, 2, 16, 10), 0);
	assert_int_equal(h_http(&r, "GET", url(&s, "/readyz"), NULL, NULL), 0);
	assert_int_equal(r.status, 200);
	h_resp_free(&r);

	memset(&c, 0, sizeof(c));
	c.url = url(&s, "/slow?ms=1500");
	pthread_create(&t, NULL, call_thread, &c);
	h_sleep_ms(300); /* the request is now with a worker */
	kill(s.pid, SIGTERM);
	h_sleep_ms(200);
	/* no new connections once draining */
	reply = h_raw(s.port, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n", 33, 500, &closed);
	assert_null(strstr(reply, "200 OK"));
	free(reply);
	pthread_join(t, NULL);
	/* ...but the request in flight finished normally */
	assert_int_equal(c.status, 200);
	assert_int_equal(wait_exit(&s, 5000), 0);
}

static void test_drain_time_bounds_exit(void **state)
{
	struct server s;
	struct call c;
	pthread_t t;
	long long started;
	(void)state;

	assert_int_equal(start_server(&s, 1, 16, 1), 0);
	memset(&c, 0, sizeof(c));
	c.url = url(&s, "/slow?ms=8000");
	pthread_create(&t, NULL, call_thread, &c);
	h_sleep_ms(300);
	started = h_now_ms();
	kill(s.pid, SIGTERM);
	/* drain_seconds = 1: the process leaves well before the handler ends */
	assert_int_equal(wait_exit(&s, 6000), 0);
	assert_true(h_now_ms() - started < 6000);
	pthread_join(t, NULL);
	assert_int_not_equal(c.status, 200);
}

static void test_full_queue_answers_503_with_retry_after(void **state)
{
	struct server s;
	struct call calls[4];
	pthread_t threads[4];
	int ok = 0, busy = 0;
	(void)state;

	assert_int_equal(start_server(&s, 1, 1, 5), 0);
	for (int i = 0; i < 4; i++) {
		memset(&calls[i], 0, sizeof(calls[i]));
		calls[i].url = url(&s, "/slow?ms=700");
		pthread_create(&threads[i], NULL, call_thread, &calls[i]);
		h_sleep_ms(50);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(threads[i], NULL);
		if (calls[i].status == 200)
			ok++;
		if (calls[i].status == 503) {
			busy++;
			assert_string_equal(calls[i].retry_after, "1");
			assert_string_equal(calls[i].type, "api_error");
		}
	}
	/* one running + one queued succeed; the rest are refused, not lost */
	assert_int_equal(ok, 2);
	assert_int_equal(busy, 2);
	kill(s.pid, SIGTERM);
	assert_int_equal(wait_exit(&s, 5000), 0);
}

static void test_client_gone_mid_request_is_harmless(void **state)
{
	static const char slow_req[] = "GET /slow?ms=400 HTTP/1.1\r\nHost: x\r\n\r\n";
	struct server s;
	struct h_resp r;
	bool closed;
	(void)state;

	assert_int_equal(start_server(&s, 2, 16, 5), 0);
	for (int i = 0; i < 5; i++) {
		/* send, then hang up before the answer */
		free(h_raw(s.port, slow_req, sizeof(slow_req) - 1, 50, &closed));
	}
	h_sleep_ms(800);
	assert_int_equal(h_http(&r, "POST", url(&s, "/echo"), "{\"a\":1}", NULL), 0);
	assert_int_equal(r.status, 200);
	h_resp_free(&r);
	kill(s.pid, SIGTERM);
	assert_int_equal(wait_exit(&s, 5000), 0);
}

static void test_handler_without_answer_is_500(void **state)
{
	struct server s;
	struct h_resp r;
	(void)state;

	assert_int_equal(start_server(&s, 1, 16, 5), 0);
	assert_int_equal(h_http(&r, "GET", url(&s, "/silent"), NULL, NULL), 0);
	assert_int_equal(r.status, 500);
	assert_string_equal(h_json_str(&r, "error.type"), "api_error");
	h_resp_free(&r);
	kill(s.pid, SIGTERM);
	assert_int_equal(wait_exit(&s, 5000), 0);
}

static void test_oversized_head_is_refused(void **state)
{
	struct server s;
	struct h_resp r;
	char *head = malloc(10000), *reply;
	bool closed;
	int n;
	(void)state;

	assert_int_equal(start_server(&s, 1, 16, 5), 0);
	n = snprintf(head, 10000, "GET /slow?ms=1 HTTP/1.1\r\nHost: x\r\nX-Big: ");
	memset(head + n, 'a', 6000);
	memcpy(head + n + 6000, "\r\n\r\n", 5);
	reply = h_raw(s.port, head, strlen(head), 2000, &closed);
	assert_null(strstr(reply, "200 OK"));
	assert_true(closed);
	free(reply);
	free(head);
	/* still serving */
	assert_int_equal(h_http(&r, "GET", url(&s, "/slow?ms=1"), NULL, NULL), 0);
	assert_int_equal(r.status, 200);
	h_resp_free(&r);
	kill(s.pid, SIGTERM);
	assert_int_equal(wait_exit(&s, 5000), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_sigterm_drains_in_flight_request),
	    cmocka_unit_test(test_drain_time_bounds_exit),
	    cmocka_unit_test(test_full_queue_answers_503_with_retry_after),
	    cmocka_unit_test(test_client_gone_mid_request_is_harmless),
	    cmocka_unit_test(test_handler_without_answer_is_500),
	    cmocka_unit_test(test_oversized_head_is_refused),
	};
	struct h_resp warm;

	/* initialise libcurl once before any thread uses it */
	h_http(&warm, "GET", "http://127.0.0.1:1/", NULL, NULL);
	h_resp_free(&warm);
	return cmocka_run_group_tests_name("http_server", tests, NULL, NULL);
}
