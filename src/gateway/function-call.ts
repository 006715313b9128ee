// The steps of a call to a function that do not depend on where the function runs: the gateway
// takes them before its runner answers (gateway.ts toFunction, runner-forward.ts), and a
// faassctl image around its own runner (image/serve.ts), so the two cannot drift apart. The
// request: the body read whole under max_body, the call id, the headers cleaned (headers.ts: hop-by-hop,
// the console's session cookie and X-CSRF-Token, Authorization unless passed). The answer: the
// console's session cookie a function sets is dropped, the status and headers checked again.
import type * as http from 'node:http';
import { callId, sendError, sendFaassError } from '../core/http-util';
import { isFinalStatus, onTheWire, passableHeaders, statusRefused } from '../core/function-answer';
import type { FunctionAnswer } from '../core/rpc';
import { log } from '../observe/log';
import { readWhole } from './answer';
import { callHeaders, keepSessionCookie } from './headers';
import type { ForwardedCall } from './call';

// On the functions' address a function may set cookies, but never the console's session cookie.
export const guardAnswer = keepSessionCookie;

// The call as the next hop takes it, or null when it was answered already (413, a client gone).
export async function takeCall(req: http.IncomingMessage, res: http.ServerResponse, to: { name: string; path: string }, maxBody: number, passAuthorization: boolean): Promise<ForwardedCall | null> {
  const body = await readWhole(req, res, maxBody);
  if (!body) return null;
  const id = callId(req);
  return { id, name: to.name, method: req.method ?? 'GET', path: to.path, headers: callHeaders(req, id, passAuthorization), body };
}

// faass.conf [gateway] timeout ran out before the function answered.
export function gatewayTimeout(res: http.ServerResponse, name: string, seconds: number): void {
  sendError(res, 'FAASS_E_GATEWAY_TIMEOUT', `Function ${name} did not answer within ${seconds}s`);
}

// The runner's answer to the client. The runner keeps to the rules of core/function-answer.ts;
// they are checked again here, where the client's connection is, since a node handler runs in
// the runner's own process and could write any frame.
export function sendAnswer(call: ForwardedCall, a: FunctionAnswer, res: http.ServerResponse): void {
  if (!isFinalStatus(a.status)) {
    log.warning(`Call ${call.id}: the runner of ${call.name} answered status ${a.status}, not passed on`);
    return sendFaassError(res, statusRefused(call.name, a.status));
  }
  const wire = onTheWire({ status: a.status, headers: { ...passableHeaders(a.headers), 'x-call-id': call.id }, body: a.body });
  res.writeHead(a.status, wire.headers);
  res.end(wire.body);
}
