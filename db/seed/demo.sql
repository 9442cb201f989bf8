-- demo.sql: demo data loaded by `make run` (never in production).
-- Idempotent: INSERT IGNORE on fixed ids, so loading it twice changes nothing.
--
-- Accounts (password in brackets):
--   producer@b4you.dev   [producer-demo-123]  sells "Sistemas em C do zero"
--   affiliate@b4you.dev  [affiliate-demo-123] approved affiliate, ref DEMOREF01
--   admin@b4you.dev      [admin-demo-12345]   back-office admin
-- Offers (checkout links use the code): DEMOOFFER1 (main), DEMOBUMP01 (bump),
-- DEMOUPSEL1 (upsell).

INSERT IGNORE INTO users (id, email, password_hash, full_name, role, status) VALUES
 ('01900000-0000-7000-8000-000000000001', 'producer@b4you.dev',
  '$argon2id$v=19$m=19456,t=2,p=1$bnNiN0QyMUloWFZmVDJCeg$BjTcV8vZQF5tz5ZiI1F3CSZCKR+jMl4q2WG1urZHg3Y',
  'Paula Produtora', 'member', 'active'),
 ('01900000-0000-7000-8000-000000000002', 'affiliate@b4you.dev',
  '$argon2id$v=19$m=19456,t=2,p=1$VVNGMnNnMVRueFNEOWN6$wTdGFTjlmiQ9J7JJTyFs+F3e3PGxr66Bri7WQ2NHEgI',
  'Andre Afiliado', 'member', 'active'),
 ('01900000-0000-7000-8000-000000000003', 'admin@b4you.dev',
  '$argon2id$v=19$m=19456,t=2,p=1$Y3VrRjNTUGxyRUtqSXBzSQ$9hP06adbVfeW4A6SMCZpE7CiZVxi7ruicxFjQnniJkI',
  'Ana Admin', 'admin', 'active');

INSERT IGNORE INTO products (id, producer_id, name, description, type, guarantee_days, status,
  affiliate_enabled, affiliate_commission_bps, affiliate_cookie_days, affiliate_attribution) VALUES
 ('01900000-0000-7000-8000-000000000101', '01900000-0000-7000-8000-000000000001',
  'Sistemas em C do zero', 'Curso completo: ponteiros, memoria, redes e libevent.',
  'course', 7, 'active', 1, 4000, 60, 'last_click'),
 ('01900000-0000-7000-8000-000000000102', '01900000-0000-7000-8000-000000000001',
  'Guia de bolso do MariaDB', 'E-book com receitas de indices e transacoes.',
  'ebook', 7, 'active', 0, 0, 60, 'last_click');

INSERT IGNORE INTO offers (id, product_id, code, name, price_cents, max_installments,
  interest_free_installments, payment_methods, allow_coupon, active) VALUES
 ('01900000-0000-7000-8000-000000000201', '01900000-0000-7000-8000-000000000101',
  'DEMOOFFER1', 'Curso completo', 29700, 12, 3, 'card,pix,boleto', 1, 1),
 ('01900000-0000-7000-8000-000000000202', '01900000-0000-7000-8000-000000000102',
  'DEMOBUMP01', 'E-book (oferta especial)', 4700, 1, 1, 'card,pix,boleto', 0, 1),
 ('01900000-0000-7000-8000-000000000203', '01900000-0000-7000-8000-000000000102',
  'DEMOUPSEL1', 'E-book com mentoria', 9700, 6, 1, 'card,pix', 0, 1);

UPDATE offers SET upsell_offer_id = '01900000-0000-7000-8000-000000000203', upsell_one_click = 1
 WHERE id = '01900000-0000-7000-8000-000000000201' AND upsell_offer_id IS NULL;

INSERT IGNORE INTO offer_bumps (offer_id, bump_offer_id, position) VALUES
 ('01900000-0000-7000-8000-000000000201', '01900000-0000-7000-8000-000000000202', 1);

INSERT IGNORE INTO affiliations (id, product_id, affiliate_id, ref, status, decided_at) VALUES
 ('01900000-0000-7000-8000-000000000301', '01900000-0000-7000-8000-000000000101',
  '01900000-0000-7000-8000-000000000002', 'DEMOREF01', 'approved', CURRENT_TIMESTAMP(6));

INSERT IGNORE INTO coupons (id, product_id, code, percent_bps, min_amount_cents, active) VALUES
 ('01900000-0000-7000-8000-000000000401', '01900000-0000-7000-8000-000000000101',
  'BEMVINDO10', 1000, 0, 1);
