import * as fs from 'node:fs';
import { run } from '../systemd/systemctl';
import { ERRORS, fail } from '../core/errors';
import { validateName } from '../core/validate';
import { interruptedDeploys } from '../functions/deploy-intent';
import { Paths, reviveRecordPath } from '../core/paths';
import { readIfExists } from '../core/fs-atomic';
import { FORGET_SECONDS, parseRecord } from '../revive/backoff';
import { configuredEngine } from '../docker/engine';
import { FunctionConfig, listFunctionNames, loadFunctionConfig } from '../functions/function-config';
import { functionUnitBase } from '../systemd/units';
import { unitStates } from '../systemd/unit-state';
import { readMetrics } from '../observe/metrics-store';
import { managerControllers } from '../systemd/controllers';
import { unenforcedLimits, unenforcedDefaults } from '../functions/limits';
import { ServeState, readServeState } from '../systemd/serve-link';
import { QueueFigures, allQueueFigures } from '../queue/figures';
import { loadTriggers } from '../functions/schedules';
import { loadTopics } from '../functions/topics';
import { Register } from './cli';
import { CanaryRow, brokenCanaries, canaryRow, canaryUnits, renderCanaries, withCanary } from './status-canaries';

interface Proc {
  pid: number;
  unit: string;
  command: string;
}

// The faass unit a process runs in, from its /proc/PID/cgroup (the systemd hierarchy on cgroup
// v1, the unified one on v2), counting only units of the user manager whose control group is
// `manager` (another user's faass, or another manager's, is not ours to list).
export function faassUnitOf(cgroupFile: string, manager: string): string | null {
  for (const line of cgroupFile.split('\n')) {
    const [, controllers, cgPath] = /^\d+:([^:]*):(.*)$/.exec(line) ?? [];
    if (cgPath === undefined || (controllers !== 'name=systemd' && controllers !== '')) continue;
    if (!cgPath.startsWith(manager + '/')) continue;
    const m = /\/(faass-[a-z0-9-]+\.service)(?:\/|$)/.exec(cgPath.slice(manager.length));
    if (m) return m[1];
  }
  return null;
}

export function faassProcesses(manager: string): Proc[] {
  const out: Proc[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const unit = faassUnitOf(fs.readFileSync(`/proc/${entry}/cgroup`, 'utf8'), manager);
      if (!unit) continue;
      const command = fs.readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0').filter(Boolean).join(' ');
      out.push({ pid: Number(entry), unit, command });
    } catch {
      // the process ended while we looked
    }
  }
  return out.sort((a, b) => a.pid - b.pid);
}

const readable = (paths: Paths) => (name: string): FunctionConfig | null => {
  try {
    return loadFunctionConfig(paths, name);
  } catch {
    return null; // listed under Broken when shown
  }
};

// Containers of docker functions and services, by their faass.function label, whichever function
// status shows. fns: every function's configuration, as status read it already (not read again).
async function containers(paths: Paths, fns: (FunctionConfig | null)[]): Promise<string> {
  if (!fns.some((f) => f?.runtime === 'docker')) return '';
  const { docker, socketPath } = configuredEngine(paths);
  try {
    const list = await docker.listContainers({ all: true, filters: { label: ['faass.function'] } });
    const rows = list.map((c) => `  ${(c.Labels['faass.function'] ?? '').padEnd(20)}  ${c.Names[0]?.replace(/^\//, '').padEnd(44)}  ${c.State.padEnd(8)}  ${c.Status}`);
    return `Containers (${socketPath}): ${list.length}\n${rows.join('\n')}${rows.length ? '\n' : ''}`;
  } catch (e) {
    return `Containers: the Docker engine at ${socketPath} does not answer (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})\n`;
  }
}

export function ago(ms: number | undefined, now = Date.now()): string {
  if (!ms) return 'never';
  const s = Math.max(0, Math.round((now - ms) / 1000));
  if (s < 120) return `${s}s ago`;
  if (s < 7200) return `${Math.round(s / 60)}m ago`;
  if (s < 172800) return `${Math.round(s / 3600)}h ago`;
  return `${Math.round(s / 86400)}d ago`;
}

export interface FunctionRow {
  name: string;
  kind: string;
  socket: string;
  process: string;
  running: number;
  calls: number;
  errors: number;
  lastCall?: number;
  revive?: ReviveView;
  failed?: string[]; // its units in the failed state, by role: runner, proxy, app
  interrupted?: boolean; // a deploy of it was killed and nothing has finished it yet
}

