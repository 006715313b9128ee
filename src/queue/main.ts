#!/usr/bin/env node
// faass-dispatch: started by faass-dispatch.path when an asynchronous call waits (a doorbell in
// $XDG_STATE_HOME/faass/queue/.ready); delivers every queued call (dispatcher.ts) and exits when
// none is left, so nothing of faass runs while nothing is queued. SIGTERM: no new attempt
// starts, the ones under way end, then it exits; the calls left wait for the next start. One
// dispatcher per state directory (lock.ts): a second one exits 0 at once, with a log line.
import { resolvePaths } from '../core/paths';
import { log, logWithFields, errorMessage, exitAfterLog } from '../observe/log';
import { notify } from '../systemd/notify';
import { Dispatcher } from './dispatcher';
import { takeDispatchLock } from './lock';
import { queueRoot } from './spool';

async function main(): Promise<number> {
  logWithFields({ SYSLOG_IDENTIFIER: 'faass-dispatch' });
  const paths = resolvePaths();
  if (!takeDispatchLock(queueRoot(paths))) {
    // Ready first: a notify service that exits before it would count as failed.
    notify.ready();
    log.notice(`Another dispatcher delivers the calls queued in ${queueRoot(paths)}: exiting`);
    return 0;
  }
  const dispatcher = new Dispatcher(paths);
  const stop = () => {
    notify.stopping();
    log.notice('Stopping on SIGTERM once the attempts under way have ended');
    dispatcher.stop();
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  notify.ready();
  await dispatcher.run();
  return 0;
}

main().then(exitAfterLog, (e) => {
  log.err(`faass-dispatch failed: ${errorMessage(e)}`);
  exitAfterLog(1);
});
