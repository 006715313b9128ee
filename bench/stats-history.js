#!/usr/bin/env node
// The web console's figures on a full history: GET /system/stats and
// GET /system/function/NAME/history answered (api/stats.ts, in-process) over 35 days of snapshots
// at one a minute (the most the gateway writes: one a minute while calls come, kept 35 days) of
// 20 functions. Target: well under 1 s an answer. Usage: node bench/stats-history.js (after
// npm run build).
'use strict';
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { resolvePaths, functionConfPath } = require('../dist/core/paths.js');
const { renderFunctionConfig, buildFunctionConfig } = require('../dist/functions/function-config.js');
const { BUCKETS, metricsPath } = require('../dist/observe/metrics-store.js');
const { statsView, historyView } = require('../dist/api/stats.js');

const DAYS = 35;
const FUNCTIONS = 20;
const RUNS = 5;

// Totals after minute m: every function called a little each minute, now and then a 500.
function totals(m, names) {
  const d = { invocations: {}, seconds: {}, coldStarts: {}, cpuSeconds: {}, lastCall: {}, memoryPeakBytes: {}, memoryByteSeconds: {} };
  names.forEach((n, i) => {
    const calls = m * (i + 1);
    d.invocations[n] = { 200: calls - Math.floor(calls / 50), 500: Math.floor(calls / 50), 404: Math.floor(m / 7) };
    const counts = new Array(BUCKETS.length + 1).fill(0).map((_, b) => (b < 6 ? Math.floor(calls / (b + 2)) : 0));
    d.seconds[n] = { counts, sum: calls * 0.02, count: counts.reduce((a, b) => a + b, 0) };
    d.coldStarts[n] = Math.floor(m / 30);
    d.cpuSeconds[n] = calls * 0.004;
    d.lastCall[n] = Date.now();
    d.memoryPeakBytes[n] = 50e6 + i;
    d.memoryByteSeconds[n] = calls * 1e6;
  });
  return d;
}

function setUp() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'faass-bench-stats-'));
  const paths = resolvePaths({ ...process.env, XDG_STATE_HOME: dir, XDG_CONFIG_HOME: dir, XDG_DATA_HOME: dir, XDG_RUNTIME_DIR: dir });
  const names = Array.from({ length: FUNCTIONS }, (_, i) => `fn${String(i).padStart(2, '0')}`);
  fs.mkdirSync(path.dirname(functionConfPath(paths, 'x')), { recursive: true });
  for (const n of names) fs.writeFileSync(functionConfPath(paths, n), renderFunctionConfig(buildFunctionConfig(n, { runtime: 'exec', command: 'cat' })));
  const history = path.join(paths.stateDir, 'metrics-history');
  fs.mkdirSync(history, { recursive: true });
  const now = Date.now();
  const first = now - DAYS * 86400_000;
  let bytes = 0;
  let lines = [];
  let day = new Date(first).toISOString().slice(0, 10);
  const write = () => {
    const text = lines.join('');
    bytes += text.length;
    fs.writeFileSync(path.join(history, `${day}.jsonl`), text);
    lines = [];
  };
  for (let m = 0, at = first; at < now; m++, at += 60_000) {
    const d = new Date(at).toISOString().slice(0, 10);
    if (d !== day) {
      write();
      day = d;
    }
    lines.push(JSON.stringify({ at, data: totals(m, names) }) + '\n');
  }
  write();
  fs.writeFileSync(metricsPath(paths), JSON.stringify(totals(DAYS * 1440 + 5, names)));
  return { dir, paths, names, bytes, snapshots: DAYS * 1440 };
}

async function time(f) {
  const ms = [];
  for (let i = 0; i < RUNS; i++) {
    const t0 = process.hrtime.bigint();
    await f();
    ms.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  ms.sort((a, b) => a - b);
  return { median_ms: Math.round(ms[RUNS >> 1]), max_ms: Math.round(ms[RUNS - 1]) };
}

async function main() {
  const { dir, paths, names, bytes, snapshots } = setUp();
  try {
    const q = (s) => new URLSearchParams(s);
    const out = {
      history: { days: DAYS, functions: FUNCTIONS, snapshots, megabytes: Math.round(bytes / 1e5) / 10 },
      runs: RUNS,
      'history 1h/60': await time(() => historyView(paths, names[3], q('window=1h&points=60'))),
      'history 24h/60': await time(() => historyView(paths, names[3], q('window=24h&points=60'))),
      'history 7d/60': await time(() => historyView(paths, names[3], q('window=7d&points=60'))),
      'history 7d/500': await time(() => historyView(paths, names[3], q('window=7d&points=500'))),
      'history 35d/500': await time(() => historyView(paths, names[3], q('window=35d&points=500'))),
      'stats 1h': await time(() => statsView(paths, q('window=1h'))),
      'stats 7d': await time(() => statsView(paths, q('window=7d'))),
    };
    const h = historyView(paths, names[3], q('window=7d&points=60'));
    // The snapshot at the window's start is minute 28 × 1440 (or the one before, by the clock).
    const sum = (m) => Object.values(totals(m, names).invocations[names[3]]).reduce((a, b) => a + b, 0);
    const calls = h.points.reduce((n, p) => n + p.calls, 0);
    out.check = { points: h.points.length, calls, expected: [sum(DAYS * 1440 + 5) - sum((DAYS - 7) * 1440), sum(DAYS * 1440 + 5) - sum((DAYS - 7) * 1440 - 1)] };
    console.log(JSON.stringify(out, null, 2));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
