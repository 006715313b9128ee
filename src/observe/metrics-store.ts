// Counters that outlive the processes counting them: the gateway, runners and apps exit when
// idle, so each keeps what it counted since its last flush and adds it to a file under a lock,
// written whole (temp file + rename): a crash loses at most what was not flushed yet, never the
// file. Everything in it only grows. The gateway and the API write
// $XDG_STATE_HOME/faass/metrics.json; a function's runner (or a service's app) writes
// fn/NAME/metrics.json, the only state its unit may write, and readers take from that file only
// what that runner counts about that function: a function can misstate its own resource use,
// never another function's figures or its calls (the gateway counts those). The dispatcher of
// asynchronous calls may write only the queue (its unit's ReadWritePaths=), so it adds its
// counts to queue/.metrics.json (hidden: every other name there is a function's queue), and
// readers take from that file only what the dispatcher counts: attempts and callback failures
// (and what the triggers' units count, each writing only the queue too: a schedule's fires and
// skips, a file drop's files, a NATS bridge's messages).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Paths, functionStateDir } from '../core/paths';
import { isValidName, isValidTopic } from '../core/validate';
import { writeFileAtomic, withLock } from '../core/fs-atomic';
import { privateDir } from '../core/private-files';
import { log, errorMessage, droppedLogLines } from './log';

// Prometheus' default buckets, as OpenFaaS' gateway_functions_seconds uses them.
export const BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export interface Histogram {
  counts: number[]; // per bucket (not cumulative), BUCKETS.length + 1 (the last is +Inf)
  sum: number;
  count: number;
}

export interface MetricsData {
  invocations: Record<string, Record<string, number>>; // function → HTTP status → calls
  seconds: Record<string, Histogram>; // function → durations
  canaryInvocations: Record<string, Record<string, number>>; // function → HTTP status → those of its calls its canary answered (a part of invocations)
  canarySeconds: Record<string, Histogram>; // function → their durations (a part of seconds)
  activations: Record<string, number>; // program (gateway, runner, app, api) → process starts
  coldStarts: Record<string, number>; // function → starts of its runner (or service app)
  cpuSeconds: Record<string, number>; // function → CPU of its runner's (app's) cgroup
  lastCall: Record<string, number>; // function → when its last call through the gateway ended (ms since the epoch); merged by max
  memoryPeakBytes: Record<string, number>; // function → the highest memory.peak of a runner's cgroup; merged by max
  memoryByteSeconds: Record<string, number>; // function → memory.current × time, sampled every 2 s
  ioReadBytes: Record<string, number>;
  ioWriteBytes: Record<string, number>;
  logLinesDropped: Record<string, number>; // program → log lines journald did not take in time (log.ts)
  asyncAttempts: Record<string, Record<string, number>>; // function → ATTEMPT_RESULTS → attempts of queued calls
  callbackFailures: Record<string, number>; // function → callbacks of asynchronous calls that failed for good
  scheduleFires: Record<string, Record<string, number>>; // function → FIRE_RESULTS → fires of its schedules
  topicMessages: Record<string, number>; // topic (not a function) → messages published that queued a call
  fileDrops: Record<string, Record<string, number>>; // function → DROP_RESULTS → files of its file drops
  natsBridged: Record<string, number>; // function → messages its NATS bridges queued as calls (and acked)
}

// How a schedule's fire ended (queue/schedule-fire.ts): a call queued, or skipped (overlap=skip).
export const FIRE_RESULTS = ['queued', 'skipped'] as const;
export type FireResult = (typeof FIRE_RESULTS)[number];

// What became of a file of a file drop (queue/drop-fire.ts): claimed (its call queued), refused
// (not a regular file, or a name that is not UTF-8: moved to failed/ with no call) or failed (its
// call failed for good, the file moved to failed/).
export const DROP_RESULTS = ['claimed', 'refused', 'failed'] as const;
export type DropResult = (typeof DROP_RESULTS)[number];

// How an attempt of a queued call ended (queue/counters.ts decides): its answer ended the call
// (success: below 400; error: 4xx and other answers that are not retried), or it failed and the
// call is tried again (retry) or moved to the dead letters (dead).
export const ATTEMPT_RESULTS = ['success', 'error', 'retry', 'dead'] as const;
export type AttemptResult = (typeof ATTEMPT_RESULTS)[number];

