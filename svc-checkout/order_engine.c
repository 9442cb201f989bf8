/* order_engine.c - the money path, as steps over libcommon's domain.
 * Never holds a transaction across the acquirer call:
 *   tx1: the Idempotency-Key claimed with the order it creates
 *        (b4/idempotency.h), the card token claimed for this attempt,
 *        b4_order_create (customer, order waiting_payment, items,
 *        pending charge, splits, coupon use) and the session's order
 *   the acquirers in priority order (b4/charges.h: failover only after a
 *        definite "not charged"; unknown is asked by reference), with
 *        Idempotency-Key = the charge id, so a retry never charges twice
 *   tx2: b4_charge_settle (the order moved forward, its jobs enqueued) and
 *        the answer stored with the key (replayed with Idempotent-Replayed)
 * Two durable commits per order.  The key is not read first: a key already
 * taken makes tx1 roll back and answers as b4_idem_claim says (replay, 409,
 * 422, or a stale claim taken over, then tx1 again), and a request refused
 * before tx1 answers as an earlier request with its key did, if any
 * (checkout_idem_refused), so a retry gets its first answer whatever
 * changed since.  A crash between tx1 and tx2 leaves the
 * order waiting_payment and the key claimed with it; the order.expire job
 * settles it. */
#include "order_engine.h"
#include "b4/crypto.h"
#include "b4/db.h"
#include "b4/charges.h"
#include "b4/log.h"
#include "b4/orders.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A claim whose holder died after writing its order: the order as it is
 * now (reconciliation settles it). */
static int show_order(struct b4_req *req, const char *order_id)
{
	cJSON *order = b4_order_json(req->db, order_id, NULL);

	if (!order)
		return -1;
	b4_req_send_json(req, 201, order);
	return 0;
}

int checkout_idem_begin(struct checkout_order *o, const char *scope, const cJSON *body)
{
	if (b4_idem_prepare(o->req, &o->idem, scope, body, true) != 0)
		return -1;
	o->idem.show = show_order;
	return 0;
}

void checkout_idem_refused(struct checkout_order *o)
{
	/* b4_idem_lookup answers over this request's answer, or leaves it */
	if (o->idem.key)
		(void)b4_idem_lookup(o->req, &o->idem);
}

/* ---- tx1 ---------------------------------------------------------------- */

struct tx1_arg {
	struct checkout_order *o;
	bool refuse;	 /* antifraud: write the order refused, no charge */
	bool claimed;	 /* the key was claimed before tx1 (a stale claim taken over) */
	bool key_taken;	 /* out: another request holds the key */
	bool token_used; /* out: another attempt claimed the card token */
	enum b4_order_refusal refusal;
};

/* The order as the domain writes it. */
static void order_new(const struct checkout_order *o, bool refuse, struct b4_order_new *n)
{
	memset(n, 0, sizeof(*n));
	n->order_id = o->order_id;
	n->charge_id = o->charge_id;
	n->access_token_hash = o->access_token_hash;
	n->offer_id = o->main.id;
	n->product_id = o->main.product_id;
	n->producer_id = o->main.producer_id;
	n->guarantee_days = o->main.guarantee_days;
	n->product_name = o->main.product_name;
	n->partners = &o->partners;
	n->items[n->nitems++] = (struct b4_order_item_new){
	    o->main.id, o->item_type, o->main.price_cents, o->main.code, o->main.name};
	for (size_t k = 0; k < o->nbumps && n->nitems < B4_ORDER_MAX_ITEMS; k++)
		n->items[n->nitems++] = (struct b4_order_item_new){
		    o->bumps[k].id, "order_bump", o->bumps[k].price_cents, o->bumps[k].code,
		    o->bumps[k].name};
	n->method = o->method;
	n->installments = o->installments;
	n->subtotal_cents = o->subtotal_cents;
	n->discount_cents = o->discount_cents;
	n->interest_cents = o->interest_cents;
	n->total_cents = o->total_cents;
	snprintf(n->customer_id, sizeof(n->customer_id), "%s", o->customer_id);
	n->full_name = o->full_name;
	n->email = o->email;
	n->document = o->document;
	n->document_bidx = o->document_bidx;
	n->document_is_cpf = o->document_type == B4_BR_DOCUMENT_CPF;
	n->phone = o->phone;
	n->card_token = o->card_token_sealed; /* charges keep it sealed */
	n->card_acquirer = o->card_acquirer;
	n->card_brand = o->card_brand;
	n->card_bin = o->card_bin;
	n->card_last4 = o->card_last4;
	n->card_fingerprint = o->card_fingerprint;
	n->acquirer = o->app->acquirers.list[0].name;
	n->affiliation_id = o->affiliation_id;
	n->affiliate_id = o->affiliate_id;
	n->affiliate_bps = o->affiliate_bps;
	n->coupon_id = o->coupon_id;
	n->coupon_once = o->coupon_once;
	n->session_id = o->session_id;
	n->parent_order_id = o->parent_order_id;
	n->platform_fee_bp = (int)o->app->platform_fee_bp;
	n->platform_fee_cents = o->app->platform_fee_cents;
	n->refuse = refuse;
	n->fraud_score = o->fraud_score;
	n->fraud_reasons = o->fraud_reasons;
	n->client_ip = o->req->client_ip;
}

