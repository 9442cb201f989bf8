/*
 * Unit tests for libcommon/src/crypto.c.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "b4/crypto.h"

/* 32 bytes 00..1f in the three spellings the keyring accepts. */
#define KEY_A_HEX	   "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
#define KEY_A_B64	   "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
#define KEY_A_B64URL_NOPAD "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8"
/* 32 bytes c8..e7: its base64 has '_' and '-', so only the url alphabet spells it. */
#define KEY_B_B64URL "yMnKy8zNzs_Q0dLT1NXW19jZ2tvc3d7f4OHi4-Tl5uc="

static void hex_of(const unsigned char *b, size_t len, char *out)
{
	assert_int_equal(b4_crypto_hex_encode(b, len, out, 2 * len + 1), 0);
}

static bool is_lower_hex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

/* ---- random ------------------------------------------------------------ */

static void test_random_fills_and_differs(void **state)
{
	unsigned char a[32] = {0}, b[32] = {0}, zero[32] = {0};

	(void)state;
	assert_int_equal(b4_crypto_random(a, sizeof(a)), 0);
	assert_int_equal(b4_crypto_random(b, sizeof(b)), 0);
	assert_memory_not_equal(a, zero, sizeof(a));
	assert_memory_not_equal(a, b, sizeof(a));
	assert_int_equal(b4_crypto_random(a, 0), 0);
}

static void assert_uuid_shape(const char *u, char version)
{
	assert_int_equal(strlen(u), 36);
	for (size_t i = 0; i < 36; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23)
			assert_int_equal(u[i], '-');
		else
			assert_true(is_lower_hex(u[i]));
	}
	assert_int_equal(u[14], version);
	assert_non_null(strchr("89ab", u[19]));
}

static void test_uuid4_format(void **state)
{
	char a[37], b[37];

	(void)state;
	for (int i = 0; i < 1000; i++) {
		assert_int_equal(b4_crypto_uuid4(a), 0);
		assert_uuid_shape(a, '4');
	}
	assert_int_equal(b4_crypto_uuid4(b), 0);
	assert_string_not_equal(a, b);
}

