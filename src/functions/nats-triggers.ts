// A function's NATS bridges (issue 14, "a real broker for the outside world"): a JetStream
// durable consumer whose every message becomes one asynchronous call (queue/nats-bridge.ts).
// Kept in the function's triggers file with its schedules and file drops (schedules.ts: one INI
// section a trigger, `nats=` makes it a bridge), so one file, one id space (the units are
// faass-fn-NAME-at-ID.* for every kind) and one add/rm/ls (triggers.ts). The key rules live here.
import { createHash } from 'node:crypto';
import { fail } from '../core/errors';
import { plainString } from '../core/validate';
import { NATS_AUTH_METHODS, NatsAuthMethod, checkNatsUser } from './nats-auth';

// auth: how the bridge authenticates (nats-auth.ts; its secret is in a private file of its own,
// never here); user: the NATS user name, with auth=user.
export const NATS_KEYS = ['nats', 'subject', 'durable', 'stream', 'auth', 'user'];

export interface NatsTrigger {
  readonly id: string;
  readonly url: string; // nats://HOST:PORT (or tls://), no credentials
  readonly subject: string; // what the consumer filters on: a NATS subject, wildcards allowed
  readonly durable: string; // the durable consumer's name, faass-NAME-ID by default
  readonly stream?: string; // the stream; none: the one whose subjects take `subject`
  readonly auth?: NatsAuthMethod; // none: no authentication
  readonly user?: string; // with auth=user
}

export interface NatsInput {
  nats?: unknown;
  subject?: unknown;
  durable?: unknown;
  stream?: unknown;
  auth?: unknown;
  user?: unknown;
}

// What an unparsable URL is echoed as: anything after the scheme up to the last '@' may be a
// password, so it is not repeated.
const withoutUserinfo = (raw: string): string => raw.replace(/^([A-Za-z][A-Za-z0-9+.-]*:)?(\/\/)?.*@/, (_m, scheme?: string, slashes?: string) => `${scheme ?? ''}${slashes ?? ''}…@`);

// A NATS server's URL as the client takes it. No credentials: the URL is written into the
// bridge's unit (its command line, shown by systemctl and ps), where a secret must never be.
export function checkNatsUrl(v: unknown): string {
  const raw = plainString('nats', v).trim();
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    return fail('FAASS_E_CONFIG_INVALID', `Invalid --nats ${JSON.stringify(withoutUserinfo(raw).slice(0, 120))}: give a URL such as nats://127.0.0.1:4222`);
  }
  if (u.protocol !== 'nats:' && u.protocol !== 'tls:') fail('FAASS_E_CONFIG_INVALID', `Invalid --nats URL: the scheme is nats:// or tls://, not ${u.protocol}//`);
  if (u.username || u.password) fail('FAASS_E_CONFIG_INVALID', 'Invalid --nats URL: credentials in the URL are not taken (they would be written into the unit); give --nats-creds FILE, --nats-token-file FILE or --nats-user U --nats-password-file FILE');
  if ((u.pathname && u.pathname !== '/') || u.search || u.hash) fail('FAASS_E_CONFIG_INVALID', 'Invalid --nats URL: a server is a host and a port, nothing after them');
  if (!/^[A-Za-z0-9.:[\]-]+$/.test(u.host)) fail('FAASS_E_CONFIG_INVALID', `Invalid --nats URL: host ${JSON.stringify(u.host.slice(0, 80))}`);
  return `${u.protocol}//${u.host}`;
}

// The host the URL names (brackets off an IPv6 address): what the bridge's unit may reach.
export const natsHost = (url: string): string => new URL(url).hostname.replace(/^\[|\]$/g, '');

