/* test_contract.c - live answers of the main flows match docs/openapi.yaml.
 *
 * Starts the real stack (sandbox acquirer, b4-checkout, b4-api,
 * b4-backoffice, all behind b4-gateway, so paths are the spec's own),
 * walks the flows a front-end uses, records every answer and hands them to
 * web/contract/scripts/validate-responses.mjs (ajv over the spec's schemas,
 * objects closed so an undocumented field is drift).  Needs `npm ci` in
 * web/contract (make test does it). */
#include "harness.h"
#include "contract_support.h"

#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#define SECRET "acquirer-secret-for-tests-0123456789abcdef"

static const char *db;
static struct h_proc sandbox, checkout, api, backoffice, gateway;
static cJSON *records; /* the answers recorded by the current test */
static char order_card[37], order_pix[37], token_card[128], token_pix[128];

static int group_setup(void **state)
{
	static char port_env[64], cb_env[128], acq_env[128], up_api[64], up_bo[64], up_co[64];
	const char *sb_env[] = {"B4_ACQUIRER_SECRET=" SECRET, NULL};
	const char *co_env[] = {"B4_ACQUIRER_SECRET=" SECRET, port_env, cb_env, acq_env,
				"B4_FRAUD_IP_MAX=100000",     NULL};
	const char *api_env[] = {"B4_LOGIN_MAX_PER_IP=100000", NULL};
	const char *gw_env[] = {up_api, up_bo, up_co, NULL};
	int port = h_free_port();
	(void)state;

	db = h_db_create("b4_contract", true);
	if (!db || h_start(&sandbox, "b4-acquirer-sandbox", NULL, sb_env) < 0)
		return -1;
	snprintf(port_env, sizeof(port_env), "B4_PORT=%d", port);
	snprintf(cb_env, sizeof(cb_env), "B4_CHECKOUT_CALLBACK_URL=http://127.0.0.1:%d", port);
	snprintf(acq_env, sizeof(acq_env), "B4_ACQUIRERS=sandbox=http://127.0.0.1:%d",
		 sandbox.port);
	if (h_start(&checkout, "b4-checkout", db, co_env) < 0 ||
	    h_start(&api, "b4-api", db, api_env) < 0 ||
	    h_start(&backoffice, "b4-backoffice", db, NULL) < 0)
		return -1;
	snprintf(up_api, sizeof(up_api), "B4_API_UPSTREAM=127.0.0.1:%d", api.port);
	snprintf(up_bo, sizeof(up_bo), "B4_BACKOFFICE_UPSTREAM=127.0.0.1:%d", backoffice.port);
	snprintf(up_co, sizeof(up_co), "B4_CHECKOUT_UPSTREAM=127.0.0.1:%d", checkout.port);
	return h_start(&gateway, "b4-gateway", NULL, gw_env);
}

static int group_teardown(void **state)
{
	(void)state;
	h_stop(&gateway, SIGTERM, 10000);
	h_stop(&backoffice, SIGTERM, 10000);
	h_stop(&api, SIGTERM, 10000);
	h_stop(&checkout, SIGTERM, 10000);
	h_stop(&sandbox, SIGTERM, 10000);
	return 0;
}

static int test_setup(void **state)
{
	(void)state;
	records = cJSON_CreateArray();
	return records ? 0 : -1;
}

static int test_teardown(void **state)
{
	(void)state;
	cJSON_Delete(records);
	records = NULL;
	return 0;
}

/* Adds an answer to the records, under the spec's path template. */
static void record(const char *method, const char *path_template, const struct h_resp *r)
{
	cJSON *rec = cJSON_CreateObject();
	const char *rid = h_resp_header(r, "X-Request-Id");

	cJSON_AddStringToObject(rec, "method", method);
	cJSON_AddStringToObject(rec, "path", path_template);
	cJSON_AddNumberToObject(rec, "status", (double)r->status);
	if (r->json)
		cJSON_AddItemToObject(rec, "body", cJSON_Duplicate(r->json, true));
	else if (r->body_len > 0)
		cJSON_AddStringToObject(rec, "body", r->body); /* not JSON: the schema says */
	else
		cJSON_AddNullToObject(rec, "body");
	if (rid)
		cJSON_AddStringToObject(rec, "request_id", rid);
	cJSON_AddItemToArray(records, rec);
}

