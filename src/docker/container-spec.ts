// The one container spec of faass (pure: config in, Engine API create options out), for both
// kinds of container: a fresh one per call of a docker function, and the long-lived one of a
// container service. Shared: image, command, env, the labels (function, install), the sandbox (no
// capabilities, no-new-privileges, a read-only root with a tmpfs /tmp of scratch_max: all a
// container may write, counted in its memory too) and the limits (memory, pids, CPU).
// What differs, and why, is in containerSpec's one switch.
import type Docker from 'dockerode';
import type { FunctionConfig } from '../functions/function-config';
import { splitCommand } from '../functions/command-line';
import { LABEL, INSTALL_LABEL, CALL_LABEL, ROLE_LABEL, FORWARDER_ROLE, serviceContainerName, forwarderContainerName } from './names';

const MiB = 1024 * 1024;

// A function's limits (memory_max, tasks_max, cpu_quota) bound the function as a whole, whatever
// runs it. A service is one container: it gets them. A function's calls run in at most `workers`
// containers at once (the runner queues the rest), and each gets an equal share: the sum never
// exceeds the function's limit. Without memory_max or tasks_max a function may use
// DEFAULT_FUNCTION_* in all (at the default workers=4, what a container got before: 512M, 256
// pids), a service DEFAULT_*; without cpu_quota, neither has a CPU limit.
export const DEFAULT_MEMORY = 512 * MiB;
export const DEFAULT_PIDS = 256;
export const DEFAULT_FUNCTION_MEMORY = 2048 * MiB;
export const DEFAULT_FUNCTION_PIDS = 1024;
// The least share a call's container may get; a deploy that would give less is refused
// (shareProblem). The engine refuses under 6M of memory; a shell and its command need a few
// pids (sh -c 'a | b': 3; runc's init needs none of them, measured: docs/DESIGN.md); 1% of a
// CPU is the engine's least (NanoCpus 1e7).
export const MIN_CONTAINER_MEMORY = 16 * MiB;
export const MIN_CONTAINER_PIDS = 4;
export const MIN_CONTAINER_CPU = 1;

// One call's container: its id (label faass.call), the call's environment, and the secret store
// on the host (paths.ts secretsDir; undefined: the function names none). install: the install's
// id (names.ts), on every container.
export type ContainerUse = { kind: 'call'; install: string; callId: string; env: Record<string, string>; secrets?: string } | { kind: 'service'; install: string; secrets?: string };

// Where a container reads its secrets: OpenFaaS's path, also named by $CREDENTIALS_DIRECTORY in
// it, so a handler reads them the same way in a container and in a process (units.ts
// OPENFAAS_SECRETS, the same path).
export const CONTAINER_SECRETS = '/var/openfaas/secrets';

// Each secret's file in the store, bound read-only, file by file, as the call's container is
// created: the engine makes the mount points in the container's own root, and a value replaced
// (renamed into place) reaches the next call's container. The store and not the runner's
// credentials directory: the engine binds from the host's view, where that directory may not be.
function secretMounts(cfg: FunctionConfig, store: string | undefined): Docker.MountSettings[] {
  if (store === undefined) return [];
  return cfg.secrets.map((s) => ({ Type: 'bind' as const, Source: `${store}/${s}`, Target: `${CONTAINER_SECRETS}/${s}`, ReadOnly: true }));
}

interface Limits {
  memory: number; // bytes
  pids: number;
  cpu?: number; // percent of one CPU
}

// What the function may use in all.
export function functionLimits(cfg: FunctionConfig): Limits {
  const calls = cfg.kind === 'function';
  return {
    memory: cfg.memoryMax !== undefined ? Number(cfg.memoryMax) : calls ? DEFAULT_FUNCTION_MEMORY : DEFAULT_MEMORY,
    pids: cfg.tasksMax ?? (calls ? DEFAULT_FUNCTION_PIDS : DEFAULT_PIDS),
    cpu: cfg.cpuQuota,
  };
}

// What one of its containers gets: all of it for a service, a share for a call. Memory is
// rounded down to whole pages (the kernel would round up), so shares never add up to more.
export function containerLimits(cfg: FunctionConfig): Limits {
  const all = functionLimits(cfg);
  if (cfg.kind === 'service') return all;
  const n = cfg.workers;
  return { memory: Math.floor(all.memory / n / 4096) * 4096, pids: Math.floor(all.pids / n), cpu: all.cpu === undefined ? undefined : all.cpu / n };
}

export const memoryLimit = (cfg: FunctionConfig): number => containerLimits(cfg).memory;

