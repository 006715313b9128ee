// Adding, removing and listing a function's schedules (the model: schedules.ts): the one way
// faassctl trigger, faassctl deploy --schedule and the management API change them. An added
// schedule is judged by systemd-analyze before anything is written; the units follow the file
// (apply-units.ts enables a new timer, disables a removed one).
import * as fs from 'node:fs';
import { Paths, functionConfPath, scheduleStatePath } from '../core/paths';
import { fail } from '../core/errors';
import { validateName } from '../core/validate';
import { listFunctionNames, loadFunctionConfig } from './function-config';
import { Schedule, ScheduleInput, buildSchedule, checkScheduleId, loadSchedules, nextId, onCalendar, saveSchedules, scheduleKind } from './schedules';
import { ApplyReport, applyUnits } from './apply-units';
import { checkCalendar } from '../systemd/calendar';
import { scheduleUnitBase } from '../systemd/units';
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

// A schedule's units are named faass-fn-NAME-at-ID: a function named so would share them.
function refuseClash(p: Paths, name: string, id: string): void {
  const other = `${name}-at-${id}`;
  if (fs.existsSync(functionConfPath(p, other))) fail('FAASS_E_CONFIG_INVALID', `Schedule ${id} of ${name} would have the units of function ${other} (${scheduleUnitBase(name, id)}.service): give another --id`);
}

// Deploying NAME: refused when NAME is X-at-Y and X has a schedule Y (the same units).
export function refuseScheduleClash(p: Paths, name: string): void {
  const m = /^(.+)-at-([a-z0-9]{1,16})$/.exec(name);
  if (!m || !fs.existsSync(functionConfPath(p, m[1]))) return;
  if (loadSchedules(p, m[1]).some((s) => s.id === m[2])) fail('FAASS_E_NAME_INVALID', `Function name ${name} is taken by the units of schedule ${m[2]} of ${m[1]} (${scheduleUnitBase(m[1], m[2])}.service): choose another name`);
}

// Judged before anything is written; returns the schedule and when it fires next.
export async function checkSchedule(id: string, input: ScheduleInput): Promise<{ schedule: Schedule; next: string | null }> {
  const schedule = buildSchedule(id, input);
  const { next } = await checkCalendar(onCalendar(schedule));
  return { schedule, next };
}

export async function addSchedule(p: Paths, name: string, input: ScheduleInput, id?: string): Promise<{ view: ScheduleView; next: string | null; report: ApplyReport }> {
  loadFunctionConfig(p, name); // it exists, and its file reads
  const schedules = loadSchedules(p, name);
  const chosen = id === undefined ? nextId(schedules) : checkScheduleId(id);
  if (schedules.some((s) => s.id === chosen)) fail('FAASS_E_CONFIG_INVALID', `${name} has a schedule ${chosen} already: remove it first (faassctl trigger rm ${name} ${chosen}) or give another --id`);
  refuseClash(p, name, chosen);
  const { schedule, next } = await checkSchedule(chosen, input);
  saveSchedules(p, name, [...schedules, schedule]);
  const report = await applyUnits(p, { reload: true });
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

export async function removeSchedule(p: Paths, name: string, id: string): Promise<ApplyReport> {
  loadFunctionConfig(p, name);
  checkScheduleId(id);
  const schedules = loadSchedules(p, name);
  if (!schedules.some((s) => s.id === id)) fail('FAASS_E_SCHEDULE_NOT_FOUND', `${name} has no schedule ${id}${schedules.length ? ` (it has ${schedules.map((s) => s.id).join(', ')})` : ''}`);
  saveSchedules(p, name, schedules.filter((s) => s.id !== id));
  const report = await applyUnits(p, { reload: true });
  fs.rmSync(scheduleStatePath(p, name, id), { force: true }); // its history: a schedule added later under the id starts afresh
  return report;
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
