/* idempotency.c - Idempotency-Key claims, replays and stored answers; see
 * b4/idempotency.h. */
#include "b4/idempotency.h"
#include "b4/crypto.h"
#include "b4/db.h"
#include "b4/http.h"
#include "b4/json.h"
#include "b4/log.h"
#include "b4/pii.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RESPONSE_COLUMN "idempotency_keys.response_body"

int b4_idem_prepare(struct b4_req *req, struct b4_idem *idem, const char *scope, const cJSON *body,
		    bool required)
{
	const char *key = b4_req_header(req, "Idempotency-Key");
	unsigned char digest[B4_CRYPTO_SHA256_LEN];
	char *canonical, *input = NULL;
	int rc = -1;

	memset(idem, 0, sizeof(*idem));
	snprintf(idem->scope, sizeof(idem->scope), "%s", scope);
	if (!key || !*key) {
		if (!required)
			return 1;
		b4_req_errorf(req, 400, "invalid_request_error", "idempotency_key_required",
			      "Idempotency-Key", "the Idempotency-Key header is required");
		return -1;
	}
	if (strlen(key) > B4_IDEM_KEY_MAX || !b4_json_text_is_valid(key, B4_IDEM_KEY_MAX, NULL)) {
		b4_req_errorf(req, 400, "invalid_request_error", "invalid_idempotency_key",
			      "Idempotency-Key", "Idempotency-Key is 1 to 255 characters");
		return -1;
	}
	idem->key = key;
	/* the path names the resource acted on (an order's refunds, upsell) */
	canonical = body ? cJSON_PrintUnformatted(body) : NULL;
	if (asprintf(&input, "%s\n%s", req->path ? req->path : "", canonical ? canonical : "") >=
		0 &&
	    b4_crypto_sha256(input, strlen(input), digest) == 0 &&
	    b4_crypto_hex_encode(digest, sizeof(digest), idem->request_hash,
				 sizeof(idem->request_hash)) == 0)
		rc = 0;
	free(input);
	free(canonical);
	if (rc < 0)
		b4_req_errorf(req, 500, "api_error", "internal_error", NULL,
			      "cannot hash the request");
	return rc;
}

static void answer_in_progress(struct b4_req *req)
{
	b4_req_errorf(req, 409, "idempotency_error", "request_in_progress", "Idempotency-Key",
		      "a request with this Idempotency-Key is still being processed");
}

enum row_col { COL_ID, COL_HASH, COL_STATUS, COL_RSTATUS, COL_RBODY, COL_STALE, COL_RESOURCE };

/* Answers from an existing, unexpired row.  Returns 1 answered, 0 the row
 * is a stale claim this request may take over (nothing created), -1
 * database error (answered). */
static int answer_from_row(struct b4_req *req, struct b4_idem *idem, const struct b4_db_result *res)
{
	bool done = !strcmp(b4_db_str(res, 0, COL_STATUS), "done");

	/* the first request still runs: whatever this one is, it waits */
	if (!done && b4_db_i64(res, 0, COL_STALE) == 0) {
		answer_in_progress(req);
		return 1;
	}
	if (!b4_crypto_equal(b4_db_str(res, 0, COL_HASH), idem->request_hash, 64)) {
		b4_req_errorf(req, 422, "idempotency_error", "idempotency_key_reused",
			      "Idempotency-Key",
			      "this Idempotency-Key was used with a different request");
		return 1;
	}
	if (done) {
		char *body = b4_pii_decrypt(RESPONSE_COLUMN, b4_db_str(res, 0, COL_RBODY));
		if (!body) {
			b4_req_errorf(req, 500, "api_error", "replay_unavailable", NULL,
				      "the stored response cannot be read");
			return 1;
		}
		b4_req_set_header(req, "Idempotent-Replayed", "true");
		b4_req_send(req, (int)b4_db_i64(res, 0, COL_RSTATUS), "application/json", body,
			    strlen(body));
		b4_pii_free(body);
		return 1;
	}
	if (!b4_db_is_null(res, 0, COL_RESOURCE)) {
		/* the holder died after creating its resource: show it as it
		 * is now (reconciliation settles it) */
		if (!idem->show) {
			answer_in_progress(req);
			return 1;
		}
		if (idem->show(req, b4_db_str(res, 0, COL_RESOURCE)) < 0) {
			b4_req_db_error(req);
			return -1;
		}
		return 1;
	}
	return 0;
}

static struct b4_db_result *select_row(struct b4_db *db, const struct b4_idem *idem)
{
	return b4_db_query(db,
			   "SELECT id, request_hash, status, response_status, response_body,"
			   " locked_until < UTC_TIMESTAMP(6), resource_id FROM idempotency_keys"
			   " WHERE scope = ? AND idem_key = ? AND expires_at > UTC_TIMESTAMP(6)",
			   "ss", idem->scope, idem->key);
}

int b4_idem_lookup(struct b4_req *req, struct b4_idem *idem)
{
	struct b4_db_result *res = select_row(req->db, idem);
	int rc = 0;

	if (!res) {
		b4_req_db_error(req);
		return -1;
	}
	if (b4_db_rows(res) > 0)
		rc = answer_from_row(req, idem, res);
	b4_db_result_free(res);
	return rc;
}

/* Takes over a stale claim with nothing under it.  1 taken, 0 someone
 * else did, -1 database error. */
