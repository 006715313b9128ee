// faassctl credentials add|list|remove: the store is $XDG_CONFIG_HOME/faass/auth.conf.
import { Paths } from '../lib/paths';
import { addCredential, loadCredentials, removeCredential } from '../lib/credentials';

export function credentialsAdd(paths: Paths, name: string, admin: boolean): number {
  const token = addCredential(paths, name, admin);
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

export function credentialsRemove(paths: Paths, name: string): number {
  removeCredential(paths, name);
  process.stdout.write(`Removed credential ${name}\n`);
  return 0;
}
