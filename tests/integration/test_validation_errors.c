/* test_validation_errors.c - validation answers name every bad field at once
 * (API.md Conventions: `errors` beside the first `param`), over HTTP against
 * the real b4-checkout and b4-api: an order with a bad CPF and a bad e-mail,
 * an order missing several fields, a sign-up, a product and an offer with
 * several bad fields; none of them writes a row. */
#include "harness.h"

#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

static const char *db;
static struct h_proc checkout, api;

static int group_setup(void **state)
{
	const char *checkout_env[] = {
	    "B4_ACQUIRER_SECRET=acquirer-secret-for-tests-0123456789abcdef",
	    "B4_ACQUIRERS=sandbox=http://127.0.0.1:9", NULL};
	(void)state;

	db = h_db_create("b4_validation", true);
	if (!db || h_start(&checkout, "b4-checkout", db, checkout_env) < 0)
		return -1;
	return h_start(&api, "b4-api", db, NULL);
}

static int group_teardown(void **state)
{
	(void)state;
	h_stop(&checkout, SIGTERM, 10000);
	h_stop(&api, SIGTERM, 10000);
	return 0;
}

/* The params of error.errors, joined with spaces in a static buffer; fails
 * the test when the list is missing or an entry lacks code or message. */
static const char *listed_params(const struct h_resp *r)
{
	static char out[512];
	const cJSON *error = cJSON_GetObjectItemCaseSensitive(r->json, "error");
	const cJSON *list = cJSON_GetObjectItemCaseSensitive(error, "errors");
	const cJSON *item;
	size_t used = 0;

	assert_true(cJSON_IsArray(list));
	out[0] = '\0';
	cJSON_ArrayForEach(item, list)
	{
		const cJSON *param = cJSON_GetObjectItemCaseSensitive(item, "param");
		const cJSON *code = cJSON_GetObjectItemCaseSensitive(item, "code");
		const cJSON *message = cJSON_GetObjectItemCaseSensitive(item, "message");
		assert_true(cJSON_IsString(param) && cJSON_IsString(code) &&
			    cJSON_IsString(message));
		assert_true(message->valuestring[0] != '\0');
		used += (size_t)snprintf(out + used, sizeof(out) - used, "%s%s", used ? " " : "",
					 param->valuestring);
		assert_true(used < sizeof(out));
	}
	return out;
}

/* The code listed for param, or NULL. */
static const char *listed_code(const struct h_resp *r, const char *param)
{
	const cJSON *list = cJSON_GetObjectItemCaseSensitive(
	    cJSON_GetObjectItemCaseSensitive(r->json, "error"), "errors");
	const cJSON *item;

	cJSON_ArrayForEach(item, list)
	{
		const cJSON *p = cJSON_GetObjectItemCaseSensitive(item, "param");
		if (cJSON_IsString(p) && strcmp(p->valuestring, param) == 0)
			return cJSON_GetObjectItemCaseSensitive(item, "code")->valuestring;
	}
	return NULL;
}

static long post(struct h_resp *r, const struct h_proc *p, const char *path, const char *auth,
		 const char *body)
{
	static unsigned n;
	char key[64];
	const char *headers[] = {"Content-Type: application/json", key, auth, NULL};

	snprintf(key, sizeof(key), "Idempotency-Key: validation-%d-%u", (int)getpid(), ++n);
	assert_int_equal(h_http(r, "POST", h_url(p, path), body, headers), 0);
	return r->status;
}

static long rows(const char *table)
{
	return h_sql_intf(db, "SELECT COUNT(*) FROM %s", table);
}

static void test_order_names_bad_cpf_and_bad_email(void **state)
{
	struct h_resp r;
	long orders = rows("orders"), customers = rows("customers");
	(void)state;

	post(&r, &checkout, "/v1/orders", NULL,
	     "{\"offer_code\":\"DEMOOFFER1\",\"customer\":{\"full_name\":\"Maria Compradora\","
	     "\"email\":\"maria-at-example\",\"document\":\"111.444.777-00\","
	     "\"phone\":\"11987654321\"},\"payment\":{\"method\":\"pix\"}}");
	assert_int_equal(r.status, 422);
	assert_string_equal(h_json_str(&r, "error.type"), "invalid_request_error");
	/* the first bad field answers, as before; the list names both */
	assert_string_equal(h_json_str(&r, "error.param"), "customer.email");
	assert_string_equal(listed_params(&r), "customer.email customer.document");
	assert_string_equal(listed_code(&r, "customer.email"), "invalid_email");
	assert_string_equal(listed_code(&r, "customer.document"), "invalid_document");
	assert_non_null(h_json_str(&r, "request_id"));
	h_resp_free(&r);
	assert_int_equal(rows("orders"), orders);
	assert_int_equal(rows("customers"), customers);
}

