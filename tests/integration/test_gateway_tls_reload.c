/* b4-gateway TLS termination, SIGHUP reload under traffic (including a bad
 * config that must be refused) and graceful drain on SIGTERM. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "gw_support.h"

static struct gw_backend *ba, *bb;
static struct gw_gateway gw;
static char var[400];

static int teardown(void **state)
{
	(void)state;
	if (gw.pid > 0)
		gw_gateway_stop(&gw, 5000);
	gw_backend_free(ba);
	gw_backend_free(bb);
	ba = bb = NULL;
	return 0;
}

static int make_cert(const char *cn, const char *cert, const char *key)
{
	char cmd[4096];
	snprintf(cmd, sizeof(cmd),
		 "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes "
		 "-keyout %s.tmp -out %s.tmp -days 2 -subj /CN=%s > /dev/null 2>&1 && "
		 "mv %s.tmp %s && mv %s.tmp %s",
		 key, cert, cn, key, key, cert, cert);
	return system(cmd) == 0 ? 0 : -1;
}

/* TLS GET with extra header lines (each ending in CRLF); returns the
 * status (or -1) and the peer certificate's CN. */
static int tls_get_with(int port, int max_version, const char *path, const char *headers, char *cn,
			size_t cncap, char *version, size_t vcap, char *body, size_t bodycap)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	SSL *ssl = NULL;
	int fd = -1, status = -1;
	char req[512], buf[8192];
	size_t len = 0;

	if (!ctx)
		return -1;
	if (max_version)
		SSL_CTX_set_max_proto_version(ctx, max_version);
	SSL_CTX_set_security_level(ctx, 0); /* allow the old versions we test refusal of */
	fd = gw_connect(port);
	if (fd < 0)
		goto out;
	ssl = SSL_new(ctx);
	SSL_set_fd(ssl, fd);
	SSL_set_tlsext_host_name(ssl, "localhost");
	if (SSL_connect(ssl) != 1)
		goto out;
	if (cn) {
		X509 *peer = SSL_get1_peer_certificate(ssl);
		cn[0] = '\0';
		if (peer) {
			X509_NAME_get_text_by_NID(X509_get_subject_name(peer), NID_commonName, cn,
						  (int)cncap);
			X509_free(peer);
		}
	}
	if (version)
		snprintf(version, vcap, "%s", SSL_get_version(ssl));
	snprintf(req, sizeof(req),
		 "GET %s HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n%s\r\n", path,
		 headers);
	if (SSL_write(ssl, req, (int)strlen(req)) <= 0)
		goto out;
	for (;;) {
		int n = SSL_read(ssl, buf + len, (int)(sizeof(buf) - 1 - len));
		if (n <= 0)
			break;
		len += (size_t)n;
		if (len >= sizeof(buf) - 1)
			break;
	}
	buf[len] = '\0';
	if (sscanf(buf, "HTTP/1.1 %d", &status) != 1)
		status = -1;
	if (body) {
		char *b = strstr(buf, "\r\n\r\n");
		snprintf(body, bodycap, "%s", b ? b + 4 : "");
	}
out:
	if (ssl) {
		SSL_shutdown(ssl);
		SSL_free(ssl);
	}
	if (fd >= 0)
		close(fd);
	SSL_CTX_free(ctx);
	ERR_clear_error();
	return status;
}

static int tls_get(int port, int max_version, const char *path, char *cn, size_t cncap,
		   char *version, size_t vcap, char *body, size_t bodycap)
{
	return tls_get_with(port, max_version, path, "", cn, cncap, version, vcap, body, bodycap);
}

