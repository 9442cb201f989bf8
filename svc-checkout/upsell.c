/* upsell.c - POST /v1/orders/:id/upsell: the offer shown after a sale.
 * card -> card (one click on the same card token, only when the main order
 * was paid by card and the upsell allows it), card -> pix, pix -> pix;
 * never pix -> card. */
#include "order_engine.h"
#include "b4/db.h"
#include "b4/pii.h"

#include <stdio.h>
#include <string.h>

void checkout_order_upsell(struct b4_req *req);

void checkout_order_upsell(struct b4_req *req)
{
	static const char *const allowed[] = {"offer_code", "installments", "payment_method",
					      "access_token", NULL};
	static const char *const methods[] = {"card", "pix", NULL};
	const cJSON *body = checkout_json_body(req);
	const char *code = NULL, *token = NULL, *parent_method, *parent_status;
	struct checkout_order *o;
	struct checkout_offer parent_offer;
	struct b4_db_result *res;
	struct b4_error err;
	int64_t installments = 1;
	int method = -1, found;
	char parent_id[37], scope[64];
	char *document = NULL;

	if (!body)
		return;
	token = b4_req_query(req, "access_token");
	if (b4_json_reject_unknown(body, allowed, NULL, &err) < 0 ||
	    b4_json_get_str(body, "offer_code", B4_JSON_REQUIRED, 1, 10, &code, &err) < 0 ||
	    b4_json_get_int(body, "installments", B4_JSON_OPTIONAL, 1, 12, &installments, &err) <
		0 ||
	    b4_json_get_enum(body, "payment_method", B4_JSON_OPTIONAL, methods, &method, &err) <
		0 ||
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
	if (checkout_idem_prepare(o, scope, body) < 0 || checkout_idem_check(o) != 0)
		return;
	res = b4_db_query(
	    req->db,
	    "SELECT o.status, o.payment_method, o.offer_id, o.customer_id,"
	    " o.affiliation_id, o.affiliate_id, c.full_name, c.email, c.document_enc,"
	    " c.document_type, c.document_bidx, ch.card_token, ch.card_brand, ch.card_bin,"
	    " ch.card_last4, ch.card_fingerprint"
	    " FROM orders o JOIN customers c ON c.id = o.customer_id"
	    " LEFT JOIN charges ch ON ch.order_id = o.id AND ch.status = 'approved'"
	    " WHERE o.id = ? AND o.parent_order_id IS NULL",
	    "s", parent_id);
	if (!res)
		goto out_db_error;
	if (b4_db_rows(res) == 0) {
		b4_db_result_free(res);
		checkout_invalid(req, "upsell_not_available", NULL,
				 "an upsell follows a main order only");
		return;
	}
	parent_status = b4_db_str(res, 0, 0);
	parent_method = b4_db_str(res, 0, 1);
	found = checkout_offer_load(req->db, b4_db_str(res, 0, 2), true, &parent_offer);
	if (found < 0)
		goto out_free_res;
	if (found == 0 || !parent_offer.upsell_offer_id[0] ||
	    checkout_offer_load(req->db, parent_offer.upsell_offer_id, true, &o->main) != 1 ||
	    strcmp(o->main.code, code) != 0) {
		b4_db_result_free(res);
		checkout_invalid(req, "not_the_upsell", "offer_code",
				 "this offer is not the order's upsell");
		return;
	}
	/* a literal, not a pointer into res (freed below) */
	o->method = method >= 0 ? methods[method] : !strcmp(parent_method, "card") ? "card" : "pix";
	if (!strcmp(parent_method, "boleto")) {
		b4_db_result_free(res);
		checkout_invalid(req, "upsell_not_available", NULL, "boleto orders have no upsell");
		return;
	}
	if (!strcmp(o->method, "card")) {
		/* never pix -> card; one click only after a card payment */
		if (strcmp(parent_method, "card") != 0 || !parent_offer.upsell_one_click ||
		    b4_db_is_null(res, 0, 11)) {
			b4_db_result_free(res);
			checkout_invalid(
			    req, "one_click_not_allowed", "payment_method",
			    "one-click card upsell needs a main order paid by card and an upsell"
			    " that allows it");
			return;
		}
		if (checkout_card_token_unseal(o, b4_db_str(res, 0, 11)) < 0) {
			b4_db_result_free(res);
			checkout_invalid(req, "one_click_not_allowed", "payment_method",
					 "the card of the main order cannot be charged again");
			return;
		}
		snprintf(o->card_brand, sizeof(o->card_brand), "%s", b4_db_str(res, 0, 12));
		snprintf(o->card_bin, sizeof(o->card_bin), "%s", b4_db_str(res, 0, 13));
		snprintf(o->card_last4, sizeof(o->card_last4), "%s", b4_db_str(res, 0, 14));
		snprintf(o->card_fingerprint, sizeof(o->card_fingerprint), "%s",
			 b4_db_str(res, 0, 15));
		if (installments > o->main.max_installments) {
			b4_db_result_free(res);
			checkout_invalid(req, "too_many_installments", "installments",
					 "more installments than the offer allows");
			return;
		}
	} else if (installments != 1) {
		b4_db_result_free(res);
		checkout_invalid(req, "installments_not_allowed", "installments",
				 "Pix is paid at once");
		return;
	}
	if (strcmp(parent_status, "paid") != 0 &&
	    !(strcmp(parent_method, "pix") == 0 && strcmp(parent_status, "waiting_payment") == 0)) {
		b4_db_result_free(res);
		checkout_invalid(req, "upsell_not_available", NULL, "the main order is not paid");
		return;
	}
	if (!checkout_offer_allows(&o->main, o->method)) {
		b4_db_result_free(res);
		checkout_invalid(req, "payment_method_not_allowed", "payment_method",
				 "the upsell offer does not accept this payment method");
		return;
	}
	o->installments = (int)installments;
	snprintf(o->parent_order_id, sizeof(o->parent_order_id), "%s", parent_id);
	snprintf(o->customer_id, sizeof(o->customer_id), "%s", b4_db_str(res, 0, 3));
	snprintf(o->affiliation_id, sizeof(o->affiliation_id), "%s", b4_db_str(res, 0, 4));
	snprintf(o->affiliate_id, sizeof(o->affiliate_id), "%s", b4_db_str(res, 0, 5));
	snprintf(o->full_name, sizeof(o->full_name), "%s", b4_db_str(res, 0, 6));
	snprintf(o->email, sizeof(o->email), "%s", b4_db_str(res, 0, 7));
	snprintf(o->document_bidx, sizeof(o->document_bidx), "%s", b4_db_str(res, 0, 10));
	o->document_type =
	    !strcmp(b4_db_str(res, 0, 9), "cpf") ? B4_BR_DOCUMENT_CPF : B4_BR_DOCUMENT_CNPJ;
	document = b4_pii_decrypt("customers.document_enc", b4_db_str(res, 0, 8));
	b4_db_result_free(res);
	if (!document) {
		b4_req_errorf(req, 500, "api_error", "internal_error", NULL,
			      "the buyer's data cannot be read");
		return;
	}
	snprintf(o->document, sizeof(o->document), "%s", document);
	b4_pii_free(document);
	/* the affiliate of the main sale earns on the upsell at the upsell
	 * product's rate, if that program is open */
	if (o->affiliate_id[0]) {
		res = b4_db_query(
		    req->db,
		    "SELECT COALESCE(a.commission_bps, ?) FROM affiliations a"
		    " WHERE a.product_id = ? AND a.affiliate_id = ? AND a.status = 'approved'",
		    "Iss", o->main.affiliate_commission_bps, o->main.product_id, o->affiliate_id);
		if (!res)
			goto out_db_error;
		if (o->main.affiliate_enabled && b4_db_rows(res) == 1) {
			o->affiliate_bps = (int)b4_db_i64(res, 0, 0);
		} else {
			o->affiliate_id[0] = '\0';
			o->affiliation_id[0] = '\0';
		}
		/* the stored affiliation belongs to the main product */
		o->affiliation_id[0] = '\0';
		b4_db_result_free(res);
	}
	/* one upsell per main order */
	res = b4_db_query(req->db,
			  "SELECT 1 FROM orders WHERE parent_order_id = ?"
			  " AND status IN ('waiting_payment','paid','refund_requested','disputed')",
			  "s", parent_id);
	if (!res)
		goto out_db_error;
	found = (int)b4_db_rows(res);
	b4_db_result_free(res);
	if (found) {
		b4_req_errorf(req, 409, "conflict", "upsell_already_bought", NULL,
			      "this order already has its upsell");
		return;
	}
	if (checkout_order_price(o) < 0) {
		checkout_invalid(req, "invalid_amount", NULL, "the order cannot be priced");
		return;
	}
	checkout_order_run(o);
	return;
out_free_res:
	b4_db_result_free(res);
out_db_error:
	b4_req_db_error(req);
}
