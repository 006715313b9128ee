import Docker from 'dockerode';
import { createHash } from 'node:crypto';
import { FunctionConfig } from '../lib/function-config';
import { log } from '../lib/log';
import { LABEL } from '../runner/docker-executor';
import { splitCommand } from '../runner/exec-executor';
import { App } from './process-app';


// A service app in a long-lived container named faass-svc-NAME: stopped when idle, started
// again as it is while its definition is unchanged (label faass.definition), recreated when not.
export class ContainerApp implements App {
  private readonly docker: Docker;
  private container: Docker.Container | null = null;
  private done = false;
  exited: Promise<string>;
  private resolveExit!: (why: string) => void;

  constructor(
    private readonly cfg: FunctionConfig,
    socketPath: string,
  ) {
    this.docker = new Docker({ socketPath });
    this.exited = new Promise((r) => (this.resolveExit = r));
  }

  get containerName(): string {
    return `faass-svc-${this.cfg.name}`;
  }

  describe(): string {
    return `container ${this.containerName} of ${this.cfg.image}`;
  }

  private options(): Docker.ContainerCreateOptions {
    const cfg = this.cfg;
    const cmd = cfg.command === undefined ? undefined : splitCommand(cfg.command);
    const opts: Docker.ContainerCreateOptions = {
      name: this.containerName,
      Image: cfg.image,
      Cmd: cmd,
      Env: Object.entries({ ...cfg.env, PORT: String(cfg.port) }).map(([k, v]) => `${k}=${v}`),
      Labels: { [LABEL]: cfg.name },
      HostConfig: {
        // An init as PID 1: an app that is PID 1 ignores SIGTERM, and every idle stop would
        // wait out the grace time (10 s measured with busybox httpd) before SIGKILL.
        Init: true,
        NetworkMode: 'host',
        Tmpfs: { '/tmp': 'rw,nosuid,nodev,size=64m' },
        SecurityOpt: ['no-new-privileges'],
        CapDrop: ['ALL'],
        Memory: cfg.memoryMax !== undefined ? Number(cfg.memoryMax) : 512 * 1024 * 1024,
        PidsLimit: cfg.tasksMax ?? 256,
        NanoCpus: cfg.cpuQuota !== undefined ? cfg.cpuQuota * 1e7 : undefined,
      },
    };
    const definition = createHash('sha256').update(JSON.stringify(opts)).digest('hex').slice(0, 16);
    (opts.Labels as Record<string, string>)['faass.definition'] = definition;
    return opts;
  }

  async start(): Promise<void> {
    const opts = this.options();
    const existing = this.docker.getContainer(this.containerName);
    const info = await existing.inspect().catch((e: { statusCode?: number }) => {
      if (e.statusCode === 404) return null;
      throw e;
    });
    if (info && info.Config.Labels?.['faass.definition'] === opts.Labels?.['faass.definition']) {
      this.container = existing;
      if (!info.State.Running) await existing.start();
      log.info(`Started container ${this.containerName} again (${info.Id.slice(0, 12)})`);
    } else {
      if (info) {
        log.info(`Definition of ${this.cfg.name} changed: recreating container ${this.containerName}`);
        await existing.remove({ force: true });
      }
      this.container = await this.docker.createContainer(opts);
      await this.container.start();
      log.info(`Created container ${this.containerName} (${this.container.id.slice(0, 12)})`);
    }
    void this.container.wait().then(
      (r: { StatusCode: number }) => {
        this.done = true;
        this.resolveExit(`container exited with status ${r.StatusCode}`);
      },
      (e: Error) => {
        this.done = true;
        this.resolveExit(`lost the container: ${e.message}`);
      },
    );
  }

  alive(): boolean {
    return this.container !== null && !this.done;
  }

  async stop(graceSeconds: number): Promise<void> {
    if (!this.container || this.done) return;
    await this.container.stop({ t: Math.ceil(graceSeconds) }).catch(() => undefined);
  }
}
