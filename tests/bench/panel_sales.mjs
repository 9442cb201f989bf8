// panel_sales.mjs - how long a producer with 100,000 sales waits for the
// panel's "Vendas" (first page of 20 rows on screen), in Debian's
// Chromium through b4-gateway against the real stack; and the panel's
// bundle sizes.  Run by tests/bench/bench_panel.sh (`make bench`).
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { launchChromium, startStack } from '../browser/stack.mjs';

const top = process.env.B4_TEST_TOP;
const dist = join(top, 'web/panel/dist');
const SALES = 100000;
const ROUNDS = 7;

function bundles() {
  const dir = join(dist, 'assets');
  const rows = readdirSync(dir).map((f) => {
    const data = readFileSync(join(dir, f));
    return { f, raw: statSync(join(dir, f)).size, gz: gzipSync(data, { level: 9 }).length };
  });
  rows.sort((a, b) => b.raw - a.raw);
  const kb = (n) => (n / 1024).toFixed(1);
  for (const r of rows) console.log(`bundle ${r.f}: ${kb(r.raw)} KiB, ${kb(r.gz)} KiB gzip`);
  const js = rows.filter((r) => r.f.endsWith('.js'));
  console.log(`bundle total js: ${kb(js.reduce((a, r) => a + r.raw, 0))} KiB, ${kb(js.reduce((a, r) => a + r.gz, 0))} KiB gzip in ${js.length} files`);
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

bundles();
const stack = await startStack({
  name: 'benchpanel',
  staticRoutes: [{ name: 'painel', prefix: '/painel', root: dist }],
});
let browser;
try {
  const t0 = Date.now();
  // 100,000 paid sales of the demo producer, the newest first in the list
  await stack.sql(`
    INSERT INTO customers (id, email, full_name, document_enc, document_bidx, document_type)
    VALUES ('01900000-0000-7000-8000-0000000c0001', 'bench@example.com', 'Bench Buyer', 'x', REPEAT('c', 64), 'cpf');
    INSERT INTO orders (id, customer_id, offer_id, product_id, producer_id, status, payment_method,
                        subtotal_cents, total_cents, access_token_hash, paid_at, created_at)
    SELECT CONCAT('01900001-0000-7000-8000-', LPAD(seq, 12, '0')), '01900000-0000-7000-8000-0000000c0001',
           o.id, o.product_id, p.producer_id, 'paid', ELT(1 + seq % 3, 'card', 'pix', 'boleto'),
           o.price_cents, o.price_cents, REPEAT('0', 64), UTC_TIMESTAMP(6),
           UTC_TIMESTAMP(6) - INTERVAL (${SALES + 1} - seq) MINUTE
    FROM seq_1_to_${SALES} JOIN offers o ON o.code = 'DEMOOFFER1' JOIN products p ON p.id = o.product_id;
    INSERT INTO splits (id, order_id, party, user_id, amount_cents)
    SELECT CONCAT('01900002-', SUBSTRING(o.id, 10)), o.id, 'producer', o.producer_id, o.total_cents - 1970
    FROM orders o WHERE o.id LIKE '01900001-%';
    ANALYZE TABLE orders, splits;`);
  console.log(`data: ${await stack.sqlValue("SELECT COUNT(*) FROM orders WHERE producer_id = (SELECT id FROM users WHERE email = 'producer@b4you.dev')")} sales of the producer (loaded in ${((Date.now() - t0) / 1000).toFixed(1)} s)`);

  browser = await launchChromium();
  const page = await browser.context.newPage();
  await page.goto(`${stack.gateway}/painel/`);
  await page.getByLabel('E-mail').fill('producer@b4you.dev');
  await page.getByLabel('Senha').fill('producer-demo-123');
  await page.getByRole('button', { name: 'Entrar' }).click();
  await page.getByRole('heading', { name: 'Início' }).waitFor({ timeout: 30000 });

  // in the app: click "Vendas" until 20 rows are on screen
  const nav = [];
  for (let i = 0; i < ROUNDS; i++) {
    await page.getByRole('link', { name: 'Início', exact: true }).click();
    await page.getByRole('heading', { name: 'Início' }).waitFor();
    const start = Date.now();
    await page.getByRole('link', { name: 'Vendas', exact: true }).click();
    await page.locator('tr.sale-row').nth(19).waitFor({ timeout: 30000 });
    nav.push(Date.now() - start);
  }
  // a fresh load of /painel/vendas: HTML, bundles, session refresh, the list
  const cold = [];
  for (let i = 0; i < ROUNDS; i++) {
    const start = Date.now();
    await page.goto(`${stack.gateway}/painel/vendas`);
    await page.locator('tr.sale-row').nth(19).waitFor({ timeout: 30000 });
    cold.push(Date.now() - start);
  }
  // the next page (keyset) deep in the list
  const more = [];
  for (let i = 0; i < ROUNDS; i++) {
    const rows = await page.locator('tr.sale-row').count();
    const start = Date.now();
    await page.getByRole('button', { name: 'Carregar mais' }).click();
    await page.locator('tr.sale-row').nth(rows + 19).waitFor({ timeout: 30000 });
    more.push(Date.now() - start);
  }
  console.log(`Vendas from the menu, 20 of ${SALES} sales on screen: median ${median(nav)} ms, max ${Math.max(...nav)} ms (${nav.join(', ')})`);
  console.log(`/painel/vendas fresh load to 20 rows: median ${median(cold)} ms, max ${Math.max(...cold)} ms (${cold.join(', ')})`);
  console.log(`"Carregar mais" (next keyset page): median ${median(more)} ms, max ${Math.max(...more)} ms (${more.join(', ')})`);
} finally {
  if (browser) await browser.close();
  await stack.stop();
}
