// A function or a service reaches nothing of faass: hostile ones, deployed as an ordinary user
// would, try the management API's socket, another (protected) function's socket, the
// credentials, another function's settings and code, the container engine's socket, the user
// manager's (and a service, the gateway's port), and report what they reached.
import t from 'tap';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { startSandbox, setupGateway, request, writeFixture, freePort, waitFor, faassPids, TEST_USER } from '../support/sandbox';

// Each probe prints "reached" or "refused: WHY"; the function answers them as one JSON object.
const HOSTILE = `#!/usr/bin/python3
import json, os, socket, sys
sys.stdin.read()
rt, cfg, data = os.environ["RT"], os.environ["CFG"], os.environ["DATA"]
def connect(p):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(5)
    s.connect(p)
    s.sendall(b"GET /system/functions HTTP/1.0\\r\\n\\r\\n" if p.endswith("api.sock") else b"POST / HTTP/1.0\\r\\ncontent-length: 1\\r\\n\\r\\nx")
    return s.recv(100)
def reach(p):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(5)
    s.connect(p)
    s.close()
def read(p):
    with open(p, "rb") as f:
        return f.read(100)
def others():
    for p in os.listdir("/proc"):
        try:
            c = read("/proc/" + p + "/cmdline") if p.isdigit() else b""
        except OSError:
            continue
        if b"gateway/main.js" in c or b"systemd\\0--user" in c:
            return
    raise PermissionError("no process of faass's or the user's in sight")
def descriptors():
    # beyond 0-2: the runner's sockets (its listening one, the journal's) had they been inherited
    held = []
    for fd in os.listdir("/proc/self/fd"):
        try:
            if int(fd) > 2:
                held.append(os.readlink("/proc/self/fd/" + fd))
        except OSError:
            pass  # the listing's own, closed by now
    if not held:
        raise PermissionError("none beyond 0-2")
probes = {
    "api": lambda: connect(rt + "/faass/api.sock"),
    "other function": lambda: connect(rt + "/faass/fn/secret.sock"),
    "credentials": lambda: read(cfg + "/faass/auth.conf"),
    "other settings": lambda: read(cfg + "/faass/functions/secret.conf"),
    "other code": lambda: os.listdir(data + "/faass/functions/secret"),
    "engine": lambda: reach(os.environ["ENGINE"]),
    "system engine": lambda: reach(os.environ["SYSTEM_ENGINE"]),
    "user manager": lambda: reach(rt + "/systemd/private"),
    "metrics": lambda: open(os.environ["STATE"] + "/faass/metrics.json", "a").write("{}"),
    "processes": others,
    "runner's descriptors": descriptors,
    "own settings": lambda: read(cfg + "/faass/functions/hostile.conf"),
}
out = {}
for name, probe in probes.items():
    try:
        probe()
        out[name] = "reached"
    except Exception as e:
        out[name] = "refused: " + type(e).__name__
print(json.dumps(out))
`;

