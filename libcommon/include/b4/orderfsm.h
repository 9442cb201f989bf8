/* orderfsm.h - the state machines of orders, charges and refunds, as
 * tables (PostgreSQL's xact.c is the model: an enum of states, the allowed
 * moves as data, and an error, never a silent fix, for any other move).
 *
 * Orders (API.md): waiting_payment -> paid | expired | refused;
 * paid -> refund_requested -> refunded, or back to paid when the acquirer
 * refuses (or after a partial refund); paid -> disputed -> chargeback |
 * paid.  Nothing else.
 * Charges: pending -> approved | declined | error; approved and
 * partially_refunded -> partially_refunded | refunded | chargeback.
 * Refunds: requested -> processing | succeeded | failed; processing ->
 * succeeded | failed.
 *
 * The b4_*_move functions are the only code that writes orders.status,
 * charges.status and refunds.status.  They run on the caller's connection
 * inside the caller's transaction, with a conditional UPDATE (the row must
 * still be in `from`), so a replayed or out-of-order event changes nothing.
 */
#ifndef B4_ORDERFSM_H
#define B4_ORDERFSM_H

#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>

struct b4_db;

enum b4_order_state {
	B4_ORDER_WAITING_PAYMENT,
	B4_ORDER_PAID,
	B4_ORDER_REFUSED,
	B4_ORDER_EXPIRED,
	B4_ORDER_REFUND_REQUESTED,
	B4_ORDER_REFUNDED,
	B4_ORDER_DISPUTED,
	B4_ORDER_CHARGEBACK,
	B4_ORDER_STATE_COUNT
};

enum b4_charge_state {
	B4_CHARGE_PENDING,
	B4_CHARGE_APPROVED,
	B4_CHARGE_DECLINED,
	B4_CHARGE_ERROR,
	B4_CHARGE_PARTIALLY_REFUNDED,
	B4_CHARGE_REFUNDED,
	B4_CHARGE_CHARGEBACK,
	B4_CHARGE_STATE_COUNT
};

enum b4_refund_state {
	B4_REFUND_REQUESTED,
	B4_REFUND_PROCESSING,
	B4_REFUND_SUCCEEDED,
	B4_REFUND_FAILED,
	B4_REFUND_STATE_COUNT
};

/* The state's name as stored and shown ("waiting_payment"), or NULL for a
 * value out of range. */
const char *b4_order_state_name(enum b4_order_state state);
const char *b4_charge_state_name(enum b4_charge_state state);
const char *b4_refund_state_name(enum b4_refund_state state);

/* The state called name, or -1 when there is none. */
int b4_order_state_parse(const char *name);
int b4_charge_state_parse(const char *name);

/* Is an order in this state live (waiting_payment, paid, refund_requested,
 * disputed): it holds its coupon use and, as an upsell, its parent's one
 * upsell slot? */
bool b4_order_state_is_live(enum b4_order_state state);

/* Was an order in this state approved by the acquirer at some point (paid,
 * refund_requested, refunded, disputed, chargeback)?  Sales figures count
 * these in gross and paid counts. */
bool b4_order_state_was_paid(enum b4_order_state state);

/* Is from -> to in the table?  (false for values out of range) */
bool b4_order_move_allowed(enum b4_order_state from, enum b4_order_state to);
bool b4_charge_move_allowed(enum b4_charge_state from, enum b4_charge_state to);
bool b4_refund_move_allowed(enum b4_refund_state from, enum b4_refund_state to);

/* Moves order_id from `from` to `to` (paid also sets paid_at).  Returns 1
 * when it moved, 0 when the order was not in `from` (a replay, an
 * out-of-order event, or another request won), -1 on a database error or
 * a move the table refuses (logged). */
int b4_order_move(struct b4_db *db, const char *order_id, enum b4_order_state from,
		  enum b4_order_state to);

struct b4_sales_contrib;
/* waiting_payment -> paid, setting paid_at and, in the same statement, the
 * release date of the order's waiting splits (paid_at + release_days);
 * the sales aggregates move the contribution c the caller knows
 * (b4_sales_agg_shift_known; NULL reads it from the order).  Returns like
 * b4_order_move. */
int b4_order_move_paid(struct b4_db *db, const char *order_id, int64_t release_days,
		       const struct b4_sales_contrib *c);

/* Moves charge_id from any of the states in the `from` bit set (bit n =
 * state n) to `to`.  Returns like b4_order_move. */
int b4_charge_move(struct b4_db *db, const char *charge_id, unsigned from_mask,
		   enum b4_charge_state to);

/* b4_charge_move that also sets `set` in the same statement: a fragment
 * "col = <expr with ?>, ..." (never the status) with nvalues string values
 * (NULL binds SQL NULL), at most 80. */
int b4_charge_move_set(struct b4_db *db, const char *charge_id, unsigned from_mask,
		       enum b4_charge_state to, const char *set, size_t nvalues,
		       const char *const *values);

/* Moves refund_id from requested or processing to succeeded or failed,
 * recording the acquirer's refund id (may be NULL).  Returns like
 * b4_order_move. */
int b4_refund_move(struct b4_db *db, const char *refund_id, enum b4_refund_state to,
		   const char *acquirer_refund_id);

#define B4_BIT(state) (1u << (state))

#endif
