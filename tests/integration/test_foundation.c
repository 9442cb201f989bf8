/* test_foundation.c - the walking skeleton over HTTP: real binaries, real
 * MariaDB.  Health, readiness, metrics, errors, request ids, limits,
 * migrations, auth guard, graceful drain. */
#include "harness.h"

#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <time.h>
#include <cmocka.h>

static const char *db_name;

static int group_setup(void **state)
{
	(void)state;
	db_name = h_db_create("b4_foundation", true);
	return db_name ? 0 : -1;
}

static void start_or_fail(struct h_proc *p, const char *binary, const char *const *env)
{
	assert_int_equal(h_start(p, binary, db_name, env), 0);
}

static void test_every_service_health_and_metrics(void **state)
{
	static const char *const services[] = {"b4-api", "b4-backoffice", "b4-checkout",
					       "b4-worker"};
	(void)state;

	for (size_t i = 0; i < sizeof(services) / sizeof(services[0]); i++) {
		struct h_proc p;
		struct h_resp r;
		char path[2200], cmd[2400];
		FILE *f;

		start_or_fail(&p, services[i], NULL);
		assert_int_equal(h_http(&r, "GET", h_url(&p, "/healthz"), NULL, NULL), 0);
		assert_int_equal(r.status, 200);
		assert_string_equal(h_json_str(&r, "status"), "ok");
		h_resp_free(&r);
		assert_true(h_wait_status(h_url(&p, "/readyz"), 200, 5000));

		/* an unknown path: JSON 404 in the API error shape */
		assert_int_equal(h_http(&r, "GET", h_url(&p, "/v1/nope"), NULL, NULL), 0);
		assert_int_equal(r.status, 404);
		assert_string_equal(h_json_str(&r, "error.type"), "not_found");
		assert_non_null(h_resp_header(&r, "X-Request-Id"));
		assert_string_equal(h_json_str(&r, "request_id"),
				    h_resp_header(&r, "X-Request-Id"));
		h_resp_free(&r);

		/* /metrics must satisfy promtool */
		assert_int_equal(h_http(&r, "GET", h_url(&p, "/metrics"), NULL, NULL), 0);
		assert_int_equal(r.status, 200);
		assert_non_null(strstr(
		    r.body,
		    "http_requests_total{method=\"GET\",route=\"/healthz\",status_code=\"200\"}"));
		assert_non_null(strstr(r.body, "in_flight_requests"));
		assert_non_null(strstr(r.body, "db_pool_connections_open"));
		snprintf(path, sizeof(path), "%s/metrics-%s.txt", h_var(), services[i]);
		f = fopen(path, "w");
		assert_non_null(f);
		fwrite(r.body, 1, r.body_len, f);
		fclose(f);
		h_resp_free(&r);
		snprintf(cmd, sizeof(cmd), "promtool check metrics < '%s' >&2", path);
		assert_int_equal(system(cmd), 0);

		assert_int_equal(h_stop(&p, SIGTERM, 10000), 0);
	}
}

static void test_method_not_allowed_has_allow(void **state)
{
	struct h_proc p;
	struct h_resp r;
	(void)state;

	start_or_fail(&p, "b4-checkout", NULL);
	assert_int_equal(h_http(&r, "DELETE", h_url(&p, "/v1/offers/DEMOOFFER1"), NULL, NULL), 0);
	assert_int_equal(r.status, 405);
	assert_string_equal(h_resp_header(&r, "Allow"), "GET");
	assert_string_equal(h_json_str(&r, "error.type"), "invalid_request_error");
	assert_string_equal(h_json_str(&r, "error.code"), "method_not_allowed");
	h_resp_free(&r);
	h_stop(&p, SIGTERM, 10000);
}

