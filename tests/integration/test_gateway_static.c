/* b4-gateway static routes: files from a folder through the real binary.
 * ETag / Last-Modified with 304, precompressed .br / .gz siblings, cache
 * headers for hashed assets and pages, fallbacks for client-side routes,
 * folders, HEAD and other methods, large files sent without buffering,
 * byte ranges (206, 416, If-Range), and every way out of the folder
 * refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gw_support.h"

#define BIG_SIZE (3u * 1024 * 1024 + 17)

static struct gw_backend *backend;
static struct gw_gateway gw;
static char dir[512];  /* holds root/ and a secret beside it */
static char root[600]; /* the folder the routes serve */

static const char js_plain[] = "console.log('plain');\n";
static const char js_br[] = "BROTLI-BYTES";
static const char js_gz[] = "GZIP-BYTES!";

static int put_file(const char *rel, const char *data, size_t len)
{
	char path[1024];
	FILE *f;
	snprintf(path, sizeof(path), "%s/%s", root, rel);
	f = fopen(path, "wb");
	if (!f)
		return -1;
	if (len && fwrite(data, 1, len, f) != len) {
		fclose(f);
		return -1;
	}
	return fclose(f);
}

static int put_str(const char *rel, const char *s)
{
	return put_file(rel, s, strlen(s));
}

static int make_tree(void)
{
	static const char *const dirs[] = {
	    "", "/pay", "/docs", "/_next", "/_next/static", "/_next/static/chunks", "/assets"};
	char path[1024], *big;
	int rc = 0;

	snprintf(dir, sizeof(dir), "%s/static-%d", h_var(), (int)getpid());
	snprintf(root, sizeof(root), "%s/root", dir);
	if (mkdir(dir, 0755) != 0 && errno != EEXIST)
		return -1;
	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		snprintf(path, sizeof(path), "%s%s", root, dirs[i]);
		if (mkdir(path, 0755) != 0 && errno != EEXIST)
			return -1;
	}
	snprintf(path, sizeof(path), "%s/secret.txt", dir);
	{
		FILE *f = fopen(path, "w");
		if (!f)
			return -1;
		fputs("TOPSECRET outside the root\n", f);
		fclose(f);
	}
	rc |= put_str("index.html", "<h1>home page</h1>");
	rc |= put_str("about.html", "<h1>about page</h1>");
	rc |= put_str("docs/index.html", "<h1>docs index</h1>");
	rc |= put_str("pay/[code].html", "<h1>pay page</h1>");
	rc |= put_str(".env", "TOPSECRET dotfile");
	rc |= put_str("_next/static/chunks/app-abc123.js", js_plain);
	rc |= put_str("_next/static/chunks/app-abc123.js.br", js_br);
	rc |= put_str("_next/static/chunks/app-abc123.js.gz", js_gz);
	rc |= put_str("assets/logo.svg", "<svg xmlns=\"http://www.w3.org/2000/svg\"/>");
	big = malloc(BIG_SIZE);
	if (!big)
		return -1;
	for (size_t i = 0; i < BIG_SIZE; i++)
		big[i] = gw_pattern_byte(i);
	rc |= put_file("big.bin", big, BIG_SIZE);
	free(big);
	/* one symlink leaving the root, one staying inside */
	snprintf(path, sizeof(path), "%s/escape.txt", root);
	rc |= symlink("../secret.txt", path);
	snprintf(path, sizeof(path), "%s/linkdir", root);
	rc |= symlink("..", path);
	snprintf(path, sizeof(path), "%s/inside.html", root);
	rc |= symlink("docs/index.html", path);
	return rc;
}

static int setup(void **state)
{
	char cfg[4096];
	(void)state;
	if (make_tree() != 0)
		return -1;
	backend = gw_backend_start("A");
	if (!backend)
		return -1;
	snprintf(cfg, sizeof(cfg),
		 "{\"routes\": ["
		 "  {\"name\": \"pay\", \"prefix\": \"/pay\", \"strip_prefix\": false,"
		 "   \"static\": {\"root\": \"%s\", \"fallbacks\": [{\"pattern\": \"/pay/*\","
		 "                \"file\": \"pay/[code].html\"}]}},"
		 "  {\"name\": \"next\", \"prefix\": \"/_next\", \"strip_prefix\": false,"
		 "   \"static\": {\"root\": \"%s\"}},"
		 "  {\"name\": \"site\", \"prefix\": \"/site\","
		 "   \"static\": {\"root\": \"%s\", \"fallback\": \"index.html\"}},"
		 "  {\"name\": \"gone\", \"prefix\": \"/gone\","
		 "   \"static\": {\"root\": \"%s/not-built-yet\", \"fallback\": \"index.html\"}},"
		 "  {\"name\": \"api\", \"prefix\": \"/api\", \"upstream\": \"api\"}],"
		 " \"upstreams\": {\"api\": {\"instances\": [\"127.0.0.1:%d\"],"
		 "   \"health_check\": {\"interval_ms\": 0}, \"passive\": {\"failures\": 0}}},"
		 " \"rate_limits\": [], \"trusted_proxies\": []}",
		 root, root, root, dir, backend->port);
	return gw_gateway_start(&gw, cfg, NULL);
}

