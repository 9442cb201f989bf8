// runner.mjs - a small test runner whose output tests/run.sh counts like
// cmocka's ("[  PASSED  ] N test(s)." / "[  FAILED  ] N test(s)").

export class CheckFailed extends Error {}

export function check(ok, what) {
  if (!ok) throw new CheckFailed(`check failed: ${what}`);
}

export function checkEqual(actual, expected, what) {
  if (actual !== expected)
    throw new CheckFailed(`check failed: ${what}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`);
}

/** Runs tests (name -> async fn) in order between setup and teardown;
 * exits 0 when all passed.  A setup failure fails every test. */
export async function runTests(suite, tests, { setup, teardown }) {
  const names = Object.keys(tests);
  const failed = [];
  console.log(`[==========] Running ${names.length} test(s) of ${suite}.`);
  let ready = true;
  try {
    await setup();
  } catch (err) {
    ready = false;
    console.log(`[  ERROR   ] setup: ${err.stack || err}`);
  }
  for (const name of names) {
    console.log(`[ RUN      ] ${name}`);
    if (!ready) {
      failed.push(name);
      console.log(`[  FAILED  ] ${name}`);
      continue;
    }
    const t0 = Date.now();
    try {
      await tests[name]();
      console.log(`[       OK ] ${name} (${Date.now() - t0} ms)`);
    } catch (err) {
      failed.push(name);
      console.log(`[   LINE   ] ${err instanceof CheckFailed ? err.message : err.stack || err}`);
      console.log(`[  FAILED  ] ${name}`);
    }
  }
  try {
    await teardown();
  } catch (err) {
    console.log(`[  ERROR   ] teardown: ${err.stack || err}`);
  }
  console.log(`[==========] ${names.length} test(s) run.`);
  console.log(`[  PASSED  ] ${names.length - failed.length} test(s).`);
  if (failed.length) {
    console.log(`[  FAILED  ] ${failed.length} test(s), listed below:`);
    for (const n of failed) console.log(`[  FAILED  ] ${n}`);
  }
  process.exit(failed.length ? 1 : 0);
}
