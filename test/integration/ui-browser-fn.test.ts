// The console's function page and the list's liveness, in headless chromium against the real
// stack in a sandbox (test/support/browser.ts): calls made from outside show up in the list's
// figures, the function page shows its settings, its charts and its journal lines as they come;
// and a console left open in a hidden tab lets the whole stack go idle, and wakes it when shown.
import t, { type Test } from 'tap';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { startSandbox, setupConsole, request, waitFor, unitState, type Sandbox } from '../support/sandbox';
import { startBrowser, chromiumMissing, axeViolations } from '../support/browser';

const WIDTHS = [375, 1280];

// Screenshots at each width (and that the page body never scrolls sideways at a phone's), their files.
async function shots(t: Test, page: Page, dir: string, state: string): Promise<void> {
  for (const width of WIDTHS) {
    await page.setViewportSize({ width, height: 800 });
    // Let uPlot follow the width (it redraws on resize) before the picture.
    await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
    if (width === 375) t.ok(await page.evaluate(() => document.documentElement.scrollWidth) <= 375, `${state}: nothing wider than a 375 px screen (the page does not scroll sideways)`);
    const file = path.join(dir, `${state}-${width}.png`);
    await page.screenshot({ path: file, fullPage: true });
    t.comment(`screenshot ${file}`);
  }
}

// A sandbox with a gateway (and its console on an address of its own) idling out after `idle` s, an admin, and a public function `hello`
// that writes `marker` to stderr (its journal) at each call.
async function stack(t: Test, idle: number, marker: string): Promise<{ sb: Sandbox; cp: number; root: string; shotDir: string }> {
  const sb = await startSandbox(t);
  const cp = await setupConsole(sb, idle); // the console's own address (cp); calls go to sb.port
  const root = (await sb.faassctl('credentials', 'add', 'root', '--admin')).stdout.trim();
  const deploy = await sb.faassctl('deploy', 'hello', '--command', `sh -c 'echo ${marker} >&2; echo hi'`, '--idle', '1');
  t.equal(deploy.code, 0, `deployed hello ${deploy.stderr}`);
  // A schedule that never fires during the test: the page lists it.
  t.equal((await sb.faassctl('trigger', 'add', 'hello', '--schedule', '0 0 1 1 *', '--id', 'newyear')).code, 0, 'a schedule');
  const shotDir = process.env.FAASS_SCREENSHOTS ?? path.join(sb.dir, 'screenshots');
  fs.mkdirSync(shotDir, { recursive: true });
  return { sb, cp, root, shotDir };
}

async function signIn(page: Page, port: number, root: string): Promise<void> {
  await page.goto(`http://127.0.0.1:${port}/ui/`);
  await page.locator('#signin').waitFor({ state: 'visible' });
  await page.fill('#token', root);
  await page.click('#signin button[type=submit]');
  await page.locator('#rows tr[data-name=hello]').waitFor();
}

const call = async (t: Test, port: number) => t.equal((await request(port, '/function/hello', { body: 'x' })).status, 200, 'a call from outside the console');

async function browserContext(t: Test): Promise<BrowserContext> {
  const browser = await startBrowser(t);
  const context = await browser.newContext();
  context.setDefaultTimeout(60000); // each step waits for what the page shows; this is only for a stuck one
  return context;
}