static void test_request_id_kept_or_generated(void **state)
{
	struct h_proc p;
	struct h_resp r;
	const char *kept[] = {"X-Request-Id: trace-abc_123.4", NULL};
	const char *bad[] = {"X-Request-Id: has spaces and <html>", NULL};
	char long_id[200 + 20];
	const char *too_long[] = {long_id, NULL};
	(void)state;

	memset(long_id, 'a', sizeof(long_id) - 1);
	long_id[sizeof(long_id) - 1] = '\0';
	memcpy(long_id, "X-Request-Id: ", 14);
	start_or_fail(&p, "b4-checkout", NULL);

	assert_int_equal(h_http(&r, "GET", h_url(&p, "/v1/offers/DEMOOFFER1"), NULL, kept), 0);
	assert_int_equal(r.status, 200);
	assert_string_equal(h_resp_header(&r, "X-Request-Id"), "trace-abc_123.4");
	h_resp_free(&r);

	assert_int_equal(h_http(&r, "GET", h_url(&p, "/v1/nope"), NULL, bad), 0);
	assert_int_equal(strlen(h_resp_header(&r, "X-Request-Id")), 32);
	assert_string_not_equal(h_resp_header(&r, "X-Request-Id"), "has spaces and <html>");
	h_resp_free(&r);

	assert_int_equal(h_http(&r, "GET", h_url(&p, "/v1/nope"), NULL, too_long), 0);
	assert_int_equal(strlen(h_resp_header(&r, "X-Request-Id")), 32);
	h_resp_free(&r);
	h_stop(&p, SIGTERM, 10000);
}

static void test_body_over_limit_is_413(void **state)
{
	struct h_proc p;
	struct h_resp r;
	const char *env[] = {"B4_MAX_BODY_BYTES=1024", NULL};
	char *big = malloc(8192);
	(void)state;

	memset(big, 'x', 8191);
	big[0] = '"';
	big[8190] = '"';
	big[8191] = '\0';
	start_or_fail(&p, "b4-checkout", env);
	assert_int_equal(h_http(&r, "POST", h_url(&p, "/v1/offers/DEMOOFFER1"), big, NULL), 0);
	assert_int_equal(r.status, 413);
	h_resp_free(&r);
	/* the service is still fine afterwards */
	assert_true(h_wait_status(h_url(&p, "/healthz"), 200, 2000));
	free(big);
	h_stop(&p, SIGTERM, 10000);
}

static void test_protected_route_needs_valid_token(void **state)
{
	struct h_proc p;
	struct h_resp r;
	char header[1200];
	const char *with_token[] = {header, NULL};
	(void)state;

	start_or_fail(&p, "b4-api", NULL);
	assert_int_equal(h_http(&r, "GET", h_url(&p, "/v1/me"), NULL, NULL), 0);
	assert_int_equal(r.status, 401);
	assert_string_equal(h_json_str(&r, "error.type"), "authentication_error");
	h_resp_free(&r);

	snprintf(header, sizeof(header), "%s",
		 h_bearer("01900000-0000-7000-8000-000000000001", "member"));
	assert_int_equal(h_http(&r, "GET", h_url(&p, "/v1/me"), NULL, with_token), 0);
	assert_int_equal(r.status, 200);
	assert_string_equal(h_json_str(&r, "email"), "producer@b4you.dev");
	h_resp_free(&r);

	/* a tampered signature is refused */
	header[strlen(header) - 2] = header[strlen(header) - 2] == 'A' ? 'B' : 'A';
	assert_int_equal(h_http(&r, "GET", h_url(&p, "/v1/me"), NULL, with_token), 0);
	assert_int_equal(r.status, 401);
	h_resp_free(&r);
	h_stop(&p, SIGTERM, 10000);
}

static void test_migrations_twice_change_nothing(void **state)
{
	char *before, *after;
	long long count;
	(void)state;

	before = h_sql_value(
	    db_name, "SELECT GROUP_CONCAT(CONCAT(table_name, ':', column_name, ':', column_type)"
		     " ORDER BY table_name, ordinal_position SEPARATOR ',')"
		     " FROM information_schema.columns WHERE table_schema = DATABASE()");
	count = h_sql_int(db_name, "SELECT COUNT(*) FROM schema_migrations");
	assert_non_null(before);
	assert_true(count >= 1);
	/* h_db_create on an existing database applies nothing new */
	assert_non_null(h_db_create("b4_foundation", true));
	after = h_sql_value(
	    db_name, "SELECT GROUP_CONCAT(CONCAT(table_name, ':', column_name, ':', column_type)"
		     " ORDER BY table_name, ordinal_position SEPARATOR ',')"
		     " FROM information_schema.columns WHERE table_schema = DATABASE()");
	assert_string_equal(before, after);
	assert_int_equal(h_sql_int(db_name, "SELECT COUNT(*) FROM schema_migrations"), count);
	assert_int_equal(h_sql_int(db_name, "SELECT COUNT(*) FROM users"), 3);
	free(before);
	free(after);
}

