// The web console's server side (issue 16, first slice) through the real gateway: its files with
// their security headers, sign-in with an admin token for a signed cookie, the management API
// through that cookie only with the CSRF token, sign-out, a tampered cookie refused, and a
// session that outlives the gateway's idle exit (no session store). The console has an address of
// its own (console_listen): on the functions' address there is no console and a session counts
// for nothing; on the console's, a function is called only with the session and its CSRF token.
import t, { type Test } from 'tap';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as https from 'node:https';
import { startSandbox, setupConsole, request, errorCode, waitFor, unitState, Reply } from '../support/sandbox';

// A sign-in over HTTPS, the certificate checked against `ca`: its status and Set-Cookie.
function httpsSignIn(port: number, token: string, ca: Buffer): Promise<{ status: number; cookie: string }> {
  return new Promise((resolve, reject) => {
    const body = JSON.stringify({ token });
    const origin = `https://127.0.0.1:${port}`;
    const req = https.request({ host: '127.0.0.1', port, path: '/ui/session', method: 'POST', ca, agent: false, headers: { 'content-type': 'application/json', 'content-length': String(body.length), origin, host: `127.0.0.1:${port}` } }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, cookie: res.headers['set-cookie']?.[0] ?? '' }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

const SECURITY = ['content-security-policy', 'x-frame-options', 'x-content-type-options', 'referrer-policy'];

t.test('web console: files, sign-in, CSRF, sign-out, idle exit', async (t) => {
  const sb = await startSandbox(t);
  const cp = await setupConsole(sb, 1); // idle 1 s: the gateway exits between the steps below
  const get = (p: string, headers: Record<string, string> = {}) => request(cp, p, { method: 'GET', headers });
  const secured = (t: Test, r: Reply, what: string) => {
    for (const h of SECURITY) t.ok(r.headers[h], `${what}: ${h}`);
    t.match(r.headers['content-security-policy'], /default-src 'self'/);
    t.match(r.headers['content-security-policy'], /script-src 'self'(;|$)/, 'no inline script');
    t.match(r.headers['content-security-policy'], /frame-ancestors 'none'/);
    t.equal(r.headers['x-frame-options'], 'DENY');
    t.equal(r.headers['x-content-type-options'], 'nosniff');
    t.equal(r.headers['referrer-policy'], 'no-referrer');
  };

  t.test('files and their headers', async (t) => {
    const page = await get('/ui/', { 'x-function': 'ui' });
    t.equal(page.status, 200, 'the page, even with X-Function (never a function route)');
    t.match(page.headers['content-type'], /^text\/html/);
    t.equal(page.headers['cache-control'], 'no-store');
    secured(t, page, 'the page');
    t.notMatch(page.body, /<script>|<script [^>]*>[^<]|<style|\sstyle=|\son[a-z]+=/i, 'no inline script or style');
    const js = await get('/ui/app.js');
    t.equal(js.status, 200);
    t.match(js.headers['content-type'], /^text\/javascript/);
    secured(t, js, 'app.js');
    t.equal((await get('/ui/app.css')).status, 200);
    const missing = await get('/ui/nothing.js');
    t.equal(missing.status, 404, 'an unknown file: 404');
    secured(t, missing, 'a 404');
    for (const p of ['/ui/../healthz', '/ui/%2e%2e/healthz', '/ui/..%2fhealthz', '/ui/%2E%2E%2Fauth.conf']) {
      const r = await get(p);
      t.equal(r.status, 400, `traversal ${p} refused`);
      t.equal(errorCode(r.body), 'FAASS_E_USAGE');
    }
    t.equal((await get('/ui/session')).status, 404, 'no admin credential yet: the console says so');
  });

  const root = (await sb.faassctl('credentials', 'add', 'root', '--admin')).stdout.trim();
  const ci = (await sb.faassctl('credentials', 'add', 'ci')).stdout.trim();
  t.match(root, /^root\./);
  t.equal((await sb.faassctl('deploy', 'hello', '--command', 'echo "[$Http_Cookie]"')).code, 0);
  const signIn = (token: string, headers: Record<string, string> = {}) => request(cp, '/ui/session', { method: 'POST', body: JSON.stringify({ token }), headers: { 'content-type': 'application/json', ...headers } });
  let cookie = '';
  let csrf = '';
  let opsToken = '';

  t.test('sign-in', async (t) => {
    const wrong = await signIn(`root.${'A'.repeat(43)}`);
    t.equal(wrong.status, 401, 'a wrong token: 401');
    t.equal(errorCode(wrong.body), 'FAASS_E_AUTH_REQUIRED');
    t.notOk(wrong.headers['set-cookie'], 'and no cookie');
    t.notOk(wrong.headers['www-authenticate'], 'nor a challenge a browser would answer with its own dialog');
    const notAdmin = await signIn(ci);
    t.equal(notAdmin.status, 403, 'a credential that is not an admin: 403');
    t.notOk(notAdmin.headers['set-cookie']);
    t.equal((await signIn(root, { origin: 'http://evil.example' })).status, 403, 'from another origin: 403');
    const ok = await signIn(root, { origin: `http://127.0.0.1:${cp}`, host: `127.0.0.1:${cp}` });
    t.equal(ok.status, 200, 'the admin token: 200');
    secured(t, ok, 'the sign-in answer');
    t.notOk(ok.body.includes(root.split('.')[1]), 'the answer does not echo the token');
    const set = ok.headers['set-cookie']?.[0] ?? '';
    const flags = set.split('; ');
    for (const f of ['HttpOnly', 'SameSite=Strict', 'Path=/', 'Max-Age=28800']) t.ok(flags.includes(f), `cookie ${f}`);
    t.notOk(flags.includes('Secure'), 'not Secure on plain HTTP');
    cookie = flags[0];
    t.match(cookie, /^faass_session=root\.\d+\.[\w-]{43}$/, 'the cookie names the credential, not its secret');
    const who = await get('/ui/session', { cookie });
    t.equal(who.status, 200);
    const s = JSON.parse(who.body) as { credential: string; csrfToken: string };
    t.equal(s.credential, 'root', 'GET /ui/session says who is signed in');
    t.match(s.csrfToken, /^[\w-]{43}$/, 'and gives the CSRF token');
    t.notOk(who.body.includes(root.split('.')[1]), 'never the admin token');
    csrf = s.csrfToken;
  });

  t.test('the management API through the session', async (t) => {
    const list = await get('/system/functions', { cookie, 'x-csrf-token': csrf });
    t.equal(list.status, 200, 'cookie and CSRF token: 200');
    t.same((JSON.parse(list.body) as { name: string }[]).map((f) => f.name), ['hello']);
    const noCsrf = await get('/system/functions', { cookie });
    t.equal(noCsrf.status, 403, 'the cookie without the CSRF token: 403');
    t.equal(errorCode(noCsrf.body), 'FAASS_E_FORBIDDEN');
    t.equal((await get('/system/functions', { cookie, 'x-csrf-token': 'A'.repeat(43) })).status, 403, 'a wrong CSRF token: 403');
    const del = await request(cp, '/system/functions', { method: 'DELETE', body: '{"functionName":"hello"}', headers: { cookie, 'content-type': 'application/json' } });
    t.equal(del.status, 403, 'a change without the CSRF token: 403');
    const call = await request(sb.port, '/function/hello', { method: 'GET', headers: { cookie: `a=1; ${cookie}; b=2` } });
    t.equal(call.status, 200, 'and the function is still there');
    t.equal(call.body, '[a=1; b=2]\n', 'a function sees the other cookies, never the session');
    const fromPage = await request(cp, '/function/hello', { method: 'GET', headers: { cookie: `a=1; ${cookie}`, 'x-csrf-token': csrf } });
    t.equal(fromPage.status, 200, 'the console page\'s invoke: the session and its CSRF token on the console\'s address');
    t.equal(fromPage.body, '[a=1]\n', 'the function still sees no session');
    t.equal(fromPage.headers['content-security-policy'], 'sandbox', 'its answer is inert: CSP sandbox');
    t.equal(fromPage.headers['x-content-type-options'], 'nosniff');
    const cross = await get('/system/functions', { cookie, 'x-csrf-token': csrf, origin: 'http://evil.example' });
    t.equal(cross.status, 403, 'another origin, even with the token: 403');
    const [name, exp, mac] = cookie.split('=')[1].split('.');
    const tampered = `faass_session=${name}.${Number(exp) + 86400}.${mac}`;
    const bad = await get('/system/functions', { cookie: tampered, 'x-csrf-token': csrf });
    t.equal(bad.status, 401, 'a tampered cookie: 401');
    t.equal((await get('/ui/session', { cookie: tampered })).status, 401, 'and not signed in');
  });

  t.test('the functions\' address: no console, and a session counts for nothing', async (t) => {
    const fget = (p: string, headers: Record<string, string> = {}) => request(sb.port, p, { method: 'GET', headers });
    for (const p of ['/ui/', '/ui/app.js', '/ui/session']) {
      const r = await fget(p, { cookie });
      t.equal(r.status, 404, `${p}: 404`);
      t.equal(errorCode(r.body), 'FAASS_E_ROUTE_MISSING');
      t.match(r.body, `console is served on its own address: 127.0.0.1:${cp}`, 'saying where the console is');
    }
    const signin = await request(sb.port, '/ui/session', { method: 'POST', body: JSON.stringify({ token: root }), headers: { 'content-type': 'application/json' } });
    t.equal(signin.status, 404, 'no sign-in there either');
    t.notOk(signin.headers['set-cookie'], 'and no cookie');
    const api = await fget('/system/functions', { cookie, 'x-csrf-token': csrf });
    t.equal(api.status, 401, 'the API with a valid session and its CSRF token: 401, as with no credential');
    t.equal(errorCode(api.body), 'FAASS_E_AUTH_REQUIRED');
    const change = await request(sb.port, '/system/functions', { method: 'DELETE', body: '{"functionName":"hello"}', headers: { cookie, 'x-csrf-token': csrf, 'content-type': 'application/json' } });
    t.equal(change.status, 401, 'nor a change');
    t.equal((await sb.faassctl('deploy', 'guarded', '--command', 'echo "[$Http_X_Csrf_Token]"', '--auth', 'ci')).code, 0);
    const guarded = await fget('/function/guarded', { cookie, 'x-csrf-token': csrf });
    t.equal(guarded.status, 401, 'a protected function with the session: 401');
    const bearer = await fget('/function/guarded', { authorization: `Bearer ${ci}`, 'x-csrf-token': csrf });
    t.equal(bearer.status, 200, 'an Authorization header works as always');
    t.equal(bearer.body, '[]\n', 'and the function never sees X-CSRF-Token');
    t.equal((await fget('/system/functions', { authorization: `Bearer ${root}` })).status, 200, 'an admin token reaches the API there');
  });

  t.test('the console\'s address: a function only from the console\'s page', async (t) => {
    t.equal((await sb.faassctl('deploy', 'lure', '--command', 'echo "<script>alert(1)</script>"')).code, 0);
    const link = await get('/function/lure', { cookie, accept: 'text/html' });
    t.equal(link.status, 403, 'a top-level GET with the session cookie but no CSRF token (a link an attacker sends): 403');
    t.equal(link.headers['content-security-policy'], 'sandbox', 'the refusal is inert too');
    t.equal((await get('/function/lure')).status, 401, 'without a session: 401');
    t.match((await get('/function/lure', { authorization: `Bearer ${root}` })).body, `call it at 127.0.0.1:${sb.port}`, 'a token alone does not do there; the answer names the functions\' address');
    t.equal((await request(cp, '/async-function/lure', { body: 'x', headers: { cookie } })).status, 403, 'nor queued without the CSRF token');
    t.match(await unitState(sb, 'faass-fn-lure.service'), /^inactive/, 'the function never ran');
    const stats = JSON.parse((await request(sb.port, '/system/stats', { method: 'GET', headers: { authorization: `Bearer ${root}` } })).body) as { functions: { name: string; calls: number }[] };
    t.equal(stats.functions.find((f) => f.name === 'lure')?.calls, 0, 'and counted no call');
    for (const p of ['/topic/news', '/anything']) {
      const r = await request(cp, p, { method: 'POST', body: 'x', headers: { cookie, 'x-csrf-token': csrf } });
      t.equal(r.status, 404, `${p} on the console's address: 404`);
      t.match(r.body, `is served at 127.0.0.1:${sb.port}`, 'naming the functions\' address');
    }
    t.equal((await get('/healthz')).status, 200, '/healthz stays');
  });

  t.test('the session outlives the gateway\'s idle exit', async (t) => {
    const pid = async () => (await sb.systemctl('show', 'faass-gateway.service', '-p', 'MainPID', '--value')).stdout.trim();
    const before = await pid();
    await waitFor('the gateway to exit when idle', async () => (await unitState(sb, 'faass-gateway.service')).startsWith('inactive'));
    const list = await get('/system/functions', { cookie, 'x-csrf-token': csrf });
    t.equal(list.status, 200, 'the same cookie and token, answered by a new gateway');
    t.not(await pid(), before, 'a new gateway process');
  });

  t.test('sign-out', async (t) => {
    const out = await request(cp, '/ui/session', { method: 'DELETE', headers: { cookie } });
    t.equal(out.status, 200);
    t.match(out.headers['set-cookie']?.[0] ?? '', /^faass_session=; .*Max-Age=0/, 'the cookie is ended');
    t.equal((await get('/ui/session')).status, 401, 'without the cookie: not signed in');
    const ops = await sb.faassctl('credentials', 'add', 'ops', '--admin');
    t.equal(ops.code, 0, 'another admin: the API stays on');
    opsToken = ops.stdout.trim();
    const gone = await sb.faassctl('credentials', 'remove', 'root');
    t.equal(gone.code, 0, gone.stderr);
    t.equal((await get('/system/functions', { cookie, 'x-csrf-token': csrf })).status, 401, 'a session whose credential was removed is refused');
  });

  t.test('under TLS the cookie is Secure', async (t) => {
    const made = await sb.faassctl('tls', 'self-signed', '--days', '2');
    t.equal(made.code, 0, `tls self-signed ${made.stderr}`);
    const ca = fs.readFileSync(path.join(sb.env.XDG_CONFIG_HOME as string, 'faass', 'tls', 'cert.pem'));
    const r = await httpsSignIn(cp, opsToken, ca);
    t.equal(r.status, 200, 'signed in over HTTPS, from its https:// origin');
    t.ok(r.cookie.split('; ').includes('Secure'), 'and the cookie is Secure');
  });
});
