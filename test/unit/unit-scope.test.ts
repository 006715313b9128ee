// A deploy (delete, rollback, trigger change) renders, compares and writes only the units of the
// functions it touches (functions/apply-units.ts `only`), so its cost does not grow with the
// number of functions. That is right only if every unit depends on its own function alone, and
// if the files it removes are its own: here, the whole set (generate-units) is the shared units
// plus each function's, for varied sets (functions, services, canaries, every kind of trigger,
// names that look alike), each file is owned by exactly one function (functions/unit-scope.ts),
// and a scoped apply leaves every other function's unit file alone.
import t from 'tap';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { renderAllUnits, renderFunctionUnits, renderSharedUnits, UnitContext, UnitSet, MARKER } from '../../src/systemd/units';
import { buildSettings, Settings } from '../../src/core/settings';
import { FunctionConfig, buildFunctionConfig, renderFunctionConfig } from '../../src/functions/function-config';
import { Schedule, buildSchedule, onCalendar, saveTriggers } from '../../src/functions/schedules';
import { FileDrop, buildFileDrop } from '../../src/functions/file-drops';
import { NatsTrigger, buildNatsTrigger } from '../../src/functions/nats-triggers';
import { unitScope } from '../../src/functions/unit-scope';
import { applyUnits } from '../../src/functions/apply-units';
import { canaryConfPath, functionConfPath } from '../../src/core/paths';
import { managerlessPaths } from '../support/temp-paths';

const ctx: UnitContext = { node: '/usr/bin/node', dist: '/d', proxyd: '/usr/lib/systemd/systemd-socket-proxyd', xdg: { config: '/h/.config', data: '/h/.local/share', state: '/h/.local/state' }, engine: '/var/run/docker.sock', openfaasSecrets: false };
const SETTINGS: Settings[] = [buildSettings({ listen: '127.0.0.1:8080' }), buildSettings({ listen: '127.0.0.1:8080', idle: '10', console_listen: '127.0.0.1:8090' })];

interface Member {
  cfg: FunctionConfig;
  schedules: Schedule[];
  drops: FileDrop[];
  nats: NatsTrigger[];
  canary?: FunctionConfig;
}
const exec = (name: string, extra: Record<string, string> = {}) => buildFunctionConfig(name, { runtime: 'exec', command: 'cat', ...extra });
const service = (name: string, port: string) => buildFunctionConfig(name, { kind: 'service', port, runtime: 'exec', command: 'busybox httpd -f -p 127.0.0.1:$PORT' });
const member = (cfg: FunctionConfig, m: Partial<Member> = {}): Member => ({ cfg, schedules: [], drops: [], nats: [], ...m });
const canaryOf = (cfg: FunctionConfig): FunctionConfig => Object.freeze({ ...cfg, timeout: 5, version: { number: 2, code: 'abc' } });

// No two of these share a unit base (the clash check lets no such pair be), but several names
// look alike: a and a-app (an exec function, not a service: no app), the service web beside
// web-at-x (web has no trigger x), job with triggers beside job-at-other.
const POOL: Member[] = [
  member(exec('a')),
  member(exec('a-app')),
  member(service('web', '8081'), { schedules: [buildSchedule('nightly', { spec: 'daily', tz: 'UTC' })], canary: canaryOf(service('web', '8081')) }),
  member(exec('web-at-x')),
  member(exec('job', { timeout: '10', memory_max: '64M' }), {
    schedules: [buildSchedule('tick', { spec: 'hourly', tz: 'UTC' })],
    drops: [buildFileDrop('box', { watch: '/srv/in', pattern: '*.csv' })],
    nats: [buildNatsTrigger('job', 'bus', { nats: 'nats://127.0.0.1:4222', subject: 'orders.new', stream: 'ORDERS' })],
  }),
  member(exec('job-at-other')),
  member(exec('hello'), { canary: canaryOf(exec('hello')), drops: [buildFileDrop('in', { watch: '/srv/hello' })] }),
  member(service('s2', '8082'), { nats: [buildNatsTrigger('s2', 'ev', { nats: 'nats://localhost:4222', subject: 'ev' })] }),
];

const renderWhole = (gw: Settings, ms: Member[]): UnitSet =>
  renderAllUnits(
    gw,
    ms.map((m) => m.cfg),
    ctx,
    Object.fromEntries(ms.map((m) => [m.cfg.name, m.schedules.map((schedule) => ({ schedule, onCalendar: onCalendar(schedule) }))])),
    Object.fromEntries(ms.map((m) => [m.cfg.name, m.drops])),
    Object.fromEntries(ms.map((m) => [m.cfg.name, m.nats])),
    Object.fromEntries(ms.filter((m) => m.canary).map((m) => [m.cfg.name, m.canary as FunctionConfig])),
  );
const renderOne = (m: Member): UnitSet =>
  renderFunctionUnits(
    m.cfg,
    ctx,
    m.schedules.map((schedule) => ({ schedule, onCalendar: onCalendar(schedule) })),
    m.drops,
    m.nats,
    m.canary,
  );

// A fixed seed: the same subsets every run, so a failure can be run again.
function subsets(n: number): Member[][] {
  let seed = 18;
  const next = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  return Array.from({ length: n }, () => POOL.filter(() => next() < 0.5));
}

