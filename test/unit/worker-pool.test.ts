// WorkerPool (src/runner/worker-pool.ts) with real warm workers: node worker threads running
// src/runner/workers/node-worker.ts, python processes running python-worker.py, fixture
// handlers in a temp dir.
import t, { type Test } from 'tap';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { BroadcastChannel } from 'node:worker_threads';
import { WorkerPool } from '../../src/runner/worker-pool';
import { processTransport, threadTransport } from '../../src/runner/worker-transport';
import { buildFunctionConfig } from '../../src/functions/function-config';
import { FaassError } from '../../src/core/errors';
import { Call } from '../../src/runner/call';
import { within } from '../support/within';
import { compileNodeWorker, WORKERS } from '../support/workers';

t.setTimeout(120_000);

// Polls a condition the test cannot wait for as an event (a process gone, a log line written).
async function until(what: string, cond: () => boolean, ms = 20_000): Promise<boolean> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) return false;
    await new Promise((r) => setTimeout(r, 20));
  }
  return true;
}

function tempDir(t: Test): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'faass-pool-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

const nodeWorkerDir = tempDir(t);
compileNodeWorker(nodeWorkerDir);

let callSeq = 0;
const call = (body = '', id = `call-${++callSeq}`): Call => ({ id, method: 'POST', path: '/', query: '', headers: { 'content-type': 'text/plain' }, body: Buffer.from(body) });

// A pool as WorkerPool.forRuntime makes it, with the workers from source.
function nodePool(t: Test, dir: string, file: string, settings: Record<string, string> = {}): WorkerPool {
  const cfg = buildFunctionConfig('fn', { runtime: 'node', file, timeout: '5', workers: '1', ...settings });
  const pool = new WorkerPool(cfg, (on) => threadTransport(path.join(nodeWorkerDir, 'node-worker.js'), { file: path.join(dir, file), exportName: '' }, {}, cfg.name, on, []));
  t.teardown(() => pool.close());
  return pool;
}

async function failure(p: Promise<unknown>): Promise<FaassError> {
  try {
    await within(p, 'answer');
  } catch (e) {
    if (e instanceof FaassError) return e;
    throw e;
  }
  throw new Error('the call succeeded');
}

const HANDLER = `
const { threadId } = require('node:worker_threads');
module.exports = async (event, context) => {
  switch (event.body) {
    case 'throw': throw new Error('boom');
    case 'exit': process.exit(3);
    case 'hang': return new Promise(() => {});
    case 'big': return 'x'.repeat(2000);
    case 'print':
      console.log('out of ' + context.callId);
      console.error('err of ' + context.callId);
      return 'printed';
    default: return { statusCode: 201, headers: { 'X-Thread': String(threadId) }, body: 'echo:' + event.body };
  }
};
`;

function handlerDir(t: Test): string {
  const dir = tempDir(t);
  fs.writeFileSync(path.join(dir, 'handler.js'), HANDLER);
  return dir;
}

t.test('node: a handler that returns is answered with its status, headers and body', async (t) => {
  const pool = nodePool(t, handlerDir(t), 'handler.js');
  const r = await within(pool.invoke(call('hi')), 'answer');
  t.equal(r.status, 201);
  t.equal(r.body.toString(), 'echo:hi');
  t.equal(r.headers['content-type'], 'text/plain; charset=utf-8', 'the default content type is added');
  t.ok(r.headers['x-thread'], 'the handler’s own headers are kept');
  const again = await within(pool.invoke(call('again')), 'answer');
  t.equal(again.headers['x-thread'], r.headers['x-thread'], 'the warm worker serves the next call');
});

t.test('node: a handler that throws fails that call only; the worker stays', async (t) => {
  const pool = nodePool(t, handlerDir(t), 'handler.js');
  const before = await within(pool.invoke(call('a')), 'answer');
  const e = await failure(pool.invoke(call('throw', 'call-throws')));
  t.equal(e.code, 'FAASS_E_FUNCTION_FAILED');
  t.match(e.message, /call-throws/, 'the message names the call (the stack is in the journal)');
  t.notMatch(e.message, /boom/, 'the handler’s error text is not given to the caller');
  const after = await within(pool.invoke(call('b')), 'answer');
  t.equal(after.headers['x-thread'], before.headers['x-thread'], 'the same worker serves on');
});

t.test('node: process.exit in a handler fails the call as a crash; a new worker serves the next', async (t) => {
  const pool = nodePool(t, handlerDir(t), 'handler.js');
  const before = await within(pool.invoke(call('a')), 'answer');
  const e = await failure(pool.invoke(call('exit')));
  t.equal(e.code, 'FAASS_E_WORKER_CRASHED');
  t.match(e.message, /exited with status 3/);
  const after = await within(pool.invoke(call('b')), 'answer');
  t.equal(after.body.toString(), 'echo:b');
  t.not(after.headers['x-thread'], before.headers['x-thread'], 'served by a new worker');
});

