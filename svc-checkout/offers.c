/* offers.c - GET /v1/offers/:code: public offer page data. */
#include "checkout.h"
#include "b4/db.h"

#include <string.h>

void checkout_offer_get(struct b4_req *req);

static bool code_is_valid(const char *code)
{
	size_t n = strlen(code);

	if (n != 10)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = code[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')))
			return false;
	}
	return true;
}

void checkout_offer_get(struct b4_req *req)
{
	const char *code = b4_req_param(req, "code");
	struct b4_db_result *res;
	cJSON *offer;

	if (!code || !code_is_valid(code)) {
		b4_req_not_found(req, "offer");
		return;
	}
	res = b4_db_query(req->db,
			  "SELECT o.code, o.name, o.price_cents, o.max_installments, p.name, u.full_name"
			  " FROM offers o JOIN products p ON p.id = o.product_id"
			  " JOIN users u ON u.id = p.producer_id"
			  " WHERE o.code = ? AND o.active = 1 AND p.status = 'active' AND p.blocked = 0",
			  "s", code);
	if (!res) {
		b4_req_db_error(req);
		return;
	}
	if (b4_db_rows(res) == 0) {
		b4_db_result_free(res);
		b4_req_not_found(req, "offer");
		return;
	}
	offer = cJSON_CreateObject();
	cJSON_AddStringToObject(offer, "code", b4_db_str(res, 0, 0));
	cJSON_AddStringToObject(offer, "name", b4_db_str(res, 0, 1));
	cJSON_AddNumberToObject(offer, "price_cents", (double)b4_db_i64(res, 0, 2));
	cJSON_AddNumberToObject(offer, "max_installments", (double)b4_db_i64(res, 0, 3));
	cJSON_AddStringToObject(offer, "product_name", b4_db_str(res, 0, 4));
	cJSON_AddStringToObject(offer, "producer_name", b4_db_str(res, 0, 5));
	b4_db_result_free(res);
	b4_req_send_json(req, 200, offer);
}
