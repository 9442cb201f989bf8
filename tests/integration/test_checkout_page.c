/* test_checkout_page.c - what the buyer's checkout page relies on, over
 * HTTP against the real binaries: the sandbox's public tokenization (public
 * key, CORS for the page's origin only, per-address limit) and its token
 * lookup; card token rules in b4-checkout (single use, bound to the
 * session, 15 minutes, never stored in clear); the session e-mail update;
 * the offer page extras; product images uploaded to b4-api (magic bytes,
 * owner only) and served by b4-checkout. */
#include "harness.h"

#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "b4/httpc.h"

#define SECRET	   "acquirer-secret-for-page-tests-0123456789abcdef"
#define PUBLIC_KEY "pk_test_page_0123456789"
#define ORIGIN	   "http://127.0.0.1:18080"
#define PRODUCER   "01900000-0000-7000-8000-000000000001"
#define AFFILIATE  "01900000-0000-7000-8000-000000000002"
#define PRODUCT	   "01900000-0000-7000-8000-000000000101"

static const char *db;
static struct h_proc sandbox, checkout, api;

/* b4-checkout's environment, with room for one more setting */
static const char *ck_env[8];

static int group_setup(void **state)
{
	static char acq_env[128], url_env[160], storage_env[1200];
	const char *sb_env[] = {"B4_ACQUIRER_SECRET=" SECRET, "B4_SANDBOX_PUBLIC_KEY=" PUBLIC_KEY,
				"B4_SANDBOX_CORS_ORIGINS=" ORIGIN ", http://localhost:3000",
				"B4_SANDBOX_PUBLIC_RATE=20", NULL};
	(void)state;

	db = h_db_create("b4_page", true);
	if (!db || h_start(&sandbox, "b4-acquirer-sandbox", NULL, sb_env) < 0)
		return -1;
	snprintf(acq_env, sizeof(acq_env), "B4_ACQUIRERS=sandbox=http://127.0.0.1:%d",
		 sandbox.port);
	snprintf(url_env, sizeof(url_env),
		 "B4_CHECKOUT_TOKENIZE_URL=http://127.0.0.1:%d/v1/public/card-tokens",
		 sandbox.port);
	snprintf(storage_env, sizeof(storage_env), "B4_STORAGE_DIR=%s/objects-page-%d", h_var(),
		 (int)getpid());
	const char *env[] = {"B4_ACQUIRER_SECRET=" SECRET,
			     acq_env,
			     url_env,
			     "B4_ACQUIRER_PUBLIC_KEY=" PUBLIC_KEY,
			     storage_env,
			     "B4_FRAUD_IP_MAX=100000",
			     NULL};
	const char *api_env[] = {storage_env, NULL};

	memcpy(ck_env, env, sizeof(env));
	if (h_start(&checkout, "b4-checkout", db, ck_env) < 0)
		return -1;
	return h_start(&api, "b4-api", db, api_env);
}

static int group_teardown(void **state)
{
	(void)state;
	h_stop(&api, SIGTERM, 10000);
	h_stop(&checkout, SIGTERM, 10000);
	h_stop(&sandbox, SIGTERM, 10000);
	return 0;
}

static long call(struct h_resp *r, const char *method, const char *url, const char *body,
		 const char *h1, const char *h2)
{
	const char *headers[4] = {"Content-Type: application/json", h1, h2, NULL};
	assert_int_equal(h_http(r, method, url, body, headers), 0);
	return r->status;
}

#define sql_int(fmt, arg) h_sql_intf(db, fmt, arg)

/* A new checkout session of DEMOOFFER1 into id[37]. */
static void new_session(char id[37])
{
	struct h_resp r;
	assert_int_equal(call(&r, "POST", h_url(&checkout, "/v1/sessions"),
			      "{\"offer_code\":\"DEMOOFFER1\"}", NULL, NULL),
			 201);
	snprintf(id, 37, "%s", h_json_str(&r, "id"));
	h_resp_free(&r);
}

