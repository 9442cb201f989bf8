/* webhooks.c - the member's webhook endpoints, their delivery log and
 * resend.  Delivery itself is the workers' job.  The secret is generated
 * here, stored only encrypted and shown once, in the create response. */
#include "api.h"
#include "b4/crypto.h"
#include "b4/log.h"
#include "b4/pii.h"
#include "b4/queue.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

static const char *const event_names[] = {"approved-payment",
					  "refused-payment",
					  "generated-pix",
					  "generated-billet",
					  "refund",
					  "chargeback",
					  "dispute-opened",
					  "dispute-won",
					  "abandoned-cart",
					  "affiliation-requested",
					  "approved-affiliate",
					  "refused-affiliate",
					  NULL};
#define EVENT_COUNT 12

static const char *const webhook_fields[] = {"url", "events", "product_id", "active", NULL};

#define WEBHOOK_COLS                                                                               \
	"SELECT id, url, events, product_id, active, created_at, updated_at FROM "                 \
	"webhook_endpoints"
#define WEBHOOK_MINE " owner_id = ? AND deleted_at IS NULL"

static cJSON *webhook_json(const struct b4_db_result *res, size_t row)
{
	cJSON *w = cJSON_CreateObject(), *events;

	cJSON_AddStringToObject(w, "id", b4_db_str(res, row, 0));
	cJSON_AddStringToObject(w, "url", b4_db_str(res, row, 1));
	events = cJSON_Parse(b4_db_str(res, row, 2));
	cJSON_AddItemToObject(w, "events", events ? events : cJSON_CreateArray());
	api_add_str_or_null(w, "product_id", res, row, 3);
	cJSON_AddBoolToObject(w, "active", b4_db_i64(res, row, 4) != 0);
	api_add_time(w, "created_at", res, row, 5);
	api_add_time(w, "updated_at", res, row, 6);
	return w;
}

/* Loads the caller's endpoint id as JSON, or answers and returns NULL. */
static cJSON *webhook_load(struct b4_req *req, const char *id)
{
	struct b4_db_result *res;
	cJSON *w = NULL;

	res = b4_db_query(req->db, WEBHOOK_COLS " WHERE id = ? AND" WEBHOOK_MINE, "ss", id,
			  req->caller.user_id);
	if (!res) {
		b4_req_db_error(req);
		return NULL;
	}
	if (b4_db_rows(res) == 0)
		b4_req_not_found(req, "webhook");
	else
		w = webhook_json(res, 0);
	b4_db_result_free(res);
	return w;
}

struct webhook {
	const char *url;
	char *events_json; /* arena */
	const char *product_id;
	bool product_given;
	bool active;
};

static int webhook_read(struct b4_req *req, const cJSON *body, bool required, struct webhook *w)
{
	struct api_app *app = req->app;
	enum b4_json_presence need = required ? B4_JSON_REQUIRED : B4_JSON_OPTIONAL;
	const cJSON *events = NULL, *item;
	struct b4_error err;
	char why[160];
	bool seen[EVENT_COUNT] = {false};

	if (b4_json_get_str(body, "url", need, 1, 2048, &w->url, &err) < 0 ||
	    b4_json_get_array(body, "events", need, EVENT_COUNT, &events, &err) < 0 ||
	    b4_json_get_str(body, "product_id", B4_JSON_OPTIONAL, 36, 36, &w->product_id, &err) <
		0 ||
	    b4_json_get_bool(body, "active", B4_JSON_OPTIONAL, &w->active, &err) < 0)
		return api_fail(req, &err);
	if (events) {
		cJSON *list = cJSON_CreateArray();
		char *text;
		if (cJSON_GetArraySize(events) == 0) {
			cJSON_Delete(list);
			b4_req_errorf(req, 422, "invalid_request_error", "empty", "events",
				      "Subscribe to at least one event.");
			return -1;
		}
		cJSON_ArrayForEach(item, events)
		{
			int found = -1;
			if (!cJSON_IsString(item)) {
				cJSON_Delete(list);
				b4_req_errorf(req, 400, "invalid_request_error", "invalid_type",
					      "events",
					      "The field 'events' must be an array of strings.");
				return -1;
			}
			for (int i = 0; event_names[i]; i++)
				if (strcmp(item->valuestring, event_names[i]) == 0)
					found = i;
			if (found < 0 || seen[found]) {
				cJSON_Delete(list);
				b4_req_errorf(req, 422, "invalid_request_error", "invalid_value",
					      "events",
					      "Unknown or repeated event name in 'events'.");
				return -1;
			}
			seen[found] = true;
			cJSON_AddItemToArray(list, cJSON_CreateString(event_names[found]));
		}
		text = cJSON_PrintUnformatted(list);
		cJSON_Delete(list);
		w->events_json = text ? b4_arena_strdup(req->arena, text) : NULL;
		cJSON_free(text);
		if (!w->events_json) {
			b4_req_errorf(req, 500, "api_error", "internal", NULL, "Out of memory.");
			return -1;
		}
	}
	if (w->url && b4_netguard_check_url(w->url, app->url_policy, why, sizeof(why)) < 0) {
		b4_req_errorf(req, 422, "invalid_request_error", "url_not_allowed", "url", "%s",
			      why);
		return -1;
	}
	if (cJSON_GetObjectItemCaseSensitive(body, "product_id"))
		w->product_given = true;
	if (w->product_id) {
		int owns =
		    b4_text_is_uuid(w->product_id) ? api_owns_product(req, w->product_id) : 0;
		if (owns < 0) {
			b4_req_db_error(req);
			return -1;
		}
		if (!owns) {
			b4_req_errorf(req, 422, "invalid_request_error", "unknown_product",
				      "product_id", "The product must be one of yours.");
			return -1;
		}
	}
	return 0;
}

