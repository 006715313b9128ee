// faassctl trigger add|rm|ls|history: a function's schedules and file drops
// (functions/triggers.ts): a timer that queues one asynchronous call per fire, or a path unit that
// queues one per file dropped into a directory. On this host only (the units are this host's user
// manager's).
import { Paths } from '../core/paths';
import { fail } from '../core/errors';
import { validateName } from '../core/validate';
import { ScheduleInput, loadSchedules } from '../functions/schedules';
import { DropView, ScheduleView, addFileDrop, addSchedule, listFileDrops, listSchedules, removeSchedule } from '../functions/triggers';
import { FileDropInput } from '../functions/file-drops';
import { HistoryRow, scheduleHistory } from '../queue/schedule-fire';
import { sayApplied } from './report';
import { Register } from './cli';

export interface ScheduleArgs {
  schedule?: string;
  tz?: string;
  body?: string;
  overlap?: string;
  catchUp?: string;
  jitter?: string;
}

export const scheduleInput = (a: ScheduleArgs): ScheduleInput => ({ spec: a.schedule, tz: a.tz, body: a.body, overlap: a.overlap, catch_up: a.catchUp, jitter: a.jitter });

// What a schedule is, said the same way by trigger add, deploy --schedule and trigger ls.
export function describeSchedule(v: ScheduleView, next?: string | null): string {
  const how = v.kind === 'cron' ? `cron ${JSON.stringify(v.spec)} = OnCalendar=${v.onCalendar.join(' | ')}` : `OnCalendar=${v.onCalendar.join(' | ')}`;
  return `schedule ${v.id} of ${v.function}: ${how} (time zone ${v.tz}; overlap ${v.overlap}, catch-up ${v.catchUp}${v.jitter ? `, jitter ${v.jitter}s` : ''})${next ? `; next fire ${next}` : ''}`;
}

export interface DropArgs {
  watch?: string;
  pattern?: string;
  inlineMax?: string;
  keep?: string;
}

export const dropInput = (a: DropArgs): FileDropInput => ({ watch: a.watch, pattern: a.pattern, inline_max: a.inlineMax, keep: a.keep });

export const describeDrop = (v: DropView): string =>
  `file drop ${v.id} of ${v.function}: each new file in ${v.watch} named ${v.pattern} (not hidden: write it under a name starting with '.', then rename it) is one asynchronous call; content up to ${v.inlineMax} bytes in the event; kept in ${v.watch}/.faass/done|failed for ${v.keep}s`;

async function add(paths: Paths, name: string, a: ScheduleArgs & DropArgs & { id?: string }): Promise<number> {
  if (a.watch !== undefined && a.schedule !== undefined) fail('FAASS_E_USAGE', 'trigger add takes --schedule or --watch, not both');
  if (a.watch !== undefined) {
    const { view, report } = await addFileDrop(paths, validateName(name), dropInput(a), a.id);
    sayApplied(report, `Added ${describeDrop(view)}`);
    return 0;
  }
  if (a.pattern !== undefined || a.inlineMax !== undefined || a.keep !== undefined) fail('FAASS_E_USAGE', '--pattern, --inline-max and --keep go with --watch DIR');
  if (a.schedule === undefined) fail('FAASS_E_USAGE', 'trigger add needs --schedule SPEC (a calendar expression such as "Mon..Fri *-*-* 09:00", or a cron line such as "*/5 * * * *") or --watch DIR');
  const { view, next, report } = await addSchedule(paths, validateName(name), scheduleInput(a), a.id);
  sayApplied(report, `Added ${describeSchedule(view, next)}`);
  return 0;
}

async function rm(paths: Paths, name: string, id: string): Promise<number> {
  sayApplied(await removeSchedule(paths, validateName(name), id), `Removed trigger ${id} of ${name}`);
  return 0;
}

async function ls(paths: Paths, name: string | undefined, json: boolean): Promise<number> {
  const views = await listSchedules(paths, name);
  const drops = await listFileDrops(paths, name);
  // --json: the schedules' array as before, the file drops after them (each with "watch").
  if (json) return void process.stdout.write(JSON.stringify([...views, ...drops], null, 2) + '\n'), 0;
  if (!views.length && !drops.length) return void process.stdout.write(name ? `No triggers for ${name}\n` : 'No triggers\n'), 0;
  if (views.length) printSchedules(views);
  if (drops.length) printDrops(drops, views.length > 0);
  return 0;
}

function table(rows: string[][]): string {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]))).join('  ')).join('\n') + '\n';
}

function printDrops(drops: DropView[], after: boolean): void {
  const rows = [['FUNCTION', 'ID', 'WATCH', 'PATTERN', 'PATH UNIT']];
  for (const d of drops) rows.push([d.function, d.id, d.watch, d.pattern, d.path]);
  process.stdout.write((after ? '\n' : '') + table(rows));
}

