// faassctl trigger add|rm|ls|history: a function's triggers. Schedules and file drops
// (functions/triggers.ts): a timer that queues one asynchronous call per fire, or a path unit
// that queues one per file dropped into a directory. Topics (functions/topics.ts): each message
// published queues one call. add, rm and ls of schedules and topics also go through a gateway's
// management API (--gateway: api/triggers.ts), and ls of file drops and NATS bridges; adding
// those and history are this host's.
import { Paths } from '../core/paths';
import { fail } from '../core/errors';
import { validateName } from '../core/validate';
import { ScheduleInput, loadSchedules } from '../functions/schedules';
import { DropView, NatsView, ScheduleView, TriggerList, addFileDrop, addNatsTrigger, addSchedule, listAllTriggers, removeSchedule } from '../functions/triggers';
import { NatsInput, natsHost } from '../functions/nats-triggers';
import { NatsAuthArgs, readNatsAuth } from '../functions/nats-auth';
import { isIP } from 'node:net';
import { FileDropInput } from '../functions/file-drops';
import { HistoryRow, scheduleHistory } from '../queue/schedule-fire';
import { sayApplied } from './report';
import { Register } from './cli';
import { subscribe, unsubscribe } from '../functions/topics';
import { Added, TopicRow, remoteAdd, remoteList, remoteRm } from './trigger-topics';
import { Target } from './client';

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
  chainLimit?: string;
}

export const dropInput = (a: DropArgs): FileDropInput => ({ watch: a.watch, pattern: a.pattern, inline_max: a.inlineMax, keep: a.keep, chain_limit: a.chainLimit });

export const describeDrop = (v: DropView): string =>
  `file drop ${v.id} of ${v.function}: each new file in ${v.watch} named ${v.pattern} (not hidden: write it under a name starting with '.', then rename it) is one asynchronous call; content up to ${v.inlineMax} bytes in the event; kept in ${v.watch}/.faass/done|failed for ${v.keep}s; files its calls write into their outbox ($FAASS_OUTBOX) are calls too, up to a chain of ${v.chainLimit}`;

export interface NatsArgs extends NatsAuthArgs {
  nats?: string;
  subject?: string;
  durable?: string;
  stream?: string;
}

export const natsInput = (a: NatsArgs): NatsInput => ({ nats: a.nats, subject: a.subject, durable: a.durable, stream: a.stream });

const AUTH_SAID: Record<string, string> = { none: 'without authentication', token: 'with a token', creds: 'with a .creds file' };
const authSaid = (auth: string) => AUTH_SAID[auth] ?? `as NATS user ${auth.slice('user:'.length)} with a password`;