static int teardown(void **state)
{
	char cmd[1200];
	(void)state;
	gw_gateway_stop(&gw, 5000);
	gw_backend_free(backend);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		return -1;
	return 0;
}

static void get(const char *path, const char *extra, struct gw_response *r)
{
	assert_int_equal(gw_request(gw.http_port, "GET", path, extra, NULL, r), 0);
}

static void test_file_headers(void **state)
{
	struct gw_response r;
	char etag[128], lm[128], len[32];
	(void)state;

	get("/_next/static/chunks/app-abc123.js", NULL, &r);
	assert_int_equal(r.status, 200);
	assert_int_equal(r.body_len, strlen(js_plain));
	assert_memory_equal(r.body, js_plain, r.body_len);
	assert_true(gw_header_is(&r, "Content-Type", "text/javascript; charset=utf-8"));
	assert_true(gw_header_is(&r, "Cache-Control", "public, max-age=31536000, immutable"));
	assert_true(gw_header_is(&r, "Vary", "Accept-Encoding"));
	assert_true(gw_header_is(&r, "X-Content-Type-Options", "nosniff"));
	assert_true(gw_header_is(&r, "Accept-Ranges", "bytes"));
	snprintf(len, sizeof(len), "%zu", strlen(js_plain));
	assert_true(gw_header_is(&r, "Content-Length", len));
	assert_false(gw_header(&r, "Content-Encoding", etag, sizeof(etag)));
	assert_true(gw_header(&r, "ETag", etag, sizeof(etag)));
	assert_true(etag[0] == '"' && etag[strlen(etag) - 1] == '"');
	assert_true(gw_header(&r, "Last-Modified", lm, sizeof(lm)));
	assert_non_null(strstr(lm, " GMT"));
	assert_true(gw_header(&r, "X-Request-Id", len, sizeof(len)));

	/* pages and other files revalidate */
	get("/site/about", NULL, &r);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.body, "<h1>about page</h1>");
	assert_true(gw_header_is(&r, "Content-Type", "text/html; charset=utf-8"));
	assert_true(gw_header_is(&r, "Cache-Control", "no-cache"));
	get("/site/assets/logo.svg", NULL, &r);
	assert_int_equal(r.status, 200);
	assert_true(gw_header_is(&r, "Content-Type", "image/svg+xml"));
	assert_true(gw_header_is(&r, "Cache-Control", "public, max-age=31536000, immutable"));
	/* nothing reached the backend */
	assert_int_equal(atomic_load(&backend->requests), 0);
}

static void test_conditional_requests(void **state)
{
	struct gw_response r, again;
	char etag[128], lm[128], hdr[512];
	(void)state;

	get("/site/about", NULL, &r);
	assert_int_equal(r.status, 200);
	assert_true(gw_header(&r, "ETag", etag, sizeof(etag)));
	assert_true(gw_header(&r, "Last-Modified", lm, sizeof(lm)));

	snprintf(hdr, sizeof(hdr), "If-None-Match: %s\r\n", etag);
	get("/site/about", hdr, &again);
	assert_int_equal(again.status, 304);
	assert_int_equal(again.body_len, 0);
	assert_true(gw_header_is(&again, "ETag", etag));
	assert_true(gw_header_is(&again, "Cache-Control", "no-cache"));

	snprintf(hdr, sizeof(hdr), "If-None-Match: \"other\", W/%s\r\n", etag);
	get("/site/about", hdr, &again);
	assert_int_equal(again.status, 304);

	get("/site/about", "If-None-Match: \"other\"\r\n", &again);
	assert_int_equal(again.status, 200);
	assert_string_equal(again.body, "<h1>about page</h1>");

	snprintf(hdr, sizeof(hdr), "If-Modified-Since: %s\r\n", lm);
	get("/site/about", hdr, &again);
	assert_int_equal(again.status, 304);
	get("/site/about", "If-Modified-Since: Sun, 06 Nov 1994 08:49:37 GMT\r\n", &again);
	assert_int_equal(again.status, 200);
	/* If-None-Match wins over If-Modified-Since */
	snprintf(hdr, sizeof(hdr), "If-None-Match: \"other\"\r\nIf-Modified-Since: %s\r\n", lm);
	get("/site/about", hdr, &again);
	assert_int_equal(again.status, 200);
}

