import * as http from 'node:http';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Paths, functionSocketPath, functionConfPath, serviceFailurePath } from '../lib/paths';
import { GatewayConfig } from '../lib/gateway-config';
import { FaassError, ErrorCode } from '../lib/errors';
import { Verifier, FailureLimiter, parseAuthorization } from '../lib/credentials';
import { callId, readBody, sendFaassError } from '../lib/http-util';
import { isValidName } from '../lib/validate';
import { log, logLine, errorMessage } from '../lib/log';
import { CallLog } from '../lib/call-log';
import { parseRoute } from './route';
import { parseFunctionConfig } from '../lib/function-config';
import { RpcClient, RpcConnectionError } from './rpc-client';
import { GatewayMetrics, METRICS_CONTENT_TYPE } from './metrics';
import { callHeaders, requestHeaders, responseHeaders } from './headers';

const isPath = (url: string, p: string) => url === p || url.startsWith(p + '?');

// A metrics scrape or a health check: answered, but no reason to stay up (activation.ts).
export const isPassive = (req: http.IncomingMessage): boolean => (req.method === 'GET' || req.method === 'HEAD') && (isPath(req.url ?? '', '/metrics') || isPath(req.url ?? '', '/healthz'));

// Pooled connections to a runner close after this long unused: well before any runner's idle
// time (at least 1 s), so a warm gateway never keeps a function awake, and the pooling side
// always drops first (no keep-alive race on the runner's close).
export const POOL_IDLE_MS = 400;

// A service's answer up to this size with a known length is sent in one write; larger ones stream.
const BUFFER_LIMIT = 64 * 1024;
const FAILURE_POLL_MS = 200;

const API_MAX_BODY = 1024 * 1024;

// Not a valid credential name (names are DNS labels): stands for "admins only".
const ADMINS_ONLY = '*admin*';

interface RouteInfo {
  kind: string; // function or service
  auth: readonly string[]; // credentials that may call it; empty: public
  passAuthorization: boolean;
  invalid: boolean; // its file does not parse: 502 for every caller
}

interface Upstream {
  socketPath: string;
  failurePath: string;
  agent: http.Agent;
}

// Errors are answered from the catalog (src/lib/errors.ts), which decides the status.
function refuse(res: http.ServerResponse, code: ErrorCode, message: string, headers: Record<string, string> = {}): void {
  sendFaassError(res, new FaassError(code, message), headers);
}

// Why a caller may not go on, and the headers that say how to (WWW-Authenticate, Retry-After).
interface Refusal {
  error: FaassError;
  headers: Record<string, string>;
}

const RETRYABLE = new Set(['ECONNRESET', 'EPIPE', 'ECONNREFUSED', 'ENOENT', 'ECONNABORTED']);

export class Gateway {
  private readonly clients = new Map<string, RpcClient>();
  private readonly upstreams = new Map<string, Upstream>();
  private readonly callLogs = new Map<string, CallLog>();
  private readonly infos = new Map<string, { file: string; mtimeMs: number; info: RouteInfo }>();
  private readonly verifier: Verifier;
  private readonly limiter = new FailureLimiter();
  readonly metrics: GatewayMetrics | null; // null: metrics = no
  constructor(
    private readonly cfg: GatewayConfig,
    private readonly paths: Paths,
  ) {
    this.verifier = new Verifier(paths);
    this.metrics = cfg.metrics ? new GatewayMetrics(paths) : null;
  }

  private client(name: string): RpcClient {
    let c = this.clients.get(name);
    if (!c) {
      c = new RpcClient(functionSocketPath(this.paths, name), POOL_IDLE_MS);
      this.clients.set(name, c);
    }
    return c;
  }

  close(): void {
    this.metrics?.close();
    for (const c of this.clients.values()) c.close();
    for (const u of this.upstreams.values()) u.agent.destroy();
  }

