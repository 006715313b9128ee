// Callbacks (X-Callback-Url): once an asynchronous call's result is final (answered, or dead
// after its attempts), its result is POSTed to the URL the caller gave, with retries of its own.
// Durable: the callback is written to the spool before the call is marked done or buried, and
// leaves it only once delivered or failed for good, so a dispatcher killed in between sends it
// after its restart (a duplicate only for the one in flight at the kill). The files:
//   queue/NAME/callbacks/ID.cb        what to send: a JSON line (PendingCallback), then the body
//   queue/NAME/callbacks/ID.cbstate   its attempts so far and when the next is due
//   queue/NAME/callbacks/done/ID.json delivered or failed (kept RETAIN_MS, as a call's record)
// Failed (attempts used up, or refused at send) is recorded in all three of: the call's status,
// a journal line with FAASS_CALL_ID=, and faass_async_callback_failures_total (counters.ts). Never dropped silently.
import * as fs from 'node:fs';
import * as http from 'node:http';
import type * as https from 'node:https';
import * as net from 'node:net';
import * as path from 'node:path';
import { Paths } from '../core/paths';
import { FaassError } from '../core/errors';
import { loadAsyncSettings } from '../core/settings';
import { FAASS_ANSWER_HEADERS, passableHeaders } from '../core/function-answer';
import { logLine, errorMessage } from '../observe/log';
import { CallState, QueuedCall, fsyncDir, functionQueue, writeDurably } from './spool';
import { Outcome, backoffMs } from './retry';
import { CallbackTarget, checkCallbackUrl, mayPassLater } from './callback-url';
import { countCallbackFailure } from './counters';

export const CALLBACK_ATTEMPTS = 4; // the first and three retries: about 1 s, 2 s, 4 s apart
export const CALLBACK_TIMEOUT_MS = 10_000; // for the receiver's answer, each attempt
const CALLBACK_MAX = 8; // sent at once, per function
const RETAIN_MS = 24 * 3600 * 1000;

// What a callback carries: the call's final result.
export interface PendingCallback {
  id: string;
  name: string;
  url: string;
  createdAt: number; // ms; tells this result's callback from an earlier one of the same call
  final: 'done' | 'dead';
  deadWhy?: string; // dead: why
  status?: number; // the function's answer's (a dead call's last answer, when it had one)
  error?: string; // a dead call whose last attempt got no answer: why
  attempts: number; // the attempts made
  headers: Record<string, string>; // the function's answer's, those safe to pass on
  truncated: boolean; // the answer's body was cut at its max_output
  body: Buffer;
}

export interface CallbackAttempt {
  n: number;
  at: number;
  status?: number;
  error?: string;
}
interface CallbackState {
  attempts: CallbackAttempt[];
  nextAt: number;
}

export type CallbackStatus =
  | { state: 'pending'; to: string; attempts: CallbackAttempt[]; nextAt?: string }
  | { state: 'delivered'; to: string; attempts: CallbackAttempt[]; status: number; at: string; createdAt: number }
  | { state: 'failed'; to: string; attempts: CallbackAttempt[]; why: string; at: string; createdAt: number };

const outbox = (p: Paths, name: string) => path.join(functionQueue(p, name), 'callbacks');
const pendingFile = (p: Paths, name: string, id: string) => path.join(outbox(p, name), `${id}.cb`);
const stateFile = (p: Paths, name: string, id: string) => path.join(outbox(p, name), `${id}.cbstate`);
const resultsDir = (p: Paths, name: string) => path.join(outbox(p, name), 'done');
const resultFile = (p: Paths, name: string, id: string) => path.join(resultsDir(p, name), `${id}.json`);

// The receiver's origin: what logs and statuses name (the path and query may hold its secret).
export function origin(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return '(not a URL)';
  }
}

// faass's own headers on a callback; a function's answer headers of these names are dropped, so
// a function cannot pass for faass (say a dead call succeeded).
const OWN = ['x-call-id', 'x-function-name', 'x-function-status', 'x-faass-attempts', 'x-faass-call-state', 'x-faass-dead-reason', 'x-faass-error', 'x-faass-body-truncated'];
// Set-Cookie is for the function's client, never a receiver's business.
const NOT_PASSED: ReadonlySet<string> = new Set([...FAASS_ANSWER_HEADERS, ...OWN, 'set-cookie']);

// A header value from our own text (a dead call's reason, an error): printable ASCII only.
const headerText = (s: string) => s.replace(/[^\x20-\x7e]/g, '?').slice(0, 300);

