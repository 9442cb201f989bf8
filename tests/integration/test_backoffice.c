/* test_backoffice.c - the admin back-office over HTTP: the real
 * b4-backoffice against the real MariaDB, tokens signed with the test
 * secret.  Access control on every route, user and product blocking,
 * orders and their detail, refunds with Idempotency-Key, affiliations,
 * webhook resends, dead jobs, analytics, funnel, reports, audit log and
 * acquirer settings.  Every refused input is checked to leave the database
 * as it was. */
#include "harness.h"

#include <pthread.h>
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

#include "b4/auth.h"
#include "b4/pii.h"
#include "b4/storage.h"

#define PRODUCER    "01900000-0000-7000-8000-000000000001"
#define AFFILIATE   "01900000-0000-7000-8000-000000000002"
#define ADMIN	    "01900000-0000-7000-8000-000000000003"
#define PRODUCT	    "01900000-0000-7000-8000-000000000101"
#define PRODUCT2    "01900000-0000-7000-8000-000000000102"
#define OFFER	    "01900000-0000-7000-8000-000000000201"
#define OFFER2	    "01900000-0000-7000-8000-000000000202"
#define AFFILIATION "01900000-0000-7000-8000-000000000301"
#define CUSTOMER    "01900000-0000-7000-8000-00000000c001"
#define CUSTOMER2   "01900000-0000-7000-8000-00000000c002"
#define MISSING	    "01900000-0000-7000-8000-00000000dead"

static const char *db_name;
static struct h_proc bo;
static char admin_token[1024], member_token[1024], storage_dir[1024];
static int order_counter;

/* ---- helpers ---------------------------------------------------------- */

/* Writes a token for user_id with role (the harness signs it). */
static void sign(char *out, size_t cap, const char *user_id, const char *role)
{
	snprintf(out, cap, "%s", h_bearer(user_id, role) + strlen("Authorization: Bearer "));
}

/* One request to b4-backoffice; token and idem_key may be NULL. */
static void call(struct h_resp *r, const char *method, const char *path, const char *body,
		 const char *token, const char *idem_key)
{
	char auth[1200], idem[400];
	const char *headers[3] = {NULL};
	size_t n = 0;

	if (token) {
		snprintf(auth, sizeof(auth), "Authorization: Bearer %s", token);
		headers[n++] = auth;
	}
	if (idem_key) {
		snprintf(idem, sizeof(idem), "Idempotency-Key: %s", idem_key);
		headers[n++] = idem;
	}
	assert_int_equal(h_http(r, method, h_url(&bo, path), body, headers), 0);
}

/* An admin request expecting want; returns the response (caller frees). */
static void admin(struct h_resp *r, const char *method, const char *path, const char *body,
		  long want)
{
	call(r, method, path, body, admin_token, NULL);
	if (r->status != want)
		fprintf(stderr, "%s %s -> %ld: %s\n", method, path, r->status,
			r->body ? r->body : "");
	assert_int_equal(r->status, want);
}

#define sqlf(...) assert_int_equal(h_sqlf(db_name, __VA_ARGS__), 0)

#define sql_int(...) h_sql_intf(db_name, __VA_ARGS__)

/* Everything a refused request must leave alone, as one string. */
static char *snapshot(void)
{
	char *s = h_sql_value(
	    db_name,
	    "SELECT CONCAT_WS('|', (SELECT COUNT(*) FROM audit_log), (SELECT COUNT(*) FROM jobs),"
	    " (SELECT COUNT(*) FROM refunds), (SELECT COUNT(*) FROM idempotency_keys),"
	    " (SELECT COUNT(*) FROM reports),"
	    " (SELECT value FROM settings WHERE name = 'acquirer_priority'),"
	    " (SELECT IFNULL(GROUP_CONCAT(status ORDER BY id), '') FROM orders),"
	    " (SELECT GROUP_CONCAT(status ORDER BY id) FROM users),"
	    " (SELECT GROUP_CONCAT(blocked ORDER BY id) FROM products),"
	    " (SELECT GROUP_CONCAT(status ORDER BY id) FROM affiliations),"
	    " (SELECT IFNULL(GROUP_CONCAT(CONCAT(status, attempts) ORDER BY id), '') FROM jobs),"
	    " (SELECT IFNULL(GROUP_CONCAT(status ORDER BY id), '') FROM webhook_deliveries))");
	assert_non_null(s);
	return s;
}

/* A refused request: status want, error.param want_param (or none), and
 * the database exactly as before.  (Also used for a repeated request that
 * must change nothing.) */
static void refused(const char *method, const char *path, const char *body, const char *token,
		    const char *idem_key, long want, const char *want_param)
{
	struct h_resp r;
	char *before = snapshot(), *after;

	call(&r, method, path, body, token, idem_key);
	if (r.status != want)
		fprintf(stderr, "%s %s %s -> %ld: %s\n", method, path, body ? body : "", r.status,
			r.body ? r.body : "");
	assert_int_equal(r.status, want);
	if (want >= 400)
		assert_non_null(h_json_str(&r, "error.type"));
	if (want_param)
		assert_string_equal(h_json_str(&r, "error.param"), want_param);
	h_resp_free(&r);
	after = snapshot();
	assert_string_equal(before, after);
	free(before);
	free(after);
}

/* Inserts an order and writes its id into id[37]. */
static void make_order(char id[37], const char *status, const char *method, long long total,
		       const char *created_at, const char *customer, const char *affiliate)
{
	char affiliate_sql[80] = "NULL", affiliation_sql[80] = "NULL";

	order_counter = (order_counter + 1) % 10000;
	snprintf(id, 37, "01900000-0000-7000-8000-0000000a%04u", (unsigned)order_counter);
	if (affiliate) {
		snprintf(affiliate_sql, sizeof(affiliate_sql), "'%s'", affiliate);
		snprintf(affiliation_sql, sizeof(affiliation_sql), "'%s'", AFFILIATION);
	}
	sqlf(
	    "INSERT INTO orders (id, customer_id, offer_id, product_id, producer_id,"
	    " affiliation_id, affiliate_id, status, payment_method, subtotal_cents, total_cents,"
	    " access_token_hash, created_at, paid_at) VALUES ('%s', '%s', '%s', '%s', '%s', %s, %s,"
	    " '%s', '%s', %lld, %lld, REPEAT('a', 64), %s, NULL)",
	    id, customer, OFFER, PRODUCT, PRODUCER, affiliation_sql, affiliate_sql, status, method,
	    total, total, created_at);
}

static int count_data(const struct h_resp *r)
{
	return cJSON_GetArraySize(cJSON_GetObjectItem(r->json, "data"));
}

static bool data_has_id(const struct h_resp *r, const char *id)
{
	const cJSON *item;

	cJSON_ArrayForEach(item, cJSON_GetObjectItem(r->json, "data"))
	{
		const char *have = cJSON_GetStringValue(cJSON_GetObjectItem(item, "id"));
		if (have && strcmp(have, id) == 0)
			return true;
	}
	return false;
}

static double num(const cJSON *obj, const char *name)
{
	const cJSON *item = cJSON_GetObjectItem(obj, name);

	assert_true(cJSON_IsNumber(item));
	return item->valuedouble;
}

/* ---- setup -------------------------------------------------------------- */

/* Inserts a customer whose document (and phone, when not NULL) are
 * encrypted with the test keys the services run with, as checkout does. */
static int add_customer(const char *id, const char *email, const char *name, const char *document,
			const char *phone)
{
	char bidx[65], phone_sql[600] = "NULL";
	char *document_enc, *phone_enc = NULL;
	int rc = -1;

	setenv("B4_FIELD_KEYS", H_FIELD_KEYS, 1);
	setenv("B4_BLIND_INDEX_KEY", H_BLIND_INDEX_KEY, 1);
	if (b4_pii_init("test_backoffice") < 0)
		return -1;
	document_enc = b4_pii_encrypt("customers.document_enc", document);
	if (phone)
		phone_enc = b4_pii_encrypt("customers.phone_enc", phone);
	if (!document_enc || (phone && !phone_enc) ||
	    b4_pii_blind_index("document", document, bidx) < 0)
		goto out_free;
	if (phone_enc)
		snprintf(phone_sql, sizeof(phone_sql), "'%s'", phone_enc);
	sqlf("INSERT INTO customers (id, email, full_name, document_enc, document_bidx,"
	     " document_type, phone_enc) VALUES ('%s', '%s', '%s', '%s', '%s', 'cpf', %s)",
	     id, email, name, document_enc, bidx, phone_sql);
	rc = 0;
out_free:
	free(document_enc);
	free(phone_enc);
	b4_pii_cleanup();
	return rc;
}

