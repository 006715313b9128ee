// Two functions never share a unit. The map from a function's name to its units' names is not
// one-to-one (a service foo's app is faass-fn-foo-app, as is a function foo-app's runner), so
// deploy, trigger add and a stack's up refuse a clash (functions/unit-names.ts). Here: the bases
// units.ts lists are every unit it renders, the check keeps every pair of names apart, and deploy
// (in-process and through the API) refuses with 409 FAASS_E_NAME_TAKEN.
import t from 'tap';
import * as fs from 'node:fs';
import nodeFs = require('node:fs'); // the module itself, whose readFileSync the check calls (counted below)
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { renderAllUnits, functionUnitBases, unitBaseOwners, UnitContext } from '../../src/systemd/units';
import { buildSettings } from '../../src/core/settings';
import { FunctionConfig, buildFunctionConfig, listFunctionNames } from '../../src/functions/function-config';
import { buildSchedule, schedulesPath } from '../../src/functions/schedules';
import { buildFileDrop } from '../../src/functions/file-drops';
import { buildNatsTrigger } from '../../src/functions/nats-triggers';
import { refuseDeployClash, refuseTriggerClash, unitClash } from '../../src/functions/unit-names';
import { addSchedule } from '../../src/functions/triggers';
import { deploy } from '../../src/faassctl/deploy';
import { commitFile, prepareDeploy, settleFailed } from '../../src/functions/deploy';
import { rollbackStack, upStack } from '../../src/functions/stack-deploy';
import { rollbackFunction } from '../../src/functions/rollback';
import { apiHandler } from '../../src/api/handlers';
import { functionConfPath } from '../../src/core/paths';
import { FaassError, ERRORS } from '../../src/core/errors';
import { managerlessPaths } from '../support/temp-paths';

const ctx: UnitContext = { node: '/usr/bin/node', dist: '/d', proxyd: '/usr/lib/systemd/systemd-socket-proxyd', xdg: { config: '/h/.config', data: '/h/.local/share', state: '/h/.local/state' }, engine: '/var/run/docker.sock', openfaasSecrets: false };
const gw = buildSettings({ listen: '127.0.0.1:8080' });
const GLOBAL = /^faass-(gateway|api|dispatch|revive)[-.@]/; // faass's own units: no function's
const baseOf = (file: string) => file.replace(/\.[a-z]+$/, '');
const config = (name: string, kind: 'function' | 'service'): FunctionConfig => (kind === 'service' ? buildFunctionConfig(name, { kind: 'service', port: '9001', runtime: 'exec', command: 'app' }) : buildFunctionConfig(name, { runtime: 'exec', command: 'cat' }));

// One function's units as renderAllUnits writes them, with a schedule, a file drop and a NATS
// bridge of the given ids (in turn), and a canary.
function rendered(fns: { name: string; kind: 'function' | 'service'; ids: string[] }[]): string[] {
  const schedules: Record<string, { schedule: ReturnType<typeof buildSchedule>; onCalendar: string[] }[]> = {};
  const drops: Record<string, ReturnType<typeof buildFileDrop>[]> = {};
  const nats: Record<string, ReturnType<typeof buildNatsTrigger>[]> = {};
  const canaries: Record<string, FunctionConfig> = {};
  for (const f of fns) {
    f.ids.forEach((id, i) => {
      if (i % 3 === 0) (schedules[f.name] ??= []).push({ schedule: buildSchedule(id, { spec: 'hourly', tz: 'UTC' }), onCalendar: ['hourly UTC'] });
      else if (i % 3 === 1) (drops[f.name] ??= []).push(buildFileDrop(id, { watch: `/srv/in-${f.name}-${id}` }));
      else (nats[f.name] ??= []).push(buildNatsTrigger(f.name, id, { nats: 'nats://127.0.0.1:4222', subject: 'a' }));
    });
    if (f.kind === 'function') canaries[f.name] = Object.freeze({ ...config(f.name, 'function'), version: { number: 2, code: 'c' } });
  }
  return Object.keys(renderAllUnits(gw, fns.map((f) => config(f.name, f.kind)), ctx, schedules, drops, nats, canaries)).filter((u) => !GLOBAL.test(u));
}

