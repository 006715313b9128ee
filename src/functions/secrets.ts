// Secrets (issue 15): named values a function is given as systemd credentials. The store is one
// file a secret under the config directory (paths.ts secretFile: the value's bytes exactly as
// given, 0600 in a 0700 directory, written by rename), and NAME.json beside it (when it was first
// created). No function's unit sees the store (units.ts ownView covers the config directory);
// a function's unit names its secrets' files in LoadCredential=, which the user manager reads as
// it starts the unit, so the runner finds a copy in $CREDENTIALS_DIRECTORY and nothing else of
// the store. A function's file holds the names only (function-config.ts `secrets`).
// A value is never logged, shown, or put in an error: what is said of a secret is its name, its
// size and its times.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as ini from 'ini';
import { fail } from '../core/errors';
import { Paths, secretPath, secretsDir, functionConfPath, canaryConfPath } from '../core/paths';
import { readIfExists, withLock, writeFileAtomic } from '../core/fs-atomic';
import { privateDir } from '../core/private-files';
import { validateName, isValidName } from '../core/validate';
import { listFunctionNames } from './function-config';
import { managerReachable, systemctl } from '../systemd/systemctl';
import { canaryUnitBase, functionUnitBase } from '../systemd/units';
import { serveTakeUp } from '../systemd/serve-link';

// systemd 252 takes a credential of up to 1 MiB; a secret is a key, a token, a certificate: a
// bound keeps a wrong file (a log, a device) from being stored whole.
export const SECRET_MAX = 64 * 1024;

export interface SecretInfo {
  name: string;
  size: number; // bytes
  created: string; // ISO time
  updated: string; // ISO time of the value now stored
  usedBy: string[]; // functions whose file names it
}

// A value as given is stored as it is (a final newline too: a certificate or a key file needs
// it); empty or over SECRET_MAX is refused, naming the size, never the content.
export function checkSecretValue(value: Buffer): Buffer {
  if (value.length === 0) fail('FAASS_E_CONFIG_INVALID', 'The secret is empty: give its value on stdin or with --from-file');
  if (value.length > SECRET_MAX) fail('FAASS_E_CONFIG_INVALID', `The secret is larger than ${SECRET_MAX} bytes`);
  return value;
}

const metaPath = (p: Paths, name: string) => `${secretPath(p, name)}.json`;

export function secretExists(p: Paths, name: string): boolean {
  return fs.statSync(secretPath(p, name), { throwIfNoEntry: false })?.isFile() ?? false;
}

// Creates the secret, or replaces its value (created: whether it is new). The value is in place
// (fsync'd, renamed) before this returns; the next start of a function naming it reads it.
export function writeSecret(p: Paths, name: string, value: Buffer): { created: boolean } {
  validateName(name, 'secret');
  checkSecretValue(value);
  return withStore(p, () => {
    const created = !secretExists(p, name);
    if (created || readIfExists(metaPath(p, name)) === null) writeFileAtomic(metaPath(p, name), JSON.stringify({ created: new Date().toISOString() }) + '\n');
    writeFileAtomic(secretPath(p, name), value);
    return { created };
  });
}

// Who names the secret: each function whose file does ("f"), and each whose canary's does (its
// version's file, canary/NAME.conf, which the canary's runner reads: "f (its canary)"). Read from
// each file's text with its INI parsed alone, so a file broken otherwise still counts (a removal
// must not miss a user).
interface Use {
  secret: string;
  fn: string;
  unit: string; // the runner that loads it
  label: string;
}

// A service's are loaded by its app's unit (faass-fn-NAME-app.service), not its proxy's.
function uses(p: Paths): Use[] {
  return listFunctionNames(p).flatMap((fn) => [
    ...usesOf(readIfExists(functionConfPath(p, fn)) ?? '', fn, (service) => `${functionUnitBase(fn)}${service ? '-app' : ''}.service`, fn),
    ...usesOf(readIfExists(canaryConfPath(p, fn)) ?? '', fn, () => `${canaryUnitBase(fn)}.service`, `${fn} (its canary)`),
  ]);
}

function usesOf(text: string, fn: string, unitOf: (service: boolean) => string, label: string): Use[] {
  const { secrets, service } = readUse(text);
  return secrets.map((secret) => ({ secret, fn, unit: unitOf(service), label }));
}

// Each function once: "f" when its file names it, else "f (its canary)".
function usersIn(used: Use[], name: string): string[] {
  const out = new Map<string, string>();
  for (const u of used) if (u.secret === name && !out.has(u.fn)) out.set(u.fn, u.label);
  return [...out.values()];
}

export const secretUsers = (p: Paths, name: string): string[] => usersIn(uses(p), name);

// The runners that load the secret: a function's, and its canary's (faass-canary-NAME.service, a
// runner of its own) where the canary's version names it.
export const secretRunners = (p: Paths, name: string): string[] => uses(p).filter((u) => u.secret === name).map((u) => u.unit);

const namedIn = (text: string): string[] => readUse(text).secrets;

