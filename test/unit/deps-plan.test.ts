// A function's dependencies (issue 15), the pure part: what a deploy installs, what refuses it,
// what the install cache is keyed by, and the one line a failed install says.
import t from 'tap';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { cacheKey, checkLockfile, checkRequirements, depsPlan, installFailure, installManifest, redact } from '../../src/functions/deps-plan';
import { installDependencies, linkTree } from '../../src/functions/deps-install';
import { resolvePaths } from '../../src/core/paths';
import { stageCode, versionPath } from '../../src/functions/code-versions';
import type { FunctionConfig } from '../../src/functions/function-config';
import { FaassError } from '../../src/core/errors';

const has = (...files: string[]) => (f: string) => files.includes(f);
const WITH_DEPS = () => JSON.stringify({ dependencies: { a: '1.0.0' } });
const code = (f: () => unknown) => {
  try {
    f();
    return 'none';
  } catch (e) {
    return e instanceof FaassError ? e.code : String(e);
  }
};

t.test('what a deploy installs, by runtime and files', async (t) => {
  t.same(depsPlan('f', 'node', has('package.json', 'package-lock.json'), WITH_DEPS), { tool: 'npm', files: ['package-lock.json', 'package.json'], target: 'node_modules' });
  t.same(depsPlan('f', 'node', has('package.json', 'package-lock.json', 'npm-shrinkwrap.json'), WITH_DEPS)?.files[0], 'npm-shrinkwrap.json', 'npm-shrinkwrap.json first, as npm reads it');
  t.same(depsPlan('f', 'python', has('requirements.txt', 'handler.py'), WITH_DEPS), { tool: 'pip', files: ['requirements.txt'], target: '.python_packages' });
  t.equal(depsPlan('f', 'node', has('handler.js'), WITH_DEPS), null, 'no package.json: nothing');
  t.equal(depsPlan('f', 'exec', has('package.json', 'package-lock.json', 'requirements.txt'), WITH_DEPS), null, 'exec and docker bring their own');
  t.equal(depsPlan('f', 'python', has('package.json', 'package-lock.json'), WITH_DEPS), null, 'a python function with a package.json installs no npm');
  t.equal(depsPlan('f', 'node', has('package.json'), () => '{"type": "module", "devDependencies": {"tap": "21"}}'), null, 'a package.json with nothing to install needs no lockfile ("type": "module")');
  t.throws(() => depsPlan('f', 'node', has('package.json'), () => '{nope'), { code: 'FAASS_E_INSTALL_FAILED', message: /not valid JSON/ });
  t.throws(() => depsPlan('f', 'node', has('package.json'), WITH_DEPS), { code: 'FAASS_E_INSTALL_FAILED', message: /package\.json but no package-lock\.json/ }, 'package.json without a lockfile: refused');
});

t.test('the manifest npm ci runs with: dependency fields only, no scripts', async (t) => {
  const pkg = { name: 'fn', version: '1.0.0', description: 'x', scripts: { postinstall: 'rm -rf ~' }, dependencies: { a: '1.0.0' }, devDependencies: { b: '2' } };
  const m = JSON.parse(installManifest('f', JSON.stringify(pkg))) as Record<string, unknown>;
  t.same(m, { name: 'fn', version: '1.0.0', dependencies: { a: '1.0.0' }, devDependencies: { b: '2' } }, "the function's scripts do not run at deploy");
  t.equal(installManifest('f', JSON.stringify({ ...pkg, description: 'other', main: 'x.js' })), installManifest('f', JSON.stringify(pkg)), 'fields npm ci does not read do not change the key');
  t.not(installManifest('f', JSON.stringify({ ...pkg, dependencies: { a: '1.0.1' } })), installManifest('f', JSON.stringify(pkg)));
  t.equal(code(() => installManifest('f', '{nope')), 'FAASS_E_INSTALL_FAILED', 'package.json that does not parse');
  t.equal(code(() => installManifest('f', '[]')), 'FAASS_E_INSTALL_FAILED');
  t.throws(() => installManifest('f', JSON.stringify({ workspaces: ['a'] })), { message: /workspaces/ });
});

