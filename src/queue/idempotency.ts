// Idempotency-Key on an asynchronous call: the same key for the same function within
// KEY_WINDOW_MS answers the first call's id and queues nothing. A key is claimed before its call
// is queued (queue/NAME/keys/SHA256-OF-KEY, holding the call's id, linked into place, which fails
// if another request claimed it first), so two requests racing with one key queue one call. A
// claim whose call never made it to disk (a crash between the two) is found stale by the next
// request with that key once it is a minute old (its call is nowhere: not queued, done or dead)
// and taken over: a key never stands for a lost call. Two requests that both take over one
// stale claim at once may both queue: only after a crash, and said in faass-gateway(8).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createHash, randomBytes } from 'node:crypto';
import { Paths } from '../core/paths';
import { FaassError } from '../core/errors';
import { PRIVATE_DIR, PRIVATE_FILE } from '../core/private-files';
import { removeOlderThan } from '../core/old-files';
import { QueuedCall, enqueue, functionQueue, unavailable } from './spool';
import { callStatus } from './status';

export const KEY_WINDOW_MS = 24 * 3600 * 1000;
// A racing request waits this long for the winner's call to be on disk before answering with it.
const WINNER_WAIT_MS = 5000;
// A claim whose call is nowhere is stale (its request crashed) once it is this old: far longer
// than queuing a call takes, so a request still queuing is never overtaken.
const STALE_CLAIM_MS = 60_000;

const keysDir = (p: Paths, name: string) => path.join(functionQueue(p, name), 'keys');
const keyFile = (p: Paths, name: string, key: string) => path.join(keysDir(p, name), createHash('sha256').update(key).digest('hex'));

export function checkKey(key: string): void {
  if (!/^[\x21-\x7e][\x20-\x7e]{0,254}$/.test(key)) throw new FaassError('FAASS_E_USAGE', 'Invalid Idempotency-Key: 1 to 255 printable ASCII characters');
}

async function claimant(file: string): Promise<{ id: string; at: number } | null> {
  try {
    const [id, at] = (await fs.promises.readFile(file, 'utf8')).trim().split(' ');
    return id && Number.isFinite(Number(at)) ? { id, at: Number(at) } : null;
  } catch {
    return null;
  }
}

// A claim file written whole, then linked (no replace) or renamed (replace) into place.
// The temporary file goes whatever happens (a full disk fails the write: nothing is left behind).
async function claim(file: string, id: string, replace: boolean): Promise<boolean> {
  await fs.promises.mkdir(path.dirname(file), { recursive: true, mode: PRIVATE_DIR });
  const tmp = `${file}.${randomBytes(6).toString('hex')}.tmp`;
  try {
    const h = await fs.promises.open(tmp, 'w', PRIVATE_FILE);
    try {
      await h.writeFile(`${id} ${Date.now()}\n`);
      await h.sync();
    } finally {
      await h.close();
    }
    if (replace) await fs.promises.rename(tmp, file);
    else await fs.promises.link(tmp, file);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw e;
  } finally {
    await fs.promises.rm(tmp, { force: true });
  }
}

const exists = async (p: Paths, name: string, id: string) => (await callStatus(p, id, Date.now(), name)) !== null;

// Queues the call unless the key names one already; returns the id to answer with. scope: whose
// key it is when not the caller's of /async-function/NAME (a topic's publish: `topic T`); it is
// joined to the key by a newline, which no key given in a header can hold, so a caller of the
// function cannot claim a key that would silence a publish. staleBefore: for a caller that is the
// only one using its keys (a NATS bridge, one process per trigger): a claim made before it
// started is a dead predecessor's, stale at once rather than after a minute.
export async function enqueueOnce(p: Paths, call: QueuedCall, maxLength: number, key: string | undefined, scope?: string, staleBefore?: number): Promise<string> {
  if (key === undefined) {
    await enqueue(p, call, maxLength);
    return call.id;
  }
  checkKey(key);
  const file = keyFile(p, call.name, scope === undefined ? key : `${scope}\n${key}`);
  const prior = await claimant(file);
  const age = prior === null ? Infinity : Date.now() - prior.at;
  if (prior && age < KEY_WINDOW_MS && (await exists(p, call.name, prior.id))) return prior.id;
  // A claim this young whose call is not on disk yet is another request still queuing it.
  if (prior && age < STALE_CLAIM_MS && !(staleBefore !== undefined && prior.at < staleBefore)) return winner(p, call.name, file);
  // A claim that cannot be written (a full disk) is a call that cannot be queued: 503, as enqueue's.
  const claimed = await claim(file, call.id, prior !== null).catch((e: unknown) => {
    throw unavailable(call.name, e);
  });
  if (!claimed) return winner(p, call.name, file);
  try {
    await enqueue(p, call, maxLength);
  } catch (e) {
    // Not queued: the key is free again, unless another request took it over meanwhile.
    if ((await claimant(file))?.id === call.id) await fs.promises.rm(file, { force: true });
    throw e;
  }
  return call.id;
}

// Another request claimed the key as this one looked: its call, once it is on disk.
async function winner(p: Paths, name: string, file: string): Promise<string> {
  const until = Date.now() + WINNER_WAIT_MS;
  for (;;) {
    const c = await claimant(file);
    if (c && (await exists(p, name, c.id))) return c.id;
    if (Date.now() > until) throw new FaassError('FAASS_E_QUEUE_UNAVAILABLE', 'Another call with this Idempotency-Key is being queued and is not on disk yet: try again');
    await new Promise((r) => setTimeout(r, 50));
  }
}

// The keys older than the window go (the dispatcher, as it starts a function's lane).
export const forgetOldKeys = (p: Paths, name: string, now = Date.now()): Promise<number> =>
  removeOlderThan(keysDir(p, name), KEY_WINDOW_MS, { now, bornAt: async (file) => (await claimant(file))?.at ?? null });
