// What a call leaves behind: which processes of the unit's cgroup are strays.
import t from 'tap';
import { unitProcsFile, strays, StraySweeper } from '../../src/runner/strays';

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

t.test('one sweep per window; a quiet moment inside it is swept at its end, if still quiet', async (t) => {
  let sweeps = 0;
  let swept: () => void = () => undefined;
  class Counting extends StraySweeper {
    sweep(): number {
      sweeps++;
      swept();
      return 0;
    }
  }
  const s = new Counting('/nonexistent/cgroup.procs', () => []);
  const alive = setInterval(() => undefined, 1000); // the sweeper's timer does not hold a process
  s.whenQuiet(() => true);
  t.equal(sweeps, 1, 'the first quiet moment: swept at once');
  const next = new Promise<void>((r) => (swept = r));
  s.whenQuiet(() => true);
  s.whenQuiet(() => true);
  t.equal(sweeps, 1, 'more quiet moments in the window: none at once');
  await next;
  t.equal(sweeps, 2, 'one at the end of the window');
  let asked: () => void = () => undefined;
  const checked = new Promise<void>((r) => (asked = r));
  s.whenQuiet(() => {
    asked();
    return false;
  });
  await checked;
  t.equal(sweeps, 2, 'not when a call runs by then (its own end asks again)');
  clearInterval(alive);
});
