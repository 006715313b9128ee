// faassctl build NAME: the function's image again from its build context.
import { Paths } from '../core/paths';
import { rebuildFunction } from '../functions/deploy';
import { validateName } from '../core/validate';
import { BuildProgress, withProgress } from './progress';
import { sayApplied, sayWarnings } from './report';
import { remoteBuild } from './remote';
import { Register } from './cli';

// Builds the function's image again from its code (build=) and switches the function to it.
export async function build(paths: Paths, name: string): Promise<number> {
  validateName(name);
  const progress = new BuildProgress(process.stdout);
  const { previous, config, report, warnings } = await withProgress(progress, () => rebuildFunction(paths, name, progress.event));
  sayApplied(report, config.image === previous.image ? `Image ${config.image} is unchanged` : `Built ${config.image}; ${name} uses it from now on (was ${previous.image})`);
  sayWarnings(warnings);
  return 0;
}

export const register: Register = (y, cli) =>
  y.command(
    'build <name>',
    "build a function's image again from its code and switch to it",
    (y) => y.positional('name', { type: 'string', demandOption: true }),
    (a) => cli.either(a, (t) => remoteBuild(t, a.name), () => build(cli.paths, a.name)),
  );
