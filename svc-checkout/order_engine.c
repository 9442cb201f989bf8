/* order_engine.c - the money path.  Never holds a transaction across the
 * acquirer call:
 *   claim the Idempotency-Key (INSERT; duplicate key = someone else has it)
 *   tx1: customer, order (waiting_payment), items, charge (pending), splits
 *   acquirer call with Idempotency-Key = the charge id (a retry after a
 *        timeout cannot charge twice; on a timeout, look up by reference)
 *   tx2: the result, the order moved forward only from waiting_payment, jobs
 *   store the response with the key (replayed with Idempotent-Replayed).
 * A crash between tx1 and tx2 leaves the order waiting_payment; the
 * order.expire job settles it. */
#include "order_engine.h"
#include "b4/crypto.h"
#include "b4/db.h"
#include "b4/log.h"
#include "b4/money.h"
#include "b4/pii.h"
#include "b4/charges.h"
#include "b4/jobs.h"
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
	return b4_idem_lookup(o->req, &o->idem) == 0 ? 0 : -1;
}

/* ---- tx1 ---------------------------------------------------------------- */

enum tx1_failure {
	TX1_OK,
	TX1_DB,
	TX1_COUPON_USED_UP,
	TX1_COUPON_ALREADY_USED,
	TX1_SPLIT,
	TX1_UPSELL_TAKEN
};

struct tx1_arg {
	struct checkout_order *o;
	bool refuse; /* antifraud: write the order refused, no charge */
	enum tx1_failure failure;
};

/* Inserts a row keyed by a new UUIDv7: sql binds (id, order_id, a, b, cents). */
static int insert_with_id(struct b4_db *db, const char *sql, const char *order_id, const char *a,
			  const char *b, int64_t cents)
{
	char id[37];

	if (b4_crypto_uuid7(id) < 0)
		return -1;
	return b4_db_exec(db, sql, "ssssi", id, order_id, a, b, cents) < 0 ? -1 : 0;
}

static int insert_split(struct b4_db *db, const char *order_id, const char *party,
			const char *user_id, int64_t amount_cents)
{
	return insert_with_id(db,
			      "INSERT INTO splits (id, order_id, party, user_id, amount_cents)"
			      " VALUES (?, ?, ?, ?, ?)",
			      order_id, party, user_id, amount_cents);
}

/* Splits the price after discounts: platform -> affiliate -> co-producers
 * -> producer.  Installment interest is not commissionable: it goes to the
 * platform's line, which carries the financing cost. */
static int write_splits(struct b4_db *db, struct checkout_order *o, enum tx1_failure *failure)
{
	struct b4_split_part parts[B4_MONEY_MAX_SPLIT_PARTS];
	int cop_bp[B4_MONEY_MAX_COPRODUCERS];
	struct b4_split_config cfg;
	struct b4_db_result *cops;
	size_t nparts = 0, ncops;
	int rc = -1;

	cops = b4_db_query(db,
			   "SELECT user_id, share_bps FROM coproducers WHERE product_id = ?"
			   " AND starts_at <= UTC_TIMESTAMP(6)"
			   " AND (ends_at IS NULL OR ends_at > UTC_TIMESTAMP(6)) ORDER BY id",
			   "s", o->main.product_id);
	if (!cops)
		return -1;
	ncops = b4_db_rows(cops);
	if (ncops > B4_MONEY_MAX_COPRODUCERS)
		ncops = B4_MONEY_MAX_COPRODUCERS;
	for (size_t k = 0; k < ncops; k++)
		cop_bp[k] = (int)b4_db_i64(cops, k, 1);
	memset(&cfg, 0, sizeof(cfg));
	cfg.platform_fee_bp = (int)o->app->platform_fee_bp;
	cfg.platform_fixed_cents = o->app->platform_fee_cents;
	cfg.has_affiliate = o->affiliate_id[0] != '\0';
	cfg.affiliate_bp = o->affiliate_bps;
	cfg.coproducer_bp = cop_bp;
	cfg.coproducer_count = ncops;
	if (b4_money_split(o->total_cents - o->interest_cents, &cfg, parts,
			   B4_MONEY_MAX_SPLIT_PARTS, &nparts) < 0 ||
	    parts[0].role != B4_SPLIT_PLATFORM ||
	    b4_money_add(parts[0].amount_cents, o->interest_cents, &parts[0].amount_cents) < 0) {
		*failure = TX1_SPLIT;
		goto out_free_cops;
	}
	for (size_t k = 0; k < nparts; k++) {
		const char *party = "producer", *user = o->main.producer_id;
		switch (parts[k].role) {
		case B4_SPLIT_PLATFORM:
			party = "platform";
			user = NULL;
			break;
		case B4_SPLIT_AFFILIATE:
			party = "affiliate";
			user = o->affiliate_id;
			break;
		case B4_SPLIT_COPRODUCER:
			party = "coproducer";
			user = b4_db_str(cops, (size_t)parts[k].party, 0);
			break;
		case B4_SPLIT_PRODUCER:
			break;
		}
		if (insert_split(db, o->order_id, party, user, parts[k].amount_cents) < 0)
			goto out_free_cops;
	}
	rc = 0;
out_free_cops:
	b4_db_result_free(cops);
	return rc;
}

