// Adding, removing and listing a function's schedules (the model: schedules.ts): the one way
// faassctl trigger, faassctl deploy --schedule and the management API change them. An added
// schedule is judged by systemd-analyze before anything is written; the units follow the file
// (apply-units.ts enables a new timer, disables a removed one).
import * as fs from 'node:fs';
import { Paths, functionConfPath, scheduleStatePath, dropStateDir } from '../core/paths';
import { fail } from '../core/errors';
import { validateName } from '../core/validate';
import { listFunctionNames, loadFunctionConfig } from './function-config';
import { Schedule, ScheduleInput, allTriggerIds, buildSchedule, checkScheduleId, loadSchedules, loadTriggers, nextId, onCalendar, saveSchedules, saveFileDrops, saveNatsTriggers, saveTriggers, scheduleKind } from './schedules';
import { NatsInput, NatsTrigger, buildNatsTrigger, natsAuthLabel } from './nats-triggers';
import { NatsSecret, removeNatsSecret, writeNatsSecret } from './nats-auth';
import { FileDrop, FileDropInput, buildFileDrop, checkWatchable } from './file-drops';
import { allSubscriptions, loadTopics } from './topics';
import { ApplyReport, applyUnits } from './apply-units';
import { checkCalendar } from '../systemd/calendar';
import { scheduleUnitBase } from '../systemd/units';
import { refuseTriggerClash, withUnitNames } from './unit-names';
import { managerReachable, showUnit } from '../systemd/systemctl';

export interface ScheduleView {
  function: string;
  id: string;
  spec: string;
  kind: 'cron' | 'calendar';
  onCalendar: string[]; // what the timer gets: the translation, with the zone
  tz: string;
  overlap: string;
  catchUp: string;
  jitter: number;
  timer: string;
  next?: string; // from the timer itself, when a manager runs it
  last?: string;
}

export const viewOf = (name: string, s: Schedule): ScheduleView => ({
  function: name,
  id: s.id,
  spec: s.spec,
  kind: scheduleKind(s),
  onCalendar: onCalendar(s),
  tz: s.tz,
  overlap: s.overlap,
  catchUp: s.catchUp,
  jitter: s.jitter,
  timer: `${scheduleUnitBase(name, s.id)}.timer`,
});

// Judged before anything is written; returns the schedule and when it fires next.
export async function checkSchedule(id: string, input: ScheduleInput): Promise<{ schedule: Schedule; next: string | null }> {
  const schedule = buildSchedule(id, input);
  const { next } = await checkCalendar(onCalendar(schedule));
  return { schedule, next };
}

export async function addSchedule(p: Paths, name: string, input: ScheduleInput, id?: string): Promise<{ view: ScheduleView; next: string | null; report: ApplyReport }> {
  loadFunctionConfig(p, name); // it exists, and its file reads
  const schedules = loadSchedules(p, name);
  const chosen = freeId(p, name, id);
  const { schedule, next } = await checkSchedule(chosen, input);
  savingTrigger(p, name, chosen, () => saveSchedules(p, name, [...schedules, schedule]));
  const report = await applyUnits(p, { reload: true, only: [name] });
  return { view: viewOf(name, schedule), next, report };
}

// deploy --schedule SPEC: a schedule of that spec and zone is there afterwards; a redeploy
// with the same line adds nothing.
export async function ensureSchedule(p: Paths, name: string, input: ScheduleInput): Promise<{ view: ScheduleView; next: string | null; added: boolean; report?: ApplyReport }> {
  const wanted = buildSchedule('0', input);
  const have = loadSchedules(p, name).find((s) => s.spec === wanted.spec && s.tz === wanted.tz);
  if (have) return { view: viewOf(name, have), next: null, added: false };
  return { ...(await addSchedule(p, name, input)), added: true };
}

// A new trigger's save, its units' names checked again under their lock (a function named as they
// are may have been deployed since freeId).
function savingTrigger(p: Paths, name: string, id: string, save: () => void): void {
  withUnitNames(p, () => {
    refuseTriggerClash(p, name, id);
    save();
  });
}

// The id a new trigger gets: the one asked for, free among all kinds (they share unit names),
// or the next free number.
function freeId(p: Paths, name: string, id: string | undefined): string {
  const all = allTriggerIds(loadTriggers(p, name));
  const chosen = id === undefined ? nextId(all.map((x) => ({ id: x }))) : checkScheduleId(id);
  if (all.includes(chosen)) fail('FAASS_E_CONFIG_INVALID', `${name} has a trigger ${chosen} already: remove it first (faassctl trigger rm ${name} ${chosen}) or give another --id`);
  refuseTriggerClash(p, name, chosen);
  return chosen;
}

