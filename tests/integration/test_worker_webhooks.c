/* test_worker_webhooks.c - webhook fan-out and delivery by a real b4-worker
 * to a receiver run by this test: signatures verify with the endpoint's
 * secret, 500s and a hanging receiver are retried with one effect per event
 * id, redirects are not followed, private targets are refused in
 * production, fan-out is idempotent, resend delivers again. */
#include "harness.h"
#include "test_worker_support.h"
#include "receiver.h"

#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "b4/crypto.h"
#include "b4/db.h"
#include "b4/pii.h"
#include "b4/queue.h"

#define PRODUCER  "01900000-0000-7000-8000-000000000001"
#define AFFILIATE "01900000-0000-7000-8000-000000000002"

static const char *db_name;
static struct receiver rcv;
static struct b4_db *db; /* the test's own connection, as a producer would have */
static struct h_proc worker;

static int group_setup(void **state)
{
	(void)state;

	db_name = h_db_create("b4_webhooks", true);
	if (!db_name || rcv_start(&rcv, 3000) < 0)
		return -1;
	if (tw_pii_init() < 0)
		return -1;
	db = tw_connect(db_name);
	return db ? 0 : -1;
}

static int reset(void **state)
{
	(void)state;
	rcv_reset(&rcv);
	if (h_sql(db_name, "DELETE FROM webhook_attempts") < 0 ||
	    h_sql(db_name, "DELETE FROM webhook_deliveries") < 0 ||
	    h_sql(db_name, "DELETE FROM webhook_endpoints") < 0)
		return -1;
	return h_sql(db_name, "DELETE FROM jobs");
}

static void start_worker(const char *const *extra)
{
	const char *env[16] = {"B4_WORKER_POLL=20ms", "B4_WEBHOOK_BACKOFF_SCALE=0.01",
			       "B4_WORKER_TYPES=webhook.event,webhook.deliver"};
	size_t n = 3;

	for (size_t i = 0; extra && extra[i] && n < 15; i++)
		env[n++] = extra[i];
	env[n] = NULL;
	assert_int_equal(h_start(&worker, "b4-worker", db_name, env), 0);
	tw_track(&worker);
}

/* Creates an endpoint of owner for url path on the receiver. */
static void add_endpoint(const char *id, const char *owner, const char *path, const char *events,
			 const char *secret, bool active)
{
	char *enc = b4_pii_encrypt("webhook_endpoints.secret_enc", secret);
	char url[128];

	assert_non_null(enc);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", rcv.port, path);
	assert_int_equal(
	    b4_db_exec(db,
		       "INSERT INTO webhook_endpoints (id, owner_id, url, events, secret_enc,"
		       " active) VALUES (?, ?, ?, ?, ?, ?)",
		       "sssssB", id, owner, url, events, enc, active),
	    1);
	free(enc);
}

static void emit(const char *event, const char *affiliate, const char *dedup)
{
	assert_int_equal(b4_db_begin(db), 0);
	assert_int_equal(
	    b4_queue_webhook_event(db, event, PRODUCER, affiliate, NULL,
				   "{\"order\":{\"id\":\"o-1\",\"total_cents\":19700}}", dedup),
	    1);
	assert_int_equal(b4_db_commit(db), 0);
}

/* One endpoint of the producer on path, subscribed to approved-payment; a
 * worker (with extra env); one approved-payment event. */
static void one_endpoint_one_event(const char *endpoint_id, const char *path,
				   const char *const *env)
{
	add_endpoint(endpoint_id, PRODUCER, path, "[\"approved-payment\"]", "whsec_one", true);
	start_worker(env);
	emit("approved-payment", NULL, NULL);
}

static long long count(const char *sql)
{
	return h_sql_int(db_name, sql);
}

static const struct rcv_request *find_request(const char *path, size_t nth)
{
	for (size_t i = 0; i < rcv.n; i++)
		if (strcmp(rcv.reqs[i].path, path) == 0 && nth-- == 0)
			return &rcv.reqs[i];
	return NULL;
}

