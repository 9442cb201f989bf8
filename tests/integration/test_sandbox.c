/* test_sandbox.c - b4-acquirer-sandbox over HTTP: the protocol of
 * docs/ACQUIRER.md against the real binary.  Test cards, tokens,
 * idempotency, Pix and boleto codes, refunds, control endpoints and their
 * signed callbacks (caught by a small HTTP receiver in this process),
 * callback retries, expiry, failure modes, and no card number in the logs. */
#include "harness.h"
#include "receiver.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "b4/br.h"
#include "b4/crypto.h"
#include "b4/httpc.h"

#define SECRET	     "sandbox-test-secret-0123456789abcdef-0123456789"
#define AUTH	     "Authorization: Bearer " SECRET
#define OTHER_SECRET "another-sandbox-secret-0123456789abcdef-012345"
#define WAIT_MS	     15000

/* ---- checkout's callback URL: a receiver in this process ---- */

static struct receiver rcv;

/* The callback of type about charge_id received after index from (WAIT_MS
 * at most); its index or -1. */
static int receiver_wait(const char *type, const char *charge_id, int from)
{
	char want_type[64], want_charge[80];

	snprintf(want_type, sizeof(want_type), "\"type\":\"%s\"", type);
	snprintf(want_charge, sizeof(want_charge), "\"charge_id\":\"%s\"", charge_id);
	return (int)rcv_find(&rcv, (size_t)(from < 0 ? 0 : from), want_type, want_charge, WAIT_MS);
}

static int receiver_count(void)
{
	return (int)rcv_count(&rcv);
}

/* ---- the sandbox under test ---- */

static struct h_proc sandbox;
static char callback_url[128];

static const char *const sandbox_env[] = {"B4_ACQUIRER_SECRET=" SECRET, "B4_SANDBOX_HANG_SECONDS=3",
					  NULL};

static int group_setup(void **state)
{
	(void)state;
	if (rcv_start(&rcv, 0) < 0)
		return -1;
	snprintf(rcv.signature_header, sizeof(rcv.signature_header), "X-Acquirer-Signature");
	snprintf(callback_url, sizeof(callback_url),
		 "http://127.0.0.1:%d/v1/acquirers/sandbox/callbacks", rcv.port);
	return h_start(&sandbox, "b4-acquirer-sandbox", NULL, sandbox_env);
}

static int group_teardown(void **state)
{
	int status;
	(void)state;

	/* a clean exit: under the sanitizers, no leak or error report */
	status = h_stop(&sandbox, SIGTERM, 10000);
	rcv_stop(&rcv);
	if (status != 0)
		fprintf(stderr, "b4-acquirer-sandbox exited with status %d\n", status);
	return status == 0 ? 0 : -1;
}

static long long json_int(const struct h_resp *r, const char *name)
{
	const cJSON *item = r->json;
	char path[128], *save = NULL;

	snprintf(path, sizeof(path), "%s", name);
	for (char *part = strtok_r(path, ".", &save); part && item;
	     part = strtok_r(NULL, ".", &save))
		item = cJSON_GetObjectItemCaseSensitive(item, part);
	assert_non_null(item);
	assert_true(cJSON_IsNumber(item));
	return (long long)item->valuedouble;
}

/* POST with the bearer and, when key is not NULL, an Idempotency-Key. */
static void post(struct h_resp *r, const struct h_proc *p, const char *path, const char *body,
		 const char *key)
{
	char key_header[300];
	const char *headers[] = {AUTH, key ? key_header : NULL, NULL};

	snprintf(key_header, sizeof(key_header), "Idempotency-Key: %s", key ? key : "");
	assert_int_equal(h_http(r, "POST", h_url(p, path), body, headers), 0);
}

static void get(struct h_resp *r, const char *path)
{
	const char *headers[] = {AUTH, NULL};
	assert_int_equal(h_http(r, "GET", h_url(&sandbox, path), NULL, headers), 0);
}

/* Tokenizes number on p; returns the token (static storage). */
static const char *tokenize_on(const struct h_proc *p, const char *number)
{
	static char token[64];
	struct h_resp r;
	char body[256];

	snprintf(body, sizeof(body),
		 "{\"number\":\"%s\",\"holder_name\":\"Ana Souza\",\"exp_month\":12,"
		 "\"exp_year\":2099,\"cvv\":\"123\"}",
		 number);
	post(&r, p, "/v1/tokens", body, NULL);
	assert_int_equal(r.status, 201);
	snprintf(token, sizeof(token), "%s", h_json_str(&r, "token"));
	h_resp_free(&r);
	return token;
}

static const char *tokenize(const char *number)
{
	return tokenize_on(&sandbox, number);
}

/* A unique reference for this test run. */
static const char *new_reference(void)
{
	static char ref[64];
	static int n;
	snprintf(ref, sizeof(ref), "order-%d-%d-%lld", (int)getpid(), ++n, h_now_ms());
	return ref;
}

static void card_charge(struct h_resp *r, const char *number, const char *reference, int64_t amount,
			const char *key)
{
	char body[768];

	snprintf(body, sizeof(body),
		 "{\"reference\":\"%s\",\"amount_cents\":%lld,\"method\":\"card\","
		 "\"installments\":3,\"card_token\":\"%s\",\"customer\":{\"name\":\"Ana Souza\","
		 "\"document\":\"52998224725\",\"email\":\"ana@example.com\"},"
		 "\"description\":\"Curso\",\"callback_url\":\"%s\"}",
		 reference, (long long)amount, tokenize(number), callback_url);
	post(r, &sandbox, "/v1/charges", body, key);
}

