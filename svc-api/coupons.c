/* coupons.c - discount coupons of the caller's products. */
#include "api.h"
#include "b4/crypto.h"

#include <stdio.h>
#include <string.h>

#define MAX_MONEY_CENTS 100000000 /* R$ 1,000,000.00 */

#define COUPON_SELECT                                                                              \
	"SELECT c.id, c.product_id, c.code, c.percent_bps, c.amount_cents, c.payment_methods,"     \
	" c.min_amount_cents, c.expires_at, c.max_uses, c.uses, c.once_per_customer,"              \
	" a.affiliate_id, c.active, c.created_at, c.updated_at FROM coupons c"                     \
	" JOIN products p ON p.id = c.product_id AND p.producer_id = ?"                            \
	" LEFT JOIN affiliations a ON a.id = c.affiliation_id"

static const char *const create_fields[] = {
    "code",	  "percent_bps", "amount_cents",      "payment_methods", "min_amount_cents",
    "expires_at", "max_uses",	 "once_per_customer", "affiliate_id",	 "active",
    NULL};
static const char *const update_fields[] = {
    "payment_methods",	 "min_amount_cents", "expires_at", "max_uses",
    "once_per_customer", "active",	     NULL};

static cJSON *coupon_json(const struct b4_db_result *res, size_t row)
{
	cJSON *c = cJSON_CreateObject();

	cJSON_AddStringToObject(c, "id", b4_db_str(res, row, 0));
	cJSON_AddStringToObject(c, "product_id", b4_db_str(res, row, 1));
	cJSON_AddStringToObject(c, "code", b4_db_str(res, row, 2));
	if (b4_db_is_null(res, row, 3))
		cJSON_AddNullToObject(c, "percent_bps");
	else
		cJSON_AddNumberToObject(c, "percent_bps", (double)b4_db_i64(res, row, 3));
	if (b4_db_is_null(res, row, 4))
		cJSON_AddNullToObject(c, "amount_cents");
	else
		cJSON_AddNumberToObject(c, "amount_cents", (double)b4_db_i64(res, row, 4));
	api_add_set(c, "payment_methods", b4_db_str(res, row, 5));
	cJSON_AddNumberToObject(c, "min_amount_cents", (double)b4_db_i64(res, row, 6));
	api_add_time(c, "expires_at", res, row, 7);
	if (b4_db_is_null(res, row, 8))
		cJSON_AddNullToObject(c, "max_uses");
	else
		cJSON_AddNumberToObject(c, "max_uses", (double)b4_db_i64(res, row, 8));
	cJSON_AddNumberToObject(c, "uses", (double)b4_db_i64(res, row, 9));
	cJSON_AddBoolToObject(c, "once_per_customer", b4_db_i64(res, row, 10) != 0);
	api_add_str_or_null(c, "affiliate_id", res, row, 11);
	cJSON_AddBoolToObject(c, "active", b4_db_i64(res, row, 12) != 0);
	api_add_time(c, "created_at", res, row, 13);
	api_add_time(c, "updated_at", res, row, 14);
	return c;
}

static void coupon_send(struct b4_req *req, const char *id, int status)
{
	struct b4_db_result *res;

	res = b4_db_query(req->db, COUPON_SELECT " WHERE c.id = ?", "ss", req->caller.user_id, id);
	api_send_one(req, res, status, coupon_json, "coupon");
}

static bool code_is_valid(const char *code)
{
	for (const char *c = code; *c; c++)
		if (!((*c >= 'A' && *c <= 'Z') || (*c >= 'a' && *c <= 'z') ||
		      (*c >= '0' && *c <= '9') || *c == '_' || *c == '-'))
			return false;
	return true;
}

/* The mutable fields, shared by create and update. */
struct coupon {
	char methods[32];
	int64_t min_amount_cents;
	char expires_at[32];
	bool has_expiry;
	int64_t max_uses;
	bool has_max_uses;
	bool once_per_customer;
	bool active;
};

