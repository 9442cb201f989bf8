/*
 * b4/auth.h: JWT HS256 access tokens, argon2id password hashes and roles.
 *
 * Nothing here logs.  Error text written to an `err` buffer never contains
 * key material.
 */
#ifndef B4_AUTH_H
#define B4_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Who may call a route; each role can do everything the ones before it can. */
#include "b4/role.h"

/* ---- principal --------------------------------------------------------- */

/*
 * The authenticated caller, as carried in a token.  Plain data: copy it
 * freely.  Strings are always NUL-terminated.
 */
struct b4_principal {
	char user_id[37];   /* the token's "sub"; a UUID in practice, 1 to 36 bytes */
	char role[16];	    /* "member" or "admin" */
	char email[255];    /* may be empty */
	int64_t expires_at; /* Unix seconds; set by verify, ignored by sign */
};

/* ---- JWT ------------------------------------------------------------------ */

#define B4_AUTH_JWT_MIN_KEY_LEN	  32
#define B4_AUTH_JWT_MAX_KEY_LEN	  256
#define B4_AUTH_JWT_MAX_TOKEN_LEN 4096 /* verify refuses anything longer */
#define B4_AUTH_JWT_MAX_LEEWAY	  300

/*
 * Token settings.  The caller owns the storage; fill it with
 * b4_auth_jwt_config_init, wipe it with b4_auth_jwt_config_cleanup.  Read-only
 * after init, so many threads may share one.
 */
struct b4_jwt_config {
	unsigned char key[B4_AUTH_JWT_MAX_KEY_LEN];
	size_t key_len;
	char issuer[128];
	char audience[128];
	int64_t ttl_seconds;
	int64_t leeway_seconds;
};

/*
 * Fills cfg.  key is the raw HMAC key (32 to 256 bytes: generate 32+ random
 * bytes, never a password); issuer and audience are non-empty strings under
 * 128 bytes; ttl_seconds is 1 .. 2^31; leeway_seconds (clock skew allowed on
 * exp/nbf/iat) is 0 .. B4_AUTH_JWT_MAX_LEEWAY.  On a bad setting returns -1,
 * wipes cfg and writes one line naming the problem into err (if not NULL),
 * e.g. "JWT key is 20 bytes; it must be at least 32".
 */
int b4_auth_jwt_config_init(struct b4_jwt_config *cfg, const void *key, size_t key_len,
			    const char *issuer, const char *audience, int64_t ttl_seconds,
			    int64_t leeway_seconds, char *err, size_t err_cap);

/* Wipes cfg.  Accepts NULL. */
void b4_auth_jwt_config_cleanup(struct b4_jwt_config *cfg);

/*
 * Issues an HS256 token for p: header {"alg":"HS256","typ":"JWT"}, claims
 * iss, aud (a string), sub = p->user_id, role, email (when not empty), iat =
 * nbf = now, exp = now + ttl, jti (a random UUID).  p->expires_at is ignored.
 * p->user_id must be 1 to 36 bytes and p->role "member" or "admin".
 * On success *token_out is a NUL-terminated string from malloc that the
 * caller frees with free().  Returns 0, or -1 with *token_out = NULL.
 */
int b4_auth_jwt_sign(const struct b4_jwt_config *cfg, const struct b4_principal *p, int64_t now,
		     char **token_out);

/*
 * Checks token at time now (Unix seconds) and on success fills *out.
 * In order: size (at most B4_AUTH_JWT_MAX_TOKEN_LEN), shape (three unpadded
 * base64url parts), the HMAC-SHA256 signature in constant time (nothing in
 * the token is trusted before it matches), the header (alg exactly "HS256";
 * typ, if present, "JWT"; no "crit"), then the claims: exp required and
 * now < exp + leeway; nbf, if present, <= now + leeway; iat required and
 * <= now + leeway; iss equal to cfg->issuer; aud equal to cfg->audience or an
 * array holding it; sub a string of 1 to 36 bytes; role "member" or "admin";
 * email, if present, a string under 255 bytes.  Times must be integers in
 * 0 .. 2^53.  Returns 0, or -1 with *out zeroed; the reason is not reported
 * (answer 401 either way).
 */
int b4_auth_jwt_verify(const struct b4_jwt_config *cfg, const char *token, int64_t now,
		       struct b4_principal *out);

/* ---- passwords ------------------------------------------------------------- */

#define B4_AUTH_PASSWORD_HASH_MAX 128  /* buffer that always holds an encoded hash */
#define B4_AUTH_PASSWORD_MAX_LEN  1024 /* longer passwords are refused */

/*
 * Hashes password with argon2id, m=19456 KiB (19 MiB), t=2, p=1, a 16-byte
 * random salt and a 32-byte tag, and writes the standard encoding
 *   $argon2id$v=19$m=19456,t=2,p=1$<salt b64>$<hash b64>
 * (97 characters) into encoded_out; cap >= B4_AUTH_PASSWORD_HASH_MAX is
 * enough.  Takes tens of milliseconds of CPU and 19 MiB of memory: call it
 * on a worker thread, never on an event loop thread.
 * Returns 0, or -1 (NULL or over-long password, small buffer, no memory).
 */
int b4_auth_password_hash(const char *password, char *encoded_out, size_t cap);

/*
 * Does password match encoded (a string from b4_auth_password_hash)?  False
 * for a malformed or non-argon2id encoding.  Costs as much as hashing: worker
 * threads only.
 */
bool b4_auth_password_verify(const char *encoded, const char *password);

/*
 * Spends the same time as b4_auth_password_verify against a fixed hash and
 * throws the answer away.  Call it when a login names an unknown user, so
 * response time does not reveal which emails have accounts.
 */
void b4_auth_password_dummy_verify(const char *password);

/*
 * Was encoded made with parameters other than the current ones (m, t, p)?
 * When true after a successful login, rehash and store the new string.
 */
bool b4_auth_password_needs_rehash(const char *encoded);

/* ---- roles ----------------------------------------------------------------- */

/*
 * May a caller holding have_role ("member", "admin", or NULL when not signed
 * in) call a route that requires required_role?  PUBLIC allows everyone;
 * MEMBER allows "member" and "admin"; ADMIN allows "admin" (exact,
 * case-sensitive).  An unknown role string passes only PUBLIC routes; an
 * unknown required_role value allows no one.
 */
bool b4_auth_role_allows(const char *have_role, enum b4_role required_role);

#endif
