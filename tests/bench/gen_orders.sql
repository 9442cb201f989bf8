-- Order generator for the analytics benchmarks (tests/bench/gen_orders.sh
-- substitutes @FIRST@ and @LAST@, order numbers FIRST..LAST inclusive):
-- orders of the demo producer spread over the 180 days before now, ids
-- rising with created_at (like UUIDv7), on the course (DEMOOFFER1, 29700)
-- or the e-book (DEMOUPSEL1, 9700); card 60%, pix 30%, boleto 10%; 10%
-- through the demo affiliate; statuses paid 72%, refused 8%, expired 8%,
-- waiting_payment 2%, refunded 5%, refund_requested 1%, disputed 1%,
-- chargeback 3%.  Each order has its platform and producer splits, plus
-- the affiliate's; refunded and charged-back orders have them reversed.
-- Multi-row INSERT ... SELECT from the sequence engine: no per-row round
-- trip.  The aggregates are filled afterwards by
-- `b4-migrate --rebuild-aggregates`.
SET @first_id = CONCAT('01900001-', LPAD(HEX(@FIRST@ DIV 65536), 4, '0'), '-7000-8000-',
                       LPAD(@FIRST@, 12, '0')),
    @last_id = CONCAT('01900001-', LPAD(HEX(@LAST@ DIV 65536), 4, '0'), '-7000-8000-',
                      LPAD(@LAST@, 12, '0'));

INSERT IGNORE INTO customers (id, email, full_name, document_enc, document_bidx, document_type)
VALUES ('01900000-0000-7000-8000-0000000b0001', 'bench@example.com', 'Bench Buyer',
        'bench-not-a-real-ciphertext', REPEAT('b', 64), 'cpf');

INSERT INTO orders (id, customer_id, buyer_name, buyer_email, offer_id, product_id, producer_id,
                    affiliation_id, affiliate_id, status, payment_method, installments,
                    subtotal_cents, total_cents, access_token_hash, paid_at, created_at)
SELECT CONCAT('01900001-', LPAD(HEX(seq DIV 65536), 4, '0'), '-7000-8000-', LPAD(seq, 12, '0')),
       '01900000-0000-7000-8000-0000000b0001', 'Bench Buyer', 'bench@example.com',
       f.id, f.product_id, '01900000-0000-7000-8000-000000000001',
       IF(seq % 10 = 3, '01900000-0000-7000-8000-000000000301', NULL),
       IF(seq % 10 = 3, '01900000-0000-7000-8000-000000000002', NULL),
       ELT(1 + seq % 100 DIV 1,
           'paid','paid','paid','paid','paid','paid','paid','paid','paid','paid',
           'paid','paid','paid','paid','paid','paid','paid','paid','paid','paid',
           'paid','paid','paid','paid','paid','paid','paid','paid','paid','paid',
           'paid','paid','paid','paid','paid','paid','paid','paid','paid','paid',
           'paid','paid','paid','paid','paid','paid','paid','paid','paid','paid',
           'paid','paid','paid','paid','paid','paid','paid','paid','paid','paid',
           'paid','paid','paid','paid','paid','paid','paid','paid','paid','paid',
           'paid','paid','refused','refused','refused','refused','refused','refused',
           'refused','refused','expired','expired','expired','expired','expired','expired',
           'expired','expired','waiting_payment','waiting_payment','refunded','refunded',
           'refunded','refunded','refunded','refund_requested','disputed','chargeback',
           'chargeback','chargeback'),
       ELT(1 + seq % 10, 'card','card','pix','card','pix','card','boleto','card','pix','card'),
       1, IF(seq % 7 = 0, 9700, 29700), IF(seq % 7 = 0, 9700, 29700), REPEAT('0', 64),
       NULL, UTC_TIMESTAMP(6) - INTERVAL 180 DAY
             + INTERVAL (seq - @FIRST@) * (15552000 DIV (@LAST@ - @FIRST@ + 1)) SECOND
FROM seq_@FIRST@_to_@LAST@
JOIN offers f ON f.code = IF(seq % 7 = 0, 'DEMOUPSEL1', 'DEMOOFFER1');

UPDATE orders SET paid_at = created_at + INTERVAL 1 MINUTE
WHERE id BETWEEN @first_id AND @last_id
  AND status IN ('paid','refund_requested','refunded','disputed','chargeback');

-- platform 1970 (+ 7730 to the affiliate when there is one), the producer the rest
INSERT INTO splits (id, order_id, party, user_id, amount_cents, reversed_cents, status)
SELECT CONCAT('01900002-', SUBSTRING(o.id, 10)), o.id, 'producer', o.producer_id,
       o.total_cents - 1970 - IF(o.affiliate_id IS NULL, 0, 7730),
       IF(o.status IN ('refunded','chargeback'), o.total_cents - 1970 - IF(o.affiliate_id IS NULL, 0, 7730), 0),
       IF(o.status IN ('refunded','chargeback'), 'reversed', 'waiting')
FROM orders o
WHERE o.id BETWEEN @first_id AND @last_id
  AND o.status NOT IN ('refused');
INSERT INTO splits (id, order_id, party, user_id, amount_cents, reversed_cents, status)
SELECT CONCAT('01900003-', SUBSTRING(o.id, 10)), o.id, 'platform', NULL, 1970,
       IF(o.status IN ('refunded','chargeback'), 1970, 0),
       IF(o.status IN ('refunded','chargeback'), 'reversed', 'waiting')
FROM orders o
WHERE o.id BETWEEN @first_id AND @last_id
  AND o.status NOT IN ('refused');
INSERT INTO splits (id, order_id, party, user_id, amount_cents, reversed_cents, status)
SELECT CONCAT('01900004-', SUBSTRING(o.id, 10)), o.id, 'affiliate', o.affiliate_id, 7730,
       IF(o.status IN ('refunded','chargeback'), 7730, 0),
       IF(o.status IN ('refunded','chargeback'), 'reversed', 'waiting')
FROM orders o
WHERE o.id BETWEEN @first_id AND @last_id
  AND o.status NOT IN ('refused') AND o.affiliate_id IS NOT NULL;
