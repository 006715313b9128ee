// Numbered versions and rollback (issue 15): what a deploy records, what a rollback restores,
// what is pruned, and the X-Faass-Version a runner answers with. Deploys run in-process against
// temporary XDG dirs with no user manager reachable (files and units written, nothing loaded).
import t from 'tap';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { resolvePaths, canaryConfPath, canaryRoutePath, functionConfPath, functionCodeDir, gatewayConfPath, versionRecordsDir, Paths } from '../../src/core/paths';
import { deploy } from '../../src/faassctl/deploy';
import { DeployArgs } from '../../src/faassctl/deploy-input';
import { rollbackFunction } from '../../src/functions/rollback';
import { buildFunctionConfig, loadFunctionConfig, withVersion } from '../../src/functions/function-config';
import { codeDirOf, currentCode, versionsDir } from '../../src/functions/code-versions';
import { beginDeploy, aboutToRecord, recoverFiles } from '../../src/functions/deploy-intent';
import { buildCanaryRoute, renderCanaryRoute } from '../../src/functions/canary-spec';
import { checkMessage, readRecord, listRecords, recordsToPrune, rollbackTarget, treeDigest, versionsView, widerAccess, writeRecord, MESSAGE_MAX } from '../../src/functions/versions';
import { CallRunner } from '../../src/runner/runner';
import { Executor } from '../../src/runner/call';
import { FaassError } from '../../src/core/errors';
import { buildSettings } from '../../src/core/settings';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { apiHandler } from '../../src/api/handlers';
import { ApiProxy } from '../../src/gateway/api-proxy';
import { ServiceForwarder } from '../../src/gateway/service-forward';
import { functionSocketPath } from '../../src/core/paths';
import yargs, { Argv } from 'yargs';
import { Cli, Global } from '../../src/faassctl/cli';
import { register as registerVersions } from '../../src/faassctl/versions';
import { managerlessPaths } from '../support/temp-paths';

const tempPaths = (t: { teardown(f: () => void): void }): Paths => managerlessPaths(t, 'versions');

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

const codeOf = async (f: () => Promise<unknown>): Promise<string> => {
  try {
    await quietly(f);
    return 'no error';
  } catch (e) {
    return e instanceof FaassError ? e.code : String(e);
  }
};

// A handler file whose body names its version, as the integration test's do.
function handler(paths: Paths, tag: string): string {
  const file = path.join(paths.stateDir, '..', `src-${tag}`, 'handler.js');
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, `module.exports = async () => '${tag}';\n`);
  return file;
}

const dep = (paths: Paths, a: Partial<DeployArgs> & { fromFile?: string }) => quietly(() => deploy(paths, { name: 'f', runtime: 'node', ...a } as DeployArgs));
const servedBody = (paths: Paths) => fs.readFileSync(path.join(codeDirOf(paths, 'f', loadFunctionConfig(paths, 'f').version), 'handler.js'), 'utf8');

t.test('a deploy that changes code or settings records a new number; one that changes nothing does not', async (t) => {
  const paths = tempPaths(t);
  await dep(paths, { fromFile: handler(paths, 'v1'), message: 'first' });
  await dep(paths, { fromFile: handler(paths, 'v1') });
  t.same(versionsView(paths, 'f').map((v) => [v.number, v.current, v.message]), [[1, true, 'first']], 'the same code and settings again: still version 1');
  await dep(paths, { fromFile: handler(paths, 'v2'), message: 'new code' });
  const before = currentCode(paths, 'f');
  await dep(paths, { fromFile: handler(paths, 'v2'), timeout: '5' });
  t.equal(currentCode(paths, 'f'), before, 'the same code with new settings keeps its directory');
  const view = versionsView(paths, 'f');
  t.same(view.map((v) => [v.number, v.current, v.message]), [[1, false, 'first'], [2, false, 'new code'], [3, true, '']], 'new code: 2; new settings alone: 3');
  t.equal(view[1].code_digest, view[2].code_digest, 'a settings change keeps the code (digest)');
  t.not(view[1].settings_digest, view[2].settings_digest, 'and changes the settings digest');
  t.not(view[0].code_digest, view[1].code_digest, 'new code, new code digest');
  t.equal(view[2].who, os.userInfo().username, 'who: the local user');
  t.equal(view[2].via, 'local');
  t.notOk(JSON.stringify(view).includes('runtime'), 'the view holds no settings, only their digest');
  t.equal(loadFunctionConfig(paths, 'f').version?.number, 3, "the function's file names the current version");
});

