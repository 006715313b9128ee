#!/usr/bin/env node
// A rollout under steady load (issue 15): wrk keeps 20 keep-alive connections calling a warm node
// function through the gateway while, one phase each, version 2 is deployed, the function rolled
// back to version 1, version 3 deployed as a canary at 20 %, left running, and promoted. Per
// phase: requests, non-2xx answers (must be 0), answers whose body is not their
// X-Faass-Version's code (mixed: must be 0), the versions seen and their shares (the canary's
// observed share in the phase where it runs with no change going on), and latency p50/p99
// against the baseline phase of the same run, with no change going on. Counting is wrk's Lua
// (bench/lua/versions.lua), on loopback. Exit 1 when a call failed, was mixed, or was answered by
// a version not live in its phase.
// Usage: node bench/rollout.js [--quick]   (npm run bench:rollout)
'use strict';
const { spawn, execFile } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const { runBench, round, sleep, progress, startStack, timedRequest } = require('./lib.js');
const { FAASSCTL } = require('./lib.js');

const QUICK = process.argv.includes('--quick');
const PHASE_S = QUICK ? 6 : 12; // each phase's load
const CHANGE_AT_S = 2; // a change starts this long into its phase's load
const CONNECTIONS = 20;
const CANARY_PERCENT = 20;
const LUA = path.join(__dirname, 'lua', 'versions.lua');

// One wrk run; resolves with what versions.lua printed.
function wrkRun(url, seconds) {
  return new Promise((resolve, reject) => {
    const child = spawn('wrk', ['-t2', `-c${CONNECTIONS}`, `-d${seconds}s`, '--timeout', '10s', '-s', LUA, url], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.on('error', reject);
    child.on('close', (code) => {
      const line = out.split('\n').find((l) => l.startsWith('ROLLOUT '));
      if (code !== 0 || !line) return reject(new Error(`wrk exited ${code}: ${out.slice(-400)}`));
      resolve(JSON.parse(line.slice('ROLLOUT '.length)));
    });
  });
}

// faassctl, without blocking this process (wrk runs beside it); its duration.
function ctl(env, args) {
  const t0 = Date.now();
  return new Promise((resolve, reject) =>
    execFile(process.execPath, [FAASSCTL, ...args], { env }, (e, stdout, stderr) => (e ? reject(new Error(`faassctl ${args.join(' ')}: ${stderr || e.message}`)) : resolve({ seconds: round((Date.now() - t0) / 1000), stdout }))),
  );
}

// A phase: load for PHASE_S seconds, the change (if any) CHANGE_AT_S into it; `live`: the
// versions that may answer during it (any other is counted as unexpected).
async function phase(name, url, env, change, live) {
  progress(`phase ${name}`);
  const load = wrkRun(url, PHASE_S);
  let changed = null;
  if (change) {
    await sleep(CHANGE_AT_S * 1000);
    changed = await ctl(env, change);
  }
  const r = await load;
  const shares = Object.fromEntries(Object.entries(r.versions).map(([v, n]) => [v, round((100 * n) / r.requests, 1)]));
  const unexpected = Object.entries(r.versions).reduce((n, [v, k]) => (live.includes(v) ? n : n + k), 0);
  const said = change?.map((a) => (a.startsWith('/') ? path.relative(path.dirname(path.dirname(a)), a) : a)).join(' ');
  return { phase: name, change: change ? `faassctl ${said}` : null, change_seconds: changed?.seconds ?? null, requests: r.requests, rps: round(r.requests / (r.duration_us / 1e6), 0), non2xx: r.non2xx, socket_errors: r.socket_errors, mixed: r.mixed, versions: r.versions, versions_live: live, unexpected, shares_percent: shares, p50_ms: round(r.p50_us / 1000), p99_ms: round(r.p99_us / 1000) };
}

async function main() {
  const { m, port, close } = await startStack({ gatewayIdle: 300 });
  try {
    const code = (v) => {
      const file = path.join(m.dir, `v${v}`, 'handler.js');
      fs.mkdirSync(path.dirname(file), { recursive: true });
      fs.writeFileSync(file, `module.exports = async () => 'code-v${v}';\n`);
      return file;
    };
    const deploy = (v, ...more) => ['deploy', 'fn', '--runtime', 'node', '--from-file', code(v), '--idle', '300', ...more];
    m.ctl(...deploy(1));
    const url = `http://127.0.0.1:${port}/function/fn`;
    const first = await timedRequest(port, '/function/fn', { method: 'GET' });
    if (first.body !== 'code-v1') throw new Error(`the first call answered ${first.status} ${first.body}`);
    const env = m.env;
    const phases = [];
    phases.push(await phase('baseline', url, env, null, ['1']));
    phases.push(await phase('deploy v2', url, env, deploy(2), ['1', '2']));
    phases.push(await phase('rollback to v1', url, env, ['rollback', 'fn', '--to', '1'], ['2', '1']));
    phases.push(await phase(`canary v3 at ${CANARY_PERCENT}%`, url, env, deploy(3, '--canary', `${CANARY_PERCENT}%`), ['1', '3']));
    phases.push(await phase('canary running', url, env, null, ['1', '3']));
    phases.push(await phase('promote v3', url, env, ['promote', 'fn'], ['1', '3']));
    const base = phases[0];
    for (const p of phases) Object.assign(p, { p50_vs_baseline: round(p.p50_ms / base.p50_ms), p99_vs_baseline: round(p.p99_ms / base.p99_ms) });
    const failed = phases.reduce((n, p) => n + p.non2xx + p.socket_errors + p.mixed + p.unexpected, 0);
    const steady = phases.find((p) => p.phase === 'canary running');
    const result = {
      what: `warm node function through the gateway under wrk (-t2 -c${CONNECTIONS}, keep-alive, loopback), ${PHASE_S}s a phase, each change ${CHANGE_AT_S}s into its phase`,
      machine: { node: process.version, cpus: require('node:os').cpus().length },
      phases,
      failed_mixed_or_unexpected: failed,
      canary: { asked_percent: CANARY_PERCENT, observed_percent: steady.shares_percent['3'] ?? 0, of_requests: steady.requests },
      ok: failed === 0,
    };
    if (!result.ok) process.exitCode = 1;
    return result;
  } finally {
    await close();
  }
}

runBench(main);
