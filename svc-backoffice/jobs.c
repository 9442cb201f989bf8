/* jobs.c - /v1/jobs: the queue by status and type, and retry of a dead job
 * (back to ready with its attempts reset). */
#include "backoffice.h"

#include <string.h>

static const struct bo_col job_cols[] = {
    {"id", BO_STR},	      {"type", BO_STR},	       {"payload", BO_JSON},
    {"dedup_key", BO_STR},    {"status", BO_STR},      {"attempts", BO_INT},
    {"max_attempts", BO_INT}, {"run_at", BO_TIME},     {"last_error", BO_STR},
    {"created_at", BO_TIME},  {"updated_at", BO_TIME}, {NULL, BO_STR},
};
#define JOB_SELECT                                                                                 \
	"SELECT id, type, payload, dedup_key, status, attempts, max_attempts, run_at,"             \
	" last_error, created_at, updated_at FROM jobs"

void bo_jobs_list(struct b4_req *req)
{
	static const char *const statuses[] = {"ready", "running", "done", "dead", NULL};
	const char *after, *status, *type = b4_req_query(req, "type");
	struct b4_db_result *res;
	int limit;

	if (bo_query_page_numeric(req, &limit, &after) < 0 ||
	    bo_query_enum(req, "status", statuses, &status) < 0)
		return;
	if (type && !bo_is_name(type, 64, "._-")) {
		b4_req_errorf(req, 400, "invalid_request_error", "invalid_parameter", "type",
			      "type must be 1 to 64 of a-z 0-9 . _ -.");
		return;
	}
	res = b4_db_query(req->db,
			  JOB_SELECT " WHERE (? IS NULL OR id < ?)"
				     " AND (? IS NULL OR status = ?)"
				     " AND (? IS NULL OR type = ?)"
				     " ORDER BY id DESC LIMIT ?",
			  "ssssssI", after, after, status, status, type, type, limit + 1);
	if (!res) {
		b4_req_db_error(req);
		return;
	}
	bo_send_page(req, res, limit, job_cols);
}

struct retry_ctx {
	struct b4_req *req;
	const char *id;
	struct bo_refusal refusal;
	cJSON *job;
};

static int retry_tx(struct b4_db *db, void *arg)
{
	struct retry_ctx *ctx = arg;
	struct b4_db_result *res;
	cJSON *details;
	bool gone;
	int rc;

	ctx->refusal.status = 0;
	cJSON_Delete(ctx->job);
	ctx->job = NULL;
	res = b4_db_query(db, "SELECT status, attempts, type FROM jobs WHERE id = ? FOR UPDATE",
			  "s", ctx->id);
	if (!res)
		return -1;
	if (b4_db_rows(res) == 0) {
		b4_db_result_free(res);
		bo_refuse(&ctx->refusal, 404, "not_found", "resource_missing", NULL,
			  "No such job.");
		return -1;
	}
	if (strcmp(b4_db_str(res, 0, 0), "dead") != 0) {
		bo_refuse(&ctx->refusal, 409, "conflict", "job_not_dead", NULL,
			  "Only dead jobs can be retried; this one is %s.", b4_db_str(res, 0, 0));
		b4_db_result_free(res);
		return -1;
	}
	details = cJSON_CreateObject();
	cJSON_AddStringToObject(details, "type", b4_db_str(res, 0, 2));
	cJSON_AddNumberToObject(details, "attempts_before", (double)b4_db_i64(res, 0, 1));
	b4_db_result_free(res);
	rc = b4_db_exec(db,
			"UPDATE jobs SET status = 'ready', attempts = 0, run_at = UTC_TIMESTAMP(6),"
			" leased_until = NULL, lease_owner = NULL WHERE id = ? AND status = 'dead'",
			"s", ctx->id) != 1 ||
		     bo_audit(ctx->req, "job.retry", "job", ctx->id, details) < 0
		 ? -1
		 : 0;
	cJSON_Delete(details);
	if (rc < 0)
		return -1;
	ctx->job = bo_fetch_one(db, JOB_SELECT " WHERE id = ?", ctx->id, job_cols, &gone);
	return ctx->job ? 0 : -1;
}

void bo_jobs_retry(struct b4_req *req)
{
	struct retry_ctx ctx = {.req = req, .id = b4_req_param(req, "id")};

	if (!b4_text_is_digits(ctx.id)) {
		b4_req_not_found(req, "job");
		return;
	}
	if (b4_db_tx(req->db, retry_tx, &ctx) < 0) {
		cJSON_Delete(ctx.job);
		bo_send_refusal(req, &ctx.refusal);
		return;
	}
	b4_req_send_json(req, 200, ctx.job);
}
