// The durable queue of asynchronous calls: files under $XDG_STATE_HOME/faass/queue.
//   queue/NAME/STAMP-ID.call   one call: a JSON line (what it asks), then the request body
//   queue/NAME/STAMP-ID.state  its attempts so far (written before each attempt and after it)
//   queue/NAME/dead/...        calls out of attempts or age, with their states
//   queue/.ready/NAME          the doorbell: there may be work for NAME (faass-dispatch.path
//                              starts the dispatcher while this directory is not empty)
// A call is written to a hidden temporary name, fsync'd, renamed into place and its directory
// fsync'd before anyone is told it is queued: after a crash it is there whole, or not at all
// (a temporary file is never delivered, and is swept). STAMP (milliseconds, 13 digits) orders
// the calls of a function by arrival. Names are DNS labels, so '.ready' and 'dead' can be no
// function's and no call's.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Paths, queueRoot } from '../core/paths';
import { FaassError } from '../core/errors';
import { PRIVATE_DIR, PRIVATE_FILE } from '../core/private-files';
import { randomBytes } from 'node:crypto';
import { logLine } from '../observe/log';
import { removeOlderThan } from '../core/old-files';
import { admit } from './admission';

export { queueRoot };
export const functionQueue = (p: Paths, name: string): string => path.join(queueRoot(p), name);
export const deadLetters = (p: Paths, name: string): string => path.join(functionQueue(p, name), 'dead');
export const doorbells = (p: Paths): string => path.join(queueRoot(p), '.ready');

export interface QueuedCall {
  id: string;
  name: string;
  method: string;
  path: string; // after /async-function/NAME, with the query: as the function sees it
  headers: Record<string, string>;
  enqueuedAt: number; // ms since the epoch
  body: Buffer;
  callback?: string; // X-Callback-Url, checked at enqueue: where its result goes (callback.ts)
  drop?: DropOrigin; // the file it was queued for (drop-fire.ts): told when the call is settled
}

// A file drop's call: the drop's id and the name the file was claimed under (processing/ENTRY).
export interface DropOrigin {
  id: string;
  entry: string;
}
// What a claimed file is named (drop-fire.ts claimName): no separator, nothing hidden.
export const isDropEntry = (s: unknown): s is string => typeof s === 'string' && /^[0-9a-z]+-[0-9a-z]+-[^/\0]+$/.test(s) && s.length <= 255;
const isDropOrigin = (d: unknown): d is DropOrigin => typeof d === 'object' && d !== null && typeof (d as DropOrigin).id === 'string' && /^[a-z0-9]{1,16}$/.test((d as DropOrigin).id) && isDropEntry((d as DropOrigin).entry);

export interface Attempt {
  n: number; // 1, 2, ...
  startedAt: number;
  endedAt?: number; // none: it was running when its dispatcher stopped
  status?: number; // the answer's, when there was one
  error?: string; // why it failed, when it did
  notStarted?: boolean; // the function never took it (busy: 429; its socket refused or gone)
}

export interface CallState {
  attempts: Attempt[];
  nextAt: number; // not before (ms since the epoch): a retry's backoff
  since?: number; // its age counts from here (a redrive), else from its enqueue
}

// One call as its file holds it: the JSON line, then the body as it came. bytes, the body's
// length, tells a whole file from one cut short (the line alone cannot: a cut in the body still
// parses) and lets a listing give the size from the line alone.
export function encodeCall(c: QueuedCall): Buffer {
  const meta = { id: c.id, name: c.name, method: c.method, path: c.path, headers: c.headers, enqueuedAt: c.enqueuedAt, bytes: c.body.length, ...(c.callback !== undefined ? { callback: c.callback } : {}), ...(c.drop !== undefined ? { drop: c.drop } : {}) };
  return Buffer.concat([Buffer.from(JSON.stringify(meta) + '\n'), c.body]);
}

// What a call's first line says (the call but its body), with the body's length when the line
// gives it (files written before bytes was kept do not). null: no call faass wrote.
export type CallHead = Omit<QueuedCall, 'body'> & { bytes?: number };

