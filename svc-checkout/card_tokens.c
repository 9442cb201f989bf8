/* card_tokens.c - the rules a card token obeys on b4's side (issue #11):
 * single use, 15 minutes, bound to the checkout session it was made for,
 * and never stored in clear.
 *
 * A token reaches an order in one of two ways.  The page tokenizes in the
 * browser at the acquirer's public endpoint (the usual way; b4 never sees
 * the card), and the order path asks the acquirer what the token is
 * (POST /v1/tokens/lookup: brand, BIN, last four, fingerprint, session,
 * age).  Or a server-to-server client used POST /v1/card-tokens, which
 * already wrote the row.  Either way the row in card_tokens is keyed by
 * the token's SHA-256, and one conditional UPDATE claims it for one order
 * attempt (its idempotency scope and key): a retry of that attempt goes
 * through, any other use is refused.  The token the one-click upsell
 * charges again is kept in charges as AES-GCM field text. */
#include "order_engine.h"
#include "b4/crypto.h"
#include "b4/db.h"
#include "b4/httpc.h"
#include "b4/log.h"
#include "b4/pii.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SEAL_COLUMN "charges.card_token"
#define USED_CODE   "card_token_used"
#define USED_TEXT   "the card token was already used; enter the card again"

void checkout_card_token_hash(const char *token, char out[65])
{
	unsigned char digest[32];

	b4_crypto_sha256(token, strlen(token), digest);
	b4_crypto_hex_encode(digest, sizeof(digest), out, 65);
}

int checkout_card_token_record(struct b4_db *db, const char *hash, const char *acquirer,
			       const char *session_id, const cJSON *info, int64_t ttl_seconds)
{
	const cJSON *brand = cJSON_GetObjectItemCaseSensitive(info, "brand");
	const cJSON *bin = cJSON_GetObjectItemCaseSensitive(info, "bin");
	const cJSON *last4 = cJSON_GetObjectItemCaseSensitive(info, "last4");
	const cJSON *fp = cJSON_GetObjectItemCaseSensitive(info, "fingerprint");

	if (b4_db_exec(db,
		       "INSERT INTO card_tokens (token_hash, acquirer, session_id, brand, bin,"
		       " last4, fingerprint, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?,"
		       " UTC_TIMESTAMP(6) + INTERVAL ? SECOND)",
		       "sssssssi", hash, acquirer, session_id,
		       cJSON_IsString(brand) ? brand->valuestring : NULL,
		       cJSON_IsString(bin) && strlen(bin->valuestring) == 6 ? bin->valuestring
									    : NULL,
		       last4->valuestring,
		       cJSON_IsString(fp) && strlen(fp->valuestring) <= 64 ? fp->valuestring : NULL,
		       ttl_seconds) < 0 &&
	    !b4_db_is_duplicate(db))
		return -1;
	return 0;
}

/* Asks the acquirers (priority order) what token is and records it in
 * card_tokens.  Returns 1 recorded (or already there), 0 unknown to every
 * acquirer, -1 none could answer or a DB error (*db_failed says which). */
static int record_from_acquirer(struct checkout_order *o, const char *token, const char *hash,
				bool *db_failed)
{
	const struct b4_acquirer *order[B4_ACQUIRERS_MAX];
	struct b4_httpc_response resp;
	cJSON *req_body, *info = NULL;
	char *text;
	int n, rc = -1;

	*db_failed = false;
	n = b4_acquirers_priority(o->req->db, &o->app->acquirers, order);
	if (n < 0) {
		*db_failed = true;
		return -1;
	}
	req_body = cJSON_CreateObject();
	cJSON_AddStringToObject(req_body, "token", token);
	text = cJSON_PrintUnformatted(req_body);
	cJSON_Delete(req_body);
	for (int k = 0; text && k < n && rc == -1 && o->app->acquirers.secret[0]; k++) {
		const cJSON *session, *last4, *age;
		if (b4_acquirer_call(&o->app->acquirers, order[k], "POST", "/v1/tokens/lookup",
				     NULL, text, &resp) != 0 ||
		    (resp.status != 200 && resp.status != 404)) {
			b4_httpc_response_cleanup(&resp);
			continue;
		}
		if (resp.status == 404) {
			b4_httpc_response_cleanup(&resp);
			rc = 0;
			break;
		}
		info = cJSON_Parse(resp.body);
		b4_httpc_response_cleanup(&resp);
		session = cJSON_GetObjectItemCaseSensitive(info, "session_id");
		last4 = cJSON_GetObjectItemCaseSensitive(info, "last4");
		age = cJSON_GetObjectItemCaseSensitive(info, "age_seconds");
		/* only session-bound tokens come this way: the others were made
		 * through /v1/card-tokens and are in the table already */
		if (!cJSON_IsString(session) || strlen(session->valuestring) != 36 ||
		    !cJSON_IsNumber(age) || !cJSON_IsString(last4) ||
		    strlen(last4->valuestring) != 4) {
			rc = 0;
			break;
		}
		if (checkout_card_token_record(
			o->req->db, hash, order[k]->name, session->valuestring, info,
			(int64_t)(CHECKOUT_CARD_TOKEN_TTL_SECONDS - age->valuedouble)) < 0) {
			*db_failed = true;
			break;
		}
		rc = 1;
	}
	cJSON_Delete(info);
	free(text);
	return rc;
}

/* Keeps the token for the charge: in o->card_token (for the acquirer
 * call) and sealed in o->card_token_sealed (for the charges row). */
