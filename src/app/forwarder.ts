// The way into a process app that lives in a network namespace of its own (network=none): a
// unix socket in the service's runtime directory, forwarded to the app's port inside the
// namespace by systemd-socket-proxyd. systemd-socket-activate makes the listening socket and
// hands it to the proxy, so no descriptor passing is done by hand. The unit's proxy (in the
// host's network) connects to that socket; a unix socket in the file system crosses network
// namespaces, a TCP port does not.
import { spawn, ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import { killGroup } from '../core/process-group';

const SOCKET_ACTIVATE = ['/usr/bin/systemd-socket-activate', '/bin/systemd-socket-activate'];

export class Forwarder {
  private child: ChildProcess | null = null;
  private done = false;
  readonly exited: Promise<string>;
  private resolveExit!: (why: string) => void;

  constructor(
    private readonly socketPath: string,
    private readonly port: number,
    private readonly proxyd: string,
  ) {
    this.exited = new Promise((r) => (this.resolveExit = r));
  }

  // Resolves once the socket listens (systemd-socket-activate says so on stderr before it waits
  // for the first connection); rejects when it cannot.
  start(): Promise<void> {
    const activate = SOCKET_ACTIVATE.find((p) => fs.existsSync(p));
    if (!activate) return Promise.reject(new Error(`systemd-socket-activate not found (looked for ${SOCKET_ACTIVATE.join(', ')})`));
    fs.rmSync(this.socketPath, { force: true }); // a socket left by a killed forwarder
    const child = spawn(activate, ['--listen', this.socketPath, this.proxyd, `127.0.0.1:${this.port}`], { detached: true, stdio: ['ignore', 'ignore', 'pipe'] });
    this.child = child;
    return new Promise((resolve, reject) => {
      let said = '';
      child.stderr?.on('data', (d: Buffer) => {
        if (said.length < 4096) said += d.toString('utf8');
        if (said.includes('Listening on ')) resolve();
      });
      child.on('error', (e) => {
        this.done = true;
        this.resolveExit(`the forwarder failed to start: ${e.message}`);
        reject(e);
      });
      child.on('exit', (code, signal) => {
        this.done = true;
        const why = `the forwarder to the app ${signal ? `was killed by ${signal}` : `exited with status ${code}`}: ${said.trim().split('\n').pop() ?? ''}`;
        this.resolveExit(why);
        reject(new Error(why));
      });
    });
  }

  async stop(graceSeconds: number): Promise<void> {
    const pid = this.child?.pid;
    if (!pid || this.done) return;
    await killGroup(pid, graceSeconds, this.exited);
  }
}
