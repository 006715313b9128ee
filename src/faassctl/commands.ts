import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawn } from 'node:child_process';
import { Paths, gatewayConfPath, functionConfPath } from '../lib/paths';
import { deployFunction, deleteFunction, applyUnits, ApplyReport, keepAccess, rebuildFunction } from '../lib/deploy';
import { FunctionInput, listFunctionNames, loadFunctionConfig, configInput } from '../lib/function-config';
import { BuildProgress } from './progress';
import { buildGatewayConfig, readGatewayIni, readDockerIni, renderGatewayIni, loadDockerConfig } from '../lib/gateway-config';
import { writeFileAtomic, readIfExists } from '../lib/fs-atomic';
import { fail } from '../lib/errors';
import { validateName } from '../lib/validate';
import { functionUnitBase } from '../lib/units';
import { isValidCallId } from '../lib/http-util';

export interface DeployArgs {
  name: string;
  runtime?: string;
  fromFile?: string;
  command?: string;
  image?: string;
  build?: string;
  network?: string;
  kind?: string;
  port?: number;
  health?: string;
  readyTimeout?: number;
  handler?: string;
  env?: string[];
  timeout?: number;
  idle?: number;
  maxInflight?: number;
  workers?: number;
  protocol?: string;
  contentType?: string;
  maxOutput?: string;
  memoryMax?: string;
  tasksMax?: number;
  cpuQuota?: number;
  auth?: string;
  public?: boolean;
  passAuthorization?: boolean;
}

function say(report: ApplyReport, what: string): void {
  const u = report.units;
  process.stdout.write(`${what}; units: ${u.written.length} written, ${u.removed.length} removed, ${u.unchanged.length} unchanged\n`);
  if (report.systemd === 'unreachable') process.stderr.write('faassctl: no systemd user manager is reachable: units written but not loaded; run faassctl serve instead, or start one (systemctl --user)\n');
}

export function parseEnvPairs(pairs: string[] = []): Record<string, string> {
  const env: Record<string, string> = {};
  for (const p of pairs) {
    const i = p.indexOf('=');
    if (i <= 0) fail('FAASS_E_USAGE', `Invalid --env ${JSON.stringify(p)}: expected KEY=VALUE`);
    env[p.slice(0, i)] = p.slice(i + 1);
  }
  return env;
}

// The settings a deploy gives, as the function file's keys (shared by local and remote mode).
// build: the build context as it will be seen where the deploy runs.
export function deployInput(a: DeployArgs, build: string | undefined): FunctionInput {
  validateName(a.name);
  if (!a.fromFile && a.command === undefined && a.image === undefined && a.build === undefined && !a.runtime) fail('FAASS_E_USAGE', 'deploy needs --runtime and --from-file PATH, --command CMD, --image IMAGE or --build');
  if (a.public && a.auth) fail('FAASS_E_USAGE', '--public and --auth exclude each other');
  if (a.build === '' && !a.fromFile) fail('FAASS_E_USAGE', '--build needs a directory with a Dockerfile (or --from-file DIR --build)');
  const input: FunctionInput = {
    runtime: a.runtime ?? (a.image !== undefined || build !== undefined ? 'docker' : a.command !== undefined ? 'exec' : undefined),
    command: a.command,
    image: a.image,
    build,
    network: a.network,
    kind: a.kind,
    port: a.port,
    health: a.health,
    ready_timeout: a.readyTimeout,
    protocol: a.protocol,
    timeout: a.timeout,
    idle: a.idle,
    max_inflight: a.maxInflight,
    workers: a.workers,
    max_output: a.maxOutput,
    content_type: a.contentType,
    memory_max: a.memoryMax,
    tasks_max: a.tasksMax,
    cpu_quota: a.cpuQuota,
    auth: a.public ? '' : a.auth,
    pass_authorization: a.passAuthorization,
    env: parseEnvPairs(a.env),
  };
  for (const k of Object.keys(input) as (keyof FunctionInput)[]) if (input[k] === undefined) delete input[k];
  const numeric = ['timeout', 'idle', 'max_inflight', 'workers', 'tasks_max', 'cpu_quota', 'port', 'ready_timeout'] as const;
  for (const k of numeric) if (input[k] !== undefined) input[k] = String(input[k]);
  return input;
}

export async function deploy(paths: Paths, a: DeployArgs): Promise<number> {
  // --build DIR: a directory of the user's, rebuilt from in place by faassctl build; with
  // --from-file DIR, --build [PATH] names the context inside the copied code (default .).
  const build = a.build === undefined ? undefined : a.fromFile ? a.build || '.' : a.build && path.resolve(a.build);
  const input = deployInput(a, build);
  keepAccess(paths, a.name, input);
  const progress = build !== undefined ? new BuildProgress(process.stdout) : null;
  const { config, report } = await withProgress(progress, () => deployFunction(paths, { name: a.name, input, fromFile: a.fromFile, handlerSpec: a.handler, onBuild: progress?.event }));
  say(report, `Deployed ${config.name} (${config.runtime}); call it at /function/${config.name}`);
  return 0;
}

async function withProgress<T>(progress: BuildProgress | null, f: () => Promise<T>): Promise<T> {
  try {
    const r = await f();
    progress?.done(true);
    return r;
  } catch (e) {
    progress?.done(false);
    throw e;
  }
}