/* The key and the card token, claimed first: a second request with either
 * stops here.  0, or -1 (arg says why). */
static int tx1_claims(struct b4_db *db, struct tx1_arg *arg)
{
	struct checkout_order *o = arg->o;
	const char *resource = arg->refuse ? NULL : o->order_id;
	int rc;

	if (arg->claimed)
		rc = arg->refuse ? 0 : b4_idem_set_resource(db, &o->idem, resource);
	else
		rc = b4_idem_claim_in_tx(db, &o->idem, resource);
	if (rc != 0) {
		arg->key_taken = rc == 1;
		return -1;
	}
	rc = checkout_card_token_claim(db, o);
	arg->token_used = rc == 0;
	return rc == 1 ? 0 : -1;
}

static int tx1_body(struct b4_db *db, void *varg)
{
	struct tx1_arg *arg = varg;
	struct checkout_order *o = arg->o;
	struct b4_order_new n;

	arg->key_taken = arg->token_used = false;
	if (tx1_claims(db, arg) < 0)
		return -1;
	order_new(o, arg->refuse, &n);
	if (b4_order_create(db, &n, &arg->refusal) < 0)
		return -1;
	o->known = n.known;
	if (o->session_id[0] &&
	    b4_db_exec(db, "UPDATE checkout_sessions SET order_id = ? WHERE id = ?", "ss",
		       o->order_id, o->session_id) < 0)
		return -1;
	return 0;
}

/* tx1 with its database error logged before the rollback clears it. */
static int tx1_run(struct b4_db *db, void *varg)
{
	struct tx1_arg *arg = varg;
	int rc = tx1_body(db, varg);

	if (rc < 0 && arg->refusal == B4_ORDER_REFUSAL_NONE && !arg->key_taken && !arg->token_used)
		b4_log_error("order not written", B4_LS("order_id", arg->o->order_id),
			     B4_LI("errno", b4_db_errno(db)), B4_LS("error", b4_db_error(db)));
	return rc;
}

/* tx1, and again once when the key was taken by a stale claim this
 * request took over.  0 written; 1 answered (the key's owner's answer);
 * -1 not written (t1 says why). */
static int tx1_write(struct checkout_order *o, struct tx1_arg *t1)
{
	int rc;

	if (b4_db_tx(o->req->db, tx1_run, t1) == 0)
		return 0;
	if (!t1->key_taken)
		return -1;
	rc = b4_idem_claim(o->req, &o->idem);
	if (rc != 0)
		return 1;
	t1->claimed = true;
	if (b4_db_tx(o->req->db, tx1_run, t1) == 0)
		return 0;
	b4_idem_release(o->req->db, &o->idem);
	return -1;
}

/* Answers a refused tx1. */
static void tx1_refusal(struct checkout_order *o, enum b4_order_refusal refusal)
{
	switch (refusal) {
	case B4_ORDER_COUPON_USED_UP:
		b4_req_errorf(o->req, 422, "invalid_request_error", "coupon_used_up", "coupon",
			      "this coupon has no uses left");
		return;
	case B4_ORDER_COUPON_ALREADY_USED:
		b4_req_errorf(o->req, 422, "invalid_request_error", "already_used_by_customer",
			      "coupon", "the coupon cannot be used: already_used_by_customer");
		return;
	case B4_ORDER_AMOUNT_TOO_SMALL:
		b4_req_errorf(o->req, 422, "invalid_request_error", "amount_too_small", NULL,
			      "the amount does not cover the platform fee");
		return;
	case B4_ORDER_UPSELL_TAKEN:
		b4_req_errorf(o->req, 409, "conflict", "upsell_already_bought", NULL,
			      "this order already has its upsell");
		return;
	case B4_ORDER_REFUSAL_NONE:
		break;
	}
	b4_req_db_error(o->req);
}

