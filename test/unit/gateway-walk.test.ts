// The whole walk in one process: a Gateway on 127.0.0.1:0, function files in a temporary
// XDG tree, and a service played by an HTTP server on the function's unix socket.
import t from 'tap';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { once } from 'node:events';
import { Gateway } from '../../src/gateway/gateway';
import { buildSettings } from '../../src/core/settings';
import { addCredential } from '../../src/auth/credentials';
import { resolvePaths, functionConfPath, functionSocketPath } from '../../src/core/paths';
import { log } from '../../src/observe/log';

const quiet = { warning: log.warning, err: log.err };
log.warning = log.err = () => undefined;
t.teardown(() => Object.assign(log, quiet));

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'faass-gw-'));
t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
const paths = resolvePaths({ HOME: dir, XDG_CONFIG_HOME: path.join(dir, 'c'), XDG_DATA_HOME: path.join(dir, 'd'), XDG_STATE_HOME: path.join(dir, 's'), XDG_RUNTIME_DIR: path.join(dir, 'r') });
const writeFunction = (name: string, text: string) => {
  fs.mkdirSync(path.dirname(functionConfPath(paths, name)), { recursive: true });
  fs.writeFileSync(functionConfPath(paths, name), text);
};
writeFunction('svc', '[function]\nkind = service\nruntime = exec\nport = 9000\ncommand = app\nauth = ci\n');
writeFunction('open', '[function]\nruntime = exec\ncommand = cat\n');
writeFunction('broken', '[function]\nruntime = nope\n');
const ci = addCredential(paths, 'ci', false);

// The service: answers with what it was sent, and a few headers that must not reach the client.
let received: http.IncomingHttpHeaders = {};
const app = http.createServer((req, res) => {
  received = req.headers;
  req.resume();
  // A 204 or 304 with a length (node:http sends what it is given): the length stops at the gateway.
  const bodiless = Number(/^\/nobody\/(\d+)/.exec(req.url ?? '')?.[1]);
  if (bodiless) return void res.writeHead(bodiless, { 'content-length': '0', 'x-app': 'yes' }).end();
  res.writeHead(201, { 'x-app': 'yes', 'keep-alive': 'timeout=99', 'proxy-connection': 'x', 'content-type': 'text/plain', connection: 'x-app-hop', 'x-app-hop': 'no' });
  res.end('made');
});

const gateway = new Gateway(buildSettings({ metrics: 'no', log_calls: 'no', timeout: '5' }), paths);
const server = http.createServer(gateway.handle);
let port = 0;
t.before(async () => {
  fs.mkdirSync(path.dirname(functionSocketPath(paths, 'svc')), { recursive: true });
  app.listen(functionSocketPath(paths, 'svc'));
  server.listen(0, '127.0.0.1');
  await Promise.all([once(app, 'listening'), once(server, 'listening')]);
  port = (server.address() as { port: number }).port;
});
t.teardown(() => {
  gateway.close();
  server.close();
  app.close();
  server.closeAllConnections();
});

// node:http, not fetch: fetch would resolve a %2e%2e in the path before sending it.
const call = async (url: string, headers: Record<string, string> = {}, method = 'GET') => {
  const req = http.request({ host: '127.0.0.1', port, path: url, method, headers, agent: false });
  req.end();
  const [r] = (await once(req, 'response')) as [http.IncomingMessage];
  const chunks: Buffer[] = [];
  for await (const c of r) chunks.push(c as Buffer);
  const text = Buffer.concat(chunks).toString();
  const code = r.headers['content-type'] === 'application/json' ? (JSON.parse(text) as { error?: { code: string } }).error?.code : undefined;
  return { status: r.statusCode, code, text, headers: r.headers };
};