export const emptyMetrics = (): MetricsData => ({ invocations: {}, seconds: {}, canaryInvocations: {}, canarySeconds: {}, activations: {}, coldStarts: {}, cpuSeconds: {}, lastCall: {}, memoryPeakBytes: {}, memoryByteSeconds: {}, ioReadBytes: {}, ioWriteBytes: {}, logLinesDropped: {}, asyncAttempts: {}, callbackFailures: {}, scheduleFires: {}, topicMessages: {}, fileDrops: {}, natsBridged: {} });

export const metricsPath = (paths: Paths) => path.join(paths.stateDir, 'metrics.json');
export const functionMetricsPath = (paths: Paths, name: string) => path.join(functionStateDir(paths, name), 'metrics.json');
export const queueMetricsPath = (paths: Paths) => path.join(paths.stateDir, 'queue', '.metrics.json');

// The programs whose starts are counted; keys elsewhere in activations are dropped.
const PROGRAMS = ['gateway', 'api', 'runner', 'app'];

export const emptyHistogram = (): Histogram => ({ counts: new Array<number>(BUCKETS.length + 1).fill(0), sum: 0, count: 0 });

// Prometheus' histogram_quantile (faassctl stats, the API's /system/stats): linear within the
// bucket the rank falls in; null past the last finite bound (then only "more than 10 s" is known).
export function quantile(h: Histogram, q: number): number | null {
  if (h.count === 0) return null;
  const rank = q * h.count;
  let below = 0;
  for (let i = 0; i < BUCKETS.length; i++) {
    const inBucket = h.counts[i];
    if (below + inBucket >= rank && inBucket > 0) {
      const lower = i === 0 ? 0 : BUCKETS[i - 1];
      return lower + (BUCKETS[i] - lower) * ((rank - below) / inBucket);
    }
    below += inBucket;
  }
  return null;
}

export function observe(h: Histogram, seconds: number): void {
  let i = BUCKETS.findIndex((b) => seconds <= b);
  if (i < 0) i = BUCKETS.length;
  h.counts[i]++;
  h.sum += seconds;
  h.count++;
}

const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v) && v >= 0;

// Adds b into a. Values that are not non-negative numbers are ignored (a hand-edited file must
// not make a counter go down or turn into NaN).
export function merge(a: MetricsData, b: Partial<MetricsData>): MetricsData {
  const addFlat = (into: Record<string, number>, from: Record<string, unknown> | undefined) => {
    for (const [k, v] of Object.entries(from ?? {})) if (isCount(v)) into[k] = (into[k] ?? 0) + v;
  };
  for (const [fn, codes] of Object.entries(b.invocations ?? {})) addFlat((a.invocations[fn] ??= {}), codes);
  for (const [fn, codes] of Object.entries(b.canaryInvocations ?? {})) addFlat((a.canaryInvocations[fn] ??= {}), codes);
  for (const [fn, results] of Object.entries(b.asyncAttempts ?? {})) addFlat((a.asyncAttempts[fn] ??= {}), results);
  for (const [fn, results] of Object.entries(b.scheduleFires ?? {})) addFlat((a.scheduleFires[fn] ??= {}), results);
  addFlat(a.topicMessages, b.topicMessages);
  for (const [fn, results] of Object.entries(b.fileDrops ?? {})) addFlat((a.fileDrops[fn] ??= {}), results);
  addFlat(a.natsBridged, b.natsBridged);
  mergeHistograms(a.seconds, b.seconds);
  mergeHistograms(a.canarySeconds, b.canarySeconds);
  addFlat(a.activations, b.activations);
  addFlat(a.coldStarts, b.coldStarts);
  addFlat(a.cpuSeconds, b.cpuSeconds);
  addFlat(a.memoryByteSeconds, b.memoryByteSeconds);
  addFlat(a.ioReadBytes, b.ioReadBytes);
  addFlat(a.ioWriteBytes, b.ioWriteBytes);
  addFlat(a.logLinesDropped, b.logLinesDropped);
  addFlat(a.callbackFailures, b.callbackFailures);
  for (const [k, v] of Object.entries(b.lastCall ?? {})) if (isCount(v)) a.lastCall[k] = Math.max(a.lastCall[k] ?? 0, v);
  for (const [k, v] of Object.entries(b.memoryPeakBytes ?? {})) if (isCount(v)) a.memoryPeakBytes[k] = Math.max(a.memoryPeakBytes[k] ?? 0, v);
  return a;
}

