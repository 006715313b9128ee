// Whose unit file is it: a deploy (delete, rollback, trigger change) renders, compares and writes
// the units of the functions it touches only, and must then remove only theirs. A file's name
// alone does not say whose it is (faass-fn-a-app.service: function a's app, or function a-app's
// runner), but the clash check (unit-names.ts) lets no two functions have one unit base, so the
// other function that could own it, if it exists and has that base, owns it.
import * as fs from 'node:fs';
import { Paths, functionConfPath } from '../core/paths';
import { unitBaseOwners } from '../systemd/units';
import { basesOnDisk } from './unit-names';

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
