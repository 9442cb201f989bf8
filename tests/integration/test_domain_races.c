/* test_domain_races.c - the money domain's races and rules, end to end over
 * the real binaries (b4-checkout, b4-api, b4-backoffice, b4-worker and the
 * acquirer sandbox on MariaDB): N parallel requests make exactly one effect
 * in the database and at the sandbox (one upsell per order, one
 * once-per-customer coupon per buyer, one refund of what is left); coupon
 * uses come back when an order is declined or expires; a sale keeps the
 * buyer it was made with; producer and admin refunds take the same path
 * and ask the acquirer once each; a dispute is opened, won and lost; the
 * installment interest is the platform's. */
#include "harness.h"

#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "test_domain_support.h"

#define SECRET	    "domain-tests-acquirer-secret-0123456789abcdef"
#define PRODUCER_ID "01900000-0000-7000-8000-000000000001"
#define ADMIN_ID    "01900000-0000-7000-8000-000000000003"
#define PRODUCT_ID  "01900000-0000-7000-8000-000000000101"
#define RACERS	    10

static const char *db;
static struct td_stack stack;
static unsigned seed_counter;

/* the stack's processes, by name */
#define sandbox	     stack.sandbox
#define checkout     stack.checkout
#define api	     stack.api
#define backoffice   stack.backoffice
#define sql_int(...) h_sql_intf(db, __VA_ARGS__)
#define sql_run(...) assert_int_equal(h_sqlf(db, __VA_ARGS__), 0)

static int group_setup(void **state)
{
	char storage[1100];
	const char *worker_env[] = {"B4_STORAGE=local", storage, NULL};
	(void)state;

	snprintf(storage, sizeof(storage), "B4_STORAGE_DIR=%s/domain-storage", h_var());
	db = h_db_create("b4_domain", true);
	if (!db)
		return -1;
	return td_start(&stack, db, SECRET, true,
			"refund.process,order.expire,payment.refund_late,invoice.issue,"
			"invoice.cancel",
			worker_env);
}

static int group_teardown(void **state)
{
	(void)state;
	return td_stop(&stack);
}

/* ---- helpers ------------------------------------------------------------- */

static const char *new_key(void)
{
	static char key[64];
	static unsigned n;

	snprintf(key, sizeof(key), "domain-%d-%u", (int)getpid(), ++n);
	return key;
}

static long sandbox_call(struct h_resp *r, const char *method, const char *path, const char *body)
{
	return call(r, method, h_url(&sandbox, path),
		    body ? body : (method[0] == 'P' ? "{}" : NULL), NULL,
		    "Authorization: Bearer " SECRET);
}

/* What the sandbox made in all: charges and refunds. */
static void sandbox_counts(long long *charges, long long *refunds)
{
	struct h_resp r;

	assert_int_equal(sandbox_call(&r, "GET", "/v1/charges", NULL), 200);
	*charges = (long long)cJSON_GetObjectItem(r.json, "charges_count")->valuedouble;
	*refunds = (long long)cJSON_GetObjectItem(r.json, "refunds_count")->valuedouble;
	h_resp_free(&r);
}

static char *tokenize(const char *number)
{
	struct h_resp r;
	char body[256], *token;

	snprintf(body, sizeof(body),
		 "{\"number\":\"%s\",\"holder_name\":\"Bia Compradora\",\"exp_month\":12,"
		 "\"exp_year\":2031,\"cvv\":\"123\"}",
		 number);
	assert_int_equal(call(&r, "POST", h_url(&checkout, "/v1/card-tokens"), body, NULL, NULL),
			 201);
	token = strdup(h_json_str(&r, "token"));
	h_resp_free(&r);
	return token;
}

/* An order body for DEMOOFFER1; payment is the payment object, extra is
 * appended inside the top object (",\"coupon\":\"X\""). */
static const char *order_body(const char *name, const char *email, const char *cpf,
			      const char *payment, const char *extra)
{
	static char body[1024];

	snprintf(body, sizeof(body),
		 "{\"offer_code\":\"DEMOOFFER1\",\"customer\":{\"full_name\":\"%s\","
		 "\"email\":\"%s\",\"document\":\"%s\",\"phone\":\"+55 11 91234-5678\"},"
		 "\"payment\":%s%s}",
		 name, email, cpf, payment, extra ? extra : "");
	return body;
}

