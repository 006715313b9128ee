import * as net from 'node:net';
import { FrameDecoder, FunctionAnswer, RPC_PREFACE, RpcResponseMeta, encodeFrame, isAck } from '../core/rpc';

export type RpcAnswer = FunctionAnswer;

// The connection died (or could not be made) before the runner acknowledged the call: it was
// never started, and may be retried.
export class RpcConnectionError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

// The connection died after the runner acknowledged the call, before its answer: the call may
// have run, in part; sending it again could run it twice.
export class RpcCallInterrupted extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

interface Waiter {
  resolve: (a: RpcAnswer) => void;
  reject: (e: Error) => void;
  accepted?: boolean; // the runner acknowledged it: it started
}

class Connection {
  readonly socket: net.Socket;
  readonly waiting = new Map<number, Waiter>();
  private readonly decoder = new FrameDecoder<RpcResponseMeta>(false);
  private idleTimer: NodeJS.Timeout | null = null;
  closed = false;

  constructor(
    path: string,
    private readonly idleMs: number,
    private readonly onClosed: (c: Connection) => void,
  ) {
    this.socket = net.createConnection({ path });
    this.socket.setNoDelay(true);
    this.socket.write(RPC_PREFACE);
    this.socket.on('data', (d: Buffer) => {
      let frames;
      try {
        frames = this.decoder.push(d);
      } catch (e) {
        this.socket.destroy(new RpcConnectionError('EPROTO', `bad answer from the runner: ${(e as Error).message}`));
        return;
      }
      for (const f of frames) {
        const w = this.waiting.get(f.id);
        if (!w) continue;
        if (isAck(f.meta)) {
          w.accepted = true;
          continue;
        }
        this.waiting.delete(f.id);
        w.resolve({ status: f.meta.s, headers: f.meta.h, body: f.body });
      }
      this.armIdle();
    });
    this.socket.on('error', () => undefined);
    this.socket.on('close', () => {
      this.closed = true;
      if (this.idleTimer) clearTimeout(this.idleTimer);
      const err = (this.socket as net.Socket & { errored?: NodeJS.ErrnoException }).errored;
      const code = err?.code ?? 'ECONNRESET';
      const why = `connection to the runner ${err ? 'failed: ' + code : 'closed before the answer'}`;
      for (const w of this.waiting.values()) w.reject(w.accepted ? new RpcCallInterrupted(code, why) : new RpcConnectionError(code, why));
      this.waiting.clear();
      this.onClosed(this);
    });
  }

  send(id: number, frame: Buffer, w: Waiter): void {
    if (this.idleTimer) {
      clearTimeout(this.idleTimer);
      this.idleTimer = null;
    }
    this.waiting.set(id, w);
    this.socket.write(frame);
  }

  forget(id: number): void {
    this.waiting.delete(id);
    this.armIdle();
  }

  // The pooling side drops the connection first, well before the runner's idle exit.
  private armIdle(): void {
    if (this.waiting.size > 0 || this.idleTimer || this.closed) return;
    this.idleTimer = setTimeout(() => {
      this.idleTimer = null;
      if (this.waiting.size === 0) this.socket.end();
    }, this.idleMs);
  }
}

// Calls to one runner over one multiplexed faass-rpc connection, made on demand.
export class RpcClient {
  private conn: Connection | null = null;
  private nextId = 1;

  constructor(
    private readonly path: string,
    private readonly idleMs: number,
  ) {}

  private connection(fresh: boolean): Connection {
    if (fresh && this.conn) this.conn = null;
    // A connection whose idle end() was sent is closing, even before its close event: not reused.
    if (!this.conn || this.conn.closed || this.conn.socket.writableEnded) {
      this.conn = new Connection(this.path, this.idleMs, (c) => {
        if (this.conn === c) this.conn = null;
      });
    }
    return this.conn;
  }

  call(method: string, urlPath: string, headers: Record<string, string>, body: Buffer, opts: { fresh: boolean; timeoutMs: number }): { answer: Promise<RpcAnswer>; cancel: () => void } {
    const conn = this.connection(opts.fresh);
    const id = this.nextId++ >>> 0;
    let timer: NodeJS.Timeout | null = null;
    const answer = new Promise<RpcAnswer>((resolve, reject) => {
      timer = setTimeout(() => {
        conn.forget(id);
        reject(new Error('timeout'));
      }, opts.timeoutMs);
      conn.send(id, encodeFrame(id, { m: method, p: urlPath, h: headers, a: 1 }, body), {
        resolve: (a) => {
          if (timer) clearTimeout(timer);
          resolve(a);
        },
        reject: (e) => {
          if (timer) clearTimeout(timer);
          reject(e);
        },
      });
    });
    return {
      answer,
      cancel: () => {
        if (timer) clearTimeout(timer);
        conn.forget(id);
      },
    };
  }

  close(): void {
    this.conn?.socket.destroy();
  }
}
