// Reading a faass log from the journal, for faassctl logs (faassctl/logs.ts) and the management
// API's GET /system/logs/NAME (api/logs.ts): one place for which lines are NAME's and for what
// journalctl says when it reads nothing.
import { Paths } from '../core/paths';
import { FaassError } from '../core/errors';
import { FunctionUnits, journalMatch, isFaassLogName } from '../systemd/journal-match';
import { loadTriggers } from './schedules';
import { loadFunctionConfig } from './function-config';

// journalctl's arguments that select NAME's lines (its app's and trigger units' too), one call's with `call`.
export const logMatch = (paths: Paths, name: string, call?: string): string[] => journalMatch(name, process.getuid?.() ?? 0, call, functionUnits(paths, name));

// The units NAME has as deployed: its app only if it is a service (a function's name + "-app"
// may be another function's), its triggers' only for the triggers it has.
export function functionUnits(paths: Paths, name: string): FunctionUnits {
  return { service: isService(paths, name), triggers: triggerIds(paths, name) };
}

// Fails closed: a config that does not read (a function removed) selects no app unit.
function isService(paths: Paths, name: string): boolean {
  if (isFaassLogName(name)) return false;
  try {
    return loadFunctionConfig(paths, name).kind === 'service';
  } catch {
    return false;
  }
}

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
