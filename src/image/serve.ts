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
import { loadDockerSettings, loadSettings } from '../core/settings';
import { FaassError } from '../core/errors';
import { Lifecycle, listenOn } from '../systemd/activation';
import { address, number } from '../core/validate';
import { log, logWithFields, errorMessage, exitAfterLog } from '../observe/log';
import { CallRunner, createExecutor } from '../runner/runner';
import { callId } from '../core/http-util';
import { callHeaders } from '../gateway/headers';
import { readWhole } from '../gateway/answer';
import { isFinalStatus, onTheWire, passableHeaders, statusRefused } from '../core/function-answer';
import { sendFaassError } from '../core/http-util';
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

export function handler(cfg: FunctionConfig, calls: CallRunner, maxBody: number, lifecycle: Lifecycle): http.RequestListener {
  return async (req, res) => {
    if (probe(req, res, lifecycle)) return;
    const body = await readWhole(req, res, maxBody);
    if (!body) return;
    const id = callId(req);
    const r = await calls.run({ method: req.method ?? 'GET', url: req.url ?? '/', headers: callHeaders(req, id, cfg.passAuthorization), body });
    // As the gateway passes a runner's answer on (gateway/runner-forward.ts answer).
    if (!isFinalStatus(r.status)) return sendFaassError(res, statusRefused(cfg.name, r.status));
    const wire = onTheWire({ status: r.status, headers: { ...passableHeaders(r.headers), 'x-call-id': id }, body: r.body });
    res.writeHead(r.status, wire.headers);
    res.end(wire.body);
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
  // The gateway's own server settings (gateway/main.ts), so connections behave alike.
  const server = http.createServer({ keepAliveTimeout: 5000, headersTimeout: 10000, requestTimeout: (Math.max(gw.timeout, cfg.timeout) + 30) * 1000 }, handler(cfg, calls, gw.maxBody, lifecycle));
  lifecycle.track(server);
  lifecycle.trackHttp(server);
  await listenOn(server, address('FAASS_LISTEN_HOST and PORT', host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`));
  lifecycle.ready();
  log.info(`Serving function ${cfg.name} (${executor.describe()}) on ${host}:${port}; health ${HEALTH_PATH}, readiness ${READY_PATH}`);
}

if (require.main === module) {
  main().catch((e) => {
    log.err(`Failed to start the image's runner: ${errorMessage(e)}`);
    exitAfterLog(e instanceof FaassError ? e.exitCode : 1);
  });
}
