// Schedules (issue 14): a function's timer queues one asynchronous call per fire, delivered by
// the dispatcher; nothing of faass runs between fires; overlap=skip skips while the previous call
// runs and says so; an invalid spec is refused with systemd's reason; a delete takes the timers.
// Seconds-based calendars, so the file waits seconds, not minutes.
import t from 'tap';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { startSandbox, setupGateway, writeFixture, waitFor, faassPids, unitState, TEST_USER, Sandbox } from '../support/sandbox';

interface Row {
  schedule: string;
  at: string;
  call?: string;
  skipped?: string;
  state?: string;
  status?: number;
}

const history = async (sb: Sandbox, name: string): Promise<Row[]> => {
  const r = await sb.faassctl('trigger', 'history', name, '--json', '--lines', '100');
  return r.code === 0 ? (JSON.parse(r.stdout) as Row[]).reverse() : [];
};

// Says where the call came from, on stderr (its journal) and stdout.
const TICK = '#!/bin/sh\necho "tick trigger=$Http_X_Faass_Trigger id=$Http_X_Faass_Trigger_Id scheduled=$Http_X_Faass_Scheduled_Time body=$(cat)" >&2\necho ok\n';

t.test('schedules', async (t) => {
  const sb = await startSandbox(t, { user: TEST_USER });
  await setupGateway(sb, 1);
  const unitFile = (u: string) => path.join(sb.env.XDG_CONFIG_HOME as string, 'systemd', 'user', u);

  t.test('an invalid spec is refused with systemd reason, nothing written', async (t) => {
    t.equal((await sb.faassctl('deploy', 'tick', '--runtime', 'exec', '--from-file', writeFixture(sb, 'tick.sh', TICK, 0o755), '--idle', '1')).code, 0);
    for (const [args, why] of [
      [['--schedule', '*-*-* 25:00'], /^faassctl: Invalid schedule: Failed to parse calendar specification '\*-\*-\* 25:00 \S+': Invalid argument; nothing was written \(FAASS_E_SCHEDULE_INVALID\)\n$/],
      [['--schedule', '*:*:0/10', '--tz', 'Mars/Olympus'], /^faassctl: Invalid schedule: Failed to parse calendar specification '\*:\*:0\/10 Mars\/Olympus': Invalid argument; nothing was written \(FAASS_E_SCHEDULE_INVALID\)\n$/],
      [['--schedule', '61 * * * *'], /^faassctl: Invalid cron line "61 \* \* \* \*": minute 61 is outside 0-59 \(FAASS_E_CONFIG_INVALID\)\n$/],
    ] as const) {
      const r = await sb.faassctl('trigger', 'add', 'tick', ...args);
      t.equal(r.code, 2, `${args.join(' ')}: exit 2`);
      t.match(r.stderr, why, 'one line on stderr, with the reason');
    }
    t.notOk(fs.existsSync(path.join(sb.env.XDG_CONFIG_HOME as string, 'faass', 'functions', 'tick.schedules')), 'nothing was written');
    t.match((await sb.faassctl('trigger', 'ls', 'tick')).stdout, /^No triggers for tick\n$/);
  });

  t.test('a calendar schedule fires three times in a row, a call each, nothing running between fires', async (t) => {
    const add = await sb.faassctl('trigger', 'add', 'tick', '--schedule', '*:*:0/10', '--tz', 'UTC', '--body', 'hello');
    t.equal(add.code, 0, add.stderr);
    t.match(add.stdout, /^Added schedule 1 of tick: OnCalendar=\*:\*:0\/10 UTC \(time zone UTC; overlap allow, catch-up once\); next fire .+; units: 2 written/, 'says what it added and when it fires');
    t.match(await unitState(sb, 'faass-fn-tick-at-1.timer'), /^active\/(waiting|running)$/, 'its timer is active (waiting, or running a fire: every 10 s, one can be due as it is added)');
    const idle: number[] = [];
    for (let n = 1; n <= 3; n++) {
      await waitFor(`fire ${n} done`, async () => (await history(sb, 'tick')).filter((h) => h.state === 'done').length >= n, 60000);
      await waitFor(`no faass process after fire ${n}`, () => faassPids(sb).length === 0, 30000);
      idle.push(Date.now());
    }
    const fires = (await history(sb, 'tick')).slice(0, 3);
    t.equal(fires.length, 3);
    t.equal(new Set(fires.map((f) => f.call)).size, 3, 'each fire queued a call of its own');
    for (const [i, f] of fires.entries()) {
      t.match(f, { schedule: '1', state: 'done', status: 200 }, `fire ${i + 1}: delivered, answered 200`);
      // How late after the calendar's time (a multiple of 10 s) the timer elapsed: AccuracySec=1s
      // (bounded loosely: the machine is shared; the figure is printed for the note).
      const late = Date.parse(f.at) % 10000;
      t.comment(`fire ${i + 1} at ${f.at}: ${late} ms after its calendar time`);
      t.ok(late < 5000, `fire ${i + 1} at ${f.at}: at its calendar time (a multiple of 10 s), not a fire of its own`);
      if (i > 0) t.ok(Date.parse(f.at) > idle[i - 1] - 1000, `fire ${i + 1} came after nothing of faass ran`);
    }
    const logs = (await sb.faassctl('logs', 'tick', '--call', String(fires[0].call))).stdout;
    t.match(logs, new RegExp(`tick trigger=schedule id=1 scheduled=${fires[0].at.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} body=hello`), 'the call says where it came from and when, with the body');
    t.match(logs, new RegExp(`schedule=1 function=tick fire at \\S+: queued call=${fires[0].call}`), "and the fire's journal line is in the function's logs, for that call");
    const ls = (await sb.faassctl('trigger', 'ls')).stdout;
    t.match(ls, /^FUNCTION\s+ID\s+SPEC\s+ONCALENDAR\s+ZONE\s+NEXT\s+LAST\ntick\s+1\s+\*:\*:0\/10\s+\*:\*:0\/10\s+UTC\s+\w{3} \d{4}-\d\d-\d\d \d\d:\d\d:\d0 UTC\s+\w{3} \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC\n$/, 'trigger ls: next and last fire, from the timer');
    const hist = await sb.faassctl('trigger', 'history', 'tick', '1');
    t.match(hist.stdout, new RegExp(`schedule 1  call ${fires[0].call}  done  HTTP 200  \\d+\\.\\d{3}s\\n`), 'trigger history: time, call, status, duration');
    t.match(hist.stdout, /faassctl logs tick --call ID\n$/, 'and the way to its logs');
    t.equal((await sb.faassctl('trigger', 'rm', 'tick', '1')).code, 0);
    t.notOk(fs.existsSync(unitFile('faass-fn-tick-at-1.timer')), 'trigger rm: its timer file is gone');
    t.match(await unitState(sb, 'faass-fn-tick-at-1.timer'), /^inactive\/dead$/, 'and it is stopped');
  });

  t.test('overlap=skip: a fire while the previous call runs is skipped, and says so', async (t) => {
    // The call runs 8 s: the next fire, 3 s (AccuracySec=1s) after the one that queued it, finds
    // it running with seconds to spare on a loaded machine, whose fire may start late. Not longer:
    // the call is still running when the file ends, and the sandbox's stop waits for it (12 s
    // cost 8 s there).
    t.equal((await sb.faassctl('deploy', 'slow', '--runtime', 'exec', '--from-file', writeFixture(sb, 'slow.sh', '#!/bin/sh\nsleep 8\necho done\n', 0o755), '--idle', '1')).code, 0);
    const add = await sb.faassctl('trigger', 'add', 'slow', '--schedule', '*:*:0/3', '--tz', 'UTC', '--overlap', 'skip');
    t.equal(add.code, 0, add.stderr);
    await waitFor('a skipped fire', async () => (await history(sb, 'slow')).some((h) => h.skipped), 60000);
    const rows = await history(sb, 'slow');
    const logs = (await sb.faassctl('logs', 'slow')).stdout;
    t.equal((await sb.faassctl('trigger', 'rm', 'slow', '1')).code, 0, 'no more fires');
    const first = rows.find((h) => h.call);
    const skipped = rows.find((h) => h.skipped);
    t.ok(first, 'the first fire queued a call');
    t.match(skipped?.skipped, `call ${first?.call} is still running (overlap=skip)`, 'the next was skipped, naming the call still running');
    t.ok(rows.filter((h) => h.call).length === 1 || Date.parse(String(rows.filter((h) => h.call)[1]?.at)) > Date.parse(String(skipped?.at)), 'no second call while the first ran');
    t.match(logs, new RegExp(`schedule=1 function=slow fire at \\S+ skipped: call ${first?.call} is still running \\(overlap=skip\\)`), 'a journal line says it was skipped');
  });

  t.test('deploy --schedule adds one, a redeploy keeps it, delete takes the timers', async (t) => {
    const first = await sb.faassctl('deploy', 'tock', '--command', 'cat', '--schedule', '*/5 * * * *', '--schedule-tz', 'Europe/Berlin');
    t.equal(first.code, 0, first.stderr);
    t.match(first.stdout, /Added schedule 1 of tock: cron "\*\/5 \* \* \* \*" = OnCalendar=\*-\*-\* \*:00\/5:00 Europe\/Berlin \(time zone Europe\/Berlin/, 'the cron line and its translation');
    const again = await sb.faassctl('deploy', 'tock', '--command', 'cat', '--schedule', '*/5 * * * *', '--schedule-tz', 'Europe/Berlin');
    t.match(again.stdout, /Kept schedule 1 of tock/, 'the same line again adds nothing');
    t.equal((await sb.faassctl('deploy', 'tock', '--command', 'tr a-z A-Z')).code, 0);
    t.match((await sb.faassctl('trigger', 'ls', 'tock')).stdout, /^tock\s+1\s+\*\/5 \* \* \* \*\s+\*-\*-\* \*:00\/5:00\s+Europe\/Berlin\s+\w{3} /m, 'a redeploy keeps it, and its timer');
    t.equal((await sb.faassctl('trigger', 'add', 'tock', '--schedule', 'hourly', '--id', 'h')).code, 0, 'a second schedule');
    t.match(await unitState(sb, 'faass-fn-tock-at-h.timer'), /^active\/waiting$/);
    const del = await sb.faassctl('delete', 'tock', '--discard');
    t.equal(del.code, 0, del.stderr);
    for (const u of ['faass-fn-tock-at-1.timer', 'faass-fn-tock-at-h.timer', 'faass-fn-tock-at-1.service']) t.notOk(fs.existsSync(unitFile(u)), `${u} is gone`);
    const timers = (await sb.systemctl('list-timers', '--all', '--no-legend')).stdout;
    t.notMatch(timers, /faass-fn-tock/, 'and no timer of it is loaded');
    t.equal((await sb.faassctl('trigger', 'ls', 'tock')).code, 3, 'trigger ls of a deleted function: exit 3');
  });
});