static void test_precompressed_siblings(void **state)
{
	static const struct {
		const char *accept;
		const char *body;
		const char *encoding; /* NULL: none */
	} cases[] = {
	    {"Accept-Encoding: gzip, deflate, br\r\n", js_br, "br"},
	    {"Accept-Encoding: gzip\r\n", js_gz, "gzip"},
	    {"Accept-Encoding: br;q=0, gzip;q=0.8\r\n", js_gz, "gzip"},
	    {"Accept-Encoding: identity\r\n", js_plain, NULL},
	    {"Accept-Encoding: gzip;q=0\r\n", js_plain, NULL},
	    {"Accept-Encoding: *\r\n", js_br, "br"},
	    {NULL, js_plain, NULL},
	};
	char etags[8][128];
	(void)state;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct gw_response r;
		char v[64];
		get("/_next/static/chunks/app-abc123.js", cases[i].accept, &r);
		assert_int_equal(r.status, 200);
		if (r.body_len != strlen(cases[i].body) ||
		    memcmp(r.body, cases[i].body, r.body_len) != 0)
			fail_msg("case %zu: body \"%s\"", i, r.body);
		if (cases[i].encoding)
			assert_true(gw_header_is(&r, "Content-Encoding", cases[i].encoding));
		else
			assert_false(gw_header(&r, "Content-Encoding", v, sizeof(v)));
		assert_true(gw_header_is(&r, "Vary", "Accept-Encoding"));
		assert_true(gw_header_is(&r, "Content-Type", "text/javascript; charset=utf-8"));
		assert_true(gw_header(&r, "ETag", etags[i], sizeof(etags[i])));
	}
	/* each representation has its own tag */
	assert_string_not_equal(etags[0], etags[1]);
	assert_string_not_equal(etags[0], etags[3]);
	assert_string_not_equal(etags[1], etags[3]);
	assert_true(
	    gw_metric(gw.admin_port, "b4_gateway_static_precompressed_total{route=\"next\"}") >= 3);
}

static void test_fallbacks_and_folders(void **state)
{
	struct gw_response r;
	(void)state;

	/* /pay/:code is the checkout page's file */
	get("/pay/ABC123", NULL, &r);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.body, "<h1>pay page</h1>");
	assert_true(gw_header_is(&r, "Content-Type", "text/html; charset=utf-8"));
	assert_true(gw_header_is(&r, "Cache-Control", "no-cache"));
	get("/pay/ABC123/?ref=aff1", NULL, &r);
	assert_string_equal(r.body, "<h1>pay page</h1>");
	/* no pattern for two segments and no route fallback: 404 */
	get("/pay/ABC123/extra", NULL, &r);
	assert_int_equal(r.status, 404);
	assert_non_null(strstr(r.body, "\"error\""));

	/* the SPA fallback, folders and their index */
	get("/site/painel/vendas/42", NULL, &r);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.body, "<h1>home page</h1>");
	get("/site", NULL, &r);
	assert_string_equal(r.body, "<h1>home page</h1>");
	get("/site/", NULL, &r);
	assert_string_equal(r.body, "<h1>home page</h1>");
	get("/site/docs", NULL, &r);
	assert_string_equal(r.body, "<h1>docs index</h1>");
	get("/site/docs/", NULL, &r);
	assert_string_equal(r.body, "<h1>docs index</h1>");
	get("/site/inside.html", NULL, &r); /* a symlink that stays inside */
	assert_int_equal(r.status, 200);
	assert_string_equal(r.body, "<h1>docs index</h1>");

	/* a missing hashed asset is a 404, never the page */
	get("/site/assets/missing-123.js", NULL, &r);
	assert_int_equal(r.status, 404);
	get("/_next/static/chunks/missing.js", NULL, &r);
	assert_int_equal(r.status, 404);
	/* a root that does not exist yet: 404, no crash */
	get("/gone/x", NULL, &r);
	assert_int_equal(r.status, 404);

	assert_true(
	    gw_metric(gw.admin_port,
		      "b4_gateway_static_responses_total{route=\"pay\",result=\"fallback\"}") >= 2);
	assert_true(
	    gw_metric(gw.admin_port,
		      "b4_gateway_static_responses_total{route=\"site\",result=\"file\"}") >= 1);
	assert_true(gw_metric(gw.admin_port, "b4_gateway_static_bytes_total{route=\"site\"}") > 0);
}

