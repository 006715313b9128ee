#!/usr/bin/env node
// faass benchmarks: one JSON document on stdout. Every figure is read against a baseline
// measured in the same run (ratios). The stack is the one ./install.sh sets up, unless
// --checkout (the checkout's own: bench/lib.js). Needs root (a sandboxed systemd --user) and ab.
// Usage: node bench/run.js [--quick] [--checkout]
'use strict';
const { execFileSync, spawn } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const { runBench, round, summary, progress, freePort, timedRequest, ab, chosenStack, faassProcs, waitUntil } = require('./lib.js');

const QUICK = process.argv.includes('--quick');
const COLD_RUNS = QUICK ? 5 : 20;
const AB_N = QUICK ? 1000 : 3000;

function nodeStartup(runs) {
  const ms = [];
  for (let i = 0; i < runs; i++) {
    const t0 = process.hrtime.bigint();
    execFileSync(process.execPath, ['-e', '']);
    ms.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  return summary(ms);
}

async function bareServer(mode) {
  const port = await freePort();
  const child = spawn(process.execPath, [path.join(__dirname, 'baselines/bare-server.js'), String(port), mode], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise((r) => child.stdout.once('data', r));
  const r = ab(`http://127.0.0.1:${port}/`, AB_N, 50);
  child.kill();
  return r;
}

async function main() {
  const { m, port, close, stack } = await chosenStack({ gatewayIdle: 1 });
  try {
    // FAASS_SPAWN=node: the runners start exec functions with Node's spawn (fast-spawn.ts), for A/B.
    if (process.env.FAASS_SPAWN) m.systemctl('set-environment', `FAASS_SPAWN=${process.env.FAASS_SPAWN}`);
    const os = require('node:os');
    const result = { machine: { node: process.version, cpus: os.cpus().length, loadavg_at_start: os.loadavg().map(round) }, stack, spawn: process.env.FAASS_SPAWN || 'default', baselines: {}, faass: {}, ratios: {} };
    progress('baselines');
    result.baselines.node_startup = nodeStartup(COLD_RUNS);
    result.baselines.bare_node_spawn_cat = await bareServer('cat');
    result.baselines.bare_node_inprocess = await bareServer('inprocess');

    m.ctl('deploy', 'cat', '--command', 'cat', '--idle', '1');
    fs.writeFileSync(path.join(m.dir, 'handler.js'), "module.exports = async (event) => 'v1:' + event.body;\n");
    m.ctl('deploy', 'nodefn', '--runtime', 'node', '--from-file', path.join(m.dir, 'handler.js'), '--idle', '1');

    progress('full-stack cold start');
    const cold = [];
    for (let i = 0; i < COLD_RUNS; i++) {
      await waitUntil(() => faassProcs(m.dir) === 0);
      const r = await timedRequest(port, '/function/cat');
      if (r.status !== 200) throw new Error(`cold call answered ${r.status}`);
      cold.push(r.ms);
    }
    result.faass.full_stack_cold_start = summary(cold);

    progress('runner-only cold start');
    m.ctl('init', '--idle', '300');
    m.systemctl('stop', 'faass-gateway.service');
    await timedRequest(port, '/healthz', { method: 'GET' });
    const runnerCold = [];
    for (let i = 0; i < COLD_RUNS; i++) {
      await waitUntil(() => m.systemctl('show', 'faass-fn-cat.service', '--property=ActiveState', '--value').trim() !== 'active');
      const r = await timedRequest(port, '/function/cat');
      if (r.status !== 200) throw new Error(`runner cold call answered ${r.status}`);
      runnerCold.push(r.ms);
    }
    result.faass.runner_cold_start = summary(runnerCold);

    progress('warm throughput');
    result.faass.warm_cat = ab(`http://127.0.0.1:${port}/function/cat`, AB_N, 50);
    result.faass.warm_node_handler = ab(`http://127.0.0.1:${port}/function/nodefn`, AB_N, 50);

    const b = result.baselines;
    const f = result.faass;
    result.ratios = {
      full_stack_cold_p50_over_node_startup: round(f.full_stack_cold_start.p50_ms / b.node_startup.p50_ms),
      runner_cold_p50_over_node_startup: round(f.runner_cold_start.p50_ms / b.node_startup.p50_ms),
      warm_cat_over_bare_spawn_cat: round(f.warm_cat.rps / b.bare_node_spawn_cat.rps),
      warm_node_over_bare_inprocess: round(f.warm_node_handler.rps / b.bare_node_inprocess.rps),
    };
    result.targets = { full_stack_cold_p50_over_node_startup: '<= 2.7', runner_cold_p50_over_node_startup: '<= 1.5', warm_cat_over_bare_spawn_cat: '>= 0.8', warm_node_over_bare_inprocess: '>= 0.3' };
    result.machine.loadavg_at_end = os.loadavg().map(round);
    return result;
  } finally {
    await close();
  }
}

runBench(main);
