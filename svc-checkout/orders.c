/* orders.c - POST /v1/orders (validation, pricing, attribution, antifraud;
 * the pipeline is in order_engine.c), GET /v1/orders/:id and the thank-you
 * data GET /v1/orders/:id/delivery. */
#include "order_engine.h"
#include "b4/crypto.h"
#include "b4/db.h"
#include "b4/money.h"
#include "b4/pii.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void checkout_order_create(struct b4_req *req);
void checkout_order_get(struct b4_req *req);
void checkout_order_delivery(struct b4_req *req);

/* Keeps the digits of a phone ("+55 (11) 98765-4321"); 10..13 digits. */
static int phone_normalize(const char *text, char out[20])
{
	size_t n = 0;

	for (const char *p = text; *p; p++) {
		if (isdigit((unsigned char)*p)) {
			if (n >= 13)
				return -1;
			out[n++] = *p;
		} else if (!strchr(" +()-.", *p)) {
			return -1;
		}
	}
	out[n] = '\0';
	return n >= 10 ? 0 : -1;
}

/* Takes affiliation_id for the order if it is still an approved
 * affiliation of the product with an active affiliate.  1 taken, 0 not,
 * -1 (DB). */
static int take_affiliation(struct checkout_order *o, const char *affiliation_id)
{
	struct b4_db_result *res;
	int taken;

	res = b4_db_query(o->req->db,
			  "SELECT a.affiliate_id, COALESCE(a.commission_bps, ?), u.utc_offset"
			  " FROM affiliations a"
			  " JOIN users u ON u.id = a.affiliate_id"
			  " WHERE a.id = ? AND a.product_id = ? AND a.status = 'approved'"
			  " AND u.status = 'active'",
			  "Iss", o->main.affiliate_commission_bps, affiliation_id,
			  o->main.product_id);
	if (!res)
		return -1;
	taken = b4_db_rows(res) == 1;
	if (taken) {
		snprintf(o->affiliation_id, sizeof(o->affiliation_id), "%s", affiliation_id);
		snprintf(o->affiliate_id, sizeof(o->affiliate_id), "%s", b4_db_str(res, 0, 0));
		o->affiliate_bps = (int)b4_db_i64(res, 0, 1);
		snprintf(o->partners.affiliate_utc_offset, sizeof(o->partners.affiliate_utc_offset),
			 "%s", b4_db_str(res, 0, 2));
	}
	b4_db_result_free(res);
	return taken;
}

/* Resolves the affiliate from the two clicks an order can carry: the
 * explicit ref (the link the buyer came through now) and the session's
 * attribution (the click that opened the cart, kept within the program's
 * cookie window).  The product's attribution rule says which wins when they
 * name different affiliates: last_click the ref, first_click the session's
 * earlier click.  If the winner is no longer valid (affiliation revoked,
 * affiliate blocked) the other one counts.  Returns 0 or -1 (DB). */
static int resolve_affiliate(struct checkout_order *o, const char *ref,
			     const char *session_affiliation, bool session_in_window)
{
	char from_ref[37] = "";
	const char *candidates[2] = {NULL, NULL}, *from_session = NULL;

	o->affiliation_id[0] = '\0';
	if (!o->main.affiliate_enabled)
		return 0;
	if (ref && checkout_affiliation_by_ref(o->req->db, &o->main, ref, from_ref) < 0)
		return -1;
	if (session_affiliation && session_affiliation[0] && session_in_window)
		from_session = session_affiliation;
	candidates[0] = o->main.affiliate_first_click ? from_session : from_ref;
	candidates[1] = o->main.affiliate_first_click ? from_ref : from_session;
	for (int i = 0; i < 2; i++) {
		int taken;
		if (!candidates[i] || !candidates[i][0])
			continue;
		taken = take_affiliation(o, candidates[i]);
		if (taken != 0)
			return taken < 0 ? -1 : 0;
	}
	return 0;
}

