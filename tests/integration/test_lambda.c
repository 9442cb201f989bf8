/* test_lambda.c - `b4-worker --lambda <type>` against a Runtime API server
 * run by this binary: SQS batches with partial failures, bad events,
 * unknown handlers (init error), and "report.export" writing the CSV. */
#include "harness.h"
#include "test_lambda_api.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#define SEED_PRODUCT  "01900000-0000-7000-8000-000000000101"
#define SEED_OFFER    "01900000-0000-7000-8000-000000000201"
#define SEED_PRODUCER "01900000-0000-7000-8000-000000000001"
#define SEED_ADMIN    "01900000-0000-7000-8000-000000000003"

static int group_setup(void **state)
{
	(void)state;
	return rapi_suite_setup("b4_lambda");
}

static void make_paid_order(char id[37], const char *document, const char *name, const char *email,
			    const char *method, long long total)
{
	char sql[2048], customer[37];

	rapi_make_customer(customer, document, "cpf", name, email);
	assert_int_equal(b4_crypto_uuid7(id), 0);
	snprintf(sql, sizeof(sql),
		 "INSERT INTO orders (id, customer_id, offer_id, product_id, producer_id, status,"
		 " payment_method, installments, subtotal_cents, total_cents, access_token_hash,"
		 " paid_at) VALUES ('%s', '%s', '%s', '%s', '%s', 'paid', '%s', 1, %lld, %lld,"
		 " REPEAT('b', 64), UTC_TIMESTAMP(6))",
		 id, customer, SEED_OFFER, SEED_PRODUCT, SEED_PRODUCER, method, total, total);
	rapi_sql(sql);
}

static void test_sqs_batch_reports_only_the_failed_records(void **state)
{
	char order[37], event[2048];
	const char *events[] = {event};
	const struct rapi_post *post;
	const char *env[] = {rapi_storage_env, NULL};
	struct rapi api;
	(void)state;

	RAPI_REQUIRE_LAMBDA_HOOK();
	make_paid_order(order, "52998224725", "Lote SQS", "sqs@example.com", "pix", 4700);
	snprintf(event, sizeof(event),
		 "{\"Records\":["
		 "{\"messageId\":\"m-ok\",\"body\":\"{\\\"order_id\\\":\\\"%s\\\"}\","
		 "\"attributes\":{\"ApproximateReceiveCount\":\"1\"},\"eventSource\":\"aws:sqs\"},"
		 "{\"messageId\":\"m-bad\",\"body\":\"not json\",\"eventSource\":\"aws:sqs\"},"
		 "{\"messageId\":\"m-missing\",\"body\":\"{\\\"order_id\\\":"
		 "\\\"01900000-0000-7000-8000-00000000beef\\\"}\",\"eventSource\":\"aws:sqs\"}"
		 "]}",
		 order);
	assert_int_equal(rapi_start(&api, events, 1), 0);
	assert_int_equal(rapi_run_worker(&api, "invoice.issue", rapi_db, env), 0);
	post = rapi_find(&api, "/invocation/req-1/response");
	assert_non_null(post);
	assert_non_null(strstr(post->body, "\"batchItemFailures\""));
	assert_null(strstr(post->body, "m-ok"));
	assert_non_null(strstr(post->body, "{\"itemIdentifier\":\"m-bad\"}"));
	assert_non_null(strstr(post->body, "{\"itemIdentifier\":\"m-missing\"}"));
	rapi_stop(&api);
	{
		char sql[200];
		snprintf(sql, sizeof(sql), "SELECT COUNT(*) FROM invoices WHERE order_id = '%s'",
			 order);
		assert_int_equal(h_sql_int(rapi_db, sql), 1);
	}
}

static void test_bad_event_and_unknown_handler(void **state)
{
	const char *events[] = {"[1,2,3]", "{\"order_id\": 42}"};
	const struct rapi_post *post;
	const char *env[] = {rapi_storage_env, NULL};
	struct rapi api;
	(void)state;

	RAPI_REQUIRE_LAMBDA_HOOK();
	assert_int_equal(rapi_start(&api, events, 2), 0);
	assert_int_equal(rapi_run_worker(&api, "invoice.issue", rapi_db, env), 0);
	post = rapi_find(&api, "/invocation/req-1/error");
	assert_non_null(post);
	assert_string_equal(post->error_type, "Runtime.InvalidEvent");
	assert_non_null(strstr(post->body, "\"errorMessage\""));
	post = rapi_find(&api, "/invocation/req-2/error");
	assert_non_null(post);
	assert_string_equal(post->error_type, "Job.Fatal");
	assert_non_null(strstr(post->body, "order_id"));
	rapi_stop(&api);

	/* an unknown job type is an init error, and no event is taken */
	assert_int_equal(rapi_start(&api, events, 2), 0);
	assert_int_equal(rapi_run_worker(&api, "no.such.type", rapi_db, env), 1);
	assert_int_equal(api.served, 0);
	post = rapi_find(&api, "/runtime/init/error");
	assert_non_null(post);
	assert_string_equal(post->error_type, "Runtime.UnknownHandler");
	assert_non_null(strstr(post->body, "no.such.type"));
	rapi_stop(&api);

	/* bad issuer settings fail init too */
	{
		const char *bad_env[] = {rapi_storage_env, "B4_NFSE_ISSUER_CNPJ=11222333000100",
					 NULL};
		assert_int_equal(rapi_start(&api, events, 2), 0);
		assert_int_equal(rapi_run_worker(&api, "invoice.issue", rapi_db, bad_env), 1);
		post = rapi_find(&api, "/runtime/init/error");
		assert_non_null(post);
		assert_string_equal(post->error_type, "Runtime.InitError");
		assert_int_equal(api.served, 0);
		rapi_stop(&api);
	}
}

