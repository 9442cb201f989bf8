// checkout.test.mjs - the buyer's checkout page (/pay/:code) in headless
// Chromium, through b4-gateway, against the real stack (stack.mjs).
// Prints cmocka-style lines so tests/run.sh counts the results; saves a
// screenshot of every final state under $B4_TEST_BUILD/artifacts/.
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { launchChromium, startStack } from './stack.mjs';
import { check, checkEqual, runTests } from './runner.mjs';

const artifacts = join(process.env.B4_TEST_BUILD || 'build', 'artifacts');
mkdirSync(artifacts, { recursive: true });

// the demo product image make run uploads (db/seed/demo-product.png, 480x240)
const PNG = readFileSync(join(process.env.B4_TEST_TOP || '.', 'db/seed/demo-product.png'));
const PRODUCT_ID = '01900000-0000-7000-8000-000000000101';
const AFFILIATE_ID = '01900000-0000-7000-8000-000000000002';

/** A CPF with valid check digits made from n (formatted as typed). */
function cpf(n) {
  const d = String(100000000 + n).slice(-9).split('').map(Number);
  for (const len of [9, 10]) {
    let sum = 0;
    for (let i = 0; i < len; i++) sum += d[i] * (len + 1 - i);
    const r = (sum * 10) % 11;
    d.push(r === 10 ? 0 : r);
  }
  return d.join('');
}

const text = (s) => s.replace(/\s+/g, ' ').trim();

let stack;
let browser;

async function openPage(path = '/pay/DEMOOFFER1') {
  const page = await browser.context.newPage();
  const problems = [];
  page.on('pageerror', (err) => problems.push(`uncaught: ${err.message}`));
  page.on('console', (msg) => {
    // a refused request (402, 422) or an aborted one is logged by the
    // browser itself; anything else is a script error
    if (msg.type() === 'error' && !/Failed to load resource/.test(msg.text())) problems.push(`console: ${msg.text()}`);
  });
  await page.goto(`${stack.gateway}${path}`);
  await page.getByRole('button', { name: 'Finalizar compra' }).waitFor({ timeout: 15000 });
  page.problems = problems;
  return page;
}

async function fillBuyer(page, who) {
  await page.getByLabel('Nome completo').fill(who.name || 'Maria Compradora');
  await page.getByLabel('E-mail').fill(who.email);
  await page.getByLabel('E-mail').blur();
  await page.getByLabel('CPF').fill(who.cpf);
  await page.getByLabel('Celular').fill('11987654321');
}

async function fillCard(page, number, installments = '1') {
  await page.getByLabel('Número do cartão').fill(number);
  await page.getByLabel('Nome impresso no cartão').fill('MARIA COMPRADORA');
  await page.getByLabel('Validade').fill('1230');
  await page.getByLabel('CVV').fill('123');
  await page.getByLabel('Parcelas').selectOption(installments);
}

async function finish(page, name) {
  await page.screenshot({ path: join(artifacts, `checkout-${name}.png`), fullPage: true });
  checkEqual(page.problems.join('\n'), '', 'no uncaught script error in the console');
  await page.close();
}

async function ordersOf(email) {
  return stack.sql(
    `SELECT o.id, o.status, o.total_cents, o.payment_method, COALESCE(o.affiliate_id, '') FROM orders o
     JOIN customers c ON c.id = o.customer_id WHERE c.email = '${email}' AND o.parent_order_id IS NULL`,
  );
}

