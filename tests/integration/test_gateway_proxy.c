/* b4-gateway proxying: routing, prefix strip, request ids, forwarding
 * headers, keep-alive reuse, load balancing, failover, retry safety,
 * timeouts, health checks, limits, rate limiting, metrics, settings. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "gw_support.h"

#define DEFAULT_POOL ", \"health_check\": {\"interval_ms\": 0}, \"passive\": {\"failures\": 0}"
#define DEFAULT_TOP                                                                                \
	", \"timeouts\": {\"connect_ms\": 500, \"first_byte_ms\": 5000, \"total_ms\": 10000}"

/* A config with pool "api" on the given instances.  pool_opts replaces the
 * pool's options (DEFAULT_POOL when NULL), top_opts the top-level ones
 * (DEFAULT_TOP when NULL); both start with ",". */
static void make_config(char *out, size_t cap, const char *instances, const char *pool_opts,
			const char *top_opts)
{
	snprintf(out, cap,
		 "{\"routes\": [{\"prefix\": \"/api\", \"upstream\": \"api\"},"
		 "              {\"name\": \"raw\", \"prefix\": \"/raw\", \"strip_prefix\": false,"
		 "               \"upstream\": \"api\"}],"
		 " \"upstreams\": {\"api\": {\"instances\": [%s]%s}},"
		 " \"rate_limits\": [], \"trusted_proxies\": []%s}",
		 instances, pool_opts ? pool_opts : DEFAULT_POOL,
		 top_opts ? top_opts : DEFAULT_TOP);
}

struct fixture {
	struct gw_backend *a, *b;
	struct gw_gateway gw;
};

static int start_one(struct fixture *fx, const char *extra_pool, const char *extra_top)
{
	char inst[64], cfg[4096];
	fx->a = gw_backend_start("A");
	if (!fx->a)
		return -1;
	snprintf(inst, sizeof(inst), "\"127.0.0.1:%d\"", fx->a->port);
	make_config(cfg, sizeof(cfg), inst, extra_pool, extra_top);
	return gw_gateway_start(&fx->gw, cfg, NULL);
}

static int start_two(struct fixture *fx, int weight_a, int weight_b, const char *extra_pool,
		     const char *extra_top)
{
	char inst[256], cfg[4096];
	fx->a = gw_backend_start("A");
	fx->b = gw_backend_start("B");
	if (!fx->a || !fx->b)
		return -1;
	snprintf(inst, sizeof(inst),
		 "{\"address\": \"127.0.0.1:%d\", \"weight\": %d},"
		 "{\"address\": \"127.0.0.1:%d\", \"weight\": %d}",
		 fx->a->port, weight_a, fx->b->port, weight_b);
	make_config(cfg, sizeof(cfg), inst, extra_pool, extra_top);
	return gw_gateway_start(&fx->gw, cfg, NULL);
}

static void stop_all(struct fixture *fx)
{
	if (fx->gw.pid > 0)
		gw_gateway_stop(&fx->gw, 5000);
	gw_backend_free(fx->a);
	gw_backend_free(fx->b);
	memset(fx, 0, sizeof(*fx));
}

/* One fixture for the running test, so a failed assertion still stops the
 * gateway and the backends (teardown). */
static struct fixture f;
static struct h_proc service; /* a real b4 service behind the gateway */

static int teardown(void **state)
{
	(void)state;
	stop_all(&f);
	if (service.pid > 0)
		h_stop(&service, SIGTERM, 10000);
	memset(&service, 0, sizeof(service));
	return 0;
}

static void test_routing_and_prefix_strip(void **state)
{
	memset(&f, 0, sizeof(f));
	struct gw_response r;
	char rid[200];
	(void)state;

	assert_int_equal(start_one(&f, NULL, NULL), 0);
	assert_int_equal(
	    gw_request(f.gw.http_port, "GET", "/api/v1/products?limit=5", NULL, NULL, &r), 0);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.body, "A GET /v1/products?limit=5 0");

	assert_int_equal(gw_request(f.gw.http_port, "GET", "/api", NULL, NULL, &r), 0);
	assert_string_equal(r.body, "A GET / 0");
	assert_int_equal(gw_request(f.gw.http_port, "GET", "/api?q=1", NULL, NULL, &r), 0);
	assert_string_equal(r.body, "A GET /?q=1 0");
	/* strip_prefix false keeps the path */
	assert_int_equal(gw_request(f.gw.http_port, "GET", "/raw/x", NULL, NULL, &r), 0);
	assert_string_equal(r.body, "A GET /raw/x 0");
	assert_int_equal(atomic_load(&f.a->requests), 4);

	/* a prefix matches whole segments only */
	assert_int_equal(gw_request(f.gw.http_port, "GET", "/apix/v1", NULL, NULL, &r), 0);
	assert_int_equal(r.status, 404);
	assert_true(gw_header(&r, "X-Request-Id", rid, sizeof(rid)));
	{
		char want[512];
		snprintf(want, sizeof(want),
			 "{\"error\":{\"type\":\"not_found\",\"code\":\"route_not_found\","
			 "\"message\":\"no route for this path\"},\"request_id\":\"%s\"}",
			 rid);
		assert_string_equal(r.body, want);
	}
	assert_int_equal(gw_request(f.gw.http_port, "GET", "/", NULL, NULL, &r), 0);
	assert_int_equal(r.status, 404);
	assert_int_equal(atomic_load(&f.a->requests), 4);
	stop_all(&f);
}

