/* sessions.c - the panel's sessions: a short access token (JWT) plus a
 * rotating, revocable refresh token.
 *
 * The refresh token is 256 random bits, base64url, sent only as the cookie
 * b4_refresh (HttpOnly, SameSite=Strict, Path = the auth prefix as the
 * browser sees it, Secure in production), so page scripts never read it
 * and no other site can make the browser send it.  The database keeps its
 * SHA-256 only.  A login opens a family; each refresh rotates the token
 * (the old row becomes 'rotated', a new one joins the family); presenting
 * a rotated token again means it was copied: the family is revoked.  One
 * exception: within ROTATION_GRACE seconds of its rotation a rotated token
 * is a second tab refreshing at the same moment, not a copy; it gets 409
 * (no new token, nothing revoked, the cookie left alone) and the browser,
 * which by then holds the successor, simply tries again.
 * Logout revokes the family; blocking a member revokes every family of
 * theirs (svc-backoffice/users.c). */
#include "api.h"
#include "b4/auth.h"
#include "b4/crypto.h"
#include "b4/log.h"
#include "b4/service.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>

#define COOKIE_NAME    "b4_refresh"
#define TOKEN_BYTES    32
#define TOKEN_CHARS    43 /* base64url of 32 bytes, unpadded */
#define ROTATION_GRACE 10 /* seconds */
#define STR_(x)	       #x
#define STR(x)	       STR_(x)

/* The hex SHA-256 of token into out. */
static int token_hash(const char *token, char out[65])
{
	unsigned char digest[32];

	if (b4_crypto_sha256(token, strlen(token), digest) < 0)
		return -1;
	return b4_crypto_hex_encode(digest, sizeof(digest), out, 65) < 0 ? -1 : 0;
}

/* A new random token and its hash. */
static int token_new(char token[TOKEN_CHARS + 1], char hash[65])
{
	unsigned char raw[TOKEN_BYTES];
	int rc;

	if (b4_crypto_random(raw, sizeof(raw)) < 0)
		return -1;
	rc = b4_crypto_base64url_encode(raw, sizeof(raw), token, TOKEN_CHARS + 1);
	OPENSSL_cleanse(raw, sizeof(raw));
	if (rc < 0)
		return -1;
	return token_hash(token, hash);
}

/* Sets the cookie to token (NULL: clears it). */
static void cookie_set(struct b4_req *req, const char *token)
{
	const struct api_app *app = req->app;

	b4_req_set_header(req, "Set-Cookie",
			  b4_arena_printf(req->arena,
					  COOKIE_NAME "=%s; Path=%s; Max-Age=%lld; HttpOnly;"
						      " SameSite=Strict%s",
					  token ? token : "", app->refresh_cookie_path,
					  token ? (long long)app->refresh_ttl_seconds : 0LL,
					  app->refresh_cookie_secure ? "; Secure" : ""));
	/* the answer carries a credential: no cache keeps it */
	b4_req_set_header(req, "Cache-Control", "no-store");
}

/* The refresh token from the Cookie header when it has the right shape,
 * else NULL. */
static const char *cookie_token(struct b4_req *req)
{
	const char *header = b4_req_header(req, "Cookie"), *p;
	char token[TOKEN_CHARS + 1];
	size_t n;

	for (p = header; p && *p;) {
		while (*p == ' ' || *p == ';')
			p++;
		n = strcspn(p, ";");
		if (n == strlen(COOKIE_NAME) + 1 + TOKEN_CHARS &&
		    strncmp(p, COOKIE_NAME "=", strlen(COOKIE_NAME) + 1) == 0) {
			memcpy(token, p + strlen(COOKIE_NAME) + 1, TOKEN_CHARS);
			token[TOKEN_CHARS] = '\0';
			if (strspn(token, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
					  "0123456789-_") == TOKEN_CHARS)
				return b4_arena_strdup(req->arena, token);
		}
		p += n;
	}
	return NULL;
}

