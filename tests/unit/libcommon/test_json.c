/* test_json.c - strict JSON getters, error shape, text validation. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "b4/buf.h"
#include "b4/http.h"
#include "b4/json.h"

static cJSON *parse(const char *text)
{
	struct b4_error err;
	cJSON *root = b4_json_parse_object(text, strlen(text), 8, &err);
	assert_non_null(root);
	return root;
}

static void test_parse_rejects_non_objects_and_garbage(void **state)
{
	static const char *const bad[] = {
	    "", "[1,2]", "\"text\"", "{", "{\"a\":1} x", "{\"a\":}", "nul", "{\"a\":1}{\"b\":2}"};
	struct b4_error err;
	(void)state;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(&err, 0, sizeof(err));
		assert_null(b4_json_parse_object(bad[i], strlen(bad[i]), 8, &err));
		assert_int_equal(err.status, 400);
		assert_string_equal(err.type, "invalid_request_error");
	}
	/* trailing whitespace is fine */
	cJSON *ok = b4_json_parse_object("{\"a\":1}\n ", 9, 8, &err);
	assert_non_null(ok);
	cJSON_Delete(ok);
}

static void test_parse_limits_depth(void **state)
{
	struct b4_error err;
	const char *deep = "{\"a\":{\"b\":{\"c\":{\"d\":{\"e\":1}}}}}";
	(void)state;

	assert_null(b4_json_parse_object(deep, strlen(deep), 3, &err));
	assert_string_equal(err.code, "too_deep");
	cJSON *ok = b4_json_parse_object(deep, strlen(deep), 8, &err);
	assert_non_null(ok);
	cJSON_Delete(ok);
}

static void test_str_presence_type_length(void **state)
{
	cJSON *root = parse("{\"name\":\"Ana\",\"n\":5,\"long\":\"abcdefghij\",\"nul\":null,"
			    "\"accent\":\"Jo\\u00e3o\",\"ctl\":\"a\\u0001b\"}");
	struct b4_error err;
	const char *out = NULL;
	(void)state;

	assert_int_equal(b4_json_get_str(root, "name", B4_JSON_REQUIRED, 1, 10, &out, &err), 0);
	assert_string_equal(out, "Ana");
	out = NULL;
	assert_int_equal(b4_json_get_str(root, "missing", B4_JSON_OPTIONAL, 1, 10, &out, &err), 0);
	assert_null(out);
	assert_int_equal(b4_json_get_str(root, "nul", B4_JSON_OPTIONAL, 1, 10, &out, &err), 0);
	assert_null(out);

	assert_int_equal(b4_json_get_str(root, "missing", B4_JSON_REQUIRED, 1, 10, &out, &err), -1);
	assert_int_equal(err.status, 400);
	assert_string_equal(err.code, "missing_field");
	assert_string_equal(err.param, "missing");

	assert_int_equal(b4_json_get_str(root, "n", B4_JSON_REQUIRED, 1, 10, &out, &err), -1);
	assert_int_equal(err.status, 400);
	assert_string_equal(err.code, "invalid_type");

	assert_int_equal(b4_json_get_str(root, "long", B4_JSON_REQUIRED, 1, 9, &out, &err), -1);
	assert_int_equal(err.status, 422);
	assert_string_equal(err.param, "long");

	/* characters, not bytes: "João" is 4 characters */
	assert_int_equal(b4_json_get_str(root, "accent", B4_JSON_REQUIRED, 4, 4, &out, &err), 0);
	assert_int_equal(b4_json_get_str(root, "ctl", B4_JSON_REQUIRED, 1, 10, &out, &err), -1);
	assert_string_equal(err.code, "invalid_text");
	cJSON_Delete(root);
}

