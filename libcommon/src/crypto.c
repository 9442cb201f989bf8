/*
 * crypto.c: see b4/crypto.h for the contracts.
 */
#include "b4/crypto.h"
#include "b4/buf.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/core_names.h>
#include <openssl/params.h>
#include <openssl/rand.h>

#define GCM_NONCE_LEN 12
#define GCM_TAG_LEN   16
#define FIELD_VERSION "v1"

/* ---- random ------------------------------------------------------------ */

int b4_crypto_random(void *buf, size_t len)
{
	unsigned char *p = buf;

	/* RAND_bytes takes an int length. */
	while (len > 0) {
		int chunk = len > INT_MAX ? INT_MAX : (int)len;

		if (RAND_bytes(p, chunk) != 1)
			return -1;
		p += chunk;
		len -= (size_t)chunk;
	}
	return 0;
}

static void format_uuid(const unsigned char b[16], char out[37])
{
	static const char digits[] = "0123456789abcdef";
	size_t o = 0;

	for (size_t i = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			out[o++] = '-';
		out[o++] = digits[b[i] >> 4];
		out[o++] = digits[b[i] & 0x0f];
	}
	out[o] = '\0';
}

int b4_crypto_uuid4(char out[37])
{
	unsigned char b[16];

	if (b4_crypto_random(b, sizeof(b)) != 0)
		return -1;
	b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
	b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
	format_uuid(b, out);
	return 0;
}

/*
 * UUIDv7 state: the last timestamp and its 74 random bits (12 in rand_a, 62
 * in rand_b), so the next id in the same millisecond is the last one plus a
 * random step (RFC 9562 section 6.2, method 2).
 */
static pthread_mutex_t uuid7_lock = PTHREAD_MUTEX_INITIALIZER;
static uint64_t uuid7_last_ms;
static uint16_t uuid7_rand_a;
static uint64_t uuid7_rand_b;

#define RAND_B_MASK ((UINT64_C(1) << 62) - 1)

static int uuid7_fresh(uint64_t ms)
{
	unsigned char r[10];
	uint64_t b = 0;

	if (b4_crypto_random(r, sizeof(r)) != 0)
		return -1;
	/* Top bit of rand_a left clear: room for many increments this ms. */
	uuid7_rand_a = (uint16_t)(((r[0] << 8) | r[1]) & 0x07ff);
	for (size_t i = 2; i < 10; i++)
		b = (b << 8) | r[i];
	uuid7_rand_b = b & RAND_B_MASK;
	uuid7_last_ms = ms;
	return 0;
}

static int uuid7_advance(void)
{
	uint32_t step;

	if (b4_crypto_random(&step, sizeof(step)) != 0)
		return -1;
	/* 1 .. 2^31: unguessable successor, yet ~2^42 ids per ms before carry out. */
	uuid7_rand_b += (uint64_t)(step >> 1) + 1;
	if (uuid7_rand_b > RAND_B_MASK) {
		uuid7_rand_b &= RAND_B_MASK;
		uuid7_rand_a++;
		if (uuid7_rand_a > 0x0fff)
			return uuid7_fresh(uuid7_last_ms + 1);
	}
	return 0;
}