t.test('--message: one line of bounded length, else refused before anything changes', async (t) => {
  t.equal(checkMessage('  fix the typo '), 'fix the typo');
  t.equal(checkMessage(undefined), '');
  t.throws(() => checkMessage('two\nlines'), { code: 'FAASS_E_USAGE' });
  t.throws(() => checkMessage('x'.repeat(MESSAGE_MAX + 1)), { code: 'FAASS_E_USAGE' });
  const paths = tempPaths(t);
  await dep(paths, { fromFile: handler(paths, 'v1') });
  t.equal(await codeOf(() => deploy(paths, { name: 'f', runtime: 'node', fromFile: handler(paths, 'v2'), message: 'a\tb' } as DeployArgs)), 'FAASS_E_USAGE');
  t.same(versionsView(paths, 'f').map((v) => v.number), [1], 'no version recorded');
  t.match(servedBody(paths), /'v1'/, 'the code is still v1');
});

t.test('rollback: code and settings back in one step, no new number; its errors', async (t) => {
  const paths = tempPaths(t);
  await dep(paths, { fromFile: handler(paths, 'v1'), timeout: '3' });
  await dep(paths, { fromFile: handler(paths, 'v2'), timeout: '4' });
  const r = await quietly(() => rollbackFunction(paths, 'f'));
  t.same([r.from, r.to], [2, 1], 'default: the version before the current');
  t.equal(loadFunctionConfig(paths, 'f').timeout, 3, 'settings of version 1');
  t.match(servedBody(paths), /'v1'/, 'code of version 1 (the runner serves the directory the file names)');
  t.match(fs.readFileSync(path.join(functionCodeDir(paths, 'f'), 'handler.js'), 'utf8'), /'v1'/, 'and the code link agrees');
  t.same(versionsView(paths, 'f').map((v) => [v.number, v.current]), [[1, true], [2, false]], 'the pointer moved; no new number');
  t.equal(await codeOf(() => rollbackFunction(paths, 'f')), 'FAASS_E_VERSION_NOT_FOUND', 'nothing before version 1');
  t.equal(await codeOf(() => rollbackFunction(paths, 'f', { to: 1 })), 'FAASS_E_VERSION_CURRENT', 'already current');
  t.equal(await codeOf(() => rollbackFunction(paths, 'f', { to: 7 })), 'FAASS_E_VERSION_NOT_FOUND', 'unknown number');
  t.equal(await codeOf(() => rollbackFunction(paths, 'nope')), 'FAASS_E_FUNCTION_NOT_FOUND', 'unknown function');
  await quietly(() => rollbackFunction(paths, 'f', { to: 2 }));
  t.match(servedBody(paths), /'v2'/, 'and forward again');
  await dep(paths, { fromFile: handler(paths, 'v3') });
  t.same(versionsView(paths, 'f').map((v) => v.number), [1, 2, 3], 'the next deploy takes the next number');
});

