import t from 'tap';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { BUCKETS, MetricsStore, quantile, emptyMetrics, merge, observe, readMetrics, metricsPath, appendSnapshot, snapshotAt, subtract, functionMetricsPath, onlyFunctions } from '../../src/observe/metrics-store';
import { cgroupCpuStat, parseCpuStat, unitParents, liveUse, readCgroupUse } from '../../src/observe/accounting';
import { callLine, callPriority, CallLog } from '../../src/observe/call-log';
import { resolvePaths } from '../../src/core/paths';
import type { MetricsData } from '../../src/observe/metrics-store';
import { renderStats, parseSince } from '../../src/faassctl/stats';
import { GatewayMetrics, bySide } from '../../src/gateway/metrics';
import { canaryRoutePath, canaryStatePath, functionConfPath } from '../../src/core/paths';
import { buildCanaryRoute, renderCanaryRoute } from '../../src/functions/canary-spec';

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
  const a = new MetricsStore(paths, metricsPath(paths));
  const b = new MetricsStore(paths, metricsPath(paths));
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

t.test('call lines are budgeted per second; the rest summed up', async (t) => {
  let now = 10_000;
  const lines: [string, string, Record<string, string> | undefined][] = [];
  const log = new CallLog(3, (p, m, f) => lines.push([p, m, f]), () => now);
  for (let i = 0; i < 5; i++) log.record(`ok${i}`, 'f', 200, 0.001 * i, false);
  for (let i = 0; i < 4; i++) log.record(`bad${i}`, 'f', 500, 0.5, false);
  t.same(lines.map((l) => l[1].split(' ')[0]), ['call=ok0', 'call=ok1', 'call=ok2', 'call=bad0', 'call=bad1', 'call=bad2'], 'the first 3 calls and the first 3 failures of a second, one by one');
  t.same(lines[0][2], { FAASS_CALL_ID: 'ok0' });
  t.equal(lines[3][0], 'err');
  now += 1000;
  log.record('next', 'f', 200, 0.002, false);
  t.equal(lines.length, 8, 'the next second: the summary, then the call');
  t.equal(lines[6][1], 'calls=3 function=f status_200=2 status_500=1 max_duration=0.500000 not logged one by one (over 3 a second; /metrics counts every call)');
  t.equal(lines[6][0], 'err', 'at the priority of the worst call in it');
  t.match(lines[7][1], /^call=next /);
  log.summarize('f');
  t.equal(lines.length, 8, 'nothing skipped: no summary');
});

t.test('stats: quantiles from buckets, figures per invocation, and saying what is not measured', async (t) => {
  const h = { counts: new Array<number>(BUCKETS.length + 1).fill(0), sum: 0, count: 0 };
  t.equal(quantile(h, 0.5), null, 'no calls: no quantile');
  for (let i = 0; i < 100; i++) observe(h, i < 90 ? 0.007 : 0.2); // 90 in (0.005, 0.01], 10 in (0.1, 0.25]
  t.ok(Math.abs((quantile(h, 0.5) as number) - (0.005 + 0.005 * (50 / 90))) < 1e-12, 'p50 interpolated in its bucket');
  t.ok((quantile(h, 0.99) as number) > 0.1 && (quantile(h, 0.99) as number) <= 0.25, 'p99 in the slow bucket');
  observe(h, 60);
  t.equal(quantile(h, 1), null, 'past the last bound: unknown');
  const d = merge(emptyMetrics(), { invocations: { f: { '200': 98, '500': 1, '429': 1 } }, seconds: { f: h }, coldStarts: { f: 2 }, cpuSeconds: { f: 1.5 } });
  const text = renderStats('f', d, 'exec');
  t.match(text, /^invocations\s+100 \(200: 98, 429: 1, 500: 1\)$/m);
  t.match(text, /^errors \(5xx\)\s+1 \(1\.0 %\)$/m);
  t.match(text, /^refused \(4xx\)\s+1 \(1\.0 %\)$/m);
  t.match(text, /^cpu\s+1\.500 s in all, 15\.0 ms per invocation$/m);
  t.match(text, /^cold starts\s+2 \(2\.0 % of calls\)$/m);
  t.match(text, /^memory\s+not measured: no memory controller/m, 'no memory figure: said so');
  t.match(text, /^io\s+not measured/m);
  const withMemory = merge(merge(emptyMetrics(), d), { memoryPeakBytes: { f: 50 * 1048576 }, memoryByteSeconds: { f: 200 * 1048576 }, ioReadBytes: { f: 1048576 } });
  t.match(renderStats('f', withMemory, 'exec'), /^memory\s+peak 50\.0 MiB, 200\.00 MiB-s in all, 2\.00 MiB-s per invocation$/m, 'where the machine gives it: peak and MiB-seconds per invocation');
  t.match(renderStats('f', withMemory, 'exec'), /^io\s+1\.0 MiB read, 0\.0 MiB written$/m);
  t.match(renderStats('g', emptyMetrics(), 'docker'), /^cpu\s+not measured: containers/m, 'a figure that does not exist is said so, not printed as zero');
  t.match(renderStats('g', emptyMetrics(), 'exec'), /^duration\s+no calls yet$/m);
});