static void test_uuid7_format_and_time(void **state)
{
	char u[37], ms_hex[13];
	unsigned long long ms;
	struct timespec ts;
	long long now_ms;

	(void)state;
	clock_gettime(CLOCK_REALTIME, &ts);
	now_ms = (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
	assert_int_equal(b4_crypto_uuid7(u), 0);
	assert_uuid_shape(u, '7');
	/* The first 48 bits are Unix milliseconds. */
	memcpy(ms_hex, u, 8);
	memcpy(ms_hex + 8, u + 9, 4);
	ms_hex[12] = '\0';
	ms = strtoull(ms_hex, NULL, 16);
	assert_true((long long)ms >= now_ms - 5000 && (long long)ms <= now_ms + 5000);
}

static void test_uuid7_strictly_increasing(void **state)
{
	enum { N = 20000 };
	char prev[37], cur[37];

	(void)state;
	assert_int_equal(b4_crypto_uuid7(prev), 0);
	/* Many per millisecond: order must hold within one millisecond too. */
	for (int i = 0; i < N; i++) {
		assert_int_equal(b4_crypto_uuid7(cur), 0);
		assert_uuid_shape(cur, '7');
		assert_true(strcmp(prev, cur) < 0);
		memcpy(prev, cur, sizeof(cur));
	}
}

enum { UUID7_THREADS = 4, UUID7_PER_THREAD = 2000 };
static char uuid7_seen[UUID7_THREADS * UUID7_PER_THREAD][37];

static void *uuid7_worker(void *arg)
{
	size_t base = (size_t)(uintptr_t)arg * UUID7_PER_THREAD;

	for (size_t i = 0; i < UUID7_PER_THREAD; i++) {
		if (b4_crypto_uuid7(uuid7_seen[base + i]) != 0)
			return (void *)1;
		if (i > 0 && strcmp(uuid7_seen[base + i - 1], uuid7_seen[base + i]) >= 0)
			return (void *)1;
	}
	return NULL;
}

static int cmp_str37(const void *a, const void *b)
{
	return strcmp(a, b);
}

static void test_uuid7_unique_across_threads(void **state)
{
	pthread_t t[UUID7_THREADS];
	void *ret;

	(void)state;
	for (uintptr_t i = 0; i < UUID7_THREADS; i++)
		assert_int_equal(pthread_create(&t[i], NULL, uuid7_worker, (void *)i), 0);
	for (size_t i = 0; i < UUID7_THREADS; i++) {
		assert_int_equal(pthread_join(t[i], &ret), 0);
		assert_null(ret);
	}
	qsort(uuid7_seen, UUID7_THREADS * UUID7_PER_THREAD, 37, cmp_str37);
	for (size_t i = 1; i < UUID7_THREADS * UUID7_PER_THREAD; i++)
		assert_true(strcmp(uuid7_seen[i - 1], uuid7_seen[i]) < 0);
}

static void test_random_code_alphabet_and_length(void **state)
{
	const char *alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
	char code[11], other[11];

	(void)state;
	for (int i = 0; i < 1000; i++) {
		memset(code, 'x', sizeof(code));
		assert_int_equal(b4_crypto_random_code(code, 10, alphabet), 0);
		assert_int_equal(strlen(code), 10);
		for (size_t j = 0; j < 10; j++)
			assert_non_null(strchr(alphabet, code[j]));
	}
	assert_int_equal(b4_crypto_random_code(other, 10, alphabet), 0);
	assert_string_not_equal(code, other);

	assert_int_equal(b4_crypto_random_code(code, 0, alphabet), 0);
	assert_string_equal(code, "");
	assert_int_equal(b4_crypto_random_code(code, 10, "01"), 0);
	for (size_t j = 0; j < 10; j++)
		assert_true(code[j] == '0' || code[j] == '1');
}

static void test_random_code_bad_alphabet(void **state)
{
	char code[11];
	char big[258];

	(void)state;
	assert_int_equal(b4_crypto_random_code(code, 10, ""), -1);
	assert_int_equal(b4_crypto_random_code(code, 10, "a"), -1);
	assert_int_equal(b4_crypto_random_code(code, 10, NULL), -1);
	memset(big, 'a', 257);
	big[257] = '\0';
	assert_int_equal(b4_crypto_random_code(code, 10, big), -1);
}

/*
 * With 200 symbols, "byte % 200" would make the first 56 symbols twice as
 * likely as the rest.  Rejection sampling keeps them level.
 */
static void test_random_code_unbiased(void **state)
{
	enum { N = 400000 };
	char alphabet[201];
	static unsigned counts[256];
	char *buf = malloc(N + 1);
	double low = 0, high = 0;

	(void)state;
	assert_non_null(buf);
	for (int i = 0; i < 200; i++)
		alphabet[i] = (char)(i + 1); /* bytes 1..200 */
	alphabet[200] = '\0';
	assert_int_equal(b4_crypto_random_code(buf, N, alphabet), 0);
	memset(counts, 0, sizeof(counts));
	for (int i = 0; i < N; i++)
		counts[(unsigned char)buf[i]]++;
	for (int i = 1; i <= 56; i++)
		low += counts[i];
	for (int i = 57; i <= 200; i++)
		high += counts[i];
	low /= 56;
	high /= 144;
	/* Expected 2000 each; bias would give ~2778 vs ~1389. */
	assert_true(low / high > 0.95 && low / high < 1.05);
	free(buf);
}

static void test_token_hex(void **state)
{
	char a[65], b[65], big[2 * 100 + 1];

	(void)state;
	assert_int_equal(b4_crypto_token_hex(a, 32), 0);
	assert_int_equal(b4_crypto_token_hex(b, 32), 0);
	assert_int_equal(strlen(a), 64);
	for (size_t i = 0; i < 64; i++)
		assert_true(is_lower_hex(a[i]));
	assert_string_not_equal(a, b);
	/* Longer than the internal chunk. */
	assert_int_equal(b4_crypto_token_hex(big, 100), 0);
	assert_int_equal(strlen(big), 200);
	for (size_t i = 0; i < 200; i++)
		assert_true(is_lower_hex(big[i]));
}

/* ---- encodings ----------------------------------------------------------- */

static void test_hex_encode_decode(void **state)
{
	const unsigned char bytes[] = {0x00, 0x01, 0x7f, 0x80, 0xab, 0xff};
	unsigned char back[8];
	char hex[13];
	size_t got;

	(void)state;
	assert_int_equal(b4_crypto_hex_encode(bytes, sizeof(bytes), hex, sizeof(hex)), 0);
	assert_string_equal(hex, "00017f80abff");
	assert_int_equal(b4_crypto_hex_encode(bytes, sizeof(bytes), hex, 12), -1);
	assert_int_equal(b4_crypto_hex_decode("00017F80ABff", 12, back, sizeof(back), &got), 0);
	assert_int_equal(got, 6);
	assert_memory_equal(back, bytes, 6);
	assert_int_equal(b4_crypto_hex_decode("abc", 3, back, sizeof(back), &got), -1);
	assert_int_equal(b4_crypto_hex_decode("zz", 2, back, sizeof(back), &got), -1);
	assert_int_equal(b4_crypto_hex_decode("0g", 2, back, sizeof(back), &got), -1);
	assert_int_equal(b4_crypto_hex_decode("00112233", 8, back, 3, &got), -1);
	assert_int_equal(b4_crypto_hex_decode("", 0, back, sizeof(back), &got), 0);
	assert_int_equal(got, 0);
}

/* RFC 4648 section 10 vectors, written unpadded as base64url is here. */
static const struct {
	const char *plain;
	const char *encoded;
} rfc4648[] = {
    {"", ""},		{"f", "Zg"},	      {"fo", "Zm8"},	      {"foo", "Zm9v"},
    {"foob", "Zm9vYg"}, {"fooba", "Zm9vYmE"}, {"foobar", "Zm9vYmFy"},
};

static void test_base64url_rfc4648_vectors(void **state)
{
	char enc[16];
	unsigned char dec[16];
	size_t got;

	(void)state;
	for (size_t i = 0; i < sizeof(rfc4648) / sizeof(rfc4648[0]); i++) {
		size_t plen = strlen(rfc4648[i].plain);

		assert_int_equal(b4_crypto_base64url_encoded_len(plen), strlen(rfc4648[i].encoded));
		assert_int_equal(
		    b4_crypto_base64url_encode(rfc4648[i].plain, plen, enc, sizeof(enc)), 0);
		assert_string_equal(enc, rfc4648[i].encoded);
		assert_int_equal(b4_crypto_base64url_decode(rfc4648[i].encoded,
							    strlen(rfc4648[i].encoded), dec,
							    sizeof(dec), &got),
				 0);
		assert_int_equal(got, plen);
		assert_memory_equal(dec, rfc4648[i].plain, plen);
	}
}

static void test_base64url_url_alphabet(void **state)
{
	const unsigned char a[] = {0xfb, 0xff};	      /* std "+/8=" */
	const unsigned char b[] = {0xff, 0xff, 0xfe}; /* std "///+" */
	char enc[8];
	unsigned char dec[8];
	size_t got;

	(void)state;
	assert_int_equal(b4_crypto_base64url_encode(a, sizeof(a), enc, sizeof(enc)), 0);
	assert_string_equal(enc, "-_8");
	assert_int_equal(b4_crypto_base64url_encode(b, sizeof(b), enc, sizeof(enc)), 0);
	assert_string_equal(enc, "___-");
	assert_int_equal(b4_crypto_base64url_decode("-_8", 3, dec, sizeof(dec), &got), 0);
	assert_int_equal(got, 2);
	assert_memory_equal(dec, a, 2);
}

static void test_base64url_rejects(void **state)
{
	unsigned char dec[16];
	size_t got;

	(void)state;
	const char *bad[] = {
	    "Zg==",   "Zm8=",  /* padding */
	    "Z",      "Zm9vY", /* 4k+1 characters */
	    "+/8",	       /* standard alphabet */
	    "Zm 9v",	       /* whitespace */
	    "Zh",	       /* non-canonical: low bits of the last character set */
	    "Zm9",	       /* non-canonical */
	    "Zm9v\n", "Zm9v.", "é",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(
		    b4_crypto_base64url_decode(bad[i], strlen(bad[i]), dec, sizeof(dec), &got), -1);
	/* Too small an output buffer. */
	assert_int_equal(b4_crypto_base64url_decode("Zm9vYmFy", 8, dec, 5, &got), -1);
	assert_int_equal(b4_crypto_base64url_encode("foobar", 6, (char *)dec, 8), -1);
}

/* ---- compare, hash, MAC -------------------------------------------------- */

static void test_equal(void **state)
{
	(void)state;
	assert_true(b4_crypto_equal("abcdef", "abcdef", 6));
	assert_false(b4_crypto_equal("abcdef", "abcdeg", 6));
	assert_false(b4_crypto_equal("xbcdef", "abcdef", 6));
	assert_true(b4_crypto_equal("a", "b", 0));
}

static void test_sha256_vectors(void **state)
{
	unsigned char d[32];
	char hex[65];

	(void)state;
	assert_int_equal(b4_crypto_sha256("abc", 3, d), 0);
	hex_of(d, 32, hex);
	assert_string_equal(hex,
			    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	assert_int_equal(b4_crypto_sha256("", 0, d), 0);
	hex_of(d, 32, hex);
	assert_string_equal(hex,
			    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

static void test_hmac_sha256_rfc4231(void **state)
{
	unsigned char key_0b[20], key_aa20[20], key_0c[20], key_aa131[131], key_seq[25];
	unsigned char data_dd[50], data_cd[50];
	unsigned char mac[32];
	char hex[65];

	(void)state;
	memset(key_0b, 0x0b, sizeof(key_0b));
	memset(key_aa20, 0xaa, sizeof(key_aa20));
	memset(key_0c, 0x0c, sizeof(key_0c));
	memset(key_aa131, 0xaa, sizeof(key_aa131));
	for (size_t i = 0; i < sizeof(key_seq); i++)
		key_seq[i] = (unsigned char)(i + 1);
	memset(data_dd, 0xdd, sizeof(data_dd));
	memset(data_cd, 0xcd, sizeof(data_cd));

	const struct {
		const void *key;
		size_t key_len;
		const void *data;
		size_t data_len;
		const char *expect;
	} cases[] = {
	    {key_0b, 20, "Hi There", 8,
	     "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"},
	    {"Jefe", 4, "what do ya want for nothing?", 28,
	     "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"},
	    {key_aa20, 20, data_dd, 50,
	     "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe"},
	    {key_seq, 25, data_cd, 50,
	     "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b"},
	    /* Test case 5 is truncated to 128 bits in the RFC. */
	    {key_0c, 20, "Test With Truncation", 20, "a3b6167473100ee06e0c796c2955552b"},
	    {key_aa131, 131, "Test Using Larger Than Block-Size Key - Hash Key First", 54,
	     "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"},
	    {key_aa131, 131,
	     "This is a test using a larger than block-size key and a larger than block-size "
	     "data. The key needs to be hashed before being used by the HMAC algorithm.",
	     152, "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(b4_crypto_hmac_sha256(cases[i].key, cases[i].key_len,
						       cases[i].data, cases[i].data_len, mac),
				 0);
		hex_of(mac, 32, hex);
		assert_memory_equal(hex, cases[i].expect, strlen(cases[i].expect));
	}
}

/* ---- webhook signatures -------------------------------------------------- */

static const char wh_secret[] = "whsec_test_secret";
static const char wh_body[] = "{\"id\":\"evt_1\",\"event\":\"approved-payment\"}";

static void test_webhook_sign_known_vector(void **state)
{
	char header[B4_CRYPTO_WEBHOOK_HEADER_MAX];

	(void)state;
	assert_int_equal(b4_crypto_webhook_sign(wh_secret, 1700000000, wh_body, strlen(wh_body),
						header, sizeof(header)),
			 0);
	/* Computed independently: HMAC-SHA256(secret, "1700000000." + body). */
	assert_string_equal(
	    header,
	    "t=1700000000,v1=a27927f666ca26179250c3b1bee1ce397473bcfaac2b1c3764c11d42b5fcece4");
}

static void test_webhook_round_trip(void **state)
{
	char header[B4_CRYPTO_WEBHOOK_HEADER_MAX];
	int64_t t = 1700000000;

	(void)state;
	assert_int_equal(
	    b4_crypto_webhook_sign(wh_secret, t, wh_body, strlen(wh_body), header, sizeof(header)),
	    0);
	assert_true(b4_crypto_webhook_verify(wh_secret, header, wh_body, strlen(wh_body), t, 300));
	assert_true(
	    b4_crypto_webhook_verify(wh_secret, header, wh_body, strlen(wh_body), t + 300, 300));
	assert_true(
	    b4_crypto_webhook_verify(wh_secret, header, wh_body, strlen(wh_body), t - 300, 300));
	/* Empty body signs too. */
	assert_int_equal(b4_crypto_webhook_sign(wh_secret, t, "", 0, header, sizeof(header)), 0);
	assert_true(b4_crypto_webhook_verify(wh_secret, header, "", 0, t, 300));
	assert_true(b4_crypto_webhook_verify(wh_secret, header, NULL, 0, t, 300));
}

static void test_webhook_tampered_body(void **state)
{
	char header[B4_CRYPTO_WEBHOOK_HEADER_MAX];
	char body[sizeof(wh_body)];
	int64_t t = 1700000000;

	(void)state;
	assert_int_equal(
	    b4_crypto_webhook_sign(wh_secret, t, wh_body, strlen(wh_body), header, sizeof(header)),
	    0);
	memcpy(body, wh_body, sizeof(body));
	body[10] ^= 1;
	assert_false(b4_crypto_webhook_verify(wh_secret, header, body, strlen(body), t, 300));
	/* One byte shorter, one byte longer. */
	assert_false(
	    b4_crypto_webhook_verify(wh_secret, header, wh_body, strlen(wh_body) - 1, t, 300));
	assert_false(
	    b4_crypto_webhook_verify(wh_secret, header, wh_body, strlen(wh_body) + 1, t, 300));
}

static void test_webhook_wrong_secret(void **state)
{
	char header[B4_CRYPTO_WEBHOOK_HEADER_MAX];
	int64_t t = 1700000000;

	(void)state;
	assert_int_equal(
	    b4_crypto_webhook_sign(wh_secret, t, wh_body, strlen(wh_body), header, sizeof(header)),
	    0);
	assert_false(
	    b4_crypto_webhook_verify("whsec_other", header, wh_body, strlen(wh_body), t, 300));
	assert_false(b4_crypto_webhook_verify("", header, wh_body, strlen(wh_body), t, 300));
	assert_false(b4_crypto_webhook_verify(NULL, header, wh_body, strlen(wh_body), t, 300));
}

static void test_webhook_stale_and_future(void **state)
{
	char header[B4_CRYPTO_WEBHOOK_HEADER_MAX];
	int64_t t = 1700000000;

	(void)state;
	assert_int_equal(
	    b4_crypto_webhook_sign(wh_secret, t, wh_body, strlen(wh_body), header, sizeof(header)),
	    0);
	assert_false(
	    b4_crypto_webhook_verify(wh_secret, header, wh_body, strlen(wh_body), t + 301, 300));
	assert_false(
	    b4_crypto_webhook_verify(wh_secret, header, wh_body, strlen(wh_body), t + 86400, 300));
	assert_false(
	    b4_crypto_webhook_verify(wh_secret, header, wh_body, strlen(wh_body), t - 301, 300));
	assert_false(b4_crypto_webhook_verify(wh_secret, header, wh_body, strlen(wh_body), t, -1));
	assert_false(
	    b4_crypto_webhook_verify(wh_secret, header, wh_body, strlen(wh_body), -1, 300));
	/* Changing t in the header breaks the signature even within tolerance. */
	char moved[B4_CRYPTO_WEBHOOK_HEADER_MAX];

	memcpy(moved, header, sizeof(moved));
	moved[11] = moved[11] == '9' ? '8' : (char)(moved[11] + 1);
	assert_false(
	    b4_crypto_webhook_verify(wh_secret, moved, wh_body, strlen(wh_body), t, 86400));
}

static void test_webhook_header_forms(void **state)
{
	char header[B4_CRYPTO_WEBHOOK_HEADER_MAX], buf[512];
	const char *sig;
	int64_t t = 1700000000;
	const char *zeros = "0000000000000000000000000000000000000000000000000000000000000000";

	(void)state;
	assert_int_equal(
	    b4_crypto_webhook_sign(wh_secret, t, wh_body, strlen(wh_body), header, sizeof(header)),
	    0);
	sig = strstr(header, "v1=") + 3;

	/* Order does not matter; unknown schemes are ignored; several v1 may be sent. */
	snprintf(buf, sizeof(buf), "v1=%s,t=%lld", sig, (long long)t);
	assert_true(b4_crypto_webhook_verify(wh_secret, buf, wh_body, strlen(wh_body), t, 300));
	snprintf(buf, sizeof(buf), "t=%lld,v0=abc,v1=%s,v1=%s", (long long)t, zeros, sig);
	assert_true(b4_crypto_webhook_verify(wh_secret, buf, wh_body, strlen(wh_body), t, 300));
	snprintf(buf, sizeof(buf), "t=%lld,v1=%s,v1=%s", (long long)t, sig, zeros);
	assert_true(b4_crypto_webhook_verify(wh_secret, buf, wh_body, strlen(wh_body), t, 300));
	snprintf(buf, sizeof(buf), "t=%lld,v1=%s,v1=%s", (long long)t, zeros, zeros);
	assert_false(b4_crypto_webhook_verify(wh_secret, buf, wh_body, strlen(wh_body), t, 300));

	const char *bad[] = {
	    "",
	    "t=1700000000",
	    "v1=a27927f666ca26179250c3b1bee1ce397473bcfaac2b1c3764c11d42b5fcece4",
	    ("t=1700000000,t=1700000000,v1="
	     "a27927f666ca26179250c3b1bee1ce397473bcfaac2b1c3764c11d42b5fcece4"),
	    "t=-1700000000,v1=a27927f666ca26179250c3b1bee1ce397473bcfaac2b1c3764c11d42b5fcece4",
	    "t=17x0000000,v1=a27927f666ca26179250c3b1bee1ce397473bcfaac2b1c3764c11d42b5fcece4",
	    "t=,v1=a27927f666ca26179250c3b1bee1ce397473bcfaac2b1c3764c11d42b5fcece4",
	    "t=1700000000,v1=a27927f666ca26179250c3b1bee1ce397473bcfaac2b1c3764c11d42b5fcece",
	    "t=1700000000,v1=a27927f666ca26179250c3b1bee1ce397473bcfaac2b1c3764c11d42b5fcecez",
	    "t=1700000000,v1=",
	    "t=1700000000,,v1=a27927f666ca26179250c3b1bee1ce397473bcfaac2b1c3764c11d42b5fcece4",
	    "garbage",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_false(
		    b4_crypto_webhook_verify(wh_secret, bad[i], wh_body, strlen(wh_body), t, 300));
	assert_false(b4_crypto_webhook_verify(wh_secret, NULL, wh_body, strlen(wh_body), t, 300));
	/* Sanity: the known-good header of the vector above verifies. */
	assert_true(b4_crypto_webhook_verify(
	    wh_secret,
	    "t=1700000000,v1=a27927f666ca26179250c3b1bee1ce397473bcfaac2b1c3764c11d42b5fcece4",
	    wh_body, strlen(wh_body), t, 300));
}

static void test_webhook_sign_errors(void **state)
{
	char header[B4_CRYPTO_WEBHOOK_HEADER_MAX];

	(void)state;
	assert_int_equal(
	    b4_crypto_webhook_sign(wh_secret, 1700000000, wh_body, strlen(wh_body), header, 20),
	    -1);
	assert_string_equal(header, "");
	assert_int_equal(b4_crypto_webhook_sign("", 1700000000, wh_body, strlen(wh_body), header,
						sizeof(header)),
			 -1);
	assert_int_equal(
	    b4_crypto_webhook_sign(wh_secret, -1, wh_body, strlen(wh_body), header, sizeof(header)),
	    -1);
	/* The documented maximum holds for the largest time. */
	assert_int_equal(
	    b4_crypto_webhook_sign(wh_secret, INT64_MAX, "x", 1, header, sizeof(header)), 0);
}

/* ---- keyring ---------------------------------------------------------------- */

static void test_keyring_formats(void **state)
{
	struct b4_keyring ring;
	char err[256] = "";
	unsigned char expect_b[32];

	(void)state;
	for (size_t i = 0; i < 32; i++)
		expect_b[i] = (unsigned char)(200 + i);

	assert_int_equal(b4_crypto_keyring_init(&ring,
						"k1:" KEY_A_HEX ", k2:" KEY_A_B64
						",k3:" KEY_A_B64URL_NOPAD ",k_4-x:" KEY_B_B64URL,
						NULL, err, sizeof(err)),
			 0);
	assert_int_equal(ring.count, 4);
	assert_int_equal(ring.active, 3); /* the last one listed */
	assert_string_equal(ring.keys[0].id, "k1");
	assert_string_equal(ring.keys[1].id, "k2");
	assert_string_equal(ring.keys[3].id, "k_4-x");
	assert_memory_equal(ring.keys[0].key, ring.keys[1].key, 32);
	assert_memory_equal(ring.keys[0].key, ring.keys[2].key, 32);
	assert_int_equal(ring.keys[0].key[31], 0x1f);
	assert_memory_equal(ring.keys[3].key, expect_b, 32);
	b4_crypto_keyring_cleanup(&ring);
	assert_int_equal(ring.count, 0);

	assert_int_equal(
	    b4_crypto_keyring_init(&ring, "a:" KEY_A_HEX ",b:" KEY_A_B64, "a", err, sizeof(err)),
	    0);
	assert_int_equal(ring.active, 0);
	assert_int_equal(b4_crypto_keyring_set_active(&ring, "b"), 0);
	assert_int_equal(ring.active, 1);
	assert_int_equal(b4_crypto_keyring_set_active(&ring, "c"), -1);
	assert_int_equal(ring.active, 1);
	b4_crypto_keyring_cleanup(&ring);
	b4_crypto_keyring_cleanup(NULL);
}

static void test_keyring_errors(void **state)
{
	struct b4_keyring ring;
	char err[256];

	(void)state;
	const struct {
		const char *config;
		const char *active;
		const char *err_has;
	} cases[] = {
	    {"", NULL, "no keys"},
	    {"k1", NULL, "expected"},
	    {"k1:", NULL, "32 bytes"},
	    {":" KEY_A_HEX, NULL, "id must be"},
	    {"k.1:" KEY_A_HEX, NULL, "id must be"},
	    {"k1234567890123456:" KEY_A_HEX, NULL, "id must be"}, /* 17 characters */
	    {"k1:" KEY_A_HEX ",k1:" KEY_A_B64, NULL, "twice"},
	    {"k1:" KEY_A_HEX ",", NULL, "expected"},
	    {"k1:00010203", NULL, "32 bytes"},
	    {"k1:000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1", NULL,
	     "32 bytes"},
	    {"k1:000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f00", NULL,
	     "32 bytes"},
	    {"k1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8AAA", NULL, "32 bytes"},
	    {"k1:" KEY_A_HEX, "k2", "active key id"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		err[0] = '\0';
		assert_int_equal(b4_crypto_keyring_init(&ring, cases[i].config, cases[i].active,
							err, sizeof(err)),
				 -1);
		assert_non_null(strstr(err, cases[i].err_has));
		/* The message never echoes key material. */
		assert_null(strstr(err, "0405060708"));
		assert_null(strstr(err, "AAECAwQF"));
		assert_int_equal(ring.count, 0);
	}
	assert_int_equal(b4_crypto_keyring_init(&ring, NULL, NULL, NULL, 0), -1);

	/* More keys than fit. */
	char many[2048] = "";
	for (int i = 0; i <= B4_CRYPTO_KEYRING_MAX; i++) {
		char item[100];

		snprintf(item, sizeof(item), "%sk%d:%s", i ? "," : "", i, KEY_A_HEX);
		strcat(many, item);
	}
	assert_int_equal(b4_crypto_keyring_init(&ring, many, NULL, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "more than"));
}

/* ---- field encryption ------------------------------------------------------ */

static void load_ring(struct b4_keyring *ring, const char *active)
{
	char err[256];

	assert_int_equal(b4_crypto_keyring_init(ring, "k1:" KEY_A_HEX ",k2:" KEY_B_B64URL, active,
						err, sizeof(err)),
			 0);
}

static void test_field_round_trip(void **state)
{
	struct b4_keyring ring;
	char *text = NULL, *text2 = NULL, *plain = NULL;
	size_t len = 99;
	const char *cpf = "12345678909";

	(void)state;
	load_ring(&ring, "k1");
	assert_int_equal(b4_crypto_encrypt_field(&ring, cpf, strlen(cpf), "buyers.document", &text),
			 0);
	assert_non_null(text);
	assert_memory_equal(text, "v1.k1.", 6);
	/* Documented length: 4 + strlen(id) + ceil((11 + 28) * 4 / 3) = 4 + 2 + 52. */
	assert_int_equal(strlen(text), 58);
	assert_null(strstr(text, cpf));
	for (const char *c = text + 6; *c; c++)
		assert_true(isalnum((unsigned char)*c) || *c == '-' || *c == '_');

	assert_int_equal(b4_crypto_decrypt_field(&ring, text, "buyers.document", &plain, &len), 0);
	assert_int_equal(len, strlen(cpf));
	assert_string_equal(plain, cpf); /* NUL-terminated */
	b4_crypto_secret_free(plain, len);

	/* A fresh nonce each time. */
	assert_int_equal(
	    b4_crypto_encrypt_field(&ring, cpf, strlen(cpf), "buyers.document", &text2), 0);
	assert_string_not_equal(text, text2);
	free(text);
	free(text2);
	b4_crypto_keyring_cleanup(&ring);
}

static void test_field_empty_binary_and_no_aad(void **state)
{
	struct b4_keyring ring;
	char *text = NULL, *plain = NULL;
	size_t len;
	unsigned char bin[300];

	(void)state;
	load_ring(&ring, NULL);
	assert_int_equal(b4_crypto_encrypt_field(&ring, "", 0, NULL, &text), 0);
	assert_memory_equal(text, "v1.k2.", 6);
	assert_int_equal(b4_crypto_decrypt_field(&ring, text, NULL, &plain, &len), 0);
	assert_int_equal(len, 0);
	assert_string_equal(plain, "");
	b4_crypto_secret_free(plain, len);
	/* NULL and "" both mean no aad. */
	assert_int_equal(b4_crypto_decrypt_field(&ring, text, "", &plain, &len), 0);
	b4_crypto_secret_free(plain, len);
	free(text);

	for (size_t i = 0; i < sizeof(bin); i++)
		bin[i] = (unsigned char)i;
	assert_int_equal(b4_crypto_encrypt_field(&ring, bin, sizeof(bin), NULL, &text), 0);
	assert_int_equal(b4_crypto_decrypt_field(&ring, text, NULL, &plain, &len), 0);
	assert_int_equal(len, sizeof(bin));
	assert_memory_equal(plain, bin, sizeof(bin));
	b4_crypto_secret_free(plain, len);
	free(text);
	b4_crypto_keyring_cleanup(&ring);
}

static void test_field_tamper_any_byte(void **state)
{
	struct b4_keyring ring;
	char *text = NULL, *plain = (char *)1;
	size_t len = 1, text_len;
	const char *value = "ana@example.com";

	(void)state;
	load_ring(&ring, "k1");
	assert_int_equal(b4_crypto_encrypt_field(&ring, value, strlen(value), "users.email", &text),
			 0);
	text_len = strlen(text);
	/* Change every character of the payload to another valid base64url character. */
	for (size_t i = 6; i < text_len; i++) {
		char saved = text[i];

		text[i] = saved == 'A' ? 'B' : 'A';
		assert_int_equal(b4_crypto_decrypt_field(&ring, text, "users.email", &plain, &len),
				 -1);
		assert_null(plain);
		assert_int_equal(len, 0);
		text[i] = saved;
	}
	/* Flip a bit in the decoded ciphertext and re-encode, so base64 stays canonical. */
	unsigned char raw[128];
	size_t raw_len;
	char reenc[256];

	assert_int_equal(
	    b4_crypto_base64url_decode(text + 6, text_len - 6, raw, sizeof(raw), &raw_len), 0);
	for (size_t i = 0; i < raw_len; i++) {
		raw[i] ^= 0x01;
		memcpy(reenc, "v1.k1.", 6);
		assert_int_equal(
		    b4_crypto_base64url_encode(raw, raw_len, reenc + 6, sizeof(reenc) - 6), 0);
		assert_int_equal(b4_crypto_decrypt_field(&ring, reenc, "users.email", &plain, &len),
				 -1);
		raw[i] ^= 0x01;
	}
	/* Truncated (drops tag bytes) and extended. */
	char *cut = strndup(text, text_len - 4);

	assert_int_equal(b4_crypto_decrypt_field(&ring, cut, "users.email", &plain, &len), -1);
	free(cut);
	char longer[256];

	snprintf(longer, sizeof(longer), "%sAAAA", text);
	assert_int_equal(b4_crypto_decrypt_field(&ring, longer, "users.email", &plain, &len), -1);
	/* Untouched, it still decrypts. */
	assert_int_equal(b4_crypto_decrypt_field(&ring, text, "users.email", &plain, &len), 0);
	b4_crypto_secret_free(plain, len);
	free(text);
	b4_crypto_keyring_cleanup(&ring);
}

static void test_field_wrong_aad(void **state)
{
	struct b4_keyring ring;
	char *text = NULL, *plain = NULL;
	size_t len;

	(void)state;
	load_ring(&ring, NULL);
	assert_int_equal(b4_crypto_encrypt_field(&ring, "11999998888", 11, "buyers.phone", &text),
			 0);
	assert_int_equal(b4_crypto_decrypt_field(&ring, text, "buyers.document", &plain, &len), -1);
	assert_int_equal(b4_crypto_decrypt_field(&ring, text, NULL, &plain, &len), -1);
	assert_int_equal(b4_crypto_decrypt_field(&ring, text, "buyers.phon", &plain, &len), -1);
	assert_null(plain);
	free(text);
	b4_crypto_keyring_cleanup(&ring);
}

static void test_field_wrong_key_id(void **state)
{
	struct b4_keyring ring, only_k2;
	char *text = NULL, *plain = NULL, err[128];
	size_t len;

	(void)state;
	load_ring(&ring, "k1");
	assert_int_equal(b4_crypto_encrypt_field(&ring, "secret", 6, NULL, &text), 0);
	/* Relabelled to the other key of the ring. */
	text[4] = '2';
	assert_int_equal(b4_crypto_decrypt_field(&ring, text, NULL, &plain, &len), -1);
	/* An id the ring does not have. */
	text[4] = '9';
	assert_int_equal(b4_crypto_decrypt_field(&ring, text, NULL, &plain, &len), -1);
	text[4] = '1';
	/* A ring without k1 cannot read it. */
	assert_int_equal(
	    b4_crypto_keyring_init(&only_k2, "k2:" KEY_B_B64URL, NULL, err, sizeof(err)), 0);
	assert_int_equal(b4_crypto_decrypt_field(&only_k2, text, NULL, &plain, &len), -1);
	/* A ring with a different key under the same id cannot either. */
	b4_crypto_keyring_cleanup(&only_k2);
	assert_int_equal(
	    b4_crypto_keyring_init(&only_k2, "k1:" KEY_B_B64URL, NULL, err, sizeof(err)), 0);
	assert_int_equal(b4_crypto_decrypt_field(&only_k2, text, NULL, &plain, &len), -1);
	assert_int_equal(b4_crypto_decrypt_field(&ring, text, NULL, &plain, &len), 0);
	b4_crypto_secret_free(plain, len);
	free(text);
	b4_crypto_keyring_cleanup(&only_k2);
	b4_crypto_keyring_cleanup(&ring);

	/* The "v1.<id>." prefix is authenticated: relabelling fails even with equal keys. */
	assert_int_equal(
	    b4_crypto_keyring_init(&ring, "k1:" KEY_A_HEX ",k3:" KEY_A_B64, "k1", err, sizeof(err)),
	    0);
	assert_int_equal(b4_crypto_encrypt_field(&ring, "secret", 6, NULL, &text), 0);
	text[4] = '3';
	assert_int_equal(b4_crypto_decrypt_field(&ring, text, NULL, &plain, &len), -1);
	text[4] = '1';
	assert_int_equal(b4_crypto_decrypt_field(&ring, text, NULL, &plain, &len), 0);
	b4_crypto_secret_free(plain, len);
	free(text);
	b4_crypto_keyring_cleanup(&ring);
}

static void test_field_rotation(void **state)
{
	struct b4_keyring ring;
	char *old_text = NULL, *new_text = NULL, *plain = NULL;
	size_t len;

	(void)state;
	load_ring(&ring, "k1");
	assert_int_equal(b4_crypto_encrypt_field(&ring, "old row", 7, "t.c", &old_text), 0);
	assert_memory_equal(old_text, "v1.k1.", 6);

	assert_int_equal(b4_crypto_keyring_set_active(&ring, "k2"), 0);
	assert_int_equal(b4_crypto_encrypt_field(&ring, "new row", 7, "t.c", &new_text), 0);
	assert_memory_equal(new_text, "v1.k2.", 6);

	assert_int_equal(b4_crypto_decrypt_field(&ring, old_text, "t.c", &plain, &len), 0);
	assert_string_equal(plain, "old row");
	b4_crypto_secret_free(plain, len);
	assert_int_equal(b4_crypto_decrypt_field(&ring, new_text, "t.c", &plain, &len), 0);
	assert_string_equal(plain, "new row");
	b4_crypto_secret_free(plain, len);

	/* The same after a restart with k2 appended last (so active by default). */
	b4_crypto_keyring_cleanup(&ring);
	load_ring(&ring, NULL);
	assert_int_equal(b4_crypto_decrypt_field(&ring, old_text, "t.c", &plain, &len), 0);
	assert_string_equal(plain, "old row");
	b4_crypto_secret_free(plain, len);
	free(old_text);
	free(new_text);
	b4_crypto_keyring_cleanup(&ring);
}

static void test_field_garbage(void **state)
{
	struct b4_keyring ring;
	char *plain = NULL;
	size_t len;

	(void)state;
	load_ring(&ring, "k1");
	const char *bad[] = {
	    "",
	    "v1",
	    "v1.",
	    "v1.k1",
	    "v1.k1.",
	    "v1..AAAA",
	    "v2.k1.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
	    "v1.k1.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
	    "v1.k1.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", /* shorter than nonce + tag */
	    "v1.k1.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==",
	    "v1.k1.AAAA AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
	    "v1.k1.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA+/AA",
	    "v1.k1.x.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
	    "plaintext CPF 123.456.789-09",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(b4_crypto_decrypt_field(&ring, bad[i], NULL, &plain, &len), -1);
		assert_null(plain);
	}
	assert_int_equal(b4_crypto_decrypt_field(&ring, NULL, NULL, &plain, &len), -1);
	assert_int_equal(b4_crypto_decrypt_field(NULL, "v1.k1.AAAA", NULL, &plain, &len), -1);
	b4_crypto_keyring_cleanup(&ring);
}

static void test_field_size_limits(void **state)
{
	struct b4_keyring ring, empty;
	char *text = (char *)1;
	char *plain = NULL;
	size_t len;
	char *big = calloc(1, B4_CRYPTO_FIELD_MAX_LEN + 1);

	(void)state;
	assert_non_null(big);
	load_ring(&ring, NULL);
	assert_int_equal(
	    b4_crypto_encrypt_field(&ring, big, B4_CRYPTO_FIELD_MAX_LEN + 1, NULL, &text), -1);
	assert_null(text);
	assert_int_equal(b4_crypto_encrypt_field(&ring, big, B4_CRYPTO_FIELD_MAX_LEN, NULL, &text),
			 0);
	assert_int_equal(b4_crypto_decrypt_field(&ring, text, NULL, &plain, &len), 0);
	assert_int_equal(len, B4_CRYPTO_FIELD_MAX_LEN);
	b4_crypto_secret_free(plain, len);
	free(text);
	memset(&empty, 0, sizeof(empty));
	assert_int_equal(b4_crypto_encrypt_field(&empty, "x", 1, NULL, &text), -1);
	assert_null(text);
	free(big);
	b4_crypto_keyring_cleanup(&ring);
}

/* ---- blind index ---------------------------------------------------------- */

static void test_blind_index(void **state)
{
	unsigned char key[32], key2[32];
	char a[65], b[65];

	(void)state;
	for (size_t i = 0; i < 32; i++) {
		key[i] = (unsigned char)i;
		key2[i] = (unsigned char)(i + 1);
	}
	assert_int_equal(b4_crypto_blind_index(key, 32, "12345678909", a), 0);
	/* Computed independently: HMAC-SHA256(00..1f, "12345678909"). */
	assert_string_equal(a, "8191ecb9a38b0ea181469872032599132d37f48acbd2ad4c8571e9b232e2b95a");
	assert_int_equal(b4_crypto_blind_index(key, 32, "12345678909", b), 0);
	assert_string_equal(a, b);
	assert_int_equal(b4_crypto_blind_index(key2, 32, "12345678909", b), 0);
	assert_string_not_equal(a, b);
	assert_int_equal(b4_crypto_blind_index(key, 32, "12345678908", b), 0);
	assert_string_not_equal(a, b);
	assert_int_equal(b4_crypto_blind_index(key, 31, "12345678909", b), -1);
	assert_int_equal(b4_crypto_blind_index(key, 32, NULL, b), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_random_fills_and_differs),
	    cmocka_unit_test(test_uuid4_format),
	    cmocka_unit_test(test_uuid7_format_and_time),
	    cmocka_unit_test(test_uuid7_strictly_increasing),
	    cmocka_unit_test(test_uuid7_unique_across_threads),
	    cmocka_unit_test(test_random_code_alphabet_and_length),
	    cmocka_unit_test(test_random_code_bad_alphabet),
	    cmocka_unit_test(test_random_code_unbiased),
	    cmocka_unit_test(test_token_hex),
	    cmocka_unit_test(test_hex_encode_decode),
	    cmocka_unit_test(test_base64url_rfc4648_vectors),
	    cmocka_unit_test(test_base64url_url_alphabet),
	    cmocka_unit_test(test_base64url_rejects),
	    cmocka_unit_test(test_equal),
	    cmocka_unit_test(test_sha256_vectors),
	    cmocka_unit_test(test_hmac_sha256_rfc4231),
	    cmocka_unit_test(test_webhook_sign_known_vector),
	    cmocka_unit_test(test_webhook_round_trip),
	    cmocka_unit_test(test_webhook_tampered_body),
	    cmocka_unit_test(test_webhook_wrong_secret),
	    cmocka_unit_test(test_webhook_stale_and_future),
	    cmocka_unit_test(test_webhook_header_forms),
	    cmocka_unit_test(test_webhook_sign_errors),
	    cmocka_unit_test(test_keyring_formats),
	    cmocka_unit_test(test_keyring_errors),
	    cmocka_unit_test(test_field_round_trip),
	    cmocka_unit_test(test_field_empty_binary_and_no_aad),
	    cmocka_unit_test(test_field_tamper_any_byte),
	    cmocka_unit_test(test_field_wrong_aad),
	    cmocka_unit_test(test_field_wrong_key_id),
	    cmocka_unit_test(test_field_rotation),
	    cmocka_unit_test(test_field_garbage),
	    cmocka_unit_test(test_field_size_limits),
	    cmocka_unit_test(test_blind_index),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