int b4_crypto_uuid7(char out[37])
{
	struct timespec ts;
	unsigned char b[16];
	uint64_t ms;
	int rc;

	if (clock_gettime(CLOCK_REALTIME, &ts) != 0 || ts.tv_sec < 0)
		return -1;
	ms = (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;

	pthread_mutex_lock(&uuid7_lock);
	/* A clock that steps back keeps the last timestamp: order wins over accuracy. */
	if (ms > uuid7_last_ms)
		rc = uuid7_fresh(ms);
	else
		rc = uuid7_advance();
	ms = uuid7_last_ms;
	b[6] = (unsigned char)(0x70 | ((uuid7_rand_a >> 8) & 0x0f));
	b[7] = (unsigned char)(uuid7_rand_a & 0xff);
	b[8] = (unsigned char)(0x80 | ((uuid7_rand_b >> 56) & 0x3f));
	for (size_t i = 9; i < 16; i++)
		b[i] = (unsigned char)(uuid7_rand_b >> (8 * (15 - i)));
	pthread_mutex_unlock(&uuid7_lock);
	if (rc != 0)
		return -1;

	for (size_t i = 0; i < 6; i++)
		b[i] = (unsigned char)(ms >> (8 * (5 - i)));
	format_uuid(b, out);
	return 0;
}

int b4_crypto_random_code(char *out, size_t len, const char *alphabet)
{
	unsigned char pool[64];
	size_t n, limit, used = sizeof(pool);

	if (out == NULL || alphabet == NULL)
		return -1;
	n = strlen(alphabet);
	if (n < 2 || n > 256)
		return -1;
	/* Largest multiple of n that fits a byte: bytes at or above it are redrawn. */
	limit = 256 - (256 % n);
	for (size_t i = 0; i < len;) {
		if (used == sizeof(pool)) {
			if (b4_crypto_random(pool, sizeof(pool)) != 0) {
				OPENSSL_cleanse(pool, sizeof(pool));
				return -1;
			}
			used = 0;
		}
		unsigned char byte = pool[used++];

		if (byte < limit)
			out[i++] = alphabet[byte % n];
	}
	out[len] = '\0';
	OPENSSL_cleanse(pool, sizeof(pool));
	return 0;
}

int b4_crypto_token_hex(char *out, size_t nbytes)
{
	unsigned char buf[64];

	if (out == NULL || nbytes > (SIZE_MAX - 1) / 2)
		return -1;
	/* Chunks keep the raw bytes on the stack, where they can be wiped. */
	for (size_t done = 0; done < nbytes;) {
		size_t chunk = nbytes - done < sizeof(buf) ? nbytes - done : sizeof(buf);

		if (b4_crypto_random(buf, chunk) != 0 ||
		    b4_crypto_hex_encode(buf, chunk, out + 2 * done, 2 * chunk + 1) != 0) {
			OPENSSL_cleanse(buf, sizeof(buf));
			return -1;
		}
		done += chunk;
	}
	out[2 * nbytes] = '\0';
	OPENSSL_cleanse(buf, sizeof(buf));
	return 0;
}

/* ---- encodings ----------------------------------------------------------- */

int b4_crypto_hex_encode(const void *in, size_t len, char *out, size_t cap)
{
	static const char digits[] = "0123456789abcdef";
	const unsigned char *p = in;

	if (len > (SIZE_MAX - 1) / 2 || cap < 2 * len + 1)
		return -1;
	for (size_t i = 0; i < len; i++) {
		out[2 * i] = digits[p[i] >> 4];
		out[2 * i + 1] = digits[p[i] & 0x0f];
	}
	out[2 * len] = '\0';
	return 0;
}

int b4_crypto_hex_value(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int b4_crypto_hex_decode(const char *hex, size_t hex_len, void *out, size_t cap, size_t *out_len)
{
	unsigned char *p = out;

	if (hex_len % 2 != 0 || hex_len / 2 > cap)
		return -1;
	for (size_t i = 0; i < hex_len / 2; i++) {
		int hi = b4_crypto_hex_value(hex[2 * i]);
		int lo = b4_crypto_hex_value(hex[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return -1;
		p[i] = (unsigned char)((hi << 4) | lo);
	}
	*out_len = hex_len / 2;
	return 0;
}

static const char b64url_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

size_t b4_crypto_base64url_encoded_len(size_t len)
{
	return len / 3 * 4 + (len % 3 == 0 ? 0 : len % 3 + 1);
}

int b4_crypto_base64url_encode(const void *in, size_t len, char *out, size_t cap)
{
	const unsigned char *p = in;
	size_t o = 0, i = 0;

	if (len > (SIZE_MAX - 4) / 4 * 3 || cap < b4_crypto_base64url_encoded_len(len) + 1)
		return -1;
	for (; i + 3 <= len; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];

		out[o++] = b64url_alphabet[(v >> 18) & 63];
		out[o++] = b64url_alphabet[(v >> 12) & 63];
		out[o++] = b64url_alphabet[(v >> 6) & 63];
		out[o++] = b64url_alphabet[v & 63];
	}
	if (len - i == 1) {
		uint32_t v = (uint32_t)p[i] << 16;

		out[o++] = b64url_alphabet[(v >> 18) & 63];
		out[o++] = b64url_alphabet[(v >> 12) & 63];
	} else if (len - i == 2) {
		uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8;

		out[o++] = b64url_alphabet[(v >> 18) & 63];
		out[o++] = b64url_alphabet[(v >> 12) & 63];
		out[o++] = b64url_alphabet[(v >> 6) & 63];
	}
	out[o] = '\0';
	return 0;
}

#define B64_URL 1 /* accept '-' and '_' */
#define B64_STD 2 /* accept '+' and '/' */
#define B64_PAD 4 /* accept correct '=' padding */

static int b64_value(char c, int flags)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if ((flags & B64_URL) && c == '-')
		return 62;
	if ((flags & B64_URL) && c == '_')
		return 63;
	if ((flags & B64_STD) && c == '+')
		return 62;
	if ((flags & B64_STD) && c == '/')
		return 63;
	return -1;
}

static int b64_decode(const char *in, size_t in_len, unsigned char *out, size_t cap,
		      size_t *out_len, int flags)
{
	size_t o = 0, rem;
	uint32_t acc = 0;

	if ((flags & B64_PAD) && in_len % 4 == 0 && in_len > 0) {
		if (in[in_len - 1] == '=')
			in_len--;
		if (in[in_len - 1] == '=')
			in_len--;
	}
	rem = in_len % 4;
	if (rem == 1)
		return -1;
	if (in_len / 4 * 3 + (rem ? rem - 1 : 0) > cap)
		return -1;
	for (size_t i = 0; i < in_len; i++) {
		int v = b64_value(in[i], flags);

		if (v < 0)
			return -1;
		acc = acc << 6 | (uint32_t)v;
		if (i % 4 == 3) {
			out[o++] = (unsigned char)(acc >> 16);
			out[o++] = (unsigned char)(acc >> 8);
			out[o++] = (unsigned char)acc;
			acc = 0;
		}
	}
	/* The unused low bits of a final partial group must be zero (canonical form). */
	if (rem == 2) {
		if (acc & 0x0f)
			return -1;
		out[o++] = (unsigned char)(acc >> 4);
	} else if (rem == 3) {
		if (acc & 0x03)
			return -1;
		out[o++] = (unsigned char)(acc >> 10);
		out[o++] = (unsigned char)(acc >> 2);
	}
	*out_len = o;
	return 0;
}

int b4_crypto_base64url_decode(const char *in, size_t in_len, void *out, size_t cap,
			       size_t *out_len)
{
	return b64_decode(in, in_len, out, cap, out_len, B64_URL);
}

/* ---- compare, hash, MAC -------------------------------------------------- */

bool b4_crypto_equal(const void *a, const void *b, size_t len)
{
	return CRYPTO_memcmp(a, b, len) == 0;
}

int b4_crypto_sha256(const void *data, size_t len, unsigned char out[32])
{
	unsigned int out_len = 0;

	if (EVP_Digest(data, len, out, &out_len, EVP_sha256(), NULL) != 1 || out_len != 32)
		return -1;
	return 0;
}

static EVP_MAC *hmac_impl;
static pthread_once_t hmac_impl_once = PTHREAD_ONCE_INIT;

static void hmac_impl_fetch(void)
{
	hmac_impl = EVP_MAC_fetch(NULL, "HMAC", NULL);
}

/* HMAC-SHA256 over the concatenation of two parts, without copying them. */
static int hmac_sha256_2(const void *key, size_t key_len, const void *part1, size_t len1,
			 const void *part2, size_t len2, unsigned char out[32])
{
	static const unsigned char empty = 0;
	OSSL_PARAM params[2];
	EVP_MAC_CTX *ctx;
	size_t out_len = 0;
	int rc = -1;

	pthread_once(&hmac_impl_once, hmac_impl_fetch);
	if (hmac_impl == NULL)
		return -1;
	ctx = EVP_MAC_CTX_new(hmac_impl);
	if (ctx == NULL)
		return -1;
	params[0] = OSSL_PARAM_construct_utf8_string("digest", (char *)"SHA256", 0);
	params[1] = OSSL_PARAM_construct_end();
	if (EVP_MAC_init(ctx, key_len > 0 ? key : &empty, key_len, params) == 1 &&
	    (len1 == 0 || EVP_MAC_update(ctx, part1, len1) == 1) &&
	    (len2 == 0 || EVP_MAC_update(ctx, part2, len2) == 1) &&
	    EVP_MAC_final(ctx, out, &out_len, 32) == 1 && out_len == 32)
		rc = 0;
	EVP_MAC_CTX_free(ctx);
	return rc;
}

int b4_crypto_hmac_sha256(const void *key, size_t key_len, const void *data, size_t len,
			  unsigned char out[32])
{
	if ((key == NULL && key_len > 0) || (data == NULL && len > 0))
		return -1;
	return hmac_sha256_2(key, key_len, data, len, NULL, 0, out);
}

/* ---- webhook signatures -------------------------------------------------- */

static int webhook_mac(const char *secret, int64_t unix_time, const void *body, size_t body_len,
		       unsigned char mac[32])
{
	char prefix[32];
	int n;

	n = snprintf(prefix, sizeof(prefix), "%" PRId64 ".", unix_time);
	if (n < 0 || (size_t)n >= sizeof(prefix))
		return -1;
	return hmac_sha256_2(secret, strlen(secret), prefix, (size_t)n, body, body_len, mac);
}

int b4_crypto_webhook_sign(const char *secret, int64_t unix_time, const void *body, size_t body_len,
			   char *header_out, size_t cap)
{
	unsigned char mac[32];
	char hex[65];
	int n;

	if (secret == NULL || secret[0] == '\0' || unix_time < 0 || header_out == NULL ||
	    (body == NULL && body_len > 0))
		return -1;
	if (webhook_mac(secret, unix_time, body, body_len, mac) != 0)
		return -1;
	b4_crypto_hex_encode(mac, sizeof(mac), hex, sizeof(hex));
	n = snprintf(header_out, cap, "t=%" PRId64 ",v1=%s", unix_time, hex);
	OPENSSL_cleanse(mac, sizeof(mac));
	if (n < 0 || (size_t)n >= cap) {
		if (cap > 0)
			header_out[0] = '\0';
		return -1;
	}
	return 0;
}

/* Parses 1 to 18 decimal digits (no sign, no spaces) into *value. */
static int parse_decimal(const char *s, size_t len, int64_t *value)
{
	int64_t v = 0;

	if (len == 0 || len > 18)
		return -1;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	*value = v;
	return 0;
}

#define WEBHOOK_MAX_SIGNATURES 8

bool b4_crypto_webhook_verify(const char *secret, const char *header, const void *body,
			      size_t body_len, int64_t now, int64_t tolerance_seconds)
{
	unsigned char sigs[WEBHOOK_MAX_SIGNATURES][32];
	unsigned char mac[32];
	size_t nsigs = 0;
	bool have_time = false, match = false;
	int64_t t = 0;
	const char *p;

	if (secret == NULL || secret[0] == '\0' || header == NULL || tolerance_seconds < 0 ||
	    (body == NULL && body_len > 0))
		return false;
	if (strlen(header) > 1024)
		return false;

	p = header;
	for (;;) {
		const char *end = strchr(p, ',');
		size_t item_len = end ? (size_t)(end - p) : strlen(p);
		const char *eq = memchr(p, '=', item_len);

		if (eq == NULL)
			return false;
		size_t key_len = (size_t)(eq - p);
		const char *val = eq + 1;
		size_t val_len = item_len - key_len - 1;

		if (key_len == 1 && p[0] == 't') {
			if (have_time || parse_decimal(val, val_len, &t) != 0)
				return false;
			have_time = true;
		} else if (key_len == 2 && p[0] == 'v' && p[1] == '1') {
			size_t got;

			if (nsigs == WEBHOOK_MAX_SIGNATURES || val_len != 64 ||
			    b4_crypto_hex_decode(val, val_len, sigs[nsigs], 32, &got) != 0)
				return false;
			nsigs++;
		}
		if (end == NULL)
			break;
		p = end + 1;
	}
	if (!have_time || nsigs == 0)
		return false;
	/* t is 0 .. 10^18; bound now the same way so the difference cannot overflow. */
	if (now < 0 || now > INT64_C(999999999999999999))
		return false;
	if ((t > now ? t - now : now - t) > tolerance_seconds)
		return false;
	if (webhook_mac(secret, t, body, body_len, mac) != 0)
		return false;
	/* Compare every candidate: time depends on the count, never on where one matched. */
	for (size_t i = 0; i < nsigs; i++)
		match |= CRYPTO_memcmp(mac, sigs[i], 32) == 0;
	OPENSSL_cleanse(mac, sizeof(mac));
	return match;
}

/* ---- field encryption ---------------------------------------------------- */

static bool key_id_is_valid(const char *id, size_t len)
{
	if (len == 0 || len > B4_CRYPTO_KEY_ID_MAX)
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = id[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '-'))
			return false;
	}
	return true;
}

