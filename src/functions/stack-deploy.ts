// faassctl up, down and stack rollback as one change across a stack's functions (stacks.ts):
// every function prepared first (code staged, images built, versions recorded: nothing any call
// sees), undone all together if one fails; then one commit point, the stack's intent.
import { commitNamingSecrets, requireSecrets } from './secrets';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Paths } from '../core/paths';
import { ErrorCode, FaassError, fail } from '../core/errors';
import { validateName } from '../core/validate';
import { FunctionConfig, FunctionInput, configInput, loadFunctionConfig, parseFunctionConfig, withVersion } from './function-config';
import { DeploySpec, planConfig, planInput } from './deploy-plan';
import { refuseStackClash, withUnitNames } from './unit-names';
import { Prepared, prepareDeploy, switchPrepared, settleFailed, keepAccess } from './deploy';
import { applyUnits, recoverFirst, withServe, ApplyReport, Recovered } from './apply-units';
import { aboutToCommit, beginDeploy, endDeploy, abandonDeploy } from './deploy-intent';
import { Author, currentRecord, localAuthor, readRecord, treeDigest, widerAccess, checkMessage, nextNumber } from './versions';
import { versionPath } from './code-versions';
import { StackIntent, StackOp, StackRecord, abandonStack, commitStack, writeStackFiles, currentStackRecord, currentStackVersion, finishStackFiles, listStackRecords, ownedBy, stackOwner } from './stacks';
import { resetRetired } from './retire';

export type Action = 'create' | 'update' | 'unchanged' | 'delete';
export interface PlanEntry {
  name: string;
  action: Action;
  changes: string[]; // key: old → new (env values never shown)
  refused?: { code: ErrorCode; message: string }; // what the up would refuse it for (a secret it names that does not exist)
}

function loadOrNull(paths: Paths, name: string): FunctionConfig | null | Error {
  try {
    return loadFunctionConfig(paths, name);
  } catch (e) {
    return (e as { code?: string }).code === 'FAASS_E_FUNCTION_NOT_FOUND' ? null : (e as Error);
  }
}

// Pure: the settings that differ, as the function file's keys; env by name only (its values may
// be anything the user would not print).
export function settingsDiff(before: FunctionInput, after: FunctionInput): string[] {
  const out: string[] = [];
  const flat = (i: FunctionInput) => {
    const { env, ...rest } = i;
    return { rest: rest as Record<string, unknown>, env: (env ?? {}) as Record<string, unknown> };
  };
  const a = flat(before);
  const b = flat(after);
  for (const k of [...new Set([...Object.keys(a.rest), ...Object.keys(b.rest)])].sort()) {
    if (String(a.rest[k] ?? '') !== String(b.rest[k] ?? '')) out.push(`${k}: ${a.rest[k] ?? '(unset)'} → ${b.rest[k] ?? '(unset)'}`);
  }
  for (const k of [...new Set([...Object.keys(a.env), ...Object.keys(b.env)])].sort()) {
    if (!(k in a.env)) out.push(`env ${k}: added`);
    else if (!(k in b.env)) out.push(`env ${k}: removed`);
    else if (String(a.env[k]) !== String(b.env[k])) out.push(`env ${k}: changed`);
  }
  return out;
}

// What an up would do to one function, from its source alone (nothing staged or built).
function planOne(paths: Paths, spec: DeploySpec): PlanEntry {
  const now = loadOrNull(paths, spec.name);
  const src = spec.fromFile ? path.resolve(spec.fromFile) : null;
  const isDir = src !== null && (fs.statSync(src, { throwIfNoEntry: false })?.isDirectory() ?? false);
  if (src !== null && !fs.existsSync(src)) fail('FAASS_E_FILE_MISSING', `Function ${spec.name}: cannot read ${spec.fromFile}: no such file or directory`);
  const exists = (f: string) => src !== null && fs.existsSync(isDir ? path.join(src, f) : path.join(path.dirname(src), f));
  const input = planInput(spec, isDir, exists);
  const building = input.build !== undefined;
  if (building) input.image = now instanceof Error || now === null ? 'faass-build/planned' : (now.image ?? 'faass-build/planned'); // known once built
  const cfg = planConfig(spec, input, exists);
  const entry = planChanges(paths, spec, now, cfg, src, isDir, building);
  // The up refuses a function it would deploy naming a secret that does not exist (prepareDeploy); one unchanged is not deployed.
  const refused = entry.action === 'unchanged' ? null : refusal(() => requireSecrets(paths, spec.name, cfg.secrets));
  return refused ? { ...entry, refused } : entry;
}

