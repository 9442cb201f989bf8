/* settings.c - /v1/settings/acquirers: the card acquirer priority order
 * (settings row 'acquirer_priority', a JSON array of names). */
#include "backoffice.h"

#include <stdlib.h>
#include <string.h>

#define MAX_ACQUIRERS 5

/* Reads the stored priority array; NULL on a database error. A missing or
 * unreadable row reads as an empty list. */
static cJSON *load_priority(struct b4_db *db)
{
	struct b4_db_result *res =
	    b4_db_query(db, "SELECT value FROM settings WHERE name = 'acquirer_priority'", "");
	cJSON *value = NULL;

	if (!res)
		return NULL;
	if (b4_db_rows(res) == 1)
		value = cJSON_ParseWithLength(b4_db_str(res, 0, 0), b4_db_len(res, 0, 0));
	b4_db_result_free(res);
	if (!cJSON_IsArray(value)) {
		cJSON_Delete(value);
		value = cJSON_CreateArray();
	}
	return value;
}

void bo_settings_acquirers_get(struct b4_req *req)
{
	cJSON *priority = load_priority(req->db), *root;

	if (!priority) {
		b4_req_db_error(req);
		return;
	}
	root = cJSON_CreateObject();
	cJSON_AddItemToObject(root, "priority", priority);
	b4_req_send_json(req, 200, root);
}

struct put_ctx {
	struct b4_req *req;
	const char *value; /* JSON text of the new array */
	const cJSON *priority;
};

static int put_tx(struct b4_db *db, void *arg)
{
	struct put_ctx *ctx = arg;
	cJSON *before = load_priority(db), *details;
	int rc;

	if (!before)
		return -1;
	details = cJSON_CreateObject();
	cJSON_AddItemToObject(details, "before", before);
	cJSON_AddItemToObject(details, "after", cJSON_Duplicate(ctx->priority, true));
	rc = b4_db_exec(db,
			"INSERT INTO settings (name, value) VALUES ('acquirer_priority', ?)"
			" ON DUPLICATE KEY UPDATE value = VALUES(value)",
			"s", ctx->value) < 0 ||
		     bo_audit(ctx->req, "settings.acquirers", "settings", "acquirer_priority",
			      details) < 0
		 ? -1
		 : 0;
	cJSON_Delete(details);
	return rc;
}

void bo_settings_acquirers_put(struct b4_req *req)
{
	static const char *const allowed[] = {"priority", NULL};
	struct put_ctx ctx = {.req = req};
	const cJSON *body, *item;
	struct b4_error err;
	char *text;
	int index = 0;

	body = b4_req_json_body(req);
	if (!body)
		return;
	if (b4_json_reject_unknown(body, allowed, NULL, &err) < 0 ||
	    b4_json_get_array(body, "priority", B4_JSON_REQUIRED, 64, &ctx.priority, &err) < 0) {
		b4_req_send_error(req, &err);
		return;
	}
	if (cJSON_GetArraySize(ctx.priority) < 1 ||
	    cJSON_GetArraySize(ctx.priority) > MAX_ACQUIRERS) {
		b4_req_errorf(req, 422, "invalid_request_error", "invalid_length", "priority",
			      "priority must list 1 to %d acquirers.", MAX_ACQUIRERS);
		return;
	}
	cJSON_ArrayForEach(item, ctx.priority)
	{
		const cJSON *other = ctx.priority->child;
		if (!cJSON_IsString(item)) {
			b4_req_errorf(req, 400, "invalid_request_error", "invalid_type", "priority",
				      "priority[%d] must be a string.", index);
			return;
		}
		if (!bo_is_name(item->valuestring, 32, "_-")) {
			b4_req_errorf(req, 422, "invalid_request_error", "invalid_value",
				      "priority", "priority[%d] must be 1 to 32 of a-z 0-9 _ -.",
				      index);
			return;
		}
		if (!b4_acquirers_find(&bo_acquirers, item->valuestring)) {
			b4_req_errorf(req, 422, "invalid_request_error", "unknown_acquirer",
				      "priority",
				      "priority[%d]: %s is not an acquirer checkout is configured"
				      " with (B4_ACQUIRERS).",
				      index, item->valuestring);
			return;
		}
		for (; other != item; other = other->next) {
			if (strcmp(other->valuestring, item->valuestring) == 0) {
				b4_req_errorf(req, 422, "invalid_request_error", "duplicate_value",
					      "priority", "priority lists %s twice.",
					      item->valuestring);
				return;
			}
		}
		index++;
	}
	text = cJSON_PrintUnformatted(ctx.priority);
	ctx.value = text;
	if (!text || b4_db_tx(req->db, put_tx, &ctx) < 0) {
		free(text);
		b4_req_db_error(req);
		return;
	}
	free(text);
	bo_settings_acquirers_get(req);
}
