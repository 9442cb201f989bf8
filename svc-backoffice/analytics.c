/* analytics.c - /v1/analytics/sales (gross, count, approval rate per group)
 * and /v1/analytics/funnel (checkout events per step, from funnel_days,
 * db/migrations/0021: the offer's producer's local days, as the sales'),
 * computed in SQL.
 *
 * Sales come from the sales aggregates (db/migrations/0017, kept by
 * libcommon's domain layer; by day and by payment method from sales_days,
 * 0022, by product and affiliate from sales_daily, each read with the
 * outbox's rows not yet applied, B4_SALES_LIVE), the producer's rows
 * only, so each order counts once; a day is the producer's local day (America/Sao_Paulo by
 * default) and from/to are such days, both inclusive.
 *
 * Paid states: paid, refund_requested, refunded, disputed, chargeback (each
 * was approved by the acquirer).  gross_cents sums total_cents over them,
 * paid_count counts them, approval_rate = paid / (paid + refused), null
 * when there is neither.  group_by picks one of four fixed statements; no
 * request text ever reaches the SQL. */
#include "backoffice.h"
#include "b4/sales_agg.h"

#include <string.h>

#define PAID_STATES "('paid', 'refund_requested', 'refunded', 'disputed', 'chargeback')"
#define PAID_ORDERS "SUM(IF(a.status IN " PAID_STATES ", a.orders, 0))"
#define SALES_COLUMNS                                                                              \
	" SUM(IF(a.status IN " PAID_STATES ", a.gross_cents, 0)), SUM(a.orders), " PAID_ORDERS     \
	", ROUND(" PAID_ORDERS " / NULLIF(" PAID_ORDERS " + SUM(IF(a.status = 'refused',"          \
	" a.orders, 0)), 0), 4)"
/* the producer's rows of the days asked, from TABLE and the outbox's rows
 * not applied yet (B4_SALES_LIVE): binds from x 2, to x 2, twice */
#define SALES_FROM(TABLE, KEY)                                                                     \
	" FROM" B4_SALES_LIVE(KEY ", status, orders, gross_cents", TABLE,                          \
			      "role = 'producer' AND (? IS NULL OR day >= ?)"                      \
			      " AND (? IS NULL OR day <= ?)") " a"
/* groups every order moved out of are not shown */
#define SALES_HAVING " HAVING SUM(a.orders) <> 0 ORDER BY 1"

static const char *const group_names[] = {"day", "product", "payment_method", "affiliate", NULL};

static const char *const sales_sql[] = {
    /* day: sales_days, one row per day, status and method (0022) */
    "SELECT DATE_FORMAT(a.day, '%Y-%m-%d'), NULL," SALES_COLUMNS SALES_FROM(
	"sales_days", "day") " GROUP BY a.day" SALES_HAVING,
    /* product */
    "SELECT a.product_id, MAX(p.name)," SALES_COLUMNS SALES_FROM(
	"sales_daily",
	"product_id") " JOIN products p ON p.id = a.product_id GROUP BY a.product_id" SALES_HAVING,
    /* payment_method */
    "SELECT CAST(a.payment_method AS CHAR), NULL," SALES_COLUMNS SALES_FROM(
	"sales_days", "payment_method") " GROUP BY a.payment_method" SALES_HAVING,
    /* affiliate: null key for sales without one */
    "SELECT NULLIF(a.affiliate_id, ''), MAX(u.email)," SALES_COLUMNS SALES_FROM(
	"sales_daily", "affiliate_id") " LEFT JOIN users u ON u.id = a.affiliate_id GROUP BY "
				       "a.affiliate_id" SALES_HAVING,
};

static const struct bo_col sales_cols[] = {
    {"key", BO_STR},	    {"label", BO_STR},	       {"gross_cents", BO_INT}, {"count", BO_INT},
    {"paid_count", BO_INT}, {"approval_rate", BO_NUM}, {NULL, BO_STR},
};

void bo_analytics_sales(struct b4_req *req)
{
	const char *from, *to, *group_by;
	struct b4_db_result *res;
	cJSON *root, *data;
	size_t which = 0;

	if (bo_query_range(req, &from, &to) < 0 ||
	    bo_query_enum(req, "group_by", group_names, &group_by) < 0)
		return;
	if (!group_by)
		group_by = "day";
	while (strcmp(group_names[which], group_by) != 0)
		which++;
	res = b4_db_query(req->db, sales_sql[which], "ssssssss", from, from, to, to, from, from, to,
			  to);
	if (!res) {
		b4_req_db_error(req);
		return;
	}
	root = cJSON_CreateObject();
	cJSON_AddStringToObject(root, "group_by", group_by);
	if (from)
		cJSON_AddStringToObject(root, "from", from);
	else
		cJSON_AddNullToObject(root, "from");
	if (to)
		cJSON_AddStringToObject(root, "to", to);
	else
		cJSON_AddNullToObject(root, "to");
	data = cJSON_AddArrayToObject(root, "data");
	for (size_t i = 0; i < b4_db_rows(res); i++)
		cJSON_AddItemToArray(data, bo_row_json(res, i, sales_cols));
	b4_db_result_free(res);
	b4_req_send_json(req, 200, root);
}

void bo_analytics_funnel(struct b4_req *req)
{
	const char *code = b4_req_query(req, "offer_code"), *from, *to;
	struct b4_db_result *res;
	cJSON *root, *steps;

	if (!code || !b4_text_is_offer_code(code)) {
		b4_req_errorf(req, 400, "invalid_request_error", "invalid_parameter", "offer_code",
			      "offer_code (10 letters or digits) is required.");
		return;
	}
	if (bo_query_range(req, &from, &to) < 0)
		return;
	res = b4_db_query(req->db, "SELECT id FROM offers WHERE code = ?", "s", code);
	if (!res) {
		b4_req_db_error(req);
		return;
	}
	if (b4_db_rows(res) == 0) {
		b4_db_result_free(res);
		b4_req_not_found(req, "offer");
		return;
	}
	b4_db_result_free(res);
	/* funnel_days (0021): the events counted per local day of the
	 * offer's producer, kept by a trigger, summed over the slots */
	res = b4_db_query(req->db,
			  "SELECT d.event_name, SUM(d.events) FROM funnel_days d"
			  " JOIN offers f ON f.id = d.offer_id WHERE f.code = ?"
			  " AND (? IS NULL OR d.day >= ?) AND (? IS NULL OR d.day <= ?)"
			  " GROUP BY d.event_name",
			  "sssss", code, from, from, to, to);
	if (!res) {
		b4_req_db_error(req);
		return;
	}
	root = cJSON_CreateObject();
	cJSON_AddStringToObject(root, "offer_code", code);
	steps = cJSON_AddArrayToObject(root, "steps");
	for (size_t s = 0; b4_funnel_steps[s]; s++) {
		cJSON *step = cJSON_CreateObject();
		int64_t count = 0;

		for (size_t i = 0; i < b4_db_rows(res); i++)
			if (strcmp(b4_db_str(res, i, 0), b4_funnel_steps[s]) == 0)
				count = b4_db_i64(res, i, 1);
		cJSON_AddStringToObject(step, "event_name", b4_funnel_steps[s]);
		cJSON_AddNumberToObject(step, "count", (double)count);
		cJSON_AddItemToArray(steps, step);
	}
	b4_db_result_free(res);
	b4_req_send_json(req, 200, root);
}
