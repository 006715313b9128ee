// POST /topic/T: a message fanned out to every function subscribed to T (functions/topics.ts), as
// one asynchronous call each, through the same spool as /async-function/NAME: each durable before
// the answer, each with its own id, retries and dead letters, so a failing subscriber holds up no
// other. No broker: who subscribes is read from the functions' files at each publish.
//
// The answer lists every subscriber with its call id (or its error). A queue can refuse its call
// (full: 429; disk: 503) while others take theirs; calls cannot be queued all-or-nothing across
// queues, so the answer says which got it: 202 all, 207 some (Multi-Status), and when none did the
// first refusal's status. Publishing again with the same Idempotency-Key queues the message for
// those that did not get it, and nothing twice for those that did (the key is kept per
// subscriber, scoped to the topic).
import type * as http from 'node:http';
import { randomUUID } from 'node:crypto';
import { Paths } from '../core/paths';
import { ErrorCode, FaassError } from '../core/errors';
import { enqueueOnce, checkKey } from '../queue/idempotency';
import { FunctionEntry } from './function-table';
import { callHeaders } from './headers';

export interface Subscriber {
  name: string;
  fn: FunctionEntry;
}

export type Delivery = { function: string; callId: string; repeat?: true } | { function: string; error: { code: ErrorCode; message: string } };

export interface Published {
  status: number; // 202, 207, or the refusal's when no subscriber got the message
  body: Record<string, unknown>;
  headers: Record<string, string>;
  fresh: number; // calls queued now (not repeats of an earlier publish with the key)
}

// The Idempotency-Key of a publish, checked before the body is read (400 with nothing queued).
export function publishKey(req: http.IncomingMessage): string | undefined {
  const given = req.headers['idempotency-key'];
  const key = Array.isArray(given) ? given[0] : given;
  if (key !== undefined) checkKey(key);
  return key;
}

// One call per subscriber, queued side by side; what each got.
export async function fanOut(paths: Paths, req: http.IncomingMessage, topic: string, path: string, subscribers: Subscriber[], body: Buffer, key: string | undefined): Promise<Published> {
  const deliveries = await Promise.all(subscribers.map((s) => deliver(paths, req, topic, path, s, body, key)));
  return answer(topic, deliveries);
}

async function deliver(paths: Paths, req: http.IncomingMessage, topic: string, path: string, s: Subscriber, body: Buffer, key: string | undefined): Promise<Delivery & { fresh?: boolean }> {
  const id = randomUUID();
  const headers = { ...callHeaders(req, id, s.fn.passAuthorization), 'x-faass-trigger': 'topic', 'x-faass-topic': topic };
  try {
    const callId = await enqueueOnce(paths, { id, name: s.name, method: 'POST', path, headers, enqueuedAt: Date.now(), body }, s.fn.queueMax, key, `topic ${topic}`);
    return callId === id ? { function: s.name, callId, fresh: true } : { function: s.name, callId, repeat: true };
  } catch (e) {
    if (!(e instanceof FaassError)) throw e;
    return { function: s.name, error: { code: e.code, message: e.message } };
  }
}

// 202 when every subscriber has its call, 207 when some have, else the first refusal's status.
export function answer(topic: string, all: (Delivery & { fresh?: boolean })[]): Published {
  const subscribers: Delivery[] = all.map(({ fresh: _fresh, ...d }) => d);
  const failed = subscribers.filter((d) => 'error' in d);
  const fresh = all.filter((d) => d.fresh).length;
  const headers: Record<string, string> = failed.some((d) => 'error' in d && d.error.code === 'FAASS_E_QUEUE_FULL') ? { 'retry-after': '5' } : {};
  if (!failed.length) return { status: 202, body: { topic, subscribers }, headers, fresh };
  if (failed.length < subscribers.length) return { status: 207, body: { topic, subscribers, queued: subscribers.length - failed.length, failed: failed.length }, headers, fresh };
  const first = (failed[0] as { error: { code: ErrorCode; message: string } }).error;
  const e = new FaassError(first.code, `No subscriber of topic ${topic} got the message (${first.message}); nothing was queued`);
  return { status: e.status, body: { ...e.toJSON(), topic, subscribers }, headers, fresh };
}
