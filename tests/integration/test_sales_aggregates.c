/* test_sales_aggregates.c - the sales_daily aggregates (migration 0017)
 * stay equal to a recount of orders and splits after random orders (card
 * paid and declined, pix left waiting, with or without the affiliate, a
 * bump, a coupon; the product has a co-producer) and random partial
 * refunds, full refunds, disputes won and chargebacks, all through the real
 * binaries: b4-checkout, b4-backoffice, b4-worker, b4-api and the acquirer
 * sandbox's control endpoints.  Then:
 *   - with nothing applied yet, what readers read (sales_daily_live: the
 *     table plus the outbox, sales_pending) equals a recount written here
 *     independently (each member's day by arithmetic on its utc_offset,
 *     not CONVERT_TZ: the producer is at -03:00, the affiliate at +09:00
 *     and the co-producer at -10:00, so one order falls on different days
 *     for them), and so do the summaries;
 *   - half the outbox applied, every summary and the back-office's
 *     analytics (each group-by) are what they were with nothing applied;
 *   - the outbox applied (b4_sales_agg_apply, in batches on two
 *     connections), the table alone, summed over slots, equals it;
 *   - sales_totals and sales_days (kept by triggers) are sales_daily
 *     summed over days, and over products, affiliates and roles, and
 *     sales_platform_days is sales_days' producer rows summed;
 *   - GET /v1/sales/summary read from the totals (no range) and from
 *     sales_days (whole days) equals the same summary computed from the
 *     orders (a range that cuts a day), for the producer, the affiliate and
 *     the co-producer;
 *   - a paid order's answer is its GET view, and its approved-payment
 *     events (built from what the checkout wrote) are what reading the
 *     order gives (b4_job_order_event_into);
 *   - b4-migrate --compact-aggregates folds the appliers' slots into slot 0
 *     and keeps every sum, also while orders are being written and two
 *     appliers race for the same outbox rows;
 *   - b4-migrate --rebuild-aggregates writes the same totals.
 * The sequence is deterministic (fixed seed), so a failure replays (but
 * for the interleaving of the compaction with live orders). */
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "b4/jobs.h"
#include "b4/queue.h"
#include "b4/sales_agg.h"
#include "test_domain_support.h"
#include "test_worker_support.h"

#define SECRET	      "aggregate-tests-acquirer-secret-0123456789abcdef"
#define ADMIN_ID      "01900000-0000-7000-8000-000000000003"
#define PRODUCER_ID   "01900000-0000-7000-8000-000000000001"
#define AFFILIATE_ID  "01900000-0000-7000-8000-000000000002"
#define COPRODUCER_ID TD_COPRODUCER_ID
#define ORDERS	      14

static const char *db;
static struct td_stack st;
#define sandbox	   st.sandbox
#define checkout   st.checkout
#define backoffice st.backoffice
#define api	   st.api
static struct {
	int paid, declined, waiting, refunds, disputes_won, chargebacks;
} seen;

static uint64_t rng_state = UINT64_C(0x9E3779B97F4A7C15);

static uint64_t rng(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * UINT64_C(2685821657736338717);
}

static int group_setup(void **state)
{
	const char *env[] = {"B4_WORKER_POLL=50ms", NULL};
	(void)state;

	db = h_db_create("b4_aggregates", true);
	if (!db || tw_pii_init() < 0)
		return -1;
	/* a co-producer with 20% on the main product; the members in three
	 * time zones (the producer keeps São Paulo's) */
	if (td_add_coproducer(db) < 0 ||
	    h_sql(db, "UPDATE users SET utc_offset = '+09:00' WHERE id = '" AFFILIATE_ID "'") < 0 ||
	    h_sql(db, "UPDATE users SET utc_offset = '-10:00' WHERE id = '" COPRODUCER_ID "'") < 0)
		return -1;
	return td_start(&st, db, SECRET, true, "refund.process", env);
}

static int group_teardown(void **state)
{
	(void)state;
	return td_stop(&st);
}

static long post(struct h_resp *r, const char *url, const char *body, const char *key,
		 const char *auth)
{
	return call(r, "POST", url, body, key, auth);
}

/* A webhook.event payload without what each enqueue makes anew. */
static cJSON *event_payload(const char *text)
{
	cJSON *p = cJSON_Parse(text);

	assert_non_null(p);
	cJSON_DeleteItemFromObject(p, "event_id");
	cJSON_DeleteItemFromObject(p, "created_at");
	return p;
}

