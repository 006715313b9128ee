import * as net from 'node:net';
import * as http from 'node:http';

// Where the app is reached: its port on 127.0.0.1, or the unix socket of the forwarder into its
// own network (a container service with network=none; the forwarder listens only once the app
// accepts connections, app/forward.c).
export type AppAddress = { port: number } | { socketPath: string };

const where = (to: AppAddress): { host: string; port: number } | { path: string } => ('port' in to ? { host: '127.0.0.1', port: to.port } : { path: to.socketPath });

function connects(to: AppAddress): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(where(to));
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

// path given: it answers 2xx/3xx; null: the app answers GET / with any HTTP status. Parsed as
// leniently as the gateway parses the app's answers (gateway/service-forward.ts): only the status is read.
function healthy(to: AppAddress, path: string | null): Promise<boolean> {
  return new Promise((resolve) => {
    const req = http.get({ ...('port' in to ? { host: '127.0.0.1', port: to.port } : { socketPath: to.socketPath }), path: path ?? '/', agent: false, timeout: 2000, insecureHTTPParser: true }, (res) => {
      res.resume();
      resolve(path === null || (res.statusCode ?? 500) < 400);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
  });
}

// Ready means the port accepts connections (and the health path answers 2xx/3xx, if there is
// one): polled every 5 ms for the first second (a refused loopback connect costs microseconds,
// and each poll saved is start-up latency), every 25 ms after that; never a fixed sleep.
// Gives up when alive() says the app is gone. A port published from a bridge network accepts
// connections before the app listens (docker-proxy takes them): there, ready means an HTTP answer.
export async function waitReady(to: AppAddress, health: string | undefined, timeoutSeconds: number, alive: () => boolean, published = false): Promise<'ready' | 'timeout' | 'died'> {
  const probe = health ?? (published ? null : undefined);
  const begun = Date.now();
  const end = begun + timeoutSeconds * 1000;
  while (Date.now() < end) {
    if (!alive()) return 'died';
    if ((await connects(to)) && (probe === undefined || (await healthy(to, probe)))) return 'ready';
    await new Promise((r) => setTimeout(r, Date.now() - begun < 1000 ? 5 : 25));
  }
  return 'timeout';
}

// One look, for a readiness probe asked now (a faassctl image's /_/ready, image/serve-service.ts):
// the port accepts connections and the health path, if any, answers 2xx/3xx.
export async function answersNow(to: AppAddress, health: string | undefined): Promise<boolean> {
  return (await connects(to)) && (health === undefined || (await healthy(to, health)));
}
