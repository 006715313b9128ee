// Calls to a service (kind=service): plain HTTP through systemd-socket-proxyd on the function's
// socket. Keep-alive connections are dropped after POOL_IDLE_MS (before the proxy's
// --exit-idle-time) and a call is retried once when its connection fails unanswered.
// Answers are parsed leniently (insecureHTTPParser, per request: the gateway's own server stays
// strict, a request with a bare LF is still a 400): apps that end lines with a bare LF are common
// and harmless here. Nothing else reads a service's bytes (systemd-socket-proxyd copies them), the
// answer is framed again for the client (its own length, hop-by-hop headers dropped), and what
// leniency would let through unsafely is refused (headers.ts answerProblem).
import * as http from 'node:http';
import * as fs from 'node:fs';
import { Paths, functionSocketPath, serviceFailurePath } from '../core/paths';
import { log, logLine } from '../observe/log';
import { CallLog } from '../observe/call-log';
import { ForwardedCall, POOL_IDLE_MS } from './call';
import { refuse } from './answer';
import { answerProblem, responseHeaders } from './headers';
import { VERSION_HEADER, isBodiless, isFinalStatus, statusRefused } from '../core/function-answer';
import { sendFaassError } from '../core/http-util';
import { FaassError } from '../core/errors';

// A service's answer up to this size with a known length is sent in one write; larger ones stream.
const BUFFER_LIMIT = 64 * 1024;
const FAILURE_POLL_MS = 200;
const RETRYABLE = new Set(['ECONNRESET', 'EPIPE', 'ECONNABORTED', 'ECONNREFUSED', 'ENOENT']);

// Where a service's app is reached: the gateway, its unit's socket; a faassctl image's front
// (image/serve-service.ts), the app's port in the same container. failure(since): why the app
// did not get ready, when that was said since then; else null.
export interface Upstream {
  target: { socketPath: string } | { host: string; port: number };
  failure: (since: number) => string | null;
  agent: http.Agent;
}

// FIFO: every pooled connection is used in turn, so under a steady load none sits idle for
// POOL_IDLE_MS and is dropped, only to be opened again (through the proxy, which connects to the
// app anew, for each) at the next burst. LIFO left the connections at the bottom of the pool
// idle: with ab -c 50 (a connection per request, so the gateway's concurrency comes and goes) one
// call in five opened a connection to the proxy (docs/PERFORMANCE.md "Service path"). Unused ones
// still close after POOL_IDLE_MS once the load stops.
export const serviceAgent = (): http.Agent => new http.Agent({ keepAlive: true, timeout: POOL_IDLE_MS, scheduling: 'fifo' });

// One call to the app: retried once when its connection fails unanswered, ended at the timeout.
export function forwardToService(u: Upstream, call: ForwardedCall, res: http.ServerResponse, timeoutSeconds: number): void {
  new Attempt(u, call, res, timeoutSeconds, Date.now(), true);
}

export class ServiceForwarder {
  private readonly upstreams = new Map<string, Upstream>();
  private readonly callLogs = new Map<string, CallLog>();

  constructor(
    private readonly paths: Paths,
    private readonly timeoutSeconds: number,
    private readonly logCalls: boolean,
  ) {}

  forward(call: ForwardedCall, res: http.ServerResponse): void {
    forwardToService(this.upstream(call.name), call, res, this.timeoutSeconds);
  }

  // A service's call lines (its app does not see call ids), budgeted per service, with its
  // FAASS_FUNCTION field; null with log_calls off.
  callLog(name: string): CallLog | null {
    if (!this.logCalls) return null;
    let l = this.callLogs.get(name);
    if (!l) {
      l = new CallLog(undefined, (priority, message, fields) => logLine(priority, message, { ...fields, FAASS_FUNCTION: name }));
      this.callLogs.set(name, l);
    }
    return l;
  }

  close(): void {
    for (const u of this.upstreams.values()) u.agent.destroy();
  }

  private upstream(name: string): Upstream {
    let u = this.upstreams.get(name);
    if (!u) {
      const failurePath = serviceFailurePath(this.paths, name);
      u = { target: { socketPath: functionSocketPath(this.paths, name) }, failure: (since) => failureSince(failurePath, since), agent: serviceAgent() };
      this.upstreams.set(name, u);
    }
    return u;
  }
}

// One try of a call. One timer: it looks for the app's failure record while no answer has come
// (so a start that fails is a 503 at once, not after the timeout) and ends the call at the timeout.
class Attempt {
  private answered = false;
  private timer: NodeJS.Timeout;
  private readonly up: http.ClientRequest;
  private readonly deadline: number;

  constructor(
    private readonly u: Upstream,
    private readonly call: ForwardedCall,
    private readonly res: http.ServerResponse,
    private readonly timeoutSeconds: number,
    private readonly asked: number, // when the first try began: the timeout and the failure record count from it
    private readonly mayRetry: boolean,
  ) {
    this.deadline = asked + timeoutSeconds * 1000;
    this.timer = setTimeout(this.tick, Math.min(FAILURE_POLL_MS, this.deadline - Date.now()));
    call.headers['content-length'] = String(call.body.length);
    this.up = http.request({ ...u.target, path: call.path, method: call.method, headers: call.headers, agent: mayRetry ? u.agent : false, insecureHTTPParser: true }, this.answer);
    this.up.on('error', this.failed);
    res.on('close', () => {
      if (!res.writableFinished) {
        clearTimeout(this.timer);
        this.up.destroy();
      }
    });
    this.up.end(call.body);
  }

