/* analytics.c - /v1/analytics/sales (gross, count, approval rate per group)
 * and /v1/analytics/funnel (checkout events per step), computed in SQL.
 *
 * Paid states: paid, refund_requested, refunded, disputed, chargeback (each
 * was approved by the acquirer).  gross_cents sums total_cents over them,
 * paid_count counts them, approval_rate = paid / (paid + refused), null
 * when there is neither.  group_by picks one of four fixed statements; no
 * request text ever reaches the SQL. */
#include "backoffice.h"

#include <string.h>

#define PAID_STATES "('paid', 'refund_requested', 'refunded', 'disputed', 'chargeback')"
#define SALES_COLUMNS                                                                              \
	" SUM(CASE WHEN o.status IN " PAID_STATES " THEN o.total_cents ELSE 0 END),"               \
	" COUNT(*),"                                                                               \
	" SUM(o.status IN " PAID_STATES "),"                                                       \
	" ROUND(SUM(o.status IN " PAID_STATES ") / NULLIF(SUM(o.status IN " PAID_STATES            \
	") + SUM(o.status = 'refused'), 0), 4)"
#define SALES_WHERE                                                                                \
	" WHERE (? IS NULL OR o.created_at >= ?)"                                                  \
	" AND (? IS NULL OR o.created_at < DATE_ADD(?, INTERVAL 1 DAY))"

static const char *const group_names[] = {"day", "product", "payment_method", "affiliate", NULL};

static const char *const sales_sql[] = {
    /* day */
    "SELECT DATE_FORMAT(o.created_at, '%Y-%m-%d'), NULL," SALES_COLUMNS " FROM orders o" SALES_WHERE
    " GROUP BY DATE_FORMAT(o.created_at, '%Y-%m-%d') ORDER BY 1",
    /* product */
    "SELECT o.product_id, MAX(p.name)," SALES_COLUMNS
    " FROM orders o JOIN products p ON p.id = o.product_id" SALES_WHERE
    " GROUP BY o.product_id ORDER BY 1",
    /* payment_method */
    "SELECT CAST(o.payment_method AS CHAR), NULL," SALES_COLUMNS " FROM orders o" SALES_WHERE
    " GROUP BY o.payment_method ORDER BY 1",
    /* affiliate: null key for sales without one */
    "SELECT o.affiliate_id, MAX(u.email)," SALES_COLUMNS
    " FROM orders o LEFT JOIN users u ON u.id = o.affiliate_id" SALES_WHERE
    " GROUP BY o.affiliate_id ORDER BY 1",
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
	res = b4_db_query(req->db, sales_sql[which], "ssss", from, from, to, to);
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
	res = b4_db_query(req->db,
			  "SELECT e.event_name, COUNT(*) FROM checkout_events e"
			  " JOIN offers f ON f.id = e.offer_id WHERE f.code = ?"
			  " AND (? IS NULL OR e.occurred_at >= ?)"
			  " AND (? IS NULL OR e.occurred_at < DATE_ADD(?, INTERVAL 1 DAY))"
			  " GROUP BY e.event_name",
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
