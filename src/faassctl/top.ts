// faassctl top: a live table of what each function uses now — processes, CPU, tasks, memory
// of its units (systemd's accounting where the machine gives it, else the cgroup's own
// cpu.stat), and calls per second from the metrics file. Ctrl-C ends it.
import { Paths } from '../core/paths';
import { run } from '../systemd/systemctl';
import { fail } from '../core/errors';
import { listFunctionNames, loadFunctionConfig } from '../functions/function-config';
import { functionUnitBase } from '../systemd/units';
import { readMetrics } from '../observe/metrics-store';
import { readCgroupUse } from '../observe/accounting';
import { parseShow } from './status';
import { Register } from './cli';

const RATE_WINDOW_S = 4;
const UNSET = new Set(['', '[not set]', '18446744073709551615']);

export interface Sample {
  at: number; // ms
  cpu: Map<string, number>; // unit → CPU seconds of its cgroup now
  calls: Map<string, number>; // function → calls counted so far
}

export interface TopRow {
  name: string;
  state: string;
  cpuPercent: number | null; // of one CPU; null: no figure
  tasks: number | null;
  memory: number | null; // bytes
  callsPerSecond: number;
}

// The CPU seconds of a unit's cgroup: systemd's CPUUsageNSec, else cpu.stat of cgroup v2 (a
// hybrid machine has it under unified/); null when neither exists.
function cgroupCpu(fields: Record<string, string>): number | null {
  if (fields.CPUUsageNSec && !UNSET.has(fields.CPUUsageNSec)) return Number(fields.CPUUsageNSec) / 1e9;
  const cg = fields.ControlGroup;
  if (!cg) return null;
  for (const base of ['/sys/fs/cgroup', '/sys/fs/cgroup/unified']) {
    const cpu = readCgroupUse(`${base}${cg}`).cpuSeconds;
    if (cpu !== null) return cpu;
  }
  return null;
}

const mib = (b: number | null) => (b === null ? 'n/a' : `${(b / 1048576).toFixed(1)}M`);

