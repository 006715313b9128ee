// The walk a request takes: route → authorize → forward to a runner, a service or the API.
// Each step is its own module; this one only puts them in order and counts the call.
import type * as http from 'node:http';
import { randomUUID } from 'node:crypto';
import { Paths } from '../core/paths';
import { Settings } from '../core/settings';
import { Verifier, parseAuthorization } from '../auth/credentials';
import { sendFaassError } from '../core/http-util';
import { log, errorMessage } from '../observe/log';
import { CallLog } from '../observe/call-log';
import { Destination, Route, routeOf } from './route';
import { API_DOOR, Authorizer, Caller, Door, callerOf, mayView } from './authorize';
import { FunctionTable } from './function-table';
import { RunnerForwarder } from './runner-forward';
import { Canaries, CanaryPick } from './canaries';
import { ServiceForwarder } from './service-forward';
import { ApiProxy } from './api-proxy';
import { callHeaders, makeInert } from './headers';
import { guardAnswer, takeCall } from './function-call';
import { readWhole, refuse } from './answer';
import { GatewayMetrics, METRICS_CONTENT_TYPE } from './metrics';
import { enqueueOnce } from '../queue/idempotency';
import { FaassError } from '../core/errors';
import { loadAsyncSettings } from '../core/settings';
import { checkCallbackUrl } from '../queue/callback-url';
import { subscribersOf } from '../functions/topics';
import { Subscriber, fanOut, publishKey } from './publish';
import { Console } from './console';

// Which of the gateway's addresses a request came in on (main.ts, from the socket's name): the
// functions' (listen, tls_listen) or the web console's (console_listen). The console has an origin
// of its own (DESIGN.md "Web console"): a function's page, served on the functions' origin, runs
// script there, so nothing of the console (its files, its session) may count on that origin.
export type Side = 'function' | 'console';

// Set once a call is forwarded to a service: its id and call line for the end of the call.
interface CallEnd {
  id: string;
  log: CallLog | null;
  canary: boolean; // the function's canary took the call (the metrics' side)
}

// The canary's pick, noting on `end` that the canary took the call: its done() is called once it
// did (an answer, or a failure of its own), before the call's answer is written; never for a call
// it did not take, which the function's own runner answers.
const noted = (pick: CanaryPick | null, end: CallEnd): CanaryPick | null =>
  pick && {
    socket: pick.socket,
    version: pick.version,
    done: (error) => {
      end.canary = true;
      pick.done(error);
    },
  };

export class Gateway {
  private readonly functions: FunctionTable;
  private readonly auth: Authorizer;
  private readonly runners: RunnerForwarder;
  private readonly canaries: Canaries;
  private readonly services: ServiceForwarder;
  private readonly api: ApiProxy;
  private readonly console: Console;
  readonly metrics: GatewayMetrics | null; // null: metrics = no

  constructor(
    private readonly cfg: Settings,
    private readonly paths: Paths,
  ) {
    this.functions = new FunctionTable(paths);
    const verifier = new Verifier(paths);
    this.auth = new Authorizer(verifier);
    this.console = new Console(paths, verifier, this.auth);
    this.runners = new RunnerForwarder(paths, cfg.timeout);
    this.canaries = new Canaries(paths);
    this.services = new ServiceForwarder(paths, cfg.timeout, cfg.logCalls);
    this.api = new ApiProxy(paths, cfg.maxBody, cfg.timeout);
    this.metrics = cfg.metrics ? new GatewayMetrics(paths) : null;
  }

  // A stop begins: streams through the API (a log tail) end now, not at the drain time's end.
  stopping(): void {
    this.api.endStreams();
  }

  close(): void {
    this.metrics?.close();
    this.runners.close();
    this.canaries.close();
    this.services.close();
  }

  // The requests of one address (main.ts picks by the socket's name).
  listener(side: Side): http.RequestListener {
    return (req, res) => {
      this.walk(req, res, side).catch((e) => {
        log.err(`Failed to answer ${req.method} ${req.url}: ${errorMessage(e)}`);
        refuse(res, 'FAASS_E_INTERNAL', 'Internal error in the gateway');
      });
    };
  }

  // The functions' address: every route but the console's.
  readonly handle: http.RequestListener = this.listener('function');

