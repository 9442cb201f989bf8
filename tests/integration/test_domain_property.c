/* test_domain_property.c - a property test of the money domain over the
 * real binaries: random paid orders (with or without a bump, a coupon, the
 * affiliate, in 1 to 6 installments; the product has a co-producer), then
 * random sequences of partial refunds, over-refunds, replays of the same
 * Idempotency-Key and chargebacks, settled by b4-worker against the
 * acquirer sandbox.  After every sequence:
 *   - the splits add up exactly to the order's total;
 *   - what was reversed never exceeds what was paid, and is exactly what
 *     was refunded (plus the rest, after a chargeback);
 *   - every refund that succeeded was asked of the acquirer once (the
 *     sandbox's count for the charge), and the sandbox holds the same
 *     refunded amount;
 *   - the order's status says what happened.
 * The sequence is deterministic (fixed seed), so a failure replays. */
#include "harness.h"

#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "test_domain_support.h"

#define SECRET	      "property-tests-acquirer-secret-0123456789abcdef"
#define ADMIN_ID      "01900000-0000-7000-8000-000000000003"
#define COPRODUCER_ID TD_COPRODUCER_ID
#define ORDERS	      8
#define STEPS	      5

static const char *db;
static struct td_stack stack;

/* the stack's processes, by name */
/* the stack's processes, by name */
#define sandbox	   stack.sandbox
#define checkout   stack.checkout
#define backoffice stack.backoffice

#define sql_int(...) h_sql_intf(db, __VA_ARGS__)

/* What the random sequence did, so the test proves it tried every kind. */
static struct {
	int refunds, refused, replays, chargebacks;
} seen;

static uint64_t rng_state = UINT64_C(0x2545F4914F6CDD1D);

static uint64_t rng(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * UINT64_C(2685821657736338717);
}

static int64_t rng_range(int64_t lo, int64_t hi) /* inclusive */
{
	return lo + (int64_t)(rng() % (uint64_t)(hi - lo + 1));
}

static int group_setup(void **state)
{
	(void)state;
	db = h_db_create("b4_property", true);
	/* a co-producer with 20% on the main product */
	if (!db || td_add_coproducer(db) < 0)
		return -1;
	return td_start(&stack, db, SECRET, false, "refund.process", NULL);
}

static int group_teardown(void **state)
{
	(void)state;
	return td_stop(&stack);
}

/* A random paid order; fills its id and total. */
static void random_order(unsigned n, char id[37], long long *total)
{
	struct h_resp r;
	char body[1200], cpf[12], *token, extra[160] = "";
	int installments = (int)rng_range(1, 6);

	assert_int_equal(
	    call(&r, "POST", h_url(&checkout, "/v1/card-tokens"),
		 "{\"number\":\"5555555555554444\",\"holder_name\":\"Pri Propriedade\","
		 "\"exp_month\":12,\"exp_year\":2031,\"cvv\":\"123\"}",
		 NULL, NULL),
	    201);
	token = strdup(h_json_str(&r, "token"));
	h_resp_free(&r);
	if (rng() % 2)
		strcat(extra, ",\"bump_codes\":[\"DEMOBUMP01\"]");
	if (rng() % 2)
		strcat(extra, ",\"coupon\":\"BEMVINDO10\"");
	if (rng() % 2)
		strcat(extra, ",\"ref\":\"DEMOREF01\"");
	h_make_cpf((unsigned)getpid() * 1000 + n, cpf);
	snprintf(body, sizeof(body),
		 "{\"offer_code\":\"DEMOOFFER1\",\"customer\":{\"full_name\":\"Pri Propriedade\","
		 "\"email\":\"prop-%u@example.com\",\"document\":\"%s\",\"phone\":\"11912345678\"},"
		 "\"payment\":{\"method\":\"card\",\"card_token\":\"%s\",\"installments\":%d}%s}",
		 n, cpf, token, installments, extra);
	free(token);
	snprintf(extra, sizeof(extra), "property-order-%d-%u", (int)getpid(), n);
	assert_int_equal(call(&r, "POST", h_url(&checkout, "/v1/orders"), body, extra, NULL), 201);
	assert_string_equal(h_json_str(&r, "status"), "paid");
	snprintf(id, 37, "%s", h_json_str(&r, "id"));
	*total = (long long)cJSON_GetObjectItem(r.json, "total_cents")->valuedouble;
	h_resp_free(&r);
}