/* One call through the gateway; records it and returns the status.  The
 * answer stays in *r for the caller (free with h_resp_free). */
static long call(struct h_resp *r, const char *method, const char *path, const char *path_template,
		 const char *auth, const char *idem, const char *body)
{
	char key[300];
	const char *headers[4] = {"Content-Type: application/json", NULL, NULL, NULL};
	int n = 1;

	if (auth)
		headers[n++] = auth;
	if (idem) {
		snprintf(key, sizeof(key), "Idempotency-Key: %s-%d", idem, (int)getpid());
		headers[n++] = key;
	}
	assert_int_equal(h_http(r, method, h_url(&gateway, path), body, headers), 0);
	record(method, path_template, r);
	return r->status;
}

/* call() for answers the test does not read further. */
static void call_expect(long want, const char *method, const char *path, const char *path_template,
			const char *auth, const char *idem, const char *body)
{
	struct h_resp r;

	if (call(&r, method, path, path_template, auth, idem, body) != want)
		fail_msg("%s %s: %ld %s", method, path, r.status, r.body ? r.body : "");
	h_resp_free(&r);
}

/* Runs the validator over the records; fails the test unless every one
 * matches the spec. */
static void validate_records(void)
{
	tc_validate(records);
}

static const char *bearer_for(const char *email, const char *password)
{
	static char out[4][1200];
	static int next;
	char body[256];
	struct h_resp r;
	char *slot = out[next++ % 4];

	snprintf(body, sizeof(body), "{\"email\":\"%s\",\"password\":\"%s\"}", email, password);
	assert_int_equal(
	    call(&r, "POST", "/api/v1/auth/login", "/api/v1/auth/login", NULL, NULL, body), 200);
	assert_non_null(h_json_str(&r, "token"));
	snprintf(slot, 1200, "Authorization: Bearer %s", h_json_str(&r, "token"));
	h_resp_free(&r);
	return slot;
}

static char *card_token(const char *number)
{
	char body[256];
	struct h_resp r;
	char *token;

	snprintf(body, sizeof(body),
		 "{\"number\":\"%s\",\"holder_name\":\"Maria Compradora\",\"exp_month\":12,"
		 "\"exp_year\":2031,\"cvv\":\"123\"}",
		 number);
	assert_int_equal(call(&r, "POST", "/checkout/v1/card-tokens", "/checkout/v1/card-tokens",
			      NULL, NULL, body),
			 201);
	token = strdup(h_json_str(&r, "token"));
	h_resp_free(&r);
	return token;
}

static const char *order_body(unsigned seed, const char *payment, const char *extra)
{
	static char body[2048];
	char cpf[12];

	h_make_cpf(seed, cpf);
	snprintf(
	    body, sizeof(body),
	    "{\"offer_code\":\"DEMOOFFER1\"%s,\"customer\":{\"full_name\":\"Maria Compradora\","
	    "\"email\":\"maria%u@example.com\",\"document\":\"%s\","
	    "\"phone\":\"+55 (11) 98765-4321\"},\"payment\":%s}",
	    extra ? extra : "", seed, cpf, payment);
	return body;
}

/* POST /checkout/v1/orders; keeps id and access_token when want is 201. */
static void place_order(const char *idem, const char *body, long want, char id[37], char token[128])
{
	struct h_resp r;

	if (call(&r, "POST", "/checkout/v1/orders", "/checkout/v1/orders", NULL, idem, body) !=
	    want)
		fail_msg("order: %ld %s", r.status, r.body ? r.body : "");
	if (id) {
		snprintf(id, 37, "%s", h_json_str(&r, "id"));
		snprintf(token, 128, "%s", h_json_str(&r, "access_token"));
	}
	h_resp_free(&r);
}

