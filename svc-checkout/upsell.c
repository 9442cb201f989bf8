/* upsell.c - POST /v1/orders/:id/upsell: the offer shown after a sale.
 * card -> card (one click on the same card token, only when the main order
 * was paid by card and the upsell allows it), card -> pix, pix -> pix;
 * never pix -> card.  One live upsell per main order: the database's
 * unique key (orders.live_upsell_parent) decides between concurrent
 * requests, in the order's transaction. */
#include "order_engine.h"
#include "b4/db.h"
#include "b4/pii.h"

#include <stdio.h>
#include <string.h>

void checkout_order_upsell(struct b4_req *req);

static const char *const upsell_methods[] = {"card", "pix", NULL};

/* The main order as the upsell needs it (columns of load_parent). */
enum parent_col {
	P_STATUS,
	P_METHOD,
	P_OFFER,
	P_CUSTOMER,
	P_AFFILIATION,
	P_AFFILIATE,
	P_NAME,
	P_EMAIL,
	P_PHONE_ENC,
	P_DOCUMENT_ENC,
	P_DOCUMENT_TYPE,
	P_DOCUMENT_BIDX,
	P_TOKEN,
	P_BRAND,
	P_BIN,
	P_LAST4,
	P_FINGERPRINT,
	P_ACQUIRER
};

static struct b4_db_result *load_parent(struct b4_db *db, const char *parent_id)
{
	return b4_db_query(
	    db,
	    "SELECT o.status, o.payment_method, o.offer_id, o.customer_id,"
	    " o.affiliation_id, o.affiliate_id, " B4_ORDER_BUYER_COLS ", c.document_bidx,"
	    " ch.card_token, ch.card_brand, ch.card_bin, ch.card_last4, ch.card_fingerprint,"
	    " ch.acquirer FROM orders o JOIN customers c ON c.id = o.customer_id"
	    " LEFT JOIN charges ch ON ch.order_id = o.id AND ch.status = 'approved'"
	    " WHERE o.id = ? AND o.parent_order_id IS NULL",
	    "s", parent_id);
}

static void copy(char *dst, size_t cap, const struct b4_db_result *res, size_t col)
{
	snprintf(dst, cap, "%s", b4_db_is_null(res, 0, col) ? "" : b4_db_str(res, 0, col));
}

/* The payment of the upsell from the main order's.  0 or -1 after
 * answering. */
static int take_payment(struct checkout_order *o, const struct b4_db_result *res,
			const struct checkout_offer *parent_offer, int method, int64_t installments)
{
	const char *parent_method = b4_db_str(res, 0, P_METHOD);
	const char *parent_status = b4_db_str(res, 0, P_STATUS);

	o->method = method >= 0			     ? upsell_methods[method]
		    : !strcmp(parent_method, "card") ? "card"
						     : "pix";
	if (!strcmp(parent_method, "boleto")) {
		checkout_invalid(o->req, "upsell_not_available", NULL,
				 "boleto orders have no upsell");
		return -1;
	}
	if (!strcmp(o->method, "card")) {
		/* never pix -> card; one click only after a card payment */
		if (strcmp(parent_method, "card") != 0 || !parent_offer->upsell_one_click ||
		    b4_db_is_null(res, 0, P_TOKEN)) {
			checkout_invalid(
			    o->req, "one_click_not_allowed", "payment_method",
			    "one-click card upsell needs a main order paid by card and an upsell"
			    " that allows it");
			return -1;
		}
		if (checkout_card_token_unseal(o, b4_db_str(res, 0, P_TOKEN)) < 0) {
			checkout_invalid(o->req, "one_click_not_allowed", "payment_method",
					 "the card of the main order cannot be charged again");
			return -1;
		}
		copy(o->card_brand, sizeof(o->card_brand), res, P_BRAND);
		copy(o->card_bin, sizeof(o->card_bin), res, P_BIN);
		copy(o->card_last4, sizeof(o->card_last4), res, P_LAST4);
		copy(o->card_fingerprint, sizeof(o->card_fingerprint), res, P_FINGERPRINT);
		copy(o->card_acquirer, sizeof(o->card_acquirer), res, P_ACQUIRER);
		if (installments > o->main.max_installments) {
			checkout_invalid(o->req, "too_many_installments", "installments",
					 "more installments than the offer allows");
			return -1;
		}
	} else if (installments != 1) {
		checkout_invalid(o->req, "installments_not_allowed", "installments",
				 "Pix is paid at once");
		return -1;
	}
	if (strcmp(parent_status, "paid") != 0 &&
	    !(strcmp(parent_method, "pix") == 0 && strcmp(parent_status, "waiting_payment") == 0)) {
		checkout_invalid(o->req, "upsell_not_available", NULL,
				 "the main order is not paid");
		return -1;
	}
	if (!checkout_offer_allows(&o->main, o->method)) {
		checkout_invalid(o->req, "payment_method_not_allowed", "payment_method",
				 "the upsell offer does not accept this payment method");
		return -1;
	}
	o->installments = (int)installments;
	return 0;
}