t.test('answers of its own, each with the status of its code', async (t) => {
  t.match(await call('/healthz'), { status: 200, text: '{"status":"ok"}\n' });
  t.match(await call('/nothing'), { status: 404, code: 'FAASS_E_ROUTE_MISSING' });
  t.match(await call('/function/Bad'), { status: 400, code: 'FAASS_E_NAME_INVALID' });
  t.match(await call('/function/%2e%2e'), { status: 400, code: 'FAASS_E_NAME_INVALID' });
  t.match(await call('/function/nope'), { status: 404, code: 'FAASS_E_FUNCTION_NOT_FOUND' });
  t.match(await call('/', { 'x-function': 'nope' }), { status: 404, code: 'FAASS_E_FUNCTION_NOT_FOUND' });
  t.match(await call('/function/broken'), { status: 503, code: 'FAASS_E_CONFIG_BROKEN' }, 'a file that does not parse');
  t.match(await call('/metrics'), { status: 404, code: 'FAASS_E_ROUTE_MISSING' }, 'metrics = no');
  t.match(await call('/system/functions', { authorization: `Bearer ${ci}` }), { status: 404, code: 'FAASS_E_API_DISABLED' }, 'no admin credential: no API');
});

t.test('a protected service: 401 without a credential, forwarded with one', async (t) => {
  const denied = await call('/function/svc');
  t.match(denied, { status: 401, code: 'FAASS_E_AUTH_REQUIRED' });
  t.match(denied.headers['www-authenticate'], /^Bearer realm="faass"/);
  const r = await call('/function/svc/a?b=1', { authorization: `Bearer ${ci}`, 'proxy-authorization': 'Basic eDp5', 'x-mine': 'kept', 'x-call-id': 'call-1', 'x-forwarded-for': '198.51.100.7', connection: 'close, x-client-hop', 'x-client-hop': 'no' }, 'POST');
  t.match(r, { status: 201, text: 'made' });
  t.equal(r.headers['x-app'], 'yes');
  t.equal(r.headers['x-call-id'], 'call-1', "the client's call id is kept and answered");
  t.equal(r.headers['keep-alive'], undefined, "the service's hop-by-hop headers stop here");
  t.equal(r.headers['proxy-connection'], undefined);
  t.equal(received.authorization, undefined, "the caller's credential stays in the gateway");
  t.equal(received['proxy-authorization'], undefined);
  t.equal(received['x-mine'], 'kept');
  t.equal(received['x-client-hop'], undefined, 'a header the client named in Connection is hop-by-hop (RFC 9110 7.6.1)');
  t.equal(r.headers['x-app-hop'], undefined, 'so is one the service named');
  t.equal(received['x-call-id'], 'call-1');
  t.equal(received['x-forwarded-for'], '198.51.100.7, 127.0.0.1');
  t.equal(received['content-length'], '0');
});

t.test("a service's 204 and 304 reach the client with no Content-Length", async (t) => {
  for (const status of [204, 304]) {
    const s = net.connect(port, '127.0.0.1');
    s.write(`GET /function/svc/nobody/${status} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${ci}\r\nConnection: close\r\n\r\n`);
    const chunks: Buffer[] = [];
    s.on('data', (d: Buffer) => chunks.push(d));
    await once(s, 'close');
    const text = Buffer.concat(chunks).toString('latin1');
    t.match(text, new RegExp(`^HTTP/1.1 ${status} `));
    t.match(text, /\r\nx-app: yes\r\n/i, 'the answer is the service\'s');
    t.notMatch(text, /content-length/i, `${status}: no Content-Length`);
    t.ok(text.endsWith('\r\n\r\n'), `${status}: nothing after the head`);
  }
});

t.test('a service answering 101 with no upgrade asked: refused, and the next call is answered', async (t) => {
  t.match(await call('/function/svc/nobody/101', { authorization: `Bearer ${ci}` }), { status: 502, code: 'FAASS_E_STATUS_INVALID', text: /Function svc answered status 101;/ });
  t.match(await call('/function/svc/a', { authorization: `Bearer ${ci}` }), { status: 201, text: 'made' });
});

t.test('a function whose runner cannot be reached: 502 after one retry', async (t) => {
  t.match(await call('/function/open'), { status: 502, code: 'FAASS_E_FUNCTION_UNREACHABLE' }, 'no socket at all');
  // A "runner" that takes each connection and drops it before any answer byte: tried twice.
  let connections = 0;
  const dropper = net.createServer((c) => {
    connections++;
    c.destroy();
  });
  dropper.listen(functionSocketPath(paths, 'open'));
  await once(dropper, 'listening');
  t.teardown(() => dropper.close());
  t.match(await call('/function/open'), { status: 502, code: 'FAASS_E_FUNCTION_UNREACHABLE' }, 'a runner that drops the call');
  t.equal(connections, 2, 'the call and one retry on a fresh connection, no more');
});
