/* b4-gateway upstream DNS: host names resolved in the background through
 * a test DNS server on an ephemeral UDP port (B4_GATEWAY_RESOLVER).  Every
 * address is an instance; a change is followed without SIGHUP; an address
 * that leaves drains (its in-flight request finishes, no new ones); a new
 * one joins; TTLs are kept between the floor and the ceiling. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "dns_server.h"
#include "gw_support.h"

static struct dns_server *dns;
static struct gw_backend *a, *b; /* 127.0.0.2 and 127.0.0.3, one port */
static struct gw_gateway gw;

static const char *const only_a[] = {"127.0.0.2"};
static const char *const only_b[] = {"127.0.0.3"};
static const char *const both[] = {"127.0.0.2", "127.0.0.3"};

static void sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

static int start_backends(void)
{
	for (int tries = 0; tries < 5; tries++) {
		a = gw_backend_start_at("A", "127.0.0.2", 0);
		if (!a)
			return -1;
		b = gw_backend_start_at("B", "127.0.0.3", a->port);
		if (b)
			return 0;
		gw_backend_stop(a);
		gw_backend_free(a);
		a = NULL;
	}
	return -1;
}

/* The configuration; extra_route and extra_pool (each "" or starting with
 * ",") are added to the routes and the upstreams. */
static void make_config(char *cfg, size_t cap, const char *extra_route, const char *extra_pool)
{
	snprintf(
	    cfg, cap,
	    "{\"routes\": [{\"prefix\": \"/svc\", \"upstream\": \"svc\"},"
	    "  {\"prefix\": \"/ttl\", \"upstream\": \"ttl\"},"
	    "  {\"prefix\": \"/nx\", \"upstream\": \"nx\"}%s],"
	    " \"upstreams\": {"
	    "   \"svc\": {\"instances\": [\"svc.test:%d\"], \"health_check\": {\"interval_ms\": 0},"
	    "            \"passive\": {\"failures\": 0}},"
	    "   \"ttl\": {\"instances\": [\"ttl.test:%d\"], \"health_check\": {\"interval_ms\": 0},"
	    "            \"passive\": {\"failures\": 0}},"
	    "   \"nx\": {\"instances\": [\"nx.test:%d\"], \"health_check\": {\"interval_ms\": "
	    "0}}%s},"
	    " \"dns\": {\"min_ttl_ms\": 200, \"max_ttl_ms\": 1500, \"timeout_ms\": 500},"
	    " \"timeouts\": {\"first_byte_ms\": 10000, \"total_ms\": 20000},"
	    " \"rate_limits\": [], \"trusted_proxies\": []}",
	    extra_route, a->port, a->port, a->port, extra_pool);
}

static int setup(void **state)
{
	char cfg[2048], resolver[64];
	const char *env[2];
	(void)state;

	dns = dns_server_start();
	if (!dns || start_backends() != 0)
		return -1;
	dns_server_set(dns, "svc.test", both, 2, 0);
	dns_server_set(dns, "ttl.test", only_a, 1, 3600);
	snprintf(resolver, sizeof(resolver), "B4_GATEWAY_RESOLVER=127.0.0.1:%d",
		 dns_server_port(dns));
	env[0] = resolver;
	env[1] = NULL;
	make_config(cfg, sizeof(cfg), "", "");
	return gw_gateway_start(&gw, cfg, env);
}

static int teardown(void **state)
{
	(void)state;
	gw_gateway_stop(&gw, 5000);
	gw_backend_free(a);
	gw_backend_free(b);
	dns_server_stop(dns);
	return 0;
}

/* Which backend answered a GET of path: 'A', 'B', or '?' (error, 503). */
static char which(const char *path)
{
	struct gw_response r;
	if (gw_request(gw.http_port, "GET", path, NULL, NULL, &r) != 0 || r.status != 200)
		return '?';
	return r.body[0];
}

/* Waits until want answers 20 requests in a row (at most timeout_ms). */
static bool wait_only(const char *path, char want, int timeout_ms)
{
	long long deadline = h_now_ms() + timeout_ms;
	int row = 0;
	while (h_now_ms() < deadline) {
		row = which(path) == want ? row + 1 : 0;
		if (row >= 20)
			return true;
		if (row == 0)
			sleep_ms(20);
	}
	return false;
}

