-- 0003_checkout.sql: what b4-checkout needs beyond the core schema.
--
-- card_tokens: the acquirer's answer to a tokenization (token, brand, BIN,
-- last four, fingerprint) so an order can be scored and a one-click upsell
-- can charge the same token.  Never the card number or the CVV.
-- acquirer_events: every acquirer callback processed, unique by the
-- acquirer's event id, so a replayed callback changes nothing.

CREATE TABLE card_tokens (
  token        VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  acquirer     VARCHAR(32) CHARACTER SET ascii NOT NULL,
  brand        VARCHAR(16) NULL,
  bin          CHAR(6) CHARACTER SET ascii NULL,
  last4        CHAR(4) CHARACTER SET ascii NULL,
  fingerprint  CHAR(64) CHARACTER SET ascii COLLATE ascii_bin NULL,
  created_at   DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
  PRIMARY KEY (token),
  KEY ix_card_tokens_fingerprint (fingerprint, created_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

ALTER TABLE charges ADD COLUMN card_token VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NULL
  AFTER card_fingerprint;

CREATE TABLE acquirer_events (
  id           BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  acquirer     VARCHAR(32) CHARACTER SET ascii NOT NULL,
  event_id     VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  type         VARCHAR(32) CHARACTER SET ascii NOT NULL,
  charge_id    VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NULL,
  order_id     CHAR(36) CHARACTER SET ascii COLLATE ascii_bin NULL,
  amount_cents BIGINT NULL,
  outcome      VARCHAR(32) CHARACTER SET ascii NOT NULL,
  occurred_at  VARCHAR(40) CHARACTER SET ascii NULL,
  received_at  DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
  PRIMARY KEY (id),
  UNIQUE KEY uq_acquirer_events (acquirer, event_id),
  KEY ix_acquirer_events_order (order_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE INDEX ix_orders_ip ON orders (client_ip, created_at);
