import * as http from 'node:http';
import * as net from 'node:net';
import * as fs from 'node:fs';
import { Address } from '../core/validate';
import { flushLog, log } from '../observe/log';
import { notify } from './notify';

export interface InheritedFd {
  fd: number;
  name: string;
}

const SD_LISTEN_FDS_START = 3;

// How long a gateway or runner serving a broken configuration (answering 503) lives before it
// exits, so that the next start reads the files again: one start per 5 s under constant load,
// far under the units' start limit.
export const BROKEN_LIFETIME = 5;

// sd_listen_fds(3): the sockets systemd passed, if they are meant for this process.
// The variables are removed so that children (functions, workers) do not see them.
export function takeInheritedFds(env: NodeJS.ProcessEnv = process.env): InheritedFd[] {
  const pid = env.LISTEN_PID;
  const count = env.LISTEN_FDS;
  const names = (env.LISTEN_FDNAMES ?? '').split(':');
  delete env.LISTEN_PID;
  delete env.LISTEN_FDS;
  delete env.LISTEN_FDNAMES;
  if (!pid || !count || Number(pid) !== process.pid) return [];
  const n = Number(count);
  if (!Number.isInteger(n) || n < 1) return [];
  return Array.from({ length: n }, (_, i) => ({ fd: SD_LISTEN_FDS_START + i, name: names[i] || 'unknown' }));
}

// Sockets passed that this program does not know by name (FileDescriptorName=; systemd's
// default is the socket unit's name), or more than it uses: a line each for the journal, so a
// socket unit from another faass version or edited by hand is seen, not silently served as
// something else or left unanswered. uses: how many of the fds, in order, the program serves.
export function unexpectedFds(fds: readonly InheritedFd[], known: readonly string[], opts: { uses?: number; fallback: string }): string[] {
  const uses = opts.uses ?? fds.length;
  return fds.flatMap((f, i) => {
    const named = `Inherited socket fd ${f.fd} (FileDescriptorName=${JSON.stringify(f.name.slice(0, 80))})`;
    if (i >= uses) return [`${named} is not used: this program serves ${uses} socket${uses === 1 ? '' : 's'}; check its socket units (faassctl generate-units)`];
    if (!known.includes(f.name)) return [`${named} is none of ${known.join(', ')}: serving it as ${opts.fallback}; check its socket units (faassctl generate-units)`];
    return [];
  });
}

export function warnUnexpectedFds(fds: readonly InheritedFd[], known: readonly string[], opts: { uses?: number; fallback: string }): void {
  for (const line of unexpectedFds(fds, known, opts)) log.warning(line);
}

export function listenOn(server: net.Server, target: { fd: number } | Address): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    const done = () => {
      server.off('error', reject);
      resolve();
    };
    // Node calls listen(2) again on an inherited socket: keep systemd's Backlog=, not Node's 511
    // (for an fd, Node reads the backlog only from this positional argument).
    if ('fd' in target) server.listen({ fd: target.fd }, 4096, done);
    else if (target.kind === 'unix') {
      try {
        fs.unlinkSync(target.path);
      } catch {
        // no stale socket to remove
      }
      server.listen({ path: target.path }, done);
    } else server.listen({ host: target.host, port: target.port }, done);
  });
}

// faassRpc: a faass-rpc connection (markRetrying), closed by half-closing it (closeDone).
type TrackedSocket = net.Socket & { faassServed?: number; faassInflight?: number; faassActive?: boolean; faassPassive?: boolean; faassRpc?: boolean };

// A connection a stop closes once it has no call running. A faass-rpc connection is half-closed,
// never cut: the answers just written may still wait unread in the peer's buffer, and a cut
// connection makes the gateway's next write fail (EPIPE), which makes Node drop those unread
// answers: acknowledged calls the gateway then reported as stopped (seen under load at a
// redeploy). Half-closed, the gateway reads every answer, then the end, and closes its side;
// what it sent meanwhile was not acknowledged, and it sends that again on a new connection.
function closeDone(s: TrackedSocket, soon: boolean): void {
  if (s.faassRpc) s.end();
  else if (soon) s.destroySoon();
  else s.destroy();
}

