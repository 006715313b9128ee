import { spawn, ChildProcess } from 'node:child_process';
import { FunctionConfig } from '../functions/function-config';
import { commandArgv, baseEnv } from '../runner/exec-executor';
import { LineLogger } from '../runner/line-logger';
import { killGroup } from '../core/process-group';
import { AppAddress } from './ready';

export interface App {
  start(): Promise<void>;
  alive(): boolean;
  exited: Promise<string>; // why it stopped by itself
  stop(graceSeconds: number): Promise<void>;
  describe(): string;
  readonly address: AppAddress; // where it is ready, and reached
}

// A service app that is a process (group) of this unit; PORT tells it where to listen.
export class ProcessApp implements App {
  private child: ChildProcess | null = null;
  private done = false;
  exited: Promise<string>;
  private resolveExit!: (why: string) => void;

  constructor(
    private readonly cfg: FunctionConfig,
    private readonly codeDir: string,
  ) {
    this.exited = new Promise((r) => (this.resolveExit = r));
  }

  // Its own network (network=none) is its unit's, which this program shares: the port is here.
  get address(): AppAddress {
    return { port: this.cfg.port as number };
  }

  describe(): string {
    return `process ${JSON.stringify(this.cfg.command)}`;
  }

  async start(): Promise<void> {
    const argv = commandArgv(this.cfg, this.codeDir);
    const child = spawn(argv[0], argv.slice(1), { cwd: this.codeDir, env: { ...baseEnv(this.cfg), PORT: String(this.cfg.port) }, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    const out = new LineLogger(this.cfg.name, 'info');
    const err = new LineLogger(this.cfg.name, 'err');
    child.stdout?.on('data', (d: Buffer) => out.write(d));
    child.stderr?.on('data', (d: Buffer) => err.write(d));
    child.on('error', (e) => {
      this.done = true;
      this.resolveExit(`failed to start: ${e.message}`);
    });
    child.on('exit', (code, signal) => {
      out.end();
      err.end();
      this.done = true;
      this.resolveExit(signal ? `was killed by ${signal}` : `exited with status ${code}`);
    });
  }

  alive(): boolean {
    return this.child !== null && !this.done;
  }

  async stop(graceSeconds: number): Promise<void> {
    const pid = this.child?.pid;
    if (!pid || this.done) return;
    await killGroup(pid, graceSeconds, this.exited);
  }
}
