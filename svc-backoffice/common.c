/* common.c - helpers every back-office handler shares: rows to JSON, keyset
 * pages, query validation, the order filters, audit rows, refusals. */
#include "backoffice.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "b4/br.h"
#include "b4/json.h"
#include "b4/pii.h"

#include <openssl/crypto.h>
#include <pthread.h>

cJSON *bo_row_json(const struct b4_db_result *res, size_t row, const struct bo_col *cols)
{
	cJSON *obj = cJSON_CreateObject();

	for (size_t c = 0; cols[c].name; c++) {
		const char *text = b4_db_str(res, row, c);
		char when[24];

		if (b4_db_is_null(res, row, c) && cols[c].kind != BO_BOOL) {
			cJSON_AddNullToObject(obj, cols[c].name);
			continue;
		}
		switch (cols[c].kind) {
		case BO_STR:
			cJSON_AddStringToObject(obj, cols[c].name, text);
			break;
		case BO_INT:
			cJSON_AddNumberToObject(obj, cols[c].name, (double)b4_db_i64(res, row, c));
			break;
		case BO_BOOL:
			cJSON_AddBoolToObject(obj, cols[c].name, b4_db_i64(res, row, c) != 0);
			break;
		case BO_NUM:
			cJSON_AddNumberToObject(obj, cols[c].name, strtod(text, NULL));
			break;
		case BO_TIME:
			/* "YYYY-MM-DD HH:MM:SS.ffffff" (UTC session) -> RFC 3339 */
			if (strlen(text) < 19) {
				cJSON_AddStringToObject(obj, cols[c].name, text);
				break;
			}
			snprintf(when, sizeof(when), "%.10sT%.8sZ", text, text + 11);
			cJSON_AddStringToObject(obj, cols[c].name, when);
			break;
		case BO_JSON: {
			cJSON *value = cJSON_ParseWithLength(text, b4_db_len(res, row, c));
			if (value)
				cJSON_AddItemToObject(obj, cols[c].name, value);
			else
				cJSON_AddNullToObject(obj, cols[c].name);
			break;
		}
		}
	}
	return obj;
}

void bo_send_page(struct b4_req *req, struct b4_db_result *res, int limit,
		  const struct bo_col *cols)
{
	cJSON *root = cJSON_CreateObject();
	cJSON *data = cJSON_AddArrayToObject(root, "data");
	size_t rows = b4_db_rows(res);

	for (size_t i = 0; i < rows && i < (size_t)limit; i++)
		cJSON_AddItemToArray(data, bo_row_json(res, i, cols));
	cJSON_AddBoolToObject(root, "has_more", rows > (size_t)limit);
	b4_db_result_free(res);
	b4_req_send_json(req, 200, root);
}

bool bo_is_name(const char *text, size_t max_len, const char *extra)
{
	size_t n = text ? strlen(text) : 0;

	if (n == 0 || n > max_len)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((text[i] >= 'a' && text[i] <= 'z') || (text[i] >= '0' && text[i] <= '9') ||
		      strchr(extra, text[i])))
			return false;
	return true;
}

cJSON *bo_fetch_one(struct b4_db *db, const char *sql, const char *id, const struct bo_col *cols,
		    bool *missing)
{
	struct b4_db_result *res = b4_db_query(db, sql, "s", id);
	cJSON *obj = NULL;

	*missing = false;
	if (!res)
		return NULL;
	if (b4_db_rows(res) > 0)
		obj = bo_row_json(res, 0, cols);
	else
		*missing = true;
	b4_db_result_free(res);
	return obj;
}

cJSON *bo_fetch_or_answer(struct b4_req *req, const char *sql, const char *id,
			  const struct bo_col *cols, const char *what)
{
	bool missing;
	cJSON *obj = bo_fetch_one(req->db, sql, id, cols, &missing);

	if (!obj) {
		if (missing)
			b4_req_not_found(req, what);
		else
			b4_req_db_error(req);
	}
	return obj;
}

void bo_list_by_status(struct b4_req *req, const char *sql, const char *const *statuses,
		       const struct bo_col *cols)
{
	const char *after, *status;
	struct b4_db_result *res;
	int limit;

	if (b4_req_page(req, &limit, &after) < 0 ||
	    bo_query_enum(req, "status", statuses, &status) < 0)
		return;
	res = b4_db_query(req->db, sql, "ssssI", after, after, status, status, limit + 1);
	if (!res) {
		b4_req_db_error(req);
		return;
	}
	bo_send_page(req, res, limit, cols);
}

