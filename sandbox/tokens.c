/* tokens.c - POST /v1/tokens: card tokenization.
 *
 * The number is checked (Luhn, a known brand), the expiry must not have
 * passed and the CVV is 3 or 4 digits.  The token carries the number
 * itself, encrypted (AES-256-GCM under a key derived from
 * B4_ACQUIRER_SECRET), so the sandbox stores no card at all, a token stays
 * valid across restarts and is accepted by every sandbox sharing the secret
 * (multi-acquirer failover).  Tokens are reusable (one-click upsell).  The
 * answer carries only the brand, BIN, last four digits and an HMAC
 * fingerprint; the CVV is checked and forgotten. */
#include "sandbox.h"
#include "b4/crypto.h"
#include "b4/log.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static bool luhn_is_valid(const char *digits)
{
	size_t n = strlen(digits);
	int sum = 0;

	for (size_t i = 0; i < n; i++) {
		int d = digits[n - 1 - i] - '0';
		if (i % 2 == 1) {
			d *= 2;
			if (d > 9)
				d -= 9;
		}
		sum += d;
	}
	return sum % 10 == 0;
}

static bool prefix_in(long prefix, long low, long high)
{
	return prefix >= low && prefix <= high;
}

/* Elo and Hipercard BIN ranges (their numbers start like Visa's or
 * Discover's, so they are matched first). */
static const struct {
	long low, high;
} elo_bins[] = {
    {401178, 401179}, {431274, 431274}, {438935, 438935}, {451416, 451416}, {457393, 457393},
    {457631, 457632}, {504175, 504175}, {506699, 506778}, {509000, 509999}, {627780, 627780},
    {636297, 636297}, {636368, 636368}, {650031, 650033}, {650035, 650051}, {650405, 650439},
    {650485, 650538}, {650541, 650598}, {650700, 650718}, {650720, 650727}, {650901, 650920},
    {651652, 651679}, {655000, 655019}, {655021, 655058},
};
static const long hipercard_bins[] = {606282, 384100, 384140, 384160, 637095,
				      637568, 637599, 637609, 637612};

/* The brand of a card number (digits), or NULL when not accepted. */
static const char *brand_of(const char *digits)
{
	char head[7];
	long bin6, bin4, bin2;

	memcpy(head, digits, 6);
	head[6] = '\0';
	bin6 = strtol(head, NULL, 10);
	bin4 = bin6 / 100;
	bin2 = bin6 / 10000;
	for (size_t i = 0; i < sizeof(elo_bins) / sizeof(elo_bins[0]); i++)
		if (prefix_in(bin6, elo_bins[i].low, elo_bins[i].high))
			return "elo";
	for (size_t i = 0; i < sizeof(hipercard_bins) / sizeof(hipercard_bins[0]); i++)
		if (bin6 == hipercard_bins[i])
			return "hipercard";
	if (digits[0] == '4')
		return "visa";
	if (prefix_in(bin2, 51, 55) || prefix_in(bin4, 2221, 2720))
		return "mastercard";
	if (bin2 == 34 || bin2 == 37)
		return "amex";
	return NULL;
}

/* Copies the digits of text (spaces and dashes dropped) into out[20].
 * Returns false on any other character or a length outside 12..19. */
static bool card_digits(const char *text, char out[20])
{
	size_t n = 0;

	for (const char *p = text; *p; p++) {
		if (*p == ' ' || *p == '-')
			continue;
		if (*p < '0' || *p > '9' || n == 19)
			return false;
		out[n++] = *p;
	}
	out[n] = '\0';
	return n >= 12;
}

static bool expiry_is_future(int64_t month, int64_t year)
{
	time_t now = time(NULL);
	struct tm tm;

	gmtime_r(&now, &tm);
	if (year < 100)
		year += 2000;
	return year > tm.tm_year + 1900 || (year == tm.tm_year + 1900 && month >= tm.tm_mon + 1);
}

static bool cvv_is_valid(const char *cvv)
{
	size_t n = strlen(cvv);

	if (n < 3 || n > 4)
		return false;
	for (size_t i = 0; i < n; i++)
		if (cvv[i] < '0' || cvv[i] > '9')
			return false;
	return true;
}

#define TOKEN_PREFIX	 "tok_"
#define TOKEN_PREFIX_LEN 4
#define TOKEN_AAD	 "b4-acquirer-sandbox card token"

int sbx_tokens_init(struct sbx_app *app)
{
	static const char label[] = "b4-acquirer-sandbox card token key";
	unsigned char key[32];
	char config[2 + 64 + 1];
	int rc = -1;

	if (b4_crypto_hmac_sha256(app->secret, strlen(app->secret), label, sizeof(label) - 1,
				  key) == 0) {
		memcpy(config, "s:", 2);
		b4_crypto_hex_encode(key, sizeof(key), config + 2, sizeof(config) - 2);
		rc = b4_crypto_keyring_init(&app->token_keys, config, NULL, NULL, 0);
	}
	OPENSSL_cleanse(key, sizeof(key));
	OPENSSL_cleanse(config, sizeof(config));
	return rc;
}

