// Each program a cold call starts (the gateway, the runner) as one file (issue 18): Node's module
// loader costs a resolution, a stat and read, and a compile per file, ~25 ms of CPU of a cold
// gateway's start over its 60 files (docs/PERFORMANCE.md). esbuild rewrites dist/gateway/main.js
// and dist/runner/main.js in place, so the units, install.sh's links, and `ps` see the same paths.
// Packages from node_modules stay outside (--packages=external): those loaded lazily
// (prom-client, dockerode...) still cost only when used, and native addons cannot be bundled.
// Every other file of dist/ stays as tsc wrote it (the tests and other programs require them).
// The map (main.js.map) leads back to the files tsc wrote: node --enable-source-maps names them.
const path = require('node:path');
const esbuild = require('esbuild');
const dist = path.join(__dirname, '..', 'dist');
for (const program of ['gateway', 'runner']) {
  const file = path.join(dist, program, 'main.js');
  esbuild.buildSync({
    entryPoints: [file],
    outfile: file,
    allowOverwrite: true,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    packages: 'external',
    keepNames: true, // error and class names as in the source (logs, instanceof-free checks)
    sourcemap: true,
    logLevel: 'warning',
  });
}
