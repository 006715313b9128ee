// The journal of one sandbox, and of no other. Every sandbox runs a journald of its own that
// stores into a directory of its own (DIR/journal, bound at /run/log/journal in the sandbox's
// mount namespace, where sb.run runs journalctl: systemd-user.sh). The cgroup journald places
// each sender in (_SYSTEMD_CGROUP=, a field no sender can set) is checked all the same: every
// process of a sandbox runs under its slice, faass-test-PID.slice (systemd-user.sh), and only
// lines since this sandbox began are read.
import * as path from 'node:path';
import { Sandbox, systemdCgroup } from './sandbox';

export type JournalEntry = Record<string, string>;

// The entries journalctl selects with `args` (matches such as FIELD=VALUE or --user-unit=NAME,
// -p, --since…: pass them, so that journalctl finds the entries through its indexes) that this
// sandbox's processes logged, as journalctl -o json gives them, each field decoded to text.
// opts.since (ms since the epoch): only from then on (never before the sandbox began).
export async function journalEntries(sb: Sandbox, args: string[], opts: { since?: number } = {}): Promise<JournalEntry[]> {
  const since = Math.max(sb.started, opts.since ?? 0);
  // --all: without it journalctl writes null for any field longer than 4096 bytes.
  const r = await sb.run('journalctl', ['--no-pager', '--all', '-o', 'json', '--since', `@${(since / 1000).toFixed(3)}`, ...args]);
  // journalctl says it could read no journal file only on stderr, and exits 0: an empty answer
  // then would let a test that expects no line pass.
  if (r.code !== 0 || /No journal files were (opened|found)/.test(r.stderr)) throw new Error(`journalctl ${args.join(' ')} failed (exit ${r.code}): ${r.stderr.trim()}`);
  const slice = sandboxSlice(sb);
  return r.stdout
    .split('\n')
    .filter(Boolean)
    .map((line) => decodeEntry(JSON.parse(line) as Record<string, unknown>))
    .filter((e) => (e._SYSTEMD_CGROUP ?? '').split('/').includes(slice));
}

// This sandbox's lines, as `journalctl -o cat` prints them: each entry's MESSAGE and a newline.
export async function sandboxJournal(sb: Sandbox, ...args: string[]): Promise<string> {
  return catOf(await journalEntries(sb, args));
}

export const catOf = (entries: JournalEntry[]): string => entries.map((e) => `${e.MESSAGE ?? ''}\n`).join('');

// faass-test-PID.slice, the level systemd-user.sh puts every cgroup of the sandbox under.
export function sandboxSlice(sb: Sandbox): string {
  const slice = systemdCgroup(sb).split(path.sep).find((part) => /^faass-test-\d+\.slice$/.test(part));
  if (!slice) throw new Error(`no faass-test-PID.slice in the sandbox's cgroup ${systemdCgroup(sb)}`);
  return slice;
}

// journalctl -o json writes a field that is not valid UTF-8 text (or holds control characters,
// as a line with a tab or an escape does) as an array of its bytes, and a field an entry holds
// more than once as an array of its values.
function decodeEntry(raw: Record<string, unknown>): JournalEntry {
  const entry: JournalEntry = {};
  for (const [field, value] of Object.entries(raw)) entry[field] = decodeValue(value);
  return entry;
}

function decodeValue(value: unknown): string {
  if (typeof value === 'string') return value;
  if (Array.isArray(value) && value.every((b) => typeof b === 'number')) return Buffer.from(value as number[]).toString('utf8');
  if (Array.isArray(value)) return value.map(decodeValue).join('\n');
  return value === null || value === undefined ? '' : String(value);
}
