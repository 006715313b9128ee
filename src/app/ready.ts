import * as net from 'node:net';
import * as http from 'node:http';

function connects(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

function healthy(port: number, path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = http.get({ host: '127.0.0.1', port, path, agent: false, timeout: 2000 }, (res) => {
      res.resume();
      resolve((res.statusCode ?? 500) < 400);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
  });
}

// Ready means the port accepts connections (and the health path answers 2xx/3xx, if there is
// one): polled every 5 ms for the first second (a refused loopback connect costs microseconds,
// and each poll saved is start-up latency), every 25 ms after that; never a fixed sleep.
// Gives up when alive() says the app is gone.
export async function waitReady(port: number, health: string | undefined, timeoutSeconds: number, alive: () => boolean): Promise<'ready' | 'timeout' | 'died'> {
  const begun = Date.now();
  const end = begun + timeoutSeconds * 1000;
  while (Date.now() < end) {
    if (!alive()) return 'died';
    if ((await connects(port)) && (!health || (await healthy(port, health)))) return 'ready';
    await new Promise((r) => setTimeout(r, Date.now() - begun < 1000 ? 5 : 25));
  }
  return 'timeout';
}
