// One run of a file drop's service (functions/file-drops.ts), started by its path unit while a
// file waits in the watched directory or a settled mark waits in the queue. In this order:
//  1. settled marks (drop-marks.ts): the file goes from DIR/.faass/processing/ to done/ or
//     failed/ (from failed/ to done/ when its dead letter was redriven and then succeeded), then
//     the mark goes (a crash between the two finds the file moved: nothing to do);
//  2. claimed files whose call may not be queued (a run killed between claim and queue): queued
//     again, idempotent by the claim's name (the file's inode and mtime, and its name);
//  3. each waiting file: claimed by one rename into processing/ under a ".new" name, its call
//     queued (an Idempotency-Key of the drop and the claim's name), then renamed to its claim
//     name. The rename is atomic on one file system: a file is claimed once, whoever else looks;
//  4. done/ and failed/ forget files older than the drop's `keep`.
// Only names the drop's pattern matches and not starting with '.' are claimed: files are written
// under a hidden name and renamed into place (the rule faassctl(1) gives), so a file is never
// claimed half-written. Anything that is not a regular file (a directory, a symlink: its target
// may be a file the function must not read) goes straight to failed/ with a journal line, so the
// path unit does not start the service again and again for it.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { randomUUID } from 'node:crypto';
import { Paths } from '../core/paths';
import { loadFunctionConfig } from '../functions/function-config';
import { loadFileDrops } from '../functions/schedules';
import { AREA, FileDrop, globRegExp } from '../functions/file-drops';
import { QueuedCall, isDropEntry } from './spool';
import { enqueueOnce } from './idempotency';
import { settledDir } from './drop-marks';
import { countDropFile } from './counters';
import { removeOlderThan } from '../core/old-files';
import { logLine } from '../observe/log';

const NEW = '.new';
// The chain depth of a file dropped from outside: the first link (issue 14, "no loops").
export const FIRST_DEPTH = 1;

export interface RunReport {
  claimed: number;
  requeued: number;
  settled: number;
  refused: number;
  forgotten: number;
}

export const areaDir = (d: FileDrop, sub: 'processing' | 'done' | 'failed') => path.join(d.watch, AREA, sub);

// The name a file is claimed under: its identity (inode, mtime in ns) and its own name, cut to
// keep every name made from it within a file name's 255 bytes. The mtime as an unsigned 64-bit
// number: one before 1970 (an archive's) is negative, and its '-' would make a name the spool
// does not take as a claim (isDropEntry), so its call would be set aside as corrupt.
export function claimName(name: string, st: { ino: bigint | number; mtimeNs?: bigint; mtimeMs: number }): string {
  const mt = BigInt.asUintN(64, st.mtimeNs ?? BigInt(Math.round(st.mtimeMs * 1e6)));
  let cut = name;
  while (Buffer.byteLength(cut) > 180) cut = cut.slice(0, -1);
  return `${BigInt(st.ino).toString(36)}-${mt.toString(36)}-${cut}`;
}

// The event a call carries: what the function may know of the file (it cannot read DIR), and its
// content up to inlineMax bytes, base64.
export function fileEvent(d: FileDrop, name: string, entry: string, st: { size: number; mtimeMs: number }, content: Buffer | null): Record<string, unknown> {
  return {
    trigger: 'file',
    id: d.id,
    path: path.join(d.watch, name),
    name,
    size: st.size,
    mtime: new Date(st.mtimeMs).toISOString(),
    claimed: path.join(areaDir(d, 'processing'), entry),
    ...(content ? { content: content.toString('base64') } : { contentOmitted: `larger than ${d.inlineMax} bytes` }),
  };
}

export function dropCall(fn: string, d: FileDrop, entry: string, event: Record<string, unknown>, depth = FIRST_DEPTH): QueuedCall {
  const headers: Record<string, string> = {
    'x-faass-trigger': 'file',
    'x-faass-trigger-id': d.id,
    'x-faass-chain-depth': String(depth),
    'content-type': 'application/json',
  };
  return { id: randomUUID(), name: fn, method: 'POST', path: '/', headers, enqueuedAt: Date.now(), body: Buffer.from(JSON.stringify(event)), drop: { id: d.id, entry } };
}

