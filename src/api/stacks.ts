// /system/stack/NAME/... (faassctl stack versions|rollback and down with --gateway; faass-gateway(8)):
// GET .../versions lists the stack's versions; POST .../rollback with {"to": N, "restore_access":
// true} (or no body: the version before) switches its functions back in one step; POST .../down
// with {"functions": [NAME, ...]} (the stack file's, which stays with the client) deletes them
// and those the stack's current version holds, in one change; POST .../up with a tar.gz of the
// manifest and every function's code (stack-manifest.ts) deploys them as faassctl up does, all
// or nothing (dry_run: the plan only). Admins only, as every /system/ route (the gateway checks).
import * as path from 'node:path';
import * as fs from 'node:fs';
import { Paths } from '../core/paths';
import { FaassError } from '../core/errors';
import { validateName } from '../core/validate';
import { downStack, rollbackStack, stackVersions, upStack } from '../functions/stack-deploy';
import { DeploySpec } from '../functions/deploy-plan';
import { Author } from '../functions/versions';
import { log } from '../observe/log';
import { newStaging, unpackTarGz } from './upload';
import { checkCodeTree } from './stack-manifest';

export interface StackAnswer {
  status: number;
  body: unknown;
}

type Serialized = <T>(f: () => Promise<T>) => Promise<T>;

export const STACK_ROUTE = /^\/system\/stack\/([^/]+)\/(versions|rollback|down|up)$/;
export const stackRouteMethod = (what: string) => (what === 'versions' ? 'GET' : 'POST');

function objectOf(body: unknown, known: string[]): Record<string, unknown> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new FaassError('FAASS_E_USAGE', `Expected a JSON object (fields: ${known.join(', ')})`);
  const b = body as Record<string, unknown>;
  for (const k of Object.keys(b)) if (!known.includes(k)) throw new FaassError('FAASS_E_USAGE', `Unknown field ${JSON.stringify(k.slice(0, 40))}; known fields: ${known.join(', ')}`);
  return b;
}

export async function stackRoute(paths: Paths, stack: string, what: string, readJson: (empty?: unknown) => Promise<unknown>, serialized: Serialized, who: string): Promise<StackAnswer> {
  validateName(stack);
  if (what === 'versions') {
    const v = stackVersions(paths, stack);
    if (v.records.length === 0) throw new FaassError('FAASS_E_VERSION_NOT_FOUND', `No stack named ${stack} (faassctl up records one)`);
    return { status: 200, body: v.records.map((r) => ({ ...r, current: r.number === v.current })) };
  }
  if (what === 'rollback') {
    const b = objectOf(await readJson({}), ['to', 'restore_access']);
    if (b.to !== undefined && (typeof b.to !== 'number' || !Number.isSafeInteger(b.to) || b.to < 1)) throw new FaassError('FAASS_E_USAGE', 'Invalid to: expected a stack version number from 1');
    if (b.restore_access !== undefined && typeof b.restore_access !== 'boolean') throw new FaassError('FAASS_E_USAGE', 'Invalid restore_access: expected true or false');
    const r = await serialized(() => rollbackStack(paths, stack, { to: b.to as number | undefined, restoreAccess: b.restore_access === true }));
    log.info(`API: rolled stack ${stack} back to version ${r.to}${r.from !== null ? ` from ${r.from}` : ''} (${who})`);
    return { status: 200, body: { stack, from: r.from, to: r.to, changed: r.changed, deleted: r.deleted, systemd: r.report.systemd } };
  }
  const b = objectOf(await readJson(), ['functions']);
  if (!Array.isArray(b.functions)) throw new FaassError('FAASS_E_USAGE', 'Expected {"functions": [NAME, ...]}: the stack file\'s functions');
  const names = b.functions.map((n) => validateName(n));
  const r = await serialized(() => downStack(paths, stack, names));
  for (const w of r.warnings) log.warning(`API: ${w}, ignoring`);
  log.info(`API: took stack ${stack} down: ${r.deleted.join(', ') || 'no function'} deleted (${who})`);
  return { status: 200, body: { stack, deleted: r.deleted, systemd: r.report.systemd, warnings: r.warnings } };
}

// POST /system/stack/S/up: body the upload (read up to the gateway's max_body by the caller),
// unpacked once with a code upload's checks, checked against its manifest, then the same upStack
// as faassctl up, each function's code taken from the staging directory (removed at the end:
// the deploy has copied what it keeps).
export async function stackUp(paths: Paths, stack: string, body: Buffer, gzip: boolean, serialized: Serialized, author: Author): Promise<StackAnswer> {
  validateName(stack);
  if (!gzip) throw new FaassError('FAASS_E_UPLOAD_INVALID', 'A stack upload is a tar.gz (Content-Type: application/gzip) of stack.json and fn/NAME/ per function; see faass-gateway(8)');
  const tmp = newStaging(paths, `stack-${stack}`);
  try {
    await unpackTarGz(body, tmp);
    const m = checkCodeTree(tmp);
    const specs: DeploySpec[] = m.functions.map((f) => ({ name: f.name, input: f.input, ...(f.code !== undefined ? { fromFile: path.join(tmp, f.code) } : {}) }));
    const r = await serialized(() => upStack(paths, stack, specs, { filter: m.filter, message: m.message, dryRun: m.dryRun, author }));
    if (r.fresh) log.info(`API: up of stack ${stack}: version ${r.version}, ${r.plan.filter((e) => e.action !== 'unchanged').map((e) => `${e.action} ${e.name}`).join(', ')} (${author.who}, ${body.length} bytes)`);
    return { status: 200, body: { stack, plan: r.plan, version: r.version, fresh: r.fresh, dry_run: m.dryRun, recovered: r.recovered ?? null, systemd: r.report?.systemd ?? null, warnings: r.warnings } };
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}
