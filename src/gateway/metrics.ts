// GET /metrics: Prometheus text (prom-client), with OpenFaaS' names for calls and durations.
// Counts live in observe/metrics-store's file, so they survive the gateway's idle exits; this
// process adds what it counted since its last flush. prom-client is loaded at the first scrape
// only (it costs ~70 ms, which every cold start would pay otherwise).
import type * as Prom from 'prom-client';
import { Paths } from '../core/paths';
import { ATTEMPT_RESULTS, DropResult, DROP_RESULTS, FIRE_RESULTS, BUCKETS, Histogram, MetricsData, MetricsStore, merge, minusHistogram, onlyFunctions, observe, readMetrics, appendSnapshot, emptyHistogram, metricsPath } from '../observe/metrics-store';
import { canarySummary } from '../functions/canary-files';
import { log, errorMessage } from '../observe/log';
import * as fs from 'node:fs';
import { liveUse, unitParents } from '../observe/accounting';
import { listFunctionNames } from '../functions/function-config';
import { NO_QUEUE, QueueFigures, allQueueFigures } from '../queue/figures';

const FLUSH_MS = 2000;
const SNAPSHOT_MS = 60_000;

export const METRICS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

export class GatewayMetrics {
  private readonly store: MetricsStore;
  private readonly inflight = new Map<string, number>();
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly paths: Paths) {
    this.store = new MetricsStore(paths, metricsPath(paths));
    this.store.add({ activations: { gateway: 1 } });
    this.timer = setInterval(() => this.flush(false), FLUSH_MS);
    this.timer.unref();
  }

  private unsnapshotted = false; // calls written since the last snapshot
  private lastSnapshot = 0;

  // Writes the counts; a snapshot for the history (faassctl stats --since) at most once a
  // SNAPSHOT_MS while calls come, and at exit.
  private flush(exiting: boolean): void {
    const calls = Object.keys(this.store.pending.invocations).length > 0;
    this.store.addDroppedLogLines('gateway');
    if (this.store.flush() && calls) this.unsnapshotted = true;
    if (this.unsnapshotted && (exiting || Date.now() - this.lastSnapshot >= SNAPSHOT_MS)) {
      try {
        appendSnapshot(this.paths, readMetrics(this.paths));
        this.unsnapshotted = false;
        this.lastSnapshot = Date.now();
      } catch (e) {
        log.warning(`Failed to write the metrics history: ${errorMessage(e)}`);
      }
    }
  }

  // A call to an existing function begins, and ends with its status after `seconds`.
  begin(fn: string): void {
    this.inflight.set(fn, (this.inflight.get(fn) ?? 0) + 1);
  }

  // canary: its canary answered it (gateway/canaries.ts); counted among all the function's calls
  // and apart, so /metrics tells the sides apart.
  end(fn: string, status: number, seconds: number, canary = false): void {
    this.inflight.set(fn, (this.inflight.get(fn) ?? 1) - 1);
    const p = this.store.pending;
    const count = (into: Record<string, Record<string, number>>, hs: Record<string, Histogram>) => {
      const codes = (into[fn] ??= {});
      codes[status] = (codes[status] ?? 0) + 1;
      observe((hs[fn] ??= emptyHistogram()), seconds);
    };
    count(p.invocations, p.seconds);
    if (canary) count(p.canaryInvocations, p.canarySeconds);
    p.lastCall[fn] = Date.now();
  }

  // A message published to topic that queued at least one call (gateway/publish.ts).
  published(topic: string): void {
    const p = this.store.pending;
    p.topicMessages[topic] = (p.topicMessages[topic] ?? 0) + 1;
  }

  private parents: ReturnType<typeof unitParents> | null = null;
  private cgroupParents(): ReturnType<typeof unitParents> {
    if (!this.parents) {
      try {
        this.parents = unitParents(fs.readFileSync('/proc/self/cgroup', 'utf8'), 'faass-gateway.service');
      } catch {
        this.parents = [];
      }
    }
    return this.parents;
  }

  close(): void {
    clearInterval(this.timer);
    this.flush(true);
  }

  // What the file holds plus what this process has not written yet.
  snapshot(): MetricsData {
    return merge(readMetrics(this.paths), this.store.pending);
  }

  // Every series, or the faass-wide ones and those of the functions `visible` lets through (and
  // then no topic's: a topic is not a function, and who may see it is not known).
  async render(only?: (fn: string) => boolean): Promise<string> {
    const prom = require('prom-client') as typeof Prom;
    const visible = only ?? (() => true);
    const data = onlyFunctions(this.snapshot(), visible, { topics: only === undefined });
    const registry = new prom.Registry();
    const registers = [registry];
    const invocations = new prom.Counter({ name: 'gateway_function_invocation_total', help: 'Calls of a function through the gateway, by HTTP status and side: current (its current version) or canary', labelNames: ['function_name', 'code', 'side'], registers });
    const sides = bySide(data);
    for (const [side, calls] of Object.entries(sides.invocations)) for (const [fn, codes] of Object.entries(calls)) for (const [code, n] of Object.entries(codes)) invocations.inc({ function_name: fn, code, side }, n);
    registry.registerMetric(histogramMetric('gateway_functions_seconds', 'Duration of calls through the gateway, seconds, by side: current or canary', sides.seconds) as unknown as Prom.Metric);
    canarySeries(prom, registers, this.paths, visible);
    const inflight = new prom.Gauge({ name: 'faass_function_inflight', help: 'Calls running now', labelNames: ['function_name'], registers });
    for (const fn of new Set([...Object.keys(data.invocations), ...[...this.inflight.keys()].filter(visible)])) inflight.set({ function_name: fn }, this.inflight.get(fn) ?? 0);
    const cold = new prom.Counter({ name: 'faass_function_cold_starts_total', help: "Starts of a function's runner (of a service's app)", labelNames: ['function_name'], registers });
    for (const [fn, n] of Object.entries(data.coldStarts)) cold.inc({ function_name: fn }, n);
    const activations = new prom.Counter({ name: 'faass_activations_total', help: 'Process starts by socket activation, by program', labelNames: ['program'], registers });
    for (const [program, n] of Object.entries(data.activations)) activations.inc({ program }, n);
    const dropped = new prom.Counter({ name: 'faass_log_lines_dropped_total', help: 'Log lines dropped because journald did not take them in time, by program', labelNames: ['program'], registers });
    for (const [program, n] of Object.entries(data.logLinesDropped)) dropped.inc({ program }, n);
    // Live: what the function's units that run now use (none runs: no sample).
    const tasks = new prom.Gauge({ name: 'faass_function_tasks', help: "Tasks (processes and threads) in the function's running units", labelNames: ['function_name'], registers });
    const memory = new prom.Gauge({ name: 'faass_function_memory_bytes', help: "Memory of the function's running units (cgroup memory.current), where the machine gives it", labelNames: ['function_name'], registers });
    const parents = this.cgroupParents();
    for (const fn of listFunctionNames(this.paths).filter(visible)) {
      const use = liveUse(parents, [`faass-fn-${fn}.service`, `faass-fn-${fn}-app.service`]);
      if (use.tasks) tasks.set({ function_name: fn }, use.tasks);
      if (use.memoryBytes) memory.set({ function_name: fn }, use.memoryBytes);
    }
    const cpu = new prom.Counter({ name: 'faass_function_cpu_seconds_total', help: "CPU time of a function's runner (service app) cgroup: the runner, its workers and the processes it ran", labelNames: ['function_name'], registers });
    for (const [fn, n] of Object.entries(data.cpuSeconds)) cpu.inc({ function_name: fn }, n);
    // Where the machine gives them (memory and io controllers for user units): else no sample.
    const peak = new prom.Gauge({ name: 'faass_function_memory_peak_bytes', help: "Highest memory.peak of the function's runner (service app) cgroup", labelNames: ['function_name'], registers });
    for (const [fn, n] of Object.entries(data.memoryPeakBytes)) peak.set({ function_name: fn }, n);
    const memSeconds = new prom.Counter({ name: 'faass_function_memory_byte_seconds_total', help: "memory.current of the function's runner (service app) cgroup times time, sampled every 2 s", labelNames: ['function_name'], registers });
    for (const [fn, n] of Object.entries(data.memoryByteSeconds)) memSeconds.inc({ function_name: fn }, n);
    const ioRead = new prom.Counter({ name: 'faass_function_io_read_bytes_total', help: "Bytes read by the function's runner (service app) cgroup (io.stat)", labelNames: ['function_name'], registers });
    for (const [fn, n] of Object.entries(data.ioReadBytes)) ioRead.inc({ function_name: fn }, n);
    const ioWrite = new prom.Counter({ name: 'faass_function_io_write_bytes_total', help: "Bytes written by the function's runner (service app) cgroup (io.stat)", labelNames: ['function_name'], registers });
    for (const [fn, n] of Object.entries(data.ioWriteBytes)) ioWrite.inc({ function_name: fn }, n);
    // The queues as the spool holds them now: every function's, 0 for one that never had a call
    // queued (a series that is there at 0 can be alerted on; a delete takes the queue with it).
    const queues = await allQueueFigures(this.paths, visible);
    for (const fn of listFunctionNames(this.paths).filter(visible)) if (!queues.has(fn)) queues.set(fn, NO_QUEUE);
    queueSeries(prom, registers, data, queues, Date.now());
    return registry.metrics();
  }
}

