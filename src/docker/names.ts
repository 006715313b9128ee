// Names and labels of faass's containers, shared by the runner, the service app and faassctl
// (kept apart from the code that loads dockerode, so importing them costs nothing).
import { createHash } from 'node:crypto';

export const LABEL = 'faass.function'; // every container of a function or service: its name
export const INSTALL_LABEL = 'faass.install'; // every container: which install of faass made it (installId)
export const CALL_LABEL = 'faass.call'; // a call's container: the call's id
export const serviceContainerName = (name: string): string => `faass-svc-${name}`;

// One install of faass on this host is one configuration directory ($XDG_CONFIG_HOME/faass):
// another user's, or the same user's under another XDG_CONFIG_HOME (a test's sandbox), is
// another install, and may share the engine and even function names. Removals select by this
// label as well as the function's, so they never touch another install's containers.
export const installId = (configDir: string): string => createHash('sha256').update(configDir).digest('hex').slice(0, 16);

// The engine's label filter for the containers of one function of one install; calls only:
// the containers of its calls, not a service's.
export function functionFilter(install: string, name: string, callsOnly = false): string[] {
  return [`${INSTALL_LABEL}=${install}`, `${LABEL}=${name}`, ...(callsOnly ? [CALL_LABEL] : [])];
}
