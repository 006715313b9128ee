// Units follow the configuration files: render them all, write what changed, and (with a user
// manager) reload it, enable new sockets and restart what runs old code.
import { withProcessLock } from '../core/process-lock';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Paths, canaryDir, functionConfPath, functionStateDir, queueRoot } from '../core/paths';
import { isValidName } from '../core/validate';
import { FunctionConfig, listFunctionNames, loadFunctionConfig } from './function-config';
import { orphanOwners, unitScope } from './unit-scope';
import { loadSettings, loadDockerSettings } from '../core/settings';
import { UnitContext, renderAllUnits, functionUnitBase, canaryUnitBase, ScheduleUnits, DropUnits, NatsUnits, MARKER, OPENFAAS_SECRETS } from '../systemd/units';
import { loadTriggers, onCalendar } from './schedules';
import { readIfExists } from '../core/fs-atomic';
import { applyUnitFiles, UnitChanges } from '../systemd/unit-files';
import { reloadNeeded } from '../systemd/unit-reload';
import { FaassError } from '../core/errors';
import { privateDir } from '../core/private-files';
import { managerReachable, systemctl } from '../systemd/systemctl';
import { Intent, interruptedDeploys, recoverFiles, endDeploy } from './deploy-intent';
import { serveTakeUp } from '../systemd/serve-link';
import { inboxOf } from './outbox';
import { recordsDir } from './versions';
import { StackOp, interruptedStacks, recoverStacks } from './stacks';
import { abortedBy, readCanaryConfig, readCanaryRoute, readCanaryState, removeCanaryFiles } from './canary-files';

export interface ApplyReport {
  units: UnitChanges;
  systemd: 'applied' | 'unreachable' | 'skipped';
  recovered?: Recovered; // deploys whose process was killed, found and dealt with
  serve?: { pid: number } | 'late'; // no manager, but faassctl serve runs: it took the change up (or not in time)
  canariesAborted?: string[]; // canaries the gateway aborted, now removed: a line each on why
}

// What became of interrupted deploys (deploy-intent.ts): finished, undone, or still to finish
// (a systemctl call failed: the reason; the next command tries again).
export interface Recovered {
  stacks: { stack: string; op: StackOp }[]; // stack changes killed past their commit point, finished
  finished: string[];
  undone: string[];
  failed: string[];
}

const PROXYD = ['/usr/lib/systemd/systemd-socket-proxyd', '/lib/systemd/systemd-socket-proxyd'];
// Debian's bubblewrap. Found or not, the same everywhere units are written (faassctl, the API's
// sandboxed unit), so the units do not change with who wrote them last. Not for root's manager:
// a unit's user namespace maps root to root, and mapping uid 0 again in bwrap's needs
// CAP_SETFCAP (Linux 5.12), which no unit has (bwrap: "setting up uid map: Operation not
// permitted", seen here).
const BWRAP = '/usr/bin/bwrap';
const bwrap = (): string | undefined => (process.getuid?.() !== 0 && fs.existsSync(BWRAP) ? BWRAP : undefined);

export function unitContext(paths: Paths): UnitContext {
  const proxyd = PROXYD.find((p) => fs.existsSync(p)) ?? PROXYD[0];
  const engine = loadDockerSettings(paths).socketPath;
  return {
    node: process.execPath,
    dist: path.resolve(__dirname, '..'),
    proxyd,
    xdg: { config: paths.xdg.config, data: paths.xdg.data, state: paths.xdg.state },
    engine,
    runtime: paths.xdg.runtime,
    engineExists: fs.existsSync(engine),
    resolvConf: resolvConfUnderRun(),
    bwrap: bwrap(),
    openfaasSecrets: fs.statSync(OPENFAAS_SECRETS, { throwIfNoEntry: false })?.isDirectory() ?? false,
  };
}