t.test('the whole set is the shared units plus each function\'s own, none shared by two', async (t) => {
  for (const [i, set] of [[], POOL, ...subsets(40)].entries()) {
    const gw = SETTINGS[i % SETTINGS.length];
    const whole = renderWhole(gw, set);
    const shared = renderSharedUnits(gw, ctx);
    const parts = set.map(renderOne);
    const union: UnitSet = { ...shared };
    for (const part of parts) {
      for (const file of Object.keys(part)) if (file in union) t.fail(`${file} is rendered twice (set ${set.map((m) => m.cfg.name).join(' ')})`);
      Object.assign(union, part);
    }
    t.same(union, whole, `set ${i}: ${set.map((m) => m.cfg.name).join(' ') || '(none)'}`);
  }
});

// Puts the pool on disk as a deploy would leave it: function files, triggers files, canary files.
function onDisk(t: { teardown(f: () => void): void }, ms: Member[]) {
  const paths = managerlessPaths(t, 'unit-scope');
  fs.mkdirSync(path.dirname(functionConfPath(paths, 'x')), { recursive: true });
  for (const m of ms) {
    fs.writeFileSync(functionConfPath(paths, m.cfg.name), renderFunctionConfig(m.cfg));
    saveTriggers(paths, m.cfg.name, { schedules: m.schedules, drops: m.drops, nats: m.nats });
    if (m.canary) {
      fs.mkdirSync(path.dirname(canaryConfPath(paths, m.cfg.name)), { recursive: true });
      fs.writeFileSync(canaryConfPath(paths, m.cfg.name), renderFunctionConfig(m.canary));
    }
  }
  return paths;
}

t.test("a unit file is in a function's scope exactly when it is that function's (or shared)", async (t) => {
  const paths = onDisk(t, POOL);
  const whole = renderWhole(SETTINGS[1], POOL);
  for (const m of POOL) {
    const mine = renderOne(m);
    const inScope = unitScope(paths, [m.cfg.name]);
    for (const file of Object.keys(whole)) {
      const expected = file in mine || !/^faass-(fn|canary)-/.test(file);
      if (inScope(file) !== expected) t.fail(`${file} in the scope of ${m.cfg.name}: ${inScope(file)}, expected ${expected}`);
    }
  }
  t.ok(unitScope(paths, ['a'])('faass-fn-a-at-old1.timer'), "a's trigger removed since: its stale timer is a's");
  t.notOk(unitScope(paths, ['a'])('faass-fn-a-app.service'), "function a-app's runner is not a's, though it is named like a service a's app");
  t.notOk(unitScope(paths, ['web'])('faass-fn-web-at-x.service'), "function web-at-x's runner is not web's, though named like a trigger's");
  t.ok(unitScope(paths, ['gone'])('faass-fn-gone.socket'), "a deleted function's units are its own");
});

// The behaviour a user sees: a deploy beside other functions leaves their unit files alone (not
// read, not rewritten: a file edited by hand stays until generate-units), removes its own stale
// units only, and goes through even while another function's file is broken.
t.test('an apply for one function writes and removes its units only', async (t) => {
  const paths = onDisk(t, POOL);
  const dir = path.join(paths.stateDir, 'units-test');
  await applyUnits(paths, { dir, reload: false }); // the whole set, as generate-units writes it
  const edited = `${MARKER}\n# edited by hand\n`;
  fs.writeFileSync(path.join(dir, 'faass-fn-job.service'), edited);
  fs.writeFileSync(path.join(dir, 'faass-fn-a-at-old1.timer'), `${MARKER}\n`); // a's, its trigger gone
  fs.writeFileSync(path.join(dir, 'faass-fn-a-at-old1.service'), `${MARKER}\n`);
  fs.writeFileSync(functionConfPath(paths, 'hello'), 'this is not a function file [\n');
  const r = await applyUnits(paths, { dir, reload: false, only: ['a'] });
  t.equal(fs.readFileSync(path.join(dir, 'faass-fn-job.service'), 'utf8'), edited, "another function's unit file is not rewritten");
  t.same(r.units.removed.sort(), ['faass-fn-a-at-old1.service', 'faass-fn-a-at-old1.timer'], "a's stale units removed, nothing else");
  t.ok(fs.existsSync(path.join(dir, 'faass-fn-a-app.service')), "function a-app's runner stays");
  t.ok(
    [...r.units.written, ...r.units.unchanged].every((f) => !/^faass-(fn|canary)-/.test(f) || /^faass-(fn|canary)-a\./.test(f)),
    `only a's and the shared units compared: ${[...r.units.written, ...r.units.unchanged].join(' ')}`,
  );
  fs.rmSync(functionConfPath(paths, 'a'));
  const del = await applyUnits(paths, { dir, reload: false, only: ['a'] });
  t.same(del.units.removed.sort(), ['faass-fn-a.service', 'faass-fn-a.socket'], 'a deleted: its units go, no other');
  t.ok(fs.existsSync(path.join(dir, 'faass-fn-a-app.service')) && fs.existsSync(path.join(dir, 'faass-fn-web-app.service')), "the others' stay");
});
