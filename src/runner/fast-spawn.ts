// An exec function's process per call, started by posix_spawn through faass-spawn.node (spawn.c,
// issue 18): libuv's fork() copies the runner's page tables on every call. What exec-executor
// uses of a ChildProcess, and nothing more: pid, the three pipes, 'error', and 'close' once the
// process was reaped and its stdout and stderr ended. Without the addon (not built, an image's
// runner, another Node) or with FAASS_SPAWN=node, Node's spawn with the same options.
import { spawn as nodeSpawn } from 'node:child_process';
import { EventEmitter } from 'node:events';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { PassThrough, Readable, Writable } from 'node:stream';
import { log } from '../observe/log';

export interface FunctionProcess extends EventEmitter {
  readonly pid?: number | undefined;
  readonly stdin: Writable;
  readonly stdout: Readable;
  readonly stderr: Readable;
  on(event: 'error', listener: (e: NodeJS.ErrnoException) => void): this;
  on(event: 'close', listener: (code: number | null, signal: NodeJS.Signals | null) => void): this;
}

export interface SpawnOptions {
  cwd: string;
  env: Record<string, string>;
}

interface Addon {
  spawn(file: string, argv: string[], env: string[], cwd: string): { pid: number; stdin: number; stdout: number; stderr: number };
  reap(pid: number): { code: number | null; signal: number | null } | null;
}

// The addon's file: next to the runner's bundle (dist/runner/program.js) or its tsc output.
export const ADDON_FILE = path.join(__dirname, 'faass-spawn.node');

let addon: Addon | null | undefined;

// Loaded once; null (said once, why) when Node's spawn is to be used.
export function loadAddon(file = ADDON_FILE): Addon | null {
  if (addon !== undefined) return addon;
  if (process.env.FAASS_SPAWN === 'node') {
    addon = null;
    log.notice('Starting exec functions with Node\'s spawn (FAASS_SPAWN=node)');
    return addon;
  }
  try {
    // A path known only at run time: esbuild leaves it to Node, faassctl image does not follow it.
    addon = require(file) as Addon;
  } catch (e) {
    addon = null;
    log.notice(`Starting exec functions with Node's spawn: ${file} does not load (${(e as Error).message.split('\n')[0]})`);
  }
  return addon;
}

// The child's process group of its own (detached): a timeout kills everything it started.
export function spawnFunction(file: string, args: string[], opts: SpawnOptions): FunctionProcess {
  const a = loadAddon();
  if (!a) return nodeSpawn(file, args, { cwd: opts.cwd, env: opts.env, detached: true, stdio: ['pipe', 'pipe', 'pipe'] });
  return new SpawnedProcess(a, file, args, opts);
}

const SIGNAL_NAMES = new Map<number, NodeJS.Signals>(Object.entries(os.constants.signals).map(([name, n]) => [n, name as NodeJS.Signals]));

// Children started here and not reaped yet. SIGCHLD says some child ended (signals coalesce, so
// each is asked); waitpid of each pid leaves libuv's own children (Node's spawns) to libuv,
// which waits for its pids one by one too. The listener stays once added (Node's signal
// handles do not keep the process alive): no sigaction per call.
const running = new Map<number, SpawnedProcess>();
let listening = false;
// Keeps the process alive while a child runs (as libuv's process handle does), and asks now and
// then should a SIGCHLD ever be missed.
let poll: NodeJS.Timeout | undefined;
const POLL_MS = 1000;

function reapAll(): void {
  for (const child of running.values()) child.reap();
}

function listenForExits(): void {
  if (listening) return;
  listening = true;
  process.on('SIGCHLD', reapAll);
}

function watch(pid: number, child: SpawnedProcess): void {
  running.set(pid, child);
  poll ??= setInterval(reapAll, POLL_MS);
}

function unwatch(pid: number): void {
  running.delete(pid);
  if (running.size > 0 || !poll) return;
  clearInterval(poll);
  poll = undefined;
}

class SpawnedProcess extends EventEmitter implements FunctionProcess {
  readonly pid: number | undefined;
  readonly stdin: Writable;
  readonly stdout: Readable;
  readonly stderr: Readable;
  private exit: { code: number | null; signal: NodeJS.Signals | null } | null = null;
  private openStreams = 2;
  private closed = false;

  constructor(
    private readonly addon: Addon,
    file: string,
    args: string[],
    opts: SpawnOptions,
  ) {
    super();
    let fds;
    try {
      listenForExits(); // before the child exists: its SIGCHLD may come before spawn returns
      fds = addon.spawn(file, [file, ...args], Object.entries(opts.env).map(([k, v]) => `${k}=${v}`), opts.cwd);
    } catch (e) {
      // As Node's spawn: no pid, streams that take and give nothing, 'error' after this returns.
      this.pid = undefined;
      this.stdin = new PassThrough().resume();
      this.stdout = Readable.from([]);
      this.stderr = Readable.from([]);
      process.nextTick(() => {
        this.emit('error', e);
        this.emit('close', typeof (e as NodeJS.ErrnoException).errno === 'number' ? (e as NodeJS.ErrnoException).errno : null, null);
      });
      return;
    }
    this.pid = fds.pid;
    watch(fds.pid, this);
    this.stdin = new net.Socket({ fd: fds.stdin, readable: false, writable: true });
    this.stdout = new net.Socket({ fd: fds.stdout, readable: true, writable: false });
    this.stderr = new net.Socket({ fd: fds.stderr, readable: true, writable: false });
    for (const s of [this.stdout, this.stderr]) s.once('close', () => this.streamClosed());
  }

  // waitpid(WNOHANG) once; the exit is kept until the pipes have ended too.
  reap(): void {
    if (this.exit || this.pid === undefined) return;
    let status;
    try {
      status = this.addon.reap(this.pid);
    } catch {
      status = { code: null, signal: null }; // ECHILD: reaped elsewhere; its status is lost
    }
    if (!status) return;
    this.exit = { code: status.code, signal: status.signal === null ? null : (SIGNAL_NAMES.get(status.signal) ?? null) };
    unwatch(this.pid);
    this.maybeClose();
  }

  private streamClosed(): void {
    this.openStreams--;
    this.reap(); // pipes usually close as the process exits; saves waiting for the signal
    this.maybeClose();
  }

  private maybeClose(): void {
    if (!this.exit || this.openStreams > 0 || this.closed) return;
    this.closed = true;
    this.stdin.destroy(); // a function that ended without reading all of its input
    this.emit('close', this.exit.code, this.exit.signal);
  }
}
