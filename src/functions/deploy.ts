// Deploying and deleting a function: stage its code, decide its settings (deploy-plan.ts), build
// its image, write its file, switch its code, apply its units. Library code: it returns what
// happened (reports, warnings) and throws FaassErrors; the CLI and the API say it.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Paths, functionCodeDir, functionConfPath, functionsConfDir } from '../core/paths';
import { FunctionConfig, FunctionInput, Kind, VersionRef, renderFunctionConfig, loadFunctionConfig, configInput, withVersion, parseFunctionConfig } from './function-config';
import { gatewayPorts, loadDockerSettings, loadSettings } from '../core/settings';
import { writeFileAtomic } from '../core/fs-atomic';
import { privateDir } from '../core/private-files';
import { fail, FaassError } from '../core/errors';
import { validateName, refuseReservedName } from '../core/validate';
import { BuildEvent, buildImage, pruneImages } from '../docker/image-build';
import { DeploySpec, checkSpec, planInput, planConfig, carryAccess, checkServicePort } from './deploy-plan';
import { stageCode, emptyVersion, versionPath, switchVersion, newVersionId } from './code-versions';
import { Intent, beginDeploy, aboutToCommit, aboutToRecord, endDeploy, abandonDeploy, undoFiles } from './deploy-intent';
import { Author, VersionRecord, checkMessage, currentRecord, listRecords, localAuthor, nextNumber, pruneRecords, sameVersion, sha256, treeDigest, writeRecord } from './versions';
import { ApplyReport, applyUnits, recoverFirst, withServe } from './apply-units';
import { unenforcedLimits } from './limits';
import { userManagerControllers } from '../systemd/controllers';
import { refuseDeployClash, withUnitNames } from './unit-names';
import { DepsReport, installDependencies } from './deps-install';
import { retireFunction, resetRetired } from './retire';
import { commitNamingSecrets, requireSecrets } from './secrets';
import { refuseUnderCanary } from './canary-files';

export type { DeploySpec } from './deploy-plan';
export type { ApplyReport } from './apply-units';
export type { DepsReport } from './deps-install';
export { applyUnits, loadAllFunctions } from './apply-units';

export interface DeployRequest extends DeploySpec {
  onBuild?: (e: BuildEvent) => void; // with build=: the build's progress
}

export interface DeleteReport extends ApplyReport {
  warnings: string[]; // what could not be cleaned up (carried on past)
}

export interface Staged {
  version: string | null; // a new version directory, or null: the current code stays
  codeDir: string;
  isDir: boolean;
}

// A new code version when code is given or the function has none yet; else the current code stays.
export function plannedVersion(paths: Paths, spec: DeploySpec): string | null {
  return spec.fromFile || !fs.existsSync(functionCodeDir(paths, spec.name)) ? newVersionId() : null;
}

export function stage(paths: Paths, spec: DeploySpec, version: string | null): Staged {
  if (version === null) return { version, codeDir: fs.realpathSync(functionCodeDir(paths, spec.name)), isDir: false };
  if (spec.fromFile) {
    const isDir = fs.statSync(path.resolve(spec.fromFile), { throwIfNoEntry: false })?.isDirectory() ?? false;
    stageCode(paths, spec.name, spec.fromFile, version);
    return { version, codeDir: versionPath(paths, spec.name, version), isDir };
  }
  emptyVersion(paths, spec.name, version);
  return { version, codeDir: versionPath(paths, spec.name, version), isDir: false };
}

// warnings: what the function asks for that this host will not do (limits/unenforcedLimits).
// Crash-safe (deploy-intent.ts): an intent is written before the first change and removed after
// the last; the function's file is the commit point. An error before it undoes what was staged;
// one after it leaves the intent for the next command to finish.
export interface DeployResult {
  config: FunctionConfig;
  report: ApplyReport;
  warnings: string[];
  version: VersionRef & { fresh: boolean }; // fresh: a new number; else the code and settings were the current version's
  dependencies: DepsReport | null; // what was installed into new code (null: nothing to install, or the code is the current version's)
}

// A deploy staged and decided, not yet committed: its code copied, its image built, its version
// recorded, its intent naming the file it will write (deploy-intent.ts). A stack (stack-deploy.ts)
// prepares every function before it commits any.
export interface Prepared {
  spec: DeployRequest;
  intent: Intent;
  text: string; // the function's file as it will be written: the commit point
  cfg: FunctionConfig;
  version: VersionRef & { fresh: boolean };
  now: FunctionConfig | null; // the function before
  dependencies: DepsReport | null; // what was installed into its new code
}