/* Inserts an active token of family for user_id. */
static int token_insert(struct b4_db *db, const struct api_app *app, const char *family,
			const char *user_id, const char *hash)
{
	char id[37];

	if (b4_crypto_uuid7(id) < 0)
		return -1;
	return b4_db_exec(db,
			  "INSERT INTO refresh_tokens (id, family_id, user_id, token_hash,"
			  " expires_at) VALUES (?, ?, ?, ?,"
			  " DATE_ADD(UTC_TIMESTAMP(6), INTERVAL ? SECOND))",
			  "ssssi", id, family, user_id, hash, app->refresh_ttl_seconds) == 1
		   ? 0
		   : -1;
}

/* Signs an access token for the user and adds token and expires_at to out. */
static int access_token_add(cJSON *out, const char *user_id, const char *role, const char *email)
{
	const struct b4_jwt_config *jwt = b4_service_jwt();
	struct b4_principal p;
	char *token = NULL, expires[32];
	int64_t now = (int64_t)time(NULL);
	time_t exp;
	struct tm tm;

	if (!jwt)
		return -1;
	memset(&p, 0, sizeof(p));
	snprintf(p.user_id, sizeof(p.user_id), "%s", user_id);
	snprintf(p.role, sizeof(p.role), "%s", role);
	snprintf(p.email, sizeof(p.email), "%s", email);
	if (b4_auth_jwt_sign(jwt, &p, now, &token) < 0)
		return -1;
	exp = (time_t)(now + jwt->ttl_seconds);
	gmtime_r(&exp, &tm);
	strftime(expires, sizeof(expires), "%Y-%m-%dT%H:%M:%SZ", &tm);
	cJSON_AddStringToObject(out, "token", token);
	cJSON_AddStringToObject(out, "expires_at", expires);
	OPENSSL_cleanse(token, strlen(token));
	free(token);
	return 0;
}

int api_session_issue(struct b4_req *req, cJSON *out, const char *user_id, const char *role,
		      const char *email)
{
	char token[TOKEN_CHARS + 1], hash[65], family[37];
	int rc = -1;

	if (access_token_add(out, user_id, role, email) < 0 || token_new(token, hash) < 0 ||
	    b4_crypto_uuid7(family) < 0)
		goto out_wipe;
	if (token_insert(req->db, req->app, family, user_id, hash) < 0)
		goto out_wipe;
	cookie_set(req, token);
	rc = 0;
out_wipe:
	OPENSSL_cleanse(token, sizeof(token));
	return rc;
}

struct refresh_tx {
	const struct api_app *app;
	const char *hash; /* of the presented token */
	char new_token[TOKEN_CHARS + 1], new_hash[65];
	char user_id[37], role[16], email[255];
	bool refused, reused, concurrent;
};

static int revoke_family(struct b4_db *db, const char *family)
{
	return b4_db_exec(db,
			  "UPDATE refresh_tokens SET status = 'revoked' WHERE family_id = ?"
			  " AND status <> 'revoked'",
			  "s", family) < 0
		   ? -1
		   : 0;
}

/* Looks the token up (locked) and rotates it.  Refusals commit what they
 * revoked and set t->refused; only database errors return -1. */
