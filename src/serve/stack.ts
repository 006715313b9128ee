// faassctl serve's whole stack in one process tree: the programs the units would run, kept in
// step with the state they share with the units. Each re-scan (watch.ts) reads that state into a
// snapshot and applies the difference, as a deploy, delete, credentials or tls command applies it
// through systemctl: a new function gets its socket and runner, a deleted one loses both, a
// redeployed one's runner is restarted (its socket held meanwhile), a changed faass.conf or TLS
// key pair restarts the gateway (its sockets held, unless the address itself changed), the first
// admin credential starts the management API. A file that does not parse changes nothing: one
// line says why, and what runs keeps running.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createHash } from 'node:crypto';
import { Paths, functionCodeDir, functionConfPath, functionsConfDir, functionSocketPath, gatewayConfPath, functionStateDir } from '../core/paths';
import { Settings, loadSettings } from '../core/settings';
import { Address } from '../core/validate';
import { FunctionConfig, listFunctionNames, loadFunctionConfig } from '../functions/function-config';
import { intentsDir, interruptedDeploys } from '../functions/deploy-intent';
import { authConfPath, loadCredentials } from '../auth/credentials';
import { privateDir } from '../core/private-files';
import { errorMessage } from '../observe/log';
import { HeldSocket } from './held-socket';
import { Program } from './program';
import { LogFile } from './log-files';
import { ServiceActivator, unservable } from './service-activator';
import { ServeState, ServedProgram } from '../systemd/serve-link';
import { doorbells } from '../queue/spool';
import { Triggers, loadTriggers } from '../functions/schedules';
import { TriggerSet } from './triggers';
import { DROPS_ENV, DropInbox, renderDropInboxes, runnerInboxes } from '../functions/outbox';
import { loadCredentials as loadServeCredentials, secretsStamp, serveCredentialsDir } from './credentials';

interface Snapshot {
  settings: Settings;
  settingsDigest: string; // faass.conf and the TLS key pair: a change restarts the gateway
  admin: boolean;
  functions: Map<string, { cfg: FunctionConfig; digest: string }>;
  triggers: Map<string, Triggers>; // of the functions above: not the runner's business
}

interface Served {
  cfg: FunctionConfig;
  digest: string;
  runner?: { socket: HeldSocket; program: Program };
  service?: ServiceActivator;
}

interface GatewaySockets {
  key: string; // the addresses and what each speaks
  held: { socket: HeldSocket; name: string }[];
}

const sha = (...parts: (string | Buffer)[]) => {
  const h = createHash('sha256');
  for (const p of parts) h.update(p).update('\0');
  return h.digest('hex');
};

const readOr = (file: string): Buffer | string => {
  try {
    return fs.readFileSync(file);
  } catch (e) {
    return `missing: ${(e as NodeJS.ErrnoException).code}`;
  }
};

const readlinkOr = (link: string): string => {
  try {
    return fs.readlinkSync(link, { encoding: 'utf8' });
  } catch (e) {
    return `none: ${(e as NodeJS.ErrnoException).code}`;
  }
};

export class Stack {
  private readonly dist = path.resolve(__dirname, '..');
  private readonly logs = new Map<string, LogFile>();
  private readonly said = new Set<string>(); // lines about bad files, said once each
  private readonly functions = new Map<string, Served>();
  private gateway: { program: Program; sockets: GatewaySockets; digest: string } | null = null;
  private api: { program: Program; socket: HeldSocket } | null = null;
  private dispatch: Program | null = null; // runs while asynchronous calls wait
  private snapshot: Snapshot | null = null;
  private readonly triggers: TriggerSet; // schedules, file drops, NATS bridges
  private busy: Promise<void> = Promise.resolve();
  private again = false;
  private scanned = 0; // when the last applied re-scan began
  private stopping = false;

  constructor(
    private readonly paths: Paths,
    private readonly listen: Address | undefined, // --port / --listen: this run's address
    private readonly say: (line: string) => void,
  ) {
    this.triggers = new TriggerSet(paths, { dist: this.dist, log: (fn) => this.logFile(fn), say: (l) => this.sayOnce(l), changed: () => this.changed() });
  }

