// faassctl generate-units: every unit from the configuration files (idempotent), and every
// function's socket enabled and listening again (what a deploy killed half-way, or a socket
// stopped by hand, left without one).
import { Paths } from '../core/paths';
import { applyUnits } from '../functions/deploy';
import { listFunctionNames } from '../functions/function-config';
import { functionUnitBase } from '../systemd/units';
import { managerReachable, run } from '../systemd/systemctl';
import { parseShow } from './status';
import { sayApplied } from './report';
import { Register } from './cli';

// Functions whose socket is not active, or not enabled (so gone after the manager restarts).
async function socketsToRepair(paths: Paths): Promise<string[]> {
  const names = listFunctionNames(paths);
  if (names.length === 0 || !(await managerReachable())) return [];
  const socket = (n: string) => `${functionUnitBase(n)}.socket`;
  const shown = await run('systemctl', ['--user', 'show', '--property=Id,ActiveState,UnitFileState', '--', ...names.map(socket)]);
  const units = parseShow(shown.stdout);
  return names.filter((n) => units.get(socket(n))?.ActiveState !== 'active' || units.get(socket(n))?.UnitFileState !== 'enabled');
}

export async function generateUnits(paths: Paths, dir?: string): Promise<number> {
  const repair = dir === undefined ? await socketsToRepair(paths) : [];
  const report = await applyUnits(paths, { dir, reload: dir === undefined, enable: repair });
  sayApplied(report, `Units generated in ${dir ?? paths.unitDir}`);
  if (repair.length && report.systemd === 'applied') process.stdout.write(`Sockets enabled and listening again: ${repair.join(', ')}\n`);
  return 0;
}
export const register: Register = (y, cli) =>
  y.command(
    'generate-units',
    'write all units from the configuration',
    (y) => y.option('dir', { type: 'string', describe: 'write here instead of the user unit directory (no reload)' }),
    (a) => cli.local(a, 'generate-units', () => generateUnits(cli.paths, a.dir)),
  );
