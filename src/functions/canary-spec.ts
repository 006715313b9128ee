// What a canary is (docs/DESIGN.md "Canaries"): a version of a function that runs beside its
// current one and gets a share of its calls, and the rule that aborts it. Pure: the options as a
// user writes them (--canary 10%, --canary-window 1min), and the route file the gateway reads.
import { FaassError, fail } from '../core/errors';
import { parseTimespan } from '../core/timespan';

export interface CanaryRoute {
  readonly version: number; // the canary's version number (versions.ts)
  readonly percent: number; // the share of calls it gets, 0 < percent < 100
  readonly header: string | null; // sticky: calls with this header (lowercase) go by its value's hash
  readonly maxErrors: number | null; // percent of errors over which the gateway aborts it; null: never
  readonly window: number; // seconds the error share is counted over
  readonly minCalls: number; // calls in the window before the share is judged
  readonly started: string; // ISO time of its deploy: with the version, which canary this is
}

export const CANARY_DEFAULTS = { window: 60, minCalls: 10 };
const WINDOW_MAX = 86400;

// The options of `deploy --canary` (and of the API), as given.
export interface CanaryInput {
  percent: unknown;
  header?: unknown;
  maxErrors?: unknown;
  window?: unknown;
  minCalls?: unknown;
}

// "10%" or "10": a share in percent, at most two decimals (a call's bucket is one of 10,000).
export function percentOf(flag: string, v: unknown, opts: { allowHundred?: boolean } = {}): number {
  const text = String(v ?? '').trim();
  const m = /^(\d{1,3}(?:\.\d{1,2})?)\s*%?$/.exec(text);
  const n = m ? Number(m[1]) : NaN;
  const top = opts.allowHundred ? 100 : 99.99;
  if (!m || n <= 0 || n > top) fail('FAASS_E_USAGE', `Invalid ${flag} ${JSON.stringify(text.slice(0, 20))}: expected a percentage above 0 and ${opts.allowHundred ? 'at most 100' : 'below 100'}, such as 10%`);
  return n;
}

// An HTTP header name (RFC 9110 token), kept lowercase as Node gives headers.
const TOKEN_RE = /^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,100}$/;

function headerOf(v: unknown): string | null {
  if (v === undefined || v === null || v === '') return null;
  const text = String(v);
  if (!TOKEN_RE.test(text)) fail('FAASS_E_USAGE', `Invalid --canary-header ${JSON.stringify(text.slice(0, 40))}: expected an HTTP header name such as X-User`);
  return text.toLowerCase();
}

function windowOf(v: unknown): number {
  if (v === undefined) return CANARY_DEFAULTS.window;
  const text = String(v);
  const n = parseTimespan(text);
  if (n === null || n < 1 || n > WINDOW_MAX) fail('FAASS_E_USAGE', `Invalid --canary-window ${JSON.stringify(text.slice(0, 40))}: expected a time span from 1s to 1d, such as 1min`);
  return n;
}

function minCallsOf(v: unknown): number {
  if (v === undefined) return CANARY_DEFAULTS.minCalls;
  const text = String(v);
  if (!/^\d{1,7}$/.test(text) || Number(text) < 1) fail('FAASS_E_USAGE', `Invalid --canary-min-calls ${JSON.stringify(text.slice(0, 20))}: expected a whole number from 1`);
  return Number(text);
}

// Judged before anything is deployed.
export function buildCanaryRoute(input: CanaryInput, version: number, started: string): CanaryRoute {
  return Object.freeze({
    version,
    percent: percentOf('--canary', input.percent),
    header: headerOf(input.header),
    maxErrors: input.maxErrors === undefined ? null : percentOf('--canary-max-errors', input.maxErrors, { allowHundred: false }),
    window: windowOf(input.window),
    minCalls: minCallsOf(input.minCalls),
    started,
  });
}

export const renderCanaryRoute = (r: CanaryRoute): string => JSON.stringify(r) + '\n';

// The route file as written by renderCanaryRoute; anything else is FAASS_E_CONFIG_BROKEN (the
// gateway then routes nothing to the canary: the current version keeps every call).
export function parseCanaryRoute(text: string): CanaryRoute {
  let v: Partial<Record<keyof CanaryRoute, unknown>>;
  try {
    v = JSON.parse(text) as typeof v;
  } catch (e) {
    throw new FaassError('FAASS_E_CONFIG_BROKEN', `not JSON (${(e as Error).message})`);
  }
  const bad = (k: string) => fail('FAASS_E_CONFIG_BROKEN', `invalid ${k}`);
  const num = (k: keyof CanaryRoute, ok: (n: number) => boolean) => (typeof v[k] === 'number' && ok(v[k] as number) ? (v[k] as number) : bad(k));
  return Object.freeze({
    version: num('version', (n) => Number.isSafeInteger(n) && n >= 1),
    percent: num('percent', (n) => n > 0 && n < 100),
    header: v.header === null ? null : typeof v.header === 'string' && TOKEN_RE.test(v.header) ? v.header.toLowerCase() : bad('header'),
    maxErrors: v.maxErrors === null ? null : num('maxErrors', (n) => n > 0 && n < 100),
    window: num('window', (n) => n >= 1 && n <= WINDOW_MAX),
    minCalls: num('minCalls', (n) => Number.isSafeInteger(n) && n >= 1),
    started: typeof v.started === 'string' ? v.started : bad('started'),
  });
}

// What the gateway saw of a canary (its state file, paths.ts canaryStatePath): the calls and errors
// in its window at `at`, and, once it aborted the canary, why. Which canary: version and started.
export interface CanaryState {
  version: number;
  started: string;
  calls: number;
  errors: number;
  at: string;
  aborted?: { at: string; reason: string };
  // The window's slices (gateway/canary-pick.ts), so the next gateway process (after an idle
  // exit) goes on counting where this one stopped: a long window is judged on all its calls.
  slices?: { slot: number; calls: number[]; errors: number[] };
}

export function parseCanaryState(text: string | null): CanaryState | null {
  if (text === null) return null;
  try {
    const v = JSON.parse(text) as CanaryState;
    return typeof v.version === 'number' && typeof v.started === 'string' && typeof v.calls === 'number' && typeof v.errors === 'number' ? v : null;
  } catch {
    return null; // written atomically; a file that is not ours says nothing
  }
}

export const sameCanary = (a: { version: number; started: string }, b: { version: number; started: string }): boolean => a.version === b.version && a.started === b.started;