static int coupon_read(const cJSON *body, struct coupon *c, struct b4_error *err)
{
	bool given, expiry_given;

	if (api_get_methods(body, "payment_methods", c->methods, &given, err) < 0 ||
	    b4_json_get_int(body, "min_amount_cents", B4_JSON_OPTIONAL, 0, MAX_MONEY_CENTS,
			    &c->min_amount_cents, err) < 0 ||
	    api_get_time(body, "expires_at", c->expires_at, &expiry_given, err) < 0 ||
	    b4_json_get_bool(body, "once_per_customer", B4_JSON_OPTIONAL, &c->once_per_customer,
			     err) < 0 ||
	    b4_json_get_bool(body, "active", B4_JSON_OPTIONAL, &c->active, err) < 0)
		return -1;
	if (expiry_given)
		c->has_expiry = true;
	else if (b4_json_is_null(body, "expires_at"))
		c->has_expiry = false;
	if (cJSON_GetObjectItemCaseSensitive(body, "max_uses") &&
	    !b4_json_is_null(body, "max_uses")) {
		if (b4_json_get_int(body, "max_uses", B4_JSON_REQUIRED, 1, 10000000, &c->max_uses,
				    err) < 0)
			return -1;
		c->has_max_uses = true;
	} else if (b4_json_is_null(body, "max_uses")) {
		c->has_max_uses = false;
	}
	return 0;
}

/* Finds the affiliation that binds a coupon of product_id to affiliate_id,
 * one of this product's approved affiliates, and sets *affiliation_id to its
 * id (copied into the request arena).  False after answering 422 (not one)
 * or the DB error. */
static bool coupon_affiliation_find(struct b4_req *req, const char *product_id,
				    const char *affiliate_id, const char **affiliation_id)
{
	struct b4_db_result *res;

	res = b4_text_is_uuid(affiliate_id)
		  ? b4_db_query(req->db,
				"SELECT id FROM affiliations WHERE product_id = ? AND"
				" affiliate_id = ? AND status = 'approved'",
				"ss", product_id, affiliate_id)
		  : NULL;
	if (b4_text_is_uuid(affiliate_id) && !res) {
		b4_req_db_error(req);
		return false;
	}
	if (!res || b4_db_rows(res) == 0) {
		b4_db_result_free(res);
		b4_req_errorf(req, 422, "invalid_request_error", "unknown_affiliate",
			      "affiliate_id",
			      "The affiliate must be an approved affiliate of this product.");
		return false;
	}
	*affiliation_id = b4_arena_strdup(req->arena, b4_db_str(res, 0, 0));
	b4_db_result_free(res);
	return true;
}

void api_coupon_create(struct b4_req *req)
{
	const char *product_id = api_id_param(req, "id");
	const char *code = NULL, *affiliate_id = NULL, *affiliation_id = NULL;
	const cJSON *body;
	struct coupon c = {.methods = "card,pix,boleto", .active = true};
	struct b4_error err;
	int64_t percent_bps = 0, amount_cents = 0;
	bool has_percent, has_amount;
	char id[37];

	if (!api_require_product(req, product_id))
		return;
	if (!(body = api_body(req, create_fields, false)))
		return;
	if (b4_json_get_str(body, "code", B4_JSON_REQUIRED, 3, 40, &code, &err) < 0 ||
	    b4_json_get_int(body, "percent_bps", B4_JSON_OPTIONAL, 1, 10000, &percent_bps, &err) <
		0 ||
	    b4_json_get_int(body, "amount_cents", B4_JSON_OPTIONAL, 1, MAX_MONEY_CENTS,
			    &amount_cents, &err) < 0 ||
	    coupon_read(body, &c, &err) < 0 ||
	    b4_json_get_str(body, "affiliate_id", B4_JSON_OPTIONAL, 36, 36, &affiliate_id, &err) <
		0) {
		api_fail(req, &err);
		return;
	}
	if (!code_is_valid(code)) {
		b4_req_errorf(req, 422, "invalid_request_error", "invalid_code", "code",
			      "A coupon code takes letters, digits, '_' and '-'.");
		return;
	}
	has_percent = percent_bps > 0;
	has_amount = amount_cents > 0;
	if (has_percent == has_amount) {
		b4_req_errorf(req, 422, "invalid_request_error", "discount_kind", "percent_bps",
			      "Give exactly one of percent_bps and amount_cents.");
		return;
	}
	if (affiliate_id &&
	    !coupon_affiliation_find(req, product_id, affiliate_id, &affiliation_id))
		return;
	b4_crypto_uuid7(id);
	/* NULLIF(?, 0): the kind not chosen, and "no limit", are stored as NULL */
	if (b4_db_exec(
		req->db,
		"INSERT INTO coupons (id, product_id, code, percent_bps, amount_cents,"
		" payment_methods, min_amount_cents, expires_at, max_uses, once_per_customer,"
		" affiliation_id, active) VALUES (?, ?, ?, NULLIF(?, 0), NULLIF(?, 0), ?, ?,"
		" ?, NULLIF(?, 0), ?, ?, ?)",
		"sssiisisiBsB", id, product_id, code, percent_bps, amount_cents, c.methods,
		c.min_amount_cents, c.has_expiry ? c.expires_at : NULL,
		c.has_max_uses ? c.max_uses : (int64_t)0, c.once_per_customer, affiliation_id,
		c.active) < 0) {
		if (b4_db_is_duplicate(req->db))
			b4_req_errorf(req, 409, "conflict", "code_taken", "code",
				      "This product already has a coupon with this code.");
		else
			b4_req_db_error(req);
		return;
	}
	coupon_send(req, id, 201);
}