static void test_request_id_kept_or_generated(void **state)
{
	memset(&f, 0, sizeof(f));
	struct gw_response r;
	char rid[200], head[16384];
	(void)state;

	assert_int_equal(start_one(&f, NULL, NULL), 0);
	assert_int_equal(gw_request(f.gw.http_port, "GET", "/api/v1/x",
				    "X-Request-Id: abc.DEF_123-x\r\n", NULL, &r),
			 0);
	assert_true(gw_header(&r, "X-Request-Id", rid, sizeof(rid)));
	assert_string_equal(rid, "abc.DEF_123-x");
	gw_backend_last_head(f.a, head, sizeof(head));
	assert_non_null(strstr(head, "X-Request-Id: abc.DEF_123-x\r\n"));

	/* invalid: replaced by a generated one, the same upstream and back */
	assert_int_equal(
	    gw_request(f.gw.http_port, "GET", "/api/v1/x", "X-Request-Id: bad/id\r\n", NULL, &r),
	    0);
	assert_true(gw_header(&r, "X-Request-Id", rid, sizeof(rid)));
	assert_string_not_equal(rid, "bad/id");
	assert_int_equal(strlen(rid), 32);
	gw_backend_last_head(f.a, head, sizeof(head));
	assert_null(strstr(head, "bad/id"));
	{
		char want[256];
		snprintf(want, sizeof(want), "X-Request-Id: %s\r\n", rid);
		assert_non_null(strstr(head, want));
	}
	stop_all(&f);
}

static void test_forwarded_and_hop_by_hop(void **state)
{
	memset(&f, 0, sizeof(f));
	struct gw_response r;
	char head[16384], v[256];
	(void)state;

	assert_int_equal(start_one(&f, NULL, NULL), 0);
	assert_int_equal(gw_request(f.gw.http_port, "GET", "/api/v1/x",
				    "Connection: keep-alive, X-Secret\r\nX-Secret: 1\r\n"
				    "Keep-Alive: timeout=5\r\nTE: trailers\r\nUpgrade: h2c\r\n"
				    "HTTP2-Settings: AAMAAABkAAQAAP__\r\nProxy-Connection: x\r\n"
				    "X-Forwarded-For: 6.6.6.6\r\nX-Forwarded-Host: evil\r\n"
				    "X-Kept: yes\r\n",
				    NULL, &r),
			 0);
	assert_int_equal(r.status, 200);
	gw_backend_last_head(f.a, head, sizeof(head));
	assert_null(strcasestr(head, "X-Secret"));
	assert_null(strcasestr(head, "\r\nKeep-Alive:"));
	assert_null(strcasestr(head, "\r\nTE:"));
	assert_null(strcasestr(head, "\r\nUpgrade:"));
	assert_null(strcasestr(head, "h2c"));
	assert_null(strcasestr(head, "HTTP2-Settings"));
	assert_null(strcasestr(head, "Proxy-Connection"));
	assert_null(strcasestr(head, "\r\nConnection:"));
	assert_non_null(strstr(head, "X-Kept: yes\r\n"));
	/* untrusted peer: its X-Forwarded-* are replaced */
	assert_non_null(strstr(head, "X-Forwarded-For: 127.0.0.1\r\n"));
	assert_null(strstr(head, "6.6.6.6"));
	assert_non_null(strstr(head, "X-Forwarded-Proto: http\r\n"));
	assert_non_null(strstr(head, "X-Forwarded-Host: test\r\n"));

	/* response side: Keep-Alive, Connection and what Connection names */
	assert_int_equal(gw_request(f.gw.http_port, "GET", "/api/hop", NULL, NULL, &r), 0);
	assert_int_equal(r.status, 200);
	assert_false(gw_header(&r, "X-Hop", v, sizeof(v)));
	assert_int_equal(gw_request(f.gw.http_port, "GET", "/api/x", NULL, NULL, &r), 0);
	assert_false(gw_header(&r, "Keep-Alive", v, sizeof(v)));
	assert_true(gw_header(&r, "X-Hop", v, sizeof(v))); /* not named there: kept */
	stop_all(&f);

	/* trusted proxy: its X-Forwarded-For is extended */
	memset(&f, 0, sizeof(f));
	assert_int_equal(start_one(&f, NULL, NULL), 0);
	gw_gateway_stop(&f.gw, 5000);
	{
		char inst[64], cfg[4096];
		snprintf(inst, sizeof(inst), "\"127.0.0.1:%d\"", f.a->port);
		snprintf(cfg, sizeof(cfg),
			 "{\"routes\": [{\"prefix\": \"/api\", \"upstream\": \"api\"}],"
			 " \"upstreams\": {\"api\": {\"instances\": [%s],"
			 "   \"health_check\": {\"interval_ms\": 0}}},"
			 " \"rate_limits\": [], \"trusted_proxies\": [\"127.0.0.0/8\"]}",
			 inst);
		assert_int_equal(gw_gateway_start(&f.gw, cfg, NULL), 0);
	}
	assert_int_equal(gw_request(f.gw.http_port, "GET", "/api/v1/x",
				    "X-Forwarded-For: 6.6.6.6\r\nX-Forwarded-Proto: https\r\n",
				    NULL, &r),
			 0);
	gw_backend_last_head(f.a, head, sizeof(head));
	assert_non_null(strstr(head, "X-Forwarded-For: 6.6.6.6, 127.0.0.1\r\n"));
	assert_non_null(strstr(head, "X-Forwarded-Proto: https\r\n"));
	stop_all(&f);
}

static void test_keepalive_reuse(void **state)
{
	memset(&f, 0, sizeof(f));
	struct gw_response r;
	(void)state;

	assert_int_equal(start_one(&f, NULL, NULL), 0);
	for (int c = 0; c < 10; c++) {
		int fd = gw_connect(f.gw.http_port);
		assert_true(fd >= 0);
		for (int i = 0; i < 3; i++) {
			assert_int_equal(
			    gw_send_str(fd, "GET /api/v1/ping HTTP/1.1\r\nHost: t\r\n\r\n"), 0);
			assert_int_equal(gw_read_response(fd, &r, 5000), 0);
			assert_int_equal(r.status, 200);
		}
		close(fd);
	}
	assert_int_equal(atomic_load(&f.a->requests), 30);
	/* one pooled connection per gateway thread at most (2 threads) */
	assert_true(atomic_load(&f.a->connections) <= 2);
	stop_all(&f);
}

