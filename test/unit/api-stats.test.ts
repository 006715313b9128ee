// The console's figures (api/stats.ts): windows and points read, a window cut into steps, each
// step the difference of the snapshots at its ends, on synthetic history; the history read once
// a day file; a function's state from its units.
import t from 'tap';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import nodeFs = require('node:fs'); // the module itself, whose readFileSync the store calls (counted below)
import { resolvePaths } from '../../src/core/paths';
import { FaassError } from '../../src/core/errors';
import { MetricsData, appendSnapshot, emptyMetrics, merge, observe, emptyHistogram, snapshotAt, snapshotsAt } from '../../src/observe/metrics-store';
import { callFigures, historyPoints, parsePoints, parseWindow, servedState, stepEnds } from '../../src/api/stats';
import type { ServeState } from '../../src/systemd/serve-link';
import { functionState, parseShow } from '../../src/systemd/unit-state';

const tmpPaths = (t: { teardown(f: () => void): void }) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'faass-stats-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  return resolvePaths({ ...process.env, XDG_STATE_HOME: dir, XDG_CONFIG_HOME: dir, XDG_DATA_HOME: dir, XDG_RUNTIME_DIR: dir });
};

const usage = (f: () => unknown) => {
  try {
    f();
  } catch (e) {
    return e instanceof FaassError ? `${e.code}: ${e.message}` : `not a FaassError: ${String(e)}`;
  }
  return 'no error';
};

t.test('window and points: the spans the console offers, seconds, and clear refusals', async (t) => {
  t.equal(parseWindow(null), 3600, 'no window: an hour');
  t.same(['15m', '1h', '6h', '24h', '7d', '900', '35d'].map(parseWindow), [900, 3600, 21600, 86400, 604800, 900, 35 * 86400]);
  for (const bad of ['', 'abc', '0', '59', '36d', '1.5', '-1h', '1h; rm']) t.match(usage(() => parseWindow(bad)), /^FAASS_E_USAGE: Invalid window .*such as 15m, 1h, 6h, 24h, 7d or 900/, `window ${JSON.stringify(bad)} refused`);
  t.equal(parsePoints(null), 60, 'no points: 60');
  t.same(['2', '500', '37'].map(parsePoints), [2, 500, 37]);
  for (const bad of ['', '1', '501', 'x', '2.5', '-3', '1e2', '00001000']) t.match(usage(() => parsePoints(bad)), /^FAASS_E_USAGE: Invalid points .*from 2 to 500$/, `points ${JSON.stringify(bad)} refused`);
});

t.test('a window cut into equal steps ending now', async (t) => {
  const now = Date.parse('2026-11-20T12:00:00Z');
  const ends = stepEnds(now, 3600, 4);
  t.equal(ends.length, 5, 'points + 1 ends');
  t.same(ends.map((e) => (now - e) / 60_000), [60, 45, 30, 15, 0]);
});

// Totals as a snapshot holds them: calls by status, their durations, cold starts.
const totals = (ok: number, failed: number, cold = 0): MetricsData => {
  const h = emptyHistogram();
  for (let i = 0; i < ok + failed; i++) observe(h, 0.02);
  return merge(emptyMetrics(), { invocations: { f: { '200': ok, ...(failed ? { '500': failed } : {}) }, g: { '200': 1000 } }, seconds: { f: h }, coldStarts: { f: cold } });
};

t.test('figures of a window: the end minus the start, 5xx errors and 4xx refusals apart', async (t) => {
  const base = totals(10, 1, 1);
  const end = merge(totals(15, 3, 2), { invocations: { f: { '404': 4 } } });
  const { p50, p99, ...counts } = callFigures(end, base, 'f');
  t.same(counts, { calls: 11, errors: 2, refused: 4, coldStarts: 1 });
  t.ok(p99 !== null, 'a p99');
  t.ok(p50 !== null && p50 > 0.01 && p50 <= 0.025, `p50 in the bucket of the calls (${p50})`);
  t.same(callFigures(end, null, 'f'), { ...callFigures(end, emptyMetrics(), 'f') }, 'no snapshot before: since counting began');
  t.same(callFigures(emptyMetrics(), null, 'nobody'), { calls: 0, errors: 0, refused: 0, p50: null, p99: null, coldStarts: 0 }, 'a function that never ran: zeros, no quantiles');
  t.equal(callFigures(totals(1, 0), totals(5, 0), 'f').calls, 0, 'a counter that went back (file removed): never negative');
});

t.test('history points from synthetic snapshots: steps sum to the window, zeros where nothing ran', async (t) => {
  const paths = tmpPaths(t);
  const now = Date.parse('2026-11-21T00:30:00Z'); // the window spans two day files
  const min = 60_000;
  // Snapshots as the gateway takes them: before the window, then while calls came.
  appendSnapshot(paths, totals(100, 0, 3), now - 120 * min); // before the window: its base
  appendSnapshot(paths, totals(110, 1, 4), now - 50 * min); // step 1 (−60..−45)
  appendSnapshot(paths, totals(130, 1, 4), now - 40 * min); // step 2 (−45..−30), the day before
  appendSnapshot(paths, totals(130, 5, 5), now - 10 * min); // step 4 (−15..0), today
  const live = totals(131, 6, 5); // calls the gateway counted since its last snapshot
  const ends = stepEnds(now, 3600, 4);
  const points = historyPoints('f', ends, snapshotsAt(paths, ends.slice(0, -1)), live);
  t.same(points.map((p) => p.t), ends.slice(1).map((e) => new Date(e).toISOString()), 'each point at its step\'s end');
  t.same(points.map((p) => p.calls), [11, 20, 0, 6], 'each step: what was counted in it, the last with the live totals');
  t.same(points.map((p) => p.errors), [1, 0, 0, 5]);
  t.same(points.map((p) => p.coldStarts), [1, 0, 0, 1]);
  t.equal(points.reduce((n, p) => n + p.calls, 0), 131 + 6 - 100, 'the points sum to the window');
  t.equal(points[2].p50, null, 'a step where nothing ran: no quantile, zero calls (not a gap)');
  t.ok(points[1].p50 !== null && points[1].p99 !== null, 'a step with calls: its quantiles');
  const early = historyPoints('f', stepEnds(now - 200 * min, 3600, 2), snapshotsAt(paths, stepEnds(now - 200 * min, 3600, 2).slice(0, -1)), totals(100, 0, 3));
  t.same(early.map((p) => p.calls), [0, 100], 'a window before the history: zeros until the live totals, which hold every call since counting began');
});

