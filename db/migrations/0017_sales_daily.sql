-- 0017_sales_daily.sql: sales analytics kept as aggregates, so a summary
-- reads a few hundred rows instead of every order (issue #15).
--
-- users.utc_offset: the member's time zone as a fixed UTC offset, which is
-- what their "day" is counted in.  The default is America/Sao_Paulo, which
-- has had no daylight saving time since 2019 (every Brazilian zone is a
-- fixed offset now); an offset needs no time zone tables in MariaDB.
--
-- sales_daily: one row per member (producer, co-producer or affiliate of
-- the order), the member's local day of the order's creation, product,
-- affiliate ('' for none), the member's role, the order's status and
-- payment method, and a slot.  Columns: orders counted, gross (the order
-- total for the producer, the member's own splits for the others), the
-- member's split amounts and what was reversed of them (net = amount -
-- reversed).  libcommon's sales_agg.c is the only writer: it moves an
-- order's contribution from its old status row to its new one in the same
-- transaction as the status move (orderfsm.c), adds it when the order is
-- created and re-adds it around a split reversal.  The slot is the
-- writing connection's id modulo 16, so concurrent checkouts of one offer
-- update different rows instead of queueing on one row lock; readers sum
-- over the slots.  `b4-migrate --rebuild-aggregates` recomputes the table
-- from orders and splits (after an offset change, or to check it).
ALTER TABLE users
  ADD COLUMN utc_offset CHAR(6) CHARACTER SET ascii COLLATE ascii_bin NOT NULL DEFAULT '-03:00',
  ADD CONSTRAINT ck_users_utc_offset CHECK (utc_offset REGEXP '^[+-](0[0-9]|1[0-4]):[0-5][0-9]$');

CREATE TABLE sales_daily (
  member_id       CHAR(36) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  day             DATE NOT NULL,
  product_id      CHAR(36) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  affiliate_id    CHAR(36) CHARACTER SET ascii COLLATE ascii_bin NOT NULL DEFAULT '',
  role            ENUM('producer','coproducer','affiliate') NOT NULL,
  status          ENUM('waiting_payment','paid','refused','expired','refund_requested',
                       'refunded','disputed','chargeback') NOT NULL,
  payment_method  ENUM('card','pix','boleto') NOT NULL,
  slot            TINYINT UNSIGNED NOT NULL DEFAULT 0,
  orders          BIGINT NOT NULL DEFAULT 0,
  gross_cents     BIGINT NOT NULL DEFAULT 0,
  amount_cents    BIGINT NOT NULL DEFAULT 0,
  reversed_cents  BIGINT NOT NULL DEFAULT 0,
  PRIMARY KEY (member_id, day, product_id, affiliate_id, role, status, payment_method, slot),
  KEY ix_sales_daily_role_day (role, day)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