function printSchedules(views: ScheduleView[]): void {
  const rows = [['FUNCTION', 'ID', 'SPEC', 'ONCALENDAR', 'ZONE', 'NEXT', 'LAST']];
  for (const v of views) rows.push([v.function, v.id, v.spec, v.onCalendar.map((c) => c.slice(0, c.length - v.tz.length - 1)).join(' | '), v.tz, v.next ?? '-', v.last ?? '-']);
  process.stdout.write(table(rows));
}

const duration = (ms: number | undefined) => (ms === undefined ? '-' : `${(ms / 1000).toFixed(3)}s`);

function historyLine(h: HistoryRow): string {
  if (h.skipped) return `${h.at}  schedule ${h.schedule}  skipped: ${h.skipped}`;
  const status = h.status !== undefined ? `HTTP ${h.status}` : '-';
  return `${h.at}  schedule ${h.schedule}  call ${h.call}  ${h.state}  ${status}  ${duration(h.durationMs)}`;
}

async function history(paths: Paths, name: string, id: string | undefined, json: boolean, limit: number): Promise<number> {
  validateName(name);
  const ids = id !== undefined ? [id] : loadSchedules(paths, name).map((s) => s.id);
  if (id !== undefined && !loadSchedules(paths, name).some((s) => s.id === id)) fail('FAASS_E_SCHEDULE_NOT_FOUND', `${name} has no schedule ${id}`);
  const rows = await scheduleHistory(paths, name, ids, limit);
  if (json) return void process.stdout.write(JSON.stringify(rows, null, 2) + '\n'), 0;
  if (!rows.length) return void process.stdout.write(`No fires yet for ${name}${id ? ` schedule ${id}` : ''}\n`), 0;
  process.stdout.write(rows.map(historyLine).join('\n') + '\n');
  process.stdout.write(`A call's logs: faassctl logs ${name} --call ID\n`);
  return 0;
}

export const register: Register = (y, cli) =>
  y.command('trigger', "a function's schedules and file drops: each fire, each new file, queues an asynchronous call", (y) =>
    y
      .command(
        'add <name>',
        'add a schedule (--schedule: a systemd calendar expression or a five-field cron line) or a file drop (--watch DIR)',
        (y) =>
          y
            .positional('name', { type: 'string', demandOption: true })
            .option('schedule', { type: 'string', describe: 'when: "Mon..Fri *-*-* 09:00", "hourly", "*:*:0/5" (systemd.time(7)) or a cron line "*/5 * * * *", @daily' })
            .option('tz', { type: 'string', describe: "its time zone, e.g. Europe/Berlin (default: the host's, written down)" })
            .option('body', { type: 'string', describe: 'the body of each call (default empty)' })
            .option('overlap', { type: 'string', describe: "allow (default) or skip: no fire while the schedule's previous call is queued or running" })
            .option('catch-up', { type: 'string', describe: 'once (default: a fire missed while the machine was off happens once at start) or none' })
            .option('jitter', { type: 'string', describe: 'a random delay up to this span at each fire (RandomizedDelaySec=), e.g. 30s' })
            .option('watch', { type: 'string', describe: 'a file drop: each file that appears in this directory (absolute) is one asynchronous call' })
            .option('pattern', { type: 'string', describe: "with --watch: only names this glob matches, e.g. '*.csv' (default *; hidden names never)" })
            .option('inline-max', { type: 'string', describe: "with --watch: files up to this size travel in the event, base64 (default 64K, at most 1M)" })
            .option('keep', { type: 'string', describe: 'with --watch: how long DIR/.faass/done and failed keep a file (default 7d)' })
            .option('id', { type: 'string', describe: 'its id: 1-16 lowercase letters and digits (default: the next free number)' }),
        (a) => cli.local(a, 'trigger add', () => add(cli.paths, a.name, a)),
      )
      .command(
        'rm <name> <id>',
        'remove a schedule or a file drop: its timer or path unit stops',
        (y) => y.positional('name', { type: 'string', demandOption: true }).positional('id', { type: 'string', demandOption: true }),
        (a) => cli.local(a, 'trigger rm', () => rm(cli.paths, a.name, a.id)),
      )
      .command(
        'ls [name]',
        'the schedules (with their next and last fire time) and file drops (of one function)',
        (y) => y.positional('name', { type: 'string' }).option('json', { type: 'boolean', describe: 'as JSON' }),
        (a) => cli.local(a, 'trigger ls', () => ls(cli.paths, a.name, a.json ?? false)),
      )
      .command(
        'history <name> [id]',
        "a function's last fires: time, call id, status, duration (faassctl logs NAME --call ID: a call's logs)",
        (y) => y.positional('name', { type: 'string', demandOption: true }).positional('id', { type: 'string' }).option('json', { type: 'boolean', describe: 'as JSON' }).option('lines', { alias: 'n', type: 'number', default: 20, describe: 'how many fires' }),
        (a) => cli.local(a, 'trigger history', () => history(cli.paths, a.name, a.id, a.json ?? false, a.lines)),
      )
      .demandCommand(1, 'trigger needs a subcommand: add, rm, ls or history'),
  );