/* The buyer as the main order has it.  0 or -1 after answering. */
static int take_buyer(struct checkout_order *o, const struct b4_db_result *res)
{
	char *document, *phone = NULL;

	copy(o->customer_id, sizeof(o->customer_id), res, P_CUSTOMER);
	copy(o->affiliation_id, sizeof(o->affiliation_id), res, P_AFFILIATION);
	copy(o->affiliate_id, sizeof(o->affiliate_id), res, P_AFFILIATE);
	copy(o->full_name, sizeof(o->full_name), res, P_NAME);
	copy(o->email, sizeof(o->email), res, P_EMAIL);
	copy(o->document_bidx, sizeof(o->document_bidx), res, P_DOCUMENT_BIDX);
	o->document_type = !strcmp(b4_db_str(res, 0, P_DOCUMENT_TYPE), "cpf") ? B4_BR_DOCUMENT_CPF
									      : B4_BR_DOCUMENT_CNPJ;
	document = b4_pii_decrypt("customers.document_enc", b4_db_str(res, 0, P_DOCUMENT_ENC));
	if (!b4_db_is_null(res, 0, P_PHONE_ENC))
		phone = b4_pii_decrypt("customers.phone_enc", b4_db_str(res, 0, P_PHONE_ENC));
	if (!document || (!b4_db_is_null(res, 0, P_PHONE_ENC) && !phone)) {
		b4_pii_free(document);
		b4_pii_free(phone);
		b4_req_errorf(o->req, 500, "api_error", "internal_error", NULL,
			      "the buyer's data cannot be read");
		return -1;
	}
	snprintf(o->document, sizeof(o->document), "%s", document);
	snprintf(o->phone, sizeof(o->phone), "%s", phone ? phone : "");
	b4_pii_free(document);
	b4_pii_free(phone);
	return 0;
}

/* The affiliate of the main sale earns on the upsell at the upsell
 * product's rate, if that program is open.  0 or -1 after answering. */
static int take_affiliate(struct checkout_order *o)
{
	struct b4_db_result *res;

	if (!o->affiliate_id[0])
		return 0;
	res = b4_db_query(
	    o->req->db,
	    "SELECT COALESCE(a.commission_bps, ?) FROM affiliations a"
	    " WHERE a.product_id = ? AND a.affiliate_id = ? AND a.status = 'approved'",
	    "Iss", o->main.affiliate_commission_bps, o->main.product_id, o->affiliate_id);
	if (!res) {
		b4_req_db_error(o->req);
		return -1;
	}
	if (o->main.affiliate_enabled && b4_db_rows(res) == 1)
		o->affiliate_bps = (int)b4_db_i64(res, 0, 0);
	else
		o->affiliate_id[0] = '\0';
	/* the stored affiliation belongs to the main product */
	o->affiliation_id[0] = '\0';
	b4_db_result_free(res);
	return 0;
}

/* Loads the main order and checks the upsell offer is its upsell, then
 * takes payment, buyer and affiliate.  0 or -1 after answering. */
static int take_parent(struct checkout_order *o, const char *parent_id, const char *code,
		       int method, int64_t installments)
{
	struct checkout_offer parent_offer;
	struct b4_db_result *res = load_parent(o->req->db, parent_id);
	int found, rc = -1;

	if (!res) {
		b4_req_db_error(o->req);
		return -1;
	}
	if (b4_db_rows(res) == 0) {
		checkout_invalid(o->req, "upsell_not_available", NULL,
				 "an upsell follows a main order only");
		goto out_free;
	}
	found =
	    checkout_offer_load(o->req->db, b4_db_str(res, 0, P_OFFER), true, &parent_offer, NULL);
	if (found < 0) {
		b4_req_db_error(o->req);
		goto out_free;
	}
	if (found == 0 || !parent_offer.upsell_offer_id[0] ||
	    checkout_offer_load(o->req->db, parent_offer.upsell_offer_id, true, &o->main,
				&o->partners) != 1 ||
	    strcmp(o->main.code, code) != 0) {
		checkout_invalid(o->req, "not_the_upsell", "offer_code",
				 "this offer is not the order's upsell");
		goto out_free;
	}
	if (take_payment(o, res, &parent_offer, method, installments) < 0 || take_buyer(o, res) < 0)
		goto out_free;
	snprintf(o->parent_order_id, sizeof(o->parent_order_id), "%s", parent_id);
	rc = 0;
out_free:
	b4_db_result_free(res);
	return rc;
}

void checkout_order_upsell(struct b4_req *req)
{
	static const char *const allowed[] = {"offer_code", "installments", "payment_method",
					      "access_token", NULL};
	const cJSON *body = checkout_json_body(req);
	const char *code = NULL, *token = NULL;
	struct checkout_order *o;
	struct b4_error err;
	int64_t installments = 1;
	int method = -1;
	char parent_id[37], scope[64];

	if (!body)
		return;
	token = b4_req_query(req, "access_token");
	if (b4_json_reject_unknown(body, allowed, NULL, &err) < 0 ||
	    b4_json_get_str(body, "offer_code", B4_JSON_REQUIRED, 1, 10, &code, &err) < 0 ||
	    b4_json_get_int(body, "installments", B4_JSON_OPTIONAL, 1, 12, &installments, &err) <
		0 ||
	    b4_json_get_enum(body, "payment_method", B4_JSON_OPTIONAL, upsell_methods, &method,
			     &err) < 0 ||
	    (!token &&
	     b4_json_get_str(body, "access_token", B4_JSON_OPTIONAL, 1, 128, &token, &err) < 0)) {
		b4_req_send_error(req, &err);
		return;
	}
	if (checkout_order_authorize(req, token, parent_id))
		return;
	o = b4_arena_calloc(req->arena, 1, sizeof(*o));
	o->app = req->app;
	o->req = req;
	o->item_type = "upsell";
	snprintf(scope, sizeof(scope), "upsell:%s", parent_id);
	if (checkout_idem_begin(o, scope, body) < 0)
		return;
	if (take_parent(o, parent_id, code, method, installments) < 0 || take_affiliate(o) < 0) {
		checkout_idem_refused(o);
		return;
	}
	if (checkout_order_price(o) < 0) {
		checkout_invalid(req, "invalid_amount", NULL, "the order cannot be priced");
		checkout_idem_refused(o);
		return;
	}
	checkout_order_run(o);
}
