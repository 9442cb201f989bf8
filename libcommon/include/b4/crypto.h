/*
 * b4/crypto.h: random ids, encodings, hashes and MACs, webhook signatures,
 * AES-256-GCM field encryption with key rotation, and blind indexes.
 *
 * Everything here is thread-safe and allocation-free unless a function says
 * it allocates.  Nothing here logs; error text written to an `err` buffer
 * never contains key material.
 */
#ifndef B4_CRYPTO_H
#define B4_CRYPTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define B4_CRYPTO_UUID_STRLEN	36 /* without the NUL */
#define B4_CRYPTO_SHA256_LEN	32
#define B4_CRYPTO_AES_KEY_LEN	32
#define B4_CRYPTO_KEY_ID_MAX	16	      /* key id characters, without the NUL */
#define B4_CRYPTO_KEYRING_MAX	16	      /* keys one ring can hold */
#define B4_CRYPTO_FIELD_MAX_LEN (1024 * 1024) /* largest plaintext a field may hold */
/* Longest webhook signature header b4_crypto_webhook_sign writes, with NUL. */
#define B4_CRYPTO_WEBHOOK_HEADER_MAX 96

/* ---- random ------------------------------------------------------------ */

/*
 * Fills buf with len bytes from the OpenSSL CSPRNG.
 * Returns 0, or -1 if the generator failed (buf content is then undefined).
 */
int b4_crypto_random(void *buf, size_t len);

/*
 * Writes a random (version 4) UUID as 36 lowercase characters plus NUL.
 * Returns 0, or -1 if the generator failed.
 */
int b4_crypto_uuid4(char out[37]);

/*
 * Writes a time-ordered (version 7, RFC 9562) UUID as 36 lowercase characters
 * plus NUL: 48 bits of Unix milliseconds, then 74 random bits.  Within one
 * process the values are strictly increasing, also within one millisecond
 * (the random part is advanced by a random step) and if the clock steps back,
 * so string order is creation order.  Prefer it for public primary ids: lists
 * are newest-first and keyset-paginated on the id.
 * Returns 0, or -1 if the generator failed.
 */
int b4_crypto_uuid7(char out[37]);

/*
 * Writes len characters drawn uniformly (rejection sampling, no modulo bias)
 * from alphabet, then a NUL: out must hold len + 1 bytes.  The alphabet is a
 * NUL-terminated string of 2 to 256 bytes; repeated characters are not
 * detected and would weigh those characters more.
 * Returns 0, or -1 on a bad alphabet or generator failure.
 */
int b4_crypto_random_code(char *out, size_t len, const char *alphabet);

/*
 * Writes nbytes random bytes as 2 * nbytes lowercase hex characters plus NUL
 * (out must hold 2 * nbytes + 1).  Use nbytes >= 32 for secrets and access
 * tokens.  Returns 0, or -1 on overflow or generator failure.
 */
int b4_crypto_token_hex(char *out, size_t nbytes);

/* ---- encodings ----------------------------------------------------------- */

/*
 * Writes len bytes as lowercase hex plus NUL; cap must be >= 2 * len + 1.
 * Returns 0, or -1 if out is too small.
 */
int b4_crypto_hex_encode(const void *in, size_t len, char *out, size_t cap);

/* Value of one hex digit (0-9, a-f, A-F), or -1. */
int b4_crypto_hex_value(int c);

/*
 * Decodes hex_len hex characters (either case) into out (cap bytes) and
 * stores the byte count in *out_len.  Returns 0, or -1 on an odd length, a
 * non-hex character or a too-small out.
 */
int b4_crypto_hex_decode(const char *hex, size_t hex_len, void *out, size_t cap, size_t *out_len);

/* Characters b4_crypto_base64url_encode writes for len bytes, without the NUL. */
size_t b4_crypto_base64url_encoded_len(size_t len);

/*
 * Writes len bytes as base64url (RFC 4648 section 5) without '=' padding,
 * plus NUL; cap must be >= b4_crypto_base64url_encoded_len(len) + 1.
 * Returns 0, or -1 if out is too small.
 */
int b4_crypto_base64url_encode(const void *in, size_t len, char *out, size_t cap);

/*
 * Decodes in_len characters of unpadded base64url into out (cap bytes; the
 * result never exceeds in_len * 3 / 4) and stores the byte count in *out_len.
 * Strict: rejects '=', '+', '/', whitespace, a length of 4k+1 and
 * non-canonical trailing bits, so one byte string has exactly one encoding.
 * Returns 0 or -1.
 */
int b4_crypto_base64url_decode(const char *in, size_t in_len, void *out, size_t cap,
			       size_t *out_len);

/* ---- compare, hash, MAC -------------------------------------------------- */

/* Does a equal b over len bytes?  Time depends only on len (CRYPTO_memcmp). */
bool b4_crypto_equal(const void *a, const void *b, size_t len);

/* SHA-256 of data.  Returns 0 or -1. */
int b4_crypto_sha256(const void *data, size_t len, unsigned char out[32]);

/* HMAC-SHA256(key, data).  Returns 0 or -1. */
int b4_crypto_hmac_sha256(const void *key, size_t key_len, const void *data, size_t len,
			  unsigned char out[32]);

/* ---- webhook signatures -------------------------------------------------- */

/*
 * Writes the B4-Signature header value for one delivery:
 *   t=<unix_time>,v1=<hex HMAC-SHA256(secret, "<unix_time>." + body)>
 * secret is the endpoint's NUL-terminated secret string (its bytes are the
 * HMAC key).  cap >= B4_CRYPTO_WEBHOOK_HEADER_MAX always suffices.
 * Returns 0, or -1 on a negative time, a NULL/empty secret or a small buffer.
 */
