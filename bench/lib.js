// Shared by the benchmarks: the stacks (installed or the checkout's, in a sandboxed systemd user
// manager), ab and wrk runs, percentiles, requests.
'use strict';
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const http = require('node:http');
const { startUserManager, freePort } = require('../test/support/user-manager.js');

const ROOT = path.resolve(__dirname, '..');
const FAASSCTL = path.join(ROOT, 'dist/faassctl/main.js');

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const round = (x, d = 2) => Math.round(x * 10 ** d) / 10 ** d;
const pct = (xs, p) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))];
const summary = (ms) => ({ p50_ms: round(pct(ms, 50)), p90_ms: round(pct(ms, 90)), runs: ms.length });
const progress = (m) => process.stderr.write(`bench: ${m}\n`);

function timedRequest(port, urlPath, opts = {}) {
  const body = opts.body ?? 'x';
  const method = opts.method ?? 'POST';
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const req = http.request({ host: '127.0.0.1', port, path: urlPath, method, agent: false, headers: method === 'GET' ? {} : { 'content-length': Buffer.byteLength(body) } }, (res) => {
      const chunks = [];
      res.on('data', (d) => chunks.push(d));
      res.on('end', () => resolve({ ms: Number(process.hrtime.bigint() - t0) / 1e6, status: res.statusCode, body: Buffer.concat(chunks).toString() }));
    });
    req.on('error', reject);
    req.end(method === 'GET' ? undefined : body);
  });
}

// ab, after a warm-up run of half as many requests; POST of a small body unless opts.get.
function ab(url, n, c, opts = {}) {
  const extra = opts.keepAlive ? ['-k'] : [];
  if (!opts.get) {
    const bodyFile = path.join(fs.mkdtempSync(path.join(require('node:os').tmpdir(), 'faass-ab-')), 'body.txt');
    fs.writeFileSync(bodyFile, 'hello faass\n');
    extra.push('-p', bodyFile, '-T', 'text/plain');
  }
  const args = (count) => ['-q', '-n', String(count), '-c', String(c), ...extra, url];
  if (opts.warmup !== false) execFileSync('ab', args(Math.ceil(n / 2)), { stdio: 'ignore' });
  const out = execFileSync('ab', args(n), { encoding: 'utf8', maxBuffer: 1 << 24 });
  const num = (re) => Number((re.exec(out) || [])[1] || 0);
  return {
    requests: n,
    concurrency: c,
    keep_alive: Boolean(opts.keepAlive),
    rps: num(/Requests per second:\s+([\d.]+)/),
    failed: num(/Failed requests:\s+(\d+)/) + num(/Non-2xx responses:\s+(\d+)/),
    p50_ms: num(/^\s+50%\s+(\d+)/m),
    p99_ms: num(/^\s+99%\s+(\d+)/m),
  };
}

// wrk (keep-alive load), after a warm-up of a second; GET.
function wrk(url, seconds, c) {
  const args = (d) => ['-t2', `-c${c}`, `-d${d}s`, '--latency', url];
  execFileSync('wrk', args(1), { stdio: 'ignore' });
  const out = execFileSync('wrk', args(seconds), { encoding: 'utf8' });
  const ms = (re) => {
    const m = re.exec(out);
    if (!m) return 0;
    return round(Number(m[1]) * ({ us: 0.001, ms: 1, s: 1000 }[m[2]] ?? 1));
  };
  const errors = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  const non2xx = /Non-2xx or 3xx responses: (\d+)/.exec(out);
  return {
    seconds,
    concurrency: c,
    keep_alive: true,
    rps: Number((/Requests\/sec:\s+([\d.]+)/.exec(out) || [])[1] || 0),
    failed: (errors ? errors.slice(1).reduce((a, b) => a + Number(b), 0) : 0) + (non2xx ? Number(non2xx[1]) : 0),
    p50_ms: ms(/^\s+50%\s+([\d.]+)(us|ms|s)/m),
    p99_ms: ms(/^\s+99%\s+([\d.]+)(us|ms|s)/m),
  };
}

// A systemd user manager of our own (test/support/user-manager.js); with faassctl and systemctl.
function startManager() {
  const { dir, env, stop } = startUserManager('bench-');
  const ctl = (...args) => execFileSync(process.execPath, [FAASSCTL, ...args], { env, encoding: 'utf8' });
  const systemctl = (...args) => execFileSync('systemctl', ['--user', ...args], { env, encoding: 'utf8' });
  return { dir, env, ctl, systemctl, stop };
}

// The stacks started and not closed yet: what SIGINT or SIGTERM stops (runBench).
const openStacks = new Set();

// close() of a stack: runs its teardowns (last started first) once, however often it is called.
function closer(teardowns) {
  let closing = null;
  const close = () => {
    closing ??= (async () => {
      openStacks.delete(close);
      for (const f of teardowns) await f().catch((e) => progress(`teardown: ${e.message}`));
    })();
    return closing;
  };
  openStacks.add(close);
  return close;
}

// A Docker engine of the stack's own (test/support/docker-engine.js), stopped with it.
async function stackEngine(docker, teardowns) {
  if (!docker) return null;
  const { startEngine } = require('../test/support/docker-engine.js');
  return startEngine((f) => teardowns.unshift(f));
}