// What faass-revive does about a socket: waiting to start it again (its unit runs), and when it
// last did (its record, revive/backoff.ts).
export interface ReviveView {
  reviving: boolean;
  lastRevive?: number;
}

// The socket's column: a failed socket about to be started again says so, and a socket started
// again lately too (while a new failure would still count as one more in a row): something
// behind it fails at every start.
export function socketColumn(socket: string, revive: ReviveView | undefined, now = Date.now()): string {
  if (socket === 'failed' && revive?.reviving) return 'failed, reviving';
  if (socket === 'listening' && revive?.lastRevive !== undefined && now - revive.lastRevive < FORGET_SECONDS * 1000) return `listening, revived ${ago(revive.lastRevive, now)}`;
  return socket;
}

const reviveUnit = (socket: string) => `faass-revive@${socket}.service`;

// An active socket listens, whether its service runs (SubState running) or not (listening).
const describeSocket = (u: Record<string, string> | undefined) => (!u || u.LoadState === 'not-found' ? 'missing' : u.ActiveState === 'active' ? 'listening' : u.ActiveState);
const describeService = (u: Record<string, string> | undefined) => (!u || u.LoadState === 'not-found' ? 'missing' : u.ActiveState === 'inactive' ? 'idle' : u.ActiveState === 'active' ? u.SubState : u.ActiveState);