  private async walk(req: http.IncomingMessage, res: http.ServerResponse, side: Side): Promise<void> {
    const to = routeOf(req.url ?? '/', req.headers['x-function'], { metrics: this.metrics !== null });
    if (side === 'console') return this.walkConsole(req, res, to);
    switch (to.to) {
      case 'health':
        return health(res);
      case 'metrics':
        return this.scrape(req, res, side);
      case 'api':
        return this.toApi(req, res, side);
      case 'ui':
        req.resume();
        return refuse(res, 'FAASS_E_ROUTE_MISSING', `The console is served on its own address: ${this.cfg.consoleListen ? this.cfg.consoleListen.text : 'console_listen in faass.conf [gateway]'}; see faass-gateway(8)`);
      case 'nowhere':
        return sendFaassError(res, to.error);
      case 'function':
        return this.toFunction(req, res, to);
      case 'async':
        return this.toQueue(req, res, to);
      case 'topic':
        return this.toTopic(req, res, to.topic, to.path);
    }
  }

  // The console's address: its files and sessions, the management API, and function calls made
  // by its page (invoke) only: with the session and its X-CSRF-Token, which a link or a form from
  // elsewhere cannot carry, checked before the function runs; their answers inert (a function's
  // HTML is never a page of the console's origin). Nothing else.
  private async walkConsole(req: http.IncomingMessage, res: http.ServerResponse, to: Destination): Promise<void> {
    switch (to.to) {
      case 'health':
        return health(res);
      case 'metrics':
        return this.scrape(req, res, 'console');
      case 'api':
        return this.toApi(req, res, 'console');
      case 'ui':
        return this.console.handle(req, res);
      case 'function':
      case 'async': {
        makeInert(res);
        const session = this.console.apiSession(req);
        if (!session || !('name' in session)) {
          req.resume();
          return sendFaassError(res, session?.error ?? new FaassError('FAASS_E_AUTH_REQUIRED', `On the console's address a function is called from the console's page only (its session and X-CSRF-Token); call it at ${this.functionAddress()}`));
        }
        return to.to === 'function' ? this.toFunction(req, res, to, 'console') : this.toQueue(req, res, to, 'console');
      }
      default:
        req.resume();
        return refuse(res, 'FAASS_E_ROUTE_MISSING', `The console's address serves the console only (/ui/, the management API, its page's function calls): ${req.url?.split('?')[0] ?? '/'} is served at ${this.functionAddress()}`);
    }
  }

  // Where functions are called, as a user would type it.
  private functionAddress(): string {
    return [this.cfg.tls && !this.cfg.tls.listen ? null : this.cfg.listen.text, this.cfg.tls ? (this.cfg.tls.listen ?? this.cfg.listen).text : null].filter((a) => a !== null).join(' or ');
  }

