// A real systemd user manager (with journald) per test file; see systemd-user.sh.
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as http from 'node:http';
import { ROOT } from './root';

export { ROOT };
export const FAASSCTL = path.join(ROOT, 'dist', 'faassctl', 'main.js');

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

export interface Sandbox {
  dir: string;
  // When the sandbox began (ms since the epoch), before its manager and journald started: the
  // journal holds nothing of it from earlier (journal.ts reads from here on).
  started: number;
  env: NodeJS.ProcessEnv;
  port: number;
  // Runs a command in the sandbox: in its manager's mount namespace (its own journal at
  // /run/log/journal), as its user.
  run(cmd: string, args: string[], opts?: { timeoutMs?: number; input?: string }): Promise<Run>;
  // The prefix run() puts before a command (nsenter, setpriv), for tests that spawn one themselves.
  prefix: string[];
  faassctlPath: string;
  faassctl(...args: string[]): Promise<Run>;
  systemctl(...args: string[]): Promise<Run>;
  stop(): void;
}

// eslint-disable-next-line @typescript-eslint/no-var-requires
const manager = require(path.join(ROOT, 'test', 'support', 'user-manager.js')) as {
  startUserManager(prefix: string, user?: string): { dir: string; env: NodeJS.ProcessEnv; ns: string[]; as: string[]; stop(): void };
  freePort(): Promise<number>;
};
export const freePort = manager.freePort;

// The account ordinary-user sandboxes run as (created by systemd-user.sh when missing).
export const TEST_USER = 'faass-test';

// opts.user: run the manager, and every command the sandbox runs, as an ordinary account
// instead of root, as faass runs on a real machine (root's user manager forgives sandboxing
// settings an ordinary user's refuses).
export async function startSandbox(t: { teardown(f: () => unknown): void }, opts: { user?: string } = {}): Promise<Sandbox> {
  const started = Date.now();
  const { dir, env: managerEnv, ns, as, stop } = manager.startUserManager('run-', opts.user);
  const env: NodeJS.ProcessEnv = { ...managerEnv, MANPATH: path.join(ROOT, 'man') + ':' };
  const port = await freePort();
  const run = (cmd: string, args: string[], opts: { timeoutMs?: number; input?: string } = {}) =>
    new Promise<Run>((resolve) => {
      const [file, ...argv] = [...ns, ...as, cmd, ...args];
      const child = execFile(file, argv, { env, timeout: opts.timeoutMs ?? 120000, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
        const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as unknown as { code: number }).code : 1) : 0;
        resolve({ code, stdout: String(stdout), stderr: String(stderr) });
      });
      if (opts.input !== undefined) child.stdin?.end(opts.input);
    });
  const sb: Sandbox = {
    dir,
    started,
    env,
    port,
    run,
    prefix: [...ns, ...as],
    faassctlPath: FAASSCTL,
    faassctl: (...args) => run(process.execPath, [sb.faassctlPath, ...args]),
    systemctl: (...args) => run('systemctl', ['--user', ...args]),
    stop,
  };
  t.teardown(() => sb.stop());
  return sb;
}

// The sandbox's cgroup in the systemd hierarchy (systemd-user.sh writes one line per hierarchy
// into DIR/cgroups): /sys/fs/cgroup/systemd/…/faass-test-PID.slice/user.slice/user-UID.slice/user@UID.service.
export function systemdCgroup(sb: Sandbox): string {
  const cgroups = fs.readFileSync(path.join(sb.dir, 'cgroups'), 'utf8').split('\n');
  const sd = cgroups.find((c) => c.startsWith('/sys/fs/cgroup/systemd/'));
  if (!sd) throw new Error('no systemd cgroup hierarchy in the sandbox');
  return sd;
}

// The gateway's own processes and the runners', found through the sandbox's cgroups; with
// `unit`, only that unit's (so a test looks at what it started, not at an earlier test's calls).
export function faassPids(sb: Sandbox, unit?: string): number[] {
  const sd = systemdCgroup(sb);
  const pids: number[] = [];
  const walk = (d: string) => {
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(d, { withFileTypes: true });
    } catch {
      return; // the unit's cgroup went away as we looked
    }
    for (const e of entries) {
      if (!e.isDirectory()) continue;
      const sub = path.join(d, e.name);
      if (unit ? e.name === unit : e.name.startsWith('faass-')) {
        try {
          for (const p of fs.readFileSync(path.join(sub, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean)) pids.push(Number(p));
        } catch {
          continue;
        }
      }
      walk(sub);
    }
  };
  walk(sd);
  return pids;
}

