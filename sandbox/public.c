/* public.c - the browser side of tokenization, as acquirers' JS SDKs do it.
 *
 * POST /v1/public/card-tokens takes the card straight from the buyer's
 * browser, so card numbers never cross b4you's servers.  It is
 * authenticated by the public key (`Authorization: Bearer <public key>`,
 * B4_SANDBOX_PUBLIC_KEY; safe to publish: it can only make tokens),
 * answers CORS for the configured checkout origins only, and is limited
 * per client address.  Its tokens are bound to the checkout session named
 * in the body and live 15 minutes.
 *
 * POST /v1/tokens/lookup (secret-authenticated) tells checkout what a
 * token is: brand, BIN, last four, fingerprint, the session it is bound to
 * and when it was made, so checkout can refuse a token of another session
 * or an old one before charging it. */
#include "sandbox.h"
#include "b4/log.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <string.h>

int sbx_public_init(struct sbx_app *app, const char *origins)
{
	const char *p = origins;

	app->norigins = 0;
	while (p && *p) {
		const char *end = strchr(p, ',');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		while (len > 0 && *p == ' ') {
			p++;
			len--;
		}
		while (len > 0 && p[len - 1] == ' ')
			len--;
		if (len > 0) {
			if (app->norigins == SBX_ORIGINS_MAX || len >= sizeof(app->origins[0]) ||
			    (strncmp(p, "http://", 7) != 0 && strncmp(p, "https://", 8) != 0))
				return -1;
			memcpy(app->origins[app->norigins], p, len);
			app->origins[app->norigins][len] = '\0';
			app->norigins++;
		}
		p = end ? end + 1 : NULL;
	}
	return 0;
}

/* Adds the CORS grant when the request's Origin is a configured one.
 * Returns true when it did (or when there is no Origin: not a browser). */
static bool cors_grant(struct b4_req *req)
{
	const struct sbx_app *app = req->app;
	const char *origin = b4_req_header(req, "Origin");

	if (!origin)
		return true;
	for (size_t i = 0; i < app->norigins; i++)
		if (strcmp(origin, app->origins[i]) == 0) {
			b4_req_set_header(req, "Access-Control-Allow-Origin", app->origins[i]);
			b4_req_set_header(req, "Vary", "Origin");
			return true;
		}
	return false;
}

void sbx_public_preflight(struct b4_req *req)
{
	if (cors_grant(req) && b4_req_header(req, "Origin")) {
		b4_req_set_header(req, "Access-Control-Allow-Methods", "POST");
		b4_req_set_header(req, "Access-Control-Allow-Headers",
				  "Authorization, Content-Type");
		b4_req_set_header(req, "Access-Control-Max-Age", "600");
	}
	/* a foreign origin gets the same empty answer, without any grant */
	b4_req_send(req, 204, "text/plain", "", 0);
}

/* FNV-1a of the address: its rate bucket. */
static size_t rate_bucket_of(const char *address)
{
	uint32_t h = 2166136261u;

	for (const unsigned char *p = (const unsigned char *)address; *p; p++)
		h = (h ^ *p) * 16777619u;
	return h % SBX_RATE_BUCKETS;
}

/* Counts one tokenization for the client's address; false when the
 * address used up its minute. */
static bool rate_allows(struct sbx_app *app, const char *address)
{
	struct sbx_rate_bucket *b = &app->rate[rate_bucket_of(address)];
	int64_t now = sbx_now();
	bool ok;

	pthread_mutex_lock(&app->lock);
	if (now - b->window_start >= 60) {
		b->window_start = now;
		b->count = 0;
	}
	ok = b->count < app->public_rate_per_minute;
	if (ok)
		b->count++;
	pthread_mutex_unlock(&app->lock);
	return ok;
}

void sbx_public_token_create(struct b4_req *req)
{
	struct sbx_app *app = req->app;

	if (!cors_grant(req)) {
		b4_req_errorf(req, 403, "permission_error", "origin_not_allowed", NULL,
			      "This origin may not tokenize cards.");
		return;
	}
	if (!sbx_bearer_is(req, app->public_key)) {
		OPENSSL_cleanse((char *)req->body, req->body_len);
		b4_req_errorf(req, 401, "authentication_error", "invalid_public_key", NULL,
			      "A valid public key is required as a bearer token.");
		return;
	}
	if (!rate_allows(app, req->client_ip)) {
		OPENSSL_cleanse((char *)req->body, req->body_len);
		b4_req_set_header(req, "Retry-After", "60");
		b4_req_errorf(req, 429, "rate_limit_error", "rate_limited", NULL,
			      "Too many cards tokenized from this address; try again later.");
		return;
	}
	/* no Idempotency-Key here: a browser retry makes another token, which
	 * charges nothing by itself */
	sbx_tokenize(req, NULL, true);
}

void sbx_token_lookup(struct b4_req *req)
{
	struct sbx_app *app = req->app;
	const cJSON *body;
	const char *token = NULL;
	struct b4_error err;
	struct sbx_card card;
	struct sbx_token_binding binding;
	unsigned char mac[32];
	char fingerprint[65], bin[7], when[21];
	cJSON *out;

	if (!sbx_authorized(req))
		return;
	body = b4_req_json_body(req);
	if (!body)
		return;
	if (b4_json_get_str(body, "token", B4_JSON_REQUIRED, 1, SBX_TOKEN_MAX, &token, &err) < 0) {
		b4_req_send_error(req, &err);
		return;
	}
	if (sbx_token_decode(app, token, &card, &binding) < 0) {
		b4_req_errorf(req, 404, "not_found", "token_not_found", "token",
			      "No such card token.");
		return;
	}
	if (b4_crypto_hmac_sha256(app->secret, strlen(app->secret), card.number,
				  strlen(card.number), mac) < 0) {
		OPENSSL_cleanse(&card, sizeof(card));
		b4_req_errorf(req, 503, "api_error", "crypto_failure", NULL,
			      "Could not read the token.");
		return;
	}
	b4_crypto_hex_encode(mac, sizeof(mac), fingerprint, sizeof(fingerprint));
	memcpy(bin, card.number, 6);
	bin[6] = '\0';
	out = cJSON_CreateObject();
	cJSON_AddStringToObject(out, "brand", card.brand);
	cJSON_AddStringToObject(out, "bin", bin);
	cJSON_AddStringToObject(out, "last4", card.last4);
	cJSON_AddStringToObject(out, "fingerprint", fingerprint);
	OPENSSL_cleanse(&card, sizeof(card));
	if (binding.created_at > 0) {
		cJSON_AddStringToObject(out, "session_id", binding.session_id);
		sbx_iso_time(binding.created_at, when);
		cJSON_AddStringToObject(out, "created_at", when);
		cJSON_AddNumberToObject(out, "age_seconds",
					(double)(sbx_now() - binding.created_at));
		cJSON_AddBoolToObject(out, "expired",
				      sbx_now() - binding.created_at > SBX_TOKEN_TTL_SECONDS);
	} else {
		cJSON_AddNullToObject(out, "session_id");
		cJSON_AddNullToObject(out, "created_at");
	}
	b4_req_send_json(req, 200, out);
}