static int seal(struct checkout_order *o, const char *token)
{
	char *sealed = b4_pii_encrypt(SEAL_COLUMN, token);

	if (!sealed)
		return -1;
	o->card_token_sealed = b4_arena_strdup(o->req->arena, sealed);
	free(sealed);
	snprintf(o->card_token, sizeof(o->card_token), "%s", token);
	return o->card_token_sealed ? 0 : -1;
}

/* The token's row with the antifraud rules' columns of this buyer and
 * card, in one read (checkout_fraud_score then reads nothing). */
#define TOKEN_COUNTERS CHECKOUT_VELOCITY_COLUMNS("t.fingerprint")
#define TOKEN_READ                                                                                 \
	"SELECT brand, bin, last4, fingerprint, session_id, expires_at > UTC_TIMESTAMP(6),"        \
	" used_by, acquirer, " TOKEN_COUNTERS " FROM card_tokens t WHERE t.token_hash = ?"

int checkout_card_token_consume(struct checkout_order *o, const char *token)
{
	struct b4_req *req = o->req;
	const int64_t window = o->app->fraud_window_seconds;
	int64_t off[CHECKOUT_VELOCITY_COUNTERS];
	struct b4_db_result *res;
	char hash[65], used_by[65];
	const char *why = NULL, *code = NULL;
	bool db_failed = false;

	checkout_card_token_hash(token, hash);
	{
		char *claim = b4_arena_printf(req->arena, "%s\n%s", o->idem.scope, o->idem.key);
		checkout_card_token_hash(claim ? claim : "", used_by);
	}
	checkout_velocity_offsets(o->app, off);
	for (int pass = 0; pass < 2; pass++) {
		res = b4_db_query(req->db, TOKEN_READ, "siisiisiiiiiis",
				  checkout_null_if_empty(o->email), window, off[0],
				  checkout_null_if_empty(o->document_bidx), window, off[1],
				  checkout_null_if_empty(req->client_ip), window, off[2], window,
				  off[3], window, off[4], hash);
		if (!res)
			goto out_db_error;
		if (b4_db_rows(res) > 0 || pass == 1)
			break;
		b4_db_result_free(res);
		res = NULL;
		if (record_from_acquirer(o, token, hash, &db_failed) != 1) {
			if (db_failed)
				goto out_db_error;
			why = "unknown or expired card token";
			code = "invalid_card_token";
			goto out_refuse;
		}
	}
	if (b4_db_rows(res) == 0) {
		why = "unknown or expired card token";
		code = "invalid_card_token";
	} else if (strcmp(b4_db_str(res, 0, 4), o->session_id) != 0) {
		/* a NULL session (server-made token) matches only an order
		 * without one */
		why = "the card token belongs to another checkout session";
		code = "card_token_session_mismatch";
	} else if (b4_db_i64(res, 0, 5) == 0) {
		why = "the card token expired; enter the card again";
		code = "card_token_expired";
	} else if (!b4_db_is_null(res, 0, 6) && strcmp(b4_db_str(res, 0, 6), used_by) != 0) {
		why = USED_TEXT;
		code = USED_CODE;
	} else {
		snprintf(o->card_brand, sizeof(o->card_brand), "%s", b4_db_str(res, 0, 0));
		snprintf(o->card_bin, sizeof(o->card_bin), "%s", b4_db_str(res, 0, 1));
		snprintf(o->card_last4, sizeof(o->card_last4), "%s", b4_db_str(res, 0, 2));
		snprintf(o->card_fingerprint, sizeof(o->card_fingerprint), "%s",
			 b4_db_str(res, 0, 3));
		/* the token is charged only where it was issued */
		snprintf(o->card_acquirer, sizeof(o->card_acquirer), "%s", b4_db_str(res, 0, 7));
		for (size_t k = 0; k < CHECKOUT_VELOCITY_COUNTERS; k++)
			o->velocity_reached[k] = !b4_db_is_null(res, 0, 8 + k);
		o->velocity_known = true;
	}
	b4_db_result_free(res);
	if (why)
		goto out_refuse;
	/* claimed in the order's first transaction (checkout_card_token_claim) */
	snprintf(o->card_token_hash, sizeof(o->card_token_hash), "%s", hash);
	snprintf(o->card_token_used_by, sizeof(o->card_token_used_by), "%s", used_by);
	if (seal(o, token) < 0) {
		b4_req_errorf(req, 500, "api_error", "internal_error", NULL, "keys are not loaded");
		return -1;
	}
	return 0;
out_refuse:
	checkout_invalid(req, code, "payment.card_token", why);
	return 1;
out_db_error:
	b4_req_db_error(req);
	return -1;
}

int checkout_card_token_claim(struct b4_db *db, const struct checkout_order *o)
{
	int64_t claimed;

	if (!o->card_token_hash[0])
		return 1;
	/* a race between two attempts leaves one winner */
	claimed =
	    b4_db_exec(db,
		       "UPDATE card_tokens SET used_at = UTC_TIMESTAMP(6), used_by = ?"
		       " WHERE token_hash = ? AND (used_by IS NULL OR used_by = ?)",
		       "sss", o->card_token_used_by, o->card_token_hash, o->card_token_used_by);
	return claimed < 0 ? -1 : claimed > 0;
}

void checkout_card_token_refuse_used(struct b4_req *req)
{
	checkout_invalid(req, USED_CODE, "payment.card_token", USED_TEXT);
}

int checkout_card_token_unseal(struct checkout_order *o, const char *sealed)
{
	char *token = b4_pii_decrypt(SEAL_COLUMN, sealed);

	if (!token)
		return -1;
	snprintf(o->card_token, sizeof(o->card_token), "%s", token);
	b4_pii_free(token);
	o->card_token_sealed = b4_arena_strdup(o->req->arena, sealed);
	return o->card_token_sealed ? 0 : -1;
}
