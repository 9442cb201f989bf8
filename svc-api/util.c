/* util.c - small helpers shared by the b4-api handlers. */
#include "api.h"
#include "b4/queue.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

const char *api_id_param(struct b4_req *req, const char *name)
{
	const char *id = b4_req_param(req, name);

	return b4_text_is_uuid(id) ? id : NULL;
}

const cJSON *api_body(struct b4_req *req, const char *const *allowed, bool empty_ok)
{
	const cJSON *body;
	struct b4_error err;

	if (empty_ok && req->body_len == 0) {
		if (!req->json)
			req->json = cJSON_CreateObject();
		return req->json;
	}
	body = b4_req_json_body(req);
	if (!body)
		return NULL;
	if (b4_json_reject_unknown(body, allowed, NULL, &err) < 0) {
		b4_req_send_error(req, &err);
		return NULL;
	}
	return body;
}

int api_fail(struct b4_req *req, const struct b4_error *err)
{
	b4_req_send_error(req, err);
	return -1;
}

void api_add_time(cJSON *obj, const char *name, const struct b4_db_result *res, size_t row,
		  size_t col)
{
	char out[40];
	const char *t;

	if (b4_db_is_null(res, row, col)) {
		cJSON_AddNullToObject(obj, name);
		return;
	}
	/* "YYYY-MM-DD HH:MM:SS[.ffffff]" -> "YYYY-MM-DDTHH:MM:SS[.ffffff]Z" */
	t = b4_db_str(res, row, col);
	snprintf(out, sizeof(out), "%.26sZ", t);
	if (strlen(out) > 10 && out[10] == ' ')
		out[10] = 'T';
	cJSON_AddStringToObject(obj, name, out);
}

void api_add_str_or_null(cJSON *obj, const char *name, const struct b4_db_result *res, size_t row,
			 size_t col)
{
	if (b4_db_is_null(res, row, col))
		cJSON_AddNullToObject(obj, name);
	else
		cJSON_AddStringToObject(obj, name, b4_db_str(res, row, col));
}

static const char *const method_names[] = {"card", "pix", "boleto", NULL};

void api_add_set(cJSON *obj, const char *name, const char *set_text)
{
	cJSON *arr = cJSON_AddArrayToObject(obj, name);

	for (int i = 0; method_names[i]; i++) {
		size_t n = strlen(method_names[i]);
		const char *p = set_text;
		while ((p = strstr(p, method_names[i])) != NULL) {
			if ((p == set_text || p[-1] == ',') && (p[n] == ',' || p[n] == '\0')) {
				cJSON_AddItemToArray(arr, cJSON_CreateString(method_names[i]));
				break;
			}
			p += n;
		}
	}
}

int api_get_methods(const cJSON *body, const char *name, char *out, bool *present,
		    struct b4_error *err)
{
	const cJSON *arr = NULL, *item;
	bool seen[3] = {false, false, false};
	size_t used = 0;

	*present = false;
	if (b4_json_get_array(body, name, B4_JSON_OPTIONAL, 3, &arr, err) < 0)
		return -1;
	if (!arr)
		return 0;
	if (cJSON_GetArraySize(arr) == 0) {
		b4_error_invalid(err, 422, "empty", name,
				 "The field '%s' needs at least one method.", name);
		return -1;
	}
	cJSON_ArrayForEach(item, arr)
	{
		int found = -1;
		if (!cJSON_IsString(item)) {
			b4_error_invalid(err, 400, "invalid_type", name,
					 "The field '%s' must be an array of strings.", name);
			return -1;
		}
		for (int i = 0; method_names[i]; i++)
			if (strcmp(item->valuestring, method_names[i]) == 0)
				found = i;
		if (found < 0 || seen[found]) {
			b4_error_invalid(
			    err, 422, "invalid_value", name,
			    "The field '%s' takes distinct values of: card, pix, boleto.", name);
			return -1;
		}
		seen[found] = true;
	}
	out[0] = '\0';
	for (int i = 0; i < 3; i++)
		if (seen[i])
			used += (size_t)snprintf(out + used, 32 - used, "%s%s", used ? "," : "",
						 method_names[i]);
	*present = true;
	return 0;
}

int api_utc_offset_seconds(const char *text, long *seconds)
{
	int hh, mm;

	if ((text[0] != '+' && text[0] != '-') || strlen(text) != 6 || text[3] != ':' ||
	    sscanf(text + 1, "%2d:%2d", &hh, &mm) != 2 || hh > 23 || mm > 59)
		return -1;
	*seconds = (hh * 3600L + mm * 60L) * (text[0] == '+' ? 1 : -1);
	return 0;
}

/* Parses RFC 3339 into UTC "YYYY-MM-DD HH:MM:SS"; 0 or -1. */
static int parse_rfc3339(const char *text, char out[32])
{
	struct tm tm;
	const char *p;
	long offset = 0;
	time_t t;

	if (strlen(text) > 40)
		return -1;
	memset(&tm, 0, sizeof(tm));
	p = strptime(text, "%Y-%m-%dT%H:%M:%S", &tm);
	if (!p)
		return -1;
	if (*p == '.') {
		p++;
		if (*p < '0' || *p > '9')
			return -1;
		while (*p >= '0' && *p <= '9')
			p++;
	}
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if (api_utc_offset_seconds(p, &offset) == 0) {
		p += 6;
	} else {
		return -1;
	}
	if (*p)
		return -1;
	if (tm.tm_year < 70 || tm.tm_year > 8000)
		return -1;
	t = timegm(&tm);
	if (t == (time_t)-1)
		return -1;
	t -= offset;
	if (!gmtime_r(&t, &tm) || tm.tm_year + 1900 > 9999)
		return -1;
	strftime(out, 32, "%Y-%m-%d %H:%M:%S", &tm);
	return 0;
}

