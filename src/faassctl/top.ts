// faassctl top: a live table of what each function uses now — processes, CPU, tasks, memory
// of its units (systemd's accounting where the machine gives it, else the cgroup's own
// cpu.stat), or under faassctl serve of its program, and calls per second from the metrics
// file. Ctrl-C ends it.
import { Paths } from '../core/paths';
import { run } from '../systemd/systemctl';
import { fail } from '../core/errors';
import { listFunctionNames, loadFunctionConfig } from '../functions/function-config';
import { functionUnitBase } from '../systemd/units';
import { readMetrics } from '../observe/metrics-store';
import { readCgroupUse } from '../observe/accounting';
import * as fs from 'node:fs';
import { parseShow } from '../systemd/unit-state';
import { ServeState, readServeState } from '../systemd/serve-link';
import { Register } from './cli';

const RATE_WINDOW_S = 4;
const UNSET = new Set(['', '[not set]', '18446744073709551615']);

export interface Sample {
  at: number; // ms
  cpu: Map<string, number>; // function → CPU seconds of its programs now (while it runs)
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

// What a function's programs use now: its state, and (while it runs) the CPU seconds they used
// so far, their tasks and memory; null where the machine gives no such figure.
interface Use {
  state: 'running' | 'idle' | 'failed';
  cpu: number | null;
  tasks: number | null;
  memory: number | null;
}

// Under a user manager: the function's units, from systemd's accounting (or the cgroup's own).
async function unitUse(paths: Paths, names: string[]): Promise<Map<string, Use>> {
  const unitsOf = (n: string) => {
    let service = false;
    try {
      service = loadFunctionConfig(paths, n).kind === 'service';
    } catch {
      // listed all the same
    }
    return [`${functionUnitBase(n)}.service`, ...(service ? [`${functionUnitBase(n)}-app.service`] : [])];
  };
  const r = await run('systemctl', ['--user', 'show', '--property=Id,ActiveState,SubState,LoadState,ControlGroup,CPUUsageNSec,TasksCurrent,MemoryCurrent', '--', ...names.flatMap(unitsOf)]);
  if (r.code !== 0) fail('FAASS_E_SYSTEMD_UNREACHABLE', `No systemd user manager is reachable (${r.stderr.trim().split('\n')[0]}); without one, run faassctl serve`);
  const byUnit = parseShow(r.stdout);
  const out = new Map<string, Use>();
  for (const n of names) {
    const own = unitsOf(n).filter((u) => byUnit.has(u));
    const active = own.filter((u) => byUnit.get(u)?.ActiveState === 'active');
    const use: Use = { state: active.length ? 'running' : own.some((u) => byUnit.get(u)?.ActiveState === 'failed') ? 'failed' : 'idle', cpu: 0, tasks: 0, memory: 0 };
    for (const u of active) {
      const f = byUnit.get(u) as Record<string, string>;
      const c = cgroupCpu(f);
      use.cpu = use.cpu === null || c === null ? null : use.cpu + c;
      use.tasks = use.tasks === null || UNSET.has(f.TasksCurrent ?? '') ? null : use.tasks + Number(f.TasksCurrent);
      use.memory = use.memory === null || UNSET.has(f.MemoryCurrent ?? '') ? null : use.memory + Number(f.MemoryCurrent);
    }
    out.set(n, use);
  }
  return out;
}

// Under faassctl serve: the function's program (runner or app), from /proc: its CPU and that
// of the children it reaped (a call's processes), its threads, its resident memory.
function serveUse(state: ServeState, names: string[]): Map<string, Use> {
  const out = new Map<string, Use>();
  for (const n of names) {
    const pid = state.programs.find((p) => p.name === n && (p.role === 'runner' || p.role === 'app'))?.pid ?? null;
    const proc = pid === null ? null : readProc(pid);
    out.set(n, proc ? { state: 'running', ...proc } : { state: 'idle', cpu: 0, tasks: 0, memory: 0 });
  }
  return out;
}

function readProc(pid: number): { cpu: number; tasks: number; memory: number } | null {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' '); // from field 3 (state) on
    const ticks = [11, 12, 13, 14].reduce((a, i) => a + Number(f[i]), 0); // utime stime cutime cstime
    const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+)`, 'm').exec(status)?.[1] ?? 0);
    return { cpu: ticks / CLOCK_TICKS, tasks: kb('Threads'), memory: kb('VmRSS') * 1024 };
  } catch {
    return null; // gone as we looked
  }
}

const CLOCK_TICKS = 100; // sysconf(_SC_CLK_TCK) on Linux

export async function top(paths: Paths, a: { interval?: number; iterations?: number }): Promise<number> {
  const interval = a.interval ?? 2;
  if (!(interval >= 0.5 && interval <= 3600)) fail('FAASS_E_USAGE', `Invalid --interval ${a.interval}: 0.5 to 3600 seconds`);
  if (a.iterations !== undefined && !(Number.isInteger(a.iterations) && a.iterations >= 1)) fail('FAASS_E_USAGE', `Invalid --iterations ${a.iterations}: a whole number from 1`);
  const tty = process.stdout.isTTY;
  let prev: Sample | null = null;
  const history: Sample[] = []; // for calls/s over RATE_WINDOW_S
  for (let i = 0; a.iterations === undefined || i < a.iterations + 1; i++) {
    const names = listFunctionNames(paths);
    const served = readServeState(paths);
    const use = served ? serveUse(served, names) : await unitUse(paths, names);
    const m = readMetrics(paths);
    const now: Sample = { at: Date.now(), cpu: new Map(), calls: new Map() };
    for (const [n, u] of use) if (u.cpu !== null) now.cpu.set(n, u.cpu);
    for (const n of names) now.calls.set(n, Object.values(m.invocations[n] ?? {}).reduce((x, y) => x + y, 0));
    if (prev) {
      const dt = (now.at - prev.at) / 1000;
      const base = [...history].reverse().find((h) => now.at - h.at >= RATE_WINDOW_S * 1000) ?? history[0];
      const rateDt = (now.at - base.at) / 1000;
      const rows: TopRow[] = names.map((n) => {
        const u = use.get(n) as Use;
        const c1 = now.cpu.get(n);
        const c0 = prev?.cpu.get(n) ?? 0; // started meanwhile: all its CPU is new
        const cpu = u.state !== 'running' ? 0 : c1 === undefined ? null : Math.max(0, c1 - c0);
        return { name: n, state: u.state, cpuPercent: cpu === null ? null : (100 * cpu) / dt, tasks: u.tasks, memory: u.memory, callsPerSecond: Math.max(0, (now.calls.get(n) ?? 0) - (base.calls.get(n) ?? 0)) / rateDt };
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
