/* control.c - sandbox-only control endpoints for tests and demos:
 * POST /control/pix/:txid/pay, POST /control/boleto/:barcode/pay,
 * POST /control/charges/:id/chargeback, POST /control/charges/:id/dispute and
 * POST /control/charges/:id/dispute/resolve {"outcome": "won" | "lost"}.
 *
 * Each changes the charge and sends its signed callback before answering
 * 200 {callback_status, event_id, replayed, charge}; callback_status is the
 * HTTP status checkout answered (0: no answer, or no callback_url).  A
 * failed callback is retried in the background.  Paying a charge that is
 * already paid sends the same event (same id) again, as acquirers do. */
#include "sandbox.h"
#include "b4/br.h"
#include "b4/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* What a control action produced, copied out under the lock. */
struct control_result {
	char event_id[37];
	char url[SBX_URL_MAX + 1];
	char *body; /* malloc'd event body, or NULL */
	bool replayed;
	cJSON *charge;
};

/* Sends the event (if any), answers 200 and frees what r holds. */
static void control_finish(struct b4_req *req, struct control_result *r)
{
	struct sbx_app *app = req->app;
	long status = 0;
	cJSON *out;

	if (r->body && r->url[0]) {
		status = sbx_event_deliver(app, r->url, r->body);
		b4_log_info("control callback sent", B4_LS("event_id", r->event_id),
			    B4_LI("status", status));
		if (status < 200 || status >= 300) {
			pthread_mutex_lock(&app->lock);
			sbx_event_queue(app, r->event_id, r->url, r->body, 1);
			pthread_mutex_unlock(&app->lock);
			r->body = NULL;
		}
	}
	free(r->body);
	out = cJSON_CreateObject();
	cJSON_AddNumberToObject(out, "callback_status", (double)status);
	cJSON_AddStringToObject(out, "event_id", r->event_id);
	cJSON_AddBoolToObject(out, "replayed", r->replayed);
	cJSON_AddItemToObject(out, "charge", r->charge);
	b4_req_send_json(req, 200, out);
}

/* Pays charge (pix or boleto), or repeats its paid event; with app->lock
 * held.  Returns 0, or -1 after answering 409. */
static int pay_locked(struct b4_req *req, struct sbx_charge *charge, struct control_result *r)
{
	if (strcmp(charge->status, "pending") == 0 && sbx_now() < charge->expires_at) {
		r->body = sbx_charge_mark_paid(charge);
		b4_log_info("charge paid (control)", B4_LS("charge_id", charge->id));
	} else if (charge->paid_event) {
		r->body = strdup(charge->paid_event);
		r->replayed = true;
	} else {
		b4_req_errorf(req, 409, "invalid_request_error", "charge_not_payable", NULL,
			      "A charge in status %s cannot be paid.",
			      strcmp(charge->status, "pending") == 0 ? "expired" : charge->status);
		return -1;
	}
	memcpy(r->event_id, charge->paid_event_id, sizeof(r->event_id));
	snprintf(r->url, sizeof(r->url), "%s", charge->callback_url ? charge->callback_url : "");
	r->charge = sbx_charge_json(charge);
	return 0;
}

void sbx_control_pix_pay(struct b4_req *req)
{
	struct sbx_app *app = req->app;
	const char *txid = b4_req_param(req, "txid");
	struct control_result r = {0};
	struct sbx_charge *charge;
	int rc;

	if (!sbx_authorized(req))
		return;
	pthread_mutex_lock(&app->lock);
	charge = txid ? sbx_charge_find_txid(app, txid) : NULL;
	if (!charge) {
		pthread_mutex_unlock(&app->lock);
		b4_req_not_found(req, "pix charge");
		return;
	}
	rc = pay_locked(req, charge, &r);
	pthread_mutex_unlock(&app->lock);
	if (rc == 0)
		control_finish(req, &r);
}

