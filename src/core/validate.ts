import { fail, FaassError } from './errors';
import { parseTimespan } from './timespan';

// Lowercase DNS label (RFC 1123): what a unit name, a socket file and a URL segment all accept.
const NAME_RE = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

const NAME_RULE = "1-63 lowercase letters, digits and '-', starting and ending with a letter or digit";

// What a name names: each follows the one rule above (a secret's name is also a file's and a
// credential's name in LoadCredential=, which the rule keeps free of '/', ':' and '.').
export type NameOf = 'function' | 'credential' | 'secret';

// The one refusal of a bad name (a function's, a credential's or a secret's), whatever route it came by.
export function invalidName(name: unknown, what: NameOf = 'function'): FaassError {
  const shown = JSON.stringify(String(name ?? '').slice(0, 80)); // the name as given, never whole
  return new FaassError('FAASS_E_NAME_INVALID', `Invalid ${what} name ${shown}: use ${NAME_RULE}`);
}

export function validateName(name: unknown, what: NameOf = 'function'): string {
  if (typeof name !== 'string' || !NAME_RE.test(name)) throw invalidName(name, what);
  return name;
}

// A topic (POST /topic/T, faassctl publish T, trigger add --topic T): dot-separated words of
// lowercase letters, digits, '-' and '_' (orders.created, billing-v2.done). It is a URL segment, a
// line in a function's topics file and a label of /metrics, so nothing else may be in it.
const TOPIC_RE = /^[a-z0-9](?:[a-z0-9_-]{0,62})(?:\.[a-z0-9](?:[a-z0-9_-]{0,62}))*$/;
export const TOPIC_MAX = 200;
const TOPIC_RULE = `up to ${TOPIC_MAX} characters: words of lowercase letters, digits, '-' and '_' (each starting with a letter or digit) joined by '.', such as orders.created`;

export const isValidTopic = (topic: string): boolean => topic.length <= TOPIC_MAX && TOPIC_RE.test(topic);

export function validateTopic(topic: unknown): string {
  if (typeof topic !== 'string' || !isValidTopic(topic)) fail('FAASS_E_TOPIC_INVALID', `Invalid topic ${JSON.stringify(String(topic ?? '').slice(0, 80))}: use ${TOPIC_RULE}`);
  return topic;
}

// Names `faassctl logs NAME` reads as faass's own journals, not a function's: a function may
// not be given one (one deployed before the rule keeps its name).
export const RESERVED_FUNCTION_NAMES = ['gateway', 'api', 'dispatch'];

export function refuseReservedName(name: string): void {
  if (RESERVED_FUNCTION_NAMES.includes(name)) fail('FAASS_E_NAME_INVALID', `Function name ${JSON.stringify(name)} is reserved: faassctl logs ${name} shows faass's own ${name} journal; choose another name (reserved: ${RESERVED_FUNCTION_NAMES.join(', ')})`);
}

export function isValidName(name: string): boolean {
  return NAME_RE.test(name);
}

// Control characters would let a value inject lines into a unit or INI file.
export function plainString(field: string, v: unknown, opts: { allowEmpty?: boolean } = {}): string {
  if (typeof v !== 'string') fail('FAASS_E_CONFIG_INVALID', `Invalid ${field}: expected a value (KEY=VALUE)`);
  if (/[\x00-\x1f\x7f]/.test(v)) fail('FAASS_E_CONFIG_INVALID', `Invalid ${field}: control characters and newlines are not allowed`);
  if (!opts.allowEmpty && v.trim() === '') fail('FAASS_E_CONFIG_INVALID', `Invalid ${field}: empty value`);
  return v;
}

export function number(field: string, v: unknown, min: number, max: number, opts: { integer?: boolean } = {}): number {
  const s = typeof v === 'number' ? String(v) : plainString(field, v);
  const re = opts.integer ? /^\d+$/ : /^\d+(\.\d+)?$/;
  if (!re.test(s.trim())) fail('FAASS_E_CONFIG_INVALID', `Invalid ${field} ${JSON.stringify(s.slice(0, 80))}: expected ${opts.integer ? 'a whole number' : 'a number'}`);
  const n = Number(s);
  if (n < min || n > max) fail('FAASS_E_CONFIG_INVALID', `Invalid ${field} ${s.slice(0, 80)}: must be between ${min} and ${max}`);
  return n;
}

