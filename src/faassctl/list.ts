// faassctl list: a line per function (name, runtime, command or file; a fourth column, only
// when it has one, its canary).
import { Paths } from '../core/paths';
import { canarySummary, describeSummary } from '../functions/canary-files';
import { listFunctionNames, loadFunctionConfig } from '../functions/function-config';
import { remoteList } from './remote';
import { Register } from './cli';

export function list(paths: Paths): number {
  for (const name of listFunctionNames(paths)) {
    try {
      const c = loadFunctionConfig(paths, name);
      const canary = canarySummary(paths, name);
      process.stdout.write(`${name}\t${c.runtime}\t${c.command ?? c.file ?? ''}${canary ? `\t${describeSummary(canary)}` : ''}\n`);
    } catch (e) {
      process.stdout.write(`${name}\tINVALID\t${(e as Error).message}\n`);
    }
  }
  return 0;
}

export const register: Register = (y, cli) =>
  y.command('list', 'list functions', (y) => y, (a) => cli.either(a, (t) => remoteList(t), () => list(cli.paths)));
