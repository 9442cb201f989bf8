/* offers.c - offers of the caller's products, their order bumps and upsell.
 * An offer belongs to the caller when its product does. */
#include "api.h"
#include "b4/crypto.h"

#include <stdio.h>
#include <string.h>

#define OFFER_COLS                                                                                 \
	"o.id, o.product_id, o.code, o.name, o.price_cents, o.max_installments,"                   \
	" o.interest_free_installments, o.payment_methods, o.allow_coupon, o.active,"              \
	" o.upsell_offer_id, o.upsell_one_click, o.created_at, o.updated_at"
#define OFFER_MINE " FROM offers o JOIN products p ON p.id = o.product_id AND p.producer_id = ?"

#define MAX_PRICE_CENTS 100000000 /* R$ 1,000,000.00 */
#define CODE_ALPHABET	"ABCDEFGHJKLMNPQRSTUVWXYZ23456789"

static const char *const offer_fields[] = {"name",
					   "price_cents",
					   "max_installments",
					   "interest_free_installments",
					   "payment_methods",
					   "allow_coupon",
					   "active",
					   NULL};

struct offer {
	const char *name;
	int64_t price_cents;
	int64_t max_installments;
	int64_t interest_free;
	char methods[32];
	bool allow_coupon;
	bool active;
};

static cJSON *offer_json(const struct b4_db_result *res, size_t row)
{
	cJSON *o = cJSON_CreateObject(), *upsell;

	cJSON_AddStringToObject(o, "id", b4_db_str(res, row, 0));
	cJSON_AddStringToObject(o, "product_id", b4_db_str(res, row, 1));
	cJSON_AddStringToObject(o, "code", b4_db_str(res, row, 2));
	cJSON_AddStringToObject(o, "name", b4_db_str(res, row, 3));
	cJSON_AddNumberToObject(o, "price_cents", (double)b4_db_i64(res, row, 4));
	cJSON_AddNumberToObject(o, "max_installments", (double)b4_db_i64(res, row, 5));
	cJSON_AddNumberToObject(o, "interest_free_installments", (double)b4_db_i64(res, row, 6));
	api_add_set(o, "payment_methods", b4_db_str(res, row, 7));
	cJSON_AddBoolToObject(o, "allow_coupon", b4_db_i64(res, row, 8) != 0);
	cJSON_AddBoolToObject(o, "active", b4_db_i64(res, row, 9) != 0);
	if (b4_db_is_null(res, row, 10)) {
		cJSON_AddNullToObject(o, "upsell");
	} else {
		upsell = cJSON_AddObjectToObject(o, "upsell");
		cJSON_AddStringToObject(upsell, "offer_id", b4_db_str(res, row, 10));
		cJSON_AddBoolToObject(upsell, "one_click", b4_db_i64(res, row, 11) != 0);
	}
	api_add_time(o, "created_at", res, row, 12);
	api_add_time(o, "updated_at", res, row, 13);
	return o;
}

/* Reads the request's fields over o, checking them all (form names every
 * bad one).  required: the create rules. */
static int offer_read(const cJSON *body, bool required, struct offer *o, struct b4_form *form)
{
	enum b4_json_presence need = required ? B4_JSON_REQUIRED : B4_JSON_OPTIONAL;
	bool given;

	b4_form_init(form);
	b4_json_get_str(body, "name", need, 1, 200, &o->name, b4_form_err(form));
	b4_json_get_int(body, "price_cents", need, 500, MAX_PRICE_CENTS, &o->price_cents,
			b4_form_err(form));
	b4_json_get_int(body, "max_installments", B4_JSON_OPTIONAL, 1, 12, &o->max_installments,
			b4_form_err(form));
	b4_json_get_int(body, "interest_free_installments", B4_JSON_OPTIONAL, 1, 12,
			&o->interest_free, b4_form_err(form));
	api_get_methods(body, "payment_methods", o->methods, &given, b4_form_err(form));
	b4_json_get_bool(body, "allow_coupon", B4_JSON_OPTIONAL, &o->allow_coupon,
			 b4_form_err(form));
	b4_json_get_bool(body, "active", B4_JSON_OPTIONAL, &o->active, b4_form_err(form));
	if (o->interest_free > o->max_installments && !b4_form_has(form, "max_installments") &&
	    !b4_form_has(form, "interest_free_installments"))
		b4_form_add(form, 422, "out_of_range", "interest_free_installments",
			    "The field 'interest_free_installments' must be from 1 to "
			    "max_installments.");
	return b4_form_failed(form) ? -1 : 0;
}

