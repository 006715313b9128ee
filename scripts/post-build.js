// Copies the non-TypeScript parts of src/ into dist/ and marks the programs executable.
const fs = require('node:fs');
const path = require('node:path');
const root = path.join(__dirname, '..');
fs.copyFileSync(path.join(root, 'src/runner/workers/python-worker.py'), path.join(root, 'dist/runner/workers/python-worker.py'));
fs.copyFileSync(path.join(root, 'src/runner/stop-in-namespace.sh'), path.join(root, 'dist/runner/stop-in-namespace.sh'));
for (const bin of ['faassctl', 'gateway', 'runner', 'app', 'revive', 'queue']) fs.chmodSync(path.join(root, 'dist', bin, 'main.js'), 0o755);
