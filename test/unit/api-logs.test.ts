// GET /system/logs/NAME (api/logs.ts) in-process, with a journalctl of the test's own first on
// PATH, and under a stand-in for faassctl serve (its log files): the mapping of a journal entry,
// the checks of the query, the unreadable journal, and a follow stream's end with its client.
import t from 'tap';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawn } from 'node:child_process';
import { AddressInfo } from 'node:net';
import { FOLLOW_MAX, journalEntry } from '../../src/api/logs';
import { apiHandler } from '../../src/api/handlers';
import { Paths, resolvePaths, functionConfPath } from '../../src/core/paths';
import { buildFunctionConfig, renderFunctionConfig } from '../../src/functions/function-config';
import { writeServeState } from '../../src/systemd/serve-link';
import { serveLogPath } from '../../src/serve/log-files';

function tmpPaths(t: { teardown(f: () => void): void }): Paths {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'faass-api-logs-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const p = resolvePaths({ HOME: dir, XDG_CONFIG_HOME: dir, XDG_STATE_HOME: dir, XDG_DATA_HOME: dir, XDG_RUNTIME_DIR: dir });
  fs.mkdirSync(path.dirname(functionConfPath(p, 'fn')), { recursive: true });
  fs.writeFileSync(functionConfPath(p, 'fn'), renderFunctionConfig(buildFunctionConfig('fn', { runtime: 'exec', command: 'cat' })));
  return p;
}

// A journalctl of the test's own, first on PATH (a shell script's text).
function fakeJournalctl(t: { teardown(f: () => void): void }, script: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'faass-api-logs-bin-'));
  fs.writeFileSync(path.join(dir, 'journalctl'), `#!/bin/sh\n${script}\n`, { mode: 0o755 });
  const before = process.env.PATH;
  process.env.PATH = `${dir}:${before}`;
  t.teardown(() => {
    process.env.PATH = before;
    fs.rmSync(dir, { recursive: true, force: true });
  });
  return dir;
}

async function api(t: { teardown(f: () => void): void }, paths: Paths): Promise<number> {
  const server = http.createServer(apiHandler(paths));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => server.close());
  return (server.address() as AddressInfo).port;
}

// An answer read as it comes; done when it ends.
function open(port: number, p: string): Promise<{ status: number; text: () => string; done: Promise<void>; close(): void }> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path: p, agent: false }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (text += d));
      const done = new Promise<void>((r) => res.on('close', r));
      resolve({ status: res.statusCode ?? 0, text: () => text, done, close: () => req.destroy() });
    });
    req.on('error', reject);
  });
}

// Polls for the event itself; the deadline (60 s) only bounds a stuck test on a busy machine.
async function until(what: string, cond: () => boolean, deadlineMs = 60_000): Promise<void> {
  const end = Date.now() + deadlineMs;
  while (!cond() && Date.now() < end) await new Promise((r) => setTimeout(r, 25));
  if (!cond()) throw new Error(`Timed out after ${deadlineMs} ms waiting for ${what}`);
}

t.test('a journal entry as the API shows it', async (t) => {
  const base = { __REALTIME_TIMESTAMP: '1796179685037980', __CURSOR: 's=1;i=2', PRIORITY: '4', _SYSTEMD_USER_UNIT: 'faass-fn-fn.service' };
  t.same(journalEntry({ ...base, MESSAGE: 'hello' }), { time: '2026-12-02T02:48:05.037Z', priority: 4, unit: 'faass-fn-fn.service', message: 'hello', cursor: 's=1;i=2' });
  t.equal(journalEntry({ ...base, MESSAGE: [...Buffer.from('caf\u00e9 \u0007bell')] }).message, 'caf\u00e9 \u0007bell', 'bytes (journald gives an array) decoded as UTF-8');
  t.equal(journalEntry({ ...base, MESSAGE: ['one', [...Buffer.from('tw\u00f6')], 'three'] }).message, 'one\ntw\u00f6\nthree', 'MESSAGE= given three times: each, a line each');
  t.equal(journalEntry({ ...base, MESSAGE: null }).message, '', 'a message too large for journalctl: empty, not "null"');
  t.equal(journalEntry({ ...base, PRIORITY: 'x', MESSAGE: 'm' }).priority, 6, 'no priority: info');
  t.equal(journalEntry({ ...base, _SYSTEMD_USER_UNIT: 'init.scope', USER_UNIT: 'faass-fn-fn.service', MESSAGE: 'Started' }).unit, 'faass-fn-fn.service', "a manager's line: the unit it is about");
});

