// Secrets (issue 15): the store, the function file's names, the units and containers that hand
// them over, and the API's route, with no manager (deploys in-process, as versions.test.ts).
import t from 'tap';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Paths, secretPath, functionConfPath, canaryConfPath } from '../../src/core/paths';
import { FaassError } from '../../src/core/errors';
import { writeSecret, listSecrets, removeSecret, requireSecrets, secretUsers, secretRunners, SECRET_MAX } from '../../src/functions/secrets';
import { buildFunctionConfig, parseFunctionConfig, renderFunctionConfig } from '../../src/functions/function-config';
import { deployFunction, prepareDeploy, commitFile, settleFailed } from '../../src/functions/deploy';
import { listRecords } from '../../src/functions/versions';
import { rollbackFunction } from '../../src/functions/rollback';
import { renderFunctionService, renderServiceApp, UnitContext } from '../../src/systemd/units';
import { containerSpec } from '../../src/docker/container-spec';
import { secretsRoute } from '../../src/api/secrets';
import { managerlessPaths } from '../support/temp-paths';

const tempPaths = (t: { teardown(f: () => void): void }): Paths => managerlessPaths(t, 'secrets');

const codeOf = async (f: () => unknown): Promise<string> => {
  try {
    await f();
    return 'no error';
  } catch (e) {
    return e instanceof FaassError ? e.code : String(e);
  }
};

const deploy = (paths: Paths, name: string, secrets?: string) => deployFunction(paths, { name, input: { runtime: 'exec', command: 'cat', ...(secrets === undefined ? {} : { secrets }) } });

t.test('the store: 0600 in 0700, the bytes as given, created kept and updated moved on replace', async (t) => {
  const paths = tempPaths(t);
  t.same(writeSecret(paths, 'api-key', Buffer.from('one\n')), { created: true });
  t.equal(fs.readFileSync(secretPath(paths, 'api-key'), 'utf8'), 'one\n', 'a final newline is kept: the bytes as given');
  t.equal(fs.statSync(secretPath(paths, 'api-key')).mode & 0o777, 0o600);
  t.equal(fs.statSync(path.dirname(secretPath(paths, 'api-key'))).mode & 0o777, 0o700);
  const [first] = listSecrets(paths);
  t.same({ name: first.name, size: first.size, usedBy: first.usedBy }, { name: 'api-key', size: 4, usedBy: [] });
  fs.utimesSync(secretPath(paths, 'api-key'), new Date(0), new Date(0)); // an old value
  t.same(writeSecret(paths, 'api-key', Buffer.from('two-two')), { created: false }, 'the same name again replaces it');
  const [second] = listSecrets(paths);
  t.equal(second.size, 7);
  t.equal(second.created, first.created, 'created is kept');
  t.not(second.updated, new Date(0).toISOString(), 'updated is the new value\'s');
  t.same(listSecrets(paths).map((s) => s.name), ['api-key'], 'its lock, times and temporary files are not secrets');
  t.equal(await codeOf(() => writeSecret(paths, 'api-key', Buffer.alloc(0))), 'FAASS_E_CONFIG_INVALID', 'empty: refused');
  t.equal(await codeOf(() => writeSecret(paths, 'api-key', Buffer.alloc(SECRET_MAX + 1))), 'FAASS_E_CONFIG_INVALID', 'over 64 KiB: refused');
  for (const bad of ['API', 'a.b', 'a/b', '../x', 'a:b', '']) t.equal(await codeOf(() => writeSecret(paths, bad, Buffer.from('x'))), 'FAASS_E_NAME_INVALID', `name ${JSON.stringify(bad)} refused`);
  t.equal(fs.readFileSync(secretPath(paths, 'api-key'), 'utf8'), 'two-two', 'a refused value leaves the stored one');
});

