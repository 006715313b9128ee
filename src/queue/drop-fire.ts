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
//  4. the closed outboxes of the function's calls (DIR/.faass/in/DEPTH-CALLID/, functions/outbox.ts):
//     each moved whole into DIR/.faass/outboxes/ (where the function cannot write), then each file
//     claimed as in 3 but with that chain depth, or, past the drop's chain_limit, moved
//     to failed/ with a dead letter and a warning instead of a call; the emptied outbox removed;
//  5. done/ and failed/ forget files older than the drop's `keep`, in/ its open outboxes that old
//     (a runner killed during the call left them; hidden, they never start the service).
// Only names the drop's pattern matches and not starting with '.' are claimed: files are written
// under a hidden name and renamed into place (the rule faassctl(1) gives), so a file is never
// claimed half-written. Anything that is not a regular file (a directory, a symlink: its target
// may be a file the function must not read) goes straight to failed/ with a journal line, so the
// path unit does not start the service again and again for it.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createHash, randomUUID } from 'node:crypto';
import { Paths } from '../core/paths';
import { loadFunctionConfig } from '../functions/function-config';
import { loadFileDrops } from '../functions/schedules';
import { AREA, FileDrop, globRegExp } from '../functions/file-drops';
import { QueuedCall, buryAtOnce, isDropEntry } from './spool';
import { OPEN_PREFIX, inboxOf, parseClosed } from '../functions/outbox';
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
  stopped: number; // past the chain limit: dead letters, no call
  forgotten: number;
}

export const areaDir = (d: FileDrop, sub: 'processing' | 'done' | 'failed' | 'outboxes') => path.join(d.watch, AREA, sub);

// A claim's name in processing/ until its call is queued: ENTRY.new for a file dropped into DIR,
// ENTRY.new-DEPTH for one from an outbox, so a run killed meanwhile leaves the depth to the next
// (which queues the claim, or stops it past the limit). Never the one for the other: an ENTRY
// ends in its file's name, and the claim's name in .new or .new-DEPTH after it.
export const inFlightName = (entry: string, depth: number): string => (depth === FIRST_DEPTH ? `${entry}${NEW}` : `${entry}${NEW}-${depth}`);

