/* test_trust.c - trust boundaries (issue #11), through the real b4-gateway
 * in front of the real services and MariaDB.
 *
 * The test process plays the load balancer: the "lb" gateway trusts its
 * loopback peer (the defaults), so the X-Forwarded-For a test sends is the
 * buyer's address as the load balancer saw it.  The "edge" gateway trusts
 * nobody (B4_TRUSTED_PROXIES=""), like a gateway facing clients directly.
 * Every service trusts only the gateways (B4_TRUSTED_PROXIES=127.0.0.1/32).
 *
 * Proved here: two buyers behind a trusted proxy are two clients in
 * sessions, orders, antifraud, audit rows and log lines; an untrusted peer
 * cannot choose its address; the owner logs in while an attacker is
 * throttled; a blocked or demoted admin and a blocked member are refused at
 * their next request; each SSRF form is refused; NUL is refused; oversize
 * and unknown event fields are refused and events are limited; coupon
 * checks are limited; in development the sandbox's test cards never trip
 * antifraud and an antifraud refusal says so; S3 puts ask for SSE.
 */
#include "gw_support.h"
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

#include "b4/storage.h"

#define SECRET	 "acquirer-secret-for-tests-0123456789abcdef"
#define TRUST_GW "B4_TRUSTED_PROXIES=127.0.0.1/32"
#define ADMIN_ID "01900000-0000-7000-8000-000000000003"
#define OFFER	 "DEMOOFFER1"
#define COUPON	 "BEMVINDO10"

static const char *db;
static struct h_proc sandbox, api, backoffice, checkout, dev_checkout;
static struct gw_gateway lb, edge, dev_gw;

/* ---- helpers ------------------------------------------------------------ */

static char *fmt(const char *format, ...) __attribute__((format(printf, 1, 2)));
static char *fmt(const char *format, ...)
{
	static char bufs[8][4096];
	static int next;
	char *out = bufs[next++ % 8];
	va_list ap;

	va_start(ap, format);
	vsnprintf(out, sizeof(bufs[0]), format, ap);
	va_end(ap);
	return out;
}

/* One request through gateway g; xff and auth (a whole header line) may
 * be NULL.  Returns the status. */
static long call(struct h_resp *r, const struct gw_gateway *g, const char *method, const char *path,
		 const char *xff, const char *auth, const char *body)
{
	char xff_line[300];
	const char *headers[5];
	size_t n = 0;

	headers[n++] = "Content-Type: application/json";
	if (xff) {
		snprintf(xff_line, sizeof(xff_line), "X-Forwarded-For: %s", xff);
		headers[n++] = xff_line;
	}
	if (auth)
		headers[n++] = auth;
	headers[n] = NULL;
	assert_int_equal(
	    h_http(r, method, fmt("http://127.0.0.1:%d%s", g->http_port, path), body, headers), 0);
	return r->status;
}

/* call() that must answer want; frees the response. */
static void expect(const struct gw_gateway *g, long want, const char *method, const char *path,
		   const char *xff, const char *auth, const char *body)
{
	struct h_resp r;

	if (call(&r, g, method, path, xff, auth, body) != want)
		fail_msg("%s %s: got %ld, want %ld: %s", method, path, r.status, want,
			 r.body ? r.body : "");
	h_resp_free(&r);
}

#define sql_int(...) h_sql_intf(db, __VA_ARGS__)

static char *sql_str(const char *sql)
{
	static char out[4][256];
	static int next;
	char *v = h_sql_value(db, sql), *slot = out[next++ % 4];

	snprintf(slot, 256, "%s", v ? v : "(none)");
	free(v);
	return slot;
}

/* Opens a checkout session from address xff; returns its id (static). */
static const char *session_from(const struct gw_gateway *g, const char *xff)
{
	static char ids[4][40];
	static int next;
	char *id = ids[next++ % 4];
	struct h_resp r;

	assert_int_equal(call(&r, g, "POST", "/checkout/v1/sessions", xff, NULL,
			      "{\"offer_code\":\"" OFFER "\",\"email\":\"lead@example.com\"}"),
			 201);
	snprintf(id, 40, "%s", h_json_str(&r, "id"));
	h_resp_free(&r);
	return id;
}

static unsigned order_seq;

/* Places an order from xff through g; returns the HTTP status and keeps
 * the response in r (caller frees). */
