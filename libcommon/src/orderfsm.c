/* orderfsm.c - the order, charge and refund state tables and the only
 * writers of their status columns; see b4/orderfsm.h. */
#include "b4/orderfsm.h"
#include "b4/db.h"
#include "b4/log.h"
#include "b4/sales_agg.h"

#include <stddef.h>
#include <stdio.h>
#include <string.h>

static const char *const order_names[B4_ORDER_STATE_COUNT] = {
    [B4_ORDER_WAITING_PAYMENT] = "waiting_payment",
    [B4_ORDER_PAID] = "paid",
    [B4_ORDER_REFUSED] = "refused",
    [B4_ORDER_EXPIRED] = "expired",
    [B4_ORDER_REFUND_REQUESTED] = "refund_requested",
    [B4_ORDER_REFUNDED] = "refunded",
    [B4_ORDER_DISPUTED] = "disputed",
    [B4_ORDER_CHARGEBACK] = "chargeback",
};

static const char *const charge_names[B4_CHARGE_STATE_COUNT] = {
    [B4_CHARGE_PENDING] = "pending",
    [B4_CHARGE_APPROVED] = "approved",
    [B4_CHARGE_DECLINED] = "declined",
    [B4_CHARGE_ERROR] = "error",
    [B4_CHARGE_PARTIALLY_REFUNDED] = "partially_refunded",
    [B4_CHARGE_REFUNDED] = "refunded",
    [B4_CHARGE_CHARGEBACK] = "chargeback",
};

static const char *const refund_names[B4_REFUND_STATE_COUNT] = {
    [B4_REFUND_REQUESTED] = "requested",
    [B4_REFUND_PROCESSING] = "processing",
    [B4_REFUND_SUCCEEDED] = "succeeded",
    [B4_REFUND_FAILED] = "failed",
};

/* The allowed moves: row = from, bit set of the states it may go to. */
static const unsigned order_moves[B4_ORDER_STATE_COUNT] = {
    [B4_ORDER_WAITING_PAYMENT] =
	B4_BIT(B4_ORDER_PAID) | B4_BIT(B4_ORDER_EXPIRED) | B4_BIT(B4_ORDER_REFUSED),
    [B4_ORDER_PAID] = B4_BIT(B4_ORDER_REFUND_REQUESTED) | B4_BIT(B4_ORDER_DISPUTED),
    [B4_ORDER_REFUND_REQUESTED] = B4_BIT(B4_ORDER_REFUNDED) | B4_BIT(B4_ORDER_PAID),
    [B4_ORDER_DISPUTED] = B4_BIT(B4_ORDER_CHARGEBACK) | B4_BIT(B4_ORDER_PAID),
};

static const unsigned charge_moves[B4_CHARGE_STATE_COUNT] = {
    [B4_CHARGE_PENDING] =
	B4_BIT(B4_CHARGE_APPROVED) | B4_BIT(B4_CHARGE_DECLINED) | B4_BIT(B4_CHARGE_ERROR),
    [B4_CHARGE_APPROVED] = B4_BIT(B4_CHARGE_PARTIALLY_REFUNDED) | B4_BIT(B4_CHARGE_REFUNDED) |
			   B4_BIT(B4_CHARGE_CHARGEBACK),
    [B4_CHARGE_PARTIALLY_REFUNDED] = B4_BIT(B4_CHARGE_PARTIALLY_REFUNDED) |
				     B4_BIT(B4_CHARGE_REFUNDED) | B4_BIT(B4_CHARGE_CHARGEBACK),
};

static const unsigned refund_moves[B4_REFUND_STATE_COUNT] = {
    [B4_REFUND_REQUESTED] =
	B4_BIT(B4_REFUND_PROCESSING) | B4_BIT(B4_REFUND_SUCCEEDED) | B4_BIT(B4_REFUND_FAILED),
    [B4_REFUND_PROCESSING] = B4_BIT(B4_REFUND_SUCCEEDED) | B4_BIT(B4_REFUND_FAILED),
};

