/* b4-gateway framing and request-smuggling suite (RFC 9112 6.3 and friends).
 *
 * Every malformed or ambiguous request goes over a raw socket and must get a
 * 400 in the API error shape, a closed connection, and nothing at the
 * backend (no connection, no request).  Valid chunked bodies pass intact. */
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
		 "{\"routes\": [{\"prefix\": \"/api\", \"upstream\": \"api\"}],"
		 " \"upstreams\": {\"api\": {\"instances\": [\"127.0.0.1:%d\"],"
		 "   \"health_check\": {\"interval_ms\": 0}}},"
		 " \"timeouts\": {\"client_header_ms\": 3000, \"client_body_ms\": 3000},"
		 " \"rate_limits\": []}",
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

struct bad_case {
	const char *name;
	const char *raw;
};

/* Each is a complete attempt; the gateway must refuse it before anything
 * is sent upstream. */
static const struct bad_case bad_cases[] = {
	{"TE and CL together",
	 "POST /api/x HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n"
	 "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n"},
	{"CL and TE together (other order)",
	 "POST /api/x HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n"
	 "Content-Length: 5\r\n\r\n0\r\n\r\n"},
	{"repeated CL, same value",
	 "POST /api/x HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\nhello"},
	{"repeated CL, different values",
	 "POST /api/x HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!"},
	{"CL list", "POST /api/x HTTP/1.1\r\nHost: t\r\nContent-Length: 5, 5\r\n\r\nhello"},
	{"CL not a number", "POST /api/x HTTP/1.1\r\nHost: t\r\nContent-Length: 5a\r\n\r\nhello"},
	{"CL negative", "POST /api/x HTTP/1.1\r\nHost: t\r\nContent-Length: -5\r\n\r\nhello"},
	{"CL plus sign", "POST /api/x HTTP/1.1\r\nHost: t\r\nContent-Length: +5\r\n\r\nhello"},
	{"CL hex", "POST /api/x HTTP/1.1\r\nHost: t\r\nContent-Length: 0x5\r\n\r\nhello"},
	{"CL empty", "POST /api/x HTTP/1.1\r\nHost: t\r\nContent-Length:\r\n\r\n"},
	{"CL overflow",
	 "POST /api/x HTTP/1.1\r\nHost: t\r\nContent-Length: 99999999999999999999999\r\n\r\n"},
	{"TE gzip, chunked",
	 "POST /api/x HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n"},
	{"TE chunked, gzip (chunked not final)",
	 "POST /api/x HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked, gzip\r\n\r\n0\r\n\r\n"},
	{"TE identity", "POST /api/x HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: identity\r\n\r\n"},
	{"TE unknown", "POST /api/x HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: xchunked\r\n\r\n0\r\n\r\n"},
	{"TE repeated",
	 "POST /api/x HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n"
	 "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n"},
	{"TE in HTTP/1.0",
	 "POST /api/x HTTP/1.0\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"},
	{"TE with vertical tab",
	 "POST /api/x HTTP/1.1\r\nHost: t\r\nTransfer-Encoding:\x0b" "chunked\r\n\r\n0\r\n\r\n"},
	{"obs-fold", "GET /api/x HTTP/1.1\r\nHost: t\r\nX-A: b\r\n c\r\n\r\n"},
	{"obs-fold with tab", "GET /api/x HTTP/1.1\r\nHost: t\r\nX-A: b\r\n\tc\r\n\r\n"},
	{"obs-fold hiding TE",
	 "POST /api/x HTTP/1.1\r\nHost: t\r\nX-A: b\r\n Transfer-Encoding: chunked\r\n"
	 "Content-Length: 3\r\n\r\nabc"},
	{"space before colon",
	 "POST /api/x HTTP/1.1\r\nHost: t\r\nContent-Length : 5\r\n\r\nhello"},
	{"tab before colon",
	 "POST /api/x HTTP/1.1\r\nHost: t\r\nTransfer-Encoding\t: chunked\r\n\r\n0\r\n\r\n"},
	{"bare CR in a value", "GET /api/x HTTP/1.1\r\nHost: t\r\nX-A: b\rc\r\n\r\n"},
	{"bare CR ending a line", "GET /api/x HTTP/1.1\r\nHost: t\rX-A: b\r\n\r\n"},
	{"bare LF line endings", "GET /api/x HTTP/1.1\nHost: t\n\n"},
	{"bare LF in the headers", "GET /api/x HTTP/1.1\r\nHost: t\nX-A: b\r\n\r\n"},
	{"NUL in a value", "GET /api/x HTTP/1.1\r\nHost: t\r\nX-A: a\0b\r\n\r\n"},
	{"chunk size not hex",
	 "POST /api/x HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n"},
	{"chunk size with 0x",
	 "POST /api/x HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n0x5\r\nhello\r\n0\r\n\r\n"},
	{"chunk size with +",
	 "POST /api/x HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n+5\r\nhello\r\n0\r\n\r\n"},
	{"chunk size with -",
	 "POST /api/x HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n-5\r\nhello\r\n0\r\n\r\n"},
	{"chunk size empty",
	 "POST /api/x HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n\r\nhello\r\n0\r\n\r\n"},
	{"chunk size overflow",
	 "POST /api/x HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
	 "10000000000000005\r\nhello\r\n0\r\n\r\n"},
	{"chunk size with leading space",
	 "POST /api/x HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n 5\r\nhello\r\n0\r\n\r\n"},
	{"chunk data longer than its size",
	 "POST /api/x HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhelloXX\r\n0\r\n\r\n"},
	{"chunk size line with bare LF",
	 "POST /api/x HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n5\nhello\r\n0\r\n\r\n"},
	{"last chunk with bare LF",
	 "POST /api/x HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\n\n"},
	{"missing Host in HTTP/1.1", "GET /api/x HTTP/1.1\r\nX-A: b\r\n\r\n"},
	{"two Host fields", "GET /api/x HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n"},
	{"absolute-form target", "GET http://evil/api/x HTTP/1.1\r\nHost: t\r\n\r\n"},
	{"two spaces in the request line", "GET  /api/x HTTP/1.1\r\nHost: t\r\n\r\n"},
	{"unknown version", "GET /api/x HTTP/1.2\r\nHost: t\r\n\r\n"},
	{"HTTP/2 preface", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"},
	{"space in the target", "GET /api/x y HTTP/1.1\r\nHost: t\r\n\r\n"},
	{"empty header name", "GET /api/x HTTP/1.1\r\nHost: t\r\n: v\r\n\r\n"},
	{"CONNECT", "CONNECT evil:443 HTTP/1.1\r\nHost: evil:443\r\n\r\n"},
};

static void check_refused(const char *name, const char *raw, size_t len)
{
	struct gw_response r;
	int fd = gw_connect(gw.http_port);
	int conns_before = atomic_load(&backend->connections);
	int reqs_before = atomic_load(&backend->requests);

	assert_true(fd >= 0);
	assert_int_equal(gw_send_all(fd, raw, len), 0);
	if (gw_read_response(fd, &r, 5000) != 0)
		fail_msg("%s: no response", name);
	if (r.status != 400)
		fail_msg("%s: status %d, want 400", name, r.status);
	if (!strstr(r.body, "\"type\":\"invalid_request_error\""))
		fail_msg("%s: body %s", name, r.body);
	if (!r.closed && !gw_wait_closed(fd, 3000))
		fail_msg("%s: connection left open", name);
	close(fd);
	if (atomic_load(&backend->connections) != conns_before ||
	    atomic_load(&backend->requests) != reqs_before)
		fail_msg("%s: something reached the backend", name);
}

static void test_ambiguous_framing_refused(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		const char *raw = bad_cases[i].raw;
		size_t len = strlen(raw);
		if (strstr(bad_cases[i].name, "NUL"))
			len = strlen(raw) + 1 + strlen(raw + strlen(raw) + 1);
		check_refused(bad_cases[i].name, raw, len);
	}
	/* nothing at all reached the backend: not even a connection */
	assert_int_equal(atomic_load(&backend->connections), 0);
	assert_int_equal(atomic_load(&backend->requests), 0);
}