static int take_over(struct b4_db *db, const struct b4_idem *idem, uint64_t id)
{
	int64_t n = b4_db_exec(db,
			       "UPDATE idempotency_keys SET locked_until = UTC_TIMESTAMP(6)"
			       " + INTERVAL ? SECOND WHERE id = ? AND status = 'in_progress'"
			       " AND resource_id IS NULL AND locked_until < UTC_TIMESTAMP(6)",
			       "iu", (int64_t)B4_IDEM_LOCK_SECONDS, id);
	(void)idem;
	return n < 0 ? -1 : n > 0;
}

/* The claim row: in_progress, locked for B4_IDEM_LOCK_SECONDS. */
static int64_t insert_claim(struct b4_db *db, const struct b4_idem *idem, const char *resource_id)
{
	return b4_db_exec(db,
			  "INSERT INTO idempotency_keys (scope, idem_key, request_hash, status,"
			  " locked_until, expires_at, resource_id) VALUES (?, ?, ?, 'in_progress',"
			  " UTC_TIMESTAMP(6) + INTERVAL ? SECOND,"
			  " UTC_TIMESTAMP(6) + INTERVAL ? HOUR, ?)",
			  "sssiis", idem->scope, idem->key, idem->request_hash,
			  (int64_t)B4_IDEM_LOCK_SECONDS, (int64_t)B4_IDEM_TTL_HOURS, resource_id);
}

int b4_idem_claim_in_tx(struct b4_db *db, const struct b4_idem *idem, const char *resource_id)
{
	if (!idem->key)
		return 0;
	if (insert_claim(db, idem, resource_id) >= 0)
		return 0;
	return b4_db_is_duplicate(db) ? 1 : -1;
}

int b4_idem_claim(struct b4_req *req, struct b4_idem *idem)
{
	for (int attempt = 0; attempt < 3; attempt++) {
		struct b4_db_result *res;
		uint64_t id;
		int rc;

		/* an expired key may be used again */
		if (b4_db_exec(req->db,
			       "DELETE FROM idempotency_keys WHERE scope = ? AND idem_key = ?"
			       " AND expires_at <= UTC_TIMESTAMP(6)",
			       "ss", idem->scope, idem->key) < 0)
			goto out_db_error;
		if (insert_claim(req->db, idem, NULL) >= 0)
			return 0;
		if (!b4_db_is_duplicate(req->db))
			goto out_db_error;
		res = select_row(req->db, idem);
		if (!res)
			goto out_db_error;
		if (b4_db_rows(res) == 0) { /* released or expired meanwhile */
			b4_db_result_free(res);
			continue;
		}
		rc = answer_from_row(req, idem, res);
		id = (uint64_t)b4_db_i64(res, 0, COL_ID);
		b4_db_result_free(res);
		if (rc != 0)
			return rc;
		rc = take_over(req->db, idem, id);
		if (rc < 0)
			goto out_db_error;
		if (rc == 1)
			return 0;
	}
	answer_in_progress(req);
	return 1;
out_db_error:
	b4_req_db_error(req);
	return -1;
}

int b4_idem_set_resource(struct b4_db *db, const struct b4_idem *idem, const char *resource_id)
{
	if (!idem->key)
		return 0;
	return b4_db_exec(db,
			  "UPDATE idempotency_keys SET resource_id = ? WHERE scope = ?"
			  " AND idem_key = ?",
			  "sss", resource_id, idem->scope, idem->key) < 0
		   ? -1
		   : 0;
}

int b4_idem_store(struct b4_db *db, const struct b4_idem *idem, int status, const char *body_text,
		  const char *resource_id)
{
	char *sealed;
	int64_t n;

	if (!idem->key)
		return 0;
	sealed = b4_pii_encrypt(RESPONSE_COLUMN, body_text);
	if (!sealed)
		return -1;
	n = b4_db_exec(db,
		       "UPDATE idempotency_keys SET status = 'done', response_status = ?,"
		       " response_body = ?, resource_id = COALESCE(?, resource_id),"
		       " locked_until = NULL WHERE scope = ? AND idem_key = ?",
		       "Issss", status, sealed, resource_id, idem->scope, idem->key);
	free(sealed);
	return n == 1 ? 0 : -1;
}

int b4_idem_store_json(struct b4_db *db, const struct b4_idem *idem, int status, const cJSON *body,
		       const char *resource_id)
{
	char *text = cJSON_PrintUnformatted(body);
	int rc;

	if (!text)
		return -1;
	rc = b4_idem_store(db, idem, status, text, resource_id);
	/* the text may carry an access token */
	memset(text, 0, strlen(text));
	free(text);
	return rc;
}

void b4_idem_finish(struct b4_req *req, const struct b4_idem *idem, int status, cJSON *body,
		    const char *resource_id)
{
	if (b4_idem_store_json(req->db, idem, status, body, resource_id) < 0)
		b4_log_error("cannot store the idempotent response", B4_LS("scope", idem->scope),
			     B4_LS("resource_id", resource_id ? resource_id : ""));
	b4_req_send_json(req, status, body);
}

void b4_idem_release(struct b4_db *db, const struct b4_idem *idem)
{
	if (!idem->key)
		return;
	if (b4_db_exec(db,
		       "DELETE FROM idempotency_keys WHERE scope = ? AND idem_key = ?"
		       " AND status = 'in_progress'",
		       "ss", idem->scope, idem->key) < 0)
		b4_log_error("cannot release an idempotency key", B4_LS("error", b4_db_error(db)));
}

int64_t b4_idem_prune(struct b4_db *db, int64_t max)
{
	return b4_db_exec(
	    db, "DELETE FROM idempotency_keys WHERE expires_at <= UTC_TIMESTAMP(6) LIMIT ?", "i",
	    max);
}
