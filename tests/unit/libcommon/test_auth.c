/*
 * Unit tests for libcommon/src/auth.c.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/hmac.h>

#include "b4/auth.h"
#include "b4/crypto.h"

#define NOW	 1700000000
#define ISSUER	 "https://api.b4you.test"
#define AUDIENCE "b4you-api"
#define TTL	 900
#define USER_ID	 "0190f5c2-7a1e-7c3b-9d2e-1a2b3c4d5e6f"

static const unsigned char test_key[32] = "0123456789abcdef0123456789abcdef";

static void config_init(struct b4_jwt_config *cfg, int64_t leeway)
{
	char err[128];

	assert_int_equal(b4_auth_jwt_config_init(cfg, test_key, sizeof(test_key), ISSUER, AUDIENCE,
						 TTL, leeway, err, sizeof(err)),
			 0);
}

static void principal_init(struct b4_principal *p, const char *role)
{
	memset(p, 0, sizeof(*p));
	strcpy(p->user_id, USER_ID);
	strcpy(p->role, role);
	strcpy(p->email, "ana@example.com");
}

static char *b64(const char *s)
{
	size_t len = strlen(s);
	char *out = malloc(b4_crypto_base64url_encoded_len(len) + 1);

	assert_non_null(out);
	assert_int_equal(
	    b4_crypto_base64url_encode(s, len, out, b4_crypto_base64url_encoded_len(len) + 1), 0);
	return out;
}

enum sig_mode { SIG_HS256, SIG_NONE, SIG_HS512, SIG_OTHER_KEY };

/* Builds header.payload.signature by hand from JSON texts, signed as mode says. */
static char *craft(const char *header_json, const char *payload_json, enum sig_mode mode)
{
	char *h = b64(header_json), *p = b64(payload_json);
	size_t signing_len = strlen(h) + 1 + strlen(p);
	char *token = malloc(signing_len + 1 + 100);
	unsigned char mac[64];
	unsigned int mac_len = 0;
	unsigned char other_key[32];

	assert_non_null(token);
	sprintf(token, "%s.%s", h, p);
	switch (mode) {
	case SIG_HS256:
		assert_int_equal(
		    b4_crypto_hmac_sha256(test_key, sizeof(test_key), token, signing_len, mac), 0);
		mac_len = 32;
		break;
	case SIG_OTHER_KEY:
		memset(other_key, 0x42, sizeof(other_key));
		assert_int_equal(
		    b4_crypto_hmac_sha256(other_key, sizeof(other_key), token, signing_len, mac),
		    0);
		mac_len = 32;
		break;
	case SIG_HS512:
		assert_non_null(HMAC(EVP_sha512(), test_key, sizeof(test_key),
				     (const unsigned char *)token, signing_len, mac, &mac_len));
		break;
	case SIG_NONE:
		mac_len = 0;
		break;
	}
	token[signing_len] = '.';
	assert_int_equal(b4_crypto_base64url_encode(mac, mac_len, token + signing_len + 1, 100), 0);
	free(h);
	free(p);
	return token;
}

#define HDR_OK "{\"alg\":\"HS256\",\"typ\":\"JWT\"}"
#define CLAIMS_OK                                                                                  \
	"{\"iss\":\"" ISSUER "\",\"aud\":\"" AUDIENCE "\",\"sub\":\"" USER_ID                      \
	"\",\"role\":\"member\",\"email\":\"ana@example.com\",\"iat\":1700000000,"                 \
	"\"nbf\":1700000000,\"exp\":1700000900}"

/* Verifies a hand-made token with the standard config at NOW. */
static int verify_crafted(const char *header_json, const char *payload_json, enum sig_mode mode,
			  struct b4_principal *out)
{
	struct b4_jwt_config cfg;
	char *token = craft(header_json, payload_json, mode);
	int rc;

	config_init(&cfg, 0);
	rc = b4_auth_jwt_verify(&cfg, token, NOW, out);
	free(token);
	b4_auth_jwt_config_cleanup(&cfg);
	return rc;
}

static void assert_rejected(const char *header_json, const char *payload_json, enum sig_mode mode)
{
	struct b4_principal out;

	memset(&out, 'X', sizeof(out));
	assert_int_equal(verify_crafted(header_json, payload_json, mode, &out), -1);
	/* Nothing of a refused token leaks into the principal. */
	assert_string_equal(out.user_id, "");
	assert_string_equal(out.role, "");
	assert_string_equal(out.email, "");
	assert_int_equal(out.expires_at, 0);
}

/* ---- config ---------------------------------------------------------------- */

static void test_config_short_key_refused(void **state)
{
	struct b4_jwt_config cfg;
	char err[128] = "";

	(void)state;
	assert_int_equal(
	    b4_auth_jwt_config_init(&cfg, test_key, 31, ISSUER, AUDIENCE, TTL, 0, err, sizeof(err)),
	    -1);
	assert_string_equal(err, "JWT key is 31 bytes; it must be at least 32 random bytes");
	assert_int_equal(cfg.key_len, 0);
	assert_int_equal(
	    b4_auth_jwt_config_init(&cfg, NULL, 0, ISSUER, AUDIENCE, TTL, 0, err, sizeof(err)), -1);
	assert_int_equal(
	    b4_auth_jwt_config_init(&cfg, test_key, 32, ISSUER, AUDIENCE, TTL, 0, NULL, 0), 0);
	b4_auth_jwt_config_cleanup(&cfg);
	b4_auth_jwt_config_cleanup(NULL);
}

