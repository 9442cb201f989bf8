/* refunds.c - refund requests and settlement, split reversals; see
 * b4/refunds.h. */
#include "b4/refunds.h"
#include "b4/crypto.h"
#include "b4/db.h"
#include "b4/http.h"
#include "b4/idempotency.h"
#include "b4/jobs.h"
#include "b4/money.h"
#include "b4/orderfsm.h"
#include "b4/sales_agg.h"

#include <stdarg.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#define MAX_SPLITS 40

static int refuse(struct b4_refund_request *r, int status, const char *code, const char *param,
		  const char *fmt, ...)
{
	va_list ap;

	r->refusal_status = status;
	r->refusal_code = code;
	r->refusal_param = param;
	va_start(ap, fmt);
	vsnprintf(r->refusal_message, sizeof(r->refusal_message), fmt, ap);
	va_end(ap);
	return -1;
}

/* Locks the order and reads its status and total.  1 found, 0 not, -1. */
static int lock_order(struct b4_db *db, struct b4_refund_request *r, char status[24])
{
	struct b4_db_result *res;
	int found;

	res = b4_db_query(db,
			  "SELECT status, total_cents FROM orders WHERE id = ?"
			  " AND (? IS NULL OR producer_id = ?) FOR UPDATE",
			  "sss", r->order_id, r->producer_id, r->producer_id);
	if (!res)
		return -1;
	found = b4_db_rows(res) == 1;
	if (found) {
		snprintf(status, 24, "%s", b4_db_str(res, 0, 0));
		r->paid_cents = b4_db_i64(res, 0, 1);
	}
	b4_db_result_free(res);
	return found;
}

int b4_refund_request(struct b4_db *db, struct b4_refund_request *r)
{
	struct b4_db_result *res;
	char status[24];
	int64_t left;
	int found;

	r->refusal_status = 0;
	r->refund_id[0] = '\0';
	found = lock_order(db, r, status);
	if (found <= 0)
		return found < 0 ? -1 : refuse(r, 404, "resource_missing", NULL, "No such order.");
	if (strcmp(status, "paid") != 0 && strcmp(status, "refund_requested") != 0)
		return refuse(r, 409, "order_not_refundable", NULL,
			      "Only paid orders can be refunded; this order is %s.", status);
	/* a locking read: it sees refunds committed while this one waited */
	res = b4_db_query(db,
			  "SELECT IFNULL(SUM(amount_cents), 0) FROM refunds"
			  " WHERE order_id = ? AND status <> 'failed' FOR UPDATE",
			  "s", r->order_id);
	if (!res)
		return -1;
	r->already_cents = b4_db_i64(res, 0, 0);
	b4_db_result_free(res);
	left = r->paid_cents - r->already_cents;
	if (left <= 0)
		return refuse(r, 409, "order_fully_refunded", NULL,
			      "The whole order has already been refunded or requested.");
	r->amount = r->amount_given ? r->amount_cents : left;
	if (r->amount > left || r->amount <= 0)
		return refuse(r, 422, "amount_too_large", "amount_cents",
			      "amount_cents may be at most %lld (paid %lld, already %lld).",
			      (long long)left, (long long)r->paid_cents,
			      (long long)r->already_cents);
	if (b4_crypto_uuid7(r->refund_id) < 0)
		return -1;
	if (b4_db_exec(db,
		       "INSERT INTO refunds (id, order_id, amount_cents, reason, status,"
		       " requested_by) VALUES (?, ?, ?, ?, 'requested', ?)",
		       "ssiss", r->refund_id, r->order_id, r->amount, r->reason,
		       r->requested_by) < 0)
		return -1;
	/* already refund_requested for the rest of a partial refund */
	if (!strcmp(status, "paid") &&
	    b4_order_move(db, r->order_id, B4_ORDER_PAID, B4_ORDER_REFUND_REQUESTED) != 1)
		return -1;
	return b4_job_refund_process(db, r->refund_id, r->order_id, r->amount, r->requested_by);
}

cJSON *b4_refund_json(struct b4_db *db, const char *refund_id)
{
	struct b4_db_result *res;
	cJSON *out = NULL;

	res = b4_db_query(db,
			  "SELECT r.id, r.order_id, r.amount_cents, r.reason, r.status,"
			  " r.requested_by, DATE_FORMAT(r.created_at, '%Y-%m-%dT%H:%i:%sZ'),"
			  " o.status FROM refunds r JOIN orders o ON o.id = r.order_id"
			  " WHERE r.id = ?",
			  "s", refund_id);
	if (!res || b4_db_rows(res) != 1)
		goto out_free;
	out = cJSON_CreateObject();
	cJSON_AddStringToObject(out, "id", b4_db_str(res, 0, 0));
	cJSON_AddStringToObject(out, "order_id", b4_db_str(res, 0, 1));
	cJSON_AddNumberToObject(out, "amount_cents", (double)b4_db_i64(res, 0, 2));
	cJSON_AddStringToObject(out, "reason", b4_db_str(res, 0, 3));
	cJSON_AddStringToObject(out, "status", b4_db_str(res, 0, 4));
	if (b4_db_is_null(res, 0, 5))
		cJSON_AddNullToObject(out, "requested_by");
	else
		cJSON_AddStringToObject(out, "requested_by", b4_db_str(res, 0, 5));
	cJSON_AddStringToObject(out, "created_at", b4_db_str(res, 0, 6));
	cJSON_AddStringToObject(out, "order_status", b4_db_str(res, 0, 7));
out_free:
	b4_db_result_free(res);
	return out;
}