static const char *card_payment(const char *number, int installments)
{
	static char payment[256];
	char *token = tokenize(number);

	snprintf(payment, sizeof(payment),
		 "{\"method\":\"card\",\"card_token\":\"%s\",\"installments\":%d}", token,
		 installments);
	free(token);
	return payment;
}

/* A paid card order; fills id, access token and total. */
static void paid_card_order(char id[37], char access[65], long long *total, int installments)
{
	struct h_resp r;
	char cpf[12], email[64];

	h_make_cpf((unsigned)getpid() * 100 + ++seed_counter, cpf);
	snprintf(email, sizeof(email), "card-%u@example.com", seed_counter);
	assert_int_equal(call(&r, "POST", h_url(&checkout, "/v1/orders"),
			      order_body("Bia Compradora", email, cpf,
					 card_payment("4111111111111111", installments), NULL),
			      new_key(), NULL),
			 201);
	assert_string_equal(h_json_str(&r, "status"), "paid");
	snprintf(id, 37, "%s", h_json_str(&r, "id"));
	if (access)
		snprintf(access, 65, "%s", h_json_str(&r, "access_token"));
	if (total)
		*total = (long long)cJSON_GetObjectItem(r.json, "total_cents")->valuedouble;
	h_resp_free(&r);
}

/* Polls (100 ms) until the count of orders `id` in `status` (or of its
 * invoices in that status when invoice) is 1, for up to 15 s. */
static void wait_status(const char *id, const char *status, bool invoice)
{
	for (int i = 0; i < 150; i++) {
		if ((invoice ? sql_int("SELECT COUNT(*) FROM invoices WHERE order_id = '%s'"
				       " AND status = '%s'",
				       id, status)
			     : sql_int("SELECT COUNT(*) FROM orders WHERE id = '%s'"
				       " AND status = '%s'",
				       id, status)) == 1)
			return;
		usleep(100 * 1000);
	}
	fail_msg("order %s never reached %s%s", id, invoice ? "invoice " : "", status);
}

/* ---- N parallel requests ------------------------------------------------- */

struct racer {
	pthread_barrier_t *start;
	const char *url;
	const char *body;
	const char *auth;
	char key[96];
	long status;
	char code[64];
};

static void *race_one(void *arg)
{
	struct racer *x = arg;
	char key_header[128];
	const char *headers[] = {"Content-Type: application/json", key_header, x->auth, NULL};
	struct h_resp r;

	snprintf(key_header, sizeof(key_header), "Idempotency-Key: %s", x->key);
	pthread_barrier_wait(x->start);
	x->status = h_http(&r, "POST", x->url, x->body, headers) == 0 ? r.status : -1;
	snprintf(x->code, sizeof(x->code), "%s",
		 h_json_str(&r, "error.code") ? h_json_str(&r, "error.code") : "");
	h_resp_free(&r);
	return NULL;
}

/* Runs n racers at once (each with its own Idempotency-Key); returns how
 * many answered want. */
static int race(struct racer *racers, int n, long want)
{
	pthread_t threads[RACERS];
	pthread_barrier_t start;
	int got = 0;

	assert_true(n <= RACERS);
	pthread_barrier_init(&start, NULL, (unsigned)n);
	for (int i = 0; i < n; i++) {
		racers[i].start = &start;
		snprintf(racers[i].key, sizeof(racers[i].key), "%s-race-%d", new_key(), i);
		assert_int_equal(pthread_create(&threads[i], NULL, race_one, &racers[i]), 0);
	}
	for (int i = 0; i < n; i++)
		pthread_join(threads[i], NULL);
	pthread_barrier_destroy(&start);
	for (int i = 0; i < n; i++)
		got += racers[i].status == want;
	return got;
}

/* ---- tests --------------------------------------------------------------- */

/* Ten one-click upsells at once with different keys: one paid upsell and
 * one acquirer charge; the others 409 upsell_already_bought. */
