// The dispatcher delivers queued asynchronous calls (spool.ts) and exits when none is left:
// systemd starts it again when a doorbell rings (faass-dispatch.path). One lane per function,
// each delivering up to the function's max_inflight calls at once (at most LANE_MAX), oldest
// first, skipping calls whose retry is not due, so a call that keeps failing never holds up
// the calls behind it. Every attempt is recorded before it is made: an attempt this dispatcher
// finds recorded but unfinished died with its dispatcher, and counts as a failed attempt, so a
// call that kills its dispatcher (or its runner) every time still ends in the dead letters.
import * as fs from 'node:fs';
import { Paths } from '../core/paths';
import { FUNCTION_DEFAULTS, loadFunctionConfig } from '../functions/function-config';
import { logLine, errorMessage } from '../observe/log';
import { CallState, QueuedCall, bury, diskFull, doorbells, functionQueue, queueRoot, readCall, readState, remove, ring, rung, setAside, silence, sweepTemporary, waiting, writeState } from './spool';
import { Outcome, RetryPolicy, Verdict, verdict } from './retry';
import { deliver } from './deliver';
import { forgetOld, isDone, recordDone } from './status';
import { markSettled } from './drop-marks';
import { forgetOldKeys } from './idempotency';
import { CallbackSender, forgetOldCallbacks, pendingCallbacks, queueCallback } from './callback';
import { attemptResult, countAttempt, flushQueueCounters } from './counters';

export const LANE_MAX = 16;
// A change nobody told us about (a lost fs.watch event) is seen within this.
const RESCAN_MS = 1000;
// A full disk: the lane tries again this long after a write failed for want of space.
const SPACE_WAIT_MS = 2000;

export type Deliver = (p: Paths, call: QueuedCall, attempt: number, timeoutSeconds: number) => Promise<Outcome>;

// Resolves at the first of: wake(), the deadline, or RESCAN_MS.
class Waker {
  private resolve: (() => void) | null = null;
  wake = (): void => {
    this.resolve?.();
  };
  wait(until = Infinity, now = Date.now()): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, Math.max(0, Math.min(RESCAN_MS, until - now)));
      const self = this;
      function done() {
        clearTimeout(timer);
        self.resolve = null;
        resolve();
      }
      this.resolve = done;
    });
  }
}

function watch(dir: string, onChange: () => void): fs.FSWatcher | null {
  try {
    const w = fs.watch(dir, onChange);
    w.on('error', () => undefined);
    return w;
  } catch {
    return null; // not there yet: the rescan sees it
  }
}

// What a lane needs of the function's file: its concurrency limit, timeout and retry policy.
interface Settings {
  limit: number;
  timeout: number;
  policy: RetryPolicy;
}

class Lane {
  private readonly inFlight = new Set<string>();
  private readonly states = new Map<string, CallState>();
  private readonly waker = new Waker();
  private watcher: fs.FSWatcher | null = null;
  private readonly callbacks: CallbackSender;
  // The disk is full: no attempt starts before this (ms since the epoch); 0, it is not.
  private fullUntil = 0;

  constructor(
    private readonly p: Paths,
    readonly name: string,
    private readonly send: Deliver,
    private readonly stopping: () => boolean,
  ) {
    this.callbacks = new CallbackSender(p, name, this.waker.wake);
  }

  // Until the function has no call waiting (or a stop: then until its attempts have ended).
  async run(): Promise<void> {
    await forgetOld(this.p, this.name).catch(() => 0);
    await forgetOldKeys(this.p, this.name).catch(() => 0);
    await forgetOldCallbacks(this.p, this.name).catch(() => 0);
    await sweepTemporary(this.p, this.name).catch(() => 0);
    this.watcher = watch(functionQueue(this.p, this.name), this.waker.wake);
    try {
      for (;;) {
        const entries = await waiting(this.p, this.name);
        // A result's callback keeps the lane (and its doorbell) going until it is sent.
        const callbacks = await pendingCallbacks(this.p, this.name);
        if (this.stopping()) {
          if (this.inFlight.size === 0 && !this.callbacks.busy()) return;
        } else if (entries.length === 0 && this.inFlight.size === 0 && callbacks.length === 0) {
          await silence(this.p, this.name);
          if ((await waiting(this.p, this.name)).length === 0) return;
          await ring(this.p, this.name); // queued as the doorbell stopped: ring again, carry on
          continue;
        }
        const due = this.stopping() ? Infinity : Math.min(await this.startDue(entries), await this.callbacks.startDue(callbacks));
        await this.waker.wait(due);
      }
    } finally {
      this.watcher?.close();
    }
  }

  wake(): void {
    this.waker.wake();
  }