static void async_charge(struct h_resp *r, const char *method, int64_t amount,
			 int expires_in_seconds)
{
	char body[768], expires[64] = "";

	if (expires_in_seconds > 0)
		snprintf(expires, sizeof(expires), ",\"expires_in_seconds\":%d",
			 expires_in_seconds);
	snprintf(body, sizeof(body),
		 "{\"reference\":\"%s\",\"amount_cents\":%lld,\"method\":\"%s\","
		 "\"customer\":{\"name\":\"Ana Souza\",\"document\":\"52998224725\","
		 "\"email\":\"ana@example.com\"},\"callback_url\":\"%s\"%s}",
		 new_reference(), (long long)amount, method, callback_url, expires);
	post(r, &sandbox, "/v1/charges", body, NULL);
	assert_int_equal(r->status, 201);
	assert_string_equal(h_json_str(r, "status"), "pending");
}

/* The callback at index i is signed with SECRET and carries these fields. */
static void assert_callback(int i, const char *type, const char *charge_id, long long amount)
{
	struct rcv_request c;
	cJSON *body;

	assert_true(i >= 0);
	c = rcv_get(&rcv, (size_t)i);
	assert_true(b4_crypto_webhook_verify(SECRET, c.signature, c.body, strlen(c.body),
					     (int64_t)time(NULL), 300));
	assert_false(b4_crypto_webhook_verify("another-secret-0123456789abcdef0123", c.signature,
					      c.body, strlen(c.body), (int64_t)time(NULL), 300));
	body = cJSON_Parse(c.body);
	assert_non_null(body);
	assert_string_equal(cJSON_GetObjectItem(body, "type")->valuestring, type);
	assert_string_equal(cJSON_GetObjectItem(body, "charge_id")->valuestring, charge_id);
	assert_int_equal((long long)cJSON_GetObjectItem(body, "amount_cents")->valuedouble, amount);
	assert_int_equal(strlen(cJSON_GetObjectItem(body, "id")->valuestring), 36);
	assert_non_null(cJSON_GetObjectItem(body, "reference")->valuestring);
	assert_non_null(cJSON_GetObjectItem(body, "occurred_at")->valuestring);
	cJSON_Delete(body);
}

/* ---- tests ---- */

static void test_every_route_needs_the_bearer(void **state)
{
	static const char *const routes[][2] = {
	    {"POST", "/v1/tokens"},
	    {"POST", "/v1/charges"},
	    {"GET", "/v1/charges"},
	    {"GET", "/v1/charges/0190"},
	    {"POST", "/v1/charges/0190/refunds"},
	    {"POST", "/control/pix/ABC/pay"},
	    {"POST", "/control/boleto/123/pay"},
	    {"POST", "/control/charges/0190/chargeback"},
	};
	const char *wrong[] = {"Authorization: Bearer " SECRET "x", NULL};
	const char *jwt_like[] = {"Authorization: Bearer not-the-secret", NULL};
	(void)state;

	for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
		const char *const *headers[] = {NULL, wrong, jwt_like};
		for (size_t h = 0; h < 3; h++) {
			struct h_resp r;
			assert_int_equal(h_http(&r, routes[i][0], h_url(&sandbox, routes[i][1]),
						"{}", headers[h]),
					 0);
			assert_int_equal(r.status, 401);
			assert_string_equal(h_json_str(&r, "error.type"), "authentication_error");
			h_resp_free(&r);
		}
	}
}

static void test_tokens(void **state)
{
	static const struct {
		const char *number, *brand;
	} cards[] = {
	    {"4111111111111111", "visa"},      {"5555555555554444", "mastercard"},
	    {"378282246310005", "amex"},       {"6362970000457013", "elo"},
	    {"6062825624254001", "hipercard"},
	};
	struct h_resp r;
	char fingerprint[80];
	(void)state;

	for (size_t i = 0; i < sizeof(cards) / sizeof(cards[0]); i++) {
		char body[256];
		size_t n = strlen(cards[i].number);
		snprintf(body, sizeof(body),
			 "{\"number\":\"%s\",\"holder_name\":\"Ana\",\"exp_month\":1,"
			 "\"exp_year\":2099,\"cvv\":\"%s\"}",
			 cards[i].number, n == 15 ? "1234" : "123");
		post(&r, &sandbox, "/v1/tokens", body, NULL);
		assert_int_equal(r.status, 201);
		assert_string_equal(h_json_str(&r, "brand"), cards[i].brand);
		assert_int_equal(strncmp(h_json_str(&r, "bin"), cards[i].number, 6), 0);
		assert_string_equal(h_json_str(&r, "last4"), cards[i].number + n - 4);
		assert_int_equal(strlen(h_json_str(&r, "fingerprint")), 64);
		assert_int_equal(strncmp(h_json_str(&r, "token"), "tok_", 4), 0);
		assert_true(strlen(h_json_str(&r, "token")) <= 64);
		assert_null(strstr(r.body, cards[i].number));
		h_resp_free(&r);
	}

	/* the fingerprint identifies the card across tokens; spaces are allowed */
	post(&r, &sandbox, "/v1/tokens",
	     "{\"number\":\"4111 1111 1111 1111\",\"holder_name\":\"A\",\"exp_month\":1,"
	     "\"exp_year\":2099,\"cvv\":\"999\"}",
	     NULL);
	assert_int_equal(r.status, 201);
	snprintf(fingerprint, sizeof(fingerprint), "%s", h_json_str(&r, "fingerprint"));
	h_resp_free(&r);
	post(&r, &sandbox, "/v1/tokens",
	     "{\"number\":\"4111111111111111\",\"holder_name\":\"B\",\"exp_month\":2,"
	     "\"exp_year\":2098,\"cvv\":\"123\"}",
	     NULL);
	assert_string_equal(h_json_str(&r, "fingerprint"), fingerprint);
	h_resp_free(&r);
}

