#!/usr/bin/env node
// Container-function benchmarks: one JSON document on stdout. A call through faass (gateway
// and runner warm, a fresh container per call) against a bare `docker run --rm -i` of the same
// image in the same run, and ab -n 1500 -c 50 with leftovers counted. Needs root, dockerd, ab.
'use strict';
const { execFileSync } = require('node:child_process');
const { BUSYBOX } = require('../test/support/docker-engine.js');
const { runBench, round, summary, progress, timedRequest, ab, startStack } = require('./lib.js');

const RUNS = process.argv.includes('--quick') ? 5 : 20;
const AB_N = process.argv.includes('--quick') ? 300 : 1500;

async function main() {
  const { engine, m, port, close } = await startStack({ gatewayIdle: 60, docker: true });
  try {
    const env = { ...m.env, DOCKER_HOST: `unix://${engine.socket}` };
    m.ctl('deploy', 'dcat', '--runtime', 'docker', '--image', BUSYBOX, '--command', 'cat', '--idle', '60');

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
      const r = await timedRequest(port, '/function/dcat');
      if (r.status !== 200 || r.body !== 'x') throw new Error(`call answered ${r.status} ${r.body}`);
      if (i > 0) calls.push(r.ms);
    }
    progress(`ab -n ${AB_N} -c 50`);
    const load = ab(`http://127.0.0.1:${port}/function/dcat`, AB_N, 50, { warmup: false });
    const result = {
      baseline: { docker_run_rm_i: summary(bare) },
      faass: { container_call: summary(calls), ab_c50: { ...load, containers_left: await engine.countContainers() } },
    };
    result.ratios = { container_call_p50_over_docker_run: round(result.faass.container_call.p50_ms / result.baseline.docker_run_rm_i.p50_ms) };
    result.targets = { container_call_p50_over_docker_run: '<= 1.1', ab_failed: 0, containers_left: 0 };
    return result;
  } finally {
    await close();
  }
}

runBench(main);
