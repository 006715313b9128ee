import { Priority, logLine } from '../observe/log';

const MAX_LINE = 8192;

// A warm worker writes this line to its stdout and stderr as it starts a call: the output
// after it, in the same stream (so in order), is that call's.
export const CALL_MARK = '\u0000faass-call ';

// Splits a child's output into journal lines tagged with the function and the call (journal
// field FAASS_CALL_ID): one given for a per-call process, or the last CALL_MARK a worker wrote.
export class LineLogger {
  private pending = '';
  private callId: string | undefined;
  private fields?: Record<string, string>;
  constructor(
    private readonly tag: string,
    private readonly priority: Priority,
    callId?: string,
  ) {
    this.setCall(callId);
  }

  private setCall(id: string | undefined): void {
    this.callId = id;
    this.fields = id ? { FAASS_CALL_ID: id } : undefined;
  }

  private line(l: string): void {
    if (l.startsWith(CALL_MARK)) {
      this.setCall(l.slice(CALL_MARK.length).trim() || undefined);
      return;
    }
    logLine(this.priority, `${this.tag}${this.callId ? `[${this.callId}]` : ''}: ${l.slice(0, MAX_LINE)}`, this.fields);
  }

  write(d: Buffer): void {
    const lines = (this.pending + d.toString('utf8')).split('\n');
    this.pending = lines.pop() ?? '';
    if (this.pending.length > MAX_LINE) {
      lines.push(this.pending);
      this.pending = '';
    }
    for (const l of lines) this.line(l);
  }

  end(): void {
    if (this.pending) this.line(this.pending);
    this.pending = '';
  }
}
