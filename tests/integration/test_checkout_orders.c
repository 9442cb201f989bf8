/* test_checkout_orders.c - the money path over HTTP: b4-checkout against the
 * real b4-acquirer-sandbox and MariaDB.  Offers, sessions, events, card
 * orders with installments, bump, coupon and affiliate (splits add up),
 * declines, Pix and boleto with callbacks (replays change nothing),
 * idempotency (replay, other body, 50 concurrent requests), a timing-out
 * acquirer, multi-acquirer failover, antifraud, refused input leaving the
 * database unchanged, and no card data in the database or the logs. */
#include "harness.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "b4/br.h"
#include "b4/crypto.h"

#define SECRET "acquirer-secret-for-tests-0123456789abcdef"

static const char *db;
static struct h_proc sandbox, checkout;
static char sandbox_env_url[128];

/* Starts a checkout pointed at acquirers, with extra env entries. */
static int start_checkout(struct h_proc *p, const char *acquirers, const char *extra1,
			  const char *extra2)
{
	static char port_env[64], cb_env[128], acq_env[512];
	const char *env[10];
	int port = h_free_port(), n = 0;

	snprintf(port_env, sizeof(port_env), "B4_PORT=%d", port);
	snprintf(cb_env, sizeof(cb_env), "B4_CHECKOUT_CALLBACK_URL=http://127.0.0.1:%d", port);
	snprintf(acq_env, sizeof(acq_env), "B4_ACQUIRERS=%s", acquirers);
	env[n++] = "B4_ACQUIRER_SECRET=" SECRET;
	env[n++] = port_env;
	env[n++] = cb_env;
	env[n++] = acq_env;
	env[n++] = "B4_ACQUIRER_TIMEOUT=1s";
	/* every test order comes from 127.0.0.1 */
	env[n++] = "B4_FRAUD_IP_MAX=100000";
	if (extra1)
		env[n++] = extra1;
	if (extra2)
		env[n++] = extra2;
	env[n] = NULL;
	return h_start(p, "b4-checkout", db, env);
}

static int group_setup(void **state)
{
	const char *sb_env[] = {"B4_ACQUIRER_SECRET=" SECRET, "B4_SANDBOX_HANG_SECONDS=3", NULL};
	(void)state;

	db = h_db_create("b4_checkout", true);
	if (!db || h_start(&sandbox, "b4-acquirer-sandbox", NULL, sb_env) < 0)
		return -1;
	snprintf(sandbox_env_url, sizeof(sandbox_env_url), "sandbox=http://127.0.0.1:%d",
		 sandbox.port);
	/* the velocity rules are exercised by their own checkout below */
	return start_checkout(&checkout, sandbox_env_url, "B4_FRAUD_CARD_MAX=1000",
			      "B4_FRAUD_EMAIL_MAX=1000");
}

static int group_teardown(void **state)
{
	(void)state;
	h_stop(&checkout, SIGTERM, 10000);
	h_stop(&sandbox, SIGTERM, 10000);
	return 0;
}

/* ---- helpers ------------------------------------------------------------- */

static long post(struct h_resp *r, struct h_proc *p, const char *path, const char *key,
		 const char *body)
{
	char header[400];
	const char *headers[] = {header, "Content-Type: application/json", NULL};
	const char *no_key[] = {"Content-Type: application/json", NULL};

	snprintf(header, sizeof(header), "Idempotency-Key: %s", key ? key : "");
	assert_int_equal(h_http(r, "POST", h_url(p, path), body, key ? headers : no_key), 0);
	return r->status;
}

static long sandbox_call(struct h_resp *r, const char *method, const char *path)
{
	const char *headers[] = {"Authorization: Bearer " SECRET, "Content-Type: application/json",
				 NULL};
	assert_int_equal(
	    h_http(r, method, h_url(&sandbox, path), method[0] == 'P' ? "{}" : NULL, headers), 0);
	return r->status;
}

static char *tokenize(struct h_proc *p, const char *number)
{
	struct h_resp r;
	char body[256];
	char *token;

	snprintf(body, sizeof(body),
		 "{\"number\":\"%s\",\"holder_name\":\"Maria Compradora\",\"exp_month\":12,"
		 "\"exp_year\":2031,\"cvv\":\"123\"}",
		 number);
	assert_int_equal(post(&r, p, "/v1/card-tokens", NULL, body), 201);
	assert_non_null(h_json_str(&r, "token"));
	assert_string_equal(h_json_str(&r, "last4"), number + strlen(number) - 4);
	assert_null(strstr(r.body, number));
	token = strdup(h_json_str(&r, "token"));
	h_resp_free(&r);
	return token;
}

/* Card tokens are single use (card_tokens.c): a fresh token for the next
 * order, written as a card payment into card[256]. */
static void card_payment_fresh(struct h_proc *p, const char *number, char card[256])
{
	char *token = tokenize(p, number);
	snprintf(card, 256, "{\"method\":\"card\",\"card_token\":\"%s\"}", token);
	free(token);
}

/* A token bound to a checkout session, as the page makes them. */
static char *tokenize_for_session(struct h_proc *p, const char *number, const char *session)
{
	struct h_resp r;
	char body[300];
	char *token;

	snprintf(body, sizeof(body),
		 "{\"number\":\"%s\",\"holder_name\":\"Maria Compradora\",\"exp_month\":12,"
		 "\"exp_year\":2031,\"cvv\":\"123\",\"session_id\":\"%s\"}",
		 number, session);
	assert_int_equal(post(&r, p, "/v1/card-tokens", NULL, body), 201);
	token = strdup(h_json_str(&r, "token"));
	h_resp_free(&r);
	return token;
}

static char key_counter_buf[64];
static const char *new_key(void)
{
	static unsigned n;
	snprintf(key_counter_buf, sizeof(key_counter_buf), "key-%d-%u-%ld", (int)getpid(), ++n,
		 (long)time(NULL));
	return key_counter_buf;
}

#define make_cpf h_make_cpf

static char *order_body(const char *email, unsigned cpf_seed, const char *payment,
			const char *extra)
{
	static char body[2048];
	char cpf[12];

	make_cpf(cpf_seed, cpf);
	snprintf(
	    body, sizeof(body),
	    "{\"offer_code\":\"DEMOOFFER1\"%s,\"customer\":{\"full_name\":\"Maria Compradora\","
	    "\"email\":\"%s\",\"document\":\"%s\",\"phone\":\"+55 (11) 98765-4321\"},"
	    "\"payment\":%s}",
	    extra ? extra : "", email, cpf, payment);
	return body;
}

#define sql_int(...) h_sql_intf(db, __VA_ARGS__)

/* ---- tests ---------------------------------------------------------------- */

