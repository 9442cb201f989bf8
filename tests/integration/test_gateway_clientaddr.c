/* b4-gateway's per-client rate limits count the client libcommon computes
 * (b4/clientaddr.h): X-Forwarded-For walked from the right past every
 * trusted proxy.  Behind CloudFront plus an ALB (two trusted hops) two
 * buyers are two clients; an untrusted peer cannot pick its bucket by
 * sending X-Forwarded-For.  Through the real gateway binary. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gw_support.h"

/* 130.176.0.0/16 stands for CloudFront's edges; the gateway's TCP peer in
 * the tests is 127.0.0.1, the ALB when trusted. */
#define CLOUDFRONT "130.176.0.0/16"
#define LOGIN	   "/api/v1/auth/login"

static struct gw_backend *backend;
static struct gw_gateway gw;

/* The gateway with a login group of 2 requests (refilled only after
 * minutes) and trusted_proxies (a JSON array's items). */
static void start(const char *trusted)
{
	char cfg[2048];

	backend = gw_backend_start("A");
	assert_non_null(backend);
	snprintf(cfg, sizeof(cfg),
		 "{\"routes\": [{\"prefix\": \"/api\", \"upstream\": \"api\"}],"
		 " \"upstreams\": {\"api\": {\"instances\": [\"127.0.0.1:%d\"],"
		 "   \"health_check\": {\"interval_ms\": 0}}},"
		 " \"rate_limits\": ["
		 "   {\"name\": \"auth\", \"prefix\": \"/api/v1/auth/\", \"rate_per_sec\": 0.005,"
		 "    \"burst\": 2},"
		 "   {\"name\": \"default\", \"prefix\": \"/\", \"rate_per_sec\": 1000,"
		 "    \"burst\": 1000}],"
		 " \"trusted_proxies\": [%s]}",
		 backend->port, trusted);
	assert_int_equal(gw_gateway_start(&gw, cfg, NULL), 0);
}

static int teardown(void **state)
{
	(void)state;
	if (gw.pid > 0)
		gw_gateway_stop(&gw, 5000);
	gw_backend_free(backend);
	backend = NULL;
	memset(&gw, 0, sizeof(gw));
	return 0;
}

/* POST LOGIN with X-Forwarded-For xff (NULL: none); the status. */
static int login(const char *xff)
{
	struct gw_response r;
	char headers[256] = "";

	if (xff)
		snprintf(headers, sizeof(headers), "X-Forwarded-For: %s\r\n", xff);
	assert_int_equal(gw_request(gw.http_port, "POST", LOGIN, headers, "{}", &r), 0);
	if (r.status == 429)
		assert_non_null(strstr(r.body, "\"type\":\"rate_limit_error\""));
	return r.status;
}

/* One login through the gateway: the X-Forwarded-For it arrives with
 * (NULL: none) and the status it must get. */
struct step {
	const char *xff;
	int status;
};

static void run_steps(const struct step *steps, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (login(steps[i].xff) != steps[i].status)
			fail_msg("step %zu (X-Forwarded-For: %s): not %d", i,
				 steps[i].xff ? steps[i].xff : "none", steps[i].status);
}

static void test_two_buyers_behind_cloudfront_and_alb(void **state)
{
	static const struct step steps[] = {
	    /* buyer A through one edge: its bucket of two, then 429 */
	    {"203.0.113.7, 130.176.1.1", 200},
	    {"203.0.113.7, 130.176.1.1", 200},
	    {"203.0.113.7, 130.176.1.1", 429},
	    /* buyer B through the same edge is another client */
	    {"198.51.100.9, 130.176.1.1", 200},
	    /* A through another edge, or with a forged hop of its own on the
	     * left, is still A */
	    {"203.0.113.7, 130.176.9.9", 429},
	    {"6.6.6.6, 203.0.113.7, 130.176.1.1", 429},
	    {"198.51.100.9, 130.176.1.1", 200},
	    {"198.51.100.9, 130.176.1.1", 429},
	    /* the buyers never took the edge's own bucket */
	    {"130.176.1.1", 200},
	};
	(void)state;

	start("\"127.0.0.1/32\", \"" CLOUDFRONT "\"");
	run_steps(steps, sizeof(steps) / sizeof(steps[0]));
	assert_int_equal(atomic_load(&backend->requests), 5);
}

static void test_untrusted_peer_cannot_choose_its_bucket(void **state)
{
	static const struct step steps[] = {
	    {"203.0.113.7", 200},
	    {"198.51.100.9", 200},
	    /* every X-Forwarded-For it sends lands in its own bucket */
	    {"192.0.2.1", 429},
	    {"192.0.2.2, 130.176.1.1", 429},
	    {"192.0.2.3, 10.0.0.1", 429},
	    {NULL, 429},
	};
	(void)state;

	/* the peer (127.0.0.1) is not a trusted proxy here */
	start("\"10.0.0.0/8\", \"" CLOUDFRONT "\"");
	run_steps(steps, sizeof(steps) / sizeof(steps[0]));
	assert_int_equal(atomic_load(&backend->requests), 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_teardown(test_two_buyers_behind_cloudfront_and_alb, teardown),
	    cmocka_unit_test_teardown(test_untrusted_peer_cannot_choose_its_bucket, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