static void test_invalid_cards_are_422(void **state)
{
	static const struct {
		const char *body, *code, *param;
	} bad[] = {
	    {"{\"number\":\"4111111111111112\",\"holder_name\":\"A\",\"exp_month\":1,"
	     "\"exp_year\":2099,\"cvv\":\"123\"}",
	     "invalid_card_number", "number"},
	    {"{\"number\":\"4111-1111-1111\",\"holder_name\":\"A\",\"exp_month\":1,"
	     "\"exp_year\":2099,\"cvv\":\"123\"}",
	     "invalid_card_number", "number"},
	    {"{\"number\":\"41111111111111x1\",\"holder_name\":\"A\",\"exp_month\":1,"
	     "\"exp_year\":2099,\"cvv\":\"123\"}",
	     "invalid_card_number", "number"},
	    {"{\"number\":\"4111111111111111\",\"holder_name\":\"A\",\"exp_month\":1,"
	     "\"exp_year\":2020,\"cvv\":\"123\"}",
	     "invalid_expiry", "exp_year"},
	    {"{\"number\":\"4111111111111111\",\"holder_name\":\"A\",\"exp_month\":13,"
	     "\"exp_year\":2099,\"cvv\":\"123\"}",
	     "invalid_expiry", "exp_month"},
	    {"{\"number\":\"4111111111111111\",\"holder_name\":\"A\",\"exp_month\":1,"
	     "\"exp_year\":2099,\"cvv\":\"12\"}",
	     "invalid_cvv", "cvv"},
	    {"{\"number\":\"4111111111111111\",\"holder_name\":\"A\",\"exp_month\":1,"
	     "\"exp_year\":2099,\"cvv\":\"12a\"}",
	     "invalid_cvv", "cvv"},
	};
	struct h_resp r;
	(void)state;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		post(&r, &sandbox, "/v1/tokens", bad[i].body, NULL);
		assert_int_equal(r.status, 422);
		assert_string_equal(h_json_str(&r, "error.code"), bad[i].code);
		assert_string_equal(h_json_str(&r, "error.param"), bad[i].param);
		h_resp_free(&r);
	}
	/* a missing field or an unknown one is a 400 */
	post(&r, &sandbox, "/v1/tokens", "{\"number\":\"4111111111111111\"}", NULL);
	assert_int_equal(r.status, 400);
	h_resp_free(&r);
	post(&r, &sandbox, "/v1/tokens",
	     "{\"number\":\"4111111111111111\",\"holder_name\":\"A\",\"exp_month\":1,"
	     "\"exp_year\":2099,\"cvv\":\"123\",\"pin\":\"1\"}",
	     NULL);
	assert_int_equal(r.status, 400);
	assert_string_equal(h_json_str(&r, "error.param"), "pin");
	h_resp_free(&r);
}

static void test_test_card_outcomes(void **state)
{
	static const struct {
		const char *number;
		long status;
		const char *charge_status, *decline_code;
	} cards[] = {
	    {"4111111111111111", 201, "approved", NULL},
	    {"5555555555554444", 201, "approved", NULL},
	    {"4000000000000002", 201, "declined", "card_declined"},
	    {"4000000000009995", 201, "declined", "insufficient_funds"},
	    {"4000000000000119", 500, NULL, NULL},
	};
	(void)state;

	for (size_t i = 0; i < sizeof(cards) / sizeof(cards[0]); i++) {
		struct h_resp r;
		card_charge(&r, cards[i].number, new_reference(), 12990, NULL);
		assert_int_equal(r.status, cards[i].status);
		if (cards[i].charge_status) {
			assert_string_equal(h_json_str(&r, "status"), cards[i].charge_status);
			assert_string_equal(h_json_str(&r, "method"), "card");
			assert_int_equal(json_int(&r, "amount_cents"), 12990);
			assert_string_equal(h_json_str(&r, "card.last4"), cards[i].number + 12);
			assert_int_equal(strlen(h_json_str(&r, "id")), 36);
		} else {
			assert_string_equal(h_json_str(&r, "error.type"), "api_error");
		}
		if (cards[i].decline_code)
			assert_string_equal(h_json_str(&r, "decline_code"), cards[i].decline_code);
		else
			assert_null(h_json_str(&r, "decline_code"));
		h_resp_free(&r);
	}
}

