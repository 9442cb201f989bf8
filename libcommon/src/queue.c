/* queue.c - the MariaDB job queue; see b4/queue.h. */
#include "b4/queue.h"
#include "b4/crypto.h"
#include "b4/db.h"
#include "b4/log.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CLAIM_MAX 64

int b4_queue_enqueue(struct b4_db *db, const char *type, const char *payload_json,
		     const char *dedup_key, int64_t delay_seconds)
{
	int64_t affected;

	/* ON DUPLICATE KEY touches nothing, so a repeated dedup key affects 0
	 * rows instead of failing the caller's transaction */
	affected = b4_db_exec(db,
			      "INSERT INTO jobs (type, payload, dedup_key, run_at)"
			      " VALUES (?, ?, ?, CURRENT_TIMESTAMP(6) + INTERVAL ? SECOND)"
			      " ON DUPLICATE KEY UPDATE id = id",
			      "sssi", type, payload_json, dedup_key, delay_seconds);
	if (affected < 0)
		return -1;
	return affected > 0 ? 1 : 0;
}

static const char *utc_now(char out[32])
{
	time_t now = time(NULL);
	struct tm tm;

	gmtime_r(&now, &tm);
	strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
	return out;
}

/* The payload of a "webhook.event" job; NULL when data_json is not an
 * object (or out of memory).  Caller frees with cJSON_free. */
static char *webhook_payload(const char *event, const char *owner_id, const char *affiliate_id,
			     const char *product_id, const char *data_json)
{
	cJSON *payload = cJSON_CreateObject();
	cJSON *data = data_json ? cJSON_Parse(data_json) : NULL;
	char created_at[32], event_id[37];
	char *text = NULL;

	if (!payload || !cJSON_IsObject(data) || !event || !owner_id)
		goto out_free;
	if (!cJSON_AddStringToObject(payload, "event", event) ||
	    !cJSON_AddStringToObject(payload, "owner_id", owner_id) ||
	    (affiliate_id && !cJSON_AddStringToObject(payload, "affiliate_id", affiliate_id)) ||
	    (product_id && !cJSON_AddStringToObject(payload, "product_id", product_id)))
		goto out_free;
	/* the event's id and time are the producer's, fixed at its commit:
	 * the fan-out never rewrites its job */
	if (b4_crypto_uuid7(event_id) < 0 ||
	    !cJSON_AddStringToObject(payload, "event_id", event_id) ||
	    !cJSON_AddStringToObject(payload, "created_at", utc_now(created_at)))
		goto out_free;
	cJSON_AddItemToObject(payload, "data", data);
	data = NULL; /* owned by payload now */
	text = cJSON_PrintUnformatted(payload);
out_free:
	cJSON_Delete(data);
	cJSON_Delete(payload);
	return text;
}

int b4_queue_webhook_event(struct b4_db *db, const char *event, const char *owner_id,
			   const char *affiliate_id, const char *product_id, const char *data_json,
			   const char *dedup_key)
{
	char *text = webhook_payload(event, owner_id, affiliate_id, product_id, data_json);
	int rc = text ? b4_queue_enqueue(db, "webhook.event", text, dedup_key, 0) : -1;

	cJSON_free(text);
	return rc;
}

void b4_queue_batch_init(struct b4_queue_batch *b)
{
	memset(b, 0, sizeof(*b));
}

void b4_queue_batch_cleanup(struct b4_queue_batch *b)
{
	for (size_t k = 0; k < b->n; k++) {
		if (b->job[k].payload) /* may carry a buyer's data */
			memset(b->job[k].payload, 0, strlen(b->job[k].payload));
		free(b->job[k].payload);
		free(b->job[k].dedup);
	}
	b4_queue_batch_init(b);
}

int b4_queue_batch_add(struct b4_queue_batch *b, const char *type, const char *payload_json,
		       const char *dedup_key, int64_t delay_seconds)
{
	size_t k = b->n;

	if (b->failed || k == B4_QUEUE_BATCH_MAX || !payload_json ||
	    strlen(type) >= sizeof(b->job[k].type)) {
		b->failed = true;
		return -1;
	}
	snprintf(b->job[k].type, sizeof(b->job[k].type), "%s", type);
	snprintf(b->job[k].delay, sizeof(b->job[k].delay), "%lld", (long long)delay_seconds);
	b->job[k].payload = strdup(payload_json);
	b->job[k].dedup = dedup_key ? strdup(dedup_key) : NULL;
	b->n++;
	if (!b->job[k].payload || (dedup_key && !b->job[k].dedup)) {
		b->failed = true;
		return -1;
	}
	return 0;
}