  private readonly tick = (): void => {
    if (this.answered) return;
    const why = this.failure();
    if (why !== null) {
      this.up.destroy();
      refuse(this.res, 'FAASS_E_SERVICE_NOT_READY', `Service ${this.call.name} did not get ready: ${why}`);
    } else if (Date.now() >= this.deadline) {
      this.up.destroy();
      refuse(this.res, 'FAASS_E_GATEWAY_TIMEOUT', `Service ${this.call.name} did not answer within ${this.timeoutSeconds}s`);
    } else this.timer = setTimeout(this.tick, Math.min(FAILURE_POLL_MS, this.deadline - Date.now()));
  };

  private readonly answer = (r: http.IncomingMessage): void => {
    this.answered = true;
    clearTimeout(this.timer);
    relay(r, this.res, this.call);
  };

  private readonly failed = (e: NodeJS.ErrnoException): void => {
    const { res, call } = this;
    if (this.answered || res.headersSent) return void res.destroy();
    if (res.destroyed) return;
    this.answered = true;
    clearTimeout(this.timer);
    const why = this.failure();
    if (why !== null) return refuse(res, 'FAASS_E_SERVICE_NOT_READY', `Service ${call.name} did not get ready: ${why}`);
    if (e.code?.startsWith('HPE_')) return malformed(res, call, `${e.code}: ${e.message}`);
    if (this.mayRetry && (RETRYABLE.has(e.code ?? '') || e.message === 'socket hang up')) {
      new Attempt(this.u, call, res, this.timeoutSeconds, this.asked, false);
      return;
    }
    log.warning(`Call ${call.id}: Failed to reach service ${call.name}: ${e.code ?? e.message}`);
    refuse(res, 'FAASS_E_FUNCTION_UNREACHABLE', `Service ${call.name} is not reachable (${e.code ?? e.message}); see faassctl logs ${call.name}`);
  };

  private failure(): string | null {
    return this.u.failure(this.asked);
  }
}

// Why the app did not get ready, when it wrote so (faass-app's failure record) about the time
// the call began or later; else null.
function failureSince(file: string, since: number): string | null {
  const st = fs.statSync(file, { throwIfNoEntry: false });
  if (!st || st.mtimeMs < since - 1000) return null;
  try {
    return fs.readFileSync(file, 'utf8').trim();
  } catch {
    return null; // removed meanwhile: it got ready
  }
}

// The service's answer to the client: a small one of known length in one write, others streamed.
// The rules of core/function-answer hold for a service too: a 1xx node:http passes up (a 101
// the gateway never asked for) is refused, and its connection, whose protocol the app says it
// switched, is closed; a 204 or 304 has no body and goes without a length, whatever the app said.
function relay(r: http.IncomingMessage, res: http.ServerResponse, call: ForwardedCall): void {
  const status = r.statusCode ?? 502;
  if (!isFinalStatus(status)) {
    r.destroy();
    log.warning(`Call ${call.id}: service ${call.name} answered status ${status}, not passed on`);
    return sendFaassError(res, statusRefused(call.name, status));
  }
  const problem = answerProblem(r.headers);
  if (problem !== null) {
    r.destroy(); // and its connection: where this answer ends is not known
    return malformed(res, call, problem);
  }
  const out = responseHeaders(r.headers, false);
  out['x-call-id'] = call.id;
  // faass's word on which version answered, and a service's answers carry none (DESIGN.md
  // "Versions and rollback"): an app's own would pass for it.
  delete out[VERSION_HEADER];
  const bodiless = isBodiless(status);
  const length = bodiless ? 0 : Number(r.headers['content-length']);
  if (!(length <= BUFFER_LIMIT)) {
    if (r.headers['content-length'] !== undefined) out['content-length'] = r.headers['content-length'];
    res.writeHead(status, out);
    r.pipe(res);
    r.on('error', () => res.destroy());
    return;
  }
  const chunks: Buffer[] = [];
  r.on('data', (d: Buffer) => chunks.push(d));
  r.on('end', () => {
    if (res.destroyed) return;
    const all = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks);
    if (!bodiless) out['content-length'] = String(all.length);
    res.writeHead(status, out);
    res.end(bodiless ? undefined : all);
  });
  r.on('error', () => res.destroy());
}

// An answer the gateway cannot read or pass on: 502, and the journal says why.
function malformed(res: http.ServerResponse, call: ForwardedCall, why: string): void {
  log.warning(`Call ${call.id}: service ${call.name} answered what cannot be passed on (${why})`);
  sendFaassError(res, new FaassError('FAASS_E_ANSWER_MALFORMED', `Service ${call.name} answered what is not HTTP the gateway can pass on: ${why}`));
}
