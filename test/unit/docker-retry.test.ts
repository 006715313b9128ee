// A container start the engine refuses before the function ran is tried once more in a fresh
// container (docker-executor.ts retryRefusedStart); nothing after a start that succeeded is.
// Against a fake engine that echoes stdin (`cat`), whose starts fail as each test says.
import t from 'tap';
import type Docker from 'dockerode';
import { Duplex, Writable } from 'node:stream';
import { buildFunctionConfig } from '../../src/functions/function-config';
import { DockerExecutor } from '../../src/runner/docker-executor';
import { FaassError } from '../../src/core/errors';

// What dockerode rejects with when the engine answers an error.
const engineRefusal = (message: string) => Object.assign(new Error(`(HTTP code 500) server error - ${message}`), { statusCode: 500, json: { message } });
const STOPPED = 'cannot start a stopped process';

class FakeContainer {
  state: 'created' | 'running' | 'exited' = 'created';
  removed = false;
  private stdinEnded!: () => void;
  private readonly stdinDone = new Promise<void>((r) => (this.stdinEnded = r));
  readonly modem = { demuxStream: (stream: Duplex, out: Writable) => stream.on('data', (d: Buffer) => out.write(d)) };

  constructor(
    readonly id: string,
    private readonly engine: FakeEngine,
  ) {}

  async attach(): Promise<Duplex> {
    const stdin: Buffer[] = [];
    const ended = () => this.stdinEnded();
    return new Duplex({
      read() {},
      write(chunk: Buffer, _enc, cb) {
        stdin.push(chunk);
        cb();
      },
      final(cb) {
        this.push(Buffer.concat(stdin)); // cat
        this.push(null);
        ended();
        cb();
      },
    });
  }

  async start(): Promise<void> {
    const refusal = this.engine.startRefusal(this);
    if (refusal) throw refusal;
    this.state = 'running';
  }

  async wait(): Promise<{ StatusCode: number }> {
    await this.stdinDone;
    this.state = 'exited';
    return { StatusCode: this.engine.exitStatus };
  }

  async inspect(): Promise<{ State: { Status: string; OOMKilled: boolean } }> {
    return { State: { Status: this.state, OOMKilled: false } };
  }

  async remove(): Promise<void> {
    this.removed = true;
  }
}

// refusals: how each start goes, in order (an engine's message, or null: it starts); after a
// refused start the container is in `stateAfterRefusal` (the engine's own say on whether it ran).
class FakeEngine {
  readonly containers: FakeContainer[] = [];
  exitStatus = 0;
  stateAfterRefusal: FakeContainer['state'] = 'created';

  constructor(private readonly refusals: (string | null)[]) {}

  async createContainer(): Promise<FakeContainer> {
    const c = new FakeContainer(`c${this.containers.length}`.padEnd(12, '0'), this);
    this.containers.push(c);
    return c;
  }

  startRefusal(c: FakeContainer): Error | null {
    const message = this.refusals.shift() ?? null;
    if (message === null) return null;
    c.state = this.stateAfterRefusal;
    return engineRefusal(message);
  }
}

const cfg = buildFunctionConfig('dfake', { runtime: 'docker', image: 'busybox', command: 'cat' });
const call = (id: string) => ({ id, method: 'POST', path: '/', query: '', headers: {}, body: Buffer.from('hello') });
const executor = (engine: FakeEngine) => new DockerExecutor(cfg, '/nonexistent/docker.sock', 'i-test', engine as unknown as Docker);

// The log lines written while fn runs (no journal here: log.ts writes "PRIORITY: message" to stderr).
async function logLines<T>(fn: () => Promise<T>): Promise<{ lines: string[]; value: T | Error }> {
  const lines: string[] = [];
  const write = process.stderr.write;
  process.stderr.write = ((chunk: string | Uint8Array) => {
    lines.push(...String(chunk).split('\n').filter(Boolean));
    return true;
  }) as typeof process.stderr.write;
  try {
    return { lines, value: await fn().catch((e: Error) => e) };
  } finally {
    process.stderr.write = write;
  }
}

t.test('a start refused before the function ran: answered from a fresh container, the refused one removed, one warning', async (t) => {
  const engine = new FakeEngine([STOPPED]);
  const { lines, value } = await logLines(() => executor(engine).invoke(call('retry-1')));
  t.notOk(value instanceof Error, `the call succeeds ${value instanceof Error ? value.message : ''}`);
  t.equal((value as { body: Buffer }).body.toString(), 'hello', 'with the function\'s answer to its body');
  t.equal(engine.containers.length, 2, 'a second container');
  t.ok(engine.containers.every((c) => c.removed), 'both removed: none left behind');
  t.equal(engine.containers[0].state, 'created', 'the refused one never ran');
  const warnings = lines.filter((l) => l.startsWith('warning:'));
  t.equal(warnings.length, 1, `one warning ${JSON.stringify(lines)}`);
  t.match(warnings[0], /retry-1/, 'naming the call');
  t.match(warnings[0], STOPPED, "and the engine's reason");
});

t.test("refused twice: the same 500 as without a retry, with the engine's reason, and no third try", async (t) => {
  const engine = new FakeEngine([STOPPED, STOPPED, null]);
  const { value } = await logLines(() => executor(engine).invoke(call('retry-2')));
  t.ok(value instanceof FaassError, 'the call fails');
  const err = value as FaassError;
  t.equal(err.code, 'FAASS_E_FUNCTION_FAILED');
  t.equal(err.status, 500);
  t.equal(err.message, `Function dfake: the Docker engine refused the container: ${STOPPED}`);
  t.equal(engine.containers.length, 2, 'two containers, not three');
  t.ok(engine.containers.every((c) => c.removed), 'both removed');
});

t.test('a failure after the start succeeded is never retried: the function may have run', async (t) => {
  const engine = new FakeEngine([null]);
  engine.exitStatus = 1;
  const { lines, value } = await logLines(() => executor(engine).invoke(call('retry-3')));
  t.match(value, { code: 'FAASS_E_FUNCTION_FAILED', message: /exited with status 1/ }, 'the exit is the answer');
  t.equal(engine.containers.length, 1, 'one container');
  t.ok(engine.containers[0].removed, 'removed');
  t.same(lines.filter((l) => l.startsWith('warning:')), [], 'no retry warning');
});

t.test('a refused start after which the engine says the container ran is not retried', async (t) => {
  const engine = new FakeEngine(['something went wrong after the start']);
  engine.stateAfterRefusal = 'exited';
  const { value } = await logLines(() => executor(engine).invoke(call('retry-4')));
  t.match(value, { code: 'FAASS_E_FUNCTION_FAILED', message: /refused the container: something went wrong/ });
  t.equal(engine.containers.length, 1, 'one container');
  t.ok(engine.containers[0].removed, 'removed');
});