/* Waits until no refund of the order is pending (the worker settled). */
static void wait_settled(const char *order)
{
	for (int i = 0; i < 200; i++) {
		if (sql_int("SELECT COUNT(*) FROM refunds WHERE order_id = '%s'"
			    " AND status IN ('requested', 'processing')",
			    order) == 0)
			return;
		usleep(50 * 1000);
	}
	fail_msg("refunds of %s never settled", order);
}

/* The sandbox's view of the order's charge. */
static void sandbox_charge(const char *order, long long *refunded, long long *refunds)
{
	struct h_resp r;
	char path[128];
	cJSON *charge;

	snprintf(path, sizeof(path), "/v1/charges?reference=%s", order);
	assert_int_equal(
	    call(&r, "GET", h_url(&sandbox, path), NULL, NULL, "Authorization: Bearer " SECRET),
	    200);
	charge = cJSON_GetArrayItem(cJSON_GetObjectItem(r.json, "data"), 0);
	assert_non_null(charge);
	*refunded = (long long)cJSON_GetObjectItem(charge, "refunded_cents")->valuedouble;
	*refunds = (long long)cJSON_GetObjectItem(charge, "refunds_count")->valuedouble;
	h_resp_free(&r);
}

/* One refund request from the back-office; a replay reuses the last key
 * and body and must get the same status.  Returns the status. */
static long refund_step(const char *order, long long left, char last_key[64], char last_body[96],
			long *last_status)
{
	struct h_resp r;
	char url[160];
	long status, want;
	bool replay = last_key[0] && rng() % 4 == 0;
	long long amount;

	snprintf(url, sizeof(url), "http://127.0.0.1:%d/v1/orders/%s/refunds", backoffice.port,
		 order);
	if (!replay) {
		static unsigned n;
		/* mostly within what is left, sometimes above it */
		amount = left > 0 && rng() % 5 != 0 ? rng_range(1, left) : left + rng_range(1, 500);
		snprintf(last_key, 64, "property-refund-%d-%u", (int)getpid(), ++n);
		snprintf(last_body, 96, "{\"amount_cents\":%lld,\"reason\":\"propriedade\"}",
			 amount);
	}
	status = call(&r, "POST", url, last_body, last_key, h_bearer(ADMIN_ID, "admin"));
	seen.replays += replay;
	seen.refunds += !replay && status == 201;
	seen.refused += !replay && status != 201;
	if (replay) {
		/* a stored answer is replayed as it was; a refusal stored nothing,
		 * so the same request is judged again */
		if (*last_status == 201) {
			assert_int_equal(status, 201);
			assert_non_null(h_resp_header(&r, "Idempotent-Replayed"));
		}
	} else {
		want = left <= 0 ? 409 : 0;
		if (want)
			assert_int_equal(status, want);
		else
			assert_true(status == 201 || status == 422);
	}
	h_resp_free(&r);
	*last_status = status;
	return status;
}

static void chargeback_step(const char *order)
{
	struct h_resp r;
	char path[160], sql[160], *charge_id;

	snprintf(sql, sizeof(sql), "SELECT acquirer_charge_id FROM charges WHERE order_id = '%s'",
		 order);
	charge_id = h_sql_value(db, sql);
	assert_non_null(charge_id);
	snprintf(path, sizeof(path), "/control/charges/%s/chargeback", charge_id);
	/* 409 when the sandbox's charge is already fully refunded or charged back */
	call(&r, "POST", h_url(&sandbox, path), "{}", NULL, "Authorization: Bearer " SECRET);
	assert_true(r.status == 200 || r.status == 409);
	seen.chargebacks += r.status == 200;
	h_resp_free(&r);
	free(charge_id);
}

