// Connections that send nothing must not lock anyone out: a client address gets at most
// max_client_connections, all of them together stay below the gateway's descriptor limit (the
// oldest without a request are closed to make room), and silent ones are cut by headers_timeout.
// 127.0.0.0/8 is all loopback: localAddress gives each client an address of its own.
import t from 'tap';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import * as path from 'node:path';
import { startSandbox, setupGateway, waitFor, faassPids, Sandbox } from '../support/sandbox';

const CAP = 20; // max_client_connections
const NOFILE = 300; // the gateway's LimitNOFILE=, low so that its limit is reached quickly

interface Silent {
  socket: net.Socket;
  bytes: string; // what the gateway sent
  closed: boolean;
}

// A connection that sends nothing, once connected (the kernel completed the handshake).
function silent(port: number, from: string): Promise<Silent> {
  return new Promise((resolve, reject) => {
    const s: Silent = { socket: net.connect({ host: '127.0.0.1', port, localAddress: from }), bytes: '', closed: false };
    s.socket.on('data', (d: Buffer) => (s.bytes += d.toString('latin1')));
    s.socket.on('error', () => undefined); // a reset is one way of being closed
    s.socket.on('close', () => (s.closed = true));
    s.socket.once('connect', () => resolve(s));
    s.socket.once('error', reject);
  });
}

async function silentMany(port: number, from: string[], each: number): Promise<Silent[]> {
  const out: Silent[] = [];
  for (const addr of from) for (let i = 0; i < each; i++) out.push(await silent(port, addr));
  return out;
}

// GET on a fresh connection from a given client address: the status, or the error.
function get(port: number, urlPath: string, from: string): Promise<number | string> {
  return new Promise((resolve) => {
    const req = http.get({ host: '127.0.0.1', port, path: urlPath, localAddress: from, agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.setTimeout(60_000, () => req.destroy(new Error('no answer in 60 s')));
    req.on('error', (e) => resolve((e as NodeJS.ErrnoException).code ?? e.message));
  });
}

function configure(sb: Sandbox): void {
  const conf = path.join(sb.env.XDG_CONFIG_HOME as string, 'faass', 'faass.conf');
  const text = fs.readFileSync(conf, 'utf8').replace(/^\[gateway\]$/m, `[gateway]\nmax_client_connections=${CAP}\nheaders_timeout=5`);
  fs.writeFileSync(conf, text);
  const dropIn = path.join(sb.env.XDG_CONFIG_HOME as string, 'systemd', 'user', 'faass-gateway.service.d');
  fs.mkdirSync(dropIn, { recursive: true });
  fs.writeFileSync(path.join(dropIn, 'test-nofile.conf'), `[Service]\nLimitNOFILE=${NOFILE}\n`);
}

const gatewayGone = (sb: Sandbox) => waitFor('the gateway to exit idle', () => faassPids(sb, 'faass-gateway.service').length === 0, 60_000);
const open = (all: Silent[]) => all.filter((s) => !s.closed).length;

t.test('silent connections', async (t) => {
  const sb = await startSandbox(t);
  await setupGateway(sb, 1);
  configure(sb);
  t.equal((await sb.systemctl('daemon-reload')).code, 0, 'daemon-reload');

  t.test('300 from one address: the cap closes all but 20 at once, another client is served, the timeout cuts the rest', async (t) => {
    const flood = await silentMany(sb.port, ['127.0.0.2'], 300);
    t.teardown(() => flood.forEach((s) => s.socket.destroy()));
    const status = await get(sb.port, '/healthz', '127.0.0.3');
    const stillOpen = open(flood);
    t.equal(status, 200, 'a client at another address is served');
    t.ok(stillOpen >= CAP, `it is served before the headers timeout cut the silent ones (${stillOpen} still open)`);
    await waitFor('every silent connection to be closed', () => open(flood) === 0, 60_000);
    const cut = flood.filter((s) => s.bytes.startsWith('HTTP/1.1 408 ')).length;
    const refused = flood.filter((s) => s.bytes === '').length;
    t.equal(cut, CAP, `the ${CAP} within the cap were answered 408 by the headers timeout`);
    t.equal(refused, 300 - CAP, 'the others were closed without a byte');
    t.equal(await get(sb.port, '/healthz', '127.0.0.2'), 200, 'the address is served again once its connections are gone');
    await gatewayGone(sb);
  });

  t.test('320 from 16 addresses, over the descriptor limit: the oldest make room, another client is served', async (t) => {
    const addrs = Array.from({ length: 16 }, (_, i) => `127.0.1.${i + 1}`);
    const flood = await silentMany(sb.port, addrs, CAP);
    t.teardown(() => flood.forEach((s) => s.socket.destroy()));
    const status = await get(sb.port, '/healthz', '127.0.0.3');
    const stillOpen = open(flood);
    t.equal(status, 200, 'a client at another address is served');
    t.ok(stillOpen >= 50, `it is served before the headers timeout cut the silent ones (${stillOpen} still open)`);
    await waitFor('every silent connection to be closed', () => open(flood) === 0, 60_000);
    const shed = flood.filter((s) => s.bytes === '');
    t.ok(shed.length >= 320 - NOFILE / 2, `connections were closed to stay below the limit (${shed.length})`);
    const firstCut = flood.findIndex((s) => s.bytes.startsWith('HTTP/1.1 408 '));
    t.ok(firstCut > 0 && shed.every((s) => flood.indexOf(s) < firstCut), 'the oldest went first, the newer ones were answered 408 by the headers timeout');
    await gatewayGone(sb);
  });
});