  // The directories whose changes a re-scan must see.
  watched(): string[] {
    const tls = this.snapshot?.settings.tls;
    return [...new Set([this.paths.configDir, functionsConfDir(this.paths), path.join(this.paths.dataDir, 'functions'), intentsDir(this.paths), doorbells(this.paths), ...(tls ? [path.dirname(tls.cert), path.dirname(tls.key)] : [])])];
  }

  // Applies the state as it is now; calls made while one runs are folded into one more run.
  update(): Promise<void> {
    if (this.stopping) return this.busy;
    if (this.again) return this.busy;
    this.again = true;
    this.busy = this.busy.then(async () => {
      this.again = false;
      if (this.stopping) return;
      const began = Date.now();
      try {
        await this.apply(this.read());
        this.scanned = began;
      } catch (e) {
        this.sayOnce(`faassctl serve: ${errorMessage(e)}; keeping what runs`);
      }
    });
    return this.busy;
  }

  // The first start: a gateway that cannot listen is an error of the command, not a line.
  async start(): Promise<void> {
    const began = Date.now();
    await this.apply(this.read());
    this.scanned = began;
    if (!this.gateway) throw new Error('the gateway did not start');
  }

  async stop(): Promise<void> {
    this.stopping = true;
    await this.busy;
    const all: Promise<void>[] = [];
    for (const name of this.functions.keys()) all.push(this.drop(name));
    if (this.gateway) all.push(this.gateway.program.close().then(() => this.gateway?.sockets.held.forEach((h) => h.socket.close())));
    if (this.api) all.push(this.api.program.close().then(() => this.api?.socket.close()));
    if (this.dispatch) all.push(this.dispatch.close());
    all.push(this.triggers.close());
    await Promise.all(all);
    for (const l of this.logs.values()) l.close();
  }

  state(started: string): ServeState {
    const progs: ServedProgram[] = [];
    if (this.gateway) progs.push({ name: 'gateway', role: 'gateway', pid: this.gateway.program.pid });
    if (this.api) progs.push({ name: 'api', role: 'api', pid: this.api.program.pid });
    for (const [name, f] of this.functions) progs.push({ name, role: f.service ? 'app' : 'runner', pid: f.service ? f.service.pid : (f.runner?.program.pid ?? null) });
    if (this.dispatch) progs.push({ name: 'dispatch', role: 'dispatch', pid: this.dispatch.pid });
    progs.push(...this.triggers.programs());
    const held = this.gateway?.sockets.held ?? [];
    return {
      pid: process.pid,
      started,
      listen: held[0]?.socket.address.text ?? '',
      https: held.find((h, i) => i > 0 && h.name === 'https')?.socket.address.text,
      console: held.find((h) => h.name === 'console')?.socket.address.text,
      api: this.api !== null,
      programs: progs,
      functions: [...this.functions.entries()].map(([name, f]) => ({ name, kind: f.cfg.kind })),
      scanned: this.scanned,
    };
  }

  // ---- reading the shared state ----

  private read(): Snapshot {
    const old = this.snapshot;
    let settings = old?.settings;
    let settingsDigest = old?.settingsDigest ?? '';
    try {
      const s = loadSettings(this.paths);
      settings = s;
      settingsDigest = sha(readOr(gatewayConfPath(this.paths)), ...(s.tls ? [readOr(s.tls.cert), readOr(s.tls.key)] : []));
    } catch (e) {
      if (!settings) throw e; // nothing to keep: serve cannot start
      this.sayOnce(`faassctl serve: ${errorMessage(e)}; the gateway keeps the settings it has`);
    }
    let admin = old?.admin ?? false;
    try {
      admin = [...loadCredentials(this.paths).values()].some((c) => c.admin);
    } catch (e) {
      this.sayOnce(`faassctl serve: ${authConfPath(this.paths)}: ${errorMessage(e)}; the API stays as it is`);
    }
    const deploying = this.deploying();
    const functions = this.readFunctions(old, deploying);
    return { settings: settings as Settings, settingsDigest, admin, functions, triggers: this.readTriggers(functions, old, deploying) };
  }

