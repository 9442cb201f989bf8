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
#include "b4/storage.h"

#define PAGE_ROWS 1000
#define MAX_ROWS  1000000

int report_init(const struct b4_settings *settings)
{
	(void)settings;
	if (!b4_storage_default()) {
		fprintf(stderr,
			"b4-worker: object storage settings are wrong (see the log line)\n");
		return -1;
	}
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

/* The filters, NULL when absent (SQL binds "? IS NULL OR ..."). */
struct filters {
	const char *status, *payment_method, *producer_id, *affiliate_id, *email, *from, *to;
};

static bool is_date(const char *text)
{
	int y, m, d;
	char tail;

	return strlen(text) == 10 && sscanf(text, "%4d-%2d-%2d%c", &y, &m, &d, &tail) == 3 &&
	       y >= 2000 && y <= 9999 && m >= 1 && m <= 12 && d >= 1 && d <= 31;
}

static bool one_of(const char *text, const char *const *values)
{
	for (size_t i = 0; values[i]; i++)
		if (strcmp(text, values[i]) == 0)
			return true;
	return false;
}

/* Reads filters from obj (may be NULL).  Returns 0, or -1 with err set. */
static int parse_filters(const cJSON *obj, struct filters *f, char *err, size_t errcap)
{
	static const char *const statuses[] = {
	    "waiting_payment", "paid",	   "refused",	 "expired", "refund_requested",
	    "refunded",	       "disputed", "chargeback", NULL};
	static const char *const methods[] = {"card", "pix", "boleto", NULL};
	const cJSON *item;

	memset(f, 0, sizeof(*f));
	if (!obj || cJSON_IsNull(obj))
		return 0;
	if (!cJSON_IsObject(obj)) {
		snprintf(err, errcap, "filters must be an object");
		return -1;
	}
	cJSON_ArrayForEach(item, obj)
	{
		const char *name = item->string, *value = item->valuestring;
		if (cJSON_IsNull(item))
			continue;
		if (!cJSON_IsString(item) || strlen(value) > 254) {
			snprintf(err, errcap, "filters.%.40s must be a short string", name);
			return -1;
		}
		if (strcmp(name, "status") == 0 && one_of(value, statuses))
			f->status = value;
		else if (strcmp(name, "payment_method") == 0 && one_of(value, methods))
			f->payment_method = value;
		else if (strcmp(name, "producer_id") == 0)
			f->producer_id = value;
		else if (strcmp(name, "affiliate_id") == 0)
			f->affiliate_id = value;
		else if (strcmp(name, "email") == 0)
			f->email = value;
		else if (strcmp(name, "from") == 0 && is_date(value))
			f->from = value;
		else if (strcmp(name, "to") == 0 && is_date(value))
			f->to = value;
		else {
			snprintf(err, errcap, "filters.%.40s: unknown filter or bad value", name);
			return -1;
		}
	}
	return 0;
}

/* Appends every matching order to csv; *rows gets the count.  0 or -1. */
static int write_rows(struct b4_db *db, const struct filters *f, struct b4_buf *csv, int64_t *rows)
{
	char after[40] = "";

	*rows = 0;
	for (;;) {
		struct b4_db_result *res = b4_db_query(
		    db,
		    "SELECT o.id, DATE_FORMAT(o.created_at, '%Y-%m-%d %H:%i:%s'),"
		    " IFNULL(DATE_FORMAT(o.paid_at, '%Y-%m-%d %H:%i:%s'), ''), o.status,"
		    " o.payment_method, o.installments, o.product_id, p.name, o.producer_id,"
		    " IFNULL(o.affiliate_id, ''), c.full_name, c.email, o.subtotal_cents,"
		    " o.discount_cents, o.interest_cents, o.total_cents, o.currency"
		    " FROM orders o JOIN products p ON p.id = o.product_id"
		    " JOIN customers c ON c.id = o.customer_id"
		    " WHERE o.id > ?"
		    " AND (? IS NULL OR o.status = ?)"
		    " AND (? IS NULL OR o.payment_method = ?)"
		    " AND (? IS NULL OR o.producer_id = ?)"
		    " AND (? IS NULL OR o.affiliate_id = ?)"
		    " AND (? IS NULL OR c.email = ?)"
		    " AND (? IS NULL OR o.created_at >= ?)"
		    " AND (? IS NULL OR o.created_at < DATE_ADD(?, INTERVAL 1 DAY))"
		    " ORDER BY o.id LIMIT 1000",
		    "sssssssssssssss", after, f->status, f->status, f->payment_method,
		    f->payment_method, f->producer_id, f->producer_id, f->affiliate_id,
		    f->affiliate_id, f->email, f->email, f->from, f->from, f->to, f->to);
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
		if (n < PAGE_ROWS || *rows >= MAX_ROWS)
			return b4_buf_failed(csv) ? -1 : 0;
	}
}

static bool report_id_is_valid(const char *id)
{
	size_t len = strlen(id);

	if (len == 0 || len > 36)
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = id[i];
		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      c == '-' || c == '_'))
			return false;
	}
	return true;
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
	struct filters filters;
	struct b4_buf csv;
	char report_id[40], key[80], *filters_json = NULL;
	int64_t rows = 0;
	int rc = WORKER_RETRY;

	id_item = payload ? cJSON_GetObjectItemCaseSensitive(payload, "report_id") : NULL;
	if (!cJSON_IsString(id_item) || !report_id_is_valid(id_item->valuestring)) {
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
	if (parse_filters(filters_item, &filters, err, errcap) < 0) {
		mark_failed(ctx->db, report_id, err);
		rc = WORKER_FATAL;
		goto out_free_payload;
	}

	b4_buf_init(&csv);
	for (size_t col = 0; col < NCOLUMNS; col++)
		csv_cell(&csv, columns[col], col == 0);
	b4_buf_puts(&csv, "\r\n");
	if (write_rows(ctx->db, &filters, &csv, &rows) < 0) {
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