// unitsChecked: a stack's up checks its members' unit names itself, against the functions as they
// will be after it (unit-names.ts refuseStackClash), not as they are.
export async function prepareDeploy(paths: Paths, spec: DeployRequest, opts: { unitsChecked?: boolean } = {}): Promise<Prepared> {
  validateName(spec.name);
  if (!fs.existsSync(functionConfPath(paths, spec.name))) {
    refuseReservedName(spec.name);
  }
  const checked = checkSpec(spec); // before touching anything
  requireSecrets(paths, spec.name, checked.secrets);
  spec.message = checkMessage(spec.message);
  const intent = beginDeploy(paths, spec.name, plannedVersion(paths, spec));
  try {
    const now = currentConfig(paths, spec.name); // read once no other deploy of it runs
    const staged = stage(paths, spec, intent.version);
    const cfg = await planDeploy(paths, spec, staged);
    if (!opts.unitsChecked) refuseDeployClash(paths, spec.name, cfg.kind);
    const settings = renderFunctionConfig(cfg);
    // The digest is of the code as deployed, before its dependencies are installed into it: they
    // follow from its lockfile, and the same code again is the same version.
    const current = currentRecord(paths, now);
    const codeDigest = staged.version === null && current?.code === path.basename(staged.codeDir) ? current.codeDigest : treeDigest(staged.codeDir);
    if (!sameVersion(current, codeDigest, sha256(settings))) refuseUnderCanary(paths, spec.name);
    // New code gets its dependencies; the current version's code again keeps its directory, with
    // what was installed into it (the copy just staged is pruned).
    const dependencies = staged.version !== null && current?.codeDigest !== codeDigest ? await installDependencies(paths, cfg, staged.codeDir) : null;
    const version = recordVersion(paths, spec, intent, current, staged, codeDigest, settings);
    const text = withVersion(settings, version);
    // The file must read back as it was meant: one that does not would make the function broken
    // at its commit point (as --env X=true did); refused before it, nothing changes.
    readsBack(spec.name, text, cfg);
    aboutToCommit(paths, intent, text);
    return { spec, intent, text, cfg, version, now, dependencies };
  } catch (e) {
    settleFailed(paths, intent, false);
    throw e;
  }
}

// The commit point: the function's file, written whole by rename, its unit names and its secrets
// checked again under their locks (a clash or a removal since the deploy's first check refuses it
// here, uncommitted).
export function commitFile(paths: Paths, name: string, text: string, kind: Kind): void {
  withUnitNames(paths, () => {
    refuseDeployClash(paths, name, kind);
    commitNamingSecrets(paths, [{ fn: name, text }], () => {
      privateDir(paths, functionsConfDir(paths)); // the file holds the function's env
      writeFileAtomic(functionConfPath(paths, name), text);
    });
  });
}

// Past the commit point: the code link follows the file. Staged code that is the current
// version's again is not needed: pruned with the switch.
export function switchPrepared(paths: Paths, p: Prepared): void {
  switchVersion(paths, p.spec.name, p.version.code, pruneRecords(paths, p.spec.name, p.version.number, p.now?.version?.number ?? null));
}

// After the units are applied: an image the build replaced pruned, what this host will not enforce said.
export async function finishPrepared(paths: Paths, p: Prepared, report: ApplyReport): Promise<DeployResult> {
  const previous = p.spec.input.build !== undefined ? p.now : null;
  if (previous?.build !== undefined && previous.image !== undefined && p.cfg.image !== undefined && p.cfg.image !== previous.image) await pruneImages(loadDockerSettings(paths).socketPath, p.spec.name, [p.cfg.image, previous.image]);
  const warnings = report.systemd === 'applied' ? unenforcedLimits(p.cfg, await userManagerControllers()) : [];
  const config = Object.freeze({ ...p.cfg, version: { number: p.version.number, code: p.version.code } }); // as its file now reads
  return { config, report, warnings, version: p.version, dependencies: p.dependencies };
}

export async function deployFunction(paths: Paths, spec: DeployRequest, opts: { reload?: boolean } = {}): Promise<DeployResult> {
  // A deploy of the same name killed before must not be overwritten half-done.
  validateName(spec.name);
  const recovered = await recoverFirst(paths, opts.reload ?? true);
  const p = await prepareDeploy(paths, spec);
  let committed = false;
  try {
    commitFile(paths, spec.name, p.text, p.cfg.kind);
    committed = true;
    switchPrepared(paths, p);
    const applied = await applyUnits(paths, { reload: opts.reload ?? true, enable: [spec.name], restart: [spec.name], deferServe: true, only: [spec.name] });
    endDeploy(paths, p.intent);
    const report = await withServe(paths, applied);
    return await finishPrepared(paths, p, { ...report, recovered: report.recovered ?? recovered });
  } catch (e) {
    settleFailed(paths, p.intent, committed);
    throw e;
  }
}