void sbx_control_boleto_pay(struct b4_req *req)
{
	struct sbx_app *app = req->app;
	const char *code = b4_req_param(req, "barcode");
	char barcode[B4_BR_BOLETO_BARCODE_LEN + 1] = "";
	struct b4_br_boleto boleto;
	struct control_result r = {0};
	struct sbx_charge *charge;
	int rc;

	if (!sbx_authorized(req))
		return;
	/* the barcode (44 digits) or the digitable line (47) */
	if (code && strlen(code) == B4_BR_BOLETO_LINE_LEN)
		b4_br_boleto_parse_line(code, &boleto, barcode);
	else if (code)
		snprintf(barcode, sizeof(barcode), "%s", code);
	pthread_mutex_lock(&app->lock);
	charge = barcode[0] ? sbx_charge_find_barcode(app, barcode) : NULL;
	if (!charge) {
		pthread_mutex_unlock(&app->lock);
		b4_req_not_found(req, "boleto charge");
		return;
	}
	rc = pay_locked(req, charge, &r);
	pthread_mutex_unlock(&app->lock);
	if (rc == 0)
		control_finish(req, &r);
}

/* A move of a captured charge driven by a control endpoint. */
struct charge_move {
	const char *const *from; /* statuses it may leave (NULL-terminated) */
	const char *to;		 /* NULL: back to the status before the dispute */
	const char *event;	 /* the callback's type */
	const char *log;
};

static bool status_in(const char *status, const char *const *list)
{
	for (size_t i = 0; list[i]; i++)
		if (strcmp(status, list[i]) == 0)
			return true;
	return false;
}

/* Moves charge :id as m says, sends its signed callback and answers. */
static void control_move(struct b4_req *req, const struct charge_move *m)
{
	struct sbx_app *app = req->app;
	const char *id = b4_req_param(req, "id");
	struct control_result r = {0};
	struct sbx_charge *charge;

	if (!sbx_authorized(req))
		return;
	pthread_mutex_lock(&app->lock);
	charge = id ? sbx_charge_find(app, id) : NULL;
	if (!charge) {
		pthread_mutex_unlock(&app->lock);
		b4_req_not_found(req, "charge");
		return;
	}
	if (!status_in(charge->status, m->from)) {
		pthread_mutex_unlock(&app->lock);
		b4_req_errorf(req, 409, "invalid_request_error", "charge_not_disputable", NULL,
			      "A charge in status %s cannot do that.", charge->status);
		return;
	}
	if (strcmp(charge->status, "disputed") != 0)
		snprintf(charge->status_before_dispute, sizeof(charge->status_before_dispute), "%s",
			 charge->status);
	snprintf(charge->status, sizeof(charge->status), "%s",
		 m->to ? m->to : charge->status_before_dispute);
	r.body = sbx_event_body(charge, m->event, charge->amount_cents - charge->refunded_cents,
				NULL, r.event_id);
	snprintf(r.url, sizeof(r.url), "%s", charge->callback_url ? charge->callback_url : "");
	r.charge = sbx_charge_json(charge);
	b4_log_info(m->log, B4_LS("charge_id", charge->id));
	pthread_mutex_unlock(&app->lock);
	control_finish(req, &r);
}

static const char *const captured[] = {"approved", "paid", "partially_refunded", NULL};
static const char *const captured_or_disputed[] = {"approved", "paid", "partially_refunded",
						   "disputed", NULL};
static const char *const disputed[] = {"disputed", NULL};

void sbx_control_chargeback(struct b4_req *req)
{
	static const struct charge_move m = {captured_or_disputed, "chargeback",
					     "charge.chargeback", "chargeback opened (control)"};

	control_move(req, &m);
}

void sbx_control_dispute_open(struct b4_req *req)
{
	static const struct charge_move m = {captured, "disputed", "charge.dispute_opened",
					     "dispute opened (control)"};

	control_move(req, &m);
}

/* Body {"outcome": "won" | "lost"}. */
void sbx_control_dispute_resolve(struct b4_req *req)
{
	static const char *const outcomes[] = {"won", "lost", NULL};
	static const struct charge_move won = {disputed, NULL, "charge.dispute_won",
					       "dispute won (control)"};
	static const struct charge_move lost = {disputed, "chargeback", "charge.dispute_lost",
						"dispute lost (control)"};
	const cJSON *body;
	struct b4_error err;
	int outcome = 0;

	if (!sbx_authorized(req))
		return;
	body = b4_req_json_body(req);
	if (!body)
		return;
	if (b4_json_get_enum(body, "outcome", B4_JSON_REQUIRED, outcomes, &outcome, &err) < 0) {
		b4_req_send_error(req, &err);
		return;
	}
	control_move(req, outcome == 0 ? &won : &lost);
}
