#!/usr/bin/env node
// Warm calls only (issue 18): a node handler and an exec `cat` through the gateway, each in
// rounds that alternate with its bare baseline (bench/baselines/bare-server.js), so every ratio
// is of figures measured back to back; the medians of the per-round ratios on stdout, as JSON.
// --against DIR: a second checkout (built) gets a stack of its own, measured in the same rounds,
// for a paired before/after (ratio this / against per round). --profile DIR: the gateway and
// the runners run with --cpu-prof, their .cpuprofile files copied to DIR at the end.
// Needs root (sandboxed systemd --user) and ab.
// Usage: node bench/warm.js [--rounds R] [--n N] [--c C] [--kinds node,cat] [--against DIR] [--profile DIR]
'use strict';
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { parseArgs } = require('node:util');
const lib = require('./lib.js');

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '5' }, n: { type: 'string', default: '2000' }, c: { type: 'string', default: '50' }, kinds: { type: 'string', default: 'node,cat' }, against: { type: 'string' }, profile: { type: 'string' } } });
const ROUNDS = Number(values.rounds);
const N = Number(values.n);
const C = Number(values.c);
const KINDS = values.kinds.split(',');
const FN = { node: 'nodefn', cat: 'cat' };
const BARE = { node: 'inprocess', cat: 'cat' };

const median = (xs) => lib.pct(xs, 50);

// CPU time of a process (all its threads) and of its children it reaped, ms (/proc/PID/stat).
function cpuMs(pid) {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' '); // fields from the 3rd (state) on
  const tick = 1000 / 100; // USER_HZ
  return { self: (Number(f[11]) + Number(f[12])) * tick, children: (Number(f[13]) + Number(f[14])) * tick };
}

// An ab run, with the CPU each process spent on it per request, us.
function measured(url, pids) {
  const before = Object.fromEntries(Object.entries(pids).map(([k, pid]) => [k, cpuMs(pid)]));
  const r = lib.ab(url, N, C, { warmup: false });
  const cpu = {};
  for (const [k, pid] of Object.entries(pids)) {
    const after = cpuMs(pid);
    cpu[k] = Math.round(((after.self - before[k].self) * 1000) / N);
    if (after.children > before[k].children) cpu[`${k}_children`] = Math.round(((after.children - before[k].children) * 1000) / N);
  }
  return { rps: r.rps, cpu_us_per_call: cpu };
}

