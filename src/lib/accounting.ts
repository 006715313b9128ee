// What a runner (or a service's app supervisor) adds to the metrics file: its start (an
// activation, and a cold start of its function) and the CPU time of its unit's cgroup, which
// holds it, its workers and every process it ran — the figure systemd shows as CPUUsageNSec,
// read from the cgroup itself because systemd drops it when the unit stops at its idle exit.
import * as fs from 'node:fs';
import { Paths } from './paths';
import { MetricsStore } from './metrics-store';

const FLUSH_MS = 2000;

// This process's cgroup v2 path ("0::/..." in /proc/self/cgroup), and where its cpu.stat is:
// /sys/fs/cgroup on a unified system, /sys/fs/cgroup/unified on a hybrid one. null without
// cgroup v2, or outside the function's own unit (faassctl serve runs everything in one cgroup):
// then there is no CPU figure, and none is made up.
export function cgroupCpuStat(procSelfCgroup: string, unit: string, exists: (p: string) => boolean = fs.existsSync): string | null {
  const line = procSelfCgroup.split('\n').find((l) => l.startsWith('0::'));
  if (!line) return null;
  const p = line.slice(3).trim();
  if (!p.endsWith(`/${unit}`)) return null;
  for (const base of ['/sys/fs/cgroup', '/sys/fs/cgroup/unified']) {
    const file = `${base}${p}/cpu.stat`;
    if (exists(file)) return file;
  }
  return null;
}

export function parseCpuStat(text: string): number | null {
  const m = /^usage_usec (\d+)$/m.exec(text);
  return m ? Number(m[1]) / 1e6 : null;
}

export class ProcessAccounting {
  private readonly store: MetricsStore;
  private readonly cpuStat: string | null;
  private reported = 0;
  private readonly timer: NodeJS.Timeout;

  // unit: the unit whose cgroup holds this process; null: do not measure CPU (a container's
  // processes are in the engine's cgroups, not ours).
  constructor(
    paths: Paths,
    program: string,
    private readonly fn: string,
    unit: string | null,
  ) {
    this.store = new MetricsStore(paths);
    this.store.add({ activations: { [program]: 1 }, coldStarts: { [fn]: 1 } });
    let cgroup = '';
    try {
      if (unit) cgroup = fs.readFileSync('/proc/self/cgroup', 'utf8');
    } catch {
      // no /proc: no CPU figure
    }
    this.cpuStat = unit ? cgroupCpuStat(cgroup, unit) : null;
    this.timer = setInterval(() => this.flush(), FLUSH_MS);
    this.timer.unref();
  }

  get measuresCpu(): boolean {
    return this.cpuStat !== null;
  }

  flush(): void {
    if (this.cpuStat) {
      try {
        const used = parseCpuStat(fs.readFileSync(this.cpuStat, 'utf8'));
        if (used !== null && used > this.reported) {
          this.store.add({ cpuSeconds: { [this.fn]: used - this.reported } });
          this.reported = used;
        }
      } catch {
        // the cgroup went away (stopping): what was reported stays
      }
    }
    this.store.flush();
  }

  close(): void {
    clearInterval(this.timer);
    this.flush();
  }
}
