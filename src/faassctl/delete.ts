// faassctl delete NAME: the function, its code, units and containers go.
import { Paths } from '../core/paths';
import { deleteFunction } from '../functions/deploy';
import { sayApplied } from './report';
import { remoteDelete } from './remote';
import { Register } from './cli';

export async function remove(paths: Paths, name: string): Promise<number> {
  const report = await deleteFunction(paths, name);
  for (const w of report.warnings) process.stderr.write(`faassctl: ${w}, ignoring\n`);
  sayApplied(report, `Deleted ${name}`);
  return 0;
}

export const register: Register = (y, cli) =>
  y.command(
    'delete <name>',
    'stop and remove a function, its code and units',
    (y) => y.positional('name', { type: 'string', demandOption: true }),
    (a) => cli.either(a, (t) => remoteDelete(t, a.name), () => remove(cli.paths, a.name)),
  );