t.test('a rollback that would let more callers in is refused unless told', async (t) => {
  const paths = tempPaths(t);
  await dep(paths, { fromFile: handler(paths, 'v1') });
  await dep(paths, { fromFile: handler(paths, 'v2'), auth: 'ci' });
  t.equal(await codeOf(() => rollbackFunction(paths, 'f')), 'FAASS_E_ACCESS_WIDER', 'version 1 is public: refused');
  t.same(loadFunctionConfig(paths, 'f').auth, ['ci'], 'nothing changed');
  await quietly(() => rollbackFunction(paths, 'f', { restoreAccess: true }));
  t.same(loadFunctionConfig(paths, 'f').auth, [], 'told: public again');
  t.equal(await codeOf(() => rollbackFunction(paths, 'f', { to: 2 })), 'no error', 'narrowing needs no word');
  const a = (auth: string[], passAuthorization = false) => ({ auth, passAuthorization });
  t.equal(widerAccess(a([]), a(['ci'])), null);
  t.equal(widerAccess(a(['ci', 'ops']), a(['ci'])), null);
  t.match(widerAccess(a(['ci']), a(['ci', 'ops'])), /ops may call it there/);
  t.match(widerAccess(a([]), a([], true)), /Authorization/);
});

t.test('keep_versions: the newest K and the current one are kept, code no version needs is pruned', async (t) => {
  t.same(recordsToPrune([1, 2, 3, 4, 5], 2, 5), [1, 2, 3]);
  t.same(recordsToPrune([1, 2, 3, 4, 5], 2, 1), [2, 3], 'the current one is never pruned');
  t.same(recordsToPrune([1, 2, 3, 4, 5, 6], 2, 6, 1), [2, 3, 4], 'nor the one it replaced (1, current after a rollback, when 6 is deployed)');
  const paths = tempPaths(t);
  fs.mkdirSync(path.dirname(gatewayConfPath(paths)), { recursive: true });
  fs.writeFileSync(gatewayConfPath(paths), '[gateway]\nkeep_versions = 2\n');
  for (const v of ['v1', 'v2', 'v3']) await dep(paths, { fromFile: handler(paths, v) });
  await quietly(() => rollbackFunction(paths, 'f', { to: 2 }));
  for (const v of ['v4', 'v5']) await dep(paths, { fromFile: handler(paths, v) });
  t.same(versionsView(paths, 'f').map((v) => v.number), [4, 5], 'two kept');
  await quietly(() => rollbackFunction(paths, 'f', { to: 4 }));
  await dep(paths, { fromFile: handler(paths, 'v6') });
  await dep(paths, { fromFile: handler(paths, 'v7') });
  t.same(versionsView(paths, 'f').map((v) => v.number), [6, 7], 'the newest two');
  t.equal(await codeOf(() => rollbackFunction(paths, 'f', { to: 4 })), 'FAASS_E_VERSION_NOT_FOUND', 'a pruned version: refused');
  const codes = fs.readdirSync(versionsDir(paths, 'f')).filter((d) => !d.startsWith('.'));
  t.ok(codes.length <= 3, `code directories: those of the kept versions and the one before the last switch (${codes.length})`);
  for (const r of listRecords(paths, 'f')) t.ok(codes.includes(r.code), `the code of version ${r.number} is there`);
  t.throws(() => buildSettings({ keep_versions: '0' }), { code: 'FAASS_E_CONFIG_INVALID' }, 'keep_versions 0 is refused');
});


t.test("records kept among the code directories (as the first faass with versions did) are moved out at the next look", async (t) => {
  const paths = tempPaths(t);
  await dep(paths, { fromFile: handler(paths, 'v1') });
  await dep(paths, { fromFile: handler(paths, 'v2') });
  const old = path.join(versionsDir(paths, 'f'), '.versions');
  fs.renameSync(versionRecordsDir(paths, 'f'), old);
  t.same(versionsView(paths, 'f').map((v) => v.number), [1, 2], 'both found');
  t.notOk(fs.existsSync(old), 'and moved out of the code directories, which the unit binds');
  t.ok(fs.existsSync(path.join(versionRecordsDir(paths, 'f'), '2.json')));
});