static int group_setup(void **state)
{
	char env_storage[1100];
	/* the acquirers checkout has: the priority may name only these */
	const char *env[] = {env_storage, "B4_STORAGE=local",
			     "B4_ACQUIRERS=sandbox=http://127.0.0.1:1,acq-2=http://127.0.0.1:1",
			     NULL};
	(void)state;

	db_name = h_db_create("b4_backoffice", true);
	if (!db_name)
		return -1;
	snprintf(storage_dir, sizeof(storage_dir), "%s/bo-objects-%d", h_var(), (int)getpid());
	snprintf(env_storage, sizeof(env_storage), "B4_STORAGE_DIR=%s", storage_dir);
	if (h_start(&bo, "b4-backoffice", db_name, env) != 0)
		return -1;
	sign(admin_token, sizeof(admin_token), ADMIN, "admin");
	sign(member_token, sizeof(member_token), AFFILIATE, "member");
	if (add_customer(CUSTOMER, "buyer1@example.com", "Bia Compradora", "12345678909",
			 "+5511987654321") != 0 ||
	    add_customer(CUSTOMER2, "buyer2@example.com", "Caio Comprador", "98765432100", NULL) !=
		0)
		return -1;
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	h_stop(&bo, SIGTERM, 10000);
	return 0;
}

/* ---- access control ------------------------------------------------------ */

/* Every route of svc-backoffice/routes.c, with an id for its :id and a body. */
static const struct {
	const char *method, *pattern, *id, *body;
} routes[] = {
    {"GET", "/v1/users", NULL, NULL},
    {"GET", "/v1/users/:id", AFFILIATE, NULL},
    {"POST", "/v1/users/:id/block", AFFILIATE, "{}"},
    {"POST", "/v1/users/:id/unblock", AFFILIATE, "{}"},
    {"POST", "/v1/users/:id/role", AFFILIATE, "{\"role\":\"member\"}"},
    {"GET", "/v1/products", NULL, NULL},
    {"POST", "/v1/products/:id/block", PRODUCT, "{}"},
    {"POST", "/v1/products/:id/unblock", PRODUCT, "{}"},
    {"GET", "/v1/orders", NULL, NULL},
    {"GET", "/v1/orders/:id", MISSING, NULL},
    {"POST", "/v1/orders/:id/refunds", MISSING, "{\"reason\":\"x\"}"},
    {"GET", "/v1/affiliations", NULL, NULL},
    {"POST", "/v1/affiliations/:id/approve", AFFILIATION, "{}"},
    {"POST", "/v1/affiliations/:id/reject", AFFILIATION, "{}"},
    {"GET", "/v1/webhook-deliveries", NULL, NULL},
    {"POST", "/v1/webhook-deliveries/:id/resend", MISSING, "{}"},
    {"GET", "/v1/jobs", NULL, NULL},
    {"POST", "/v1/jobs/:id/retry", "1", "{}"},
    {"GET", "/v1/analytics/sales", NULL, NULL},
    {"GET", "/v1/analytics/funnel", NULL, NULL},
    {"POST", "/v1/reports/orders", NULL, "{}"},
    {"GET", "/v1/reports/:id", MISSING, NULL},
    {"GET", "/v1/reports/:id/download", MISSING, NULL},
    {"GET", "/v1/audit-log", NULL, NULL},
    {"GET", "/v1/settings/acquirers", NULL, NULL},
    {"PUT", "/v1/settings/acquirers", NULL, "{\"priority\":[\"evil\"]}"},
};
#define NROUTES (sizeof(routes) / sizeof(routes[0]))

/* pattern with ":id" replaced by id (or "{id}" when id is NULL) */
static void route_path(char *out, size_t cap, const char *pattern, const char *id)
{
	const char *at = strstr(pattern, ":id");

	if (!at)
		snprintf(out, cap, "%s", pattern);
	else
		snprintf(out, cap, "%.*s%s%s", (int)(at - pattern), pattern, id ? id : "{id}",
			 at + 3);
}

static char *read_file(const char *relative)
{
	char path[2048], *text;
	FILE *f;
	long size;

	snprintf(path, sizeof(path), "%s/%s", h_top(), relative);
	f = fopen(path, "rb");
	assert_non_null(f);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	size = ftell(f);
	rewind(f);
	text = calloc(1, (size_t)size + 1);
	assert_int_equal(fread(text, 1, (size_t)size, f), (size_t)size);
	fclose(f);
	return text;
}

static void test_route_list_matches_routes_and_openapi(void **state)
{
	char *table = read_file("svc-backoffice/routes.c"), *spec = read_file("docs/openapi.yaml");
	size_t in_table = 0;
	(void)state;

	/* the table has exactly these routes, each for admins only */
	for (const char *p = table; (p = strstr(p, "{\"")) != NULL; p++)
		if (strstr(p, "\", \"/v1/") && strstr(p, "\", \"/v1/") < strchr(p, '\n'))
			in_table++;
	assert_int_equal(in_table, NROUTES);
	for (size_t i = 0; i < NROUTES; i++) {
		char line[200], doc[256];
		snprintf(line, sizeof(line), "{\"%s\", \"%s\", ", routes[i].method,
			 routes[i].pattern);
		assert_non_null(strstr(table, line));
		assert_non_null(strstr(strstr(table, line), "B4_ROLE_ADMIN}"));
		/* and the OpenAPI file documents it */
		route_path(line, sizeof(line), routes[i].pattern, NULL);
		snprintf(doc, sizeof(doc), "\n  /backoffice%s:\n", line);
		if (!strstr(spec, doc))
			fail_msg("docs/openapi.yaml lacks %s", doc);
	}
	free(table);
	free(spec);
}

static void test_every_route_needs_an_admin(void **state)
{
	(void)state;

	for (size_t i = 0; i < NROUTES; i++) {
		char path[200];
		struct h_resp r;

		route_path(path, sizeof(path), routes[i].pattern, routes[i].id);
		refused(routes[i].method, path, routes[i].body, NULL, "k-auth", 401, NULL);
		refused(routes[i].method, path, routes[i].body, member_token, "k-auth", 403, NULL);
		call(&r, routes[i].method, path, NULL, member_token, NULL);
		assert_string_equal(h_json_str(&r, "error.type"), "permission_error");
		h_resp_free(&r);
		call(&r, routes[i].method, path, NULL, NULL, NULL);
		assert_string_equal(h_json_str(&r, "error.type"), "authentication_error");
		h_resp_free(&r);
	}
}

/* ---- users and products --------------------------------------------------- */

static void test_users_search_block_unblock(void **state)
{
	struct h_resp r;
	long long audits = sql_int("SELECT COUNT(*) FROM audit_log");
	(void)state;

	admin(&r, "GET", "/v1/users?email=affiliate%40b4you", NULL, 200);
	assert_int_equal(count_data(&r), 1);
	assert_true(data_has_id(&r, AFFILIATE));
	assert_null(strstr(r.body, "password"));
	h_resp_free(&r);
	admin(&r, "GET", "/v1/users?name=Ana", NULL, 200);
	assert_int_equal(count_data(&r), 1);
	assert_true(data_has_id(&r, ADMIN));
	h_resp_free(&r);
	/* a LIKE wildcard in the search is literal text */
	admin(&r, "GET", "/v1/users?email=%25", NULL, 200);
	assert_int_equal(count_data(&r), 0);
	h_resp_free(&r);
	/* keyset: one per page, newest first, then the next */
	admin(&r, "GET", "/v1/users?limit=1", NULL, 200);
	assert_int_equal(count_data(&r), 1);
	assert_true(data_has_id(&r, ADMIN));
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(r.json, "has_more")));
	h_resp_free(&r);
	admin(&r, "GET", "/v1/users?limit=2&starting_after=" ADMIN, NULL, 200);
	assert_int_equal(count_data(&r), 2);
	assert_true(data_has_id(&r, AFFILIATE));
	assert_true(data_has_id(&r, PRODUCER));
	assert_true(cJSON_IsFalse(cJSON_GetObjectItem(r.json, "has_more")));
	h_resp_free(&r);

	refused("GET", "/v1/users?status=sleeping", NULL, admin_token, NULL, 400, "status");
	refused("GET", "/v1/users?limit=101", NULL, admin_token, NULL, 400, "limit");
	refused("GET", "/v1/users/" MISSING, NULL, admin_token, NULL, 404, NULL);
	refused("GET", "/v1/users/not-a-uuid", NULL, admin_token, NULL, 404, NULL);

	admin(&r, "POST", "/v1/users/" AFFILIATE "/block", "{\"reason\":\"fraud report\"}", 200);
	assert_string_equal(h_json_str(&r, "status"), "blocked");
	h_resp_free(&r);
	assert_int_equal(
	    sql_int("SELECT COUNT(*) FROM users WHERE id = '" AFFILIATE "' AND status = 'blocked'"),
	    1);
	assert_int_equal(sql_int("SELECT COUNT(*) FROM audit_log"), audits + 1);
	assert_int_equal(sql_int("SELECT COUNT(*) FROM audit_log WHERE action = 'user.block'"
				 " AND target_type = 'user' AND target_id = '" AFFILIATE "'"
				 " AND actor_id = '" ADMIN "' AND actor_role = 'admin'"
				 " AND ip = '127.0.0.1' AND request_id IS NOT NULL"
				 " AND JSON_VALUE(details, '$.reason') = 'fraud report'"),
			 1);
	admin(&r, "GET", "/v1/users?status=blocked", NULL, 200);
	assert_int_equal(count_data(&r), 1);
	h_resp_free(&r);

	/* blocking again changes nothing and writes no second audit row */
	admin(&r, "POST", "/v1/users/" AFFILIATE "/block", NULL, 200);
	assert_string_equal(h_json_str(&r, "status"), "blocked");
	h_resp_free(&r);
	assert_int_equal(sql_int("SELECT COUNT(*) FROM audit_log"), audits + 1);

	/* an admin cannot block themselves; bad bodies are refused */
	refused("POST", "/v1/users/" ADMIN "/block", NULL, admin_token, NULL, 409, NULL);
	refused("POST", "/v1/users/" PRODUCER "/block", "{\"reason\":5}", admin_token, NULL, 400,
		"reason");
	refused("POST", "/v1/users/" PRODUCER "/block", "{\"why\":\"x\"}", admin_token, NULL, 400,
		"why");
	refused("POST", "/v1/users/" PRODUCER "/block", "not json", admin_token, NULL, 400, NULL);
	refused("POST", "/v1/users/" MISSING "/block", NULL, admin_token, NULL, 404, NULL);

	admin(&r, "POST", "/v1/users/" AFFILIATE "/unblock", NULL, 200);
	assert_string_equal(h_json_str(&r, "status"), "active");
	h_resp_free(&r);
	assert_int_equal(sql_int("SELECT COUNT(*) FROM audit_log WHERE action = 'user.unblock'"
				 " AND target_id = '" AFFILIATE "'"),
			 1);
	admin(&r, "GET", "/v1/users/" AFFILIATE, NULL, 200);
	assert_string_equal(h_json_str(&r, "status"), "active");
	assert_string_equal(h_json_str(&r, "email"), "affiliate@b4you.dev");
	h_resp_free(&r);
}

