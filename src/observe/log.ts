// Logs to stderr; under systemd (JOURNAL_STREAM set) each line carries a <N> priority prefix
// that journald turns into PRIORITY= (sd-daemon(3)). A runner or app also sends its lines with
// fields of their own (FAASS_FUNCTION=, FAASS_CALL_ID=) through journald's native protocol
// (systemd-journald, sd_journal_sendv(3)): LogExtraFields= would do it for system services, but
// a user manager's units do not get it.
import * as fs from 'node:fs';

const JOURNAL_SOCKET = '/run/systemd/journal/socket';
const PRIORITIES = { err: 3, warning: 4, notice: 5, info: 6, debug: 7 } as const;
export type Priority = keyof typeof PRIORITIES;

const toJournal = Boolean(process.env.JOURNAL_STREAM);

type Native = Record<Priority, (message: string, fields?: Record<string, string>) => void>;
let native: Native | null = null;

// From now on, lines go to the journal with these fields (when under systemd and the binding
// loads; otherwise they stay on stderr, without fields).
export function logWithFields(fields: Record<string, string>): void {
  if (!toJournal || !fs.existsSync(JOURNAL_SOCKET)) return;
  try {
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    const Journald = require('systemd-journald') as new (defaults: Record<string, string>) => Native;
    native = new Journald(fields);
  } catch (e) {
    native = null;
    logLine('warning', `Cannot log to the journal natively (${(e as Error).message}); logging to stderr without fields`);
  }
}

export function logLine(priority: Priority, message: string, fields?: Record<string, string>): void {
  if (native) {
    native[priority](message, fields);
    return;
  }
  const text = message.replace(/\n/g, '\\n');
  process.stderr.write(toJournal ? `<${PRIORITIES[priority]}>${text}\n` : `${priority}: ${text}\n`);
}

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
