#!/usr/bin/env node
// faass-api: the management API on a unix socket from systemd (faass-api.socket); exits when idle.
import * as http from 'node:http';
import { parseArgs } from 'node:util';
import { Paths, resolvePaths } from '../core/paths';
import { number } from '../core/validate';
import { continueWhenRead } from '../core/http-util';
import { FaassError } from '../core/errors';
import { Lifecycle, listenOn, takeInheritedFds, warnUnexpectedFds } from '../systemd/activation';
import { log, logWithFields, errorMessage, exitAfterLog } from '../observe/log';
import { apiHandler } from './handlers';
import { endLogTails } from './logs';
import { removeStaleUploads } from './upload';
import * as path from 'node:path';
import { MetricsStore, metricsPath } from '../observe/metrics-store';

// --idle SECONDS (0: never; faassctl serve, which cannot start it again on a connection).
const IDLE_SECONDS = 10;

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { idle: { type: 'string' } } });
  const idle = values.idle !== undefined ? number('--idle', values.idle, 0, 86400) : IDLE_SECONDS;
  const fds = takeInheritedFds();
  logWithFields({ SYSLOG_IDENTIFIER: 'faass-api' });
  warnUnexpectedFds(fds, ['api'], { uses: 1, fallback: 'the API\'s socket' });
  const paths = resolvePaths();
  const metrics = new MetricsStore(paths, metricsPath(paths));
  metrics.add({ activations: { api: 1 } });
  const lifecycle = new Lifecycle({ name: 'api', idleSeconds: idle, drainSeconds: 120, onStop: endLogTails, onExit: () => {
      metrics.addDroppedLogLines('api');
      void metrics.flush();
    },
  });
  cleanUploads(paths);
  const server = http.createServer({ keepAliveTimeout: 2000, headersTimeout: 10000, requestTimeout: 120000 });
  lifecycle.track(server);
  lifecycle.trackHttp(server);
  server.on('request', apiHandler(paths));
  continueWhenRead(server);
  const target = fds.length > 0 ? { fd: fds[0].fd } : { kind: 'unix' as const, path: path.join(paths.runtimeDir, 'api.sock'), text: path.join(paths.runtimeDir, 'api.sock') };
  await listenOn(server, target);
  lifecycle.ready();
  log.info(`API serving on ${fds.length > 0 ? 'its socket from systemd' : target.text}, idle exit after ${idle}s`);
}

// Uploads an API that died mid-deploy left behind; one that fails here does not stop the API.
function cleanUploads(paths: Paths): void {
  try {
    for (const n of removeStaleUploads(paths)) log.info(`Removed uploads/${n}, left by an API that stopped mid-upload`);
  } catch (e) {
    log.warning(`Failed to remove stale uploads: ${errorMessage(e)}, ignoring`);
  }
}

main().catch((e) => {
  log.err(`Failed to start faass-api: ${errorMessage(e)}`);
  exitAfterLog(e instanceof FaassError ? e.exitCode : 1);
});
