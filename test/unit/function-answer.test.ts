// What of a function's answer reaches a client: the pure rules (core/function-answer.ts), the
// runner applying them to every runtime's answer (CallRunner, its HTTP side), and the gateway
// applying them again to whatever a runner's faass-rpc frame says.
import t from 'tap';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { once } from 'node:events';
import { FAASS_ANSWER_HEADERS, isFinalStatus, onTheWire, passableHeaders } from '../../src/core/function-answer';
import { FrameDecoder, RpcRequestMeta, encodeFrame } from '../../src/core/rpc';
import { buildFunctionConfig } from '../../src/functions/function-config';
import { CallRunner, httpHandler } from '../../src/runner/runner';
import { CallResult, Executor } from '../../src/runner/call';
import { RunnerForwarder } from '../../src/gateway/runner-forward';
import { resolvePaths, functionSocketPath } from '../../src/core/paths';
import { log } from '../../src/observe/log';

// What functions set in the tests below: their own call id, in another case, and every framing header.
const FUNCTION_HEADERS = { 'X-Call-Id': 'from-the-function', 'X-Faass-Start': 'never', Connection: 'close, X-Hop', 'X-Hop': 'hop', 'Transfer-Encoding': 'chunked', 'Content-Length': '999', Upgrade: 'h2c', 'Keep-Alive': 'timeout=1', 'Proxy-Connection': 'x', TE: 'trailers', Trailer: 'x-t', 'X-Mine': 'yes' };

t.test('a function may answer 200-599, nothing else', async (t) => {
  for (const s of [200, 204, 304, 418, 599]) t.ok(isFinalStatus(s), `${s} passes`);
  for (const s of [0, 99, 100, 101, 103, 199, 600, 999, 200.5, NaN]) t.notOk(isFinalStatus(s), `${s} is refused`);
});

t.test('headers pass on lowercased, without framing ones, those Connection names, or reserved ones', async (t) => {
  t.same(passableHeaders(FUNCTION_HEADERS), { 'x-call-id': 'from-the-function', 'x-faass-start': 'never', 'x-mine': 'yes' });
  t.same(passableHeaders(FUNCTION_HEADERS, FAASS_ANSWER_HEADERS), { 'x-mine': 'yes' }, "faass's own headers are faass's");
  t.same(passableHeaders({ 'X-Call-Id': 'a', 'x-call-id': 'b' }), { 'x-call-id': 'b' }, 'one header per name, whatever the case');
});

t.test('on the wire: the length of the body sent, and none of either on 204 and 304', async (t) => {
  t.same(onTheWire({ status: 200, headers: { 'x-a': 'b' }, body: Buffer.from('hi') }), { headers: { 'x-a': 'b', 'content-length': '2' }, body: Buffer.from('hi') });
  t.same(onTheWire({ status: 200, headers: {}, body: Buffer.alloc(0) }).headers, { 'content-length': '0' }, 'an empty body says so');
  for (const status of [204, 304]) t.same(onTheWire({ status, headers: { 'x-a': 'b' }, body: Buffer.from('oops') }), { headers: { 'x-a': 'b' }, body: Buffer.alloc(0) }, `${status}: no body, no length`);
});

// An executor that answers what the test says.
class Says implements Executor {
  constructor(public answer: CallResult) {}
  async invoke(): Promise<CallResult> {
    return this.answer;
  }
  async close(): Promise<void> {}
  describe(): string {
    return 'says';
  }
}

// The log lines written while fn runs (no journal here: log.ts writes "PRIORITY: message" to stderr).
async function logLines<T>(fn: () => Promise<T>): Promise<{ lines: string[]; value: T }> {
  const lines: string[] = [];
  const write = process.stderr.write;
  process.stderr.write = ((chunk: string | Uint8Array) => {
    lines.push(...String(chunk).split('\n').filter(Boolean));
    return true;
  }) as typeof process.stderr.write;
  try {
    return { lines, value: await fn() };
  } finally {
    process.stderr.write = write;
  }
}

const cfg = buildFunctionConfig('fn', { runtime: 'exec', command: 'true' });
const input = (id: string) => ({ method: 'GET', url: '/', headers: { 'x-call-id': id }, body: Buffer.alloc(0) });

t.test('the runner refuses a status that is not final: 502, and its call line says which', async (t) => {
  for (const status of [100, 101, 199, 600]) {
    const { lines, value: r } = await logLines(() => new CallRunner(cfg, new Says({ status, headers: FUNCTION_HEADERS, body: Buffer.from('x') })).run(input(`st-${status}`)));
    t.equal(r.status, 502, `${status}: 502`);
    t.match(JSON.parse(r.body.toString()), { error: { code: 'FAASS_E_STATUS_INVALID', message: new RegExp(`^Function fn answered status ${status}; `) } });
    t.equal(lines.length, 1, `${status}: one line`);
    t.match(lines[0], new RegExp(`^err: call=st-${status} function=fn status=502 .* error=FAASS_E_STATUS_INVALID reason="Function fn answered status ${status};`), `${status}: the call line names the status the function tried`);
  }
});

t.test("the runner's answer: faass's headers once, the function's framing headers dropped", async (t) => {
  const r = await new CallRunner(cfg, new Says({ status: 201, headers: FUNCTION_HEADERS, body: Buffer.from('made') }), false).run(input('mine'));
  t.equal(r.status, 201);
  t.same(Object.keys(r.headers).sort(), ['x-call-id', 'x-duration-seconds', 'x-faass-start', 'x-mine']);
  t.equal(r.headers['x-call-id'], 'mine', "the call id is faass's");
  t.equal(r.headers['x-faass-start'], 'cold');
});

