/* test_awscreds.c - the AWS credentials chain (b4/awscreds.h) against a
 * loopback stand-in of the ECS container endpoint and of EC2 IMDSv2
 * (harness/awsmeta.h): the order of the chain, caching until close to
 * expiry, refresh, a failed refresh keeping a valid set, the container
 * authorization token (value and file), IMDSv2's token, many threads on
 * one provider, and b4-worker starting in production with nothing but a
 * task role.  test_storage_s3 shows the fetched keys signing S3 requests. */
#include "awsmeta.h"
#include "harness.h"

#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "b4/awscreds.h"
#include "b4/httpc.h"

static struct awsmeta meta;
static const char *fake_env[16];

static const char *fake_get(const char *name)
{
	size_t len = strlen(name);

	for (size_t i = 0; fake_env[i]; i++)
		if (strncmp(fake_env[i], name, len) == 0 && fake_env[i][len] == '=')
			return fake_env[i] + len + 1;
	return NULL;
}

/* Sets the fake environment to the NULL-terminated list. */
static void use_env(const char *const *list)
{
	size_t n = 0;

	for (; list[n] && n < 15; n++)
		fake_env[n] = list[n];
	fake_env[n] = NULL;
}

static char ecs_endpoint[64], full_uri[128], imds_endpoint[64];

static int setup(void **state)
{
	(void)state;
	if (b4_httpc_global_init() < 0 || awsmeta_start(&meta, "ASIAROLEKEY1", "role-secret-1") < 0)
		return -1;
	snprintf(ecs_endpoint, sizeof(ecs_endpoint), "B4_AWS_ECS_ENDPOINT=http://127.0.0.1:%d",
		 meta.port);
	snprintf(full_uri, sizeof(full_uri),
		 "AWS_CONTAINER_CREDENTIALS_FULL_URI=http://127.0.0.1:%d/v2/credentials/task",
		 meta.port);
	snprintf(imds_endpoint, sizeof(imds_endpoint),
		 "AWS_EC2_METADATA_SERVICE_ENDPOINT=http://127.0.0.1:%d", meta.port);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	awsmeta_stop(&meta);
	return 0;
}

/* Resets what the stand-in serves and has counted. */
static int reset(void **state)
{
	(void)state;
	pthread_mutex_lock(&meta.lock);
	meta.expires_in_seconds = 3600;
	meta.fail = false;
	meta.required_auth[0] = '\0';
	meta.documents = meta.token_puts = meta.refused = 0;
	pthread_mutex_unlock(&meta.lock);
	return 0;
}

static struct b4_awscreds *provider(const char *const *list)
{
	char err[256] = "";
	struct b4_awscreds *c;

	use_env(list);
	c = b4_awscreds_from_env(fake_get, err, sizeof(err));
	if (!c)
		print_message("provider: %s\n", err);
	return c;
}

static void expect_error(const char *const *list, const char *setting)
{
	char err[256] = "";

	use_env(list);
	assert_null(b4_awscreds_from_env(fake_get, err, sizeof(err)));
	print_message("refused: %s\n", err);
	assert_non_null(strstr(err, setting));
}

static void test_chain_order(void **state)
{
	const char *const all[] = {"AWS_ACCESS_KEY_ID=AKIASTATIC",
				   "AWS_SECRET_ACCESS_KEY=static-secret",
				   "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI=/v2/credentials/task",
				   ecs_endpoint,
				   imds_endpoint,
				   NULL};
	const char *const container[] = {
	    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI=/v2/credentials/task", ecs_endpoint,
	    imds_endpoint, NULL};
	const char *const imds[] = {imds_endpoint, NULL};
	struct b4_awscreds_value v;
	struct b4_awscreds *c;
	(void)state;

	c = provider(all);
	assert_non_null(c);
	assert_int_equal(b4_awscreds_source(c), B4_AWSCREDS_ENV);
	assert_int_equal(b4_awscreds_get(c, &v), 0);
	assert_string_equal(v.access_key_id, "AKIASTATIC");
	assert_string_equal(v.session_token, "");
	assert_int_equal(v.expires_at, 0);
	b4_awscreds_free(c);
	assert_int_equal(awsmeta_count(&meta, &meta.documents), 0);

	c = provider(container);
	assert_non_null(c);
	assert_int_equal(b4_awscreds_source(c), B4_AWSCREDS_CONTAINER);
	b4_awscreds_free(c);
	c = provider(imds);
	assert_non_null(c);
	assert_int_equal(b4_awscreds_source(c), B4_AWSCREDS_IMDS);
	b4_awscreds_free(c);
	/* nothing is fetched until first use */
	assert_int_equal(awsmeta_count(&meta, &meta.documents), 0);
}