static void test_report_export_writes_guarded_csv(void **state)
{
	char a[37], b[37], c[37], report_id[37], event[1024], path[1400], sql[512];
	const char *events[] = {event};
	const char *env[] = {rapi_storage_env, NULL};
	char *csv;
	size_t csv_len = 0;
	struct rapi api;
	(void)state;

	RAPI_REQUIRE_LAMBDA_HOOK();
	make_paid_order(a, "11144477735", "=HYPERLINK(\"http://evil\",\"x\")",
			"formula@example.com", "card", 29700);
	make_paid_order(b, "39053344705", "Silva, Ana \"Aninha\"", "quote@example.com", "card",
			4700);
	make_paid_order(c, "71428793860", "Pix Only", "pix@example.com", "pix", 9700);
	assert_int_equal(b4_crypto_uuid7(report_id), 0);
	snprintf(sql, sizeof(sql),
		 "INSERT INTO reports (id, status, created_by) VALUES ('%s', 'pending', '%s')",
		 report_id, SEED_ADMIN);
	rapi_sql(sql);
	snprintf(event, sizeof(event),
		 "{\"report_id\":\"%s\",\"filters\":{\"payment_method\":\"card\","
		 "\"status\":\"paid\",\"from\":\"2020-01-01\"}}",
		 report_id);

	assert_int_equal(rapi_start(&api, events, 1), 0);
	assert_int_equal(rapi_run_worker(&api, "report.export", rapi_db, env), 0);
	assert_non_null(rapi_find(&api, "/invocation/req-1/response"));
	rapi_stop(&api);

	snprintf(sql, sizeof(sql), "SELECT status FROM reports WHERE id = '%s'", report_id);
	{
		char *status = h_sql_value(rapi_db, sql);
		assert_string_equal(status, "done");
		free(status);
	}
	snprintf(sql, sizeof(sql), "SELECT row_count FROM reports WHERE id = '%s'", report_id);
	assert_true(h_sql_int(rapi_db, sql) >= 2);
	snprintf(path, sizeof(path), "reports/%s.csv", report_id);
	csv = rapi_object_read(path, "quote@example.com", &csv_len);
	assert_non_null(csv);
	assert_memory_equal(csv, "order_id,created_at,paid_at,status,payment_method,", 50);
	assert_non_null(strstr(csv, "\r\n"));
	/* the formula is text, quoted because of its comma and quotes */
	assert_non_null(strstr(csv, ",\"'=HYPERLINK(\"\"http://evil\"\",\"\"x\"\")\","));
	assert_null(strstr(csv, ",=HYPERLINK"));
	assert_non_null(strstr(csv, ",\"Silva, Ana \"\"Aninha\"\"\",quote@example.com,"));
	assert_non_null(strstr(csv, a));
	assert_non_null(strstr(csv, b));
	/* filtered out: pix */
	assert_null(strstr(csv, c));
	assert_null(strstr(csv, "pix@example.com"));
	/* no document, not even encrypted */
	assert_null(strstr(csv, "11144477735"));
	free(csv);
}

static void test_report_export_rejects_unknown_filters(void **state)
{
	char report_id[37], event[512], sql[256], path[1400], *status;
	const char *events[] = {event};
	const char *env[] = {rapi_storage_env, NULL};
	const struct rapi_post *post;
	struct rapi api;
	(void)state;

	RAPI_REQUIRE_LAMBDA_HOOK();
	assert_int_equal(b4_crypto_uuid7(report_id), 0);
	snprintf(event, sizeof(event),
		 "{\"report_id\":\"%s\",\"filters\":{\"id; DROP TABLE orders\":\"x\"}}", report_id);
	assert_int_equal(rapi_start(&api, events, 1), 0);
	assert_int_equal(rapi_run_worker(&api, "report.export", rapi_db, env), 0);
	post = rapi_find(&api, "/invocation/req-1/error");
	assert_non_null(post);
	assert_string_equal(post->error_type, "Job.Fatal");
	rapi_stop(&api);
	snprintf(sql, sizeof(sql), "SELECT status FROM reports WHERE id = '%s'", report_id);
	status = h_sql_value(rapi_db, sql);
	assert_string_equal(status, "failed");
	free(status);
	assert_true(h_sql_int(rapi_db, "SELECT COUNT(*) FROM orders") > 0);
	snprintf(path, sizeof(path), "%s/reports/%s.csv", rapi_objects_dir, report_id);
	assert_int_equal(access(path, F_OK), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_sqs_batch_reports_only_the_failed_records),
	    cmocka_unit_test(test_bad_event_and_unknown_handler),
	    cmocka_unit_test(test_report_export_writes_guarded_csv),
	    cmocka_unit_test(test_report_export_rejects_unknown_filters),
	};
	return cmocka_run_group_tests(tests, group_setup, NULL);
}