// Every process in the sandbox's cgroups (the manager and journald included), by PID.
export function sandboxPids(sb: Sandbox): number[] {
  const sd = systemdCgroup(sb);
  const pids: number[] = [];
  const walk = (d: string) => {
    try {
      pids.push(...fs.readFileSync(path.join(d, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean).map(Number));
      for (const e of fs.readdirSync(d, { withFileTypes: true })) if (e.isDirectory()) walk(path.join(d, e.name));
    } catch {
      // a unit's cgroup went away as we looked
    }
  };
  walk(sd);
  return pids;
}

// The sandbox's own journald (systemd-user.sh starts it in the sandbox's cgroup): found there by
// PID, never by name on the whole machine, where other sandboxes run theirs.
export function journaldPid(sb: Sandbox): number {
  const comm = (pid: number) => {
    try {
      return fs.readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
    } catch {
      return '';
    }
  };
  const pid = sandboxPids(sb).find((p) => comm(p) === 'systemd-journal');
  if (pid === undefined) throw new Error("no journald among the sandbox's processes");
  return pid;
}

export async function waitFor(what: string, cond: () => Promise<boolean> | boolean, timeoutMs = 20000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (await cond()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`);
}

export interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

// The code of a faass JSON error body ({"error": {"code": ...}}); anything else comes back as a
// string that names what was there, so an assertion on it fails with the body in view.
export function errorCode(body: string): string {
  try {
    const code = (JSON.parse(body) as { error?: { code?: unknown } } | null)?.error?.code;
    if (typeof code === 'string') return code;
  } catch {
    // not JSON: said below
  }
  return `(no error code in ${JSON.stringify(body.slice(0, 200))})`;
}

export function request(port: number, urlPath: string, opts: { method?: string; body?: string | Buffer; headers?: Record<string, string>; timeoutMs?: number } = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const body = opts.body ?? '';
    const req = http.request(
      { host: '127.0.0.1', port, path: urlPath, method: opts.method ?? 'POST', agent: false, headers: { 'content-length': String(Buffer.byteLength(body)), ...opts.headers } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (d: Buffer) => chunks.push(d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    req.setTimeout(opts.timeoutMs ?? 60000, () => req.destroy(new Error('client timeout')));
    req.on('error', reject);
    req.end(body);
  });
}

export interface LoadResult {
  sent: number;
  ok: number;
  failures: { status?: number; error?: string; body?: string }[];
}

// n requests, at most `concurrency` at a time, each on a fresh connection (as ab does).
export async function load(port: number, urlPath: string, n: number, concurrency: number, check: (r: Reply) => boolean = (r) => r.status === 200, method = 'POST'): Promise<LoadResult> {
  const result: LoadResult = { sent: 0, ok: 0, failures: [] };
  let next = 0;
  const worker = async () => {
    while (next < n) {
      const i = next++;
      result.sent++;
      try {
        const r = await request(port, urlPath, method === 'GET' ? { method } : { body: `req-${i}` });
        if (check(r)) result.ok++;
        else result.failures.push({ status: r.status, body: r.body.slice(0, 200) });
      } catch (e) {
        result.failures.push({ error: (e as Error).message });
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return result;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function unitState(sb: Sandbox, unit: string): Promise<string> {
  const r = await sb.systemctl('show', unit, '--property=ActiveState', '--property=SubState', '--value');
  return r.stdout.trim().split('\n').join('/');
}

// install.sh into the sandbox, as a user would run it.
// consolePort: --console-port too (the web console on its own address).
export async function install(sb: Sandbox, idle = 1, consolePort?: number): Promise<Run> {
  const prefix = path.join(sb.dir, 'prefix');
  const more = consolePort === undefined ? [] : ['--console-port', String(consolePort)];
  const r = await sb.run('bash', [path.join(ROOT, 'install.sh'), '--prefix', prefix, '--port', String(sb.port), '--idle', String(idle), ...more], { timeoutMs: 300000 });
  sb.faassctlPath = path.join(prefix, 'bin', 'faassctl');
  return r;
}

// Without install.sh: gateway settings, units, and the gateway socket enabled (with `more` init
// options, the sockets they add too: the console's).
export async function setupGateway(sb: Sandbox, idle = 1, more: string[] = []): Promise<void> {
  for (const args of [['init', '--port', String(sb.port), '--idle', String(idle), ...more], ['generate-units']]) {
    const r = await sb.faassctl(...args);
    if (r.code !== 0) throw new Error(`faassctl ${args.join(' ')} failed: ${r.stderr}`);
  }
  const sockets = ['faass-gateway.socket', ...(more.includes('--console-port') ? ['faass-gateway-console.socket'] : [])];
  const r = await sb.systemctl('enable', '--now', ...sockets);
  if (r.code !== 0) throw new Error(`enable ${sockets.join(' ')} failed: ${r.stderr}`);
}

// setupGateway with the web console on an address of its own (console_listen: a second free
// loopback port, so the console's origin differs from the functions'): that port.
export async function setupConsole(sb: Sandbox, idle = 1): Promise<number> {
  let port = await freePort();
  while (port === sb.port) port = await freePort();
  await setupGateway(sb, idle, ['--console-port', String(port)]);
  return port;
}

export function writeFixture(sb: Sandbox, name: string, text: string, mode = 0o644): string {
  const file = path.join(sb.dir, 'fixtures', name);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, text, { mode });
  return file;
}