/* ---- the flows ------------------------------------------------------------ */

static void test_offer_page_and_session(void **state)
{
	(void)state;

	call_expect(200, "GET", "/checkout/v1/offers/DEMOOFFER1", "/checkout/v1/offers/{code}",
		    NULL, NULL, NULL);
	call_expect(404, "GET", "/checkout/v1/offers/NOSUCHOFFR", "/checkout/v1/offers/{code}",
		    NULL, NULL, NULL);
	call_expect(200, "GET", "/checkout/v1/offers/DEMOOFFER1/installments",
		    "/checkout/v1/offers/{code}/installments", NULL, NULL, NULL);
	call_expect(200, "GET", "/checkout/v1/offers/DEMOOFFER1/coupons/BEMVINDO10",
		    "/checkout/v1/offers/{code}/coupons/{coupon}", NULL, NULL, NULL);
	call_expect(200, "GET", "/checkout/v1/offers/DEMOOFFER1/coupons/NOPE",
		    "/checkout/v1/offers/{code}/coupons/{coupon}", NULL, NULL, NULL);
	call_expect(201, "POST", "/checkout/v1/sessions", "/checkout/v1/sessions", NULL, NULL,
		    "{\"offer_code\":\"DEMOOFFER1\",\"email\":\"maria@example.com\","
		    "\"ref\":\"DEMOREF01\",\"utm_source\":\"newsletter\"}");
	call_expect(422, "POST", "/checkout/v1/sessions", "/checkout/v1/sessions", NULL, NULL,
		    "{\"offer_code\":\"NOSUCHOFFR\"}");
	validate_records();
}

static void test_orders_card_pix_boleto(void **state)
{
	char *approved = card_token("4111111111111111");
	char *declined = card_token("4000000000000002");
	char payment[256], path[256], boleto_id[37], boleto_token[128];
	(void)state;

	snprintf(payment, sizeof(payment),
		 "{\"method\":\"card\",\"card_token\":\"%s\",\"installments\":3}", approved);
	place_order(
	    "contract-card",
	    order_body(11, payment, ",\"bump_codes\":[\"DEMOBUMP01\"],\"coupon\":\"BEMVINDO10\""),
	    201, order_card, token_card);
	place_order("contract-pix", order_body(12, "{\"method\":\"pix\"}", NULL), 201, order_pix,
		    token_pix);
	place_order("contract-boleto", order_body(13, "{\"method\":\"boleto\"}", NULL), 201,
		    boleto_id, boleto_token);
	snprintf(payment, sizeof(payment), "{\"method\":\"card\",\"card_token\":\"%s\"}", declined);
	place_order("contract-declined", order_body(14, payment, NULL), 402, NULL, NULL);
	place_order("contract-invalid",
		    "{\"offer_code\":\"DEMOOFFER1\",\"customer\":{\"full_name\":\"Maria\","
		    "\"email\":\"nope\",\"document\":\"111.444.777-00\",\"phone\":\"11987654321\"},"
		    "\"payment\":{\"method\":\"pix\"}}",
		    422, NULL, NULL);

	snprintf(path, sizeof(path), "/checkout/v1/orders/%s?access_token=%s", order_card,
		 token_card);
	call_expect(200, "GET", path, "/checkout/v1/orders/{id}", NULL, NULL, NULL);
	snprintf(path, sizeof(path), "/checkout/v1/orders/%s?access_token=%s", order_pix,
		 token_pix);
	call_expect(200, "GET", path, "/checkout/v1/orders/{id}", NULL, NULL, NULL);
	snprintf(path, sizeof(path), "/checkout/v1/orders/%s?access_token=%s", boleto_id,
		 boleto_token);
	call_expect(200, "GET", path, "/checkout/v1/orders/{id}", NULL, NULL, NULL);
	snprintf(path, sizeof(path), "/checkout/v1/orders/%s?access_token=wrong", order_card);
	call_expect(404, "GET", path, "/checkout/v1/orders/{id}", NULL, NULL, NULL);
	snprintf(path, sizeof(path), "/checkout/v1/orders/%s/delivery?access_token=%s", order_card,
		 token_card);
	call_expect(200, "GET", path, "/checkout/v1/orders/{id}/delivery", NULL, NULL, NULL);
	snprintf(path, sizeof(path), "/checkout/v1/orders/%s/delivery?access_token=%s", order_pix,
		 token_pix);
	call_expect(200, "GET", path, "/checkout/v1/orders/{id}/delivery", NULL, NULL, NULL);
	snprintf(path, sizeof(path), "/checkout/v1/orders/%s/upsell?access_token=%s", order_card,
		 token_card);
	call_expect(201, "POST", path, "/checkout/v1/orders/{id}/upsell", NULL, "contract-upsell",
		    "{\"offer_code\":\"DEMOUPSEL1\"}");
	validate_records();
	free(approved);
	free(declined);
}

