// One dispatcher per state directory. Two delivering one spool at once would both attempt the
// same calls (systemd starts one faass-dispatch, but `faassctl serve` runs one too, and anyone
// may start one by hand). The lock is flock(2) on queue/.dispatch.lock, held by the dispatcher's
// own open file: the kernel lets it go when the process ends however it ends (SIGKILL included),
// so there is no stale lock to judge and no PID to outlive its process. Node has no flock call;
// flock(1) (util-linux) takes the lock on the file it is handed as fd 3 and exits at once: the
// lock belongs to the open file, which this process keeps open until it exits.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { PRIVATE_DIR, PRIVATE_FILE } from '../core/private-files';

const BUSY = 75; // flock(1)'s exit status when another holds the lock (--conflict-exit-code)

export const lockFile = (queueRoot: string): string => path.join(queueRoot, '.dispatch.lock');

// true: this process delivers the spool until it exits; false: another dispatcher does. Throws
// when the lock cannot be taken at all (no flock(1), an unwritable queue): never delivers
// without it.
export function takeDispatchLock(queueRoot: string): boolean {
  fs.mkdirSync(queueRoot, { recursive: true, mode: PRIVATE_DIR });
  const fd = fs.openSync(lockFile(queueRoot), 'a', PRIVATE_FILE);
  const r = spawnSync('flock', ['--nonblock', '--conflict-exit-code', String(BUSY), '3'], { stdio: ['ignore', 'ignore', 'pipe', fd], encoding: 'utf8' });
  if (r.status === 0) return true; // fd stays open (never closed): the lock is held until exit
  fs.closeSync(fd);
  if (r.status === BUSY) return false;
  throw new Error(`cannot lock ${lockFile(queueRoot)} with flock(1): ${r.error?.message ?? (r.stderr.trim() || `exit ${r.status}`)}`);
}