static void test_inconsistent_environment_is_refused(void **state)
{
	const char *const no_secret[] = {"AWS_ACCESS_KEY_ID=AKIASTATIC", NULL};
	const char *const far_http[] = {
	    "AWS_CONTAINER_CREDENTIALS_FULL_URI=http://10.0.0.7/v2/credentials", NULL};
	const char *const relative_bad[] = {"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI=v2/creds",
					    NULL};
	const char *const nothing[] = {"AWS_EC2_METADATA_DISABLED=true", NULL};
	(void)state;

	expect_error(no_secret, "AWS_SECRET_ACCESS_KEY");
	expect_error(far_http, "AWS_CONTAINER_CREDENTIALS_FULL_URI");
	expect_error(relative_bad, "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI");
	expect_error(nothing, "AWS_ACCESS_KEY_ID");
}

static void test_container_credentials_cached_until_near_expiry(void **state)
{
	const char *const env[] = {"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI=/v2/credentials/task",
				   ecs_endpoint, NULL};
	struct b4_awscreds *c = provider(env);
	struct b4_awscreds_value v;
	long long now = (long long)time(NULL);
	(void)state;

	assert_non_null(c);
	for (int i = 0; i < 20; i++) {
		assert_int_equal(b4_awscreds_get(c, &v), 0);
		assert_string_equal(v.access_key_id, "ASIAROLEKEY1");
		assert_string_equal(v.secret_access_key, "role-secret-1");
		assert_string_equal(v.session_token, "session-1");
	}
	assert_true(v.expires_at >= now + 3590 && v.expires_at <= now + 3610);
	assert_int_equal(awsmeta_count(&meta, &meta.documents), 1);
	assert_int_equal(b4_awscreds_fetches(c), 1);
	b4_awscreds_value_cleanse(&v);
	b4_awscreds_free(c);
}

static void test_refresh_before_expiry(void **state)
{
	const char *const env[] = {"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI=/v2/credentials/task",
				   ecs_endpoint, NULL};
	struct b4_awscreds *c = provider(env);
	struct b4_awscreds_value v;
	(void)state;

	assert_non_null(c);
	/* 2 minutes left is inside the 5-minute refresh margin: every use
	 * asks again, and takes the new set */
	meta.expires_in_seconds = 120;
	assert_int_equal(b4_awscreds_get(c, &v), 0);
	assert_string_equal(v.session_token, "session-1");
	assert_int_equal(b4_awscreds_get(c, &v), 0);
	assert_string_equal(v.session_token, "session-2");
	pthread_mutex_lock(&meta.lock);
	meta.expires_in_seconds = 3600;
	pthread_mutex_unlock(&meta.lock);
	assert_int_equal(b4_awscreds_get(c, &v), 0);
	assert_string_equal(v.session_token, "session-3");
	assert_int_equal(b4_awscreds_get(c, &v), 0);
	assert_string_equal(v.session_token, "session-3");
	assert_int_equal(awsmeta_count(&meta, &meta.documents), 3);
	b4_awscreds_free(c);
}

