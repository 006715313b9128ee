// A function's file drops (issue 14): a watched directory whose every new file becomes one
// asynchronous call (queue/drop-fire.ts). Kept in the function's triggers file beside its
// schedules (schedules.ts: one INI section a trigger, the section's keys say which kind), so
// one file, one id space (the units are faass-fn-NAME-at-ID.* for either kind) and one
// add/rm/ls (triggers.ts). The key rules live here; pure but for the checks on the directory.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fail } from '../core/errors';
import { number, plainString, size, timespan } from '../core/validate';

// The area faass keeps in a watched directory (on its file system, so a claim is one rename):
// processing/ (claimed, its call not settled yet), done/ and failed/ (kept `keep` seconds).
export const AREA = '.faass';
// Files up to this size travel in the event (base64): the function cannot read the directory.
export const INLINE_DEFAULT = 64 * 1024;
export const INLINE_MAX = 1024 * 1024;
export const KEEP_DEFAULT = 7 * 86400;
// How many links a chain of calls may have, each writing the next one's file into its outbox
// (functions/outbox.ts): past it, a file is a dead letter instead of a call.
export const CHAIN_LIMIT_DEFAULT = 5;
export const CHAIN_LIMIT_MAX = 100;
export const DROP_KEYS = ['watch', 'pattern', 'inline_max', 'keep', 'chain_limit'];

export interface FileDrop {
  readonly id: string;
  readonly watch: string; // absolute, normalized
  readonly pattern: string; // a glob(7) of names; '*' by default
  readonly inlineMax: number; // bytes of content carried in the event
  readonly keep: number; // seconds done/ and failed/ keep a file
  readonly chainLimit: number; // the deepest call a file of an outbox may start
}

export interface FileDropInput {
  watch?: unknown;
  pattern?: unknown;
  inline_max?: unknown;
  keep?: unknown;
  chain_limit?: unknown;
}

// The directory as a unit file and a glob take it: absolute, and nothing systemd would read as a
// separator, a quote or an escape (its % are escaped where it is written). A colon too: the units'
// path settings refuse it (units.ts pathArg), and a drop taken here is written before its units are
// rendered, so one they refuse would break every later unit change.
export function checkWatchDir(v: unknown): string {
  const raw = plainString('watch', v).trim();
  if (!path.isAbsolute(raw)) fail('FAASS_E_CONFIG_INVALID', `Invalid --watch ${JSON.stringify(raw.slice(0, 120))}: give an absolute path`);
  const dir = path.normalize(raw).replace(/\/+$/, '') || '/';
  if (/[\s"'\\:*?[\]{}]/.test(dir)) fail('FAASS_E_CONFIG_INVALID', `Invalid --watch ${JSON.stringify(dir.slice(0, 120))}: whitespace, quotes, backslashes, colons and glob characters are not taken in a watched path`);
  if (dir === '/' || dir.split('/').includes(AREA)) fail('FAASS_E_CONFIG_INVALID', `Invalid --watch ${dir}: not / and not inside a ${AREA} area`);
  return dir;
}

// A glob of names (no /): what systemd's PathExistsGlob= and the claim both match. It may not
// start with '.': hidden names are where files are written before their rename into place.
export function checkPattern(v: unknown): string {
  const p = plainString('pattern', v).trim();
  if (!/^[A-Za-z0-9._*?[\]!+-]{1,100}$/.test(p) || p.startsWith('.')) fail('FAASS_E_CONFIG_INVALID', `Invalid --pattern ${JSON.stringify(p.slice(0, 100))}: a glob of file names (letters, digits, . _ + - * ? [ ] !), not starting with '.'`);
  globRegExp(p); // an unclosed [ is refused here
  return p;
}

// glob(3)'s name matching, as systemd's PathExistsGlob= does it: * and ? do not match a leading
// '.', [a-z] and [!a-z] are classes.
export function globRegExp(pattern: string): RegExp {
  let re = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else if (c === '[') {
      const end = pattern.indexOf(']', i + 2);
      if (end < 0) fail('FAASS_E_CONFIG_INVALID', `Invalid --pattern ${JSON.stringify(pattern)}: [ without ]`);
      const body = pattern.slice(i + 1, end);
      re += body.startsWith('!') ? `[^${esc(body.slice(1))}]` : `[${esc(body)}]`;
      i = end;
    } else re += c.replace(/[.+\]!-]/g, (x) => `\\${x}`);
  }
  return new RegExp(`^(?!\\.)${re}$`);
}
const esc = (s: string) => s.replace(/[\\\]^]/g, (x) => `\\${x}`);

export function buildFileDrop(id: string, raw: FileDropInput): FileDrop {
  if (raw.watch === undefined) fail('FAASS_E_CONFIG_INVALID', `File drop ${id}: watch is required`);
  return Object.freeze({
    id,
    watch: checkWatchDir(raw.watch),
    pattern: raw.pattern === undefined ? '*' : checkPattern(raw.pattern),
    inlineMax: raw.inline_max === undefined ? INLINE_DEFAULT : size('inline_max', String(raw.inline_max), 0, INLINE_MAX),
    keep: raw.keep === undefined ? KEEP_DEFAULT : timespan('keep', raw.keep, 60, 365 * 86400),
    chainLimit: raw.chain_limit === undefined ? CHAIN_LIMIT_DEFAULT : number('chain_limit', raw.chain_limit, 1, CHAIN_LIMIT_MAX, { integer: true }),
  });
}

export const dropSection = (d: FileDrop): Record<string, string | number> => ({
  watch: d.watch,
  ...(d.pattern !== '*' ? { pattern: d.pattern } : {}),
  ...(d.inlineMax !== INLINE_DEFAULT ? { inline_max: d.inlineMax } : {}),
  ...(d.keep !== KEEP_DEFAULT ? { keep: d.keep } : {}),
  ...(d.chainLimit !== CHAIN_LIMIT_DEFAULT ? { chain_limit: d.chainLimit } : {}),
});

// Checked when a drop is added (not when the file is read: a directory may go and come back):
// an existing directory, and none of faass's own, which its units write (a function's unit may
// write its counters there: a watch on it could loop).
export function checkWatchable(dir: string, faassDirs: string[]): void {
  let st: fs.Stats;
  try {
    st = fs.statSync(dir);
  } catch (e) {
    return fail('FAASS_E_FILE_MISSING', `--watch ${dir}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such directory' : (e as Error).message}`);
  }
  if (!st.isDirectory()) fail('FAASS_E_CONFIG_INVALID', `--watch ${dir}: not a directory`);
  const inside = (a: string, b: string) => a === b || a.startsWith(`${b}/`);
  // Compared where they really are: a symlink on the way to one of faass's directories is it.
  const real = fs.realpathSync(dir);
  const own = faassDirs.find((f) => [f, realOrAsIs(f)].some((g) => inside(real, g) || inside(g, real) || inside(dir, g) || inside(g, dir)));
  if (own) fail('FAASS_E_CONFIG_INVALID', `--watch ${dir}: faass's own directory ${own} is ${inside(dir, own) || inside(real, realOrAsIs(own)) ? 'above' : 'below'} it${real !== dir ? ` (it is ${real})` : ''}; watch a directory of your own`);
}

// A faass directory that does not exist yet is compared as it is written.
function realOrAsIs(p: string): string {
  try {
    return fs.realpathSync(p);
  } catch {
    return p;
  }
}
