/*
 * auth.c: see b4/auth.h for the contracts.
 */
#include "b4/auth.h"
#include "b4/buf.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <argon2.h>
#include <cjson/cJSON.h>
#include <openssl/crypto.h>

#include "b4/crypto.h"

#define JWT_HEADER    "{\"alg\":\"HS256\",\"typ\":\"JWT\"}"
#define MAX_JSON_TIME 9007199254740992.0 /* 2^53: larger doubles lose integers */

static const char role_member[] = "member";
static const char role_admin[] = "admin";

static bool role_is_known(const char *role)
{
	return strcmp(role, role_member) == 0 || strcmp(role, role_admin) == 0;
}

/* ---- JWT ------------------------------------------------------------------ */

int b4_auth_jwt_config_init(struct b4_jwt_config *cfg, const void *key, size_t key_len,
			    const char *issuer, const char *audience, int64_t ttl_seconds,
			    int64_t leeway_seconds, char *err, size_t err_cap)
{
	if (cfg == NULL) {
		b4_errbuf_set(err, err_cap, "JWT config missing");
		return -1;
	}
	memset(cfg, 0, sizeof(*cfg));
	if (key == NULL || key_len < B4_AUTH_JWT_MIN_KEY_LEN) {
		b4_errbuf_set(err, err_cap,
			      "JWT key is %zu bytes; it must be at least %d random bytes",
			      key == NULL ? (size_t)0 : key_len, B4_AUTH_JWT_MIN_KEY_LEN);
		goto out_wipe;
	}
	if (key_len > B4_AUTH_JWT_MAX_KEY_LEN) {
		b4_errbuf_set(err, err_cap, "JWT key is %zu bytes; at most %d are used", key_len,
			      B4_AUTH_JWT_MAX_KEY_LEN);
		goto out_wipe;
	}
	if (issuer == NULL || issuer[0] == '\0' || strlen(issuer) >= sizeof(cfg->issuer)) {
		b4_errbuf_set(err, err_cap, "JWT issuer must be 1 to %zu characters",
			      sizeof(cfg->issuer) - 1);
		goto out_wipe;
	}
	if (audience == NULL || audience[0] == '\0' || strlen(audience) >= sizeof(cfg->audience)) {
		b4_errbuf_set(err, err_cap, "JWT audience must be 1 to %zu characters",
			      sizeof(cfg->audience) - 1);
		goto out_wipe;
	}
	if (ttl_seconds < 1 || ttl_seconds > INT64_C(2147483648)) {
		b4_errbuf_set(err, err_cap, "JWT ttl must be 1 to 2147483648 seconds");
		goto out_wipe;
	}
	if (leeway_seconds < 0 || leeway_seconds > B4_AUTH_JWT_MAX_LEEWAY) {
		b4_errbuf_set(err, err_cap, "JWT leeway must be 0 to %d seconds",
			      B4_AUTH_JWT_MAX_LEEWAY);
		goto out_wipe;
	}
	memcpy(cfg->key, key, key_len);
	cfg->key_len = key_len;
	strcpy(cfg->issuer, issuer);
	strcpy(cfg->audience, audience);
	cfg->ttl_seconds = ttl_seconds;
	cfg->leeway_seconds = leeway_seconds;
	return 0;

out_wipe:
	b4_auth_jwt_config_cleanup(cfg);
	return -1;
}

void b4_auth_jwt_config_cleanup(struct b4_jwt_config *cfg)
{
	if (cfg == NULL)
		return;
	OPENSSL_cleanse(cfg, sizeof(*cfg));
}

static bool time_is_sane(int64_t t)
{
	return t >= 0 && t <= (int64_t)MAX_JSON_TIME;
}

/* Appends base64url(data) at *pos in buf, which has room for it. */
static void append_b64(char *buf, size_t cap, size_t *pos, const void *data, size_t len)
{
	b4_crypto_base64url_encode(data, len, buf + *pos, cap - *pos);
	*pos += b4_crypto_base64url_encoded_len(len);
}