export function decodeHead(line: string): CallHead | null {
  try {
    const m = JSON.parse(line) as Partial<CallHead>;
    const strings = [m.id, m.name, m.method, m.path].every((v) => typeof v === 'string');
    if (!strings || typeof m.enqueuedAt !== 'number' || typeof m.headers !== 'object' || m.headers === null) return null;
    if (m.callback !== undefined && typeof m.callback !== 'string') return null;
    if (m.bytes !== undefined && (!Number.isSafeInteger(m.bytes) || m.bytes < 0)) return null;
    if (m.drop !== undefined && !isDropOrigin(m.drop)) return null;
    const head: CallHead = { id: m.id as string, name: m.name as string, method: m.method as string, path: m.path as string, headers: m.headers, enqueuedAt: m.enqueuedAt };
    if (m.callback !== undefined) head.callback = m.callback;
    if (m.drop !== undefined) head.drop = m.drop;
    if (m.bytes !== undefined) head.bytes = m.bytes;
    return head;
  } catch {
    return null;
  }
}

// null: not a call faass wrote (torn, cut short, or another file): the dispatcher moves it aside.
export function decodeCall(buf: Buffer): QueuedCall | null {
  const nl = buf.indexOf(10);
  if (nl < 0) return null;
  const head = decodeHead(buf.subarray(0, nl).toString('utf8'));
  const body = buf.subarray(nl + 1);
  if (!head || (head.bytes !== undefined && head.bytes !== body.length)) return null;
  const { bytes: _bytes, ...call } = head;
  return { ...call, body };
}

export const entryName = (c: { id: string; enqueuedAt: number }): string => `${String(c.enqueuedAt).padStart(13, '0')}-${c.id}`;
export const isEntry = (file: string): boolean => /^\d{13}-[A-Za-z0-9._-]+\.call$/.test(file);

