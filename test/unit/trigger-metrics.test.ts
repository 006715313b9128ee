// Triggers' counters (issue 14, "triggers show in metrics"): a file drop's files by what became
// of them and a NATS bridge's messages, counted by their units into the dispatcher's file (the
// only one they may write), read back by the gateway, and shown in /metrics.
import t from 'tap';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { resolvePaths, functionConfPath } from '../../src/core/paths';
import { buildFunctionConfig, renderFunctionConfig } from '../../src/functions/function-config';
import { saveFileDrops } from '../../src/functions/schedules';
import { buildFileDrop } from '../../src/functions/file-drops';
import { runDrop, areaDir } from '../../src/queue/drop-fire';
import { markSettled } from '../../src/queue/drop-marks';
import { flushQueueCounters } from '../../src/queue/counters';
import { queueMessage, NAK_DELAY_MS } from '../../src/queue/nats-bridge';
import { readMetrics, emptyMetrics, merge, onlyLabels, onlyFunctions, subtract } from '../../src/observe/metrics-store';
import { GatewayMetrics } from '../../src/gateway/metrics';

type P = ReturnType<typeof resolvePaths>;

function setup(t: { teardown(f: () => void): void }, extra: Record<string, string> = {}): { p: P; dir: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'faass-trigger-metrics-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const p = resolvePaths({ HOME: dir, XDG_CONFIG_HOME: path.join(dir, 'config'), XDG_STATE_HOME: path.join(dir, 'state'), XDG_DATA_HOME: path.join(dir, 'data'), XDG_RUNTIME_DIR: dir });
  fs.mkdirSync(path.dirname(functionConfPath(p, 'fn')), { recursive: true });
  fs.writeFileSync(functionConfPath(p, 'fn'), renderFunctionConfig(buildFunctionConfig('fn', { runtime: 'exec', command: 'cat', ...extra })));
  return { p, dir };
}

// What the gateway would read, once the counting process has written what it counted.
const counted = (p: P) => (flushQueueCounters(), readMetrics(p));

const message = (seq: number) => ({ subject: 'orders.new', seq, data: Buffer.from(`order ${seq}`), headers: [] });

t.test('a file drop counts its files: claimed, refused, and failed once their call failed', async (t) => {
  const { p, dir } = setup(t);
  const watch = path.join(dir, 'in');
  fs.mkdirSync(watch);
  const drop = buildFileDrop('1', { watch });
  saveFileDrops(p, 'fn', [drop]);
  fs.writeFileSync(path.join(watch, 'a.csv'), 'a');
  fs.writeFileSync(path.join(watch, 'b.csv'), 'b');
  fs.mkdirSync(path.join(watch, 'sub')); // not a regular file: refused
  await runDrop(p, 'fn', '1');
  t.same(counted(p).fileDrops, { fn: { claimed: 2, refused: 1 } });
  await runDrop(p, 'fn', '1');
  t.same(counted(p).fileDrops, { fn: { claimed: 2, refused: 1 } }, 'a run with nothing new counts nothing');
  const [first, second] = fs.readdirSync(areaDir(drop, 'processing')).sort();
  await markSettled(p, 'fn', { id: '1', entry: first }, 'failed');
  await markSettled(p, 'fn', { id: '1', entry: second }, 'done');
  await runDrop(p, 'fn', '1');
  t.same(counted(p).fileDrops, { fn: { claimed: 2, refused: 1, failed: 1 } }, 'the file whose call failed, when it moves to failed/; a done one is not a failure');
});

t.test('a claim a killed run left is counted by the run that queues it', async (t) => {
  const { p, dir } = setup(t);
  const watch = path.join(dir, 'in');
  fs.mkdirSync(watch);
  const drop = buildFileDrop('1', { watch });
  saveFileDrops(p, 'fn', [drop]);
  await runDrop(p, 'fn', '1'); // makes the area
  fs.writeFileSync(path.join(areaDir(drop, 'processing'), '1-1-left.csv.new'), 'x'); // claimed, then killed before its call
  await runDrop(p, 'fn', '1');
  t.same(counted(p).fileDrops, { fn: { claimed: 1 } });
});

