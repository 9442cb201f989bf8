/* test_storage_s3.c - the S3 backend of libcommon storage against a real
 * S3-compatible server: s3rver (npm, tests/s3/package.json) started here
 * on loopback with its default credentials (S3RVER / S3RVER).  The npm
 * install runs on first use (`npm ci --prefix tests/s3`). */
#include "awsmeta.h"
#include "harness.h"
#include "test_lambda_api.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "b4/crypto.h"
#include "b4/httpc.h"
#include "b4/storage.h"

#define BUCKET "b4-test"

static pid_t s3_pid = -1;
static int s3_port;
static char endpoint[64];

static int ensure_s3rver(void)
{
	char path[1200], cmd[1400];

	snprintf(path, sizeof(path), "%s/tests/s3/node_modules/.bin/s3rver", h_top());
	if (access(path, X_OK) == 0)
		return 0;
	snprintf(cmd, sizeof(cmd),
		 "timeout 300 npm ci --prefix '%s/tests/s3' --no-audit --no-fund >&2", h_top());
	if (system(cmd) != 0 || access(path, X_OK) != 0) {
		fprintf(stderr, "test_storage_s3: npm ci --prefix tests/s3 failed\n");
		return -1;
	}
	return 0;
}

static int start_s3rver(void)
{
	char bin[1200], data_dir[1200], log_path[1200], cmd[2600];
	long long deadline;

	snprintf(bin, sizeof(bin), "%s/tests/s3/node_modules/.bin/s3rver", h_top());
	snprintf(data_dir, sizeof(data_dir), "%s/s3rver-%d", h_var(), (int)getpid());
	snprintf(log_path, sizeof(log_path), "%s/s3rver-%d.log", h_var(), (int)getpid());
	snprintf(cmd, sizeof(cmd), "rm -rf '%s' && mkdir -p '%s'", data_dir, data_dir);
	if (system(cmd) != 0)
		return -1;
	s3_pid = fork();
	if (s3_pid < 0)
		return -1;
	if (s3_pid == 0) {
		rapi_redirect_output(log_path);
		/* s3rver's continuation tokens use DES, a legacy cipher in OpenSSL 3 */
		setenv("NODE_OPTIONS", "--openssl-legacy-provider", 1);
		execl(bin, bin, "-d", data_dir, "-a", "127.0.0.1", "-p", "0", "--configure-bucket",
		      BUCKET, (char *)NULL);
		_exit(127);
	}
	deadline = h_now_ms() + 20000;
	while (h_now_ms() < deadline) {
		FILE *f = fopen(log_path, "r");
		char line[256];
		while (f && fgets(line, sizeof(line), f)) {
			const char *at = strstr(line, "listening on 127.0.0.1:");
			if (at)
				s3_port = atoi(at + strlen("listening on 127.0.0.1:"));
		}
		if (f)
			fclose(f);
		if (s3_port > 0) {
			snprintf(endpoint, sizeof(endpoint), "http://127.0.0.1:%d", s3_port);
			return 0;
		}
		if (waitpid(s3_pid, NULL, WNOHANG) == s3_pid) {
			s3_pid = -1;
			break;
		}
		h_sleep_ms(50);
	}
	fprintf(stderr, "test_storage_s3: s3rver did not start (log %s)\n", log_path);
	return -1;
}

static int group_setup(void **state)
{
	(void)state;
	if (b4_httpc_global_init() < 0 || ensure_s3rver() < 0)
		return -1;
	return start_s3rver();
}

static int group_teardown(void **state)
{
	(void)state;
	if (s3_pid > 0) {
		kill(s3_pid, SIGTERM);
		waitpid(s3_pid, NULL, 0);
	}
	return 0;
}

static struct b4_storage *open_s3_paged(const char *access_key, int page_size)
{
	char err[256] = "";
	struct b4_storage_config cfg = {
	    .backend = B4_STORAGE_S3,
	    .bucket = BUCKET,
	    .endpoint = endpoint,
	    .region = "us-east-1",
	    .path_style = true,
	    .access_key_id = access_key,
	    .secret_access_key = "S3RVER",
	    .list_page_size = page_size,
	};
	struct b4_storage *st = b4_storage_new(&cfg, err, sizeof(err));
	if (!st)
		fprintf(stderr, "storage: %s\n", err);
	return st;
}

static struct b4_storage *open_s3(const char *access_key)
{
	return open_s3_paged(access_key, 0);
}

