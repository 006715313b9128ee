import * as fs from 'node:fs';
import * as path from 'node:path';
import { PYTHON_TARGET } from '../functions/deps-plan';
import { FunctionConfig } from '../functions/function-config';
import { FaassError } from '../core/errors';
import { log } from '../observe/log';
import { Call, CallFailure, CallResult, Executor } from './call';
import { baseEnv } from './exec-executor';
import { Transport, TransportEvents, WorkerMessage, processTransport, threadTransport } from './worker-transport';

interface Pending {
  call: Call;
  resolve: (r: CallResult) => void;
  reject: (e: FaassError) => void;
  timer: NodeJS.Timeout;
  worker?: Slot;
  requestId?: number;
}

interface Slot {
  transport: Transport;
  state: 'starting' | 'idle' | 'busy' | 'dead';
  current: Pending | null;
}

type TransportFactory = (on: TransportEvents) => Transport;

let nextRequestId = 1;

// requirements.txt's packages, installed into the code at deploy (functions/deps-install.ts),
// come before the function's own PYTHONPATH and the system's site-packages; node finds
// node_modules next to the handler by itself.
function pythonPath(cfg: FunctionConfig, codeDir: string): Record<string, string> {
  const deps = path.join(codeDir, PYTHON_TARGET);
  if (cfg.runtime !== 'python' || !fs.existsSync(deps)) return {};
  return { PYTHONPATH: cfg.env.PYTHONPATH ? `${deps}:${cfg.env.PYTHONPATH}` : deps };
}

// runtime=node|python: warm workers that load the handler once and serve many requests, one at
// a time each; up to cfg.workers of them, requests beyond that wait their turn. A worker that
// crashes or runs past the timeout is dropped and replaced on demand.
export class WorkerPool implements Executor {
  private readonly workers = new Set<Slot>();

  keptPids(): number[] {
    return [...this.workers].map((w) => w.transport?.pid).filter((p): p is number => p !== undefined);
  }
  private readonly queue: Pending[] = [];
  private closed = false;

  constructor(
    private readonly cfg: FunctionConfig,
    private readonly factory: TransportFactory,
  ) {}

  static forRuntime(cfg: FunctionConfig, codeDir: string): WorkerPool {
    const file = path.join(codeDir, cfg.file as string);
    const dir = path.join(__dirname, 'workers');
    const env = { ...baseEnv(cfg), PYTHONDONTWRITEBYTECODE: '1', PYTHONUNBUFFERED: '1', ...pythonPath(cfg, codeDir) };
    const factory: TransportFactory =
      cfg.runtime === 'node'
        ? (on) => threadTransport(path.join(dir, 'node-worker.js'), { file, exportName: cfg.handler ?? '', convention: cfg.convention }, env, cfg.name, on)
        : (on) => processTransport(['python3', path.join(dir, 'python-worker.py'), file, cfg.handler ?? '', cfg.convention], codeDir, env, cfg.name, on);
    return new WorkerPool(cfg, factory);
  }

  describe(): string {
    return `${this.cfg.runtime} ${this.cfg.file}${this.cfg.handler ? ' export ' + this.cfg.handler : ''}, up to ${this.cfg.workers} warm workers`;
  }

  invoke(call: Call): Promise<CallResult> {
    return new Promise((resolve, reject) => {
      const p: Pending = { call, resolve, reject, timer: setTimeout(() => this.timedOut(p), this.cfg.timeout * 1000) };
      this.queue.push(p);
      this.dispatch();
    });
  }

  private settle(p: Pending, err: FaassError | null, result?: CallResult): void {
    clearTimeout(p.timer);
    if (err) p.reject(err);
    else p.resolve(result as CallResult);
  }

