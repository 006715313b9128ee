// A function's dead letters as faassctl dlq and the API show them (spool.ts keeps them).
import { fail } from '../core/errors';
import { Paths } from '../core/paths';
import { CallState, QueuedCall, deadCallById, deadList } from './spool';

export interface DeadLetter {
  id: string | null; // null: a file that is no call faass wrote (kept as .corrupt)
  entry: string;
  enqueuedAt: string | null;
  method?: string;
  path?: string;
  bytes?: number;
  attempts: CallState['attempts'];
}

export const when = (ms: number) => new Date(ms).toISOString().replace(/\.\d+Z$/, 'Z');

export async function deadLetters(paths: Paths, name: string): Promise<DeadLetter[]> {
  // From each call's first line: the bodies are not read (deadCall reads one).
  return (await deadList(paths, name)).map((d) => ({ id: d.head?.id ?? null, entry: d.entry, enqueuedAt: d.head ? when(d.head.enqueuedAt) : null, method: d.head?.method, path: d.head?.path, bytes: d.bytes ?? undefined, attempts: d.state.attempts }));
}

// One dead letter's request as it was queued (the body base64 in JSON).
export async function deadCall(paths: Paths, name: string, id: string): Promise<QueuedCall> {
  const found = await deadCallById(paths, name, id);
  if (!found) fail('FAASS_E_CALL_NOT_FOUND', `No dead letter ${id} for ${name}`);
  return found;
}

