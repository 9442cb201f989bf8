/* orders.c - an order as the API and webhooks show it, order events for
 * the workers, and the forward-only status moves; see b4/orders.h. */
#include "b4/orders.h"
#include "b4/db.h"
#include "b4/jobs.h"
#include "b4/orderfsm.h"
#include "b4/pii.h"
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

/* The columns of B4_ORDER_VIEW_COLS, in order. */
enum view_col {
	V_ID,
	V_STATUS,
	V_METHOD,
	V_INSTALLMENTS,
	V_SUBTOTAL,
	V_DISCOUNT,
	V_INTEREST,
	V_TOTAL,
	V_CREATED,
	V_PAID,
	V_EXPIRES,
	V_PRODUCT,
	V_PARENT,
	V_OFFER_CODE,
	V_ITEMS,
	V_CH_STATUS,
	V_CH_BRAND,
	V_CH_LAST4,
	V_CH_PIX,
	V_CH_BARCODE,
	V_CH_LINE,
	V_CH_DUE,
	V_CH_DECLINE,
	V_NCOLS
};

_Static_assert(V_NCOLS == B4_ORDER_VIEW_NCOLS, "B4_ORDER_VIEW_NCOLS counts the view's columns");
_Static_assert(V_PRODUCT == B4_ORDER_VIEW_PRODUCT_COL, "o.product_id's column");

/* The view's cells as text (NULL: SQL NULL), from a row or from what the
 * order's writer knows: one builder for both. */
struct view_cells {
	const char *v[V_NCOLS];
};

/* Adds the cell as a string, or null when it is NULL. */
static void add_cell(cJSON *obj, const char *name, const struct view_cells *c, size_t col)
{
	if (!c->v[col])
		cJSON_AddNullToObject(obj, name);
	else
		cJSON_AddStringToObject(obj, name, c->v[col]);
}

static int64_t cell_i64(const struct view_cells *c, size_t col)
{
	return c->v[col] ? strtoll(c->v[col], NULL, 10) : 0;
}

/* The payment data of the latest charge, by method. */
static void add_charge(cJSON *o, const struct view_cells *c)
{
	const char *method = c->v[V_METHOD];

	if (!c->v[V_CH_STATUS])
		return;
	if (!strcmp(method, "card") && c->v[V_CH_LAST4]) {
		cJSON *card = cJSON_AddObjectToObject(o, "card");
		cJSON_AddStringToObject(card, "brand", c->v[V_CH_BRAND] ? c->v[V_CH_BRAND] : "");
		cJSON_AddStringToObject(card, "last4", c->v[V_CH_LAST4]);
	} else if (!strcmp(method, "pix") && c->v[V_CH_PIX]) {
		cJSON *p = cJSON_AddObjectToObject(o, "pix");
		cJSON_AddStringToObject(p, "payload", c->v[V_CH_PIX]);
		cJSON_AddStringToObject(p, "expires_at", c->v[V_EXPIRES] ? c->v[V_EXPIRES] : "");
	} else if (!strcmp(method, "boleto") && c->v[V_CH_BARCODE]) {
		cJSON *b = cJSON_AddObjectToObject(o, "boleto");
		cJSON_AddStringToObject(b, "barcode", c->v[V_CH_BARCODE]);
		cJSON_AddStringToObject(b, "digitable_line",
					c->v[V_CH_LINE] ? c->v[V_CH_LINE] : "");
		cJSON_AddStringToObject(b, "due_date", c->v[V_CH_DUE] ? c->v[V_CH_DUE] : "");
	}
	if (c->v[V_CH_DECLINE])
		cJSON_AddStringToObject(o, "decline_code", c->v[V_CH_DECLINE]);
}

/* The order view from its cells; items (consumed) is the items array. */
static cJSON *view_build(const struct view_cells *c, cJSON *items, const char *access_token)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddStringToObject(o, "id", c->v[V_ID]);
	cJSON_AddStringToObject(o, "status", c->v[V_STATUS]);
	cJSON_AddStringToObject(o, "payment_method", c->v[V_METHOD]);
	cJSON_AddNumberToObject(o, "installments", (double)cell_i64(c, V_INSTALLMENTS));
	cJSON_AddNumberToObject(o, "subtotal_cents", (double)cell_i64(c, V_SUBTOTAL));
	cJSON_AddNumberToObject(o, "discount_cents", (double)cell_i64(c, V_DISCOUNT));
	cJSON_AddNumberToObject(o, "interest_cents", (double)cell_i64(c, V_INTEREST));
	cJSON_AddNumberToObject(o, "total_cents", (double)cell_i64(c, V_TOTAL));
	cJSON_AddStringToObject(o, "currency", "BRL");
	cJSON_AddStringToObject(o, "offer_code", c->v[V_OFFER_CODE]);
	if (c->v[V_PARENT])
		cJSON_AddStringToObject(o, "parent_order_id", c->v[V_PARENT]);
	/* main first, then bumps, then the upsell (ENUM order) */
	cJSON_AddItemToObject(o, "items", items);
	add_charge(o, c);
	if (access_token)
		cJSON_AddStringToObject(o, "access_token", access_token);
	cJSON_AddStringToObject(o, "created_at", c->v[V_CREATED]);
	add_cell(o, "paid_at", c, V_PAID);
	return o;
}