static void test_order_names_missing_and_bad_payment_fields(void **state)
{
	struct h_resp r;
	(void)state;

	post(&r, &checkout, "/v1/orders", NULL,
	     "{\"offer_code\":\"DEMOOFFER1\",\"customer\":{\"full_name\":\"M\","
	     "\"email\":\"ok@example.com\",\"document\":\"111.444.777-35\"},"
	     "\"payment\":{\"method\":\"cash\",\"installments\":13}}");
	/* the first failure (a too short name) sets the status */
	assert_int_equal(r.status, 422);
	assert_string_equal(h_json_str(&r, "error.param"), "customer.full_name");
	assert_string_equal(
	    listed_params(&r),
	    "customer.full_name customer.phone payment.method payment.installments");
	assert_string_equal(listed_code(&r, "customer.phone"), "missing_field");
	assert_string_equal(listed_code(&r, "payment.installments"), "out_of_range");
	h_resp_free(&r);
}

static void test_single_bad_field_is_listed_too(void **state)
{
	struct h_resp r;
	(void)state;

	post(&r, &checkout, "/v1/orders", NULL,
	     "{\"offer_code\":\"DEMOOFFER1\",\"customer\":{\"full_name\":\"Maria Compradora\","
	     "\"email\":\"ok@example.com\",\"document\":\"111.444.777-35\","
	     "\"phone\":\"call me\"},\"payment\":{\"method\":\"pix\"}}");
	assert_int_equal(r.status, 422);
	assert_string_equal(h_json_str(&r, "error.param"), "customer.phone");
	assert_string_equal(listed_params(&r), "customer.phone");
	h_resp_free(&r);
	/* no field to name (malformed JSON): no list */
	post(&r, &checkout, "/v1/orders", NULL, "{\"offer_code\":\"DEMOOFFER1\"");
	assert_int_equal(r.status, 400);
	assert_null(h_json_str(&r, "error.param"));
	assert_null(strstr(r.body, "\"errors\""));
	h_resp_free(&r);
}

static void test_signup_names_every_bad_field(void **state)
{
	struct h_resp r;
	long users = rows("users");
	(void)state;

	post(&r, &api, "/v1/auth/signup", NULL,
	     "{\"email\":\"nobody\",\"password\":\"short\",\"document\":\"123.456.789-00\"}");
	assert_int_equal(r.status, 422);
	assert_string_equal(h_json_str(&r, "error.param"), "password");
	assert_string_equal(listed_params(&r), "password full_name email document");
	assert_string_equal(listed_code(&r, "full_name"), "missing_field");
	assert_string_equal(listed_code(&r, "email"), "invalid_email");
	h_resp_free(&r);
	assert_int_equal(rows("users"), users);
}

static void test_product_and_offer_name_every_bad_field(void **state)
{
	const char *user = "01900000-0000-7000-8000-00000000c0de";
	char auth[1024], path[128];
	struct h_resp r;
	char *product_id;
	long products, offers;
	(void)state;

	assert_int_equal(h_sqlf(db,
				"INSERT INTO users (id, email, password_hash, full_name, role)"
				" VALUES ('%s', 'validation@example.com', 'x', 'Val', 'member')",
				user),
			 0);
	snprintf(auth, sizeof(auth), "%s", h_bearer(user, "member"));
	products = rows("products");
	post(&r, &api, "/v1/products", auth,
	     "{\"name\":\"\",\"type\":\"podcast\",\"guarantee_days\":10,"
	     "\"affiliate_program\":{\"enabled\":true,\"cookie_days\":45}}");
	assert_int_equal(r.status, 422);
	assert_string_equal(h_json_str(&r, "error.param"), "name");
	assert_string_equal(listed_params(&r), "name type guarantee_days "
					       "affiliate_program.cookie_days "
					       "affiliate_program.commission_bps");
	h_resp_free(&r);
	assert_int_equal(rows("products"), products);

	post(&r, &api, "/v1/products", auth, "{\"name\":\"Curso\",\"type\":\"course\"}");
	assert_int_equal(r.status, 201);
	product_id = strdup(h_json_str(&r, "id"));
	h_resp_free(&r);
	offers = rows("offers");
	snprintf(path, sizeof(path), "/v1/products/%s/offers", product_id);
	post(&r, &api, path, auth,
	     "{\"price_cents\":100,\"max_installments\":0,\"payment_methods\":[\"cash\"],"
	     "\"active\":\"yes\"}");
	assert_int_equal(r.status, 400);
	assert_string_equal(h_json_str(&r, "error.param"), "name");
	assert_string_equal(listed_params(&r),
			    "name price_cents max_installments payment_methods active");
	h_resp_free(&r);
	assert_int_equal(rows("offers"), offers);
	free(product_id);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_order_names_bad_cpf_and_bad_email),
	    cmocka_unit_test(test_order_names_missing_and_bad_payment_fields),
	    cmocka_unit_test(test_single_bad_field_is_listed_too),
	    cmocka_unit_test(test_signup_names_every_bad_field),
	    cmocka_unit_test(test_product_and_offer_name_every_bad_field),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
