/* test_worker_scheduled.c - the scheduled jobs run by a real b4-worker:
 * Pix/boleto expiry, commission release after the guarantee days (not
 * when refunded), abandoned-cart events, the hourly folding of the sales
 * aggregates' slots. */
#include "harness.h"
#include "test_worker_support.h"

#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#define PRODUCER     "01900000-0000-7000-8000-000000000001"
#define AFFILIATE    "01900000-0000-7000-8000-000000000002"
#define PRODUCT	     "01900000-0000-7000-8000-000000000101"
#define OFFER	     "01900000-0000-7000-8000-000000000201"
#define AFFILIATION  "01900000-0000-7000-8000-000000000301"
#define CUSTOMER     "0190c000-0000-7000-8000-000000000001"
#define COPRODUCER   "01900000-0000-7000-8000-000000000004"
#define COPRODUCTION "0190b000-0000-7000-8000-000000000001"

static const char *db_name;
static struct h_proc worker;

static int group_setup(void **state)
{
	(void)state;
	db_name = h_db_create("b4_scheduled", true);
	if (!db_name)
		return -1;
	return h_sql(db_name, "INSERT INTO customers (id, email, full_name, document_enc,"
			      " document_bidx, document_type) VALUES ('" CUSTOMER "',"
			      " 'buyer@example.com', 'Bia Buyer', 'x', REPEAT('a', 64), 'cpf')");
}

static void start_worker(const char *types, const char *extra)
{
	char types_env[256];
	const char *env[] = {"B4_WORKER_POLL=20ms", types_env, extra, NULL};

	snprintf(types_env, sizeof(types_env), "B4_WORKER_TYPES=%s", types);
	assert_int_equal(h_start(&worker, "b4-worker", db_name, env), 0);
	tw_track(&worker);
}

/* Inserts an order; status, method and the SQL of expires_at / paid_at. */
static void add_order(const char *id, const char *status, const char *method,
		      const char *expires_at, const char *paid_at)
{
	char sql[1024];

	snprintf(sql, sizeof(sql),
		 "INSERT INTO orders (id, customer_id, offer_id, product_id, producer_id,"
		 " affiliate_id, status, payment_method, subtotal_cents, total_cents,"
		 " access_token_hash, expires_at, paid_at) VALUES ('%s', '" CUSTOMER "',"
		 " '" OFFER "', '" PRODUCT "', '" PRODUCER "', '" AFFILIATE "', '%s', '%s', 29700,"
		 " 29700, REPEAT('0', 64), %s, %s)",
		 id, status, method, expires_at, paid_at);
	assert_int_equal(h_sql(db_name, sql), 0);
}

static void add_job(const char *type, const char *order_id)
{
	char sql[256];

	snprintf(sql, sizeof(sql),
		 "INSERT INTO jobs (type, payload) VALUES ('%s', '{\"order_id\":\"%s\"}')", type,
		 order_id);
	assert_int_equal(h_sql(db_name, sql), 0);
}

static void add_split(const char *id, const char *order_id, const char *party, const char *user)
{
	char sql[512];

	snprintf(sql, sizeof(sql),
		 "INSERT INTO splits (id, order_id, party, user_id, amount_cents) VALUES"
		 " ('%s', '%s', '%s', '%s', 10000)",
		 id, order_id, party, user);
	assert_int_equal(h_sql(db_name, sql), 0);
}

static char *order_status(const char *id)
{
	char sql[128];

	snprintf(sql, sizeof(sql), "SELECT status FROM orders WHERE id = '%s'", id);
	return h_sql_value(db_name, sql);
}

static void assert_status(const char *id, const char *want)
{
	char *got = order_status(id);

	assert_non_null(got);
	assert_string_equal(got, want);
	free(got);
}

