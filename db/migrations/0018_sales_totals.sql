-- 0018_sales_totals.sql: a member's all-time totals per order status and
-- payment method, so GET /v1/sales/summary without a range reads at most
-- 8 x 3 x 16 rows instead of every day's rows (about 7,400 rows for a
-- producer with 1,000,000 orders over 180 days took 20 ms and more on a
-- loaded machine).
--
-- sales_totals is sales_daily summed over day, product, affiliate and
-- role.  The triggers below keep it so in the same statement as every
-- change of sales_daily (libcommon's sales_agg.c, the only writer of
-- sales_daily): no extra round trip for the checkout, and no way for the
-- two tables to disagree.  Note for servers with the binary log on:
-- creating triggers needs SUPER or log_bin_trust_function_creators=1 (on
-- RDS, the parameter group).
CREATE TABLE sales_totals (
  member_id       CHAR(36) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  status          ENUM('waiting_payment','paid','refused','expired','refund_requested',
                       'refunded','disputed','chargeback') NOT NULL,
  payment_method  ENUM('card','pix','boleto') NOT NULL,
  slot            TINYINT UNSIGNED NOT NULL DEFAULT 0,
  orders          BIGINT NOT NULL DEFAULT 0,
  gross_cents     BIGINT NOT NULL DEFAULT 0,
  amount_cents    BIGINT NOT NULL DEFAULT 0,
  reversed_cents  BIGINT NOT NULL DEFAULT 0,
  PRIMARY KEY (member_id, status, payment_method, slot)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

INSERT INTO sales_totals (member_id, status, payment_method, slot, orders, gross_cents,
                          amount_cents, reversed_cents)
SELECT member_id, status, payment_method, slot, SUM(orders), SUM(gross_cents),
       SUM(amount_cents), SUM(reversed_cents)
FROM sales_daily GROUP BY member_id, status, payment_method, slot;

CREATE TRIGGER sales_daily_totals_insert AFTER INSERT ON sales_daily FOR EACH ROW
  INSERT INTO sales_totals (member_id, status, payment_method, slot, orders, gross_cents,
                            amount_cents, reversed_cents)
  VALUES (NEW.member_id, NEW.status, NEW.payment_method, NEW.slot, NEW.orders,
          NEW.gross_cents, NEW.amount_cents, NEW.reversed_cents)
  ON DUPLICATE KEY UPDATE orders = orders + VALUES(orders),
    gross_cents = gross_cents + VALUES(gross_cents),
    amount_cents = amount_cents + VALUES(amount_cents),
    reversed_cents = reversed_cents + VALUES(reversed_cents);

-- sales_daily's key columns never change: an update only moves the sums
CREATE TRIGGER sales_daily_totals_update AFTER UPDATE ON sales_daily FOR EACH ROW
  UPDATE sales_totals SET orders = orders + NEW.orders - OLD.orders,
    gross_cents = gross_cents + NEW.gross_cents - OLD.gross_cents,
    amount_cents = amount_cents + NEW.amount_cents - OLD.amount_cents,
    reversed_cents = reversed_cents + NEW.reversed_cents - OLD.reversed_cents
  WHERE member_id = NEW.member_id AND status = NEW.status
    AND payment_method = NEW.payment_method AND slot = NEW.slot;

CREATE TRIGGER sales_daily_totals_delete AFTER DELETE ON sales_daily FOR EACH ROW
  UPDATE sales_totals SET orders = orders - OLD.orders,
    gross_cents = gross_cents - OLD.gross_cents,
    amount_cents = amount_cents - OLD.amount_cents,
    reversed_cents = reversed_cents - OLD.reversed_cents
  WHERE member_id = OLD.member_id AND status = OLD.status
    AND payment_method = OLD.payment_method AND slot = OLD.slot;
