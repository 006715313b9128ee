// Canaries (issue 15; docs/DESIGN.md "Canaries"): a new version of a function deployed beside
// the current one, which the gateway sends a share of the calls (gateway/canaries.ts), until it
// is promoted (made current through the rollback's crash-safe switch: its version is recorded, so
// a promote is a switch to it) or aborted (by a command, or by the gateway over its error limit).
// Its own socket and runner (units.ts renderCanaryService) read its files (canary-files.ts).
import * as path from 'node:path';
import { Paths, canaryConfPath, canaryRoutePath, functionsConfDir } from '../core/paths';
import { writeFileAtomic } from '../core/fs-atomic';
import { privateDir } from '../core/private-files';
import { fail } from '../core/errors';
import { validateName } from '../core/validate';
import { managerReachable, systemctl } from '../systemd/systemctl';
import { canaryUnitBase } from '../systemd/units';
import { FunctionConfig, loadFunctionConfig, renderFunctionConfig, withVersion } from './function-config';
import { DeployRequest, plannedVersion, planDeploy, stage } from './deploy';
import { Intent, aboutToRecord, beginDeploy, endDeploy, processStart, recoverFiles } from './deploy-intent';
import { checkSpec } from './deploy-plan';
import { ApplyReport, applyUnits, recoverFirst } from './apply-units';
import { dropVersion } from './code-versions';
import { checkMessage, currentRecord, listRecords, localAuthor, nextNumber, sameVersion, sha256, treeDigest, writeRecord } from './versions';
import { switchToVersion } from './rollback';
import { commitNamingSecrets } from './secrets';
import { CanaryInput, CanaryRoute, buildCanaryRoute, renderCanaryRoute, sameCanary } from './canary-spec';
import { abortedBy, hasCanaryFiles, readCanaryRoute, readCanaryState, removeCanaryFiles } from './canary-files';

export interface CanaryDeployResult {
  config: FunctionConfig; // the canary's settings, with its version
  route: CanaryRoute;
  current: number | null; // the version that stays current
  report: ApplyReport;
}

// Judged against the current version and the new settings; what a canary cannot be yet.
function refuseCanary(now: FunctionConfig, next: FunctionConfig): void {
  const refuse = (why: string) => fail('FAASS_E_CANARY_REFUSED', `No canary of ${now.name}: ${why}`);
  if (now.kind === 'service' || next.kind === 'service') refuse('services have no canaries yet (their app is reached through systemd-socket-proxyd, one per service); deploy without --canary');
  // Its runner would take the current runner's containers for its own leftovers.
  if (now.runtime === 'docker' || next.runtime === 'docker') refuse('container functions have no canaries yet; deploy without --canary');
  // Who may call is decided before a call's side is: both sides must let in the same callers.
  if (now.auth.join(',') !== next.auth.join(',') || now.passAuthorization !== next.passAuthorization) refuse('a canary keeps who may call the function (auth, pass_authorization); deploy that change without --canary');
}

// Crash-safe as a deploy is, and claims the function as one does (deploy-intent.ts: a deploy,
// rollback, promote or another canary of it at once is refused, FAASS_E_DEPLOY_BUSY). Its commit
// point is its route, written last: short of it, a failure here or the next command after a kill
// removes its settings file, units, record and code (recoverFiles).
export async function deployCanary(paths: Paths, spec: DeployRequest, input: CanaryInput): Promise<CanaryDeployResult> {
  validateName(spec.name);
  checkSpec(spec);
  spec.message = checkMessage(spec.message);
  buildCanaryRoute(input, 1, ''); // its options judged before anything is done
  if (!(await managerReachable())) fail('FAASS_E_SYSTEMD_UNREACHABLE', `A canary runs in units of its own, and no systemd user manager is reachable (faassctl serve runs no canaries); deploy ${spec.name} without --canary`);
  // Finishes interrupted deploys, and removes a canary the gateway aborted.
  const settled = await applyUnits(paths, { reload: true });
  const intent = beginDeploy(paths, spec.name, plannedVersion(paths, spec), processStart, true);
  try {
    const r = await placeCanary(paths, spec, input, intent);
    endDeploy(paths, intent);
    return { ...r, report: { ...r.report, canariesAborted: [...(settled.canariesAborted ?? []), ...(r.report.canariesAborted ?? [])], recovered: settled.recovered } };
  } catch (e) {
    await undoCanary(paths, intent);
    throw e;
  }
}

