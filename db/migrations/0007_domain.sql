-- 0007_domain.sql: what the money domain layer (libcommon) needs to close
-- its races in the database and to keep a sale's buyer as it was.
--
-- orders.buyer_*: the buyer as of the purchase (name, e-mail, phone and
-- document encrypted like customers').  A later purchase with the same CPF
-- updates the customer row, never an earlier order.  Existing orders get
-- the customer's current data (the best there is).
--
-- orders.live_upsell_parent: the parent order while an upsell is live
-- (waiting_payment, paid, refund_requested, disputed), NULL otherwise; its
-- unique key lets one live upsell exist per parent order, whatever the
-- number of concurrent requests.  The order's state machine (libcommon
-- orderfsm.c, the only writer of orders.status) clears it in the same
-- statement that moves an upsell out of the live states.  (A generated
-- column would say the same, but MariaDB 10.11 refuses to index one built
-- on IF/CASE here.)
--
-- coupon_redemptions: one row per (coupon, buyer key) for once-per-customer
-- coupons, buyer key "document:<blind index>" and "email:<blind index>";
-- the primary key refuses a second redemption by the same buyer.  Rows of an
-- order that is refused or expires are deleted with the coupon's use.

ALTER TABLE orders
  ADD COLUMN buyer_name          VARCHAR(200) NULL AFTER customer_id,
  ADD COLUMN buyer_email         VARCHAR(254) NULL AFTER buyer_name,
  ADD COLUMN buyer_phone_enc     TEXT CHARACTER SET ascii COLLATE ascii_bin NULL AFTER buyer_email,
  ADD COLUMN buyer_document_enc  TEXT CHARACTER SET ascii COLLATE ascii_bin NULL AFTER buyer_phone_enc,
  ADD COLUMN buyer_document_type ENUM('cpf','cnpj') NULL AFTER buyer_document_enc;

UPDATE orders o JOIN customers c ON c.id = o.customer_id
   SET o.buyer_name = c.full_name, o.buyer_email = c.email, o.buyer_phone_enc = c.phone_enc,
       o.buyer_document_enc = c.document_enc, o.buyer_document_type = c.document_type
 WHERE o.buyer_name IS NULL;

ALTER TABLE orders
  ADD COLUMN live_upsell_parent CHAR(36) CHARACTER SET ascii COLLATE ascii_bin NULL
    AFTER parent_order_id,
  ADD UNIQUE KEY uq_orders_live_upsell (live_upsell_parent),
  ADD KEY ix_orders_buyer_email (buyer_email, id);

UPDATE orders o
  JOIN (SELECT parent_order_id, MIN(id) AS id FROM orders
         WHERE parent_order_id IS NOT NULL
           AND status IN ('waiting_payment','paid','refund_requested','disputed')
         GROUP BY parent_order_id) live ON live.id = o.id
   SET o.live_upsell_parent = o.parent_order_id;

CREATE TABLE coupon_redemptions (
  coupon_id   CHAR(36) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  buyer_key   VARCHAR(80) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  order_id    CHAR(36) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  created_at  DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
  PRIMARY KEY (coupon_id, buyer_key),
  KEY ix_coupon_redemptions_order (order_id),
  CONSTRAINT fk_coupon_redemptions_coupon FOREIGN KEY (coupon_id) REFERENCES coupons (id)
    ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
