// The process-group kill every per-call process, python worker and service app goes through.
import t from 'tap';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { killGroup } from '../../src/core/process-group';

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

// Waits for the event itself (the grandchild's end), with a generous deadline.
async function gone(pid: number, deadlineMs = 10000): Promise<boolean> {
  for (const until = Date.now() + deadlineMs; Date.now() < until; await new Promise((r) => setTimeout(r, 20))) if (!alive(pid)) return true;
  return false;
}

// A leader (sh) that started a grandchild in its group and prints the grandchild's pid.
async function group(script: string) {
  const child = spawn('/bin/sh', ['-c', script], { detached: true, stdio: ['ignore', 'pipe', 'ignore'] });
  const exited = once(child, 'exit');
  const [line] = (await once(child.stdout, 'data')) as [Buffer];
  return { child, exited, grandchild: Number(line.toString().trim()) };
}

t.test('with no grace, the whole group is killed at once, grandchildren too', async (t) => {
  const { child, exited, grandchild } = await group('sleep 300 & echo $!; wait');
  t.teardown(() => void killGroup(child.pid));
  await killGroup(child.pid);
  const [, signal] = (await exited) as [number | null, string | null];
  t.equal(signal, 'SIGKILL', 'the leader was killed');
  t.ok(await gone(grandchild), 'so was the sleep it started (no process of the group is left)');
});

t.test('with a grace, SIGTERM first; SIGKILL for a group that ignores it', async (t) => {
  // The leader ignores TERM: only the SIGKILL after the grace ends it.
  const { child, exited, grandchild } = await group("trap '' TERM; sleep 300 & echo $!; while :; do sleep 0.05; done");
  t.teardown(() => void killGroup(child.pid));
  await killGroup(child.pid, 0.3, exited);
  t.equal(child.signalCode, 'SIGKILL', 'the leader, which ignored SIGTERM, was killed after the grace');
  t.ok(await gone(grandchild), 'the sleep (which inherited the ignored SIGTERM) is gone: the SIGKILL reached the whole group');
});

t.test('with a grace, a leader that stops on SIGTERM is not killed', async (t) => {
  const { child, exited } = await group('echo $$; exec sleep 300');
  t.teardown(() => void killGroup(child.pid));
  await killGroup(child.pid, 30, exited);
  t.equal(child.signalCode, 'SIGTERM', 'ended by SIGTERM, well before the grace is over');
});

t.test('a group that is already gone is not an error', async (t) => {
  const { child, exited } = await group('echo $$');
  await exited;
  await t.resolves(killGroup(child.pid));
  await t.resolves(killGroup(undefined));
});
