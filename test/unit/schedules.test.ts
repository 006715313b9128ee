// Schedules (issue 14): cron lines translated to OnCalendar=, the spec rules, the schedules file,
// and the golden units of a schedule (its timer and its oneshot service).
import t from 'tap';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { cronToCalendar, specKind, calendarOf } from '../../src/functions/cron';
import * as os from 'node:os';
import { buildSchedule, parseSchedules, renderSchedules, onCalendar, nextId, saveSchedules } from '../../src/functions/schedules';
import { resolvePaths } from '../../src/core/paths';
import { renderAllUnits, UnitContext } from '../../src/systemd/units';
import { buildSettings } from '../../src/core/settings';
import { buildFunctionConfig } from '../../src/functions/function-config';
import { parseUsTimestamp } from '../../src/queue/schedule-fire';
import { ROOT } from '../support/root';
import { checkSchedule } from '../../src/functions/triggers';


t.test('cron lines as OnCalendar=', async (t) => {
  const cases: [string, string[]][] = [
    ['*/5 * * * *', ['*-*-* *:00/5:00']],
    ['0 * * * *', ['*-*-* *:00:00']],
    ['30 8-18/2 * * *', ['*-*-* 08..18/2:30:00']],
    ['0,15,45 * * * *', ['*-*-* *:00,15,45:00']],
    ['0 9 * * 1-5', ['Mon..Fri *-*-* 09:00:00']],
    ['0 9 * * MON-FRI', ['Mon..Fri *-*-* 09:00:00']],
    ['0 0 1 jan,jul *', ['*-01,07-01 00:00:00']],
    ['0 0 * * 0', ['Sun *-*-* 00:00:00']],
    ['0 0 * * 7', ['Sun *-*-* 00:00:00']],
    ['0 0 * * 5-7', ['Fri..Sun *-*-* 00:00:00']],
    ['0 0 * * 0-2', ['Mon,Tue,Sun *-*-* 00:00:00']],
    ['0 0 */2 * *', ['*-*-01/2 00:00:00']],
    ['0 0 * */3 *', ['*-01/3-* 00:00:00']],
    // Both restricted: cron runs on either; systemd ANDs, so two expressions.
    ['0 0 1,15 * 0', ['*-*-01,15 00:00:00', 'Sun *-*-* 00:00:00']],
    // One starts with '*': both must match (Vixie cron).
    ['0 0 */2 * 1', ['Mon *-*-01/2 00:00:00']],
    ['@hourly', ['*-*-* *:00:00']],
    ['@daily', ['*-*-* 00:00:00']],
    ['@midnight', ['*-*-* 00:00:00']],
    ['@weekly', ['Sun *-*-* 00:00:00']],
    ['@monthly', ['*-*-01 00:00:00']],
    ['@yearly', ['*-01-01 00:00:00']],
    ['@annually', ['*-01-01 00:00:00']],
  ];
  for (const [line, want] of cases) t.same(cronToCalendar(line), want, `${line} -> ${want.join(' | ')}`);
  for (const [line, why] of [
    ['60 * * * *', /minute 60 is outside 0-59/],
    ['* 24 * * *', /hour 24 is outside 0-23/],
    ['* * 0 * *', /day of month 0 is outside 1-31/],
    ['* * * 13 *', /month 13 is outside 1-12/],
    ['* * * * 8', /day of week 8 is outside 0-7/],
    ['* * * *', /expected five fields/],
    ['5-1 * * * *', /range 5-1 runs backwards/],
    ['*/0 * * * *', /step "0" is not a whole number above 0/],
    ['1/2/3 * * * *', /is not a minute, range or step/],
    ['@reboot', /@reboot has no time/],
    ['x * * * *', /"x" is not a minute/],
  ] as const) t.throws(() => cronToCalendar(line), { code: 'FAASS_E_CONFIG_INVALID', message: why }, `${line}: refused`);
});

