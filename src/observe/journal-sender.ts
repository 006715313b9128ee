// Sends log entries to journald's native socket without ever blocking the event loop (issue 11,
// item 4). sd_journal_sendv(3) (the systemd-journald addon) does a blocking sendmsg(2): with
// journald stalled, every call of the process hung behind one log line. Here the socket is
// non-blocking and connected (unix-dgram): when journald's queue is full the kernel says EAGAIN,
// the entry waits in a bounded queue, and poll(2) says when there is room again (only a
// connected datagram socket is woken by its peer's queue). What does not fit is dropped, and
// counted in one line once journald has taken the rest.
import { BoundedQueue } from './bounded-queue';

// What one send did: sent, nothing sent because journald's queue is full ('writable' follows
// when there is room), or an error (journald gone, the entry too big).
export type SendResult = 'sent' | 'congested' | Error;

export interface DatagramSocket {
  send(entry: Buffer): SendResult;
  close(): void;
}

export type OpenSocket = (onWritable: () => void) => DatagramSocket;

// A line longer than this is cut: journald's socket takes datagrams up to the send buffer.
export const MAX_MESSAGE = 48 * 1024;

// journald's native protocol (systemd.journal-fields(7), "native protocol"): KEY=value lines;
// a value with a newline goes as KEY, newline, its length (64-bit little endian), the bytes.
export function journalEntry(fields: Record<string, string>): Buffer {
  const parts: Buffer[] = [];
  for (const [key, value] of Object.entries(fields)) {
    if (!value.includes('\n')) {
      parts.push(Buffer.from(`${key}=${value}\n`));
      continue;
    }
    const bytes = Buffer.from(value);
    const size = Buffer.alloc(8);
    size.writeBigUInt64LE(BigInt(bytes.length));
    parts.push(Buffer.from(`${key}\n`), size, bytes, Buffer.from('\n'));
  }
  return Buffer.concat(parts);
}

export interface SenderLimits {
  entries: number;
  bytes: number;
}

export class JournalSender {
  private readonly queue: BoundedQueue;
  private socket: DatagramSocket | null = null;
  private congested = false;
  private idle: (() => void)[] = [];

  constructor(
    private readonly open: OpenSocket,
    limits: SenderLimits,
    // The entry that says how many were dropped.
    private readonly droppedEntry: (n: number) => Buffer,
  ) {
    this.queue = new BoundedQueue(limits.entries, limits.bytes);
  }

  get droppedTotal(): number {
    return this.queue.droppedTotal;
  }

  get waiting(): number {
    return this.queue.length;
  }

  send(entry: Buffer): void {
    // Behind others that wait: in order, or not at all.
    if (this.congested || this.queue.length > 0) {
      this.queue.push(entry);
      return;
    }
    const r = this.write(entry);
    if (r === 'congested') this.queue.push(entry);
    else if (r !== 'sent') this.queue.drop();
    else if (this.queue.droppedSinceTaken > 0) this.reportDropped();
  }

  // Resolves when every waiting entry was sent, or after ms (a stalled journald must not hold up
  // an exit).
  flush(ms: number): Promise<void> {
    if (this.queue.length === 0 && !this.congested) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.idle.push(done);
    });
  }

  close(): void {
    this.socket?.close();
    this.socket = null;
  }

  // One try; a socket that errs (journald restarted: the connection is to the old one) is
  // reopened once.
  private write(entry: Buffer): SendResult {
    let r = this.trySend(entry);
    if (r instanceof Error) {
      this.close();
      r = this.trySend(entry);
    }
    if (r === 'congested') this.congested = true;
    return r;
  }

  private trySend(entry: Buffer): SendResult {
    try {
      this.socket ??= this.open(() => this.drain());
      return this.socket.send(entry);
    } catch (e) {
      this.socket = null;
      return e as Error;
    }
  }

  // journald has room again: what waits goes first, then the count of what was dropped.
  private drain(): void {
    this.congested = false;
    for (let entry = this.queue.peek(); entry; entry = this.queue.peek()) {
      const r = this.write(entry);
      if (r === 'congested') return;
      this.queue.shift();
      if (r !== 'sent') this.queue.drop();
    }
    this.reportDropped();
    if (this.congested || this.queue.length > 0) return;
    const idle = this.idle;
    this.idle = [];
    for (const f of idle) f();
  }


  private reportDropped(): void {
    const dropped = this.queue.takeDropped();
    if (dropped > 0) this.send(this.droppedEntry(dropped));
  }
}

interface UnixDgramSocket {
  on(event: 'writable' | 'error', f: (e?: Error) => void): void;
  connect(path: string): void;
  send(buf: Buffer, cb: (err?: Error & { code?: unknown }) => void): void;
  close(): void;
}

// The real socket (unix-dgram: loaded now, so that a binding that does not load is known at
// once), opened with the first entry sent.
export function unixDatagramSocket(path: string): OpenSocket {
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  const unix = require('unix-dgram') as { createSocket(type: 'unix_dgram'): UnixDgramSocket };
  return (onWritable) => {
    const s = unix.createSocket('unix_dgram');
    let failed: Error | null = null;
    s.on('error', (e) => (failed = e ?? new Error('error')));
    s.on('writable', onWritable);
    s.connect(path);
    if (failed) {
      s.close();
      throw failed;
    }
    return {
      send(entry) {
        let r: SendResult = new Error('unix-dgram did not answer');
        // unix-dgram calls back before send() returns; code 1 means EAGAIN (it polls for room).
        s.send(entry, (err) => (r = !err ? 'sent' : err.code === 1 ? 'congested' : err));
        return r;
      },
      close: () => s.close(),
    };
  };
}