static void test_load_balancing_two_instances(void **state)
{
	memset(&f, 0, sizeof(f));
	struct gw_response r;
	int fd;
	(void)state;

	assert_int_equal(start_two(&f, 1, 1, NULL, NULL), 0);
	fd = gw_connect(f.gw.http_port);
	for (int i = 0; i < 20; i++) {
		assert_int_equal(gw_send_str(fd, "GET /api/v1/lb HTTP/1.1\r\nHost: t\r\n\r\n"), 0);
		assert_int_equal(gw_read_response(fd, &r, 5000), 0);
		assert_int_equal(r.status, 200);
	}
	close(fd);
	/* one client connection stays on one thread: strict alternation */
	assert_int_equal(atomic_load(&f.a->requests), 10);
	assert_int_equal(atomic_load(&f.b->requests), 10);
	stop_all(&f);

	/* least outstanding spreads too */
	memset(&f, 0, sizeof(f));
	assert_int_equal(
	    start_two(&f, 1, 1, DEFAULT_POOL ", \"balance\": \"least_outstanding\"", NULL), 0);
	for (int i = 0; i < 20; i++) {
		assert_int_equal(gw_request(f.gw.http_port, "GET", "/api/v1/lb", NULL, NULL, &r),
				 0);
		assert_int_equal(r.status, 200);
	}
	assert_true(atomic_load(&f.a->requests) >= 5);
	assert_true(atomic_load(&f.b->requests) >= 5);
	stop_all(&f);
}

static void test_failover_when_instance_killed(void **state)
{
	memset(&f, 0, sizeof(f));
	struct gw_response r;
	int fd, b_before;
	(void)state;

	assert_int_equal(start_two(&f, 1, 1, NULL, NULL), 0);
	fd = gw_connect(f.gw.http_port);
	for (int i = 0; i < 10; i++) {
		assert_int_equal(gw_send_str(fd, "GET /api/v1/warm HTTP/1.1\r\nHost: t\r\n\r\n"),
				 0);
		assert_int_equal(gw_read_response(fd, &r, 5000), 0);
	}
	assert_true(atomic_load(&f.a->requests) > 0);
	gw_backend_stop(f.a); /* like kill -9: listener and pooled connections gone */
	b_before = atomic_load(&f.b->requests);
	for (int i = 0; i < 20; i++) {
		assert_int_equal(gw_send_str(fd, "GET /api/v1/after HTTP/1.1\r\nHost: t\r\n\r\n"),
				 0);
		assert_int_equal(gw_read_response(fd, &r, 5000), 0);
		assert_int_equal(r.status, 200);
		assert_memory_equal(r.body, "B ", 2);
	}
	close(fd);
	for (int i = 0; i < 20; i++) {
		assert_int_equal(gw_request(f.gw.http_port, "GET", "/api/v1/fresh", NULL, NULL, &r),
				 0);
		assert_int_equal(r.status, 200);
	}
	assert_int_equal(atomic_load(&f.b->requests) - b_before, 40);
	stop_all(&f);
}

static void test_post_not_retried_after_send(void **state)
{
	memset(&f, 0, sizeof(f));
	struct gw_response r;
	char v[64];
	(void)state;

	/* A takes (nearly) every first attempt and drops requests after reading */
	assert_int_equal(start_two(&f, 100, 1, NULL, NULL), 0);
	atomic_store(&f.a->drop_all, 1);

	assert_int_equal(gw_request(f.gw.http_port, "POST", "/api/v1/orders", NULL, "{}", &r), 0);
	assert_int_equal(r.status, 502);
	assert_non_null(strstr(r.body, "\"type\":\"api_error\""));
	assert_true(gw_header(&r, "X-Request-Id", v, sizeof(v)));
	assert_int_equal(atomic_load(&f.a->requests), 1);
	assert_int_equal(atomic_load(&f.b->requests), 0);

	/* with an Idempotency-Key the replay is safe: retried on B */
	assert_int_equal(gw_request(f.gw.http_port, "POST", "/api/v1/orders",
				    "Idempotency-Key: k-1\r\n", "{\"a\":1}", &r),
			 0);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.body, "B POST /v1/orders 7");
	assert_int_equal(atomic_load(&f.b->requests), 1);

	/* GET too */
	assert_int_equal(gw_request(f.gw.http_port, "GET", "/api/v1/x", NULL, NULL, &r), 0);
	assert_int_equal(r.status, 200);
	assert_memory_equal(r.body, "B ", 2);
	stop_all(&f);
}

static void test_timeout_gives_504(void **state)
{
	memset(&f, 0, sizeof(f));
	struct gw_response r;
	(void)state;

	assert_int_equal(start_one(&f, NULL,
				   ", \"retry\": {\"max_attempts\": 1},"
				   " \"timeouts\": {\"first_byte_ms\": 300, \"total_ms\": 5000}"),
			 0);
	assert_int_equal(gw_request(f.gw.http_port, "GET", "/api/slow/3000", NULL, NULL, &r), 0);
	assert_int_equal(r.status, 504);
	assert_non_null(strstr(r.body, "\"code\":\"upstream_timeout\""));
	/* the gateway still works afterwards */
	assert_int_equal(gw_request(f.gw.http_port, "GET", "/api/ok", NULL, NULL, &r), 0);
	assert_int_equal(r.status, 200);
	stop_all(&f);

	/* total timeout */
	memset(&f, 0, sizeof(f));
	assert_int_equal(
	    start_one(&f, NULL, ", \"timeouts\": {\"first_byte_ms\": 5000, \"total_ms\": 400}"), 0);
	assert_int_equal(gw_request(f.gw.http_port, "GET", "/api/slow/3000", NULL, NULL, &r), 0);
	assert_int_equal(r.status, 504);
	assert_int_equal(atomic_load(&f.a->requests), 1); /* no retry after the deadline */
	stop_all(&f);
}

