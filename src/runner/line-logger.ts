import { Priority, logLine } from '../lib/log';

const MAX_LINE = 8192;

// Splits a child's output into journal lines tagged with the function (and call).
export class LineLogger {
  private pending = '';
  private readonly fields?: Record<string, string>;
  constructor(
    private readonly tag: string,
    private readonly priority: Priority,
    callId?: string, // the call whose output this is (journal field FAASS_CALL_ID)
  ) {
    if (callId) this.fields = { FAASS_CALL_ID: callId };
  }

  write(d: Buffer): void {
    const lines = (this.pending + d.toString('utf8')).split('\n');
    this.pending = lines.pop() ?? '';
    if (this.pending.length > MAX_LINE) {
      lines.push(this.pending);
      this.pending = '';
    }
    for (const l of lines) logLine(this.priority, `${this.tag}: ${l.slice(0, MAX_LINE)}`, this.fields);
  }

  end(): void {
    if (this.pending) logLine(this.priority, `${this.tag}: ${this.pending.slice(0, MAX_LINE)}`, this.fields);
    this.pending = '';
  }
}
