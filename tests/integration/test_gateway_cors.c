/* b4-gateway CORS: preflights answered by the gateway for allowed origins
 * (from the file, or B4_CORS_ORIGINS), refused for foreign ones; actual
 * responses carry the grant and the exposed headers only for an allowed
 * origin; proxied, static and the gateway's own answers alike. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gw_support.h"

#define ALLOWED "http://localhost:3000"
#define FOREIGN "https://evil.example"

static struct gw_backend *backend;
static struct gw_gateway gw;
static char root[512];

static void make_config(char *out, size_t cap)
{
	snprintf(out, cap,
		 "{\"routes\": [{\"prefix\": \"/api\", \"upstream\": \"api\"},"
		 "  {\"prefix\": \"/site\", \"static\": {\"root\": \"%s\"}}],"
		 " \"upstreams\": {\"api\": {\"instances\": [\"127.0.0.1:%d\"],"
		 "   \"health_check\": {\"interval_ms\": 0}, \"passive\": {\"failures\": 0}}},"
		 " \"cors\": {\"allowed_origins\": [\"" ALLOWED "\"], \"max_age_seconds\": 600},"
		 " \"rate_limits\": [], \"trusted_proxies\": []}",
		 root, backend->port);
}

static int setup(void **state)
{
	char cfg[2048], path[600];
	FILE *f;
	(void)state;
	snprintf(root, sizeof(root), "%s/cors-%d", h_var(), (int)getpid());
	if (mkdir(root, 0755) != 0 && errno != EEXIST)
		return -1;
	snprintf(path, sizeof(path), "%s/index.html", root);
	f = fopen(path, "w");
	if (!f)
		return -1;
	fputs("<h1>page</h1>", f);
	fclose(f);
	backend = gw_backend_start("A");
	if (!backend)
		return -1;
	make_config(cfg, sizeof(cfg));
	return gw_gateway_start(&gw, cfg, NULL);
}

static int teardown(void **state)
{
	char path[600];
	(void)state;
	gw_gateway_stop(&gw, 5000);
	gw_backend_free(backend);
	snprintf(path, sizeof(path), "%s/index.html", root);
	unlink(path);
	rmdir(root);
	return 0;
}

static void expect_no_grant(const struct gw_response *r)
{
	char v[256];
	if (gw_header(r, "Access-Control-Allow-Origin", v, sizeof(v)))
		fail_msg("unexpected grant \"%s\" in:\n%s", v, r->head);
	assert_false(gw_header(r, "Access-Control-Allow-Methods", v, sizeof(v)));
	assert_false(gw_header(r, "Access-Control-Expose-Headers", v, sizeof(v)));
}

static void expect_grant(const struct gw_response *r, const char *origin)
{
	char v[256];
	assert_true(gw_header_is(r, "Access-Control-Allow-Origin", origin));
	assert_true(gw_header_is(r, "Access-Control-Expose-Headers",
				 "X-Request-Id, Idempotent-Replayed, Retry-After"));
	assert_true(gw_header(r, "Vary", v, sizeof(v)));
	assert_non_null(strstr(v, "Origin"));
}

static void test_preflight_allowed(void **state)
{
	struct gw_response r;
	int before = atomic_load(&backend->requests);
	(void)state;

	assert_int_equal(
	    gw_request(gw.http_port, "OPTIONS", "/api/v1/orders",
		       "Origin: " ALLOWED "\r\n"
		       "Access-Control-Request-Method: POST\r\n"
		       "Access-Control-Request-Headers: content-type, idempotency-key\r\n",
		       NULL, &r),
	    0);
	assert_int_equal(r.status, 204);
	assert_true(gw_header_is(&r, "Access-Control-Allow-Origin", ALLOWED));
	assert_true(gw_header_is(&r, "Access-Control-Allow-Methods",
				 "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS"));
	assert_true(gw_header_is(&r, "Access-Control-Allow-Headers",
				 "Authorization, Content-Type, Idempotency-Key, X-Request-Id"));
	assert_true(gw_header_is(&r, "Access-Control-Max-Age", "600"));
	assert_true(gw_header_is(&r, "Vary", "Origin"));
	assert_false(gw_header(&r, "Access-Control-Allow-Credentials", r.body, 8));
	/* the gateway answered; the service never saw it */
	assert_int_equal(atomic_load(&backend->requests), before);

	/* a static route too */
	assert_int_equal(gw_request(gw.http_port, "OPTIONS", "/site/",
				    "Origin: " ALLOWED "\r\n"
				    "Access-Control-Request-Method: GET\r\n",
				    NULL, &r),
			 0);
	assert_int_equal(r.status, 204);
	assert_true(gw_header_is(&r, "Access-Control-Allow-Origin", ALLOWED));
	assert_true(
	    gw_metric(gw.admin_port, "b4_gateway_cors_preflights_total{result=\"granted\"}") >= 2);
}

static void test_preflight_foreign(void **state)
{
	struct gw_response r;
	int before = atomic_load(&backend->requests);
	(void)state;

	assert_int_equal(gw_request(gw.http_port, "OPTIONS", "/api/v1/orders",
				    "Origin: " FOREIGN "\r\n"
				    "Access-Control-Request-Method: POST\r\n",
				    NULL, &r),
			 0);
	assert_int_equal(r.status, 403);
	assert_non_null(strstr(r.body, "\"code\":\"cors_origin_not_allowed\""));
	expect_no_grant(&r);
	/* an allowed origin's prefix or a different scheme or port is foreign */
	static const char *const near_misses[] = {
	    "Origin: http://localhost:30001\r\n", "Origin: https://localhost:3000\r\n",
	    "Origin: http://localhost\r\n", "Origin: null\r\n"};
	for (size_t i = 0; i < sizeof(near_misses) / sizeof(near_misses[0]); i++) {
		char hdr[256];
		snprintf(hdr, sizeof(hdr), "%sAccess-Control-Request-Method: GET\r\n",
			 near_misses[i]);
		assert_int_equal(gw_request(gw.http_port, "OPTIONS", "/api/x", hdr, NULL, &r), 0);
		if (r.status != 403)
			fail_msg("%s: status %d", near_misses[i], r.status);
		expect_no_grant(&r);
	}
	assert_int_equal(atomic_load(&backend->requests), before);
	assert_true(
	    gw_metric(gw.admin_port, "b4_gateway_cors_preflights_total{result=\"refused\"}") >= 5);
}