static void test_signed_fanout_to_producer_and_affiliate(void **state)
{
	const struct rcv_request *p, *a;
	cJSON *pbody, *abody;
	(void)state;

	add_endpoint("0190a000-0000-7000-8000-000000000001", PRODUCER, "/ok",
		     "[\"approved-payment\",\"refund\"]", "whsec_producer_secret", true);
	add_endpoint("0190a000-0000-7000-8000-000000000002", AFFILIATE, "/ok-affiliate",
		     "[\"approved-payment\"]", "whsec_affiliate_secret", true);
	/* not subscribed, inactive, and a stranger's endpoint: nothing for them */
	add_endpoint("0190a000-0000-7000-8000-000000000003", PRODUCER, "/other", "[\"refund\"]",
		     "whsec_x", true);
	add_endpoint("0190a000-0000-7000-8000-000000000004", PRODUCER, "/inactive",
		     "[\"approved-payment\"]", "whsec_y", false);
	add_endpoint("0190a000-0000-7000-8000-000000000005", "01900000-0000-7000-8000-000000000003",
		     "/stranger", "[\"approved-payment\"]", "whsec_z", true);
	start_worker(NULL);
	emit("approved-payment", AFFILIATE, "approved-payment:o-1");
	assert_true(rcv_wait(&rcv, 2, 10000));
	assert_true(tw_wait_sql(
	    db_name, "SELECT COUNT(*) FROM webhook_deliveries WHERE status = 'succeeded'", 2,
	    10000));
	h_sleep_ms(300); /* anything else would have arrived by now */
	assert_int_equal(rcv_count(&rcv), 2);
	assert_int_equal(count("SELECT COUNT(*) FROM webhook_deliveries"), 2);

	p = find_request("/ok", 0);
	a = find_request("/ok-affiliate", 0);
	assert_non_null(p);
	assert_non_null(a);
	/* each signature verifies with its own endpoint's secret only */
	assert_true(b4_crypto_webhook_verify("whsec_producer_secret", p->signature, p->body,
					     strlen(p->body), time(NULL), 300));
	assert_false(b4_crypto_webhook_verify("whsec_affiliate_secret", p->signature, p->body,
					      strlen(p->body), time(NULL), 300));
	assert_true(b4_crypto_webhook_verify("whsec_affiliate_secret", a->signature, a->body,
					     strlen(a->body), time(NULL), 300));
	/* body {id, event, created_at, data}; one event id for both */
	pbody = cJSON_Parse(p->body);
	abody = cJSON_Parse(a->body);
	assert_non_null(pbody);
	assert_non_null(abody);
	assert_string_equal(cJSON_GetObjectItem(pbody, "event")->valuestring, "approved-payment");
	assert_int_equal(strlen(cJSON_GetObjectItem(pbody, "id")->valuestring), 36);
	assert_string_equal(cJSON_GetObjectItem(pbody, "id")->valuestring,
			    cJSON_GetObjectItem(abody, "id")->valuestring);
	assert_true(cJSON_IsString(cJSON_GetObjectItem(pbody, "created_at")));
	assert_int_equal(strlen(cJSON_GetObjectItem(pbody, "created_at")->valuestring), 20);
	assert_string_equal(cJSON_GetObjectItem(pbody, "created_at")->valuestring,
			    cJSON_GetObjectItem(abody, "created_at")->valuestring);
	assert_int_equal(
	    cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetObjectItem(pbody, "data"), "order"),
				"total_cents")
		->valueint,
	    19700);
	cJSON_Delete(pbody);
	cJSON_Delete(abody);
	/* the attempt is logged */
	assert_int_equal(count("SELECT COUNT(*) FROM webhook_attempts WHERE status_code = 200"
			       " AND attempt = 1 AND response_excerpt = 'thanks '"),
			 2);

	/* the same dedup key enqueues nothing; resend delivers the same event again */
	assert_int_equal(b4_queue_enqueue(db, "webhook.event", "{}", "approved-payment:o-1", 0), 0);
	char *delivery = h_sql_value(db_name, "SELECT d.id FROM webhook_deliveries d"
					      " JOIN webhook_endpoints e ON e.id = d.endpoint_id"
					      " WHERE e.url LIKE '%/ok'");
	assert_non_null(delivery);
	assert_int_equal(b4_queue_webhook_resend(db, delivery), 1);
	assert_int_equal(b4_queue_webhook_resend(db, "0190ffff-0000-7000-8000-000000000000"), 0);
	assert_true(rcv_wait(&rcv, 3, 10000));
	pbody = cJSON_Parse(find_request("/ok", 0)->body);
	abody = cJSON_Parse(find_request("/ok", 1)->body);
	assert_string_equal(cJSON_GetObjectItem(pbody, "id")->valuestring,
			    cJSON_GetObjectItem(abody, "id")->valuestring);
	cJSON_Delete(pbody);
	cJSON_Delete(abody);
	free(delivery);
}

static void test_500_twice_then_200_three_attempts_one_event(void **state)
{
	(void)state;
	one_endpoint_one_event("0190a000-0000-7000-8000-000000000011", "/flaky", NULL);
	assert_true(tw_wait_sql(
	    db_name, "SELECT COUNT(*) FROM webhook_deliveries WHERE status = 'succeeded'", 1,
	    20000));
	assert_int_equal(rcv_count(&rcv), 3);
	/* one event id across the three attempts: the receiver's effect is one */
	for (size_t i = 1; i < 3; i++) {
		cJSON *first = cJSON_Parse(rcv.reqs[0].body),
		      *again = cJSON_Parse(rcv.reqs[i].body);

		assert_string_equal(cJSON_GetObjectItem(first, "id")->valuestring,
				    cJSON_GetObjectItem(again, "id")->valuestring);
		cJSON_Delete(first);
		cJSON_Delete(again);
	}
	assert_int_equal(count("SELECT attempts FROM webhook_deliveries"), 3);
	assert_int_equal(count("SELECT COUNT(*) FROM webhook_attempts WHERE status_code = 500"
			       " AND attempt IN (1, 2) AND error = 'HTTP 500'"),
			 2);
	assert_int_equal(count("SELECT COUNT(*) FROM webhook_attempts WHERE status_code = 200"
			       " AND attempt = 3"),
			 1);
}

