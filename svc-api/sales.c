/* sales.c - the member's sales dashboard: orders where the caller is the
 * producer, a co-producer or the affiliate, each seeing only their own
 * part (co-producers and affiliates never see the order total or anyone
 * else's split), commissions balance, and the producer's refund request. */
#include "api.h"
#include "b4/crypto.h"
#include "b4/idempotency.h"
#include "b4/orderfsm.h"
#include "b4/orders.h"
#include "b4/refunds.h"
#include "b4/sales_agg.h"

#include <stdio.h>
#include <string.h>

/* The caller's relation to the order (producer first), and their own
 * split amount net of reversals.  Binds: caller x 6. */
#define SALE_COLS                                                                                  \
	"SELECT o.id, o.status, o.payment_method, o.installments, o.total_cents,"                  \
	" o.subtotal_cents, o.discount_cents, o.interest_cents, o.product_id, p.name,"             \
	" o.created_at, o.paid_at,"                                                                \
	" CASE WHEN o.producer_id = ? THEN 'producer' WHEN o.affiliate_id = ? THEN 'affiliate'"    \
	" ELSE 'coproducer' END,"                                                                  \
	" (SELECT COALESCE(SUM(s.amount_cents - s.reversed_cents), 0) FROM splits s"               \
	"  WHERE s.order_id = o.id AND s.user_id = ?),"                                            \
	" " B4_ORDER_BUYER_COLS " FROM orders o JOIN products p ON p.id = o.product_id"            \
	" JOIN customers c ON c.id = o.customer_id"
#define SALE_VISIBLE                                                                               \
	" (o.producer_id = ? OR o.affiliate_id = ? OR EXISTS (SELECT 1 FROM splits s2"             \
	"  WHERE s2.order_id = o.id AND s2.user_id = ? AND s2.party = 'coproducer'))"

/* The caller's orders as a union of three index ranges, one per role
 * (orders by producer_id, by affiliate_id, co-producer splits by user),
 * each already filtered, newest first and cut at the page size, so a page
 * reads about a page of rows per role however large orders grows.  One OR
 * across the roles (SALE_VISIBLE) would make MariaDB walk orders newest
 * first testing every row: seconds per page for a member whose sales are
 * old (docs/BENCHMARKS.md).  The filters are those of api_sales_list.
 * Binds per branch: caller, SALE_FILTER_TYPES, limit. */
#define SALE_FILTERS                                                                               \
	" AND (? IS NULL OR f.status = ?) AND (? IS NULL OR f.product_id = ?)"                     \
	" AND (? IS NULL OR f.payment_method = ?)"                                                 \
	" AND (? IS NULL OR f.created_at >= ?) AND (? IS NULL OR f.created_at < ?)"                \
	" AND (? IS NULL OR f.id < ?)"
#define SALE_PAGE_IDS                                                                              \
	" JOIN ((SELECT f.id FROM orders f WHERE f.producer_id = ?" SALE_FILTERS                   \
	"  ORDER BY f.id DESC LIMIT ?)"                                                            \
	" UNION (SELECT f.id FROM orders f WHERE f.affiliate_id = ?" SALE_FILTERS                  \
	"  ORDER BY f.id DESC LIMIT ?)"                                                            \
	" UNION (SELECT f.id FROM splits s JOIN orders f ON f.id = s.order_id"                     \
	"  WHERE s.user_id = ? AND s.party = 'coproducer'" SALE_FILTERS                            \
	"  ORDER BY s.order_id DESC LIMIT ?)) page ON page.id = o.id"
/* All the caller's orders (for totals): the same three ranges, uncut. */
#define SALE_ALL_IDS                                                                               \
	" JOIN (SELECT id FROM orders WHERE producer_id = ?"                                       \
	" UNION SELECT id FROM orders WHERE affiliate_id = ?"                                      \
	" UNION SELECT order_id FROM splits WHERE user_id = ? AND party = 'coproducer') mine"      \
	" ON mine.id = o.id"
#define SALE_BRANCH_TYPES                                                                          \
	"s"                                                                                        \
	"ssssssssssss"                                                                             \
	"I"