t.test('history: snapshots by day, the last one before a time, windows by difference', async (t) => {
  const paths = tmpPaths(t);
  const day = Date.parse('2026-11-20T12:00:00Z');
  const at = (d: MetricsData['invocations']) => merge(emptyMetrics(), { invocations: d });
  appendSnapshot(paths, at({ f: { '200': 10 } }), day);
  appendSnapshot(paths, at({ f: { '200': 15, '500': 1 } }), day + 60_000);
  appendSnapshot(paths, at({ f: { '200': 40, '500': 2 } }), day + 86_400_000);
  fs.appendFileSync(path.join(paths.stateDir, 'metrics-history', '2026-11-21.jsonl'), '{"at": 17'); // torn by a crash
  t.equal(snapshotAt(paths, day - 1), null, 'before the history: none');
  t.equal(snapshotAt(paths, day + 30_000)?.at, day, 'the last one at or before');
  t.equal(snapshotAt(paths, day + 3_600_000)?.at, day + 60_000, 'also from the day before');
  t.equal(snapshotAt(paths, day + 2 * 86_400_000)?.at, day + 86_400_000, 'a torn line is skipped');
  const w = subtract(at({ f: { '200': 50, '500': 2 }, g: { '200': 1 } }), (snapshotAt(paths, day + 30_000) as { data: MetricsData }).data);
  t.same(w.invocations, { f: { '200': 40, '500': 2 }, g: { '200': 1 } }, 'a window: now minus then');
  appendSnapshot(paths, emptyMetrics(), day + 40 * 86_400_000);
  t.same(fs.readdirSync(path.join(paths.stateDir, 'metrics-history')).sort(), ['2026-12-30.jsonl'], `files older than the kept days go`);
});

t.test('--since', async (t) => {
  const now = Date.parse('2026-11-22T12:00:00Z');
  t.equal(parseSince('10m', now), now - 600_000);
  t.equal(parseSince('2h', now), now - 7_200_000);
  t.equal(parseSince('1.5d', now), now - 1.5 * 86_400_000);
  t.equal(parseSince('2026-11-22T10:00:00Z', now), Date.parse('2026-11-22T10:00:00Z'));
  t.ok(Number.isFinite(parseSince('2026-11-22 10:00', now)), 'a date and time with a space');
  t.throws(() => parseSince('yesterday-ish', now), /Invalid --since/);
  t.throws(() => parseSince('2030-01-01', now), /in the future/);
});

t.test('live use from the cgroups next to the gateway', async (t) => {
  const v1 = unitParents('12:pids:/m/app.slice/faass-gateway.service\n4:memory:/\n1:name=systemd:/m/app.slice/faass-gateway.service\n0::/m/app.slice/faass-gateway.service\n', 'faass-gateway.service');
  t.same(v1.map((p) => p.dir), ['/sys/fs/cgroup/pids/m/app.slice', '/sys/fs/cgroup/name=systemd/m/app.slice', '/sys/fs/cgroup/m/app.slice', '/sys/fs/cgroup/unified/m/app.slice'], 'each hierarchy where the gateway sits in its unit');
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'faass-cg-'));
  t.teardown(() => fs.rmSync(root, { recursive: true, force: true }));
  for (const [dir, file, v] of [['pids/faass-fn-a.service', 'pids.current', '7'], ['v2/faass-fn-a-app.service', 'pids.current', '3'], ['v2/faass-fn-a-app.service', 'memory.current', '1048576']]) {
    fs.mkdirSync(path.join(root, path.dirname(`${dir}/${file}`)), { recursive: true });
    fs.writeFileSync(path.join(root, dir, file), v + '\n');
  }
  const parents = [{ controllers: 'pids', dir: path.join(root, 'pids') }, { controllers: '', dir: path.join(root, 'v2') }];
  t.same(liveUse(parents, ['faass-fn-a.service', 'faass-fn-a-app.service']), { tasks: 10, memoryBytes: 1048576 }, 'summed over the units, from v1 or v2 files');
  t.same(liveUse(parents, ['faass-fn-b.service']), { tasks: null, memoryBytes: null }, 'a unit that is not running: no figure');
});