export const mib = (bytes: number): string => `${Number((bytes / MiB).toFixed(1))}M`;

// Why a container function's limits cannot be shared among its containers, or null.
export function shareProblem(cfg: FunctionConfig): string | null {
  if (cfg.runtime !== 'docker' || cfg.kind !== 'function') return null;
  const all = functionLimits(cfg);
  const each = containerLimits(cfg);
  const by = `shared by workers=${cfg.workers} containers leaves`;
  const dflt = (set: unknown) => (set === undefined ? ' (the default)' : '');
  if (each.memory < MIN_CONTAINER_MEMORY) return `memory_max=${mib(all.memory)}${dflt(cfg.memoryMax)} ${by} ${mib(each.memory)} each, below the ${mib(MIN_CONTAINER_MEMORY)} a container needs: raise memory_max or lower workers`;
  if (each.pids < MIN_CONTAINER_PIDS) return `tasks_max=${all.pids}${dflt(cfg.tasksMax)} ${by} ${each.pids} each, below the ${MIN_CONTAINER_PIDS} a container needs: raise tasks_max or lower workers`;
  if (each.cpu !== undefined && each.cpu < MIN_CONTAINER_CPU) return `cpu_quota=${all.cpu} ${by} ${Number(each.cpu.toFixed(2))}% of a CPU each, below the engine's least, ${MIN_CONTAINER_CPU}%: raise cpu_quota or lower workers`;
  return null;
}

// What a container may write: its /tmp, scratch_max (64M by default) as for a process's, on a
// read-only root. Bounded, and gone with the container. The engine's own bound on a writable
// layer (--storage-opt size) exists only on some storage drivers (overlay2 on xfs with project
// quotas), not on the ext4 of the usual host nor of the test machines.
const tmpfsSize = (bytes: number): string => (bytes % MiB === 0 ? `${bytes / MiB}m` : String(bytes));

function limits(cfg: FunctionConfig): Docker.HostConfig {
  const own = containerLimits(cfg);
  return {
    ReadonlyRootfs: true,
    Tmpfs: { '/tmp': `rw,nosuid,nodev,size=${tmpfsSize(cfg.scratchMax)}` },
    SecurityOpt: ['no-new-privileges'],
    CapDrop: ['ALL'],
    Memory: own.memory,
    // No swap (MemorySwap, memory plus swap, equal to Memory), for calls and services alike.
    // Given Memory alone, the engine allows as much swap again on a host that has swap: a
    // container over memory_max would crawl, swapping, into its timeout instead of being
    // OOM-killed and reported as out of memory, and memory_max would not mean what it says.
    MemorySwap: own.memory,
    PidsLimit: own.pids,
    NanoCpus: own.cpu !== undefined ? Math.floor(own.cpu * 1e7) : undefined, // cpu_quota is in % of one CPU
  };
}

const envList = (env: Record<string, string>): string[] => Object.entries(env).map(([k, v]) => `${k}=${v}`);

export function containerSpec(cfg: FunctionConfig, use: ContainerUse): Docker.ContainerCreateOptions {
  const Cmd = cfg.command === undefined ? undefined : splitCommand(cfg.command);
  switch (use.kind) {
    case 'call': {
      // Locked down: the network the function asks for (none by default).
      // Created with stdin open and attached: the body is its stdin, its stdout the answer.
      const secrets = secretMounts(cfg, use.secrets);
      return {
        Image: cfg.image,
        Cmd,
        Env: envList({ ...cfg.env, ...use.env, ...(secrets.length > 0 ? { CREDENTIALS_DIRECTORY: CONTAINER_SECRETS } : {}) }),
        AttachStdin: true,
        AttachStdout: true,
        AttachStderr: true,
        OpenStdin: true,
        StdinOnce: true,
        Tty: false,
        NetworkDisabled: cfg.network === 'none',
        Labels: { [LABEL]: cfg.name, [INSTALL_LABEL]: use.install, [CALL_LABEL]: use.callId },
        HostConfig: { NetworkMode: cfg.network, ...limits(cfg), ...(secrets.length > 0 ? { Mounts: secrets } : {}) },
      };
    }
    case 'service':
      return serviceSpec(cfg, use.install, Cmd, limits(cfg), secretMounts(cfg, use.secrets));
  }
}

