import { FunctionConfig } from '../lib/function-config';
import { log } from '../lib/log';
import { DEFINITION_LABEL, serviceContainerName } from '../docker/names';
import { EngineApi } from '../docker/engine-api';
import { containerSpec } from '../docker/container-spec';
import { engineClient } from '../docker/engine';
import { App } from './process-app';

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
    const opts = containerSpec(this.cfg, { kind: 'service' });
    const info = await this.engine.inspect(this.containerName);
    if (info && info.Config.Labels?.[DEFINITION_LABEL] === opts.Labels?.[DEFINITION_LABEL]) {
      if (!info.State.Running) await this.engine.start(this.containerName);
      log.info(`Started container ${this.containerName} again (${info.Id.slice(0, 12)})`);
    } else {
      const docker = engineClient(this.socketPath);
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
