// A lock held across awaits, by one process and one caller at a time; a holder that is gone
// does not hold it.
import t from 'tap';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawn } from 'node:child_process';
import { withProcessLock } from '../../src/core/process-lock';

const tempDir = (t: { teardown(f: () => void): void }) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'faass-lock-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
};
const tick = () => new Promise((r) => setTimeout(r, 5));

t.test('callers of one process take it in turn, across their awaits', async (t) => {
  const lock = path.join(tempDir(t), 'units.lock');
  const log: string[] = [];
  const work = (n: string) => withProcessLock(lock, 'test', async () => {
    log.push(`${n}+`);
    await tick();
    await tick();
    log.push(`${n}-`);
    return n;
  });
  t.same(await Promise.all([work('a'), work('b'), work('c')]), ['a', 'b', 'c']);
  t.same(log, ['a+', 'a-', 'b+', 'b-', 'c+', 'c-'], 'none began before the one before it ended');
  t.notOk(fs.existsSync(lock), 'and the lock is gone after');
  await t.rejects(withProcessLock(lock, 'test', async () => {
    throw new Error('boom');
  }), /boom/);
  t.notOk(fs.existsSync(lock), 'a failure lets it go too');
});

t.test('another process waits for it; a holder that is gone does not hold it', async (t) => {
  const dir = tempDir(t);
  const lock = path.join(dir, 'units.lock');
  fs.writeFileSync(lock, `${2 ** 22 + 1} 12345\n`); // beyond pid_max: no such process
  t.equal(await withProcessLock(lock, 'test', async () => 'taken'), 'taken', "a gone holder's lock is taken over");
  t.same(fs.readdirSync(dir), [], 'and nothing of it is left');

  // A child process holds it until told to let go (a file appears).
  const go = path.join(dir, 'go');
  const child = spawn(process.execPath, ['-e', `
    const fs = require('fs');
    const { withProcessLock } = require(${JSON.stringify(path.resolve(__dirname, '../../src/core/process-lock'))});
    withProcessLock(${JSON.stringify(lock)}, 'child', async () => {
      process.stdout.write('held\\n');
      while (!fs.existsSync(${JSON.stringify(go)})) await new Promise((r) => setTimeout(r, 10));
    });
  `], { stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = new Promise((r) => child.once('exit', r));
  await new Promise((r) => child.stdout.once('data', r));
  let mine = false;
  const waiting = withProcessLock(lock, 'test', async () => (mine = true));
  await new Promise((r) => setTimeout(r, 200));
  t.notOk(mine, 'not taken while the other process holds it');
  fs.writeFileSync(go, '');
  await waiting;
  t.ok(mine, 'taken once it let go');
  await exited;

  fs.writeFileSync(lock, `${process.ppid} ${fs.readFileSync(`/proc/${process.ppid}/stat`, 'utf8').split(') ')[1]?.split(' ')[19]}\n`);
  await t.rejects(withProcessLock(lock, 'writing the units', async () => 'never', 100), { code: 'FAASS_E_DEPLOY_BUSY', message: /writing the units: process \d+ has held/ }, 'a live holder past the wait: FAASS_E_DEPLOY_BUSY, naming it');
  fs.rmSync(lock);
});