  private readFunctions(old: Snapshot | null, deploying: Set<string>): Snapshot['functions'] {
    const out: Snapshot['functions'] = new Map();
    for (const name of listFunctionNames(this.paths)) {
      const before = old?.functions.get(name);
      // A deploy under way: its code and file change one after the other; wait for the end.
      if (deploying.has(name)) {
        if (before) out.set(name, before);
        continue;
      }
      try {
        const text = fs.readFileSync(functionConfPath(this.paths, name));
        const code = readlinkOr(functionCodeDir(this.paths, name)); // a redeploy switches it
        const cfg = loadFunctionConfig(this.paths, name);
        // A secret's new value restarts its runner too (serve/credentials.ts).
        const digest = sha(text, code, this.runnerEnv(name)[DROPS_ENV] ?? '', secretsStamp(this.paths, cfg.secrets));
        out.set(name, before?.digest === digest ? before : { cfg, digest });
      } catch (e) {
        // Deleted meanwhile: gone. Unreadable: the gateway answers 503 naming the file; what runs stays.
        if (!fs.existsSync(functionConfPath(this.paths, name))) continue;
        this.sayOnce(`faassctl serve: function ${name}: ${errorMessage(e)}; ${before ? 'keeping its runner as it is' : 'not started'}`);
        if (before) out.set(name, before);
      }
    }
    return out;
  }

  // Each function's triggers file; one that does not parse keeps what runs (and says why once,
  // as the units would stay as they are: apply-units.ts cannot render them either).
  private readTriggers(functions: Snapshot['functions'], old: Snapshot | null, deploying: Set<string>): Snapshot['triggers'] {
    const out: Snapshot['triggers'] = new Map();
    for (const name of functions.keys()) {
      const before = old?.triggers.get(name);
      try {
        if (deploying.has(name) && before) out.set(name, before);
        else out.set(name, loadTriggers(this.paths, name));
      } catch (e) {
        this.sayOnce(`faassctl serve: function ${name}: ${errorMessage(e)}; its triggers stay as they are`);
        if (before) out.set(name, before);
      }
    }
    return out;
  }

  // Functions a live deploy is changing (an intent whose process runs).
  private deploying(): Set<string> {
    let files: string[];
    try {
      files = fs.readdirSync(intentsDir(this.paths)).filter((f) => f.endsWith('.json'));
    } catch {
      return new Set();
    }
    const dead = new Set(interruptedDeploys(this.paths).map((i) => i.name));
    return new Set(files.map((f) => f.slice(0, -5)).filter((n) => !dead.has(n)));
  }

  // ---- applying it ----

  private async apply(snap: Snapshot): Promise<void> {
    this.snapshot = snap;
    const work: Promise<void>[] = [];
    for (const name of this.functions.keys()) if (!snap.functions.has(name)) work.push(this.drop(name).then(() => this.say(`faassctl serve: ${name} deleted, its runner stopped`)));
    for (const [name, want] of snap.functions) {
      const have = this.functions.get(name);
      if (!have) work.push(this.add(name, want.cfg, want.digest).then(() => this.say(`faassctl serve: ${name} deployed, serving it`)));
      else if (have.digest !== want.digest) work.push(this.redeploy(name, have, want.cfg, want.digest).then(() => this.say(`faassctl serve: ${name} redeployed, its ${have.service ? 'app stops; the next call starts the new one' : 'runner restarted'}`)));
    }
    await Promise.all(work.map((w) => w.catch((e) => this.sayOnce(`faassctl serve: ${errorMessage(e)}`))));
    await this.applyApi(snap.admin);
    // Last: at the start, the gateway answers once what it forwards to is ready.
    await this.applyGateway(snap);
    this.applyDispatch();
    await this.triggers.apply(new Map([...snap.triggers].map(([name, triggers]) => [name, { triggers, queueMax: snap.functions.get(name)?.cfg.queueMax ?? 1 }])));
  }

