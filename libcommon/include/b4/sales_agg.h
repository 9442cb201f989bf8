/* sales_agg.h - the sales aggregates (db/migrations/0017-0023): per
 * member, local day, product, affiliate, role, order status, payment
 * method and slot, the orders counted, gross, split amounts and reversals.
 *
 * Kept exact by the domain layer through an outbox: in the caller's
 * transaction an order appends its contribution to sales_pending when
 * created (b4_order_create), moves it from the old status to the new one
 * in b4_order_move (a -1 row and a +1 row), and takes it out and back in
 * around a split reversal (b4_splits_reverse).  b4_sales_agg_apply folds
 * the appended rows into sales_daily exactly once; triggers keep
 * sales_totals (the same summed over day, product, affiliate and role,
 * db/migrations/0018), sales_days (summed over product and affiliate,
 * 0022) and sales_platform_days (the producers' rows of sales_days summed
 * over producers, 0024) in the same statements.  Readers read each table
 * plus the rows not yet applied in one statement (B4_SALES_LIVE,
 * B4_SALES_LIVE_ROWS), exact at any moment, summed over the slots.  Each
 * member of an order (producer, affiliate,
 * co-producers with a split) has one contribution: 1 order; gross = the
 * order total for the producer, the member's split amounts otherwise;
 * amount and reversed = the member's splits.  b4_sales_agg_compact folds
 * the slots of past days into slot 0. */
#ifndef B4_SALES_AGG_H
#define B4_SALES_AGG_H

#include <stddef.h>
#include <stdint.h>

#include "b4/money.h"

struct b4_db;

/* What a reader selects FROM: COLS of TABLE (sales_daily, sales_days or
 * sales_totals) and of the outbox's rows not applied yet, both WHERE, as
 * one derived table; alias it.  Its binds are WHERE's, twice.  One
 * statement reads both from one snapshot, so the sums are exact whatever
 * the applier's lag.  The derived table costs its rows' copy (about
 * 0.5 ms for a member's 30 days); B4_SALES_LIVE_ROWS does without. */
#define B4_SALES_LIVE(COLS, TABLE, WHERE)                                                          \
	" (SELECT " COLS " FROM " TABLE " WHERE " WHERE " UNION ALL SELECT " COLS                  \
	" FROM sales_pending WHERE " WHERE ")"
/* The same as a whole statement whose caller adds up the rows: SELECT
 * (sums grouped by GROUP) of TABLE, then the same of the outbox, so a
 * group may come twice (and sum to zero).  Binds: WHERE's, twice.  (The
 * *_live views of migration 0023 say the same, but MariaDB 10.11 does not
 * push a prepared statement's conditions into a view's UNION: it reads
 * the whole table, 9.9 ms against 1.2 ms for a member's 30 days in the
 * benchmark.) */
#define B4_SALES_LIVE_ROWS(SELECT, TABLE, WHERE, GROUP)                                            \
	"SELECT " SELECT " FROM " TABLE " WHERE " WHERE " GROUP BY " GROUP                         \
	" UNION ALL SELECT " SELECT " FROM sales_pending WHERE " WHERE " GROUP BY " GROUP

/* An order's contribution as the writer of the order knows it (filled by
 * b4_order_create), so its first move need not read the order back: the
 * members with role, local day of the order, gross and split amount
 * (nothing reversed yet), and the order's product, affiliate and payment
 * method. */
/* the producer, the affiliate and every co-producer */
#define B4_SALES_MAX_MEMBERS (2 + B4_MONEY_MAX_COPRODUCERS)
struct b4_sales_member {
	char id[37];
	const char *role; /* "producer", "affiliate", "coproducer" */
	char day[11];	  /* the order's created_at in the member's utc_offset; "" unknown */
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

/* Fills each member's day of c: order_id's created_at (the order is
 * written) in the member's utc_offset, in one read.  Returns 0, or -1 on a
 * database error or a member without a user row. */
int b4_sales_agg_known_days(struct b4_db *db, const char *order_id, struct b4_sales_contrib *c);

/* The local day ("YYYY-MM-DD") of utc, a UTC time "YYYY-MM-DD HH:MM[...]",
 * at utc_offset "[+-]HH:MM": what DATE(CONVERT_TZ(utc, '+00:00',
 * utc_offset)) says.  Returns 0, or -1 when either is malformed. */
int b4_sales_agg_local_day(const char *utc, const char *utc_offset, char day[11]);

/* b4_sales_agg_shift with the contribution c known (c->n > 0, every day
 * filled: by b4_sales_agg_local_day from the members' offsets the order's
 * writer read, else by b4_sales_agg_known_days): one statement of plain rows instead
 * of reading the order and its splits.  c must be what the order has now
 * (a first move, before any reversal).  Falls back to b4_sales_agg_shift
 * when c is NULL, empty or without its days. */
int b4_sales_agg_shift_known(struct b4_db *db, const char *order_id,
			     const struct b4_sales_contrib *c, const char *from, const char *to);

/* Folds up to max_rows (at most B4_DB_MAX_PARAMS) of the oldest rows of
 * sales_pending into sales_daily, grouped, in the connection's slot, and
 * deletes exactly those rows, in one transaction: each row counts once.
 * The read takes no lock, so the orders' appends never wait for it;
 * several appliers may run (a race rolls one back, which then returns 0
 * with nothing applied).  *applied gets the rows folded; *lag_seconds
 * (may be NULL) the age of the oldest of them, 0 when none.  Returns 0,
 * or -1 on a database error. */
int b4_sales_agg_apply(struct b4_db *db, size_t max_rows, int64_t *applied, double *lag_seconds);

/* Recomputes the whole table from orders and splits in one transaction
 * (20,000 orders a statement), into slot 0, with sales_pending emptied
 * (its rows are recounted with the rest), and the funnel's event counts
 * (funnel_days, db/migrations/0021) from checkout_events; for a maintenance window, as
 * live writers of the same rows wait for it.  *rows gets the number of
 * aggregate rows.  Returns 0 or -1. */
int b4_sales_agg_rebuild(struct b4_db *db, int64_t *rows);

/* Folds the live slots of past days into slot 0: for each member and day
 * before `before` ("YYYY-MM-DD"; NULL: the day before yesterday in UTC, so
 * no time zone's today is touched) that has rows in slots 1-15,
 * transactions of at most 64 of those rows lock them, add their sums to
 * the slot 0 rows, take them to zero and delete the rows left at zero
 * (sales_totals, sales_days and sales_platform_days follow by their
 * triggers; the platform's rows left at zero that day go too); then the
 * same for funnel_days' rows of each offer and day.  Every sum stays the
 * same; a writer of the same rows (a late refund of an old order, an
 * event) waits for the row locks, and a row it creates meanwhile is left
 * for the next run.  Stops after max_days days (of a member or of an
 * offer); *folded gets how many were folded.  Returns 0, or -1 on a
 * database error. */
int b4_sales_agg_compact(struct b4_db *db, const char *before, size_t max_days, int64_t *folded);

/* Rebuilds only when sales_daily and its outbox are empty and orders is
 * not (the first run after migration 0017 on a database with orders; not
 * a new one whose first orders wait for the applier).  Returns 0 or -1. */
int b4_sales_agg_fill_if_empty(struct b4_db *db);

#endif
