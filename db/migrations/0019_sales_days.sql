-- 0019_sales_days.sql: a member's sales per local day, order status and
-- payment method, so GET /v1/sales/summary for a range of whole days reads
-- one row per day, status, method and slot instead of sales_daily's rows
-- for every product, affiliate and role of the day (a producer with many
-- products or affiliates multiplies those; 1,200 rows for 30 days of the
-- benchmark's producer).
--
-- sales_days is sales_daily summed over product, affiliate and role, kept
-- by triggers in the same statement as every change of sales_daily, like
-- sales_totals (0018; the same note on the binary log applies).
CREATE TABLE sales_days (
  member_id       CHAR(36) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  day             DATE NOT NULL,
  status          ENUM('waiting_payment','paid','refused','expired','refund_requested',
                       'refunded','disputed','chargeback') NOT NULL,
  payment_method  ENUM('card','pix','boleto') NOT NULL,
  slot            TINYINT UNSIGNED NOT NULL DEFAULT 0,
  orders          BIGINT NOT NULL DEFAULT 0,
  gross_cents     BIGINT NOT NULL DEFAULT 0,
  amount_cents    BIGINT NOT NULL DEFAULT 0,
  reversed_cents  BIGINT NOT NULL DEFAULT 0,
  PRIMARY KEY (member_id, day, status, payment_method, slot)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

INSERT INTO sales_days (member_id, day, status, payment_method, slot, orders, gross_cents,
                        amount_cents, reversed_cents)
SELECT member_id, day, status, payment_method, slot, SUM(orders), SUM(gross_cents),
       SUM(amount_cents), SUM(reversed_cents)
FROM sales_daily GROUP BY member_id, day, status, payment_method, slot;

CREATE TRIGGER sales_daily_days_insert AFTER INSERT ON sales_daily FOR EACH ROW
  INSERT INTO sales_days (member_id, day, status, payment_method, slot, orders, gross_cents,
                          amount_cents, reversed_cents)
  VALUES (NEW.member_id, NEW.day, NEW.status, NEW.payment_method, NEW.slot, NEW.orders,
          NEW.gross_cents, NEW.amount_cents, NEW.reversed_cents)
  ON DUPLICATE KEY UPDATE orders = orders + VALUES(orders),
    gross_cents = gross_cents + VALUES(gross_cents),
    amount_cents = amount_cents + VALUES(amount_cents),
    reversed_cents = reversed_cents + VALUES(reversed_cents);

-- sales_daily's key columns never change: an update only moves the sums
CREATE TRIGGER sales_daily_days_update AFTER UPDATE ON sales_daily FOR EACH ROW
  UPDATE sales_days SET orders = orders + NEW.orders - OLD.orders,
    gross_cents = gross_cents + NEW.gross_cents - OLD.gross_cents,
    amount_cents = amount_cents + NEW.amount_cents - OLD.amount_cents,
    reversed_cents = reversed_cents + NEW.reversed_cents - OLD.reversed_cents
  WHERE member_id = NEW.member_id AND day = NEW.day AND status = NEW.status
    AND payment_method = NEW.payment_method AND slot = NEW.slot;

CREATE TRIGGER sales_daily_days_delete AFTER DELETE ON sales_daily FOR EACH ROW
  UPDATE sales_days SET orders = orders - OLD.orders,
    gross_cents = gross_cents - OLD.gross_cents,
    amount_cents = amount_cents - OLD.amount_cents,
    reversed_cents = reversed_cents - OLD.reversed_cents
  WHERE member_id = OLD.member_id AND day = OLD.day AND status = OLD.status
    AND payment_method = OLD.payment_method AND slot = OLD.slot;
