/* deliveries.c - /v1/webhook-deliveries: deliveries by status, and resend
 * (back to pending plus a new webhook.deliver job, in one transaction). */
#include "backoffice.h"

#include <stdio.h>
#include <string.h>

#include "b4/queue.h"

static const struct bo_col delivery_cols[] = {
    {"id", BO_STR},		  {"endpoint_id", BO_STR},   {"owner_id", BO_STR},
    {"url", BO_STR},		  {"event_id", BO_STR},	     {"event", BO_STR},
    {"status", BO_STR},		  {"attempts", BO_INT},	     {"last_status_code", BO_INT},
    {"last_error", BO_STR},	  {"next_attempt_at", BO_TIME}, {"created_at", BO_TIME},
    {"updated_at", BO_TIME},	  {NULL, BO_STR},
};
#define DELIVERY_SELECT                                                                        \
	"SELECT d.id, d.endpoint_id, e.owner_id, e.url, d.event_id, d.event, d.status,"        \
	" d.attempts, d.last_status_code, d.last_error, d.next_attempt_at, d.created_at,"      \
	" d.updated_at FROM webhook_deliveries d JOIN webhook_endpoints e ON e.id = d.endpoint_id"

void bo_deliveries_list(struct b4_req *req)
{
	static const char *const statuses[] = {"pending", "succeeded", "failed", NULL};
	const char *after, *status;
	struct b4_db_result *res;
	int limit;

	if (b4_req_page(req, &limit, &after) < 0 ||
	    bo_query_enum(req, "status", statuses, &status) < 0)
		return;
	res = b4_db_query(req->db,
			  DELIVERY_SELECT " WHERE (? IS NULL OR d.id < ?)"
					  " AND (? IS NULL OR d.status = ?)"
					  " ORDER BY d.id DESC LIMIT ?",
			  "ssssI", after, after, status, status, limit + 1);
	if (!res) {
		b4_req_db_error(req);
		return;
	}
	bo_send_page(req, res, limit, delivery_cols);
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
	struct b4_db_result *res;
	char payload[80];
	cJSON *details;
	int rc;

	ctx->refusal.status = 0;
	cJSON_Delete(ctx->delivery);
	ctx->delivery = NULL;
	res = b4_db_query(db, "SELECT status FROM webhook_deliveries WHERE id = ? FOR UPDATE", "s",
			  ctx->id);
	if (!res)
		return -1;
	if (b4_db_rows(res) == 0) {
		b4_db_result_free(res);
		bo_refuse(&ctx->refusal, 404, "not_found", "resource_missing", NULL,
			  "No such webhook delivery.");
		return -1;
	}
	details = cJSON_CreateObject();
	cJSON_AddStringToObject(details, "before", b4_db_str(res, 0, 0));
	b4_db_result_free(res);
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
	res = b4_db_query(db, DELIVERY_SELECT " WHERE d.id = ?", "s", ctx->id);
	if (!res || b4_db_rows(res) != 1) {
		b4_db_result_free(res);
		return -1;
	}
	ctx->delivery = bo_row_json(res, 0, delivery_cols);
	b4_db_result_free(res);
	return 0;
}

void bo_deliveries_resend(struct b4_req *req)
{
	struct resend_ctx ctx = {.req = req, .id = b4_req_param(req, "id")};

	if (!bo_is_uuid(ctx.id)) {
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
