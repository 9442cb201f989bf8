/* charges.c - classification of acquirer answers and the one settlement
 * path of a charge result; see b4/charges.h. */
#include "b4/charges.h"
#include "b4/db.h"
#include "b4/jobs.h"
#include "b4/log.h"
#include "b4/orderfsm.h"
#include "b4/orders.h"

#include <stdio.h>
#include <string.h>

const char *b4_charge_answer_name(enum b4_charge_answer answer)
{
	static const char *const names[] = {"approved", "declined", "pending", "unavailable",
					    "unknown"};

	return (unsigned)answer < sizeof(names) / sizeof(names[0]) ? names[answer] : "unknown";
}

/* The string at a dotted path ("card.brand") of obj, or NULL. */
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

enum b4_charge_answer b4_charge_classify_body(const cJSON *charge, const char *method)
{
	const char *status = jstr(charge, "status");

	if (!status)
		return B4_ANSWER_UNKNOWN;
	if (!strcmp(status, "approved") || !strcmp(status, "paid"))
		return B4_ANSWER_APPROVED;
	if (!strcmp(status, "declined"))
		return B4_ANSWER_DECLINED;
	if (!strcmp(status, "pending") && method && strcmp(method, "card") != 0)
		return B4_ANSWER_PENDING;
	return B4_ANSWER_UNKNOWN;
}

enum b4_charge_answer b4_charge_classify(int call_rc, const struct b4_httpc_response *resp,
					 const cJSON *body, const char *method)
{
	if (call_rc < 0)
		return resp->not_sent ? B4_ANSWER_UNAVAILABLE : B4_ANSWER_UNKNOWN;
	if (resp->status >= 200 && resp->status < 300)
		return b4_charge_classify_body(body, method);
	if (resp->status >= 400 && resp->status < 500 && resp->status != 408 && resp->status != 429)
		return B4_ANSWER_DECLINED;
	return B4_ANSWER_UNKNOWN;
}

enum b4_charge_answer b4_charge_lookup(const struct b4_acquirers *set,
				       const struct b4_acquirer *acq, const char *reference,
				       const char *method, cJSON **charge)
{
	enum b4_charge_answer answer = B4_ANSWER_UNKNOWN;

	*charge = NULL;
	for (int attempt = 0; attempt < 2 && answer == B4_ANSWER_UNKNOWN; attempt++) {
		int found = b4_acquirer_find_charge(set, acq, reference, charge);
		if (found == 0)
			answer = B4_ANSWER_UNAVAILABLE;
		else if (found == 1)
			answer = b4_charge_classify_body(*charge, method);
		if (found == 1 && answer == B4_ANSWER_UNKNOWN)
			break; /* it exists but its outcome is not final yet */
	}
	return answer;
}

enum b4_charge_answer b4_charge_request(const struct b4_acquirers *set,
					const struct b4_acquirer *acq, const char *idem_key,
					const char *reference, const char *body, const char *method,
					cJSON **charge)
{
	struct b4_httpc_response resp;
	enum b4_charge_answer answer;
	int rc;

	*charge = NULL;
	if (!set->secret || !set->secret[0])
		return B4_ANSWER_UNAVAILABLE;
	rc = b4_acquirer_call(set, acq, "POST", "/v1/charges", idem_key, body, &resp);
	if (rc == 0)
		*charge = cJSON_Parse(resp.body);
	answer = b4_charge_classify(rc, &resp, *charge, method);
	if (answer != B4_ANSWER_APPROVED && answer != B4_ANSWER_PENDING)
		b4_log_warn("acquirer charge not approved", B4_LS("acquirer", acq->name),
			    B4_LS("reference", reference), B4_LI("status", resp.status),
			    B4_LS("answer", b4_charge_answer_name(answer)),
			    B4_LS("error", resp.error));
	b4_httpc_response_cleanup(&resp);
	if (answer == B4_ANSWER_UNKNOWN) {
		cJSON_Delete(*charge);
		answer = b4_charge_lookup(set, acq, reference, method, charge);
		b4_log_warn("acquirer charge timed out; reconciled by reference",
			    B4_LS("acquirer", acq->name), B4_LS("reference", reference),
			    B4_LS("outcome", b4_charge_answer_name(answer)));
	}
	return answer;
}

/* What the acquirer told about the charge (not its status), as a SET
 * fragment: the values of details_values, a row's own values kept where
 * the acquirer said nothing. */
