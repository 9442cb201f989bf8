/* orders.c - an order as the API and webhooks show it, order events for
 * the workers, and the forward-only status moves; see b4/orders.h. */
#include "b4/orders.h"
#include "b4/db.h"
#include "b4/queue.h"
#include "b4/text.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const b4_order_statuses[] = {
    "waiting_payment", "paid",	   "refused",	 "expired", "refund_requested",
    "refunded",	       "disputed", "chargeback", NULL};
const char *const b4_payment_methods[] = {"card", "pix", "boleto", NULL};
const char *const b4_funnel_steps[] = {
    "checkout_page_view",
    "checkout_session_started",
    "checkout_identification_filled",
    "checkout_payment_method_selected",
    "checkout_coupon_applied",
    "checkout_order_bump_added",
    "checkout_submit_clicked",
    "checkout_conversion_success",
    "checkout_conversion_failed",
    NULL,
};

/* Adds the cell as a string, or null when it is NULL. */
static void add_cell(cJSON *obj, const char *name, const struct b4_db_result *res, size_t col)
{
	if (b4_db_is_null(res, 0, col))
		cJSON_AddNullToObject(obj, name);
	else
		cJSON_AddStringToObject(obj, name, b4_db_str(res, 0, col));
}

#define TS(col) "DATE_FORMAT(" col ", '%Y-%m-%dT%H:%i:%sZ')"

cJSON *b4_order_json(struct b4_db *db, const char *order_id, const char *access_token)
{
	struct b4_db_result *res, *items = NULL, *charge = NULL;
	cJSON *o = NULL, *arr;

	res = b4_db_query(
	    db,
	    "SELECT o.id, o.status, o.payment_method, o.installments, o.subtotal_cents,"
	    " o.discount_cents, o.interest_cents, o.total_cents, " TS(
		"o.created_at") ","
				" " TS("o.paid_at") ", " TS(
				    "o.expires_at") ", o.product_id, o.parent_order_id,"
						    " f.code FROM orders o JOIN offers f ON f.id = "
						    "o.offer_id WHERE o.id = ?",
	    "s", order_id);
	if (!res || b4_db_rows(res) == 0)
		goto out_free;
	items = b4_db_query(db,
			    "SELECT f.code, i.type, i.price_cents, f.name FROM order_items i"
			    " JOIN offers f ON f.id = i.offer_id WHERE i.order_id = ?"
			    " ORDER BY i.type, i.id",
			    "s", order_id);
	charge = b4_db_query(db,
			     "SELECT status, card_brand, card_last4, pix_payload, boleto_barcode,"
			     " boleto_line, DATE_FORMAT(boleto_due_date, '%Y-%m-%d'), decline_code"
			     " FROM charges WHERE order_id = ? ORDER BY id DESC LIMIT 1",
			     "s", order_id);
	if (!items || !charge)
		goto out_free;
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "id", b4_db_str(res, 0, 0));
	cJSON_AddStringToObject(o, "status", b4_db_str(res, 0, 1));
	cJSON_AddStringToObject(o, "payment_method", b4_db_str(res, 0, 2));
	cJSON_AddNumberToObject(o, "installments", (double)b4_db_i64(res, 0, 3));
	cJSON_AddNumberToObject(o, "subtotal_cents", (double)b4_db_i64(res, 0, 4));
	cJSON_AddNumberToObject(o, "discount_cents", (double)b4_db_i64(res, 0, 5));
	cJSON_AddNumberToObject(o, "interest_cents", (double)b4_db_i64(res, 0, 6));
	cJSON_AddNumberToObject(o, "total_cents", (double)b4_db_i64(res, 0, 7));
	cJSON_AddStringToObject(o, "currency", "BRL");
	cJSON_AddStringToObject(o, "offer_code", b4_db_str(res, 0, 13));
	if (!b4_db_is_null(res, 0, 12))
		cJSON_AddStringToObject(o, "parent_order_id", b4_db_str(res, 0, 12));
	arr = cJSON_AddArrayToObject(o, "items");
	/* main first, then bumps, then the upsell (ENUM order) */
	for (size_t r = 0; r < b4_db_rows(items); r++) {
		cJSON *it = cJSON_CreateObject();
		cJSON_AddStringToObject(it, "offer_code", b4_db_str(items, r, 0));
		cJSON_AddStringToObject(it, "name", b4_db_str(items, r, 3));
		cJSON_AddStringToObject(it, "type", b4_db_str(items, r, 1));
		cJSON_AddNumberToObject(it, "price_cents", (double)b4_db_i64(items, r, 2));
		cJSON_AddItemToArray(arr, it);
	}
	if (b4_db_rows(charge) > 0) {
		const char *method = b4_db_str(res, 0, 2);
		if (!strcmp(method, "card") && !b4_db_is_null(charge, 0, 2)) {
			cJSON *c = cJSON_AddObjectToObject(o, "card");
			cJSON_AddStringToObject(c, "brand", b4_db_str(charge, 0, 1));
			cJSON_AddStringToObject(c, "last4", b4_db_str(charge, 0, 2));
		} else if (!strcmp(method, "pix") && !b4_db_is_null(charge, 0, 3)) {
			cJSON *p = cJSON_AddObjectToObject(o, "pix");
			cJSON_AddStringToObject(p, "payload", b4_db_str(charge, 0, 3));
			cJSON_AddStringToObject(p, "expires_at", b4_db_str(res, 0, 10));
		} else if (!strcmp(method, "boleto") && !b4_db_is_null(charge, 0, 4)) {
			cJSON *b = cJSON_AddObjectToObject(o, "boleto");
			cJSON_AddStringToObject(b, "barcode", b4_db_str(charge, 0, 4));
			cJSON_AddStringToObject(b, "digitable_line", b4_db_str(charge, 0, 5));
			cJSON_AddStringToObject(b, "due_date", b4_db_str(charge, 0, 6));
		}
		if (!b4_db_is_null(charge, 0, 7))
			cJSON_AddStringToObject(o, "decline_code", b4_db_str(charge, 0, 7));
	}
	if (access_token)
		cJSON_AddStringToObject(o, "access_token", access_token);
	cJSON_AddStringToObject(o, "created_at", b4_db_str(res, 0, 8));
	add_cell(o, "paid_at", res, 9);
