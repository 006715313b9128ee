// What a NATS bridge (functions/nats-triggers.ts) does with one message, without the client:
// the asynchronous call it becomes, the call's Idempotency-Key, and whether the message is acked
// or handed back. nats-main.ts holds the connection and the consumer.
//
// At least once across a restart of either side: a message is acked only after its call is on
// disk (enqueueOnce resolves then); one not acked is delivered again by the server (after the
// consumer's ack wait, or at once after a NAK), and its key, the stream's identity and the
// message's sequence in it, queues it once whatever the number of deliveries. A full queue (429)
// or a spool that cannot be written (503) is not acked: NAK with a delay, so NATS keeps it.
import * as http from 'node:http';
import { randomUUID } from 'node:crypto';
import { HOP_BY_HOP } from '../core/http-util';
import { FaassError } from '../core/errors';
import { Paths } from '../core/paths';
import { QueuedCall } from './spool';
import { enqueueOnce } from './idempotency';
import { countBridged } from './counters';

// Headers of a message that are not passed to the function: faass's own (who says what a call
// is), a caller's credentials (a publisher is not a gateway's authenticated caller), and what
// frames or routes an HTTP request.
const WITHHELD: ReadonlySet<string> = new Set([...HOP_BY_HOP, 'host', 'authorization', 'proxy-authorization', 'cookie', 'expect', 'x-call-id', 'x-forwarded-for', 'idempotency-key', 'x-callback-url']);
export const MAX_HEADERS = 50;
export const MAX_HEADER_BYTES = 8 * 1024;

export interface Message {
  subject: string;
  seq: number; // its sequence in the stream
  data: Uint8Array;
  headers: [string, string[]][]; // as the message has them (NATS headers may repeat)
}

// The message's headers the function may see: valid HTTP names and values, none withheld, at
// most MAX_HEADERS of them and MAX_HEADER_BYTES in all (the rest are left out, not failed: the
// message is the publisher's and is queued all the same).
export function bridgedHeaders(pairs: [string, string[]][]): { headers: Record<string, string>; left: string[] } {
  const headers: Record<string, string> = {};
  const left: string[] = [];
  let bytes = 0;
  for (const [name, values] of pairs) {
    const k = name.toLowerCase();
    const v = values.join(', ');
    if (WITHHELD.has(k) || k.startsWith('x-faass-') || !validHeader(k, v) || Object.keys(headers).length >= MAX_HEADERS || bytes + k.length + v.length > MAX_HEADER_BYTES) {
      left.push(k);
      continue;
    }
    headers[k] = v;
    bytes += k.length + v.length;
  }
  return { headers, left };
}

function validHeader(k: string, v: string): boolean {
  try {
    http.validateHeaderName(k);
    http.validateHeaderValue(k, v);
    return true;
  } catch {
    return false;
  }
}

// The call a message becomes: POST / with its data as the body, its safe headers, and faass's
// trigger headers (the gateway drops a client's own such headers: only faass says them).
export function bridgedCall(fn: string, triggerId: string, m: Message, now = Date.now()): QueuedCall {
  const { headers } = bridgedHeaders(m.headers);
  return {
    id: randomUUID(),
    name: fn,
    method: 'POST',
    path: '/',
    headers: {
      'content-type': 'application/octet-stream',
      ...headers,
      'x-faass-trigger': 'nats',
      'x-faass-trigger-id': triggerId,
      'x-faass-nats-subject': m.subject,
      'x-faass-nats-sequence': String(m.seq),
    },
    enqueuedAt: now,
    body: Buffer.from(m.data.buffer, m.data.byteOffset, m.data.byteLength),
  };
}

// Whose keys they are (enqueueOnce's scope): a caller's Idempotency-Key cannot silence a message.
export const keyScope = (triggerId: string): string => `nats ${triggerId}`;
// The stream's name and creation time (a stream deleted and made again starts its sequence over)
// and the message's sequence: one key per message, however often it is delivered.
export const messageKey = (stream: string, created: string, seq: number): string => `${stream} ${created} ${seq}`;

export type Disposition = { ack: true } | { nak: number; why: string };

// How long a message not queued waits before NATS delivers it again.
export const NAK_DELAY_MS = 5000;

// A message whose call is queued (or was, under its key) is acked; any failure hands it back
// with a delay: a full queue (429) and an unwritable spool (503) pass, and so may whatever else
// went wrong (a function being deleted, a broken file): the message stays NATS's until faass
// takes it.
export function disposition(e: unknown): Disposition {
  if (e === undefined) return { ack: true };
  const why = e instanceof FaassError ? `${e.message} (${e.code})` : e instanceof Error ? e.message : String(e);
  return { nak: NAK_DELAY_MS, why };
}

export interface Queueing {
  name: string; // the function
  triggerId: string;
  key: string; // messageKey
  queueMax: number;
  started: number; // the bridge's start (enqueueOnce's staleBefore)
}

// One message's call queued (once: its key) and what to tell NATS. Counted in
// faass_nats_messages_bridged_total when its call is new: a message delivered again, its call
// queued by an earlier delivery, is not counted twice.
export async function queueMessage(p: Paths, q: Queueing, m: Message): Promise<Disposition> {
  const call = bridgedCall(q.name, q.triggerId, m);
  try {
    const id = await enqueueOnce(p, call, q.queueMax, q.key, keyScope(q.triggerId), q.started);
    if (id === call.id) countBridged(p, q.name);
    return disposition(undefined);
  } catch (e) {
    return disposition(e);
  }
}

// The waits between attempts to set the consumer up (a server without the stream yet, a
// consumer being changed): doubling from 1 s to 30 s, so a bridge started before its stream
// exists finds it soon without hammering the server.
export const setupWait = (attempt: number): number => Math.min(1000 * 2 ** Math.max(0, attempt), 30000);