static long order_from(struct h_resp *r, const struct gw_gateway *g, const char *xff,
		       const char *email, unsigned cpf_seed, const char *payment)
{
	char cpf[12], key[80], body[1024], idem[120], xff_line[200];
	const char *headers[4] = {"Content-Type: application/json", idem, xff_line, NULL};

	h_make_cpf(cpf_seed, cpf);
	snprintf(key, sizeof(key), "trust-%d-%u", (int)getpid(), ++order_seq);
	snprintf(idem, sizeof(idem), "Idempotency-Key: %s", key);
	snprintf(xff_line, sizeof(xff_line), "X-Forwarded-For: %s", xff);
	snprintf(body, sizeof(body),
		 "{\"offer_code\":\"" OFFER "\",\"customer\":{\"full_name\":\"Maria Compradora\","
		 "\"email\":\"%s\",\"document\":\"%s\",\"phone\":\"+55 (11) 98765-4321\"},"
		 "\"payment\":%s}",
		 email, cpf, payment);
	assert_int_equal(h_http(r, "POST",
				fmt("http://127.0.0.1:%d/checkout/v1/orders", g->http_port), body,
				headers),
			 0);
	return r->status;
}

/* Tokenizes a sandbox test card through g; returns a malloc'd token. */
static char *card_token(const struct gw_gateway *g, const char *number, const char *xff)
{
	struct h_resp r;
	char *token;

	assert_int_equal(call(&r, g, "POST", "/checkout/v1/card-tokens", xff, NULL,
			      fmt("{\"number\":\"%s\",\"holder_name\":\"Maria Compradora\","
				  "\"exp_month\":12,\"exp_year\":2031,\"cvv\":\"123\"}",
				  number)),
			 201);
	token = strdup(h_json_str(&r, "token"));
	h_resp_free(&r);
	return token;
}

/* Signs a member up through the lb gateway; id and password out. */
static void member_new(const char *name, char id[40], char password[64], char email[128])
{
	struct h_resp r;

	snprintf(email, 128, "%s.%d@example.com", name, (int)getpid());
	snprintf(password, 64, "pw-%s-correct-horse-battery", name);
	assert_int_equal(call(&r, &lb, "POST", "/api/v1/auth/signup", "198.51.100.250", NULL,
			      fmt("{\"email\":\"%s\",\"password\":\"%s\",\"full_name\":\"%s\"}",
				  email, password, name)),
			 201);
	snprintf(id, 40, "%s", h_json_str(&r, "user.id"));
	h_resp_free(&r);
}

static int start_gateway(struct gw_gateway *g, int checkout_port, const char *trusted)
{
	char api_env[64], bo_env[64], co_env[64];
	const char *env[5] = {api_env, bo_env, co_env, trusted, NULL};

	snprintf(api_env, sizeof(api_env), "B4_API_UPSTREAM=127.0.0.1:%d", api.port);
	snprintf(bo_env, sizeof(bo_env), "B4_BACKOFFICE_UPSTREAM=127.0.0.1:%d", backoffice.port);
	snprintf(co_env, sizeof(co_env), "B4_CHECKOUT_UPSTREAM=127.0.0.1:%d", checkout_port);
	if (gw_gateway_start(g, NULL, env) < 0)
		return -1;
	return h_wait_status(fmt("http://127.0.0.1:%d/checkout/v1/offers/" OFFER, g->http_port),
			     200, 10000)
		   ? 0
		   : -1;
}