static void test_charge_get_and_list_by_reference(void **state)
{
	struct h_resp r;
	char id[40], path[200], reference[64];
	(void)state;

	snprintf(reference, sizeof(reference), "%s", new_reference());
	card_charge(&r, "4111111111111111", reference, 5000, NULL);
	assert_int_equal(r.status, 201);
	snprintf(id, sizeof(id), "%s", h_json_str(&r, "id"));
	h_resp_free(&r);

	snprintf(path, sizeof(path), "/v1/charges/%s", id);
	get(&r, path);
	assert_int_equal(r.status, 200);
	assert_string_equal(h_json_str(&r, "status"), "approved");
	assert_string_equal(h_json_str(&r, "reference"), reference);
	h_resp_free(&r);

	get(&r, "/v1/charges/01900000-0000-7000-8000-00000000dead");
	assert_int_equal(r.status, 404);
	h_resp_free(&r);

	snprintf(path, sizeof(path), "/v1/charges?reference=%s", reference);
	get(&r, path);
	assert_int_equal(r.status, 200);
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(r.json, "data")), 1);
	assert_string_equal(
	    cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(r.json, "data"), 0), "id")
		->valuestring,
	    id);
	h_resp_free(&r);
}

static void test_charge_input_is_checked(void **state)
{
	static const struct {
		const char *body;
		long status;
		const char *param;
	} bad[] = {
	    {"{\"amount_cents\":100,\"method\":\"pix\"}", 400, "reference"},
	    {"{\"reference\":\"r\",\"amount_cents\":0,\"method\":\"pix\"}", 422, "amount_cents"},
	    {"{\"reference\":\"r\",\"amount_cents\":100,\"method\":\"cash\"}", 422, "method"},
	    {"{\"reference\":\"r\",\"amount_cents\":100,\"method\":\"card\"}", 400, "card_token"},
	    {"{\"reference\":\"r\",\"amount_cents\":100,\"method\":\"card\",\"card_token\":"
	     "\"tok_nope\"}",
	     422, "card_token"},
	    {"{\"reference\":\"r\",\"amount_cents\":100,\"method\":\"card\",\"card_token\":"
	     "\"tok_v1.s.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\"}",
	     422, "card_token"},
	    {"{\"reference\":\"r\",\"amount_cents\":100,\"method\":\"pix\",\"installments\":2}",
	     422, "installments"},
	    {"{\"reference\":\"r\",\"amount_cents\":100,\"method\":\"pix\",\"callback_url\":"
	     "\"ftp://x\"}",
	     422, "callback_url"},
	    {"{\"reference\":\"r\",\"amount_cents\":100,\"method\":\"pix\",\"customer\":"
	     "{\"cpf\":\"1\"}}",
	     400, "customer.cpf"},
	};
	(void)state;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct h_resp r;
		post(&r, &sandbox, "/v1/charges", bad[i].body, NULL);
		assert_int_equal(r.status, bad[i].status);
		assert_string_equal(h_json_str(&r, "error.param"), bad[i].param);
		h_resp_free(&r);
	}
}

static void test_idempotent_replay(void **state)
{
	struct h_resp r;
	char id[40], key[64], reference[64], other[768];
	(void)state;

	snprintf(key, sizeof(key), "charge-key-%lld", h_now_ms());
	snprintf(reference, sizeof(reference), "%s", new_reference());
	card_charge(&r, "4111111111111111", reference, 7000, key);
	assert_int_equal(r.status, 201);
	assert_null(h_resp_header(&r, "Idempotent-Replayed"));
	snprintf(id, sizeof(id), "%s", h_json_str(&r, "id"));
	h_resp_free(&r);

	/* the same request again: the stored answer, not a second charge */
	snprintf(other, sizeof(other),
		 "{\"reference\":\"%s\",\"amount_cents\":7000,\"method\":\"card\","
		 "\"installments\":3,\"card_token\":\"%s\"}",
		 reference, tokenize("4111111111111111"));
	post(&r, &sandbox, "/v1/charges", other, key);
	/* a different body under the same key: 422 */
	assert_int_equal(r.status, 422);
	assert_string_equal(h_json_str(&r, "error.code"), "idempotency_key_reused");
	h_resp_free(&r);

	/* replay needs the byte-identical request: rebuild it with a stored token */
	{
		struct h_resp first, again;
		char key2[64], body[768], tok[64];
		snprintf(key2, sizeof(key2), "charge-key2-%lld", h_now_ms());
		snprintf(tok, sizeof(tok), "%s", tokenize("5555555555554444"));
		snprintf(body, sizeof(body),
			 "{\"reference\":\"%s\",\"amount_cents\":7000,\"method\":\"card\","
			 "\"card_token\":\"%s\",\"callback_url\":\"%s\"}",
			 reference, tok, callback_url);
		post(&first, &sandbox, "/v1/charges", body, key2);
		assert_int_equal(first.status, 201);
		post(&again, &sandbox, "/v1/charges", body, key2);
		assert_int_equal(again.status, 201);
		assert_string_equal(h_resp_header(&again, "Idempotent-Replayed"), "true");
		assert_string_equal(h_json_str(&again, "id"), h_json_str(&first, "id"));
		assert_string_not_equal(h_json_str(&again, "id"), id);
		h_resp_free(&first);
		h_resp_free(&again);
	}

	/* two charges under the reference: the first key's and key2's */
	{
		char path[200];
		snprintf(path, sizeof(path), "/v1/charges?reference=%s", reference);
		get(&r, path);
		assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(r.json, "data")), 2);
		h_resp_free(&r);
	}
}

/* The never-answers card: a client that gives up after 1 s finds the
 * approved charge by reference, and its retry under the same key gets the
 * same charge, never a second one. */
