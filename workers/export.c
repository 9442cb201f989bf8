/* export.c - "report.export": orders as CSV (RFC 4180) in object storage
 * under reports/<report_id>.csv; see invoice.h.
 *
 * Cells that a spreadsheet would run as a formula (starting with = + - @,
 * tab or carriage return) get a leading apostrophe: a buyer named
 * "=HYPERLINK(...)" stays text when an admin opens the file.
 */
#include "invoice.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "b4/buf.h"
#include "b4/db.h"
#include "b4/log.h"
#include "b4/orders.h"
#include "b4/prodcheck.h"
#include "b4/storage.h"

#define PAGE_ROWS 1000
#define MAX_ROWS  1000000

int report_init(const struct b4_settings *settings)
{
	if (!b4_storage_default()) {
		fprintf(stderr,
			"b4-worker: object storage settings are wrong (see the log line)\n");
		return -1;
	}
	/* several tasks share the objects: production keeps them in S3 */
	if (settings->env == B4_ENV_PRODUCTION &&
	    b4_prodcheck_storage("b4-worker", b4_storage_default(), stderr) < 0)
		return -1;
	return 0;
}

/* Appends one CSV cell (and the separator before it unless first). */
static void csv_cell(struct b4_buf *out, const char *text, bool first)
{
	bool quote = strpbrk(text, ",\"\r\n") != NULL;

	if (!first)
		b4_buf_puts(out, ",");
	if (quote)
		b4_buf_puts(out, "\"");
	if (strchr("=+-@\t\r", text[0]) && text[0] != '\0')
		b4_buf_puts(out, "'");
	for (const char *p = text; *p; p++) {
		if (*p == '"')
			b4_buf_puts(out, "\"\"");
		else
			b4_buf_append(out, p, 1);
	}
	if (quote)
		b4_buf_puts(out, "\"");
}

static const char *const columns[] = {
    "order_id",	     "created_at",     "paid_at",	 "status",	   "payment_method",
    "installments",  "product_id",     "product_name",	 "producer_id",	   "affiliate_id",
    "customer_name", "customer_email", "subtotal_cents", "discount_cents", "interest_cents",
    "total_cents",   "currency",
};
#define NCOLUMNS (sizeof(columns) / sizeof(columns[0]))

/* Appends every matching order to csv; *rows gets the count.  Returns 0,
 * -1 on a database error, -2 when more than MAX_ROWS orders match (a
 * report cut short would mislead: the caller fails it instead). */
static int write_rows(struct b4_db *db, const struct b4_order_filters *f, struct b4_buf *csv,
		      int64_t *rows)
{
	char after[40] = "";

	*rows = 0;
	for (;;) {
		struct b4_db_result *res = b4_db_query(
		    db,
		    "SELECT o.id, DATE_FORMAT(o.created_at, '%Y-%m-%d %H:%i:%s'),"
		    " IFNULL(DATE_FORMAT(o.paid_at, '%Y-%m-%d %H:%i:%s'), ''), o.status,"
		    " o.payment_method, o.installments, o.product_id, p.name, o.producer_id,"
		    " IFNULL(o.affiliate_id, ''), COALESCE(o.buyer_name, c.full_name),"
		    " COALESCE(o.buyer_email, c.email), o.subtotal_cents,"
		    " o.discount_cents, o.interest_cents, o.total_cents, o.currency"
		    " FROM orders o JOIN products p ON p.id = o.product_id"
		    " JOIN customers c ON c.id = o.customer_id"
		    " WHERE o.id > ?" B4_ORDER_FILTER_SQL " ORDER BY o.id LIMIT 1000",
		    "s" B4_ORDER_FILTER_TYPES, after, B4_ORDER_FILTER_ARGS(f));
		size_t n;

		if (!res)
			return -1;
		n = b4_db_rows(res);
		for (size_t r = 0; r < n; r++) {
			for (size_t col = 0; col < NCOLUMNS; col++)
				csv_cell(csv, b4_db_str(res, r, col), col == 0);
			b4_buf_puts(csv, "\r\n");
		}
		*rows += (int64_t)n;
		if (n > 0)
			snprintf(after, sizeof(after), "%s", b4_db_str(res, n - 1, 0));
		b4_db_result_free(res);
		if (*rows > MAX_ROWS)
			return -2;
		if (n < PAGE_ROWS)
			return b4_buf_failed(csv) ? -1 : 0;
	}
}