t.test('function page: figures, settings, chart, live log', { skip: chromiumMissing() }, async (t) => {
  const marker = `ui-fn-marker-${process.pid}-${Date.now()}`;
  const { sb, cp, root, shotDir } = await stack(t, 60, marker);
  const page = await (await browserContext(t)).newPage();
  const errors: string[] = [];
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
  await signIn(page, cp, root);
  const row = page.locator('#rows tr[data-name=hello]');
  t.match(await row.locator('.state').textContent(), /^(idle|running)$/, 'listed with the state of its units');

  for (let i = 0; i < 3; i++) await call(t, sb.port);
  // The list polls every 5 s: the 4th cell after the name is the calls.
  await row.locator('td:nth-of-type(4)', { hasText: /^3$/ }).waitFor();
  t.pass('the list shows the 3 calls without a reload');
  t.match(await page.locator('#updated').textContent(), /^Updated /, 'and says when it read them');
  await shots(t, page, shotDir, 'list');

  await row.locator('a', { hasText: 'hello' }).click();
  await page.locator('#function h1', { hasText: 'hello' }).waitFor();
  t.ok(await page.locator('#fn-actions').count(), 'a place for the actions');
  const command = page.locator('#fn-settings dt', { hasText: /^command$/ });
  await command.waitFor();
  t.match(await page.locator('#fn-settings dt:text-is("command") + dd').textContent(), marker, 'its settings, as a definition list');
  t.equal(await page.locator('#fn-settings pre').count(), 0, 'not raw JSON');
  await page.locator('#fn-triggers tr', { hasText: 'newyear' }).waitFor();
  t.match(await page.locator('#fn-triggers tr', { hasText: 'newyear' }).textContent(), /schedule.*0 0 1 1 \*/, 'its schedule among its triggers');
  t.match(await page.locator('#fn-versions tbody tr', { hasText: 'live' }).locator('th').textContent(), /^1$/, 'its versions, the live one marked');
  await page.locator('#fn-charts-h ~ .charts canvas').first().waitFor();
  t.equal(await page.locator('.charts figure canvas').count(), 2, 'two charts drawn (calls and errors; latency)');
  await page.locator('#fn-calls', { hasText: /^3$/ }).waitFor();
  t.pass("the history's calls over the window: 3");
  await page.locator('#fn-log .line', { hasText: marker }).first().waitFor();
  t.pass("the function's stderr line in the log tail");
  t.equal(await page.locator('#fn-log').getAttribute('aria-live'), 'off', 'the tail is not read aloud line by line');

  // A line written after the page opened arrives by the open stream.
  const before = await page.locator('#fn-log .line', { hasText: marker }).count();
  await call(t, sb.port);
  await page.locator('#fn-log .line', { hasText: marker }).nth(before).waitFor().catch(async (e: Error) => {
    // What the tail showed instead, to tell a stalled stream from a line that never came.
    t.comment(`${before} marker lines before; the tail: ${await page.locator('#fn-log').innerText()}; its note: ${await page.locator('.log-note').innerText()}`);
    throw e;
  });
  t.pass('a new call: its line streams in');

  await shots(t, page, shotDir, 'function');
  t.same(await axeViolations(page), [], 'function page: no serious or critical accessibility violation (axe-core)');

  // The tail's bound, with the stream's answer stubbed in the browser: a function's stderr
  // reaches the journal in chunks of lines, so no function writes 600 journal lines cheaply.
  const stub = Array.from({ length: 600 }, (_, i) => JSON.stringify({ time: new Date().toISOString(), priority: 6, unit: 'faass-fn-hello.service', message: `stub ${i + 1}`, cursor: `s${i + 1}` })).join('\n') + '\n';
  await page.route('**/system/logs/**', (route) => route.fulfill({ status: 200, contentType: 'application/x-ndjson', body: stub }));
  await page.evaluate(() => { location.hash = '#/'; });
  await page.locator('#functions h1').waitFor();
  await page.evaluate(() => { location.hash = '#/function/hello'; });
  await page.locator('#fn-log .line', { hasText: /stub 600$/ }).waitFor();
  t.equal(await page.locator('#fn-log .line').count(), 500, 'the tail keeps the last 500 lines');
  t.match(await page.locator('#fn-log .line').first().textContent(), /stub 101$/, 'the oldest go first');
  t.same(errors.filter((m) => !/Failed to load resource/.test(m)), [], 'no script errors on the console');
});

// The tab's visibility, as the page sees it. Headless chromium keeps every tab visible: another
// tab brought to front, a minimized window (Browser.setWindowBounds) and a frozen page
// (Page.setWebLifecycleState) all leave document.visibilityState 'visible'. So an init script
// makes visibilityState follow a flag the test sets, and the test fires visibilitychange as
// the browser would.
const VISIBILITY_SWITCH = `(() => {
  let hidden = false;
  Object.defineProperty(Document.prototype, 'visibilityState', { configurable: true, get: () => (hidden ? 'hidden' : 'visible') });
  Object.defineProperty(Document.prototype, 'hidden', { configurable: true, get: () => hidden });
  window.__faassSetHidden = (h) => { hidden = h; document.dispatchEvent(new Event('visibilitychange')); };
})();`;
const setHidden = (page: Page, hidden: boolean) => page.evaluate((h) => (window as unknown as { __faassSetHidden(h: boolean): void }).__faassSetHidden(h), hidden);

t.test('a console in a hidden tab lets the stack go idle', { skip: chromiumMissing() }, async (t) => {
  const marker = `ui-idle-marker-${process.pid}-${Date.now()}`;
  const { sb, cp, root } = await stack(t, 3, marker);
  const context = await browserContext(t);
  await context.addInitScript(VISIBILITY_SWITCH);
  await call(t, sb.port);
  const list = await context.newPage();
  await signIn(list, cp, root);
  const fn = await context.newPage();
  await fn.goto(`http://127.0.0.1:${cp}/ui/#/function/hello`);
  await fn.locator('#fn-log .line', { hasText: marker }).first().waitFor();
  t.pass('signed in: the list polling, a function page with its log tail open');

  const units = ['faass-gateway.service', 'faass-api.service', 'faass-fn-hello.service'];
  for (const page of [list, fn]) await setHidden(page, true);
  // The gateway exits 3 s after its last request, the API after 10 s, the runner after 1 s.
  await waitFor('the stack to go idle', async () => (await Promise.all(units.map((u) => unitState(sb, u)))).every((s) => s.startsWith('inactive')), 90000);
  t.pass(`hidden: ${units.join(', ')} all inactive`);

  // Shown again: the list asks at once, which starts the gateway and the API again.
  await list.evaluate(() => { for (const tr of document.querySelectorAll('#rows tr')) tr.setAttribute('data-old', ''); });
  await setHidden(list, false);
  await list.locator('#rows tr[data-name=hello]:not([data-old])').waitFor();
  t.pass('shown again: the list refreshed');
  t.notMatch(await unitState(sb, 'faass-api.service'), /^inactive/, 'the API was started for it');

  // The function page shown again: its tail resumes after the last line it had, none repeated.
  await setHidden(fn, false);
  await call(t, sb.port);
  const lines = fn.locator('#fn-log .line', { hasText: marker });
  await lines.nth(1).waitFor();
  t.equal(await lines.count(), 2, "shown again: the new call's line, and the earlier one not repeated");
});