static int group_setup(void **state)
{
	static char acq_env[128];
	const char *sb_env[] = {"B4_ACQUIRER_SECRET=" SECRET, NULL};
	const char *api_env[] = {TRUST_GW, "B4_ENV=production", "B4_LOGIN_MAX_PER_EMAIL=3",
				 "B4_LOGIN_MAX_PER_IP=6", NULL};
	const char *bo_env[] = {TRUST_GW, NULL};
	const char *co_env[] = {TRUST_GW,
				"B4_ACQUIRER_SECRET=" SECRET,
				acq_env,
				"B4_FRAUD_IP_MAX=1",
				"B4_COUPON_CHECKS_PER_IP=6",
				"B4_COUPON_CHECKS_PER_SESSION=3",
				"B4_EVENTS_PER_IP=8",
				"B4_EVENTS_PER_SESSION=5",
				NULL};
	const char *dev_env[] = {TRUST_GW,
				 "B4_ENV=development",
				 "B4_ACQUIRER_SECRET=" SECRET,
				 acq_env,
				 "B4_FRAUD_CARD_MAX=2",
				 "B4_FRAUD_EMAIL_MAX=2",
				 "B4_FRAUD_DOCUMENT_MAX=2",
				 "B4_FRAUD_IP_MAX=100000",
				 NULL};
	(void)state;

	db = h_db_create("b4_trust", true);
	if (!db || h_start(&sandbox, "b4-acquirer-sandbox", NULL, sb_env) < 0)
		return -1;
	snprintf(acq_env, sizeof(acq_env), "B4_ACQUIRERS=sandbox=http://127.0.0.1:%d",
		 sandbox.port);
	if (h_start(&api, "b4-api", db, api_env) < 0 ||
	    h_start(&backoffice, "b4-backoffice", db, bo_env) < 0 ||
	    h_start(&checkout, "b4-checkout", db, co_env) < 0 ||
	    h_start(&dev_checkout, "b4-checkout", db, dev_env) < 0)
		return -1;
	if (start_gateway(&lb, checkout.port, "B4_LOG_LEVEL=info") < 0 ||
	    start_gateway(&edge, checkout.port, "B4_TRUSTED_PROXIES=") < 0 ||
	    start_gateway(&dev_gw, dev_checkout.port, "B4_LOG_LEVEL=info") < 0)
		return -1;
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	gw_gateway_stop(&lb, 10000);
	gw_gateway_stop(&edge, 10000);
	gw_gateway_stop(&dev_gw, 10000);
	h_stop(&dev_checkout, SIGTERM, 10000);
	h_stop(&checkout, SIGTERM, 10000);
	h_stop(&backoffice, SIGTERM, 10000);
	h_stop(&api, SIGTERM, 10000);
	h_stop(&sandbox, SIGTERM, 10000);
	return 0;
}

/* ---- 1. one client address ---------------------------------------------- */

static void test_two_buyers_behind_a_trusted_proxy_are_two_clients(void **state)
{
	const char *a = "198.51.100.1", *b = "198.51.100.2";
	const char *sa, *sb;
	char order_a1[40], order_a2[40], order_b[40], target[40], pw[64], email[128];
	struct h_resp r;
	(void)state;

	/* sessions */
	sa = session_from(&lb, a);
	sb = session_from(&lb, b);
	assert_string_equal(
	    sql_str(fmt("SELECT client_ip FROM checkout_sessions WHERE id = '%s'", sa)), a);
	assert_string_equal(
	    sql_str(fmt("SELECT client_ip FROM checkout_sessions WHERE id = '%s'", sb)), b);

	/* orders, and the velocity_ip rule (B4_FRAUD_IP_MAX=1) counts each
	 * buyer alone: A's second order is flagged, B's first is not */
	assert_int_equal(order_from(&r, &lb, a, "a1@example.com", 301, "{\"method\":\"pix\"}"),
			 201);
	snprintf(order_a1, sizeof(order_a1), "%s", h_json_str(&r, "id"));
	h_resp_free(&r);
	assert_int_equal(order_from(&r, &lb, b, "b1@example.com", 302, "{\"method\":\"pix\"}"),
			 201);
	snprintf(order_b, sizeof(order_b), "%s", h_json_str(&r, "id"));
	h_resp_free(&r);
	assert_int_equal(order_from(&r, &lb, a, "a2@example.com", 303, "{\"method\":\"pix\"}"),
			 201);
	snprintf(order_a2, sizeof(order_a2), "%s", h_json_str(&r, "id"));
	h_resp_free(&r);
	assert_string_equal(sql_str(fmt("SELECT client_ip FROM orders WHERE id = '%s'", order_a1)),
			    a);
	assert_string_equal(sql_str(fmt("SELECT client_ip FROM orders WHERE id = '%s'", order_b)),
			    b);
	assert_int_equal(sql_int("SELECT JSON_SEARCH(fraud_reasons, 'one', 'velocity_ip') IS NULL"
				 " FROM orders WHERE id = '%s'",
				 order_a1),
			 1);
	assert_int_equal(sql_int("SELECT JSON_SEARCH(fraud_reasons, 'one', 'velocity_ip') IS NULL"
				 " FROM orders WHERE id = '%s'",
				 order_b),
			 1);
	assert_int_equal(sql_int("SELECT JSON_SEARCH(fraud_reasons, 'one', 'velocity_ip') IS"
				 " NOT NULL FROM orders WHERE id = '%s'",
				 order_a2),
			 1);

	/* audit rows of the back-office carry the admin's address */
	member_new("audited", target, pw, email);
	expect(&lb, 200, "POST", fmt("/backoffice/v1/users/%s/block", target), "198.51.100.77",
	       h_bearer(ADMIN_ID, "admin"), NULL);
	assert_string_equal(sql_str(fmt("SELECT ip FROM audit_log WHERE action = 'user.block'"
					" AND target_id = '%s'",
					target)),
			    "198.51.100.77");

	/* and every service's access log line names the client, not the gateway */
	assert_true(h_logs_contain("\"client_ip\":\"198.51.100.1\""));
	assert_true(h_logs_contain("\"client_ip\":\"198.51.100.2\""));
	assert_true(h_logs_contain("\"client_ip\":\"198.51.100.77\""));
}

