// A function's dependencies (issue 15): installed at deploy into the version's code, offline from
// the user's own caches, reused from faass's install cache when the lockfile is the same, and a
// failed install changes nothing. No registry is used: the npm package is packed here and added
// to the sandbox user's npm cache (its registry is 127.0.0.1:1, where nothing listens), the
// python one is a wheel made here, found through the sandbox user's pip.conf (no index).
import t from 'tap';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { startSandbox, setupGateway, request, writeFixture, TEST_USER, Sandbox } from '../support/sandbox';

const NOWHERE = 'http://127.0.0.1:1'; // loopback, port 1: refused at once

// package.json and a lockfile of npm 7+ (what npm install writes) for one dependency.
function nodeCode(sb: Sandbox, dir: string, handler: string, dep: { name: string; integrity: string }): string {
  writeFixture(sb, `${dir}/handler.js`, handler);
  writeFixture(sb, `${dir}/package.json`, JSON.stringify({ name: 'fn', version: '1.0.0', scripts: { postinstall: 'touch ran-postinstall' }, dependencies: { [dep.name]: '1.0.0' } }));
  const lock = {
    name: 'fn',
    version: '1.0.0',
    lockfileVersion: 3,
    requires: true,
    packages: {
      '': { name: 'fn', version: '1.0.0', dependencies: { [dep.name]: '1.0.0' } },
      [`node_modules/${dep.name}`]: { version: '1.0.0', resolved: `${NOWHERE}/${dep.name}/-/${dep.name}-1.0.0.tgz`, integrity: dep.integrity },
    },
  };
  return path.dirname(writeFixture(sb, `${dir}/package-lock.json`, JSON.stringify(lock, null, 2)));
}

// A pure-python wheel (a zip with the package and its dist-info), as pip wheel would make it.
function makeWheel(dir: string, name: string, body: string): void {
  fs.mkdirSync(dir, { recursive: true });
  const script = `
import sys, zipfile
name, dest, body = sys.argv[1], sys.argv[2], sys.argv[3]
di = name + "-1.0.dist-info"
files = {name + "/__init__.py": body, di + "/METADATA": "Metadata-Version: 2.1\\nName: %s\\nVersion: 1.0\\n" % name,
         di + "/WHEEL": "Wheel-Version: 1.0\\nGenerator: faass-test\\nRoot-Is-Purelib: true\\nTag: py3-none-any\\n"}
files[di + "/RECORD"] = "".join(p + ",,\\n" for p in files) + di + "/RECORD,,\\n"
with zipfile.ZipFile(dest, "w") as z:
    for p, t in files.items(): z.writestr(p, t)
`;
  execFileSync('python3', ['-c', script, name, path.join(dir, `${name}-1.0-py3-none-any.whl`), body]);
}

