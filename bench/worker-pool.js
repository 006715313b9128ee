#!/usr/bin/env node
// The runner's node worker pool alone (issue 18, docs/PERFORMANCE.md "Warm paths"): CPU per warm
// call of WorkerPool with 4 node worker threads, no sockets, 50 calls in flight. Each checkout
// given (built tests: its dist-test/, `node scripts/compile-tests.js`) is measured in a process
// of its own, the checkouts in turn, R rounds; the first is the baseline: JSON with the medians
// and each one's median ratio to it per round.
// Usage: node bench/worker-pool.js [--rounds R] [--n N] [--body exact|chunk] DIR [DIR...]
//   exact: the call's body in an ArrayBuffer of its own size (a quiet runner's small socket read);
//   chunk: cut from a 16 KiB read (a loaded runner's, holding many calls' frames).
'use strict';
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { parseArgs } = require('node:util');

function child(tree, n, mode) {
  const d = path.join(tree, 'dist-test/src');
  const { WorkerPool } = require(path.join(d, 'runner/worker-pool.js'));
  const { threadTransport } = require(path.join(d, 'runner/worker-transport.js'));
  const { buildFunctionConfig } = require(path.join(d, 'functions/function-config.js'));
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'faass-bench-pool-'));
  fs.writeFileSync(path.join(dir, 'h.js'), "module.exports = async (event) => 'v1:' + event.body;\n");
  const cfg = buildFunctionConfig('fn', { runtime: 'node', file: 'h.js', timeout: '30', workers: '4' });
  const pool = new WorkerPool(cfg, (on) => threadTransport(path.join(d, 'runner/workers/node-worker.js'), { file: path.join(dir, 'h.js'), exportName: '' }, {}, cfg.name, on, []));
  let seq = 0;
  const body = () => (mode === 'chunk' ? Buffer.allocUnsafeSlow(16384).subarray(100, 112).fill(65) : Buffer.from(new Uint8Array(12).fill(65)));
  const call = () => ({ id: `c-${++seq}`, method: 'POST', path: '/', query: '', headers: { 'content-type': 'text/plain', 'x-call-id': `c-${seq}`, 'user-agent': 'ApacheBench/2.3', host: '127.0.0.1' }, body: body() });
  const run = async (count) => {
    let i = 0;
    const lane = async () => {
      while (i++ < count) if ((await pool.invoke(call())).status !== 200) throw new Error('not answered 200');
    };
    await Promise.all(Array.from({ length: 50 }, lane));
  };
  (async () => {
    await run(2000);
    const c0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    await run(n);
    const c = process.cpuUsage(c0);
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    process.stdout.write(JSON.stringify({ cpu_us_per_call: Math.round((c.user + c.system) / n), calls_per_s: Math.round((n / ms) * 1000) }) + '\n');
    await pool.close();
    fs.rmSync(dir, { recursive: true, force: true });
    process.exit(0);
  })();
}

function main() {
  const { values, positionals } = parseArgs({ allowPositionals: true, options: { rounds: { type: 'string', default: '3' }, n: { type: 'string', default: '10000' }, body: { type: 'string', default: 'exact' }, child: { type: 'boolean' } } });
  if (values.child) return child(positionals[0], Number(values.n), values.body);
  const trees = positionals.map((t) => path.resolve(t));
  if (!trees.length) throw new Error('Usage: node bench/worker-pool.js [--rounds R] [--n N] [--body exact|chunk] DIR [DIR...]');
  const rows = [];
  for (let r = 0; r < Number(values.rounds); r++) {
    rows.push(trees.map((t) => JSON.parse(execFileSync(process.execPath, [__filename, '--child', '--n', values.n, '--body', values.body, t], { encoding: 'utf8' }))));
    process.stderr.write(`bench: round ${r + 1}: ${rows[r].map((x) => x.cpu_us_per_call).join(' / ')} us a call\n`);
  }
  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const result = { machine: { node: process.version, cpus: os.cpus().length, loadavg: os.loadavg().map((x) => Math.round(x * 100) / 100) }, n: Number(values.n), body: values.body, rounds: rows, trees: {} };
  trees.forEach((t, i) => {
    result.trees[t] = { median_cpu_us_per_call: median(rows.map((x) => x[i].cpu_us_per_call)), median_calls_per_s: median(rows.map((x) => x[i].calls_per_s)), median_cpu_ratio_to_first: Math.round(median(rows.map((x) => x[i].cpu_us_per_call / x[0].cpu_us_per_call)) * 1000) / 1000 };
  });
  process.stdout.write(JSON.stringify(result, null, 2) + '\n');
}

main();