static void test_member_flows(void **state)
{
	const char *producer = bearer_for("producer@b4you.dev", "producer-demo-123");
	char path[256], product_id[37];
	struct h_resp r;
	(void)state;

	call_expect(201, "POST", "/api/v1/auth/signup", "/api/v1/auth/signup", NULL, NULL,
		    "{\"email\":\"contract@example.com\",\"password\":\"contract-pass-1\","
		    "\"full_name\":\"Carla Contrato\"}");
	call_expect(401, "POST", "/api/v1/auth/login", "/api/v1/auth/login", NULL, NULL,
		    "{\"email\":\"producer@b4you.dev\",\"password\":\"wrong-password\"}");
	call_expect(200, "GET", "/api/v1/me", "/api/v1/me", producer, NULL, NULL);
	call_expect(401, "GET", "/api/v1/me", "/api/v1/me", NULL, NULL, NULL);
	call_expect(200, "GET", "/api/v1/products", "/api/v1/products", producer, NULL, NULL);
	assert_int_equal(call(&r, "POST", "/api/v1/products", "/api/v1/products", producer, NULL,
			      "{\"name\":\"Curso de contrato\",\"type\":\"course\","
			      "\"description\":\"APIs tipadas\",\"guarantee_days\":15}"),
			 201);
	snprintf(product_id, sizeof(product_id), "%s", h_json_str(&r, "id"));
	h_resp_free(&r);
	snprintf(path, sizeof(path), "/api/v1/products/%s", product_id);
	call_expect(200, "GET", path, "/api/v1/products/{id}", producer, NULL, NULL);
	snprintf(path, sizeof(path), "/api/v1/products/%s/offers", product_id);
	call_expect(201, "POST", path, "/api/v1/products/{id}/offers", producer, NULL,
		    "{\"name\":\"A vista\",\"price_cents\":19700,\"max_installments\":6}");
	call_expect(200, "GET", path, "/api/v1/products/{id}/offers", producer, NULL, NULL);
	call_expect(422, "POST", "/api/v1/products", "/api/v1/products", producer, NULL,
		    "{\"name\":\"\",\"type\":\"podcast\"}");
	call_expect(200, "GET", "/api/v1/sales", "/api/v1/sales", producer, NULL, NULL);
	call_expect(200, "GET", "/api/v1/sales?status=paid&limit=5", "/api/v1/sales", producer,
		    NULL, NULL);
	call_expect(200, "GET", "/api/v1/sales/summary", "/api/v1/sales/summary", producer, NULL,
		    NULL);
	call_expect(200, "GET", "/api/v1/balance", "/api/v1/balance", producer, NULL, NULL);
	call_expect(200, "GET", "/api/v1/dashboard/charts?from=2026-01-01&to=2026-01-31",
		    "/api/v1/dashboard/charts", producer, NULL, NULL);
	{
		char export_path[128];
		assert_int_equal(call(&r, "POST", "/api/v1/sales/exports", "/api/v1/sales/exports",
				      producer, NULL, "{\"status\":\"paid\"}"),
				 202);
		snprintf(export_path, sizeof(export_path), "/api/v1/sales/exports/%s",
			 h_json_str(&r, "id"));
		h_resp_free(&r);
		call_expect(200, "GET", export_path, "/api/v1/sales/exports/{id}", producer, NULL,
			    NULL);
	}
	validate_records();
}