/* The invariants of one order after its sequence. */
static void check_order(const char *order, long long total)
{
	long long reversed, succeeded, refunded, refunds, asked;
	char sql[200], *status;

	assert_int_equal(
	    sql_int("SELECT SUM(amount_cents) FROM splits WHERE order_id = '%s'", order), total);
	assert_int_equal(sql_int("SELECT COUNT(*) FROM splits WHERE order_id = '%s'"
				 " AND (reversed_cents < 0 OR reversed_cents > amount_cents)",
				 order),
			 0);
	reversed = sql_int("SELECT SUM(reversed_cents) FROM splits WHERE order_id = '%s'", order);
	succeeded = sql_int("SELECT COALESCE(SUM(amount_cents), 0) FROM refunds"
			    " WHERE order_id = '%s' AND status = 'succeeded'",
			    order);
	asked = sql_int("SELECT COUNT(*) FROM refunds WHERE order_id = '%s'"
			" AND status = 'succeeded'",
			order);
	assert_true(reversed <= total);
	assert_true(succeeded <= total);
	snprintf(sql, sizeof(sql), "SELECT status FROM orders WHERE id = '%s'", order);
	status = h_sql_value(db, sql);
	assert_non_null(status);
	if (strcmp(status, "chargeback") == 0)
		assert_int_equal(reversed, total);
	else
		assert_int_equal(reversed, succeeded);
	if (succeeded == total)
		assert_string_equal(status, "refunded");
	else
		assert_true(strcmp(status, "paid") == 0 || strcmp(status, "chargeback") == 0);
	/* the co-producer was told of the sale with its own part only */
	assert_int_equal(sql_int("SELECT COUNT(*) FROM jobs WHERE type = 'webhook.event'"
				 " AND dedup_key = 'approved-payment:%s:" COPRODUCER_ID "'"
				 " AND JSON_VALUE(payload, '$.owner_id') = '" COPRODUCER_ID "'"
				 " AND JSON_VALUE(payload, '$.data.role') = 'coproducer'"
				 " AND JSON_EXISTS(payload, '$.data.customer') = 0"
				 " AND JSON_EXISTS(payload, '$.data.total_cents') = 0",
				 order),
			 1);
	/* each refund was asked of the acquirer once */
	sandbox_charge(order, &refunded, &refunds);
	assert_int_equal(refunded, succeeded);
	assert_int_equal(refunds, asked);
	free(status);
}

static void test_random_refunds_chargebacks_replays(void **state)
{
	(void)state;

	for (unsigned n = 0; n < ORDERS; n++) {
		char order[37], last_key[64] = "", last_body[96] = "";
		long long total, left;
		long last_status = 0;

		random_order(n, order, &total);
		left = total;
		for (int step = 0; step < STEPS; step++) {
			if (rng() % 6 == 0) {
				chargeback_step(order);
			} else if (refund_step(order, left, last_key, last_body, &last_status) ==
				   201) {
				wait_settled(order);
			}
			wait_settled(order);
			left = total - sql_int("SELECT COALESCE(SUM(amount_cents), 0) FROM refunds"
					       " WHERE order_id = '%s' AND status <> 'failed'",
					       order);
			if (sql_int("SELECT COUNT(*) FROM orders WHERE id = '%s'"
				    " AND status IN ('paid', 'refund_requested')",
				    order) == 0)
				left = 0; /* refunded or charged back: nothing refundable */
		}
		check_order(order, total);
	}
	fprintf(stderr, "property: %d refunds, %d refused, %d replays, %d chargebacks\n",
		seen.refunds, seen.refused, seen.replays, seen.chargebacks);
	assert_true(seen.refunds > 0 && seen.refused > 0 && seen.replays > 0 &&
		    seen.chargebacks > 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_random_refunds_chargebacks_replays),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
