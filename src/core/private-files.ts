// Everything under faass's config, data, state and runtime directories is the user's alone
// (issue 11 item 10): settings hold --env values, code may hold anything. faassctl runs under
// the user's umask (often 022) and the units under UMask=0077, so no writer relies on either:
// files are created 0600 (code the user may execute 0700), directories 0700, and a directory an
// earlier faass left looser is tightened the next time something is written into it.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Paths } from './paths';

export const PRIVATE_FILE = 0o600;
export const PRIVATE_EXEC = 0o700;
export const PRIVATE_DIR = 0o700;

const roots = (p: Paths) => [p.configDir, p.dataDir, p.stateDir, p.runtimeDir];

// dir and every directory between it and its faass root made (or left) 0700; returns dir. A
// directory outside faass's roots is a mistake of the caller: refused, not created open.
export function privateDir(paths: Paths, dir: string): string {
  const abs = path.resolve(dir);
  const root = roots(paths).find((r) => abs === r || abs.startsWith(r + path.sep));
  if (root === undefined) throw new Error(`${abs} is not under faass's directories`);
  fs.mkdirSync(abs, { recursive: true, mode: PRIVATE_DIR });
  for (let d = abs; ; d = path.dirname(d)) {
    tighten(d, PRIVATE_DIR);
    if (d === root) return abs;
  }
}

// The mode a file of code gets: the user's execute bit survives (a script, a binary), nothing
// for group and others, and never setuid, setgid or sticky.
export const codeFileMode = (mode: number): number => ((mode & 0o111) !== 0 ? PRIVATE_EXEC : PRIVATE_FILE);

// Every file and directory under dir private (code copied from the user's tree keeps its modes
// otherwise); symlinks are left alone (their own mode means nothing on Linux).
export function privateTree(dir: string): void {
  for (const ent of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, ent.name);
    if (ent.isDirectory()) {
      tighten(p, PRIVATE_DIR);
      privateTree(p);
    } else if (ent.isFile()) tighten(p, codeFileMode(fs.statSync(p).mode));
  }
  tighten(dir, PRIVATE_DIR);
}

function tighten(p: string, want: number): void {
  if ((fs.statSync(p).mode & 0o7777) !== want) fs.chmodSync(p, want);
}
