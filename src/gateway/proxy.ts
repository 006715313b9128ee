import * as http from 'node:http';
import * as fs from 'node:fs';
import { Paths, functionSocketPath, functionConfPath } from '../lib/paths';
import { GatewayConfig } from '../lib/gateway-config';
import { FaassError } from '../lib/errors';
import { callId, readBody, sendError, sendFaassError } from '../lib/http-util';
import { isValidName } from '../lib/validate';
import { log, errorMessage } from '../lib/log';
import { parseRoute } from './route';

// Pooled connections to a runner close after this long unused: well before any runner's idle
// time (at least 1 s), so a warm gateway never keeps a function awake, and the pooling side
// always drops first (no keep-alive race on the runner's close).
export const POOL_IDLE_MS = 400;
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'upgrade', 'proxy-connection', 'te', 'trailer', 'proxy-authorization']);
const RETRYABLE = new Set(['ECONNRESET', 'EPIPE', 'ECONNREFUSED', 'ENOENT', 'ECONNABORTED', 'EAGAIN']);

export class Gateway {
  private readonly agents = new Map<string, http.Agent>();
  constructor(
    private readonly cfg: GatewayConfig,
    private readonly paths: Paths,
  ) {}

  private agent(name: string): http.Agent {
    let a = this.agents.get(name);
    if (!a) {
      a = new http.Agent({ keepAlive: true, timeout: POOL_IDLE_MS, scheduling: 'lifo' });
      this.agents.set(name, a);
    }
    return a;
  }

  close(): void {
    for (const a of this.agents.values()) a.destroy();
  }

  readonly handle: http.RequestListener = (req, res) => {
    this.route(req, res).catch((e) => {
      log.err(`Failed to answer ${req.method} ${req.url}: ${errorMessage(e)}`);
      sendError(res, 'FAASS_E_INTERNAL', 'Internal error in the gateway', 500);
    });
  };

  private async route(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = req.url ?? '/';
    if (url === '/healthz' || url.startsWith('/healthz?')) {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"status":"ok"}\n');
      return;
    }
    const route = parseRoute(url, req.headers['x-function']);
    if (!route) {
      sendError(res, 'FAASS_E_ROUTE_MISSING', 'No function named: use /function/NAME, /lambda/NAME or the X-Function header', 404);
      return;
    }
    if (!isValidName(route.name)) {
      sendError(res, 'FAASS_E_NAME_INVALID', `Invalid function name ${JSON.stringify(route.name.slice(0, 80))}: lowercase letters, digits and '-'`, 400);
      return;
    }
    if (!fs.existsSync(functionConfPath(this.paths, route.name))) {
      sendError(res, 'FAASS_E_FUNCTION_NOT_FOUND', `No function named ${route.name}`, 404);
      return;
    }
    let body: Buffer;
    try {
      body = await readBody(req, this.cfg.maxBody);
    } catch (e) {
      if (e instanceof FaassError) {
        res.shouldKeepAlive = false; // the rest of the body is not read
        sendFaassError(res, e);
      } else res.destroy();
      return;
    }
    const id = callId(req);
    const headers: http.OutgoingHttpHeaders = {};
    for (const [k, v] of Object.entries(req.headers)) if (!HOP_BY_HOP.has(k) && v !== undefined) headers[k] = v;
    headers['content-length'] = String(body.length);
    headers['x-call-id'] = id;
    const fwd = req.headers['x-forwarded-for'];
    headers['x-forwarded-for'] = (fwd ? `${fwd}, ` : '') + (req.socket.remoteAddress ?? 'unix');
    this.forward(route.name, route.path, req.method ?? 'GET', headers, body, res, id, true);
  }

  // A request whose connection failed before any response byte came back is retried once on a
  // fresh connection: the runner may have just exited idle, or been restarted.
  private forward(name: string, path: string, method: string, headers: http.OutgoingHttpHeaders, body: Buffer, res: http.ServerResponse, id: string, mayRetry: boolean): void {
    let answered = false;
    const upstream = http.request({ socketPath: functionSocketPath(this.paths, name), path, method, headers, agent: mayRetry ? this.agent(name) : false }, (up) => {
      answered = true;
      clearTimeout(timer);
      const out: http.OutgoingHttpHeaders = {};
      for (const [k, v] of Object.entries(up.headers)) if (!HOP_BY_HOP.has(k) && v !== undefined) out[k] = v;
      res.writeHead(up.statusCode ?? 502, out);
      up.pipe(res);
      up.on('error', () => res.destroy());
    });
    const timer = setTimeout(() => {
      upstream.destroy();
      if (!answered) sendError(res, 'FAASS_E_GATEWAY_TIMEOUT', `Function ${name} did not answer within ${this.cfg.timeout}s`, 504);
    }, this.cfg.timeout * 1000);
    upstream.on('error', (e: NodeJS.ErrnoException) => {
      if (answered) {
        res.destroy();
        return;
      }
      clearTimeout(timer);
      if (res.destroyed || res.headersSent) return;
      if (mayRetry && RETRYABLE.has(e.code ?? '') || (mayRetry && e.message === 'socket hang up')) {
        log.debug(`Call ${id}: retrying ${name} on a fresh connection after ${e.code ?? e.message}`);
        this.forward(name, path, method, headers, body, res, id, false);
        return;
      }
      log.warning(`Call ${id}: Failed to reach function ${name}: ${e.code ?? e.message}`);
      sendError(res, 'FAASS_E_FUNCTION_UNREACHABLE', `Function ${name} is not reachable (${e.code ?? e.message}); is faass-fn-${name}.socket running?`, 502);
    });
    res.on('close', () => {
      if (!res.writableFinished) upstream.destroy();
    });
    upstream.end(body);
  }
}
