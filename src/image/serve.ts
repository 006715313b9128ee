#!/usr/bin/env node
// The program of a faassctl image (faassctl-image(1)): faass's runner serving one function over
// HTTP on $PORT (the contract Knative and Cloud Run use), answering as the local gateway does:
// the gateway's request hygiene and body limit in front of the runner's CallRunner, the
// gateway's checks on the answer behind it. Health and readiness on paths of its own; SIGTERM
// stops accepting, finishes the calls in flight and exits 0 (systemd/activation.ts Lifecycle).
import * as http from 'node:http';
import { resolvePaths } from '../core/paths';
import { codeDirOf } from '../functions/code-versions';
import { FunctionConfig, loadFunctionConfig } from '../functions/function-config';
import { Settings, loadDockerSettings, loadSettings } from '../core/settings';
import { ServiceApp, serviceHandler, serviceLifecycle } from './serve-service';
import { FaassError } from '../core/errors';
import { Lifecycle, listenOn } from '../systemd/activation';
import { address, number } from '../core/validate';
import { log, logWithFields, errorMessage, exitAfterLog } from '../observe/log';
import { CallRunner, createExecutor } from '../runner/runner';
import { sendError } from '../core/http-util';
import { gatewayTimeout, guardAnswer, sendAnswer, takeCall } from '../gateway/function-call';
import { serverOptions } from '../gateway/server-options';
import { HEALTH_PATH, IMAGE_COMMAND_ENV, READY_PATH } from './layout';
import { IMAGE_PORT } from '../export/common';

// A container function's image runs its command here, as runtime exec would: the runner is in
// the function's own image (built FROM it), so no engine is needed or reached.
function inImage(cfg: FunctionConfig): FunctionConfig {
  if (cfg.runtime !== 'docker') return cfg;
  const command = cfg.command ?? process.env[IMAGE_COMMAND_ENV];
  if (!command) throw new FaassError('FAASS_E_CONFIG_INVALID', `Function ${cfg.name}: its image has no command (no command= and no ENTRYPOINT/CMD): rebuild it with faassctl image`);
  return { ...cfg, runtime: 'exec', command };
}

// GET/HEAD of the two reserved paths: 200 while serving; readiness says 503 once a stop began,
// so a load balancer sends no more calls while those in flight finish.
function probe(req: http.IncomingMessage, res: http.ServerResponse, lifecycle: Lifecycle): boolean {
  const p = (req.url ?? '/').split('?')[0];
  if (p !== HEALTH_PATH && p !== READY_PATH) return false;
  req.resume();
  const down = p === READY_PATH && lifecycle.isDraining;
  const text = down ? 'stopping\n' : 'ok\n';
  res.writeHead(down ? 503 : 200, { 'content-type': 'text/plain', 'content-length': String(text.length), 'cache-control': 'no-store' });
  res.end(text);
  return true;
}

// The gateway's call path (gateway/function-call.ts), with this process's runner in place of
// faass-rpc: the same request hygiene and body limit, the same checks on the answer, and the
// gateway's own timeout (faass.conf [gateway] timeout, as it was when the image was built): where
// it is shorter than the function's, the call ends there with the gateway's 504, as it does on
// the host. Path and query are the function's /PATH as they came (the gateway's /function/NAME
// taken off).
export function handler(cfg: FunctionConfig, calls: Pick<CallRunner, 'run'>, gw: { maxBody: number; timeout: number }, lifecycle: Lifecycle): http.RequestListener {
  const serve = async (req: http.IncomingMessage, res: http.ServerResponse): Promise<void> => {
    if (probe(req, res, lifecycle)) return;
    guardAnswer(res);
    const call = await takeCall(req, res, { name: cfg.name, path: req.url ?? '/' }, gw.maxBody, cfg.passAuthorization);
    if (!call) return;
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<null>((resolve) => (timer = setTimeout(() => resolve(null), gw.timeout * 1000)));
    const r = await Promise.race([calls.run({ method: call.method, url: call.path, headers: call.headers, body: call.body }), late]);
    clearTimeout(timer);
    if (res.destroyed) return;
    if (r === null) return gatewayTimeout(res, cfg.name, gw.timeout);
    sendAnswer(call, r, res);
  };
  return (req, res) => {
    serve(req, res).catch((e) => {
      log.err(`Failed to answer ${req.method} ${req.url}: ${errorMessage(e)}`);
      sendError(res, 'FAASS_E_INTERNAL', 'Internal error in the image\'s runner');
    });
  };
}

