/* test_refunds.c - money going back, end to end over the real binaries:
 * a card order paid through b4-checkout and the acquirer sandbox, refunded
 * in two parts from b4-backoffice and settled by b4-worker's refund.process
 * (splits reversed exactly, order and charge moving forward, one refund
 * event per refund, a replayed job changing nothing); a waiting order
 * whose charge outcome was lost, settled by order.expire asking the
 * acquirer instead of expiring a paid order; and a Pix paid after its
 * order expired, given back in full by payment.refund_late. */
#include "harness.h"
#include "b4/br.h"

#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#define SECRET	 "refund-tests-acquirer-secret-0123456789abcdef"
#define ADMIN_ID "01900000-0000-7000-8000-000000000003"

static const char *db;
static struct h_proc sandbox, checkout, backoffice, worker;

static int group_setup(void **state)
{
	char acquirers[128], port[32], callback[96];
	const char *sandbox_env[] = {"B4_ACQUIRER_SECRET=" SECRET, NULL};
	const char *env[] = {acquirers, "B4_ACQUIRER_SECRET=" SECRET, "B4_WORKER_POLL=50ms",
			     "B4_WORKER_TYPES=refund.process,order.expire,payment.refund_late",
			     NULL};
	/* checkout must know its own port: the sandbox calls it back there */
	const char *checkout_env[] = {acquirers, "B4_ACQUIRER_SECRET=" SECRET, port, callback,
				      NULL};
	int checkout_port = h_free_port();
	(void)state;

	db = h_db_create("b4_refunds", true);
	if (!db || checkout_port < 0 ||
	    h_start(&sandbox, "b4-acquirer-sandbox", NULL, sandbox_env) < 0)
		return -1;
	snprintf(acquirers, sizeof(acquirers), "B4_ACQUIRERS=sandbox=http://127.0.0.1:%d",
		 sandbox.port);
	snprintf(port, sizeof(port), "B4_PORT=%d", checkout_port);
	snprintf(callback, sizeof(callback), "B4_CHECKOUT_CALLBACK_URL=http://127.0.0.1:%d",
		 checkout_port);
	if (h_start(&checkout, "b4-checkout", db, checkout_env) < 0 ||
	    h_start(&backoffice, "b4-backoffice", db, env) < 0 ||
	    h_start(&worker, "b4-worker", db, env) < 0)
		return -1;
	return 0;
}

static int group_teardown(void **state)
{
	struct h_proc *all[] = {&worker, &backoffice, &checkout, &sandbox};
	int rc = 0;
	(void)state;

	for (size_t i = 0; i < 4; i++)
		if (all[i]->pid > 0 && h_stop(all[i], SIGTERM, 10000) != 0)
			rc = -1;
	return rc;
}

/* POST with an Idempotency-Key (and a bearer when auth is not NULL). */
static long post(struct h_resp *r, const struct h_proc *p, const char *path, const char *body,
		 const char *auth)
{
	static unsigned n;
	char key[80];
	const char *headers[] = {key, auth, NULL};

	snprintf(key, sizeof(key), "Idempotency-Key: refund-test-%d-%u", (int)getpid(), ++n);
	assert_int_equal(h_http(r, "POST", h_url(p, path), body, headers), 0);
	return r->status;
}

static char *paid_card_order(long long *total)
{
	struct h_resp r;
	char body[1024], cpf[12], *token, *id;

	assert_int_equal(post(&r, &checkout, "/v1/card-tokens",
			      "{\"number\":\"4111111111111111\",\"holder_name\":\"Rita Reembolso\","
			      "\"exp_month\":12,\"exp_year\":2031,\"cvv\":\"123\"}",
			      NULL),
			 201);
	token = strdup(h_json_str(&r, "token"));
	h_resp_free(&r);
	h_make_cpf((unsigned)getpid(), cpf);
	snprintf(
	    body, sizeof(body),
	    "{\"offer_code\":\"DEMOOFFER1\",\"customer\":{\"full_name\":\"Rita Reembolso\","
	    "\"email\":\"rita@example.com\",\"document\":\"%s\",\"phone\":\"+55 11 91234-5678\"},"
	    "\"payment\":{\"method\":\"card\",\"card_token\":\"%s\",\"installments\":1}}",
	    cpf, token);
	free(token);
	assert_int_equal(post(&r, &checkout, "/v1/orders", body, NULL), 201);
	assert_string_equal(h_json_str(&r, "status"), "paid");
	id = strdup(h_json_str(&r, "id"));
	*total = (long long)cJSON_GetObjectItem(r.json, "total_cents")->valuedouble;
	h_resp_free(&r);
	return id;
}