// The checkout's own stack: a user manager, optionally a Docker engine, the gateway's socket
// enabled on a free port. close() tears down everything, last started first.
async function startStack({ gatewayIdle, docker = false }) {
  const teardowns = [];
  const close = closer(teardowns);
  try {
    const engine = await stackEngine(docker, teardowns);
    const m = startManager();
    teardowns.unshift(async () => m.stop());
    const port = await freePort();
    m.ctl('init', '--port', String(port), '--idle', String(gatewayIdle), ...(engine ? ['--docker-host', `unix://${engine.socket}`] : []));
    m.ctl('generate-units');
    m.systemctl('enable', '--now', 'faass-gateway.socket');
    return { engine, m, port, close, stack: 'checkout' };
  } catch (e) {
    await close();
    throw e;
  }
}

// The stack users run (issue 18): ./install.sh into a user manager of its own, PREFIX under the
// manager's directory; m.ctl is the installed faassctl. With docker, an engine of its own, given
// to the installed stack as a user would (faassctl init --docker-host: install.sh has no option
// for it), the gateway restarted if install.sh's own call left it running.
async function installedStack({ gatewayIdle = 1, docker = false } = {}) {
  const teardowns = [];
  const close = closer(teardowns);
  try {
    const engine = await stackEngine(docker, teardowns);
    const m0 = startManager();
    teardowns.unshift(async () => m0.stop());
    const port = await freePort();
    const prefix = path.join(m0.dir, 'prefix');
    execFileSync('bash', [path.join(ROOT, 'install.sh'), '--prefix', prefix, '--port', String(port), '--idle', String(gatewayIdle)], { env: m0.env, stdio: ['ignore', 'ignore', 'inherit'] });
    const ctl = (...args) => execFileSync(path.join(prefix, 'bin', 'faassctl'), args, { env: m0.env, encoding: 'utf8' });
    const m = { ...m0, ctl, prefix };
    if (engine) {
      ctl('init', '--docker-host', `unix://${engine.socket}`);
      m.systemctl('try-restart', 'faass-gateway.service');
    }
    return { engine, m, port, close, stack: 'installed' };
  } catch (e) {
    await close();
    throw e;
  }
}

// The stack a benchmark measures: the installed one, or with --checkout the checkout's own.
const chosenStack = (opts) => (process.argv.includes('--checkout') ? startStack(opts) : installedStack(opts));

// The processes of this manager's faass units, by unit (the cgroups named faass-*, found in the
// systemd hierarchy under the sandbox's own cgroup; one may vanish as we look): unit → [pid].
function faassUnitPids(dir) {
  const top = fs.readFileSync(path.join(dir, 'cgroups'), 'utf8').split('\n').find((l) => l.startsWith('/sys/fs/cgroup/systemd/'));
  const units = new Map();
  const walk = (d) => {
    let entries;
    try {
      entries = fs.readdirSync(d, { withFileTypes: true });
    } catch (e) {
      if (e.code === 'ENOENT') return;
      throw e;
    }
    for (const e of entries) {
      if (!e.isDirectory()) continue;
      const sub = path.join(d, e.name);
      if (e.name.startsWith('faass-')) {
        try {
          const pids = fs.readFileSync(path.join(sub, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean).map(Number);
          if (pids.length) units.set(e.name, [...(units.get(e.name) ?? []), ...pids]);
        } catch (err) {
          if (err.code !== 'ENOENT') throw err;
        }
      }
      walk(sub);
    }
  };
  walk(top);
  return units;
}

// How many processes the faass units of this manager have.
const faassProcs = (dir) => [...faassUnitPids(dir).values()].reduce((n, pids) => n + pids.length, 0);

async function waitUntil(cond, timeoutMs = 30000) {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (await cond()) return;
    await sleep(20);
  }
  throw new Error('timed out waiting');
}

// A benchmark's entry point: its result as one JSON document on stdout, a failure as one line.
// SIGINT or SIGTERM stops every open stack (its manager, units and engine), then exits.
let interrupted = null;
function runBench(main) {
  for (const sig of ['SIGINT', 'SIGTERM']) process.once(sig, () => interrupt(sig));
  main().then(
    (result) => interrupted || process.stdout.write(JSON.stringify(result, null, 2) + '\n'),
    (e) => {
      if (interrupted) return; // interrupt() exits once the stacks are down
      process.stderr.write(`bench: failed: ${e.stack || e}\n`);
      process.exit(1);
    },
  );
}

async function interrupt(sig) {
  interrupted = sig;
  progress(`${sig}: stopping the sandbox`);
  for (const close of [...openStacks]) await close();
  process.exit(128 + require('node:os').constants.signals[sig]);
}

// Lets a pending SIGINT or SIGTERM be handled: for loops of synchronous work (execFileSync).
const checkpoint = () => new Promise((r) => setImmediate(r));

module.exports = { runBench, checkpoint, ROOT, FAASSCTL, sleep, round, pct, summary, progress, freePort, timedRequest, ab, wrk, startManager, startStack, installedStack, chosenStack, faassUnitPids, faassProcs, waitUntil };