static void test_offer_page_installments_coupon(void **state)
{
	struct h_resp r;
	(void)state;

	assert_int_equal(h_http(&r, "GET", h_url(&checkout, "/v1/offers/DEMOOFFER1"), NULL, NULL),
			 0);
	assert_int_equal(r.status, 200);
	assert_string_equal(h_json_str(&r, "producer_name"), "Paula Produtora");
	assert_non_null(strstr(r.body, "\"bumps\":[{\"code\":\"DEMOBUMP01\""));
	assert_non_null(strstr(r.body, "\"payment_methods\":[\"card\",\"pix\",\"boleto\"]"));
	assert_non_null(strstr(r.body, "\"coupons_allowed\":true"));
	h_resp_free(&r);

	assert_int_equal(
	    h_http(&r, "GET", h_url(&checkout, "/v1/offers/DEMOOFFER1/installments"), NULL, NULL),
	    0);
	assert_int_equal(r.status, 200);
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(r.json, "data")), 12);
	{
		cJSON *third = cJSON_GetArrayItem(cJSON_GetObjectItem(r.json, "data"), 2);
		cJSON *fourth = cJSON_GetArrayItem(cJSON_GetObjectItem(r.json, "data"), 3);
		assert_true(cJSON_IsTrue(cJSON_GetObjectItem(third, "interest_free")));
		assert_int_equal(cJSON_GetObjectItem(third, "total_cents")->valueint, 29700);
		assert_true(cJSON_IsFalse(cJSON_GetObjectItem(fourth, "interest_free")));
		assert_true(cJSON_GetObjectItem(fourth, "total_cents")->valueint > 29700);
	}
	h_resp_free(&r);

	assert_int_equal(h_http(&r, "GET",
				h_url(&checkout, "/v1/offers/DEMOOFFER1/coupons/BEMVINDO10"), NULL,
				NULL),
			 0);
	assert_int_equal(r.status, 200);
	assert_non_null(strstr(r.body, "\"valid\":true"));
	assert_non_null(strstr(r.body, "\"discount_cents\":2970"));
	h_resp_free(&r);
	assert_int_equal(
	    h_http(&r, "GET", h_url(&checkout, "/v1/offers/DEMOOFFER1/coupons/NOPE"), NULL, NULL),
	    0);
	assert_non_null(strstr(r.body, "\"valid\":false"));
	assert_string_equal(h_json_str(&r, "reason"), "coupon_not_found");
	h_resp_free(&r);
	/* the bump offer does not take coupons */
	assert_int_equal(h_http(&r, "GET",
				h_url(&checkout, "/v1/offers/DEMOBUMP01/coupons/BEMVINDO10"), NULL,
				NULL),
			 0);
	assert_string_equal(h_json_str(&r, "reason"), "coupons_not_allowed");
	h_resp_free(&r);
	assert_int_equal(h_http(&r, "GET", h_url(&checkout, "/v1/offers/NOTANOFFER"), NULL, NULL),
			 0);
	assert_int_equal(r.status, 404);
	h_resp_free(&r);
}

static void test_sessions_and_funnel_events(void **state)
{
	static const char *const names[] = {"checkout_page_view",
					    "checkout_session_started",
					    "checkout_identification_filled",
					    "checkout_payment_method_selected",
					    "checkout_coupon_applied",
					    "checkout_order_bump_added",
					    "checkout_submit_clicked",
					    "checkout_conversion_success",
					    "checkout_conversion_failed"};
	struct h_resp r;
	char session[37], body[512];
	long long before;
	(void)state;

	assert_int_equal(post(&r, &checkout, "/v1/sessions", NULL,
			      "{\"offer_code\":\"DEMOOFFER1\",\"email\":\"lead@example.com\","
			      "\"ref\":\"DEMOREF01\",\"utm_source\":\"ig\"}"),
			 201);
	assert_non_null(strstr(r.body, "\"affiliated\":true"));
	snprintf(session, sizeof(session), "%s", h_json_str(&r, "id"));
	h_resp_free(&r);
	assert_int_equal(sql_int("SELECT COUNT(*) FROM checkout_sessions WHERE id = '%s'"
				 " AND affiliation_id = '01900000-0000-7000-8000-000000000301'",
				 session),
			 1);

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(
		    body, sizeof(body),
		    "{\"event_id\":\"ev-%d-%zu\",\"event_name\":\"%s\",\"session_id\":\"%s\","
		    "\"offer_code\":\"DEMOOFFER1\",\"timestamp\":\"2026-11-29T03:00:0%zu.5-03:00\","
		    "\"step\":%zu}",
		    (int)getpid(), i, names[i], session, i, i);
		assert_int_equal(post(&r, &checkout, "/v1/events", NULL, body), 204);
		h_resp_free(&r);
	}
	/* a resent event is stored once */
	assert_int_equal(post(&r, &checkout, "/v1/events", NULL, body), 204);
	h_resp_free(&r);
	assert_int_equal(
	    sql_int("SELECT COUNT(*) FROM checkout_events WHERE session_id = '%s'", session), 9);
	assert_int_equal(sql_int("SELECT COUNT(*) FROM checkout_events WHERE session_id = '%s'"
				 " AND occurred_at = '2026-11-29 06:00:00.500000'",
				 session),
			 1);
	before = sql_int("SELECT COUNT(*) FROM checkout_events");
	assert_int_equal(
	    post(&r, &checkout, "/v1/events", NULL,
		 "{\"event_id\":\"x1\",\"event_name\":\"checkout_magic\","
		 "\"offer_code\":\"DEMOOFFER1\",\"timestamp\":\"2026-11-29T03:00:00Z\"}"),
	    400);
	assert_string_equal(h_json_str(&r, "error.param"), "event_name");
	h_resp_free(&r);
	assert_int_equal(post(&r, &checkout, "/v1/events", NULL,
			      "{\"event_id\":\"x2\",\"event_name\":\"checkout_page_view\","
			      "\"offer_code\":\"DEMOOFFER1\",\"timestamp\":\"yesterday\"}"),
			 422);
	h_resp_free(&r);
	assert_int_equal(sql_int("SELECT COUNT(*) FROM checkout_events"), before);
}

/* Runs the SQL (printf format) on the test database; it must succeed. */
#define sql_run(...) assert_int_equal(h_sqlf(db, __VA_ARGS__), 0)

/* A Pix order with the cart session and ref SECONDREF goes to affiliate
 * want ("" for none). */
static void assert_order_goes_to(const char *session, unsigned seed, const char *want)
{
	struct h_resp r;
	char extra[160], sql[160];
	char *got;

	snprintf(extra, sizeof(extra), ",\"session_id\":\"%s\",\"ref\":\"SECONDREF\"", session);
	assert_int_equal(
	    post(&r, &checkout, "/v1/orders", new_key(),
		 order_body("clicks@example.com", seed, "{\"method\":\"pix\"}", extra)),
	    201);
	snprintf(sql, sizeof(sql), "SELECT COALESCE(affiliate_id, '') FROM orders WHERE id = '%s'",
		 h_json_str(&r, "id"));
	h_resp_free(&r);
	got = h_sql_value(db, sql);
	assert_non_null(got);
	assert_string_equal(got, want);
	free(got);
}

/* Two affiliates' clicks on one sale: the cart was opened through
 * DEMOREF01 (affiliate A), the order comes through SECONDREF (affiliate B).
 * last_click gives it to B, first_click to A while A's click is within the
 * cookie window and A still an active affiliate, else to B. */
