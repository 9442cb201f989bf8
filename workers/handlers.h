/* handlers.h - the b4-worker handler table: one entry per job type.
 *
 * The runtime (worker.c) claims a job, finds its entry by type and calls
 * run(ctx, job, err, errcap) on a consumer thread that owns ctx->db.  The
 * handler does its work (idempotently: delivery is at-least-once) and
 * returns:
 *   WORKER_DONE   (0)  the job is marked done;
 *   WORKER_RETRY  (-1) failed, err says why (<= errcap bytes, never a
 *                      secret); retried after ctx->retry_seconds when the
 *                      handler set it (>= 0), else after the queue's
 *                      exponential backoff with jitter; dead once the job's
 *                      attempts reach max_attempts;
 *   WORKER_FATAL  (-2) failed for good (bad payload ...): dead at once.
 *
 * Adding a job type: write `int my_job(struct worker_ctx *, const struct
 * b4_job *, char *, size_t)` in its own workers/<name>.c, declare it in a
 * header of that file (or below), and add one line to worker_handlers[] in
 * handlers.c.  A type whose code needs settings adds its options to
 * worker_handler_opts[] (targets are that file's globals) and may have an
 * init hook called once at start-up, before any consumer runs.
 */
#ifndef WORKERS_HANDLERS_H
#define WORKERS_HANDLERS_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "b4/acquirer.h"
#include "b4/config.h"
#include "b4/queue.h"
#include "b4/service.h"

enum worker_result {
	WORKER_DONE = 0,
	WORKER_RETRY = -1,
	WORKER_FATAL = -2,
};

/* What a handler gets besides its job.  Owned by the runtime; valid for
 * the duration of one run call. */
struct worker_ctx {
	struct b4_db *db;		    /* this consumer thread's connection */
	const struct b4_settings *settings; /* common settings (env, db ...) */
	const char *owner;		    /* lease owner id of this thread */
	double retry_seconds;		    /* set >= 0 to choose the next delay */
	const atomic_bool *stopping;	    /* true once SIGTERM arrived */
	/* A handler that marked its job done itself, in the transaction of
	 * its own writes (b4_queue_complete with ctx->owner returned 1), sets
	 * this and returns WORKER_DONE: one commit less per job. */
	bool completed;
};

typedef int b4_job_fn(struct worker_ctx *ctx, const struct b4_job *job, char *err, size_t errcap);

struct worker_handler {
	const char *type; /* job type, e.g. "webhook.deliver" */
	b4_job_fn *run;
	int max_concurrency; /* at most this many at once in one process; 0 = no limit */
	int timeout_seconds; /* lease of one run; 0 = B4_WORKER_LEASE */
	int (*init)(const struct b4_settings *settings); /* optional; -1 stops start-up */
	void (*cleanup)(void);				 /* optional */
	bool test_only;					 /* registered only when B4_ENV=test */
};

extern const struct worker_handler worker_handlers[];
extern const size_t worker_nhandlers;

/* Extra settings of the handlers (added to b4-worker's own options). */
extern const struct b4_config_opt worker_handler_opts[];
extern const size_t worker_nhandler_opts;

/* The entry for type, or NULL when no handler has that type. */
const struct worker_handler *worker_handler_find(const char *type);

/* True once the process is stopping: a long handler may check it between
 * steps and return WORKER_RETRY with retry_seconds 0 to give the job back. */
bool worker_is_stopping(const struct worker_ctx *ctx);

/* Copies the payload's field (a 36-char UUID) into out; -1 with err set
 * when it is missing or malformed (the handler answers WORKER_FATAL). */
int worker_payload_id(const struct b4_job *job, const char *field, char out[37], char *err,
		      size_t errcap);
/* Writes the DB error into err and returns WORKER_RETRY. */
int worker_db_failed(struct worker_ctx *ctx, char *err, size_t errcap);

/* ---- handlers of workers/ (one file each) -------------------------------- */

/* webhook.c: "webhook.event" {event, owner_id, affiliate_id?, product_id?,
 * data} fans out into webhook_deliveries + "webhook.deliver" jobs;
 * "webhook.deliver" {delivery_id} sends one signed POST. */
b4_job_fn webhook_event_job;
b4_job_fn webhook_deliver_job;
int webhook_init(const struct b4_settings *settings);
extern double worker_webhook_timeout;	    /* B4_WEBHOOK_TIMEOUT, seconds */
extern double worker_webhook_backoff_scale; /* B4_WEBHOOK_BACKOFF_SCALE */

/* scheduled.c: "order.expire" {order_id}, "commission.release" {order_id},
 * "cron.abandoned_cart" {} and "cron.sales_compact" {} (the monitor
 * enqueues each once per time slot). */
b4_job_fn order_expire_job;
b4_job_fn commission_release_job;
b4_job_fn abandoned_cart_job;
b4_job_fn sales_compact_job;
extern double worker_abandoned_cart_delay; /* B4_ABANDONED_CART_DELAY, seconds */

/* payments.c: "refund.process" {refund_id} refunds at the acquirer and, on
 * success, reverses the splits pro rata and moves the order forward.  The
 * acquirer settings (B4_ACQUIRERS ...) are also what order.expire uses to
 * settle card orders whose answer was lost. */
b4_job_fn refund_process_job;
/* "payment.refund_late" {order_id}: refunds in full a Pix/boleto payment
 * captured after its order expired (or was refused); the order stays. */
b4_job_fn late_payment_refund_job;
int acquirers_init(const struct b4_settings *settings);
/* For a waiting order with a pending charge (a card answer checkout never
 * learnt, a Pix/boleto callback that never came): asks the acquirer by
 * reference and records a final outcome (paid with its jobs, or refused).
 * 1 settled, 0 nothing final there (expire as usual), or WORKER_RETRY when
 * the acquirer cannot tell. */
int worker_settle_card_order(struct worker_ctx *ctx, const char *order_id, char *err,
			     size_t errcap);
extern struct b4_acquirers worker_acquirers;
extern const char *worker_acquirers_setting;

/* testjobs.c (B4_ENV=test only): "test.record" {sleep_ms?, fail?} inserts
 * a row into the test's own table test_job_runs. */
b4_job_fn test_record_job;

#endif