/* The buyer's document and phone, encrypted once for the customer row and
 * the order's snapshot. */
struct sealed_buyer {
	char *document_enc;
	char *phone_enc; /* NULL without a phone */
};

static int seal_buyer(const struct checkout_order *o, struct sealed_buyer *b)
{
	b->document_enc = b4_pii_encrypt("customers.document_enc", o->document);
	b->phone_enc = o->phone[0] ? b4_pii_encrypt("customers.phone_enc", o->phone) : NULL;
	return b->document_enc && (!o->phone[0] || b->phone_enc) ? 0 : -1;
}

static void sealed_buyer_cleanup(struct sealed_buyer *b)
{
	free(b->document_enc);
	free(b->phone_enc);
}

/* The customer row (one per document): created, or brought up to date.
 * Orders keep their own snapshot, so this never changes an earlier sale. */
static int upsert_customer(struct b4_db *db, struct checkout_order *o, const struct sealed_buyer *b)
{
	struct b4_db_result *res;
	char id[37];
	int rc = -1;

	if (b4_crypto_uuid7(id) < 0)
		return -1;
	if (b4_db_exec(
		db,
		"INSERT INTO customers (id, email, full_name, document_enc, document_bidx,"
		" document_type, phone_enc) VALUES (?, ?, ?, ?, ?, ?, ?)"
		" ON DUPLICATE KEY UPDATE email = VALUES(email), full_name = VALUES(full_name),"
		" phone_enc = COALESCE(VALUES(phone_enc), phone_enc)",
		"sssssss", id, o->email, o->full_name, b->document_enc, o->document_bidx,
		o->document_type == B4_BR_DOCUMENT_CPF ? "cpf" : "cnpj", b->phone_enc) < 0)
		return -1;
	res = b4_db_query(db, "SELECT id FROM customers WHERE document_bidx = ?", "s",
			  o->document_bidx);
	if (!res)
		return -1;
	if (b4_db_rows(res) == 1) {
		snprintf(o->customer_id, sizeof(o->customer_id), "%s", b4_db_str(res, 0, 0));
		rc = 0;
	}
	b4_db_result_free(res);
	return rc;
}

static int insert_item(struct b4_db *db, const char *order_id, const char *offer_id,
		       const char *type, int64_t price)
{
	return insert_with_id(db,
			      "INSERT INTO order_items (id, order_id, offer_id, type, price_cents)"
			      " VALUES (?, ?, ?, ?, ?)",
			      order_id, offer_id, type, price);
}

/* The order row with its buyer snapshot.  A second live upsell of one
 * parent order hits uq_orders_live_upsell: TX1_UPSELL_TAKEN. */
