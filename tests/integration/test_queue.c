/* test_queue.c - the MariaDB job queue run by real b4-worker processes:
 * no job runs twice across workers, a SIGKILLed worker's job runs again
 * after its lease and completes once, failures back off and end dead,
 * SIGTERM finishes or gives back running jobs, metrics. */
#include "harness.h"
#include "test_worker_support.h"

#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "b4/db.h"
#include "b4/queue.h"

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
static void start_worker(struct h_proc *p, const char *const *env)
{
	assert_int_equal(h_start(p, "b4-worker", db_name, env), 0);
	tw_track(p);
}

static void test_two_workers_never_run_one_job_twice(void **state)
{
	const char *env[] = {"B4_WORKER_TYPES=test.record", "B4_WORKER_CONCURRENCY=4",
			     "B4_WORKER_POLL=20ms", NULL};
	struct h_proc a, b;
	(void)state;

	assert_int_equal(h_sql(db_name,
			       "INSERT INTO jobs (type, payload)"
			       " SELECT 'test.record', '{\"sleep_ms\": 10}' FROM seq_1_to_300"),
			 0);
	start_worker(&a, env);
	start_worker(&b, env);
	assert_true(
	    tw_wait_sql(db_name, "SELECT COUNT(*) FROM jobs WHERE status = 'done'", 300, 60000));
	assert_int_equal(h_stop(&a, SIGTERM, 10000), 0);
	assert_int_equal(h_stop(&b, SIGTERM, 10000), 0);

	/* every job started exactly once and finished exactly once */
	assert_int_equal(count("SELECT COUNT(*) FROM test_job_runs WHERE what = 'start'"), 300);
	assert_int_equal(
	    count("SELECT COUNT(DISTINCT job_id) FROM test_job_runs WHERE what = 'start'"), 300);
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
	assert_true(tw_wait_sql(db_name, "SELECT COUNT(*) FROM test_job_runs WHERE what = 'start'",
				1, 10000));
	assert_int_equal(h_stop(&a, SIGKILL, 5000), 128 + SIGKILL);
	assert_int_equal(count("SELECT COUNT(*) FROM jobs WHERE status = 'running'"), 1);

	start_worker(&b, env);
	assert_true(
	    tw_wait_sql(db_name, "SELECT COUNT(*) FROM jobs WHERE status = 'done'", 1, 20000));
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
	assert_true(
	    tw_wait_sql(db_name, "SELECT COUNT(*) FROM jobs WHERE status = 'dead'", 1, 20000));

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

static void test_dead_job_is_retryable_and_enqueue_dedups(void **state)
{
	struct b4_db *db = tw_connect(db_name);
	long long id;
	(void)state;

	assert_non_null(db);
	/* one job per dedup key, whatever the number of enqueues */
	assert_int_equal(b4_queue_enqueue(db, "test.record", "{\"fail\": true}", "k:1", 0), 1);
	assert_int_equal(b4_queue_enqueue(db, "test.record", "{\"fail\": true}", "k:1", 0), 0);
	assert_int_equal(count("SELECT COUNT(*) FROM jobs"), 1);
	assert_int_equal(h_sql(db_name, "UPDATE jobs SET status = 'dead', attempts = 10,"
					" last_error = 'boom'"),
			 0);
	id = count("SELECT id FROM jobs");
	assert_int_equal(b4_queue_retry(db, (uint64_t)id), 1);
	assert_int_equal(count("SELECT COUNT(*) FROM jobs WHERE status = 'ready' AND attempts = 0"
			       " AND run_at <= CURRENT_TIMESTAMP(6)"),
			 1);
	/* only dead (or done) jobs can be retried */
	assert_int_equal(b4_queue_retry(db, (uint64_t)id), 0);
	assert_int_equal(b4_queue_retry(db, 999999), 0);
	b4_db_close(db);
}

/* b4_queue_flush: more jobs than one statement binds, dedup keys against
 * the table and inside the batch, delays, and a batch that overflowed
 * inserting nothing. */
static void test_batch_enqueues_many_jobs_with_dedup(void **state)
{
	struct b4_db *db = tw_connect(db_name);
	struct b4_queue_batch batch;
	char payload[64], dedup[32];
	(void)state;

	assert_non_null(db);
	assert_int_equal(b4_queue_enqueue(db, "test.record", "{\"n\": -1}", "batch:3", 0), 1);
	b4_queue_batch_init(&batch);
	for (int k = 0; k < 30; k++) {
		snprintf(payload, sizeof(payload), "{\"n\": %d}", k);
		snprintf(dedup, sizeof(dedup), "batch:%d", k == 29 ? 28 : k);
		assert_int_equal(
		    b4_queue_batch_add(&batch, "test.record", payload, dedup, k == 7 ? 3600 : 0),
		    0);
	}
	assert_int_equal(b4_queue_flush(db, &batch), 0);
	assert_int_equal(batch.n, 0);
	/* 30 adds, batch:3 was there, batch:28 twice */
	assert_int_equal(count("SELECT COUNT(*) FROM jobs"), 29);
	assert_int_equal(count("SELECT COUNT(*) FROM jobs WHERE dedup_key = 'batch:3'"
			       " AND payload = '{\"n\": -1}'"),
			 1);
	assert_int_equal(count("SELECT COUNT(*) FROM jobs WHERE dedup_key = 'batch:28'"
			       " AND payload = '{\"n\": 28}'"),
			 1);
	assert_int_equal(count("SELECT COUNT(*) FROM jobs WHERE payload = '{\"n\": 7}'"
			       " AND run_at > CURRENT_TIMESTAMP(6) + INTERVAL 3500 SECOND"),
			 1);
	assert_int_equal(count("SELECT COUNT(*) FROM jobs WHERE payload = '{\"n\": 22}'"
			       " AND run_at <= CURRENT_TIMESTAMP(6) AND status = 'ready'"),
			 1);
	/* one add too many: the whole batch is refused, nothing written */
	for (int k = 0; k <= B4_QUEUE_BATCH_MAX; k++) {
		snprintf(dedup, sizeof(dedup), "over:%d", k);
		b4_queue_batch_add(&batch, "test.record", "{}", dedup, 0);
	}
	assert_true(batch.failed);
	assert_int_equal(b4_queue_flush(db, &batch), -1);
	assert_int_equal(count("SELECT COUNT(*) FROM jobs WHERE dedup_key LIKE 'over:%'"), 0);
	b4_db_close(db);
}

static double metric_value(const char *text, const char *series)
{
	const char *p = strstr(text, series);

	return p ? atof(p + strlen(series)) : -1;
}

static void test_metrics_show_depth_and_oldest_age_per_type(void **state)
{
	const char *env[] = {"B4_WORKER_TYPES=test.record", "B4_WORKER_POLL=20ms", NULL};
	struct h_proc a;
	struct h_resp r;
	long long deadline;
	double depth = -1, age = -1;
	(void)state;

	/* ready for two minutes, of a type this worker does not consume */
	assert_int_equal(h_sql(db_name,
			       "INSERT INTO jobs (type, payload, run_at) VALUES"
			       " ('order.expire', '{}', CURRENT_TIMESTAMP(6) - INTERVAL 2 MINUTE),"
			       " ('order.expire', '{}', CURRENT_TIMESTAMP(6)),"
			       " ('order.expire', '{}', CURRENT_TIMESTAMP(6) + INTERVAL 1 HOUR)"),
			 0);
	start_worker(&a, env);
	deadline = h_now_ms() + 10000;
	while (h_now_ms() < deadline && depth != 2) {
		assert_int_equal(h_http(&r, "GET", h_url(&a, "/metrics"), NULL, NULL), 0);
		depth = metric_value(r.body, "worker_queue_depth{type=\"order.expire\"} ");
		age =
		    metric_value(r.body, "worker_queue_oldest_age_seconds{type=\"order.expire\"} ");
		h_resp_free(&r);
		h_sleep_ms(100);
	}
	assert_true(depth == 2); /* the future one is not ready */
	assert_true(age >= 120 && age < 3600);
	assert_int_equal(h_stop(&a, SIGTERM, 10000), 0);
	assert_int_equal(count("SELECT COUNT(*) FROM jobs WHERE status = 'ready'"), 3);
}

/* A worker with drain_env runs one job sleeping sleep_ms and gets SIGTERM
 * once the job started; it must exit 0 in time. */
static void sigterm_during_job(const char *drain_env, const char *payload)
{
	const char *env[] = {"B4_WORKER_TYPES=test.record", drain_env, "B4_WORKER_POLL=20ms", NULL};
	char sql[256];
	struct h_proc a;

	snprintf(sql, sizeof(sql), "INSERT INTO jobs (type, payload) VALUES ('test.record', '%s')",
		 payload);
	assert_int_equal(h_sql(db_name, sql), 0);
	start_worker(&a, env);
	assert_true(tw_wait_sql(db_name, "SELECT COUNT(*) FROM test_job_runs WHERE what = 'start'",
				1, 10000));
	assert_int_equal(h_stop(&a, SIGTERM, 15000), 0);
}

static void test_sigterm_finishes_short_job(void **state)
{
	(void)state;
	sigterm_during_job("B4_DRAIN_SECONDS=10s", "{\"sleep_ms\": 700}");
	assert_int_equal(count("SELECT COUNT(*) FROM jobs WHERE status = 'done'"), 1);
	assert_int_equal(count("SELECT COUNT(*) FROM test_job_runs WHERE what = 'done'"), 1);
}

static void test_sigterm_gives_back_long_job(void **state)
{
	(void)state;
	sigterm_during_job("B4_DRAIN_SECONDS=1s", "{\"sleep_ms\": 30000}");
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
		 " B4_PORT=0 '%s/bin/b4-worker' 2>&1 | grep -q \"B4_WORKER_TYPES: unknown job type "
		 "'no.such'\"",
		 H_FIELD_KEYS, H_BLIND_INDEX_KEY, h_build());
	assert_int_equal(system(cmd), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_two_workers_never_run_one_job_twice, reset,
					    tw_stop_all),
	    cmocka_unit_test_setup_teardown(test_sigkilled_worker_job_runs_again_once, reset,
					    tw_stop_all),
	    cmocka_unit_test_setup_teardown(test_failing_job_backs_off_then_dead, reset,
					    tw_stop_all),
	    cmocka_unit_test_setup_teardown(test_sigterm_finishes_short_job, reset, tw_stop_all),
	    cmocka_unit_test_setup_teardown(test_sigterm_gives_back_long_job, reset, tw_stop_all),
	    cmocka_unit_test_setup_teardown(test_dead_job_is_retryable_and_enqueue_dedups, reset,
					    tw_stop_all),
	    cmocka_unit_test_setup_teardown(test_batch_enqueues_many_jobs_with_dedup, reset,
					    tw_stop_all),
	    cmocka_unit_test_setup_teardown(test_metrics_show_depth_and_oldest_age_per_type, reset,
					    tw_stop_all),
	    cmocka_unit_test(test_unknown_type_refused_at_start),
	};

	return cmocka_run_group_tests(tests, group_setup, NULL);
}
