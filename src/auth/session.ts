// The web console's sessions (issue 16): an admin signs in with a token once and gets a cookie
// NAME.EXPIRY.MAC, MAC = HMAC-SHA256 under a key of the host's (ui-session.key, 0600, made on
// first use). Nothing is kept per session: the gateway exits when idle (scale to zero), and the
// cookie is still good when the next one starts. The CSRF token is derived from the cookie, so it
// needs no store either; the page gets it from GET /ui/session and keeps it in memory only.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { Paths } from '../core/paths';
import { isValidName } from '../core/validate';
import { privateDir, PRIVATE_FILE } from '../core/private-files';

export const SESSION_COOKIE = 'faass_session';
export const SESSION_SECONDS = 8 * 3600;
export const CSRF_HEADER = 'x-csrf-token';

// In the state directory: the gateway, which makes it, may not write faass's config directory.
export const sessionKeyPath = (p: Paths): string => path.join(p.stateDir, 'ui-session.key');

// The key, made on first use. Two gateways starting at once: the second's exclusive create fails
// and it reads the first's, so both sign with the same key.
export function sessionKey(paths: Paths): Buffer {
  const file = sessionKeyPath(paths);
  try {
    return readKey(file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  privateDir(paths, path.dirname(file));
  try {
    fs.writeFileSync(file, randomBytes(32), { mode: PRIVATE_FILE, flag: 'wx' });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
  }
  return readKey(file);
}

function readKey(file: string): Buffer {
  const key = fs.readFileSync(file);
  // A short key (a truncated write) would sign weakly: refuse it rather than use it.
  if (key.length < 32) throw new Error(`${file} holds ${key.length} bytes, not 32: remove it (every console session ends) and sign in again`);
  return key;
}

const mac = (key: Buffer, purpose: string, text: string): string => createHmac('sha256', key).update(`${purpose}\0${text}`).digest('base64url');

export function signSession(key: Buffer, name: string, nowMs = Date.now(), seconds = SESSION_SECONDS): string {
  const body = `${name}.${Math.floor(nowMs / 1000) + seconds}`;
  return `${body}.${mac(key, 'session', body)}`;
}

export interface Session {
  name: string;
  expires: number; // seconds since the epoch
}

// The session a cookie value carries, or null: malformed, tampered with, or expired.
export function verifySession(key: Buffer, value: string, nowMs = Date.now()): Session | null {
  const m = /^([a-z0-9-]+)\.(\d{1,12})\.([A-Za-z0-9_-]{43})$/.exec(value);
  if (!m || !isValidName(m[1])) return null;
  if (!same(m[3], mac(key, 'session', `${m[1]}.${m[2]}`))) return null;
  const expires = Number(m[2]);
  return expires * 1000 > nowMs ? { name: m[1], expires } : null;
}

// The CSRF token of a session: a MAC of its cookie under another purpose, so neither can be made
// from the other without the key.
export const csrfToken = (key: Buffer, cookieValue: string): string => mac(key, 'csrf', cookieValue);

export function csrfMatches(key: Buffer, cookieValue: string, given: string | string[] | undefined): boolean {
  return typeof given === 'string' && same(given, csrfToken(key, cookieValue));
}

const same = (a: string, b: string): boolean => a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b));

// Every value of the session cookie in a Cookie header, in its order. Not only the first: a
// cookie of the same name set by anything else on this host (cookies do not isolate by port; a
// function could set one with a longer Path, which a browser sends first) must not shadow a good
// session (the caller takes the first that verifies).
export function sessionCookiesOf(header: string | undefined): string[] {
  if (!header) return [];
  const out: string[] = [];
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === SESSION_COOKIE) out.push(part.slice(eq + 1).trim());
  }
  return out;
}

// Set-Cookie for a new session, or (value null) one that ends it at once.
export function setCookie(value: string | null, secure: boolean, seconds = SESSION_SECONDS): string {
  const attrs = [`${SESSION_COOKIE}=${value ?? ''}`, 'Path=/', 'HttpOnly', 'SameSite=Strict', `Max-Age=${value === null ? 0 : seconds}`];
  if (secure) attrs.push('Secure');
  return attrs.join('; ');
}

// A Cookie header without the session cookie (null: nothing left): the gateway passes no
// console session on, to a function nor to the API. A function that saw it could take the
// admin's session (GET /ui/session hands out the CSRF token to whoever holds the cookie).
export function withoutSessionCookie(header: string): string | null {
  const kept = header.split(';').filter((part) => part.split('=')[0].trim() !== SESSION_COOKIE);
  return kept.length ? kept.map((p) => p.trim()).join('; ') : null;
}