function mergeHistograms(a: Record<string, Histogram>, b: Record<string, Histogram> | undefined): void {
  for (const [fn, h] of Object.entries(b ?? {})) {
    if (!h || !Array.isArray(h.counts) || h.counts.length !== BUCKETS.length + 1 || !h.counts.every(isCount) || !isCount(h.sum) || !isCount(h.count)) continue;
    const into = (a[fn] ??= emptyHistogram());
    h.counts.forEach((c, i) => (into.counts[i] += c));
    into.sum += h.sum;
    into.count += h.count;
  }
}

export function isEmpty(d: MetricsData): boolean {
  return [d.invocations, d.seconds, d.canaryInvocations, d.canarySeconds, d.activations, d.coldStarts, d.cpuSeconds, d.lastCall, d.memoryPeakBytes, d.memoryByteSeconds, d.ioReadBytes, d.ioWriteBytes, d.logLinesDropped, d.asyncAttempts, d.callbackFailures, d.scheduleFires, d.topicMessages, d.fileDrops, d.natsBridged].every((o) => Object.keys(o).length === 0);
}

function readFile(file: string): Partial<MetricsData> {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as Partial<MetricsData>;
  } catch {
    return {}; // missing, or unreadable (kept aside once by the next flush)
  }
}

const pick = <T>(from: Record<string, T> | undefined, keep: (k: string) => boolean): Record<string, T> => Object.fromEntries(Object.entries(from ?? {}).filter(([k]) => keep(k)));

// The counts of the functions `keep` lets through, and the faass-wide ones (activations). Every
// other field is keyed by function, a field added later included: it is filtered too. Topics are
// not functions: their counts are kept only with topics true (a viewer who sees every function).
export function onlyFunctions(d: MetricsData, keep: (fn: string) => boolean, opts: { topics?: boolean } = {}): MetricsData {
  const out: Record<string, unknown> = {};
  // activations and logLinesDropped are counted by program, not by function: faass-wide.
  for (const [k, v] of Object.entries(d)) out[k] = k === 'activations' || k === 'logLinesDropped' ? v : k === 'topicMessages' ? (opts.topics ? v : {}) : pick(v as Record<string, unknown>, keep);
  return out as unknown as MetricsData;
}

// Only keys that can be labels: function names by faass's name rules, statuses of three
// digits, the known programs. A hand-edited or forged file cannot put control characters, or
// anything else, into /metrics.
export function onlyLabels(d: Partial<MetricsData>): Partial<MetricsData> {
  const fn = (k: string) => isValidName(k);
  return {
    invocations: Object.fromEntries(Object.entries(pick(d.invocations, fn)).map(([k, codes]) => [k, pick(codes, (c) => /^[1-5]\d\d$/.test(c))])),
    seconds: pick(d.seconds, fn),
    canaryInvocations: Object.fromEntries(Object.entries(pick(d.canaryInvocations, fn)).map(([k, codes]) => [k, pick(codes, (c) => /^[1-5]\d\d$/.test(c))])),
    canarySeconds: pick(d.canarySeconds, fn),
    activations: pick(d.activations, (k) => PROGRAMS.includes(k)),
    coldStarts: pick(d.coldStarts, fn),
    cpuSeconds: pick(d.cpuSeconds, fn),
    lastCall: pick(d.lastCall, fn),
    memoryPeakBytes: pick(d.memoryPeakBytes, fn),
    memoryByteSeconds: pick(d.memoryByteSeconds, fn),
    ioReadBytes: pick(d.ioReadBytes, fn),
    ioWriteBytes: pick(d.ioWriteBytes, fn),
    logLinesDropped: pick(d.logLinesDropped, (k) => PROGRAMS.includes(k)),
    topicMessages: pick(d.topicMessages, isValidTopic),
    ...dispatcherFigures(d),
  };
}

