/* queue.h - the job queue: a jobs table in MariaDB (transactional outbox).
 *
 * Producers call b4_queue_enqueue on the same connection, inside the same
 * transaction, as the state change the job reports: the job exists if and
 * only if the change committed.  Consumers (b4-worker) claim ready jobs with
 * SELECT ... FOR UPDATE SKIP LOCKED under a lease, so several worker
 * processes never run one job at the same time, and a job whose worker died
 * runs again once its lease expires.  Delivery is at-least-once: handlers
 * must be idempotent.
 */
#ifndef B4_QUEUE_H
#define B4_QUEUE_H

#include <stdint.h>

struct b4_db;

/* Enqueues a job of `type` with a JSON object payload, runnable after
 * delay_seconds (0 = now).  dedup_key (<= 191 ASCII chars, or NULL) makes
 * the enqueue idempotent: a second job with the same key is not created.
 * Returns 1 when enqueued, 0 when a job with dedup_key already existed,
 * -1 on a database error (the caller rolls back). */
int b4_queue_enqueue(struct b4_db *db, const char *type, const char *payload_json,
		     const char *dedup_key, int64_t delay_seconds);

#endif