// Asynchronous calls: the spool's figures (gauges, read at the scrape: nothing resident counts
// them) and the dispatcher's counts (counters, from the store).
function queueSeries(prom: typeof Prom, registers: Prom.Registry[], data: MetricsData, queues: Map<string, QueueFigures>, now: number): void {
  const depth = new prom.Gauge({ name: 'faass_async_queue_depth', help: 'Asynchronous calls waiting in the queue (running and waiting for a retry included)', labelNames: ['function_name'], registers });
  const age = new prom.Gauge({ name: 'faass_async_queue_oldest_age_seconds', help: 'Age of the oldest call in the queue since it was first queued, seconds (0 when none is queued)', labelNames: ['function_name'], registers });
  const dead = new prom.Gauge({ name: 'faass_async_dead_letters', help: 'Calls in the dead letters (out of attempts or age)', labelNames: ['function_name'], registers });
  for (const [fn, q] of queues) {
    depth.set({ function_name: fn }, q.queued);
    age.set({ function_name: fn }, q.oldestAt === null ? 0 : Math.max(0, (now - q.oldestAt) / 1000));
    dead.set({ function_name: fn }, q.dead);
  }
  const attempts = new prom.Counter({ name: 'faass_async_attempts_total', help: 'Attempts to deliver asynchronous calls, by result: success (answered below 400), error (answered 400 or more, not retried), retry, dead (the last, to the dead letters)', labelNames: ['function_name', 'result'], registers });
  for (const [fn, results] of Object.entries(data.asyncAttempts)) for (const result of ATTEMPT_RESULTS) attempts.inc({ function_name: fn, result }, results[result] ?? 0);
  const callbacks = new prom.Counter({ name: 'faass_async_callback_failures_total', help: 'Callbacks (X-Callback-Url) of asynchronous calls that failed after their retries', labelNames: ['function_name'], registers });
  for (const [fn, n] of Object.entries(data.callbackFailures)) callbacks.inc({ function_name: fn }, n);
  triggerSeries(prom, registers, data);
}

