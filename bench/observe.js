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

async function main() {
  const { m, port, close } = await startStack({ gatewayIdle: 300 });
  try {
    const fs = require('node:fs');
    const path = require('node:path');
    fs.writeFileSync(path.join(m.dir, 'handler.js'), "module.exports = async (event) => 'hi ' + event.body;\n");
    m.ctl('deploy', 'fn', '--runtime', 'node', '--from-file', path.join(m.dir, 'handler.js'), '--idle', '300');
    const url = `http://127.0.0.1:${port}/function/fn`;
    const runs = { on: [], off: [] };
    for (const mode of ['on', 'off', 'on', 'off']) {
      progress(`observability ${mode}`);
      const flag = mode === 'on' ? [] : ['--no-'];
      m.ctl('init', `--${flag}metrics`, `--${flag}log-calls`);
      m.systemctl('stop', 'faass-gateway.service', 'faass-fn-fn.service');
      const first = await timedRequest(port, '/function/fn');
      if (first.status !== 200) throw new Error(`call answered ${first.status}`);
      runs[mode].push({ ab: ab(url, AB_N, 50), wrk: wrk(url, WRK_S, 50) });
    }
    const best = (xs, k) => Math.max(...xs.map((x) => x[k].rps));
    const failed = [...runs.on, ...runs.off].reduce((n, r) => n + r.ab.failed + r.wrk.failed, 0);
    const ratios = {
      ab_c50_on_over_off: round(best(runs.on, 'ab') / best(runs.off, 'ab'), 3),
      wrk_keepalive_c50_on_over_off: round(best(runs.on, 'wrk') / best(runs.off, 'wrk'), 3),
    };
    return {
      what: 'warm node function through the gateway: req/s with metrics and call logging on vs off (best of two runs each)',
      machine: { node: process.version, cpus: require('node:os').cpus().length },
      runs,
      failed,
      ratios,
      overhead_percent: { ab: round((1 - ratios.ab_c50_on_over_off) * 100, 1), wrk: round((1 - ratios.wrk_keepalive_c50_on_over_off) * 100, 1) },
      target_overhead_percent: 5,
    };
  } finally {
    await close();
  }
}

runBench(main);
