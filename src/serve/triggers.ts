// Every function's triggers under faassctl serve, kept in step with the triggers files as
// apply-units.ts keeps their units: a trigger added starts (its timer, its path watch, its
// bridge), one removed stops (its running program too, as `systemctl disable --now` and `stop`
// do), one changed (or a bridge's queue_max) stops and starts anew. Driven by stack.ts's re-scan;
// topics need nothing here (the gateway serves them).
import { Paths } from '../core/paths';
import { Schedule, Triggers } from '../functions/schedules';
import { FileDrop } from '../functions/file-drops';
import { NatsTrigger } from '../functions/nats-triggers';
import { scheduleUnitBase } from '../systemd/units';
import { ServedProgram } from '../systemd/serve-link';
import { LogFile } from './log-files';
import { ScheduleTimer } from './schedules';
import { DropWatch } from './drops';
import { NatsBridge } from './bridges';

export interface FunctionTriggers {
  triggers: Triggers;
  queueMax: number; // a bridge's command line carries it
}

// A trigger as its file has it, and what it is (a change starts it anew).
type Wanted = { fn: string; definition: string } & ({ role: 'schedule'; schedule: Schedule } | { role: 'drop'; drop: FileDrop } | { role: 'nats'; nats: NatsTrigger; queueMax: number });

interface Running {
  role: Wanted['role'];
  definition: string;
  trigger: { readonly pid: number | null; close(): Promise<void> };
}

export interface TriggerHooks {
  dist: string;
  log: (fn: string) => LogFile; // the function's: logs NAME shows its triggers' lines
  say: (line: string) => void; // serve's stderr, each line once
  changed: () => void;
}

// Each trigger of each function, by its units' name (faass-fn-NAME-at-ID).
export function wanted(all: ReadonlyMap<string, FunctionTriggers>): Map<string, Wanted> {
  const out = new Map<string, Wanted>();
  for (const [fn, { triggers, queueMax }] of all) {
    for (const s of triggers.schedules) out.set(scheduleUnitBase(fn, s.id), { fn, role: 'schedule', schedule: s, definition: JSON.stringify(s) });
    for (const d of triggers.drops) out.set(scheduleUnitBase(fn, d.id), { fn, role: 'drop', drop: d, definition: JSON.stringify(d) });
    for (const n of triggers.nats) out.set(scheduleUnitBase(fn, n.id), { fn, role: 'nats', nats: n, queueMax, definition: JSON.stringify({ ...n, queueMax }) });
  }
  return out;
}

export class TriggerSet {
  private readonly running = new Map<string, Running>();
  private closed = false;

  constructor(
    private readonly paths: Paths,
    private readonly hooks: TriggerHooks,
  ) {}

  async apply(all: ReadonlyMap<string, FunctionTriggers>): Promise<void> {
    if (this.closed) return;
    const want = wanted(all);
    const gone = [...this.running.entries()].filter(([unit, r]) => want.get(unit)?.definition !== r.definition);
    for (const [unit] of gone) this.running.delete(unit);
    await Promise.all(gone.map(([, r]) => r.trigger.close()));
    const fresh = [...want].filter(([unit]) => !this.running.has(unit));
    for (const [unit, w] of fresh) this.running.set(unit, { role: w.role, definition: w.definition, trigger: this.start(w) });
    if (gone.length || fresh.length) this.hooks.changed(); // serve.json lists them
  }

  programs(): ServedProgram[] {
    return [...this.running.entries()].map(([name, r]) => ({ name, role: r.role, pid: r.trigger.pid }));
  }

  async close(): Promise<void> {
    this.closed = true;
    const all = [...this.running.values()];
    this.running.clear();
    await Promise.all(all.map((r) => r.trigger.close()));
  }

  private start(w: Wanted): Running['trigger'] {
    const hooks = { dist: this.hooks.dist, log: this.hooks.log(w.fn), changed: this.hooks.changed, say: this.hooks.say };
    if (w.role === 'drop') return new DropWatch(this.paths, w.fn, w.drop, hooks);
    if (w.role === 'nats') return new NatsBridge(w.fn, w.nats, w.queueMax, { ...hooks, configDir: this.paths.configDir });
    const s = w.schedule;
    if (s.catchUp === 'once') this.hooks.say("faassctl serve: schedules fire while serve runs; a fire missed while it did not is not made up (catch-up once is the Persistent= of a user manager's timer)");
    return new ScheduleTimer(w.fn, s, { ...hooks, missing: () => this.hooks.say(`faassctl serve: warning: schedule ${s.id} of ${w.fn} is not fired under serve: systemd-analyze (systemd's calendar, which computes its next fire) is not installed`) });
  }
}
