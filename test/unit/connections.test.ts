// The gateway's connection guard (src/gateway/connections.ts) on a real HTTP server on 127.0.0.1:
// the cap per client address, and the bound at which the oldest connection without a request in
// flight makes room (idle keep-alive ones before ones that sent nothing).
import t, { type Test } from 'tap';
import * as http from 'node:http';
import * as net from 'node:net';
import { once } from 'node:events';
import { ConnectionGuard, connectionBound, parseDescriptorLimit } from '../../src/gateway/connections';
import { within } from '../support/within';

t.setTimeout(60_000);

interface Client {
  socket: net.Socket;
  text: string; // what the server sent
  closed: Promise<void>;
  isClosed: boolean;
}

async function connect(port: number, localAddress = '127.0.0.1'): Promise<Client> {
  const socket = net.connect({ host: '127.0.0.1', port, localAddress });
  const c: Client = { socket, text: '', isClosed: false, closed: Promise.resolve() };
  socket.on('data', (d: Buffer) => (c.text += d.toString()));
  socket.on('error', () => undefined);
  c.closed = new Promise((r) => socket.once('close', () => ((c.isClosed = true), r())));
  await once(socket, 'connect');
  return c;
}

// An HTTP request on a client's connection; resolves once the answer's body has come.
async function ask(c: Client, path: string): Promise<void> {
  const before = c.text.length;
  c.socket.write(`GET ${path} HTTP/1.1\r\nHost: x\r\n\r\n`);
  await within(new Promise<void>((r) => c.socket.on('data', () => c.text.slice(before).includes('done') && r())), 'the answer');
}

async function serve(t: Test, guard: ConnectionGuard, handler: http.RequestListener): Promise<number> {
  const server = http.createServer({ keepAliveTimeout: 60_000 });
  guard.track(server);
  server.on('request', handler);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.teardown(() => {
    server.closeAllConnections();
    server.close();
  });
  return (server.address() as net.AddressInfo).port;
}

const done: http.RequestListener = (_req, res) => res.end('done');

// Waits for a condition the server's side of a connection makes true (an accept, a close).
const until = (what: string, cond: () => boolean) =>
  within(
    new Promise<void>((r) => {
      const check = () => (cond() ? r() : setTimeout(check, 10));
      check();
    }),
    what,
  );
const accepted = (guard: ConnectionGuard, n: number) => until(`${n} connections accepted`, () => guard.open >= n);

t.test('the descriptor limit and the bound below it', async (t) => {
  const limits = 'Limit                     Soft Limit           Hard Limit           Units     \nMax cpu time              unlimited            unlimited            seconds   \nMax open files            20000                20000                files     \n';
  t.equal(parseDescriptorLimit(limits), 20000);
  t.equal(parseDescriptorLimit(limits.replace('20000                20000', 'unlimited            unlimited')), null);
  t.equal(parseDescriptorLimit('garbage'), null);
  t.equal(connectionBound(20000), 9968, 'half of what is left after the reserve: a forwarded call needs a descriptor too');
  t.equal(connectionBound(300), 118);
  t.equal(connectionBound(10), 8, 'never below a handful');
  t.equal(connectionBound(null), Infinity, 'unknown: no bound but the per-client cap');
});

t.test('over the per-client cap, a new connection is closed at once; other addresses are not counted', async (t) => {
  const guard = new ConnectionGuard(2, 100);
  const port = await serve(t, guard, done);
  const a = [await connect(port), await connect(port)];
  const third = await connect(port);
  await within(third.closed, 'the third connection from 127.0.0.1 to be closed');
  t.equal(third.text, '', 'closed without a byte');
  const other = await connect(port, '127.0.0.2');
  await ask(other, '/');
  t.match(other.text, /^HTTP\/1.1 200/, 'another address is served');
  t.notOk(a[0].isClosed || a[1].isClosed, 'the two within the cap stay open');
  a[0].socket.destroy();
  await until('the server to see the close', () => guard.open === 2);
  const again = await connect(port);
  await ask(again, '/');
  t.match(again.text, /^HTTP\/1.1 200/, 'a closed connection frees its place');
  for (const c of [a[1], other, again]) c.socket.destroy();
});

t.test('at the bound, the oldest idle keep-alive connection goes first, then the oldest that sent nothing', async (t) => {
  const guard = new ConnectionGuard(100, 3);
  const port = await serve(t, guard, done);
  const silentOld = await connect(port);
  await accepted(guard, 1);
  const keepAlive = await connect(port);
  await ask(keepAlive, '/'); // served, now idle
  const silentNew = await connect(port);
  await accepted(guard, 3);
  const fourth = await connect(port);
  await within(keepAlive.closed, 'the idle keep-alive connection to be closed');
  t.notOk(silentOld.isClosed, 'the older silent one stays: it may be about to send its request');
  await accepted(guard, 3);
  const fifth = await connect(port);
  await within(silentOld.closed, 'the oldest silent connection to be closed next');
  t.notOk(silentNew.isClosed, 'the newer silent one stays');
  for (const c of [fourth, fifth]) await ask(c, '/');
  t.ok([fourth, fifth].every((c) => /^HTTP\/1.1 200/.test(c.text)), 'the new clients are served');
  for (const c of [silentNew, fourth, fifth]) c.socket.destroy();
});

t.test('at the bound with every connection busy, the new one is closed and the calls finish', async (t) => {
  const guard = new ConnectionGuard(100, 2);
  const held: http.ServerResponse[] = [];
  const port = await serve(t, guard, (_req, res) => held.push(res));
  const busy = [await connect(port), await connect(port)];
  for (const c of busy) c.socket.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
  await until('two calls in flight', () => held.length === 2);
  const third = await connect(port);
  await within(third.closed, 'the new connection to be closed');
  t.equal(third.text, '', 'closed without a byte');
  for (const res of held) res.end('done');
  await until('the calls to finish', () => busy.every((c) => c.text.includes('done')));
  t.notOk(busy.some((c) => c.isClosed), 'the calls in flight were not cut');
  for (const c of busy) c.socket.destroy();
});