#define SALE_BRANCH_ARGS(me, status, product, method, from, to, after, limit)                      \
	me, status, status, product, product, method, method, from, from, to, to, after, after,    \
	    limit

static const char *const order_statuses[] = {
    "waiting_payment", "paid",	   "refused",	 "expired", "refund_requested",
    "refunded",	       "disputed", "chargeback", NULL};

static cJSON *sale_json(const struct b4_db_result *res, size_t row)
{
	cJSON *s = cJSON_CreateObject();
	bool producer = strcmp(b4_db_str(res, row, 12), "producer") == 0;

	cJSON_AddStringToObject(s, "id", b4_db_str(res, row, 0));
	cJSON_AddStringToObject(s, "status", b4_db_str(res, row, 1));
	cJSON_AddStringToObject(s, "payment_method", b4_db_str(res, row, 2));
	cJSON_AddNumberToObject(s, "installments", (double)b4_db_i64(res, row, 3));
	cJSON_AddStringToObject(s, "product_id", b4_db_str(res, row, 8));
	cJSON_AddStringToObject(s, "product_name", b4_db_str(res, row, 9));
	cJSON_AddStringToObject(s, "role", b4_db_str(res, row, 12));
	cJSON_AddNumberToObject(s, "my_amount_cents", (double)b4_db_i64(res, row, 13));
	if (producer) {
		cJSON *customer;
		cJSON_AddNumberToObject(s, "total_cents", (double)b4_db_i64(res, row, 4));
		cJSON_AddNumberToObject(s, "subtotal_cents", (double)b4_db_i64(res, row, 5));
		cJSON_AddNumberToObject(s, "discount_cents", (double)b4_db_i64(res, row, 6));
		cJSON_AddNumberToObject(s, "interest_cents", (double)b4_db_i64(res, row, 7));
		/* the buyer as of the purchase */
		customer = b4_order_buyer_json(res, row, 14);
		if (customer)
			cJSON_AddItemToObject(s, "customer", customer);
	}
	api_add_time(s, "created_at", res, row, 10);
	api_add_time(s, "paid_at", res, row, 11);
	return s;
}

void api_sales_list(struct b4_req *req)
{
	const char *me = req->caller.user_id;
	const char *status = b4_req_query(req, "status");
	const char *product_id = b4_req_query(req, "product_id");
	const char *method = b4_req_query(req, "payment_method");
	const char *from = NULL, *to = NULL, *after = NULL;
	struct b4_db_result *res;
	bool known = false;
	int limit;

	if (status) {
		for (int i = 0; order_statuses[i]; i++)
			known = known || strcmp(status, order_statuses[i]) == 0;
		if (!known) {
			b4_req_errorf(req, 400, "invalid_request_error", "invalid_value", "status",
				      "Unknown order status.");
			return;
		}
	}
	if (method && strcmp(method, "card") != 0 && strcmp(method, "pix") != 0 &&
	    strcmp(method, "boleto") != 0) {
		b4_req_errorf(req, 400, "invalid_request_error", "invalid_value", "payment_method",
			      "payment_method must be card, pix or boleto.");
		return;
	}
	if (product_id && !b4_text_is_uuid(product_id)) {
		b4_req_errorf(req, 400, "invalid_request_error", "invalid_value", "product_id",
			      "product_id must be a product id.");
		return;
	}
	if (api_query_time(req, "from", &from) < 0 || api_query_time(req, "to", &to) < 0 ||
	    b4_req_page(req, &limit, &after) < 0)
		return;
	res = b4_db_query(
	    req->db, SALE_COLS SALE_PAGE_IDS " ORDER BY o.id DESC LIMIT ?",
	    "sss" SALE_BRANCH_TYPES SALE_BRANCH_TYPES SALE_BRANCH_TYPES "I", me, me, me,
	    SALE_BRANCH_ARGS(me, status, product_id, method, from, to, after, limit + 1),
	    SALE_BRANCH_ARGS(me, status, product_id, method, from, to, after, limit + 1),
	    SALE_BRANCH_ARGS(me, status, product_id, method, from, to, after, limit + 1),
	    limit + 1);
	api_send_page(req, res, (size_t)limit, sale_json);
}

