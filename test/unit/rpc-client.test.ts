// The gateway's faass-rpc client (src/gateway/rpc-client.ts) as a black box, against a fake
// runner on a unix socket in a temp dir that speaks the protocol of src/core/rpc.ts.
import t, { type Test } from 'tap';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { EventEmitter, once } from 'node:events';
import { RpcCallInterrupted, RpcClient, RpcConnectionError, RpcAnswer } from '../../src/gateway/rpc-client';
import { Frame, FrameDecoder, RpcRequestMeta, encodeAck, encodeFrame } from '../../src/core/rpc';
import { within } from '../support/within';

t.setTimeout(60_000);

const tick = () => new Promise((r) => setImmediate(r));

// The runner closed a connection; the client learns it from its socket's close event, a moment
// later, and then drops the connection from its pool: wait for that, not for a fixed time.
async function clientSawClose(c: RpcClient): Promise<void> {
  const pooled = () => (c as unknown as { conn: unknown }).conn;
  await within(
    new Promise<void>((resolve) => {
      const check = () => (pooled() === null ? resolve() : setImmediate(check));
      check();
    }),
    'the client to drop the closed connection',
  );
}

interface Received {
  conn: net.Socket;
  frame: Frame<RpcRequestMeta>;
}

// A runner that hands each request to the test, which answers when and how it likes.
class FakeRunner extends EventEmitter {
  readonly connections: net.Socket[] = [];
  readonly received: Received[] = [];
  readonly ended: net.Socket[] = []; // connections the client closed
  private readonly server: net.Server;

  constructor(readonly path: string) {
    super();
    this.server = net.createServer((conn) => {
      this.connections.push(conn);
      const decoder = new FrameDecoder<RpcRequestMeta>(true);
      conn.on('data', (d: Buffer) => {
        for (const frame of decoder.push(d)) {
          this.received.push({ conn, frame });
          this.emit('request');
        }
      });
      conn.on('end', () => this.ended.push(conn));
      conn.on('error', () => undefined);
    });
  }

  static async start(t: Test, dir: string): Promise<FakeRunner> {
    const r = new FakeRunner(path.join(dir, 'runner.sock'));
    await new Promise<void>((ok) => r.server.listen(r.path, ok));
    t.teardown(() => r.stop());
    return r;
  }

  stop(): void {
    for (const c of this.connections) c.destroy();
    this.server.close();
  }

  async requests(n: number): Promise<Received[]> {
    while (this.received.length < n) await within(once(this, 'request'), `request ${this.received.length + 1}`);
    return this.received.slice(0, n);
  }

  static answer(r: Received, status: number, body: string | Buffer, headers: Record<string, string> = {}): Buffer {
    return encodeFrame(r.frame.id, { s: status, h: headers }, Buffer.isBuffer(body) ? body : Buffer.from(body));
  }
}

function tempDir(t: Test): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'faass-rpc-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function client(t: Test, socketPath: string, idleMs = 10_000): RpcClient {
  const c = new RpcClient(socketPath, idleMs);
  t.teardown(() => c.close());
  return c;
}

const OPTS = { fresh: false, timeoutMs: 10_000 };
const call = (c: RpcClient, body: string, opts = OPTS) => c.call('POST', `/fn/${body}?q=1`, { 'x-body': body }, Buffer.from(body), opts);

async function rejection(p: Promise<unknown>): Promise<Error> {
  try {
    await within(p, 'answer');
  } catch (e) {
    return e as Error;
  }
  throw new Error('the call was answered');
}

t.test('many calls on one connection, answered out of order, each get their own answer', async (t) => {
  const runner = await FakeRunner.start(t, tempDir(t));
  const c = client(t, runner.path);
  const names = ['a', 'b', 'c', 'd', 'e'];
  const answers = names.map((n) => call(c, n).answer);
  const got = await runner.requests(names.length);
  t.equal(runner.connections.length, 1, 'one connection carries them all');
  t.same(
    got.map((r) => [r.frame.meta.m, r.frame.meta.p, r.frame.meta.h['x-body'], r.frame.body.toString()]),
    names.map((n) => ['POST', `/fn/${n}?q=1`, n, n]),
    'method, path with query, headers and body arrive as sent',
  );
  t.equal(new Set(got.map((r) => r.frame.id)).size, names.length, 'each call has its own id');
  for (const r of got.slice().reverse()) r.conn.write(FakeRunner.answer(r, 200, `re:${r.frame.body}`, { 'x-for': r.frame.body.toString() }));
  const results = await within(Promise.all(answers), 'answers');
  t.same(
    results.map((a) => [a.status, a.headers['x-for'], a.body.toString()]),
    names.map((n) => [200, n, `re:${n}`]),
  );
});