t.test('a NATS bridge counts a message once its call is queued, once however often it comes', async (t) => {
  const { p } = setup(t);
  const q = { name: 'fn', triggerId: 'bus', queueMax: 2, started: Date.now() };
  t.same(await queueMessage(p, { ...q, key: 'S 0 1' }, message(1)), { ack: true });
  t.same(await queueMessage(p, { ...q, key: 'S 0 1' }, message(1)), { ack: true }, 'delivered again: acked');
  t.same(counted(p).natsBridged, { fn: 1 }, 'the repeat is not counted');
  t.same(await queueMessage(p, { ...q, key: 'S 0 2' }, message(2)), { ack: true });
  const full = await queueMessage(p, { ...q, key: 'S 0 3' }, message(3));
  t.equal('nak' in full && full.nak, NAK_DELAY_MS, 'a full queue hands the message back');
  t.same(counted(p).natsBridged, { fn: 2 }, 'one handed back is not bridged');
});

t.test('/metrics: the drops and bridges series, promtool-clean, hidden from a scrape that may not see the function', async (t) => {
  const { p, dir } = setup(t);
  const watch = path.join(dir, 'in');
  fs.mkdirSync(watch);
  saveFileDrops(p, 'fn', [buildFileDrop('1', { watch })]);
  fs.writeFileSync(path.join(watch, 'a.csv'), 'a');
  await runDrop(p, 'fn', '1');
  await queueMessage(p, { name: 'fn', triggerId: 'bus', queueMax: 10, started: Date.now(), key: 'S 0 1' }, message(1));
  flushQueueCounters();
  const metrics = new GatewayMetrics(p);
  t.teardown(() => metrics.close());
  const text = await metrics.render();
  t.match(text, /^# TYPE faass_file_drops_claimed_total counter$/m);
  t.match(text, /^faass_file_drops_claimed_total\{function_name="fn"\} 1$/m);
  t.match(text, /^faass_file_drops_refused_total\{function_name="fn"\} 0$/m, 'every result of a function with files, 0 included');
  t.match(text, /^faass_file_drops_failed_total\{function_name="fn"\} 0$/m);
  t.match(text, /^# TYPE faass_nats_messages_bridged_total counter$/m);
  t.match(text, /^faass_nats_messages_bridged_total\{function_name="fn"\} 1$/m);
  const promtool = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
  if (promtool.error) t.comment('promtool is not installed: not checked');
  else t.equal(promtool.status, 0, `promtool check metrics: ${promtool.stdout}${promtool.stderr}`);
  const hidden = await metrics.render((fn) => fn === 'other');
  t.notMatch(hidden, /function_name="fn"/, "a function the scraper may not see: none of its triggers' series");
});

t.test('the counts read back only under function names and known results; windows subtract them', async (t) => {
  const d = merge(emptyMetrics(), onlyLabels({ fileDrops: { fn: { claimed: 3, failed: 1, bogus: 9 }, 'Bad Name': { claimed: 1 } }, natsBridged: { fn: 4, 'x\n': 2 } }));
  t.same([d.fileDrops, d.natsBridged], [{ fn: { claimed: 3, failed: 1 } }, { fn: 4 }]);
  t.same(onlyFunctions(d, (f) => f !== 'fn').natsBridged, {});
  const later = merge(emptyMetrics(), { fileDrops: { fn: { claimed: 5, failed: 1 } }, natsBridged: { fn: 10 } });
  const w = subtract(later, d);
  t.same([w.fileDrops, w.natsBridged], [{ fn: { claimed: 2, failed: 0 } }, { fn: 6 }], 'faassctl stats --since');
});
