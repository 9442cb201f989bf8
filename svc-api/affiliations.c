/* affiliations.c - the affiliate program: marketplace, requests, the
 * producer's decision.  Each change writes its webhook.event job in the
 * same transaction. */
#include "api.h"
#include "b4/crypto.h"

#include <string.h>

#define REF_ALPHABET "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"

static cJSON *marketplace_json(const struct b4_db_result *res, size_t i)
{
	cJSON *p = cJSON_CreateObject();

	cJSON_AddStringToObject(p, "id", b4_db_str(res, i, 0));
	cJSON_AddStringToObject(p, "name", b4_db_str(res, i, 1));
	api_add_str_or_null(p, "description", res, i, 2);
	cJSON_AddStringToObject(p, "type", b4_db_str(res, i, 3));
	cJSON_AddStringToObject(p, "producer_name", b4_db_str(res, i, 4));
	cJSON_AddNumberToObject(p, "commission_bps", (double)b4_db_i64(res, i, 5));
	cJSON_AddNumberToObject(p, "cookie_days", (double)b4_db_i64(res, i, 6));
	cJSON_AddStringToObject(p, "attribution", b4_db_str(res, i, 7));
	if (b4_db_is_null(res, i, 8))
		cJSON_AddNullToObject(p, "min_price_cents");
	else
		cJSON_AddNumberToObject(p, "min_price_cents", (double)b4_db_i64(res, i, 8));
	return p;
}

void api_marketplace(struct b4_req *req)
{
	const char *after = NULL;
	struct b4_db_result *res;
	int limit;

	if (b4_req_page(req, &limit, &after) < 0)
		return;
	res = b4_db_query(
	    req->db,
	    "SELECT p.id, p.name, p.description, p.type, u.full_name,"
	    " p.affiliate_commission_bps, p.affiliate_cookie_days, p.affiliate_attribution,"
	    " (SELECT MIN(o.price_cents) FROM offers o WHERE o.product_id = p.id AND o.active = 1)"
	    " FROM products p JOIN users u ON u.id = p.producer_id"
	    " WHERE p.status = 'active' AND p.affiliate_enabled = 1 AND p.blocked = 0"
	    " AND (? IS NULL OR p.id < ?) ORDER BY p.id DESC LIMIT ?",
	    "ssI", after, after, limit + 1);
	api_send_page(req, res, (size_t)limit, marketplace_json);
}

#define AFFILIATION_SELECT                                                                         \
	"SELECT a.id, a.product_id, pr.name, a.affiliate_id, u.full_name, u.email, a.ref,"         \
	" a.status, COALESCE(a.commission_bps, pr.affiliate_commission_bps), a.created_at,"        \
	" a.decided_at, pr.producer_id FROM affiliations a JOIN products pr ON pr.id = "           \
	"a.product_id"                                                                             \
	" JOIN users u ON u.id = a.affiliate_id"

static cJSON *affiliation_json(const struct b4_db_result *res, size_t row)
{
	cJSON *a = cJSON_CreateObject();

	cJSON_AddStringToObject(a, "id", b4_db_str(res, row, 0));
	cJSON_AddStringToObject(a, "product_id", b4_db_str(res, row, 1));
	cJSON_AddStringToObject(a, "product_name", b4_db_str(res, row, 2));
	cJSON_AddStringToObject(a, "affiliate_id", b4_db_str(res, row, 3));
	cJSON_AddStringToObject(a, "affiliate_name", b4_db_str(res, row, 4));
	cJSON_AddStringToObject(a, "affiliate_email", b4_db_str(res, row, 5));
	cJSON_AddStringToObject(a, "ref", b4_db_str(res, row, 6));
	cJSON_AddStringToObject(a, "status", b4_db_str(res, row, 7));
	cJSON_AddNumberToObject(a, "commission_bps", (double)b4_db_i64(res, row, 8));
	api_add_time(a, "created_at", res, row, 9);
	api_add_time(a, "decided_at", res, row, 10);
	return a;
}