t.test('an install from before versions: its code keeps working and becomes version 1', async (t) => {
  const paths = tempPaths(t);
  await dep(paths, { fromFile: handler(paths, 'v1'), timeout: '3' });
  // As faass wrote it before versions: no [version], no records.
  const conf = fs.readFileSync(functionConfPath(paths, 'f'), 'utf8');
  fs.writeFileSync(functionConfPath(paths, 'f'), conf.replace(/\n\[version\][^]*$/, '\n'));
  fs.rmSync(versionRecordsDir(paths, 'f'), { recursive: true });
  t.equal(loadFunctionConfig(paths, 'f').version, undefined, 'an unnumbered function');
  t.match(servedBody(paths), /'v1'/, 'served through the link');
  await dep(paths, { fromFile: handler(paths, 'v2'), timeout: '4' });
  t.same(versionsView(paths, 'f').map((v) => [v.number, v.who, v.current]), [[1, 'unknown', false], [2, os.userInfo().username, true]], 'the old one recorded as 1, the new one is 2');
  await quietly(() => rollbackFunction(paths, 'f'));
  t.equal(loadFunctionConfig(paths, 'f').timeout, 3, 'and a rollback returns to it');
  t.match(servedBody(paths), /'v1'/);
});

t.test("a deploy killed before its commit point: its number is gone with it", async (t) => {
  const paths = tempPaths(t);
  await dep(paths, { fromFile: handler(paths, 'v1') });
  const intent = beginDeploy(paths, 'f', null);
  aboutToRecord(paths, intent, 2);
  writeRecord(paths, 'f', { ...listRecords(paths, 'f')[0], number: 2, message: 'never current' });
  t.equal(recoverFiles(paths, intent), 'undo');
  t.same(listRecords(paths, 'f').map((r) => r.number), [1], 'the record it wrote is removed');
  t.equal(currentCode(paths, 'f'), loadFunctionConfig(paths, 'f').version?.code, 'the code is version 1');
});

t.test('rollbackTarget', async (t) => {
  t.equal(rollbackTarget('f', [1, 2, 3], 3), 2);
  t.equal(rollbackTarget('f', [1, 3, 5], 5), 3, 'the newest kept before the current');
  t.equal(rollbackTarget('f', [1, 2, 3], 2), 1, 'before the current, not before the newest');
  t.equal(rollbackTarget('f', [4, 5], 5, 4), 4);
  t.throws(() => rollbackTarget('f', [4, 5], 5, 2), { code: 'FAASS_E_VERSION_NOT_FOUND', message: /no longer kept/ });
  t.throws(() => rollbackTarget('f', [4, 5], 5, 9), { code: 'FAASS_E_VERSION_NOT_FOUND', message: /has no version 9/ });
  t.throws(() => rollbackTarget('f', [4, 5], 5, 5), { code: 'FAASS_E_VERSION_CURRENT' });
  t.throws(() => rollbackTarget('f', [4, 5], 4), { code: 'FAASS_E_VERSION_NOT_FOUND' });
});

t.test('treeDigest: content, names, the execute bit and link targets count', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'faass-digest-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  fs.mkdirSync(path.join(dir, 'lib'));
  fs.writeFileSync(path.join(dir, 'lib', 'a.js'), 'a');
  fs.writeFileSync(path.join(dir, 'run'), 'b', { mode: 0o600 });
  const d0 = treeDigest(dir);
  t.equal(treeDigest(dir), d0, 'stable');
  fs.chmodSync(path.join(dir, 'run'), 0o700);
  const d1 = treeDigest(dir);
  t.not(d1, d0, 'executable now');
  fs.symlinkSync('lib/a.js', path.join(dir, 'link'));
  const d2 = treeDigest(dir);
  t.not(d2, d1, 'a link');
  fs.writeFileSync(path.join(dir, 'lib', 'a.js'), 'A');
  t.not(treeDigest(dir), d2, 'content');
});

