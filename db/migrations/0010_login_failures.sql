-- 0010_login_failures.sql: login protection that cannot be turned against
-- members (issue #11).  Failed logins are counted per client address and
-- per (account, address), never per account alone, so an attacker hammering
-- an account from one address does not lock its owner out elsewhere.  After
-- the free failures each further one doubles the wait (blocked_until); the
-- service answers 429 with Retry-After until then instead of sleeping.  Keys
-- are blind indexes (no address or email in clear); rows are shared by every
-- b4-api replica.
CREATE TABLE login_failures (
  scope            ENUM('address','account_address') NOT NULL,
  key_hash         CHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  failures         INT NOT NULL,
  last_failure_at  BIGINT NOT NULL,
  blocked_until    BIGINT NOT NULL DEFAULT 0,
  PRIMARY KEY (scope, key_hash),
  KEY ix_login_failures_last (last_failure_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

DROP TABLE login_attempts;
