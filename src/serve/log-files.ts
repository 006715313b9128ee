// Where faassctl serve's programs log: a file per program under $XDG_STATE_HOME/faass/serve/logs
// (gateway.log, api.log, NAME.log for a function: its runner's or app's lines, the call lines
// among them), each bounded: past LOG_FILE_MAX it becomes NAME.log.1 (the one before goes), so a
// program keeps at most twice that. faassctl logs NAME reads them while serve runs. serve's own
// stderr gets every line too, prefixed with the program, as a foreground program's should.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Paths } from '../core/paths';
import { privateDir, PRIVATE_FILE } from '../core/private-files';

export const LOG_FILE_MAX = 1024 * 1024;

export const serveLogDir = (p: Paths): string => path.join(p.stateDir, 'serve', 'logs');
export const serveLogPath = (p: Paths, name: string): string => path.join(serveLogDir(p), `${name}.log`);

// A line as written: "2026-12-01T15:04:05.123Z PROGRAM[PID]: PRIORITY: MESSAGE" (the programs
// write "PRIORITY: MESSAGE" on stderr without a journal, observe/log.ts).
export const LINE_RE = /^(\S+) ([^\s[]+)\[(\d+)\]: (?:(err|warning|notice|info|debug): )?(.*)$/;

export class LogFile {
  private fd: number | null = null;
  private size = 0;

  constructor(
    private readonly paths: Paths,
    readonly name: string,
  ) {}

  write(pid: number | undefined, line: string): void {
    const text = `${new Date().toISOString()} ${this.name}[${pid ?? '-'}]: ${line}\n`;
    process.stderr.write(`[${this.name}] ${line}\n`);
    try {
      this.open();
      if (this.size + text.length > LOG_FILE_MAX) this.rotate();
      this.size += fs.writeSync(this.fd as number, text);
    } catch {
      // a full or read-only disk loses the file's copy; serve's stderr still has the line
    }
  }

  close(): void {
    if (this.fd !== null) fs.closeSync(this.fd);
    this.fd = null;
  }

  private open(): void {
    if (this.fd !== null) return;
    const file = serveLogPath(this.paths, this.name);
    privateDir(this.paths, path.dirname(file));
    this.fd = fs.openSync(file, 'a', PRIVATE_FILE);
    this.size = fs.fstatSync(this.fd).size;
  }

  private rotate(): void {
    const file = serveLogPath(this.paths, this.name);
    this.close();
    fs.renameSync(file, `${file}.1`);
    this.open();
  }
}

// Splits a child's output into lines (a chunk may end mid-line) for a LogFile.
export function lineSplitter(emit: (line: string) => void): { write(d: Buffer): void; end(): void } {
  let rest = '';
  return {
    write(d) {
      const parts = (rest + d.toString('utf8')).split('\n');
      rest = parts.pop() ?? '';
      for (const p of parts) emit(p);
      // A child that never ends a line cannot grow this without bound.
      if (rest.length > 16384) {
        emit(rest);
        rest = '';
      }
    },
    end() {
      if (rest) emit(rest);
      rest = '';
    },
  };
}

export const PRIORITY_LEVEL: Readonly<Record<string, number>> = { emerg: 0, alert: 1, crit: 2, err: 3, warning: 4, notice: 5, info: 6, debug: 7 };

export interface LogQuery {
  lines?: number;
  priority?: string; // at this level or more urgent, as journalctl -p
  call?: string; // lines that name this call id
}

// A query as a line filter; null with the reason when it cannot be one.
export function logFilter(q: LogQuery): ((line: string) => boolean) | string {
  let max = 7;
  if (q.priority !== undefined) {
    const p = q.priority.trim().toLowerCase();
    const level = /^[0-7]$/.test(p) ? Number(p) : PRIORITY_LEVEL[p];
    if (level === undefined) return `Invalid --priority ${JSON.stringify(q.priority.slice(0, 40))}: one of ${Object.keys(PRIORITY_LEVEL).join(', ')}, or 0-7`;
    max = level;
  }
  const call = q.call;
  return (line) => {
    const m = LINE_RE.exec(line);
    if (!m) return false;
    if (PRIORITY_LEVEL[m[4] ?? 'info'] > max) return false;
    return call === undefined || m[5].split(/[\s=,;]+/).includes(call);
  };
}

// The program's lines kept now, oldest first (the rotated file, then the current one).
export function readLogLines(p: Paths, name: string): string[] {
  return readLogFiles(p, name).lines;
}

// The same, and `end`: the current file's length up to its last whole line, where followLog
// goes on from (a line the writer is still writing, or one written meanwhile, is the follow's:
// neither lost in between nor shown twice).
export function readLogFiles(p: Paths, name: string): { lines: string[]; end: number } {
  const file = serveLogPath(p, name);
  const [old, now] = [`${file}.1`, file].map((f) => {
    try {
      return fs.readFileSync(f);
    } catch {
      return Buffer.alloc(0);
    }
  });
  const end = now.lastIndexOf(0x0a) + 1;
  return { lines: (old.toString('utf8') + now.subarray(0, end).toString('utf8')).split('\n').filter(Boolean), end };
}

// Prints what the file gains from `from` on (its length now when not given), every FOLLOW_MS,
// until the process is stopped (or `stop` is aborted: the API's reader went away); a rotation
// (the file got shorter) starts it again from the beginning. A write that returns a promise is
// waited for (backpressure: a slow reader holds the follow, not memory).
export async function followLog(p: Paths, name: string, keep: (line: string) => boolean, write: (s: string) => void | Promise<void>, stop?: AbortSignal, from?: number): Promise<void> {
  const file = serveLogPath(p, name);
  let offset = from ?? fs.statSync(file, { throwIfNoEntry: false })?.size ?? 0;
  let rest = '';
  let wake = (): void => undefined;
  stop?.addEventListener('abort', () => wake(), { once: true });
  for (;;) {
    await new Promise<void>((r) => {
      const timer = setTimeout(r, FOLLOW_MS);
      wake = () => r(clearTimeout(timer));
    });
    if (stop?.aborted) return;
    const size = fs.statSync(file, { throwIfNoEntry: false })?.size ?? 0;
    if (size < offset) offset = 0;
    if (size === offset) continue;
    const fd = fs.openSync(file, 'r');
    const buf = Buffer.alloc(size - offset);
    fs.readSync(fd, buf, 0, buf.length, offset);
    fs.closeSync(fd);
    offset = size;
    const parts = (rest + buf.toString('utf8')).split('\n');
    rest = parts.pop() ?? '';
    for (const l of parts) {
      if (stop?.aborted) return;
      if (keep(l)) await write(l + '\n');
    }
  }
}

const FOLLOW_MS = 250;
