// faass-rpc/1: the gateway's private protocol to runners, on the same unix socket as HTTP.
// HTTP costs a parser and a client per call; this is a length-prefixed frame, many calls in
// flight on one connection, answered in any order. A connection starts with RPC_PREFACE
// (its NUL byte is never the start of an HTTP request), then frames in both directions:
//   [u32 BE n = 8 + metaLen + bodyLen][u32 BE id][u32 BE metaLen][meta JSON][body]
// request meta {m: method, p: path with query, h: headers, a: 1}; response meta {s: status, h: headers}.
// Acknowledgement: a request with a: 1 is acknowledged with a frame of meta {a: 1} and no body
// before the runner starts it, so the gateway knows what it may send again after the connection
// dies: only calls with no acknowledgement (never started). The flag keeps either side of an
// upgrade working: a runner that predates it sends none (its calls are retried as before), a
// gateway that predates it asks for none.
export const RPC_PREFACE = Buffer.from('\0faass-rpc/1\n');
export const MAX_FRAME = 2 * 1024 ** 3 - 1;

// A function's answer, whoever produced it (an executor, a framed output, the runner's link).
export interface FunctionAnswer {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
}

export interface RpcRequestMeta {
  m: string;
  p: string;
  h: Record<string, string>;
  a?: 1; // acknowledge before starting
}
export interface RpcAnswerMeta {
  s: number;
  h: Record<string, string>;
}
export interface RpcAckMeta {
  a: 1;
}
export type RpcResponseMeta = RpcAnswerMeta | RpcAckMeta;

export const isAck = (meta: RpcResponseMeta): meta is RpcAckMeta => !('s' in meta);
export interface Frame<M> {
  id: number;
  meta: M;
  body: Buffer;
}

export function encodeFrame(id: number, meta: object, body: Buffer): Buffer {
  const m = Buffer.from(JSON.stringify(meta));
  const head = Buffer.allocUnsafe(12);
  head.writeUInt32BE(8 + m.length + body.length, 0);
  head.writeUInt32BE(id, 4);
  head.writeUInt32BE(m.length, 8);
  return Buffer.concat([head, m, body]);
}

export const encodeAck = (id: number): Buffer => encodeFrame(id, { a: 1 }, Buffer.alloc(0));

// Collects chunks and yields whole frames; copies each byte at most once more.
export class FrameDecoder<M> {
  private chunks: Buffer[] = [];
  private size = 0;
  private need = -1;
  preface: Buffer | null;

  constructor(expectPreface: boolean) {
    this.preface = expectPreface ? RPC_PREFACE : null;
  }

  push(chunk: Buffer): Frame<M>[] {
    this.chunks.push(chunk);
    this.size += chunk.length;
    const out: Frame<M>[] = [];
    if (this.preface) {
      if (this.size < this.preface.length) return out;
      const all = this.take(this.preface.length);
      if (!all.equals(this.preface)) throw new Error('bad preface');
      this.preface = null;
    }
    for (;;) {
      if (this.need < 0) {
        if (this.size < 4) return out;
        const len = this.peekU32();
        if (len < 8 || len > MAX_FRAME) throw new Error(`bad frame length ${len}`);
        this.need = 4 + len;
      }
      if (this.size < this.need) return out;
      const f = this.take(this.need);
      this.need = -1;
      const metaLen = f.readUInt32BE(8);
      if (12 + metaLen > f.length) throw new Error(`bad meta length ${metaLen}`);
      out.push({ id: f.readUInt32BE(4), meta: JSON.parse(f.toString('utf8', 12, 12 + metaLen)) as M, body: f.subarray(12 + metaLen) });
    }
  }

  private peekU32(): number {
    if (this.chunks[0].length >= 4) return this.chunks[0].readUInt32BE(0);
    return Buffer.concat(this.chunks).readUInt32BE(0);
  }

  private take(n: number): Buffer {
    const all = this.chunks.length === 1 ? this.chunks[0] : Buffer.concat(this.chunks, this.size);
    const head = all.subarray(0, n);
    const rest = all.subarray(n);
    this.chunks = rest.length ? [rest] : [];
    this.size = rest.length;
    return head;
  }
}
