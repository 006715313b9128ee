#!/usr/bin/env node
// Asynchronous calls, soaked (issue 13): N calls (10,000 unless told) to a function that fails
// (500) about a third of the first deliveries of a call id. Every call must end done (200) or in
// the dead letters, none lost, and the deliveries the function saw minus the calls must equal the
// retries the dispatcher recorded. test/integration/queue-faults.test.ts runs the same with 1,000.
// Needs root (a sandboxed systemd --user). Usage: node bench/queue-soak.js [--calls N]
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const http = require('node:http');
const { runBench, round, progress, startStack, waitUntil } = require('./lib.js');

const arg = process.argv.indexOf('--calls');
const N = arg > 0 ? Number(process.argv[arg + 1]) : 10000;

// The function: notes every delivery, and fails some first sightings (shared with the test).
const { CHANCY_HANDLER: HANDLER } = require('../test/support/chancy-handler.js');

function call(port, urlPath, method = 'POST') {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path: urlPath, method, agent: false, headers: { 'content-length': method === 'GET' ? 0 : 1 } }, (res) => {
      const chunks = [];
      res.on('data', (d) => chunks.push(d));
      res.on('end', () => resolve({ status: res.statusCode, id: res.headers['x-call-id'], body: Buffer.concat(chunks).toString() }));
    });
    req.on('error', reject);
    req.end(method === 'GET' ? undefined : 'x');
  });
}

const list = (dir, suffix) => {
  try {
    return fs.readdirSync(dir).filter((f) => f.endsWith(suffix));
  } catch {
    return [];
  }
};

async function main() {
  const { m, port, close } = await startStack({ gatewayIdle: 600 });
  try {
    const code = path.join(m.dir, 'chancy.js');
    fs.writeFileSync(code, HANDLER);
    m.ctl('deploy', 'chancy', '--runtime', 'node', '--from-file', code, '--max-inflight', '16', '--idle', '10min');
    const q = path.join(m.dir, 'state', 'faass', 'queue', 'chancy');
    progress(`queuing ${N} calls`);
    const t0 = Date.now();
    const ids = [];
    let next = 0;
    await Promise.all(
      Array.from({ length: 20 }, async () => {
        for (let i = next++; i < N; i = next++) {
          const r = await call(port, '/async-function/chancy');
          if (r.status !== 202) throw new Error(`call ${i} answered ${r.status}: ${r.body}`);
          ids.push(r.id);
        }
      }),
    );
    const enqueued = (Date.now() - t0) / 1000;
    progress('draining');
    await waitUntil(() => list(q, '.call').length === 0 && list(path.join(q, 'done'), '.json').length + list(path.join(q, 'dead'), '.call').length >= N, 3600000);
    const wall = (Date.now() - t0) / 1000;
    const done = new Map(list(path.join(q, 'done'), '.json').map((f) => [f.slice(0, -5), JSON.parse(fs.readFileSync(path.join(q, 'done', f), 'utf8'))]));
    const dead = new Map(list(path.join(q, 'dead'), '.call').map((f) => [f.slice(14, -5), JSON.parse(fs.readFileSync(path.join(q, 'dead', f.replace(/\.call$/, '.state')), 'utf8')).attempts]));
    const lost = ids.filter((id) => done.get(id)?.status !== 200 && !dead.has(id)).length;
    const attempts = ids.reduce((n, id) => n + (done.get(id)?.attempts.length ?? dead.get(id)?.length ?? 0), 0);
    const delivered = Number((await call(port, '/function/chancy', 'GET')).body);
    const retries = attempts - N;
    return {
      calls: N,
      delivered,
      done: [...done.values()].filter((r) => r.status === 200).length,
      dead: dead.size,
      retries,
      lost,
      deliveries_minus_calls_equals_retries: delivered - N === retries,
      enqueue_seconds: round(enqueued),
      wall_seconds: round(wall),
      drain_rps: round(delivered / wall),
    };
  } finally {
    await close();
  }
}

runBench(main);
