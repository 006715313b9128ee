// Both ends of faass-rpc together: the gateway's RpcClient and the runner's connection handler
// (src/runner/runner.ts) with its Lifecycle, over a unix socket in a temp dir. The executor is
// a stand-in whose calls finish when the test says; the Lifecycle's clock is fake.
import t, { type Test } from 'tap';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { EventEmitter, once } from 'node:events';
import { RpcCallInterrupted, RpcClient, RpcConnectionError } from '../../src/gateway/rpc-client';
import { CallRunner, connectionHandler } from '../../src/runner/runner';
import { Lifecycle, LifecycleHost, Timer } from '../../src/systemd/activation';
import { buildFunctionConfig } from '../../src/functions/function-config';
import { Call, CallResult, Executor } from '../../src/runner/call';
import { within } from '../support/within';

delete process.env.NOTIFY_SOCKET;
t.setTimeout(60_000);

// Calls wait until the test finishes them by body.
class HeldExecutor extends EventEmitter implements Executor {
  readonly running = new Map<string, (r: CallResult) => void>();
  invoke(call: Call): Promise<CallResult> {
    return new Promise((resolve) => {
      this.running.set(call.body.toString(), resolve);
      this.emit('started');
    });
  }
  finish(body: string): void {
    this.running.get(body)?.({ status: 200, headers: { 'x-body': body }, body: Buffer.from(`done ${body}`) });
    this.running.delete(body);
  }
  async started(n: number): Promise<void> {
    while (this.running.size < n) await within(once(this, 'started'), 'a call to start');
  }
  async close(): Promise<void> {}
  describe(): string {
    return 'held';
  }
}

// Timers never fire (no idle exit during a test); SIGTERM is emitted by the test.
class StillHost implements LifecycleHost {
  readonly signals = new EventEmitter();
  exited = false;
  now = () => 0;
  setTimeout = (): Timer => ({ unref: () => undefined });
  clearTimeout = () => undefined;
  exit = () => void (this.exited = true);
}

interface Runner {
  executor: HeldExecutor;
  host: StillHost;
  server: net.Server;
}

async function startRunner(t: Test, socketPath: string): Promise<Runner> {
  const cfg = buildFunctionConfig('fn', { runtime: 'exec', command: 'true', max_inflight: '100' });
  const executor = new HeldExecutor();
  const host = new StillHost();
  const lifecycle = new Lifecycle({ name: 'fn', idleSeconds: 10, drainSeconds: 30, host });
  const calls = new CallRunner(cfg, executor, false);
  const httpServer = http.createServer(() => undefined);
  lifecycle.trackHttp(httpServer);
  const server = net.createServer(connectionHandler(calls, lifecycle, httpServer));
  lifecycle.track(server);
  await new Promise<void>((r) => server.listen(socketPath, r));
  t.teardown(() => {
    for (const body of [...executor.running.keys()]) executor.finish(body);
    server.close();
  });
  return { executor, host, server };
}

function setup(t: Test): { socketPath: string; client: RpcClient } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'faass-rpcrun-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const socketPath = path.join(dir, 'fn.sock');
  const client = new RpcClient(socketPath, 10_000);
  t.teardown(() => client.close());
  return { socketPath, client };
}

const OPTS = { fresh: false, timeoutMs: 10_000 };

t.test('calls multiplexed on one connection finish in any order, each answered with its own result', async (t) => {
  const { socketPath, client } = setup(t);
  const runner = await startRunner(t, socketPath);
  let connections = 0;
  runner.server.on('connection', () => connections++);
  const names = ['a', 'b', 'c', 'd'];
  const answers = names.map((n) => client.call('POST', `/${n}`, {}, Buffer.from(n), OPTS).answer);
  await runner.executor.started(names.length);
  t.equal(connections, 1, 'one connection');
  for (const n of names.slice().reverse()) runner.executor.finish(n);
  const got = await within(Promise.all(answers), 'answers');
  t.same(
    got.map((a) => [a.status, a.headers['x-body'], a.body.toString()]),
    names.map((n) => [200, n, `done ${n}`]),
  );
});

t.test('SIGTERM: the call in flight is answered; a call sent during the drain is not started and fails as retryable; the retry reaches the next runner', async (t) => {
  const { socketPath, client } = setup(t);
  const runner = await startRunner(t, socketPath);
  const first = client.call('POST', '/', {}, Buffer.from('first'), OPTS).answer;
  await runner.executor.started(1);
  runner.host.signals.emit('SIGTERM');
  const late = client.call('POST', '/', {}, Buffer.from('late'), OPTS).answer;
  late.catch(() => undefined);
  await new Promise((r) => setTimeout(r, 100)); // time for the late frame to reach the runner
  t.same([...runner.executor.running.keys()], ['first'], 'the call sent while stopping is not started');
  runner.executor.finish('first');
  t.equal((await within(first, 'answer')).body.toString(), 'done first', 'the call in flight is answered');
  const e = await within(late.then(() => null, (err: Error) => err), 'the late call to fail');
  t.type(e, RpcConnectionError, 'the late call fails as a connection error: the gateway retries it');
  const exited = new Promise<boolean>((r) => {
    const check = () => (runner.host.exited ? r(true) : setTimeout(check, 10));
    check();
  });
  t.ok(await within(exited, 'exit'), 'the runner exits');

  // systemd would start the next runner on the same socket; here, a new one on the same path.
  const next = await startRunner(t, socketPath);
  const retry = client.call('POST', '/', {}, Buffer.from('late'), { fresh: true, timeoutMs: 10_000 }).answer;
  await next.executor.started(1);
  next.executor.finish('late');
  t.equal((await within(retry, 'answer')).body.toString(), 'done late', 'the retry is answered by the next runner');
});

t.test('a call the runner started, whose connection then dies (kill -9), fails as interrupted: not retryable', async (t) => {
  const { socketPath, client } = setup(t);
  const runner = await startRunner(t, socketPath);
  const accepted: net.Socket[] = [];
  runner.server.on('connection', (s: net.Socket) => accepted.push(s));
  const running = client.call('POST', '/', {}, Buffer.from('running'), OPTS).answer;
  running.catch(() => undefined);
  await runner.executor.started(1);
  for (const s of accepted) s.destroy(); // the runner's end of the connection goes, as with kill -9
  const e = await within(running.then(() => null, (err: Error) => err), 'the call to fail');
  t.type(e, RpcCallInterrupted, 'the runner acknowledged it before starting it: the gateway must not send it again');
  t.notOk(e instanceof RpcConnectionError, 'not a retryable connection error');
});

t.test('garbage instead of frames closes that connection only', async (t) => {
  const { socketPath, client } = setup(t);
  const runner = await startRunner(t, socketPath);
  const bad = net.connect(socketPath);
  bad.on('error', () => undefined);
  bad.write(Buffer.concat([Buffer.from('\0faass-rpc/1\n'), Buffer.from([0, 0, 0, 3])]));
  await t.resolves(within(once(bad, 'close'), 'the bad connection to be closed'), 'the runner closes the connection that sent garbage');
  const good = client.call('POST', '/', {}, Buffer.from('good'), OPTS).answer;
  await runner.executor.started(1);
  runner.executor.finish('good');
  t.equal((await within(good, 'answer')).body.toString(), 'done good', 'other connections are served');
});