static char *refund(const char *order_id, long long amount)
{
	struct h_resp r;
	char path[128], body[128], *id;

	snprintf(path, sizeof(path), "/v1/orders/%s/refunds", order_id);
	snprintf(body, sizeof(body), "{\"amount_cents\":%lld,\"reason\":\"test\"}", amount);
	assert_int_equal(post(&r, &backoffice, path, body, h_bearer(ADMIN_ID, "admin")), 201);
	id = strdup(h_json_str(&r, "id"));
	h_resp_free(&r);
	return id;
}

/* Waits (10 s max) until the SQL (printf format) answers want. */
static bool sql_becomes(long long want, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static bool sql_becomes(long long want, const char *fmt, ...)
{
	long long deadline = h_now_ms() + 10000;
	char sql[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(sql, sizeof(sql), fmt, ap);
	va_end(ap);
	while (h_now_ms() < deadline) {
		if (h_sql_int(db, sql) == want)
			return true;
		h_sleep_ms(50);
	}
	return false;
}

/* Inserts a job of type with payload {field: id}, as a producer (or an
 * at-least-once redelivery) would. */
static void enqueue(const char *type, const char *field, const char *id)
{
	char sql[256];

	snprintf(sql, sizeof(sql),
		 "INSERT INTO jobs (type, payload) VALUES ('%s', JSON_OBJECT('%s', '%s'))", type,
		 field, id);
	assert_int_equal(h_sql(db, sql), 0);
}

/* A second run of a job that already did its work: it must finish (done)
 * and the caller checks that it changed nothing. */
static void replay_job(const char *type, const char *field, const char *id)
{
	enqueue(type, field, id);
	assert_true(sql_becomes(0,
				"SELECT COUNT(*) FROM jobs WHERE type = '%s' AND status <> 'done'"
				" AND JSON_VALUE(payload, '$.%s') = '%s'",
				type, field, id));
}

static long long sandbox_refunded(const char *order_id)
{
	struct h_resp r;
	char path[128];
	const char *auth[] = {"Authorization: Bearer " SECRET, NULL};
	long long cents;

	snprintf(path, sizeof(path), "/v1/charges?reference=%s", order_id);
	assert_int_equal(h_http(&r, "GET", h_url(&sandbox, path), NULL, auth), 0);
	assert_int_equal(r.status, 200);
	cents = (long long)cJSON_GetObjectItem(
		    cJSON_GetArrayItem(cJSON_GetObjectItem(r.json, "data"), 0), "refunded_cents")
		    ->valuedouble;
	h_resp_free(&r);
	return cents;
}

static void test_partial_then_full_refund(void **state)
{
	long long total = 0;
	char *order = paid_card_order(&total), *first, *second;
	(void)state;

	assert_true(total > 1000);
	assert_int_equal(
	    h_sql_intf(db, "SELECT SUM(amount_cents) FROM splits WHERE order_id = '%s'", order),
	    total);

	/* part of it: the splits give back exactly 1000, the order stays paid */
	first = refund(order, 1000);
	assert_true(
	    sql_becomes(1, "SELECT status = 'succeeded' FROM refunds WHERE id = '%s'", first));
	assert_int_equal(
	    h_sql_intf(db, "SELECT SUM(reversed_cents) FROM splits WHERE order_id = '%s'", order),
	    1000);
	assert_int_equal(
	    h_sql_intf(db, "SELECT status = 'paid' FROM orders WHERE id = '%s'", order), 1);
	assert_int_equal(h_sql_intf(db,
				    "SELECT COUNT(*) FROM charges WHERE order_id = '%s'"
				    " AND status = 'partially_refunded'",
				    order),
			 1);
	assert_int_equal(h_sql_intf(db,
				    "SELECT COUNT(*) FROM refunds WHERE id = '%s'"
				    " AND acquirer_refund_id IS NOT NULL",
				    first),
			 1);
	assert_int_equal(sandbox_refunded(order), 1000);
	assert_int_equal(h_sql_intf(db,
				    "SELECT COUNT(*) FROM jobs WHERE type = 'webhook.event'"
				    " AND dedup_key = 'refund-event:%s'",
				    first),
			 1);

	/* the rest: every split fully reversed, the order refunded */
	second = refund(order, total - 1000);
	assert_true(
	    sql_becomes(1, "SELECT status = 'succeeded' FROM refunds WHERE id = '%s'", second));
	assert_int_equal(
	    h_sql_intf(db, "SELECT SUM(reversed_cents) FROM splits WHERE order_id = '%s'", order),
	    total);
	assert_int_equal(h_sql_intf(db,
				    "SELECT COUNT(*) FROM splits WHERE order_id = '%s'"
				    " AND status <> 'reversed'",
				    order),
			 0);
	assert_int_equal(
	    h_sql_intf(db, "SELECT status = 'refunded' FROM orders WHERE id = '%s'", order), 1);
	assert_int_equal(h_sql_intf(db,
				    "SELECT COUNT(*) FROM charges WHERE order_id = '%s'"
				    " AND status = 'refunded'",
				    order),
			 1);
	assert_int_equal(sandbox_refunded(order), total);

	/* a replayed job (at-least-once delivery) changes nothing */
	replay_job("refund.process", "refund_id", second);
	assert_int_equal(
	    h_sql_intf(db, "SELECT SUM(reversed_cents) FROM splits WHERE order_id = '%s'", order),
	    total);
	assert_int_equal(sandbox_refunded(order), total);
	free(first);
	free(second);
	free(order);
}

/* A copy of a paid order, waiting, with a pending card charge: what
 * checkout leaves when it never learnt the charge's outcome. */
static void waiting_copy(const char *paid, char out[37], unsigned n)
{
	char sql[2048];

	snprintf(out, 37, "01900000-0000-7000-8000-%012u", 900000000u + n);
	snprintf(
	    sql, sizeof(sql),
	    "INSERT INTO orders (id, customer_id, offer_id, product_id, producer_id, status,"
	    " payment_method, installments, subtotal_cents, discount_cents, interest_cents,"
	    " total_cents, access_token_hash) SELECT '%s', customer_id, offer_id, product_id,"
	    " producer_id, 'waiting_payment', 'card', 1, subtotal_cents, discount_cents,"
	    " interest_cents, total_cents, access_token_hash FROM orders WHERE id = '%s';"
	    "INSERT INTO splits (id, order_id, party, user_id, amount_cents) SELECT UUID(), '%s',"
	    " 'producer', producer_id, total_cents FROM orders WHERE id = '%s';"
	    "INSERT INTO charges (id, order_id, acquirer, method, status, amount_cents)"
	    " SELECT UUID(), '%s', 'sandbox', 'card', 'pending', total_cents FROM orders"
	    " WHERE id = '%s'",
	    out, paid, out, out, out, out);
	assert_int_equal(h_sql(db, sql), 0);
}

static void test_lost_card_answer_is_settled_not_expired(void **state)
{
	long long total = 0;
	char *paid = paid_card_order(&total), charged[37], never[37], body[512], key[64];
	struct h_resp r;
	const char *headers[] = {"Authorization: Bearer " SECRET, key, NULL};
	(void)state;

	/* the acquirer did charge this one; checkout never heard back */
	waiting_copy(paid, charged, 1);
	snprintf(key, sizeof(key), "Idempotency-Key: lost-%s", charged);
	assert_int_equal(post(&r, &checkout, "/v1/card-tokens",
			      "{\"number\":\"5555555555554444\",\"holder_name\":\"Rita Reembolso\","
			      "\"exp_month\":12,\"exp_year\":2031,\"cvv\":\"123\"}",
			      NULL),
			 201);
	snprintf(
	    body, sizeof(body),
	    "{\"reference\":\"%s\",\"amount_cents\":%lld,\"method\":\"card\",\"installments\":1,"
	    "\"card_token\":\"%s\",\"customer\":{\"name\":\"Rita\",\"document\":\"52998224725\","
	    "\"email\":\"rita@example.com\"},\"description\":\"test\"}",
	    charged, total, h_json_str(&r, "token"));
	h_resp_free(&r);
	assert_int_equal(h_http(&r, "POST", h_url(&sandbox, "/v1/charges"), body, headers), 0);
	assert_int_equal(r.status, 201);
	assert_string_equal(h_json_str(&r, "status"), "approved");
	h_resp_free(&r);
	enqueue("order.expire", "order_id", charged);
	assert_true(sql_becomes(1, "SELECT status = 'paid' FROM orders WHERE id = '%s'", charged));
	assert_int_equal(h_sql_intf(db,
				    "SELECT COUNT(*) FROM charges WHERE order_id = '%s'"
				    " AND status = 'approved' AND acquirer_charge_id IS NOT NULL",
				    charged),
			 1);
	/* everything a payment brings: the event, the invoice, the commission */
	assert_int_equal(h_sql_intf(db,
				    "SELECT COUNT(*) FROM jobs WHERE dedup_key IN"
				    " ('approved-payment:%1$s', 'invoice:%1$s', 'commission:%1$s')",
				    charged),
			 3);

	/* nothing was charged for this one: it expires */
	waiting_copy(paid, never, 2);
	enqueue("order.expire", "order_id", never);
	assert_true(sql_becomes(1, "SELECT status = 'expired' FROM orders WHERE id = '%s'", never));
	free(paid);
}

/* The buyer pays a Pix in its last seconds at the bank while b4 has
 * already expired the order (its expiry ran first): the money must go
 * back, and only once. */
static void test_pix_paid_after_expiry_is_refunded(void **state)
{
	struct h_resp r;
	struct b4_br_pix_info info;
	char body[1024], cpf[12], order[37], payload[600], path[128], sql[256];
	const char *auth[] = {"Authorization: Bearer " SECRET, NULL};
	long long total;
	(void)state;

	h_make_cpf((unsigned)getpid() + 7, cpf);
	snprintf(body, sizeof(body),
		 "{\"offer_code\":\"DEMOOFFER1\",\"customer\":{\"full_name\":\"Paula Tardia\","
		 "\"email\":\"paula@example.com\",\"document\":\"%s\","
		 "\"phone\":\"+55 11 91234-5678\"},\"payment\":{\"method\":\"pix\"}}",
		 cpf);
	assert_int_equal(post(&r, &checkout, "/v1/orders", body, NULL), 201);
	assert_string_equal(h_json_str(&r, "status"), "waiting_payment");
	snprintf(order, sizeof(order), "%s", h_json_str(&r, "id"));
	snprintf(payload, sizeof(payload), "%s", h_json_str(&r, "pix.payload"));
	total = (long long)cJSON_GetObjectItem(r.json, "total_cents")->valuedouble;
	h_resp_free(&r);
	assert_int_equal(b4_br_pix_parse(payload, strlen(payload), &info), 0);

	/* b4's expiry comes first: the acquirer still shows the Pix pending */
	snprintf(sql, sizeof(sql),
		 "UPDATE orders SET expires_at = UTC_TIMESTAMP(6) - INTERVAL 1 SECOND"
		 " WHERE id = '%s'",
		 order);
	assert_int_equal(h_sql(db, sql), 0);
	enqueue("order.expire", "order_id", order);
	assert_true(sql_becomes(1, "SELECT status = 'expired' FROM orders WHERE id = '%s'", order));

	/* then the payment clears and the sandbox calls checkout back */
	snprintf(path, sizeof(path), "/control/pix/%s/pay", info.txid);
	assert_int_equal(h_http(&r, "POST", h_url(&sandbox, path), NULL, auth), 0);
	assert_int_equal(r.status, 200);
	assert_int_equal(cJSON_GetObjectItem(r.json, "callback_status")->valueint, 200);
	h_resp_free(&r);
	assert_int_equal(h_sql_intf(db,
				    "SELECT COUNT(*) FROM acquirer_events WHERE order_id = '%s'"
				    " AND outcome = 'refund_queued'",
				    order),
			 1);

	/* the worker gives it all back; the order stays expired, unpaid */
	assert_true(sql_becomes(1,
				"SELECT COUNT(*) FROM charges WHERE order_id = '%s'"
				" AND status = 'refunded'",
				order));
	assert_int_equal(sandbox_refunded(order), total);
	assert_int_equal(h_sql_intf(db,
				    "SELECT COUNT(*) FROM refunds WHERE order_id = '%s'"
				    " AND amount_cents = %lld AND status = 'succeeded'"
				    " AND requested_by IS NULL AND acquirer_refund_id IS NOT NULL",
				    order, total),
			 1);
	assert_int_equal(
	    h_sql_intf(db, "SELECT status = 'expired' FROM orders WHERE id = '%s'", order), 1);
	assert_int_equal(h_sql_intf(db,
				    "SELECT COUNT(*) FROM jobs WHERE dedup_key IN"
				    " ('approved-payment:%1$s', 'invoice:%1$s', 'commission:%1$s')",
				    order),
			 0);

	/* the acquirer repeats its event, and the job runs again: still one
	 * refund, at b4 and at the acquirer */
	assert_int_equal(h_http(&r, "POST", h_url(&sandbox, path), NULL, auth), 0);
	assert_int_equal(r.status, 200);
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(r.json, "replayed")));
	h_resp_free(&r);
	replay_job("payment.refund_late", "order_id", order);
	assert_int_equal(
	    h_sql_intf(db, "SELECT COUNT(*) FROM refunds WHERE order_id = '%s'", order), 1);
	assert_int_equal(sandbox_refunded(order), total);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_partial_then_full_refund),
	    cmocka_unit_test(test_lost_card_answer_is_settled_not_expired),
	    cmocka_unit_test(test_pix_paid_after_expiry_is_refunded),
	};
	return cmocka_run_group_tests_name("refunds", tests, group_setup, group_teardown);
}