void api_webhook_create(struct b4_req *req)
{
	const cJSON *body = api_body(req, webhook_fields, false);
	struct webhook w = {.active = true};
	char id[37], secret[65];
	char *secret_enc;
	int64_t rc;
	cJSON *out;

	if (!body || webhook_read(req, body, true, &w) < 0)
		return;
	if (b4_crypto_token_hex(secret, 32) < 0 ||
	    !(secret_enc = b4_pii_encrypt("webhook_endpoints.secret_enc", secret))) {
		OPENSSL_cleanse(secret, sizeof(secret));
		b4_req_errorf(req, 500, "api_error", "internal", NULL, "Cannot create a secret.");
		return;
	}
	b4_crypto_uuid7(id);
	rc = b4_db_exec(req->db,
			"INSERT INTO webhook_endpoints (id, owner_id, url, events, product_id,"
			" secret_enc, active) VALUES (?, ?, ?, ?, ?, ?, ?)",
			"ssssssB", id, req->caller.user_id, w.url, w.events_json, w.product_id,
			secret_enc, w.active);
	free(secret_enc);
	if (rc < 0) {
		OPENSSL_cleanse(secret, sizeof(secret));
		b4_req_db_error(req);
		return;
	}
	out = webhook_load(req, id);
	if (out) {
		/* shown this once; only its encryption is kept */
		cJSON_AddStringToObject(out, "secret", secret);
		b4_req_send_json(req, 201, out);
	}
	OPENSSL_cleanse(secret, sizeof(secret));
}

void api_webhook_list(struct b4_req *req)
{
	const char *after = NULL;
	struct b4_db_result *res;
	int limit;

	if (b4_req_page(req, &limit, &after) < 0)
		return;
	res = b4_db_query(req->db,
			  WEBHOOK_COLS " WHERE" WEBHOOK_MINE " AND (? IS NULL OR id < ?)"
				       " ORDER BY id DESC LIMIT ?",
			  "sssI", req->caller.user_id, after, after, limit + 1);
	api_send_page(req, res, (size_t)limit, webhook_json);
}

void api_webhook_get(struct b4_req *req)
{
	const char *id = api_id_param(req, "id");
	cJSON *w;

	if (!id) {
		b4_req_not_found(req, "webhook");
		return;
	}
	if ((w = webhook_load(req, id)) != NULL)
		b4_req_send_json(req, 200, w);
}

void api_webhook_update(struct b4_req *req)
{
	const char *id = api_id_param(req, "id");
	const cJSON *body;
	struct webhook w = {0};
	cJSON *cur, *active;
	int64_t rc;

	if (!id) {
		b4_req_not_found(req, "webhook");
		return;
	}
	if (!(body = api_body(req, webhook_fields, false)))
		return;
	if (!(cur = webhook_load(req, id)))
		return;
	active = cJSON_GetObjectItemCaseSensitive(cur, "active");
	w.active = cJSON_IsTrue(active);
	cJSON_Delete(cur);
	if (webhook_read(req, body, false, &w) < 0)
		return;
	rc = b4_db_exec(req->db,
			"UPDATE webhook_endpoints SET url = COALESCE(?, url),"
			" events = COALESCE(?, events),"
			" product_id = IF(?, ?, product_id), active = ?"
			" WHERE id = ? AND" WEBHOOK_MINE,
			"ssBsBss", w.url, w.events_json, w.product_given, w.product_id, w.active,
			id, req->caller.user_id);
	if (rc < 0) {
		b4_req_db_error(req);
		return;
	}
	if ((cur = webhook_load(req, id)) != NULL)
		b4_req_send_json(req, 200, cur);
}

void api_webhook_delete(struct b4_req *req)
{
	const char *id = api_id_param(req, "id");
	int64_t rc;

	if (!id) {
		b4_req_not_found(req, "webhook");
		return;
	}
	rc = b4_db_exec(req->db,
			"UPDATE webhook_endpoints SET active = 0, deleted_at = UTC_TIMESTAMP(6)"
			" WHERE id = ? AND" WEBHOOK_MINE,
			"ss", id, req->caller.user_id);
	if (rc < 0) {
		b4_req_db_error(req);
		return;
	}
	if (rc == 0) {
		b4_req_not_found(req, "webhook");
		return;
	}
	b4_req_send(req, 204, "application/json", "", 0);
}