#define DETAILS_SET                                                                                \
	"acquirer = COALESCE(?, acquirer), acquirer_charge_id = COALESCE(acquirer_charge_id, ?),"  \
	" card_brand = COALESCE(?, card_brand), card_last4 = COALESCE(?, card_last4),"             \
	" pix_txid = COALESCE(?, pix_txid), pix_payload = COALESCE(?, pix_payload),"               \
	" boleto_barcode = COALESCE(?, boleto_barcode), boleto_line = COALESCE(?, boleto_line),"   \
	" boleto_due_date = COALESCE(?, boleto_due_date)"
#define DETAILS_N 9

static void details_values(const struct b4_charge_result *r, const char *v[DETAILS_N])
{
	const cJSON *c = r->charge;

	v[0] = r->acquirer;
	v[1] = jstr(c, "id");
	v[2] = jstr(c, "card.brand");
	v[3] = jstr(c, "card.last4");
	v[4] = jstr(c, "pix.txid");
	v[5] = jstr(c, "pix.payload");
	v[6] = jstr(c, "boleto.barcode");
	v[7] = jstr(c, "boleto.digitable_line");
	v[8] = jstr(c, "boleto.due_date");
}

/* Writes the details of a charge that stays pending (Pix, boleto). */
static int record_details(struct b4_db *db, const struct b4_charge_result *r)
{
	const char *v[DETAILS_N + 1];

	details_values(r, v);
	v[DETAILS_N] = r->charge_id;
	return b4_db_exec_strs(db, "UPDATE charges SET " DETAILS_SET " WHERE id = ?", DETAILS_N + 1,
			       v) < 0
		   ? -1
		   : 0;
}

static int settle_approved(struct b4_db *db, struct b4_charge_result *r)
{
	const char *v[DETAILS_N];
	int captured, paid;

	/* the move and what the acquirer said, in one statement */
	details_values(r, v);
	captured = b4_charge_move_set(db, r->charge_id, B4_BIT(B4_CHARGE_PENDING),
				      B4_CHARGE_APPROVED, DETAILS_SET, DETAILS_N, v);

	if (captured < 0)
		return -1;
	paid = b4_order_mark_paid(db, r->order_id, r->known, &r->view);
	if (paid < 0)
		return -1;
	r->paid = paid == 1;
	if (!r->paid && captured == 1) {
		/* money arrived for an order that no longer waits (it expired
		 * first): orders only move forward, so the worker gives it back,
		 * and this transaction is what makes sure it will */
		if (b4_job_order(db, B4_JOB_LATE_REFUND, r->order_id, 0) < 0)
			return -1;
		r->late_refund = true;
		b4_log_warn("payment for an order not waiting payment: refunding",
			    B4_LS("order_id", r->order_id));
	}
	return 0;
}

static int settle_refused(struct b4_db *db, struct b4_charge_result *r)
{
	bool declined = r->answer == B4_ANSWER_DECLINED;
	const char *code = declined ? jstr(r->charge, "decline_code") : "acquirer_unavailable";
	const char *v[DETAILS_N + 1];
	int moved, refused;

	if (declined && !code)
		code =
		    jstr(r->charge, "error.code") ? jstr(r->charge, "error.code") : "card_declined";
	details_values(r, v);
	v[DETAILS_N] = code;
	moved = b4_charge_move_set(db, r->charge_id, B4_BIT(B4_CHARGE_PENDING),
				   declined ? B4_CHARGE_DECLINED : B4_CHARGE_ERROR,
				   DETAILS_SET ", decline_code = ?", DETAILS_N + 1, v);
	if (moved < 0)
		return -1;
	refused = b4_order_refuse(db, r->order_id);
	if (refused < 0)
		return -1;
	r->refused = refused == 1;
	return 0;
}

int b4_charge_settle(struct b4_db *db, struct b4_charge_result *r)
{
	r->paid = r->refused = r->late_refund = false;
	cJSON_Delete(r->view); /* a retried transaction */
	r->view = NULL;
	switch (r->answer) {
	case B4_ANSWER_APPROVED:
		return settle_approved(db, r);
	case B4_ANSWER_DECLINED:
	case B4_ANSWER_UNAVAILABLE:
		return settle_refused(db, r);
	case B4_ANSWER_PENDING:
		if (record_details(db, r) < 0 ||
		    b4_order_set_expiry(db, r->order_id, r->expires_in_seconds) < 0)
			return -1;
		return b4_job_order_event_view(
		    db, !strcmp(r->method, "pix") ? "generated-pix" : "generated-billet",
		    r->order_id, NULL, &r->view);
	case B4_ANSWER_UNKNOWN:
		/* the acquirer may or may not have charged: order.expire asks
		 * it by reference before giving up on the order */
		return b4_job_order(db, B4_JOB_ORDER_EXPIRE, r->order_id, 900);
	}
	return -1;
}
