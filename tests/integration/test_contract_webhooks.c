/* test_contract_webhooks.c - the webhook bodies the code sends match
 * docs/openapi.yaml (webhooks), per recipient.
 *
 * Drives the money domain of libcommon as the services do (an order with
 * an affiliate and a co-producer, paid, disputed, won, disputed again,
 * lost; an abandoned checkout), reads the webhook.event jobs it enqueued,
 * turns each into the body the worker POSTs ({id, event, created_at,
 * data}) and hands them to web/contract/scripts/validate-responses.mjs
 * (ajv, objects closed).  Also checks that a partner body carrying the
 * buyer would be refused, so a pass means something. */
#include "harness.h"
#include "contract_support.h"
#include "test_worker_support.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "b4/crypto.h"
#include "b4/disputes.h"
#include "b4/jobs.h"
#include "b4/orders.h"
#include "b4/pii.h"

#define PRODUCER     "01900000-0000-7000-8000-000000000001"
#define AFFILIATE    "01900000-0000-7000-8000-000000000002"
#define COPRODUCER   "01900000-0000-7000-8000-000000000004"
#define PRODUCT	     "01900000-0000-7000-8000-000000000101"
#define OFFER	     "01900000-0000-7000-8000-000000000201"
#define AFFILIATION  "01900000-0000-7000-8000-000000000301"
#define SESSION	     "0190f000-0000-7000-8000-0000000000c1"
#define DOCUMENT     "12345678909"
#define BUYER_EMAIL  "lia.lead@example.com"
#define COPRODUCTION "0190b000-0000-7000-8000-0000000000c1"

static const char *db_name;
static struct b4_db *db;
static char order_id[37];

static int group_setup(void **state)
{
	(void)state;
	db_name = h_db_create("b4_cwebhooks", true);
	if (!db_name)
		return -1;
	if (tw_pii_init() < 0)
		return -1;
	db = tw_connect(db_name);
	if (!db)
		return -1;
	if (h_sql(db_name, "INSERT INTO users (id, email, password_hash, full_name, role, status)"
			   " VALUES ('" COPRODUCER "', 'cop@example.com', 'x', 'Caca Co', 'member',"
			   " 'active')") != 0)
		return -1;
	return h_sql(db_name, "INSERT INTO coproducers (id, product_id, user_id, share_bps,"
			      " starts_at) VALUES ('" COPRODUCTION "', '" PRODUCT "',"
			      " '" COPRODUCER "', 2500, UTC_TIMESTAMP(6) - INTERVAL 1 DAY)");
}

static int group_teardown(void **state)
{
	(void)state;
	b4_db_close(db);
	b4_pii_cleanup();
	return 0;
}

/* A Pix order of the demo offer with its affiliate, as checkout writes it. */
static int create_order_tx(struct b4_db *conn, void *arg)
{
	struct b4_order_new n;
	enum b4_order_refusal refusal;
	char charge_id[37], bidx[65];
	(void)arg;

	memset(&n, 0, sizeof(n));
	if (b4_crypto_uuid7(order_id) < 0 || b4_crypto_uuid7(charge_id) < 0 ||
	    b4_pii_blind_index("document", DOCUMENT, bidx) < 0)
		return -1;
	n.order_id = order_id;
	n.charge_id = charge_id;
	n.access_token_hash = "0000000000000000000000000000000000000000000000000000000000000000";
	n.offer_id = OFFER;
	n.product_id = PRODUCT;
	n.producer_id = PRODUCER;
	n.items[0] = (struct b4_order_item_new){OFFER, "main", 29700};
	n.nitems = 1;
	n.method = "pix";
	n.installments = 1;
	n.subtotal_cents = n.total_cents = 29700;
	n.full_name = "Lia Lead";
	n.email = BUYER_EMAIL;
	n.document = DOCUMENT;
	n.document_bidx = bidx;
	n.document_is_cpf = true;
	n.phone = "+5511987654321";
	n.acquirer = "sandbox";
	n.affiliation_id = AFFILIATION;
	n.affiliate_id = AFFILIATE;
	n.affiliate_bps = 4000;
	n.platform_fee_bp = 990;
	n.platform_fee_cents = 100;
	n.client_ip = "203.0.113.7";
	return b4_order_create(conn, &n, &refusal);
}

static int pay_tx(struct b4_db *conn, void *arg)
{
	(void)arg;
	return b4_order_mark_paid(conn, order_id, NULL, NULL) == 1 ? 0 : -1;
}

static int open_tx(struct b4_db *conn, void *arg)
{
	(void)arg;
	return b4_dispute_open(conn, order_id) == 1 ? 0 : -1;
}

static int resolve_tx(struct b4_db *conn, void *arg)
{
	return b4_dispute_resolve(conn, order_id, *(const bool *)arg) == 1 ? 0 : -1;
}

static int abandon_tx(struct b4_db *conn, void *arg)
{
	(void)arg;
	return b4_job_abandoned_cart(conn, SESSION);
}

