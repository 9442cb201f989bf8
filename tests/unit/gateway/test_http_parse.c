/* Unit tests for gateway/http_parse.c (compiled in: the gateway is a binary,
 * not a library). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "../../../gateway/http_parse.c"

static struct gw_message_head head;

static int req(const char *s)
{
	return gw_parse_request(s, strlen(s), 8192, &head);
}

static void test_simple_get(void **state)
{
	const char *s = "GET /api/v1/x?y=1 HTTP/1.1\r\nHost: a.b\r\nX-Request-Id: r-1\r\n"
			"Connection: keep-alive, X-Hop\r\n\r\nNEXT";
	(void)state;
	assert_int_equal(req(s), (int)(strlen(s) - 4));
	assert_int_equal(head.method_id, GW_METHOD_GET);
	assert_int_equal(head.target.len, strlen("/api/v1/x?y=1"));
	assert_memory_equal(head.target.ptr, "/api/v1/x?y=1", head.target.len);
	assert_int_equal(head.minor_version, 1);
	assert_int_equal(head.nheaders, 3);
	assert_int_equal(head.known.host, 0);
	assert_int_equal(head.known.request_id, 1);
	assert_int_equal(head.body_kind, GW_BODY_NONE);
	assert_true(head.flags & GW_HF_CONN_KEEPALIVE);
	{
		struct gw_str n1 = {"x-hop", 5}, n2 = {"Keep-Alive", 10}, n3 = {"X-Other", 7};
		assert_true(gw_is_hop_by_hop(&head, &n1));
		assert_true(gw_is_hop_by_hop(&head, &n2));
		assert_false(gw_is_hop_by_hop(&head, &n3));
	}
}

static void test_incomplete_and_limits(void **state)
{
	char big[9000];
	(void)state;
	assert_int_equal(req("GET / HTTP/1.1\r\nHost: a\r\n"), GW_PARSE_INCOMPLETE);
	assert_int_equal(req("GET / HTTP/1.1\r\nHost: a\r\n\r"), GW_PARSE_INCOMPLETE);
	memset(big, 'a', sizeof(big));
	memcpy(big, "GET / HTTP/1.1\r\nX: ", 19);
	assert_int_equal(gw_parse_request(big, sizeof(big), 8192, &head), GW_PARSE_TOO_LARGE);
	{
		char many[4096] = "GET / HTTP/1.1\r\nHost: a\r\n";
		for (int i = 0; i < 101; i++)
			strcat(many, "A: b\r\n");
		strcat(many, "\r\n");
		assert_int_equal(req(many), GW_PARSE_TOO_LARGE);
	}
}

static void test_framing(void **state)
{
	(void)state;
	assert_true(req("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 12\r\n\r\n") > 0);
	assert_int_equal(head.body_kind, GW_BODY_LENGTH);
	assert_int_equal(head.content_length, 12);
	assert_true(req("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n") > 0);
	assert_int_equal(head.body_kind, GW_BODY_NONE);
	assert_true(req("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: Chunked\r\n\r\n") > 0);
	assert_int_equal(head.body_kind, GW_BODY_CHUNKED);
	assert_int_equal(req("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n"
			     "Content-Length: 1\r\n\r\n"),
			 GW_PARSE_BAD);
	assert_int_equal(req("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\n"
			     "Content-Length: 1\r\n\r\n"),
			 GW_PARSE_BAD);
	assert_int_equal(req("GET / HTTP/1.1\r\nHost: a\r\nX: a\r\n b\r\n\r\n"), GW_PARSE_BAD);
	assert_int_equal(req("GET / HTTP/1.1\r\nHost : a\r\n\r\n"), GW_PARSE_BAD);
	assert_int_equal(req("GET / HTTP/1.1\nHost: a\n\n"), GW_PARSE_BAD);
	assert_int_equal(req("GET / HTTP/1.1\r\n\r\n"), GW_PARSE_BAD); /* no Host */
	assert_true(req("GET / HTTP/1.0\r\n\r\n") > 0);		       /* 1.0 may omit it */
	assert_true(req("OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n") > 0);
	assert_int_equal(req("GET * HTTP/1.1\r\nHost: a\r\n\r\n"), GW_PARSE_BAD);
	assert_true(req("GET / HTTP/1.1\r\nHost: a\r\nUpgrade: websocket, h2c\r\n\r\n") > 0);
	assert_true(head.flags & GW_HF_UPGRADE_H2C);
	assert_true(req("POST / HTTP/1.1\r\nHost: a\r\nIdempotency-Key: k\r\n\r\n") > 0);
	assert_true(head.flags & GW_HF_IDEMPOTENCY_KEY);
}