static void test_config_other_settings(void **state)
{
	struct b4_jwt_config cfg;
	char err[128];
	unsigned char big_key[300] = {0};

	(void)state;
	assert_int_equal(b4_auth_jwt_config_init(&cfg, big_key, sizeof(big_key), ISSUER, AUDIENCE,
						 TTL, 0, err, sizeof(err)),
			 -1);
	assert_int_equal(
	    b4_auth_jwt_config_init(&cfg, test_key, 32, "", AUDIENCE, TTL, 0, err, sizeof(err)),
	    -1);
	assert_non_null(strstr(err, "issuer"));
	assert_int_equal(
	    b4_auth_jwt_config_init(&cfg, test_key, 32, ISSUER, NULL, TTL, 0, err, sizeof(err)),
	    -1);
	assert_non_null(strstr(err, "audience"));
	assert_int_equal(
	    b4_auth_jwt_config_init(&cfg, test_key, 32, ISSUER, AUDIENCE, 0, 0, err, sizeof(err)),
	    -1);
	assert_non_null(strstr(err, "ttl"));
	assert_int_equal(b4_auth_jwt_config_init(&cfg, test_key, 32, ISSUER, AUDIENCE, TTL, 301,
						 err, sizeof(err)),
			 -1);
	assert_non_null(strstr(err, "leeway"));
	assert_int_equal(b4_auth_jwt_config_init(&cfg, test_key, 32, ISSUER, AUDIENCE, TTL, -1, err,
						 sizeof(err)),
			 -1);
}

/* ---- sign / verify --------------------------------------------------------- */

static void test_jwt_round_trip(void **state)
{
	struct b4_jwt_config cfg;
	struct b4_principal p, out;
	char *token = NULL;
	char *hdr = b64(HDR_OK);

	(void)state;
	config_init(&cfg, 0);
	principal_init(&p, "admin");
	assert_int_equal(b4_auth_jwt_sign(&cfg, &p, NOW, &token), 0);
	assert_non_null(token);
	/* header.payload.signature, the header exactly ours. */
	assert_memory_equal(token, hdr, strlen(hdr));
	assert_int_equal(token[strlen(hdr)], '.');
	assert_non_null(strchr(token + strlen(hdr) + 1, '.'));
	assert_null(strchr(token, '='));

	assert_int_equal(b4_auth_jwt_verify(&cfg, token, NOW, &out), 0);
	assert_string_equal(out.user_id, USER_ID);
	assert_string_equal(out.role, "admin");
	assert_string_equal(out.email, "ana@example.com");
	assert_int_equal(out.expires_at, NOW + TTL);
	assert_int_equal(b4_auth_jwt_verify(&cfg, token, NOW + TTL - 1, &out), 0);
	assert_int_equal(b4_auth_jwt_verify(&cfg, token, NOW + TTL, &out), -1);
	free(token);

	/* No email: the claim is left out and comes back empty. */
	p.email[0] = '\0';
	strcpy(p.role, "member");
	assert_int_equal(b4_auth_jwt_sign(&cfg, &p, NOW, &token), 0);
	assert_int_equal(b4_auth_jwt_verify(&cfg, token, NOW, &out), 0);
	assert_string_equal(out.email, "");
	assert_string_equal(out.role, "member");
	free(token);
	free(hdr);
	b4_auth_jwt_config_cleanup(&cfg);
}

static void test_jwt_tokens_are_unique(void **state)
{
	struct b4_jwt_config cfg;
	struct b4_principal p;
	char *a = NULL, *b = NULL;

	(void)state;
	config_init(&cfg, 0);
	principal_init(&p, "member");
	assert_int_equal(b4_auth_jwt_sign(&cfg, &p, NOW, &a), 0);
	assert_int_equal(b4_auth_jwt_sign(&cfg, &p, NOW, &b), 0);
	assert_string_not_equal(a, b); /* jti differs */
	free(a);
	free(b);
	b4_auth_jwt_config_cleanup(&cfg);
}

static void test_jwt_sign_refuses_bad_principal(void **state)
{
	struct b4_jwt_config cfg;
	struct b4_principal p;
	char *token = (char *)1;

	(void)state;
	config_init(&cfg, 0);
	principal_init(&p, "root");
	assert_int_equal(b4_auth_jwt_sign(&cfg, &p, NOW, &token), -1);
	assert_null(token);
	principal_init(&p, "member");
	p.user_id[0] = '\0';
	assert_int_equal(b4_auth_jwt_sign(&cfg, &p, NOW, &token), -1);
	principal_init(&p, "member");
	memset(p.email, 'a', sizeof(p.email)); /* not NUL-terminated */
	assert_int_equal(b4_auth_jwt_sign(&cfg, &p, NOW, &token), -1);
	principal_init(&p, "member");
	assert_int_equal(b4_auth_jwt_sign(&cfg, &p, -1, &token), -1);
	assert_int_equal(b4_auth_jwt_sign(NULL, &p, NOW, &token), -1);
	b4_auth_jwt_config_cleanup(&cfg);
}