/* The sale's splits: every part for its producer, only their own for a
 * co-producer or an affiliate.  0 or -1 (DB error). */
static int sale_add_splits(struct b4_req *req, cJSON *sale, const char *order_id)
{
	bool producer = cJSON_GetObjectItemCaseSensitive(sale, "total_cents") != NULL;
	struct b4_db_result *res;
	cJSON *arr;

	res =
	    b4_db_query(req->db,
			"SELECT party, amount_cents, reversed_cents, status, release_at FROM splits"
			" WHERE order_id = ? AND (? OR user_id = ?) ORDER BY FIELD(party,"
			" 'platform', 'producer', 'coproducer', 'affiliate'), id",
			"sBs", order_id, producer, req->caller.user_id);
	if (!res)
		return -1;
	arr = cJSON_AddArrayToObject(sale, "splits");
	for (size_t i = 0; i < b4_db_rows(res); i++) {
		cJSON *sp = cJSON_CreateObject();
		cJSON_AddStringToObject(sp, "party", b4_db_str(res, i, 0));
		cJSON_AddNumberToObject(sp, "amount_cents", (double)b4_db_i64(res, i, 1));
		cJSON_AddNumberToObject(sp, "reversed_cents", (double)b4_db_i64(res, i, 2));
		cJSON_AddStringToObject(sp, "status", b4_db_str(res, i, 3));
		api_add_time(sp, "release_at", res, i, 4);
		cJSON_AddItemToArray(arr, sp);
	}
	b4_db_result_free(res);
	return 0;
}

void api_sale_get(struct b4_req *req)
{
	const char *me = req->caller.user_id;
	const char *id = api_id_param(req, "id");
	struct b4_db_result *res, *items;
	cJSON *sale, *arr;

	if (!id) {
		b4_req_not_found(req, "sale");
		return;
	}
	res = b4_db_query(req->db, SALE_COLS " WHERE o.id = ? AND" SALE_VISIBLE, "sssssss", me, me,
			  me, id, me, me, me);
	if (!api_found(req, res, "sale"))
		return;
	sale = sale_json(res, 0);
	b4_db_result_free(res);
	items =
	    b4_db_query(req->db,
			"SELECT i.type, f.code, f.name, i.price_cents FROM order_items i"
			" JOIN offers f ON f.id = i.offer_id WHERE i.order_id = ? ORDER BY i.id",
			"s", id);
	if (!items) {
		cJSON_Delete(sale);
		b4_req_db_error(req);
		return;
	}
	arr = cJSON_AddArrayToObject(sale, "items");
	for (size_t i = 0; i < b4_db_rows(items); i++) {
		cJSON *it = cJSON_CreateObject();
		cJSON_AddStringToObject(it, "type", b4_db_str(items, i, 0));
		cJSON_AddStringToObject(it, "offer_code", b4_db_str(items, i, 1));
		cJSON_AddStringToObject(it, "offer_name", b4_db_str(items, i, 2));
		if (cJSON_GetObjectItemCaseSensitive(sale, "total_cents"))
			cJSON_AddNumberToObject(it, "price_cents", (double)b4_db_i64(items, i, 3));
		cJSON_AddItemToArray(arr, it);
	}
	b4_db_result_free(items);
	if (sale_add_splits(req, sale, id) < 0) {
		cJSON_Delete(sale);
		b4_req_db_error(req);
		return;
	}
	b4_req_send_json(req, 200, sale);
}

/* Adds n to counts[key], creating it at 0. */
static void count_add(cJSON *counts, const char *key, int64_t n)
{
	cJSON *item = cJSON_GetObjectItemCaseSensitive(counts, key);

	if (item)
		cJSON_SetNumberValue(item, item->valuedouble + (double)n);
	else
		cJSON_AddNumberToObject(counts, key, (double)n);
}

/* Drops the counts every order moved out of. */
static void counts_prune(cJSON *counts)
{
	cJSON *item = counts->child;

	while (item) {
		cJSON *next = item->next;
		if (item->valuedouble == 0)
			cJSON_Delete(cJSON_DetachItemViaPointer(counts, item));
		item = next;
	}
}