/* A token from the public endpoint, as the page makes it (malloc'd). */
static char *public_token(const char *session, const char *number)
{
	struct h_resp r;
	char body[400];
	char *token;

	snprintf(body, sizeof(body),
		 "{\"number\":\"%s\",\"holder_name\":\"MARIA\",\"exp_month\":12,\"exp_year\":2031,"
		 "\"cvv\":\"123\",\"session_id\":\"%s\"}",
		 number, session);
	assert_int_equal(call(&r, "POST", h_url(&sandbox, "/v1/public/card-tokens"), body,
			      "Authorization: Bearer " PUBLIC_KEY, "Origin: " ORIGIN),
			 201);
	assert_string_equal(h_resp_header(&r, "Access-Control-Allow-Origin"), ORIGIN);
	assert_null(cJSON_GetObjectItem(r.json, "fingerprint"));
	assert_string_equal(h_json_str(&r, "last4"), number + strlen(number) - 4);
	token = strdup(h_json_str(&r, "token"));
	h_resp_free(&r);
	return token;
}

/* POST /v1/orders to b4-checkout at, paying with token in session (NULL:
 * none). */
static long order_at(const struct h_proc *at, struct h_resp *r, const char *key,
		     const char *session, const char *token, unsigned seed)
{
	char body[1200], cpf[12], header[128], sess[80] = "";

	h_make_cpf(seed, cpf);
	if (session)
		snprintf(sess, sizeof(sess), "\"session_id\":\"%s\",", session);
	snprintf(
	    body, sizeof(body),
	    "{\"offer_code\":\"DEMOOFFER1\",%s\"customer\":{\"full_name\":\"Maria Compradora\","
	    "\"email\":\"page%u@example.com\",\"document\":\"%s\",\"phone\":\"11987654321\"},"
	    "\"payment\":{\"method\":\"card\",\"card_token\":\"%s\"}}",
	    sess, seed, cpf, token);
	snprintf(header, sizeof(header), "Idempotency-Key: %s", key);
	return call(r, "POST", h_url(at, "/v1/orders"), body, header, NULL);
}

static long order(struct h_resp *r, const char *key, const char *session, const char *token,
		  unsigned seed)
{
	return order_at(&checkout, r, key, session, token, seed);
}

/* The offer page's price_cents at b4-checkout at. */
static long page_price(const struct h_proc *at)
{
	struct h_resp r;
	long price;

	assert_int_equal(call(&r, "GET", h_url(at, "/v1/offers/DEMOOFFER1"), NULL, NULL, NULL),
			 200);
	price = (long)cJSON_GetObjectItem(r.json, "price_cents")->valuedouble;
	h_resp_free(&r);
	return price;
}