// What a check the up makes would refuse, or null (a dry run says it with the plan).
function refusal(check: () => void): PlanEntry['refused'] | null {
  try {
    check();
    return null;
  } catch (e) {
    if (e instanceof FaassError) return { code: e.code, message: e.message };
    throw e;
  }
}

function planChanges(paths: Paths, spec: DeploySpec, now: FunctionConfig | null | Error, cfg: FunctionConfig, src: string | null, isDir: boolean, building: boolean): PlanEntry {
  if (now === null) return { name: spec.name, action: 'create', changes: settingsDiff({}, configInput(cfg)) };
  if (now instanceof Error) return { name: spec.name, action: 'update', changes: [`file: broken (${now.message.slice(0, 120)}) → rewritten`] };
  const changes = settingsDiff(configInput(now), configInput(cfg));
  const record = currentRecord(paths, now);
  if (src !== null && isDir && record?.codeDigest !== treeDigest(src)) changes.unshift('code: changed');
  if (src !== null && !isDir) changes.unshift('code: copied again'); // a single file: compared once staged
  if (building) changes.push('image: rebuilt at up');
  return { name: spec.name, action: changes.length ? 'update' : 'unchanged', changes };
}

export function planStack(paths: Paths, stack: string, specs: DeploySpec[], filter: string[] | null): PlanEntry[] {
  for (const s of specs) keepAccess(paths, s.name, s.input); // who may call is kept unless the file says
  const plan = specs.filter((s) => filter === null || filter.includes(s.name)).map((s) => planOne(paths, s));
  if (filter !== null) return plan;
  const members = ownedBy(paths, stack, Object.keys(currentStackRecord(paths, stack)?.functions ?? {}));
  const gone = members.filter((m) => !specs.some((s) => s.name === m) && loadOrNull(paths, m) !== null);
  return [...plan, ...gone.map((name): PlanEntry => ({ name, action: 'delete', changes: [] }))];
}

export interface StackResult {
  plan: PlanEntry[];
  version: number | null; // the stack's version now (null: nothing changed and none recorded)
  fresh: boolean; // a new stack version was recorded
  report?: ApplyReport;
  recovered?: Recovered; // a change killed half-way, finished or undone first
  warnings: string[];
}

// Undoes every prepared function (before the commit point).
function undoAll(paths: Paths, prepared: Prepared[]): void {
  for (const p of prepared) settleFailed(paths, p.intent, false);
}

// Past the commit point: the next command finishes what is left.
function abandonAll(paths: Paths, stack: string, intent: StackIntent, prepared: Prepared[]): void {
  if (fs.existsSync(path.join(paths.stateDir, 'stacks-deploying', `${stack}.json`))) abandonStack(paths, intent);
  for (const p of prepared) abandonDeploy(paths, p.intent);
}

// The commit and what follows it: files, code links, deletions, units, the stack's version.
async function commitAndApply(paths: Paths, op: StackOp, stack: string, prepared: Prepared[], deletes: string[], record: StackRecord | null, current: number): Promise<{ report: ApplyReport; warnings: string[] }> {
  const files = prepared.map((p) => ({ name: p.spec.name, text: p.text }));
  // The commit point and the functions' files, under the unit names' lock and the secrets store's
  // once their unit names and secrets are checked again (unit-names.ts withUnitNames, secrets.ts
  // commitNamingSecrets): a clash or a removal since the first checks refuses it uncommitted.
  const committed: StackIntent[] = [];
  try {
    withUnitNames(paths, () => {
      refuseStackClash(paths, prepared.map((p) => ({ name: p.spec.name, kind: p.cfg.kind })), deletes); // again, under the lock
      commitNamingSecrets(paths, files.map((f) => ({ fn: f.name, text: f.text })), () => {
        committed.push(commitStack(paths, { stack, op, files, delete: deletes, record, current }));
        writeStackFiles(paths, committed[0]);
      });
    });
  } catch (e) {
    if (committed.length === 0) undoAll(paths, prepared); // refused before the commit point: none changes
    else abandonAll(paths, stack, committed[0], prepared);
    throw e;
  }
  const intent = committed[0];
  try {
    const warnings = await finishStackFiles(paths, intent);
    for (const p of prepared) switchPrepared(paths, p);
    const names = prepared.map((p) => p.spec.name);
    const applied = await applyUnits(paths, { reload: true, enable: names, restart: names, deferServe: true, only: [...names, ...deletes] });
    for (const p of prepared) endDeploy(paths, p.intent);
    for (const d of deletes) await resetRetired(d);
    return { report: await withServe(paths, applied), warnings };
  } catch (e) {
    abandonAll(paths, stack, intent, prepared);
    throw e;
  }
}

