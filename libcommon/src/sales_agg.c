/* sales_agg.c - the sales aggregates: the moves' outbox (sales_pending),
 * its applier into sales_daily (sales_totals, sales_days and
 * sales_platform_days follow by triggers, db/migrations/0018, 0022 and
 * 0024), the rebuild and the compaction; see b4/sales_agg.h. */
#include "b4/sales_agg.h"
#include "b4/buf.h"
#include "b4/db.h"
#include "b4/tz.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The members of the orders that ORDERS_WHERE / SPLITS_WHERE pick, with
 * their split amounts: the producer and the affiliate from the order row
 * (a refused order has no splits), everyone with a split from splits. */
#define MEMBERS(ORDERS_WHERE, SPLITS_WHERE)                                                        \
	" (SELECT x.order_id, x.member_id, SUM(x.amount) AS amount, SUM(x.reversed) AS reversed"   \
	"  FROM (SELECT id AS order_id, producer_id AS member_id, 0 AS amount, 0 AS reversed"      \
	"   FROM orders WHERE " ORDERS_WHERE                                                       \
	"   UNION ALL SELECT id, affiliate_id, 0, 0 FROM orders"                                   \
	"   WHERE affiliate_id IS NOT NULL AND " ORDERS_WHERE                                      \
	"   UNION ALL SELECT order_id, user_id, amount_cents, reversed_cents FROM splits"          \
	"   WHERE user_id IS NOT NULL AND " SPLITS_WHERE ") x"                                     \
	"  GROUP BY x.order_id, x.member_id) m"

/* One row per member of the orders WHERE picks: SIGN times their
 * contribution under STATUS, in sales_pending's columns.  (A derived sign
 * table joined in, to move -1 and +1 in one statement, made MariaDB 10.11
 * plan it badly: 4.5 ms for its SELECT against 0.2 ms without; two
 * statements are cheaper.) */
#define AGG_ROWS(SIGN, STATUS, MEMBERS_SQL, WHERE)                                                 \
	" SELECT m.member_id, DATE(CONVERT_TZ(o.created_at, '+00:00', u.utc_offset)) AS day,"      \
	" o.product_id, COALESCE(o.affiliate_id, '') AS affiliate_id,"                             \
	" CASE WHEN m.member_id = o.producer_id THEN 'producer'"                                   \
	"  WHEN m.member_id = o.affiliate_id THEN 'affiliate' ELSE 'coproducer' END AS role,"      \
	" " STATUS " AS status, o.payment_method, " SIGN " AS orders,"                             \
	" " SIGN " * IF(m.member_id = o.producer_id, o.total_cents, m.amount) AS gross,"           \
	" " SIGN " * m.amount AS amount, " SIGN " * m.reversed AS reversed"                        \
	" FROM orders o JOIN" MEMBERS_SQL " ON m.order_id = o.id"                                  \
	" JOIN users u ON u.id = m.member_id WHERE " WHERE
/* the grouping key of an aggregate row but the slot, then the sums */
#define AGG_KEY		    "member_id, day, product_id, affiliate_id, role, status, payment_method"
#define AGG_SUMS	    "orders, gross_cents, amount_cents, reversed_cents"
#define AGG_INSERT_INTO	    "INSERT INTO sales_daily (" AGG_KEY ", slot, " AGG_SUMS ")"
#define PENDING_INSERT_INTO "INSERT INTO sales_pending (" AGG_KEY ", " AGG_SUMS ")"
#define AGG_ON_DUPLICATE                                                                           \
	" ON DUPLICATE KEY UPDATE orders = orders + VALUES(orders),"                               \
	" gross_cents = gross_cents + VALUES(gross_cents),"                                        \
	" amount_cents = amount_cents + VALUES(amount_cents),"                                     \
	" reversed_cents = reversed_cents + VALUES(reversed_cents)"

/* a connection's own slot: several appliers (one per b4-worker process)
 * add to different rows instead of queueing on one row lock */
#define LIVE_SLOT "CONNECTION_ID() % 16"
#define ONE_ORDER(SIGN)                                                                            \
	PENDING_INSERT_INTO AGG_ROWS(SIGN, "IFNULL(?, o.status)",                                  \
				     MEMBERS("id = ?", "order_id = ?"), "o.id = ?")

