// faassctl secret create|ls|rm: the secrets functions and services are given (functions/secrets.ts), on this
// host or through a gateway's API (/system/secrets). A value comes from stdin or --from-file,
// never from the command line (shell history, ps, /proc/PID/cmdline), and is never printed.
import { Paths } from '../core/paths';
import { FaassError, fail } from '../core/errors';
import { validateName } from '../core/validate';
import { SecretInfo, SECRET_MAX, checkSecretValue, listSecrets, removeSecret, restartUsers, writeSecret } from '../functions/secrets';
import { readSecretFile } from '../functions/nats-auth';
import { Target, sendJson } from './client';
import { Register } from './cli';

// The value: the file's bytes, or stdin's up to SECRET_MAX (a terminal is refused: what is typed
// there is echoed, and nothing would say where the value ends).
async function readValue(fromFile: string | undefined): Promise<Buffer> {
  if (fromFile !== undefined) return readSecretFile('--from-file', fromFile);
  if (process.stdin.isTTY) fail('FAASS_E_USAGE', 'secret create reads the value from stdin (a pipe or a file, not a terminal) or from --from-file PATH');
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const c of process.stdin as AsyncIterable<Buffer>) {
    n += c.length;
    if (n > SECRET_MAX) fail('FAASS_E_CONFIG_INVALID', `The secret on stdin is larger than ${SECRET_MAX} bytes`);
    chunks.push(c);
  }
  return checkSecretValue(Buffer.concat(chunks));
}

// A value given as an argument is refused before anything is read or stored; the message never
// repeats it.
function refuseArgument(value: unknown): void {
  if (value !== undefined) fail('FAASS_E_USAGE', 'secret create takes no value argument (it would stay in shell history and show in ps): give the value on stdin or with --from-file PATH');
}

async function create(paths: Paths, name: string, value: Buffer): Promise<number> {
  const { created } = writeSecret(paths, name, value);
  const told = created ? [] : await restartUsers(paths, name);
  process.stdout.write(`${created ? 'Created' : 'Replaced'} secret ${name} (${value.length} bytes)${sayRestarted(told)}\n`);
  return 0;
}

const sayRestarted = (fns: string[]) => (fns.length ? `; ${fns.join(', ')} read${fns.length === 1 ? 's' : ''} it from its next start (a running runner is restarted once its calls are done, a running service's app at once)` : '');

async function remoteCreate(t: Target, name: string, value: Buffer): Promise<number> {
  const body = { name, rawValue: value.toString('base64') };
  const r = (await sendJson(t, 'POST', '/system/secrets', body).catch((e: unknown) => {
    if (e instanceof FaassError && e.code === 'FAASS_E_SECRET_EXISTS') return sendJson(t, 'PUT', '/system/secrets', body);
    throw e;
  })) as { created?: boolean; size?: number; restarted?: string[] };
  process.stdout.write(`${r.created ? 'Created' : 'Replaced'} secret ${name} (${r.size ?? value.length} bytes) on ${t.label}${sayRestarted(r.restarted ?? [])}\n`);
  return 0;
}

function printList(list: SecretInfo[], json: boolean): number {
  if (json) {
    process.stdout.write(JSON.stringify(list.map((s) => ({ name: s.name, size: s.size, created: s.created, updated: s.updated, used_by: s.usedBy })), null, 2) + '\n');
    return 0;
  }
  process.stdout.write(`${'NAME'.padEnd(24)}  ${'SIZE'.padStart(6)}  ${'CREATED'.padEnd(24)}  ${'UPDATED'.padEnd(24)}  USED BY\n`);
  for (const s of list) process.stdout.write(`${s.name.padEnd(24)}  ${String(s.size).padStart(6)}  ${s.created.padEnd(24)}  ${s.updated.padEnd(24)}  ${s.usedBy.join(',') || '-'}\n`);
  return 0;
}

async function remoteList(t: Target, json: boolean): Promise<number> {
  const list = (await sendJson(t, 'GET', '/system/secrets')) as { name: string; size: number; created: string; updated: string; used_by: string[] }[];
  return printList(list.map((s) => ({ name: s.name, size: s.size, created: s.created, updated: s.updated, usedBy: s.used_by ?? [] })), json);
}

export const register: Register = (y, cli) =>
  y.command('secret', "manage secrets given to functions (deploy --secret NAME); values are never shown", (y) =>
    y
      .command(
        'create <name> [value]',
        'create a secret, or replace its value, from stdin or --from-file (never an argument); functions naming it read the new value from their next start',
        (y) => y.positional('name', { type: 'string', demandOption: true }).positional('value', { type: 'string', hidden: true }).option('from-file', { type: 'string', describe: 'read the value from this file (its bytes, as they are)' }),
        (a) =>
          cli.run(async () => {
            refuseArgument(a.value);
            const name = validateName(a.name, 'secret');
            const value = await readValue(a.fromFile);
            return cli.gatewayOf(a) ? remoteCreate(cli.target(a), name, value) : create(cli.paths, name, value);
          }),
      )
      .command(
        'ls',
        'list secrets: name, size, created, updated, the functions that name them (never values)',
        (y) => y.option('json', { type: 'boolean', describe: 'as JSON' }),
        (a) => cli.either(a, (t) => remoteList(t, a.json ?? false), () => printList(listSecrets(cli.paths), a.json ?? false)),
      )
      .command(
        'rm <name>',
        'remove a secret; refused while a function names it',
        (y) => y.positional('name', { type: 'string', demandOption: true }),
        (a) =>
          cli.either(
            a,
            async (t) => {
              await sendJson(t, 'DELETE', '/system/secrets', { name: validateName(a.name, 'secret') });
              process.stdout.write(`Removed secret ${a.name} on ${t.label}\n`);
              return 0;
            },
            () => {
              removeSecret(cli.paths, a.name);
              process.stdout.write(`Removed secret ${a.name}\n`);
              return 0;
            },
          ),
      )
      .demandCommand(1, 'Name a secret command: create, ls or rm'),
  );