// The callback's headers: the function's answer's that are safe to pass on, then faass's.
export function callbackHeaders(cb: PendingCallback): Record<string, string> {
  const fromFunction = passableHeaders(cb.headers, NOT_PASSED);
  for (const k of Object.keys(fromFunction)) if (k.startsWith('x-faass-')) delete fromFunction[k];
  const own: Record<string, string> = { 'x-call-id': cb.id, 'x-function-name': cb.name, 'x-faass-attempts': String(cb.attempts), 'x-faass-call-state': cb.final, 'content-length': String(cb.body.length) };
  if (cb.status !== undefined) own['x-function-status'] = String(cb.status);
  if (cb.deadWhy !== undefined) own['x-faass-dead-reason'] = headerText(cb.deadWhy);
  if (cb.error !== undefined) own['x-faass-error'] = headerText(cb.error);
  if (cb.truncated) own['x-faass-body-truncated'] = 'true';
  return { ...fromFunction, ...own };
}

function encode(cb: PendingCallback): Buffer {
  const { body, ...meta } = cb;
  return Buffer.concat([Buffer.from(JSON.stringify(meta) + '\n'), body]);
}

function decode(buf: Buffer): PendingCallback | null {
  const nl = buf.indexOf(10);
  if (nl < 0) return null;
  try {
    const m = JSON.parse(buf.subarray(0, nl).toString('utf8')) as Omit<PendingCallback, 'body'>;
    const ok = [m.id, m.name, m.url].every((v) => typeof v === 'string') && typeof m.createdAt === 'number' && typeof m.attempts === 'number' && typeof m.headers === 'object' && m.headers !== null;
    return ok ? { ...m, body: buf.subarray(nl + 1) } : null;
  } catch {
    return null;
  }
}

// The call's result, written durably for its callback (nothing when it wants none). Called
// before the call is marked done or buried: from then on, the callback outlives any crash.
export async function queueCallback(p: Paths, call: QueuedCall, state: CallState, outcome: Outcome, deadWhy?: string): Promise<void> {
  if (call.callback === undefined || !fs.existsSync(functionQueue(p, call.name))) return; // none, or deleted meanwhile
  const answer = 'status' in outcome ? outcome.answer : undefined;
  const cb: PendingCallback = {
    id: call.id,
    name: call.name,
    url: call.callback,
    createdAt: Date.now(),
    final: deadWhy === undefined ? 'done' : 'dead',
    ...(deadWhy !== undefined ? { deadWhy } : {}),
    ...('status' in outcome ? { status: outcome.status } : { error: outcome.error }),
    attempts: state.attempts.length,
    headers: answer?.headers ?? {},
    truncated: answer?.truncated ?? false,
    body: answer?.body ?? Buffer.alloc(0),
  };
  await fs.promises.rm(stateFile(p, call.name, call.id), { force: true }); // a new result (a call run again): its attempts start over
  await writeDurably(pendingFile(p, call.name, call.id), encode(cb));
}

// The calls of NAME whose callback waits to be sent.
export async function pendingCallbacks(p: Paths, name: string): Promise<string[]> {
  try {
    return (await fs.promises.readdir(outbox(p, name))).filter((f) => f.endsWith('.cb') && !f.startsWith('.')).map((f) => f.slice(0, -3));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT' || (e as NodeJS.ErrnoException).code === 'ENOTDIR') return [];
    throw e;
  }
}

async function readJson<T>(file: string): Promise<T | null> {
  try {
    return JSON.parse(await fs.promises.readFile(file, 'utf8')) as T;
  } catch {
    return null;
  }
}

async function readState(p: Paths, name: string, id: string): Promise<CallbackState> {
  const s = await readJson<CallbackState>(stateFile(p, name, id));
  return s && Array.isArray(s.attempts) && typeof s.nextAt === 'number' ? s : { attempts: [], nextAt: 0 };
}

// What became of the callback of call ID of NAME: null when none is pending or recorded.
export async function callbackStatus(p: Paths, name: string, id: string): Promise<CallbackStatus | null> {
  const done = await readJson<CallbackStatus>(resultFile(p, name, id));
  let pending: PendingCallback | null = null;
  try {
    pending = decode(await fs.promises.readFile(pendingFile(p, name, id)));
  } catch {
    // none pending
  }
  if (pending && !(done && done.state !== 'pending' && done.createdAt === pending.createdAt)) {
    const s = await readState(p, name, id);
    return { state: 'pending', to: origin(pending.url), attempts: s.attempts, ...(s.nextAt > Date.now() ? { nextAt: new Date(s.nextAt).toISOString() } : {}) };
  }
  return done;
}

