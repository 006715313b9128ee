import * as fs from 'node:fs';
import * as path from 'node:path';
import { MARKER, UnitSet } from './units';
import { writeFileAtomic, readIfExists } from '../core/fs-atomic';

export interface UnitChanges {
  written: string[];
  removed: string[];
  unchanged: string[];
}

// Writes the units that differ, removes faass's own units that are no longer wanted (only files
// that start with the marker line: a user's hand-written faass-*.service is left alone), and of
// those only the ones `inScope` says `units` speaks for (apply-units.ts: a deploy renders the
// units of the functions it touches; another function's files are not read).
export function applyUnitFiles(dir: string, units: UnitSet, inScope: (file: string) => boolean = () => true): UnitChanges {
  const changes: UnitChanges = { written: [], removed: [], unchanged: [] };
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 }); // created private; an existing one is systemd's, left as it is
  for (const [file, text] of Object.entries(units)) {
    const target = path.join(dir, file);
    const old = readIfExists(target);
    if (old === text) {
      changes.unchanged.push(file);
      continue;
    }
    if (old !== null && !old.startsWith(MARKER)) throw new Error(`Refusing to overwrite ${target}: it was not written by faass (no marker line)`);
    writeFileAtomic(target, text);
    changes.written.push(file);
  }
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const file = entry.name;
    // Drop-in directories (systemctl --user edit faass-fn-NAME.service) are the user's.
    if (!entry.isFile() || !file.startsWith('faass-') || file in units || !inScope(file)) continue;
    const text = readIfExists(path.join(dir, file));
    if (text !== null && text.startsWith(MARKER)) {
      fs.rmSync(path.join(dir, file));
      changes.removed.push(file);
    }
  }
  return changes;
}