t.test('a spec is a cron line or a calendar expression', async (t) => {
  for (const s of ['*/5 * * * *', '0 9 * * MON-FRI', '@daily']) t.equal(specKind(s), 'cron', s);
  for (const s of ['Mon..Fri *-*-* 09:00', 'hourly', '*:*:0/5', '*-*-* 00:00:00', 'Sat,Sun 10:00']) t.equal(specKind(s), 'calendar', s);
  t.same(calendarOf('  Mon..Fri *-*-* 09:00 '), ['Mon..Fri *-*-* 09:00'], 'a calendar expression goes as it is');
});

t.test('schedule rules', async (t) => {
  const s = buildSchedule('1', { spec: '*/5 * * * *', tz: 'Europe/Berlin', body: 'a=b\n"x"', overlap: 'skip', catch_up: 'none', jitter: '30s' });
  t.match(s, { id: '1', tz: 'Europe/Berlin', overlap: 'skip', catchUp: 'none', jitter: 30 });
  t.same(onCalendar(s), ['*-*-* *:00/5:00 Europe/Berlin'], 'the zone goes on every line');
  t.same(parseSchedules('f', renderSchedules('f', [s])), [s], 'the file reads back what was written, body and all');
  for (const body of ['\\;x', '\\\\"', '; not a comment', '# nor this', '[section]', 'é ✓ \u0000', '"quoted"', 'a\\nb']) {
    const b = buildSchedule('3', { spec: 'hourly', tz: 'UTC', body });
    t.equal(parseSchedules('f', renderSchedules('f', [b]))[0].body, body, `the body ${JSON.stringify(body)} reads back byte for byte`);
  }
  t.equal(parseSchedules('f', '[4]\nspec=hourly\ntz=UTC\nbody=by hand\n')[0].body, 'by hand', 'a plain body key, written by hand, is read');
  t.throws(() => parseSchedules('f', '[4]\nspec=hourly\ntz=UTC\nbody_base64=%%%\n'), { message: /Invalid body_base64 in schedule 4 of f/ });
  const d = buildSchedule('2', { spec: 'hourly' });
  t.match(d, { overlap: 'allow', catchUp: 'once', jitter: 0, body: '' }, 'defaults: allow, once, no jitter, empty body');
  t.ok(d.tz.length > 0, "the host's zone, written down");
  for (const [input, why] of [
    [{ spec: '*:*:0/5', tz: 'Europe/Berlin; rm' }, /Invalid time zone/],
    [{ spec: '*:*:0/5', tz: '../x' }, /Invalid time zone/],
    [{ spec: '%h *-*-* 00:00' }, /% \\ and quotes/],
    [{ spec: 'hourly\nOnCalendar=minutely' }, /control characters/],
    [{ spec: 'hourly', overlap: 'maybe' }, /expected one of allow, skip/],
    [{ spec: 'hourly', catch_up: 'all' }, /expected one of once, none/],
    [{ spec: 'hourly', jitter: 'soon' }, /Invalid jitter/],
    [{ spec: 'hourly', body: 'x'.repeat(64 * 1024 + 1) }, /at most 64 KiB/],
    [{}, /spec is required/],
  ] as const) t.throws(() => buildSchedule('1', input), { code: 'FAASS_E_CONFIG_INVALID', message: why }, `${JSON.stringify(input).slice(0, 60)}: refused`);
  t.throws(() => buildSchedule('Bad-Id', { spec: 'hourly' }), { code: 'FAASS_E_USAGE' }, 'an id is 1-16 lowercase letters and digits');
  t.throws(() => parseSchedules('f', '[1]\nspec=hourly\ncolor=red\n'), { message: /Unknown key "color"/ });
  t.equal(nextId([s, d]), '3');
  t.equal(nextId([d]), '1', 'the smallest free number');
});

t.test("the timer's last elapse, as systemctl shows it", async (t) => {
  t.equal(parseUsTimestamp('Tue 2026-12-01 18:47:50.069123 UTC\n'), Date.parse('2026-12-01T18:47:50.069Z'));
  t.equal(parseUsTimestamp('n/a'), null);
  t.equal(parseUsTimestamp(''), null);
});