static void test_public_tokenization_key_cors_and_limit(void **state)
{
	struct h_resp r;
	const char *card = "{\"number\":\"4111111111111111\",\"holder_name\":\"MARIA\","
			   "\"exp_month\":12,\"exp_year\":2031,\"cvv\":\"123\","
			   "\"session_id\":\"01900000-0000-7000-8000-00000000aaaa\"}";
	const char *url = h_url(&sandbox, "/v1/public/card-tokens");
	(void)state;

	/* preflight: the page's origin gets its grant, another none */
	assert_int_equal(call(&r, "OPTIONS", url, NULL, "Origin: " ORIGIN,
			      "Access-Control-Request-Method: POST"),
			 204);
	assert_string_equal(h_resp_header(&r, "Access-Control-Allow-Origin"), ORIGIN);
	assert_non_null(strstr(h_resp_header(&r, "Access-Control-Allow-Headers"), "Authorization"));
	h_resp_free(&r);
	assert_int_equal(call(&r, "OPTIONS", url, NULL, "Origin: https://evil.example",
			      "Access-Control-Request-Method: POST"),
			 204);
	assert_null(h_resp_header(&r, "Access-Control-Allow-Origin"));
	h_resp_free(&r);
	/* a foreign origin, a missing or wrong key: no token */
	assert_int_equal(call(&r, "POST", url, card, "Authorization: Bearer " PUBLIC_KEY,
			      "Origin: https://evil.example"),
			 403);
	h_resp_free(&r);
	assert_int_equal(call(&r, "POST", url, card, "Origin: " ORIGIN, NULL), 401);
	h_resp_free(&r);
	assert_int_equal(
	    call(&r, "POST", url, card, "Authorization: Bearer " SECRET, "Origin: " ORIGIN), 401);
	h_resp_free(&r);
	/* the session is required; a bad card is refused by name */
	assert_int_equal(
	    call(&r, "POST", url,
		 "{\"number\":\"4111111111111112\",\"holder_name\":\"M\",\"exp_month\":"
		 "12,\"exp_year\":2031,\"cvv\":\"123\",\"session_id\":"
		 "\"01900000-0000-7000-8000-00000000aaaa\"}",
		 "Authorization: Bearer " PUBLIC_KEY, "Origin: " ORIGIN),
	    422);
	assert_string_equal(h_json_str(&r, "error.param"), "number");
	h_resp_free(&r);
	/* per address: 20 a minute (the refused card used one, the refused
	 * keys and origin none), then 429 with Retry-After */
	{
		int created = 0;
		long status = 0;
		for (int i = 0; i < 25 && status != 429; i++) {
			status = call(&r, "POST", url, card, "Authorization: Bearer " PUBLIC_KEY,
				      "Origin: " ORIGIN);
			if (status == 201)
				created++;
			else
				assert_int_equal(status, 429);
			if (status == 429)
				assert_non_null(h_resp_header(&r, "Retry-After"));
			h_resp_free(&r);
		}
		assert_int_equal(status, 429);
		assert_int_equal(created, 19);
	}
	/* the server-to-server lookup needs the secret, not the public key */
	assert_int_equal(call(&r, "POST", h_url(&sandbox, "/v1/tokens/lookup"),
			      "{\"token\":\"tok_x\"}", "Authorization: Bearer " PUBLIC_KEY, NULL),
			 401);
	h_resp_free(&r);
}