static void test_int_bounds_and_fractions(void **state)
{
	cJSON *root = parse("{\"a\":500,\"b\":1.5,\"c\":-1,\"d\":\"7\",\"e\":1e300,"
			    "\"f\":9007199254740993}");
	struct b4_error err;
	int64_t v = 0;
	(void)state;

	assert_int_equal(b4_json_get_int(root, "a", B4_JSON_REQUIRED, 500, 1000, &v, &err), 0);
	assert_int_equal(v, 500);
	assert_int_equal(b4_json_get_int(root, "b", B4_JSON_REQUIRED, 0, 10, &v, &err), -1);
	assert_int_equal(err.status, 400);
	assert_int_equal(b4_json_get_int(root, "c", B4_JSON_REQUIRED, 0, 10, &v, &err), -1);
	assert_int_equal(err.status, 422);
	assert_string_equal(err.code, "out_of_range");
	assert_int_equal(b4_json_get_int(root, "d", B4_JSON_REQUIRED, 0, 10, &v, &err), -1);
	assert_string_equal(err.code, "invalid_type");
	assert_int_equal(b4_json_get_int(root, "e", B4_JSON_REQUIRED, 0, INT64_MAX, &v, &err), -1);
	assert_int_equal(b4_json_get_int(root, "f", B4_JSON_REQUIRED, 0, INT64_MAX, &v, &err), -1);
	cJSON_Delete(root);
}

static void test_enum_bool_nested_and_unknown(void **state)
{
	static const char *const methods[] = {"card", "pix", "boleto", NULL};
	static const char *const allowed[] = {"payment", "customer", NULL};
	cJSON *root = parse("{\"payment\":{\"method\":\"pix\",\"save\":true},"
			    "\"customer\":{\"email\":\"a@b.c\"}}");
	cJSON *bad = parse("{\"payment\":{\"method\":\"cash\"},\"extra\":1}");
	struct b4_error err;
	int which = -1;
	bool flag = false;
	const char *email;
	(void)state;

	assert_int_equal(
	    b4_json_get_enum(root, "payment.method", B4_JSON_REQUIRED, methods, &which, &err), 0);
	assert_int_equal(which, 1);
	assert_int_equal(b4_json_get_bool(root, "payment.save", B4_JSON_REQUIRED, &flag, &err), 0);
	assert_true(flag);
	assert_int_equal(
	    b4_json_get_str(root, "customer.email", B4_JSON_REQUIRED, 3, 254, &email, &err), 0);
	assert_string_equal(email, "a@b.c");
	assert_int_equal(b4_json_reject_unknown(root, allowed, NULL, &err), 0);

	assert_int_equal(
	    b4_json_get_enum(bad, "payment.method", B4_JSON_REQUIRED, methods, &which, &err), -1);
	assert_int_equal(err.status, 422);
	assert_string_equal(err.param, "payment.method");
	assert_int_equal(b4_json_reject_unknown(bad, allowed, NULL, &err), -1);
	assert_string_equal(err.code, "unknown_field");
	assert_string_equal(err.param, "extra");
	assert_int_equal(
	    b4_json_get_str(bad, "customer.email", B4_JSON_REQUIRED, 3, 254, &email, &err), -1);
	assert_string_equal(err.param, "customer.email");
	cJSON_Delete(root);
	cJSON_Delete(bad);
}

static void test_error_body_shape(void **state)
{
	struct b4_error err;
	size_t len;
	char *body;
	cJSON *doc;
	(void)state;

	b4_error_invalid(&err, 422, "invalid_value", "payment.method", "Bad \"value\" <x>");
	body = b4_error_body(&err, "rid-1", &len);
	assert_non_null(body);
	doc = cJSON_Parse(body);
	assert_non_null(doc);
	assert_string_equal(
	    cJSON_GetObjectItem(cJSON_GetObjectItem(doc, "error"), "type")->valuestring,
	    "invalid_request_error");
	assert_string_equal(
	    cJSON_GetObjectItem(cJSON_GetObjectItem(doc, "error"), "param")->valuestring,
	    "payment.method");
	assert_string_equal(
	    cJSON_GetObjectItem(cJSON_GetObjectItem(doc, "error"), "message")->valuestring,
	    "Bad \"value\" <x>");
	assert_string_equal(cJSON_GetObjectItem(doc, "request_id")->valuestring, "rid-1");
	cJSON_Delete(doc);
	free(body);

	/* no param -> no param key */
	b4_error_set(&err, 404, "not_found", "x", NULL, "missing");
	body = b4_error_body(&err, "r", &len);
	assert_null(strstr(body, "param"));
	free(body);
}