static void test_failed_refresh_keeps_a_valid_set(void **state)
{
	const char *const env[] = {full_uri, NULL};
	struct b4_awscreds *c = provider(env);
	struct b4_awscreds_value v;
	(void)state;

	assert_non_null(c);
	meta.expires_in_seconds = 120;
	assert_int_equal(b4_awscreds_get(c, &v), 0);
	assert_string_equal(v.session_token, "session-1");
	pthread_mutex_lock(&meta.lock);
	meta.fail = true;
	pthread_mutex_unlock(&meta.lock);
	/* the refresh fails; two minutes of validity remain: keep going */
	assert_int_equal(b4_awscreds_get(c, &v), 0);
	assert_string_equal(v.session_token, "session-1");
	assert_int_equal(b4_awscreds_fetches(c), 2);
	/* the endpoint back: after the short pause it is asked again */
	pthread_mutex_lock(&meta.lock);
	meta.fail = false;
	meta.expires_in_seconds = 3600;
	pthread_mutex_unlock(&meta.lock);
	h_sleep_ms(1100);
	assert_int_equal(b4_awscreds_get(c, &v), 0);
	assert_string_equal(v.session_token, "session-2");
	b4_awscreds_free(c);
}

static void test_expired_or_missing_credentials_fail(void **state)
{
	const char *const env[] = {full_uri, NULL};
	char port_uri[128];
	const char *const dead[] = {port_uri, NULL};
	struct b4_awscreds *c;
	struct b4_awscreds_value v;
	(void)state;

	meta.expires_in_seconds = -60;
	c = provider(env);
	assert_non_null(c);
	assert_int_equal(b4_awscreds_get(c, &v), -1);
	assert_string_equal(v.access_key_id, "");
	b4_awscreds_free(c);

	snprintf(port_uri, sizeof(port_uri),
		 "AWS_CONTAINER_CREDENTIALS_FULL_URI=http://127.0.0.1:%d/v2/credentials/task",
		 h_free_port());
	c = provider(dead);
	assert_non_null(c);
	assert_int_equal(b4_awscreds_get(c, &v), -1);
	/* a dead endpoint is not asked again by every caller at once */
	assert_int_equal(b4_awscreds_get(c, &v), -1);
	assert_int_equal(b4_awscreds_fetches(c), 1);
	b4_awscreds_free(c);
}

static void test_full_uri_authorization_token(void **state)
{
	char file_path[1200], file_env[1300];
	const char *const with_token[] = {full_uri,
					  "AWS_CONTAINER_AUTHORIZATION_TOKEN=Bearer b4-pod", NULL};
	const char *const wrong_token[] = {full_uri,
					   "AWS_CONTAINER_AUTHORIZATION_TOKEN=Bearer nope", NULL};
	const char *const with_file[] = {full_uri, file_env, NULL};
	struct b4_awscreds *c;
	struct b4_awscreds_value v;
	FILE *f;
	(void)state;

	snprintf(meta.required_auth, sizeof(meta.required_auth), "Bearer b4-pod");
	c = provider(with_token);
	assert_int_equal(b4_awscreds_get(c, &v), 0);
	assert_string_equal(v.access_key_id, "ASIAROLEKEY1");
	b4_awscreds_free(c);

	c = provider(wrong_token);
	assert_int_equal(b4_awscreds_get(c, &v), -1);
	assert_int_equal(awsmeta_count(&meta, &meta.refused), 1);
	b4_awscreds_free(c);

	snprintf(file_path, sizeof(file_path), "%s/awscreds-token-%d", h_var(), (int)getpid());
	snprintf(file_env, sizeof(file_env), "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE=%s",
		 file_path);
	f = fopen(file_path, "w");
	assert_non_null(f);
	fputs("Bearer b4-pod\n", f);
	fclose(f);
	c = provider(with_file);
	assert_int_equal(b4_awscreds_get(c, &v), 0);
	assert_string_equal(v.access_key_id, "ASIAROLEKEY1");
	b4_awscreds_free(c);
	assert_int_equal(awsmeta_count(&meta, &meta.documents), 2);
}

