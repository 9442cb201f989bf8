/* coproducers.c - co-producers of the caller's products.  The owner keeps
 * at least 30%: the shares of all co-producers add up to at most 7000 bps. */
#include "api.h"
#include "b4/crypto.h"

#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define MAX_COPRODUCER_TOTAL_BPS 7000

static const char *const coproducer_fields[] = {"email", "share_bps", "ends_at", NULL};

static cJSON *coproducer_json(const struct b4_db_result *res, size_t row)
{
	cJSON *c = cJSON_CreateObject();

	cJSON_AddStringToObject(c, "id", b4_db_str(res, row, 0));
	cJSON_AddStringToObject(c, "product_id", b4_db_str(res, row, 1));
	cJSON_AddStringToObject(c, "user_id", b4_db_str(res, row, 2));
	cJSON_AddStringToObject(c, "email", b4_db_str(res, row, 3));
	cJSON_AddStringToObject(c, "full_name", b4_db_str(res, row, 4));
	cJSON_AddNumberToObject(c, "share_bps", (double)b4_db_i64(res, row, 5));
	api_add_time(c, "starts_at", res, row, 6);
	api_add_time(c, "ends_at", res, row, 7);
	api_add_time(c, "created_at", res, row, 8);
	return c;
}

#define COPRODUCER_SELECT                                                                          \
	"SELECT c.id, c.product_id, c.user_id, u.email, u.full_name, c.share_bps, c.starts_at,"    \
	" c.ends_at, c.created_at FROM coproducers c JOIN users u ON u.id = c.user_id"             \
	" JOIN products p ON p.id = c.product_id AND p.producer_id = ?"

struct coproducer_tx {
	const char *id, *product_id, *producer_id, *user_id;
	int64_t share_bps;
	const char *ends_at;
	int outcome; /* 0 ok, 1 over the limit, 2 duplicate, 3 product gone */
};

static int coproducer_write(struct b4_db *db, void *arg)
{
	struct coproducer_tx *t = arg;
	struct b4_db_result *res;
	int64_t total;

	t->outcome = 0;
	/* the product row lock serialises concurrent additions */
	res = b4_db_query(db, "SELECT id FROM products WHERE id = ? AND producer_id = ? FOR UPDATE",
			  "ss", t->product_id, t->producer_id);
	if (!res)
		return -1;
	if (b4_db_rows(res) == 0) {
		b4_db_result_free(res);
		t->outcome = 3;
		return -1;
	}
	b4_db_result_free(res);
	res = b4_db_query(db,
			  "SELECT COALESCE(SUM(share_bps), 0) FROM coproducers WHERE product_id = ?"
			  " AND (ends_at IS NULL OR ends_at > UTC_TIMESTAMP(6))",
			  "s", t->product_id);
	if (!res)
		return -1;
	total = b4_db_i64(res, 0, 0);
	b4_db_result_free(res);
	if (total + t->share_bps > MAX_COPRODUCER_TOTAL_BPS) {
		t->outcome = 1;
		return -1;
	}
	if (b4_db_exec(db,
		       "INSERT INTO coproducers (id, product_id, user_id, share_bps, ends_at)"
		       " VALUES (?, ?, ?, ?, ?)",
		       "sssis", t->id, t->product_id, t->user_id, t->share_bps, t->ends_at) < 0) {
		if (b4_db_is_duplicate(db))
			t->outcome = 2;
		return -1;
	}
	return 0;
}

void api_coproducer_create(struct b4_req *req)
{
	const char *product_id = api_id_param(req, "id");
	const char *email_in = NULL;
	const cJSON *body;
	struct coproducer_tx t = {0};
	struct b4_db_result *res;
	struct b4_error err;
	char id[37], ends_at[32], email[255];
	bool has_end;

	if (!api_require_product(req, product_id))
		return;
	if (!(body = api_body(req, coproducer_fields, false)))
		return;
	if (b4_json_get_str(body, "email", B4_JSON_REQUIRED, 3, 254, &email_in, &err) < 0 ||
	    b4_json_get_int(body, "share_bps", B4_JSON_REQUIRED, 1, MAX_COPRODUCER_TOTAL_BPS,
			    &t.share_bps, &err) < 0 ||
	    api_get_time(body, "ends_at", ends_at, &has_end, &err) < 0) {
		api_fail(req, &err);
		return;
	}
	snprintf(email, sizeof(email), "%s", email_in);
	for (char *c = email; *c; c++)
		*c = (char)tolower((unsigned char)*c);
	res = b4_db_query(req->db, "SELECT id FROM users WHERE email = ? AND status = 'active'",
			  "s", email);
	if (!res) {
		b4_req_db_error(req);
		return;
	}
	if (b4_db_rows(res) == 0 || strcmp(b4_db_str(res, 0, 0), req->caller.user_id) == 0) {
		b4_db_result_free(res);
		b4_req_errorf(req, 422, "invalid_request_error", "unknown_member", "email",
			      "The co-producer must be another active member.");
		return;
	}
	t.user_id = b4_arena_strdup(req->arena, b4_db_str(res, 0, 0));
	b4_db_result_free(res);
	b4_crypto_uuid7(id);
	t.id = id;
	t.product_id = product_id;
	t.producer_id = req->caller.user_id;
	t.ends_at = has_end ? ends_at : NULL;
	if (b4_db_tx(req->db, coproducer_write, &t) < 0) {
		if (t.outcome == 1)
			b4_req_errorf(
			    req, 422, "invalid_request_error", "share_too_high", "share_bps",
			    "Co-producer shares may add up to at most 70%%; the owner keeps "
			    "at least 30%%.");
		else if (t.outcome == 2)
			b4_req_errorf(req, 409, "conflict", "already_coproducer", "email",
				      "This member is already a co-producer of the product.");
		else if (t.outcome == 3)
			b4_req_not_found(req, "product");
		else
			b4_req_db_error(req);
		return;
	}
	res = b4_db_query(req->db, COPRODUCER_SELECT " WHERE c.id = ?", "ss", req->caller.user_id,
			  id);
	api_send_one(req, res, 201, coproducer_json, "coproducer");
}

void api_coproducer_list(struct b4_req *req)
{
	const char *product_id = api_id_param(req, "id");
	struct b4_db_result *res;

	if (!api_require_product(req, product_id))
		return;
	/* at most a handful per product (shares bound them): no paging */
	res = b4_db_query(req->db, COPRODUCER_SELECT " WHERE c.product_id = ? ORDER BY c.id DESC",
			  "ss", req->caller.user_id, product_id);
	api_send_page(req, res, SIZE_MAX, coproducer_json);
}

void api_coproducer_delete(struct b4_req *req)
{
	const char *product_id = api_id_param(req, "id");
	const char *id = api_id_param(req, "coproducer_id");
	int64_t rc;

	if (!product_id || !id) {
		b4_req_not_found(req, "coproducer");
		return;
	}
	rc = b4_db_exec(req->db,
			"DELETE c FROM coproducers c JOIN products p ON p.id = c.product_id"
			" WHERE c.id = ? AND c.product_id = ? AND p.producer_id = ?",
			"sss", id, product_id, req->caller.user_id);
	if (rc < 0) {
		b4_req_db_error(req);
		return;
	}
	if (rc == 0) {
		b4_req_not_found(req, "coproducer");
		return;
	}
	b4_req_send(req, 204, "application/json", "", 0);
}