static bool wait_metric(int admin_port, const char *sample, double want, int timeout_ms)
{
	long long deadline = h_now_ms() + timeout_ms;
	while (h_now_ms() < deadline) {
		if (gw_metric(admin_port, sample) == want)
			return true;
		h_sleep_ms(50);
	}
	return false;
}

static void test_health_check_ejection_and_return(void **state)
{
	memset(&f, 0, sizeof(f));
	struct gw_response r;
	char sample[256];
	int a_before;
	(void)state;

	f.a = gw_backend_start("A");
	f.b = gw_backend_start("B");
	{
		char cfg[4096];
		snprintf(cfg, sizeof(cfg),
			 "{\"routes\": [{\"prefix\": \"/api\", \"upstream\": \"api\"}],"
			 " \"upstreams\": {\"api\": {\"instances\": [\"127.0.0.1:%d\", "
			 "\"127.0.0.1:%d\"],"
			 "   \"health_check\": {\"interval_ms\": 100, \"timeout_ms\": 500,"
			 "   \"rise\": 2, \"fall\": 2}}},"
			 " \"threads\": 2, \"rate_limits\": []}",
			 f.a->port, f.b->port);
		assert_int_equal(gw_gateway_start(&f.gw, cfg, NULL), 0);
	}
	snprintf(sample, sizeof(sample),
		 "b4_gateway_upstream_healthy{pool=\"api\",instance=\"127.0.0.1:%d\"}", f.a->port);
	assert_true(wait_metric(f.gw.admin_port, sample, 1, 3000));
	/* one checker for the process, not one per thread: in 1 s at 100 ms,
	 * about 10 checks (a second thread checking too would make it ~20;
	 * a slow machine makes fewer, never more) */
	{
		int before = atomic_load(&f.a->health_checks), checks;
		h_sleep_ms(1000);
		checks = atomic_load(&f.a->health_checks) - before;
		assert_true(checks >= 3);
		assert_true(checks <= 13);
	}

	atomic_store(&f.a->health_fail, 1);
	assert_true(wait_metric(f.gw.admin_port, sample, 0, 5000));
	a_before = atomic_load(&f.a->requests);
	for (int i = 0; i < 20; i++) {
		assert_int_equal(gw_request(f.gw.http_port, "GET", "/api/v1/h", NULL, NULL, &r), 0);
		assert_int_equal(r.status, 200);
		assert_memory_equal(r.body, "B ", 2);
	}
	assert_int_equal(atomic_load(&f.a->requests), a_before);
	assert_true(atomic_load(&f.a->health_checks) > 0);

	/* back: after `rise` good checks it takes traffic again */
	atomic_store(&f.a->health_fail, 0);
	assert_true(wait_metric(f.gw.admin_port, sample, 1, 5000));
	for (int i = 0; i < 20; i++) {
		assert_int_equal(gw_request(f.gw.http_port, "GET", "/api/v1/h", NULL, NULL, &r), 0);
		assert_int_equal(r.status, 200);
	}
	assert_true(atomic_load(&f.a->requests) > a_before);
	stop_all(&f);
}

static void test_passive_ejection_and_no_healthy_503(void **state)
{
	memset(&f, 0, sizeof(f));
	struct gw_response r;
	char cfg[4096];
	int dead_port;
	(void)state;

	/* a port with nothing listening */
	f.a = gw_backend_start("dead");
	dead_port = f.a->port;
	gw_backend_stop(f.a);
	snprintf(cfg, sizeof(cfg),
		 "{\"threads\": 2, \"routes\": [{\"prefix\": \"/api\", \"upstream\": \"api\"}],"
		 " \"upstreams\": {\"api\": {\"instances\": [\"127.0.0.1:%d\"],"
		 "   \"health_check\": {\"interval_ms\": 0},"
		 "   \"passive\": {\"failures\": 1, \"base_ejection_ms\": 60000}}},"
		 " \"retry\": {\"max_attempts\": 1}, \"rate_limits\": []}",
		 dead_port);
	assert_int_equal(gw_gateway_start(&f.gw, cfg, NULL), 0);
	assert_int_equal(gw_request(f.gw.http_port, "GET", "/api/v1/x", NULL, NULL, &r), 0);
	assert_int_equal(r.status, 502);
	/* ejected now, for both threads: each new connection (placed on
	 * either) is answered fast without trying */
	for (int i = 0; i < 6; i++) {
		assert_int_equal(gw_request(f.gw.http_port, "GET", "/api/v1/x", NULL, NULL, &r), 0);
		assert_int_equal(r.status, 503);
		assert_non_null(strstr(r.body, "\"code\":\"no_healthy_upstream\""));
	}
	{
		char sample[256];
		snprintf(sample, sizeof(sample),
			 "b4_gateway_upstream_ejected{pool=\"api\",instance=\"127.0.0.1:%d\"}",
			 dead_port);
		assert_true(wait_metric(f.gw.admin_port, sample, 1, 2000));
	}
	stop_all(&f);
}