// The same probes as warm-worker handlers: a node module and an OpenFaaS-style python handle().
const NODE_PROBES = `const fs = require('node:fs');
const net = require('node:net');
const connect = (p) => new Promise((resolve, reject) => {
  const s = net.connect(p, () => { s.destroy(); resolve(); });
  s.on('error', reject);
});
module.exports = async () => {
  const { RT: rt, CFG: cfg, DATA: data } = process.env;
  const probes = {
    api: () => connect(rt + '/faass/api.sock'),
    'other function': () => connect(rt + '/faass/fn/secret.sock'),
    credentials: async () => fs.readFileSync(cfg + '/faass/auth.conf'),
    'other settings': async () => fs.readFileSync(cfg + '/faass/functions/secret.conf'),
    'other code': async () => fs.readdirSync(data + '/faass/functions/secret'),
    engine: () => connect(process.env.ENGINE),
    'system engine': () => connect(process.env.SYSTEM_ENGINE),
    'user manager': () => connect(rt + '/systemd/private'),
    processes: async () => {
      const seen = fs.readdirSync('/proc').filter((p) => /^\\d+$/.test(p)).map((p) => { try { return fs.readFileSync('/proc/' + p + '/cmdline', 'latin1'); } catch { return ''; } });
      if (!seen.some((c) => c.includes('gateway/main.js') || c.includes('systemd\\0--user'))) throw Object.assign(new Error('none in sight'), { code: 'HIDDEN' });
    },
  };
  const out = {};
  for (const [name, probe] of Object.entries(probes)) {
    try {
      await probe();
      out[name] = 'reached';
    } catch (e) {
      out[name] = 'refused: ' + e.code;
    }
  }
  return JSON.stringify(out);
};
`;
const PYTHON_PROBES = `import json, os, socket
def handle(req):
    rt, cfg, data = os.environ["RT"], os.environ["CFG"], os.environ["DATA"]
    def connect(p):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(5)
        s.connect(p)
        s.close()
    def others():
        for p in os.listdir("/proc"):
            try:
                c = open("/proc/" + p + "/cmdline", "rb").read() if p.isdigit() else b""
            except OSError:
                continue
            if b"gateway/main.js" in c or b"systemd\\0--user" in c:
                return
        raise PermissionError("none in sight")
    probes = {
        "processes": others,
        "api": lambda: connect(rt + "/faass/api.sock"),
        "other function": lambda: connect(rt + "/faass/fn/secret.sock"),
        "credentials": lambda: open(cfg + "/faass/auth.conf", "rb").read(1),
        "other settings": lambda: open(cfg + "/faass/functions/secret.conf", "rb").read(1),
        "other code": lambda: os.listdir(data + "/faass/functions/secret"),
        "engine": lambda: connect(os.environ["ENGINE"]),
        "system engine": lambda: connect(os.environ["SYSTEM_ENGINE"]),
        "user manager": lambda: connect(rt + "/systemd/private"),
    }
    out = {}
    for name, probe in probes.items():
        try:
            probe()
            out[name] = "reached"
        except Exception as e:
            out[name] = "refused: " + type(e).__name__
    return json.dumps(out)
`;

// A service's app with the same probes (and one more: the gateway's port, which an app in a
// network of its own cannot reach), answering any GET with what it reached.
const SERVICE_PROBES = `import json, os, socket
from http.server import BaseHTTPRequestHandler, HTTPServer
def connect(p):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(5)
    s.connect(p)
    s.close()
def tcp(port):
    socket.create_connection(("127.0.0.1", port), timeout=5).close()
def others():
    for p in os.listdir("/proc"):
        try:
            c = open("/proc/" + p + "/cmdline", "rb").read() if p.isdigit() else b""
        except OSError:
            continue
        if b"gateway/main.js" in c or b"systemd\\0--user" in c:
            return
    raise PermissionError("none in sight")
rt, cfg, data = os.environ["RT"], os.environ["CFG"], os.environ["DATA"]
probes = {
    "processes": others,
    "api": lambda: connect(rt + "/faass/api.sock"),
    "other function": lambda: connect(rt + "/faass/fn/secret.sock"),
    "credentials": lambda: open(cfg + "/faass/auth.conf", "rb").read(1),
    "other settings": lambda: open(cfg + "/faass/functions/secret.conf", "rb").read(1),
    "other code": lambda: os.listdir(data + "/faass/functions/secret"),
    "engine": lambda: connect(os.environ["ENGINE"]),
    "system engine": lambda: connect(os.environ["SYSTEM_ENGINE"]),
    "user manager": lambda: connect(rt + "/systemd/private"),
    "gateway": lambda: tcp(int(os.environ["GATEWAY_PORT"])),
}
class Probe(BaseHTTPRequestHandler):
    def do_GET(self):
        out = {}
        for name, probe in probes.items():
            try:
                probe()
                out[name] = "reached"
            except Exception as e:
                out[name] = "refused: " + type(e).__name__
        body = json.dumps(out).encode()
        self.send_response(200)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
HTTPServer(("127.0.0.1", int(os.environ["PORT"])), Probe).serve_forever()
`;