int b4_splits_reverse(struct b4_db *db, const char *order_id, int64_t amount_cents, char *why,
		      size_t whycap)
{
	struct b4_split_part parts[MAX_SPLITS], reversals[MAX_SPLITS];
	char ids[MAX_SPLITS][37];
	struct b4_db_result *res;
	size_t n;

	res = b4_db_query(db,
			  "SELECT id, amount_cents - reversed_cents FROM splits WHERE order_id = ?"
			  " ORDER BY id FOR UPDATE",
			  "s", order_id);
	if (!res)
		return -1;
	n = b4_db_rows(res);
	if (n == 0 || n > MAX_SPLITS) {
		b4_db_result_free(res);
		snprintf(why, whycap, "order has %zu splits", n);
		return -2;
	}
	for (size_t i = 0; i < n; i++) {
		snprintf(ids[i], sizeof(ids[i]), "%s", b4_db_str(res, i, 0));
		parts[i].role = B4_SPLIT_PRODUCER; /* only the amounts matter here */
		parts[i].party = (int)i;
		parts[i].amount_cents = b4_db_i64(res, i, 1);
	}
	b4_db_result_free(res);
	if (b4_money_split_refund(parts, n, amount_cents, reversals) < 0) {
		snprintf(why, whycap, "refund of %lld exceeds what the splits hold",
			 (long long)amount_cents);
		return -2;
	}
	/* the aggregates: the order's part out, then back with the reversal */
	if (b4_sales_agg_shift(db, order_id, "", NULL) < 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (reversals[i].amount_cents == 0)
			continue;
		if (b4_db_exec(db,
			       "UPDATE splits SET reversed_cents = reversed_cents + ?,"
			       " status = IF(reversed_cents = amount_cents, 'reversed', status)"
			       " WHERE id = ?",
			       "is", reversals[i].amount_cents, ids[i]) < 0)
			return -1;
	}
	return b4_sales_agg_shift(db, order_id, NULL, "");
}

/* refund_requested -> paid once no other refund of the order is pending. */
static int back_to_paid(struct b4_db *db, const char *order_id)
{
	struct b4_db_result *res = b4_db_query(db,
					       "SELECT COUNT(*) FROM refunds WHERE order_id = ?"
					       " AND status IN ('requested', 'processing')",
					       "s", order_id);
	int64_t pending;

	if (!res)
		return -1;
	pending = b4_db_i64(res, 0, 0);
	b4_db_result_free(res);
	if (pending > 0)
		return 0;
	return b4_order_move(db, order_id, B4_ORDER_REFUND_REQUESTED, B4_ORDER_PAID) < 0 ? -1 : 0;
}

/* After a refund succeeded: the charge, the order and the invoice. */
static int after_refund(struct b4_db *db, const char *order_id)
{
	struct b4_db_result *res;
	int64_t refunded, total;
	char charge_id[37] = "";
	bool full;

	res = b4_db_query(db,
			  "SELECT (SELECT COALESCE(SUM(amount_cents), 0) FROM refunds"
			  "  WHERE order_id = o.id AND status = 'succeeded'), o.total_cents,"
			  " (SELECT c.id FROM charges c WHERE c.order_id = o.id"
			  "  AND c.status IN ('approved', 'partially_refunded')"
			  "  ORDER BY c.created_at DESC LIMIT 1)"
			  " FROM orders o WHERE o.id = ?",
			  "s", order_id);
	if (!res || b4_db_rows(res) != 1) {
		b4_db_result_free(res);
		return -1;
	}
	refunded = b4_db_i64(res, 0, 0);
	total = b4_db_i64(res, 0, 1);
	if (!b4_db_is_null(res, 0, 2))
		snprintf(charge_id, sizeof(charge_id), "%s", b4_db_str(res, 0, 2));
	b4_db_result_free(res);
	full = refunded >= total;
	if (charge_id[0] &&
	    b4_charge_move(db, charge_id,
			   B4_BIT(B4_CHARGE_APPROVED) | B4_BIT(B4_CHARGE_PARTIALLY_REFUNDED),
			   full ? B4_CHARGE_REFUNDED : B4_CHARGE_PARTIALLY_REFUNDED) < 0)
		return -1;
	if (!full)
		return back_to_paid(db, order_id);
	if (b4_order_move(db, order_id, B4_ORDER_REFUND_REQUESTED, B4_ORDER_REFUNDED) < 0)
		return -1;
	return b4_job_order(db, B4_JOB_INVOICE_CANCEL, order_id, 0);
}