static int bad_query(struct b4_req *req, const char *name, const char *what)
{
	b4_req_errorf(req, 400, "invalid_request_error", "invalid_parameter", name,
		      "%s must be %s.", name, what);
	return -1;
}

int bo_query_enum(struct b4_req *req, const char *name, const char *const *values, const char **out)
{
	const char *text = b4_req_query(req, name);
	char list[256] = "";

	*out = NULL;
	if (!text)
		return 0;
	for (size_t i = 0; values[i]; i++) {
		if (strcmp(text, values[i]) == 0) {
			*out = values[i];
			return 0;
		}
		snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%s", i ? ", " : "",
			 values[i]);
	}
	b4_req_errorf(req, 400, "invalid_request_error", "invalid_parameter", name,
		      "%s must be one of: %s.", name, list);
	return -1;
}

int bo_query_uuid(struct b4_req *req, const char *name, const char **out)
{
	*out = b4_req_query(req, name);
	if (*out && !b4_text_is_uuid(*out))
		return bad_query(req, name, "a UUID");
	return 0;
}

int bo_query_date(struct b4_req *req, const char *name, const char **out)
{
	*out = b4_req_query(req, name);
	if (*out && !b4_text_is_date(*out))
		return bad_query(req, name, "a date YYYY-MM-DD");
	return 0;
}

int bo_query_text(struct b4_req *req, const char *name, size_t max_chars, const char **out)
{
	*out = b4_req_query(req, name);
	if (*out && (!**out || !b4_json_text_is_valid(*out, max_chars, NULL)))
		return bad_query(req, name, "non-empty text of limited length");
	return 0;
}

int bo_query_range(struct b4_req *req, const char **from, const char **to)
{
	if (bo_query_date(req, "from", from) < 0 || bo_query_date(req, "to", to) < 0)
		return -1;
	if (*from && *to && strcmp(*from, *to) > 0)
		return bad_query(req, "to", "on or after from");
	return 0;
}

int bo_query_page_numeric(struct b4_req *req, int *limit, const char **after)
{
	if (b4_req_page(req, limit, after) < 0)
		return -1;
	if (*after && !b4_text_is_digits(*after))
		return bad_query(req, "starting_after", "an id from a previous page");
	return 0;
}

const char *bo_like_escape(struct b4_req *req, const char *text)
{
	char *out, *p;

	if (!text)
		return NULL;
	out = b4_arena_alloc(req->arena, strlen(text) * 2 + 1);
	if (!out)
		return text;
	for (p = out; *text; text++) {
		if (*text == '%' || *text == '_' || *text == '\\')
			*p++ = '\\';
		*p++ = *text;
	}
	*p = '\0';
	return out;
}

static pthread_once_t pii_once = PTHREAD_ONCE_INIT;

/* The field keys, for a start-up that did not load them (b4-backoffice's
 * init normally does). */
static void pii_load(void)
{
	if (!b4_pii_ready())
		b4_pii_init("b4-backoffice");
}

/* ?document= (a CPF or CNPJ, any punctuation) as its blind index. */
static int query_document(struct b4_req *req, const char **bidx)
{
	const char *text = b4_req_query(req, "document");
	enum b4_br_document_type type;
	char digits[32], *hex;
	int rc;

	*bidx = NULL;
	if (!text)
		return 0;
	if (strlen(text) > 32 || b4_br_document_normalize(text, digits, sizeof(digits), &type) < 0)
		return bad_query(req, "document", "a valid CPF or CNPJ");
	pthread_once(&pii_once, pii_load);
	hex = b4_arena_alloc(req->arena, 65);
	rc = hex ? b4_pii_blind_index("document", digits, hex) : -1;
	OPENSSL_cleanse(digits, sizeof(digits));
	if (rc < 0) {
		b4_req_errorf(req, 503, "api_error", "unavailable", NULL,
			      "Document search is not available.");
		return -1;
	}
	*bidx = hex;
	return 0;
}

