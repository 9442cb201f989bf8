// stack.mjs - the real b4you stack for browser tests, on ephemeral ports.
//
// tests/run.sh starts one private MariaDB and exports B4_TEST_DB_PORT,
// B4_TEST_DB_SOCKET, B4_TEST_VAR, B4_TEST_BUILD and B4_TEST_TOP (the same
// contract as tests/integration/harness).  startStack() makes its own
// database (migrations + demo seed), starts b4-acquirer-sandbox,
// b4-checkout, b4-api, b4-backoffice and b4-gateway with the static routes
// of the web apps, and returns the gateway URL, the sandbox URL and helpers:
//
//   const stack = await startStack({ name: 'checkout' });
//   stack.gateway          'http://127.0.0.1:PORT' (pages and APIs)
//   await stack.sql('SELECT COUNT(*) FROM orders')  -> [['3']] (rows of text)
//   await stack.sqlValue('SELECT ...')             -> first cell or null
//   await stack.api('POST', '/api/v1/auth/login', body, headers) -> {status, json, headers}
//   await stack.sandbox('POST', '/control/pix/TXID/pay')  (acquirer secret added)
//   await stack.stop()
//
// Reused by other front-ends' browser tests (e.g. the panel): pass extra
// static routes in options.staticRoutes ([{name, prefix, root}]), and
// options.worker to start b4-worker as well.
import { spawn, execFile } from 'node:child_process';
import { createServer } from 'node:net';
import { mkdirSync, openSync, readFileSync, writeFileSync, existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';

export const ACQUIRER_SECRET = 'browser-test-acquirer-secret-0123456789abcdef';
export const PUBLIC_KEY = 'pk_test_browser_0123456789';
const JWT_SECRET = 'test-jwt-secret-0123456789abcdef0123456789abcdef';
const FIELD_KEYS = 't1:00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff';
const BLIND_INDEX_KEY = 'ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100';

function env(name) {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set: run through tests/run.sh`);
  return v;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** A port nobody listens on right now (for the gateway, whose address the
 * sandbox's CORS list and checkout's callback URL need up front). */
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

function run(cmd, args, extraEnv = {}) {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { env: { ...process.env, ...extraEnv }, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${cmd} ${args.join(' ')}: ${stderr || err.message}`));
      else resolve(stdout);
    });
  });
}

