// faassctl status, about canaries (functions/canary.ts): a row per function that has one, and a
// line under Broken for each that needs a command: its socket not listening or its runner failed
// (a call it does not take goes to the function's own runner: the canary is not tried), aborted
// by the gateway and not removed yet, or left by a killed canary deploy.
import { Paths } from '../core/paths';
import { abortedBy, hasCanaryFiles, readCanaryRoute, readCanaryState } from '../functions/canary-files';
import { canaryUnitBase } from '../systemd/units';

export interface CanaryRow {
  name: string; // the function's
  version: number | null; // null: no route (a canary deploy killed before it wrote it)
  current: number | null;
  percent: number | null;
  socket: string; // as status says a function's: listening, inactive, failed, missing
  process: string;
  runnerFailed: boolean;
  aborted?: { at: string; reason: string }; // by the gateway, not removed yet
}

// The units status asks systemctl about, for the functions that have a canary.
export const canaryUnits = (names: string[]): string[] => names.flatMap((n) => [`${canaryUnitBase(n)}.socket`, `${canaryUnitBase(n)}.service`]);

// The functions among `names` with a canary's files.
export const withCanary = (paths: Paths, names: string[]): string[] => names.filter((n) => hasCanaryFiles(paths, n));

// A row from the canary's files and its units' states (described as status describes units).
export function canaryRow(paths: Paths, name: string, current: number | null, unit: (id: string) => { socket: string; process: string; failed: boolean }): CanaryRow {
  const route = readCanaryRoute(paths, name);
  const u = unit(canaryUnitBase(name));
  const aborted = abortedBy(readCanaryState(paths, name), route);
  return { name, version: route?.version ?? null, current, percent: route?.percent ?? null, socket: u.socket, process: u.process, runnerFailed: u.failed, ...(aborted ? { aborted } : {}) };
}

const stateOf = (r: CanaryRow): string => (r.version === null ? 'incomplete' : r.aborted ? 'aborted' : 'running');

// A section after the function table (whose columns stay as scripts know them).
export function renderCanaries(rows: CanaryRow[]): string {
  if (!rows.length) return '';
  const head = ['FUNCTION', 'VERSION', 'BESIDE', 'SHARE', 'SOCKET', 'PROCESS', 'STATE'];
  const body = rows.map((r) => [r.name, r.version === null ? '-' : String(r.version), r.current === null ? '-' : String(r.current), r.percent === null ? '-' : `${r.percent}%`, r.socket, r.process, stateOf(r)]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const lines = [head, ...body].map((cols) => `  ${cols.map((c, i) => (i === cols.length - 1 ? c : c.padEnd(widths[i]))).join('  ')}\n`);
  return `\nCanaries (faassctl canary NAME):\n${lines.join('')}`;
}

// A line per canary that needs a command, naming the one that fixes it. An aborted canary's
// units are not worth starting again: abort removes it (any command that touches units would).
export function brokenCanaries(rows: CanaryRow[]): string[] {
  return rows.flatMap((r) => {
    const who = `${r.name}'s canary${r.version === null ? '' : ` (version ${r.version})`}`;
    if (r.version === null) return [`${who}: a canary deploy of it was interrupted; faassctl abort ${r.name} removes what it left`];
    if (r.aborted) return [`${who}: aborted by the gateway at ${r.aborted.at.replace(/\.\d+Z$/, 'Z')} (${r.aborted.reason}); faassctl abort ${r.name} removes it`];
    const wrong = [...(r.socket === 'listening' ? [] : [`socket ${r.socket}`]), ...(r.runnerFailed ? ['runner failed'] : [])];
    if (!wrong.length) return [];
    const logs = r.runnerFailed ? `faassctl logs ${r.name} says why; ` : '';
    return [`${who}: ${wrong.join(', ')}; ${logs}faassctl generate-units starts it again (faassctl abort ${r.name} removes it)`];
  });
}