static void test_backoffice_flows(void **state)
{
	const char *admin = bearer_for("admin@b4you.dev", "admin-demo-12345");
	const char *member = bearer_for("affiliate@b4you.dev", "affiliate-demo-123");
	char path[256];
	(void)state;

	assert_true(order_card[0] != '\0'); /* made by the order flow */
	call_expect(200, "GET", "/backoffice/v1/orders", "/backoffice/v1/orders", admin, NULL,
		    NULL);
	call_expect(200, "GET", "/backoffice/v1/orders?payment_method=card&limit=2",
		    "/backoffice/v1/orders", admin, NULL, NULL);
	snprintf(path, sizeof(path), "/backoffice/v1/orders/%s", order_card);
	call_expect(200, "GET", path, "/backoffice/v1/orders/{id}", admin, NULL, NULL);
	call_expect(403, "GET", "/backoffice/v1/orders", "/backoffice/v1/orders", member, NULL,
		    NULL);
	call_expect(200, "GET", "/backoffice/v1/users?limit=2", "/backoffice/v1/users", admin, NULL,
		    NULL);
	validate_records();
}

/* Keeps field name of the last answer into out (a string field). */
static void keep(const struct h_resp *r, const char *name, char *out, size_t cap)
{
	const char *v = h_json_str(r, name);

	assert_non_null(v);
	snprintf(out, cap, "%s", v);
}

/* The rest of the members' surface: offers, bumps, upsell, co-producers,
 * coupons, marketplace and affiliations, campaigns, webhooks, one sale. */
