// What a call leaves behind: a function may start processes that outlive it (a setsid or
// double-forked child escapes its process group, which is all a call's end kills). The unit's
// cgroup knows every process of the unit. Whenever no call is running, every process in it that
// is neither the runner nor a warm worker is a stray, and is killed. While calls run, the cgroup
// cannot say which call started what, but the process tree can: what a running call started
// descends from the runner; what an ended call left behind was orphaned when the call's process
// exited, and hangs from the user manager (a subreaper, outside the unit) or from another such
// orphan. Those are killed too, so under unbroken load a stray lives for one sweep window, not
// until the first quiet moment. (A call that daemonizes a helper and talks to it during the call
// loses the helper: a call's processes are its own children.)
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
  return pids(procs).filter((pid) => !keep.has(pid));
}

function pids(procs: string): number[] {
  return procs
    .split('\n')
    .filter(Boolean)
    .map(Number)
    .filter((pid) => Number.isInteger(pid) && pid > 0);
}

// The processes of the unit that no running call owns: those whose line of parents, within the
// unit, does not reach the runner. parentOf: null when the process is gone (it is left alone).
export function orphans(procs: string, runner: number, keep: ReadonlySet<number>, parentOf: (pid: number) => number | null): number[] {
  const inUnit = new Set(pids(procs));
  const owned = new Map<number, boolean>([[runner, true]]);
  const ownedByRunner = (pid: number): boolean => {
    const line: number[] = [];
    let p: number | null = pid;
    let verdict = false;
    for (;;) {
      const known = owned.get(p);
      if (known !== undefined) {
        verdict = known;
        break;
      }
      line.push(p);
      const parent = parentOf(p);
      if (parent === null) {
        verdict = true; // gone as we looked: nothing to kill, and never a guess that kills
        break;
      }
      if (!inUnit.has(parent) || line.includes(parent)) break;
      p = parent;
    }
    for (const q of line) owned.set(q, verdict);
    return verdict;
  };
  return [...inUnit].filter((pid) => pid !== runner && !keep.has(pid) && !ownedByRunner(pid));
}

// The processes of the unit above `pid`: in a PID namespace of the unit's own (units.ts
// ownPidsExec), bwrap, the namespace's init, is the runner's parent and in the unit; it is never a
// stray. Outside one, the runner's parent is the user manager, not in the unit: none.
export function ancestorsInUnit(procs: string, pid: number, parentOf: (pid: number) => number | null): number[] {
  const inUnit = new Set(pids(procs));
  const out: number[] = [];
  for (let p = parentOf(pid); p !== null && inUnit.has(p) && !out.includes(p); p = parentOf(p)) out.push(p);
  return out;
}

// The parent of a process, from /proc/PID/stat (the fourth field, after the command in
// parentheses, which may itself hold spaces and parentheses); null once it is gone.
export function parentFromStat(stat: string): number | null {
  const m = /\) \S+ (\d+) /.exec(stat.slice(stat.lastIndexOf(')')));
  return m ? Number(m[1]) : null;
}

function readParent(pid: number): number | null {
  try {
    return parentFromStat(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return null;
  }
}

// Calls end all the time under load: one sweep (a read of cgroup.procs, and under load of each
// process's parent) per SWEEP_MS at most, the last one deferred to the end of the window, so no
// call's end goes unswept and a hot path of short calls does not pay file reads each.
export const SWEEP_MS = 200;

export class StraySweeper {
  private swept = 0;
  private lastSweep = -Infinity;
  private deferred: NodeJS.Timeout | null = null;
  private ancestors: number[] | null = null; // above()

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

  // A call has ended: sweep, or once the window is over (a call that ends meanwhile asks again
  // only if it is the last of the window). What a sweep kills depends on whether calls run then.
  callEnded(quiet: () => boolean, now = Date.now()): void {
    const wait = this.lastSweep + SWEEP_MS - now;
    if (wait <= 0) {
      this.lastSweep = now;
      if (quiet()) this.sweep();
      else this.sweepOrphans();
      return;
    }
    if (this.deferred) return;
    this.deferred = setTimeout(() => {
      this.deferred = null;
      this.callEnded(quiet);
    }, wait);
    this.deferred.unref();
  }

  // Calls run: kills what none of them owns (orphans()); returns how many it killed.
  sweepOrphans(): number {
    const procs = this.readProcs();
    if (procs === null) return 0;
    return this.kill(orphans(procs, process.pid, new Set([...this.above(procs), ...this.kept()]), readParent));
  }

  // No call runs: kills every process but the runner and its workers; returns how many.
  sweep(): number {
    const procs = this.readProcs();
    if (procs === null) return 0;
    return this.kill(strays(procs, new Set([process.pid, ...this.above(procs), ...this.kept()])));
  }

  // The runner's ancestors in the unit, found once: they outlive the runner.
  private above(procs: string): number[] {
    if (this.ancestors === null) this.ancestors = ancestorsInUnit(procs, process.pid, readParent);
    return this.ancestors;
  }

  private readProcs(): string | null {
    try {
      return fs.readFileSync(this.procsFile, 'utf8');
    } catch {
      return null; // the cgroup went away: the unit is stopping
    }
  }

  private kill(pids: number[]): number {
    let killed = 0;
    for (const pid of pids) {
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