async function placeCanary(paths: Paths, spec: DeployRequest, input: CanaryInput, intent: Intent): Promise<CanaryDeployResult> {
  const now = loadFunctionConfig(paths, spec.name); // read once no other deploy of it runs
  const running = readCanaryRoute(paths, spec.name);
  if (running) fail('FAASS_E_CANARY_EXISTS', `${spec.name} already has a canary (version ${running.version} at ${running.percent}%): promote it (faassctl promote ${spec.name}) or abort it (faassctl abort ${spec.name}) first`);
  removeCanaryFiles(paths, spec.name); // what an older faass's killed canary deploy left (no route: never routed to)
  const current = currentRecord(paths, now);
  const staged = stage(paths, spec, intent.version);
  const cfg = await planDeploy(paths, spec, staged);
  refuseCanary(now, cfg);
  const settings = renderFunctionConfig(cfg);
  const codeDigest = treeDigest(staged.codeDir);
  if (sameVersion(current, codeDigest, sha256(settings))) fail('FAASS_E_CANARY_REFUSED', `No canary of ${spec.name}: its code and settings are those of version ${current?.number}, the current one`);
  const code = current !== null && current.codeDigest === codeDigest ? current.code : path.basename(staged.codeDir);
  if (staged.version !== null && code !== staged.version) dropVersion(paths, spec.name, staged.version); // the same code again
  const number = nextNumber(listRecords(paths, spec.name).map((r) => r.number));
  aboutToRecord(paths, intent, number);
  writeRecord(paths, spec.name, { number, time: new Date().toISOString(), ...(spec.author ?? localAuthor()), code, codeDigest, settingsDigest: sha256(settings), message: spec.message ?? '', settings });
  const route = buildCanaryRoute(input, number, new Date().toISOString());
  privateDir(paths, functionsConfDir(paths)); // configDir, private
  privateDir(paths, path.dirname(canaryConfPath(paths, spec.name))); // the file holds the function's env
  // Its secrets checked under the store's lock, as a deploy's: a missing one would fail every
  // start of the canary's runner, and a removal must see this file once written.
  const text = withVersion(settings, { number, code });
  commitNamingSecrets(paths, [{ fn: spec.name, text }], () => writeFileAtomic(canaryConfPath(paths, spec.name), text));
  const report = await applyUnits(paths, { reload: true, only: [spec.name] });
  await startSocket(spec.name);
  // The commit point: from here on the gateway sends it its share.
  writeFileAtomic(canaryRoutePath(paths, spec.name), renderCanaryRoute(route));
  const config = Object.freeze({ ...cfg, version: { number, code } });
  return { config, route, current: current?.number ?? null, report };
}

async function startSocket(name: string): Promise<void> {
  const base = canaryUnitBase(name);
  await systemctl('reset-failed', `${base}.socket`, `${base}.service`).catch(() => undefined);
  await systemctl('enable', '--no-reload', '--now', `${base}.socket`);
}

// A canary deploy that failed: short of its route, its files, record and staged code go
// (recoverFiles), then its units with them (once its settings file was written).
async function undoCanary(paths: Paths, intent: Intent): Promise<void> {
  const verdict = recoverFiles(paths, intent);
  endDeploy(paths, intent);
  if (verdict === 'undo' && intent.record !== undefined) await applyUnits(paths, { reload: true, only: [intent.name] }).catch(() => undefined);
}

// An aborted canary's line, when the gateway aborted the one asked about.
function noCanary(paths: Paths, name: string, report?: ApplyReport): never {
  const gone = report?.canariesAborted?.find((l) => l.includes(` canary of ${name} `));
  fail('FAASS_E_CANARY_NOT_FOUND', gone ? `${gone}; nothing to do` : `${name} has no canary (faassctl deploy ${name} ... --canary 10%)`);
}

export interface PromoteResult {
  from: number | null;
  to: number;
  report: ApplyReport;
}

