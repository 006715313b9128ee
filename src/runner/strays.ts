// What a call leaves behind: a function may start processes that outlive it (a setsid or
// double-forked child escapes its process group, which is all a call's end kills). The unit's
// cgroup knows every process of the unit, so whenever no call is running, every process in it
// that is neither the runner nor a warm worker is a stray, and is killed. (While calls run, the
// cgroup cannot say which call started what; under unbroken load strays live until the first
// quiet moment, or until the runner stops, when systemd kills the rest of the unit.)
import * as fs from 'node:fs';
import { log } from '../observe/log';

// cgroup.procs of the unit's cgroup: the v2 (unified) path, or v1's name=systemd hierarchy;
// null outside the unit (faassctl serve) or without either.
export function unitProcsFile(procSelfCgroup: string, unit: string, exists: (p: string) => boolean = fs.existsSync): string | null {
  for (const line of procSelfCgroup.split('\n')) {
    const m = /^\d+:([^:]*):(.*)$/.exec(line);
    if (!m || !m[2].endsWith(`/${unit}`)) continue;
    const bases = m[1] === '' ? ['/sys/fs/cgroup', '/sys/fs/cgroup/unified'] : m[1] === 'name=systemd' ? ['/sys/fs/cgroup/systemd'] : [];
    for (const base of bases) {
      const file = `${base}${m[2]}/cgroup.procs`;
      if (exists(file)) return file;
    }
  }
  return null;
}

export function strays(procs: string, keep: ReadonlySet<number>): number[] {
  return procs
    .split('\n')
    .filter(Boolean)
    .map(Number)
    .filter((pid) => Number.isInteger(pid) && pid > 0 && !keep.has(pid));
}

// A sequential client makes a quiet moment after every call: one sweep (a read of cgroup.procs)
// per SWEEP_MS at most, the last one deferred to the end of the window, so no quiet moment goes
// unswept and a hot path of short calls does not pay a file read each.
export const SWEEP_MS = 200;

export class StraySweeper {
  private swept = 0;
  private lastSweep = -Infinity;
  private deferred: NodeJS.Timeout | null = null;

  constructor(
    private readonly procsFile: string,
    private readonly kept: () => number[],
  ) {}

  static forUnit(unit: string, kept: () => number[]): StraySweeper | null {
    let cgroup = '';
    try {
      cgroup = fs.readFileSync('/proc/self/cgroup', 'utf8');
    } catch {
      return null;
    }
    const file = unitProcsFile(cgroup, unit);
    return file ? new StraySweeper(file, kept) : null;
  }

  // No call runs now: sweep, or once the window is over if it is still quiet then (a call that
  // has begun meanwhile ends in a quiet moment of its own, which asks again).
  whenQuiet(stillQuiet: () => boolean, now = Date.now()): void {
    const wait = this.lastSweep + SWEEP_MS - now;
    if (wait <= 0) {
      this.lastSweep = now;
      this.sweep();
      return;
    }
    if (this.deferred) return;
    this.deferred = setTimeout(() => {
      this.deferred = null;
      if (stillQuiet()) this.whenQuiet(stillQuiet);
    }, wait);
    this.deferred.unref();
  }

  // Kills what no call owns now; returns how many it killed.
  sweep(): number {
    let procs: string;
    try {
      procs = fs.readFileSync(this.procsFile, 'utf8');
    } catch {
      return 0; // the cgroup went away: the unit is stopping
    }
    let killed = 0;
    for (const pid of strays(procs, new Set([process.pid, ...this.kept()]))) {
      try {
        process.kill(pid, 'SIGKILL');
        killed++;
      } catch {
        // gone already
      }
    }
    // One line per runner life is enough to see it happens; the count is in every line.
    if (killed && this.swept++ < 10) log.warning(`Killed ${killed} process(es) left behind by calls that had ended (a function's own background processes do not outlive its calls)`);
    return killed;
  }
}
