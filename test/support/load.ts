// Callers that keep calling one function until stopped, every call noted: the load beside a
// deploy, rollback or canary in the tests that check no call fails and each answer's version.
import { Sandbox, request } from './sandbox';

export interface Seen {
  started: number;
  ended?: number;
  status?: number;
  version?: string; // X-Faass-Version
  body?: string;
  error?: string;
}

export interface Load {
  seen: Seen[];
  // Calls started after `since` (ms since the epoch) and answered (or failed).
  answered(since: number): number;
  stop(): Promise<void>;
}

export function callers(sb: Sandbox, n: number, path: string, body = 'x'): Load {
  const seen: Seen[] = [];
  let stopped = false;
  const worker = async () => {
    while (!stopped) {
      const rec: Seen = { started: Date.now() };
      seen.push(rec);
      try {
        const r = await request(sb.port, path, { body });
        Object.assign(rec, { status: r.status, version: r.headers['x-faass-version'], body: r.body });
      } catch (e) {
        rec.error = (e as Error).message;
      }
      rec.ended = Date.now();
    }
  };
  const workers = Array.from({ length: n }, worker);
  return {
    seen,
    answered: (since) => seen.filter((s) => s.started > since && s.ended !== undefined).length,
    stop: async () => {
      stopped = true;
      await Promise.all(workers);
    },
  };
}
