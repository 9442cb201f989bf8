// panel.test.mjs - the producer panel (/painel/) and the back-office
// (/admin/) in headless Chromium, through b4-gateway, against the real
// stack with b4-worker (stack.mjs).  The story of issue #13: a producer
// signs up, creates a product and an offer with the forms, buys it on its
// checkout link with a test card, sees the sale and the webhook delivery;
// an admin finds the order by the buyer's e-mail, refunds part of it and
// sees the refund settle; the charts show those sales; a blocked member is
// logged out on the next request.  Screenshots in $B4_TEST_BUILD/artifacts/.
import { createHmac } from 'node:crypto';
import { mkdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { launchChromium, startStack } from './stack.mjs';
import { check, checkEqual, runTests } from './runner.mjs';

const top = process.env.B4_TEST_TOP || join(import.meta.dirname, '../..');
const artifacts = join(process.env.B4_TEST_BUILD || 'build', 'artifacts');
mkdirSync(artifacts, { recursive: true });

const PNG = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAIAAAACCAIAAAD91JpzAAAAFklEQVR4nGO4Iycnt8CGQc7mxP///wEhkgYyGr0TLgAAAABJRU5ErkJggg==',
  'base64',
);
const PRODUCER = { name: 'Paula Produtora', email: `paula.${process.pid}@example.com`, password: 'senha-da-paula-123' };
const BUYER = { email: `bruno.${process.pid}@example.com`, cpf: '52998224725' };

let stack;
let producer; // a browser of the producer
let admin; // another browser, the admin's
let receiver; // the producer's webhook endpoint
const received = [];
const state = {};

function startReceiver() {
  return new Promise((resolve) => {
    const srv = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        received.push({ headers: req.headers, body });
        res.writeHead(200).end('ok');
      });
    });
    srv.listen(0, '127.0.0.1', () => resolve(srv));
  });
}

async function newPage(browser) {
  const page = await browser.context.newPage();
  page.problems = [];
  page.on('pageerror', (err) => page.problems.push(`uncaught: ${err.message}`));
  page.on('console', (msg) => {
    if (msg.type() === 'error' && !/Failed to load resource/.test(msg.text())) page.problems.push(`console: ${msg.text()}`);
  });
  return page;
}

async function shot(page, name) {
  await page.screenshot({ path: join(artifacts, `panel-${name}.png`), fullPage: true });
}

