/* refunds.c - POST /v1/orders/:id/refunds: an admin asks for a full or
 * partial refund.  Only the request is made here (refund row, order to
 * refund_requested, job refund.process); the worker talks to the acquirer.
 *
 * Idempotency-Key is required and claimed in idempotency_keys (scope
 * "backoffice_refunds") before the work: the claim is its own short commit,
 * so a second request with the key sees it at once (409 while the first
 * runs, 422 with another body, the stored answer once done).  The stored
 * answer is written in the same transaction as the refund; a refused
 * request releases its claim, so it leaves the database as it was. */
#include "backoffice.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "b4/crypto.h"
#include "b4/queue.h"

#define SCOPE "backoffice_refunds"

struct refund_ctx {
	struct b4_req *req;
	const char *order_id;
	const char *idem_key;
	uint64_t claim_id;
	bool amount_given;
	int64_t amount_cents;
	const char *reason;
	/* results */
	struct bo_refusal refusal;
	char *response; /* malloc'd JSON text of the 201 answer */
};

/* Hex SHA-256 of the order id and the canonical (re-printed) body. */
static int request_hash(const char *order_id, const cJSON *body, char out[65])
{
	char *text = cJSON_PrintUnformatted(body);
	unsigned char digest[B4_CRYPTO_SHA256_LEN];
	char *input;
	int rc = -1;

	if (!text)
		return -1;
	if (asprintf(&input, "%s\n%s", order_id, text) >= 0) {
		if (b4_crypto_sha256(input, strlen(input), digest) == 0 &&
		    b4_crypto_hex_encode(digest, sizeof(digest), out, 65) == 0)
			rc = 0;
		free(input);
	}
	free(text);
	return rc;
}

enum claim_result { CLAIM_OWNED, CLAIM_ANSWERED };

/* Claims the key or answers from what another request left.  Returns
 * CLAIM_OWNED (ctx->claim_id set), CLAIM_ANSWERED, or -1 (answered 503). */
static int claim_key(struct refund_ctx *ctx, const char *hash)
{
	struct b4_req *req = ctx->req;

	for (int round = 0; round < 2; round++) {
		struct b4_db_result *res;

		if (b4_db_exec(
			req->db,
			"INSERT INTO idempotency_keys (scope, idem_key, request_hash, status,"
			" locked_until, expires_at) VALUES (?, ?, ?, 'in_progress',"
			" UTC_TIMESTAMP(6) + INTERVAL 60 SECOND,"
			" UTC_TIMESTAMP(6) + INTERVAL 24 HOUR)",
			"sss", SCOPE, ctx->idem_key, hash) >= 0) {
			ctx->claim_id = b4_db_insert_id(req->db);
			return CLAIM_OWNED;
		}
		if (!b4_db_is_duplicate(req->db))
			break;
		res = b4_db_query(req->db,
				  "SELECT id, request_hash, status, response_status, response_body,"
				  " locked_until < UTC_TIMESTAMP(6), expires_at < UTC_TIMESTAMP(6)"
				  " FROM idempotency_keys WHERE scope = ? AND idem_key = ?",
				  "ss", SCOPE, ctx->idem_key);
		if (!res)
			break;
		if (b4_db_rows(res) == 0) { /* released meanwhile: claim again */
			b4_db_result_free(res);
			continue;
		}
		if (b4_db_i64(res, 0, 6) != 0) {
			/* an expired key is forgotten, as if never used */
			uint64_t old = (uint64_t)b4_db_i64(res, 0, 0);
			b4_db_result_free(res);
			if (b4_db_exec(req->db,
				       "DELETE FROM idempotency_keys WHERE id = ?"
				       " AND expires_at < UTC_TIMESTAMP(6)",
				       "u", old) < 0)
				break;
			continue;
		}
		if (strcmp(b4_db_str(res, 0, 2), "in_progress") == 0) {
			bool stale = b4_db_i64(res, 0, 5) != 0;
			uint64_t id = (uint64_t)b4_db_i64(res, 0, 0);
			bool same = strcmp(b4_db_str(res, 0, 1), hash) == 0;
			b4_db_result_free(res);
			/* a claim whose holder died long ago is taken over */
			if (stale && same &&
			    b4_db_exec(
				req->db,
				"UPDATE idempotency_keys SET locked_until = UTC_TIMESTAMP(6)"
				" + INTERVAL 60 SECOND WHERE id = ? AND status = 'in_progress'"
				" AND locked_until < UTC_TIMESTAMP(6)",
				"u", id) == 1) {
				ctx->claim_id = id;
				return CLAIM_OWNED;
			}
			b4_req_errorf(
			    req, 409, "idempotency_error", "idempotency_key_in_use",
			    "Idempotency-Key",
			    "A request with this Idempotency-Key is still being processed.");
			return CLAIM_ANSWERED;
		}
		if (strcmp(b4_db_str(res, 0, 1), hash) != 0) {
			b4_db_result_free(res);
			b4_req_errorf(req, 422, "idempotency_error", "idempotency_key_reused",
				      "Idempotency-Key",
				      "This Idempotency-Key was used with a different request.");
			return CLAIM_ANSWERED;
		}
		b4_req_set_header(req, "Idempotent-Replayed", "true");
		b4_req_send(req, (int)b4_db_i64(res, 0, 3), "application/json",
			    b4_db_str(res, 0, 4), b4_db_len(res, 0, 4));
		b4_db_result_free(res);
		return CLAIM_ANSWERED;
	}
	b4_req_db_error(req);
	return -1;
}

