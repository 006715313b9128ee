// The gateway's side of canaries (docs/DESIGN.md "Canaries"): which calls go to a function's
// canary (canary-pick.ts), what they came to, and the automatic abort. The route is read from
// the function's canary file (written by faassctl or the API) and re-read only when that file
// changes (a stat per call, as function-table.ts); what the gateway saw is written to a state
// file, the one place of the canary's the gateway's unit may write: the calls and errors in the
// window (at most once a second, for faassctl canary) and an abort, at once, so a gateway started
// after its idle exit never routes to an aborted canary again.
import * as fs from 'node:fs';
import type { IncomingHttpHeaders } from 'node:http';
import { Paths, canaryRoutePath, canarySocketPath, canaryStatePath } from '../core/paths';
import { readIfExists, writeFileAtomic } from '../core/fs-atomic';
import { CanaryRoute, CanaryState, parseCanaryRoute, parseCanaryState, sameCanary } from '../functions/canary-spec';
import { formatSeconds } from '../core/timespan';
import { errorMessage, log, logLine } from '../observe/log';
import { WindowCounter, overLimit, stickyBucket, toCanary } from './canary-pick';

const FLUSH_MS = 1000;

const freshState = (r: CanaryRoute, now: number): CanaryState => ({ version: r.version, started: r.started, calls: 0, errors: 0, at: new Date(now).toISOString() });

interface Live {
  readonly route: CanaryRoute;
  readonly socket: string;
  readonly counter: WindowCounter;
  aborted: boolean;
  dirty: boolean; // counted since the state file was last written
}

// A call sent to a canary; done() once with what it came to (error: a 5xx the canary answered,
// no answer in time, or its runner stopped during the call; never a call it was not given).
export interface CanaryPick {
  readonly socket: string;
  readonly version: number;
  done(error: boolean): void;
}

