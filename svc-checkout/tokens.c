/* tokens.c - POST /v1/card-tokens: server-to-server tokenization.  The
 * card goes to the acquirer, only the acquirer's answer (brand, BIN, last
 * four, fingerprint, and the token's SHA-256, never the token) is kept.
 * The number and the CVV are never stored, logged or echoed.
 *
 * Browsers do not use this: the checkout page tokenizes straight at the
 * acquirer's public endpoint.  It stays for server-to-server clients and
 * the integration tests and benchmark that pay without a browser; its
 * tokens obey the same rules (card_tokens.c): single use, 15 minutes,
 * bound to the optional session_id (none: only an order without a session
 * may use it). */
#include "order_engine.h"
#include "b4/db.h"
#include "b4/log.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void checkout_card_token_create(struct b4_req *req);

static bool digits_only(const char *s, size_t min, size_t max)
{
	size_t n = strlen(s);

	if (n < min || n > max)
		return false;
	for (size_t i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return true;
}

static const char *param_of(const char *code)
{
	if (!code)
		return NULL;
	if (!strcmp(code, "invalid_card_number"))
		return "number";
	if (!strcmp(code, "invalid_expiry"))
		return "exp_month";
	if (!strcmp(code, "invalid_cvv"))
		return "cvv";
	return NULL;
}

void checkout_card_token_create(struct b4_req *req)
{
	static const char *const allowed[] = {"number", "holder_name", "exp_month", "exp_year",
					      "cvv",	"session_id",  NULL};
	const struct checkout_app *app = req->app;
	const cJSON *body = checkout_json_body(req);
	const struct b4_acquirer *order[B4_ACQUIRERS_MAX];
	const char *number = NULL, *holder = NULL, *cvv = NULL, *session_id = NULL;
	char hash[65];
	char digits[24] = "";
	int64_t exp_month = 0, exp_year = 0;
	struct b4_error err;
	cJSON *fwd, *token = NULL, *out;
	char *text;
	int n, status = 0;
	enum checkout_acq_outcome outcome = CHECKOUT_ACQ_UNAVAILABLE;
	const struct b4_acquirer *used = NULL;

	if (!body)
		return;
	if (b4_json_reject_unknown(body, allowed, NULL, &err) < 0 ||
	    b4_json_get_str(body, "number", B4_JSON_REQUIRED, 12, 23, &number, &err) < 0 ||
	    b4_json_get_str(body, "holder_name", B4_JSON_REQUIRED, 2, 100, &holder, &err) < 0 ||
	    b4_json_get_int(body, "exp_month", B4_JSON_REQUIRED, 1, 12, &exp_month, &err) < 0 ||
	    b4_json_get_int(body, "exp_year", B4_JSON_REQUIRED, 2000, 2100, &exp_year, &err) < 0 ||
	    b4_json_get_str(body, "cvv", B4_JSON_REQUIRED, 3, 4, &cvv, &err) < 0 ||
	    b4_json_get_str(body, "session_id", B4_JSON_OPTIONAL, 36, 36, &session_id, &err) < 0) {
		b4_req_send_error(req, &err);
		return;
	}
	/* "4111 1111 1111 1111" as typed: spaces and dashes dropped */
	for (size_t i = 0, len = 0; len < sizeof(digits) - 1; i++) {
		if (number[i] == ' ' || number[i] == '-')
			continue;
		digits[len++] = number[i];
		digits[len] = '\0';
		if (!number[i])
			break;
	}
	if (!digits_only(digits, 12, 19)) {
		OPENSSL_cleanse(digits, sizeof(digits));
		b4_req_errorf(req, 422, "card_error", "invalid_card_number", "number",
			      "the card number is not valid");
		return;
	}
	if (!digits_only(cvv, 3, 4)) {
		b4_req_errorf(req, 422, "card_error", "invalid_cvv", "cvv", "the CVV is not valid");
		return;
	}
	n = b4_acquirers_priority(req->db, &app->acquirers, order);
	if (n < 0) {
		b4_req_db_error(req);
		return;
	}
	fwd = cJSON_CreateObject();
	cJSON_AddStringToObject(fwd, "number", digits);
	OPENSSL_cleanse(digits, sizeof(digits));
	cJSON_AddStringToObject(fwd, "holder_name", holder);
	cJSON_AddNumberToObject(fwd, "exp_month", (double)exp_month);
	cJSON_AddNumberToObject(fwd, "exp_year", (double)exp_year);
	cJSON_AddStringToObject(fwd, "cvv", cvv);
	text = cJSON_PrintUnformatted(fwd);
	cJSON_Delete(fwd);
	for (int k = 0; text && k < n && outcome == CHECKOUT_ACQ_UNAVAILABLE; k++) {
		outcome = checkout_acquirer_tokenize(app, order[k], text, &status, &token);
		used = order[k];
	}
	if (text) {
		OPENSSL_cleanse(text, strlen(text));
		free(text);
	}
	/* the card data in the request body is not needed any more */
	OPENSSL_cleanse((char *)req->body, req->body_len);
	if (outcome == CHECKOUT_ACQ_REJECTED) {
		const cJSON *e = cJSON_GetObjectItemCaseSensitive(token, "error");
		const cJSON *c = cJSON_GetObjectItemCaseSensitive(e, "code");
		const char *code = cJSON_IsString(c) ? c->valuestring : "card_rejected";
		b4_req_errorf(req, 422, "card_error", code, param_of(code),
			      "the acquirer refused the card data");
		cJSON_Delete(token);
		return;
	}
	if (outcome != CHECKOUT_ACQ_ANSWERED) {
		cJSON_Delete(token);
		b4_req_errorf(req, 502, "api_error", "acquirer_unavailable", NULL,
			      "the card could not be tokenized, try again");
		return;
	}
	{
		const cJSON *t = cJSON_GetObjectItemCaseSensitive(token, "token");
		const cJSON *brand = cJSON_GetObjectItemCaseSensitive(token, "brand");
		const cJSON *bin = cJSON_GetObjectItemCaseSensitive(token, "bin");
		const cJSON *last4 = cJSON_GetObjectItemCaseSensitive(token, "last4");
		const cJSON *fp = cJSON_GetObjectItemCaseSensitive(token, "fingerprint");
		if (!cJSON_IsString(t) || strlen(t->valuestring) > 128 || !cJSON_IsString(last4) ||
		    strlen(last4->valuestring) != 4) {
			cJSON_Delete(token);
			b4_req_errorf(req, 502, "api_error", "acquirer_bad_answer", NULL,
				      "the acquirer answered something unexpected");
			return;
		}
		checkout_card_token_hash(t->valuestring, hash);
		if (b4_db_exec(req->db,
			       "INSERT INTO card_tokens (token_hash, acquirer, session_id, brand, "
			       "bin, last4,"
			       " fingerprint, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?,"
			       " UTC_TIMESTAMP(6) + INTERVAL 15 MINUTE)",
			       "sssssss", hash, used->name, session_id,
			       cJSON_IsString(brand) ? brand->valuestring : NULL,
			       cJSON_IsString(bin) && strlen(bin->valuestring) == 6
				   ? bin->valuestring
				   : NULL,
			       last4->valuestring,
			       cJSON_IsString(fp) && strlen(fp->valuestring) <= 64 ? fp->valuestring
										   : NULL) < 0 &&
		    !b4_db_is_duplicate(req->db)) {
			cJSON_Delete(token);
			b4_req_db_error(req);
			return;
		}
		out = cJSON_CreateObject();
		cJSON_AddStringToObject(out, "token", t->valuestring);
		cJSON_AddStringToObject(out, "brand",
					cJSON_IsString(brand) ? brand->valuestring : "unknown");
		cJSON_AddStringToObject(out, "last4", last4->valuestring);
	}
	cJSON_Delete(token);
	b4_req_send_json(req, 201, out);
}
