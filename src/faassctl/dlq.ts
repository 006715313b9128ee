// faassctl dlq NAME: the function's dead letters (queue/spool.ts): asynchronous calls that ran
// out of attempts or age, with each attempt's time and result. Read on this host.
import { validateName } from '../core/validate';
import { Paths } from '../core/paths';
import { deadList } from '../queue/spool';
import { Register } from './cli';

const when = (ms: number) => new Date(ms).toISOString().replace(/\.\d+Z$/, 'Z');

export async function dlq(paths: Paths, name: string, json: boolean): Promise<number> {
  validateName(name);
  const dead = await deadList(paths, name);
  if (json) {
    const out = dead.map((d) => ({ id: d.call?.id ?? null, entry: d.entry, enqueuedAt: d.call ? when(d.call.enqueuedAt) : null, method: d.call?.method, path: d.call?.path, bytes: d.call?.body.length, attempts: d.state.attempts }));
    process.stdout.write(JSON.stringify(out, null, 2) + '\n');
    return 0;
  }
  if (dead.length === 0) {
    process.stdout.write(`No dead letters for ${name}\n`);
    return 0;
  }
  for (const d of dead) {
    const c = d.call;
    process.stdout.write(c ? `${c.id}  queued ${when(c.enqueuedAt)}  ${c.method} ${c.path}  ${c.body.length} bytes\n` : `${d.entry}  (unreadable)\n`);
    for (const a of d.state.attempts) process.stdout.write(`  attempt ${a.n} at ${when(a.startedAt)}: ${a.status !== undefined ? `HTTP ${a.status}` : a.error ?? 'no result'}\n`);
  }
  return 0;
}

export const register: Register = (y, cli) =>
  y.command(
    'dlq <name>',
    "list a function's dead letters: asynchronous calls that ran out of attempts, with each attempt",
    (y) => y.positional('name', { type: 'string', demandOption: true }).option('json', { type: 'boolean', describe: 'as JSON' }),
    (a) => cli.local(a, 'dlq', () => dlq(cli.paths, a.name, a.json ?? false)),
  );
