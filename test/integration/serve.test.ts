// Without a user manager: faassctl serve runs the same programs, handing them sockets as systemd does.
import t from 'tap';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawn, execFile } from 'node:child_process';
import { FAASSCTL, freePort, request, waitFor } from '../support/sandbox';

t.test('faassctl serve', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'faass-serve-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const runtime = path.join(dir, 'runtime');
  fs.mkdirSync(runtime, { mode: 0o700 });
  const env = { ...process.env, XDG_CONFIG_HOME: path.join(dir, 'config'), XDG_DATA_HOME: path.join(dir, 'data'), XDG_STATE_HOME: path.join(dir, 'state'), XDG_RUNTIME_DIR: runtime };
  const ctl = (...args: string[]) => new Promise<{ code: number; stderr: string }>((resolve) => execFile(process.execPath, [FAASSCTL, ...args], { env }, (err, _o, stderr) => resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stderr })));
  const port = await freePort();
  t.equal((await ctl('init', '--port', String(port))).code, 0);
  const dep = await ctl('deploy', 'cat', '--command', 'cat');
  t.equal(dep.code, 0, 'deploy works without a user manager');
  t.match(dep.stderr, /no systemd user manager is reachable.*faassctl serve/, 'and says what to run instead');
  fs.writeFileSync(path.join(dir, 'h.js'), 'module.exports = (e) => "node " + e.body;\n');
  t.equal((await ctl('deploy', 'nd', '--runtime', 'node', '--from-file', path.join(dir, 'h.js'))).code, 0);

  const child = spawn(process.execPath, [FAASSCTL, 'serve'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  child.stderr.on('data', (d) => (log += d));
  t.teardown(() => child.kill('SIGKILL'));
  await waitFor('the gateway', async () => (await request(port, '/healthz', { method: 'GET' }).catch(() => ({ status: 0 }))).status === 200, 15000);
  t.equal((await request(port, '/function/cat', { body: 'served' })).body, 'served', 'exec function answers');
  t.equal((await request(port, '/function/nd', { body: 'x' })).body, 'node x', 'node function answers');
  t.equal(fs.statSync(path.join(runtime, 'faass', 'fn', 'cat.sock')).mode & 0o777, 0o600, 'function socket is private');
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  child.kill('SIGTERM');
  t.equal(await exited, 0, 'serve stops cleanly on SIGTERM');
  t.match(log, /faassctl serve: gateway on/, 'serve said where it listens');
});