static void test_products_filter_block_unblock(void **state)
{
	struct h_resp r;
	(void)state;

	admin(&r, "GET", "/v1/products?producer_id=" PRODUCER, NULL, 200);
	assert_int_equal(count_data(&r), 2);
	h_resp_free(&r);
	admin(&r, "GET", "/v1/products?q=MariaDB", NULL, 200);
	assert_int_equal(count_data(&r), 1);
	assert_true(data_has_id(&r, PRODUCT2));
	h_resp_free(&r);

	admin(&r, "POST", "/v1/products/" PRODUCT2 "/block", "{\"reason\":\"copyright\"}", 200);
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(r.json, "blocked")));
	h_resp_free(&r);
	assert_int_equal(sql_int("SELECT blocked FROM products WHERE id = '" PRODUCT2 "'"), 1);
	assert_int_equal(sql_int("SELECT COUNT(*) FROM audit_log WHERE action = 'product.block'"
				 " AND target_type = 'product' AND target_id = '" PRODUCT2 "'"),
			 1);
	admin(&r, "GET", "/v1/products?blocked=true", NULL, 200);
	assert_int_equal(count_data(&r), 1);
	assert_true(data_has_id(&r, PRODUCT2));
	h_resp_free(&r);
	admin(&r, "GET", "/v1/products?blocked=false&status=active", NULL, 200);
	assert_int_equal(count_data(&r), 1);
	assert_true(data_has_id(&r, PRODUCT));
	h_resp_free(&r);

	refused("GET", "/v1/products?blocked=maybe", NULL, admin_token, NULL, 400, "blocked");
	refused("GET", "/v1/products?status=gone", NULL, admin_token, NULL, 400, "status");
	refused("GET", "/v1/products?producer_id=1%27%20OR%201=1", NULL, admin_token, NULL, 400,
		"producer_id");
	refused("POST", "/v1/products/" MISSING "/block", NULL, admin_token, NULL, 404, NULL);

	admin(&r, "POST", "/v1/products/" PRODUCT2 "/unblock", NULL, 200);
	assert_true(cJSON_IsFalse(cJSON_GetObjectItem(r.json, "blocked")));
	h_resp_free(&r);
	assert_int_equal(sql_int("SELECT blocked FROM products WHERE id = '" PRODUCT2 "'"), 0);
}

/* ---- orders ---------------------------------------------------------------- */

static void test_orders_filters_and_detail(void **state)
{
	char paid[37], pix[37], other[37], path[200];
	struct h_resp r;
	const cJSON *charges, *charge;
	(void)state;

	make_order(paid, "paid", "card", 29700, "'2022-05-10 12:00:00'", CUSTOMER, AFFILIATE);
	make_order(pix, "waiting_payment", "pix", 29700, "'2022-05-11 12:00:00'", CUSTOMER, NULL);
	make_order(other, "refused", "card", 4700, "'2022-05-12 12:00:00'", CUSTOMER2, NULL);
	sqlf("INSERT INTO order_items (id, order_id, offer_id, type, price_cents) VALUES"
	     " ('01900000-0000-7000-8000-0000000b0001', '%s', '%s', 'main', 25000),"
	     " ('01900000-0000-7000-8000-0000000b0002', '%s', '%s', 'order_bump', 4700)",
	     paid, OFFER, paid, OFFER2);
	sqlf("INSERT INTO charges (id, order_id, acquirer, acquirer_charge_id, method, status,"
	     " amount_cents, card_brand, card_bin, card_last4, card_fingerprint) VALUES"
	     " ('01900000-0000-7000-8000-0000000c0001', '%s', 'sandbox', 'ch_1', 'card',"
	     " 'approved', 29700, 'visa', '411111', '1111', REPEAT('f', 64))",
	     paid);
	sqlf("INSERT INTO splits (id, order_id, party, user_id, amount_cents) VALUES"
	     " ('01900000-0000-7000-8000-0000000d0001', '%s', 'producer', '%s', 20000)",
	     paid, PRODUCER);
	sqlf("INSERT INTO invoices (id, order_id, dps_id, amount_cents, storage_key) VALUES"
	     " ('01900000-0000-7000-8000-0000000e0001', '%s', REPEAT('9', 45), 29700,"
	     " 'invoices/x.xml')",
	     paid);
	sqlf("INSERT INTO webhook_endpoints (id, owner_id, url, events, secret_enc) VALUES"
	     " ('01900000-0000-7000-8000-0000000f0001', '%s', 'https://example.com/hook',"
	     " '[\"approved-payment\"]', 'enc')",
	     PRODUCER);
	sqlf("INSERT INTO webhook_deliveries (id, endpoint_id, event_id, event, payload, status)"
	     " VALUES ('01900000-0000-7000-8000-0000000f1001',"
	     " '01900000-0000-7000-8000-0000000f0001', '01900000-0000-7000-8000-0000000f2001',"
	     " 'approved-payment', '{\"data\":{\"id\":\"%s\"}}', 'failed')",
	     paid);

	admin(&r, "GET", "/v1/orders?status=paid&from=2022-05-01&to=2022-05-31", NULL, 200);
	assert_int_equal(count_data(&r), 1);
	assert_true(data_has_id(&r, paid));
	h_resp_free(&r);
	admin(&r, "GET", "/v1/orders?payment_method=pix&from=2022-05-01", NULL, 200);
	assert_int_equal(count_data(&r), 1);
	assert_true(data_has_id(&r, pix));
	h_resp_free(&r);
	admin(&r, "GET", "/v1/orders?email=buyer2%40example.com", NULL, 200);
	assert_int_equal(count_data(&r), 1);
	assert_true(data_has_id(&r, other));
	h_resp_free(&r);
	admin(&r, "GET", "/v1/orders?affiliate_id=" AFFILIATE "&producer_id=" PRODUCER, NULL, 200);
	assert_true(data_has_id(&r, paid));
	assert_false(data_has_id(&r, pix));
	h_resp_free(&r);
	admin(&r, "GET", "/v1/orders?from=2022-05-11&to=2022-05-11", NULL, 200);
	assert_int_equal(count_data(&r), 1);
	assert_true(data_has_id(&r, pix));
	h_resp_free(&r);
	/* newest first, keyset */
	admin(&r, "GET", "/v1/orders?from=2022-05-01&to=2022-05-31&limit=2", NULL, 200);
	assert_int_equal(count_data(&r), 2);
	assert_true(data_has_id(&r, other));
	assert_true(data_has_id(&r, pix));
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(r.json, "has_more")));
	h_resp_free(&r);
	snprintf(path, sizeof(path), "/v1/orders?from=2022-05-01&to=2022-05-31&starting_after=%s",
		 pix);
	admin(&r, "GET", path, NULL, 200);
	assert_int_equal(count_data(&r), 1);
	assert_true(data_has_id(&r, paid));
	h_resp_free(&r);

	refused("GET", "/v1/orders?status=lost", NULL, admin_token, NULL, 400, "status");
	refused("GET", "/v1/orders?payment_method=cash", NULL, admin_token, NULL, 400,
		"payment_method");
	refused("GET", "/v1/orders?producer_id=nope", NULL, admin_token, NULL, 400, "producer_id");
	refused("GET", "/v1/orders?affiliate_id=nope", NULL, admin_token, NULL, 400,
		"affiliate_id");
	refused("GET", "/v1/orders?email=", NULL, admin_token, NULL, 400, "email");
	refused("GET", "/v1/orders?from=2022-02-30", NULL, admin_token, NULL, 400, "from");
	refused("GET", "/v1/orders?to=yesterday", NULL, admin_token, NULL, 400, "to");
	refused("GET", "/v1/orders?from=2022-05-02&to=2022-05-01", NULL, admin_token, NULL, 400,
		"to");
	refused("GET", "/v1/orders?starting_after=%27", NULL, admin_token, NULL, 400,
		"starting_after");

	snprintf(path, sizeof(path), "/v1/orders/%s", paid);
	admin(&r, "GET", path, NULL, 200);
	assert_string_equal(h_json_str(&r, "status"), "paid");
	assert_string_equal(h_json_str(&r, "customer_email"), "buyer1@example.com");
	/* the buyer snapshot as the sales API shows it: document masked */
	assert_string_equal(h_json_str(&r, "customer.full_name"), "Bia Compradora");
	assert_string_equal(h_json_str(&r, "customer.email"), "buyer1@example.com");
	assert_string_equal(h_json_str(&r, "customer.phone"), "+5511987654321");
	assert_string_equal(h_json_str(&r, "customer.document"), "***.456.789-**");
	assert_string_equal(h_json_str(&r, "customer.document_type"), "cpf");
	assert_null(strstr(r.body, "12345678909"));
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(r.json, "items")), 2);
	charges = cJSON_GetObjectItem(r.json, "charges");
	assert_int_equal(cJSON_GetArraySize(charges), 1);
	charge = cJSON_GetArrayItem(charges, 0);
	assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(charge, "card_brand")),
			    "visa");
	assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(charge, "card_last4")),
			    "1111");
	assert_null(strstr(r.body, "411111"));
	assert_null(strstr(r.body, "card_bin"));
	assert_null(strstr(r.body, "fingerprint"));
	assert_null(strstr(r.body, "access_token"));
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(r.json, "splits")), 1);
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(r.json, "refunds")), 0);
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(r.json, "webhook_deliveries")), 1);
	assert_string_equal(h_json_str(&r, "invoice.id"), "01900000-0000-7000-8000-0000000e0001");
	assert_true(cJSON_IsArray(cJSON_GetObjectItem(r.json, "audit_trail")));
	h_resp_free(&r);
	snprintf(path, sizeof(path), "/v1/orders/%s", pix);
	admin(&r, "GET", path, NULL, 200);
	assert_true(cJSON_IsNull(cJSON_GetObjectItem(r.json, "invoice")));
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(r.json, "webhook_deliveries")), 0);
	h_resp_free(&r);
	refused("GET", "/v1/orders/" MISSING, NULL, admin_token, NULL, 404, NULL);
}

