#!/usr/bin/env node
// Scale with the number of functions (issue 18): deploys N exec functions (`cat`) one by one with
// `faassctl deploy`, each timed, and measures at 1 function and at N: `faassctl status`,
// `faassctl generate-units`, the user manager's RSS, the gateway's start (ExecMainStart → READY,
// from its unit's timestamps), a cold call with the gateway warm and the runner stopped, and a
// full cold call (gateway and runner stopped). Prints JSON with the ratios N over 1.
// The stack is the checkout's own (bench/lib.js startStack: faassctl init + generate-units in a
// sandboxed systemd --user), as when its figures in docs/PERFORMANCE.md were taken, not one set
// up by install.sh (installedStack). Needs root (a sandboxed systemd --user).
// Usage: node bench/scale.js [N=1000] [--runs R]
'use strict';
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const { runBench, checkpoint, round, summary, progress, timedRequest, startStack } = require('./lib.js');

const N = Number(process.argv.slice(2).find((a) => /^\d+$/.test(a)) ?? 1000);
const runsAt = process.argv.indexOf('--runs');
const RUNS = runsAt > 0 ? Number(process.argv[runsAt + 1]) : 7;
const EDGE = 5; // deploys timed at the start and at the end (medians)

// SIGINT or SIGTERM: the sandbox (its manager and every unit) is stopped before the bench exits
// (bench/lib.js runBench). The work between two checkpoints is synchronous: a signal is seen at
// the next one.

const name = (i) => `f${String(i).padStart(4, '0')}`;
const median = (xs) => summary(xs).p50_ms;
const timed = (f) => {
  const t0 = process.hrtime.bigint();
  f();
  return Number(process.hrtime.bigint() - t0) / 1e6;
};

// systemd --user's resident memory, from its /proc status (the sandbox wrote its pid).
function managerRssKb(m) {
  const pid = fs.readFileSync(path.join(m.dir, 'manager.pid'), 'utf8').trim();
  return Number(/^VmRSS:\s+(\d+)/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))[1]);
}

const prop = (m, unit, p) => m.systemctl('show', unit, `--property=${p}`, '--value').trim();
// systemctl stop, without its warning that the socket can start the service again (it will).
const stop = (m, ...units) => execFileSync('systemctl', ['--user', 'stop', ...units], { env: m.env, stdio: 'pipe' });

// `faassctl status` exits non-zero when something is broken: that would be a failed measurement.
function timeStatus(m) {
  return median(Array.from({ length: RUNS }, () => timed(() => m.ctl('status'))));
}

// Cold calls of `fn`: `systemctl stop` waits until the units stopped, so each call finds them so.
// Full cold: the gateway's start is read from its unit too (ExecMainStart → READY, µs).
async function coldCalls(m, port, fn) {
  const runnerCold = [];
  const fullCold = [];
  const gatewayStart = [];
  for (let i = 0; i < RUNS; i++) {
    await checkpoint();
    stop(m, `faass-fn-${fn}.service`);
    const r = await timedRequest(port, `/function/${fn}`);
    if (r.status !== 200) throw new Error(`cold call of ${fn} answered ${r.status}: ${r.body}`);
    runnerCold.push(r.ms);
  }
  for (let i = 0; i < RUNS; i++) {
    await checkpoint();
    stop(m, 'faass-gateway.service', `faass-fn-${fn}.service`);
    const r = await timedRequest(port, `/function/${fn}`);
    if (r.status !== 200) throw new Error(`full cold call of ${fn} answered ${r.status}: ${r.body}`);
    fullCold.push(r.ms);
    const started = Number(prop(m, 'faass-gateway.service', 'ExecMainStartTimestampMonotonic'));
    const ready = Number(prop(m, 'faass-gateway.service', 'ActiveEnterTimestampMonotonic'));
    gatewayStart.push((ready - started) / 1000);
  }
  return { runner_cold: summary(runnerCold), full_cold: summary(fullCold), gateway_start: summary(gatewayStart) };
}

async function measure(m, port) {
  progress('measuring: status, generate-units, cold calls, manager RSS');
  const status_ms = timeStatus(m);
  const generate_units_ms = median(Array.from({ length: RUNS }, () => timed(() => m.ctl('generate-units'))));
  const cold = await coldCalls(m, port, name(1));
  return { status_ms, generate_units_ms, ...cold, manager_rss_kb: managerRssKb(m) };
}

async function main() {
  const { m, port, close } = await startStack({ gatewayIdle: 300 });
  try {
    const result = { machine: { node: process.version, cpus: require('node:os').cpus().length }, functions: N, runs: RUNS, stack: 'bench/lib.js startStack (not install.sh)' };
    const deploy = (i) => timed(() => m.ctl('deploy', name(i), '--command', 'cat', '--idle', '300'));
    const first = [deploy(1)];
    const at1 = await measure(m, port);
    const deploys = [first[0]];
    const t0 = Date.now();
    for (let i = 2; i <= N; i++) {
      await checkpoint();
      deploys.push(deploy(i));
      if (i % 50 === 0) progress(`${i} deployed (last ${round(deploys[deploys.length - 1])} ms, ${round((Date.now() - t0) / 1000)} s so far)`);
    }
    // Each deploy is a new function's: the same work each time but for the units already there.
    const atN = await measure(m, port);
    const firstDeploys = deploys.slice(0, EDGE);
    const lastDeploys = deploys.slice(-EDGE);
    result.deploy = { first_ms: round(deploys[0]), first_medians_ms: median(firstDeploys), last_medians_ms: median(lastDeploys), last_ms: round(deploys[deploys.length - 1]), all: summary(deploys), total_s: round(deploys.reduce((a, b) => a + b, 0) / 1000) };
    result.at_1 = at1;
    result.at_n = atN;
    const r = (k) => round(atN[k] / at1[k]);
    result.ratios = {
      last_deploys_over_first: round(result.deploy.last_medians_ms / result.deploy.first_medians_ms),
      status: r('status_ms'),
      generate_units: r('generate_units_ms'),
      runner_cold: round(atN.runner_cold.p50_ms / at1.runner_cold.p50_ms),
      full_cold: round(atN.full_cold.p50_ms / at1.full_cold.p50_ms),
      gateway_start: round(atN.gateway_start.p50_ms / at1.gateway_start.p50_ms),
      manager_rss: r('manager_rss_kb'),
    };
    result.goals = { last_deploys_over_first: '<= 1.5', status_ms_at_n: '<= 1000', runner_cold: '<= 1.1', full_cold: '<= 1.1' };
    return result;
  } finally {
    progress('stopping the sandbox');
    await close();
  }
}

runBench(main);