int b4_refund_settle(struct b4_db *db, const char *refund_id, bool ok,
		     const char *acquirer_refund_id, char *why, size_t whycap)
{
	struct b4_db_result *res;
	char order_id[37], dedup[96];
	int64_t amount;
	int moved, rc;

	why[0] = '\0';
	moved = b4_refund_move(db, refund_id, ok ? B4_REFUND_SUCCEEDED : B4_REFUND_FAILED,
			       acquirer_refund_id);
	if (moved <= 0)
		return moved; /* settled by an earlier run */
	res = b4_db_query(db, "SELECT order_id, amount_cents FROM refunds WHERE id = ?", "s",
			  refund_id);
	if (!res || b4_db_rows(res) != 1) {
		b4_db_result_free(res);
		return -1;
	}
	snprintf(order_id, sizeof(order_id), "%s", b4_db_str(res, 0, 0));
	amount = b4_db_i64(res, 0, 1);
	b4_db_result_free(res);
	if (!ok)
		return back_to_paid(db, order_id) < 0 ? -1 : 1;
	rc = b4_splits_reverse(db, order_id, amount, why, whycap);
	if (rc < 0 || after_refund(db, order_id) < 0)
		return -1;
	/* dedup keys are global: refund:<id> already names the refund.process job */
	snprintf(dedup, sizeof(dedup), "refund-event:%s", refund_id);
	return b4_job_order_event(db, "refund", order_id, dedup) < 0 ? -1 : 1;
}

int b4_refund_record_late(struct b4_db *db, const char *order_id, const char *charge_id,
			  int64_t amount_cents, const char *acquirer_refund_id)
{
	char refund_id[37];
	int moved = b4_charge_move(db, charge_id, B4_BIT(B4_CHARGE_APPROVED), B4_CHARGE_REFUNDED);

	if (moved <= 0)
		return moved;
	/* recorded like any other refund, by the system (no requester) */
	if (b4_crypto_uuid7(refund_id) < 0)
		return -1;
	return b4_db_exec(db,
			  "INSERT INTO refunds (id, order_id, amount_cents, reason, status,"
			  " requested_by, acquirer_refund_id) VALUES (?, ?, ?,"
			  " 'payment received after the order stopped waiting for it',"
			  " 'succeeded', NULL, ?)",
			  "ssis", refund_id, order_id, amount_cents, acquirer_refund_id) < 0
		   ? -1
		   : 1;
}

struct respond_tx {
	struct b4_req *req;
	struct b4_idem *idem;
	struct b4_refund_request *r;
	b4_refund_hook_fn *hook;
	char *answer; /* malloc'd JSON text of the 201 */
};

static int respond_tx(struct b4_db *db, void *arg)
{
	struct respond_tx *t = arg;
	cJSON *refund;

	free(t->answer);
	t->answer = NULL;
	if (b4_refund_request(db, t->r) < 0 || (t->hook && t->hook(db, t->req, t->r) < 0))
		return -1;
	refund = b4_refund_json(db, t->r->refund_id);
	t->answer = refund ? cJSON_PrintUnformatted(refund) : NULL;
	cJSON_Delete(refund);
	if (!t->answer)
		return -1;
	return b4_idem_store(db, t->idem, 201, t->answer, t->r->refund_id);
}

static const char *refusal_type(int status)
{
	return status == 404 ? "not_found" : status == 409 ? "conflict" : "invalid_request_error";
}

void b4_refund_respond(struct b4_req *req, struct b4_idem *idem, struct b4_refund_request *r,
		       b4_refund_hook_fn *hook)
{
	struct respond_tx t = {req, idem, r, hook, NULL};

	if (idem->key && b4_idem_claim(req, idem) != 0)
		return;
	if (b4_db_tx(req->db, respond_tx, &t) < 0) {
		/* nothing was done: the key can be used again */
		b4_idem_release(req->db, idem);
		if (r->refusal_status)
			b4_req_errorf(req, r->refusal_status, refusal_type(r->refusal_status),
				      r->refusal_code, r->refusal_param, "%s", r->refusal_message);
		else
			b4_req_db_error(req);
		free(t.answer);
		return;
	}
	b4_req_send(req, 201, "application/json", t.answer, strlen(t.answer));
	free(t.answer);
}
