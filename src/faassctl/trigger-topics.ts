// faassctl trigger's two sources of triggers: this host's files (functions/triggers.ts
// listAllTriggers), or a gateway's management API (GET/POST /system/triggers[/NAME],
// DELETE /system/triggers/NAME/schedule|topic/ID: api/triggers.ts).
import { validateName } from '../core/validate';
import { ScheduleInput } from '../functions/schedules';
import { ScheduleView, TriggerList } from '../functions/triggers';
import { Target, sendJson } from './client';

export interface TopicRow {
  function: string;
  kind: 'topic';
  topic: string;
}

// A gateway before file drops and NATS bridges were in the API answers without them: none.
export type RemoteTriggerList = Omit<TriggerList, 'drops' | 'nats'> & Partial<Pick<TriggerList, 'drops' | 'nats'>>;
export const withAllKinds = (l: RemoteTriggerList): TriggerList => ({ ...l, drops: l.drops ?? [], nats: l.nats ?? [] });

const triggersPath = (name?: string) => `/system/triggers${name !== undefined ? `/${encodeURIComponent(validateName(name))}` : ''}`;

export const remoteList = async (t: Target, name?: string): Promise<TriggerList> => withAllKinds((await sendJson(t, 'GET', triggersPath(name))) as RemoteTriggerList);

export type Added = (ScheduleView & { next?: string | null }) | { topic: string; added: boolean };

export const remoteAdd = async (t: Target, name: string, what: { topic: string } | { schedule: ScheduleInput; id?: string }): Promise<Added> => (await sendJson(t, 'POST', triggersPath(name), what)) as Added;

export async function remoteRm(t: Target, name: string, what: { id: string } | { topic: string }): Promise<number> {
  const [kind, which] = 'id' in what ? ['schedule', what.id] : ['topic', what.topic];
  await sendJson(t, 'DELETE', `${triggersPath(name)}/${kind}/${encodeURIComponent(which)}`);
  process.stdout.write(`${'id' in what ? `Removed schedule ${what.id} of ${name}` : `${name} no longer subscribes to topic ${what.topic}`} on ${t.label}\n`);
  return 0;
}