// Forgets callback results older than RETAIN_MS (as the calls' records); returns how many.
export async function forgetOldCallbacks(p: Paths, name: string, now = Date.now()): Promise<number> {
  let files: string[];
  try {
    files = await fs.promises.readdir(resultsDir(p, name));
  } catch {
    return 0;
  }
  let n = 0;
  for (const f of files) {
    const st = await fs.promises.stat(path.join(resultsDir(p, name), f)).catch(() => null);
    if (st && now - st.mtimeMs > RETAIN_MS) {
      await fs.promises.rm(path.join(resultsDir(p, name), f), { force: true });
      n++;
    }
  }
  return n;
}

export type Post = (target: CallbackTarget, cb: PendingCallback) => Promise<{ status: number } | { error: string }>;

// One POST to the checked address (never to what the name resolves to by then), with the
// URL's host in Host and, for https, as the name the certificate must bear.
export const post: Post = (target, cb) =>
  new Promise((resolve) => {
    const { url } = target;
    const secure = url.protocol === 'https:';
    const hostname = url.hostname.replace(/^\[|\]$/g, '');
    const opts: https.RequestOptions = {
      host: target.address,
      family: target.family,
      port: url.port || (secure ? 443 : 80),
      method: 'POST',
      path: `${url.pathname}${url.search}`,
      headers: { ...callbackHeaders(cb), host: url.host },
      agent: false,
      ...(secure && !net.isIP(hostname) ? { servername: hostname } : {}),
    };
    // node:https (and tls) only for an https callback: the gateway imports this file, and loading
    // them would cost every cold start (docs/PERFORMANCE.md).
    const req = (secure ? (require('node:https') as typeof https) : http).request(opts);
    const timer = setTimeout(() => req.destroy(new Error(`no answer within ${CALLBACK_TIMEOUT_MS / 1000}s`)), CALLBACK_TIMEOUT_MS);
    req.on('response', (res) => {
      res.resume(); // the receiver's answer is its status; its body is not wanted
      res.on('end', () => {
        clearTimeout(timer);
        resolve({ status: res.statusCode ?? 0 });
      });
      res.on('error', (e) => {
        clearTimeout(timer);
        resolve({ error: `the answer broke off (${e.message})` });
      });
    });
    req.on('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      resolve({ error: e.code ?? e.message });
    });
    req.end(cb.body);
  });

// Sends the pending callbacks of one function: started by its lane in the dispatcher, which
// keeps running (and its doorbell ringing) while any is pending.
export class CallbackSender {
  private readonly inFlight = new Map<string, Promise<void>>();
  private readonly states = new Map<string, CallbackState>();
  private readonly held = new Set<string>(); // a new result being written: not started meanwhile
  private replaced = 0; // results replaced so far: a state read across one may be the old one's

  constructor(
    private readonly p: Paths,
    private readonly name: string,
    private readonly wake: () => void,
    private readonly send: Post = post,
    private readonly check: (url: string) => Promise<CallbackTarget> = (url) => {
      const settings = loadAsyncSettings(this.p);
      return checkCallbackUrl(url, settings.callbackAllow, undefined, settings.gatewayPorts);
    },
  ) {}

  busy(): boolean {
    return this.inFlight.size > 0;
  }

  // Writes a new result's callback for call ID (write: queueCallback) once no attempt of an
  // earlier one is under way, and starts none meanwhile. A call can have a second result (a
  // dead call redriven): the earlier callback's attempt, ending, removes the pending file and
  // would take the new result's with it, unsent; its cached attempts would count for the new one.
  async replacing(id: string, write: () => Promise<void>): Promise<void> {
    this.held.add(id);
    try {
      await this.inFlight.get(id);
      this.states.delete(id);
      this.replaced++;
      await write();
    } finally {
      this.held.delete(id);
      this.wake();
    }
  }

  // Starts what is due, up to CALLBACK_MAX at once; returns when the next retry falls due.
  async startDue(ids: string[], now = Date.now()): Promise<number> {
    let next = Infinity;
    for (const id of ids) {
      if (this.inFlight.size >= CALLBACK_MAX) break;
      if (this.inFlight.has(id) || this.held.has(id)) continue;
      const seen = this.replaced;
      const state = this.states.get(id) ?? (await readState(this.p, this.name, id));
      if (this.replaced !== seen || this.held.has(id) || this.inFlight.has(id)) continue; // looked at again after the wake
      this.states.set(id, state);
      if (state.nextAt > now) {
        next = Math.min(next, state.nextAt);
        continue;
      }
      const attempt = this.attempt(id, state)
        .catch((e) => {
          // The spool itself failed (a full disk): the callback stays pending, tried again later.
          state.nextAt = Date.now() + backoffMs(state.attempts.length + 1);
          logLine('err', `callback call=${id} function=${this.name}: ${errorMessage(e)}; tried again later`, this.fields(id));
        })
        .finally(() => {
          this.inFlight.delete(id);
          this.wake();
        });
      this.inFlight.set(id, attempt);
    }
    return next;
  }

