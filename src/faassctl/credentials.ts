// faassctl credentials add|list|remove: the store is $XDG_CONFIG_HOME/faass/auth.conf.
import * as fs from 'node:fs';
import { Paths } from '../core/paths';
import { addCredential, loadCredentials, removeCredential } from '../auth/credentials';
import { applyUnits } from '../functions/deploy';
import { serveTakeUp } from '../systemd/serve-link';
import { managerReachable, systemctl } from '../systemd/systemctl';
import { Register } from './cli';
import { privateDir } from '../core/private-files';

// The API's socket listens while an admin credential exists (the gateway answers 404 without one).
// Without a manager, a running faassctl serve starts or stops the API as the credentials say.
async function syncApiSocket(paths: Paths): Promise<void> {
  if (!(await managerReachable())) return void (await serveTakeUp(paths));
  const admins = [...loadCredentials(paths).values()].some((c) => c.admin);
  // The API's unit may write only these (ReadWritePaths=-): they must exist when it starts.
  for (const d of [paths.configDir, paths.dataDir, paths.stateDir]) privateDir(paths, d);
  fs.mkdirSync(paths.unitDir, { recursive: true, mode: 0o700 });
  await applyUnits(paths, { reload: true });
  if (admins) await systemctl('enable', '--now', 'faass-api.socket');
  else await systemctl('disable', '--now', 'faass-api.socket', 'faass-api.service').catch(() => undefined);
}

export async function credentialsAdd(paths: Paths, name: string, admin: boolean): Promise<number> {
  const token = addCredential(paths, name, admin);
  if (admin) await syncApiSocket(paths);
  process.stdout.write(`${token}\n`);
  process.stderr.write(`faassctl: created ${admin ? 'admin ' : ''}credential ${name}; the token above is shown only now: keep it (send it as Authorization: Bearer TOKEN)\n`);
  return 0;
}

export function credentialsList(paths: Paths): number {
  const creds = [...loadCredentials(paths).values()].sort((a, b) => (a.name < b.name ? -1 : 1));
  process.stdout.write(`${'NAME'.padEnd(24)}  ${'ADMIN'.padEnd(5)}  CREATED\n`);
  for (const c of creds) process.stdout.write(`${c.name.padEnd(24)}  ${(c.admin ? 'yes' : 'no').padEnd(5)}  ${c.created}\n`);
  return 0;
}

export async function credentialsRemove(paths: Paths, name: string): Promise<number> {
  const wasAdmin = loadCredentials(paths).get(name)?.admin ?? false;
  removeCredential(paths, name);
  if (wasAdmin) await syncApiSocket(paths);
  process.stdout.write(`Removed credential ${name}\n`);
  return 0;
}

export const register: Register = (y, cli) =>
  y.command('credentials', 'manage credentials for protected functions and the API', (y) =>
    y
      .command(
        'add <name>',
        'create a credential and print its token (shown once)',
        (y) => y.positional('name', { type: 'string', demandOption: true }).option('admin', { type: 'boolean', describe: 'may use the management API and call every function' }),
        (a) => cli.local(a, 'credentials', () => credentialsAdd(cli.paths, a.name, a.admin ?? false)),
      )
      .command('list', 'list credentials (names, admin, created; never secrets)', (y) => y, (a) => cli.local(a, 'credentials', () => credentialsList(cli.paths)))
      .command(
        'remove <name>',
        'remove a credential: its token stops working at once',
        (y) => y.positional('name', { type: 'string', demandOption: true }),
        (a) => cli.local(a, 'credentials', () => credentialsRemove(cli.paths, a.name)),
      )
      .demandCommand(1, 'Name a credentials command: add, list or remove'),
  );