static void test_escapes_refused(void **state)
{
	static const struct {
		const char *path;
		int status;
	} cases[] = {
	    {"/site/../secret.txt", 400},
	    {"/site/%2e%2e/secret.txt", 400},
	    {"/site/%2E%2e/%2e%2E/secret.txt", 400},
	    {"/site/.%2e/secret.txt", 400},
	    {"/site/..%2fsecret.txt", 400},
	    {"/site/%2f..%2f..%2fsecret.txt", 400},
	    {"/site/docs%2f..%2f..%2fsecret.txt", 400},
	    {"/site/%5c..%5csecret.txt", 400},
	    {"/site/a%00b", 400},
	    {"/site/%zz", 400},
	    {"/site/./about.html", 400},
	    {"/pay/%2e%2e/%2e%2e/secret.txt", 400},
	    {"/site/escape.txt", 404},
	    {"/site/linkdir/secret.txt", 404},
	    {"/site/.env", 404},
	    {"/site/%2eenv", 404},
	    {"/_next/../secret.txt", 400},
	};
	(void)state;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct gw_response r;
		get(cases[i].path, NULL, &r);
		if (r.status != cases[i].status)
			fail_msg("%s: status %d, want %d", cases[i].path, r.status,
				 cases[i].status);
		if (strstr(r.body, "TOPSECRET") || strstr(r.body, "home page"))
			fail_msg("%s leaked: %s", cases[i].path, r.body);
		assert_non_null(strstr(r.body, "\"error\""));
	}
	/* a symlink leaving the root is refused even under the SPA fallback */
	assert_true(
	    gw_metric(gw.admin_port,
		      "b4_gateway_static_responses_total{route=\"site\",result=\"refused\"}") >=
	    10);
	assert_int_equal(atomic_load(&backend->requests), 0);
}

/* Sends requests on one connection (the last asks to close) and reads
 * into buf until the gateway closes it.  The first response's head ends
 * buf as a string; returns what follows it. */