static void test_first_or_last_click(void **state)
{
	static const char affiliate_a[] = "01900000-0000-7000-8000-000000000002";
	static const char affiliate_b[] = "01900000-0000-7000-8000-00000000b002";
	static const char product[] = "01900000-0000-7000-8000-000000000101";
	struct h_resp r;
	char session[37];
	(void)state;

	sql_run(
	    "INSERT INTO users (id, email, password_hash, full_name, role, status) VALUES"
	    " ('%s', 'second-affiliate@example.com', 'x', 'Bruno Afiliado', 'member', 'active');"
	    "INSERT INTO affiliations (id, product_id, affiliate_id, ref, status, decided_at)"
	    " VALUES (UUID(), '%s', '%s', 'SECONDREF', 'approved', UTC_TIMESTAMP(6))",
	    affiliate_b, product, affiliate_b);
	assert_int_equal(post(&r, &checkout, "/v1/sessions", NULL,
			      "{\"offer_code\":\"DEMOOFFER1\",\"ref\":\"DEMOREF01\"}"),
			 201);
	snprintf(session, sizeof(session), "%s", h_json_str(&r, "id"));
	h_resp_free(&r);

	assert_order_goes_to(session, 401, affiliate_b); /* the seed's product: last_click */
	sql_run("UPDATE products SET affiliate_attribution = 'first_click' WHERE id = '%s'",
		product);
	assert_order_goes_to(session, 402, affiliate_a);
	/* A's click out of the 60-day window: B's counts */
	sql_run("UPDATE checkout_sessions SET created_at = UTC_TIMESTAMP(6) - INTERVAL 61 DAY"
		" WHERE id = '%s'",
		session);
	assert_order_goes_to(session, 403, affiliate_b);
	/* within the window again, but A is blocked: B's counts */
	sql_run("UPDATE checkout_sessions SET created_at = UTC_TIMESTAMP(6) WHERE id = '%s';"
		"UPDATE users SET status = 'blocked' WHERE id = '%s'",
		session, affiliate_a);
	assert_order_goes_to(session, 404, affiliate_b);

	/* the demo data as the other tests expect it */
	sql_run("UPDATE users SET status = 'active' WHERE id = '%s';"
		"UPDATE products SET affiliate_attribution = 'last_click' WHERE id = '%s';"
		"UPDATE affiliations SET status = 'blocked' WHERE ref = 'SECONDREF'",
		affiliate_a, product);
}

static void test_card_order_installments_bump_coupon_affiliate(void **state)
{
	struct h_resp r, again;
	char *token;
	char payment[256], key[64], order[37], access[80], path[256], session[37];
	const char *body;
	(void)state;

	assert_int_equal(post(&r, &checkout, "/v1/sessions", NULL,
			      "{\"offer_code\":\"DEMOOFFER1\",\"email\":\"buyer1@example.com\"}"),
			 201);
	snprintf(session, sizeof(session), "%s", h_json_str(&r, "id"));
	h_resp_free(&r);
	token = tokenize_for_session(&checkout, "4111111111111111", session);
	snprintf(payment, sizeof(payment),
		 "{\"method\":\"card\",\"card_token\":\"%s\",\"installments\":3}", token);
	{
		char extra[256];
		snprintf(extra, sizeof(extra),
			 ",\"session_id\":\"%s\",\"bump_codes\":[\"DEMOBUMP01\"],"
			 "\"coupon\":\"BEMVINDO10\",\"ref\":\"DEMOREF01\"",
			 session);
		body = strdup(order_body("buyer1@example.com", 11, payment, extra));
	}
	snprintf(key, sizeof(key), "%s", new_key());
	assert_int_equal(post(&r, &checkout, "/v1/orders", key, body), 201);
	assert_string_equal(h_json_str(&r, "status"), "paid");
	assert_string_equal(h_json_str(&r, "card.last4"), "1111");
	assert_int_equal(cJSON_GetObjectItem(r.json, "subtotal_cents")->valueint, 34400);
	assert_int_equal(cJSON_GetObjectItem(r.json, "discount_cents")->valueint, 2970);
	assert_int_equal(cJSON_GetObjectItem(r.json, "interest_cents")->valueint, 0);
	assert_int_equal(cJSON_GetObjectItem(r.json, "total_cents")->valueint, 31430);
	assert_int_equal(cJSON_GetObjectItem(r.json, "installments")->valueint, 3);
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(r.json, "items")), 2);
	assert_null(h_resp_header(&r, "Idempotent-Replayed"));
	snprintf(order, sizeof(order), "%s", h_json_str(&r, "id"));
	snprintf(access, sizeof(access), "%s", h_json_str(&r, "access_token"));

	/* the replay is the stored answer, byte for byte */
	assert_int_equal(post(&again, &checkout, "/v1/orders", key, body), 201);
	assert_string_equal(h_resp_header(&again, "Idempotent-Replayed"), "true");
	assert_string_equal(again.body, r.body);
	h_resp_free(&again);
	/* and stays so when the request itself would now be refused: its card
	 * token has expired (the key is not read before the order's checks,
	 * but a refusal answers as the key's first request did) */
	sql_run("UPDATE card_tokens SET expires_at = UTC_TIMESTAMP(6) - INTERVAL 1 SECOND"
		" WHERE session_id = '%s'",
		session);
	assert_int_equal(post(&again, &checkout, "/v1/orders", key, body), 201);
	assert_string_equal(h_resp_header(&again, "Idempotent-Replayed"), "true");
	assert_string_equal(again.body, r.body);
	h_resp_free(&again);
	h_resp_free(&r);
	/* the same key with another body is refused (here the expired token
	 * would refuse it first: the key's answer wins) */
	assert_int_equal(post(&r, &checkout, "/v1/orders", key,
			      order_body("buyer1@example.com", 12, payment, NULL)),
			 422);
	assert_string_equal(h_json_str(&r, "error.type"), "idempotency_error");
	h_resp_free(&r);
	assert_int_equal(sql_int("SELECT COUNT(*) FROM orders WHERE customer_id IN"
				 " (SELECT id FROM customers WHERE email = 'buyer1@example.com')"),
			 1);

	/* splits: platform 9.9% + R$1, affiliate 40% of the rest, producer the remainder */
	assert_int_equal(
	    sql_int("SELECT SUM(amount_cents) FROM splits WHERE order_id = '%s'", order), 31430);
	assert_int_equal(sql_int("SELECT amount_cents FROM splits WHERE order_id = '%s'"
				 " AND party = 'platform'",
				 order),
			 3111 + 100);
	assert_int_equal(sql_int("SELECT amount_cents FROM splits WHERE order_id = '%s'"
				 " AND party = 'affiliate'"
				 " AND user_id = '01900000-0000-7000-8000-000000000002'",
				 order),
			 (31430 - 3211) * 4000 / 10000);
	assert_int_equal(sql_int("SELECT amount_cents FROM splits WHERE order_id = '%s'"
				 " AND party = 'producer'",
				 order),
			 31430 - 3211 - 11287);
	assert_int_equal(sql_int("SELECT COUNT(*) FROM splits WHERE order_id = '%s'"
				 " AND release_at > UTC_TIMESTAMP(6) + INTERVAL 6 DAY",
				 order),
			 3);
	/* released the product's guarantee after the payment, to the microsecond */
	assert_int_equal(sql_int("SELECT COUNT(*) FROM splits s JOIN orders o ON o.id = s.order_id"
				 " JOIN products p ON p.id = o.product_id WHERE s.order_id = '%s'"
				 " AND s.release_at = o.paid_at + INTERVAL p.guarantee_days DAY",
				 order),
			 3);
	assert_int_equal(
	    sql_int("SELECT COUNT(*) FROM charges WHERE order_id = '%s'"
		    " AND status = 'approved' AND amount_cents = 31430 AND installments = 3",
		    order),
	    1);
	/* the events the workers consume, once each and per recipient (#11):
	 * the producer gets the order and its buyer, the affiliate only its
	 * own part - no totals, no buyer, no card */
	assert_int_equal(sql_int("SELECT COUNT(*) FROM jobs WHERE dedup_key = 'approved-payment:%s'"
				 " AND type = 'webhook.event'"
				 " AND JSON_VALUE(payload, '$.owner_id') ="
				 " '01900000-0000-7000-8000-000000000001'"
				 " AND JSON_VALUE(payload, '$.event_id') IS NOT NULL"
				 " AND JSON_VALUE(payload, '$.data.total_cents') = 31430"
				 " AND JSON_VALUE(payload, '$.data.customer.email') IS NOT NULL",
				 order),
			 1);
	assert_int_equal(sql_int("SELECT COUNT(*) FROM jobs WHERE type = 'webhook.event'"
				 " AND dedup_key = 'approved-payment:%s:"
				 "01900000-0000-7000-8000-000000000002'"
				 " AND JSON_VALUE(payload, '$.owner_id') ="
				 " '01900000-0000-7000-8000-000000000002'"
				 " AND JSON_VALUE(payload, '$.data.role') = 'affiliate'"
				 " AND JSON_VALUE(payload, '$.data.amount_cents') = %d"
				 " AND JSON_EXISTS(payload, '$.data.total_cents') = 0"
				 " AND JSON_EXISTS(payload, '$.data.customer') = 0"
				 " AND JSON_EXISTS(payload, '$.data.card') = 0",
				 order, (31430 - 3211) * 4000 / 10000),
			 1);
	assert_int_equal(sql_int("SELECT COUNT(*) FROM jobs WHERE dedup_key = 'invoice:%s'"
				 " AND type = 'invoice.issue'",
				 order),
			 1);
	assert_int_equal(sql_int("SELECT COUNT(*) FROM jobs WHERE type = 'commission.release'"
				 " AND JSON_VALUE(payload, '$.order_id') = '%s'"
				 " AND run_at > UTC_TIMESTAMP(6) + INTERVAL 6 DAY",
				 order),
			 1);
	assert_int_equal(sql_int("SELECT uses FROM coupons WHERE code = 'BEMVINDO10'"), 1);
	/* the document is encrypted, found by its blind index */
	assert_int_equal(sql_int("SELECT COUNT(*) FROM customers WHERE email = 'buyer1@example.com'"
				 " AND document_enc LIKE 'v1.%%' AND LENGTH(document_bidx) = 64"),
			 1);

	/* polling needs the access token */
	snprintf(path, sizeof(path), "/v1/orders/%s?access_token=%s", order, access);
	assert_int_equal(h_http(&r, "GET", h_url(&checkout, path), NULL, NULL), 0);
	assert_int_equal(r.status, 200);
	assert_string_equal(h_json_str(&r, "status"), "paid");
	assert_null(h_json_str(&r, "access_token"));
	h_resp_free(&r);
	snprintf(path, sizeof(path), "/v1/orders/%s?access_token=%064d", order, 0);
	assert_int_equal(h_http(&r, "GET", h_url(&checkout, path), NULL, NULL), 0);
	assert_int_equal(r.status, 404);
	h_resp_free(&r);

	/* thank-you page: access and the one-click upsell */
	snprintf(path, sizeof(path), "/v1/orders/%s/delivery?access_token=%s", order, access);
	assert_int_equal(h_http(&r, "GET", h_url(&checkout, path), NULL, NULL), 0);
	assert_int_equal(r.status, 200);
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(r.json, "access")), 2);
	assert_string_equal(h_json_str(&r, "upsell.offer_code"), "DEMOUPSEL1");
	assert_non_null(strstr(r.body, "\"one_click\":true"));
	h_resp_free(&r);

	/* one-click upsell on the same card */
	snprintf(path, sizeof(path), "/v1/orders/%s/upsell?access_token=%s", order, access);
	snprintf(key, sizeof(key), "%s", new_key());
	assert_int_equal(post(&r, &checkout, path, key, "{\"offer_code\":\"DEMOUPSEL1\"}"), 201);
	assert_string_equal(h_json_str(&r, "status"), "paid");
	assert_string_equal(h_json_str(&r, "parent_order_id"), order);
	assert_string_equal(h_json_str(&r, "payment_method"), "card");
	assert_int_equal(cJSON_GetObjectItem(r.json, "total_cents")->valueint, 9700);
	{
		const char *upsell_id = h_json_str(&r, "id");
		assert_int_equal(
		    sql_int("SELECT SUM(amount_cents) FROM splits WHERE order_id = '%s'",
			    upsell_id),
		    9700);
		assert_int_equal(sql_int("SELECT COUNT(*) FROM order_items WHERE order_id = '%s'"
					 " AND type = 'upsell'",
					 upsell_id),
				 1);
	}
	h_resp_free(&r);
	/* a second upsell with a new key is refused */
	assert_int_equal(post(&r, &checkout, path, new_key(), "{\"offer_code\":\"DEMOUPSEL1\"}"),
			 409);
	h_resp_free(&r);
	free(token);
	free((char *)body);
}

