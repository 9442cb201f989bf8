/* orders.c - /v1/orders: every order with filters, and one order in full
 * (buyer snapshot, items, charges, splits, refunds, webhook deliveries,
 * invoice, audit). */
#include "backoffice.h"

#include "b4/log.h"

static const struct bo_col order_cols[] = {
    {"id", BO_STR},
    {"status", BO_STR},
    {"payment_method", BO_STR},
    {"installments", BO_INT},
    {"subtotal_cents", BO_INT},
    {"discount_cents", BO_INT},
    {"interest_cents", BO_INT},
    {"total_cents", BO_INT},
    {"currency", BO_STR},
    {"product_id", BO_STR},
    {"offer_id", BO_STR},
    {"producer_id", BO_STR},
    {"affiliate_id", BO_STR},
    {"coupon_id", BO_STR},
    {"parent_order_id", BO_STR},
    {"customer_name", BO_STR},
    {"customer_email", BO_STR},
    {"fraud_score", BO_INT},
    {"created_at", BO_TIME},
    {"paid_at", BO_TIME},
    {NULL, BO_STR},
};
#define ORDER_SELECT                                                                               \
	"SELECT o.id, o.status, o.payment_method, o.installments, o.subtotal_cents,"               \
	" o.discount_cents, o.interest_cents, o.total_cents, o.currency, o.product_id,"            \
	" o.offer_id, o.producer_id, o.affiliate_id, o.coupon_id, o.parent_order_id,"              \
	" COALESCE(o.buyer_name, c.full_name), COALESCE(o.buyer_email, c.email),"                  \
	" o.fraud_score, o.created_at, o.paid_at"                                                  \
	" FROM orders o JOIN customers c ON c.id = o.customer_id"

void bo_orders_list(struct b4_req *req)
{
	struct b4_order_filters f;
	const char *after;
	struct b4_db_result *res;
	int limit;

	if (b4_req_page(req, &limit, &after) < 0 || bo_order_filters_from_query(req, &f) < 0)
		return;
	res = b4_db_query(req->db,
			  ORDER_SELECT " WHERE (? IS NULL OR o.id < ?)" B4_ORDER_FILTER_SQL
				       " ORDER BY o.id DESC LIMIT ?",
			  "ss" B4_ORDER_FILTER_TYPES "I", after, after, B4_ORDER_FILTER_ARGS(&f),
			  limit + 1);
	if (!res) {
		b4_req_db_error(req);
		return;
	}
	bo_send_page(req, res, limit, order_cols);
}

static const struct bo_col item_cols[] = {
    {"id", BO_STR},   {"offer_id", BO_STR},    {"offer_code", BO_STR},
    {"type", BO_STR}, {"price_cents", BO_INT}, {NULL, BO_STR},
};
/* Card charges show brand and last four only: never the BIN or fingerprint. */
static const struct bo_col charge_cols[] = {
    {"id", BO_STR},	      {"acquirer", BO_STR},    {"acquirer_charge_id", BO_STR},
    {"method", BO_STR},	      {"status", BO_STR},      {"amount_cents", BO_INT},
    {"installments", BO_INT}, {"card_brand", BO_STR},  {"card_last4", BO_STR},
    {"decline_code", BO_STR}, {"created_at", BO_TIME}, {"updated_at", BO_TIME},
    {NULL, BO_STR},
};
static const struct bo_col split_cols[] = {
    {"id", BO_STR},	      {"party", BO_STR},	  {"user_id", BO_STR},
    {"amount_cents", BO_INT}, {"reversed_cents", BO_INT}, {"status", BO_STR},
    {"release_at", BO_TIME},  {"released_at", BO_TIME},	  {NULL, BO_STR},
};
static const struct bo_col refund_cols[] = {
    {"id", BO_STR},	     {"amount_cents", BO_INT}, {"reason", BO_STR},
    {"status", BO_STR},	     {"requested_by", BO_STR}, {"acquirer_refund_id", BO_STR},
    {"created_at", BO_TIME}, {"updated_at", BO_TIME},  {NULL, BO_STR},
};
static const struct bo_col delivery_cols[] = {
    {"id", BO_STR},
    {"endpoint_id", BO_STR},
    {"event_id", BO_STR},
    {"event", BO_STR},
    {"status", BO_STR},
    {"attempts", BO_INT},
    {"last_status_code", BO_INT},
    {"last_error", BO_STR},
    {"created_at", BO_TIME},
    {NULL, BO_STR},
};
static const struct bo_col invoice_cols[] = {
    {"id", BO_STR},	     {"dps_id", BO_STR},      {"status", BO_STR}, {"amount_cents", BO_INT},
    {"storage_key", BO_STR}, {"created_at", BO_TIME}, {NULL, BO_STR},
};
static const struct bo_col audit_cols[] = {
    {"id", BO_STR},	  {"actor_id", BO_STR},	   {"actor_role", BO_STR},
    {"action", BO_STR},	  {"ip", BO_STR},	   {"request_id", BO_STR},
    {"details", BO_JSON}, {"created_at", BO_TIME}, {NULL, BO_STR},
};

