/* test_invoice.c - "invoice.issue" end to end: the real b4-worker (in
 * Lambda mode, fed by a runtime-API thread of this binary), the real
 * MariaDB, the local storage backend; the XML is checked with xmllint.
 * Orders are made directly with SQL. */
#include "harness.h"
#include "test_lambda_api.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#define SEED_PRODUCT  "01900000-0000-7000-8000-000000000101"
#define SEED_OFFER    "01900000-0000-7000-8000-000000000201"
#define SEED_PRODUCER "01900000-0000-7000-8000-000000000001"
#define CPF_TAKER     "52998224725"
#define CNPJ_TAKER    "11444777000161"

static int group_setup(void **state)
{
	(void)state;
	return rapi_suite_setup("b4_invoice");
}

/* Makes an order; paid_at is an SQL expression ("NULL", "UTC_TIMESTAMP(6)"). */
static void make_order(char id[37], const char *customer, const char *product, const char *offer,
		       const char *status, const char *paid_at, long long subtotal,
		       long long discount, long long interest)
{
	char sql[2048];

	assert_int_equal(b4_crypto_uuid7(id), 0);
	snprintf(sql, sizeof(sql),
		 "INSERT INTO orders (id, customer_id, offer_id, product_id, producer_id, status,"
		 " payment_method, installments, subtotal_cents, discount_cents, interest_cents,"
		 " total_cents, access_token_hash, paid_at) VALUES ('%s', '%s', '%s', '%s', '%s',"
		 " '%s', 'card', 1, %lld, %lld, %lld, %lld, REPEAT('a', 64), %s)",
		 id, customer, offer, product, SEED_PRODUCER, status, subtotal, discount, interest,
		 subtotal - discount + interest, paid_at);
	rapi_sql(sql);
}

/* Runs invoice.issue once per payload through Lambda mode; api holds the
 * recorded answers afterwards (the caller stops it). */
static void run_invoice_jobs(struct rapi *api, const char *const *payloads, size_t n)
{
	const char *env[] = {rapi_storage_env, NULL};

	RAPI_REQUIRE_LAMBDA_HOOK();
	assert_int_equal(rapi_start(api, payloads, n), 0);
	assert_int_equal(rapi_run_worker(api, "invoice.issue", rapi_db, env), 0);
	assert_int_equal(api->served, n);
	assert_int_equal(api->nposts, n);
}

#define count_sql(...) h_sql_intf(rapi_db, __VA_ARGS__)

/* Where the worker stored the order's document (sealed at rest). */
static char *stored_path(const char *order_id)
{
	static char path[1400];
	snprintf(path, sizeof(path), "%s/invoices/%s.xml", rapi_objects_dir, order_id);
	return path;
}

/* The document in clear (read back through the storage layer, which
 * checks the object at rest holds no CPF in clear) in a scratch file for
 * xmllint. */
static char *xml_path(const char *order_id)
{
	static char path[1400];
	char key[100], *data;
	size_t len = 0;
	FILE *f;

	snprintf(key, sizeof(key), "invoices/%s.xml", order_id);
	data = rapi_object_read(key, CPF_TAKER, &len);
	assert_non_null(data);
	snprintf(path, sizeof(path), "%s/plain-%s.xml", h_var(), order_id);
	f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, len, f), len);
	fclose(f);
	free(data);
	return path;
}

/* Output of an xmllint XPath query on the order's document (malloc'd). */
static char *xpath(const char *order_id, const char *expr)
{
	char cmd[2000], *out = calloc(1, 4096);
	FILE *p;
	size_t n;

	snprintf(cmd, sizeof(cmd), "xmllint --xpath \"%s\" '%s' 2>&1", expr, xml_path(order_id));
	p = popen(cmd, "r");
	assert_non_null(p);
	n = fread(out, 1, 4095, p);
	out[n] = '\0';
	pclose(p);
	while (n > 0 && (out[n - 1] == '\n' || out[n - 1] == ' '))
		out[--n] = '\0';
	return out;
}

