// What of a build context is sent to the engine (docker/image-build.ts contextFiles): all of it
// less what .dockerignore excludes, by Docker's rules; the Dockerfile and .dockerignore always.
// And how long a build may take ([docker] build_timeout).
import t, { type Test } from 'tap';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { contextFiles } from '../../src/docker/image-build';
import { buildDockerSettings } from '../../src/core/settings';

function context(t: Test, files: Record<string, string>): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'faass-ctx-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  for (const [name, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    fs.writeFileSync(path.join(dir, name), text);
  }
  return dir;
}

t.test('without .dockerignore every file is sent', async (t) => {
  t.same(contextFiles(context(t, { Dockerfile: 'FROM x\n', 'a.txt': '', 'sub/b.log': '' })), ['Dockerfile', 'a.txt', 'sub/b.log']);
});

t.test(".dockerignore's rules, as Docker reads them", async (t) => {
  const dir = context(t, {
    Dockerfile: 'FROM x\n',
    '.dockerignore': '# a comment\n\nbig.bin\n*.log\ncache/\nnode_modules\n!node_modules/keep\n/Dockerfile\n.dockerignore\n  spaced.txt  \n',
    'big.bin': '',
    'top.log': '',
    'sub/deep.log': '', // * does not cross a /: kept, as docker build keeps it
    'cache/blob': '',
    'node_modules/a/index.js': '',
    'node_modules/keep': '',
    'spaced.txt': '',
    'app.js': '',
  });
  t.same(contextFiles(dir), ['.dockerignore', 'Dockerfile', 'app.js', 'node_modules/keep', 'sub/deep.log'], 'ignored files and directories are left out; ! takes one back; the Dockerfile and .dockerignore go always');
});

t.test('[docker] build_timeout: a time span, 10min by default', async (t) => {
  const env = { DOCKER_HOST: 'unix:///x/docker.sock' };
  t.equal(buildDockerSettings({}, env).buildTimeout, 600, 'the default');
  t.equal(buildDockerSettings({ build_timeout: '1h 30min' }, env).buildTimeout, 5400, 'as systemd writes spans');
  t.throws(() => buildDockerSettings({ build_timeout: 'soon' }, env), /Invalid build_timeout "soon"/, 'refused: not a span');
  t.throws(() => buildDockerSettings({ build_timeout: '0' }, env), /must be between 1s and 86400s/, 'refused: zero would cancel every build');
  t.throws(() => buildDockerSettings({ build_timout: '1min' }, env), /Unknown key "build_timout" in \[docker\]; known keys: host, build_timeout/);
});
