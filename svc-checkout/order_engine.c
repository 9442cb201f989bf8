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
#include "b4/queue.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define IDEM_SCOPE_LOCK_SECONDS 120

int checkout_idem_prepare(struct checkout_order *o, const char *scope, const cJSON *body)
{
	const char *key = b4_req_header(o->req, "Idempotency-Key");
	unsigned char digest[32];
	char *canonical;
	size_t len;

	if (!key || !*key) {
		b4_req_errorf(o->req, 400, "invalid_request_error", "idempotency_key_required",
			      "Idempotency-Key", "the Idempotency-Key header is required");
		return -1;
	}
	len = strlen(key);
	if (len > 255 || !b4_json_text_is_valid(key, 255, NULL)) {
		b4_req_errorf(o->req, 400, "invalid_request_error", "invalid_idempotency_key",
			      "Idempotency-Key", "Idempotency-Key is 1 to 255 characters");
		return -1;
	}
	o->idem_key = key;
	snprintf(o->scope, sizeof(o->scope), "%s", scope);
	canonical = cJSON_PrintUnformatted(body);
	if (!canonical || b4_crypto_sha256(canonical, strlen(canonical), digest) < 0) {
		free(canonical);
		b4_req_errorf(o->req, 500, "api_error", "internal_error", NULL,
			      "cannot hash the body");
		return -1;
	}
	free(canonical);
	b4_crypto_hex_encode(digest, sizeof(digest), o->request_hash, sizeof(o->request_hash));
	return 0;
}

/* Answers from an existing key row.  Returns 1 answered, 0 the row was
 * stale and is gone, -1 DB error (answered). */
static int idem_answer(struct checkout_order *o, struct b4_db_result *res)
{
	const char *hash = b4_db_str(res, 0, 0);

	if (!b4_crypto_equal(hash, o->request_hash, 64)) {
		b4_req_errorf(o->req, 422, "idempotency_error", "idempotency_key_reused",
			      "Idempotency-Key",
			      "this Idempotency-Key was used with a different request body");
		return 1;
	}
	if (!strcmp(b4_db_str(res, 0, 1), "done")) {
		char *body = b4_pii_decrypt("idempotency_keys.response_body", b4_db_str(res, 0, 3));
		if (!body) {
			b4_req_errorf(o->req, 500, "api_error", "replay_unavailable", NULL,
				      "the stored response cannot be read");
			return 1;
		}
		b4_req_set_header(o->req, "Idempotent-Replayed", "true");
		b4_req_send(o->req, (int)b4_db_i64(res, 0, 2), "application/json", body,
			    strlen(body));
		b4_pii_free(body);
		return 1;
	}
	if (b4_db_i64(res, 0, 4) == 0) { /* still locked: the first request runs */
		b4_req_errorf(o->req, 409, "idempotency_error", "request_in_progress",
			      "Idempotency-Key",
			      "a request with this Idempotency-Key is still being processed");
		return 1;
	}
	if (!b4_db_is_null(res, 0, 5)) {
		/* the process that held it died after creating the order: show
		 * the order as it is now (reconciliation settles it) */
		cJSON *order = b4_order_json(o->req->db, b4_db_str(res, 0, 5), NULL);
		if (!order) {
			b4_req_db_error(o->req);
			return -1;
		}
		b4_req_send_json(o->req, 201, order);
		return 1;
	}
	if (b4_db_exec(o->req->db,
		       "DELETE FROM idempotency_keys WHERE scope = ? AND idem_key = ?"
		       " AND status = 'in_progress' AND resource_id IS NULL",
		       "ss", o->scope, o->idem_key) < 0) {
		b4_req_db_error(o->req);
		return -1;
	}
	return 0;
}

static struct b4_db_result *idem_select(struct checkout_order *o)
{
	return b4_db_query(o->req->db,
			   "SELECT request_hash, status, response_status, response_body,"
			   " locked_until < UTC_TIMESTAMP(6), resource_id FROM idempotency_keys"
			   " WHERE scope = ? AND idem_key = ? AND expires_at > UTC_TIMESTAMP(6)",
			   "ss", o->scope, o->idem_key);
}

int checkout_idem_check(struct checkout_order *o)
{
	struct b4_db_result *res = idem_select(o);
	int rc = 0;

	if (!res) {
		b4_req_db_error(o->req);
		return -1;
	}
	if (b4_db_rows(res) > 0)
		rc = idem_answer(o, res);
	b4_db_result_free(res);
	return rc;
}

/* Claims the key.  Returns 0 claimed, 1 answered (someone else has it), -1
 * DB error (answered). */
