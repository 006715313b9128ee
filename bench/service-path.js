#!/usr/bin/env node
// Where a call to a service spends its CPU (docs/PERFORMANCE.md "Service path"): the Node app of
// bench/service.js, called directly (the baseline), through a bare Node proxy on the function's
// socket (the floor of any gateway in Node), and through the gateway (network=none: two proxy
// hops; network=host: one), with ab -c 50 and wrk -c 50, in turn, all in one run. Per run: rps,
// the CPU time of each process per request (/proc/PID/stat of the units' processes and of the
// bare proxy; the load tool's from /usr/bin/time) and the connections the app accepted (its
// network namespace's PassiveOpens: every one came through the proxies).
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const { spawn, spawnSync } = require('node:child_process');
const { runBench, round, progress, freePort, timedRequest, startStack, waitUntil } = require('./lib.js');

const QUICK = process.argv.includes('--quick');
const ROUNDS = QUICK ? 1 : 3;
const AB_N = QUICK ? 1000 : 3000;
const WRK_SECONDS = QUICK ? 2 : 5;

// The bare proxy: node:http in, a keep-alive FIFO agent to the socket out, the answer buffered
// and given its length (as the gateway's relay does); nothing else.
const BARE_PROXY = `
const http = require('node:http');
const [port, socketPath] = [Number(process.argv[1]), process.argv[2]];
const agent = new http.Agent({ keepAlive: true, timeout: 400, scheduling: 'fifo' });
http.createServer((req, res) => {
  const body = [];
  req.on('data', (d) => body.push(d));
  req.on('end', () => {
    const up = http.request({ socketPath, path: '/', method: req.method, headers: req.headers, agent }, (r) => {
      const b = [];
      r.on('data', (d) => b.push(d));
      r.on('end', () => {
        const all = Buffer.concat(b);
        const h = { ...r.headers };
        for (const k of ['connection', 'keep-alive', 'transfer-encoding']) delete h[k];
        h['content-length'] = String(all.length);
        res.writeHead(r.statusCode, h);
        res.end(all);
      });
    });
    up.on('error', () => res.destroy());
    up.end(Buffer.concat(body));
  });
}).listen(port, '127.0.0.1', () => process.stdout.write('listening\\n'));
`;

const ticks = (pid) => {
  const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return Number(f[11]) + Number(f[12]); // utime + stime, in clock ticks (100 a second)
};

const label = (pid) => {
  const argv = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
  if (argv[0].endsWith('systemd-socket-proxyd')) return 'proxyd';
  if (argv.some((a) => a.endsWith('app.js') && !a.includes('dist/'))) return 'app';
  return argv.some((a) => a.includes('dist/')) ? 'faass-' + path.basename(path.dirname(argv.find((a) => a.includes('dist/')))) : argv[0];
};

function passiveOpens(pid) {
  const [head, values] = fs.readFileSync(`/proc/${pid}/net/snmp`, 'utf8').split('\n').filter((l) => l.startsWith('Tcp:')).map((l) => l.split(' '));
  return Number(values[head.indexOf('PassiveOpens')]);
}

