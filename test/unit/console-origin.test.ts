// The gateway's two addresses in one process (gateway.ts Side): the console's own, where a
// function is called only with the console's session and its CSRF token and answers inert; the
// functions', where the session counts for nothing and there is no /ui. A service played by an
// HTTP server on the function's unix socket sets headers of its own that must not survive.
import t from 'tap';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { once } from 'node:events';
import { Gateway } from '../../src/gateway/gateway';
import { buildSettings } from '../../src/core/settings';
import { addCredential } from '../../src/auth/credentials';
import { csrfToken, sessionKey, signSession } from '../../src/auth/session';
import { resolvePaths, functionConfPath, functionSocketPath } from '../../src/core/paths';
import { log } from '../../src/observe/log';

const quiet = { warning: log.warning, err: log.err };
log.warning = log.err = () => undefined;
t.teardown(() => Object.assign(log, quiet));

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'faass-origin-'));
t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
const paths = resolvePaths({ HOME: dir, XDG_CONFIG_HOME: path.join(dir, 'c'), XDG_DATA_HOME: path.join(dir, 'd'), XDG_STATE_HOME: path.join(dir, 's'), XDG_RUNTIME_DIR: path.join(dir, 'r') });
fs.mkdirSync(path.dirname(functionConfPath(paths, 'svc')), { recursive: true });
fs.writeFileSync(functionConfPath(paths, 'svc'), '[function]\nkind = service\nruntime = exec\nport = 9000\ncommand = app\nauth = ci\n');
addCredential(paths, 'root', true);
addCredential(paths, 'ci', false);
const ops = addCredential(paths, 'ops', true);
const session = signSession(sessionKey(paths), 'root');
const cookie = `faass_session=${session}`;
const csrf = csrfToken(sessionKey(paths), session);

// The service: a page with a script, and headers that would make it live if rendered.
let reached: http.IncomingHttpHeaders | null = null;
const app = http.createServer((req, res) => {
  reached = req.headers;
  req.resume();
  if (req.url?.endsWith('/redir')) {
    // What would act in the console's origin: a redirect into the API, cookies (one shadowing
    // the session's), a wipe of the site's data, a delayed redirect.
    res.writeHead(307, { location: '/system/functions', 'set-cookie': ['faass_session=junk; Path=/system', 'theirs=1; Path=/'], 'clear-site-data': '"cookies"', refresh: '0; url=/system/functions' });
    return void res.end('moved');
  }
  res.writeHead(200, { 'content-type': 'text/html', 'Content-Security-Policy': "default-src *; script-src 'unsafe-inline'", 'x-content-type-options': 'none' });
  res.end('<script>fetch("/ui/session")</script>');
});

const gateway = new Gateway(buildSettings({ listen: '127.0.0.1:8080', console_listen: '127.0.0.1:8090', metrics: 'no', log_calls: 'no', timeout: '5' }), paths);
const servers = { function: http.createServer(gateway.listener('function')), console: http.createServer(gateway.listener('console')) };
const ports = { function: 0, console: 0 };
t.before(async () => {
  fs.mkdirSync(path.dirname(functionSocketPath(paths, 'svc')), { recursive: true });
  app.listen(functionSocketPath(paths, 'svc'));
  await once(app, 'listening');
  for (const side of ['function', 'console'] as const) {
    servers[side].listen(0, '127.0.0.1');
    await once(servers[side], 'listening');
    ports[side] = (servers[side].address() as { port: number }).port;
  }
});
t.teardown(() => {
  gateway.close();
  for (const s of Object.values(servers)) {
    s.close();
    s.closeAllConnections();
  }
  app.close();
});

const call = async (side: 'function' | 'console', url: string, headers: Record<string, string> = {}) => {
  reached = null;
  const req = http.request({ host: '127.0.0.1', port: ports[side], path: url, method: 'GET', headers, agent: false });
  req.end();
  const [r] = (await once(req, 'response')) as [http.IncomingMessage];
  const chunks: Buffer[] = [];
  for await (const c of r) chunks.push(c as Buffer);
  const text = Buffer.concat(chunks).toString();
  return { status: r.statusCode, text, headers: r.headers };
};

t.test('on the console\'s address: a function only with the session and its token, its answer inert', async (t) => {
  const ok = await call('console', '/function/svc', { cookie: `a=1; ${cookie}`, 'x-csrf-token': csrf });
  t.equal(ok.status, 200, 'the console page\'s invoke');
  t.equal(ok.headers['content-security-policy'], 'sandbox', 'the function\'s own CSP replaced by sandbox');
  t.equal(ok.headers['x-content-type-options'], 'nosniff', 'and nosniff, whatever it said');
  const seen = reached as http.IncomingHttpHeaders | null;
  t.equal(seen?.cookie, 'a=1', 'the function sees no session cookie');
  t.notOk(seen && 'x-csrf-token' in seen, 'nor the CSRF token');
  const link = await call('console', '/function/svc', { cookie });
  t.equal(link.status, 403, 'the cookie without the token (a link): 403');
  t.equal(reached, null, 'the function was not reached');
  t.equal(link.headers['content-security-policy'], 'sandbox');
  t.equal((await call('console', '/function/svc', { authorization: 'Bearer nobody.x' })).status, 401, 'a token alone: 401, not reached');
  t.equal(reached, null);
  const shadowed = await call('console', '/function/svc', { cookie: `faass_session=junk; ${cookie}`, 'x-csrf-token': csrf });
  t.equal(shadowed.status, 200, 'a cookie of the session\'s name set by something else does not shadow the good one');
  const moved = await call('console', '/function/svc/redir', { cookie, 'x-csrf-token': csrf });
  t.equal(moved.status, 307, 'a function\'s redirect: its status, as an answer');
  for (const h of ['location', 'set-cookie', 'clear-site-data', 'refresh']) t.notOk(h in moved.headers, `no ${h}: the page's fetch follows nothing into the API with the session, and nothing touches the console's cookies`);
  const topic = await call('console', '/topic/news', { cookie, 'x-csrf-token': csrf });
  t.equal(topic.status, 404, 'a topic: not there');
  t.match(topic.text, /served at 127\.0\.0\.1:8080/, 'naming the functions\' address');
});

t.test('on the functions\' address: no console, and the session is as if absent', async (t) => {
  const ui = await call('function', '/ui/', { cookie });
  t.equal(ui.status, 404);
  t.match(ui.text, /console is served on its own address: 127\.0\.0\.1:8090/);
  t.equal((await call('function', '/function/svc', { cookie, 'x-csrf-token': csrf })).status, 401, 'a protected function with the session: 401');
  t.equal(reached, null);
  t.equal((await call('function', '/system/functions', { cookie, 'x-csrf-token': csrf })).status, 401, 'the API with the session: 401');
  const page = await call('function', '/function/svc', { authorization: `Bearer ${ops}`, 'x-csrf-token': csrf });
  t.equal(page.status, 200, 'a token works as always');
  t.match(page.headers['content-security-policy'], /unsafe-inline/, 'and the functions\' address passes the answer as it came');
  t.notOk(reached && 'x-csrf-token' in (reached as http.IncomingHttpHeaders), 'X-CSRF-Token is never passed on');
  const moved = await call('function', '/function/svc/redir', { authorization: `Bearer ${ops}` });
  t.equal(moved.headers.location, '/system/functions', 'the functions\' address passes a redirect on');
  t.same(moved.headers['set-cookie'], ['theirs=1; Path=/'], 'and the function\'s cookies, but never one named as the console\'s session');
});