export async function startStack(options = {}) {
  const top = env('B4_TEST_TOP');
  const build = env('B4_TEST_BUILD');
  const varDir = env('B4_TEST_VAR');
  const dbSocket = env('B4_TEST_DB_SOCKET');
  const dbPort = env('B4_TEST_DB_PORT');
  const name = options.name || 'browser';
  const dbName = `${name}_${process.pid}`;
  const logs = join(varDir, 'logs');
  const objects = join(varDir, `objects-${name}-${process.pid}`);
  mkdirSync(logs, { recursive: true });
  mkdirSync(objects, { recursive: true });
  const procs = [];
  let counter = 0;

  const dbEnv = {
    B4_DB_HOST: '127.0.0.1', B4_DB_PORT: dbPort, B4_DB_SOCKET: dbSocket,
    B4_DB_USER: 'b4', B4_DB_PASSWORD: 'b4dev', B4_DB_NAME: dbName,
  };
  await run(join(build, 'bin/b4-migrate'), [
    `--migrations-dir=${join(top, 'db/migrations')}`, '--create-database', `--seed=${join(top, 'db/seed/demo.sql')}`,
  ], dbEnv);

  async function start(binary, extra, useDb = true) {
    counter += 1;
    const portFile = join(varDir, `${binary}-${process.pid}-b${counter}.port`);
    const logPath = join(logs, `${binary}-${process.pid}-b${counter}.log`);
    rmSync(portFile, { force: true });
    const out = openSync(logPath, 'a');
    const child = spawn(join(build, 'bin', binary), [], {
      env: {
        PATH: process.env.PATH, B4_ENV: 'test', B4_PORT: '0', B4_PORT_FILE: portFile,
        B4_LOG_LEVEL: 'info', B4_WORKERS: '4', B4_JWT_SECRET: JWT_SECRET,
        B4_FIELD_KEYS: FIELD_KEYS, B4_BLIND_INDEX_KEY: BLIND_INDEX_KEY, B4_STORAGE_DIR: objects,
        ...(useDb ? dbEnv : { B4_NO_DB: 'true' }),
        ...extra,
      },
      stdio: ['ignore', out, out],
    });
    procs.push(child);
    for (let i = 0; i < 500; i++) {
      if (existsSync(portFile)) {
        const m = /http=(\d+)/.exec(readFileSync(portFile, 'utf8'));
        if (m) return Number(m[1]);
      }
      if (child.exitCode !== null) break;
      await sleep(20);
    }
    throw new Error(`${binary} did not start; see ${logPath}`);
  }

  const stack = { procs, dbName, objects };
  try {
    const gwPort = await freePort();
    const gateway = `http://127.0.0.1:${gwPort}`;
    const sandboxPort = await start('b4-acquirer-sandbox', {
      B4_ACQUIRER_SECRET: ACQUIRER_SECRET, B4_SANDBOX_PUBLIC_KEY: PUBLIC_KEY,
      B4_SANDBOX_CORS_ORIGINS: `${gateway},http://localhost:${gwPort}`, B4_SANDBOX_PUBLIC_RATE: '1000',
    }, false);
    const sandboxUrl = `http://127.0.0.1:${sandboxPort}`;
    const checkoutPort = await start('b4-checkout', {
      B4_ACQUIRER_SECRET: ACQUIRER_SECRET, B4_ACQUIRERS: `sandbox=${sandboxUrl}`,
      B4_CHECKOUT_CALLBACK_URL: `${gateway}/checkout`,
      B4_CHECKOUT_TOKENIZE_URL: `${sandboxUrl}/v1/public/card-tokens`, B4_ACQUIRER_PUBLIC_KEY: PUBLIC_KEY,
      ...(options.checkoutEnv || {}),
    });
    const apiPort = await start('b4-api', {});
    const backofficePort = await start('b4-backoffice', {});
    // options.worker: b4-worker too (webhook deliveries, refunds, exports),
    // polling and retrying fast
    if (options.worker)
      await start('b4-worker', {
        B4_ACQUIRER_SECRET: ACQUIRER_SECRET, B4_ACQUIRERS: `sandbox=${sandboxUrl}`,
        B4_WORKER_POLL: '100ms', B4_WORKER_BACKOFF_SCALE: '0.01', B4_WEBHOOK_BACKOFF_SCALE: '0.01',
        ...(options.workerEnv || {}),
      });
    const routes = [
      { name: 'api', prefix: '/api', strip_prefix: true, upstream: 'api' },
      { name: 'backoffice', prefix: '/backoffice', strip_prefix: true, upstream: 'backoffice' },
      { name: 'checkout', prefix: '/checkout', strip_prefix: true, upstream: 'checkout' },
      {
        name: 'pay-page', prefix: '/pay', strip_prefix: true,
        static: { root: join(top, 'web/checkout/out'), fallback: 'index.html', immutable: ['/_next/static/'] },
      },
      ...(options.staticRoutes || []).map((r) => ({
        name: r.name, prefix: r.prefix, strip_prefix: true,
        static: { root: r.root, fallback: 'index.html', immutable: r.immutable || ['/assets/'] },
      })),
    ];
    const cfg = {
      listeners: [{ host: '127.0.0.1', port: gwPort }],
      admin: { host: '127.0.0.1', port: 0 },
      routes,
      upstreams: {
        api: { instances: [`127.0.0.1:${apiPort}`] },
        backoffice: { instances: [`127.0.0.1:${backofficePort}`] },
        checkout: { instances: [`127.0.0.1:${checkoutPort}`] },
      },
      rate_limits: [{ name: 'default', prefix: '/', rate_per_sec: 100000, burst: 100000 }],
      access_log: false,
    };
    const cfgPath = join(varDir, `gateway-${name}-${process.pid}.json`);
    writeFileSync(cfgPath, JSON.stringify(cfg));
    await start('b4-gateway', { B4_GATEWAY_CONFIG: cfgPath, B4_GATEWAY_PORT: String(gwPort), B4_GATEWAY_ADMIN_PORT: '0' }, false);

    Object.assign(stack, { gateway, sandboxUrl, checkoutPort, apiPort });
  } catch (err) {
    for (const p of procs) p.kill('SIGKILL');
    throw err;
  }

  /** Rows of a query as root in this stack's database, each a list of text cells. */
  stack.sql = async (query) => {
    const out = await run('mariadb', ['--socket', dbSocket, '-uroot', '-N', '-B', dbName, '-e', query]);
    return out.split('\n').filter((l) => l.length).map((l) => l.split('\t'));
  };
  stack.sqlValue = async (query) => {
    const rows = await stack.sql(query);
    return rows.length ? rows[0][0] : null;
  };
  async function http(base, method, path, body, headers = {}) {
    const isBuffer = body instanceof Uint8Array;
    const res = await fetch(`${base}${path}`, {
      method,
      headers: { ...(body !== undefined && !isBuffer ? { 'Content-Type': 'application/json' } : {}), ...headers },
      body: body === undefined ? undefined : isBuffer ? body : JSON.stringify(body),
    });
    const text = await res.text();
    let json = null;
    try { json = text ? JSON.parse(text) : null; } catch { json = null; }
    return { status: res.status, json, text, headers: res.headers };
  }
  stack.api = (method, path, body, headers) => http(stack.gateway, method, path, body, headers);
  stack.sandbox = (method, path, body) =>
    http(stack.sandboxUrl, method, path, body === undefined ? {} : body, { Authorization: `Bearer ${ACQUIRER_SECRET}` });
  /** A member's bearer header, by logging in through the gateway. */
  stack.login = async (email, password) => {
    const r = await stack.api('POST', '/api/v1/auth/login', { email, password });
    if (r.status !== 200) throw new Error(`login ${email}: ${r.status} ${r.text}`);
    return { Authorization: `Bearer ${r.json.token}` };
  };
  stack.stop = async () => {
    for (const p of procs) if (p.exitCode === null) p.kill('SIGTERM');
    await Promise.all(procs.map((p) => (p.exitCode !== null ? null : new Promise((r) => {
      const t = setTimeout(() => { p.kill('SIGKILL'); r(); }, 10000);
      p.on('exit', () => { clearTimeout(t); r(); });
    }))));
  };
  return stack;
}

/** Debian's Chromium through playwright-core (never a browser download). */
export async function launchChromium() {
  const { chromium } = await import('playwright-core');
  const { mkdtempSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const userDataDir = mkdtempSync(join(process.env.B4_TEST_VAR || tmpdir(), 'chromium-'));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: process.env.B4_CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
    viewport: { width: 1200, height: 900 },
    locale: 'pt-BR',
  });
  return { context, userDataDir, close: async () => { await context.close(); rmSync(userDataDir, { recursive: true, force: true }); } };
}
