// Two functions never share a unit: a function's name maps to its units' names
// (systemd/units.ts functionUnitBases), and that map is not one-to-one, so a deploy or a
// trigger that would give a function a unit base another function has is refused (409
// FAASS_E_NAME_TAKEN), naming the unit and its owner. Checked against the functions on disk
// when the change is made; only the bases the change adds, so a clash made before this check
// existed does not stop a redeploy that fixes it. Only the functions that could own an added
// base are read (units.ts unitBaseOwners): a deploy costs the same beside 10 functions or 10,000.
import * as fs from 'node:fs';
import { Paths, functionConfPath } from '../core/paths';
import { fail } from '../core/errors';
import { isValidName } from '../core/validate';
import { Kind, loadFunctionConfig } from './function-config';
import { allTriggerIds, loadTriggers } from './schedules';
import { functionUnitBases, scheduleUnitBase, unitBaseOwners } from '../systemd/units';

// The unit bases a function has now; one whose file does not read counts as a service (it may
// be one: failing closed), one whose triggers file does not read has none counted.
function basesOnDisk(p: Paths, name: string, kind?: Kind): string[] {
  let k: Kind = 'service';
  try {
    k = kind ?? loadFunctionConfig(p, name).kind;
  } catch {
    /* unreadable: counted as a service */
  }
  let ids: string[] = [];
  try {
    ids = allTriggerIds(loadTriggers(p, name));
  } catch {
    /* unreadable: its triggers have no units now either */
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

// The deployed functions but NAME that could own one of `bases`, with the bases each has.
function othersOnDisk(p: Paths, name: string, bases: readonly string[]): Map<string, string[]> {
  const owners = new Set(bases.flatMap(unitBaseOwners).filter((n) => n !== name && isValidName(n) && fs.existsSync(functionConfPath(p, n))));
  return new Map([...owners].map((n) => [n, basesOnDisk(p, n)]));
}

// Deploying NAME as KIND: refused when a base it would add (its own, its app's, its triggers')
// is another function's.
export function refuseDeployClash(p: Paths, name: string, kind: Kind, exists: boolean): void {
  const before = exists ? basesOnDisk(p, name) : [];
  const added = basesOnDisk(p, name, kind).filter((b) => !before.includes(b));
  const clash = unitClash(added, othersOnDisk(p, name, added));
  if (clash) fail('FAASS_E_NAME_TAKEN', `${kind === 'service' ? 'Service' : 'Function'} ${name} would share the units ${clash.base}.* with function ${clash.owner}: choose another name`);
}

// Adding trigger ID to NAME: refused when its units' base is another function's.
export function refuseTriggerClash(p: Paths, name: string, id: string): void {
  const base = scheduleUnitBase(name, id);
  const clash = unitClash([base], othersOnDisk(p, name, [base]));
  if (clash) fail('FAASS_E_NAME_TAKEN', `Trigger ${id} of ${name} would share the units ${clash.base}.* with function ${clash.owner}: give another --id`);
}

// A stack's up prepares every member before it writes any: the members checked against each
// other too (each was checked against the functions on disk as it was prepared).
export function refuseStackClash(p: Paths, members: readonly { name: string; kind: Kind }[]): void {
  const bases = new Map(members.map((m) => [m.name, basesOnDisk(p, m.name, m.kind)]));
  for (const m of members) {
    const others = new Map([...bases].filter(([n]) => n !== m.name));
    const clash = unitClash(bases.get(m.name) ?? [], others);
    if (clash) fail('FAASS_E_NAME_TAKEN', `Stack members ${m.name} and ${clash.owner} would share the units ${clash.base}.*: rename one`);
  }
}
