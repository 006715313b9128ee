// GET /system/logs/NAME?lines=N&follow=1&after=CURSOR: the lines `faassctl logs NAME` shows, as
// NDJSON, one object per line: {"time", "priority", "unit", "message", "cursor"}. With follow=1
// the answer stays open and streams new lines until the client goes away; then journalctl is
// ended at once. after=CURSOR (a line's "cursor") resumes after that line, with no repeats.
// While faassctl serve runs, its log files are read instead (serve/log-files.ts).
import * as http from 'node:http';
import { spawn } from 'node:child_process';
import { Paths } from '../core/paths';
import { FaassError, errorBody } from '../core/errors';
import { validateName } from '../core/validate';
import { isFaassLogName } from '../systemd/journal-match';
import { readServeState } from '../systemd/serve-link';
import { listFunctionNames } from '../functions/function-config';
import { NO_JOURNAL, journalUnreadable, logMatch } from '../functions/log-match';
import { LINE_RE, PRIORITY_LEVEL, followLog, readLogFiles } from '../serve/log-files';
import { log } from '../observe/log';
import { sendError } from '../core/http-util';

export const NDJSON = 'application/x-ndjson';
// How to end each open stream: a stop of faass-api ends them at once (endLogTails), rather than
// waiting its drain time for clients that never finish; they resume with after=.
const open = new Set<() => void>();

export function endLogTails(): void {
  for (const end of open) end();
}
// How long one follow stream lasts at most. Its caller is authorized once, at its start: the cap
// bounds how long a session that expired, or an admin removed, goes on seeing lines. The stream
// ends after a whole line and the page resumes with after=, which is authorized again. (An
// object, so a test can shorten it.)
export const FOLLOW_MAX = { ms: 15 * 60 * 1000 };
const DEFAULT_LINES = 100;
const MAX_LINES = 1000;
// A journal cursor (s=…;i=…;b=…;m=…;t=…;x=…) or serve's (serve:TIME:N); journalctl checks the rest.
const CURSOR = /^[A-Za-z0-9=;:._-]{1,512}$/;
// A journal entry as one JSON line: a message is at most 64 KiB by default (journald's LineMax
// is less); far past that a line is cut off rather than held without bound.
const MAX_JSON_LINE = 4 * 1024 * 1024;

export interface LogEntry {
  time: string; // ISO 8601
  priority: number; // 0 (emerg) .. 7 (debug)
  unit: string;
  message: string;
  cursor: string;
}

interface LogQuery {
  name: string;
  lines: number;
  follow: boolean;
  after: string | undefined;
}

// The query, checked: NAME a function (deployed) or gateway/api/dispatch, as faassctl logs takes.
export function logQuery(paths: Paths, name: string, params: URLSearchParams): LogQuery {
  if (!isFaassLogName(name)) {
    validateName(name);
    if (!listFunctionNames(paths).includes(name)) throw new FaassError('FAASS_E_FUNCTION_NOT_FOUND', `No function named ${name}`);
  }
  const lines = params.get('lines') ?? String(DEFAULT_LINES);
  if (!/^\d{1,4}$/.test(lines) || Number(lines) > MAX_LINES) throw new FaassError('FAASS_E_USAGE', `Invalid lines ${JSON.stringify(lines.slice(0, 40))}: a whole number from 0 to ${MAX_LINES}`);
  const follow = params.get('follow') ?? '0';
  if (follow !== '0' && follow !== '1') throw new FaassError('FAASS_E_USAGE', `Invalid follow ${JSON.stringify(follow.slice(0, 40))}: 1 or 0`);
  const after = params.get('after') ?? undefined;
  if (after !== undefined && !CURSOR.test(after)) throw new FaassError('FAASS_E_USAGE', 'Invalid after: a "cursor" of a line this route gave');
  return { name, lines: Number(lines), follow: follow === '1', after };
}

// A journal entry (journalctl -o json) as the API shows it. A manager's line is about the unit
// it names (USER_UNIT=, believed from the manager only: journal-match.ts selected it so).
export function journalEntry(j: Record<string, unknown>): LogEntry {
  const unit = j._SYSTEMD_USER_UNIT === 'init.scope' ? j.USER_UNIT : j._SYSTEMD_USER_UNIT;
  const priority = Number(j.PRIORITY);
  return {
    time: new Date(Number(j.__REALTIME_TIMESTAMP) / 1000).toISOString(),
    priority: Number.isInteger(priority) && priority >= 0 && priority <= 7 ? priority : 6,
    unit: typeof unit === 'string' ? unit : '',
    message: messageText(j.MESSAGE),
    cursor: String(j.__CURSOR ?? ''),
  };
}