  // An asynchronous call: checked as a synchronous one (the function exists, the caller may call
  // it, the body is within the limit), then queued; 202 with its X-Call-Id once it is on disk.
  private async toQueue(req: http.IncomingMessage, res: http.ServerResponse, route: Route, side: Side = 'function'): Promise<void> {
    const fn = this.functions.lookup(route.name);
    if (!fn) return refuse(res, 'FAASS_E_FUNCTION_NOT_FOUND', `No function named ${route.name}`);
    if (!(await this.authorized(req, res, { kind: 'function', name: route.name, auth: fn.auth, broken: fn.broken }, this.callerOf(req, side)))) return;
    let callback: string | undefined;
    try {
      callback = await this.callbackOf(req);
    } catch (e) {
      req.resume();
      if (e instanceof FaassError) return sendFaassError(res, e);
      throw e;
    }
    const body = await readWhole(req, res, this.cfg.maxBody);
    if (!body) return;
    const fresh = randomUUID(); // never the caller's: a queued call's id names one call only
    const headers = callHeaders(req, fresh, fn.passAuthorization);
    delete headers['x-callback-url']; // the call's, kept with it; not the function's business
    const key = req.headers['idempotency-key'];
    let id: string;
    try {
      const call = { id: fresh, name: route.name, method: req.method ?? 'POST', path: route.path, headers, enqueuedAt: Date.now(), body, ...(callback !== undefined ? { callback } : {}) };
      id = await enqueueOnce(this.paths, call, fn.queueMax, Array.isArray(key) ? key[0] : key);
    } catch (e) {
      if (e instanceof FaassError) return sendFaassError(res, e, e.code === 'FAASS_E_QUEUE_FULL' ? { 'retry-after': '5' } : {});
      throw e;
    }
    const answer = JSON.stringify({ callId: id }) + '\n';
    res.writeHead(202, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(answer), 'x-call-id': id });
    res.end(answer);
  }

  // A publish (publish.ts): the topic has subscribers (404), the caller may call every one of
  // them (authorize.ts checkEvery), then a call per subscriber, each on disk before the answer.
  private async toTopic(req: http.IncomingMessage, res: http.ServerResponse, topic: string, path: string): Promise<void> {
    if (req.method !== 'POST') {
      req.resume();
      return refuse(res, 'FAASS_E_METHOD_NOT_ALLOWED', `${req.method} is not allowed on /topic/${topic}; use POST`, { allow: 'POST' });
    }
    let subscribers: Subscriber[];
    let key: string | undefined;
    try {
      subscribers = subscribersOf(this.paths, topic).flatMap((name) => {
        const fn = this.functions.lookup(name);
        return fn ? [{ name, fn }] : []; // its topics file outlived it: not a subscriber
      });
      if (!subscribers.length) throw new FaassError('FAASS_E_TOPIC_NOT_FOUND', `No function subscribes to topic ${topic}; nothing was queued (faassctl trigger add NAME --topic ${topic})`);
      if (req.headers['x-callback-url'] !== undefined) throw new FaassError('FAASS_E_USAGE', 'X-Callback-Url is not taken on a publish to a topic; nothing was queued');
      key = publishKey(req);
    } catch (e) {
      req.resume();
      if (e instanceof FaassError) return sendFaassError(res, e);
      throw e;
    }
    const doors = subscribers.map((s) => ({ kind: 'function' as const, name: s.name, auth: s.fn.auth, broken: s.fn.broken }));
    const refusal = await this.auth.checkEvery(this.callerOf(req, 'function'), topic, doors);
    if (refusal) {
      req.resume();
      return sendFaassError(res, refusal.error, refusal.headers);
    }
    const body = await readWhole(req, res, this.cfg.maxBody);
    if (!body) return;
    const r = await fanOut(this.paths, req, topic, path, subscribers, body, key);
    if (r.fresh > 0) this.metrics?.published(topic);
    const text = JSON.stringify(r.body) + '\n';
    res.writeHead(r.status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...r.headers });
    res.end(text);
  }

  // X-Callback-Url, checked against faass.conf [async] callback_allow (read now: a change applies
  // from the next call); FAASS_E_CALLBACK_REFUSED when it may not be called, and
  // FAASS_E_CONFIG_BROKEN when the allow-list cannot be read (fail closed).
  private async callbackOf(req: http.IncomingMessage): Promise<string | undefined> {
    const given = req.headers['x-callback-url'];
    if (given === undefined) return undefined;
    if (Array.isArray(given)) throw new FaassError('FAASS_E_CALLBACK_REFUSED', 'X-Callback-Url given more than once; nothing was queued');
    try {
      const settings = loadAsyncSettings(this.paths);
      await checkCallbackUrl(given, settings.callbackAllow, undefined, settings.gatewayPorts);
    } catch (e) {
      if (e instanceof FaassError && e.code === 'FAASS_E_CALLBACK_REFUSED') throw new FaassError(e.code, `${e.message}; nothing was queued`);
      throw e;
    }
    return given;
  }

  private async toApi(req: http.IncomingMessage, res: http.ServerResponse, side: Side): Promise<void> {
    if (!this.auth.apiEnabled) {
      req.resume();
      return refuse(res, 'FAASS_E_API_DISABLED', 'The management API is off: create an admin credential (faassctl credentials add NAME --admin)');
    }
    const caller = this.callerOf(req, side);
    if (!(await this.authorized(req, res, API_DOOR, caller))) return;
    const body = await readWhole(req, res, this.api.bodyLimit(req.url ?? ''));
    // Authorized: an admin's credential (or console session), whose name the API records as who deployed.
    const presented = parseAuthorization(req.headers.authorization);
    const who = caller.session && 'name' in caller.session ? caller.session.name : presented !== null && presented !== 'malformed' ? presented.name : null;
    if (body) this.api.forward(req, body, res, who);
  }

  private async toFunction(req: http.IncomingMessage, res: http.ServerResponse, route: Route, side: Side = 'function'): Promise<void> {
    const fn = this.functions.lookup(route.name);
    if (!fn) return refuse(res, 'FAASS_E_FUNCTION_NOT_FOUND', `No function named ${route.name}`);
    if (side === 'function') guardAnswer(res); // on the console's address makeInert drops every cookie
    const end = this.countCall(route.name, fn.kind === 'service', res);
    if (!(await this.authorized(req, res, { kind: 'function', name: route.name, auth: fn.auth, broken: fn.broken }, this.callerOf(req, side)))) return;
    const call = await takeCall(req, res, route, this.cfg.maxBody, fn.passAuthorization);
    if (!call) return;
    const id = call.id;
    // Synchronous calls alone meet a canary; queued ones go to the current version (canaries.ts).
    if (fn.kind !== 'service') return this.runners.forward(call, res, noted(this.canaries.pick(route.name, req.headers, fn.version), end));
    // A service's calls are logged here (its app does not see call ids); a function's by its runner.
    end.id = id;
    end.log = this.services.callLog(route.name);
    this.services.forward(call, res);
  }

  // What authorization looks at: the request's Authorization header, or else the console
  // session its cookie carries (with X-CSRF-Token), which stands for its admin's credential.
  // The one place a session counts: on the console's address, and nowhere else (fail closed).
  // On the functions' address the cookie is as if absent: the browser sends it there too
  // (cookies do not keep to a port), and a function's page there must not act as the admin.
  private callerOf(req: http.IncomingMessage, side: Side): Caller {
    return { ...callerOf(req), session: side === 'console' && req.headers.authorization === undefined ? this.console.apiSession(req) : null };
  }

  // false: refused, and answered.
  private async authorized(req: http.IncomingMessage, res: http.ServerResponse, door: Door, caller: Caller): Promise<boolean> {
    const refusal = await this.auth.check(caller, door);
    if (!refusal) return true;
    req.resume();
    sendFaassError(res, refusal.error, refusal.headers);
    return false;
  }

  // One look at the end of the call, for the metrics and (a service's) call line.
  private countCall(name: string, service: boolean, res: http.ServerResponse): CallEnd {
    const end: CallEnd = { id: '', log: null, canary: false };
    const started = process.hrtime.bigint();
    this.metrics?.begin(name);
    if (!this.metrics && !(service && this.cfg.logCalls)) return end;
    res.once('close', () => {
      const status = res.writableFinished ? res.statusCode : 499; // 499: the client went away
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      this.metrics?.end(name, status, seconds, end.canary);
      end.log?.record(end.id, name, status, seconds, null);
    });
    return end;
  }

  // GET /metrics; other methods are refused. Who sees which series: faass.conf metrics_access.
  private async scrape(req: http.IncomingMessage, res: http.ServerResponse, side: Side): Promise<void> {
    req.resume();
    if (!this.metrics) return refuse(res, 'FAASS_E_ROUTE_MISSING', 'Metrics are off (faass.conf metrics=no)');
    if (req.method !== 'GET' && req.method !== 'HEAD') return refuse(res, 'FAASS_E_METHOD_NOT_ALLOWED', `${req.method} is not allowed on /metrics; use GET`, { allow: 'GET, HEAD' });
    const viewer = await this.auth.viewer(this.callerOf(req, side), this.cfg.metricsAccess);
    if ('error' in viewer) return sendFaassError(res, viewer.error, viewer.headers);
    const text = await this.metrics.render(viewer.all ? undefined : (fn) => mayView(this.functions.lookup(fn), viewer.credential));
    res.writeHead(200, { 'content-type': METRICS_CONTENT_TYPE, 'content-length': Buffer.byteLength(text) });
    res.end(req.method === 'HEAD' ? undefined : text);
  }
}

function health(res: http.ServerResponse): void {
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end('{"status":"ok"}\n');
}