static void test_pix_and_boleto_expiry(void **state)
{
	(void)state;
	add_order("0190d000-0000-7000-8000-000000000001", "waiting_payment", "pix",
		  "CURRENT_TIMESTAMP(6) - INTERVAL 1 SECOND", "NULL");
	add_order("0190d000-0000-7000-8000-000000000002", "waiting_payment", "boleto",
		  "CURRENT_TIMESTAMP(6) + INTERVAL 1 SECOND", "NULL");
	add_order("0190d000-0000-7000-8000-000000000003", "paid", "pix",
		  "CURRENT_TIMESTAMP(6) - INTERVAL 1 SECOND", "CURRENT_TIMESTAMP(6)");
	add_job("order.expire", "0190d000-0000-7000-8000-000000000001");
	add_job("order.expire", "0190d000-0000-7000-8000-000000000002");
	add_job("order.expire", "0190d000-0000-7000-8000-000000000003");
	start_worker("order.expire", NULL);
	assert_true(tw_wait_sql(db_name,
				"SELECT COUNT(*) FROM jobs WHERE type = 'order.expire'"
				" AND status = 'done'",
				3, 15000));
	assert_status("0190d000-0000-7000-8000-000000000001", "expired");
	/* run before its time, it waited for expires_at */
	assert_status("0190d000-0000-7000-8000-000000000002", "expired");
	assert_true(h_sql_int(db_name, "SELECT COUNT(*) FROM orders WHERE"
				       " id = '0190d000-0000-7000-8000-000000000002'"
				       " AND updated_at >= expires_at") == 1);
	/* paid stays paid */
	assert_status("0190d000-0000-7000-8000-000000000003", "paid");
}

static void test_commission_release_after_guarantee_unless_refunded(void **state)
{
	(void)state;
	/* paid 8 days ago, 7-day guarantee: due */
	add_order("0190d000-0000-7000-8000-000000000011", "paid", "card", "NULL",
		  "CURRENT_TIMESTAMP(6) - INTERVAL 8 DAY");
	add_split("0190e000-0000-7000-8000-000000000011", "0190d000-0000-7000-8000-000000000011",
		  "producer", PRODUCER);
	add_split("0190e000-0000-7000-8000-000000000012", "0190d000-0000-7000-8000-000000000011",
		  "affiliate", AFFILIATE);
	/* refunded: never released */
	add_order("0190d000-0000-7000-8000-000000000012", "refunded", "card", "NULL",
		  "CURRENT_TIMESTAMP(6) - INTERVAL 8 DAY");
	add_split("0190e000-0000-7000-8000-000000000013", "0190d000-0000-7000-8000-000000000012",
		  "affiliate", AFFILIATE);
	/* due in about a second: released once the guarantee is over */
	add_order("0190d000-0000-7000-8000-000000000013", "paid", "card", "NULL",
		  "CURRENT_TIMESTAMP(6) - INTERVAL 7 DAY + INTERVAL 1 SECOND");
	add_split("0190e000-0000-7000-8000-000000000014", "0190d000-0000-7000-8000-000000000013",
		  "affiliate", AFFILIATE);
	add_job("commission.release", "0190d000-0000-7000-8000-000000000011");
	add_job("commission.release", "0190d000-0000-7000-8000-000000000012");
	add_job("commission.release", "0190d000-0000-7000-8000-000000000013");
	start_worker("commission.release", NULL);
	assert_true(tw_wait_sql(db_name,
				"SELECT COUNT(*) FROM jobs WHERE type = 'commission.release'"
				" AND status = 'done'",
				3, 15000));
	assert_int_equal(h_sql_int(db_name, "SELECT COUNT(*) FROM splits WHERE status = 'released'"
					    " AND released_at IS NOT NULL AND order_id IN"
					    " ('0190d000-0000-7000-8000-000000000011',"
					    " '0190d000-0000-7000-8000-000000000013')"),
			 3);
	assert_int_equal(h_sql_int(db_name,
				   "SELECT COUNT(*) FROM splits WHERE status = 'waiting'"
				   " AND order_id = '0190d000-0000-7000-8000-000000000012'"),
			 1);
	assert_true(h_sql_int(db_name, "SELECT COUNT(*) FROM splits s JOIN orders o"
				       " ON o.id = s.order_id WHERE s.id ="
				       " '0190e000-0000-7000-8000-000000000014'"
				       " AND s.released_at >= o.paid_at + INTERVAL 7 DAY") == 1);
}

