/* scheduled.c - order expiry, commission release, abandoned carts, the
 * folding of the sales aggregates' live slots; see
 * handlers.h.  Each is idempotent: it re-checks the state it changes in
 * the statement that changes it. */
#include "handlers.h"

#include "b4/db.h"
#include "b4/jobs.h"
#include "b4/log.h"
#include "b4/orders.h"
#include "b4/sales_agg.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

double worker_abandoned_cart_delay = 3600.0;

/* Order states reached only through a payment: a session with an order in
 * one of these was not abandoned. */
#define PAID_STATES "'paid','refund_requested','refunded','disputed','chargeback'"

struct expiry {
	const char *order_id;
	bool expired;
};

/* Expires the order when due, giving its coupon use back (domain). */
static int expire_tx(struct b4_db *db, void *arg)
{
	struct expiry *e = arg;
	int moved = b4_order_expire(db, e->order_id, false);

	e->expired = moved == 1;
	return moved < 0 ? -1 : 0;
}

/* order.expire {order_id}: a Pix or boleto order still waiting after its
 * expires_at becomes expired.  Run early (clock skew), it asks to run
 * again when the order is due; paid, already expired or gone: nothing. */
int order_expire_job(struct worker_ctx *ctx, const struct b4_job *job, char *err, size_t errcap)
{
	char order_id[37];
	struct expiry e = {order_id, false};
	struct b4_db_result *res;
	int64_t n;
	int rc = WORKER_DONE;

	if (worker_payload_id(job, "order_id", order_id, err, errcap) < 0)
		return WORKER_FATAL;
	/* a card order still waiting is one whose charge outcome was lost */
	n = worker_settle_card_order(ctx, order_id, err, errcap);
	if (n != 0)
		return n > 0 ? WORKER_DONE : (int)n;
	if (b4_db_tx(ctx->db, expire_tx, &e) < 0)
		return worker_db_failed(ctx, err, errcap);
	if (e.expired) {
		b4_log_info("order expired", B4_LS("order_id", order_id));
		return WORKER_DONE;
	}
	res = b4_db_query(ctx->db,
			  "SELECT TIMESTAMPDIFF(MICROSECOND, CURRENT_TIMESTAMP(6), expires_at)"
			  " FROM orders WHERE id = ? AND status = 'waiting_payment'",
			  "s", order_id);
	if (!res)
		return worker_db_failed(ctx, err, errcap);
	if (b4_db_rows(res) == 1) { /* not due yet */
		ctx->retry_seconds = (double)b4_db_i64(res, 0, 0) / 1e6 + 0.5;
		snprintf(err, errcap, "not due yet");
		rc = WORKER_RETRY;
	}
	b4_db_result_free(res);
	return rc;
}

/* What commission.release does next, from the order's status and its
 * waiting splits (row of the query below). */
static int release_outcome(struct worker_ctx *ctx, const struct b4_db_result *res, char *err,
			   size_t errcap)
{
	const char *status = b4_db_str(res, 0, 0);
	double wait = (double)b4_db_i64(res, 0, 1) / 1e6;

	if (b4_db_i64(res, 0, 2) == 0)
		return WORKER_DONE; /* nothing waiting */
	if (strcmp(status, "refund_requested") == 0 || strcmp(status, "disputed") == 0) {
		ctx->retry_seconds = 86400;
		snprintf(err, errcap, "held: order is %s", status);
		return WORKER_RETRY;
	}
	if (strcmp(status, "paid") == 0) {
		ctx->retry_seconds = wait > 1 ? wait + 0.5 : 1;
		snprintf(err, errcap, "guarantee period not over");
		return WORKER_RETRY;
	}
	return WORKER_DONE; /* refunded, chargeback: the reversal owns the splits */
}

/* commission.release {order_id}: once the product's guarantee days since
 * payment (or a split's own release_at) have passed, the order's waiting
 * splits become released - only while the order is still paid, checked in
 * the same statement, so a refund that won the race keeps them waiting
 * for its reversal.  A refund request or dispute holds the release; the
 * job looks again a day later. */
int commission_release_job(struct worker_ctx *ctx, const struct b4_job *job, char *err,
			   size_t errcap)
{
	char order_id[37];
	struct b4_db_result *res;
	int64_t released;
	int rc;

	if (worker_payload_id(job, "order_id", order_id, err, errcap) < 0)
		return WORKER_FATAL;
	released = b4_order_release_commissions(ctx->db, order_id);
	if (released < 0)
		return worker_db_failed(ctx, err, errcap);
	if (released > 0)
		b4_log_info("commissions released", B4_LS("order_id", order_id),
			    B4_LI("splits", released));
	res = b4_db_query(ctx->db,
			  "SELECT o.status, MIN(TIMESTAMPDIFF(MICROSECOND, CURRENT_TIMESTAMP(6),"
			  "  COALESCE(s.release_at, o.paid_at + INTERVAL p.guarantee_days DAY))),"
			  " COUNT(s.id)"
			  " FROM orders o JOIN products p ON p.id = o.product_id"
			  " LEFT JOIN splits s ON s.order_id = o.id AND s.status = 'waiting'"
			  " WHERE o.id = ? GROUP BY o.status",
			  "s", order_id);
	if (!res)
		return worker_db_failed(ctx, err, errcap);
	if (b4_db_rows(res) == 0) {
		snprintf(err, errcap, "no such order");
		rc = WORKER_FATAL;
	} else {
		rc = release_outcome(ctx, res, err, errcap);
	}
	b4_db_result_free(res);
	return rc;
}

