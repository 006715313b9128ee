// faass.conf and function files as the programs read them (a bad file is FAASS_E_CONFIG_BROKEN,
// naming the file, never a secret) and as faassctl writes faass.conf (checked whole first).
import t from 'tap';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { resolvePaths, gatewayConfPath, functionConfPath } from '../../src/core/paths';
import { idleOrDefault, loadDockerSettings, loadSettings, writeSettings } from '../../src/core/settings';
import { FaassError } from '../../src/core/errors';
import { loadFunctionConfig } from '../../src/functions/function-config';

const tmpPaths = (t: { teardown(f: () => void): void }) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'faass-conf-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const paths = resolvePaths({ HOME: dir, XDG_CONFIG_HOME: path.join(dir, 'c'), XDG_DATA_HOME: path.join(dir, 'd'), XDG_STATE_HOME: path.join(dir, 's'), XDG_RUNTIME_DIR: path.join(dir, 'r') });
  fs.mkdirSync(paths.configDir, { recursive: true });
  return paths;
};

const thrown = (f: () => unknown): FaassError => {
  try {
    f();
  } catch (e) {
    if (e instanceof FaassError) return e;
    throw e;
  }
  throw new Error('nothing thrown');
};

t.test('a bad faass.conf: FAASS_E_CONFIG_BROKEN (503), the file and what is wrong', async (t) => {
  const paths = tmpPaths(t);
  const conf = gatewayConfPath(paths);
  fs.writeFileSync(conf, '[gateway]\nidle=3\ntimeout=soon\n');
  const e = thrown(() => loadSettings(paths));
  t.equal(e.code, 'FAASS_E_CONFIG_BROKEN');
  t.equal(e.status, 503);
  t.equal(e.message, `${conf}: Invalid timeout "soon": expected seconds or a time span such as 30s, 5min or 1h 30min`);
  t.equal(idleOrDefault(paths), 3, 'the idle time still comes from the file when it parses');
  fs.writeFileSync(conf, '[gateway]\nidle=never\n');
  t.equal(idleOrDefault(paths), 10, 'else the default');
  fs.writeFileSync(conf, '[gateway]\n[docker]\nhost=tcp://x\n');
  t.equal(thrown(() => loadDockerSettings(paths)).message, `${conf}: Invalid [docker] host "tcp://x": expected unix:///path/to/docker.sock`);
  fs.writeFileSync(conf, `[gateway]\nmax_body=${'9'.repeat(500)}X\n`);
  t.notMatch(thrown(() => loadSettings(paths)).message, /9{81}/, 'a long value is cut');
  fs.chmodSync(conf, 0o000);
  if (process.getuid?.() !== 0) t.match(thrown(() => loadSettings(paths)).message, `${conf}: cannot be read (EACCES)`, 'an unreadable file too');
});

t.test("a bad function file names no value of its [env]", async (t) => {
  const paths = tmpPaths(t);
  const file = functionConfPath(paths, 'f');
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, '[function]\nruntime=exec\ncommand=cat\n[env]\nTOKEN=hunter2\nBAD-NAME=hunter2\n');
  const e = thrown(() => loadFunctionConfig(paths, 'f'));
  t.equal(e.code, 'FAASS_E_CONFIG_BROKEN');
  t.equal(e.message, `${file}: Invalid environment variable name "BAD-NAME"`);
  fs.writeFileSync(file, '[function]\nruntime=exec\ncommand=cat\n[env]\nTOKEN=hunter2\x01\n');
  t.notMatch(thrown(() => loadFunctionConfig(paths, 'f')).message, /hunter2/, 'nor of a bad value');
});

t.test('writeSettings checks the whole file first: a bad input leaves the old one as it was', async (t) => {
  const paths = tmpPaths(t);
  const conf = gatewayConfPath(paths);
  writeSettings(paths, { listen: '127.0.0.1:9000', idle: '5' }, {});
  const before = fs.statSync(conf);
  const text = fs.readFileSync(conf, 'utf8');
  for (const [raw, docker, why] of [
    [{ listen: 'nowhere' }, {}, /Invalid listen "nowhere"/],
    [{ listen: '127.0.0.1:9000' }, { host: 'tcp://127.0.0.1:2375' }, /Invalid \[docker\] host/],
    [{ listen: '127.0.0.1:9000', tls_listen: '127.0.0.1:9443' }, {}, /need tls_cert and tls_key/],
    [{ listen: '127.0.0.1:9000', bogus: '1' }, {}, /Unknown key "bogus"/],
  ] as [Record<string, unknown>, Record<string, unknown>, RegExp][]) {
    const e = thrown(() => writeSettings(paths, raw, docker));
    t.equal(e.code, 'FAASS_E_CONFIG_INVALID', 'the input is refused');
    t.match(e.message, why);
  }
  t.equal(fs.readFileSync(conf, 'utf8'), text, 'the same text');
  t.equal(fs.statSync(conf).ino, before.ino, 'the same file, never replaced');
  t.same(fs.readdirSync(paths.configDir), ['faass.conf'], 'no temporary file left');
});