static void test_token_single_use_session_bound_hashed(void **state)
{
	struct h_resp r;
	char session[37], other[37], *token, *plain;
	(void)state;

	/* reset the per-address window of the previous test */
	h_stop(&sandbox, SIGTERM, 10000);
	{
		static char port_env[32];
		const char *sb_env[] = {"B4_ACQUIRER_SECRET=" SECRET,
					"B4_SANDBOX_PUBLIC_KEY=" PUBLIC_KEY,
					"B4_SANDBOX_CORS_ORIGINS=" ORIGIN, port_env, NULL};
		int port = sandbox.port;
		snprintf(port_env, sizeof(port_env), "B4_PORT=%d", port);
		assert_int_equal(h_start(&sandbox, "b4-acquirer-sandbox", NULL, sb_env), 0);
		assert_int_equal(sandbox.port, port);
	}
	new_session(session);
	new_session(other);
	token = public_token(session, "4111111111111111");
	/* the acquirer tells checkout what the token is bound to */
	{
		char body[300];
		snprintf(body, sizeof(body), "{\"token\":\"%s\"}", token);
		assert_int_equal(call(&r, "POST", h_url(&sandbox, "/v1/tokens/lookup"), body,
				      "Authorization: Bearer " SECRET, NULL),
				 200);
		assert_string_equal(h_json_str(&r, "session_id"), session);
		assert_string_equal(h_json_str(&r, "last4"), "1111");
		h_resp_free(&r);
	}
	/* another session's order cannot use it, nor an order without one */
	assert_int_equal(order(&r, "page-k1", other, token, 501), 422);
	assert_string_equal(h_json_str(&r, "error.code"), "card_token_session_mismatch");
	assert_string_equal(h_json_str(&r, "error.param"), "payment.card_token");
	h_resp_free(&r);
	assert_int_equal(order(&r, "page-k2", NULL, token, 502), 422);
	assert_string_equal(h_json_str(&r, "error.code"), "card_token_session_mismatch");
	h_resp_free(&r);
	/* its own session's order: paid; a retry of that attempt is replayed */
	assert_int_equal(order(&r, "page-k3", session, token, 503), 201);
	assert_string_equal(h_json_str(&r, "status"), "paid");
	h_resp_free(&r);
	assert_int_equal(order(&r, "page-k3", session, token, 503), 201);
	assert_non_null(h_resp_header(&r, "Idempotent-Replayed"));
	h_resp_free(&r);
	/* any other attempt: already used */
	assert_int_equal(order(&r, "page-k4", session, token, 504), 422);
	assert_string_equal(h_json_str(&r, "error.code"), "card_token_used");
	h_resp_free(&r);
	assert_int_equal(sql_int("SELECT COUNT(*) FROM orders o JOIN customers c"
				 " ON c.id = o.customer_id WHERE c.email LIKE '%s'",
				 "page50%@example.com"),
			 1);
	/* b4 keeps the hash of the token and the token sealed, never the token */
	assert_int_equal(
	    sql_int("SELECT COUNT(*) FROM card_tokens WHERE token_hash = SHA2('%s', 256)"
		    " AND used_at IS NOT NULL",
		    token),
	    1);
	plain = h_sql_value(db, "SELECT GROUP_CONCAT(card_token) FROM charges");
	assert_non_null(plain);
	assert_null(strstr(plain, token));
	assert_null(strstr(plain, "tok_"));
	free(plain);
	/* an unknown token */
	assert_int_equal(order(&r, "page-k5", session, "tok_not-a-token", 505), 422);
	assert_string_equal(h_json_str(&r, "error.code"), "invalid_card_token");
	h_resp_free(&r);
	free(token);

	/* 15 minutes: an old token is refused */
	token = public_token(other, "5555555555554444");
	assert_int_equal(order(&r, "page-k6", other, token, 506), 201);
	h_resp_free(&r);
	free(token);
	token = public_token(other, "5555555555554444");
	{
		char body[300];
		/* recorded on first use; age it as if 16 minutes had passed */
		assert_int_equal(order(&r, "page-k7", session, token, 507), 422);
		h_resp_free(&r);
		snprintf(body, sizeof(body),
			 "UPDATE card_tokens SET expires_at = UTC_TIMESTAMP(6) - INTERVAL 1 MINUTE"
			 " WHERE token_hash = SHA2('%s', 256)",
			 token);
		assert_int_equal(h_sql(db, body), 0);
	}
	assert_int_equal(order(&r, "page-k8", other, token, 508), 422);
	assert_string_equal(h_json_str(&r, "error.code"), "card_token_expired");
	h_resp_free(&r);
	free(token);
}