/* ---- refunds ----------------------------------------------------------------- */

static void test_refund_full_with_idempotency(void **state)
{
	char order[37], path[200], sql[400];
	struct h_resp r, replay;
	char *refund_id;
	(void)state;

	make_order(order, "paid", "card", 10000, "UTC_TIMESTAMP(6)", CUSTOMER, NULL);
	snprintf(path, sizeof(path), "/v1/orders/%s/refunds", order);

	/* Idempotency-Key is required; bad bodies change nothing */
	refused("POST", path, "{\"reason\":\"asked\"}", admin_token, NULL, 400, "Idempotency-Key");
	refused("POST", path, "{}", admin_token, "k-full-1", 400, "reason");
	refused("POST", path, "{\"reason\":\"\"}", admin_token, "k-full-1", 422, "reason");
	refused("POST", path, "{\"reason\":\"a\",\"amount_cents\":0}", admin_token, "k-full-1", 422,
		"amount_cents");
	refused("POST", path, "{\"reason\":\"a\",\"amount_cents\":1.5}", admin_token, "k-full-1",
		400, "amount_cents");
	refused("POST", path, "{\"reason\":\"a\",\"amount_cents\":10001}", admin_token, "k-full-1",
		422, "amount_cents");
	refused("POST", path, "{\"reason\":\"a\",\"extra\":1}", admin_token, "k-full-1", 400,
		"extra");
	refused("POST", "/v1/orders/" MISSING "/refunds", "{\"reason\":\"a\"}", admin_token,
		"k-full-1", 404, NULL);

	call(&r, "POST", path, "{\"reason\":\"customer asked\"}", admin_token, "k-full-1");
	assert_int_equal(r.status, 201);
	assert_null(h_resp_header(&r, "Idempotent-Replayed"));
	assert_int_equal((long long)num(r.json, "amount_cents"), 10000);
	assert_string_equal(h_json_str(&r, "status"), "requested");
	assert_string_equal(h_json_str(&r, "order_id"), order);
	refund_id = strdup(h_json_str(&r, "id"));

	snprintf(sql, sizeof(sql), "SELECT status FROM orders WHERE id = '%s'", order);
	{
		char *status = h_sql_value(db_name, sql);
		assert_string_equal(status, "refund_requested");
		free(status);
	}
	assert_int_equal(sql_int("SELECT COUNT(*) FROM jobs WHERE type = 'refund.process'"
				 " AND dedup_key = 'refund:%s'"
				 " AND JSON_VALUE(payload, '$.refund_id') = '%s'",
				 refund_id, refund_id),
			 1);
	assert_int_equal(sql_int("SELECT COUNT(*) FROM audit_log WHERE action ="
				 " 'order.refund_requested' AND target_id = '%s'",
				 order),
			 1);

	/* the same key and body: the stored answer, nothing new */
	call(&replay, "POST", path, "{ \"reason\" : \"customer asked\" }", admin_token, "k-full-1");
	assert_int_equal(replay.status, 201);
	assert_string_equal(h_resp_header(&replay, "Idempotent-Replayed"), "true");
	assert_string_equal(h_json_str(&replay, "id"), refund_id);
	assert_string_equal(replay.body, r.body);
	h_resp_free(&replay);
	h_resp_free(&r);
	assert_int_equal(sql_int("SELECT COUNT(*) FROM refunds WHERE order_id = '%s'", order), 1);
	assert_int_equal(sql_int("SELECT COUNT(*) FROM jobs WHERE type = 'refund.process'"
				 " AND JSON_VALUE(payload, '$.refund_id') = '%s'",
				 refund_id),
			 1);

	/* the same key with another body, or a key still in use */
	refused("POST", path, "{\"reason\":\"other reason\"}", admin_token, "k-full-1", 422,
		"Idempotency-Key");
	sqlf("INSERT INTO idempotency_keys (scope, idem_key, request_hash, status, locked_until,"
	     " expires_at) VALUES ('backoffice_refunds', 'k-busy', REPEAT('0', 64), 'in_progress',"
	     " UTC_TIMESTAMP(6) + INTERVAL 1 HOUR, UTC_TIMESTAMP(6) + INTERVAL 1 DAY)");
	refused("POST", path, "{\"reason\":\"customer asked\"}", admin_token, "k-busy", 409,
		"Idempotency-Key");
	/* nothing left to refund */
	refused("POST", path, "{\"reason\":\"again\"}", admin_token, "k-full-2", 409, NULL);

	snprintf(path, sizeof(path), "/v1/orders/%s", order);
	admin(&r, "GET", path, NULL, 200);
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(r.json, "refunds")), 1);
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(r.json, "audit_trail")), 1);
	h_resp_free(&r);
	free(refund_id);
}

