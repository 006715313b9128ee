// What happens after an attempt of an asynchronous call: done, retried later, or dead. Pure.
// Retried: no answer at all (the runner or the dispatcher died, the socket refused, no answer in
// time), a 5xx (the runner's own 504 for a timeout among them) and 429; every other answer is
// the call's result, kept or not. Backoff doubles from 1 s up to 5 min, with jitter (half to one
// and a half times), and never comes before a Retry-After the function gave.
import { FUNCTION_DEFAULTS } from '../functions/function-config';

// The function's retries and retry_max_age; by default 2 retries (3 attempts) within 6 hours.
export interface RetryPolicy {
  retries: number;
  maxAgeMs: number;
}
const DEFAULT_POLICY: RetryPolicy = { retries: FUNCTION_DEFAULTS.retries, maxAgeMs: FUNCTION_DEFAULTS.retryMaxAge * 1000 };
const BASE_MS = 1000;
const CAP_MS = 5 * 60 * 1000;

// notStarted: the function never took the call (429: busy, its max_inflight reached by other
// calls; its socket refused or gone, as in a redeploy). Such attempts count toward its age only,
// not its attempts: traffic or a redeploy never sends a call to the dead letters by itself.
// answer: the function's answer headers and body, kept (up to its max_output) only when the
// call wants a callback (callback.ts); its body beyond that is cut off, and truncated says so.
export interface KeptAnswer {
  headers: Record<string, string>;
  body: Buffer;
  truncated: boolean;
}
export type Outcome = ({ status: number; retryAfter?: string; answer?: KeptAnswer } | { error: string }) & { notStarted?: boolean };

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

// counted: the attempts the function took, this one included (not-started ones left out);
// made: all attempts (the backoff grows with them); since: the call's age counts from there.
export function verdict(o: Outcome, counted: number, since: number, now: number, policy: RetryPolicy = DEFAULT_POLICY, random: () => number = Math.random, made = counted): Verdict {
  if (!retryable(o)) return { then: 'done' };
  if (counted > policy.retries) return { then: 'dead', why: `${counted} attempts failed` };
  const at = now + Math.max(backoffMs(Math.max(1, made), random), 'status' in o ? retryAfterMs(o.retryAfter, now) : 0);
  if (at - since > policy.maxAgeMs) return { then: 'dead', why: `older than ${Math.round(policy.maxAgeMs / 1000)}s at its next attempt` };
  return { then: 'retry', at };
}