t.test('every answer of a runner carries its version; a function cannot set it', async (t) => {
  const cfg = { ...buildFunctionConfig('f', { runtime: 'exec', command: 'cat' }), version: { number: 7, code: 'abc-123' } };
  const forging: Executor = { invoke: async () => ({ status: 200, headers: { 'X-Faass-Version': '99', 'x-faass-version': '98' }, body: Buffer.from('ok') }), close: async () => undefined, describe: () => 'test' };
  const r = await new CallRunner(cfg, forging, false).run({ method: 'POST', url: '/', headers: {}, body: Buffer.alloc(0) });
  t.equal(r.headers['x-faass-version'], '7', 'the version the runner started with');
  t.same(Object.keys(r.headers).filter((k) => k.toLowerCase() === 'x-faass-version'), ['x-faass-version'], 'once');
  const failing: Executor = { invoke: async () => Promise.reject(new Error('boom')), close: async () => undefined, describe: () => 'test' };
  t.equal((await new CallRunner(cfg, failing, false).run({ method: 'POST', url: '/', headers: {}, body: Buffer.alloc(0) })).headers['x-faass-version'], '7', 'an error answer too');
});

// The management API on a local port, as the gateway forwards to it.
async function api(t: { teardown(f: () => void): void }, paths: Paths) {
  const server = http.createServer(apiHandler(paths));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => server.close());
  return (method: string, url: string, body?: unknown, headers: Record<string, string> = {}) =>
    quietly(
      () =>
        new Promise<{ status: number; json: Record<string, unknown> & { error?: { code: string } } }>((resolve, reject) => {
          const req = http.request({ host: '127.0.0.1', port: (server.address() as AddressInfo).port, path: url, method, headers: { 'content-type': 'application/json', ...headers } }, (res) => {
            const chunks: Buffer[] = [];
            res.on('data', (d: Buffer) => chunks.push(d));
            res.on('end', () => resolve({ status: res.statusCode ?? 0, json: JSON.parse(Buffer.concat(chunks).toString() || '{}') }));
          });
          req.on('error', reject);
          req.end(body === undefined ? undefined : JSON.stringify(body));
        }),
    );
}

t.test('the management API: deploy with a message, who is the credential, list, rollback', async (t) => {
  const paths = tempPaths(t);
  const call = await api(t, paths);
  const made = await call('POST', '/system/functions', { name: 'f', command: 'cat', message: 'first' }, { 'x-faass-credential': 'ci' });
  t.match(made, { status: 201, json: { version: { number: 1 }, new_version: true } });
  t.match(await call('PUT', '/system/functions', { name: 'f', command: 'cat', message: 'x'.repeat(MESSAGE_MAX + 1) }), { status: 400, json: { error: { code: 'FAASS_E_USAGE' } } }, 'a message too long: 400');
  t.match(await call('PUT', '/system/functions', { name: 'f', command: 'tr a-z A-Z' }), { status: 200, json: { version: { number: 2 } } }, 'no credential named: the local user');
  const list = await call('GET', '/system/function/f/versions');
  t.same((list.json as unknown as { number: number; who: string; via: string; current: boolean; message: string }[]).map((v) => [v.number, v.who, v.via, v.current, v.message]), [[1, 'ci', 'api', false, 'first'], [2, os.userInfo().username, 'api', true, '']]);
  t.match(await call('POST', '/system/function/f/rollback'), { status: 200, json: { from: 2, to: 1 } }, 'an empty body: the version before');
  t.equal(loadFunctionConfig(paths, 'f').command, 'cat');
  t.match(await call('POST', '/system/function/f/rollback', { to: 1 }), { status: 409, json: { error: { code: 'FAASS_E_VERSION_CURRENT' } } });
  t.match(await call('POST', '/system/function/f/rollback', { to: 9 }), { status: 404, json: { error: { code: 'FAASS_E_VERSION_NOT_FOUND' } } });
  t.match(await call('POST', '/system/function/f/rollback', { to: '2' }), { status: 400, json: { error: { code: 'FAASS_E_USAGE' } } });
  t.match(await call('POST', '/system/function/f/rollback', { too: 2 }), { status: 400, json: { error: { code: 'FAASS_E_USAGE' } } });
  t.match(await call('GET', '/system/function/nope/versions'), { status: 404, json: { error: { code: 'FAASS_E_FUNCTION_NOT_FOUND' } } });
  t.match(await call('DELETE', '/system/function/f/versions'), { status: 405 });
  t.match(await call('POST', '/system/function/f/rollback', { to: 2 }), { status: 200, json: { from: 1, to: 2 } });
});

