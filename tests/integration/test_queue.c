/* test_queue.c - the MariaDB job queue run by real b4-worker processes:
 * no job runs twice across workers, a SIGKILLed worker's job runs again
 * after its lease and completes once, failures back off and end dead,
 * SIGTERM finishes or gives back running jobs, metrics. */
#include "harness.h"

#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

static const char *db_name;

static int group_setup(void **state)
{
	(void)state;
	db_name = h_db_create("b4_queue", false);
	if (!db_name)
		return -1;
	return h_sql(db_name, "CREATE TABLE test_job_runs ("
			      " id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,"
			      " job_id BIGINT UNSIGNED NOT NULL, owner VARCHAR(64) NOT NULL,"
			      " attempt INT NOT NULL, what VARCHAR(8) NOT NULL,"
			      " at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6))");
}

/* Every worker a test starts, so a failed test cannot leave one running
 * into the next. */
static struct h_proc *started[8];
static size_t nstarted;

static int stop_all(void **state)
{
	(void)state;
	for (size_t i = 0; i < nstarted; i++)
		if (h_alive(started[i]))
			h_stop(started[i], SIGKILL, 5000);
	nstarted = 0;
	return 0;
}

static int reset(void **state)
{
	(void)state;
	if (h_sql(db_name, "DELETE FROM test_job_runs") < 0)
		return -1;
	return h_sql(db_name, "DELETE FROM jobs");
}

static long long count(const char *sql)
{
	return h_sql_int(db_name, sql);
}

/* Waits until the SQL count reaches want (bounded). */
static bool wait_count(const char *sql, long long want, int timeout_ms)
{
	long long deadline = h_now_ms() + timeout_ms;

	while (h_now_ms() < deadline) {
		if (count(sql) >= want)
			return true;
		h_sleep_ms(50);
	}
	return count(sql) >= want;
}

static void start_worker(struct h_proc *p, const char *const *env)
{
	assert_int_equal(h_start(p, "b4-worker", db_name, env), 0);
	if (nstarted < sizeof(started) / sizeof(started[0]))
		started[nstarted++] = p;
}

static void test_two_workers_never_run_one_job_twice(void **state)
{
	const char *env[] = {"B4_WORKER_TYPES=test.record", "B4_WORKER_CONCURRENCY=4",
			     "B4_WORKER_POLL=20ms", NULL};
	struct h_proc a, b;
	(void)state;

	assert_int_equal(h_sql(db_name, "INSERT INTO jobs (type, payload)"
					" SELECT 'test.record', '{\"sleep_ms\": 10}' FROM seq_1_to_300"),
			 0);
	start_worker(&a, env);
	start_worker(&b, env);
	assert_true(wait_count("SELECT COUNT(*) FROM jobs WHERE status = 'done'", 300, 60000));
	assert_int_equal(h_stop(&a, SIGTERM, 10000), 0);
	assert_int_equal(h_stop(&b, SIGTERM, 10000), 0);

	/* every job started exactly once and finished exactly once */
	assert_int_equal(count("SELECT COUNT(*) FROM test_job_runs WHERE what = 'start'"), 300);
	assert_int_equal(count("SELECT COUNT(DISTINCT job_id) FROM test_job_runs WHERE what = 'start'"),
			 300);
	assert_int_equal(count("SELECT COUNT(*) FROM test_job_runs WHERE what = 'done'"), 300);
	assert_int_equal(count("SELECT COUNT(*) FROM jobs WHERE attempts <> 1"), 0);
	/* both processes took part (owner is host:pid:thread) */
	assert_int_equal(count("SELECT COUNT(DISTINCT SUBSTRING_INDEX(owner, ':', 2))"
			       " FROM test_job_runs"),
			 2);
}

static void test_sigkilled_worker_job_runs_again_once(void **state)
{
	const char *env[] = {"B4_WORKER_TYPES=test.record", "B4_WORKER_LEASE=2s",
			     "B4_WORKER_POLL=50ms", NULL};
	struct h_proc a, b;
	(void)state;

	assert_int_equal(h_sql(db_name, "INSERT INTO jobs (type, payload)"
					" VALUES ('test.record', '{\"sleep_ms\": 1500}')"),
			 0);
	start_worker(&a, env);
	assert_true(wait_count("SELECT COUNT(*) FROM test_job_runs WHERE what = 'start'", 1, 10000));
	assert_int_equal(h_stop(&a, SIGKILL, 5000), 128 + SIGKILL);
	assert_int_equal(count("SELECT COUNT(*) FROM jobs WHERE status = 'running'"), 1);

	start_worker(&b, env);
	assert_true(wait_count("SELECT COUNT(*) FROM jobs WHERE status = 'done'", 1, 20000));
	assert_int_equal(h_stop(&b, SIGTERM, 10000), 0);

	assert_int_equal(count("SELECT COUNT(*) FROM test_job_runs WHERE what = 'start'"), 2);
	assert_int_equal(count("SELECT COUNT(*) FROM test_job_runs WHERE what = 'done'"), 1);
	assert_int_equal(count("SELECT attempts FROM jobs"), 2);
	/* the second run was another process */
	assert_int_equal(count("SELECT COUNT(DISTINCT SUBSTRING_INDEX(owner, ':', 2))"
			       " FROM test_job_runs"),
			 2);
}

