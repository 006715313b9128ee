// Metrics of asynchronous calls (issue 13, Observability): what the spool holds, read at the
// scrape; attempts by result and callback failures, counted by the dispatcher into a file of its
// own that outlives it; the exposition and faassctl status's rows.
import t from 'tap';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { resolvePaths, functionConfPath } from '../../src/core/paths';
import { enqueue, bury, waiting, entryName } from '../../src/queue/spool';
import { figuresOf, queueFigures, allQueueFigures } from '../../src/queue/figures';
import { attemptResult, countAttempt, countCallbackFailure, flushQueueCounters } from '../../src/queue/counters';
import { Dispatcher, Deliver } from '../../src/queue/dispatcher';
import { readMetrics, queueMetricsPath, functionMetricsPath, emptyMetrics, merge, subtract } from '../../src/observe/metrics-store';
import { GatewayMetrics } from '../../src/gateway/metrics';
import { buildFunctionConfig, renderFunctionConfig } from '../../src/functions/function-config';
import { renderQueues } from '../../src/faassctl/status';

const tmpPaths = (t: { teardown(f: () => void): void }) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'faass-qmetrics-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  return resolvePaths({ HOME: dir, XDG_STATE_HOME: dir, XDG_CONFIG_HOME: dir, XDG_DATA_HOME: dir, XDG_RUNTIME_DIR: dir });
};
const callOf = (name: string, n: number, enqueuedAt: number) => ({ id: `c0ffee00-0000-4000-8000-${String(n).padStart(12, '0')}`, name, method: 'POST', path: '/', headers: {}, enqueuedAt, body: Buffer.from('x') });
const deploy = (p: ReturnType<typeof resolvePaths>, name: string, extra: Record<string, string> = {}) => {
  fs.mkdirSync(path.dirname(functionConfPath(p, name)), { recursive: true });
  fs.writeFileSync(functionConfPath(p, name), renderFunctionConfig(buildFunctionConfig(name, { runtime: 'exec', command: 'cat', ...extra })));
};

t.test('how an attempt ended', async (t) => {
  t.equal(attemptResult({ status: 200 }, { then: 'done' }), 'success');
  t.equal(attemptResult({ status: 302 }, { then: 'done' }), 'success', 'any answer below 400 that ends the call');
  t.equal(attemptResult({ status: 404 }, { then: 'done' }), 'error', 'a 4xx ends the call, as an error');
  t.equal(attemptResult({ status: 500 }, { then: 'retry', at: 1 }), 'retry');
  t.equal(attemptResult({ error: 'ECONNREFUSED on the socket', notStarted: true }, { then: 'retry', at: 1 }), 'retry');
  t.equal(attemptResult({ error: 'its dispatcher stopped during the attempt' }, { then: 'dead', why: '3 attempts failed' }), 'dead');
});

t.test("a queue's figures from its file names alone", async (t) => {
  const q = figuresOf(['0000000002000-b.call', '0000000002000-b.state', '0000000001000-a.call', '.0000000000500-z.call.1.ab.tmp', 'done', 'keys', '.closed'], ['0000000000100-d.call', '0000000000100-d.state', '0000000000200-e.call.corrupt', '0000000000300-f.call']);
  t.same(q, { queued: 2, oldestAt: 1000, dead: 2 }, 'calls only: no state, temporary file, directory or .corrupt file counts');
  t.same(figuresOf([], []), { queued: 0, oldestAt: null, dead: 0 }, 'an empty queue has no oldest call');
  const p = tmpPaths(t);
  t.same(await queueFigures(p, 'none'), { queued: 0, oldestAt: null, dead: 0 }, 'no queue at all: zeros, no error');
  await enqueue(p, callOf('fn', 1, 5000), 100);
  await enqueue(p, callOf('fn', 2, 4000), 100);
  await enqueue(p, callOf('fn', 3, 6000), 100);
  await bury(p, 'fn', `${entryName(callOf('fn', 3, 6000))}.call`);
  t.same(await queueFigures(p, 'fn'), { queued: 2, oldestAt: 4000, dead: 1 }, 'from the spool: two waiting (the oldest queued at 4000), one dead');
  fs.writeFileSync(queueMetricsPath(p), '{}');
  t.same([...(await allQueueFigures(p)).keys()], ['fn'], 'every queue; the doorbells and the counts file are no function');
});

