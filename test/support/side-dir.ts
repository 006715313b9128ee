// Directories of the sandbox's ordinary user, for tests whose functions must leave a trace: a
// function's unit may write nothing but its own state, so a drop-in grants it one directory.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';
import { Sandbox, TEST_USER } from './sandbox';

export const testUid = (): number => Number(execFileSync('id', ['-u', TEST_USER], { encoding: 'utf8' }).trim());

// A directory under the sandbox owned by the test user (a watched directory, a log's home).
export function userDir(sb: Sandbox, name: string): string {
  const dir = path.join(sb.dir, name);
  fs.mkdirSync(dir, { mode: 0o755 });
  fs.chownSync(dir, testUid(), -1);
  return dir;
}

// side-NAME, which function NAME's unit may write (a drop-in beside faass's unit; the manager
// reloaded, so a unit already written takes it at its next start).
export async function sideDir(sb: Sandbox, name: string): Promise<string> {
  const dir = userDir(sb, `side-${name}`);
  const dropIn = path.join(sb.env.XDG_CONFIG_HOME as string, 'systemd', 'user', `faass-fn-${name}.service.d`);
  fs.mkdirSync(dropIn, { recursive: true });
  fs.writeFileSync(path.join(dropIn, 'test-side-effects.conf'), `[Service]\nReadWritePaths=${dir}\n`);
  if ((await sb.systemctl('daemon-reload')).code !== 0) throw new Error('daemon-reload failed');
  return dir;
}