/* Writes the token of a card number (12..19 digits): "tok_" and the
 * AES-GCM field text of its length byte and 64-bit value, followed for a
 * public token by the creation time (8 bytes) and the checkout session id
 * (16 bytes) it is bound to.  Returns 0 or -1. */
static int token_encode(const struct sbx_app *app, const char *digits,
			const struct sbx_token_binding *binding, char out[SBX_TOKEN_MAX + 1])
{
	unsigned char packed[SBX_TOKEN_PACKED_MAX];
	size_t len = 9, uuid_len = 0;
	uint64_t value = strtoull(digits, NULL, 10);
	char *text = NULL, hex[33];
	int rc = -1;

	packed[0] = (unsigned char)strlen(digits);
	for (int i = 0; i < 8; i++)
		packed[1 + i] = (unsigned char)(value >> (56 - 8 * i));
	if (binding) {
		size_t h = 0;
		for (const char *p = binding->session_id; *p && h < 32; p++)
			if (*p != '-')
				hex[h++] = *p;
		hex[h] = '\0';
		for (int i = 0; i < 8; i++)
			packed[9 + i] =
			    (unsigned char)((uint64_t)binding->created_at >> (56 - 8 * i));
		if (h != 32 || b4_crypto_hex_decode(hex, 32, packed + 17, 16, &uuid_len) < 0 ||
		    uuid_len != 16)
			goto out_wipe;
		len = SBX_TOKEN_PACKED_MAX;
	}
	if (b4_crypto_encrypt_field(&app->token_keys, packed, len, TOKEN_AAD, &text) == 0 &&
	    TOKEN_PREFIX_LEN + strlen(text) <= SBX_TOKEN_MAX) {
		snprintf(out, SBX_TOKEN_MAX + 1, TOKEN_PREFIX "%s", text);
		rc = 0;
	}
	free(text);
out_wipe:
	OPENSSL_cleanse(packed, sizeof(packed));
	return rc;
}

int sbx_token_decode(const struct sbx_app *app, const char *token, struct sbx_card *card,
		     struct sbx_token_binding *binding)
{
	char *plain = NULL;
	size_t len = 0;
	uint64_t value = 0, created = 0;
	int digits;
	const char *brand;

	memset(card, 0, sizeof(*card));
	if (binding)
		memset(binding, 0, sizeof(*binding));
	if (strncmp(token, TOKEN_PREFIX, TOKEN_PREFIX_LEN) != 0 ||
	    b4_crypto_decrypt_field(&app->token_keys, token + TOKEN_PREFIX_LEN, TOKEN_AAD, &plain,
				    &len) < 0)
		return -1;
	if ((len != 9 && len != SBX_TOKEN_PACKED_MAX) || plain[0] < 12 || plain[0] > 19) {
		b4_crypto_secret_free(plain, len);
		return -1;
	}
	digits = plain[0];
	for (int i = 0; i < 8; i++)
		value = value << 8 | (unsigned char)plain[1 + i];
	if (len == SBX_TOKEN_PACKED_MAX && binding) {
		char hex[33];
		for (int i = 0; i < 8; i++)
			created = created << 8 | (unsigned char)plain[9 + i];
		binding->created_at = (int64_t)created;
		b4_crypto_hex_encode(plain + 17, 16, hex, sizeof(hex));
		snprintf(binding->session_id, sizeof(binding->session_id),
			 "%.8s-%.4s-%.4s-%.4s-%.12s", hex, hex + 8, hex + 12, hex + 16, hex + 20);
	}
	b4_crypto_secret_free(plain, len);
	snprintf(card->number, sizeof(card->number), "%0*llu", digits, (unsigned long long)value);
	brand = strlen(card->number) == (size_t)digits ? brand_of(card->number) : NULL;
	if (!brand) {
		OPENSSL_cleanse(card, sizeof(*card));
		return -1;
	}
	snprintf(card->brand, sizeof(card->brand), "%s", brand);
	memcpy(card->last4, card->number + digits - 4, 4);
	return 0;
}

int sbx_card_from_token(const struct sbx_app *app, const char *token, struct sbx_card *card)
{
	return sbx_token_decode(app, token, card, NULL);
}

static void card_error(struct b4_req *req, const char *code, const char *param, const char *msg)
{
	b4_req_errorf(req, 422, "invalid_request_error", code, param, "%s", msg);
}

static const char *const token_fields[] = {"number",   "holder_name", "exp_month",
					   "exp_year", "cvv",	      NULL};
static const char *const public_token_fields[] = {"number", "holder_name", "exp_month", "exp_year",
						  "cvv",    "session_id",  NULL};