// One load run: the rate, CPU µs per request of each process, and the connections the app took.
function measure(tool, url, procs, appPid) {
  const before = procs.map((p) => ticks(p.pid));
  const opens = passiveOpens(appPid);
  const args = tool === 'ab' ? ['ab', '-q', '-n', String(AB_N), '-c', '50', url] : ['wrk', '-t2', '-c50', `-d${WRK_SECONDS}s`, url];
  const r = spawnSync('/usr/bin/time', ['-f', 'TOOLCPU %U %S', ...args], { encoding: 'utf8', maxBuffer: 1 << 24 });
  const after = procs.map((p) => ticks(p.pid));
  const out = r.stdout;
  const n = tool === 'ab' ? AB_N : Number((/(\d+) requests in/.exec(out) || [0, 0])[1]);
  const rps = Number((/(?:Requests per second|Requests\/sec):\s+([\d.]+)/.exec(out) || [0, 0])[1]);
  const errors = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  const failed = tool === 'ab' ? Number((/Failed requests:\s+(\d+)/.exec(out) || [0, 0])[1]) + Number((/Non-2xx responses:\s+(\d+)/.exec(out) || [0, 0])[1]) : (errors ? errors.slice(1).reduce((a, b) => a + Number(b), 0) : 0) + Number((/Non-2xx or 3xx responses: (\d+)/.exec(out) || [0, 0])[1]);
  const cpu = {};
  procs.forEach((p, i) => (cpu[p.name] = (cpu[p.name] ?? 0) + ((after[i] - before[i]) * 10000) / Math.max(n, 1)));
  const t = /TOOLCPU ([\d.]+) ([\d.]+)/.exec(r.stderr);
  if (t) cpu[tool] = ((Number(t[1]) + Number(t[2])) * 1e6) / Math.max(n, 1);
  for (const k of Object.keys(cpu)) cpu[k] = Math.round(cpu[k]);
  cpu.sum = Object.values(cpu).reduce((a, b) => a + b, 0);
  return { rps, requests: n, failed, app_connections: passiveOpens(appPid) - opens, load_average: Number(fs.readFileSync('/proc/loadavg', 'utf8').split(' ')[0]), cpu_us_per_request: cpu };
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function main() {
  const { m, port, close } = await startStack({ gatewayIdle: 3000 });
  let bare = null;
  try {
    const appPort = await freePort();
    const hostPort = await freePort();
    fs.mkdirSync(`${m.dir}/napp`, { recursive: true });
    fs.writeFileSync(`${m.dir}/napp/app.js`, "require('node:http').createServer((q, s) => { s.writeHead(200, { 'content-type': 'text/plain' }); s.end('hello\\n'); }).listen(Number(process.env.PORT), '127.0.0.1');\n");
    m.ctl('deploy', 'napp', '--kind', 'service', '--port', String(appPort), '--command', `${process.execPath} app.js`, '--from-file', `${m.dir}/napp`, '--idle', '3000');
    m.ctl('deploy', 'nhost', '--kind', 'service', '--network', 'host', '--port', String(hostPort), '--command', `${process.execPath} app.js`, '--from-file', `${m.dir}/napp`, '--idle', '3000');
    for (const name of ['napp', 'nhost']) {
      const r = await timedRequest(port, `/function/${name}/`, { method: 'GET' });
      if (r.status !== 200) throw new Error(`${name} answered ${r.status}`);
    }
    const bareProxyPort = await freePort();
    bare = spawn(process.execPath, ['-e', BARE_PROXY, String(bareProxyPort), `${m.env.XDG_RUNTIME_DIR}/faass/fn/napp.sock`], { stdio: ['ignore', 'pipe', 'inherit'] });
    let said = '';
    bare.stdout.on('data', (d) => (said += d));
    await waitUntil(() => said.includes('listening'));
    const procsOf = (unit) => {
      const cg = m.systemctl('show', '-p', 'ControlGroup', '--value', `${unit}.service`).trim();
      return fs.readFileSync(`/sys/fs/cgroup/systemd${cg}/cgroup.procs`, 'utf8').split('\n').filter(Boolean).map(Number).map((pid) => ({ pid, name: `${unit.replace(/^faass-(fn-)?/, '')}:${label(pid)}` }));
    };
    const appOf = (procs) => procs.find((p) => p.name.endsWith(':app')).pid;
    const targets = {
      direct: { url: `http://127.0.0.1:${hostPort}/`, units: ['faass-fn-nhost-app'] },
      bare_proxy_napp: { url: `http://127.0.0.1:${bareProxyPort}/`, units: ['faass-fn-napp', 'faass-fn-napp-app'], extra: [{ pid: bare.pid, name: 'bare-proxy' }] },
      gateway_napp: { url: `http://127.0.0.1:${port}/function/napp/`, units: ['faass-gateway', 'faass-fn-napp', 'faass-fn-napp-app'] },
      gateway_nhost: { url: `http://127.0.0.1:${port}/function/nhost/`, units: ['faass-gateway', 'faass-fn-nhost', 'faass-fn-nhost-app'] },
    };
    // Warm every path (JIT, pools) before anything counts.
    for (const t of Object.values(targets)) spawnSync('wrk', ['-t2', '-c50', '-d1s', t.url]);
    const runs = {};
    for (let round = 0; round < ROUNDS; round++) {
      for (const tool of ['ab', 'wrk']) {
        for (const [name, t] of Object.entries(targets)) {
          progress(`round ${round + 1}: ${tool} ${name}`);
          const procs = [...(t.extra ?? []), ...t.units.flatMap(procsOf)];
          (runs[`${tool}_${name}`] ??= []).push(measure(tool, t.url, procs, appOf(procs)));
        }
      }
    }
    const rate = (k) => median(runs[k].map((r) => r.rps));
    const ratio = (a, b) => round(rate(a) / rate(b));
    return {
      runs,
      ratios_of_medians: {
        gateway_napp_over_direct_ab: ratio('ab_gateway_napp', 'ab_direct'),
        gateway_napp_over_direct_wrk: ratio('wrk_gateway_napp', 'wrk_direct'),
        bare_proxy_over_direct_ab: ratio('ab_bare_proxy_napp', 'ab_direct'),
        bare_proxy_over_direct_wrk: ratio('wrk_bare_proxy_napp', 'wrk_direct'),
        gateway_over_bare_proxy_ab: ratio('ab_gateway_napp', 'ab_bare_proxy_napp'),
        gateway_over_bare_proxy_wrk: ratio('wrk_gateway_napp', 'wrk_bare_proxy_napp'),
        gateway_nhost_over_direct_ab: ratio('ab_gateway_nhost', 'ab_direct'),
        gateway_nhost_over_direct_wrk: ratio('wrk_gateway_nhost', 'wrk_direct'),
      },
      notes: `ab -n ${AB_N} -c 50 (no keep-alive) and wrk -t2 -c50 -d${WRK_SECONDS}s (keep-alive), each target in turn, ${ROUNDS} round(s); cpu_us_per_request: CPU time of each process over the run / requests (app connections: PassiveOpens in the app's network namespace; for direct and nhost that is the host's, so all of its connections)`,
    };
  } finally {
    bare?.kill();
    await close();
  }
}

runBench(main);