int b4_crypto_webhook_sign(const char *secret, int64_t unix_time, const void *body, size_t body_len,
			   char *header_out, size_t cap);

/*
 * Is header a valid signature of body under secret, made within
 * tolerance_seconds of now (either direction)?  The header is a comma list of
 * key=value items: exactly one t=<decimal>, one or more v1=<64 hex> (any one
 * may match, so a sender can sign with an old and a new secret during
 * rotation); other keys are ignored.  Signatures are compared in constant
 * time.
 */
bool b4_crypto_webhook_verify(const char *secret, const char *header, const void *body,
			      size_t body_len, int64_t now, int64_t tolerance_seconds);

/* ---- field encryption ---------------------------------------------------- */

struct b4_crypto_key {
	char id[B4_CRYPTO_KEY_ID_MAX + 1];
	unsigned char key[B4_CRYPTO_AES_KEY_LEN];
};

/*
 * A set of AES-256 keys by id, one of them active for new encryptions.  The
 * caller owns the storage; fill it with b4_crypto_keyring_init and wipe it
 * with b4_crypto_keyring_cleanup.  Read-only after init, so many threads may
 * share one ring.
 */
struct b4_keyring {
	struct b4_crypto_key keys[B4_CRYPTO_KEYRING_MAX];
	size_t count;
	size_t active;
};

/*
 * Loads ring from config, a comma-separated list of <id>:<key> items, e.g.
 *   "k1:<64 hex chars>,k2:<base64 of 32 bytes>"
 * An id is 1 to 16 characters of [A-Za-z0-9_-]; ids are unique.  A key is 32
 * bytes written as 64 hex characters or as base64 (standard or url alphabet,
 * padding optional).  Spaces around items are allowed.  active_id names the
 * key new encryptions use; NULL means the last one listed (so rotation is
 * "append a key").  On failure ring is wiped, -1 is returned and a one-line
 * reason (never key material) is written to err if err is not NULL.
 */
int b4_crypto_keyring_init(struct b4_keyring *ring, const char *config, const char *active_id,
			   char *err, size_t err_cap);

/* Makes key id the active one.  Returns 0, or -1 if the ring has no such id. */
int b4_crypto_keyring_set_active(struct b4_keyring *ring, const char *id);

/* Wipes every key in ring.  Accepts NULL. */
void b4_crypto_keyring_cleanup(struct b4_keyring *ring);

/*
 * Encrypts len bytes (at most B4_CRYPTO_FIELD_MAX_LEN) with the ring's active
 * key under AES-256-GCM and a fresh random 96-bit nonce, producing the text
 *   v1.<key id>.<base64url(nonce[12] | ciphertext | tag[16])>
 * whose length is 4 + strlen(id) + ceil((len + 28) * 4 / 3): a CPF (11
 * digits) with a 2-character id takes 58 characters.  aad (may be NULL:
 * none) is authenticated but not stored; pass the same value to decrypt,
 * e.g. "buyers.document" to bind the value to its column.  The "v1.<id>."
 * prefix is authenticated too.  Random nonces: keep each key under 2^32
 * encryptions (rotate long before).
 * On success *out_text is a NUL-terminated string from malloc that the caller
 * frees with free() (it holds no plaintext).  Returns 0, or -1 with
 * *out_text = NULL.
 */
int b4_crypto_encrypt_field(const struct b4_keyring *ring, const void *plaintext, size_t len,
			    const char *aad, char **out_text);

/*
 * Decrypts a text made by b4_crypto_encrypt_field with whichever key of ring
 * its id names (so rows written before a rotation still decrypt) and the
 * same aad.  On success *plain is a malloc'd buffer of *len bytes followed
 * by a NUL (handy for strings); the caller releases it with
 * b4_crypto_secret_free(*plain, *len), which wipes it first.  Returns -1 with
 * *plain = NULL and *len = 0 on any malformed input, unknown key id, wrong
 * aad or tampering; it does not say which.
 */
int b4_crypto_decrypt_field(const struct b4_keyring *ring, const char *text, const char *aad,
			    char **plain, size_t *len);

/*
 * Binary envelopes for whole objects (files at rest):
 *   "B4S1" | id length (1 byte) | key id | nonce[12] | ciphertext | tag[16]
 * AES-256-GCM with the ring's active key and a fresh random nonce; the
 * header and aad (e.g. the object's storage key, so a file moved under
 * another name does not open) are authenticated.  seal: *out (malloc'd,
 * free()) and *out_len; 0 or -1.  open: *plain (malloc'd, NUL-terminated,
 * free() it) and *plain_len; -1 on anything malformed, an unknown key id,
 * a wrong aad or tampering.  is_sealed only looks at the magic.
 */
int b4_crypto_seal(const struct b4_keyring *ring, const void *plaintext, size_t len,
		   const char *aad, unsigned char **out, size_t *out_len);
int b4_crypto_open(const struct b4_keyring *ring, const void *sealed, size_t len, const char *aad,
		   char **plain, size_t *plain_len);
bool b4_crypto_is_sealed(const void *data, size_t len);

/* Wipes len bytes at p, then frees p.  Accepts NULL. */
void b4_crypto_secret_free(void *p, size_t len);

/* ---- blind index ---------------------------------------------------------- */

/*
 * Writes hex(HMAC-SHA256(key, normalized_value)) plus NUL into out_hex: a
 * deterministic lookup value for an encrypted column (CPF/CNPJ digits only,
 * email lowercased and trimmed: the caller normalizes).  Use a key of its
 * own, never a field-encryption key; key_len must be >= 32.
 * Returns 0 or -1.
 */
int b4_crypto_blind_index(const void *key, size_t key_len, const char *normalized_value,
			  char out_hex[65]);

#endif
