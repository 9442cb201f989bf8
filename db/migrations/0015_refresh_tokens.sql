-- 0015_refresh_tokens.sql: the panel's sessions (svc-api/sessions.c).
--
-- A login opens a family; every POST /v1/auth/refresh rotates the token
-- (the presented row becomes 'rotated', a new 'active' row joins the
-- family).  Presenting a rotated token again is a reuse: the whole family
-- is revoked.  Only the SHA-256 of the token is stored (the token is 256
-- random bits, so no salt or slow hash is needed to keep it unguessable).
CREATE TABLE refresh_tokens (
  id           CHAR(36) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  family_id    CHAR(36) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  user_id      CHAR(36) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  token_hash   CHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  status       ENUM('active','rotated','revoked') NOT NULL DEFAULT 'active',
  expires_at   DATETIME(6) NOT NULL,
  created_at   DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
  updated_at   DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6),
  PRIMARY KEY (id),
  UNIQUE KEY uq_refresh_tokens_hash (token_hash),
  KEY ix_refresh_tokens_family (family_id, status),
  KEY ix_refresh_tokens_user (user_id, status),
  KEY ix_refresh_tokens_expiry (expires_at),
  CONSTRAINT fk_refresh_tokens_user FOREIGN KEY (user_id) REFERENCES users (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
