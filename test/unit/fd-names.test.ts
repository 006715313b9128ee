// A socket passed under a name the program does not know (FileDescriptorName=), or one more than
// it uses, is said in a warning line instead of being served as something else in silence.
// The pure check, then the built gateway started as systemd starts it (systemd-socket-activate
// passes the socket and its name as LISTEN_FDS/LISTEN_FDNAMES; run `npm run build` first).
import t from 'tap';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as http from 'node:http';
import { spawn } from 'node:child_process';
import { unexpectedFds } from '../../src/systemd/activation';
import { ROOT } from '../support/root';

t.test('unexpectedFds: a line for each unknown name and each socket not used', async (t) => {
  const fd = (n: number, name: string) => ({ fd: n, name });
  t.same(unexpectedFds([fd(3, 'http'), fd(4, 'https'), fd(5, 'console')], ['http', 'https', 'console'], { fallback: 'http' }), [], 'the known names: nothing to say');
  const [line] = unexpectedFds([fd(3, 'http'), fd(4, 'admin')], ['http', 'https', 'console'], { fallback: 'http (functions)' });
  t.match(line, /fd 4 \(FileDescriptorName="admin"\) is none of http, https, console: serving it as http \(functions\)/);
  t.same(unexpectedFds([fd(3, 'faass-fn-x.socket')], ['faass-fn-x.socket', 'x'], { uses: 1, fallback: 's' }), [], "a runner's socket by its unit's name");
  const extra = unexpectedFds([fd(3, 'x'), fd(4, 'x')], ['faass-fn-x.socket', 'x'], { uses: 1, fallback: 's' });
  t.equal(extra.length, 1);
  t.match(extra[0], /fd 4 .* is not used: this program serves 1 socket/);
  t.match(unexpectedFds([fd(3, 'z'.repeat(500))], ['a'], { fallback: 'a' })[0], /"z{80}"\)/, 'a name is cut to 80 characters');
});

t.test('the gateway says so when systemd passes it a socket of a name it does not know', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'faass-fdnames-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  fs.mkdirSync(path.join(dir, 'run'), { mode: 0o700 });
  fs.mkdirSync(path.join(dir, 'config', 'faass'), { recursive: true });
  const sock = path.join(dir, 'gw.sock');
  fs.writeFileSync(path.join(dir, 'config', 'faass', 'faass.conf'), `[gateway]\nlisten=${sock}\n`);
  const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: dir, XDG_CONFIG_HOME: `${dir}/config`, XDG_DATA_HOME: `${dir}/data`, XDG_STATE_HOME: `${dir}/state`, XDG_RUNTIME_DIR: `${dir}/run` };
  const child = spawn('systemd-socket-activate', ['-l', sock, '--fdname=admin', process.execPath, path.join(ROOT, 'dist', 'gateway', 'main.js'), '--idle', '1'], { env, stdio: ['ignore', 'ignore', 'pipe'] });
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  t.teardown(() => {
    if (child.exitCode === null && child.signalCode === null && child.pid) process.kill(child.pid, 'SIGTERM');
  });
  let stderr = '';
  const seen = (re: RegExp) => new Promise<void>((resolve, reject) => {
    const look = () => {
      if (re.test(stderr)) resolve();
    };
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      look();
    });
    child.on('exit', () => (re.test(stderr) ? resolve() : reject(new Error(`exited without ${re}; stderr: ${stderr}`))));
    look();
  });
  await seen(/Listening on .* as 3/); // the socket is there: the first connection starts the gateway
  const status = await new Promise<number>((resolve, reject) => http.get({ socketPath: sock, path: '/healthz' }, (res) => (res.resume(), resolve(res.statusCode ?? 0))).on('error', reject));
  t.equal(status, 200, 'it serves the socket (as http, the functions side)');
  await seen(/warning: Inherited socket fd 3 \(FileDescriptorName="admin"\) is none of http, https, console: serving it as http \(functions\)/);
  t.pass('and a warning line names the socket and what it is served as');
  t.equal(await exited, 0, 'then exits when idle');
});
