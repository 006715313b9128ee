#!/usr/bin/env node
// faass-fn-NAME-at-ID.service of a file drop: started by its path unit while a file waits in the
// watched directory (or a settled call's file waits to move on); claims, queues, moves
// (drop-fire.ts) and exits. A run that fails exits 1, and the unit tries again
// (Restart=on-failure): every step can be repeated.
import { resolvePaths } from '../core/paths';
import { validateName } from '../core/validate';
import { checkScheduleId } from '../functions/schedules';
import { logLine, logWithFields, errorMessage, exitAfterLog } from '../observe/log';
import { runDrop } from './drop-fire';
import { flushQueueCounters } from './counters';
import { scheduleUnitBase } from '../systemd/units';

async function main(): Promise<number> {
  const argv = process.argv.slice(2);
  const at = (flag: string) => argv[argv.indexOf(flag) + 1];
  const name = validateName(at('--function'));
  const id = checkScheduleId(at('--trigger'));
  logWithFields({ SYSLOG_IDENTIFIER: scheduleUnitBase(name, id), FAASS_FUNCTION: name });
  const r = await runDrop(resolvePaths(), name, id);
  if (!r) logLine('notice', `drop=${id} function=${name}: the file drop is gone, nothing claimed`);
  else if (r.claimed + r.requeued + r.settled + r.refused + r.stopped + r.forgotten > 0) logLine('info', `drop=${id} function=${name}: ${r.claimed} claimed, ${r.requeued} queued again, ${r.settled} moved to done/ or failed/, ${r.refused} refused, ${r.stopped} stopped, ${r.forgotten} forgotten`);
  return 0;
}

// The run's counts are written before the exit (the store flushes only on a timer otherwise).
main().finally(flushQueueCounters).then(exitAfterLog, (e) => {
  logLine('err', `File drop run failed: ${errorMessage(e)}`);
  exitAfterLog(1);
});
