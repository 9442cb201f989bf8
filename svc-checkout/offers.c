/* offers.c - public offer data: the offer page, the installment table and
 * the coupon check; also the offer and coupon rules shared with orders. */
#include "checkout.h"
#include "b4/db.h"
#include "b4/money.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void checkout_offer_get(struct b4_req *req);
void checkout_offer_installments(struct b4_req *req);
void checkout_offer_coupon(struct b4_req *req);

#define OFFER_SELECT(EXTRA)                                                                        \
	"SELECT o.id, o.product_id, p.producer_id, o.code, o.name, p.name, u.full_name,"           \
	" o.price_cents, o.max_installments, o.interest_free_installments, o.payment_methods,"     \
	" o.allow_coupon, o.upsell_offer_id, o.upsell_one_click, p.guarantee_days,"                \
	" p.affiliate_enabled, p.affiliate_commission_bps, p.affiliate_cookie_days,"               \
	" p.affiliate_attribution = 'first_click'" EXTRA                                           \
	" FROM offers o JOIN products p ON p.id = o.product_id"                                    \
	" JOIN users u ON u.id = p.producer_id"
#define OFFER_LIVE                                                                                 \
	" AND o.active = 1 AND p.status = 'active' AND p.blocked = 0 AND u.status = 'active'"
/* an order's read adds the producer's utc_offset and the co-producers
 * (b4_order_create); the pages', the most frequent, go without them */
#define OFFER_PARTNERS ", u.utc_offset, " B4_ORDER_COPRODUCERS_SQL("p.id")

/* [with partners][by id] */
static const char *const offer_sql[2][2] = {
    {OFFER_SELECT("") " WHERE o.code = ?" OFFER_LIVE,
     OFFER_SELECT("") " WHERE o.id = ?" OFFER_LIVE},
    {OFFER_SELECT(OFFER_PARTNERS) " WHERE o.code = ?" OFFER_LIVE,
     OFFER_SELECT(OFFER_PARTNERS) " WHERE o.id = ?" OFFER_LIVE},
};

int checkout_offer_load(struct b4_db *db, const char *key, bool by_id, struct checkout_offer *out,
			struct b4_order_partners *partners)
{
	struct b4_db_result *res;

	if (!by_id && !b4_text_is_offer_code(key))
		return 0;
	res = b4_db_query(db, offer_sql[partners != NULL][by_id], "s", key);
	if (!res)
		return -1;
	if (b4_db_rows(res) == 0) {
		b4_db_result_free(res);
		return 0;
	}
	memset(out, 0, sizeof(*out));
	snprintf(out->id, sizeof(out->id), "%s", b4_db_str(res, 0, 0));
	snprintf(out->product_id, sizeof(out->product_id), "%s", b4_db_str(res, 0, 1));
	snprintf(out->producer_id, sizeof(out->producer_id), "%s", b4_db_str(res, 0, 2));
	snprintf(out->code, sizeof(out->code), "%s", b4_db_str(res, 0, 3));
	snprintf(out->name, sizeof(out->name), "%s", b4_db_str(res, 0, 4));
	snprintf(out->product_name, sizeof(out->product_name), "%s", b4_db_str(res, 0, 5));
	snprintf(out->producer_name, sizeof(out->producer_name), "%s", b4_db_str(res, 0, 6));
	out->price_cents = b4_db_i64(res, 0, 7);
	out->max_installments = (int)b4_db_i64(res, 0, 8);
	out->interest_free_installments = (int)b4_db_i64(res, 0, 9);
	snprintf(out->methods, sizeof(out->methods), "%s", b4_db_str(res, 0, 10));
	out->allow_coupon = b4_db_i64(res, 0, 11) != 0;
	snprintf(out->upsell_offer_id, sizeof(out->upsell_offer_id), "%s", b4_db_str(res, 0, 12));
	out->upsell_one_click = b4_db_i64(res, 0, 13) != 0;
	out->guarantee_days = (int)b4_db_i64(res, 0, 14);
	out->affiliate_enabled = b4_db_i64(res, 0, 15) != 0;
	out->affiliate_commission_bps = (int)b4_db_i64(res, 0, 16);
	out->affiliate_cookie_days = (int)b4_db_i64(res, 0, 17);
	out->affiliate_first_click = b4_db_i64(res, 0, 18) != 0;
	if (partners) {
		snprintf(partners->producer_utc_offset, sizeof(partners->producer_utc_offset), "%s",
			 b4_db_str(res, 0, 19));
		partners->affiliate_utc_offset[0] = '\0';
		/* malformed: known stays false, and tx1 reads them */
		(void)b4_order_partners_parse(partners, b4_db_str(res, 0, 20));
	}
	b4_db_result_free(res);
	return 1;
}