static void test_declined_card_refuses_order(void **state)
{
	struct h_resp r;
	char *token = tokenize(&checkout, "4000000000000002");
	char payment[256];
	const char *order;
	(void)state;

	snprintf(payment, sizeof(payment), "{\"method\":\"card\",\"card_token\":\"%s\"}", token);
	assert_int_equal(post(&r, &checkout, "/v1/orders", new_key(),
			      order_body("declined@example.com", 21, payment, NULL)),
			 402);
	assert_string_equal(h_json_str(&r, "error.type"), "card_error");
	assert_string_equal(h_json_str(&r, "error.code"), "card_declined");
	order = h_json_str(&r, "error.order_id");
	assert_non_null(order);
	assert_int_equal(
	    sql_int("SELECT COUNT(*) FROM orders WHERE id = '%s' AND status = 'refused'", order),
	    1);
	assert_int_equal(sql_int("SELECT COUNT(*) FROM charges WHERE order_id = '%s'"
				 " AND status = 'declined' AND decline_code = 'card_declined'",
				 order),
			 1);
	assert_int_equal(
	    sql_int("SELECT COUNT(*) FROM jobs WHERE dedup_key = 'refused-payment:%s'", order), 1);
	h_resp_free(&r);
	free(token);

	/* the only acquirer fails (5xx): 502, the order refused, nothing charged */
	token = tokenize(&checkout, "4000000000000119");
	snprintf(payment, sizeof(payment), "{\"method\":\"card\",\"card_token\":\"%s\"}", token);
	assert_int_equal(post(&r, &checkout, "/v1/orders", new_key(),
			      order_body("acquirer-down@example.com", 22, payment, NULL)),
			 502);
	assert_string_equal(h_json_str(&r, "error.code"), "acquirer_unavailable");
	assert_int_equal(
	    sql_int("SELECT COUNT(*) FROM orders o JOIN charges c ON c.order_id = o.id"
		    " WHERE o.id = '%s' AND o.status = 'refused' AND c.status = 'error'",
		    h_json_str(&r, "error.order_id")),
	    1);
	h_resp_free(&r);
	free(token);
}

