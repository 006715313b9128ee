// Header hygiene at the gateway: what crosses from the client's connection to a function's or
// the API's, and back.
import { SESSION_COOKIE } from '../auth/session';
import * as http from 'node:http';
import { HOP_BY_HOP } from '../core/http-util';
import { withoutSessionCookie } from '../auth/session';

// The gateway stops two request headers more than a runner does (core/http-util HOP_BY_HOP):
// Proxy-Authorization is for the proxy the client spoke to, which is this one (RFC 9110
// 11.7.1), and Expect: 100-continue was answered here, where the body is read whole; passed on,
// it would ask the next hop for a 100 the client no longer waits for.
const NOT_FORWARDED: ReadonlySet<string> = new Set([...HOP_BY_HOP, 'proxy-authorization', 'expect']);

export const TRIGGER_HEADERS = ['x-faass-trigger', 'x-faass-trigger-id', 'x-faass-scheduled-time', 'x-faass-topic', 'x-faass-chain-depth', 'x-faass-nats-subject', 'x-faass-nats-sequence'];

// Headers the sender names in Connection are hop-by-hop too (RFC 9110 7.6.1).
function namedInConnection(headers: http.IncomingHttpHeaders): Set<string> {
  const c = headers.connection;
  const text = Array.isArray(c) ? c.join(',') : (c ?? '');
  return new Set(text.split(',').map((t) => t.trim().toLowerCase()).filter(Boolean));
}

// The client's request headers for the next hop; its credential only when the target may see it.
export function requestHeaders(req: http.IncomingMessage, keepAuthorization: boolean): Record<string, string> {
  const headers: Record<string, string> = {};
  const named = namedInConnection(req.headers);
  for (const [k, v] of Object.entries(req.headers)) {
    if (NOT_FORWARDED.has(k) || named.has(k) || v === undefined || (k === 'authorization' && !keepAuthorization)) continue;
    headers[k] = Array.isArray(v) ? v.join(', ') : v;
  }
  // The console's session cookie is a credential: never passed on (auth/session.ts).
  if (headers.cookie !== undefined) {
    const rest = withoutSessionCookie(headers.cookie);
    if (rest === null) delete headers.cookie;
    else headers.cookie = rest;
  }
  return headers;
}

// A call's headers for a function or service: its call id, and who asked (X-Forwarded-For).
export function callHeaders(req: http.IncomingMessage, id: string, passAuthorization: boolean): Record<string, string> {
  const headers = requestHeaders(req, passAuthorization);
  // Said only by faass's own triggers (queue/schedule-fire.ts): a client cannot pass a call off as one.
  for (const k of TRIGGER_HEADERS) delete headers[k];
  // The console's CSRF token is a credential of the console's (its session's): no function sees it.
  delete headers['x-csrf-token'];
  headers['x-call-id'] = id;
  const fwd = req.headers['x-forwarded-for'];
  headers['x-forwarded-for'] = (fwd ? `${fwd}, ` : '') + (req.socket.remoteAddress ?? 'unix');
  return headers;
}

// A function's answer on the console's address: inert even if a browser renders it (a sandbox
// with no script and an opaque origin, no type sniffing), whatever the function said of its own.
export const INERT_HEADERS: Readonly<Record<string, string>> = { 'content-security-policy': 'sandbox', 'x-content-type-options': 'nosniff' };

// Headers a function's answer on the console's address may not carry at all: each would act in
// the console's origin. A redirect above all: the page's fetch follows it on the same origin
// with the session cookie, X-CSRF-Token, method and body, so a function answering 307 to
// /system/... would drive the management API as the admin (found by review). Then cookies (a
// session cookie shadowed, or any), a wipe of the console's site data, a delayed redirect, a
// preload, a service worker's wider scope. The status stays: a 3xx without Location is an answer.
const CONSOLE_DROPPED = new Set(['location', 'refresh', 'set-cookie', 'clear-site-data', 'link', 'service-worker-allowed']);

// Every writeHead of this answer (the function's, or an error's) carries INERT_HEADERS, in place
// of any header of those names the function set, and none of CONSOLE_DROPPED. Every writer here
// passes (status, headers).
export function makeInert(res: http.ServerResponse): void {
  const writeHead = res.writeHead.bind(res) as (status: number, headers: http.OutgoingHttpHeaders) => http.ServerResponse;
  const own = (k: string) => k.toLowerCase() in INERT_HEADERS || CONSOLE_DROPPED.has(k.toLowerCase());
  res.writeHead = ((status: number, a?: unknown, b?: unknown) => {
    const given = (typeof a === 'string' ? b : a) as http.OutgoingHttpHeaders | undefined;
    for (const k of res.getHeaderNames()) if (own(k)) res.removeHeader(k);
    const kept = Object.fromEntries(Object.entries(given ?? {}).filter(([k]) => !own(k)));
    return writeHead(status, { ...kept, ...INERT_HEADERS });
  }) as typeof res.writeHead;
}

// On the functions' address a function may set cookies, but not the console's session cookie
// (cookies do not isolate by port: one set here reaches the console's address too).
export function keepSessionCookie(res: http.ServerResponse): void {
  const writeHead = res.writeHead.bind(res) as (status: number, headers: http.OutgoingHttpHeaders) => http.ServerResponse;
  const foreign = (v: unknown) => !String(v).trimStart().startsWith(`${SESSION_COOKIE}=`);
  res.writeHead = ((status: number, a?: unknown, b?: unknown) => {
    const given = { ...((typeof a === 'string' ? b : a) as http.OutgoingHttpHeaders | undefined) };
    for (const k of Object.keys(given)) if (k.toLowerCase() === 'set-cookie') given[k] = ([] as unknown[]).concat(given[k]).filter(foreign) as string[];
    const set = res.getHeader('set-cookie');
    if (set !== undefined) res.setHeader('set-cookie', ([] as unknown[]).concat(set).filter(foreign) as string[]);
    return writeHead(status, given);
  }) as typeof res.writeHead;
}

// An answer's headers for the client; Content-Length only where the body is relayed as it came.
export function responseHeaders(from: http.IncomingHttpHeaders, keepLength: boolean): http.OutgoingHttpHeaders {
  const out: http.OutgoingHttpHeaders = {};
  const named = namedInConnection(from);
  for (const [k, v] of Object.entries(from)) if (v !== undefined && !named.has(k) && (!NOT_FORWARDED.has(k) || (keepLength && k === 'content-length'))) out[k] = v;
  return out;
}

// Why a service's answer may not be passed on, or null. A service's answer is parsed leniently
// (service-forward.ts: bare LF line endings, obs-fold, any HTTP/x.y), and the lenient parser lets
// through two things this refuses, failing closed: both Content-Length and Transfer-Encoding (which
// one framed the body is a guess, and a wrong one leaves the kept-alive connection mid-answer), and
// control characters in a header value, which node:http would refuse to write (it throws). Header
// values are not named: they may be secrets.
export function answerProblem(headers: http.IncomingHttpHeaders): string | null {
  if (headers['content-length'] !== undefined && headers['transfer-encoding'] !== undefined) return 'both Content-Length and Transfer-Encoding, an ambiguous length';
  for (const [k, v] of Object.entries(headers)) {
    for (const one of Array.isArray(v) ? v : [v ?? '']) {
      try {
        http.validateHeaderValue(k, one);
      } catch {
        return `control characters in the value of header ${k}`;
      }
    }
  }
  return null;
}