cJSON *b4_order_view_from_row(const struct b4_db_result *res, const char *access_token)
{
	struct view_cells c;
	cJSON *items;

	for (size_t col = 0; col < V_NCOLS; col++)
		c.v[col] = b4_db_is_null(res, 0, col) ? NULL : b4_db_str(res, 0, col);
	items = c.v[V_ITEMS] ? cJSON_Parse(c.v[V_ITEMS]) : cJSON_CreateArray();
	if (!cJSON_IsArray(items)) {
		cJSON_Delete(items);
		return NULL;
	}
	return view_build(&c, items, access_token);
}

cJSON *b4_order_json(struct b4_db *db, const char *order_id, const char *access_token)
{
	struct b4_db_result *res = b4_db_query(
	    db, "SELECT " B4_ORDER_VIEW_COLS B4_ORDER_VIEW_FROM " WHERE o.id = ?", "s", order_id);
	cJSON *o = NULL;

	if (res && b4_db_rows(res) == 1)
		o = b4_order_view_from_row(res, access_token);
	b4_db_result_free(res);
	return o;
}

/* The columns the known view reads: the order's times and status, its
 * charge (k->charge_id: a new order has that one). */
enum known_col { K_CREATED, K_PAID, K_EXPIRES, K_STATUS, K_CHARGE };

/* The view of the order k describes, from k and one read of its times and
 * its charge by primary keys.  NULL on a database error. */
static cJSON *view_known(struct b4_db *db, const struct b4_order_known *k)
{
	struct b4_db_result *res = b4_db_query(
	    db,
	    "SELECT " B4_ORDER_TS("o.created_at") ", " B4_ORDER_TS("o.paid_at") ", " B4_ORDER_TS(
		"o.expires_at") ", o.status, ch.status, ch.card_brand, ch.card_last4,"
				" ch.pix_payload, ch.boleto_barcode, ch.boleto_line,"
				" DATE_FORMAT(ch.boleto_due_date, '%Y-%m-%d'), ch.decline_code"
				" FROM orders o JOIN charges ch ON ch.id = ? WHERE o.id = ?",
	    "ss", k->charge_id, k->order_id);
	char numbers[5][24];
	struct view_cells c;
	cJSON *items, *view = NULL;

	if (!res || b4_db_rows(res) != 1)
		goto out_free;
	memset(&c, 0, sizeof(c));
	for (size_t col = 0; col < V_CH_DECLINE - V_CH_STATUS + 1; col++)
		c.v[V_CH_STATUS + col] = b4_db_is_null(res, 0, K_CHARGE + col)
					     ? NULL
					     : b4_db_str(res, 0, K_CHARGE + col);
	c.v[V_CREATED] = b4_db_str(res, 0, K_CREATED);
	c.v[V_PAID] = b4_db_is_null(res, 0, K_PAID) ? NULL : b4_db_str(res, 0, K_PAID);
	c.v[V_EXPIRES] = b4_db_is_null(res, 0, K_EXPIRES) ? NULL : b4_db_str(res, 0, K_EXPIRES);
	c.v[V_STATUS] = b4_db_str(res, 0, K_STATUS);
	c.v[V_ID] = k->order_id;
	c.v[V_METHOD] = k->method;
	c.v[V_PRODUCT] = k->product_id;
	c.v[V_PARENT] = k->parent_order_id[0] ? k->parent_order_id : NULL;
	c.v[V_OFFER_CODE] = k->offer_code;
	snprintf(numbers[0], 24, "%d", k->installments);
	snprintf(numbers[1], 24, "%lld", (long long)k->subtotal_cents);
	snprintf(numbers[2], 24, "%lld", (long long)k->discount_cents);
	snprintf(numbers[3], 24, "%lld", (long long)k->interest_cents);
	snprintf(numbers[4], 24, "%lld", (long long)k->total_cents);
	c.v[V_INSTALLMENTS] = numbers[0];
	c.v[V_SUBTOTAL] = numbers[1];
	c.v[V_DISCOUNT] = numbers[2];
	c.v[V_INTEREST] = numbers[3];
	c.v[V_TOTAL] = numbers[4];
	items = cJSON_CreateArray();
	for (size_t i = 0; i < k->nitems; i++) {
		cJSON *item = cJSON_CreateObject();
		cJSON_AddStringToObject(item, "offer_code", k->items[i].offer_code);
		cJSON_AddStringToObject(item, "name", k->items[i].name);
		cJSON_AddStringToObject(item, "type", k->items[i].type);
		cJSON_AddNumberToObject(item, "price_cents", (double)k->items[i].price_cents);
		cJSON_AddItemToArray(items, item);
	}
	view = view_build(&c, items, NULL);
out_free:
	b4_db_result_free(res);
	return view;
}