// Seconds, written as a number or as systemd writes time spans (core/timespan.ts).
export function timespan(field: string, v: unknown, min: number, max: number): number {
  const s = typeof v === 'number' ? String(v) : plainString(field, v);
  const n = parseTimespan(s);
  if (n === null) fail('FAASS_E_CONFIG_INVALID', `Invalid ${field} ${JSON.stringify(s.slice(0, 80))}: expected seconds or a time span such as 30s, 5min or 1h 30min`);
  if (n < min || n > max) fail('FAASS_E_CONFIG_INVALID', `Invalid ${field} ${JSON.stringify(s.slice(0, 80))}: must be between ${min}s and ${max}s${max % 86400 === 0 ? ` (${max / 86400}d)` : max % 3600 === 0 ? ` (${max / 3600}h)` : ''}`);
  return n;
}

const SIZE_UNITS: Record<string, number> = { '': 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3 };

// Sizes as systemd writes them: 512, 64K, 10M, 1G (base 1024).
export function size(field: string, v: unknown, min: number, max: number): number {
  const s = plainString(field, v).trim();
  const m = /^(\d+)([KMG]?)$/.exec(s);
  if (!m) fail('FAASS_E_CONFIG_INVALID', `Invalid ${field} ${JSON.stringify(s.slice(0, 80))}: expected bytes with an optional K, M or G suffix`);
  const n = Number(m[1]) * SIZE_UNITS[m[2]];
  if (n < min || n > max) fail('FAASS_E_CONFIG_INVALID', `Invalid ${field} ${s.slice(0, 80)}: must be between ${min} and ${max} bytes`);
  return n;
}

export function oneOf<T extends string>(field: string, v: unknown, choices: readonly T[]): T {
  const s = plainString(field, v);
  if (!(choices as readonly string[]).includes(s)) fail('FAASS_E_CONFIG_INVALID', `Invalid ${field} ${JSON.stringify(s.slice(0, 80))}: expected one of ${choices.join(', ')}`);
  return s as T;
}

export type Address = { kind: 'tcp'; host: string; port: number; text: string } | { kind: 'unix'; path: string; text: string };

// Listen addresses as systemd's ListenStream= takes them: HOST:PORT, [V6]:PORT, PORT or /path.
export function address(field: string, v: unknown): Address {
  const s = plainString(field, v).trim();
  if (s.startsWith('/')) return { kind: 'unix', path: s, text: s };
  const m = /^(?:(\d{1,3}(?:\.\d{1,3}){3})|\[([0-9a-fA-F:.]+)\]):(\d{1,5})$/.exec(s) ?? /^()()(\d{1,5})$/.exec(s);
  if (!m) fail('FAASS_E_CONFIG_INVALID', `Invalid ${field} ${JSON.stringify(s.slice(0, 80))}: expected IPv4:PORT, [IPv6]:PORT, PORT or an absolute socket path`);
  const port = Number(m[3]);
  if (port < 1 || port > 65535) fail('FAASS_E_CONFIG_INVALID', `Invalid ${field} ${JSON.stringify(s.slice(0, 80))}: port must be 1-65535`);
  if (m[1] && m[1].split('.').some((o) => Number(o) > 255)) fail('FAASS_E_CONFIG_INVALID', `Invalid ${field} ${JSON.stringify(s.slice(0, 80))}: bad IPv4 address`);
  return { kind: 'tcp', host: m[1] || m[2] || '::', port, text: s };
}

// yes/no, true/false, on/off, 1/0 (INI files and command lines say all of them).
export function boolean(field: string, v: unknown): boolean {
  if (typeof v === 'boolean') return v;
  const s = String(v).trim().toLowerCase();
  if (['yes', 'true', 'on', '1'].includes(s)) return true;
  if (['no', 'false', 'off', '0'].includes(s)) return false;
  return fail('FAASS_E_CONFIG_INVALID', `Invalid ${field} ${JSON.stringify(String(v).slice(0, 40))}: expected yes or no`);
}
