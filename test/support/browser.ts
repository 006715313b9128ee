// A headless Debian chromium driven by playwright-core, for the web console's browser tests.
// We start chromium ourselves (never a browser playwright downloads) in its own process group,
// with a fresh profile, and attach over the DevTools protocol on loopback; teardown ends that
// process group by its PID and removes the profile. Nothing here talks to the network beyond
// 127.0.0.1: the flags switch off the browser's own background traffic.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';

const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

// Why a test is skipped when chromium is missing: a developer may not have it. CI installs it
// (.ci/run) and sets FAASS_REQUIRE_CHROMIUM, so there the test runs and fails at the start of a
// missing browser, rather than passing as skipped.
export function chromiumMissing(): string | false {
  if (process.env.FAASS_REQUIRE_CHROMIUM) return false;
  return fs.existsSync(CHROMIUM) ? false : `${CHROMIUM} is not installed (apt-get install chromium)`;
}

// Chromium prints its DevTools address on stderr once it listens: wait for that line (or its exit).
function devtoolsUrl(child: ReturnType<typeof spawn>): Promise<string> {
  return new Promise((resolve, reject) => {
    let seen = '';
    const onData = (b: Buffer) => {
      seen += b.toString();
      const m = /DevTools listening on (ws:\/\/\S+)/.exec(seen);
      if (m) { child.stderr?.off('data', onData); child.stderr?.resume(); resolve(m[1]); }
    };
    child.stderr?.on('data', onData);
    child.once('exit', (code, signal) => reject(new Error(`chromium exited (${code ?? signal}) before listening: ${seen.slice(-2000)}`)));
    child.once('error', reject);
  });
}

export async function startBrowser(t: { teardown(f: () => unknown): void }): Promise<Browser> {
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'faass-chromium-'));
  const child = spawn(CHROMIUM, [...FLAGS, `--user-data-dir=${profile}`, '--remote-debugging-address=127.0.0.1', '--remote-debugging-port=0', 'about:blank'], { detached: true, stdio: ['ignore', 'ignore', 'pipe'] });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let browser: Browser | undefined;
  t.teardown(async () => {
    await browser?.close().catch(() => undefined);
    // The launcher script, chromium and its zygote and renderers share the group we made.
    if (child.pid && child.exitCode === null && child.signalCode === null) {
      try { process.kill(-child.pid, 'SIGTERM'); } catch { /* already gone */ }
      await exited;
    }
    fs.rmSync(profile, { recursive: true, force: true });
  });
  browser = await chromium.connectOverCDP(await devtoolsUrl(child));
  return browser;
}

// axe-core's accessibility check of the page as it is now: the violations of impact serious or
// critical, each as "rule: nodes". The script goes in through DevTools evaluation, which the
// console's CSP (script-src 'self') does not govern, so the page under test stays as shipped.
export async function axeViolations(page: Page): Promise<string[]> {
  const source = fs.readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
  await page.evaluate(source);
  const found = await page.evaluate(async () => {
    const axe = (window as unknown as { axe: { run(): Promise<{ violations: { id: string; impact?: string | null; nodes: { target: unknown[] }[] }[] }> } }).axe;
    return (await axe.run()).violations.map((v) => ({ id: v.id, impact: v.impact ?? '', nodes: v.nodes.map((n) => JSON.stringify(n.target)) }));
  });
  return found.filter((v) => v.impact === 'serious' || v.impact === 'critical').map((v) => `${v.id} (${v.impact}): ${v.nodes.join(' ')}`);
}