static void test_pix_order_callback_and_replay(void **state)
{
	struct h_resp r, cb;
	struct b4_br_pix_info info;
	char order[37], access[80], path[256], payload[600];
	long long jobs_before;
	char *paid_at;
	(void)state;

	assert_int_equal(post(&r, &checkout, "/v1/orders", new_key(),
			      order_body("pix@example.com", 31, "{\"method\":\"pix\"}", NULL)),
			 201);
	assert_string_equal(h_json_str(&r, "status"), "waiting_payment");
	snprintf(payload, sizeof(payload), "%s", h_json_str(&r, "pix.payload"));
	assert_non_null(h_json_str(&r, "pix.expires_at"));
	snprintf(order, sizeof(order), "%s", h_json_str(&r, "id"));
	snprintf(access, sizeof(access), "%s", h_json_str(&r, "access_token"));
	h_resp_free(&r);
	assert_int_equal(b4_br_pix_parse(payload, strlen(payload), &info), 0);
	assert_int_equal(info.amount_cents, 29700);
	assert_int_equal(
	    sql_int("SELECT COUNT(*) FROM jobs WHERE dedup_key = 'generated-pix:%s'", order), 1);
	assert_int_equal(sql_int("SELECT COUNT(*) FROM jobs WHERE type = 'order.expire'"
				 " AND JSON_VALUE(payload, '$.order_id') = '%s'"
				 " AND run_at > UTC_TIMESTAMP(6) + INTERVAL 20 MINUTE",
				 order),
			 1);

	/* pix -> card upsell is never one-click */
	snprintf(path, sizeof(path), "/v1/orders/%s/upsell?access_token=%s", order, access);
	assert_int_equal(post(&r, &checkout, path, new_key(),
			      "{\"offer_code\":\"DEMOUPSEL1\",\"payment_method\":\"card\"}"),
			 422);
	assert_string_equal(h_json_str(&r, "error.code"), "one_click_not_allowed");
	h_resp_free(&r);

	/* the buyer pays: the sandbox sends its signed callback */
	snprintf(path, sizeof(path), "/control/pix/%s/pay", info.txid);
	assert_int_equal(sandbox_call(&cb, "POST", path), 200);
	assert_int_equal(cJSON_GetObjectItem(cb.json, "callback_status")->valueint, 200);
	h_resp_free(&cb);
	snprintf(path, sizeof(path), "/v1/orders/%s?access_token=%s", order, access);
	assert_int_equal(h_http(&r, "GET", h_url(&checkout, path), NULL, NULL), 0);
	assert_string_equal(h_json_str(&r, "status"), "paid");
	h_resp_free(&r);
	assert_int_equal(
	    sql_int("SELECT COUNT(*) FROM jobs WHERE dedup_key = 'approved-payment:%s'", order), 1);
	assert_int_equal(
	    sql_int("SELECT SUM(amount_cents) FROM splits WHERE order_id = '%s'", order), 29700);

	/* pix -> pix upsell after the payment */
	snprintf(path, sizeof(path), "/v1/orders/%s/upsell?access_token=%s", order, access);
	assert_int_equal(post(&r, &checkout, path, new_key(), "{\"offer_code\":\"DEMOUPSEL1\"}"),
			 201);
	assert_string_equal(h_json_str(&r, "payment_method"), "pix");
	assert_string_equal(h_json_str(&r, "status"), "waiting_payment");
	assert_non_null(h_json_str(&r, "pix.payload"));
	h_resp_free(&r);

	/* the same event again (the sandbox resends it) changes nothing */
	jobs_before = sql_int("SELECT COUNT(*) FROM jobs");
	{
		char sql[200];
		snprintf(sql, sizeof(sql), "SELECT paid_at FROM orders WHERE id = '%s'", order);
		paid_at = h_sql_value(db, sql);
	}
	snprintf(path, sizeof(path), "/control/pix/%s/pay", info.txid);
	assert_int_equal(sandbox_call(&cb, "POST", path), 200);
	assert_int_equal(cJSON_GetObjectItem(cb.json, "callback_status")->valueint, 200);
	h_resp_free(&cb);
	assert_int_equal(sql_int("SELECT COUNT(*) FROM jobs"), jobs_before);
	assert_int_equal(
	    sql_int("SELECT COUNT(*) FROM acquirer_events WHERE order_id = '%s'", order), 1);
	{
		char sql[200], *now;
		snprintf(sql, sizeof(sql), "SELECT paid_at FROM orders WHERE id = '%s'", order);
		now = h_sql_value(db, sql);
		assert_string_equal(now, paid_at);
		free(now);
	}
	free(paid_at);

	/* an out-of-order expiry, correctly signed, does not move a paid order */
	{
		char body[512], sig[128], header[200], cbpath[128];
		char *charge_id;
		char sql[200];
		const char *headers[] = {header, "Content-Type: application/json", NULL};
		snprintf(sql, sizeof(sql),
			 "SELECT acquirer_charge_id FROM charges WHERE order_id = '%s'", order);
		charge_id = h_sql_value(db, sql);
		snprintf(
		    body, sizeof(body),
		    "{\"id\":\"late-expiry-%s\",\"type\":\"charge.expired\",\"charge_id\":\"%s\","
		    "\"reference\":\"%s\",\"amount_cents\":29700,\"occurred_at\":\"2026-11-29T00:"
		    "00:00Z\"}",
		    order, charge_id, order);
		assert_int_equal(b4_crypto_webhook_sign(SECRET, (int64_t)time(NULL), body,
							strlen(body), sig, sizeof(sig)),
				 0);
		snprintf(header, sizeof(header), "X-Acquirer-Signature: %s", sig);
		snprintf(cbpath, sizeof(cbpath), "/v1/acquirers/sandbox/callbacks");
		assert_int_equal(h_http(&r, "POST", h_url(&checkout, cbpath), body, headers), 0);
		assert_int_equal(r.status, 200);
		assert_string_equal(h_json_str(&r, "outcome"), "ignored");
		h_resp_free(&r);
		/* a bad signature is refused and recorded nowhere */
		snprintf(header, sizeof(header), "X-Acquirer-Signature: t=%ld,v1=%064d",
			 (long)time(NULL), 0);
		assert_int_equal(h_http(&r, "POST", h_url(&checkout, cbpath), body, headers), 0);
		assert_int_equal(r.status, 401);
		h_resp_free(&r);
		free(charge_id);
	}
	assert_int_equal(
	    sql_int("SELECT COUNT(*) FROM orders WHERE id = '%s' AND status = 'paid'", order), 1);
}

static void test_boleto_order_has_valid_line(void **state)
{
	struct h_resp r;
	struct b4_br_boleto boleto;
	char barcode[45], order[37], path[200], sql[200];
	char *charge_id;
	(void)state;

	assert_int_equal(
	    post(&r, &checkout, "/v1/orders", new_key(),
		 order_body("boleto@example.com", 41, "{\"method\":\"boleto\"}", NULL)),
	    201);
	assert_string_equal(h_json_str(&r, "status"), "waiting_payment");
	assert_non_null(h_json_str(&r, "boleto.due_date"));
	assert_int_equal(
	    b4_br_boleto_parse_line(h_json_str(&r, "boleto.digitable_line"), &boleto, barcode), 0);
	assert_string_equal(barcode, h_json_str(&r, "boleto.barcode"));
	assert_int_equal(boleto.amount_cents, 29700);
	assert_int_equal(
	    sql_int("SELECT COUNT(*) FROM jobs WHERE dedup_key = 'generated-billet:%s'",
		    h_json_str(&r, "id")),
	    1);
	snprintf(order, sizeof(order), "%s", h_json_str(&r, "id"));
	h_resp_free(&r);

	/* the buyer pays the boleto */
	snprintf(path, sizeof(path), "/control/boleto/%s/pay", barcode);
	assert_int_equal(sandbox_call(&r, "POST", path), 200);
	assert_int_equal(cJSON_GetObjectItem(r.json, "callback_status")->valueint, 200);
	h_resp_free(&r);
	assert_int_equal(
	    sql_int("SELECT COUNT(*) FROM orders WHERE id = '%s' AND status = 'paid'", order), 1);

	/* then disputes it: the order ends in chargeback, every split reversed */
	snprintf(sql, sizeof(sql), "SELECT acquirer_charge_id FROM charges WHERE order_id = '%s'",
		 order);
	charge_id = h_sql_value(db, sql);
	snprintf(path, sizeof(path), "/control/charges/%s/chargeback", charge_id);
	assert_int_equal(sandbox_call(&r, "POST", path), 200);
	assert_int_equal(cJSON_GetObjectItem(r.json, "callback_status")->valueint, 200);
	h_resp_free(&r);
	assert_int_equal(sql_int("SELECT COUNT(*) FROM orders WHERE id = '%s'"
				 " AND status = 'chargeback'",
				 order),
			 1);
	assert_int_equal(sql_int("SELECT SUM(reversed_cents) FROM splits WHERE order_id = '%s'"
				 " AND status = 'reversed'",
				 order),
			 29700);
	assert_int_equal(
	    sql_int("SELECT COUNT(*) FROM jobs WHERE dedup_key = 'chargeback:%s'", order), 1);
	free(charge_id);
}

