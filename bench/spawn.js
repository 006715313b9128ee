#!/usr/bin/env node
// The exec spawn alone (issue 18): N calls' worth of /bin/cat (a small body in, out, closed and
// reaped), one after another in this one Node process, by the runner's posix_spawn
// (dist/runner/faass-spawn.node through fast-spawn.js) and by Node's spawn with the options it
// falls back to; in alternating rounds (ABAB...), so a change of the machine's load falls on
// both. One JSON document on stdout. Usage: node bench/spawn.js [N] (default 500 of each)
'use strict';
const { spawn } = require('node:child_process');
const os = require('node:os');
const path = require('node:path');
const { runBench, round, summary, progress } = require('./lib.js');
const fast = require(path.join(__dirname, '../dist/runner/fast-spawn.js'));

const N = Number(process.argv[2] || 500);
const ROUNDS = 10;
const OPTS = { cwd: os.tmpdir(), env: { PATH: '/usr/bin:/bin' } };

// One call: body in, all of stdout, 'close' (exited, reaped, pipes ended).
function once(child) {
  return new Promise((resolve, reject) => {
    let out = '';
    child.on('error', reject);
    child.stdout.on('data', (d) => (out += d));
    child.on('close', (code) => (code === 0 && out === 'hello faass\n' ? resolve() : reject(new Error(`cat: ${code} ${JSON.stringify(out)}`))));
    child.stdin.end('hello faass\n');
  });
}

const METHODS = {
  posix_spawn: () => fast.spawnFunction('/bin/cat', [], OPTS),
  node_spawn: () => spawn('/bin/cat', [], { ...OPTS, detached: true, stdio: ['pipe', 'pipe', 'pipe'] }),
};

async function main() {
  if (!fast.loadAddon()) throw new Error('dist/runner/faass-spawn.node does not load: npm run build');
  const ms = { posix_spawn: [], node_spawn: [] };
  const load = [os.loadavg()[0]];
  for (let r = 0; r < ROUNDS; r++) {
    for (const [name, start] of Object.entries(METHODS)) {
      progress(`round ${r + 1}/${ROUNDS}: ${name}`);
      for (let i = 0; i < N / ROUNDS; i++) {
        const t0 = process.hrtime.bigint();
        await once(start());
        ms[name].push(Number(process.hrtime.bigint() - t0) / 1e6);
      }
    }
  }
  load.push(os.loadavg()[0]);
  const mean = (xs) => round(xs.reduce((a, b) => a + b, 0) / xs.length);
  const result = { machine: { node: process.version, cpus: os.cpus().length, loadavg1_start_end: load.map((x) => round(x)) }, spawns_each: N, rounds: ROUNDS };
  for (const [name, xs] of Object.entries(ms)) result[name] = { ...summary(xs), mean_ms: mean(xs) };
  result.ratios = {
    node_over_posix_p50: round(result.node_spawn.p50_ms / result.posix_spawn.p50_ms),
    node_over_posix_mean: round(result.node_spawn.mean_ms / result.posix_spawn.mean_ms),
  };
  return result;
}

runBench(main);