// A raw HTTP exchange on a fresh connection: the bytes as sent, headers lowercased, in order.
async function rawExchange(connect: () => net.Socket, request: string): Promise<{ text: string; fields: string[] }> {
  const s = connect();
  s.write(request); // not end(): a half-closed client is a client gone, to node:http
  const chunks: Buffer[] = [];
  s.on('data', (d: Buffer) => chunks.push(d));
  await once(s, 'close');
  const text = Buffer.concat(chunks).toString('latin1');
  const head = text.slice(0, text.indexOf('\r\n\r\n'));
  return { text, fields: head.split('\r\n').slice(1).map((f) => f.toLowerCase()) };
}

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'faass-answer-'));
t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));

t.test("the runner's own HTTP side: 204 and 304 with no length and no body", async (t) => {
  const exec = new Says({ status: 204, headers: FUNCTION_HEADERS, body: Buffer.from('oops') });
  const server = http.createServer(httpHandler(new CallRunner(cfg, exec, false)));
  const sock = path.join(dir, 'runner.sock');
  server.listen(sock);
  await once(server, 'listening');
  t.teardown(() => void server.close());
  for (const status of [204, 304]) {
    exec.answer = { ...exec.answer, status };
    const { text, fields } = await rawExchange(() => net.connect(sock), 'GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    t.match(text, new RegExp(`^HTTP/1.1 ${status} `), `${status} passed on`);
    t.notOk(fields.some((f) => f.startsWith('content-length:')), `${status}: no Content-Length`);
    t.ok(text.endsWith('\r\n\r\n'), `${status}: nothing after the head`);
    t.equal(fields.filter((f) => f.startsWith('x-call-id:')).length, 1, `${status}: one X-Call-Id`);
  }
});

t.test('the gateway checks a runner\'s answer again: no 1xx, no framing headers, its call id once', async (t) => {
  const quiet = log.warning;
  const warnings: string[] = [];
  log.warning = (m: string) => void warnings.push(m);
  t.teardown(() => void (log.warning = quiet));
  // A runner that breaks every rule: a faass-rpc peer answering whatever `meta` says.
  let meta = { s: 101, h: { ...FUNCTION_HEADERS } as Record<string, string> };
  const paths = resolvePaths({ HOME: dir, XDG_CONFIG_HOME: path.join(dir, 'c'), XDG_DATA_HOME: path.join(dir, 'd'), XDG_STATE_HOME: path.join(dir, 's'), XDG_RUNTIME_DIR: path.join(dir, 'r') });
  fs.mkdirSync(path.dirname(functionSocketPath(paths, 'rogue')), { recursive: true });
  const rogue = net.createServer((s) => {
    const decoder = new FrameDecoder<RpcRequestMeta>(true);
    s.on('data', (d: Buffer) => {
      for (const f of decoder.push(d)) s.write(encodeFrame(f.id, meta, Buffer.from('oops')));
    });
  });
  rogue.listen(functionSocketPath(paths, 'rogue'));
  const forwarder = new RunnerForwarder(paths, 5);
  const gateway = http.createServer((req, res) => void forwarder.forward({ id: 'gw-call', name: 'rogue', method: 'GET', path: '/', headers: {}, body: Buffer.alloc(0) }, res));
  gateway.listen(0, '127.0.0.1');
  await Promise.all([once(rogue, 'listening'), once(gateway, 'listening')]);
  t.teardown(() => {
    forwarder.close();
    gateway.close();
    rogue.close();
  });
  const port = (gateway.address() as net.AddressInfo).port;
  const ask = () => rawExchange(() => net.connect(port, '127.0.0.1'), 'GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
  for (const s of [101, 100]) {
    meta = { ...meta, s };
    const { text } = await ask();
    t.match(text, /^HTTP\/1.1 502 /, `${s}: 502`);
    t.match(text, new RegExp(`"code":"FAASS_E_STATUS_INVALID","message":"Function rogue answered status ${s};`));
    t.match(warnings.pop(), new RegExp(`^Call gw-call: the runner of rogue answered status ${s}, not passed on$`), `${s}: logged`);
  }
  meta = { ...meta, s: 200 };
  const ok = await ask();
  t.match(ok.text, /^HTTP\/1.1 200 /);
  t.same(ok.fields.filter((f) => f.startsWith('x-call-id:')), ['x-call-id: gw-call'], "one X-Call-Id, the gateway's");
  t.same(ok.fields.filter((f) => f.startsWith('content-length:')), ['content-length: 4'], 'the length of the body sent');
  for (const h of ['transfer-encoding', 'upgrade', 'keep-alive', 'x-hop', 'proxy-connection', 'te', 'trailer']) t.notOk(ok.fields.some((f) => f.startsWith(`${h}:`)), `no ${h}`);
  t.same(ok.fields.filter((f) => f.startsWith('connection:')), ['connection: close'], 'Connection is the one the client asked for');
  t.ok(ok.text.endsWith('\r\n\r\noops'));
  meta = { ...meta, s: 204 };
  const none = await ask();
  t.match(none.text, /^HTTP\/1.1 204 /);
  t.notOk(none.fields.some((f) => f.startsWith('content-length:')), '204: no Content-Length');
  t.ok(none.text.endsWith('\r\n\r\n'), '204: nothing after the head');
});
