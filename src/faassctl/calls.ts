// faassctl calls show ID: what became of an asynchronous call (queue/status.ts): queued,
// running, retrying (when), done (its status) or dead, with its attempts. On this host from the
// spool; with --gateway through the management API (GET /system/calls/ID).
import { fail } from '../core/errors';
import { Paths } from '../core/paths';
import { isValidCallId } from '../core/http-util';
import { CallStatus, callStatus } from '../queue/status';
import type { CallbackStatus } from '../queue/callback';
import { Target, sendJson } from './client';
import { Register } from './cli';

function print(s: CallStatus, json: boolean): number {
  if (json) {
    process.stdout.write(JSON.stringify(s, null, 2) + '\n');
    return 0;
  }
  const more = s.state === 'retrying' ? ` (next attempt at ${s.nextAt})` : s.state === 'done' ? ` (HTTP ${s.status}, ${s.finishedAt})` : s.state === 'dead' ? ' (in its dead letters: faassctl dlq ' + s.function + ')' : '';
  process.stdout.write(`${s.id}  ${s.function}  ${s.state}${more}\n`);
  for (const a of s.attempts) process.stdout.write(`  attempt ${a.n} at ${new Date(a.startedAt).toISOString()}: ${a.status !== undefined ? `HTTP ${a.status}` : a.error ?? 'running'}\n`);
  if (s.callback) process.stdout.write(`  callback to ${s.callback.to}: ${callbackLine(s.callback)}\n`);
  return 0;
}

function callbackLine(c: CallbackStatus): string {
  const n = c.attempts.length;
  const tries = `${n} attempt${n === 1 ? '' : 's'}`;
  if (c.state === 'delivered') return `delivered (HTTP ${c.status}, ${tries}, ${c.at})`;
  if (c.state === 'failed') return `failed (${c.why}; ${tries}, ${c.at})`;
  const last = c.attempts[n - 1];
  return `pending${n ? ` (${tries}, the last: ${last.status !== undefined ? `HTTP ${last.status}` : last.error}${c.nextAt ? `; next at ${c.nextAt}` : ''})` : ''}`;
}

export async function showCall(paths: Paths, id: string, json: boolean): Promise<number> {
  if (!isValidCallId(id)) fail('FAASS_E_USAGE', `Invalid call id ${JSON.stringify(id)}: the X-Call-Id that queuing it answered`);
  const s = await callStatus(paths, id);
  if (!s) fail('FAASS_E_CALL_NOT_FOUND', `No asynchronous call ${id} (calls done are kept 24 h)`);
  return print(s, json);
}

export async function remoteShowCall(t: Target, id: string, json: boolean): Promise<number> {
  if (!isValidCallId(id)) fail('FAASS_E_USAGE', `Invalid call id ${JSON.stringify(id)}: the X-Call-Id that queuing it answered`);
  return print((await sendJson(t, 'GET', `/system/calls/${encodeURIComponent(id)}`)) as CallStatus, json);
}

export const register: Register = (y, cli) =>
  y.command('calls', 'asynchronous calls', (y) =>
    y
      .command(
        'show <id>',
        'what became of an asynchronous call: queued, running, retrying, done (its status) or dead, with its attempts',
        (y) => y.positional('id', { type: 'string', demandOption: true, describe: 'the X-Call-Id its queuing answered' }).option('json', { type: 'boolean', describe: 'as JSON' }),
        (a) => cli.either(a, (t) => remoteShowCall(t, a.id, a.json ?? false), () => showCall(cli.paths, a.id, a.json ?? false)),
      )
      .demandCommand(1, 'calls needs a subcommand: show ID'),
  );
