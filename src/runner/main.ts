#!/usr/bin/env node
// faass-runner(8): serves one function on the socket systemd passes (or --listen), exits when idle.
import * as http from 'node:http';
import * as net from 'node:net';
import { parseArgs } from 'node:util';
import { resolvePaths } from '../core/paths';
import { codeDirOf } from '../functions/code-versions';
import { FunctionConfig, loadFunctionConfig } from '../functions/function-config';
import { DockerSettings, Settings, loadDockerSettings, loadSettings } from '../core/settings';
import type { DockerExecutor } from './docker-executor';
import { FaassError, isBroken } from '../core/errors';
import { serveBroken } from './broken';
import { Lifecycle, listenOn, takeInheritedFds, warnUnexpectedFds } from '../systemd/activation';
import { address, number } from '../core/validate';
import { log, logWithFields, errorMessage, exitAfterLog } from '../observe/log';
import { StraySweeper } from './strays';
import { CallRunner, connectionHandler, createExecutor, httpHandler } from './runner';
import { ProcessAccounting } from '../observe/accounting';
import { canaryUnitBase, functionUnitBase } from '../systemd/units';
import { installId } from '../docker/names';
import { Outboxes } from './outboxes';

const USAGE = 'Usage: faass-runner --function NAME [--canary] [--listen ADDRESS] [--idle SECONDS]; see faass-runner(8)';

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { function: { type: 'string' }, canary: { type: 'boolean' }, listen: { type: 'string' }, idle: { type: 'string' }, help: { type: 'boolean' } } });
  if (values.help) {
    process.stdout.write(USAGE + '\n');
    return;
  }
  if (!values.function) throw new FaassError('FAASS_E_USAGE', USAGE);
  const fds = takeInheritedFds();
  const paths = resolvePaths();
  // A canary's runner (units.ts renderCanaryService) reads the canary's file where the function's
  // is; it differs only in its unit, whose processes it sweeps and whose CPU it counts.
  const unit = `${values.canary ? canaryUnitBase(values.function) : functionUnitBase(values.function)}.service`;
  let files: { cfg: FunctionConfig; docker: DockerSettings; gw: Settings };
  try {
    files = { cfg: loadFunctionConfig(paths, values.function), docker: loadDockerSettings(paths), gw: loadSettings(paths) };
  } catch (e) {
    // Under systemd a bad file must not fail the unit (broken.ts); by hand, it says why and exits 2.
    if (fds.length > 0 && isBroken(e)) {
      logWithFields({ SYSLOG_IDENTIFIER: unit.replace(/\.service$/, ''), FAASS_FUNCTION: values.function });
      return serveBroken(values.function, fds[0].fd, e);
    }
    throw e;
  }
  const { cfg, docker, gw } = files;
  logWithFields({ SYSLOG_IDENTIFIER: unit.replace(/\.service$/, ''), FAASS_FUNCTION: cfg.name });
  // Its socket unit's name (systemd's default FileDescriptorName=), or the function's (faassctl serve).
  warnUnexpectedFds(fds, [unit.replace(/\.service$/, '.socket'), cfg.name], { uses: 1, fallback: 'the function\'s socket' });
  const idle = values.idle !== undefined ? number('--idle', values.idle, 0, 86400) : cfg.idle;
  const target = fds.length > 0 ? { fd: fds[0].fd } : values.listen ? address('--listen', values.listen) : null;
  if (!target) throw new FaassError('FAASS_E_USAGE', `No socket from systemd (LISTEN_FDS) and no --listen. ${USAGE}`);
  const codeDir = codeDirOf(paths, cfg.name, cfg.version);
  // Worker threads share the process's working directory: make it the function's code.
  process.chdir(codeDir);
  const executor = createExecutor(cfg, codeDir, docker, installId(paths.configDir));
  if (cfg.runtime === 'docker') {
    const removed = await (executor as DockerExecutor).removeLeftovers().catch((e) => {
      log.warning(`Failed to look for leftover containers of ${cfg.name}: ${errorMessage(e)}, ignoring`);
      return 0;
    });
    if (removed) log.notice(`Removed ${removed} container(s) a previous runner of ${cfg.name} left behind`);
  }
  const accounting = gw.metrics ? new ProcessAccounting(paths, 'runner', cfg.name, cfg.runtime === 'docker' ? null : unit) : null;
  // A container's calls get no outbox (not done: its files would be the engine's user's).
  const calls = new CallRunner(cfg, executor, gw.logCalls, cfg.runtime === 'docker' ? undefined : Outboxes.fromEnv(cfg.name));
  // A container's processes are the engine's, not the unit's: nothing of a call stays here.
  const sweeper = cfg.runtime === 'docker' ? null : StraySweeper.forUnit(unit, () => executor.keptPids?.() ?? []);
  if (sweeper) calls.onCallEnd = () => sweeper.callEnded(() => calls.quiet);
  const lifecycle = new Lifecycle({
    name: cfg.name,
    idleSeconds: idle,
    drainSeconds: cfg.timeout + 1,
    onExit: async () => {
      await executor.close();
      calls.close();
      accounting?.close();
    },
  });
  const httpServer = http.createServer({ keepAliveTimeout: 5000, headersTimeout: 10000, requestTimeout: 0 }, httpHandler(calls));
  lifecycle.trackHttp(httpServer);
  // Half-open connections: a stop half-closes a faass-rpc connection and reads on until the
  // gateway has read every answer (activation.ts closeDone); http.Server expects them too.
  const server = net.createServer({ allowHalfOpen: true }, connectionHandler(calls, lifecycle, httpServer));
  lifecycle.track(server);
  await listenOn(server, target);
  lifecycle.ready();
  log.info(`Serving function ${cfg.name}${values.canary ? ` (its canary, version ${cfg.version?.number ?? '?'})` : ''} (${executor.describe()}) on ${'fd' in target ? 'socket from systemd' : target.text}, idle exit after ${idle}s`);
}

main().catch((e) => {
  log.err(`Failed to start faass-runner: ${errorMessage(e)}`);
  exitAfterLog(e instanceof FaassError ? e.exitCode : 1);
});
