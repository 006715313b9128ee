#!/usr/bin/env node
// faass-runner --reap: the ExecStopPost= of a container function's unit (systemd/units.ts).
// systemd runs it whenever the unit stops, however its runner ended: an idle exit, systemctl
// stop, a crash, SIGKILL. It removes every container of this function's calls in this install
// (labels faass.install, faass.function, faass.call; names.ts), so none outlives its runner:
// a runner killed mid-call cannot remove its calls' containers itself, and nothing else would
// until the next start. Another install's containers, another function's, and a service's are
// never selected. Plain node:http (EngineApi), not dockerode: it runs at every idle exit.
import { parseArgs } from 'node:util';
import { resolvePaths } from '../core/paths';
import { loadDockerSettings } from '../core/settings';
import { validateName } from '../core/validate';
import { EngineApi } from '../docker/engine-api';
import { functionFilter, installId } from '../docker/names';
import { unreachableCode } from '../docker/engine';
import { log, logWithFields, errorMessage, exitAfterLog } from '../observe/log';
import { functionUnitBase } from '../systemd/units';

async function main(): Promise<number> {
  const { values } = parseArgs({ options: { function: { type: 'string' } } });
  const name = values.function ?? '';
  validateName(name);
  logWithFields({ SYSLOG_IDENTIFIER: functionUnitBase(name), FAASS_FUNCTION: name });
  const paths = resolvePaths();
  const engine = new EngineApi(loadDockerSettings(paths).socketPath);
  let ids: string[];
  try {
    ids = await engine.list(functionFilter(installId(paths.configDir), name, true));
  } catch (e) {
    // No engine, no container of it running; the next runner looks again at its start.
    if (unreachableCode(e)) {
      log.warning(`Could not look for containers of ${name} left running: ${errorMessage(e)}`);
      return 0;
    }
    throw e;
  }
  if (ids.length === 0) return 0;
  const failed: string[] = [];
  await Promise.all(ids.map((id) => engine.remove(id).catch((e) => failed.push(`${id.slice(0, 12)}: ${errorMessage(e)}`))));
  if (ids.length > failed.length) log.notice(`Removed ${ids.length - failed.length} container(s) of calls of ${name} its runner left running`);
  for (const f of failed) log.err(`Failed to remove container ${f}; it is left running`);
  return failed.length > 0 ? 1 : 0;
}

main().then(exitAfterLog, (e) => {
  log.err(`Failed to remove the containers of the runner's calls: ${errorMessage(e)}`);
  exitAfterLog(1);
});
