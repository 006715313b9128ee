// One failed call, one log line: the runner's call line, which says why (faass-runner(8)).
import t, { Test } from 'tap';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { buildFunctionConfig, FunctionConfig } from '../../src/functions/function-config';
import { CallRunner } from '../../src/runner/runner';
import { WorkerPool } from '../../src/runner/worker-pool';
import { processTransport, Transport, TransportEvents } from '../../src/runner/worker-transport';
import { CallResult, Executor } from '../../src/runner/call';
import { ROOT } from '../support/root';

const PYTHON_WORKER = path.join(ROOT, 'src/runner/workers/python-worker.py');

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

const call = (id: string) => ({ method: 'POST', url: '/', headers: { 'x-call-id': id }, body: Buffer.from('x') });

// A python function whose handler raises, in a real warm worker process.
function raisingPython(t: Test, extra: Record<string, unknown> = {}): { cfg: FunctionConfig; pool: WorkerPool } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'faass-py-'));
  fs.writeFileSync(path.join(dir, 'handler.py'), 'def handle(req):\n    raise ValueError("boom")\n');
  const cfg = buildFunctionConfig('pyfail', { runtime: 'python', file: 'handler.py', workers: '1', ...extra });
  const pool = new WorkerPool(cfg, (on) => processTransport(['python3', PYTHON_WORKER, path.join(dir, 'handler.py'), ''], dir, { PATH: process.env.PATH ?? '/usr/bin:/bin', PYTHONDONTWRITEBYTECODE: '1' }, cfg.name, on));
  t.teardown(async () => {
    await pool.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  return { cfg, pool };
}

t.test('a python handler that raises: a 500, and one journal line, the call line with the traceback', async (t) => {
  const { cfg, pool } = raisingPython(t);
  const runner = new CallRunner(cfg, pool);
  const { lines, value: r } = await logLines(() => runner.run(call('py-fail-1')));
  t.equal(r.status, 500);
  t.match(JSON.parse(r.body.toString()), { error: { code: 'FAASS_E_FUNCTION_FAILED', message: /details in the journal, call py-fail-1/ } });
  t.notMatch(r.body.toString(), /boom/, 'the traceback is not in the answer');
  t.equal(lines.length, 1, `one line: ${JSON.stringify(lines)}`);
  t.match(lines[0], /^err: call=py-fail-1 function=pyfail status=500 duration=\d+\.\d{6} start=cold error=FAASS_E_FUNCTION_FAILED reason="Traceback .*ValueError: boom\\n"$/, 'at err, with the code and the traceback, quoted on one line');
});

t.test('with log_calls=no, a failed call still has its one line, a good one none', async (t) => {
  const { cfg, pool } = raisingPython(t);
  const runner = new CallRunner(cfg, pool, false);
  const failed = await logLines(() => runner.run(call('py-fail-2')));
  t.equal(failed.lines.length, 1);
  t.match(failed.lines[0], /^err: call=py-fail-2 .* error=FAASS_E_FUNCTION_FAILED /);
  const ok: Executor = { invoke: async (): Promise<CallResult> => ({ status: 200, headers: {}, body: Buffer.from('ok') }), close: async () => undefined, describe: () => 'ok' };
  const good = await logLines(() => new CallRunner(cfg, ok, false).run(call('good-1')));
  t.same(good.lines, [], 'no line for a call that did not fail');
});

t.test('a node handler that throws (the worker reports its stack): one line', async (t) => {
  const cfg = buildFunctionConfig('nodefail', { runtime: 'node', file: 'handler.js', workers: '1' });
  // The pool's side of a worker thread: ready, then an error with the handler's stack.
  const pool = new WorkerPool(cfg, (on: TransportEvents): Transport => {
    setImmediate(() => on.message({ ready: true }));
    return { label: 'thread 1', send: (req) => setImmediate(() => on.message({ id: req.id, ok: false, error: 'Error: boom\n    at handler (/code/handler.js:1:7)' })), kill: () => undefined };
  });
  const { lines, value: r } = await logLines(() => new CallRunner(cfg, pool).run(call('node-fail-1')));
  t.equal(r.status, 500);
  t.equal(lines.length, 1, `one line: ${JSON.stringify(lines)}`);
  t.match(lines[0], /^err: call=node-fail-1 function=nodefail status=500 .* error=FAASS_E_FUNCTION_FAILED reason="Error: boom\\n {4}at handler/);
});

t.test('calls refused over max_inflight (429): each one line at most, within the call log budget', async (t) => {
  const cfg = buildFunctionConfig('busy', { runtime: 'exec', command: 'cat', max_inflight: '1' });
  let release!: () => void;
  const held = new Promise<void>((r) => (release = r));
  const slow: Executor = { invoke: async (): Promise<CallResult> => (await held, { status: 200, headers: {}, body: Buffer.alloc(0) }), close: async () => undefined, describe: () => 'slow' };
  const runner = new CallRunner(cfg, slow);
  const { lines } = await logLines(async () => {
    const first = runner.run(call('busy-0'));
    const refused = await Promise.all(Array.from({ length: 150 }, (_, i) => runner.run(call(`busy-${i + 1}`))));
    t.ok(refused.every((r) => r.status === 429 && r.headers['retry-after'] === '1'), '429 with Retry-After');
    release();
    await first;
    runner.close(); // the summary of the calls over the budget
  });
  for (let i = 1; i <= 150; i++) {
    const mentions = lines.filter((l) => new RegExp(`\\bbusy-${i}\\b`).test(l)).length;
    if (mentions > 1) t.fail(`call busy-${i} is in ${mentions} lines`);
  }
  const other = lines.filter((l) => !/^warning: call=busy-\d+ function=busy status=429 .* error=FAASS_E_TOO_MANY_REQUESTS reason="Function busy already runs max_inflight=1 requests"$/.test(l) && !/^\w+: calls=\d+ function=busy .*not logged one by one/.test(l) && !/^info: call=busy-0 /.test(l));
  t.same(other, [], 'no line but the call lines and the budget summary');
  t.ok(lines.length <= 2 * 100 + 2 + 1, `the budget holds (${lines.length} lines for 151 calls)`);
});
