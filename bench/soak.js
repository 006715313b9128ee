#!/usr/bin/env node
// Soak (issue 18): many requests of every kind faass serves, on the stack ./install.sh sets up,
// in bursts with idle gaps long enough that the runners with a short idle time exit and start
// again. Every answer is checked (status and body; an asynchronous call until its done record),
// and after each burst the RSS and open fds of every process of faass's units are sampled. At the
// end, once everything idled out: the faass processes and containers left (0 expected).
// Needs root (a sandboxed systemd --user and a Docker engine of its own).
// Usage: node bench/soak.js [--requests N] [--burst B] [--concurrency C] [--checkout]
'use strict';
const fs = require('node:fs');
const http = require('node:http');
const path = require('node:path');
const { BUSYBOX } = require('../test/support/docker-engine.js');
const { runBench, round, sleep, progress, freePort, chosenStack, faassUnitPids } = require('./lib.js');

const arg = (name, dflt) => {
  const i = process.argv.indexOf(name);
  const v = i > 0 ? Number(process.argv[i + 1]) : dflt;
  if (!Number.isInteger(v) || v < 1) {
    process.stderr.write(`bench: ${name} takes a whole number\n`);
    process.exit(2);
  }
  return v;
};
const REQUESTS = arg('--requests', 200000);
const BURST = arg('--burst', 2000);
const CONCURRENCY = arg('--concurrency', 20);
const GATEWAY_IDLE = 60; // longer than a gap: the gateway lives through the run, its RSS a series
const LONG_IDLE = 60; // the node handler and the service: warm through the run
const SHORT_IDLE = 1; // exec, python, container, the queued function: exit in every gap

// The mix, per 100 requests (request i is of the kind at i % 100): deterministic counts.
const MIX = [
  { kind: 'container', share: 1 },
  { kind: 'async', share: 9 },
  { kind: 'service', share: 15 },
  { kind: 'python', share: 20 },
  { kind: 'node', share: 25 },
  { kind: 'exec', share: 30 },
];
// Spread over the 100 slots (a kind with share s every 100/s slots), so every runner of the mix
// is busy all through a burst.
const KIND_AT = MIX.flatMap((k) => Array.from({ length: k.share }, (_, j) => ({ kind: k.kind, at: ((j + 0.5) * 100) / k.share })))
  .sort((a, b) => a.at - b.at)
  .map((k) => k.kind);
// The units that idle out in each gap (their runners start again in the next burst).
const SHORT_UNITS = ['faass-fn-cat.service', 'faass-fn-pyfn.service', 'faass-fn-box.service'];

// Each kind: its request, and what its answer must be.
const CALLS = {
  exec: { path: '/function/cat', want: (b) => b },
  node: { path: '/function/nodefn', want: (b) => `v1:${b}` },
  python: { path: '/function/pyfn', want: (b) => `py:${b}` },
  container: { path: '/function/box', want: (b) => b },
  service: { path: '/function/napp/', method: 'GET', want: () => 'hello\n' },
  async: { path: '/async-function/queued', status: 202 },
};

async function deployAll(m) {
  const dir = path.join(m.dir, 'soak');
  fs.mkdirSync(path.join(dir, 'napp'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'handler.js'), "module.exports = async (event) => 'v1:' + event.body;\n");
  fs.writeFileSync(path.join(dir, 'handler.py'), 'def handle(req):\n    return "py:" + req\n');
  fs.writeFileSync(path.join(dir, 'napp', 'app.js'), "require('node:http').createServer((q, s) => { s.writeHead(200, { 'content-type': 'text/plain' }); s.end('hello\\n'); }).listen(Number(process.env.PORT), '127.0.0.1');\n");
  const short = ['--idle', String(SHORT_IDLE)];
  m.ctl('deploy', 'cat', '--command', 'cat', ...short);
  m.ctl('deploy', 'queued', '--command', 'cat', ...short);
  m.ctl('deploy', 'pyfn', '--runtime', 'python', '--from-file', path.join(dir, 'handler.py'), ...short);
  m.ctl('deploy', 'box', '--runtime', 'docker', '--image', BUSYBOX, '--command', 'cat', ...short);
  m.ctl('deploy', 'nodefn', '--runtime', 'node', '--from-file', path.join(dir, 'handler.js'), '--idle', String(LONG_IDLE));
  m.ctl('deploy', 'napp', '--kind', 'service', '--port', String(await freePort()), '--command', `${process.execPath} app.js`, '--from-file', path.join(dir, 'napp'), '--idle', String(LONG_IDLE));
}