t.test('answers split at arbitrary byte boundaries, and several in one write, are reassembled', async (t) => {
  const runner = await FakeRunner.start(t, tempDir(t));
  const c = client(t, runner.path);
  const big = Buffer.alloc(300_000);
  for (let i = 0; i < big.length; i++) big[i] = (i * 7) % 251;
  const answers = ['small', 'big', 'empty', 'last'].map((n) => call(c, n).answer);
  const got = await runner.requests(4);
  const bodies: Record<string, Buffer> = { small: Buffer.from('x'), big, empty: Buffer.alloc(0), last: Buffer.from('the end') };
  const stream = Buffer.concat(got.map((r) => FakeRunner.answer(r, 201, bodies[r.frame.body.toString()])));
  // 1, 2, 3 ... byte pieces through the first frames, then big ones; each written on its own turn.
  const sizes = [1, 1, 2, 3, 5, 8, 13, 21, 34, 55, 89, 65_536, 100_000];
  let at = 0;
  for (let i = 0; at < stream.length; i++) {
    const n = sizes[Math.min(i, sizes.length - 1)];
    got[0].conn.write(stream.subarray(at, at + n));
    at += n;
    await tick();
  }
  const results = await within(Promise.all(answers), 'answers');
  t.same(
    results.map((a) => [a.status, a.body.length]),
    [
      [201, 1],
      [201, big.length],
      [201, 0],
      [201, 7],
    ],
  );
  t.ok(results[1].body.equals(big), 'the big body intact');
  t.equal(results[3].body.toString(), 'the end');
});

t.test('a malformed answer fails the calls on that connection as retryable; the next call gets a new connection', async (t) => {
  const u32 = (n: number) => {
    const b = Buffer.alloc(4);
    b.writeUInt32BE(n);
    return b;
  };
  const cases: [string, Buffer][] = [
    ['a frame length under 8', u32(3)],
    ['a frame length over MAX_FRAME', u32(0xffffffff)],
    ['meta that is not JSON', Buffer.concat([u32(8 + 3), u32(1), u32(3), Buffer.from('{{{')])],
    ['a meta length past the frame', Buffer.concat([u32(8), u32(1), u32(100)])],
  ];
  for (const [what, garbage] of cases) {
    const runner = await FakeRunner.start(t, tempDir(t));
    const c = client(t, runner.path);
    const pending = [call(c, 'one').answer, call(c, 'two').answer];
    const [first] = await runner.requests(2);
    first.conn.write(garbage);
    for (const p of pending) {
      const e = await rejection(p);
      t.type(e, RpcConnectionError, `${what}: the call fails as a connection error`);
      t.equal((e as RpcConnectionError).code, 'EPROTO', `${what}: EPROTO`);
    }
    const next = call(c, 'three').answer;
    const [, , third] = await runner.requests(3);
    t.not(third.conn, first.conn, `${what}: the next call goes on a new connection`);
    third.conn.write(FakeRunner.answer(third, 200, 'fine'));
    t.equal((await within(next, 'answer')).body.toString(), 'fine');
  }
});

t.test('the runner dying mid-answer fails every call on the connection as retryable; a fresh call is answered', async (t) => {
  const runner = await FakeRunner.start(t, tempDir(t));
  const c = client(t, runner.path);
  const pending = [call(c, 'one').answer, call(c, 'two').answer];
  const [first] = await runner.requests(2);
  const frame = FakeRunner.answer(first, 200, 'a body that never arrives whole');
  first.conn.write(frame.subarray(0, 20));
  await tick();
  first.conn.destroy(); // kill -9
  for (const p of pending) {
    const e = await rejection(p);
    t.type(e, RpcConnectionError, 'a connection error: the gateway may retry it');
    t.match(e.message, /closed before the answer|failed/);
  }
  const retry = call(c, 'one', { fresh: true, timeoutMs: 10_000 }).answer;
  const [, , again] = await runner.requests(3);
  t.not(again.conn, first.conn, 'on a new connection');
  again.conn.write(FakeRunner.answer(again, 200, 'second time'));
  t.equal((await within(retry, 'answer')).body.toString(), 'second time');
});