/* The partner job of user: exactly {role, product, commission_bps}, of
 * PRODUCT, with nothing of the lead or the cart. */
static void assert_partner_job(const char *user, const char *role, int commission_bps)
{
	char sql[1024], want[256];
	char *got;

	snprintf(sql, sizeof(sql),
		 "SELECT CONCAT_WS('|', JSON_VALUE(payload, '$.event'),"
		 " JSON_EXISTS(payload, '$.affiliate_id'), JSON_VALUE(payload, '$.product_id'),"
		 " JSON_LENGTH(payload, '$.data'), JSON_VALUE(payload, '$.data.role'),"
		 " JSON_VALUE(payload, '$.data.commission_bps'),"
		 " JSON_VALUE(payload, '$.data.product.id'),"
		 " JSON_VALUE(payload, '$.data.product.name'), INSTR(payload, '@'),"
		 " INSTR(payload, 'Lia'), INSTR(payload, '0190f000-'), INSTR(payload, 'insta'))"
		 " FROM jobs WHERE type = 'webhook.event'"
		 " AND JSON_VALUE(payload, '$.owner_id') = '%s'",
		 user);
	got = h_sql_value(db_name, sql);
	snprintf(want, sizeof(want),
		 "abandoned-cart|0|" PRODUCT "|3|%s|%d|" PRODUCT "|Sistemas em C do zero|0|0|0|0",
		 role, commission_bps);
	assert_non_null(got);
	assert_string_equal(got, want);
	free(got);
}

static void add_coproducer(void);