// journalctl gives a message that is not valid UTF-8 (or has control characters) as an array of
// its bytes, one too large as null, and a MESSAGE= sent more than once as an array of those
// values: then they are joined a line each, as journalctl -o cat prints them.
function messageText(m: unknown): string {
  if (typeof m === 'string') return m;
  if (!Array.isArray(m)) return '';
  if (m.every((b) => typeof b === 'number')) return Buffer.from(m as number[]).toString('utf8');
  return m.map(messageText).join('\n');
}

export async function logsRoute(paths: Paths, req: http.IncomingMessage, res: http.ServerResponse, name: string, params: URLSearchParams): Promise<void> {
  req.resume();
  if (req.method !== 'GET') return sendError(res, 'FAASS_E_METHOD_NOT_ALLOWED', `${req.method} is not allowed on /system/logs/${name}; use GET`, { allow: 'GET' });
  const q = logQuery(paths, name, params);
  if (readServeState(paths)) return serveTail(paths, res, q);
  // Before any await: a client that leaves during the check ends it, and no stream starts.
  const gone = new AbortController();
  res.once('close', () => gone.abort());
  const asked = Date.now();
  await journalReadable(q, gone.signal);
  if (gone.signal.aborted) return;
  streamJournal(paths, res, q, startAt(q, asked), gone.signal);
}

// Before the answer's status is sent: journalctl -n 0 opens the journal files as the real run
// will, and seeks the cursor. No journal file: 503 (never an empty 200 that reads as a function
// that logged nothing); a cursor journalctl cannot seek to: 400.
// Once `gone` aborts (the client left), the check is ended and resolves: nothing is sent.
function journalReadable(q: LogQuery, gone: AbortSignal): Promise<void> {
  const args = ['--no-pager', '-n', '0', ...(q.after ? [`--after-cursor=${q.after}`] : []), `_UID=${process.getuid?.() ?? 0}`];
  return new Promise((resolve, reject) => {
    if (gone.aborted) return resolve();
    const child = spawn('journalctl', args, { stdio: ['ignore', 'ignore', 'pipe'], signal: gone });
    let err = '';
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (d: string) => (err = (err + d).slice(0, 4096)));
    child.on('error', (e) => (gone.aborted ? resolve() : reject(new FaassError('FAASS_E_SYSTEMD_UNREACHABLE', `Cannot run journalctl: ${e.message}`))));
    child.on('close', (code) => {
      if (gone.aborted) resolve();
      else if (NO_JOURNAL.test(err)) reject(journalUnreadable(q.name));
      else if (/cursor/i.test(err)) reject(new FaassError('FAASS_E_USAGE', 'Invalid after: not a cursor of this journal'));
      else if (code !== 0) reject(new FaassError('FAASS_E_JOURNAL_UNREADABLE', `Cannot read the journal of ${q.name}: journalctl exited ${code}: ${err.trim().split('\n')[0]}`));
      else resolve();
    });
  });
}

// Where the lines start: after the client's cursor (the first `lines` of them; following, all,
// so a resumed stream has no gap: -n all, as -f alone means -n 10 however many came after the
// cursor); following with lines=0, at the time the request came (a
// line logged once the answer began is not missed while journalctl is still starting; by time,
// not by a cursor of the journal's last entry: journalctl orders by sequence numbers, which
// several journalds writing into one directory, as the test sandboxes do, make meaningless);
// or the last `lines`.
function startAt(q: LogQuery, asked: number): string[] {
  if (q.after) return [`--after-cursor=${q.after}`, '-n', q.follow ? 'all' : String(q.lines)];
  if (q.follow && q.lines === 0) return [`--since=@${(asked / 1000).toFixed(6)}`];
  return ['-n', String(q.lines)];
}