static void test_parallel_upsells_charge_once(void **state)
{
	struct racer racers[RACERS];
	char parent[37], access[65], url[300];
	long long charges_before, charges_after, refunds;
	(void)state;

	paid_card_order(parent, access, NULL, 1);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/v1/orders/%s/upsell?access_token=%s",
		 checkout.port, parent, access);
	sandbox_counts(&charges_before, &refunds);
	memset(racers, 0, sizeof(racers));
	for (int i = 0; i < RACERS; i++) {
		racers[i].url = url;
		racers[i].body = "{\"offer_code\":\"DEMOUPSEL1\"}";
	}
	assert_int_equal(race(racers, RACERS, 201), 1);
	for (int i = 0; i < RACERS; i++)
		if (racers[i].status != 201) {
			assert_int_equal(racers[i].status, 409);
			assert_string_equal(racers[i].code, "upsell_already_bought");
		}
	assert_int_equal(
	    sql_int("SELECT COUNT(*) FROM orders WHERE parent_order_id = '%s'", parent), 1);
	assert_int_equal(sql_int("SELECT COUNT(*) FROM orders WHERE parent_order_id = '%s'"
				 " AND status = 'paid' AND live_upsell_parent = parent_order_id",
				 parent),
			 1);
	sandbox_counts(&charges_after, &refunds);
	assert_int_equal(charges_after - charges_before, 1);
}

/* Five orders at once by one new buyer with a once-per-customer coupon:
 * one gets it.  Then the same e-mail with another CPF, and the same CPF
 * with another e-mail, are refused too. */
static void test_once_per_customer_coupon_race(void **state)
{
	struct racer racers[5];
	char cpf[12], other_cpf[12], bodies[5][1024];
	(void)state;

	sql_run("INSERT INTO coupons (id, product_id, code, percent_bps, min_amount_cents,"
		" once_per_customer, active) VALUES ('01900000-0000-7000-8000-0000000004a1',"
		" '" PRODUCT_ID "', 'UMAVEZ', 1000, 0, 1, 1)");
	h_make_cpf((unsigned)getpid() * 100 + 77, cpf);
	h_make_cpf((unsigned)getpid() * 100 + 78, other_cpf);
	memset(racers, 0, sizeof(racers));
	for (int i = 0; i < 5; i++) {
		snprintf(bodies[i], sizeof(bodies[i]), "%s",
			 order_body("Nova Compradora", "nova@example.com", cpf,
				    "{\"method\":\"pix\"}", ",\"coupon\":\"UMAVEZ\""));
		racers[i].url = h_url(&checkout, "/v1/orders");
		racers[i].body = bodies[i];
	}
	for (int i = 0; i < 5; i++) /* h_url rotates its buffers */
		racers[i].url = strdup(racers[0].url);
	assert_int_equal(race(racers, 5, 201), 1);
	for (int i = 0; i < 5; i++) {
		if (racers[i].status != 201) {
			assert_int_equal(racers[i].status, 422);
			assert_string_equal(racers[i].code, "already_used_by_customer");
		}
		free((char *)racers[i].url);
	}
	assert_int_equal(sql_int("SELECT uses FROM coupons WHERE code = 'UMAVEZ'"), 1);
	assert_int_equal(sql_int("SELECT COUNT(*) FROM orders o JOIN coupons k ON k.id ="
				 " o.coupon_id WHERE k.code = '%s'",
				 "UMAVEZ"),
			 1);
	assert_int_equal(sql_int("SELECT COUNT(*) FROM coupon_redemptions r JOIN coupons k"
				 " ON k.id = r.coupon_id WHERE k.code = '%s'",
				 "UMAVEZ"),
			 2);
	/* the same e-mail under another CPF is the same customer */
	{
		struct h_resp r;
		assert_int_equal(call(&r, "POST", h_url(&checkout, "/v1/orders"),
				      order_body("Nova Compradora", "nova@example.com", other_cpf,
						 "{\"method\":\"pix\"}", ",\"coupon\":\"UMAVEZ\""),
				      new_key(), NULL),
				 422);
		assert_string_equal(h_json_str(&r, "error.code"), "already_used_by_customer");
		h_resp_free(&r);
	}
	assert_int_equal(sql_int("SELECT uses FROM coupons WHERE code = 'UMAVEZ'"), 1);
}