/* Appends sign (+1 or -1) times the order's contribution under status
 * ("" for its current one). */
static int apply(struct b4_db *db, const char *order_id, bool plus, const char *status)
{
	const char *st = status && status[0] ? status : NULL;

	return b4_db_exec(db, plus ? ONE_ORDER("1") : ONE_ORDER("-1"), "sssss", st, order_id,
			  order_id, order_id, order_id) < 0
		   ? -1
		   : 0;
}

int b4_sales_agg_shift(struct b4_db *db, const char *order_id, const char *from, const char *to)
{
	if (from && apply(db, order_id, false, from) < 0)
		return -1;
	return to ? apply(db, order_id, true, to) : 0;
}

int b4_sales_agg_add(struct b4_db *db, const char *order_id)
{
	return b4_sales_agg_shift(db, order_id, NULL, "");
}

int b4_sales_agg_known_days(struct b4_db *db, const char *order_id, struct b4_sales_contrib *c)
{
	const char *values[1 + B4_SALES_MAX_MEMBERS];
	struct b4_db_result *res;
	struct b4_buf sql;
	size_t found = 0;

	if (c->n == 0 || c->n > B4_SALES_MAX_MEMBERS)
		return -1;
	b4_buf_init(&sql);
	b4_buf_puts(&sql, "SELECT u.id, DATE_FORMAT(CONVERT_TZ(o.created_at, '+00:00',"
			  " u.utc_offset), '%Y-%m-%d') FROM orders o JOIN users u"
			  " WHERE o.id = ? AND u.id IN (");
	values[0] = order_id;
	for (size_t k = 0; k < c->n; k++) {
		b4_buf_puts(&sql, k ? ", ?" : "?");
		values[1 + k] = c->m[k].id;
	}
	b4_buf_puts(&sql, ")");
	res = b4_buf_failed(&sql) ? NULL : b4_db_query_strs(db, sql.data, 1 + c->n, values);
	b4_buf_cleanup(&sql);
	if (!res)
		return -1;
	for (size_t k = 0; k < c->n; k++) {
		c->m[k].day[0] = '\0';
		for (size_t r = 0; r < b4_db_rows(res); r++)
			if (!strcmp(b4_db_str(res, r, 0), c->m[k].id))
				snprintf(c->m[k].day, sizeof(c->m[k].day), "%s",
					 b4_db_str(res, r, 1));
		found += c->m[k].day[0] != '\0';
	}
	b4_db_result_free(res);
	return found == c->n ? 0 : -1;
}

/* n digits of s as a number, or -1 when one is not a digit. */
static int digits(const char *s, size_t n)
{
	int v = 0;

	for (size_t k = 0; k < n; k++) {
		if (s[k] < '0' || s[k] > '9')
			return -1;
		v = v * 10 + (s[k] - '0');
	}
	return v;
}

int b4_sales_agg_local_day(const char *utc, const char *utc_offset, char day[11])
{
	int y, mo, d, h, mi, oh, om, sign;
	int64_t minutes, days;

	if (!utc || strlen(utc) < 16 || utc[4] != '-' || utc[7] != '-' || utc[10] != ' ' ||
	    utc[13] != ':' || !utc_offset || strlen(utc_offset) != 6 ||
	    (utc_offset[0] != '+' && utc_offset[0] != '-') || utc_offset[3] != ':')
		return -1;
	y = digits(utc, 4), mo = digits(utc + 5, 2), d = digits(utc + 8, 2);
	h = digits(utc + 11, 2), mi = digits(utc + 14, 2);
	oh = digits(utc_offset + 1, 2), om = digits(utc_offset + 4, 2);
	if (y < 0 || mo < 1 || mo > 12 || d < 1 || d > 31 || h < 0 || h > 23 || mi < 0 || mi > 59 ||
	    oh < 0 || oh > 14 || om < 0 || om > 59)
		return -1;
	sign = utc_offset[0] == '-' ? -1 : 1;
	minutes = b4_tz_days_from_civil(y, mo, d) * 1440 + h * 60 + mi + sign * (oh * 60 + om);
	/* floor division: a negative offset can reach the day before 1970 */
	days = minutes >= 0 ? minutes / 1440 : -((-minutes + 1439) / 1440);
	b4_tz_civil_from_days(days, &y, &mo, &d);
	snprintf(day, 11, "%04d-%02d-%02d", y, mo, d);
	return 0;
}