static int insert_order(struct b4_db *db, struct tx1_arg *arg, const struct sealed_buyer *b)
{
	struct checkout_order *o = arg->o;

	if (b4_db_exec(
		db,
		"INSERT INTO orders (id, customer_id, buyer_name, buyer_email, buyer_phone_enc,"
		" buyer_document_enc, buyer_document_type, offer_id, product_id, producer_id,"
		" affiliation_id, affiliate_id, coupon_id, session_id, parent_order_id,"
		" live_upsell_parent, status, payment_method, installments, subtotal_cents,"
		" discount_cents, interest_cents, total_cents, access_token_hash, fraud_score,"
		" fraud_reasons, client_ip) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?,"
		" ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
		"ssssssssssssssssssIiiiisIss", o->order_id, o->customer_id, o->full_name, o->email,
		b->phone_enc, b->document_enc,
		o->document_type == B4_BR_DOCUMENT_CPF ? "cpf" : "cnpj", o->main.id,
		o->main.product_id, o->main.producer_id,
		o->affiliation_id[0] ? o->affiliation_id : NULL,
		o->affiliate_id[0] ? o->affiliate_id : NULL, o->coupon_id[0] ? o->coupon_id : NULL,
		o->session_id[0] ? o->session_id : NULL,
		o->parent_order_id[0] ? o->parent_order_id : NULL,
		o->parent_order_id[0] && !arg->refuse ? o->parent_order_id : NULL,
		arg->refuse ? "refused" : "waiting_payment", o->method, o->installments,
		o->subtotal_cents, o->discount_cents, o->interest_cents, o->total_cents,
		o->access_token_hash, o->fraud_score, o->fraud_reasons, o->req->client_ip) >= 0)
		return 0;
	if (o->parent_order_id[0] && b4_db_is_duplicate(db))
		arg->failure = TX1_UPSELL_TAKEN;
	return -1;
}

/* The coupon's use, unless the order is refused at once. */
static int take_coupon(struct b4_db *db, struct tx1_arg *arg)
{
	struct checkout_order *o = arg->o;
	int taken;

	if (!o->coupon_id[0] || arg->refuse)
		return 0;
	taken = b4_order_coupon_take(db, o->coupon_id, o->order_id, o->document_bidx, o->email);
	if (taken == 1)
		return 0;
	if (taken == 0)
		arg->failure = TX1_COUPON_USED_UP;
	else if (taken == 2)
		arg->failure = TX1_COUPON_ALREADY_USED;
	return -1;
}

static int insert_charge(struct b4_db *db, const struct checkout_order *o)
{
	const struct b4_acquirer *first = &o->app->acquirers.list[0];

	return b4_db_exec(
		   db,
		   "INSERT INTO charges (id, order_id, acquirer, method, status, amount_cents,"
		   " installments, card_brand, card_bin, card_last4, card_fingerprint, card_token)"
		   " VALUES (?, ?, ?, ?, 'pending', ?, ?, ?, ?, ?, ?, ?)",
		   "ssssiIsssss", o->charge_id, o->order_id,
		   o->card_acquirer[0] ? o->card_acquirer : first->name, o->method, o->total_cents,
		   o->installments, o->card_brand[0] ? o->card_brand : NULL,
		   o->card_bin[0] ? o->card_bin : NULL, o->card_last4[0] ? o->card_last4 : NULL,
		   o->card_fingerprint[0] ? o->card_fingerprint : NULL,
		   o->card_token[0] ? o->card_token : NULL) < 0
		   ? -1
		   : 0;
}

static int tx1_body(struct b4_db *db, void *varg)
{
	struct tx1_arg *arg = varg;
	struct checkout_order *o = arg->o;
	struct sealed_buyer sealed = {NULL, NULL};
	int rc = -1;

	arg->failure = TX1_DB;
	if (seal_buyer(o, &sealed) < 0)
		goto out_free;
	if (!o->parent_order_id[0] && upsert_customer(db, o, &sealed) < 0)
		goto out_free;
	if (take_coupon(db, arg) < 0 || insert_order(db, arg, &sealed) < 0)
		goto out_free;
	if (insert_item(db, o->order_id, o->main.id, o->item_type, o->main.price_cents) < 0)
		goto out_free;
	for (size_t k = 0; k < o->nbumps; k++)
		if (insert_item(db, o->order_id, o->bumps[k].id, "order_bump",
				o->bumps[k].price_cents) < 0)
			goto out_free;
	if (o->session_id[0] &&
	    b4_db_exec(db, "UPDATE checkout_sessions SET order_id = ? WHERE id = ?", "ss",
		       o->order_id, o->session_id) < 0)
		goto out_free;
	if (arg->refuse) {
		rc = b4_job_order_event(db, "refused-payment", o->order_id, NULL);
		goto out_free;
	}
	if (insert_charge(db, o) < 0 || write_splits(db, o, &arg->failure) < 0 ||
	    b4_idem_set_resource(db, &o->idem, o->order_id) < 0)
		goto out_free;
	arg->failure = TX1_OK;
	rc = 0;
out_free:
	sealed_buyer_cleanup(&sealed);
	return rc;
}

