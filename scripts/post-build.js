// Copies the non-TypeScript parts of src/ into dist/ and marks the programs executable, and
// builds the forwarder into a container service's own network (src/app/forward.c): static, so
// that it runs in any image. Without a C compiler and a static libc the build goes on and says
// so: such services then fail at their start with the same advice (app/container-app.ts).
const fs = require('node:fs');
const path = require('node:path');
const { spawnSync } = require('node:child_process');
const root = path.join(__dirname, '..');
fs.copyFileSync(path.join(root, 'src/runner/workers/python-worker.py'), path.join(root, 'dist/runner/workers/python-worker.py'));
fs.copyFileSync(path.join(root, 'src/runner/stop-in-namespace.sh'), path.join(root, 'dist/runner/stop-in-namespace.sh'));
// The web console's files (gateway/console.ts serves dist/ui): hand-written, no build step.
fs.mkdirSync(path.join(root, 'dist/ui'), { recursive: true });
for (const f of fs.readdirSync(path.join(root, 'src/ui'))) fs.copyFileSync(path.join(root, 'src/ui', f), path.join(root, 'dist/ui', f));
for (const [name, from] of Object.entries(require('./ui-vendor.js'))) fs.copyFileSync(path.join(root, from), path.join(root, 'dist/ui', name));
require('./bundle.js'); // the gateway and the runner as one file each, before they are marked executable
for (const bin of ['faassctl', 'gateway', 'runner', 'app', 'revive', 'queue']) fs.chmodSync(path.join(root, 'dist', bin, 'main.js'), 0o755);

const source = path.join(root, 'src/app/forward.c');
const program = path.join(root, 'dist/app/faass-forward'); // container-app.ts FORWARDER_FILE
const stale = () => !fs.existsSync(program) || fs.statSync(program).mtimeMs < fs.statSync(source).mtimeMs;
if (stale()) {
  const cc = spawnSync(process.env.CC || 'cc', ['-static', '-O2', '-s', '-Wall', '-o', program, source], { stdio: ['ignore', 'inherit', 'pipe'], encoding: 'utf8' });
  if (cc.status !== 0) {
    fs.rmSync(program, { force: true });
    const why = cc.error ? `${cc.error.code === 'ENOENT' ? 'no C compiler (cc)' : cc.error.message}` : cc.stderr.trim().split('\n').slice(-3).join('; ');
    process.stderr.write(`post-build: warning: dist/app/faass-forward not built (${why}): container services with network=none (the default) will not start; install gcc and libc6-dev and build again\n`);
  }
}

// The runner's posix_spawn (src/runner/spawn.c, issue 18), against this Node's headers (as
// install.sh's headers_dir finds them). N-API's symbols resolve when Node loads it, so no
// node-gyp. Without it the runner starts exec functions with Node's spawn (fast-spawn.ts).
const spawnSource = path.join(root, 'src/runner/spawn.c');
const addon = path.join(root, 'dist/runner/faass-spawn.node'); // fast-spawn.ts ADDON_FILE
const headers = process.env.npm_config_nodedir ? path.join(process.env.npm_config_nodedir, 'include/node') : path.resolve(process.execPath, '../../include/node');
if (!fs.existsSync(addon) || fs.statSync(addon).mtimeMs < fs.statSync(spawnSource).mtimeMs) {
  const cc = spawnSync(process.env.CC || 'cc', ['-shared', '-fPIC', '-O2', '-Wall', `-I${headers}`, '-o', addon, spawnSource], { stdio: ['ignore', 'inherit', 'pipe'], encoding: 'utf8' });
  if (cc.status !== 0) {
    fs.rmSync(addon, { force: true });
    const why = cc.error ? `${cc.error.code === 'ENOENT' ? 'no C compiler (cc)' : cc.error.message}` : cc.stderr.trim().split('\n').slice(-3).join('; ');
    process.stderr.write(`post-build: warning: dist/runner/faass-spawn.node not built (${why}): exec functions start with Node's slower spawn; install gcc and Node's headers and build again\n`);
  }
}

// A whole build is done: install.sh builds again only when a source is newer than this mark
// (or there is none). Without it, the first install.sh of a fresh clone rebuilt dist/ in place,
// under every test of the suite's that was running a faassctl at that moment.
// It holds the Node version built with: V8's code cache (bundle.js) is for that one, and
// install.sh builds again under another.
fs.writeFileSync(path.join(root, 'dist/.built'), process.version + '\n');