static const struct b4_crypto_key *keyring_find(const struct b4_keyring *ring, const char *id,
						size_t id_len)
{
	for (size_t i = 0; i < ring->count; i++) {
		if (strlen(ring->keys[i].id) == id_len && memcmp(ring->keys[i].id, id, id_len) == 0)
			return &ring->keys[i];
	}
	return NULL;
}

static int parse_key_material(const char *s, size_t len, unsigned char key[32])
{
	unsigned char buf[48];
	size_t got = 0;
	int rc = -1;

	if (len == 64 && b4_crypto_hex_decode(s, len, buf, sizeof(buf), &got) == 0 && got == 32)
		rc = 0;
	else if (b64_decode(s, len, buf, sizeof(buf), &got, B64_URL | B64_STD | B64_PAD) == 0 &&
		 got == 32)
		rc = 0;
	if (rc == 0)
		memcpy(key, buf, 32);
	OPENSSL_cleanse(buf, sizeof(buf));
	return rc;
}

static void trim(const char **s, size_t *len)
{
	while (*len > 0 && (**s == ' ' || **s == '\t')) {
		(*s)++;
		(*len)--;
	}
	while (*len > 0 && ((*s)[*len - 1] == ' ' || (*s)[*len - 1] == '\t'))
		(*len)--;
}