static char *exchange_until_closed(const char *requests, char *buf, size_t cap)
{
	size_t len = 0;
	char *end;
	int fd = gw_connect(gw.http_port);

	assert_true(fd >= 0);
	assert_int_equal(gw_send_str(fd, requests), 0);
	for (;;) {
		ssize_t n = recv(fd, buf + len, cap - 1 - len, 0);
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	buf[len] = '\0';
	end = strstr(buf, "\r\n\r\n");
	assert_non_null(end);
	*end = '\0';
	return end + 4;
}

static void test_methods(void **state)
{
	struct gw_response r;
	char buf[4096], *next;
	(void)state;

	assert_int_equal(gw_request(gw.http_port, "POST", "/site/about", NULL, "x=1", &r), 0);
	assert_int_equal(r.status, 405);
	assert_true(gw_header_is(&r, "Allow", "GET, HEAD"));
	assert_int_equal(gw_request(gw.http_port, "DELETE", "/pay/ABC", NULL, NULL, &r), 0);
	assert_int_equal(r.status, 405);

	/* HEAD: the GET's fields, no body; the next response follows at once */
	next = exchange_until_closed("HEAD /site/about HTTP/1.1\r\nHost: t\r\n\r\n"
				     "GET /site/docs/ HTTP/1.1\r\nHost: t\r\n"
				     "Connection: close\r\n\r\n",
				     buf, sizeof(buf));
	assert_non_null(strstr(buf, "HTTP/1.1 200"));
	assert_non_null(strstr(buf, "Content-Length: 19"));
	assert_non_null(strstr(buf, "ETag: "));
	assert_non_null(strstr(buf, "Accept-Ranges: bytes"));
	/* right after the HEAD response: the second response, no body between */
	assert_memory_equal(next, "HTTP/1.1 200", 12);
	assert_non_null(strstr(next, "<h1>docs index</h1>"));
}

/* Reads one response with a BIG_SIZE body from fd and checks every byte. */
static void read_big(int fd)
{
	static char buf[1 << 16];
	size_t len = 0, body = 0, want = 0;
	char *end = NULL;

	while (!end) {
		ssize_t n = recv(fd, buf + len, 4096 - len > 0 ? 4096 - len : 0, 0);
		assert_true(n > 0);
		len += (size_t)n;
		buf[len] = '\0';
		end = strstr(buf, "\r\n\r\n");
		if (!end && len >= 4096)
			fail_msg("no head");
	}
	assert_non_null(strstr(buf, "HTTP/1.1 200"));
	{
		char *cl = strstr(buf, "Content-Length: ");
		assert_non_null(cl);
		want = strtoul(cl + 16, NULL, 10);
		assert_int_equal(want, BIG_SIZE);
	}
	/* the rest of the first read is body */
	for (char *p = end + 4; p < buf + len; p++, body++)
		if (*p != gw_pattern_byte(body))
			fail_msg("byte %zu differs", body);
	while (body < want) {
		size_t room = want - body < sizeof(buf) ? want - body : sizeof(buf);
		ssize_t n = recv(fd, buf, room, 0);
		assert_true(n > 0);
		for (ssize_t i = 0; i < n; i++, body++)
			if (buf[i] != gw_pattern_byte(body))
				fail_msg("byte %zu differs", body);
	}
}

static void test_large_files_pipelined(void **state)
{
	int fd;
	(void)state;

	fd = gw_connect(gw.http_port);
	assert_true(fd >= 0);
	/* three requests at once: each body is sent whole and in order */
	assert_int_equal(gw_send_str(fd, "GET /site/big.bin HTTP/1.1\r\nHost: t\r\n\r\n"
					 "GET /site/big.bin HTTP/1.1\r\nHost: t\r\n\r\n"
					 "GET /site/big.bin HTTP/1.1\r\nHost: t\r\n"
					 "Connection: close\r\n\r\n"),
			 0);
	read_big(fd);
	read_big(fd);
	read_big(fd);
	/* the last one asked to close: all of it, then the end */
	assert_true(gw_wait_closed(fd, 5000));
	close(fd);
	assert_true(gw_metric(gw.admin_port, "b4_gateway_static_bytes_total{route=\"site\"}") >=
		    3.0 * BIG_SIZE);
}

static const char about[] = "<h1>about page</h1>"; /* site/about.html */

/* GET path with "Range: range" and the extra header lines. */
static void get_range(const char *path, const char *range, const char *extra, struct gw_response *r)
{
	char hdr[1024];
	snprintf(hdr, sizeof(hdr), "Range: %s\r\n%s", range, extra ? extra : "");
	get(path, hdr, r);
}

/* r is a 206 carrying bytes first..last of a length-byte file whose
 * contents are want (NULL: big.bin's pattern). */
static void check_part(const struct gw_response *r, const char *want, size_t first, size_t last,
		       size_t length)
{
	char v[96];
	if (r->status != 206)
		fail_msg("status %d, want 206 for bytes %zu-%zu", r->status, first, last);
	assert_non_null(strstr(r->head, "HTTP/1.1 206 Partial Content\r\n"));
	snprintf(v, sizeof(v), "bytes %zu-%zu/%zu", first, last, length);
	assert_true(gw_header_is(r, "Content-Range", v));
	snprintf(v, sizeof(v), "%zu", last - first + 1);
	assert_true(gw_header_is(r, "Content-Length", v));
	assert_true(gw_header_is(r, "Accept-Ranges", "bytes"));
	assert_true(gw_header(r, "ETag", v, sizeof(v)));
	assert_int_equal(r->body_len, last - first + 1);
	for (size_t i = 0; i < r->body_len; i++)
		if (r->body[i] != (want ? want[first + i] : gw_pattern_byte(first + i)))
			fail_msg("byte %zu of bytes %zu-%zu differs", first + i, first, last);
}

/* r is the whole of about.html, as if there were no Range. */
static void check_whole_about(const struct gw_response *r, const char *why)
{
	char v[96];
	if (r->status != 200 || r->body_len != strlen(about) ||
	    memcmp(r->body, about, r->body_len) != 0)
		fail_msg("%s: status %d, body \"%s\"", why, r->status, r->body);
	assert_true(gw_header_is(r, "Accept-Ranges", "bytes"));
	assert_false(gw_header(r, "Content-Range", v, sizeof(v)));
}

static void test_range_parts(void **state)
{
	struct gw_response r;
	char range[96], v[96];
	(void)state;

	get_range("/site/big.bin", "bytes=1000-1999", NULL, &r);
	check_part(&r, NULL, 1000, 1999, BIG_SIZE);
	assert_true(gw_header_is(&r, "Content-Type", "application/octet-stream"));
	snprintf(range, sizeof(range), "bytes=%u-", BIG_SIZE - 300);
	get_range("/site/big.bin", range, NULL, &r);
	check_part(&r, NULL, BIG_SIZE - 300, BIG_SIZE - 1, BIG_SIZE);
	get_range("/site/big.bin", "bytes=-500", NULL, &r);
	check_part(&r, NULL, BIG_SIZE - 500, BIG_SIZE - 1, BIG_SIZE);
	/* deep in the file: the segment starts at the offset, not at 0 */
	get_range("/site/big.bin", "bytes=3000000-3000099", NULL, &r);
	check_part(&r, NULL, 3000000, 3000099, BIG_SIZE);
	/* last-pos past the end, even past 64 bits, is clamped */
	snprintf(range, sizeof(range), "bytes=%u-99999999999999999999999999", BIG_SIZE - 10);
	get_range("/site/big.bin", range, NULL, &r);
	check_part(&r, NULL, BIG_SIZE - 10, BIG_SIZE - 1, BIG_SIZE);

	get_range("/site/about", "bytes=4-8", NULL, &r);
	check_part(&r, about, 4, 8, strlen(about));
	assert_memory_equal(r.body, "about", 5);
	assert_true(gw_header_is(&r, "Content-Type", "text/html; charset=utf-8"));
	assert_true(gw_header_is(&r, "Cache-Control", "no-cache"));
	assert_true(gw_header(&r, "Last-Modified", v, sizeof(v)));
	/* a suffix longer than the file, and "0-": all of it, as a part */
	get_range("/site/about", "bytes=-1000", NULL, &r);
	check_part(&r, about, 0, strlen(about) - 1, strlen(about));
	get_range("/site/about", "bytes=0-", NULL, &r);
	check_part(&r, about, 0, strlen(about) - 1, strlen(about));
	/* the unit in another case; whitespace and empty list elements */
	get_range("/site/about", "Bytes= ,4-8 ,", NULL, &r);
	check_part(&r, about, 4, 8, strlen(about));
	/* a fallback page is a file like any other */
	get_range("/site/painel/vendas/42", "bytes=0-3", NULL, &r);
	check_part(&r, "<h1>home page</h1>", 0, 3, strlen("<h1>home page</h1>"));
	assert_int_equal(atomic_load(&backend->requests), 0);
}

static void test_range_unsatisfiable(void **state)
{
	static const char *const ranges[] = {
	    "bytes=19-",
	    "bytes=19-30",
	    "bytes=-0",
	    "bytes=99999999999999999999999999-",
	};
	struct gw_response r;
	char v[96];
	int fd;
	(void)state;

	for (size_t i = 0; i < sizeof(ranges) / sizeof(ranges[0]); i++) {
		get_range("/site/about", ranges[i], NULL, &r);
		if (r.status != 416)
			fail_msg("%s: status %d, want 416", ranges[i], r.status);
		assert_non_null(strstr(r.head, "HTTP/1.1 416 Range Not Satisfiable\r\n"));
		assert_true(gw_header_is(&r, "Content-Range", "bytes */19"));
		assert_true(gw_header_is(&r, "Content-Length", "0"));
		assert_int_equal(r.body_len, 0);
		/* about the request, not the file: nothing to cache or validate */
		assert_false(gw_header(&r, "Content-Type", v, sizeof(v)));
		assert_false(gw_header(&r, "Cache-Control", v, sizeof(v)));
		assert_false(gw_header(&r, "ETag", v, sizeof(v)));
	}
	/* the empty 416 keeps the connection: the next answer follows at once */
	fd = gw_connect(gw.http_port);
	assert_true(fd >= 0);
	assert_int_equal(gw_send_str(fd, "GET /site/about HTTP/1.1\r\nHost: t\r\n"
					 "Range: bytes=100-\r\n\r\n"
					 "GET /site/about HTTP/1.1\r\nHost: t\r\n"
					 "Connection: close\r\n\r\n"),
			 0);
	assert_int_equal(gw_read_response(fd, &r, 5000), 0);
	assert_int_equal(r.status, 416);
	assert_false(r.closed);
	assert_int_equal(gw_read_response(fd, &r, 5000), 0);
	check_whole_about(&r, "after a 416");
	close(fd);
}

static void test_range_ignored(void **state)
{
	static const char *const ranges[] = {
	    "bytes=0-1,5-6",		  /* several ranges: no multipart/byteranges */
	    "bytes=0-1, -5", "bytes=5-2", /* last-pos before first-pos */
	    "bytes=abc",     "bytes=",	    "bytes=-",
	    "bytes=1-2-3",   "bytes=0-1;x", "bytes=1 -2",
	    "bytes 0-1",     "items=0-1",   "bytes=-99999999999999999999999999999x",
	};
	struct gw_response r;
	(void)state;

	for (size_t i = 0; i < sizeof(ranges) / sizeof(ranges[0]); i++) {
		get_range("/site/about", ranges[i], NULL, &r);
		check_whole_about(&r, ranges[i]);
	}
	/* two Range fields */
	get_range("/site/about", "bytes=0-1", "Range: bytes=0-1\r\n", &r);
	check_whole_about(&r, "two Range fields");
}

static void test_if_range(void **state)
{
	struct gw_response r;
	char etag[128], lm[128], hdr[512];
	(void)state;

	get("/site/about", NULL, &r);
	assert_int_equal(r.status, 200);
	assert_true(gw_header(&r, "ETag", etag, sizeof(etag)));
	assert_true(gw_header(&r, "Last-Modified", lm, sizeof(lm)));

	/* the current validator: the part */
	snprintf(hdr, sizeof(hdr), "If-Range: %s\r\n", etag);
	get_range("/site/about", "bytes=0-3", hdr, &r);
	check_part(&r, about, 0, 3, strlen(about));
	snprintf(hdr, sizeof(hdr), "If-Range: %s\r\n", lm);
	get_range("/site/about", "bytes=0-3", hdr, &r);
	check_part(&r, about, 0, 3, strlen(about));

	/* anything else: the whole file, even for a range that would be a 416 */
	get_range("/site/about", "bytes=0-3", "If-Range: \"other\"\r\n", &r);
	check_whole_about(&r, "If-Range other tag");
	snprintf(hdr, sizeof(hdr), "If-Range: W/%s\r\n", etag);
	get_range("/site/about", "bytes=0-3", hdr, &r);
	check_whole_about(&r, "If-Range weak tag");
	get_range("/site/about", "bytes=0-3", "If-Range: Sun, 06 Nov 1994 08:49:37 GMT\r\n", &r);
	check_whole_about(&r, "If-Range old date");
	get_range("/site/about", "bytes=100-", "If-Range: \"other\"\r\n", &r);
	check_whole_about(&r, "If-Range other tag, unsatisfiable range");
	/* without Range, If-Range changes nothing */
	snprintf(hdr, sizeof(hdr), "If-Range: %s\r\n", etag);
	get("/site/about", hdr, &r);
	check_whole_about(&r, "If-Range alone");
}

static void test_range_after_conditionals(void **state)
{
	struct gw_response r;
	char etag[128], lm[128], hdr[512], v[96];
	(void)state;

	get("/site/about", NULL, &r);
	assert_true(gw_header(&r, "ETag", etag, sizeof(etag)));
	assert_true(gw_header(&r, "Last-Modified", lm, sizeof(lm)));

	/* a matching conditional wins over Range: 304 */
	snprintf(hdr, sizeof(hdr), "If-None-Match: %s\r\n", etag);
	get_range("/site/about", "bytes=0-3", hdr, &r);
	assert_int_equal(r.status, 304);
	assert_int_equal(r.body_len, 0);
	assert_false(gw_header(&r, "Content-Range", v, sizeof(v)));
	assert_true(gw_header_is(&r, "ETag", etag));
	snprintf(hdr, sizeof(hdr), "If-Modified-Since: %s\r\n", lm);
	get_range("/site/about", "bytes=100-", hdr, &r);
	assert_int_equal(r.status, 304);
	/* one that does not match leaves the range */
	get_range("/site/about", "bytes=0-3", "If-None-Match: \"other\"\r\n", &r);
	check_part(&r, about, 0, 3, strlen(about));

	/* errors stay errors */
	get_range("/site/assets/missing-123.js", "bytes=0-3", NULL, &r);
	assert_int_equal(r.status, 404);
	assert_false(gw_header(&r, "Content-Range", v, sizeof(v)));
	assert_int_equal(
	    gw_request(gw.http_port, "POST", "/site/about", "Range: bytes=0-3\r\n", "x=1", &r), 0);
	assert_int_equal(r.status, 405);
	get_range("/site/../secret.txt", "bytes=0-3", NULL, &r);
	assert_int_equal(r.status, 400);
}

static void test_range_precompressed(void **state)
{
	static const char js_path[] = "/_next/static/chunks/app-abc123.js";
	struct gw_response r;
	char plain_etag[128], br_etag[128], hdr[512], v[96];
	(void)state;

	/* the range counts bytes of the encoding sent */
	get_range(js_path, "bytes=0-5", "Accept-Encoding: br\r\n", &r);
	check_part(&r, js_br, 0, 5, strlen(js_br));
	assert_true(gw_header_is(&r, "Content-Encoding", "br"));
	assert_true(gw_header_is(&r, "Vary", "Accept-Encoding"));
	assert_true(gw_header(&r, "ETag", br_etag, sizeof(br_etag)));
	get_range(js_path, "bytes=-6", "Accept-Encoding: gzip\r\n", &r);
	check_part(&r, js_gz, strlen(js_gz) - 6, strlen(js_gz) - 1, strlen(js_gz));
	assert_true(gw_header_is(&r, "Content-Encoding", "gzip"));
	get_range(js_path, "bytes=0-6", NULL, &r);
	check_part(&r, js_plain, 0, 6, strlen(js_plain));
	assert_false(gw_header(&r, "Content-Encoding", v, sizeof(v)));
	assert_true(gw_header(&r, "ETag", plain_etag, sizeof(plain_etag)));
	assert_string_not_equal(plain_etag, br_etag);

	/* If-Range names one encoding: resuming in it gets the part ... */
	snprintf(hdr, sizeof(hdr), "Accept-Encoding: br\r\nIf-Range: %s\r\n", br_etag);
	get_range(js_path, "bytes=6-", hdr, &r);
	check_part(&r, js_br, 6, strlen(js_br) - 1, strlen(js_br));
	/* ... a tag of another encoding gets the whole of the one sent */
	snprintf(hdr, sizeof(hdr), "Accept-Encoding: br\r\nIf-Range: %s\r\n", plain_etag);
	get_range(js_path, "bytes=6-", hdr, &r);
	assert_int_equal(r.status, 200);
	assert_int_equal(r.body_len, strlen(js_br));
	assert_memory_equal(r.body, js_br, r.body_len);
	assert_true(gw_header_is(&r, "Content-Encoding", "br"));
	assert_false(gw_header(&r, "Content-Range", v, sizeof(v)));

	/* past the end of the encoded bytes; a hashed asset's 416 is not
	 * cached for a year */
	snprintf(v, sizeof(v), "bytes=%zu-", strlen(js_br));
	get_range(js_path, v, "Accept-Encoding: br\r\n", &r);
	assert_int_equal(r.status, 416);
	snprintf(v, sizeof(v), "bytes */%zu", strlen(js_br));
	assert_true(gw_header_is(&r, "Content-Range", v));
	assert_false(gw_header(&r, "Cache-Control", v, sizeof(v)));
}

static void test_range_head(void **state)
{
	char buf[4096], *next, *end;
	(void)state;

	/* Range is for GET only: HEAD gets the fields of the whole file, and
	 * no body, so the GET's 206 follows the head at once */
	next = exchange_until_closed("HEAD /site/about HTTP/1.1\r\nHost: t\r\n"
				     "Range: bytes=0-3\r\n\r\n"
				     "GET /site/docs/ HTTP/1.1\r\nHost: t\r\n"
				     "Range: bytes=4-7\r\nConnection: close\r\n\r\n",
				     buf, sizeof(buf));
	assert_non_null(strstr(buf, "HTTP/1.1 200"));
	assert_non_null(strstr(buf, "Content-Length: 19\r\n"));
	assert_non_null(strstr(buf, "Accept-Ranges: bytes\r\n"));
	assert_null(strstr(buf, "Content-Range"));
	assert_memory_equal(next, "HTTP/1.1 206", 12);
	assert_non_null(strstr(next, "Content-Range: bytes 4-7/19\r\n"));
	end = strstr(next, "\r\n\r\n");
	assert_non_null(end);
	assert_string_equal(end + 4, "docs");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_file_headers),
	    cmocka_unit_test(test_conditional_requests),
	    cmocka_unit_test(test_precompressed_siblings),
	    cmocka_unit_test(test_fallbacks_and_folders),
	    cmocka_unit_test(test_escapes_refused),
	    cmocka_unit_test(test_methods),
	    cmocka_unit_test(test_large_files_pipelined),
	    cmocka_unit_test(test_range_parts),
	    cmocka_unit_test(test_range_unsatisfiable),
	    cmocka_unit_test(test_range_ignored),
	    cmocka_unit_test(test_if_range),
	    cmocka_unit_test(test_range_after_conditionals),
	    cmocka_unit_test(test_range_precompressed),
	    cmocka_unit_test(test_range_head),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
