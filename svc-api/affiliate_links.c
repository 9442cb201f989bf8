/* affiliate_links.c - GET /v1/affiliations/:id/links: an approved
 * affiliate's promotion links, one per active offer of the product
 * (/pay/<code>?ref=<ref>, the checkout page with the affiliate's code). */
#include "api.h"

#include <string.h>

void api_affiliation_links(struct b4_req *req)
{
	const char *id = api_id_param(req, "id");
	struct b4_db_result *aff, *offers;
	cJSON *out, *links;

	if (!id) {
		b4_req_not_found(req, "affiliation");
		return;
	}
	/* only the affiliate sees their links, and only once approved */
	aff = b4_db_query(req->db,
			  "SELECT a.ref, a.product_id FROM affiliations a JOIN products p"
			  " ON p.id = a.product_id WHERE a.id = ? AND a.affiliate_id = ?"
			  " AND a.status = 'approved' AND p.blocked = 0",
			  "ss", id, req->caller.user_id);
	if (!api_found(req, aff, "affiliation"))
		return;
	offers = b4_db_query(req->db,
			     "SELECT code, name, price_cents FROM offers WHERE product_id = ?"
			     " AND active = 1 ORDER BY id LIMIT 100",
			     "s", b4_db_str(aff, 0, 1));
	if (!offers) {
		b4_db_result_free(aff);
		b4_req_db_error(req);
		return;
	}
	out = cJSON_CreateObject();
	cJSON_AddStringToObject(out, "ref", b4_db_str(aff, 0, 0));
	links = cJSON_AddArrayToObject(out, "data");
	for (size_t i = 0; i < b4_db_rows(offers); i++) {
		cJSON *link = cJSON_CreateObject();
		cJSON_AddStringToObject(link, "offer_code", b4_db_str(offers, i, 0));
		cJSON_AddStringToObject(link, "offer_name", b4_db_str(offers, i, 1));
		cJSON_AddNumberToObject(link, "price_cents", (double)b4_db_i64(offers, i, 2));
		cJSON_AddStringToObject(link, "path",
					b4_arena_printf(req->arena, "/pay/%s?ref=%s",
							b4_db_str(offers, i, 0),
							b4_db_str(aff, 0, 0)));
		cJSON_AddItemToArray(links, link);
	}
	b4_db_result_free(offers);
	b4_db_result_free(aff);
	b4_req_send_json(req, 200, out);
}
