// The management API's trigger routes (faass-gateway(8), faassctl trigger --gateway), through the
// same code as faassctl trigger on the gateway's host (functions/triggers.ts, functions/topics.ts):
//   GET    /system/triggers[/NAME]             {schedules: [...], topics: [{function, topic}], drops: [...], nats: [...]}
//   POST   /system/triggers/NAME               {"schedule": {spec, tz, body, overlap, catch_up, jitter}, "id"?}
//                                              or {"topic": T}: 201 (200: subscribed already)
//   DELETE /system/triggers/NAME/schedule/ID   DELETE /system/triggers/NAME/topic/T
// File drops and NATS bridges are listed, not added: a drop watches a directory of the gateway's
// host and a bridge reaches a server from it, so they are added there (faassctl trigger add);
// removing one by its id works (DELETE .../schedule/ID removes a trigger of any kind).
// A bad spec is 400 with its code (FAASS_E_SCHEDULE_INVALID with systemd's reason,
// FAASS_E_TOPIC_INVALID, FAASS_E_CONFIG_INVALID), nothing written.
import { Paths } from '../core/paths';
import { FaassError } from '../core/errors';
import { validateName } from '../core/validate';
import { ScheduleInput } from '../functions/schedules';
import { addSchedule, listAllTriggers, removeSchedule } from '../functions/triggers';
import { subscribe, unsubscribe } from '../functions/topics';
import { loadFunctionConfig } from '../functions/function-config';
import { log } from '../observe/log';

export interface ApiAnswer {
  status: number;
  body: unknown;
}

const SCHEDULE_KEYS = ['spec', 'tz', 'body', 'overlap', 'catch_up', 'jitter'];
// The kinds added on the gateway's host only (faassctl trigger add --watch, --nats).
const LOCAL_ONLY = ['watch', 'nats'];

export async function listTriggers(p: Paths, name?: string): Promise<ApiAnswer> {
  return { status: 200, body: await listAllTriggers(p, name) };
}

// The body of POST /system/triggers/NAME: one trigger, a schedule or a topic.
export function parseTriggerBody(body: unknown): { schedule: ScheduleInput; id?: string } | { topic: unknown } {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new FaassError('FAASS_E_CONFIG_INVALID', 'Expected a JSON object: {"schedule": {"spec": ...}} or {"topic": T}');
  const b = body as Record<string, unknown>;
  const local = Object.keys(b).find((k) => LOCAL_ONLY.includes(k));
  if (local) throw new FaassError('FAASS_E_CONFIG_INVALID', `A ${local === 'watch' ? 'file drop' : 'NATS bridge'} is not added through the API: run faassctl trigger add NAME --${local} ... on the gateway's host (the API lists them; it adds schedules and topics)`);
  const unknown = Object.keys(b).filter((k) => !['schedule', 'id', 'topic'].includes(k));
  if (unknown.length) throw new FaassError('FAASS_E_CONFIG_INVALID', `Unknown field ${JSON.stringify(unknown[0].slice(0, 40))}; known fields: schedule, id, topic`);
  if ((b.schedule === undefined) === (b.topic === undefined)) throw new FaassError('FAASS_E_CONFIG_INVALID', 'Give one trigger: "schedule" or "topic"');
  if (b.topic !== undefined) {
    if (b.id !== undefined) throw new FaassError('FAASS_E_CONFIG_INVALID', 'A topic has no id: the topic names it');
    return { topic: b.topic };
  }
  const s = b.schedule;
  if (typeof s !== 'object' || s === null || Array.isArray(s)) throw new FaassError('FAASS_E_CONFIG_INVALID', 'Invalid schedule: expected an object {"spec": ..., "tz": ..., ...}');
  for (const k of Object.keys(s)) if (!SCHEDULE_KEYS.includes(k)) throw new FaassError('FAASS_E_CONFIG_INVALID', `Unknown schedule field ${JSON.stringify(k.slice(0, 40))}; known fields: ${SCHEDULE_KEYS.join(', ')}`);
  if (b.id !== undefined && typeof b.id !== 'string') throw new FaassError('FAASS_E_USAGE', 'Invalid id: expected a string');
  return { schedule: s as ScheduleInput, ...(b.id !== undefined ? { id: b.id as string } : {}) };
}

// serialized: the API's one-at-a-time lane for changes to the unit set (handlers.ts).
export async function addTrigger(p: Paths, name: string, body: unknown, serialized: <T>(f: () => Promise<T>) => Promise<T>): Promise<ApiAnswer> {
  validateName(name);
  const t = parseTriggerBody(body);
  if ('topic' in t) {
    const r = await serialized(async () => subscribe(p, name, t.topic));
    if (r.added) log.info(`API: ${name} subscribes to topic ${r.topic}`);
    return { status: r.added ? 201 : 200, body: { function: name, topic: r.topic, added: r.added } };
  }
  const { view, next, report } = await serialized(() => addSchedule(p, name, t.schedule, t.id));
  log.info(`API: schedule ${view.id} of ${name} added (${view.spec}, ${view.tz})`);
  return { status: 201, body: { ...view, next, systemd: report.systemd } };
}

export async function removeTrigger(p: Paths, name: string, kind: string, which: string, serialized: <T>(f: () => Promise<T>) => Promise<T>): Promise<ApiAnswer> {
  validateName(name);
  if (kind === 'topic') {
    await serialized(async () => unsubscribe(p, name, which));
    log.info(`API: ${name} no longer subscribes to topic ${which}`);
    return { status: 200, body: { function: name, topic: which, removed: true } };
  }
  if (kind !== 'schedule') throw new FaassError('FAASS_E_ROUTE_MISSING', `No API route for a trigger of kind ${JSON.stringify(kind.slice(0, 40))}: schedule or topic`);
  loadFunctionConfig(p, name);
  const report = await serialized(() => removeSchedule(p, name, which));
  log.info(`API: schedule ${which} of ${name} removed`);
  return { status: 200, body: { function: name, schedule: which, removed: true, systemd: report.systemd } };
}
