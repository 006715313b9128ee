// faassctl dlq NAME: the function's dead letters (queue/spool.ts): asynchronous calls that ran
// out of attempts or age, with each attempt's time and result; --show one call's request,
// --redrive calls back into the queue (their attempts start again), --purge them for good.
// On this host from the spool; with --gateway through the management API (/system/dlq/NAME).
import { fail } from '../core/errors';
import { validateName } from '../core/validate';
import { isValidCallId } from '../core/http-util';
import { Paths } from '../core/paths';
import { QueuedCall, purge, redrive } from '../queue/spool';
import { DeadLetter, deadCall, deadLetters, when } from '../queue/dead-letters';
import { Target, sendJson } from './client';
import { Register } from './cli';

function printList(name: string, dead: DeadLetter[], json: boolean): number {
  if (json) return void process.stdout.write(JSON.stringify(dead, null, 2) + '\n'), 0;
  if (dead.length === 0) return void process.stdout.write(`No dead letters for ${name}\n`), 0;
  for (const d of dead) {
    process.stdout.write(d.id ? `${d.id}  queued ${d.enqueuedAt}  ${d.method} ${d.path}  ${d.bytes} bytes\n` : `${d.entry}  (unreadable)\n`);
    for (const a of d.attempts) process.stdout.write(`  attempt ${a.n} at ${when(a.startedAt)}: ${a.status !== undefined ? `HTTP ${a.status}` : a.error ?? 'no result'}\n`);
  }
  return 0;
}

function printCall(c: QueuedCall): number {
  const head = [`${c.method} ${c.path}`, ...Object.entries(c.headers).map(([k, v]) => `${k}: ${v}`)].join('\n');
  process.stdout.write(`${head}\n\n`);
  process.stdout.write(c.body);
  return 0;
}

// What --redrive or --purge did; exit 3 when an id given is no dead letter of NAME.
function printMoved(verb: string, name: string, r: { done: string[]; missing: string[] }): number {
  process.stdout.write(`${verb} ${r.done.length} dead letter(s) of ${name}${r.done.length ? `: ${r.done.join(' ')}` : ''}\n`);
  if (r.missing.length) fail('FAASS_E_CALL_NOT_FOUND', `No dead letter ${r.missing.join(', ')} for ${name}`);
  return 0;
}

interface DlqArgs {
  name: string;
  ids: string[];
  all: boolean;
  show?: string;
  redrive: boolean;
  purge: boolean;
  json: boolean;
}

// Which ids an action takes: those given, or every one with --all (exactly one of the two).
function chosen(a: DlqArgs): string[] | undefined {
  validateName(a.name);
  for (const id of [...a.ids, ...(a.show ? [a.show] : [])]) if (!isValidCallId(id)) fail('FAASS_E_USAGE', `Invalid call id ${JSON.stringify(id)}`);
  const actions = [a.show !== undefined, a.redrive, a.purge].filter(Boolean).length;
  if (actions > 1) fail('FAASS_E_USAGE', 'Give one of --show, --redrive and --purge');
  if (!a.redrive && !a.purge) {
    if (a.ids.length || a.all) fail('FAASS_E_USAGE', 'Call ids and --all go with --redrive or --purge');
    return undefined;
  }
  if (a.all === (a.ids.length > 0)) fail('FAASS_E_USAGE', `--${a.redrive ? 'redrive' : 'purge'} needs call ids or --all (not both)`);
  return a.all ? undefined : a.ids;
}

export async function dlq(paths: Paths, a: DlqArgs): Promise<number> {
  const ids = chosen(a);
  if (a.show !== undefined) {
    const c = await deadCall(paths, a.name, a.show);
    return a.json ? (process.stdout.write(JSON.stringify({ ...c, body: c.body.toString('base64') }, null, 2) + '\n'), 0) : printCall(c);
  }
  if (a.redrive) return printMoved('Redrove', a.name, await redrive(paths, a.name, ids));
  if (a.purge) return printMoved('Purged', a.name, await purge(paths, a.name, ids));
  return printList(a.name, await deadLetters(paths, a.name), a.json);
}

export async function remoteDlq(t: Target, a: DlqArgs): Promise<number> {
  const ids = chosen(a);
  const base = `/system/dlq/${encodeURIComponent(a.name)}`;
  if (a.show !== undefined) {
    const c = (await sendJson(t, 'GET', `${base}/${encodeURIComponent(a.show)}`)) as Omit<QueuedCall, 'body'> & { body: string };
    return a.json ? (process.stdout.write(JSON.stringify(c, null, 2) + '\n'), 0) : printCall({ ...c, body: Buffer.from(c.body, 'base64') });
  }
  if (a.redrive || a.purge) {
    const r = (await sendJson(t, 'POST', `${base}/${a.redrive ? 'redrive' : 'purge'}`, ids === undefined ? { all: true } : { ids })) as { done: string[]; missing: string[] };
    return printMoved(a.redrive ? 'Redrove' : 'Purged', a.name, r);
  }
  return printList(a.name, (await sendJson(t, 'GET', base)) as DeadLetter[], a.json);
}

export const register: Register = (y, cli) =>
  y.command(
    'dlq <name> [ids..]',
    "a function's dead letters (asynchronous calls out of attempts): list them, --show one, --redrive or --purge them",
    (y) =>
      y
        .positional('name', { type: 'string', demandOption: true })
        .positional('ids', { type: 'string', array: true, describe: 'call ids, with --redrive or --purge' })
        .option('show', { type: 'string', describe: "print one dead letter's request (method, path, headers, body)" })
        .option('redrive', { type: 'boolean', describe: 'put the calls given (or --all) back into the queue, their attempts starting again' })
        .option('purge', { type: 'boolean', describe: 'remove the calls given (or --all) for good' })
        .option('all', { type: 'boolean', describe: 'with --redrive or --purge: every dead letter of the function' })
        .option('json', { type: 'boolean', describe: 'as JSON' }),
    (a) => {
      const args: DlqArgs = { name: a.name, ids: (a.ids ?? []).map(String), all: a.all ?? false, show: a.show, redrive: a.redrive ?? false, purge: a.purge ?? false, json: a.json ?? false };
      cli.either(a, (t) => remoteDlq(t, args), () => dlq(cli.paths, args));
    },
  );
