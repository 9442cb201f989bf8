-- 0021_funnel_days.sql: checkout events counted per offer, local day and
-- event name, so the panel's funnel ("Início", GET /v1/dashboard/charts)
-- reads a few rows per day instead of every page view: with 2,000,000
-- events of one offer in 30 days it took over 2 s (docs/BENCHMARKS.md).
--
-- The day is the event's occurred_at in the offer's producer's
-- users.utc_offset, the day sales_daily counts in.  The slot is the
-- writing connection's id modulo 16, as in sales_daily: page views are a
-- launch's hottest writes, so concurrent inserts for one offer add to
-- different rows.  Readers sum over the slots.  A trigger keeps the counts
-- in the statement that inserts the event (a resent event id fails its
-- insert, so it is counted once); events are never updated or deleted.
-- `b4-migrate --rebuild-aggregates` recounts them (after an offset
-- change).  As with 0018, an event inserted while this file runs, between
-- the count below and the trigger, is left out until a rebuild.
CREATE TABLE funnel_days (
  offer_id    CHAR(36) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  day         DATE NOT NULL,
  event_name  VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  slot        TINYINT UNSIGNED NOT NULL DEFAULT 0,
  events      BIGINT NOT NULL DEFAULT 0,
  PRIMARY KEY (offer_id, day, event_name, slot)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

INSERT INTO funnel_days (offer_id, day, event_name, slot, events)
SELECT e.offer_id, DATE(CONVERT_TZ(e.occurred_at, '+00:00', u.utc_offset)), e.event_name, 0,
       COUNT(*)
FROM checkout_events e JOIN offers f ON f.id = e.offer_id
JOIN products p ON p.id = f.product_id JOIN users u ON u.id = p.producer_id
GROUP BY e.offer_id, 2, e.event_name;

CREATE TRIGGER checkout_events_funnel_insert AFTER INSERT ON checkout_events FOR EACH ROW
  INSERT INTO funnel_days (offer_id, day, event_name, slot, events)
  VALUES (NEW.offer_id,
          DATE(CONVERT_TZ(NEW.occurred_at, '+00:00',
                          (SELECT u.utc_offset FROM offers f JOIN products p ON p.id = f.product_id
                           JOIN users u ON u.id = p.producer_id WHERE f.id = NEW.offer_id))),
          NEW.event_name, CONNECTION_ID() % 16, 1)
  ON DUPLICATE KEY UPDATE events = events + 1;
