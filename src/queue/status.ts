// What became of an asynchronous call, from the spool's files alone: queued (and due), running,
// retrying (when), done (its status), or dead. A done call's record is kept for RETAIN_MS
// (queue/NAME/done/ID.json, written by the dispatcher); then it is forgotten.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Paths } from '../core/paths';
import { isValidCallId } from '../core/http-util';
import { removeOlderThan } from '../core/old-files';
import { Attempt, CallState, deadLetters, functionQueue, queueRoot, readCall, writeDurably } from './spool';
import { CallbackStatus, callbackStatus, origin } from './callback';

export const RETAIN_MS = 24 * 3600 * 1000;

export type CallStatus = {
  id: string;
  function: string;
  state: 'queued' | 'running' | 'retrying' | 'done' | 'dead';
  attempts: Attempt[];
  nextAt?: string; // retrying: not before
  status?: number; // done: the answer's
  finishedAt?: string; // done, dead
  callback?: CallbackStatus; // when it asked for one (X-Callback-Url)
};

const doneDir = (p: Paths, name: string) => path.join(functionQueue(p, name), 'done');
const iso = (ms: number) => new Date(ms).toISOString();

// The dispatcher's record of a call it is done with.
export async function recordDone(p: Paths, name: string, id: string, status: number, state: CallState): Promise<void> {
  if (!fs.existsSync(functionQueue(p, name))) return; // deleted meanwhile: nothing to keep
  const record = { id, function: name, state: 'done', status, attempts: state.attempts, finishedAt: iso(Date.now()) };
  await writeDurably(path.join(doneDir(p, name), `${id}.json`), Buffer.from(JSON.stringify(record)));
}

// Whether the dispatcher recorded the call as done (a dispatcher that stopped after recording it
// but before removing the call leaves both).
export const isDone = (p: Paths, name: string, id: string): Promise<boolean> =>
  fs.promises.access(path.join(doneDir(p, name), `${id}.json`)).then(
    () => true,
    () => false,
  );

// Forgets the records of calls done longer ago than RETAIN_MS; returns how many.
export const forgetOld = (p: Paths, name: string, now = Date.now()): Promise<number> => removeOlderThan(doneDir(p, name), RETAIN_MS, { now });

async function readJson<T>(file: string): Promise<T | null> {
  try {
    return JSON.parse(await fs.promises.readFile(file, 'utf8')) as T;
  } catch {
    return null;
  }
}

const entryOf = async (dir: string, id: string): Promise<string | null> => {
  try {
    return (await fs.promises.readdir(dir)).find((f) => f.endsWith(`-${id}.call`)) ?? null;
  } catch {
    return null;
  }
};

// null: no such call (never queued, or done more than RETAIN_MS ago).
// only: look in that function's queue alone.
export async function callStatus(p: Paths, id: string, now = Date.now(), only?: string): Promise<CallStatus | null> {
  const s = await stateOf(p, id, now, only);
  if (!s) return s;
  // Its callback: sent or failed (recorded), waiting to be sent, or (the call not final yet) to come.
  let callback = await callbackStatus(p, s.function, id);
  if (!callback && (s.state === 'queued' || s.state === 'running' || s.state === 'retrying')) {
    const entry = await entryOf(functionQueue(p, s.function), id);
    const call = entry ? await readCall(p, s.function, entry).catch(() => null) : null;
    if (call?.callback !== undefined) callback = { state: 'pending', to: origin(call.callback), attempts: [] };
  }
  return callback ? { ...s, callback } : s;
}

async function stateOf(p: Paths, id: string, now: number, only?: string): Promise<CallStatus | null> {
  if (!isValidCallId(id)) return null;
  let names: string[];
  try {
    names = only !== undefined ? [only] : (await fs.promises.readdir(queueRoot(p))).filter((n) => !n.startsWith('.'));
  } catch {
    return null;
  }
  for (const name of names) {
    const done = await readJson<CallStatus>(path.join(doneDir(p, name), `${id}.json`));
    if (done) return done;
    const waiting = await entryOf(functionQueue(p, name), id);
    if (waiting) {
      const s = (await readJson<CallState>(path.join(functionQueue(p, name), waiting.replace(/\.call$/, '.state')))) ?? { attempts: [], nextAt: 0 };
      const last = s.attempts[s.attempts.length - 1];
      if (last && last.endedAt === undefined) return { id, function: name, state: 'running', attempts: s.attempts };
      if (s.nextAt > now) return { id, function: name, state: 'retrying', attempts: s.attempts, nextAt: iso(s.nextAt) };
      return { id, function: name, state: 'queued', attempts: s.attempts };
    }
    const dead = await entryOf(deadLetters(p, name), id);
    if (dead) {
      const s = (await readJson<CallState>(path.join(deadLetters(p, name), dead.replace(/\.call$/, '.state')))) ?? { attempts: [], nextAt: 0 };
      const last = s.attempts[s.attempts.length - 1];
      return { id, function: name, state: 'dead', attempts: s.attempts, finishedAt: last?.endedAt ? iso(last.endedAt) : undefined };
    }
  }
  return null;
}
