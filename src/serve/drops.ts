// A file drop under faassctl serve: the path unit a user manager would run (units.ts
// renderDropPath), here. Its conditions are states, as the unit's: a name in DIR its pattern
// matches (PathExistsGlob=, glob(3): no hidden name), a name in DIR/.faass/in/ (PathExistsGlob=
// in/*: a closed outbox of a call, functions/outbox.ts; an open one is hidden) or a settled mark
// waiting (DirectoryNotEmpty= on queue/NAME/drops/ID/settled/). While one holds, the drop's service
// program runs (one run at a time); when a run ends the conditions are looked at again, so a
// file dropped meanwhile is not missed. Looked at on fs.watch events of both directories and
// every RESCAN_MS (events are lossy; a directory made later is watched from then on).
// A run that fails runs again after RESTART_MS (Restart=on-failure). A run that ends with the
// same files still waiting made no progress (systemd's TriggerLimitBurst= would fail the unit):
// serve backs off, doubling to BACKOFF_MAX_MS, says so once, and starts over when they change.
import * as fs from 'node:fs';
import { Paths } from '../core/paths';
import { FileDrop, globRegExp } from '../functions/file-drops';
import { settledDir } from '../queue/drop-marks';
import { inboxOf } from '../functions/outbox';
import { LogFile } from './log-files';
import { TriggerChild, succeeded } from './trigger-child';
import { dropProgram } from './trigger-programs';
import { DEBOUNCE_MS, RESCAN_MS } from './watch';

export const RESTART_MS = 5000; // the service's RestartSec=
export const BACKOFF_FIRST_MS = 1000;
export const BACKOFF_MAX_MS = 60000;

export interface DropHooks {
  dist: string;
  log: LogFile;
  say: (line: string) => void;
  changed: () => void;
}

// What is waiting, as a fingerprint that changes with any progress: the names the pattern
// matches (each with its inode and mtime: a file claimed and dropped again under its name is
// new), the closed outboxes in DIR/.faass/in/ and the settled marks; '' when nothing waits.
export function waiting(dir: string, pattern: RegExp, settled: string): string {
  const names = visible(dir).filter((n) => pattern.test(n));
  const marks = visible(settled);
  const outboxes = visible(inboxOf(dir));
  if (!names.length && !marks.length && !outboxes.length) return '';
  const files = names.map((n) => {
    try {
      const st = fs.lstatSync(`${dir}/${n}`);
      return `${n} ${st.ino} ${st.mtimeMs}`;
    } catch {
      return n; // gone meanwhile
    }
  });
  return JSON.stringify([files.sort(), marks.sort(), outboxes.sort()]);
}

const visible = (dir: string): string[] => {
  try {
    return fs.readdirSync(dir).filter((n) => !n.startsWith('.'));
  } catch {
    return []; // not there (yet): nothing waits in it
  }
};

export class DropWatch {
  private readonly pattern: RegExp;
  private readonly settled: string;
  private readonly watchers = new Map<string, fs.FSWatcher>();
  private readonly poll: NodeJS.Timeout;
  private soon: NodeJS.Timeout | null = null;
  private pause: NodeJS.Timeout | null = null; // a restart or a back-off pending
  private run: TriggerChild | null = null;
  private backoff = 0; // ms; 0: none
  private stuck = ''; // the fingerprint a run left unchanged
  private closed = false;

  constructor(
    paths: Paths,
    private readonly fn: string,
    private readonly drop: FileDrop,
    private readonly hooks: DropHooks,
  ) {
    this.pattern = globRegExp(drop.pattern);
    this.settled = settledDir(paths, fn, drop.id);
    try {
      fs.mkdirSync(this.settled, { recursive: true, mode: 0o700 }); // the path unit's MakeDirectory=
    } catch (e) {
      hooks.say(`faassctl serve: file drop ${drop.id} of ${fn}: cannot make ${this.settled}: ${(e as Error).message}`);
    }
    this.poll = setInterval(() => this.look(), RESCAN_MS);
    this.look();
  }

  get pid(): number | null {
    return this.run?.pid ?? null;
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.poll);
    for (const t of [this.soon, this.pause]) if (t) clearTimeout(t);
    for (const w of this.watchers.values()) w.close();
    this.watchers.clear();
    await this.run?.stop();
  }

  // Watches what is not watched yet, and starts a run when something waits.
  private look(): void {
    if (this.closed) return;
    for (const dir of [this.drop.watch, this.settled, inboxOf(this.drop.watch)]) this.arm(dir);
    if (this.run || (this.pause && !this.backoff)) return;
    const now = waiting(this.drop.watch, this.pattern, this.settled);
    if (this.pause && now === this.stuck) return; // backing off: until the files change
    this.clearPause();
    if (now === '') return this.progressed();
    this.start(now);
  }

  private arm(dir: string): void {
    if (this.watchers.has(dir)) return;
    try {
      const w = fs.watch(dir, { persistent: false }, () => {
        this.soon ??= setTimeout(() => {
          this.soon = null;
          this.look();
        }, DEBOUNCE_MS);
      });
      w.on('error', () => {
        w.close();
        this.watchers.delete(dir); // watched again at the next look, if it is back
      });
      this.watchers.set(dir, w);
    } catch {
      // not there (yet): the poll covers it
    }
  }

  private start(before: string): void {
    const run = new TriggerChild(dropProgram(this.hooks.dist, this.fn, this.drop), this.hooks.log);
    this.run = run;
    this.hooks.changed();
    void run.ended.then((e) => {
      this.run = null;
      this.hooks.changed();
      if (this.closed) return;
      if (!succeeded(e)) {
        this.backoff = 0; // a restart waits its RestartSec= whatever changes
        return this.after(RESTART_MS);
      }
      const after = waiting(this.drop.watch, this.pattern, this.settled);
      if (after !== '' && after === before) return this.noProgress(after);
      this.progressed();
      this.look();
    });
  }

  // The same files wait as before the run: it could not move them on (a full queue, a directory
  // it cannot write). Not a tight loop: wait, longer each time, and say so once a stretch.
  private noProgress(fingerprint: string): void {
    this.backoff = Math.min(this.backoff ? this.backoff * 2 : BACKOFF_FIRST_MS, BACKOFF_MAX_MS);
    if (this.stuck !== fingerprint) this.hooks.say(`faassctl serve: file drop ${this.drop.id} of ${this.fn}: a run left the same files waiting in ${this.drop.watch}; running it again after waits up to ${BACKOFF_MAX_MS / 1000}s (faassctl logs ${this.fn} says what it did)`);
    this.stuck = fingerprint;
    this.after(this.backoff);
  }

  private progressed(): void {
    this.backoff = 0;
    this.stuck = '';
  }

  private clearPause(): void {
    if (this.pause) clearTimeout(this.pause);
    this.pause = null;
  }

  private after(ms: number): void {
    this.pause = setTimeout(() => {
      this.pause = null;
      this.look();
    }, ms);
  }
}