// The canary's version made current (through the rollback's switch, which restarts the function's
// runner: calls keep being answered, by the canary's runner too), then its route removed (every
// call to the function's runner, now of its version), then its units.
export async function promoteCanary(paths: Paths, name: string): Promise<PromoteResult> {
  validateName(name);
  const settled = await applyUnits(paths, { reload: true });
  const route = readCanaryRoute(paths, name);
  if (!route) noCanary(paths, name, settled);
  const now = loadFunctionConfig(paths, name);
  const from = now.version?.number ?? null;
  const claimed = () => refuseGone(paths, name, route);
  if (from !== route.version) await switchToVersion(paths, name, now, from, route.version, { restoreAccess: false, say: `abort the canary (faassctl abort ${name}) and deploy that change without --canary`, claimed });
  removeCanaryFiles(paths, name);
  return { from, to: route.version, report: await applyUnits(paths, { reload: true, only: [name] }) };
}

// The gateway may abort a canary at any moment (it writes no units, so it takes no claim): read
// again once the promote holds the function, just before its switch. An aborted canary is not
// made current: it failed too many calls.
function refuseGone(paths: Paths, name: string, route: CanaryRoute): void {
  const aborted = abortedBy(readCanaryState(paths, name), route);
  if (aborted) fail('FAASS_E_CANARY_NOT_FOUND', `The gateway aborted the canary of ${name} at ${aborted.at}: ${aborted.reason}; nothing promoted (faassctl abort ${name} removes it)`);
  const still = readCanaryRoute(paths, name);
  if (still === null || !sameCanary(still, route)) fail('FAASS_E_CANARY_NOT_FOUND', `The canary of ${name} (version ${route.version}) was removed meanwhile; nothing promoted`);
}

export interface AbortResult {
  version: number | null; // the canary's, when its route was there
  report: ApplyReport;
}

// Its route first (no call goes to it from then on), then its units; the current version is not
// touched. Its version stays recorded (faassctl versions), as any version not current.
export async function abortCanary(paths: Paths, name: string): Promise<AbortResult> {
  validateName(name);
  // A canary deploy of it killed before is undone first (what status calls incomplete): that is
  // what this abort was asked to remove.
  const recovered = await recoverFirst(paths);
  loadFunctionConfig(paths, name); // there is such a function
  const intent = beginDeploy(paths, name, null); // not under a canary deploy, promote or rollback of it
  try {
    return await removeCanary(paths, name, recovered?.undone.includes(name) ?? false);
  } finally {
    endDeploy(paths, intent);
  }
}

async function removeCanary(paths: Paths, name: string, undone: boolean): Promise<AbortResult> {
  const route = readCanaryRoute(paths, name);
  const auto = abortedBy(readCanaryState(paths, name), route);
  if (!hasCanaryFiles(paths, name) && !undone) noCanary(paths, name);
  removeCanaryFiles(paths, name);
  const report = await applyUnits(paths, { reload: true, only: [name] });
  if (undone) report.recovered = { stacks: [], finished: [], undone: [name], failed: [] };
  if (auto) report.canariesAborted = [...(report.canariesAborted ?? []), `The gateway had aborted it at ${auto.at}: ${auto.reason}`];
  return { version: route?.version ?? null, report };
}

// faassctl canary NAME --json, and the API: the canary, its route, and what the gateway saw.
export interface CanaryView {
  function: string;
  version: number;
  current: number | null;
  percent: number;
  header: string | null;
  max_errors: number | null;
  window: number; // seconds
  min_calls: number;
  started: string;
  state: 'running' | 'aborted';
  calls: number; // in the window, as the gateway last wrote them (at seen_at)
  errors: number;
  seen_at: string | null;
  aborted?: { at: string; reason: string };
}

export function canaryView(paths: Paths, name: string): CanaryView {
  validateName(name);
  const now = loadFunctionConfig(paths, name);
  const route = readCanaryRoute(paths, name);
  if (!route) noCanary(paths, name);
  const state = readCanaryState(paths, name);
  const seen = state && state.version === route.version && state.started === route.started ? state : null;
  const aborted = abortedBy(state, route);
  return {
    function: name,
    version: route.version,
    current: now.version?.number ?? null,
    percent: route.percent,
    header: route.header,
    max_errors: route.maxErrors,
    window: route.window,
    min_calls: route.minCalls,
    started: route.started,
    state: aborted ? 'aborted' : 'running',
    calls: seen?.calls ?? 0,
    errors: seen?.errors ?? 0,
    seen_at: seen?.at ?? null,
    ...(aborted ? { aborted } : {}),
  };
}
