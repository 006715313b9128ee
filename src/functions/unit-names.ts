// Two functions never share a unit: a function's name maps to its units' names
// (systemd/units.ts functionUnitBases), and that map is not one-to-one, so a deploy or a
// trigger that would give a function a unit base another function has is refused (409
// FAASS_E_NAME_TAKEN), naming the unit and its owner. Checked against the functions on disk
// when the change is made; only the bases the change adds, so a clash made before this check
// existed does not stop a redeploy that fixes it. Only the functions that could own an added
// base are read (units.ts unitBaseOwners): a deploy costs the same beside 10 functions or 10,000.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Paths, functionConfPath } from '../core/paths';
import { fail } from '../core/errors';
import { withLock } from '../core/fs-atomic';
import { privateDir } from '../core/private-files';
import { isValidName } from '../core/validate';
import { Kind, loadFunctionConfig } from './function-config';
import { allTriggerIds, loadTriggers } from './schedules';
import { functionUnitBases, scheduleUnitBase, unitBaseOwners } from '../systemd/units';

// The unit bases a function has now. Failing closed: one whose file does not read counts as a
// service (it may be one); one whose triggers file does not read counts every trigger asked about
// (`asked`: the bases a change would add) as its own, since its trigger units stay while the file
// is broken (applyUnits renders nothing then) and come back when it is fixed.
export function basesOnDisk(p: Paths, name: string, kind?: Kind, asked: readonly string[] = []): string[] {
  let k: Kind = 'service';
  try {
    k = kind ?? loadFunctionConfig(p, name).kind;
  } catch {
    /* unreadable: counted as a service */
  }
  let ids: string[];
  try {
    ids = allTriggerIds(loadTriggers(p, name));
  } catch {
    const at = scheduleUnitBase(name, '');
    ids = asked.filter((b) => b.startsWith(at)).map((b) => b.slice(at.length)).filter((id) => /^[a-z0-9]+$/.test(id));
  }
  return functionUnitBases(name, k, ids);
}

// The first of `bases` another function has, with that function's name.
export function unitClash(bases: readonly string[], others: ReadonlyMap<string, readonly string[]>): { base: string; owner: string } | null {
  for (const [owner, theirs] of others) {
    const base = bases.find((b) => theirs.includes(b));
    if (base !== undefined) return { base, owner };
  }
  return null;
}

// What a change of several functions makes of them before any is written (a stack's up or
// rollback): a member's kind after it, or null for one it deletes. The rest are as on disk.
export type Pending = ReadonlyMap<string, Kind | null>;

// The bases function NAME will have: null when it will not exist.
function basesAfter(p: Paths, name: string, pending: Pending, asked: readonly string[]): string[] | null {
  const kind = pending.get(name);
  if (kind === null) return null;
  if (kind !== undefined) return basesOnDisk(p, name, kind, asked);
  return fs.existsSync(functionConfPath(p, name)) ? basesOnDisk(p, name, undefined, asked) : null;
}

// The functions but NAME that could own one of `bases` (and will exist), with the bases each will have.
function othersAfter(p: Paths, name: string, bases: readonly string[], pending: Pending): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const n of new Set(bases.flatMap(unitBaseOwners))) {
    const theirs = n !== name && isValidName(n) ? basesAfter(p, n, pending, bases) : null;
    if (theirs) out.set(n, theirs);
  }
  return out;
}

// A base NAME as KIND would add (one it has now is not counted) that another function will have.
function addedClash(p: Paths, name: string, kind: Kind, pending: Pending): { base: string; owner: string } | null {
  const before = fs.existsSync(functionConfPath(p, name)) ? basesOnDisk(p, name) : [];
  const added = basesOnDisk(p, name, kind).filter((b) => !before.includes(b));
  return unitClash(added, othersAfter(p, name, added, pending));
}

// Deploying NAME as KIND: refused when a base it would add (its own, its app's, its triggers')
// is another function's.
export function refuseDeployClash(p: Paths, name: string, kind: Kind): void {
  const clash = addedClash(p, name, kind, new Map());
  if (clash) fail('FAASS_E_NAME_TAKEN', `${kind === 'service' ? 'Service' : 'Function'} ${name} would share the units ${clash.base}.* with function ${clash.owner}: choose another name`);
}

// Adding trigger ID to NAME: refused when its units' base is another function's.
export function refuseTriggerClash(p: Paths, name: string, id: string): void {
  const base = scheduleUnitBase(name, id);
  const clash = unitClash([base], othersAfter(p, name, [base], new Map()));
  if (clash) fail('FAASS_E_NAME_TAKEN', `Trigger ${id} of ${name} would share the units ${clash.base}.* with function ${clash.owner}: give another --id`);
}

// A stack's up or rollback prepares every member before it writes any, and is one change: each
// member is checked against the functions as they will be after it (the other members as they
// become, those it deletes gone), so a service web turned function beside a new web-app, or
// dropped for it, goes through, and two members that would clash are refused.
export function refuseStackClash(p: Paths, members: readonly { name: string; kind: Kind }[], deletes: readonly string[]): void {
  const pending: Pending = new Map<string, Kind | null>([...members.map((m): [string, Kind] => [m.name, m.kind]), ...deletes.map((d): [string, null] => [d, null])]);
  for (const m of members) {
    const clash = addedClash(p, m.name, m.kind, pending);
    if (clash && pending.has(clash.owner)) fail('FAASS_E_NAME_TAKEN', `Stack members ${m.name} and ${clash.owner} would share the units ${clash.base}.*: rename one`);
    if (clash) fail('FAASS_E_NAME_TAKEN', `${m.kind === 'service' ? 'Service' : 'Function'} ${m.name} would share the units ${clash.base}.* with function ${clash.owner}: choose another name`);
  }
}

// The check again and the write it allows, under one lock for every function: the claims of a
// deploy are per function, so a deploy of service foo and one of function foo-app at once each
// passed its check (made before dependencies are installed) and both wrote. Every write that adds
// unit bases (a function's file, a stack's files, a trigger) checks again under this lock.
export function withUnitNames<T>(p: Paths, f: () => T): T {
  return withLock(path.join(privateDir(p, p.stateDir), 'unit-names'), f);
}
