/* reports.c - /v1/reports: an orders CSV export made by b4-worker
 * (report.export) into object storage, its status, and its download. */
#include "backoffice.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "b4/crypto.h"
#include "b4/queue.h"
#include "b4/storage.h"

struct report_ctx {
	struct b4_req *req;
	const struct b4_order_filters *filters;
	char id[37];
};

static int report_tx(struct b4_db *db, void *arg)
{
	struct report_ctx *ctx = arg;
	cJSON *details = cJSON_CreateObject();
	int rc = -1;

	cJSON_AddItemToObject(details, "filters", b4_order_filters_to_json(ctx->filters));
	if (b4_order_report_enqueue(db, ctx->id, "orders", ctx->filters,
				    ctx->req->caller.user_id) == 0 &&
	    bo_audit(ctx->req, "report.create", "report", ctx->id, details) == 0)
		rc = 0;
	cJSON_Delete(details);
	return rc;
}

void bo_reports_create(struct b4_req *req)
{
	struct b4_order_filters filters;
	struct report_ctx ctx = {.req = req, .filters = &filters};
	const cJSON *body;
	struct b4_error err;
	cJSON *answer;

	/* an empty body is an export of every order */
	body = req->body_len ? b4_req_json_body(req) : NULL;
	if (req->body_len && !body)
		return;
	if (!body)
		memset(&filters, 0, sizeof(filters));
	else if (b4_order_filters_from_json(body, &filters, &err) < 0) {
		b4_req_send_error(req, &err);
		return;
	}
	if (b4_crypto_uuid7(ctx.id) < 0 || b4_db_tx(req->db, report_tx, &ctx) < 0) {
		b4_req_db_error(req);
		return;
	}
	answer = cJSON_CreateObject();
	cJSON_AddStringToObject(answer, "id", ctx.id);
	cJSON_AddStringToObject(answer, "status", "pending");
	b4_req_send_json(req, 202, answer);
}

static const struct bo_col report_cols[] = {
    {"id", BO_STR},	     {"kind", BO_STR},	      {"status", BO_STR},
    {"filters", BO_JSON},    {"row_count", BO_INT},   {"error", BO_STR},
    {"created_by", BO_STR},  {"created_at", BO_TIME}, {"finished_at", BO_TIME},
    {"storage_key", BO_STR}, {NULL, BO_STR},
};

/* The report as JSON; answers 404/503 and returns NULL when there is none. */
static cJSON *load_report(struct b4_req *req, const char *id)
{
	if (!b4_text_is_uuid(id)) {
		b4_req_not_found(req, "report");
		return NULL;
	}
	return bo_fetch_or_answer(req,
				  "SELECT id, kind, status, filters, row_count, error, created_by,"
				  " created_at, finished_at, storage_key FROM reports WHERE id = ?",
				  id, report_cols, "report");
}

static bool report_is_done(const cJSON *report)
{
	const char *status = cJSON_GetStringValue(cJSON_GetObjectItem(report, "status"));

	return status && strcmp(status, "done") == 0 &&
	       cJSON_GetStringValue(cJSON_GetObjectItem(report, "storage_key"));
}

void bo_reports_get(struct b4_req *req)
{
	const char *id = b4_req_param(req, "id");
	cJSON *report = load_report(req, id);

	if (!report)
		return;
	if (report_is_done(report))
		cJSON_AddStringToObject(
		    report, "download_url",
		    b4_arena_printf(req->arena, "/backoffice/v1/reports/%s/download", id));
	else
		cJSON_AddNullToObject(report, "download_url");
	b4_req_send_json(req, 200, report);
}

void bo_reports_download(struct b4_req *req)
{
	const char *id = b4_req_param(req, "id");
	cJSON *report = load_report(req, id);
	struct b4_storage *storage;
	char *data = NULL, *key;
	size_t len = 0;
	int rc;

	if (!report)
		return;
	if (!report_is_done(report)) {
		b4_req_errorf(req, 409, "conflict", "report_not_ready", NULL,
			      "The report is %s; it can be downloaded once done.",
			      cJSON_GetStringValue(cJSON_GetObjectItem(report, "status")));
		cJSON_Delete(report);
		return;
	}
	key = b4_arena_strdup(req->arena,
			      cJSON_GetStringValue(cJSON_GetObjectItem(report, "storage_key")));
	cJSON_Delete(report);
	storage = b4_storage_default();
	rc = storage && key ? b4_storage_get(storage, key, &data, &len) : -1;
	if (rc != 1) {
		free(data);
		b4_req_errorf(req, rc == 0 ? 404 : 503, rc == 0 ? "not_found" : "api_error",
			      rc == 0 ? "report_file_missing" : "storage_unavailable", NULL,
			      "The report file could not be read.");
		return;
	}
	b4_req_set_header(
	    req, "Content-Disposition",
	    b4_arena_printf(req->arena, "attachment; filename=\"report-%s.csv\"", id));
	b4_req_send(req, 200, "text/csv; charset=utf-8", data, len);
	free(data);
}
