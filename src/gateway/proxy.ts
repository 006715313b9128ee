import * as http from 'node:http';
import * as fs from 'node:fs';
import { Paths, functionSocketPath, functionConfPath } from '../lib/paths';
import { GatewayConfig } from '../lib/gateway-config';
import { FaassError } from '../lib/errors';
import { callId, readBody, sendError, sendFaassError } from '../lib/http-util';
import { isValidName } from '../lib/validate';
import { log, errorMessage } from '../lib/log';
import { parseRoute } from './route';
import { RpcClient, RpcConnectionError } from './rpc-client';

// Pooled connections to a runner close after this long unused: well before any runner's idle
// time (at least 1 s), so a warm gateway never keeps a function awake, and the pooling side
// always drops first (no keep-alive race on the runner's close).
export const POOL_IDLE_MS = 400;
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'upgrade', 'proxy-connection', 'te', 'trailer', 'proxy-authorization', 'content-length', 'expect']);

export class Gateway {
  private readonly clients = new Map<string, RpcClient>();
  constructor(
    private readonly cfg: GatewayConfig,
    private readonly paths: Paths,
  ) {}

  private client(name: string): RpcClient {
    let c = this.clients.get(name);
    if (!c) {
      c = new RpcClient(functionSocketPath(this.paths, name), POOL_IDLE_MS);
      this.clients.set(name, c);
    }
    return c;
  }

  close(): void {
    for (const c of this.clients.values()) c.close();
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
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(req.headers)) if (!HOP_BY_HOP.has(k) && v !== undefined) headers[k] = Array.isArray(v) ? v.join(', ') : v;
    headers['x-call-id'] = id;
    const fwd = req.headers['x-forwarded-for'];
    headers['x-forwarded-for'] = (fwd ? `${fwd}, ` : '') + (req.socket.remoteAddress ?? 'unix');
    await this.forward(route.name, route.path, req.method ?? 'GET', headers, body, res, id);
  }

  // A call whose connection failed before its answer came back is retried once on a fresh
  // connection: the runner may have just exited idle, or been restarted.
  private async forward(name: string, path: string, method: string, headers: Record<string, string>, body: Buffer, res: http.ServerResponse, id: string): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      const call = this.client(name).call(method, path, headers, body, { fresh: attempt > 0, timeoutMs: this.cfg.timeout * 1000 });
      const onClose = () => call.cancel();
      res.once('close', onClose);
      try {
        const a = await call.answer;
        res.off('close', onClose);
        if (res.destroyed) return;
        res.writeHead(a.status, { ...a.headers, 'content-length': String(a.body.length) });
        res.end(a.body);
        return;
      } catch (e) {
        res.off('close', onClose);
        if (res.destroyed) return;
        if (e instanceof RpcConnectionError && attempt === 0) {
          log.debug(`Call ${id}: retrying ${name} on a fresh connection after ${e.code}`);
          continue;
        }
        if (!(e instanceof RpcConnectionError)) {
          sendError(res, 'FAASS_E_GATEWAY_TIMEOUT', `Function ${name} did not answer within ${this.cfg.timeout}s`, 504);
          return;
        }
        log.warning(`Call ${id}: Failed to reach function ${name}: ${e.code}`);
        sendError(res, 'FAASS_E_FUNCTION_UNREACHABLE', `Function ${name} is not reachable (${e.code}); is faass-fn-${name}.socket running?`, 502);
        return;
      }
    }
  }
}