static void test_abandoned_cart_fires_once(void **state)
{
	char *payload;
	(void)state;

	add_coproducer();
	assert_int_equal(
	    h_sql(db_name,
		  "INSERT INTO checkout_sessions (id, offer_id, email, affiliation_id, utm_source,"
		  " updated_at) VALUES"
		  " ('0190f000-0000-7000-8000-000000000001', '" OFFER "', 'lost@example.com',"
		  "  '" AFFILIATION "', 'insta', CURRENT_TIMESTAMP(6) - INTERVAL 1 HOUR),"
		  " ('0190f000-0000-7000-8000-000000000002', '" OFFER "', 'paid@example.com',"
		  "  NULL, NULL, CURRENT_TIMESTAMP(6) - INTERVAL 1 HOUR),"
		  " ('0190f000-0000-7000-8000-000000000003', '" OFFER "', NULL,"
		  "  NULL, NULL, CURRENT_TIMESTAMP(6) - INTERVAL 1 HOUR)"),
	    0);
	/* a session that points at its paid order (rather than the reverse) */
	add_order("0190d000-0000-7000-8000-000000000022", "refunded", "pix", "NULL",
		  "CURRENT_TIMESTAMP(6)");
	assert_int_equal(
	    h_sql(db_name,
		  "INSERT INTO checkout_sessions (id, offer_id, email, order_id, updated_at) VALUES"
		  " ('0190f000-0000-7000-8000-000000000004', '" OFFER "', 'paid2@example.com',"
		  "  '0190d000-0000-7000-8000-000000000022',"
		  "  CURRENT_TIMESTAMP(6) - INTERVAL 1 HOUR)"),
	    0);
	add_order("0190d000-0000-7000-8000-000000000021", "paid", "card", "NULL",
		  "CURRENT_TIMESTAMP(6)");
	assert_int_equal(h_sql(db_name, "UPDATE orders SET session_id ="
					" '0190f000-0000-7000-8000-000000000002'"
					" WHERE id = '0190d000-0000-7000-8000-000000000021'"),
			 0);
	/* the lost session's Pix order was never paid: it names the lead */
	add_order("0190d000-0000-7000-8000-000000000023", "expired", "pix", "NULL", "NULL");
	assert_int_equal(h_sql(db_name, "UPDATE orders SET buyer_name = 'Lia Lead', session_id ="
					" '0190f000-0000-7000-8000-000000000001'"
					" WHERE id = '0190d000-0000-7000-8000-000000000023'"),
			 0);
	/* webhook.event is left to another process: the event stays visible */
	start_worker("cron.abandoned_cart", "B4_ABANDONED_CART_DELAY=2s");
	/* one event per recipient: producer, affiliate, co-producer */
	assert_true(tw_wait_sql(db_name, "SELECT COUNT(*) FROM jobs WHERE type = 'webhook.event'",
				3, 15000));
	/* several more scans (one per second) fire nothing new */
	assert_true(tw_wait_sql(db_name,
				"SELECT COUNT(*) FROM jobs WHERE type = 'cron.abandoned_cart'"
				" AND status = 'done'",
				3, 15000));
	assert_int_equal(
	    h_sql_int(db_name, "SELECT COUNT(*) FROM jobs WHERE type = 'webhook.event'"), 3);
	assert_int_equal(h_sql_int(db_name, "SELECT COUNT(*) FROM checkout_sessions"
					    " WHERE abandoned_at IS NOT NULL"),
			 1);
	/* the paid sessions are closed, so no scan reads them again; the one
	 * without an e-mail was never due */
	assert_int_equal(h_sql_int(db_name,
				   "SELECT GROUP_CONCAT(RIGHT(id, 1) ORDER BY id SEPARATOR '')"
				   " FROM checkout_sessions WHERE closed_at IS NOT NULL"
				   " AND id LIKE '0190f000-%'"),
			 24);
	assert_int_equal(h_sql_int(db_name, "SELECT COUNT(*) FROM checkout_sessions"
					    " WHERE abandon_due IS NOT NULL"
					    " AND id LIKE '0190f000-%'"),
			 0);
	/* the producer: the lead (named by the session's unpaid order) and the
	 * cart, in its own job that no affiliate endpoint can match */
	payload = h_sql_value(db_name, "SELECT CONCAT_WS('|', JSON_VALUE(payload, '$.event'),"
				       " JSON_VALUE(payload, '$.owner_id'),"
				       " JSON_EXISTS(payload, '$.affiliate_id'),"
				       " JSON_VALUE(payload, '$.data.lead.email'),"
				       " JSON_VALUE(payload, '$.data.lead.full_name'),"
				       " JSON_VALUE(payload, '$.data.cart.session_id'),"
				       " JSON_VALUE(payload, '$.data.cart.offer_code'),"
				       " JSON_VALUE(payload, '$.data.cart.price_cents'),"
				       " JSON_VALUE(payload, '$.data.cart.product.id'),"
				       " JSON_VALUE(payload, '$.data.cart.affiliate_id'),"
				       " JSON_VALUE(payload, '$.data.cart.utm_source'))"
				       " FROM jobs WHERE type = 'webhook.event'"
				       " AND JSON_VALUE(payload, '$.owner_id') = '" PRODUCER "'");
	assert_non_null(payload);
	assert_string_equal(payload,
			    "abandoned-cart|" PRODUCER "|0|lost@example.com|Lia Lead"
			    "|0190f000-0000-7000-8000-000000000001|DEMOOFFER1|29700|" PRODUCT
			    "|" AFFILIATE "|insta");
	free(payload);
	/* the affiliate and the co-producer: the product, their role and share,
	 * nothing of the lead or the cart */
	assert_partner_job(AFFILIATE, "affiliate", 4000);
	assert_partner_job(COPRODUCER, "coproducer", 2500);
}

/* A launch leaves more carts than one batch of the scan: one run takes
 * them all (the next run is a minute away with a 4 minute delay). */