/* A coupon's use comes back in the transaction that declines or expires
 * its order: two unpaid orders no longer exhaust a max_uses coupon. */
static void test_coupon_use_given_back(void **state)
{
	struct h_resp r;
	char cpf[12], waiting[37];
	(void)state;

	sql_run("INSERT INTO coupons (id, product_id, code, percent_bps, min_amount_cents,"
		" max_uses, active) VALUES ('01900000-0000-7000-8000-0000000004a2',"
		" '" PRODUCT_ID "', 'SOUMA', 500, 0, 1, 1)");
	/* a declined card order gives its use back at once */
	h_make_cpf((unsigned)getpid() * 100 + 80, cpf);
	assert_int_equal(
	    call(&r, "POST", h_url(&checkout, "/v1/orders"),
		 order_body("Dani Recusada", "dani@example.com", cpf,
			    card_payment("4000000000000002", 1), ",\"coupon\":\"SOUMA\""),
		 new_key(), NULL),
	    402);
	h_resp_free(&r);
	assert_int_equal(sql_int("SELECT uses FROM coupons WHERE code = 'SOUMA'"), 0);
	/* a Pix order holds it while it waits ... */
	h_make_cpf((unsigned)getpid() * 100 + 81, cpf);
	assert_int_equal(call(&r, "POST", h_url(&checkout, "/v1/orders"),
			      order_body("Edu Pix", "edu@example.com", cpf, "{\"method\":\"pix\"}",
					 ",\"coupon\":\"SOUMA\""),
			      new_key(), NULL),
			 201);
	snprintf(waiting, sizeof(waiting), "%s", h_json_str(&r, "id"));
	h_resp_free(&r);
	assert_int_equal(sql_int("SELECT uses FROM coupons WHERE code = 'SOUMA'"), 1);
	h_make_cpf((unsigned)getpid() * 100 + 82, cpf);
	assert_int_equal(call(&r, "POST", h_url(&checkout, "/v1/orders"),
			      order_body("Fabi Pix", "fabi@example.com", cpf,
					 "{\"method\":\"pix\"}", ",\"coupon\":\"SOUMA\""),
			      new_key(), NULL),
			 422);
	assert_string_equal(h_json_str(&r, "error.code"), "coupon_used_up");
	h_resp_free(&r);
	/* ... and gives it back when it expires (its expiry made due now) */
	sql_run("UPDATE orders SET expires_at = UTC_TIMESTAMP(6) - INTERVAL 1 SECOND"
		" WHERE id = '%s'",
		waiting);
	sql_run("UPDATE jobs SET run_at = UTC_TIMESTAMP(6) WHERE dedup_key = 'expire:%s'", waiting);
	wait_status(waiting, "expired", false);
	assert_int_equal(sql_int("SELECT uses FROM coupons WHERE code = 'SOUMA'"), 0);
	assert_int_equal(call(&r, "POST", h_url(&checkout, "/v1/orders"),
			      order_body("Fabi Pix", "fabi@example.com", cpf,
					 "{\"method\":\"pix\"}", ",\"coupon\":\"SOUMA\""),
			      new_key(), NULL),
			 201);
	h_resp_free(&r);
}

/* A later purchase with the same CPF never changes what an earlier sale
 * shows. */
