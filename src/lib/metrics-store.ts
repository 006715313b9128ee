// Counters that outlive the processes counting them: the gateway, runners and apps exit when
// idle, so each keeps what it counted since its last flush and adds it to one file,
// $XDG_STATE_HOME/faass/metrics.json, under a lock, written whole (temp file + rename): a crash
// loses at most what was not flushed yet, never the file. Everything in it only grows.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Paths } from './paths';
import { writeFileAtomic, withLock } from './fs-atomic';
import { log, errorMessage } from './log';

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
  activations: Record<string, number>; // program (gateway, runner, app, api) → process starts
  coldStarts: Record<string, number>; // function → starts of its runner (or service app)
  cpuSeconds: Record<string, number>; // function → CPU of its runner's (app's) cgroup
  lastCall: Record<string, number>; // function → when its last call through the gateway ended (ms since the epoch); merged by max
}

export const emptyMetrics = (): MetricsData => ({ invocations: {}, seconds: {}, activations: {}, coldStarts: {}, cpuSeconds: {}, lastCall: {} });

export const metricsPath = (paths: Paths) => path.join(paths.stateDir, 'metrics.json');

const emptyHistogram = (): Histogram => ({ counts: new Array<number>(BUCKETS.length + 1).fill(0), sum: 0, count: 0 });

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
  for (const [fn, h] of Object.entries(b.seconds ?? {})) {
    if (!h || !Array.isArray(h.counts) || h.counts.length !== BUCKETS.length + 1 || !h.counts.every(isCount) || !isCount(h.sum) || !isCount(h.count)) continue;
    const into = (a.seconds[fn] ??= emptyHistogram());
    h.counts.forEach((c, i) => (into.counts[i] += c));
    into.sum += h.sum;
    into.count += h.count;
  }
  addFlat(a.activations, b.activations);
  addFlat(a.coldStarts, b.coldStarts);
  addFlat(a.cpuSeconds, b.cpuSeconds);
  for (const [k, v] of Object.entries(b.lastCall ?? {})) if (isCount(v)) a.lastCall[k] = Math.max(a.lastCall[k] ?? 0, v);
  return a;
}

export function isEmpty(d: MetricsData): boolean {
  return [d.invocations, d.seconds, d.activations, d.coldStarts, d.cpuSeconds, d.lastCall].every((o) => Object.keys(o).length === 0);
}

// The file as it is now; an unreadable one counts as empty (and is kept aside once by the next flush).
export function readMetrics(paths: Paths): MetricsData {
  let text: string;
  try {
    text = fs.readFileSync(metricsPath(paths), 'utf8');
  } catch {
    return emptyMetrics();
  }
  try {
    return merge(emptyMetrics(), JSON.parse(text) as Partial<MetricsData>);
  } catch {
    return emptyMetrics();
  }
}

// What one process counted and has not written yet.
export class MetricsStore {
  pending = emptyMetrics();
  constructor(private readonly paths: Paths) {}

  add(delta: Partial<MetricsData>): void {
    merge(this.pending, delta);
  }

  // Adds what is pending to the file. Errors are logged, the counts kept for the next try.
  flush(): void {
    if (isEmpty(this.pending)) return;
    const file = metricsPath(this.paths);
    try {
      fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
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
    } catch (e) {
      log.warning(`Failed to write ${file}: ${errorMessage(e)}; keeping the counts for the next try`);
    }
  }
}
