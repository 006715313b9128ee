// Rolling a function back to one of its versions (versions.ts): its settings and code switched
// back in one step, through a deploy's crash-safe path (deploy-intent.ts): the intent first, the
// function's file (naming the version) as the commit point, then the code link, the units, and a
// try-restart of the runner. The current pointer moves; no new number is made.
import * as fs from 'node:fs';
import { Paths } from '../core/paths';
import { fail } from '../core/errors';
import { validateName } from '../core/validate';
import { FunctionConfig, loadFunctionConfig, parseFunctionConfig, withVersion } from './function-config';
import { switchVersion, versionPath } from './code-versions';
import { beginDeploy, aboutToCommit, endDeploy } from './deploy-intent';
import { ApplyReport, applyUnits, recoverFirst, withServe } from './apply-units';
import { currentRecord, listRecords, pruneRecords, readRecord, rollbackTarget, widerAccess } from './versions';
import { commitFile, settleFailed } from './deploy';
import { refuseDeployClash } from './unit-names';
import { requireSecrets } from './secrets';
import { hasCanaryFiles, readCanaryConfig, removeCanaryFiles } from './canary-files';

export interface RollbackRequest {
  to?: number; // default: the newest version before the current one
  restoreAccess?: boolean; // may widen who may call it (widerAccess)
}

export interface RollbackResult {
  from: number | null;
  to: number;
  config: FunctionConfig;
  report: ApplyReport;
}

export async function rollbackFunction(paths: Paths, name: string, req: RollbackRequest = {}): Promise<RollbackResult> {
  validateName(name);
  // A deploy of it killed before is finished or undone first: the current version is then known.
  const recovered = await recoverFirst(paths);
  const now = loadFunctionConfig(paths, name);
  const from = now.version?.number ?? currentRecord(paths, now)?.number ?? null;
  const to = rollbackTarget(name, listRecords(paths, name).map((r) => r.number), from, req.to);
  const r = await switchToVersion(paths, name, now, from, to, { restoreAccess: req.restoreAccess ?? false, say: 'say --restore-access to roll that back too' });
  const dropped = await dropCanary(paths, name);
  const canariesAborted = [...(r.report.canariesAborted ?? []), ...dropped];
  return { ...r, report: { ...r.report, recovered: r.report.recovered ?? recovered, ...(canariesAborted.length ? { canariesAborted } : {}) } };
}

// A rollback goes back to a version known good, in one step: a canary left running would still
// send its share of the calls to newer code, and a later promote would undo the rollback. So the
// canary goes too (after the switch: a refused rollback keeps it), and the report says so.
async function dropCanary(paths: Paths, name: string): Promise<string[]> {
  if (!hasCanaryFiles(paths, name)) return [];
  const version = readCanaryConfig(paths, name)?.version?.number;
  removeCanaryFiles(paths, name);
  const report = await applyUnits(paths, { reload: true, only: [name] }); // its units retired (apply-units.ts)
  return [...(report.canariesAborted ?? []), `Aborted the canary of ${name}${version ? ` (version ${version})` : ''}: a rollback leaves only the version it goes to`];
}

// Makes version `to` current (a rollback, and a canary's promote: canary.ts), refusing one that
// lets more callers in than `now` unless told (`say`: how to tell).
// claimed: what must still hold once the function is claimed, just before the switch (a promote:
// its canary was not aborted meanwhile); it throws to refuse, and nothing is changed.
export async function switchToVersion(paths: Paths, name: string, now: FunctionConfig, from: number | null, to: number, opts: { restoreAccess: boolean; say: string; claimed?: () => void }): Promise<RollbackResult> {
  const record = readRecord(paths, name, to);
  if (record === null || !fs.existsSync(versionPath(paths, name, record.code))) fail('FAASS_E_VERSION_NOT_FOUND', `Version ${to} of ${name} is no longer kept (its code is gone)`);
  const target = parseFunctionConfig(name, record.settings); // as the runner will read it
  const wider = opts.restoreAccess ? null : widerAccess(now, target);
  if (wider) fail('FAASS_E_ACCESS_WIDER', `Version ${to} of ${name} lets more callers in: ${wider}; ${opts.say}`);
  requireSecrets(paths, name, target.secrets); // one removed since would fail every start
  refuseDeployClash(paths, name, target.kind); // a service again, beside a function NAME-app deployed since
  const text = withVersion(record.settings, { number: to, code: record.code });
  const intent = beginDeploy(paths, name, null);
  let committed = false;
  try {
    opts.claimed?.();
    aboutToCommit(paths, intent, text);
    commitFile(paths, name, text, target.kind); // its unit names and secrets checked again, under their locks
    committed = true;
    switchVersion(paths, name, record.code, pruneRecords(paths, name, to, from));
    const applied = await applyUnits(paths, { reload: true, enable: [name], restart: [name], deferServe: true, only: [name] });
    endDeploy(paths, intent);
    const report = await withServe(paths, applied);
    return { from, to, config: target, report };
  } catch (e) {
    settleFailed(paths, intent, committed);
    throw e;
  }
}