/* The summary's rows, whichever source: status, payment method, orders,
 * gross, net.  Binds: (caller, from x 2, to x 2) x 2 (aggregates) or
 * caller x 6, from x 2, to x 2 (orders).
 *
 * From sales_days (sales_daily summed over product and affiliate) and the
 * outbox's rows not yet applied (B4_SALES_LIVE_ROWS: exact at any moment,
 * a status and method may come twice) when the range is whole days of the
 * caller's time zone (or open): a few rows per day, whatever the number of
 * orders, products or affiliates.
 * gross: the order totals of the caller's own products plus, for other
 * roles, their own split; net: the caller's splits after reversals. */
#define SUMMARY_SUMS                                                                               \
	"status, payment_method, SUM(orders), SUM(gross_cents),"                                   \
	" SUM(amount_cents - reversed_cents)"
#define SUMMARY_FROM_AGGREGATES                                                                    \
	B4_SALES_LIVE_ROWS(SUMMARY_SUMS, "sales_days",                                             \
			   "member_id = ? AND (? IS NULL OR day >= ?) AND (? IS NULL OR day < ?)", \
			   "status, payment_method")
/* No range at all: the all-time totals (0018) and the outbox, at most 8 x
 * 3 x 16 rows and the outbox's. */
#define SUMMARY_FROM_TOTALS                                                                        \
	B4_SALES_LIVE_ROWS(SUMMARY_SUMS, "sales_totals", "member_id = ?", "status, payment_method")
/* From the orders themselves, for a range that cuts a day. */
#define SUMMARY_FROM_ORDERS                                                                        \
	"SELECT o.status, o.payment_method, COUNT(*),"                                             \
	" COALESCE(SUM(CASE WHEN o.producer_id = ? THEN o.total_cents ELSE"                        \
	" (SELECT COALESCE(SUM(s.amount_cents), 0) FROM splits s WHERE"                            \
	" s.order_id = o.id AND s.user_id = ?) END), 0),"                                          \
	" COALESCE(SUM((SELECT COALESCE(SUM(s.amount_cents - s.reversed_cents), 0)"                \
	" FROM splits s WHERE s.order_id = o.id AND s.user_id = ?)), 0)"                           \
	" FROM orders o" SALE_ALL_IDS                                                              \
	" WHERE (? IS NULL OR o.created_at >= ?) AND (? IS NULL OR o.created_at < ?)"              \
	" GROUP BY o.status, o.payment_method"

/* Reads the caller's summary rows: the all-time totals without a range,
 * the daily aggregates when from and to (each optional) fall on midnights
 * of the caller's UTC offset, the orders otherwise.  NULL on a database
 * error. */
static struct b4_db_result *summary_rows(struct b4_req *req, const char *from, const char *to)
{
	const char *me = req->caller.user_id;
	struct b4_db_result *days, *rows = NULL;

	if (!from && !to)
		return b4_db_query(req->db, SUMMARY_FROM_TOTALS, "ss", me, me);
	days = b4_db_query(
	    req->db,
	    "SELECT DATE(CONVERT_TZ(?, '+00:00', utc_offset)), DATE(CONVERT_TZ(?, '+00:00',"
	    " utc_offset)), (? IS NULL OR TIME(CONVERT_TZ(?, '+00:00', utc_offset)) = 0) AND"
	    " (? IS NULL OR TIME(CONVERT_TZ(?, '+00:00', utc_offset)) = 0) FROM users WHERE id = ?",
	    "sssssss", from, to, from, from, to, to, me);
	if (!days)
		return NULL;
	if (b4_db_rows(days) == 1 && b4_db_i64(days, 0, 2) == 1) {
		const char *d0 = b4_db_is_null(days, 0, 0) ? NULL : b4_db_str(days, 0, 0);
		const char *d1 = b4_db_is_null(days, 0, 1) ? NULL : b4_db_str(days, 0, 1);
		rows = b4_db_query(req->db, SUMMARY_FROM_AGGREGATES, "ssssssssss", me, d0, d0, d1,
				   d1, me, d0, d0, d1, d1);
	} else {
		rows = b4_db_query(req->db, SUMMARY_FROM_ORDERS, "ssssssssss", me, me, me, me, me,
				   me, from, from, to, to);
	}
	b4_db_result_free(days);
	return rows;
}

