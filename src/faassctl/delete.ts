// faassctl delete NAME: the function, its code, units and containers go; its queue of
// asynchronous calls too, as --drain or --discard says (queue/on-delete.ts).
import { Paths } from '../core/paths';
import { deleteFunction } from '../functions/deploy';
import { QueuePolicy, dropQueue, reopenQueue, settleQueue } from '../queue/on-delete';
import { sayApplied } from './report';
import { remoteDelete } from './remote';
import { Register } from './cli';
import { fail } from '../core/errors';

export async function remove(paths: Paths, name: string, policy: QueuePolicy = 'refuse'): Promise<number> {
  const queue = await settleQueue(paths, name, policy);
  const report = await deleteFunction(paths, name).catch(async (e) => {
    await reopenQueue(paths, name);
    throw e;
  });
  await dropQueue(paths, name);
  for (const w of report.warnings) process.stderr.write(`faassctl: ${w}, ignoring\n`);
  const callbacks = queue.callbacks ? `, ${queue.callbacks} callback(s) dropped unsent` : '';
  const went = queue.discarded || queue.dead || queue.callbacks ? ` (with ${queue.discarded} queued call(s) dropped${callbacks} and ${queue.dead} dead letter(s))` : '';
  sayApplied(report, `Deleted ${name}${went}`);
  return 0;
}

export function policyOf(a: { drain?: boolean; discard?: boolean }): QueuePolicy {
  if (a.drain && a.discard) fail('FAASS_E_USAGE', '--drain and --discard exclude each other');
  return a.drain ? 'drain' : a.discard ? 'discard' : 'refuse';
}

export const register: Register = (y, cli) =>
  y.command(
    'delete <name>',
    'stop and remove a function, its code and units',
    (y) =>
      y
        .positional('name', { type: 'string', demandOption: true })
        .option('drain', { type: 'boolean', describe: 'with asynchronous calls queued: deliver them first (at most 10 minutes), then delete' })
        .option('discard', { type: 'boolean', describe: 'with asynchronous calls queued or dead letters: drop them with the function' }),
    (a) => cli.either(a, (t) => remoteDelete(t, a.name, policyOf(a)), () => remove(cli.paths, a.name, policyOf(a))),
  );
