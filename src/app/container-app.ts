import { FunctionConfig } from '../functions/function-config';
import { log, errorMessage } from '../observe/log';
import { DEFINITION_LABEL, serviceContainerName } from '../docker/names';
import { EngineApi, EngineError } from '../docker/engine-api';
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
  private id: string | null = null;
  private done = false;
  exited: Promise<string>;
  private resolveExit!: (why: string) => void;

  constructor(
    private readonly cfg: FunctionConfig,
    private readonly socketPath: string,
    private readonly install: string, // names.ts installId
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
    const opts = containerSpec(this.cfg, { kind: 'service', install: this.install });
    const info = await this.engine.inspect(this.containerName);
    if (info && info.Config.Labels?.[DEFINITION_LABEL] === opts.Labels?.[DEFINITION_LABEL]) {
      if (!info.State.Running) await this.engine.start(this.containerName);
      this.id = info.Id.slice(0, 12);
      log.info(`Started container ${this.containerName} again (${this.id})`);
    } else {
      const docker = engineClient(this.socketPath);
      if (info) {
        log.info(`Definition of ${this.cfg.name} changed: recreating container ${this.containerName}`);
        await docker.getContainer(this.containerName).remove({ force: true });
      }
      const created = await docker.createContainer(opts);
      await created.start();
      this.id = created.id.slice(0, 12);
      log.info(`Created container ${this.containerName} (${this.id})`);
    }
    this.started = true;
    if (this.cfg.network === 'bridge') {
      // An engine without a bridge (dockerd --bridge=none) runs the container unpublished:
      // say so now rather than wait out the readiness timeout.
      const ports = (await this.engine.inspect(this.containerName))?.NetworkSettings?.Ports?.[`${this.cfg.port}/tcp`];
      if (!ports || ports.length === 0) {
        await this.stopContainer(0);
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
    await this.stopContainer(graceSeconds);
  }

  // A stop the engine refuses is said once and tried again within what is left of the grace;
  // then the container is killed and removed (the next start creates it anew): one left running
  // would hold its port, memory and CPU with no unit to show for it.
  private async stopContainer(graceSeconds: number): Promise<void> {
    const started = Date.now();
    const stop = (grace: number) =>
      this.engine.stop(this.containerName, grace).then(
        () => null,
        (e: unknown) => (e instanceof EngineError && e.statusCode === 404 ? null : e), // gone already
      );
    const refused = await stop(graceSeconds);
    if (refused === null) return;
    log.warning(`Failed to stop container ${this.id ?? this.containerName}: ${errorMessage(refused)}, retrying`);
    if ((await stop(Math.max(0, graceSeconds - (Date.now() - started) / 1000))) === null) return;
    await this.engine.remove(this.containerName).catch((e) => log.err(`Failed to kill container ${this.id ?? this.containerName}: ${errorMessage(e)}; it is left running`));
  }
}
