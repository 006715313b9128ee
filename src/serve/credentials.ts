// A function's secrets under faassctl serve, where no unit's LoadCredential= hands them over: serve
// does what a user manager does for one (a plain directory of the user's in the runtime
// directory, each secret copied 0400 into it as the runner starts, named to it by
// $CREDENTIALS_DIRECTORY), so a handler reads them the same way. There is no
// /var/openfaas/secrets (serve has no namespaces to bind it in), and no sandbox keeps the other
// functions from this directory or from the store: serve sandboxes nothing (DESIGN.md).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Paths, secretPath } from '../core/paths';
import { FunctionConfig } from '../functions/function-config';
import { writeFileAtomic } from '../core/fs-atomic';
import { privateDir } from '../core/private-files';

export const serveCredentialsDir = (p: Paths, name: string) => path.join(p.runtimeDir, 'credentials', name);

// The copies made anew (a secret removed from the store is left out: the function's own read
// fails, as its unit would fail to start); the environment that names them.
export function loadCredentials(p: Paths, cfg: FunctionConfig): Record<string, string> {
  const dir = serveCredentialsDir(p, cfg.name);
  fs.rmSync(dir, { recursive: true, force: true });
  if (cfg.secrets.length === 0) return {};
  privateDir(p, dir);
  for (const s of cfg.secrets) {
    try {
      writeFileAtomic(path.join(dir, s), fs.readFileSync(secretPath(p, s)), 0o400);
    } catch {
      // above
    }
  }
  return { CREDENTIALS_DIRECTORY: dir };
}

// What changes when a secret's value is replaced (the file is renamed into place: a new inode),
// for serve's digest of a function: a new value restarts its runner, as secret create's
// try-restart does under a user manager.
export function secretsStamp(p: Paths, names: readonly string[]): string {
  return names.map((s) => {
    const st = fs.statSync(secretPath(p, s), { throwIfNoEntry: false });
    return `${s}:${st ? `${st.ino}:${st.mtimeMs}:${st.size}` : '-'}`;
  }).join(',');
}