async function main(): Promise<void> {
  const name = process.env.FAASS_FUNCTION;
  if (!name) throw new FaassError('FAASS_E_USAGE', 'FAASS_FUNCTION is not set: this program runs in an image faassctl image built (faassctl-image(1))');
  const port = number('PORT', process.env.PORT ?? String(IMAGE_PORT), 1, 65535, { integer: true });
  const host = process.env.FAASS_LISTEN_HOST || '0.0.0.0';
  const paths = resolvePaths();
  const given = loadFunctionConfig(paths, name);
  const cfg = inImage(given);
  const gw = loadSettings(paths);
  logWithFields({ SYSLOG_IDENTIFIER: `faass-image-${cfg.name}`, FAASS_FUNCTION: cfg.name });
  // A container function's command runs where its image's WORKDIR is, as in its container.
  const codeDir = given.runtime === 'docker' ? process.cwd() : codeDirOf(paths, cfg.name, cfg.version);
  process.chdir(codeDir);
  if (cfg.kind === 'service') return serveService(cfg, codeDir, gw, host, port);
  const executor = createExecutor(cfg, codeDir, loadDockerSettings(paths), 'image');
  const calls = new CallRunner(cfg, executor, gw.logCalls);
  const lifecycle = new Lifecycle({
    name: cfg.name,
    idleSeconds: 0, // the cluster scales it; it never exits on its own
    drainSeconds: cfg.timeout + 1,
    passive: (req) => [HEALTH_PATH, READY_PATH].includes((req.url ?? '/').split('?')[0]),
    onExit: async () => {
      await executor.close();
      calls.close();
    },
  });
  // The gateway's own server settings (its headers_timeout as built), so connections behave alike.
  const server = http.createServer(serverOptions(gw, 0), handler(cfg, calls, gw, lifecycle));
  lifecycle.track(server);
  lifecycle.trackHttp(server);
  await listenOn(server, address('FAASS_LISTEN_HOST and PORT', host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`));
  lifecycle.ready();
  log.info(`Serving function ${cfg.name} (${executor.describe()}) on ${host}:${port}; health ${HEALTH_PATH}, readiness ${READY_PATH}`);
}

// A service: its app behind the front (serve-service.ts). The front listens first, so health
// answers while the app starts; its port and the app's cannot be one.
async function serveService(cfg: FunctionConfig, codeDir: string, gw: Settings, host: string, port: number): Promise<void> {
  if (cfg.port === port) throw new FaassError('FAASS_E_USAGE', `PORT=${port} is the port of the app of service ${cfg.name} (port=${cfg.port}), which the image's front forwards to: run the image with another PORT`);
  const s = new ServiceApp(cfg, codeDir);
  const lifecycle = serviceLifecycle(s, gw.timeout + 1);
  const server = http.createServer(serverOptions(gw, 0), serviceHandler(s, gw, lifecycle));
  lifecycle.track(server);
  lifecycle.trackHttp(server);
  await listenOn(server, address('FAASS_LISTEN_HOST and PORT', host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`));
  lifecycle.ready();
  log.info(`Serving service ${cfg.name} (${s.app.describe()} on 127.0.0.1:${cfg.port}) on ${host}:${port}; health ${HEALTH_PATH}, readiness ${READY_PATH}`);
  await s.start();
}

if (require.main === module) {
  main().catch((e) => {
    log.err(`Failed to start the image's runner: ${errorMessage(e)}`);
    exitAfterLog(e instanceof FaassError ? e.exitCode : 1);
  });
}