export function renderTop(rows: TopRow[], interval: number): string {
  const head = ['FUNCTION', 'STATE', 'CPU%', 'TASKS', 'MEMORY', 'CALLS/S'];
  const idle = (r: TopRow, v: string) => (r.state === 'running' ? v : '-');
  const body = rows.map((r) => [r.name, r.state, idle(r, r.cpuPercent === null ? 'n/a' : r.cpuPercent.toFixed(1)), idle(r, r.tasks === null ? 'n/a' : String(r.tasks)), idle(r, mib(r.memory)), r.callsPerSecond.toFixed(1)]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const lines = [head, ...body].map((cols) => cols.map((c, i) => (i === 0 || i === 1 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  '));
  const missing = rows.some((r) => r.state === 'running' && (r.cpuPercent === null || r.tasks === null || r.memory === null));
  return `${lines.join('\n')}\n${missing ? 'n/a: this machine\'s cgroup setup gives no such figure for user units (see faassctl(1))\n' : ''}every ${interval}s; calls/s over the last ${RATE_WINDOW_S} s or more (the gateway writes its counts every 2 s)\n`;
}

export async function top(paths: Paths, a: { interval?: number; iterations?: number }): Promise<number> {
  const interval = a.interval ?? 2;
  if (!(interval >= 0.5 && interval <= 3600)) fail('FAASS_E_USAGE', `Invalid --interval ${a.interval}: 0.5 to 3600 seconds`);
  if (a.iterations !== undefined && !(Number.isInteger(a.iterations) && a.iterations >= 1)) fail('FAASS_E_USAGE', `Invalid --iterations ${a.iterations}: a whole number from 1`);
  const tty = process.stdout.isTTY;
  let prev: Sample | null = null;
  const history: Sample[] = []; // for calls/s over RATE_WINDOW_S
  for (let i = 0; a.iterations === undefined || i < a.iterations + 1; i++) {
    const names = listFunctionNames(paths);
    const units = names.flatMap((n) => {
      let service = false;
      try {
        service = loadFunctionConfig(paths, n).kind === 'service';
      } catch {
        // listed all the same
      }
      return [`${functionUnitBase(n)}.service`, ...(service ? [`${functionUnitBase(n)}-app.service`] : [])];
    });
    const r = await run('systemctl', ['--user', 'show', '--property=Id,ActiveState,SubState,LoadState,ControlGroup,CPUUsageNSec,TasksCurrent,MemoryCurrent', '--', ...units]);
    if (r.code !== 0) fail('FAASS_E_SYSTEMD_UNREACHABLE', `No systemd user manager is reachable (${r.stderr.trim().split('\n')[0]})`);
    const byUnit = parseShow(r.stdout);
    const m = readMetrics(paths);
    const now: Sample = { at: Date.now(), cpu: new Map(), calls: new Map() };
    for (const [u, f] of byUnit) {
      const c = cgroupCpu(f);
      if (c !== null) now.cpu.set(u, c);
    }
    for (const n of names) now.calls.set(n, Object.values(m.invocations[n] ?? {}).reduce((x, y) => x + y, 0));
    if (prev) {
      const dt = (now.at - prev.at) / 1000;
      const base = [...history].reverse().find((h) => now.at - h.at >= RATE_WINDOW_S * 1000) ?? history[0];
      const rateDt = (now.at - base.at) / 1000;
      const rows: TopRow[] = names.map((n) => {
        const own = [`${functionUnitBase(n)}.service`, `${functionUnitBase(n)}-app.service`].filter((u) => byUnit.has(u));
        const active = own.filter((u) => byUnit.get(u)?.ActiveState === 'active');
        const state = active.length ? 'running' : own.some((u) => byUnit.get(u)?.ActiveState === 'failed') ? 'failed' : 'idle';
        let cpu: number | null = active.length ? 0 : null;
        let tasks: number | null = active.length ? 0 : null;
        let memory: number | null = active.length ? 0 : null;
        for (const u of active) {
          const f = byUnit.get(u) as Record<string, string>;
          const c1 = now.cpu.get(u);
          const c0 = prev?.cpu.get(u) ?? 0; // a unit started meanwhile: all its CPU is new
          cpu = cpu === null || c1 === undefined ? null : cpu + Math.max(0, c1 - c0);
          tasks = tasks === null || UNSET.has(f.TasksCurrent ?? '') ? null : tasks + Number(f.TasksCurrent);
          memory = memory === null || UNSET.has(f.MemoryCurrent ?? '') ? null : memory + Number(f.MemoryCurrent);
        }
        if (state === 'idle') [cpu, tasks, memory] = [0, 0, 0];
        return { name: n, state, cpuPercent: cpu === null ? null : (100 * cpu) / dt, tasks, memory, callsPerSecond: Math.max(0, (now.calls.get(n) ?? 0) - (base.calls.get(n) ?? 0)) / rateDt };
      });
      const text = renderTop(rows, interval);
      process.stdout.write(tty ? `\x1b[H\x1b[2J${text}` : `${text}\n`);
    }
    prev = now;
    history.push(now);
    while (history.length > 2 && now.at - history[1].at >= RATE_WINDOW_S * 1000) history.shift();
    if (a.iterations !== undefined && i === a.iterations) break;
    await new Promise((res) => setTimeout(res, interval * 1000));
  }
  return 0;
}

export const register: Register = (y, cli) =>
  y.command(
    'top',
    'a live table of what each function uses now: CPU, tasks, memory, calls per second',
    (y) =>
      y
        .option('interval', { type: 'number', describe: 'seconds between tables (default 2)' })
        .option('iterations', { alias: 'n', type: 'number', describe: 'print this many tables, then exit (default: until Ctrl-C)' }),
    (a) => cli.local(a, 'top', () => top(cli.paths, a)),
  );
