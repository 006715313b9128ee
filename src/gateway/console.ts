// The web console's side of the gateway (issue 16, first slice): its files under /ui/, and its
// sessions at /ui/session (auth/session.ts), served on the console's own address only
// (console_listen: an origin no function's page shares; DESIGN.md "Web console"). Its page uses the management API as the CLI does,
// with the session cookie in place of a token and X-CSRF-Token on every request (apiSession).
import type * as http from 'node:http';
import type { TLSSocket } from 'node:tls';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Paths } from '../core/paths';
import { FaassError } from '../core/errors';
import { sendFaassError } from '../core/http-util';
import { Verifier } from '../auth/credentials';
import { CSRF_HEADER, csrfMatches, csrfToken, sessionCookiesOf, sessionKey, setCookie, signSession, verifySession } from '../auth/session';
import { API_DOOR, Authorizer } from './authorize';
import { readWhole } from './answer';

// On every /ui answer, errors too: no script but the console's own files, never in a frame, no
// sniffing of types, no Referer carrying a console URL elsewhere.
export const UI_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy': "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
  'x-frame-options': 'DENY',
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
};

const TYPES: Record<string, string> = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8' };
const ASSET = /^[a-z0-9-]+\.(html|js|css)$/;
const UI_DIR = path.join(__dirname, '..', 'ui'); // dist/ui, copied from src/ui by scripts/post-build.js

// The console's files, read once: only these names are ever served, so no request path reaches
// the file system.
function loadAssets(dir: string): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  let names: string[] = [];
  try {
    names = fs.readdirSync(dir);
  } catch {
    // not built: every asset is a 404 (index.html too), said in the answer
  }
  for (const n of names) if (ASSET.test(n)) out.set(n, fs.readFileSync(path.join(dir, n)));
  return out;
}

export class Console {
  private assets: Map<string, Buffer> | null = null;
  private key: Buffer | null = null;

  constructor(
    private readonly paths: Paths,
    private readonly verifier: Verifier,
    private readonly auth: Authorizer,
  ) {}

