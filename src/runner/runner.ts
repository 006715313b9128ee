import * as http from 'node:http';
import * as net from 'node:net';
import { FunctionConfig } from '../functions/function-config';
import { FaassError, errorBody } from '../core/errors';
import { Lifecycle } from '../systemd/activation';
import { HOP_BY_HOP, callIdFrom, readBody } from '../core/http-util';
import { FAASS_ANSWER_HEADERS, isFinalStatus, onTheWire, passableHeaders, statusRefused } from '../core/function-answer';
import { FrameDecoder, RPC_PREFACE, RpcRequestMeta, encodeAck, encodeFrame } from '../core/rpc';
import { log, errorMessage } from '../observe/log';
import { CallError, CallLog } from '../observe/call-log';
import { Call, CallFailure, CallResult, Executor } from './call';
import { ExecExecutor } from './exec-executor';
import { WorkerPool } from './worker-pool';
import { Outbox, Outboxes } from './outboxes';
import { DockerSettings } from '../core/settings';

// The closed set of runtimes, one switch.
export function createExecutor(cfg: FunctionConfig, codeDir: string, docker: DockerSettings, install: string): Executor {
  switch (cfg.runtime) {
    case 'exec':
      return new ExecExecutor(cfg, codeDir);
    case 'node':
    case 'python':
      return WorkerPool.forRuntime(cfg, codeDir);
    case 'docker': {
      // Loaded only for docker functions: dockerode and its dependencies cost ~200 ms at start.
      // eslint-disable-next-line @typescript-eslint/no-var-requires
      const { DockerExecutor } = require('./docker-executor') as typeof import('./docker-executor');
      return new DockerExecutor(cfg, docker.socketPath, install);
    }
  }
}

const RUNNER_BODY_LIMIT = 1024 ** 3;

export interface CallInput {
  method: string;
  url: string;
  headers: Record<string, string>;
  body: Buffer;
}

// One call, whatever carried it (HTTP or faass-rpc): limits, the executor, errors as answers.
// The boundary that handles a call's failure, and so the one place that logs it: in the call's
// line (with log_calls=no, only failed calls get theirs), under the call log's budget.
export class CallRunner {
  private inflight = 0;
  onCallEnd?: () => void; // a call has ended (strays.ts sweeps then)

  get quiet(): boolean {
    return this.inflight === 0;
  }
  private started = 0;
  private readonly callLog = new CallLog();
  constructor(
    private readonly cfg: FunctionConfig,
    private readonly executor: Executor,
    private readonly logCalls = true,
    private readonly outboxes?: Outboxes, // a function of file drops: each call's outbox
  ) {}

  // The last second's summary of unlogged calls, before the runner exits.
  close(): void {
    this.callLog.summarize(this.cfg.name);
  }

  async run(input: CallInput): Promise<CallResult> {
    const cfg = this.cfg;
    const id = callIdFrom(input.headers['x-call-id']);
    const started = process.hrtime.bigint();
    const cold = this.started++ === 0; // the first call of this runner's life
    const answer = (r: CallResult, error?: CallError): CallResult => {
      const out = passableHeaders(r.headers, FAASS_ANSWER_HEADERS);
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      out['x-call-id'] = id;
      out['x-duration-seconds'] = seconds.toFixed(6);
      out['x-faass-start'] = cold ? 'cold' : 'warm';
      // The version this runner started with (its file's [version]): the code it serves.
      if (cfg.version) out['x-faass-version'] = String(cfg.version.number);
      if (this.logCalls || error) this.callLog.record(id, cfg.name, r.status, seconds, cold, error);
      return { status: r.status, headers: out, body: r.body };
    };
    const fail = (e: FaassError, extra: Record<string, string> = {}) =>
      answer({ status: e.status, headers: { 'content-type': 'application/json', ...extra }, body: Buffer.from(errorBody(e.code, e.message)) }, { code: e.code, reason: e instanceof CallFailure ? e.detail : e.message });
    if (this.inflight >= cfg.maxInflight) {
      return fail(new FaassError('FAASS_E_TOO_MANY_REQUESTS', `Function ${cfg.name} already runs max_inflight=${cfg.maxInflight} requests`), { 'retry-after': '1' });
    }
    this.inflight++;
    let outbox: Outbox | null = null;
    try {
      const q = input.url.indexOf('?');
      outbox = (await this.outboxes?.open(id, input.headers)) ?? null;
      const call: Call = { id, method: input.method, path: q >= 0 ? input.url.slice(0, q) : input.url, query: q >= 0 ? input.url.slice(q + 1) : '', headers: input.headers, body: input.body, ...(outbox ? { outbox: outbox.dir } : {}) };
      const r = await this.executor.invoke(call);
      if (!isFinalStatus(r.status)) return fail(statusRefused(cfg.name, r.status)); // the call's line says which status
      return answer(r);
    } catch (e) {
      if (e instanceof FaassError) return fail(e);
      return fail(new CallFailure('FAASS_E_INTERNAL', `Internal error in the runner of ${cfg.name} (call ${id})`, `Failed to run function ${cfg.name}: ${errorMessage(e)}`));
    } finally {
      // Closed before the answer goes: a caller that waits for it finds the outbox in view.
      await outbox?.close();
      this.inflight--;
      this.onCallEnd?.();
    }
  }
}

