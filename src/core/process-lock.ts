// A lock held by a process across awaits: a file naming its holder (PID and start time) made
// only where none is (link(2) of a written file), plus a queue within this process, since two
// holders of one process look the same on disk. A holder that is gone (killed, its PID reused by
// another process) no longer holds it: the next taker moves its file aside. Not re-entrant.
import * as fs from 'node:fs';
import { createFileExclusive, readIfExists } from './fs-atomic';
import { fail } from './errors';

// A process's start time, or null when it is gone (or a zombie, dead but not yet reaped).
export function processStart(pid: number): string | null {
  let stat: string;
  try {
    stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT' || (e as NodeJS.ErrnoException).code === 'ESRCH') return null;
    throw e; // cannot tell: the caller leaves it alone (fail closed)
  }
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' '); // the name may hold spaces and ')'
  return fields[0] === 'Z' ? null : (fields[19] ?? null);
}

const queues = new Map<string, Promise<unknown>>();

export async function withProcessLock<T>(file: string, what: string, f: () => Promise<T>, waitMs = 300_000): Promise<T> {
  const before = queues.get(file) ?? Promise.resolve();
  const mine = before.catch(() => undefined).then(async () => {
    await take(file, what, waitMs);
    try {
      return await f();
    } finally {
      const held = holder(file);
      if (held?.pid === process.pid) fs.rmSync(file, { force: true });
    }
  });
  queues.set(file, mine);
  try {
    return await mine;
  } finally {
    if (queues.get(file) === mine) queues.delete(file);
  }
}

interface Holder {
  pid: number;
  start: string;
}

function holder(file: string): Holder | null {
  const text = readIfExists(file);
  if (text === null) return null;
  const [pid, start] = text.trim().split(' ');
  return { pid: Number(pid), start: start ?? '' };
}

function gone(h: Holder): boolean {
  try {
    return !Number.isInteger(h.pid) || h.pid <= 0 || processStart(h.pid) !== h.start;
  } catch {
    return false;
  }
}

async function take(file: string, what: string, waitMs: number): Promise<void> {
  const me = `${process.pid} ${processStart(process.pid) ?? ''}\n`;
  const until = Date.now() + waitMs;
  for (;;) {
    if (createFileExclusive(file, me)) return;
    const h = holder(file);
    if (h === null || gone(h)) {
      const aside = `${file}.${process.pid}.gone`;
      try {
        fs.renameSync(file, aside); // one taker alone moves it
        fs.rmSync(aside, { force: true });
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
      }
      continue;
    }
    if (Date.now() > until) fail('FAASS_E_DEPLOY_BUSY', `${what}: process ${h.pid} has held ${file} for over ${Math.round(waitMs / 1000)} s; try again when it ends`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