int b4_queue_batch_webhook_event(struct b4_queue_batch *b, const char *event, const char *owner_id,
				 const char *affiliate_id, const char *product_id,
				 const char *data_json, const char *dedup_key)
{
	char *text = webhook_payload(event, owner_id, affiliate_id, product_id, data_json);
	int rc;

	if (!text) {
		b->failed = true;
		return -1;
	}
	rc = b4_queue_batch_add(b, "webhook.event", text, dedup_key, 0);
	memset(text, 0, strlen(text));
	cJSON_free(text);
	return rc;
}

int b4_queue_flush(struct b4_db *db, struct b4_queue_batch *b)
{
	const char *values[4 * B4_QUEUE_BATCH_MAX];
	int rc = b->failed ? -1 : 0;

	for (size_t k = 0; k < b->n; k++) {
		values[4 * k] = b->job[k].type;
		values[4 * k + 1] = b->job[k].payload;
		values[4 * k + 2] = b->job[k].dedup;
		values[4 * k + 3] = b->job[k].delay;
	}
	/* a repeated dedup key touches nothing (see b4_queue_enqueue) */
	if (rc == 0 && b->n &&
	    b4_db_insert_rows(db, "INSERT INTO jobs (type, payload, dedup_key, run_at) VALUES ",
			      "(?, ?, ?, CURRENT_TIMESTAMP(6) + INTERVAL ? SECOND)", 4,
			      " ON DUPLICATE KEY UPDATE id = id", b->n, values) < 0)
		rc = -1;
	b4_queue_batch_cleanup(b);
	return rc;
}

int b4_queue_webhook_resend(struct b4_db *db, const char *delivery_id)
{
	char payload[80];
	int64_t n;

	/* a UUID: safe to put in the JSON text as it is */
	if (!delivery_id || strlen(delivery_id) != 36 ||
	    strspn(delivery_id, "0123456789abcdefABCDEF-") != 36)
		return 0;
	n = b4_db_exec(db,
		       "UPDATE webhook_deliveries SET status = 'pending',"
		       " next_attempt_at = CURRENT_TIMESTAMP(6) WHERE id = ?",
		       "s", delivery_id);
	if (n <= 0) /* next_attempt_at always changes, so 0 means no row */
		return n < 0 ? -1 : 0;
	snprintf(payload, sizeof(payload), "{\"delivery_id\":\"%s\"}", delivery_id);
	return b4_queue_enqueue(db, "webhook.deliver", payload, NULL, 0) < 0 ? -1 : 1;
}

void b4_queue_job_cleanup(struct b4_job *job)
{
	if (!job)
		return;
	free(job->payload);
	memset(job, 0, sizeof(*job));
}

static bool type_wanted(const char *type, const char *const *types, size_t ntypes)
{
	if (ntypes == 0)
		return true;
	for (size_t i = 0; i < ntypes; i++)
		if (strcmp(types[i], type) == 0)
			return true;
	return false;
}

/* Up to TYPE_SLOTS types are passed as bound parameters of a fixed IN
 * list (unused slots repeat the first type), so the SQL text never
 * changes.  The candidates are locked with SKIP LOCKED, so two claimers
 * never wait on each other and never both get one row. */
#define TYPE_SLOTS 16