static void test_actual_responses(void **state)
{
	struct gw_response r;
	char v[256];
	(void)state;

	/* proxied, allowed origin */
	assert_int_equal(
	    gw_request(gw.http_port, "POST", "/api/v1/orders", "Origin: " ALLOWED "\r\n", "{}", &r),
	    0);
	assert_int_equal(r.status, 200);
	assert_non_null(strstr(r.body, "A POST /v1/orders"));
	expect_grant(&r, ALLOWED);
	/* the Origin still reaches the service */
	gw_backend_last_head(backend, v, sizeof(v));
	assert_non_null(strstr(v, "Origin: " ALLOWED));

	/* proxied, foreign origin: answered, but no grant */
	assert_int_equal(
	    gw_request(gw.http_port, "GET", "/api/v1/x", "Origin: " FOREIGN "\r\n", NULL, &r), 0);
	assert_int_equal(r.status, 200);
	expect_no_grant(&r);
	assert_true(gw_header_is(&r, "Vary", "Origin"));

	/* no Origin: no grant, the response still varies by it */
	assert_int_equal(gw_request(gw.http_port, "GET", "/api/v1/x", NULL, NULL, &r), 0);
	expect_no_grant(&r);
	assert_true(gw_header_is(&r, "Vary", "Origin"));

	/* the gateway's own errors and static files carry the grant too */
	assert_int_equal(
	    gw_request(gw.http_port, "GET", "/nowhere", "Origin: " ALLOWED "\r\n", NULL, &r), 0);
	assert_int_equal(r.status, 404);
	expect_grant(&r, ALLOWED);
	assert_int_equal(
	    gw_request(gw.http_port, "GET", "/site/", "Origin: " ALLOWED "\r\n", NULL, &r), 0);
	assert_int_equal(r.status, 200);
	expect_grant(&r, ALLOWED);

	/* OPTIONS without Access-Control-Request-Method is not a preflight */
	assert_int_equal(
	    gw_request(gw.http_port, "OPTIONS", "/api/v1/x", "Origin: " ALLOWED "\r\n", NULL, &r),
	    0);
	assert_int_equal(r.status, 200);
	assert_non_null(strstr(r.body, "A OPTIONS /v1/x"));
	expect_grant(&r, ALLOWED);
}

static void test_env_replaces_origins(void **state)
{
	static const char *const env[] = {
	    "B4_CORS_ORIGINS=https://app.example, https://pay.example", NULL};
	struct gw_gateway gw2;
	struct gw_response r;
	char cfg[2048];
	(void)state;

	memset(&gw2, 0, sizeof(gw2));
	make_config(cfg, sizeof(cfg));
	assert_int_equal(gw_gateway_start(&gw2, cfg, env), 0);
	assert_int_equal(gw_request(gw2.http_port, "OPTIONS", "/api/x",
				    "Origin: https://pay.example\r\n"
				    "Access-Control-Request-Method: PUT\r\n",
				    NULL, &r),
			 0);
	assert_int_equal(r.status, 204);
	assert_true(gw_header_is(&r, "Access-Control-Allow-Origin", "https://pay.example"));
	assert_int_equal(gw_request(gw2.http_port, "OPTIONS", "/api/x",
				    "Origin: " ALLOWED "\r\n"
				    "Access-Control-Request-Method: PUT\r\n",
				    NULL, &r),
			 0);
	assert_int_equal(r.status, 403);
	expect_no_grant(&r);
	gw_gateway_stop(&gw2, 5000);
}

static void test_cors_off_without_origins(void **state)
{
	struct gw_gateway gw3;
	struct gw_response r;
	char cfg[1024], v[64];
	(void)state;

	memset(&gw3, 0, sizeof(gw3));
	snprintf(cfg, sizeof(cfg),
		 "{\"routes\": [{\"prefix\": \"/api\", \"upstream\": \"api\"}],"
		 " \"upstreams\": {\"api\": {\"instances\": [\"127.0.0.1:%d\"],"
		 "   \"health_check\": {\"interval_ms\": 0}}}, \"rate_limits\": []}",
		 backend->port);
	assert_int_equal(gw_gateway_start(&gw3, cfg, NULL), 0);
	/* the preflight goes to the service like any request */
	assert_int_equal(gw_request(gw3.http_port, "OPTIONS", "/api/x",
				    "Origin: " ALLOWED "\r\n"
				    "Access-Control-Request-Method: PUT\r\n",
				    NULL, &r),
			 0);
	assert_int_equal(r.status, 200);
	assert_non_null(strstr(r.body, "A OPTIONS /x"));
	expect_no_grant(&r);
	assert_false(gw_header(&r, "Vary", v, sizeof(v)));
	gw_gateway_stop(&gw3, 5000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_preflight_allowed),
	    cmocka_unit_test(test_preflight_foreign),
	    cmocka_unit_test(test_actual_responses),
	    cmocka_unit_test(test_env_replaces_origins),
	    cmocka_unit_test(test_cors_off_without_origins),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
