import type { FunctionAnswer } from '../core/rpc';
import { ErrorCode, FaassError } from '../core/errors';

export interface Call {
  readonly id: string;
  readonly method: string;
  readonly path: string;
  readonly query: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Buffer;
  // A directory for files the drop claims as calls one link further (runner/outboxes.ts), when
  // the function has a file drop.
  readonly outbox?: string;
}

export type CallResult = FunctionAnswer;

// One way of running a function (exec, node, python): the runner's only view of a runtime.
export interface Executor {
  invoke(call: Call): Promise<CallResult>;
  close(): Promise<void>;
  describe(): string;
  // Processes it keeps between calls (warm workers): not strays (runner/strays.ts).
  keptPids?(): number[];
}

// A call's failure as an executor reports it: the answer's code and message, and what only the
// journal gets (a handler's stack, which worker was replaced). The runner logs it, once, in the
// call's line.
export class CallFailure extends FaassError {
  constructor(
    code: ErrorCode,
    message: string,
    readonly detail: string,
  ) {
    super(code, message);
  }
}

// OpenFaaS classic-watchdog names: Http_Method, Http_Path, Http_Query, Http_Content_Type, ...
export function watchdogEnv(call: Call): Record<string, string> {
  const env: Record<string, string> = { Http_Method: call.method, Http_Path: call.path, Http_Query: call.query };
  for (const [k, v] of Object.entries(call.headers)) {
    const canonical = k
      .split('-')
      .map((p) => (p ? p[0].toUpperCase() + p.slice(1).toLowerCase() : p))
      .join('_');
    env[`Http_${canonical}`] = v;
  }
  return env;
}

// A process's (or a container's) call ended by faass, said the same by both executors: an image
// built by faassctl image runs a container function's command as a process, and its answers are
// to be the local container's.
export const timedOut = (cfg: { name: string; timeout: number }): FaassError => new FaassError('FAASS_E_FUNCTION_TIMEOUT', `Function ${cfg.name} timed out after ${cfg.timeout}s and was killed`);
export const wroteTooMuch = (cfg: { name: string; maxOutput: number }): FaassError => new FaassError('FAASS_E_OUTPUT_TOO_LARGE', `Function ${cfg.name} wrote more than max_output=${cfg.maxOutput} bytes and was killed`);