static void test_failing_job_backs_off_then_dead(void **state)
{
	const char *env[] = {"B4_WORKER_TYPES=test.record", "B4_WORKER_BACKOFF_SCALE=0.1",
			     "B4_WORKER_POLL=20ms", NULL};
	struct h_proc a;
	struct h_resp r;
	char *err;
	(void)state;

	assert_int_equal(h_sql(db_name, "INSERT INTO jobs (type, payload, max_attempts)"
					" VALUES ('test.record', '{\"fail\": true}', 3)"),
			 0);
	start_worker(&a, env);
	assert_true(wait_count("SELECT COUNT(*) FROM jobs WHERE status = 'dead'", 1, 20000));

	assert_int_equal(count("SELECT attempts FROM jobs"), 3);
	assert_int_equal(count("SELECT COUNT(*) FROM test_job_runs WHERE what = 'start'"), 3);
	assert_int_equal(count("SELECT COUNT(*) FROM test_job_runs WHERE what = 'done'"), 0);
	err = h_sql_value(db_name, "SELECT last_error FROM jobs");
	assert_non_null(err);
	assert_string_equal(err, "asked to fail (attempt 3)");
	free(err);
	/* backoff: 5 s * 2^(n-1) * scale 0.1, minus at most 20% jitter, grows */
	assert_true(count("SELECT TIMESTAMPDIFF(MICROSECOND, a.at, b.at) FROM test_job_runs a"
			  " JOIN test_job_runs b ON b.attempt = 2 WHERE a.attempt = 1") >= 400000);
	assert_true(count("SELECT TIMESTAMPDIFF(MICROSECOND, a.at, b.at) FROM test_job_runs a"
			  " JOIN test_job_runs b ON b.attempt = 3 WHERE a.attempt = 2") >= 800000);

	/* the dead job shows in the metrics */
	assert_int_equal(h_http(&r, "GET", h_url(&a, "/metrics"), NULL, NULL), 0);
	assert_non_null(strstr(r.body, "worker_jobs_dead_total{type=\"test.record\"} 1"));
	assert_non_null(strstr(r.body, "worker_jobs_failed_total{type=\"test.record\"} 2"));
	assert_non_null(strstr(r.body, "worker_queue_depth{type=\"test.record\"} 0"));
	h_resp_free(&r);
	assert_int_equal(h_stop(&a, SIGTERM, 10000), 0);
}

static void test_sigterm_finishes_short_job(void **state)
{
	const char *env[] = {"B4_WORKER_TYPES=test.record", "B4_DRAIN_SECONDS=10s",
			     "B4_WORKER_POLL=20ms", NULL};
	struct h_proc a;
	(void)state;

	assert_int_equal(h_sql(db_name, "INSERT INTO jobs (type, payload)"
					" VALUES ('test.record', '{\"sleep_ms\": 700}')"),
			 0);
	start_worker(&a, env);
	assert_true(wait_count("SELECT COUNT(*) FROM test_job_runs WHERE what = 'start'", 1, 10000));
	assert_int_equal(h_stop(&a, SIGTERM, 15000), 0);
	assert_int_equal(count("SELECT COUNT(*) FROM jobs WHERE status = 'done'"), 1);
	assert_int_equal(count("SELECT COUNT(*) FROM test_job_runs WHERE what = 'done'"), 1);
}

static void test_sigterm_gives_back_long_job(void **state)
{
	const char *env[] = {"B4_WORKER_TYPES=test.record", "B4_DRAIN_SECONDS=1s",
			     "B4_WORKER_POLL=20ms", NULL};
	struct h_proc a;
	(void)state;

	assert_int_equal(h_sql(db_name, "INSERT INTO jobs (type, payload)"
					" VALUES ('test.record', '{\"sleep_ms\": 30000}')"),
			 0);
	start_worker(&a, env);
	assert_true(wait_count("SELECT COUNT(*) FROM test_job_runs WHERE what = 'start'", 1, 10000));
	assert_int_equal(h_stop(&a, SIGTERM, 10000), 0);
	/* released: ready again at once, the interrupted attempt not counted */
	assert_int_equal(count("SELECT COUNT(*) FROM jobs WHERE status = 'ready' AND attempts = 0"
			       " AND lease_owner IS NULL"),
			 1);
	assert_int_equal(count("SELECT COUNT(*) FROM test_job_runs WHERE what = 'done'"), 0);
}

static void test_unknown_type_refused_at_start(void **state)
{
	char cmd[4096];
	(void)state;

	snprintf(cmd, sizeof(cmd),
		 "B4_ENV=test B4_WORKER_TYPES=no.such B4_FIELD_KEYS=%s B4_BLIND_INDEX_KEY=%s"
		 " B4_PORT=0 '%s/bin/b4-worker' 2>&1 | grep -q \"B4_WORKER_TYPES: unknown job type 'no.such'\"",
		 H_FIELD_KEYS, H_BLIND_INDEX_KEY, h_build());
	assert_int_equal(system(cmd), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_two_workers_never_run_one_job_twice, reset, stop_all),
		cmocka_unit_test_setup_teardown(test_sigkilled_worker_job_runs_again_once, reset, stop_all),
		cmocka_unit_test_setup_teardown(test_failing_job_backs_off_then_dead, reset, stop_all),
		cmocka_unit_test_setup_teardown(test_sigterm_finishes_short_job, reset, stop_all),
		cmocka_unit_test_setup_teardown(test_sigterm_gives_back_long_job, reset, stop_all),
		cmocka_unit_test(test_unknown_type_refused_at_start),
	};

	return cmocka_run_group_tests(tests, group_setup, NULL);
}
