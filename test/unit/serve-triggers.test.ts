// faassctl serve's triggers (serve/triggers.ts and its parts): serve runs what the trigger units
// run (compared with the rendered units), a schedule's next elapse is systemd-analyze's, a drop
// that makes no progress backs off instead of spinning, a failed run is run again after the
// unit's RestartSec= with the same fire time. The programs here are stand-ins in a dist/ of the
// test's own, which note each run.
import t from 'tap';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { UnitContext, quote, renderDropService, renderNatsService, renderScheduleService } from '../../src/systemd/units';
import { buildSchedule } from '../../src/functions/schedules';
import { buildFileDrop } from '../../src/functions/file-drops';
import { buildNatsTrigger } from '../../src/functions/nats-triggers';
import { dropProgram, natsProgram, scheduleProgram } from '../../src/serve/trigger-programs';
import { nextElapse, parseNextElapses } from '../../src/systemd/calendar';
import { DropWatch, waiting, BACKOFF_FIRST_MS, RESTART_MS as DROP_RESTART_MS } from '../../src/serve/drops';
import { ScheduleTimer, RESTART_MS } from '../../src/serve/schedules';
import { nextRestartDelay, RESTART_FIRST_MS, RESTART_MAX_MS } from '../../src/serve/bridges';
import { globRegExp } from '../../src/functions/file-drops';
import { inboxOf } from '../../src/functions/outbox';
import { firedAt, SERVE_FIRE_ENV } from '../../src/queue/schedule-fire';
import { resolvePaths, Paths } from '../../src/core/paths';
import { LogFile } from '../../src/serve/log-files';

const ctx: UnitContext = { node: '/usr/bin/node', dist: '/home/u/.local/lib/faass/dist', proxyd: '/usr/lib/systemd/systemd-socket-proxyd', xdg: { config: '/home/u/.config', data: '/home/u/.local/share', state: '/home/u/.local/state' }, engine: '/var/run/docker.sock' };
const configDir = `${ctx.xdg.config}/faass`; // the Paths.configDir of that user