/* The "errors" list of a parsed error body, or NULL. */
static const cJSON *body_errors(const cJSON *doc)
{
	return cJSON_GetObjectItem(cJSON_GetObjectItem(doc, "error"), "errors");
}

static const char *item_str(const cJSON *list, int i, const char *name)
{
	return cJSON_GetObjectItem(cJSON_GetArrayItem(list, i), name)->valuestring;
}

static void test_error_body_lists_a_single_named_field(void **state)
{
	struct b4_error err;
	size_t len;
	char *body;
	cJSON *doc;
	(void)state;

	b4_error_invalid(&err, 400, "missing_field", "email", "The field 'email' is required.");
	body = b4_error_body(&err, "r", &len);
	doc = cJSON_Parse(body);
	assert_non_null(doc);
	assert_int_equal(cJSON_GetArraySize(body_errors(doc)), 1);
	assert_string_equal(item_str(body_errors(doc), 0, "param"), "email");
	assert_string_equal(item_str(body_errors(doc), 0, "code"), "missing_field");
	cJSON_Delete(doc);
	free(body);

	/* not a validation error: no list even with a param */
	b4_error_set(&err, 409, "conflict", "email_taken", "email", "taken");
	body = b4_error_body(&err, "r", &len);
	assert_null(strstr(body, "errors"));
	free(body);
}

static void test_form_collects_every_bad_field_in_order(void **state)
{
	cJSON *root = parse("{\"customer\":{\"email\":5,\"full_name\":\"Ana Souza\","
			    "\"document\":\"123\"},\"payment\":{\"method\":\"cash\"}}");
	const char *email = NULL, *name = NULL, *document = NULL, *phone = NULL;
	static const char *const methods[] = {"card", "pix", "boleto", NULL};
	const struct b4_error *errs;
	struct b4_form form;
	int method = -1;
	size_t n, len;
	char *body;
	cJSON *doc;
	(void)state;

	b4_form_init(&form);
	assert_false(b4_form_failed(&form));
	b4_json_get_str(root, "customer.full_name", B4_JSON_REQUIRED, 2, 200, &name,
			b4_form_err(&form));
	b4_json_get_str(root, "customer.email", B4_JSON_REQUIRED, 3, 254, &email,
			b4_form_err(&form));
	b4_json_get_str(root, "customer.document", B4_JSON_REQUIRED, 11, 32, &document,
			b4_form_err(&form));
	b4_json_get_str(root, "customer.phone", B4_JSON_REQUIRED, 10, 25, &phone,
			b4_form_err(&form));
	b4_json_get_enum(root, "payment.method", B4_JSON_REQUIRED, methods, &method,
			 b4_form_err(&form));
	assert_string_equal(name, "Ana Souza");
	assert_true(b4_form_failed(&form));
	assert_true(b4_form_has(&form, "customer.phone"));
	assert_false(b4_form_has(&form, "customer.full_name"));
	b4_form_add(&form, 422, "invalid_document", "customer.cpf_check", "not a CPF");

	errs = b4_form_errors(&form, &n);
	assert_int_equal(n, 5);
	assert_string_equal(errs[0].param, "customer.email");
	assert_string_equal(errs[0].code, "invalid_type");
	assert_string_equal(errs[1].code, "invalid_length");
	assert_string_equal(errs[2].code, "missing_field");
	assert_string_equal(errs[3].param, "payment.method");
	assert_string_equal(errs[4].code, "invalid_document");

	/* the body: the first failure answers, every one is listed */
	body = b4_error_body_list(errs, n, "rid", &len);
	doc = cJSON_Parse(body);
	assert_non_null(doc);
	assert_string_equal(
	    cJSON_GetObjectItem(cJSON_GetObjectItem(doc, "error"), "param")->valuestring,
	    "customer.email");
	assert_int_equal(cJSON_GetArraySize(body_errors(doc)), 5);
	assert_string_equal(item_str(body_errors(doc), 1, "param"), "customer.document");
	assert_string_equal(item_str(body_errors(doc), 2, "param"), "customer.phone");
	assert_string_equal(item_str(body_errors(doc), 3, "code"), "invalid_value");
	assert_string_equal(item_str(body_errors(doc), 4, "message"), "not a CPF");
	cJSON_Delete(doc);
	free(body);
	cJSON_Delete(root);
}