t.test("functionUnitBases lists the base of every unit a function has, whatever its kind and triggers", async (t) => {
  for (const kind of ['function', 'service'] as const) {
    for (const ids of [[], ['1'], ['1', 'x', 'app'], ['a', 'b', 'c', 'd']]) {
      const files = rendered([{ name: 'foo', kind, ids }]);
      const bases = functionUnitBases('foo', kind, ids);
      t.same(files.filter((f) => !bases.includes(baseOf(f))), [], `${kind} with triggers [${ids.join(',')}]: no unit outside its bases`);
    }
  }
});

// Names made to clash: each stem with the suffixes the unit names add, and trigger ids that are
// those suffixes' tails.
const STEMS = ['foo', 'x-y', 'foo-at'];
const NAMES = [...new Set(STEMS.flatMap((s) => [s, `${s}-app`, `${s}-at`, `${s}-at-1`, `${s}-at-app`, `${s}-at-x`, `${s}-app-at-1`, `${s}-at-1-app`]))];
const IDS = ['1', 'x', 'app', 'at'];
const KINDS = ['function', 'service'] as const;

t.test('property: names the check lets live side by side render no unit file, and no unit base, in common', async (t) => {
  let pairs = 0;
  let refused = 0;
  for (const a of NAMES) {
    for (const b of NAMES) {
      if (a === b) continue;
      for (const ka of KINDS) {
        for (const kb of KINDS) {
          // a first, with all its triggers; then b, refused if its bases meet a's; then b's
          // triggers one at a time, each refused if its base is a's.
          const aBases = functionUnitBases(a, ka, IDS);
          const others = new Map([[a, aBases]]);
          if (unitClash(functionUnitBases(b, kb, []), others)) {
            refused++;
            continue;
          }
          const bIds = IDS.filter((id) => !unitClash(functionUnitBases(b, kb, [id]).filter((x) => x.endsWith(`-at-${id}`)), others));
          refused += IDS.length - bIds.length;
          pairs++;
          const fa = rendered([{ name: a, kind: ka, ids: IDS }]);
          const fb = rendered([{ name: b, kind: kb, ids: bIds }]);
          const shared = fa.filter((f) => fb.includes(f));
          const sharedBases = fa.map(baseOf).filter((x) => fb.map(baseOf).includes(x));
          if (shared.length || sharedBases.length) t.fail(`${a} (${ka}, triggers ${IDS.join(',')}) and ${b} (${kb}, triggers ${bIds.join(',')}) share ${[...new Set([...shared, ...sharedBases])].join(', ')}`);
          // Rendered together, nothing is overwritten: each keeps every unit file of its own.
          const both = rendered([{ name: a, kind: ka, ids: IDS }, { name: b, kind: kb, ids: bIds }]);
          if (both.length !== fa.length + fb.length) t.fail(`${a} and ${b} rendered together lose ${fa.length + fb.length - both.length} unit files`);
        }
      }
    }
  }
  t.ok(pairs > 500, `${pairs} pairs checked`);
  t.ok(refused > 0, `${refused} clashes refused`);
  t.ok(unitClash(functionUnitBases('foo-app', 'function', []), new Map([['foo', functionUnitBases('foo', 'service', [])]])), 'function foo-app beside service foo: refused');
  t.ok(unitClash(functionUnitBases('foo-at', 'service', []), new Map([['foo', functionUnitBases('foo', 'function', ['app'])]])), "service foo-at beside foo's trigger app: refused");
  t.notOk(unitClash(functionUnitBases('foo-app', 'function', []), new Map([['foo', functionUnitBases('foo', 'function', ['1'])]])), 'function foo-app beside function foo: no clash, allowed');
});