// From the dispatcher's file, what it and the triggers' units count: attempts by result, callback
// failures, schedules' fires, file drops' files and NATS bridges' messages, under names that can
// be labels and results that are known.
export function dispatcherFigures(d: Partial<MetricsData>): Partial<MetricsData> {
  const fn = (k: string) => isValidName(k);
  return {
    asyncAttempts: Object.fromEntries(Object.entries(pick(d.asyncAttempts, fn)).map(([k, r]) => [k, pick(r, (x) => (ATTEMPT_RESULTS as readonly string[]).includes(x))])),
    callbackFailures: pick(d.callbackFailures, fn),
    scheduleFires: Object.fromEntries(Object.entries(pick(d.scheduleFires, fn)).map(([k, r]) => [k, pick(r, (x) => (FIRE_RESULTS as readonly string[]).includes(x))])),
    fileDrops: Object.fromEntries(Object.entries(pick(d.fileDrops, fn)).map(([k, r]) => [k, pick(r, (x) => (DROP_RESULTS as readonly string[]).includes(x))])),
    natsBridged: pick(d.natsBridged, fn),
  };
}

// From a function's own file, what its runner or app counts, about that function alone.
export function ownFigures(name: string, d: Partial<MetricsData>): Partial<MetricsData> {
  const own = (k: string) => k === name;
  return {
    activations: pick(d.activations, (k) => k === 'runner' || k === 'app'),
    coldStarts: pick(d.coldStarts, own),
    cpuSeconds: pick(d.cpuSeconds, own),
    memoryPeakBytes: pick(d.memoryPeakBytes, own),
    memoryByteSeconds: pick(d.memoryByteSeconds, own),
    ioReadBytes: pick(d.ioReadBytes, own),
    ioWriteBytes: pick(d.ioWriteBytes, own),
    logLinesDropped: pick(d.logLinesDropped, (k) => k === 'runner' || k === 'app'),
  };
}

// The totals as they are now: faass's own file and every function's.
export function readMetrics(paths: Paths): MetricsData {
  const out = merge(emptyMetrics(), onlyLabels(readFile(metricsPath(paths))));
  let names: string[] = [];
  try {
    names = fs.readdirSync(path.join(paths.stateDir, 'fn')).filter(isValidName);
  } catch {
    // no function has counted anything yet
  }
  for (const name of names) merge(out, ownFigures(name, readFile(functionMetricsPath(paths, name))));
  return merge(out, dispatcherFigures(readFile(queueMetricsPath(paths))));
}

// What one process counted and has not written yet.
export class MetricsStore {
  pending = emptyMetrics();
  // file: where this process adds its counts (metricsPath, or a runner's functionMetricsPath)
  constructor(
    private readonly paths: Paths,
    private readonly file: string,
  ) {}

  add(delta: Partial<MetricsData>): void {
    merge(this.pending, delta);
  }

  // The log lines this process dropped since the last call, counted for `program`.
  private droppedCounted = 0;
  addDroppedLogLines(program: string): void {
    const total = droppedLogLines();
    if (total > this.droppedCounted) this.add({ logLinesDropped: { [program]: total - this.droppedCounted } });
    this.droppedCounted = total;
  }

  // Adds what is pending to the file; true when it wrote. Errors are logged, the counts kept
  // for the next try.
  flush(): boolean {
    if (isEmpty(this.pending)) return false;
    const file = this.file;
    try {
      // Made only when missing: a runner's directory is there (its unit binds it in), and the
      // empty read-only file system around it must not be touched.
      if (!fs.existsSync(path.dirname(file))) privateDir(this.paths, path.dirname(file));
      withLock(file, () => {
        let base = emptyMetrics();
        const text = fs.readFileSync(file, { encoding: 'utf8', flag: 'a+' });
        if (text !== '') {
          try {
            base = merge(emptyMetrics(), JSON.parse(text) as Partial<MetricsData>);
          } catch {
            const aside = `${file}.corrupt-${Date.now()}`;
            fs.renameSync(file, aside);
            log.warning(`${file} was not valid JSON; kept as ${aside}, counting from zero`);
          }
        }
        writeFileAtomic(file, JSON.stringify(merge(base, this.pending)) + '\n', 0o600);
      });
      this.pending = emptyMetrics();
      return true;
    } catch (e) {
      log.warning(`Failed to write ${file}: ${errorMessage(e)}; keeping the counts for the next try`);
      return false;
    }
  }
}

