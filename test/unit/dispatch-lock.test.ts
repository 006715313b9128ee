// One dispatcher per state directory (src/queue/lock.ts): the lock is the kernel's, so it is
// never held by a process that is gone, however it ended.
import t from 'tap';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawn } from 'node:child_process';
import { takeDispatchLock, lockFile } from '../../src/queue/lock';

// Another process that takes the lock and keeps it until it is killed; resolves once it holds
// (refused: it exits, and this rejects).
function holder(root: string): Promise<{ pid: number; ended: Promise<void> }> {
  const code = `const held = require(${JSON.stringify(require.resolve('../../src/queue/lock'))}).takeDispatchLock(${JSON.stringify(root)}); console.log(held ? 'held' : 'busy'); if (held) setInterval(() => undefined, 1e6);`;
  const child = spawn(process.execPath, ['-e', code], { stdio: ['ignore', 'pipe', 'inherit'] });
  const ended = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  return new Promise((resolve, reject) => {
    child.stdout.once('data', (d: Buffer) => (String(d).startsWith('held') ? resolve({ pid: child.pid as number, ended }) : reject(new Error(`the holder says ${String(d)}`))));
  });
}

t.test('one dispatcher at a time; the lock goes with its process, even SIGKILLed', async (t) => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'faass-lock-'));
  t.teardown(() => fs.rmSync(root, { recursive: true, force: true }));
  const other = await holder(root);
  t.teardown(() => {
    try {
      process.kill(other.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  });
  t.equal(takeDispatchLock(root), false, 'another process holds it: this one does not deliver');
  t.equal(fs.statSync(lockFile(root)).mode & 0o777, 0o600, 'the lock file is private');
  process.kill(other.pid, 'SIGKILL');
  await other.ended;
  t.equal(takeDispatchLock(root), true, 'its holder SIGKILLed: the lock is free at once, no stale file to judge');
  t.equal(takeDispatchLock(root), false, 'and held now by this process (a second open file of it is refused too)');
  const blocked = await holder(root).then(() => 'held', (e: Error) => e.message);
  t.match(blocked, /busy/, 'a dispatcher started now (another process) is refused');
});
