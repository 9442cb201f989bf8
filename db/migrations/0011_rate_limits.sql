-- 0011_rate_limits.sql: fixed-window counters shared by every replica
-- (issue #11): coupon checks and funnel events per client address and per
-- checkout session.  key_hash is a SHA-256 of the scope's key, so no client
-- address is kept in clear; rows older than their window are swept by the
-- writers themselves.
CREATE TABLE rate_limits (
  scope         VARCHAR(32) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  key_hash      CHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  window_start  BIGINT NOT NULL,
  hits          INT UNSIGNED NOT NULL DEFAULT 0,
  PRIMARY KEY (scope, key_hash, window_start),
  KEY ix_rate_limits_window (window_start)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