t.test('node: a handler that hangs past the timeout fails with a timeout; its worker is replaced', async (t) => {
  const pool = nodePool(t, handlerDir(t), 'handler.js', { timeout: '1' }); // counts from invoke: the first includes the worker's start
  const before = await within(pool.invoke(call('a')), 'answer');
  const e = await failure(pool.invoke(call('hang')));
  t.equal(e.code, 'FAASS_E_FUNCTION_TIMEOUT');
  t.match(e.message, /timed out after 1s/);
  const after = await within(pool.invoke(call('b')), 'answer');
  t.equal(after.body.toString(), 'echo:b', 'the next call is answered');
  t.not(after.headers['x-thread'], before.headers['x-thread'], 'by a new worker: the hanging one was terminated');
});

t.test('node: output over max_output is refused', async (t) => {
  const pool = nodePool(t, handlerDir(t), 'handler.js', { max_output: '1000' });
  const e = await failure(pool.invoke(call('big')));
  t.equal(e.code, 'FAASS_E_OUTPUT_TOO_LARGE');
  t.equal((await within(pool.invoke(call('small')), 'answer')).body.toString(), 'echo:small', 'the worker serves on');
});

t.test('node: a handler that cannot be loaded fails its calls at once, without a respawn loop', async (t) => {
  const dir = tempDir(t);
  fs.writeFileSync(path.join(dir, 'broken.js'), 'this is not javascript(');
  const pool = nodePool(t, dir, 'broken.js', { workers: '2' });
  const errors = await Promise.all([failure(pool.invoke(call())), failure(pool.invoke(call()))]);
  t.same(
    errors.map((e) => e.code),
    ['FAASS_E_HANDLER_LOAD', 'FAASS_E_HANDLER_LOAD'],
  );
});

t.test('node: at most `workers` calls run at once; the others wait their turn, none is lost', async (t) => {
  const dir = tempDir(t);
  // Each call says it started, then waits until the test releases it (a channel all threads share).
  fs.writeFileSync(
    path.join(dir, 'gate.js'),
    `const { BroadcastChannel } = require('node:worker_threads');
     module.exports = (event) => new Promise((resolve) => {
       const ch = new BroadcastChannel('gate');
       ch.onmessage = (m) => { if (m.data === event.body) { ch.close(); resolve('done ' + event.body); } };
       new BroadcastChannel('gate').postMessage('started ' + event.body);
     });`,
  );
  const started: string[] = [];
  const gate = new BroadcastChannel('gate');
  gate.onmessage = (m) => {
    const text = String((m as { data: unknown }).data);
    if (text.startsWith('started ')) started.push(text.slice(8));
  };
  t.teardown(() => gate.close());
  const pool = nodePool(t, dir, 'gate.js', { workers: '2' });
  const names = ['a', 'b', 'c', 'd', 'e'];
  const answers = names.map((n) => pool.invoke(call(n)));
  t.ok(await until('two started', () => started.length === 2), 'two calls start');
  // A third, if the pool let it, would start within this time. A slow machine can only make the
  // test miss that bug, never fail a correct pool.
  await new Promise((r) => setTimeout(r, 300));
  t.equal(started.length, 2, 'and only two, with workers=2');
  t.same(started.slice().sort(), ['a', 'b'], 'in the order they came');
  gate.postMessage('a');
  t.equal((await within(answers[0], 'answer')).body.toString(), 'done a');
  t.ok(await until('third started', () => started.length === 3), 'a finished call lets the next one start');
  t.equal(started[2], 'c');
  for (const n of ['b', 'c', 'd', 'e']) {
    await until(`${n} started`, () => started.includes(n));
    gate.postMessage(n);
  }
  const bodies = (await within(Promise.all(answers), 'answers')).map((r) => r.body.toString());
  t.same(bodies, ['done a', 'done b', 'done c', 'done d', 'done e'], 'every call answered with its own result');
});

t.test('node: what a handler prints is logged with its call id, one call after another on one worker', async (t) => {
  const pool = nodePool(t, handlerDir(t), 'handler.js');
  await within(pool.invoke(call('warm-up')), 'answer');
  const lines: string[] = [];
  const write = process.stderr.write.bind(process.stderr);
  process.stderr.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
    lines.push(String(chunk));
    return (write as (c: string | Uint8Array, ...r: unknown[]) => boolean)(chunk, ...rest);
  }) as typeof process.stderr.write;
  t.teardown(() => {
    process.stderr.write = write;
  });
  await within(pool.invoke(call('print', 'call-one')), 'answer');
  await within(pool.invoke(call('print', 'call-two')), 'answer');
  const has = (re: RegExp) => until(String(re), () => lines.some((l) => re.test(l)));
  t.ok(await has(/fn\[call-one\]: out of call-one/), 'stdout of the first call carries its id');
  t.ok(await has(/fn\[call-one\]: err of call-one/), 'so does its stderr');
  t.ok(await has(/fn\[call-two\]: out of call-two/), 'the second call’s output carries the second id');
  t.ok(await has(/fn\[call-two\]: err of call-two/));
  t.notOk(
    lines.some((l) => /\[call-one\]: (out|err) of call-two|\[call-two\]: (out|err) of call-one/.test(l)),
    'no line is given the other call’s id',
  );
  t.notOk(
    lines.some((l) => l.includes('faass-call')),
    'the marks themselves are not logged',
  );
});