  // Starts what is due, up to the limit; returns when the next retry falls due.
  private async startDue(entries: string[]): Promise<number> {
    if (Date.now() < this.fullUntil) return this.fullUntil;
    const limit = this.settings().limit;
    let next = Infinity;
    for (const entry of entries) {
      if (this.inFlight.size >= limit) break;
      if (this.inFlight.has(entry)) continue;
      const state = await this.state(entry);
      if (!state) continue; // just buried
      if (state.nextAt > Date.now()) {
        next = Math.min(next, state.nextAt);
        continue;
      }
      this.inFlight.add(entry);
      void this.attempt(entry, state)
        .catch((e) => (diskFull(e) ? this.waitForSpace() : logLine('err', `Failed to deliver ${entry} of ${this.name}: ${errorMessage(e)}`, { FAASS_FUNCTION: this.name })))
        .finally(() => {
          this.inFlight.delete(entry);
          this.waker.wake();
        });
    }
    return next;
  }

  // The function's file as it says now (a redeploy may change it), read once per attempt (and
  // once per scan, for the limit). Deleted or broken: its attempts fail one at a time, and say why.
  private settings(): Settings {
    try {
      const cfg = loadFunctionConfig(this.p, this.name);
      return { limit: Math.max(1, Math.min(LANE_MAX, cfg.maxInflight)), timeout: cfg.timeout, policy: { retries: cfg.retries, maxAgeMs: cfg.retryMaxAge * 1000 } };
    } catch {
      return { limit: 1, timeout: FUNCTION_DEFAULTS.timeout, policy: { retries: FUNCTION_DEFAULTS.retries, maxAgeMs: FUNCTION_DEFAULTS.retryMaxAge * 1000 } };
    }
  }

  // The call's attempts so far, read once; an attempt left unfinished by an earlier dispatcher
  // died with it. null: that made it dead, and it was buried.
  private async state(entry: string): Promise<CallState | null> {
    const known = this.states.get(entry);
    if (known) return known;
    const state = await readState(this.p, this.name, entry);
    const last = state.attempts[state.attempts.length - 1];
    if (last && last.endedAt === undefined) {
      const call = await this.read(entry);
      if (call === 'gone') return this.forget(entry);
      if (!call) return this.setAside(entry);
      if (await isDone(this.p, this.name, call.id)) {
        // Its result was recorded as its dispatcher stopped: done, not to be delivered again.
        logLine('notice', `async call=${call.id} function=${call.name} was done before its dispatcher stopped: removed from the queue`, { FAASS_FUNCTION: call.name, FAASS_CALL_ID: call.id });
        await remove(this.p, this.name, entry);
        return null;
      }
      const died: Outcome = { error: 'its dispatcher stopped during the attempt' };
      last.endedAt = Date.now();
      last.error = died.error;
      if (!(await this.settle(entry, call, state, died, this.settings().policy))) return null;
    }
    this.states.set(entry, state);
    return state;
  }

  private async attempt(entry: string, state: CallState): Promise<void> {
    const call = await this.read(entry);
    if (call === 'gone') return void this.forget(entry);
    if (!call) return void (await this.setAside(entry));
    const settings = this.settings();
    const n = state.attempts.length + 1;
    const attempt: CallState['attempts'][number] = { n, startedAt: Date.now() };
    state.attempts.push(attempt);
    try {
      await writeState(this.p, this.name, entry, state); // before the attempt: see the top
    } catch (e) {
      state.attempts.pop(); // not made: it does not count
      throw e;
    }
    this.spaceAgain();
    const outcome = await this.send(this.p, call, n, settings.timeout);
    attempt.endedAt = Date.now();
    if ('status' in outcome) attempt.status = outcome.status;
    else attempt.error = outcome.error;
    if (outcome.notStarted) attempt.notStarted = true;
    await this.settle(entry, call, state, outcome, settings.policy);
  }

  // After an attempt: the call is done, waits for its retry, or is dead. false: it is gone.
  private async settle(entry: string, call: QueuedCall, state: CallState, outcome: Outcome, policy: RetryPolicy): Promise<boolean> {
    const n = state.attempts.length;
    const counted = state.attempts.filter((a) => !a.notStarted).length;
    const v: Verdict = verdict(outcome, counted, state.since ?? call.enqueuedAt, Date.now(), policy, Math.random, n);
    const result = 'status' in outcome ? `status=${outcome.status}` : `error=${JSON.stringify(outcome.error)}`;
    const fields = { FAASS_FUNCTION: call.name, FAASS_CALL_ID: call.id };
    // Before the call is done (see callback.ts), and after any attempt of an earlier result's.
    if (v.then !== 'retry') await this.callbacks.replacing(call.id, () => queueCallback(this.p, call, state, outcome, v.then === 'dead' ? v.why : undefined));
    countAttempt(this.p, this.name, attemptResult(outcome, v));
    if (v.then === 'done') {
      // Recorded first: a dispatcher killed from here on leaves a call whose result is known, which
      // the next one removes without delivering it again (state()).
      if (call.drop) await markSettled(this.p, this.name, call.drop, 'done'); // before the record: see drop-marks.ts
      // On a full disk the call goes unrecorded rather than stay to be delivered again and again.
      if ('status' in outcome) await recordDone(this.p, this.name, call.id, outcome.status, state).catch((e: unknown) => {
        if (!diskFull(e)) throw e;
        logLine('warning', `async call=${call.id} function=${call.name} was answered, but no space was left to record it: faassctl calls show will not know it`, fields);
      });
      logLine('info', `async call=${call.id} function=${call.name} attempt=${n} ${result} done`, fields);
      await remove(this.p, this.name, entry);
      this.states.delete(entry);
      return false;
    }
    if (v.then === 'dead') {
      logLine('warning', `async call=${call.id} function=${call.name} attempt=${n} ${result} dead: ${v.why}; kept in its dead letters`, fields);
      await writeState(this.p, this.name, entry, state);
      if (call.drop) await markSettled(this.p, this.name, call.drop, 'failed');
      await bury(this.p, this.name, entry);
      this.states.delete(entry);
      return false;
    }
    state.nextAt = v.at;
    logLine('notice', `async call=${call.id} function=${call.name} attempt=${n} ${result} retry in ${((v.at - Date.now()) / 1000).toFixed(1)}s`, fields);
    await writeState(this.p, this.name, entry, state);
    return true;
  }