void api_coupon_list(struct b4_req *req)
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
			  COUPON_SELECT " WHERE c.product_id = ? AND (? IS NULL OR c.id < ?)"
					" ORDER BY c.id DESC LIMIT ?",
			  "ssssI", req->caller.user_id, product_id, after, after, limit + 1);
	api_send_page(req, res, (size_t)limit, coupon_json);
}

void api_coupon_get(struct b4_req *req)
{
	api_get_by_id(req, "coupon", coupon_send);
}

void api_coupon_update(struct b4_req *req)
{
	const char *id = api_id_param(req, "id");
	const cJSON *body;
	struct b4_db_result *res;
	struct coupon c;
	struct b4_error err;

	if (!id) {
		b4_req_not_found(req, "coupon");
		return;
	}
	if (!(body = api_body(req, update_fields, false)))
		return;
	res = b4_db_query(req->db, COUPON_SELECT " WHERE c.id = ?", "ss", req->caller.user_id, id);
	if (!api_found(req, res, "coupon"))
		return;
	memset(&c, 0, sizeof(c));
	snprintf(c.methods, sizeof(c.methods), "%s", b4_db_str(res, 0, 5));
	c.min_amount_cents = b4_db_i64(res, 0, 6);
	c.has_expiry = !b4_db_is_null(res, 0, 7);
	snprintf(c.expires_at, sizeof(c.expires_at), "%.19s", b4_db_str(res, 0, 7));
	c.has_max_uses = !b4_db_is_null(res, 0, 8);
	c.max_uses = b4_db_i64(res, 0, 8);
	c.once_per_customer = b4_db_i64(res, 0, 10) != 0;
	c.active = b4_db_i64(res, 0, 12) != 0;
	b4_db_result_free(res);
	if (coupon_read(body, &c, &err) < 0) {
		api_fail(req, &err);
		return;
	}
	if (b4_db_exec(req->db,
		       "UPDATE coupons c JOIN products p ON p.id = c.product_id SET"
		       " c.payment_methods = ?, c.min_amount_cents = ?, c.expires_at = ?,"
		       " c.max_uses = NULLIF(?, 0), c.once_per_customer = ?, c.active = ?"
		       " WHERE c.id = ? AND p.producer_id = ?",
		       "sisiBBss", c.methods, c.min_amount_cents,
		       c.has_expiry ? c.expires_at : NULL, c.has_max_uses ? c.max_uses : (int64_t)0,
		       c.once_per_customer, c.active, id, req->caller.user_id) < 0) {
		b4_req_db_error(req);
		return;
	}
	coupon_send(req, id, 200);
}
