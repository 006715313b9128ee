// Everything faass writes under its config, data and state directories is the user's alone
// (issue 11 item 10): faassctl runs under the user's umask (022 here, the usual one), so
// nothing may depend on it. In-process faassctl init, credentials add and deploy --env, with no
// user manager reachable, against temporary XDG dirs.
import t from 'tap';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { functionConfPath, functionsConfDir, gatewayConfPath, Paths } from '../../src/core/paths';
import { deploy } from '../../src/faassctl/deploy';
import { init } from '../../src/faassctl/init';
import { credentialsAdd } from '../../src/faassctl/credentials';
import { contextFiles, contextTar } from '../../src/docker/image-build';
import * as tar from 'tar';
import { managerlessPaths } from '../support/temp-paths';

process.umask(0o022); // a user's usual umask: files 0644, directories 0755 unless faass says

const tempPaths = (t: { teardown(f: () => void): void }): Paths => managerlessPaths(t, 'modes');

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

const mode = (p: string) => (fs.lstatSync(p).mode & 0o7777).toString(8);

// Every entry under dir that someone other than the user could read, write or enter.
function open(dir: string): string[] {
  const out: string[] = [];
  const walk = (p: string) => {
    const st = fs.lstatSync(p);
    if (st.isSymbolicLink()) return; // a link's own mode means nothing (always 0777)
    if ((st.mode & 0o7077) !== 0) out.push(`${p} ${mode(p)}`);
    if (st.isDirectory()) for (const e of fs.readdirSync(p)) walk(path.join(p, e));
  };
  if (fs.existsSync(dir)) walk(dir);
  return out;
}

t.test('faassctl init, credentials add, deploy --env: files 0600, directories 0700', async (t) => {
  const paths = tempPaths(t);
  const src = path.join(path.dirname(paths.configDir), '..', 'src');
  fs.mkdirSync(path.join(src, 'lib'), { recursive: true });
  fs.writeFileSync(path.join(src, 'run.sh'), '#!/bin/sh\ncat\n', { mode: 0o755 });
  fs.writeFileSync(path.join(src, 'lib', 'data.txt'), 'x', { mode: 0o644 });
  await quietly(() => init(paths, { port: 18080 }));
  await quietly(() => credentialsAdd(paths, 'ci', false));
  await quietly(() => deploy(paths, { name: 'sec', command: 'cat', env: ['KEY=s3cret'] }));
  await quietly(() => deploy(paths, { name: 'code', runtime: 'exec', fromFile: src, command: './run.sh' }));
  t.equal(mode(functionConfPath(paths, 'sec')), '600', 'the settings file, which holds --env, is 0600');
  t.equal(mode(functionsConfDir(paths)), '700', 'and its directory 0700');
  t.equal(mode(gatewayConfPath(paths)), '600', 'faass.conf 0600');
  const code = fs.realpathSync(path.join(paths.dataDir, 'functions', 'code'));
  t.equal(mode(path.join(code, 'run.sh')), '700', 'code keeps the user execute bit: 0700');
  t.equal(mode(path.join(code, 'lib', 'data.txt')), '600', 'other code files 0600');
  t.equal(mode(path.join(code, 'lib')), '700', 'code directories 0700');
  for (const root of [paths.configDir, paths.dataDir, paths.stateDir]) t.same(open(root), [], `nothing under ${path.basename(path.dirname(root))}/faass is open to others`);
});

t.test('directories left open by an earlier faass are tightened on the next write', async (t) => {
  const paths = tempPaths(t);
  const file = path.join(path.dirname(paths.configDir), '..', 'run.sh');
  fs.writeFileSync(file, '#!/bin/sh\ncat\n', { mode: 0o755 });
  await quietly(() => deploy(paths, { name: 'old', runtime: 'exec', fromFile: file }));
  for (const d of [paths.configDir, functionsConfDir(paths), paths.dataDir, path.join(paths.dataDir, 'functions'), paths.stateDir]) fs.chmodSync(d, 0o755);
  fs.chmodSync(functionConfPath(paths, 'old'), 0o644);
  await quietly(() => deploy(paths, { name: 'old', runtime: 'exec', fromFile: file, env: ['KEY=s3cret'] })); // new code and settings
  t.same(open(paths.configDir), [], 'the config tree is private again');
  t.same(open(path.join(paths.dataDir, 'functions')).concat(open(paths.dataDir).filter((l) => l.startsWith(`${paths.dataDir} `))), [], 'the data directory and its functions/ too');
  t.equal(mode(paths.stateDir), '700', 'and the state directory');
});

t.test('an image built from the private copy gets the modes of a checkout', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'faass-context-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  fs.mkdirSync(path.join(dir, 'lib'), { mode: 0o700 });
  fs.writeFileSync(path.join(dir, 'Dockerfile'), 'FROM scratch\n', { mode: 0o600 });
  fs.writeFileSync(path.join(dir, 'lib', 'run.sh'), '#!/bin/sh\n', { mode: 0o700 });
  const modes: Record<string, string> = {};
  await new Promise<void>((resolve, reject) => {
    const parser = new tar.Parser({ onReadEntry: (e) => ((modes[e.path] = ((e.mode ?? 0) & 0o7777).toString(8)), e.resume()) });
    parser.on('end', resolve).on('error', reject);
    contextTar(dir, contextFiles(dir)).pipe(parser as unknown as NodeJS.WritableStream);
  });
  t.same(modes, { Dockerfile: '644', 'lib/run.sh': '755' }, 'readable by a container of another user, as docker build from the source would be');
});