int b4_crypto_keyring_init(struct b4_keyring *ring, const char *config, const char *active_id,
			   char *err, size_t err_cap)
{
	const char *p = config;

	if (ring == NULL)
		return -1;
	memset(ring, 0, sizeof(*ring));
	if (config == NULL || config[0] == '\0') {
		b4_errbuf_set(err, err_cap, "no keys: expected \"<id>:<key>[,<id>:<key>...]\"");
		return -1;
	}
	for (size_t item = 1;; item++) {
		const char *end = strchr(p, ',');
		size_t item_len = end ? (size_t)(end - p) : strlen(p);
		const char *colon, *material;
		size_t id_len, material_len;

		trim(&p, &item_len);
		colon = memchr(p, ':', item_len);
		if (colon == NULL) {
			b4_errbuf_set(err, err_cap, "key %zu: expected \"<id>:<key>\"", item);
			goto out_wipe;
		}
		id_len = (size_t)(colon - p);
		if (!key_id_is_valid(p, id_len)) {
			b4_errbuf_set(err, err_cap,
				      "key %zu: id must be 1 to %d characters of A-Z a-z 0-9 _ -",
				      item, B4_CRYPTO_KEY_ID_MAX);
			goto out_wipe;
		}
		if (keyring_find(ring, p, id_len) != NULL) {
			b4_errbuf_set(err, err_cap, "key %zu: id \"%.*s\" appears twice", item,
				      (int)id_len, p);
			goto out_wipe;
		}
		if (ring->count == B4_CRYPTO_KEYRING_MAX) {
			b4_errbuf_set(err, err_cap, "more than %d keys", B4_CRYPTO_KEYRING_MAX);
			goto out_wipe;
		}
		material = colon + 1;
		material_len = item_len - id_len - 1;
		trim(&material, &material_len);
		struct b4_crypto_key *k = &ring->keys[ring->count];

		if (parse_key_material(material, material_len, k->key) != 0) {
			b4_errbuf_set(
			    err, err_cap,
			    "key \"%.*s\": must be 32 bytes as 64 hex characters or base64",
			    (int)id_len, p);
			goto out_wipe;
		}
		memcpy(k->id, p, id_len);
		k->id[id_len] = '\0';
		ring->count++;
		if (end == NULL)
			break;
		p = end + 1;
	}
	ring->active = ring->count - 1;
	if (active_id != NULL && b4_crypto_keyring_set_active(ring, active_id) != 0) {
		b4_errbuf_set(err, err_cap, "active key id \"%.*s\" is not in the key list",
			      B4_CRYPTO_KEY_ID_MAX, active_id);
		goto out_wipe;
	}
	return 0;

out_wipe:
	b4_crypto_keyring_cleanup(ring);
	return -1;
}

