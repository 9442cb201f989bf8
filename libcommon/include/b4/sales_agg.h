/* sales_agg.h - the sales_daily aggregates (db/migrations/0017): per
 * member, local day, product, affiliate, role, order status, payment
 * method and slot, the orders counted, gross, split amounts and reversals.
 *
 * Kept exact by the domain layer in the caller's transaction: an order
 * adds its contribution when created (b4_order_create), moves it from the
 * old status row to the new one in b4_order_move, and re-adds it around a
 * split reversal (b4_splits_reverse).  Each member of an order (producer,
 * affiliate, co-producers with a split) has one contribution: 1 order;
 * gross = the order total for the producer, the member's split amounts
 * otherwise; amount and reversed = the member's splits.  Triggers keep
 * sales_totals (the same summed over day, product, affiliate and role,
 * db/migrations/0018) and sales_days (summed over product, affiliate and
 * role, 0019) in the same statements.  Readers sum over the slots;
 * b4_sales_agg_compact folds the slots of past days into slot 0. */
#ifndef B4_SALES_AGG_H
#define B4_SALES_AGG_H

#include <stddef.h>
#include <stdint.h>

#include "b4/money.h"

struct b4_db;

/* An order's contribution as the writer of the order knows it (filled by
 * b4_order_create), so its first move need not read the order back: the
 * members with role, gross and split amount (nothing reversed yet), and the
 * order's product, affiliate and payment method.  The day comes from the
 * order's created_at and each member's utc_offset, read in the statement. */
/* the producer, the affiliate and every co-producer */
#define B4_SALES_MAX_MEMBERS (2 + B4_MONEY_MAX_COPRODUCERS)
struct b4_sales_member {
	char id[37];
	const char *role; /* "producer", "affiliate", "coproducer" */
	int64_t gross_cents, amount_cents;
};
struct b4_sales_contrib {
	size_t n; /* 0: unknown (read the order) */
	struct b4_sales_member m[B4_SALES_MAX_MEMBERS];
	char product_id[37], affiliate_id[37], method[8];
};

/* Adds order_id's contribution under its current status.  Returns 0, or
 * -1 on a database error. */
int b4_sales_agg_add(struct b4_db *db, const char *order_id);

/* Takes order_id's contribution away from status `from` and adds it under
 * `to` (either may be NULL for none; "" means the order's current
 * status), with the split amounts as they are now.  Returns 0 or -1. */
int b4_sales_agg_shift(struct b4_db *db, const char *order_id, const char *from, const char *to);

/* b4_sales_agg_shift with the contribution c known (c->n > 0): one
 * statement of plain rows instead of reading the order and its splits.
 * c must be what the order has now (a first move, before any reversal).
 * Falls back to b4_sales_agg_shift when c is NULL or empty. */
int b4_sales_agg_shift_known(struct b4_db *db, const char *order_id,
			     const struct b4_sales_contrib *c, const char *from, const char *to);

/* Recomputes the whole table from orders and splits in one transaction
 * (20,000 orders a statement), into slot 0, and the funnel's event counts
 * (funnel_days, db/migrations/0021) from checkout_events; for a maintenance window, as
 * live writers of the same rows wait for it.  *rows gets the number of
 * aggregate rows.  Returns 0 or -1. */
int b4_sales_agg_rebuild(struct b4_db *db, int64_t *rows);

/* Folds the live slots of past days into slot 0: for each member and day
 * before `before` ("YYYY-MM-DD"; NULL: the day before yesterday in UTC, so
 * no time zone's today is touched) that has rows in slots 1-15,
 * transactions of at most 64 of those rows lock them, add their sums to
 * the slot 0 rows, take them to zero and delete the rows left at zero
 * (sales_totals and sales_days follow by their triggers).  Every sum stays the same; a
 * writer of the same rows (a late refund of an old order) waits for the
 * row locks, and a row it creates meanwhile is left for the next run.
 * Stops after max_days member-days; *folded gets how many were folded.
 * Returns 0, or -1 on a database error. */
int b4_sales_agg_compact(struct b4_db *db, const char *before, size_t max_days, int64_t *folded);

/* Rebuilds only when sales_daily is empty and orders is not (the first
 * run after migration 0017 on a database with orders).  Returns 0 or -1. */
int b4_sales_agg_fill_if_empty(struct b4_db *db);

#endif
