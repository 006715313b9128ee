#!/usr/bin/env node
// Asynchronous calls (issue 13): the enqueue rate and the drain rate next to the synchronous
// warm rate of the same function, measured in the same run, and the disk each queued call takes.
// Needs root (a sandboxed systemd --user) and ab. Usage: node bench/queue.js [--quick]
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const { runBench, round, progress, ab, startStack, waitUntil } = require('./lib.js');

const N = process.argv.includes('--quick') ? 500 : 2000;

function queued(dir) {
  const q = path.join(dir, 'state', 'faass', 'queue', 'cat');
  let files = [];
  try {
    files = fs.readdirSync(q).filter((f) => f.endsWith('.call'));
  } catch {
    // none yet
  }
  return { count: files.length, diskBytes: files.reduce((a, f) => a + (fs.statSync(path.join(q, f), { throwIfNoEntry: false })?.blocks ?? 0) * 512, 0) };
}

async function main() {
  const { m, port, close } = await startStack({ gatewayIdle: 60 });
  try {
    const result = { machine: { node: process.version, cpus: require('node:os').cpus().length }, calls: N, concurrency: 50 };
    m.ctl('deploy', 'cat', '--command', 'cat', '--idle', '300');
    progress('synchronous warm rate');
    result.sync_warm = ab(`http://127.0.0.1:${port}/function/cat`, N, 50);
    progress('enqueue rate (the dispatcher held back)');
    m.systemctl('stop', 'faass-dispatch.path');
    result.enqueue = ab(`http://127.0.0.1:${port}/async-function/cat`, N, 50, { warmup: false });
    const q = queued(m.dir);
    if (q.count !== N) throw new Error(`expected ${N} queued calls, found ${q.count}`);
    result.disk_bytes_per_queued_call = round(q.diskBytes / q.count);
    progress('drain rate');
    const t0 = process.hrtime.bigint();
    m.systemctl('start', 'faass-dispatch.path');
    await waitUntil(() => queued(m.dir).count === 0, 600000);
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    result.drain = { seconds: round(seconds), rps: round(N / seconds) };
    result.ratios = { enqueue_over_sync: round(result.enqueue.rps / result.sync_warm.rps), drain_over_sync: round(result.drain.rps / result.sync_warm.rps) };
    result.targets = { enqueue_over_sync: '>= 0.5' };
    return result;
  } finally {
    await close();
  }
}

runBench(main);
