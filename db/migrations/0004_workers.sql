-- 0004_workers: indexes the scheduled jobs of b4-worker need.
--
-- The abandoned-cart scan looks for sessions not yet marked abandoned and
-- quiet since a given time, then checks that no paid order belongs to the
-- session (orders.session_id, or the session's order_id).

ALTER TABLE checkout_sessions
  ADD INDEX IF NOT EXISTS ix_sessions_abandon_scan (abandoned_at, updated_at);

ALTER TABLE orders
  ADD INDEX IF NOT EXISTS ix_orders_session (session_id);
