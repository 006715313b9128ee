// What happens after an attempt of an asynchronous call: done, retried later, or dead. Pure.
// Retried: no answer at all (the runner or the dispatcher died, the socket refused, no answer in
// time), a 5xx (the runner's own 504 for a timeout among them) and 429; every other answer is
// the call's result, kept or not. Backoff doubles from 1 s up to 5 min, with jitter (half to one
// and a half times), and never comes before a Retry-After the function gave.
export const DEFAULT_RETRIES = 2; // so at most 3 attempts
export const DEFAULT_MAX_AGE_MS = 6 * 3600 * 1000;
const BASE_MS = 1000;
const CAP_MS = 5 * 60 * 1000;

export type Outcome = { status: number; retryAfter?: string } | { error: string };

export type Verdict = { then: 'done' } | { then: 'retry'; at: number } | { then: 'dead'; why: string };

export function retryable(o: Outcome): boolean {
  return 'error' in o || o.status >= 500 || o.status === 429;
}

// Seconds (or an HTTP date) the function asked to wait, in ms; 0 when it said nothing usable.
export function retryAfterMs(value: string | undefined, now: number): number {
  if (!value) return 0;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const at = Date.parse(value);
  return Number.isFinite(at) ? Math.max(0, at - now) : 0;
}

export function backoffMs(attempt: number, random: () => number = Math.random): number {
  const base = Math.min(CAP_MS, BASE_MS * 2 ** Math.max(0, attempt - 1));
  return Math.round(base * (0.5 + random()));
}

// attempts: how many were made, this one included; enqueuedAt: the call's age counts from there.
export function verdict(o: Outcome, attempts: number, enqueuedAt: number, now: number, policy = { retries: DEFAULT_RETRIES, maxAgeMs: DEFAULT_MAX_AGE_MS }, random: () => number = Math.random): Verdict {
  if (!retryable(o)) return { then: 'done' };
  if (attempts > policy.retries) return { then: 'dead', why: `${attempts} attempts failed` };
  const at = now + Math.max(backoffMs(attempts, random), 'status' in o ? retryAfterMs(o.retryAfter, now) : 0);
  if (at - enqueuedAt > policy.maxAgeMs) return { then: 'dead', why: `older than ${Math.round(policy.maxAgeMs / 1000)}s at its next attempt` };
  return { then: 'retry', at };
}
