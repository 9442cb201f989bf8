/* charges.c - POST /v1/charges, GET /v1/charges[/:id], POST
 * /v1/charges/:id/refunds.
 *
 * Card outcomes follow the test cards of API.md; Pix charges carry a real
 * BR Code, boleto charges a real barcode and digitable line (bank 001, due
 * in 3 days).  Both stay pending until paid (control endpoints, or
 * B4_SANDBOX_AUTO_PAY_SECONDS) or expired. */
#include "sandbox.h"
#include "b4/br.h"
#include "b4/crypto.h"
#include "b4/log.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_INSTALLMENTS    12
#define PIX_DEFAULT_SECONDS 3600
#define PIX_MAX_SECONDS	    (30 * 86400)
#define BOLETO_DUE_DAYS	    3
#define LIST_MAX	    100
#define TXID_ALPHABET	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

/* What a test card does (API.md); any other valid card is approved. */
enum card_outcome { CARD_APPROVED, CARD_DECLINED, CARD_NO_FUNDS, CARD_ERROR, CARD_HANG };

static enum card_outcome card_outcome(const char *number)
{
	if (strcmp(number, "4000000000000002") == 0)
		return CARD_DECLINED;
	if (strcmp(number, "4000000000009995") == 0)
		return CARD_NO_FUNDS;
	if (strcmp(number, "4000000000000119") == 0)
		return CARD_ERROR;
	if (strcmp(number, "4000000000003220") == 0)
		return CARD_HANG;
	return CARD_APPROVED;
}

static const char *const method_names[] = {"card", "pix", "boleto", NULL};

struct sbx_charge *sbx_charge_find(struct sbx_app *app, const char *id)
{
	return sbx_map_get(&app->charges_by_id, id);
}

struct sbx_charge *sbx_charge_find_txid(struct sbx_app *app, const char *txid)
{
	return sbx_map_get(&app->charges_by_txid, txid);
}

struct sbx_charge *sbx_charge_find_barcode(struct sbx_app *app, const char *barcode)
{
	return sbx_map_get(&app->charges_by_barcode, barcode);
}

/* Adds charge to the list and the indexes; with app->lock held.  Returns
 * 0, or -1 out of memory (then nothing was added). */
static int charge_insert(struct sbx_app *app, struct sbx_charge *charge)
{
	struct sbx_charge *same = sbx_map_get(&app->charges_by_reference, charge->reference);

	if (sbx_map_put(&app->charges_by_id, charge->id, charge) < 0)
		return -1;
	if (sbx_map_put(&app->charges_by_reference, charge->reference, charge) < 0 ||
	    (charge->method == SBX_PIX &&
	     sbx_map_put(&app->charges_by_txid, charge->txid, charge) < 0) ||
	    (charge->method == SBX_BOLETO &&
	     sbx_map_put(&app->charges_by_barcode, charge->barcode, charge) < 0)) {
		sbx_map_remove(&app->charges_by_id, charge->id);
		sbx_map_remove(&app->charges_by_txid, charge->txid);
		if (same)
			sbx_map_put(&app->charges_by_reference, same->reference, same);
		else
			sbx_map_remove(&app->charges_by_reference, charge->reference);
		return -1;
	}
	charge->next_same_reference = same;
	charge->next = app->charges;
	app->charges = charge;
	if (charge->method != SBX_CARD) {
		charge->next_pending = app->pending;
		app->pending = charge;
	}
	return 0;
}

cJSON *sbx_charge_json(const struct sbx_charge *charge)
{
	cJSON *out = cJSON_CreateObject();
	cJSON *sub;
	char when[21];

	cJSON_AddStringToObject(out, "id", charge->id);
	cJSON_AddStringToObject(out, "reference", charge->reference);
	cJSON_AddStringToObject(out, "status", charge->status);
	cJSON_AddStringToObject(out, "method", method_names[charge->method]);
	cJSON_AddNumberToObject(out, "amount_cents", (double)charge->amount_cents);
	cJSON_AddNumberToObject(out, "refunded_cents", (double)charge->refunded_cents);
	cJSON_AddNumberToObject(out, "installments", (double)charge->installments);
	if (charge->decline_code[0])
		cJSON_AddStringToObject(out, "decline_code", charge->decline_code);
	switch (charge->method) {
	case SBX_CARD:
		sub = cJSON_AddObjectToObject(out, "card");
		cJSON_AddStringToObject(sub, "brand", charge->brand);
		cJSON_AddStringToObject(sub, "last4", charge->last4);
		break;
	case SBX_PIX:
		sub = cJSON_AddObjectToObject(out, "pix");
		cJSON_AddStringToObject(sub, "txid", charge->txid);
		cJSON_AddStringToObject(sub, "payload", charge->pix_payload);
		sbx_iso_time(charge->expires_at, when);
		cJSON_AddStringToObject(sub, "expires_at", when);
		break;
	case SBX_BOLETO:
		sub = cJSON_AddObjectToObject(out, "boleto");
		cJSON_AddStringToObject(sub, "barcode", charge->barcode);
		cJSON_AddStringToObject(sub, "digitable_line", charge->digitable_line);
		cJSON_AddStringToObject(sub, "due_date", charge->due_date);
		break;
	}
	sbx_iso_time(charge->created_at, when);
	cJSON_AddStringToObject(out, "created_at", when);
	return out;
}

