// faassctl describe NAME: the function's file as written, and its units; its canary's too.
import * as fs from 'node:fs';
import { Paths, canaryConfPath, functionConfPath } from '../core/paths';
import { canarySummary, describeSummary } from '../functions/canary-files';
import { canaryUnitBase } from '../systemd/units';
import { loadFunctionConfig } from '../functions/function-config';
import { functionUnitBase } from '../systemd/units';
import { remoteDescribe } from './remote';
import { Register } from './cli';

export function describe(paths: Paths, name: string): number {
  const c = loadFunctionConfig(paths, name);
  process.stdout.write(`# ${functionConfPath(paths, name)}\n${fs.readFileSync(functionConfPath(paths, name), 'utf8')}`);
  process.stdout.write(`# units: ${functionUnitBase(c.name)}.socket, ${functionUnitBase(c.name)}.service${c.kind === 'service' ? `, ${functionUnitBase(c.name)}-app.service` : ''}\n`);
  const canary = canarySummary(paths, name);
  if (canary) process.stdout.write(`# ${describeSummary(canary)} (faassctl canary ${name}): its file ${canaryConfPath(paths, name)}, its units ${canaryUnitBase(name)}.socket, ${canaryUnitBase(name)}.service\n`);
  return 0;
}

export const register: Register = (y, cli) =>
  y.command(
    'describe <name>',
    "show a function's configuration",
    (y) => y.positional('name', { type: 'string', demandOption: true }),
    (a) => cli.either(a, (t) => remoteDescribe(t, a.name), () => describe(cli.paths, a.name)),
  );
