/* users.c - accounts: sign-up, login (rate limited), GET /v1/me, and the
 * authenticate hook that refuses blocked users. */
#include "api.h"
#include "b4/auth.h"
#include "b4/br.h"
#include "b4/crypto.h"
#include "b4/log.h"
#include "b4/pii.h"
#include "b4/service.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>

int api_authenticate(struct b4_req *req, enum b4_role role)
{
	/* a token outlives a block or a demotion: check the account each time */
	return b4_service_authenticate_account(req, role);
}

cJSON *api_user_json(struct b4_db *db, const char *id, bool *db_failed)
{
	struct b4_db_result *res;
	cJSON *user;

	*db_failed = false;
	res = b4_db_query(
	    db,
	    "SELECT id, email, full_name, role, status, created_at, document_bidx IS NOT NULL"
	    " FROM users WHERE id = ?",
	    "s", id);
	if (!res) {
		*db_failed = true;
		return NULL;
	}
	if (b4_db_rows(res) == 0) {
		b4_db_result_free(res);
		return NULL;
	}
	user = cJSON_CreateObject();
	cJSON_AddStringToObject(user, "id", b4_db_str(res, 0, 0));
	cJSON_AddStringToObject(user, "email", b4_db_str(res, 0, 1));
	cJSON_AddStringToObject(user, "full_name", b4_db_str(res, 0, 2));
	cJSON_AddStringToObject(user, "role", b4_db_str(res, 0, 3));
	cJSON_AddStringToObject(user, "status", b4_db_str(res, 0, 4));
	cJSON_AddBoolToObject(user, "has_document", b4_db_i64(res, 0, 6) != 0);
	api_add_time(user, "created_at", res, 0, 5);
	b4_db_result_free(res);
	return user;
}

void api_me(struct b4_req *req)
{
	bool failed;
	cJSON *user = api_user_json(req->db, req->caller.user_id, &failed);

	if (!user) {
		if (failed)
			b4_req_db_error(req);
		else
			b4_req_not_found(req, "user");
		return;
	}
	b4_req_send_json(req, 200, user);
}

/* Lower-cases and checks an email: one '@', something on both sides, a dot
 * in the domain, no spaces or controls.  Writes into out (255 bytes). */
static bool email_normalize(const char *in, char out[255])
{
	size_t n = strlen(in), at = 0, ats = 0;

	if (n < 3 || n > 254)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)in[i];
		if (c <= ' ' || c == 0x7f || c == '"' || c == '<' || c == '>' || c == '\\' ||
		    c == ',' || c == ';')
			return false;
		if (c == '@') {
			at = i;
			ats++;
		}
		out[i] = (char)tolower(c);
	}
	out[n] = '\0';
	return ats == 1 && at > 0 && at < n - 3 && strchr(out + at, '.') && out[n - 1] != '.' &&
	       out[at + 1] != '.';
}

/* Takes one hashing slot (bounded argon2id concurrency), waiting at most
 * 10 s; when none comes answers 503 with Retry-After and returns false. */
static bool hash_slot_acquire(struct b4_req *req)
{
	struct api_app *app = req->app;
	struct timespec deadline;

	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += 10;
	while (sem_timedwait(&app->hash_slots, &deadline) != 0) {
		if (errno != EINTR) {
			b4_req_set_header(req, "Retry-After", "1");
			b4_req_errorf(req, 503, "api_error", "busy", NULL,
				      "Too many logins at once; try again shortly.");
			return false;
		}
	}
	return true;
}

static void hash_slot_release(struct b4_req *req)
{
	struct api_app *app = req->app;

	sem_post(&app->hash_slots);
}

static const char *const signup_fields[] = {"email", "password", "full_name", "document", NULL};

/* A sign-up as it goes from the body to the users row.  The strings point
 * into the body; digits holds the document's digits until they are sealed
 * (blind index and ciphertext) and is wiped then.  document_enc is malloc'd
 * by b4_pii_encrypt and freed by account_insert. */
struct signup {
	const char *email_in, *password, *full_name, *document;
	char email[255];
	char digits[32];
	char bidx[65];
	char *document_enc;
};

/* Reads and checks every field, so one answer names all the bad ones.
 * False after answering 400/422. */