t.test("a function's file names its secrets; never a value", async (t) => {
  const cfg = buildFunctionConfig('f', { runtime: 'exec', command: 'cat', secrets: 'db, api-key,db' });
  t.same(cfg.secrets, ['api-key', 'db'], 'sorted, each once');
  t.match(renderFunctionConfig(cfg), /^secrets=api-key,db$/m);
  t.same(parseFunctionConfig('f', renderFunctionConfig(cfg)).secrets, ['api-key', 'db'], 'read back');
  t.same(buildFunctionConfig('f', { runtime: 'exec', command: 'cat' }).secrets, [], 'none by default');
  t.notMatch(renderFunctionConfig(buildFunctionConfig('f', { runtime: 'exec', command: 'cat' })), /secrets/, 'and then no key');
  t.throws(() => buildFunctionConfig('f', { runtime: 'exec', command: 'cat', secrets: 'Bad_Name' }), { code: 'FAASS_E_CONFIG_INVALID', message: /secrets: Invalid secret name "Bad_Name"/ });
  t.same(buildFunctionConfig('w', { kind: 'service', port: '9000', runtime: 'exec', command: 'x', secrets: 'a' }).secrets, ['a'], 'a service names them too');
});

t.test('deploys and rollbacks naming a missing secret change nothing; a secret in use is not removed', async (t) => {
  const paths = tempPaths(t);
  t.equal(await codeOf(() => deploy(paths, 'f', 'nope')), 'FAASS_E_SECRET_NOT_FOUND', 'a first deploy naming a missing secret: refused');
  t.notOk(fs.existsSync(functionConfPath(paths, 'f')), 'and no function is made');
  writeSecret(paths, 'k', Buffer.from('v'));
  await deploy(paths, 'f', 'k'); // version 1 names k
  t.same(secretUsers(paths, 'k'), ['f']);
  t.same(listSecrets(paths)[0].usedBy, ['f'], 'ls says who names it');
  const before = fs.readFileSync(functionConfPath(paths, 'f'), 'utf8');
  t.equal(await codeOf(() => deploy(paths, 'f', 'k,nope')), 'FAASS_E_SECRET_NOT_FOUND', 'a redeploy naming a missing one: refused');
  t.equal(fs.readFileSync(functionConfPath(paths, 'f'), 'utf8'), before, 'its file as it was');
  t.equal(await codeOf(() => removeSecret(paths, 'k')), 'FAASS_E_SECRET_IN_USE', 'removing a secret in use: refused');
  t.throws(() => removeSecret(paths, 'k'), { message: /named by function f: deploy it without --secret k first/ });
  await deploy(paths, 'f'); // version 2 names none
  removeSecret(paths, 'k');
  t.same(listSecrets(paths), [], 'removed once nothing names it');
  t.equal(await codeOf(() => removeSecret(paths, 'k')), 'FAASS_E_SECRET_NOT_FOUND');
  const now = fs.readFileSync(functionConfPath(paths, 'f'), 'utf8');
  t.equal(await codeOf(() => rollbackFunction(paths, 'f', { to: 1 })), 'FAASS_E_SECRET_NOT_FOUND', 'a rollback to a version naming a removed secret: refused');
  t.equal(fs.readFileSync(functionConfPath(paths, 'f'), 'utf8'), now, 'and the function stays as it is');
  t.doesNotThrow(() => requireSecrets(paths, 'f', []));
});

// A deploy checks its secrets before it changes anything, then builds, installs and records its
// version, and only then commits (writes the function's file): deployFunction is prepareDeploy,
// then commitFile. A removal in that gap found nothing naming the secret and went through; the
// deploy then committed a function naming a missing secret, whose unit failed every start.
t.test('a secret removed between a deploy\'s check and its commit: the deploy is refused there and undone', async (t) => {
  const paths = tempPaths(t);
  writeSecret(paths, 'k', Buffer.from('v'));
  const p = await prepareDeploy(paths, { name: 'f', input: { runtime: 'exec', command: 'cat', secrets: 'k' } });
  removeSecret(paths, 'k'); // in the gap: nothing names it yet, so the removal goes through
  t.equal(await codeOf(() => commitFile(paths, 'f', p.text, p.cfg.kind)), 'FAASS_E_SECRET_NOT_FOUND', 'the commit checks again, under the store lock, and refuses');
  t.notOk(fs.existsSync(functionConfPath(paths, 'f')), 'no function file names the missing secret');
  settleFailed(paths, p.intent, false); // what deployFunction does with an error before its commit point
  t.same(listRecords(paths, 'f'), [], 'and its version record is undone');
  // The other order: committed first, the removal then finds the secret named.
  writeSecret(paths, 'k', Buffer.from('v'));
  const q = await prepareDeploy(paths, { name: 'f', input: { runtime: 'exec', command: 'cat', secrets: 'k' } });
  commitFile(paths, 'f', q.text, q.cfg.kind);
  t.equal(await codeOf(() => removeSecret(paths, 'k')), 'FAASS_E_SECRET_IN_USE', 'a removal after the commit is refused');
  settleFailed(paths, q.intent, true);
});