// A schedule, a file drop or a NATS bridge, whichever has the id; its units stop
// (apply-units.ts), its state in the queue goes. A drop's files in DIR/.faass/ stay: they are the
// user's; a bridge's durable consumer stays on the NATS server (its messages wait there).
export async function removeSchedule(p: Paths, name: string, id: string): Promise<ApplyReport> {
  loadFunctionConfig(p, name);
  checkScheduleId(id);
  const t = loadTriggers(p, name);
  const all = allTriggerIds(t);
  if (!all.includes(id)) fail('FAASS_E_SCHEDULE_NOT_FOUND', `${name} has no trigger ${id}${all.length ? ` (it has ${all.join(', ')})` : ''}`);
  const other = <T extends { id: string }>(xs: T[]) => xs.filter((x) => x.id !== id);
  saveTriggers(p, name, { schedules: other(t.schedules), drops: other(t.drops), nats: other(t.nats) });
  // A drop's inbox is in its function's unit (units.ts dropInboxes): a running runner takes the
  // unit as it was started with, so it is restarted (running calls finish first).
  const report = await applyUnits(p, { reload: true, restart: t.drops.some((d) => d.id === id) ? [name] : [], only: [name] });
  fs.rmSync(scheduleStatePath(p, name, id), { force: true }); // its history: a schedule added later under the id starts afresh
  fs.rmSync(dropStateDir(p, name, id), { recursive: true, force: true });
  removeNatsSecret(p, name, id); // after its bridge stopped (applyUnits): a NATS secret, if it had one
  return report;
}

export interface DropView {
  function: string;
  id: string;
  watch: string;
  pattern: string;
  inlineMax: number;
  keep: number;
  chainLimit: number;
  path: string; // its path unit
}

export const dropViewOf = (name: string, d: FileDrop): DropView => ({ function: name, id: d.id, watch: d.watch, pattern: d.pattern, inlineMax: d.inlineMax, keep: d.keep, chainLimit: d.chainLimit, path: `${scheduleUnitBase(name, d.id)}.path` });

// faass's own directories: its units write there, so none is watched (a function's unit may write
// its counters under the state directory: a drop on it could call itself without end).
const faassDirs = (p: Paths): string[] => [p.configDir, p.dataDir, p.stateDir, p.runtimeDir, p.unitDir];

// Units other than a drop's own have a private /tmp when faass does not live there itself
// (units.ts sandbox), and one directory can feed one drop only (each claims what it finds).
function refuseWatch(p: Paths, dir: string): void {
  checkWatchable(dir, faassDirs(p));
  const faassUnderTmp = /^\/(var\/)?tmp(\/|$)/.test(p.stateDir);
  if (!faassUnderTmp && /^\/(var\/)?tmp(\/|$)/.test(dir)) fail('FAASS_E_CONFIG_INVALID', `--watch ${dir}: faass's units have a /tmp and /var/tmp of their own; watch a directory elsewhere`);
  for (const other of listFunctionNames(p)) {
    const d = loadTriggers(p, other).drops.find((x) => x.watch === dir);
    if (d) fail('FAASS_E_CONFIG_INVALID', `--watch ${dir}: file drop ${d.id} of ${other} watches it already (each file goes to one call)`);
  }
}

export async function addFileDrop(p: Paths, name: string, input: FileDropInput, id?: string): Promise<{ view: DropView; report: ApplyReport }> {
  loadFunctionConfig(p, name);
  const chosen = freeId(p, name, id);
  const drop = buildFileDrop(chosen, input);
  refuseWatch(p, drop.watch);
  savingTrigger(p, name, chosen, () => saveFileDrops(p, name, [...loadTriggers(p, name).drops, drop]));
  const report = await applyUnits(p, { reload: true, restart: [name], only: [name] }); // its runner: as in removeSchedule
  return { view: dropViewOf(name, drop), report };
}

// deploy --watch DIR: a drop on DIR is there afterwards; a redeploy adds nothing.
export async function ensureFileDrop(p: Paths, name: string, input: FileDropInput): Promise<{ view: DropView; added: boolean; report?: ApplyReport }> {
  const wanted = buildFileDrop('0', input);
  const have = loadTriggers(p, name).drops.find((d) => d.watch === wanted.watch);
  if (have) return { view: dropViewOf(name, have), added: false };
  return { ...(await addFileDrop(p, name, input)), added: true };
}

