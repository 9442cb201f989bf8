/* b4-gateway keeps internal endpoints internal: a service's /healthz,
 * /readyz and /metrics are never reached through the public listener, in
 * any spelling, while the service's own port and the gateway's admin port
 * still serve them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gw_support.h"

static struct gw_backend *backend;
static struct gw_gateway gw;

static int setup(void **state)
{
	char cfg[2048];
	(void)state;
	backend = gw_backend_start("A");
	if (!backend)
		return -1;
	snprintf(cfg, sizeof(cfg),
		 "{\"routes\": [{\"prefix\": \"/api\", \"upstream\": \"svc\"},"
		 "  {\"prefix\": \"/checkout\", \"upstream\": \"svc\"},"
		 "  {\"prefix\": \"/backoffice\", \"upstream\": \"svc\"},"
		 "  {\"name\": \"raw\", \"prefix\": \"/raw\", \"strip_prefix\": false,"
		 "   \"upstream\": \"svc\"}],"
		 " \"upstreams\": {\"svc\": {\"instances\": [\"127.0.0.1:%d\"],"
		 "   \"health_check\": {\"interval_ms\": 0}, \"passive\": {\"failures\": 0}}},"
		 " \"rate_limits\": [], \"trusted_proxies\": []}",
		 backend->port);
	return gw_gateway_start(&gw, cfg, NULL);
}

static int teardown(void **state)
{
	(void)state;
	gw_gateway_stop(&gw, 5000);
	gw_backend_free(backend);
	return 0;
}

static void test_internal_paths_refused(void **state)
{
	static const char *const paths[] = {
	    "/api/metrics",
	    "/api/metrics/",
	    "/api/metrics?format=text",
	    "/api/metrics/?x",
	    "/checkout/readyz",
	    "/checkout/readyz/",
	    "/backoffice/healthz",
	    "/backoffice/healthz?probe=1",
	    "/api/%6detrics",
	    "/api/%6D%65%74%72%69%63%73",
	    "/api/METRICS",
	    "/api//metrics",
	    "/api/./metrics",
	    "/api/v1/../metrics",
	    "/api/v1/%2e%2e/metrics",
	    "/api/v1%2f..%2fmetrics",
	    "/checkout/metrics/.",
	    "/backoffice/%68ealthz/",
	    "/api/metrics#x",
	};
	int before = atomic_load(&backend->requests);
	(void)state;

	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		struct gw_response r;
		assert_int_equal(gw_request(gw.http_port, "GET", paths[i], NULL, NULL, &r), 0);
		if (r.status != 404)
			fail_msg("%s: status %d, body %s", paths[i], r.status, r.body);
		assert_non_null(strstr(r.body, "\"error\":{\"type\":\"not_found\""));
		assert_non_null(strstr(r.body, "\"request_id\":"));
		assert_null(strstr(r.body, "b4_"));
	}
	/* HEAD and POST too */
	{
		struct gw_response r;
		assert_int_equal(gw_request(gw.http_port, "POST", "/api/metrics", NULL, "x", &r),
				 0);
		assert_int_equal(r.status, 404);
	}
	assert_int_equal(atomic_load(&backend->requests), before);
	assert_true(gw_metric(gw.admin_port, "b4_gateway_internal_refused_total") >=
		    (double)(sizeof(paths) / sizeof(paths[0]) + 1));
}

static void test_other_paths_still_proxied(void **state)
{
	static const struct {
		const char *path, *seen;
	} cases[] = {
	    {"/api/v1/metrics", "A GET /v1/metrics "},
	    {"/api/v1/products/healthz", "A GET /v1/products/healthz "},
	    {"/api/metricsx", "A GET /metricsx "},
	    {"/raw/metrics", "A GET /raw/metrics "}, /* the service sees /raw/metrics */
	    {"/api/v1/x?next=/metrics", "A GET /v1/x?next=/metrics "},
	};
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct gw_response r;
		assert_int_equal(gw_request(gw.http_port, "GET", cases[i].path, NULL, NULL, &r), 0);
		if (r.status != 200 || !strstr(r.body, cases[i].seen))
			fail_msg("%s: %d %s", cases[i].path, r.status, r.body);
	}
}

static void test_internal_ports_still_serve(void **state)
{
	struct gw_response r;
	(void)state;
	/* the gateway's admin port */
	assert_int_equal(gw_admin_get(gw.admin_port, "/healthz", &r), 0);
	assert_int_equal(r.status, 200);
	assert_int_equal(gw_admin_get(gw.admin_port, "/readyz", &r), 0);
	assert_int_equal(r.status, 200);
	assert_int_equal(gw_admin_get(gw.admin_port, "/metrics", &r), 0);
	assert_int_equal(r.status, 200);
	assert_non_null(strstr(r.body, "b4_gateway_requests_total"));
	/* the service's own port */
	assert_int_equal(gw_request(backend->port, "GET", "/healthz", NULL, NULL, &r), 0);
	assert_int_equal(r.status, 200);
}

/* The services' addresses from the environment win over the file's, so
 * one file serves wherever make run puts them. */
static void test_env_upstream_over_file(void **state)
{
	struct gw_gateway gw2;
	struct gw_response r;
	char env_spec[64];
	const char *env[] = {env_spec, NULL};
	(void)state;

	memset(&gw2, 0, sizeof(gw2));
	snprintf(env_spec, sizeof(env_spec), "B4_API_UPSTREAM=127.0.0.1:%d", backend->port);
	assert_int_equal(
	    gw_gateway_start(&gw2,
			     "{\"routes\": [{\"prefix\": \"/api\", \"upstream\": \"api\"}],"
			     " \"upstreams\": {\"api\": {\"instances\": [\"127.0.0.1:1\"],"
			     "   \"health_check\": {\"interval_ms\": 0}}},"
			     " \"rate_limits\": []}",
			     env),
	    0);
	assert_int_equal(gw_request(gw2.http_port, "GET", "/api/v1/x", NULL, NULL, &r), 0);
	assert_int_equal(r.status, 200);
	assert_non_null(strstr(r.body, "A GET /v1/x"));
	gw_gateway_stop(&gw2, 5000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_internal_paths_refused),
	    cmocka_unit_test(test_other_paths_still_proxied),
	    cmocka_unit_test(test_internal_ports_still_serve),
	    cmocka_unit_test(test_env_upstream_over_file),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