t.test("the gateway names the admin to the API, and drops a client's own X-Faass-Credential", async (t) => {
  const seen: (string | undefined)[] = [];
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'faass-apiproxy-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const paths = resolvePaths({ HOME: dir, XDG_CONFIG_HOME: `${dir}/c`, XDG_DATA_HOME: `${dir}/d`, XDG_STATE_HOME: `${dir}/s`, XDG_RUNTIME_DIR: dir });
  fs.mkdirSync(paths.runtimeDir, { recursive: true });
  const upstream = http.createServer((req, res) => {
    seen.push(req.headers['x-faass-credential'] as string | undefined);
    req.resume();
    res.end('{}');
  });
  await new Promise<void>((r) => upstream.listen(path.join(paths.runtimeDir, 'api.sock'), r));
  t.teardown(() => upstream.close());
  const proxy = new ApiProxy(paths, 1024, 5);
  const front = http.createServer((req, res) => req.on('data', () => undefined).on('end', () => proxy.forward(req, Buffer.alloc(0), res, req.url === '/as-root' ? 'root' : null)));
  await new Promise<void>((r) => front.listen(0, '127.0.0.1', r));
  t.teardown(() => front.close());
  const get = (p: string) => new Promise<void>((resolve) => http.get({ host: '127.0.0.1', port: (front.address() as AddressInfo).port, path: p, headers: { 'x-faass-credential': 'forged' } }, (res) => res.resume().on('end', resolve)));
  await get('/as-root');
  await get('/none');
  t.same(seen, ['root', undefined]);
});

// Review of issue 15 (wt-review-ver): what the first slice let through.

t.test("a service's answer carries no X-Faass-Version of its app's making", async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'faass-svcver-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const paths = resolvePaths({ HOME: dir, XDG_CONFIG_HOME: `${dir}/c`, XDG_DATA_HOME: `${dir}/d`, XDG_STATE_HOME: `${dir}/s`, XDG_RUNTIME_DIR: dir });
  fs.mkdirSync(path.dirname(functionSocketPath(paths, 'svc')), { recursive: true });
  // The app behind the service's socket: it says it is version 99.
  const app = http.createServer((req, res) => {
    req.resume();
    res.writeHead(200, { 'X-Faass-Version': '99', 'x-app': 'yes', 'content-length': '2' });
    res.end('ok');
  });
  await new Promise<void>((r) => app.listen(functionSocketPath(paths, 'svc'), r));
  t.teardown(() => app.close());
  const services = new ServiceForwarder(paths, 5, false);
  t.teardown(() => services.close());
  const front = http.createServer((req, res) => req.resume().on('end', () => services.forward({ id: 'c1', name: 'svc', method: 'GET', path: '/', headers: {}, body: Buffer.alloc(0) }, res)));
  await new Promise<void>((r) => front.listen(0, '127.0.0.1', r));
  t.teardown(() => front.close());
  const got = await new Promise<http.IncomingMessage>((resolve, reject) => http.get({ host: '127.0.0.1', port: (front.address() as AddressInfo).port, path: '/', agent: false }, (res) => res.resume().on('end', () => resolve(res))).on('error', reject));
  t.equal(got.statusCode, 200);
  t.equal(got.headers['x-app'], 'yes', "the app's own headers pass");
  t.equal(got.headers['x-faass-version'], undefined, 'no version the app made up: services carry none (DESIGN.md)');
});

