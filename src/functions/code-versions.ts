// A function's code lives in immutable version directories; $XDG_DATA_HOME/faass/functions/NAME
// is a symlink to the current one, swapped atomically, so a running call keeps its files and the
// next one sees the new code whole.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { Paths, functionCodeDir, versionRecordsDir } from '../core/paths';
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

// Points the function's code at `version` and prunes the code directories no version needs
// (`referenced`: those of the versions kept, versions.ts; undefined: none recorded). The code
// current before the switch is kept too: a call started just before the swap may still use it.
export function switchVersion(paths: Paths, name: string, version: string, referenced?: ReadonlySet<string>): void {
  const link = functionCodeDir(paths, name);
  privateDir(paths, path.dirname(link));
  const before = currentCode(paths, name);
  replaceSymlink(path.relative(path.dirname(link), versionPath(paths, name, version)), link);
  pruneCode(paths, name, new Set([version, ...(before ? [before] : []), ...(referenced ?? [])]), referenced === undefined);
}

// The id of the code directory the function's link points at, or null.
export function currentCode(paths: Paths, name: string): string | null {
  try {
    return path.basename(fs.readlinkSync(functionCodeDir(paths, name)));
  } catch {
    return null;
  }
}

export function dropVersion(paths: Paths, name: string, version: string): void {
  fs.rmSync(versionPath(paths, name, version), { recursive: true, force: true });
}

// Code directories are named by newVersionId; the rest of the folder (.tmp copies under way,
// an earlier faass's .versions) is not code.
const isCodeDir = (entry: string) => !entry.startsWith('.') && !entry.endsWith('.tmp');

// Removes the code directories not in `keep`. With no versions recorded (an install from before
// them) the newest one not kept stays as well, as before: the one the previous switch replaced.
function pruneCode(paths: Paths, name: string, keep: ReadonlySet<string>, unrecorded: boolean): void {
  const dir = versionsDir(paths, name);
  const gone = fs.readdirSync(dir).filter((v) => isCodeDir(v) && !keep.has(v)).sort();
  for (const v of unrecorded ? gone.slice(0, -1) : gone) fs.rmSync(path.join(dir, v), { recursive: true, force: true });
}

// The code a function's runner serves: the directory its file's version names (so the number it
// answers with is the code it runs, whatever the link says at that moment), else the link's.
export function codeDirOf(paths: Paths, name: string, ref: { code: string } | undefined): string {
  if (ref !== undefined && fs.existsSync(versionPath(paths, name, ref.code))) return versionPath(paths, name, ref.code);
  return functionCodeDir(paths, name);
}

// Every version and the link: a deleted function leaves no code behind.
export function removeAllCode(paths: Paths, name: string): void {
  fs.rmSync(functionCodeDir(paths, name), { force: true });
  fs.rmSync(versionRecordsDir(paths, name), { recursive: true, force: true });
  fs.rmSync(versionsDir(paths, name), { recursive: true, force: true });
}
