// systemd-analyze calendar is the judge of a schedule: what it refuses, no timer would take.
// It also says when each expression elapses next, which `faassctl trigger add` shows.
import { FaassError } from '../core/errors';
import { run } from './systemctl';

// The next elapse of the earliest of the expressions (systemd-analyze's own words, e.g.
// "Tue 2026-12-01 19:00:00 UTC"), or throws FAASS_E_SCHEDULE_INVALID with systemd's reason (or
// that it never fires).
export async function checkCalendar(expressions: string[]): Promise<{ next: string | null; normalized: string[] }> {
  // '--': a spec starting with '-' is a spec to judge, not an option (-h would print help, exit 0).
  const r = await run('systemd-analyze', ['calendar', '--', ...expressions], { timeoutMs: 20000 });
  if (r.code === 127 && !/calendar/.test(r.stderr)) throw new FaassError('FAASS_E_SCHEDULE_INVALID', `Cannot check the schedule: systemd-analyze did not run (${r.stderr.trim().split('\n')[0]})`);
  if (r.code !== 0) {
    const reason = r.stderr.split('\n').find((l) => l.trim() !== '') ?? `systemd-analyze calendar exited ${r.code}`;
    throw new FaassError('FAASS_E_SCHEDULE_INVALID', `Invalid schedule: ${reason.trim()}; nothing was written`);
  }
  const normalized = [...r.stdout.matchAll(/^\s*Normalized form: (.+)$/gm)].map((m) => m[1].trim());
  const nexts = [...r.stdout.matchAll(/^\s*Next elapse: (.+)$/gm)].map((m) => m[1].trim());
  // The earliest: systemd-analyze prints each expression's own, all in the host's zone.
  const dated = nexts.map((n) => ({ n, at: Date.parse(n.replace(/^\w{3} /, '').replace(/ \S+$/, '')) })).filter((d) => !Number.isNaN(d.at));
  const next = dated.length ? dated.reduce((a, b) => (b.at < a.at ? b : a)).n : null;
  // systemd takes an expression that names no real day (cron's `0 0 31 2 *`) or a date gone by,
  // and its timer would wait for ever: refused, as cron would never say.
  if (nexts.length && nexts.every((n) => n === 'never')) throw new FaassError('FAASS_E_SCHEDULE_INVALID', `Invalid schedule: it never fires (systemd-analyze: next elapse never for ${normalized.join('; ')}); nothing was written`);
  return { next, normalized };
}

// When the earliest of the expressions (each with its time zone, as OnCalendar= takes them)
// elapses next after `after` (ms since the epoch), as the timer computes it: ms since the epoch,
// or null when none ever does. systemd-analyze needs no manager, so faassctl serve fires
// schedules from it. An error: systemd-analyze refused them, or did not run (missing: not
// installed).
export type NextElapse = { at: number | null } | { error: string; missing: boolean };

export async function nextElapse(expressions: string[], after: number): Promise<NextElapse> {
  const base = Math.floor(after / 1000); // whole seconds: the elapse found is strictly after them
  const r = await run('systemd-analyze', ['calendar', '--iterations=1', `--base-time=@${base}`, '--', ...expressions], { timeoutMs: 20000 });
  if (r.code !== 0) return { error: `systemd-analyze calendar ${r.code === 127 ? 'did not run' : `exited ${r.code}`}: ${r.stderr.trim().split('\n')[0]}`, missing: r.code === 127 };
  const all = parseNextElapses(r.stdout).filter((n): n is number => n !== null);
  return { at: all.length ? Math.min(...all) : null };
}

// Each expression's next elapse in systemd-analyze calendar's output, ms since the epoch (null:
// never). It prints "Next elapse:" in the host's zone and, when that is not UTC, the same instant
// "(in UTC):" on the next line: the UTC one is read.
export function parseNextElapses(out: string): (number | null)[] {
  const lines = out.split('\n').map((l) => l.trim());
  const found: (number | null)[] = [];
  lines.forEach((l, i) => {
    const next = /^Next elapse: (.+)$/.exec(l)?.[1];
    if (next === undefined) return;
    const utc = /^\(in UTC\): (.+)$/.exec(lines[i + 1] ?? '')?.[1] ?? next;
    found.push(next === 'never' ? null : utcTime(utc));
  });
  return found;
}

// "Tue 2026-12-01 21:44:30 UTC" as ms since the epoch; null for anything else.
function utcTime(text: string): number | null {
  const m = /^\w{3} (\d{4}-\d\d-\d\d) (\d\d:\d\d:\d\d) UTC$/.exec(text);
  return m ? Date.parse(`${m[1]}T${m[2]}Z`) : null;
}
