/* products.c - the producer's products: create, list, read, update,
 * archive.  Every query filters by producer_id = the caller. */
#include "api.h"
#include "b4/crypto.h"

#include <string.h>

#define PRODUCT_COLS                                                                               \
	"id, name, description, type, guarantee_days, status, blocked, affiliate_enabled,"         \
	" affiliate_commission_bps, affiliate_cookie_days, affiliate_attribution, created_at,"     \
	" updated_at"

static const char *const product_types[] = {"course", "ebook", "community", "service", NULL};
static const char *const product_statuses[] = {"draft", "active", "archived", NULL};
static const char *const attributions[] = {"last_click", "first_click", NULL};
static const char *const product_fields[] = {
    "name", "description", "type", "guarantee_days", "status", "affiliate_program", NULL};
static const char *const program_fields[] = {"enabled", "commission_bps", "cookie_days",
					     "attribution", NULL};

/* What a product holds; filled from the row (update) or defaults (create),
 * then from the request. */
struct product {
	const char *name;
	const char *description;
	const char *type;
	int64_t guarantee_days;
	const char *status;
	bool affiliate_enabled;
	int64_t commission_bps;
	int64_t cookie_days;
	const char *attribution;
};

static cJSON *product_json(const struct b4_db_result *res, size_t row)
{
	cJSON *p = cJSON_CreateObject(), *program;

	cJSON_AddStringToObject(p, "id", b4_db_str(res, row, 0));
	cJSON_AddStringToObject(p, "name", b4_db_str(res, row, 1));
	api_add_str_or_null(p, "description", res, row, 2);
	cJSON_AddStringToObject(p, "type", b4_db_str(res, row, 3));
	cJSON_AddNumberToObject(p, "guarantee_days", (double)b4_db_i64(res, row, 4));
	cJSON_AddStringToObject(p, "status", b4_db_str(res, row, 5));
	cJSON_AddBoolToObject(p, "blocked", b4_db_i64(res, row, 6) != 0);
	program = cJSON_AddObjectToObject(p, "affiliate_program");
	cJSON_AddBoolToObject(program, "enabled", b4_db_i64(res, row, 7) != 0);
	cJSON_AddNumberToObject(program, "commission_bps", (double)b4_db_i64(res, row, 8));
	cJSON_AddNumberToObject(program, "cookie_days", (double)b4_db_i64(res, row, 9));
	cJSON_AddStringToObject(program, "attribution", b4_db_str(res, row, 10));
	api_add_time(p, "created_at", res, row, 11);
	api_add_time(p, "updated_at", res, row, 12);
	return p;
}

/* Reads the request's fields over p, checking them all (form names every
 * bad one).  required: the create rules. */
static int product_read(const cJSON *body, bool required, struct product *p, struct b4_form *form)
{
	enum b4_json_presence need = required ? B4_JSON_REQUIRED : B4_JSON_OPTIONAL;
	const cJSON *program = NULL;
	int idx;

	b4_form_init(form);
	b4_json_get_str(body, "name", need, 1, 200, &p->name, b4_form_err(form));
	b4_json_get_str(body, "description", B4_JSON_OPTIONAL, 0, 5000, &p->description,
			b4_form_err(form));
	idx = -1;
	b4_json_get_enum(body, "type", need, product_types, &idx, b4_form_err(form));
	if (idx >= 0)
		p->type = product_types[idx];
	if (b4_json_get_int(body, "guarantee_days", B4_JSON_OPTIONAL, 0, 365, &p->guarantee_days,
			    b4_form_err(form)) == 0 &&
	    p->guarantee_days != 7 && p->guarantee_days != 15 && p->guarantee_days != 21 &&
	    p->guarantee_days != 30)
		b4_form_add(form, 422, "invalid_value", "guarantee_days",
			    "The field 'guarantee_days' must be one of: 7, 15, 21, 30.");
	idx = -1;
	b4_json_get_enum(body, "status", B4_JSON_OPTIONAL, product_statuses, &idx,
			 b4_form_err(form));
	if (idx >= 0)
		p->status = product_statuses[idx];
	b4_json_get_object(body, "affiliate_program", B4_JSON_OPTIONAL, &program,
			   b4_form_err(form));
	if (program) {
		b4_json_reject_unknown(program, program_fields, "affiliate_program.",
				       b4_form_err(form));
		b4_json_get_bool(body, "affiliate_program.enabled", B4_JSON_OPTIONAL,
				 &p->affiliate_enabled, b4_form_err(form));
		b4_json_get_int(body, "affiliate_program.commission_bps", B4_JSON_OPTIONAL, 0, 7000,
				&p->commission_bps, b4_form_err(form));
		if (b4_json_get_int(body, "affiliate_program.cookie_days", B4_JSON_OPTIONAL, 0, 365,
				    &p->cookie_days, b4_form_err(form)) == 0 &&
		    p->cookie_days != 0 && p->cookie_days != 60 && p->cookie_days != 90 &&
		    p->cookie_days != 180)
			b4_form_add(form, 422, "invalid_value", "affiliate_program.cookie_days",
				    "The field 'affiliate_program.cookie_days' must be one of: "
				    "0, 60, 90, 180.");
		idx = -1;
		b4_json_get_enum(body, "affiliate_program.attribution", B4_JSON_OPTIONAL,
				 attributions, &idx, b4_form_err(form));
		if (idx >= 0)
			p->attribution = attributions[idx];
	}
	if (p->affiliate_enabled && p->commission_bps < 1 &&
	    !b4_form_has(form, "affiliate_program.commission_bps"))
		b4_form_add(form, 422, "invalid_value", "affiliate_program.commission_bps",
			    "An open affiliate program needs a commission of at least 1 bps.");
	return b4_form_failed(form) ? -1 : 0;
}

