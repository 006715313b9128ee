import type Docker from 'dockerode';
import { Duplex, Writable } from 'node:stream';
import { FunctionConfig } from '../functions/function-config';
import { FaassError } from '../core/errors';
import { log, logLine, errorMessage } from '../observe/log';
import { Call, CallResult, Executor, timedOut, watchdogEnv, wroteTooMuch } from './call';
import { parseFramed } from './framed';
import { LineLogger } from './line-logger';
import { Slots } from './slots';
import { resolvePaths, secretsDir } from '../core/paths';
import { containerSpec, functionLimits, memoryLimit, mib } from '../docker/container-spec';
import { engineClient, removeFunctionContainers, unreachableCode } from '../docker/engine';

// What the engine said when it refused (its JSON message), else the error's own.
const engineReason = (e: unknown): string => (e as { json?: { message?: string } }).json?.message ?? errorMessage(e);

// The engine refused a container's start, and the container never ran: the call may be tried
// once more (DockerExecutor.retryRefusedStart). Answered, if not, as any refusal is.
class StartRefused extends FaassError {
  constructor(
    message: string,
    readonly reason: string,
  ) {
    super('FAASS_E_FUNCTION_FAILED', message);
  }
}

// The exec contract in a fresh container per call, through the Docker Engine API: created with
// stdin open, attached, started, fed the body, waited for, removed. Locked down by default:
// no network, read-only root with a tmpfs /tmp, no capabilities, no-new-privileges, limits.
// At most cfg.workers containers at once, each with its share of the function's limits
// (container-spec.ts); later calls wait their turn within their timeout.
export class DockerExecutor implements Executor {
  private readonly docker: Docker;
  private readonly slots: Slots;
  private readonly running = new Set<Docker.Container>();
  private closed = false; // close() began: no retry starts a container it would not remove

  constructor(
    private readonly cfg: FunctionConfig,
    socketPath: string,
    private readonly install: string, // names.ts installId
    docker?: Docker, // a fake engine, in tests
  ) {
    this.docker = docker ?? engineClient(socketPath);
    this.slots = new Slots(cfg.workers);
    this.secrets = cfg.secrets.length > 0 ? secretsDir(resolvePaths()) : undefined;
  }

  // The secret store (container-spec.ts secretMounts): the engine binds from the host's view,
  // where the unit's credentials directory may not be (root's manager mounts it in the unit's
  // namespace only: "bind source path does not exist", seen here).
  private readonly secrets: string | undefined;

  describe(): string {
    return `docker ${this.cfg.image}${this.cfg.command ? ' ' + JSON.stringify(this.cfg.command) : ''}, network ${this.cfg.network}, up to ${this.cfg.workers} containers at once`;
  }

  // Containers a previous runner of this function left (it was killed mid-call) are removed.
  async removeLeftovers(): Promise<number> {
    return (await removeFunctionContainers(this.docker, this.install, this.cfg.name)).found; // one that went meanwhile does not matter
  }

  // The runner exits: calls still waiting for a container get none, and the containers of calls
  // still running (their callers gone, or the stop's grace over) are removed now, not left to
  // run on with nobody to wait for them. The unit's ExecStopPost= (reap.ts) does the same after
  // a runner that could not (SIGKILL).
  async close(): Promise<void> {
    this.closed = true;
    this.slots.close(new FaassError('FAASS_E_RUNNER_STOPPED', `The runner of ${this.cfg.name} stopped before the call got a container`));
    const left = [...this.running];
    if (left.length === 0) return;
    await Promise.all(left.map((c) => c.remove({ force: true }).catch((e) => log.warning(`Failed to remove container ${c.id.slice(0, 12)} of ${this.cfg.name} at exit: ${errorMessage(e)}`))));
    log.notice(`Removed ${left.length} container(s) of calls of ${this.cfg.name} still running at exit`);
  }

  private engineError(e: unknown): FaassError {
    const err = e as NodeJS.ErrnoException & { statusCode?: number; json?: { message?: string } };
    const unreachable = unreachableCode(e);
    if (unreachable) return new FaassError('FAASS_E_ENGINE_UNREACHABLE', `Function ${this.cfg.name}: the Docker engine is not reachable (${unreachable})`);
    if (err.statusCode === 404 && /image/i.test(err.json?.message ?? err.message)) return new FaassError('FAASS_E_IMAGE_MISSING', `Function ${this.cfg.name}: image ${this.cfg.image} is not on this host (build or load it first)`);
    return new FaassError('FAASS_E_FUNCTION_FAILED', `Function ${this.cfg.name}: the Docker engine refused the container: ${engineReason(e)}`);
  }

  async invoke(call: Call): Promise<CallResult> {
    const cfg = this.cfg;
    const deadline = Date.now() + cfg.timeout * 1000;
    const release = await this.slots.acquire(cfg.timeout * 1000, () => new FaassError('FAASS_E_FUNCTION_TIMEOUT', `Function ${cfg.name} timed out after ${cfg.timeout}s waiting for a container: workers=${cfg.workers} ran at once all that time`));
    // The slot is held over a retry too: one call, one container at a time.
    try {
      return await this.inFreshContainer(call, deadline).catch((e) => this.retryRefusedStart(e, call, deadline));
    } finally {
      release();
    }
  }

