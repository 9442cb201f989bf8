/* gateway/path.c: normalisation for file lookups and the internal-path
 * guard; gateway/static.c: Accept-Encoding, media types, dates. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "../../../gateway/http_parse.c"
#include "../../../gateway/path.c"
#include "../../../gateway/static.c"

static int norm(const char *in, unsigned flags, char *out)
{
	return gw_path_normalize(in, strlen(in), flags, out, 256);
}

static void test_normalize_strict(void **state)
{
	char out[256];
	(void)state;
	assert_int_equal(norm("/a/b.js", GW_PATH_STRICT, out), GW_PATH_OK);
	assert_string_equal(out, "/a/b.js");
	assert_int_equal(norm("//a///b/?x=/../", GW_PATH_STRICT, out), GW_PATH_OK);
	assert_string_equal(out, "/a/b/");
	assert_int_equal(norm("/pay/%5Bcode%5D.html", GW_PATH_STRICT, out), GW_PATH_OK);
	assert_string_equal(out, "/pay/[code].html");
	assert_int_equal(norm("/", GW_PATH_STRICT, out), GW_PATH_OK);
	assert_string_equal(out, "/");

	assert_int_equal(norm("/a/../b", GW_PATH_STRICT, out), GW_PATH_DOT_SEGMENT);
	assert_int_equal(norm("/a/%2e%2E/b", GW_PATH_STRICT, out), GW_PATH_DOT_SEGMENT);
	assert_int_equal(norm("/a/./b", GW_PATH_STRICT, out), GW_PATH_DOT_SEGMENT);
	assert_int_equal(norm("/a/..", GW_PATH_STRICT, out), GW_PATH_DOT_SEGMENT);
	assert_int_equal(norm("/a%2fb", GW_PATH_STRICT, out), GW_PATH_ENCODED_SLASH);
	assert_int_equal(norm("/a%2Fb", GW_PATH_STRICT, out), GW_PATH_ENCODED_SLASH);
	assert_int_equal(norm("/a%00b", GW_PATH_STRICT, out), GW_PATH_BAD);
	assert_int_equal(norm("/a%0ab", GW_PATH_STRICT, out), GW_PATH_BAD);
	assert_int_equal(norm("/a%5cb", GW_PATH_STRICT, out), GW_PATH_BAD);
	assert_int_equal(norm("/a\\b", GW_PATH_STRICT, out), GW_PATH_BAD);
	assert_int_equal(norm("/a%2", GW_PATH_STRICT, out), GW_PATH_BAD);
	assert_int_equal(norm("/a%g0", GW_PATH_STRICT, out), GW_PATH_BAD);
	assert_int_equal(norm("a/b", GW_PATH_STRICT, out), GW_PATH_BAD);
	{
		char small[4];
		assert_int_equal(gw_path_normalize("/abcdef", 7, 0, small, sizeof(small)),
				 GW_PATH_BAD);
	}
}

static void test_normalize_lenient(void **state)
{
	char out[256];
	(void)state;
	assert_int_equal(norm("/a/../b", 0, out), GW_PATH_OK);
	assert_string_equal(out, "/b");
	assert_int_equal(norm("/../../b", 0, out), GW_PATH_OK);
	assert_string_equal(out, "/b");
	assert_int_equal(norm("/a/b/%2e%2e", 0, out), GW_PATH_OK);
	assert_string_equal(out, "/a/");
	assert_int_equal(norm("/a/./b/.", 0, out), GW_PATH_OK);
	assert_string_equal(out, "/a/b/");
	assert_int_equal(norm("/a%2fb", 0, out), GW_PATH_OK);
	assert_string_equal(out, "/a/b");
}

static void test_hidden_and_patterns(void **state)
{
	(void)state;
	assert_true(gw_path_has_hidden_segment("/.env"));
	assert_true(gw_path_has_hidden_segment("/a/.git/config"));
	assert_false(gw_path_has_hidden_segment("/a/b.c/d"));
	assert_false(gw_path_has_hidden_segment("/_next/x"));

	assert_true(gw_path_match("/pay/*", "/pay/ABC123"));
	assert_true(gw_path_match("/pay/*", "/pay/ABC123/"));
	assert_false(gw_path_match("/pay/*", "/pay/"));
	assert_false(gw_path_match("/pay/*", "/pay/A/B"));
	assert_true(gw_path_match("/pay/*/obrigado", "/pay/A1/obrigado"));
	assert_true(gw_path_match("/painel/**", "/painel/vendas/42"));
	assert_true(gw_path_match("/painel/**", "/painel/"));
	assert_false(gw_path_match("/painel/**", "/admin/x"));
	assert_true(gw_path_match("/x-*.html", "/x-1.html"));
	assert_true(gw_path_match("/a*b*c", "/aXXbYbc"));
	assert_false(gw_path_match("/a*b*c", "/aXbY"));
	assert_true(gw_path_match("/*/*", "/a/b"));
	assert_false(gw_path_match("/*/*", "/a"));
	assert_false(gw_path_match("/*c", "/ab/c"));
	{
		/* many stars against a long segment that does not match: quick */
		char pattern[64] = "/", path[256] = "/";
		for (int i = 0; i < 20; i++)
			strcat(pattern, "*a");
		for (int i = 0; i < 200; i++)
			strcat(path, "a");
		strcat(path, "b");
		assert_false(gw_path_match(pattern, path));
		path[strlen(path) - 1] = 'a';
		assert_true(gw_path_match(pattern, path));
	}
}