/* The paid order's answer (from what the checkout wrote, not read back)
 * must be its GET view, and its approved-payment jobs what a read of the
 * order makes, job for job. */
static void check_paid_answer(const cJSON *answer)
{
	const char *id = cJSON_GetObjectItem(answer, "id")->valuestring;
	struct b4_db *conn = tw_connect(db);
	struct b4_queue_batch batch;
	cJSON *mine = cJSON_Duplicate(answer, true);
	struct h_resp r;
	char path[200];

	snprintf(path, sizeof(path), "/v1/orders/%s?access_token=%s", id,
		 cJSON_GetObjectItem(answer, "access_token")->valuestring);
	assert_int_equal(h_http(&r, "GET", h_url(&checkout, path), NULL, NULL), 0);
	assert_int_equal(r.status, 200);
	cJSON_DeleteItemFromObject(mine, "access_token");
	if (!cJSON_Compare(mine, r.json, true))
		fail_msg("answer %s, GET %s", cJSON_PrintUnformatted(mine), r.body);
	h_resp_free(&r);
	cJSON_Delete(mine);

	assert_non_null(conn);
	b4_queue_batch_init(&batch);
	assert_int_equal(b4_job_order_event_into(conn, &batch, "approved-payment", id, NULL, NULL),
			 0);
	assert_true(batch.n >= 2); /* the producer, the co-producer (and the affiliate) */
	assert_int_equal(h_sql_intf(db,
				    "SELECT COUNT(*) FROM jobs WHERE type = 'webhook.event'"
				    " AND dedup_key LIKE 'approved-payment:%s%%'",
				    id),
			 (long long)batch.n);
	for (size_t k = 0; k < batch.n; k++) {
		char sql[300], *text;
		cJSON *written, *read;

		snprintf(
		    sql, sizeof(sql),
		    "SELECT payload FROM jobs WHERE type = 'webhook.event' AND dedup_key = '%s'",
		    batch.job[k].dedup);
		text = h_sql_value(db, sql);
		assert_non_null(text);
		written = event_payload(text);
		read = event_payload(batch.job[k].payload);
		if (!cJSON_Compare(written, read, true))
			fail_msg("job %s: written %s, read %s", batch.job[k].dedup, text,
				 batch.job[k].payload);
		cJSON_Delete(written);
		cJSON_Delete(read);
		free(text);
	}
	b4_queue_batch_cleanup(&batch);
	b4_db_close(conn);
}

/* A random order; fills its id and status ("paid", "refused" or
 * "waiting_payment"). */
static void random_order(unsigned n, char id[37], char status[24])
{
	struct h_resp r;
	char body[1200], cpf[12], payment[200], extra[160] = "";
	uint64_t kind = rng() % 6;

	if (kind <= 3) { /* card: 4 in 6, one of them declined */
		const char *number = kind == 3 ? "4000000000000002" : "5555555555554444";
		snprintf(body, sizeof(body),
			 "{\"number\":\"%s\",\"holder_name\":\"Ana Agregada\",\"exp_month\":12,"
			 "\"exp_year\":2031,\"cvv\":\"123\"}",
			 number);
		assert_int_equal(post(&r, h_url(&checkout, "/v1/card-tokens"), body, NULL, NULL),
				 201);
		snprintf(payment, sizeof(payment),
			 "{\"method\":\"card\",\"card_token\":\"%s\",\"installments\":%d}",
			 h_json_str(&r, "token"), (int)(rng() % 6) + 1);
		h_resp_free(&r);
	} else {
		snprintf(payment, sizeof(payment), "{\"method\":\"pix\"}");
	}
	if (rng() % 2)
		strcat(extra, ",\"bump_codes\":[\"DEMOBUMP01\"]");
	if (rng() % 3 == 0)
		strcat(extra, ",\"coupon\":\"BEMVINDO10\"");
	if (rng() % 2)
		strcat(extra, ",\"ref\":\"DEMOREF01\"");
	h_make_cpf((unsigned)getpid() * 1000 + n, cpf);
	snprintf(body, sizeof(body),
		 "{\"offer_code\":\"DEMOOFFER1\",\"customer\":{\"full_name\":\"Ana Agregada\","
		 "\"email\":\"agg-%u@example.com\",\"document\":\"%s\",\"phone\":\"11912345678\"},"
		 "\"payment\":%s%s}",
		 n, cpf, payment, extra);
	snprintf(extra, sizeof(extra), "aggregate-order-%d-%u", (int)getpid(), n);
	if (post(&r, h_url(&checkout, "/v1/orders"), body, extra, NULL) == 402) {
		/* declined: the order is kept, refused */
		snprintf(id, 37, "%s", h_json_str(&r, "error.order_id"));
		snprintf(status, 24, "refused");
	} else {
		assert_int_equal(r.status, 201);
		snprintf(id, 37, "%s", h_json_str(&r, "id"));
		snprintf(status, 24, "%s", h_json_str(&r, "status"));
		if (!strcmp(status, "paid"))
			check_paid_answer(r.json);
	}
	h_resp_free(&r);
}