  private fields(id: string): Record<string, string> {
    return { FAASS_FUNCTION: this.name, FAASS_CALL_ID: id };
  }

  private async attempt(id: string, state: CallbackState): Promise<void> {
    let cb: PendingCallback | null = null;
    try {
      cb = decode(await fs.promises.readFile(pendingFile(this.p, this.name, id)));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return void this.states.delete(id); // sent meanwhile, or its function deleted
      throw e;
    }
    if (!cb) return this.end(id, { state: 'failed', to: '(unknown)', attempts: state.attempts, why: 'its file in the spool is not one faass wrote', at: '', createdAt: 0 });
    // Delivered before a crash that left its file: not sent again.
    const recorded = await readJson<CallbackStatus>(resultFile(this.p, this.name, id));
    if (recorded && recorded.state !== 'pending' && recorded.createdAt === cb.createdAt) return this.forget(id);
    const n = state.attempts.length + 1;
    const at = Date.now();
    let target: CallbackTarget;
    try {
      target = await this.check(cb.url);
    } catch (e) {
      const final = e instanceof FaassError && e.code === 'FAASS_E_CALLBACK_REFUSED' && !mayPassLater(e);
      const why = final ? `refused at send: ${errorMessage(e)}` : errorMessage(e);
      state.attempts.push({ n, at, error: why });
      // Refused (outside the allow-list, say) is final; a name that does not resolve now, or a
      // broken faass.conf, may pass later, as any failed attempt.
      if (final || n >= CALLBACK_ATTEMPTS) return this.end(id, { state: 'failed', to: origin(cb.url), attempts: state.attempts, why, at: '', createdAt: cb.createdAt });
      return this.later(id, cb, state, n, why);
    }
    const r = await this.send(target, cb);
    state.attempts.push({ n, at, ...r });
    const to = origin(cb.url);
    if ('status' in r && r.status >= 200 && r.status < 300) return this.end(id, { state: 'delivered', to, attempts: state.attempts, status: r.status, at: '', createdAt: cb.createdAt });
    const what = 'status' in r ? `HTTP ${r.status}` : r.error;
    if (n >= CALLBACK_ATTEMPTS) return this.end(id, { state: 'failed', to, attempts: state.attempts, why: `${n} attempts failed, the last: ${what}`, at: '', createdAt: cb.createdAt });
    return this.later(id, cb, state, n, what);
  }

  private async later(id: string, cb: PendingCallback, state: CallbackState, n: number, what: string): Promise<void> {
    state.nextAt = Date.now() + backoffMs(n);
    logLine('notice', `callback call=${id} function=${this.name} attempt=${n} to ${origin(cb.url)}: ${what}; retry in ${((state.nextAt - Date.now()) / 1000).toFixed(1)}s`, this.fields(id));
    if (fs.existsSync(outbox(this.p, this.name))) await writeDurably(stateFile(this.p, this.name, id), Buffer.from(JSON.stringify(state)), { mkdir: false });
  }

  // Delivered or failed for good: recorded (the result first, so a crash before the pending
  // file goes sends nothing twice), counted when failed, and out of the spool.
  private async end(id: string, result: CallbackStatus): Promise<void> {
    if (result.state === 'pending') return;
    const record = { ...result, at: new Date().toISOString() };
    const n = result.attempts.length;
    if (result.state === 'delivered') {
      logLine('info', `callback call=${id} function=${this.name} attempt=${n} to ${result.to}: HTTP ${result.status} delivered`, this.fields(id));
    } else {
      logLine('warning', `callback call=${id} function=${this.name} to ${result.to} failed after ${n} attempt(s): ${result.why}`, this.fields(id));
      countCallbackFailure(this.p, this.name);
    }
    if (!fs.existsSync(functionQueue(this.p, this.name))) return void this.states.delete(id);
    await writeDurably(resultFile(this.p, this.name, id), Buffer.from(JSON.stringify(record)));
    await this.forget(id);
  }

  private async forget(id: string): Promise<void> {
    this.states.delete(id);
    await fs.promises.rm(pendingFile(this.p, this.name, id), { force: true });
    await fs.promises.rm(stateFile(this.p, this.name, id), { force: true });
    await fsyncDir(outbox(this.p, this.name)).catch(() => undefined);
  }
}
