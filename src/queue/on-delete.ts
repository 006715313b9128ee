// What becomes of a function's queue when the function is deleted: never lost silently. With
// calls queued, dead letters kept or callbacks waiting to be sent, a delete is refused unless
// told: drain (wait, a bounded time, until no call is queued and no callback waits; the dead
// letters then go with the function, and are counted) or discard (queued calls, callbacks and
// dead letters go now, counted). The queue's directory goes with
// the function either way, so a function deployed later under the name starts empty.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Paths } from '../core/paths';
import { FaassError } from '../core/errors';
import { closeQueue, deadList, doorbells, functionQueue, reopenQueue, waiting } from './spool';
import { pendingCallbacks } from './callback';

export type QueuePolicy = 'refuse' | 'drain' | 'discard';
export const DRAIN_WAIT_MS = 10 * 60 * 1000;
// Through the API, under the gateway's proxy timeout, so the caller hears how it ended.
export const API_DRAIN_WAIT_MS = 120 * 1000;

export function queuePolicy(value: unknown): QueuePolicy {
  if (value === undefined || value === null || value === '') return 'refuse';
  if (value === 'drain' || value === 'discard') return value;
  throw new FaassError('FAASS_E_USAGE', `Invalid queue policy ${JSON.stringify(value)}: drain or discard`);
}

// Run before the function is deleted; returns what goes with it. Throws (deleting nothing, the
// queue open again) when refused, or when a drain did not end in time. From here on, calls
// queued for the function are taken back out (closeQueue): the caller deletes the function, then
// removes its queue (dropQueue), or reopens it (reopenQueue) if the delete failed.
export interface Settled {
  discarded: number; // queued calls dropped
  dead: number; // dead letters that go with the function
  callbacks: number; // callbacks dropped unsent
}

// What is left to deliver: queued calls, and callbacks of finished calls not sent yet (a
// function's results whose receivers would never hear of them once its queue is removed).
const left = async (p: Paths, name: string) => ({ queued: (await waiting(p, name)).length, callbacks: (await pendingCallbacks(p, name)).length });

// The refusal names callbacks only when some wait, so the common message stays as it was.
const undelivered = (queued: number, callbacks: number) => (callbacks ? `${queued} queued call(s), ${callbacks} callback(s) waiting to be sent` : `${queued} queued call(s)`);
const withDead = (queued: number, dead: number, callbacks: number) => (callbacks ? `${undelivered(queued, callbacks)} and ${dead} dead letter(s)` : `${queued} queued call(s) and ${dead} dead letter(s)`);

export async function settleQueue(p: Paths, name: string, policy: QueuePolicy, waitMs = DRAIN_WAIT_MS): Promise<Settled> {
  let { queued, callbacks } = await left(p, name);
  let dead = (await deadList(p, name)).length;
  if ((queued || dead || callbacks) && policy === 'refuse') {
    throw new FaassError('FAASS_E_QUEUE_NOT_EMPTY', `${name} has ${withDead(queued, dead, callbacks)}: delete it with --drain (its queued calls and callbacks are delivered first) or --discard (they are dropped); nothing was deleted`);
  }
  await closeQueue(p, name);
  if ((queued || callbacks) && policy === 'drain') {
    const until = Date.now() + waitMs;
    for (;;) {
      ({ queued, callbacks } = await left(p, name));
      if (!queued && !callbacks) break;
      if (Date.now() > until) {
        await reopenQueue(p, name);
        throw new FaassError('FAASS_E_QUEUE_NOT_EMPTY', `${name} still has ${undelivered(queued, callbacks)} after ${Math.round(waitMs / 1000)}s of draining; nothing was deleted (try again, or --discard)`);
      }
      await new Promise((r) => setTimeout(r, 200));
    }
    dead = (await deadList(p, name)).length;
  }
  return { discarded: queued, dead, callbacks };
}

// The function is gone: its queue goes too (retried while a last attempt of the dispatcher
// writes into it), so a function deployed later under the name starts empty.
export async function dropQueue(p: Paths, name: string): Promise<void> {
  await fs.promises.rm(functionQueue(p, name), { recursive: true, force: true, maxRetries: 10, retryDelay: 50 });
  await fs.promises.rm(path.join(doorbells(p), name), { force: true });
}

export { reopenQueue };