static void wait_status(const char *order, const char *want)
{
	for (int i = 0; i < 200; i++) {
		if (h_sql_intf(db,
			       "SELECT COUNT(*) FROM orders o WHERE id = '%s' AND status = '%s'"
			       " AND NOT EXISTS (SELECT 1 FROM refunds WHERE order_id = o.id"
			       " AND status IN ('requested', 'processing'))",
			       order, want) == 1)
			return;
		usleep(50 * 1000);
	}
	fail_msg("order %s never reached %s", order, want);
}

/* A back-office refund of amount (settled by the worker). */
static void refund(const char *order, long long amount, const char *then)
{
	static unsigned n;
	struct h_resp r;
	char url[160], body[96], key[64];

	snprintf(url, sizeof(url), "http://127.0.0.1:%d/v1/orders/%s/refunds", backoffice.port,
		 order);
	snprintf(body, sizeof(body), "{\"amount_cents\":%lld,\"reason\":\"agregado\"}", amount);
	snprintf(key, sizeof(key), "aggregate-refund-%d-%u", (int)getpid(), ++n);
	assert_int_equal(post(&r, url, body, key, h_bearer(ADMIN_ID, "admin")), 201);
	h_resp_free(&r);
	wait_status(order, then);
	seen.refunds++;
}

/* A sandbox control move of the order's charge: "chargeback", "dispute"
 * or "dispute/resolve" with body. */
static void control(const char *order, const char *what, const char *body, const char *then)
{
	struct h_resp r;
	char path[200], sql[200], *charge_id;

	snprintf(sql, sizeof(sql),
		 "SELECT acquirer_charge_id FROM charges WHERE order_id = '%s'"
		 " AND status <> 'declined'",
		 order);
	charge_id = h_sql_value(db, sql);
	assert_non_null(charge_id);
	snprintf(path, sizeof(path), "/control/charges/%s/%s", charge_id, what);
	assert_int_equal(
	    post(&r, h_url(&sandbox, path), body, NULL, "Authorization: Bearer " SECRET), 200);
	h_resp_free(&r);
	free(charge_id);
	wait_status(order, then);
}

/* One line per (member, day, product, affiliate, status, method) with
 * orders, gross, amount and reversed: from table (sales_daily, or the
 * readers' sales_daily_live with the outbox) summed over slots, or
 * recounted from orders and splits. */
static char *aggregate_lines_of(const char *table)
{
	char sql[900];

	snprintf(sql, sizeof(sql),
		 "SELECT GROUP_CONCAT(CONCAT_WS(':', member_id, day, product_id, affiliate_id,"
		 " role, status, payment_method, n, g, a, r) ORDER BY 1 SEPARATOR '\\n') FROM"
		 " (SELECT member_id, day, product_id, affiliate_id, role, CAST(status AS CHAR)"
		 " status, CAST(payment_method AS CHAR) payment_method, SUM(orders) n,"
		 " SUM(gross_cents) g, SUM(amount_cents) a, SUM(reversed_cents) r FROM %s"
		 " GROUP BY 1, 2, 3, 4, 5, 6, 7 HAVING n <> 0 OR g <> 0 OR a <> 0 OR r <> 0) x",
		 table);
	return h_sql_value(db, sql);
}

static char *aggregate_lines(void)
{
	return aggregate_lines_of("sales_daily");
}