t.test('lockfiles and requirements that point at local files are refused', async (t) => {
  const lock = (p: object) => JSON.stringify({ lockfileVersion: 3, packages: { '': { name: 'fn' }, ...p } });
  t.equal(code(() => checkLockfile('f', 'package-lock.json', lock({ 'node_modules/a': { version: '1.0.0', resolved: 'https://registry.npmjs.org/a/-/a-1.0.0.tgz', integrity: 'sha512-x' } }))), 'none');
  t.throws(() => checkLockfile('f', 'package-lock.json', lock({ 'node_modules/lib': { resolved: 'file:../lib', link: true } })), { code: 'FAASS_E_INSTALL_FAILED', message: /installs lib from a local path/ });
  t.throws(() => checkLockfile('f', 'package-lock.json', lock({ 'node_modules/@s/t': { resolved: 'file:t.tgz' } })), { message: /installs @s\/t from a local path/ });
  t.throws(() => checkLockfile('f', 'package-lock.json', JSON.stringify({ lockfileVersion: 1, dependencies: {} })), { message: /no "packages"/ }, 'a lockfile of npm 6');
  t.equal(code(() => checkRequirements('f', '# pinned\nrequests==2.31.0  # http\n--index-url https://example.invalid/simple\nnumpy>=1.26; python_version >= "3.9"\n')), 'none');
  for (const line of ['-r other.txt', '--requirement=other.txt', '-c constraints.txt', '-e .', './lib', '/opt/pkg.whl', 'file:///opt/x.whl', 'pkg @ file:///opt/pkg']) {
    t.throws(() => checkRequirements('f', `ok==1\n${line}\n`), { code: 'FAASS_E_INSTALL_FAILED', message: /requirements\.txt line 2 names/ }, line);
  }
});

t.test('the cache key: the install inputs and the runtime, nothing else', async (t) => {
  const inputs: [string, string][] = [['package-lock.json', '{"a":1}'], ['package.json', '{}']];
  const k = cacheKey('npm', inputs, 'node 20.20.2 abi 115 linux-x64');
  t.match(k, /^[0-9a-f]{64}$/);
  t.equal(cacheKey('npm', inputs.map(([f, s]) => [f, s] as [string, string]), 'node 20.20.2 abi 115 linux-x64'), k, 'the same inputs: the same key');
  t.not(cacheKey('npm', [['package-lock.json', '{"a":2}'], inputs[1]], 'node 20.20.2 abi 115 linux-x64'), k, 'another lockfile');
  t.not(cacheKey('npm', inputs, 'node 22.1.0 abi 127 linux-x64'), k, 'another node (native modules are built for one ABI)');
  t.not(cacheKey('pip', inputs, 'node 20.20.2 abi 115 linux-x64'), k, 'another tool');
  t.not(cacheKey('npm', [['package-lock.json', '{"a":1}{}'], ['package.json', '']], 'node 20.20.2 abi 115 linux-x64'), k, 'file boundaries count');
});

const NPM_OFFLINE = `npm error code ECONNREFUSED
npm error syscall connect
npm error errno ECONNREFUSED
npm error FetchError: request to https://bob:s3cret@registry.example/@s/left-pad/-/left-pad-1.3.0.tgz failed, reason: connect ECONNREFUSED 127.0.0.1:1
npm error     at ClientRequest.<anonymous> (/usr/lib/node_modules/npm/node_modules/minipass-fetch/lib/index.js:130:14)
npm error A complete log of this run can be found in: /home/u/.npm/_logs/x-debug-0.log`;
const NPM_SYNC = `npm error code EUSAGE
npm error
npm error \`npm ci\` can only install packages when your package.json and package-lock.json or npm-shrinkwrap.json are in sync. Please update your lock file with \`npm install\` before continuing.
npm error A complete log of this run can be found in: /x.log`;
const PIP_OFFLINE = `WARNING: Retrying (Retry(total=0, connect=None, read=None, redirect=None, status=None)) after connection broken by 'NewConnectionError('<pip._vendor.urllib3.connection.HTTPSConnection object at 0x7f>: Failed to establish a new connection: [Errno 101] Network is unreachable')': /simple/requests/
ERROR: Could not find a version that satisfies the requirement requests==2.31.0 (from versions: none)
ERROR: No matching distribution found for requests==2.31.0`;
// What pip's verbose log (--log) says where the terminal says nothing (retries=0).
const PIP_LOG = `Looking in indexes: http://127.0.0.1:1/simple
Could not fetch URL http://127.0.0.1:1/simple/nosuch/: connection error: HTTPConnectionPool(host='127.0.0.1', port=1): Max retries exceeded with url: /simple/nosuch/ (Caused by NewConnectionError('<x>: Failed to establish a new connection: [Errno 111] Connection refused')) - skipping
ERROR: No matching distribution found for nosuch==1`;

