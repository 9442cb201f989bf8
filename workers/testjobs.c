/* testjobs.c - a job type for the queue's integration tests (registered
 * only when B4_ENV=test); see handlers.h.
 *
 * "test.record" {sleep_ms?, fail?}: inserts (job_id, owner, attempt,
 * 'start') into the test's own table test_job_runs, sleeps, then fails
 * when asked to, or inserts the 'done' row and succeeds. */
#include "handlers.h"

#include "b4/db.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <time.h>

static int record(struct worker_ctx *ctx, const struct b4_job *job, const char *what)
{
	return b4_db_exec(ctx->db,
			  "INSERT INTO test_job_runs (job_id, owner, attempt, what) VALUES (?, ?, ?, ?)",
			  "usIs", job->id, ctx->owner, job->attempts, what) < 0
		       ? -1
		       : 0;
}

int test_record_job(struct worker_ctx *ctx, const struct b4_job *job, char *err, size_t errcap)
{
	cJSON *payload = cJSON_Parse(job->payload);
	const cJSON *sleep_ms = cJSON_GetObjectItemCaseSensitive(payload, "sleep_ms");
	bool fail = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(payload, "fail"));
	int rc = WORKER_DONE;

	if (record(ctx, job, "start") < 0) {
		snprintf(err, errcap, "cannot record the start");
		rc = WORKER_RETRY;
		goto out_free_payload;
	}
	if (cJSON_IsNumber(sleep_ms) && sleep_ms->valuedouble > 0) {
		long ms = (long)sleep_ms->valuedouble;
		struct timespec pause = {ms / 1000, (ms % 1000) * 1000000L};

		nanosleep(&pause, NULL);
	}
	if (fail) {
		snprintf(err, errcap, "asked to fail (attempt %d)", job->attempts);
		rc = WORKER_RETRY;
	} else if (record(ctx, job, "done") < 0) {
		snprintf(err, errcap, "cannot record the end");
		rc = WORKER_RETRY;
	}
out_free_payload:
	cJSON_Delete(payload);
	return rc;
}
