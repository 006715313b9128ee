// What of a function's answer reaches a client (faass-runner(8), "What a function may answer").
// A function chooses its status and headers (protocol=framed, a handler's {statusCode, headers}),
// never how the answer is framed on the connection: that is for faass, which knows the
// connection. Passed on as given, a 101 or 100 with no switch and no final answer, a 204 with a
// Content-Length, or a function's Transfer-Encoding would leave the client (or a proxy in front,
// whose connection is shared by other clients) reading the next answer from the wrong byte.
import type { FunctionAnswer } from './rpc';
import { HOP_BY_HOP } from './http-util';
import { FaassError } from './errors';

// 1xx are interim answers the server sends on its own (100 Continue, 101 after an Upgrade it
// made): a function's answer is the final one. Below 100 or past 599 is no HTTP status.
export const isFinalStatus = (status: number): boolean => Number.isInteger(status) && status >= 200 && status <= 599;

// A status that is not final is refused, not mended: the function meant an answer faass cannot
// give. 502, as for any answer from upstream that cannot be passed on.
export const statusRefused = (name: string, status: number): FaassError =>
  new FaassError('FAASS_E_STATUS_INVALID', `Function ${name} answered status ${status}; a function's status must be 200-599 (1xx are the server's own)`);

// Answers with no body and no Content-Length (RFC 9110 15.3.5, 15.4.5; a 304 may carry the
// length a 200 would have, which a function's answer does not know: none is sent).
export const isBodiless = (status: number): boolean => status === 204 || status === 304;

// faass's headers on every answer of a runner; a function's of the same names are dropped, so
// a client gets each once, and faass's (the call id its logs know, the version that answered:
// a function cannot pass itself off as another version).
export const VERSION_HEADER = 'x-faass-version';
export const FAASS_ANSWER_HEADERS: ReadonlySet<string> = new Set(['x-call-id', 'x-duration-seconds', 'x-faass-start', VERSION_HEADER]);

const NONE: ReadonlySet<string> = new Set();

// Headers that may pass on, names lowercased (so a name is one header whatever its case):
// without hop-by-hop and framing headers (core/http-util HOP_BY_HOP), those the Connection
// header names (RFC 9110 7.6.1), and those named in `reserved`.
export function passableHeaders(given: Readonly<Record<string, string>>, reserved: ReadonlySet<string> = NONE): Record<string, string> {
  const named = new Set<string>();
  for (const [k, v] of Object.entries(given)) if (k.toLowerCase() === 'connection') for (const t of v.split(',')) named.add(t.trim().toLowerCase());
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(given)) {
    const name = k.toLowerCase();
    if (!HOP_BY_HOP.has(name) && !named.has(name) && !reserved.has(name)) out[name] = v;
  }
  return out;
}

// What goes on the wire for an answer whose status is final: the headers with the length of
// the body sent, and no body nor length where the status has none. (A HEAD's body is dropped
// by node:http, which keeps the length, as RFC 9110 9.3.2 wants.)
export function onTheWire(a: FunctionAnswer): { headers: Record<string, string>; body: Buffer } {
  if (isBodiless(a.status)) return { headers: a.headers, body: Buffer.alloc(0) };
  return { headers: { ...a.headers, 'content-length': String(a.body.length) }, body: a.body };
}