void api_sales_summary(struct b4_req *req)
{
	const char *from = NULL, *to = NULL;
	int64_t gross = 0, net = 0, paid = 0;
	struct b4_db_result *rows;
	cJSON *out, *by_status, *by_method;

	if (api_query_time(req, "from", &from) < 0 || api_query_time(req, "to", &to) < 0)
		return;
	rows = summary_rows(req, from, to);
	if (!rows) {
		b4_req_db_error(req);
		return;
	}
	out = cJSON_CreateObject();
	by_status = cJSON_CreateObject();
	by_method = cJSON_CreateObject();
	for (size_t i = 0; i < b4_db_rows(rows); i++) {
		const char *status = b4_db_str(rows, i, 0);
		int64_t n = b4_db_i64(rows, i, 2);

		count_add(by_status, status, n);
		count_add(by_method, b4_db_str(rows, i, 1), n);
		/* only orders that were paid at some point count in gross, net
		 * and paid_count */
		if (b4_order_state_was_paid(b4_order_state_parse(status))) {
			paid += n;
			gross += b4_db_i64(rows, i, 3);
			net += b4_db_i64(rows, i, 4);
		}
	}
	b4_db_result_free(rows);
	counts_prune(by_status);
	counts_prune(by_method);
	cJSON_AddNumberToObject(out, "gross_cents", (double)gross);
	cJSON_AddNumberToObject(out, "net_cents", (double)net);
	cJSON_AddNumberToObject(out, "paid_count", (double)paid);
	cJSON_AddItemToObject(out, "count_by_status", by_status);
	cJSON_AddItemToObject(out, "count_by_payment_method", by_method);
	b4_req_send_json(req, 200, out);
}

void api_balance(struct b4_req *req)
{
	struct b4_db_result *res;
	cJSON *out;

	res = b4_db_query(
	    req->db,
	    "SELECT COALESCE(SUM(CASE WHEN status = 'waiting' THEN amount_cents -"
	    " reversed_cents END), 0), COALESCE(SUM(CASE WHEN status = 'released' THEN"
	    " amount_cents - reversed_cents END), 0), COALESCE(SUM(reversed_cents +"
	    " CASE WHEN status = 'reversed' THEN amount_cents - reversed_cents ELSE 0 END),"
	    " 0) FROM splits WHERE user_id = ?",
	    "s", req->caller.user_id);
	if (!res) {
		b4_req_db_error(req);
		return;
	}
	out = cJSON_CreateObject();
	cJSON_AddNumberToObject(out, "waiting_cents", (double)b4_db_i64(res, 0, 0));
	cJSON_AddNumberToObject(out, "released_cents", (double)b4_db_i64(res, 0, 1));
	cJSON_AddNumberToObject(out, "reversed_cents", (double)b4_db_i64(res, 0, 2));
	cJSON_AddStringToObject(out, "currency", "BRL");
	b4_db_result_free(res);
	b4_req_send_json(req, 200, out);
}

static const char *const refund_fields[] = {"reason", NULL};

/* POST /v1/sales/:id/refund: the producer asks for a refund of what is
 * left of a sale.  The same domain path as the back-office's (refund row,
 * order to refund_requested, refund.process job); an Idempotency-Key, when
 * given, makes a retry replay the first answer. */
void api_sale_refund(struct b4_req *req)
{
	const char *id = api_id_param(req, "id");
	struct b4_refund_request r = {0};
	struct b4_idem idem;
	const cJSON *body;
	struct b4_error err;

	if (!id) {
		b4_req_not_found(req, "sale");
		return;
	}
	if (!(body = api_body(req, refund_fields, false)))
		return;
	if (b4_json_get_str(body, "reason", B4_JSON_REQUIRED, 1, 500, &r.reason, &err) < 0) {
		api_fail(req, &err);
		return;
	}
	if (b4_idem_prepare(req, &idem, "sales_refunds", body, false) < 0)
		return;
	r.order_id = id;
	r.producer_id = req->caller.user_id;
	r.requested_by = req->caller.user_id;
	b4_refund_respond(req, &idem, &r, NULL);
}
