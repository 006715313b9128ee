// Console sessions (auth/session.ts): a signed cookie naming an admin and an expiry, its CSRF
// token derived from it, the key made once and kept private; the gateway's route to /ui and its
// strip of the session cookie from what it passes on.
import t from 'tap';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { csrfMatches, csrfToken, sessionCookiesOf, sessionKey, sessionKeyPath, setCookie, signSession, verifySession, withoutSessionCookie } from '../../src/auth/session';
import { resolvePaths } from '../../src/core/paths';
import { routeOf } from '../../src/gateway/route';

const KEY = Buffer.alloc(32, 7);
const NOW = Date.UTC(2026, 0, 1);

t.test('a signed session verifies until it expires', async (t) => {
  const v = signSession(KEY, 'root', NOW, 3600);
  t.match(v, /^root\.\d+\.[\w-]{43}$/, 'NAME.EXPIRY.MAC');
  t.same(verifySession(KEY, v, NOW), { name: 'root', expires: NOW / 1000 + 3600 });
  t.same(verifySession(KEY, v, NOW + 3599_000)?.name, 'root', 'a second before it ends');
  t.equal(verifySession(KEY, v, NOW + 3600_000), null, 'expired at its end');
});

t.test('a tampered cookie or another key is refused', async (t) => {
  const v = signSession(KEY, 'root', NOW, 3600);
  const [name, exp, mac] = v.split('.');
  t.equal(verifySession(KEY, `admin.${exp}.${mac}`, NOW), null, 'another name');
  t.equal(verifySession(KEY, `${name}.${Number(exp) + 86400}.${mac}`, NOW), null, 'a later expiry');
  const flipped = mac.slice(0, -1) + (mac.endsWith('A') ? 'B' : 'A');
  t.equal(verifySession(KEY, `${name}.${exp}.${flipped}`, NOW), null, 'a changed MAC');
  t.equal(verifySession(Buffer.alloc(32, 8), v, NOW), null, 'signed under another key');
  for (const bad of ['', 'root', 'root.1.x', `ROOT.${exp}.${mac}`, `${v}.x`]) t.equal(verifySession(KEY, bad, NOW), null, `malformed ${JSON.stringify(bad)}`);
});

t.test('the CSRF token belongs to one session and is not its MAC', async (t) => {
  const a = signSession(KEY, 'root', NOW);
  const b = signSession(KEY, 'root', NOW + 1000);
  const ta = csrfToken(KEY, a);
  t.match(ta, /^[\w-]{43}$/);
  t.equal(csrfToken(KEY, a), ta, 'the same for the same session (no store needed)');
  t.not(csrfToken(KEY, b), ta, 'another session, another token');
  t.not(ta, a.split('.')[2], 'not the cookie\'s own MAC');
  t.ok(csrfMatches(KEY, a, ta));
  t.notOk(csrfMatches(KEY, b, ta), 'one session\'s token does not pass for another');
  t.notOk(csrfMatches(KEY, a, undefined), 'none given');
  t.notOk(csrfMatches(KEY, a, [ta, ta]), 'given twice');
  t.notOk(csrfMatches(KEY, a, ''), 'empty');
});

t.test('the key: made once, 0600, the same on every read', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'faass-uikey-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const paths = resolvePaths({ HOME: dir, XDG_CONFIG_HOME: path.join(dir, 'config') });
  const k = sessionKey(paths);
  t.equal(k.length, 32);
  t.equal(fs.statSync(sessionKeyPath(paths)).mode & 0o777, 0o600, 'private');
  t.same(sessionKey(paths), k, 'read back, not made again');
  fs.writeFileSync(sessionKeyPath(paths), 'short');
  t.throws(() => sessionKey(paths), /not 32/, 'a truncated key is refused, not used');
});

t.test('cookies: read, set, ended, and never passed on', async (t) => {
  t.same(sessionCookiesOf('a=1; faass_session=root.1.x; b=2'), ['root.1.x']);
  t.same(sessionCookiesOf('faass_session=junk; a=1; faass_session=root.1.x'), ['junk', 'root.1.x'], 'every value, in order');
  t.same(sessionCookiesOf('a=1'), []);
  t.same(sessionCookiesOf(undefined), []);
  const set = setCookie('v', false, 28800);
  t.match(set, /^faass_session=v; /);
  for (const flag of ['HttpOnly', 'SameSite=Strict', 'Path=/', 'Max-Age=28800']) t.ok(set.split('; ').includes(flag), flag);
  t.notOk(set.includes('Secure'), 'Secure only under TLS');
  t.ok(setCookie('v', true).split('; ').includes('Secure'));
  t.ok(setCookie(null, false).includes('Max-Age=0'), 'sign-out ends it at once');
  t.equal(withoutSessionCookie('a=1; faass_session=root.1.x; b=2'), 'a=1; b=2');
  t.equal(withoutSessionCookie('faass_session=x'), null);
});

t.test('/ui is the console, never a function route', async (t) => {
  for (const url of ['/ui', '/ui/', '/ui/app.js', '/ui/session', '/ui/../x', '/ui?x=1']) t.equal(routeOf(url, 'fn', { metrics: true }).to, 'ui', url);
  t.equal(routeOf('/uix', 'fn', { metrics: true }).to, 'function', '/uix is a path like any other');
});
