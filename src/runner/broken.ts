// A runner whose configuration is broken (its function's file, faass.conf): it takes its socket
// and answers every call 503 with the reason (FAASS_E_CONFIG_BROKEN), as the gateway does
// (gateway/broken.ts says why it must not fail its unit instead). It lives at most
// BROKEN_LIFETIME seconds: its unit sees the files as they were when it started (they are bound
// into its mount namespace), so only the next start can read a fixed one.
import * as http from 'node:http';
import * as net from 'node:net';
import { FaassError } from '../core/errors';
import { BROKEN_LIFETIME, Lifecycle, listenOn } from '../systemd/activation';
import { FUNCTION_DEFAULTS, buildFunctionConfig } from '../functions/function-config';
import { log } from '../observe/log';
import { Executor } from './call';
import { CallRunner, connectionHandler, httpHandler } from './runner';

export async function serveBroken(name: string, fd: number, error: FaassError): Promise<void> {
  log.err(`Answering 503 to every call until the configuration is fixed: ${error.message}`);
  // A stand-in for the config that does not parse: calls never reach a command.
  const cfg = buildFunctionConfig(name, { runtime: 'exec', command: 'false' });
  const refusing: Executor = {
    invoke: () => Promise.reject(error),
    close: () => Promise.resolve(),
    describe: () => 'configuration broken',
  };
  const calls = new CallRunner(cfg, refusing);
  const lifecycle = new Lifecycle({ name, idleSeconds: FUNCTION_DEFAULTS.idle, drainSeconds: 5, lifetimeSeconds: BROKEN_LIFETIME, onExit: () => calls.close(), status: () => `configuration broken: ${error.message}` });
  const httpServer = http.createServer({ keepAliveTimeout: 500, headersTimeout: 10000, requestTimeout: 0 }, httpHandler(calls));
  lifecycle.trackHttp(httpServer);
  const server = net.createServer(connectionHandler(calls, lifecycle, httpServer));
  lifecycle.track(server);
  await listenOn(server, { fd });
  lifecycle.ready();
}