static const char *name_of(const char *const *names, int count, int state)
{
	return state >= 0 && state < count ? names[state] : NULL;
}

static int parse(const char *const *names, int count, const char *name)
{
	for (int i = 0; name && i < count; i++)
		if (!strcmp(names[i], name))
			return i;
	return -1;
}

static bool allowed(const unsigned *moves, int count, int from, int to)
{
	return from >= 0 && from < count && to >= 0 && to < count &&
	       (moves[from] & B4_BIT(to)) != 0;
}

const char *b4_order_state_name(enum b4_order_state state)
{
	return name_of(order_names, B4_ORDER_STATE_COUNT, (int)state);
}

const char *b4_charge_state_name(enum b4_charge_state state)
{
	return name_of(charge_names, B4_CHARGE_STATE_COUNT, (int)state);
}

const char *b4_refund_state_name(enum b4_refund_state state)
{
	return name_of(refund_names, B4_REFUND_STATE_COUNT, (int)state);
}

int b4_order_state_parse(const char *name)
{
	return parse(order_names, B4_ORDER_STATE_COUNT, name);
}

int b4_charge_state_parse(const char *name)
{
	return parse(charge_names, B4_CHARGE_STATE_COUNT, name);
}

bool b4_order_state_is_live(enum b4_order_state state)
{
	return state == B4_ORDER_WAITING_PAYMENT || state == B4_ORDER_PAID ||
	       state == B4_ORDER_REFUND_REQUESTED || state == B4_ORDER_DISPUTED;
}

bool b4_order_state_was_paid(enum b4_order_state state)
{
	return state == B4_ORDER_PAID || state == B4_ORDER_REFUND_REQUESTED ||
	       state == B4_ORDER_REFUNDED || state == B4_ORDER_DISPUTED ||
	       state == B4_ORDER_CHARGEBACK;
}

bool b4_order_move_allowed(enum b4_order_state from, enum b4_order_state to)
{
	return allowed(order_moves, B4_ORDER_STATE_COUNT, (int)from, (int)to);
}

bool b4_charge_move_allowed(enum b4_charge_state from, enum b4_charge_state to)
{
	return allowed(charge_moves, B4_CHARGE_STATE_COUNT, (int)from, (int)to);
}

bool b4_refund_move_allowed(enum b4_refund_state from, enum b4_refund_state to)
{
	return allowed(refund_moves, B4_REFUND_STATE_COUNT, (int)from, (int)to);
}

static void log_refused(const char *what, const char *id, const char *from, const char *to)
{
	b4_log_error("state move refused: not in the table", B4_LS("entity", what), B4_LS("id", id),
		     B4_LS("from", from ? from : "?"), B4_LS("to", to ? to : "?"));
}

/* The end of an order's move whose UPDATE changed n rows: the sales
 * aggregates follow it.  Returns like b4_order_move. */
static int order_moved(struct b4_db *db, const char *order_id, int64_t n, const char *from,
		       const char *to, const struct b4_sales_contrib *c)
{
	if (n > 0 && b4_sales_agg_shift_known(db, order_id, c, from, to) < 0)
		return -1;
	return n < 0 ? -1 : n > 0;
}

int b4_order_move(struct b4_db *db, const char *order_id, enum b4_order_state from,
		  enum b4_order_state to)
{
	int64_t n;

	if (!b4_order_move_allowed(from, to)) {
		log_refused("order", order_id, b4_order_state_name(from), b4_order_state_name(to));
		return -1;
	}
	if (to == B4_ORDER_PAID && from == B4_ORDER_WAITING_PAYMENT)
		n = b4_db_exec(db,
			       "UPDATE orders SET status = ?, paid_at = UTC_TIMESTAMP(6)"
			       " WHERE id = ? AND status = ?",
			       "sss", order_names[to], order_id, order_names[from]);
	else
		/* an upsell that stops being live frees its parent's slot */
		n = b4_db_exec(db,
			       "UPDATE orders SET status = ?,"
			       " live_upsell_parent = IF(?, live_upsell_parent, NULL)"
			       " WHERE id = ? AND status = ?",
			       "sBss", order_names[to], b4_order_state_is_live(to), order_id,
			       order_names[from]);
	return order_moved(db, order_id, n, order_names[from], order_names[to], NULL);
}

