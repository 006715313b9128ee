// faass's directories in a temporary HOME, for unit tests that deploy without a user manager:
// XDG_RUNTIME_DIR points at an empty directory and the D-Bus address is unset, so systemctl
// --user finds no manager and a deploy writes its files and units, loading nothing. Put back,
// and the directory removed, at the test's end.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Paths, resolvePaths } from '../../src/core/paths';

export function managerlessPaths(t: { teardown(f: () => void): void }, prefix: string): Paths {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `faass-${prefix}-`));
  const env = { HOME: dir, XDG_CONFIG_HOME: `${dir}/config`, XDG_DATA_HOME: `${dir}/data`, XDG_STATE_HOME: `${dir}/state`, XDG_RUNTIME_DIR: `${dir}/run` };
  fs.mkdirSync(env.XDG_RUNTIME_DIR, { mode: 0o700 });
  const saved = { XDG_RUNTIME_DIR: process.env.XDG_RUNTIME_DIR, DBUS_SESSION_BUS_ADDRESS: process.env.DBUS_SESSION_BUS_ADDRESS };
  process.env.XDG_RUNTIME_DIR = env.XDG_RUNTIME_DIR;
  delete process.env.DBUS_SESSION_BUS_ADDRESS;
  t.teardown(() => {
    for (const [k, v] of Object.entries(saved)) if (v === undefined) delete process.env[k];
    else process.env[k] = v;
    fs.rmSync(dir, { recursive: true, force: true });
  });
  return resolvePaths(env);
}