t.test('a unit cgroup\'s figures, each only where its file exists', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'faass-cgu-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  fs.writeFileSync(path.join(dir, 'cpu.stat'), 'usage_usec 1500000\nuser_usec 1000000\n');
  t.same(readCgroupUse(dir), { cpuSeconds: 1.5, memoryBytes: null, memoryPeakBytes: null, ioReadBytes: null, ioWriteBytes: null }, 'cgroup v2 without controllers: CPU only');
  fs.writeFileSync(path.join(dir, 'memory.current'), '8388608\n');
  fs.writeFileSync(path.join(dir, 'memory.peak'), '16777216\n');
  fs.writeFileSync(path.join(dir, 'io.stat'), '8:0 rbytes=4096 wbytes=100 rios=1 wios=1 dbytes=0 dios=0\n8:16 rbytes=4096 wbytes=0 rios=1 wios=0\n');
  t.same(readCgroupUse(dir), { cpuSeconds: 1.5, memoryBytes: 8388608, memoryPeakBytes: 16777216, ioReadBytes: 8192, ioWriteBytes: 100 }, 'with the memory and io controllers: all, io summed over devices');
  const m = merge(emptyMetrics(), { memoryPeakBytes: { f: 10 } });
  merge(m, { memoryPeakBytes: { f: 7 }, memoryByteSeconds: { f: 3 } });
  merge(m, { memoryByteSeconds: { f: 4 } });
  t.same([m.memoryPeakBytes.f, m.memoryByteSeconds.f], [10, 7], 'a peak merges by max, byte-seconds add up');
});

t.test("a function's own file: only what its runner counts, about itself; no label that is not one", async (t) => {
  const paths = tmpPaths(t);
  const own = new MetricsStore(paths, functionMetricsPath(paths, 'f'));
  own.add({ activations: { runner: 1 }, coldStarts: { f: 1 }, cpuSeconds: { f: 0.25 } });
  t.ok(own.flush(), "a runner writes its function's file");
  // What a hostile function could write there instead: other functions, calls, odd labels.
  fs.writeFileSync(functionMetricsPath(paths, 'f'), JSON.stringify({ activations: { runner: 1, gateway: 999 }, coldStarts: { f: 1, g: 999 }, cpuSeconds: { f: 1 }, invocations: { g: { '200': 999999 } }, lastCall: { g: 1 } }));
  const main = new MetricsStore(paths, metricsPath(paths));
  main.add({ invocations: { f: { '200': 2 }, 'x\u001b[31m': { '200': 1 } }, activations: { gateway: 1, 'evil\n': 5 }, coldStarts: { g: 1 } });
  main.flush();
  const m = readMetrics(paths);
  t.same(m.invocations, { f: { '200': 2 } }, "calls come from faass's own file only, and only under names that are names");
  t.same(m.activations, { gateway: 1, runner: 1 }, 'a function adds runner starts, never the gateway\'s, and no made-up program');
  t.same(m.coldStarts, { f: 1, g: 1 }, 'nor cold starts of another function');
  t.same(m.cpuSeconds, { f: 1 }, 'its own CPU figure is its own to misstate');
  t.same(m.lastCall, {}, 'nor when another function was last called');
});

t.test('a filtered view keeps the figures counted by program, drops hidden functions', async (t) => {
  const d = merge(emptyMetrics(), { invocations: { pub: { '200': 1 }, secret: { '200': 2 } }, activations: { runner: 3 }, logLinesDropped: { runner: 7 }, coldStarts: { secret: 1 } });
  const seen = onlyFunctions(d, (fn) => fn === 'pub');
  t.same(seen.invocations, { pub: { '200': 1 } });
  t.same(seen.coldStarts, {});
  t.same([seen.activations, seen.logLinesDropped], [{ runner: 3 }, { runner: 7 }], 'starts and dropped log lines are faass-wide');
});