static void test_abandoned_cart_scan_takes_every_batch(void **state)
{
	long long before;
	char done[192];
	(void)state;

	/* the runs of this test's worker: the jobs after the earlier tests' */
	before = h_sql_int(db_name, "SELECT COALESCE(MAX(id), 0) FROM jobs");
	snprintf(done, sizeof(done),
		 "SELECT COUNT(*) FROM jobs WHERE type = 'cron.abandoned_cart'"
		 " AND status = 'done' AND id > %lld",
		 before);
	assert_int_equal(
	    h_sql(db_name,
		  "INSERT INTO checkout_sessions (id, offer_id, email, updated_at)"
		  " SELECT CONCAT('0190f100-0000-7000-8000-', LPAD(seq, 12, '0')), '" OFFER "',"
		  " CONCAT('many', seq, '@example.com'), CURRENT_TIMESTAMP(6) - INTERVAL 1 HOUR"
		  " FROM seq_1_to_450"),
	    0);
	start_worker("cron.abandoned_cart", "B4_ABANDONED_CART_DELAY=4m");
	assert_true(tw_wait_sql(db_name, done, 1, 15000));
	assert_int_equal(h_sql_int(db_name,
				   "SELECT COUNT(*) FROM checkout_sessions"
				   " WHERE id LIKE '0190f100-%' AND abandoned_at IS NOT NULL"),
			 450);
	assert_int_equal(h_sql_int(db_name, done), 1);
}

/* Idempotency-Keys past their 24 hours answer nothing any more; the
 * worker's monitor deletes them, with their stored answers, and leaves the
 * live ones. */
static void test_expired_idempotency_keys_are_pruned(void **state)
{
	(void)state;

	assert_int_equal(
	    h_sql(db_name, "INSERT INTO idempotency_keys (scope, idem_key, request_hash, status,"
			   " response_status, response_body, expires_at) VALUES"
			   " ('test-prune', 'old', REPEAT('a', 64), 'done', 201, '{}',"
			   "  UTC_TIMESTAMP(6) - INTERVAL 1 HOUR),"
			   " ('test-prune', 'live', REPEAT('b', 64), 'done', 201, '{}',"
			   "  UTC_TIMESTAMP(6) + INTERVAL 23 HOUR)"),
	    0);
	start_worker("cron.sales_compact", NULL);
	assert_true(tw_wait_sql(db_name,
				"SELECT COUNT(*) = 0 FROM idempotency_keys"
				" WHERE scope = 'test-prune' AND idem_key = 'old'",
				1, 15000));
	assert_int_equal(h_sql_int(db_name, "SELECT COUNT(*) FROM idempotency_keys"
					    " WHERE scope = 'test-prune' AND idem_key = 'live'"),
			 1);
}

/* Adds the co-producer of PRODUCT once (the abandoned-cart tests share it). */
static void add_coproducer(void)
{
	assert_int_equal(
	    h_sql(db_name, "INSERT IGNORE INTO users (id, email, password_hash, full_name, role,"
			   " status) VALUES ('" COPRODUCER "', 'cop@example.com', 'x', 'Caca Co',"
			   " 'member', 'active')"),
	    0);
	assert_int_equal(h_sql(db_name, "INSERT IGNORE INTO coproducers (id, product_id, user_id,"
					" share_bps, starts_at) VALUES ('" COPRODUCTION "',"
					" '" PRODUCT "', '" COPRODUCER "', 2500,"
					" UTC_TIMESTAMP(6) - INTERVAL 1 DAY)"),
			 0);
}

/* Each webhook endpoint (owner, url) and what the worker delivered to it. */
static void add_endpoint(const char *id, const char *owner)
{
	char sql[512];

	snprintf(sql, sizeof(sql),
		 "INSERT INTO webhook_endpoints (id, owner_id, url, events, secret_enc) VALUES"
		 " ('%s', '%s', 'https://example.com/%s', '[\"abandoned-cart\"]', 'enc')",
		 id, owner, owner);
	assert_int_equal(h_sql(db_name, sql), 0);
}

