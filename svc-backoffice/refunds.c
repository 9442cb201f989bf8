/* refunds.c - POST /v1/orders/:id/refunds: an admin asks for a full or
 * partial refund.  Idempotency-Key is required.  The request itself
 * (refund row, order to refund_requested, refund.process job, stored
 * answer) is libcommon's, the same as a producer's (b4/refunds.h); the
 * admin's audit row is written in the same transaction. */
#include "backoffice.h"

#include <stdio.h>
#include <string.h>

#include "b4/idempotency.h"
#include "b4/refunds.h"

static int audit_refund(struct b4_db *db, struct b4_req *req, const struct b4_refund_request *r)
{
	cJSON *details = cJSON_CreateObject();
	int rc;

	(void)db;
	cJSON_AddStringToObject(details, "refund_id", r->refund_id);
	cJSON_AddNumberToObject(details, "amount_cents", (double)r->amount);
	cJSON_AddNumberToObject(details, "total_cents", (double)r->paid_cents);
	cJSON_AddNumberToObject(details, "already_refunded_cents", (double)r->already_cents);
	cJSON_AddStringToObject(details, "reason", r->reason);
	cJSON_AddStringToObject(details, "idempotency_key", b4_req_header(req, "Idempotency-Key"));
	rc = bo_audit(req, "order.refund_requested", "order", r->order_id, details);
	cJSON_Delete(details);
	return rc;
}

void bo_refunds_create(struct b4_req *req)
{
	static const char *const allowed[] = {"amount_cents", "reason", NULL};
	struct b4_refund_request r = {.order_id = b4_req_param(req, "id")};
	struct b4_idem idem;
	const cJSON *body;
	struct b4_error err;

	if (!b4_text_is_uuid(r.order_id)) {
		b4_req_not_found(req, "order");
		return;
	}
	body = b4_req_json_body(req);
	if (!body)
		return;
	if (b4_json_reject_unknown(body, allowed, NULL, &err) < 0 ||
	    b4_json_get_str(body, "reason", B4_JSON_REQUIRED, 1, 500, &r.reason, &err) < 0 ||
	    b4_json_get_int(body, "amount_cents", B4_JSON_OPTIONAL, 1, INT64_C(1) << 52,
			    &r.amount_cents, &err) < 0) {
		b4_req_send_error(req, &err);
		return;
	}
	if (b4_idem_prepare(req, &idem, "backoffice_refunds", body, true) != 0)
		return;
	r.amount_given = cJSON_GetObjectItemCaseSensitive(body, "amount_cents") != NULL;
	r.requested_by = req->caller.user_id;
	b4_refund_respond(req, &idem, &r, audit_refund);
}