t.test('a failed install in one line, in the tool words', async (t) => {
  const off = installFailure('npm', NPM_OFFLINE);
  t.same(off, { unreachable: true, line: 'npm cannot reach the registry for left-pad-1.3.0 (connect ECONNREFUSED 127.0.0.1:1), and the npm cache does not hold it' });
  t.notMatch(off.line, /s3cret/, 'no credential from the URL');
  t.same(installFailure('npm', NPM_SYNC), { unreachable: false, line: 'npm ci failed: `npm ci` can only install packages when your package.json and package-lock.json or npm-shrinkwrap.json are in sync. Please update your lock file with `npm install` before continuing.' });
  t.same(installFailure('pip', PIP_OFFLINE), { unreachable: true, line: 'pip cannot reach the package index for requests==2.31.0, and neither its cache nor its find-links hold it' });
  t.same(installFailure('pip', PIP_LOG), { unreachable: true, line: 'pip cannot reach the package index (http://127.0.0.1:1/simple/nosuch/) for nosuch==1, and neither its cache nor its find-links hold it' });
  t.same(installFailure('pip', `${PIP_OFFLINE.split('\n')[0]}\nERROR: Failed building wheel for lxml`).unreachable, false, 'an unreachable extra index does not hide another failure');
  t.same(installFailure('pip', 'Looking in links: /w\nERROR: Could not find a version that satisfies the requirement x==2 (from versions: none)\nERROR: No matching distribution found for x==2\n'), { unreachable: false, line: 'pip found no distribution of x==2 in its index or find-links' });
  t.same(installFailure('pip', 'ERROR: Invalid requirement: "=="\n'), { unreachable: false, line: 'pip install failed: Invalid requirement: "=="' });
  t.equal(redact('see https://u:p@h/x and http://h/y'), 'see https://***@h/x and http://h/y');
});

t.test('a cached tree is hard-linked into the code, links kept, what was there replaced', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'faass-deps-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const from = path.join(dir, 'cache', 'node_modules');
  fs.mkdirSync(path.join(from, 'a', 'bin'), { recursive: true });
  fs.writeFileSync(path.join(from, 'a', 'index.js'), 'x', { mode: 0o400 });
  fs.symlinkSync('../a/bin/cli', path.join(from, 'a', 'link'));
  const to = path.join(dir, 'code', 'node_modules');
  fs.mkdirSync(path.join(to, 'old'), { recursive: true });
  linkTree(from, to);
  t.same(fs.readdirSync(to), ['a'], "the code's own node_modules replaced");
  t.equal(fs.statSync(path.join(to, 'a', 'index.js')).ino, fs.statSync(path.join(from, 'a', 'index.js')).ino, 'a file: the same inode');
  t.equal(fs.readlinkSync(path.join(to, 'a', 'link')), '../a/bin/cli', 'a link: copied as it reads');
});

// A dependency file that is a symlink out of the code: copied as a link (stageCode keeps links),
// it dangles in the version (or names a host file the version does not hold). The deploy's
// install refuses it, naming the file, before any tool runs; before, it installed nothing and
// said nothing. A link within the code is followed.
t.test('a dependency file linked from outside the code is refused, one within it is read', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'faass-deplinks-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const paths = resolvePaths({ HOME: dir, XDG_CONFIG_HOME: path.join(dir, 'config'), XDG_DATA_HOME: path.join(dir, 'data'), XDG_STATE_HOME: path.join(dir, 'state') });
  const src = path.join(dir, 'project', 'fn');
  fs.mkdirSync(path.join(src, 'conf'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'project', 'requirements.txt'), 'requests==2.31.0\n');
  fs.writeFileSync(path.join(src, 'handler.py'), 'def handle(req):\n    return req\n');
  fs.symlinkSync('../requirements.txt', path.join(src, 'requirements.txt'));
  const py = { name: 'fn', runtime: 'python' } as FunctionConfig;
  const staged = versionPath(paths, 'fn', stageCode(paths, 'fn', src));
  await t.rejects(installDependencies(paths, py, staged), { code: 'FAASS_E_INSTALL_FAILED', message: /^Function fn: its requirements\.txt is a symlink to \.\.\/requirements\.txt, which leads nowhere in the code as deployed; deploy the file itself/ }, 'a relative link out of the code, dangling once copied');

  fs.rmSync(path.join(src, 'requirements.txt'));
  fs.symlinkSync(path.join(dir, 'project', 'requirements.txt'), path.join(src, 'requirements.txt'));
  const abs = versionPath(paths, 'fn', stageCode(paths, 'fn', src));
  await t.rejects(installDependencies(paths, py, abs), { code: 'FAASS_E_INSTALL_FAILED', message: /its requirements\.txt is a symlink to \S+requirements\.txt, outside its code/ }, 'an absolute link to a host file');

  // package.json linked within the code: followed (it declares nothing, so nothing is installed).
  fs.writeFileSync(path.join(src, 'conf', 'package.json'), '{"type": "module"}\n');
  fs.symlinkSync('conf/package.json', path.join(src, 'package.json'));
  const inside = versionPath(paths, 'fn', stageCode(paths, 'fn', src));
  t.equal(await installDependencies(paths, { name: 'fn', runtime: 'node' } as FunctionConfig, inside), null, 'a link within the code is read as the file');
});
