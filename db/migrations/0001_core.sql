-- 0001_core.sql: the core schema of b4you.
--
-- Conventions: public ids are UUIDv7 strings (time ordered, so `ORDER BY id
-- DESC` is newest first and keyset pagination works on the primary key);
-- money is BIGINT cents; times are DATETIME(6) in UTC; CPF/CNPJ and phone
-- are stored only encrypted (`*_enc`, AES-256-GCM text with key id) with an
-- HMAC blind index (`*_bidx`) for lookups.  Card numbers and CVVs are never
-- stored: a charge keeps the acquirer token's brand, BIN and last four.

CREATE TABLE users (
  id              CHAR(36) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  email           VARCHAR(254) NOT NULL,
  password_hash   VARCHAR(255) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  full_name       VARCHAR(200) NOT NULL,
  document_enc    TEXT CHARACTER SET ascii COLLATE ascii_bin NULL,
  document_bidx   CHAR(64) CHARACTER SET ascii COLLATE ascii_bin NULL,
  phone_enc       TEXT CHARACTER SET ascii COLLATE ascii_bin NULL,
  role            ENUM('member','admin') NOT NULL DEFAULT 'member',
  status          ENUM('active','blocked') NOT NULL DEFAULT 'active',
  created_at      DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
  updated_at      DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6),
  PRIMARY KEY (id),
  UNIQUE KEY uq_users_email (email),
  KEY ix_users_document (document_bidx),
  KEY ix_users_status (status, id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE products (
  id                        CHAR(36) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  producer_id               CHAR(36) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  name                      VARCHAR(200) NOT NULL,
  description               TEXT NULL,
  type                      ENUM('course','ebook','community','service') NOT NULL,
  guarantee_days            TINYINT UNSIGNED NOT NULL DEFAULT 7,
  status                    ENUM('draft','active','archived') NOT NULL DEFAULT 'draft',
  blocked                   TINYINT(1) NOT NULL DEFAULT 0,
  affiliate_enabled         TINYINT(1) NOT NULL DEFAULT 0,
  affiliate_commission_bps  INT UNSIGNED NOT NULL DEFAULT 0,
  affiliate_cookie_days     SMALLINT UNSIGNED NOT NULL DEFAULT 60,
  affiliate_attribution     ENUM('last_click','first_click') NOT NULL DEFAULT 'last_click',
  invoice_on                ENUM('payment','guarantee_end') NOT NULL DEFAULT 'payment',
  created_at                DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
  updated_at                DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6),
  PRIMARY KEY (id),
  KEY ix_products_producer (producer_id, id),
  KEY ix_products_marketplace (status, affiliate_enabled, blocked, id),
  CONSTRAINT fk_products_producer FOREIGN KEY (producer_id) REFERENCES users (id),
  CONSTRAINT ck_products_guarantee CHECK (guarantee_days IN (7, 15, 21, 30)),
  CONSTRAINT ck_products_commission CHECK (affiliate_commission_bps <= 10000)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE offers (
  id                          CHAR(36) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  product_id                  CHAR(36) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  code                        CHAR(10) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  name                        VARCHAR(200) NOT NULL,
  price_cents                 BIGINT NOT NULL,
  max_installments            TINYINT UNSIGNED NOT NULL DEFAULT 1,
  interest_free_installments  TINYINT UNSIGNED NOT NULL DEFAULT 1,
  payment_methods             SET('card','pix','boleto') NOT NULL DEFAULT 'card,pix,boleto',
  allow_coupon                TINYINT(1) NOT NULL DEFAULT 1,
  active                      TINYINT(1) NOT NULL DEFAULT 1,
  upsell_offer_id             CHAR(36) CHARACTER SET ascii COLLATE ascii_bin NULL,
  upsell_one_click            TINYINT(1) NOT NULL DEFAULT 0,
  created_at                  DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
  updated_at                  DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6),
  PRIMARY KEY (id),
  UNIQUE KEY uq_offers_code (code),
  KEY ix_offers_product (product_id, id),
  CONSTRAINT fk_offers_product FOREIGN KEY (product_id) REFERENCES products (id),
  CONSTRAINT fk_offers_upsell FOREIGN KEY (upsell_offer_id) REFERENCES offers (id),
  CONSTRAINT ck_offers_price CHECK (price_cents >= 500),
  CONSTRAINT ck_offers_installments CHECK (max_installments BETWEEN 1 AND 12
    AND interest_free_installments BETWEEN 1 AND max_installments)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE offer_bumps (
  offer_id       CHAR(36) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  bump_offer_id  CHAR(36) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  position       TINYINT UNSIGNED NOT NULL,
  PRIMARY KEY (offer_id, bump_offer_id),
  UNIQUE KEY uq_offer_bumps_position (offer_id, position),
  CONSTRAINT fk_bumps_offer FOREIGN KEY (offer_id) REFERENCES offers (id) ON DELETE CASCADE,
  CONSTRAINT fk_bumps_bump FOREIGN KEY (bump_offer_id) REFERENCES offers (id),
  CONSTRAINT ck_bumps_position CHECK (position BETWEEN 1 AND 5)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE coproducers (
  id          CHAR(36) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  product_id  CHAR(36) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  user_id     CHAR(36) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  share_bps   INT UNSIGNED NOT NULL,
  starts_at   DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
  ends_at     DATETIME(6) NULL,
  created_at  DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
  PRIMARY KEY (id),
  UNIQUE KEY uq_coproducers (product_id, user_id),
  KEY ix_coproducers_user (user_id),
  CONSTRAINT fk_coproducers_product FOREIGN KEY (product_id) REFERENCES products (id) ON DELETE CASCADE,
  CONSTRAINT fk_coproducers_user FOREIGN KEY (user_id) REFERENCES users (id),
  CONSTRAINT ck_coproducers_share CHECK (share_bps BETWEEN 1 AND 7000)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE affiliations (
  id              CHAR(36) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  product_id      CHAR(36) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  affiliate_id    CHAR(36) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  ref             VARCHAR(16) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  status          ENUM('pending','approved','rejected','blocked') NOT NULL DEFAULT 'pending',
  commission_bps  INT UNSIGNED NULL,
  created_at      DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
  decided_at      DATETIME(6) NULL,
  PRIMARY KEY (id),
  UNIQUE KEY uq_affiliations (product_id, affiliate_id),
  UNIQUE KEY uq_affiliations_ref (ref),
  KEY ix_affiliations_affiliate (affiliate_id, id),
  KEY ix_affiliations_status (status, id),
  CONSTRAINT fk_affiliations_product FOREIGN KEY (product_id) REFERENCES products (id),
  CONSTRAINT fk_affiliations_user FOREIGN KEY (affiliate_id) REFERENCES users (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE coupons (
  id                  CHAR(36) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  product_id          CHAR(36) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  code                VARCHAR(40) NOT NULL,
  percent_bps         INT UNSIGNED NULL,
  amount_cents        BIGINT NULL,
  payment_methods     SET('card','pix','boleto') NOT NULL DEFAULT 'card,pix,boleto',
  min_amount_cents    BIGINT NOT NULL DEFAULT 0,
  expires_at          DATETIME(6) NULL,
  max_uses            INT UNSIGNED NULL,
  uses                INT UNSIGNED NOT NULL DEFAULT 0,
  once_per_customer   TINYINT(1) NOT NULL DEFAULT 0,
  affiliation_id      CHAR(36) CHARACTER SET ascii COLLATE ascii_bin NULL,
  active              TINYINT(1) NOT NULL DEFAULT 1,
  created_at          DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
  updated_at          DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6),
  PRIMARY KEY (id),
  UNIQUE KEY uq_coupons_code (product_id, code),
  CONSTRAINT fk_coupons_product FOREIGN KEY (product_id) REFERENCES products (id) ON DELETE CASCADE,
  CONSTRAINT fk_coupons_affiliation FOREIGN KEY (affiliation_id) REFERENCES affiliations (id),
  CONSTRAINT ck_coupons_kind CHECK ((percent_bps IS NULL) <> (amount_cents IS NULL)),
  CONSTRAINT ck_coupons_percent CHECK (percent_bps IS NULL OR percent_bps BETWEEN 1 AND 10000),
  CONSTRAINT ck_coupons_amount CHECK (amount_cents IS NULL OR amount_cents > 0)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE campaigns (
  id            CHAR(36) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  owner_id      CHAR(36) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  product_id    CHAR(36) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  name          VARCHAR(200) NOT NULL,
  utm_source    VARCHAR(100) NULL,
  utm_medium    VARCHAR(100) NULL,
  utm_campaign  VARCHAR(100) NULL,
  created_at    DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
  updated_at    DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6),
  PRIMARY KEY (id),
  KEY ix_campaigns_owner (owner_id, id),
  CONSTRAINT fk_campaigns_owner FOREIGN KEY (owner_id) REFERENCES users (id),
  CONSTRAINT fk_campaigns_product FOREIGN KEY (product_id) REFERENCES products (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE customers (
  id             CHAR(36) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  email          VARCHAR(254) NOT NULL,
  full_name      VARCHAR(200) NOT NULL,
  document_enc   TEXT CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  document_bidx  CHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  document_type  ENUM('cpf','cnpj') NOT NULL,
  phone_enc      TEXT CHARACTER SET ascii COLLATE ascii_bin NULL,
  created_at     DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
  updated_at     DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6),
  PRIMARY KEY (id),
  UNIQUE KEY uq_customers_document (document_bidx),
  KEY ix_customers_email (email)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE checkout_sessions (
  id              CHAR(36) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  offer_id        CHAR(36) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  email           VARCHAR(254) NULL,
  affiliation_id  CHAR(36) CHARACTER SET ascii COLLATE ascii_bin NULL,
  utm_source      VARCHAR(100) NULL,
  utm_medium      VARCHAR(100) NULL,
  utm_campaign    VARCHAR(100) NULL,
  client_ip       VARCHAR(64) NULL,
  order_id        CHAR(36) CHARACTER SET ascii COLLATE ascii_bin NULL,
  abandoned_at    DATETIME(6) NULL,
  created_at      DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
  updated_at      DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6),
  PRIMARY KEY (id),
  KEY ix_sessions_abandoned (order_id, abandoned_at, updated_at),
  CONSTRAINT fk_sessions_offer FOREIGN KEY (offer_id) REFERENCES offers (id),
  CONSTRAINT fk_sessions_affiliation FOREIGN KEY (affiliation_id) REFERENCES affiliations (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE checkout_events (
  id           BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  event_id     VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  session_id   CHAR(36) CHARACTER SET ascii COLLATE ascii_bin NULL,
  offer_id     CHAR(36) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  event_name   VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  occurred_at  DATETIME(6) NOT NULL,
  received_at  DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
  properties   JSON NULL,
  PRIMARY KEY (id),
  UNIQUE KEY uq_events_event_id (event_id),
  KEY ix_events_funnel (offer_id, occurred_at, event_name),
  CONSTRAINT fk_events_offer FOREIGN KEY (offer_id) REFERENCES offers (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE orders (
  id                  CHAR(36) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  customer_id         CHAR(36) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  offer_id            CHAR(36) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  product_id          CHAR(36) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  producer_id         CHAR(36) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  affiliation_id      CHAR(36) CHARACTER SET ascii COLLATE ascii_bin NULL,
  affiliate_id        CHAR(36) CHARACTER SET ascii COLLATE ascii_bin NULL,
  coupon_id           CHAR(36) CHARACTER SET ascii COLLATE ascii_bin NULL,
  session_id          CHAR(36) CHARACTER SET ascii COLLATE ascii_bin NULL,
  parent_order_id     CHAR(36) CHARACTER SET ascii COLLATE ascii_bin NULL,
  status              ENUM('waiting_payment','paid','refused','expired','refund_requested',
                           'refunded','disputed','chargeback') NOT NULL DEFAULT 'waiting_payment',
  payment_method      ENUM('card','pix','boleto') NOT NULL,
  installments        TINYINT UNSIGNED NOT NULL DEFAULT 1,
  subtotal_cents      BIGINT NOT NULL,
  discount_cents      BIGINT NOT NULL DEFAULT 0,
  interest_cents      BIGINT NOT NULL DEFAULT 0,
  total_cents         BIGINT NOT NULL,
  currency            CHAR(3) CHARACTER SET ascii NOT NULL DEFAULT 'BRL',
  access_token_hash   CHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  fraud_score         SMALLINT UNSIGNED NOT NULL DEFAULT 0,
  fraud_reasons       JSON NULL,
  client_ip           VARCHAR(64) NULL,
  expires_at          DATETIME(6) NULL,
  paid_at             DATETIME(6) NULL,
  created_at          DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
  updated_at          DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6),
  PRIMARY KEY (id),
  KEY ix_orders_producer (producer_id, id),
  KEY ix_orders_affiliate (affiliate_id, id),
  KEY ix_orders_customer (customer_id, id),
  KEY ix_orders_status (status, id),
  KEY ix_orders_method (payment_method, id),
  KEY ix_orders_product (product_id, id),
  KEY ix_orders_created (created_at),
  KEY ix_orders_expiry (status, expires_at),
  CONSTRAINT fk_orders_customer FOREIGN KEY (customer_id) REFERENCES customers (id),
  CONSTRAINT fk_orders_offer FOREIGN KEY (offer_id) REFERENCES offers (id),
  CONSTRAINT fk_orders_product FOREIGN KEY (product_id) REFERENCES products (id),
  CONSTRAINT fk_orders_producer FOREIGN KEY (producer_id) REFERENCES users (id),
  CONSTRAINT fk_orders_affiliation FOREIGN KEY (affiliation_id) REFERENCES affiliations (id),
  CONSTRAINT fk_orders_parent FOREIGN KEY (parent_order_id) REFERENCES orders (id),
  CONSTRAINT ck_orders_money CHECK (subtotal_cents >= 0 AND discount_cents >= 0 AND interest_cents >= 0
    AND total_cents = subtotal_cents - discount_cents + interest_cents)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE order_items (
  id           CHAR(36) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  order_id     CHAR(36) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  offer_id     CHAR(36) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  type         ENUM('main','order_bump','upsell') NOT NULL,
  price_cents  BIGINT NOT NULL,
  PRIMARY KEY (id),
  KEY ix_items_order (order_id),
  CONSTRAINT fk_items_order FOREIGN KEY (order_id) REFERENCES orders (id),
  CONSTRAINT fk_items_offer FOREIGN KEY (offer_id) REFERENCES offers (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE charges (
  id                  CHAR(36) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  order_id            CHAR(36) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  acquirer            VARCHAR(32) CHARACTER SET ascii NOT NULL,
  acquirer_charge_id  VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NULL,
  method              ENUM('card','pix','boleto') NOT NULL,
  status              ENUM('pending','approved','declined','error','refunded',
                           'partially_refunded','chargeback') NOT NULL DEFAULT 'pending',
  amount_cents        BIGINT NOT NULL,
  installments        TINYINT UNSIGNED NOT NULL DEFAULT 1,
  card_brand          VARCHAR(16) NULL,
  card_bin            CHAR(6) CHARACTER SET ascii NULL,
  card_last4          CHAR(4) CHARACTER SET ascii NULL,
  card_fingerprint    CHAR(64) CHARACTER SET ascii COLLATE ascii_bin NULL,
  pix_txid            VARCHAR(35) CHARACTER SET ascii COLLATE ascii_bin NULL,
  pix_payload         TEXT NULL,
  boleto_barcode      CHAR(44) CHARACTER SET ascii NULL,
  boleto_line         CHAR(47) CHARACTER SET ascii NULL,
  boleto_due_date     DATE NULL,
  decline_code        VARCHAR(64) NULL,
  created_at          DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
  updated_at          DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6),
  PRIMARY KEY (id),
  UNIQUE KEY uq_charges_acquirer (acquirer, acquirer_charge_id),
  KEY ix_charges_order (order_id),
  KEY ix_charges_pix (pix_txid),
  KEY ix_charges_boleto (boleto_barcode),
  KEY ix_charges_fingerprint (card_fingerprint, created_at),
  CONSTRAINT fk_charges_order FOREIGN KEY (order_id) REFERENCES orders (id),
  CONSTRAINT ck_charges_amount CHECK (amount_cents > 0)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE splits (
  id              CHAR(36) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  order_id        CHAR(36) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  party           ENUM('platform','producer','coproducer','affiliate') NOT NULL,
  user_id         CHAR(36) CHARACTER SET ascii COLLATE ascii_bin NULL,
  amount_cents    BIGINT NOT NULL,
  reversed_cents  BIGINT NOT NULL DEFAULT 0,
  status          ENUM('waiting','released','reversed') NOT NULL DEFAULT 'waiting',
  release_at      DATETIME(6) NULL,
  released_at     DATETIME(6) NULL,
  created_at      DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
  PRIMARY KEY (id),
  KEY ix_splits_order (order_id),
  KEY ix_splits_user (user_id, status),
  KEY ix_splits_release (status, release_at),
  CONSTRAINT fk_splits_order FOREIGN KEY (order_id) REFERENCES orders (id),
  CONSTRAINT fk_splits_user FOREIGN KEY (user_id) REFERENCES users (id),
  CONSTRAINT ck_splits_amount CHECK (amount_cents >= 0 AND reversed_cents BETWEEN 0 AND amount_cents)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE refunds (
  id                  CHAR(36) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  order_id            CHAR(36) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  amount_cents        BIGINT NOT NULL,
  reason              VARCHAR(500) NOT NULL,
  status              ENUM('requested','processing','succeeded','failed') NOT NULL DEFAULT 'requested',
  requested_by        CHAR(36) CHARACTER SET ascii COLLATE ascii_bin NULL,
  acquirer_refund_id  VARCHAR(64) NULL,
  created_at          DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
  updated_at          DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6),
  PRIMARY KEY (id),
  KEY ix_refunds_order (order_id),
  CONSTRAINT fk_refunds_order FOREIGN KEY (order_id) REFERENCES orders (id),
  CONSTRAINT ck_refunds_amount CHECK (amount_cents > 0)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- One row per (scope, key): inserting it is the atomic claim (duplicate key
-- 1062 means someone else holds it).  The stored response is replayed.
CREATE TABLE idempotency_keys (
  id               BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  scope            VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  idem_key         VARCHAR(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
  request_hash     CHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  status           ENUM('in_progress','done') NOT NULL DEFAULT 'in_progress',
  response_status  SMALLINT UNSIGNED NULL,
  response_body    MEDIUMTEXT NULL,
  resource_id      CHAR(36) CHARACTER SET ascii COLLATE ascii_bin NULL,
  locked_until     DATETIME(6) NULL,
  created_at       DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
  expires_at       DATETIME(6) NOT NULL,
  PRIMARY KEY (id),
  UNIQUE KEY uq_idempotency (scope, idem_key),
  KEY ix_idempotency_expiry (expires_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- The job queue (transactional outbox).  Consumers claim ready rows with
-- SELECT ... FOR UPDATE SKIP LOCKED and hold a lease until leased_until.
CREATE TABLE jobs (
  id            BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  type          VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  payload       JSON NOT NULL,
  dedup_key     VARCHAR(191) CHARACTER SET ascii COLLATE ascii_bin NULL,
  status        ENUM('ready','running','done','dead') NOT NULL DEFAULT 'ready',
  attempts      INT UNSIGNED NOT NULL DEFAULT 0,
  max_attempts  INT UNSIGNED NOT NULL DEFAULT 10,
  run_at        DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
  leased_until  DATETIME(6) NULL,
  lease_owner   VARCHAR(64) NULL,
  last_error    TEXT NULL,
  created_at    DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
  updated_at    DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6),
  PRIMARY KEY (id),
  UNIQUE KEY uq_jobs_dedup (dedup_key),
  KEY ix_jobs_ready (status, run_at),
  KEY ix_jobs_type (type, status, run_at),
  KEY ix_jobs_lease (status, leased_until)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE webhook_endpoints (
  id          CHAR(36) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  owner_id    CHAR(36) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  url         VARCHAR(2048) NOT NULL,
  events      JSON NOT NULL,
  product_id  CHAR(36) CHARACTER SET ascii COLLATE ascii_bin NULL,
  secret_enc  TEXT CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  active      TINYINT(1) NOT NULL DEFAULT 1,
  created_at  DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
  updated_at  DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6),
  PRIMARY KEY (id),
  KEY ix_endpoints_owner (owner_id, id),
  CONSTRAINT fk_endpoints_owner FOREIGN KEY (owner_id) REFERENCES users (id),
  CONSTRAINT fk_endpoints_product FOREIGN KEY (product_id) REFERENCES products (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE webhook_deliveries (
  id                CHAR(36) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  endpoint_id       CHAR(36) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  event_id          CHAR(36) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  event             VARCHAR(64) CHARACTER SET ascii NOT NULL,
  payload           MEDIUMTEXT NOT NULL,
  status            ENUM('pending','succeeded','failed') NOT NULL DEFAULT 'pending',
  attempts          INT UNSIGNED NOT NULL DEFAULT 0,
  last_status_code  SMALLINT UNSIGNED NULL,
  last_error        VARCHAR(255) NULL,
  next_attempt_at   DATETIME(6) NULL,
  created_at        DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
  updated_at        DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6),
  PRIMARY KEY (id),
  UNIQUE KEY uq_deliveries_event (endpoint_id, event_id),
  KEY ix_deliveries_status (status, id),
  CONSTRAINT fk_deliveries_endpoint FOREIGN KEY (endpoint_id) REFERENCES webhook_endpoints (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE webhook_attempts (
  id                BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  delivery_id       CHAR(36) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  attempt           INT UNSIGNED NOT NULL,
  status_code       SMALLINT UNSIGNED NULL,
  duration_ms       INT UNSIGNED NOT NULL,
  response_excerpt  VARCHAR(512) NULL,
  error             VARCHAR(255) NULL,
  created_at        DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
  PRIMARY KEY (id),
  KEY ix_attempts_delivery (delivery_id, attempt),
  CONSTRAINT fk_attempts_delivery FOREIGN KEY (delivery_id) REFERENCES webhook_deliveries (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE invoices (
  id            CHAR(36) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  order_id      CHAR(36) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  dps_id        CHAR(45) CHARACTER SET ascii NOT NULL,
  status        ENUM('issued','cancelled') NOT NULL DEFAULT 'issued',
  amount_cents  BIGINT NOT NULL,
  storage_key   VARCHAR(512) NOT NULL,
  created_at    DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
  PRIMARY KEY (id),
  UNIQUE KEY uq_invoices_order (order_id),
  UNIQUE KEY uq_invoices_dps (dps_id),
  CONSTRAINT fk_invoices_order FOREIGN KEY (order_id) REFERENCES orders (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE audit_log (
  id           BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  actor_id     CHAR(36) CHARACTER SET ascii COLLATE ascii_bin NULL,
  actor_role   VARCHAR(16) NULL,
  action       VARCHAR(64) NOT NULL,
  target_type  VARCHAR(32) NOT NULL,
  target_id    VARCHAR(64) NULL,
  ip           VARCHAR(64) NULL,
  request_id   VARCHAR(128) NULL,
  details      JSON NULL,
  created_at   DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
  PRIMARY KEY (id),
  KEY ix_audit_created (created_at),
  KEY ix_audit_target (target_type, target_id),
  KEY ix_audit_actor (actor_id, id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE settings (
  name        VARCHAR(64) CHARACTER SET ascii NOT NULL,
  value       JSON NOT NULL,
  updated_at  DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6),
  PRIMARY KEY (name)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

INSERT INTO settings (name, value) VALUES ('acquirer_priority', '["sandbox"]');
