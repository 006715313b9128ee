import * as fs from 'node:fs';
import { FunctionConfig } from '../functions/function-config';
import { log, errorMessage } from '../observe/log';
import { serviceContainerName, forwarderContainerName, functionFilter } from '../docker/names';
import { EngineApi, EngineError } from '../docker/engine-api';
import { containerSpec, forwarderSpec } from '../docker/container-spec';
import { reachedThroughSocket } from '../systemd/units';
import { resolvePaths, secretsDir } from '../core/paths';
import { App } from './process-app';
import { AppAddress } from './ready';

// The forwarder's program in dist/app/, built from forward.c by scripts/post-build.js.
export const FORWARDER_FILE = 'faass-forward';

// Where the forwarder into a container's own network is (network=none): its program on the
// host, and the service's runtime directory, where it puts the socket the proxy connects to.
export interface ForwarderFiles {
  program: string;
  socketDir: string;
  socketPath: string; // socketDir/app.sock, as the host sees it
}

// A service app in a container, a fresh one at every start and removed at every stop (idle,
// crash, redeploy), as a function's call gets: what the app wrote is gone with it (a writable
// layer kept across idle stops grew to 734 MB), and what it may write while it runs is bounded
// (container-spec.ts: a read-only root, a size-bounded tmpfs /tmp). With network=none (the
// default) a second container, the forwarder, shares the app's network and is its only way in
// (container-spec.ts forwarderSpec); both live and die together: either ending ends the app.
// Its secrets are the store's files bound read-only at /var/openfaas/secrets/NAME (a fresh
// container at each start: a new value reaches the next one), as a call's container has them.
// All through EngineApi: dockerode is never loaded here.
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
    private readonly forwarder: ForwarderFiles | null = null, // given when reachedThroughSocket(cfg)
  ) {
    this.engine = new EngineApi(socketPath);
    this.exited = new Promise((r) => (this.resolveExit = r));
    if (reachedThroughSocket(cfg) && !forwarder) throw new Error(`service ${cfg.name} has a network of its own (network=none) and needs its forwarder`);
  }

  get containerName(): string {
    return serviceContainerName(this.install, this.cfg.name);
  }

  private get forwarderName(): string {
    return forwarderContainerName(this.install, this.cfg.name);
  }

  private get containers(): string[] {
    return this.forwarder ? [this.forwarderName, this.containerName] : [this.containerName];
  }

  get address(): AppAddress {
    return this.forwarder ? { socketPath: this.forwarder.socketPath } : { port: this.cfg.port as number };
  }

  describe(): string {
    return `container ${this.containerName} of ${this.cfg.image}${this.forwarder ? ', in a network of its own' : ''}`;
  }

  async start(): Promise<void> {
    const f = this.forwarder;
    if (f && !fs.existsSync(f.program)) throw new Error(`faass's forwarder ${f.program} is missing, so a container in a network of its own (network=none) cannot be reached: build faass with a C compiler and a static libc (apt-get install gcc libc6-dev, then ./install.sh again), or deploy the service with --network host`);
    await this.removeLeftovers();
    this.id = (await this.engine.create(containerSpec(this.cfg, { kind: 'service', install: this.install, secrets: this.cfg.secrets.length > 0 ? secretsDir(resolvePaths()) : undefined }))).slice(0, 12);
    this.started = true;
    if (f) await this.startWithForwarder(f);
    else await this.engine.start(this.containerName);
    log.info(`Created container ${this.containerName} (${this.id})${this.forwarder ? ` and its forwarder ${this.forwarderName}` : ''}`);
    if (this.cfg.network === 'bridge') await this.checkPublished();
    for (const name of this.containers) this.watch(name);
  }

  // The forwarder joins the app's network, which exists once the app runs: it is created while
  // the app starts and started after. A socket left by a killed forwarder goes first, or the
  // readiness probe could take it for the new one's.
  private async startWithForwarder(f: ForwarderFiles): Promise<void> {
    fs.mkdirSync(f.socketDir, { recursive: true, mode: 0o700 }); // made by systemd under a unit; not under faassctl serve
    fs.rmSync(f.socketPath, { force: true });
    const place = { appId: this.id ?? '', socketDir: f.socketDir, program: f.program, user: `${process.getuid?.() ?? 0}:${process.getgid?.() ?? 0}` };
    await Promise.all([this.engine.start(this.containerName), this.engine.create(forwarderSpec(this.cfg, this.install, place))]);
    await this.engine.start(this.forwarderName);
  }

  // Containers of this service of this install that a killed app left (its stop never ran): by
  // their labels, so that names of an older faass (faass-svc-NAME) are found too. One left running
  // holds the name; on the host's network, the port.
  private async removeLeftovers(): Promise<void> {
    const left = await this.engine.list(functionFilter(this.install, this.cfg.name));
    await Promise.all(left.map((id) => this.engine.remove(id)));
  }

  // An engine without a bridge (dockerd --bridge=none) runs the container unpublished: say so
  // now rather than wait out the readiness timeout.
  private async checkPublished(): Promise<void> {
    const ports = (await this.engine.inspect(this.containerName))?.NetworkSettings?.Ports?.[`${this.cfg.port}/tcp`];
    if (ports && ports.length > 0) return;
    await this.stop(0);
    throw new Error(`the Docker engine did not publish port ${this.cfg.port} of ${this.containerName} (has it a bridge network? dockerd --bridge=none has not); use network=none or host`);
  }

  // The first of the containers to end ends the app: without its forwarder an app is
  // unreachable, and without its app a forwarder has nothing to forward to.
  private watch(name: string): void {
    const what = name === this.containerName ? 'container' : 'forwarder container';
    this.engine.wait(name).then(
      (status) => this.ended(`${what} exited with status ${status}`),
      (e: Error) => this.ended(`lost the ${what}: ${e.message}`),
    );
  }

  private ended(why: string): void {
    this.done = true;
    this.resolveExit(why);
  }

  alive(): boolean {
    return this.started && !this.done;
  }

  // Stopped (the app within the grace time, the forwarder at once), then removed, also when
  // they ended by themselves: nothing of them outlives the unit.
  async stop(graceSeconds: number): Promise<void> {
    if (!this.started) return;
    if (this.forwarder) await this.removeContainer(this.forwarderName);
    if (!this.done && !(await this.stopContainer(graceSeconds))) return;
    await this.removeContainer(this.containerName);
  }

  private removeContainer(name: string): Promise<void> {
    return this.engine.remove(name).catch((e) => log.warning(`Failed to remove container ${name === this.containerName ? (this.id ?? name) : name}: ${errorMessage(e)}; the next start removes it`));
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
