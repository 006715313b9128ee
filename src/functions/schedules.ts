// A function's schedules (issue 14): the one place they are kept is a file beside the
// function's own, functions/NAME.schedules (an INI section per schedule), so a redeploy, which
// rewrites NAME.conf, keeps them, and a delete takes them with the function. Each becomes a
// timer and a oneshot service (systemd/units.ts) whose service queues one asynchronous call
// (queue/schedule-fire.ts). The key rules live here, as function-config.ts's do for NAME.conf.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as ini from 'ini';
import { fail, brokenFile } from '../core/errors';
import { Paths, functionsConfDir } from '../core/paths';
import { plainString, oneOf, timespan, validateName } from '../core/validate';
import { writeFileAtomic } from '../core/fs-atomic';
import { calendarOf, specKind, SpecKind } from './cron';
import { DROP_KEYS, FileDrop, FileDropInput, buildFileDrop, dropSection } from './file-drops';
import { NATS_KEYS, NatsInput, NatsTrigger, buildNatsTrigger, natsSection } from './nats-triggers';

export const OVERLAP = ['allow', 'skip'] as const;
export const CATCH_UP = ['once', 'none'] as const;
// A schedule's body is for a small payload (what the call is about), not for data.
export const MAX_BODY = 64 * 1024;
const ID_RE = /^[a-z0-9]{1,16}$/;
// A time zone as the tz database names them (Europe/Berlin, UTC, Etc/GMT+5): systemd-analyze
// judges whether it exists; this keeps anything else out of the unit file.
const TZ_RE = /^[A-Za-z0-9_+-]+(\/[A-Za-z0-9_+-]+)*$/;

export interface Schedule {
  readonly id: string;
  readonly spec: string; // as the user gave it: a calendar expression or a cron line
  readonly tz: string; // explicit, appended to every OnCalendar= line
  readonly body: string;
  readonly overlap: (typeof OVERLAP)[number];
  readonly catchUp: (typeof CATCH_UP)[number];
  readonly jitter: number; // seconds of RandomizedDelaySec=, 0: none
}

export interface ScheduleInput {
  spec?: unknown;
  tz?: unknown;
  body?: unknown;
  overlap?: unknown;
  catch_up?: unknown;
  jitter?: unknown;
}

const KEYS = ['spec', 'tz', 'body', 'body_base64', 'overlap', 'catch_up', 'jitter'];

export const schedulesPath = (p: Paths, name: string): string => path.join(functionsConfDir(p), `${name}.schedules`);

// The host's time zone, the default: written into the schedule, so it is explicit from then on.
export const hostTimeZone = (): string => Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';

export function checkScheduleId(id: unknown): string {
  if (typeof id !== 'string' || !ID_RE.test(id)) fail('FAASS_E_USAGE', `Invalid schedule id ${JSON.stringify(String(id).slice(0, 40))}: 1-16 lowercase letters and digits`);
  return id;
}

