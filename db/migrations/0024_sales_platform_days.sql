-- 0024_sales_platform_days.sql: the platform's sales per day, status and
-- payment method, so the back-office's analytics by day and by method read
-- one row per day, status, method and slot however many producers sell
-- (issue #15).  From sales_days they read every producer's rows of the
-- range, each through a secondary index and a lookup: 3.0 ms of MariaDB
-- for one producer's 30 days (docs/BENCHMARKS.md), growing with the
-- producers.
--
-- The rows are sales_days' rows of the producer's role (each order once,
-- in its producer's local day) summed over producers, kept by triggers on
-- sales_days, which sales_daily's triggers write: since migration 0023
-- only the outbox's applier, the rebuild and the compaction write there,
-- so the order path pays nothing for them.  Every trigger adds a delta
-- with an upsert (never a plain UPDATE), so a row the compaction deleted
-- at zero comes back instead of losing the delta.  Readers sum over the
-- slots and add the outbox's rows of the producer's role.
CREATE TABLE sales_platform_days (
  day             DATE NOT NULL,
  status          ENUM('waiting_payment','paid','refused','expired','refund_requested',
                       'refunded','disputed','chargeback') NOT NULL,
  payment_method  ENUM('card','pix','boleto') NOT NULL,
  slot            TINYINT UNSIGNED NOT NULL DEFAULT 0,
  orders          BIGINT NOT NULL DEFAULT 0,
  gross_cents     BIGINT NOT NULL DEFAULT 0,
  PRIMARY KEY (day, status, payment_method, slot)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- The backfill and the triggers under one table lock: an applier that
-- writes sales_days meanwhile waits, then fires the triggers, so no write
-- falls between the count and the triggers (0018-0022 left that window).
LOCK TABLES sales_days WRITE, sales_platform_days WRITE;

INSERT INTO sales_platform_days (day, status, payment_method, slot, orders, gross_cents)
SELECT day, status, payment_method, slot, SUM(orders), SUM(gross_cents)
FROM sales_days WHERE role = 'producer' GROUP BY day, status, payment_method, slot;

CREATE TRIGGER sales_days_platform_insert AFTER INSERT ON sales_days FOR EACH ROW
  INSERT INTO sales_platform_days (day, status, payment_method, slot, orders, gross_cents)
  SELECT NEW.day, NEW.status, NEW.payment_method, NEW.slot, NEW.orders, NEW.gross_cents
  FROM DUAL WHERE NEW.role = 'producer'
  ON DUPLICATE KEY UPDATE orders = orders + VALUES(orders),
    gross_cents = gross_cents + VALUES(gross_cents);

-- sales_days' key columns never change: an update only moves the sums
CREATE TRIGGER sales_days_platform_update AFTER UPDATE ON sales_days FOR EACH ROW
  INSERT INTO sales_platform_days (day, status, payment_method, slot, orders, gross_cents)
  SELECT NEW.day, NEW.status, NEW.payment_method, NEW.slot, NEW.orders - OLD.orders,
         NEW.gross_cents - OLD.gross_cents
  FROM DUAL WHERE NEW.role = 'producer'
  ON DUPLICATE KEY UPDATE orders = orders + VALUES(orders),
    gross_cents = gross_cents + VALUES(gross_cents);

CREATE TRIGGER sales_days_platform_delete AFTER DELETE ON sales_days FOR EACH ROW
  INSERT INTO sales_platform_days (day, status, payment_method, slot, orders, gross_cents)
  SELECT OLD.day, OLD.status, OLD.payment_method, OLD.slot, -OLD.orders, -OLD.gross_cents
  FROM DUAL WHERE OLD.role = 'producer'
  ON DUPLICATE KEY UPDATE orders = orders + VALUES(orders),
    gross_cents = gross_cents + VALUES(gross_cents);

UNLOCK TABLES;
