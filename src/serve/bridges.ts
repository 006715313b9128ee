// A NATS bridge under faassctl serve: the long-running service a user manager would start with
// itself (units.ts renderNatsService), here started with serve or when its trigger is added,
// and stopped when it goes. An exit serve did not ask for is a crash (the bridge waits for a
// server that is down, and tries a failed setup again, by itself): started again after
// RESTART_FIRST_MS (the unit's RestartSec=), doubling to RESTART_MAX_MS while it keeps failing
// within a minute of its start, a line each time.
import { NatsTrigger } from '../functions/nats-triggers';
import { LogFile } from './log-files';
import { TriggerChild } from './trigger-child';
import { natsProgram } from './trigger-programs';

export const RESTART_FIRST_MS = 2000;
export const RESTART_MAX_MS = 60000;
const STEADY_MS = 60000; // ran this long: a crash after it starts the backoff over

export interface BridgeHooks {
  dist: string;
  configDir: string; // where its secret's file is (functions/nats-auth.ts)
  log: LogFile;
  changed: () => void;
}

// The wait before a start again: doubled after a short run, the first again after a long one.
export const nextRestartDelay = (previous: number, ranMs: number): number => (ranMs >= STEADY_MS || previous === 0 ? RESTART_FIRST_MS : Math.min(previous * 2, RESTART_MAX_MS));

export class NatsBridge {
  private run: TriggerChild | null = null;
  private timer: NodeJS.Timeout | null = null;
  private delay = 0;
  private closed = false;

  constructor(
    private readonly fn: string,
    private readonly trigger: NatsTrigger,
    private readonly queueMax: number,
    private readonly hooks: BridgeHooks,
  ) {
    this.start();
  }

  get pid(): number | null {
    return this.run?.pid ?? null;
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    await this.run?.stop();
  }

  private start(): void {
    if (this.closed) return;
    const began = Date.now();
    const run = new TriggerChild(natsProgram(this.hooks.dist, this.hooks.configDir, this.fn, this.trigger, this.queueMax), this.hooks.log);
    this.run = run;
    this.hooks.changed();
    void run.ended.then((e) => {
      this.run = null;
      this.hooks.changed();
      if (this.closed) return;
      this.delay = nextRestartDelay(this.delay, Date.now() - began);
      this.hooks.log.write(undefined, `warning: NATS bridge ${this.trigger.id} exited (${e.signal ?? `status ${e.code}`}) unasked; faassctl serve starts it again in ${this.delay / 1000}s`);
      this.timer = setTimeout(() => {
        this.timer = null;
        this.start();
      }, this.delay);
    });
  }
}
