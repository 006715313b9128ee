// A call's outbox (issue 14, "no loops"): what a function of a file drop writes for that drop goes
// into DIR/.faass/in/, one directory a call, so a file can be told from the call that wrote it and
// the chain it belongs to can be stopped. The runner opens `.open-DEPTH-CALLID/` (hidden: the
// drop's path unit globs in/*, which matches no hidden name, so an open outbox never starts the
// drop's service) and when the call ends renames it to `DEPTH-CALLID` (visible, whole by
// construction) or removes it when empty; the drop's service (queue/drop-fire.ts) claims its files
// with X-Faass-Chain-Depth: DEPTH, and none past the drop's chain_limit. Pure: names, depths and
// the runner's environment; shared by the runner, the units and the drop's service.
import * as path from 'node:path';
import { AREA } from './file-drops';

export const OUTBOX_DIR = 'in';
export const OPEN_PREFIX = '.open-';
// No depth is larger: a chain_limit is at most 100 (file-drops.ts), so anything here is past it.
export const MAX_DEPTH = 999;
// The runner's environment (systemd/units.ts writes it into the function's unit): its drops, as
// `ID:DIR/.faass/in` separated by spaces. A watched directory has neither (file-drops.ts
// checkWatchDir), and the runner cannot read the triggers file.
export const DROPS_ENV = 'FAASS_DROP_INBOXES';

export const inboxOf = (watch: string): string => path.join(watch, AREA, OUTBOX_DIR);

// The depth of the call that carries this X-Faass-Chain-Depth: none is an HTTP call's, 0. Only
// faass sets the header (the gateway drops a client's own); one that is not a number is no depth
// faass wrote, so it counts as past every limit (a chain of unknown length is stopped, not
// restarted).
export function chainDepth(header: string | undefined): number {
  if (header === undefined || header === '') return 0;
  return /^\d{1,3}$/.test(header.trim()) ? Number(header.trim()) : MAX_DEPTH;
}

// The depth of what a call writes: one link further.
export const outboxDepth = (callDepth: number): number => Math.min(callDepth + 1, MAX_DEPTH);

const CALL_ID = '[A-Za-z0-9._:-]{1,128}'; // core/http-util.ts isValidCallId
const CLOSED_RE = new RegExp(`^(\\d{1,3})-(${CALL_ID})(?:~\\d{1,2})?$`);

// `~N` (2 and on) tells apart outboxes of one call id: an asynchronous call's next attempt whose
// last one's outbox is not claimed yet, or two calls a client gave the same X-Call-Id.
export const SAME_ID_MAX = 20;
const nth = (n: number) => (n > 1 ? `~${n}` : '');
export const openName = (depth: number, callId: string, n = 1): string => `${OPEN_PREFIX}${depth}-${callId}${nth(n)}`;
export const closedName = (depth: number, callId: string, n = 1): string => `${depth}-${callId}${nth(n)}`;

// A closed outbox's depth and call, or null: a name the runner did not make.
export function parseClosed(name: string): { depth: number; callId: string } | null {
  const m = CLOSED_RE.exec(name);
  return m ? { depth: Number(m[1]), callId: m[2] } : null;
}

export interface DropInbox {
  readonly id: string;
  readonly inbox: string; // DIR/.faass/in
}

// The inboxes a function's runner is given, for its unit and for faassctl serve's runner: one a
// drop; none for a container function (its files would be written by the engine's user, not done).
export const runnerInboxes = (runtime: string, drops: readonly { id: string; watch: string }[]): DropInbox[] => (runtime === 'docker' ? [] : drops.map((d) => ({ id: d.id, inbox: inboxOf(d.watch) })));

export const renderDropInboxes = (drops: readonly DropInbox[]): string => drops.map((d) => `${d.id}:${d.inbox}`).join(' ');

// What the unit gave; an entry that is not ID:/ABSOLUTE is skipped (none is written so).
export function parseDropInboxes(v: string | undefined): DropInbox[] {
  const out: DropInbox[] = [];
  for (const part of (v ?? '').split(' ').filter(Boolean)) {
    const m = /^([a-z0-9]{1,16}):(\/.*)$/.exec(part);
    if (m) out.push({ id: m[1], inbox: m[2] });
  }
  return out;
}

// Which drop a call's outbox goes to: the drop that made the call, when it is one of the
// function's (its own output beside its input, where a loop would form), else the first by id.
export function inboxFor(drops: readonly DropInbox[], headers: Readonly<Record<string, string>>): DropInbox | null {
  if (drops.length === 0) return null;
  const from = headers['x-faass-trigger'] === 'file' ? drops.find((d) => d.id === headers['x-faass-trigger-id']) : undefined;
  return from ?? drops[0];
}
