// Each program a cold call starts (the gateway, the runner) as one file, its compiled code cached
// (issue 18): Node's module loader costs a resolution, a stat, a read and a compile per file, and
// V8 compiles each module's body when first run; together most of what the programs' start costs
// beyond Node's own (docs/PERFORMANCE.md). esbuild bundles dist/PROGRAM/main.js into
// dist/PROGRAM/program.js, and main.js becomes the small loader below, so the units, install.sh's
// links and `ps` see the same paths. The loader runs program.js with V8's code cache
// (program.js.cache), written here by running the program once (--help: every import done);
// a cache V8 rejects (another Node, other flags) only costs the compile it would have saved.
// Packages from node_modules stay outside (--packages=external): those loaded lazily
// (prom-client, dockerode...) still cost only when used, and native addons cannot be bundled.
// Every other file of dist/ stays as tsc wrote it (the tests and other programs require them).
// program.js.map leads back to the files tsc wrote: node --enable-source-maps names them.
const fs = require('node:fs');
const path = require('node:path');
const { execFileSync, spawnSync } = require('node:child_process');
const esbuild = require('esbuild');
const dist = path.join(__dirname, '..', 'dist');

// main.js as the units start it: program.js compiled with the cache next to it. With
// FAASS_WRITE_CODE_CACHE set (the build, below) it writes that cache as the process exits.
const LOADER = `#!/usr/bin/env node
'use strict';
// Written by scripts/bundle.js: runs program.js (this program bundled) with V8's code cache.
const fs = require('node:fs');
const vm = require('node:vm');
const file = require('node:path').join(__dirname, 'program.js');
let cachedData;
try {
  // V8 checks a cache against the source's length only: one older than program.js (a build
  // stopped between the two) could run code that is no longer there. Not used then.
  const cache = fs.statSync(file + '.cache', { throwIfNoEntry: false });
  if (cache && cache.mtimeMs >= fs.statSync(file).mtimeMs) cachedData = fs.readFileSync(file + '.cache');
} catch {
  cachedData = undefined; // no cache: compiled as any file is
}
const source = require('node:module').wrap(fs.readFileSync(file, 'utf8'));
const script = new vm.Script(source, { filename: file, cachedData });
if (process.env.FAASS_WRITE_CODE_CACHE === file) {
  process.on('exit', () => {
    // Whole or not at all: a torn cache file can make V8 abort instead of rejecting it.
    fs.writeFileSync(file + '.cache.tmp', script.createCachedData());
    fs.renameSync(file + '.cache.tmp', file + '.cache');
  });
}
if (process.env.FAASS_CHECK_CODE_CACHE === file) process.on('exit', () => process.stderr.write('code cache ' + (script.cachedDataRejected === false ? 'used' : 'not used') + '\\n'));
script.runInThisContext().call(module.exports, module.exports, require, module, file, __dirname);
`;

// The environment the units give the programs: no NODE_OPTIONS (V8 rejects a cache made under
// other flags, as a build's --max-old-space-size would be).
const cleanEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => k !== 'NODE_OPTIONS'));

for (const program of ['gateway', 'runner']) {
  const main = path.join(dist, program, 'main.js');
  const bundle = path.join(dist, program, 'program.js');
  // Bundled already (this script run twice without tsc in between): bundling the loader would
  // make program.js a loader of itself.
  if (fs.readFileSync(main, 'utf8') === LOADER) continue;
  esbuild.buildSync({
    entryPoints: [main],
    outfile: bundle,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    packages: 'external',
    keepNames: true, // error and class names as in the source
    sourcemap: true,
    banner: { js: '// Built by scripts/bundle.js from tsc\'s dist/; run through main.js.' },
    logLevel: 'warning',
  });
  // The shebang tsc kept would be a syntax error inside the module wrapper.
  fs.writeFileSync(bundle, fs.readFileSync(bundle, 'utf8').replace(/^#!/, '//'));
  fs.writeFileSync(main, LOADER, { mode: 0o755 });
  fs.rmSync(bundle + '.cache', { force: true });
  execFileSync(process.execPath, [main, '--help'], { env: { ...cleanEnv, FAASS_WRITE_CODE_CACHE: bundle }, stdio: 'ignore' });
  const check = spawnSync(process.execPath, [main, '--help'], { env: { ...cleanEnv, FAASS_CHECK_CODE_CACHE: bundle }, stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' }).stderr ?? '';
  if (!check.includes('code cache used')) process.stderr.write(`bundle: warning: V8 does not take the code cache of dist/${program}/program.js (${check.trim() || 'no answer'}): its start compiles it\n`);
}
