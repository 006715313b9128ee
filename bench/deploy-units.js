// The unit step of one deploy (functions/apply-units.ts) beside N functions, in-process and
// without a user manager, so the machine's load and systemd do not drown it: the median of 7
// applyUnits of the whole set (generate-units) and of one function's (a deploy: only=).
// Usage: npm run build && node bench/deploy-units.js N [DIST=dist]
const fs = require('fs'), os = require('os'), path = require('path');
const N = Number(process.argv[2] ?? 1000);
const dist = path.resolve(process.argv[3] ?? path.join(__dirname, '..', 'dist'));
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'faass-d1k-'));
const env = { HOME: dir, XDG_CONFIG_HOME: `${dir}/config`, XDG_DATA_HOME: `${dir}/data`, XDG_STATE_HOME: `${dir}/state`, XDG_RUNTIME_DIR: `${dir}/run` };
fs.mkdirSync(env.XDG_RUNTIME_DIR); process.env.XDG_RUNTIME_DIR = env.XDG_RUNTIME_DIR; delete process.env.DBUS_SESSION_BUS_ADDRESS;
const { resolvePaths, functionConfPath } = require(`${dist}/core/paths`);
const { buildFunctionConfig, renderFunctionConfig } = require(`${dist}/functions/function-config`);
const { applyUnits } = require(`${dist}/functions/apply-units`);
const paths = resolvePaths(env);
fs.mkdirSync(path.dirname(functionConfPath(paths, 'x')), { recursive: true });
for (let i = 0; i < N; i++) fs.writeFileSync(functionConfPath(paths, `f${i}`), renderFunctionConfig(buildFunctionConfig(`f${i}`, { runtime: 'exec', command: 'cat', idle: '300' })));
const udir = path.join(dir, 'units');
(async () => {
  await applyUnits(paths, { dir: udir, reload: false });
  const time = async (opts) => { const ts = []; for (let r = 0; r < 7; r++) { const t0 = process.hrtime.bigint(); await applyUnits(paths, opts); ts.push(Number(process.hrtime.bigint() - t0) / 1e6); } ts.sort((a, b) => a - b); return ts[3].toFixed(1); };
  const whole = await time({ dir: udir, reload: false });
  const one = await time({ dir: udir, reload: false, only: ['f7'] });
  console.log(JSON.stringify({ N, whole_ms: whole, only_one_ms: one }));
  fs.rmSync(dir, { recursive: true, force: true });
})();