/* One row of b4_sales_agg_shift_known, day and all known. */
#define KNOWN_ROW	 "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0)"
#define KNOWN_ROW_PARAMS 10

int b4_sales_agg_shift_known(struct b4_db *db, const char *order_id,
			     const struct b4_sales_contrib *c, const char *from, const char *to)
{
	const char *status[2] = {from, to};
	const char *values[2 * B4_SALES_MAX_MEMBERS * KNOWN_ROW_PARAMS];
	char numbers[2 * B4_SALES_MAX_MEMBERS][3][24];
	size_t np = 0, nrows = 0;

	if (!c || c->n == 0 || c->n > B4_SALES_MAX_MEMBERS)
		return b4_sales_agg_shift(db, order_id, from, to);
	for (size_t k = 0; k < c->n; k++)
		if (!c->m[k].day[0])
			return b4_sales_agg_shift(db, order_id, from, to);
	for (int side = 0; side < 2; side++) {
		int sign = side == 0 ? -1 : 1;
		if (!status[side])
			continue;
		for (size_t k = 0; k < c->n; k++, nrows++) {
			const struct b4_sales_member *m = &c->m[k];
			const char *row[KNOWN_ROW_PARAMS] = {m->id,
							     m->day,
							     c->product_id,
							     c->affiliate_id,
							     m->role,
							     status[side],
							     c->method,
							     numbers[nrows][0],
							     numbers[nrows][1],
							     numbers[nrows][2]};
			snprintf(numbers[nrows][0], 24, "%d", sign);
			snprintf(numbers[nrows][1], 24, "%lld", (long long)(sign * m->gross_cents));
			snprintf(numbers[nrows][2], 24, "%lld",
				 (long long)(sign * m->amount_cents));
			for (size_t j = 0; j < KNOWN_ROW_PARAMS; j++)
				values[np++] = row[j];
		}
	}
	if (nrows == 0)
		return 0;
	return b4_db_insert_rows(db, PENDING_INSERT_INTO " VALUES ", KNOWN_ROW, KNOWN_ROW_PARAMS,
				 "", nrows, values) < 0
		   ? -1
		   : 0;
}

/* ---- applying the outbox (b4_sales_agg_apply) -------------------------- */

struct apply_batch {
	size_t max;
	int64_t applied;
	double lag;
	bool raced; /* another applier took some of the rows first */
};

static int apply_tx(struct b4_db *db, void *arg)
{
	struct apply_batch *a = arg;
	struct b4_db_result *res;
	const char **ids;
	size_t n;
	int64_t deleted;
	int rc = -1;

	a->applied = 0;
	a->lag = 0;
	a->raced = false;
	/* a plain read: no lock that would hold up the movers' appends */
	res = b4_db_query(db,
			  "SELECT id, TIMESTAMPDIFF(MICROSECOND, created_at, CURRENT_TIMESTAMP(6))"
			  " FROM sales_pending ORDER BY id LIMIT ?",
			  "i", (int64_t)a->max);
	if (!res)
		return -1;
	n = b4_db_rows(res);
	ids = calloc(n + 1, sizeof(*ids));
	if (n == 0 || !ids) {
		rc = n == 0 ? 0 : -1;
		goto out;
	}
	for (size_t k = 0; k < n; k++)
		ids[k] = b4_db_str(res, k, 0);
	/* those rows, grouped, onto the aggregates (the triggers carry them
	 * to sales_totals and sales_days), then exactly those rows go: a row
	 * another applier deleted first is in neither statement's read, and
	 * the delete's count tells */
	if (b4_db_insert_rows(db,
			      AGG_INSERT_INTO
			      " SELECT " AGG_KEY ", " LIVE_SLOT
			      ", SUM(orders), SUM(gross_cents), SUM(amount_cents),"
			      " SUM(reversed_cents) FROM sales_pending WHERE id IN (",
			      "?", 1, ") GROUP BY " AGG_KEY AGG_ON_DUPLICATE, n, ids) < 0)
		goto out;
	deleted =
	    b4_db_insert_rows(db, "DELETE FROM sales_pending WHERE id IN (", "?", 1, ")", n, ids);
	if (deleted < 0)
		goto out;
	if ((size_t)deleted != n) {
		a->raced = true;
		goto out;
	}
	a->applied = (int64_t)n;
	a->lag = (double)b4_db_i64(res, 0, 1) / 1e6;
	rc = 0;
out:
	free(ids);
	b4_db_result_free(res);
	return rc;
}