static void test_coupon_rules_and_affiliate_coupon(void **state)
{
	struct h_resp r;
	char card[256];
	(void)state;

	assert_int_equal(
	    h_sql(
		db,
		"INSERT INTO coupons (id, product_id, code, percent_bps, amount_cents,"
		" payment_methods, max_uses, once_per_customer, affiliation_id) VALUES"
		" ('01900000-0000-7000-8000-000000000411', '01900000-0000-7000-8000-000000000101',"
		"  'PIXONLY', 500, NULL, 'pix', NULL, 0, NULL),"
		" ('01900000-0000-7000-8000-000000000412', '01900000-0000-7000-8000-000000000101',"
		"  'ONCE', NULL, 1000, 'card,pix,boleto', NULL, 1, NULL),"
		" ('01900000-0000-7000-8000-000000000413', '01900000-0000-7000-8000-000000000101',"
		"  'LIMITED', NULL, 1000, 'card,pix,boleto', 1, 0, NULL),"
		" ('01900000-0000-7000-8000-000000000414', '01900000-0000-7000-8000-000000000101',"
		"  'ANDRE15', 1500, NULL, 'card,pix,boleto', NULL, 0,"
		"  '01900000-0000-7000-8000-000000000301')"),
	    0);
	card_payment_fresh(&checkout, "4111111111111111", card);

	assert_int_equal(post(&r, &checkout, "/v1/orders", new_key(),
			      order_body("c1@example.com", 201, card, ",\"coupon\":\"PIXONLY\"")),
			 422);
	assert_string_equal(h_json_str(&r, "error.code"), "payment_method_not_eligible");
	h_resp_free(&r);
	assert_int_equal(post(&r, &checkout, "/v1/orders", new_key(),
			      order_body("c1@example.com", 201, "{\"method\":\"pix\"}",
					 ",\"coupon\":\"PIXONLY\"")),
			 201);
	assert_int_equal(cJSON_GetObjectItem(r.json, "total_cents")->valueint, 29700 - 1485);
	h_resp_free(&r);

	/* once per customer: the same CPF cannot use it twice */
	assert_int_equal(post(&r, &checkout, "/v1/orders", new_key(),
			      order_body("c2@example.com", 202, card, ",\"coupon\":\"ONCE\"")),
			 201);
	assert_int_equal(cJSON_GetObjectItem(r.json, "discount_cents")->valueint, 1000);
	h_resp_free(&r);
	card_payment_fresh(&checkout, "4111111111111111", card);
	assert_int_equal(
	    post(&r, &checkout, "/v1/orders", new_key(),
		 order_body("c2-again@example.com", 202, card, ",\"coupon\":\"ONCE\"")),
	    422);
	assert_string_equal(h_json_str(&r, "error.code"), "already_used_by_customer");
	h_resp_free(&r);

	/* max uses */
	assert_int_equal(post(&r, &checkout, "/v1/orders", new_key(),
			      order_body("c3@example.com", 203, card, ",\"coupon\":\"LIMITED\"")),
			 201);
	h_resp_free(&r);
	card_payment_fresh(&checkout, "4111111111111111", card);
	assert_int_equal(post(&r, &checkout, "/v1/orders", new_key(),
			      order_body("c4@example.com", 204, card, ",\"coupon\":\"LIMITED\"")),
			 422);
	assert_string_equal(h_json_str(&r, "error.code"), "coupon_used_up");
	h_resp_free(&r);

	/* the affiliate's coupon attributes the sale without a ref */
	assert_int_equal(post(&r, &checkout, "/v1/orders", new_key(),
			      order_body("c5@example.com", 205, card, ",\"coupon\":\"ANDRE15\"")),
			 201);
	assert_int_equal(sql_int("SELECT COUNT(*) FROM orders WHERE id = '%s'"
				 " AND affiliate_id = '01900000-0000-7000-8000-000000000002'",
				 h_json_str(&r, "id")),
			 1);
	h_resp_free(&r);
}

struct burst_arg {
	const char *key;
	const char *body;
	long status;
	bool replayed;
};

static void *burst_one(void *varg)
{
	struct burst_arg *a = varg;
	struct h_resp r;
	char header[400];
	const char *headers[] = {header, "Content-Type: application/json", NULL};

	snprintf(header, sizeof(header), "Idempotency-Key: %s", a->key);
	if (h_http(&r, "POST", h_url(&checkout, "/v1/orders"), a->body, headers) == 0) {
		a->status = r.status;
		a->replayed = h_resp_header(&r, "Idempotent-Replayed") != NULL;
		h_resp_free(&r);
	}
	return NULL;
}

static void test_fifty_concurrent_requests_one_order(void **state)
{
	enum { N = 50 };
	struct burst_arg args[N];
	pthread_t threads[N];
	char *token = tokenize(&checkout, "4111111111111111");
	char payment[256], key[64];
	const char *body;
	int created = 0;
	(void)state;

	snprintf(payment, sizeof(payment), "{\"method\":\"card\",\"card_token\":\"%s\"}", token);
	body = strdup(order_body("burst@example.com", 51, payment, NULL));
	snprintf(key, sizeof(key), "%s", new_key());
	for (int i = 0; i < N; i++) {
		args[i] = (struct burst_arg){key, body, 0, false};
		assert_int_equal(pthread_create(&threads[i], NULL, burst_one, &args[i]), 0);
	}
	for (int i = 0; i < N; i++)
		pthread_join(threads[i], NULL);
	for (int i = 0; i < N; i++) {
		assert_true(args[i].status == 201 || args[i].status == 409);
		if (args[i].status == 201 && !args[i].replayed)
			created++;
	}
	assert_int_equal(created, 1);
	assert_int_equal(
	    sql_int("SELECT COUNT(*) FROM orders o JOIN customers c ON c.id = o.customer_id"
		    " WHERE c.email = 'burst@example.com'"),
	    1);
	assert_int_equal(
	    sql_int("SELECT COUNT(*) FROM charges ch JOIN orders o ON o.id = ch.order_id"
		    " JOIN customers c ON c.id = o.customer_id"
		    " WHERE c.email = 'burst@example.com'"),
	    1);
	free(token);
	free((char *)body);
}

static void test_timeout_then_retry_charges_once(void **state)
{
	struct h_resp r;
	char *token = tokenize(&checkout, "4000000000003220");
	char payment[256], key[64], order[37], path[200];
	const char *body;
	(void)state;

	snprintf(payment, sizeof(payment), "{\"method\":\"card\",\"card_token\":\"%s\"}", token);
	body = strdup(order_body("slow@example.com", 61, payment, NULL));
	snprintf(key, sizeof(key), "%s", new_key());
	/* checkout's 1 s timeout fires; reconciliation by reference finds
	 * the charge the sandbox recorded */
	assert_int_equal(post(&r, &checkout, "/v1/orders", key, body), 201);
	assert_string_equal(h_json_str(&r, "status"), "paid");
	snprintf(order, sizeof(order), "%s", h_json_str(&r, "id"));
	h_resp_free(&r);
	/* the client did not see the answer and retries */
	assert_int_equal(post(&r, &checkout, "/v1/orders", key, body), 201);
	assert_string_equal(h_resp_header(&r, "Idempotent-Replayed"), "true");
	assert_string_equal(h_json_str(&r, "id"), order);
	h_resp_free(&r);
	snprintf(path, sizeof(path), "/v1/charges?reference=%s", order);
	assert_int_equal(sandbox_call(&r, "GET", path), 200);
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(r.json, "data")), 1);
	h_resp_free(&r);
	assert_int_equal(sql_int("SELECT COUNT(*) FROM charges WHERE order_id = '%s'", order), 1);
	assert_true(h_logs_contain("acquirer charge timed out; reconciled by reference"));
	free(token);
	free((char *)body);
}

