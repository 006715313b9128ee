// faassctl's HTTP client: the local gateway (from faass.conf) or a remote one (--gateway URL),
// the token to send, and faass error bodies turned back into faass errors.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as http from 'node:http';
import { Paths } from '../core/paths';
import { loadSettings } from '../core/settings';
import { ERRORS, ErrorCode, FaassError, fail } from '../core/errors';
import { writeFileAtomic, withLock, readIfExists } from '../core/fs-atomic';
import { privateDir } from '../core/private-files';

export interface Target {
  label: string; // the gateway as shown in messages (a URL or an address; never a secret)
  url: string; // base URL for what a user may open, without a trailing slash
  https: boolean;
  socketPath?: string;
  host?: string;
  port?: number;
  basePath: string; // '' or '/prefix' (a gateway behind a reverse proxy's path)
  ca?: Buffer;
  token?: string;
}

export interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

// A gateway URL as a user gives it: http or https, no credentials in it (they would end up in
// shell history and process lists), no query or fragment.
export function parseGatewayUrl(text: string): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    fail('FAASS_E_USAGE', `Invalid gateway URL ${JSON.stringify(text.slice(0, 200).replace(/\/\/[^/@]*@/, '//…@'))}: expected http://HOST:PORT or https://HOST:PORT`);
  }
  if (url.username || url.password) fail('FAASS_E_USAGE', 'The gateway URL must not carry a user or password; give the token with --token, FAASS_TOKEN or faassctl login');
  if (url.protocol !== 'http:' && url.protocol !== 'https:') fail('FAASS_E_USAGE', `Invalid gateway URL: ${url.protocol} is not http: or https:`);
  if (url.search || url.hash) fail('FAASS_E_USAGE', 'The gateway URL must not have a query or fragment');
  return url;
}

// The key of a gateway in the credentials file: origin and path, no trailing slash.
export function gatewayKey(url: URL): string {
  return url.origin + url.pathname.replace(/\/+$/, '');
}

// A token goes into an HTTP header: printable ASCII without spaces only. The message never
// shows the token.
export function checkToken(token: string, from: string): string {
  if (!/^[\x21-\x7e]+$/.test(token)) fail('FAASS_E_USAGE', `The token from ${from} has characters a token cannot have (spaces, control or non-ASCII characters)`);
  return token;
}