  // How to reach a function and who may call it: null when there is no such function. Re-read
  // only when its file changes.
  private infoOf(name: string): RouteInfo | null {
    const known = this.infos.get(name);
    const file = known?.file ?? functionConfPath(this.paths, name);
    const st = fs.statSync(file, { throwIfNoEntry: false });
    if (!st) return null;
    if (known && known.mtimeMs === st.mtimeMs) return known.info;
    let info: RouteInfo = { kind: 'function', auth: [], passAuthorization: false, invalid: false };
    try {
      const cfg = parseFunctionConfig(name, fs.readFileSync(file, 'utf8'));
      info = { kind: cfg.kind, auth: cfg.auth, passAuthorization: cfg.passAuthorization, invalid: false };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
      // An invalid file: who may call it is unknown, so nobody is let through; the reason goes
      // to the journal, not to the caller.
      log.err(`Function ${name}: ${errorMessage(e)}`);
      info = { kind: 'function', auth: [], passAuthorization: false, invalid: true };
    }
    this.infos.set(name, { file, mtimeMs: st.mtimeMs, info });
    return info;
  }

  // The management API: off without an admin credential, admins only, forwarded to faass-api's
  // unix socket (which may write settings and units; this process may not).
  private async api(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    if (!this.verifier.hasAdmin) {
      req.resume();
      refuse(res, 'FAASS_E_API_DISABLED', 'The management API is off: create an admin credential (faassctl credentials add NAME --admin)');
      return;
    }
    const denied = await this.authorize(req, 'the API', { kind: 'api', auth: [ADMINS_ONLY], passAuthorization: false, invalid: false });
    if (denied) {
      req.resume();
      sendFaassError(res, denied.error, denied.headers);
      return;
    }
    // Read whole here (JSON of at most API_MAX_BODY, code uploads up to max_body): an oversize request is a clean 413, not a
    // race between the API's early answer and this side still sending.
    let body: Buffer;
    try {
      body = await readBody(req, /^\/system\/function\/[^/?]+\/code(\?|$)/.test(req.url ?? '') ? this.cfg.maxBody : API_MAX_BODY);
    } catch (e) {
      if (!(e instanceof FaassError)) return void res.destroy();
      res.shouldKeepAlive = false;
      sendFaassError(res, e);
      return;
    }
    const headers = requestHeaders(req, false);
    headers['content-length'] = String(body.length);
    const up = http.request({ socketPath: path.join(this.paths.runtimeDir, 'api.sock'), path: req.url, method: req.method, headers, agent: false, timeout: (this.cfg.timeout + 120) * 1000 }, (r) => {
      res.writeHead(r.statusCode ?? 502, responseHeaders(r.headers, true));
      r.pipe(res);
    });
    up.on('timeout', () => up.destroy(new Error('timeout')));
    up.on('error', (e: NodeJS.ErrnoException) => {
      if (res.headersSent) return void res.destroy();
      refuse(res, 'FAASS_E_API_UNREACHABLE', `The management API does not answer (${e.code ?? e.message}); is faass-api.socket enabled (systemctl --user enable --now faass-api.socket)?`);
    });
    up.end(body);
  }

  // null: the caller may go on; otherwise the error to answer. Failures count per address.
  private async authorize(req: http.IncomingMessage, name: string, info: RouteInfo): Promise<Refusal | null> {
    if (info.invalid) return { error: new FaassError('FAASS_E_FUNCTION_UNREACHABLE', `Function ${name} has an invalid configuration; see faassctl logs gateway`), headers: {} };
    if (info.auth.length === 0) return null;
    const from = req.socket.remoteAddress ?? 'unix';
    const wait = this.limiter.retryAfter(from);
    if (wait > 0) return { error: new FaassError('FAASS_E_AUTH_RATE_LIMITED', 'Too many failed authentication attempts from this address'), headers: { 'retry-after': String(wait) } };
    const challenge = { 'www-authenticate': 'Bearer realm="faass", Basic realm="faass", charset="UTF-8"' };
    const presented = parseAuthorization(req.headers.authorization);
    if (presented === null) return { error: new FaassError('FAASS_E_AUTH_REQUIRED', `${info.kind === 'api' ? 'The management API' : `Function ${name}`} needs a credential: Authorization: Bearer NAME.SECRET`), headers: challenge };
    const cred = presented === 'malformed' ? null : await this.verifier.verify(presented);
    if (!cred) {
      this.limiter.failed(from);
      log.warning(`Failed authentication for ${name} from ${from}${presented === 'malformed' ? ' (malformed Authorization header)' : ` as ${presented.name}`}`);
      return { error: new FaassError('FAASS_E_AUTH_REQUIRED', 'The credential given is not valid'), headers: challenge };
    }
    if (cred.admin || info.auth.includes(cred.name)) return null;
    return { error: new FaassError('FAASS_E_FORBIDDEN', info.auth[0] === ADMINS_ONLY ? `Credential ${cred.name} is not an admin` : `Credential ${cred.name} may not call ${name}`), headers: {} };
  }

