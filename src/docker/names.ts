// Names and labels of faass's containers, shared by the runner, the service app and faassctl
// (kept apart from the code that loads dockerode, so importing them costs nothing).
import { createHash } from 'node:crypto';

export const LABEL = 'faass.function'; // every container of a function or service: its name
export const INSTALL_LABEL = 'faass.install'; // every container: which install of faass made it (installId)
export const CALL_LABEL = 'faass.call'; // a call's container: the call's id
export const ROLE_LABEL = 'faass.role'; // a service's forwarder (FORWARDER_ROLE): not the app itself
export const FORWARDER_ROLE = 'forwarder';

// A service's containers: its app, and the forwarder into the app's own network (network=none).
// The install's id is in the name, as one engine may serve several installs (another user's, a
// test's sandbox) with a service of the same name; names made before it was (faass-svc-NAME) are
// still found by their labels (functionFilter), which is how leftovers are removed. Function names
// are DNS labels ([a-z0-9-], validate.ts) and the id is 16 hex digits: within the engine's name
// rule ([a-zA-Z0-9][a-zA-Z0-9_.-]*), and the two prefixes keep the app's and the forwarder's apart
// whatever the names (a service "web-fwd" is not web's forwarder).
export const serviceContainerName = (install: string, name: string): string => `faass-svc-${install}-${name}`;
export const forwarderContainerName = (install: string, name: string): string => `faass-fwd-${install}-${name}`;

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