static int idem_claim(struct checkout_order *o)
{
	for (int attempt = 0; attempt < 3; attempt++) {
		int rc;
		/* an expired key may be used again */
		if (b4_db_exec(o->req->db,
			       "DELETE FROM idempotency_keys WHERE scope = ? AND idem_key = ?"
			       " AND expires_at <= UTC_TIMESTAMP(6)",
			       "ss", o->scope, o->idem_key) < 0)
			goto out_db_error;
		if (b4_db_exec(
			o->req->db,
			"INSERT INTO idempotency_keys (scope, idem_key, request_hash, status,"
			" locked_until, expires_at) VALUES (?, ?, ?, 'in_progress',"
			" UTC_TIMESTAMP(6) + INTERVAL ? SECOND,"
			" UTC_TIMESTAMP(6) + INTERVAL 24 HOUR)",
			"sssi", o->scope, o->idem_key, o->request_hash,
			(int64_t)IDEM_SCOPE_LOCK_SECONDS) >= 0)
			return 0;
		if (!b4_db_is_duplicate(o->req->db))
			goto out_db_error;
		rc = checkout_idem_check(o);
		if (rc != 0)
			return rc;
	}
	b4_req_errorf(o->req, 409, "idempotency_error", "request_in_progress", "Idempotency-Key",
		      "a request with this Idempotency-Key is still being processed");
	return 1;
out_db_error:
	b4_req_db_error(o->req);
	return -1;
}

/* Gives the key back (nothing was created). */
static void idem_release(struct checkout_order *o)
{
	if (b4_db_exec(o->req->db, "DELETE FROM idempotency_keys WHERE scope = ? AND idem_key = ?",
		       "ss", o->scope, o->idem_key) < 0)
		b4_log_error("cannot release an idempotency key",
			     B4_LS("error", b4_db_error(o->req->db)));
}

/* Stores the response with the key and sends it. */
static void idem_finish(struct checkout_order *o, int status, cJSON *body)
{
	char *text = cJSON_PrintUnformatted(body);
	char *sealed = text ? b4_pii_encrypt("idempotency_keys.response_body", text) : NULL;

	if (!sealed ||
	    b4_db_exec(o->req->db,
		       "UPDATE idempotency_keys SET status = 'done', response_status = ?,"
		       " response_body = ?, resource_id = ? WHERE scope = ? AND idem_key = ?",
		       "Issss", status, sealed, o->order_id, o->scope, o->idem_key) < 0)
		b4_log_error("cannot store the idempotent response",
			     B4_LS("order_id", o->order_id));
	free(sealed);
	if (text) {
		/* the text may carry the access token */
		memset(text, 0, strlen(text));
		free(text);
	}
	b4_req_send_json(o->req, status, body);
}

/* ---- tx1 ---------------------------------------------------------------- */

enum tx1_failure { TX1_OK, TX1_DB, TX1_COUPON_USED_UP, TX1_SPLIT };

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