static void test_internal_paths(void **state)
{
	static const char names[3][GW_PATH_NAME_MAX] = {"/healthz", "/readyz", "/metrics"};
	static const char *const internal[] = {
	    "/metrics",	  "/metrics/",	    "/metrics?x=1",	  "/METRICS",
	    "//metrics",  "/%6detrics",	    "/%6D%65trics",	  "/healthz",
	    "/readyz/?a", "/v1/../metrics", "/v1/%2e%2e/readyz",  "/./healthz",
	    "/metrics/.", "/metrics/x/..",  "/v1%2f..%2fmetrics", "/metrics#frag",
	    "/readyz#",
	};
	static const char *const external[] = {
	    "/",
	    "/v1/metrics",
	    "/metricsx",
	    "/v1/orders/healthz",
	    "/x?p=/metrics",
	    "/v1/products/42",
	    "/metric",
	    "/metrics%00",
	    "/readyz;",
	};
	(void)state;
	for (size_t i = 0; i < sizeof(internal) / sizeof(internal[0]); i++)
		if (!gw_path_is_internal(internal[i], strlen(internal[i]), names, 3))
			fail_msg("%s should be internal", internal[i]);
	for (size_t i = 0; i < sizeof(external) / sizeof(external[0]); i++)
		if (gw_path_is_internal(external[i], strlen(external[i]), names, 3))
			fail_msg("%s should not be internal", external[i]);
	assert_false(gw_path_is_internal("/metrics", 8, names, 0));
}

static struct gw_message_head *head_with(const char *raw)
{
	static struct gw_message_head h;
	assert_true(gw_parse_request(raw, strlen(raw), 16384, &h) > 0);
	return &h;
}

static void test_accept_encoding(void **state)
{
	struct gw_message_head *h;
	(void)state;
	h = head_with("GET / HTTP/1.1\r\nHost: t\r\nAccept-Encoding: gzip, deflate, br\r\n\r\n");
	assert_true(gw_static_accepts(h, "br"));
	assert_true(gw_static_accepts(h, "gzip"));
	h = head_with("GET / HTTP/1.1\r\nHost: t\r\nAccept-Encoding: br;q=0, gzip;q=0.5\r\n\r\n");
	assert_false(gw_static_accepts(h, "br"));
	assert_true(gw_static_accepts(h, "gzip"));
	h = head_with(
	    "GET / HTTP/1.1\r\nHost: t\r\nAccept-Encoding: *;q=0.1, gzip;q=0.000\r\n\r\n");
	assert_true(gw_static_accepts(h, "br"));
	assert_false(gw_static_accepts(h, "gzip"));
	h = head_with("GET / HTTP/1.1\r\nHost: t\r\nAccept-Encoding: identity\r\n"
		      "Accept-Encoding: GZIP\r\n\r\n");
	assert_true(gw_static_accepts(h, "gzip"));
	assert_false(gw_static_accepts(h, "br"));
	h = head_with("GET / HTTP/1.1\r\nHost: t\r\n\r\n");
	assert_false(gw_static_accepts(h, "gzip"));
	h = head_with("GET / HTTP/1.1\r\nHost: t\r\nAccept-Encoding: brotli, xgzip\r\n\r\n");
	assert_false(gw_static_accepts(h, "br"));
	assert_false(gw_static_accepts(h, "gzip"));
}

static void test_types_and_dates(void **state)
{
	(void)state;
	assert_string_equal(gw_static_content_type("/a/b.HTML"), "text/html; charset=utf-8");
	assert_string_equal(gw_static_content_type("/a/app-1.js"),
			    "text/javascript; charset=utf-8");
	assert_string_equal(gw_static_content_type("/f.woff2"), "font/woff2");
	assert_string_equal(gw_static_content_type("/a.b/noext"), "application/octet-stream");
	assert_string_equal(gw_static_content_type("/pay/[code].html"), "text/html; charset=utf-8");
	assert_int_equal(gw_static_parse_date("Sun, 06 Nov 1994 08:49:37 GMT", 29), 784111777);
	assert_int_equal(gw_static_parse_date("Sunday, 06-Nov-94 08:49:37 GMT", 30), -1);
	assert_int_equal(gw_static_parse_date("garbage", 7), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_normalize_strict),	cmocka_unit_test(test_normalize_lenient),
	    cmocka_unit_test(test_hidden_and_patterns), cmocka_unit_test(test_internal_paths),
	    cmocka_unit_test(test_accept_encoding),	cmocka_unit_test(test_types_and_dates),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