function startStream(res: http.ServerResponse): void {
  // No length: chunked, each line sent as it comes; nothing on the way may keep a copy.
  res.writeHead(200, { 'content-type': NDJSON, 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' });
  res.flushHeaders();
}

// journalctl -o json, its entries mapped as they come, with backpressure; ended by its PID when
// the client goes away (`gone`: follow=1 ends no other way).
function streamJournal(paths: Paths, res: http.ServerResponse, q: LogQuery, start: string[], gone: AbortSignal): void {
  const args = ['--no-pager', '-o', 'json', ...start, ...(q.follow ? ['-f'] : []), ...logMatch(paths, q.name)];
  const child = spawn('journalctl', args, { stdio: ['ignore', 'pipe', 'pipe'], signal: gone });
  startStream(res);
  // Paused once, resumed on one drain: a chunk of journalctl's holds many entries, and a listener
  // per refused write would pile up on a slow reader (MaxListenersExceededWarning).
  let paused = false;
  const lines = jsonLines((j) => {
    // journalctl --after-cursor can give the cursor's own entry again when the matches span
    // several journal files (a resumed console tail showed its last line twice): never here.
    if (q.after !== undefined && j.__CURSOR === q.after) return;
    if (!res.write(JSON.stringify(journalEntry(j)) + '\n') && !paused) {
      paused = true;
      child.stdout.pause();
      res.once('drain', () => {
        paused = false;
        child.stdout.resume();
      });
    }
  });
  child.stdout.on('data', (d: Buffer) => lines.write(d));
  let err = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (d: string) => (err = (err + d).slice(0, 4096)));
  child.on('error', () => undefined); // it started a moment ago (journalReadable), or the client left; 'close' ends the answer
  let asked = false; // the stream's end was ours (endLogTails, FOLLOW_MAX), not journalctl's own
  const end = () => {
    asked = true;
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
  };
  open.add(end);
  const cap = q.follow ? setTimeout(end, FOLLOW_MAX.ms) : undefined;
  child.on('close', (code, signal) => {
    open.delete(end);
    clearTimeout(cap);
    if (asked || gone.aborted || (code === 0 && !q.follow)) return void res.end();
    // Exited before it was asked to (a follow never does): said on the stream's last line, an
    // error answer's body {"error":{"code","message"}}, since the 200 is sent; a stream that just ends would pass for a tail that is merely over.
    const why = `journalctl ${code === null ? `was ended by ${signal}` : `exited ${code}`}${err.trim() ? `: ${err.trim().split('\n')[0]}` : ''}`;
    log.warning(`Log tail of ${q.name}: ${why}`);
    res.end(errorBody('FAASS_E_JOURNAL_UNREADABLE', `Cannot read the journal of ${q.name}: ${why}`));
  });
}

// Splits journalctl's output into JSON objects, one a line; a line that does not parse is skipped.
function jsonLines(emit: (j: Record<string, unknown>) => void): { write(d: Buffer): void } {
  let rest = '';
  return {
    write(d) {
      const parts = (rest + d.toString('utf8')).split('\n');
      rest = parts.pop() ?? '';
      if (rest.length > MAX_JSON_LINE) rest = '';
      for (const p of parts) {
        try {
          emit(JSON.parse(p) as Record<string, unknown>);
        } catch {
          // not an entry
        }
      }
    },
  };
}

// Under faassctl serve: its file's lines, their cursor "serve:TIME:N" (the Nth line of that
// millisecond), so after= works there too while the line is kept. Following, after= gives every
// line after the cursor (as the journal's -n all), and the follow goes on from where the read
// ended, with backpressure: a resumed stream has no gap.
async function serveTail(paths: Paths, res: http.ServerResponse, q: LogQuery): Promise<void> {
  const cursors = serveCursors();
  const read = readLogFiles(paths, q.name);
  const all = read.lines.flatMap((l) => serveEntry(l, cursors) ?? []);
  const from = q.after === undefined ? -1 : all.findIndex((e) => e.cursor > q.after!); // ISO times sort as text
  const after = from < 0 ? [] : all.slice(from, q.follow ? undefined : from + q.lines);
  const shown = q.after === undefined ? all.slice(Math.max(0, all.length - q.lines)) : after;
  startStream(res);
  res.write(shown.map((e) => JSON.stringify(e) + '\n').join(''));
  if (!q.follow) return void res.end();
  const stop = new AbortController();
  const end = () => stop.abort();
  open.add(end);
  res.once('close', end);
  const cap = setTimeout(end, FOLLOW_MAX.ms);
  await followLog(paths, q.name, (l) => LINE_RE.test(l), (s) => {
    const e = serveEntry(s.trimEnd(), cursors);
    if (!e || (q.after !== undefined && e.cursor <= q.after) || res.write(JSON.stringify(e) + '\n')) return;
    return drained(res, stop.signal);
  }, stop.signal, read.end);
  clearTimeout(cap);
  open.delete(end);
  res.end();
}

// When `res` takes writes again, or the stream is ended meanwhile; its listeners removed after.
function drained(res: http.ServerResponse, stop: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      res.off('drain', done);
      stop.removeEventListener('abort', done);
      resolve();
    };
    res.once('drain', done);
    stop.addEventListener('abort', done, { once: true });
  });
}

function serveCursors(): (time: string) => string {
  let last = '';
  let n = 0;
  return (time) => {
    n = time === last ? n + 1 : 0;
    last = time;
    return `serve:${time}:${String(n).padStart(6, '0')}`;
  };
}

function serveEntry(line: string, cursor: (time: string) => string): LogEntry | null {
  const m = LINE_RE.exec(line);
  if (!m) return null;
  return { time: m[1], priority: PRIORITY_LEVEL[m[4] ?? 'info'], unit: m[2], message: m[5], cursor: cursor(m[1]) };
}