static void test_untrusted_peer_cannot_choose_its_address(void **state)
{
	const char *id;
	(void)state;

	/* the edge gateway trusts nobody: the chain is replaced by its peer */
	id = session_from(&edge, "203.0.113.200");
	assert_string_equal(
	    sql_str(fmt("SELECT client_ip FROM checkout_sessions WHERE id = '%s'", id)),
	    "127.0.0.1");
	/* behind a trusted proxy only the hop it appended counts: what the
	 * client wrote left of it is not believed */
	id = session_from(&lb, "6.6.6.6, 198.51.100.9");
	assert_string_equal(
	    sql_str(fmt("SELECT client_ip FROM checkout_sessions WHERE id = '%s'", id)),
	    "198.51.100.9");
	/* garbage in the chain stops the walk at the last trusted hop */
	id = session_from(&lb, "not-an-address");
	assert_string_equal(
	    sql_str(fmt("SELECT client_ip FROM checkout_sessions WHERE id = '%s'", id)),
	    "127.0.0.1");
}

/* ---- 2. login protection ------------------------------------------------- */

static void test_owner_logs_in_while_an_attacker_is_throttled(void **state)
{
	const char *attacker = "203.0.113.66", *owner = "198.51.100.20";
	char id[40], pw[64], email[128], *wrong, *right;
	struct h_resp r;
	(void)state;

	member_new("owner", id, pw, email);
	wrong = strdup(fmt("{\"email\":\"%s\",\"password\":\"guess-guess-guess\"}", email));
	right = strdup(fmt("{\"email\":\"%s\",\"password\":\"%s\"}", email, pw));
	for (int i = 0; i < 3; i++)
		expect(&lb, 401, "POST", "/api/v1/auth/login", attacker, NULL, wrong);
	/* the attacker now waits: 429 with Retry-After, answered at once */
	assert_int_equal(call(&r, &lb, "POST", "/api/v1/auth/login", attacker, NULL, wrong), 429);
	assert_string_equal(h_json_str(&r, "error.type"), "rate_limit_error");
	assert_non_null(h_resp_header(&r, "Retry-After"));
	assert_true(atoi(h_resp_header(&r, "Retry-After")) >= 1);
	assert_non_null(h_json_str(&r, "request_id"));
	h_resp_free(&r);
	/* the owner, from another address, is not locked out by the attack */
	assert_int_equal(call(&r, &lb, "POST", "/api/v1/auth/login", owner, NULL, right), 200);
	assert_non_null(h_json_str(&r, "token"));
	h_resp_free(&r);

	/* per address: the attacker moving to other accounts is stopped too
	 * (B4_LOGIN_MAX_PER_IP=6 failures in all) */
	for (int i = 0; i < 3; i++)
		expect(&lb, 401, "POST", "/api/v1/auth/login", attacker, NULL,
		       fmt("{\"email\":\"other%d.%d@example.com\",\"password\":\"x-guess\"}", i,
			   (int)getpid()));
	expect(&lb, 429, "POST", "/api/v1/auth/login", attacker, NULL,
	       fmt("{\"email\":\"fresh.%d@example.com\",\"password\":\"x-guess\"}", (int)getpid()));
	/* and the owner still logs in */
	expect(&lb, 200, "POST", "/api/v1/auth/login", owner, NULL, right);
	/* nothing in the table names an address or an email in clear */
	assert_int_equal(
	    sql_int("SELECT COUNT(*) FROM login_failures WHERE key_hash LIKE '%%203.0%%'"
		    " OR key_hash LIKE '%%@%%'"),
	    0);
	free(wrong);
	free(right);
}