/* Answers tx1 not written (a taken key was answered by tx1_write). */
static void tx1_failed(struct checkout_order *o, const struct tx1_arg *t1)
{
	if (t1->token_used)
		checkout_card_token_refuse_used(o->req);
	else
		tx1_refusal(o, t1->refusal);
}

/* ---- the acquirer ---------------------------------------------------------- */

static char *charge_request(struct checkout_order *o, const struct b4_acquirer *acq)
{
	cJSON *body = cJSON_CreateObject(), *customer;
	char *text, callback[512];

	cJSON_AddStringToObject(body, "reference", o->order_id);
	cJSON_AddNumberToObject(body, "amount_cents", (double)o->total_cents);
	cJSON_AddStringToObject(body, "method", o->method);
	cJSON_AddNumberToObject(body, "installments", o->installments);
	if (o->card_token[0])
		cJSON_AddStringToObject(body, "card_token", o->card_token);
	customer = cJSON_AddObjectToObject(body, "customer");
	cJSON_AddStringToObject(customer, "name", o->full_name);
	cJSON_AddStringToObject(customer, "document", o->document);
	cJSON_AddStringToObject(customer, "email", o->email);
	cJSON_AddStringToObject(body, "description", o->main.name);
	if (!strcmp(o->method, "pix"))
		cJSON_AddNumberToObject(body, "expires_in_seconds",
					(double)o->app->pix_expires_seconds);
	else if (!strcmp(o->method, "boleto"))
		cJSON_AddNumberToObject(body, "expires_in_seconds",
					(double)(o->app->boleto_days * 86400));
	if (o->app->callback_url[0]) {
		snprintf(callback, sizeof(callback), "%s/v1/acquirers/%s/callbacks",
			 o->app->callback_url, acq->name);
		cJSON_AddStringToObject(body, "callback_url", callback);
	}
	text = cJSON_PrintUnformatted(body);
	cJSON_Delete(body);
	return text;
}

/* Can acq take this payment?  A card token belongs to the acquirer that
 * issued it; Pix and boleto go anywhere. */
static bool acquirer_can_charge(const struct checkout_order *o, const struct b4_acquirer *acq)
{
	return !o->card_token[0] || !o->card_acquirer[0] || !strcmp(o->card_acquirer, acq->name);
}

/* Calls the acquirers in priority order, moving on only after a definite
 * "nothing happened there" (unavailable).  Fills r (answer, acquirer,
 * *charge); all unavailable -> unavailable. */
static void call_acquirers(struct checkout_order *o, struct b4_charge_result *r, cJSON **charge)
{
	const struct b4_acquirer *order[B4_ACQUIRERS_MAX];
	int n = b4_acquirers_priority(o->req->db, &o->app->acquirers, order);

	*charge = NULL;
	r->answer = B4_ANSWER_UNAVAILABLE;
	for (int k = 0; k < n && r->answer == B4_ANSWER_UNAVAILABLE; k++) {
		char *body;

		if (!acquirer_can_charge(o, order[k]))
			continue;
		body = charge_request(o, order[k]);
		if (!body) {
			r->answer = B4_ANSWER_UNKNOWN;
			break;
		}
		cJSON_Delete(*charge);
		r->answer = b4_charge_request(&o->app->acquirers, order[k], o->charge_id,
					      o->order_id, body, o->method, charge);
		r->acquirer = order[k]->name;
		free(body);
	}
	r->charge = *charge;
}

/* ---- tx2 ---------------------------------------------------------------- */

struct tx2_arg {
	struct checkout_order *o;
	struct b4_charge_result *r;
	int status;  /* out: the answer */
	cJSON *body; /* out */
};

/* The answer for the charge's outcome: the order as settled (its event's
 * view when it had one) or the error.  NULL on a database error. */