int b4_sales_agg_apply(struct b4_db *db, size_t max_rows, int64_t *applied, double *lag_seconds)
{
	struct apply_batch a = {.max = max_rows > B4_DB_MAX_PARAMS ? B4_DB_MAX_PARAMS : max_rows};

	*applied = 0;
	if (lag_seconds)
		*lag_seconds = 0;
	if (a.max == 0)
		return 0;
	if (b4_db_tx(db, apply_tx, &a) < 0)
		return a.raced ? 0 : -1; /* raced: rolled back, nothing applied */
	*applied = a.applied;
	if (lag_seconds)
		*lag_seconds = a.lag < 0 ? 0 : a.lag;
	return 0;
}

/* Orders per statement of a rebuild: each statement stays well inside
 * the client's read timeout however large orders grows. */
#define REBUILD_CHUNK 20000

/* Recounts funnel_days (db/migrations/0021) from checkout_events, a chunk
 * of REBUILD_CHUNK event ids a statement, into slot 0. */
static int rebuild_funnel(struct b4_db *db)
{
	struct b4_db_result *res;
	int64_t last;

	if (b4_db_exec(db, "DELETE FROM funnel_days", "") < 0)
		return -1;
	res = b4_db_query(db, "SELECT COALESCE(MAX(id), 0) FROM checkout_events", "");
	if (!res)
		return -1;
	last = b4_db_i64(res, 0, 0);
	b4_db_result_free(res);
	for (int64_t lo = 0; lo < last; lo += REBUILD_CHUNK)
		if (b4_db_exec(db,
			       "INSERT INTO funnel_days (offer_id, day, event_name, slot, events)"
			       " SELECT e.offer_id, DATE(CONVERT_TZ(e.occurred_at, '+00:00',"
			       " u.utc_offset)) d, e.event_name, 0, COUNT(*) FROM checkout_events e"
			       " JOIN offers f ON f.id = e.offer_id"
			       " JOIN products p ON p.id = f.product_id"
			       " JOIN users u ON u.id = p.producer_id WHERE e.id > ? AND e.id <= ?"
			       " GROUP BY e.offer_id, d, e.event_name"
			       " ON DUPLICATE KEY UPDATE events = events + VALUES(events)",
			       "ii", lo, lo + REBUILD_CHUNK) < 0)
			return -1;
	return 0;
}