static void test_abandoned_cart_affiliate_delivery_has_no_email(void **state)
{
	char *payload;
	(void)state;

	add_coproducer();
	/* the first test's events are not this test's */
	assert_int_equal(h_sql(db_name, "DELETE FROM jobs WHERE type = 'webhook.event'"), 0);
	add_endpoint("0190a000-0000-7000-8000-000000000001", PRODUCER);
	add_endpoint("0190a000-0000-7000-8000-000000000002", AFFILIATE);
	add_endpoint("0190a000-0000-7000-8000-000000000003", COPRODUCER);
	assert_int_equal(
	    h_sql(db_name,
		  "INSERT INTO checkout_sessions (id, offer_id, email, affiliation_id, updated_at)"
		  " VALUES ('0190f000-0000-7000-8000-000000000011', '" OFFER "',"
		  " 'secret.lead@example.com', '" AFFILIATION "',"
		  " CURRENT_TIMESTAMP(6) - INTERVAL 1 HOUR)"),
	    0);
	start_worker("cron.abandoned_cart,webhook.event", "B4_ABANDONED_CART_DELAY=2s");
	assert_true(tw_wait_sql(db_name,
				"SELECT COUNT(*) FROM webhook_deliveries"
				" WHERE event = 'abandoned-cart'",
				3, 15000));
	/* the producer's delivery carries the lead */
	payload = h_sql_value(db_name, "SELECT JSON_VALUE(payload, '$.data.lead.email')"
				       " FROM webhook_deliveries WHERE endpoint_id ="
				       " '0190a000-0000-7000-8000-000000000001'");
	assert_non_null(payload);
	assert_string_equal(payload, "secret.lead@example.com");
	free(payload);
	/* the affiliate's and the co-producer's carry no e-mail at all */
	assert_int_equal(h_sql_int(db_name,
				   "SELECT COUNT(*) FROM webhook_deliveries"
				   " WHERE endpoint_id IN"
				   " ('0190a000-0000-7000-8000-000000000002',"
				   "  '0190a000-0000-7000-8000-000000000003')"
				   " AND INSTR(payload, '@') = 0"
				   " AND INSTR(payload, 'secret.lead') = 0"
				   " AND JSON_VALUE(payload, '$.event') = 'abandoned-cart'"
				   " AND JSON_VALUE(payload, '$.data.product.id') = '" PRODUCT "'"),
			 2);
	payload = h_sql_value(db_name, "SELECT CONCAT_WS('|', JSON_VALUE(payload, '$.data.role'),"
				       " JSON_VALUE(payload, '$.data.commission_bps'),"
				       " JSON_LENGTH(payload, '$.data'))"
				       " FROM webhook_deliveries WHERE endpoint_id ="
				       " '0190a000-0000-7000-8000-000000000002'");
	assert_non_null(payload);
	assert_string_equal(payload, "affiliate|4000|3");
	free(payload);
}

/* A sales_daily row of the producer's product (paid, card) on the day
 * days_ago before today (UTC), in slot, with these orders and amount (the
 * triggers write sales_totals and sales_days). */
static void add_sales(int days_ago, int slot, int orders, long long amount)
{
	assert_int_equal(h_sqlf(db_name,
				"INSERT INTO sales_daily (member_id, day, product_id, affiliate_id,"
				" role, status, payment_method, slot, orders, gross_cents,"
				" amount_cents, reversed_cents) VALUES ('" PRODUCER "', UTC_DATE()"
				" - INTERVAL %d DAY, '" PRODUCT "', '', 'producer', 'paid', 'card',"
				" %d, %d, %lld, %lld, 0)",
				days_ago, slot, orders, amount * 2, amount),
			 0);
}

/* A funnel_days row of OFFER's page views on the day days_ago before
 * today (UTC), in slot, with events. */
static void add_views(int days_ago, int slot, int events)
{
	assert_int_equal(h_sqlf(db_name,
				"INSERT INTO funnel_days (offer_id, day, event_name, slot, events)"
				" VALUES ('" OFFER "', UTC_DATE() - INTERVAL %d DAY,"
				" 'checkout_page_view', %d, %d)",
				days_ago, slot, events),
			 0);
}

/* OFFER's page views of one day: "events in slots" ("" when none). */
static char *views_of(int days_ago)
{
	char sql[300];

	snprintf(sql, sizeof(sql),
		 "SELECT CONCAT(SUM(events), ' in ', COUNT(*)) FROM funnel_days WHERE offer_id ="
		 " '" OFFER "' AND event_name = 'checkout_page_view'"
		 " AND day = UTC_DATE() - INTERVAL %d DAY",
		 days_ago);
	return h_sql_value(db_name, sql);
}