static void test_failover_to_next_acquirer(void **state)
{
	struct h_proc multi;
	struct h_resp r;
	char acquirers[256], payment[256];
	char *token;
	(void)state;

	/* "down" refuses connections; the priority row puts it first */
	snprintf(acquirers, sizeof(acquirers), "down=http://127.0.0.1:1,%s", sandbox_env_url);
	assert_int_equal(start_checkout(&multi, acquirers, "B4_FRAUD_CARD_MAX=1000", NULL), 0);
	assert_int_equal(h_sql(db, "UPDATE settings SET value = '[\"down\",\"sandbox\"]'"
				   " WHERE name = 'acquirer_priority'"),
			 0);
	token = tokenize(&multi, "4111 1111 1111 1111"); /* as typed */
	snprintf(payment, sizeof(payment), "{\"method\":\"card\",\"card_token\":\"%s\"}", token);
	assert_int_equal(post(&r, &multi, "/v1/orders", new_key(),
			      order_body("failover@example.com", 71, payment, NULL)),
			 201);
	assert_string_equal(h_json_str(&r, "status"), "paid");
	assert_int_equal(sql_int("SELECT COUNT(*) FROM charges WHERE order_id = '%s'"
				 " AND acquirer = 'sandbox' AND status = 'approved'",
				 h_json_str(&r, "id")),
			 1);
	h_resp_free(&r);
	assert_int_equal(h_sql(db, "UPDATE settings SET value = '[\"sandbox\"]'"
				   " WHERE name = 'acquirer_priority'"),
			 0);
	h_stop(&multi, SIGTERM, 10000);
	free(token);
}

static void test_fraud_refuses_card_burst(void **state)
{
	struct h_proc strict;
	struct h_resp r;
	char payment[256], email[64], path[200];
	const char *order;
	(void)state;

	assert_int_equal(start_checkout(&strict, sandbox_env_url, "B4_FRAUD_CARD_MAX=2", NULL), 0);
	for (int i = 0; i < 2; i++) {
		card_payment_fresh(&strict, "5555555555554444", payment);
		snprintf(email, sizeof(email), "card-burst-%d@example.com", i);
		assert_int_equal(post(&r, &strict, "/v1/orders", new_key(),
				      order_body(email, 81 + (unsigned)i, payment, NULL)),
				 201);
		h_resp_free(&r);
	}
	/* third order with the same card, other buyer: refused before the acquirer */
	card_payment_fresh(&strict, "5555555555554444", payment);
	assert_int_equal(post(&r, &strict, "/v1/orders", new_key(),
			      order_body("card-burst-2@example.com", 91, payment, NULL)),
			 402);
	assert_string_equal(h_json_str(&r, "error.code"), "fraud_suspected");
	order = h_json_str(&r, "error.order_id");
	assert_int_equal(
	    sql_int("SELECT COUNT(*) FROM orders WHERE id = '%s' AND status = 'refused'"
		    " AND fraud_score >= 70"
		    " AND JSON_SEARCH(fraud_reasons, 'one', 'velocity_card') IS NOT NULL",
		    order),
	    1);
	assert_int_equal(sql_int("SELECT COUNT(*) FROM charges WHERE order_id = '%s'", order), 0);
	snprintf(path, sizeof(path), "/v1/charges?reference=%s", order);
	h_resp_free(&r);
	assert_int_equal(sandbox_call(&r, "GET", path), 200);
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(r.json, "data")), 0);
	h_resp_free(&r);
	h_stop(&strict, SIGTERM, 10000);
}

/* The counters read with a card token (one statement with its row) count
 * the buyer too: the same e-mail and CPF again, with a card, are refused
 * for both (a card used once is not). */
static void test_fraud_counts_the_buyer_of_a_card_order(void **state)
{
	struct h_proc strict;
	struct h_resp r;
	char payment[256];
	const char *order;
	(void)state;

	assert_int_equal(start_checkout(&strict, sandbox_env_url, "B4_FRAUD_EMAIL_MAX=1",
					"B4_FRAUD_DOCUMENT_MAX=1"),
			 0);
	card_payment_fresh(&strict, "4539578763621486", payment);
	assert_int_equal(post(&r, &strict, "/v1/orders", new_key(),
			      order_body("twice@example.com", 95, payment, NULL)),
			 201);
	h_resp_free(&r);
	card_payment_fresh(&strict, "4539578763621486", payment);
	assert_int_equal(post(&r, &strict, "/v1/orders", new_key(),
			      order_body("twice@example.com", 95, payment, NULL)),
			 402);
	assert_string_equal(h_json_str(&r, "error.code"), "fraud_suspected");
	order = h_json_str(&r, "error.order_id");
	assert_int_equal(
	    sql_int("SELECT COUNT(*) FROM orders WHERE id = '%s' AND status = 'refused'"
		    " AND JSON_SEARCH(fraud_reasons, 'one', 'velocity_email') IS NOT NULL"
		    " AND JSON_SEARCH(fraud_reasons, 'one', 'velocity_document') IS NOT NULL"
		    " AND JSON_SEARCH(fraud_reasons, 'one', 'velocity_card') IS NULL"
		    " AND JSON_SEARCH(fraud_reasons, 'one', 'velocity_ip') IS NULL"
		    /* the rule says what it found: its limit reached, not a count
		     * (the read stops there) */
		    " AND JSON_SEARCH(fraud_reasons, 'one',"
		    " '1 or more orders from this email in 3600s') IS NOT NULL",
		    order),
	    1);
	h_resp_free(&r);
	h_stop(&strict, SIGTERM, 10000);
}

static char *db_fingerprint(void)
{
	return h_sql_value(db,
			   "SELECT CONCAT_WS(',', (SELECT COUNT(*) FROM orders),"
			   " (SELECT COUNT(*) FROM order_items), (SELECT COUNT(*) FROM charges),"
			   " (SELECT COUNT(*) FROM splits), (SELECT COUNT(*) FROM customers),"
			   " (SELECT COUNT(*) FROM jobs), (SELECT COUNT(*) FROM idempotency_keys),"
			   " (SELECT COUNT(*) FROM checkout_sessions),"
			   " (SELECT COUNT(*) FROM checkout_events),"
			   " (SELECT COUNT(*) FROM acquirer_events),"
			   " (SELECT COUNT(*) FROM card_tokens),"
			   " (SELECT SUM(uses) FROM coupons),"
			   " (SELECT MAX(updated_at) FROM customers))");
}

struct refused_case {
	const char *key;
	const char *body;
	long status;
	const char *param;
};