static void test_limits_413_431(void **state)
{
	memset(&f, 0, sizeof(f));
	struct gw_response r;
	char *big;
	int fd;
	(void)state;

	assert_int_equal(
	    start_one(&f, NULL,
		      ", \"limits\": {\"max_header_bytes\": 4096, \"max_body_bytes\": 1000}"),
	    0);
	/* 431: a head over the limit, then the connection closes */
	big = malloc(8192);
	memset(big, 'a', 6000);
	big[6000] = '\0';
	fd = gw_connect(f.gw.http_port);
	assert_int_equal(gw_send_str(fd, "GET /api/x HTTP/1.1\r\nHost: t\r\nX-Big: "), 0);
	gw_send_str(fd, big);
	gw_send_str(fd, "\r\n\r\n");
	assert_int_equal(gw_read_response(fd, &r, 5000), 0);
	assert_int_equal(r.status, 431);
	assert_true(gw_wait_closed(fd, 3000));
	close(fd);
	free(big);

	/* 413: Content-Length over the limit */
	fd = gw_connect(f.gw.http_port);
	assert_int_equal(gw_send_str(fd, "POST /api/x HTTP/1.1\r\nHost: t\r\n"
					 "Content-Length: 5000\r\n\r\n"),
			 0);
	assert_int_equal(gw_read_response(fd, &r, 5000), 0);
	assert_int_equal(r.status, 413);
	assert_non_null(strstr(r.body, "\"code\":\"body_too_large\""));
	assert_true(gw_wait_closed(fd, 3000));
	close(fd);

	/* 413: chunked body growing over the limit */
	fd = gw_connect(f.gw.http_port);
	assert_int_equal(gw_send_str(fd, "POST /api/x HTTP/1.1\r\nHost: t\r\n"
					 "Transfer-Encoding: chunked\r\n\r\n"),
			 0);
	for (int i = 0; i < 3; i++) {
		char chunk[600];
		memset(chunk, 'b', sizeof(chunk));
		gw_send_str(fd, "258\r\n");
		gw_send_all(fd, chunk, 600);
		gw_send_str(fd, "\r\n");
	}
	assert_int_equal(gw_read_response(fd, &r, 5000), 0);
	assert_int_equal(r.status, 413);
	close(fd);
	assert_int_equal(atomic_load(&f.a->requests), 0);
	stop_all(&f);
}

static void test_rate_limit_429(void **state)
{
	memset(&f, 0, sizeof(f));
	struct gw_response r;
	char v[64];
	(void)state;

	assert_int_equal(start_one(&f, NULL, NULL), 0);
	gw_gateway_stop(&f.gw, 5000);
	{
		char cfg[4096];
		snprintf(
		    cfg, sizeof(cfg),
		    "{\"routes\": [{\"prefix\": \"/api\", \"upstream\": \"api\"}],"
		    " \"upstreams\": {\"api\": {\"instances\": [\"127.0.0.1:%d\"],"
		    "   \"health_check\": {\"interval_ms\": 0}}},"
		    " \"rate_limits\": ["
		    "   {\"name\": \"auth\", \"prefix\": \"/api/v1/auth/\", \"rate_per_sec\": 0.2,"
		    "    \"burst\": 2},"
		    "   {\"name\": \"default\", \"prefix\": \"/\", \"rate_per_sec\": 1000,"
		    "    \"burst\": 1000}]}",
		    f.a->port);
		assert_int_equal(gw_gateway_start(&f.gw, cfg, NULL), 0);
	}
	for (int i = 0; i < 2; i++) {
		assert_int_equal(
		    gw_request(f.gw.http_port, "POST", "/api/v1/auth/login", NULL, "{}", &r), 0);
		assert_int_equal(r.status, 200);
	}
	assert_int_equal(gw_request(f.gw.http_port, "POST", "/api/v1/auth/login", NULL, "{}", &r),
			 0);
	assert_int_equal(r.status, 429);
	assert_true(gw_header(&r, "Retry-After", v, sizeof(v)));
	assert_true(atoi(v) >= 1);
	assert_non_null(strstr(r.body, "\"type\":\"rate_limit_error\""));
	/* behind a trusted proxy (loopback by default) each forwarded client has
	 * its own bucket */
	assert_int_equal(gw_request(f.gw.http_port, "POST", "/api/v1/auth/login",
				    "X-Forwarded-For: 203.0.113.7\r\n", "{}", &r),
			 0);
	assert_int_equal(r.status, 200);
	/* other paths are in the looser group */
	for (int i = 0; i < 10; i++) {
		assert_int_equal(
		    gw_request(f.gw.http_port, "GET", "/api/v1/products", NULL, NULL, &r), 0);
		assert_int_equal(r.status, 200);
	}
	assert_int_equal(atomic_load(&f.a->requests), 13);
	stop_all(&f);
}

static void test_chunked_bodies_pass_intact(void **state)
{
	memset(&f, 0, sizeof(f));
	struct gw_response r;
	static const char body[] = "5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nX-Trailer: t\r\n\r\n";
	int fd;
	(void)state;

	assert_int_equal(start_one(&f, NULL, NULL), 0);
	fd = gw_connect(f.gw.http_port);
	assert_int_equal(gw_send_str(fd, "POST /api/v1/upload HTTP/1.1\r\nHost: t\r\n"
					 "Transfer-Encoding: chunked\r\n\r\n"),
			 0);
	assert_int_equal(gw_send_str(fd, body), 0);
	assert_int_equal(gw_read_response(fd, &r, 5000), 0);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.body, "A POST /v1/upload 11");
	pthread_mutex_lock(&f.a->mu);
	assert_int_equal(f.a->last_body_len, 11);
	assert_memory_equal(f.a->last_body, "hello world", 11);
	assert_int_equal(f.a->last_raw_body_len, sizeof(body) - 1);
	assert_memory_equal(f.a->last_raw_body, body, sizeof(body) - 1);
	pthread_mutex_unlock(&f.a->mu);

	/* same connection: a chunked response reaches a 1.1 client chunked */
	assert_int_equal(gw_send_str(fd, "GET /api/chunked HTTP/1.1\r\nHost: t\r\n\r\n"), 0);
	assert_int_equal(gw_read_response(fd, &r, 5000), 0);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.body, "hello world");
	close(fd);

	/* an HTTP/1.0 client gets it de-chunked, delimited by close */
	fd = gw_connect(f.gw.http_port);
	assert_int_equal(gw_send_str(fd, "GET /api/chunked HTTP/1.0\r\nHost: t\r\n\r\n"), 0);
	assert_int_equal(gw_read_response(fd, &r, 5000), 0);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.body, "hello world");
	assert_true(r.closed);
	close(fd);

	/* close-delimited upstream response */
	assert_int_equal(gw_request(f.gw.http_port, "GET", "/api/close", NULL, NULL, &r), 0);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.body, "A until close");
	stop_all(&f);
}