  private timedOut(p: Pending): void {
    const i = this.queue.indexOf(p);
    if (i >= 0) this.queue.splice(i, 1);
    const w = p.worker;
    const message = `Function ${this.cfg.name} timed out after ${this.cfg.timeout}s`;
    if (w && w.current === p) {
      w.current = null;
      w.transport.kill();
      p.reject(new CallFailure('FAASS_E_FUNCTION_TIMEOUT', message, `${message}; its worker (${w.transport.label}) was replaced`));
      return;
    }
    p.reject(new FaassError('FAASS_E_FUNCTION_TIMEOUT', message));
  }

  private dispatch(): void {
    while (this.queue.length > 0) {
      let idle: Slot | undefined;
      let starting = 0;
      for (const w of this.workers) {
        if (w.state === 'idle') {
          idle = w;
          break;
        }
        if (w.state === 'starting') starting++;
      }
      if (idle) {
        this.send(idle, this.queue.shift() as Pending);
        continue;
      }
      if (this.workers.size < this.cfg.workers && starting < this.queue.length) {
        this.spawn();
        continue;
      }
      return;
    }
  }

  private send(w: Slot, p: Pending): void {
    w.state = 'busy';
    w.current = p;
    p.worker = w;
    p.requestId = nextRequestId++;
    const { call } = p;
    w.transport.send({
      id: p.requestId,
      event: { body: call.body, method: call.method, path: call.path, query: call.query, headers: call.headers as Record<string, string> },
      // The outbox goes in the call's message: a worker serves many calls over one channel, and
      // node's workers share one process environment.
      context: { functionName: this.cfg.name, callId: call.id, timeout: this.cfg.timeout, ...(call.outbox ? { outbox: call.outbox } : {}) },
    });
  }

  private spawn(): void {
    const slot: Slot = { state: 'starting', current: null, transport: null as unknown as Transport };
    this.workers.add(slot);
    slot.transport = this.factory({ message: (m) => this.onMessage(slot, m), exit: (why) => this.onExit(slot, why) });
  }

  private onMessage(w: Slot, m: WorkerMessage): void {
    if (m.ready) {
      w.state = 'idle';
      this.dispatch();
      return;
    }
    if (m.fatal) {
      log.err(`Function ${this.cfg.name}: ${m.fatal}`);
      // Every waiting call would meet the same failure: answer them now instead of respawning.
      for (const p of this.queue.splice(0)) this.settle(p, new FaassError('FAASS_E_HANDLER_LOAD', `Function ${this.cfg.name}: the handler could not be loaded (details in the journal)`));
      w.transport.kill();
      return;
    }
    const p = w.current;
    if (!p || m.id !== p.requestId) return; // the answer to a call that already timed out
    w.current = null;
    w.state = 'idle';
    const body = m.body ?? Buffer.alloc(0);
    if (m.ok && body.length > this.cfg.maxOutput) {
      this.settle(p, new FaassError('FAASS_E_OUTPUT_TOO_LARGE', `Function ${this.cfg.name} returned more than max_output=${this.cfg.maxOutput} bytes`));
    } else if (m.ok) {
      this.settle(p, null, { status: m.status ?? 200, headers: { 'content-type': this.cfg.contentType ?? 'text/plain; charset=utf-8', ...(m.headers ?? {}) }, body });
    } else {
      this.settle(p, new CallFailure('FAASS_E_FUNCTION_FAILED', `Function ${this.cfg.name} raised an error (details in the journal, call ${p.call.id})`, m.error ?? 'unknown error'));
    }
    this.dispatch();
  }

  private onExit(w: Slot, why: string): void {
    if (w.state === 'dead') return;
    w.state = 'dead';
    this.workers.delete(w);
    const p = w.current;
    w.current = null;
    if (p) {
      this.settle(p, new CallFailure('FAASS_E_WORKER_CRASHED', `Function ${this.cfg.name}: the worker ${why} during the request`, `the worker (${w.transport.label}) ${why} during the call`));
    } else if (!this.closed) log.debug(`Worker (${w.transport.label}) of ${this.cfg.name} ${why}`);
    if (!this.closed) this.dispatch();
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const w of this.workers) w.transport.kill();
  }
}