// faassctl's parse of a command of versions.ts (as main.ts runs it): the usage error yargs gives,
// or the FaassError code the command ends with ('no error': it ran), and its message.
async function faassctl(paths: Paths, ...args: string[]): Promise<{ code: string; message: string }> {
  const cli = new Cli(paths);
  let usage: string | null = null;
  registerVersions(yargs(args) as unknown as Argv<Global>, cli)
    .strict()
    .fail((msg) => {
      usage = msg;
    })
    .parse();
  if (usage !== null) return { code: 'usage', message: usage };
  try {
    await quietly(() => cli.result);
    return { code: 'no error', message: '' };
  } catch (e) {
    return e instanceof FaassError ? { code: e.code, message: e.message } : { code: String(e), message: String(e) };
  }
}

t.test('rollback --to must be a version number as typed: no value, hex, words are refused and nothing moves', async (t) => {
  const paths = tempPaths(t);
  await dep(paths, { fromFile: handler(paths, 'v1') });
  await dep(paths, { fromFile: handler(paths, 'v2') });
  for (const bad of [['--to'], ['--to', ''], ['--to', 'abc'], ['--to', '0x1'], ['--to', '1e0'], ['--to', '0'], ['--to', '-1'], ['--to', '1.0'], ['--to', '99999999999999999999'], ['--to', '1', '--to', '1']]) {
    t.equal((await faassctl(paths, 'rollback', 'f', ...bad)).code, 'FAASS_E_USAGE', `rollback f ${bad.join(' ')}: refused`);
    t.equal(loadFunctionConfig(paths, 'f').version?.number, 2, 'still version 2');
  }
  t.match((await faassctl(paths, 'rollback', 'f', '--to', 'abc')).message, /Invalid --to "abc"/, 'the message names what was typed');
  t.equal((await faassctl(paths, 'rollback', 'f', '--to', '1')).code, 'no error', 'a number as typed: rolled back');
  t.equal(loadFunctionConfig(paths, 'f').version?.number, 1);
});

t.test('the API refuses a rollback body that is not an object, and rolls nothing back', async (t) => {
  const paths = tempPaths(t);
  const call = await api(t, paths);
  await call('POST', '/system/functions', { name: 'f', command: 'cat' });
  await call('PUT', '/system/functions', { name: 'f', command: 'tr a-z A-Z' });
  for (const body of [null, [], [1], 1, '1', true]) {
    t.match(await call('POST', '/system/function/f/rollback', body), { status: 400, json: { error: { code: 'FAASS_E_USAGE' } } }, `body ${JSON.stringify(body)}: 400`);
    t.equal(loadFunctionConfig(paths, 'f').version?.number, 2, 'still version 2');
  }
  t.match(await call('POST', '/system/function/f/rollback', { to: 1.5 }), { status: 400 }, 'to 1.5: 400');
  t.match(await call('POST', '/system/function/f/rollback', { to: 1e300 }), { status: 400 }, 'to 1e300: 400');
  t.match(await call('POST', '/system/function/f/rollback'), { status: 200, json: { from: 2, to: 1 } }, 'an empty body is still the default');
});

t.test('--message refuses every control character and line break, C1 and Unicode ones too', async (t) => {
  for (const bad of ['a\u0085b', 'a\u009b31mred', 'a\u2028b', 'a\u2029b', 'a\u202eb', 'a\u2066b', 'a\rb', 'a\u007fb']) {
    t.throws(() => checkMessage(bad), { code: 'FAASS_E_USAGE' }, [...bad].map((c) => `U+${c.codePointAt(0)?.toString(16).padStart(4, '0')}`).join(' '));
  }
  t.equal(checkMessage('café – déjà vu 🚀'), 'café – déjà vu 🚀', 'other text passes');
  const paths = tempPaths(t);
  const call = await api(t, paths);
  t.match(await call('POST', '/system/functions', { name: 'f', command: 'cat', message: 'x\u009b2J' }), { status: 400, json: { error: { code: 'FAASS_E_USAGE' } } });
  t.match(await call('POST', '/system/functions', { name: 'f', command: 'cat', message: 'x'.repeat(10240) }), { status: 400, json: { error: { code: 'FAASS_E_USAGE' } } }, '10 kB: 400');
  t.notOk(fs.existsSync(functionConfPath(paths, 'f')), 'nothing written');
});