static void test_hanging_receiver_times_out_and_is_retried(void **state)
{
	const char *env[] = {"B4_WEBHOOK_TIMEOUT=1s", NULL};
	(void)state;

	one_endpoint_one_event("0190a000-0000-7000-8000-000000000021", "/hang", env);
	assert_true(tw_wait_sql(
	    db_name, "SELECT COUNT(*) FROM webhook_deliveries WHERE status = 'succeeded'", 1,
	    20000));
	assert_int_equal(count("SELECT COUNT(*) FROM webhook_attempts WHERE attempt = 1"
			       " AND status_code IS NULL AND error = 'timeout'"),
			 1);
	assert_int_equal(count("SELECT COUNT(*) FROM webhook_attempts WHERE attempt = 2"
			       " AND status_code = 200"),
			 1);
}

static void test_redirect_not_followed(void **state)
{
	(void)state;
	one_endpoint_one_event("0190a000-0000-7000-8000-000000000031", "/redirect", NULL);
	assert_true(tw_wait_sql(
	    db_name, "SELECT COUNT(*) FROM webhook_attempts WHERE status_code = 302", 2, 20000));
	char *status = h_sql_value(db_name, "SELECT status FROM webhook_deliveries");

	assert_null(find_request("/ok", 0));
	assert_non_null(status);
	assert_string_equal(status, "pending");
	free(status);
}

static void test_private_target_refused_in_production(void **state)
{
	const char *env[] = {"B4_ENV=production", NULL};
	char *error;
	(void)state;

	one_endpoint_one_event("0190a000-0000-7000-8000-000000000041", "/ok", env);
	assert_true(tw_wait_sql(db_name, "SELECT COUNT(*) FROM webhook_attempts", 1, 10000));
	error = h_sql_value(db_name, "SELECT error FROM webhook_attempts WHERE attempt = 1");
	assert_non_null(error);
	assert_non_null(strstr(error, "refused"));
	free(error);
	assert_int_equal(rcv_count(&rcv), 0);
}

static void test_fanout_is_idempotent_per_event_id(void **state)
{
	(void)state;
	add_endpoint("0190a000-0000-7000-8000-000000000051", PRODUCER, "/ok", "[\"refund\"]",
		     "whsec_idem", true);
	/* the same event (same id) enqueued twice, as a re-run would see it */
	for (int i = 0; i < 2; i++)
		assert_int_equal(h_sql(db_name,
				       "INSERT INTO jobs (type, payload) VALUES ('webhook.event',"
				       " '{\"event\":\"refund\",\"owner_id\":\"" PRODUCER "\","
				       "\"event_id\":\"0190b000-0000-7000-8000-000000000001\","
				       "\"created_at\":\"2026-01-01T00:00:00Z\",\"data\":{}}')"),
				 0);
	start_worker(NULL);
	assert_true(
	    tw_wait_sql(db_name, "SELECT COUNT(*) FROM jobs WHERE status = 'done'", 3, 10000));
	h_sleep_ms(300);
	assert_int_equal(count("SELECT COUNT(*) FROM webhook_deliveries"), 1);
	assert_int_equal(rcv_count(&rcv), 1);
	assert_non_null(
	    strstr(rcv.reqs[0].body, "\"id\":\"0190b000-0000-7000-8000-000000000001\""));
}

static void test_bad_event_payload_is_dead_at_once(void **state)
{
	(void)state;
	assert_int_equal(h_sql(db_name, "INSERT INTO jobs (type, payload) VALUES ('webhook.event',"
					" '{\"event\":\"refund\"}')"),
			 0);
	start_worker(NULL);
	assert_true(tw_wait_sql(
	    db_name, "SELECT COUNT(*) FROM jobs WHERE status = 'dead' AND attempts = 1", 1, 10000));
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, reset, tw_stop_all)
	const struct CMUnitTest tests[] = {
	    T(test_signed_fanout_to_producer_and_affiliate),
	    T(test_500_twice_then_200_three_attempts_one_event),
	    T(test_hanging_receiver_times_out_and_is_retried),
	    T(test_redirect_not_followed),
	    T(test_private_target_refused_in_production),
	    T(test_fanout_is_idempotent_per_event_id),
	    T(test_bad_event_payload_is_dead_at_once),
	};
#undef T
	return cmocka_run_group_tests(tests, group_setup, NULL);
}
