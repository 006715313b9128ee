import * as http from 'node:http';
import { FunctionConfig } from '../lib/function-config';
import { FaassError } from '../lib/errors';
import { Lifecycle } from '../lib/activation';
import { callId, readBody, sendError, sendFaassError } from '../lib/http-util';
import { log, errorMessage } from '../lib/log';
import { Executor } from './call';
import { ExecExecutor } from './exec-executor';
import { WorkerPool } from './worker-pool';

// The closed set of runtimes, one switch.
export function createExecutor(cfg: FunctionConfig, codeDir: string): Executor {
  switch (cfg.runtime) {
    case 'exec':
      return new ExecExecutor(cfg, codeDir);
    case 'node':
    case 'python':
      return WorkerPool.forRuntime(cfg, codeDir);
  }
}

const RUNNER_BODY_LIMIT = 1024 ** 3;
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'content-length', 'upgrade', 'proxy-connection', 'te', 'trailer']);

export function createRunnerHandler(cfg: FunctionConfig, executor: Executor, lifecycle: Lifecycle | null): http.RequestListener {
  let inflight = 0;
  return async (req, res) => {
    const id = callId(req);
    const started = process.hrtime.bigint();
    res.setHeader('x-call-id', id);
    if (inflight >= cfg.maxInflight) {
      log.warning(`Function ${cfg.name}: max_inflight=${cfg.maxInflight} reached, refusing call ${id}`);
      sendError(res, 'FAASS_E_TOO_MANY_REQUESTS', `Function ${cfg.name} already runs max_inflight=${cfg.maxInflight} requests`, 429, { 'retry-after': '1' });
      return;
    }
    inflight++;
    try {
      const body = await readBody(req, RUNNER_BODY_LIMIT);
      const url = new URL(req.url ?? '/', 'http://runner');
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(req.headers)) if (v !== undefined && !HOP_BY_HOP.has(k)) headers[k] = Array.isArray(v) ? v.join(', ') : v;
      const result = await executor.invoke({ id, method: req.method ?? 'GET', path: url.pathname, query: url.search.slice(1), headers, body });
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      const out: Record<string, string> = {};
      for (const [k, v] of Object.entries(result.headers)) if (!HOP_BY_HOP.has(k.toLowerCase())) out[k] = v;
      res.writeHead(result.status, { ...out, 'content-length': String(result.body.length), 'x-duration-seconds': seconds.toFixed(6) });
      res.end(result.body);
    } catch (e) {
      const seconds = (Number(process.hrtime.bigint() - started) / 1e9).toFixed(6);
      if (e instanceof FaassError) {
        if (e.status >= 500) log.err(`Call ${id}: ${e.message}`);
        sendFaassError(res, e, { 'x-duration-seconds': seconds });
      } else {
        log.err(`Call ${id}: Failed to run function ${cfg.name}: ${errorMessage(e)}`);
        sendError(res, 'FAASS_E_INTERNAL', `Internal error in the runner of ${cfg.name} (call ${id})`, 500);
      }
    } finally {
      inflight--;
      void lifecycle;
    }
  };
}
