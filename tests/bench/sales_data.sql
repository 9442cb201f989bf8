-- Bench data for the sales list (tests/bench/bench_api.sh): 200,000 paid
-- orders of the demo producer, each with its producer and platform splits,
-- of which the 20 oldest also carry the demo affiliate and their split.
-- The affiliate's sales are then the oldest rows of a large table: the
-- case where a list that scans orders newest first reads nearly all of it.
INSERT INTO customers (id, email, full_name, document_enc, document_bidx, document_type)
VALUES ('01900000-0000-7000-8000-0000000b0001', 'bench@example.com', 'Bench Buyer',
        'bench-not-a-real-ciphertext', REPEAT('b', 64), 'cpf');

INSERT INTO orders (id, customer_id, offer_id, product_id, producer_id, affiliation_id,
                    affiliate_id, status, payment_method, subtotal_cents, total_cents,
                    access_token_hash, paid_at, created_at)
SELECT CONCAT('01900001-0000-7000-8000-', LPAD(seq, 12, '0')),
       '01900000-0000-7000-8000-0000000b0001', o.id, o.product_id, p.producer_id,
       IF(seq <= 20, a.id, NULL), IF(seq <= 20, a.affiliate_id, NULL),
       'paid', 'pix', o.price_cents, o.price_cents, REPEAT('0', 64),
       UTC_TIMESTAMP(6), UTC_TIMESTAMP(6) - INTERVAL (200001 - seq) SECOND
FROM seq_1_to_200000
JOIN offers o ON o.code = 'DEMOOFFER1'
JOIN products p ON p.id = o.product_id
JOIN affiliations a ON a.ref = 'DEMOREF01';

-- platform 1970, affiliate 7730 when there is one, the producer the rest
INSERT INTO splits (id, order_id, party, user_id, amount_cents)
SELECT CONCAT('01900002-', SUBSTRING(o.id, 10)), o.id, 'producer', o.producer_id,
       o.total_cents - 1970 - IF(o.affiliate_id IS NULL, 0, 7730)
FROM orders o WHERE o.id LIKE '01900001-%';
INSERT INTO splits (id, order_id, party, user_id, amount_cents)
SELECT CONCAT('01900003-0000-7000-8000-', LPAD(seq, 12, '0')),
       CONCAT('01900001-0000-7000-8000-', LPAD(seq, 12, '0')),
       'platform', NULL, 1970
FROM seq_1_to_200000;
INSERT INTO splits (id, order_id, party, user_id, amount_cents)
SELECT CONCAT('01900004-0000-7000-8000-', LPAD(seq, 12, '0')),
       CONCAT('01900001-0000-7000-8000-', LPAD(seq, 12, '0')),
       'affiliate', '01900000-0000-7000-8000-000000000002', 7730
FROM seq_1_to_20;