/* ---- 3. the account decides on every request ---------------------------- */

static void test_blocked_or_demoted_account_is_refused_at_once(void **state)
{
	static const char admin2[] = "01900000-0000-7000-8000-00000000a002";
	char member[40], pw[64], email[128], auth2[600];
	(void)state;

	assert_int_equal(
	    h_sqlf(db,
		   "INSERT INTO users (id, email, password_hash, full_name, role)"
		   " VALUES ('%s', 'admin2.%d@example.com', 'x', 'Second Admin', 'admin')",
		   admin2, (int)getpid()),
	    0);
	snprintf(auth2, sizeof(auth2), "%s", h_bearer(admin2, "admin"));
	expect(&lb, 200, "GET", "/backoffice/v1/users?limit=1", NULL, auth2, NULL);
	/* blocked by another admin: the same token is refused on the next call */
	expect(&lb, 200, "POST", fmt("/backoffice/v1/users/%s/block", admin2), NULL,
	       h_bearer(ADMIN_ID, "admin"), NULL);
	expect(&lb, 401, "GET", "/backoffice/v1/users?limit=1", NULL, auth2, NULL);
	/* unblocked, then demoted: the token still says admin, the account not */
	expect(&lb, 200, "POST", fmt("/backoffice/v1/users/%s/unblock", admin2), NULL,
	       h_bearer(ADMIN_ID, "admin"), NULL);
	expect(&lb, 200, "GET", "/backoffice/v1/users?limit=1", NULL, auth2, NULL);
	assert_int_equal(h_sqlf(db, "UPDATE users SET role = 'member' WHERE id = '%s'", admin2), 0);
	expect(&lb, 403, "GET", "/backoffice/v1/users?limit=1", NULL, auth2, NULL);

	/* a blocked member loses the members API the same way */
	member_new("blocked-member", member, pw, email);
	snprintf(auth2, sizeof(auth2), "%s", h_bearer(member, "member"));
	expect(&lb, 200, "GET", "/api/v1/me", NULL, auth2, NULL);
	expect(&lb, 200, "POST", fmt("/backoffice/v1/users/%s/block", member), NULL,
	       h_bearer(ADMIN_ID, "admin"), NULL);
	expect(&lb, 401, "GET", "/api/v1/me", NULL, auth2, NULL);
}

/* ---- 4. SSRF forms -------------------------------------------------------- */

static void test_each_ssrf_form_is_refused(void **state)
{
	/* b4-api runs in production here: only global unicast */
	static const char *const refused[] = {
	    "https://[64:ff9b::a9fe:a9fe]/latest/meta-data", /* NAT64 of the metadata service */
	    "https://[64:ff9b::7f00:1]/hook",		     /* NAT64 of loopback */
	    "https://[64:ff9b:1::a00:1]/hook",		     /* local-use NAT64 */
	    "https://[2002:a9fe:a9fe::1]/hook",		     /* 6to4 of the metadata service */
	    "https://[2002:c0a8:101::1]/hook",		     /* 6to4 of 192.168.1.1 */
	    "https://[::ffff:10.0.0.1]/hook",		     /* IPv4-mapped private */
	    "https://[::ffff:a9fe:a9fe]/hook",		     /* IPv4-mapped metadata */
	    "https://[::7f00:1]/hook",			     /* IPv4-compatible loopback */
	    "https://[::a00:1]/hook",			     /* IPv4-compatible private */
	    "https://[fd00:ec2::254]/hook",		     /* metadata over IPv6 */
	    "https://[2001:db8::1]/hook",		     /* documentation */
	    "https://[fc00::1]/hook",			     /* unique local */
	};
	char id[40], pw[64], email[128], auth[600];
	struct h_resp r;
	(void)state;

	member_new("hooks", id, pw, email);
	snprintf(auth, sizeof(auth), "%s", h_bearer(id, "member"));
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		assert_int_equal(
		    call(&r, &lb, "POST", "/api/v1/webhooks", NULL, auth,
			 fmt("{\"url\":\"%s\",\"events\":[\"approved-payment\"]}", refused[i])),
		    422);
		assert_string_equal(h_json_str(&r, "error.code"), "url_not_allowed");
		h_resp_free(&r);
	}
	assert_int_equal(
	    sql_int("SELECT COUNT(*) FROM webhook_endpoints WHERE owner_id = '%s'", id), 0);
	/* a public IPv4 host behind the well-known NAT64 prefix is fine */
	expect(&lb, 201, "POST", "/api/v1/webhooks", NULL, auth,
	       "{\"url\":\"https://[64:ff9b::5db8:d822]/hook\",\"events\":[\"approved-payment\"]}");
}