static void test_concurrent_migrators_apply_once(void **state)
{
	char cmd[4096], name[64];
	(void)state;

	/* two b4-migrate processes race on a fresh database: the named lock
	 * makes one wait, and every migration is recorded once */
	snprintf(name, sizeof(name), "b4_race_%d", (int)getpid());
	snprintf(cmd, sizeof(cmd),
		 "cd '%s' && export B4_DB_HOST=127.0.0.1 B4_DB_PORT=%d B4_DB_USER=b4 "
		 "B4_DB_PASSWORD=b4dev"
		 " B4_DB_NAME=%s; '%s/bin/b4-migrate' --create-database >/dev/null & "
		 "'%s/bin/b4-migrate' --create-database >/dev/null; a=$?; wait $!; b=$?;"
		 " [ $a -eq 0 ] && [ $b -eq 0 ]",
		 h_top(), h_db_port(), name, h_build(), h_build());
	assert_int_equal(system(cmd), 0);
	snprintf(cmd, sizeof(cmd),
		 "SELECT COUNT(*) - COUNT(DISTINCT version) FROM %s.schema_migrations", name);
	assert_int_equal(h_sql_int(NULL, cmd), 0);
	snprintf(cmd, sizeof(cmd), "SELECT COUNT(*) FROM %s.schema_migrations", name);
	assert_true(h_sql_int(NULL, cmd) >= 1);
}

static void test_readyz_follows_the_database(void **state)
{
	char dir[1100], cmd[2400], env_port[64];
	const char *env[] = {env_port, "B4_DB_SOCKET=", NULL};
	struct h_proc p;
	int port;
	FILE *f;
	(void)state;

	/* a database of our own that this test can stop */
	snprintf(dir, sizeof(dir), "%s/readyz-db", h_var());
	snprintf(cmd, sizeof(cmd), "'%s/deploy/dev/mariadb.sh' start '%s' 0", h_top(), dir);
	f = popen(cmd, "r");
	assert_non_null(f);
	assert_int_equal(fscanf(f, "%d", &port), 1);
	assert_int_equal(pclose(f), 0);
	snprintf(env_port, sizeof(env_port), "B4_DB_PORT=%d", port);

	assert_int_equal(h_start(&p, "b4-checkout", "mysql", env), 0);
	assert_true(h_wait_status(h_url(&p, "/readyz"), 200, 5000));

	snprintf(cmd, sizeof(cmd), "'%s/deploy/dev/mariadb.sh' stop '%s'", h_top(), dir);
	assert_int_equal(system(cmd), 0);
	assert_true(h_wait_status(h_url(&p, "/readyz"), 503, 10000));
	/* alive all the same */
	assert_true(h_wait_status(h_url(&p, "/healthz"), 200, 1000));

	snprintf(cmd, sizeof(cmd), "'%s/deploy/dev/mariadb.sh' start '%s' %d >/dev/null", h_top(),
		 dir, port);
	assert_int_equal(system(cmd), 0);
	assert_true(h_wait_status(h_url(&p, "/readyz"), 200, 10000));
	h_stop(&p, SIGTERM, 10000);
	snprintf(cmd, sizeof(cmd), "'%s/deploy/dev/mariadb.sh' stop '%s'", h_top(), dir);
	assert_int_equal(system(cmd), 0);
}

static void test_bad_setting_stops_startup(void **state)
{
	char cmd[2400];
	(void)state;

	snprintf(cmd, sizeof(cmd), "B4_PORT=abc '%s/bin/b4-api' 2>/dev/null", h_build());
	assert_int_equal(WEXITSTATUS(system(cmd)), 2);
	snprintf(cmd, sizeof(cmd), "B4_JWT_SECRET=short '%s/bin/b4-api' 2>/dev/null", h_build());
	assert_int_equal(WEXITSTATUS(system(cmd)), 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_every_service_health_and_metrics),
	    cmocka_unit_test(test_method_not_allowed_has_allow),
	    cmocka_unit_test(test_request_id_kept_or_generated),
	    cmocka_unit_test(test_body_over_limit_is_413),
	    cmocka_unit_test(test_protected_route_needs_valid_token),
	    cmocka_unit_test(test_migrations_twice_change_nothing),
	    cmocka_unit_test(test_concurrent_migrators_apply_once),
	    cmocka_unit_test(test_readyz_follows_the_database),
	    cmocka_unit_test(test_bad_setting_stops_startup),
	};
	return cmocka_run_group_tests_name("foundation", tests, group_setup, NULL);
}
