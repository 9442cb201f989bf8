/* test_router.c - route matching: literals, :params, 404 vs 405, Allow. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "b4/router.h"

static void handler(struct b4_req *req)
{
	(void)req;
}

static const struct b4_route routes[] = {
    {"GET", "/v1/products", handler, B4_ROLE_MEMBER},
    {"POST", "/v1/products", handler, B4_ROLE_MEMBER},
    {"GET", "/v1/products/:id", handler, B4_ROLE_MEMBER},
    {"PATCH", "/v1/products/:id", handler, B4_ROLE_MEMBER},
    {"DELETE", "/v1/products/:id", handler, B4_ROLE_MEMBER},
    {"GET", "/v1/products/:id/offers", handler, B4_ROLE_MEMBER},
    {"POST", "/v1/webhooks/:id/deliveries/:delivery_id/resend", handler, B4_ROLE_MEMBER},
    {"GET", "/v1/offers/:code", handler, B4_ROLE_PUBLIC},
};
#define NROUTES (sizeof(routes) / sizeof(routes[0]))

static enum b4_route_status match(const char *method, const char *path, size_t *index,
				  struct b4_route_params *params, char *allow)
{
	return b4_router_match(routes, NROUTES, method, path, index, params, allow, 128);
}

static void test_literal_and_param(void **state)
{
	struct b4_route_params params;
	char allow[128];
	size_t index = 99;
	(void)state;

	assert_int_equal(match("GET", "/v1/products", &index, &params, allow), B4_ROUTE_FOUND);
	assert_int_equal(index, 0);
	assert_int_equal(params.count, 0);

	assert_int_equal(match("GET", "/v1/products/abc-123", &index, &params, allow),
			 B4_ROUTE_FOUND);
	assert_int_equal(index, 2);
	assert_int_equal(params.count, 1);
	assert_int_equal(params.items[0].name_len, 2);
	assert_memory_equal(params.items[0].name, "id", 2);
	assert_int_equal(params.items[0].value_len, 7);
	assert_memory_equal(params.items[0].value, "abc-123", 7);

	assert_int_equal(
	    match("POST", "/v1/webhooks/w1/deliveries/d2/resend", &index, &params, allow),
	    B4_ROUTE_FOUND);
	assert_int_equal(index, 6);
	assert_int_equal(params.count, 2);
	assert_memory_equal(params.items[1].name, "delivery_id", 11);
	assert_memory_equal(params.items[1].value, "d2", 2);
}

static void test_not_found(void **state)
{
	struct b4_route_params params;
	char allow[128];
	size_t index;
	(void)state;

	assert_int_equal(match("GET", "/v1/nope", &index, &params, allow), B4_ROUTE_NOT_FOUND);
	assert_int_equal(match("GET", "/v1/products/", &index, &params, allow), B4_ROUTE_NOT_FOUND);
	assert_int_equal(match("GET", "/v1/products//offers", &index, &params, allow),
			 B4_ROUTE_NOT_FOUND);
	assert_int_equal(match("GET", "/v1/products/a/offers/extra", &index, &params, allow),
			 B4_ROUTE_NOT_FOUND);
	assert_int_equal(match("GET", "/v1/product", &index, &params, allow), B4_ROUTE_NOT_FOUND);
	assert_int_equal(match("GET", "", &index, &params, allow), B4_ROUTE_NOT_FOUND);
	assert_int_equal(match("GET", "v1/products", &index, &params, allow), B4_ROUTE_NOT_FOUND);
}

static void test_method_not_allowed_lists_allow(void **state)
{
	struct b4_route_params params;
	char allow[128];
	size_t index;
	(void)state;

	assert_int_equal(match("PUT", "/v1/products/x", &index, &params, allow),
			 B4_ROUTE_METHOD_NOT_ALLOWED);
	assert_string_equal(allow, "GET, PATCH, DELETE");
	assert_int_equal(match("DELETE", "/v1/products", &index, &params, allow),
			 B4_ROUTE_METHOD_NOT_ALLOWED);
	assert_string_equal(allow, "GET, POST");
}

static void test_too_many_params_never_overflows(void **state)
{
	static const struct b4_route deep[] = {
	    {"GET", "/:a/:b/:c/:d/:e/:f/:g", handler, B4_ROLE_PUBLIC},
	};
	struct b4_route_params params;
	char allow[64];
	size_t index;
	(void)state;

	/* more parameters than B4_ROUTE_MAX_PARAMS cannot match */
	assert_int_equal(b4_router_match(deep, 1, "GET", "/1/2/3/4/5/6/7", &index, &params, allow,
					 sizeof(allow)),
			 B4_ROUTE_NOT_FOUND);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_literal_and_param),
	    cmocka_unit_test(test_not_found),
	    cmocka_unit_test(test_method_not_allowed_lists_allow),
	    cmocka_unit_test(test_too_many_params_never_overflows),
	};
	return cmocka_run_group_tests_name("router", tests, NULL, NULL);
}
