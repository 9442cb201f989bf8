-- 0023_sales_pending.sql: the sales aggregates fed from an outbox, so an
-- order's status move appends its contribution instead of upserting
-- sales_daily and, by triggers, sales_totals and sales_days (issue #15:
-- about 0.95 ms of the 4.0 ms of MariaDB time a paid order cost,
-- docs/BENCHMARKS.md).
--
-- sales_pending: one row per member and move, the shape of a sales_daily
-- row without the slot.  libcommon's sales_agg.c appends the rows in the
-- transaction of the move (b4_sales_agg_shift, b4_sales_agg_shift_known);
-- b4_sales_agg_apply (b4-worker's applier thread) adds a batch of them to
-- sales_daily, grouped, and deletes exactly those rows in one
-- transaction, so each row is counted once: in sales_pending before, in
-- sales_daily after, never in both and never in neither.
--
-- A reader reads an aggregate table plus the rows not yet applied, in
-- one statement (one snapshot), so a summary is exact at any moment,
-- whether the applier is ahead, behind or stopped.  The services write
-- that UNION ALL with their conditions in both branches (B4_SALES_LIVE in
-- b4/sales_agg.h); the *_live views below say the same for operators and
-- tests.  (MariaDB 10.11 pushes a literal query's WHERE into a view's
-- UNION ALL but not a prepared statement's: the services' 30-day summary
-- took 9.9 ms through the view against 1.2 ms with the explicit UNION,
-- docs/BENCHMARKS.md.)
CREATE TABLE sales_pending (
  id              BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  member_id       CHAR(36) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  day             DATE NOT NULL,
  product_id      CHAR(36) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  affiliate_id    CHAR(36) CHARACTER SET ascii COLLATE ascii_bin NOT NULL DEFAULT '',
  role            ENUM('producer','coproducer','affiliate') NOT NULL,
  status          ENUM('waiting_payment','paid','refused','expired','refund_requested',
                       'refunded','disputed','chargeback') NOT NULL,
  payment_method  ENUM('card','pix','boleto') NOT NULL,
  orders          BIGINT NOT NULL DEFAULT 0,
  gross_cents     BIGINT NOT NULL DEFAULT 0,
  amount_cents    BIGINT NOT NULL DEFAULT 0,
  reversed_cents  BIGINT NOT NULL DEFAULT 0,
  -- the applier's lag: the age of the oldest row
  created_at      TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
  PRIMARY KEY (id),
  KEY ix_sales_pending_member_day (member_id, day)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE VIEW sales_daily_live AS
  SELECT member_id, day, product_id, affiliate_id, role, status, payment_method, orders,
         gross_cents, amount_cents, reversed_cents FROM sales_daily
  UNION ALL
  SELECT member_id, day, product_id, affiliate_id, role, status, payment_method, orders,
         gross_cents, amount_cents, reversed_cents FROM sales_pending;

CREATE VIEW sales_days_live AS
  SELECT member_id, day, role, status, payment_method, orders, gross_cents, amount_cents,
         reversed_cents FROM sales_days
  UNION ALL
  SELECT member_id, day, role, status, payment_method, orders, gross_cents, amount_cents,
         reversed_cents FROM sales_pending;

CREATE VIEW sales_totals_live AS
  SELECT member_id, status, payment_method, orders, gross_cents, amount_cents, reversed_cents
  FROM sales_totals
  UNION ALL
  SELECT member_id, status, payment_method, orders, gross_cents, amount_cents, reversed_cents
  FROM sales_pending;