t.test('the query is checked before journalctl runs', async (t) => {
  fakeJournalctl(t, 'echo ran >&2; exit 1');
  const port = await api(t, tmpPaths(t));
  const status = async (q: string) => {
    const r = await open(port, q);
    await r.done;
    return [r.status, JSON.parse(r.text()).error.code as string];
  };
  for (const q of ['lines=1001', 'lines=', 'lines=1e3', 'follow=true', 'after=a%20b']) t.same(await status(`/system/logs/fn?${q}`), [400, 'FAASS_E_USAGE'], q);
  t.same(await status('/system/logs/nosuch'), [404, 'FAASS_E_FUNCTION_NOT_FOUND']);
  t.same(await status('/system/logs/Bad%20Name'), [400, 'FAASS_E_NAME_INVALID']);
  t.same(await status('/system/logs/gateway'), [503, 'FAASS_E_JOURNAL_UNREADABLE'], 'gateway is a name it takes (then journalctl fails here)');
});

t.test('no journal file: 503 with faassctl logs\'s message, not an empty stream', async (t) => {
  fakeJournalctl(t, "echo 'No journal files were opened due to insufficient permissions.' >&2; exit 0");
  const port = await api(t, tmpPaths(t));
  for (const q of ['', '?follow=1']) {
    const r = await open(port, `/system/logs/fn${q}`);
    await r.done;
    t.equal(r.status, 503, `503${q}`);
    t.match(JSON.parse(r.text()).error, { code: 'FAASS_E_JOURNAL_UNREADABLE', message: /^Cannot read the journal of fn: journalctl opened no journal file/ });
  }
});

t.test('follow=1: journalctl ends (by its PID) when the client goes away', async (t) => {
  const pidFile = path.join(os.tmpdir(), `faass-api-logs-${process.pid}.pid`);
  t.teardown(() => fs.rmSync(pidFile, { force: true }));
  const entry = JSON.stringify({ __REALTIME_TIMESTAMP: '1796179685037980', __CURSOR: 'c1', PRIORITY: '6', _SYSTEMD_USER_UNIT: 'faass-fn-fn.service', MESSAGE: 'first' });
  // The check run (-n 0) prints nothing; the real one its entry, then, following, waits.
  fakeJournalctl(t, `case " $* " in *" -f "*) echo $$ > ${pidFile}; echo '${entry}'; exec sleep 600;; *" -o json "*) echo '${entry}';; esac`);
  const port = await api(t, tmpPaths(t));
  const r = await open(port, '/system/logs/fn?follow=1');
  t.equal(r.status, 200);
  await until('the first line', () => r.text().includes('"first"'));
  const pid = Number(fs.readFileSync(pidFile, 'utf8'));
  t.teardown(() => {
    try {
      process.kill(pid); // only when the code under test left it running
    } catch {
      // gone, as it should be
    }
  });
  t.doesNotThrow(() => process.kill(pid, 0), 'journalctl runs while the client reads');
  r.close();
  await until('journalctl gone', () => {
    try {
      process.kill(pid, 0);
      return false;
    } catch {
      return true;
    }
  });
  t.pass('gone once the client went away');
});

t.test('under faassctl serve: its log files, with cursors, followed', async (t) => {
  const paths = tmpPaths(t);
  // A stand-in for a running serve: readServeState takes a live process with "serve" in its argv.
  const serve = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1e6)', 'serve'], { stdio: 'ignore' });
  t.teardown(() => void serve.kill());
  writeServeState(paths, { pid: serve.pid as number, started: '', listen: '', api: true, programs: [], functions: [], scanned: 0 });
  const file = serveLogPath(paths, 'fn');
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const lines = ['2026-12-01T10:00:00.000Z fn[7]: err: one', '2026-12-01T10:00:00.000Z fn[7]: two', 'not a log line', '2026-12-01T10:00:01.000Z fn[7]: three'];
  fs.writeFileSync(file, lines.map((l) => l + '\n').join(''));
  const port = await api(t, paths);
  const read = async (q: string) => {
    const r = await open(port, `/system/logs/fn${q}`);
    await r.done;
    return r.text().split('\n').filter(Boolean).map((l) => JSON.parse(l) as { message: string; priority: number; unit: string; cursor: string; time: string });
  };
  const all = await read('');
  t.same(all.map((e) => [e.message, e.priority, e.unit, e.time]), [['one', 3, 'fn', '2026-12-01T10:00:00.000Z'], ['two', 6, 'fn', '2026-12-01T10:00:00.000Z'], ['three', 6, 'fn', '2026-12-01T10:00:01.000Z']]);
  t.same((await read('?lines=1')).map((e) => e.message), ['three']);
  t.same((await read(`?after=${encodeURIComponent(all[0].cursor)}`)).map((e) => e.message), ['two', 'three'], 'after the first line of the same millisecond');
  // Resumed while following: every line after the cursor (not the first `lines` of them, then
  // the file's end), then what comes.
  const resumed = await open(port, `/system/logs/fn?lines=1&follow=1&after=${encodeURIComponent(all[0].cursor)}`);
  fs.appendFileSync(file, '2026-12-01T10:00:01.500Z fn[7]: three and a half\n');
  await until('the appended line', () => resumed.text().includes('"three and a half"'));
  resumed.close();
  await resumed.done;
  t.same(resumed.text().split('\n').filter(Boolean).map((l) => JSON.parse(l).message), ['two', 'three', 'three and a half'], 'resumed: no gap');
  const r = await open(port, `/system/logs/fn?lines=0&follow=1&after=${encodeURIComponent(all[2].cursor)}`);
  t.equal(r.status, 200);
  fs.appendFileSync(file, '2026-12-01T10:00:02.000Z fn[7]: warning: four\n');
  await until('the new line', () => r.text().includes('"four"'));
  t.same(r.text().split('\n').filter(Boolean).map((l) => JSON.parse(l).message), ['three and a half', 'four'], 'after three: the rest, then the new');
  t.match(JSON.parse(r.text().trim().split('\n').pop()!), { message: 'four', priority: 4 });
  r.close();
  await r.done;
});

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