static void test_member_resources(void **state)
{
	const char *producer = bearer_for("producer@b4you.dev", "producer-demo-123");
	const char *affiliate = bearer_for("affiliate@b4you.dev", "affiliate-demo-123");
	char path[256], body[512], product_id[37], offer_id[37], other_offer[37], id[37];
	struct h_resp r;
	(void)state;

	assert_true(order_card[0] != '\0'); /* made by the order flow */
	assert_int_equal(call(&r, "POST", "/api/v1/products", "/api/v1/products", producer, NULL,
			      "{\"name\":\"Comunidade C\",\"type\":\"community\","
			      "\"affiliate_program\":{\"enabled\":true,\"commission_bps\":3000}}"),
			 201);
	keep(&r, "id", product_id, sizeof(product_id));
	h_resp_free(&r);
	snprintf(path, sizeof(path), "/api/v1/products/%s", product_id);
	call_expect(200, "PATCH", path, "/api/v1/products/{id}", producer, NULL,
		    "{\"status\":\"active\",\"description\":null}");
	snprintf(path, sizeof(path), "/api/v1/products/%s/offers", product_id);
	assert_int_equal(call(&r, "POST", path, "/api/v1/products/{id}/offers", producer, NULL,
			      "{\"name\":\"Mensal\",\"price_cents\":4900}"),
			 201);
	keep(&r, "id", offer_id, sizeof(offer_id));
	h_resp_free(&r);
	assert_int_equal(call(&r, "POST", path, "/api/v1/products/{id}/offers", producer, NULL,
			      "{\"name\":\"Anual\",\"price_cents\":39900,\"max_installments\":12}"),
			 201);
	keep(&r, "id", other_offer, sizeof(other_offer));
	h_resp_free(&r);
	snprintf(path, sizeof(path), "/api/v1/offers/%s", offer_id);
	call_expect(200, "GET", path, "/api/v1/offers/{id}", producer, NULL, NULL);
	call_expect(200, "PATCH", path, "/api/v1/offers/{id}", producer, NULL,
		    "{\"payment_methods\":[\"pix\",\"card\"]}");
	call_expect(404, "GET", "/api/v1/offers/01900000-0000-7000-8000-0000000000ff",
		    "/api/v1/offers/{id}", producer, NULL, NULL);
	snprintf(path, sizeof(path), "/api/v1/offers/%s/bumps", offer_id);
	snprintf(body, sizeof(body), "{\"offer_ids\":[\"%s\"]}", other_offer);
	call_expect(200, "PUT", path, "/api/v1/offers/{id}/bumps", producer, NULL, body);
	snprintf(path, sizeof(path), "/api/v1/offers/%s/upsell", offer_id);
	snprintf(body, sizeof(body), "{\"offer_id\":\"%s\",\"one_click\":true}", other_offer);
	call_expect(200, "PUT", path, "/api/v1/offers/{id}/upsell", producer, NULL, body);

	snprintf(path, sizeof(path), "/api/v1/products/%s/coproducers", product_id);
	call_expect(201, "POST", path, "/api/v1/products/{id}/coproducers", producer, NULL,
		    "{\"email\":\"contract@example.com\",\"share_bps\":1000}");
	call_expect(200, "GET", path, "/api/v1/products/{id}/coproducers", producer, NULL, NULL);
	snprintf(path, sizeof(path), "/api/v1/products/%s/coupons", product_id);
	assert_int_equal(call(&r, "POST", path, "/api/v1/products/{id}/coupons", producer, NULL,
			      "{\"code\":\"CONTRATO5\",\"amount_cents\":500,\"max_uses\":10}"),
			 201);
	keep(&r, "id", id, sizeof(id));
	h_resp_free(&r);
	call_expect(409, "POST", path, "/api/v1/products/{id}/coupons", producer, NULL,
		    "{\"code\":\"CONTRATO5\",\"percent_bps\":500}");
	call_expect(200, "GET", path, "/api/v1/products/{id}/coupons", producer, NULL, NULL);
	snprintf(path, sizeof(path), "/api/v1/coupons/%s", id);
	call_expect(200, "GET", path, "/api/v1/coupons/{id}", producer, NULL, NULL);
	call_expect(200, "PATCH", path, "/api/v1/coupons/{id}", producer, NULL,
		    "{\"once_per_customer\":true,\"expires_at\":\"2031-01-01T00:00:00Z\"}");

	call_expect(200, "GET", "/api/v1/marketplace", "/api/v1/marketplace", affiliate, NULL,
		    NULL);
	snprintf(path, sizeof(path), "/api/v1/products/%s/affiliations", product_id);
	assert_int_equal(
	    call(&r, "POST", path, "/api/v1/products/{id}/affiliations", affiliate, NULL, "{}"),
	    201);
	keep(&r, "id", id, sizeof(id));
	h_resp_free(&r);
	call_expect(200, "GET", "/api/v1/affiliations?as=producer", "/api/v1/affiliations",
		    producer, NULL, NULL);
	snprintf(path, sizeof(path), "/api/v1/affiliations/%s/approve", id);
	call_expect(200, "POST", path, "/api/v1/affiliations/{id}/approve", producer, NULL, "{}");
	call_expect(200, "GET", "/api/v1/affiliations", "/api/v1/affiliations", affiliate, NULL,
		    NULL);

	snprintf(body, sizeof(body),
		 "{\"name\":\"Lancamento\",\"product_id\":\"%s\",\"utm_source\":\"email\"}",
		 product_id);
	assert_int_equal(
	    call(&r, "POST", "/api/v1/campaigns", "/api/v1/campaigns", producer, NULL, body), 201);
	keep(&r, "id", id, sizeof(id));
	h_resp_free(&r);
	call_expect(200, "GET", "/api/v1/campaigns", "/api/v1/campaigns", producer, NULL, NULL);
	snprintf(path, sizeof(path), "/api/v1/campaigns/%s", id);
	call_expect(200, "PATCH", path, "/api/v1/campaigns/{id}", producer, NULL,
		    "{\"utm_medium\":\"newsletter\"}");
	call_expect(204, "DELETE", path, "/api/v1/campaigns/{id}", producer, NULL, NULL);

	assert_int_equal(call(&r, "POST", "/api/v1/webhooks", "/api/v1/webhooks", producer, NULL,
			      "{\"url\":\"http://127.0.0.1:9/hook\","
			      "\"events\":[\"approved-payment\",\"refund\"]}"),
			 201);
	assert_non_null(h_json_str(&r, "secret"));
	keep(&r, "id", id, sizeof(id));
	h_resp_free(&r);
	call_expect(200, "GET", "/api/v1/webhooks", "/api/v1/webhooks", producer, NULL, NULL);
	snprintf(path, sizeof(path), "/api/v1/webhooks/%s", id);
	call_expect(200, "GET", path, "/api/v1/webhooks/{id}", producer, NULL, NULL);
	snprintf(path, sizeof(path), "/api/v1/webhooks/%s/deliveries", id);
	call_expect(200, "GET", path, "/api/v1/webhooks/{id}/deliveries", producer, NULL, NULL);

	snprintf(path, sizeof(path), "/api/v1/sales/%s", order_card);
	call_expect(200, "GET", path, "/api/v1/sales/{id}", producer, NULL, NULL);
	call_expect(404, "GET", path, "/api/v1/sales/{id}", affiliate, NULL, NULL);
	validate_records();
}