t.test('a function or a service reaches nothing of faass', async (t) => {
  const sb = await startSandbox(t, { user: TEST_USER });
  // Stand-ins for container engines the user may reach (a rootful engine's socket is group
  // docker's): whatever connects to one has reached the engine, and so root on the host. One
  // where faass is told the engine is (outside the runtime directory, as a rootful engine
  // configured elsewhere); one in /run where a system engine is, which faass is not told about.
  // (The second is refused here anyway, where /run is no mount point and a unit's view of it is
  // empty: SYSTEMD-SANDBOX.md; on a real host only the unit's TemporaryFileSystem=/run hides it.
  // test/unit/units.test.ts checks that the units say so.)
  const uid = fs.statSync(sb.env.XDG_RUNTIME_DIR as string).uid;
  const listen = async (p: string) => {
    const server = net.createServer((c) => c.destroy());
    await new Promise<void>((resolve) => server.listen(p, resolve));
    t.teardown(() => server.close());
    fs.chownSync(p, uid, -1);
  };
  fs.mkdirSync(path.join(sb.dir, 'engine'));
  fs.chownSync(path.join(sb.dir, 'engine'), uid, -1);
  const engineSocket = path.join(sb.dir, 'engine', 'docker.sock');
  const systemEngine = `/run/faass-test-engine-${process.pid}.sock`;
  await listen(engineSocket);
  await listen(systemEngine);
  t.equal((await sb.faassctl('init', '--port', String(sb.port), '--docker-host', `unix://${engineSocket}`)).code, 0);
  await setupGateway(sb, 1);
  const env = sb.env as Record<string, string>;
  t.equal((await sb.faassctl('credentials', 'add', 'root', '--admin')).code, 0, 'an admin: the API socket listens');
  const ci = (await sb.faassctl('credentials', 'add', 'ci')).stdout.trim();
  const secretCode = writeFixture(sb, 'secret.sh', '#!/bin/sh\necho "the secret is $TOKEN"\n', 0o755);
  t.equal((await sb.faassctl('deploy', 'secret', '--runtime', 'exec', '--from-file', secretCode, '--auth', 'ci', '--env', 'TOKEN=s3cret')).code, 0);
  // Where faass keeps things, given to the probes as they are given to no function by faass.
  const probeEnv = ['--env', `RT=${env.XDG_RUNTIME_DIR}`, '--env', `CFG=${env.XDG_CONFIG_HOME}`, '--env', `DATA=${env.XDG_DATA_HOME}`, '--env', `ENGINE=${engineSocket}`, '--env', `SYSTEM_ENGINE=${systemEngine}`, '--env', `STATE=${env.XDG_STATE_HOME}`];
  const hostile = writeFixture(sb, 'hostile.py', HOSTILE, 0o755);
  const deployed = await sb.faassctl('deploy', 'hostile', '--runtime', 'exec', '--from-file', hostile, ...probeEnv);
  t.equal(deployed.code, 0, deployed.stderr);

  const r = await request(sb.port, '/function/hostile');
  t.equal(r.status, 200, `the hostile function runs (its own code is there) ${r.body}`);
  const reached = JSON.parse(r.body) as Record<string, string>;
  // runner's descriptors: none but its stdio reaches an exec function (closefrom in spawn.c).
  for (const probe of ['api', 'other function', 'credentials', 'other settings', 'other code', 'engine', 'system engine', 'user manager', 'metrics', 'processes', "runner's descriptors"]) t.match(reached[probe], /^refused/, `${probe}: ${reached[probe]}`);
  t.equal(reached['own settings'], 'reached', 'its own settings are readable (its runner reads them)');
  // Its runner started it by posix_spawn, in the unit's sandbox (SystemCallFilter=, bwrap's PID
  // namespace): the fallback to Node's spawn says so in the journal, before the call's own line.
  let logs = '';
  await waitFor("the call's line", async () => /status=200/.test((logs = (await sb.faassctl('logs', 'hostile', '--lines', '200')).stdout)));
  const fallback = /Starting exec functions with Node's spawn/;
  if (process.env.FAASS_SPAWN === 'node') t.match(logs, fallback, 'FAASS_SPAWN=node: the runner fell back, and said so');
  else t.notMatch(logs, fallback, "the runner did not fall back to Node's spawn");

  // Warm workers live in the runner's unit too: the same walls hold for them.
  const node = writeFixture(sb, 'probes.js', NODE_PROBES);
  const python = writeFixture(sb, 'probes.py', PYTHON_PROBES);
  t.equal((await sb.faassctl('deploy', 'hostile-node', '--runtime', 'node', '--from-file', node, ...probeEnv)).code, 0);
  t.equal((await sb.faassctl('deploy', 'hostile-py', '--runtime', 'python', '--from-file', python, ...probeEnv)).code, 0);
  for (const fn of ['hostile-node', 'hostile-py']) {
    const w = await request(sb.port, `/function/${fn}`);
    t.equal(w.status, 200, `${fn} runs`);
    const got = JSON.parse(w.body) as Record<string, string>;
    for (const probe of ['api', 'other function', 'credentials', 'other settings', 'other code', 'engine', 'system engine', 'user manager', 'processes']) t.match(got[probe], /^refused/, `${fn}, ${probe}: ${got[probe]}`);
  }

  // A service's app: the same walls, and a network of its own. Protected with --auth, it answers
  // through the gateway only: nothing listens for it on the host's loopback.
  const svcPort = await freePort();
  const svcCode = writeFixture(sb, 'svc/app.py', SERVICE_PROBES);
  const svc = await sb.faassctl('deploy', 'hostile-svc', '--kind', 'service', '--port', String(svcPort), '--command', 'python3 app.py', '--from-file', path.dirname(svcCode), '--auth', 'ci', '--idle', '30', ...probeEnv, '--env', `GATEWAY_PORT=${sb.port}`);
  t.equal(svc.code, 0, svc.stderr);
  t.equal((await request(sb.port, '/function/hostile-svc/', { method: 'GET' })).status, 401, 'the protected service wants a credential');
  const s = await request(sb.port, '/function/hostile-svc/', { method: 'GET', headers: { authorization: `Bearer ${ci}` } });
  t.equal(s.status, 200, `the hostile service runs ${s.body}`);
  const fromSvc = JSON.parse(s.body) as Record<string, string>;
  for (const probe of ['api', 'other function', 'credentials', 'other settings', 'other code', 'engine', 'system engine', 'user manager', 'gateway', 'processes']) t.match(fromSvc[probe], /^refused/, `hostile-svc, ${probe}: ${fromSvc[probe]}`);
  const direct = await new Promise<string>((resolve) => {
    const c = net.connect(svcPort, '127.0.0.1', () => {
      c.destroy();
      resolve('connected');
    });
    c.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
  });
  t.equal(direct, 'ECONNREFUSED', "the service's port, while it runs, is not reachable on the host's loopback");

  // The isolation costs the gateway nothing: the protected function still answers through it.
  t.equal((await request(sb.port, '/function/secret')).status, 401, 'the protected function wants a credential');
  const ok = await request(sb.port, '/function/secret', { headers: { authorization: `Bearer ${ci}` } });
  t.equal(ok.body, 'the secret is s3cret\n', 'and answers with one');
});