static char *recount_lines(void)
{
	return h_sql_value(
	    db,
	    "SELECT GROUP_CONCAT(CONCAT_WS(':', member_id, day, product_id, affiliate_id, role,"
	    " status, payment_method, n, g, a, r) ORDER BY 1 SEPARATOR '\\n') FROM"
	    " (SELECT mm.member_id, DATE(o.created_at + INTERVAL IF(LEFT(u.utc_offset, 1) = '-',"
	    " -1, 1) * (SUBSTRING(u.utc_offset, 2, 2) * 60 + SUBSTRING(u.utc_offset, 5, 2))"
	    " MINUTE) day, o.product_id,"
	    " IFNULL(o.affiliate_id, '') affiliate_id, IF(mm.member_id = o.producer_id,"
	    " 'producer', IF(mm.member_id = o.affiliate_id, 'affiliate', 'coproducer')) role,"
	    " CAST(o.status AS CHAR) status, CAST(o.payment_method AS CHAR) payment_method,"
	    " COUNT(*) n, SUM(IF(mm.member_id = o.producer_id, o.total_cents, mine.a)) g,"
	    " SUM(mine.a) a, SUM(mine.r) r FROM orders o JOIN"
	    " (SELECT id order_id, producer_id member_id FROM orders UNION SELECT id,"
	    " affiliate_id FROM orders WHERE affiliate_id IS NOT NULL UNION SELECT order_id,"
	    " user_id FROM splits WHERE party = 'coproducer') mm ON mm.order_id = o.id"
	    " JOIN users u ON u.id = mm.member_id"
	    " JOIN (SELECT mm2.order_id, mm2.member_id, IFNULL(SUM(s.amount_cents), 0) a,"
	    " IFNULL(SUM(s.reversed_cents), 0) r FROM (SELECT id order_id, producer_id member_id"
	    " FROM orders UNION SELECT id, affiliate_id FROM orders WHERE affiliate_id IS NOT"
	    " NULL UNION SELECT order_id, user_id FROM splits WHERE party = 'coproducer') mm2"
	    " LEFT JOIN splits s ON s.order_id = mm2.order_id AND s.user_id = mm2.member_id"
	    " GROUP BY 1, 2) mine ON mine.order_id = o.id AND mine.member_id = mm.member_id"
	    " GROUP BY 1, 2, 3, 4, 5, 6, 7) x");
}

static void get_summary(struct h_resp *r, const char *member, const char *query)
{
	const char *headers[] = {h_bearer(member, "member"), NULL};
	char path[160];

	snprintf(path, sizeof(path), "/v1/sales/summary%s", query);
	assert_int_equal(h_http(r, "GET", h_url(&api, path), NULL, headers), 0);
	assert_int_equal(r->status, 200);
}

/* The member's summary from its three sources must be the same document:
 * the all-time totals (no range), the daily aggregates (a range of whole
 * days in the member's utc_offset) and the orders (a range that cuts a
 * day). */
static void check_summary(const char *member, const char *must_have_status)
{
	const char *whole_days =
	    !strcmp(member, AFFILIATE_ID)    ? "?from=1999-12-31T15:00:00Z&to=2099-12-31T15:00:00Z"
	    : !strcmp(member, COPRODUCER_ID) ? "?from=2000-01-01T10:00:00Z&to=2100-01-01T10:00:00Z"
					     : "?from=2000-01-01T03:00:00Z&to=2100-01-01T03:00:00Z";
	struct h_resp whole, days, cut;

	get_summary(&whole, member, "");
	get_summary(&days, member, whole_days);
	get_summary(&cut, member, "?from=2000-01-01T00:00:01Z&to=2100-01-01T00:00:00Z");
	if (!cJSON_Compare(whole.json, cut.json, true) || !cJSON_Compare(days.json, cut.json, true))
		fail_msg("summary of %s: totals %s, days %s, orders %s", member, whole.body,
			 days.body, cut.body);
	assert_true(cJSON_GetObjectItem(whole.json, "paid_count")->valuedouble > 0);
	assert_true(cJSON_GetObjectItem(whole.json, "net_cents")->valuedouble > 0);
	if (must_have_status)
		assert_non_null(cJSON_GetObjectItem(
		    cJSON_GetObjectItem(whole.json, "count_by_status"), must_have_status));
	h_resp_free(&whole);
	h_resp_free(&days);
	h_resp_free(&cut);
}

/* The back-office's sales analytics of all time, by each group, as one
 * text (to free): what a reader sees, whichever part of the outbox is
 * applied. */