t.test('npm and pip dependencies at deploy, cached, and a failed install', async (t) => {
  // As an ordinary user, as faass runs: its own home, npm cache and pip.conf.
  const sb = await startSandbox(t, { user: TEST_USER });
  await setupGateway(sb, 30);
  const home = sb.env.HOME as string;

  // The npm package: packed and added to the user's cache; the user's npm has no registry.
  writeFixture(sb, 'faass-tiny/package.json', JSON.stringify({ name: 'faass-tiny', version: '1.0.0', main: 'index.js' }));
  const pkg = path.dirname(writeFixture(sb, 'faass-tiny/index.js', "exports.greet = (who) => 'tiny greets ' + who;\n"));
  fs.writeFileSync(path.join(home, '.npmrc'), `registry=${NOWHERE}/\nfetch-retries=0\n`);
  const packed = await sb.run('npm', ['pack', pkg, '--pack-destination', home]);
  t.equal(packed.code, 0, `npm pack ${packed.code ? packed.stderr : ''}`);
  const tgz = path.join(home, 'faass-tiny-1.0.0.tgz');
  t.equal((await sb.run('npm', ['cache', 'add', tgz])).code, 0, 'npm cache add');
  const integrity = `sha512-${createHash('sha512').update(fs.readFileSync(tgz)).digest('base64')}`;

  const v1 = nodeCode(sb, 'node-v1', "const tiny = require('faass-tiny');\nexports.hello = async (event) => 'v1 ' + tiny.greet(event.data);\n", { name: 'faass-tiny', integrity });
  const first = await sb.faassctl('deploy', 'nodedep', '--runtime', 'node', '--from-file', v1, '--handler', 'handler.hello');
  t.equal(first.code, 0, `deploy with an npm dependency ${first.stderr}`);
  t.match(first.stdout, /Dependencies: node_modules installed with npm ci/, 'the deploy says it installed');
  let r = await request(sb.port, '/function/nodedep', { body: 'you' });
  t.equal(r.body, 'v1 tiny greets you', 'the handler answers through its dependency');
  const code = fs.realpathSync(path.join(sb.env.XDG_DATA_HOME as string, 'faass', 'functions', 'nodedep'));
  t.notOk(fs.existsSync(path.join(code, 'ran-postinstall')), "the function's own install scripts did not run");

  // New code, the same lockfile: the installed tree comes from the cache, npm does not run.
  const v2 = nodeCode(sb, 'node-v2', "const tiny = require('faass-tiny');\nexports.hello = async (event) => 'v2 ' + tiny.greet(event.data);\n", { name: 'faass-tiny', integrity });
  const second = await sb.faassctl('deploy', 'nodedep', '--runtime', 'node', '--from-file', v2, '--handler', 'handler.hello');
  t.equal(second.code, 0, `redeploy ${second.stderr}`);
  t.match(second.stdout, /Dependencies: node_modules reused from the install cache \(same lockfile\)/, 'the redeploy reuses the install');
  t.match(second.stdout, /as version 2\b/);
  r = await request(sb.port, '/function/nodedep', { body: 'you' });
  t.equal(r.body, 'v2 tiny greets you', 'the new code answers through the cached dependency');

  // A lockfile naming a package neither the cache nor a registry has: one line, nothing changed.
  const missing = `sha512-${createHash('sha512').update('not in any cache').digest('base64')}`;
  const v3 = nodeCode(sb, 'node-v3', "exports.hello = async () => 'v3';\n", { name: 'faass-missing', integrity: missing });
  const bad = await sb.faassctl('deploy', 'nodedep', '--runtime', 'node', '--from-file', v3, '--handler', 'handler.hello');
  t.equal(bad.code, 6, `a failed install: exit 6 ${bad.stdout}`);
  t.equal(bad.stderr.trim().split('\n').length, 1, `one line on stderr: ${bad.stderr}`);
  t.match(bad.stderr, /npm cannot reach the registry for faass-missing-1\.0\.0 \(connect ECONNREFUSED 127\.0\.0\.1:1\), and the npm cache does not hold it; nothing deployed \(npm's output: \S+\.log\) \(FAASS_E_REGISTRY_UNREACHABLE\)/);
  const log = /npm's output: (\S+\.log)\)/.exec(bad.stderr)?.[1] ?? '';
  t.match(log ? fs.readFileSync(log, 'utf8') : '', /npm error code ECONNREFUSED/, "the log named keeps npm's own lines");
  r = await request(sb.port, '/function/nodedep', { body: 'you' });
  t.equal(r.body, 'v2 tiny greets you', 'the function still answers with its previous version');
  t.equal(r.headers['x-faass-version'], '2');
  const list = await sb.faassctl('versions', 'nodedep', '--json');
  t.same((JSON.parse(list.stdout) as { number: number; current: boolean }[]).map((v) => [v.number, v.current]), [[1, false], [2, true]], 'no version was recorded for the failed deploy');

  // Python, through the management API: the install runs on the server side, with the user's
  // pip.conf (no index, the wheel's directory as find-links).
  const wheels = path.join(sb.dir, 'fixtures', 'wheels');
  makeWheel(wheels, 'faasstiny', "def greet(who):\n    return 'py tiny greets ' + who\n");
  const pipConf = path.join(sb.env.XDG_CONFIG_HOME as string, 'pip', 'pip.conf');
  fs.mkdirSync(path.dirname(pipConf), { recursive: true });
  fs.writeFileSync(pipConf, `[global]\nno-index = true\nfind-links = ${wheels}\n`);
  const root = (await sb.faassctl('credentials', 'add', 'root', '--admin')).stdout.trim();
  const gw = `http://127.0.0.1:${sb.port}`;
  t.equal((await sb.run(process.execPath, [sb.faassctlPath, 'login', '--gateway', gw, '--token-stdin'], { input: root + '\n' })).code, 0, 'login');
  writeFixture(sb, 'py/handler.py', 'import faasstiny\n\ndef handle(req):\n    return faasstiny.greet(req)\n');
  const py = path.dirname(writeFixture(sb, 'py/requirements.txt', 'faasstiny==1.0\n'));
  const remote = await sb.faassctl('--gateway', gw, 'deploy', 'pydep', '--runtime', 'python', '--from-file', py, '--handler', 'handler.handle');
  t.equal(remote.code, 0, `deploy through the API with a pip dependency ${remote.stderr}`);
  t.match(remote.stdout, /Dependencies: \.python_packages installed with pip/);
  r = await request(sb.port, '/function/pydep', { body: 'you' });
  t.equal(r.body, 'py tiny greets you', 'the python handler imports its dependency');

  writeFixture(sb, 'py-bad/handler.py', 'def handle(req):\n    return "never"\n');
  const pyBad = path.dirname(writeFixture(sb, 'py-bad/requirements.txt', 'faassnowhere==2.0\n'));
  const failed = await sb.faassctl('--gateway', gw, 'deploy', 'pydep', '--runtime', 'python', '--from-file', pyBad, '--handler', 'handler.handle');
  t.equal(failed.code, 2, 'a requirement pip cannot find: exit 2');
  t.match(failed.stderr, /pip found no distribution of faassnowhere==2\.0 in its index or find-links; nothing deployed/);
  t.equal(failed.stderr.trim().split('\n').length, 1, `one line: ${failed.stderr}`);
  r = await request(sb.port, '/function/pydep', { body: 'you' });
  t.equal(r.body, 'py tiny greets you', 'and the python function still answers with its previous version');
});
