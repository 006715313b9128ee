// A real Docker engine for tests: dockerd on a socket and data root of its own (no bridge,
// no iptables: containers get --network none or host), and a busybox image imported from
// Debian's busybox-static, since no registry is reachable. Ended by PID at teardown.
import { spawn, ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import Docker from 'dockerode';

export const BUSYBOX = 'faass-test/busybox:latest';
const APPLETS = ['sh', 'cat', 'echo', 'sleep', 'wc', 'head', 'tail', 'tr', 'yes', 'env', 'ls', 'true', 'false', 'printf', 'touch', 'dd'];

export interface Engine {
  socket: string;
  docker: Docker;
  countContainers(fn?: string): Promise<number>;
}

async function busyboxTar(dir: string): Promise<string> {
  const root = path.join(dir, 'rootfs');
  fs.mkdirSync(path.join(root, 'bin'), { recursive: true });
  fs.mkdirSync(path.join(root, 'tmp'), { recursive: true });
  fs.copyFileSync('/bin/busybox', path.join(root, 'bin', 'busybox'));
  fs.chmodSync(path.join(root, 'bin', 'busybox'), 0o755);
  for (const a of APPLETS) fs.symlinkSync('busybox', path.join(root, 'bin', a));
  const tar = path.join(dir, 'busybox.tar');
  await new Promise<void>((resolve, reject) => {
    const p = spawn('tar', ['-C', root, '-cf', tar, '.'], { stdio: 'inherit' });
    p.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`tar exited ${code}`))));
  });
  return tar;
}

export async function startEngine(t: { teardown(f: () => unknown): void }): Promise<Engine> {
  const base = process.env.FAASS_TEST_ROOT || '/var/lib/faass-test';
  fs.mkdirSync(base, { recursive: true });
  const dir = fs.mkdtempSync(path.join(base, 'docker-'));
  // exec-root holds unix sockets: keep its path short. Not under /run: here /run is no mount
  // point, so units with MountAPIVFS= (ProtectProc=) get an empty tmpfs there instead.
  const execRoot = fs.mkdtempSync(path.join(base, 'x-'));
  const socket = path.join(execRoot, 'docker.sock');
  const child: ChildProcess = spawn(
    'dockerd',
    ['--bridge=none', '--iptables=false', '--ip6tables=false', '-H', `unix://${socket}`, '--data-root', path.join(dir, 'data'), '--exec-root', execRoot, '--pidfile', path.join(dir, 'dockerd.pid')],
    { stdio: ['ignore', fs.openSync(path.join(dir, 'dockerd.log'), 'a'), fs.openSync(path.join(dir, 'dockerd.log'), 'a')] },
  );
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  t.teardown(async () => {
    child.kill('SIGTERM');
    await Promise.race([exited, new Promise((r) => setTimeout(r, 30000))]);
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    fs.rmSync(dir, { recursive: true, force: true });
    fs.rmSync(execRoot, { recursive: true, force: true });
  });
  const docker = new Docker({ socketPath: socket });
  const end = Date.now() + 60000;
  for (;;) {
    try {
      await docker.ping();
      break;
    } catch (e) {
      if (Date.now() > end || child.exitCode !== null) throw new Error(`dockerd did not start: ${fs.readFileSync(path.join(dir, 'dockerd.log'), 'utf8').slice(-2000)}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  const tar = await busyboxTar(fs.mkdtempSync(path.join(os.tmpdir(), 'faass-busybox-')));
  const [repo, tag] = BUSYBOX.split(':');
  const stream = await docker.importImage(tar, { repo, tag });
  await new Promise((resolve, reject) => docker.modem.followProgress(stream, (err: Error | null) => (err ? reject(err) : resolve(null))));
  return {
    socket,
    docker,
    countContainers: async (fn?: string) => (await docker.listContainers({ all: true, filters: { label: [fn ? `faass.function=${fn}` : 'faass.function'] } })).length,
  };
}