export interface LifecycleOptions {
  name: string;
  idleSeconds: number; // 0 = never exit when idle
  drainSeconds: number; // how long a stop waits for accepted connections before cutting them
  onExit?: () => Promise<void> | void;
  // When a stop begins: end what would otherwise hold it for drainSeconds (a log tail's stream).
  onStop?: () => void;
  status?: () => string;
  // Requests that do not count as activity (a metrics scrape, a health check): they are
  // answered, but do not postpone the idle exit.
  passive?: (req: http.IncomingMessage) => boolean;
  // Stop this long after ready, whatever the traffic (a process serving a broken configuration:
  // the next start reads the files again; see gateway/broken.ts).
  lifetimeSeconds?: number;
  host?: LifecycleHost; // the clock, signals and exit (tests pass a fake clock)
}

export interface Timer {
  unref(): unknown;
}

// What the lifecycle takes from the process: a clock and timers, the stop signals, exit(2).
export interface LifecycleHost {
  now(): number;
  setTimeout(fn: () => void, ms: number): Timer;
  clearTimeout(timer: Timer): void;
  signals: Pick<NodeJS.EventEmitter, 'once'>;
  exit(code: number): void;
}

const processHost: LifecycleHost = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (timer) => clearTimeout(timer as NodeJS.Timeout),
  signals: process,
  exit: (code) => process.exit(code),
};

// The connection 'connection' gave for a request's socket: over HTTPS the request's socket is
// the TLS socket wrapped around it (Node keeps the one it wraps as _parent).
export const connectionOf = (s: net.Socket): net.Socket => (s as net.Socket & { _parent?: net.Socket })._parent ?? s;

// A process started without activity (by a scrape, or by hand) stays at least this long.
const START_GRACE_MS = 1000;

// Tracks connections and calls, exits when idle, drains on SIGTERM.
// Idle means: for idleSeconds, no connection but passive ones (which have only sent passive
// requests, answered). Keep-alive connections close on their own after keepAliveTimeout, and a
// connection that has not sent its request yet is never idle (closing it would reset a client
// whose request is on its way).
export class Lifecycle {
  private readonly servers: net.Server[] = [];
  private readonly sockets = new Set<TrackedSocket>();
  private passiveSockets = 0;
  private inflight = 0;
  private served = 0;
  private lastActive: number;
  private idleTimer: Timer | null = null;
  private draining = false;
  private statusTimer: NodeJS.Timeout | null = null;

  private readonly host: LifecycleHost;

  constructor(private readonly opts: LifecycleOptions) {
    this.host = opts.host ?? processHost;
    this.lastActive = this.host.now() - opts.idleSeconds * 1000 + Math.min(START_GRACE_MS, opts.idleSeconds * 1000);
    this.host.signals.once('SIGTERM', () => this.stop('SIGTERM'));
    this.host.signals.once('SIGINT', () => this.stop('SIGINT'));
  }

  get isDraining(): boolean {
    return this.draining;
  }

  get counts(): { inflight: number; connections: number; served: number } {
    return { inflight: this.inflight, connections: this.sockets.size, served: this.served };
  }

  // Connections of a listening server.
  track(server: net.Server): void {
    this.servers.push(server);
    server.on('connection', (socket: TrackedSocket) => {
      this.sockets.add(socket);
      socket.faassServed = 0;
      socket.faassInflight = 0;
      this.cancelIdle();
      socket.once('close', () => {
        this.sockets.delete(socket);
        if (socket.faassPassive) this.passiveSockets--;
        else this.lastActive = this.host.now();
        this.maybeIdle();
      });
    });
  }

