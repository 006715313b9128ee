// One journal line per call (faass-runner(8)), in logfmt, so that faassctl logs --call can find
// it: 5xx at err, 4xx at warning, the rest at info; a failed call's line says why, and is the
// only line faass writes about that failure. Under load, lines are budgeted: journald
// itself drops what a unit writes beyond its rate limit (10000 per 30 s by default), at random
// and at a cost to the calls (measured: 25 % of warm throughput at ~5000 calls/s). So each
// second the first PER_SECOND calls and the first PER_SECOND failures are logged one by one, and
// the rest are summed up in one line when the second is over; /metrics counts every call.
import { Priority, logLine } from './log';

export const PER_SECOND = 100;

// Why a call failed, in its line: the error code and, quoted (JSON string syntax, so a handler's
// stack stays one line), the reason.
export interface CallError {
  code: string;
  reason: string;
}

// cold: null when it is not known (a service's call, seen from the gateway).
export function callLine(id: string, fn: string, status: number, seconds: number, cold: boolean | null, error?: CallError): string {
  const line = `call=${id} function=${fn} status=${status} duration=${seconds.toFixed(6)} start=${cold === null ? '-' : cold ? 'cold' : 'warm'}`;
  return error ? `${line} error=${error.code} reason=${JSON.stringify(error.reason)}` : line;
}

export const callPriority = (status: number): Priority => (status >= 500 ? 'err' : status >= 400 ? 'warning' : 'info');

type Write = (priority: Priority, message: string, fields?: Record<string, string>) => void;

export class CallLog {
  private second = 0;
  private ok = 0;
  private failed = 0;
  private skipped = 0;
  private skippedStatus: Record<number, number> = {};
  private skippedMax = 0;
  private worst: Priority = 'info';
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly perSecond = PER_SECOND,
    private readonly write: Write = logLine,
    private readonly now: () => number = Date.now,
  ) {}

  record(id: string, fn: string, status: number, seconds: number, cold: boolean | null, error?: CallError): void {
    const second = Math.floor(this.now() / 1000);
    if (second !== this.second) {
      this.summarize(fn);
      this.second = second;
      this.ok = 0;
      this.failed = 0;
    }
    const isError = status >= 400;
    if (isError ? this.failed++ < this.perSecond : this.ok++ < this.perSecond) {
      this.write(callPriority(status), callLine(id, fn, status, seconds, cold, error), { FAASS_CALL_ID: id });
      return;
    }
    this.skipped++;
    this.skippedStatus[status] = (this.skippedStatus[status] ?? 0) + 1;
    this.skippedMax = Math.max(this.skippedMax, seconds);
    if (callPriority(status) === 'err' || (callPriority(status) === 'warning' && this.worst === 'info')) this.worst = callPriority(status);
    if (!this.timer) {
      this.timer = setTimeout(() => this.summarize(fn), 1000 - (this.now() % 1000) + 5);
      this.timer.unref();
    }
  }

  // The calls of the second that went unlogged, in one line.
  summarize(fn: string): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.skipped === 0) return;
    const statuses = Object.entries(this.skippedStatus)
      .map(([s, n]) => `status_${s}=${n}`)
      .join(' ');
    this.write(this.worst, `calls=${this.skipped} function=${fn} ${statuses} max_duration=${this.skippedMax.toFixed(6)} not logged one by one (over ${this.perSecond} a second; /metrics counts every call)`);
    this.skipped = 0;
    this.skippedStatus = {};
    this.skippedMax = 0;
    this.worst = 'info';
  }
}
