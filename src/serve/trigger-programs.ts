// What each trigger's unit runs (systemd/units.ts renderScheduleService, renderDropService,
// renderNatsService: their ExecStart=), for serve to run the same: a script of dist/ and its
// arguments. A unit test renders the units and compares, so the two cannot drift apart.
import * as path from 'node:path';
import { Schedule } from '../functions/schedules';
import { FileDrop } from '../functions/file-drops';
import { NatsTrigger, natsBridgeArgs } from '../functions/nats-triggers';
import { natsSecretFile } from '../core/paths';

export interface TriggerProgram {
  script: string; // absolute
  args: string[];
}

export const scheduleProgram = (dist: string, fn: string, s: Schedule): TriggerProgram => ({
  script: path.join(dist, 'queue/schedule-main.js'),
  args: ['--function', fn, '--schedule', s.id],
});

export const dropProgram = (dist: string, fn: string, d: FileDrop): TriggerProgram => ({
  script: path.join(dist, 'queue/drop-main.js'),
  args: ['--function', fn, '--trigger', d.id],
});

export const natsProgram = (dist: string, configDir: string, fn: string, n: NatsTrigger, queueMax: number): TriggerProgram => ({
  script: path.join(dist, 'queue/nats-main.js'),
  args: natsBridgeArgs(fn, n, queueMax, n.auth ? natsSecretFile(configDir, fn, n.id) : undefined),
});