/* The event's data: the affiliation as its parties see it. */
static cJSON *event_data(struct b4_db *db, const char *id)
{
	struct b4_db_result *res = b4_db_query(db, AFFILIATION_SELECT " WHERE a.id = ?", "s", id);
	cJSON *data;

	if (!res)
		return NULL;
	data = b4_db_rows(res) ? affiliation_json(res, 0) : NULL;
	b4_db_result_free(res);
	return data;
}

struct request_tx {
	const char *id, *product_id, *affiliate_id, *producer_id;
	char ref[11];
	bool duplicate;
};

static int request_write(struct b4_db *db, void *arg)
{
	struct request_tx *t = arg;
	cJSON *data;

	t->duplicate = false;
	b4_crypto_random_code(t->ref, 10, REF_ALPHABET);
	if (b4_db_exec(db,
		       "INSERT INTO affiliations (id, product_id, affiliate_id, ref, status)"
		       " VALUES (?, ?, ?, ?, 'pending')",
		       "ssss", t->id, t->product_id, t->affiliate_id, t->ref) < 0) {
		t->duplicate = b4_db_is_duplicate(db);
		return -1;
	}
	data = event_data(db, t->id);
	if (!data)
		return -1;
	cJSON_DeleteItemFromObject(data, "affiliate_email");
	return api_enqueue_event(db, "affiliation-requested", t->producer_id, t->product_id, t->id,
				 "pending", data);
}

void api_affiliation_request(struct b4_req *req)
{
	const char *product_id = api_id_param(req, "id");
	static const char *const no_fields[] = {NULL};
	struct request_tx t = {0};
	struct b4_db_result *res;
	char id[37];
	int rc = -1;

	if (!product_id) {
		b4_req_not_found(req, "product");
		return;
	}
	if (!api_body(req, no_fields, true))
		return;
	/* only products with an open program exist for would-be affiliates */
	res = b4_db_query(req->db,
			  "SELECT producer_id FROM products WHERE id = ? AND status = 'active'"
			  " AND affiliate_enabled = 1 AND blocked = 0",
			  "s", product_id);
	if (!api_found(req, res, "product"))
		return;
	t.producer_id = b4_arena_strdup(req->arena, b4_db_str(res, 0, 0));
	b4_db_result_free(res);
	if (strcmp(t.producer_id, req->caller.user_id) == 0) {
		b4_req_errorf(req, 422, "invalid_request_error", "own_product", NULL,
			      "You cannot be an affiliate of your own product.");
		return;
	}
	b4_crypto_uuid7(id);
	t.id = id;
	t.product_id = product_id;
	t.affiliate_id = req->caller.user_id;
	/* a duplicate ref (random) is retried; a duplicate (product, affiliate) is a 409 */
	for (int attempt = 0; attempt < 3; attempt++) {
		rc = b4_db_tx(req->db, request_write, &t);
		if (rc == 0 || !t.duplicate)
			break;
		res = b4_db_query(
		    req->db, "SELECT 1 FROM affiliations WHERE product_id = ? AND affiliate_id = ?",
		    "ss", product_id, req->caller.user_id);
		if (res && b4_db_rows(res) > 0) {
			b4_db_result_free(res);
			b4_req_errorf(req, 409, "conflict", "already_requested", NULL,
				      "You already asked to promote this product.");
			return;
		}
		b4_db_result_free(res);
	}
	if (rc < 0) {
		b4_req_db_error(req);
		return;
	}
	res = b4_db_query(req->db, AFFILIATION_SELECT " WHERE a.id = ?", "s", id);
	api_send_one(req, res, 201, affiliation_json, "affiliation");
}

static const char *const as_values[] = {"affiliate", "producer", NULL};
static const char *const status_values[] = {"pending", "approved", "rejected", "blocked", NULL};