void sbx_store_free_all(struct sbx_app *app)
{
	while (app->charges) {
		struct sbx_charge *c = app->charges;
		app->charges = c->next;
		free(c->paid_event);
		free(c->pix_payload);
		free(c->callback_url);
		free(c);
	}
	sbx_map_cleanup(&app->charges_by_id);
	sbx_map_cleanup(&app->charges_by_txid);
	sbx_map_cleanup(&app->charges_by_barcode);
	sbx_map_cleanup(&app->charges_by_reference);
}

/* --- creating a charge ---------------------------------------------------- */

struct charge_input {
	const char *reference;
	int64_t amount_cents;
	int method;
	int64_t installments;
	const char *card_token;
	const char *callback_url;
	int64_t expires_in_seconds;
};

static const char *const charge_fields[] = {"reference",    "amount_cents",
					    "method",	    "installments",
					    "card_token",   "customer",
					    "description",  "expires_in_seconds",
					    "callback_url", NULL};
static const char *const customer_fields[] = {"name", "document", "email", NULL};

static bool url_is_http(const char *url)
{
	return strncmp(url, "http://", 7) == 0 || strncmp(url, "https://", 8) == 0;
}

/* Reads and checks the body; answers and returns -1 on bad input. */
static int charge_input_read(struct b4_req *req, struct charge_input *in)
{
	const cJSON *body = b4_req_json_body(req);
	const cJSON *customer = NULL;
	const char *text;
	struct b4_error err;

	if (!body)
		return -1;
	memset(in, 0, sizeof(*in));
	in->installments = 1;
	in->expires_in_seconds = PIX_DEFAULT_SECONDS;
	if (b4_json_reject_unknown(body, charge_fields, NULL, &err) < 0 ||
	    b4_json_get_str(body, "reference", B4_JSON_REQUIRED, 1, SBX_REFERENCE_MAX,
			    &in->reference, &err) < 0 ||
	    b4_json_get_int(body, "amount_cents", B4_JSON_REQUIRED, 1,
			    B4_BR_BOLETO_MAX_AMOUNT_CENTS, &in->amount_cents, &err) < 0 ||
	    b4_json_get_enum(body, "method", B4_JSON_REQUIRED, method_names, &in->method, &err) <
		0 ||
	    b4_json_get_int(body, "installments", B4_JSON_OPTIONAL, 1, MAX_INSTALLMENTS,
			    &in->installments, &err) < 0 ||
	    b4_json_get_str(body, "card_token", B4_JSON_OPTIONAL, 1, SBX_TOKEN_MAX, &in->card_token,
			    &err) < 0 ||
	    b4_json_get_object(body, "customer", B4_JSON_OPTIONAL, &customer, &err) < 0 ||
	    b4_json_get_str(body, "customer.name", B4_JSON_OPTIONAL, 1, 200, &text, &err) < 0 ||
	    b4_json_get_str(body, "customer.document", B4_JSON_OPTIONAL, 1, 32, &text, &err) < 0 ||
	    b4_json_get_str(body, "customer.email", B4_JSON_OPTIONAL, 1, 254, &text, &err) < 0 ||
	    b4_json_get_str(body, "description", B4_JSON_OPTIONAL, 0, 255, &text, &err) < 0 ||
	    b4_json_get_int(body, "expires_in_seconds", B4_JSON_OPTIONAL, 1, PIX_MAX_SECONDS,
			    &in->expires_in_seconds, &err) < 0 ||
	    b4_json_get_str(body, "callback_url", B4_JSON_OPTIONAL, 1, SBX_URL_MAX,
			    &in->callback_url, &err) < 0 ||
	    (customer && b4_json_reject_unknown(customer, customer_fields, "customer.", &err) < 0))
		goto out_error;
	if (in->callback_url && !url_is_http(in->callback_url)) {
		b4_error_invalid(&err, 422, "invalid_url", "callback_url",
				 "callback_url must be an http or https URL.");
		goto out_error;
	}
	if (in->method == SBX_CARD && !in->card_token) {
		b4_error_invalid(&err, 400, "missing_field", "card_token",
				 "card_token is required for card charges.");
		goto out_error;
	}
	if (in->method != SBX_CARD && in->card_token) {
		b4_error_invalid(&err, 422, "not_allowed", "card_token",
				 "card_token is only for card charges.");
		goto out_error;
	}
	if (in->method != SBX_CARD && in->installments != 1) {
		b4_error_invalid(&err, 422, "not_allowed", "installments",
				 "Pix and boleto are paid in one installment.");
		goto out_error;
	}
	return 0;

out_error:
	b4_req_send_error(req, &err);
	return -1;
}

