// One attempt of an asynchronous call, through the function's own socket as the gateway would
// send it (so the runner's limits, timeout and call log apply; a service's proxy the same). The
// call carries its X-Call-Id and the attempt's number, X-Faass-Attempt, so a function can tell
// a retry from a new call.
import * as http from 'node:http';
import { Paths, functionSocketPath } from '../core/paths';
import { QueuedCall } from './spool';
import { Outcome } from './retry';

// How long past the function's own timeout an attempt may go unanswered (its runner answers 504
// at its timeout; no answer by then means it is stuck or gone).
const GRACE_MS = 30_000;

export function deliver(p: Paths, call: QueuedCall, attempt: number, timeoutSeconds: number): Promise<Outcome> {
  return new Promise((resolve) => {
    const headers = { ...call.headers, 'x-call-id': call.id, 'x-faass-attempt': String(attempt), 'content-length': String(call.body.length) };
    const req = http.request({ socketPath: functionSocketPath(p, call.name), method: call.method, path: call.path, headers, agent: false });
    const timer = setTimeout(() => req.destroy(new Error(`no answer within ${timeoutSeconds}s and a grace of ${GRACE_MS / 1000}s`)), timeoutSeconds * 1000 + GRACE_MS);
    req.on('response', (res) => {
      res.resume(); // the result is the status (and its log line); the body is not kept yet
      res.on('end', () => {
        clearTimeout(timer);
        const retryAfter = res.headers['retry-after'];
        const status = res.statusCode ?? 0;
        resolve({ status, retryAfter: Array.isArray(retryAfter) ? retryAfter[0] : retryAfter, notStarted: status === 429 });
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