/* ---- abandoned carts --------------------------------------------------- */

#define SCAN_BATCH	 200
#define SCAN_MAX_BATCHES 50

struct abandoned {
	const char *session_id;
	int fired;
};

/* Marks one session abandoned and enqueues its event for each recipient
 * (libcommon jobs), together. */
static int abandon_tx(struct b4_db *db, void *arg)
{
	struct abandoned *a = arg;
	int64_t n;

	n = b4_db_exec(db,
		       "UPDATE checkout_sessions SET abandoned_at = CURRENT_TIMESTAMP(6)"
		       " WHERE id = ? AND abandoned_at IS NULL",
		       "s", a->session_id);
	if (n <= 0)
		return n < 0 ? -1 : 0; /* another worker got there first */
	if (b4_job_abandoned_cart(db, a->session_id) < 0)
		return -1;
	a->fired++;
	return 0;
}

/* Closes the sessions a scan found paid (closed_at), so no scan reads
 * them again: one statement for the batch.  0 or -1. */
static int close_paid(struct b4_db *db, const char *const *ids, size_t n)
{
	if (n == 0)
		return 0;
	return b4_db_insert_rows(db,
				 "UPDATE checkout_sessions SET closed_at = CURRENT_TIMESTAMP(6)"
				 " WHERE closed_at IS NULL AND id IN (",
				 "?", 1, ")", n, ids) < 0
		   ? -1
		   : 0;
}

/* One batch of the scan: up to SCAN_BATCH sessions due (ix_sessions_
 * abandon_due: an e-mail, not marked, not closed, quiet for the delay),
 * the paid ones closed and the others abandoned.  Returns how many were
 * due, or -1. */
static int scan_batch(struct worker_ctx *ctx, struct abandoned *a)
{
	struct b4_db_result *res;
	const char *paid[SCAN_BATCH];
	size_t npaid = 0, rows;

	res = b4_db_query(ctx->db,
			  "SELECT s.id, EXISTS (SELECT 1 FROM orders x"
			  "  WHERE x.session_id = s.id AND x.status IN (" PAID_STATES "))"
			  " OR EXISTS (SELECT 1 FROM orders y"
			  "  WHERE y.id = s.order_id AND y.status IN (" PAID_STATES "))"
			  " FROM checkout_sessions s"
			  " WHERE s.abandon_due <= CURRENT_TIMESTAMP(6) - INTERVAL ? MICROSECOND"
			  " ORDER BY s.abandon_due LIMIT ?",
			  "ii", (int64_t)(worker_abandoned_cart_delay * 1e6), (int64_t)SCAN_BATCH);
	if (!res)
		return -1;
	rows = b4_db_rows(res);
	for (size_t row = 0; row < rows && !worker_is_stopping(ctx); row++) {
		if (b4_db_i64(res, row, 1)) {
			paid[npaid++] = b4_db_str(res, row, 0);
			continue;
		}
		a->session_id = b4_db_str(res, row, 0);
		if (b4_db_tx(ctx->db, abandon_tx, a) < 0) {
			b4_db_result_free(res);
			return -1;
		}
	}
	if (close_paid(ctx->db, paid, npaid) < 0) {
		b4_db_result_free(res);
		return -1;
	}
	b4_db_result_free(res);
	return (int)rows;
}

/* cron.abandoned_cart {}: every session with an email, quiet for
 * B4_ABANDONED_CART_DELAY and without a paid order, fires abandoned-cart
 * once (abandoned_at marks it); one found paid is closed (closed_at).
 * Batches until the due sessions are done (at most SCAN_MAX_BATCHES a
 * run), so a launch's carts keep up.  The monitor enqueues this job once
 * per time slot. */
int abandoned_cart_job(struct worker_ctx *ctx, const struct b4_job *job, char *err, size_t errcap)
{
	struct abandoned a = {0};
	int n = SCAN_BATCH;
	(void)job;

	for (int batch = 0; batch < SCAN_MAX_BATCHES && n == SCAN_BATCH; batch++) {
		if (worker_is_stopping(ctx))
			break;
		n = scan_batch(ctx, &a);
		if (n < 0)
			return worker_db_failed(ctx, err, errcap);
	}
	if (a.fired > 0)
		b4_log_info("abandoned carts", B4_LI("fired", a.fired));
	return WORKER_DONE;
}

/* Days (of a member's sales or an offer's funnel) one cron.sales_compact
 * run folds at most: a backlog (the first run after migrations 0020 and
 * 0025) is taken over several runs. */
#define COMPACT_MAX_DAYS 20000

/* cron.sales_compact {}: folds the live slots of the sales aggregates' and
 * the funnel's past days into slot 0 (b4_sales_agg_compact), so a range
 * summary reads one row per day, status and method, and the charts one
 * per day and event.  The monitor enqueues it hourly. */
int sales_compact_job(struct worker_ctx *ctx, const struct b4_job *job, char *err, size_t errcap)
{
	int64_t folded;
	(void)job;

	if (b4_sales_agg_compact(ctx->db, NULL, COMPACT_MAX_DAYS, &folded) < 0)
		return worker_db_failed(ctx, err, errcap);
	if (folded > 0)
		b4_log_info("sales aggregates compacted", B4_LI("days", folded));
	return WORKER_DONE;
}