static void test_put_get_exists_roundtrip(void **state)
{
	struct b4_storage *st = open_s3("S3RVER");
	static const char bytes[] = {'x', '\0', 'y', '\n', (char)0xfe};
	char *data = NULL;
	size_t len = 0;
	(void)state;

	assert_non_null(st);
	assert_string_equal(b4_storage_backend_name(st), "s3");
	assert_int_equal(b4_storage_put(st, "invoices/a-1.xml", "<a/>", 4, "application/xml"), 0);
	assert_int_equal(b4_storage_get(st, "invoices/a-1.xml", &data, &len), 1);
	assert_int_equal(len, 4);
	assert_string_equal(data, "<a/>");
	free(data);
	assert_int_equal(b4_storage_exists(st, "invoices/a-1.xml"), 1);

	/* binary bytes survive, a second put replaces the object */
	assert_int_equal(b4_storage_put(st, "invoices/a-1.xml", bytes, sizeof(bytes), NULL), 0);
	assert_int_equal(b4_storage_get(st, "invoices/a-1.xml", &data, &len), 1);
	assert_int_equal(len, sizeof(bytes));
	assert_memory_equal(data, bytes, sizeof(bytes));
	free(data);

	/* missing keys */
	assert_int_equal(b4_storage_get(st, "invoices/none.xml", &data, &len), 0);
	assert_null(data);
	assert_int_equal(b4_storage_exists(st, "invoices/none.xml"), 0);
	b4_storage_free(st);
}

static void test_large_object_roundtrip(void **state)
{
	struct b4_storage *st = open_s3("S3RVER");
	size_t big = 3 * 1024 * 1024 + 17; /* more than httpc's default 1 MiB */
	char *blob = malloc(big), *data = NULL;
	size_t len = 0;
	(void)state;

	assert_non_null(st);
	for (size_t i = 0; i < big; i++)
		blob[i] = (char)('a' + i % 26);
	assert_int_equal(b4_storage_put(st, "reports/big.csv", blob, big, "text/csv"), 0);
	assert_int_equal(b4_storage_get(st, "reports/big.csv", &data, &len), 1);
	assert_int_equal(len, big);
	assert_memory_equal(data, blob, big);
	free(data);
	free(blob);
	b4_storage_free(st);
}

static void test_list_by_prefix_sorted(void **state)
{
	struct b4_storage *st = open_s3("S3RVER");
	static const char *const keys[] = {"list/b.txt", "list/a.txt", "list/sub/c.txt",
					   "listing.txt", "other/d.txt"};
	char **found = NULL;
	size_t count = 0;
	(void)state;

	assert_non_null(st);
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		assert_int_equal(b4_storage_put(st, keys[i], keys[i], strlen(keys[i]), NULL), 0);
	assert_int_equal(b4_storage_list(st, "list/", &found, &count), 0);
	assert_int_equal(count, 3);
	assert_string_equal(found[0], "list/a.txt");
	assert_string_equal(found[1], "list/b.txt");
	assert_string_equal(found[2], "list/sub/c.txt");
	b4_storage_list_free(found, count);

	assert_int_equal(b4_storage_list(st, "list", &found, &count), 0);
	assert_int_equal(count, 4);
	assert_string_equal(found[3], "listing.txt");
	b4_storage_list_free(found, count);

	assert_int_equal(b4_storage_list(st, "nothing-here/", &found, &count), 0);
	assert_int_equal(count, 0);
	b4_storage_list_free(found, count);
	b4_storage_free(st);
}

static void test_list_follows_continuation_tokens(void **state)
{
	struct b4_storage *st = open_s3("S3RVER");
	char key[64], **found = NULL;
	size_t count = 0;
	(void)state;

	assert_non_null(st);
	for (int i = 0; i < 7; i++) {
		snprintf(key, sizeof(key), "page/k%04d", i);
		assert_int_equal(b4_storage_put(st, key, "1", 1, NULL), 0);
	}
	b4_storage_free(st);
	/* pages of 2 keys: four requests, three continuation tokens */
	st = open_s3_paged("S3RVER", 2);
	assert_int_equal(b4_storage_list(st, "page/", &found, &count), 0);
	assert_int_equal(count, 7);
	for (size_t i = 0; i < count; i++) {
		snprintf(key, sizeof(key), "page/k%04zu", i);
		assert_string_equal(found[i], key);
	}
	b4_storage_list_free(found, count);
	b4_storage_free(st);
}

