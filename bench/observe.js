#!/usr/bin/env node
// The cost of observability on warm throughput: metrics (counting, the flush every 2 s) and one
// journal line per call, on against off (faass.conf metrics/log_calls), in the same run,
// alternating on/off/on/off so that drift of the machine hits both. Target: under 5 %.
// Usage: node bench/observe.js [--quick]
'use strict';
const { runBench, round, progress, ab, wrk, startStack, timedRequest } = require('./lib.js');

const QUICK = process.argv.includes('--quick');
const AB_N = QUICK ? 2000 : 6000;
const WRK_S = QUICK ? 3 : 6;

// The per-call work in isolation, which throughput on a busy 2-core machine cannot resolve:
// counting a call in the gateway, and a call line over its budget (counted for the summary).
function micro() {
  const os = require('node:os');
  const fs = require('node:fs');
  const path = require('node:path');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'faass-observe-'));
  const { GatewayMetrics } = require('../dist/gateway/metrics.js');
  const { CallLog } = require('../dist/observe/call-log.js');
  const { resolvePaths } = require('../dist/core/paths.js');
  const metrics = new GatewayMetrics(resolvePaths({ ...process.env, XDG_STATE_HOME: dir }));
  const N = 1e6;
  const time = (f) => {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < N; i++) f(i);
    return round(Number(process.hrtime.bigint() - t0) / N, 0);
  };
  const metricsNs = time((i) => {
    metrics.begin(`fn${i & 7}`);
    metrics.end(`fn${i & 7}`, 200, 0.001);
  });
  let lines = 0;
  const log = new CallLog(100, () => lines++);
  const logNs = time(() => log.record('id', 'fn', 200, 0.001, false));
  metrics.close();
  fs.rmSync(dir, { recursive: true, force: true });
  return { metrics_ns_per_call: metricsNs, call_log_ns_per_call_over_budget: logNs, lines_logged_of_1e6_calls_in_one_second: lines };
}

async function main() {
  const result = { micro: micro() };
  const { m, port, close } = await startStack({ gatewayIdle: 300 });
  try {
    const fs = require('node:fs');
    const path = require('node:path');
    fs.writeFileSync(path.join(m.dir, 'handler.js'), "module.exports = async (event) => 'hi ' + event.body;\n");
    m.ctl('deploy', 'fn', '--runtime', 'node', '--from-file', path.join(m.dir, 'handler.js'), '--idle', '300');
    const url = `http://127.0.0.1:${port}/function/fn`;
    // on: both; metrics / logs: one of the two; off: neither.
    const modes = { on: ['--metrics', '--log-calls'], metrics: ['--metrics', '--no-log-calls'], logs: ['--no-metrics', '--log-calls'], off: ['--no-metrics', '--no-log-calls'] };
    const runs = { on: [], metrics: [], logs: [], off: [] };
    const ROUNDS = QUICK ? 2 : 3;
    for (const mode of Array.from({ length: ROUNDS }, () => Object.keys(modes)).flat()) {
      progress(`observability: ${mode}`);
      m.ctl('init', ...modes[mode]);
      m.systemctl('stop', 'faass-gateway.service', 'faass-fn-fn.service');
      const first = await timedRequest(port, '/function/fn');
      if (first.status !== 200) throw new Error(`call answered ${first.status}`);
      runs[mode].push({ ab: ab(url, AB_N, 50), wrk: wrk(url, WRK_S, 50) });
    }
    const median = (xs, k) => xs.map((x) => x[k].rps).sort((a, b) => a - b)[Math.floor(xs.length / 2)];
    const failed = Object.values(runs).flat().reduce((n, r) => n + r.ab.failed + r.wrk.failed, 0);
    const ratio = (mode, k) => round(median(runs[mode], k) / median(runs.off, k), 3);
    const ratios = {};
    for (const mode of ['on', 'metrics', 'logs']) ratios[mode] = { ab_c50_over_off: ratio(mode, 'ab'), wrk_keepalive_c50_over_off: ratio(mode, 'wrk') };
    return {
      ...result,
      what: 'warm node function through the gateway: req/s with metrics and call lines on, one of them, or off (median of the runs of each, interleaved)',
      machine: { node: process.version, cpus: require('node:os').cpus().length },
      runs,
      failed,
      ratios,
      overhead_percent: { ab: round((1 - ratios.on.ab_c50_over_off) * 100, 1), wrk: round((1 - ratios.on.wrk_keepalive_c50_over_off) * 100, 1) },
      target_overhead_percent: 5,
      spread_of_off_runs: { ab: runs.off.map((r) => r.ab.rps), wrk: runs.off.map((r) => r.wrk.rps) },
    };
  } finally {
    await close();
  }
}

runBench(main);