/* ---- 5. NUL -------------------------------------------------------------- */

static void test_nul_is_refused_never_truncated(void **state)
{
	static const char raw_body[] =
	    "{\"email\":\"nul@example.com\",\"password\":\"long-enough-1\","
	    "\"full_name\":\"Ma\0ria\"}";
	long long before = sql_int("SELECT COUNT(*) FROM users");
	char request[512], *reply;
	struct h_resp r;
	bool closed;
	int n;
	(void)state;

	/* escaped: \u0000 inside a name */
	assert_int_equal(call(&r, &lb, "POST", "/api/v1/auth/signup", NULL, NULL,
			      "{\"email\":\"nul@example.com\",\"password\":\"long-enough-1\","
			      "\"full_name\":\"Ma\\u0000ria\"}"),
			 400);
	assert_string_equal(h_json_str(&r, "error.type"), "invalid_request_error");
	assert_string_equal(h_json_str(&r, "error.code"), "nul_character");
	h_resp_free(&r);
	assert_int_equal(call(&r, &lb, "POST", "/checkout/v1/sessions", NULL, NULL,
			      "{\"offer_code\":\"" OFFER "\",\"email\":\"a@b.co\\u0000x\"}"),
			 400);
	assert_string_equal(h_json_str(&r, "error.code"), "nul_character");
	h_resp_free(&r);
	/* raw: a NUL byte on the wire */
	n = snprintf(
	    request, sizeof(request),
	    "POST /api/v1/auth/signup HTTP/1.1\r\nHost: x\r\nContent-Type: application/json"
	    "\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n",
	    sizeof(raw_body) - 1);
	memcpy(request + n, raw_body, sizeof(raw_body) - 1);
	reply = h_raw(lb.http_port, request, (size_t)n + sizeof(raw_body) - 1, 5000, &closed);
	assert_non_null(reply);
	assert_non_null(strstr(reply, " 400 "));
	assert_non_null(strstr(reply, "nul_character"));
	free(reply);
	assert_int_equal(sql_int("SELECT COUNT(*) FROM users"), before);
}

/* ---- 6. funnel events ---------------------------------------------------- */

static const char *event(const char *session, int n, const char *extra)
{
	return fmt("{\"event_id\":\"trust-%d-%s-%d\",\"event_name\":\"checkout_page_view\","
		   "\"session_id\":\"%s\",\"offer_code\":\"" OFFER "\","
		   "\"timestamp\":\"2026-11-29T03:00:00Z\"%s}",
		   (int)getpid(), session, n, session, extra ? extra : "");
}