int bo_order_filters_from_query(struct b4_req *req, struct b4_order_filters *f)
{
	memset(f, 0, sizeof(*f));
	if (query_document(req, &f->document_bidx) < 0)
		return -1;
	if (bo_query_enum(req, "status", b4_order_statuses, &f->status) < 0 ||
	    bo_query_enum(req, "payment_method", b4_payment_methods, &f->payment_method) < 0 ||
	    bo_query_uuid(req, "producer_id", &f->producer_id) < 0 ||
	    bo_query_uuid(req, "affiliate_id", &f->affiliate_id) < 0 ||
	    bo_query_uuid(req, "product_id", &f->product_id) < 0 ||
	    bo_query_text(req, "email", 254, &f->email) < 0 ||
	    bo_query_range(req, &f->from, &f->to) < 0)
		return -1;
	return 0;
}

int bo_optional_reason(struct b4_req *req, const char **reason)
{
	static const char *const allowed[] = {"reason", NULL};
	const cJSON *body;
	struct b4_error err;

	*reason = NULL;
	if (req->body_len == 0)
		return 0;
	body = b4_req_json_body(req);
	if (!body)
		return -1;
	if (b4_json_reject_unknown(body, allowed, NULL, &err) < 0 ||
	    b4_json_get_str(body, "reason", B4_JSON_OPTIONAL, 1, 500, reason, &err) < 0) {
		b4_req_send_error(req, &err);
		return -1;
	}
	return 0;
}

int bo_audit(struct b4_req *req, const char *action, const char *target_type, const char *target_id,
	     const cJSON *details)
{
	char *text = details ? cJSON_PrintUnformatted(details) : NULL;
	int64_t rc;

	rc = b4_db_exec(
	    req->db,
	    "INSERT INTO audit_log (actor_id, actor_role, action, target_type, target_id,"
	    " ip, request_id, details) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
	    "ssssssss", req->caller.user_id, req->caller.role, action, target_type, target_id,
	    req->client_ip[0] ? req->client_ip : NULL, req->request_id, text);
	free(text);
	return rc < 0 ? -1 : 0;
}

void bo_refuse(struct bo_refusal *r, int status, const char *type, const char *code,
	       const char *param, const char *fmt, ...)
{
	va_list ap;

	r->status = status;
	r->type = type;
	r->code = code;
	r->param = param;
	va_start(ap, fmt);
	vsnprintf(r->message, sizeof(r->message), fmt, ap);
	va_end(ap);
}

int bo_lock_state(struct b4_db *db, const char *lock_sql, const char *id, const char *what,
		  char *state, size_t cap, struct bo_refusal *r)
{
	struct b4_db_result *res = b4_db_query(db, lock_sql, "s", id);

	if (!res)
		return -1;
	if (b4_db_rows(res) == 0) {
		b4_db_result_free(res);
		bo_refuse(r, 404, "not_found", "resource_missing", NULL, "No such %s.", what);
		return -1;
	}
	snprintf(state, cap, "%s", b4_db_str(res, 0, 0));
	b4_db_result_free(res);
	return 0;
}

void bo_send_refusal(struct b4_req *req, const struct bo_refusal *r)
{
	if (r->status == 0) {
		b4_req_db_error(req);
		return;
	}
	b4_req_errorf(req, r->status, r->type, r->code, r->param, "%s", r->message);
}

static int toggle_tx(struct b4_db *db, void *arg)
{
	struct bo_toggle *t = arg;
	char before[32];
	cJSON *details;
	int rc;

	t->changed = false;
	t->refusal.status = 0;
	if (bo_lock_state(db, t->lock_sql, t->id, t->what, before, sizeof(before), &t->refusal) < 0)
		return -1;
	if (strcmp(before, t->want) == 0)
		return 0;
	details = cJSON_CreateObject();
	cJSON_AddStringToObject(details, "before", before);
	cJSON_AddStringToObject(details, "after", t->want);
	if (t->reason)
		cJSON_AddStringToObject(details, "reason", t->reason);
	rc = b4_db_exec(db, t->update_sql, "s", t->id) < 0 ||
		     bo_audit(t->req, t->action, t->what, t->id, details) < 0
		 ? -1
		 : 0;
	cJSON_Delete(details);
	t->changed = rc == 0;
	return rc;
}

int bo_toggle_run(struct b4_req *req, struct bo_toggle *t)
{
	t->req = req;
	if (!b4_text_is_uuid(t->id)) {
		b4_req_not_found(req, t->what);
		return -1;
	}
	if (b4_db_tx(req->db, toggle_tx, t) < 0) {
		bo_send_refusal(req, &t->refusal);
		return -1;
	}
	return 0;
}