static void test_tls_termination_and_cert_reload(void **state)
{
	char cert[512], key[512], cfg[4096], cn[256], version[64], body[1024], head[16384];
	char files[512], page[600];
	int status;
	(void)state;

	snprintf(cert, sizeof(cert), "%s/gw-tls-%d.crt", var, (int)getpid());
	snprintf(key, sizeof(key), "%s/gw-tls-%d.key", var, (int)getpid());
	assert_int_equal(make_cert("first", cert, key), 0);
	/* a static route too: under TLS its file goes through memory, mapped */
	snprintf(files, sizeof(files), "%s/gw-tls-files-%d", var, (int)getpid());
	assert_int_equal(mkdir(files, 0755), 0);
	snprintf(page, sizeof(page), "%s/index.html", files);
	{
		FILE *f = fopen(page, "w");
		assert_non_null(f);
		fputs("<h1>over tls</h1>", f);
		fclose(f);
	}
	ba = gw_backend_start("A");
	assert_non_null(ba);
	snprintf(cfg, sizeof(cfg),
		 "{\"listeners\": [{\"host\": \"127.0.0.1\", \"port\": 0},"
		 "                 {\"host\": \"127.0.0.1\", \"port\": 0, \"tls\": true}],"
		 " \"tls\": {\"cert\": \"%s\", \"key\": \"%s\"},"
		 " \"routes\": [{\"prefix\": \"/api\", \"upstream\": \"api\"},"
		 "   {\"prefix\": \"/files\", \"static\": {\"root\": \"%s\"}}],"
		 " \"upstreams\": {\"api\": {\"instances\": [\"127.0.0.1:%d\"],"
		 "   \"health_check\": {\"interval_ms\": 0}}},"
		 " \"rate_limits\": [], \"trusted_proxies\": []}",
		 cert, key, files, ba->port);
	assert_int_equal(gw_gateway_start(&gw, cfg, NULL), 0);
	assert_true(gw.https_port > 0);

	status = tls_get(gw.https_port, 0, "/api/v1/secure", cn, sizeof(cn), version,
			 sizeof(version), body, sizeof(body));
	assert_int_equal(status, 200);
	assert_string_equal(cn, "first");
	assert_true(strcmp(version, "TLSv1.2") == 0 || strcmp(version, "TLSv1.3") == 0);
	assert_string_equal(body, "A GET /v1/secure 0");
	status = tls_get(gw.https_port, 0, "/files/", NULL, 0, NULL, 0, body, sizeof(body));
	assert_int_equal(status, 200);
	assert_string_equal(body, "<h1>over tls</h1>");
	unlink(page);
	/* a byte range under TLS: the mapped segment starts mid-page */
	snprintf(page, sizeof(page), "%s/big.txt", files);
	{
		FILE *f = fopen(page, "w");
		assert_non_null(f);
		for (int i = 0; i < 10000; i++)
			fputc('a' + (i * 7 + i / 26) % 26, f);
		fclose(f);
	}
	status = tls_get_with(gw.https_port, 0, "/files/big.txt", "Range: bytes=5000-5009\r\n",
			      NULL, 0, NULL, 0, body, sizeof(body));
	assert_int_equal(status, 206);
	assert_int_equal(strlen(body), 10);
	for (int i = 0; i < 10; i++)
		assert_int_equal(body[i], 'a' + ((5000 + i) * 7 + (5000 + i) / 26) % 26);
	status = tls_get_with(gw.https_port, 0, "/files/big.txt", "Range: bytes=-3\r\n", NULL, 0,
			      NULL, 0, body, sizeof(body));
	assert_int_equal(status, 206);
	assert_int_equal(strlen(body), 3);
	for (int i = 0; i < 3; i++)
		assert_int_equal(body[i], 'a' + ((9997 + i) * 7 + (9997 + i) / 26) % 26);
	unlink(page);
	rmdir(files);
	gw_backend_last_head(ba, head, sizeof(head));
	assert_non_null(strstr(head, "X-Forwarded-Proto: https\r\n"));

	/* TLS 1.2 explicitly, and 1.1 refused */
	status = tls_get(gw.https_port, TLS1_2_VERSION, "/api/v1/x", NULL, 0, version,
			 sizeof(version), NULL, 0);
	assert_int_equal(status, 200);
	assert_string_equal(version, "TLSv1.2");
	assert_int_equal(
	    tls_get(gw.https_port, TLS1_1_VERSION, "/api/v1/x", NULL, 0, NULL, 0, NULL, 0), -1);

	/* plain HTTP on the plain listener still works */
	{
		struct gw_response r;
		assert_int_equal(gw_request(gw.http_port, "GET", "/api/plain", NULL, NULL, &r), 0);
		assert_int_equal(r.status, 200);
	}

	/* new certificate files + SIGHUP: new handshakes use them */
	assert_int_equal(make_cert("second", cert, key), 0);
	kill(gw.pid, SIGHUP);
	{
		long long deadline = h_now_ms() + 5000;
		bool seen = false;
		while (h_now_ms() < deadline && !seen) {
			if (tls_get(gw.https_port, 0, "/api/v1/x", cn, sizeof(cn), NULL, 0, NULL,
				    0) == 200 &&
			    strcmp(cn, "second") == 0)
				seen = true;
			else
				h_sleep_ms(50);
		}
		assert_true(seen);
	}

	/* a broken key is refused on reload; the old certificate stays */
	{
		FILE *f = fopen(key, "w");
		fputs("not a key\n", f);
		fclose(f);
	}
	kill(gw.pid, SIGHUP);
	h_sleep_ms(300);
	status = tls_get(gw.https_port, 0, "/api/v1/x", cn, sizeof(cn), NULL, 0, NULL, 0);
	assert_int_equal(status, 200);
	assert_string_equal(cn, "second");
}