function readUse(text: string): { secrets: string[]; service: boolean } {
  try {
    const fn = (ini.parse(text) as { function?: { secrets?: unknown; kind?: unknown } }).function;
    const secrets = typeof fn?.secrets === 'string' ? fn.secrets.split(',').map((s) => s.trim()).filter((s) => s !== '') : [];
    return { secrets, service: fn?.kind === 'service' };
  } catch {
    return { secrets: [], service: false };
  }
}

export function listSecrets(p: Paths): SecretInfo[] {
  let names: string[];
  try {
    names = fs.readdirSync(secretsDir(p)).filter(isValidName).sort();
  } catch {
    return [];
  }
  const used = uses(p);
  return names.flatMap((name) => {
    const st = fs.statSync(secretPath(p, name), { throwIfNoEntry: false });
    if (!st?.isFile()) return [];
    const updated = st.mtime.toISOString();
    return [{ name, size: st.size, created: createdOf(p, name) ?? updated, updated, usedBy: usersIn(used, name) }];
  });
}

function createdOf(p: Paths, name: string): string | undefined {
  try {
    const m = JSON.parse(readIfExists(metaPath(p, name)) ?? 'null') as { created?: unknown } | null;
    return typeof m?.created === 'string' ? m.created : undefined;
  } catch {
    return undefined;
  }
}

// Removal is refused while a function names the secret: its unit's LoadCredential= would fail
// every start of it (243/CREDENTIALS), so it would answer no call. No --force: deploy those
// functions without it first (the refusal lists them).
export function removeSecret(p: Paths, name: string): void {
  validateName(name, 'secret');
  withStore(p, () => {
    if (!secretExists(p, name)) fail('FAASS_E_SECRET_NOT_FOUND', `No secret named ${name}`);
    const users = secretUsers(p, name);
    if (users.length > 0) fail('FAASS_E_SECRET_IN_USE', `Secret ${name} is named by ${users.length === 1 ? 'function' : 'functions'} ${users.join(', ')}: deploy ${users.length === 1 ? 'it' : 'them'} without --secret ${name} first${users.some((u) => u.endsWith('(its canary)')) ? ' (a canary: abort it)' : ''}`);
    fs.rmSync(secretPath(p, name), { force: true });
    fs.rmSync(metaPath(p, name), { force: true });
  });
}

// A deploy or a rollback naming a secret that does not exist is refused before it changes
// anything: its unit would fail every start.
export function requireSecrets(p: Paths, fn: string, names: readonly string[]): void {
  const missing = names.filter((n) => !secretExists(p, n));
  if (missing.length > 0) fail('FAASS_E_SECRET_NOT_FOUND', `Function ${fn} names ${missing.length === 1 ? 'a secret that does not exist' : 'secrets that do not exist'}: ${missing.join(', ')} (create ${missing.length === 1 ? 'it' : 'them'} with faassctl secret create NAME)`);
}

// The store's one lock (secrets/.store.lock: not a name, so never listed), held by every change
// to the store and by each commit of a file that names secrets, from its re-check of them through
// its write. A deploy checks its secrets first (requireSecrets, before it changes anything) and
// commits after its build and install; a removal in between would leave a file naming a missing
// secret, whose unit fails every start. Under the lock either the removal comes first, and the
// commit's re-check refuses the deploy before its commit point (it is undone as any failed
// deploy), or the commit does, and the removal finds the secret named and is refused.
function withStore<T>(p: Paths, f: () => T): T {
  return withLock(path.join(privateDir(p, secretsDir(p)), '.store'), f);
}

// Runs commit, the write of files (a function's, a canary's, a stack's) whose texts are given,
// under the store's lock once their secrets are checked again; a file naming none needs no lock.
export function commitNamingSecrets<T>(p: Paths, files: readonly { fn: string; text: string }[], commit: () => T): T {
  const named = files.map((f) => ({ fn: f.fn, names: namedIn(f.text) })).filter((f) => f.names.length > 0);
  if (named.length === 0) return commit();
  return withStore(p, () => {
    for (const f of named) requireSecrets(p, f.fn, f.names);
    return commit();
  });
}

// A new value reaches a function at its runner's next start, a service at its app's (LoadCredential= copies the file
// then). A runner that runs is try-restarted, the graceful restart a deploy uses: it takes no new
// call, finishes those it acknowledged, and the next call (waiting in the socket's queue) starts
// a runner with the new value; one that does not run is left alone. Returns the functions told.
// Without a manager, a running faassctl serve restarts them (serve/credentials.ts), and this
// waits until it has, as for a deploy.
// A canary's runner is restarted too: it loads the secret as the function's does. A service's app
// (its app unit, or under serve its app's program) is restarted as an idle stop stops it (SIGTERM,
// then its grace time): the proxy bound to it goes with it, and the next connection starts both.
export async function restartUsers(p: Paths, name: string): Promise<string[]> {
  const runners = secretRunners(p, name);
  if (runners.length === 0) return [];
  if (await managerReachable()) await systemctl('try-restart', ...runners);
  else await serveTakeUp(p);
  return secretUsers(p, name);
}
