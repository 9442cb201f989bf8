-- 0013_card_tokens_bound.sql: card tokens are single-use, short-lived,
-- bound to the checkout session that made them, and never kept in clear
-- (issue #11).
--
-- card_tokens: keyed by the SHA-256 of the token (the token itself is not
-- stored); session_id is the checkout session it was made for (NULL only
-- for tokens made server-to-server without one); expires_at is 15 minutes
-- after creation; used_at/used_by record the one order attempt (the hash
-- of its idempotency scope and key) allowed to use it, so a retry of that
-- same attempt still works and any other is refused.
-- charges.card_token: the token a one-click upsell charges again, now the
-- AES-GCM field text of the token (libcommon pii, column
-- "charges.card_token"); older clear values are dropped.

ALTER TABLE card_tokens
  ADD COLUMN token_hash CHAR(64) CHARACTER SET ascii COLLATE ascii_bin NULL FIRST,
  ADD COLUMN session_id CHAR(36) CHARACTER SET ascii COLLATE ascii_bin NULL AFTER acquirer,
  ADD COLUMN expires_at DATETIME(6) NULL AFTER created_at,
  ADD COLUMN used_at DATETIME(6) NULL AFTER expires_at,
  ADD COLUMN used_by CHAR(64) CHARACTER SET ascii COLLATE ascii_bin NULL AFTER used_at;

UPDATE card_tokens SET token_hash = SHA2(token, 256),
  expires_at = created_at + INTERVAL 15 MINUTE;

ALTER TABLE card_tokens
  DROP PRIMARY KEY,
  DROP COLUMN token,
  MODIFY token_hash CHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  MODIFY expires_at DATETIME(6) NOT NULL,
  ADD PRIMARY KEY (token_hash);

UPDATE charges SET card_token = NULL WHERE card_token IS NOT NULL;
ALTER TABLE charges MODIFY card_token VARCHAR(400) CHARACTER SET ascii COLLATE ascii_bin NULL;
