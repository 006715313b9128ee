// The web console in a real browser (headless Debian chromium, test/support/browser.ts) against
// the real gateway in a sandbox: sign-in refused with a wrong token and the reason shown, the
// function list after the right one, sign-out; the token left nowhere the page can read; and
// screenshots of both states at a phone's and a desktop's width for a person to look at.
import t from 'tap';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Page } from 'playwright-core';
import { startSandbox, setupConsole } from '../support/sandbox';
import { startBrowser, chromiumMissing, axeViolations } from '../support/browser';

const WIDTHS = [375, 1280];

// Screenshots of the page at each width, into dir; their file names.
async function shots(page: Page, dir: string, state: string): Promise<string[]> {
  const files: string[] = [];
  for (const width of WIDTHS) {
    await page.setViewportSize({ width, height: 800 });
    const file = path.join(dir, `${state}-${width}.png`);
    await page.screenshot({ path: file, fullPage: true });
    files.push(file);
  }
  return files;
}

t.test('web console in a browser: sign-in, function list, sign-out', { skip: chromiumMissing() }, async (t) => {
  const sb = await startSandbox(t);
  const cp = await setupConsole(sb, 60); // the console on its own address; the gateway stays up for the whole file: the browser's steps are many
  const root = (await sb.faassctl('credentials', 'add', 'root', '--admin')).stdout.trim();
  const secret = root.split('.')[1];
  t.match(root, /^root\.[\w-]{43}$/);
  t.equal((await sb.faassctl('deploy', 'hello', '--command', 'echo hi')).code, 0);
  // Under the sandbox directory, removed with it; FAASS_SCREENSHOTS=DIR keeps them.
  const shotDir = process.env.FAASS_SCREENSHOTS ?? path.join(sb.dir, 'screenshots');
  fs.mkdirSync(shotDir, { recursive: true });

  const browser = await startBrowser(t);
  const context = await browser.newContext();
  // Each step waits for what the page shows; this is only how long before a stuck one fails.
  context.setDefaultTimeout(60000);
  const page = await context.newPage();
  const console: string[] = [];
  page.on('console', (m) => { if (m.type() === 'error') console.push(m.text()); });
  await page.goto(`http://127.0.0.1:${cp}/ui/`);
  const form = page.locator('#signin');
  await form.waitFor({ state: 'visible' });
  t.pass('signed out: the sign-in form');
  for (const f of await shots(page, shotDir, 'signed-out')) t.comment(`screenshot ${f}`);
  t.same(await axeViolations(page), [], 'signed out: no serious or critical accessibility violation (axe-core)');

  await page.fill('#token', `root.${'A'.repeat(43)}`);
  await page.click('#signin button[type=submit]');
  const status = page.locator('#status');
  await status.filter({ hasText: /\S/ }).waitFor();
  t.match(await status.textContent(), /credential/, 'a wrong token: refused, and the page says why');
  t.ok(await form.isVisible(), 'still signed out');
  t.notOk(await page.locator('#functions').isVisible(), 'no function list');

  await page.fill('#token', root);
  await page.click('#signin button[type=submit]');
  const row = page.locator('#rows tr', { hasText: 'hello' });
  await row.waitFor();
  t.same(await page.locator('#rows tr th').allTextContents(), ['hello'], 'signed in: the deployed function is listed');
  t.match(await page.locator('#who').textContent(), /root/, 'and who is signed in');
  t.notOk(await form.isVisible(), 'the form is gone');
  for (const f of await shots(page, shotDir, 'signed-in')) t.comment(`screenshot ${f}`);
  t.same(await axeViolations(page), [], 'signed in: no serious or critical accessibility violation (axe-core)');

  // The page keeps the token nowhere a script (or a later visitor of this profile) could read it.
  const kept = await page.evaluate(() => ({
    storage: JSON.stringify({ ...localStorage }) + JSON.stringify({ ...sessionStorage }),
    dom: document.documentElement.outerHTML,
    inputs: [...document.querySelectorAll('input')].map((i) => i.value).join('\n'),
    cookie: document.cookie,
  }));
  for (const [where, text] of Object.entries(kept)) t.notOk(text.includes(secret), `no token in ${where}`);
  t.equal(kept.cookie, '', 'the session cookie is HttpOnly: the page cannot read it');
  t.ok((await context.cookies()).some((c) => c.name === 'faass_session' && c.httpOnly), 'but the browser holds it');

  await page.click('#signout');
  await form.waitFor({ state: 'visible' });
  t.notOk(await page.locator('#functions').isVisible(), 'signed out: the list is gone');
  t.equal(await page.locator('#rows tr').count(), 0, 'and its rows');
  t.notOk((await context.cookies()).some((c) => c.name === 'faass_session'), 'the cookie is gone');
  await page.reload();
  await form.waitFor({ state: 'visible' });
  t.pass('a reload stays signed out');
  t.same(console.filter((m) => !/401|Failed to load resource/.test(m)), [], 'no script errors on the console');
});