int checkout_order_price(struct checkout_order *o)
{
	struct b4_installment plan;
	int64_t base;

	o->subtotal_cents = o->main.price_cents;
	for (size_t k = 0; k < o->nbumps; k++)
		if (b4_money_add(o->subtotal_cents, o->bumps[k].price_cents, &o->subtotal_cents) <
		    0)
			return -1;
	base = o->subtotal_cents - o->discount_cents;
	if (b4_money_installment(base, o->installments, o->main.interest_free_installments,
				 (int)o->app->monthly_rate_bp, &plan) < 0)
		return -1;
	o->interest_cents = plan.interest_cents;
	o->total_cents = plan.total_cents;
	return 0;
}

/* What POST /v1/orders carries, as parsed (strings point into the body). */
struct order_input {
	const char *code, *session_id, *coupon, *ref;
	const char *full_name, *email, *document, *phone, *card_token;
	const cJSON *bumps;
	int method;
	int64_t installments;
};

static const char *const order_methods[] = {"card", "pix", "boleto", NULL};

/* Reads the body's fields and checks the buyer's (e-mail, document,
 * phone normalised into o), every one of them, so one answer names all the
 * bad ones.  0, or -1 after answering 400/422. */
static int parse_order(struct checkout_order *o, const cJSON *body, struct order_input *in)
{
	static const char *const allowed[] = {"offer_code", "session_id", "bump_codes", "coupon",
					      "ref",	    "customer",	  "payment",	NULL};
	static const char *const customer_fields[] = {"full_name", "email", "document", "phone",
						      NULL};
	static const char *const payment_fields[] = {"method", "card_token", "installments", NULL};
	const cJSON *customer = NULL, *payment = NULL;
	struct b4_form form;

	memset(in, 0, sizeof(*in));
	in->installments = 1;
	b4_form_init(&form);
	b4_json_reject_unknown(body, allowed, NULL, b4_form_err(&form));
	b4_json_get_str(body, "offer_code", B4_JSON_REQUIRED, 1, 10, &in->code, b4_form_err(&form));
	b4_json_get_str(body, "session_id", B4_JSON_OPTIONAL, 36, 36, &in->session_id,
			b4_form_err(&form));
	b4_json_get_array(body, "bump_codes", B4_JSON_OPTIONAL, CHECKOUT_MAX_BUMPS, &in->bumps,
			  b4_form_err(&form));
	b4_json_get_str(body, "coupon", B4_JSON_OPTIONAL, 1, 40, &in->coupon, b4_form_err(&form));
	b4_json_get_str(body, "ref", B4_JSON_OPTIONAL, 1, 16, &in->ref, b4_form_err(&form));
	b4_json_get_object(body, "customer", B4_JSON_REQUIRED, &customer, b4_form_err(&form));
	b4_json_reject_unknown(customer, customer_fields, "customer.", b4_form_err(&form));
	b4_json_get_str(body, "customer.full_name", B4_JSON_REQUIRED, 2, 200, &in->full_name,
			b4_form_err(&form));
	b4_json_get_str(body, "customer.email", B4_JSON_REQUIRED, 3, 254, &in->email,
			b4_form_err(&form));
	b4_json_get_str(body, "customer.document", B4_JSON_REQUIRED, 11, 32, &in->document,
			b4_form_err(&form));
	b4_json_get_str(body, "customer.phone", B4_JSON_REQUIRED, 10, 25, &in->phone,
			b4_form_err(&form));
	b4_json_get_object(body, "payment", B4_JSON_REQUIRED, &payment, b4_form_err(&form));
	b4_json_reject_unknown(payment, payment_fields, "payment.", b4_form_err(&form));
	b4_json_get_enum(body, "payment.method", B4_JSON_REQUIRED, order_methods, &in->method,
			 b4_form_err(&form));
	b4_json_get_str(body, "payment.card_token", B4_JSON_OPTIONAL, 1, 128, &in->card_token,
			b4_form_err(&form));
	b4_json_get_int(body, "payment.installments", B4_JSON_OPTIONAL, 1, 12, &in->installments,
			b4_form_err(&form));
	if (in->email && !checkout_email_is_valid(in->email))
		b4_form_add(&form, 422, "invalid_email", "customer.email",
			    "email is not a valid address");
	if (in->document && b4_br_document_normalize(in->document, o->document, sizeof(o->document),
						     &o->document_type) < 0)
		b4_form_add(&form, 422, "invalid_document", "customer.document",
			    "document is not a valid CPF or CNPJ");
	if (in->phone && phone_normalize(in->phone, o->phone) < 0)
		b4_form_add(&form, 422, "invalid_phone", "customer.phone",
			    "phone needs 10 to 13 digits (area code and number)");
	if (b4_form_failed(&form)) {
		b4_req_send_form(o->req, &form);
		return -1;
	}
	return 0;
}