t.test('snapshotsAt: the same answers as snapshotAt, each day file read once, a torn line skipped', async (t) => {
  const paths = tmpPaths(t);
  const start = Date.parse('2026-11-18T22:00:00Z');
  for (let i = 0; i < 3 * 24 * 6; i++) appendSnapshot(paths, totals(i, 0), start + i * 10 * 60_000); // every 10 min for 3 days
  const dir = path.join(paths.stateDir, 'metrics-history');
  fs.appendFileSync(path.join(dir, '2026-11-19.jsonl'), `{"at":${Date.parse('2026-11-19T23:59:00Z')},"data":{"invoc`); // torn by a crash
  const times = stepEnds(start + 3 * 86400_000, 3 * 86400 + 3600, 100).slice(0, -1);
  const reads: string[] = [];
  const real = nodeFs.readFileSync;
  nodeFs.readFileSync = ((file: string, opts: unknown) => (reads.push(String(file)), real(file, opts as BufferEncoding))) as typeof real;
  let many: ReturnType<typeof snapshotsAt>;
  try {
    many = snapshotsAt(paths, times);
  } finally {
    nodeFs.readFileSync = real;
  }
  t.same(reads.map((f) => path.basename(f)).sort(), ['2026-11-18.jsonl', '2026-11-19.jsonl', '2026-11-20.jsonl', '2026-11-21.jsonl'], 'each day file read once for 100 times');
  const expected = (x: number) => (x < start ? null : start + Math.floor((x - start) / 600_000) * 600_000);
  t.same(many.map((s) => s?.at ?? null), times.map(expected), 'for each time, the last snapshot at or before it');
  t.same(times.map((x) => snapshotAt(paths, x)?.at ?? null), times.map(expected), 'snapshotAt: the same, one time at a time');
  t.equal(many[0], null, 'before the history: null');
  const torn = snapshotsAt(paths, [Date.parse('2026-11-19T23:59:30Z')])[0];
  t.equal(torn?.at, Date.parse('2026-11-19T23:50:00Z'), 'a torn line gives way to the one before it');
});

t.test("a function's state from its units", async (t) => {
  const show = (socket: string, service: string, app?: string) =>
    parseShow([`Id=faass-fn-f.socket\nActiveState=${socket}\nLoadState=loaded`, `Id=faass-fn-f.service\nActiveState=${service}\nLoadState=loaded`, ...(app ? [`Id=faass-fn-f-app.service\nActiveState=${app}\nLoadState=loaded`] : [])].join('\n\n') + '\n');
  t.equal(functionState(show('active', 'inactive'), 'f', 'function'), 'idle');
  t.equal(functionState(show('active', 'active'), 'f', 'function'), 'running');
  t.equal(functionState(show('active', 'activating'), 'f', 'function'), 'starting');
  t.equal(functionState(show('active', 'deactivating'), 'f', 'function'), 'stopping');
  t.equal(functionState(show('active', 'failed'), 'f', 'function'), 'failed');
  t.equal(functionState(show('failed', 'inactive'), 'f', 'function'), 'failed', 'a failed socket');
  t.equal(functionState(show('inactive', 'inactive'), 'f', 'function'), 'unknown', 'a socket that does not listen');
  t.equal(functionState(show('active', 'inactive', 'active'), 'f', 'service'), 'running', "a service's app runs");
  t.equal(functionState(show('active', 'inactive', 'failed'), 'f', 'service'), 'failed', "a service's app failed");
  t.equal(functionState(show('active', 'inactive', 'inactive'), 'f', 'service'), 'idle');
  t.equal(functionState(new Map(), 'f', 'function'), 'unknown', 'systemd said nothing of it');
});

t.test("under faassctl serve: what serve knows", async (t) => {
  const served: ServeState = {
    pid: 1,
    started: '2026-12-02T00:00:00Z',
    listen: '127.0.0.1:8080',
    api: true,
    scanned: 0,
    programs: [
      { name: 'gateway', role: 'gateway', pid: 10 },
      { name: 'busy', role: 'runner', pid: 11 },
      { name: 'web', role: 'app', pid: null },
      { name: 'faass-fn-busy-at-x', role: 'schedule', pid: 12 },
    ],
    functions: [
      { name: 'busy', kind: 'function' },
      { name: 'quiet', kind: 'function' },
      { name: 'web', kind: 'service' },
    ],
  };
  t.equal(servedState(served, 'busy'), 'running', 'its runner runs');
  t.equal(servedState(served, 'quiet'), 'idle', 'served, nothing running');
  t.equal(servedState(served, 'web'), 'idle', "a service whose app is not running");
  t.equal(servedState(served, 'broken'), 'unknown', 'not served (its file does not parse)');
});
