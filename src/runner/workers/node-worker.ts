// A warm node worker thread: loads the handler once, then serves the runner's requests one at a
// time over its message port. workerData: { file (absolute), exportName, convention }.
import { parentPort, workerData } from 'node:worker_threads';
import { pathToFileURL } from 'node:url';
import { callOpenfaasClassic, callOpenfaasHttp } from './openfaas-node';

type Handler = (event: unknown, context: unknown) => unknown;
interface Request {
  id: number;
  event: { body: Uint8Array; method: string; path: string; query: string; headers: Record<string, string> };
  context: { functionName: string; callId: string; timeout: number; outbox?: string };
}
interface Normalized {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
}

const port = parentPort;
if (!port) throw new Error('node-worker runs as a worker thread of faass-runner');

// Kubeless: module.exports = { NAME: fn }; Lambda style: exports.handler; or the module itself.
function pick(mod: Record<string, unknown>, name: string | undefined): Handler {
  const candidates = [mod, mod.default as Record<string, unknown> | undefined].filter(Boolean) as Record<string, unknown>[];
  for (const m of candidates) {
    if (name && typeof m[name] === 'function') return m[name] as Handler;
  }
  if (name) throw new Error(`the module does not export a function named ${name}`);
  for (const m of candidates) {
    if (typeof m === 'function') return m as unknown as Handler;
    if (typeof m.handler === 'function') return m.handler as Handler;
    if (typeof m.handle === 'function') return m.handle as Handler;
  }
  throw new Error('the module exports no function (export a function, or name one with handler=)');
}

function normalize(result: unknown): Normalized {
  if (result === undefined || result === null) return { status: 200, headers: {}, body: Buffer.alloc(0) };
  if (typeof result === 'string') return { status: 200, headers: {}, body: Buffer.from(result) };
  if (Buffer.isBuffer(result) || result instanceof Uint8Array) return { status: 200, headers: {}, body: Buffer.from(result) };
  if (typeof result === 'object' && 'statusCode' in (result as object)) {
    const r = result as { statusCode: unknown; headers?: Record<string, unknown>; body?: unknown; isBase64Encoded?: boolean };
    const status = Number(r.statusCode);
    // Which statuses pass is the runner's rule (core/function-answer), the same for every runtime.
    if (!Number.isInteger(status)) throw new Error(`statusCode must be an integer HTTP status, got ${JSON.stringify(r.statusCode)}`);
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(r.headers ?? {})) headers[k.toLowerCase()] = String(v);
    const inner = r.body === undefined || r.body === null ? { body: Buffer.alloc(0), headers: {} } : normalize(r.body);
    const body = r.isBase64Encoded && typeof r.body === 'string' ? Buffer.from(r.body, 'base64') : inner.body;
    return { status, headers: { ...inner.headers, ...headers }, body };
  }
  return { status: 200, headers: { 'content-type': 'application/json' }, body: Buffer.from(JSON.stringify(result)) };
}

type Convention = 'faass' | 'openfaas-http' | 'openfaas-classic';

// The call whose output the worker's stdout and stderr carry from now on: the one last started
// (what a handler prints after its call ended, from a timer, is still that call's until the next
// one starts).
let currentCall = '';

// What the handler prints is its call's: before the first write of a call to a stream, that
// stream gets the call's mark (line-logger.ts's CALL_MARK, kept in step by hand: this file runs
// in the worker, without the runner's modules). Written on the first write only, not at each
// call's start: each write of a worker thread's stream is a message to the runner's thread, and
// two marks per call were most of a warm call's cost in the worker for a handler that prints
// nothing (docs/PERFORMANCE.md "Warm paths").
function markCalls(stream: NodeJS.WriteStream): void {
  const write = stream.write.bind(stream) as (...args: unknown[]) => boolean;
  let marked = '';
  stream.write = ((...args: unknown[]) => {
    if (marked !== currentCall) {
      marked = currentCall;
      write(`\u0000faass-call ${currentCall}\n`);
    }
    return write(...args);
  }) as typeof stream.write;
}

async function serve(handler: Handler, req: Request, convention: Convention): Promise<void> {
  currentCall = req.context.callId;
  const raw = Buffer.from(req.event.body.buffer, req.event.body.byteOffset, req.event.body.byteLength);
  const body = raw.toString('utf8');
  let data: unknown = body;
  if (/json/i.test(req.event.headers['content-type'] ?? '')) {
    try {
      data = JSON.parse(body);
    } catch {
      data = body;
    }
  }
  const started = Date.now();
  const event = { ...req.event, body, rawBody: raw, data, extensions: {} };
  const context = {
    ...req.context,
    'function-name': req.context.functionName,
    runtime: 'nodejs' + process.versions.node.split('.')[0],
    getRemainingTimeInMillis: () => Math.max(0, req.context.timeout * 1000 - (Date.now() - started)),
  };
  try {
    const call = convention === 'openfaas-http' ? callOpenfaasHttp : convention === 'openfaas-classic' ? callOpenfaasClassic : null;
    const r = normalize(call ? await call(handler as (...args: unknown[]) => unknown, event) : await handler(event, context));
    // A copy of its own, moved (worker-transport.ts ownCopy says why; kept in step by hand).
    const body = new Uint8Array(r.body);
    port?.postMessage({ id: req.id, ok: true, status: r.status, headers: r.headers, body }, [body.buffer]);
  } catch (e) {
    const err = e as Error;
    port?.postMessage({ id: req.id, ok: false, error: err && err.stack ? err.stack : String(e) });
  }
}

async function main(): Promise<void> {
  const { file, exportName, convention } = workerData as { file: string; exportName?: string; convention?: Convention };
  let handler: Handler;
  try {
    handler = pick((await import(pathToFileURL(file).href)) as Record<string, unknown>, exportName || undefined);
  } catch (e) {
    port?.postMessage({ fatal: `Failed to load handler ${file}${exportName ? ' export ' + exportName : ''}: ${(e as Error).message}` });
    return;
  }
  markCalls(process.stdout);
  markCalls(process.stderr);
  port?.on('message', (req: Request) => void serve(handler, req, convention ?? 'faass'));
  port?.postMessage({ ready: true });
}

void main();