int b4_auth_jwt_sign(const struct b4_jwt_config *cfg, const struct b4_principal *p, int64_t now,
		     char **token_out)
{
	cJSON *claims;
	char *payload = NULL, *token = NULL, jti[37];
	unsigned char mac[32];
	size_t user_len, email_len, payload_len, cap, pos = 0;
	int rc = -1;

	if (token_out == NULL)
		return -1;
	*token_out = NULL;
	if (cfg == NULL || p == NULL || cfg->key_len < B4_AUTH_JWT_MIN_KEY_LEN ||
	    !time_is_sane(now) || !time_is_sane(now + cfg->ttl_seconds))
		return -1;
	user_len = strnlen(p->user_id, sizeof(p->user_id));
	email_len = strnlen(p->email, sizeof(p->email));
	if (user_len == 0 || user_len == sizeof(p->user_id) || email_len == sizeof(p->email) ||
	    strnlen(p->role, sizeof(p->role)) == sizeof(p->role) || !role_is_known(p->role))
		return -1;
	if (b4_crypto_uuid4(jti) != 0)
		return -1;

	claims = cJSON_CreateObject();
	if (claims == NULL)
		return -1;
	if (cJSON_AddStringToObject(claims, "iss", cfg->issuer) == NULL ||
	    cJSON_AddStringToObject(claims, "aud", cfg->audience) == NULL ||
	    cJSON_AddStringToObject(claims, "sub", p->user_id) == NULL ||
	    cJSON_AddStringToObject(claims, "role", p->role) == NULL ||
	    (email_len > 0 && cJSON_AddStringToObject(claims, "email", p->email) == NULL) ||
	    cJSON_AddNumberToObject(claims, "iat", (double)now) == NULL ||
	    cJSON_AddNumberToObject(claims, "nbf", (double)now) == NULL ||
	    cJSON_AddNumberToObject(claims, "exp", (double)(now + cfg->ttl_seconds)) == NULL ||
	    cJSON_AddStringToObject(claims, "jti", jti) == NULL)
		goto out_delete_claims;
	payload = cJSON_PrintUnformatted(claims);
	if (payload == NULL)
		goto out_delete_claims;
	payload_len = strlen(payload);

	cap = b4_crypto_base64url_encoded_len(sizeof(JWT_HEADER) - 1) + 1 +
	      b4_crypto_base64url_encoded_len(payload_len) + 1 +
	      b4_crypto_base64url_encoded_len(sizeof(mac)) + 1;
	token = malloc(cap);
	if (token == NULL)
		goto out_free_payload;
	append_b64(token, cap, &pos, JWT_HEADER, sizeof(JWT_HEADER) - 1);
	token[pos++] = '.';
	append_b64(token, cap, &pos, payload, payload_len);
	if (b4_crypto_hmac_sha256(cfg->key, cfg->key_len, token, pos, mac) != 0) {
		free(token);
		goto out_free_payload;
	}
	token[pos++] = '.';
	append_b64(token, cap, &pos, mac, sizeof(mac));
	*token_out = token;
	rc = 0;

out_free_payload:
	cJSON_free(payload);
out_delete_claims:
	cJSON_Delete(claims);
	return rc;
}

/* Decodes one base64url token part and parses it as a JSON object; NULL on any error. */
static cJSON *decode_json_part(const char *part, size_t len)
{
	size_t cap = len / 4 * 3 + 3, got;
	char *buf;
	cJSON *json = NULL;

	buf = malloc(cap + 1);
	if (buf == NULL)
		return NULL;
	if (b4_crypto_base64url_decode(part, len, buf, cap, &got) == 0 &&
	    memchr(buf, '\0', got) == NULL) {
		buf[got] = '\0';
		json = cJSON_ParseWithOpts(buf, NULL, true);
		if (json != NULL && !cJSON_IsObject(json)) {
			cJSON_Delete(json);
			json = NULL;
		}
	}
	free(buf);
	return json;
}

/*
 * Reads an integer time claim.  Returns 1 if present and valid (stored in
 * *value), 0 if absent, -1 if present but not an integer in 0 .. 2^53.
 */
static int get_time_claim(const cJSON *claims, const char *name, int64_t *value)
{
	const cJSON *item = cJSON_GetObjectItemCaseSensitive(claims, name);
	double d;

	if (item == NULL)
		return 0;
	if (!cJSON_IsNumber(item))
		return -1;
	d = item->valuedouble;
	if (!isfinite(d) || d < 0 || d > MAX_JSON_TIME || floor(d) != d)
		return -1;
	*value = (int64_t)d;
	return 1;
}

static bool header_is_acceptable(const cJSON *header)
{
	const cJSON *alg = cJSON_GetObjectItemCaseSensitive(header, "alg");
	const cJSON *typ = cJSON_GetObjectItemCaseSensitive(header, "typ");

	if (!cJSON_IsString(alg) || strcmp(alg->valuestring, "HS256") != 0)
		return false;
	if (typ != NULL && (!cJSON_IsString(typ) || strcmp(typ->valuestring, "JWT") != 0))
		return false;
	/* We implement no extensions, so any critical one must be refused (RFC 7515 4.1.11). */
	if (cJSON_GetObjectItemCaseSensitive(header, "crit") != NULL)
		return false;
	return true;
}