export function parseInFlight(f: string): { entry: string; depth: number } | null {
  if (f.endsWith(NEW)) return { entry: f.slice(0, -NEW.length), depth: FIRST_DEPTH };
  const m = /^(.+)\.new-(\d{1,3})$/.exec(f);
  return m ? { entry: m[1], depth: Number(m[2]) } : null;
}

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
export function fileEvent(d: FileDrop, name: string, entry: string, st: { size: number; mtimeMs: number }, content: Buffer | null, from = d.watch): Record<string, unknown> {
  return {
    trigger: 'file',
    id: d.id,
    path: path.join(from, name),
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

// The dead letter of a file stopped at the chain limit: the call it would have been, never
// delivered. Its id and time come from the claim (a UUID of the drop and ENTRY, the file's mtime),
// so a run killed before the file moved on writes the same dead letter again, not a second one.
export function chainStopped(call: QueuedCall, d: FileDrop, entry: string, depth: number, mtimeMs: number): { call: QueuedCall; error: string } {
  const h = createHash('sha256').update(`faass-chain ${d.id} ${entry}`).digest('hex');
  const id = `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
  const error = `FAASS_E_CHAIN_LIMIT: chain depth ${depth} is past the chain_limit ${d.chainLimit} of file drop ${d.id}; not called`;
  return { call: { ...call, id, enqueuedAt: Math.max(0, Math.floor(mtimeMs)) }, error };
}

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
    const moved = (await moveIfThere(from, to)) || (await moveIfThere(from + NEW, to)) || (await moveDeeperClaim(d, entry, to)) || (redriven !== null && (await moveIfThere(redriven, to)));
    // Counted with the move: a run killed before the mark went finds the file moved already.
    if (moved && how === 'failed') countDropFile(p, fn, 'failed');
    await fs.promises.rm(mark, { force: true });
    n++;
  }
  return n;
}

// A claim from an outbox still under its in-flight name (a run killed between queueing and the
// rename): rare, so looked for only when the file is not where it usually is.
async function moveDeeperClaim(d: FileDrop, entry: string, to: string): Promise<boolean> {
  for (const f of await readdirOr(areaDir(d, 'processing'))) {
    const c = parseInFlight(f);
    if (c && c.entry === entry && c.depth !== FIRST_DEPTH) return moveIfThere(path.join(areaDir(d, 'processing'), f), to);
  }
  return false;
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

// What became of a claim: its call queued (the id), refused (not a regular file), or stopped at
// the chain limit (a dead letter).
type Claimed = { id: string } | 'refused' | 'stopped';

// Queues the call of a file claimed as entry at depth (processing/inFlightName), then renames it
// to entry. One that is not a regular file goes to failed/ with no call: left there, every later
// run would fail on it again and the drop would claim nothing more. One past the chain limit
// goes to failed/ too, its call a dead letter, with one warning.
async function queueClaimed(p: Paths, fn: string, d: FileDrop, name: string, entry: string, queueMax: number, depth = FIRST_DEPTH, from = d.watch): Promise<Claimed> {
  const file = path.join(areaDir(d, 'processing'), inFlightName(entry, depth));
  const read = await readClaim(file, d.inlineMax);
  if (!read) {
    await moveIfThere(file, path.join(areaDir(d, 'failed'), entry));
    logLine('warning', `drop=${d.id} function=${fn} ${name} was no longer a regular file when claimed: moved to ${path.join(AREA, 'failed', entry)}, no call`);
    countDropFile(p, fn, 'refused');
    return 'refused';
  }
  const call = dropCall(fn, d, entry, fileEvent(d, name, entry, read.st, read.content, from), depth);
  if (depth > d.chainLimit) {
    const dead = chainStopped(call, d, entry, depth, read.st.mtimeMs);
    await buryAtOnce(p, dead.call, { attempts: [{ n: 1, startedAt: Date.now(), endedAt: Date.now(), error: dead.error, notStarted: true }], nextAt: 0 });
    await moveIfThere(file, path.join(areaDir(d, 'failed'), entry));
    logLine('warning', `drop=${d.id} function=${fn} file ${JSON.stringify(path.join(from, name))} at chain depth ${depth} is past chain_limit=${d.chainLimit}: no call, moved to ${path.join(AREA, 'failed', entry)}, dead letter call=${dead.call.id} (FAASS_E_CHAIN_LIMIT)`, { FAASS_CALL_ID: dead.call.id });
    countDropFile(p, fn, 'failed');
    return 'stopped';
  }
  const id = await enqueueOnce(p, call, queueMax, keyOf(d, entry));
  await fs.promises.rename(file, path.join(areaDir(d, 'processing'), entry));
  return { id };
}

// The name the file had in DIR, from its claim name.
const originalName = (entry: string) => entry.split('-').slice(2).join('-');

// 2. Claims a killed run left with ".new" or ".new-DEPTH": queued (once: the key) and renamed.
async function requeue(p: Paths, fn: string, d: FileDrop, queueMax: number): Promise<number> {
  let n = 0;
  for (const f of await readdirOr(areaDir(d, 'processing'))) {
    const c = parseInFlight(f);
    if (!c) continue;
    const r = await queueClaimed(p, fn, d, originalName(c.entry), c.entry, queueMax, c.depth);
    if (typeof r === 'string') continue;
    const id = r.id;
    logLine('notice', `drop=${d.id} function=${fn} file ${originalName(c.entry)} claimed by an earlier run: call=${id}`, { FAASS_CALL_ID: id });
    // The earlier run was killed before it counted the claim (it counts after the rename).
    countDropFile(p, fn, 'claimed');
    n++;
  }
  return n;
}

interface Claims {
  claimed: number;
  refused: number;
  stopped: number;
}

// Moved to failed/ with a warning and no call: what would otherwise stay where the path unit
// looks and start the service again and again.
async function refuse(p: Paths, fn: string, d: FileDrop, from: string | Buffer, name: string, entry: string, why: string): Promise<boolean> {
  if (!(await moveAside(from, path.join(areaDir(d, 'failed'), entry)))) return false;
  logLine('warning', `drop=${d.id} function=${fn} ${JSON.stringify(name)} ${why}: moved to ${path.join(AREA, 'failed', entry)}, no call`);
  countDropFile(p, fn, 'refused');
  return true;
}

// Moving a directory to another parent rewrites its '..', which needs write permission on it: a
// function that left a read-only directory in its outbox (chmod a-w, an archive unpacked) would
// fail every run of the drop (EACCES; root is not asked, so only an ordinary user's install sees
// it). Its owner, the user, may make it writable again: then it is moved. Never through a link.
async function moveAside(from: string | Buffer, to: string): Promise<boolean> {
  try {
    return await moveIfThere(from, to);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== 'EACCES' && code !== 'EPERM') throw e;
    // Opened without following a link (a function may swap one in, in in/): the mode set is the
    // directory's own.
    const dir = await fs.promises.open(from, fs.constants.O_RDONLY | fs.constants.O_DIRECTORY | fs.constants.O_NOFOLLOW).catch(() => null);
    if (!dir) throw e;
    try {
      await dir.chmod(((await dir.stat()).mode & 0o777) | 0o700);
    } finally {
      await dir.close();
    }
    return moveIfThere(from, to);
  }
}

// 3. Every waiting file of dir the pattern names: claimed, queued, at depth (DIR's files: the
// first link). outbox: dir is a call's closed outbox (taken into outboxes/; outbox: where the
// call wrote it, the path its files are told by), where every name must go (the outbox is
// removed after): a hidden one or one the pattern does not name is refused too.
async function claim(p: Paths, fn: string, d: FileDrop, queueMax: number, dir = d.watch, depth = FIRST_DEPTH, outbox?: string): Promise<Claims> {
  const match = globRegExp(d.pattern);
  const out: Claims = { claimed: 0, refused: 0, stopped: 0 };
  for (const { name, from } of (await namesIn(dir)).filter((n) => outbox !== undefined || match.test(n.name))) {
    const st = await fs.promises.lstat(from, { bigint: true }).catch(() => null);
    if (!st) continue; // gone meanwhile
    const entry = claimName(name, { ino: st.ino, mtimeNs: st.mtimeNs, mtimeMs: Number(st.mtimeMs) });
    if (!st.isFile() || typeof from !== 'string' || !match.test(name)) {
      const why = !st.isFile() ? `is not a regular file (${st.isDirectory() ? 'a directory' : st.isSymbolicLink() ? 'a symbolic link' : 'not a file'})` : typeof from !== 'string' ? 'has a name that is not UTF-8' : `in outbox ${path.basename(dir)} is ${name.startsWith('.') ? 'hidden' : `not named by the pattern ${d.pattern}`}`;
      if (await refuse(p, fn, d, from, name, entry, why)) out.refused++;
      continue;
    }
    if (!(await moveIfThere(from, path.join(areaDir(d, 'processing'), inFlightName(entry, depth))))) continue;
    const r = await queueClaimed(p, fn, d, name, entry, queueMax, depth, outbox ?? dir);
    if (r === 'refused' || r === 'stopped') {
      out[r]++;
      continue;
    }
    logLine('info', `drop=${d.id} function=${fn} file ${outbox !== undefined ? path.join(path.basename(dir), name) : name} (${st.size} bytes${outbox !== undefined ? `, chain depth ${depth}` : ''}): queued call=${r.id}`, { FAASS_CALL_ID: r.id });
    countDropFile(p, fn, 'claimed');
    out.claimed++;
  }
  return out;
}

// 4. The closed outboxes in DIR/.faass/in/: each one moved whole into DIR/.faass/outboxes/ first
// (the function may write in/, never outboxes/: a name there cannot be swapped for a symlink to
// somewhere else of DIR between the check and the claims of its files), then its files claimed at
// its depth and the outbox removed. Outboxes a killed run left there go first. Anything else
// visible in in/ (a name the runner does not make, a file) is refused, so nothing visible stays
// for the path unit's glob.
async function claimOutboxes(p: Paths, fn: string, d: FileDrop, queueMax: number): Promise<Claims> {
  const inbox = inboxOf(d.watch);
  const taken = areaDir(d, 'outboxes');
  const sum: Claims = { claimed: 0, refused: 0, stopped: 0 };
  const add = (r: Claims) => {
    for (const k of ['claimed', 'refused', 'stopped'] as const) sum[k] += r[k];
  };
  for (const name of await readdirOr(taken)) add(await claimOutbox(p, fn, d, queueMax, name));
  for (const { name, from } of await namesIn(inbox)) {
    if (name.startsWith('.')) continue; // an open outbox: its call runs (or its runner was killed)
    const st = await fs.promises.lstat(from).catch(() => null);
    if (!st) continue;
    if (!parseClosed(name) || !st.isDirectory() || typeof from !== 'string') {
      if (await refuse(p, fn, d, from, name, claimName(name, { ino: st.ino, mtimeMs: st.mtimeMs }), 'in .faass/in is no outbox of a call')) sum.refused++;
      continue;
    }
    if (!(await moveAside(from, path.join(taken, name)))) continue;
    add(await claimOutbox(p, fn, d, queueMax, name));
  }
  return sum;
}

// One outbox in outboxes/: what the rename took is checked there (a symlink swapped in before
// it goes to failed/, unfollowed), made the service's to empty (a function may have left it
// read-only), its files claimed, and it removed; what cannot be claimed out of it (a file a
// call's straggler added since the listing) goes to failed/ with it, so nothing stays.
async function claimOutbox(p: Paths, fn: string, d: FileDrop, queueMax: number, name: string): Promise<Claims> {
  const box = path.join(areaDir(d, 'outboxes'), name);
  const st = await fs.promises.lstat(box).catch(() => null);
  const none: Claims = { claimed: 0, refused: 0, stopped: 0 };
  if (!st) return none;
  const parsed = parseClosed(name);
  const entry = claimName(name, { ino: st.ino, mtimeMs: st.mtimeMs });
  if (!parsed || !st.isDirectory()) return { ...none, refused: (await refuse(p, fn, d, box, name, entry, 'in .faass/in is no outbox of a call')) ? 1 : 0 };
  await fs.promises.chmod(box, 0o700);
  const r = await claim(p, fn, d, queueMax, box, parsed.depth, path.join(inboxOf(d.watch), name));
  try {
    await fs.promises.rmdir(box);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOTEMPTY') throw e;
    if (await refuse(p, fn, d, box, name, entry, 'kept files written after it was claimed')) r.refused++;
  }
  return r;
}

// A file moved into done/ or failed/ has its ctime set by the rename: its age there.
const ctime = async (file: string) => (await fs.promises.lstat(file).catch(() => null))?.ctimeMs ?? null;

export async function runDrop(p: Paths, fn: string, id: string): Promise<RunReport | null> {
  const d = loadFileDrops(p, fn).find((x) => x.id === id);
  if (!d) return null;
  const cfg = loadFunctionConfig(p, fn);
  for (const dir of [areaDir(d, 'processing'), areaDir(d, 'done'), areaDir(d, 'failed'), areaDir(d, 'outboxes'), inboxOf(d.watch)]) await fs.promises.mkdir(dir, { recursive: true, mode: 0o700 });
  const settled = await settle(p, fn, d);
  const requeued = await requeue(p, fn, d, cfg.queueMax);
  const dropped = await claim(p, fn, d, cfg.queueMax);
  const written = await claimOutboxes(p, fn, d, cfg.queueMax);
  let forgotten = 0;
  for (const sub of ['done', 'failed'] as const) forgotten += await removeOlderThan(areaDir(d, sub), d.keep * 1000, { bornAt: ctime });
  // An open outbox is its call's for the call's timeout at most: one older than that and keep
  // was left by a runner killed during its call. Its mtime: the last file made in it.
  const openFor = Math.max(d.keep, cfg.timeout + 60) * 1000;
  forgotten += await removeOlderThan(inboxOf(d.watch), openFor, { match: (f) => f.startsWith(OPEN_PREFIX) });
  return { claimed: dropped.claimed + written.claimed, requeued, settled, refused: dropped.refused + written.refused, stopped: written.stopped + dropped.stopped, forgotten };
}
