// faassctl generate-units: every unit from the configuration files (idempotent).
import { Paths } from '../core/paths';
import { applyUnits } from '../functions/deploy';
import { sayApplied } from './report';
import { Register } from './cli';

export async function generateUnits(paths: Paths, dir?: string): Promise<number> {
  const report = await applyUnits(paths, { dir, reload: dir === undefined });
  sayApplied(report, `Units generated in ${dir ?? paths.unitDir}`);
  return 0;
}

export const register: Register = (y, cli) =>
  y.command(
    'generate-units',
    'write all units from the configuration',
    (y) => y.option('dir', { type: 'string', describe: 'write here instead of the user unit directory (no reload)' }),
    (a) => cli.local(a, 'generate-units', () => generateUnits(cli.paths, a.dir)),
  );