const quietly = async <T>(f: () => Promise<T>): Promise<T> => {
  const out = process.stdout.write.bind(process.stdout);
  const err = process.stderr.write.bind(process.stderr);
  process.stdout.write = (() => true) as typeof process.stdout.write;
  process.stderr.write = (() => true) as typeof process.stderr.write;
  try {
    return await f();
  } finally {
    process.stdout.write = out;
    process.stderr.write = err;
  }
};
const refusal = async (f: () => Promise<unknown>): Promise<FaassError | string> => {
  try {
    await quietly(f);
    return 'no error';
  } catch (e) {
    return e instanceof FaassError ? e : String(e);
  }
};
const service = (name: string) => ({ name, kind: 'service', port: 19001, runtime: 'exec', command: 'sleep 100' });

t.test('faassctl deploy refuses a function whose units another function has, in either order, and writes nothing', async (t) => {
  const paths = managerlessPaths(t, 'unit-names');
  await quietly(() => deploy(paths, service('foo')));
  const e = await refusal(() => deploy(paths, { name: 'foo-app', command: 'cat' }));
  t.type(e, FaassError, 'function foo-app beside service foo is refused');
  if (typeof e !== 'string') {
    t.equal(e.code, 'FAASS_E_NAME_TAKEN');
    t.equal(ERRORS[e.code].exit, 2, 'exit code 2');
    t.match(e.message, /faass-fn-foo-app\.\* with function foo/, 'naming the unit and its owner');
  }
  t.notOk(fs.existsSync(functionConfPath(paths, 'foo-app')), 'nothing written');
  t.same(listFunctionNames(paths), ['foo']);

  await quietly(() => deploy(paths, { name: 'bar-app', command: 'cat' }));
  await quietly(() => deploy(paths, { name: 'bar', command: 'cat' }));
  const turned = await refusal(() => deploy(paths, service('bar')));
  t.equal(typeof turned === 'string' ? turned : turned.code, 'FAASS_E_NAME_TAKEN', 'function bar turned service beside function bar-app is refused');
  t.notMatch(fs.readFileSync(functionConfPath(paths, 'bar'), 'utf8'), /^kind=service$/m, 'and bar stays a function');
  t.equal(await refusal(() => deploy(paths, { name: 'bar', command: 'tr a-z A-Z' })), 'no error', 'a redeploy that adds no unit goes through');
});

t.test('a trigger whose units a function has is refused, and the other way round', async (t) => {
  const paths = managerlessPaths(t, 'unit-names');
  await quietly(() => deploy(paths, service('foo-at')));
  await quietly(() => deploy(paths, { name: 'foo', command: 'cat' }));
  const e = await refusal(() => addSchedule(paths, 'foo', { spec: 'hourly', tz: 'UTC' }, 'app'));
  t.equal(typeof e === 'string' ? e : e.code, 'FAASS_E_NAME_TAKEN', "foo's trigger app beside service foo-at (its app unit) is refused");
  await quietly(() => addSchedule(paths, 'foo', { spec: 'hourly', tz: 'UTC' }, '1'));
  const f = await refusal(() => deploy(paths, { name: 'foo-at-1', command: 'cat' }));
  t.equal(typeof f === 'string' ? f : f.code, 'FAASS_E_NAME_TAKEN', "function foo-at-1 beside foo's trigger 1 is refused");
});

t.test('the API answers 409 FAASS_E_NAME_TAKEN', async (t) => {
  const paths = managerlessPaths(t, 'unit-names');
  await quietly(() => deploy(paths, service('foo')));
  const server = http.createServer(apiHandler(paths));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => server.close());
  const answer = await quietly(
    () =>
      new Promise<{ status: number; code?: string }>((resolve, reject) => {
        const req = http.request({ host: '127.0.0.1', port: (server.address() as AddressInfo).port, path: '/system/functions', method: 'POST', headers: { 'content-type': 'application/json' } }, (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (d: Buffer) => chunks.push(d));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, code: (JSON.parse(Buffer.concat(chunks).toString() || '{}') as { error?: { code: string } }).error?.code }));
        });
        req.on('error', reject);
        req.end(JSON.stringify({ name: 'foo-app', command: 'cat' }));
      }),
  );
  t.same(answer, { status: 409, code: 'FAASS_E_NAME_TAKEN' });
  t.same(listFunctionNames(paths), ['foo'], 'nothing deployed');
});

