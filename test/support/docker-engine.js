// A real Docker engine for tests and benchmarks: dockerd on a socket and data root of its own
// (no bridge, no iptables: containers get --network none or host), and a busybox image
// imported from Debian's busybox-static, since no registry is reachable. Ended by PID.
'use strict';
const { spawn, execFileSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const Docker = require('dockerode');

const BUSYBOX = 'faass-test/busybox:latest';
const APPLETS = ['sh', 'cat', 'echo', 'sleep', 'wc', 'head', 'tail', 'tr', 'yes', 'env', 'ls', 'true', 'false', 'printf', 'touch', 'dd'];

async function busyboxTar(dir) {
  const root = path.join(dir, 'rootfs');
  fs.mkdirSync(path.join(root, 'bin'), { recursive: true });
  fs.mkdirSync(path.join(root, 'tmp'), { recursive: true });
  fs.copyFileSync('/bin/busybox', path.join(root, 'bin', 'busybox'));
  fs.chmodSync(path.join(root, 'bin', 'busybox'), 0o755);
  for (const a of APPLETS) fs.symlinkSync('busybox', path.join(root, 'bin', a));
  const tar = path.join(dir, 'busybox.tar');
  await new Promise((resolve, reject) => {
    const p = spawn('tar', ['-C', root, '-cf', tar, '.'], { stdio: 'inherit' });
    p.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`tar exited ${code}`))));
  });
  return tar;
}

// onTeardown(fn): where to register the stop (tap's t.teardown, or a list of the caller's).
async function startEngine(onTeardown) {
  const base = process.env.FAASS_TEST_ROOT || '/var/lib/faass-test';
  fs.mkdirSync(base, { recursive: true });
  const dir = fs.mkdtempSync(path.join(base, 'docker-'));
  // exec-root holds unix sockets: keep its path short. Not under /run: here /run is no mount
  // point, so units with MountAPIVFS= (ProtectProc=) get an empty tmpfs there instead.
  const execRoot = fs.mkdtempSync(path.join(base, 'x-'));
  const socket = path.join(execRoot, 'docker.sock');
  const logFile = path.join(dir, 'dockerd.log');
  const child = spawn(
    'dockerd',
    ['--bridge=none', '--iptables=false', '--ip6tables=false', '-H', `unix://${socket}`, '--data-root', path.join(dir, 'data'), '--exec-root', execRoot, '--pidfile', path.join(dir, 'dockerd.pid')],
    { stdio: ['ignore', fs.openSync(logFile, 'a'), fs.openSync(logFile, 'a')] },
  );
  const exited = new Promise((resolve) => child.once('exit', resolve));
  onTeardown(async () => {
    child.kill('SIGTERM');
    // The deadline's timer is cleared once dockerd has gone: left pending, it kept the test's
    // process alive for 30 s after every file that started an engine.
    let timer;
    await Promise.race([exited, new Promise((r) => (timer = setTimeout(r, 30000)))]);
    clearTimeout(timer);
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    // dockerd leaves its own mounts behind (netns/default, with host networking): ours to undo.
    const mounts = fs.readFileSync('/proc/self/mounts', 'utf8').split('\n').map((l) => l.split(' ')[1]).filter((m) => m && (m.startsWith(execRoot + '/') || m.startsWith(dir + '/')));
    for (const m of mounts.sort().reverse()) {
      try {
        execFileSync('umount', [m], { stdio: 'ignore' });
      } catch {
        // already gone
      }
    }
    fs.rmSync(dir, { recursive: true, force: true });
    fs.rmSync(execRoot, { recursive: true, force: true });
  });
  const docker = new Docker({ socketPath: socket });
  const end = Date.now() + 60000;
  for (;;) {
    try {
      await docker.ping();
      break;
    } catch {
      if (Date.now() > end || child.exitCode !== null) throw new Error(`dockerd did not start: ${fs.readFileSync(logFile, 'utf8').slice(-2000)}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'faass-busybox-'));
  const tar = await busyboxTar(tmp);
  const [repo, tag] = BUSYBOX.split(':');
  const stream = await docker.importImage(tar, { repo, tag });
  await new Promise((resolve, reject) => docker.modem.followProgress(stream, (err) => (err ? reject(err) : resolve())));
  fs.rmSync(tmp, { recursive: true, force: true });
  return {
    socket,
    docker,
    countContainers: async (fn) => (await docker.listContainers({ all: true, filters: { label: [fn ? `faass.function=${fn}` : 'faass.function'] } })).length,
  };
}

module.exports = { startEngine, BUSYBOX };
