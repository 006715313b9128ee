// faassctl generate-units: every unit from the configuration files (idempotent), every deploy
// killed half-way finished or undone (deploy-intent.ts), and every function's socket enabled and
// listening again, its failed units reset (what a socket stopped by hand, or a runner that failed
// to its start limit, left so).
import { Paths } from '../core/paths';
import { applyUnits } from '../functions/deploy';
import { listFunctionNames } from '../functions/function-config';
import { functionUnitBase } from '../systemd/units';
import { managerReachable, run } from '../systemd/systemctl';
import { parseShow, BROKEN_EXIT } from './status';
import { sayApplied } from './report';
import { Register } from './cli';

// Functions whose socket is not active, or not enabled (so gone after the manager restarts), or
// whose runner or app failed.
async function functionsToRepair(paths: Paths): Promise<string[]> {
  const names = listFunctionNames(paths);
  if (names.length === 0 || !(await managerReachable())) return [];
  const base = functionUnitBase;
  const shown = await run('systemctl', ['--user', 'show', '--property=Id,ActiveState,UnitFileState', '--', ...names.flatMap((n) => [`${base(n)}.socket`, `${base(n)}.service`, `${base(n)}-app.service`])]);
  const units = parseShow(shown.stdout);
  const failed = (u: string) => units.get(u)?.ActiveState === 'failed';
  return names.filter((n) => units.get(`${base(n)}.socket`)?.ActiveState !== 'active' || units.get(`${base(n)}.socket`)?.UnitFileState !== 'enabled' || failed(`${base(n)}.service`) || failed(`${base(n)}-app.service`));
}

export async function generateUnits(paths: Paths, dir?: string): Promise<number> {
  const repair = dir === undefined ? await functionsToRepair(paths) : [];
  const report = await applyUnits(paths, { dir, reload: dir === undefined, enable: repair });
  sayApplied(report, `Units generated in ${dir ?? paths.unitDir}`);
  const repaired = repair.filter((n) => !report.recovered?.finished.includes(n));
  if (repaired.length && report.systemd === 'applied') process.stdout.write(`Sockets enabled and listening again, failed units reset: ${repaired.join(', ')}\n`);
  return report.recovered?.failed.length ? BROKEN_EXIT : 0;
}
export const register: Register = (y, cli) =>
  y.command(
    'generate-units',
    'write all units from the configuration',
    (y) => y.option('dir', { type: 'string', describe: 'write here instead of the user unit directory (no reload)' }),
    (a) => cli.local(a, 'generate-units', () => generateUnits(cli.paths, a.dir)),
  );