static const struct bo_col refund_cols[] = {
    {"id", BO_STR},	{"order_id", BO_STR},	  {"amount_cents", BO_INT}, {"reason", BO_STR},
    {"status", BO_STR}, {"requested_by", BO_STR}, {"created_at", BO_TIME},  {NULL, BO_STR},
};

static int refund_tx(struct b4_db *db, void *arg)
{
	struct refund_ctx *ctx = arg;
	struct b4_db_result *res;
	char refund_id[37], dedup[64], payload[80];
	int64_t total, refunded, amount;
	cJSON *details, *refund;
	int rc;

	ctx->refusal.status = 0;
	free(ctx->response);
	ctx->response = NULL;
	/* the order row lock serialises refunds of one order; the sum is a
	 * locking read too, so it sees refunds committed while we waited */
	res = b4_db_query(db, "SELECT status, total_cents FROM orders WHERE id = ? FOR UPDATE", "s",
			  ctx->order_id);
	if (!res)
		return -1;
	if (b4_db_rows(res) == 0) {
		b4_db_result_free(res);
		bo_refuse(&ctx->refusal, 404, "not_found", "resource_missing", NULL,
			  "No such order.");
		return -1;
	}
	if (strcmp(b4_db_str(res, 0, 0), "paid") != 0 &&
	    strcmp(b4_db_str(res, 0, 0), "refund_requested") != 0) {
		bo_refuse(&ctx->refusal, 409, "conflict", "order_not_refundable", NULL,
			  "Only paid orders can be refunded; this order is %s.",
			  b4_db_str(res, 0, 0));
		b4_db_result_free(res);
		return -1;
	}
	total = b4_db_i64(res, 0, 1);
	b4_db_result_free(res);
	res = b4_db_query(db,
			  "SELECT IFNULL(SUM(amount_cents), 0) FROM refunds"
			  " WHERE order_id = ? AND status <> 'failed' FOR UPDATE",
			  "s", ctx->order_id);
	if (!res)
		return -1;
	refunded = b4_db_i64(res, 0, 0);
	b4_db_result_free(res);
	if (total - refunded <= 0) {
		bo_refuse(&ctx->refusal, 409, "conflict", "order_fully_refunded", NULL,
			  "The whole order has already been refunded or requested.");
		return -1;
	}
	amount = ctx->amount_given ? ctx->amount_cents : total - refunded;
	if (amount > total - refunded) {
		bo_refuse(&ctx->refusal, 422, "invalid_request_error", "amount_too_large",
			  "amount_cents",
			  "amount_cents may be at most %lld (total %lld, already %lld).",
			  (long long)(total - refunded), (long long)total, (long long)refunded);
		return -1;
	}

	if (b4_crypto_uuid7(refund_id) < 0)
		return -1;
	snprintf(dedup, sizeof(dedup), "refund:%s", refund_id);
	snprintf(payload, sizeof(payload), "{\"refund_id\":\"%s\"}", refund_id);
	if (b4_db_exec(
		db,
		"INSERT INTO refunds (id, order_id, amount_cents, reason, status, requested_by)"
		" VALUES (?, ?, ?, ?, 'requested', ?)",
		"ssiss", refund_id, ctx->order_id, amount, ctx->reason,
		ctx->req->caller.user_id) < 0)
		return -1;
	/* forward only: paid -> refund_requested (already there for the rest
	 * of a partial refund) */
	if (b4_db_exec(db,
		       "UPDATE orders SET status = 'refund_requested'"
		       " WHERE id = ? AND status IN ('paid', 'refund_requested')",
		       "s", ctx->order_id) < 0)
		return -1;
	if (b4_queue_enqueue(db, "refund.process", payload, dedup, 0) < 0)
		return -1;

	res = b4_db_query(
	    db,
	    "SELECT id, order_id, amount_cents, reason, status, requested_by, created_at"
	    " FROM refunds WHERE id = ?",
	    "s", refund_id);
	if (!res || b4_db_rows(res) != 1) {
		b4_db_result_free(res);
		return -1;
	}
	refund = bo_row_json(res, 0, refund_cols);
	b4_db_result_free(res);
	ctx->response = cJSON_PrintUnformatted(refund);
	cJSON_Delete(refund);
	if (!ctx->response)
		return -1;

	details = cJSON_CreateObject();
	cJSON_AddStringToObject(details, "refund_id", refund_id);
	cJSON_AddNumberToObject(details, "amount_cents", (double)amount);
	cJSON_AddNumberToObject(details, "total_cents", (double)total);
	cJSON_AddNumberToObject(details, "already_refunded_cents", (double)refunded);
	cJSON_AddStringToObject(details, "reason", ctx->reason);
	cJSON_AddStringToObject(details, "idempotency_key", ctx->idem_key);
	rc = bo_audit(ctx->req, "order.refund_requested", "order", ctx->order_id, details);
	cJSON_Delete(details);
	if (rc < 0)
		return -1;
	if (b4_db_exec(db,
		       "UPDATE idempotency_keys SET status = 'done', response_status = 201,"
		       " response_body = ?, resource_id = ?, locked_until = NULL WHERE id = ?",
		       "ssu", ctx->response, refund_id, ctx->claim_id) != 1)
		return -1;
	return 0;
}

