import * as os from 'node:os';
import * as path from 'node:path';

// XDG base directories (https://specifications.freedesktop.org/basedir-spec/latest/).
export interface Paths {
  configDir: string; // $XDG_CONFIG_HOME/faass
  dataDir: string; // $XDG_DATA_HOME/faass
  stateDir: string; // $XDG_STATE_HOME/faass
  runtimeDir: string; // $XDG_RUNTIME_DIR/faass
  unitDir: string; // $XDG_CONFIG_HOME/systemd/user
  xdg: { config: string; data: string; state: string; runtime: string };
}

export function resolvePaths(env: NodeJS.ProcessEnv = process.env): Paths {
  const home = env.HOME || os.homedir();
  const abs = (v: string | undefined, fallback: string) => (v && path.isAbsolute(v) ? v : fallback);
  const config = abs(env.XDG_CONFIG_HOME, path.join(home, '.config'));
  const data = abs(env.XDG_DATA_HOME, path.join(home, '.local', 'share'));
  const state = abs(env.XDG_STATE_HOME, path.join(home, '.local', 'state'));
  const runtime = abs(env.XDG_RUNTIME_DIR, `/run/user/${process.getuid?.() ?? 0}`);
  return {
    configDir: path.join(config, 'faass'),
    dataDir: path.join(data, 'faass'),
    stateDir: path.join(state, 'faass'),
    runtimeDir: path.join(runtime, 'faass'),
    unitDir: path.join(config, 'systemd', 'user'),
    xdg: { config, data, state, runtime },
  };
}

export const functionsConfDir = (p: Paths) => path.join(p.configDir, 'functions');
export const functionConfPath = (p: Paths, name: string) => path.join(functionsConfDir(p), `${name}.conf`);
export const functionCodeDir = (p: Paths, name: string) => path.join(p.dataDir, 'functions', name);
// A function's version records (functions/versions.ts): beside its code directories, not among
// them, since its unit may read every code directory of its own and the records hold the settings
// (env included) of its older versions.
export const versionRecordsDir = (p: Paths, name: string) => path.join(p.dataDir, 'versions', name);
export const functionSocketPath = (p: Paths, name: string) => path.join(p.runtimeDir, 'fn', `${name}.sock`);
// A canary (functions/canary.ts): its version's function file, which its runner reads in the
// place of the function's own (units.ts canaryView), and how the gateway routes to it; both
// written by faassctl or the API. What the gateway saw of it (calls, errors, an abort) is state,
// the one place of the three the gateway's unit may write.
export const canaryDir = (p: Paths) => path.join(p.configDir, 'canary');
export const canaryConfPath = (p: Paths, name: string) => path.join(canaryDir(p), `${name}.conf`);
export const canaryRoutePath = (p: Paths, name: string) => path.join(p.configDir, 'canary', `${name}.json`);
export const canaryStatePath = (p: Paths, name: string) => path.join(p.stateDir, 'canary', `${name}.json`);
export const canarySocketPath = (p: Paths, name: string) => path.join(p.runtimeDir, 'canary', `${name}.sock`);
export const gatewayConfPath = (p: Paths) => path.join(p.configDir, 'faass.conf');
// The only part of faass's state a function's (or a service app's) unit may write: what its
// runner or app counts (observe/metrics-store.ts).
// Asynchronous calls (queue/spool.ts); the only part of faass's state the dispatcher's and the
// schedules' units may write.
export const queueRoot = (p: Paths) => path.join(p.stateDir, 'queue');
// A schedule's fires (queue/schedule-fire.ts), in its function's queue: written by the schedule's
// unit, which may write only the queue; removed with the schedule.
export const scheduleStatePath = (p: Paths, name: string, id: string) => path.join(queueRoot(p), name, 'schedules', `${id}.json`);
// A file drop's marks in its function's queue (queue/drop-fire.ts): settled/ENTRY, written by the
// dispatcher when the call of the file claimed as ENTRY is done or dead, watched by the drop's
// path unit so its service moves the file on. Removed with the drop.
export const dropStateDir = (p: Paths, name: string, id: string) => path.join(queueRoot(p), name, 'drops', id);
// A NATS bridge's secret (functions/nats-auth.ts): faass's private copy, one per trigger, under
// the config directory (the bridge's unit binds this one file into its view); removed with the
// trigger and with the function. From the config directory alone, as units.ts has no Paths.
export const natsSecretFile = (configDir: string, name: string, id: string) => path.join(configDir, 'nats', name, `${id}.secret`);
export const natsSecretPath = (p: Paths, name: string, id: string) => natsSecretFile(p.configDir, name, id);
// Secrets (functions/secrets.ts): a file a secret (its value, exactly as given) and NAME.json
// beside it (when it was created), 0600 in a 0700 directory under the config directory, which no
// function's unit sees (units.ts ownView). A function's unit names its secrets' files in
// LoadCredential=: the user manager reads them as it starts the unit, before the sandbox. From
// the config directory alone, as units.ts has no Paths.
export const secretFile = (configDir: string, name: string) => path.join(configDir, 'secrets', name);
export const secretsDir = (p: Paths) => path.join(p.configDir, 'secrets');
export const secretPath = (p: Paths, name: string) => secretFile(p.configDir, name);
export const functionStateDir = (p: Paths, name: string) => path.join(p.stateDir, 'fn', name);
// A service's runtime directory, made by systemd for its app unit (RuntimeDirectory=) and the
// only part of faass's runtime directory the app's unit sees.
export const serviceRuntimeDir = (p: Paths, name: string) => path.join(p.runtimeDir, 'svc', name);
// Written by a service's app when it fails to get ready, so the gateway can answer at once.
export const serviceFailurePath = (p: Paths, name: string) => path.join(serviceRuntimeDir(p, name), 'failed');
// The way into an app in a network namespace of its own (network=none): the unix socket the
// proxy connects to, forwarded to the app's port inside.
export const serviceAppSocket = (p: Paths, name: string) => path.join(serviceRuntimeDir(p, name), 'app.sock');
// faass-revive's record of its revives of one socket (revive/backoff.ts).
export const reviveRecordPath = (p: Paths, socket: string) => path.join(p.runtimeDir, 'revive', socket);
