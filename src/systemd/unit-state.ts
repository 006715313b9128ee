// What systemd says of units: `systemctl show`'s blocks read (faassctl status, top,
// generate-units, the API's /system/stats), and a function's state from its units' states.
import { functionUnitBase } from './units';
import { run } from './systemctl';

// systemctl show's blocks ("Id=...\nActiveState=...\n\n...") by unit: every property given.
export function parseShow(text: string): Map<string, Record<string, string>> {
  const out = new Map<string, Record<string, string>>();
  for (const block of text.split(/\n\s*\n/)) {
    const f = Object.fromEntries(block.split('\n').filter((l) => l.includes('=')).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
    if (f.Id) out.set(f.Id, f);
  }
  return out;
}

export const FUNCTION_STATES = ['idle', 'running', 'failed', 'starting', 'stopping', 'unknown'] as const;
export type FunctionState = (typeof FUNCTION_STATES)[number];

// A function's units: its socket, and the services behind it (a function's runner; a service's
// proxy and app). kind null: a function whose file does not parse (its app asked for too).
export function functionUnits(name: string, kind: string | null): { socket: string; services: string[] } {
  const base = functionUnitBase(name);
  return { socket: `${base}.socket`, services: [`${base}.service`, ...(kind === 'function' ? [] : [`${base}-app.service`])] };
}

// From its units' states (parseShow): failed when its socket or a service failed; running while a
// service runs; starting or stopping while one does; idle when its socket listens and nothing
// runs; unknown otherwise (a unit not loaded, a socket stopped by hand).
export function functionState(units: Map<string, Record<string, string>>, name: string, kind: string | null): FunctionState {
  const { socket, services } = functionUnits(name, kind);
  const state = (u: string) => units.get(u)?.ActiveState;
  const own = services.filter((u) => units.has(u) && units.get(u)?.LoadState !== 'not-found');
  if (state(socket) === 'failed' || own.some((u) => state(u) === 'failed')) return 'failed';
  if (own.some((u) => state(u) === 'active' || state(u) === 'reloading')) return 'running';
  if (own.some((u) => state(u) === 'activating')) return 'starting';
  if (own.some((u) => state(u) === 'deactivating')) return 'stopping';
  if (state(socket) === 'active' && units.get(socket)?.LoadState !== 'not-found' && own.length > 0) return 'idle';
  return 'unknown';
}

// list-units' lines (--plain --no-legend --full: "UNIT LOAD ACTIVE SUB DESCRIPTION") as parseShow's
// records: Id, LoadState, ActiveState, SubState.
export function parseListUnits(text: string): Map<string, Record<string, string>> {
  const out = new Map<string, Record<string, string>>();
  for (const line of text.split('\n')) {
    const [Id, LoadState, ActiveState, SubState] = line.replace(/^\s*●?\s*/, '').split(/\s+/);
    if (Id && SubState !== undefined) out.set(Id, { Id, LoadState, ActiveState, SubState });
  }
  return out;
}

// The states of `units` (Id, LoadState, ActiveState, SubState; in the order asked), from one
// list-units call for every faass unit the manager holds: `systemctl show` fetches every property
// of each unit in a round trip of its own, which took 1.3 s for 200 functions. A unit the manager
// does not hold is asked for by name, as before (show loads it from disk to say, or says
// not-found), except those of `ifLoaded`, which matter only while held (a revive instance while
// it runs or failed): not held, they are inactive. error: the manager did not answer (its stderr).
export async function unitStates(units: string[], ifLoaded: ReadonlySet<string>): Promise<{ units: Map<string, Record<string, string>> } | { error: string }> {
  const listed = await run('systemctl', ['--user', 'list-units', '--all', '--plain', '--no-legend', '--full', '--no-pager', '--', 'faass-*']);
  if (listed.code !== 0) return { error: listed.stderr };
  const held = parseListUnits(listed.stdout);
  const rest = units.filter((u) => !held.has(u) && !ifLoaded.has(u));
  const shown = rest.length ? await run('systemctl', ['--user', 'show', '--property=Id,ActiveState,SubState,LoadState', '--', ...rest]) : null;
  if (shown && shown.code !== 0) return { error: shown.stderr };
  const asked = shown ? parseShow(shown.stdout) : new Map<string, Record<string, string>>();
  const out = new Map<string, Record<string, string>>();
  for (const u of units) {
    const s = held.get(u) ?? asked.get(u) ?? (ifLoaded.has(u) ? { Id: u, LoadState: 'loaded', ActiveState: 'inactive', SubState: 'dead' } : undefined);
    if (s) out.set(u, s);
  }
  return { units: out };
}

