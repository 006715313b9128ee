import { spawn, ChildProcess } from 'node:child_process';
import * as net from 'node:net';
import * as path from 'node:path';
import { FunctionConfig } from '../lib/function-config';
import { FaassError } from '../lib/errors';
import { log } from '../lib/log';
import { Call, CallResult, Executor } from './call';
import { baseEnv } from './exec-executor';
import { LineLogger } from './line-logger';

interface Pending {
  call: Call;
  resolve: (r: CallResult) => void;
  reject: (e: FaassError) => void;
  timer: NodeJS.Timeout;
  worker?: Worker;
}

interface WorkerMessage {
  id?: number;
  ready?: boolean;
  fatal?: string;
  ok?: boolean;
  status?: number;
  headers?: Record<string, string>;
  body?: string;
  error?: string;
}

let nextRequestId = 1;

class Worker {
  readonly child: ChildProcess;
  private readonly channel: net.Socket;
  state: 'starting' | 'idle' | 'busy' | 'dead' = 'starting';
  current: Pending | null = null;
  private buffered = '';

  constructor(
    argv: string[],
    cwd: string,
    env: Record<string, string>,
    tag: string,
    private readonly onMessage: (w: Worker, m: WorkerMessage) => void,
    private readonly onExit: (w: Worker, why: string) => void,
  ) {
    this.child = spawn(argv[0], argv.slice(1), { cwd, env, detached: true, stdio: ['ignore', 'pipe', 'pipe', 'pipe'] });
    const out = new LineLogger(tag, 'info');
    const err = new LineLogger(tag, 'err');
    this.child.stdout?.on('data', (d: Buffer) => out.write(d));
    this.child.stderr?.on('data', (d: Buffer) => err.write(d));
    this.channel = this.child.stdio[3] as net.Socket;
    this.channel.on('data', (d: Buffer) => this.onData(d));
    this.channel.on('error', () => this.kill());
    this.child.on('error', (e) => this.died(`failed to start: ${e.message}`));
    this.child.on('exit', (code, signal) => {
      out.end();
      err.end();
      this.died(signal ? `killed by ${signal}` : `exited with status ${code}`);
    });
  }

  private onData(d: Buffer): void {
    this.buffered += d.toString('utf8');
    let nl: number;
    while ((nl = this.buffered.indexOf('\n')) >= 0) {
      const line = this.buffered.slice(0, nl);
      this.buffered = this.buffered.slice(nl + 1);
      let msg: WorkerMessage;
      try {
        msg = JSON.parse(line) as WorkerMessage;
      } catch {
        log.err(`Failed to parse a message from worker ${this.child.pid}, replacing it`);
        this.kill();
        return;
      }
      this.onMessage(this, msg);
    }
  }

  private died(why: string): void {
    if (this.state === 'dead') return;
    this.state = 'dead';
    this.onExit(this, why);
  }

  send(p: Pending, functionName: string, timeout: number): void {
    this.state = 'busy';
    this.current = p;
    p.worker = this;
    const { call } = p;
    const msg = {
      id: nextRequestId++,
      event: { body: call.body.toString('base64'), method: call.method, path: call.path, query: call.query, headers: call.headers },
      context: { functionName, callId: call.id, timeout },
    };
    this.currentId = msg.id;
    this.channel.write(JSON.stringify(msg) + '\n');
  }
  currentId = 0;

