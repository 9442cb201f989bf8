/* callbacks.c - POST /v1/acquirers/:name/callbacks: signed acquirer events.
 * The signature is checked first; each event id is recorded once
 * (acquirer_events), so a replay changes nothing; the order only moves
 * forward along its state machine, so an out-of-order event changes
 * nothing either. */
#include "checkout.h"
#include "b4/charges.h"
#include "b4/crypto.h"
#include "b4/db.h"
#include "b4/disputes.h"
#include "b4/log.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

void checkout_callback(struct b4_req *req);

struct callback_event {
	const struct b4_acquirer *acq;
	const char *event_id;
	const char *type;
	const char *charge_id;
	int64_t amount_cents;
	const char *occurred_at;
	/* results */
	char order_id[37];
	char method[8];
	int64_t total_cents;
	const char *outcome;
	bool duplicate;
	bool unknown_charge;
	bool busy; /* the order has a refund in flight: try again later */
	bool paid;
};

/* Settles a Pix or boleto payment through the one charge settlement. */
static int apply_paid(struct b4_db *db, struct callback_event *ev, const char *local_charge,
		      int64_t amount)
{
	struct b4_charge_result r;

	if (ev->amount_cents != amount) {
		ev->outcome = "amount_mismatch";
		return 0;
	}
	memset(&r, 0, sizeof(r));
	r.order_id = ev->order_id;
	r.charge_id = local_charge;
	r.method = ev->method;
	r.answer = B4_ANSWER_APPROVED;
	if (b4_charge_settle(db, &r) < 0) {
		cJSON_Delete(r.view);
		return -1;
	}
	cJSON_Delete(r.view);
	ev->paid = r.paid;
	ev->outcome = r.paid ? "paid" : r.late_refund ? "refund_queued" : "ignored";
	return 0;
}

/* The order's move for one event type (after the event was recorded). */
static int apply_type(struct b4_db *db, struct callback_event *ev, const char *local_charge,
		      int64_t amount)
{
	int n = 0;

	if (!strcmp(ev->type, "pix.paid") || !strcmp(ev->type, "boleto.paid"))
		return apply_paid(db, ev, local_charge, amount);
	if (!strcmp(ev->type, "charge.expired")) {
		n = b4_order_expire(db, ev->order_id, true);
		ev->outcome = n == 1 ? "expired" : "ignored";
	} else if (!strcmp(ev->type, "refund.succeeded")) {
		/* Refunds are settled by the worker's refund.process job, which
		 * gets the acquirer's answer to its own (idempotent) request and
		 * knows the refund's amount; the callback is only recorded. */
		ev->outcome = "recorded";
	} else if (!strcmp(ev->type, "charge.dispute_opened")) {
		n = b4_dispute_open(db, ev->order_id);
		ev->outcome = n == 1 ? "disputed" : "ignored";
	} else if (!strcmp(ev->type, "charge.dispute_won")) {
		n = b4_dispute_resolve(db, ev->order_id, true);
		ev->outcome = n == 1 ? "dispute_won" : "ignored";
	} else if (!strcmp(ev->type, "charge.chargeback") ||
		   !strcmp(ev->type, "charge.dispute_lost")) {
		n = b4_dispute_resolve(db, ev->order_id, false);
		ev->outcome = n == 1 ? "chargeback" : "ignored";
	}
	/* a refund in flight: nothing recorded, the acquirer sends it again */
	ev->busy = n == B4_DISPUTE_BUSY;
	return n < 0 || ev->busy ? -1 : 0;
}

