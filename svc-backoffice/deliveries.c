/* deliveries.c - /v1/webhook-deliveries: deliveries by status, and resend
 * (back to pending plus a new webhook.deliver job, in one transaction). */
#include "backoffice.h"

#include <stdio.h>
#include <string.h>

#include "b4/queue.h"

static const struct bo_col delivery_cols[] = {
    {"id", BO_STR},
    {"endpoint_id", BO_STR},
    {"owner_id", BO_STR},
    {"url", BO_STR},
    {"event_id", BO_STR},
    {"event", BO_STR},
    {"status", BO_STR},
    {"attempts", BO_INT},
    {"last_status_code", BO_INT},
    {"last_error", BO_STR},
    {"next_attempt_at", BO_TIME},
    {"created_at", BO_TIME},
    {"updated_at", BO_TIME},
    {NULL, BO_STR},
};
#define DELIVERY_SELECT                                                                            \
	"SELECT d.id, d.endpoint_id, e.owner_id, e.url, d.event_id, d.event, d.status,"            \
	" d.attempts, d.last_status_code, d.last_error, d.next_attempt_at, d.created_at,"          \
	" d.updated_at FROM webhook_deliveries d JOIN webhook_endpoints e ON e.id = d.endpoint_id"

void bo_deliveries_list(struct b4_req *req)
{
	static const char *const statuses[] = {"pending", "succeeded", "failed", NULL};

	bo_list_by_status(req,
			  DELIVERY_SELECT " WHERE (? IS NULL OR d.id < ?)"
					  " AND (? IS NULL OR d.status = ?)"
					  " ORDER BY d.id DESC LIMIT ?",
			  statuses, delivery_cols);
}

struct resend_ctx {
	struct b4_req *req;
	const char *id;
	struct bo_refusal refusal;
	cJSON *delivery;
};

static int resend_tx(struct b4_db *db, void *arg)
{
	struct resend_ctx *ctx = arg;
	char payload[80], before[16];
	cJSON *details;
	bool gone;
	int rc;

	ctx->refusal.status = 0;
	cJSON_Delete(ctx->delivery);
	ctx->delivery = NULL;
	if (bo_lock_state(db, "SELECT status FROM webhook_deliveries WHERE id = ? FOR UPDATE",
			  ctx->id, "webhook delivery", before, sizeof(before), &ctx->refusal) < 0)
		return -1;
	details = cJSON_CreateObject();
	cJSON_AddStringToObject(details, "before", before);
	snprintf(payload, sizeof(payload), "{\"delivery_id\":\"%s\"}", ctx->id);
	/* no dedup key: every resend is a new attempt */
	rc = b4_db_exec(db,
			"UPDATE webhook_deliveries SET status = 'pending',"
			" next_attempt_at = UTC_TIMESTAMP(6) WHERE id = ?",
			"s", ctx->id) < 0 ||
		     b4_queue_enqueue(db, "webhook.deliver", payload, NULL, 0) < 0 ||
		     bo_audit(ctx->req, "webhook_delivery.resend", "webhook_delivery", ctx->id,
			      details) < 0
		 ? -1
		 : 0;
	cJSON_Delete(details);
	if (rc < 0)
		return -1;
	ctx->delivery =
	    bo_fetch_one(db, DELIVERY_SELECT " WHERE d.id = ?", ctx->id, delivery_cols, &gone);
	return ctx->delivery ? 0 : -1;
}

void bo_deliveries_resend(struct b4_req *req)
{
	struct resend_ctx ctx = {.req = req, .id = b4_req_param(req, "id")};

	if (!b4_text_is_uuid(ctx.id)) {
		b4_req_not_found(req, "webhook delivery");
		return;
	}
	if (b4_db_tx(req->db, resend_tx, &ctx) < 0) {
		cJSON_Delete(ctx.delivery);
		bo_send_refusal(req, &ctx.refusal);
		return;
	}
	b4_req_send_json(req, 202, ctx.delivery);
}