struct traffic {
	int port;
	atomic_int stop;
	atomic_int ok;
	atomic_int failed;
	atomic_int from_a, from_b;
	char last_error[256];
};

static void *traffic_main(void *arg)
{
	struct traffic *t = arg;
	int fd = -1, on_conn = 0;
	while (!atomic_load(&t->stop)) {
		struct gw_response r;
		/* alternate: a few requests per keep-alive connection */
		if (fd < 0) {
			fd = gw_connect(t->port);
			on_conn = 0;
			if (fd < 0) {
				atomic_fetch_add(&t->failed, 1);
				snprintf(t->last_error, sizeof(t->last_error), "connect");
				h_sleep_ms(5);
				continue;
			}
		}
		if (gw_send_str(fd, "GET /api/v1/reload HTTP/1.1\r\nHost: t\r\n\r\n") != 0 ||
		    gw_read_response(fd, &r, 5000) != 0 || r.status != 200) {
			atomic_fetch_add(&t->failed, 1);
			snprintf(t->last_error, sizeof(t->last_error), "status %d", r.status);
			close(fd);
			fd = -1;
			continue;
		}
		atomic_fetch_add(&t->ok, 1);
		if (r.body[0] == 'A')
			atomic_fetch_add(&t->from_a, 1);
		else
			atomic_fetch_add(&t->from_b, 1);
		if (++on_conn >= 5 || r.closed) {
			close(fd);
			fd = -1;
		}
	}
	if (fd >= 0)
		close(fd);
	return NULL;
}

static void reload_config(char *out, size_t cap, int port)
{
	snprintf(out, cap,
		 "{\"routes\": [{\"prefix\": \"/api\", \"upstream\": \"api\"}],"
		 " \"upstreams\": {\"api\": {\"instances\": [\"127.0.0.1:%d\"],"
		 "   \"health_check\": {\"interval_ms\": 0}}},"
		 " \"rate_limits\": []}",
		 port);
}

static void test_sighup_reload_under_traffic(void **state)
{
	static struct traffic t;
	pthread_t th[2];
	char cfg[2048];
	int b_at_switch;
	(void)state;

	ba = gw_backend_start("A");
	bb = gw_backend_start("B");
	reload_config(cfg, sizeof(cfg), ba->port);
	assert_int_equal(gw_gateway_start(&gw, cfg, NULL), 0);
	memset(&t, 0, sizeof(t));
	t.port = gw.http_port;
	pthread_create(&th[0], NULL, traffic_main, &t);
	pthread_create(&th[1], NULL, traffic_main, &t);
	h_sleep_ms(300);

	/* to B */
	reload_config(cfg, sizeof(cfg), bb->port);
	assert_int_equal(gw_gateway_write_config(&gw, cfg), 0);
	kill(gw.pid, SIGHUP);
	h_sleep_ms(400);
	b_at_switch = atomic_load(&bb->requests);
	assert_true(b_at_switch > 0);

	/* a bad config: refused, B keeps serving */
	assert_int_equal(gw_gateway_write_config(&gw, "{\"routes\": [{\"prefix\": \"/api\", "
						      "\"upstream\": \"missing\"}]}"),
			 0);
	kill(gw.pid, SIGHUP);
	h_sleep_ms(300);
	assert_true(atomic_load(&bb->requests) > b_at_switch);

	/* and back to A */
	reload_config(cfg, sizeof(cfg), ba->port);
	assert_int_equal(gw_gateway_write_config(&gw, cfg), 0);
	kill(gw.pid, SIGHUP);
	h_sleep_ms(400);

	atomic_store(&t.stop, 1);
	pthread_join(th[0], NULL);
	pthread_join(th[1], NULL);
	if (atomic_load(&t.failed) != 0)
		fail_msg("%d failed requests during reloads (last: %s)", atomic_load(&t.failed),
			 t.last_error);
	assert_true(atomic_load(&t.ok) > 50);
	assert_true(atomic_load(&t.from_b) > 0);
	assert_int_equal(gw_metric(gw.admin_port, "b4_gateway_config_reloads_total"), 2);
	gw_gateway_stop(&gw, 5000);
	{
		FILE *lf = fopen(gw.log_path, "r");
		char line[2048];
		bool refused = false;
		assert_non_null(lf);
		while (fgets(line, sizeof(line), lf))
			if (strstr(line, "config reload refused") &&
			    strstr(line, "no upstream named"))
				refused = true;
		fclose(lf);
		assert_true(refused);
	}
}