// --filter's names, each one of the file's (null: no filter). Also faassctl up --gateway's, before it uploads.
export function checkFilter(specs: DeploySpec[], filter: string[] | undefined): string[] | null {
  for (const f of filter ?? []) if (!specs.some((s) => s.name === f)) fail('FAASS_E_FUNCTION_NOT_FOUND', `--filter ${f}: the stack file has no function of that name`);
  return filter?.length ? filter : null;
}

export async function upStack(paths: Paths, stack: string, specs: DeploySpec[], opts: { filter?: string[]; message?: string; author?: Author; dryRun?: boolean }): Promise<StackResult> {
  validateName(stack);
  const message = checkMessage(opts.message);
  const filter = checkFilter(specs, opts.filter);
  const recovered = await recoverFirst(paths); // a killed up, down, deploy or rollback finished or undone first
  const plan = planStack(paths, stack, specs, filter);
  const now = currentStackVersion(paths, stack);
  const changing = plan.filter((e) => e.action !== 'unchanged');
  const refused = plan.find((e) => e.refused)?.refused;
  if (refused && !opts.dryRun) fail(refused.code, refused.message); // before anything is staged
  if (opts.dryRun || changing.length === 0) return { plan, version: now, fresh: false, recovered, warnings: [] };
  const prepared: Prepared[] = [];
  const deletes = changing.filter((e) => e.action === 'delete').map((e) => e.name);
  try {
    for (const e of changing.filter((e) => e.action !== 'delete')) prepared.push(await prepareDeploy(paths, { ...(specs.find((s) => s.name === e.name) as DeploySpec), message: opts.message, author: opts.author }, { unitsChecked: true }));
    refuseStackClash(paths, prepared.map((p) => ({ name: p.spec.name, kind: p.cfg.kind })), deletes);
  } catch (e) {
    undoAll(paths, prepared); // none changes: each stays on its version
    throw e;
  }
  // The stack's own functions only: one another stack took over is that stack's now.
  const before = currentStackRecord(paths, stack)?.functions ?? {};
  const functions: Record<string, number> = Object.fromEntries(ownedBy(paths, stack, Object.keys(before)).map((n) => [n, before[n]]));
  for (const d of deletes) delete functions[d];
  for (const s of specs) {
    const cfg = loadOrNull(paths, s.name);
    if ((filter === null || filter.includes(s.name)) && cfg && !(cfg instanceof Error) && cfg.version) functions[s.name] = cfg.version.number; // unchanged ones
  }
  for (const p of prepared) functions[p.spec.name] = p.version.number;
  const number = nextNumber(listStackRecords(paths, stack).map((r) => r.number));
  const record: StackRecord = { number, time: new Date().toISOString(), ...(opts.author ?? localAuthor()), message, functions };
  const { report, warnings } = await commitAndApply(paths, 'up', stack, prepared, deletes, record, number);
  return { plan, version: number, fresh: true, report: { ...report, recovered: report.recovered ?? recovered }, recovered, warnings };
}

// down: the stack's functions (those its current version holds and no other stack took over),
// deleted in one change. A function the file names that is not the stack's (deployed by hand, or
// by another stack) is left, and said.
export async function downStack(paths: Paths, stack: string, names: string[]): Promise<{ deleted: string[]; report: ApplyReport; warnings: string[] }> {
  validateName(stack);
  const recovered = await recoverFirst(paths);
  const members = new Set([...names, ...Object.keys(currentStackRecord(paths, stack)?.functions ?? {})]);
  const present = [...members].filter((n) => loadOrNull(paths, n) !== null).sort();
  const deleted = ownedBy(paths, stack, present);
  const left = present.filter((n) => !deleted.includes(n)).map((n) => `Left ${n}: not stack ${stack}'s (${whose(paths, n)})`);
  const { report, warnings } = await commitAndApply(paths, 'down', stack, [], deleted, null, 0); // forgets the stack
  return { deleted, report: { ...report, recovered: report.recovered ?? recovered }, warnings: [...left, ...warnings] };
}