static int rebuild(struct b4_db *db, void *arg)
{
	char lo[37] = "", hi[37];
	int64_t *rows = arg;
	struct b4_db_result *res;

	*rows = 0;
	/* the outbox's rows are recounted too; sales_totals, sales_days and
	 * sales_platform_days follow by their triggers (0018, 0022, 0024),
	 * their emptied rows go */
	if (b4_db_exec(db, "DELETE FROM sales_pending", "") < 0 ||
	    b4_db_exec(db, "DELETE FROM sales_daily", "") < 0 ||
	    b4_db_exec(db, "DELETE FROM sales_totals", "") < 0 ||
	    b4_db_exec(db, "DELETE FROM sales_days", "") < 0 ||
	    b4_db_exec(db, "DELETE FROM sales_platform_days", "") < 0)
		return -1;
	for (;;) {
		/* the chunk (lo, hi]: the next REBUILD_CHUNK order ids */
		res = b4_db_query(db,
				  "SELECT MAX(id) FROM (SELECT id FROM orders WHERE id > ?"
				  " ORDER BY id LIMIT ?) c",
				  "si", lo, (int64_t)REBUILD_CHUNK);
		if (!res)
			return -1;
		if (b4_db_is_null(res, 0, 0)) {
			b4_db_result_free(res);
			if (rebuild_funnel(db) < 0)
				return -1;
			res = b4_db_query(db, "SELECT COUNT(*) FROM sales_daily", "");
			if (!res)
				return -1;
			*rows = b4_db_i64(res, 0, 0);
			b4_db_result_free(res);
			return 0;
		}
		snprintf(hi, sizeof(hi), "%s", b4_db_str(res, 0, 0));
		b4_db_result_free(res);
		if (b4_db_exec(
			db,
			AGG_INSERT_INTO
			" SELECT member_id, day, product_id, affiliate_id, role, status,"
			" payment_method, 0, SUM(orders), SUM(gross), SUM(amount),"
			" SUM(reversed) FROM (" AGG_ROWS(
			    "1", "o.status",
			    MEMBERS("id > ? AND id <= ?", "order_id > ? AND order_id <= ?"),
			    "o.id > ? AND o.id <= ?") ") z GROUP BY " AGG_KEY AGG_ON_DUPLICATE,
			"ssssssss", lo, hi, lo, hi, lo, hi, lo, hi) < 0)
			return -1;
		snprintf(lo, sizeof(lo), "%s", hi);
	}
}

int b4_sales_agg_rebuild(struct b4_db *db, int64_t *rows)
{
	return b4_db_tx(db, rebuild, rows);
}

/* ---- folding live slots (b4_sales_agg_compact) ------------------------- */

/* The sums of a sales_daily row, in the order its columns come. */
#define SUMS 4
/* A row of the folding INSERT: the key, then the sums. */
#define FOLD_ROW	"(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
#define FOLD_ROW_PARAMS 12

/* Slot rows one transaction folds at most: writers of the member's other
 * rows (the triggers' sales_totals rows are shared by all its days) wait
 * for a few milliseconds, not for the whole day's rows. */
#define FOLD_MAX_ROWS 64

struct fold {
	const char *key, *day;	   /* the member (sales) or the offer (funnel) */
	size_t nrows;		   /* out: slot rows folded */
	struct b4_db_result *rows; /* locked slot rows, in key order */
	const char **values;	   /* FOLD_ROW_PARAMS per row of the INSERT */
	char (*numbers)[SUMS][24]; /* their slot and sums, as text */
	size_t nout;
};

/* Same product, affiliate, role, status and method (the key but the
 * slot) as the row before? */
static bool same_group(const struct b4_db_result *res, size_t row)
{
	if (row == 0)
		return false;
	for (size_t col = 0; col < 5; col++)
		if (strcmp(b4_db_str(res, row, col), b4_db_str(res, row - 1, col)) != 0)
			return false;
	return true;
}

/* Appends a row of the folding INSERT: row's key in slot (text), plus sign
 * times sums. */
static void fold_row(struct fold *f, size_t row, const char *slot, int sign, const int64_t *sums)
{
	const char **v = &f->values[f->nout * FOLD_ROW_PARAMS];
	char(*num)[24] = f->numbers[f->nout];

	v[0] = f->key;
	v[1] = f->day;
	for (size_t col = 0; col < 5; col++)
		v[2 + col] = b4_db_str(f->rows, row, col);
	v[7] = slot;
	for (size_t k = 0; k < SUMS; k++) {
		snprintf(num[k], sizeof(num[k]), "%lld", (long long)(sign * sums[k]));
		v[8 + k] = num[k];
	}
	f->nout++;
}

/* Every locked row to zero and its group's sum onto slot 0 (a group cut
 * by FOLD_MAX_ROWS is finished by the next transaction: any set of rows
 * can be folded). */
