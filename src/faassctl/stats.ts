// faassctl stats NAME: a function's figures from the metrics file, as a bill would show them
// per invocation. Totals since the counting began ($XDG_STATE_HOME/faass/metrics.json).
import { Paths } from '../core/paths';
import { fail } from '../core/errors';
import { validateName } from '../core/validate';
import { listFunctionNames, loadFunctionConfig } from '../functions/function-config';
import { BUCKETS, MetricsData, quantile, readMetrics, snapshotAt, subtract, emptyMetrics } from '../observe/metrics-store';
import { Register } from './cli';

const ms = (s: number | null) => (s === null ? `> ${BUCKETS[BUCKETS.length - 1]} s` : s < 1 ? `${(s * 1000).toFixed(1)} ms` : `${s.toFixed(2)} s`);
const mib = (b: number | undefined) => (b === undefined ? 'unknown' : `${(b / 1048576).toFixed(1)} MiB`);
const mibs = (bs: number) => `${(bs / 1048576).toFixed(2)} MiB-s`;
const pct = (a: number, b: number) => (b === 0 ? '0 %' : `${((100 * a) / b).toFixed(1)} %`);

export function renderStats(name: string, d: MetricsData, runtime: string): string {
  const codes = d.invocations[name] ?? {};
  const calls = Object.values(codes).reduce((a, b) => a + b, 0);
  const failed = Object.entries(codes).reduce((n, [c, k]) => (Number(c) >= 500 ? n + k : n), 0);
  const refused = Object.entries(codes).reduce((n, [c, k]) => (Number(c) >= 400 && Number(c) < 500 ? n + k : n), 0);
  const h = d.seconds[name];
  const cpu = d.cpuSeconds[name];
  const cold = d.coldStarts[name] ?? 0;
  const rows: [string, string][] = [
    ['function', name],
    ['invocations', `${calls}${calls ? ` (${Object.entries(codes).map(([c, k]) => `${c}: ${k}`).join(', ')})` : ''}`],
    ['errors (5xx)', `${failed} (${pct(failed, calls)})`],
    ['refused (4xx)', `${refused} (${pct(refused, calls)})`],
    ['duration', h && h.count ? `p50 ${ms(quantile(h, 0.5))}, p99 ${ms(quantile(h, 0.99))}, mean ${ms(h.sum / h.count)} (through the gateway)` : 'no calls yet'],
    ['cold starts', `${cold}${calls ? ` (${pct(cold, calls)} of calls)` : ''}`],
    [
      'cpu',
      cpu !== undefined
        ? `${cpu.toFixed(3)} s in all${calls ? `, ${ms(cpu / calls)} per invocation` : ''}`
        : runtime === 'docker'
          ? 'not measured: containers run in the Docker engine\'s cgroups'
          : 'not measured: no cgroup v2 figure for its unit on this machine (or no runner ran yet)',
    ],
    [
      'memory',
      d.memoryPeakBytes[name] !== undefined || d.memoryByteSeconds[name] !== undefined
        ? `peak ${mib(d.memoryPeakBytes[name])}, ${mibs(d.memoryByteSeconds[name] ?? 0)} in all${calls ? `, ${mibs((d.memoryByteSeconds[name] ?? 0) / calls)} per invocation` : ''}`
        : runtime === 'docker'
          ? "not measured: containers run in the Docker engine's cgroups"
          : 'not measured: no memory controller for user units on this machine (cgroup v2 with it delegated gives memory.current and memory.peak)',
    ],
    [
      'io',
      d.ioReadBytes[name] !== undefined || d.ioWriteBytes[name] !== undefined
        ? `${mib(d.ioReadBytes[name] ?? 0)} read, ${mib(d.ioWriteBytes[name] ?? 0)} written`
        : 'not measured: no io controller for user units on this machine',
    ],
  ];
  const w = Math.max(...rows.map(([k]) => k.length));
  return rows.map(([k, v]) => `${k.padEnd(w)}  ${v}`).join('\n') + '\n';
}

// --since: 30s, 10m, 2h, 7d ago, or a date and time (2026-11-22 10:00, ISO 8601).
export function parseSince(text: string, now = Date.now()): number {
  const rel = /^(\d+(?:\.\d+)?)\s*(s|m|h|d)$/.exec(text.trim());
  if (rel) return now - Number(rel[1]) * { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[rel[2] as 's' | 'm' | 'h' | 'd'];
  const at = Date.parse(text.trim().replace(' ', 'T'));
  if (!Number.isFinite(at)) fail('FAASS_E_USAGE', `Invalid --since ${JSON.stringify(text.slice(0, 60))}: 30s, 10m, 2h, 7d, or a date and time such as 2026-11-22 10:00`);
  if (at > now) fail('FAASS_E_USAGE', `--since ${text} is in the future`);
  return at;
}

export function stats(paths: Paths, name: string, since?: string): number {
  validateName(name);
  if (!listFunctionNames(paths).includes(name)) fail('FAASS_E_FUNCTION_NOT_FOUND', `No function named ${name}`);
  let runtime = 'unknown';
  try {
    runtime = loadFunctionConfig(paths, name).runtime;
  } catch {
    // an invalid file: its figures are still shown
  }
  const now = readMetrics(paths);
  if (since === undefined) {
    process.stdout.write(renderStats(name, now, runtime));
    return 0;
  }
  // A window is the difference of the totals now and the last snapshot before its start
  // (snapshots are taken at most a minute apart while calls come).
  const from = parseSince(since);
  const base = snapshotAt(paths, from);
  process.stdout.write(`# since ${new Date(base ? base.at : from).toISOString()}${base ? ' (the snapshot of the counts nearest before ' + new Date(from).toISOString() + ')' : ' (no snapshot before it: every call since counting began)'}\n`);
  process.stdout.write(renderStats(name, subtract(now, base ? base.data : emptyMetrics()), runtime));
  return 0;
}

export const register: Register = (y, cli) =>
  y.command(
    'stats <name>',
    "a function's calls, errors, durations, cold starts and CPU per invocation, since counting began",
    (y) =>
      y
        .positional('name', { type: 'string', demandOption: true })
        .option('since', { type: 'string', describe: 'only calls since then: 30s, 10m, 2h, 7d, or a date and time' }),
    (a) => cli.local(a, 'stats', () => stats(cli.paths, a.name, a.since)),
  );