int b4_order_move_paid(struct b4_db *db, const char *order_id, int64_t release_days,
		       const struct b4_sales_contrib *c)
{
	const char *from = order_names[B4_ORDER_WAITING_PAYMENT], *to = order_names[B4_ORDER_PAID];
	int64_t n;

	if (!b4_order_move_allowed(B4_ORDER_WAITING_PAYMENT, B4_ORDER_PAID)) {
		log_refused("order", order_id, from, to);
		return -1;
	}
	/* one UTC_TIMESTAMP(6) per statement: release_at is paid_at + days */
	n = b4_db_exec(db,
		       "UPDATE orders o LEFT JOIN splits s ON s.order_id = o.id"
		       " AND s.status = 'waiting'"
		       " SET o.status = ?, o.paid_at = UTC_TIMESTAMP(6),"
		       " s.release_at = UTC_TIMESTAMP(6) + INTERVAL ? DAY"
		       " WHERE o.id = ? AND o.status = ?",
		       "siss", to, release_days, order_id, from);
	return order_moved(db, order_id, n, from, to, c);
}

int b4_charge_move(struct b4_db *db, const char *charge_id, unsigned from_mask,
		   enum b4_charge_state to)
{
	return b4_charge_move_set(db, charge_id, from_mask, to, NULL, 0, NULL);
}

#define CHARGE_MOVE_EXTRA_MAX 80
_Static_assert(B4_CHARGE_STATE_COUNT == 7, "one ? per charge state in b4_charge_move_set");

int b4_charge_move_set(struct b4_db *db, const char *charge_id, unsigned from_mask,
		       enum b4_charge_state to, const char *set, size_t nvalues,
		       const char *const *values)
{
	const char *params[CHARGE_MOVE_EXTRA_MAX + 2 + B4_CHARGE_STATE_COUNT];
	char sql[1024];
	size_t np = 0;
	int64_t n;

	if (nvalues > CHARGE_MOVE_EXTRA_MAX)
		return -1;
	params[np++] = charge_names[to];
	for (size_t k = 0; k < nvalues; k++)
		params[np++] = values[k];
	params[np++] = charge_id;
	for (int s = 0; s < B4_CHARGE_STATE_COUNT; s++) {
		/* unused slots bind NULL, which matches nothing */
		params[np++] = NULL;
		if (!(from_mask & B4_BIT(s)))
			continue;
		if (!b4_charge_move_allowed((enum b4_charge_state)s, to)) {
			log_refused("charge", charge_id, charge_names[s], b4_charge_state_name(to));
			return -1;
		}
		params[np - 1] = charge_names[s];
	}
	if ((size_t)snprintf(sql, sizeof(sql),
			     "UPDATE charges SET status = ?%s%s WHERE id = ?"
			     " AND status IN (?, ?, ?, ?, ?, ?, ?)",
			     set ? ", " : "", set ? set : "") >= sizeof(sql))
		return -1;
	n = b4_db_exec_strs(db, sql, np, params);
	return n < 0 ? -1 : n > 0;
}

int b4_refund_move(struct b4_db *db, const char *refund_id, enum b4_refund_state to,
		   const char *acquirer_refund_id)
{
	int64_t n;

	if (!b4_refund_move_allowed(B4_REFUND_REQUESTED, to)) {
		log_refused("refund", refund_id, "requested", b4_refund_state_name(to));
		return -1;
	}
	n = b4_db_exec(db,
		       "UPDATE refunds SET status = ?,"
		       " acquirer_refund_id = COALESCE(?, acquirer_refund_id)"
		       " WHERE id = ? AND status IN ('requested', 'processing')",
		       "sss", refund_names[to], acquirer_refund_id, refund_id);
	return n < 0 ? -1 : n > 0;
}