t.test("a stack's up refuses members that would share units with each other, and deploys none", async (t) => {
  const paths = managerlessPaths(t, 'unit-names');
  const e = await refusal(() => upStack(paths, 'shop', [{ name: 'web', input: { kind: 'service', port: 19001, runtime: 'exec', command: 'app' } }, { name: 'web-app', input: { runtime: 'exec', command: 'cat' } }], {}));
  t.equal(typeof e === 'string' ? e : e.code, 'FAASS_E_NAME_TAKEN', 'service web and function web-app in one stack are refused');
  if (typeof e !== 'string') t.match(e.message, /web.*web-app|web-app.*web/, 'naming both');
  t.same(listFunctionNames(paths), [], 'neither is deployed');
});

t.test('a rollback to a service version is refused beside a function NAME-app deployed since', async (t) => {
  const paths = managerlessPaths(t, 'unit-names');
  await quietly(() => deploy(paths, service('web')));
  await quietly(() => deploy(paths, { name: 'web', kind: 'function', runtime: 'exec', command: 'cat' }));
  await quietly(() => deploy(paths, { name: 'web-app', command: 'cat' }));
  const e = await refusal(() => rollbackFunction(paths, 'web', { to: 1 }));
  t.equal(typeof e === 'string' ? e : e.code, 'FAASS_E_NAME_TAKEN', 'refused');
  t.notMatch(fs.readFileSync(functionConfPath(paths, 'web'), 'utf8'), /^kind=service$/m, 'web stays a function');
});

// The check reads the few functions whose units could be named so (units.ts unitBaseOwners), not
// every function on every deploy: with 1,000 functions it read 2,000 files a deploy (132 ms
// measured), and a stack's up read them again for each member.
t.test('the check reads only the functions that could have the units, not every function', async (t) => {
  const paths = managerlessPaths(t, 'unit-names');
  await quietly(() => deploy(paths, { name: 'seed', command: 'cat' }));
  const text = fs.readFileSync(functionConfPath(paths, 'seed'), 'utf8');
  for (let i = 0; i < 300; i++) fs.writeFileSync(functionConfPath(paths, `f${i}`), text);
  const dir = `${paths.configDir}/functions`;
  const read = nodeFs.readFileSync;
  let reads = 0;
  nodeFs.readFileSync = ((...a: Parameters<typeof read>) => {
    if (String(a[0]).startsWith(`${dir}/`)) reads++;
    return read(...a);
  }) as typeof read;
  try {
    refuseDeployClash(paths, 'f7-app', 'service');
    refuseTriggerClash(paths, 'f8', 'x');
  } finally {
    nodeFs.readFileSync = read;
  }
  t.ok(reads > 0 && reads <= 10, `${reads} function files read for a deploy and a trigger add beside 301 functions`);
  fs.writeFileSync(functionConfPath(paths, 'f7-app'), text);
  t.throws(() => refuseDeployClash(paths, 'f7', 'service'), { code: 'FAASS_E_NAME_TAKEN' }, 'a clash is still found: f7 turned service beside f7-app');
  t.doesNotThrow(() => refuseDeployClash(paths, 'f9-at-1', 'function'), 'f9 has no trigger 1: function f9-at-1 is allowed');
});

t.test('unitBaseOwners names every function that has a base (the inverse of functionUnitBases)', async (t) => {
  for (const n of NAMES) for (const k of KINDS) for (const b of functionUnitBases(n, k, IDS)) if (!unitBaseOwners(b).includes(n)) t.fail(`${b} (of ${n}, ${k}): owners ${unitBaseOwners(b).join(', ')}`);
  t.same(unitBaseOwners('faass-fn-a-at-b-app').sort(), ['a-at-b', 'a-at-b-app'], 'a name, a service, no trigger (ids have no dash)');
});