function readsBack(name: string, text: string, cfg: FunctionConfig): void {
  let back: FunctionConfig;
  try {
    back = parseFunctionConfig(name, text);
  } catch (e) {
    return fail('FAASS_E_INTERNAL', `The file of ${name} would not read back (${(e as Error).message}); nothing deployed`);
  }
  if (renderFunctionConfig(back) !== renderFunctionConfig(cfg)) fail('FAASS_E_INTERNAL', `The file of ${name} would read back otherwise than deployed; nothing deployed`);
}

// The version this deploy makes current: the current one when neither the code nor the settings
// change, else a new number, whose record is written before the commit point (and named in the
// intent first, so an undo removes it).
function recordVersion(paths: Paths, spec: DeploySpec, intent: Intent, current: VersionRecord | null, staged: Staged, codeDigest: string, settings: string): VersionRef & { fresh: boolean } {
  const staging = path.basename(staged.codeDir);
  const settingsDigest = sha256(settings);
  if (current !== null && sameVersion(current, codeDigest, settingsDigest)) return { number: current.number, code: current.code, fresh: false };
  // The same code again (new settings) keeps its directory; the copy staged is pruned.
  const code = current !== null && current.codeDigest === codeDigest ? current.code : staging;
  const number = nextNumber(listRecords(paths, spec.name).map((r) => r.number));
  aboutToRecord(paths, intent, number);
  writeRecord(paths, spec.name, { number, time: new Date().toISOString(), ...(spec.author ?? localAuthor()), code, codeDigest, settingsDigest, message: spec.message ?? '', settings });
  return { number, code, fresh: true };
}

// The config a deploy writes, from the staged code; an image built from that code comes before
// anything is written: a failed build changes nothing.
export async function planDeploy(paths: Paths, spec: DeployRequest, staged: Staged): Promise<FunctionConfig> {
  const exists = (file: string) => fs.existsSync(path.join(staged.codeDir, file));
  const input = planInput(spec, staged.isDir, exists);
  if (input.build !== undefined) {
    const context = path.isAbsolute(String(input.build)) ? String(input.build) : path.join(staged.codeDir, String(input.build));
    input.image = await buildImage(loadDockerSettings(paths), spec.name, context, spec.onBuild ?? (() => undefined));
  }
  const cfg = planConfig(spec, input, exists);
  checkServicePort(cfg, knownGatewayPorts(paths));
  return cfg;
}

// A deploy that failed before its commit point is undone at once; after it, the intent is left
// for the next command that touches units to finish (this process may live on: the API's).
export function settleFailed(paths: Paths, intent: Intent, committed: boolean): void {
  if (committed) return abandonDeploy(paths, intent);
  undoFiles(paths, intent);
  endDeploy(paths, intent);
}

// The gateway's TCP ports (HTTP and HTTPS); none known when faass.conf is unreadable (the gateway
// then answers 503 with the reason, and the next deploy checks again).
function knownGatewayPorts(paths: Paths): number[] {
  try {
    return gatewayPorts(loadSettings(paths));
  } catch {
    return [];
  }
}

// Builds the function's image again from its build context and switches the function to it.
export async function rebuildFunction(paths: Paths, name: string, onBuild?: (e: BuildEvent) => void, author?: Author): Promise<DeployResult & { previous: FunctionConfig }> {
  const previous = loadFunctionConfig(paths, name);
  if (previous.build === undefined) fail('FAASS_E_USAGE', `Function ${name} has no build context; deploy it with --build DIR`);
  const input = configInput(previous);
  delete input.image;
  return { previous, ...(await deployFunction(paths, { name, input, onBuild, author, message: 'faassctl build' })) };
}

// Carries the function's access rules into an update that does not give them (deploy-plan.ts);
// refuses when its file cannot be read and the update does not say.
export function keepAccess(paths: Paths, name: string, input: FunctionInput): void {
  let previous: FunctionConfig | null | Error;
  try {
    previous = loadFunctionConfig(paths, name);
  } catch (e) {
    if (e instanceof FaassError && e.code === 'FAASS_E_FUNCTION_NOT_FOUND') previous = null;
    else previous = e instanceof FaassError ? e : new Error(`${functionConfPath(paths, name)}: ${(e as Error).message}`);
  }
  carryAccess(name, input, previous);
}

// The function as it is now, or null when there is none or its file is broken: only for
// choices where a missing answer is safe (which images to prune, which units to stop).
function currentConfig(paths: Paths, name: string): FunctionConfig | null {
  try {
    return loadFunctionConfig(paths, name);
  } catch {
    return null;
  }
}

export async function deleteFunction(paths: Paths, name: string): Promise<DeleteReport> {
  validateName(name);
  const recovered = await recoverFirst(paths);
  if (!fs.existsSync(functionConfPath(paths, name))) fail('FAASS_E_FUNCTION_NOT_FOUND', `No function named ${name}`);
  const warnings = await retireFunction(paths, name);
  const report = await applyUnits(paths, { reload: true, only: [name] });
  await resetRetired(name);
  return { ...report, recovered: report.recovered ?? recovered, warnings };
}