/* A smuggling attempt behind a valid request on one connection: the first
 * request is answered, the second refused, the smuggled one never runs. */
static void test_smuggled_second_request(void **state)
{
	struct gw_response r;
	int fd = gw_connect(gw.http_port);
	int before = atomic_load(&backend->requests);
	(void)state;
	assert_int_equal(gw_send_str(fd, "GET /api/first HTTP/1.1\r\nHost: t\r\n\r\n"
					 "POST /api/x HTTP/1.1\r\nHost: t\r\nContent-Length: 40\r\n"
					 "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
					 "GET /api/smuggled HTTP/1.1\r\nHost: t\r\n\r\n"),
			 0);
	assert_int_equal(gw_read_response(fd, &r, 5000), 0);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.body, "A GET /first 0");
	assert_int_equal(gw_read_response(fd, &r, 5000), 0);
	assert_int_equal(r.status, 400);
	assert_true(r.closed || gw_wait_closed(fd, 3000));
	close(fd);
	assert_int_equal(atomic_load(&backend->requests) - before, 1);
}

static void test_valid_chunked_passes_intact(void **state)
{
	static const char *const bodies[] = {
		"5\r\nhello\r\n0\r\n\r\n",
		"5;name=value\r\nhello\r\n1;a;b=\"c\"\r\n!\r\n0\r\n\r\n",
		"A\r\n0123456789\r\na\r\nabcdefghij\r\n0\r\nChecksum: x\r\nOther: y\r\n\r\n",
		"000005\r\nhello\r\n0000\r\n\r\n",
		"0\r\n\r\n",
	};
	static const char *const decoded[] = {"hello", "hello!", "0123456789abcdefghij", "hello",
					      ""};
	(void)state;
	for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
		struct gw_response r;
		int fd = gw_connect(gw.http_port);
		char want[128];
		assert_int_equal(gw_send_str(fd, "POST /api/c HTTP/1.1\r\nHost: t\r\n"
						 "Transfer-Encoding: chunked\r\n\r\n"),
				 0);
		/* in two pieces, split inside the framing */
		assert_int_equal(gw_send_all(fd, bodies[i], 3), 0);
		gw_sleep_ms(20);
		assert_int_equal(gw_send_str(fd, bodies[i] + 3), 0);
		assert_int_equal(gw_read_response(fd, &r, 5000), 0);
		assert_int_equal(r.status, 200);
		snprintf(want, sizeof(want), "A POST /c %zu", strlen(decoded[i]));
		assert_string_equal(r.body, want);
		pthread_mutex_lock(&backend->mu);
		assert_int_equal(backend->last_body_len, strlen(decoded[i]));
		assert_memory_equal(backend->last_body, decoded[i], strlen(decoded[i]));
		assert_int_equal(backend->last_raw_body_len, strlen(bodies[i]));
		assert_memory_equal(backend->last_raw_body, bodies[i], strlen(bodies[i]));
		pthread_mutex_unlock(&backend->mu);
		/* keep-alive continues after a chunked body */
		assert_int_equal(gw_send_str(fd, "GET /api/after HTTP/1.1\r\nHost: t\r\n\r\n"), 0);
		assert_int_equal(gw_read_response(fd, &r, 5000), 0);
		assert_string_equal(r.body, "A GET /after 0");
		close(fd);
	}
}