out_free:
	b4_db_result_free(res);
	b4_db_result_free(items);
	b4_db_result_free(charge);
	return o;
}

int b4_order_enqueue_event(struct b4_db *db, const char *event, const char *order_id)
{
	char dedup[96];

	snprintf(dedup, sizeof(dedup), "%s:%s", event, order_id);
	return b4_order_enqueue_event_keyed(db, event, order_id, dedup);
}

int b4_order_enqueue_event_keyed(struct b4_db *db, const char *event, const char *order_id,
				 const char *dedup_key)
{
	struct b4_db_result *res;
	cJSON *data;
	char *text;
	int rc;

	res =
	    b4_db_query(db, "SELECT producer_id, affiliate_id, product_id FROM orders WHERE id = ?",
			"s", order_id);
	if (!res || b4_db_rows(res) == 0) {
		b4_db_result_free(res);
		return -1;
	}
	data = b4_order_json(db, order_id, NULL);
	text = data ? cJSON_PrintUnformatted(data) : NULL;
	cJSON_Delete(data);
	if (!text) {
		b4_db_result_free(res);
		return -1;
	}
	rc = b4_queue_webhook_event(db, event, b4_db_str(res, 0, 0),
				    b4_db_is_null(res, 0, 1) ? NULL : b4_db_str(res, 0, 1),
				    b4_db_str(res, 0, 2), text, dedup_key);
	free(text);
	b4_db_result_free(res);
	return rc < 0 ? -1 : 0;
}

int b4_order_enqueue_job(struct b4_db *db, const char *type, const char *dedup_prefix,
			 const char *order_id, int64_t delay_seconds)
{
	char payload[96], dedup[96];

	snprintf(payload, sizeof(payload), "{\"order_id\":\"%s\"}", order_id);
	snprintf(dedup, sizeof(dedup), "%s:%s", dedup_prefix, order_id);
	return b4_queue_enqueue(db, type, payload, dedup, delay_seconds) < 0 ? -1 : 0;
}

int b4_order_advance(struct b4_db *db, const char *order_id, const char *from, const char *to)
{
	int64_t n = b4_db_exec(db, "UPDATE orders SET status = ? WHERE id = ? AND status = ?",
			       "sss", to, order_id, from);

	return n < 0 ? -1 : n > 0;
}

int b4_order_mark_paid(struct b4_db *db, const char *order_id)
{
	struct b4_db_result *res;
	int64_t moved, guarantee_days;

	moved = b4_db_exec(db,
			   "UPDATE orders SET status = 'paid', paid_at = UTC_TIMESTAMP(6)"
			   " WHERE id = ? AND status = 'waiting_payment'",
			   "s", order_id);
	if (moved <= 0)
		return (int)moved;
	res = b4_db_query(
	    db,
	    "SELECT p.guarantee_days FROM orders o JOIN products p ON p.id = o.product_id"
	    " WHERE o.id = ?",
	    "s", order_id);
	if (!res)
		return -1;
	guarantee_days = b4_db_i64(res, 0, 0);
	b4_db_result_free(res);
	if (b4_db_exec(db,
		       "UPDATE splits SET release_at = UTC_TIMESTAMP(6) + INTERVAL ? DAY"
		       " WHERE order_id = ? AND status = 'waiting'",
		       "is", guarantee_days, order_id) < 0)
		return -1;
	if (b4_order_enqueue_event(db, "approved-payment", order_id) < 0)
		return -1;
	if (b4_order_enqueue_job(db, "invoice.issue", "invoice", order_id, 0) < 0 ||
	    b4_order_enqueue_job(db, "commission.release", "commission", order_id,
				 guarantee_days * 86400) < 0)
		return -1;
	return 1;
}