static void test_session_email_and_offer_extras(void **state)
{
	struct h_resp r;
	char session[37], path[100];
	const cJSON *acq, *up;
	(void)state;

	new_session(session);
	snprintf(path, sizeof(path), "/v1/sessions/%s", session);
	assert_int_equal(call(&r, "PATCH", h_url(&checkout, path),
			      "{\"email\":\"Ana@Example.com\"}", NULL, NULL),
			 200);
	h_resp_free(&r);
	assert_int_equal(sql_int("SELECT COUNT(*) FROM checkout_sessions WHERE id = '%s'"
				 " AND email = 'Ana@Example.com'",
				 session),
			 1);
	assert_int_equal(
	    call(&r, "PATCH", h_url(&checkout, path), "{\"email\":\"not-an-email\"}", NULL, NULL),
	    422);
	assert_string_equal(h_json_str(&r, "error.param"), "email");
	h_resp_free(&r);
	assert_int_equal(
	    call(&r, "PATCH", h_url(&checkout, path), "{\"email\":\"a@b.co\",\"x\":1}", NULL, NULL),
	    400);
	h_resp_free(&r);
	assert_int_equal(call(&r, "PATCH",
			      h_url(&checkout, "/v1/sessions/01900000-0000-7000-8000-0000000fffff"),
			      "{\"email\":\"a@b.co\"}", NULL, NULL),
			 404);
	h_resp_free(&r);

	assert_int_equal(
	    call(&r, "GET", h_url(&checkout, "/v1/offers/DEMOOFFER1"), NULL, NULL, NULL), 200);
	assert_non_null(h_json_str(&r, "description"));
	assert_int_equal(cJSON_GetObjectItem(r.json, "guarantee_days")->valueint, 7);
	assert_true(cJSON_IsNull(cJSON_GetObjectItem(r.json, "image_url")));
	acq = cJSON_GetObjectItem(r.json, "acquirer");
	assert_string_equal(cJSON_GetObjectItem(acq, "public_key")->valuestring, PUBLIC_KEY);
	assert_non_null(strstr(cJSON_GetObjectItem(acq, "tokenize_url")->valuestring,
			       "/v1/public/card-tokens"));
	up = cJSON_GetObjectItem(r.json, "upsell");
	assert_string_equal(cJSON_GetObjectItem(up, "code")->valuestring, "DEMOUPSEL1");
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(up, "one_click")));
	h_resp_free(&r);
	/* the installment table of the cart's amount */
	assert_int_equal(
	    call(&r, "GET",
		 h_url(&checkout, "/v1/offers/DEMOOFFER1/installments?amount_cents=34400"), NULL,
		 NULL, NULL),
	    200);
	assert_int_equal(
	    cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(r.json, "data"), 0),
				"total_cents")
		->valueint,
	    34400);
	h_resp_free(&r);
	assert_int_equal(call(&r, "GET",
			      h_url(&checkout, "/v1/offers/DEMOOFFER1/installments?amount_cents=4"),
			      NULL, NULL, NULL),
			 422);
	h_resp_free(&r);
}

/* PUT of raw bytes with exactly one Content-Type (h_http adds a JSON one). */
static long put_image(const char *url, const void *data, size_t len, const char *type,
		      const char *auth, char **answer)
{
	char type_header[80];
	const char *headers[] = {auth, type_header, NULL};
	struct b4_httpc_request req = {.method = "PUT",
				       .url = url,
				       .headers = headers,
				       .body = data,
				       .body_len = len,
				       .timeout_ms = 10000};
	struct b4_httpc_response resp;
	long status;

	snprintf(type_header, sizeof(type_header), "Content-Type: %s", type);
	assert_int_equal(b4_httpc_do(&req, &resp), 0);
	status = resp.status;
	*answer = strdup(resp.body ? resp.body : "");
	b4_httpc_response_cleanup(&resp);
	return status;
}