/* The parts of an order's detail: each an array of every row of sql (bound
 * to the order id).  Deliveries carry the order in their payload (the
 * event's data), so they are found by the order id inside it; the id is a
 * checked UUID and bound, never spliced into the SQL. */
static const struct {
	const char *name;
	const char *sql;
	const struct bo_col *cols;
} parts[] = {
    {"items",
     "SELECT i.id, i.offer_id, f.code, i.type, i.price_cents FROM order_items i"
     " JOIN offers f ON f.id = i.offer_id WHERE i.order_id = ? ORDER BY i.id",
     item_cols},
    {"charges",
     "SELECT id, acquirer, acquirer_charge_id, method, status, amount_cents, installments,"
     " card_brand, card_last4, decline_code, created_at, updated_at"
     " FROM charges WHERE order_id = ? ORDER BY id",
     charge_cols},
    {"splits",
     "SELECT id, party, user_id, amount_cents, reversed_cents, status, release_at, released_at"
     " FROM splits WHERE order_id = ? ORDER BY id",
     split_cols},
    {"refunds",
     "SELECT id, amount_cents, reason, status, requested_by, acquirer_refund_id, created_at,"
     " updated_at FROM refunds WHERE order_id = ? ORDER BY id",
     refund_cols},
    {"webhook_deliveries",
     "SELECT id, endpoint_id, event_id, event, status, attempts, last_status_code, last_error,"
     " created_at FROM webhook_deliveries WHERE payload LIKE CONCAT('%\"', ?, '\"%')"
     " ORDER BY id LIMIT 100",
     delivery_cols},
    {"invoice",
     "SELECT id, dps_id, status, amount_cents, storage_key, created_at"
     " FROM invoices WHERE order_id = ?",
     invoice_cols},
    {"audit_trail",
     "SELECT id, actor_id, actor_role, action, ip, request_id, details, created_at"
     " FROM audit_log WHERE target_type = 'order' AND target_id = ? ORDER BY id",
     audit_cols},
};

/* The buyer as of the purchase, as the sales API shows it (document
 * masked): added as "customer", or null (logged) when its data cannot be
 * decrypted.  -1 on a database error. */
static int add_buyer(struct b4_req *req, cJSON *order, const char *id)
{
	struct b4_db_result *res;
	cJSON *buyer = NULL;

	res = b4_db_query(req->db,
			  "SELECT " B4_ORDER_BUYER_COLS " FROM orders o"
			  " JOIN customers c ON c.id = o.customer_id WHERE o.id = ?",
			  "s", id);
	if (!res)
		return -1;
	if (b4_db_rows(res) == 1)
		buyer = b4_order_buyer_json(res, 0, 0);
	b4_db_result_free(res);
	if (!buyer) {
		b4_log_error("order buyer cannot be decrypted", B4_LS("order_id", id));
		cJSON_AddNullToObject(order, "customer");
		return 0;
	}
	cJSON_AddItemToObject(order, "customer", buyer);
	return 0;
}

void bo_orders_get(struct b4_req *req)
{
	const char *id = b4_req_param(req, "id");
	cJSON *order, *invoice;

	if (!b4_text_is_uuid(id)) {
		b4_req_not_found(req, "order");
		return;
	}
	order = bo_fetch_or_answer(req, ORDER_SELECT " WHERE o.id = ?", id, order_cols, "order");
	if (!order)
		return;
	if (add_buyer(req, order, id) < 0) {
		cJSON_Delete(order);
		b4_req_db_error(req);
		return;
	}
	for (size_t p = 0; p < sizeof(parts) / sizeof(parts[0]); p++) {
		struct b4_db_result *res = b4_db_query(req->db, parts[p].sql, "s", id);
		cJSON *array;

		if (!res) {
			cJSON_Delete(order);
			b4_req_db_error(req);
			return;
		}
		array = cJSON_AddArrayToObject(order, parts[p].name);
		for (size_t i = 0; i < b4_db_rows(res); i++)
			cJSON_AddItemToArray(array, bo_row_json(res, i, parts[p].cols));
		b4_db_result_free(res);
	}
	/* one invoice per order: an object or null, not a list */
	invoice = cJSON_DetachItemFromObjectCaseSensitive(order, "invoice");
	if (cJSON_GetArraySize(invoice) > 0)
		cJSON_AddItemToObject(order, "invoice", cJSON_DetachItemFromArray(invoice, 0));
	else
		cJSON_AddNullToObject(order, "invoice");
	cJSON_Delete(invoice);
	b4_req_send_json(req, 200, order);
}