// Triggers: fires of schedules (counted by their fire program) and messages published to topics.
function triggerSeries(prom: typeof Prom, registers: Prom.Registry[], data: MetricsData): void {
  const fires = new prom.Counter({ name: 'faass_schedule_fires_total', help: "Fires of a function's schedules, by result: queued (a call), skipped (overlap=skip, the previous call still queued or running)", labelNames: ['function_name', 'result'], registers });
  for (const [fn, results] of Object.entries(data.scheduleFires)) for (const result of FIRE_RESULTS) fires.inc({ function_name: fn, result }, results[result] ?? 0);
  const messages = new prom.Counter({ name: 'faass_topic_messages_total', help: 'Messages published to a topic that queued a call for at least one subscriber (a repeat with the same Idempotency-Key is not counted)', labelNames: ['topic'], registers });
  for (const [topic, n] of Object.entries(data.topicMessages)) messages.inc({ topic }, n);
  for (const result of DROP_RESULTS) {
    const files = new prom.Counter({ name: `faass_file_drops_${result}_total`, help: DROP_HELP[result], labelNames: ['function_name'], registers });
    for (const [fn, results] of Object.entries(data.fileDrops)) files.inc({ function_name: fn }, results[result] ?? 0);
  }
  const bridged = new prom.Counter({ name: 'faass_nats_messages_bridged_total', help: "Messages of a function's NATS bridges queued as calls and acked (one delivered again, its call queued already, is not counted)", labelNames: ['function_name'], registers });
  for (const [fn, n] of Object.entries(data.natsBridged)) bridged.inc({ function_name: fn }, n);
}

