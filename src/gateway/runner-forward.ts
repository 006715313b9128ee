// Calls to a function's runner over faass-rpc, one pooled connection set per function.
import type * as http from 'node:http';
import { Paths, functionSocketPath } from '../core/paths';
import { log } from '../observe/log';
import { RpcCallInterrupted, RpcClient, RpcConnectionError } from './rpc-client';
import { ForwardedCall, POOL_IDLE_MS } from './call';
import { refuse } from './answer';

export class RunnerForwarder {
  private readonly clients = new Map<string, RpcClient>();

  constructor(
    private readonly paths: Paths,
    private readonly timeoutSeconds: number,
  ) {}

  private client(name: string): RpcClient {
    let c = this.clients.get(name);
    if (!c) {
      c = new RpcClient(functionSocketPath(this.paths, name), POOL_IDLE_MS);
      this.clients.set(name, c);
    }
    return c;
  }

  close(): void {
    for (const c of this.clients.values()) c.close();
  }

  // A call the runner never acknowledged (it never started) is retried once on a fresh
  // connection: the runner may have just exited idle, or been restarted. One it acknowledged is
  // never sent again: if its runner stops before answering, the caller gets a 502 that says so.
  async forward(call: ForwardedCall, res: http.ServerResponse): Promise<void> {
    const { id, name } = call;
    for (let attempt = 0; ; attempt++) {
      const pending = this.client(name).call(call.method, call.path, call.headers, call.body, { fresh: attempt > 0, timeoutMs: this.timeoutSeconds * 1000 });
      const onClose = () => pending.cancel();
      res.once('close', onClose);
      try {
        const a = await pending.answer;
        res.off('close', onClose);
        if (res.destroyed) return;
        res.writeHead(a.status, { ...a.headers, 'content-length': String(a.body.length) });
        res.end(a.body);
        return;
      } catch (e) {
        res.off('close', onClose);
        if (res.destroyed) return;
        if (e instanceof RpcConnectionError && attempt === 0) {
          log.debug(`Call ${id}: retrying ${name} on a fresh connection after ${e.code}`);
          continue;
        }
        if (e instanceof RpcCallInterrupted) {
          log.warning(`Call ${id}: The runner of ${name} stopped during the call (${e.code}), not retrying it`);
          return refuse(res, 'FAASS_E_RUNNER_STOPPED', `The runner of function ${name} stopped during the call; the call was not retried, as it may have run (in part)`);
        }
        if (!(e instanceof RpcConnectionError)) return refuse(res, 'FAASS_E_GATEWAY_TIMEOUT', `Function ${name} did not answer within ${this.timeoutSeconds}s`);
        log.warning(`Call ${id}: Failed to reach function ${name}: ${e.code}`);
        return refuse(res, 'FAASS_E_FUNCTION_UNREACHABLE', `Function ${name} is not reachable (${e.code}); is faass-fn-${name}.socket running?`);
      }
    }
  }
}