static void test_admin_and_metrics(void **state)
{
	memset(&f, 0, sizeof(f));
	struct gw_response r;
	char path[600], cmd[1400];
	FILE *out;
	(void)state;

	assert_int_equal(start_two(&f, 1, 1, NULL, NULL), 0);
	for (int i = 0; i < 5; i++)
		gw_request(f.gw.http_port, "GET", "/api/v1/m", NULL, NULL, &r);
	gw_request(f.gw.http_port, "GET", "/nothing", NULL, NULL, &r);
	assert_int_equal(gw_admin_get(f.gw.admin_port, "/healthz", &r), 0);
	assert_int_equal(r.status, 200);
	assert_int_equal(gw_admin_get(f.gw.admin_port, "/readyz", &r), 0);
	assert_int_equal(r.status, 200);
	assert_int_equal(
	    gw_metric(f.gw.admin_port, "b4_gateway_requests_total{route=\"api\",code=\"2xx\"}"), 5);
	assert_int_equal(gw_metric(f.gw.admin_port, "b4_gateway_route_not_found_total"), 1);
	assert_int_equal(
	    gw_metric(f.gw.admin_port, "b4_gateway_request_duration_seconds_count{route=\"api\"}"),
	    5);
	assert_int_equal(gw_admin_get(f.gw.admin_port, "/metrics", &r), 0);
	assert_int_equal(r.status, 200);
	snprintf(path, sizeof(path), "%s/gw-metrics-%d.txt",
		 getenv("B4_TEST_VAR") ? getenv("B4_TEST_VAR") : "/tmp", (int)getpid());
	out = fopen(path, "w");
	assert_non_null(out);
	fwrite(r.body, 1, r.body_len, out);
	fclose(out);
	snprintf(cmd, sizeof(cmd), "promtool check metrics < %s > /dev/null 2>&1", path);
	if (system("command -v promtool > /dev/null 2>&1") == 0)
		assert_int_equal(system(cmd), 0);
	snprintf(path, sizeof(path), "%s", f.gw.log_path);
	stop_all(&f); /* flushes the access log */

	/* the access log: one JSON line per request with the fields */
	{
		FILE *lf = fopen(path, "r");
		char line[2048];
		bool found = false;
		assert_non_null(lf);
		while (fgets(line, sizeof(line), lf))
			if (strstr(line, "\"msg\":\"access\"") &&
			    strstr(line, "\"route\":\"api\"") && strstr(line, "\"status\":200") &&
			    strstr(line, "\"upstream\":\"127.0.0.1:") &&
			    strstr(line, "\"first_byte_ms\":") && strstr(line, "\"retries\":0") &&
			    strstr(line, "\"request_id\":\"") &&
			    strstr(line, "\"service\":\"b4-gateway\""))
				found = true;
		fclose(lf);
		assert_true(found);
	}
}

