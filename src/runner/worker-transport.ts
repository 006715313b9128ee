import { spawn, ChildProcess } from 'node:child_process';
import { Worker as Thread } from 'node:worker_threads';
import * as net from 'node:net';
import { log } from '../observe/log';
import { LineLogger } from './line-logger';
import { killGroup } from '../core/process-group';

export interface WorkerMessage {
  id?: number;
  ready?: boolean;
  fatal?: string;
  ok?: boolean;
  status?: number;
  headers?: Record<string, string>;
  body?: Buffer;
  error?: string;
}

export interface WorkerRequest {
  id: number;
  event: { body: Buffer; method: string; path: string; query: string; headers: Record<string, string> };
  context: { functionName: string; callId: string; timeout: number };
}

export interface TransportEvents {
  message(m: WorkerMessage): void;
  exit(why: string): void;
}

// How the pool talks to one warm worker: a thread (node) or a process (python).
export interface Transport {
  readonly label: string;
  readonly pid?: number; // a process worker's (a thread has none)
  send(req: WorkerRequest): void;
  kill(): void;
}

// A body for postMessage: a copy in an ArrayBuffer of its own, of its own size, to be
// transferred (moved, not copied again). A structured clone of a Buffer copies its whole
// ArrayBuffer, which for a small one is Node's shared 8 KiB pool, or the socket read it was cut
// from (under load, many calls' frames): measured ~25 × the cost of a message with an exact-size
// one (docs/PERFORMANCE.md "Warm paths"). Never the Buffer's own memory: transferring detaches
// it, and a pooled one shares it with others. node-worker.ts does the same for its answers.
export const ownCopy = (b: Uint8Array): Uint8Array & { buffer: ArrayBuffer } => new Uint8Array(b) as Uint8Array & { buffer: ArrayBuffer };

// node: a worker thread; messages are structured clones, bodies are copied once and moved, no parsing.
// execArgv: the thread's node options, the runner's by default (tests start threads without
// their test runner's loaders).
export function threadTransport(script: string, data: object, env: Record<string, string>, tag: string, on: TransportEvents, execArgv?: string[]): Transport {
  const thread = new Thread(script, { workerData: data, env, stdout: true, stderr: true, execArgv });
  const out = new LineLogger(tag, 'info');
  const err = new LineLogger(tag, 'err');
  thread.stdout.on('data', (d: Buffer) => out.write(d));
  thread.stderr.on('data', (d: Buffer) => err.write(d));
  thread.on('message', (m: WorkerMessage & { body?: Uint8Array }) => on.message(m.body ? { ...m, body: Buffer.from(m.body.buffer, m.body.byteOffset, m.body.byteLength) } : m));
  let why = '';
  thread.on('error', (e) => (why = `threw ${e && e.stack ? e.stack.split('\n')[0] : String(e)}`));
  thread.on('exit', (code) => {
    out.end();
    err.end();
    on.exit(why || `exited with status ${code}`);
  });
  return {
    label: `thread ${thread.threadId}`,
    send: (req) => {
      const body = ownCopy(req.event.body);
      thread.postMessage({ ...req, event: { ...req.event, body } }, [body.buffer]);
    },
    kill: () => void thread.terminate(),
  };
}

// python: a process with its own process group; JSON lines on fd 3, bodies in base64.
export function processTransport(argv: string[], cwd: string, env: Record<string, string>, tag: string, on: TransportEvents): Transport {
  const child: ChildProcess = spawn(argv[0], argv.slice(1), { cwd, env, detached: true, stdio: ['ignore', 'pipe', 'pipe', 'pipe'] });
  const out = new LineLogger(tag, 'info');
  const err = new LineLogger(tag, 'err');
  child.stdout?.on('data', (d: Buffer) => out.write(d));
  child.stderr?.on('data', (d: Buffer) => err.write(d));
  const channel = child.stdio[3] as net.Socket;
  const kill = () => void killGroup(child.pid);
  let buffered = '';
  channel.on('data', (d: Buffer) => {
    buffered += d.toString('utf8');
    let nl: number;
    while ((nl = buffered.indexOf('\n')) >= 0) {
      const line = buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
      let msg: WorkerMessage & { body?: string | Buffer };
      try {
        msg = JSON.parse(line);
      } catch {
        log.err(`Failed to parse a message from worker ${child.pid} of ${tag}, replacing it`);
        kill();
        return;
      }
      on.message(typeof msg.body === 'string' ? { ...msg, body: Buffer.from(msg.body, 'base64') } : (msg as WorkerMessage));
    }
  });
  channel.on('error', kill);
  let exited = false;
  const exit = (why: string) => {
    if (exited) return;
    exited = true;
    out.end();
    err.end();
    on.exit(why);
  };
  child.on('error', (e) => exit(`failed to start: ${e.message}`));
  child.on('exit', (code, signal) => exit(signal ? `was killed by ${signal}` : `exited with status ${code}`));
  return {
    label: `process ${child.pid}`,
    pid: child.pid,
    send: (req) => channel.write(JSON.stringify({ ...req, event: { ...req.event, body: req.event.body.toString('base64') } }) + '\n'),
    kill,
  };
}