static void fold_rows(struct fold *f)
{
	size_t n = b4_db_rows(f->rows);
	int64_t group[SUMS] = {0};

	for (size_t row = 0; row < n; row++) {
		int64_t sums[SUMS];
		for (size_t k = 0; k < SUMS; k++)
			sums[k] = b4_db_i64(f->rows, row, 6 + k);
		fold_row(f, row, b4_db_str(f->rows, row, 5), -1, sums);
		if (!same_group(f->rows, row))
			memset(group, 0, sizeof(group));
		for (size_t k = 0; k < SUMS; k++)
			group[k] += sums[k];
		if (row + 1 == n || !same_group(f->rows, row + 1))
			fold_row(f, row, "0", 1, group);
	}
}

/* Frees what a fold transaction took; returns rc. */
static int fold_done(struct fold *f, int rc)
{
	free(f->values);
	free(f->numbers);
	f->values = NULL;
	f->numbers = NULL;
	b4_db_result_free(f->rows);
	f->rows = NULL;
	return rc;
}

#define ZERO_SUMS " AND orders = 0 AND gross_cents = 0 AND amount_cents = 0 AND reversed_cents = 0"

static int fold_tx(struct b4_db *db, void *arg)
{
	struct fold *f = arg;
	size_t n;
	int rc = -1;

	f->rows =
	    b4_db_query(db,
			"SELECT product_id, affiliate_id, role, status, payment_method, slot,"
			" orders, gross_cents, amount_cents, reversed_cents FROM sales_daily"
			" WHERE member_id = ? AND day = ? AND slot > 0"
			" ORDER BY product_id, affiliate_id, role, status, payment_method, slot"
			" LIMIT ? FOR UPDATE",
			"ssi", f->key, f->day, (int64_t)FOLD_MAX_ROWS);
	if (!f->rows)
		return -1;
	n = f->nrows = b4_db_rows(f->rows);
	f->nout = 0;
	f->values = calloc(2 * n + 1, FOLD_ROW_PARAMS * sizeof(*f->values));
	f->numbers = calloc(2 * n + 1, sizeof(*f->numbers));
	if (!f->values || !f->numbers)
		goto out_free;
	fold_rows(f);
	/* a row a writer made since the SELECT keeps its sums: only rows at
	 * zero go */
	if ((f->nout && b4_db_insert_rows(db, AGG_INSERT_INTO " VALUES ", FOLD_ROW, FOLD_ROW_PARAMS,
					  AGG_ON_DUPLICATE, f->nout, f->values) < 0) ||
	    b4_db_exec(db, "DELETE FROM sales_daily WHERE member_id = ? AND day = ?" ZERO_SUMS,
		       "ss", f->key, f->day) < 0 ||
	    b4_db_exec(db, "DELETE FROM sales_days WHERE member_id = ? AND day = ?" ZERO_SUMS, "ss",
		       f->key, f->day) < 0 ||
	    b4_db_exec(db,
		       "DELETE FROM sales_platform_days WHERE day = ? AND orders = 0"
		       " AND gross_cents = 0",
		       "s", f->day) < 0)
		goto out_free;
	rc = 0;
out_free:
	return fold_done(f, rc);
}

/* funnel_days' slot rows of one offer and day (0021, found by 0025's
 * index): each locked row's events onto slot 0 and taken off the row, in
 * one multi-row upsert, then the rows at zero go.  An event counted
 * meanwhile in a new slot row keeps it (events only grow, so a row at
 * zero is one folded here); one counted in a locked row waits. */
#define FUNNEL_ROW	  "(?, ?, ?, ?, ?)"
#define FUNNEL_ROW_PARAMS 5

