#!/usr/bin/env node
// Asynchronous calls past one dispatcher's first lane (issue 13, "Scale past one dispatcher"):
//  - drain: how fast queued calls are delivered as the function's max_inflight grows (1, 4, 16:
//    the lane delivers up to min(max_inflight, LANE_MAX = 16) at once), for a function that
//    waits (100 ms of sleep: concurrency pays) and one that only costs CPU (cat: a process per
//    call, bound by the cores); each next to the synchronous warm rate of the same function at
//    the same concurrency, measured in the same run;
//  - enqueue: the rate into an empty queue and into one holding 10,000 calls (the enqueue counts
//    the function's directory to enforce queue_max), and what a /metrics scrape costs then.
// Calls are held back by stopping faass-dispatch.path, then let go. Needs root (a sandboxed
// systemd --user) and ab. Usage: node bench/queue-scale.js [--quick]
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const { runBench, round, progress, ab, startStack, waitUntil, timedRequest } = require('./lib.js');

const QUICK = process.argv.includes('--quick');
const INFLIGHT = [1, 4, 16];
const FUNCTIONS = {
  sleepy: { command: 'sh -c "sleep 0.1; cat"', calls: QUICK ? 48 : 160 },
  cat: { command: 'cat', calls: QUICK ? 200 : 800 },
};
const HELD = QUICK ? 2000 : 10000; // calls waiting when the second enqueue rate is measured
const ENQUEUE = QUICK ? 500 : 2000;

const queueDir = (m, name) => path.join(m.dir, 'state', 'faass', 'queue', name);
const queued = (m, name) => {
  try {
    return fs.readdirSync(queueDir(m, name)).filter((f) => f.endsWith('.call')).length;
  } catch {
    return 0;
  }
};

// Queues `calls` calls with the dispatcher held back, then times their delivery from the moment
// the path unit may start the dispatcher until none is left.
async function drain(m, port, name, calls) {
  m.systemctl('stop', 'faass-dispatch.path');
  ab(`http://127.0.0.1:${port}/async-function/${name}`, calls, 16, { warmup: false });
  if (queued(m, name) !== calls) throw new Error(`expected ${calls} queued calls of ${name}, found ${queued(m, name)}`);
  const t0 = process.hrtime.bigint();
  m.systemctl('start', 'faass-dispatch.path');
  await waitUntil(() => queued(m, name) === 0, 600000);
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  return { calls, seconds: round(seconds), rps: round(calls / seconds) };
}

async function scaling(m, port) {
  const out = {};
  for (const [name, fn] of Object.entries(FUNCTIONS)) {
    out[name] = { command: fn.command, by_max_inflight: {} };
    for (const n of INFLIGHT) {
      progress(`${name}: max_inflight ${n}: synchronous rate at concurrency ${n}, then the drain`);
      m.ctl('deploy', name, '--command', fn.command, '--max-inflight', String(n), '--idle', '300');
      const sync = ab(`http://127.0.0.1:${port}/function/${name}`, fn.calls, n);
      const d = await drain(m, port, name, fn.calls);
      out[name].by_max_inflight[n] = { sync_rps: sync.rps, sync_failed: sync.failed, drain_rps: d.rps, drain_seconds: d.seconds, drain_over_sync: round(d.rps / sync.rps) };
    }
    const r = out[name].by_max_inflight;
    out[name].drain_speedup_16_over_1 = round(r[16].drain_rps / r[1].drain_rps);
  }
  return out;
}

// Enqueue rate with the queue empty, and with HELD calls waiting; the dispatcher held back.
async function enqueueBySpoolSize(m, port) {
  m.systemctl('stop', 'faass-dispatch.path');
  m.ctl('deploy', 'held', '--command', 'cat', '--queue-max', String(HELD + 2 * ENQUEUE));
  const url = `http://127.0.0.1:${port}/async-function/held`;
  progress(`enqueue into an empty queue (${ENQUEUE} calls)`);
  const empty = ab(url, ENQUEUE, 50, { warmup: false });
  progress(`filling the queue to ${HELD} calls`);
  ab(url, HELD - ENQUEUE, 50, { warmup: false });
  if (queued(m, 'held') !== HELD) throw new Error(`expected ${HELD} queued calls, found ${queued(m, 'held')}`);
  const scrape = await timedRequest(port, '/metrics', { method: 'GET' });
  progress(`enqueue with ${HELD} calls waiting (${ENQUEUE} calls)`);
  const full = ab(url, ENQUEUE, 50, { warmup: false });
  const depth = Number((/^faass_async_queue_depth\{function_name="held"\} (\d+)$/m.exec(scrape.body) || [])[1]);
  m.ctl('delete', 'held', '--discard');
  const baseline = await timedRequest(port, '/metrics', { method: 'GET' });
  m.systemctl('start', 'faass-dispatch.path');
  return {
    empty: { rps: empty.rps, p50_ms: empty.p50_ms, p99_ms: empty.p99_ms, failed: empty.failed },
    [`with_${HELD}_waiting`]: { rps: full.rps, p50_ms: full.p50_ms, p99_ms: full.p99_ms, failed: full.failed },
    ratio_full_over_empty: round(full.rps / empty.rps),
    metrics_scrape_ms: { [`with_${HELD}_waiting`]: round(scrape.ms), queue_gone: round(baseline.ms), depth_reported: depth },
  };
}

async function main() {
  const { m, port, close } = await startStack({ gatewayIdle: 60 });
  try {
    const result = { machine: { node: process.version, cpus: require('node:os').cpus().length }, quick: QUICK, lane_max: 16 };
    result.drain = await scaling(m, port);
    result.enqueue = await enqueueBySpoolSize(m, port);
    return result;
  } finally {
    await close();
  }
}

runBench(main);