static void test_refund_partial_and_states(void **state)
{
	char order[37], waiting[37], path[200];
	struct h_resp r;
	(void)state;

	make_order(order, "paid", "pix", 1000, "UTC_TIMESTAMP(6)", CUSTOMER, NULL);
	snprintf(path, sizeof(path), "/v1/orders/%s/refunds", order);
	call(&r, "POST", path, "{\"reason\":\"part\",\"amount_cents\":300}", admin_token, "k-p-1");
	assert_int_equal(r.status, 201);
	assert_int_equal((long long)num(r.json, "amount_cents"), 300);
	h_resp_free(&r);

	/* over the rest (700) -> 422 on amount_cents, nothing changes */
	refused("POST", path, "{\"reason\":\"too much\",\"amount_cents\":800}", admin_token,
		"k-p-2", 422, "amount_cents");
	/* the rest of a partial refund on a refund_requested order */
	call(&r, "POST", path, "{\"reason\":\"the rest\"}", admin_token, "k-p-3");
	assert_int_equal(r.status, 201);
	assert_int_equal((long long)num(r.json, "amount_cents"), 700);
	h_resp_free(&r);
	assert_int_equal(
	    sql_int("SELECT SUM(amount_cents) FROM refunds WHERE order_id = '%s'", order), 1000);
	assert_int_equal(sql_int("SELECT COUNT(*) FROM jobs WHERE type = 'refund.process'"
				 " AND JSON_VALUE(payload, '$.refund_id') IN"
				 " (SELECT id FROM refunds WHERE order_id = '%s')",
				 order),
			 2);
	refused("POST", path, "{\"reason\":\"more\",\"amount_cents\":1}", admin_token, "k-p-4", 409,
		NULL);

	/* a failed refund frees its amount again */
	sqlf("UPDATE refunds SET status = 'failed' WHERE order_id = '%s' AND amount_cents = 700",
	     order);
	call(&r, "POST", path, "{\"reason\":\"retry\",\"amount_cents\":700}", admin_token, "k-p-5");
	assert_int_equal(r.status, 201);
	h_resp_free(&r);

	/* only paid (or refund_requested) orders */
	make_order(waiting, "waiting_payment", "boleto", 5000, "UTC_TIMESTAMP(6)", CUSTOMER, NULL);
	snprintf(path, sizeof(path), "/v1/orders/%s/refunds", waiting);
	refused("POST", path, "{\"reason\":\"not paid\"}", admin_token, "k-p-6", 409, NULL);
	assert_int_equal(sql_int("SELECT COUNT(*) FROM orders WHERE id = '%s'"
				 " AND status = 'waiting_payment'",
				 waiting),
			 1);
}

/* Concurrent refund requests (one thread each, assertions after the join). */
struct racer {
	const char *url, *body;
	char idem[300], auth[1200];
	long status;
};

static void *race_refund(void *arg)
{
	struct racer *racer = arg;
	const char *headers[] = {racer->auth, racer->idem, NULL};
	struct h_resp r;

	racer->status = h_http(&r, "POST", racer->url, racer->body, headers) == 0 ? r.status : -1;
	h_resp_free(&r);
	return NULL;
}

static void run_racers(struct racer *racers, size_t n, const char *url, const char *body,
		       bool same_key)
{
	pthread_t threads[8];

	assert_true(n <= 8);
	for (size_t i = 0; i < n; i++) {
		racers[i].url = url;
		racers[i].body = body;
		snprintf(racers[i].auth, sizeof(racers[i].auth), "Authorization: Bearer %s",
			 admin_token);
		snprintf(racers[i].idem, sizeof(racers[i].idem), "Idempotency-Key: race-%s-%zu",
			 url + strlen(url) - 20, same_key ? (size_t)0 : i);
		assert_int_equal(pthread_create(&threads[i], NULL, race_refund, &racers[i]), 0);
	}
	for (size_t i = 0; i < n; i++)
		pthread_join(threads[i], NULL);
}

static void test_refund_races_make_one_refund(void **state)
{
	char order[37], url[300];
	struct racer racers[8];
	int created = 0;
	(void)state;

	/* one key sent 8 times at once: one refund, one job; the others see the
	 * key in progress (409) or replay the answer (201) */
	make_order(order, "paid", "card", 5000, "UTC_TIMESTAMP(6)", CUSTOMER, NULL);
	snprintf(url, sizeof(url), "%s", h_url(&bo, ""));
	snprintf(url + strlen(url), sizeof(url) - strlen(url), "/v1/orders/%s/refunds", order);
	run_racers(racers, 8, url, "{\"reason\":\"race\"}", true);
	for (size_t i = 0; i < 8; i++) {
		assert_true(racers[i].status == 201 || racers[i].status == 409);
		created += racers[i].status == 201;
	}
	assert_true(created >= 1);
	assert_int_equal(sql_int("SELECT COUNT(*) FROM refunds WHERE order_id = '%s'", order), 1);
	assert_int_equal(sql_int("SELECT COUNT(*) FROM jobs WHERE type = 'refund.process' AND"
				 " JSON_VALUE(payload, '$.refund_id') IN"
				 " (SELECT id FROM refunds WHERE order_id = '%s')",
				 order),
			 1);

	/* 8 different keys for the whole order at once: exactly one wins, the
	 * order lock makes the rest see nothing left (409) */
	make_order(order, "paid", "pix", 5000, "UTC_TIMESTAMP(6)", CUSTOMER, NULL);
	snprintf(url, sizeof(url), "%s", h_url(&bo, ""));
	snprintf(url + strlen(url), sizeof(url) - strlen(url), "/v1/orders/%s/refunds", order);
	run_racers(racers, 8, url, "{\"reason\":\"race\"}", false);
	created = 0;
	for (size_t i = 0; i < 8; i++) {
		assert_true(racers[i].status == 201 || racers[i].status == 409);
		created += racers[i].status == 201;
	}
	assert_int_equal(created, 1);
	assert_int_equal(
	    sql_int("SELECT SUM(amount_cents) FROM refunds WHERE order_id = '%s'", order), 5000);
	assert_int_equal(sql_int("SELECT COUNT(*) FROM idempotency_keys WHERE idem_key LIKE"
				 " 'race-%%' AND status = 'in_progress'"),
			 0);
}

/* ---- affiliations, deliveries, jobs --------------------------------------------- */

static void test_affiliation_override_enqueues_event(void **state)
{
	const char *id = "01900000-0000-7000-8000-000000000302";
	char path[200];
	struct h_resp r;
	(void)state;

	sqlf("INSERT INTO affiliations (id, product_id, affiliate_id, ref, status) VALUES"
	     " ('%s', '%s', '%s', 'PENDREF01', 'pending')",
	     id, PRODUCT2, AFFILIATE);
	admin(&r, "GET", "/v1/affiliations?status=pending", NULL, 200);
	assert_int_equal(count_data(&r), 1);
	assert_true(data_has_id(&r, id));
	h_resp_free(&r);
	refused("GET", "/v1/affiliations?status=maybe", NULL, admin_token, NULL, 400, "status");

	snprintf(path, sizeof(path), "/v1/affiliations/%s/approve", id);
	admin(&r, "POST", path, NULL, 200);
	assert_string_equal(h_json_str(&r, "status"), "approved");
	h_resp_free(&r);
	assert_int_equal(sql_int("SELECT COUNT(*) FROM jobs WHERE type = 'webhook.event'"
				 " AND dedup_key = 'approved-affiliate:%s:approved'"
				 " AND JSON_VALUE(payload, '$.event') = 'approved-affiliate'"
				 " AND JSON_VALUE(payload, '$.owner_id') = '" AFFILIATE "'"
				 " AND JSON_VALUE(payload, '$.product_id') = '" PRODUCT2 "'"
				 " AND JSON_VALUE(payload, '$.data.id') = '%s'",
				 id, id),
			 1);
	assert_int_equal(sql_int("SELECT COUNT(*) FROM audit_log WHERE action = "
				 "'affiliation.approve' AND target_id = '%s'",
				 id),
			 1);
	/* approving again: no change, no second event */
	refused("POST", path, NULL, admin_token, NULL, 200, NULL);

	snprintf(path, sizeof(path), "/v1/affiliations/%s/reject", id);
	admin(&r, "POST", path, "{\"reason\":\"spam\"}", 200);
	assert_string_equal(h_json_str(&r, "status"), "rejected");
	h_resp_free(&r);
	assert_int_equal(sql_int("SELECT COUNT(*) FROM jobs WHERE type = 'webhook.event'"
				 " AND dedup_key = 'refused-affiliate:%s:rejected'",
				 id),
			 1);
	refused("POST", "/v1/affiliations/" MISSING "/reject", NULL, admin_token, NULL, 404, NULL);
}

