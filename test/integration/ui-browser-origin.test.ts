// The web console's origin of its own (DESIGN.md "Web console"), in a real browser: an admin
// signed in to the console opens a function's HTML page (a function is untrusted code), served
// on the functions' address. Its script must get nothing of the console: the console's
// /ui/session (and with it the CSRF token) is another origin's, unreadable; the management API on
// the functions' address takes no session. And the same page reached on the console's address
// (a link an attacker sends) is refused before the function runs.
import t from 'tap';
import type { Page } from 'playwright-core';
import { startSandbox, setupConsole, request, unitState, writeFixture } from '../support/sandbox';
import { startBrowser, chromiumMissing } from '../support/browser';

// The attack: read the console's session (and CSRF token), then drive the management API as the
// admin, on the console's origin (from ?console=ORIGIN) and on its own; the outcome in the title.
const EVIL = `module.exports = async () => ({
  statusCode: 200,
  headers: { 'content-type': 'text/html; charset=utf-8' },
  body: \`<!doctype html><title>evil</title><script>
(async () => {
  const consoleOrigin = new URLSearchParams(location.search).get('console');
  const out = [];
  let csrf = '';
  try {
    const r = await fetch(consoleOrigin + '/ui/session', { credentials: 'include' });
    const s = await r.json();
    csrf = s.csrfToken || '';
    out.push('session:' + r.status + (csrf ? ':csrf' : ''));
  } catch (e) { out.push('session:failed'); }
  for (const [what, url] of [['api', '/system/functions'], ['consoleapi', consoleOrigin + '/system/functions']]) {
    try {
      const r = await fetch(url, { credentials: 'include', headers: { 'X-CSRF-Token': csrf } });
      out.push(what + ':' + r.status);
    } catch (e) { out.push(what + ':failed'); }
  }
  document.title = 'done ' + out.join(' ');
})();
</script>\`,
});
`;

const titleOnceDone = async (page: Page): Promise<string> => {
  await page.waitForFunction(() => document.title.startsWith('done'));
  return page.title();
};

t.test('a function\'s page cannot act as the signed-in admin', { skip: chromiumMissing() }, async (t) => {
  const sb = await startSandbox(t);
  const cp = await setupConsole(sb, 60); // up for the whole file
  const root = (await sb.faassctl('credentials', 'add', 'root', '--admin')).stdout.trim();
  const dep = await sb.faassctl('deploy', 'evil', '--runtime', 'node', '--from-file', writeFixture(sb, 'evil.js', EVIL));
  t.equal(dep.code, 0, dep.stderr);
  const consoleOrigin = `http://127.0.0.1:${cp}`;

  const browser = await startBrowser(t);
  const context = await browser.newContext();
  context.setDefaultTimeout(60000); // how long before a stuck step fails; each waits for its event
  const page = await context.newPage();
  await page.goto(`${consoleOrigin}/ui/`);
  await page.fill('#token', root);
  await page.click('#signin button[type=submit]');
  await page.locator('#who').filter({ hasText: /root/ }).waitFor();
  t.ok((await context.cookies()).some((c) => c.name === 'faass_session'), 'signed in to the console: the browser holds its cookie');

  t.test('on the console\'s address, a link to the function is refused before it runs', async (t) => {
    const tab = await context.newPage();
    const r = await tab.goto(`${consoleOrigin}/function/evil?console=${encodeURIComponent(consoleOrigin)}`);
    t.equal(r?.status(), 403, 'a top-level navigation carries no X-CSRF-Token: 403');
    t.equal(r?.headers()['content-security-policy'], 'sandbox', 'and the answer is inert');
    t.match(await unitState(sb, 'faass-fn-evil.service'), /^inactive/, 'the function never ran');
    await tab.close();
  });

  t.test('on the functions\' address, its script gets nothing of the console', async (t) => {
    const tab = await context.newPage();
    const r = await tab.goto(`http://127.0.0.1:${sb.port}/function/evil?console=${encodeURIComponent(consoleOrigin)}`);
    t.equal(r?.status(), 200, 'the function\'s page is served where functions are');
    const title = await titleOnceDone(tab);
    t.match(title, / session:failed /, `the console's /ui/session is another origin's: the read fails (${title})`);
    t.match(title, / api:401 /, 'the management API on the functions\' address takes no session: 401');
    t.match(title, / consoleapi:failed$/, 'nor can it reach the console\'s API');
    await tab.close();
    const list = await request(cp, '/system/functions', { method: 'GET', headers: { authorization: `Bearer ${root}` } });
    t.equal(list.status, 200, 'the console\'s address still serves the API to a token');
    t.ok((await page.locator('#who').textContent())?.includes('root'), 'and the console is still signed in');
  });
});
