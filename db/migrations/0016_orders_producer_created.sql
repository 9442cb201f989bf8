-- 0016_orders_producer_created.sql: the panel's charts (svc-api/charts.c)
-- read a producer's orders of a period as one index range instead of
-- every order of the producer.
ALTER TABLE orders ADD KEY ix_orders_producer_created (producer_id, created_at);
