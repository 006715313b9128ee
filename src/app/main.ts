#!/usr/bin/env node
// faass-app: runs a service's app (process or container) for its unit, faass-fn-NAME-app.service:
// READY=1 once the app's port accepts connections, stops it on SIGTERM within the grace time.
import { parseArgs } from 'node:util';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Paths, resolvePaths, functionCodeDir, serviceFailurePath, serviceAppSocket, serviceRuntimeDir } from '../core/paths';
import { writeFileAtomic } from '../core/fs-atomic';
import { FunctionConfig, loadFunctionConfig } from '../functions/function-config';
import { DockerSettings, Settings, loadDockerSettings, loadSettings } from '../core/settings';
import { installId } from '../docker/names';
import { FaassError, isBroken } from '../core/errors';
import { BROKEN_LIFETIME } from '../systemd/activation';
import { notify } from '../systemd/notify';
import { log, logWithFields, errorMessage, exitAfterLog } from '../observe/log';
import { waitReady } from './ready';
import { App, ProcessApp } from './process-app';
import { Forwarder } from './forwarder';
import { ProcessAccounting } from '../observe/accounting';
import { functionUnitBase, reachedThroughSocket } from '../systemd/units';

// Started only by a service's -app unit (faass.conf(5), kind=service).
const USAGE = 'Usage: faass-app --function NAME; see faass.conf(5), kind=service';
const STOP_GRACE = 10;

async function main(): Promise<number> {
  // --forward-with PROXYD: the app has a network of its own; open the way into it (forwarder.ts).
  const { values } = parseArgs({ options: { function: { type: 'string' }, 'forward-with': { type: 'string' } } });
  if (!values.function) throw new FaassError('FAASS_E_USAGE', USAGE);
  const paths = resolvePaths();
  let files: { cfg: FunctionConfig; gw: Settings; docker: DockerSettings };
  try {
    files = { cfg: loadFunctionConfig(paths, values.function), gw: loadSettings(paths), docker: loadDockerSettings(paths) };
  } catch (e) {
    // Under systemd a bad file must not fail the unit (as for a runner, runner/broken.ts); by hand, it says why and exits 2.
    if (!process.env.NOTIFY_SOCKET || !isBroken(e)) throw e;
    logWithFields({ SYSLOG_IDENTIFIER: `${functionUnitBase(values.function)}-app`, FAASS_FUNCTION: values.function });
    return serveBroken(paths, values.function, e);
  }
  const { cfg, gw, docker } = files;
  logWithFields({ SYSLOG_IDENTIFIER: `${functionUnitBase(cfg.name)}-app`, FAASS_FUNCTION: cfg.name });
  if (cfg.kind !== 'service' || cfg.port === undefined) throw new FaassError('FAASS_E_CONFIG_INVALID', `${cfg.name} is not a service (kind=service with a port)`);
  const app: App = cfg.runtime === 'docker' ? containerApp(paths, cfg, docker.socketPath) : new ProcessApp(cfg, functionCodeDir(paths, cfg.name));
  const accounting = gw.metrics ? new ProcessAccounting(paths, 'app', cfg.name, cfg.runtime === 'docker' ? null : `${functionUnitBase(cfg.name)}-app.service`) : null;
  const proxyd = values['forward-with'];
  const forwarder = proxyd ? new Forwarder(serviceAppSocket(paths, cfg.name), cfg.port, proxyd) : null;
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    notify.stopping();
    await forwarder?.stop(1);
    await app.stop(STOP_GRACE);
    accounting?.close();
    exitAfterLog(0);
  };
  process.once('SIGTERM', () => void stop());
  process.once('SIGINT', () => void stop());
  const started = Date.now();
  let why: string | null = null;
  try {
    await app.start();
    const r = await waitReady(app.address, cfg.health, cfg.readyTimeout, () => app.alive(), cfg.runtime === 'docker' && cfg.network === 'bridge');
    if (r === 'died') why = `the app ${await app.exited} before it was ready`;
    else if (r === 'timeout') why = `the app did not accept connections on 127.0.0.1:${cfg.port}${cfg.runtime === 'docker' && cfg.network === 'none' ? ' in its own network' : ''}${cfg.health ? ` and answer ${cfg.health}` : ''} within ready_timeout=${cfg.readyTimeout}s`;
  } catch (e) {
    why = `the app could not be started: ${errorMessage(e)}`;
  }
  if (why === null && forwarder) why = await forwarder.start().then(() => null, (e) => `the way into the app's network could not be opened: ${errorMessage(e)}`);
  if (why !== null) {
    log.err(`Service ${cfg.name}: ${why}`);
    recordFailure(paths, cfg.name, why);
    await forwarder?.stop(1);
    await app.stop(STOP_GRACE);
    // Ready anyway, with nothing behind the port: systemd-socket-proxyd then accepts the waiting
    // connections and closes them (the gateway answers 503 with the reason). Failing the unit
    // instead would leave them queued, and every queued connection would start it again, forever.
    notify.ready();
    notify.status(`failed: ${why}`);
    return new Promise(() => undefined); // until stopped (StopWhenUnneeded, with the proxy)
  }
  fs.rmSync(serviceFailurePath(paths, cfg.name), { force: true });
  notify.ready();
  notify.status(`${app.describe()} ready on 127.0.0.1:${cfg.port}`);
  log.info(`Service ${cfg.name}: ${app.describe()} ready on 127.0.0.1:${cfg.port} after ${Date.now() - started} ms`);
  const exit = await Promise.race([app.exited.then((why) => `the app ${why}`), ...(forwarder ? [forwarder.exited] : [])]);
  if (stopping) return new Promise(() => undefined); // stop() exits
  log.err(`Service ${cfg.name}: ${exit}`);
  await forwarder?.stop(1);
  await app.stop(STOP_GRACE);
  accounting?.close();
  return 1;
}

