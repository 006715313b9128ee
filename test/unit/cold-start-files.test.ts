// What a cold start of the gateway and of the runner loads (issue 18): each program is one module
// of dist/ (scripts/bundle.js: main.js runs the bundle, program.js, with V8's code cache), so Node
// resolves, reads and compiles one file, not 40 to 60;
// and nothing a plain call does not need is loaded (node:https and tls only for HTTPS). Reads the
// built dist/ (npm run build first), as fd-names.test.ts does.
import t, { type Test } from 'tap';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { ROOT } from '../support/root';

// The files of the project the program loaded, and the built-in modules, as it exits after --help
// (every import of main.js is done by then).
function loaded(t: Test, program: string): { files: string[]; builtins: string[] } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'faass-loaded-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const hook = path.join(dir, 'hook.js');
  fs.writeFileSync(hook, `process.on('exit', () => process.stderr.write(JSON.stringify({ files: Object.keys(require.cache), builtins: process.moduleLoadList })));`);
  const run = spawnSync(process.execPath, ['--require', hook, path.join(ROOT, 'dist', program, 'main.js'), '--help'], { encoding: 'utf8' });
  if (run.status !== 0) throw new Error(`${program} --help: exit ${run.status}: ${run.stderr}`);
  const seen = JSON.parse(run.stderr) as { files: string[]; builtins: string[] };
  return { files: seen.files.map((f) => path.relative(ROOT, f)), builtins: seen.builtins };
}

for (const program of ['gateway', 'runner']) {
  t.test(`${program}: one file of dist/, no https or tls`, async (t) => {
    const { files, builtins } = loaded(t, program);
    t.same(files.filter((f) => f.startsWith('dist')), [path.join('dist', program, 'main.js')]);
    t.same(builtins.filter((m) => /^NativeModule (https|tls)$/.test(m)), []);
  });
}