// A service's app, listening on PORT: in a network of its own (none, the default: loopback only,
// reached through its forwarder, forwarderSpec), on the host's, or in a bridge network with the
// port published on the host's 127.0.0.1 (the app then listens on 0.0.0.0:PORT inside). A fresh
// container at each start of the app (app/container-app.ts), so a change of any of these options
// needs nothing more.
// Its secrets as a call's container has them (secretMounts).
function serviceSpec(cfg: FunctionConfig, install: string, Cmd: string[] | undefined, hostLimits: Docker.HostConfig, secrets: Docker.MountSettings[]): Docker.ContainerCreateOptions {
  const port = `${cfg.port}/tcp`;
  const bridge = cfg.network === 'bridge';
  return {
    name: serviceContainerName(install, cfg.name),
    Image: cfg.image,
    Cmd,
    Env: envList({ ...cfg.env, PORT: String(cfg.port), ...(secrets.length > 0 ? { CREDENTIALS_DIRECTORY: CONTAINER_SECRETS } : {}) }),
    Labels: { [LABEL]: cfg.name, [INSTALL_LABEL]: install },
    ExposedPorts: bridge ? { [port]: {} } : undefined,
    HostConfig: {
      // An init as PID 1: an app that is PID 1 ignores SIGTERM, and every idle stop would
      // wait out the grace time (10 s measured with busybox httpd) before SIGKILL.
      Init: true,
      NetworkMode: cfg.network,
      PortBindings: bridge ? { [port]: [{ HostIp: '127.0.0.1', HostPort: String(cfg.port) }] } : undefined,
      ...hostLimits,
      ...(secrets.length > 0 ? { Mounts: secrets } : {}),
    },
  };
}

// Where the forwarder finds its program and puts its socket, inside its container.
export const FORWARDER_DIR = '/.faass';
export const FORWARDER_PROGRAM = `${FORWARDER_DIR}/forward`;
export const FORWARDER_SOCKET = `${FORWARDER_DIR}/svc/app.sock`;
// A process per direction of each connection (forward.c), and the proxy in front opens at most
// 256 at once (systemd-socket-proxyd's --connections-max): 2 × 256 and a few to spare. Memory,
// measured (the container's cgroup): 0.5 MiB idle, ~100 KiB per open connection with one of its
// two processes left (25 MiB at 256); a limit of 32M got the forwarder OOM-killed at 256. Both
// processes of all 256 would take about 50 MiB: 128M bounds it with room, and is no reservation.
export const FORWARDER_PIDS = 2 * 256 + 8;
export const FORWARDER_MEMORY = 128 * 1024 * 1024;

export interface ForwarderPlace {
  appId: string; // the app's container, whose network the forwarder joins
  socketDir: string; // the service's runtime directory on the host: the forwarder's socket goes there
  program: string; // the forwarder (dist/app/faass-forward, static) on the host
  user: string; // uid:gid of faass's user, so the socket is theirs and the proxy may connect
}

// The way into a container service with network=none: a second container in the app's network
// namespace running faass's forwarder (app/forward.c, bound in read-only, static so any image
// runs it), which listens on a unix socket in the service's runtime directory (bound in) and
// copies each connection to 127.0.0.1:PORT. The app's own image, the one image certainly there;
// nothing of it runs (its entrypoint, healthcheck and command are replaced). Locked down as an
// app is, with limits of its own: it is faass's code, not the user's, and needs very little.
export function forwarderSpec(cfg: FunctionConfig, install: string, at: ForwarderPlace): Docker.ContainerCreateOptions {
  return {
    name: forwarderContainerName(install, cfg.name),
    Image: cfg.image,
    Entrypoint: [FORWARDER_PROGRAM],
    Cmd: [FORWARDER_SOCKET, String(cfg.port)],
    User: at.user,
    Env: [],
    WorkingDir: '/',
    Healthcheck: { Test: ['NONE'] },
    StopSignal: 'SIGTERM',
    Labels: { [LABEL]: cfg.name, [INSTALL_LABEL]: install, [ROLE_LABEL]: FORWARDER_ROLE },
    HostConfig: {
      NetworkMode: `container:${at.appId}`,
      Mounts: [
        { Type: 'bind', Source: at.socketDir, Target: `${FORWARDER_DIR}/svc` },
        { Type: 'bind', Source: at.program, Target: FORWARDER_PROGRAM, ReadOnly: true },
      ],
      ReadonlyRootfs: true,
      SecurityOpt: ['no-new-privileges'],
      CapDrop: ['ALL'],
      Memory: FORWARDER_MEMORY,
      MemorySwap: FORWARDER_MEMORY,
      PidsLimit: FORWARDER_PIDS,
    },
  };
}