t.test('calls by side: a canary\'s apart from the current version\'s, the total kept', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'faass-metrics-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const paths = resolvePaths({ ...process.env, XDG_STATE_HOME: path.join(dir, 's'), XDG_CONFIG_HOME: path.join(dir, 'c'), XDG_DATA_HOME: path.join(dir, 'd'), XDG_RUNTIME_DIR: path.join(dir, 'r') }); // the route and the state apart
  fs.mkdirSync(path.dirname(functionConfPath(paths, 'echo')), { recursive: true });
  fs.writeFileSync(functionConfPath(paths, 'echo'), '[function]\nruntime = exec\ncommand = cat\n');
  const m = new GatewayMetrics(paths);
  t.teardown(() => m.close());
  for (let i = 0; i < 3; i++) m.end('echo', 200, 0.003);
  m.end('echo', 200, 0.2, true);
  m.end('echo', 500, 0.3, true);
  let text = await m.render();
  const line = (re: RegExp) => t.match(text, re);
  line(/^gateway_function_invocation_total\{function_name="echo",code="200",side="current"\} 3$/m);
  line(/^gateway_function_invocation_total\{function_name="echo",code="200",side="canary"\} 1$/m);
  line(/^gateway_function_invocation_total\{function_name="echo",code="500",side="canary"\} 1$/m);
  t.notMatch(text, /code="500",side="current"/, 'no current series for a status only the canary answered');
  line(/^gateway_functions_seconds_count\{function_name="echo",side="current"\} 3$/m);
  line(/^gateway_functions_seconds_count\{function_name="echo",side="canary"\} 2$/m);
  line(/^gateway_functions_seconds_bucket\{function_name="echo",side="canary",le="0.25"\} 1$/m);
  t.notMatch(text, /^faass_canary_\w+\{/m, 'no canary now: no canary samples');
  t.same(readMetrics(paths).invocations.echo ?? {}, {}, 'nothing written yet');
  m.close();
  const stored = readMetrics(paths);
  t.same([stored.invocations.echo, stored.canaryInvocations.echo], [{ '200': 4, '500': 1 }, { '200': 1, '500': 1 }], 'stored: every call, and the canary\'s apart');
  t.same(bySide(stored).invocations.current.echo, { '200': 3 }, 'current: the difference, no series of 0 for what only the canary answered');

  // A canary running, then aborted by the gateway: its version, and the share routed to it.
  const started = '2026-12-02T10:00:00.000Z';
  fs.mkdirSync(path.dirname(canaryRoutePath(paths, 'echo')), { recursive: true });
  fs.writeFileSync(canaryRoutePath(paths, 'echo'), renderCanaryRoute(buildCanaryRoute({ percent: '20%' }, 4, started)));
  text = await m.render();
  line(/^faass_canary_version\{function_name="echo"\} 4$/m);
  line(/^faass_canary_share_percent\{function_name="echo"\} 20$/m);
  fs.mkdirSync(path.dirname(canaryStatePath(paths, 'echo')), { recursive: true });
  fs.writeFileSync(canaryStatePath(paths, 'echo'), JSON.stringify({ version: 4, started, calls: 10, errors: 5, at: started, aborted: { at: started, reason: 'r' } }));
  text = await m.render();
  line(/^faass_canary_share_percent\{function_name="echo"\} 0$/m);
  t.match(await m.render((fn) => fn !== 'echo'), /^(?![\s\S]*function_name="echo")/, 'a function the scrape may not see: none of its series');
});

t.test('a hand-edited file cannot put other keys into the canary counts', async (t) => {
  const paths = tmpPaths(t);
  fs.mkdirSync(path.dirname(metricsPath(paths)), { recursive: true });
  fs.writeFileSync(metricsPath(paths), JSON.stringify({ canaryInvocations: { echo: { '200': 2, 'x"}': 1 }, 'bad name': { '200': 1 } }, canarySeconds: { echo: { counts: [1], sum: 1, count: 1 } } }));
  const d = readMetrics(paths);
  t.same(d.canaryInvocations, { echo: { '200': 2 } });
  t.same(d.canarySeconds, {}, 'a histogram of the wrong shape is left out');
});