static void assert_xpath(const char *order_id, const char *expr, const char *want)
{
	char *got = xpath(order_id, expr);
	if (strcmp(got, want) != 0)
		fail_msg("%s: got '%s', want '%s'", expr, got, want);
	free(got);
}

static void test_paid_order_gets_one_wellformed_invoice_even_when_run_twice(void **state)
{
	char customer[37], order[37], payload[128], cmd[1600], *dps_id, *first_xml, *again;
	const char *payloads[] = {payload, payload};
	struct rapi api;
	size_t len;
	FILE *f;
	(void)state;

	rapi_make_customer(customer, CPF_TAKER, "cpf", "Maria <Compradora> & Filhos", NULL);
	make_order(order, customer, SEED_PRODUCT, SEED_OFFER, "paid", "UTC_TIMESTAMP(6)", 29700,
		   2970, 1234);
	snprintf(payload, sizeof(payload), "{\"order_id\":\"%s\"}", order);

	run_invoice_jobs(&api, payloads, 2);
	assert_non_null(rapi_find(&api, "/invocation/req-1/response"));
	assert_non_null(rapi_find(&api, "/invocation/req-2/response"));
	rapi_stop(&api);

	/* one row, one document */
	assert_int_equal(count_sql("SELECT COUNT(*) FROM invoices WHERE order_id = '%s'", order),
			 1);
	assert_int_equal(
	    count_sql("SELECT amount_cents FROM invoices WHERE order_id = '%s'", order),
	    29700 - 2970 + 1234);
	dps_id =
	    h_sql_value(rapi_db, "SELECT dps_id FROM invoices ORDER BY created_at DESC LIMIT 1");
	assert_non_null(dps_id);
	assert_int_equal(strlen(dps_id), 45);
	/* DPS + municipality + CNPJ issuer (2) + document + series 00001 + number */
	assert_memory_equal(dps_id,
			    "DPS3550308211222333000181"
			    "00001",
			    30);
	{
		char storage_key[100], *stored;
		snprintf(storage_key, sizeof(storage_key), "invoices/%s.xml", order);
		stored =
		    h_sql_value(rapi_db, "SELECT storage_key FROM invoices ORDER BY created_at DESC"
					 " LIMIT 1");
		assert_string_equal(stored, storage_key);
		free(stored);
	}

	/* well-formed, and says what the order says */
	snprintf(cmd, sizeof(cmd), "xmllint --noout '%s'", xml_path(order));
	assert_int_equal(system(cmd), 0);
	assert_xpath(order, "namespace-uri(/*)", "http://www.sped.fazenda.gov.br/nfse");
	assert_xpath(order, "string(//*[local-name()='infDPS']/@Id)", dps_id);
	assert_xpath(order, "string(//*[local-name()='tpAmb'])", "2");
	assert_xpath(order, "string(//*[local-name()='toma']/*[local-name()='CPF'])", CPF_TAKER);
	assert_xpath(order, "string(//*[local-name()='toma']/*[local-name()='xNome'])",
		     "Maria <Compradora> & Filhos");
	assert_xpath(order, "string(//*[local-name()='prest']/*[local-name()='CNPJ'])",
		     "11222333000181");
	assert_xpath(order, "string(//*[local-name()='vServ'])", "309.34");
	assert_xpath(order, "string(//*[local-name()='vDescIncond'])", "29.70");
	assert_xpath(order, "string(//*[local-name()='cTribNac'])", "080201");
	assert_xpath(order, "string(//*[local-name()='cLocEmi'])", "3550308");

	/* a third run changes nothing, not even the document */
	f = fopen(xml_path(order), "rb");
	assert_non_null(f);
	first_xml = calloc(1, 65536);
	len = fread(first_xml, 1, 65535, f);
	fclose(f);
	assert_true(len > 100);
	payloads[0] = payload;
	run_invoice_jobs(&api, payloads, 1);
	rapi_stop(&api);
	f = fopen(xml_path(order), "rb");
	again = calloc(1, 65536);
	assert_int_equal(fread(again, 1, 65535, f), len);
	fclose(f);
	assert_string_equal(first_xml, again);
	assert_int_equal(count_sql("SELECT COUNT(*) FROM invoices WHERE order_id = '%s'", order),
			 1);
	/* the plain CPF never reaches the logs */
	assert_false(h_logs_contain(CPF_TAKER));
	free(first_xml);
	free(again);
	free(dps_id);
}