static void test_jwt_crafted_baseline_accepted(void **state)
{
	struct b4_principal out;

	(void)state;
	/* Proves the hand-made tokens below fail for the one thing each changes. */
	assert_int_equal(verify_crafted(HDR_OK, CLAIMS_OK, SIG_HS256, &out), 0);
	assert_string_equal(out.user_id, USER_ID);
	assert_int_equal(out.expires_at, 1700000900);
	/* typ is optional. */
	assert_int_equal(verify_crafted("{\"alg\":\"HS256\"}", CLAIMS_OK, SIG_HS256, &out), 0);
	/* nbf is optional. */
	assert_int_equal(verify_crafted(HDR_OK,
					"{\"iss\":\"" ISSUER "\",\"aud\":\"" AUDIENCE
					"\",\"sub\":\"u1\",\"role\":\"member\",\"iat\":1700000000,"
					"\"exp\":1700000900}",
					SIG_HS256, &out),
			 0);
	assert_string_equal(out.user_id, "u1");
	assert_string_equal(out.email, "");
}

static void test_jwt_tampered_payload(void **state)
{
	struct b4_jwt_config cfg;
	struct b4_principal p, out;
	char *token = NULL, *forged, *admin_claims;
	char *dot1, *dot2;

	(void)state;
	config_init(&cfg, 0);
	principal_init(&p, "member");
	assert_int_equal(b4_auth_jwt_sign(&cfg, &p, NOW, &token), 0);
	dot1 = strchr(token, '.');
	dot2 = strchr(dot1 + 1, '.');

	/* Swap in a payload that says admin, keep the header and signature. */
	admin_claims = b64("{\"iss\":\"" ISSUER "\",\"aud\":\"" AUDIENCE "\",\"sub\":\"" USER_ID
			   "\",\"role\":\"admin\",\"iat\":1700000000,\"exp\":1700000900}");
	forged = malloc(strlen(token) + strlen(admin_claims) + 1);
	assert_non_null(forged);
	sprintf(forged, "%.*s.%s%s", (int)(dot1 - token), token, admin_claims, dot2);
	assert_int_equal(b4_auth_jwt_verify(&cfg, forged, NOW, &out), -1);

	/* Change any one payload character. */
	for (char *c = dot1 + 1; c < dot2; c++) {
		char saved = *c;

		*c = saved == 'A' ? 'B' : 'A';
		assert_int_equal(b4_auth_jwt_verify(&cfg, token, NOW, &out), -1);
		*c = saved;
	}
	assert_int_equal(b4_auth_jwt_verify(&cfg, token, NOW, &out), 0);
	free(admin_claims);
	free(forged);
	free(token);
	b4_auth_jwt_config_cleanup(&cfg);
}

static void test_jwt_tampered_signature(void **state)
{
	struct b4_jwt_config cfg, other;
	struct b4_principal p, out;
	char *token = NULL, *sig;
	char err[128];
	unsigned char other_key[32];

	(void)state;
	config_init(&cfg, 0);
	principal_init(&p, "member");
	assert_int_equal(b4_auth_jwt_sign(&cfg, &p, NOW, &token), 0);
	sig = strrchr(token, '.') + 1;
	for (char *c = sig; *c; c++) {
		char saved = *c;

		*c = saved == 'A' ? 'B' : 'A';
		assert_int_equal(b4_auth_jwt_verify(&cfg, token, NOW, &out), -1);
		*c = saved;
	}
	/* Truncated, extended, padded, emptied. */
	char *copy = strdup(token);
	size_t len = strlen(copy);

	copy[len - 1] = '\0';
	assert_int_equal(b4_auth_jwt_verify(&cfg, copy, NOW, &out), -1);
	free(copy);
	copy = malloc(len + 3);
	sprintf(copy, "%sA", token);
	assert_int_equal(b4_auth_jwt_verify(&cfg, copy, NOW, &out), -1);
	sprintf(copy, "%s=", token);
	assert_int_equal(b4_auth_jwt_verify(&cfg, copy, NOW, &out), -1);
	strcpy(copy, token);
	strrchr(copy, '.')[1] = '\0';
	assert_int_equal(b4_auth_jwt_verify(&cfg, copy, NOW, &out), -1);
	free(copy);

	/* A token from a different key. */
	memset(other_key, 0x42, sizeof(other_key));
	assert_int_equal(b4_auth_jwt_config_init(&other, other_key, sizeof(other_key), ISSUER,
						 AUDIENCE, TTL, 0, err, sizeof(err)),
			 0);
	assert_int_equal(b4_auth_jwt_verify(&other, token, NOW, &out), -1);
	assert_rejected(HDR_OK, CLAIMS_OK, SIG_OTHER_KEY);
	free(token);
	b4_auth_jwt_config_cleanup(&other);
	b4_auth_jwt_config_cleanup(&cfg);
}