/* Answers with the caller's product id (status). */
static void product_send(struct b4_req *req, const char *id, int status)
{
	struct b4_db_result *res;

	res = b4_db_query(req->db,
			  "SELECT " PRODUCT_COLS " FROM products WHERE id = ? AND producer_id = ?",
			  "ss", id, req->caller.user_id);
	api_send_one(req, res, status, product_json, "product");
}

void api_product_create(struct b4_req *req)
{
	const cJSON *body = api_body(req, product_fields, false);
	struct product p = {
	    .guarantee_days = 7, .status = "draft", .cookie_days = 60, .attribution = "last_click"};
	struct b4_form form;
	char id[37];

	if (!body)
		return;
	if (product_read(body, true, &p, &form) < 0) {
		b4_req_send_form(req, &form);
		return;
	}
	b4_crypto_uuid7(id);
	if (b4_db_exec(
		req->db,
		"INSERT INTO products (id, producer_id, name, description, type, guarantee_days,"
		" status, affiliate_enabled, affiliate_commission_bps, affiliate_cookie_days,"
		" affiliate_attribution) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
		"sssssisBiis", id, req->caller.user_id, p.name, p.description, p.type,
		p.guarantee_days, p.status, p.affiliate_enabled, p.commission_bps, p.cookie_days,
		p.attribution) < 0) {
		b4_req_db_error(req);
		return;
	}
	product_send(req, id, 201);
}

void api_product_list(struct b4_req *req)
{
	const char *after = NULL;
	struct b4_db_result *res;
	int limit;

	if (b4_req_page(req, &limit, &after) < 0)
		return;
	res = b4_db_query(req->db,
			  "SELECT " PRODUCT_COLS " FROM products WHERE producer_id = ?"
			  " AND (? IS NULL OR id < ?) ORDER BY id DESC LIMIT ?",
			  "sssI", req->caller.user_id, after, after, limit + 1);
	api_send_page(req, res, (size_t)limit, product_json);
}

void api_product_get(struct b4_req *req)
{
	api_get_by_id(req, "product", product_send);
}

void api_product_update(struct b4_req *req)
{
	const char *id = api_id_param(req, "id");
	const cJSON *body;
	struct b4_db_result *res;
	struct product p;
	struct b4_form form;
	int64_t rc;

	if (!id) {
		b4_req_not_found(req, "product");
		return;
	}
	if (!(body = api_body(req, product_fields, false)))
		return;
	res = b4_db_query(req->db,
			  "SELECT " PRODUCT_COLS " FROM products WHERE id = ? AND producer_id = ?",
			  "ss", id, req->caller.user_id);
	if (!api_found(req, res, "product"))
		return;
	p.name = b4_arena_strdup(req->arena, b4_db_str(res, 0, 1));
	p.description =
	    b4_db_is_null(res, 0, 2) ? NULL : b4_arena_strdup(req->arena, b4_db_str(res, 0, 2));
	p.type = b4_arena_strdup(req->arena, b4_db_str(res, 0, 3));
	p.guarantee_days = b4_db_i64(res, 0, 4);
	p.status = b4_arena_strdup(req->arena, b4_db_str(res, 0, 5));
	p.affiliate_enabled = b4_db_i64(res, 0, 7) != 0;
	p.commission_bps = b4_db_i64(res, 0, 8);
	p.cookie_days = b4_db_i64(res, 0, 9);
	p.attribution = b4_arena_strdup(req->arena, b4_db_str(res, 0, 10));
	b4_db_result_free(res);
	if (product_read(body, false, &p, &form) < 0) {
		b4_req_send_form(req, &form);
		return;
	}
	if (b4_json_is_null(body, "description"))
		p.description = NULL;
	rc = b4_db_exec(
	    req->db,
	    "UPDATE products SET name = ?, description = ?, type = ?, guarantee_days = ?,"
	    " status = ?, affiliate_enabled = ?, affiliate_commission_bps = ?,"
	    " affiliate_cookie_days = ?, affiliate_attribution = ?"
	    " WHERE id = ? AND producer_id = ?",
	    "sssisBiisss", p.name, p.description, p.type, p.guarantee_days, p.status,
	    p.affiliate_enabled, p.commission_bps, p.cookie_days, p.attribution, id,
	    req->caller.user_id);
	if (rc < 0) {
		b4_req_db_error(req);
		return;
	}
	product_send(req, id, 200);
}

/* A product with sales history cannot vanish: DELETE archives it, which
 * takes it off checkout and the marketplace. */
void api_product_delete(struct b4_req *req)
{
	const char *id = api_id_param(req, "id");

	if (!id) {
		b4_req_not_found(req, "product");
		return;
	}
	if (b4_db_exec(req->db,
		       "UPDATE products SET status = 'archived', affiliate_enabled = 0"
		       " WHERE id = ? AND producer_id = ?",
		       "ss", id, req->caller.user_id) < 0) {
		b4_req_db_error(req);
		return;
	}
	product_send(req, id, 200);
}