// A counter a result of a file drop's files (the names the issue gives them), each with every
// function whose drops counted any file, 0 included.
const DROP_HELP: Record<DropResult, string> = {
  claimed: "Files of a function's file drops claimed, their calls queued",
  refused: "Files of a function's file drops refused (not a regular file, or a name that is not UTF-8): moved to .faass/failed/ with no call",
  failed: "Files of a function's file drops whose call failed for good: moved to .faass/failed/",
};

// The calls by side: the store counts all of a function's calls, and apart those its canary
// answered; current is the difference. Two values at most: the label's cardinality is bounded
// (a version label would grow with every deploy).
export const SIDES = ['current', 'canary'] as const;
export type Side = (typeof SIDES)[number];

export function bySide(d: MetricsData): { invocations: Record<Side, MetricsData['invocations']>; seconds: Record<Side, Record<string, Histogram>> } {
  const current: MetricsData['invocations'] = {};
  for (const [fn, codes] of Object.entries(d.invocations)) {
    const canary = d.canaryInvocations[fn] ?? {};
    // A status only the canary answered has no current series (rather than one stuck at 0).
    current[fn] = Object.fromEntries(Object.entries(codes).flatMap(([code, n]) => (n > (canary[code] ?? 0) ? [[code, n - (canary[code] ?? 0)]] : [])));
  }
  const seconds = Object.fromEntries(Object.entries(d.seconds).map(([fn, h]) => [fn, minusHistogram(h, d.canarySeconds[fn])]));
  return { invocations: { current, canary: d.canaryInvocations }, seconds: { current: seconds, canary: d.canarySeconds } };
}

// The canaries that run now, read from their routes at the scrape: the version and the share the
// gateway routes to it (0 once aborted). No series for a function without one.
function canarySeries(prom: typeof Prom, registers: Prom.Registry[], paths: Paths, visible: (fn: string) => boolean): void {
  const version = new prom.Gauge({ name: 'faass_canary_version', help: "The version a function's canary runs", labelNames: ['function_name'], registers });
  const share = new prom.Gauge({ name: 'faass_canary_share_percent', help: "The share of a function's calls the gateway sends its canary, percent (0 once the gateway aborted it)", labelNames: ['function_name'], registers });
  for (const fn of listFunctionNames(paths).filter(visible)) {
    const c = canarySummary(paths, fn);
    if (!c) continue;
    version.set({ function_name: fn }, c.version);
    share.set({ function_name: fn }, c.state === 'aborted' ? 0 : c.percent);
  }
}

// A histogram from stored bucket counts (prom-client's Histogram can only observe), by side.
function histogramMetric(name: string, help: string, sides: Record<Side, Record<string, Histogram>>) {
  return {
    name,
    help,
    type: 'histogram',
    aggregator: 'sum',
    get: async () => {
      const values: { labels: Record<string, string | number>; value: number; metricName: string }[] = [];
      for (const side of SIDES) {
        for (const [fn, h] of Object.entries(sides[side])) {
          let cumulative = 0;
          BUCKETS.forEach((le, i) => {
            cumulative += h.counts[i];
            values.push({ labels: { function_name: fn, side, le }, value: cumulative, metricName: `${name}_bucket` });
          });
          values.push({ labels: { function_name: fn, side, le: '+Inf' }, value: h.count, metricName: `${name}_bucket` });
          values.push({ labels: { function_name: fn, side }, value: h.sum, metricName: `${name}_sum` });
          values.push({ labels: { function_name: fn, side }, value: h.count, metricName: `${name}_count` });
        }
      }
      return { name, help, type: 'histogram', aggregator: 'sum', values };
    },
  };
}