static void test_jwt_alg_none(void **state)
{
	(void)state;
	/* The classic: alg none and an empty signature. */
	assert_rejected("{\"alg\":\"none\",\"typ\":\"JWT\"}", CLAIMS_OK, SIG_NONE);
	assert_rejected("{\"alg\":\"none\"}", CLAIMS_OK, SIG_NONE);
	assert_rejected("{\"alg\":\"None\"}", CLAIMS_OK, SIG_NONE);
	assert_rejected(HDR_OK, CLAIMS_OK, SIG_NONE);
	/* Even with a valid HMAC, a header that does not say HS256 is refused. */
	assert_rejected("{\"alg\":\"none\",\"typ\":\"JWT\"}", CLAIMS_OK, SIG_HS256);
	assert_rejected("{\"alg\":\"hs256\",\"typ\":\"JWT\"}", CLAIMS_OK, SIG_HS256);
}

static void test_jwt_other_algs(void **state)
{
	(void)state;
	assert_rejected("{\"alg\":\"HS512\",\"typ\":\"JWT\"}", CLAIMS_OK, SIG_HS512);
	assert_rejected("{\"alg\":\"HS512\",\"typ\":\"JWT\"}", CLAIMS_OK, SIG_HS256);
	assert_rejected("{\"alg\":\"RS256\",\"typ\":\"JWT\"}", CLAIMS_OK, SIG_HS256);
	assert_rejected("{\"alg\":\"ES256\",\"typ\":\"JWT\"}", CLAIMS_OK, SIG_HS256);
	assert_rejected(HDR_OK, CLAIMS_OK, SIG_HS512);
}

static void test_jwt_header_checks(void **state)
{
	(void)state;
	assert_rejected("{\"typ\":\"JWT\"}", CLAIMS_OK, SIG_HS256); /* no alg */
	assert_rejected("{\"alg\":null,\"typ\":\"JWT\"}", CLAIMS_OK, SIG_HS256);
	assert_rejected("{\"alg\":[\"HS256\"]}", CLAIMS_OK, SIG_HS256);
	assert_rejected("{\"alg\":\"HS256\",\"typ\":\"JWS\"}", CLAIMS_OK, SIG_HS256);
	assert_rejected("{\"alg\":\"HS256\",\"typ\":1}", CLAIMS_OK, SIG_HS256);
	assert_rejected("{\"alg\":\"HS256\",\"crit\":[\"exp\"]}", CLAIMS_OK, SIG_HS256);
	assert_rejected("[\"HS256\"]", CLAIMS_OK, SIG_HS256);
	assert_rejected("not json", CLAIMS_OK, SIG_HS256);
	assert_rejected("{\"alg\":\"HS256\"} trailing", CLAIMS_OK, SIG_HS256);
}

static void test_jwt_expired(void **state)
{
	struct b4_jwt_config cfg;
	struct b4_principal p, out;
	char *token = NULL, err[128];

	(void)state;
	assert_rejected(HDR_OK,
			"{\"iss\":\"" ISSUER "\",\"aud\":\"" AUDIENCE "\",\"sub\":\"" USER_ID
			"\",\"role\":\"member\",\"iat\":1699990000,\"exp\":1699999999}",
			SIG_HS256);
	assert_rejected(HDR_OK,
			"{\"iss\":\"" ISSUER "\",\"aud\":\"" AUDIENCE "\",\"sub\":\"" USER_ID
			"\",\"role\":\"member\",\"iat\":1699990000,\"exp\":1700000000}",
			SIG_HS256);
	/* Leeway stretches exp by exactly that many seconds. */
	assert_int_equal(b4_auth_jwt_config_init(&cfg, test_key, 32, ISSUER, AUDIENCE, TTL, 30, err,
						 sizeof(err)),
			 0);
	principal_init(&p, "member");
	assert_int_equal(b4_auth_jwt_sign(&cfg, &p, NOW, &token), 0);
	assert_int_equal(b4_auth_jwt_verify(&cfg, token, NOW + TTL + 29, &out), 0);
	assert_int_equal(b4_auth_jwt_verify(&cfg, token, NOW + TTL + 30, &out), -1);
	free(token);
	b4_auth_jwt_config_cleanup(&cfg);
}

