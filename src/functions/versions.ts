// A function's numbered versions (issue 15; docs/DESIGN.md "Versions and rollback"). Every
// deploy that changes the code or the settings records one: N (1, 2, ... per function, never
// reused), when, who, a digest of the code tree and of the settings, a message, and the
// settings themselves, in versions/NAME/N.json beside the code directories (code-versions.ts).
// The function's file names the version it is ([version], function-config.ts): that file is a
// deploy's commit point (deploy-intent.ts), so settings, code and number switch together.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createHash } from 'node:crypto';
import { Paths, functionConfPath, versionRecordsDir } from '../core/paths';
import { readIfExists, writeFileAtomic } from '../core/fs-atomic';
import { privateDir } from '../core/private-files';
import { fail } from '../core/errors';
import { loadSettings } from '../core/settings';
import { versionsDir, versionPath, currentCode } from './code-versions';
import { FunctionConfig, loadFunctionConfig, renderFunctionConfig } from './function-config';
import { reachedThroughSocket } from '../systemd/units';
import { canaryVersionOf } from './canary-files';

export interface Author {
  who: string; // the API credential's name, or the local user's
  via: 'api' | 'local';
}

export interface VersionRecord extends Author {
  number: number;
  time: string; // ISO 8601, UTC
  code: string; // the code directory's id
  codeDigest: string; // sha256 of the code tree (treeDigest)
  settingsDigest: string; // sha256 of the settings text
  message: string;
  settings: string; // the function's file without its [version]: what a rollback writes back
}

// Where the records are; ones an earlier faass kept in code/NAME/.versions are moved there first
// (one rename, on one file system).
export function recordsDir(paths: Paths, name: string): string {
  const dir = versionRecordsDir(paths, name);
  const old = path.join(versionsDir(paths, name), '.versions');
  if (!fs.existsSync(dir) && fs.existsSync(old)) {
    privateDir(paths, path.dirname(dir));
    fs.renameSync(old, dir);
  }
  return dir;
}
const recordPath = (paths: Paths, name: string, n: number) => path.join(recordsDir(paths, name), `${n}.json`);
export const sha256 = (data: string | Buffer) => createHash('sha256').update(data).digest('hex');

export const localAuthor = (): Author => ({ who: userName(), via: 'local' });

function userName(): string {
  try {
    return os.userInfo().username;
  } catch {
    return `uid ${process.getuid?.() ?? '?'}`; // a uid with no passwd entry (a container)
  }
}

export function readRecord(paths: Paths, name: string, n: number): VersionRecord | null {
  const text = readIfExists(recordPath(paths, name, n));
  if (text === null) return null;
  try {
    const r = JSON.parse(text) as VersionRecord;
    return r.number === n && typeof r.code === 'string' && typeof r.settings === 'string' ? r : null;
  } catch {
    return null; // written atomically: not torn; a file that is not ours is no version
  }
}

// Every recorded version, oldest first.
export function listRecords(paths: Paths, name: string): VersionRecord[] {
  let files: string[];
  try {
    files = fs.readdirSync(recordsDir(paths, name));
  } catch {
    return [];
  }
  return files
    .map((f) => /^([1-9]\d{0,15})\.json$/.exec(f))
    .flatMap((m) => (m ? [readRecord(paths, name, Number(m[1]))] : []))
    .filter((r): r is VersionRecord => r !== null)
    .sort((a, b) => a.number - b.number);
}

export function writeRecord(paths: Paths, name: string, r: VersionRecord): void {
  privateDir(paths, recordsDir(paths, name)); // the settings hold the function's env
  writeFileAtomic(recordPath(paths, name, r.number), JSON.stringify(r) + '\n');
}

export function removeRecord(paths: Paths, name: string, n: number): void {
  fs.rmSync(recordPath(paths, name, n), { force: true });
}

// Pure: the number a new version gets. The newest record is never pruned (pruneRecords), so a
// number once shown is never handed out again.
export const nextNumber = (numbers: readonly number[]): number => numbers.reduce((m, n) => Math.max(m, n), 0) + 1;

