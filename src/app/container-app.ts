import { FunctionConfig } from '../functions/function-config';
import { log, errorMessage } from '../observe/log';
import { serviceContainerName } from '../docker/names';
import { EngineApi, EngineError } from '../docker/engine-api';
import { containerSpec } from '../docker/container-spec';
import { App } from './process-app';

// A service app in a container named faass-svc-NAME, a fresh one at every start and removed at
// every stop (idle, crash, redeploy), as a function's call gets: what the app wrote is gone with
// it (a writable layer kept across idle stops grew to 734 MB), and what it may write while it
// runs is bounded (container-spec.ts: a read-only root, a size-bounded tmpfs /tmp). All through
// EngineApi: dockerode is never loaded here.
export class ContainerApp implements App {
  private readonly engine: EngineApi;
  private started = false;
  private id: string | null = null;
  private done = false;
  exited: Promise<string>;
  private resolveExit!: (why: string) => void;

  constructor(
    private readonly cfg: FunctionConfig,
    socketPath: string,
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
    // One left by an app that was killed (its stop never ran) holds the name: it goes first.
    await this.engine.remove(this.containerName);
    this.id = (await this.engine.create(containerSpec(this.cfg, { kind: 'service', install: this.install }))).slice(0, 12);
    this.started = true;
    await this.engine.start(this.containerName);
    log.info(`Created container ${this.containerName} (${this.id})`);
    if (this.cfg.network === 'bridge') {
      // An engine without a bridge (dockerd --bridge=none) runs the container unpublished:
      // say so now rather than wait out the readiness timeout.
      const ports = (await this.engine.inspect(this.containerName))?.NetworkSettings?.Ports?.[`${this.cfg.port}/tcp`];
      if (!ports || ports.length === 0) {
        await this.stop(0);
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

  // Stopped (within the grace time), then removed, also when it ended by itself: nothing of it
  // outlives the unit.
  async stop(graceSeconds: number): Promise<void> {
    if (!this.started) return;
    if (!this.done && !(await this.stopContainer(graceSeconds))) return;
    await this.engine.remove(this.containerName).catch((e) => log.warning(`Failed to remove container ${this.id ?? this.containerName}: ${errorMessage(e)}; the next start removes it`));
  }

  // A stop the engine refuses is said once and tried again within what is left of the grace;
  // then the container is killed and removed: one left running would hold its port, memory and
  // CPU with no unit to show for it. False when even that failed (it is left running).
  private async stopContainer(graceSeconds: number): Promise<boolean> {
    const started = Date.now();
    const stop = (grace: number) =>
      this.engine.stop(this.containerName, grace).then(
        () => null,
        (e: unknown) => (e instanceof EngineError && e.statusCode === 404 ? null : e), // gone already
      );
    const refused = await stop(graceSeconds);
    if (refused === null) return true;
    log.warning(`Failed to stop container ${this.id ?? this.containerName}: ${errorMessage(refused)}, retrying`);
    if ((await stop(Math.max(0, graceSeconds - (Date.now() - started) / 1000))) === null) return true;
    return this.engine.remove(this.containerName).then(
      () => true,
      (e) => {
        log.err(`Failed to kill container ${this.id ?? this.containerName}: ${errorMessage(e)}; it is left running`);
        return false;
      },
    );
  }
}