static void test_h2c_upgrade_never_forwarded(void **state)
{
	struct gw_response r;
	char head[16384];
	(void)state;
	assert_int_equal(gw_request(gw.http_port, "GET", "/api/up",
				    "Connection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\n"
				    "HTTP2-Settings: AAMAAABkAAQAAP__\r\n",
				    NULL, &r),
			 0);
	assert_int_equal(r.status, 200); /* answered as plain HTTP/1.1 */
	gw_backend_last_head(backend, head, sizeof(head));
	assert_null(strcasestr(head, "upgrade"));
	assert_null(strcasestr(head, "h2c"));
	assert_null(strcasestr(head, "http2-settings"));
}

/* A head sent too slowly (slowloris) is cut off. */
static void test_slow_head_times_out(void **state)
{
	struct gw_response r;
	int fd = gw_connect(gw.http_port);
	long long start = gw_now_ms();
	bool closed = false;
	(void)state;
	assert_int_equal(gw_send_str(fd, "GET /api/x HTTP/1.1\r\n"), 0);
	/* one byte every 200 ms; the limit is 3 s for the whole head */
	while (gw_now_ms() - start < 8000) {
		if (gw_send_str(fd, "X") != 0) {
			closed = true;
			break;
		}
		gw_sleep_ms(200);
		if (gw_now_ms() - start > 3500)
			break;
	}
	if (!closed) {
		if (gw_read_response(fd, &r, 3000) == 0)
			assert_int_equal(r.status, 408);
		assert_true(gw_wait_closed(fd, 3000));
	}
	close(fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ambiguous_framing_refused),
		cmocka_unit_test(test_smuggled_second_request),
		cmocka_unit_test(test_valid_chunked_passes_intact),
		cmocka_unit_test(test_h2c_upgrade_never_forwarded),
		cmocka_unit_test(test_slow_head_times_out),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