static void mark_failed(struct b4_db *db, const char *report_id, const char *error)
{
	b4_db_exec(db,
		   "UPDATE reports SET status = 'failed', error = LEFT(?, 255),"
		   " finished_at = UTC_TIMESTAMP(6) WHERE id = ?",
		   "ss", error, report_id);
}

int report_export_job(struct worker_ctx *ctx, const struct b4_job *job, char *err, size_t errcap)
{
	cJSON *payload = cJSON_Parse(job->payload ? job->payload : "");
	const cJSON *id_item, *filters_item;
	struct b4_storage *st = b4_storage_default();
	struct b4_order_filters filters;
	struct b4_error filter_err;
	struct b4_buf csv;
	char report_id[40], key[80], *filters_json = NULL;
	int64_t rows = 0;
	int rc = WORKER_RETRY;

	id_item = payload ? cJSON_GetObjectItemCaseSensitive(payload, "report_id") : NULL;
	if (!cJSON_IsString(id_item) || !worker_id_is_valid(id_item->valuestring, 36)) {
		snprintf(err, errcap, "payload needs report_id");
		cJSON_Delete(payload);
		return WORKER_FATAL;
	}
	snprintf(report_id, sizeof(report_id), "%s", id_item->valuestring);
	snprintf(key, sizeof(key), "reports/%s.csv", report_id);
	if (!ctx->db || !st) {
		snprintf(err, errcap, ctx->db ? "storage not configured" : "no database");
		cJSON_Delete(payload);
		return WORKER_RETRY;
	}
	filters_item = cJSON_GetObjectItemCaseSensitive(payload, "filters");
	filters_json = filters_item ? cJSON_PrintUnformatted(filters_item) : NULL;
	/* the back-office normally created the row; a bare job makes its own */
	if (b4_db_exec(ctx->db,
		       "INSERT INTO reports (id, status, filters) VALUES (?, 'running', ?)"
		       " ON DUPLICATE KEY UPDATE status = IF(status = 'done', status, 'running'),"
		       " error = NULL",
		       "ss", report_id, filters_json) < 0) {
		snprintf(err, errcap, "database: %s", b4_db_error(ctx->db));
		goto out_free_payload;
	}
	if (b4_order_filters_from_json(filters_item, &filters, &filter_err) < 0) {
		snprintf(err, errcap, "filters.%s: %s", filter_err.param, filter_err.message);
		mark_failed(ctx->db, report_id, err);
		rc = WORKER_FATAL;
		goto out_free_payload;
	}

	b4_buf_init(&csv);
	for (size_t col = 0; col < NCOLUMNS; col++)
		csv_cell(&csv, columns[col], col == 0);
	b4_buf_puts(&csv, "\r\n");
	switch (write_rows(ctx->db, &filters, &csv, &rows)) {
	case 0:
		break;
	case -2:
		snprintf(err, errcap, "more than %d orders match: narrow the filters", MAX_ROWS);
		mark_failed(ctx->db, report_id, err);
		rc = WORKER_FATAL;
		goto out_free_csv;
	default:
		snprintf(err, errcap, "database: %s", b4_db_error(ctx->db));
		goto out_free_csv;
	}
	if (b4_storage_put(st, key, csv.data, csv.len, "text/csv; charset=utf-8") < 0) {
		snprintf(err, errcap, "storage put failed");
		goto out_free_csv;
	}
	if (b4_db_exec(ctx->db,
		       "UPDATE reports SET status = 'done', storage_key = ?, row_count = ?,"
		       " error = NULL, finished_at = UTC_TIMESTAMP(6) WHERE id = ?",
		       "sis", key, rows, report_id) < 0) {
		snprintf(err, errcap, "database: %s", b4_db_error(ctx->db));
		goto out_free_csv;
	}
	b4_log_info("report exported", B4_LS("report_id", report_id), B4_LI("rows", rows),
		    B4_LS("storage_key", key));
	rc = WORKER_DONE;
out_free_csv:
	b4_buf_cleanup(&csv);
out_free_payload:
	if (rc == WORKER_RETRY && job->attempts >= job->max_attempts && job->max_attempts > 0)
		mark_failed(ctx->db, report_id, err);
	free(filters_json);
	cJSON_Delete(payload);
	return rc;
}