  // Asynchronous calls: the dispatcher runs while a doorbell rings, as faass-dispatch.path starts
  // it, and exits when the queue is empty; its end makes a re-scan, which sees a call queued as
  // it exited.
  private applyDispatch(): void {
    if (this.stopping || this.dispatch?.running) return;
    let rung = false;
    try {
      rung = fs.readdirSync(doorbells(this.paths)).some((f) => !f.startsWith('.'));
    } catch {
      // no call was ever queued
    }
    if (!rung) return;
    const ended = () => {
      this.changed();
      if (!this.dispatch?.running) void this.update();
    };
    this.dispatch ??= new Program({ script: path.join(this.dist, 'queue/main.js'), args: [], sockets: [] }, this.notifyPath('dispatch'), this.logFile('dispatch'), ended, false);
    this.dispatch.start();
  }

  private gatewaySockets(s: Settings): { key: string; want: { address: Address; name: string }[] } {
    const main = this.listen ?? s.listen;
    // The console's socket too (console_listen), held as systemd would, under its name.
    const want = [{ address: main, name: s.tls && !s.tls.listen ? 'https' : 'http' }, ...(s.tls?.listen ? [{ address: s.tls.listen, name: 'https' }] : []), ...(s.consoleListen ? [{ address: s.consoleListen, name: 'console' }] : [])];
    return { key: want.map((w) => `${w.address.text}=${w.name}`).join(' '), want };
  }

  private async applyGateway(snap: Snapshot): Promise<void> {
    const { key, want } = this.gatewaySockets(snap.settings);
    const gw = this.gateway;
    if (gw && gw.sockets.key === key && gw.digest === snap.settingsDigest) return;
    if (gw && gw.sockets.key === key) {
      // Settings or key pair changed: restarted on the sockets it has, as try-restart does.
      gw.digest = snap.settingsDigest;
      await gw.program.restart();
      await this.readyOrSay(gw.program, 'gateway');
      this.say('faassctl serve: faass.conf or the TLS key pair changed, gateway restarted');
      return;
    }
    // A socket whose address stays is kept (only what it speaks may change); new addresses are
    // bound before the old ones go, so a bad address keeps the old gateway.
    const kept = (a: Address) => gw?.sockets.held.find((h) => h.socket.address.text === a.text)?.socket;
    const fresh: HeldSocket[] = [];
    let held: { socket: HeldSocket; name: string }[];
    try {
      held = want.map((w) => ({ socket: kept(w.address) ?? fresh[fresh.push(HeldSocket.bind(w.address)) - 1], name: w.name }));
    } catch (e) {
      fresh.forEach((f) => f.close());
      throw e;
    }
    if (gw) {
      await gw.program.stop();
      gw.sockets.held.filter((h) => !held.some((n) => n.socket === h.socket)).forEach((h) => h.socket.close());
    }
    if (gw) await gw.program.close();
    const program = new Program({ script: path.join(this.dist, 'gateway/main.js'), args: ['--idle', '0'], sockets: held }, this.notifyPath('gateway'), this.logFile('gateway'), this.changed);
    this.gateway = { program, sockets: { key, held }, digest: snap.settingsDigest };
    privateDir(this.paths, this.paths.stateDir);
    program.start();
    await this.readyOrSay(program, 'gateway');
    if (gw) this.say(`faassctl serve: gateway now on ${held.map((h) => h.socket.address.text).join(' and ')}`);
  }

  // The API's socket is served while an admin credential exists, as faass-api.socket is enabled.
  private async applyApi(admin: boolean): Promise<void> {
    if (admin && !this.api) {
      const socket = HeldSocket.bind({ kind: 'unix', path: path.join(this.paths.runtimeDir, 'api.sock'), text: path.join(this.paths.runtimeDir, 'api.sock') });
      const program = new Program({ script: path.join(this.dist, 'api/main.js'), args: ['--idle', '0'], sockets: [{ socket, name: 'api' }] }, this.notifyPath('api'), this.logFile('api'), this.changed);
      this.api = { program, socket };
      program.start();
      await this.readyOrSay(program, 'api');
      this.say('faassctl serve: an admin credential exists, serving the management API');
    } else if (!admin && this.api) {
      const api = this.api;
      this.api = null;
      await api.program.close();
      api.socket.close();
      this.say('faassctl serve: no admin credential left, the management API stopped');
    }
  }

  private async add(name: string, cfg: FunctionConfig, digest: string): Promise<void> {
    const served: Served = { cfg, digest };
    this.functions.set(name, served);
    try {
      await this.startServed(name, served);
    } catch (e) {
      this.functions.delete(name); // the next re-scan tries again
      throw new Error(`function ${name} not started: ${errorMessage(e)}`);
    }
    this.changed();
  }