static void test_never_answers_card_is_one_approved_charge(void **state)
{
	char body[768], key[64], key_header[100], path[200], reference[64];
	const char *headers[] = {AUTH, key_header, "Content-Type: application/json", NULL};
	struct b4_httpc_request hreq = {.method = "POST", .headers = headers, .timeout_ms = 1000};
	struct b4_httpc_response resp;
	struct h_resp r, retry;
	(void)state;

	snprintf(reference, sizeof(reference), "%s", new_reference());
	snprintf(key, sizeof(key), "hang-%lld", h_now_ms());
	snprintf(key_header, sizeof(key_header), "Idempotency-Key: %s", key);
	snprintf(body, sizeof(body),
		 "{\"reference\":\"%s\",\"amount_cents\":9900,\"method\":\"card\","
		 "\"card_token\":\"%s\"}",
		 reference, tokenize("4000000000003220"));
	hreq.url = h_url(&sandbox, "/v1/charges");
	hreq.body = body;
	hreq.body_len = strlen(body);
	b4_httpc_global_init();
	assert_int_equal(b4_httpc_do(&hreq, &resp), -1);
	assert_true(resp.timed_out);
	b4_httpc_response_cleanup(&resp);

	/* reconciliation while the sandbox still holds the request */
	snprintf(path, sizeof(path), "/v1/charges?reference=%s", reference);
	get(&r, path);
	assert_int_equal(r.status, 200);
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(r.json, "data")), 1);
	assert_string_equal(
	    cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(r.json, "data"), 0),
				"status")
		->valuestring,
	    "approved");

	/* the retry waits for the first answer and replays it */
	post(&retry, &sandbox, "/v1/charges", body, key);
	assert_int_equal(retry.status, 201);
	assert_string_equal(h_resp_header(&retry, "Idempotent-Replayed"), "true");
	assert_string_equal(h_json_str(&retry, "status"), "approved");
	assert_string_equal(
	    h_json_str(&retry, "id"),
	    cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(r.json, "data"), 0), "id")
		->valuestring);
	h_resp_free(&r);
	h_resp_free(&retry);

	get(&r, path);
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(r.json, "data")), 1);
	h_resp_free(&r);
}

static void test_pix_charge_has_a_valid_br_code(void **state)
{
	struct h_resp r;
	struct b4_br_pix_info info;
	const char *payload;
	size_t len;
	char crc[5];
	(void)state;

	async_charge(&r, "pix", 12345, 0);
	payload = h_json_str(&r, "pix.payload");
	assert_non_null(payload);
	len = strlen(payload);
	assert_int_equal(b4_br_pix_parse(payload, len, &info), 0);
	assert_int_equal(info.amount_cents, 12345);
	assert_true(info.has_amount);
	assert_true(info.single_use);
	assert_int_equal(strlen(info.txid), 25);
	assert_string_equal(info.txid, h_json_str(&r, "pix.txid"));
	for (size_t i = 0; i < 25; i++)
		assert_true((info.txid[i] >= '0' && info.txid[i] <= '9') ||
			    (info.txid[i] >= 'A' && info.txid[i] <= 'Z') ||
			    (info.txid[i] >= 'a' && info.txid[i] <= 'z'));
	/* the CRC16 over everything up to "6304" is the last field */
	snprintf(crc, sizeof(crc), "%04X", b4_br_crc16(payload, len - 4));
	assert_string_equal(payload + len - 4, crc);
	assert_non_null(h_json_str(&r, "pix.expires_at"));
	h_resp_free(&r);
}

static void test_boleto_charge_has_a_valid_line(void **state)
{
	struct h_resp r;
	struct b4_br_boleto boleto;
	char barcode[45], due[11];
	time_t when = time(NULL) + 3 * 86400;
	struct tm tm;
	int factor;
	(void)state;

	async_charge(&r, "boleto", 45678, 0);
	assert_int_equal(
	    b4_br_boleto_parse_line(h_json_str(&r, "boleto.digitable_line"), &boleto, barcode), 0);
	assert_string_equal(barcode, h_json_str(&r, "boleto.barcode"));
	assert_int_equal(b4_br_boleto_parse_barcode(barcode, &boleto), 0);
	assert_int_equal(boleto.amount_cents, 45678);
	assert_string_equal(boleto.bank, "001");
	gmtime_r(&when, &tm);
	strftime(due, sizeof(due), "%Y-%m-%d", &tm);
	assert_string_equal(h_json_str(&r, "boleto.due_date"), due);
	assert_int_equal(
	    b4_br_boleto_factor_from_date(tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, &factor),
	    0);
	assert_int_equal(boleto.due_factor, factor);
	h_resp_free(&r);
}