void bo_refunds_create(struct b4_req *req)
{
	static const char *const allowed[] = {"amount_cents", "reason", NULL};
	struct refund_ctx ctx = {.req = req, .order_id = b4_req_param(req, "id")};
	const cJSON *body;
	struct b4_error err;
	char hash[65];

	if (!b4_text_is_uuid(ctx.order_id)) {
		b4_req_not_found(req, "order");
		return;
	}
	ctx.idem_key = b4_req_header(req, "Idempotency-Key");
	if (!ctx.idem_key || !*ctx.idem_key || strlen(ctx.idem_key) > 255) {
		b4_req_errorf(req, 400, "invalid_request_error", "idempotency_key_required",
			      "Idempotency-Key",
			      "An Idempotency-Key header of 1 to 255 characters is required.");
		return;
	}
	body = b4_req_json_body(req);
	if (!body)
		return;
	if (b4_json_reject_unknown(body, allowed, NULL, &err) < 0 ||
	    b4_json_get_str(body, "reason", B4_JSON_REQUIRED, 1, 500, &ctx.reason, &err) < 0 ||
	    b4_json_get_int(body, "amount_cents", B4_JSON_OPTIONAL, 1, INT64_C(1) << 52,
			    &ctx.amount_cents, &err) < 0) {
		b4_req_send_error(req, &err);
		return;
	}
	ctx.amount_given = cJSON_GetObjectItemCaseSensitive(body, "amount_cents") != NULL;
	if (request_hash(ctx.order_id, body, hash) < 0) {
		b4_req_errorf(req, 500, "api_error", "internal_error", NULL,
			      "Could not hash the request.");
		return;
	}
	if (claim_key(&ctx, hash) != CLAIM_OWNED)
		return;
	if (b4_db_tx(req->db, refund_tx, &ctx) < 0) {
		/* nothing was done: release the claim so the key can be used again */
		b4_db_exec(req->db,
			   "DELETE FROM idempotency_keys WHERE id = ? AND status = 'in_progress'",
			   "u", ctx.claim_id);
		bo_send_refusal(req, &ctx.refusal);
		free(ctx.response);
		return;
	}
	b4_req_send(req, 201, "application/json", ctx.response, strlen(ctx.response));
	free(ctx.response);
}