static int run_capture(const char *cmd, char *out, size_t cap)
{
	FILE *p = popen(cmd, "r");
	size_t n;
	int st;
	if (!p)
		return -1;
	n = fread(out, 1, cap - 1, p);
	out[n] = '\0';
	st = pclose(p);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void test_settings_and_check_config(void **state)
{
	const char *build = getenv("B4_TEST_BUILD");
	const char *var = getenv("B4_TEST_VAR") ? getenv("B4_TEST_VAR") : "/tmp";
	char cmd[2048], out[4096], cfgpath[600];
	FILE *cf;
	(void)state;

	snprintf(cmd, sizeof(cmd), "%s/bin/b4-gateway --version 2>&1", build);
	assert_int_equal(run_capture(cmd, out, sizeof(out)), 0);
	assert_memory_equal(out, "b4-gateway ", 11);
	snprintf(cmd, sizeof(cmd), "B4_GATEWAY_PORT=abc %s/bin/b4-gateway 2>&1", build);
	assert_int_equal(run_capture(cmd, out, sizeof(out)), 2);
	assert_non_null(
	    strstr(out, "b4-gateway: B4_GATEWAY_PORT: expected an integer 0..65535, got \"abc\""));
	snprintf(cmd, sizeof(cmd), "B4_API_UPSTREAM=nope %s/bin/b4-gateway --check-config 2>&1",
		 build);
	assert_int_equal(run_capture(cmd, out, sizeof(out)), 2);
	assert_non_null(strstr(out, "B4_API_UPSTREAM"));
	snprintf(cmd, sizeof(cmd), "%s/bin/b4-gateway --check-config 2>&1", build);
	assert_int_equal(run_capture(cmd, out, sizeof(out)), 0);

	snprintf(cfgpath, sizeof(cfgpath), "%s/gw-check-%d.json", var, (int)getpid());
	cf = fopen(cfgpath, "w");
	fputs("{\"routes\": [{\"prefix\": \"/api\", \"upstream\": \"api\"}],"
	      " \"upstreams\": {\"api\": {\"instances\": [\"127.0.0.1:1\"]}}, \"bogus\": 1}",
	      cf);
	fclose(cf);
	snprintf(cmd, sizeof(cmd), "B4_GATEWAY_CONFIG=%s %s/bin/b4-gateway --check-config 2>&1",
		 cfgpath, build);
	assert_int_equal(run_capture(cmd, out, sizeof(out)), 2);
	assert_non_null(strstr(out, "config.bogus: unknown setting"));

	snprintf(cmd, sizeof(cmd),
		 "%s/bin/b4-gateway --check-config --config %s/deploy/dev/gateway.json 2>&1", build,
		 getenv("B4_TEST_TOP"));
	assert_int_equal(run_capture(cmd, out, sizeof(out)), 0);
}

static void test_pipelined_requests_in_order(void **state)
{
	struct gw_response r;
	char *batch = malloc(3000 * 64);
	size_t len = 0;
	int fd;
	(void)state;

	assert_int_equal(start_one(&f, NULL, NULL), 0);
	/* many answered by the gateway itself (404) between proxied ones */
	for (int i = 0; i < 3000; i++)
		len += (size_t)sprintf(batch + len,
				       i % 100 == 0 ? "GET /api/p%d HTTP/1.1\r\nHost: t\r\n\r\n"
						    : "GET /no%d HTTP/1.1\r\nHost: t\r\n\r\n",
				       i);
	fd = gw_connect(f.gw.http_port);
	assert_int_equal(gw_send_all(fd, batch, len), 0);
	for (int i = 0; i < 3000; i++) {
		char want[64];
		assert_int_equal(gw_read_response(fd, &r, 5000), 0);
		if (i % 100 == 0) {
			assert_int_equal(r.status, 200);
			snprintf(want, sizeof(want), "A GET /p%d 0", i);
			assert_string_equal(r.body, want);
		} else {
			assert_int_equal(r.status, 404);
		}
	}
	close(fd);
	free(batch);
	assert_int_equal(atomic_load(&f.a->requests), 30);
}

/* Bodies longer than one socket read cross intact, both ways. */
static void test_large_bodies_intact(void **state)
{
	enum { LEN = 60000 };
	struct gw_response r;
	char *want = malloc(LEN), head[128];
	int fd;
	(void)state;

	assert_non_null(want);
	for (size_t i = 0; i < LEN; i++)
		want[i] = gw_pattern_byte(i);
	assert_int_equal(start_one(&f, NULL, NULL), 0);
	fd = gw_connect(f.gw.http_port);
	for (int round = 0; round < 2; round++) {
		assert_int_equal(gw_send_str(fd, "GET /api/big/60000 HTTP/1.1\r\nHost: t\r\n\r\n"),
				 0);
		assert_int_equal(gw_read_response(fd, &r, 5000), 0);
		assert_int_equal(r.status, 200);
		assert_int_equal(r.body_len, LEN);
		assert_memory_equal(r.body, want, LEN);
	}
	/* a request body that arrives in three pieces */
	snprintf(head, sizeof(head),
		 "POST /api/v1/upload HTTP/1.1\r\nHost: t\r\nContent-Length: %d\r\n\r\n", LEN);
	assert_int_equal(gw_send_str(fd, head), 0);
	for (int piece = 0; piece < 3; piece++) {
		assert_int_equal(gw_send_all(fd, want + piece * (LEN / 3), LEN / 3), 0);
		h_sleep_ms(20);
	}
	assert_int_equal(gw_read_response(fd, &r, 5000), 0);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.body, "A POST /v1/upload 60000");
	pthread_mutex_lock(&f.a->mu);
	assert_int_equal(f.a->last_body_len, LEN);
	assert_memory_equal(f.a->last_body, want, LEN);
	pthread_mutex_unlock(&f.a->mu);
	close(fd);
	free(want);
}

/* Waits until backend b has read want requests.  False on timeout. */
static bool wait_backend_requests(struct gw_backend *b, int want, int timeout_ms)
{
	for (int waited = 0; waited < timeout_ms; waited += 10) {
		if (atomic_load(&b->requests) >= want)
			return true;
		h_sleep_ms(10);
	}
	return atomic_load(&b->requests) >= want;
}

/* A client that resets or closes while its request is upstream is counted
 * as 499 (client closed request), and the gateway goes on serving. */
static void test_client_gone_mid_request(void **state)
{
	static const char slow[] = "GET /api/slow/300 HTTP/1.1\r\nHost: t\r\n\r\n";
	struct linger reset = {1, 0};
	struct gw_response r;
	int fd;
	(void)state;

	assert_int_equal(start_one(&f, NULL, NULL), 0);
	fd = gw_connect(f.gw.http_port);
	assert_int_equal(gw_send_str(fd, slow), 0);
	/* the request is upstream before the client goes (a fixed pause was
	 * too short on a loaded machine under the sanitizers) */
	assert_true(wait_backend_requests(f.a, 1, 3000));
	assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_LINGER, &reset, sizeof(reset)), 0);
	close(fd); /* RST */
	fd = gw_connect(f.gw.http_port);
	assert_int_equal(gw_send_str(fd, slow), 0);
	assert_true(wait_backend_requests(f.a, 2, 3000));
	close(fd); /* FIN */
	assert_true(wait_metric(f.gw.admin_port,
				"b4_gateway_requests_total{route=\"api\",code=\"4xx\"}", 2, 3000));
	assert_int_equal(atomic_load(&f.a->requests), 2);

	assert_int_equal(gw_request(f.gw.http_port, "GET", "/api/v1/after", NULL, NULL, &r), 0);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.body, "A GET /v1/after 0");
	assert_int_equal(
	    gw_metric(f.gw.admin_port, "b4_gateway_requests_total{route=\"api\",code=\"2xx\"}"), 1);
}

