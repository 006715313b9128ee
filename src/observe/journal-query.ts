// Reading a faass log from the journal, for faassctl logs (faassctl/logs.ts) and the management
// API's GET /system/logs/NAME (api/logs.ts): one place for which lines are NAME's and for what
// journalctl says when it reads nothing.
import { Paths } from '../core/paths';
import { FaassError } from '../core/errors';
import { journalMatch, isFaassLogName } from '../systemd/journal-match';
import { loadTriggers } from '../functions/schedules';

// journalctl's arguments that select NAME's lines (its trigger units' too), one call's with `call`.
export const logMatch = (paths: Paths, name: string, call?: string): string[] => journalMatch(name, process.getuid?.() ?? 0, call, triggerIds(paths, name));

// The ids of the function's triggers, whose services log its fires (schedules), claims (file
// drops) and messages (NATS bridges); none when its triggers file does not read.
export function triggerIds(paths: Paths, name: string): string[] {
  if (isFaassLogName(name)) return [];
  try {
    const t = loadTriggers(paths, name); // every kind's units queue its calls
    return [...t.schedules, ...t.drops, ...t.nats].map((s) => s.id);
  } catch {
    return [];
  }
}

// journalctl says it opened no journal file on stderr only, and exits 0 (or, following, waits):
// read as an empty log, it would pass for a function that logged nothing.
export const NO_JOURNAL = /No journal files were (opened|found)/;

export const journalUnreadable = (name: string): FaassError =>
  new FaassError('FAASS_E_JOURNAL_UNREADABLE', `Cannot read the journal of ${name}: journalctl opened no journal file (is journald keeping this user's journal, Storage= in journald.conf(5)? may this user read it: the systemd-journal group?)`);
