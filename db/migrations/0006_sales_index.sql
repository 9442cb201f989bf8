-- A member's sales as a co-producer, newest first: GET /v1/sales reads
-- them as one index range (svc-api/sales.c, SALE_PAGE_IDS) instead of
-- testing every order.
ALTER TABLE splits ADD KEY ix_splits_user_party_order (user_id, party, order_id);
