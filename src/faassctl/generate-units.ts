// faassctl generate-units: every unit from the configuration files (idempotent), every deploy
// killed half-way finished or undone (deploy-intent.ts), and every function's socket enabled and
// listening again, its failed units reset (what a socket stopped by hand, or a runner that failed
// to its start limit, left so); a canary's as a function's (one the gateway aborted is removed).
import { Paths } from '../core/paths';
import { applyUnits } from '../functions/deploy';
import { listFunctionNames } from '../functions/function-config';
import { canaryUnitBase, functionUnitBase } from '../systemd/units';
import { hasCanaryFiles } from '../functions/canary-files';
import { managerReachable } from '../systemd/systemctl';
import { BROKEN_EXIT } from './status';
import { unitStates } from '../systemd/unit-state';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { sayApplied } from './report';
import { FaassError } from '../core/errors';
import { Register } from './cli';

// The sockets enabled: their links in sockets.target.wants/ of the unit directory, which
// `systemctl enable` makes of their WantedBy=sockets.target (one directory read: list-unit-files
// works out every unit file's state, 0.4 s at 100 functions and growing faster than their number).
// One enabled only elsewhere (enable --runtime) is repaired, as it was when systemd said so.
function enabledSockets(paths: Paths): Set<string> {
  try {
    return new Set(fs.readdirSync(path.join(paths.unitDir, 'sockets.target.wants'), { withFileTypes: true }).filter((e) => e.isSymbolicLink()).map((e) => e.name));
  } catch {
    return new Set(); // none enabled yet
  }
}

// Functions (and, apart, canaries) whose socket is not active, or not enabled (so gone after the
// manager restarts), or whose runner or app failed.
async function toRepair(paths: Paths): Promise<{ functions: string[]; canaries: string[] }> {
  const names = listFunctionNames(paths);
  if (names.length === 0 || !(await managerReachable())) return { functions: [], canaries: [] };
  const withCanary = names.filter((n) => hasCanaryFiles(paths, n));
  const fn = functionUnitBase;
  const units = [...names.flatMap((n) => [`${fn(n)}.socket`, `${fn(n)}.service`, `${fn(n)}-app.service`]), ...withCanary.flatMap((n) => [`${canaryUnitBase(n)}.socket`, `${canaryUnitBase(n)}.service`])];
  // One call for all (a service the manager does not hold has not failed), not a show of each.
  const held = await unitStates(units, new Set(units.filter((u) => u.endsWith('.service'))));
  // Not knowing the states is not 'all down': that would re-enable and report every function.
  if ('error' in held) throw new FaassError('FAASS_E_SYSTEMD_FAILED', `Could not read the units' states from the user manager: ${held.error.trim() || 'systemctl failed'}`);
  const shown = held.units;
  const enabled = enabledSockets(paths);
  const failed = (u: string) => shown.get(u)?.ActiveState === 'failed';
  const down = (base: string) => shown.get(`${base}.socket`)?.ActiveState !== 'active' || !enabled.has(`${base}.socket`) || failed(`${base}.service`);
  return {
    functions: names.filter((n) => down(fn(n)) || failed(`${fn(n)}-app.service`)),
    canaries: withCanary.filter((n) => down(canaryUnitBase(n))),
  };
}

export async function generateUnits(paths: Paths, dir?: string): Promise<number> {
  const repair = dir === undefined ? await toRepair(paths) : { functions: [], canaries: [] };
  const report = await applyUnits(paths, { dir, reload: dir === undefined, enable: repair.functions, enableCanaries: repair.canaries });
  sayApplied(report, `Units generated in ${dir ?? paths.unitDir}`);
  if (report.systemd !== 'applied') return report.recovered?.failed.length ? BROKEN_EXIT : 0;
  const repaired = repair.functions.filter((n) => !report.recovered?.finished.includes(n));
  if (repaired.length) process.stdout.write(`Sockets enabled and listening again, failed units reset: ${repaired.join(', ')}\n`);
  // An aborted canary was removed above (sayApplied said so), not started again.
  const canaries = repair.canaries.filter((n) => hasCanaryFiles(paths, n));
  if (canaries.length) process.stdout.write(`Canaries' sockets enabled and listening again, failed units reset: ${canaries.join(', ')}\n`);
  return report.recovered?.failed.length ? BROKEN_EXIT : 0;
}
export const register: Register = (y, cli) =>
  y.command(
    'generate-units',
    'write all units from the configuration',
    (y) => y.option('dir', { type: 'string', describe: 'write here instead of the user unit directory (no reload)' }),
    (a) => cli.local(a, 'generate-units', () => generateUnits(cli.paths, a.dir)),
  );