static void test_control_pix_pay_sends_a_signed_callback(void **state)
{
	struct h_resp charge, pay, again;
	char path[200], charge_id[40], event_id[40];
	int from = receiver_count(), i;
	(void)state;

	async_charge(&charge, "pix", 19900, 0);
	snprintf(charge_id, sizeof(charge_id), "%s", h_json_str(&charge, "id"));
	snprintf(path, sizeof(path), "/control/pix/%s/pay", h_json_str(&charge, "pix.txid"));
	post(&pay, &sandbox, path, NULL, NULL);
	assert_int_equal(pay.status, 200);
	assert_int_equal(json_int(&pay, "callback_status"), 200);
	assert_string_equal(h_json_str(&pay, "charge.status"), "paid");
	snprintf(event_id, sizeof(event_id), "%s", h_json_str(&pay, "event_id"));

	i = receiver_wait("pix.paid", charge_id, from);
	assert_callback(i, "pix.paid", charge_id, 19900);
	assert_non_null(strstr(rcv_get(&rcv, (size_t)i).body, event_id));

	/* paying again repeats the same event (same id); nothing else changes */
	post(&again, &sandbox, path, NULL, NULL);
	assert_int_equal(again.status, 200);
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(again.json, "replayed")));
	assert_string_equal(h_json_str(&again, "event_id"), event_id);
	h_resp_free(&again);

	snprintf(path, sizeof(path), "/v1/charges/%s", charge_id);
	get(&again, path);
	assert_string_equal(h_json_str(&again, "status"), "paid");
	h_resp_free(&again);

	post(&again, &sandbox, "/control/pix/NOSUCHTXID0000000000000000/pay", NULL, NULL);
	assert_int_equal(again.status, 404);
	h_resp_free(&again);
	h_resp_free(&pay);
	h_resp_free(&charge);
}

static void test_control_boleto_pay_and_chargeback(void **state)
{
	struct h_resp charge, pay;
	char path[200], charge_id[40];
	int from = receiver_count();
	(void)state;

	/* boleto paid by its digitable line */
	async_charge(&charge, "boleto", 30000, 0);
	snprintf(charge_id, sizeof(charge_id), "%s", h_json_str(&charge, "id"));
	snprintf(path, sizeof(path), "/control/boleto/%s/pay",
		 h_json_str(&charge, "boleto.digitable_line"));
	post(&pay, &sandbox, path, NULL, NULL);
	assert_int_equal(pay.status, 200);
	assert_int_equal(json_int(&pay, "callback_status"), 200);
	assert_callback(receiver_wait("boleto.paid", charge_id, from), "boleto.paid", charge_id,
			30000);
	h_resp_free(&pay);
	h_resp_free(&charge);

	/* a chargeback on an approved card charge */
	card_charge(&charge, "4111111111111111", new_reference(), 8000, NULL);
	snprintf(charge_id, sizeof(charge_id), "%s", h_json_str(&charge, "id"));
	snprintf(path, sizeof(path), "/control/charges/%s/chargeback", charge_id);
	post(&pay, &sandbox, path, NULL, NULL);
	assert_int_equal(pay.status, 200);
	assert_int_equal(json_int(&pay, "callback_status"), 200);
	assert_string_equal(h_json_str(&pay, "charge.status"), "chargeback");
	assert_callback(receiver_wait("charge.chargeback", charge_id, from), "charge.chargeback",
			charge_id, 8000);
	h_resp_free(&pay);
	/* not twice */
	post(&pay, &sandbox, path, NULL, NULL);
	assert_int_equal(pay.status, 409);
	h_resp_free(&pay);
	h_resp_free(&charge);

	/* a declined charge cannot get one */
	card_charge(&charge, "4000000000000002", new_reference(), 8000, NULL);
	snprintf(path, sizeof(path), "/control/charges/%s/chargeback", h_json_str(&charge, "id"));
	post(&pay, &sandbox, path, NULL, NULL);
	assert_int_equal(pay.status, 409);
	h_resp_free(&pay);
	h_resp_free(&charge);
}

static void test_refunds(void **state)
{
	struct h_resp charge, r;
	char path[200], charge_id[40], key[64];
	int from = receiver_count();
	(void)state;

	card_charge(&charge, "4111111111111111", new_reference(), 1000, NULL);
	snprintf(charge_id, sizeof(charge_id), "%s", h_json_str(&charge, "id"));
	snprintf(path, sizeof(path), "/v1/charges/%s/refunds", charge_id);

	post(&r, &sandbox, path, "{\"amount_cents\":1001}", NULL);
	assert_int_equal(r.status, 409);
	assert_string_equal(h_json_str(&r, "error.code"), "amount_exceeds_remaining");
	h_resp_free(&r);

	snprintf(key, sizeof(key), "refund-%lld", h_now_ms());
	post(&r, &sandbox, path, "{\"amount_cents\":400}", key);
	assert_int_equal(r.status, 201);
	assert_string_equal(h_json_str(&r, "status"), "succeeded");
	assert_string_equal(h_json_str(&r, "charge_id"), charge_id);
	assert_int_equal(json_int(&r, "amount_cents"), 400);
	h_resp_free(&r);
	assert_callback(receiver_wait("refund.succeeded", charge_id, from), "refund.succeeded",
			charge_id, 400);
	/* the retry of the same refund is a replay, not a second refund */
	post(&r, &sandbox, path, "{\"amount_cents\":400}", key);
	assert_int_equal(r.status, 201);
	assert_string_equal(h_resp_header(&r, "Idempotent-Replayed"), "true");
	h_resp_free(&r);

	snprintf(path, sizeof(path), "/v1/charges/%s", charge_id);
	get(&r, path);
	assert_string_equal(h_json_str(&r, "status"), "partially_refunded");
	assert_int_equal(json_int(&r, "refunded_cents"), 400);
	h_resp_free(&r);

	snprintf(path, sizeof(path), "/v1/charges/%s/refunds", charge_id);
	post(&r, &sandbox, path, "{\"amount_cents\":601}", NULL);
	assert_int_equal(r.status, 409);
	h_resp_free(&r);
	post(&r, &sandbox, path, "{\"amount_cents\":600}", NULL);
	assert_int_equal(r.status, 201);
	h_resp_free(&r);
	post(&r, &sandbox, path, "{\"amount_cents\":1}", NULL);
	assert_int_equal(r.status, 409);
	h_resp_free(&r);
	snprintf(path, sizeof(path), "/v1/charges/%s", charge_id);
	get(&r, path);
	assert_string_equal(h_json_str(&r, "status"), "refunded");
	h_resp_free(&r);
	h_resp_free(&charge);

	/* a declined charge or a pending pix has nothing to refund */
	card_charge(&charge, "4000000000000002", new_reference(), 1000, NULL);
	snprintf(path, sizeof(path), "/v1/charges/%s/refunds", h_json_str(&charge, "id"));
	post(&r, &sandbox, path, "{\"amount_cents\":1}", NULL);
	assert_int_equal(r.status, 409);
	h_resp_free(&r);
	h_resp_free(&charge);
	post(&r, &sandbox, "/v1/charges/01900000-0000-7000-8000-00000000dead/refunds",
	     "{\"amount_cents\":1}", NULL);
	assert_int_equal(r.status, 404);
	h_resp_free(&r);
}