  private async startServed(name: string, served: Served): Promise<void> {
    const cfg = served.cfg;
    privateDir(this.paths, functionStateDir(this.paths, name)); // its runner's counters (the units' BindPaths=)
    if (cfg.kind === 'service') {
      const why = unservable(cfg);
      if (why) this.say(`faassctl serve: service ${name}: ${why}; its calls are answered 503`);
      served.service = await ServiceActivator.start(this.paths, cfg, path.join(this.dist, 'app/main.js'), this.notifyPath(`fn-${name}`), this.logFile(name), this.changed);
    } else {
      const address: Address = { kind: 'unix', path: functionSocketPath(this.paths, name), text: functionSocketPath(this.paths, name) };
      const socket = HeldSocket.bind(address);
      const program = new Program(this.runnerSpec(name, socket), this.notifyPath(`fn-${name}`), this.logFile(name), this.changed);
      served.runner = { socket, program };
      program.start();
      await this.readyOrSay(program, name);
    }
  }

  private runnerSpec(name: string, socket: HeldSocket) {
    const creds = loadServeCredentials(this.paths, this.functions.get(name)?.cfg ?? loadFunctionConfig(this.paths, name));
    return { script: path.join(this.dist, 'runner/main.js'), args: ['--function', name, '--idle', '0'], sockets: [{ socket, name }], env: { ...this.runnerEnv(name), ...creds } };
  }

  // Its drops' inboxes, as its unit's Environment= has them (units.ts dropInboxes), so its calls
  // get outboxes under serve too; a triggers file that does not read gives none (said by
  // readTriggers).
  private runnerEnv(name: string): Record<string, string> {
    let inboxes: DropInbox[];
    try {
      inboxes = runnerInboxes(loadFunctionConfig(this.paths, name).runtime, loadTriggers(this.paths, name).drops);
    } catch {
      return {};
    }
    return inboxes.length ? { [DROPS_ENV]: renderDropInboxes(inboxes) } : {};
  }

  private async redeploy(name: string, have: Served, cfg: FunctionConfig, digest: string): Promise<void> {
    if ((have.service !== undefined) !== (cfg.kind === 'service')) {
      await this.drop(name);
      return this.add(name, cfg, digest);
    }
    have.cfg = cfg;
    have.digest = digest;
    if (have.service) await have.service.update(cfg);
    else if (have.runner) {
      await have.runner.program.restart(this.runnerSpec(name, have.runner.socket)); // its drops' inboxes may have changed
      await this.readyOrSay(have.runner.program, name);
    }
  }

  private async drop(name: string): Promise<void> {
    const f = this.functions.get(name);
    if (!f) return;
    this.functions.delete(name);
    if (f.service) await f.service.close();
    if (f.runner) {
      await f.runner.program.close();
      f.runner.socket.close();
    }
    fs.rmSync(serveCredentialsDir(this.paths, name), { recursive: true, force: true }); // as systemd at a unit's stop
    this.changed();
  }

  // A program's first listen(2) makes its held socket listen (held-socket.ts): a change is taken
  // up once the program is ready, as systemctl start returns once a Type=notify unit is.
  private async readyOrSay(program: Program, name: string): Promise<void> {
    if (!(await program.ready())) this.sayOnce(`faassctl serve: ${name} ended before it was ready; faassctl logs ${name} says why`);
  }

  private notifyPath(label: string): string {
    return path.join(this.paths.runtimeDir, 'serve', `${label}.notify`);
  }

  private logFile(name: string): LogFile {
    let l = this.logs.get(name);
    if (!l) this.logs.set(name, (l = new LogFile(this.paths, name)));
    return l;
  }

  private sayOnce(line: string): void {
    if (this.said.has(line)) return;
    this.said.add(line);
    this.say(line);
  }

  private onChange: (() => void) | null = null;
  private readonly changed = (): void => this.onChange?.();

  // Told whenever a program starts or stops (for the state file).
  onProgramsChange(f: () => void): void {
    this.onChange = f;
  }
}