/* The producer's sums in table, as "orders:gross:amount" (where: more
 * conditions). */
static char *sales_sums(const char *table, const char *where)
{
	char sql[512];

	snprintf(sql, sizeof(sql),
		 "SELECT CONCAT_WS(':', SUM(orders), SUM(gross_cents), SUM(amount_cents)) FROM %s"
		 " WHERE member_id = '" PRODUCER "' %s",
		 table, where);
	return h_sql_value(db_name, sql);
}

/* The worker that runs cron.sales_compact also runs the sales outbox's
 * applier: the moves the tests above made (the expiries) and a row
 * written here leave sales_pending for sales_daily, with every sum the
 * readers see (the tables plus the outbox) the same before and after. */
static void test_worker_applies_sales_outbox(void **state)
{
	static const char *const views[] = {"sales_daily_live", "sales_days_live",
					    "sales_totals_live"};
	char *before[3], *after, *applied;
	long long pending;
	struct h_resp r;
	(void)state;

	assert_int_equal(h_sql(db_name, "INSERT INTO sales_pending (member_id, day, product_id,"
					" affiliate_id, role, status, payment_method, orders,"
					" gross_cents, amount_cents, reversed_cents) VALUES"
					" ('" PRODUCER "', UTC_DATE() - INTERVAL 5 DAY, '" PRODUCT
					"', '', 'producer', 'paid', 'card', 2, 4000, 3600, 0)"),
			 0);
	pending = h_sql_int(db_name, "SELECT COUNT(*) FROM sales_pending");
	assert_true(pending >= 1);
	for (int v = 0; v < 3; v++) {
		before[v] = sales_sums(views[v], "");
		assert_non_null(before[v]);
	}
	start_worker("cron.sales_compact", "B4_SALES_APPLY_EVERY=20ms");
	assert_true(
	    tw_wait_sql(db_name, "SELECT NOT EXISTS (SELECT 1 FROM sales_pending)", 1, 10000));
	for (int v = 0; v < 3; v++) {
		after = sales_sums(views[v], "");
		assert_non_null(after);
		assert_string_equal(after, before[v]);
		free(after);
		free(before[v]);
	}
	/* the row written here is in the table now */
	after = sales_sums("sales_daily", "AND day = UTC_DATE() - INTERVAL 5 DAY");
	assert_non_null(after);
	assert_string_equal(after, "2:4000:3600");
	free(after);
	assert_int_equal(h_http(&r, "GET", h_url(&worker, "/metrics"), NULL, NULL), 0);
	assert_int_equal(r.status, 200);
	applied = strstr(r.body, "\nworker_sales_applied_total ");
	assert_non_null(applied);
	assert_int_equal(strtoll(applied + strlen("\nworker_sales_applied_total "), NULL, 10),
			 pending);
	h_resp_free(&r);
	/* this worker's hourly cron.sales_compact ran too: gone, so the next
	 * test's worker enqueues its own */
	assert_true(tw_wait_sql(db_name,
				"SELECT COUNT(*) FROM jobs WHERE type = 'cron.sales_compact'"
				" AND status = 'done'",
				1, 10000));
	assert_int_equal(h_sql(db_name, "DELETE FROM jobs WHERE type = 'cron.sales_compact'"), 0);
}

/* cron.sales_compact, enqueued by the worker itself: the slots of the days
 * before yesterday fold into slot 0 with the same sums, the sales' and the
 * funnel's; yesterday and today keep theirs (their writers may still be at
 * work).  (The demo data and the tests above have rows of their own: the
 * checks are per day and key.) */