t.test("a canary's secrets: not removed under it, and its runner restarted with the function's on a new value", async (t) => {
  const paths = tempPaths(t);
  writeSecret(paths, 'old', Buffer.from('1'));
  writeSecret(paths, 'new', Buffer.from('2'));
  await deploy(paths, 'f', 'old');
  // What deploy --canary writes (it needs a user manager): the canary version's function file.
  fs.mkdirSync(path.dirname(canaryConfPath(paths, 'f')), { recursive: true });
  fs.writeFileSync(canaryConfPath(paths, 'f'), fs.readFileSync(functionConfPath(paths, 'f'), 'utf8').replace(/secrets *= *old/, 'secrets = old,new'));
  t.equal(await codeOf(() => removeSecret(paths, 'new')), 'FAASS_E_SECRET_IN_USE', "a secret only the canary names: its runner would fail every start (243/CREDENTIALS)");
  t.throws(() => removeSecret(paths, 'new'), { message: /named by function f \(its canary\)/ });
  t.same(secretRunners(paths, 'old'), ['faass-fn-f.service', 'faass-canary-f.service'], "a new value restarts both runners: the canary's would serve the old one while warm");
  t.same(secretRunners(paths, 'new'), ['faass-canary-f.service']);
  t.same(listSecrets(paths).map((s) => [s.name, s.usedBy]), [['new', ['f (its canary)']], ['old', ['f']]]);
});

const ctx: UnitContext = { node: '/usr/bin/node', dist: '/d', proxyd: '/p', xdg: { config: '/home/u/.config', data: '/home/u/.local/share', state: '/home/u/.local/state' }, engine: '/var/run/docker.sock' };

t.test("the unit loads each secret as a credential; OpenFaaS's path where its mount point exists", async (t) => {
  const withSecrets = buildFunctionConfig('f', { runtime: 'node', file: 'h.js', secrets: 'db,api-key' });
  const unit = renderFunctionService(withSecrets, { ...ctx, openfaasSecrets: true });
  t.match(unit, /^LoadCredential=api-key:\/home\/u\/\.config\/faass\/secrets\/api-key\nLoadCredential=db:\/home\/u\/\.config\/faass\/secrets\/db\nBindReadOnlyPaths=%d:\/var\/openfaas\/secrets$/m);
  t.notMatch(renderFunctionService(withSecrets, ctx), /openfaas/, 'no mount point on the host: no bind (it would fail the unit)');
  t.notMatch(renderFunctionService(buildFunctionConfig('f', { runtime: 'node', file: 'h.js' }), { ...ctx, openfaasSecrets: true }), /LoadCredential|openfaas/, 'no secrets: neither');
  const docker = renderFunctionService(buildFunctionConfig('f', { runtime: 'docker', image: 'busybox', secrets: 'db' }), { ...ctx, openfaasSecrets: true });
  t.notMatch(docker, /LoadCredential|openfaas/, "a docker function's unit loads none: its runner binds the store's files into its containers");
});