const whose = (paths: Paths, name: string): string => {
  const owner = stackOwner(paths, name);
  return owner ? `stack ${owner} deployed it` : 'deployed by hand, not by its up';
};

// A rollback of one function inside a stack's: its version's settings and code, no new number.
function prepareRollback(paths: Paths, name: string, to: number, restoreAccess: boolean): Prepared {
  const now = loadFunctionConfig(paths, name);
  const record = readRecord(paths, name, to);
  if (record === null || !fs.existsSync(versionPath(paths, name, record.code))) fail('FAASS_E_VERSION_NOT_FOUND', `Version ${to} of ${name} is no longer kept (its code is gone)`);
  const target = parseFunctionConfig(name, record.settings);
  const wider = restoreAccess ? null : widerAccess(now, target);
  if (wider) fail('FAASS_E_ACCESS_WIDER', `Version ${to} of ${name} lets more callers in: ${wider}; say --restore-access to roll that back too`);
  requireSecrets(paths, name, target.secrets); // one removed since would fail every start
  const text = withVersion(record.settings, { number: to, code: record.code });
  const intent = beginDeploy(paths, name, null);
  aboutToCommit(paths, intent, text);
  return { spec: { name, input: {} }, intent, text, cfg: target, version: { number: to, code: record.code, fresh: false }, now, dependencies: null };
}

export async function rollbackStack(paths: Paths, stack: string, opts: { to?: number; restoreAccess?: boolean }): Promise<{ from: number | null; to: number; report: ApplyReport; changed: string[]; deleted: string[] }> {
  validateName(stack);
  const recovered = await recoverFirst(paths);
  const records = listStackRecords(paths, stack);
  if (records.length === 0) fail('FAASS_E_VERSION_NOT_FOUND', `No stack named ${stack} (faassctl up records one)`);
  const from = currentStackVersion(paths, stack);
  const to = opts.to ?? records.filter((r) => from === null || r.number < from).pop()?.number;
  if (to === undefined) fail('FAASS_E_VERSION_NOT_FOUND', `Stack ${stack} has no version before ${from}`);
  if (to === from) fail('FAASS_E_VERSION_CURRENT', `Version ${to} of stack ${stack} is already the current one`);
  const target = records.find((r) => r.number === to);
  if (!target) fail('FAASS_E_VERSION_NOT_FOUND', `Stack ${stack} has no version ${to} (kept: ${records.map((r) => r.number).join(', ')})`);
  const current = records.find((r) => r.number === from)?.functions ?? {};
  const prepared: Prepared[] = [];
  const deleted = ownedBy(paths, stack, Object.keys(current)).filter((n) => !(n in target.functions) && loadOrNull(paths, n) !== null);
  try {
    for (const [name, n] of Object.entries(target.functions)) {
      const cfg = loadOrNull(paths, name);
      if (cfg === null) fail('FAASS_E_VERSION_NOT_FOUND', `Stack ${stack} version ${to} has ${name}, which was deleted since: its versions are gone (faassctl up an older stack file instead)`);
      // Its versions are another stack's (or a new function's, deployed by hand after a delete).
      const owner = stackOwner(paths, name);
      if (owner !== stack) fail('FAASS_E_STACK_MEMBER_TAKEN', `Stack ${stack} version ${to} has ${name}, which ${owner ? `stack ${owner}` : 'a deploy by hand'} deployed since: ${owner ? "faassctl up that stack's file, or down it, first" : `faassctl delete ${name} first, or up an older stack file`}`);
      if (!(cfg instanceof Error) && cfg.version?.number === n) continue;
      prepared.push(prepareRollback(paths, name, n, opts.restoreAccess ?? false));
    }
    refuseStackClash(paths, prepared.map((p) => ({ name: p.spec.name, kind: p.cfg.kind })), deleted); // as after the rollback
  } catch (e) {
    undoAll(paths, prepared);
    throw e;
  }
  const { report } = await commitAndApply(paths, 'rollback', stack, prepared, deleted, null, to);
  return { from, to, report: { ...report, recovered: report.recovered ?? recovered }, changed: prepared.map((p) => p.spec.name), deleted };
}

export const stackVersions = (paths: Paths, stack: string) => ({ current: currentStackVersion(paths, stack), records: listStackRecords(paths, stack) });