// History for windows (faassctl stats --since): now and then a snapshot of the file's totals,
// one JSON line appended to a file per day; a line torn by a crash is skipped when read. Kept
// HISTORY_DAYS days. Counters only grow, so a window is the difference of two snapshots.
export const HISTORY_DAYS = 35;
const historyDir = (paths: Paths) => path.join(paths.stateDir, 'metrics-history');

export function appendSnapshot(paths: Paths, data: MetricsData, at = Date.now()): void {
  const dir = historyDir(paths);
  privateDir(paths, dir);
  const day = new Date(at).toISOString().slice(0, 10);
  fs.appendFileSync(path.join(dir, `${day}.jsonl`), JSON.stringify({ at, data }) + '\n', { mode: 0o600 });
  const oldest = new Date(at - HISTORY_DAYS * 86400_000).toISOString().slice(0, 10);
  for (const f of fs.readdirSync(dir)) if (/^\d{4}-\d{2}-\d{2}\.jsonl$/.test(f) && f.slice(0, 10) < oldest) fs.rmSync(path.join(dir, f), { force: true });
}

export interface Snapshot {
  at: number;
  data: MetricsData;
}

// The last snapshot taken at or before `at`, or null when the history starts later.
export function snapshotAt(paths: Paths, at: number): Snapshot | null {
  return snapshotsAt(paths, [at])[0];
}

// For each time, the last snapshot taken at or before it (null where the history starts later),
// reading each day file at most once: a chart's points ask for many times in a few files. Only
// a line's "at" is read at first (each line begins {"at":N,), from the file's bytes; a line is
// decoded and parsed only when it is chosen, and a chosen line that does not parse (torn by a
// crash) gives way to the one before. A month of history at one snapshot a minute is hundreds
// of MB: bench/stats-history.js measures it.
export function snapshotsAt(paths: Paths, times: number[]): (Snapshot | null)[] {
  const best: (Snapshot | null)[] = times.map(() => null);
  if (!times.length) return best;
  let files: string[];
  try {
    files = fs.readdirSync(historyDir(paths)).filter((f) => /^\d{4}-\d{2}-\d{2}\.jsonl$/.test(f)).sort();
  } catch {
    return best;
  }
  const last = new Date(Math.max(...times)).toISOString().slice(0, 10);
  // Newest first: a day's snapshots are all later than an earlier day's, so once every time has
  // one, older files cannot change the answer.
  for (const f of files.filter((x) => x.slice(0, 10) <= last).reverse()) {
    const fromFile = lastAtOrBefore(fs.readFileSync(path.join(historyDir(paths), f)), times);
    fromFile.forEach((s, i) => {
      if (s && (!best[i] || s.at > (best[i] as Snapshot).at)) best[i] = s;
    });
    if (best.every((s) => s !== null)) break;
  }
  return best;
}

const AT_PREFIX = Buffer.from('{"at":');

// A day file's lines by their "at": where each begins and ends in the file's bytes.
function lineIndex(buf: Buffer): { at: number; start: number; end: number }[] {
  const out: { at: number; start: number; end: number }[] = [];
  for (let start = 0; start < buf.length; ) {
    let end = buf.indexOf(10, start);
    if (end < 0) end = buf.length;
    if (buf.compare(AT_PREFIX, 0, AT_PREFIX.length, start, start + AT_PREFIX.length) === 0) {
      let at = 0;
      let i = start + AT_PREFIX.length;
      for (; i < end && buf[i] >= 48 && buf[i] <= 57; i++) at = at * 10 + (buf[i] - 48);
      if (i > start + AT_PREFIX.length && (buf[i] === 44 || buf[i] === 125)) out.push({ at, start, end }); // followed by , or }
    }
    start = end + 1;
  }
  return out.sort((a, b) => a.at - b.at); // appended in order but by several processes
}

