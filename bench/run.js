#!/usr/bin/env node
// faass benchmarks: one JSON document on stdout. Every figure is read against a baseline
// measured in the same run (ratios). Needs root (a sandboxed systemd --user) and ab.
// Usage: node bench/run.js [--quick]
'use strict';
const { execFileSync, execFile, spawn } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const http = require('node:http');
const net = require('node:net');

const ROOT = path.resolve(__dirname, '..');
const SANDBOX = path.join(ROOT, 'test/support/systemd-user.sh');
const FAASSCTL = path.join(ROOT, 'dist/faassctl/main.js');
const QUICK = process.argv.includes('--quick');
const COLD_RUNS = QUICK ? 5 : 20;
const AB_N = QUICK ? 1000 : 3000;
const progress = (m) => process.stderr.write(`bench: ${m}\n`);

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const pct = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};
const round = (x, d = 2) => Math.round(x * 10 ** d) / 10 ** d;
const freePort = () =>
  new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const p = s.address().port;
      s.close(() => resolve(p));
    });
  });

function timedRequest(port, urlPath, body = 'x') {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const req = http.request({ host: '127.0.0.1', port, path: urlPath, method: 'POST', agent: false, headers: { 'content-length': Buffer.byteLength(body) } }, (res) => {
      res.resume();
      res.on('end', () => resolve({ ms: Number(process.hrtime.bigint() - t0) / 1e6, status: res.statusCode }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

// Each measurement is preceded by a warm-up run, so JIT and pools are warm on both sides.
function ab(url, n, c) {
  const bodyFile = path.join(workDir, 'body.txt');
  fs.writeFileSync(bodyFile, 'hello faass\n');
  execFileSync('ab', ['-q', '-n', String(Math.ceil(n / 2)), '-c', String(c), '-p', bodyFile, '-T', 'text/plain', url], { stdio: 'ignore' });
  const out = execFileSync('ab', ['-q', '-n', String(n), '-c', String(c), '-p', bodyFile, '-T', 'text/plain', url], { encoding: 'utf8', maxBuffer: 1 << 24 });
  const num = (re) => {
    const m = re.exec(out);
    return m ? Number(m[1]) : 0;
  };
  return {
    requests: n,
    concurrency: c,
    rps: num(/Requests per second:\s+([\d.]+)/),
    failed: num(/Failed requests:\s+(\d+)/) + num(/Non-2xx responses:\s+(\d+)/),
    p50_ms: num(/^\s+50%\s+(\d+)/m),
    p99_ms: num(/^\s+99%\s+(\d+)/m),
  };
}

function nodeStartup(runs) {
  const ms = [];
  for (let i = 0; i < runs; i++) {
    const t0 = process.hrtime.bigint();
    execFileSync(process.execPath, ['-e', '']);
    ms.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  return { p50_ms: round(pct(ms, 50)), p90_ms: round(pct(ms, 90)), runs };
}

async function bareServer(mode) {
  const port = await freePort();
  const child = spawn(process.execPath, [path.join(__dirname, 'baselines/bare-server.js'), String(port), mode], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise((r) => child.stdout.once('data', r));
  const r = ab(`http://127.0.0.1:${port}/`, AB_N, 50);
  child.kill();
  return r;
}

let workDir;
let env;
const ctl = (...args) => execFileSync(process.execPath, [FAASSCTL, ...args], { env, encoding: 'utf8' });
const systemctl = (...args) => execFileSync('systemctl', ['--user', ...args], { env, encoding: 'utf8' });

function faassProcs() {
  const sd = fs.readFileSync(path.join(workDir, 'cgroups'), 'utf8').split('\n').find((l) => l.startsWith('/sys/fs/cgroup/systemd/'));
  let n = 0;
  const walk = (d) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      if (!e.isDirectory()) continue;
      const sub = path.join(d, e.name);
      try {
        if (e.name.startsWith('faass-')) n += fs.readFileSync(path.join(sub, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean).length;
        walk(sub);
      } catch (err) {
        if (err.code !== 'ENOENT') throw err; // the unit's cgroup went away as we looked
      }
    }
  };
  walk(sd);
  return n;
}

async function waitUntil(cond, timeoutMs = 30000) {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (cond()) return;
    await sleep(20);
  }
  throw new Error('timed out');
}

const unitActive = (u) => systemctl('show', u, '--property=ActiveState', '--value').trim() === 'active';

async function main() {
  const base = process.env.FAASS_TEST_ROOT || '/var/lib/faass-test';
  fs.mkdirSync(base, { recursive: true });
  workDir = fs.mkdtempSync(path.join(base, 'bench-'));
  const out = execFileSync('bash', [SANDBOX, 'start', workDir], { encoding: 'utf8' });
  env = { ...process.env, HOME: path.join(workDir, 'home') };
  for (const line of out.trim().split('\n')) env[line.slice(0, line.indexOf('='))] = line.slice(line.indexOf('=') + 1);
  try {
    const result = { machine: { node: process.version, cpus: require('node:os').cpus().length }, baselines: {}, faass: {}, ratios: {} };
    progress('baselines');
    result.baselines.node_startup = nodeStartup(COLD_RUNS);
    result.baselines.bare_node_spawn_cat = await bareServer('cat');
    result.baselines.bare_node_inprocess = await bareServer('inprocess');

    const port = await freePort();
    ctl('init', '--port', String(port), '--idle', '1');
    ctl('generate-units');
    systemctl('enable', '--now', 'faass-gateway.socket');
    ctl('deploy', 'cat', '--command', 'cat', '--idle', '1');
    fs.writeFileSync(path.join(workDir, 'handler.js'), "module.exports = async (event) => 'v1:' + event.body;\n");
    ctl('deploy', 'nodefn', '--runtime', 'node', '--from-file', path.join(workDir, 'handler.js'), '--idle', '1');

    progress('full-stack cold start');
    const cold = [];
    for (let i = 0; i < COLD_RUNS; i++) {
      await waitUntil(() => faassProcs() === 0);
      const r = await timedRequest(port, '/function/cat');
      if (r.status !== 200) throw new Error(`cold call answered ${r.status}`);
      cold.push(r.ms);
    }
    result.faass.full_stack_cold_start = { p50_ms: round(pct(cold, 50)), p90_ms: round(pct(cold, 90)), runs: COLD_RUNS };

    progress('runner-only cold start');
    ctl('init', '--idle', '300');
    systemctl('stop', 'faass-gateway.service');
    await timedRequest(port, '/healthz');
    const runnerCold = [];
    for (let i = 0; i < COLD_RUNS; i++) {
      await waitUntil(() => !unitActive('faass-fn-cat.service'));
      const r = await timedRequest(port, '/function/cat');
      if (r.status !== 200) throw new Error(`runner cold call answered ${r.status}`);
      runnerCold.push(r.ms);
    }
    result.faass.runner_cold_start = { p50_ms: round(pct(runnerCold, 50)), p90_ms: round(pct(runnerCold, 90)), runs: COLD_RUNS };

    progress('warm throughput');
    await timedRequest(port, '/function/cat');
    result.faass.warm_cat = ab(`http://127.0.0.1:${port}/function/cat`, AB_N, 50);
    await timedRequest(port, '/function/nodefn');
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
    process.stdout.write(JSON.stringify(result, null, 2) + '\n');
  } finally {
    execFileSync('bash', [SANDBOX, 'stop', workDir], { stdio: 'inherit' });
    fs.rmSync(workDir, { recursive: true, force: true });
  }
}

main().catch((e) => {
  process.stderr.write(`bench: failed: ${e.stack || e}\n`);
  process.exit(1);
});
