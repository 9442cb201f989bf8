/* product_images.c - PUT /v1/products/:id/image: the product's picture on
 * the checkout page.
 *
 * The body is the image itself (Content-Type image/jpeg, image/png or
 * image/webp), at most API_IMAGE_MAX_BYTES.  The type is decided by the
 * file's magic bytes, never by the header alone: a body that is not a
 * JPEG, PNG or WebP, or whose header names another type, is refused.  The
 * bytes go to the object storage under a content-addressed key
 * (product-images/<sha256>.<ext>), so the same picture is stored once and
 * a key never changes meaning (b4-checkout serves it with a long cache,
 * GET /checkout/v1/images/<sha256>.<ext>).  Owner only. */
#include "api.h"
#include "b4/crypto.h"
#include "b4/db.h"
#include "b4/log.h"
#include "b4/storage.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#define API_IMAGE_MAX_BYTES ((size_t)1024 * 1024) /* = the default B4_MAX_BODY_BYTES */

struct image_type {
	const char *content_type;
	const char *ext;
};

/* The type of data by its magic bytes, or NULL. */
static const struct image_type *image_type_of(const unsigned char *data, size_t len)
{
	static const struct image_type jpeg = {"image/jpeg", "jpg"}, png = {"image/png", "png"},
				       webp = {"image/webp", "webp"};
	static const unsigned char png_magic[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};

	if (len >= 3 && data[0] == 0xff && data[1] == 0xd8 && data[2] == 0xff)
		return &jpeg;
	if (len >= 8 && memcmp(data, png_magic, 8) == 0)
		return &png;
	if (len >= 12 && memcmp(data, "RIFF", 4) == 0 && memcmp(data + 8, "WEBP", 4) == 0)
		return &webp;
	return NULL;
}

/* The type of the request body when it is an image this endpoint takes:
 * not empty, at most API_IMAGE_MAX_BYTES, a JPEG, PNG or WebP by its magic
 * bytes, and no Content-Type naming another type.  NULL after answering
 * 400, 413 or 415. */
static const struct image_type *image_body_check(struct b4_req *req)
{
	const char *declared = b4_req_header(req, "Content-Type");
	const struct image_type *type;

	if (req->body_len == 0) {
		b4_req_errorf(req, 400, "invalid_request_error", "missing_image", "image",
			      "send the image bytes as the request body");
		return NULL;
	}
	if (req->body_len > API_IMAGE_MAX_BYTES) {
		b4_req_errorf(req, 413, "invalid_request_error", "image_too_large", "image",
			      "the image is larger than %zu bytes", API_IMAGE_MAX_BYTES);
		return NULL;
	}
	type = image_type_of((const unsigned char *)req->body, req->body_len);
	if (!type) {
		b4_req_errorf(req, 415, "invalid_request_error", "unsupported_image_type", "image",
			      "the image must be a JPEG, PNG or WebP file");
		return NULL;
	}
	if (declared &&
	    strncasecmp(declared, type->content_type, strlen(type->content_type)) != 0) {
		b4_req_errorf(req, 415, "invalid_request_error", "content_type_mismatch", "image",
			      "Content-Type does not match the file (it is %s)",
			      type->content_type);
		return NULL;
	}
	return type;
}

void api_product_image_put(struct b4_req *req)
{
	const char *id = api_id_param(req, "id");
	const struct image_type *type;
	struct b4_storage *storage;
	struct b4_db_result *res;
	unsigned char digest[32];
	char hex[65], key[128], url[160];
	cJSON *out;

	if (!id) {
		b4_req_not_found(req, "product");
		return;
	}
	res = b4_db_query(req->db, "SELECT id FROM products WHERE id = ? AND producer_id = ?", "ss",
			  id, req->caller.user_id);
	if (!api_found(req, res, "product"))
		return;
	b4_db_result_free(res);
	if (!(type = image_body_check(req)))
		return;
	b4_crypto_sha256(req->body, req->body_len, digest);
	b4_crypto_hex_encode(digest, sizeof(digest), hex, sizeof(hex));
	snprintf(key, sizeof(key), "product-images/%s.%s", hex, type->ext);
	storage = b4_storage_default();
	if (!storage ||
	    b4_storage_put(storage, key, req->body, req->body_len, type->content_type) < 0) {
		b4_req_errorf(req, 503, "api_error", "storage_unavailable", NULL,
			      "the image could not be stored, try again");
		return;
	}
	if (b4_db_exec(req->db,
		       "UPDATE products SET image_key = ?, image_content_type = ?"
		       " WHERE id = ? AND producer_id = ?",
		       "ssss", key, type->content_type, id, req->caller.user_id) < 0) {
		b4_req_db_error(req);
		return;
	}
	snprintf(url, sizeof(url), "/checkout/v1/images/%s.%s", hex, type->ext);
	out = cJSON_CreateObject();
	cJSON_AddStringToObject(out, "product_id", id);
	cJSON_AddStringToObject(out, "image_url", url);
	cJSON_AddStringToObject(out, "content_type", type->content_type);
	cJSON_AddNumberToObject(out, "size_bytes", (double)req->body_len);
	b4_log_info("product image stored", B4_LS("product_id", id), B4_LS("key", key));
	b4_req_send_json(req, 200, out);
}
