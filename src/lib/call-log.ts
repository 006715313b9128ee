import { Priority } from './log';

// One journal line per call (faass-runner(8)): logfmt, so that faassctl logs --call and
// faassctl stats can read it back; 5xx at err, 4xx at warning, the rest at info.
// cold: null when it is not known (a service's call, seen from the gateway).
export function callLine(id: string, fn: string, status: number, seconds: number, cold: boolean | null): string {
  return `call=${id} function=${fn} status=${status} duration=${seconds.toFixed(6)} start=${cold === null ? '-' : cold ? 'cold' : 'warm'}`;
}

export const callPriority = (status: number): Priority => (status >= 500 ? 'err' : status >= 400 ? 'warning' : 'info');