/* Checkout answers 500 twice: the sandbox retries the same event until a
 * 2xx. */
static void test_failed_callback_is_retried(void **state)
{
	struct h_resp charge, pay;
	char path[200], charge_id[40], event_id[40];
	int from = receiver_count(), first, second, third;
	(void)state;

	async_charge(&charge, "pix", 5000, 0);
	snprintf(charge_id, sizeof(charge_id), "%s", h_json_str(&charge, "id"));
	snprintf(path, sizeof(path), "/control/pix/%s/pay", h_json_str(&charge, "pix.txid"));
	pthread_mutex_lock(&rcv.lock);
	rcv.fail_next = 2;
	snprintf(rcv.fail_match, sizeof(rcv.fail_match), "%s", charge_id);
	pthread_mutex_unlock(&rcv.lock);
	post(&pay, &sandbox, path, NULL, NULL);
	assert_int_equal(pay.status, 200);
	assert_int_equal(json_int(&pay, "callback_status"), 500);
	snprintf(event_id, sizeof(event_id), "%s", h_json_str(&pay, "event_id"));
	first = receiver_wait("pix.paid", charge_id, from);
	assert_true(first >= 0);
	second = receiver_wait("pix.paid", charge_id, first + 1);
	assert_true(second > first);
	third = receiver_wait("pix.paid", charge_id, second + 1);
	assert_true(third > second);
	assert_callback(third, "pix.paid", charge_id, 5000);
	assert_non_null(strstr(rcv_get(&rcv, (size_t)third).body, event_id));
	h_resp_free(&pay);
	h_resp_free(&charge);
}

static void test_unpaid_pix_expires(void **state)
{
	struct h_resp charge, r;
	char path[200], charge_id[40];
	int from = receiver_count();
	(void)state;

	async_charge(&charge, "pix", 2500, 1);
	snprintf(charge_id, sizeof(charge_id), "%s", h_json_str(&charge, "id"));
	assert_callback(receiver_wait("charge.expired", charge_id, from), "charge.expired",
			charge_id, 2500);
	snprintf(path, sizeof(path), "/v1/charges/%s", charge_id);
	get(&r, path);
	assert_string_equal(h_json_str(&r, "status"), "expired");
	h_resp_free(&r);
	snprintf(path, sizeof(path), "/control/pix/%s/pay", h_json_str(&charge, "pix.txid"));
	post(&r, &sandbox, path, NULL, NULL);
	assert_int_equal(r.status, 409);
	h_resp_free(&r);
	h_resp_free(&charge);
}

static void test_fail_all_failover_and_auto_pay(void **state)
{
	static const char *const fail_env[] = {"B4_ACQUIRER_SECRET=" SECRET,
					       "B4_SANDBOX_FAIL_ALL=true", NULL};
	static const char *const other_env[] = {"B4_ACQUIRER_SECRET=" OTHER_SECRET, NULL};
	static const char *const auto_env[] = {"B4_ACQUIRER_SECRET=" SECRET,
					       "B4_SANDBOX_AUTO_PAY_SECONDS=1", NULL};
	struct h_proc p;
	struct h_resp r;
	char body[512], charge_id[40];
	int from = receiver_count();
	(void)state;

	assert_int_equal(h_start(&p, "b4-acquirer-sandbox", NULL, fail_env), 0);
	snprintf(body, sizeof(body),
		 "{\"reference\":\"r1\",\"amount_cents\":100,\"method\":\"card\","
		 "\"card_token\":\"%s\"}",
		 tokenize_on(&p, "4111111111111111"));
	post(&r, &p, "/v1/charges", body, "fail-all-1");
	assert_int_equal(r.status, 503);
	h_resp_free(&r);
	assert_int_equal(h_stop(&p, SIGTERM, 10000), 0);
	/* checkout fails over: the next sandbox (same secret) takes that token */
	post(&r, &sandbox, "/v1/charges", body, "fail-all-1");
	assert_int_equal(r.status, 201);
	assert_string_equal(h_json_str(&r, "status"), "approved");
	assert_string_equal(h_json_str(&r, "card.last4"), "1111");
	h_resp_free(&r);

	/* a sandbox with another secret does not accept it */
	assert_int_equal(h_start(&p, "b4-acquirer-sandbox", NULL, other_env), 0);
	{
		const char *headers[] = {"Authorization: Bearer " OTHER_SECRET, NULL};
		assert_int_equal(h_http(&r, "POST", h_url(&p, "/v1/charges"), body, headers), 0);
		assert_int_equal(r.status, 422);
		assert_string_equal(h_json_str(&r, "error.code"), "invalid_card_token");
		h_resp_free(&r);
	}
	assert_int_equal(h_stop(&p, SIGTERM, 10000), 0);

	assert_int_equal(h_start(&p, "b4-acquirer-sandbox", NULL, auto_env), 0);
	snprintf(body, sizeof(body),
		 "{\"reference\":\"r2\",\"amount_cents\":700,\"method\":\"pix\","
		 "\"callback_url\":\"%s\"}",
		 callback_url);
	post(&r, &p, "/v1/charges", body, NULL);
	assert_int_equal(r.status, 201);
	snprintf(charge_id, sizeof(charge_id), "%s", h_json_str(&r, "id"));
	h_resp_free(&r);
	assert_callback(receiver_wait("pix.paid", charge_id, from), "pix.paid", charge_id, 700);
	assert_int_equal(h_stop(&p, SIGTERM, 10000), 0);
}