// Builds the function's image again from its code (build=) and switches the function to it.
export async function build(paths: Paths, name: string): Promise<number> {
  validateName(name);
  const progress = new BuildProgress(process.stdout);
  const { previous, config, report } = await withProgress(progress, () => rebuildFunction(paths, name, progress.event));
  say(report, config.image === previous.image ? `Image ${config.image} is unchanged` : `Built ${config.image}; ${name} uses it from now on (was ${previous.image})`);
  return 0;
}

export async function remove(paths: Paths, name: string): Promise<number> {
  say(await deleteFunction(paths, name), `Deleted ${name}`);
  return 0;
}

export function list(paths: Paths): number {
  for (const name of listFunctionNames(paths)) {
    try {
      const c = loadFunctionConfig(paths, name);
      process.stdout.write(`${name}\t${c.runtime}\t${c.command ?? c.file ?? ''}\n`);
    } catch (e) {
      process.stdout.write(`${name}\tINVALID\t${(e as Error).message}\n`);
    }
  }
  return 0;
}

export function describe(paths: Paths, name: string): number {
  const c = loadFunctionConfig(paths, name);
  process.stdout.write(`# ${functionConfPath(paths, name)}\n${fs.readFileSync(functionConfPath(paths, name), 'utf8')}`);
  process.stdout.write(`# units: ${functionUnitBase(c.name)}.socket, ${functionUnitBase(c.name)}.service${c.kind === 'service' ? `, ${functionUnitBase(c.name)}-app.service` : ''}\n`);
  return 0;
}

export async function generateUnits(paths: Paths, dir?: string): Promise<number> {
  const report = await applyUnits(paths, { dir, reload: dir === undefined });
  say(report, `Units generated in ${dir ?? paths.unitDir}`);
  return 0;
}

// Creates or updates faass.conf; keys not given keep their value.
export async function init(paths: Paths, a: { listen?: string; port?: number; idle?: number; dockerHost?: string; tlsListen?: string; httpRedirect?: boolean; metrics?: boolean; logCalls?: boolean }): Promise<number> {
  const raw = readGatewayIni(paths);
  const docker = readDockerIni(paths);
  if (a.tlsListen === '') delete raw.tls_listen;
  else if (a.tlsListen !== undefined) raw.tls_listen = a.tlsListen;
  if (a.httpRedirect !== undefined) raw.http_redirect = a.httpRedirect ? 'yes' : 'no';
  if (raw.tls_listen === undefined) delete raw.http_redirect;
  if (a.dockerHost !== undefined) docker.host = a.dockerHost;
  if (a.listen !== undefined) raw.listen = a.listen;
  else if (a.port !== undefined) raw.listen = `127.0.0.1:${a.port}`;
  else if (raw.listen === undefined) raw.listen = '127.0.0.1:8080';
  if (a.metrics !== undefined) raw.metrics = a.metrics ? 'yes' : 'no';
  if (a.logCalls !== undefined) raw.log_calls = a.logCalls ? 'yes' : 'no';
  if (a.idle !== undefined) raw.idle = String(a.idle);
  else if (raw.idle === undefined) raw.idle = '10';
  buildGatewayConfig(raw);
  const text = renderGatewayIni(raw, docker);
  const old = readIfExists(gatewayConfPath(paths));
  writeFileAtomic(gatewayConfPath(paths), text);
  try {
    loadDockerConfig(paths);
  } catch (e) {
    if (old === null) fs.rmSync(gatewayConfPath(paths));
    else writeFileAtomic(gatewayConfPath(paths), old);
    throw e;
  }
  process.stdout.write(`Gateway settings in ${gatewayConfPath(paths)}: listen=${raw.listen} idle=${raw.idle}\n`);
  return 0;
}

// A function's journal: its runner's (or app's and proxy's) lines, the call lines the gateway
// logs for a service, and the manager's messages about its units; --call: one call's lines only.
export function logs(name: string, a: { follow?: boolean; lines?: number; priority?: string; since?: string; call?: string }): Promise<number> {
  const args = ['--no-pager', '-o', 'short-iso'];
  if (name === 'gateway') args.push('--user-unit=faass-gateway.service');
  else {
    const base = functionUnitBase(validateName(name));
    if (a.call !== undefined) {
      if (!isValidCallId(a.call)) fail('FAASS_E_USAGE', `Invalid call id ${JSON.stringify(a.call.slice(0, 80))}: letters, digits and . _ : - (as in X-Call-Id)`);
      args.push(`FAASS_FUNCTION=${name}`, `FAASS_CALL_ID=${a.call}`);
    } else {
      const units = [`${base}.service`, `${base}-app.service`];
      args.push(`FAASS_FUNCTION=${name}`, ...units.flatMap((u) => ['+', `_SYSTEMD_USER_UNIT=${u}`, '+', `USER_UNIT=${u}`]));
    }
  }
  if (a.follow) args.push('-f');
  if (a.lines !== undefined) args.push('-n', String(a.lines));
  if (a.priority) args.push('-p', a.priority);
  if (a.since) args.push('--since', a.since);
  return new Promise((resolve) => {
    const child = spawn('journalctl', args, { stdio: 'inherit' });
    child.on('error', (e) => {
      process.stderr.write(`faassctl: cannot run journalctl: ${e.message}\n`);
      resolve(6);
    });
    child.on('exit', (code) => resolve(code ?? 1));
  });
}
