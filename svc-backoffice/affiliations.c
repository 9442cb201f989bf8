/* affiliations.c - /v1/affiliations: every affiliation, and the admin
 * override to approve or reject one.  A decision that changes the status
 * enqueues the affiliate's webhook event in the same transaction. */
#include "backoffice.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "b4/queue.h"

static const struct bo_col affiliation_cols[] = {
    {"id", BO_STR},
    {"product_id", BO_STR},
    {"product_name", BO_STR},
    {"affiliate_id", BO_STR},
    {"affiliate_email", BO_STR},
    {"ref", BO_STR},
    {"status", BO_STR},
    {"commission_bps", BO_INT},
    {"created_at", BO_TIME},
    {"decided_at", BO_TIME},
    {NULL, BO_STR},
};
#define AFFILIATION_SELECT                                                                         \
	"SELECT a.id, a.product_id, p.name, a.affiliate_id, u.email, a.ref, a.status,"             \
	" a.commission_bps, a.created_at, a.decided_at FROM affiliations a"                        \
	" JOIN products p ON p.id = a.product_id JOIN users u ON u.id = a.affiliate_id"

void bo_affiliations_list(struct b4_req *req)
{
	static const char *const statuses[] = {"pending", "approved", "rejected", "blocked", NULL};

	bo_list_by_status(req,
			  AFFILIATION_SELECT " WHERE (? IS NULL OR a.id < ?)"
					     " AND (? IS NULL OR a.status = ?)"
					     " ORDER BY a.id DESC LIMIT ?",
			  statuses, affiliation_cols);
}

struct decide_ctx {
	struct b4_req *req;
	const char *id;
	const char *status; /* "approved" | "rejected" */
	const char *event;  /* "approved-affiliate" | "refused-affiliate" */
	const char *reason;
	struct bo_refusal refusal;
	cJSON *affiliation; /* the row after the decision */
};

static int decide_tx(struct b4_db *db, void *arg)
{
	struct decide_ctx *ctx = arg;
	char before[16], dedup[128];
	cJSON *details;
	char *payload_text;
	bool gone;
	int rc;

	ctx->refusal.status = 0;
	cJSON_Delete(ctx->affiliation);
	ctx->affiliation = NULL;
	if (bo_lock_state(db, "SELECT status FROM affiliations WHERE id = ? FOR UPDATE", ctx->id,
			  "affiliation", before, sizeof(before), &ctx->refusal) < 0)
		return -1;
	if (strcmp(before, ctx->status) != 0 &&
	    b4_db_exec(
		db,
		"UPDATE affiliations SET status = ?, decided_at = UTC_TIMESTAMP(6) WHERE id = ?",
		"ss", ctx->status, ctx->id) < 0)
		return -1;
	ctx->affiliation = bo_fetch_one(db, AFFILIATION_SELECT " WHERE a.id = ?", ctx->id,
					affiliation_cols, &gone);
	if (!ctx->affiliation)
		return -1;
	if (strcmp(before, ctx->status) == 0)
		return 0; /* already so: nothing changes, nothing is sent */

	payload_text = cJSON_PrintUnformatted(ctx->affiliation);
	snprintf(dedup, sizeof(dedup), "%s:%s:%s", ctx->event, ctx->id, ctx->status);
	/* the one builder of webhook.event payloads (event_id, created_at) */
	rc =
	    payload_text &&
		    b4_queue_webhook_event(
			db, ctx->event,
			cJSON_GetStringValue(cJSON_GetObjectItem(ctx->affiliation, "affiliate_id")),
			NULL,
			cJSON_GetStringValue(cJSON_GetObjectItem(ctx->affiliation, "product_id")),
			payload_text, dedup) >= 0
		? 0
		: -1;
	free(payload_text);
	if (rc < 0)
		return -1;

	details = cJSON_CreateObject();
	cJSON_AddStringToObject(details, "before", before);
	cJSON_AddStringToObject(details, "after", ctx->status);
	if (ctx->reason)
		cJSON_AddStringToObject(details, "reason", ctx->reason);
	rc = bo_audit(ctx->req,
		      strcmp(ctx->status, "approved") == 0 ? "affiliation.approve"
							   : "affiliation.reject",
		      "affiliation", ctx->id, details);
	cJSON_Delete(details);
	return rc;
}

static void decide(struct b4_req *req, const char *status, const char *event)
{
	struct decide_ctx ctx = {
	    .req = req, .id = b4_req_param(req, "id"), .status = status, .event = event};

	if (!b4_text_is_uuid(ctx.id)) {
		b4_req_not_found(req, "affiliation");
		return;
	}
	if (bo_optional_reason(req, &ctx.reason) < 0)
		return;
	if (b4_db_tx(req->db, decide_tx, &ctx) < 0) {
		cJSON_Delete(ctx.affiliation);
		bo_send_refusal(req, &ctx.refusal);
		return;
	}
	b4_req_send_json(req, 200, ctx.affiliation);
}

void bo_affiliations_approve(struct b4_req *req)
{
	decide(req, "approved", "approved-affiliate");
}

void bo_affiliations_reject(struct b4_req *req)
{
	decide(req, "rejected", "refused-affiliate");
}
