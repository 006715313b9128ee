import * as http from 'node:http';
import { randomUUID } from 'node:crypto';
import { ERRORS, ErrorCode, FaassError, errorBody } from './errors';

// An error answer; the catalog (errors.ts) decides its status, headers say how to go on
// (Allow, Retry-After, WWW-Authenticate).
export function sendError(res: http.ServerResponse, code: ErrorCode, message: string, extra: Record<string, string> = {}): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const body = errorBody(code, message);
  res.writeHead(ERRORS[code].status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), ...extra });
  res.end(body);
}

export function sendFaassError(res: http.ServerResponse, e: FaassError, extra: Record<string, string> = {}): void {
  sendError(res, e.code, e.message, extra);
}

// Headers that belong to one connection (RFC 9110 7.6.1), and Content-Length, which each side
// sets for the body it sends: never copied from one hop to the next.
export const HOP_BY_HOP: ReadonlySet<string> = new Set(['connection', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'content-length']);

const EMPTY = Buffer.alloc(0);

// Reads a request body up to limit bytes; over it, rejects with FAASS_E_BODY_TOO_LARGE.
export function readBody(req: http.IncomingMessage, limit: number): Promise<Buffer> {
  // No Content-Length and no Transfer-Encoding: the request has no body (RFC 9112 6.3).
  if (req.headers['content-length'] === undefined && req.headers['transfer-encoding'] === undefined) {
    req.resume();
    return Promise.resolve(EMPTY);
  }
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > limit) {
      reject(new FaassError('FAASS_E_BODY_TOO_LARGE', `Request body of ${declared} bytes exceeds the limit of ${limit} bytes`));
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let failed = false;
    req.on('data', (d: Buffer) => {
      if (failed) return;
      size += d.length;
      if (size > limit) {
        failed = true;
        reject(new FaassError('FAASS_E_BODY_TOO_LARGE', `Request body exceeds the limit of ${limit} bytes`));
        return;
      }
      chunks.push(d);
    });
    req.on('end', () => {
      if (!failed) resolve(Buffer.concat(chunks));
    });
    req.on('error', (e) => {
      if (!failed) reject(e);
      failed = true;
    });
  });
}

const CALL_ID_RE = /^[A-Za-z0-9._:-]{1,128}$/;

// A client-sent X-Call-Id is kept when it is sane, so one id follows a call through every log.
export const isValidCallId = (id: string): boolean => CALL_ID_RE.test(id);

export function callIdFrom(given: string | string[] | undefined): string {
  return typeof given === 'string' && isValidCallId(given) ? given : randomUUID();
}

export function callId(req: http.IncomingMessage): string {
  return callIdFrom(req.headers['x-call-id']);
}