// One request of the soak; resolves to an error's description, or null when the answer is right.
function call(agent, port, i, asyncIds) {
  const kind = KIND_AT[i % 100];
  const c = CALLS[kind];
  const body = `soak-${i}`;
  const method = c.method ?? 'POST';
  return new Promise((resolve) => {
    const req = http.request({ host: '127.0.0.1', port, path: c.path, method, agent, headers: method === 'GET' ? {} : { 'content-length': Buffer.byteLength(body) } }, (res) => {
      const chunks = [];
      res.on('data', (d) => chunks.push(d));
      res.on('error', (e) => resolve({ kind, error: e.message }));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString();
        if (kind === 'async') {
          const id = res.headers['x-call-id'];
          const ok = res.statusCode === 202 && id && JSON.parse(text || '{}').callId === id;
          if (ok) asyncIds.push(id);
          return resolve(ok ? null : { kind, status: res.statusCode, body: text.slice(0, 200) });
        }
        resolve(res.statusCode === 200 && text === c.want(body) ? null : { kind, status: res.statusCode, body: text.slice(0, 200) });
      });
    });
    req.on('error', (e) => resolve({ kind, error: e.message }));
    req.end(method === 'GET' ? undefined : body);
  });
}

// Requests [from, to) with CONCURRENCY at once over keep-alive connections, which are closed after.
// onMark runs once, 90 % into the burst: while every runner of the mix is busy (after the last
// request, the short-idle ones may already be gone).
async function burst(port, from, to, tally, asyncIds, onMark) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY });
  const mark = from + Math.floor((to - from) * 0.9);
  let next = from;
  const worker = async () => {
    for (let i = next++; i < to; i = next++) {
      if (i === mark) onMark();
      const err = await call(agent, port, i, asyncIds);
      tally.requests++;
      if (!err) continue;
      tally.errors++;
      tally.errors_by_kind[err.kind] = (tally.errors_by_kind[err.kind] ?? 0) + 1;
      if (tally.first_errors.length < 10) tally.first_errors.push(err);
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  agent.destroy();
}

// RSS (kB) and open fds of a process, or null once it is gone.
function procStat(pid) {
  try {
    const rss = /^VmRSS:\s+(\d+)/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return { rss_kb: rss ? Number(rss[1]) : 0, fds: fs.readdirSync(`/proc/${pid}/fd`).length };
  } catch (e) {
    if (e.code === 'ENOENT' || e.code === 'ESRCH') return null;
    throw e;
  }
}

const prop = (m, unit, p) => m.systemctl('show', unit, `--property=${p}`, '--value').trim();

// Every process of the faass units, summed per unit, and the gateway's main process alone.
function sample(m, t0, done, queueDir) {
  const units = {};
  let procs = 0;
  for (const [unit, pids] of faassUnitPids(m.dir)) {
    const stats = pids.map(procStat).filter(Boolean);
    units[unit] = { procs: stats.length, rss_kb: stats.reduce((a, s) => a + s.rss_kb, 0), fds: stats.reduce((a, s) => a + s.fds, 0) };
    procs += stats.length;
  }
  const pid = Number(prop(m, 'faass-gateway.service', 'MainPID'));
  const queued = fs.existsSync(queueDir) ? fs.readdirSync(queueDir).filter((f) => f.endsWith('.call')).length : 0;
  return { t_s: round((Date.now() - t0) / 1000, 1), requests: done, gateway: { pid, ...(pid ? procStat(pid) : null) }, faass_procs: procs, queued, units };
}

// The gap: until every short-idle runner exited (each starts again in the next burst); resolves
// to how many of them failed.
async function idleGap(m) {
  const end = Date.now() + 120000;
  for (;;) {
    const states = m.systemctl('show', ...SHORT_UNITS, '--property=ActiveState', '--value').trim().split('\n').filter(Boolean);
    if (states.every((s) => s === 'inactive' || s === 'failed')) return states.filter((s) => s === 'failed').length;
    if (Date.now() > end) throw new Error(`the short-idle runners did not exit within 120 s: ${states.join(' ')}`);
    await sleep(200);
  }
}

// Every asynchronous call's done record (queue/NAME/done/ID.json); those not 200 are errors.
async function drain(queueDir, ids) {
  const doneDir = path.join(queueDir, 'done');
  const end = Date.now() + 600000;
  let left = ids;
  while (left.length) {
    if (Date.now() > end) return { calls: ids.length, not_done: left.length, failed: 0, retried: 0 };
    await sleep(500);
    const have = new Set(fs.existsSync(doneDir) ? fs.readdirSync(doneDir) : []);
    left = left.filter((id) => !have.has(`${id}.json`));
  }
  let failed = 0;
  let retried = 0;
  for (const id of ids) {
    const rec = JSON.parse(fs.readFileSync(path.join(doneDir, `${id}.json`), 'utf8'));
    if (rec.status !== 200) failed++;
    if (rec.attempts.length > 1) retried++;
  }
  return { calls: ids.length, not_done: 0, failed, retried };
}

// Until no faass process is left (the gateway and the long-idle runners idle out last), or the
// deadline: what is left then.
async function idleOut(m, engine) {
  const t0 = Date.now();
  const end = t0 + (GATEWAY_IDLE + LONG_IDLE + 120) * 1000;
  let left = faassUnitPids(m.dir);
  while (left.size && Date.now() < end) {
    await sleep(500);
    left = faassUnitPids(m.dir);
  }
  return {
    seconds: round((Date.now() - t0) / 1000, 1),
    faass_procs: [...left.values()].reduce((n, p) => n + p.length, 0),
    units_with_procs: [...left.keys()],
    containers: await engine.countContainers(),
  };
}

const growth = (a, b) => (a ? round(((b - a) / a) * 100, 1) : null);

function summarize(samples, warmup, tally, asyncResult, left) {
  const first = samples[warmup - 1];
  const last = samples[samples.length - 1];
  const sumOf = (s, k) => Object.values(s.units).reduce((a, u) => a + u[k], 0);
  return {
    errors: tally.errors + asyncResult.not_done + asyncResult.failed,
    errors_by_kind: tally.errors_by_kind,
    gateway_restarted: new Set(samples.slice(warmup - 1).map((s) => s.gateway.pid)).size > 1,
    gateway_rss_kb: { after_warmup: first.gateway.rss_kb, last: last.gateway.rss_kb, growth_pct: growth(first.gateway.rss_kb, last.gateway.rss_kb) },
    gateway_fds: { after_warmup: first.gateway.fds, last: last.gateway.fds },
    all_faass_rss_kb: { after_warmup: sumOf(first, 'rss_kb'), last: sumOf(last, 'rss_kb'), growth_pct: growth(sumOf(first, 'rss_kb'), sumOf(last, 'rss_kb')) },
    all_faass_fds: { after_warmup: sumOf(first, 'fds'), last: sumOf(last, 'fds') },
    left_after_idle: left,
  };
}

// Each target of the JSON: met or not.
const met = (sum) => ({
  errors: sum.errors === 0,
  gateway_rss_growth_pct_after_warmup: !sum.gateway_restarted && sum.gateway_rss_kb.growth_pct < 10,
  gateway_fds: sum.gateway_fds.last <= sum.gateway_fds.after_warmup,
  faass_procs_left: sum.left_after_idle.faass_procs === 0,
  containers_left: sum.left_after_idle.containers === 0,
});

async function main() {
  const { m, port, engine, close, stack } = await chosenStack({ gatewayIdle: GATEWAY_IDLE, docker: true });
  try {
    progress(`${stack} stack: deploying`);
    await deployAll(m);
    const queueDir = path.join(m.env.XDG_STATE_HOME, 'faass', 'queue', 'queued');
    const tally = { requests: 0, errors: 0, errors_by_kind: {}, first_errors: [] };
    const asyncIds = [];
    const samples = [];
    const bursts = Math.ceil(REQUESTS / BURST);
    const warmup = Math.max(1, Math.round(bursts / 10));
    let failedUnits = 0;
    const t0 = Date.now();
    for (let b = 0; b < bursts; b++) {
      const from = b * BURST;
      const to = Math.min(REQUESTS, from + BURST);
      const tb = Date.now();
      await burst(port, from, to, tally, asyncIds, () => samples.push(sample(m, t0, tally.requests, queueDir)));
      const s = samples[samples.length - 1];
      s.burst_rps = round((to - from) / ((Date.now() - tb) / 1000), 1);
      const tg = Date.now();
      if (b < bursts - 1) failedUnits += await idleGap(m);
      s.gap_s = round((Date.now() - tg) / 1000, 1);
      progress(`burst ${b + 1}/${bursts}: ${tally.requests} requests, ${tally.errors} errors, ${s.burst_rps} requests/s, gateway RSS ${s.gateway.rss_kb} kB, gap ${s.gap_s} s`);
    }
    const loadSeconds = (Date.now() - t0) / 1000;
    progress(`draining ${asyncIds.length} asynchronous calls`);
    const asyncResult = await drain(queueDir, asyncIds);
    progress('waiting for everything to idle out');
    const left = await idleOut(m, engine);
    const result = {
      machine: { node: process.version, cpus: require('node:os').cpus().length },
      stack,
      requests: REQUESTS,
      burst: BURST,
      concurrency: CONCURRENCY,
      mix_per_100: Object.fromEntries(MIX.map((k) => [k.kind, k.share])),
      idle_s: { gateway: GATEWAY_IDLE, node_and_service: LONG_IDLE, exec_python_container_queued: SHORT_IDLE },
      warmup_bursts: warmup,
      wall_seconds: round((Date.now() - t0) / 1000, 1),
      load_seconds_with_gaps: round(loadSeconds, 1),
      async: asyncResult,
      failed_units_seen_in_gaps: failedUnits,
      summary: summarize(samples, warmup, tally, asyncResult, left),
      first_errors: tally.first_errors,
      samples,
    };
    result.targets = { errors: 0, gateway_rss_growth_pct_after_warmup: '< 10', gateway_fds: 'flat (last <= after warm-up)', faass_procs_left: 0, containers_left: 0 };
    result.met = met(result.summary);
    return result;
  } finally {
    await close();
  }
}

runBench(main);