export function httpHandler(calls: CallRunner): http.RequestListener {
  return async (req, res) => {
    let body: Buffer;
    try {
      body = await readBody(req, RUNNER_BODY_LIMIT);
    } catch {
      res.destroy();
      return;
    }
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(req.headers)) if (v !== undefined && !HOP_BY_HOP.has(k)) headers[k] = Array.isArray(v) ? v.join(', ') : v;
    const r = await calls.run({ method: req.method ?? 'GET', url: req.url ?? '/', headers, body });
    const wire = onTheWire(r);
    res.writeHead(r.status, wire.headers);
    res.end(wire.body);
  };
}

// A faass-rpc connection from the gateway: many calls in flight, answered as they finish.
function serveRpc(socket: net.Socket, calls: CallRunner, lifecycle: Lifecycle): void {
  const decoder = new FrameDecoder<RpcRequestMeta>(true);
  lifecycle.markRetrying(socket);
  socket.on('data', (chunk: Buffer) => {
    let frames;
    try {
      frames = decoder.push(chunk);
    } catch (e) {
      log.warning(`Closing a faass-rpc connection: ${errorMessage(e)}`);
      socket.destroy();
      return;
    }
    // While stopping, calls are neither acknowledged nor started; the gateway retries them on a new connection.
    if (lifecycle.isDraining || frames.length === 0) return;
    for (let i = 0; i < frames.length; i++) lifecycle.begin(socket);
    const start = () => {
      for (const f of frames) {
        void calls.run({ method: f.meta.m, url: f.meta.p, headers: f.meta.h, body: f.body }).then((r) => {
          if (socket.destroyed) return lifecycle.end(socket);
          // The call ends when its answer is in the kernel's hands, not when it is queued: a stop
          // closes connections with no call in flight at once, and would cut an answer still
          // queued behind a slow reader (an acknowledged call, which the gateway never resends).
          socket.write(encodeFrame(f.id, { s: r.status, h: r.headers }, r.body), () => lifecycle.end(socket));
        });
      }
    };
    const acks = frames.filter((f) => f.meta.a === 1).map((f) => encodeAck(f.id));
    if (acks.length === 0) return start(); // a gateway that asks for none
    // Started only once the acknowledgements are in the kernel's hands: an acknowledged call is
    // never sent again, so one that is not must not have run. Once written, they are started even
    // if a stop begins meanwhile (the gateway would not retry them).
    socket.write(acks.length === 1 ? acks[0] : Buffer.concat(acks), (err) => {
      if (!err) return start();
      for (let i = 0; i < frames.length; i++) lifecycle.end(socket);
    });
  });
  socket.on('error', () => socket.destroy());
  // The gateway's end (its idle close, or its answer to ours): end ours too (the server allows
  // half-open connections, main.ts), once what is written has gone.
  socket.on('end', () => socket.end());
}

// One listening socket, two protocols: faass-rpc (starts with a NUL byte) from the gateway, HTTP
// from anyone else (curl --unix-socket, a runner run by hand).
export function connectionHandler(calls: CallRunner, lifecycle: Lifecycle, httpServer: http.Server): (socket: net.Socket) => void {
  return (socket) => {
    // A connection that never says anything would keep the runner from ever going idle.
    const silent = setTimeout(() => socket.destroy(), 10000);
    socket.once('close', () => clearTimeout(silent));
    let spoke = false;
    socket.once('end', () => {
      if (!spoke) socket.end(); // ended before it said anything
    });
    socket.once('data', (first: Buffer) => {
      spoke = true;
      clearTimeout(silent);
      socket.pause();
      socket.unshift(first);
      if (first[0] === RPC_PREFACE[0]) serveRpc(socket, calls, lifecycle);
      else httpServer.emit('connection', socket);
      socket.resume();
    });
  };
}