  // Calls of an HTTP server whose connections are tracked.
  trackHttp(server: http.Server): void {
    // Registered before the application's handler, so counts are right when it runs.
    server.prependListener('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
      const active = !this.opts.passive?.(req);
      const socket = connectionOf(req.socket);
      this.begin(socket, active);
      if (this.draining) res.shouldKeepAlive = false;
      res.once('close', () => this.end(socket, active));
    });
  }

  begin(socket: net.Socket, active = true): void {
    const s = socket as TrackedSocket;
    if (s.faassPassive) {
      s.faassPassive = false;
      this.passiveSockets--;
    }
    if (active) s.faassActive = true;
    s.faassInflight = (s.faassInflight ?? 0) + 1;
    this.inflight++;
    this.cancelIdle();
  }

  // A connection that has served calls and has none running may be closed by a stop: its
  // client (the gateway) retries anything it sends meanwhile on a new connection.
  end(socket: net.Socket, active = true): void {
    const s = socket as TrackedSocket;
    s.faassInflight = (s.faassInflight ?? 1) - 1;
    s.faassServed = (s.faassServed ?? 0) + 1;
    this.inflight--;
    this.served++;
    if (active) this.lastActive = this.host.now();
    if (!s.faassActive && s.faassInflight === 0 && !s.destroyed && this.sockets.has(s)) {
      s.faassPassive = true;
      this.passiveSockets++;
    }
    if (this.draining && s.faassInflight === 0 && !s.destroyed) closeDone(s, true);
    this.maybeIdle();
  }

  // A connection whose client announced it will retry (faass-rpc): closable when not busy.
  markRetrying(socket: net.Socket): void {
    const s = socket as TrackedSocket;
    s.faassServed = Math.max(1, s.faassServed ?? 0);
    s.faassRpc = true;
    if (this.draining && !s.faassInflight) closeDone(s, false);
  }

  ready(): void {
    notify.ready();
    this.updateStatus();
    this.statusTimer = setInterval(() => this.updateStatus(), 1000);
    this.statusTimer.unref();
    const life = this.opts.lifetimeSeconds;
    if (life !== undefined) this.host.setTimeout(() => this.stop(`the end of its ${life}s lifetime`), life * 1000);
    this.maybeIdle();
  }

  private updateStatus(): void {
    const extra = this.opts.status ? `, ${this.opts.status()}` : '';
    notify.status(`${this.inflight} in flight, ${this.sockets.size} connections, ${this.served} served${extra}`);
  }

  private cancelIdle(): void {
    if (this.idleTimer) {
      this.host.clearTimeout(this.idleTimer);
      this.idleTimer = null;
    }
  }

  private get busy(): boolean {
    return this.inflight > 0 || this.sockets.size > this.passiveSockets;
  }

  private maybeIdle(): void {
    if (this.draining) {
      if (this.sockets.size === 0) void this.exit();
      return;
    }
    if (this.opts.idleSeconds <= 0 || this.busy || this.idleTimer) return;
    const wait = Math.max(0, this.lastActive + this.opts.idleSeconds * 1000 - this.host.now());
    this.idleTimer = this.host.setTimeout(() => {
      this.idleTimer = null;
      if (!this.busy) {
        log.info(`Idle for ${this.opts.idleSeconds}s after ${this.served} requests, exiting`);
        this.stop('idle');
      }
    }, wait);
  }

  // Stops accepting (our copy of the listening socket is closed; systemd keeps its own, so new
  // connections wait in the kernel queue for the next instance), finishes what was accepted.
  stop(reason: string): void {
    if (this.draining) return;
    this.draining = true;
    this.cancelIdle();
    notify.stopping();
    this.opts.onStop?.();
    for (const server of this.servers) net.Server.prototype.close.call(server); // not http's: it would cut fresh connections
    if (reason !== 'idle') log.info(`Stopping on ${reason}: ${this.inflight} requests in flight, ${this.sockets.size} connections`);
    for (const socket of this.sockets) {
      if (!socket.faassInflight && (socket.faassServed ?? 0) > 0) closeDone(socket, false);
    }
    this.host.setTimeout(() => {
      if (this.sockets.size > 0) log.warning(`Stop grace of ${this.opts.drainSeconds}s over, closing ${this.sockets.size} connections`);
      for (const socket of this.sockets) socket.destroy();
      void this.exit();
    }, this.opts.drainSeconds * 1000).unref();
    this.maybeIdle();
  }

  private exiting = false;
  private async exit(): Promise<void> {
    if (this.exiting) return;
    this.exiting = true;
    try {
      await this.opts.onExit?.();
    } finally {
      await flushLog();
      this.host.exit(0);
    }
  }
}
