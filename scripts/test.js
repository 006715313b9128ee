// Runs the tap suite over the tests compiled to dist-test/ (scripts/compile-tests.js), passes
// its output through, and ends with one plain summary line ("N passed, N failed") that CI
// systems read; exits with tap's status.
//   node scripts/test.js [TAP-OPTION...] [test/DIR-OR-FILE.test.ts...]
// Paths name the sources (none: every test/**/*.test.ts); any argument starting with "-" goes
// to tap as is (give option values with "=", e.g. --jobs=2).
const { spawn, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const { compileTests, outputOf, ROOT } = require('./compile-tests');
const { TapFailures } = require('./tap-failures');

function selectTests(sources, paths) {
  const tests = sources.filter((f) => f.startsWith(path.join(ROOT, 'test') + path.sep) && f.endsWith('.test.ts'));
  if (paths.length === 0) return tests;
  return paths.flatMap((p) => {
    const abs = path.resolve(p);
    const chosen = tests.filter((f) => f === abs || f.startsWith(abs + path.sep));
    if (!fs.existsSync(abs) || chosen.length === 0) {
      process.stderr.write(`test: no test files at ${p} (give test/... paths to .test.ts files or directories)\n`);
      process.exit(2);
    }
    return chosen;
  });
}

// tap rebuilds its Test class when package.json's tap.plugin list differs from the one it was
// built with (a fresh `npm ci` has its default build), but only at the start of a run whose test
// processes were already given the old build's loaders: that first run, CI's only one, would go
// without the gain. So the build is done first, here, when the list differs.
function tapBuilt() {
  const built = path.join(ROOT, 'node_modules', '@tapjs', 'test', 'test-built', 'dist', 'esm', 'index.js');
  const m = /export const signature = `([^`]*)`/.exec(fs.readFileSync(built, 'utf8'));
  const have = new Set((m ? m[1] : '').split('\n').map((l) => l.trim()));
  const wanted = require(path.join(ROOT, 'package.json')).tap?.plugin ?? [];
  return wanted.every((p) => (p.startsWith('!') ? !have.has(p.slice(1)) : have.has(p)));
}

function tapBuild() {
  if (tapBuilt()) return;
  process.stderr.write('test: building tap with the plugins of package.json (once after npm ci)\n');
  const r = spawnSync(process.execPath, [TAP, 'build'], { cwd: ROOT, stdio: 'inherit' });
  if (r.status !== 0) {
    process.stderr.write('test: tap build failed\n');
    process.exit(1);
  }
}

const TAP = path.join(ROOT, 'node_modules', 'tap', 'dist', 'esm', 'run.mjs');
tapBuild();
const args = process.argv.slice(2);
const tests = selectTests(
  compileTests(),
  args.filter((a) => !a.startsWith('-')),
);
const tapArgs = [...args.filter((a) => a.startsWith('-')), ...tests.map((f) => path.relative(ROOT, outputOf(f)))];

// /var/openfaas/secrets, where handlers written for OpenFaaS read secrets: a function's unit binds
// its credentials there only where the directory exists when the unit is written (a user manager
// cannot make it). Made for the whole run, as root, and removed after it when this made it, so no
// test makes or removes it under another's running units (files run two at a time).
function openfaasSecretsDir() {
  const dir = '/var/openfaas/secrets';
  if (process.getuid?.() !== 0 || fs.existsSync(dir)) return () => undefined;
  const made = fs.mkdirSync(dir, { recursive: true, mode: 0o755 });
  return () => {
    for (let d = dir; made && d.length >= made.length; d = path.dirname(d)) {
      try {
        fs.rmdirSync(d);
      } catch {
        return; // something was put there: left as it is
      }
    }
  };
}
const removeOpenfaasSecrets = openfaasSecretsDir();

const tap = spawn(process.execPath, [TAP, ...tapArgs], { cwd: ROOT, stdio: ['inherit', 'pipe', 'inherit'] });
let tail = '';
let partial = '';
const failures = new TapFailures();
tap.stdout.on('data', (d) => {
  process.stdout.write(d);
  tail = (tail + d.toString()).slice(-4096);
  const lines = (partial + d.toString()).split('\n');
  partial = lines.pop();
  for (const l of lines) failures.line(l);
});
tap.on('exit', (code, signal) => {
  const m = /# \{ total: (\d+), pass: (\d+)(?:, fail: (\d+))?(?:, skip: (\d+))?/.exec(tail);
  if (partial) failures.line(partial);
  process.stdout.write(failures.report());
  if (m) process.stdout.write(`\n${m[2]} passed, ${m[3] ?? 0} failed${m[4] ? `, ${m[4]} skipped` : ''}\n`);
  removeOpenfaasSecrets();
  process.exit(signal ? 1 : (code ?? 1));
});