static char *backoffice_analytics(void)
{
	static const char *const groups[] = {"day", "product", "payment_method", "affiliate"};
	const char *headers[] = {h_bearer(ADMIN_ID, "admin"), NULL};
	cJSON *all = cJSON_CreateObject();
	char *text;

	for (size_t g = 0; g < sizeof(groups) / sizeof(groups[0]); g++) {
		struct h_resp r;
		char url[160];

		snprintf(url, sizeof(url), "http://127.0.0.1:%d/v1/analytics/sales?group_by=%s",
			 backoffice.port, groups[g]);
		assert_int_equal(h_http(&r, "GET", url, NULL, headers), 0);
		assert_int_equal(r.status, 200);
		assert_true(cJSON_GetArraySize(cJSON_GetObjectItem(r.json, "data")) > 0);
		cJSON_AddItemToObject(all, groups[g],
				      cJSON_Duplicate(cJSON_GetObjectItem(r.json, "data"), true));
		h_resp_free(&r);
	}
	text = cJSON_PrintUnformatted(all);
	cJSON_Delete(all);
	return text;
}

/* Lines of member:status:method:slot[:day]:sums from table (by_day: per
 * day too), zero rows left out. */
static char *totals_lines(const char *table, bool by_day)
{
	const char *day = by_day ? ", DATE_FORMAT(day, '%Y-%m-%d')" : ", ''";
	char sql[900];

	snprintf(sql, sizeof(sql),
		 "SELECT GROUP_CONCAT(CONCAT_WS(':', member_id, status, payment_method, slot, d, n,"
		 " g, a, r) ORDER BY 1 SEPARATOR ',') FROM (SELECT member_id, CAST(status AS CHAR)"
		 " status, CAST(payment_method AS CHAR) payment_method, slot%s d, SUM(orders) n,"
		 " SUM(gross_cents) g, SUM(amount_cents) a, SUM(reversed_cents) r FROM %s"
		 " GROUP BY 1, 2, 3, 4, 5 HAVING n <> 0 OR g <> 0 OR a <> 0 OR r <> 0) x",
		 day, table);
	return h_sql_value(db, sql);
}

/* Lines of day:status:method:orders:gross of the platform: its table, or
 * the producers' rows of sales_days summed (zero groups left out). */
static char *platform_lines(const char *table, const char *where)
{
	char sql[700];

	snprintf(sql, sizeof(sql),
		 "SELECT GROUP_CONCAT(CONCAT_WS(':', d, status, payment_method, n, g) ORDER BY 1"
		 " SEPARATOR ',') FROM (SELECT DATE_FORMAT(day, '%%Y-%%m-%%d') d, CAST(status AS"
		 " CHAR) status, CAST(payment_method AS CHAR) payment_method, SUM(orders) n,"
		 " SUM(gross_cents) g FROM %s WHERE %s GROUP BY 1, 2, 3 HAVING n <> 0 OR g <> 0) x",
		 table, where);
	return h_sql_value(db, sql);
}

/* sales_totals (0018), sales_days (0019) and sales_platform_days (0024),
 * kept by triggers, are sales_daily summed. */
static void check_totals(void)
{
	char *daily = totals_lines("sales_daily", false),
	     *totals = totals_lines("sales_totals", false);
	char *daily_days = totals_lines("sales_daily", true),
	     *days = totals_lines("sales_days", true);
	char *platform = platform_lines("sales_platform_days", "1"),
	     *producers = platform_lines("sales_days", "role = 'producer'");

	assert_non_null(daily);
	assert_non_null(totals);
	assert_non_null(daily_days);
	assert_non_null(days);
	assert_non_null(platform);
	assert_non_null(producers);
	assert_string_equal(totals, daily);
	assert_string_equal(days, daily_days);
	assert_string_equal(platform, producers);
	free(daily);
	free(totals);
	free(daily_days);
	free(days);
	free(platform);
	free(producers);
}

/* Orders of a batch of the drain: small, so that it takes several. */
#define DRAIN_BATCH 5

/* A connection whose slot (CONNECTION_ID() % 16) is not avoid's (-1: any);
 * *slot gets it. */
