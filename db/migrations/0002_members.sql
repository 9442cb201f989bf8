-- 0002_members.sql: what the members service (b4-api) adds to the core schema.

-- Login attempts per fixed window, keyed by the blind index of the email or
-- of the client address, so the limit holds across every b4-api replica.
CREATE TABLE login_attempts (
  scope         ENUM('email','ip') NOT NULL,
  key_hash      CHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  window_start  BIGINT NOT NULL,
  attempts      INT UNSIGNED NOT NULL DEFAULT 0,
  PRIMARY KEY (scope, key_hash, window_start),
  KEY ix_login_attempts_window (window_start)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- A deleted webhook endpoint keeps its delivery log; it stops receiving
-- events (active = 0) and disappears from the member's lists.
ALTER TABLE webhook_endpoints ADD COLUMN deleted_at DATETIME(6) NULL AFTER active;