static bool audience_matches(const cJSON *aud, const char *expected)
{
	const cJSON *item;

	if (cJSON_IsString(aud))
		return strcmp(aud->valuestring, expected) == 0;
	if (!cJSON_IsArray(aud))
		return false;
	cJSON_ArrayForEach(item, aud)
	{
		if (cJSON_IsString(item) && strcmp(item->valuestring, expected) == 0)
			return true;
	}
	return false;
}

/* Copies a string claim of 1 .. cap-1 bytes (0 .. if allow_empty) into dst. */
static bool copy_string_claim(const cJSON *claims, const char *name, char *dst, size_t cap,
			      bool allow_empty)
{
	const cJSON *item = cJSON_GetObjectItemCaseSensitive(claims, name);
	size_t len;

	if (!cJSON_IsString(item))
		return false;
	len = strlen(item->valuestring);
	if (len >= cap || (len == 0 && !allow_empty))
		return false;
	memcpy(dst, item->valuestring, len + 1);
	return true;
}

static bool claims_are_acceptable(const struct b4_jwt_config *cfg, const cJSON *claims, int64_t now,
				  struct b4_principal *out)
{
	const cJSON *iss = cJSON_GetObjectItemCaseSensitive(claims, "iss");
	int64_t exp = 0, nbf = 0, iat = 0, leeway = cfg->leeway_seconds;
	int has_nbf;

	if (get_time_claim(claims, "exp", &exp) != 1 || now >= exp + leeway)
		return false;
	has_nbf = get_time_claim(claims, "nbf", &nbf);
	if (has_nbf < 0 || (has_nbf == 1 && nbf > now + leeway))
		return false;
	if (get_time_claim(claims, "iat", &iat) != 1 || iat > now + leeway || iat > exp)
		return false;
	if (!cJSON_IsString(iss) || strcmp(iss->valuestring, cfg->issuer) != 0)
		return false;
	if (!audience_matches(cJSON_GetObjectItemCaseSensitive(claims, "aud"), cfg->audience))
		return false;
	if (!copy_string_claim(claims, "sub", out->user_id, sizeof(out->user_id), false))
		return false;
	if (!copy_string_claim(claims, "role", out->role, sizeof(out->role), false) ||
	    !role_is_known(out->role))
		return false;
	if (cJSON_GetObjectItemCaseSensitive(claims, "email") != NULL &&
	    !copy_string_claim(claims, "email", out->email, sizeof(out->email), true))
		return false;
	out->expires_at = exp;
	return true;
}

int b4_auth_jwt_verify(const struct b4_jwt_config *cfg, const char *token, int64_t now,
		       struct b4_principal *out)
{
	const char *dot1, *dot2, *sig;
	size_t len, sig_len, got;
	unsigned char mac[32], given[34];
	cJSON *header = NULL, *claims = NULL;
	bool ok = false;

	if (out == NULL)
		return -1;
	memset(out, 0, sizeof(*out));
	if (cfg == NULL || token == NULL || cfg->key_len < B4_AUTH_JWT_MIN_KEY_LEN ||
	    !time_is_sane(now))
		return -1;
	len = strnlen(token, B4_AUTH_JWT_MAX_TOKEN_LEN + 1);
	if (len == 0 || len > B4_AUTH_JWT_MAX_TOKEN_LEN)
		return -1;
	dot1 = memchr(token, '.', len);
	if (dot1 == NULL)
		return -1;
	dot2 = memchr(dot1 + 1, '.', len - (size_t)(dot1 + 1 - token));
	if (dot2 == NULL || dot1 == token || dot2 == dot1 + 1)
		return -1;
	sig = dot2 + 1;
	sig_len = len - (size_t)(sig - token);
	if (memchr(sig, '.', sig_len) != NULL)
		return -1;

	/* The signature first: an empty or short one ("alg":"none") fails here. */
	if (b4_crypto_base64url_decode(sig, sig_len, given, sizeof(given), &got) != 0 ||
	    got != sizeof(mac))
		return -1;
	if (b4_crypto_hmac_sha256(cfg->key, cfg->key_len, token, (size_t)(dot2 - token), mac) != 0)
		return -1;
	if (CRYPTO_memcmp(mac, given, sizeof(mac)) != 0)
		return -1;

	header = decode_json_part(token, (size_t)(dot1 - token));
	if (header == NULL || !header_is_acceptable(header))
		goto out_delete;
	claims = decode_json_part(dot1 + 1, (size_t)(dot2 - dot1 - 1));
	if (claims == NULL || !claims_are_acceptable(cfg, claims, now, out))
		goto out_delete;
	ok = true;

out_delete:
	cJSON_Delete(claims);
	cJSON_Delete(header);
	if (!ok) {
		memset(out, 0, sizeof(*out));
		return -1;
	}
	return 0;
}

