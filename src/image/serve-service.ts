// A service (kind=service) in a faassctl image: its app started with its command (app/
// process-app.ts, as its -app unit starts it on a host, PORT set to its own port), and in front on
// $PORT the gateway's way to a service (gateway/service-forward.ts: the same request hygiene,
// retry, timeout and checks on the answer), so a client gets what /function/NAME/PATH gives.
// /_/health: 200 while this program runs; /_/ready: 200 while the app's port accepts connections
// and its health= path, if any, answers 2xx/3xx. SIGTERM: calls in flight finish, then TERM to
// the app (killed after STOP_GRACE), and this program exits. An app that ends by itself ends it
// too, with status 1, so the cluster starts a fresh pod.
import * as http from 'node:http';
import { FunctionConfig } from '../functions/function-config';
import { FaassError } from '../core/errors';
import { Lifecycle } from '../systemd/activation';
import { log, exitAfterLog, errorMessage } from '../observe/log';
import { sendError, sendFaassError } from '../core/http-util';
import { guardAnswer, takeCall } from '../gateway/function-call';
import { Upstream, forwardToService, serviceAgent } from '../gateway/service-forward';
import { ProcessApp } from '../app/process-app';
import { answersNow, waitReady } from '../app/ready';
import { HEALTH_PATH, READY_PATH } from './layout';

// As faass-app gives its app on a host (app/main.ts).
const STOP_GRACE = 10;

// The app as far as the front knows it: why it is not ready (null: it may be).
export class ServiceApp {
  readonly app: ProcessApp;
  notReady: string | null = null;

  constructor(
    readonly cfg: FunctionConfig,
    codeDir: string,
  ) {
    this.app = new ProcessApp(cfg, codeDir);
  }

  get port(): number {
    return this.cfg.port as number;
  }

  // Started, and waited for as its unit waits (ready_timeout); a timeout is said, in the log and
  // at /_/ready, and the program stays up: the cluster's readiness probe keeps calls away.
  async start(): Promise<void> {
    await this.app.start();
    const r = await waitReady(this.app.address, this.cfg.health, this.cfg.readyTimeout, () => this.app.alive());
    if (r === 'timeout') {
      this.notReady = `the app did not accept connections on 127.0.0.1:${this.port}${this.cfg.health ? ` and answer ${this.cfg.health}` : ''} within ready_timeout=${this.cfg.readyTimeout}s`;
      log.err(`Service ${this.cfg.name} is not ready: ${this.notReady}`);
    } else if (r === 'ready') log.info(`Service ${this.cfg.name}: the app is ready on 127.0.0.1:${this.port}`);
  }
}

// The two reserved paths; false for any other (the app's).
async function probe(req: http.IncomingMessage, res: http.ServerResponse, s: ServiceApp, lifecycle: Lifecycle): Promise<boolean> {
  const p = (req.url ?? '/').split('?')[0];
  if (p !== HEALTH_PATH && p !== READY_PATH) return false;
  req.resume();
  let why: string | null = null;
  if (p === READY_PATH) {
    if (lifecycle.isDraining) why = 'stopping';
    else if (s.notReady) why = s.notReady;
    else if (!(await answersNow(s.app.address, s.cfg.health))) why = `the app does not ${s.cfg.health ? `answer ${s.cfg.health} with 2xx/3xx` : `accept connections on 127.0.0.1:${s.port}`}`;
  }
  const text = why === null ? 'ok\n' : `not ready: ${why}\n`;
  res.writeHead(why === null ? 200 : 503, { 'content-type': 'text/plain', 'content-length': String(Buffer.byteLength(text)), 'cache-control': 'no-store' });
  res.end(text);
  return true;
}

export function serviceHandler(s: ServiceApp, gw: { maxBody: number; timeout: number }, lifecycle: Lifecycle): http.RequestListener {
  const u: Upstream = { target: { host: '127.0.0.1', port: s.port }, failure: () => s.notReady, agent: serviceAgent() };
  const serve = async (req: http.IncomingMessage, res: http.ServerResponse): Promise<void> => {
    if (await probe(req, res, s, lifecycle)) return;
    guardAnswer(res);
    const call = await takeCall(req, res, { name: s.cfg.name, path: req.url ?? '/' }, gw.maxBody, s.cfg.passAuthorization);
    if (!call) return;
    if (s.notReady) return sendFaassError(res, new FaassError('FAASS_E_SERVICE_NOT_READY', `Service ${s.cfg.name} did not get ready: ${s.notReady}`));
    forwardToService(u, call, res, gw.timeout);
  };
  return (req, res) => {
    serve(req, res).catch((e) => {
      log.err(`Failed to answer ${req.method} ${req.url}: ${errorMessage(e)}`);
      sendError(res, 'FAASS_E_INTERNAL', "Internal error in the image's front");
    });
  };
}

// The lifecycle's part: at the end of a stop, the app is stopped; an app that ends by itself
// ends this program (status 1: a pod without its app must not look alive).
export function serviceLifecycle(s: ServiceApp, drainSeconds: number): Lifecycle {
  let stopping = false;
  const lifecycle = new Lifecycle({
    name: s.cfg.name,
    idleSeconds: 0,
    drainSeconds,
    passive: (req) => [HEALTH_PATH, READY_PATH].includes((req.url ?? '/').split('?')[0]),
    onStop: () => (stopping = true),
    onExit: async () => {
      await s.app.stop(STOP_GRACE);
      log.info(`Service ${s.cfg.name}: the app ${await s.app.exited}`);
    },
  });
  void s.app.exited.then((why) => {
    if (stopping) return;
    log.err(`Service ${s.cfg.name}: the app ${why}; exiting`);
    exitAfterLog(1);
  });
  return lifecycle;
}