struct slow_req {
	int port;
	int status;
	bool closed;
};

static void *slow_main(void *arg)
{
	struct slow_req *s = arg;
	struct gw_response r;
	int fd = gw_connect(s->port);
	s->status = -1;
	if (fd < 0)
		return NULL;
	if (gw_send_str(fd, "GET /api/slow/800 HTTP/1.1\r\nHost: t\r\n\r\n") == 0 &&
	    gw_read_response(fd, &r, 5000) == 0) {
		char v[64];
		s->status = r.status;
		s->closed = gw_header(&r, "Connection", v, sizeof(v)) && strcmp(v, "close") == 0;
	}
	close(fd);
	return NULL;
}

static void test_sigterm_drains(void **state)
{
	static const char *const env[] = {"B4_DRAIN_SECONDS=5", NULL};
	struct slow_req s = {0};
	struct gw_response r;
	pthread_t th;
	char cfg[2048];
	long long start;
	int rc, idle_fd;
	(void)state;

	ba = gw_backend_start("A");
	reload_config(cfg, sizeof(cfg), ba->port);
	assert_int_equal(gw_gateway_start(&gw, cfg, env), 0);
	/* an idle keep-alive connection is closed by the drain */
	idle_fd = gw_connect(gw.http_port);
	assert_int_equal(gw_send_str(idle_fd, "GET /api/v1/x HTTP/1.1\r\nHost: t\r\n\r\n"), 0);
	assert_int_equal(gw_read_response(idle_fd, &r, 5000), 0);

	s.port = gw.http_port;
	pthread_create(&th, NULL, slow_main, &s);
	h_sleep_ms(200);
	start = h_now_ms();
	kill(gw.pid, SIGTERM);
	/* readyz goes 503 while in-flight work finishes */
	{
		long long deadline = h_now_ms() + 2000;
		bool not_ready = false;
		while (h_now_ms() < deadline && !not_ready) {
			if (gw_admin_get(gw.admin_port, "/readyz", &r) == 0 && r.status == 503)
				not_ready = true;
			else
				h_sleep_ms(20);
		}
		assert_true(not_ready);
	}
	assert_true(gw_wait_closed(idle_fd, 3000));
	close(idle_fd);
	/* no new connections are accepted */
	{
		int fd = gw_connect(gw.http_port);
		if (fd >= 0) {
			/* accepted by the kernel before the listener closed at most */
			gw_send_str(fd, "GET /api/v1/x HTTP/1.1\r\nHost: t\r\n\r\n");
			assert_true(gw_read_response(fd, &r, 2000) != 0);
			close(fd);
		}
	}
	pthread_join(th, NULL);
	assert_int_equal(s.status, 200);
	assert_true(s.closed);
	rc = gw_gateway_stop(&gw, 6000);
	assert_int_equal(rc, 0);
	assert_true(h_now_ms() - start < 5500);
}

int main(void)
{
	const char *v = getenv("B4_TEST_VAR");
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_teardown(test_tls_termination_and_cert_reload, teardown),
	    cmocka_unit_test_teardown(test_sighup_reload_under_traffic, teardown),
	    cmocka_unit_test_teardown(test_sigterm_drains, teardown),
	};
	snprintf(var, sizeof(var), "%s", v && *v ? v : "/tmp");
	return cmocka_run_group_tests(tests, NULL, NULL);
}