// The spec's own rules (systemd-analyze judges the rest): one line, nothing a unit file would
// read as a specifier or an escape.
function parseSpec(v: unknown): string {
  const s = plainString('schedule', v).trim();
  if (/[%\\"']/.test(s)) fail('FAASS_E_CONFIG_INVALID', `Invalid schedule ${JSON.stringify(s.slice(0, 80))}: % \\ and quotes are not part of a calendar expression or a cron line`);
  calendarOf(s); // a cron line that does not translate is refused here, with why
  return s;
}

export function buildSchedule(id: string, raw: ScheduleInput): Schedule {
  checkScheduleId(id);
  if (raw.spec === undefined) fail('FAASS_E_CONFIG_INVALID', `Schedule ${id}: spec is required`);
  const tz = raw.tz === undefined ? hostTimeZone() : plainString('tz', raw.tz).trim();
  if (!TZ_RE.test(tz)) fail('FAASS_E_CONFIG_INVALID', `Invalid time zone ${JSON.stringify(tz.slice(0, 80))}: expected a tz database name such as UTC or Europe/Berlin`);
  const body = raw.body === undefined ? '' : typeof raw.body === 'string' ? raw.body : fail('FAASS_E_CONFIG_INVALID', 'Invalid body: expected text');
  if (Buffer.byteLength(body) > MAX_BODY) fail('FAASS_E_CONFIG_INVALID', `Invalid body: at most ${MAX_BODY / 1024} KiB`);
  return Object.freeze({
    id,
    spec: parseSpec(raw.spec),
    tz,
    body,
    overlap: raw.overlap === undefined ? 'allow' : oneOf('overlap', raw.overlap, OVERLAP),
    catchUp: raw.catch_up === undefined ? 'once' : oneOf('catch_up', raw.catch_up, CATCH_UP),
    jitter: raw.jitter === undefined ? 0 : timespan('jitter', raw.jitter, 0, 86400),
  });
}

export const scheduleKind = (s: Schedule): SpecKind => specKind(s.spec);

// The OnCalendar= lines of a schedule, each with its time zone.
export const onCalendar = (s: Schedule): string[] => calendarOf(s.spec).map((c) => `${c} ${s.tz}`);

// The triggers file: a section per trigger, a schedule (spec=), a file drop (watch=) or a NATS
// bridge (nats=).
export interface Triggers {
  schedules: Schedule[];
  drops: FileDrop[];
  nats: NatsTrigger[];
}

const NO_TRIGGERS = (): Triggers => ({ schedules: [], drops: [], nats: [] });

// Every trigger of a file, whatever its kind: they share one id space (their units' names).
export const allTriggerIds = (t: Triggers): string[] => [...t.schedules, ...t.drops, ...t.nats].map((x) => x.id);

type Kind = 'schedule' | 'file drop' | 'NATS bridge';
const kindOf = (section: object): Kind => ('watch' in section ? 'file drop' : 'nats' in section ? 'NATS bridge' : 'schedule');
const KEYS_OF: Record<Kind, string[]> = { schedule: KEYS, 'file drop': DROP_KEYS, 'NATS bridge': NATS_KEYS };

const byId = <T extends { id: string }>(a: T, b: T) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

export function parseTriggers(name: string, text: string): Triggers {
  const doc = ini.parse(text) as Record<string, unknown>;
  const out = NO_TRIGGERS();
  for (const [id, section] of Object.entries(doc)) {
    if (typeof section !== 'object' || section === null) fail('FAASS_E_CONFIG_INVALID', `Unexpected key ${JSON.stringify(id)} outside a section in the triggers of ${name}`);
    const kind = kindOf(section);
    const known = KEYS_OF[kind];
    for (const k of Object.keys(section)) if (!known.includes(k)) fail('FAASS_E_CONFIG_INVALID', `Unknown key ${JSON.stringify(k)} in ${kind} ${id} of ${name}; known keys: ${known.join(', ')}`);
    checkScheduleId(id);
    if (kind === 'file drop') out.drops.push(buildFileDrop(id, section as FileDropInput));
    else if (kind === 'NATS bridge') out.nats.push(buildNatsTrigger(name, id, section as NatsInput));
    else out.schedules.push(buildSchedule(id, storedBody(name, id, section as Record<string, unknown>)));
  }
  return { schedules: out.schedules.sort(byId), drops: out.drops.sort(byId), nats: out.nats.sort(byId) };
}

export const parseSchedules = (name: string, text: string): Schedule[] => parseTriggers(name, text).schedules;

// A schedule's body is kept in base64 (body_base64): the ini package does not read back every
// string it writes (a backslash before ';' or '"' is lost), and a body is the user's bytes. A
// plain body key is still read, as a person may write one by hand.
function storedBody(name: string, id: string, section: Record<string, unknown>): ScheduleInput {
  const { body_base64: b64, ...rest } = section;
  if (b64 === undefined) return rest as ScheduleInput;
  if (rest.body !== undefined) fail('FAASS_E_CONFIG_INVALID', `Schedule ${id} of ${name} has both body and body_base64`);
  if (typeof b64 !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(b64) || b64.length % 4 !== 0) fail('FAASS_E_CONFIG_INVALID', `Invalid body_base64 in schedule ${id} of ${name}: expected base64`);
  return { ...rest, body: Buffer.from(b64, 'base64').toString('utf8') } as ScheduleInput;
}

export function renderTriggers(name: string, t: Triggers): string {
  const doc: Record<string, Record<string, string | number>> = {};
  for (const s of t.schedules) {
    doc[s.id] = { spec: s.spec, tz: s.tz, overlap: s.overlap, catch_up: s.catchUp, ...(s.jitter ? { jitter: s.jitter } : {}), ...(s.body ? { body_base64: Buffer.from(s.body, 'utf8').toString('base64') } : {}) };
  }
  for (const d of t.drops) doc[d.id] = dropSection(d);
  for (const n of t.nats) doc[n.id] = natsSection(n);
  return `# faass triggers of function ${name} (faassctl(1) trigger); written by faassctl and the management API\n${ini.stringify(doc)}`;
}

export const renderSchedules = (name: string, schedules: readonly Schedule[]): string => renderTriggers(name, { ...NO_TRIGGERS(), schedules: [...schedules] });

// NAME's triggers; none when it has no file. A file that does not parse is broken (503 and the
// reason where it matters, as a function's own file).
export function loadTriggers(p: Paths, name: string): Triggers {
  validateName(name);
  const file = schedulesPath(p, name);
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return NO_TRIGGERS();
    throw brokenFile(file, e);
  }
  try {
    return parseTriggers(name, text);
  } catch (e) {
    throw brokenFile(file, e);
  }
}

export const loadSchedules = (p: Paths, name: string): Schedule[] => loadTriggers(p, name).schedules;
export const loadFileDrops = (p: Paths, name: string): FileDrop[] => loadTriggers(p, name).drops;

export function saveTriggers(p: Paths, name: string, t: Triggers): void {
  const file = schedulesPath(p, name);
  if (allTriggerIds(t).length === 0) fs.rmSync(file, { force: true });
  else writeFileAtomic(file, renderTriggers(name, t));
}

// The schedules replaced, the file drops kept (and the other way round).
export const saveSchedules = (p: Paths, name: string, schedules: readonly Schedule[]): void => saveTriggers(p, name, { ...loadTriggers(p, name), schedules: [...schedules] });
export const saveFileDrops = (p: Paths, name: string, drops: readonly FileDrop[]): void => saveTriggers(p, name, { ...loadTriggers(p, name), drops: [...drops] });
export const saveNatsTriggers = (p: Paths, name: string, nats: readonly NatsTrigger[]): void => saveTriggers(p, name, { ...loadTriggers(p, name), nats: [...nats] });

// The next free id: the smallest number not taken.
export function nextId(taken: readonly { id: string }[]): string {
  for (let n = 1; ; n++) if (!taken.some((s) => s.id === String(n))) return String(n);
}

