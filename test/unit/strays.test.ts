// What a call leaves behind: which processes of the unit's cgroup are strays.
import t from 'tap';
import { unitProcsFile, strays, orphans, parentFromStat, StraySweeper, ancestorsInUnit } from '../../src/runner/strays';

t.test("the unit's cgroup.procs: v2, hybrid, v1's name=systemd, or none", async (t) => {
  const unit = 'faass-fn-x.service';
  const p = '/user.slice/user@1000.service/app.slice/faass-fn-x.service';
  t.equal(unitProcsFile(`0::${p}\n`, unit, (f) => f === `/sys/fs/cgroup${p}/cgroup.procs`), `/sys/fs/cgroup${p}/cgroup.procs`, 'unified');
  t.equal(unitProcsFile(`1:name=systemd:${p}\n0::${p}\n`, unit, (f) => f === `/sys/fs/cgroup/unified${p}/cgroup.procs`), `/sys/fs/cgroup/unified${p}/cgroup.procs`, 'hybrid');
  t.equal(unitProcsFile(`4:memory:${p}\n1:name=systemd:${p}\n`, unit, (f) => f === `/sys/fs/cgroup/systemd${p}/cgroup.procs`), `/sys/fs/cgroup/systemd${p}/cgroup.procs`, "v1: name=systemd, never a controller's");
  t.equal(unitProcsFile('0::/user.slice/other.service\n', unit, () => true), null, 'outside the unit (faassctl serve): none');
});

t.test('strays: every process but the runner and its kept workers', async (t) => {
  t.same(strays('10\n11\n12\n\n13\n', new Set([10, 12])), [11, 13]);
  t.same(strays('10\n', new Set([10])), [], 'nothing left behind');
  t.same(strays('x\n-1\n0\n', new Set()), [], 'nothing that is not a pid');
});

t.test('orphans: while calls run, what hangs from the runner is theirs; what an ended call left is not', async (t) => {
  // 10 runner; 11 a warm worker, 12 its handler's child; 20 a running call, 21 its child, 22 a
  // grandchild; 30 and its child 31 orphans (their call ended: parent 1, the user manager outside
  // the unit); 40 an orphan whose parent 41 is gone as we look.
  const parents: Record<number, number | null> = { 11: 10, 12: 11, 20: 10, 21: 20, 22: 21, 30: 1, 31: 30, 40: 41, 41: null };
  const procs = '10\n11\n12\n20\n21\n22\n30\n31\n40\n';
  t.same(orphans(procs, 10, new Set([11]), (p) => parents[p] ?? null), [30, 31, 40], 'the orphans and their children, nothing of a running call or a worker');
  t.same(orphans('10\n', 10, new Set(), () => 1), [], 'the runner alone');
  t.same(orphans('10\n50\n51\n', 10, new Set(), (p) => (p === 50 ? 51 : 50)), [50, 51], 'a loop of parents ends (it cannot hang from the runner)');
  t.same(orphans('10\n60\n', 10, new Set(), () => null), [], 'a process gone as we look is left alone');
});

t.test('the parent in /proc/PID/stat, whatever the command is called', async (t) => {
  t.equal(parentFromStat('1234 (sh) S 1200 1234 1234 0 -1 4194560'), 1200);
  t.equal(parentFromStat('1234 (a) b) (c) R 99 1 1 0'), 99, 'parentheses and spaces in the command');
  t.equal(parentFromStat(''), null);
});

t.test('one sweep per window, at the end of it for ends inside it; which sweep depends on calls running then', async (t) => {
  const sweeps: string[] = [];
  let swept: () => void = () => undefined;
  class Counting extends StraySweeper {
    sweep(): number {
      sweeps.push('all');
      swept();
      return 0;
    }
    sweepOrphans(): number {
      sweeps.push('orphans');
      swept();
      return 0;
    }
  }
  const s = new Counting('/nonexistent/cgroup.procs', () => []);
  const alive = setInterval(() => undefined, 1000); // the sweeper's timer does not hold a process
  s.callEnded(() => true);
  t.same(sweeps, ['all'], 'the first end, no call running: everything but the runner, at once');
  const next = new Promise<void>((r) => (swept = r));
  s.callEnded(() => true);
  s.callEnded(() => true);
  t.same(sweeps, ['all'], 'more ends in the window: none at once');
  await next;
  t.same(sweeps, ['all', 'all'], 'one at the end of the window');
  const third = new Promise<void>((r) => (swept = r));
  s.callEnded(() => false);
  await third;
  t.same(sweeps, ['all', 'all', 'orphans'], 'calls running then: only what no running call owns');
  clearInterval(alive);
});

// Issue 11 item 5: in the unit's PID namespace, the runner's parent is bwrap (the namespace's
// init, in the unit): never a stray. Outside one, the parent is the user manager: not in the unit.
t.test("the runner's ancestors in the unit are kept", async (t) => {
  const parents = new Map([[2, 1], [1, 0], [9, 2], [500, 77]]);
  const parentOf = (p: number) => parents.get(p) ?? null;
  t.same(ancestorsInUnit('1\n2\n9\n', 2, parentOf), [1], 'in a namespace: bwrap, pid 1');
  t.same(ancestorsInUnit('500\n501\n', 500, parentOf), [], 'without one: none (the manager is elsewhere)');
});