/* The approved-payment event of a paid order, into jobs: from what its
 * writer knows when it can (view_known), else read.  *view as
 * b4_order_mark_paid gives it. */
static int paid_event(struct b4_db *db, struct b4_queue_batch *jobs, const char *order_id,
		      const struct b4_order_known *known, cJSON **view)
{
	cJSON *v;

	if (!known || !known->view_known)
		return b4_job_order_event_into(db, jobs, "approved-payment", order_id, NULL, view);
	v = view_known(db, known);
	if (!v || b4_job_order_event_known_into(jobs, "approved-payment", known, v, NULL) < 0) {
		cJSON_Delete(v);
		return -1;
	}
	if (view)
		*view = v;
	else
		cJSON_Delete(v);
	return 0;
}

/* The product's guarantee days of the order, or -1. */
static int64_t guarantee_days_of(struct b4_db *db, const char *order_id)
{
	struct b4_db_result *res = b4_db_query(
	    db,
	    "SELECT p.guarantee_days FROM orders o JOIN products p ON p.id = o.product_id"
	    " WHERE o.id = ?",
	    "s", order_id);
	int64_t days = res && b4_db_rows(res) == 1 ? b4_db_i64(res, 0, 0) : -1;

	b4_db_result_free(res);
	return days;
}

int b4_order_mark_paid(struct b4_db *db, const char *order_id, const struct b4_order_known *known,
		       cJSON **view)
{
	struct b4_queue_batch jobs;
	int64_t guarantee_days;
	int moved;

	if (view)
		*view = NULL;
	guarantee_days = known ? known->guarantee_days : guarantee_days_of(db, order_id);
	if (guarantee_days < 0)
		return -1;
	/* the commissions are released after the product's guarantee */
	moved = b4_order_move_paid(db, order_id, guarantee_days, known ? &known->contrib : NULL);
	if (moved <= 0)
		return moved;
	/* the event, the invoice and the commission release: one insert */
	b4_queue_batch_init(&jobs);
	if (paid_event(db, &jobs, order_id, known, view) < 0 ||
	    b4_job_order_into(&jobs, B4_JOB_INVOICE_ISSUE, order_id, 0) < 0 ||
	    b4_job_order_into(&jobs, B4_JOB_COMMISSION_RELEASE, order_id, guarantee_days * 86400) <
		0 ||
	    b4_queue_flush(db, &jobs) < 0) {
		b4_queue_batch_cleanup(&jobs);
		return -1;
	}
	return 1;
}

/* An order that will never be paid gives its coupon use back, and its
 * buyer may use a once-per-customer coupon again. */
static int coupon_give_back(struct b4_db *db, const char *order_id)
{
	if (b4_db_exec(db,
		       "UPDATE coupons k JOIN orders o ON o.coupon_id = k.id"
		       " SET k.uses = k.uses - 1 WHERE o.id = ? AND k.uses > 0",
		       "s", order_id) < 0)
		return -1;
	return b4_db_exec(db, "DELETE FROM coupon_redemptions WHERE order_id = ?", "s", order_id) <
		       0
		   ? -1
		   : 0;
}

int b4_order_refuse(struct b4_db *db, const char *order_id)
{
	int moved = b4_order_move(db, order_id, B4_ORDER_WAITING_PAYMENT, B4_ORDER_REFUSED);

	if (moved <= 0)
		return moved;
	if (coupon_give_back(db, order_id) < 0 ||
	    b4_job_order_event(db, "refused-payment", order_id, NULL) < 0)
		return -1;
	return 1;
}