int b4_order_filters_from_json(const cJSON *obj, struct b4_order_filters *f, struct b4_error *err)
{
	static const char *const allowed[] = {"status",	      "payment_method", "producer_id",
					      "affiliate_id", "email",		"from",
					      "to",	      "product_id",	NULL};
	int status_index = -1, method_index = -1;

	memset(f, 0, sizeof(*f));
	if (!obj || cJSON_IsNull(obj))
		return 0;
	if (!cJSON_IsObject(obj)) {
		b4_error_invalid(err, 400, "invalid_type", "filters", "filters must be an object.");
		return -1;
	}
	if (b4_json_reject_unknown(obj, allowed, NULL, err) < 0 ||
	    b4_json_get_enum(obj, "status", B4_JSON_OPTIONAL, b4_order_statuses, &status_index,
			     err) < 0 ||
	    b4_json_get_enum(obj, "payment_method", B4_JSON_OPTIONAL, b4_payment_methods,
			     &method_index, err) < 0 ||
	    b4_json_get_str(obj, "producer_id", B4_JSON_OPTIONAL, 36, 36, &f->producer_id, err) <
		0 ||
	    b4_json_get_str(obj, "affiliate_id", B4_JSON_OPTIONAL, 36, 36, &f->affiliate_id, err) <
		0 ||
	    b4_json_get_str(obj, "product_id", B4_JSON_OPTIONAL, 36, 36, &f->product_id, err) < 0 ||
	    b4_json_get_str(obj, "email", B4_JSON_OPTIONAL, 1, 254, &f->email, err) < 0 ||
	    b4_json_get_str(obj, "from", B4_JSON_OPTIONAL, 10, 10, &f->from, err) < 0 ||
	    b4_json_get_str(obj, "to", B4_JSON_OPTIONAL, 10, 10, &f->to, err) < 0)
		return -1;
	if (status_index >= 0)
		f->status = b4_order_statuses[status_index];
	if (method_index >= 0)
		f->payment_method = b4_payment_methods[method_index];
	if (f->producer_id && !b4_text_is_uuid(f->producer_id)) {
		b4_error_invalid(err, 422, "invalid_value", "producer_id",
				 "producer_id must be a UUID.");
		return -1;
	}
	if (f->affiliate_id && !b4_text_is_uuid(f->affiliate_id)) {
		b4_error_invalid(err, 422, "invalid_value", "affiliate_id",
				 "affiliate_id must be a UUID.");
		return -1;
	}
	if (f->product_id && !b4_text_is_uuid(f->product_id)) {
		b4_error_invalid(err, 422, "invalid_value", "product_id",
				 "product_id must be a UUID.");
		return -1;
	}
	if (f->from && !b4_text_is_date(f->from)) {
		b4_error_invalid(err, 422, "invalid_value", "from",
				 "from must be a date YYYY-MM-DD.");
		return -1;
	}
	if (f->to && !b4_text_is_date(f->to)) {
		b4_error_invalid(err, 422, "invalid_value", "to", "to must be a date YYYY-MM-DD.");
		return -1;
	}
	if (f->from && f->to && strcmp(f->from, f->to) > 0) {
		b4_error_invalid(err, 422, "invalid_value", "to", "to must be on or after from.");
		return -1;
	}
	return 0;
}

cJSON *b4_order_filters_to_json(const struct b4_order_filters *f)
{
	cJSON *obj = cJSON_CreateObject();
	const char *names[] = {"status", "payment_method", "producer_id", "affiliate_id",
			       "email",	 "from",	   "to",	  "product_id"};
	const char *values[] = {f->status, f->payment_method, f->producer_id, f->affiliate_id,
				f->email,  f->from,	      f->to,	      f->product_id};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (values[i])
			cJSON_AddStringToObject(obj, names[i], values[i]);
	return obj;
}

int b4_order_report_enqueue(struct b4_db *db, const char *report_id, const char *kind,
			    const struct b4_order_filters *f, const char *created_by)
{
	cJSON *filters = b4_order_filters_to_json(f), *payload = cJSON_CreateObject();
	char *filters_text = cJSON_PrintUnformatted(filters), *payload_text, dedup[64];
	int rc = -1;

	cJSON_AddStringToObject(payload, "report_id", report_id);
	cJSON_AddItemToObject(payload, "filters", filters);
	payload_text = cJSON_PrintUnformatted(payload);
	snprintf(dedup, sizeof(dedup), "report:%s", report_id);
	if (filters_text && payload_text &&
	    b4_db_exec(db,
		       "INSERT INTO reports (id, kind, status, filters, created_by)"
		       " VALUES (?, ?, 'pending', ?, ?)",
		       "ssss", report_id, kind, filters_text, created_by) == 1 &&
	    b4_queue_enqueue(db, "report.export", payload_text, dedup, 0) >= 0)
		rc = 0;
	cJSON_Delete(payload);
	free(filters_text);
	free(payload_text);
	return rc;
}