static bool signup_read(struct b4_req *req, const cJSON *body, struct signup *s)
{
	enum b4_br_document_type doc_type;
	struct b4_form form;

	b4_form_init(&form);
	b4_json_get_str(body, "email", B4_JSON_REQUIRED, 3, 254, &s->email_in, b4_form_err(&form));
	b4_json_get_str(body, "password", B4_JSON_REQUIRED, 10, 256, &s->password,
			b4_form_err(&form));
	b4_json_get_str(body, "full_name", B4_JSON_REQUIRED, 1, 200, &s->full_name,
			b4_form_err(&form));
	b4_json_get_str(body, "document", B4_JSON_OPTIONAL, 11, 18, &s->document,
			b4_form_err(&form));
	if (s->email_in && !email_normalize(s->email_in, s->email))
		b4_form_add(&form, 422, "invalid_email", "email",
			    "The field 'email' must be an email address.");
	if (s->document &&
	    b4_br_document_normalize(s->document, s->digits, sizeof(s->digits), &doc_type) < 0)
		b4_form_add(&form, 422, "invalid_document", "document",
			    "The field 'document' must be a valid CPF or CNPJ.");
	if (b4_form_failed(&form)) {
		OPENSSL_cleanse(s->digits, sizeof(s->digits));
		b4_req_send_form(req, &form);
		return false;
	}
	return true;
}

/* Turns the document's digits, when given, into the blind index and the
 * ciphertext that are stored, and wipes the digits.  False after answering
 * 500. */
static bool signup_document_seal(struct b4_req *req, struct signup *s)
{
	if (!s->document)
		return true;
	if (b4_pii_blind_index("document", s->digits, s->bidx) < 0 ||
	    !(s->document_enc = b4_pii_encrypt("users.document", s->digits))) {
		OPENSSL_cleanse(s->digits, sizeof(s->digits));
		b4_req_errorf(req, 500, "api_error", "internal", NULL,
			      "Cannot store the document.");
		return false;
	}
	OPENSSL_cleanse(s->digits, sizeof(s->digits));
	return true;
}

/* Hashes the password (in a hashing slot) and inserts the account under a
 * new id (37 bytes).  Frees s->document_enc.  False after answering 503,
 * 500, 409 (email taken) or the DB error. */
static bool account_insert(struct b4_req *req, struct signup *s, char id[37])
{
	char hash[B4_AUTH_PASSWORD_HASH_MAX];
	int64_t rc;

	if (!hash_slot_acquire(req)) {
		free(s->document_enc);
		return false;
	}
	rc = b4_auth_password_hash(s->password, hash, sizeof(hash));
	hash_slot_release(req);
	if (rc < 0 || b4_crypto_uuid7(id) < 0) {
		free(s->document_enc);
		b4_req_errorf(req, 500, "api_error", "internal", NULL,
			      "Cannot create the account.");
		return false;
	}
	rc = b4_db_exec(
	    req->db,
	    "INSERT INTO users (id, email, password_hash, full_name, document_enc, document_bidx)"
	    " VALUES (?, ?, ?, ?, ?, ?)",
	    "ssssss", id, s->email, hash, s->full_name, s->document_enc,
	    s->document ? s->bidx : NULL);
	free(s->document_enc);
	OPENSSL_cleanse(hash, sizeof(hash));
	if (rc < 0) {
		if (b4_db_is_duplicate(req->db))
			b4_req_errorf(req, 409, "conflict", "email_taken", "email",
				      "An account with this email already exists.");
		else
			b4_req_db_error(req);
		return false;
	}
	return true;
}

void api_signup(struct b4_req *req)
{
	const cJSON *body = api_body(req, signup_fields, false);
	struct signup s = {0};
	char id[37];
	bool failed;
	cJSON *user, *out;

	if (!body)
		return;
	if (!signup_read(req, body, &s) || !signup_document_seal(req, &s) ||
	    !account_insert(req, &s, id))
		return;
	user = api_user_json(req->db, id, &failed);
	if (!user) {
		b4_req_db_error(req);
		return;
	}
	out = cJSON_CreateObject();
	cJSON_AddItemToObject(out, "user", user);
	if (api_session_issue(req, out, id, "member", s.email) < 0) {
		cJSON_Delete(out);
		b4_req_errorf(req, 500, "api_error", "internal", NULL, "Cannot issue a token.");
		return;
	}
	b4_log_info("signup", B4_LS("user_id", id));
	b4_req_send_json(req, 201, out);
}

/* After a good login with a hash made under older argon2 parameters,
 * stores a new hash; a failure here only logs (the login still counts). */
static void rehash(struct b4_req *req, const char *user_id, const char *encoded,
		   const char *password)
{
	char hash[B4_AUTH_PASSWORD_HASH_MAX];
	int rc;

	struct api_app *app = req->app;

	/* never wait for a slot here: the login has its answer already */
	if (!b4_auth_password_needs_rehash(encoded) || sem_trywait(&app->hash_slots) != 0)
		return;
	rc = b4_auth_password_hash(password, hash, sizeof(hash));
	hash_slot_release(req);
	if (rc < 0 || b4_db_exec(req->db, "UPDATE users SET password_hash = ? WHERE id = ?", "ss",
				 hash, user_id) < 0)
		b4_log_warn("password rehash failed", B4_LS("user_id", user_id));
	OPENSSL_cleanse(hash, sizeof(hash));
}