/* True when the comma list `set` holds `item`. */
static bool set_has(const char *set, const char *item)
{
	size_t n = strlen(item);
	const char *p = set;

	while ((p = strstr(p, item)) != NULL) {
		if ((p == set || p[-1] == ',') && (p[n] == '\0' || p[n] == ','))
			return true;
		p += n;
	}
	return false;
}

bool checkout_offer_allows(const struct checkout_offer *offer, const char *method)
{
	return set_has(offer->methods, method);
}

/* The columns of a coupon's read, in checkout_coupon_eval. */
enum coupon_col {
	C_ID,
	C_PERCENT,
	C_AMOUNT,
	C_METHODS,
	C_MIN,
	C_EXPIRED,
	C_USED_UP,
	C_ONCE,
	C_ACTIVE,
	C_AFFILIATION
};

/* Has the buyer of document_bidx an order holding the coupon? 1 yes, 0
 * no, -1 on a database error. */
static int used_by_buyer(struct b4_db *db, const char *coupon_id, const char *document_bidx)
{
	struct b4_db_result *res = b4_db_query(
	    db,
	    "SELECT 1 FROM orders o JOIN customers c ON c.id = o.customer_id"
	    " WHERE c.document_bidx = ? AND o.coupon_id = ?"
	    " AND o.status IN ('waiting_payment','paid','refund_requested','disputed') LIMIT 1",
	    "ss", document_bidx, coupon_id);
	int used = res ? b4_db_rows(res) > 0 : -1;

	b4_db_result_free(res);
	return used;
}

int checkout_coupon_eval(struct b4_db *db, const struct checkout_offer *offer, const char *code,
			 const char *method, int64_t amount_cents, const char *document_bidx,
			 struct checkout_coupon *out, const char **reason)
{
	struct b4_db_result *res;
	int64_t price;
	int rc = 0, used;

	memset(out, 0, sizeof(*out));
	if (!offer->allow_coupon) {
		*reason = "coupons_not_allowed";
		return 0;
	}
	res = b4_db_query(db,
			  "SELECT id, percent_bps, amount_cents, payment_methods, min_amount_cents,"
			  " expires_at IS NOT NULL AND expires_at <= UTC_TIMESTAMP(6),"
			  " max_uses IS NOT NULL AND uses >= max_uses, once_per_customer, active,"
			  " affiliation_id FROM coupons WHERE product_id = ? AND code = ?",
			  "ss", offer->product_id, code);
	if (!res)
		return -1;
	if (b4_db_rows(res) == 0 || b4_db_i64(res, 0, C_ACTIVE) == 0) {
		*reason = "coupon_not_found";
		goto out_free_res;
	}
	if (b4_db_i64(res, 0, C_EXPIRED)) {
		*reason = "coupon_expired";
		goto out_free_res;
	}
	if (b4_db_i64(res, 0, C_USED_UP)) {
		*reason = "coupon_used_up";
		goto out_free_res;
	}
	if (amount_cents < b4_db_i64(res, 0, C_MIN)) {
		*reason = "below_minimum_amount";
		goto out_free_res;
	}
	if (method && !set_has(b4_db_str(res, 0, C_METHODS), method)) {
		*reason = "payment_method_not_eligible";
		goto out_free_res;
	}
	out->once_per_customer = b4_db_i64(res, 0, C_ONCE) != 0;
	if (document_bidx && out->once_per_customer) {
		used = used_by_buyer(db, b4_db_str(res, 0, C_ID), document_bidx);
		if (used != 0) {
			rc = used < 0 ? -1 : 0;
			*reason = "already_used_by_customer";
			goto out_free_res;
		}
	}
	/* The price never drops below R$ 5,00, the smallest offer price. */
	if (!b4_db_is_null(res, 0, C_PERCENT)) {
		if (b4_money_discount(amount_cents, B4_DISCOUNT_PERCENT,
				      b4_db_i64(res, 0, C_PERCENT), 500, &price,
				      &out->discount_cents) < 0)
			goto out_bad;
	} else if (b4_money_discount(amount_cents, B4_DISCOUNT_FIXED, b4_db_i64(res, 0, C_AMOUNT),
				     500, &price, &out->discount_cents) < 0) {
		goto out_bad;
	}
	snprintf(out->id, sizeof(out->id), "%s", b4_db_str(res, 0, C_ID));
	if (!b4_db_is_null(res, 0, C_AFFILIATION))
		snprintf(out->affiliation_id, sizeof(out->affiliation_id), "%s",
			 b4_db_str(res, 0, C_AFFILIATION));
	rc = 1;
	goto out_free_res;
out_bad:
	*reason = "coupon_not_found";
out_free_res:
	if (rc != 1)
		out->discount_cents = 0;
	b4_db_result_free(res);
	return rc;
}