// sha256 over the tree: each entry's relative path and kind in name order, a file's content and
// whether it is executable (the only mode a copy keeps, private-files.ts), a link's target.
export function treeDigest(dir: string): string {
  const h = createHash('sha256');
  const walk = (rel: string) => {
    for (const e of fs.readdirSync(path.join(dir, rel), { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
      const p = rel ? `${rel}/${e.name}` : e.name;
      const abs = path.join(dir, p);
      if (e.isSymbolicLink()) h.update(`l ${p}\0${fs.readlinkSync(abs)}\0`);
      else if (e.isDirectory()) {
        h.update(`d ${p}\0`);
        walk(p);
      } else if (e.isFile()) h.update(`f ${p}\0${(fs.statSync(abs).mode & 0o100) !== 0 ? 'x' : '-'}${sha256(fs.readFileSync(abs))}\0`);
    }
  };
  walk('');
  return h.digest('hex');
}

// What a deploy is about to make current, and the version that is current now (null: none, or
// a file from before versions). Pure: the same code and settings are the same version.
export function sameVersion(current: VersionRecord | null, codeDigest: string, settingsDigest: string): boolean {
  return current !== null && current.codeDigest === codeDigest && current.settingsDigest === settingsDigest;
}

// --message: one line of at most MESSAGE_MAX characters (it is shown in a table row).
export const MESSAGE_MAX = 200;
export function checkMessage(v: unknown): string {
  if (v === undefined) return '';
  if (typeof v !== 'string') fail('FAASS_E_USAGE', 'Invalid message: expected text');
  // C0 and C1 controls (\x9b starts a terminal escape as \x1b[ does), Unicode's line and
  // paragraph separators, and the bidirectional overrides and isolates that reorder a table row.
  if (/[\p{Cc}\u2028\u2029\u202a-\u202e\u2066-\u2069]/u.test(v)) fail('FAASS_E_USAGE', 'Invalid message: one line, without control characters');
  if ([...v].length > MESSAGE_MAX) fail('FAASS_E_USAGE', `Invalid message: ${[...v].length} characters, at most ${MESSAGE_MAX}`);
  return v.trim();
}

// Pure: the versions to forget when `keep` are kept: the newest `keep`, and whatever its age the
// current one and the one it replaces (what ran a moment ago: a rollback must be able to go back
// to it, even when it is an old number a rollback had made current), and a canary's (`canary`).
export function recordsToPrune(numbers: readonly number[], keep: number, current: number | null, replaced: number | null = null, canary: number | null = null): number[] {
  const newest = new Set([...numbers].sort((a, b) => b - a).slice(0, keep));
  return numbers.filter((n) => !newest.has(n) && n !== current && n !== replaced && n !== canary);
}

// faass.conf keep_versions; when faass.conf cannot be read, nothing is forgotten (keeping more
// is the safe side: the next deploy prunes again).
export function keptVersions(paths: Paths): number {
  try {
    return loadSettings(paths).keepVersions;
  } catch {
    return Infinity;
  }
}

// Forgets the versions past keep_versions; returns the code directories the kept ones need.
// A canary's version is kept whatever its age: its runner serves its code (canary-files.ts).
export function pruneRecords(paths: Paths, name: string, current: number | null, replaced: number | null = null): Set<string> {
  const records = listRecords(paths, name);
  const drop = new Set(recordsToPrune(records.map((r) => r.number), keptVersions(paths), current, replaced, canaryVersionOf(paths, name)));
  for (const n of drop) removeRecord(paths, name, n);
  return new Set(records.filter((r) => !drop.has(r.number)).map((r) => r.code));
}

// Pure: which version a rollback goes to. `to` undefined: the newest one before the current.
export function rollbackTarget(name: string, numbers: readonly number[], current: number | null, to?: number): number {
  const kept = numbers.length ? ` (kept: ${numbers.join(', ')})` : ' (none is recorded)';
  if (to === undefined) {
    const before = numbers.filter((n) => current === null || n < current);
    if (before.length === 0) fail('FAASS_E_VERSION_NOT_FOUND', `${name} has no version before ${current === null ? 'the current one' : current}${kept}`);
    return before[before.length - 1];
  }
  if (!Number.isSafeInteger(to) || to < 1) fail('FAASS_E_USAGE', `Invalid version ${String(to).slice(0, 20)}: expected a whole number from 1`);
  if (to === current) fail('FAASS_E_VERSION_CURRENT', `Version ${to} of ${name} is already the current one`);
  if (!numbers.includes(to)) fail('FAASS_E_VERSION_NOT_FOUND', to < nextNumber(numbers) ? `Version ${to} of ${name} is no longer kept (faass.conf keep_versions)${kept}` : `${name} has no version ${to}${kept}`);
  return to;
}

// The version the function's file names, or null. A function deployed before versions (a file
// with no [version], no record yet) is first recorded as its version 1, who and when unknown
// (the file's time), so that a rollback can go back to it.
export function currentRecord(paths: Paths, cfg: FunctionConfig | null): VersionRecord | null {
  if (cfg === null) return null;
  if (cfg.version) return readRecord(paths, cfg.name, cfg.version.number);
  const code = currentCode(paths, cfg.name);
  if (code === null || listRecords(paths, cfg.name).length > 0) return null;
  const settings = renderFunctionConfig(cfg);
  const time = fs.statSync(functionConfPath(paths, cfg.name), { throwIfNoEntry: false })?.mtime ?? new Date();
  const record: VersionRecord = { number: 1, time: time.toISOString(), who: 'unknown', via: 'local', code, codeDigest: treeDigest(versionPath(paths, cfg.name, code)), settingsDigest: sha256(settings), message: '(deployed before versions)', settings };
  writeRecord(paths, cfg.name, record);
  return record;
}

type Access = Pick<FunctionConfig, 'auth' | 'passAuthorization'> & Partial<Pick<FunctionConfig, 'kind' | 'network' | 'port'>>;

// A service whose app is not reached through its socket listens on 127.0.0.1:port (units.ts),
// where any local process calls it without the gateway, and so without its auth.
const onLoopbackPort = (c: Access): boolean => c.kind === 'service' && c.network !== undefined && !reachedThroughSocket({ kind: c.kind, network: c.network });

// Pure: how a rollback to `target` would let more callers in than `now` does, or null. Who may
// call is a security decision: a rollback narrows it freely, and widens it only when told.
export function widerAccess(now: Access, target: Access): string | null {
  if (now.auth.length > 0 && target.auth.length === 0) return `it is public there, and only ${now.auth.join(', ')} (and admins) may call it now`;
  const extra = now.auth.length > 0 ? target.auth.filter((a) => !now.auth.includes(a)) : [];
  if (extra.length) return `${extra.join(', ')} may call it there, and not now`;
  if (target.passAuthorization && !now.passAuthorization) return "it is handed its callers' Authorization header there, and not now";
  if (now.auth.length > 0 && onLoopbackPort(target) && !onLoopbackPort(now)) return `it is a service on 127.0.0.1:${target.port} there, which any local process calls past the gateway's auth, and not now`;
  return null;
}

// A version as faassctl versions --json and the API show it: never its settings (they hold the
// function's env), only their digest.
export interface VersionView {
  number: number;
  current: boolean;
  time: string;
  who: string;
  via: 'api' | 'local';
  code_digest: string;
  settings_digest: string;
  message: string;
}

// The function's versions, oldest first (FAASS_E_FUNCTION_NOT_FOUND when there is no function).
export function versionsView(paths: Paths, name: string): VersionView[] {
  const now = loadFunctionConfig(paths, name);
  const current = now.version?.number ?? null;
  return listRecords(paths, name).map((r) => ({ number: r.number, current: r.number === current, time: r.time, who: r.who, via: r.via, code_digest: r.codeDigest, settings_digest: r.settingsDigest, message: r.message }));
}