static void test_jwt_not_yet_valid(void **state)
{
	struct b4_jwt_config cfg;
	struct b4_principal p, out;
	char *token = NULL, err[128];

	(void)state;
	assert_rejected(HDR_OK,
			"{\"iss\":\"" ISSUER "\",\"aud\":\"" AUDIENCE "\",\"sub\":\"" USER_ID
			"\",\"role\":\"member\",\"iat\":1700000000,\"nbf\":1700000001,"
			"\"exp\":1700000900}",
			SIG_HS256);
	/* Issued in the future. */
	assert_rejected(HDR_OK,
			"{\"iss\":\"" ISSUER "\",\"aud\":\"" AUDIENCE "\",\"sub\":\"" USER_ID
			"\",\"role\":\"member\",\"iat\":1700000100,\"exp\":1700000900}",
			SIG_HS256);
	/* Issued after it expires. */
	assert_rejected(HDR_OK,
			"{\"iss\":\"" ISSUER "\",\"aud\":\"" AUDIENCE "\",\"sub\":\"" USER_ID
			"\",\"role\":\"member\",\"iat\":1700000000,\"exp\":1699999999}",
			SIG_HS256);
	/* A token signed a little in the future passes within the leeway only. */
	assert_int_equal(b4_auth_jwt_config_init(&cfg, test_key, 32, ISSUER, AUDIENCE, TTL, 30, err,
						 sizeof(err)),
			 0);
	principal_init(&p, "member");
	assert_int_equal(b4_auth_jwt_sign(&cfg, &p, NOW + 30, &token), 0);
	assert_int_equal(b4_auth_jwt_verify(&cfg, token, NOW, &out), 0);
	assert_int_equal(b4_auth_jwt_verify(&cfg, token, NOW - 1, &out), -1);
	free(token);
	b4_auth_jwt_config_cleanup(&cfg);
}

static void test_jwt_time_claim_types(void **state)
{
	(void)state;
	/* exp and iat are required, numbers, integers, in range. */
	assert_rejected(HDR_OK,
			"{\"iss\":\"" ISSUER "\",\"aud\":\"" AUDIENCE "\",\"sub\":\"" USER_ID
			"\",\"role\":\"member\",\"iat\":1700000000}",
			SIG_HS256);
	assert_rejected(HDR_OK,
			"{\"iss\":\"" ISSUER "\",\"aud\":\"" AUDIENCE "\",\"sub\":\"" USER_ID
			"\",\"role\":\"member\",\"exp\":1700000900}",
			SIG_HS256);
	assert_rejected(HDR_OK,
			"{\"iss\":\"" ISSUER "\",\"aud\":\"" AUDIENCE "\",\"sub\":\"" USER_ID
			"\",\"role\":\"member\",\"iat\":1700000000,\"exp\":\"1700000900\"}",
			SIG_HS256);
	assert_rejected(HDR_OK,
			"{\"iss\":\"" ISSUER "\",\"aud\":\"" AUDIENCE "\",\"sub\":\"" USER_ID
			"\",\"role\":\"member\",\"iat\":1700000000,\"exp\":1700000900.5}",
			SIG_HS256);
	assert_rejected(HDR_OK,
			"{\"iss\":\"" ISSUER "\",\"aud\":\"" AUDIENCE "\",\"sub\":\"" USER_ID
			"\",\"role\":\"member\",\"iat\":1700000000,\"exp\":1e300}",
			SIG_HS256);
	assert_rejected(HDR_OK,
			"{\"iss\":\"" ISSUER "\",\"aud\":\"" AUDIENCE "\",\"sub\":\"" USER_ID
			"\",\"role\":\"member\",\"iat\":-5,\"exp\":1700000900}",
			SIG_HS256);
	assert_rejected(
	    HDR_OK,
	    "{\"iss\":\"" ISSUER "\",\"aud\":\"" AUDIENCE "\",\"sub\":\"" USER_ID
	    "\",\"role\":\"member\",\"iat\":1700000000,\"nbf\":null,\"exp\":1700000900}",
	    SIG_HS256);
}

static void test_jwt_wrong_issuer(void **state)
{
	(void)state;
	assert_rejected(HDR_OK,
			"{\"iss\":\"https://evil.test\",\"aud\":\"" AUDIENCE "\",\"sub\":\"" USER_ID
			"\",\"role\":\"member\",\"iat\":1700000000,\"exp\":1700000900}",
			SIG_HS256);
	assert_rejected(HDR_OK,
			"{\"aud\":\"" AUDIENCE "\",\"sub\":\"" USER_ID
			"\",\"role\":\"member\",\"iat\":1700000000,\"exp\":1700000900}",
			SIG_HS256);
	assert_rejected(HDR_OK,
			"{\"iss\":[\"" ISSUER "\"],\"aud\":\"" AUDIENCE "\",\"sub\":\"" USER_ID
			"\",\"role\":\"member\",\"iat\":1700000000,\"exp\":1700000900}",
			SIG_HS256);
}

