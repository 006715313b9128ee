// Whether the user manager must re-read its units after faass wrote some (a daemon-reload
// re-reads every unit it has: its cost grows with the number of functions, 1,000 functions are
// 2,000 units and more). A unit the manager never loaded is read from disk when it is first
// referenced (systemd notices its directory changed and looks again), so a deploy of a new
// function needs none; a unit it holds an older text of does (systemd says NeedDaemonReload=yes),
// and so does a removed one (it would stay loaded as it was).
import { UnitChanges } from './unit-files';
import { parseShow } from './unit-state';
import { run } from './systemctl';

// A template (faass-revive@.service) cannot be asked about: written, it reloads (below); unchanged,
// its instances are short-lived and their units are read again at each start.
const isTemplate = (unit: string) => unit.includes('@.');

// Asks the manager once, for every unit rendered: each must be loaded from its file as it is now
// with nothing pending. The unchanged ones too: a manager can hold an older text of a file that
// did not change in this run (an earlier command wrote it and was killed before its reload, or
// found no manager): without the check such a unit would stay stale for good. Anything else
// (removed units, a unit not found or not loaded, an older text loaded, systemctl failing)
// reloads: when in doubt, systemd re-reads everything.
export async function reloadNeeded(changes: UnitChanges): Promise<boolean> {
  if (changes.removed.length) return true;
  if (changes.written.some(isTemplate)) return true;
  const ask = [...changes.written, ...changes.unchanged.filter((u) => !isTemplate(u))];
  if (!ask.length) return false;
  const r = await run('systemctl', ['--user', 'show', '--property=Id,LoadState,NeedDaemonReload', '--', ...ask]);
  if (r.code !== 0) return true;
  const units = parseShow(r.stdout);
  return ask.some((u) => {
    const s = units.get(u);
    return s === undefined || s.LoadState !== 'loaded' || s.NeedDaemonReload !== 'no';
  });
}