  // A start the engine refused before the function ran is tried once more, in a fresh container;
  // any other failure is the call's answer. Safe: the refused container never ran (the engine
  // still says "created", startFailure), and nothing of the call reached it (the body is written
  // only after a start succeeded), so the function runs once at most. After a start that
  // succeeded (a non-zero exit, a timeout, OOM) the function may have run: never again. Seen under
  // load (CI beside stress-ng): runc's init ended between the engine's create and its start,
  // "cannot start a stopped process". A second refusal is answered as the first would have been.
  private async retryRefusedStart(e: unknown, call: Call, deadline: number): Promise<CallResult> {
    if (!(e instanceof StartRefused) || this.closed || Date.now() >= deadline) throw e;
    logLine('warning', `Call ${call.id} of ${this.cfg.name}: the Docker engine refused to start its container (${e.reason}); trying once more in a fresh container`, { FAASS_CALL_ID: call.id });
    return this.inFreshContainer(call, deadline);
  }

  private async inFreshContainer(call: Call, deadline: number): Promise<CallResult> {
    const cfg = this.cfg;
    let container: Docker.Container;
    try {
      container = await this.docker.createContainer(containerSpec(cfg, { kind: 'call', install: this.install, callId: call.id, env: watchdogEnv(call), secrets: this.secrets }));
    } catch (e) {
      throw this.engineError(e);
    }
    this.running.add(container);
    // No container outlives its call: removed whatever happens below, and only then is its
    // slot free (a slot is a share of the function's limits).
    try {
      return await this.run(container, call, deadline);
    } finally {
      await container.remove({ force: true }).catch((e) => log.warning(`Failed to remove container ${container.id.slice(0, 12)} of ${cfg.name}: ${errorMessage(e)}, ignoring`));
      this.running.delete(container);
    }
  }

  // Why a container's start failed: a StartRefused (retryRefusedStart) only when the engine was
  // reached and says the container never ran; when it cannot say, the failure stands.
  private async startFailure(container: Docker.Container, e: unknown): Promise<FaassError> {
    const err = this.engineError(e);
    if (err.code !== 'FAASS_E_FUNCTION_FAILED') return err;
    const status = await container.inspect().then((i) => i.State.Status, () => 'unknown');
    return status === 'created' ? new StartRefused(err.message, engineReason(e)) : err;
  }

  private async run(container: Docker.Container, call: Call, deadline: number): Promise<CallResult> {
    const cfg = this.cfg;
    const chunks: Buffer[] = [];
    let outBytes = 0;
    let tooMuch = false;
    const stderrLog = new LineLogger(cfg.name, 'err', call.id);
    const stdout = new Writable({
      write(chunk: Buffer, _enc, cb) {
        outBytes += chunk.length;
        if (outBytes > cfg.maxOutput) tooMuch = true;
        else chunks.push(chunk);
        cb();
      },
    });
    const stderr = new Writable({
      write(chunk: Buffer, _enc, cb) {
        stderrLog.write(chunk);
        cb();
      },
    });
    let stream: NodeJS.ReadWriteStream;
    try {
      stream = (await container.attach({ stream: true, stdin: true, stdout: true, stderr: true, hijack: true })) as NodeJS.ReadWriteStream;
      container.modem.demuxStream(stream, stdout, stderr);
    } catch (e) {
      throw this.engineError(e);
    }
    try {
      await container.start();
    } catch (e) {
      (stream as Duplex).destroy();
      throw await this.startFailure(container, e);
    }
    const ended = new Promise<void>((resolve) => {
      stream.on('end', resolve);
      stream.on('close', resolve);
      stream.on('error', () => resolve());
    });
    stream.end(call.body);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), Math.max(0, deadline - Date.now()))));
    const outcome = await Promise.race([container.wait().then((r: { StatusCode: number }) => r.StatusCode), timeout]);
    clearTimeout(timer);
    if (outcome === 'timeout') throw timedOut(cfg);
    await Promise.race([ended, new Promise((r) => setTimeout(r, 1000))]);
    stderrLog.end();
    if (tooMuch) throw wroteTooMuch(cfg);
    if (outcome !== 0) {
      const state = await container.inspect().then((i) => i.State, () => null);
      const oom = state?.OOMKilled ? ` (out of memory: ${mib(memoryLimit(cfg))}, its container's share of memory_max=${mib(functionLimits(cfg).memory)} among workers=${cfg.workers})` : '';
      throw new FaassError('FAASS_E_FUNCTION_FAILED', `Function ${cfg.name} exited with status ${outcome}${oom}`);
    }
    const out = Buffer.concat(chunks);
    if (cfg.protocol === 'framed') {
      const parsed = parseFramed(out);
      if (!parsed.ok) throw new FaassError('FAASS_E_FRAME_MALFORMED', `Function ${cfg.name} returned a malformed frame: ${parsed.reason}`);
      return parsed.value;
    }
    return { status: 200, headers: { 'content-type': cfg.contentType ?? 'text/plain; charset=utf-8' }, body: out };
  }
}