t.test('the runner dying after it acknowledged a call fails that call as interrupted (not retryable), and the unacknowledged one as retryable', async (t) => {
  const runner = await FakeRunner.start(t, tempDir(t));
  const c = client(t, runner.path);
  const started = call(c, 'started').answer;
  const queued = call(c, 'queued').answer;
  const [rs, rq] = await runner.requests(2);
  t.equal(rs.frame.meta.a, 1, 'each call asks to be acknowledged');
  t.equal(rq.frame.meta.a, 1);
  rs.conn.write(encodeAck(rs.frame.id));
  await tick();
  rs.conn.destroy(); // kill -9
  const es = await rejection(started);
  t.type(es, RpcCallInterrupted, 'the acknowledged call may have run: it must not be sent again');
  t.notOk(es instanceof RpcConnectionError);
  const eq = await rejection(queued);
  t.type(eq, RpcConnectionError, 'the call never acknowledged never started: retryable');
});

t.test('an acknowledgement is not an answer: the call waits for its answer', async (t) => {
  const runner = await FakeRunner.start(t, tempDir(t));
  const c = client(t, runner.path);
  const p = call(c, 'x').answer;
  const [r] = await runner.requests(1);
  r.conn.write(Buffer.concat([encodeAck(r.frame.id), FakeRunner.answer(r, 201, 'answer')]));
  const a = await within(p, 'answer');
  t.same([a.status, a.body.toString()], [201, 'answer']);
});

t.test('no runner: the call fails as a connection error naming the cause', async (t) => {
  const dir = tempDir(t);
  const missing = await rejection(call(client(t, path.join(dir, 'nothing.sock')), 'x').answer);
  t.type(missing, RpcConnectionError);
  t.equal((missing as RpcConnectionError).code, 'ENOENT', 'no socket file');
  const notListening = path.join(dir, 'file');
  fs.writeFileSync(notListening, '');
  const refused = await rejection(call(client(t, notListening), 'x').answer);
  t.type(refused, RpcConnectionError);
  t.equal((refused as RpcConnectionError).code, 'ECONNREFUSED', 'nobody listening');
});

t.test('fresh: true opens a new connection even while the pooled one is open', async (t) => {
  const runner = await FakeRunner.start(t, tempDir(t));
  const c = client(t, runner.path);
  const a = call(c, 'a').answer;
  const [ra] = await runner.requests(1);
  const b = call(c, 'b', { fresh: true, timeoutMs: 10_000 }).answer;
  const [, rb] = await runner.requests(2);
  t.not(rb.conn, ra.conn, 'a second connection');
  ra.conn.write(FakeRunner.answer(ra, 200, 'A'));
  rb.conn.write(FakeRunner.answer(rb, 200, 'B'));
  t.same((await within(Promise.all([a, b]), 'answers')).map((x) => x.body.toString()), ['A', 'B'], 'calls on the old connection are still answered');
  const c3 = call(c, 'c').answer;
  const [, , rc] = await runner.requests(3);
  t.equal(rc.conn, rb.conn, 'later calls use the fresh connection');
  rc.conn.write(FakeRunner.answer(rc, 200, 'C'));
  await within(c3, 'answer');
});

t.test('a call past its deadline fails as a timeout, not as retryable; its late answer is dropped', async (t) => {
  const runner = await FakeRunner.start(t, tempDir(t));
  const c = client(t, runner.path);
  const slow = call(c, 'slow', { fresh: false, timeoutMs: 200 });
  const other = call(c, 'other').answer;
  const [rs, ro] = await runner.requests(2);
  const e = await rejection(slow.answer);
  t.notOk(e instanceof RpcConnectionError, 'a timeout is not a connection error: the call may still be running, it is not retried');
  t.match(e.message, /timeout/);
  rs.conn.write(FakeRunner.answer(rs, 200, 'too late'));
  ro.conn.write(FakeRunner.answer(ro, 200, 'on time'));
  t.equal((await within(other, 'answer')).body.toString(), 'on time', 'the other call on the connection is answered');
  t.equal(runner.connections.length, 1, 'over the same connection');
});