  readonly handle: http.RequestListener = (req, res) => {
    this.route(req, res).catch((e) => {
      log.err(`Failed to answer ${req.method} ${req.url}: ${errorMessage(e)}`);
      refuse(res, 'FAASS_E_INTERNAL', 'Internal error in the gateway');
    });
  };

  private async route(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = req.url ?? '/';
    if (isPath(url, '/healthz')) {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"status":"ok"}\n');
      return;
    }
    if (isPath(url, '/metrics') && this.metrics) {
      req.resume();
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        refuse(res, 'FAASS_E_METHOD_NOT_ALLOWED', `${req.method} is not allowed on /metrics; use GET`, { allow: 'GET, HEAD' });
        return;
      }
      const text = await this.metrics.render();
      res.writeHead(200, { 'content-type': METRICS_CONTENT_TYPE, 'content-length': Buffer.byteLength(text) });
      res.end(req.method === 'HEAD' ? undefined : text);
      return;
    }
    if (url.startsWith('/system/') || url.startsWith('/api/') || url === '/system' || url === '/api') {
      await this.api(req, res);
      return;
    }
    const route = parseRoute(url, req.headers['x-function']);
    if (!route) {
      refuse(res, 'FAASS_E_ROUTE_MISSING', 'No function named: use /function/NAME, /lambda/NAME or the X-Function header');
      return;
    }
    if (!isValidName(route.name)) {
      refuse(res, 'FAASS_E_NAME_INVALID', `Invalid function name ${JSON.stringify(route.name.slice(0, 80))}: lowercase letters, digits and '-'`);
      return;
    }
    const info = this.infoOf(route.name);
    if (!info) {
      refuse(res, 'FAASS_E_FUNCTION_NOT_FOUND', `No function named ${route.name}`);
      return;
    }
    // One look at the end of the call, for the metrics and (a service's) call line.
    const started = process.hrtime.bigint();
    let serviceLog: CallLog | null = null;
    let id = '';
    this.metrics?.begin(route.name);
    if (this.metrics || (info.kind === 'service' && this.cfg.logCalls)) {
      res.once('close', () => {
        const status = res.writableFinished ? res.statusCode : 499; // 499: the client went away
        const seconds = Number(process.hrtime.bigint() - started) / 1e9;
        this.metrics?.end(route.name, status, seconds);
        serviceLog?.record(id, route.name, status, seconds, null);
      });
    }
    const denied = await this.authorize(req, route.name, info);
    if (denied) {
      req.resume();
      sendFaassError(res, denied.error, denied.headers);
      return;
    }
    const kind = info.kind;
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
    id = callId(req);
    const headers = callHeaders(req, id, info.passAuthorization);
    if (kind === 'service') {
      // A service's calls are logged here (its app does not see call ids); a function's by its runner.
      serviceLog = this.serviceLogs(route.name);
      this.forwardHttp(route.name, route.path, req.method ?? 'GET', headers, body, res, id, true);
    }
    else await this.forward(route.name, route.path, req.method ?? 'GET', headers, body, res, id);
  }

  // A service's call lines, budgeted per service, with its FAASS_FUNCTION field.
  private serviceLogs(name: string): CallLog | null {
    if (!this.cfg.logCalls) return null;
    let l = this.callLogs.get(name);
    if (!l) {
      l = new CallLog(undefined, (priority, message, fields) => logLine(priority, message, { ...fields, FAASS_FUNCTION: name }));
      this.callLogs.set(name, l);
    }
    return l;
  }

  private service(name: string): Upstream {
    let u = this.upstreams.get(name);
    if (!u) {
      u = { socketPath: functionSocketPath(this.paths, name), failurePath: serviceFailurePath(this.paths, name), agent: new http.Agent({ keepAlive: true, timeout: POOL_IDLE_MS, scheduling: 'lifo' }) };
      this.upstreams.set(name, u);
    }
    return u;
  }

  // Services: plain HTTP through systemd-socket-proxyd, keep-alive connections dropped after
  // POOL_IDLE_MS (before the proxy's --exit-idle-time), retried once when they fail unanswered.
  // One timer per call: it looks for the app's failure record while no answer has come (so a
  // start that fails is a 503 at once, not after the timeout) and ends the call at the timeout.
  private forwardHttp(name: string, path: string, method: string, headers: Record<string, string>, body: Buffer, res: http.ServerResponse, id: string, mayRetry: boolean, asked = Date.now()): void {
    const u = this.service(name);
    let answered = false;
    const failure = (): string | null => {
      const st = fs.statSync(u.failurePath, { throwIfNoEntry: false });
      if (!st || st.mtimeMs < asked - 1000) return null;
      try {
        return fs.readFileSync(u.failurePath, 'utf8').trim();
      } catch {
        return null; // removed meanwhile: it got ready
      }
    };
    const deadline = asked + this.cfg.timeout * 1000;
    const tick = (): void => {
      if (answered) return;
      const why = failure();
      if (why !== null) {
        up.destroy();
        refuse(res, 'FAASS_E_SERVICE_NOT_READY', `Service ${name} did not get ready: ${why}`);
      } else if (Date.now() >= deadline) {
        up.destroy();
        refuse(res, 'FAASS_E_GATEWAY_TIMEOUT', `Service ${name} did not answer within ${this.cfg.timeout}s`);
      } else timer = setTimeout(tick, Math.min(FAILURE_POLL_MS, deadline - Date.now()));
    };
    let timer = setTimeout(tick, Math.min(FAILURE_POLL_MS, deadline - Date.now()));
    headers['content-length'] = String(body.length);
    const up = http.request({ socketPath: u.socketPath, path, method, headers, agent: mayRetry ? u.agent : false }, (r) => {
      answered = true;
      clearTimeout(timer);
      const out = responseHeaders(r.headers, false);
      out['x-call-id'] = id;
      const length = Number(r.headers['content-length']);
      if (!(length <= BUFFER_LIMIT)) {
        if (r.headers['content-length'] !== undefined) out['content-length'] = r.headers['content-length'];
        res.writeHead(r.statusCode ?? 502, out);
        r.pipe(res);
        r.on('error', () => res.destroy());
        return;
      }
      // A small answer of known length goes out in one write.
      const chunks: Buffer[] = [];
      r.on('data', (d: Buffer) => chunks.push(d));
      r.on('end', () => {
        if (res.destroyed) return;
        const all = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks);
        out['content-length'] = String(all.length);
        res.writeHead(r.statusCode ?? 502, out);
        res.end(all);
      });
      r.on('error', () => res.destroy());
    });
    up.on('error', (e: NodeJS.ErrnoException) => {
      if (answered || res.headersSent) {
        res.destroy();
        return;
      }
      if (res.destroyed) return;
      answered = true;
      clearTimeout(timer);
      const why = failure();
      if (why !== null) {
        refuse(res, 'FAASS_E_SERVICE_NOT_READY', `Service ${name} did not get ready: ${why}`);
        return;
      }
      if (mayRetry && (RETRYABLE.has(e.code ?? '') || e.message === 'socket hang up')) {
        this.forwardHttp(name, path, method, headers, body, res, id, false, asked);
        return;
      }
      log.warning(`Call ${id}: Failed to reach service ${name}: ${e.code ?? e.message}`);
      refuse(res, 'FAASS_E_FUNCTION_UNREACHABLE', `Service ${name} is not reachable (${e.code ?? e.message}); see faassctl logs ${name}`);
    });
    res.on('close', () => {
      if (!res.writableFinished) {
        clearTimeout(timer);
        up.destroy();
      }
    });
    up.end(body);
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
          refuse(res, 'FAASS_E_GATEWAY_TIMEOUT', `Function ${name} did not answer within ${this.cfg.timeout}s`);
          return;
        }
        log.warning(`Call ${id}: Failed to reach function ${name}: ${e.code}`);
        refuse(res, 'FAASS_E_FUNCTION_UNREACHABLE', `Function ${name} is not reachable (${e.code}); is faass-fn-${name}.socket running?`);
        return;
      }
    }
  }
}