const tests = {
  async card_purchase_approved() {
    // the producer uploads the product image through b4-api
    const auth = await stack.login('producer@b4you.dev', 'producer-demo-123');
    const up = await stack.api('PUT', `/api/v1/products/${PRODUCT_ID}/image`, PNG, { ...auth, 'Content-Type': 'image/png' });
    checkEqual(up.status, 200, 'image upload');
    const page = await openPage('/pay/DEMOOFFER1?ref=DEMOREF01');
    checkEqual(text(await page.getByTestId('price').innerText()), 'R$ 297,00', 'price in reais');
    check(await page.getByText('Garantia de 7 dias').isVisible(), 'guarantee shown');
    const img = page.getByRole('img', { name: 'Sistemas em C do zero' });
    await img.waitFor();
    check(await img.evaluate((el) => el.complete && el.naturalWidth === 480), 'product image served through the gateway');
    const unlabeled = await page.$$eval('input, select, textarea', (els) =>
      els.filter((e) => !e.labels || e.labels.length === 0).map((e) => e.id || e.name));
    checkEqual(unlabeled.join(','), '', 'every input has a <label>');
    const email = 'card-ok@example.com';
    await fillBuyer(page, { email, cpf: cpf(1) });
    await fillCard(page, '4111 1111 1111 1111', '3');
    await page.getByRole('button', { name: 'Finalizar compra' }).click();
    await page.getByRole('heading', { name: 'Pagamento aprovado' }).waitFor({ timeout: 20000 });
    const rows = await ordersOf(email);
    checkEqual(rows.length, 1, 'one order');
    checkEqual(rows[0][1], 'paid', 'order paid');
    checkEqual(rows[0][4], AFFILIATE_ID, 'the ?ref= affiliate credited');
    checkEqual(await stack.sqlValue(`SELECT installments FROM orders WHERE id = '${rows[0][0]}'`), '3', 'three installments');
    // the token: never in clear on b4's side
    const sealed = await stack.sqlValue(`SELECT card_token FROM charges WHERE order_id = '${rows[0][0]}'`);
    check(sealed && sealed.startsWith('v1.') && !sealed.includes('tok_'), 'charge keeps the token encrypted');
    checkEqual(await stack.sqlValue("SELECT COUNT(*) FROM card_tokens WHERE used_at IS NOT NULL AND session_id IS NOT NULL"), '1', 'token claimed once, bound to the session');
    // the session learned the e-mail; the funnel events arrived
    checkEqual(await stack.sqlValue(`SELECT COUNT(*) FROM checkout_sessions WHERE email = '${email}'`), '1', 'session e-mail updated');
    const events = (await stack.sql(
      `SELECT DISTINCT e.event_name FROM checkout_events e JOIN checkout_sessions s ON s.id = e.session_id WHERE s.email = '${email}'`,
    )).map((r) => r[0]);
    for (const e of ['checkout_session_started', 'checkout_identification_filled', 'checkout_submit_clicked', 'checkout_conversion_success'])
      check(events.includes(e), `funnel event ${e} (got ${events.join(',')})`);
    await finish(page, 'card-approved');
  },

  async double_click_and_retry_make_one_order() {
    const page = await openPage();
    const email = 'double@example.com';
    await fillBuyer(page, { email, cpf: cpf(2) });
    await fillCard(page, '5555555555554444');
    // the first answer is lost on the way back (the order was made): the
    // buyer clicks again and gets the same order, not a second one
    let lost = 0;
    await page.route('**/checkout/v1/orders', async (route) => {
      if (lost === 0) {
        lost += 1;
        await route.fetch();
        await route.abort('connectionreset');
      } else {
        await route.continue();
      }
    });
    await page.getByRole('button', { name: 'Finalizar compra' }).dblclick();
    await page.getByText('Falha de conexão').waitFor({ timeout: 15000 });
    checkEqual((await ordersOf(email)).length, 1, 'the lost attempt made its order');
    await page.getByRole('button', { name: 'Finalizar compra' }).dblclick();
    await page.getByRole('heading', { name: 'Pagamento aprovado' }).waitFor({ timeout: 20000 });
    const rows = await ordersOf(email);
    checkEqual(rows.length, 1, 'double click and retry: one order');
    checkEqual(rows[0][1], 'paid', 'paid');
    checkEqual(await stack.sqlValue(`SELECT COUNT(*) FROM charges c JOIN orders o ON o.id = c.order_id JOIN customers u ON u.id = o.customer_id WHERE u.email = '${email}'`), '1', 'one charge');
    await finish(page, 'double-click');
  },

  async declined_card_then_another_card() {
    const page = await openPage();
    const email = 'declined@example.com';
    await fillBuyer(page, { email, cpf: cpf(3) });
    await fillCard(page, '4000 0000 0000 0002');
    await page.getByRole('button', { name: 'Finalizar compra' }).click();
    await page.getByText(/Pagamento recusado/).waitFor({ timeout: 20000 });
    checkEqual(await page.getByLabel('Nome completo').inputValue(), 'Maria Compradora', 'form kept');
    checkEqual(await page.getByLabel('E-mail').inputValue(), email, 'e-mail kept');
    await page.screenshot({ path: join(artifacts, 'checkout-declined.png'), fullPage: true });
    checkEqual((await ordersOf(email))[0][1], 'refused', 'declined order recorded as refused');
    // another card is allowed
    await page.getByLabel('Número do cartão').fill('4111111111111111');
    await page.getByLabel('CVV').fill('321');
    await page.getByRole('button', { name: 'Finalizar compra' }).click();
    await page.getByRole('heading', { name: 'Pagamento aprovado' }).waitFor({ timeout: 20000 });
    const statuses = (await ordersOf(email)).map((r) => r[1]).sort();
    checkEqual(statuses.join(','), 'paid,refused', 'second card paid');
    await finish(page, 'declined-then-approved');
  },

  async pix_paid_turns_page_to_approved() {
    const page = await openPage();
    const email = 'pix@example.com';
    await fillBuyer(page, { email, cpf: cpf(4) });
    await page.getByLabel('Pix').check();
    await page.getByRole('button', { name: 'Finalizar compra' }).click();
    const qr = page.getByRole('img', { name: /QR code/ });
    await qr.waitFor({ timeout: 20000 });
    const payload = text(await page.getByTestId('pix-payload').innerText());
    check(payload.startsWith('000201'), 'BR Code payload shown');
    check(/Tempo restante para pagar: \d{2}:\d{2}/.test(await page.getByTestId('pix-time-left').innerText()), 'time left shown');
    check(await page.getByRole('button', { name: 'Copiar código Pix' }).isVisible(), 'copy button');
    await page.screenshot({ path: join(artifacts, 'checkout-pix-waiting.png'), fullPage: true });
    const [order] = await ordersOf(email);
    const txid = await stack.sqlValue(`SELECT pix_txid FROM charges WHERE order_id = '${order[0]}'`);
    const paid = await stack.sandbox('POST', `/control/pix/${txid}/pay`);
    checkEqual(paid.status, 200, 'sandbox paid the Pix');
    await page.getByRole('heading', { name: 'Pagamento aprovado' }).waitFor({ timeout: 20000 });
    checkEqual((await ordersOf(email))[0][1], 'paid', 'order paid by the callback');
    await finish(page, 'pix-approved');
  },

  async boleto_shows_its_line() {
    const page = await openPage();
    const email = 'boleto@example.com';
    await fillBuyer(page, { email, cpf: cpf(5) });
    await page.getByLabel('Boleto').check();
    await page.getByRole('button', { name: 'Finalizar compra' }).click();
    await page.getByTestId('boleto-line').waitFor({ timeout: 20000 });
    const [order] = await ordersOf(email);
    const line = await stack.sqlValue(`SELECT boleto_line FROM charges WHERE order_id = '${order[0]}'`);
    checkEqual(text(await page.getByTestId('boleto-line').innerText()).replace(/\D/g, ''), line.replace(/\D/g, ''), 'digitable line shown');
    check(/Vencimento: \d{2}\/\d{2}\/\d{4}/.test(await page.locator('main').innerText()), 'due date shown');
    check(await page.getByRole('button', { name: 'Copiar linha digitável' }).isVisible(), 'copy button');
    await finish(page, 'boleto');
  },

  async invalid_cpf_caught_before_any_order() {
    const before = await stack.sqlValue('SELECT COUNT(*) FROM orders');
    const tokensBefore = await stack.sqlValue('SELECT COUNT(*) FROM card_tokens');
    const page = await openPage();
    await fillBuyer(page, { email: 'badcpf@example.com', cpf: '123.456.789-00' });
    const error = page.locator('#cpf-error');
    await error.waitFor();
    checkEqual(text(await error.innerText()), 'CPF inválido', 'CPF inválido beside the field');
    await fillCard(page, '4111111111111111');
    let ordersSent = 0;
    page.on('request', (r) => { if (/\/orders$|card-tokens/.test(r.url())) ordersSent += 1; });
    await page.getByRole('button', { name: 'Finalizar compra' }).click();
    await page.waitForTimeout(500);
    checkEqual(ordersSent, 0, 'no tokenization and no order request');
    checkEqual(await stack.sqlValue('SELECT COUNT(*) FROM orders'), before, 'no order');
    checkEqual(await stack.sqlValue('SELECT COUNT(*) FROM card_tokens'), tokensBefore, 'no token');
    await finish(page, 'invalid-cpf');
  },

  async coupon_and_bump_change_the_total() {
    const page = await openPage();
    // the total follows the cart (the installment table of the new amount comes from the API)
    const total = async (expected) => {
      let seen = '';
      for (let i = 0; i < 50; i++) {
        seen = text(await page.getByTestId('total').innerText());
        if (seen === expected) break;
        await page.waitForTimeout(100);
      }
      return seen;
    };
    checkEqual(await total('R$ 297,00'), 'R$ 297,00', 'starting total');
    await page.getByLabel(/E-book \(oferta especial\)/).check();
    checkEqual(await total('R$ 344,00'), 'R$ 344,00', 'the bump adds R$ 47,00');
    await page.getByLabel('Cupom de desconto').fill('BEMVINDO10');
    await page.getByRole('button', { name: 'Aplicar' }).click();
    await page.getByTestId('coupon-ok').waitFor();
    checkEqual(await total('R$ 314,30'), 'R$ 314,30', 'the coupon takes 10% of the main price');
    check(text(await page.getByTestId('coupon-ok').innerText()).includes('Novo total: R$ 314,30'), 'new total beside the coupon');
    const email = 'coupon@example.com';
    await fillBuyer(page, { email, cpf: cpf(6) });
    await page.getByLabel('Pix').check();
    await page.getByTestId('coupon-ok').waitFor();
    await page.getByRole('button', { name: 'Finalizar compra' }).click();
    await page.getByRole('img', { name: /QR code/ }).waitFor({ timeout: 20000 });
    checkEqual((await ordersOf(email))[0][2], '31430', 'order total priced by the server');
    await finish(page, 'coupon-bump');
  },

  async api_error_shown_beside_its_field() {
    // a coupon valid when applied and used up before the order: the API's
    // refusal (param "coupon") lands next to the coupon field, in Portuguese
    await stack.sql(`INSERT INTO coupons (id, product_id, code, percent_bps, max_uses, active)
      VALUES ('01900000-0000-7000-8000-00000000b401', '${PRODUCT_ID}', 'ULTIMA', 500, 1, 1)`);
    const page = await openPage();
    const email = 'coupon-gone@example.com';
    await fillBuyer(page, { email, cpf: cpf(8) });
    await page.getByLabel('Pix').check();
    await page.getByLabel('Cupom de desconto').fill('ULTIMA');
    await page.getByRole('button', { name: 'Aplicar' }).click();
    await page.getByTestId('coupon-ok').waitFor();
    await stack.sql("UPDATE coupons SET uses = max_uses WHERE code = 'ULTIMA'");
    await page.getByRole('button', { name: 'Finalizar compra' }).click();
    const error = page.locator('#coupon-error');
    await error.waitFor({ timeout: 15000 });
    checkEqual(text(await error.innerText()), 'Cupom esgotado.', 'the API error beside the coupon field');
    checkEqual((await ordersOf(email)).length, 0, 'no order');
    await finish(page, 'api-error');
  },

  async upsell_accepted() {
    // no ?ref= this time: the one kept from the first visit still counts
    const page = await openPage();
    const email = 'upsell@example.com';
    await fillBuyer(page, { email, cpf: cpf(7) });
    await fillCard(page, '4111111111111111');
    await page.getByRole('button', { name: 'Finalizar compra' }).click();
    await page.getByRole('heading', { name: 'Pagamento aprovado' }).waitFor({ timeout: 20000 });
    const [main] = await ordersOf(email);
    checkEqual(main[4], AFFILIATE_ID, 'the kept ref still credits the affiliate');
    await page.getByRole('button', { name: 'Sim, quero adicionar' }).click();
    await page.getByText('Compra adicional aprovada').waitFor({ timeout: 20000 });
    checkEqual(await stack.sqlValue(`SELECT status FROM orders WHERE parent_order_id = '${main[0]}'`), 'paid', 'upsell order paid with one click');
    await finish(page, 'upsell');
  },
};

await runTests('checkout_page', tests, {
  async setup() {
    stack = await startStack({ name: 'checkout_page' });
    browser = await launchChromium();
  },
  async teardown() {
    if (browser) await browser.close();
    if (stack) await stack.stop();
  },
});
