/*
 * libFuzzer driver for the two parsers of untrusted text in auth and crypto:
 * b4_auth_jwt_verify (bearer tokens from any client) and
 * b4_crypto_decrypt_field (column values, which a database compromise or a
 * bug elsewhere could make arbitrary).
 *
 * Each input is tried as a token and as a field text.  Neither may crash,
 * leak or read out of bounds, and a refused input must leave the outputs
 * empty.  Inputs that do verify (e.g. a seed made by b4_auth_jwt_sign with
 * the key below) must round-trip.
 *
 * Build (the lead wires this into tests/fuzz/run.sh):
 *   clang -fsanitize=fuzzer,address,undefined -Ilibcommon/include \
 *         tests/fuzz/fuzz_jwt.c libcommon/src/auth.c libcommon/src/crypto.c \
 *         $(pkg-config --cflags --libs libcjson openssl libargon2) -lm
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "b4/auth.h"
#include "b4/crypto.h"

#define FUZZ_NOW 1700000000

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct b4_jwt_config jwt_cfg;
static struct b4_keyring ring;
static int ready;

static void setup(void)
{
	static const unsigned char key[32] = "fuzz-key-0123456789abcdef-012345";

	if (b4_auth_jwt_config_init(&jwt_cfg, key, sizeof(key), "https://api.b4you.test",
				    "b4you-api", 900, 30, NULL, 0) != 0 ||
	    b4_crypto_keyring_init(
		&ring,
		"k1:000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f,"
		"k2:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8",
		"k1", NULL, 0) != 0)
		abort();
	ready = 1;
}

static void fuzz_jwt(const char *text)
{
	struct b4_principal p;

	if (b4_auth_jwt_verify(&jwt_cfg, text, FUZZ_NOW, &p) == 0) {
		/* Accepted: the principal is well formed. */
		if (memchr(p.user_id, '\0', sizeof(p.user_id)) == NULL || p.user_id[0] == '\0' ||
		    !b4_auth_role_allows(p.role, B4_ROLE_MEMBER) ||
		    memchr(p.email, '\0', sizeof(p.email)) == NULL)
			abort();
	} else if (p.user_id[0] != '\0' || p.role[0] != '\0' || p.email[0] != '\0' ||
		   p.expires_at != 0) {
		abort();
	}
}

static void fuzz_field(const char *text)
{
	char *plain = NULL, *again = NULL, *plain2 = NULL;
	size_t len = 0, len2 = 0;

	if (b4_crypto_decrypt_field(&ring, text, "fuzz.column", &plain, &len) != 0) {
		if (plain != NULL || len != 0)
			abort();
		return;
	}
	if (plain[len] != '\0')
		abort();
	/* Accepted: re-encrypting and decrypting gives the same bytes back. */
	if (b4_crypto_encrypt_field(&ring, plain, len, "fuzz.column", &again) != 0 ||
	    b4_crypto_decrypt_field(&ring, again, "fuzz.column", &plain2, &len2) != 0 ||
	    len2 != len || memcmp(plain, plain2, len) != 0)
		abort();
	b4_crypto_secret_free(plain2, len2);
	free(again);
	b4_crypto_secret_free(plain, len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text;

	if (!ready)
		setup();
	/* Both APIs take NUL-terminated text; the fuzzer's bytes are not. */
	text = malloc(size + 1);
	if (text == NULL)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	fuzz_jwt(text);
	fuzz_field(text);
	free(text);
	return 0;
}