static void test_numbers_are_unique_per_order_and_cnpj_taker(void **state)
{
	char customer[37], a[37], b[37], pa[128], pb[128];
	const char *payloads[] = {pa, pb, pa};
	char *id_a, *id_b, *next = NULL, sql[256];
	struct rapi api;
	(void)state;

	rapi_make_customer(customer, CNPJ_TAKER, "cnpj", "Empresa Compradora Ltda", NULL);
	make_order(a, customer, SEED_PRODUCT, SEED_OFFER, "paid", "UTC_TIMESTAMP(6)", 10000, 0, 0);
	make_order(b, customer, SEED_PRODUCT, SEED_OFFER, "paid", "UTC_TIMESTAMP(6)", 20000, 0, 0);
	snprintf(pa, sizeof(pa), "{\"order_id\":\"%s\"}", a);
	snprintf(pb, sizeof(pb), "{\"order_id\":\"%s\"}", b);
	run_invoice_jobs(&api, payloads, 3);
	rapi_stop(&api);

	snprintf(sql, sizeof(sql), "SELECT dps_id FROM invoices WHERE order_id = '%s'", a);
	id_a = h_sql_value(rapi_db, sql);
	snprintf(sql, sizeof(sql), "SELECT dps_id FROM invoices WHERE order_id = '%s'", b);
	id_b = h_sql_value(rapi_db, sql);
	assert_non_null(id_a);
	assert_non_null(id_b);
	assert_string_not_equal(id_a, id_b);
	/* consecutive numbers in one series, in the order the jobs ran, and
	 * the series' next number is the one after the last handed out */
	assert_true(atoll(id_b + 30) == atoll(id_a + 30) + 1);
	next = h_sql_value(rapi_db,
			   "SELECT next_number FROM invoice_sequences WHERE series = '00001'");
	assert_non_null(next);
	assert_true(atoll(next) == atoll(id_b + 30) + 1);
	free(next);
	assert_xpath(a, "string(//*[local-name()='toma']/*[local-name()='CNPJ'])", CNPJ_TAKER);
	assert_xpath(b, "string(//*[local-name()='vServ'])", "200.00");
	assert_xpath(a, "count(//*[local-name()='vDescIncond'])", "0");
	free(id_a);
	free(id_b);
}