static void test_webhook_resend_creates_a_job(void **state)
{
	const char *id = "01900000-0000-7000-8000-0000000f1001";
	struct h_resp r;
	long long jobs;
	(void)state;

	/* the failed delivery from the orders test (insert it when run alone) */
	if (sql_int("SELECT COUNT(*) FROM webhook_deliveries WHERE id = '%s'", id) == 0) {
		sqlf("INSERT IGNORE INTO webhook_endpoints (id, owner_id, url, events, secret_enc)"
		     " VALUES ('01900000-0000-7000-8000-0000000f0001', '%s',"
		     " 'https://example.com/hook', '[\"approved-payment\"]', 'enc')",
		     PRODUCER);
		sqlf("INSERT INTO webhook_deliveries (id, endpoint_id, event_id, event, payload,"
		     " status) VALUES ('%s', '01900000-0000-7000-8000-0000000f0001',"
		     " '01900000-0000-7000-8000-0000000f2001', 'approved-payment', '{}', 'failed')",
		     id);
	}
	sqlf("UPDATE webhook_deliveries SET status = 'failed' WHERE id = '%s'", id);
	admin(&r, "GET", "/v1/webhook-deliveries?status=failed", NULL, 200);
	assert_true(data_has_id(&r, id));
	h_resp_free(&r);
	refused("GET", "/v1/webhook-deliveries?status=lost", NULL, admin_token, NULL, 400,
		"status");

	jobs = sql_int("SELECT COUNT(*) FROM jobs WHERE type = 'webhook.deliver'"
		       " AND JSON_VALUE(payload, '$.delivery_id') = '%s'",
		       id);
	admin(&r, "POST", "/v1/webhook-deliveries/01900000-0000-7000-8000-0000000f1001/resend",
	      NULL, 202);
	assert_string_equal(h_json_str(&r, "status"), "pending");
	h_resp_free(&r);
	admin(&r, "POST", "/v1/webhook-deliveries/01900000-0000-7000-8000-0000000f1001/resend",
	      NULL, 202);
	h_resp_free(&r);
	/* each resend is a new attempt: two jobs, no dedup key */
	assert_int_equal(
	    sql_int("SELECT COUNT(*) FROM jobs WHERE type = 'webhook.deliver'"
		    " AND dedup_key IS NULL AND JSON_VALUE(payload, '$.delivery_id') = '%s'",
		    id),
	    jobs + 2);
	assert_int_equal(sql_int("SELECT COUNT(*) FROM webhook_deliveries WHERE id = '%s'"
				 " AND status = 'pending'",
				 id),
			 1);
	assert_int_equal(sql_int("SELECT COUNT(*) FROM audit_log WHERE action ="
				 " 'webhook_delivery.resend' AND target_id = '%s'",
				 id),
			 2);
	refused("POST", "/v1/webhook-deliveries/" MISSING "/resend", NULL, admin_token, NULL, 404,
		NULL);
}

static void test_dead_job_retry(void **state)
{
	char path[100], id_text[32];
	struct h_resp r;
	long long id;
	(void)state;

	sqlf("INSERT INTO jobs (type, payload, status, attempts, max_attempts, last_error, run_at)"
	     " VALUES ('invoice.issue', '{\"order_id\":\"x\"}', 'dead', 10, 10, 'boom',"
	     " '2020-01-01 00:00:00')");
	id = sql_int("SELECT MAX(id) FROM jobs");
	snprintf(id_text, sizeof(id_text), "%lld", id);

	admin(&r, "GET", "/v1/jobs?status=dead&type=invoice.issue", NULL, 200);
	assert_int_equal(count_data(&r), 1);
	assert_true(data_has_id(&r, id_text));
	h_resp_free(&r);
	refused("GET", "/v1/jobs?status=zombie", NULL, admin_token, NULL, 400, "status");
	refused("GET", "/v1/jobs?type=bad%20type", NULL, admin_token, NULL, 400, "type");
	refused("GET", "/v1/jobs?starting_after=abc", NULL, admin_token, NULL, 400,
		"starting_after");

	snprintf(path, sizeof(path), "/v1/jobs/%lld/retry", id);
	admin(&r, "POST", path, NULL, 200);
	assert_string_equal(h_json_str(&r, "status"), "ready");
	assert_int_equal((long long)num(r.json, "attempts"), 0);
	h_resp_free(&r);
	assert_int_equal(sql_int("SELECT COUNT(*) FROM jobs WHERE id = %lld AND status = 'ready'"
				 " AND attempts = 0 AND run_at > '2020-01-02'",
				 id),
			 1);
	assert_int_equal(sql_int("SELECT COUNT(*) FROM audit_log WHERE action = 'job.retry'"
				 " AND target_type = 'job' AND target_id = '%lld'",
				 id),
			 1);
	/* only dead jobs */
	refused("POST", path, NULL, admin_token, NULL, 409, NULL);
	refused("POST", "/v1/jobs/999999999/retry", NULL, admin_token, NULL, 404, NULL);
	refused("POST", "/v1/jobs/x1/retry", NULL, admin_token, NULL, 404, NULL);
}

/* ---- analytics ---------------------------------------------------------------- */

static const cJSON *group(const struct h_resp *r, const char *key)
{
	const cJSON *item;

	cJSON_ArrayForEach(item, cJSON_GetObjectItem(r->json, "data"))
	{
		const char *have = cJSON_GetStringValue(cJSON_GetObjectItem(item, "key"));
		if ((!key && cJSON_IsNull(cJSON_GetObjectItem(item, "key"))) ||
		    (key && have && strcmp(have, key) == 0))
			return item;
	}
	fail_msg("no group %s", key ? key : "null");
	return NULL;
}

static void test_analytics_sales(void **state)
{
	char id[37];
	struct h_resp r;
	const cJSON *g;
	(void)state;

	/* days of the producer's time zone (UTC-3): 2021-03-01: card paid 10000,
	 * card refused 5000, pix paid 2000 (affiliate), pix waiting 3000;
	 * 2021-03-02: card refunded 7000, card refused 1000 (its last second) */
	make_order(id, "paid", "card", 10000, "'2021-03-01 10:00:00'", CUSTOMER, NULL);
	make_order(id, "refused", "card", 5000, "'2021-03-01 11:00:00'", CUSTOMER, NULL);
	make_order(id, "paid", "pix", 2000, "'2021-03-01 12:00:00'", CUSTOMER, AFFILIATE);
	make_order(id, "waiting_payment", "pix", 3000, "'2021-03-01 13:00:00'", CUSTOMER, NULL);
	make_order(id, "refunded", "card", 7000, "'2021-03-02 10:00:00'", CUSTOMER2, NULL);
	make_order(id, "refused", "card", 1000, "'2021-03-03 02:59:59'", CUSTOMER2, NULL);
	/* outside the range */
	make_order(id, "paid", "card", 99900, "'2021-03-03 03:00:00'", CUSTOMER, NULL);
	/* the fixture wrote orders with SQL, not through the domain layer */
	assert_int_equal(h_db_rebuild_aggregates(db_name), 0);

	admin(&r, "GET", "/v1/analytics/sales?from=2021-03-01&to=2021-03-02&group_by=day", NULL,
	      200);
	assert_int_equal(count_data(&r), 2);
	g = group(&r, "2021-03-01");
	assert_int_equal((long long)num(g, "gross_cents"), 12000);
	assert_int_equal((long long)num(g, "count"), 4);
	assert_int_equal((long long)num(g, "paid_count"), 2);
	assert_true(num(g, "approval_rate") > 0.6666 && num(g, "approval_rate") < 0.6668);
	g = group(&r, "2021-03-02");
	assert_int_equal((long long)num(g, "gross_cents"), 7000);
	assert_int_equal((long long)num(g, "count"), 2);
	assert_int_equal((long long)num(g, "paid_count"), 1);
	assert_true(num(g, "approval_rate") > 0.4999 && num(g, "approval_rate") < 0.5001);
	h_resp_free(&r);

	admin(&r, "GET",
	      "/v1/analytics/sales?from=2021-03-01&to=2021-03-02&group_by=payment_method", NULL,
	      200);
	assert_int_equal(count_data(&r), 2);
	g = group(&r, "card");
	assert_int_equal((long long)num(g, "gross_cents"), 17000);
	assert_int_equal((long long)num(g, "count"), 4);
	assert_true(num(g, "approval_rate") > 0.4999 && num(g, "approval_rate") < 0.5001);
	g = group(&r, "pix");
	assert_int_equal((long long)num(g, "gross_cents"), 2000);
	assert_int_equal((long long)num(g, "count"), 2);
	assert_true(num(g, "approval_rate") > 0.9999);
	h_resp_free(&r);

	admin(&r, "GET", "/v1/analytics/sales?from=2021-03-01&to=2021-03-02&group_by=affiliate",
	      NULL, 200);
	assert_int_equal(count_data(&r), 2);
	g = group(&r, AFFILIATE);
	assert_int_equal((long long)num(g, "gross_cents"), 2000);
	assert_int_equal((long long)num(g, "count"), 1);
	g = group(&r, NULL);
	assert_int_equal((long long)num(g, "gross_cents"), 17000);
	assert_int_equal((long long)num(g, "count"), 5);
	h_resp_free(&r);

	admin(&r, "GET", "/v1/analytics/sales?from=2021-03-01&to=2021-03-03&group_by=product", NULL,
	      200);
	assert_int_equal(count_data(&r), 1);
	g = group(&r, PRODUCT);
	assert_int_equal((long long)num(g, "gross_cents"), 12000 + 7000 + 99900);
	assert_int_equal((long long)num(g, "count"), 7);
	h_resp_free(&r);

	/* a waiting-only day has no approval rate */
	make_order(id, "waiting_payment", "boleto", 500, "'2021-04-01 10:00:00'", CUSTOMER, NULL);
	assert_int_equal(h_db_rebuild_aggregates(db_name), 0);
	admin(&r, "GET", "/v1/analytics/sales?from=2021-04-01&to=2021-04-01", NULL, 200);
	g = group(&r, "2021-04-01");
	assert_true(cJSON_IsNull(cJSON_GetObjectItem(g, "approval_rate")));
	assert_int_equal((long long)num(g, "gross_cents"), 0);
	h_resp_free(&r);

	refused("GET", "/v1/analytics/sales?group_by=week", NULL, admin_token, NULL, 400,
		"group_by");
	refused("GET", "/v1/analytics/sales?group_by=day%3B%20DROP%20TABLE%20orders", NULL,
		admin_token, NULL, 400, "group_by");
	refused("GET", "/v1/analytics/sales?from=2021-13-01", NULL, admin_token, NULL, 400, "from");
}