static void test_refused_input_changes_nothing(void **state)
{
	char *token = tokenize(&checkout, "4111111111111111");
	char card[256], card13[256], pix_with_token[256];
	char *before, *after;
	struct refused_case cases[16];
	size_t n = 0;
	(void)state;

	snprintf(card, sizeof(card), "{\"method\":\"card\",\"card_token\":\"%s\"}", token);
	snprintf(card13, sizeof(card13),
		 "{\"method\":\"card\",\"card_token\":\"%s\",\"installments\":13}", token);
	snprintf(pix_with_token, sizeof(pix_with_token),
		 "{\"method\":\"pix\",\"card_token\":\"%s\"}", token);
	before = db_fingerprint();
#define CASE(k, b, s, p) cases[n++] = (struct refused_case){k, strdup(b), s, p}
	CASE(NULL, order_body("bad@example.com", 101, card, NULL), 400, "Idempotency-Key");
	CASE("k", "{not json", 400, NULL);
	CASE("k", order_body("not-an-email", 101, card, NULL), 422, "customer.email");
	CASE("k", order_body("bad@example.com", 101, "{\"method\":\"cash\"}", NULL), 422,
	     "payment.method");
	CASE("k", order_body("bad@example.com", 101, card13, NULL), 422, "payment.installments");
	CASE("k", order_body("bad@example.com", 101, pix_with_token, NULL), 422,
	     "payment.card_token");
	CASE("k",
	     order_body("bad@example.com", 101, "{\"method\":\"card\",\"card_token\":\"tok_nope\"}",
			NULL),
	     422, "payment.card_token");
	CASE("k", order_body("bad@example.com", 101, card, ",\"coupon\":\"NOPE\""), 422, "coupon");
	CASE("k", order_body("bad@example.com", 101, card, ",\"bump_codes\":[\"DEMOUPSEL1\"]"), 422,
	     "bump_codes");
	CASE("k", order_body("bad@example.com", 101, card, ",\"surprise\":1"), 400, "surprise");
	CASE("k",
	     order_body("bad@example.com", 101, card,
			",\"session_id\":\"01900000-0000-7000-8000-999999999999\""),
	     422, "session_id");
	CASE("k",
	     "{\"offer_code\":\"DEMOOFFER1\",\"customer\":{\"full_name\":\"Maria\","
	     "\"email\":\"bad@example.com\",\"document\":\"111.444.777-36\","
	     "\"phone\":\"11987654321\"},\"payment\":{\"method\":\"pix\"}}",
	     422, "customer.document");
	CASE("k",
	     "{\"offer_code\":\"DEMOOFFER1\",\"customer\":{\"full_name\":\"Maria\","
	     "\"email\":\"bad@example.com\",\"document\":\"111.444.777-35\","
	     "\"phone\":\"call me maybe\"},\"payment\":{\"method\":\"pix\"}}",
	     422, "customer.phone");
	CASE("k",
	     "{\"offer_code\":\"DEMOUPSEL1\",\"customer\":{\"full_name\":\"Maria\","
	     "\"email\":\"bad@example.com\",\"document\":\"111.444.777-35\","
	     "\"phone\":\"11987654321\"},\"payment\":{\"method\":\"boleto\"}}",
	     422, "payment.method");
	CASE("k", order_body("bad@example.com", 101, card, ",\"offer_code\":\"NOSUCHOFFR\""), 400,
	     NULL);
#undef CASE
	for (size_t i = 0; i < n; i++) {
		struct h_resp r;
		char key[64];
		snprintf(key, sizeof(key), "refused-%zu-%d", i, (int)getpid());
		post(&r, &checkout, "/v1/orders", cases[i].key ? key : NULL, cases[i].body);
		if (r.status != cases[i].status)
			fprintf(stderr, "case %zu: %ld %s\n", i, r.status, r.body);
		assert_int_equal(r.status, cases[i].status);
		if (cases[i].param)
			assert_string_equal(h_json_str(&r, "error.param"), cases[i].param);
		h_resp_free(&r);
		free((char *)cases[i].body);
	}
	/* bad card data at tokenization */
	{
		struct h_resp r;
		assert_int_equal(post(&r, &checkout, "/v1/card-tokens", NULL,
				      "{\"number\":\"4111111111111112\",\"holder_name\":\"Maria\","
				      "\"exp_month\":12,\"exp_year\":2031,\"cvv\":\"123\"}"),
				 422);
		/* the acquirer's Luhn check, mapped to the field */
		assert_string_equal(h_json_str(&r, "error.code"), "invalid_card_number");
		assert_string_equal(h_json_str(&r, "error.param"), "number");
		h_resp_free(&r);
	}
	after = db_fingerprint();
	assert_string_equal(before, after);
	free(before);
	free(after);
	free(token);
}

static void test_metrics_by_payment_method(void **state)
{
	struct h_resp r;
	(void)state;

	assert_int_equal(h_http(&r, "GET", h_url(&checkout, "/metrics"), NULL, NULL), 0);
	assert_non_null(strstr(r.body, "api_checkouts_started_total{payment_method=\"card\"}"));
	assert_non_null(strstr(r.body, "api_checkouts_started_total{payment_method=\"pix\"}"));
	assert_non_null(strstr(r.body, "api_checkouts_succeeded_total{payment_method=\"pix\"} 1"));
	assert_non_null(strstr(r.body, "api_checkout_value_total{payment_method=\"card\"}"));
	h_resp_free(&r);
}

/* Last: nothing of a card number or CVV in any text column or any log. */
static void test_no_card_data_in_database_or_logs(void **state)
{
	static const char *const numbers[] = {"4111111111111111", "4000000000000002",
					      "4000000000003220", "5555555555554444", "\"cvv\""};
	char *columns;
	char *save = NULL;
	(void)state;

	for (size_t i = 0; i < sizeof(numbers) / sizeof(numbers[0]); i++)
		assert_false(h_logs_contain(numbers[i]));
	columns = h_sql_value(db, "SELECT GROUP_CONCAT(CONCAT(table_name, '.', column_name)"
				  " SEPARATOR ' ') FROM information_schema.columns"
				  " WHERE table_schema = DATABASE() AND data_type IN"
				  " ('char','varchar','text','mediumtext','longtext','json')");
	assert_non_null(columns);
	for (char *tok = strtok_r(columns, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
		char *dot = strchr(tok, '.');
		*dot = '\0';
		for (size_t i = 0; i < 4; i++) {
			long long hits =
			    sql_int("SELECT COUNT(*) FROM `%s` WHERE `%s` LIKE '%%%s%%'", tok,
				    dot + 1, numbers[i]);
			if (hits != 0)
				fprintf(stderr, "card number in %s.%s\n", tok, dot + 1);
			assert_int_equal(hits, 0);
		}
		/* with its quotes: random base64 text may contain the letters */
		assert_int_equal(sql_int("SELECT COUNT(*) FROM `%s` WHERE `%s` LIKE '%%\"cvv\"%%'",
					 tok, dot + 1),
				 0);
	}
	free(columns);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_offer_page_installments_coupon),
	    cmocka_unit_test(test_sessions_and_funnel_events),
	    cmocka_unit_test(test_card_order_installments_bump_coupon_affiliate),
	    cmocka_unit_test(test_first_or_last_click),
	    cmocka_unit_test(test_declined_card_refuses_order),
	    cmocka_unit_test(test_pix_order_callback_and_replay),
	    cmocka_unit_test(test_boleto_order_has_valid_line),
	    cmocka_unit_test(test_coupon_rules_and_affiliate_coupon),
	    cmocka_unit_test(test_fifty_concurrent_requests_one_order),
	    cmocka_unit_test(test_timeout_then_retry_charges_once),
	    cmocka_unit_test(test_failover_to_next_acquirer),
	    cmocka_unit_test(test_fraud_refuses_card_burst),
	    cmocka_unit_test(test_fraud_counts_the_buyer_of_a_card_order),
	    cmocka_unit_test(test_refused_input_changes_nothing),
	    cmocka_unit_test(test_metrics_by_payment_method),
	    cmocka_unit_test(test_no_card_data_in_database_or_logs),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