static void test_unknown_access_key_is_refused(void **state)
{
	struct b4_storage *st = open_s3("NOT-A-KEY");
	char *data = NULL;
	size_t len = 0;
	(void)state;

	assert_non_null(st);
	assert_int_equal(b4_storage_put(st, "denied/x", "x", 1, NULL), -1);
	assert_int_equal(b4_storage_exists(st, "denied/x"), -1);
	b4_storage_free(st);
	st = open_s3("S3RVER");
	assert_int_equal(b4_storage_get(st, "denied/x", &data, &len), 0);
	b4_storage_free(st);
}

static void test_settings_from_aws_environment(void **state)
{
	struct b4_storage *st;
	char err[256];
	char *data = NULL;
	size_t len = 0;
	(void)state;

	setenv("B4_STORAGE", "s3", 1);
	setenv("B4_S3_BUCKET", BUCKET, 1);
	setenv("B4_S3_ENDPOINT", endpoint, 1);
	setenv("B4_S3_PATH_STYLE", "true", 1);
	setenv("AWS_REGION", "sa-east-1", 1);
	setenv("AWS_ACCESS_KEY_ID", "S3RVER", 1);
	setenv("AWS_SECRET_ACCESS_KEY", "S3RVER", 1);
	setenv("AWS_SESSION_TOKEN", "session-token-value", 1);
	st = b4_storage_from_env(err, sizeof(err));
	assert_non_null(st);
	assert_int_equal(b4_storage_put(st, "env/one", "1", 1, NULL), 0);
	assert_int_equal(b4_storage_get(st, "env/one", &data, &len), 1);
	assert_string_equal(data, "1");
	free(data);
	b4_storage_free(st);
}

/* No static keys in this process (an earlier test set them). */
static void clear_static_keys(void)
{
	unsetenv("AWS_ACCESS_KEY_ID");
	unsetenv("AWS_SECRET_ACCESS_KEY");
	unsetenv("AWS_SESSION_TOKEN");
}

/* A put and a get through b4_storage_from_env; 0 when both worked. */
static int env_roundtrip(const char *key)
{
	struct b4_storage *st;
	char err[256];
	char *data = NULL;
	size_t len = 0;
	int rc = -1;

	setenv("B4_STORAGE", "s3", 1);
	setenv("B4_S3_BUCKET", BUCKET, 1);
	setenv("B4_S3_ENDPOINT", endpoint, 1);
	setenv("B4_S3_PATH_STYLE", "true", 1);
	st = b4_storage_from_env(err, sizeof(err));
	assert_non_null(st);
	if (b4_storage_put(st, key, "role", 4, NULL) == 0 &&
	    b4_storage_get(st, key, &data, &len) == 1 && strcmp(data, "role") == 0)
		rc = 0;
	free(data);
	b4_storage_free(st);
	return rc;
}

/* The credentials of a task role (ECS endpoint) and of an instance role
 * (IMDSv2) sign the requests: s3rver accepts them, and refuses the same
 * requests when the role hands out a key it does not know. */
static void test_role_credentials_sign_requests(void **state)
{
	struct awsmeta role, wrong;
	char uri[160];
	(void)state;

	clear_static_keys();
	assert_int_equal(awsmeta_start(&role, "S3RVER", "S3RVER"), 0);
	snprintf(uri, sizeof(uri), "http://127.0.0.1:%d/v2/credentials/task", role.port);
	setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", uri, 1);
	assert_int_equal(env_roundtrip("role/task"), 0);
	assert_int_equal(awsmeta_count(&role, &role.documents), 1);
	unsetenv("AWS_CONTAINER_CREDENTIALS_FULL_URI");

	snprintf(uri, sizeof(uri), "http://127.0.0.1:%d", role.port);
	setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", uri, 1);
	assert_int_equal(env_roundtrip("role/instance"), 0);
	assert_int_equal(awsmeta_count(&role, &role.token_puts), 1);
	assert_int_equal(awsmeta_count(&role, &role.documents), 2);
	awsmeta_stop(&role);

	assert_int_equal(awsmeta_start(&wrong, "NOT-A-KEY", "S3RVER"), 0);
	snprintf(uri, sizeof(uri), "http://127.0.0.1:%d", wrong.port);
	setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", uri, 1);
	assert_int_equal(env_roundtrip("role/denied"), -1);
	assert_int_equal(awsmeta_count(&wrong, &wrong.documents), 1);
	awsmeta_stop(&wrong);
	unsetenv("AWS_EC2_METADATA_SERVICE_ENDPOINT");
}

/* The invoice job with B4_STORAGE=s3: the document lands in the bucket.
 * cred_env: the worker's credential settings. */