// Functions resolve names through /etc/resolv.conf, which often leads into /run (systemd-resolved,
// resolvconf), hidden from them (units.ts noEngine): that one file is given back.
function resolvConfUnderRun(): string | undefined {
  try {
    const target = fs.realpathSync('/etc/resolv.conf');
    return target.startsWith('/run/') && !/[\s"'\\:%]/.test(target) ? target : undefined;
  } catch {
    return undefined;
  }
}

export function loadAllFunctions(paths: Paths): FunctionConfig[] {
  return listFunctionNames(paths).map((n) => loadFunctionConfig(paths, n));
}

// Every function's triggers, as the units want them.
function allTriggers(fns: FunctionConfig[], paths: Paths): { schedules: ScheduleUnits; drops: DropUnits; nats: NatsUnits } {
  const t = fns.map((f) => ({ name: f.name, ...loadTriggers(paths, f.name) }));
  return {
    schedules: Object.fromEntries(t.map((f) => [f.name, f.schedules.map((schedule) => ({ schedule, onCalendar: onCalendar(schedule) }))])),
    drops: Object.fromEntries(t.map((f) => [f.name, f.drops])),
    nats: Object.fromEntries(t.map((f) => [f.name, f.nats])),
  };
}

// A trigger's own starter: a schedule's timer, a file drop's path unit, or a NATS bridge, a
// service that runs by itself (told by its program: its name is shaped like a schedule's service).
const isBridge = (text: string) => text.includes('/queue/nats-main.js');
const maybeStarter = (file: string) => file.startsWith('faass-fn-') && /\.(timer|path|service)$/.test(file);
const isStarter = (file: string, text: string) => maybeStarter(file) && (!file.endsWith('.service') || isBridge(text));

// faass's starters in the unit directory that the new set no longer has: stopped and disabled
// while their files still exist (systemctl cannot disable a unit whose file is gone), with
// their services, so a removed schedule never fires again and a removed bridge takes nothing more.
async function retireTimers(dir: string, keep: Record<string, string>, inScope: (file: string) => boolean): Promise<void> {
  let files: string[];
  try {
    // By name first: the directory holds drop-in directories and .wants/ too, which are not read.
    files = fs.readdirSync(dir).filter((f) => {
      if (f in keep || !maybeStarter(f) || !inScope(f)) return false;
      const text = readIfExists(path.join(dir, f)) ?? '';
      return text.startsWith(MARKER) && isStarter(f, text);
    });
  } catch {
    return;
  }
  for (const timer of files) {
    await systemctl('disable', '--now', timer).catch(() => undefined);
    if (!timer.endsWith('.service')) await systemctl('stop', timer.replace(/\.(timer|path)$/, '.service')).catch(() => undefined);
  }
}

// Starters written anew (a trigger added or changed): enabled, and (re)started so a new calendar
// counts from now and a bridge runs with its new command line.
async function startTimers(written: string[], units: Record<string, string>): Promise<void> {
  for (const timer of written.filter((f) => isStarter(f, units[f] ?? ''))) {
    await systemctl('enable', '--no-reload', timer);
    await systemctl('restart', timer);
  }
}

// The gateway's sockets follow faass.conf: a changed socket unit (address, HTTP or HTTPS) is
// restarted, the HTTPS and console sockets are enabled or disabled with tls_listen and
// console_listen. Only when the gateway is enabled at all; its running service is stopped first
// (systemd will not start a socket whose service runs) and comes back with the next connection.
const OPTIONAL_GATEWAY_SOCKETS = ['faass-gateway-https.socket', 'faass-gateway-console.socket'];
async function syncGatewaySockets(changes: UnitChanges): Promise<void> {
  const touched = (u: string) => changes.written.includes(u) || changes.removed.includes(u);
  if (![...OPTIONAL_GATEWAY_SOCKETS, 'faass-gateway.socket'].some(touched)) return;
  const enabled = await systemctl('is-enabled', 'faass-gateway.socket').then(
    (out) => out.trim() === 'enabled',
    () => false,
  );
  if (!enabled) return;
  await systemctl('stop', 'faass-gateway.service');
  for (const u of OPTIONAL_GATEWAY_SOCKETS) if (changes.removed.includes(u)) await systemctl('disable', '--now', u).catch(() => undefined);
  if (changes.written.includes('faass-gateway.socket')) await systemctl('restart', 'faass-gateway.socket');
  for (const u of OPTIONAL_GATEWAY_SOCKETS) {
    if (!changes.written.includes(u)) continue;
    await systemctl('enable', '--no-reload', u);
    await systemctl('restart', u);
  }
}

// enableCanaries: as enable, for those functions' canaries (faass-canary-NAME.*), each only while
// it is still there (an aborted one is removed first).
// only: the functions the command changed (deployed, deleted, their triggers or canary): only
// their units are rendered, compared, written and removed, with the shared ones, so a deploy
// costs the same beside 10 functions or 1,000 (each unit depends on its own function alone:
// units.ts renderFunctionUnits). Without it (generate-units, init, a changed faass.conf), or when
// an interrupted deploy is found (its recovery may touch any function), every unit.
type UnitOpts = { dir?: string; reload: boolean; enable?: string[]; enableCanaries?: string[]; restart?: string[]; only?: string[] };

// Regenerates every unit from the config files; with a user manager, reloads it, enables the
// sockets of `enable` (and of `enableCanaries`' canaries) and restarts the running services of
// `restart` (so they load new code).
// Interrupted deploys are finished or undone first (only for the real unit directory).
// deferServe: the caller hands the change to faassctl serve itself (withServe), later (a deploy,
// once its intent is gone: serve leaves a function alone while a deploy of it runs).
export async function applyUnits(paths: Paths, opts: UnitOpts & { deferServe?: boolean }): Promise<ApplyReport> {
  const report = await applyAndRecover(paths, opts);
  return opts.deferServe ? report : withServe(paths, report);
}

// What a command that changes functions does first: a deploy or stack change killed half-way is
// finished or undone before this one reads anything (a stack's recovery run after it would write
// or delete functions under it: a deleted one back, a deployed one deleted). Nothing found: no reload.
export async function recoverFirst(paths: Paths, reload = true): Promise<Recovered | undefined> {
  if (!interruptedDeploys(paths).length && !interruptedStacks(paths).length) return undefined;
  return (await applyUnits(paths, { reload })).recovered;
}

// Without a user manager, a running faassctl serve takes the change up (systemd/serve-link.ts).
export async function withServe(paths: Paths, report: ApplyReport): Promise<ApplyReport> {
  if (report.systemd !== 'unreachable') return report;
  const s = await serveTakeUp(paths);
  return s === null ? report : { ...report, serve: s === 'late' ? 'late' : { pid: s.pid } };
}

async function applyAndRecover(paths: Paths, opts: UnitOpts): Promise<ApplyReport> {
  // A stack killed past its commit point first writes every file it names (stacks.ts): each of
  // its functions' own intents then finds its file and finishes.
  const stacks = opts.dir === undefined && opts.reload ? await recoverStacks(paths) : [];
  const interrupted = opts.dir === undefined && opts.reload ? interruptedDeploys(paths) : [];
  const verdicts = interrupted.map((i) => ({ intent: i, verdict: recoverFiles(paths, i) }));
  const report = await writeAndLoad(paths, interrupted.length || stacks.length ? { ...opts, only: undefined } : opts);
  if (!interrupted.length && !stacks.length) return report;
  const finishing = verdicts.filter((v) => v.verdict === 'finish').map((v) => v.intent);
  const recovered: Recovered = { stacks, finished: [], undone: verdicts.filter((v) => v.verdict === 'undo').map((v) => v.intent.name), failed: [] };
  for (const v of verdicts) if (v.verdict === 'undo') endDeploy(paths, v.intent);
  for (const intent of finishing) {
    const failure = report.systemd === 'applied' ? await startFinished(paths, intent) : null;
    if (failure) recovered.failed.push(`${intent.name}: ${failure}`);
    else {
      endDeploy(paths, intent); // without a manager there is nothing more to do: faassctl serve binds every socket
      recovered.finished.push(intent.name);
    }
  }
  return { ...report, recovered };
}

// A finished deploy's last steps: its socket enabled and listening, a runner of old code restarted.
async function startFinished(paths: Paths, intent: Intent): Promise<string | null> {
  if (intent.canary) return startCanary(intent.name);
  const base = functionUnitBase(intent.name);
  let service = false;
  try {
    service = loadFunctionConfig(paths, intent.name).kind === 'service';
  } catch {
    // its file is broken: the gateway answers 503 naming it; the socket is started all the same
  }
  try {
    const app = service ? [`${base}-app.service`] : [];
    await systemctl('reset-failed', `${base}.socket`, `${base}.service`, ...app).catch(() => undefined);
    await systemctl('enable', '--no-reload', '--now', `${base}.socket`);
    await systemctl('try-restart', `${base}.service`, ...app);
    return null;
  } catch (e) {
    return (e as Error).message;
  }
}

// A canary deploy killed past its route: its socket enabled and listening (it was, unless stopped since).
async function startCanary(name: string): Promise<string | null> {
  const base = canaryUnitBase(name);
  try {
    await systemctl('reset-failed', `${base}.socket`, `${base}.service`).catch(() => undefined);
    await systemctl('enable', '--no-reload', '--now', `${base}.socket`);
    return null;
  } catch (e) {
    return (e as Error).message;
  }
}

// Each drop's DIR/.faass/in/, which its function's unit may write (units.ts dropInboxes): made
// before the unit starts, as a bind of a missing path is skipped. DIR is the user's: where it
// cannot be written from here (the management API's unit writes only faass's directories; the drop
// was added on the host, which made it), the drop's service makes it at its first run, and the
// runner says a call got no outbox until then.
function makeInboxes(drops: DropUnits): void {
  for (const d of Object.values(drops).flat()) {
    try {
      fs.mkdirSync(inboxOf(d.watch), { recursive: true, mode: 0o700 });
    } catch {
      // above
    }
  }
}

// One command at a time renders and writes every unit, and loads them: each renders the units of
// every function it reads and removes the faass units it did not render, so a deploy that read
// the functions before another's file was written removed that one's units under it (its
// `enable --now` then failed: 'unit faass-fn-X.socket does not exist').
async function writeAndLoad(paths: Paths, opts: UnitOpts): Promise<ApplyReport> {
  return withProcessLock(path.join(paths.stateDir, 'units.lock'), 'writing the units', () => writeAndLoadHeld(paths, opts));
}

// The functions whose units are rendered: every one, or those of `only` that still exist.
function loadScope(paths: Paths, only: readonly string[] | undefined): FunctionConfig[] {
  if (only === undefined) return loadAllFunctions(paths);
  return [...new Set(only)].filter((n) => fs.existsSync(functionConfPath(paths, n))).map((n) => loadFunctionConfig(paths, n));
}

async function writeAndLoadHeld(paths: Paths, opts: UnitOpts): Promise<ApplyReport> {
  const settled = opts.dir === undefined && opts.reload ? settleCanaries(paths, opts.only === undefined ? listFunctionNames(paths) : canaryNames(paths)) : { names: [], lines: [] };
  // An aborted canary's units go too, whichever function it is of; and the units of a function
  // whose file is gone (a delete killed before its units were removed): no later command of its
  // own would come to them.
  const only = opts.only && [...opts.only, ...settled.names, ...orphanOwners(paths, opts.dir ?? paths.unitDir)];
  const fns = loadScope(paths, only);
  const inScope = only === undefined ? () => true : unitScope(paths, only);
  // Records an earlier faass kept among the code directories, which each unit now binds, out first.
  for (const fn of fns) recordsDir(paths, fn.name);
  const triggers = allTriggers(fns, paths);
  const canaries = canaryConfigs(paths, fns);
  const units = renderAllUnits(loadSettings(paths), fns, unitContext(paths), triggers.schedules, triggers.drops, triggers.nats, canaries);
  const dir = opts.dir ?? paths.unitDir;
  const manager = opts.reload && (await managerReachable());
  if (manager) await retireTimers(dir, units, inScope);
  if (manager) await retireCanaries(dir, units, inScope);
  const changes = applyUnitFiles(dir, units, inScope);
  const aborted = settled.lines.length ? { canariesAborted: settled.lines } : {};
  if (!opts.reload) return { units: changes, systemd: 'skipped' };
  // The units may write only here (ReadWritePaths=-, BindPaths=-: ignored if missing): each
  // must exist first.
  privateDir(paths, paths.stateDir);
  privateDir(paths, queueRoot(paths)); // a schedule's service writes only there
  for (const fn of fns) privateDir(paths, functionStateDir(paths, fn.name));
  makeInboxes(triggers.drops);
  if (!manager) return { units: changes, systemd: 'unreachable', ...aborted };
  try {
    // A render of every unit (generate-units, init, a recovery) reloads whatever it found: it is
    // what a user runs to set things right, and what finishes a command killed half-way.
    if (opts.only === undefined || (await reloadNeeded(changes))) await systemctl('daemon-reload');
    await syncGatewaySockets(changes);
    await startTimers(changes.written, units);
    for (const name of opts.enable ?? []) {
      const base = functionUnitBase(name);
      const service = fns.find((f) => f.name === name)?.kind === 'service';
      await systemctl('reset-failed', `${base}.socket`, `${base}.service`, ...(service ? [`${base}-app.service`] : [])).catch(() => undefined);
      await systemctl('enable', '--no-reload', '--now', `${base}.socket`);
    }
    for (const name of (opts.enableCanaries ?? []).filter((n) => n in canaries)) {
      const base = canaryUnitBase(name);
      await systemctl('reset-failed', `${base}.socket`, `${base}.service`).catch(() => undefined);
      await systemctl('enable', '--no-reload', '--now', `${base}.socket`);
    }
    for (const name of opts.restart ?? []) {
      const base = functionUnitBase(name);
      const service = fns.find((f) => f.name === name)?.kind === 'service';
      await systemctl('try-restart', `${base}.service`, ...(service ? [`${base}-app.service`] : []));
    }
  } catch (e) {
    if (e instanceof FaassError) throw e;
    throw new FaassError('FAASS_E_SYSTEMD_FAILED', String(e));
  }
  return { units: changes, systemd: 'applied', ...aborted };
}

// Each function's canary settings, rendered with its units (functions/canary.ts).
function canaryConfigs(paths: Paths, fns: FunctionConfig[]): Record<string, FunctionConfig> {
  const configs: Record<string, FunctionConfig> = {};
  for (const fn of fns) {
    const cfg = readCanaryConfig(paths, fn.name);
    if (cfg !== null) configs[fn.name] = cfg;
  }
  return configs;
}

// The functions that have a canary's settings file: a few, read from its directory, so a deploy
// settles every aborted canary without reading every function.
function canaryNames(paths: Paths): string[] {
  let files: string[];
  try {
    files = fs.readdirSync(canaryDir(paths));
  } catch {
    return []; // none yet
  }
  const names = files.filter((f) => f.endsWith('.conf')).map((f) => f.slice(0, -'.conf'.length));
  return names.filter((n) => isValidName(n) && fs.existsSync(functionConfPath(paths, n)));
}

// A canary the gateway aborted is removed here, by the next command that touches units (the
// gateway may not write units or configuration); its route first, so the gateway never sends it a
// call again either way. Only when units are written here and loaded. names: whose to look at.
function settleCanaries(paths: Paths, names: readonly string[]): { names: string[]; lines: string[] } {
  const out: { names: string[]; lines: string[] } = { names: [], lines: [] };
  for (const name of names) {
    if (readCanaryConfig(paths, name) === null) continue;
    const abort = abortedBy(readCanaryState(paths, name), readCanaryRoute(paths, name));
    if (!abort) continue;
    removeCanaryFiles(paths, name);
    out.names.push(name);
    out.lines.push(`The gateway aborted the canary of ${name} at ${abort.at}: ${abort.reason}; removed it`);
  }
  return out;
}

// A canary's socket the new set no longer has (promoted, aborted, its function deleted): disabled
// and stopped, with its runner, while its unit file still exists (systemctl cannot disable a unit
// whose file is gone). Its runner drains: a call it took is answered; one it did not take is sent
// by the gateway to the function's own runner (runner-forward.ts).
async function retireCanaries(dir: string, keep: Record<string, string>, inScope: (file: string) => boolean): Promise<void> {
  let sockets: string[];
  try {
    sockets = fs.readdirSync(dir).filter((f) => f.startsWith('faass-canary-') && f.endsWith('.socket') && !(f in keep) && inScope(f) && (readIfExists(path.join(dir, f)) ?? '').startsWith(MARKER));
  } catch {
    return;
  }
  for (const socket of sockets) {
    await systemctl('disable', '--now', socket).catch(() => undefined);
    await systemctl('stop', socket.replace(/\.socket$/, '.service')).catch(() => undefined);
  }
}
