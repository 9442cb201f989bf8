/* test_util.c - the pure helpers of svc-api/util.c: RFC 3339 times,
 * payment method sets (ids: tests/unit/libcommon/test_text.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

/* util.c's helpers are what is under test; its static parser with them. */
#include "../../../svc-api/util.c"

static int time_of(const char *json, char out[32], struct b4_error *err)
{
	cJSON *body = cJSON_Parse(json);
	bool present;
	int rc;

	assert_non_null(body);
	rc = api_get_time(body, "at", out, &present, err);
	cJSON_Delete(body);
	return rc;
}

static void test_rfc3339_times(void **state)
{
	char out[32];
	struct b4_error err;
	static const char *const bad[] = {
	    "{\"at\":\"2030-01-31\"}",
	    "{\"at\":\"2030-01-31T23:59:59\"}",
	    "{\"at\":\"2030-13-01T00:00:00Z\"}",
	    "{\"at\":\"2030-01-31T25:00:00Z\"}",
	    "{\"at\":\"2030-01-31T23:59:59Zjunk\"}",
	    "{\"at\":\"2030-01-31T23:59:59+0300\"}",
	    "{\"at\":\"2030-01-31T23:59:59.Z\"}",
	    "{\"at\":\"yesterday\"}",
	    "{\"at\":\"1960-01-01T00:00:00Z\"}",
	    "{\"at\":\"2030-01-31T23:59:59+24:00\"}",
	};
	(void)state;

	assert_int_equal(time_of("{\"at\":\"2030-01-31T23:59:59Z\"}", out, &err), 0);
	assert_string_equal(out, "2030-01-31 23:59:59");
	assert_int_equal(time_of("{\"at\":\"2030-01-31T23:59:59.123456Z\"}", out, &err), 0);
	assert_string_equal(out, "2030-01-31 23:59:59");
	/* offsets are folded into UTC, across the date line */
	assert_int_equal(time_of("{\"at\":\"2030-01-31T22:30:00-03:00\"}", out, &err), 0);
	assert_string_equal(out, "2030-02-01 01:30:00");
	assert_int_equal(time_of("{\"at\":\"2030-01-01T01:00:00+02:00\"}", out, &err), 0);
	assert_string_equal(out, "2029-12-31 23:00:00");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(time_of(bad[i], out, &err), -1);
		assert_int_equal(err.status, 422);
		assert_string_equal(err.param, "at");
	}
	assert_int_equal(time_of("{\"at\":20300131}", out, &err), -1);
	assert_int_equal(err.status, 400);
}

static int methods_of(const char *json, char out[32], bool *present, struct b4_error *err)
{
	cJSON *body = cJSON_Parse(json);
	int rc;

	assert_non_null(body);
	rc = api_get_methods(body, "m", out, present, err);
	cJSON_Delete(body);
	return rc;
}

static void test_payment_methods(void **state)
{
	char out[32];
	bool present;
	struct b4_error err;
	cJSON *obj, *arr;
	(void)state;

	/* stored in the SET's own order whatever the input order */
	assert_int_equal(methods_of("{\"m\":[\"boleto\",\"card\"]}", out, &present, &err), 0);
	assert_true(present);
	assert_string_equal(out, "card,boleto");
	assert_int_equal(methods_of("{}", out, &present, &err), 0);
	assert_false(present);
	assert_int_equal(methods_of("{\"m\":[]}", out, &present, &err), -1);
	assert_int_equal(err.status, 422);
	assert_int_equal(methods_of("{\"m\":[\"pix\",\"pix\"]}", out, &present, &err), -1);
	assert_int_equal(err.status, 422);
	assert_int_equal(methods_of("{\"m\":[\"bitcoin\"]}", out, &present, &err), -1);
	assert_int_equal(err.status, 422);
	assert_int_equal(methods_of("{\"m\":[1]}", out, &present, &err), -1);
	assert_int_equal(err.status, 400);
	assert_int_equal(methods_of("{\"m\":\"card\"}", out, &present, &err), -1);
	assert_int_equal(err.status, 400);
	assert_int_equal(
	    methods_of("{\"m\":[\"card\",\"pix\",\"boleto\",\"card\"]}", out, &present, &err), -1);
	assert_string_equal(err.param, "m");

	/* and back from the SET text to an array */
	obj = cJSON_CreateObject();
	api_add_set(obj, "payment_methods", "card,boleto");
	arr = cJSON_GetObjectItem(obj, "payment_methods");
	assert_int_equal(cJSON_GetArraySize(arr), 2);
	assert_string_equal(cJSON_GetArrayItem(arr, 0)->valuestring, "card");
	assert_string_equal(cJSON_GetArrayItem(arr, 1)->valuestring, "boleto");
	cJSON_Delete(obj);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_rfc3339_times),
	    cmocka_unit_test(test_payment_methods),
	};
	return cmocka_run_group_tests_name("svc-api util", tests, NULL, NULL);
}