export function renderTable(rows: FunctionRow[], now = Date.now()): string {
  const head = ['FUNCTION', 'KIND', 'SOCKET', 'PROCESS', 'RUNNING', 'CALLS', '5XX', 'LAST CALL'];
  const body = rows.map((r) => [r.name, r.kind, socketColumn(r.socket, r.revive, now), r.process, String(r.running), String(r.calls), r.calls ? `${((100 * r.errors) / r.calls).toFixed(1)}%` : '-', ago(r.lastCall, now)]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  return [head, ...body].map((cols) => cols.map((c, i) => (i === cols.length - 1 ? c : c.padEnd(widths[i]))).join('  ')).join('\n') + '\n';
}

// The functions with asynchronous calls queued or dead letters kept, a row each, under a heading
// of its own after the table (so the table's columns stay as scripts know them); nothing at all
// when no function has any.
export function renderQueues(queues: Map<string, QueueFigures>, now = Date.now()): string {
  const rows = [...queues].filter(([, q]) => q.queued > 0 || q.dead > 0);
  if (!rows.length) return '';
  const head = ['FUNCTION', 'QUEUED', 'OLDEST', 'DEAD LETTERS'];
  const body = rows.map(([fn, q]) => [fn, String(q.queued), q.oldestAt === null ? '-' : ago(q.oldestAt, now).replace(/ ago$/, ''), String(q.dead)]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const lines = [head, ...body].map((cols) => `  ${cols.map((c, i) => (i === cols.length - 1 ? c : c.padEnd(widths[i]))).join('  ')}\n`);
  return `\nAsynchronous calls (faassctl dlq NAME for the dead letters):\n${lines.join('')}`;
}

// A function's triggers, counted: its schedules, topics, file drops and NATS bridges (faassctl
// trigger ls NAME lists them). A file of them that does not read says so in its columns (the
// schedules, drops and bridges share one file, topics have their own).
export interface TriggerCounts {
  schedules: number | 'broken';
  topics: number | 'broken';
  drops: number | 'broken';
  nats: number | 'broken';
}

export function triggerCounts(paths: Paths, name: string): TriggerCounts {
  const or = <T>(f: () => T): T | 'broken' => {
    try {
      return f();
    } catch {
      return 'broken';
    }
  };
  const t = or(() => loadTriggers(paths, name));
  const count = (k: 'schedules' | 'drops' | 'nats') => (t === 'broken' ? t : t[k].length);
  return { schedules: count('schedules'), topics: or(() => loadTopics(paths, name).length), drops: count('drops'), nats: count('nats') };
}

// A section after the table (whose columns stay as scripts know them), as the queues': a row per
// function with a trigger. The kinds added later come after the first columns, so a script that
// reads SCHEDULES and TOPICS by position still finds them.
export function renderTriggers(counts: Map<string, TriggerCounts>): string {
  const rows = [...counts].filter(([, c]) => c.schedules !== 0 || c.topics !== 0 || c.drops !== 0 || c.nats !== 0);
  if (!rows.length) return '';
  const head = ['FUNCTION', 'SCHEDULES', 'TOPICS', 'DROPS', 'NATS'];
  const body = rows.map(([fn, c]) => [fn, String(c.schedules), String(c.topics), String(c.drops), String(c.nats)]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const lines = [head, ...body].map((cols) => `  ${cols.map((c, i) => (i === cols.length - 1 ? c : c.padEnd(widths[i]))).join('  ')}\n`);
  return `\nTriggers (faassctl trigger ls NAME):\n${lines.join('')}`;
}

const allTriggerCounts = (paths: Paths, names: string[]) => new Map(names.map((n) => [n, triggerCounts(paths, n)]));

// A line per function that cannot be called (or not as deployed), saying what is wrong and the
// command that fixes it: a file that does not parse, a socket that does not listen (a deploy
// killed before it enabled it, a socket stopped by hand), a failed unit, a deploy interrupted.
export function brokenFunctions(rows: FunctionRow[], now = Date.now()): string[] {
  return rows.flatMap((r) => {
    if (r.kind === 'INVALID') return [`${r.name}: its file does not parse; faassctl describe ${r.name} says what is wrong, then fix the file or deploy it again`];
    const wrong = [...(r.socket === 'listening' ? [] : [`socket ${socketColumn(r.socket, r.revive, now)}`]), ...(r.failed ?? []).map((u) => `${u} failed`), ...(r.interrupted ? ['a deploy of it was interrupted'] : [])];
    if (!wrong.length) return [];
    const logs = r.failed?.length ? `faassctl logs ${r.name} says why; ` : '';
    return [`${r.name}: ${wrong.join(', ')}; ${logs}faassctl generate-units ${r.interrupted ? 'finishes the deploy and ' : ''}starts it again`];
  });
}

// Exit status: the catalog's code for a function that does not answer (calls to it fail 502).
export const BROKEN_EXIT: number = ERRORS.FAASS_E_FUNCTION_UNREACHABLE.exit;

// A function's units in the failed state, by role.
function failedRoles(units: Map<string, Record<string, string>>, base: string): string[] {
  const roles: [string, string][] = [[`${base}.service`, 'runner'], [`${base}-app.service`, 'app']];
  return roles.filter(([u]) => units.get(u)?.ActiveState === 'failed').map(([, role]) => role);
}

// The functions to show: all, or the one named.
function shownNames(paths: Paths, only: string | undefined): string[] {
  const names = listFunctionNames(paths);
  if (only === undefined) return names;
  validateName(only);
  if (!names.includes(only)) fail('FAASS_E_FUNCTION_NOT_FOUND', `No function named ${only}`);
  return [only];
}

// At a glance: the gateway, each function's units, processes and calls (or one function's);
// exit BROKEN_EXIT when a unit shown failed or a function shown is broken.
export async function status(paths: Paths, only?: string): Promise<number> {
  const served = readServeState(paths);
  if (served) return serveStatus(paths, served, only);
  const fns = shownNames(paths, only).map((name) => {
    try {
      const cfg = loadFunctionConfig(paths, name);
      return { name, kind: cfg.kind, cfg };
    } catch {
      return { name, kind: 'INVALID', cfg: null };
    }
  });
  const gatewayUnits = ['faass-gateway.socket', 'faass-gateway-https.socket', 'faass-gateway-console.socket', 'faass-gateway.service', 'faass-api.socket', 'faass-api.service'];
  const canaryNames = withCanary(paths, fns.map((f) => f.name));
  const fnUnits = [...fns.flatMap((f) => [`${functionUnitBase(f.name)}.socket`, `${functionUnitBase(f.name)}.service`, ...(f.kind === 'service' ? [`${functionUnitBase(f.name)}-app.service`] : [])]), ...canaryUnits(canaryNames)];
  const sockets = [...gatewayUnits, ...fnUnits].filter((u) => u.endsWith('.socket'));
  const revives = sockets.map(reviveUnit);
  const shown = await unitStates([...gatewayUnits, ...fnUnits, ...revives], new Set(revives));
  if ('error' in shown) fail('FAASS_E_SYSTEMD_UNREACHABLE', `No systemd user manager is reachable (${shown.error.trim().split('\n')[0]}); without one, use faassctl serve`);
  const units = shown.units;
  const manager = (await run('systemctl', ['--user', 'show', '--property=ControlGroup', '--value'])).stdout.trim();
  const shownUnits = new Set([...gatewayUnits, ...fnUnits]);
  const procs = manager ? faassProcesses(manager).filter((p) => shownUnits.has(p.unit)) : [];
  const interrupted = new Set(interruptedDeploys(paths).map((i) => i.name));
  const running = (unit: string) => procs.filter((p) => p.unit === unit).length;
  const m = readMetrics(paths);
  const revive = (socket: string): ReviveView => ({ reviving: units.get(reviveUnit(socket))?.ActiveState === 'activating', lastRevive: parseRecord(readIfExists(reviveRecordPath(paths, socket)))?.at });
  const socket = (u: string) => socketColumn(describeSocket(units.get(u)), revive(u));
  const gw = (u: string) => units.get(u);
  const https = gw('faass-gateway-https.socket');
  const ui = gw('faass-gateway-console.socket');
  process.stdout.write(
    `Gateway: socket ${socket('faass-gateway.socket')}${https && https.LoadState !== 'not-found' ? `, https socket ${socket('faass-gateway-https.socket')}` : ''}${ui && ui.LoadState !== 'not-found' ? `, console socket ${socket('faass-gateway-console.socket')}` : ''}, process ${describeService(gw('faass-gateway.service'))} (${running('faass-gateway.service')} running); API socket ${['active', 'failed'].includes(gw('faass-api.socket')?.ActiveState ?? '') ? socket('faass-api.socket') : 'off'}\n\n`,
  );
  const rows: FunctionRow[] = fns.map((f) => {
    const base = functionUnitBase(f.name);
    const service = units.get(`${base}.service`);
    const app = units.get(`${base}-app.service`);
    const calls = Object.values(m.invocations[f.name] ?? {}).reduce((a, b) => a + b, 0);
    const errors = Object.entries(m.invocations[f.name] ?? {}).reduce((n, [c, k]) => (Number(c) >= 500 ? n + k : n), 0);
    return {
      name: f.name,
      kind: f.kind,
      socket: describeSocket(units.get(`${base}.socket`)),
      revive: revive(`${base}.socket`),
      process: f.kind === 'service' ? `proxy ${describeService(service)}, app ${describeService(app)}` : describeService(service),
      running: running(`${base}.service`) + running(`${base}-app.service`),
      calls,
      errors,
      lastCall: m.lastCall[f.name],
      failed: failedRoles(units, base),
      interrupted: interrupted.has(f.name),
    };
  });
  process.stdout.write(rows.length ? renderTable(rows) : 'No functions (faassctl deploy NAME ...)\n');
  const canaries: CanaryRow[] = canaryNames.map((n) =>
    canaryRow(paths, n, fns.find((f) => f.name === n)?.cfg?.version?.number ?? null, (base) => ({
      socket: describeSocket(units.get(`${base}.socket`)),
      process: describeService(units.get(`${base}.service`)),
      failed: units.get(`${base}.service`)?.ActiveState === 'failed',
    })),
  );
  process.stdout.write(renderCanaries(canaries));
  process.stdout.write(renderQueues(await allQueueFigures(paths, (n) => fns.some((f) => f.name === n))));
  process.stdout.write(renderTriggers(allTriggerCounts(paths, fns.map((f) => f.name))));
  const controllers = manager ? managerControllers(manager) : null;
  const unenforced = [...fns.flatMap((f) => (f.cfg ? unenforcedLimits(f.cfg, controllers) : [])), ...unenforcedDefaults(controllers)];
  if (unenforced.length) process.stdout.write(`\nLimits not enforced:\n${unenforced.map((w) => `  ${w}\n`).join('')}`);
  const failed = [...units.entries()].filter(([, u]) => u.ActiveState === 'failed').map(([id]) => id);
  if (failed.length) process.stdout.write(`\nFailed: ${failed.join(', ')} (systemctl --user status UNIT; faassctl logs NAME; a redeploy resets it; a failed socket is started again after a pause by faass-revive)\n`);
  const broken = [...brokenFunctions(rows), ...brokenCanaries(canaries)];
  if (broken.length) process.stdout.write(`\nBroken:\n${broken.map((b) => `  ${b}\n`).join('')}`);
  process.stdout.write(`\nRunning faass processes: ${procs.length}\n`);
  for (const p of procs) process.stdout.write(`  ${String(p.pid).padStart(7)}  ${p.unit.padEnd(32)}  ${p.command.slice(0, 100)}\n`);
  process.stdout.write(await containers(paths, only === undefined ? fns.map((f) => f.cfg) : listFunctionNames(paths).map(readable(paths))));
  return failed.length || broken.length ? BROKEN_EXIT : 0;
}

// A process and every process below it (a runner's workers and calls, an app's), from /proc.
export function processTree(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(entry)]);
    } catch {
      // ended while we looked
    }
  }
  const out: number[] = [];
  for (let todo = [root]; todo.length; ) {
    const pid = todo.pop() as number;
    out.push(pid);
    todo.push(...(children.get(pid) ?? []));
  }
  return out.sort((a, b) => a - b);
}