static void test_product_image_upload_and_serving(void **state)
{
	struct h_resp r;
	/* a WebP header without NUL bytes, so it travels as a C string */
	const char *webp = "RIFF\x24\x01\x01\x01WEBPVP8 \x18\x01\x01\x01tiny picture";
	char auth[600], image_path[120];
	const char *url, *produced;
	(void)state;

	static const unsigned char png[] = {0x89, 'P',	'N', 'G', '\r', '\n',
					    0x1a, '\n', 0,   0,	  0,	13};
	char *answer;
	cJSON *json;

	snprintf(auth, sizeof(auth), "%s", h_bearer(PRODUCER, "member"));
	url = h_url(&api, "/v1/products/" PRODUCT "/image");
	/* not an image; a type that is not the file's */
	assert_int_equal(put_image(url, "just some text", 14, "image/png", auth, &answer), 415);
	assert_non_null(strstr(answer, "unsupported_image_type"));
	free(answer);
	assert_int_equal(put_image(url, webp, strlen(webp), "image/png", auth, &answer), 415);
	assert_non_null(strstr(answer, "content_type_mismatch"));
	free(answer);
	/* more than 1 MiB */
	{
		size_t n = 1024 * 1024 + 1;
		char *data = calloc(1, n);
		memcpy(data, png, sizeof(png));
		assert_int_equal(put_image(url, data, n, "image/png", auth, &answer), 413);
		free(answer);
		free(data);
	}
	/* someone else's product */
	{
		char other[600];
		snprintf(other, sizeof(other), "%s", h_bearer(AFFILIATE, "member"));
		assert_int_equal(put_image(url, webp, strlen(webp), "image/webp", other, &answer),
				 404);
		free(answer);
	}
	/* a PNG (with its NUL bytes) is accepted by its magic bytes */
	assert_int_equal(put_image(url, png, sizeof(png), "image/png", auth, &answer), 200);
	assert_non_null(strstr(answer, "image/png"));
	free(answer);
	/* stored under its content hash, and served by checkout */
	assert_int_equal(put_image(url, webp, strlen(webp), "image/webp", auth, &answer), 200);
	json = cJSON_Parse(answer);
	free(answer);
	produced = cJSON_GetStringValue(cJSON_GetObjectItem(json, "image_url"));
	assert_non_null(produced);
	assert_int_equal(strncmp(produced, "/checkout/v1/images/", 20), 0);
	snprintf(image_path, sizeof(image_path), "/v1/images/%s", produced + 20);
	cJSON_Delete(json);
	assert_int_equal(call(&r, "GET", h_url(&checkout, image_path), NULL, NULL, NULL), 200);
	assert_string_equal(h_resp_header(&r, "Content-Type"), "image/webp");
	assert_non_null(strstr(h_resp_header(&r, "Cache-Control"), "immutable"));
	assert_int_equal(r.body_len, strlen(webp));
	assert_memory_equal(r.body, webp, strlen(webp));
	h_resp_free(&r);
	/* the page shows it once its kept answer is over (1 s by default) */
	{
		long long until = h_now_ms() + 3000;
		bool shown = false;

		while (!shown && h_now_ms() < until) {
			const char *img;

			assert_int_equal(call(&r, "GET", h_url(&checkout, "/v1/offers/DEMOOFFER1"),
					      NULL, NULL, NULL),
					 200);
			img = h_json_str(&r, "image_url");
			shown = img && strlen(img) > 20 && strcmp(img + 20, image_path + 11) == 0;
			h_resp_free(&r);
			if (!shown)
				h_sleep_ms(100);
		}
		assert_true(shown);
	}
	/* names that b4-api never makes */
	assert_int_equal(
	    call(&r, "GET", h_url(&checkout, "/v1/images/..%2Fsecret.png"), NULL, NULL, NULL), 404);
	h_resp_free(&r);
	assert_int_equal(call(&r, "GET", h_url(&checkout, "/v1/images/abc.png"), NULL, NULL, NULL),
			 404);
	h_resp_free(&r);
}

/* The offer page's answer is reused for B4_OFFER_PAGE_CACHE_MS, and so is
 * an unknown code's 404; a change shows once that is over, and an order
 * always reads the offer's row. */