static void test_short_secret_stops_startup(void **state)
{
	char cmd[2400];
	int rc;
	(void)state;

	snprintf(cmd, sizeof(cmd),
		 "B4_ACQUIRER_SECRET=too-short B4_PORT=0 '%s/bin/b4-acquirer-sandbox' "
		 ">/dev/null 2>&1",
		 h_build());
	rc = system(cmd);
	assert_true(WIFEXITED(rc));
	assert_int_equal(WEXITSTATUS(rc), 2);
}

/* After the tests above: the sandbox's own metrics, valid for promtool. */
static void test_metrics(void **state)
{
	struct h_resp r;
	char path[2200], cmd[2400];
	FILE *f;
	(void)state;

	assert_int_equal(h_http(&r, "GET", h_url(&sandbox, "/metrics"), NULL, NULL), 0);
	assert_int_equal(r.status, 200);
	assert_non_null(
	    strstr(r.body, "sandbox_charges_total{method=\"card\",status=\"approved\"}"));
	assert_non_null(
	    strstr(r.body, "sandbox_charges_total{method=\"card\",status=\"declined\"}"));
	assert_non_null(
	    strstr(r.body, "sandbox_charges_total{method=\"card\",status=\"error\"} 1"));
	assert_non_null(strstr(r.body, "sandbox_charges_total{method=\"pix\",status=\"pending\"}"));
	assert_non_null(strstr(r.body, "sandbox_callbacks_total{result=\"delivered\"}"));
	assert_non_null(strstr(r.body, "sandbox_callbacks_total{result=\"failed\"} 2"));
	snprintf(path, sizeof(path), "%s/metrics-sandbox.txt", h_var());
	f = fopen(path, "w");
	assert_non_null(f);
	fwrite(r.body, 1, r.body_len, f);
	fclose(f);
	h_resp_free(&r);
	snprintf(cmd, sizeof(cmd), "promtool check metrics < '%s' >&2", path);
	assert_int_equal(system(cmd), 0);
}

/* Runs last: every card number used above stayed out of the logs. */
static void test_logs_hold_no_card_number(void **state)
{
	static const char *const numbers[] = {
	    "4111111111111111", "4111 1111 1111 1111", "5555555555554444", "4000000000000002",
	    "4000000000009995", "4000000000000119",    "4000000000003220", "378282246310005",
	};
	(void)state;

	for (size_t i = 0; i < sizeof(numbers) / sizeof(numbers[0]); i++)
		assert_false(h_logs_contain(numbers[i]));
	assert_false(h_logs_contain(SECRET));
	/* the log is really there and written by the sandbox */
	assert_true(h_logs_contain("card tokenized"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_every_route_needs_the_bearer),
	    cmocka_unit_test(test_tokens),
	    cmocka_unit_test(test_invalid_cards_are_422),
	    cmocka_unit_test(test_test_card_outcomes),
	    cmocka_unit_test(test_charge_get_and_list_by_reference),
	    cmocka_unit_test(test_charge_input_is_checked),
	    cmocka_unit_test(test_idempotent_replay),
	    cmocka_unit_test(test_never_answers_card_is_one_approved_charge),
	    cmocka_unit_test(test_pix_charge_has_a_valid_br_code),
	    cmocka_unit_test(test_boleto_charge_has_a_valid_line),
	    cmocka_unit_test(test_control_pix_pay_sends_a_signed_callback),
	    cmocka_unit_test(test_control_boleto_pay_and_chargeback),
	    cmocka_unit_test(test_refunds),
	    cmocka_unit_test(test_failed_callback_is_retried),
	    cmocka_unit_test(test_unpaid_pix_expires),
	    cmocka_unit_test(test_fail_all_failover_and_auto_pay),
	    cmocka_unit_test(test_short_secret_stops_startup),
	    cmocka_unit_test(test_metrics),
	    cmocka_unit_test(test_logs_hold_no_card_number),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