/* The count of the funnel's step-th step of DEMOOFFER1 on one day. */
static long long funnel_count(const char *day, int step)
{
	char path[160];
	struct h_resp r;
	long long count;

	snprintf(path, sizeof(path), "/v1/analytics/funnel?offer_code=DEMOOFFER1&from=%s&to=%s",
		 day, day);
	admin(&r, "GET", path, NULL, 200);
	count =
	    (long long)num(cJSON_GetArrayItem(cJSON_GetObjectItem(r.json, "steps"), step), "count");
	h_resp_free(&r);
	return count;
}

static void test_analytics_funnel(void **state)
{
	static const char *const expected_order[] = {
	    "checkout_page_view",
	    "checkout_session_started",
	    "checkout_identification_filled",
	    "checkout_payment_method_selected",
	    "checkout_coupon_applied",
	    "checkout_order_bump_added",
	    "checkout_submit_clicked",
	    "checkout_conversion_success",
	    "checkout_conversion_failed",
	};
	/* days are the producer's (-03:00): f13, 02:00 UTC on the 12th, is
	 * the 11th's last hour */
	static const long long expected_count[] = {4, 2, 2, 1, 0, 0, 1, 1, 0};
	struct h_resp r;
	const cJSON *steps;
	(void)state;

	sqlf("INSERT INTO checkout_events (event_id, offer_id, event_name, occurred_at) VALUES"
	     " ('f1', '%s', 'checkout_page_view', '2023-01-10 10:00:00'),"
	     " ('f2', '%s', 'checkout_page_view', '2023-01-10 10:01:00'),"
	     " ('f3', '%s', 'checkout_page_view', '2023-01-11 10:00:00'),"
	     " ('f4', '%s', 'checkout_session_started', '2023-01-10 10:02:00'),"
	     " ('f5', '%s', 'checkout_session_started', '2023-01-11 10:02:00'),"
	     " ('f6', '%s', 'checkout_identification_filled', '2023-01-10 10:03:00'),"
	     " ('f7', '%s', 'checkout_identification_filled', '2023-01-11 10:03:00'),"
	     " ('f8', '%s', 'checkout_payment_method_selected', '2023-01-10 10:04:00'),"
	     " ('f9', '%s', 'checkout_submit_clicked', '2023-01-10 10:05:00'),"
	     " ('f10', '%s', 'checkout_conversion_success', '2023-01-10 10:06:00'),"
	     " ('f11', '%s', 'checkout_page_view', '2023-02-01 10:00:00'),"
	     " ('f12', '%s', 'checkout_page_view', '2023-01-10 10:00:00'),"
	     " ('f13', '%s', 'checkout_page_view', '2023-01-12 02:00:00'),"
	     " ('f14', '%s', 'checkout_page_view', '2023-01-10 02:59:59')",
	     OFFER, OFFER, OFFER, OFFER, OFFER, OFFER, OFFER, OFFER, OFFER, OFFER, OFFER, OFFER2,
	     OFFER, OFFER);

	admin(&r, "GET", "/v1/analytics/funnel?offer_code=DEMOOFFER1&from=2023-01-10&to=2023-01-11",
	      NULL, 200);
	steps = cJSON_GetObjectItem(r.json, "steps");
	assert_int_equal(cJSON_GetArraySize(steps), 9);
	for (int i = 0; i < 9; i++) {
		const cJSON *step = cJSON_GetArrayItem(steps, i);
		assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(step, "event_name")),
				    expected_order[i]);
		assert_int_equal((long long)num(step, "count"), expected_count[i]);
	}
	h_resp_free(&r);
	assert_int_equal(funnel_count("2023-01-11", 0), 2);
	assert_int_equal(funnel_count("2023-01-11", 3), 0);
	/* f14, 02:59:59 UTC on the 10th, is the 9th's last second */
	assert_int_equal(funnel_count("2023-01-09", 0), 1);
	assert_int_equal(funnel_count("2023-01-09", 1), 0);

	refused("GET", "/v1/analytics/funnel", NULL, admin_token, NULL, 400, "offer_code");
	refused("GET", "/v1/analytics/funnel?offer_code=x%27--", NULL, admin_token, NULL, 400,
		"offer_code");
	refused("GET", "/v1/analytics/funnel?offer_code=NOSUCHCODE", NULL, admin_token, NULL, 404,
		NULL);
	refused("GET", "/v1/analytics/funnel?offer_code=DEMOOFFER1&to=2023-1-1", NULL, admin_token,
		NULL, 400, "to");
}

/* ---- reports, audit log, settings ------------------------------------------------ */

static void test_report_export_and_download(void **state)
{
	struct b4_storage_config cfg = {.backend = B4_STORAGE_LOCAL, .dir = storage_dir};
	struct b4_storage *storage;
	char path[200], key[100], err[200], *id;
	const char csv[] = "order_id,status\r\nx,paid\r\n";
	struct h_resp r;
	(void)state;

	refused("POST", "/v1/reports/orders", "{\"status\":\"lost\"}", admin_token, NULL, 422,
		"status");
	refused("POST", "/v1/reports/orders", "{\"from\":\"2022-02-30\"}", admin_token, NULL, 422,
		"from");
	refused("POST", "/v1/reports/orders", "{\"colour\":\"red\"}", admin_token, NULL, 400,
		"colour");
	refused("POST", "/v1/reports/orders", "[]", admin_token, NULL, 400, NULL);
	refused("POST", "/v1/reports/orders", "{\"producer_id\":\"x\"}", admin_token, NULL, 422,
		"producer_id");

	admin(&r, "POST", "/v1/reports/orders", "{\"status\":\"paid\",\"from\":\"2022-01-01\"}",
	      202);
	assert_string_equal(h_json_str(&r, "status"), "pending");
	id = strdup(h_json_str(&r, "id"));
	h_resp_free(&r);
	assert_int_equal(sql_int("SELECT COUNT(*) FROM reports WHERE id = '%s' AND status ="
				 " 'pending' AND created_by = '" ADMIN "'"
				 " AND JSON_VALUE(filters, '$.status') = 'paid'",
				 id),
			 1);
	assert_int_equal(sql_int("SELECT COUNT(*) FROM jobs WHERE type = 'report.export'"
				 " AND JSON_VALUE(payload, '$.report_id') = '%s'"
				 " AND JSON_VALUE(payload, '$.filters.from') = '2022-01-01'",
				 id),
			 1);
	assert_int_equal(sql_int("SELECT COUNT(*) FROM audit_log WHERE action = 'report.create'"
				 " AND target_id = '%s'",
				 id),
			 1);

	snprintf(path, sizeof(path), "/v1/reports/%s", id);
	admin(&r, "GET", path, NULL, 200);
	assert_string_equal(h_json_str(&r, "status"), "pending");
	assert_true(cJSON_IsNull(cJSON_GetObjectItem(r.json, "download_url")));
	h_resp_free(&r);
	snprintf(path, sizeof(path), "/v1/reports/%s/download", id);
	refused("GET", path, NULL, admin_token, NULL, 409, NULL);

	/* what b4-worker's report.export does when it finishes */
	storage = b4_storage_new(&cfg, err, sizeof(err));
	assert_non_null(storage);
	snprintf(key, sizeof(key), "reports/%s.csv", id);
	assert_int_equal(b4_storage_put(storage, key, csv, strlen(csv), "text/csv"), 0);
	b4_storage_free(storage);
	sqlf("UPDATE reports SET status = 'done', storage_key = '%s', row_count = 1,"
	     " finished_at = UTC_TIMESTAMP(6) WHERE id = '%s'",
	     key, id);

	snprintf(path, sizeof(path), "/v1/reports/%s", id);
	admin(&r, "GET", path, NULL, 200);
	assert_string_equal(h_json_str(&r, "status"), "done");
	assert_non_null(strstr(h_json_str(&r, "download_url"), id));
	h_resp_free(&r);
	snprintf(path, sizeof(path), "/v1/reports/%s/download", id);
	admin(&r, "GET", path, NULL, 200);
	assert_non_null(strstr(h_resp_header(&r, "Content-Type"), "text/csv"));
	assert_int_equal(r.body_len, strlen(csv));
	assert_memory_equal(r.body, csv, strlen(csv));
	h_resp_free(&r);
	refused("GET", "/v1/reports/" MISSING, NULL, admin_token, NULL, 404, NULL);
	free(id);
}

