// measure.mjs - the checkout page's weight and speed in Chromium: the
// JavaScript bytes a first load of /pay/DEMOOFFER1 transfers (compressed,
// as the gateway serves them) and the time from navigation start to a
// usable form (the offer loaded, the card fields and "Finalizar compra"
// on screen).  Each run uses a fresh browser profile (cold cache).
// Called by tests/bench/bench_checkout_page.sh (make bench), inside a
// MariaDB environment like the browser tests (B4_TEST_*).
import { launchChromium, startStack } from './stack.mjs';

const runs = Number(process.env.MEASURE_RUNS || 7);
const stack = await startStack({ name: 'measure' });
const results = [];
try {
  for (let i = 0; i < runs; i++) {
    const browser = await launchChromium();
    const page = await browser.context.newPage();
    const cdp = await browser.context.newCDPSession(page);
    await cdp.send('Network.enable');
    const scripts = new Map();
    let encodings = new Set();
    cdp.on('Network.responseReceived', (e) => {
      if (e.type === 'Script') {
        scripts.set(e.requestId, { url: e.response.url, bytes: 0 });
        encodings.add(e.response.headers['content-encoding'] || e.response.headers['Content-Encoding'] || 'identity');
      }
    });
    cdp.on('Network.loadingFinished', (e) => {
      const s = scripts.get(e.requestId);
      if (s) s.bytes = e.encodedDataLength;
    });
    // the moment the form becomes usable, seen from inside the page
    await page.addInitScript(() => {
      const mark = () => {
        const button = [...document.querySelectorAll('button')].find((b) => b.textContent === 'Finalizar compra');
        if (button && document.getElementById('card_number') && !window.__usableAt) {
          window.__usableAt = performance.now();
          return true;
        }
        return false;
      };
      new MutationObserver((_, obs) => mark() && obs.disconnect()).observe(document, { childList: true, subtree: true });
    });
    await page.goto(`${stack.gateway}/pay/DEMOOFFER1`, { waitUntil: 'load' });
    await page.waitForFunction(() => window.__usableAt, null, { timeout: 20000 });
    const usableMs = await page.evaluate(() => window.__usableAt);
    // scripts loaded after the form is usable (the Pix QR chunk) are not part of the first load
    await page.waitForTimeout(200);
    const jsBytes = [...scripts.values()].reduce((sum, s) => sum + s.bytes, 0);
    results.push({ usableMs, jsBytes, files: scripts.size, encodings: [...encodings].join(',') });
    await browser.close();
  }
} finally {
  await stack.stop();
}
const sorted = (xs) => [...xs].sort((a, b) => a - b);
const median = (xs) => sorted(xs)[Math.floor(xs.length / 2)];
const usable = results.map((r) => r.usableMs);
console.log(`runs: ${runs} (fresh profile each)`);
console.log(`first-load JS: ${median(results.map((r) => r.jsBytes))} bytes transferred in ${results[0].files} files (content-encoding: ${results[0].encodings})`);
console.log(`time to usable form: median ${median(usable).toFixed(0)} ms, min ${sorted(usable)[0].toFixed(0)} ms, max ${sorted(usable)[usable.length - 1].toFixed(0)} ms`);
