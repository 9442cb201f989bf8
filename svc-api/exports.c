/* exports.c - the producer's CSV export of their sales.
 *
 * A large producer's sales do not fit one request: the export is a
 * "report.export" job (workers/export.c, the machinery the back-office
 * reports use), written to object storage by b4-worker, read back here.
 * The client creates it, polls its status and downloads the file.  A
 * producer exports only the orders of their own products (co-producers
 * and affiliates never see order totals or buyers, see sales.c). */
#include "api.h"
#include "b4/crypto.h"
#include "b4/orders.h"
#include "b4/storage.h"

#include <stdlib.h>
#include <string.h>

struct export_tx {
	const struct b4_order_filters *filters;
	const char *producer_id;
	char id[37];
};

static int export_write(struct b4_db *db, void *arg)
{
	struct export_tx *t = arg;

	return b4_order_report_enqueue(db, t->id, "sales", t->filters, t->producer_id);
}

static const char *const export_fields[] = {"status", "payment_method", "product_id", "from", "to",
					    NULL};

void api_export_create(struct b4_req *req)
{
	const cJSON *body = api_body(req, export_fields, true);
	struct b4_order_filters filters;
	struct export_tx t = {.filters = &filters, .producer_id = req->caller.user_id};
	struct b4_error err;
	cJSON *out;

	if (!body)
		return;
	if (b4_order_filters_from_json(body, &filters, &err) < 0) {
		api_fail(req, &err);
		return;
	}
	if (filters.product_id && !api_require_product(req, filters.product_id))
		return;
	filters.producer_id = req->caller.user_id;
	if (b4_crypto_uuid7(t.id) < 0 || b4_db_tx(req->db, export_write, &t) < 0) {
		b4_req_db_error(req);
		return;
	}
	out = cJSON_CreateObject();
	cJSON_AddStringToObject(out, "id", t.id);
	cJSON_AddStringToObject(out, "status", "pending");
	cJSON_AddNullToObject(out, "download_url");
	b4_req_send_json(req, 202, out);
}

/* The caller's export `id` (locked to them), or NULL after answering. */
static struct b4_db_result *export_load(struct b4_req *req)
{
	const char *id = api_id_param(req, "id");
	struct b4_db_result *res;

	if (!id) {
		b4_req_not_found(req, "export");
		return NULL;
	}
	res = b4_db_query(req->db,
			  "SELECT id, status, row_count, error, created_at, finished_at,"
			  " storage_key FROM reports WHERE id = ? AND created_by = ?"
			  " AND kind = 'sales'",
			  "ss", id, req->caller.user_id);
	return api_found(req, res, "export") ? res : NULL;
}

void api_export_get(struct b4_req *req)
{
	struct b4_db_result *res = export_load(req);
	cJSON *out;
	bool done;

	if (!res)
		return;
	out = cJSON_CreateObject();
	done = strcmp(b4_db_str(res, 0, 1), "done") == 0;
	cJSON_AddStringToObject(out, "id", b4_db_str(res, 0, 0));
	cJSON_AddStringToObject(out, "status", b4_db_str(res, 0, 1));
	if (b4_db_is_null(res, 0, 2))
		cJSON_AddNullToObject(out, "row_count");
	else
		cJSON_AddNumberToObject(out, "row_count", (double)b4_db_i64(res, 0, 2));
	api_add_str_or_null(out, "error", res, 0, 3);
	api_add_time(out, "created_at", res, 0, 4);
	api_add_time(out, "finished_at", res, 0, 5);
	if (done)
		cJSON_AddStringToObject(out, "download_url",
					b4_arena_printf(req->arena,
							"/api/v1/sales/exports/%s/download",
							b4_db_str(res, 0, 0)));
	else
		cJSON_AddNullToObject(out, "download_url");
	b4_db_result_free(res);
	b4_req_send_json(req, 200, out);
}

void api_export_download(struct b4_req *req)
{
	struct b4_db_result *res = export_load(req);
	struct b4_storage *storage;
	char *data = NULL;
	size_t len = 0;
	int rc;

	if (!res)
		return;
	if (strcmp(b4_db_str(res, 0, 1), "done") != 0) {
		b4_req_errorf(req, 409, "conflict", "export_not_ready", NULL,
			      "The export is %s; it can be downloaded once done.",
			      b4_db_str(res, 0, 1));
		b4_db_result_free(res);
		return;
	}
	storage = b4_storage_default();
	rc = storage ? b4_storage_get(storage, b4_db_str(res, 0, 6), &data, &len) : -1;
	if (rc != 1) {
		free(data);
		b4_db_result_free(res);
		b4_req_errorf(req, rc == 0 ? 404 : 503, rc == 0 ? "not_found" : "api_error",
			      rc == 0 ? "export_file_missing" : "storage_unavailable", NULL,
			      "The export file could not be read.");
		return;
	}
	b4_req_set_header(req, "Content-Disposition",
			  b4_arena_printf(req->arena, "attachment; filename=\"vendas-%s.csv\"",
					  b4_db_str(res, 0, 0)));
	b4_req_set_header(req, "Cache-Control", "no-store");
	b4_req_send(req, 200, "text/csv; charset=utf-8", data, len);
	free(data);
	b4_db_result_free(res);
}
