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

/* The card as the request carries it. */
struct card_input {
	const char *holder, *cvv, *session_id;
	char digits[24]; /* the number without spaces or dashes; wiped after use */
	int64_t exp_month, exp_year;
};

/* Reads and checks the card.  0, or -1 after answering 400/422. */
static int parse_card(struct b4_req *req, const cJSON *body, struct card_input *in)
{
	static const char *const allowed[] = {"number", "holder_name", "exp_month", "exp_year",
					      "cvv",	"session_id",  NULL};
	const char *number = NULL;
	struct b4_error err;

	memset(in, 0, sizeof(*in));
	if (b4_json_reject_unknown(body, allowed, NULL, &err) < 0 ||
	    b4_json_get_str(body, "number", B4_JSON_REQUIRED, 12, 23, &number, &err) < 0 ||
	    b4_json_get_str(body, "holder_name", B4_JSON_REQUIRED, 2, 100, &in->holder, &err) < 0 ||
	    b4_json_get_int(body, "exp_month", B4_JSON_REQUIRED, 1, 12, &in->exp_month, &err) < 0 ||
	    b4_json_get_int(body, "exp_year", B4_JSON_REQUIRED, 2000, 2100, &in->exp_year, &err) <
		0 ||
	    b4_json_get_str(body, "cvv", B4_JSON_REQUIRED, 3, 4, &in->cvv, &err) < 0 ||
	    b4_json_get_str(body, "session_id", B4_JSON_OPTIONAL, 36, 36, &in->session_id, &err) <
		0) {
		b4_req_send_error(req, &err);
		return -1;
	}
	/* "4111 1111 1111 1111" as typed: spaces and dashes dropped */
	for (size_t i = 0, len = 0; len < sizeof(in->digits) - 1; i++) {
		if (number[i] == ' ' || number[i] == '-')
			continue;
		in->digits[len++] = number[i];
		in->digits[len] = '\0';
		if (!number[i])
			break;
	}
	if (!digits_only(in->digits, 12, 19)) {
		OPENSSL_cleanse(in->digits, sizeof(in->digits));
		b4_req_errorf(req, 422, "card_error", "invalid_card_number", "number",
			      "the card number is not valid");
		return -1;
	}
	if (!digits_only(in->cvv, 3, 4)) {
		OPENSSL_cleanse(in->digits, sizeof(in->digits));
		b4_req_errorf(req, 422, "card_error", "invalid_cvv", "cvv", "the CVV is not valid");
		return -1;
	}
	return 0;
}

/* Sends the card to the acquirers in priority order until one answers;
 * wipes every copy of the card data.  *answer is the acquirer's JSON
 * (caller deletes), *used the acquirer.  Returns the outcome, or -1 after
 * answering a database error. */
static int tokenize_at_acquirers(struct b4_req *req, struct card_input *in, cJSON **answer,
				 const struct b4_acquirer **used)
{
	const struct checkout_app *app = req->app;
	const struct b4_acquirer *order[B4_ACQUIRERS_MAX];
	enum checkout_acq_outcome outcome = CHECKOUT_ACQ_UNAVAILABLE;
	int n = b4_acquirers_priority(req->db, &app->acquirers, order), status = 0;
	cJSON *fwd;
	char *text;

	*answer = NULL;
	if (n < 0) {
		OPENSSL_cleanse(in->digits, sizeof(in->digits));
		b4_req_db_error(req);
		return -1;
	}
	fwd = cJSON_CreateObject();
	cJSON_AddStringToObject(fwd, "number", in->digits);
	OPENSSL_cleanse(in->digits, sizeof(in->digits));
	cJSON_AddStringToObject(fwd, "holder_name", in->holder);
	cJSON_AddNumberToObject(fwd, "exp_month", (double)in->exp_month);
	cJSON_AddNumberToObject(fwd, "exp_year", (double)in->exp_year);
	cJSON_AddStringToObject(fwd, "cvv", in->cvv);
	text = cJSON_PrintUnformatted(fwd);
	cJSON_Delete(fwd);
	for (int k = 0; text && k < n && outcome == CHECKOUT_ACQ_UNAVAILABLE; k++) {
		cJSON_Delete(*answer);
		*answer = NULL;
		outcome = checkout_acquirer_tokenize(app, order[k], text, &status, answer);
		*used = order[k];
	}
	if (text) {
		OPENSSL_cleanse(text, strlen(text));
		free(text);
	}
	/* the card data in the request body is not needed any more */
	OPENSSL_cleanse((char *)req->body, req->body_len);
	return (int)outcome;
}

void checkout_card_token_create(struct b4_req *req)
{
	const cJSON *body = checkout_json_body(req), *t, *brand, *last4;
	const struct b4_acquirer *used = NULL;
	struct card_input in;
	cJSON *answer = NULL, *out;
	char hash[65];
	int outcome;

	if (!body || parse_card(req, body, &in) < 0)
		return;
	outcome = tokenize_at_acquirers(req, &in, &answer, &used);
	if (outcome < 0)
		return;
	if (outcome == CHECKOUT_ACQ_REJECTED) {
		const cJSON *e = cJSON_GetObjectItemCaseSensitive(answer, "error");
		const cJSON *c = cJSON_GetObjectItemCaseSensitive(e, "code");
		const char *code = cJSON_IsString(c) ? c->valuestring : "card_rejected";
		b4_req_errorf(req, 422, "card_error", code, param_of(code),
			      "the acquirer refused the card data");
		goto out_free_answer;
	}
	if (outcome != CHECKOUT_ACQ_ANSWERED) {
		b4_req_errorf(req, 502, "api_error", "acquirer_unavailable", NULL,
			      "the card could not be tokenized, try again");
		goto out_free_answer;
	}
	t = cJSON_GetObjectItemCaseSensitive(answer, "token");
	brand = cJSON_GetObjectItemCaseSensitive(answer, "brand");
	last4 = cJSON_GetObjectItemCaseSensitive(answer, "last4");
	if (!cJSON_IsString(t) || strlen(t->valuestring) > 128 || !cJSON_IsString(last4) ||
	    strlen(last4->valuestring) != 4) {
		b4_req_errorf(req, 502, "api_error", "acquirer_bad_answer", NULL,
			      "the acquirer answered something unexpected");
		goto out_free_answer;
	}
	checkout_card_token_hash(t->valuestring, hash);
	if (checkout_card_token_record(req->db, hash, used->name, in.session_id, answer,
				       CHECKOUT_CARD_TOKEN_TTL_SECONDS) < 0) {
		b4_req_db_error(req);
		goto out_free_answer;
	}
	out = cJSON_CreateObject();
	cJSON_AddStringToObject(out, "token", t->valuestring);
	cJSON_AddStringToObject(out, "brand",
				cJSON_IsString(brand) ? brand->valuestring : "unknown");
	cJSON_AddStringToObject(out, "last4", last4->valuestring);
	b4_req_send_json(req, 201, out);
out_free_answer:
	cJSON_Delete(answer);
}