static void test_guarantee_end_products_wait_for_the_guarantee(void **state)
{
	char product[37], offer[37], customer[37], fresh[37], old[37], p1[128], p2[128];
	char sql[1024];
	const char *payloads[] = {p1, p2};
	const struct rapi_post *post;
	struct rapi api;
	(void)state;

	assert_int_equal(b4_crypto_uuid7(product), 0);
	assert_int_equal(b4_crypto_uuid7(offer), 0);
	snprintf(sql, sizeof(sql),
		 "INSERT INTO products (id, producer_id, name, type, guarantee_days, status,"
		 " invoice_on) VALUES ('%s', '%s', 'Mentoria \"C\" & Redes', 'service', 7,"
		 " 'active', 'guarantee_end')",
		 product, SEED_PRODUCER);
	rapi_sql(sql);
	snprintf(sql, sizeof(sql),
		 "INSERT INTO offers (id, product_id, code, name, price_cents) VALUES"
		 " ('%s', '%s', 'GARANT0001', 'Mentoria', 50000)",
		 offer, product);
	rapi_sql(sql);
	rapi_make_customer(customer, "11144477735", "cpf", "Joao Garantia", NULL);
	make_order(fresh, customer, product, offer, "paid", "UTC_TIMESTAMP(6)", 50000, 0, 0);
	make_order(old, customer, product, offer, "paid", "UTC_TIMESTAMP(6) - INTERVAL 8 DAY",
		   50000, 0, 0);
	snprintf(p1, sizeof(p1), "{\"order_id\":\"%s\"}", fresh);
	snprintf(p2, sizeof(p2), "{\"order_id\":\"%s\"}", old);
	run_invoice_jobs(&api, payloads, 2);

	/* paid now: not yet (a retry, so the queue runs it again later) */
	post = rapi_find(&api, "/invocation/req-1/error");
	assert_non_null(post);
	assert_string_equal(post->error_type, "Job.Retry");
	assert_non_null(strstr(post->body, "guarantee"));
	assert_int_equal(count_sql("SELECT COUNT(*) FROM invoices WHERE order_id = '%s'", fresh),
			 0);
	assert_int_equal(access(stored_path(fresh), F_OK), -1);
	/* paid 8 days ago with a 7-day guarantee: issued */
	assert_non_null(rapi_find(&api, "/invocation/req-2/response"));
	rapi_stop(&api);
	assert_int_equal(count_sql("SELECT COUNT(*) FROM invoices WHERE order_id = '%s'", old), 1);
	{
		char *desc = xpath(old, "string(//*[local-name()='xDescServ'])");
		assert_non_null(strstr(desc, "Mentoria \"C\" & Redes - pedido "));
		free(desc);
	}
}

static void test_unpaid_refunded_and_bad_payloads_issue_nothing(void **state)
{
	char customer[37], waiting[37], refunded[37], pw[128], pr[128];
	const char *payloads[] = {pw, pr, "{\"order_id\":\"../../etc/passwd\"}",
				  "{\"order_id\":\"01900000-0000-7000-8000-00000000dead\"}"};
	const struct rapi_post *post;
	struct rapi api;
	(void)state;

	rapi_make_customer(customer, "39053344705", "cpf", "Sem Pagamento", NULL);
	make_order(waiting, customer, SEED_PRODUCT, SEED_OFFER, "waiting_payment", "NULL", 29700, 0,
		   0);
	make_order(refunded, customer, SEED_PRODUCT, SEED_OFFER, "refunded", "UTC_TIMESTAMP(6)",
		   29700, 0, 0);
	snprintf(pw, sizeof(pw), "{\"order_id\":\"%s\"}", waiting);
	snprintf(pr, sizeof(pr), "{\"order_id\":\"%s\"}", refunded);
	run_invoice_jobs(&api, payloads, 4);

	post = rapi_find(&api, "/invocation/req-1/error");
	assert_non_null(post);
	assert_string_equal(post->error_type, "Job.Fatal");
	/* refunded before the invoice: nothing to issue, the job is done */
	assert_non_null(rapi_find(&api, "/invocation/req-2/response"));
	post = rapi_find(&api, "/invocation/req-3/error");
	assert_non_null(post);
	assert_string_equal(post->error_type, "Job.Fatal");
	post = rapi_find(&api, "/invocation/req-4/error");
	assert_non_null(post);
	assert_string_equal(post->error_type, "Job.Fatal");
	rapi_stop(&api);
	assert_int_equal(count_sql("SELECT COUNT(*) FROM invoices WHERE order_id = '%s'", waiting),
			 0);
	assert_int_equal(count_sql("SELECT COUNT(*) FROM invoices WHERE order_id = '%s'", refunded),
			 0);
}

