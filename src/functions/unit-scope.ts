// Whose unit file is it: a deploy (delete, rollback, trigger change) renders, compares and writes
// the units of the functions it touches only, and must then remove only theirs. A file's name
// alone does not say whose it is (faass-fn-a-app.service: function a's app, or function a-app's
// runner), but the clash check (unit-names.ts) lets no two functions have one unit base, so the
// other function that could own it, if it exists and has that base, owns it.
import * as fs from 'node:fs';
import { Paths, functionConfPath } from '../core/paths';
import { MARKER, unitBaseOwners } from '../systemd/units';
import { basesOnDisk } from './unit-names';
import { listFunctionNames } from './function-config';

// A function's or canary's unit: the rest (gateway, API, dispatcher, revive) are shared.
const FUNCTION_UNIT = /^faass-(fn|canary)-/;
const baseOf = (file: string) => file.replace(/\.[a-z]+$/, '');

// A test of unit file names: true for a file of one of `names` (existing or not) and for a
// shared unit, which every render renders; false for another function's. Failing closed: a file
// that might be another's (its file unreadable, say) is not touched.
export function unitScope(p: Paths, names: readonly string[]): (file: string) => boolean {
  const touched = new Set(names);
  return (file) => {
    if (!FUNCTION_UNIT.test(file)) return true;
    const base = baseOf(file);
    const owners = unitBaseOwners(base);
    if (!owners.some((o) => touched.has(o))) return false;
    return !owners.some((o) => !touched.has(o) && fs.existsSync(functionConfPath(p, o)) && basesOnDisk(p, o, undefined, [base]).includes(base));
  };
}

// The names that could own a function's unit file in DIR when none of them is a function now: a
// delete killed after it removed the function's file but before its units. Taken into a scoped
// render, they have no file, so their units are not rendered and are removed (only faass's own,
// by their marker line). Two directory reads, whatever the number of functions.
export function orphanOwners(p: Paths, dir: string): string[] {
  let files: string[];
  try {
    files = fs.readdirSync(dir).filter((f) => FUNCTION_UNIT.test(f));
  } catch {
    return [];
  }
  const functions = new Set(listFunctionNames(p));
  const orphans = new Set<string>();
  for (const file of files) {
    const owners = unitBaseOwners(baseOf(file));
    if (owners.some((o) => functions.has(o))) continue;
    if (!readHead(`${dir}/${file}`).startsWith(MARKER)) continue;
    for (const o of owners) orphans.add(o);
  }
  return [...orphans];
}

function readHead(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}