// Waits for an event, polling; a generous deadline fails the test with what it waited for.
async function waitFor(what: string, cond: () => boolean, ms: number): Promise<void> {
  for (const end = Date.now() + ms; !cond(); ) {
    if (Date.now() > end) throw new Error(`no ${what} within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const execStart = (unit: string) => /^ExecStart=(.*)$/m.exec(unit)?.[1];
const asExecStart = (p: { script: string; args: string[] }) => [ctx.node, p.script, ...p.args].map(quote).join(' ');

t.test('serve runs what each trigger unit runs', async (t) => {
  const s = buildSchedule('tick', { spec: 'hourly', tz: 'UTC' });
  const d = buildFileDrop('box', { watch: '/srv/in', pattern: '*.csv' });
  const n = buildNatsTrigger('fn', 'bus', { nats: 'nats://127.0.0.1:4222', subject: 'orders.new', stream: 'ORDERS' });
  t.equal(asExecStart(scheduleProgram(ctx.dist, 'fn', s)), execStart(renderScheduleService('fn', s, ctx)), 'a schedule');
  t.equal(asExecStart(dropProgram(ctx.dist, 'fn', d)), execStart(renderDropService('fn', d, ctx)), 'a file drop');
  t.equal(asExecStart(natsProgram(ctx.dist, configDir, 'fn', n, 77)), execStart(renderNatsService('fn', n, 77, ctx)), 'a NATS bridge, with its queue_max');
  const withUser = { ...n, auth: 'user' as const, user: 'svc' };
  t.equal(asExecStart(natsProgram(ctx.dist, configDir, 'fn', withUser, 77)), execStart(renderNatsService('fn', withUser, 77, ctx)), 'one that authenticates: its secret by path');
});

t.test("a schedule's next elapse is systemd-analyze's", async (t) => {
  const utcHost = `  Original form: hourly\nNormalized form: *-*-* *:00:00\n    Next elapse: Tue 2026-12-01 22:00:00 UTC\n       From now: 15min left\n`;
  const berlinHost = `Normalized form: *-*-* *:*:00/5 UTC\n    Next elapse: Tue 2026-12-01 22:44:30 CET\n       (in UTC): Tue 2026-12-01 21:44:30 UTC\n       From now: 1s left\n\nNormalized form: 2020-01-01 00:00:00 UTC\n    Next elapse: never\n`;
  t.same(parseNextElapses(utcHost), [Date.parse('2026-12-01T22:00:00Z')], 'on a UTC host');
  t.same(parseNextElapses(berlinHost), [Date.parse('2026-12-01T21:44:30Z'), null], "the UTC line where the host's zone is another; never as null");
  const base = Date.parse('2027-01-15T08:00:02.500Z');
  t.same(await nextElapse(['*-*-* *:*:00/5 UTC'], base), { at: Date.parse('2027-01-15T08:00:05Z') }, 'strictly after the base');
  t.same(await nextElapse(['*-*-* 03:00:00 Europe/Berlin', '*-*-* 08:30:00 UTC'], base), { at: Date.parse('2027-01-15T08:30:00Z') }, 'the earliest of the lines, each in its zone');
  t.same(await nextElapse(['*-*-* 03:00:00 Europe/Berlin'], base), { at: Date.parse('2027-01-16T02:00:00Z') }, "a zone's own 03:00");
  t.same(await nextElapse(['2020-01-01 00:00:00 UTC'], base), { at: null }, 'a date gone by never elapses');
  const bad = await nextElapse(['not a calendar'], base);
  t.ok('error' in bad && !bad.missing, 'a refused spec is an error');
  const pathWas = process.env.PATH;
  process.env.PATH = '/nonexistent';
  t.teardown(() => void (process.env.PATH = pathWas));
  const none = await nextElapse(['hourly'], base);
  process.env.PATH = pathWas;
  t.ok('error' in none && none.missing, 'no systemd-analyze: missing');
});

// A dist/ of stand-ins: each run appends a line (its start time, its fire time, its arguments)
// to runs.log; `code` decides how it exits.
function fakeDist(dir: string, code: string): { dist: string; runs: () => { at: number; fire: string; args: string }[] } {
  const dist = path.join(dir, 'dist');
  fs.mkdirSync(path.join(dist, 'queue'), { recursive: true });
  const log = path.join(dir, 'runs.log');
  const body = `const fs = require('fs');\nfs.appendFileSync(${JSON.stringify(log)}, JSON.stringify({ at: Date.now(), fire: process.env.FAASS_SERVE_TRIGGER_USEC || '', args: process.argv.slice(2).join(' ') }) + '\\n');\n${code}\n`;
  for (const f of ['schedule-main.js', 'drop-main.js', 'nats-main.js']) fs.writeFileSync(path.join(dist, 'queue', f), body);
  const runs = () => (fs.existsSync(log) ? fs.readFileSync(log, 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as { at: number; fire: string; args: string }) : []);
  return { dist, runs };
}

function tmpPaths(t: { teardown(f: () => void): void }): { dir: string; paths: Paths; log: LogFile } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'faass-serve-trig-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const paths = resolvePaths({ HOME: dir, XDG_CONFIG_HOME: path.join(dir, 'c'), XDG_DATA_HOME: path.join(dir, 'd'), XDG_STATE_HOME: path.join(dir, 's'), XDG_RUNTIME_DIR: path.join(dir, 'r') });
  const log = new LogFile(paths, 'fn');
  t.teardown(() => log.close());
  return { dir, paths, log };
}

t.test("a fire's time under serve is the one serve's timer hands over", async (t) => {
  t.equal(await firedAt('faass-fn-x-at-1.timer', 5, { [SERVE_FIRE_ENV]: '1800000000123456' }), 1800000000123, 'microseconds, as LastTriggerUSec');
  t.equal(await firedAt('faass-fn-x-at-1.timer', 5, { [SERVE_FIRE_ENV]: 'soon' }), 5, 'not a number: as without it (no manager here: now)');
});

t.test('what a drop waits for: pattern, no hidden names, settled marks', async (t) => {
  const { dir } = tmpPaths(t);
  const watch = path.join(dir, 'in');
  const settled = path.join(dir, 'settled');
  fs.mkdirSync(watch);
  fs.mkdirSync(settled);
  const csv = globRegExp('*.csv');
  t.equal(waiting(watch, csv, settled), '', 'an empty directory: nothing');
  fs.writeFileSync(path.join(watch, '.a.csv.part'), 'x');
  fs.writeFileSync(path.join(watch, 'b.txt'), 'x');
  t.equal(waiting(watch, csv, settled), '', 'a hidden name and one the pattern does not take: nothing');
  fs.writeFileSync(path.join(watch, 'c.csv'), 'x');
  const one = waiting(watch, csv, settled);
  t.not(one, '', 'a matching name waits');
  fs.writeFileSync(path.join(settled, 'entry'), 'done');
  t.not(waiting(watch, csv, settled), one, 'a settled mark is more waiting');
  t.equal(waiting(path.join(dir, 'gone'), csv, path.join(dir, 'gone2')), '', 'directories not there: nothing');
});

t.test("a call's closed outbox waits as a dropped file does (the path unit's in/* glob); an open one does not", async (t) => {
  const { dir } = tmpPaths(t);
  const watch = path.join(dir, 'in');
  const settled = path.join(dir, 'settled');
  fs.mkdirSync(path.join(inboxOf(watch), '.open-1-call1'), { recursive: true });
  fs.mkdirSync(settled);
  const csv = globRegExp('*.csv');
  t.equal(waiting(watch, csv, settled), '', 'an open outbox: its call runs');
  fs.mkdirSync(path.join(inboxOf(watch), '1-call2'));
  t.not(waiting(watch, csv, settled), '', 'a closed one waits for the drop to claim it');
});

t.test('a drop run that leaves the same files backs off, and says so once', async (t) => {
  const { dir, paths, log } = tmpPaths(t);
  const { dist, runs } = fakeDist(dir, 'process.exit(0);'); // claims nothing
  const watch = path.join(dir, 'in');
  fs.mkdirSync(watch);
  fs.writeFileSync(path.join(watch, 'stuck.txt'), 'x');
  const said: string[] = [];
  const d = new DropWatch(paths, 'fn', buildFileDrop('box', { watch }), { dist, log, say: (l) => said.push(l), changed: () => undefined });
  t.teardown(() => d.close());
  await waitFor('three runs', () => runs().length >= 3, 60000);
  const [a, b, c] = runs();
  t.equal(a.args, '--function fn --trigger box', "the drop service's arguments");
  t.ok(b.at - a.at >= BACKOFF_FIRST_MS, `a wait before the second run (${b.at - a.at} ms)`);
  t.ok(c.at - b.at >= 2 * BACKOFF_FIRST_MS, `a longer one before the third (${c.at - b.at} ms)`);
  t.equal(said.length, 1, 'one line for the stretch');
  t.match(said[0], /file drop box of fn: a run left the same files waiting/);
  await d.close();
  t.equal(d.pid, null, 'closed: nothing runs');
});

t.test('a failed run is run again after RestartSec=, a schedule with the same fire time', async (t) => {
  const { dir, paths, log } = tmpPaths(t);
  // Fails at its first run, succeeds after.
  const marker = path.join(dir, 'failed-once');
  const { dist, runs } = fakeDist(dir, `if (!fs.existsSync(${JSON.stringify(marker)})) { fs.writeFileSync(${JSON.stringify(marker)}, ''); process.exit(1); }`);
  const hooks = { dist, log, say: () => undefined, changed: () => undefined, missing: () => undefined };
  const s = new ScheduleTimer('fn', buildSchedule('tick', { spec: '*-*-* *:*:00/1', tz: 'UTC' }), hooks);
  t.teardown(() => s.close());
  await waitFor('the run again', () => runs().length >= 2, 30000);
  await s.close();
  const [first, again] = runs();
  t.equal(first.args, '--function fn --schedule tick', "the schedule service's arguments");
  t.match(first.fire, /^\d+000$/, 'the fire time, in microseconds');
  t.equal(again.fire, first.fire, 'the run again is the same fire (its call key repeats)');
  t.ok(again.at - first.at >= RESTART_MS, `after RestartSec= (${again.at - first.at} ms), the fires due meanwhile started nothing`);

  // A drop's run that fails: again after RestartSec= too.
  fs.rmSync(marker);
  fs.rmSync(path.join(dir, 'runs.log'));
  const watch = path.join(dir, 'in');
  fs.mkdirSync(watch);
  fs.writeFileSync(path.join(watch, 'f.txt'), 'x');
  const d = new DropWatch(paths, 'fn', buildFileDrop('box', { watch }), { ...hooks });
  t.teardown(() => d.close());
  await waitFor('the drop run again', () => runs().length >= 2, 30000);
  await d.close();
  const [x, y] = runs();
  t.ok(y.at - x.at >= DROP_RESTART_MS, `after RestartSec= (${y.at - x.at} ms)`);
});

t.test('a schedule fires at each elapse; without systemd-analyze it says so', async (t) => {
  const { dir, log } = tmpPaths(t);
  const { dist, runs } = fakeDist(dir, '');
  const s = new ScheduleTimer('fn', buildSchedule('tick', { spec: '*-*-* *:*:00/1', tz: 'UTC' }), { dist, log, say: () => undefined, changed: () => undefined, missing: () => undefined });
  t.teardown(() => s.close());
  await waitFor('two fires', () => runs().length >= 2, 30000);
  await s.close();
  const [a, b] = runs();
  t.ok(Number(b.fire) - Number(a.fire) >= 900_000, 'one fire per elapse (a second apart)');

  const pathWas = process.env.PATH;
  process.env.PATH = '/nonexistent';
  t.teardown(() => void (process.env.PATH = pathWas));
  let missing = 0;
  const m = new ScheduleTimer('fn', buildSchedule('x', { spec: 'hourly', tz: 'UTC' }), { dist, log, say: () => undefined, changed: () => undefined, missing: () => missing++ });
  t.teardown(() => m.close());
  await waitFor('the missing systemd-analyze to be reported', () => missing === 1, 10000);
  t.equal(missing, 1, 'without systemd-analyze: reported, nothing fires');
  process.env.PATH = pathWas;
});

t.test("a bridge's restarts back off while it keeps crashing", async (t) => {
  t.equal(nextRestartDelay(0, 10), RESTART_FIRST_MS, 'first: RestartSec=');
  t.equal(nextRestartDelay(RESTART_FIRST_MS, 10), 2 * RESTART_FIRST_MS, 'a crash soon after: doubled');
  t.equal(nextRestartDelay(RESTART_MAX_MS, 10), RESTART_MAX_MS, 'up to the most');
  t.equal(nextRestartDelay(RESTART_MAX_MS, 120000), RESTART_FIRST_MS, 'a crash after a long run starts over');
});