static void test_responses(void **state)
{
	const char *r1 = "HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\n";
	const char *r2 = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n";
	const char *r3 = "HTTP/1.0 200 OK\r\n\r\n";
	const char *r4 = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
	const char *r5 = "HTTP/1.1 2000 OK\r\n\r\n";
	(void)state;
	assert_true(gw_parse_response(r1, strlen(r1), 8192, false, &head) > 0);
	assert_int_equal(head.status, 204);
	assert_int_equal(head.body_kind, GW_BODY_NONE);
	assert_true(gw_parse_response(r2, strlen(r2), 8192, true, &head) > 0);
	assert_int_equal(head.body_kind, GW_BODY_NONE); /* HEAD */
	assert_true(gw_parse_response(r2, strlen(r2), 8192, false, &head) > 0);
	assert_int_equal(head.body_kind, GW_BODY_LENGTH);
	assert_true(gw_parse_response(r3, strlen(r3), 8192, false, &head) > 0);
	assert_int_equal(head.body_kind, GW_BODY_CLOSE);
	assert_true(gw_parse_response(r4, strlen(r4), 8192, false, &head) > 0);
	assert_int_equal(head.body_kind, GW_BODY_CHUNKED);
	assert_int_equal(gw_parse_response(r5, strlen(r5), 8192, false, &head), GW_PARSE_BAD);
}

/* Feeds body in pieces of `step` bytes; returns the decoded data length or -1. */
static int decode(const char *body, size_t step, char *out)
{
	struct gw_chunked c;
	size_t pos = 0, n = 0, len = strlen(body);
	gw_chunked_init(&c);
	while (pos < len && !c.done) {
		size_t piece = len - pos < step ? len - pos : step;
		size_t off = 0;
		while (off < piece && !c.done) {
			bool is_data;
			ssize_t k =
			    gw_chunked_feed(&c, body + pos + off, piece - off, 64, &is_data);
			if (k < 0)
				return -1;
			if (is_data) {
				memcpy(out + n, body + pos + off, (size_t)k);
				n += (size_t)k;
			}
			off += (size_t)k;
		}
		pos += off;
	}
	return c.done && pos == len ? (int)n : -1;
}

static void test_chunked_decoder(void **state)
{
	static const char ok[] = "5;a=b\r\nhello\r\n6\r\n world\r\n0\r\nT: 1\r\n\r\n";
	char out[64];
	(void)state;
	for (size_t step = 1; step <= sizeof(ok); step++) {
		assert_int_equal(decode(ok, step, out), 11);
		assert_memory_equal(out, "hello world", 11);
	}
	assert_int_equal(decode("0x5\r\nhello\r\n0\r\n\r\n", 4, out), -1);
	assert_int_equal(decode("\r\n0\r\n\r\n", 4, out), -1);
	assert_int_equal(decode("5\r\nhelloX\r\n0\r\n\r\n", 4, out), -1);
	assert_int_equal(decode("5\nhello\r\n0\r\n\r\n", 4, out), -1);
	assert_int_equal(decode("1000000000000000\r\n", 4, out), -1);
	/* trailers over the limit (64 here) */
	assert_int_equal(
	    decode(
		"0\r\nT: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n\r\n",
		7, out),
	    -1);
}

static void test_request_id(void **state)
{
	char long_id[130];
	(void)state;
	assert_true(gw_request_id_is_valid("a.B_9-z", 7));
	assert_false(gw_request_id_is_valid("", 0));
	assert_false(gw_request_id_is_valid("a b", 3));
	assert_false(gw_request_id_is_valid("a/b", 3));
	memset(long_id, 'a', sizeof(long_id));
	assert_true(gw_request_id_is_valid(long_id, 128));
	assert_false(gw_request_id_is_valid(long_id, 129));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_simple_get),	    cmocka_unit_test(test_incomplete_and_limits),
	    cmocka_unit_test(test_framing),	    cmocka_unit_test(test_responses),
	    cmocka_unit_test(test_chunked_decoder), cmocka_unit_test(test_request_id),
	};
	return cmocka_run_group_tests_name("gateway_http_parse", tests, NULL, NULL);
}
