// The runner's side of a call's outbox (functions/outbox.ts): opened before the call runs, in the
// drop's DIR/.faass/in/ its unit may write (systemd/units.ts dropInboxes), and closed when the
// call ends however it ends: renamed into view for the drop's service, or removed when empty.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DROPS_ENV, DropInbox, SAME_ID_MAX, chainDepth, closedName, inboxFor, openName, outboxDepth, parseDropInboxes } from '../functions/outbox';
import { log, errorMessage } from '../observe/log';

export interface Outbox {
  readonly dir: string; // what the function is told (FAASS_OUTBOX, context.outbox)
  close(): Promise<void>;
}

export class Outboxes {
  private warned = false;
  constructor(
    private readonly fn: string,
    private readonly drops: readonly DropInbox[],
  ) {}

  static fromEnv(fn: string, env: NodeJS.ProcessEnv = process.env): Outboxes {
    return new Outboxes(fn, parseDropInboxes(env[DROPS_ENV]));
  }

  // The call's outbox, or null: the function has no drop, or the inbox cannot be written (made by
  // the drop's first run, or by faassctl; a warning once, and the call runs without one).
  async open(callId: string, headers: Readonly<Record<string, string>>): Promise<Outbox | null> {
    const drop = inboxFor(this.drops, headers);
    if (!drop) return null;
    const depth = outboxDepth(chainDepth(headers['x-faass-chain-depth']));
    for (let n = 1; n <= SAME_ID_MAX; n++) {
      const dir = path.join(drop.inbox, openName(depth, callId, n));
      try {
        await fs.promises.mkdir(dir, { mode: 0o700 });
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'EEXIST') continue; // another call of that id
        if (!this.warned) log.warning(`Function ${this.fn}: no outbox for its calls in ${drop.inbox} (${errorMessage(e)}); files they would write for drop ${drop.id} cannot be written until it exists`);
        this.warned = true;
        return null;
      }
      return { dir, close: () => close(dir, (m) => path.join(drop.inbox, closedName(depth, callId, m)), n) };
    }
    log.warning(`Function ${this.fn}: no outbox for call ${callId}: ${SAME_ID_MAX} of that call id are open`);
    return null;
  }
}

// Removed when the call wrote nothing (ENOTEMPTY: it did), else renamed into view in one step, so
// the drop's service sees it whole. A failure is logged: the open outbox stays hidden, the
// drop's retention removes it (drop-fire.ts).
// A closed outbox of that name not claimed yet (the last attempt's): the next free `~N`.
async function close(open: string, closed: (n: number) => string, first: number): Promise<void> {
  try {
    await fs.promises.rmdir(open);
    return;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== 'ENOTEMPTY' && code !== 'EEXIST') return void log.warning(`Failed to close the outbox ${open}: ${errorMessage(e)}`);
  }
  for (let n = first; ; n++) {
    try {
      return await fs.promises.rename(open, closed(n));
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if ((code === 'ENOTEMPTY' || code === 'EEXIST') && n < SAME_ID_MAX) continue;
      return void log.warning(`Failed to close the outbox ${open}: ${errorMessage(e)}`);
    }
  }
}
