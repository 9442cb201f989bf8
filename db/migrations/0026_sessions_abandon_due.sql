-- 0026_sessions_abandon_due: the abandoned-cart scan reads only sessions
-- that can still be abandoned.
--
-- The scan (workers/scheduled.c) walked ix_sessions_abandon_scan
-- (abandoned_at, updated_at) from the oldest session not marked abandoned,
-- and filtered the rest row by row: the sessions of visitors who never
-- typed an e-mail, and the sessions that paid, stayed in that range for
-- good, so every scan read all of them, a launch's page loads included.
-- abandon_due is the session's updated_at while the cart can still be
-- abandoned (an e-mail, not marked abandoned, not closed), else NULL;
-- closed_at marks a session the scan found paid.  The scan reads
-- ix_sessions_abandon_due, which holds only those, and the old index goes.

ALTER TABLE checkout_sessions
  ADD COLUMN IF NOT EXISTS closed_at DATETIME(6) NULL,
  ADD COLUMN IF NOT EXISTS abandon_due DATETIME(6) AS
    (IF(abandoned_at IS NULL AND closed_at IS NULL AND email IS NOT NULL AND email <> '',
        updated_at, NULL)) VIRTUAL,
  ADD INDEX IF NOT EXISTS ix_sessions_abandon_due (abandon_due),
  DROP INDEX IF EXISTS ix_sessions_abandon_scan;