static void test_sale_keeps_its_buyer(void **state)
{
	struct h_resp r;
	char cpf[12], first[37], path[128];
	(void)state;

	h_make_cpf((unsigned)getpid() * 100 + 90, cpf);
	assert_int_equal(call(&r, "POST", h_url(&checkout, "/v1/orders"),
			      order_body("Primeira Pessoa", "primeira@example.com", cpf,
					 card_payment("4111111111111111", 1), NULL),
			      new_key(), NULL),
			 201);
	snprintf(first, sizeof(first), "%s", h_json_str(&r, "id"));
	h_resp_free(&r);
	assert_int_equal(call(&r, "POST", h_url(&checkout, "/v1/orders"),
			      order_body("Outra Pessoa", "outra@example.com", cpf,
					 card_payment("4111111111111111", 1), NULL),
			      new_key(), NULL),
			 201);
	h_resp_free(&r);
	snprintf(path, sizeof(path), "/v1/sales/%s", first);
	assert_int_equal(
	    call(&r, "GET", h_url(&api, path), NULL, NULL, h_bearer(PRODUCER_ID, "member")), 200);
	assert_string_equal(h_json_str(&r, "customer.full_name"), "Primeira Pessoa");
	assert_string_equal(h_json_str(&r, "customer.email"), "primeira@example.com");
	/* the document as the sales API shows it: masked, never in clear */
	assert_non_null(h_json_str(&r, "customer.document"));
	assert_null(strstr(r.body, cpf));
	h_resp_free(&r);
	snprintf(path, sizeof(path), "/v1/orders/%s", first);
	assert_int_equal(
	    call(&r, "GET", h_url(&backoffice, path), NULL, NULL, h_bearer(ADMIN_ID, "admin")),
	    200);
	assert_non_null(strstr(r.body, "Primeira Pessoa"));
	assert_null(strstr(r.body, "Outra Pessoa"));
	h_resp_free(&r);
}

/* An admin's partial refund, then the producer's: the producer asks for
 * what is left (not the order's total), both answer 201, the worker asks
 * the acquirer once per refund, the splits are reversed exactly and the
 * NFS-e is cancelled.  Nothing is left to refund afterwards. */
static void test_admin_then_producer_refund(void **state)
{
	struct h_resp r;
	char order[37], path[128];
	long long total, charges, refunds_before, refunds_after;
	(void)state;

	paid_card_order(order, NULL, &total, 1);
	wait_status(order, "issued", true); /* the NFS-e the refund cancels */
	sandbox_counts(&charges, &refunds_before);
	snprintf(path, sizeof(path), "/v1/orders/%s/refunds", order);
	assert_int_equal(call(&r, "POST", h_url(&backoffice, path),
			      "{\"amount_cents\":1000,\"reason\":\"parte\"}", new_key(),
			      h_bearer(ADMIN_ID, "admin")),
			 201);
	h_resp_free(&r);
	snprintf(path, sizeof(path), "/v1/sales/%s/refund", order);
	assert_int_equal(call(&r, "POST", h_url(&api, path), "{\"reason\":\"o resto\"}", NULL,
			      h_bearer(PRODUCER_ID, "member")),
			 201);
	assert_int_equal((long long)cJSON_GetObjectItem(r.json, "amount_cents")->valuedouble,
			 total - 1000);
	h_resp_free(&r);
	assert_int_equal(call(&r, "POST", h_url(&api, path), "{\"reason\":\"mais\"}", NULL,
			      h_bearer(PRODUCER_ID, "member")),
			 409);
	h_resp_free(&r);
	/* the same job payload from both */
	assert_int_equal(sql_int("SELECT COUNT(*) FROM jobs j JOIN refunds f"
				 " ON f.id = JSON_VALUE(j.payload, '$.refund_id')"
				 " WHERE j.type = 'refund.process' AND f.order_id = '%s'"
				 " AND JSON_VALUE(j.payload, '$.order_id') = f.order_id"
				 " AND JSON_VALUE(j.payload, '$.amount_cents') = f.amount_cents",
				 order),
			 2);
	wait_status(order, "refunded", false);
	assert_int_equal(
	    sql_int("SELECT SUM(reversed_cents) FROM splits WHERE order_id = '%s'", order), total);
	assert_int_equal(sql_int("SELECT COUNT(*) FROM charges WHERE order_id = '%s'"
				 " AND status = 'refunded'",
				 order),
			 1);
	sandbox_counts(&charges, &refunds_after);
	assert_int_equal(refunds_after - refunds_before, 2);
	assert_int_equal(
	    sql_int("SELECT COUNT(*) FROM jobs WHERE dedup_key = 'invoice-cancel:%s'", order), 1);
	wait_status(order, "cancelled", true);
}