static int refresh_write(struct b4_db *db, void *arg)
{
	struct refresh_tx *t = arg;
	struct b4_db_result *res;
	const char *status, *family;
	bool live;
	int rc = -1;

	t->refused = t->reused = t->concurrent = false;
	res = b4_db_query(
	    db,
	    "SELECT r.family_id, r.status, r.expires_at > UTC_TIMESTAMP(6), u.status,"
	    " u.role, u.email, u.id,"
	    " r.updated_at > UTC_TIMESTAMP(6) - INTERVAL " STR(
		ROTATION_GRACE) " SECOND FROM refresh_tokens r JOIN users u"
				" ON u.id = r.user_id WHERE r.token_hash = ? FOR UPDATE",
	    "s", t->hash);
	if (!res)
		return -1;
	if (b4_db_rows(res) == 0) {
		t->refused = true;
		rc = 0;
		goto out_free;
	}
	family = b4_db_str(res, 0, 0);
	status = b4_db_str(res, 0, 1);
	live = b4_db_i64(res, 0, 2) == 1 && strcmp(b4_db_str(res, 0, 3), "active") == 0;
	if (strcmp(status, "rotated") == 0 && live && b4_db_i64(res, 0, 7) == 1) {
		t->refused = t->concurrent = true;
		rc = 0;
		goto out_free;
	}
	if (strcmp(status, "active") != 0 || !live) {
		t->refused = true;
		t->reused = strcmp(status, "rotated") == 0;
		/* a copied token or a blocked account ends the whole family */
		rc = strcmp(status, "revoked") == 0 ? 0 : revoke_family(db, family);
		goto out_free;
	}
	snprintf(t->role, sizeof(t->role), "%s", b4_db_str(res, 0, 4));
	snprintf(t->email, sizeof(t->email), "%s", b4_db_str(res, 0, 5));
	snprintf(t->user_id, sizeof(t->user_id), "%s", b4_db_str(res, 0, 6));
	if (b4_db_exec(db,
		       "UPDATE refresh_tokens SET status = 'rotated' WHERE token_hash = ?"
		       " AND status = 'active'",
		       "s", t->hash) != 1 ||
	    token_new(t->new_token, t->new_hash) < 0 ||
	    token_insert(db, t->app, family, t->user_id, t->new_hash) < 0)
		goto out_free;
	rc = 0;
out_free:
	b4_db_result_free(res);
	return rc;
}

static void refresh_refused(struct b4_req *req, const char *code, const char *message)
{
	cookie_set(req, NULL);
	b4_req_errorf(req, 401, "authentication_error", code, NULL, "%s", message);
}

void api_refresh(struct b4_req *req)
{
	const char *token = cookie_token(req);
	struct refresh_tx t = {.app = req->app};
	char hash[65];
	bool failed;
	cJSON *out, *user;

	if (!token) {
		refresh_refused(req, "no_session", "No session to refresh; log in.");
		return;
	}
	if (token_hash(token, hash) < 0) {
		b4_req_errorf(req, 500, "api_error", "internal", NULL, "Cannot read the session.");
		return;
	}
	t.hash = hash;
	if (b4_db_tx(req->db, refresh_write, &t) < 0) {
		OPENSSL_cleanse(t.new_token, sizeof(t.new_token));
		b4_req_db_error(req);
		return;
	}
	if (t.concurrent) {
		b4_req_errorf(req, 409, "conflict", "session_rotated", NULL,
			      "The session was refreshed a moment ago; try again.");
		return;
	}
	if (t.refused) {
		if (t.reused)
			b4_log_warn("refresh token reused: session family revoked");
		refresh_refused(req, "invalid_session", "The session ended; log in again.");
		return;
	}
	out = cJSON_CreateObject();
	user = api_user_json(req->db, t.user_id, &failed);
	if (!user || access_token_add(out, t.user_id, t.role, t.email) < 0) {
		OPENSSL_cleanse(t.new_token, sizeof(t.new_token));
		cJSON_Delete(user);
		cJSON_Delete(out);
		b4_req_errorf(req, 500, "api_error", "internal", NULL, "Cannot issue a token.");
		return;
	}
	cJSON_AddItemToObject(out, "user", user);
	cookie_set(req, t.new_token);
	OPENSSL_cleanse(t.new_token, sizeof(t.new_token));
	b4_req_send_json(req, 200, out);
}

void api_logout(struct b4_req *req)
{
	const char *token = cookie_token(req);
	char hash[65];
	struct b4_db_result *res;

	if (token && token_hash(token, hash) == 0) {
		res = b4_db_query(req->db,
				  "SELECT family_id FROM refresh_tokens WHERE token_hash = ?", "s",
				  hash);
		if (!res ||
		    (b4_db_rows(res) == 1 && revoke_family(req->db, b4_db_str(res, 0, 0)) < 0)) {
			b4_db_result_free(res);
			b4_req_db_error(req);
			return;
		}
		b4_db_result_free(res);
	}
	/* no cookie or an unknown one: nothing to end, the answer is the same */
	cookie_set(req, NULL);
	b4_req_send(req, 204, NULL, NULL, 0);
}