#define DELIVERY_COLS                                                                              \
	"SELECT d.id, d.event_id, d.event, d.status, d.attempts, d.last_status_code,"              \
	" d.last_error, d.next_attempt_at, d.created_at, d.updated_at FROM webhook_deliveries d"   \
	" JOIN webhook_endpoints e ON e.id = d.endpoint_id AND e.owner_id = ?"

static cJSON *delivery_json(const struct b4_db_result *res, size_t row)
{
	cJSON *d = cJSON_CreateObject();

	cJSON_AddStringToObject(d, "id", b4_db_str(res, row, 0));
	cJSON_AddStringToObject(d, "event_id", b4_db_str(res, row, 1));
	cJSON_AddStringToObject(d, "event", b4_db_str(res, row, 2));
	cJSON_AddStringToObject(d, "status", b4_db_str(res, row, 3));
	cJSON_AddNumberToObject(d, "attempts", (double)b4_db_i64(res, row, 4));
	if (b4_db_is_null(res, row, 5))
		cJSON_AddNullToObject(d, "last_status_code");
	else
		cJSON_AddNumberToObject(d, "last_status_code", (double)b4_db_i64(res, row, 5));
	api_add_str_or_null(d, "last_error", res, row, 6);
	api_add_time(d, "next_attempt_at", res, row, 7);
	api_add_time(d, "created_at", res, row, 8);
	api_add_time(d, "updated_at", res, row, 9);
	return d;
}

void api_webhook_deliveries(struct b4_req *req)
{
	const char *id = api_id_param(req, "id");
	const char *after = NULL;
	struct b4_db_result *res;
	int limit;
	cJSON *w;

	if (!id) {
		b4_req_not_found(req, "webhook");
		return;
	}
	if (!(w = webhook_load(req, id)))
		return;
	cJSON_Delete(w);
	if (b4_req_page(req, &limit, &after) < 0)
		return;
	res = b4_db_query(req->db,
			  DELIVERY_COLS " WHERE d.endpoint_id = ? AND (? IS NULL OR d.id < ?)"
					" ORDER BY d.id DESC LIMIT ?",
			  "ssssI", req->caller.user_id, id, after, after, limit + 1);
	api_send_page(req, res, (size_t)limit, delivery_json);
}

struct resend_tx {
	const char *endpoint_id, *delivery_id, *owner_id;
	char dedup[128];
};

static int resend_write(struct b4_db *db, void *arg)
{
	struct resend_tx *t = arg;
	char payload[160];

	if (b4_db_exec(
		db,
		"UPDATE webhook_deliveries d JOIN webhook_endpoints e ON e.id = d.endpoint_id"
		" SET d.status = 'pending', d.next_attempt_at = UTC_TIMESTAMP(6)"
		" WHERE d.id = ? AND d.endpoint_id = ? AND e.owner_id = ?"
		" AND e.deleted_at IS NULL",
		"sss", t->delivery_id, t->endpoint_id, t->owner_id) < 0)
		return -1;
	snprintf(payload, sizeof(payload), "{\"delivery_id\":\"%s\"}", t->delivery_id);
	return b4_queue_enqueue(db, "webhook.deliver", payload, t->dedup, 0) < 0 ? -1 : 0;
}

void api_webhook_resend(struct b4_req *req)
{
	const char *id = api_id_param(req, "id");
	const char *delivery_id = api_id_param(req, "delivery_id");
	static const char *const no_fields[] = {NULL};
	struct resend_tx t;
	struct b4_db_result *res;
	char unique[37];

	if (!id || !delivery_id) {
		b4_req_not_found(req, "delivery");
		return;
	}
	if (!api_body(req, no_fields, true))
		return;
	res = b4_db_query(req->db,
			  DELIVERY_COLS " WHERE d.id = ? AND d.endpoint_id = ?"
					" AND e.deleted_at IS NULL",
			  "sss", req->caller.user_id, delivery_id, id);
	if (!api_found(req, res, "delivery"))
		return;
	b4_db_result_free(res);
	/* each resend is a new attempt: its dedup key is unique */
	b4_crypto_uuid7(unique);
	t.endpoint_id = id;
	t.delivery_id = delivery_id;
	t.owner_id = req->caller.user_id;
	snprintf(t.dedup, sizeof(t.dedup), "webhook.resend:%s:%s", delivery_id, unique);
	if (b4_db_tx(req->db, resend_write, &t) < 0) {
		b4_req_db_error(req);
		return;
	}
	res = b4_db_query(req->db, DELIVERY_COLS " WHERE d.id = ?", "ss", req->caller.user_id,
			  delivery_id);
	api_send_one(req, res, 202, delivery_json, "delivery");
}
