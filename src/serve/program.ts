// One of serve's programs (the gateway, the API, a runner, a service's app), started the way its
// unit starts it: the same script and arguments, its sockets as LISTEN_FDS with their names
// (LISTEN_PID set by a shell between fork and exec, as it must be the program's own pid), its
// output into its log file, and a notification socket of serve's own as NOTIFY_SOCKET, so serve
// knows when it is ready (READY=1) as systemd does for a Type=notify unit. Started again a
// second after it ends unasked, as Restart= would.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawn, ChildProcess } from 'node:child_process';
import { HeldSocket } from './held-socket';
import { LogFile, lineSplitter } from './log-files';

export const RESTART_DELAY_MS = 1000;

// A program gets SIGTERM when serve dies, however it dies (SIGKILL included), so none outlives
// it holding a port: util-linux's setpriv sets the parent-death signal, which Node cannot, and it
// lasts through the exec of the shell and of node. Without setpriv, as before.
const SETPRIV = ['/usr/bin/setpriv', '/bin/setpriv'].find((f) => fs.existsSync(f));
const PDEATHSIG = SETPRIV ? [SETPRIV, '--pdeathsig', 'TERM'] : ['/usr/bin/env'];

// A node script as a unit's ExecStart= runs it: through setpriv (PDEATHSIG), its output into its
// log file line by line, fds (LISTEN_FDS's) from 3 on; LISTEN_PID is set by the shell between
// fork and exec, as it must be the program's own pid.
export function launch(script: string, args: string[], env: NodeJS.ProcessEnv, log: LogFile, fds: number[] = []): ChildProcess {
  const child = spawn(PDEATHSIG[0], [...PDEATHSIG.slice(1), '/bin/sh', '-c', 'LISTEN_PID=$$ exec "$0" "$@"', process.execPath, script, ...args], { stdio: ['ignore', 'pipe', 'pipe', ...fds], env });
  const pid = child.pid;
  for (const stream of [child.stdout, child.stderr]) {
    const lines = lineSplitter((l) => log.write(pid, l));
    stream?.on('data', (d: Buffer) => lines.write(d));
    stream?.on('end', () => lines.end());
  }
  return child;
}

export interface ProgramSpec {
  script: string;
  args: string[];
  sockets: { socket: HeldSocket; name: string }[];
  env?: Record<string, string>; // its unit's Environment= beyond the XDG directories
}

interface DgramSocket {
  on(event: 'message', cb: (msg: Buffer) => void): void;
  on(event: 'error', cb: (e: Error) => void): void;
  bind(path: string): void;
  close(): void;
}

export class Program {
  private child: ChildProcess | null = null;
  private exited: Promise<void> = Promise.resolve();
  private wanted = false;
  private restartTimer: NodeJS.Timeout | null = null;
  private readonly notify: DgramSocket;
  private isReady: Promise<boolean> = Promise.resolve(false);
  private markReady: ((ok: boolean) => void) | null = null;

  constructor(
    private spec: ProgramSpec,
    private readonly notifyPath: string,
    private readonly log: LogFile,
    private readonly onChange: () => void,
    private readonly restarts = true, // false: one that ends stays ended (an app: the next connection starts it)
  ) {
    fs.mkdirSync(path.dirname(notifyPath), { recursive: true, mode: 0o700 });
    fs.rmSync(notifyPath, { force: true });
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    this.notify = (require('unix-dgram') as { createSocket(type: 'unix_dgram'): DgramSocket }).createSocket('unix_dgram');
    this.notify.on('message', (m) => {
      if (/^READY=1$/m.test(m.toString('utf8'))) this.markReady?.(true);
    });
    this.notify.on('error', (e) => log.write(undefined, `warning: notification socket ${notifyPath}: ${e.message}`));
    this.notify.bind(notifyPath);
  }

  get pid(): number | null {
    return this.child?.pid ?? null;
  }

  get running(): boolean {
    return this.child !== null;
  }

  // true once the program said READY=1; false when it ended first.
  ready(): Promise<boolean> {
    return this.isReady;
  }

  start(spec: ProgramSpec = this.spec): void {
    this.spec = spec;
    this.wanted = true;
    if (this.child) return;
    const fds = spec.sockets.map((s) => s.socket.fd);
    // Its output goes to its log file: not to the journal of serve's own manager, if any.
    const env: NodeJS.ProcessEnv = { ...process.env, ...spec.env, NOTIFY_SOCKET: this.notifyPath };
    delete env.JOURNAL_STREAM;
    if (fds.length) Object.assign(env, { LISTEN_FDS: String(fds.length), LISTEN_FDNAMES: spec.sockets.map((s) => s.name).join(':') });
    this.isReady = new Promise((resolve) => {
      this.markReady = (ok) => {
        this.markReady = null;
        resolve(ok);
      };
    });
    const child = launch(spec.script, spec.args, env, this.log, fds);
    this.child = child;
    const pid = child.pid;
    this.exited = new Promise((resolve) => {
      child.once('error', (e) => this.log.write(pid, `err: cannot start ${spec.script}: ${e.message}`));
      child.once('close', (code, signal) => {
        this.child = null;
        this.markReady?.(false);
        resolve();
        this.onChange();
        if (!this.wanted || !this.restarts) return;
        this.log.write(pid, `warning: exited (${signal ?? `status ${code}`}) unasked; faassctl serve starts it again in ${RESTART_DELAY_MS / 1000}s`);
        this.restartTimer = setTimeout(() => {
          this.restartTimer = null;
          if (this.wanted) this.start();
        }, RESTART_DELAY_MS);
      });
    });
    this.onChange();
  }

  // SIGTERM, as systemctl stop sends it (KillMode=mixed: the program ends its own children);
  // resolves when it has exited.
  async stop(): Promise<void> {
    this.wanted = false;
    if (this.restartTimer) clearTimeout(this.restartTimer);
    this.restartTimer = null;
    if (!this.child) return;
    this.child.kill('SIGTERM');
    await this.exited;
  }

  // systemctl restart: the old one ends (its calls finish) before the new one starts; the
  // sockets stay held meanwhile, so new connections wait.
  async restart(spec: ProgramSpec = this.spec): Promise<void> {
    await this.stop();
    this.start(spec);
  }

  // Stopped for good: its notification socket goes too.
  async close(): Promise<void> {
    await this.stop();
    this.notify.close();
    fs.rmSync(this.notifyPath, { force: true });
  }
}