t.test('a client that leaves during the journal check ends the check, and no journalctl -f starts', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'faass-api-logs-check-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  // The check (-n 0) hangs, as on a slow journal; the real run would leave a mark.
  fakeJournalctl(t, `case " $* " in *" -n 0 "*) echo $$ > ${dir}/check.pid; exec sleep 600;; *) touch ${dir}/followed; exec sleep 600;; esac`);
  const port = await api(t, tmpPaths(t));
  const req = http.get({ host: '127.0.0.1', port, path: '/system/logs/fn?follow=1', agent: false });
  req.on('error', () => undefined);
  await until('the check running', () => fs.existsSync(`${dir}/check.pid`) && fs.readFileSync(`${dir}/check.pid`, 'utf8').endsWith('\n'));
  const pid = Number(fs.readFileSync(`${dir}/check.pid`, 'utf8'));
  t.teardown(() => void (alive(pid) && process.kill(pid)));
  req.destroy();
  await until('the check gone', () => !alive(pid));
  // The API had its chance to start the stream: the check's end is what it awaited.
  await new Promise((r) => setImmediate(r));
  t.notOk(fs.existsSync(`${dir}/followed`), 'no journalctl -f for a client that left');
});

// An entry of the fake journalctls below, its message and cursor "cN".
const fakeEntry = (n: number, message = `line ${n}`): string => JSON.stringify({ __REALTIME_TIMESTAMP: '1796179685037980', __CURSOR: `c${n}`, PRIORITY: '6', _SYSTEMD_USER_UNIT: 'faass-fn-fn.service', MESSAGE: message });

t.test('follow=1&after=C: every line after the cursor, not the last 10', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'faass-api-logs-after-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  fs.writeFileSync(path.join(dir, 'entries'), Array.from({ length: 30 }, (_, i) => fakeEntry(i + 1) + '\n').join(''));
  // As journalctl: -f without -n shows the last 10 (of the 30 after the cursor), then waits.
  fakeJournalctl(t, `n=10; for a in "$@"; do [ "$prev" = -n ] && n=$a; prev=$a; done
case " $* " in *" -n 0 "*) exit 0;; esac
if [ "$n" = all ]; then cat ${dir}/entries; else tail -n "$n" ${dir}/entries; fi
case " $* " in *" -f "*) exec sleep 600;; esac`);
  const port = await api(t, tmpPaths(t));
  const r = await open(port, '/system/logs/fn?follow=1&lines=5&after=c0');
  t.equal(r.status, 200);
  await until('the last line', () => r.text().includes('"line 30"'));
  r.close();
  await r.done;
  t.same(r.text().split('\n').filter(Boolean).map((l) => JSON.parse(l).message), Array.from({ length: 30 }, (_, i) => `line ${i + 1}`), 'all 30, in order');
});

