// Which side of a canary a call goes to, and how the canary's errors are counted (pure; the
// gateway's state is canaries.ts). docs/DESIGN.md "Canaries".
import { createHash } from 'node:crypto';

// A call's bucket is one of 10,000: a share is set to a hundredth of a percent.
export const BUCKETS = 10000;

// Sticky: the same header value, the same bucket, for this function, whichever gateway process
// or canary asks (the function's name is mixed in, so one caller is not in every function's
// canary). The first 32 bits of a sha256: evenly spread, and not steerable by picking values
// better than by trying them.
export function stickyBucket(fn: string, value: string): number {
  return createHash('sha256').update(fn).update('\0').update(value).digest().readUInt32BE(0) % BUCKETS;
}

// bucket null: a call without the header (or with no sticky header set) is split at random.
export function toCanary(percent: number, bucket: number | null, random: () => number = Math.random): boolean {
  const b = bucket ?? Math.floor(random() * BUCKETS);
  return b < Math.round(percent * (BUCKETS / 100));
}

// A window's slices: the newest one's index (in slices since the epoch) and each one's counts.
export interface WindowSlices {
  slot: number;
  calls: number[];
  errors: number[];
}

// Calls and errors over the last `windowMs`, in `slots` slices (the oldest slice leaves whole,
// so the window is exact to windowMs / slots). Memory is fixed whatever the rate.
export class WindowCounter {
  private readonly slotMs: number;
  private readonly calls: number[];
  private readonly errors: number[];
  private slot = -1; // the index of the newest slice counted, in slots since the epoch

  constructor(
    windowMs: number,
    private readonly slots = 60,
  ) {
    this.slotMs = Math.max(1, windowMs / slots);
    this.calls = new Array<number>(slots).fill(0);
    this.errors = new Array<number>(slots).fill(0);
  }

  add(now: number, error: boolean): void {
    const i = this.advance(now);
    this.calls[i]++;
    if (error) this.errors[i]++;
  }

  totals(now: number): { calls: number; errors: number } {
    this.advance(now);
    return { calls: sum(this.calls), errors: sum(this.errors) };
  }

  // What the slices hold, to be carried into the next gateway process (restore).
  snapshot(): WindowSlices {
    return { slot: this.slot, calls: [...this.calls], errors: [...this.errors] };
  }

  // Takes up a snapshot of a counter of the same window; one of another shape is ignored.
  restore(s: WindowSlices): void {
    const ok = (a: unknown): a is number[] => Array.isArray(a) && a.length === this.slots && a.every((n) => Number.isSafeInteger(n) && n >= 0);
    if (!Number.isSafeInteger(s.slot) || !ok(s.calls) || !ok(s.errors)) return;
    this.slot = s.slot;
    this.calls.splice(0, this.slots, ...s.calls);
    this.errors.splice(0, this.slots, ...s.errors);
  }

  // Empties the slices older than the window; the index of now's.
  private advance(now: number): number {
    const slot = Math.floor(now / this.slotMs);
    if (this.slot < 0 || slot - this.slot >= this.slots) {
      this.calls.fill(0);
      this.errors.fill(0);
    } else for (let s = this.slot + 1; s <= slot; s++) this.clear(s % this.slots);
    if (slot > this.slot) this.slot = slot;
    return this.slot % this.slots;
  }

  private clear(i: number): void {
    this.calls[i] = 0;
    this.errors[i] = 0;
  }
}

const sum = (a: number[]) => a.reduce((s, n) => s + n, 0);

// Whether the canary's error share is over its limit: only once the window holds minCalls calls.
export function overLimit(t: { calls: number; errors: number }, maxErrors: number | null, minCalls: number): boolean {
  return maxErrors !== null && t.calls >= minCalls && (t.errors / t.calls) * 100 > maxErrors;
}
