// The Docker Engine API calls a service's container needs on every cold start and stop
// (remove a leftover, create, start, wait, stop, remove), and the listing by label that a
// function unit's ExecStopPost= removes its calls' containers with (runner/reap.ts), on
// node:http over the engine's unix socket. dockerode does these too, but loading it takes
// 140-200 ms here (ssh2, grpc-js, protobufjs), most of a cold start's budget. API reference: https://docs.docker.com/reference/api/engine/
import * as http from 'node:http';

const API = '/v1.41'; // Docker 20.10 and later

export class EngineError extends Error {
  constructor(
    readonly statusCode: number,
    message: string,
  ) {
    super(message);
  }
}

export interface ContainerInfo {
  Id: string;
  State: { Running: boolean };
  Config: { Labels?: Record<string, string> | null };
  NetworkSettings?: { Ports?: Record<string, { HostIp: string; HostPort: string }[] | null> | null };
}

export class EngineApi {
  constructor(private readonly socketPath: string) {}

  private call<T>(method: string, path: string, timeoutMs = 30000, json?: unknown): Promise<{ status: number; body: T | null }> {
    const sent = json === undefined ? undefined : JSON.stringify(json);
    return new Promise((resolve, reject) => {
      const headers: http.OutgoingHttpHeaders = { host: 'docker', ...(sent !== undefined ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(sent) } : {}) };
      const req = http.request({ socketPath: this.socketPath, method, path: API + path, headers, agent: false }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (d: Buffer) => chunks.push(d));
        res.on('error', reject);
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          const status = res.statusCode ?? 0;
          let body: unknown = null;
          try {
            body = text ? JSON.parse(text) : null;
          } catch {
            body = null;
          }
          if (status >= 400) {
            const message = (body as { message?: string } | null)?.message ?? (text.trim() || `HTTP ${status}`);
            reject(new EngineError(status, `${method} ${path}: ${message}`));
          } else resolve({ status, body: body as T | null });
        });
      });
      if (timeoutMs > 0) req.setTimeout(timeoutMs, () => req.destroy(new Error(`${method} ${path}: no answer from the Docker engine within ${timeoutMs / 1000}s`)));
      // The errno code is kept (engine.ts unreachableCode tells an absent engine from a failing one).
      req.on('error', (e: NodeJS.ErrnoException) => reject(e.code ? Object.assign(new Error(`cannot reach the Docker engine at unix://${this.socketPath} (${e.code})`), { code: e.code }) : e));
      req.end(sent);
    });
  }

  // null when there is no such container.
  async inspect(name: string): Promise<ContainerInfo | null> {
    try {
      return (await this.call<ContainerInfo>('GET', `/containers/${encodeURIComponent(name)}/json`)).body;
    } catch (e) {
      if (e instanceof EngineError && e.statusCode === 404) return null;
      throw e;
    }
  }

  // Creates a container from Engine API create options (dockerode's, whose `name` goes in the
  // query); resolves with its id.
  async create(opts: { name?: string }): Promise<string> {
    const { name, ...body } = opts;
    const r = await this.call<{ Id: string }>('POST', `/containers/create${name ? `?name=${encodeURIComponent(name)}` : ''}`, 30000, body);
    return r.body?.Id ?? '';
  }

  async start(name: string): Promise<void> {
    await this.call('POST', `/containers/${encodeURIComponent(name)}/start`); // 304: already running
  }

  async stop(name: string, graceSeconds: number): Promise<void> {
    await this.call('POST', `/containers/${encodeURIComponent(name)}/stop?t=${Math.ceil(graceSeconds)}`, (graceSeconds + 30) * 1000);
  }

  // Kills (SIGKILL) and removes the container, with the anonymous volumes its image declares
  // (VOLUME): what a container wrote is gone with it, and a fresh one at every start would
  // otherwise leave one more volume each time. One that is not there is not an error.
  async remove(name: string): Promise<void> {
    try {
      await this.call('DELETE', `/containers/${encodeURIComponent(name)}?force=true&v=true`);
    } catch (e) {
      if (!(e instanceof EngineError && e.statusCode === 404)) throw e;
    }
  }

  // Ids of every container (running or not) that carries all these labels (KEY or KEY=VALUE).
  async list(labels: string[]): Promise<string[]> {
    const filters = encodeURIComponent(JSON.stringify({ label: labels }));
    const r = await this.call<{ Id: string }[]>('GET', `/containers/json?all=true&filters=${filters}`);
    return (r.body ?? []).map((c) => c.Id);
  }

  // Resolves with the exit status once the container stops (a long poll).
  async wait(name: string): Promise<number> {
    const r = await this.call<{ StatusCode: number }>('POST', `/containers/${encodeURIComponent(name)}/wait`, 0);
    return r.body?.StatusCode ?? -1;
  }
}