const cmdline = (pid: number): string => {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'latin1').replace(/\0/g, ' ');
  } catch {
    return '';
  }
};
const zombie = (pid: number): boolean => {
  try {
    return /^\d+ \(.*\) Z /.test(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return true; // gone
  }
};
// The unit's processes that are neither the runner (node) nor bwrap, which makes its PID
// namespace: what calls started.
const leftBehind = (sb: Parameters<typeof faassPids>[0], unit: string): number[] => faassPids(sb, unit).filter((p) => !/^\S*\/(node|bwrap) /.test(cmdline(p)));

// Item 6: a call's processes do not outlive it, even those that left its process group.
t.test("what a call leaves behind does not outlive it", async (t) => {
  const sb = await startSandbox(t, { user: TEST_USER });
  await setupGateway(sb, 60);
  // A background child in a session of its own, which keeps running after the call answers.
  const code = writeFixture(sb, 'linger.sh', '#!/bin/sh\nsetsid sh -c "while :; do sleep 1; done" </dev/null >/dev/null 2>&1 &\necho started\n', 0o755);
  t.equal((await sb.faassctl('deploy', 'linger', '--runtime', 'exec', '--from-file', code, '--idle', '60')).code, 0);
  const unit = 'faass-fn-linger.service';
  t.equal((await request(sb.port, '/function/linger')).body, 'started\n', 'the call answers');
  const main = Number((await sb.systemctl('show', unit, '-p', 'MainPID', '--value')).stdout.trim());
  t.ok(main > 0, 'its runner runs on (idle 60 s)');
  await waitFor('only the runner left in the unit', () => leftBehind(sb, unit).length === 0, 30000).catch(() => undefined);
  t.same(leftBehind(sb, unit), [], 'the child the call left behind is gone');
  t.equal(Number((await sb.systemctl('show', unit, '-p', 'MainPID', '--value')).stdout.trim()), main, 'the runner is not');
  t.equal((await request(sb.port, '/function/linger')).body, 'started\n', 'and the next call runs as before');
});

// Item 6 under load: with calls running all the time there is no quiet moment to sweep in, yet
// what an ended call left behind goes, and the calls running meanwhile keep theirs.
t.test('what a call leaves behind does not outlive it under unbroken load either', async (t) => {
  const sb = await startSandbox(t, { user: TEST_USER });
  await setupGateway(sb, 60);
  const script = '#!/bin/sh\ncase "$Http_Query" in\n*linger*) setsid sh -c "while :; do sleep 1; done" </dev/null >/dev/null 2>&1 & echo $! ;;\n*) sh -c "sleep ${Http_Query#d=}; echo slept" ;;\nesac\n';
  t.equal((await sb.faassctl('deploy', 'busy', '--runtime', 'exec', '--from-file', writeFixture(sb, 'busy.sh', script, 0o755), '--idle', '60')).code, 0);
  // Four clients calling calls of 2, 2.5, 3 and 3.5 s, started together: they end at different
  // moments, so some call always runs.
  let stop = false;
  let inflight = 0;
  let gaps = 0;
  const bad: string[] = [];
  const client = async (seconds: string) => {
    while (!stop) {
      inflight++;
      const r = await request(sb.port, `/function/busy?d=${seconds}`);
      if (--inflight === 0 && !stop) gaps++;
      if (r.status !== 200 || r.body !== 'slept\n') bad.push(`${r.status} ${r.body}`);
    }
  };
  const clients = ['2', '2.5', '3', '3.5'].map(client);
  await waitFor('four calls running', () => inflight === 4, 30000);
  const left = await request(sb.port, '/function/busy?linger');
  t.ok(Number(left.body.trim()) > 0, `the call left a process behind (its pid in the unit's namespace: ${left.body.trim()})`);
  // The host's pids are not the namespace's: the loop is found by what it runs.
  const alive = () => leftBehind(sb, 'faass-fn-busy.service').some((p) => cmdline(p).includes('while :') && !zombie(p));
  await waitFor('the process the call left behind to be gone', () => !alive(), 30000).catch(() => undefined);
  const goneUnderLoad = !alive() && gaps === 0;
  stop = true;
  await Promise.all(clients);
  t.ok(goneUnderLoad, `it is gone while other calls still run (alive: ${alive()}, moments with no call: ${gaps})`);
  t.same(bad, [], 'and every call running meanwhile finished with its own processes');
});
