// faassctl invoke --local: one call of a handler in this process, run as its runner runs it (the
// same executors and the same answer rules, runner/runner.ts CallRunner), with no gateway, unit
// or user manager: for a function's own tests and CI. The code is the one given (--from-file,
// --command, with the deploy's options) or, with neither, the function deployed here.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Paths, functionCodeDir } from '../core/paths';
import { fail } from '../core/errors';
import { loadDockerSettings } from '../core/settings';
import { FunctionConfig, loadFunctionConfig } from '../functions/function-config';
import { planConfig, planInput } from '../functions/deploy-plan';
import { CallRunner, createExecutor } from '../runner/runner';
import { installId } from '../docker/names';
import { DeployArgs, deployInput } from './deploy-input';

export interface LocalCall {
  method: string;
  url: string; // the path after /function/NAME, with its query
  headers: Record<string, string>;
  body: Buffer;
}

export interface LocalAnswer {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
}

// The function to run and where its code is: as a deploy of these arguments would make it, or
// as deployed.
export function localFunction(paths: Paths, a: DeployArgs): { cfg: FunctionConfig; codeDir: string } {
  const given = a.fromFile !== undefined || a.command !== undefined || a.runtime !== undefined;
  if (!given) {
    const codeDir = functionCodeDir(paths, a.name);
    if (!fs.existsSync(codeDir)) fail('FAASS_E_FUNCTION_NOT_FOUND', `Function ${a.name} is not deployed here; give its code with --runtime and --from-file PATH, or --command CMD`);
    return { cfg: loadFunctionConfig(paths, a.name), codeDir: fs.realpathSync(codeDir) };
  }
  const input = deployInput(a, undefined);
  if (input.runtime === 'docker') fail('FAASS_E_USAGE', '--local runs exec, node and python handlers; a container function runs where it is deployed');
  const src = a.fromFile === undefined ? undefined : path.resolve(a.fromFile);
  const st = src === undefined ? undefined : fs.statSync(src, { throwIfNoEntry: false });
  if (src !== undefined && !st) fail('FAASS_E_FILE_MISSING', `Cannot read ${a.fromFile}: no such file or directory`);
  const isDir = st?.isDirectory() ?? false;
  const codeDir = src === undefined ? process.cwd() : isDir ? src : path.dirname(src);
  const exists = (file: string) => fs.existsSync(path.join(codeDir, file));
  const spec = { name: a.name, input, fromFile: a.fromFile, handlerSpec: a.handler };
  return { cfg: planConfig(spec, planInput(spec, isDir, exists), exists), codeDir };
}

export async function invokeLocal(paths: Paths, fn: { cfg: FunctionConfig; codeDir: string }, call: LocalCall): Promise<LocalAnswer> {
  // Worker threads share the process's working directory, as in the runner (runner/main.ts).
  process.chdir(fn.codeDir);
  const executor = createExecutor(fn.cfg, fn.codeDir, loadDockerSettings(paths), installId(paths.configDir));
  try {
    return await new CallRunner(fn.cfg, executor, false).run(call);
  } finally {
    await executor.close();
  }
}