static int apply_event(struct b4_db *db, void *varg)
{
	struct callback_event *ev = varg;
	struct b4_db_result *res;
	char local_charge[37];
	int64_t amount;

	ev->duplicate = ev->unknown_charge = ev->busy = ev->paid = false;
	ev->outcome = "ignored";
	res = b4_db_query(db,
			  "SELECT c.id, c.order_id, c.amount_cents, o.payment_method, o.total_cents"
			  " FROM charges c JOIN orders o ON o.id = c.order_id"
			  " WHERE c.acquirer = ? AND c.acquirer_charge_id = ? FOR UPDATE",
			  "ss", ev->acq->name, ev->charge_id);
	if (!res)
		return -1;
	if (b4_db_rows(res) == 0) {
		b4_db_result_free(res);
		ev->unknown_charge = true;
		return -1;
	}
	snprintf(local_charge, sizeof(local_charge), "%s", b4_db_str(res, 0, 0));
	snprintf(ev->order_id, sizeof(ev->order_id), "%s", b4_db_str(res, 0, 1));
	amount = b4_db_i64(res, 0, 2);
	snprintf(ev->method, sizeof(ev->method), "%s", b4_db_str(res, 0, 3));
	ev->total_cents = b4_db_i64(res, 0, 4);
	b4_db_result_free(res);

	if (b4_db_exec(
		db,
		"INSERT INTO acquirer_events (acquirer, event_id, type, charge_id, order_id,"
		" amount_cents, outcome, occurred_at) VALUES (?, ?, ?, ?, ?, ?, 'received', ?)",
		"sssssis", ev->acq->name, ev->event_id, ev->type, ev->charge_id, ev->order_id,
		ev->amount_cents, ev->occurred_at) < 0) {
		if (b4_db_is_duplicate(db)) {
			ev->duplicate = true;
			ev->outcome = "duplicate";
			return 0;
		}
		return -1;
	}
	if (apply_type(db, ev, local_charge, amount) < 0)
		return -1;
	return b4_db_exec(
		   db, "UPDATE acquirer_events SET outcome = ? WHERE acquirer = ? AND event_id = ?",
		   "sss", ev->outcome, ev->acq->name, ev->event_id) < 0
		   ? -1
		   : 0;
}

void checkout_callback(struct b4_req *req)
{
	static const char *const types[] = {
	    "pix.paid",		  "boleto.paid",	 "charge.expired",
	    "refund.succeeded",	  "charge.chargeback",	 "charge.dispute_opened",
	    "charge.dispute_won", "charge.dispute_lost", NULL};
	const struct checkout_app *app = req->app;
	const char *name = b4_req_param(req, "name");
	const char *signature = b4_req_header(req, "X-Acquirer-Signature");
	struct callback_event ev;
	const cJSON *body;
	struct b4_error err;
	int type_index = 0;
	cJSON *out;

	memset(&ev, 0, sizeof(ev));
	ev.acq = name ? b4_acquirers_find(&app->acquirers, name) : NULL;
	if (!ev.acq) {
		b4_req_not_found(req, "acquirer");
		return;
	}
	if (!app->acquirers.secret[0] || !signature ||
	    !b4_crypto_webhook_verify(app->acquirers.secret, signature, req->body, req->body_len,
				      (int64_t)time(NULL), 300)) {
		b4_log_warn("acquirer callback with a bad signature", B4_LS("acquirer", name));
		b4_req_errorf(req, 401, "authentication_error", "invalid_signature",
			      "X-Acquirer-Signature", "the callback signature does not verify");
		return;
	}
	body = checkout_json_body(req);
	if (!body)
		return;
	if (b4_json_get_str(body, "id", B4_JSON_REQUIRED, 1, 64, &ev.event_id, &err) < 0 ||
	    b4_json_get_enum(body, "type", B4_JSON_REQUIRED, types, &type_index, &err) < 0 ||
	    b4_json_get_str(body, "charge_id", B4_JSON_REQUIRED, 1, 64, &ev.charge_id, &err) < 0 ||
	    b4_json_get_int(body, "amount_cents", B4_JSON_OPTIONAL, 0, INT64_C(1) << 50,
			    &ev.amount_cents, &err) < 0 ||
	    b4_json_get_str(body, "occurred_at", B4_JSON_OPTIONAL, 1, 40, &ev.occurred_at, &err) <
		0) {
		b4_req_send_error(req, &err);
		return;
	}
	ev.type = types[type_index];
	if (b4_db_tx(req->db, apply_event, &ev) < 0) {
		if (ev.unknown_charge) {
			b4_req_not_found(req, "charge");
			return;
		}
		if (ev.busy) {
			b4_req_set_header(req, "Retry-After", "60");
			b4_req_errorf(req, 409, "conflict", "refund_in_progress", NULL,
				      "the order has a refund in progress; send the event again");
			return;
		}
		b4_req_db_error(req);
		return;
	}
	if (ev.paid)
		checkout_metric_succeeded(ev.method, ev.total_cents);
	b4_log_info("acquirer callback", B4_LS("acquirer", ev.acq->name),
		    B4_LS("event_id", ev.event_id), B4_LS("type", ev.type),
		    B4_LS("order_id", ev.order_id), B4_LS("outcome", ev.outcome));
	out = cJSON_CreateObject();
	cJSON_AddBoolToObject(out, "received", true);
	cJSON_AddBoolToObject(out, "duplicate", ev.duplicate);
	cJSON_AddStringToObject(out, "outcome", ev.outcome);
	b4_req_send_json(req, 200, out);
}