export class Canaries {
  private readonly live = new Map<string, { stamp: string; canary: Live | null }>();
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly paths: Paths,
    private readonly now: () => number = Date.now,
  ) {}

  // The canary this call to `name` goes to, or null: the current version (`current`, for the
  // abort's line).
  pick(name: string, headers: IncomingHttpHeaders, current: number | null): CanaryPick | null {
    const c = this.lookup(name);
    if (!c || c.aborted) return null;
    const given = c.route.header === null ? undefined : headers[c.route.header];
    const value = Array.isArray(given) ? given[0] : given;
    // An empty value is no value: a proxy that sends the header empty for every anonymous caller
    // would otherwise send all of them to one side, whatever the share.
    if (!toCanary(c.route.percent, value === undefined || value === '' ? null : stickyBucket(name, value))) return null;
    let counted = false;
    return {
      socket: c.socket,
      version: c.route.version,
      done: (error) => {
        if (counted) return;
        counted = true;
        this.outcome(name, c, error, current);
      },
    };
  }

  close(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.flush();
  }

  private lookup(name: string): Live | null {
    const file = canaryRoutePath(this.paths, name);
    const st = fs.statSync(file, { throwIfNoEntry: false });
    if (!st) {
      this.live.delete(name);
      return null;
    }
    const stamp = `${st.ino}:${st.mtimeMs}:${st.size}`;
    const known = this.live.get(name);
    if (known?.stamp === stamp) return known.canary;
    const canary = this.read(name, file);
    this.live.set(name, { stamp, canary });
    return canary;
  }

  private read(name: string, file: string): Live | null {
    let route: CanaryRoute;
    try {
      route = parseCanaryRoute(fs.readFileSync(file, 'utf8'));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
      // A bad route sends nothing to the canary: the current version is the one known good.
      log.err(`Canary of ${name}: ${file}: ${errorMessage(e)}; every call goes to the current version`);
      return null;
    }
    const counter = new WindowCounter(route.window * 1000);
    return { route, socket: canarySocketPath(this.paths, name), counter, aborted: this.abortedBefore(name, route, counter), dirty: false };
  }

  // Aborted by this gateway before its restart (or by another one): its state file says so.
  // Fail closed: a state file that cannot be read or does not parse may hold an abort, and a
  // canary with an error limit is routed to only once its state file could be written, or an
  // abort it comes to would be forgotten at the gateway's next start.
  // The counts of the window as the last gateway process left them are taken up into `counter`.
  private abortedBefore(name: string, route: CanaryRoute, counter: WindowCounter): boolean {
    const file = canaryStatePath(this.paths, name);
    let s: CanaryState | null;
    try {
      const text = readIfExists(file);
      s = parseCanaryState(text);
      if (text !== null && s === null) throw new Error('not a state file faass wrote');
    } catch (e) {
      return this.closed(name, `${file}: ${errorMessage(e)}; cannot tell whether it was aborted`);
    }
    if (s !== null && sameCanary(s, route)) {
      if (s.slices) counter.restore(s.slices);
      return s.aborted !== undefined;
    }
    if (route.maxErrors === null) return false; // nothing to make last
    try {
      writeFileAtomic(file, JSON.stringify(freshState(route, this.now())) + '\n');
      return false;
    } catch (e) {
      return this.closed(name, `cannot write ${file} (${errorMessage(e)}), where an abort is made to last`);
    }
  }

  private closed(name: string, why: string): true {
    logLine('err', `Canary of ${name}: ${why}; no call goes to it (faassctl abort ${name})`, { FAASS_FUNCTION: name });
    return true;
  }

  private outcome(name: string, c: Live, error: boolean, current: number | null): void {
    if (c.aborted) return; // a call in flight at the abort: the abort is said once
    const now = this.now();
    c.counter.add(now, error);
    const totals = c.counter.totals(now);
    if (overLimit(totals, c.route.maxErrors, c.route.minCalls)) return this.abort(name, c, totals, current);
    c.dirty = true;
    if (!this.timer) {
      this.timer = setTimeout(() => {
        this.timer = null;
        this.flush();
      }, FLUSH_MS);
      this.timer.unref();
    }
  }

  // Routing stops with this call; the state file makes it last; one line says why.
  private abort(name: string, c: Live, t: { calls: number; errors: number }, current: number | null): void {
    c.aborted = true;
    const r = c.route;
    const share = Number(((t.errors / t.calls) * 100).toFixed(1));
    const reason = `version ${r.version} failed ${t.errors} of ${t.calls} calls (${share}%) in the last ${formatSeconds(r.window)}, over its limit of ${r.maxErrors}%`;
    logLine('warning', `Aborted the canary of ${name}: ${reason}; every call goes to ${current === null ? 'the current version' : `version ${current}`} (faassctl canary ${name})`, { FAASS_FUNCTION: name });
    this.write(name, c, { ...t, aborted: { at: new Date(this.now()).toISOString(), reason } });
  }

  private flush(): void {
    for (const [name, { canary }] of this.live) {
      if (!canary || canary.aborted || !canary.dirty) continue;
      canary.dirty = false;
      this.write(name, canary, canary.counter.totals(this.now()));
    }
  }

  private write(name: string, c: Live, seen: { calls: number; errors: number; aborted?: CanaryState['aborted'] }): void {
    const file = canaryStatePath(this.paths, name);
    try {
      // An abort on disk (another gateway process's, during a restart) is never written over.
      const before = parseCanaryState(readIfExists(file));
      const aborted = seen.aborted ?? (before && sameCanary(before, c.route) ? before.aborted : undefined);
      if (aborted) c.aborted = true;
      const state: CanaryState = { version: c.route.version, started: c.route.started, calls: seen.calls, errors: seen.errors, at: new Date(this.now()).toISOString(), ...(aborted ? { aborted } : {}), slices: c.counter.snapshot() };
      writeFileAtomic(file, JSON.stringify(state) + '\n');
    } catch (e) {
      log.err(`Failed to write ${file}: ${errorMessage(e)}${seen.aborted ? `; the canary of ${name} stays aborted until this gateway exits, not after` : ''}`);
    }
  }
}