// One day file's answer to snapshotsAt.
function lastAtOrBefore(buf: Buffer, times: number[]): (Snapshot | null)[] {
  const lines = lineIndex(buf);
  const parsed = new Map<number, Snapshot | null>();
  const parse = (i: number): Snapshot | null => {
    if (!parsed.has(i)) {
      try {
        const s = JSON.parse(buf.toString('utf8', lines[i].start, lines[i].end)) as { at: unknown; data: Partial<MetricsData> };
        parsed.set(i, typeof s.at === 'number' ? { at: s.at, data: merge(emptyMetrics(), s.data) } : null);
      } catch {
        parsed.set(i, null); // a torn or empty line
      }
    }
    return parsed.get(i) as Snapshot | null;
  };
  return times.map((t) => {
    for (let i = lastIndexAtOrBefore(lines, t); i >= 0; i--) {
      const s = parse(i);
      if (s) return s;
    }
    return null;
  });
}

// The index of the last entry with at <= t in entries sorted by at, or -1.
function lastIndexAtOrBefore(entries: { at: number }[], t: number): number {
  let lo = 0;
  let hi = entries.length; // the answer + 1 is in [lo, hi]
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (entries[mid].at <= t) lo = mid + 1;
    else hi = mid;
  }
  return lo - 1;
}

// a − b, bucket by bucket, never below 0 (b: counted earlier, or a part of a).
export function minusHistogram(a: Histogram, b: Histogram | undefined): Histogram {
  return { counts: a.counts.map((c, i) => Math.max(0, c - (b?.counts[i] ?? 0))), sum: Math.max(0, a.sum - (b?.sum ?? 0)), count: Math.max(0, a.count - (b?.count ?? 0)) };
}

// What was counted between two snapshots (b taken before a).
export function subtract(a: MetricsData, b: MetricsData): MetricsData {
  const out = emptyMetrics();
  const flat = (x: Record<string, number>, y: Record<string, number>) => Object.fromEntries(Object.entries(x).map(([k, v]) => [k, Math.max(0, v - (y[k] ?? 0))]));
  for (const [fn, codes] of Object.entries(a.invocations)) out.invocations[fn] = flat(codes, b.invocations[fn] ?? {});
  for (const [fn, codes] of Object.entries(a.canaryInvocations)) out.canaryInvocations[fn] = flat(codes, b.canaryInvocations[fn] ?? {});
  for (const [fn, results] of Object.entries(a.asyncAttempts)) out.asyncAttempts[fn] = flat(results, b.asyncAttempts[fn] ?? {});
  out.callbackFailures = flat(a.callbackFailures, b.callbackFailures);
  for (const [fn, results] of Object.entries(a.scheduleFires)) out.scheduleFires[fn] = flat(results, b.scheduleFires[fn] ?? {});
  out.topicMessages = flat(a.topicMessages, b.topicMessages);
  for (const [fn, results] of Object.entries(a.fileDrops)) out.fileDrops[fn] = flat(results, b.fileDrops[fn] ?? {});
  out.natsBridged = flat(a.natsBridged, b.natsBridged);
  for (const [fn, h] of Object.entries(a.seconds)) out.seconds[fn] = minusHistogram(h, b.seconds[fn]);
  for (const [fn, h] of Object.entries(a.canarySeconds)) out.canarySeconds[fn] = minusHistogram(h, b.canarySeconds[fn]);
  out.activations = flat(a.activations, b.activations);
  out.coldStarts = flat(a.coldStarts, b.coldStarts);
  out.cpuSeconds = flat(a.cpuSeconds, b.cpuSeconds);
  out.memoryByteSeconds = flat(a.memoryByteSeconds, b.memoryByteSeconds);
  out.ioReadBytes = flat(a.ioReadBytes, b.ioReadBytes);
  out.ioWriteBytes = flat(a.ioWriteBytes, b.ioWriteBytes);
  out.logLinesDropped = flat(a.logLinesDropped, b.logLinesDropped);
  out.lastCall = { ...a.lastCall };
  out.memoryPeakBytes = { ...a.memoryPeakBytes }; // a peak has no window: the highest ever
  return out;
}
