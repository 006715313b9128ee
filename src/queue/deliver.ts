// One attempt of an asynchronous call, through the function's own socket as the gateway would
// send it (so the runner's limits, timeout and call log apply; a service's proxy the same). The
// call carries its X-Call-Id and the attempt's number, X-Faass-Attempt, so a function can tell
// a retry from a new call.
import * as http from 'node:http';
import { Paths, functionSocketPath } from '../core/paths';
import { FUNCTION_DEFAULTS, loadFunctionConfig } from '../functions/function-config';
import { QueuedCall } from './spool';
import { KeptAnswer, Outcome } from './retry';

// How long past the function's own timeout an attempt may go unanswered (its runner answers 504
// at its timeout; no answer by then means it is stuck or gone).
const GRACE_MS = 30_000;

// The most of an answer kept for a callback: the function's max_output, the bound its runner
// puts on the answers the gateway passes on (a service's answer, streamed by the gateway, is cut
// at the same bound here).
function answerLimit(p: Paths, name: string): number {
  try {
    return loadFunctionConfig(p, name).maxOutput;
  } catch {
    return FUNCTION_DEFAULTS.maxOutput;
  }
}

// Reads the answer: its body kept up to limit (0: thrown away, as when no callback wants it).
function readAnswer(res: http.IncomingMessage, limit: number): { answer: () => KeptAnswer } {
  const chunks: Buffer[] = [];
  let kept = 0;
  let truncated = false;
  res.on('data', (c: Buffer) => {
    if (kept >= limit) return void (truncated = truncated || c.length > 0);
    const take = c.subarray(0, limit - kept);
    chunks.push(take);
    kept += take.length;
    truncated = truncated || take.length < c.length;
  });
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(res.headers)) if (v !== undefined) headers[k] = Array.isArray(v) ? v.join(', ') : v;
  return { answer: () => ({ headers, body: Buffer.concat(chunks), truncated }) };
}

export function deliver(p: Paths, call: QueuedCall, attempt: number, timeoutSeconds: number): Promise<Outcome> {
  return new Promise((resolve) => {
    const headers = { ...call.headers, 'x-call-id': call.id, 'x-faass-attempt': String(attempt), 'content-length': String(call.body.length) };
    const req = http.request({ socketPath: functionSocketPath(p, call.name), method: call.method, path: call.path, headers, agent: false });
    const timer = setTimeout(() => req.destroy(new Error(`no answer within ${timeoutSeconds}s and a grace of ${GRACE_MS / 1000}s`)), timeoutSeconds * 1000 + GRACE_MS);
    req.on('response', (res) => {
      // The result is the status (and its log line); the answer is kept only for a callback.
      const read = call.callback !== undefined ? readAnswer(res, answerLimit(p, call.name)) : null;
      if (!read) res.resume();
      res.on('end', () => {
        clearTimeout(timer);
        const retryAfter = res.headers['retry-after'];
        const status = res.statusCode ?? 0;
        resolve({ status, retryAfter: Array.isArray(retryAfter) ? retryAfter[0] : retryAfter, notStarted: status === 429, ...(read ? { answer: read.answer() } : {}) });
      });
      res.on('error', (e) => {
        clearTimeout(timer);
        resolve({ error: `the answer broke off (${e.message})` });
      });
    });
    req.on('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      resolve({ error: e.code ? `${e.code} on the function's socket` : e.message, notStarted: e.code === 'ECONNREFUSED' || e.code === 'ENOENT' });
    });
    req.end(call.body);
  });
}