/* Producer and admin ask for a full refund at once: one refund. */
static void test_parallel_refunds_make_one(void **state)
{
	struct racer racers[6];
	char order[37], api_url[200], bo_url[200], producer[1200], admin[1200];
	long long total, charges, refunds_before, refunds_after;
	(void)state;

	paid_card_order(order, NULL, &total, 1);
	sandbox_counts(&charges, &refunds_before);
	snprintf(api_url, sizeof(api_url), "http://127.0.0.1:%d/v1/sales/%s/refund", api.port,
		 order);
	snprintf(bo_url, sizeof(bo_url), "http://127.0.0.1:%d/v1/orders/%s/refunds",
		 backoffice.port, order);
	snprintf(producer, sizeof(producer), "%s", h_bearer(PRODUCER_ID, "member"));
	snprintf(admin, sizeof(admin), "%s", h_bearer(ADMIN_ID, "admin"));
	memset(racers, 0, sizeof(racers));
	for (int i = 0; i < 6; i++) {
		racers[i].url = i % 2 ? api_url : bo_url;
		racers[i].auth = i % 2 ? producer : admin;
		racers[i].body = "{\"reason\":\"tudo\"}";
	}
	assert_int_equal(race(racers, 6, 201), 1);
	for (int i = 0; i < 6; i++)
		if (racers[i].status != 201)
			assert_int_equal(racers[i].status, 409);
	assert_int_equal(
	    sql_int("SELECT SUM(amount_cents) FROM refunds WHERE order_id = '%s'", order), total);
	wait_status(order, "refunded", false);
	sandbox_counts(&charges, &refunds_after);
	assert_int_equal(refunds_after - refunds_before, 1);
}

/* The acquirer opens a dispute (disputed, the producer told), the
 * platform wins it (paid again), then loses a second one (chargeback,
 * every split reversed, the NFS-e cancelled). */
static void test_dispute_won_then_lost(void **state)
{
	struct h_resp r;
	char order[37], path[160], *charge_id, sql[200];
	long long total;
	(void)state;

	paid_card_order(order, NULL, &total, 1);
	snprintf(sql, sizeof(sql), "SELECT acquirer_charge_id FROM charges WHERE order_id = '%s'",
		 order);
	charge_id = h_sql_value(db, sql);
	assert_non_null(charge_id);
	snprintf(path, sizeof(path), "/control/charges/%s/dispute", charge_id);
	assert_int_equal(sandbox_call(&r, "POST", path, NULL), 200);
	assert_int_equal(cJSON_GetObjectItem(r.json, "callback_status")->valueint, 200);
	h_resp_free(&r);
	assert_int_equal(
	    sql_int("SELECT COUNT(*) FROM orders WHERE id = '%s' AND status = 'disputed'", order),
	    1);
	assert_int_equal(sql_int("SELECT COUNT(*) FROM jobs WHERE dedup_key = 'dispute-opened:%s'"
				 " AND JSON_VALUE(payload, '$.owner_id') = '" PRODUCER_ID "'",
				 order),
			 1);
	/* commissions are held while disputed: nothing reversed, nothing released */
	assert_int_equal(sql_int("SELECT COUNT(*) FROM splits WHERE order_id = '%s'"
				 " AND status <> 'waiting'",
				 order),
			 0);
	snprintf(path, sizeof(path), "/control/charges/%s/dispute/resolve", charge_id);
	assert_int_equal(sandbox_call(&r, "POST", path, "{\"outcome\":\"won\"}"), 200);
	h_resp_free(&r);
	assert_int_equal(
	    sql_int("SELECT COUNT(*) FROM orders WHERE id = '%s' AND status = 'paid'", order), 1);

	snprintf(path, sizeof(path), "/control/charges/%s/dispute", charge_id);
	assert_int_equal(sandbox_call(&r, "POST", path, NULL), 200);
	h_resp_free(&r);
	snprintf(path, sizeof(path), "/control/charges/%s/dispute/resolve", charge_id);
	assert_int_equal(sandbox_call(&r, "POST", path, "{\"outcome\":\"lost\"}"), 200);
	h_resp_free(&r);
	assert_int_equal(
	    sql_int("SELECT COUNT(*) FROM orders WHERE id = '%s' AND status = 'chargeback'", order),
	    1);
	assert_int_equal(sql_int("SELECT COUNT(*) FROM charges WHERE order_id = '%s'"
				 " AND status = 'chargeback'",
				 order),
			 1);
	assert_int_equal(sql_int("SELECT SUM(reversed_cents) FROM splits WHERE order_id = '%s'"
				 " AND status = 'reversed'",
				 order),
			 total);
	assert_int_equal(
	    sql_int("SELECT COUNT(*) FROM jobs WHERE dedup_key = 'chargeback:%s'", order), 1);
	assert_int_equal(
	    sql_int("SELECT COUNT(*) FROM jobs WHERE dedup_key = 'invoice-cancel:%s'", order), 1);
	/* a resolution replayed or out of order changes nothing */
	assert_int_equal(sandbox_call(&r, "POST", path, "{\"outcome\":\"won\"}"), 409);
	h_resp_free(&r);
	free(charge_id);
}

