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

// Expect: 100-continue (RFC 9110 10.1.1): Node sends the 100 before any handler runs, so a client
// pushed its whole body into a 401 or a 413. Here the 100 goes out when a handler reads the body
// (readBody) and only if the declared length is within its limit: refusals come first.
const awaitingContinue = new WeakMap<http.IncomingMessage, http.ServerResponse>();

// The request goes on as any other ('request': the idle tracking and the handler both see it).
export function continueWhenRead(server: http.Server): void {
  server.on('checkContinue', (req: http.IncomingMessage, res: http.ServerResponse) => {
    awaitingContinue.set(req, res);
    server.emit('request', req, res);
  });
}

function sendContinue(req: http.IncomingMessage): void {
  const res = awaitingContinue.get(req);
  if (!res) return;
  awaitingContinue.delete(req);
  res.writeContinue();
}

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
    sendContinue(req);
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

// The gateway's word to the management API on who the admin calling it is (the credential's name,
// never its secret): the API records it as who deployed a version. Set by the gateway only.
export const CREDENTIAL_HEADER = 'x-faass-credential';
