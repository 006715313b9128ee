// Logs to stderr; under systemd (JOURNAL_STREAM set) each line carries a <N> priority prefix
// that journald turns into PRIORITY= (sd-daemon(3)). A runner, app, gateway or API sends its
// lines instead with fields of their own (FAASS_FUNCTION=, FAASS_CALL_ID=) through journald's
// native protocol (LogExtraFields= would do it for system services, but a user manager's units
// do not get it), never blocking: see journal-sender.ts.
import * as fs from 'node:fs';
import { JournalSender, MAX_MESSAGE, journalEntry, unixDatagramSocket } from './journal-sender';

const JOURNAL_SOCKET = '/run/systemd/journal/socket';
const PRIORITIES = { err: 3, warning: 4, notice: 5, info: 6, debug: 7 } as const;
export type Priority = keyof typeof PRIORITIES;

// What waits for a stalled journald: a fixed amount, the rest is dropped and counted.
export const QUEUE_LIMITS = { entries: 1024, bytes: 1024 * 1024 };
// How long an exit waits for journald to take what is queued.
export const EXIT_FLUSH_MS = 500;

const toJournal = Boolean(process.env.JOURNAL_STREAM);

type Entry = (priority: Priority, message: string, fields?: Record<string, string>) => Buffer;
let native: { sender: JournalSender; entry: Entry } | null = null;

// From now on, lines go to the journal with these fields (when under systemd and the socket
// binding loads; otherwise they stay on stderr, without fields).
export function logWithFields(defaults: Record<string, string>): void {
  if (!toJournal || !fs.existsSync(JOURNAL_SOCKET)) return;
  const entry: Entry = (priority, message, fields) =>
    journalEntry({ ...defaults, ...fields, PRIORITY: String(PRIORITIES[priority]), MESSAGE: message.length > MAX_MESSAGE ? `${message.slice(0, MAX_MESSAGE)}...` : message });
  const dropped = (n: number) => entry('warning', `Dropped ${n} log lines: journald did not take them in time (at most ${QUEUE_LIMITS.entries} lines, ${QUEUE_LIMITS.bytes / 1024} KiB wait for it)`);
  try {
    native = { sender: new JournalSender(unixDatagramSocket(JOURNAL_SOCKET), QUEUE_LIMITS, dropped), entry };
  } catch (e) {
    native = null;
    logLine('warning', `Cannot log to the journal natively (${(e as Error).message}); logging to stderr without fields`);
  }
}

export function logLine(priority: Priority, message: string, fields?: Record<string, string>): void {
  if (native) {
    native.sender.send(native.entry(priority, message, fields));
    return;
  }
  const text = message.replace(/\n/g, '\\n');
  process.stderr.write(toJournal ? `<${PRIORITIES[priority]}>${text}\n` : `${priority}: ${text}\n`);
}

// Waits (at most ms) for journald to take the lines still queued; for an exit.
export function flushLog(ms = EXIT_FLUSH_MS): Promise<void> {
  return native ? native.sender.flush(ms) : Promise.resolve();
}

// exit(2), once journald took what is queued (or EXIT_FLUSH_MS passed).
export function exitAfterLog(code: number): void {
  void flushLog().then(() => process.exit(code));
}

// Lines this process dropped because journald did not take them (for /metrics).
export const droppedLogLines = (): number => native?.sender.droppedTotal ?? 0;

export const log = {
  err: (m: string) => logLine('err', m),
  warning: (m: string) => logLine('warning', m),
  notice: (m: string) => logLine('notice', m),
  info: (m: string) => logLine('info', m),
  debug: (m: string) => {
    if (process.env.FAASS_DEBUG) logLine('debug', m);
  },
};

export function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