static void test_events_are_small_allow_listed_and_limited(void **state)
{
	const char *addr = "198.51.100.60";
	char s1[40], s2[40], *padded;
	long long before;
	struct h_resp r;
	(void)state;

	snprintf(s1, sizeof(s1), "%s", session_from(&lb, addr));
	snprintf(s2, sizeof(s2), "%s", session_from(&lb, addr));
	before = sql_int("SELECT COUNT(*) FROM checkout_events");
	/* more than 4 KiB: refused before anything is stored */
	padded = calloc(1, 6000);
	snprintf(padded, 6000, "%s", event(s1, 0, NULL));
	memmove(padded + 4500, padded, strlen(padded) + 1);
	memset(padded, ' ', 4500);
	assert_int_equal(
	    call(&r, &lb, "POST", "/checkout/v1/events", "198.51.100.61", NULL, padded), 413);
	assert_string_equal(h_json_str(&r, "error.code"), "event_too_large");
	h_resp_free(&r);
	free(padded);
	/* properties outside the allow-list, or of the wrong type, are refused */
	assert_int_equal(call(&r, &lb, "POST", "/checkout/v1/events", "198.51.100.61", NULL,
			      event(s1, 0, ",\"card_number\":\"4111111111111111\"")),
			 400);
	assert_string_equal(h_json_str(&r, "error.code"), "unknown_field");
	assert_string_equal(h_json_str(&r, "error.param"), "card_number");
	h_resp_free(&r);
	expect(&lb, 400, "POST", "/checkout/v1/events", "198.51.100.61", NULL,
	       event(s1, 0, ",\"page_url\":{\"nested\":\"object\"}"));
	expect(&lb, 422, "POST", "/checkout/v1/events", "198.51.100.61", NULL,
	       event(s1, 0, ",\"installments\":99"));
	assert_int_equal(sql_int("SELECT COUNT(*) FROM checkout_events"), before);

	/* per session: 5 events, then 429 */
	for (int i = 1; i <= 5; i++)
		expect(&lb, 204, "POST", "/checkout/v1/events", addr, NULL,
		       event(s1, i, ",\"step\":1,\"payment_method\":\"pix\""));
	assert_int_equal(
	    call(&r, &lb, "POST", "/checkout/v1/events", addr, NULL, event(s1, 6, NULL)), 429);
	assert_string_equal(h_json_str(&r, "error.type"), "rate_limit_error");
	assert_non_null(h_resp_header(&r, "Retry-After"));
	h_resp_free(&r);
	/* per address: the other session from the same address has 2 left */
	expect(&lb, 204, "POST", "/checkout/v1/events", addr, NULL, event(s2, 1, NULL));
	expect(&lb, 204, "POST", "/checkout/v1/events", addr, NULL, event(s2, 2, NULL));
	expect(&lb, 429, "POST", "/checkout/v1/events", addr, NULL, event(s2, 3, NULL));
	/* another buyer is not affected */
	expect(&lb, 204, "POST", "/checkout/v1/events", "198.51.100.62", NULL, event(s2, 4, NULL));
	assert_int_equal(sql_int("SELECT COUNT(*) FROM checkout_events"), before + 8);
	assert_int_equal(sql_int("SELECT COUNT(*) FROM checkout_events WHERE session_id = '%s'"
				 " AND JSON_VALUE(properties, '$.payment_method') = 'pix'",
				 s1),
			 5);
}

/* ---- 7. coupon checks ------------------------------------------------------ */

static void test_coupon_checks_are_limited(void **state)
{
	const char *addr = "198.51.100.80";
	const char *path = "/checkout/v1/offers/" OFFER "/coupons/" COUPON;
	char session[40];
	struct h_resp r;
	(void)state;

	snprintf(session, sizeof(session), "%s", session_from(&lb, addr));
	/* per session: 3 checks */
	for (int i = 0; i < 3; i++)
		expect(&lb, 200, "GET", fmt("%s?session_id=%s", path, session), addr, NULL, NULL);
	assert_int_equal(
	    call(&r, &lb, "GET", fmt("%s?session_id=%s", path, session), addr, NULL, NULL), 429);
	assert_string_equal(h_json_str(&r, "error.type"), "rate_limit_error");
	assert_string_equal(h_json_str(&r, "error.code"), "rate_limited");
	assert_true(atoi(h_resp_header(&r, "Retry-After")) >= 1);
	h_resp_free(&r);
	/* per address: 6 checks in all, with or without a session */
	expect(&lb, 200, "GET", path, addr, NULL, NULL);
	expect(&lb, 200, "GET", path, addr, NULL, NULL);
	expect(&lb, 429, "GET", path, addr, NULL, NULL);
	expect(&lb, 429, "GET", fmt("/checkout/v1/offers/" OFFER "/coupons/GUESS%d", 1), addr, NULL,
	       NULL);
	/* another buyer still checks its coupon */
	expect(&lb, 200, "GET", path, "198.51.100.81", NULL, NULL);
	/* a forged session id is a client error, not a free counter */
	expect(&lb, 422, "GET", fmt("%s?session_id=nope", path), "198.51.100.82", NULL, NULL);
}

/* ---- 8. antifraud a person trying the platform understands ------------- */