int b4_crypto_keyring_set_active(struct b4_keyring *ring, const char *id)
{
	const struct b4_crypto_key *k;

	if (ring == NULL || id == NULL)
		return -1;
	k = keyring_find(ring, id, strlen(id));
	if (k == NULL)
		return -1;
	ring->active = (size_t)(k - ring->keys);
	return 0;
}

void b4_crypto_keyring_cleanup(struct b4_keyring *ring)
{
	if (ring == NULL)
		return;
	OPENSSL_cleanse(ring, sizeof(*ring));
	ring->count = 0;
	ring->active = 0;
}

/*
 * One AES-256-GCM operation.  The authenticated data is the text prefix
 * ("v1.<id>.") followed by the caller's aad; the prefix ends in the only '.'
 * an id cannot hold, so the two never run into each other ambiguously.
 */
static int gcm_run(bool encrypt, const unsigned char key[32], const unsigned char nonce[12],
		   const char *prefix, size_t prefix_len, const char *aad, const unsigned char *in,
		   size_t len, unsigned char *out, unsigned char tag[16])
{
	EVP_CIPHER_CTX *ctx;
	int n, rc = -1;

	if (len > INT_MAX)
		return -1;
	ctx = EVP_CIPHER_CTX_new();
	if (ctx == NULL)
		return -1;
	if (EVP_CipherInit_ex(ctx, EVP_aes_256_gcm(), NULL, NULL, NULL, encrypt) != 1 ||
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, GCM_NONCE_LEN, NULL) != 1 ||
	    EVP_CipherInit_ex(ctx, NULL, NULL, key, nonce, encrypt) != 1)
		goto out_free_ctx;
	if (EVP_CipherUpdate(ctx, NULL, &n, (const unsigned char *)prefix, (int)prefix_len) != 1)
		goto out_free_ctx;
	if (aad != NULL && aad[0] != '\0') {
		size_t aad_len = strlen(aad);

		if (aad_len > INT_MAX ||
		    EVP_CipherUpdate(ctx, NULL, &n, (const unsigned char *)aad, (int)aad_len) != 1)
			goto out_free_ctx;
	}
	if (len > 0 && EVP_CipherUpdate(ctx, out, &n, in, (int)len) != 1)
		goto out_free_ctx;
	if (!encrypt && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, GCM_TAG_LEN, tag) != 1)
		goto out_free_ctx;
	/* For decryption this is where the tag is checked. */
	if (EVP_CipherFinal_ex(ctx, out + len, &n) != 1)
		goto out_free_ctx;
	if (encrypt && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, GCM_TAG_LEN, tag) != 1)
		goto out_free_ctx;
	rc = 0;
