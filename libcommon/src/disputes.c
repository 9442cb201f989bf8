/* disputes.c - disputes and chargebacks; see b4/disputes.h. */
#include "b4/disputes.h"
#include "b4/db.h"
#include "b4/jobs.h"
#include "b4/orderfsm.h"
#include "b4/refunds.h"

#include <stdio.h>
#include <string.h>

/* Locks the order; B4_DISPUTE_BUSY while a refund of it is in flight. */
static int lock_not_busy(struct b4_db *db, const char *order_id)
{
	struct b4_db_result *res =
	    b4_db_query(db, "SELECT status FROM orders WHERE id = ? FOR UPDATE", "s", order_id);
	int rc;

	if (!res)
		return -1;
	rc = b4_db_rows(res) == 1 && !strcmp(b4_db_str(res, 0, 0), "refund_requested")
		 ? B4_DISPUTE_BUSY
		 : 0;
	b4_db_result_free(res);
	return rc;
}

int b4_dispute_open(struct b4_db *db, const char *order_id)
{
	int moved = lock_not_busy(db, order_id);

	if (moved != 0)
		return moved;
	moved = b4_order_move(db, order_id, B4_ORDER_PAID, B4_ORDER_DISPUTED);

	if (moved <= 0)
		return moved;
	return b4_job_order_event(db, "dispute-opened", order_id, NULL) < 0 ? -1 : 1;
}

/* Reverses whatever is left of every split of the order. */
static int reverse_all(struct b4_db *db, const char *order_id)
{
	struct b4_db_result *res = b4_db_query(
	    db,
	    "SELECT COALESCE(SUM(amount_cents - reversed_cents), 0) FROM splits WHERE order_id = ?",
	    "s", order_id);
	char why[128];
	int64_t left;

	if (!res)
		return -1;
	left = b4_db_i64(res, 0, 0);
	b4_db_result_free(res);
	if (left == 0)
		return 0;
	return b4_splits_reverse(db, order_id, left, why, sizeof(why)) < 0 ? -1 : 0;
}

static int lose(struct b4_db *db, const char *order_id)
{
	struct b4_db_result *res;
	int moved = b4_order_move(db, order_id, B4_ORDER_DISPUTED, B4_ORDER_CHARGEBACK);

	if (moved <= 0)
		return moved;
	res = b4_db_query(db,
			  "SELECT id FROM charges WHERE order_id = ?"
			  " AND status IN ('approved', 'partially_refunded')",
			  "s", order_id);
	if (!res)
		return -1;
	for (size_t r = 0; r < b4_db_rows(res); r++)
		if (b4_charge_move(db, b4_db_str(res, r, 0),
				   B4_BIT(B4_CHARGE_APPROVED) |
				       B4_BIT(B4_CHARGE_PARTIALLY_REFUNDED),
				   B4_CHARGE_CHARGEBACK) < 0) {
			b4_db_result_free(res);
			return -1;
		}
	b4_db_result_free(res);
	if (reverse_all(db, order_id) < 0 ||
	    b4_job_order_event(db, "chargeback", order_id, NULL) < 0 ||
	    b4_job_order(db, B4_JOB_INVOICE_CANCEL, order_id, 0) < 0)
		return -1;
	return 1;
}

int b4_dispute_resolve(struct b4_db *db, const char *order_id, bool won)
{
	int moved = lock_not_busy(db, order_id);

	if (moved != 0)
		return moved;

	if (won) {
		moved = b4_order_move(db, order_id, B4_ORDER_DISPUTED, B4_ORDER_PAID);
		if (moved <= 0)
			return moved;
		return b4_job_order_event(db, "dispute-won", order_id, NULL) < 0 ? -1 : 1;
	}
	/* a chargeback without a dispute announced first */
	if (b4_order_move(db, order_id, B4_ORDER_PAID, B4_ORDER_DISPUTED) < 0)
		return -1;
	return lose(db, order_id);
}
