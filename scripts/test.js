// Runs the tap suite, passes its output through, and ends with one plain summary line
// ("N passed, N failed") that CI systems read; exits with tap's status.
const { spawn } = require('node:child_process');
const path = require('node:path');

const tap = spawn(process.execPath, [path.join(__dirname, '..', 'node_modules', 'tap', 'dist', 'esm', 'run.mjs'), ...process.argv.slice(2)], { stdio: ['inherit', 'pipe', 'inherit'] });
let tail = '';
tap.stdout.on('data', (d) => {
  process.stdout.write(d);
  tail = (tail + d.toString()).slice(-4096);
});
tap.on('exit', (code, signal) => {
  const m = /# \{ total: (\d+), pass: (\d+)(?:, fail: (\d+))?(?:, skip: (\d+))?/.exec(tail);
  if (m) process.stdout.write(`\n${m[2]} passed, ${m[3] ?? 0} failed${m[4] ? `, ${m[4]} skipped` : ''}\n`);
  process.exit(signal ? 1 : (code ?? 1));
});