export function remoteTarget(url: URL, token: string | undefined, caFile: string | undefined): Target {
  let ca: Buffer | undefined;
  if (caFile !== undefined) {
    try {
      ca = fs.readFileSync(caFile);
    } catch (e) {
      fail('FAASS_E_FILE_MISSING', `Cannot read the CA file ${caFile}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
  }
  const base = gatewayKey(url);
  return { label: base, url: base, https: url.protocol === 'https:', host: url.hostname.replace(/^\[|\]$/g, ''), port: Number(url.port || (url.protocol === 'https:' ? 443 : 80)), basePath: url.pathname.replace(/\/+$/, ''), ca, token };
}

// The local gateway, as faass.conf says: plain HTTP, or HTTPS with its own certificate trusted
// when the main socket serves HTTPS.
export function localTarget(paths: Paths, token: string | undefined): Target {
  const gw = loadSettings(paths);
  const l = gw.listen;
  const https = gw.tls !== undefined && gw.tls.listen === undefined;
  const ca = https ? fs.readFileSync(gw.tls!.cert) : undefined;
  if (l.kind === 'unix') return { label: l.text, url: `http://localhost`, https, socketPath: l.path, basePath: '', ca, token };
  const host = l.host === '::' || l.host === '0.0.0.0' ? '127.0.0.1' : l.host;
  const shown = host.includes(':') ? `[${host}]` : host;
  return { label: l.text, url: `${https ? 'https' : 'http'}://${shown}:${l.port}`, https, host, port: l.port, basePath: '', ca, token };
}

const TLS_TRUST = new Set(['DEPTH_ZERO_SELF_SIGNED_CERT', 'SELF_SIGNED_CERT_IN_CHAIN', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'CERT_HAS_EXPIRED', 'ERR_TLS_CERT_ALTNAME_INVALID', 'CERT_NOT_YET_VALID']);

export async function send(t: Target, method: string, urlPath: string, opts: { headers?: Record<string, string>; body?: Buffer; timeoutMs?: number } = {}): Promise<Reply> {
  const body = opts.body ?? Buffer.alloc(0);
  const headers: Record<string, string> = { 'content-length': String(body.length), ...opts.headers };
  if (t.token !== undefined && headers.authorization === undefined) headers.authorization = `Bearer ${t.token}`;
  const mod: typeof http = t.https ? ((await import('node:https')) as unknown as typeof http) : http;
  const where = t.socketPath ? { socketPath: t.socketPath } : { host: t.host, port: t.port };
  return new Promise((resolve, reject) => {
    const req = mod.request({ ...where, ...(t.ca ? { ca: t.ca } : {}), method, path: t.basePath + urlPath, headers, timeout: opts.timeoutMs ?? 600000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (d: Buffer) => chunks.push(d));
      res.on('error', reject);
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('timeout', () => req.destroy(Object.assign(new Error('no answer in time'), { code: 'ETIMEDOUT' })));
    req.on('error', (e: NodeJS.ErrnoException) => {
      const code = e.code ?? e.message;
      if (TLS_TRUST.has(code)) reject(new FaassError('FAASS_E_GATEWAY_UNREACHABLE', `The certificate of ${t.label} is not trusted (${code}); give its CA with --cacert FILE (or FAASS_CACERT)`));
      else {
        const hint = code === 'ECONNRESET' && !t.https ? '; if it serves HTTPS, use an https:// URL' : code === 'ECONNREFUSED' && (t.socketPath || t.host === '127.0.0.1') ? '; is faass-gateway.socket listening (faassctl status)?' : '';
        reject(new FaassError('FAASS_E_GATEWAY_UNREACHABLE', `Cannot reach the gateway at ${t.label}: ${code}${hint}`));
      }
    });
    req.end(body);
  });
}

// A faass error body back into its error; anything else says what answered.
// The faass error an answer's body carries ({"error":{"code","message"}}), if it is one.
export function faassErrorIn(body: Buffer): FaassError | null {
  try {
    const parsed = JSON.parse(body.toString('utf8').trim()) as { error?: { code?: string; message?: string } };
    const code = parsed.error?.code;
    if (code && code in ERRORS) return new FaassError(code as ErrorCode, String(parsed.error?.message ?? code));
  } catch {
    // not JSON
  }
  return null;
}

export function replyError(t: Target, r: Reply): FaassError {
  const e = faassErrorIn(r.body);
  if (e) {
    if (e.code === 'FAASS_E_AUTH_REQUIRED' && t.token === undefined) return new FaassError(e.code, `${e.message}; give a token with --token, FAASS_TOKEN or faassctl login`);
    return e;
  }
  const text = r.body.toString('utf8').trim();
  return new FaassError('FAASS_E_GATEWAY_UNREACHABLE', `${t.label} answered HTTP ${r.status} without a faass error (${JSON.stringify(text.split("\n")[0].slice(0, 80))}); is it a faass gateway?`);
}

export async function sendJson(t: Target, method: string, urlPath: string, body?: unknown): Promise<unknown> {
  const r = await send(t, method, urlPath, body === undefined ? {} : { headers: { 'content-type': 'application/json' }, body: Buffer.from(JSON.stringify(body)) });
  if (r.status >= 300) throw replyError(t, r);
  try {
    return JSON.parse(r.body.toString('utf8'));
  } catch {
    throw new FaassError('FAASS_E_GATEWAY_UNREACHABLE', `${t.label} answered HTTP ${r.status} with a body that is not JSON; is it a faass gateway?`);
  }
}

// $XDG_CONFIG_HOME/faass/credentials: one "GATEWAY-URL TOKEN" per line, '#' comments, mode
// 0600. faassctl login writes it; remote commands read the line of their gateway.
export const credentialsFile = (paths: Paths) => path.join(paths.configDir, 'credentials');

export function parseTokens(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split('\n')) {
    const l = line.trim();
    if (l === '' || l.startsWith('#')) continue;
    const m = /^(\S+)\s+(\S+)$/.exec(l);
    if (!m) continue; // a line faassctl did not write: left alone, never echoed (it may hold a secret)
    out.set(m[1].replace(/\/+$/, ''), m[2]);
  }
  return out;
}

export function renderTokens(tokens: Map<string, string>): string {
  const lines = [...tokens.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([u, t]) => `${u} ${t}`);
  return `# faassctl login: a token per faass gateway, "URL TOKEN"; keep this file mode 0600\n${lines.join('\n')}${lines.length ? '\n' : ''}`;
}

// Refuses a credentials file others may read, as ssh does with keys.
export function readTokens(paths: Paths): Map<string, string> {
  const file = credentialsFile(paths);
  const st = fs.statSync(file, { throwIfNoEntry: false });
  if (!st) return new Map();
  if ((st.mode & 0o077) !== 0) fail('FAASS_E_CONFIG_INVALID', `${file} may be read by others (mode ${(st.mode & 0o777).toString(8)}); chmod 600 ${file}`);
  if (typeof process.getuid === 'function' && st.uid !== process.getuid()) fail('FAASS_E_CONFIG_INVALID', `${file} belongs to another user (uid ${st.uid})`);
  return parseTokens(readIfExists(file) ?? '');
}

export function updateTokens(paths: Paths, change: (tokens: Map<string, string>) => void): void {
  const file = credentialsFile(paths);
  privateDir(paths, path.dirname(file));
  withLock(file, () => {
    const tokens = readTokens(paths);
    change(tokens);
    writeFileAtomic(file, renderTokens(tokens), 0o600);
  });
}