/* The rest of the back-office: users, products, affiliations, deliveries,
 * jobs, analytics, reports, the audit log and the acquirer settings. */
static void test_backoffice_resources(void **state)
{
	const char *admin = bearer_for("admin@b4you.dev", "admin-demo-12345");
	char path[256];
	struct h_resp r;
	(void)state;

	call_expect(200, "GET", "/backoffice/v1/users/01900000-0000-7000-8000-000000000002",
		    "/backoffice/v1/users/{id}", admin, NULL, NULL);
	call_expect(200, "GET", "/backoffice/v1/products", "/backoffice/v1/products", admin, NULL,
		    NULL);
	call_expect(200, "POST",
		    "/backoffice/v1/products/01900000-0000-7000-8000-000000000102/block",
		    "/backoffice/v1/products/{id}/block", admin, NULL, "{\"reason\":\"contract\"}");
	call_expect(200, "POST",
		    "/backoffice/v1/products/01900000-0000-7000-8000-000000000102/unblock",
		    "/backoffice/v1/products/{id}/unblock", admin, NULL, "{}");
	call_expect(200, "POST", "/backoffice/v1/users/01900000-0000-7000-8000-000000000002/role",
		    "/backoffice/v1/users/{id}/role", admin, NULL, "{\"role\":\"member\"}");
	call_expect(200, "GET", "/backoffice/v1/affiliations", "/backoffice/v1/affiliations", admin,
		    NULL, NULL);
	call_expect(200, "GET", "/backoffice/v1/webhook-deliveries",
		    "/backoffice/v1/webhook-deliveries", admin, NULL, NULL);
	call_expect(200, "GET", "/backoffice/v1/jobs", "/backoffice/v1/jobs", admin, NULL, NULL);
	call_expect(200, "GET", "/backoffice/v1/analytics/sales?group_by=payment_method",
		    "/backoffice/v1/analytics/sales", admin, NULL, NULL);
	call_expect(200, "GET", "/backoffice/v1/analytics/sales?group_by=day",
		    "/backoffice/v1/analytics/sales", admin, NULL, NULL);
	call_expect(200, "GET", "/backoffice/v1/analytics/funnel?offer_code=DEMOOFFER1",
		    "/backoffice/v1/analytics/funnel", admin, NULL, NULL);
	call_expect(200, "GET", "/backoffice/v1/settings/acquirers",
		    "/backoffice/v1/settings/acquirers", admin, NULL, NULL);
	call_expect(200, "PUT", "/backoffice/v1/settings/acquirers",
		    "/backoffice/v1/settings/acquirers", admin, NULL,
		    "{\"priority\":[\"sandbox\"]}");
	assert_int_equal(call(&r, "POST", "/backoffice/v1/reports/orders",
			      "/backoffice/v1/reports/orders", admin, "contract-report",
			      "{\"status\":\"paid\"}"),
			 202);
	snprintf(path, sizeof(path), "/backoffice/v1/reports/%s", h_json_str(&r, "id"));
	h_resp_free(&r);
	call_expect(200, "GET", path, "/backoffice/v1/reports/{id}", admin, NULL, NULL);
	call_expect(200, "GET", "/backoffice/v1/audit-log", "/backoffice/v1/audit-log", admin, NULL,
		    NULL);
	validate_records();
}