const commandOf = (pid: number): string => {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean).join(' ');
  } catch {
    return '';
  }
};

// The same view of faassctl serve's stack (systemd/serve-link.ts says what it runs): its
// programs stand for the units, its sockets are listening while it runs.
async function serveStatus(paths: Paths, s: ServeState, only: string | undefined): Promise<number> {
  const names = shownNames(paths, only);
  const m = readMetrics(paths);
  const prog = (name: string) => s.programs.find((p) => p.name === name);
  const tree = (pid: number | null | undefined) => (pid ? processTree(pid) : []);
  const gw = prog('gateway');
  process.stdout.write(`Gateway: faassctl serve (pid ${s.pid}, since ${s.started}) on ${s.listen}${s.https ? `, https on ${s.https}` : ''}, process ${gw?.pid ? 'running' : 'restarting'}; API socket ${s.api ? 'listening' : 'off'}\n\n`);
  const rows: FunctionRow[] = names.map((name) => {
    let kind = 'INVALID';
    try {
      kind = loadFunctionConfig(paths, name).kind;
    } catch {
      // shown as INVALID, and listed under Broken
    }
    const p = prog(name);
    const served = s.functions.some((f) => f.name === name);
    const calls = Object.values(m.invocations[name] ?? {}).reduce((a, b) => a + b, 0);
    const errors = Object.entries(m.invocations[name] ?? {}).reduce((n, [c, k]) => (Number(c) >= 500 ? n + k : n), 0);
    const state = p?.pid ? 'running' : 'idle';
    return { name, kind, socket: served ? 'listening' : 'missing', process: kind === 'service' ? `app ${state}` : state, running: tree(p?.pid).length, calls, errors, lastCall: m.lastCall[name] };
  });
  process.stdout.write(rows.length ? renderTable(rows) : 'No functions (faassctl deploy NAME ...)\n');
  process.stdout.write(renderQueues(await allQueueFigures(paths, (n) => names.includes(n))));
  process.stdout.write(renderTriggers(allTriggerCounts(paths, names)));
  const broken = rows.flatMap((r) =>
    r.kind === 'INVALID' ? [`${r.name}: its file does not parse; faassctl describe ${r.name} says what is wrong, then fix the file or deploy it again`] : r.socket !== 'listening' ? [`${r.name}: faassctl serve does not serve it; its stderr and faassctl logs ${r.name} say why`] : [],
  );
  if (broken.length) process.stdout.write(`\nBroken:\n${broken.map((b) => `  ${b}\n`).join('')}`);
  const shown = s.programs.filter((p) => p.pid && (only === undefined || p.name === only || p.role === 'gateway'));
  const procs = [s.pid, ...shown.flatMap((p) => tree(p.pid))];
  process.stdout.write(`\nRunning faass processes: ${procs.length}\n`);
  for (const pid of procs) process.stdout.write(`  ${String(pid).padStart(7)}  ${commandOf(pid).slice(0, 132)}\n`);
  return broken.length ? BROKEN_EXIT : 0;
}

export const register: Register = (y, cli) =>
  y.command(
    'status [name]',
    `units, sockets and running faass processes, of every function or one (exit ${BROKEN_EXIT} if a unit failed or a function is broken)`,
    (y) => y.positional('name', { type: 'string', describe: 'only this function' }),
    (a) => cli.local(a, 'status', () => status(cli.paths, a.name)),
  );