static void test_form_is_bounded(void **state)
{
	cJSON *root = parse("{}");
	struct b4_form form;
	const char *out = NULL;
	char name[16];
	size_t n;
	(void)state;

	b4_form_init(&form);
	for (int i = 0; i < B4_FORM_MAX_ERRORS + 5; i++) {
		snprintf(name, sizeof(name), "f%d", i);
		assert_int_equal(
		    b4_json_get_str(root, name, B4_JSON_REQUIRED, 1, 5, &out, b4_form_err(&form)),
		    -1);
	}
	assert_true(b4_form_failed(&form));
	assert_non_null(b4_form_errors(&form, &n));
	assert_int_equal(n, B4_FORM_MAX_ERRORS);
	assert_int_equal(form.dropped, 5);
	assert_string_equal(form.slots[0].param, "f0");
	assert_string_equal(form.slots[B4_FORM_MAX_ERRORS - 1].param, "f15");
	cJSON_Delete(root);
}

static void test_json_string_escaping_is_always_valid(void **state)
{
	const char raw[] = "a\"b\\c\n\x01\xff\xc3\xa3\xe2\x82";
	struct b4_buf buf;
	cJSON *doc;
	(void)state;

	b4_buf_init(&buf);
	b4_buf_json_string(&buf, raw, sizeof(raw) - 1);
	doc = cJSON_Parse(buf.data);
	assert_non_null(doc);
	assert_true(cJSON_IsString(doc));
	/* the valid "ã" survives; invalid bytes become U+FFFD */
	assert_non_null(strstr(doc->valuestring, "\xc3\xa3"));
	assert_non_null(strstr(doc->valuestring, "\xef\xbf\xbd"));
	cJSON_Delete(doc);
	b4_buf_cleanup(&buf);
}

static void test_request_id_validation(void **state)
{
	char id[33];
	char long_id[130];
	(void)state;

	assert_true(b4_request_id_is_valid("abc-DEF_123.x"));
	assert_false(b4_request_id_is_valid(""));
	assert_false(b4_request_id_is_valid(NULL));
	assert_false(b4_request_id_is_valid("has space"));
	assert_false(b4_request_id_is_valid("new\nline"));
	assert_false(b4_request_id_is_valid("<script>"));
	memset(long_id, 'a', 128);
	long_id[128] = '\0';
	assert_true(b4_request_id_is_valid(long_id));
	long_id[128] = 'a';
	long_id[129] = '\0';
	assert_false(b4_request_id_is_valid(long_id));

	b4_request_id_generate(id);
	assert_int_equal(strlen(id), 32);
	assert_true(b4_request_id_is_valid(id));
	char other[33];
	b4_request_id_generate(other);
	assert_string_not_equal(id, other);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse_rejects_non_objects_and_garbage),
	    cmocka_unit_test(test_parse_limits_depth),
	    cmocka_unit_test(test_str_presence_type_length),
	    cmocka_unit_test(test_int_bounds_and_fractions),
	    cmocka_unit_test(test_enum_bool_nested_and_unknown),
	    cmocka_unit_test(test_error_body_shape),
	    cmocka_unit_test(test_error_body_lists_a_single_named_field),
	    cmocka_unit_test(test_form_collects_every_bad_field_in_order),
	    cmocka_unit_test(test_form_is_bounded),
	    cmocka_unit_test(test_json_string_escaping_is_always_valid),
	    cmocka_unit_test(test_request_id_validation),
	};
	return cmocka_run_group_tests_name("json", tests, NULL, NULL);
}
