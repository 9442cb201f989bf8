/* campaigns.c - tracking campaigns (UTM fields) of the caller, for a
 * product they own or promote as an approved affiliate. */
#include "api.h"
#include "b4/crypto.h"

#include <string.h>

#define CAMPAIGN_COLS                                                                              \
	"SELECT id, product_id, name, utm_source, utm_medium, utm_campaign, created_at,"           \
	" updated_at FROM campaigns"

static const char *const campaign_fields[] = {"name",	    "product_id",   "utm_source",
					      "utm_medium", "utm_campaign", NULL};
static const char *const utm_fields[] = {"utm_source", "utm_medium", "utm_campaign", NULL};

static cJSON *campaign_json(const struct b4_db_result *res, size_t row)
{
	cJSON *c = cJSON_CreateObject();

	cJSON_AddStringToObject(c, "id", b4_db_str(res, row, 0));
	cJSON_AddStringToObject(c, "product_id", b4_db_str(res, row, 1));
	cJSON_AddStringToObject(c, "name", b4_db_str(res, row, 2));
	api_add_str_or_null(c, "utm_source", res, row, 3);
	api_add_str_or_null(c, "utm_medium", res, row, 4);
	api_add_str_or_null(c, "utm_campaign", res, row, 5);
	api_add_time(c, "created_at", res, row, 6);
	api_add_time(c, "updated_at", res, row, 7);
	return c;
}

static void campaign_send(struct b4_req *req, const char *id, int status)
{
	struct b4_db_result *res;

	res = b4_db_query(req->db, CAMPAIGN_COLS " WHERE id = ? AND owner_id = ?", "ss", id,
			  req->caller.user_id);
	api_send_one(req, res, status, campaign_json, "campaign");
}

/* May the caller track product_id?  Owner or approved affiliate.  1/0/-1. */
static int may_track(struct b4_req *req, const char *product_id)
{
	struct b4_db_result *res;
	int ok;

	if (!b4_text_is_uuid(product_id))
		return 0;
	res = b4_db_query(req->db,
			  "SELECT 1 FROM products p WHERE p.id = ? AND (p.producer_id = ? OR EXISTS"
			  " (SELECT 1 FROM affiliations a WHERE a.product_id = p.id AND"
			  " a.affiliate_id = ? AND a.status = 'approved'))",
			  "sss", product_id, req->caller.user_id, req->caller.user_id);
	if (!res)
		return -1;
	ok = b4_db_rows(res) > 0;
	b4_db_result_free(res);
	return ok;
}

struct campaign {
	const char *name, *product_id, *utm[3];
};

static int campaign_read(struct b4_req *req, const cJSON *body, bool required, struct campaign *c)
{
	enum b4_json_presence need = required ? B4_JSON_REQUIRED : B4_JSON_OPTIONAL;
	struct b4_error err;
	int ok;

	if (b4_json_get_str(body, "name", need, 1, 200, &c->name, &err) < 0 ||
	    b4_json_get_str(body, "product_id", need, 36, 36, &c->product_id, &err) < 0)
		return api_fail(req, &err);
	for (int i = 0; i < 3; i++) {
		if (b4_json_get_str(body, utm_fields[i], B4_JSON_OPTIONAL, 1, 100, &c->utm[i],
				    &err) < 0)
			return api_fail(req, &err);
		if (b4_json_is_null(body, utm_fields[i]))
			c->utm[i] = NULL;
	}
	if (c->product_id) {
		ok = may_track(req, c->product_id);
		if (ok < 0) {
			b4_req_db_error(req);
			return -1;
		}
		if (!ok) {
			b4_req_errorf(
			    req, 422, "invalid_request_error", "unknown_product", "product_id",
			    "The product must be yours or one you promote as an affiliate.");
			return -1;
		}
	}
	return 0;
}

void api_campaign_create(struct b4_req *req)
{
	const cJSON *body = api_body(req, campaign_fields, false);
	struct campaign c = {0};
	char id[37];

	if (!body || campaign_read(req, body, true, &c) < 0)
		return;
	b4_crypto_uuid7(id);
	if (b4_db_exec(
		req->db,
		"INSERT INTO campaigns (id, owner_id, product_id, name, utm_source, utm_medium,"
		" utm_campaign) VALUES (?, ?, ?, ?, ?, ?, ?)",
		"sssssss", id, req->caller.user_id, c.product_id, c.name, c.utm[0], c.utm[1],
		c.utm[2]) < 0) {
		b4_req_db_error(req);
		return;
	}
	campaign_send(req, id, 201);
}

void api_campaign_list(struct b4_req *req)
{
	const char *after = NULL;
	struct b4_db_result *res;
	int limit;

	if (b4_req_page(req, &limit, &after) < 0)
		return;
	res = b4_db_query(req->db,
			  CAMPAIGN_COLS " WHERE owner_id = ? AND (? IS NULL OR id < ?)"
					" ORDER BY id DESC LIMIT ?",
			  "sssI", req->caller.user_id, after, after, limit + 1);
	api_send_page(req, res, (size_t)limit, campaign_json);
}

void api_campaign_get(struct b4_req *req)
{
	api_get_by_id(req, "campaign", campaign_send);
}

void api_campaign_update(struct b4_req *req)
{
	const char *id = api_id_param(req, "id");
	const cJSON *body;
	struct b4_db_result *res;
	struct campaign c = {0};

	if (!id) {
		b4_req_not_found(req, "campaign");
		return;
	}
	if (!(body = api_body(req, campaign_fields, false)))
		return;
	res = b4_db_query(req->db, CAMPAIGN_COLS " WHERE id = ? AND owner_id = ?", "ss", id,
			  req->caller.user_id);
	if (!api_found(req, res, "campaign"))
		return;
	c.product_id = NULL;
	c.name = b4_arena_strdup(req->arena, b4_db_str(res, 0, 2));
	for (int i = 0; i < 3; i++)
		c.utm[i] = b4_db_is_null(res, 0, (size_t)(3 + i))
			       ? NULL
			       : b4_arena_strdup(req->arena, b4_db_str(res, 0, (size_t)(3 + i)));
	b4_db_result_free(res);
	if (campaign_read(req, body, false, &c) < 0)
		return;
	if (b4_db_exec(
		req->db,
		"UPDATE campaigns SET name = ?, product_id = COALESCE(?, product_id),"
		" utm_source = ?, utm_medium = ?, utm_campaign = ? WHERE id = ? AND owner_id = ?",
		"sssssss", c.name, c.product_id, c.utm[0], c.utm[1], c.utm[2], id,
		req->caller.user_id) < 0) {
		b4_req_db_error(req);
		return;
	}
	campaign_send(req, id, 200);
}

void api_campaign_delete(struct b4_req *req)
{
	const char *id = api_id_param(req, "id");
	int64_t rc;

	if (!id) {
		b4_req_not_found(req, "campaign");
		return;
	}
	rc = b4_db_exec(req->db, "DELETE FROM campaigns WHERE id = ? AND owner_id = ?", "ss", id,
			req->caller.user_id);
	if (rc < 0) {
		b4_req_db_error(req);
		return;
	}
	if (rc == 0) {
		b4_req_not_found(req, "campaign");
		return;
	}
	b4_req_send(req, 204, "application/json", "", 0);
}