t.test("the dispatcher's counts: a file of its own, only what it counts", async (t) => {
  const p = tmpPaths(t);
  countAttempt(p, 'fn', 'retry');
  countAttempt(p, 'fn', 'retry');
  countAttempt(p, 'fn', 'success');
  countCallbackFailure(p, 'fn');
  flushQueueCounters();
  t.ok(queueMetricsPath(p).startsWith(path.join(p.stateDir, 'queue') + path.sep), "inside the queue: the only state the dispatcher's unit may write");
  const m = readMetrics(p);
  t.same(m.asyncAttempts, { fn: { retry: 2, success: 1 } }, 'attempts by result, read back');
  t.same(m.callbackFailures, { fn: 1 }, 'callback failures');
  countAttempt(p, 'fn', 'dead');
  flushQueueCounters();
  t.same(readMetrics(p).asyncAttempts.fn, { retry: 2, success: 1, dead: 1 }, 'a later dispatcher adds to them');
  // Forged or hand-edited: names that are no function's, results that are none, and a
  // function's own file claiming queue counts, are all left out.
  fs.writeFileSync(queueMetricsPath(p), JSON.stringify({ asyncAttempts: { fn: { success: 1, 'x"}': 5 }, 'Bad Name': { success: 1 } }, callbackFailures: { '../x': 3 }, invocations: { fn: { '200': 99 } } }));
  fs.mkdirSync(path.dirname(functionMetricsPath(p, 'other')), { recursive: true });
  fs.writeFileSync(functionMetricsPath(p, 'other'), JSON.stringify({ asyncAttempts: { other: { success: 7 } }, callbackFailures: { other: 7 } }));
  const forged = readMetrics(p);
  t.same(forged.asyncAttempts, { fn: { success: 1 } }, 'only known results of valid names, and never from a runner');
  t.same(forged.callbackFailures, {});
  t.same(forged.invocations, {}, "the dispatcher's file cannot claim calls through the gateway");
  const later = merge(emptyMetrics(), { asyncAttempts: { fn: { success: 5, retry: 2 } }, callbackFailures: { fn: 3 } });
  const earlier = merge(emptyMetrics(), { asyncAttempts: { fn: { success: 1 } }, callbackFailures: { fn: 1 } });
  const window = subtract(later, earlier);
  t.same([window.asyncAttempts, window.callbackFailures], [{ fn: { success: 4, retry: 2 } }, { fn: 2 }], 'a window of the history');
});

t.test('a dispatcher counts each attempt once, by how it ended', async (t) => {
  const p = tmpPaths(t);
  deploy(p, 'fn', { retries: '1' });
  const answers: Record<string, number> = { '/ok': 200, '/missing': 404, '/broken': 500 };
  const send: Deliver = async (_p, call) => ({ status: answers[call.path] });
  let n = 0;
  for (const where of ['/ok', '/missing', '/broken']) await enqueue(p, { ...callOf('fn', ++n, Date.now()), path: where }, 100);
  await new Dispatcher(p, send).run(); // returns when no call waits; its counts are written
  t.same(await waiting(p, 'fn'), [], 'the queue drained');
  t.same(readMetrics(p).asyncAttempts, { fn: { success: 1, error: 1, retry: 1, dead: 1 } }, '200: success; 404: error; 500 twice (retries 1): a retry, then dead');
});

t.test('the exposition: queue gauges from the spool, attempts and callback failures', async (t) => {
  const p = tmpPaths(t);
  deploy(p, 'fn');
  deploy(p, 'quiet');
  const now = Date.now();
  await enqueue(p, callOf('fn', 1, now - 30_000), 100);
  await enqueue(p, callOf('fn', 2, now - 5_000), 100);
  await enqueue(p, callOf('fn', 3, now), 100);
  await bury(p, 'fn', `${entryName(callOf('fn', 3, now))}.call`);
  countAttempt(p, 'fn', 'dead');
  countCallbackFailure(p, 'fn');
  flushQueueCounters();
  const metrics = new GatewayMetrics(p);
  t.teardown(() => metrics.close());
  const text = await metrics.render();
  t.match(text, /^# TYPE faass_async_queue_depth gauge$/m);
  t.match(text, /^faass_async_queue_depth\{function_name="fn"\} 2$/m, 'two calls waiting');
  t.match(text, /^faass_async_queue_depth\{function_name="quiet"\} 0$/m, 'a function that never had a call queued: 0, not absent');
  const age = Number(/^faass_async_queue_oldest_age_seconds\{function_name="fn"\} (\S+)$/m.exec(text)?.[1]);
  t.ok(age >= 30 && age < 3600, `the oldest waits since 30 s ago (${age})`);
  t.match(text, /^faass_async_queue_oldest_age_seconds\{function_name="quiet"\} 0$/m);
  t.match(text, /^faass_async_dead_letters\{function_name="fn"\} 1$/m, 'one dead letter');
  t.match(text, /^# TYPE faass_async_attempts_total counter$/m);
  t.match(text, /^faass_async_attempts_total\{function_name="fn",result="dead"\} 1$/m);
  t.match(text, /^faass_async_attempts_total\{function_name="fn",result="success"\} 0$/m, 'every result of a function with attempts, 0 included');
  t.match(text, /^# TYPE faass_async_callback_failures_total counter$/m);
  t.match(text, /^faass_async_callback_failures_total\{function_name="fn"\} 1$/m);
  const hidden = await metrics.render((fn) => fn === 'quiet');
  t.notMatch(hidden, /function_name="fn"/, "a function the scraper may not see: none of its queue's series");
});

t.test('faassctl status: a row per function with calls queued or dead letters', async (t) => {
  const now = 1_000_000_000;
  const text = renderQueues(new Map([['a', { queued: 12, oldestAt: now - 90_000, dead: 0 }], ['idle', { queued: 0, oldestAt: null, dead: 0 }], ['poison', { queued: 0, oldestAt: null, dead: 3 }]]), now);
  t.equal(text, '\nAsynchronous calls (faassctl dlq NAME for the dead letters):\n  FUNCTION  QUEUED  OLDEST  DEAD LETTERS\n  a         12      90s     0\n  poison    0       -       3\n');
  t.equal(renderQueues(new Map([['idle', { queued: 0, oldestAt: null, dead: 0 }]]), now), '', 'nothing queued anywhere: no heading either');
});
