// The Docker engine client (dockerode) for the socket faass.conf names ([docker] host), and the
// few things every caller does with it. dockerode is loaded on first use, never at import:
// loading it costs 140-200 ms (ssh2, grpc-js, protobufjs), most of a cold start's budget.
import type Docker from 'dockerode';
import { Paths } from '../core/paths';
import { loadDockerSettings } from '../core/settings';
import { functionFilter } from './names';

export function engineClient(socketPath: string): Docker {
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  return new (require('dockerode') as typeof Docker)({ socketPath });
}

// The client for the configured engine, with its socket (for messages).
export function configuredEngine(paths: Paths): { docker: Docker; socketPath: string } {
  const { socketPath } = loadDockerSettings(paths);
  return { docker: engineClient(socketPath), socketPath };
}

// The errno code when the engine's socket cannot be reached (no engine, no permission), else null.
export function unreachableCode(e: unknown): string | null {
  const code = (e as NodeJS.ErrnoException).code;
  return code === 'ENOENT' || code === 'ECONNREFUSED' || code === 'EACCES' ? code : null;
}

// Removes every container of a function of this install (labels faass.install and
// faass.function: a service's, leftovers of a killed runner); another install's are not touched.
// Listing fails loudly; each removal that fails is reported in `failed` (the caller decides
// whether a container that went meanwhile matters).
export async function removeFunctionContainers(docker: Docker, install: string, name: string): Promise<{ found: number; failed: string[] }> {
  const left = await docker.listContainers({ all: true, filters: { label: functionFilter(install, name) } });
  const failed: string[] = [];
  await Promise.all(left.map((c) => docker.getContainer(c.Id).remove({ force: true }).catch((e: Error) => failed.push(`${c.Id.slice(0, 12)}: ${e.message}`))));
  return { found: left.length, failed };
}