static void invoice_job_writes_to_s3(const char *document, const char *const *cred_env)
{
	char customer[37], order[37], sql[2048], payload[128], key[100], s3_env[2][128];
	const char *events[] = {payload};
	const char *env[12] = {"B4_STORAGE=s3", "B4_S3_BUCKET=" BUCKET, "B4_S3_PATH_STYLE=true",
			       s3_env[0]};
	size_t n = 4;
	struct b4_storage *st;
	struct rapi api;
	char *data = NULL;
	size_t len = 0;

	for (size_t i = 0; cred_env[i] && n < 11; i++)
		env[n++] = cred_env[i];
	env[n] = NULL;
	snprintf(s3_env[0], sizeof(s3_env[0]), "B4_S3_ENDPOINT=%s", endpoint);
	if (!rapi_db)
		assert_int_equal(rapi_suite_setup("b4_storage_s3"), 0);
	rapi_make_customer(customer, document, "cpf", "Nuvem", NULL);
	assert_int_equal(b4_crypto_uuid7(order), 0);
	snprintf(sql, sizeof(sql),
		 "INSERT INTO orders (id, customer_id, offer_id, product_id, producer_id, status,"
		 " payment_method, subtotal_cents, total_cents, access_token_hash, paid_at)"
		 " VALUES ('%s', '%s', '01900000-0000-7000-8000-000000000201',"
		 " '01900000-0000-7000-8000-000000000101', '01900000-0000-7000-8000-000000000001',"
		 " 'paid', 'pix', 12345, 12345, REPEAT('c', 64), UTC_TIMESTAMP(6))",
		 order, customer);
	rapi_sql(sql);
	snprintf(payload, sizeof(payload), "{\"order_id\":\"%s\"}", order);

	assert_int_equal(rapi_start(&api, events, 1), 0);
	assert_int_equal(rapi_run_worker(&api, "invoice.issue", rapi_db, env), 0);
	assert_non_null(rapi_find(&api, "/invocation/req-1/response"));
	rapi_stop(&api);

	st = open_s3("S3RVER");
	snprintf(key, sizeof(key), "invoices/%s.xml", order);
	assert_int_equal(b4_storage_get(st, key, &data, &len), 1);
	assert_non_null(strstr(data, "xmlns=\"http://www.sped.fazenda.gov.br/nfse\""));
	assert_non_null(strstr(data, "<vServ>123.45</vServ>"));
	snprintf(sql, sizeof(sql), "<CPF>%s</CPF>", document);
	assert_non_null(strstr(data, sql));
	free(data);
	b4_storage_free(st);
	/* nothing went to the local directory */
	assert_int_equal(access(rapi_objects_dir, F_OK), -1);
}

static void test_invoice_job_writes_to_s3(void **state)
{
	const char *const keys[] = {"AWS_ACCESS_KEY_ID=S3RVER", "AWS_SECRET_ACCESS_KEY=S3RVER",
				    NULL};
	(void)state;

	RAPI_REQUIRE_LAMBDA_HOOK();
	invoice_job_writes_to_s3("52998224725", keys);
}

/* The worker with nothing but a task role writes its invoice to S3. */
static void test_invoice_job_with_task_role(void **state)
{
	struct awsmeta role;
	char relative[] = "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI=/v2/credentials/task";
	char ecs[96];
	const char *const creds[] = {relative, ecs, NULL};
	(void)state;

	RAPI_REQUIRE_LAMBDA_HOOK();
	clear_static_keys();
	assert_int_equal(awsmeta_start(&role, "S3RVER", "S3RVER"), 0);
	snprintf(ecs, sizeof(ecs), "B4_AWS_ECS_ENDPOINT=http://127.0.0.1:%d", role.port);
	invoice_job_writes_to_s3("11144477735", creds);
	assert_true(awsmeta_count(&role, &role.documents) >= 1);
	awsmeta_stop(&role);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_put_get_exists_roundtrip),
	    cmocka_unit_test(test_large_object_roundtrip),
	    cmocka_unit_test(test_list_by_prefix_sorted),
	    cmocka_unit_test(test_list_follows_continuation_tokens),
	    cmocka_unit_test(test_unknown_access_key_is_refused),
	    cmocka_unit_test(test_settings_from_aws_environment),
	    cmocka_unit_test(test_invoice_job_writes_to_s3),
	    cmocka_unit_test(test_role_credentials_sign_requests),
	    cmocka_unit_test(test_invoice_job_with_task_role),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