// A subject: tokens of printable characters split by '.', '*' a whole token, '>' the last one.
export function checkSubject(v: unknown): string {
  const s = plainString('subject', v).trim();
  const tokens = s.split('.');
  const ok = s.length <= 255 && tokens.every((t, i) => /^[!-~]+$/.test(t) && !/[%\\"']/.test(t) && (!/[*>]/.test(t) || t === '*' || (t === '>' && i === tokens.length - 1)));
  if (!ok) fail('FAASS_E_CONFIG_INVALID', `Invalid --subject ${JSON.stringify(s.slice(0, 100))}: tokens of printable characters split by '.', with * standing for one token and > for the rest (orders.*, orders.>)`);
  return s;
}

// JetStream's names of streams and consumers: no '.', '*', '>' or whitespace; faass keeps to
// letters, digits, '_' and '-' (it writes them into a unit).
function checkJsName(flag: string, v: unknown): string {
  const s = plainString(flag, v).trim();
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(s)) fail('FAASS_E_CONFIG_INVALID', `Invalid --${flag} ${JSON.stringify(s.slice(0, 80))}: 1-64 letters, digits, '_' and '-'`);
  return s;
}

// faass-NAME-ID, which names the bridge's consumer on the server; past JetStream's 64 characters
// its start and a hash of it all, so that two bridges whose names differ only late (a name near
// the 63-character limit) do not share one consumer. Written into the triggers file when the
// bridge is made, so a bridge keeps its durable.
export function defaultDurable(fn: string, id: string): string {
  const full = `faass-${fn}-${id}`;
  if (full.length <= 64) return full;
  return `${full.slice(0, 55)}-${createHash('sha256').update(full).digest('hex').slice(0, 8)}`;
}

export function buildNatsTrigger(fn: string, id: string, raw: NatsInput): NatsTrigger {
  if (raw.nats === undefined) fail('FAASS_E_CONFIG_INVALID', `NATS trigger ${id}: nats (the server's URL) is required`);
  if (raw.subject === undefined) fail('FAASS_E_USAGE', '--nats URL needs --subject S: the subject its messages are published on');
  return Object.freeze({
    id,
    url: checkNatsUrl(raw.nats),
    subject: checkSubject(raw.subject),
    durable: raw.durable === undefined ? defaultDurable(fn, id) : checkJsName('durable', raw.durable),
    ...(raw.stream === undefined ? {} : { stream: checkJsName('stream', raw.stream) }),
    ...checkAuth(id, raw),
  });
}

// auth one of the methods, user given exactly when auth=user.
function checkAuth(id: string, raw: NatsInput): { auth?: NatsAuthMethod; user?: string } {
  if (raw.auth === undefined) {
    if (raw.user !== undefined) fail('FAASS_E_CONFIG_INVALID', `NATS trigger ${id}: user goes with auth=user`);
    return {};
  }
  const auth = NATS_AUTH_METHODS.find((m) => m === raw.auth);
  if (auth === undefined) return fail('FAASS_E_CONFIG_INVALID', `NATS trigger ${id}: auth is ${NATS_AUTH_METHODS.join(', ')} or absent`);
  if ((auth === 'user') !== (raw.user !== undefined)) fail('FAASS_E_CONFIG_INVALID', `NATS trigger ${id}: user goes with auth=user, and auth=user needs it`);
  return auth === 'user' ? { auth, user: checkNatsUser(raw.user) } : { auth };
}

export const natsSection = (n: NatsTrigger): Record<string, string> => ({ nats: n.url, subject: n.subject, durable: n.durable, ...(n.stream ? { stream: n.stream } : {}), ...(n.auth ? { auth: n.auth } : {}), ...(n.user ? { user: n.user } : {}) });

// How trigger ls and the API name the method: never the secret.
export const natsAuthLabel = (n: { auth?: NatsAuthMethod; user?: string }): string => (n.auth === 'user' ? `user:${n.user}` : (n.auth ?? 'none'));

// The bridge's command line, for its unit's ExecStart= and for faassctl serve's child alike: the
// secret's file by path (as the caller spells it), never the secret.
export function natsBridgeArgs(fn: string, n: NatsTrigger, queueMax: number, secretFile: string | undefined): string[] {
  const auth = n.auth && secretFile ? ['--auth', n.auth, ...(n.user ? ['--user', n.user] : []), '--secret-file', secretFile] : [];
  return ['--function', fn, '--trigger', n.id, '--nats', n.url, '--subject', n.subject, '--durable', n.durable, ...(n.stream ? ['--stream', n.stream] : []), ...auth, '--queue-max', String(queueMax)];
}