/* The whole path: POST here, b4-worker's report.export writes the CSV to
 * the shared storage directory, the download streams it. */
static void test_report_end_to_end_with_the_worker(void **state)
{
	char env_storage[1100], path[200], paid[37], refused_order[37], *id;
	const char *env[] = {env_storage, "B4_STORAGE=local", "B4_WORKER_TYPES=report.export",
			     NULL};
	struct h_proc worker;
	struct h_resp r;
	bool done = false;
	(void)state;

	make_order(paid, "paid", "card", 12300, "'2024-02-20 10:00:00'", CUSTOMER, NULL);
	make_order(refused_order, "refused", "card", 4500, "'2024-02-20 11:00:00'", CUSTOMER, NULL);
	snprintf(env_storage, sizeof(env_storage), "B4_STORAGE_DIR=%s", storage_dir);
	assert_int_equal(h_start(&worker, "b4-worker", db_name, env), 0);

	admin(&r, "POST", "/v1/reports/orders",
	      "{\"status\":\"paid\",\"from\":\"2024-02-20\",\"to\":\"2024-02-20\"}", 202);
	id = strdup(h_json_str(&r, "id"));
	h_resp_free(&r);
	snprintf(path, sizeof(path), "/v1/reports/%s", id);
	/* bounded wait for the worker (no timing assertion: only that it ends) */
	for (int i = 0; i < 300 && !done; i++) {
		admin(&r, "GET", path, NULL, 200);
		done = strcmp(h_json_str(&r, "status"), "done") == 0;
		assert_string_not_equal(h_json_str(&r, "status"), "failed");
		h_resp_free(&r);
		if (!done)
			h_sleep_ms(100);
	}
	assert_true(done);
	snprintf(path, sizeof(path), "/v1/reports/%s/download", id);
	admin(&r, "GET", path, NULL, 200);
	assert_non_null(strstr(h_resp_header(&r, "Content-Type"), "text/csv"));
	assert_non_null(strstr(r.body, "order_id,"));
	assert_non_null(strstr(r.body, paid));
	assert_null(strstr(r.body, refused_order));
	h_resp_free(&r);
	assert_int_equal(h_stop(&worker, SIGTERM, 10000), 0);
	free(id);
}

static void test_audit_log_filters_and_pages(void **state)
{
	struct h_resp r;
	const cJSON *first;
	char path[200], *last_id;
	(void)state;

	sqlf("INSERT INTO audit_log (actor_id, actor_role, action, target_type, target_id,"
	     " created_at) VALUES ('%s', 'admin', 'x.one', 'widget', 'w1', '2019-06-01 10:00:00'),"
	     " ('%s', 'admin', 'x.two', 'widget', 'w1', '2019-06-02 10:00:00'),"
	     " ('%s', 'admin', 'x.three', 'widget', 'w2', '2019-06-03 10:00:00')",
	     ADMIN, ADMIN, ADMIN);
	admin(&r, "GET", "/v1/audit-log?target_type=widget&target_id=w1", NULL, 200);
	assert_int_equal(count_data(&r), 2);
	h_resp_free(&r);
	admin(&r, "GET", "/v1/audit-log?target_type=widget&from=2019-06-02&to=2019-06-02", NULL,
	      200);
	assert_int_equal(count_data(&r), 1);
	h_resp_free(&r);
	admin(&r, "GET", "/v1/audit-log?target_type=widget&limit=2&actor_id=" ADMIN, NULL, 200);
	assert_int_equal(count_data(&r), 2);
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(r.json, "has_more")));
	first = cJSON_GetArrayItem(cJSON_GetObjectItem(r.json, "data"), 0);
	assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(first, "action")), "x.three");
	last_id = strdup(cJSON_GetStringValue(
	    cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(r.json, "data"), 1), "id")));
	h_resp_free(&r);
	snprintf(path, sizeof(path), "/v1/audit-log?target_type=widget&starting_after=%s", last_id);
	admin(&r, "GET", path, NULL, 200);
	assert_int_equal(count_data(&r), 1);
	assert_false(cJSON_IsTrue(cJSON_GetObjectItem(r.json, "has_more")));
	h_resp_free(&r);
	free(last_id);
	refused("GET", "/v1/audit-log?actor_id=me", NULL, admin_token, NULL, 400, "actor_id");
	refused("GET", "/v1/audit-log?target_type=Wid%20get", NULL, admin_token, NULL, 400,
		"target_type");
	refused("GET", "/v1/audit-log?starting_after=01900000-0000", NULL, admin_token, NULL, 400,
		"starting_after");
}

static void test_settings_round_trip_and_validation(void **state)
{
	static const struct {
		const char *body;
		long status;
		const char *param;
	} bad[] = {
	    {"{}", 400, "priority"},
	    {"{\"priority\":[]}", 422, "priority"},
	    {"{\"priority\":[\"a\",\"b\",\"c\",\"d\",\"e\",\"f\"]}", 422, "priority"},
	    {"{\"priority\":[\"sandbox\",\"sandbox\"]}", 422, "priority"},
	    /* a name checkout is not configured with (was 200, then ignored) */
	    {"{\"priority\":[\"acq-3\",\"sandbox\"]}", 422, "priority"},
	    {"{\"priority\":[\"Sandbox\"]}", 422, "priority"},
	    {"{\"priority\":[\"a b\"]}", 422, "priority"},
	    {"{\"priority\":[\"\"]}", 422, "priority"},
	    {"{\"priority\":[1]}", 400, "priority"},
	    {"{\"priority\":\"sandbox\"}", 400, "priority"},
	    {"{\"priority\":[\"sandbox\"],\"more\":1}", 400, "more"},
	    {"not json", 400, NULL},
	};
	struct h_resp r;
	(void)state;

	admin(&r, "GET", "/v1/settings/acquirers", NULL, 200);
	assert_non_null(strstr(r.body, "\"priority\":[\"sandbox\"]"));
	h_resp_free(&r);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		refused("PUT", "/v1/settings/acquirers", bad[i].body, admin_token, NULL,
			bad[i].status, bad[i].param);

	admin(&r, "PUT", "/v1/settings/acquirers", "{\"priority\":[\"acq-2\",\"sandbox\"]}", 200);
	assert_non_null(strstr(r.body, "\"priority\":[\"acq-2\",\"sandbox\"]"));
	h_resp_free(&r);
	admin(&r, "GET", "/v1/settings/acquirers", NULL, 200);
	assert_non_null(strstr(r.body, "\"priority\":[\"acq-2\",\"sandbox\"]"));
	h_resp_free(&r);
	assert_int_equal(sql_int("SELECT COUNT(*) FROM audit_log WHERE action ="
				 " 'settings.acquirers' AND JSON_VALUE(details, '$.before[0]') ="
				 " 'sandbox' AND JSON_VALUE(details, '$.after[0]') = 'acq-2'"),
			 1);
	admin(&r, "PUT", "/v1/settings/acquirers", "{\"priority\":[\"sandbox\"]}", 200);
	h_resp_free(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_route_list_matches_routes_and_openapi),
	    cmocka_unit_test(test_every_route_needs_an_admin),
	    cmocka_unit_test(test_users_search_block_unblock),
	    cmocka_unit_test(test_products_filter_block_unblock),
	    cmocka_unit_test(test_orders_filters_and_detail),
	    cmocka_unit_test(test_refund_full_with_idempotency),
	    cmocka_unit_test(test_refund_partial_and_states),
	    cmocka_unit_test(test_refund_races_make_one_refund),
	    cmocka_unit_test(test_affiliation_override_enqueues_event),
	    cmocka_unit_test(test_webhook_resend_creates_a_job),
	    cmocka_unit_test(test_dead_job_retry),
	    cmocka_unit_test(test_analytics_sales),
	    cmocka_unit_test(test_analytics_funnel),
	    cmocka_unit_test(test_report_export_and_download),
	    cmocka_unit_test(test_report_end_to_end_with_the_worker),
	    cmocka_unit_test(test_audit_log_filters_and_pages),
	    cmocka_unit_test(test_settings_round_trip_and_validation),
	};
	return cmocka_run_group_tests_name("backoffice", tests, group_setup, group_teardown);
}