static void test_lost_document_is_rewritten_with_the_same_number(void **state)
{
	char customer[37], order[37], payload[128], sql[256], *before, *after;
	const char *payloads[] = {payload};
	struct rapi api;
	(void)state;

	rapi_make_customer(customer, "71428793860", "cpf", "Perdido", NULL);
	make_order(order, customer, SEED_PRODUCT, SEED_OFFER, "paid", "UTC_TIMESTAMP(6)", 5000, 0,
		   0);
	snprintf(payload, sizeof(payload), "{\"order_id\":\"%s\"}", order);
	run_invoice_jobs(&api, payloads, 1);
	rapi_stop(&api);
	snprintf(sql, sizeof(sql), "SELECT dps_id FROM invoices WHERE order_id = '%s'", order);
	before = h_sql_value(rapi_db, sql);
	assert_non_null(before);

	/* as if the worker died after the commit and before the put */
	assert_int_equal(unlink(stored_path(order)), 0);
	run_invoice_jobs(&api, payloads, 1);
	assert_non_null(rapi_find(&api, "/invocation/req-1/response"));
	rapi_stop(&api);
	after = h_sql_value(rapi_db, sql);
	assert_string_equal(before, after);
	assert_xpath(order, "string(//*[local-name()='infDPS']/@Id)", before);
	assert_int_equal(count_sql("SELECT COUNT(*) FROM invoices WHERE order_id = '%s'", order),
			 1);
	free(before);
	free(after);
}

/* Through the queue, the way checkout enqueues it: the job runs, and run
 * again (at-least-once delivery) it issues nothing new. */
static void test_queued_job_issues_once(void **state)
{
	char customer[37], order[37], sql[1024];
	const char *env[] = {rapi_storage_env, "B4_WORKER_TYPES=invoice.issue",
			     "B4_WORKER_POLL=20ms", NULL};
	struct h_proc worker;
	long long deadline;
	(void)state;

	rapi_make_customer(customer, "86288366757", "cpf", "Fila", NULL);
	make_order(order, customer, SEED_PRODUCT, SEED_OFFER, "paid", "UTC_TIMESTAMP(6)", 29700, 0,
		   0);
	snprintf(sql, sizeof(sql),
		 "INSERT INTO jobs (type, payload, dedup_key) VALUES ('invoice.issue',"
		 " '{\"order_id\":\"%s\"}', 'invoice:%s')",
		 order, order);
	rapi_sql(sql);
	assert_int_equal(h_start(&worker, "b4-worker", rapi_db, env), 0);
	for (int round = 0; round < 2; round++) {
		deadline = h_now_ms() + 15000;
		while (h_now_ms() < deadline &&
		       count_sql("SELECT COUNT(*) FROM jobs WHERE dedup_key = 'invoice:%s'"
				 " AND status = 'done'",
				 order) != 1)
			h_sleep_ms(50);
		assert_int_equal(
		    count_sql("SELECT COUNT(*) FROM jobs WHERE dedup_key = 'invoice:%s'"
			      " AND status = 'done'",
			      order),
		    1);
		assert_int_equal(
		    count_sql("SELECT COUNT(*) FROM invoices WHERE order_id = '%s'", order), 1);
		/* delivered again, as after a lost acknowledgement */
		snprintf(sql, sizeof(sql),
			 "UPDATE jobs SET status = 'ready', run_at = UTC_TIMESTAMP(6)"
			 " WHERE dedup_key = 'invoice:%s'",
			 order);
		if (round == 0)
			rapi_sql(sql);
	}
	assert_int_equal(h_stop(&worker, SIGTERM, 10000), 0);
	assert_int_equal(
	    count_sql("SELECT attempts FROM jobs WHERE dedup_key = 'invoice:%s'", order), 2);
	assert_int_equal(access(stored_path(order), F_OK), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_paid_order_gets_one_wellformed_invoice_even_when_run_twice),
	    cmocka_unit_test(test_numbers_are_unique_per_order_and_cnpj_taker),
	    cmocka_unit_test(test_guarantee_end_products_wait_for_the_guarantee),
	    cmocka_unit_test(test_unpaid_refunded_and_bad_payloads_issue_nothing),
	    cmocka_unit_test(test_lost_document_is_rewritten_with_the_same_number),
	    cmocka_unit_test(test_queued_job_issues_once),
	};
	return cmocka_run_group_tests(tests, group_setup, NULL);
}