static cJSON *installments_json(const struct checkout_app *app, const struct checkout_offer *offer,
				int64_t amount_cents)
{
	struct b4_installment plans[B4_MONEY_MAX_INSTALLMENTS];
	cJSON *arr = cJSON_CreateArray();

	if (b4_money_installments(amount_cents, offer->max_installments,
				  offer->interest_free_installments, (int)app->monthly_rate_bp,
				  plans) < 0)
		return arr;
	for (int k = 0; k < offer->max_installments; k++) {
		cJSON *row = cJSON_CreateObject();
		cJSON_AddNumberToObject(row, "installments", plans[k].installments);
		cJSON_AddNumberToObject(row, "installment_cents",
					(double)plans[k].installment_cents);
		cJSON_AddNumberToObject(row, "first_installment_cents",
					(double)plans[k].first_installment_cents);
		cJSON_AddNumberToObject(row, "total_cents", (double)plans[k].total_cents);
		cJSON_AddBoolToObject(row, "interest_free", plans[k].interest_free);
		cJSON_AddItemToArray(arr, row);
	}
	return arr;
}

/* Loads the offer of the :code parameter (1), or answers 404 (0) or 503
 * (-1).  With kept, as kept for the page cache's time (the installment
 * table and coupon checks only show it); the page itself reads it, being
 * kept as a whole. */
static int offer_from_param(struct b4_req *req, bool kept, struct checkout_offer *offer)
{
	const char *code = b4_req_param(req, "code");
	int found;

	if (!code) {
		b4_req_not_found(req, "offer");
		return 0;
	}
	found = kept ? checkout_offer_kept(req, code, offer)
		     : checkout_offer_load(req->db, code, false, offer, NULL);
	if (found < 0)
		b4_req_db_error(req);
	else if (found == 0)
		b4_req_not_found(req, "offer");
	return found;
}

void checkout_offer_get(struct b4_req *req)
{
	const struct checkout_app *app = req->app;
	const char *code = b4_req_param(req, "code");
	struct checkout_offer offer;
	struct b4_db_result *res;
	cJSON *body, *methods, *bumps;
	int found;
	static const char *const all_methods[] = {"card", "pix", "boleto"};

	/* a launch's buyers ask for the same page: its answer of the last
	 * moment, when there is one (page_cache.c) */
	if (code && checkout_page_cache_answer(req, code))
		return;
	found = offer_from_param(req, false, &offer);
	if (found == 0 && code && b4_text_is_offer_code(code))
		checkout_page_cache_missing(req, code); /* it was read */
	if (found != 1)
		return;
	res = b4_db_query(
	    req->db,
	    "SELECT o.code, o.name, o.price_cents, p.name FROM offer_bumps b"
	    " JOIN offers o ON o.id = b.bump_offer_id JOIN products p ON p.id = o.product_id"
	    " WHERE b.offer_id = ? AND o.active = 1 AND p.status = 'active' AND p.blocked = 0"
	    " ORDER BY b.position",
	    "s", offer.id);
	if (!res) {
		b4_req_db_error(req);
		return;
	}
	body = cJSON_CreateObject();
	cJSON_AddStringToObject(body, "code", offer.code);
	cJSON_AddStringToObject(body, "name", offer.name);
	cJSON_AddStringToObject(body, "product_name", offer.product_name);
	cJSON_AddStringToObject(body, "producer_name", offer.producer_name);
	cJSON_AddNumberToObject(body, "price_cents", (double)offer.price_cents);
	cJSON_AddStringToObject(body, "currency", "BRL");
	cJSON_AddNumberToObject(body, "max_installments", offer.max_installments);
	cJSON_AddNumberToObject(body, "interest_free_installments",
				offer.interest_free_installments);
	methods = cJSON_AddArrayToObject(body, "payment_methods");
	for (size_t i = 0; i < 3; i++)
		if (checkout_offer_allows(&offer, all_methods[i]))
			cJSON_AddItemToArray(methods, cJSON_CreateString(all_methods[i]));
	cJSON_AddItemToObject(body, "installments",
			      installments_json(app, &offer, offer.price_cents));
	bumps = cJSON_AddArrayToObject(body, "bumps");
	for (size_t r = 0; r < b4_db_rows(res); r++) {
		cJSON *b = cJSON_CreateObject();
		cJSON_AddStringToObject(b, "code", b4_db_str(res, r, 0));
		cJSON_AddStringToObject(b, "name", b4_db_str(res, r, 1));
		cJSON_AddNumberToObject(b, "price_cents", (double)b4_db_i64(res, r, 2));
		cJSON_AddStringToObject(b, "product_name", b4_db_str(res, r, 3));
		cJSON_AddItemToArray(bumps, b);
	}
	b4_db_result_free(res);
	cJSON_AddBoolToObject(body, "coupons_allowed", offer.allow_coupon);
	if (checkout_offer_page_extras(req, &offer, body) < 0) {
		cJSON_Delete(body);
		b4_req_db_error(req);
		return;
	}
	checkout_page_cache_send(req, code, body);
}