// The calls waiting for NAME, oldest first (file names: entryName + .call).
export async function waiting(p: Paths, name: string): Promise<string[]> {
  try {
    return (await fs.promises.readdir(functionQueue(p, name))).filter(isEntry).sort();
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
}

export async function fsyncDir(dir: string): Promise<void> {
  const h = await fs.promises.open(dir, 'r');
  try {
    await h.sync();
  } finally {
    await h.close();
  }
}

// Writes file whole and durably: a temporary name of its own (concurrent writers never share
// one), fsync, rename, fsync of the directory. Never blocks the event loop (the gateway serves
// others meanwhile). mkdir false: the directory must exist (a call's state or record is never
// written into a queue a delete removed).
export async function writeDurably(file: string, data: Buffer, opts: { mkdir?: boolean } = {}): Promise<void> {
  const dir = path.dirname(file);
  if (opts.mkdir !== false) await fs.promises.mkdir(dir, { recursive: true, mode: PRIVATE_DIR });
  const tmp = path.join(dir, `.${path.basename(file)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  const h = await fs.promises.open(tmp, 'w', PRIVATE_FILE);
  try {
    try {
      await h.writeFile(data);
      await h.sync();
    } finally {
      await h.close();
    }
    await fs.promises.rename(tmp, file);
  } catch (e) {
    await fs.promises.rm(tmp, { force: true });
    throw e;
  }
  await fsyncDir(dir);
}

// A write that failed for want of space (the disk, or the user's quota): the gateway answers 503,
// the dispatcher waits for space.
export const diskFull = (e: unknown): boolean => ['ENOSPC', 'EDQUOT'].includes((e as NodeJS.ErrnoException).code ?? '');

// Why a call for NAME could not be queued (503): the one wording of it.
export function unavailable(name: string, e: unknown): FaassError {
  const why = diskFull(e) ? 'the disk is full' : `the queue cannot be written (${(e as NodeJS.ErrnoException).code ?? String(e)})`;
  return new FaassError('FAASS_E_QUEUE_UNAVAILABLE', `Cannot queue the call for ${name}: ${why}`);
}

const closedMark = (p: Paths, name: string) => path.join(functionQueue(p, name), '.closed');

// The calls waiting for NAME, counted (not sorted), when admission.ts needs to know.
async function count(p: Paths, name: string): Promise<number> {
  try {
    let n = 0;
    for (const f of await fs.promises.readdir(functionQueue(p, name))) if (f.endsWith('.call') && !f.startsWith('.')) n++;
    return n;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return 0;
    throw e;
  }
}

// Queues a call durably and rings the doorbell; resolves once the call is on disk. maxLength
// (the function's queue_max): a full queue is refused (429), a full or unwritable disk too
// (503), leaving nothing behind. A queue closed by a delete under way (on-delete.ts) takes the
// call back out and says so (404). Once the call is in place it is never reported as failed:
// a doorbell that cannot be made is logged (the next call's, or the dispatcher's start, finds
// every queue).
export async function enqueue(p: Paths, call: QueuedCall, maxLength: number): Promise<void> {
  const done = await admit(functionQueue(p, call.name), maxLength, () => count(p, call.name));
  if (!done) throw new FaassError('FAASS_E_QUEUE_FULL', `The queue of ${call.name} holds ${maxLength} calls (its queue_max): try again later`);
  let queued = false;
  try {
    queued = await write(p, call);
  } finally {
    done(queued);
  }
  await ring(p, call.name).catch((e: Error) => logLine('err', `Failed to ring the doorbell of ${call.name} (${e.message}): call ${call.id} waits for the next`, { FAASS_FUNCTION: call.name }));
}

// The call's file, durably; taken back out (and refused) when a delete closed the queue meanwhile.
async function write(p: Paths, call: QueuedCall): Promise<boolean> {
  const file = path.join(functionQueue(p, call.name), `${entryName(call)}.call`);
  try {
    await writeDurably(file, encodeCall(call));
  } catch (e) {
    throw unavailable(call.name, e);
  }
  if (fs.existsSync(closedMark(p, call.name))) {
    await fs.promises.rm(file, { force: true });
    throw new FaassError('FAASS_E_FUNCTION_NOT_FOUND', `Function ${call.name} is being deleted; nothing was queued`);
  }
  return true;
}

// The doorbell of NAME: a file made in one step (no temporary name in the directory the path
// unit watches, and concurrent rings simply find it made), then the directory fsync'd, so after
// a crash the path unit still sees work waiting.
export async function ring(p: Paths, name: string): Promise<void> {
  await fs.promises.mkdir(doorbells(p), { recursive: true, mode: PRIVATE_DIR });
  try {
    await (await fs.promises.open(path.join(doorbells(p), name), 'wx', PRIVATE_FILE)).close();
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return;
    throw e;
  }
  await fsyncDir(doorbells(p));
}

// A delete under way (on-delete.ts): calls queued from now on are taken back out.
export async function closeQueue(p: Paths, name: string): Promise<void> {
  await fs.promises.mkdir(functionQueue(p, name), { recursive: true, mode: PRIVATE_DIR });
  await (await fs.promises.open(closedMark(p, name), 'w', PRIVATE_FILE)).close();
}

export const reopenQueue = (p: Paths, name: string): Promise<void> => fs.promises.rm(closedMark(p, name), { force: true });

// The directories under a function's queue, two levels down (done/, dead/, callbacks/done/...).
async function queueDirs(dir: string, depth = 2): Promise<string[]> {
  const subs = depth > 0 ? await fs.promises.readdir(dir, { withFileTypes: true }).catch(() => []) : [];
  const below = await Promise.all(subs.filter((d) => d.isDirectory()).map((d) => queueDirs(path.join(dir, d.name), depth - 1)));
  return [dir, ...below.flat()];
}

// Temporary files older than an hour: what a crash between a write and its rename left, in the
// queue and every directory under it (a call's record, its callback, its dead letter).
export async function sweepTemporary(p: Paths, name: string, now = Date.now()): Promise<number> {
  const match = (f: string) => f.startsWith('.') && f.endsWith('.tmp');
  let n = 0;
  for (const dir of [...(await queueDirs(functionQueue(p, name))), doorbells(p)]) n += await removeOlderThan(dir, 3600 * 1000, { now, match });
  return n;
}

export async function readCall(p: Paths, name: string, entry: string): Promise<QueuedCall | null> {
  return decodeCall(await fs.promises.readFile(path.join(functionQueue(p, name), entry)));
}

const stateFile = (p: Paths, name: string, entry: string) => path.join(functionQueue(p, name), entry.replace(/\.call$/, '.state'));

export async function readState(p: Paths, name: string, entry: string): Promise<CallState> {
  try {
    const s = JSON.parse(await fs.promises.readFile(stateFile(p, name, entry), 'utf8')) as CallState;
    if (Array.isArray(s.attempts) && typeof s.nextAt === 'number') return s;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT' && !(e instanceof SyntaxError)) throw e;
  }
  return { attempts: [], nextAt: 0 };
}

export const writeState = (p: Paths, name: string, entry: string, s: CallState): Promise<void> => writeDurably(stateFile(p, name, entry), Buffer.from(JSON.stringify(s)), { mkdir: false });

// Done (answered, or a final failure): the call and its state go.
export async function remove(p: Paths, name: string, entry: string): Promise<void> {
  await fs.promises.rm(path.join(functionQueue(p, name), entry), { force: true });
  await fs.promises.rm(stateFile(p, name, entry), { force: true });
  await fsyncDir(functionQueue(p, name));
}

// Out of attempts or age: the call and its state move to the dead letters (state first, so a
// dead letter never lacks its history).
export async function bury(p: Paths, name: string, entry: string): Promise<void> {
  const dead = deadLetters(p, name);
  await fs.promises.mkdir(dead, { recursive: true, mode: PRIVATE_DIR });
  const state = stateFile(p, name, entry);
  await fs.promises.rename(state, path.join(dead, path.basename(state))).catch((e: NodeJS.ErrnoException) => {
    if (e.code !== 'ENOENT') throw e;
  });
  await fs.promises.rename(path.join(functionQueue(p, name), entry), path.join(dead, entry));
  await fsyncDir(dead);
  await fsyncDir(functionQueue(p, name));
}

// A call that is never to be delivered (a file drop's past its chain limit, drop-fire.ts): written
// straight into the dead letters, state first (as bury keeps it), each durably. Its name comes
// from the call's id and time, so a repeat after a crash writes the same files again.
export async function buryAtOnce(p: Paths, call: QueuedCall, state: CallState): Promise<void> {
  const dead = deadLetters(p, call.name);
  await writeDurably(path.join(dead, `${entryName(call)}.state`), Buffer.from(JSON.stringify(state)));
  await writeDurably(path.join(dead, `${entryName(call)}.call`), encodeCall(call));
}

// A file that is not a call faass wrote: moved aside (into dead/, named .corrupt) so it blocks
// nothing and is kept for a look.
export async function setAside(p: Paths, name: string, entry: string): Promise<void> {
  const dead = deadLetters(p, name);
  await fs.promises.mkdir(dead, { recursive: true, mode: PRIVATE_DIR });
  await fs.promises.rename(path.join(functionQueue(p, name), entry), path.join(dead, `${entry}.corrupt`));
}

// A call file's first line, read a chunk at a time, never its body (a dead letter of 10 MB lists
// as fast as one of 10 bytes), and its body's length: the line's bytes, checked against the
// file's size (a file cut short is no call), or for a file written before bytes was kept, the
// size past the line. head null: no call faass wrote.
const HEAD_CHUNK = 16 * 1024;
const HEAD_MAX = 1024 * 1024; // far beyond any line the gateway writes (its headers are bounded)

export async function readHead(file: string): Promise<{ head: CallHead | null; bytes: number | null }> {
  const h = await fs.promises.open(file, 'r');
  try {
    const size = (await h.stat()).size;
    const chunks: Buffer[] = [];
    for (let at = 0; at < Math.min(size, HEAD_MAX); ) {
      const { bytesRead, buffer } = await h.read(Buffer.alloc(HEAD_CHUNK), 0, HEAD_CHUNK, at);
      if (bytesRead === 0) break;
      const nl = buffer.subarray(0, bytesRead).indexOf(10);
      chunks.push(buffer.subarray(0, nl >= 0 ? nl : bytesRead));
      at += bytesRead;
      if (nl < 0) continue;
      const line = Buffer.concat(chunks);
      const head = decodeHead(line.toString('utf8'));
      const body = size - line.length - 1;
      return head && (head.bytes === undefined || head.bytes === body) ? { head, bytes: body } : { head: null, bytes: null };
    }
    return { head: null, bytes: null };
  } finally {
    await h.close();
  }
}

const deadFiles = async (p: Paths, name: string): Promise<string[]> => {
  try {
    return (await fs.promises.readdir(deadLetters(p, name))).filter(isEntry).sort();
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
};

// The dead letters of NAME, oldest first, with their histories: each call's first line only.
export async function deadList(p: Paths, name: string): Promise<{ entry: string; head: CallHead | null; bytes: number | null; state: CallState }[]> {
  const dead = deadLetters(p, name);
  return Promise.all(
    (await deadFiles(p, name)).map(async (entry) => {
      const { head, bytes } = await readHead(path.join(dead, entry));
      let state: CallState = { attempts: [], nextAt: 0 };
      try {
        state = JSON.parse(await fs.promises.readFile(path.join(dead, entry.replace(/\.call$/, '.state')), 'utf8')) as CallState;
      } catch {
        // no history kept
      }
      return { entry, head, bytes, state };
    }),
  );
}

// One dead letter of NAME whole, body included, found by its call id (its file's name); null:
// none, or a file that is no call.
export async function deadCallById(p: Paths, name: string, id: string): Promise<QueuedCall | null> {
  const entry = (await deadFiles(p, name)).find((f) => f.slice(14, -'.call'.length) === id);
  if (!entry) return null;
  const call = decodeCall(await fs.promises.readFile(path.join(deadLetters(p, name), entry)));
  return call?.id === id ? call : null;
}

// The functions whose doorbell rings.
export async function rung(p: Paths): Promise<string[]> {
  try {
    return (await fs.promises.readdir(doorbells(p))).filter((f) => !f.startsWith('.')).sort();
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
}

// NAME has no call left: its doorbell stops. The caller looks at the queue again after this
// (a call queued meanwhile rings again, and the path unit starts the dispatcher anew).
export async function silence(p: Paths, name: string): Promise<void> {
  await fs.promises.rm(path.join(doorbells(p), name), { force: true });
}

// The dead letters of NAME whose call ids are given (all of them with ids undefined): entries.
async function deadEntries(p: Paths, name: string, ids: string[] | undefined): Promise<{ found: string[]; missing: string[] }> {
  let files: string[];
  try {
    files = (await fs.promises.readdir(deadLetters(p, name))).filter(isEntry).sort();
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    files = [];
  }
  if (ids === undefined) return { found: files, missing: [] };
  const idOf = (f: string) => f.slice(14, -'.call'.length);
  return { found: files.filter((f) => ids.includes(idOf(f))), missing: ids.filter((id) => !files.some((f) => idOf(f) === id)) };
}

// Dead letters back into the queue, their attempts forgotten (a fresh start, three attempts
// again), in their old place (oldest first); the doorbell rings. Returns the ids moved and those
// not found among the dead letters.
export async function redrive(p: Paths, name: string, ids: string[] | undefined): Promise<{ done: string[]; missing: string[] }> {
  const { found, missing } = await deadEntries(p, name, ids);
  const dead = deadLetters(p, name);
  for (const entry of found) {
    // A fresh start: no attempts, its age from now (or an old call would be dead at once).
    await writeDurably(stateFile(p, name, entry), Buffer.from(JSON.stringify({ attempts: [], nextAt: 0, since: Date.now() })));
    await fs.promises.rm(path.join(dead, entry.replace(/\.call$/, '.state')), { force: true });
    await fs.promises.rename(path.join(dead, entry), path.join(functionQueue(p, name), entry));
  }
  if (found.length) {
    await fsyncDir(dead);
    await fsyncDir(functionQueue(p, name));
    await ring(p, name);
  }
  return { done: found.map((f) => f.slice(14, -'.call'.length)), missing };
}

// Dead letters removed for good.
export async function purge(p: Paths, name: string, ids: string[] | undefined): Promise<{ done: string[]; missing: string[] }> {
  const { found, missing } = await deadEntries(p, name, ids);
  const dead = deadLetters(p, name);
  for (const entry of found) {
    await fs.promises.rm(path.join(dead, entry.replace(/\.call$/, '.state')), { force: true });
    await fs.promises.rm(path.join(dead, entry), { force: true });
  }
  if (found.length) await fsyncDir(dead);
  return { done: found.map((f) => f.slice(14, -'.call'.length)), missing };
}
