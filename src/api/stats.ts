// GET /system/stats and GET /system/function/NAME/history: the figures the web console lists and
// charts (issue 16), from the metrics store and its snapshot history (observe/metrics-store.ts),
// as faassctl stats --since computes them: a window is the totals at its end minus the last
// snapshot at or before its start. No store of its own: the gateway appends a snapshot at most a
// minute apart while calls come, so that minute is the finest a chart can resolve.
import { NO_QUEUE, QueueFigures, allQueueFigures } from '../queue/figures';
import { Paths } from '../core/paths';
import { FaassError } from '../core/errors';
import { validateName } from '../core/validate';
import { parseTimespan } from '../core/timespan';
import { listFunctionNames, loadFunctionConfig } from '../functions/function-config';
import { canarySummary } from '../functions/canary-files';
import { HISTORY_DAYS, MetricsData, Snapshot, emptyMetrics, minusHistogram, quantile, readMetrics, snapshotsAt } from '../observe/metrics-store';
import { run } from '../systemd/systemctl';
import { FunctionState, functionState, functionUnits, parseShow } from '../systemd/unit-state';
import { ServeState, readServeState } from '../systemd/serve-link';

export const DEFAULT_WINDOW = 3600;
export const MIN_WINDOW = 60;
export const MAX_WINDOW = HISTORY_DAYS * 86400; // as far back as the history is kept
export const DEFAULT_POINTS = 60;
export const MIN_POINTS = 2;
export const MAX_POINTS = 500;

// ?window=: a time span as faass reads one everywhere (core/timespan.ts: 15m, 1h, 6h, 24h, 7d,
// or seconds such as 900), in whole seconds, from a minute to the history's length.
export function parseWindow(text: string | null): number {
  if (text === null) return DEFAULT_WINDOW;
  const s = parseTimespan(text);
  if (s === null || !Number.isInteger(s) || s < MIN_WINDOW || s > MAX_WINDOW) {
    throw new FaassError('FAASS_E_USAGE', `Invalid window ${JSON.stringify(text.slice(0, 40))}: a time span in whole seconds from ${MIN_WINDOW} s to ${HISTORY_DAYS} days, such as 15m, 1h, 6h, 24h, 7d or 900 (seconds)`);
  }
  return s;
}

// ?points=: how many steps a chart's window is cut into.
export function parsePoints(text: string | null): number {
  if (text === null) return DEFAULT_POINTS;
  const n = /^\d{1,4}$/.test(text) ? Number(text) : NaN;
  if (!(n >= MIN_POINTS && n <= MAX_POINTS)) throw new FaassError('FAASS_E_USAGE', `Invalid points ${JSON.stringify(text.slice(0, 40))}: a whole number from ${MIN_POINTS} to ${MAX_POINTS}`);
  return n;
}

// The ends of `points` equal steps over `window` seconds ending at now (ms): points + 1 times.
export function stepEnds(now: number, window: number, points: number): number[] {
  const step = (window * 1000) / points;
  return Array.from({ length: points + 1 }, (_, i) => (i === points ? now : Math.round(now - window * 1000 + i * step)));
}

export interface CallFigures {
  calls: number;
  errors: number; // status >= 500
  refused: number; // 4xx
  p50: number | null;
  p99: number | null;
  coldStarts: number;
}

// What `name` counted between base (null: before counting began) and end; never below 0 (a
// metrics file removed by hand starts again from 0).
export function callFigures(end: MetricsData, base: MetricsData | null, name: string): CallFigures {
  const before = base?.invocations[name] ?? {};
  let calls = 0;
  let errors = 0;
  let refused = 0;
  for (const [code, n] of Object.entries(end.invocations[name] ?? {})) {
    const k = Math.max(0, n - (before[code] ?? 0));
    calls += k;
    if (Number(code) >= 500) errors += k;
    else if (Number(code) >= 400) refused += k;
  }
  const h = end.seconds[name] ? minusHistogram(end.seconds[name], base?.seconds[name]) : null;
  return { calls, errors, refused, p50: h ? quantile(h, 0.5) : null, p99: h ? quantile(h, 0.99) : null, coldStarts: Math.max(0, (end.coldStarts[name] ?? 0) - (base?.coldStarts[name] ?? 0)) };
}

export interface Point extends Omit<CallFigures, 'refused'> {
  t: string; // the step's end
}

// A chart's points: what was counted in each step, the difference of the snapshots at its ends
// (snapshots[i]: the last at or before ends[i]), the last step ending with the live totals. A step
// with no snapshot in it counted nothing: zeros, not a gap.
export function historyPoints(name: string, ends: number[], snapshots: (Snapshot | null)[], live: MetricsData): Point[] {
  const at = (i: number) => (i === ends.length - 1 ? live : (snapshots[i]?.data ?? null));
  return ends.slice(1).map((t, i) => {
    const { refused: _, ...f } = callFigures(at(i + 1) ?? emptyMetrics(), at(i), name);
    return { t: new Date(t).toISOString(), ...f };
  });
}