out_free_ctx:
	EVP_CIPHER_CTX_free(ctx);
	return rc;
}

int b4_crypto_encrypt_field(const struct b4_keyring *ring, const void *plaintext, size_t len,
			    const char *aad, char **out_text)
{
	const struct b4_crypto_key *k;
	unsigned char *raw;
	size_t raw_len, prefix_len, text_len;
	char prefix[4 + B4_CRYPTO_KEY_ID_MAX + 1];
	char *text;

	if (out_text == NULL)
		return -1;
	*out_text = NULL;
	if (ring == NULL || ring->count == 0 || ring->active >= ring->count ||
	    len > B4_CRYPTO_FIELD_MAX_LEN || (plaintext == NULL && len > 0))
		return -1;
	k = &ring->keys[ring->active];
	prefix_len = (size_t)snprintf(prefix, sizeof(prefix), FIELD_VERSION ".%s.", k->id);

	raw_len = GCM_NONCE_LEN + len + GCM_TAG_LEN;
	raw = malloc(raw_len);
	if (raw == NULL)
		return -1;
	text_len = prefix_len + b4_crypto_base64url_encoded_len(raw_len);
	text = malloc(text_len + 1);
	if (text == NULL)
		goto out_free_raw;
	if (b4_crypto_random(raw, GCM_NONCE_LEN) != 0)
		goto out_free_text;
	if (gcm_run(true, k->key, raw, prefix, prefix_len, aad, plaintext, len, raw + GCM_NONCE_LEN,
		    raw + GCM_NONCE_LEN + len) != 0)
		goto out_free_text;
	memcpy(text, prefix, prefix_len);
	if (b4_crypto_base64url_encode(raw, raw_len, text + prefix_len,
				       text_len + 1 - prefix_len) != 0)
		goto out_free_text;
	free(raw);
	*out_text = text;
	return 0;

out_free_text:
	free(text);
out_free_raw:
	free(raw);
	return -1;
}

