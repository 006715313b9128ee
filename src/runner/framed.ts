// The original faass's framed output: [u32 BE H][H bytes JSON {"code":N,"headers":{...}}][u32 BE B][B bytes body].
// Parsed strictly: anything else is the function's error, reported, never thrown past the runner.
import type { FunctionAnswer } from '../core/rpc';
export type FramedResponse = FunctionAnswer;

export const MAX_FRAME_HEADER = 1024 * 1024;
const TOKEN_RE = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

export function parseFramed(buf: Buffer): { ok: true; value: FramedResponse } | { ok: false; reason: string } {
  const bad = (reason: string) => ({ ok: false as const, reason });
  if (buf.length < 4) return bad(`output is ${buf.length} bytes, too short for the 4-byte header length`);
  const h = buf.readUInt32BE(0);
  if (h > MAX_FRAME_HEADER) return bad(`header length ${h} exceeds ${MAX_FRAME_HEADER}`);
  if (buf.length < 4 + h + 4) return bad(`header length ${h} but only ${buf.length - 4} bytes follow the length (need ${h} + 4)`);
  let meta: unknown;
  try {
    meta = JSON.parse(buf.subarray(4, 4 + h).toString('utf8'));
  } catch (e) {
    return bad(`header is not JSON: ${(e as Error).message}`);
  }
  if (typeof meta !== 'object' || meta === null || Array.isArray(meta)) return bad('header JSON is not an object');
  const { code, headers } = meta as { code?: unknown; headers?: unknown };
  // Which statuses a function may answer is the runner's rule for every runtime (core/function-answer).
  if (typeof code !== 'number' || !Number.isInteger(code)) return bad(`header "code" must be an integer HTTP status, got ${JSON.stringify(code)}`);
  const out: Record<string, string> = {};
  if (headers !== undefined && headers !== null) {
    if (typeof headers !== 'object' || Array.isArray(headers)) return bad('header "headers" must be an object');
    for (const [k, v] of Object.entries(headers as Record<string, unknown>)) {
      if (!TOKEN_RE.test(k)) return bad(`invalid response header name ${JSON.stringify(k)}`);
      const value = typeof v === 'number' ? String(v) : v;
      if (typeof value !== 'string' || /[\r\n\0]/.test(value)) return bad(`invalid value for response header ${JSON.stringify(k)}`);
      out[k] = value;
    }
  }
  const b = buf.readUInt32BE(4 + h);
  const rest = buf.length - (8 + h);
  if (rest !== b) return bad(`body length says ${b} bytes but ${rest} follow`);
  return { ok: true, value: { status: code, headers: out, body: buf.subarray(8 + h) } };
}

export function encodeFramed(code: number, headers: Record<string, string>, body: Buffer | string): Buffer {
  const meta = Buffer.from(JSON.stringify({ code, headers }));
  const data = Buffer.isBuffer(body) ? body : Buffer.from(body);
  const out = Buffer.alloc(8 + meta.length + data.length);
  out.writeUInt32BE(meta.length, 0);
  meta.copy(out, 4);
  out.writeUInt32BE(data.length, 4 + meta.length);
  data.copy(out, 8 + meta.length);
  return out;
}