/* Fills the card part of charge from its token; answers 422 when unknown. */
static int charge_card(struct b4_req *req, const struct charge_input *in, struct sbx_charge *charge,
		       enum card_outcome *outcome)
{
	struct sbx_app *app = req->app;
	struct sbx_card card;

	if (sbx_card_from_token(app, in->card_token, &card) < 0) {
		b4_req_errorf(req, 422, "invalid_request_error", "invalid_card_token", "card_token",
			      "Unknown card token.");
		return -1;
	}
	*outcome = card_outcome(card.number);
	snprintf(charge->brand, sizeof(charge->brand), "%s", card.brand);
	snprintf(charge->last4, sizeof(charge->last4), "%s", card.last4);
	OPENSSL_cleanse(&card, sizeof(card));
	switch (*outcome) {
	case CARD_APPROVED:
	case CARD_HANG:
		snprintf(charge->status, sizeof(charge->status), "approved");
		break;
	case CARD_DECLINED:
		snprintf(charge->status, sizeof(charge->status), "declined");
		snprintf(charge->decline_code, sizeof(charge->decline_code), "card_declined");
		break;
	case CARD_NO_FUNDS:
		snprintf(charge->status, sizeof(charge->status), "declined");
		snprintf(charge->decline_code, sizeof(charge->decline_code), "insufficient_funds");
		break;
	case CARD_ERROR:
		b4_metrics_add(app->charges_total, (const char *const[]){"card", "error"}, 1);
		b4_req_errorf(req, 500, "api_error", "acquirer_error", NULL,
			      "The acquirer failed to process the charge.");
		return -1;
	}
	return 0;
}

static int charge_pix(struct b4_req *req, const struct charge_input *in, struct sbx_charge *charge)
{
	struct sbx_app *app = req->app;
	struct b4_br_pix pix = {
	    .key = app->pix_key,
	    .merchant_name = "B4YOU SANDBOX",
	    .merchant_city = "SAO PAULO",
	    .txid = charge->txid,
	    .amount_cents = in->amount_cents,
	    .single_use = true,
	};

	char payload[B4_BR_PIX_PAYLOAD_MAX];

	if (b4_crypto_random_code(charge->txid, B4_BR_PIX_TXID_MAX, TXID_ALPHABET) < 0 ||
	    b4_br_pix_build(&pix, payload, sizeof(payload)) < 0 ||
	    !(charge->pix_payload = strdup(payload))) {
		b4_req_errorf(req, 500, "api_error", "pix_failure", NULL,
			      "Could not build the Pix code.");
		return -1;
	}
	charge->expires_at = charge->created_at + in->expires_in_seconds;
	snprintf(charge->status, sizeof(charge->status), "pending");
	return 0;
}

static int charge_boleto(struct b4_req *req, const struct charge_input *in,
			 struct sbx_charge *charge)
{
	struct sbx_app *app = req->app;
	struct b4_br_boleto boleto = {.bank = "001", .currency = '9'};
	time_t due = (time_t)(charge->created_at + BOLETO_DUE_DAYS * 86400);
	unsigned long long seq;
	struct tm tm;

	gmtime_r(&due, &tm);
	tm.tm_hour = 23;
	tm.tm_min = 59;
	tm.tm_sec = 59;
	pthread_mutex_lock(&app->lock);
	seq = ++app->boleto_seq;
	pthread_mutex_unlock(&app->lock);
	/* the bank's free field: the sandbox's own sequence number, unique */
	snprintf(boleto.free_field, sizeof(boleto.free_field), "%025llu", seq);
	boleto.amount_cents = in->amount_cents;
	if (b4_br_boleto_factor_from_date(tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
					  &boleto.due_factor) < 0 ||
	    b4_br_boleto_encode(&boleto, charge->barcode, charge->digitable_line) < 0) {
		b4_req_errorf(req, 500, "api_error", "boleto_failure", NULL,
			      "Could not build the boleto.");
		return -1;
	}
	strftime(charge->due_date, sizeof(charge->due_date), "%Y-%m-%d", &tm);
	charge->expires_at = (int64_t)timegm(&tm);
	snprintf(charge->status, sizeof(charge->status), "pending");
	return 0;
}