export const describeNats = (v: NatsView): string =>
  `NATS bridge ${v.id} of ${v.function}: each message on ${v.subject} (stream ${v.stream ?? 'the one taking the subject'}, durable consumer ${v.durable}) at ${v.nats}, connecting ${authSaid(v.auth ?? 'none')}, is one asynchronous call, acked once queued; ${v.service} holds the subscription${isIP(natsHost(v.nats)) || natsHost(v.nats) === 'localhost' ? '' : ` (a host name: its unit's network is not limited to the server)`}`;

type AddArgs = ScheduleArgs & DropArgs & NatsArgs & { id?: string; topic?: string };

// One trigger a command: a schedule, a file drop, a NATS bridge or a topic, with only its own options.
function oneKind(a: AddArgs): void {
  const kinds = [a.schedule !== undefined && '--schedule', a.watch !== undefined && '--watch', a.nats !== undefined && '--nats', a.topic !== undefined && '--topic'].filter(Boolean);
  const natsOnly = [a.subject, a.durable, a.stream, a.natsCreds, a.natsTokenFile, a.natsUser, a.natsPasswordFile];
  if (a.nats === undefined && natsOnly.some((x) => x !== undefined)) fail('FAASS_E_USAGE', '--subject, --durable, --stream and the --nats-* options go with --nats URL');
  if (kinds.length === 0) fail('FAASS_E_USAGE', 'trigger add needs --schedule SPEC (a calendar expression such as "Mon..Fri *-*-* 09:00", or a cron line such as "*/5 * * * *"), --watch DIR, --nats URL --subject S or --topic T');
  if (kinds.length > 1) fail('FAASS_E_USAGE', `trigger add takes one of ${kinds.join(', ')}: one trigger a command`);
  if (a.topic !== undefined && a.id !== undefined) fail('FAASS_E_USAGE', '--id is for schedules and file drops: a topic is named by itself');
  if (a.watch === undefined && (a.pattern !== undefined || a.inlineMax !== undefined || a.keep !== undefined || a.chainLimit !== undefined)) fail('FAASS_E_USAGE', '--pattern, --inline-max, --keep and --chain-limit go with --watch DIR');
}

export const sayTopic = (name: string, topic: string, added: boolean): string => `${added ? `${name} subscribes to topic ${topic}` : `${name} subscribed to topic ${topic} already`}: each message to POST /topic/${topic} (faassctl publish ${topic}) queues a call for it`;

async function add(paths: Paths, name: string, a: AddArgs): Promise<number> {
  oneKind(a);
  if (a.topic !== undefined) {
    const r = subscribe(paths, validateName(name), a.topic);
    process.stdout.write(`${sayTopic(name, r.topic, r.added)}\n`);
    return 0;
  }
  if (a.watch !== undefined) {
    const { view, report } = await addFileDrop(paths, validateName(name), dropInput(a), a.id);
    sayApplied(report, `Added ${describeDrop(view)}`);
    return 0;
  }
  if (a.nats !== undefined) {
    const secret = readNatsAuth(a); // read and checked before anything is written
    const { view, report } = await addNatsTrigger(paths, validateName(name), natsInput(a), a.id, secret);
    sayApplied(report, `Added ${describeNats(view)}`);
    return 0;
  }
  const { view, next, report } = await addSchedule(paths, validateName(name), scheduleInput(a), a.id);
  sayApplied(report, `Added ${describeSchedule(view, next)}`);
  return 0;
}

async function addRemote(t: Target, name: string, a: AddArgs): Promise<number> {
  oneKind(a);
  if (a.watch !== undefined) fail('FAASS_E_USAGE', "--watch works on the gateway's host only (a directory of that host's): run faassctl trigger add there");
  if (a.nats !== undefined) fail('FAASS_E_USAGE', "--nats is not in the management API yet: run faassctl trigger add on the gateway's host");
  const r: Added = await remoteAdd(t, name, a.topic !== undefined ? { topic: a.topic } : { schedule: scheduleInput(a), id: a.id });
  process.stdout.write(`${'topic' in r ? sayTopic(name, r.topic, r.added) : `Added ${describeSchedule(r, r.next)}`} on ${t.label}\n`);
  return 0;
}

// rm NAME ID (a schedule or a file drop) or rm NAME --topic T.
function rmTarget(id: string | undefined, topic: string | undefined): { id: string } | { topic: string } {
  if ((id === undefined) === (topic === undefined)) fail('FAASS_E_USAGE', 'trigger rm takes a trigger ID (trigger ls shows them) or --topic T');
  return id !== undefined ? { id } : { topic: topic as string };
}

async function rm(paths: Paths, name: string, id: string | undefined, topic: string | undefined): Promise<number> {
  const what = rmTarget(id, topic);
  if ('topic' in what) {
    unsubscribe(paths, validateName(name), what.topic);
    process.stdout.write(`${name} no longer subscribes to topic ${what.topic}\n`);
    return 0;
  }
  sayApplied(await removeSchedule(paths, validateName(name), what.id), `Removed trigger ${what.id} of ${name}`);
  return 0;
}

async function ls(paths: Paths, name: string | undefined, json: boolean): Promise<number> {
  return printTriggers(await listAllTriggers(paths, name), name, json);
}

// The schedules' table (its columns as scripts know them), then the file drops', the NATS
// bridges' and the topics', each when there are some. --json: one array, schedules first, then
// file drops (each with "watch"), NATS bridges (each with "nats"), then topics (kind "topic").
export function printTriggers({ schedules: views, topics, drops, nats }: TriggerList, name: string | undefined, json: boolean): number {
  if (json) return void process.stdout.write(JSON.stringify([...views, ...drops, ...nats, ...topics.map((t): TopicRow => ({ ...t, kind: 'topic' }))], null, 2) + '\n'), 0;
  if (!views.length && !drops.length && !nats.length && !topics.length) return void process.stdout.write(name ? `No triggers for ${name}\n` : 'No triggers\n'), 0;
  const tables: string[] = [];
  if (views.length) tables.push(table([['FUNCTION', 'ID', 'SPEC', 'ONCALENDAR', 'ZONE', 'NEXT', 'LAST'], ...views.map((v) => [v.function, v.id, v.spec, v.onCalendar.map((c) => c.slice(0, c.length - v.tz.length - 1)).join(' | '), v.tz, v.next ?? '-', v.last ?? '-'])]));
  if (drops.length) tables.push(table([['FUNCTION', 'ID', 'WATCH', 'PATTERN', 'PATH UNIT'], ...drops.map((d) => [d.function, d.id, d.watch, d.pattern, d.path])]));
  // AUTH last: scripts reading the columns before it by position still find them.
  if (nats.length) tables.push(table([['FUNCTION', 'ID', 'NATS', 'SUBJECT', 'STREAM', 'DURABLE', 'UNIT', 'AUTH'], ...nats.map((n) => [n.function, n.id, n.nats, n.subject, n.stream ?? '-', n.durable, n.service, n.auth ?? 'none'])]));
  if (topics.length) tables.push(table([['FUNCTION', 'TOPIC'], ...topics.map((t) => [t.function, t.topic])]));
  process.stdout.write(tables.join('\n'));
  return 0;
}

// Columns two spaces apart, each as wide as its widest cell (the last one not padded).
function table(rows: string[][]): string {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]))).join('  ')).join('\n') + '\n';
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
  y.command('trigger', "a function's triggers: schedules (timers), file drops (a directory watched), NATS bridges (a JetStream consumer) and topics (messages published), each queueing asynchronous calls", (y) =>
    y
      .command(
        'add <name>',
        'add a schedule (--schedule: a systemd calendar expression or a five-field cron line), a file drop (--watch DIR), a NATS bridge (--nats URL --subject S) or a topic subscription (--topic T)',
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
            .option('inline-max', { type: 'string', describe: 'with --watch: files up to this size travel in the event, base64 (default 64K, at most 1M)' })
            .option('keep', { type: 'string', describe: 'with --watch: how long DIR/.faass/done and failed keep a file (default 7d)' })
            .option('chain-limit', { type: 'string', describe: "with --watch: the longest chain of calls each writing the next one's file into its outbox (FAASS_OUTBOX); past it a file is a dead letter (default 5, 1-100)" })
            .option('nats', { type: 'string', describe: "a NATS bridge: the server's URL, nats://HOST:PORT; each message of a JetStream durable consumer is one asynchronous call, acked once queued" })
            .option('subject', { type: 'string', describe: 'with --nats: the subject to consume (wildcards * and > allowed)' })
            .option('durable', { type: 'string', describe: 'with --nats: the durable consumer (default faass-NAME-ID; made if missing)' })
            .option('stream', { type: 'string', describe: 'with --nats: the stream (default: the one whose subjects take --subject)' })
            .option('nats-creds', { type: 'string', describe: 'with --nats: authenticate with this NATS .creds file (user JWT and NKey seed); faass keeps a private copy' })
            .option('nats-token-file', { type: 'string', describe: 'with --nats: authenticate with the token in this file; faass keeps a private copy' })
            .option('nats-user', { type: 'string', describe: 'with --nats and --nats-password-file: authenticate as this NATS user' })
            .option('nats-password-file', { type: 'string', describe: "with --nats-user: the user's password, in this file (never on the command line); faass keeps a private copy" })
            .option('id', { type: 'string', describe: 'its id: 1-16 lowercase letters and digits (default: the next free number)' })
            .option('topic', { type: 'string', describe: 'subscribe to this topic: each message published to it (POST /topic/T, faassctl publish T) queues a call' }),
        (a) => cli.either(a, (t) => addRemote(t, a.name, a), () => add(cli.paths, a.name, a)),
      )
      .command(
        'rm <name> [id]',
        'remove a schedule, a file drop or a NATS bridge (its timer, path unit or bridge stops) or, with --topic T, a subscription',
        (y) => y.positional('name', { type: 'string', demandOption: true }).positional('id', { type: 'string' }).option('topic', { type: 'string', describe: 'the topic to unsubscribe from' }),
        (a) => cli.either(a, (t) => remoteRm(t, a.name, rmTarget(a.id, a.topic)), () => rm(cli.paths, a.name, a.id, a.topic)),
      )
      .command(
        'ls [name]',
        'the schedules (with their next and last fire time), file drops, NATS bridges and topics (of one function)',
        (y) => y.positional('name', { type: 'string' }).option('json', { type: 'boolean', describe: 'as JSON' }),
        (a) => cli.either(a, async (t) => printTriggers(await remoteList(t, a.name), a.name, a.json ?? false), () => ls(cli.paths, a.name, a.json ?? false)),
      )
      .command(
        'history <name> [id]',
        "a function's last fires: time, call id, status, duration (faassctl logs NAME --call ID: a call's logs)",
        (y) => y.positional('name', { type: 'string', demandOption: true }).positional('id', { type: 'string' }).option('json', { type: 'boolean', describe: 'as JSON' }).option('lines', { alias: 'n', type: 'number', default: 20, describe: 'how many fires' }),
        (a) => cli.local(a, 'trigger history', () => history(cli.paths, a.name, a.id, a.json ?? false, a.lines)),
      )
      .demandCommand(1, 'trigger needs a subcommand: add, rm, ls or history'),
  );
