// faassctl trigger's two sources of triggers: this host's files, or a gateway's management API
// (GET/POST /system/triggers[/NAME], DELETE /system/triggers/NAME/schedule|topic/ID: api/triggers.ts).
import { Paths } from '../core/paths';
import { validateName } from '../core/validate';
import { ScheduleInput } from '../functions/schedules';
import { ScheduleView } from '../functions/triggers';
import { allSubscriptions, loadTopics } from '../functions/topics';
import { Target, sendJson } from './client';

export interface TopicRow {
  function: string;
  kind: 'topic';
  topic: string;
}

export interface TriggerList {
  schedules: ScheduleView[];
  topics: { function: string; topic: string }[];
}

export async function localTriggers(p: Paths, name: string | undefined, schedulesOf: (p: Paths, name?: string) => Promise<ScheduleView[]>): Promise<TriggerList> {
  const schedules = await schedulesOf(p, name); // NAME exists (FAASS_E_FUNCTION_NOT_FOUND otherwise)
  const subs = name !== undefined ? new Map([[name, loadTopics(p, name)]]) : allSubscriptions(p);
  return { schedules, topics: [...subs].flatMap(([fn, ts]) => ts.map((topic) => ({ function: fn, topic }))) };
}

const triggersPath = (name?: string) => `/system/triggers${name !== undefined ? `/${encodeURIComponent(validateName(name))}` : ''}`;

export const remoteList = async (t: Target, name?: string): Promise<TriggerList> => (await sendJson(t, 'GET', triggersPath(name))) as TriggerList;

export type Added = (ScheduleView & { next?: string | null }) | { topic: string; added: boolean };

export const remoteAdd = async (t: Target, name: string, what: { topic: string } | { schedule: ScheduleInput; id?: string }): Promise<Added> => (await sendJson(t, 'POST', triggersPath(name), what)) as Added;

export async function remoteRm(t: Target, name: string, what: { id: string } | { topic: string }): Promise<number> {
  const [kind, which] = 'id' in what ? ['schedule', what.id] : ['topic', what.topic];
  await sendJson(t, 'DELETE', `${triggersPath(name)}/${kind}/${encodeURIComponent(which)}`);
  process.stdout.write(`${'id' in what ? `Removed schedule ${what.id} of ${name}` : `${name} no longer subscribes to topic ${what.topic}`} on ${t.label}\n`);
  return 0;
}