static void test_imds_v2_token_then_role(void **state)
{
	const char *const env[] = {imds_endpoint, NULL};
	struct b4_awscreds *c = provider(env);
	struct b4_awscreds_value v;
	(void)state;

	assert_non_null(c);
	assert_int_equal(b4_awscreds_get(c, &v), 0);
	assert_string_equal(v.access_key_id, "ASIAROLEKEY1");
	assert_string_equal(v.secret_access_key, "role-secret-1");
	assert_string_equal(v.session_token, "session-1");
	assert_int_equal(awsmeta_count(&meta, &meta.token_puts), 1);
	/* every metadata GET carried the token (IMDSv1 would be refused) */
	assert_int_equal(awsmeta_count(&meta, &meta.refused), 0);
	b4_awscreds_free(c);
}

struct shared_run {
	struct b4_awscreds *c;
	int ok;
};

static void *hammer(void *arg)
{
	struct shared_run *run = arg;
	struct b4_awscreds_value v;

	for (int i = 0; i < 200; i++)
		if (b4_awscreds_get(run->c, &v) == 0 && strcmp(v.session_token, "session-1") == 0 &&
		    strcmp(v.secret_access_key, "role-secret-1") == 0)
			run->ok++;
	return NULL;
}

static void test_threads_share_one_fetch(void **state)
{
	const char *const env[] = {"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI=/v2/credentials/task",
				   ecs_endpoint, NULL};
	struct shared_run runs[8];
	pthread_t threads[8];
	struct b4_awscreds *c = provider(env);
	(void)state;

	assert_non_null(c);
	for (int i = 0; i < 8; i++) {
		runs[i].c = c;
		runs[i].ok = 0;
		assert_int_equal(pthread_create(&threads[i], NULL, hammer, &runs[i]), 0);
	}
	for (int i = 0; i < 8; i++) {
		pthread_join(threads[i], NULL);
		assert_int_equal(runs[i].ok, 200);
	}
	assert_int_equal(awsmeta_count(&meta, &meta.documents), 1);
	b4_awscreds_free(c);
}

/* The Fargate case: production settings, S3 storage, no AWS keys at all,
 * only the task role's endpoint.  The worker starts and stays up. */
static void test_worker_starts_with_only_the_task_role(void **state)
{
	const char *const env[] = {"B4_ENV=production",
				   "B4_WORKER_TYPES=report.export,invoice.issue",
				   "B4_STORAGE=s3",
				   "B4_S3_BUCKET=b4you-objects",
				   "B4_S3_ENDPOINT=http://127.0.0.1:9",
				   "B4_S3_PATH_STYLE=true",
				   "AWS_ACCESS_KEY_ID=",
				   "AWS_SECRET_ACCESS_KEY=",
				   "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI=/v2/credentials/task",
				   ecs_endpoint,
				   NULL};
	const char *db = h_db_create("awscreds", false);
	struct h_proc worker;
	struct h_resp r;
	(void)state;

	assert_non_null(db);
	assert_int_equal(h_start(&worker, "b4-worker", db, env), 0);
	assert_int_equal(h_http(&r, "GET", h_url(&worker, "/healthz"), NULL, NULL), 0);
	assert_int_equal(r.status, 200);
	h_resp_free(&r);
	h_sleep_ms(300);
	assert_true(h_alive(&worker));
	assert_int_equal(h_stop(&worker, SIGTERM, 10000), 0);
	assert_false(h_logs_contain("role-secret-1"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup(test_chain_order, reset),
	    cmocka_unit_test_setup(test_inconsistent_environment_is_refused, reset),
	    cmocka_unit_test_setup(test_container_credentials_cached_until_near_expiry, reset),
	    cmocka_unit_test_setup(test_refresh_before_expiry, reset),
	    cmocka_unit_test_setup(test_failed_refresh_keeps_a_valid_set, reset),
	    cmocka_unit_test_setup(test_expired_or_missing_credentials_fail, reset),
	    cmocka_unit_test_setup(test_full_uri_authorization_token, reset),
	    cmocka_unit_test_setup(test_imds_v2_token_then_role, reset),
	    cmocka_unit_test_setup(test_threads_share_one_fetch, reset),
	    cmocka_unit_test_setup(test_worker_starts_with_only_the_task_role, reset),
	};
	return cmocka_run_group_tests_name("awscreds", tests, setup, teardown);
}