async function until(what, fn, timeoutMs = 20000) {
  const end = Date.now() + timeoutMs;
  for (;;) {
    if (await fn()) return;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** innerText with every run of white space (NBSP of currencies too) one space. */
const txt = async (locator) => (await locator.innerText()).replace(/\s+/g, ' ');

const nav = (page, name) => page.getByRole('navigation', { name: 'Principal' }).getByRole('link', { name, exact: true }).click();

const tests = {
  async producer_signs_up_creates_product_and_offer() {
    const page = await newPage(producer);
    state.page = page;
    await page.goto(`${stack.gateway}/painel/`);
    await page.getByRole('button', { name: 'Entrar' }).waitFor();
    check(await page.getByLabel('E-mail').isVisible(), 'login has "E-mail"');
    check(await page.getByLabel('Senha').isVisible(), 'login has "Senha"');
    await shot(page, 'login');
    await page.getByRole('link', { name: 'Criar conta' }).click();
    // a short password is refused next to its field
    await page.getByLabel('Nome completo').fill(PRODUCER.name);
    await page.getByLabel('E-mail').fill(PRODUCER.email);
    await page.getByLabel('Senha').fill(PRODUCER.password);
    await page.getByRole('button', { name: 'Criar conta' }).click();
    await page.getByRole('heading', { name: 'Início' }).waitFor({ timeout: 15000 });
    // the refresh token is an HttpOnly cookie scoped to the auth routes
    const cookies = await producer.context.cookies(`${stack.gateway}/api/v1/auth/refresh`);
    const session = cookies.find((c) => c.name === 'b4_refresh');
    check(session && session.httpOnly && session.sameSite === 'Strict' && session.path === '/api/v1/auth', `refresh cookie HttpOnly, Strict, auth path (${JSON.stringify(cookies)})`);
    check(!(await page.evaluate(() => document.cookie)).includes('b4_refresh'), 'page scripts cannot read the refresh token');
    // a reload keeps the session (refresh), with no token in any URL
    await page.reload();
    await page.getByRole('heading', { name: 'Início' }).waitFor({ timeout: 15000 });
    check(!page.url().includes('token'), 'no token in the URL');

    await nav(page, 'Produtos');
    await page.getByLabel('Nome do produto').fill('Curso de Testes no Navegador');
    await page.getByLabel('Tipo').selectOption('course');
    await page.getByLabel('Garantia (dias)').selectOption('15');
    await page.getByRole('button', { name: 'Criar produto' }).click();
    await page.getByRole('heading', { name: 'Curso de Testes no Navegador' }).waitFor();
    state.productId = page.url().split('/').pop();

    // the image: a PNG through the upload form
    await page.getByLabel(/Imagem do produto/).setInputFiles({ name: 'capa.png', mimeType: 'image/png', buffer: PNG });
    await page.getByRole('button', { name: 'Enviar imagem' }).click();
    await page.getByText('Imagem enviada.').waitFor();

    // a price below the minimum: the server's error sits next to the price
    const form = page.locator('form', { has: page.getByRole('heading', { name: 'Nova oferta' }) });
    await form.getByLabel('Nome da oferta').fill('Oferta completa');
    await form.getByLabel('Preço (R$)').fill('1,00');
    await form.getByRole('button', { name: 'Criar oferta' }).click();
    const priceError = form.locator('.field-error');
    await priceError.waitFor();
    const describedBy = await form.getByLabel('Preço (R$)').getAttribute('aria-describedby');
    check(describedBy && (await page.locator(`[id="${describedBy}"]`).isVisible()), 'the price error is tied to the price field');
    await shot(page, 'offer-error');
    await form.getByLabel('Preço (R$)').fill('97,00');
    await form.getByLabel('Parcelas (máximo)').selectOption('12');
    await form.getByRole('button', { name: 'Criar oferta' }).click();
    const link = page.locator('a.checkout-link').first();
    await link.waitFor();
    state.checkoutUrl = await link.getAttribute('href');
    check(/^\/pay\/[A-Za-z0-9]{10}$/.test(state.checkoutUrl), `checkout link /pay/<code> (${state.checkoutUrl})`);
    checkEqual(await stack.sqlValue(`SELECT price_cents FROM offers WHERE product_id = '${state.productId}'`), '9700', 'price in cents');
    await shot(page, 'product');

    // a webhook endpoint: the secret is shown once
    await nav(page, 'Webhooks');
    await page.getByLabel('URL de destino').fill(`http://127.0.0.1:${receiver.address().port}/hook`);
    await page.getByRole('button', { name: 'Criar webhook' }).click();
    state.secret = (await page.locator('code.secret').innerText()).trim();
    check(state.secret.length >= 32, 'webhook secret shown');
    checkEqual(page.problems.join('\n'), '', 'no script error');
  },

  async buyer_pays_with_a_test_card_and_the_producer_sees_it() {
    check(state.checkoutUrl, 'the offer exists');
    const buyer = await newPage(producer);
    await buyer.goto(`${stack.gateway}${state.checkoutUrl}`);
    await buyer.getByRole('button', { name: 'Finalizar compra' }).waitFor({ timeout: 15000 });
    await buyer.getByLabel('Nome completo').fill('Bruno Comprador');
    await buyer.getByLabel('E-mail').fill(BUYER.email);
    await buyer.getByLabel('E-mail').blur();
    await buyer.getByLabel('CPF').fill(BUYER.cpf);
    await buyer.getByLabel('Celular').fill('11987654321');
    await buyer.getByLabel('Número do cartão').fill('4111 1111 1111 1111');
    await buyer.getByLabel('Nome impresso no cartão').fill('BRUNO COMPRADOR');
    await buyer.getByLabel('Validade').fill('1230');
    await buyer.getByLabel('CVV').fill('123');
    await buyer.getByRole('button', { name: 'Finalizar compra' }).click();
    await buyer.getByRole('heading', { name: 'Pagamento aprovado' }).waitFor({ timeout: 20000 });
    await shot(buyer, 'checkout-paid');
    await buyer.close();

    const page = state.page;
    await nav(page, 'Vendas');
    const row = page.locator('tr.sale-row', { hasText: BUYER.email });
    await row.waitFor({ timeout: 15000 });
    check((await txt(row)).includes('Paga'), 'the sale is paid');
    check((await txt(row)).includes('R$ 97,00'), 'the sale total');
    await shot(page, 'sales');
    // filters run on the server
    await page.getByLabel('Situação').selectOption('refunded');
    await page.getByRole('button', { name: 'Filtrar' }).click();
    await page.getByText('Nenhuma venda encontrada.').waitFor();
    await page.getByLabel('Situação').selectOption('');
    await page.getByLabel('Forma de pagamento').selectOption('card');
    await page.getByRole('button', { name: 'Filtrar' }).click();
    await row.waitFor();
    // the CSV export, made by b4-worker
    const [download] = await Promise.all([page.waitForEvent('download', { timeout: 30000 }), page.getByRole('button', { name: 'Exportar CSV' }).click()]);
    const csv = readFileSync(await download.path(), 'utf8');
    check(csv.startsWith('order_id,') && csv.includes(BUYER.email) && csv.includes(',9700,'), 'the CSV has the sale');
    // the detail with its splits
    await row.getByRole('link').click();
    await page.getByRole('heading', { name: 'Divisão' }).waitFor();
    const splits = await page.locator('table').last().innerText();
    check(splits.includes('Plataforma') && splits.includes('Produtor'), 'splits shown');
    state.orderId = page.url().split('/').pop();
    await shot(page, 'sale');

    // the webhook delivery: in the log and at the receiver, signed
    await nav(page, 'Webhooks');
    await page.getByRole('button', { name: 'Ver entregas' }).click();
    await until('the delivery to succeed', async () => {
      await page.getByRole('button', { name: 'Atualizar' }).click();
      const rows = page.locator('tr.delivery-row', { hasText: 'approved-payment' });
      return (await rows.count()) > 0 && (await rows.first().innerText()).includes('Entregue');
    });
    await shot(page, 'webhook-delivery');
    const hit = received.find((r) => r.body.includes('approved-payment'));
    check(hit, 'the receiver got approved-payment');
    const [, t, v1] = /t=(\d+),v1=([0-9a-f]+)/.exec(hit.headers['b4-signature']) || [];
    checkEqual(createHmac('sha256', state.secret).update(`${t}.${hit.body}`).digest('hex'), v1, 'signed with the secret shown once');
    checkEqual(page.problems.join('\n'), '', 'no script error');
  },

  async charts_render_with_those_sales() {
    const page = state.page;
    await nav(page, 'Início');
    await page.locator('.kpi-paid').waitFor();
    checkEqual(await page.locator('.kpi-paid').innerText(), '1', 'one paid order in the period');
    check((await page.locator('.kpi-gross').innerText()).includes('97,00'), 'revenue R$ 97,00');
    checkEqual(await page.locator('figure.chart canvas').count(), 3, 'three charts');
    // chart.js drew something on the revenue canvas
    const drawn = await page.locator('figure.chart canvas').first().evaluate((c) => {
      const data = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
      for (let i = 3; i < data.length; i += 4) if (data[i] !== 0) return true;
      return false;
    });
    check(drawn, 'the revenue chart has pixels');
    const funnel = await page.locator('figure.chart', { hasText: 'Funil do checkout' }).innerText();
    check(/Pedidos pagos\s*1/.test(funnel), 'funnel ends in one paid order');
    check(/Checkouts iniciados\s*[1-9]/.test(funnel), 'the checkout session counted');
    await shot(page, 'inicio');
  },

  async producer_pages_coupons_coproducers_affiliates() {
    const page = state.page;
    await nav(page, 'Cupons');
    await page.getByLabel('Produto').selectOption({ label: 'Curso de Testes no Navegador' });
    await page.getByLabel('Código').fill('BEMVINDO10');
    await page.getByLabel('Desconto (%)').fill('10');
    await page.getByRole('button', { name: 'Criar cupom' }).click();
    await page.locator('tbody tr', { hasText: 'BEMVINDO10' }).waitFor();
    // the same code again: the server's conflict shows next to "Código"
    await page.getByLabel('Código').fill('BEMVINDO10');
    await page.getByLabel('Desconto (%)').fill('5');
    await page.getByRole('button', { name: 'Criar cupom' }).click();
    await page.getByText('Este código já existe neste produto.').waitFor();
    await shot(page, 'coupons');

    await nav(page, 'Coprodutores');
    await page.getByLabel('E-mail do coprodutor').fill('affiliate@b4you.dev');
    await page.getByLabel('Participação (%)').fill('10');
    await page.getByRole('button', { name: 'Adicionar' }).click();
    await page.locator('tbody tr', { hasText: 'affiliate@b4you.dev' }).waitFor();
    checkEqual(await stack.sqlValue(`SELECT share_bps FROM coproducers WHERE product_id = '${state.productId}'`), '1000', '10% is 1000 bps');
    await shot(page, 'coproducers');

    await nav(page, 'Afiliados');
    await page.getByRole('heading', { name: 'Mercado de afiliação' }).waitFor();
    // the demo product with an open program is in the marketplace
    const offer = page.locator('tbody tr', { has: page.getByRole('button', { name: 'Quero me afiliar' }) }).first();
    await offer.waitFor();
    await offer.getByRole('button', { name: 'Quero me afiliar' }).click();
    await page.getByRole('button', { name: 'Pedido enviado' }).first().waitFor();
    // the product's producer approves; the affiliate gets their links
    const [[affId, ownerEmail]] = await stack.sql(
      `SELECT a.id, u.email FROM affiliations a JOIN products p ON p.id = a.product_id JOIN users u ON u.id = p.producer_id
       JOIN users me ON me.id = a.affiliate_id WHERE me.email = '${PRODUCER.email}'`,
    );
    checkEqual(ownerEmail, 'producer@b4you.dev', 'a demo product');
    const owner = await stack.login('producer@b4you.dev', 'producer-demo-123');
    checkEqual((await stack.api('POST', `/api/v1/affiliations/${affId}/approve`, {}, owner)).status, 200, 'approved');
    await nav(page, 'Início');
    await nav(page, 'Afiliados');
    await page.getByRole('button', { name: 'Ver links' }).click();
    const link = page.locator('.affiliate-links code').first();
    await link.waitFor();
    check(/\/pay\/[A-Za-z0-9]{10}\?ref=[A-Za-z0-9]+$/.test(await link.innerText()), 'a checkout link with the ref');
    await shot(page, 'affiliates');
    checkEqual(page.problems.join('\n'), '', 'no script error');
  },

  async admin_finds_the_order_by_email_and_refunds_part() {
    check(state.orderId, 'the order exists');
    const page = await newPage(admin);
    state.adminPage = page;
    await page.goto(`${stack.gateway}/admin/`);
    await page.getByLabel('E-mail').fill('admin@b4you.dev');
    await page.getByLabel('Senha').fill('admin-demo-12345');
    await page.getByRole('button', { name: 'Entrar' }).click();
    await page.getByRole('heading', { name: 'Pedidos' }).waitFor({ timeout: 15000 });
    await page.getByLabel('E-mail do comprador').fill(BUYER.email);
    await page.getByRole('button', { name: 'Buscar' }).click();
    const link = page.getByRole('link', { name: `${state.orderId.slice(0, 8)}…` });
    await link.waitFor();
    checkEqual(await page.locator('tbody tr').count(), 1, 'exactly the buyer\'s order');
    await shot(page, 'admin-orders');
    await link.click();
    await page.getByRole('heading', { name: `Pedido ${state.orderId}` }).waitFor();
    // an amount above the order's: refused next to the field
    await page.getByLabel(/Valor a reembolsar/).fill('500,00');
    await page.getByLabel('Motivo').fill('Cliente pediu parte do valor');
    await page.getByRole('button', { name: 'Reembolsar' }).click();
    await page.locator('.field-error').first().waitFor();
    await page.getByLabel(/Valor a reembolsar/).fill('10,00');
    await page.getByRole('button', { name: 'Reembolsar' }).click();
    await page.locator('li.refund').first().waitFor();
    await until('the refund to settle', async () => {
      await page.getByRole('button', { name: 'Atualizar' }).click();
      await page.waitForTimeout(200);
      return (await page.locator('li.refund').first().innerText()).includes('Concluído');
    }, 30000);
    check((await txt(page.locator('li.refund').first())).includes('R$ 10,00'), 'R$ 10,00 refunded');
    checkEqual(await stack.sqlValue(`SELECT CONCAT(COUNT(*), ':', SUM(amount_cents)) FROM refunds WHERE order_id = '${state.orderId}' AND status = 'succeeded'`), '1:1000', 'one partial refund settled');
    check(Number(await stack.sqlValue("SELECT COUNT(*) FROM idempotency_keys WHERE scope = 'backoffice_refunds'")) >= 1, 'the refund carried an Idempotency-Key');
    await shot(page, 'admin-refund');
    checkEqual(page.problems.join('\n'), '', 'no script error');
  },

  async admin_pages_open_and_act() {
    const page = state.adminPage;
    check(page, 'the admin is logged in');
    const headings = {
      'Usuários': 'Usuários',
      'Produtos': 'Produtos',
      'Afiliações': 'Afiliações',
      'Jobs mortos': 'Jobs mortos',
      'Entregas com falha': 'Entregas de webhook com falha',
      'Adquirentes': 'Prioridade dos adquirentes',
      'Auditoria': 'Auditoria',
      'Análises': 'Análises da plataforma',
    };
    for (const [link, heading] of Object.entries(headings)) {
      await nav(page, link);
      await page.getByRole('heading', { name: heading, exact: true }).waitFor();
    }
    // the analytics charts drew the sales of the day
    await nav(page, 'Análises');
    await page.locator('figure.chart canvas').first().waitFor();
    checkEqual(await page.locator('figure.chart canvas').count(), 2, 'two charts');
    await shot(page, 'admin-analytics');
    // the audit log lists the refund
    await nav(page, 'Auditoria');
    await page.getByLabel('ID do alvo').fill(state.orderId);
    await page.getByRole('button', { name: 'Filtrar' }).click();
    await page.locator('tbody tr', { hasText: 'order.refund_requested' }).waitFor();
    // a CSV report, made by b4-worker, downloaded
    await nav(page, 'Relatórios');
    await page.getByRole('button', { name: 'Gerar relatório CSV' }).click();
    const button = page.getByRole('button', { name: 'Baixar CSV' });
    await button.waitFor({ timeout: 30000 });
    const [download] = await Promise.all([page.waitForEvent('download'), button.click()]);
    check(readFileSync(await download.path(), 'utf8').includes(BUYER.email), 'the report has the sale');
    await shot(page, 'admin-reports');
    checkEqual(page.problems.join('\n'), '', 'no script error');
  },

  async blocked_member_is_logged_out_on_the_next_request() {
    const page = state.adminPage;
    await nav(page, 'Usuários');
    await page.getByLabel('E-mail').fill(PRODUCER.email);
    await page.getByRole('button', { name: 'Buscar' }).click();
    const row = page.locator('tbody tr', { hasText: PRODUCER.email });
    await row.getByRole('button', { name: 'Bloquear' }).click();
    await row.locator('.user-status', { hasText: 'Bloqueado' }).waitFor();
    await shot(page, 'admin-blocked');
    // the producer's next request ends the session
    const producerPage = state.page;
    await nav(producerPage, 'Vendas');
    await producerPage.getByRole('button', { name: 'Entrar' }).waitFor({ timeout: 15000 });
    check(await producerPage.getByText('Sua sessão terminou').isVisible(), 'told the session ended');
    checkEqual(await stack.sqlValue(`SELECT COUNT(*) FROM refresh_tokens r JOIN users u ON u.id = r.user_id WHERE u.email = '${PRODUCER.email}' AND r.status <> 'revoked'`), '0', 'every session revoked');
    await shot(producerPage, 'blocked-logged-out');
  },

  async logout_ends_the_session() {
    const page = state.adminPage;
    await page.getByRole('button', { name: 'Sair' }).click();
    await page.getByRole('button', { name: 'Entrar' }).waitFor();
    checkEqual(await stack.sqlValue("SELECT COUNT(*) FROM refresh_tokens r JOIN users u ON u.id = r.user_id WHERE u.email = 'admin@b4you.dev' AND r.status = 'active'"), '0', 'the admin session revoked');
    // a reload finds no session to restore
    await page.reload();
    await page.getByRole('button', { name: 'Entrar' }).waitFor();
    check(!(await page.getByText('Sua sessão terminou').isVisible()), 'a plain logout is not an ended session');
  },
};

await runTests('panel', tests, {
  async setup() {
    receiver = await startReceiver();
    const dist = join(top, 'web/panel/dist');
    stack = await startStack({
      name: 'panel',
      worker: true,
      staticRoutes: [
        { name: 'painel', prefix: '/painel', root: dist },
        { name: 'admin', prefix: '/admin', root: dist },
      ],
    });
    producer = await launchChromium();
    admin = await launchChromium();
  },
  async teardown() {
    if (producer) await producer.close();
    if (admin) await admin.close();
    if (stack) await stack.stop();
    if (receiver) receiver.close();
  },
});