int b4_crypto_decrypt_field(const struct b4_keyring *ring, const char *text, const char *aad,
			    char **plain, size_t *len)
{
	const struct b4_crypto_key *k;
	const char *id, *dot, *payload;
	size_t id_len, text_len, payload_len, raw_len, ct_len;
	unsigned char *raw;
	char *out;

	if (plain == NULL || len == NULL)
		return -1;
	*plain = NULL;
	*len = 0;
	if (ring == NULL || text == NULL)
		return -1;
	text_len = strnlen(text, 4 + B4_CRYPTO_KEY_ID_MAX + 2 +
				     b4_crypto_base64url_encoded_len(
					 GCM_NONCE_LEN + B4_CRYPTO_FIELD_MAX_LEN + GCM_TAG_LEN));
	if (text[text_len] != '\0')
		return -1; /* longer than any field we write */
	if (text_len < 3 || memcmp(text, FIELD_VERSION ".", 3) != 0)
		return -1;
	id = text + 3;
	dot = memchr(id, '.', text_len - 3);
	if (dot == NULL)
		return -1;
	id_len = (size_t)(dot - id);
	if (!key_id_is_valid(id, id_len))
		return -1;
	k = keyring_find(ring, id, id_len);
	if (k == NULL)
		return -1;
	payload = dot + 1;
	payload_len = text_len - (size_t)(payload - text);

	raw_len = payload_len / 4 * 3 + 2;
	raw = malloc(raw_len);
	if (raw == NULL)
		return -1;
	if (b4_crypto_base64url_decode(payload, payload_len, raw, raw_len, &raw_len) != 0 ||
	    raw_len < GCM_NONCE_LEN + GCM_TAG_LEN)
		goto out_free_raw;
	ct_len = raw_len - GCM_NONCE_LEN - GCM_TAG_LEN;
	out = malloc(ct_len + 1);
	if (out == NULL)
		goto out_free_raw;
	if (gcm_run(false, k->key, raw, text, (size_t)(payload - text), aad, raw + GCM_NONCE_LEN,
		    ct_len, (unsigned char *)out, raw + GCM_NONCE_LEN + ct_len) != 0) {
		b4_crypto_secret_free(out, ct_len + 1);
		goto out_free_raw;
	}
	out[ct_len] = '\0';
	free(raw);
	*plain = out;
	*len = ct_len;
	return 0;

out_free_raw:
	free(raw);
	return -1;
}

void b4_crypto_secret_free(void *p, size_t len)
{
	if (p == NULL)
		return;
	OPENSSL_cleanse(p, len);
	free(p);
}

/* ---- blind index ---------------------------------------------------------- */