/* The buyer, checked by parse_order: names, lower-case e-mail, the
 * document's blind index.  0 or -1 after answering. */
static int take_buyer(struct checkout_order *o, const struct order_input *in)
{
	struct b4_req *req = o->req;

	snprintf(o->full_name, sizeof(o->full_name), "%s", in->full_name);
	snprintf(o->email, sizeof(o->email), "%s", in->email);
	for (char *p = o->email; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	if (b4_pii_blind_index("document", o->document, o->document_bidx) < 0) {
		b4_req_errorf(req, 500, "api_error", "internal_error", NULL, "keys are not loaded");
		return -1;
	}
	return 0;
}

/* The offer, the payment method and installments it allows.  0 or -1
 * after answering. */
static int take_offer(struct checkout_order *o, const struct order_input *in)
{
	struct b4_req *req = o->req;
	int found = checkout_offer_load(req->db, in->code, false, &o->main, &o->partners);

	if (found < 0) {
		b4_req_db_error(req);
		return -1;
	}
	if (found == 0) {
		checkout_invalid(req, "offer_not_found", "offer_code",
				 "no active offer with this code");
		return -1;
	}
	o->method = order_methods[in->method];
	o->installments = (int)in->installments;
	if (!checkout_offer_allows(&o->main, o->method)) {
		checkout_invalid(req, "payment_method_not_allowed", "payment.method",
				 "the offer does not accept this payment method");
		return -1;
	}
	if (strcmp(o->method, "card") == 0) {
		if (!in->card_token) {
			checkout_invalid(req, "card_token_required", "payment.card_token",
					 "card payments need a card_token from /v1/card-tokens");
			return -1;
		}
		if (o->installments > o->main.max_installments) {
			checkout_invalid(req, "too_many_installments", "payment.installments",
					 "more installments than the offer allows");
			return -1;
		}
		return 0;
	}
	if (in->card_token) {
		checkout_invalid(req, "card_token_not_allowed", "payment.card_token",
				 "card_token is only for card payments");
		return -1;
	}
	if (o->installments != 1) {
		checkout_invalid(req, "installments_not_allowed", "payment.installments",
				 "Pix and boleto are paid at once");
		return -1;
	}
	return 0;
}

/* The card token: single use, this session's, not expired, charged only
 * at the acquirer that issued it (card_tokens.c).  0 or -1 after
 * answering. */
static int take_card(struct checkout_order *o, const char *card_token)
{
	if (!card_token)
		return 0;
	return checkout_card_token_consume(o, card_token) == 0 ? 0 : -1;
}

/* One order bump: an active offer bound to the main offer, listed once.
 * 0 or -1 after answering. */
static int take_bump(struct checkout_order *o, const cJSON *item)
{
	struct b4_req *req = o->req;
	struct checkout_offer *b = &o->bumps[o->nbumps];
	struct b4_db_result *res;
	int found;

	if (!cJSON_IsString(item)) {
		b4_req_errorf(req, 400, "invalid_request_error", "invalid_type", "bump_codes",
			      "bump_codes is a list of offer codes");
		return -1;
	}
	found = checkout_offer_load(req->db, item->valuestring, false, b, NULL);
	if (found == 0) {
		checkout_invalid(req, "bump_not_found", "bump_codes",
				 "a bump code is not an active offer");
		return -1;
	}
	res = found < 0 ? NULL
			: b4_db_query(req->db,
				      "SELECT 1 FROM offer_bumps WHERE offer_id = ?"
				      " AND bump_offer_id = ?",
				      "ss", o->main.id, b->id);
	if (!res) {
		b4_req_db_error(req);
		return -1;
	}
	found = (int)b4_db_rows(res);
	b4_db_result_free(res);
	if (!found) {
		checkout_invalid(req, "bump_not_in_offer", "bump_codes",
				 "a bump does not belong to this offer");
		return -1;
	}
	for (size_t k = 0; k < o->nbumps; k++)
		if (!strcmp(o->bumps[k].id, b->id)) {
			checkout_invalid(req, "duplicate_bump", "bump_codes",
					 "a bump is listed twice");
			return -1;
		}
	o->nbumps++;
	return 0;
}

/* The session (cart) and its attribution, then the affiliate.  0 or -1
 * after answering. */
static int take_session(struct checkout_order *o, const char *session_id, const char *ref)
{
	char session_affiliation[37] = "";
	bool in_window = false, found = true;

	if (session_id) {
		struct b4_db_result *res =
		    b4_db_query(o->req->db,
				"SELECT s.affiliation_id, s.email, (? = 0 OR s.created_at >"
				" UTC_TIMESTAMP(6) - INTERVAL ? DAY) FROM checkout_sessions s"
				" WHERE s.id = ? AND s.offer_id = ?",
				"IIss", o->main.affiliate_cookie_days,
				o->main.affiliate_cookie_days, session_id, o->main.id);
		if (!res)
			goto out_db_error;
		found = b4_db_rows(res) > 0;
		if (found) {
			snprintf(session_affiliation, sizeof(session_affiliation), "%s",
				 b4_db_str(res, 0, 0));
			snprintf(o->session_email, sizeof(o->session_email), "%s",
				 b4_db_str(res, 0, 1));
			in_window = b4_db_i64(res, 0, 2) != 0;
		}
		b4_db_result_free(res);
		if (!found) {
			checkout_invalid(o->req, "session_not_found", "session_id",
					 "no checkout session with this id for the offer");
			return -1;
		}
		snprintf(o->session_id, sizeof(o->session_id), "%s", session_id);
	}
	if (resolve_affiliate(o, ref, session_affiliation, in_window) < 0)
		goto out_db_error;
	return 0;
out_db_error:
	b4_req_db_error(o->req);
	return -1;
}

/* The coupon on the main offer's price; an affiliate's own coupon
 * attributes the sale when no ref or session did.  The use itself is taken
 * in the order's transaction.  0 or -1 after answering. */
static int take_coupon_code(struct checkout_order *o, const char *code)
{
	struct b4_req *req = o->req;
	struct checkout_coupon coupon;
	const char *reason = NULL;
	int found;

	if (!code)
		return 0;
	found = checkout_coupon_eval(req->db, &o->main, code, o->method, o->main.price_cents,
				     o->document_bidx, &coupon, &reason);
	if (found < 0)
		goto out_db_error;
	if (found == 0) {
		b4_req_errorf(req, 422, "invalid_request_error", reason, "coupon",
			      "the coupon cannot be used: %s", reason);
		return -1;
	}
	snprintf(o->coupon_id, sizeof(o->coupon_id), "%s", coupon.id);
	o->coupon_once = coupon.once_per_customer;
	o->discount_cents = coupon.discount_cents;
	if (o->affiliate_id[0] || !coupon.affiliation_id[0])
		return 0;
	if (resolve_affiliate(o, NULL, coupon.affiliation_id, true) < 0)
		goto out_db_error;
	return 0;
out_db_error:
	b4_req_db_error(req);
	return -1;
}

/* Antifraud, before anything is written.  0 or -1 after answering. */
static int score_fraud(struct checkout_order *o)
{
	struct checkout_fraud_input fraud;
	cJSON *reasons = NULL;

	memset(&fraud, 0, sizeof(fraud));
	fraud.email = o->email;
	fraud.document_bidx = o->document_bidx;
	fraud.client_ip = o->req->client_ip;
	fraud.card_fingerprint = o->card_fingerprint;
	fraud.session_email = o->session_email;
	fraud.total_cents = o->total_cents;
	fraud.offer_price_cents = o->main.price_cents;
	fraud.reached = o->velocity_known ? o->velocity_reached : NULL;
	o->fraud_score = checkout_fraud_score(o->req->db, o->app, &fraud, &reasons);
	if (o->fraud_score < 0) {
		b4_req_db_error(o->req);
		return -1;
	}
	o->fraud_reasons = cJSON_PrintUnformatted(reasons);
	cJSON_Delete(reasons);
	return 0;
}

/* Everything the order needs before its first transaction.  0, or -1
 * after answering. */
static int order_prepare(struct checkout_order *o, const cJSON *body)
{
	const cJSON *item;
	struct order_input in;

	if (parse_order(o, body, &in) < 0 || take_buyer(o, &in) < 0 || take_offer(o, &in) < 0)
		return -1;
	cJSON_ArrayForEach(item, in.bumps)
	{
		if (take_bump(o, item) < 0)
			return -1;
	}
	if (take_session(o, in.session_id, in.ref) < 0 || take_coupon_code(o, in.coupon) < 0)
		return -1;
	if (checkout_order_price(o) < 0) {
		checkout_invalid(o->req, "invalid_amount", NULL, "the order cannot be priced");
		return -1;
	}
	/* the token is bound to the session and used up by this attempt, so it
	 * is taken last, once nothing else can refuse the order */
	return take_card(o, in.card_token) < 0 || score_fraud(o) < 0 ? -1 : 0;
}

void checkout_order_create(struct b4_req *req)
{
	const cJSON *body = checkout_json_body(req);
	struct checkout_order *o;

	if (!body)
		return;
	o = b4_arena_calloc(req->arena, 1, sizeof(*o));
	o->app = req->app;
	o->req = req;
	o->item_type = "main";
	if (checkout_idem_begin(o, "orders", body) < 0)
		return;
	if (order_prepare(o, body) < 0) {
		checkout_idem_refused(o);
		return;
	}
	checkout_order_run(o);
}

int checkout_order_authorize(struct b4_req *req, const char *token, char order_id[37])
{
	const char *id = b4_req_param(req, "id");
	struct b4_db_result *res;
	unsigned char digest[32];
	char hash[65];
	bool ok;

	if (!token || !*token) {
		b4_req_errorf(req, 400, "invalid_request_error", "access_token_required",
			      "access_token", "access_token is required");
		return 1;
	}
	if (!id || strlen(id) != 36) {
		b4_req_not_found(req, "order");
		return 1;
	}
	res = b4_db_query(req->db, "SELECT access_token_hash FROM orders WHERE id = ?", "s", id);
	if (!res) {
		b4_req_db_error(req);
		return 1;
	}
	b4_crypto_sha256(token, strlen(token), digest);
	b4_crypto_hex_encode(digest, 32, hash, sizeof(hash));
	ok = b4_db_rows(res) == 1 && b4_crypto_equal(b4_db_str(res, 0, 0), hash, 64);
	b4_db_result_free(res);
	if (!ok) {
		b4_req_not_found(req, "order");
		return 1;
	}
	snprintf(order_id, 37, "%s", id);
	return 0;
}

void checkout_order_get(struct b4_req *req)
{
	char id[37];
	cJSON *order;

	if (checkout_order_authorize(req, b4_req_query(req, "access_token"), id))
		return;
	order = b4_order_json(req->db, id, NULL);
	if (!order) {
		b4_req_db_error(req);
		return;
	}
	b4_req_send_json(req, 200, order);
}

void checkout_order_delivery(struct b4_req *req)
{
	struct b4_db_result *res;
	struct checkout_offer upsell;
	char id[37];
	cJSON *out, *order, *access;
	const char *status;
	int found;

	if (checkout_order_authorize(req, b4_req_query(req, "access_token"), id))
		return;
	order = b4_order_json(req->db, id, NULL);
	res =
	    b4_db_query(req->db,
			"SELECT p.id, p.name, p.type, f.upsell_offer_id FROM order_items i"
			" JOIN offers f ON f.id = i.offer_id JOIN products p ON p.id = f.product_id"
			" WHERE i.order_id = ? ORDER BY i.type, i.id",
			"s", id);
	if (!order || !res) {
		cJSON_Delete(order);
		b4_db_result_free(res);
		b4_req_db_error(req);
		return;
	}
	status = cJSON_GetObjectItemCaseSensitive(order, "status")->valuestring;
	out = cJSON_CreateObject();
	cJSON_AddStringToObject(out, "order_id", id);
	cJSON_AddStringToObject(out, "status", status);
	cJSON_AddItemToObject(
	    out, "items", cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(order, "items"), true));
	cJSON_AddNumberToObject(
	    out, "total_cents",
	    cJSON_GetObjectItemCaseSensitive(order, "total_cents")->valuedouble);
	cJSON_AddNumberToObject(
	    out, "installments",
	    cJSON_GetObjectItemCaseSensitive(order, "installments")->valuedouble);
	cJSON_AddStringToObject(
	    out, "payment_method",
	    cJSON_GetObjectItemCaseSensitive(order, "payment_method")->valuestring);
	access = cJSON_AddArrayToObject(out, "access");
	/* what the buyer may open, once paid */
	if (!strcmp(status, "paid"))
		for (size_t r = 0; r < b4_db_rows(res); r++) {
			cJSON *a = cJSON_CreateObject();
			cJSON_AddStringToObject(a, "product_id", b4_db_str(res, r, 0));
			cJSON_AddStringToObject(a, "product_name", b4_db_str(res, r, 1));
			cJSON_AddStringToObject(a, "type", b4_db_str(res, r, 2));
			cJSON_AddItemToArray(access, a);
		}
	/* the upsell offer, shown on the thank-you page (main item first) */
	found = 0;
	if (b4_db_rows(res) > 0 && !b4_db_is_null(res, 0, 3) &&
	    !cJSON_GetObjectItemCaseSensitive(order, "parent_order_id"))
		found = checkout_offer_load(req->db, b4_db_str(res, 0, 3), true, &upsell, NULL);
	if (found == 1) {
		struct b4_db_result *main = b4_db_query(
		    req->db,
		    "SELECT f.upsell_one_click FROM orders o JOIN offers f ON f.id = o.offer_id"
		    " WHERE o.id = ?",
		    "s", id);
		cJSON *u = cJSON_AddObjectToObject(out, "upsell");
		cJSON_AddStringToObject(u, "offer_code", upsell.code);
		cJSON_AddStringToObject(u, "name", upsell.name);
		cJSON_AddStringToObject(u, "product_name", upsell.product_name);
		cJSON_AddNumberToObject(u, "price_cents", (double)upsell.price_cents);
		cJSON_AddBoolToObject(
		    u, "one_click",
		    main && b4_db_rows(main) && b4_db_i64(main, 0, 0) &&
			!strcmp(
			    cJSON_GetObjectItemCaseSensitive(order, "payment_method")->valuestring,
			    "card"));
		b4_db_result_free(main);
	}
	b4_db_result_free(res);
	cJSON_Delete(order);
	b4_req_send_json(req, 200, out);
}
