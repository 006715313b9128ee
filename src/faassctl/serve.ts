import * as net from 'node:net';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawn, ChildProcess } from 'node:child_process';
import { Paths, functionSocketPath } from '../core/paths';
import { loadSettings } from '../core/settings';
import { listFunctionNames } from '../functions/function-config';
import { Address } from '../core/validate';
import { log } from '../observe/log';
import { Register } from './cli';

interface Program {
  label: string;
  script: string;
  args: string[];
  address: Address;
  fdName: string;
  child?: ChildProcess;
}

// Binds a listening socket and returns its fd; the server is closed in the same tick after the
// child has its copy, so this process never accepts a connection meant for the child.
function bindSocket(addr: Address): Promise<net.Server> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    if (addr.kind === 'unix') {
      fs.mkdirSync(path.dirname(addr.path), { recursive: true, mode: 0o700 });
      // libuv unlinks the path it bound when the server closes: bind a temporary name and
      // rename it into place, so closing our copy leaves the child's socket reachable.
      const tmp = `${addr.path}.${process.pid}.tmp`;
      fs.rmSync(tmp, { force: true });
      server.listen({ path: tmp, backlog: 4096 }, () => {
        fs.chmodSync(tmp, 0o600);
        fs.renameSync(tmp, addr.path);
        resolve(server);
      });
    } else server.listen({ host: addr.host, port: addr.port, backlog: 4096 }, () => resolve(server));
  });
}

// faassctl serve: the gateway and one runner per function in the foreground, each handed its
// socket as LISTEN_FDS the way systemd does, never exiting when idle; restarted if they crash.
export async function serve(paths: Paths): Promise<number> {
  const gw = loadSettings(paths);
  const dist = path.resolve(__dirname, '..');
  const programs: Program[] = [
    // One socket each, as systemd names them: HTTPS on the main one when TLS has no socket of its own.
    { label: 'gateway', script: path.join(dist, 'gateway/main.js'), args: ['--idle', '0'], address: gw.listen, fdName: gw.tls && !gw.tls.listen ? 'https' : 'http' },
    ...(gw.tls?.listen ? [{ label: 'gateway (https)', script: path.join(dist, 'gateway/main.js'), args: ['--idle', '0'], address: gw.tls.listen, fdName: 'https' }] : []),
    ...listFunctionNames(paths).map((name) => ({
      label: name,
      script: path.join(dist, 'runner/main.js'),
      args: ['--function', name, '--idle', '0'],
      address: { kind: 'unix' as const, path: functionSocketPath(paths, name), text: functionSocketPath(paths, name) },
      fdName: name,
    })),
  ];
  let stopping = false;
  const start = async (p: Program) => {
    const server = await bindSocket(p.address);
    const fd = (server as unknown as { _handle: { fd: number } })._handle.fd;
    // LISTEN_PID must be the child's own pid; a shell sets it between fork and exec.
    p.child = spawn('/bin/sh', ['-c', 'LISTEN_PID=$$ exec "$0" "$@"', process.execPath, p.script, ...p.args], {
      stdio: ['ignore', 'inherit', 'inherit', fd],
      env: { ...process.env, LISTEN_FDS: '1', LISTEN_FDNAMES: p.fdName },
    });
    server.close();
    p.child.on('exit', (code, signal) => {
      if (stopping) return;
      log.warning(`${p.label} exited (${signal ?? code}), restarting in 1s`);
      setTimeout(() => void start(p).catch((e) => log.err(`Failed to restart ${p.label}: ${(e as Error).message}`)), 1000);
    });
  };
  for (const p of programs) await start(p);
  log.notice(`faassctl serve: gateway on ${gw.listen.text}, ${programs.length - 1} function(s); Ctrl-C stops`);
  return new Promise((resolve) => {
    const stop = () => {
      stopping = true;
      for (const p of programs) p.child?.kill('SIGTERM');
      let left = programs.length;
      for (const p of programs) {
        if (!p.child || p.child.exitCode !== null) left--;
        else p.child.once('exit', () => --left === 0 && resolve(0));
      }
      if (left === 0) resolve(0);
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
}

export const register: Register = (y, cli) =>
  y.command('serve', 'run the gateway and all runners in the foreground, without systemd', (y) => y, (a) => cli.local(a, 'serve', () => serve(cli.paths)));