static cJSON *outcome_body(struct checkout_order *o, struct b4_charge_result *r, int *status)
{
	const cJSON *code = cJSON_GetObjectItemCaseSensitive(r->charge, "decline_code");
	cJSON *body;

	if (r->answer == B4_ANSWER_DECLINED) {
		*status = 402;
		return checkout_order_error_body(o->req, "card_error",
						 cJSON_IsString(code) ? code->valuestring
								      : "card_declined",
						 "the card was declined", o->order_id);
	}
	if (r->answer == B4_ANSWER_UNAVAILABLE) {
		*status = 502;
		return checkout_order_error_body(o->req, "api_error", "acquirer_unavailable",
						 "no payment provider could take the payment",
						 o->order_id);
	}
	*status = 201;
	if (!r->view)
		return b4_order_json(o->req->db, o->order_id, o->access_token);
	body = r->view;
	r->view = NULL;
	cJSON_AddStringToObject(body, "access_token", o->access_token);
	return body;
}

/* Settles the charge and stores the answer with the key, in one commit. */
static int tx2_body(struct b4_db *db, void *varg)
{
	struct tx2_arg *arg = varg;

	arg->r->known = &arg->o->known;
	if (b4_charge_settle(db, arg->r) < 0)
		return -1;
	cJSON_Delete(arg->body); /* a retried transaction */
	arg->body = outcome_body(arg->o, arg->r, &arg->status);
	if (!arg->body)
		return -1;
	return b4_idem_store_json(db, &arg->o->idem, arg->status, arg->body, arg->o->order_id);
}

/* New ids and the access token of the order.  0, or -1 after answering. */
static int order_ids(struct checkout_order *o)
{
	unsigned char digest[32];

	if (b4_crypto_uuid7(o->order_id) < 0 || b4_crypto_uuid7(o->charge_id) < 0 ||
	    b4_crypto_token_hex(o->access_token, 32) < 0 ||
	    b4_crypto_sha256(o->access_token, 64, digest) < 0) {
		b4_req_errorf(o->req, 500, "api_error", "internal_error", NULL, "no randomness");
		return -1;
	}
	b4_crypto_hex_encode(digest, 32, o->access_token_hash, sizeof(o->access_token_hash));
	if (!o->app->acquirers.secret[0]) {
		b4_req_errorf(o->req, 503, "api_error", "acquirer_not_configured", NULL,
			      "payments are not configured");
		return -1;
	}
	return 0;
}

void checkout_order_run(struct checkout_order *o)
{
	struct tx1_arg t1 = {o, false, false, false, false, B4_ORDER_REFUSAL_NONE};
	struct b4_charge_result r;
	struct tx2_arg t2 = {o, &r, 0, NULL};
	cJSON *charge = NULL, *body;
	int rc;

	memset(&r, 0, sizeof(r));
	t1.refuse = o->fraud_score >= o->app->fraud_threshold;
	if (order_ids(o) < 0) {
		checkout_idem_refused(o);
		goto out_free;
	}
	rc = tx1_write(o, &t1);
	if (rc != 1) /* not a replay: an order attempted */
		checkout_metric_started(o->method);
	if (rc != 0) {
		if (rc < 0)
			tx1_failed(o, &t1);
		goto out_free;
	}
	if (t1.refuse) {
		b4_log_warn("order refused by antifraud", B4_LS("order_id", o->order_id),
			    B4_LI("score", o->fraud_score));
		body = checkout_order_error_body(o->req, "card_error", "fraud_suspected",
						 "the payment was refused by antifraud checks",
						 o->order_id);
		b4_idem_finish(o->req, &o->idem, 402, body, o->order_id);
		goto out_free;
	}
	r.order_id = o->order_id;
	r.charge_id = o->charge_id;
	r.method = o->method;
	r.expires_in_seconds = !strcmp(o->method, "pix") ? o->app->pix_expires_seconds
							 : (o->app->boleto_days + 1) * 86400;
	call_acquirers(o, &r, &charge);
	if (b4_db_tx(o->req->db, tx2_body, &t2) < 0) {
		/* the order stays waiting_payment; the key stays claimed with
		 * the order id, so a retry shows the order instead of paying
		 * again */
		b4_log_error("cannot record the acquirer result", B4_LS("order_id", o->order_id),
			     B4_LS("error", b4_db_error(o->req->db)));
		b4_req_db_error(o->req);
		goto out_free;
	}
	if (r.paid)
		checkout_metric_succeeded(o->method, o->total_cents);
	b4_req_send_json(o->req, t2.status, t2.body);
	t2.body = NULL;
out_free:
	cJSON_Delete(t2.body);
	cJSON_Delete(r.view);
	cJSON_Delete(charge);
	free(o->fraud_reasons);
	o->fraud_reasons = NULL;
}