int b4_crypto_blind_index(const void *key, size_t key_len, const char *normalized_value,
			  char out_hex[65])
{
	unsigned char mac[32];
	int rc;

	if (key == NULL || key_len < 32 || normalized_value == NULL || out_hex == NULL)
		return -1;
	rc = b4_crypto_hmac_sha256(key, key_len, normalized_value, strlen(normalized_value), mac);
	if (rc == 0)
		rc = b4_crypto_hex_encode(mac, sizeof(mac), out_hex, 65);
	OPENSSL_cleanse(mac, sizeof(mac));
	return rc;
}

/* ---- binary envelopes (objects at rest) ------------------------------------ */

#define SEAL_MAGIC     "B4S1"
#define SEAL_MAGIC_LEN 4

bool b4_crypto_is_sealed(const void *data, size_t len)
{
	return len >= SEAL_MAGIC_LEN + 1 && memcmp(data, SEAL_MAGIC, SEAL_MAGIC_LEN) == 0;
}

int b4_crypto_seal(const struct b4_keyring *ring, const void *plaintext, size_t len,
		   const char *aad, unsigned char **out, size_t *out_len)
{
	const struct b4_crypto_key *k;
	size_t id_len, head_len, total;
	unsigned char *buf;

	*out = NULL;
	*out_len = 0;
	if (ring == NULL || ring->count == 0 || (plaintext == NULL && len > 0))
		return -1;
	k = &ring->keys[ring->active];
	id_len = strlen(k->id);
	head_len = SEAL_MAGIC_LEN + 1 + id_len;
	if (len > SIZE_MAX - head_len - GCM_NONCE_LEN - GCM_TAG_LEN)
		return -1;
	total = head_len + GCM_NONCE_LEN + len + GCM_TAG_LEN;
	buf = malloc(total);
	if (buf == NULL)
		return -1;
	memcpy(buf, SEAL_MAGIC, SEAL_MAGIC_LEN);
	buf[SEAL_MAGIC_LEN] = (unsigned char)id_len;
	memcpy(buf + SEAL_MAGIC_LEN + 1, k->id, id_len);
	if (b4_crypto_random(buf + head_len, GCM_NONCE_LEN) != 0 ||
	    gcm_run(true, k->key, buf + head_len, (const char *)buf, head_len, aad, plaintext, len,
		    buf + head_len + GCM_NONCE_LEN, buf + head_len + GCM_NONCE_LEN + len) != 0) {
		free(buf);
		return -1;
	}
	*out = buf;
	*out_len = total;
	return 0;
}

int b4_crypto_open(const struct b4_keyring *ring, const void *sealed, size_t len, const char *aad,
		   char **plain, size_t *plain_len)
{
	const unsigned char *in = sealed;
	const struct b4_crypto_key *k;
	size_t id_len, head_len, ct_len;
	char *out;

	*plain = NULL;
	*plain_len = 0;
	if (ring == NULL || !b4_crypto_is_sealed(sealed, len))
		return -1;
	id_len = in[SEAL_MAGIC_LEN];
	head_len = SEAL_MAGIC_LEN + 1 + id_len;
	if (len < head_len + GCM_NONCE_LEN + GCM_TAG_LEN ||
	    !key_id_is_valid((const char *)in + SEAL_MAGIC_LEN + 1, id_len))
		return -1;
	k = keyring_find(ring, (const char *)in + SEAL_MAGIC_LEN + 1, id_len);
	if (k == NULL)
		return -1;
	ct_len = len - head_len - GCM_NONCE_LEN - GCM_TAG_LEN;
	out = malloc(ct_len + 1);
	if (out == NULL)
		return -1;
	if (gcm_run(false, k->key, in + head_len, (const char *)in, head_len, aad,
		    in + head_len + GCM_NONCE_LEN, ct_len, (unsigned char *)out,
		    (unsigned char *)in + head_len + GCM_NONCE_LEN + ct_len) != 0) {
		b4_crypto_secret_free(out, ct_len + 1);
		return -1;
	}
	out[ct_len] = '\0';
	*plain = out;
	*plain_len = ct_len;
	return 0;
}