void checkout_offer_installments(struct b4_req *req)
{
	struct checkout_offer offer;
	cJSON *body;

	const char *amount_text = b4_req_query(req, "amount_cents");
	int64_t amount;

	if (offer_from_param(req, true, &offer) != 1)
		return;
	/* the page asks for the table of its cart (bumps and coupon included);
	 * the order is always priced again on the server */
	amount = offer.price_cents;
	if (amount_text) {
		char *end = NULL;
		long long v = strtoll(amount_text, &end, 10);
		if (!*amount_text || *end || v < 500 || v > 100000000LL) {
			b4_req_errorf(req, 422, "invalid_request_error", "invalid_amount",
				      "amount_cents", "amount_cents must be 500 to 100000000");
			return;
		}
		amount = (int64_t)v;
	}
	body = cJSON_CreateObject();
	cJSON_AddItemToObject(body, "data", installments_json(req->app, &offer, amount));
	b4_req_send_json(req, 200, body);
}

void checkout_offer_coupon(struct b4_req *req)
{
	struct checkout_offer offer;
	const char *code = b4_req_param(req, "coupon");
	const char *method = b4_req_query(req, "payment_method");
	const char *reason = NULL;
	struct checkout_coupon coupon;
	int valid;
	cJSON *body;

	if (checkout_coupon_admit(req) < 0 || offer_from_param(req, true, &offer) != 1)
		return;
	if (!code || !*code || strlen(code) > 40) {
		b4_req_errorf(req, 422, "invalid_request_error", "invalid_coupon", "coupon",
			      "coupon codes have 1 to 40 characters");
		return;
	}
	if (method && strcmp(method, "card") != 0 && strcmp(method, "pix") != 0 &&
	    strcmp(method, "boleto") != 0) {
		b4_req_errorf(req, 422, "invalid_request_error", "invalid_payment_method",
			      "payment_method", "payment_method is card, pix or boleto");
		return;
	}
	valid = checkout_coupon_eval(req->db, &offer, code, method, offer.price_cents, NULL,
				     &coupon, &reason);
	if (valid < 0) {
		b4_req_db_error(req);
		return;
	}
	body = cJSON_CreateObject();
	cJSON_AddBoolToObject(body, "valid", valid == 1);
	cJSON_AddNumberToObject(body, "discount_cents", (double)coupon.discount_cents);
	cJSON_AddNumberToObject(body, "price_cents",
				(double)(offer.price_cents - coupon.discount_cents));
	if (valid != 1)
		cJSON_AddStringToObject(body, "reason", reason);
	b4_req_send_json(req, 200, body);
}

cJSON *checkout_order_error_body(const struct b4_req *req, const char *type, const char *code,
				 const char *message, const char *order_id)
{
	cJSON *root = cJSON_CreateObject();
	cJSON *err = cJSON_AddObjectToObject(root, "error");

	cJSON_AddStringToObject(err, "type", type);
	cJSON_AddStringToObject(err, "code", code);
	cJSON_AddStringToObject(err, "message", message);
	if (order_id)
		cJSON_AddStringToObject(err, "order_id", order_id);
	cJSON_AddStringToObject(root, "request_id", req->request_id);
	return root;
}

void checkout_invalid(struct b4_req *req, const char *code, const char *param, const char *message)
{
	b4_req_errorf(req, 422, "invalid_request_error", code, param, "%s", message);
}

bool checkout_email_is_valid(const char *email)
{
	const char *at = strchr(email, '@');
	const char *dot;

	if (!at || at == email || strchr(at + 1, '@'))
		return false;
	for (const char *p = email; *p; p++)
		if ((unsigned char)*p <= ' ' || strchr("<>,;\"", *p))
			return false;
	dot = strrchr(at, '.');
	return dot && dot > at + 1 && dot[1] != '\0';
}

const char *checkout_json_duplicate(const cJSON *node)
{
	const cJSON *a, *b;

	cJSON_ArrayForEach(a, node)
	{
		const char *inner;
		if (cJSON_IsObject(node))
			for (b = a->next; b; b = b->next)
				if (a->string && b->string && !strcmp(a->string, b->string))
					return a->string;
		inner = checkout_json_duplicate(a);
		if (inner)
			return inner;
	}
	return NULL;
}

const cJSON *checkout_json_body(struct b4_req *req)
{
	const cJSON *body = b4_req_json_body(req);
	const char *twice = body ? checkout_json_duplicate(body) : NULL;

	if (twice) {
		b4_req_errorf(req, 400, "invalid_request_error", "duplicate_field", twice,
			      "a field appears twice");
		return NULL;
	}
	return body;
}