/* Holds the request for the never-answers card; ends early when the
 * sandbox is stopping. */
static void hold(struct sbx_app *app, int64_t seconds)
{
	int64_t steps = seconds * 10;
	bool stopping = false;

	pthread_mutex_lock(&app->lock);
	app->waiters++;
	pthread_mutex_unlock(&app->lock);
	for (int64_t i = 0; i < steps && !stopping; i++) {
		struct timespec step = {.tv_nsec = 100 * 1000000L};
		nanosleep(&step, NULL);
		pthread_mutex_lock(&app->lock);
		stopping = app->stopping;
		pthread_mutex_unlock(&app->lock);
	}
	pthread_mutex_lock(&app->lock);
	app->waiters--;
	pthread_mutex_unlock(&app->lock);
}

void sbx_charge_create(struct b4_req *req)
{
	struct sbx_app *app = req->app;
	struct sbx_idem *slot;
	struct charge_input in;
	struct sbx_charge *charge;
	enum card_outcome outcome = CARD_APPROVED;
	int rc = 0;
	cJSON *out;

	if (!sbx_authorized(req) || sbx_idem_begin(req, &slot) != SBX_IDEM_PROCEED)
		return;
	if (app->fail_all) {
		b4_metrics_add(app->charges_total, (const char *const[]){"any", "unavailable"}, 1);
		b4_req_errorf(req, 503, "api_error", "acquirer_unavailable", NULL,
			      "The acquirer is unavailable (B4_SANDBOX_FAIL_ALL).");
		goto out_release;
	}
	if (charge_input_read(req, &in) < 0)
		goto out_release;
	charge = calloc(1, sizeof(*charge));
	if (!charge) {
		b4_req_errorf(req, 503, "api_error", "out_of_memory", NULL, "Out of memory.");
		goto out_release;
	}
	b4_crypto_uuid7(charge->id);
	snprintf(charge->reference, sizeof(charge->reference), "%s", in.reference);
	charge->method = (enum sbx_method)in.method;
	charge->amount_cents = in.amount_cents;
	charge->installments = in.installments;
	charge->created_at = sbx_now();
	if (in.callback_url && !(charge->callback_url = strdup(in.callback_url))) {
		b4_req_errorf(req, 503, "api_error", "out_of_memory", NULL, "Out of memory.");
		goto out_free_charge;
	}
	switch (charge->method) {
	case SBX_CARD:
		rc = charge_card(req, &in, charge, &outcome);
		break;
	case SBX_PIX:
		rc = charge_pix(req, &in, charge);
		break;
	case SBX_BOLETO:
		rc = charge_boleto(req, &in, charge);
		break;
	}
	if (rc < 0)
		goto out_free_charge;

	pthread_mutex_lock(&app->lock);
	b4_metrics_add(app->charges_total,
		       (const char *const[]){method_names[charge->method], charge->status}, 1);
	if (charge_insert(app, charge) < 0) {
		pthread_mutex_unlock(&app->lock);
		b4_req_errorf(req, 503, "api_error", "out_of_memory", NULL, "Out of memory.");
		goto out_free_charge;
	}
	out = sbx_charge_json(charge);
	b4_log_info("charge created", B4_LS("charge_id", charge->id),
		    B4_LS("method", method_names[charge->method]), B4_LS("status", charge->status),
		    B4_LI("amount_cents", charge->amount_cents));
	pthread_mutex_unlock(&app->lock);
	if (outcome == CARD_HANG) {
		/* recorded as approved first, so a lookup by reference during the
		 * hold (checkout's reconciliation) already finds it */
		b4_log_info("holding the answer (never-answers test card)",
			    B4_LI("seconds", app->hang_seconds));
		hold(app, app->hang_seconds);
	}
	sbx_reply(req, slot, 201, out);
	return;

out_free_charge:
	free(charge->pix_payload);
	free(charge->callback_url);
	free(charge);
out_release:
	sbx_idem_release(req, slot);
}

/* --- reading ---------------------------------------------------------------- */