static const char *const login_fields[] = {"email", "password", NULL};

static void bad_credentials(struct b4_req *req)
{
	b4_req_errorf(req, 401, "authentication_error", "invalid_credentials", NULL,
		      "Email or password is wrong.");
}

/* Throttled per address and per (account, address), never per account
 * alone (login_guard.c).  True when the caller may try email now; false
 * after answering 429 with Retry-After, or the DB error. */
static bool login_may_try(struct b4_req *req, const char *email)
{
	int64_t retry_after = api_login_wait(req, email);
	char retry[24];

	if (retry_after < 0) {
		b4_req_db_error(req);
		return false;
	}
	if (retry_after > 0) {
		snprintf(retry, sizeof(retry), "%lld", (long long)retry_after);
		b4_req_set_header(req, "Retry-After", retry);
		b4_req_errorf(req, 429, "rate_limit_error", "too_many_attempts", NULL,
			      "Too many login attempts; try again later.");
		return false;
	}
	return true;
}

/* The account of email when password is its password: the row (id,
 * password_hash, role, status, email), which the caller frees.  NULL after
 * answering 401 (the failure counted), 503 (no hashing slot) or the DB
 * error. */
static struct b4_db_result *login_verify(struct b4_req *req, const char *email,
					 const char *password)
{
	struct b4_db_result *res;
	bool ok = false;

	res = b4_db_query(
	    req->db, "SELECT id, password_hash, role, status, email FROM users WHERE email = ?",
	    "s", email);
	if (!res) {
		b4_req_db_error(req);
		return NULL;
	}
	if (!hash_slot_acquire(req)) {
		b4_db_result_free(res);
		return NULL;
	}
	/* an unknown email costs the same time as a wrong password */
	if (b4_db_rows(res) == 0)
		b4_auth_password_dummy_verify(password);
	else
		ok = b4_auth_password_verify(b4_db_str(res, 0, 1), password);
	hash_slot_release(req);
	if (!ok) {
		b4_db_result_free(res);
		b4_log_info("login refused");
		if (api_login_failed(req, email) < 0) {
			b4_req_db_error(req);
			return NULL;
		}
		bad_credentials(req);
		return NULL;
	}
	return res;
}

/* Answers 200 {token, expires_at, user} and opens the session of account
 * (a row of login_verify), or 500 when the token cannot be issued. */
static void login_answer(struct b4_req *req, const struct b4_db_result *account)
{
	const char *user_id = b4_db_str(account, 0, 0);
	bool failed;
	cJSON *out, *user;

	user = api_user_json(req->db, user_id, &failed);
	out = cJSON_CreateObject();
	if (!user || api_session_issue(req, out, user_id, b4_db_str(account, 0, 2),
				       b4_db_str(account, 0, 4)) < 0) {
		cJSON_Delete(user);
		cJSON_Delete(out);
		b4_req_errorf(req, 500, "api_error", "internal", NULL, "Cannot issue a token.");
		return;
	}
	cJSON_AddItemToObject(out, "user", user);
	b4_log_info("login", B4_LS("user_id", user_id));
	b4_req_send_json(req, 200, out);
}

void api_login(struct b4_req *req)
{
	const cJSON *body = api_body(req, login_fields, false);
	const char *email_in = NULL, *password = NULL;
	char email[255];
	struct b4_error err;
	struct b4_db_result *account;

	if (!body)
		return;
	if (b4_json_get_str(body, "email", B4_JSON_REQUIRED, 1, 254, &email_in, &err) < 0 ||
	    b4_json_get_str(body, "password", B4_JSON_REQUIRED, 1, 256, &password, &err) < 0) {
		api_fail(req, &err);
		return;
	}
	if (!email_normalize(email_in, email))
		snprintf(email, sizeof(email), "%s", "invalid");
	if (!login_may_try(req, email) || !(account = login_verify(req, email, password)))
		return;
	api_login_succeeded(req, email);
	if (strcmp(b4_db_str(account, 0, 3), "active") != 0) {
		b4_log_info("login refused: blocked", B4_LS("user_id", b4_db_str(account, 0, 0)));
		b4_db_result_free(account);
		b4_req_errorf(req, 403, "permission_error", "account_blocked", NULL,
			      "This account is blocked.");
		return;
	}
	rehash(req, b4_db_str(account, 0, 0), b4_db_str(account, 0, 1), password);
	login_answer(req, account);
	b4_db_result_free(account);
}