static void test_sales_compact_folds_past_days(void **state)
{
	static const char *const checks[][2] = {
	    {"sales_daily", "AND day = UTC_DATE() - INTERVAL 3 DAY"},
	    {"sales_daily", "AND day = UTC_DATE() - INTERVAL 2 DAY"},
	    {"sales_days", "AND day = UTC_DATE() - INTERVAL 3 DAY"},
	    {"sales_days", "AND day <= UTC_DATE()"},
	    {"sales_totals", ""},
	};
	enum { NCHECKS = sizeof(checks) / sizeof(checks[0]) };
	char *before[NCHECKS], *after;
	(void)state;

	add_sales(3, 0, 5, 1000);
	add_sales(3, 4, 2, 300);
	add_sales(3, 9, -1, -100); /* a move out of paid, written in another slot */
	add_sales(2, 15, 1, 50);
	add_sales(1, 7, 3, 200);
	add_sales(0, 2, 1, 10);
	/* the funnel's page views: three rows on day -3, two on yesterday */
	add_views(3, 0, 40);
	add_views(3, 5, 7);
	add_views(3, 12, 3);
	add_views(1, 0, 10);
	add_views(1, 6, 2);
	for (int c = 0; c < NCHECKS; c++) {
		before[c] = sales_sums(checks[c][0], checks[c][1]);
		assert_non_null(before[c]);
	}
	start_worker("cron.sales_compact", NULL);
	assert_true(tw_wait_sql(db_name,
				"SELECT COUNT(*) FROM jobs WHERE type = 'cron.sales_compact'"
				" AND status = 'done'",
				1, 10000));
	for (int c = 0; c < NCHECKS; c++) {
		after = sales_sums(checks[c][0], checks[c][1]);
		assert_non_null(after);
		assert_string_equal(after, before[c]);
		free(after);
		free(before[c]);
	}
	/* the past days are in slot 0 only: day -3's three rows are one */
	assert_int_equal(h_sql_int(db_name,
				   "SELECT COUNT(*) FROM sales_daily"
				   " WHERE slot <> 0 AND day < UTC_DATE() - INTERVAL 1 DAY"),
			 0);
	assert_int_equal(h_sql_int(db_name,
				   "SELECT COUNT(*) FROM sales_days"
				   " WHERE slot <> 0 AND day < UTC_DATE() - INTERVAL 1 DAY"),
			 0);
	after = sales_sums("sales_daily", "AND day = UTC_DATE() - INTERVAL 3 DAY AND slot = 0"
					  " AND product_id = '" PRODUCT "' AND role = 'producer'"
					  " AND status = 'paid' AND payment_method = 'card'");
	assert_non_null(after);
	assert_string_equal(after, "6:2400:1200");
	free(after);
	/* the funnel's day -3 is one row with every view; yesterday keeps
	 * its slots */
	after = views_of(3);
	assert_non_null(after);
	assert_string_equal(after, "50 in 1");
	free(after);
	after = views_of(1);
	assert_non_null(after);
	assert_string_equal(after, "12 in 2");
	free(after);
	/* yesterday's and today's rows stay in their slots */
	assert_int_equal(h_sql_int(db_name,
				   "SELECT COUNT(*) FROM sales_daily WHERE member_id = '" PRODUCER
				   "' AND product_id = '" PRODUCT "' AND status = 'paid'"
				   " AND payment_method = 'card' AND ((slot = 7 AND"
				   " day = UTC_DATE() - INTERVAL 1 DAY) OR (slot = 2 AND"
				   " day = UTC_DATE()))"),
			 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_teardown(test_pix_and_boleto_expiry, tw_stop_all),
	    cmocka_unit_test_teardown(test_commission_release_after_guarantee_unless_refunded,
				      tw_stop_all),
	    cmocka_unit_test_teardown(test_abandoned_cart_fires_once, tw_stop_all),
	    cmocka_unit_test_teardown(test_abandoned_cart_affiliate_delivery_has_no_email,
				      tw_stop_all),
	    cmocka_unit_test_teardown(test_abandoned_cart_scan_takes_every_batch, tw_stop_all),
	    cmocka_unit_test_teardown(test_expired_idempotency_keys_are_pruned, tw_stop_all),
	    cmocka_unit_test_teardown(test_worker_applies_sales_outbox, tw_stop_all),
	    cmocka_unit_test_teardown(test_sales_compact_folds_past_days, tw_stop_all),
	};

	return cmocka_run_group_tests(tests, group_setup, NULL);
}
