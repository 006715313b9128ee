// A schedule under faassctl serve: the timer a user manager would run (units.ts
// renderScheduleTimer), here. Its next elapse is systemd's own answer (systemd-analyze calendar,
// with the schedule's time zone on every line, as OnCalendar= has it), plus a random delay up to
// its jitter (RandomizedDelaySec=); at that time the schedule's service program runs, with the
// fire's time handed over as the manager's LastTriggerUSec would be (schedule-fire.ts firedAt:
// the call's key, so a run again after a failure queues nothing twice). As a oneshot unit: one
// run at a time (an elapse while it runs starts nothing), run again 5 s after a failure
// (Restart=on-failure, RestartSec=5s). overlap=skip is the program's (schedule-fire.ts).
// Not here: Persistent= (catch_up=once): serve keeps no timer state across its runs, so a fire
// missed while serve did not run is not made up (said once, Triggers.say).
import { Schedule, onCalendar } from '../functions/schedules';
import { SERVE_FIRE_ENV } from '../queue/schedule-fire';
import { nextElapse } from '../systemd/calendar';
import { LogFile } from './log-files';
import { TriggerChild, succeeded } from './trigger-child';
import { scheduleProgram } from './trigger-programs';

export const RESTART_MS = 5000; // the service's RestartSec=
// Waits are cut into steps no longer than this: a timer set for next week would not notice the
// clock being set (or the machine waking from suspend), a step does.
export const STEP_MS = 30000;
const RETRY_MS = 60000; // systemd-analyze failed: asked again

export interface ScheduleHooks {
  dist: string;
  log: LogFile;
  say: (line: string) => void; // serve's stderr, each line once
  changed: () => void; // a run started or ended (serve's state file)
  missing: () => void; // systemd-analyze is not installed: nothing can fire
}

export class ScheduleTimer {
  private run: TriggerChild | null = null;
  private timer: NodeJS.Timeout | null = null;
  private again: NodeJS.Timeout | null = null; // a failed run's restart
  private last = 0; // the last elapse fired
  private closed = false;

  constructor(
    private readonly fn: string,
    private readonly schedule: Schedule,
    private readonly hooks: ScheduleHooks,
  ) {
    this.planNext();
  }

  get pid(): number | null {
    return this.run?.pid ?? null;
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.again) clearTimeout(this.again);
    await this.run?.stop();
  }

  // The next elapse after now and after the last fired one (a fire a little early by the clock
  // must not fire the same elapse twice).
  private async plan(): Promise<void> {
    if (this.closed) return;
    const r = await nextElapse(onCalendar(this.schedule), Math.max(Date.now(), this.last));
    if (this.closed) return;
    if ('error' in r) {
      if (r.missing) return this.hooks.missing();
      this.hooks.say(`faassctl serve: schedule ${this.schedule.id} of ${this.fn}: ${r.error}; trying again in ${RETRY_MS / 1000}s`);
      return this.wait(Date.now() + RETRY_MS, () => this.planNext());
    }
    if (r.at === null) return this.hooks.say(`faassctl serve: schedule ${this.schedule.id} of ${this.fn} never elapses again; nothing to fire`);
    const at = r.at;
    this.wait(at + Math.floor(Math.random() * this.schedule.jitter * 1000), () => this.fire(at));
  }

  // Sleeps until `at` in steps, then does `then`.
  private wait(at: number, then: () => void): void {
    const left = at - Date.now();
    if (left <= 0) return then();
    this.timer = setTimeout(() => {
      this.timer = null;
      this.wait(at, then);
    }, Math.min(left, STEP_MS));
  }

  private fire(elapse: number): void {
    this.last = elapse;
    // A run of an earlier fire still going (or waiting to run again): the unit is active, and a
    // timer's start of an active unit starts nothing.
    if (!this.run) this.start(Date.now());
    this.planNext();
  }

  private planNext(): void {
    this.plan().catch((e: Error) => this.hooks.say(`faassctl serve: schedule ${this.schedule.id} of ${this.fn}: ${e.message}; not fired until serve is restarted or the schedule changes`));
  }

  // One run of the service for the fire at firedAt (ms); again after RESTART_MS while it fails.
  private start(firedAt: number): void {
    if (this.closed) return;
    const run = new TriggerChild(scheduleProgram(this.hooks.dist, this.fn, this.schedule), this.hooks.log, { [SERVE_FIRE_ENV]: String(firedAt * 1000) });
    this.run = run;
    this.hooks.changed();
    void run.ended.then((e) => {
      if (succeeded(e) || this.closed) {
        this.run = null;
        this.hooks.changed();
        return;
      }
      // Still "active" meanwhile: a fire due in those 5 s starts nothing, as under systemd.
      this.again = setTimeout(() => {
        this.again = null;
        this.run = null;
        this.start(firedAt);
      }, RESTART_MS);
    });
  }
}