static int funnel_fold_tx(struct b4_db *db, void *arg)
{
	struct fold *f = arg;
	size_t n;
	int rc = -1;

	f->rows =
	    b4_db_query(db,
			"SELECT event_name, slot, events FROM funnel_days WHERE offer_id = ?"
			" AND day = ? AND slot > 0 ORDER BY event_name, slot LIMIT ? FOR UPDATE",
			"ssi", f->key, f->day, (int64_t)FOLD_MAX_ROWS);
	if (!f->rows)
		return -1;
	n = f->nrows = b4_db_rows(f->rows);
	f->values = calloc(2 * n + 1, FUNNEL_ROW_PARAMS * sizeof(*f->values));
	f->numbers = calloc(n + 1, sizeof(*f->numbers));
	if (!f->values || !f->numbers)
		goto out_free;
	for (size_t r = 0; r < n; r++) {
		const char **v = &f->values[2 * r * FUNNEL_ROW_PARAMS];

		snprintf(f->numbers[r][0], sizeof(f->numbers[r][0]), "%lld",
			 -(long long)b4_db_i64(f->rows, r, 2));
		v[0] = v[5] = f->key;
		v[1] = v[6] = f->day;
		v[2] = v[7] = b4_db_str(f->rows, r, 0);
		v[3] = "0";
		v[4] = b4_db_str(f->rows, r, 2);
		v[8] = b4_db_str(f->rows, r, 1);
		v[9] = f->numbers[r][0];
	}
	if ((n &&
	     b4_db_insert_rows(db,
			       "INSERT INTO funnel_days (offer_id, day, event_name, slot, events)"
			       " VALUES ",
			       FUNNEL_ROW, FUNNEL_ROW_PARAMS,
			       " ON DUPLICATE KEY UPDATE events = events + VALUES(events)", 2 * n,
			       f->values) < 0) ||
	    b4_db_exec(db,
		       "DELETE FROM funnel_days WHERE offer_id = ? AND day = ? AND slot > 0"
		       " AND events = 0",
		       "ss", f->key, f->day) < 0)
		goto out_free;
	rc = 0;
out_free:
	return fold_done(f, rc);
}

/* Days looked at per query. */
#define COMPACT_BATCH 200

/* Folds the days days_sql finds ((key, day) pairs with slot rows before
 * its first bind, at most its second), one tx at a time, until none is
 * left or *folded reaches max_days. */
static int compact_days(struct b4_db *db, const char *days_sql, int (*tx)(struct b4_db *, void *),
			const char *before, size_t max_days, int64_t *folded)
{
	struct b4_db_result *days;
	size_t n;

	do {
		size_t want = max_days - (size_t)*folded;
		if (want == 0)
			return 0;
		days = b4_db_query(db, days_sql, "si", before,
				   (int64_t)(want < COMPACT_BATCH ? want : COMPACT_BATCH));
		if (!days)
			return -1;
		n = b4_db_rows(days);
		for (size_t row = 0; row < n; row++) {
			struct fold f = {.key = b4_db_str(days, row, 0),
					 .day = b4_db_str(days, row, 1)};
			do {
				if (b4_db_tx(db, tx, &f) < 0) {
					b4_db_result_free(days);
					return -1;
				}
			} while (f.nrows == FOLD_MAX_ROWS);
			(*folded)++;
		}
		b4_db_result_free(days);
	} while (n == COMPACT_BATCH);
	return 0;
}

/* the days before `before` (default: before yesterday in UTC) */
#define PAST_DAYS "slot > 0 AND day < IFNULL(?, UTC_DATE() - INTERVAL 1 DAY) LIMIT ?"

int b4_sales_agg_compact(struct b4_db *db, const char *before, size_t max_days, int64_t *folded)
{
	*folded = 0;
	if (compact_days(db,
			 "SELECT DISTINCT member_id, DATE_FORMAT(day, '%Y-%m-%d') FROM sales_days"
			 " WHERE " PAST_DAYS,
			 fold_tx, before, max_days, folded) < 0)
		return -1;
	return compact_days(
	    db,
	    "SELECT DISTINCT offer_id, DATE_FORMAT(day, '%Y-%m-%d') FROM funnel_days"
	    " WHERE " PAST_DAYS,
	    funnel_fold_tx, before, max_days, folded);
}

int b4_sales_agg_fill_if_empty(struct b4_db *db)
{
	struct b4_db_result *res = b4_db_query(
	    db,
	    "SELECT NOT EXISTS (SELECT 1 FROM sales_daily) AND NOT EXISTS (SELECT 1 FROM"
	    " sales_pending) AND EXISTS (SELECT 1 FROM orders)",
	    "");
	int64_t rows;
	bool empty;

	if (!res)
		return -1;
	empty = b4_db_i64(res, 0, 0) != 0;
	b4_db_result_free(res);
	return empty ? b4_sales_agg_rebuild(db, &rows) : 0;
}