static struct b4_db_result *claim_select(struct b4_db *db, const char *const *types, size_t ntypes,
					 int64_t limit)
{
	const char *t[TYPE_SLOTS];

	if (ntypes == 0 || ntypes > TYPE_SLOTS)
		return b4_db_query(db,
				   "SELECT id, type, payload, attempts, max_attempts FROM jobs"
				   " WHERE status = 'ready' AND run_at <= CURRENT_TIMESTAMP(6)"
				   " ORDER BY run_at, id LIMIT ? FOR UPDATE SKIP LOCKED",
				   "i", ntypes ? limit * 8 : limit);
	for (size_t i = 0; i < TYPE_SLOTS; i++)
		t[i] = types[i < ntypes ? i : 0];
	return b4_db_query(db,
			   "SELECT id, type, payload, attempts, max_attempts FROM jobs"
			   " WHERE status = 'ready' AND run_at <= CURRENT_TIMESTAMP(6)"
			   " AND type IN (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)"
			   " ORDER BY run_at, id LIMIT ? FOR UPDATE SKIP LOCKED",
			   "ssssssssssssssssi", t[0], t[1], t[2], t[3], t[4], t[5], t[6], t[7],
			   t[8], t[9], t[10], t[11], t[12], t[13], t[14], t[15], limit);
}

int b4_queue_claim(struct b4_db *db, const char *owner, const char *const *types, size_t ntypes,
		   double lease_seconds, struct b4_job *jobs, int max)
{
	struct b4_db_result *res = NULL;
	uint64_t ids[CLAIM_MAX];
	int nclaimed = 0;
	int64_t lease_us = (int64_t)(lease_seconds * 1e6);

	if (max <= 0)
		return 0;
	if (max > CLAIM_MAX)
		max = CLAIM_MAX;
	/* no gap locks: a claim must not deadlock with completions */
	if (b4_db_exec(db, "SET TRANSACTION ISOLATION LEVEL READ COMMITTED", "") < 0 ||
	    b4_db_begin(db) < 0)
		return -1;
	res = claim_select(db, types, ntypes, max);
	if (!res)
		goto out_rollback;
	for (size_t r = 0; r < b4_db_rows(res) && nclaimed < max; r++) {
		struct b4_job *job = &jobs[nclaimed];
		const char *type = b4_db_str(res, r, 1);

		if (!type_wanted(type, types, ntypes))
			continue;
		memset(job, 0, sizeof(*job));
		job->id = (uint64_t)b4_db_i64(res, r, 0);
		snprintf(job->type, sizeof(job->type), "%s", type);
		job->payload = strdup(b4_db_str(res, r, 2));
		job->attempts = (int)b4_db_i64(res, r, 3) + 1;
		job->max_attempts = (int)b4_db_i64(res, r, 4);
		if (!job->payload)
			goto out_free_jobs;
		ids[nclaimed++] = job->id;
	}
	for (int i = 0; i < nclaimed; i++)
		if (b4_db_exec(db,
			       "UPDATE jobs SET status = 'running', attempts = attempts + 1,"
			       " lease_owner = ?,"
			       " leased_until = CURRENT_TIMESTAMP(6) + INTERVAL ? MICROSECOND"
			       " WHERE id = ?",
			       "siu", owner, lease_us, ids[i]) < 0)
			goto out_free_jobs;
	if (b4_db_commit(db) < 0)
		goto out_free_jobs;
	b4_db_result_free(res);
	return nclaimed;

out_free_jobs:
	for (int i = 0; i < nclaimed; i++)
		b4_queue_job_cleanup(&jobs[i]);
out_rollback:
	b4_db_result_free(res);
	b4_db_rollback(db);
	return -1;
}

int b4_queue_complete(struct b4_db *db, const struct b4_job *job, const char *owner)
{
	int64_t n =
	    b4_db_exec(db,
		       "UPDATE jobs SET status = 'done', leased_until = NULL, last_error = NULL"
		       " WHERE id = ? AND status = 'running' AND lease_owner = ?",
		       "us", job->id, owner);

	return n < 0 ? -1 : n > 0 ? 1 : 0;
}

double b4_queue_backoff(int attempts, double scale)
{
	double base = 5.0, delay;
	uint32_t r = 0;

	if (attempts < 1)
		attempts = 1;
	delay = attempts > 20 ? 3600.0 : base * ldexp(1.0, attempts - 1);
	if (delay > 3600.0)
		delay = 3600.0;
	/* jitter +-20% so jobs that failed together do not retry together */
	b4_crypto_random(&r, sizeof(r));
	delay *= 0.8 + 0.4 * ((double)r / 4294967295.0);
	if (delay < 1.0)
		delay = 1.0;
	return delay * scale;
}