// What a function's file says of it, or why it does not parse (the row is shown all the same).
interface Described {
  name: string;
  kind: string | null;
  runtime: string | null;
  error?: string;
}

function describe(paths: Paths, name: string): Described {
  try {
    const { kind, runtime } = loadFunctionConfig(paths, name);
    return { name, kind, runtime };
  } catch (e) {
    return { name, kind: null, runtime: null, error: e instanceof FaassError ? e.message : 'Its settings file cannot be read' };
  }
}

// One function's row in /system/stats: its kind, state, and figures over the window.
function statsRow(paths: Paths, fn: Described, now: MetricsData, base: MetricsData | null, state: FunctionState, queue: QueueFigures): Record<string, unknown> {
  const { name, error, ...what } = fn;
  const f = callFigures(now, base, name);
  const cpu = now.cpuSeconds[name] === undefined ? undefined : Math.max(0, now.cpuSeconds[name] - (base?.cpuSeconds[name] ?? 0));
  const memory = now.memoryByteSeconds[name] === undefined ? undefined : Math.max(0, now.memoryByteSeconds[name] - (base?.memoryByteSeconds[name] ?? 0));
  const canary = canarySummary(paths, name);
  return {
    name,
    ...what,
    state,
    ...f,
    cpuPerCall: cpu !== undefined && f.calls > 0 ? cpu / f.calls : null,
    memoryPerCall: memory !== undefined && f.calls > 0 ? memory / f.calls : null, // byte-seconds, as a bill counts memory
    memoryPeakBytes: now.memoryPeakBytes[name] ?? null, // a peak has no window: the highest ever
    queue: { queued: queue.queued, oldest: queue.oldestAt === null ? null : new Date(queue.oldestAt).toISOString(), dead: queue.dead }, // now, not over the window
    lastCall: now.lastCall[name] ? new Date(now.lastCall[name]).toISOString() : null,
    ...(canary ? { canary: { version: canary.version, share: canary.percent, state: canary.state } } : {}),
    ...(error !== undefined ? { error } : {}),
  };
}

// Under faassctl serve: running while its program (runner or app) runs, idle while serve holds
// its socket, unknown when serve does not serve it (its file does not parse, say).
export function servedState(served: ServeState, name: string): FunctionState {
  if (served.programs.some((p) => p.name === name && (p.role === 'runner' || p.role === 'app') && p.pid)) return 'running';
  return served.functions.some((f) => f.name === name) ? 'idle' : 'unknown';
}

// Every function's state from one systemctl call; under faassctl serve what serve knows (its
// program runs, or it serves the socket); unknown when neither answers. Never an error: the
// figures are worth answering without it.
async function functionStates(paths: Paths, fns: Described[]): Promise<Map<string, FunctionState>> {
  const names = fns.map((f) => f.name);
  const kinds = new Map(fns.map((f) => [f.name, f.kind]));
  const out = new Map<string, FunctionState>(names.map((n) => [n, 'unknown']));
  if (!names.length) return out;
  const served = readServeState(paths);
  if (served) return new Map(names.map((n) => [n, servedState(served, n)]));
  const units = names.flatMap((n) => {
    const u = functionUnits(n, kinds.get(n) ?? null);
    return [u.socket, ...u.services];
  });
  const r = await run('systemctl', ['--user', 'show', '--property=Id,ActiveState,SubState,LoadState', '--', ...units], { timeoutMs: 10000 });
  if (r.code !== 0) return out;
  const shown = parseShow(r.stdout);
  for (const n of names) out.set(n, functionState(shown, n, kinds.get(n) ?? null));
  return out;
}

// GET /system/stats?window=SPAN
export async function statsView(paths: Paths, query: URLSearchParams, now = Date.now()): Promise<Record<string, unknown>> {
  const window = parseWindow(query.get('window'));
  const fns = listFunctionNames(paths).map((n) => describe(paths, n));
  const states = await functionStates(paths, fns);
  const live = readMetrics(paths);
  const [base] = snapshotsAt(paths, [now - window * 1000]);
  const queues = await allQueueFigures(paths);
  return {
    window,
    from: base ? new Date(base.at).toISOString() : null, // null: no snapshot that old, figures since counting began
    now: new Date(now).toISOString(),
    functions: fns.map((f) => statsRow(paths, f, live, base?.data ?? null, states.get(f.name) ?? 'unknown', queues.get(f.name) ?? NO_QUEUE)),
  };
}

// GET /system/function/NAME/history?window=SPAN&points=N
export function historyView(paths: Paths, name: string, query: URLSearchParams, now = Date.now()): Record<string, unknown> {
  validateName(name);
  const window = parseWindow(query.get('window'));
  const points = parsePoints(query.get('points'));
  if (!listFunctionNames(paths).includes(name)) throw new FaassError('FAASS_E_FUNCTION_NOT_FOUND', `No function named ${name}`);
  const ends = stepEnds(now, window, points);
  const snapshots = snapshotsAt(paths, ends.slice(0, -1));
  return { name, window, step: window / points, points: historyPoints(name, ends, snapshots, readMetrics(paths)) };
}