int api_get_time(const cJSON *body, const char *name, char out[32], bool *present,
		 struct b4_error *err)
{
	const char *text = NULL;

	*present = false;
	if (b4_json_get_str(body, name, B4_JSON_OPTIONAL, 1, 40, &text, err) < 0)
		return -1;
	if (!text)
		return 0;
	if (parse_rfc3339(text, out) < 0) {
		b4_error_invalid(
		    err, 422, "invalid_time", name,
		    "The field '%s' must be an RFC 3339 time such as 2030-01-31T23:59:59Z.", name);
		return -1;
	}
	*present = true;
	return 0;
}

int api_query_time(struct b4_req *req, const char *name, const char **out)
{
	const char *text = b4_req_query(req, name);
	char *parsed;

	*out = NULL;
	if (!text)
		return 0;
	parsed = b4_arena_alloc(req->arena, 32);
	if (!parsed || parse_rfc3339(text, parsed) < 0) {
		b4_req_errorf(req, 400, "invalid_request_error", "invalid_time", name,
			      "%s must be an RFC 3339 time such as 2030-01-31T23:59:59Z.", name);
		return -1;
	}
	*out = parsed;
	return 0;
}

cJSON *api_list(cJSON *data, bool has_more)
{
	cJSON *root = cJSON_CreateObject();

	cJSON_AddItemToObject(root, "data", data);
	cJSON_AddBoolToObject(root, "has_more", has_more);
	return root;
}

int api_enqueue_event(struct b4_db *db, const char *event, const char *owner_id,
		      const char *product_id, const char *object_id, const char *state, cJSON *data)
{
	char dedup[192];
	char *text = data ? cJSON_PrintUnformatted(data) : strdup("{}");
	int rc;

	cJSON_Delete(data);
	if (!text)
		return -1;
	snprintf(dedup, sizeof(dedup), "%s:%s:%s", event, object_id, state);
	/* the one builder of webhook.event payloads (event_id, created_at) */
	rc = b4_queue_webhook_event(db, event, owner_id, NULL, product_id, text, dedup);
	cJSON_free(text);
	return rc < 0 ? -1 : 0;
}

int api_owns_product(struct b4_req *req, const char *product_id)
{
	struct b4_db_result *res;
	int owns;

	res = b4_db_query(req->db, "SELECT 1 FROM products WHERE id = ? AND producer_id = ?", "ss",
			  product_id, req->caller.user_id);
	if (!res)
		return -1;
	owns = b4_db_rows(res) > 0;
	b4_db_result_free(res);
	return owns;
}

bool api_require_product(struct b4_req *req, const char *product_id)
{
	int owns = product_id ? api_owns_product(req, product_id) : 0;

	if (owns < 0)
		b4_req_db_error(req);
	else if (owns == 0)
		b4_req_not_found(req, "product");
	return owns > 0;
}

void api_send_page(struct b4_req *req, struct b4_db_result *res, size_t limit, api_row_fn *fn)
{
	cJSON *data;
	size_t n;

	if (!res) {
		b4_req_db_error(req);
		return;
	}
	data = cJSON_CreateArray();
	n = b4_db_rows(res);
	for (size_t i = 0; i < n && i < limit; i++)
		cJSON_AddItemToArray(data, fn(res, i));
	b4_db_result_free(res);
	b4_req_send_json(req, 200, api_list(data, n > limit));
}

void api_send_one(struct b4_req *req, struct b4_db_result *res, int status, api_row_fn *fn,
		  const char *what)
{
	if (!res) {
		b4_req_db_error(req);
		return;
	}
	if (b4_db_rows(res) == 0)
		b4_req_not_found(req, what);
	else
		b4_req_send_json(req, status, fn(res, 0));
	b4_db_result_free(res);
}

bool api_row_in_state(struct b4_db_result *res, const char *state, bool *not_found,
		      bool *wrong_state)
{
	*not_found = b4_db_rows(res) == 0;
	*wrong_state = !*not_found && strcmp(b4_db_str(res, 0, 0), state) != 0;
	if (*not_found || *wrong_state) {
		b4_db_result_free(res);
		return false;
	}
	return true;
}

bool api_found(struct b4_req *req, struct b4_db_result *res, const char *what)
{
	if (!res) {
		b4_req_db_error(req);
		return false;
	}
	if (b4_db_rows(res) == 0) {
		b4_db_result_free(res);
		b4_req_not_found(req, what);
		return false;
	}
	return true;
}

void api_get_by_id(struct b4_req *req, const char *what,
		   void (*send)(struct b4_req *req, const char *id, int status))
{
	const char *id = api_id_param(req, "id");

	if (!id)
		b4_req_not_found(req, what);
	else
		send(req, id, 200);
}
