// One run of a trigger's program (a schedule's fire, a file drop's claims, a NATS bridge), started
// as its unit's ExecStart= starts it (program.ts launch): the same script and arguments, the
// environment serve has (the units set only the XDG directories, which serve's are), its lines in
// the function's log file, where `faassctl logs NAME` finds them as it finds the unit's in the
// journal. Stopped as systemctl stop does: SIGTERM, SIGKILL after the unit's TimeoutStopSec.
import { ChildProcess } from 'node:child_process';
import { LogFile } from './log-files';
import { launch } from './program';
import { TriggerProgram } from './trigger-programs';

export const STOP_TIMEOUT_MS = 30000;

export interface Ended {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export class TriggerChild {
  private readonly child: ChildProcess;
  readonly ended: Promise<Ended>;

  constructor(spec: TriggerProgram, log: LogFile, env: Record<string, string> = {}) {
    const all: NodeJS.ProcessEnv = { ...process.env, ...env };
    // Its lines go to its log file, not to the journal of serve's own manager, if any; it is no
    // notify unit.
    delete all.JOURNAL_STREAM;
    delete all.NOTIFY_SOCKET;
    this.child = launch(spec.script, spec.args, all, log);
    this.ended = new Promise((resolve) => {
      this.child.once('error', (e) => log.write(this.child.pid, `err: cannot start ${spec.script}: ${e.message}`));
      this.child.once('close', (code, signal) => resolve({ code, signal }));
    });
  }

  get pid(): number | null {
    return this.child.exitCode === null && this.child.signalCode === null ? (this.child.pid ?? null) : null;
  }

  async stop(): Promise<void> {
    if (this.pid === null) return;
    this.child.kill('SIGTERM');
    const late = setTimeout(() => this.child.kill('SIGKILL'), STOP_TIMEOUT_MS);
    await this.ended;
    clearTimeout(late);
  }
}

// Exited 0: what Restart=on-failure does not restart.
export const succeeded = (e: Ended): boolean => e.code === 0;