int b4_queue_fail(struct b4_db *db, const struct b4_job *job, const char *owner, const char *error,
		  double retry_seconds, int permanent)
{
	int64_t n;

	if (permanent || job->attempts >= job->max_attempts) {
		n = b4_db_exec(
		    db,
		    "UPDATE jobs SET status = 'dead', leased_until = NULL, last_error = ?"
		    " WHERE id = ? AND status = 'running' AND lease_owner = ?",
		    "sus", error ? error : "failed", job->id, owner);
		return n < 0 ? -1 : n > 0 ? 2 : 0;
	}
	if (retry_seconds < 0)
		retry_seconds = b4_queue_backoff(job->attempts, 1.0);
	n = b4_db_exec(db,
		       "UPDATE jobs SET status = 'ready', leased_until = NULL, lease_owner = NULL,"
		       " last_error = ?,"
		       " run_at = CURRENT_TIMESTAMP(6) + INTERVAL ? MICROSECOND"
		       " WHERE id = ? AND status = 'running' AND lease_owner = ?",
		       "sius", error ? error : "failed", (int64_t)(retry_seconds * 1e6), job->id,
		       owner);
	return n < 0 ? -1 : n > 0 ? 1 : 0;
}

int b4_queue_release(struct b4_db *db, const struct b4_job *job, const char *owner)
{
	int64_t n =
	    b4_db_exec(db,
		       "UPDATE jobs SET status = 'ready', leased_until = NULL, lease_owner = NULL,"
		       " attempts = GREATEST(attempts, 1) - 1, run_at = CURRENT_TIMESTAMP(6)"
		       " WHERE id = ? AND status = 'running' AND lease_owner = ?",
		       "us", job->id, owner);

	return n < 0 ? -1 : n > 0 ? 1 : 0;
}

int b4_queue_extend(struct b4_db *db, const struct b4_job *job, const char *owner,
		    double lease_seconds)
{
	int64_t n = b4_db_exec(db,
			       "UPDATE jobs SET"
			       " leased_until = CURRENT_TIMESTAMP(6) + INTERVAL ? MICROSECOND"
			       " WHERE id = ? AND status = 'running' AND lease_owner = ?",
			       "ius", (int64_t)(lease_seconds * 1e6), job->id, owner);

	return n < 0 ? -1 : n > 0 ? 1 : 0;
}

/* The expired jobs are found without locking, then each is taken back by
 * primary key with the condition checked again: locking the lease index
 * first would deadlock with completions, which lock the row first. */
int64_t b4_queue_reap(struct b4_db *db)
{
	struct b4_db_result *res;
	int64_t ready = 0;
	bool failed = false;

	res = b4_db_query(db,
			  "SELECT id FROM jobs WHERE status = 'running'"
			  " AND leased_until < CURRENT_TIMESTAMP(6) LIMIT 1000",
			  "");
	if (!res)
		return -1;
	for (size_t r = 0; r < b4_db_rows(res); r++) {
		uint64_t id = (uint64_t)b4_db_i64(res, r, 0);
		int64_t n;

		n = b4_db_exec(db,
			       "UPDATE jobs SET"
			       " status = IF(attempts >= max_attempts, 'dead', 'ready'),"
			       " leased_until = NULL, lease_owner = NULL,"
			       " last_error = 'lease expired', run_at = CURRENT_TIMESTAMP(6)"
			       " WHERE id = ? AND status = 'running'"
			       " AND leased_until < CURRENT_TIMESTAMP(6)",
			       "u", id);
		if (n > 0)
			ready += n;
		else if (n < 0 && !b4_db_is_retryable(db))
			failed = true;
	}
	b4_db_result_free(res);
	if (ready > 0)
		b4_log_warn("queue: expired leases reclaimed", B4_LI("jobs", ready));
	return failed && ready == 0 ? -1 : ready;
}

int b4_queue_retry(struct b4_db *db, uint64_t job_id)
{
	int64_t n =
	    b4_db_exec(db,
		       "UPDATE jobs SET status = 'ready', attempts = 0, leased_until = NULL,"
		       " lease_owner = NULL, run_at = CURRENT_TIMESTAMP(6)"
		       " WHERE id = ? AND status IN ('dead', 'done')",
		       "u", job_id);

	return n < 0 ? -1 : n > 0 ? 1 : 0;
}
