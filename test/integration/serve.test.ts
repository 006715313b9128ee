// Without a user manager: faassctl serve runs the same programs, handing them sockets as systemd
// does, and follows every change made while it runs (issue 12): deploys, deletes, credentials,
// the management API, services on demand; status and logs find it; --port for one run.
import t from 'tap';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as https from 'node:https';
import { spawn, execFile } from 'node:child_process';
import { FAASSCTL, freePort, request, waitFor } from '../support/sandbox';

interface Served {
  pid: number;
  listen: string;
  programs: { name: string; pid: number | null }[];
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

t.test('faassctl serve', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'faass-serve-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const runtime = path.join(dir, 'runtime');
  fs.mkdirSync(runtime, { mode: 0o700 });
  const env = { ...process.env, XDG_CONFIG_HOME: path.join(dir, 'config'), XDG_DATA_HOME: path.join(dir, 'data'), XDG_STATE_HOME: path.join(dir, 'state'), XDG_RUNTIME_DIR: runtime };
  const ctl = (...args: string[]) => sh(process.execPath, [FAASSCTL, ...args]);
  const sh = (cmd: string, args: string[]) =>
    new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => execFile(cmd, args, { env }, (err, stdout, stderr) => resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr })));
  const statePath = path.join(runtime, 'faass', 'serve.json');
  const served = (): Served => JSON.parse(fs.readFileSync(statePath, 'utf8')) as Served;
  const pidOf = (name: string) => served().programs.find((p) => p.name === name)?.pid ?? null;

  const configured = await freePort();
  const port = await freePort();
  const consolePort = await freePort(); // console_listen: serve holds the console's socket too
  t.equal((await ctl('init', '--port', String(configured), '--console-port', String(consolePort))).code, 0);
  const dep = await ctl('deploy', 'cat', '--command', 'cat');
  t.equal(dep.code, 0, 'deploy works without a user manager');
  t.match(dep.stderr, /no systemd user manager is reachable.*faassctl serve/, 'and says what to run instead');
  fs.writeFileSync(path.join(dir, 'h.js'), 'module.exports = (e) => "node " + e.body;\n');
  t.equal((await ctl('deploy', 'nd', '--runtime', 'node', '--from-file', path.join(dir, 'h.js'))).code, 0);

  const child = spawn(process.execPath, [FAASSCTL, 'serve', '--port', String(port)], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  child.stderr.on('data', (d) => (log += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  t.teardown(() => child.kill('SIGKILL'));
  await waitFor('the gateway on --port', async () => (await request(port, '/healthz', { method: 'GET' }).catch(() => ({ status: 0 }))).status === 200, 30000);
  t.equal((await request(port, '/function/cat', { body: 'served' })).body, 'served', 'exec function answers');
  t.equal((await request(port, '/function/nd', { body: 'x' })).body, 'node x', 'node function answers');
  t.equal(fs.statSync(path.join(runtime, 'faass', 'fn', 'cat.sock')).mode & 0o777, 0o600, 'function socket is private');
  t.equal(await request(configured, '/healthz', { method: 'GET' }).then(() => 'answered', (e: NodeJS.ErrnoException) => e.code), 'ECONNREFUSED', "--port is this run's address: faass.conf's port stays unused");
  t.equal((await request(consolePort, '/ui/', { method: 'GET' })).status, 200, 'the console on its own address (console_listen)');
  t.equal((await request(port, '/ui/', { method: 'GET' })).status, 404, 'and not where functions are');
  await waitFor('serve to say where the console is', () => log.includes(`console on 127.0.0.1:${consolePort}`));
  t.pass('serve says where the console is');

  await t.test('a function deployed after serve started answers (was 502)', async (t) => {
    const d = await ctl('deploy', 'late', '--command', 'tr a-z A-Z');
    t.equal(d.code, 0);
    t.match(d.stderr, /faassctl serve \(pid \d+\) took the change up/, 'deploy says serve took it up');
    const r = await request(port, '/function/late', { body: 'shout' });
    t.equal(r.status, 200);
    t.equal(r.body, 'SHOUT', 'answered at once, the deploy returned once it could be');

    const s = await ctl('status');
    t.equal(s.code, 0, `status exits 0 while serve runs: ${s.stderr}`);
    t.match(s.stdout, /faassctl serve \(pid \d+/, 'status says serve runs');
    t.match(s.stdout, /^late\s+function\s+listening\s+running/m, 'and lists the new function');

    const id = String(r.headers['x-call-id']);
    const l = await ctl('logs', 'late');
    t.equal(l.code, 0, l.stderr);
    t.match(l.stdout, `call=${id} function=late status=200`, "logs NAME shows the call's line");
    const one = await ctl('logs', 'late', '--call', id);
    t.match(one.stdout, `call=${id}`, '--call finds it');
    t.notMatch(one.stdout, /Serving function/, 'and only it');

    // Deleted: 404, its runner ends and its socket goes.
    const runner = pidOf('late');
    t.ok(runner && alive(runner), 'its runner runs');
    t.equal((await ctl('delete', 'late')).code, 0);
    t.equal((await request(port, '/function/late', { body: 'x' })).status, 404, 'a deleted function is 404');
    await waitFor('the runner of the deleted function to end', () => !alive(runner as number));
    t.notOk(fs.existsSync(path.join(runtime, 'faass', 'fn', 'late.sock')), 'its socket is gone');
  });

  await t.test('top works against serve', async (t) => {
    const top = await ctl('top', '-n', '1', '--interval', '0.5');
    t.equal(top.code, 0, `faassctl top under serve (exit 6 before): ${top.stderr}`);
    t.match(top.stdout, /^FUNCTION\s+STATE\s+CPU%\s+TASKS\s+MEMORY\s+CALLS\/S$/m, 'a table');
    t.match(top.stdout, /^cat\s+running\s+[\d.]+\s+\d+\s+[\d.]+M\s+[\d.]+$/m, "its runner's CPU, threads and memory");
  });

  await t.test('an asynchronous call is delivered, and the dispatcher exits after', async (t) => {
    const r = await request(port, '/async-function/cat', { body: 'later' });
    t.equal(r.status, 202, 'queued');
    const id = String(r.headers['x-call-id']);
    await waitFor('the call to be delivered', async () => (await ctl('logs', 'cat', '--call', id)).stdout.includes(`call=${id} function=cat status=200`), 30000).catch(() => undefined);
    t.match((await ctl('logs', 'cat', '--call', id)).stdout, `call=${id} function=cat status=200`, "the runner's line for the call");
    await waitFor('the dispatcher to exit', () => !served().programs.some((p) => p.name === 'dispatch' && p.pid !== null), 30000).catch(() => undefined);
    t.notOk(served().programs.some((p) => p.name === 'dispatch' && p.pid !== null), 'nothing delivers once the queue is empty');
  });

  await t.test('credentials and the management API added after start', async (t) => {
    const ci = await ctl('credentials', 'add', 'ci');
    const token = ci.stdout.trim();
    t.equal((await ctl('deploy', 'sec', '--command', 'cat', '--auth', 'ci')).code, 0);
    t.equal((await request(port, '/function/sec', { body: 'x' })).status, 401, 'a call without the credential is refused');
    const ok = await request(port, '/function/sec', { body: 'y', headers: { authorization: `Bearer ${token}` } });
    t.equal(ok.status, 200, 'and answered with it');
    t.equal(ok.body, 'y');

    const url = `http://127.0.0.1:${port}`;
    const login = await sh('/bin/sh', ['-c', `"${process.execPath}" "${FAASSCTL}" credentials add me --admin | "${process.execPath}" "${FAASSCTL}" --gateway ${url} login --token-stdin`]);
    t.equal(login.code, 0, `credentials add me --admin | login --token-stdin: ${login.stderr}`);
    t.match(login.stdout, /an admin token/);
    const remote = await ctl('--gateway', url, 'deploy', 'rem', '--command', 'rev');
    t.equal(remote.code, 0, `a remote deploy through serve's API: ${remote.stderr}`);
    t.equal((await request(port, '/function/rem', { body: 'abc' })).body.trim(), 'cba', 'and the function answers');
  });

  await t.test('a service runs on demand and stops when idle', async (t) => {
    const appPort = await freePort();
    const app = path.join(dir, 'app.js');
    fs.writeFileSync(app, "require('http').createServer((q, s) => { let b = ''; q.on('data', (d) => (b += d)); q.on('end', () => s.end('svc ' + b)); }).listen(Number(process.env.PORT), '127.0.0.1');\n");
    const own = await ctl('deploy', 'own', '--kind', 'service', '--port', String(await freePort()), '--command', `${process.execPath} ${app}`);
    t.match(own.stderr, /warning: faassctl serve cannot give a service a network of its own/, 'a service serve cannot run: said at its deploy, not first at its call');
    t.equal((await ctl('delete', 'own')).code, 0);
    const d = await ctl('deploy', 'web', '--kind', 'service', '--port', String(appPort), '--network', 'host', '--idle', '1', '--command', `${process.execPath} ${app}`);
    t.equal(d.code, 0, d.stderr);
    t.notMatch(d.stderr, /warning/, 'one it can: no warning');
    const r = await request(port, '/function/web', { body: 'hi', timeoutMs: 20000 });
    t.equal(r.status, 200);
    t.equal(r.body, 'svc hi', 'the service answers (was 504 after 30 s)');
    const pid = pidOf('web');
    t.ok(pid && alive(pid), 'its app runs');
    await waitFor('the idle app to stop', () => pidOf('web') === null && !alive(pid as number), 15000);
    t.equal((await request(port, '/function/web', { body: 'again', timeoutMs: 20000 })).body, 'svc again', 'the next call starts it again');
  });

  await t.test('TLS turned on after start: the gateway serves HTTPS on the same address', async (t) => {
    const tls = await ctl('tls', 'self-signed');
    t.equal(tls.code, 0, tls.stderr);
    const ca = fs.readFileSync(path.join(dir, 'config', 'faass', 'tls', 'cert.pem'));
    const body = await new Promise<string>((resolve, reject) => {
      const req = https.request({ host: '127.0.0.1', port, path: '/function/cat', method: 'POST', ca, agent: false }, (res) => {
        let b = '';
        res.on('data', (d) => (b += d));
        res.on('end', () => resolve(b));
      });
      req.on('error', reject);
      req.end('secure');
    });
    t.equal(body, 'secure', 'answered over HTTPS once tls returned');
  });

  const before = served();
  const children = before.programs.map((p) => p.pid).filter((p): p is number => p !== null);
  child.kill('SIGTERM');
  t.equal(await exited, 0, 'serve stops cleanly on SIGTERM');
  t.notOk(fs.existsSync(statePath), 'and removes its state file');
  t.same(children.filter(alive), [], 'none of its programs outlives it');
  t.match(log, /faassctl serve: gateway on 127\.0\.0\.1:\d+/, 'serve said where it listens');
  t.equal((await ctl('status')).code, 6, 'with serve gone, status says no manager is reachable again');
});

// A serve killed with SIGKILL takes its programs with it (they get SIGTERM as it dies), so none
// keeps the port, and the next serve starts.
t.test('a serve killed with SIGKILL leaves no program behind', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'faass-serve-kill-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const runtime = path.join(dir, 'runtime');
  fs.mkdirSync(runtime, { mode: 0o700 });
  const env = { ...process.env, XDG_CONFIG_HOME: path.join(dir, 'config'), XDG_DATA_HOME: path.join(dir, 'data'), XDG_STATE_HOME: path.join(dir, 'state'), XDG_RUNTIME_DIR: runtime };
  const port = await freePort();
  const ctl = (...args: string[]) => new Promise<number>((resolve) => execFile(process.execPath, [FAASSCTL, ...args], { env }, (err) => resolve(err ? 1 : 0)));
  t.equal(await ctl('init', '--port', String(port)), 0);
  t.equal(await ctl('deploy', 'cat', '--command', 'cat'), 0);
  const start = () => {
    const c = spawn(process.execPath, [FAASSCTL, 'serve'], { env, stdio: 'ignore' });
    t.teardown(() => c.kill('SIGKILL'));
    return c;
  };
  const first = start();
  await waitFor('the gateway', async () => (await request(port, '/function/cat', { body: 'x' }).catch(() => ({ status: 0 }))).status === 200, 30000);
  const state = JSON.parse(fs.readFileSync(path.join(runtime, 'faass', 'serve.json'), 'utf8')) as Served;
  const programs = state.programs.map((p) => p.pid).filter((p): p is number => p !== null);
  t.ok(programs.length >= 2, 'the gateway and the runner run');
  first.kill('SIGKILL');
  await waitFor('its programs to end', () => programs.every((p) => !alive(p)), 20000).catch(() => undefined);
  t.same(programs.filter(alive), [], 'none outlives serve (they kept the port before)');
  const second = start();
  await waitFor('a new serve to answer', async () => (await request(port, '/function/cat', { body: 'y' }).catch(() => ({ status: 0 }))).status === 200, 30000).catch(() => undefined);
  t.equal((await request(port, '/function/cat', { body: 'again' })).body, 'again', 'and the next serve takes the port');
  const ended = new Promise((resolve) => second.once('exit', resolve));
  second.kill('SIGTERM');
  await ended; // before its directory goes
});
