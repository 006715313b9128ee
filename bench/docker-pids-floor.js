#!/usr/bin/env node
// Does a call's container start with as few pids as MIN_CONTAINER_PIDS allows, under CPU load?
// The pids limit counts threads, and runc's init (a Go program, several threads) sits in the
// container's cgroup from the engine's create until its start: a limit too tight for it ends it
// there, and the start is refused ("cannot start a stopped process"). Containers of the spec a
// call gets (containerSpec) with docker-bounds.test.ts's limits (memory_max=64M cpu_quota=40
// among workers=4: 16M and 10% each, `sleep 1`), PidsLimit set to each floor in turn, batches of
// BATCH at once, the floors alternating batch by batch so both see the same load, beside
// `stress-ng --cpu 2` (started here, ended by its PID). One JSON document on stdout: per floor,
// starts refused (with the engine's reasons), non-zero exits, and the containers left.
// --memory M (MiB) replaces the call's 16M, to see whether runc's init (in the container's memory
// cgroup from create to start too) is refused for memory instead.
// Usage: node bench/docker-pids-floor.js [--pids 4,8] [--per 60] [--batch 6] [--memory 16] [--no-stress]
'use strict';
const { spawn } = require('node:child_process');
const { Writable } = require('node:stream');
const { startEngine, BUSYBOX } = require('../test/support/docker-engine.js');
const { buildFunctionConfig } = require('../dist/functions/function-config.js');
const { containerSpec } = require('../dist/docker/container-spec.js');

const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : dflt;
};
const FLOORS = arg('pids', '4,8').split(',').map(Number);
const PER = Number(arg('per', '60'));
const BATCH = Number(arg('batch', '6'));
const MEMORY = Number(arg('memory', '16')) * 1024 * 1024;
const progress = (m) => process.stderr.write(`bench: ${m}\n`);
const sink = () => new Writable({ write: (_c, _e, cb) => cb() });

// One call's container, as the runner runs it: create, attach stdin, start, feed, wait, remove.
async function oneCall(docker, spec) {
  const c = await docker.createContainer(spec);
  try {
    const stream = await c.attach({ stream: true, stdin: true, stdout: true, stderr: true, hijack: true });
    c.modem.demuxStream(stream, sink(), sink());
    try {
      await c.start();
    } catch (e) {
      return { refused: (e.json && e.json.message) || e.message };
    }
    stream.end('x');
    const r = await c.wait();
    return { exit: r.StatusCode };
  } finally {
    await c.remove({ force: true }).catch(() => undefined);
  }
}

async function main() {
  const teardowns = [];
  let stress;
  try {
    const engine = await startEngine((f) => teardowns.push(f));
    const cfg = buildFunctionConfig('dpar', { runtime: 'docker', image: BUSYBOX, command: 'sleep 1', memory_max: '64M', tasks_max: '64', cpu_quota: '40' });
    const spec = (pids) => {
      const s = containerSpec(cfg, { kind: 'call', install: 'bench-pids', callId: 'c', env: {} });
      return { ...s, HostConfig: { ...s.HostConfig, PidsLimit: pids, Memory: MEMORY, MemorySwap: MEMORY } };
    };
    if (!process.argv.includes('--no-stress')) {
      stress = spawn('stress-ng', ['--cpu', '2', '--quiet'], { stdio: 'ignore' });
      progress(`stress-ng --cpu 2: pid ${stress.pid}`);
    }
    const results = Object.fromEntries(FLOORS.map((p) => [p, { containers: 0, refused: 0, exited_non_zero: 0, reasons: {} }]));
    for (let done = 0; done < PER; done += BATCH) {
      for (const pids of FLOORS) {
        const n = Math.min(BATCH, PER - done);
        const outcomes = await Promise.all(Array.from({ length: n }, () => oneCall(engine.docker, spec(pids)).catch((e) => ({ refused: `create: ${e.message}` }))));
        const r = results[pids];
        for (const o of outcomes) {
          r.containers++;
          if (o.refused !== undefined) {
            r.refused++;
            const why = o.refused.replace(/[0-9a-f]{64}/g, 'ID');
            r.reasons[why] = (r.reasons[why] || 0) + 1;
          } else if (o.exit !== 0) r.exited_non_zero++;
        }
      }
      progress(`${Math.min(done + BATCH, PER)}/${PER} per floor: ${FLOORS.map((p) => `pids=${p} refused ${results[p].refused}`).join(', ')}`);
    }
    const left = (await engine.docker.listContainers({ all: true, filters: { label: ['faass.install=bench-pids'] } })).length;
    process.stdout.write(JSON.stringify({ load: stress ? 'stress-ng --cpu 2' : 'none', batch: BATCH, per_floor: PER, cmd: 'sleep 1', memory: `${MEMORY / 1024 / 1024}M`, cpu: '10%', by_pids_limit: results, containers_left: left }, null, 2) + '\n');
  } finally {
    if (stress) stress.kill('SIGTERM');
    for (const f of teardowns.reverse()) await f();
  }
}

main().catch((e) => {
  process.stderr.write(`${e.stack}\n`);
  process.exit(1);
});
