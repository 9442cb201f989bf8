/* pii.c - encryption of personal data at rest; see b4/pii.h. */
#include "b4/pii.h"
#include "b4/crypto.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct b4_keyring ring;
static unsigned char index_key[32];
static bool ready;

int b4_pii_init(const char *prog)
{
	const char *keys = getenv("B4_FIELD_KEYS");
	const char *bidx = getenv("B4_BLIND_INDEX_KEY");
	char err[160];
	size_t len = 0;

	if (!keys || !*keys) {
		fprintf(stderr, "%s: B4_FIELD_KEYS: required (e.g. k1:<64 hex chars>)\n", prog);
		return -1;
	}
	if (b4_crypto_keyring_init(&ring, keys, NULL, err, sizeof(err)) < 0) {
		fprintf(stderr, "%s: B4_FIELD_KEYS: %s\n", prog, err);
		return -1;
	}
	if (!bidx ||
	    b4_crypto_hex_decode(bidx, strlen(bidx), index_key, sizeof(index_key), &len) < 0 ||
	    len != sizeof(index_key)) {
		fprintf(stderr, "%s: B4_BLIND_INDEX_KEY: required, 64 hex chars (32 bytes)\n",
			prog);
		b4_crypto_keyring_cleanup(&ring);
		return -1;
	}
	ready = true;
	return 0;
}

bool b4_pii_ready(void)
{
	return ready;
}

void b4_pii_cleanup(void)
{
	if (!ready)
		return;
	b4_crypto_keyring_cleanup(&ring);
	OPENSSL_cleanse(index_key, sizeof(index_key));
	ready = false;
}

char *b4_pii_encrypt(const char *column, const char *value)
{
	char *out = NULL;

	if (!ready || b4_crypto_encrypt_field(&ring, value, strlen(value), column, &out) < 0)
		return NULL;
	return out;
}

char *b4_pii_decrypt(const char *column, const char *text)
{
	char *plain = NULL;
	size_t len = 0;

	if (!ready || b4_crypto_decrypt_field(&ring, text, column, &plain, &len) < 0)
		return NULL;
	return plain;
}

void b4_pii_free(char *plain)
{
	if (plain)
		b4_crypto_secret_free(plain, strlen(plain));
}

int b4_pii_blind_index(const char *kind, const char *normalized, char out_hex[65])
{
	char buf[512];
	int n;

	if (!ready)
		return -1;
	/* the kind prefix keeps equal values of different kinds apart */
	n = snprintf(buf, sizeof(buf), "%s:%s", kind, normalized);
	if (n < 0 || (size_t)n >= sizeof(buf))
		return -1;
	n = b4_crypto_blind_index(index_key, sizeof(index_key), buf, out_hex);
	OPENSSL_cleanse(buf, sizeof(buf));
	return n;
}