void sbx_charge_get(struct b4_req *req)
{
	struct sbx_app *app = req->app;
	const char *id = b4_req_param(req, "id");
	struct sbx_charge *charge;
	cJSON *out = NULL;

	if (!sbx_authorized(req))
		return;
	pthread_mutex_lock(&app->lock);
	charge = id ? sbx_charge_find(app, id) : NULL;
	if (charge)
		out = sbx_charge_json(charge);
	pthread_mutex_unlock(&app->lock);
	if (!out) {
		b4_req_not_found(req, "charge");
		return;
	}
	b4_req_send_json(req, 200, out);
}

void sbx_charge_list(struct b4_req *req)
{
	struct sbx_app *app = req->app;
	const char *reference = b4_req_query(req, "reference");
	cJSON *out, *data;
	int count = 0;

	if (!sbx_authorized(req))
		return;
	out = cJSON_CreateObject();
	data = cJSON_AddArrayToObject(out, "data");
	pthread_mutex_lock(&app->lock);
	if (reference) {
		for (struct sbx_charge *c = sbx_map_get(&app->charges_by_reference, reference);
		     c && count < LIST_MAX; c = c->next_same_reference, count++)
			cJSON_AddItemToArray(data, sbx_charge_json(c));
	} else {
		for (struct sbx_charge *c = app->charges; c && count < LIST_MAX;
		     c = c->next, count++)
			cJSON_AddItemToArray(data, sbx_charge_json(c));
	}
	pthread_mutex_unlock(&app->lock);
	b4_req_send_json(req, 200, out);
}

/* --- refunds ---------------------------------------------------------------- */

static bool is_refundable(const struct sbx_charge *charge)
{
	return strcmp(charge->status, "approved") == 0 || strcmp(charge->status, "paid") == 0 ||
	       strcmp(charge->status, "partially_refunded") == 0;
}

static const char *const refund_fields[] = {"amount_cents", NULL};

void sbx_refund_create(struct b4_req *req)
{
	struct sbx_app *app = req->app;
	const char *id = b4_req_param(req, "id");
	struct sbx_idem *slot;
	const cJSON *body;
	struct sbx_charge *charge;
	struct b4_error err;
	int64_t amount = 0;
	char refund_id[37], event_id[37];
	char *event = NULL;
	cJSON *out;

	if (!sbx_authorized(req) || sbx_idem_begin(req, &slot) != SBX_IDEM_PROCEED)
		return;
	body = b4_req_json_body(req);
	if (!body)
		goto out_release;
	if (b4_json_reject_unknown(body, refund_fields, NULL, &err) < 0 ||
	    b4_json_get_int(body, "amount_cents", B4_JSON_REQUIRED, 1,
			    B4_BR_BOLETO_MAX_AMOUNT_CENTS, &amount, &err) < 0) {
		b4_req_send_error(req, &err);
		goto out_release;
	}
	b4_crypto_uuid7(refund_id);
	pthread_mutex_lock(&app->lock);
	charge = id ? sbx_charge_find(app, id) : NULL;
	if (!charge) {
		pthread_mutex_unlock(&app->lock);
		b4_req_not_found(req, "charge");
		goto out_release;
	}
	if (!is_refundable(charge)) {
		pthread_mutex_unlock(&app->lock);
		b4_req_errorf(req, 409, "invalid_request_error", "charge_not_refundable", NULL,
			      "A charge in status %s cannot be refunded.", charge->status);
		goto out_release;
	}
	if (amount > charge->amount_cents - charge->refunded_cents) {
		int64_t remaining = charge->amount_cents - charge->refunded_cents;
		pthread_mutex_unlock(&app->lock);
		b4_req_errorf(req, 409, "invalid_request_error", "amount_exceeds_remaining",
			      "amount_cents", "Only %lld cents remain to refund.",
			      (long long)remaining);
		goto out_release;
	}
	charge->refunded_cents += amount;
	snprintf(charge->status, sizeof(charge->status), "%s",
		 charge->refunded_cents == charge->amount_cents ? "refunded"
								: "partially_refunded");
	if (charge->callback_url) {
		event = sbx_event_body(charge, "refund.succeeded", amount, NULL, event_id);
		if (event)
			sbx_event_queue(app, event_id, charge->callback_url, event, 0);
	}
	pthread_mutex_unlock(&app->lock);
	b4_log_info("refund succeeded", B4_LS("charge_id", id), B4_LS("refund_id", refund_id),
		    B4_LI("amount_cents", amount));
	out = cJSON_CreateObject();
	cJSON_AddStringToObject(out, "id", refund_id);
	cJSON_AddStringToObject(out, "charge_id", id);
	cJSON_AddNumberToObject(out, "amount_cents", (double)amount);
	cJSON_AddStringToObject(out, "status", "succeeded");
	sbx_reply(req, slot, 201, out);
	return;

out_release:
	sbx_idem_release(req, slot);
}