static void test_development_test_cards_and_antifraud_message(void **state)
{
	char payment[256], *token;
	struct h_resp r;
	(void)state;

	/* B4_FRAUD_CARD_MAX=2: the approved test card is used four times */
	for (int i = 0; i < 4; i++) {
		token = card_token(&dev_gw, "4111111111111111", "198.51.100.90");
		snprintf(payment, sizeof(payment), "{\"method\":\"card\",\"card_token\":\"%s\"}",
			 token);
		if (order_from(&r, &dev_gw, "198.51.100.90", fmt("tester%d@example.com", i),
			       400 + (unsigned)i, payment) != 201)
			fail_msg("order %d: %ld %s", i, r.status, r.body);
		assert_string_equal(h_json_str(&r, "status"), "paid");
		h_resp_free(&r);
		free(token);
	}
	/* the declined test card answers card_declined every time, never
	 * fraud_suspected (card_declines would fire at the third) */
	for (int i = 0; i < 4; i++) {
		token = card_token(&dev_gw, "4000000000000002", "198.51.100.91");
		snprintf(payment, sizeof(payment), "{\"method\":\"card\",\"card_token\":\"%s\"}",
			 token);
		assert_int_equal(order_from(&r, &dev_gw, "198.51.100.91",
					    fmt("decliner%d@example.com", i), 410 + (unsigned)i,
					    payment),
				 402);
		assert_string_equal(h_json_str(&r, "error.code"), "card_declined");
		h_resp_free(&r);
		free(token);
	}
	/* a real antifraud refusal says so, without naming the rule: the same
	 * e-mail and CPF a third time (B4_FRAUD_EMAIL_MAX=2, DOCUMENT_MAX=2) */
	for (int i = 0; i < 2; i++) {
		assert_int_equal(order_from(&r, &dev_gw, "198.51.100.92", "same@example.com", 420,
					    "{\"method\":\"pix\"}"),
				 201);
		h_resp_free(&r);
	}
	assert_int_equal(order_from(&r, &dev_gw, "198.51.100.92", "same@example.com", 420,
				    "{\"method\":\"pix\"}"),
			 402);
	assert_string_equal(h_json_str(&r, "error.code"), "fraud_suspected");
	assert_non_null(strstr(h_json_str(&r, "error.message"), "antifraud"));
	assert_null(strstr(r.body, "velocity"));
	assert_null(strstr(r.body, "email"));
	assert_null(strstr(r.body, "document"));
	h_resp_free(&r);
}

/* ---- 9. objects at rest: SSE on S3 puts ---------------------------------- */

static void test_s3_puts_ask_for_server_side_encryption(void **state)
{
	struct gw_backend *fake_s3 = gw_backend_start("s3");
	char endpoint[64], err[256], head[16384];
	struct b4_storage_config cfg = {
	    .backend = B4_STORAGE_S3,
	    .bucket = "b4-test",
	    .endpoint = endpoint,
	    .region = "us-east-1",
	    .path_style = true,
	    .access_key_id = "AKIDEXAMPLE",
	    .secret_access_key = "secret-example-key",
	};
	struct b4_storage *st;
	(void)state;

	assert_non_null(fake_s3);
	snprintf(endpoint, sizeof(endpoint), "http://127.0.0.1:%d", fake_s3->port);
	st = b4_storage_new(&cfg, err, sizeof(err));
	assert_non_null(st);
	assert_int_equal(b4_storage_put(st, "invoices/x.xml", "<a/>", 4, "application/xml"), 0);
	gw_backend_last_head(fake_s3, head, sizeof(head));
	assert_non_null(strstr(head, "PUT /b4-test/invoices/x.xml"));
	assert_non_null(strstr(head, "x-amz-server-side-encryption: AES256"));
	b4_storage_free(st);
	gw_backend_stop(fake_s3);
	gw_backend_free(fake_s3);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_two_buyers_behind_a_trusted_proxy_are_two_clients),
	    cmocka_unit_test(test_untrusted_peer_cannot_choose_its_address),
	    cmocka_unit_test(test_owner_logs_in_while_an_attacker_is_throttled),
	    cmocka_unit_test(test_blocked_or_demoted_account_is_refused_at_once),
	    cmocka_unit_test(test_each_ssrf_form_is_refused),
	    cmocka_unit_test(test_nul_is_refused_never_truncated),
	    cmocka_unit_test(test_events_are_small_allow_listed_and_limited),
	    cmocka_unit_test(test_coupon_checks_are_limited),
	    cmocka_unit_test(test_development_test_cards_and_antifraud_message),
	    cmocka_unit_test(test_s3_puts_ask_for_server_side_encryption),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