/* A dispute announced while a refund is in flight (refund_requested, which
 * may not go to disputed) is not dropped: checkout answers 409 without
 * recording it, the acquirer sends it again, and once the refund settled
 * (here: it failed, the order is paid again) the dispute applies. */
static void test_dispute_during_refund_waits(void **state)
{
	struct h_resp r;
	char order[37], path[160], sql[200], *charge_id;
	(void)state;

	paid_card_order(order, NULL, NULL, 1);
	snprintf(sql, sizeof(sql), "SELECT acquirer_charge_id FROM charges WHERE order_id = '%s'",
		 order);
	charge_id = h_sql_value(db, sql);
	assert_non_null(charge_id);
	sql_run("UPDATE orders SET status = 'refund_requested' WHERE id = '%s'", order);
	snprintf(path, sizeof(path), "/control/charges/%s/dispute", charge_id);
	assert_int_equal(sandbox_call(&r, "POST", path, NULL), 200);
	assert_int_equal(cJSON_GetObjectItem(r.json, "callback_status")->valueint, 409);
	h_resp_free(&r);
	assert_int_equal(
	    sql_int("SELECT COUNT(*) FROM acquirer_events WHERE charge_id = '%s'", charge_id), 0);
	assert_int_equal(sql_int("SELECT COUNT(*) FROM orders WHERE id = '%s'"
				 " AND status = 'refund_requested'",
				 order),
			 1);
	sql_run("UPDATE orders SET status = 'paid' WHERE id = '%s'", order);
	wait_status(order, "disputed", false);
	assert_int_equal(sql_int("SELECT COUNT(*) FROM acquirer_events WHERE charge_id = '%s'"
				 " AND outcome = 'disputed'",
				 charge_id),
			 1);
	free(charge_id);
}

/* 6x with interest: the producer's and affiliate's lines are those of the
 * price after discounts (as at 1x); the interest is the platform's. */
static void test_interest_is_not_commissionable(void **state)
{
	char once[37], six[37];
	long long interest;
	(void)state;

	paid_card_order(once, NULL, NULL, 1);
	paid_card_order(six, NULL, NULL, 6);
	interest = sql_int("SELECT interest_cents FROM orders WHERE id = '%s'", six);
	assert_true(interest > 0);
	assert_int_equal(sql_int("SELECT SUM(amount_cents) FROM splits WHERE order_id = '%s'", six),
			 sql_int("SELECT total_cents FROM orders WHERE id = '%s'", six));
	assert_int_equal(sql_int("SELECT amount_cents FROM splits WHERE order_id = '%s'"
				 " AND party = 'producer'",
				 six),
			 sql_int("SELECT amount_cents FROM splits WHERE order_id = '%s'"
				 " AND party = 'producer'",
				 once));
	assert_int_equal(sql_int("SELECT amount_cents FROM splits WHERE order_id = '%s'"
				 " AND party = 'platform'",
				 six),
			 sql_int("SELECT amount_cents FROM splits WHERE order_id = '%s'"
				 " AND party = 'platform'",
				 once) +
			     interest);
}

/* The first acquirer answers 5xx without charging: checkout asks it by
 * reference, learns nothing was charged, and only then fails a Pix over to
 * the next one.  A card token goes only to the acquirer that issued it. */