static void test_jwt_audience(void **state)
{
	struct b4_principal out;

	(void)state;
	assert_rejected(HDR_OK,
			"{\"iss\":\"" ISSUER "\",\"aud\":\"b4you-backoffice\",\"sub\":\"" USER_ID
			"\",\"role\":\"member\",\"iat\":1700000000,\"exp\":1700000900}",
			SIG_HS256);
	assert_rejected(HDR_OK,
			"{\"iss\":\"" ISSUER "\",\"sub\":\"" USER_ID
			"\",\"role\":\"member\",\"iat\":1700000000,\"exp\":1700000900}",
			SIG_HS256);
	assert_rejected(HDR_OK,
			"{\"iss\":\"" ISSUER
			"\",\"aud\":[\"b4you-backoffice\",\"x\"],\"sub\":\"" USER_ID
			"\",\"role\":\"member\",\"iat\":1700000000,\"exp\":1700000900}",
			SIG_HS256);
	assert_rejected(HDR_OK,
			"{\"iss\":\"" ISSUER "\",\"aud\":[],\"sub\":\"" USER_ID
			"\",\"role\":\"member\",\"iat\":1700000000,\"exp\":1700000900}",
			SIG_HS256);
	assert_rejected(HDR_OK,
			"{\"iss\":\"" ISSUER "\",\"aud\":7,\"sub\":\"" USER_ID
			"\",\"role\":\"member\",\"iat\":1700000000,\"exp\":1700000900}",
			SIG_HS256);
	/* An array holding ours, among other things, is accepted. */
	assert_int_equal(verify_crafted(HDR_OK,
					"{\"iss\":\"" ISSUER
					"\",\"aud\":[1,\"b4you-backoffice\",\"" AUDIENCE
					"\"],\"sub\":\"" USER_ID "\",\"role\":\"member\","
					"\"iat\":1700000000,\"exp\":1700000900}",
					SIG_HS256, &out),
			 0);
	assert_string_equal(out.user_id, USER_ID);
}

static void test_jwt_subject_role_email(void **state)
{
	(void)state;
	/* Missing sub. */
	assert_rejected(HDR_OK,
			"{\"iss\":\"" ISSUER "\",\"aud\":\"" AUDIENCE
			"\",\"role\":\"member\",\"iat\":1700000000,\"exp\":1700000900}",
			SIG_HS256);
	assert_rejected(
	    HDR_OK,
	    "{\"iss\":\"" ISSUER "\",\"aud\":\"" AUDIENCE
	    "\",\"sub\":\"\",\"role\":\"member\",\"iat\":1700000000,\"exp\":1700000900}",
	    SIG_HS256);
	assert_rejected(HDR_OK,
			"{\"iss\":\"" ISSUER "\",\"aud\":\"" AUDIENCE
			"\",\"sub\":42,\"role\":\"member\",\"iat\":1700000000,\"exp\":1700000900}",
			SIG_HS256);
	/* 37 characters: does not fit user_id. */
	assert_rejected(HDR_OK,
			"{\"iss\":\"" ISSUER "\",\"aud\":\"" AUDIENCE "\",\"sub\":\"" USER_ID
			"0\",\"role\":\"member\",\"iat\":1700000000,\"exp\":1700000900}",
			SIG_HS256);
	/* Role missing or unknown. */
	assert_rejected(HDR_OK,
			"{\"iss\":\"" ISSUER "\",\"aud\":\"" AUDIENCE "\",\"sub\":\"" USER_ID
			"\",\"iat\":1700000000,\"exp\":1700000900}",
			SIG_HS256);
	assert_rejected(HDR_OK,
			"{\"iss\":\"" ISSUER "\",\"aud\":\"" AUDIENCE "\",\"sub\":\"" USER_ID
			"\",\"role\":\"superuser\",\"iat\":1700000000,\"exp\":1700000900}",
			SIG_HS256);
	/* Email of the wrong type or too long. */
	assert_rejected(HDR_OK,
			"{\"iss\":\"" ISSUER "\",\"aud\":\"" AUDIENCE "\",\"sub\":\"" USER_ID
			"\",\"role\":\"member\",\"email\":1,\"iat\":1700000000,\"exp\":1700000900}",
			SIG_HS256);
	char claims[1024], email[300];

	memset(email, 'a', 255);
	email[255] = '\0';
	snprintf(claims, sizeof(claims),
		 "{\"iss\":\"" ISSUER "\",\"aud\":\"" AUDIENCE "\",\"sub\":\"" USER_ID
		 "\",\"role\":\"member\",\"email\":\"%s\",\"iat\":1700000000,\"exp\":1700000900}",
		 email);
	assert_rejected(HDR_OK, claims, SIG_HS256);
	/* Claims that are not an object. */
	assert_rejected(HDR_OK, "[1,2,3]", SIG_HS256);
	assert_rejected(HDR_OK, "\"sub\"", SIG_HS256);
	assert_rejected(HDR_OK, "", SIG_HS256);
}