  // GET /ui/..., /ui/session. url is the request's, with its query.
  async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const p = (req.url ?? '/').split('?')[0];
    if (p === '/ui/session') return this.session(req, res);
    req.resume();
    if (req.method !== 'GET' && req.method !== 'HEAD') return fail(res, new FaassError('FAASS_E_METHOD_NOT_ALLOWED', `${req.method} is not allowed on ${p}; use GET`), { allow: 'GET, HEAD' });
    if (p === '/ui') {
      res.writeHead(308, { ...UI_HEADERS, location: '/ui/', 'content-length': '0' });
      return void res.end();
    }
    // Traversal, raw or encoded (%2e%2e, %2f, backslash): refused outright, not looked up.
    if (/\.\.|%|\\/.test(p)) return fail(res, new FaassError('FAASS_E_USAGE', 'A console path has no "..", "%" or "\\"'));
    const name = p === '/ui/' ? 'index.html' : p.slice('/ui/'.length);
    const body = ASSET.test(name) ? (this.assets ??= loadAssets(UI_DIR)).get(name) : undefined;
    if (!body) return fail(res, new FaassError('FAASS_E_ROUTE_MISSING', `The console has no file ${name}`));
    const html = name.endsWith('.html');
    res.writeHead(200, { ...UI_HEADERS, 'content-type': TYPES[path.extname(name)], 'content-length': body.length, 'cache-control': html ? 'no-store' : 'no-cache' });
    res.end(req.method === 'HEAD' ? undefined : body);
  }

  // The session a request's cookie carries, for the management API and function calls (the
  // page invokes them; authorize.ts takes it as its admin's credential), asked only for requests
  // on the console's own address (gateway.ts callerOf, walkConsole): null without a cookie
  // (the caller goes the Authorization way); the admin's name; or why it may not pass. Every
  // method needs X-CSRF-Token, and a cross-origin request (Origin given, not this host) is refused.
  apiSession(req: http.IncomingMessage): { name: string } | { error: FaassError } | null {
    const values = sessionCookiesOf(req.headers.cookie);
    if (!values.length) return null;
    const value = this.goodOne(values);
    const who = value === null ? null : this.signedIn(value);
    if (value === null || !who) return { error: new FaassError('FAASS_E_AUTH_REQUIRED', 'The console session is not valid (expired, signed out, or its credential removed): sign in again') };
    if (!sameOrigin(req)) return { error: new FaassError('FAASS_E_FORBIDDEN', 'A console session is taken from the console\'s own origin only') };
    if (!csrfMatches(this.signingKey(), value, req.headers[CSRF_HEADER])) return { error: new FaassError('FAASS_E_FORBIDDEN', 'A request with the console session needs its X-CSRF-Token header (GET /ui/session gives it)') };
    return { name: who };
  }

  private async session(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    if (req.method === 'POST') return this.signIn(req, res);
    req.resume();
    if (req.method === 'DELETE') {
      if (!sameOrigin(req)) return fail(res, new FaassError('FAASS_E_FORBIDDEN', 'Sign-out is taken from the console\'s own origin only'));
      return json(res, 200, { signedIn: false }, { 'set-cookie': setCookie(null, isTls(req)) });
    }
    if (req.method !== 'GET') return fail(res, new FaassError('FAASS_E_METHOD_NOT_ALLOWED', `${req.method} is not allowed on /ui/session; use GET, POST or DELETE`), { allow: 'GET, POST, DELETE' });
    if (!this.auth.apiEnabled) return fail(res, noAdmin());
    const value = this.goodOne(sessionCookiesOf(req.headers.cookie));
    const who = value === null ? null : this.signedIn(value);
    if (value === null || !who) return fail(res, new FaassError('FAASS_E_AUTH_REQUIRED', 'Not signed in to the console'));
    // The CSRF token goes to the page here, and only here: a same-origin read (no CORS).
    const expires = verifySession(this.signingKey(), value)?.expires ?? 0;
    return json(res, 200, { signedIn: true, credential: who, expires: new Date(expires * 1000).toISOString(), csrfToken: csrfToken(this.signingKey(), value) });
  }

  // POST /ui/session {"token": "NAME.SECRET"}: checked as an API request's Bearer token would be
  // (the same failure limit per address), then a cookie; the token itself is not kept.
  private async signIn(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    if (!sameOrigin(req)) {
      req.resume();
      return fail(res, new FaassError('FAASS_E_FORBIDDEN', 'Sign-in is taken from the console\'s own origin only'));
    }
    if (!this.auth.apiEnabled) {
      req.resume();
      return fail(res, noAdmin());
    }
    const body = await readWhole(req, res, 4096);
    if (!body) return;
    let token: unknown;
    try {
      token = (JSON.parse(body.toString('utf8')) as { token?: unknown } | null)?.token;
    } catch {
      token = undefined;
    }
    if (typeof token !== 'string' || token === '') return fail(res, new FaassError('FAASS_E_USAGE', 'Expected a JSON body {"token": "NAME.SECRET"} (an admin credential\'s token)'));
    const refusal = await this.auth.check({ address: req.socket.remoteAddress ?? 'unix', authorization: `Bearer ${token}` }, API_DOOR);
    // No WWW-Authenticate: a browser would answer it with its own password dialog.
    if (refusal) return fail(res, refusal.error, refusal.headers['retry-after'] ? { 'retry-after': refusal.headers['retry-after'] } : {});
    const name = token.slice(0, token.indexOf('.'));
    const value = signSession(this.signingKey(), name);
    return json(res, 200, { signedIn: true, credential: name }, { 'set-cookie': setCookie(value, isTls(req)) });
  }

  // The first of the cookie's values that is a good session (sessionCookiesOf says why not the first).
  private goodOne(values: string[]): string | null {
    return values.find((v) => this.signedIn(v) !== null) ?? null;
  }

  // The admin a cookie value names, while the cookie is good and its credential still an admin.
  private signedIn(value: string): string | null {
    const s = verifySession(this.signingKey(), value);
    return s && this.verifier.isAdmin(s.name) ? s.name : null;
  }

  private signingKey(): Buffer {
    return (this.key ??= sessionKey(this.paths));
  }
}

const noAdmin = () => new FaassError('FAASS_E_API_DISABLED', 'No admin credential exists on this host: create one with faassctl credentials add NAME --admin');

const isTls = (req: http.IncomingMessage): boolean => (req.socket as TLSSocket).encrypted === true;

// No Origin (a same-origin GET, curl): nothing to compare. Given: it must be this host's.
function sameOrigin(req: http.IncomingMessage): boolean {
  const origin = req.headers.origin;
  if (origin === undefined) return true;
  return origin === `${isTls(req) ? 'https' : 'http'}://${req.headers.host ?? ''}`;
}

function fail(res: http.ServerResponse, e: FaassError, extra: Record<string, string> = {}): void {
  sendFaassError(res, e, { ...UI_HEADERS, 'cache-control': 'no-store', ...extra });
}

function json(res: http.ServerResponse, status: number, value: unknown, extra: Record<string, string> = {}): void {
  const text = JSON.stringify(value) + '\n';
  res.writeHead(status, { ...UI_HEADERS, 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store', ...extra });
  res.end(text);
}
