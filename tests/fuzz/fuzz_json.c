/* fuzz_json.c - libFuzzer driver for the untrusted-input parsers of the
 * request path: JSON bodies and the typed getters, route matching on raw
 * paths, request-id validation. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "b4/http.h"
#include "b4/json.h"
#include "b4/router.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void nothing(struct b4_req *req)
{
	(void)req;
}

static const struct b4_route routes[] = {
    {"GET", "/v1/products/:id", nothing, B4_ROLE_MEMBER},
    {"POST", "/v1/products/:id/offers", nothing, B4_ROLE_MEMBER},
    {"GET", "/v1/webhooks/:id/deliveries/:delivery_id", nothing, B4_ROLE_MEMBER},
    {"GET", "/v1/offers/:code", nothing, B4_ROLE_PUBLIC},
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const names[] = {
	    "name", "price_cents", "customer.email", "payment.method", "items", "a.b.c", NULL};
	static const char *const methods[] = {"card", "pix", "boleto", NULL};
	struct b4_route_params params;
	struct b4_error err;
	char allow[64];
	size_t index;
	char *text = malloc(size + 1);
	cJSON *root;

	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';

	root = b4_json_parse_object((const char *)data, size, 16, &err);
	if (root) {
		for (size_t i = 0; names[i]; i++) {
			const char *s;
			int64_t n;
			bool b;
			int e;
			const cJSON *node;
			b4_json_get_str(root, names[i], B4_JSON_OPTIONAL, 0, 1000, &s, &err);
			b4_json_get_int(root, names[i], B4_JSON_OPTIONAL, INT64_MIN, INT64_MAX, &n,
					&err);
			b4_json_get_bool(root, names[i], B4_JSON_REQUIRED, &b, &err);
			b4_json_get_enum(root, names[i], B4_JSON_OPTIONAL, methods, &e, &err);
			b4_json_get_object(root, names[i], B4_JSON_OPTIONAL, &node, &err);
			b4_json_get_array(root, names[i], B4_JSON_OPTIONAL, 5, &node, &err);
		}
		b4_json_reject_unknown(root, names, "x.", &err);
		cJSON_Delete(root);
	}
	b4_router_match(routes, sizeof(routes) / sizeof(routes[0]), "GET", text, &index, &params,
			allow, sizeof(allow));
	b4_request_id_is_valid(text);
	b4_json_text_is_valid(text, 64, NULL);
	free(text);
	return 0;
}