static struct b4_db *connect_in_other_slot(int avoid, int *slot)
{
	for (int tries = 0; tries < 64; tries++) {
		struct b4_db *conn = tw_connect(db);
		struct b4_db_result *res;

		assert_non_null(conn);
		res = b4_db_query(conn, "SELECT CONNECTION_ID() % 16", "");
		assert_non_null(res);
		*slot = (int)b4_db_i64(res, 0, 0);
		b4_db_result_free(res);
		if (*slot != avoid)
			return conn;
		b4_db_close(conn);
	}
	fail_msg("every connection landed in slot %d", avoid);
	return NULL;
}

/* Folds the outbox into the aggregates as b4-worker's applier does
 * (b4_sales_agg_apply), at least at_least rows or all of them (-1),
 * batches taking turns on two connections of different slots, so the
 * aggregates have rows in two slots for the compaction to fold.  Returns
 * the rows applied. */
static int64_t apply_outbox(int64_t at_least)
{
	int first, second;
	struct b4_db *conn[2];
	int64_t applied, total = 0;
	size_t turn = 0;

	conn[0] = connect_in_other_slot(-1, &first);
	conn[1] = connect_in_other_slot(first, &second);
	do {
		assert_int_equal(b4_sales_agg_apply(conn[turn++ % 2], DRAIN_BATCH, &applied, NULL),
				 0);
		total += applied;
	} while (applied > 0 && (at_least < 0 || total < at_least));
	b4_db_close(conn[0]);
	b4_db_close(conn[1]);
	return total;
}

/* The whole outbox applied; returns the rows applied. */
static int64_t drain_outbox(void)
{
	int64_t total = apply_outbox(-1);

	assert_int_equal(h_sql_intf(db, "SELECT COUNT(*) FROM sales_pending"), 0);
	return total;
}

/* The aggregates equal the recount, and the totals follow them; returns
 * the aggregates' lines (to free). */
static char *check_recount(void)
{
	char *kept = aggregate_lines(), *recount = recount_lines();

	assert_non_null(kept);
	assert_non_null(recount);
	assert_string_equal(kept, recount);
	free(recount);
	check_totals();
	return kept;
}

/* Every day of the test is today: a compaction of the days before this one
 * takes them all. */
#define ALL_DAYS "2100-01-01"

/* Folds every day's slots and checks that nothing else changed: the same
 * lines as kept, only slot 0 left, the totals and summaries the same. */
static void compact_and_check(const char *kept)
{
	char *compacted;

	assert_int_equal(h_db_compact_aggregates(db, ALL_DAYS), 0);
	compacted = aggregate_lines();
	assert_non_null(compacted);
	assert_string_equal(compacted, kept);
	assert_int_equal(h_sql_intf(db, "SELECT COUNT(*) FROM sales_daily WHERE slot <> 0"), 0);
	assert_int_equal(h_sql_intf(db, "SELECT COUNT(*) FROM sales_days WHERE slot <> 0"), 0);
	assert_int_equal(h_sql_intf(db, "SELECT COUNT(*) FROM sales_platform_days WHERE slot <> 0"),
			 0);
	check_totals();
	check_summary(PRODUCER_ID, NULL);
	check_summary(COPRODUCER_ID, NULL);
	free(compacted);
}