  kill(): void {
    try {
      if (this.child.pid) process.kill(-this.child.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

// runtime=node|python: warm interpreter processes that load the handler once and serve many
// requests, one at a time each; up to cfg.workers of them, requests beyond that wait their turn.
export class WorkerPool implements Executor {
  private readonly workers = new Set<Worker>();
  private readonly queue: Pending[] = [];
  private closed = false;

  constructor(
    private readonly cfg: FunctionConfig,
    private readonly codeDir: string,
    private readonly argv: string[],
  ) {}

  static forRuntime(cfg: FunctionConfig, codeDir: string): WorkerPool {
    const file = cfg.file as string;
    const workers = path.join(__dirname, 'workers');
    const argv = cfg.runtime === 'node' ? [process.execPath, path.join(workers, 'node-worker.js'), file, cfg.handler ?? ''] : ['python3', path.join(workers, 'python-worker.py'), file, cfg.handler ?? ''];
    return new WorkerPool(cfg, codeDir, argv);
  }

  describe(): string {
    return `${this.cfg.runtime} ${this.cfg.file}${this.cfg.handler ? ' export ' + this.cfg.handler : ''}, up to ${this.cfg.workers} warm workers`;
  }

  get size(): number {
    return this.workers.size;
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
    if (p.worker && p.worker.current === p) {
      p.worker.current = null;
      log.warning(`Function ${this.cfg.name} call ${p.call.id} timed out, replacing worker ${p.worker.child.pid}`);
      p.worker.kill();
    }
    p.reject(new FaassError('FAASS_E_FUNCTION_TIMEOUT', `Function ${this.cfg.name} timed out after ${this.cfg.timeout}s`));
  }

  private dispatch(): void {
    while (this.queue.length > 0) {
      const idle = [...this.workers].find((w) => w.state === 'idle');
      if (idle) {
        idle.send(this.queue.shift() as Pending, this.cfg.name, this.cfg.timeout);
        continue;
      }
      const starting = [...this.workers].filter((w) => w.state === 'starting').length;
      if (this.workers.size < this.cfg.workers && starting < this.queue.length) {
        this.spawn();
        continue;
      }
      return;
    }
  }

  private spawn(): void {
    const env = { ...baseEnv(this.cfg), PYTHONDONTWRITEBYTECODE: '1', PYTHONUNBUFFERED: '1' };
    const w = new Worker(this.argv, this.codeDir, env, this.cfg.name, (wk, m) => this.onMessage(wk, m), (wk, why) => this.onExit(wk, why));
    this.workers.add(w);
  }

  private onMessage(w: Worker, m: WorkerMessage): void {
    if (m.ready) {
      w.state = 'idle';
      this.dispatch();
      return;
    }
    if (m.fatal) {
      log.err(`Function ${this.cfg.name}: ${m.fatal}`);
      // Every waiting call would meet the same failure: answer them now instead of respawning.
      for (const p of this.queue.splice(0)) this.settle(p, new FaassError('FAASS_E_HANDLER_LOAD', `Function ${this.cfg.name}: the handler could not be loaded (details in the journal)`));
      w.kill();
      return;
    }
    const p = w.current;
    if (!p || m.id !== w.currentId) return; // the answer to a call that already timed out
    w.current = null;
    w.state = 'idle';
    if (m.ok) {
      this.settle(p, null, { status: m.status ?? 200, headers: { 'content-type': this.cfg.contentType ?? 'text/plain; charset=utf-8', ...(m.headers ?? {}) }, body: Buffer.from(m.body ?? '', 'base64') });
    } else {
      log.err(`Function ${this.cfg.name} call ${p.call.id} failed: ${m.error ?? 'unknown error'}`);
      this.settle(p, new FaassError('FAASS_E_FUNCTION_FAILED', `Function ${this.cfg.name} raised an error (details in the journal, call ${p.call.id})`));
    }
    this.dispatch();
  }

  private onExit(w: Worker, why: string): void {
    this.workers.delete(w);
    const p = w.current;
    w.current = null;
    if (p) {
      log.err(`Worker ${w.child.pid} of ${this.cfg.name} ${why} during call ${p.call.id}`);
      this.settle(p, new FaassError('FAASS_E_WORKER_CRASHED', `Function ${this.cfg.name}: the worker ${why} during the request`));
    } else if (!this.closed) log.debug(`Worker ${w.child.pid} of ${this.cfg.name} ${why}`);
    if (!this.closed) this.dispatch();
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const w of this.workers) w.kill();
  }
}
