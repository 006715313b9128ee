// A function's code lives in immutable version directories; $XDG_DATA_HOME/faass/functions/NAME
// is a symlink to the current one, swapped atomically, so a running call keeps its files and the
// next one sees the new code whole.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { Paths, functionCodeDir } from '../core/paths';
import { replaceSymlink } from '../core/fs-atomic';
import { privateDir, privateTree, PRIVATE_DIR } from '../core/private-files';
import { fail } from '../core/errors';

export function versionsDir(paths: Paths, name: string): string {
  return path.join(paths.dataDir, 'code', name);
}

// Chosen before the code is staged, so a deploy's intent (deploy-intent.ts) names it first.
export const newVersionId = () => `${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;

// Copies a file or a directory into a new version directory (written under .tmp, then renamed:
// a crash leaves no half-copied version); returns the version's id. The copy is private to the
// user whatever the source's modes (private-files.ts): files 0600, or 0700 when executable.
export function stageCode(paths: Paths, name: string, fromFile: string, version = newVersionId()): string {
  const src = path.resolve(fromFile);
  let st: fs.Stats;
  try {
    st = fs.statSync(src);
  } catch {
    fail('FAASS_E_FILE_MISSING', `Cannot read ${fromFile}: no such file or directory`);
  }
  const dir = path.join(versionsDir(paths, name), version);
  const tmp = `${dir}.tmp`;
  privateDir(paths, versionsDir(paths, name));
  fs.mkdirSync(tmp, { mode: PRIVATE_DIR });
  try {
    if (st.isDirectory()) fs.cpSync(src, tmp, { recursive: true, dereference: false, verbatimSymlinks: true });
    else if (st.isFile()) fs.copyFileSync(src, path.join(tmp, path.basename(src)));
    else fail('FAASS_E_FILE_MISSING', `${fromFile} is neither a file nor a directory`);
    privateTree(tmp);
    fs.renameSync(tmp, dir);
  } catch (e) {
    fs.rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
  return version;
}

// A function deployed with no code of its own (a command, an image) still gets a directory.
export function emptyVersion(paths: Paths, name: string, version = newVersionId()): string {
  privateDir(paths, path.join(versionsDir(paths, name), version));
  return version;
}

export const versionPath = (paths: Paths, name: string, version: string) => path.join(versionsDir(paths, name), version);

// Points the function's code at `version` and prunes the older ones.
export function switchVersion(paths: Paths, name: string, version: string): void {
  const link = functionCodeDir(paths, name);
  privateDir(paths, path.dirname(link));
  replaceSymlink(path.relative(path.dirname(link), versionPath(paths, name, version)), link);
  pruneVersions(paths, name, version);
}

export function dropVersion(paths: Paths, name: string, version: string): void {
  fs.rmSync(versionPath(paths, name, version), { recursive: true, force: true });
}

// Keeps the current version and the one before (a call started just before the swap may still use it).
function pruneVersions(paths: Paths, name: string, current: string): void {
  const dir = versionsDir(paths, name);
  const versions = fs.readdirSync(dir).filter((v) => !v.endsWith('.tmp') && v !== current).sort();
  for (const v of versions.slice(0, -1)) fs.rmSync(path.join(dir, v), { recursive: true, force: true });
}

// Every version and the link: a deleted function leaves no code behind.
export function removeAllCode(paths: Paths, name: string): void {
  fs.rmSync(functionCodeDir(paths, name), { force: true });
  fs.rmSync(versionsDir(paths, name), { recursive: true, force: true });
}