export async function listFileDrops(p: Paths, name?: string): Promise<DropView[]> {
  if (name !== undefined) loadFunctionConfig(p, validateName(name));
  const names = name !== undefined ? [name] : listFunctionNames(p);
  return names.flatMap((n) => loadTriggers(p, n).drops.map((d) => dropViewOf(n, d)));
}

const shown = (v: string | undefined): string | undefined => (v === undefined || v === '' || v === 'n/a' || v === '0' ? undefined : v);

// Every schedule (of NAME, or of all functions), with next and last fire time as its timer
// has them (systemctl show NextElapseUSecRealtime, LastTriggerUSec).
export async function listSchedules(p: Paths, name?: string): Promise<ScheduleView[]> {
  if (name !== undefined) loadFunctionConfig(p, validateName(name));
  const names = name !== undefined ? [name] : listFunctionNames(p);
  const views = names.flatMap((n) => loadSchedules(p, n).map((s) => viewOf(n, s)));
  if (!views.length || !(await managerReachable())) return views;
  return Promise.all(
    views.map(async (v) => {
      const t = await showUnit(v.timer, ['NextElapseUSecRealtime', 'LastTriggerUSec']).catch(() => ({}) as Record<string, string>);
      return { ...v, next: shown(t.NextElapseUSecRealtime), last: shown(t.LastTriggerUSec) };
    }),
  );
}

export interface NatsView {
  function: string;
  id: string;
  nats: string;
  subject: string;
  durable: string;
  stream?: string;
  service: string; // its bridge unit
  auth?: string; // none, token, creds or user:NAME (natsAuthLabel), never the secret; an older gateway's answer has none
}

export const natsViewOf = (name: string, n: NatsTrigger): NatsView => ({ function: name, id: n.id, nats: n.url, subject: n.subject, durable: n.durable, ...(n.stream ? { stream: n.stream } : {}), service: `${scheduleUnitBase(name, n.id)}.service`, auth: natsAuthLabel(n) });

// A NATS bridge: its unit is written, enabled and started (apply-units.ts); whether the server
// and the stream are there is the bridge's to find out (its journal says, and it retries). Its
// secret (read and checked by the caller: nats-auth.ts readNatsAuth) is written first, so the
// bridge never starts without it; the trigger not saved, it goes again.
export async function addNatsTrigger(p: Paths, name: string, input: NatsInput, id?: string, secret?: NatsSecret): Promise<{ view: NatsView; report: ApplyReport }> {
  loadFunctionConfig(p, name);
  const chosen = freeId(p, name, id);
  const bridge = buildNatsTrigger(name, chosen, { ...input, ...(secret ? { auth: secret.auth, user: secret.user } : {}) });
  if (secret) writeNatsSecret(p, name, chosen, secret.secret);
  try {
    savingTrigger(p, name, chosen, () => saveNatsTriggers(p, name, [...loadTriggers(p, name).nats, bridge]));
  } catch (e) {
    if (secret) removeNatsSecret(p, name, chosen);
    throw e;
  }
  const report = await applyUnits(p, { reload: true, only: [name] });
  return { view: natsViewOf(name, bridge), report };
}

export async function listNatsTriggers(p: Paths, name?: string): Promise<NatsView[]> {
  if (name !== undefined) loadFunctionConfig(p, validateName(name));
  const names = name !== undefined ? [name] : listFunctionNames(p);
  return names.flatMap((n) => loadTriggers(p, n).nats.map((b) => natsViewOf(n, b)));
}

// Every trigger (of NAME, or of all functions), each kind in its list: what faassctl trigger ls
// prints and GET /system/triggers[/NAME] answers (the management API, api/triggers.ts).
export interface TriggerList {
  schedules: ScheduleView[];
  topics: { function: string; topic: string }[];
  drops: DropView[];
  nats: NatsView[];
}

export async function listAllTriggers(p: Paths, name?: string): Promise<TriggerList> {
  const schedules = await listSchedules(p, name); // NAME exists (FAASS_E_FUNCTION_NOT_FOUND otherwise)
  const subs = name !== undefined ? new Map([[name, loadTopics(p, name)]]) : allSubscriptions(p);
  const topics = [...subs].flatMap(([fn, ts]) => ts.map((topic) => ({ function: fn, topic })));
  return { schedules, topics, drops: await listFileDrops(p, name), nats: await listNatsTriggers(p, name) };
}