t.test('a cancelled call (its client went away) is dropped without harm to the others', async (t) => {
  const runner = await FakeRunner.start(t, tempDir(t));
  const c = client(t, runner.path);
  const gone = call(c, 'gone');
  let settled = false;
  gone.answer.then(
    () => (settled = true),
    () => (settled = true),
  );
  const kept = call(c, 'kept').answer;
  const [rg, rk] = await runner.requests(2);
  gone.cancel();
  rg.conn.write(FakeRunner.answer(rg, 200, 'nobody listens'));
  rk.conn.write(FakeRunner.answer(rk, 200, 'kept'));
  t.equal((await within(kept, 'answer')).body.toString(), 'kept');
  t.notOk(settled, 'the cancelled call is neither answered nor failed');
});

t.test('keep-alive: calls close together share a connection; after idleMs unused the client closes it', async (t) => {
  const runner = await FakeRunner.start(t, tempDir(t));
  const c = client(t, runner.path, 300);
  const serve = async (n: number): Promise<RpcAnswer> => {
    const p = call(c, `k${n}`).answer;
    const got = await runner.requests(n);
    got[n - 1].conn.write(FakeRunner.answer(got[n - 1], 200, 'ok'));
    return within(p, 'answer');
  };
  await serve(1);
  await serve(2);
  t.equal(runner.connections.length, 1, 'back-to-back calls reuse the connection');
  t.equal(runner.ended.length, 0, 'not closed while in use');
  const [conn] = runner.connections;
  await within(once(conn, 'end'), 'the client closing the unused connection');
  t.equal(runner.ended[0], conn, 'the client closed it (the pooling side drops first, before the runner’s idle exit)');
  await within(conn.closed ? Promise.resolve([]) : once(conn, 'close'), 'close');
  await clientSawClose(c);
  await serve(3);
  t.equal(runner.connections.length, 2, 'the next call opens a new connection');
});

t.test('a call made while the client is closing its idle connection', async (t) => {
  const runner = await FakeRunner.start(t, tempDir(t));
  const c = client(t, runner.path, 100);
  const first = call(c, 'a').answer;
  const [ra] = await runner.requests(1);
  ra.conn.write(FakeRunner.answer(ra, 200, 'A'));
  await within(first, 'answer');
  await within(once(ra.conn, 'end'), 'the idle close'); // the client has ended its side, its close is not in yet
  const attempt = call(c, 'b').answer;
  attempt.catch(() => undefined);
  const outcome = await within(
    Promise.race([attempt.then(() => 'answered' as const, (e: Error) => e), runner.requests(2).then(() => 'sent' as const)]),
    'the call to be sent or fail',
  );
  if (outcome instanceof Error) {
    t.type(outcome, RpcConnectionError, 'fails as a connection error, so the gateway retries it on a fresh connection');
    const retry = call(c, 'b', { fresh: true, timeoutMs: 10_000 }).answer;
    const [, rb] = await runner.requests(2);
    rb.conn.write(FakeRunner.answer(rb, 200, 'B'));
    t.equal((await within(retry, 'answer')).body.toString(), 'B', 'and the retry is answered');
  }
  t.test('it is sent on a new connection, not on the one being closed', async (t) => {
    t.equal(outcome, 'sent');
  });
});

t.test('a connection the runner closed while idle (its idle exit) is not used again', async (t) => {
  const runner = await FakeRunner.start(t, tempDir(t));
  const c = client(t, runner.path);
  const first = call(c, 'a').answer;
  const [ra] = await runner.requests(1);
  ra.conn.write(FakeRunner.answer(ra, 200, 'A'));
  await within(first, 'answer');
  ra.conn.end();
  await within(once(ra.conn, 'close'), 'close');
  await clientSawClose(c);
  const second = call(c, 'b').answer;
  const [, rb] = await runner.requests(2);
  t.not(rb.conn, ra.conn, 'a new connection');
  rb.conn.write(FakeRunner.answer(rb, 200, 'B'));
  t.equal((await within(second, 'answer')).body.toString(), 'B', 'answered first time, no retry needed');
});