t.test('node: close ends the workers', async (t) => {
  const pool = nodePool(t, handlerDir(t), 'handler.js');
  await within(pool.invoke(call('a')), 'answer');
  const hanging = pool.invoke(call('hang'));
  await pool.close();
  const e = await failure(hanging);
  t.equal(e.code, 'FAASS_E_WORKER_CRASHED', 'a call still running when the pool closes is answered, not left hanging');
});

// python: real processes, each its own process group.
const python = spawnSync('python3', ['-c', 'pass']).status === 0;

function pythonPool(t: Test, dir: string, settings: Record<string, string> = {}): WorkerPool {
  const cfg = buildFunctionConfig('py', { runtime: 'python', file: 'handler.py', timeout: '5', workers: '1', ...settings });
  const pool = new WorkerPool(cfg, (on) =>
    processTransport(['python3', path.join(WORKERS, 'python-worker.py'), path.join(dir, 'handler.py'), ''], dir, { PATH: process.env.PATH ?? '/usr/bin:/bin', PYTHONDONTWRITEBYTECODE: '1', PYTHONUNBUFFERED: '1' }, cfg.name, on),
  );
  t.teardown(() => pool.close());
  return pool;
}

const PY_HANDLER = `
import os, subprocess, time
def handle(event, context):
    body = event["body"]
    if body == "exit":
        os._exit(4)
    if body.startswith("hang "):
        # a grandchild too: the timeout must take the whole process group
        child = subprocess.Popen(["sleep", "300"])
        with open(body[5:], "w") as f:
            f.write("%d %d" % (os.getpid(), child.pid))
        time.sleep(300)
    return {"statusCode": 200, "headers": {"x-pid": str(os.getpid())}, "body": "py:" + body}
`;

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    return !/^\d+ \(.*\) Z/.test(fs.readFileSync(`/proc/${pid}/stat`, 'utf8')); // a zombie is gone
  } catch {
    return false;
  }
};

t.test('python: a crash and a timeout each replace the worker process; the timeout kills its process group', { skip: python ? false : 'no python3' }, async (t) => {
  const dir = tempDir(t);
  fs.writeFileSync(path.join(dir, 'handler.py'), PY_HANDLER);
  const pool = pythonPool(t, dir, { timeout: '2' }); // counts from invoke: the first includes python's start
  const first = await within(pool.invoke(call('a')), 'answer');
  t.equal(first.body.toString(), 'py:a');
  const crash = await failure(pool.invoke(call('exit')));
  t.equal(crash.code, 'FAASS_E_WORKER_CRASHED');
  t.match(crash.message, /exited with status 4/);
  const second = await within(pool.invoke(call('b')), 'answer');
  t.not(second.headers['x-pid'], first.headers['x-pid'], 'a new process after the crash');

  const pids = path.join(dir, 'pids');
  const timeout = await failure(pool.invoke(call(`hang ${pids}`)));
  t.equal(timeout.code, 'FAASS_E_FUNCTION_TIMEOUT');
  const [worker, grandchild] = fs.readFileSync(pids, 'utf8').split(' ').map(Number);
  t.equal(String(worker), second.headers['x-pid'], 'the call ran on the warm worker');
  t.ok(await until('worker gone', () => !alive(worker)), 'the timed-out worker is killed');
  t.ok(await until('grandchild gone', () => !alive(grandchild)), 'and the process it started');
  const third = await within(pool.invoke(call('c')), 'answer');
  t.equal(third.body.toString(), 'py:c', 'the next call is answered');
  t.not(third.headers['x-pid'], second.headers['x-pid'], 'by a new process');
});

// A file drop's call outbox (runner/outboxes.ts) reaches warm handlers in the call's message: the
// node handler's context, the python handler's context and, per call, its FAASS_OUTBOX (OpenFaaS's
// handle(req) has no context); a call without one leaves neither behind from the last.
t.test('the outbox reaches node and python handlers per call, and does not outlive its call', async (t) => {
  const dir = tempDir(t);
  fs.writeFileSync(path.join(dir, 'handler.js'), 'module.exports = async (event, context) => String(context.outbox);\n');
  const node = nodePool(t, dir, 'handler.js');
  t.equal((await node.invoke({ ...call(), outbox: '/srv/in/.faass/in/.open-1-a' })).body.toString(), '/srv/in/.faass/in/.open-1-a');
  t.equal((await node.invoke(call())).body.toString(), 'undefined');
  fs.writeFileSync(path.join(dir, 'handler.py'), 'import os\ndef handle(event, context):\n    return "%s %s" % (context.get("outbox"), os.environ.get("FAASS_OUTBOX"))\n');
  const py = pythonPool(t, dir);
  t.equal((await py.invoke({ ...call(), outbox: '/srv/in/.faass/in/.open-2-b' })).body.toString(), '/srv/in/.faass/in/.open-2-b /srv/in/.faass/in/.open-2-b');
  t.equal((await py.invoke(call())).body.toString(), 'None None', 'the next call, with none: neither');
});
