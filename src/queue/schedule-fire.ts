// One fire of a schedule (functions/schedules.ts): its timer started the schedule's service,
// which queues ONE asynchronous call through the spool, as /async-function/NAME does (durable
// before it counts, retried, dead letters), and exits. The call says where it came from
// (X-Faass-Trigger: schedule, X-Faass-Trigger-Id, X-Faass-Scheduled-Time). Its Idempotency-Key
// is the schedule and the fire's time: a repeat of one fire (the service restarted after a
// failure) never queues twice. With overlap=skip a fire is skipped while the schedule's previous
// call is still queued, running or retrying. Every fire (queued or skipped) is a journal line and
// a row of the schedule's history (queue/NAME/schedules/ID.json, the last HISTORY_MAX).
import * as fs from 'node:fs';
import { randomUUID } from 'node:crypto';
import { Paths, scheduleStatePath } from '../core/paths';
import { loadFunctionConfig } from '../functions/function-config';
import { Schedule, loadSchedules } from '../functions/schedules';
import { writeDurably } from './spool';
import { enqueueOnce } from './idempotency';
import { callStatus } from './status';
import { countFire } from './counters';
import { run } from '../systemd/systemctl';

export const HISTORY_MAX = 100;

export interface Fire {
  at: number; // when the timer elapsed (ms since the epoch)
  call?: string; // the call queued
  skipped?: string; // why it was not
}

export interface ScheduleState {
  last?: string; // the last call queued
  fires: Fire[]; // oldest first
}

const stateFile = scheduleStatePath;

export async function readScheduleState(p: Paths, name: string, id: string): Promise<ScheduleState> {
  try {
    const s = JSON.parse(await fs.promises.readFile(stateFile(p, name, id), 'utf8')) as ScheduleState;
    if (Array.isArray(s.fires)) return s;
  } catch {
    // none yet, or unreadable: a fresh history
  }
  return { fires: [] };
}

async function record(p: Paths, name: string, id: string, state: ScheduleState, fire: Fire): Promise<void> {
  const fires = [...state.fires, fire].slice(-HISTORY_MAX);
  const next: ScheduleState = { last: fire.call ?? state.last, fires };
  await writeDurably(stateFile(p, name, id), Buffer.from(JSON.stringify(next)));
}

export type FireResult = { queued: string; repeat: boolean } | { skipped: string } | { gone: true };

// at: the fire's time (firedAt).
export async function fire(p: Paths, name: string, id: string, at: number): Promise<FireResult> {
  const schedule = loadSchedules(p, name).find((s) => s.id === id);
  if (!schedule) return { gone: true };
  const cfg = loadFunctionConfig(p, name);
  const state = await readScheduleState(p, name, id);
  if (schedule.overlap === 'skip' && state.last !== undefined) {
    const prior = await callStatus(p, state.last, Date.now(), name);
    if (prior && (prior.state === 'queued' || prior.state === 'running' || prior.state === 'retrying')) {
      const why = `call ${prior.id} is still ${prior.state} (overlap=skip)`;
      await record(p, name, id, state, { at, skipped: why });
      countFire(p, name, 'skipped');
      return { skipped: why };
    }
  }
  const call = scheduledCall(name, schedule, at);
  const queued = await enqueueOnce(p, call, cfg.queueMax, `faass-schedule ${id} ${at}`);
  if (queued !== call.id) return { queued, repeat: true };
  await record(p, name, id, state, { at, call: queued });
  countFire(p, name, 'queued');
  return { queued, repeat: false };
}

function scheduledCall(name: string, s: Schedule, at: number) {
  const body = Buffer.from(s.body);
  const headers: Record<string, string> = {
    'x-faass-trigger': 'schedule',
    'x-faass-trigger-id': s.id,
    'x-faass-scheduled-time': new Date(at).toISOString(),
    'content-type': 'text/plain',
  };
  return { id: randomUUID(), name, method: 'POST', path: '/', headers, enqueuedAt: Date.now(), body };
}

// The fire's time: when the timer last elapsed, as the manager has it (LastTriggerUSec, to the
// microsecond), the same for every start of the service that fire caused (a restart after a
// failure), so the call's key repeats. Not $TRIGGER_TIMER_REALTIME_USEC: systemd 252 gives the
// service the timer's previous elapse there (seen here: every fire but the first named the one
// before). Under faassctl serve, which stands in for the manager, serve's timer hands it over as
// SERVE_FIRE_ENV (microseconds, as LastTriggerUSec), the same for each run of one fire. Unknown
// (started by hand with no fire yet, no manager): now.
export const SERVE_FIRE_ENV = 'FAASS_SERVE_TRIGGER_USEC';

export async function firedAt(timer: string, now = Date.now(), env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const served = env[SERVE_FIRE_ENV];
  if (served !== undefined && /^\d{1,17}$/.test(served)) return Math.floor(Number(served) / 1000);
  const r = await run('systemctl', ['--user', 'show', '--timestamp=us+utc', '--property=LastTriggerUSec', '--value', '--', timer], { timeoutMs: 20000 });
  return r.code === 0 ? parseUsTimestamp(r.stdout) ?? now : now;
}

// "Tue 2026-12-01 18:47:50.069123 UTC" (systemctl --timestamp=us+utc) as ms since the epoch.
export function parseUsTimestamp(text: string): number | null {
  const m = /^\w{3} (\d{4}-\d\d-\d\d) (\d\d:\d\d:\d\d)\.(\d{6}) UTC$/.exec(text.trim());
  return m ? Date.parse(`${m[1]}T${m[2]}.${m[3].slice(0, 3)}Z`) : null;
}


export interface HistoryRow {
  schedule: string;
  at: string; // when the timer elapsed
  call?: string;
  skipped?: string; // why no call was queued
  state?: string; // the call's: queued, running, retrying, done, dead; "forgotten" after 24 h
  status?: number; // done: the answer's
  attempts?: number;
  durationMs?: number; // its last attempt's
}

// The last `limit` fires of the schedules given, newest first, each with what became of its call
// (queue/status.ts: the call records, kept 24 h).
export async function scheduleHistory(p: Paths, name: string, ids: string[], limit = 20): Promise<HistoryRow[]> {
  const fires = (await Promise.all(ids.map(async (id) => (await readScheduleState(p, name, id)).fires.map((f) => ({ id, f }))))).flat();
  const newest = fires.sort((a, b) => b.f.at - a.f.at).slice(0, limit);
  return Promise.all(
    newest.map(async ({ id, f }): Promise<HistoryRow> => {
      const row: HistoryRow = { schedule: id, at: new Date(f.at).toISOString(), ...(f.call ? { call: f.call } : {}), ...(f.skipped ? { skipped: f.skipped } : {}) };
      if (!f.call) return row;
      const s = await callStatus(p, f.call, Date.now(), name);
      if (!s) return { ...row, state: 'forgotten' };
      const last = s.attempts[s.attempts.length - 1];
      return { ...row, state: s.state, ...(s.status !== undefined ? { status: s.status } : {}), attempts: s.attempts.length, ...(last?.endedAt !== undefined ? { durationMs: last.endedAt - last.startedAt } : {}) };
    }),
  );
}