/* Splits the total: platform -> affiliate -> co-producers -> producer. */
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
	if (b4_money_split(o->total_cents, &cfg, parts, B4_MONEY_MAX_SPLIT_PARTS, &nparts) < 0) {
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

static int upsert_customer(struct b4_db *db, struct checkout_order *o)
{
	struct b4_db_result *res;
	char id[37];
	char *doc_enc, *phone_enc = NULL;
	int rc = -1;

	doc_enc = b4_pii_encrypt("customers.document_enc", o->document);
	if (o->phone[0])
		phone_enc = b4_pii_encrypt("customers.phone_enc", o->phone);
	if (!doc_enc || (o->phone[0] && !phone_enc) || b4_crypto_uuid7(id) < 0)
		goto out_free;
	if (b4_db_exec(
		db,
		"INSERT INTO customers (id, email, full_name, document_enc, document_bidx,"
		" document_type, phone_enc) VALUES (?, ?, ?, ?, ?, ?, ?)"
		" ON DUPLICATE KEY UPDATE email = VALUES(email), full_name = VALUES(full_name),"
		" phone_enc = COALESCE(VALUES(phone_enc), phone_enc)",
		"sssssss", id, o->email, o->full_name, doc_enc, o->document_bidx,
		o->document_type == B4_BR_DOCUMENT_CPF ? "cpf" : "cnpj", phone_enc) < 0)
		goto out_free;
	res = b4_db_query(db, "SELECT id FROM customers WHERE document_bidx = ?", "s",
			  o->document_bidx);
	if (!res)
		goto out_free;
	if (b4_db_rows(res) == 1) {
		snprintf(o->customer_id, sizeof(o->customer_id), "%s", b4_db_str(res, 0, 0));
		rc = 0;
	}
	b4_db_result_free(res);
out_free:
	free(doc_enc);
	free(phone_enc);
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

static int tx1_body(struct b4_db *db, void *varg)
{
	struct tx1_arg *arg = varg;
	struct checkout_order *o = arg->o;
	const struct b4_acquirer *first = &o->app->acquirers.list[0];

	arg->failure = TX1_DB;
	if (!o->parent_order_id[0] && upsert_customer(db, o) < 0)
		return -1;
	if (o->coupon_id[0]) {
		int64_t n =
		    b4_db_exec(db,
			       "UPDATE coupons SET uses = uses + 1 WHERE id = ? AND active = 1"
			       " AND (max_uses IS NULL OR uses < max_uses)",
			       "s", o->coupon_id);
		if (n < 0)
			return -1;
		if (n == 0) {
			arg->failure = TX1_COUPON_USED_UP;
			return -1;
		}
	}
	if (b4_db_exec(
		db,
		"INSERT INTO orders (id, customer_id, offer_id, product_id, producer_id,"
		" affiliation_id, affiliate_id, coupon_id, session_id, parent_order_id, status,"
		" payment_method, installments, subtotal_cents, discount_cents, interest_cents,"
		" total_cents, access_token_hash, fraud_score, fraud_reasons, client_ip)"
		" VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
		"ssssssssssssIiiiisIss", o->order_id, o->customer_id, o->main.id,
		o->main.product_id, o->main.producer_id,
		o->affiliation_id[0] ? o->affiliation_id : NULL,
		o->affiliate_id[0] ? o->affiliate_id : NULL, o->coupon_id[0] ? o->coupon_id : NULL,
		o->session_id[0] ? o->session_id : NULL,
		o->parent_order_id[0] ? o->parent_order_id : NULL,
		arg->refuse ? "refused" : "waiting_payment", o->method, o->installments,
		o->subtotal_cents, o->discount_cents, o->interest_cents, o->total_cents,
		o->access_token_hash, o->fraud_score, o->fraud_reasons, o->req->client_ip) < 0)
		return -1;
	if (insert_item(db, o->order_id, o->main.id, o->item_type, o->main.price_cents) < 0)
		return -1;
	for (size_t k = 0; k < o->nbumps; k++)
		if (insert_item(db, o->order_id, o->bumps[k].id, "order_bump",
				o->bumps[k].price_cents) < 0)
			return -1;
	if (o->session_id[0] &&
	    b4_db_exec(db, "UPDATE checkout_sessions SET order_id = ? WHERE id = ?", "ss",
		       o->order_id, o->session_id) < 0)
		return -1;
	if (arg->refuse)
		return b4_order_enqueue_event(db, "refused-payment", o->order_id);
	if (b4_db_exec(
		db,
		"INSERT INTO charges (id, order_id, acquirer, method, status, amount_cents,"
		" installments, card_brand, card_bin, card_last4, card_fingerprint, card_token)"
		" VALUES (?, ?, ?, ?, 'pending', ?, ?, ?, ?, ?, ?, ?)",
		"ssssiIsssss", o->charge_id, o->order_id, first->name, o->method, o->total_cents,
		o->installments, o->card_brand[0] ? o->card_brand : NULL,
		o->card_bin[0] ? o->card_bin : NULL, o->card_last4[0] ? o->card_last4 : NULL,
		o->card_fingerprint[0] ? o->card_fingerprint : NULL, o->card_token_sealed) < 0)
		return -1;
	if (write_splits(db, o, &arg->failure) < 0)
		return -1;
	if (b4_db_exec(
		db, "UPDATE idempotency_keys SET resource_id = ? WHERE scope = ? AND idem_key = ?",
		"sss", o->order_id, o->scope, o->idem_key) < 0)
		return -1;
	arg->failure = TX1_OK;
	return 0;
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

static const char *jstr(const cJSON *obj, const char *path)
{
	char name[64];
	const char *dot = strchr(path, '.');
	const cJSON *item;

	if (dot) {
		snprintf(name, sizeof(name), "%.*s", (int)(dot - path), path);
		return jstr(cJSON_GetObjectItemCaseSensitive(obj, name), dot + 1);
	}
	item = cJSON_GetObjectItemCaseSensitive(obj, path);
	return cJSON_IsString(item) ? item->valuestring : NULL;
}

/* ---- tx2 ---------------------------------------------------------------- */

enum charge_result {
	RESULT_APPROVED,
	RESULT_DECLINED,
	RESULT_PENDING,
	RESULT_FAILED,
	RESULT_UNKNOWN
};

struct tx2_arg {
	struct checkout_order *o;
	enum charge_result result;
	const struct b4_acquirer *acq;
	const cJSON *charge;
	bool paid;
};

static int tx2_body(struct b4_db *db, void *varg)
{
	struct tx2_arg *arg = varg;
	struct checkout_order *o = arg->o;
	const char *acq_id = arg->charge ? jstr(arg->charge, "id") : NULL;
	const char *acq_name = arg->acq ? arg->acq->name : o->app->acquirers.list[0].name;
	int64_t n;

	arg->paid = false;
	switch (arg->result) {
	case RESULT_APPROVED:
		if (b4_db_exec(
			db,
			"UPDATE charges SET status = 'approved', acquirer = ?,"
			" acquirer_charge_id = ?, card_brand = COALESCE(?, card_brand),"
			" card_last4 = COALESCE(?, card_last4) WHERE id = ? AND status = 'pending'",
			"sssss", acq_name, acq_id, jstr(arg->charge, "card.brand"),
			jstr(arg->charge, "card.last4"), o->charge_id) < 0)
			return -1;
		n = b4_order_mark_paid(db, o->order_id);
		if (n < 0)
			return -1;
		arg->paid = n == 1;
		return 0;
	case RESULT_DECLINED:
	case RESULT_FAILED:
		if (b4_db_exec(
			db,
			"UPDATE charges SET status = ?, acquirer = ?, acquirer_charge_id = ?,"
			" decline_code = ? WHERE id = ? AND status = 'pending'",
			"sssss", arg->result == RESULT_DECLINED ? "declined" : "error", acq_name,
			acq_id,
			arg->result == RESULT_DECLINED
			    ? (jstr(arg->charge, "decline_code") ? jstr(arg->charge, "decline_code")
								 : "card_declined")
			    : "acquirer_unavailable",
			o->charge_id) < 0)
			return -1;
		n = b4_order_advance(db, o->order_id, "waiting_payment", "refused");
		if (n < 0)
			return -1;
		if (n == 1 && b4_order_enqueue_event(db, "refused-payment", o->order_id) < 0)
			return -1;
		return 0;
	case RESULT_PENDING: {
		bool pix = !strcmp(o->method, "pix");
		int64_t delay =
		    pix ? o->app->pix_expires_seconds : (o->app->boleto_days + 1) * 86400;
		if (pix)
			n = b4_db_exec(db,
				       "UPDATE charges SET acquirer = ?, acquirer_charge_id = ?,"
				       " pix_txid = ?, pix_payload = ? WHERE id = ?",
				       "sssss", acq_name, acq_id, jstr(arg->charge, "pix.txid"),
				       jstr(arg->charge, "pix.payload"), o->charge_id);
		else
			n = b4_db_exec(db,
				       "UPDATE charges SET acquirer = ?, acquirer_charge_id = ?,"
				       " boleto_barcode = ?, boleto_line = ?, boleto_due_date = ?"
				       " WHERE id = ?",
				       "ssssss", acq_name, acq_id,
				       jstr(arg->charge, "boleto.barcode"),
				       jstr(arg->charge, "boleto.digitable_line"),
				       jstr(arg->charge, "boleto.due_date"), o->charge_id);
		if (n < 0)
			return -1;
		if (b4_db_exec(db,
			       "UPDATE orders SET expires_at = UTC_TIMESTAMP(6) + INTERVAL ? SECOND"
			       " WHERE id = ?",
			       "is", delay, o->order_id) < 0)
			return -1;
		if (b4_order_enqueue_event(db, pix ? "generated-pix" : "generated-billet",
					   o->order_id) < 0)
			return -1;
		return b4_order_enqueue_job(db, "order.expire", "expire", o->order_id, delay);
	}
	case RESULT_UNKNOWN:
		/* the acquirer may or may not have charged: the expiry job
		 * reconciles by reference before giving up on the order */
		return b4_order_enqueue_job(db, "order.expire", "expire", o->order_id, 900);
	}
	return -1;
}

/* Calls the acquirers: card in priority order until one answers (a decline
 * is final), Pix and boleto at the first that answers. */
static enum charge_result call_acquirers(struct checkout_order *o, struct tx2_arg *t2,
					 cJSON **charge)
{
	const struct b4_acquirer *order[B4_ACQUIRERS_MAX];
	int n = b4_acquirers_priority(o->req->db, &o->app->acquirers, order);

	*charge = NULL;
	if (n < 0)
		n = 0;
	for (int k = 0; k < n; k++) {
		char *body = charge_request(o, order[k]);
		enum checkout_acq_outcome outcome;
		const char *status;

		if (!body)
			return RESULT_UNKNOWN;
		outcome = checkout_acquirer_charge(o->app, order[k], o->charge_id, o->order_id,
						   body, charge);
		free(body);
		t2->acq = order[k];
		if (outcome == CHECKOUT_ACQ_UNAVAILABLE)
			continue;
		if (outcome == CHECKOUT_ACQ_UNKNOWN)
			return RESULT_UNKNOWN;
		if (outcome == CHECKOUT_ACQ_REJECTED)
			return RESULT_DECLINED;
		status = jstr(*charge, "status");
		if (!status)
			return RESULT_UNKNOWN;
		if (!strcmp(status, "approved") || !strcmp(status, "paid"))
			return RESULT_APPROVED;
		if (!strcmp(status, "declined"))
			return RESULT_DECLINED;
		if (!strcmp(status, "pending") && strcmp(o->method, "card") != 0)
			return RESULT_PENDING;
		return RESULT_UNKNOWN;
	}
	return RESULT_FAILED;
}

void checkout_order_run(struct checkout_order *o)
{
	struct tx1_arg t1 = {o, false, TX1_OK};
	struct tx2_arg t2;
	enum charge_result result;
	unsigned char digest[32];
	cJSON *charge = NULL, *body;
	int claimed;

	memset(&t2, 0, sizeof(t2));
	t1.refuse = o->fraud_score >= o->app->fraud_threshold;
	if (b4_crypto_uuid7(o->order_id) < 0 || b4_crypto_uuid7(o->charge_id) < 0 ||
	    b4_crypto_token_hex(o->access_token, 32) < 0 ||
	    b4_crypto_sha256(o->access_token, 64, digest) < 0) {
		b4_req_errorf(o->req, 500, "api_error", "internal_error", NULL, "no randomness");
		goto out_free;
	}
	b4_crypto_hex_encode(digest, 32, o->access_token_hash, sizeof(o->access_token_hash));
	if (!o->app->acquirers.secret[0]) {
		b4_req_errorf(o->req, 503, "api_error", "acquirer_not_configured", NULL,
			      "payments are not configured");
		goto out_free;
	}
	claimed = idem_claim(o);
	if (claimed != 0)
		goto out_free;
	checkout_metric_started(o->method);
	if (b4_db_tx(o->req->db, tx1_run, &t1) < 0) {
		idem_release(o);
		if (t1.failure == TX1_COUPON_USED_UP)
			b4_req_errorf(o->req, 422, "invalid_request_error", "coupon_used_up",
				      "coupon", "this coupon has no uses left");
		else if (t1.failure == TX1_SPLIT)
			b4_req_errorf(o->req, 422, "invalid_request_error", "amount_too_small",
				      NULL, "the amount does not cover the platform fee");
		else
			b4_req_db_error(o->req);
		goto out_free;
	}
	if (t1.refuse) {
		b4_log_warn("order refused by antifraud", B4_LS("order_id", o->order_id),
			    B4_LI("score", o->fraud_score));
		body = checkout_order_error_body(o->req, "card_error", "fraud_suspected",
						 "the payment was refused by the risk analysis",
						 o->order_id);
		idem_finish(o, 402, body);
		goto out_free;
	}

	result = call_acquirers(o, &t2, &charge);
	t2.o = o;
	t2.result = result;
	t2.charge = charge;
	if (b4_db_tx(o->req->db, tx2_body, &t2) < 0) {
		/* the order stays waiting_payment; the key stays claimed with
		 * the order id, so a retry shows the order instead of paying
		 * again */
		b4_log_error("cannot record the acquirer result", B4_LS("order_id", o->order_id),
			     B4_LS("error", b4_db_error(o->req->db)));
		b4_req_db_error(o->req);
		goto out_free;
	}
	if (t2.paid)
		checkout_metric_succeeded(o->method, o->total_cents);
	if (result == RESULT_DECLINED) {
		const char *code = jstr(charge, "decline_code");
		body =
		    checkout_order_error_body(o->req, "card_error", code ? code : "card_declined",
					      "the card was declined", o->order_id);
		idem_finish(o, 402, body);
		goto out_free;
	}
	if (result == RESULT_FAILED) {
		body = checkout_order_error_body(o->req, "api_error", "acquirer_unavailable",
						 "no payment provider could take the payment",
						 o->order_id);
		idem_finish(o, 502, body);
		goto out_free;
	}
	body = b4_order_json(o->req->db, o->order_id, o->access_token);
	if (!body) {
		b4_req_db_error(o->req);
		goto out_free;
	}
	idem_finish(o, 201, body);
out_free:
	cJSON_Delete(charge);
	free(o->fraud_reasons);
	o->fraud_reasons = NULL;
}
