/* queue.h - the job queue: a jobs table in MariaDB (transactional outbox).
 *
 * Producers call b4_queue_enqueue on the same connection, inside the same
 * transaction, as the state change the job reports: the job exists if and
 * only if the change committed.  Consumers (b4-worker) claim ready jobs with
 * SELECT ... FOR UPDATE SKIP LOCKED under a lease, so several worker
 * processes never run one job at the same time, and a job whose worker died
 * runs again once its lease expires.  Delivery is at-least-once: handlers
 * must be idempotent.
 *
 * Job life: ready -> running (claimed, attempts+1, leased_until) -> done;
 * or -> ready again at a later run_at (failure, backoff with jitter); or ->
 * dead with last_error once attempts reach max_attempts.  A dead job is
 * visible (status='dead') and b4_queue_retry makes it ready again.
 */
#ifndef B4_QUEUE_H
#define B4_QUEUE_H

#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>

struct b4_db;

#define B4_QUEUE_TYPE_MAX  64
#define B4_QUEUE_OWNER_MAX 64

/* One claimed job.  payload is malloc'd JSON text owned by the job
 * (b4_queue_job_cleanup frees it). */
struct b4_job {
	uint64_t id;
	char type[B4_QUEUE_TYPE_MAX + 1];
	char *payload;
	int attempts; /* including the current one (1 on the first run) */
	int max_attempts;
};

/* Enqueues a job of `type` with a JSON object payload, runnable after
 * delay_seconds (0 = now).  dedup_key (<= 191 ASCII chars, or NULL) makes
 * the enqueue idempotent: a second job with the same key is not created.
 * Returns 1 when enqueued, 0 when a job with dedup_key already existed,
 * -1 on a database error (the caller rolls back). */
int b4_queue_enqueue(struct b4_db *db, const char *type, const char *payload_json,
		     const char *dedup_key, int64_t delay_seconds);

/* Producer helper for webhooks: enqueues a "webhook.event" job
 * {event, event_id, owner_id, affiliate_id?, product_id?, created_at, data}
 * inside the caller's transaction (event_id: a new UUIDv7, created_at: now,
 * UTC; the job is never rewritten).  The worker fans it out
 * to every active endpoint of the owner (and the affiliate) subscribed to
 * event whose product scope matches, and delivers each with a stable event
 * id.  data_json is the event's data object as JSON text ("{...}").
 * dedup_key as for b4_queue_enqueue (e.g. "approved-payment:<order_id>").
 * Returns like b4_queue_enqueue; -1 also for a data_json that is not an
 * object. */
int b4_queue_webhook_event(struct b4_db *db, const char *event, const char *owner_id,
			   const char *affiliate_id, const char *product_id, const char *data_json,
			   const char *dedup_key);

/* Jobs gathered in memory and enqueued by one multi-row INSERT
 * (b4_queue_flush), for a transaction that enqueues several: the same rows
 * and dedup rules as b4_queue_enqueue. */
#define B4_QUEUE_BATCH_MAX 40 /* an order's event to 32 co-producers and more */
struct b4_queue_batch {
	size_t n;
	bool failed; /* an add did not fit or ran out of memory */
	struct {
		char type[32];
		char *payload, *dedup; /* malloc'd */
		char delay[24];
	} job[B4_QUEUE_BATCH_MAX];
};
void b4_queue_batch_init(struct b4_queue_batch *b);
/* Adds a job as b4_queue_enqueue takes it (copied).  0, or -1 (b->failed). */
int b4_queue_batch_add(struct b4_queue_batch *b, const char *type, const char *payload_json,
		       const char *dedup_key, int64_t delay_seconds);
/* Adds a "webhook.event" job as b4_queue_webhook_event makes it. */
int b4_queue_batch_webhook_event(struct b4_queue_batch *b, const char *event, const char *owner_id,
				 const char *affiliate_id, const char *product_id,
				 const char *data_json, const char *dedup_key);
/* Enqueues every job of b (b4_db_insert_rows; none: no statement) and
 * empties b.  0, or -1 on a database error or a failed add (the caller
 * rolls back). */
int b4_queue_flush(struct b4_db *db, struct b4_queue_batch *b);
/* Frees what b holds (after a failure). */
void b4_queue_batch_cleanup(struct b4_queue_batch *b);

/* Resends one webhook delivery (members' and back-office "resend"): sets it
 * pending and enqueues a "webhook.deliver" job with a fresh attempt budget.
 * Returns 1 when enqueued, 0 when there is no such delivery, -1 on a
 * database error. */
int b4_queue_webhook_resend(struct b4_db *db, const char *delivery_id);

/* Claims up to max ready jobs (run_at reached) whose type is one of
 * types[0..ntypes) (all types when ntypes is 0), in one short transaction
 * with FOR UPDATE SKIP LOCKED: each becomes running, attempts+1,
 * leased_until = now + lease_seconds, lease_owner = owner.  Fills jobs[]
 * and returns how many were claimed (0..max), or -1 on a database error.
 * The caller cleans up each claimed job with b4_queue_job_cleanup. */
int b4_queue_claim(struct b4_db *db, const char *owner, const char *const *types, size_t ntypes,
		   double lease_seconds, struct b4_job *jobs, int max);

/* Marks a job done.  Only the current lease owner can: returns 1 when
 * marked, 0 when the lease was lost (the job was taken over), -1 on a
 * database error. */
int b4_queue_complete(struct b4_db *db, const struct b4_job *job, const char *owner);

/* Records a failed run: when attempts < max_attempts the job goes back to
 * ready at now + retry_seconds (retry_seconds < 0 means the default
 * backoff, b4_queue_backoff); otherwise (or when permanent) it is dead
 * with `error` kept as last_error.  Returns 1 when rescheduled, 2 when
 * dead, 0 when the lease was lost, -1 on a database error. */
int b4_queue_fail(struct b4_db *db, const struct b4_job *job, const char *owner, const char *error,
		  double retry_seconds, int permanent);

/* Gives a running job back (status ready, run now, the attempt not
 * counted) - used on shutdown.  Returns like b4_queue_complete. */
int b4_queue_release(struct b4_db *db, const struct b4_job *job, const char *owner);

/* Moves the lease of a running job to now + lease_seconds (a long job's
 * heartbeat, or a type with its own timeout).  Returns like
 * b4_queue_complete. */
int b4_queue_extend(struct b4_db *db, const struct b4_job *job, const char *owner,
		    double lease_seconds);

/* Returns running jobs whose lease expired to ready (their attempt stays
 * counted; a job that already used max_attempts becomes dead with
 * last_error "lease expired").  Returns the number of jobs touched, or
 * -1 on a database error. */
int64_t b4_queue_reap(struct b4_db *db);

/* Makes a dead (or done) job ready again now with a fresh attempt budget.
 * Returns 1 when retried, 0 when no such job in those states, -1 on a
 * database error. */
int b4_queue_retry(struct b4_db *db, uint64_t job_id);

/* Default backoff after failed attempt n, in seconds: 5 * 2^(n-1)
 * capped at 1 h, with +-20% jitter; never below 1 s * scale.  scale
 * multiplies the result (tests use a small one). */
double b4_queue_backoff(int attempts, double scale);

/* Frees what a claimed job owns (accepts a zeroed job). */
void b4_queue_job_cleanup(struct b4_job *job);

#endif