t.test("a service: its app's unit loads them, a container app has them bound, a new value restarts its app", async (t) => {
  const app = renderServiceApp(buildFunctionConfig('w', { kind: 'service', port: '9000', runtime: 'exec', command: 'x', secrets: 'db' }), { ...ctx, openfaasSecrets: true });
  t.match(app, /^LoadCredential=db:\/home\/u\/\.config\/faass\/secrets\/db\nBindReadOnlyPaths=%d:\/var\/openfaas\/secrets$/m, "the app unit, as a runner's");
  t.notMatch(renderFunctionService(buildFunctionConfig('w', { kind: 'service', port: '9000', runtime: 'exec', command: 'x', secrets: 'db' }), ctx), /LoadCredential/, 'not its proxy');
  const boxed = buildFunctionConfig('w', { kind: 'service', port: '9000', runtime: 'docker', image: 'busybox', secrets: 'db' });
  t.notMatch(renderServiceApp(boxed, { ...ctx, openfaasSecrets: true }), /LoadCredential|openfaas/, "a container app's unit loads none");
  const spec = containerSpec(boxed, { kind: 'service', install: 'i', secrets: '/s' });
  t.same(spec.HostConfig?.Mounts, [{ Type: 'bind', Source: '/s/db', Target: '/var/openfaas/secrets/db', ReadOnly: true }], "the app's container has each bound read-only");
  t.ok(spec.Env?.includes('CREDENTIALS_DIRECTORY=/var/openfaas/secrets'));
  t.equal(containerSpec(boxed, { kind: 'service', install: 'i' }).HostConfig?.Mounts, undefined);
  const paths = tempPaths(t);
  writeSecret(paths, 'db', Buffer.from('v'));
  await deployFunction(paths, { name: 'w', input: { kind: 'service', port: '9000', runtime: 'exec', command: 'x', secrets: 'db' } });
  t.same(secretRunners(paths, 'db'), ['faass-fn-w-app.service'], "a new value restarts the app's unit, which loads it");
  t.equal(await codeOf(() => removeSecret(paths, 'db')), 'FAASS_E_SECRET_IN_USE', 'and it is not removed under the service');
});

t.test("a call's container: each secret bound read-only at /var/openfaas/secrets/NAME", async (t) => {
  const cfg = buildFunctionConfig('up', { runtime: 'docker', image: 'busybox', secrets: 'db,api-key' });
  const spec = containerSpec(cfg, { kind: 'call', install: 'i', callId: 'c', env: {}, secrets: '/home/u/.config/faass/secrets' });
  t.same(spec.HostConfig?.Mounts, [
    { Type: 'bind', Source: '/home/u/.config/faass/secrets/api-key', Target: '/var/openfaas/secrets/api-key', ReadOnly: true },
    { Type: 'bind', Source: '/home/u/.config/faass/secrets/db', Target: '/var/openfaas/secrets/db', ReadOnly: true },
  ]);
  t.ok(spec.Env?.includes('CREDENTIALS_DIRECTORY=/var/openfaas/secrets'), 'and named by CREDENTIALS_DIRECTORY, as in a process');
  const none = containerSpec(buildFunctionConfig('up', { runtime: 'docker', image: 'busybox' }), { kind: 'call', install: 'i', callId: 'c', env: {} });
  t.equal(none.HostConfig?.Mounts, undefined, 'no secrets: no mounts');
});

t.test('the API route: OpenFaaS verbs, never a value in an answer', async (t) => {
  const paths = tempPaths(t);
  const serialized = <T>(f: () => Promise<T>) => f();
  const route = (method: string, body?: unknown) => secretsRoute(paths, method, async () => body, serialized);
  t.same(await route('POST', { name: 'db', value: 'hunter2' }), { status: 201, body: { name: 'db', size: 7, created: true, restarted: [] } });
  t.equal(await codeOf(() => route('POST', { name: 'db', value: 'x' })), 'FAASS_E_SECRET_EXISTS');
  t.equal((await route('PUT', { name: 'db', rawValue: Buffer.from('\x00bin').toString('base64') })).status, 200, 'PUT replaces; rawValue is any bytes');
  t.same(fs.readFileSync(secretPath(paths, 'db')), Buffer.from('\x00bin'));
  t.equal(await codeOf(() => route('PUT', { name: 'nodb', value: 'x' })), 'FAASS_E_SECRET_NOT_FOUND');
  for (const bad of [{ name: 'db' }, { name: 'db', value: 'a', rawValue: 'YQ==' }, { name: 'db', value: 1 }, { name: 'db', rawValue: 'not base64!' }, { name: 'db', value: 'a', extra: 1 }, null, []]) t.equal(await codeOf(() => route('POST', bad)), 'FAASS_E_USAGE', `${JSON.stringify(bad)} refused`);
  const list = await route('GET');
  t.equal(JSON.stringify(list).includes('bin'), false, 'the list holds no value');
  t.same((list.body as { name: string; size: number }[]).map((s) => [s.name, s.size]), [['db', 4]]);
  t.same(await route('DELETE', { name: 'db' }), { status: 200, body: { name: 'db', deleted: true } });
  t.equal(await codeOf(() => route('DELETE', { name: 'db' })), 'FAASS_E_SECRET_NOT_FOUND');
});