static void test_failover_after_definite_not_charged(void **state)
{
	struct h_proc failing, multi;
	struct h_resp r;
	char acquirers[256], cpf[12], payment[256], *token;
	long long charges_before, charges_after, refunds;
	const char *failing_env[] = {"B4_ACQUIRER_SECRET=" SECRET, "B4_SANDBOX_FAIL_ALL=true",
				     NULL};
	const char *multi_env[] = {acquirers, "B4_ACQUIRER_SECRET=" SECRET,
				   "B4_FRAUD_CARD_MAX=1000", NULL};
	(void)state;

	assert_int_equal(h_start(&failing, "b4-acquirer-sandbox", NULL, failing_env), 0);
	snprintf(acquirers, sizeof(acquirers),
		 "B4_ACQUIRERS=down=http://127.0.0.1:%d,sandbox=http://127.0.0.1:%d", failing.port,
		 sandbox.port);
	assert_int_equal(h_start(&multi, "b4-checkout", db, multi_env), 0);
	sql_run("UPDATE settings SET value = '[\"down\",\"sandbox\"]'"
		" WHERE name = 'acquirer_priority'");
	h_make_cpf((unsigned)getpid() * 100 + 95, cpf);
	assert_int_equal(
	    call(&r, "POST", h_url(&multi, "/v1/orders"),
		 order_body("Gil Failover", "gil@example.com", cpf, "{\"method\":\"pix\"}", NULL),
		 new_key(), NULL),
	    201);
	assert_string_equal(h_json_str(&r, "status"), "waiting_payment");
	assert_int_equal(sql_int("SELECT COUNT(*) FROM charges WHERE order_id = '%s'"
				 " AND acquirer = 'sandbox' AND pix_payload IS NOT NULL",
				 h_json_str(&r, "id")),
			 1);
	h_resp_free(&r);
	assert_true(h_logs_contain("acquirer charge timed out; reconciled by reference"));
	/* a card tokenized at "down" (first in priority) is charged only there:
	 * "sandbox" cannot charge that token, so no failover - 502, nothing
	 * charged anywhere */
	assert_int_equal(call(&r, "POST", h_url(&multi, "/v1/card-tokens"),
			      "{\"number\":\"4111111111111111\",\"holder_name\":\"Gil\","
			      "\"exp_month\":12,\"exp_year\":2031,\"cvv\":\"123\"}",
			      NULL, NULL),
			 201);
	token = strdup(h_json_str(&r, "token"));
	h_resp_free(&r);
	assert_int_equal(
	    sql_int("SELECT COUNT(*) FROM card_tokens WHERE token = '%s' AND acquirer = 'down'",
		    token),
	    1);
	snprintf(payment, sizeof(payment), "{\"method\":\"card\",\"card_token\":\"%s\"}", token);
	sandbox_counts(&charges_before, &refunds);
	assert_int_equal(call(&r, "POST", h_url(&multi, "/v1/orders"),
			      order_body("Gil Failover", "gil@example.com", cpf, payment, NULL),
			      new_key(), NULL),
			 502);
	assert_string_equal(h_json_str(&r, "error.code"), "acquirer_unavailable");
	assert_int_equal(sql_int("SELECT COUNT(*) FROM charges WHERE order_id = '%s'"
				 " AND acquirer = 'down' AND status = 'error'",
				 h_json_str(&r, "error.order_id")),
			 1);
	h_resp_free(&r);
	sandbox_counts(&charges_after, &refunds);
	assert_int_equal(charges_after, charges_before);
	free(token);
	sql_run("UPDATE settings SET value = '[\"sandbox\"]' WHERE name = 'acquirer_priority'");
	h_stop(&multi, SIGTERM, 10000);
	h_stop(&failing, SIGTERM, 10000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parallel_upsells_charge_once),
	    cmocka_unit_test(test_once_per_customer_coupon_race),
	    cmocka_unit_test(test_coupon_use_given_back),
	    cmocka_unit_test(test_sale_keeps_its_buyer),
	    cmocka_unit_test(test_admin_then_producer_refund),
	    cmocka_unit_test(test_parallel_refunds_make_one),
	    cmocka_unit_test(test_dispute_won_then_lost),
	    cmocka_unit_test(test_dispute_during_refund_waits),
	    cmocka_unit_test(test_interest_is_not_commissionable),
	    cmocka_unit_test(test_failover_after_definite_not_charged),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
