#!/usr/bin/env node
// A cold call taken apart (issue 18): the stack ./install.sh sets up (bench/lib.js
// installedStack), against the checkout's own stack (bench/lib.js startStack), in one run, with
// `node -e ''` as the baseline. For each cold call (no faass process of the stack running) the
// units' own monotonic timestamps split it into
//   connect → gateway ExecMainStart → gateway READY (ActiveEnter) → runner ExecMainStart →
//   runner READY → answer at the client,
// read with the client's clock (process.hrtime is CLOCK_MONOTONIC, as systemd's *Monotonic
// timestamps are). Also a cold /healthz (the gateway alone).
// Usage: node bench/cold.js [--runs N]   (root: it starts sandboxed user managers)
'use strict';
const { execFileSync } = require('node:child_process');
const { runBench, round, summary, progress, timedRequest, startStack, installedStack, faassProcs, waitUntil } = require('./lib.js');

const runsArg = process.argv.indexOf('--runs');
const RUNS = runsArg > 0 ? Number(process.argv[runsArg + 1]) : 15;
if (!Number.isInteger(RUNS) || RUNS < 1) {
  process.stderr.write('bench: --runs takes a whole number\n');
  process.exit(2);
}

const nowUs = () => Number(process.hrtime.bigint() / 1000n);

function nodeStartup(runs) {
  const ms = [];
  for (let i = 0; i < runs; i++) {
    const t0 = process.hrtime.bigint();
    execFileSync(process.execPath, ['-e', '']);
    ms.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  return summary(ms);
}

function stamps(m, unit) {
  const out = m.systemctl('show', unit, '--property=ExecMainStartTimestampMonotonic', '--property=ActiveEnterTimestampMonotonic');
  const v = Object.fromEntries(out.trim().split('\n').map((l) => l.split('=')));
  return { start: Number(v.ExecMainStartTimestampMonotonic), ready: Number(v.ActiveEnterTimestampMonotonic) };
}

// RUNS cold calls of /function/cat, each split into its steps (ms), and RUNS cold /healthz.
async function coldCalls(m, port) {
  const steps = { to_gateway_start: [], gateway_start_to_ready: [], gateway_ready_to_runner_start: [], runner_start_to_ready: [], runner_ready_to_answer: [], total: [] };
  for (let i = 0; i < RUNS; i++) {
    await waitUntil(() => faassProcs(m.dir) === 0, 60000);
    const t0 = nowUs();
    const r = await timedRequest(port, '/function/cat');
    const t1 = nowUs();
    if (r.status !== 200) throw new Error(`cold call answered ${r.status}: ${r.body}`);
    const gw = stamps(m, 'faass-gateway.service');
    const fn = stamps(m, 'faass-fn-cat.service');
    if (gw.start < t0 || fn.start < gw.ready) throw new Error('a unit of the stack was already running at the cold call');
    const ms = (us) => us / 1000;
    steps.to_gateway_start.push(ms(gw.start - t0));
    steps.gateway_start_to_ready.push(ms(gw.ready - gw.start));
    steps.gateway_ready_to_runner_start.push(ms(fn.start - gw.ready));
    steps.runner_start_to_ready.push(ms(fn.ready - fn.start));
    steps.runner_ready_to_answer.push(ms(t1 - fn.ready));
    steps.total.push(ms(t1 - t0));
  }
  const healthz = [];
  for (let i = 0; i < RUNS; i++) {
    await waitUntil(() => faassProcs(m.dir) === 0, 60000);
    const r = await timedRequest(port, '/healthz', { method: 'GET' });
    if (r.status !== 200) throw new Error(`cold /healthz answered ${r.status}`);
    healthz.push(r.ms);
  }
  return { call: Object.fromEntries(Object.entries(steps).map(([k, v]) => [k, summary(v)])), healthz: summary(healthz) };
}

async function measure(name, stack) {
  const { m, port, close } = await stack();
  try {
    m.ctl('deploy', 'cat', '--command', 'cat', '--idle', '1');
    progress(`${name}: ${RUNS} cold calls and ${RUNS} cold /healthz`);
    return await coldCalls(m, port);
  } finally {
    await close();
  }
}

async function main() {
  const result = { machine: { node: process.version, cpus: require('node:os').cpus().length }, runs: RUNS, baselines: {}, installed: {}, checkout: {}, ratios: {} };
  result.baselines.node_startup = nodeStartup(RUNS * 2);
  result.installed = await measure('installed stack', () => installedStack({ gatewayIdle: 1 }));
  result.checkout = await measure('checkout stack', () => startStack({ gatewayIdle: 1 }));
  const node = result.baselines.node_startup.p50_ms;
  result.ratios = {
    installed_cold_call_over_node_startup: round(result.installed.call.total.p50_ms / node),
    checkout_cold_call_over_node_startup: round(result.checkout.call.total.p50_ms / node),
    installed_cold_healthz_over_node_startup: round(result.installed.healthz.p50_ms / node),
    checkout_cold_healthz_over_node_startup: round(result.checkout.healthz.p50_ms / node),
  };
  result.targets = { installed_cold_call_over_node_startup: '<= 2.5', installed_cold_healthz_over_node_startup: '<= 1.3' };
  return result;
}

runBench(main);