// A stack's up is one change: its members are checked against the functions as they will be after
// it (a member turned function, or deleted, no longer has its app's units), not as they were.
t.test("a stack's up that turns service web into a function, or drops it, beside a new web-app goes through", async (t) => {
  const paths = managerlessPaths(t, 'unit-names');
  const web = { name: 'web', input: { kind: 'service', port: 19001, runtime: 'exec', command: 'app' } };
  const webFn = { name: 'web', input: { runtime: 'exec', command: 'cat' } };
  const webApp = { name: 'web-app', input: { runtime: 'exec', command: 'cat' } };
  await quietly(() => upStack(paths, 'shop', [web], {}));
  t.equal(await refusal(() => upStack(paths, 'shop', [webFn, webApp], {})), 'no error', 'web turned function, web-app added: no unit shared after the up');
  t.same(listFunctionNames(paths), ['web', 'web-app']);
  t.equal(await refusal(() => rollbackStack(paths, 'shop', {})), 'no error', 'the stack rolled back: web a service again, web-app deleted, in one change');
  t.same(listFunctionNames(paths), ['web']);
  t.equal(await refusal(() => upStack(paths, 'shop', [webFn, webApp], {})), 'no error', 'up again');
  t.equal(await refusal(() => upStack(paths, 'shop', [web], {})), 'no error', 'web a service again while the up drops web-app');
  t.same(listFunctionNames(paths), ['web'], 'web a service again, web-app dropped, in one up');
  t.equal(await refusal(() => upStack(paths, 'shop', [webApp], {})), 'no error', 'web dropped, web-app added');
  t.same(listFunctionNames(paths), ['web-app']);
  const e = await refusal(() => upStack(paths, 'other', [web], {}));
  t.equal(typeof e === 'string' ? e : e.code, 'FAASS_E_NAME_TAKEN', "another stack's service web beside web-app, which stays: refused");
});

// A triggers file that does not read hides which triggers the function has, not that it has them:
// its trigger units stay (applyUnits renders nothing while it is broken) and come back once it is
// fixed. So a name one of its triggers could have is refused, as an unreadable function counts as
// a service.
t.test("beside a function whose triggers file does not read, a name its triggers could have is refused", async (t) => {
  const paths = managerlessPaths(t, 'unit-names');
  await quietly(() => deploy(paths, { name: 'foo', command: 'cat' }));
  await quietly(() => addSchedule(paths, 'foo', { spec: 'hourly', tz: 'UTC' }, '1'));
  fs.writeFileSync(schedulesPath(paths, 'foo'), '[schedule 1\nspec=\n');
  t.throws(() => refuseDeployClash(paths, 'foo-at-1', 'function'), { code: 'FAASS_E_NAME_TAKEN' }, 'function foo-at-1: refused');
  t.doesNotThrow(() => refuseDeployClash(paths, 'foo-app', 'function'), 'a name no trigger can have: allowed');
});

// A deploy's claim is on its own name, and its check comes before its dependencies are installed:
// a deploy of another name in that gap, whose units the first would share, passed its own check
// too, and both were written. The commit checks again, under a lock every such write takes.
t.test("a function deployed between another deploy's check and its commit: the commit is refused there and undone", async (t) => {
  const paths = managerlessPaths(t, 'unit-names');
  await quietly(() => deploy(paths, { name: 'web', command: 'cat' }));
  const p = await quietly(() => prepareDeploy(paths, { name: 'web', input: { kind: 'service', port: 19001, runtime: 'exec', command: 'app' } }));
  await quietly(() => deploy(paths, { name: 'web-app', command: 'cat' })); // in the gap: web is a function still
  const e = await refusal(async () => commitFile(paths, 'web', p.text, p.cfg.kind));
  t.equal(typeof e === 'string' ? e : e.code, 'FAASS_E_NAME_TAKEN', 'the commit checks again and refuses');
  settleFailed(paths, p.intent, false); // what deployFunction does with an error before its commit point
  t.notMatch(fs.readFileSync(functionConfPath(paths, 'web'), 'utf8'), /^kind=service$/m, 'web stays a function');
});
