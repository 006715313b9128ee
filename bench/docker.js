#!/usr/bin/env node
// Container-function benchmarks: one JSON document on stdout. A call through faass (gateway
// and runner warm, a fresh container per call) against a bare `docker run --rm -i` of the same
// image in the same run, and ab -n 1500 -c 50 with leftovers counted. Needs root, dockerd, ab.
'use strict';
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const http = require('node:http');
const net = require('node:net');
const { startEngine, BUSYBOX } = require('../test/support/docker-engine.js');

const ROOT = path.resolve(__dirname, '..');
const SANDBOX = path.join(ROOT, 'test/support/systemd-user.sh');
const FAASSCTL = path.join(ROOT, 'dist/faassctl/main.js');
const RUNS = process.argv.includes('--quick') ? 5 : 20;
const AB_N = process.argv.includes('--quick') ? 300 : 1500;
const progress = (m) => process.stderr.write(`bench: ${m}\n`);
const pct = (xs, p) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))];
const round = (x) => Math.round(x * 100) / 100;

function freePort() {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const p = s.address().port;
      s.close(() => resolve(p));
    });
  });
}

function timedRequest(port, urlPath, body) {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const req = http.request({ host: '127.0.0.1', port, path: urlPath, method: 'POST', agent: false, headers: { 'content-length': Buffer.byteLength(body) } }, (res) => {
      const chunks = [];
      res.on('data', (d) => chunks.push(d));
      res.on('end', () => resolve({ ms: Number(process.hrtime.bigint() - t0) / 1e6, status: res.statusCode, body: Buffer.concat(chunks).toString() }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

async function main() {
  const teardowns = [];
  try {
    const engine = await startEngine((f) => teardowns.unshift(f));
    const base = process.env.FAASS_TEST_ROOT || '/var/lib/faass-test';
    const work = fs.mkdtempSync(path.join(base, 'bench-docker-'));
    const out = execFileSync('bash', [SANDBOX, 'start', work], { encoding: 'utf8' });
    teardowns.unshift(async () => {
      execFileSync('bash', [SANDBOX, 'stop', work], { stdio: 'inherit' });
      fs.rmSync(work, { recursive: true, force: true });
    });
    const env = { ...process.env, HOME: path.join(work, 'home'), DOCKER_HOST: `unix://${engine.socket}` };
    for (const line of out.trim().split('\n')) env[line.slice(0, line.indexOf('='))] = line.slice(line.indexOf('=') + 1);
    const ctl = (...args) => execFileSync(process.execPath, [FAASSCTL, ...args], { env, encoding: 'utf8' });
    const port = await freePort();
    ctl('init', '--port', String(port), '--idle', '60', '--docker-host', `unix://${engine.socket}`);
    ctl('generate-units');
    execFileSync('systemctl', ['--user', 'enable', '--now', 'faass-gateway.socket'], { env, stdio: 'ignore' });
    ctl('deploy', 'dcat', '--runtime', 'docker', '--image', BUSYBOX, '--command', 'cat', '--idle', '60');

    progress('bare docker run --rm -i');
    const bare = [];
    for (let i = 0; i < RUNS + 1; i++) {
      const t0 = process.hrtime.bigint();
      const o = execFileSync('docker', ['run', '--rm', '-i', '--network', 'none', BUSYBOX, 'cat'], { env, input: 'x' }).toString();
      if (o !== 'x') throw new Error(`docker run printed ${o}`);
      if (i > 0) bare.push(Number(process.hrtime.bigint() - t0) / 1e6);
    }
    progress('faass container calls');
    const calls = [];
    for (let i = 0; i < RUNS + 1; i++) {
      const r = await timedRequest(port, '/function/dcat', 'x');
      if (r.status !== 200 || r.body !== 'x') throw new Error(`call answered ${r.status} ${r.body}`);
      if (i > 0) calls.push(r.ms);
    }
    progress(`ab -n ${AB_N} -c 50`);
    fs.writeFileSync(path.join(work, 'body.txt'), 'hello\n');
    const abOut = execFileSync('ab', ['-q', '-n', String(AB_N), '-c', '50', '-p', path.join(work, 'body.txt'), '-T', 'text/plain', `http://127.0.0.1:${port}/function/dcat`], { encoding: 'utf8' });
    const num = (re) => Number((re.exec(abOut) || [])[1] || 0);
    const result = {
      baseline: { docker_run_rm_i: { p50_ms: round(pct(bare, 50)), p90_ms: round(pct(bare, 90)), runs: RUNS } },
      faass: {
        container_call: { p50_ms: round(pct(calls, 50)), p90_ms: round(pct(calls, 90)), runs: RUNS },
        ab_c50: { requests: AB_N, rps: num(/Requests per second:\s+([\d.]+)/), failed: num(/Failed requests:\s+(\d+)/) + num(/Non-2xx responses:\s+(\d+)/), p50_ms: num(/^\s+50%\s+(\d+)/m), p99_ms: num(/^\s+99%\s+(\d+)/m), containers_left: await engine.countContainers() },
      },
    };
    result.ratios = { container_call_p50_over_docker_run: round(result.faass.container_call.p50_ms / result.baseline.docker_run_rm_i.p50_ms) };
    result.targets = { container_call_p50_over_docker_run: '<= 1.1', ab_failed: 0, containers_left: 0 };
    process.stdout.write(JSON.stringify(result, null, 2) + '\n');
  } finally {
    for (const f of teardowns) await f().catch((e) => progress(`teardown: ${e.message}`));
  }
}

main().catch((e) => {
  process.stderr.write(`bench: failed: ${e.stack || e}\n`);
  process.exit(1);
});