void sbx_tokenize(struct b4_req *req, struct sbx_idem *slot, bool bound)
{
	struct sbx_app *app = req->app;
	const cJSON *body;
	const char *number = NULL, *holder = NULL, *cvv = NULL, *brand, *session_id = NULL;
	int64_t exp_month = 0, exp_year = 0;
	struct b4_error err;
	struct sbx_token_binding binding = {0};
	unsigned char mac[32];
	char digits[20], token[SBX_TOKEN_MAX + 1], fingerprint[65], bin[7] = "";
	cJSON *out;

	body = b4_req_json_body(req);
	if (!body)
		goto out_release;
	if (b4_json_reject_unknown(body, bound ? public_token_fields : token_fields, NULL, &err) <
		0 ||
	    b4_json_get_str(body, "number", B4_JSON_REQUIRED, 1, 40, &number, &err) < 0 ||
	    b4_json_get_str(body, "holder_name", B4_JSON_REQUIRED, 1, 100, &holder, &err) < 0 ||
	    b4_json_get_int(body, "exp_month", B4_JSON_REQUIRED, INT32_MIN, INT32_MAX, &exp_month,
			    &err) < 0 ||
	    b4_json_get_int(body, "exp_year", B4_JSON_REQUIRED, INT32_MIN, INT32_MAX, &exp_year,
			    &err) < 0 ||
	    b4_json_get_str(body, "cvv", B4_JSON_REQUIRED, 1, 8, &cvv, &err) < 0 ||
	    (bound && b4_json_get_str(body, "session_id", B4_JSON_REQUIRED, 36, 36, &session_id,
				      &err) < 0)) {
		b4_req_send_error(req, &err);
		goto out_release;
	}
	if (!card_digits(number, digits) || !luhn_is_valid(digits)) {
		card_error(req, "invalid_card_number", "number", "The card number is not valid.");
		goto out_wipe;
	}
	brand = brand_of(digits);
	if (!brand) {
		card_error(req, "invalid_card_number", "number",
			   "This card brand is not accepted.");
		goto out_wipe;
	}
	if (exp_month < 1 || exp_month > 12) {
		card_error(req, "invalid_expiry", "exp_month", "exp_month must be 1 to 12.");
		goto out_wipe;
	}
	if (exp_year < 0 || exp_year > 9999 || !expiry_is_future(exp_month, exp_year)) {
		card_error(req, "invalid_expiry", "exp_year", "The card has expired.");
		goto out_wipe;
	}
	if (!cvv_is_valid(cvv)) {
		card_error(req, "invalid_cvv", "cvv", "The CVV must be 3 or 4 digits.");
		goto out_wipe;
	}
	if (bound) {
		snprintf(binding.session_id, sizeof(binding.session_id), "%s", session_id);
		binding.created_at = sbx_now();
	}
	if (token_encode(app, digits, bound ? &binding : NULL, token) < 0) {
		card_error(req, "invalid_session", "session_id", "session_id is not a UUID.");
		goto out_wipe;
	}
	if (b4_crypto_hmac_sha256(app->secret, strlen(app->secret), digits, strlen(digits), mac) <
	    0) {
		b4_req_errorf(req, 503, "api_error", "crypto_failure", NULL,
			      "Could not create the token.");
		goto out_wipe;
	}
	b4_crypto_hex_encode(mac, sizeof(mac), fingerprint, sizeof(fingerprint));
	memcpy(bin, digits, 6);

	out = cJSON_CreateObject();
	cJSON_AddStringToObject(out, "token", token);
	cJSON_AddStringToObject(out, "brand", brand);
	cJSON_AddStringToObject(out, "bin", bin);
	cJSON_AddStringToObject(out, "last4", digits + strlen(digits) - 4);
	if (bound) {
		char when[21];
		sbx_iso_time(binding.created_at + SBX_TOKEN_TTL_SECONDS, when);
		cJSON_AddStringToObject(out, "expires_at", when);
	} else {
		cJSON_AddStringToObject(out, "fingerprint", fingerprint);
	}
	b4_log_info("card tokenized", B4_LS("brand", brand),
		    B4_LS("last4", digits + strlen(digits) - 4), B4_LI("public", bound));
	OPENSSL_cleanse(digits, sizeof(digits));
	OPENSSL_cleanse((char *)req->body, req->body_len);
	sbx_reply(req, slot, 201, out);
	return;

out_wipe:
	OPENSSL_cleanse(digits, sizeof(digits));
	OPENSSL_cleanse((char *)req->body, req->body_len);
out_release:
	sbx_idem_release(req, slot);
}

void sbx_token_create(struct b4_req *req)
{
	struct sbx_idem *slot;

	if (!sbx_authorized(req) || sbx_idem_begin(req, &slot) != SBX_IDEM_PROCEED)
		return;
	sbx_tokenize(req, slot, false);
}