/* The validator rejects answers that break the spec, so a pass means
 * something. */
static void test_validator_catches_drift(void **state)
{
	static const char *const bad[][4] = {
	    /* a field the spec does not name */
	    {"GET", "/api/v1/me",
	     "{\"id\":\"01900000-0000-7000-8000-000000000001\",\"email\":\"a@b.c\","
	     "\"full_name\":\"A\",\"role\":\"member\",\"status\":\"active\","
	     "\"has_document\":false,\"created_at\":\"2026-01-01T00:00:00Z\",\"password_hash\":"
	     "\"x\"}",
	     "(password_hash)"},
	    /* money as a string */
	    {"GET", "/checkout/v1/offers/{code}/installments",
	     "{\"data\":[{\"installments\":1,\"installment_cents\":\"100\",\"total_cents\":100,"
	     "\"interest_free\":true}]}",
	     "installment_cents must be integer"},
	    /* an error without its type */
	    {"GET", "/checkout/v1/orders/{id}",
	     "{\"error\":{\"code\":\"x\",\"message\":\"m\"},\"request_id\":\"r\"}",
	     "must have required property 'type'"},
	};
	static const long status[] = {200, 200, 404};
	(void)state;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cJSON *rec = cJSON_CreateObject();
		cJSON_AddStringToObject(rec, "method", bad[i][0]);
		cJSON_AddStringToObject(rec, "path", bad[i][1]);
		cJSON_AddNumberToObject(rec, "status", (double)status[i]);
		cJSON_AddItemToObject(rec, "body", cJSON_Parse(bad[i][2]));
		cJSON_AddStringToObject(rec, "request_id", "r");
		cJSON_AddStringToObject(rec, "expect", "invalid");
		cJSON_AddStringToObject(rec, "because", bad[i][3]);
		cJSON_AddItemToArray(records, rec);
	}
	validate_records();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_offer_page_and_session, test_setup, test_teardown),
	    cmocka_unit_test_setup_teardown(test_orders_card_pix_boleto, test_setup, test_teardown),
	    cmocka_unit_test_setup_teardown(test_member_flows, test_setup, test_teardown),
	    cmocka_unit_test_setup_teardown(test_backoffice_flows, test_setup, test_teardown),
	    cmocka_unit_test_setup_teardown(test_member_resources, test_setup, test_teardown),
	    cmocka_unit_test_setup_teardown(test_backoffice_resources, test_setup, test_teardown),
	    cmocka_unit_test_setup_teardown(test_validator_catches_drift, test_setup,
					    test_teardown),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
