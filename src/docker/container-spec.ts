// The one container spec of faass (pure: config in, Engine API create options out), for both
// kinds of container: a fresh one per call of a docker function, and the long-lived one of a
// container service. Shared: image, command, env, the faass.function label, the sandbox (no
// capabilities, no-new-privileges, a 64M tmpfs /tmp) and the limits (memory, pids, CPU).
// What differs, and why, is in containerSpec's one switch.
import type Docker from 'dockerode';
import { createHash } from 'node:crypto';
import { FunctionConfig } from '../functions/function-config';
import { splitCommand } from '../functions/command-line';
import { LABEL, DEFINITION_LABEL, serviceContainerName } from './names';

export const DEFAULT_MEMORY = 512 * 1024 * 1024;
export const DEFAULT_PIDS = 256;

// One call's container: its id (label faass.call) and the call's environment.
export type ContainerUse = { kind: 'call'; callId: string; env: Record<string, string> } | { kind: 'service' };

export const memoryLimit = (cfg: FunctionConfig): number => (cfg.memoryMax !== undefined ? Number(cfg.memoryMax) : DEFAULT_MEMORY);

function limits(cfg: FunctionConfig): Docker.HostConfig {
  return {
    Tmpfs: { '/tmp': 'rw,nosuid,nodev,size=64m' },
    SecurityOpt: ['no-new-privileges'],
    CapDrop: ['ALL'],
    Memory: memoryLimit(cfg),
    // No swap (MemorySwap, memory plus swap, equal to Memory), for calls and services alike.
    // Given Memory alone, the engine allows as much swap again on a host that has swap: a
    // container over memory_max would crawl, swapping, into its timeout instead of being
    // OOM-killed and reported as out of memory, and memory_max would not mean what it says.
    MemorySwap: memoryLimit(cfg),
    PidsLimit: cfg.tasksMax ?? DEFAULT_PIDS,
    NanoCpus: cfg.cpuQuota !== undefined ? cfg.cpuQuota * 1e7 : undefined, // cpu_quota is in % of one CPU
  };
}

const envList = (env: Record<string, string>): string[] => Object.entries(env).map(([k, v]) => `${k}=${v}`);

export function containerSpec(cfg: FunctionConfig, use: ContainerUse): Docker.ContainerCreateOptions {
  const Cmd = cfg.command === undefined ? undefined : splitCommand(cfg.command);
  switch (use.kind) {
    case 'call':
      // Locked down: the network the function asks for (none by default), a read-only root.
      // Created with stdin open and attached: the body is its stdin, its stdout the answer.
      return {
        Image: cfg.image,
        Cmd,
        Env: envList({ ...cfg.env, ...use.env }),
        AttachStdin: true,
        AttachStdout: true,
        AttachStderr: true,
        OpenStdin: true,
        StdinOnce: true,
        Tty: false,
        NetworkDisabled: cfg.network === 'none',
        Labels: { [LABEL]: cfg.name, 'faass.call': use.callId },
        HostConfig: { NetworkMode: cfg.network, ReadonlyRootfs: true, ...limits(cfg) },
      };
    case 'service':
      return serviceSpec(cfg, Cmd, limits(cfg));
  }
}

// A service's app on 127.0.0.1:PORT of the host, either directly (host network) or published
// from a bridge network (the app then listens on 0.0.0.0:PORT inside). Its root stays writable
// (an app may keep state in its container across idle stops). Labelled with a hash of these
// options: a change of any of them recreates the container.
function serviceSpec(cfg: FunctionConfig, Cmd: string[] | undefined, hostLimits: Docker.HostConfig): Docker.ContainerCreateOptions {
  const port = `${cfg.port}/tcp`;
  const bridge = cfg.network === 'bridge';
  const opts: Docker.ContainerCreateOptions = {
    name: serviceContainerName(cfg.name),
    Image: cfg.image,
    Cmd,
    Env: envList({ ...cfg.env, PORT: String(cfg.port) }),
    Labels: { [LABEL]: cfg.name },
    ExposedPorts: bridge ? { [port]: {} } : undefined,
    HostConfig: {
      // An init as PID 1: an app that is PID 1 ignores SIGTERM, and every idle stop would
      // wait out the grace time (10 s measured with busybox httpd) before SIGKILL.
      Init: true,
      NetworkMode: bridge ? 'bridge' : 'host',
      PortBindings: bridge ? { [port]: [{ HostIp: '127.0.0.1', HostPort: String(cfg.port) }] } : undefined,
      ...hostLimits,
    },
  };
  const definition = createHash('sha256').update(JSON.stringify(opts)).digest('hex').slice(0, 16);
  (opts.Labels as Record<string, string>)[DEFINITION_LABEL] = definition;
  return opts;
}