t.test('golden units of a schedule', async (t) => {
  const ctx: UnitContext = { node: '/usr/bin/node', dist: '/home/u/.local/lib/faass/dist', proxyd: '/usr/lib/systemd/systemd-socket-proxyd', xdg: { config: '/home/u/.config', data: '/home/u/.local/share', state: '/home/u/.local/state' }, engine: '/var/run/docker.sock' };
  const fn = buildFunctionConfig('report', { runtime: 'exec', command: 'cat' });
  const both = buildSchedule('1', { spec: '0 0 1,15 * 0', tz: 'Europe/Berlin', overlap: 'skip', catch_up: 'none', jitter: '30s' });
  const units = renderAllUnits(buildSettings({ listen: '127.0.0.1:8080' }), [fn], ctx, { report: [{ schedule: both, onCalendar: onCalendar(both) }] });
  const golden = path.join(ROOT, 'test', 'golden');
  for (const file of ['faass-fn-report-at-1.timer', 'faass-fn-report-at-1.service']) {
    t.ok(file in units, `${file} is rendered`);
    if (process.env.UPDATE_GOLDEN) fs.writeFileSync(path.join(golden, file), units[file]);
    else t.equal(units[file], fs.readFileSync(path.join(golden, file), 'utf8'), `${file} matches its golden file`);
  }
  t.match(units['faass-fn-report-at-1.timer'], /^OnCalendar=\*-\*-01,15 00:00:00 Europe\/Berlin\nOnCalendar=Sun \*-\*-\* 00:00:00 Europe\/Berlin\nAccuracySec=1s\nPersistent=no\nRandomizedDelaySec=30s$/m, "cron's OR as two lines, on time to the second, no catch-up, jitter");
  t.match(units['faass-fn-report-at-1.service'], /^Type=oneshot$/m);
  t.match(units['faass-fn-report-at-1.service'], /^ReadWritePaths=-\/home\/u\/\.local\/state\/faass\/queue$/m, 'it may write the queue only');
  t.equal(units['faass-fn-report-at-1.service'].match(/^ReadWritePaths=/gm)?.length, 1);
  if (process.env.UPDATE_GOLDEN) t.fail('UPDATE_GOLDEN: rewrote the schedule golden files; review and run again');
});

// systemd-analyze judges a spec; one that starts like an option must be judged as a spec, not run
// as the option (`-h` printed the help and exited 0: taken, and the timer never loaded).
t.test('a spec that reads like an option of systemd-analyze is judged as a spec', async (t) => {
  for (const spec of ['-h', '--help', '-q', '--version']) {
    await t.rejects(checkSchedule('1', { spec, tz: 'UTC' }), { code: 'FAASS_E_SCHEDULE_INVALID', message: /Invalid schedule/ }, `${spec} refused`);
  }
  const ok = await checkSchedule('1', { spec: '*-*-* 03:00', tz: 'UTC' });
  t.ok(ok.next, 'a real one still says when it fires');
});

// A cron line cron takes but that names no real day, or a date gone by, would be a timer that
// never fires, added without a word: refused, saying so.
t.test('a schedule that never fires is refused', async (t) => {
  for (const spec of ['0 0 31 2 *', '0 0 30 2 *', '2020-01-01 00:00:00']) {
    await t.rejects(checkSchedule('1', { spec, tz: 'UTC' }), { code: 'FAASS_E_SCHEDULE_INVALID', message: /never fires/ }, `${spec} refused`);
  }
  const leap = await checkSchedule('1', { spec: '0 0 29 2 *', tz: 'UTC' });
  t.ok(leap.next, 'Feb 29 fires (in a leap year)');
  const either = await checkSchedule('1', { spec: '0 0 31 2 5', tz: 'UTC' });
  t.ok(either.next, 'no Feb 31, but cron also runs it on Fridays: fires');
});