async function bareServer(mode) {
  const port = await lib.freePort();
  const child = spawn(process.execPath, [path.join(__dirname, 'baselines/bare-server.js'), String(port), mode], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise((r) => child.stdout.once('data', r));
  return { url: `http://127.0.0.1:${port}/`, pid: child.pid, stop: () => child.kill() };
}

// The node process of a unit: its main process, or under bwrap (a runner's PID namespace,
// units.ts ownPidsExec) the first node among its descendants.
function nodePid(s, unit) {
  const main = Number(s.m.systemctl('show', unit, '--property=MainPID', '--value').trim());
  const procs = fs.readdirSync('/proc').filter((d) => /^\d+$/.test(d)).flatMap((pid) => {
    try {
      const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
      return [{ pid: Number(pid), comm: stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')), ppid: Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) }];
    } catch {
      return []; // gone meanwhile
    }
  });
  for (let level = [main]; level.length; level = procs.filter((p) => level.includes(p.ppid)).map((p) => p.pid)) {
    const node = procs.find((p) => level.includes(p.pid) && p.comm.startsWith('node'));
    if (node) return node.pid;
  }
  throw new Error(`no node process in ${unit}`);
}

// A stack of one checkout (its own bench/lib.js: its faassctl, its dist) with both functions.
async function stackOf(benchLib, profileDir) {
  const s = await benchLib.startStack({ gatewayIdle: 300 });
  const { m } = s;
  m.ctl('deploy', 'cat', '--command', 'cat', '--idle', '300');
  fs.writeFileSync(path.join(m.dir, 'handler.js'), "module.exports = async (event) => 'v1:' + event.body;\n");
  m.ctl('deploy', 'nodefn', '--runtime', 'node', '--from-file', path.join(m.dir, 'handler.js'), '--idle', '300');
  if (profileDir) {
    const dir = path.join(m.dir, 'prof');
    fs.mkdirSync(dir);
    fs.chmodSync(dir, 0o777);
    // --cpu-prof is not taken from NODE_OPTIONS: the node of each ExecStart= gets it.
    for (const unit of ['faass-gateway.service', 'faass-fn-cat.service', 'faass-fn-nodefn.service']) {
      const text = fs.readFileSync(path.join(m.dir, 'config/systemd/user', unit), 'utf8');
      const exec = /^ExecStart=(.*)$/m.exec(text)[1].replace(/(\S*\/node)( )/, `$1 --cpu-prof --cpu-prof-dir=${dir}$2`);
      const d = path.join(m.dir, 'config/systemd/user', `${unit}.d`);
      fs.mkdirSync(d, { recursive: true });
      fs.writeFileSync(path.join(d, 'cpu-prof.conf'), `[Service]\nExecStart=\nExecStart=${exec}\nReadWritePaths=${dir}\n`);
    }
    m.systemctl('daemon-reload');
  }
  return s;
}

// Profiles are written as the programs exit: stop them, then copy the files out.
function collectProfiles(s, to) {
  s.m.systemctl('stop', 'faass-gateway.service', 'faass-fn-cat.service', 'faass-fn-nodefn.service');
  fs.mkdirSync(to, { recursive: true });
  const from = path.join(s.m.dir, 'prof');
  for (const f of fs.readdirSync(from)) fs.copyFileSync(path.join(from, f), path.join(to, f));
}

async function main() {
  const result = { machine: { node: process.version, cpus: os.cpus().length, loadavg_start: os.loadavg().map((x) => lib.round(x)) }, rounds: ROUNDS, requests: N, concurrency: C, kinds: {} };
  const stacks = [{ name: 'this', s: await stackOf(lib, values.profile) }];
  try {
    if (values.against) stacks.push({ name: 'against', s: await stackOf(require(path.resolve(values.against, 'bench/lib.js'))) });
    for (const kind of KINDS) {
      const bare = await bareServer(BARE[kind]);
      const rows = [];
      const cpus = [];
      try {
        for (let r = 0; r < ROUNDS; r++) {
          lib.progress(`${kind} round ${r + 1}/${ROUNDS}`);
          if (r === 0) {
            lib.ab(bare.url, N, C); // warm-ups, and the runners started
            for (const { s } of stacks) lib.ab(`http://127.0.0.1:${s.port}/function/${FN[kind]}`, N, C);
          }
          const b = measured(bare.url, { bare: bare.pid });
          const row = { bare: b.rps };
          const cpu = { bare: b.cpu_us_per_call };
          for (const { name, s } of r % 2 ? [...stacks].reverse() : stacks) {
            const pids = { gateway: nodePid(s, 'faass-gateway.service'), runner: nodePid(s, `faass-fn-${FN[kind]}.service`) };
            const m = measured(`http://127.0.0.1:${s.port}/function/${FN[kind]}`, pids);
            row[name] = m.rps;
            cpu[name] = m.cpu_us_per_call;
          }
          rows.push(row);
          cpus.push(cpu);
        }
      } finally {
        bare.stop();
      }
      const out = { rps: rows, cpu_us_per_call: cpus, median_rps: {}, median_ratio_over_bare: {}, median_cpu_us_per_call: {} };
      for (const k of Object.keys(cpus[0])) {
        out.median_cpu_us_per_call[k] = {};
        for (const part of Object.keys(cpus[0][k])) out.median_cpu_us_per_call[k][part] = median(cpus.map((x) => x[k][part] ?? 0));
      }
      for (const k of Object.keys(rows[0])) out.median_rps[k] = median(rows.map((x) => x[k]));
      for (const { name } of stacks) out.median_ratio_over_bare[name] = lib.round(median(rows.map((x) => x[name] / x.bare)), 3);
      if (values.against) out.median_ratio_this_over_against = lib.round(median(rows.map((x) => x.this / x.against)), 3);
      result.kinds[kind] = out;
    }
    result.machine.loadavg_end = os.loadavg().map((x) => lib.round(x));
    if (values.profile) collectProfiles(stacks[0].s, path.resolve(values.profile));
    return result;
  } finally {
    for (const { s } of stacks.reverse()) await s.close();
  }
}

lib.runBench(main);
