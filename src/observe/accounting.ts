// What a runner (or a service's app supervisor) adds to the metrics file: its start (an
// activation, and a cold start of its function) and the CPU time of its unit's cgroup, which
// holds it, its workers and every process it ran — the figure systemd shows as CPUUsageNSec,
// read from the cgroup itself because systemd drops it when the unit stops at its idle exit.
import * as fs from 'node:fs';
import { Paths } from '../core/paths';
import { MetricsData, MetricsStore, functionMetricsPath } from './metrics-store';

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

// What a unit's cgroup-v2 directory says now; null for each file it does not have (memory.*
// need the memory controller, io.stat the io controller, delegated to the user manager).
export interface CgroupUse {
  cpuSeconds: number | null;
  memoryBytes: number | null; // memory.current
  memoryPeakBytes: number | null; // memory.peak
  ioReadBytes: number | null;
  ioWriteBytes: number | null;
}

export function readCgroupUse(dir: string): CgroupUse {
  const read = (f: string): string | null => {
    try {
      return fs.readFileSync(`${dir}/${f}`, 'utf8');
    } catch {
      return null;
    }
  };
  const num = (t: string | null) => (t === null || !/^\d+\s*$/.test(t) ? null : Number(t.trim()));
  const cpu = read('cpu.stat');
  const io = read('io.stat');
  let ioRead: number | null = null;
  let ioWrite: number | null = null;
  if (io !== null) {
    ioRead = 0;
    ioWrite = 0;
    for (const m of io.matchAll(/\brbytes=(\d+)/g)) ioRead += Number(m[1]);
    for (const m of io.matchAll(/\bwbytes=(\d+)/g)) ioWrite += Number(m[1]);
  }
  return { cpuSeconds: cpu === null ? null : parseCpuStat(cpu), memoryBytes: num(read('memory.current')), memoryPeakBytes: num(read('memory.peak')), ioReadBytes: ioRead, ioWriteBytes: ioWrite };
}

export class ProcessAccounting {
  private readonly store: MetricsStore;
  private readonly dir: string | null; // the unit's cgroup-v2 directory
  private reported = { cpu: 0, ioRead: 0, ioWrite: 0 };
  private lastSample = Date.now();
  private readonly timer: NodeJS.Timeout;

  // unit: the unit whose cgroup holds this process; null: do not measure (a container's
  // processes are in the engine's cgroups, not ours).
  constructor(
    paths: Paths,
    private readonly program: string,
    private readonly fn: string,
    unit: string | null,
  ) {
    this.store = new MetricsStore(paths, functionMetricsPath(paths, fn));
    this.store.add({ activations: { [program]: 1 }, coldStarts: { [fn]: 1 } });
    let cgroup = '';
    try {
      if (unit) cgroup = fs.readFileSync('/proc/self/cgroup', 'utf8');
    } catch {
      // no /proc: no figures
    }
    const stat = unit ? cgroupCpuStat(cgroup, unit) : null;
    this.dir = stat ? stat.slice(0, -'/cpu.stat'.length) : null;
    this.timer = setInterval(() => this.flush(), FLUSH_MS);
    this.timer.unref();
  }

  // Counters grow by what the cgroup used since the last look; memory adds byte-seconds
  // (memory.current times the time since the last sample) and keeps the peak.
  flush(): void {
    if (this.dir) {
      const u = readCgroupUse(this.dir);
      const now = Date.now();
      const delta: Partial<MetricsData> = {};
      const grow = (key: 'cpu' | 'ioRead' | 'ioWrite', v: number | null, into: 'cpuSeconds' | 'ioReadBytes' | 'ioWriteBytes') => {
        if (v === null || v <= this.reported[key]) return;
        delta[into] = { [this.fn]: v - this.reported[key] };
        this.reported[key] = v;
      };
      grow('cpu', u.cpuSeconds, 'cpuSeconds');
      grow('ioRead', u.ioReadBytes, 'ioReadBytes');
      grow('ioWrite', u.ioWriteBytes, 'ioWriteBytes');
      if (u.memoryBytes !== null) delta.memoryByteSeconds = { [this.fn]: (u.memoryBytes * (now - this.lastSample)) / 1000 };
      if (u.memoryPeakBytes !== null) delta.memoryPeakBytes = { [this.fn]: u.memoryPeakBytes };
      this.lastSample = now;
      this.store.add(delta);
    }
    this.store.addDroppedLogLines(this.program);
    this.store.flush();
  }

  close(): void {
    clearInterval(this.timer);
    this.flush();
  }
}

// What the units of a function use now, read from their cgroups next to the calling process's
// own unit (the gateway's): tasks (pids.current), memory (memory.current on cgroup v2,
// memory.usage_in_bytes on v1). null where the machine's cgroup setup has no such file.
export interface LiveUse {
  tasks: number | null;
  memoryBytes: number | null;
}

// Each hierarchy's directory holding this process's unit: [files' base, directory].
export function unitParents(procSelfCgroup: string, ownUnit: string): { controllers: string; dir: string }[] {
  const out: { controllers: string; dir: string }[] = [];
  for (const line of procSelfCgroup.split('\n')) {
    const m = /^\d+:([^:]*):(.*)$/.exec(line);
    if (!m || !m[2].endsWith(`/${ownUnit}`)) continue;
    const parent = m[2].slice(0, -ownUnit.length - 1);
    if (m[1] === '') out.push({ controllers: '', dir: `/sys/fs/cgroup${parent}` }, { controllers: '', dir: `/sys/fs/cgroup/unified${parent}` });
    else for (const c of m[1].split(',')) out.push({ controllers: c, dir: `/sys/fs/cgroup/${c}${parent}` });
  }
  return out;
}

function readNumber(file: string): number | null {
  try {
    const v = Number(fs.readFileSync(file, 'utf8').trim());
    return Number.isFinite(v) ? v : null;
  } catch {
    return null;
  }
}

export function liveUse(parents: { controllers: string; dir: string }[], units: string[]): LiveUse {
  let tasks: number | null = null;
  let memoryBytes: number | null = null;
  for (const unit of units) {
    const pick = (controller: string, file: string): number | null => {
      for (const p of parents) {
        if (p.controllers !== '' && p.controllers !== controller) continue;
        const v = readNumber(`${p.dir}/${unit}/${file}`);
        if (v !== null) return v;
      }
      return null;
    };
    const t = pick('pids', 'pids.current');
    const mem = pick('memory', 'memory.current') ?? pick('memory', 'memory.usage_in_bytes');
    if (t !== null) tasks = (tasks ?? 0) + t;
    if (mem !== null) memoryBytes = (memoryBytes ?? 0) + mem;
  }
  return { tasks, memoryBytes };
}
