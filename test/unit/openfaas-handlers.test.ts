// Handlers written for OpenFaaS's templates run unchanged in faass's real warm workers when the
// function's convention= says which template called them (faassctl up sets it from lang):
// node18-style (event, context) with context.status().succeed(), the classic node
// (body, callback), python3-http's handle(event, context) with event.body bytes, and
// python3's handle(req).
import t, { type Test } from 'tap';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { WorkerPool } from '../../src/runner/worker-pool';
import { processTransport, threadTransport } from '../../src/runner/worker-transport';
import { buildFunctionConfig } from '../../src/functions/function-config';
import { Call } from '../../src/runner/call';
import { within } from '../support/within';
import { compileNodeWorker, WORKERS } from '../support/workers';

t.setTimeout(60_000);

function tempDir(t: Test): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'faass-openfaas-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

const workerDir = tempDir(t);
compileNodeWorker(workerDir);

let seq = 0;
const call = (body: string, type = 'text/plain', query = ''): Call => ({ id: `c${++seq}`, method: 'POST', path: '/', query, headers: { 'content-type': type }, body: Buffer.from(body) });

function pool(t: Test, runtime: 'node' | 'python', convention: string, source: string): WorkerPool {
  const dir = tempDir(t);
  const file = runtime === 'node' ? 'handler.js' : 'handler.py';
  fs.writeFileSync(path.join(dir, file), source);
  const cfg = buildFunctionConfig('fn', { runtime, file, convention, timeout: '5', workers: '1' });
  const p = new WorkerPool(cfg, (on) =>
    runtime === 'node'
      ? threadTransport(path.join(workerDir, 'node-worker.js'), { file: path.join(dir, file), exportName: '', convention }, {}, cfg.name, on, [])
      : processTransport(['python3', path.join(WORKERS, 'python-worker.py'), path.join(dir, file), '', convention], dir, { PATH: process.env.PATH ?? '/usr/bin:/bin', PYTHONDONTWRITEBYTECODE: '1' }, cfg.name, on),
  );
  t.teardown(() => p.close());
  return p;
}

const NODE18 = `'use strict'
module.exports = async (event, context) => {
  if (event.query.fail) return context.fail('no thanks');
  return context.status(201).headers({ 'X-Template': 'node18' }).succeed({ hello: event.body.name, method: event.method });
}
`;

t.test('node18 style: event.body parsed JSON, context.status().headers().succeed()', async (t) => {
  const p = pool(t, 'node', 'openfaas-http', NODE18);
  const r = await within(p.invoke(call('{"name":"ada"}', 'application/json')), 'answer');
  t.equal(r.status, 201);
  t.equal(r.headers['x-template'], 'node18');
  t.same(JSON.parse(r.body.toString()), { hello: 'ada', method: 'POST' });
  const f = await within(p.invoke(call('{}', 'application/json', 'fail=1')), 'answer');
  t.equal(f.status, 500, 'context.fail: 500 with its text, as the template answers');
  t.equal(f.body.toString(), 'no thanks');
});

t.test('node18 style with the optional callback, and a plain returned value', async (t) => {
  const cb = pool(t, 'node', 'openfaas-http', "module.exports = (event, context, callback) => { setTimeout(() => callback(undefined, { got: event.body }), 5); };\n");
  const r = await within(cb.invoke(call('text')), 'answer');
  t.same(JSON.parse(r.body.toString()), { got: 'text' });
  const ret = pool(t, 'node', 'openfaas-http', "module.exports = async (event) => 'plain ' + event.body;\n");
  t.equal((await within(ret.invoke(call('x')), 'answer')).body.toString(), 'plain x');
});

t.test('classic node: handler(body, callback)', async (t) => {
  const p = pool(t, 'node', 'openfaas-classic', "module.exports = (context, callback) => { callback(undefined, { status: 'done: ' + context }); };\n");
  const r = await within(p.invoke(call('hi')), 'answer');
  t.equal(r.status, 200);
  t.same(JSON.parse(r.body.toString()), { status: 'done: hi' });
});

t.test('faass convention: the same node18 handler does not get its context methods', async (t) => {
  const p = pool(t, 'node', 'faass', NODE18);
  await t.rejects(within(p.invoke(call('{"name":"ada"}', 'application/json')), 'answer'), 'context.status is not a function there');
});

const python = spawnSync('python3', ['-c', 'pass']).status === 0;

t.test('python3-http: event.body bytes, event.query, a dict answer', { skip: !python && 'no python3' }, async (t) => {
  const p = pool(
    t,
    'python',
    'openfaas-http',
    `def handle(event, context):
    return {"statusCode": 202, "body": {"len": len(event.body), "kind": type(event.body).__name__, "q": event.query.get("q"), "m": event.method}, "headers": {"X-Template": "python3-http"}}
`,
  );
  const r = await within(p.invoke(call('abc', 'text/plain', 'q=1')), 'answer');
  t.equal(r.status, 202);
  t.equal(r.headers['x-template'], 'python3-http');
  t.same(JSON.parse(r.body.toString()), { len: 3, kind: 'bytes', q: '1', m: 'POST' });
});

t.test('python3 classic: handle(req) with the body text', { skip: !python && 'no python3' }, async (t) => {
  const p = pool(t, 'python', 'openfaas-classic', 'def handle(req):\n    return "got " + req\n');
  t.equal((await within(p.invoke(call('x')), 'answer')).body.toString(), 'got x');
});
