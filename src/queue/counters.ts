// What the dispatcher counts about asynchronous calls: attempts by how they ended, and callbacks
// that failed. The dispatcher exits when its queue is empty, so the counts go to the metrics
// store's file for it (queue/.metrics.json, inside the only directory its unit may write) every
// FLUSH_MS and when it ends (flushQueueCounters); a SIGKILL loses at most the last FLUSH_MS.
// The gateway's /metrics reads them from there (observe/metrics-store.ts readMetrics).
import { Paths } from '../core/paths';
import { AttemptResult, DropResult, FireResult, MetricsStore, queueMetricsPath } from '../observe/metrics-store';
import { Outcome, Verdict } from './retry';

const FLUSH_MS = 2000;

// How one attempt ended, from its outcome and what follows it (retry.ts verdict).
export function attemptResult(outcome: Outcome, v: Verdict): AttemptResult {
  if (v.then === 'retry') return 'retry';
  if (v.then === 'dead') return 'dead';
  return 'status' in outcome && outcome.status < 400 ? 'success' : 'error';
}

// One store per state directory (a process serves one; tests may use several).
const stores = new Map<string, MetricsStore>();
let timer: NodeJS.Timeout | null = null;

function store(p: Paths): MetricsStore {
  const file = queueMetricsPath(p);
  let s = stores.get(file);
  if (!s) stores.set(file, (s = new MetricsStore(p, file)));
  // Unref'd: counting never keeps a process alive; its end flushes (flushQueueCounters).
  timer ??= setInterval(flushQueueCounters, FLUSH_MS).unref();
  return s;
}

export function countAttempt(p: Paths, name: string, result: AttemptResult): void {
  store(p).add({ asyncAttempts: { [name]: { [result]: 1 } } });
}

// A callback (X-Callback-Url) of a call of NAME that failed for good: counted in
// faass_async_callback_failures_total. Whoever sends callbacks calls this once per such callback.
export function countCallbackFailure(p: Paths, name: string): void {
  store(p).add({ callbackFailures: { [name]: 1 } });
}

// A fire of one of NAME's schedules (schedule-fire.ts), in faass_schedule_fires_total: the fire
// program writes only the queue, as the dispatcher does, so it counts into the same file.
export function countFire(p: Paths, name: string, result: FireResult): void {
  store(p).add({ scheduleFires: { [name]: { [result]: 1 } } });
}

// A file of one of NAME's file drops (drop-fire.ts), in faass_file_drops_{claimed,refused,failed}_total.
export function countDropFile(p: Paths, name: string, result: DropResult): void {
  store(p).add({ fileDrops: { [name]: { [result]: 1 } } });
}

// A message one of NAME's NATS bridges queued as a call and acked (nats-main.ts), in
// faass_nats_messages_bridged_total. The bridge runs for good: the timer flushes it.
export function countBridged(p: Paths, name: string): void {
  store(p).add({ natsBridged: { [name]: 1 } });
}

// Writes what was counted (errors are logged by the store and the counts kept for the next try).
export function flushQueueCounters(): void {
  for (const s of stores.values()) s.flush();
}