/* Answers with the caller's offer id. */
static void offer_send(struct b4_req *req, const char *id, int status)
{
	struct b4_db_result *res, *bumps;
	cJSON *o, *arr;

	res = b4_db_query(req->db, "SELECT " OFFER_COLS OFFER_MINE " WHERE o.id = ?", "ss",
			  req->caller.user_id, id);
	if (!api_found(req, res, "offer"))
		return;
	bumps =
	    b4_db_query(req->db,
			"SELECT b.bump_offer_id, o.code, o.name, o.price_cents FROM offer_bumps b"
			" JOIN offers o ON o.id = b.bump_offer_id WHERE b.offer_id = ?"
			" ORDER BY b.position",
			"s", id);
	if (!bumps) {
		b4_db_result_free(res);
		b4_req_db_error(req);
		return;
	}
	o = offer_json(res, 0);
	arr = cJSON_AddArrayToObject(o, "bumps");
	for (size_t i = 0; i < b4_db_rows(bumps); i++) {
		cJSON *b = cJSON_CreateObject();
		cJSON_AddStringToObject(b, "offer_id", b4_db_str(bumps, i, 0));
		cJSON_AddStringToObject(b, "code", b4_db_str(bumps, i, 1));
		cJSON_AddStringToObject(b, "name", b4_db_str(bumps, i, 2));
		cJSON_AddNumberToObject(b, "price_cents", (double)b4_db_i64(bumps, i, 3));
		cJSON_AddItemToArray(arr, b);
	}
	b4_db_result_free(bumps);
	b4_db_result_free(res);
	b4_req_send_json(req, status, o);
}

void api_offer_create(struct b4_req *req)
{
	const char *product_id = api_id_param(req, "id");
	const cJSON *body;
	struct offer o = {.max_installments = 1,
			  .interest_free = 1,
			  .methods = "card,pix,boleto",
			  .allow_coupon = true,
			  .active = true};
	struct b4_form form;
	char id[37], code[11];

	if (!api_require_product(req, product_id))
		return;
	if (!(body = api_body(req, offer_fields, false)))
		return;
	if (offer_read(body, true, &o, &form) < 0) {
		b4_req_send_form(req, &form);
		return;
	}
	b4_crypto_uuid7(id);
	/* the code is random: retry the rare collision on the unique key */
	for (int attempt = 0;; attempt++) {
		b4_crypto_random_code(code, 10, CODE_ALPHABET);
		if (b4_db_exec(req->db,
			       "INSERT INTO offers (id, product_id, code, name, price_cents,"
			       " max_installments, interest_free_installments, payment_methods,"
			       " allow_coupon, active) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
			       "ssssiiisBB", id, product_id, code, o.name, o.price_cents,
			       o.max_installments, o.interest_free, o.methods, o.allow_coupon,
			       o.active) >= 0)
			break;
		if (!b4_db_is_duplicate(req->db) || attempt == 4) {
			b4_req_db_error(req);
			return;
		}
	}
	offer_send(req, id, 201);
}

void api_offer_list(struct b4_req *req)
{
	const char *product_id = api_id_param(req, "id");
	const char *after = NULL;
	struct b4_db_result *res;
	int limit;

	if (!api_require_product(req, product_id))
		return;
	if (b4_req_page(req, &limit, &after) < 0)
		return;
	res = b4_db_query(req->db,
			  "SELECT " OFFER_COLS OFFER_MINE " WHERE o.product_id = ?"
			  " AND (? IS NULL OR o.id < ?) ORDER BY o.id DESC LIMIT ?",
			  "ssssI", req->caller.user_id, product_id, after, after, limit + 1);
	api_send_page(req, res, (size_t)limit, offer_json);
}

void api_offer_get(struct b4_req *req)
{
	api_get_by_id(req, "offer", offer_send);
}

void api_offer_update(struct b4_req *req)
{
	const char *id = api_id_param(req, "id");
	const cJSON *body;
	struct b4_db_result *res;
	struct offer o;
	struct b4_form form;

	if (!id) {
		b4_req_not_found(req, "offer");
		return;
	}
	if (!(body = api_body(req, offer_fields, false)))
		return;
	res = b4_db_query(req->db, "SELECT " OFFER_COLS OFFER_MINE " WHERE o.id = ?", "ss",
			  req->caller.user_id, id);
	if (!api_found(req, res, "offer"))
		return;
	o.name = b4_arena_strdup(req->arena, b4_db_str(res, 0, 3));
	o.price_cents = b4_db_i64(res, 0, 4);
	o.max_installments = b4_db_i64(res, 0, 5);
	o.interest_free = b4_db_i64(res, 0, 6);
	snprintf(o.methods, sizeof(o.methods), "%s", b4_db_str(res, 0, 7));
	o.allow_coupon = b4_db_i64(res, 0, 8) != 0;
	o.active = b4_db_i64(res, 0, 9) != 0;
	b4_db_result_free(res);
	if (offer_read(body, false, &o, &form) < 0) {
		b4_req_send_form(req, &form);
		return;
	}
	if (b4_db_exec(
		req->db,
		"UPDATE offers o JOIN products p ON p.id = o.product_id SET o.name = ?,"
		" o.price_cents = ?, o.max_installments = ?, o.interest_free_installments = ?,"
		" o.payment_methods = ?, o.allow_coupon = ?, o.active = ?"
		" WHERE o.id = ? AND p.producer_id = ?",
		"siiisBBss", o.name, o.price_cents, o.max_installments, o.interest_free, o.methods,
		o.allow_coupon, o.active, id, req->caller.user_id) < 0) {
		b4_req_db_error(req);
		return;
	}
	offer_send(req, id, 200);
}

