// Logs to stderr; under systemd (JOURNAL_STREAM set) each line carries a <N> priority prefix
// that journald turns into PRIORITY= (sd-daemon(3)).
const PRIORITIES = { err: 3, warning: 4, notice: 5, info: 6, debug: 7 } as const;
export type Priority = keyof typeof PRIORITIES;

const toJournal = Boolean(process.env.JOURNAL_STREAM);

export function logLine(priority: Priority, message: string): void {
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