t.test('a slow reader: backpressure without a drain listener per line, and every line arrives', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'faass-api-logs-slow-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const count = 4000;
  const big = 'x'.repeat(4000); // 16 MB in all: more than the sockets' buffers hold
  fs.writeFileSync(path.join(dir, 'entries'), Array.from({ length: count }, (_, i) => fakeEntry(i + 1, `${i + 1} ${big}`) + '\n').join(''));
  fakeJournalctl(t, `case " $* " in *" -n 0 "*) exit 0;; esac; cat ${dir}/entries`);
  const warnings: string[] = [];
  const onWarning = (w: Error) => warnings.push(w.name);
  process.on('warning', onWarning);
  t.teardown(() => void process.off('warning', onWarning));
  const handler = apiHandler(tmpPaths(t));
  let answer: http.ServerResponse | undefined;
  const server = http.createServer((req, res) => handler(req, (answer = res)));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => server.close());
  const port = (server.address() as AddressInfo).port;
  const got = await new Promise<{ n: number; last: string }>((resolve, reject) => {
    http.get({ host: '127.0.0.1', port, path: '/system/logs/fn?lines=1000', agent: false }, (res) => {
      res.pause(); // a reader that does not read yet: the API's writes are refused
      let n = 0;
      let rest = '';
      let last = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => {
        const parts = (rest + d).split('\n');
        rest = parts.pop() ?? '';
        n += parts.length;
        if (parts.length) last = (JSON.parse(parts[parts.length - 1]) as { message: string }).message.split(' ')[0];
      });
      res.on('end', () => resolve({ n, last }));
      // Read once the API's writes are refused (its buffers full), and stay so a while.
      until("the API's writes refused", () => answer?.writableNeedDrain === true)
        .then(() => new Promise((r) => setTimeout(r, 500)))
        .then(() => res.resume(), reject);
    }).on('error', reject);
  });
  t.same(got, { n: count, last: String(count) }, 'every line, in order, to the last');
  t.same(warnings.filter((w) => w === 'MaxListenersExceededWarning'), [], 'no MaxListenersExceededWarning');
});

t.test('a broken %-escape in the path: 400 FAASS_E_USAGE, not a 500, on every route', async (t) => {
  fakeJournalctl(t, 'exit 1');
  const port = await api(t, tmpPaths(t));
  for (const p of ['/system/logs/%E0', '/system/logs/fn%', '/system/function/%E0%A0/versions', '/system/function/%FF']) {
    const r = await open(port, p);
    await r.done;
    t.equal(r.status, 400, p);
    t.match(JSON.parse(r.text()).error, { code: 'FAASS_E_USAGE', message: /^Invalid path .*: a %-escape that is not UTF-8/ }, p);
  }
});

t.test('a journalctl that exits early: the stream ends with an {"error"} line, not as if over', async (t) => {
  fakeJournalctl(t, `case " $* " in *" -n 0 "*) exit 0;; esac; echo '${fakeEntry(1)}'; echo 'Failed to iterate through journal: Bad message' >&2; exit 1`);
  const port = await api(t, tmpPaths(t));
  for (const q of ['?follow=1', '']) {
    const r = await open(port, `/system/logs/fn${q}`);
    await r.done;
    t.equal(r.status, 200, `the stream had begun${q}`);
    const lines = r.text().split('\n').filter(Boolean).map((l) => JSON.parse(l));
    t.equal(lines[0].message, 'line 1', 'the line before it');
    t.same(lines.slice(1), [{ error: { code: 'FAASS_E_JOURNAL_UNREADABLE', message: 'Cannot read the journal of fn: journalctl exited 1: Failed to iterate through journal: Bad message' } }], `then the error, last${q}`);
  }
});

t.test("a follow stream ends by itself after FOLLOW_MAX, whole and with journalctl gone (then after= authorizes again)", async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'faass-api-logs-cap-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const before = FOLLOW_MAX.ms;
  FOLLOW_MAX.ms = 1000;
  t.teardown(() => void (FOLLOW_MAX.ms = before));
  fakeJournalctl(t, `case " $* " in *" -n 0 "*) exit 0;; esac; echo $$ > ${dir}/pid; echo '${fakeEntry(1)}'; exec sleep 600`);
  const port = await api(t, tmpPaths(t));
  const r = await open(port, '/system/logs/fn?follow=1');
  let ended = false;
  void r.done.then(() => (ended = true));
  await until('the stream ended by the server', () => ended);
  const pid = Number(fs.readFileSync(`${dir}/pid`, 'utf8'));
  t.teardown(() => void (alive(pid) && process.kill(pid)));
  t.same(r.text().split('\n').map((l) => (l ? JSON.parse(l).message : l)), ['line 1', ''], 'its line, whole, and no error line');
  await until('journalctl gone', () => !alive(pid));
});

// journalctl --after-cursor=C can print C's own entry first when its matches span several
// journal files: the route never passes the line it resumes after.
t.test('after=CURSOR: the cursor\'s own entry is left out even when journalctl gives it', async (t) => {
  const entry = (c: string, m: string) => JSON.stringify({ __REALTIME_TIMESTAMP: '1796179685037980', __CURSOR: c, PRIORITY: '6', _SYSTEMD_USER_UNIT: 'faass-fn-fn.service', MESSAGE: m });
  fakeJournalctl(t, `case " $* " in *" -n 0 "*) ;; *) echo '${entry('c1', 'first')}'; echo '${entry('c2', 'second')}';; esac`);
  const port = await api(t, tmpPaths(t));
  const r = await open(port, '/system/logs/fn?lines=50&after=c1');
  t.equal(r.status, 200);
  await r.done;
  t.same(r.text().trim().split('\n').map((l) => (JSON.parse(l) as { message: string }).message), ['second'], 'only what came after the cursor');
});