static void test_jwt_garbage(void **state)
{
	struct b4_jwt_config cfg;
	struct b4_principal out;
	char *huge;

	(void)state;
	config_init(&cfg, 0);
	const char *bad[] = {
	    "",
	    "abc",
	    "abc.def",
	    ".",
	    "..",
	    "...",
	    "a..c",
	    ".b.c",
	    "a.b.",
	    "!!!.@@@.###",
	    "eyJhbGciOiJIUzI1NiJ9.e30.####",
	    "eyJhbGciOiJIUzI1NiJ9.e30.AAAA",
	    "a.b.c.d",
	    "eyJhbGciOiJIUzI1NiJ9.e30.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA.x",
	    "eyJhbGciOiJIUzI1NiJ9 .e30.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(b4_auth_jwt_verify(&cfg, bad[i], NOW, &out), -1);
	assert_int_equal(b4_auth_jwt_verify(&cfg, NULL, NOW, &out), -1);
	assert_int_equal(b4_auth_jwt_verify(NULL, "a.b.c", NOW, &out), -1);
	assert_int_equal(b4_auth_jwt_verify(&cfg, "a.b.c", NOW, NULL), -1);
	assert_int_equal(b4_auth_jwt_verify(&cfg, "a.b.c", -1, &out), -1);

	/* Huge input: refused on length, without reading it all. */
	size_t huge_len = 8 * 1024 * 1024;

	huge = malloc(huge_len + 1);
	assert_non_null(huge);
	memset(huge, 'A', huge_len);
	huge[1000] = '.';
	huge[2000] = '.';
	huge[huge_len] = '\0';
	assert_int_equal(b4_auth_jwt_verify(&cfg, huge, NOW, &out), -1);
	free(huge);

	/* A valid token just over the size limit is refused too. */
	char *claims = malloc(B4_AUTH_JWT_MAX_TOKEN_LEN + 200);
	char *token;

	assert_non_null(claims);
	sprintf(claims,
		"{\"iss\":\"" ISSUER "\",\"aud\":\"" AUDIENCE "\",\"sub\":\"" USER_ID
		"\",\"role\":\"member\",\"iat\":1700000000,\"exp\":1700000900,\"pad\":\"%0*d\"}",
		B4_AUTH_JWT_MAX_TOKEN_LEN * 3 / 4, 0);
	token = craft(HDR_OK, claims, SIG_HS256);
	assert_true(strlen(token) > B4_AUTH_JWT_MAX_TOKEN_LEN);
	assert_int_equal(b4_auth_jwt_verify(&cfg, token, NOW, &out), -1);
	free(token);
	free(claims);
	b4_auth_jwt_config_cleanup(&cfg);
}

/* ---- passwords ------------------------------------------------------------- */

static void test_password_hash_format(void **state)
{
	char a[B4_AUTH_PASSWORD_HASH_MAX], b[B4_AUTH_PASSWORD_HASH_MAX];
	const char *prefix = "$argon2id$v=19$m=19456,t=2,p=1$";

	(void)state;
	assert_int_equal(b4_auth_password_hash("correct horse battery staple", a, sizeof(a)), 0);
	assert_memory_equal(a, prefix, strlen(prefix));
	assert_int_equal(strlen(a), 97);
	assert_null(strstr(a, "correct"));
	/* A fresh salt each time. */
	assert_int_equal(b4_auth_password_hash("correct horse battery staple", b, sizeof(b)), 0);
	assert_string_not_equal(a, b);
	assert_false(b4_auth_password_needs_rehash(a));
}

static void test_password_verify(void **state)
{
	char h[B4_AUTH_PASSWORD_HASH_MAX];

	(void)state;
	assert_int_equal(b4_auth_password_hash("s3nha-Forte!", h, sizeof(h)), 0);
	assert_true(b4_auth_password_verify(h, "s3nha-Forte!"));
	assert_false(b4_auth_password_verify(h, "s3nha-forte!"));
	assert_false(b4_auth_password_verify(h, "s3nha-Forte"));
	assert_false(b4_auth_password_verify(h, "s3nha-Forte!!"));
	assert_false(b4_auth_password_verify(h, ""));
	assert_false(b4_auth_password_verify(h, NULL));
	assert_false(b4_auth_password_verify(NULL, "s3nha-Forte!"));
	/* A changed hash byte. */
	h[strlen(h) - 2] = h[strlen(h) - 2] == 'A' ? 'B' : 'A';
	assert_false(b4_auth_password_verify(h, "s3nha-Forte!"));

	/* UTF-8 and the empty password hash and verify like any other. */
	assert_int_equal(b4_auth_password_hash("ação ✓", h, sizeof(h)), 0);
	assert_true(b4_auth_password_verify(h, "ação ✓"));
	assert_false(b4_auth_password_verify(h, "acao ✓"));
	assert_int_equal(b4_auth_password_hash("", h, sizeof(h)), 0);
	assert_true(b4_auth_password_verify(h, ""));
	assert_false(b4_auth_password_verify(h, " "));
}

static void test_password_rejects(void **state)
{
	char h[B4_AUTH_PASSWORD_HASH_MAX];
	char *long_pw = malloc(B4_AUTH_PASSWORD_MAX_LEN + 2);

	(void)state;
	assert_non_null(long_pw);
	assert_int_equal(b4_auth_password_hash("pw", h, 50), -1);
	assert_int_equal(b4_auth_password_hash(NULL, h, sizeof(h)), -1);
	memset(long_pw, 'x', B4_AUTH_PASSWORD_MAX_LEN + 1);
	long_pw[B4_AUTH_PASSWORD_MAX_LEN + 1] = '\0';
	assert_int_equal(b4_auth_password_hash(long_pw, h, sizeof(h)), -1);
	long_pw[B4_AUTH_PASSWORD_MAX_LEN] = '\0';
	assert_int_equal(b4_auth_password_hash(long_pw, h, sizeof(h)), 0);
	assert_true(b4_auth_password_verify(h, long_pw));
	free(long_pw);

	/* Not argon2id, malformed, or asking for absurd cost: false without hashing. */
	assert_false(b4_auth_password_verify("", "pw"));
	assert_false(b4_auth_password_verify("plaintext", "plaintext"));
	assert_false(b4_auth_password_verify("$argon2i$v=19$m=19456,t=2,p=1$YjR5b3UtZHVtbXktc2FsdA$"
					     "JKfrrQeAbkCCAd9Vno6ty/lxaxtTqEfYQkVTzMkVE6s",
					     "b4you dummy password, never a real one"));
	assert_false(
	    b4_auth_password_verify("$argon2id$v=19$m=4194304,t=2,p=1$YjR5b3UtZHVtbXktc2FsdA$"
				    "JKfrrQeAbkCCAd9Vno6ty/lxaxtTqEfYQkVTzMkVE6s",
				    "x"));
	assert_false(b4_auth_password_verify("$argon2id$v=19$m=19456,t=2,p=1$", "x"));
}

static void test_password_dummy_and_rehash(void **state)
{
	(void)state;
	/* The dummy hash is a real one with today's parameters (so it costs the same). */
	assert_true(b4_auth_password_verify("$argon2id$v=19$m=19456,t=2,p=1$YjR5b3UtZHVtbXktc2FsdA$"
					    "JKfrrQeAbkCCAd9Vno6ty/lxaxtTqEfYQkVTzMkVE6s",
					    "b4you dummy password, never a real one"));
	b4_auth_password_dummy_verify("anything");
	b4_auth_password_dummy_verify(NULL);

	assert_true(
	    b4_auth_password_needs_rehash("$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHQ$aGFzaA"));
	assert_true(
	    b4_auth_password_needs_rehash("$argon2id$v=19$m=19456,t=1,p=1$c2FsdHNhbHQ$aGFzaA"));
	assert_true(
	    b4_auth_password_needs_rehash("$argon2i$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaA"));
	assert_true(b4_auth_password_needs_rehash("garbage"));
	assert_true(b4_auth_password_needs_rehash(NULL));
	assert_false(
	    b4_auth_password_needs_rehash("$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaA"));
}

/* ---- roles ----------------------------------------------------------------- */

static void test_roles(void **state)
{
	(void)state;
	assert_true(b4_auth_role_allows(NULL, B4_ROLE_PUBLIC));
	assert_true(b4_auth_role_allows("member", B4_ROLE_PUBLIC));
	assert_true(b4_auth_role_allows("admin", B4_ROLE_PUBLIC));

	assert_false(b4_auth_role_allows(NULL, B4_ROLE_MEMBER));
	assert_true(b4_auth_role_allows("member", B4_ROLE_MEMBER));
	assert_true(b4_auth_role_allows("admin", B4_ROLE_MEMBER));
	assert_false(b4_auth_role_allows("", B4_ROLE_MEMBER));
	assert_false(b4_auth_role_allows("Member", B4_ROLE_MEMBER));
	assert_false(b4_auth_role_allows("superuser", B4_ROLE_MEMBER));

	assert_false(b4_auth_role_allows(NULL, B4_ROLE_ADMIN));
	assert_false(b4_auth_role_allows("member", B4_ROLE_ADMIN));
	assert_true(b4_auth_role_allows("admin", B4_ROLE_ADMIN));
	assert_false(b4_auth_role_allows("admin ", B4_ROLE_ADMIN));

	assert_false(b4_auth_role_allows("admin", (enum b4_role)3));
	assert_false(b4_auth_role_allows("admin", (enum b4_role) - 1));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_config_short_key_refused),
	    cmocka_unit_test(test_config_other_settings),
	    cmocka_unit_test(test_jwt_round_trip),
	    cmocka_unit_test(test_jwt_tokens_are_unique),
	    cmocka_unit_test(test_jwt_sign_refuses_bad_principal),
	    cmocka_unit_test(test_jwt_crafted_baseline_accepted),
	    cmocka_unit_test(test_jwt_tampered_payload),
	    cmocka_unit_test(test_jwt_tampered_signature),
	    cmocka_unit_test(test_jwt_alg_none),
	    cmocka_unit_test(test_jwt_other_algs),
	    cmocka_unit_test(test_jwt_header_checks),
	    cmocka_unit_test(test_jwt_expired),
	    cmocka_unit_test(test_jwt_not_yet_valid),
	    cmocka_unit_test(test_jwt_time_claim_types),
	    cmocka_unit_test(test_jwt_wrong_issuer),
	    cmocka_unit_test(test_jwt_audience),
	    cmocka_unit_test(test_jwt_subject_role_email),
	    cmocka_unit_test(test_jwt_garbage),
	    cmocka_unit_test(test_password_hash_format),
	    cmocka_unit_test(test_password_verify),
	    cmocka_unit_test(test_password_rejects),
	    cmocka_unit_test(test_password_dummy_and_rehash),
	    cmocka_unit_test(test_roles),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