/* A validator record of one webhook body. */
static cJSON *webhook_record(const char *event, cJSON *body)
{
	cJSON *rec = cJSON_CreateObject();

	cJSON_AddStringToObject(rec, "method", "POST");
	cJSON_AddStringToObject(rec, "path", event);
	cJSON_AddStringToObject(rec, "webhook", event);
	cJSON_AddNumberToObject(rec, "status", 0);
	cJSON_AddItemToObject(rec, "body", body);
	return rec;
}

/* Every webhook.event job as the body the worker POSTs; counts[] per
 * recipient kind (0 producer, 1 partner) for the caller's checks. */
static cJSON *bodies_from_jobs(int counts[2])
{
	struct b4_db_result *res = b4_db_query(
	    db, "SELECT payload FROM jobs WHERE type = 'webhook.event' ORDER BY id", "");
	cJSON *records = cJSON_CreateArray();

	assert_non_null(res);
	for (size_t r = 0; r < b4_db_rows(res); r++) {
		cJSON *job = cJSON_Parse(b4_db_str(res, r, 0)), *body = cJSON_CreateObject();
		const char *event = cJSON_GetStringValue(cJSON_GetObjectItem(job, "event"));
		const char *owner = cJSON_GetStringValue(cJSON_GetObjectItem(job, "owner_id"));

		assert_non_null(event);
		assert_non_null(owner);
		counts[strcmp(owner, PRODUCER) == 0 ? 0 : 1]++;
		cJSON_AddItemToObject(body, "id", cJSON_DetachItemFromObject(job, "event_id"));
		cJSON_AddStringToObject(body, "event", event);
		cJSON_AddItemToObject(body, "created_at",
				      cJSON_DetachItemFromObject(job, "created_at"));
		cJSON_AddItemToObject(body, "data", cJSON_DetachItemFromObject(job, "data"));
		cJSON_AddItemToArray(records, webhook_record(event, body));
		cJSON_Delete(job);
	}
	b4_db_result_free(res);
	return records;
}

/* A partner body given the buyer: the spec must refuse it. */
static cJSON *forged_partner(cJSON *records, const char *event, const char *field)
{
	const cJSON *rec;

	cJSON_ArrayForEach(rec, records)
	{
		const cJSON *data = cJSON_GetObjectItem(cJSON_GetObjectItem(rec, "body"), "data");
		cJSON *copy, *rec_copy;
		char because[64];

		if (strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(rec, "webhook")), event) != 0 ||
		    !cJSON_GetObjectItem(data, "role"))
			continue;
		rec_copy = cJSON_Duplicate(rec, true);
		copy = cJSON_GetObjectItem(cJSON_GetObjectItem(rec_copy, "body"), "data");
		cJSON_AddStringToObject(copy, field, BUYER_EMAIL);
		cJSON_AddStringToObject(rec_copy, "expect", "invalid");
		snprintf(because, sizeof(because), "additional properties (%s)", field);
		cJSON_AddStringToObject(rec_copy, "because", because);
		return rec_copy;
	}
	fail_msg("no partner body of %s", event);
	return NULL;
}

static void test_webhook_bodies_match_the_spec(void **state)
{
	bool won = true, lost = false;
	int counts[2] = {0, 0};
	cJSON *records;
	(void)state;

	assert_int_equal(b4_db_tx(db, create_order_tx, NULL), 0);
	assert_int_equal(b4_db_tx(db, pay_tx, NULL), 0);
	assert_int_equal(b4_db_tx(db, open_tx, NULL), 0);
	assert_int_equal(b4_db_tx(db, resolve_tx, &won), 0);
	assert_int_equal(b4_db_tx(db, resolve_tx, &lost), 0);
	assert_int_equal(h_sql(db_name, "INSERT INTO checkout_sessions (id, offer_id, email,"
					" affiliation_id, utm_source) VALUES ('" SESSION "',"
					" '" OFFER "', '" BUYER_EMAIL "', '" AFFILIATION "',"
					" 'insta')"),
			 0);
	assert_int_equal(b4_db_tx(db, abandon_tx, NULL), 0);
	/* each event once per recipient: producer, affiliate, co-producer */
	assert_int_equal(h_sql_int(db_name,
				   "SELECT COUNT(DISTINCT JSON_VALUE(payload, '$.event'))"
				   " FROM jobs WHERE type = 'webhook.event' AND"
				   " JSON_VALUE(payload, '$.event') IN ('approved-payment',"
				   " 'dispute-opened', 'dispute-won', 'chargeback',"
				   " 'abandoned-cart')"),
			 5);
	records = bodies_from_jobs(counts);
	assert_true(counts[0] >= 5);
	assert_int_equal(counts[1], 2 * counts[0]);
	cJSON_AddItemToArray(records, forged_partner(records, "dispute-opened", "customer"));
	cJSON_AddItemToArray(records, forged_partner(records, "abandoned-cart", "lead"));
	tc_validate(records);
	cJSON_Delete(records);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_webhook_bodies_match_the_spec),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
