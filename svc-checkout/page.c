/* page.c - what the buyer's checkout page (web/checkout) needs beyond the
 * order API: the offer page's product details and tokenization settings,
 * the session update once the buyer typed an e-mail (abandoned-cart
 * recovery has someone to reach), and the product images. */
#include "checkout.h"
#include "b4/db.h"
#include "b4/log.h"
#include "b4/storage.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void checkout_session_update(struct b4_req *req);
void checkout_image_get(struct b4_req *req);

/* The content type of an image name "<64 hex>.<jpg|png|webp>", or NULL
 * when the name is not one b4-api could have made. */
static const char *image_name_type(const char *name)
{
	static const struct {
		const char *ext, *type;
	} types[] = {{"jpg", "image/jpeg"}, {"png", "image/png"}, {"webp", "image/webp"}};

	if (!name || strlen(name) < 66 || name[64] != '.')
		return NULL;
	for (size_t i = 0; i < 64; i++)
		if (!((name[i] >= '0' && name[i] <= '9') || (name[i] >= 'a' && name[i] <= 'f')))
			return NULL;
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (strcmp(name + 65, types[i].ext) == 0)
			return types[i].type;
	return NULL;
}

int checkout_offer_page_extras(struct b4_req *req, const struct checkout_offer *offer, cJSON *body)
{
	const struct checkout_app *app = req->app;
	struct b4_db_result *res;
	const char *key;
	cJSON *acq;

	res = b4_db_query(req->db, "SELECT description, image_key FROM products WHERE id = ?", "s",
			  offer->product_id);
	if (!res)
		return -1;
	if (b4_db_rows(res) == 1 && !b4_db_is_null(res, 0, 0))
		cJSON_AddStringToObject(body, "description", b4_db_str(res, 0, 0));
	else
		cJSON_AddNullToObject(body, "description");
	key = b4_db_rows(res) == 1 && !b4_db_is_null(res, 0, 1) ? b4_db_str(res, 0, 1) : NULL;
	if (key && strncmp(key, "product-images/", 15) == 0 && image_name_type(key + 15)) {
		char *url = b4_arena_printf(req->arena, "/checkout/v1/images/%s", key + 15);
		cJSON_AddStringToObject(body, "image_url", url ? url : "");
	} else {
		cJSON_AddNullToObject(body, "image_url");
	}
	b4_db_result_free(res);
	cJSON_AddNumberToObject(body, "guarantee_days", offer->guarantee_days);
	cJSON_AddNumberToObject(body, "affiliate_cookie_days", offer->affiliate_cookie_days);
	/* the offer shown after a paid order */
	if (offer->upsell_offer_id[0]) {
		struct checkout_offer up;
		int found = checkout_offer_load(req->db, offer->upsell_offer_id, true, &up, NULL);
		if (found < 0)
			return -1;
		if (found == 1) {
			cJSON *u = cJSON_AddObjectToObject(body, "upsell");
			cJSON_AddStringToObject(u, "code", up.code);
			cJSON_AddStringToObject(u, "name", up.name);
			cJSON_AddStringToObject(u, "product_name", up.product_name);
			cJSON_AddNumberToObject(u, "price_cents", (double)up.price_cents);
			cJSON_AddBoolToObject(u, "one_click", offer->upsell_one_click);
		} else {
			cJSON_AddNullToObject(body, "upsell");
		}
	} else {
		cJSON_AddNullToObject(body, "upsell");
	}
	/* where the page sends the card: the acquirer's public endpoint */
	if (app->tokenize_url[0] && app->public_key[0] && app->acquirers.count > 0) {
		acq = cJSON_AddObjectToObject(body, "acquirer");
		cJSON_AddStringToObject(acq, "name", app->acquirers.list[0].name);
		cJSON_AddStringToObject(acq, "tokenize_url", app->tokenize_url);
		cJSON_AddStringToObject(acq, "public_key", app->public_key);
	} else {
		cJSON_AddNullToObject(body, "acquirer");
	}
	return 0;
}

void checkout_session_update(struct b4_req *req)
{
	static const char *const allowed[] = {"email", NULL};
	const char *id = b4_req_param(req, "id");
	const cJSON *body = checkout_json_body(req);
	const char *email = NULL;
	struct b4_error err;
	struct b4_db_result *res;
	cJSON *out;
	int64_t rows;

	if (!body)
		return;
	if (!id || strlen(id) != 36) {
		b4_req_not_found(req, "session");
		return;
	}
	if (b4_json_reject_unknown(body, allowed, NULL, &err) < 0 ||
	    b4_json_get_str(body, "email", B4_JSON_REQUIRED, 3, 254, &email, &err) < 0) {
		b4_req_send_error(req, &err);
		return;
	}
	if (!checkout_email_is_valid(email)) {
		checkout_invalid(req, "invalid_email", "email", "email is not a valid address");
		return;
	}
	/* a session that already has its order keeps the e-mail it was paid with */
	rows = b4_db_exec(
	    req->db, "UPDATE checkout_sessions SET email = ? WHERE id = ? AND order_id IS NULL",
	    "ss", email, id);
	if (rows < 0)
		goto out_db_error;
	res = b4_db_query(req->db,
			  "SELECT o.code, s.order_id IS NOT NULL FROM checkout_sessions s"
			  " JOIN offers o ON o.id = s.offer_id WHERE s.id = ?",
			  "s", id);
	if (!res)
		goto out_db_error;
	if (b4_db_rows(res) == 0) {
		b4_db_result_free(res);
		b4_req_not_found(req, "session");
		return;
	}
	if (b4_db_i64(res, 0, 1)) {
		b4_db_result_free(res);
		b4_req_errorf(req, 409, "conflict", "session_completed", "email",
			      "the session already has its order");
		return;
	}
	out = cJSON_CreateObject();
	cJSON_AddStringToObject(out, "id", id);
	cJSON_AddStringToObject(out, "offer_code", b4_db_str(res, 0, 0));
	cJSON_AddStringToObject(out, "email", email);
	b4_db_result_free(res);
	b4_req_send_json(req, 200, out);
	return;
out_db_error:
	b4_req_db_error(req);
}

void checkout_image_get(struct b4_req *req)
{
	const char *name = b4_req_param(req, "name");
	const char *type = image_name_type(name);
	struct b4_storage *storage;
	char key[128], *data = NULL;
	size_t len = 0;
	int found;

	if (!type) {
		b4_req_not_found(req, "image");
		return;
	}
	snprintf(key, sizeof(key), "product-images/%s", name);
	storage = b4_storage_default();
	found = storage ? b4_storage_get(storage, key, &data, &len) : -1;
	if (found < 0) {
		b4_req_errorf(req, 503, "api_error", "storage_unavailable", NULL,
			      "the image cannot be read now, try again");
		return;
	}
	if (found == 0) {
		b4_req_not_found(req, "image");
		return;
	}
	/* the name is the content's hash: it never changes */
	b4_req_set_header(req, "Cache-Control", "public, max-age=31536000, immutable");
	b4_req_set_header(req, "X-Content-Type-Options", "nosniff");
	b4_req_send(req, 200, type, data, len);
	free(data);
}
