// How many connections the gateway holds, and whose. Each one is a file descriptor; at the
// process's limit (LimitNOFILE=) accept(2) fails and libuv closes every pending connection, so a
// client that opens thousands and sends nothing locks everyone out. Two bounds keep it from there:
// a cap per client address (over it, the new connection is closed at once, before a byte is read),
// and a bound for all connections, below the descriptor limit, at which the oldest connection with
// no request in flight is closed to make room (an idle keep-alive one first, then one that has
// not sent its request), so that a new client is always served.
import type * as http from 'node:http';
import * as fs from 'node:fs';
import type * as net from 'node:net';
import { log } from '../observe/log';
import { connectionOf } from '../systemd/activation';

// Descriptors the gateway needs besides its clients' (listening sockets, the journal, files,
// Node's own), and one more per client connection: the call it forwards (a service's upstream).
const RESERVED_FDS = 64;
const FDS_PER_CONNECTION = 2;

// The soft "Max open files" of /proc/self/limits (Node raises it to the hard limit at start);
// null when it cannot be read or is unlimited.
export function parseDescriptorLimit(limits: string): number | null {
  const m = /^Max open files\s+(\d+|unlimited)\s/m.exec(limits);
  return m && m[1] !== 'unlimited' ? Number(m[1]) : null;
}

export function readDescriptorLimit(): number | null {
  try {
    return parseDescriptorLimit(fs.readFileSync('/proc/self/limits', 'utf8'));
  } catch {
    return null; // no /proc: no bound but the per-client cap
  }
}

// How many client connections fit below the descriptor limit.
export function connectionBound(nofile: number | null): number {
  if (nofile === null) return Infinity;
  return Math.max(8, Math.floor((nofile - RESERVED_FDS) / FDS_PER_CONNECTION));
}

interface Conn {
  readonly client: string;
  inflight: number;
}

// A message at most once per this long per kind: a flood must not flood the journal.
const WARN_EVERY_MS = 10_000;

export class ConnectionGuard {
  private readonly conns = new Map<net.Socket, Conn>();
  private readonly perClient = new Map<string, number>();
  // Connections with no request in flight, oldest first: between requests, and never asked yet.
  private readonly idle = new Set<net.Socket>();
  private readonly waiting = new Set<net.Socket>();
  private readonly warned = new Map<string, number>();

  constructor(
    readonly perClientCap: number,
    readonly bound: number,
  ) {}

  get open(): number {
    return this.conns.size;
  }

  // Connections of a listening server, and the calls on them (over TLS too).
  track(server: http.Server): void {
    server.on('connection', (socket: net.Socket) => this.accept(socket));
    // Before the gateway's handler: the connection is busy from here on.
    server.prependListener('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
      const socket = connectionOf(req.socket);
      const conn = this.conns.get(socket);
      if (!conn) return;
      conn.inflight++;
      this.idle.delete(socket);
      this.waiting.delete(socket);
      res.once('close', () => {
        conn.inflight--;
        if (conn.inflight === 0 && this.conns.has(socket)) this.idle.add(socket);
      });
    });
  }

  private accept(socket: net.Socket): void {
    const client = socket.remoteAddress ?? ''; // '': a unix socket, only the user can reach
    const count = this.perClient.get(client) ?? 0;
    if (client && count >= this.perClientCap) {
      this.warn(`cap:${client}`, `Closed a connection from ${client} at once: it has ${count} open, max_client_connections=${this.perClientCap}`);
      socket.destroy();
      return;
    }
    if (this.conns.size >= this.bound && !this.shedOne()) {
      this.warn('bound', `Closed a new connection at once: ${this.conns.size} open, all with a request in flight (bound ${this.bound}, from the descriptor limit)`);
      socket.destroy();
      return;
    }
    this.conns.set(socket, { client, inflight: 0 });
    this.perClient.set(client, count + 1);
    this.waiting.add(socket);
    socket.once('close', () => this.forget(socket));
  }

  // Closes the oldest connection that has no request in flight; false: every one has.
  private shedOne(): boolean {
    const victim = first(this.idle) ?? first(this.waiting);
    if (!victim) return false;
    this.warn('shed', `Closing the oldest ${this.idle.has(victim) ? 'idle keep-alive connection' : 'connection that has sent no request'} to make room: ${this.conns.size} open, bound ${this.bound} (from the descriptor limit)`);
    this.forget(victim); // now: its 'close' comes later, and the new one needs the room at once
    victim.destroy();
    return true;
  }

  private forget(socket: net.Socket): void {
    const conn = this.conns.get(socket);
    if (!conn) return;
    this.conns.delete(socket);
    this.idle.delete(socket);
    this.waiting.delete(socket);
    const left = (this.perClient.get(conn.client) ?? 1) - 1;
    if (left > 0) this.perClient.set(conn.client, left);
    else this.perClient.delete(conn.client);
  }

  private warn(kind: string, message: string): void {
    const now = Date.now();
    if (now - (this.warned.get(kind) ?? -Infinity) < WARN_EVERY_MS) return;
    if (this.warned.size > 1000) this.warned.clear(); // many addresses: forget, do not grow
    this.warned.set(kind, now);
    log.warning(message);
  }
}

function first<T>(set: Set<T>): T | undefined {
  for (const x of set) return x;
  return undefined;
}
