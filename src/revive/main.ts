#!/usr/bin/env node
// faass-revive SOCKET: started by systemd as faass-revive@SOCKET.service when one of faass's
// sockets fails (OnFailure= of every socket unit, systemd/units.ts). systemd never restarts a
// failed socket on its own: a service that fails at every start (its code gone, a node handler
// that cannot load) reaches its start limit under load, systemd fails the socket with it
// (service-start-limit-hit, or trigger-limit-hit), and every later connection is refused until
// someone runs reset-failed. This waits (backoff.ts), then resets the failed state of the socket,
// of the service it triggers and of what that service is bound to (a service's app), and starts
// the socket again; until the socket is active, or is no longer failed (someone else started,
// stopped or deleted it). It loops itself rather than relying on the next OnFailure=: a failure
// while this unit runs only merges into its running start job.
import { resolvePaths, reviveRecordPath } from '../core/paths';
import { readIfExists, writeFileAtomic } from '../core/fs-atomic';
import { FaassError } from '../core/errors';
import { showUnit, systemctl } from '../systemd/systemctl';
import { log, logWithFields, errorMessage, exitAfterLog } from '../observe/log';
import { isFaassSocket, nextRevive, parseRecord } from './backoff';

const USAGE = 'Usage: faass-revive SOCKET (faass-NAME.socket); started by faass-revive@.service, see faass-gateway(8)';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// Still ours to revive: loaded and failed. Anything else was decided by someone else.
async function failedState(socket: string): Promise<{ result: string; triggers: string[] } | null> {
  const u = await showUnit(socket, ['LoadState', 'ActiveState', 'Result', 'Triggers']);
  if (u.LoadState !== 'loaded' || u.ActiveState !== 'failed') {
    log.info(`${socket} is ${u.LoadState === 'loaded' ? u.ActiveState : u.LoadState}: nothing to revive`);
    return null;
  }
  return { result: u.Result, triggers: (u.Triggers ?? '').split(' ').filter(Boolean) };
}

// A start limit is held by the service (and a service's app) as much as by the socket.
async function unitsToReset(socket: string, triggers: string[]): Promise<string[]> {
  const bound: string[] = [];
  for (const service of triggers) bound.push(...((await showUnit(service, ['BindsTo'])).BindsTo ?? '').split(' ').filter((u) => u.startsWith('faass-')));
  return [socket, ...triggers, ...bound];
}

function recordRevive(socket: string, streak: number): void {
  try {
    writeFileAtomic(reviveRecordPath(resolvePaths(), socket), JSON.stringify({ streak, at: Date.now() }) + '\n');
  } catch (e) {
    log.warning(`Failed to record the revive of ${socket}: ${errorMessage(e)}; the next wait will be the first one`);
  }
}

async function main(): Promise<number> {
  const socket = process.argv[2];
  if (process.argv.length !== 3 || !isFaassSocket(socket)) throw new FaassError('FAASS_E_USAGE', USAGE);
  logWithFields({ SYSLOG_IDENTIFIER: 'faass-revive', FAASS_UNIT: socket });
  for (;;) {
    const { waitSeconds, streak } = nextRevive(parseRecord(readIfExists(reviveRecordPath(resolvePaths(), socket))), Date.now());
    const before = await failedState(socket);
    if (!before) return 0;
    log.notice(`${socket} failed (${before.result}): starting it again in ${waitSeconds}s`);
    await sleep(waitSeconds * 1000);
    const now = await failedState(socket);
    if (!now) return 0;
    await systemctl('reset-failed', ...(await unitsToReset(socket, now.triggers)));
    recordRevive(socket, streak);
    try {
      await systemctl('start', socket);
      log.notice(`Revived ${socket} (it had failed: ${now.result}; revive ${streak} in a row)`);
      return 0;
    } catch (e) {
      log.err(`Failed to start ${socket} again: ${errorMessage(e)}`); // failed again: the loop waits longer
    }
  }
}

main().then(
  (code) => exitAfterLog(code),
  (e) => {
    log.err(`faass-revive: ${errorMessage(e)}`);
    exitAfterLog(e instanceof FaassError ? e.exitCode : 1);
  },
);