int b4_order_expire(struct b4_db *db, const char *order_id, bool now)
{
	struct b4_db_result *res;
	bool due;
	int moved;

	res = b4_db_query(db,
			  "SELECT expires_at IS NULL OR expires_at <= UTC_TIMESTAMP(6) FROM orders"
			  " WHERE id = ? AND status = 'waiting_payment' FOR UPDATE",
			  "s", order_id);
	if (!res)
		return -1;
	due = b4_db_rows(res) == 1 && (now || b4_db_i64(res, 0, 0) != 0);
	b4_db_result_free(res);
	if (!due)
		return 0;
	moved = b4_order_move(db, order_id, B4_ORDER_WAITING_PAYMENT, B4_ORDER_EXPIRED);
	if (moved <= 0)
		return moved;
	return coupon_give_back(db, order_id) < 0 ? -1 : 1;
}

int b4_order_set_expiry(struct b4_db *db, const char *order_id, int64_t seconds)
{
	if (b4_db_exec(db,
		       "UPDATE orders SET expires_at = UTC_TIMESTAMP(6) + INTERVAL ? SECOND"
		       " WHERE id = ?",
		       "is", seconds, order_id) < 0)
		return -1;
	return b4_job_order(db, B4_JOB_ORDER_EXPIRE, order_id, seconds);
}

int b4_order_coupon_take(struct b4_db *db, const char *coupon_id, bool once_per_customer,
			 const char *order_id, const char *document_bidx, const char *email)
{
	char email_bidx[65], key[80];
	int64_t n;

	n = b4_db_exec(db,
		       "UPDATE coupons SET uses = uses + 1 WHERE id = ? AND active = 1"
		       " AND (max_uses IS NULL OR uses < max_uses)",
		       "s", coupon_id);
	if (n <= 0)
		return n < 0 ? -1 : 0;
	if (!once_per_customer)
		return 1;
	if (b4_pii_blind_index("email", email, email_bidx) < 0)
		return -1;
	for (int k = 0; k < 2; k++) {
		snprintf(key, sizeof(key), "%s:%s", k == 0 ? "document" : "email",
			 k == 0 ? document_bidx : email_bidx);
		if (b4_db_exec(db,
			       "INSERT INTO coupon_redemptions (coupon_id, buyer_key, order_id)"
			       " VALUES (?, ?, ?)",
			       "sss", coupon_id, key, order_id) < 0)
			return b4_db_is_duplicate(db) ? 2 : -1;
	}
	return 1;
}

void b4_document_mask(const char *document, char out[24])
{
	size_t len = document ? strlen(document) : 0;

	if (len == 11)
		snprintf(out, 24, "***.%.3s.%.3s-**", document + 3, document + 6);
	else if (len == 14)
		snprintf(out, 24, "**.%.3s.%.3s/%.4s-**", document + 2, document + 5, document + 8);
	else
		snprintf(out, 24, "***");
}

cJSON *b4_order_buyer(const char *full_name, const char *email, const char *phone,
		      const char *masked_document, const char *document_type)
{
	cJSON *buyer = cJSON_CreateObject();

	cJSON_AddStringToObject(buyer, "full_name", full_name);
	cJSON_AddStringToObject(buyer, "email", email);
	if (phone)
		cJSON_AddStringToObject(buyer, "phone", phone);
	else
		cJSON_AddNullToObject(buyer, "phone");
	cJSON_AddStringToObject(buyer, "document", masked_document);
	cJSON_AddStringToObject(buyer, "document_type", document_type);
	return buyer;
}

cJSON *b4_order_buyer_json(const struct b4_db_result *res, size_t row, size_t col)
{
	char *phone = NULL, *document = NULL, masked[24];
	cJSON *buyer = NULL;

	if (!b4_db_is_null(res, row, col + 2)) {
		phone = b4_pii_decrypt("customers.phone_enc", b4_db_str(res, row, col + 2));
		if (!phone)
			return NULL;
	}
	document = b4_pii_decrypt("customers.document_enc", b4_db_str(res, row, col + 3));
	if (!document)
		goto out_free;
	b4_document_mask(document, masked);
	buyer = b4_order_buyer(b4_db_str(res, row, col), b4_db_str(res, row, col + 1), phone,
			       masked, b4_db_str(res, row, col + 4));
out_free:
	b4_pii_free(phone);
	b4_pii_free(document);
	return buyer;
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
	cJSON *filters = b4_order_filters_to_json(f);
	char *filters_text = cJSON_PrintUnformatted(filters);
	int rc = -1;

	if (filters_text &&
	    b4_db_exec(db,
		       "INSERT INTO reports (id, kind, status, filters, created_by)"
		       " VALUES (?, ?, 'pending', ?, ?)",
		       "ssss", report_id, kind, filters_text, created_by) == 1 &&
	    b4_job_report_export(db, report_id, filters_text) == 0)
		rc = 0;
	cJSON_Delete(filters);
	free(filters_text);
	return rc;
}