/* The gateway and b4-api at their default limits: a body b4-api would
 * refuse is refused at the gateway, in the API's error shape (b4-api's own
 * 413 is libevent's HTML page), and a body right at the limit reaches it. */
static void test_default_body_limit_matches_the_services(void **state)
{
	struct gw_response r;
	char cfg[512];
	char *body = malloc(1048576);
	int fd;
	(void)state;

	assert_non_null(body);
	assert_int_equal(h_start(&service, "b4-api", NULL, NULL), 0);
	snprintf(cfg, sizeof(cfg),
		 "{\"routes\": [{\"prefix\": \"/api\", \"upstream\": \"api\"}],"
		 " \"upstreams\": {\"api\": {\"instances\": [\"127.0.0.1:%d\"],"
		 " \"health_check\": {\"interval_ms\": 0}}}, \"rate_limits\": []}",
		 service.port);
	assert_int_equal(gw_gateway_start(&f.gw, cfg, NULL), 0);

	fd = gw_connect(f.gw.http_port);
	assert_int_equal(gw_send_str(fd, "POST /api/v1/auth/login HTTP/1.1\r\nHost: t\r\n"
					 "Content-Type: application/json\r\n"
					 "Content-Length: 1048577\r\n\r\n"),
			 0);
	assert_int_equal(gw_read_response(fd, &r, 5000), 0);
	assert_int_equal(r.status, 413);
	assert_non_null(strstr(r.body, "\"type\":\"invalid_request_error\""));
	assert_non_null(strstr(r.body, "\"code\":\"body_too_large\""));
	assert_true(gw_wait_closed(fd, 3000));
	close(fd);

	/* 1 MiB exactly: through to b4-api, which answers it (bad JSON) */
	memset(body, ' ', 1048576);
	body[0] = '{';
	fd = gw_connect(f.gw.http_port);
	assert_int_equal(gw_send_str(fd, "POST /api/v1/auth/login HTTP/1.1\r\nHost: t\r\n"
					 "Content-Type: application/json\r\n"
					 "Content-Length: 1048576\r\n\r\n"),
			 0);
	assert_int_equal(gw_send_all(fd, body, 1048576), 0);
	assert_int_equal(gw_read_response(fd, &r, 10000), 0);
	assert_int_equal(r.status, 400);
	assert_non_null(strstr(r.body, "\"error\":{"));
	close(fd);
	free(body);
}

static void test_connection_cap(void **state)
{
	struct gw_response r;
	int fds[3], extra;
	(void)state;

	assert_int_equal(
	    start_one(&f, NULL, ", \"threads\": 1, \"limits\": {\"max_connections\": 3}"), 0);
	for (int i = 0; i < 3; i++) {
		fds[i] = gw_connect(f.gw.http_port);
		assert_int_equal(gw_send_str(fds[i], "GET /api/c HTTP/1.1\r\nHost: t\r\n\r\n"), 0);
		assert_int_equal(gw_read_response(fds[i], &r, 5000), 0);
		assert_int_equal(r.status, 200);
	}
	/* over the cap: accepted by the kernel, closed by the gateway */
	extra = gw_connect(f.gw.http_port);
	assert_true(extra >= 0);
	gw_send_str(extra, "GET /api/c HTTP/1.1\r\nHost: t\r\n\r\n");
	assert_true(gw_wait_closed(extra, 3000));
	close(extra);
	/* a slot frees up */
	close(fds[0]);
	{
		long long deadline = h_now_ms() + 3000;
		bool ok = false;
		while (!ok && h_now_ms() < deadline) {
			if (gw_request(f.gw.http_port, "GET", "/api/c", NULL, NULL, &r) == 0 &&
			    r.status == 200)
				ok = true;
			else
				h_sleep_ms(20);
		}
		assert_true(ok);
	}
	close(fds[1]);
	close(fds[2]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_teardown(test_routing_and_prefix_strip, teardown),
	    cmocka_unit_test_teardown(test_request_id_kept_or_generated, teardown),
	    cmocka_unit_test_teardown(test_forwarded_and_hop_by_hop, teardown),
	    cmocka_unit_test_teardown(test_keepalive_reuse, teardown),
	    cmocka_unit_test_teardown(test_load_balancing_two_instances, teardown),
	    cmocka_unit_test_teardown(test_failover_when_instance_killed, teardown),
	    cmocka_unit_test_teardown(test_post_not_retried_after_send, teardown),
	    cmocka_unit_test_teardown(test_timeout_gives_504, teardown),
	    cmocka_unit_test_teardown(test_health_check_ejection_and_return, teardown),
	    cmocka_unit_test_teardown(test_passive_ejection_and_no_healthy_503, teardown),
	    cmocka_unit_test_teardown(test_limits_413_431, teardown),
	    cmocka_unit_test_teardown(test_rate_limit_429, teardown),
	    cmocka_unit_test_teardown(test_chunked_bodies_pass_intact, teardown),
	    cmocka_unit_test_teardown(test_admin_and_metrics, teardown),
	    cmocka_unit_test_teardown(test_settings_and_check_config, teardown),
	    cmocka_unit_test_teardown(test_pipelined_requests_in_order, teardown),
	    cmocka_unit_test_teardown(test_large_bodies_intact, teardown),
	    cmocka_unit_test_teardown(test_client_gone_mid_request, teardown),
	    cmocka_unit_test_teardown(test_default_body_limit_matches_the_services, teardown),
	    cmocka_unit_test_teardown(test_connection_cap, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