// Container apps' code is loaded only for them (dockerode, when a container must be created, costs ~200 ms).
// With network=none the app's way in is faass's forwarder, next to this program in dist/app/.
function containerApp(paths: Paths, cfg: FunctionConfig, engineSocket: string): App {
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  const { ContainerApp, FORWARDER_FILE } = require('./container-app') as typeof import('./container-app');
  const forwarder = reachedThroughSocket(cfg) ? { program: path.join(__dirname, FORWARDER_FILE), socketDir: serviceRuntimeDir(paths, cfg.name), socketPath: serviceAppSocket(paths, cfg.name) } : null;
  return new ContainerApp(cfg, engineSocket, installId(paths.configDir), forwarder);
}

// A file the app needs is broken (faass.conf, the function's file): a unit failing at every start
// would reach its start limit under load (gateway/broken.ts says what follows). So, as when the app
// does not get ready, the reason is recorded for the gateway (503 with it) and the unit is ready
// with nothing behind the port. It lives at most BROKEN_LIFETIME seconds: the unit sees the files
// as they were at its start, only the next start reads a fixed one.
async function serveBroken(paths: Paths, name: string, error: FaassError): Promise<number> {
  const why = `its configuration is broken: ${error.message}`;
  log.err(`Service ${name}: ${why}`);
  recordFailure(paths, name, why);
  notify.ready();
  notify.status(`failed: ${why}`);
  await new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, BROKEN_LIFETIME * 1000);
    const stop = () => {
      clearTimeout(timer);
      resolve();
    };
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
  });
  notify.stopping();
  return 0;
}

// For the gateway, which answers 503 with it at once. The directory is the unit's runtime
// directory (made by systemd, 0700), or made here when the app runs elsewhere.
function recordFailure(paths: Paths, name: string, why: string): void {
  try {
    fs.mkdirSync(path.dirname(serviceFailurePath(paths, name)), { recursive: true, mode: 0o700 });
    writeFileAtomic(serviceFailurePath(paths, name), why + '\n', 0o600);
  } catch (e) {
    log.warning(`Failed to record the failure for the gateway: ${errorMessage(e)}, ignoring`);
  }
}

main().then(
  (code) => exitAfterLog(code),
  (e) => {
    log.err(`Failed to start the service: ${errorMessage(e)}`);
    exitAfterLog(e instanceof FaassError ? e.exitCode : 1);
  },
);