/* Is other an offer of the caller's (any of their products)?  1/0/-1. */
static int offer_is_mine(struct b4_req *req, const char *other)
{
	struct b4_db_result *res;
	int mine;

	res = b4_db_query(req->db, "SELECT 1" OFFER_MINE " WHERE o.id = ?", "ss",
			  req->caller.user_id, other);
	if (!res)
		return -1;
	mine = b4_db_rows(res) > 0;
	b4_db_result_free(res);
	return mine;
}

/* True when id is the caller's offer; otherwise answers 404 (or 503). */
static bool offer_require(struct b4_req *req, const char *id)
{
	int mine = offer_is_mine(req, id);

	if (mine < 0)
		b4_req_db_error(req);
	else if (mine == 0)
		b4_req_not_found(req, "offer");
	return mine > 0;
}

struct bumps_tx {
	const char *offer_id;
	const char *ids[5];
	size_t count;
};

static int bumps_write(struct b4_db *db, void *arg)
{
	struct bumps_tx *t = arg;

	if (b4_db_exec(db, "DELETE FROM offer_bumps WHERE offer_id = ?", "s", t->offer_id) < 0)
		return -1;
	for (size_t i = 0; i < t->count; i++)
		if (b4_db_exec(db,
			       "INSERT INTO offer_bumps (offer_id, bump_offer_id, position)"
			       " VALUES (?, ?, ?)",
			       "ssI", t->offer_id, t->ids[i], (int)(i + 1)) < 0)
			return -1;
	return 0;
}

static const char *const bumps_fields[] = {"offer_ids", NULL};

void api_offer_bumps(struct b4_req *req)
{
	const char *id = api_id_param(req, "id");
	const cJSON *body, *arr = NULL, *item;
	struct bumps_tx t = {.offer_id = id};
	struct b4_error err;
	int mine;

	if (!id || !offer_require(req, id))
		return;
	if (!(body = api_body(req, bumps_fields, false)))
		return;
	if (b4_json_get_array(body, "offer_ids", B4_JSON_REQUIRED, 5, &arr, &err) < 0) {
		api_fail(req, &err);
		return;
	}
	cJSON_ArrayForEach(item, arr)
	{
		if (!cJSON_IsString(item)) {
			b4_req_errorf(req, 400, "invalid_request_error", "invalid_type",
				      "offer_ids",
				      "The field 'offer_ids' must be an array of offer ids.");
			return;
		}
		if (!b4_text_is_uuid(item->valuestring) || strcmp(item->valuestring, id) == 0 ||
		    (mine = offer_is_mine(req, item->valuestring)) == 0) {
			b4_req_errorf(req, 422, "invalid_request_error", "invalid_bump",
				      "offer_ids", "Each bump must be another offer of yours.");
			return;
		}
		if (mine < 0) {
			b4_req_db_error(req);
			return;
		}
		for (size_t i = 0; i < t.count; i++)
			if (strcmp(t.ids[i], item->valuestring) == 0) {
				b4_req_errorf(req, 422, "invalid_request_error", "duplicate",
					      "offer_ids", "An offer is listed twice.");
				return;
			}
		t.ids[t.count++] = item->valuestring;
	}
	if (b4_db_tx(req->db, bumps_write, &t) < 0) {
		b4_req_db_error(req);
		return;
	}
	offer_send(req, id, 200);
}

static const char *const upsell_fields[] = {"offer_id", "one_click", NULL};

void api_offer_upsell(struct b4_req *req)
{
	const char *id = api_id_param(req, "id");
	const char *upsell_id = NULL;
	const cJSON *body;
	struct b4_error err;
	bool one_click = false;
	int mine;

	if (!id || !offer_require(req, id))
		return;
	if (!(body = api_body(req, upsell_fields, false)))
		return;
	if (!b4_json_is_null(body, "offer_id") &&
	    b4_json_get_str(body, "offer_id", B4_JSON_REQUIRED, 36, 36, &upsell_id, &err) < 0) {
		api_fail(req, &err);
		return;
	}
	if (b4_json_get_bool(body, "one_click", B4_JSON_OPTIONAL, &one_click, &err) < 0) {
		api_fail(req, &err);
		return;
	}
	if (upsell_id) {
		if (!b4_text_is_uuid(upsell_id) || strcmp(upsell_id, id) == 0 ||
		    (mine = offer_is_mine(req, upsell_id)) == 0) {
			b4_req_errorf(req, 422, "invalid_request_error", "invalid_upsell",
				      "offer_id", "The upsell must be another offer of yours.");
			return;
		}
		if (mine < 0) {
			b4_req_db_error(req);
			return;
		}
	}
	if (b4_db_exec(req->db,
		       "UPDATE offers o JOIN products p ON p.id = o.product_id SET"
		       " o.upsell_offer_id = ?, o.upsell_one_click = ? WHERE o.id = ?"
		       " AND p.producer_id = ?",
		       "sBss", upsell_id, upsell_id ? one_click : false, id,
		       req->caller.user_id) < 0) {
		b4_req_db_error(req);
		return;
	}
	offer_send(req, id, 200);
}
