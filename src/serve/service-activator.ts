// A service (kind=service) under faassctl serve: what its units do under systemd — the socket,
// systemd-socket-proxyd with --exit-idle-time=idle, and the app unit it pulls in and stops when
// unneeded — done here. serve accepts on the function's socket (it must see the first connection
// to start the app, which a held socket cannot tell it), starts the app's program (app/main.js,
// as its unit runs it) on demand, waits for its READY=1 (program.ts; as Type=notify makes
// systemd wait), copies bytes both ways, and stops the app once no
// connection was open for idle seconds. A connection the app cannot take (it did not get ready)
// is closed, as the proxy closes it: the gateway answers 503 with the reason the app recorded.
import * as net from 'node:net';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Paths, functionSocketPath, serviceFailurePath, serviceAppSocket } from '../core/paths';
import { FunctionConfig } from '../functions/function-config';
import { writeFileAtomic } from '../core/fs-atomic';
import { privateDir } from '../core/private-files';
import { privateNetwork, reachedThroughSocket } from '../systemd/units';
import { Program } from './program';
import { LogFile } from './log-files';
import { loadCredentials } from './credentials';

// Why serve does not run this service, or null. A process app with network=none is promised a
// network of its own that nothing but faass reaches (units.ts privateNetwork, so --auth holds);
// serve has no namespace to give it, and fails closed rather than leave its port on the host's
// loopback for every local user.
export function unservable(cfg: FunctionConfig): string | null {
  if (!privateNetwork(cfg)) return null;
  return `faassctl serve cannot give a service a network of its own (network=none, the default for a process app): deploy it with --network host (its port is then reachable on 127.0.0.1:${cfg.port} by every local user), or run faass under a systemd user manager`;
}

export class ServiceActivator {
  private readonly server: net.Server;
  private readonly app: Program;
  private readonly connections = new Set<net.Socket>();
  private ready: Promise<boolean> | null = null; // the app's start, while it runs
  private idleTimer: NodeJS.Timeout | null = null;
  private readonly script: string;

  private constructor(
    private readonly paths: Paths,
    private cfg: FunctionConfig,
    script: string,
    notifyPath: string,
    private readonly log: LogFile,
    onChange: () => void,
  ) {
    // Not started again when it ends: the next connection starts it, as it starts the unit.
    this.app = new Program({ script, args: ['--function', cfg.name], sockets: [] }, notifyPath, log, onChange, false);
    this.script = script;
    this.server = net.createServer((c) => this.accept(c));
  }

  static async start(paths: Paths, cfg: FunctionConfig, script: string, notifyPath: string, log: LogFile, onChange: () => void): Promise<ServiceActivator> {
    const a = new ServiceActivator(paths, cfg, script, notifyPath, log, onChange);
    await a.listen();
    return a;
  }

  get pid(): number | null {
    return this.app.pid;
  }

  // A redeploy: the running app (old code, old settings) stops; the next connection starts the new one.
  async update(cfg: FunctionConfig): Promise<void> {
    this.cfg = cfg;
    await this.stopApp();
  }

  async close(): Promise<void> {
    this.server.close();
    for (const c of this.connections) c.destroy();
    this.cancelIdle();
    await this.app.close();
    fs.rmSync(functionSocketPath(this.paths, this.cfg.name), { force: true });
  }

  // The socket, private before its name appears (bound under a temporary name, renamed).
  private listen(): Promise<void> {
    const file = functionSocketPath(this.paths, this.cfg.name);
    privateDir(this.paths, path.dirname(file));
    const tmp = `${file}.${process.pid}.tmp`;
    fs.rmSync(tmp, { force: true });
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen({ path: tmp, backlog: 4096 }, () => {
        fs.chmodSync(tmp, 0o600);
        fs.renameSync(tmp, file);
        resolve();
      });
    });
  }

  private accept(client: net.Socket): void {
    this.connections.add(client);
    this.cancelIdle();
    client.on('error', () => client.destroy());
    client.once('close', () => {
      this.connections.delete(client);
      if (this.connections.size === 0) this.armIdle();
    });
    const why = unservable(this.cfg);
    if (why) return this.refuse(client, why);
    void this.startApp().then((ok) => {
      if (!ok || client.destroyed) return void client.destroy();
      // A container in a network of its own is reached through its forwarder's socket, as the proxy reaches it under systemd.
      const up = net.connect(reachedThroughSocket(this.cfg) ? { path: serviceAppSocket(this.paths, this.cfg.name) } : { host: '127.0.0.1', port: this.cfg.port as number });
      up.on('error', () => {
        up.destroy();
        client.destroy();
      });
      up.once('connect', () => {
        client.pipe(up);
        up.pipe(client);
      });
      up.once('close', () => client.destroy());
      client.once('close', () => up.destroy());
    });
  }

  // The app's start, or the one under way: true once it said READY=1 (it may have found that it
  // cannot serve, recorded why, and be ready with nothing behind its port, as under its unit).
  private startApp(): Promise<boolean> {
    if (this.ready && this.app.running) return this.ready;
    const limit = (Math.ceil(this.cfg.readyTimeout) + 10) * 1000; // its unit's TimeoutStartSec=
    // Its secrets copied anew at each start, as LoadCredential= does (serve/credentials.ts).
    this.app.start({ script: this.script, args: ['--function', this.cfg.name], sockets: [], env: loadCredentials(this.paths, this.cfg) });
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => {
        this.log.write(undefined, `err: the app did not say it was ready within ${limit / 1000}s, stopping it`);
        void this.app.stop();
        resolve(false);
      }, limit);
    });
    this.ready = Promise.race([this.app.ready(), late]).finally(() => clearTimeout(timer));
    return this.ready;
  }

  private async stopApp(): Promise<void> {
    this.cancelIdle();
    await this.app.stop();
    this.ready = null;
  }

  // Recorded where the gateway looks (service-forward.ts), then closed: the call is 503 with it.
  private refuse(client: net.Socket, why: string): void {
    try {
      privateDir(this.paths, path.dirname(serviceFailurePath(this.paths, this.cfg.name)));
      writeFileAtomic(serviceFailurePath(this.paths, this.cfg.name), why + '\n');
    } catch {
      // the gateway then answers 502 unreachable: still refused
    }
    client.destroy();
  }

  private armIdle(): void {
    this.cancelIdle();
    if (!this.app.running) return;
    this.idleTimer = setTimeout(() => {
      this.idleTimer = null;
      if (this.connections.size === 0) void this.stopApp();
    }, this.cfg.idle * 1000);
  }

  private cancelIdle(): void {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = null;
  }
}
