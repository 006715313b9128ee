import type Docker from 'dockerode';
import { createHash } from 'node:crypto';
import { FunctionConfig } from '../lib/function-config';
import { log } from '../lib/log';
import { LABEL, DEFINITION_LABEL, serviceContainerName } from '../lib/containers';
import { EngineApi } from './engine-api';
import { splitCommand } from '../runner/exec-executor';
import { App } from './process-app';

// The container of a service: the app's port on 127.0.0.1 of the host, either directly (host
// network) or published from a bridge network (the app then listens on 0.0.0.0:PORT inside).
// Labelled with a hash of these options: a change of any of them recreates the container.
export function serviceContainerOptions(cfg: FunctionConfig): Docker.ContainerCreateOptions {
  const cmd = cfg.command === undefined ? undefined : splitCommand(cfg.command);
  const port = `${cfg.port}/tcp`;
  const bridge = cfg.network === 'bridge';
  const opts: Docker.ContainerCreateOptions = {
    name: serviceContainerName(cfg.name),
    Image: cfg.image,
    Cmd: cmd,
    Env: Object.entries({ ...cfg.env, PORT: String(cfg.port) }).map(([k, v]) => `${k}=${v}`),
    Labels: { [LABEL]: cfg.name },
    ExposedPorts: bridge ? { [port]: {} } : undefined,
    HostConfig: {
      // An init as PID 1: an app that is PID 1 ignores SIGTERM, and every idle stop would
      // wait out the grace time (10 s measured with busybox httpd) before SIGKILL.
      Init: true,
      NetworkMode: bridge ? 'bridge' : 'host',
      PortBindings: bridge ? { [port]: [{ HostIp: '127.0.0.1', HostPort: String(cfg.port) }] } : undefined,
      Tmpfs: { '/tmp': 'rw,nosuid,nodev,size=64m' },
      SecurityOpt: ['no-new-privileges'],
      CapDrop: ['ALL'],
      Memory: cfg.memoryMax !== undefined ? Number(cfg.memoryMax) : 512 * 1024 * 1024,
      PidsLimit: cfg.tasksMax ?? 256,
      NanoCpus: cfg.cpuQuota !== undefined ? cfg.cpuQuota * 1e7 : undefined,
    },
  };
  const definition = createHash('sha256').update(JSON.stringify(opts)).digest('hex').slice(0, 16);
  (opts.Labels as Record<string, string>)[DEFINITION_LABEL] = definition;
  return opts;
}

// A service app in a long-lived container named faass-svc-NAME: stopped when idle, started
// again as it is while its definition is unchanged (label faass.definition), recreated when not.
// The common path (inspect, start, wait, stop) uses EngineApi; dockerode is loaded only to
// create a container (first start, or a changed definition).
export class ContainerApp implements App {
  private readonly engine: EngineApi;
  private started = false;
  private done = false;
  exited: Promise<string>;
  private resolveExit!: (why: string) => void;

  constructor(
    private readonly cfg: FunctionConfig,
    private readonly socketPath: string,
  ) {
    this.engine = new EngineApi(socketPath);
    this.exited = new Promise((r) => (this.resolveExit = r));
  }

  get containerName(): string {
    return serviceContainerName(this.cfg.name);
  }

  describe(): string {
    return `container ${this.containerName} of ${this.cfg.image}`;
  }

  async start(): Promise<void> {
    const opts = serviceContainerOptions(this.cfg);
    const info = await this.engine.inspect(this.containerName);
    if (info && info.Config.Labels?.[DEFINITION_LABEL] === opts.Labels?.[DEFINITION_LABEL]) {
      if (!info.State.Running) await this.engine.start(this.containerName);
      log.info(`Started container ${this.containerName} again (${info.Id.slice(0, 12)})`);
    } else {
      // eslint-disable-next-line @typescript-eslint/no-var-requires
      const docker: Docker = new (require('dockerode') as typeof Docker)({ socketPath: this.socketPath });
      if (info) {
        log.info(`Definition of ${this.cfg.name} changed: recreating container ${this.containerName}`);
        await docker.getContainer(this.containerName).remove({ force: true });
      }
      const created = await docker.createContainer(opts);
      await created.start();
      log.info(`Created container ${this.containerName} (${created.id.slice(0, 12)})`);
    }
    this.started = true;
    if (this.cfg.network === 'bridge') {
      // An engine without a bridge (dockerd --bridge=none) runs the container unpublished:
      // say so now rather than wait out the readiness timeout.
      const ports = (await this.engine.inspect(this.containerName))?.NetworkSettings?.Ports?.[`${this.cfg.port}/tcp`];
      if (!ports || ports.length === 0) {
        await this.engine.stop(this.containerName, 0).catch(() => undefined);
        throw new Error(`the Docker engine did not publish port ${this.cfg.port} of ${this.containerName} (has it a bridge network? dockerd --bridge=none has not); use network=host`);
      }
    }
    this.engine.wait(this.containerName).then(
      (status) => {
        this.done = true;
        this.resolveExit(`container exited with status ${status}`);
      },
      (e: Error) => {
        this.done = true;
        this.resolveExit(`lost the container: ${e.message}`);
      },
    );
  }

  alive(): boolean {
    return this.started && !this.done;
  }

  async stop(graceSeconds: number): Promise<void> {
    if (!this.started || this.done) return;
    await this.engine.stop(this.containerName, graceSeconds).catch(() => undefined);
  }
}