const keyOf = (d: FileDrop, entry: string) => `faass-file ${d.id} ${entry}`;

async function readdirOr(dir: string): Promise<string[]> {
  try {
    return await fs.promises.readdir(dir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
}

async function moveIfThere(from: string | Buffer, to: string): Promise<boolean> {
  try {
    await fs.promises.rename(from, to);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw e;
  }
}

// DIR's names, each with the path to reach it: read as bytes, since a name that is not UTF-8
// decodes to one that is not there (U+FFFD for its bytes); such a name keeps its bytes (a Buffer),
// so it can be moved out of the way. Left in DIR, it would start the service again and again.
async function namesIn(dir: string): Promise<{ name: string; from: string | Buffer }[]> {
  let raw: Buffer[];
  try {
    raw = await fs.promises.readdir(dir, { encoding: 'buffer' });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
  return raw.map((b) => {
    const name = b.toString('utf8');
    return { name, from: Buffer.from(name).equals(b) ? path.join(dir, name) : Buffer.concat([Buffer.from(`${dir}/`), b]) };
  });
}

// 1. Settled marks: the file moved on, then the mark removed.
async function settle(p: Paths, fn: string, d: FileDrop): Promise<number> {
  const dir = settledDir(p, fn, d.id);
  let n = 0;
  for (const entry of (await readdirOr(dir)).filter((e) => !e.startsWith('.'))) {
    const mark = path.join(dir, entry);
    if (!isDropEntry(entry)) {
      await fs.promises.rm(mark, { force: true });
      continue;
    }
    const how = (await fs.promises.readFile(mark, 'utf8').catch(() => '')).trim() === 'done' ? 'done' : 'failed';
    const to = path.join(areaDir(d, how), entry);
    const from = path.join(areaDir(d, 'processing'), entry);
    // A dead letter redriven and done at last: its file went to failed/ when the call died. One
    // that fails again finds it there already, and stays.
    const redriven = how === 'done' ? path.join(areaDir(d, 'failed'), entry) : null;
    const moved = (await moveIfThere(from, to)) || (await moveIfThere(from + NEW, to)) || (redriven !== null && (await moveIfThere(redriven, to)));
    // Counted with the move: a run killed before the mark went finds the file moved already.
    if (moved && how === 'failed') countDropFile(p, fn, 'failed');
    await fs.promises.rm(mark, { force: true });
    n++;
  }
  return n;
}

// The claimed file's stat and its content (up to inlineMax), or null when it is not a regular file:
// whoever can write DIR can swap a file for a symlink, a directory or a FIFO between the claim's
// lstat and its rename. O_NOFOLLOW refuses a symlink (ELOOP), O_NONBLOCK keeps a FIFO from
// blocking the open until its writer comes.
async function readClaim(file: string, inlineMax: number): Promise<{ st: fs.Stats; content: Buffer | null } | null> {
  let h: fs.promises.FileHandle;
  try {
    h = await fs.promises.open(file, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW | fs.constants.O_NONBLOCK);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ELOOP') return null;
    throw e;
  }
  try {
    const st = await h.stat();
    if (!st.isFile()) return null;
    if (st.size > inlineMax) return { st, content: null };
    const buf = Buffer.alloc(st.size);
    const { bytesRead } = await h.read(buf, 0, st.size, 0);
    return { st, content: buf.subarray(0, bytesRead) };
  } finally {
    await h.close();
  }
}

// Queues the call of a file claimed as entry (processing/entry.new), then drops the ".new". One
// that is not a regular file goes to failed/ with no call (null): left there, every later run
// would fail on it again and the drop would claim nothing more.
async function queueClaimed(p: Paths, fn: string, d: FileDrop, name: string, entry: string, queueMax: number): Promise<string | null> {
  const file = path.join(areaDir(d, 'processing'), entry + NEW);
  const read = await readClaim(file, d.inlineMax);
  if (!read) {
    await moveIfThere(file, path.join(areaDir(d, 'failed'), entry));
    logLine('warning', `drop=${d.id} function=${fn} ${name} was no longer a regular file when claimed: moved to ${path.join(AREA, 'failed', entry)}, no call`);
    countDropFile(p, fn, 'refused');
    return null;
  }
  const call = dropCall(fn, d, entry, fileEvent(d, name, entry, read.st, read.content));
  const id = await enqueueOnce(p, call, queueMax, keyOf(d, entry));
  await fs.promises.rename(file, path.join(areaDir(d, 'processing'), entry));
  return id;
}

// The name the file had in DIR, from its claim name.
const originalName = (entry: string) => entry.split('-').slice(2).join('-');

// 2. Claims a killed run left with ".new": queued (once: the key) and renamed.
async function requeue(p: Paths, fn: string, d: FileDrop, queueMax: number): Promise<number> {
  let n = 0;
  for (const f of await readdirOr(areaDir(d, 'processing'))) {
    if (!f.endsWith(NEW)) continue;
    const entry = f.slice(0, -NEW.length);
    const id = await queueClaimed(p, fn, d, originalName(entry), entry, queueMax);
    if (id === null) continue;
    logLine('notice', `drop=${d.id} function=${fn} file ${originalName(entry)} claimed by an earlier run: call=${id}`, { FAASS_CALL_ID: id });
    // The earlier run was killed before it counted the claim (it counts after the rename).
    countDropFile(p, fn, 'claimed');
    n++;
  }
  return n;
}

// 3. Every waiting file the pattern names: claimed, queued.
async function claim(p: Paths, fn: string, d: FileDrop, queueMax: number): Promise<{ claimed: number; refused: number }> {
  const match = globRegExp(d.pattern);
  let claimed = 0;
  let refused = 0;
  for (const { name, from } of (await namesIn(d.watch)).filter((n) => match.test(n.name))) {
    const st = await fs.promises.lstat(from, { bigint: true }).catch(() => null);
    if (!st) continue; // gone meanwhile
    const entry = claimName(name, { ino: st.ino, mtimeNs: st.mtimeNs, mtimeMs: Number(st.mtimeMs) });
    if (!st.isFile() || typeof from !== 'string') {
      const why = !st.isFile() ? `is not a regular file (${st.isDirectory() ? 'a directory' : st.isSymbolicLink() ? 'a symbolic link' : 'not a file'})` : 'has a name that is not UTF-8';
      if (await moveIfThere(from, path.join(areaDir(d, 'failed'), entry))) {
        logLine('warning', `drop=${d.id} function=${fn} ${JSON.stringify(name)} ${why}: moved to ${path.join(AREA, 'failed', entry)}, no call`);
        countDropFile(p, fn, 'refused');
        refused++;
      }
      continue;
    }
    if (!(await moveIfThere(from, path.join(areaDir(d, 'processing'), entry + NEW)))) continue;
    const id = await queueClaimed(p, fn, d, name, entry, queueMax);
    if (id === null) {
      refused++;
      continue;
    }
    logLine('info', `drop=${d.id} function=${fn} file ${name} (${st.size} bytes): queued call=${id}`, { FAASS_CALL_ID: id });
    countDropFile(p, fn, 'claimed');
    claimed++;
  }
  return { claimed, refused };
}

// A file moved into done/ or failed/ has its ctime set by the rename: its age there.
const ctime = async (file: string) => (await fs.promises.lstat(file).catch(() => null))?.ctimeMs ?? null;

export async function runDrop(p: Paths, fn: string, id: string): Promise<RunReport | null> {
  const d = loadFileDrops(p, fn).find((x) => x.id === id);
  if (!d) return null;
  const cfg = loadFunctionConfig(p, fn);
  for (const sub of ['processing', 'done', 'failed'] as const) await fs.promises.mkdir(areaDir(d, sub), { recursive: true, mode: 0o700 });
  const settled = await settle(p, fn, d);
  const requeued = await requeue(p, fn, d, cfg.queueMax);
  const { claimed, refused } = await claim(p, fn, d, cfg.queueMax);
  let forgotten = 0;
  for (const sub of ['done', 'failed'] as const) forgotten += await removeOlderThan(areaDir(d, sub), d.keep * 1000, { bornAt: ctime });
  return { claimed, requeued, settled, refused, forgotten };
}