static void test_offer_page_reused_orders_read_the_rows(void **state)
{
	static char kept_env[] = "B4_OFFER_PAGE_CACHE_MS=60000";
	const char *env[sizeof(ck_env) / sizeof(ck_env[0])];
	struct h_proc kept;
	struct h_resp r;
	char session[37], *token, update[160];
	long price, shown = 0;
	size_t n = 0;
	(void)state;

	while (ck_env[n])
		n++;
	assert_true(n + 1 < sizeof(env) / sizeof(env[0]));
	memcpy(env, ck_env, n * sizeof(env[0]));
	env[n] = kept_env;
	env[n + 1] = NULL;
	assert_int_equal(h_start(&kept, "b4-checkout", db, env), 0);

	price = page_price(&kept);
	snprintf(update, sizeof(update),
		 "UPDATE offers SET price_cents = %ld WHERE code = 'DEMOOFFER1'", price + 1000);
	assert_int_equal(h_sql(db, update), 0);
	/* the process that keeps answers for a minute still shows the old price */
	assert_int_equal(page_price(&kept), price);
	assert_int_equal(call(&r, "GET", h_url(&kept, "/metrics"), NULL, NULL, NULL), 200);
	assert_non_null(strstr(r.body, "checkout_offer_page_answers_total{source=\"read\"} 1\n"));
	assert_non_null(strstr(r.body, "checkout_offer_page_answers_total{source=\"kept\"} 1\n"));
	h_resp_free(&r);
	/* one with the default shows the new price within its second */
	for (long long until = h_now_ms() + 3000; h_now_ms() < until; h_sleep_ms(100))
		if ((shown = page_price(&checkout)) == price + 1000)
			break;
	assert_int_equal(shown, price + 1000);
	/* an order at the process showing the old page pays the new price */
	new_session(session);
	token = public_token(session, "4012888888881881");
	assert_int_equal(order_at(&kept, &r, "page-k7", session, token, 507), 201);
	assert_string_equal(h_json_str(&r, "status"), "paid");
	assert_int_equal((long)cJSON_GetObjectItem(r.json, "total_cents")->valuedouble,
			 price + 1000);
	h_resp_free(&r);
	free(token);

	snprintf(update, sizeof(update),
		 "UPDATE offers SET price_cents = %ld WHERE code = 'DEMOOFFER1'", price);
	assert_int_equal(h_sql(db, update), 0);

	/* a session only names the offer: it may take the kept one; an order
	 * never does */
	assert_int_equal(call(&r, "POST", h_url(&kept, "/v1/sessions"),
			      "{\"offer_code\":\"DEMOOFFER1\"}", NULL, NULL),
			 201);
	h_resp_free(&r);
	assert_int_equal(h_sql(db, "UPDATE offers SET active = 0 WHERE code = 'DEMOOFFER1'"), 0);
	assert_int_equal(call(&r, "POST", h_url(&kept, "/v1/sessions"),
			      "{\"offer_code\":\"DEMOOFFER1\"}", NULL, NULL),
			 201);
	h_resp_free(&r);
	token = public_token(session, "4012888888881881");
	assert_int_equal(order_at(&kept, &r, "page-k8", session, token, 508), 422);
	assert_string_equal(h_json_str(&r, "error.param"), "offer_code");
	h_resp_free(&r);
	free(token);
	assert_int_equal(h_sql(db, "UPDATE offers SET active = 1 WHERE code = 'DEMOOFFER1'"), 0);

	/* a code without a live offer keeps its 404 as long: an offer put
	 * back on sale shows there after the minute, here within the second */
	assert_int_equal(h_sql(db, "UPDATE offers SET active = 0 WHERE code = 'DEMOUPSEL1'"), 0);
	assert_int_equal(call(&r, "GET", h_url(&kept, "/v1/offers/DEMOUPSEL1"), NULL, NULL, NULL),
			 404);
	h_resp_free(&r);
	assert_int_equal(h_sql(db, "UPDATE offers SET active = 1 WHERE code = 'DEMOUPSEL1'"), 0);
	assert_int_equal(call(&r, "GET", h_url(&kept, "/v1/offers/DEMOUPSEL1"), NULL, NULL, NULL),
			 404);
	assert_string_equal(h_json_str(&r, "error.code"), "resource_not_found");
	h_resp_free(&r);
	shown = 0;
	for (long long until = h_now_ms() + 3000; h_now_ms() < until && shown != 200;
	     h_sleep_ms(100)) {
		shown =
		    call(&r, "GET", h_url(&checkout, "/v1/offers/DEMOUPSEL1"), NULL, NULL, NULL);
		h_resp_free(&r);
	}
	assert_int_equal(shown, 200);
	h_stop(&kept, SIGTERM, 10000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_public_tokenization_key_cors_and_limit),
	    cmocka_unit_test(test_token_single_use_session_bound_hashed),
	    cmocka_unit_test(test_session_email_and_offer_extras),
	    cmocka_unit_test(test_product_image_upload_and_serving),
	    cmocka_unit_test(test_offer_page_reused_orders_read_the_rows),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