static void test_aggregates_equal_recount(void **state)
{
	char *kept, *rebuilt, *live, *recount, *analytics, *mixed, *applied;
	long long pending, half;
	(void)state;

	for (unsigned n = 0; n < ORDERS; n++) {
		char order[37], status[24];
		long long total;

		random_order(n, order, status);
		seen.declined += !strcmp(status, "refused");
		seen.waiting += !strcmp(status, "waiting_payment");
		if (strcmp(status, "paid") != 0)
			continue;
		seen.paid++;
		total = h_sql_intf(db, "SELECT total_cents FROM orders WHERE id = '%s'", order);
		switch (rng() % 5) {
		case 0: /* a partial refund, then the rest */
			refund(order, total / 3, "paid");
			refund(order, total - total / 3, "refunded");
			break;
		case 1: /* a partial refund, then a chargeback */
			refund(order, total / 4, "paid");
			control(order, "chargeback", "{}", "chargeback");
			seen.chargebacks++;
			break;
		case 2: /* a dispute won, then a partial refund */
			control(order, "dispute", "{}", "disputed");
			control(order, "dispute/resolve", "{\"outcome\":\"won\"}", "paid");
			seen.disputes_won++;
			refund(order, 100, "paid");
			break;
		case 3:
			control(order, "chargeback", "{}", "chargeback");
			seen.chargebacks++;
			break;
		default: /* stays paid */
			break;
		}
	}
	fprintf(stderr,
		"aggregates: %d paid, %d declined, %d waiting, %d refunds, %d disputes won,"
		" %d chargebacks\n",
		seen.paid, seen.declined, seen.waiting, seen.refunds, seen.disputes_won,
		seen.chargebacks);
	assert_true(seen.paid > 0 && seen.declined > 0 && seen.waiting > 0 && seen.refunds > 0 &&
		    seen.disputes_won > 0 && seen.chargebacks > 0);

	/* no applier ran (this worker does not own cron.sales_compact): every
	 * move is still in the outbox, and what readers read (the tables plus
	 * the outbox) is already the recount */
	assert_int_equal(h_sql_intf(db, "SELECT COUNT(*) FROM sales_daily"), 0);
	live = aggregate_lines_of("sales_daily_live");
	recount = recount_lines();
	assert_non_null(live);
	assert_non_null(recount);
	assert_string_equal(live, recount);
	check_summary(PRODUCER_ID, "chargeback");
	check_summary(AFFILIATE_ID, NULL);
	check_summary(COPRODUCER_ID, NULL);
	/* half applied: a group may be in both the table and the outbox, and
	 * every reader still adds up to the same figures */
	pending = h_sql_intf(db, "SELECT COUNT(*) FROM sales_pending");
	assert_true(pending > 0);
	analytics = backoffice_analytics();
	half = apply_outbox(pending / 2);
	assert_true(half >= pending / 2 && half < pending);
	check_summary(PRODUCER_ID, "chargeback");
	check_summary(AFFILIATE_ID, NULL);
	check_summary(COPRODUCER_ID, NULL);
	mixed = backoffice_analytics();
	assert_string_equal(mixed, analytics);
	/* applied, the tables alone are the recount, and the readers' views
	 * the same */
	assert_int_equal(drain_outbox(), pending - half);
	kept = check_recount();
	assert_string_equal(kept, live);
	check_summary(PRODUCER_ID, "chargeback");
	check_summary(AFFILIATE_ID, NULL);
	check_summary(COPRODUCER_ID, NULL);
	applied = backoffice_analytics();
	assert_string_equal(applied, analytics);
	/* the two rounds of applying wrote in two slots each; folding them
	 * changes no sum */
	assert_true(h_sql_intf(db, "SELECT COUNT(DISTINCT slot) FROM sales_daily") >= 2);
	compact_and_check(kept);
	/* the rebuild writes the same totals (into slot 0) */
	assert_int_equal(h_db_rebuild_aggregates(db), 0);
	rebuilt = aggregate_lines();
	assert_non_null(rebuilt);
	assert_string_equal(rebuilt, kept);
	assert_int_equal(h_sql_intf(db, "SELECT COUNT(*) FROM sales_daily WHERE slot <> 0"), 0);
	check_totals();
	check_summary(PRODUCER_ID, NULL);
	free(kept);
	free(rebuilt);
	free(live);
	free(recount);
	free(analytics);
	free(mixed);
	free(applied);
}

#define LIVE_BUYERS 4
#define LIVE_ORDERS 6
static atomic_int live_done; /* buyers finished */

/* A buyer placing LIVE_ORDERS orders one after another: card (paid) and
 * Pix (left waiting) in turn. */