/* tx1 with its database error logged before the rollback clears it. */
static int tx1_run(struct b4_db *db, void *varg)
{
	struct tx1_arg *arg = varg;
	int rc = tx1_body(db, varg);

	if (rc < 0 && arg->failure == TX1_DB)
		b4_log_error("order not written", B4_LS("order_id", arg->o->order_id),
			     B4_LI("errno", b4_db_errno(db)), B4_LS("error", b4_db_error(db)));
	return rc;
}

/* Answers a refused tx1. */
static void tx1_refusal(struct checkout_order *o, enum tx1_failure failure)
{
	switch (failure) {
	case TX1_COUPON_USED_UP:
		b4_req_errorf(o->req, 422, "invalid_request_error", "coupon_used_up", "coupon",
			      "this coupon has no uses left");
		return;
	case TX1_COUPON_ALREADY_USED:
		b4_req_errorf(o->req, 422, "invalid_request_error", "already_used_by_customer",
			      "coupon", "the coupon cannot be used: already_used_by_customer");
		return;
	case TX1_SPLIT:
		b4_req_errorf(o->req, 422, "invalid_request_error", "amount_too_small", NULL,
			      "the amount does not cover the platform fee");
		return;
	case TX1_UPSELL_TAKEN:
		b4_req_errorf(o->req, 409, "conflict", "upsell_already_bought", NULL,
			      "this order already has its upsell");
		return;
	case TX1_OK:
	case TX1_DB:
		break;
	}
	b4_req_db_error(o->req);
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

static int tx2_body(struct b4_db *db, void *arg)
{
	return b4_charge_settle(db, arg);
}

/* The answer for the charge's outcome (after tx2). */
static void answer_outcome(struct checkout_order *o, const struct b4_charge_result *r)
{
	const cJSON *code = cJSON_GetObjectItemCaseSensitive(r->charge, "decline_code");
	cJSON *body;

	if (r->answer == B4_ANSWER_DECLINED) {
		body = checkout_order_error_body(o->req, "card_error",
						 cJSON_IsString(code) ? code->valuestring
								      : "card_declined",
						 "the card was declined", o->order_id);
		b4_idem_finish(o->req, &o->idem, 402, body, o->order_id);
		return;
	}
	if (r->answer == B4_ANSWER_UNAVAILABLE) {
		body = checkout_order_error_body(o->req, "api_error", "acquirer_unavailable",
						 "no payment provider could take the payment",
						 o->order_id);
		b4_idem_finish(o->req, &o->idem, 502, body, o->order_id);
		return;
	}
	body = b4_order_json(o->req->db, o->order_id, o->access_token);
	if (!body) {
		b4_req_db_error(o->req);
		return;
	}
	b4_idem_finish(o->req, &o->idem, 201, body, o->order_id);
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
	struct tx1_arg t1 = {o, false, TX1_OK};
	struct b4_charge_result r;
	cJSON *charge = NULL, *body;

	t1.refuse = o->fraud_score >= o->app->fraud_threshold;
	if (order_ids(o) < 0 || b4_idem_claim(o->req, &o->idem) != 0)
		goto out_free;
	checkout_metric_started(o->method);
	if (b4_db_tx(o->req->db, tx1_run, &t1) < 0) {
		b4_idem_release(o->req->db, &o->idem);
		tx1_refusal(o, t1.failure);
		goto out_free;
	}
	if (t1.refuse) {
		b4_log_warn("order refused by antifraud", B4_LS("order_id", o->order_id),
			    B4_LI("score", o->fraud_score));
		body = checkout_order_error_body(o->req, "card_error", "fraud_suspected",
						 "the payment was refused by the risk analysis",
						 o->order_id);
		b4_idem_finish(o->req, &o->idem, 402, body, o->order_id);
		goto out_free;
	}
	memset(&r, 0, sizeof(r));
	r.order_id = o->order_id;
	r.charge_id = o->charge_id;
	r.method = o->method;
	r.expires_in_seconds = !strcmp(o->method, "pix") ? o->app->pix_expires_seconds
							 : (o->app->boleto_days + 1) * 86400;
	call_acquirers(o, &r, &charge);
	if (b4_db_tx(o->req->db, tx2_body, &r) < 0) {
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
	answer_outcome(o, &r);
out_free:
	cJSON_Delete(charge);
	free(o->fraud_reasons);
	o->fraud_reasons = NULL;
}