t.test('a rollback that would put a service with auth on a loopback port, out of the gateway, is wider access', async (t) => {
  const svc = (auth: string[], network: 'none' | 'host') => buildFunctionConfig('s', { kind: 'service', runtime: 'exec', command: 'app', port: 8181, network, auth: auth.join(',') || undefined });
  t.match(widerAccess(svc(['ci'], 'none'), svc(['ci'], 'host')), /127\.0\.0\.1:8181/, 'socket only now, a port there: wider');
  t.equal(widerAccess(svc(['ci'], 'host'), svc(['ci'], 'none')), null, 'the other way narrows');
  t.equal(widerAccess(svc(['ci'], 'host'), svc(['ci'], 'host')), null, 'on a port both times: no change');
  t.equal(widerAccess(svc([], 'none'), svc([], 'host')), null, 'public already: nothing to widen');
  const fn = buildFunctionConfig('s', { runtime: 'exec', command: 'cat', auth: 'ci' });
  t.match(widerAccess(fn, svc(['ci'], 'host')), /8181/, 'a function with auth back to a service on a port: wider');
});

// A canary of version `n` as deploy --canary leaves it (that needs a user manager: written here).
function canaryOf(paths: Paths, n: number): void {
  const r = readRecord(paths, 'f', n);
  if (!r) throw new Error(`no record ${n}`);
  fs.mkdirSync(path.dirname(canaryConfPath(paths, 'f')), { recursive: true });
  fs.writeFileSync(canaryConfPath(paths, 'f'), withVersion(r.settings, { number: n, code: r.code }));
  fs.writeFileSync(canaryRoutePath(paths, 'f'), renderCanaryRoute(buildCanaryRoute({ percent: '10' }, n, new Date().toISOString())));
}

t.test('a rollback while a canary runs removes the canary too: only the version rolled back to answers', async (t) => {
  const paths = tempPaths(t);
  for (const v of ['v1', 'v2', 'v3']) await dep(paths, { fromFile: handler(paths, v) });
  await quietly(() => rollbackFunction(paths, 'f', { to: 2 }));
  canaryOf(paths, 3);
  const r = await quietly(() => rollbackFunction(paths, 'f'));
  t.same([r.from, r.to], [2, 1]);
  t.notOk(fs.existsSync(canaryRoutePath(paths, 'f')), 'no route: the gateway sends the canary nothing');
  t.notOk(fs.existsSync(canaryConfPath(paths, 'f')), 'its runner has no unit');
  t.match(r.report.canariesAborted ?? [], [/canary of f \(version 3\).*rollback/], 'and the rollback says so');
  t.same(versionsView(paths, 'f').map((v) => v.number), [1, 2, 3], "the canary's version stays recorded");
});

t.test('a deploy while a canary runs is refused (a later promote would undo it); one that changes nothing is not', async (t) => {
  const paths = tempPaths(t);
  for (const v of ['v1', 'v2']) await dep(paths, { fromFile: handler(paths, v) });
  await quietly(() => rollbackFunction(paths, 'f', { to: 1 }));
  canaryOf(paths, 2);
  t.equal(await codeOf(() => dep(paths, { fromFile: handler(paths, 'v3') })), 'FAASS_E_CANARY_EXISTS', 'new code: refused');
  t.equal(await codeOf(() => dep(paths, { fromFile: handler(paths, 'v1'), timeout: '7' })), 'FAASS_E_CANARY_EXISTS', 'new settings: refused');
  t.same(versionsView(paths, 'f').map((v) => [v.number, v.current]), [[1, true], [2, false]], 'nothing recorded, version 1 still current');
  t.match(servedBody(paths), /'v1'/);
  t.equal(await codeOf(() => dep(paths, { fromFile: handler(paths, 'v1') })), 'no error', 'the current version again: nothing to refuse');
});
