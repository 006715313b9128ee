#!/usr/bin/env node
// faass-fn-NAME-at-ID.service: started by its timer, queues one asynchronous call for NAME
// (schedule-fire.ts) and exits. A fire skipped (overlap=skip) or repeated says so and exits 0;
// a call that could not be queued exits 1, and the unit tries again (Restart=on-failure).
import { resolvePaths } from '../core/paths';
import { validateName } from '../core/validate';
import { checkScheduleId } from '../functions/schedules';
import { logLine, logWithFields, errorMessage, exitAfterLog } from '../observe/log';
import { fire, firedAt } from './schedule-fire';
import { flushQueueCounters } from './counters';
import { scheduleUnitBase } from '../systemd/units';

function args(argv: string[]): { name: string; id: string } {
  const at = (flag: string) => argv[argv.indexOf(flag) + 1];
  return { name: validateName(at('--function')), id: checkScheduleId(at('--schedule')) };
}

async function main(): Promise<number> {
  const { name, id } = args(process.argv.slice(2));
  logWithFields({ SYSLOG_IDENTIFIER: scheduleUnitBase(name, id), FAASS_FUNCTION: name });
  const at = await firedAt(`${scheduleUnitBase(name, id)}.timer`);
  const when = new Date(at).toISOString();
  const r = await fire(resolvePaths(), name, id, at);
  if ('gone' in r) logLine('notice', `schedule=${id} function=${name} fire at ${when}: the schedule is gone, nothing queued`);
  else if ('skipped' in r) logLine('notice', `schedule=${id} function=${name} fire at ${when} skipped: ${r.skipped}`);
  else logLine('info', `schedule=${id} function=${name} fire at ${when}: ${r.repeat ? 'already queued as' : 'queued'} call=${r.queued}`, { FAASS_CALL_ID: r.queued });
  return 0;
}

// The fire's count is written before the exit (the store flushes only on a timer otherwise).
main().finally(flushQueueCounters).then(exitAfterLog, (e) => {
  logLine('err', `Schedule fire failed: ${errorMessage(e)}`);
  exitAfterLog(1);
});
