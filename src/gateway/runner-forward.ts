// Calls to a function's runner over faass-rpc, one pooled connection set per function.
import type * as http from 'node:http';
import { Paths, functionSocketPath } from '../core/paths';
import { log } from '../observe/log';
import { RpcCallInterrupted, RpcClient, RpcConnectionError } from './rpc-client';
import { ForwardedCall, POOL_IDLE_MS } from './call';
import { refuse } from './answer';
import { isFinalStatus } from '../core/function-answer';
import { gatewayTimeout, sendAnswer } from './function-call';
import type { CanaryPick } from './canaries';

export class RunnerForwarder {
  private readonly clients = new Map<string, RpcClient>();

  constructor(
    private readonly paths: Paths,
    private readonly timeoutSeconds: number,
  ) {}

  // One client per socket: the function's, or its canary's (canaries.ts).
  private client(socket: string): RpcClient {
    let c = this.clients.get(socket);
    if (!c) {
      c = new RpcClient(socket, POOL_IDLE_MS);
      this.clients.set(socket, c);
    }
    return c;
  }

  close(): void {
    for (const c of this.clients.values()) c.close();
  }

  // A call the runner never acknowledged (it never started) is retried once on a fresh
  // connection: the runner may have just exited idle, or been restarted. One it acknowledged is
  // never sent again: if its runner stops before answering, the caller gets a 502 that says so.
  // canary: the call goes to the canary's runner first; one it never acknowledged is retried on
  // the function's own runner (a canary being removed, or down), never one it took: a caller sees
  // the canary's own answers, and done() counts them. That retry too is on a fresh connection: the
  // pooled one may be closing (the function's runner draining: a promote restarts it).
  async forward(call: ForwardedCall, res: http.ServerResponse, canary: CanaryPick | null = null): Promise<void> {
    const { id, name } = call;
    const own = functionSocketPath(this.paths, name);
    for (let attempt = 0; ; attempt++) {
      const toCanary = canary !== null && attempt === 0;
      const pending = this.client(toCanary ? canary.socket : own).call(call.method, call.path, call.headers, call.body, { fresh: attempt > 0, timeoutMs: this.timeoutSeconds * 1000 });
      const onClose = () => pending.cancel();
      res.once('close', onClose);
      try {
        const a = await pending.answer;
        res.off('close', onClose);
        if (toCanary) canary.done(a.status >= 500 || !isFinalStatus(a.status));
        if (res.destroyed) return;
        return sendAnswer(call, a, res);
      } catch (e) {
        res.off('close', onClose);
        // Not delivered to the canary: not its answer, not counted.
        if (toCanary && !(e instanceof RpcConnectionError)) canary.done(true);
        if (res.destroyed) return;
        if (e instanceof RpcConnectionError && attempt === 0) {
          log.debug(`Call ${id}: retrying ${name}${toCanary ? ` (its canary, version ${canary.version}, did not take it)` : ''} on a fresh connection after ${e.code}`);
          continue;
        }
        if (e instanceof RpcCallInterrupted) {
          log.warning(`Call ${id}: The runner of ${name} stopped during the call (${e.code}), not retrying it`);
          return refuse(res, 'FAASS_E_RUNNER_STOPPED', `The runner of function ${name} stopped during the call; the call was not retried, as it may have run (in part)`);
        }
        if (!(e instanceof RpcConnectionError)) return gatewayTimeout(res, name, this.timeoutSeconds);
        log.warning(`Call ${id}: Failed to reach function ${name}: ${e.code}`);
        return refuse(res, 'FAASS_E_FUNCTION_UNREACHABLE', `Function ${name} is not reachable (${e.code}); is faass-fn-${name}.socket running?`);
      }
    }
  }
}