void api_affiliation_list(struct b4_req *req)
{
	const char *as = b4_req_query(req, "as");
	const char *status = b4_req_query(req, "status");
	const char *after = NULL;
	struct b4_db_result *res;
	bool as_producer = false, known = false;
	int limit;

	if (as) {
		for (int i = 0; as_values[i]; i++)
			if (strcmp(as, as_values[i]) == 0) {
				known = true;
				as_producer = i == 1;
			}
		if (!known) {
			b4_req_errorf(req, 400, "invalid_request_error", "invalid_value", "as",
				      "as must be affiliate or producer.");
			return;
		}
	}
	if (status) {
		known = false;
		for (int i = 0; status_values[i]; i++)
			known = known || strcmp(status, status_values[i]) == 0;
		if (!known) {
			b4_req_errorf(req, 400, "invalid_request_error", "invalid_value", "status",
				      "status must be pending, approved, rejected or blocked.");
			return;
		}
	}
	if (b4_req_page(req, &limit, &after) < 0)
		return;
	res = b4_db_query(req->db,
			  as_producer ? AFFILIATION_SELECT " WHERE pr.producer_id = ?"
							   " AND (? IS NULL OR a.status = ?)"
							   " AND (? IS NULL OR a.id < ?)"
							   " ORDER BY a.id DESC LIMIT ?"
				      : AFFILIATION_SELECT " WHERE a.affiliate_id = ?"
							   " AND (? IS NULL OR a.status = ?)"
							   " AND (? IS NULL OR a.id < ?)"
							   " ORDER BY a.id DESC LIMIT ?",
			  "sssssI", req->caller.user_id, status, status, after, after, limit + 1);
	api_send_page(req, res, (size_t)limit, affiliation_json);
}

struct decide_tx {
	const char *id, *producer_id, *status, *event;
	bool not_found, wrong_state;
};

static int decide_write(struct b4_db *db, void *arg)
{
	struct decide_tx *t = arg;
	struct b4_db_result *res;
	char affiliate_id[37], product_id[37];
	cJSON *data;

	res = b4_db_query(db,
			  "SELECT a.status, a.affiliate_id, a.product_id FROM affiliations a"
			  " JOIN products p ON p.id = a.product_id"
			  " WHERE a.id = ? AND p.producer_id = ? FOR UPDATE",
			  "ss", t->id, t->producer_id);
	if (!res || !api_row_in_state(res, "pending", &t->not_found, &t->wrong_state))
		return -1;
	memcpy(affiliate_id, b4_db_str(res, 0, 1), 37);
	memcpy(product_id, b4_db_str(res, 0, 2), 37);
	b4_db_result_free(res);
	if (b4_db_exec(db,
		       "UPDATE affiliations SET status = ?, decided_at = UTC_TIMESTAMP(6)"
		       " WHERE id = ? AND status = 'pending'",
		       "ss", t->status, t->id) != 1)
		return -1;
	data = event_data(db, t->id);
	if (!data)
		return -1;
	/* the affiliate is the one who learns the decision */
	return api_enqueue_event(db, t->event, affiliate_id, product_id, t->id, t->status, data);
}

static void decide(struct b4_req *req, const char *status, const char *event)
{
	const char *id = api_id_param(req, "id");
	static const char *const no_fields[] = {NULL};
	struct decide_tx t = {.producer_id = req->caller.user_id, .status = status, .event = event};
	struct b4_db_result *res;

	if (!id) {
		b4_req_not_found(req, "affiliation");
		return;
	}
	if (!api_body(req, no_fields, true))
		return;
	t.id = id;
	if (b4_db_tx(req->db, decide_write, &t) < 0) {
		if (t.not_found)
			b4_req_not_found(req, "affiliation");
		else if (t.wrong_state)
			b4_req_errorf(req, 409, "conflict", "already_decided", NULL,
				      "This affiliation was already decided.");
		else
			b4_req_db_error(req);
		return;
	}
	res = b4_db_query(req->db, AFFILIATION_SELECT " WHERE a.id = ?", "s", id);
	api_send_one(req, res, 200, affiliation_json, "affiliation");
}

void api_affiliation_approve(struct b4_req *req)
{
	decide(req, "approved", "approved-affiliate");
}

void api_affiliation_reject(struct b4_req *req)
{
	decide(req, "rejected", "refused-affiliate");
}