static void *live_buyer(void *arg)
{
	unsigned buyer = (unsigned)(uintptr_t)arg;
	long failed = 0;

	for (unsigned k = 0; k < LIVE_ORDERS; k++) {
		unsigned n = 1000 + buyer * 100 + k;
		char body[1200], cpf[12], payment[200], key[64];
		struct h_resp r;

		if (k % 2 == 0) {
			if (post(&r, h_url(&checkout, "/v1/card-tokens"),
				 "{\"number\":\"5555555555554444\",\"holder_name\":\"Ana Viva\","
				 "\"exp_month\":12,\"exp_year\":2031,\"cvv\":\"123\"}",
				 NULL, NULL) != 201) {
				failed = r.status;
				h_resp_free(&r);
				break;
			}
			snprintf(payment, sizeof(payment),
				 "{\"method\":\"card\",\"card_token\":\"%s\"}",
				 h_json_str(&r, "token"));
			h_resp_free(&r);
		} else {
			snprintf(payment, sizeof(payment), "{\"method\":\"pix\"}");
		}
		h_make_cpf((unsigned)getpid() * 1000 + n, cpf);
		snprintf(body, sizeof(body),
			 "{\"offer_code\":\"DEMOOFFER1\",\"ref\":\"DEMOREF01\",\"customer\":"
			 "{\"full_name\":\"Ana Viva\",\"email\":\"live-%u@example.com\","
			 "\"document\":\"%s\",\"phone\":\"11912345678\"},\"payment\":%s}",
			 n, cpf, payment);
		snprintf(key, sizeof(key), "aggregate-live-%d-%u", (int)getpid(), n);
		/* paid, waiting, or refused by antifraud: each is counted */
		if (post(&r, h_url(&checkout, "/v1/orders"), body, key, NULL) != 201 &&
		    r.status != 402)
			failed = r.status;
		h_resp_free(&r);
		if (failed)
			break;
	}
	atomic_fetch_add(&live_done, 1);
	return (void *)(intptr_t)failed;
}

/* An applier of the outbox racing another for the same rows while buyers
 * order, on its own connection, as two b4-worker processes would. */
struct live_applier {
	pthread_t thread;
	struct b4_db *conn;
	int64_t applied;
	bool failed;
};

static void *live_applier_main(void *arg)
{
	struct live_applier *a = arg;
	int64_t applied;

	while (atomic_load(&live_done) < LIVE_BUYERS && !a->failed) {
		if (b4_sales_agg_apply(a->conn, DRAIN_BATCH, &applied, NULL) < 0)
			a->failed = true;
		a->applied += applied;
	}
	return NULL;
}

/* Two appliers and compactions run while buyers order (every day is
 * folded, today too, so they fight the live writers and each other for
 * the same rows): the aggregates still equal the recount.  They run in
 * this process, through the domain calls b4-worker's applier thread and
 * its cron.sales_compact make, back to back. */
static void test_compaction_during_live_orders(void **state)
{
	struct b4_db *conn = tw_connect(db);
	pthread_t buyers[LIVE_BUYERS];
	struct live_applier appliers[2] = {0};
	char *kept;
	int compactions = 0, slot;
	int64_t folded, folded_total = 0;
	(void)state;

	assert_non_null(conn);
	/* the first applier's rows are in a slot to fold */
	appliers[0].conn = connect_in_other_slot(0, &slot);
	appliers[1].conn = connect_in_other_slot(slot, &slot);
	for (unsigned b = 0; b < LIVE_BUYERS; b++)
		assert_int_equal(pthread_create(&buyers[b], NULL, live_buyer, (void *)(uintptr_t)b),
				 0);
	for (size_t k = 0; k < 2; k++)
		assert_int_equal(
		    pthread_create(&appliers[k].thread, NULL, live_applier_main, &appliers[k]), 0);
	while (atomic_load(&live_done) < LIVE_BUYERS) {
		assert_int_equal(b4_sales_agg_compact(conn, ALL_DAYS, SIZE_MAX, &folded), 0);
		folded_total += folded;
		compactions++;
	}
	b4_db_close(conn);
	for (unsigned b = 0; b < LIVE_BUYERS; b++) {
		void *failed;
		assert_int_equal(pthread_join(buyers[b], &failed), 0);
		assert_int_equal((intptr_t)failed, 0);
	}
	for (size_t k = 0; k < 2; k++) {
		assert_int_equal(pthread_join(appliers[k].thread, NULL), 0);
		b4_db_close(appliers[k].conn);
		assert_false(appliers[k].failed);
	}
	fprintf(stderr,
		"aggregates: %d compactions (%lld days folded) and %lld + %lld outbox rows"
		" applied during %d live orders\n",
		compactions, (long long)folded_total, (long long)appliers[0].applied,
		(long long)appliers[1].applied, LIVE_BUYERS * LIVE_ORDERS);
	assert_true(appliers[0].applied > 0 || appliers[1].applied > 0);
	assert_true(folded_total > 0);
	/* what the buyers' last orders left in the outbox */
	drain_outbox();
	kept = check_recount();
	compact_and_check(kept);
	free(kept);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_aggregates_equal_recount),
	    cmocka_unit_test(test_compaction_during_live_orders),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
