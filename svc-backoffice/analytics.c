/* analytics.c - /v1/analytics/sales (gross, count, approval rate per group)
 * and /v1/analytics/funnel (checkout events per step, from funnel_days,
 * db/migrations/0021: the offer's producer's local days, as the sales').
 *
 * Sales come from the sales aggregates (db/migrations/0017, kept by
 * libcommon's domain layer; by day and by payment method from
 * sales_platform_days, 0024, by product and affiliate from sales_daily,
 * each read with the outbox's rows not yet applied), the producer's rows
 * only, so each order counts once; a day is the producer's local day (America/Sao_Paulo by
 * default) and from/to are such days, both inclusive.  SQL sums per
 * group and status; the groups' figures are made here.
 *
 * Paid states: paid, refund_requested, refunded, disputed, chargeback (each
 * was approved by the acquirer).  gross_cents sums total_cents over them,
 * paid_count counts them, approval_rate = paid / (paid + refused), null
 * when there is neither.  group_by picks one of four fixed statements; no
 * request text ever reaches the SQL. */
#include "backoffice.h"
#include "b4/orderfsm.h"
#include "b4/sales_agg.h"

#include <math.h>
#include <string.h>

/* the days asked: binds from x 2, to x 2 */
#define SALES_DAYS "(? IS NULL OR day >= ?) AND (? IS NULL OR day <= ?)"
/* the producer's rows of the days asked (every order once) */
#define SALES_WHERE "role = 'producer' AND " SALES_DAYS
/* Each statement gives (key, label, status, orders, gross) rows ordered by
 * key, a key's status possibly twice (the table's and the outbox's rows
 * not applied yet); the sums per key are made here.  By day and by method:
 * grouped rows of the platform's days (0024: one row per day, status,
 * method and slot, however many producers) and of the outbox; by product
 * and affiliate, whose labels need a join, one derived table of
 * sales_daily and the outbox (B4_SALES_LIVE).  Binds: the days twice. */
#define PLATFORM_ROWS(KEY, GROUP)                                                                  \
	"SELECT " KEY ", NULL, status, SUM(orders), SUM(gross_cents) FROM sales_platform_days"     \
	" WHERE " SALES_DAYS " GROUP BY " GROUP ", status UNION ALL SELECT " KEY ", NULL, status," \
	" SUM(orders), SUM(gross_cents) FROM sales_pending WHERE " SALES_WHERE " GROUP BY " GROUP  \
	", status ORDER BY 1"
#define DAILY_ROWS(KEY, LABEL, JOIN)                                                               \
	"SELECT " KEY ", MAX(" LABEL "), a.status, SUM(a.orders), SUM(a.gross_cents)"              \
	" FROM" B4_SALES_LIVE(KEY ", status, orders, gross_cents", "sales_daily",                  \
			      SALES_WHERE) " a " JOIN " GROUP BY " KEY ", a.status ORDER BY 1"

static const char *const group_names[] = {"day", "product", "payment_method", "affiliate", NULL};

static const char *const sales_sql[] = {
    PLATFORM_ROWS("DATE_FORMAT(day, '%Y-%m-%d')", "day"),
    DAILY_ROWS("product_id", "p.name", "JOIN products p ON p.id = a.product_id"),
    PLATFORM_ROWS("CAST(payment_method AS CHAR)", "payment_method"),
    DAILY_ROWS("affiliate_id", "u.email", "LEFT JOIN users u ON u.id = a.affiliate_id"),
};

/* One group's sums. */
struct sales_group {
	const char *key, *label;
	int64_t orders, paid, refused, gross;
};

/* A group's item, unless every order moved out of it: gross over the
 * paid states, count of all, approval_rate = paid / (paid + refused) to 4
 * places, null with neither; the affiliate '' (none) is a null key. */
static void group_emit(cJSON *data, const struct sales_group *g)
{
	cJSON *item;

	if (!g->key || g->orders == 0)
		return;
	item = cJSON_CreateObject();
	if (g->key[0])
		cJSON_AddStringToObject(item, "key", g->key);
	else
		cJSON_AddNullToObject(item, "key");
	if (g->label)
		cJSON_AddStringToObject(item, "label", g->label);
	else
		cJSON_AddNullToObject(item, "label");
	cJSON_AddNumberToObject(item, "gross_cents", (double)g->gross);
	cJSON_AddNumberToObject(item, "count", (double)g->orders);
	cJSON_AddNumberToObject(item, "paid_count", (double)g->paid);
	if (g->paid + g->refused != 0)
		cJSON_AddNumberToObject(
		    item, "approval_rate",
		    round((double)g->paid * 1e4 / (double)(g->paid + g->refused)) / 1e4);
	else
		cJSON_AddNullToObject(item, "approval_rate");
	cJSON_AddItemToArray(data, item);
}

/* The groups of res's rows (ordered by key), into data. */
static void sales_groups(const struct b4_db_result *res, cJSON *data)
{
	struct sales_group g = {0};

	for (size_t i = 0; i < b4_db_rows(res); i++) {
		const char *key = b4_db_str(res, i, 0), *status = b4_db_str(res, i, 2);
		int64_t orders = b4_db_i64(res, i, 3);

		if (!g.key || strcmp(g.key, key) != 0) {
			group_emit(data, &g);
			g = (struct sales_group){.key = key};
		}
		if (!b4_db_is_null(res, i, 1))
			g.label = b4_db_str(res, i, 1);
		g.orders += orders;
		if (b4_order_state_was_paid(b4_order_state_parse(status))) {
			g.paid += orders;
			g.gross += b4_db_i64(res, i, 4);
		} else if (!strcmp(status, "refused")) {
			g.refused += orders;
		}
	}
	group_emit(data, &g);
}

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
	sales_groups(res, data);
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