/* ---- passwords ------------------------------------------------------------- */

#define PW_M_COST   19456
#define PW_T_COST   2
#define PW_P	    1
#define PW_SALT_LEN 16
#define PW_HASH_LEN 32
#define PW_PREFIX   "$argon2id$v=19$"
/* Upper bounds on what verify will spend for a stored string: 1 GiB, 16 passes, 16 lanes. */
#define PW_MAX_M_COST (1024 * 1024)
#define PW_MAX_T_COST 16
#define PW_MAX_P      16

/* A hash of a throwaway password with the current parameters, for dummy verification. */
static const char dummy_hash[] = "$argon2id$v=19$m=19456,t=2,p=1$YjR5b3UtZHVtbXktc2FsdA$"
				 "JKfrrQeAbkCCAd9Vno6ty/lxaxtTqEfYQkVTzMkVE6s";

int b4_auth_password_hash(const char *password, char *encoded_out, size_t cap)
{
	unsigned char salt[PW_SALT_LEN];
	size_t pw_len;
	int rc;

	if (password == NULL || encoded_out == NULL)
		return -1;
	pw_len = strnlen(password, B4_AUTH_PASSWORD_MAX_LEN + 1);
	if (pw_len > B4_AUTH_PASSWORD_MAX_LEN)
		return -1;
	if (cap <
	    argon2_encodedlen(PW_T_COST, PW_M_COST, PW_P, PW_SALT_LEN, PW_HASH_LEN, Argon2_id))
		return -1;
	if (b4_crypto_random(salt, sizeof(salt)) != 0)
		return -1;
	rc = argon2id_hash_encoded(PW_T_COST, PW_M_COST, PW_P, password, pw_len, salt, sizeof(salt),
				   PW_HASH_LEN, encoded_out, cap);
	OPENSSL_cleanse(salt, sizeof(salt));
	if (rc != ARGON2_OK) {
		encoded_out[0] = '\0';
		return -1;
	}
	return 0;
}

/* Reads m, t, p from "$argon2id$v=19$m=<m>,t=<t>,p=<p>$...".  Returns 0 or -1. */
static int parse_params(const char *encoded, unsigned long *m, unsigned long *t, unsigned long *p)
{
	const char *s;
	char *end;
	unsigned long *fields[3] = {m, t, p};
	static const char *const names[3] = {"m=", "t=", "p="};

	if (strncmp(encoded, PW_PREFIX, sizeof(PW_PREFIX) - 1) != 0)
		return -1;
	s = encoded + sizeof(PW_PREFIX) - 1;
	for (size_t i = 0; i < 3; i++) {
		if (strncmp(s, names[i], 2) != 0 || s[2] < '0' || s[2] > '9')
			return -1;
		*fields[i] = strtoul(s + 2, &end, 10);
		if (*end != (i < 2 ? ',' : '$') || end - (s + 2) > 9)
			return -1;
		s = end + 1;
	}
	return 0;
}

bool b4_auth_password_verify(const char *encoded, const char *password)
{
	unsigned long m, t, p;
	size_t pw_len;

	if (encoded == NULL || password == NULL)
		return false;
	pw_len = strnlen(password, B4_AUTH_PASSWORD_MAX_LEN + 1);
	if (pw_len > B4_AUTH_PASSWORD_MAX_LEN)
		return false;
	/* A stored string decides how much memory and time we spend: bound it. */
	if (parse_params(encoded, &m, &t, &p) != 0 || m > PW_MAX_M_COST || t > PW_MAX_T_COST ||
	    p > PW_MAX_P)
		return false;
	return argon2id_verify(encoded, password, pw_len) == ARGON2_OK;
}

void b4_auth_password_dummy_verify(const char *password)
{
	if (password == NULL)
		password = "";
	(void)b4_auth_password_verify(dummy_hash, password);
}

bool b4_auth_password_needs_rehash(const char *encoded)
{
	unsigned long m, t, p;

	if (encoded == NULL || parse_params(encoded, &m, &t, &p) != 0)
		return true;
	return m != PW_M_COST || t != PW_T_COST || p != PW_P;
}

/* ---- roles ----------------------------------------------------------------- */

bool b4_auth_role_allows(const char *have_role, enum b4_role required_role)
{
	switch (required_role) {
	case B4_ROLE_PUBLIC:
		return true;
	case B4_ROLE_MEMBER:
		return have_role != NULL &&
		       (strcmp(have_role, role_member) == 0 || strcmp(have_role, role_admin) == 0);
	case B4_ROLE_ADMIN:
		return have_role != NULL && strcmp(have_role, role_admin) == 0;
	}
	return false;
}