  // An attempt that cannot be recorded is not made (see the top): on a full disk the lane starts
  // none for SPACE_WAIT_MS, then tries again, saying so once (not once per try: no flood while
  // the disk stays full). The calls stay queued; delivered ones make room as they go.
  private waitForSpace(): void {
    if (this.fullUntil === 0) logLine('err', `The queue of ${this.name} cannot be written (the disk is full): its calls wait for space`, { FAASS_FUNCTION: this.name });
    this.fullUntil = Date.now() + SPACE_WAIT_MS;
  }

  private spaceAgain(): void {
    if (this.fullUntil === 0) return;
    this.fullUntil = 0;
    logLine('notice', `The queue of ${this.name} can be written again: delivering its calls`, { FAASS_FUNCTION: this.name });
  }

  // The call in entry; null: the file is no call faass wrote (or cannot be read); 'gone': it left
  // the queue since it was listed (done, buried or set aside by an attempt that ended meanwhile):
  // nothing to do, and nothing wrong with it.
  private async read(entry: string): Promise<QueuedCall | null | 'gone'> {
    try {
      return await readCall(this.p, this.name, entry);
    } catch (e) {
      return (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'gone' : null;
    }
  }

  private forget(entry: string): null {
    this.states.delete(entry);
    return null;
  }

  private async setAside(entry: string): Promise<null> {
    logLine('err', `Queue entry ${entry} of ${this.name} is not a call faass wrote: moved to its dead letters as ${entry}.corrupt`, { FAASS_FUNCTION: this.name });
    await setAside(this.p, this.name, entry).catch(() => undefined);
    this.states.delete(entry);
    return null;
  }
}

export class Dispatcher {
  private readonly lanes = new Map<string, Promise<void>>();
  private readonly running = new Map<string, Lane>();
  private readonly waker = new Waker();
  private stopped = false;

  constructor(
    private readonly p: Paths,
    private readonly send: Deliver = deliver,
  ) {}

  // Resolves when no call waits (or, after stop(), when the attempts under way have ended).
  async run(): Promise<void> {
    fs.mkdirSync(doorbells(this.p), { recursive: true, mode: 0o700 });
    // Nothing of faass writes a hidden file there now; one left by an older version would keep
    // the path unit starting a dispatcher that finds no doorbell, into the start limit.
    for (const f of fs.readdirSync(doorbells(this.p))) if (f.startsWith('.')) fs.rmSync(`${doorbells(this.p)}/${f}`, { force: true });
    const watcher = watch(doorbells(this.p), this.waker.wake);
    try {
      // A call whose doorbell was lost (a crash between its write and the bell) is found here.
      for (const name of await this.queuedAnywhere()) this.startLane(name);
      for (;;) {
        if (!this.stopped) for (const name of await rung(this.p)) this.startLane(name);
        if (this.lanes.size === 0) return;
        await Promise.race([this.waker.wait(), ...this.lanes.values()]);
      }
    } finally {
      watcher?.close();
      flushQueueCounters();
    }
  }

  stop(): void {
    this.stopped = true;
    for (const lane of this.running.values()) lane.wake();
    this.waker.wake();
  }

  private startLane(name: string): void {
    if (this.lanes.has(name)) return;
    const lane = new Lane(this.p, name, this.send, () => this.stopped);
    this.running.set(name, lane);
    const done = lane
      .run()
      .catch((e) => logLine('err', `The queue of ${name} stopped: ${errorMessage(e)}`, { FAASS_FUNCTION: name }))
      .finally(() => {
        this.lanes.delete(name);
        this.running.delete(name);
        this.waker.wake();
      });
    this.lanes.set(name, done);
  }

  private async queuedAnywhere(): Promise<string[]> {
    let names: string[];
    try {
      names = (await fs.promises.readdir(queueRoot(this.p))).filter((n) => !n.startsWith('.'));
    } catch {
      return [];
    }
    const out: string[] = [];
    for (const name of names) if ((await waiting(this.p, name)).length > 0 || (await pendingCallbacks(this.p, name)).length > 0) out.push(name);
    return out;
  }
}
