import t from 'tap';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { BUCKETS, MetricsStore, emptyMetrics, merge, observe, readMetrics, metricsPath } from '../../src/lib/metrics-store';
import { cgroupCpuStat, parseCpuStat } from '../../src/lib/accounting';
import { callLine, callPriority } from '../../src/lib/call-log';
import { resolvePaths } from '../../src/lib/paths';

const tmpPaths = (t: { teardown(f: () => void): void }) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'faass-metrics-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  return resolvePaths({ ...process.env, XDG_STATE_HOME: dir, XDG_CONFIG_HOME: dir, XDG_DATA_HOME: dir, XDG_RUNTIME_DIR: dir });
};

t.test('histogram buckets', async (t) => {
  const h = { counts: new Array<number>(BUCKETS.length + 1).fill(0), sum: 0, count: 0 };
  for (const s of [0.001, 0.005, 0.0051, 3, 99]) observe(h, s);
  t.equal(h.counts[0], 2, 'le=0.005 takes 0.001 and 0.005 (upper bounds are inclusive)');
  t.equal(h.counts[1], 1);
  t.equal(h.counts[BUCKETS.indexOf(5)], 1);
  t.equal(h.counts[BUCKETS.length], 1, 'over the last bound: +Inf');
  t.equal(h.count, 5);
  t.ok(Math.abs(h.sum - 102.0111) < 1e-9);
});

t.test('merge adds, and ignores what is not a count', async (t) => {
  const a = merge(emptyMetrics(), { invocations: { f: { '200': 2 } }, activations: { gateway: 1 } });
  merge(a, { invocations: { f: { '200': 3, '500': 1 }, g: { '200': 1 } }, activations: { gateway: 2, runner: 1 }, cpuSeconds: { f: 0.5 } });
  t.same(a.invocations, { f: { '200': 5, '500': 1 }, g: { '200': 1 } });
  t.same(a.activations, { gateway: 3, runner: 1 });
  merge(a, { invocations: { f: { '200': -7 as number, x: 'a' as unknown as number } }, cpuSeconds: { f: NaN }, seconds: { f: { counts: [1], sum: 1, count: 1 } } } as never);
  t.same(a.invocations.f, { '200': 5, '500': 1 }, 'negative, NaN or text never lower a counter');
  t.same(a.cpuSeconds, { f: 0.5 });
  t.same(a.seconds, {}, 'a histogram of the wrong shape is left out');
});

t.test('store: flushes add to the file; a corrupt file is kept aside, not trusted', async (t) => {
  const paths = tmpPaths(t);
  const a = new MetricsStore(paths);
  const b = new MetricsStore(paths);
  a.add({ invocations: { f: { '200': 2 } } });
  b.add({ invocations: { f: { '200': 3 } }, coldStarts: { f: 1 } });
  a.flush();
  b.flush();
  a.flush(); // nothing pending: no change
  t.same(readMetrics(paths).invocations, { f: { '200': 5 } }, 'two writers, no count lost');
  t.equal(fs.statSync(metricsPath(paths)).mode & 0o777, 0o600);
  fs.writeFileSync(metricsPath(paths), '{"invocations": {"f": {"200": 5}');
  t.same(readMetrics(paths), emptyMetrics(), 'a torn file reads as empty');
  a.add({ invocations: { f: { '200': 1 } } });
  a.flush();
  t.same(readMetrics(paths).invocations, { f: { '200': 1 } });
  t.equal(fs.readdirSync(path.dirname(metricsPath(paths))).filter((f) => f.includes('.corrupt-')).length, 1, 'the unreadable one is kept aside');
});

t.test('cgroup CPU: the unit\'s own cgroup v2, or nothing', async (t) => {
  const has = (file: string) => (p: string) => p === file;
  t.equal(cgroupCpuStat('0::/user.slice/user@1000.service/app.slice/faass-fn-x.service\n', 'faass-fn-x.service', has('/sys/fs/cgroup/user.slice/user@1000.service/app.slice/faass-fn-x.service/cpu.stat')), '/sys/fs/cgroup/user.slice/user@1000.service/app.slice/faass-fn-x.service/cpu.stat', 'unified');
  t.equal(cgroupCpuStat('12:pids:/a\n0::/a/faass-fn-x.service\n1:name=systemd:/a\n', 'faass-fn-x.service', has('/sys/fs/cgroup/unified/a/faass-fn-x.service/cpu.stat')), '/sys/fs/cgroup/unified/a/faass-fn-x.service/cpu.stat', 'hybrid');
  t.equal(cgroupCpuStat('0::/a/session-1.scope\n', 'faass-fn-x.service', () => true), null, 'not in its unit (faassctl serve): no figure');
  t.equal(cgroupCpuStat('4:memory:/x\n', 'faass-fn-x.service', () => true), null, 'cgroup v1 only: no figure');
  t.equal(parseCpuStat('usage_usec 2500000\nuser_usec 2000000\nsystem_usec 500000\n'), 2.5);
  t.equal(parseCpuStat('nothing here'), null);
});

t.test('call lines', async (t) => {
  t.equal(callLine('abc', 'f', 200, 0.0123456789, true), 'call=abc function=f status=200 duration=0.012346 start=cold');
  t.match(callLine('abc', 'f', 502, 1, null), /start=-$/);
  t.same([callPriority(200), callPriority(404), callPriority(429), callPriority(500)], ['info', 'warning', 'warning', 'err']);
});