static void test_every_address_serves(void **state)
{
	int seen_a = 0, seen_b = 0;
	char label[160];
	(void)state;

	/* the first answers came before the gateway took requests */
	for (int i = 0; i < 20; i++) {
		char who = which("/svc/x");
		seen_a += who == 'A';
		seen_b += who == 'B';
		assert_true(who == 'A' || who == 'B');
	}
	assert_true(seen_a > 0);
	assert_true(seen_b > 0);
	snprintf(
	    label, sizeof(label),
	    "b4_gateway_upstream_requests_total{pool=\"svc\",instance=\"svc.test:%d@127.0.0.3\"}",
	    a->port);
	assert_true(gw_metric(gw.admin_port, label) >= 1);
	/* a name that does not exist: no instance, a clear 503, no crash */
	{
		struct gw_response r;
		assert_int_equal(gw_request(gw.http_port, "GET", "/nx/x", NULL, NULL, &r), 0);
		assert_int_equal(r.status, 503);
		assert_non_null(strstr(r.body, "no_healthy_upstream"));
	}
}

static void test_removed_address_drains(void **state)
{
	struct gw_response slow;
	int fd, b_before;
	(void)state;

	/* only B: every request goes there */
	assert_int_equal(dns_server_set(dns, "svc.test", only_b, 1, 0), 0);
	assert_true(wait_only("/svc/x", 'B', 10000));
	/* a long request in flight on B ... */
	fd = gw_connect(gw.http_port);
	assert_true(fd >= 0);
	assert_int_equal(gw_send_str(fd, "GET /svc/slow/3000 HTTP/1.1\r\nHost: t\r\n\r\n"), 0);
	sleep_ms(100);
	/* ... while B leaves DNS and A comes */
	assert_int_equal(dns_server_set(dns, "svc.test", only_a, 1, 0), 0);
	assert_true(wait_only("/svc/x", 'A', 10000));
	b_before = atomic_load(&b->requests);
	for (int i = 0; i < 30; i++)
		assert_int_equal(which("/svc/x"), 'A');
	assert_int_equal(atomic_load(&b->requests), b_before);
	/* the drained instance finished what it had */
	assert_int_equal(gw_read_response(fd, &slow, 10000), 0);
	assert_int_equal(slow.status, 200);
	assert_non_null(strstr(slow.body, "B GET /slow/3000"));
	close(fd);
	assert_true(h_logs_contain("upstream instance draining"));
}

static void test_new_address_joins(void **state)
{
	long long deadline;
	bool b_back = false;
	(void)state;

	assert_int_equal(dns_server_set(dns, "svc.test", both, 2, 0), 0);
	deadline = h_now_ms() + 10000;
	while (!b_back && h_now_ms() < deadline)
		b_back = which("/svc/x") == 'B';
	assert_true(b_back);
}

static void test_ttl_floor_and_ceiling(void **state)
{
	int q0, q1;
	(void)state;

	/* TTL 0 is raised to the floor (200 ms): a handful of rounds a second,
	 * each an A and an AAAA question, not a storm */
	q0 = dns_server_queries(dns, "svc.test");
	sleep_ms(1000);
	q1 = dns_server_queries(dns, "svc.test");
	assert_true(q1 - q0 <= 2 * (1000 / 200 + 1));
	assert_true(q1 - q0 >= 2); /* and it does ask again, with no SIGHUP */

	/* TTL 3600 is held, but only up to the ceiling (1500 ms) */
	q0 = dns_server_queries(dns, "ttl.test");
	sleep_ms(1000);
	q1 = dns_server_queries(dns, "ttl.test");
	assert_true(q1 - q0 <= 2);
	assert_int_equal(which("/ttl/x"), 'A');
	assert_int_equal(dns_server_set(dns, "ttl.test", only_b, 1, 3600), 0);
	assert_true(wait_only("/ttl/x", 'B', 10000));
}

/* A name that arrives with a reload is resolved and served. */
static void test_reload_adds_a_name(void **state)
{
	char cfg[2048], pool[256];
	struct gw_response r;
	(void)state;

	assert_int_equal(dns_server_set(dns, "new.test", only_a, 1, 60), 0);
	assert_int_equal(gw_request(gw.http_port, "GET", "/new/x", NULL, NULL, &r), 0);
	assert_int_equal(r.status, 404);
	snprintf(pool, sizeof(pool),
		 ", \"new\": {\"instances\": [\"new.test:%d\"],"
		 " \"health_check\": {\"interval_ms\": 0}}",
		 a->port);
	make_config(cfg, sizeof(cfg), ", {\"prefix\": \"/new\", \"upstream\": \"new\"}", pool);
	assert_int_equal(gw_gateway_write_config(&gw, cfg), 0);
	kill(gw.pid, SIGHUP);
	assert_true(wait_only("/new/x", 'A', 10000));
	assert_true(dns_server_queries(dns, "new.test") >= 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_every_address_serves),
	    cmocka_unit_test(test_removed_address_drains),
	    cmocka_unit_test(test_new_address_joins),
	    cmocka_unit_test(test_ttl_floor_and_ceiling),
	    cmocka_unit_test(test_reload_adds_a_name),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
