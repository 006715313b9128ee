import * as fs from 'node:fs';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { Paths, functionCodeDir, functionConfPath } from './paths';
import { FunctionConfig, FunctionInput, buildFunctionConfig, renderFunctionConfig, listFunctionNames, loadFunctionConfig, configInput } from './function-config';
import { loadGatewayConfig, loadDockerConfig } from './gateway-config';
import { UnitContext, renderAllUnits, functionUnitBase } from './units';
import { applyUnitFiles, UnitChanges } from './unit-files';
import { writeFileAtomic, replaceSymlink } from './fs-atomic';
import { fail, FaassError } from './errors';
import { validateName } from './validate';
import { managerReachable, systemctl } from './systemctl';
import { BuildEvent, buildImage, pruneImages, imageRepo } from './image-build';

export interface DeploySpec {
  name: string;
  input: FunctionInput; // config keys; file/handler may be derived from fromFile
  fromFile?: string; // a file or a directory to copy into the code directory
  handlerSpec?: string; // Kubeless FILE.NAME or NAME
  onBuild?: (e: BuildEvent) => void; // with build=: the build's progress
}

export interface ApplyReport {
  units: UnitChanges;
  systemd: 'applied' | 'unreachable' | 'skipped';
}

const HANDLER_EXTS: Record<string, string[]> = { node: ['.js', '.mjs', '.cjs'], python: ['.py'], exec: [''] };

const PROXYD = ['/usr/lib/systemd/systemd-socket-proxyd', '/lib/systemd/systemd-socket-proxyd'];

export function unitContext(paths: Paths): UnitContext {
  const proxyd = PROXYD.find((p) => fs.existsSync(p)) ?? PROXYD[0];
  return { node: process.execPath, dist: path.resolve(__dirname, '..'), proxyd, xdg: { config: paths.xdg.config, data: paths.xdg.data, state: paths.xdg.state } };
}

function versionsDir(paths: Paths, name: string): string {
  return path.join(paths.dataDir, 'code', name);
}

// Copies the code into a new version directory; the function's code path is a symlink swapped
// atomically, so a running call keeps its files and the next one sees the new code whole.
function stageCode(paths: Paths, name: string, fromFile: string): string {
  const src = path.resolve(fromFile);
  let st: fs.Stats;
  try {
    st = fs.statSync(src);
  } catch {
    fail('FAASS_E_FILE_MISSING', `Cannot read ${fromFile}: no such file or directory`);
  }
  const version = `${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
  const dir = path.join(versionsDir(paths, name), version);
  const tmp = `${dir}.tmp`;
  fs.mkdirSync(tmp, { recursive: true, mode: 0o755 });
  try {
    if (st.isDirectory()) fs.cpSync(src, tmp, { recursive: true, dereference: false, verbatimSymlinks: true });
    else if (st.isFile()) {
      const dest = path.join(tmp, path.basename(src));
      fs.copyFileSync(src, dest);
      fs.chmodSync(dest, (st.mode & 0o777) | 0o444);
    } else fail('FAASS_E_FILE_MISSING', `${fromFile} is neither a file nor a directory`);
    fs.renameSync(tmp, dir);
  } catch (e) {
    fs.rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
  return version;
}

function emptyVersion(paths: Paths, name: string): string {
  const version = `${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
  fs.mkdirSync(path.join(versionsDir(paths, name), version), { recursive: true, mode: 0o755 });
  return version;
}

// Derives file= and handler= from --from-file and --handler (Kubeless's FILE.NAME).
function resolveHandler(spec: DeploySpec, runtime: string, codeDir: string, isDir: boolean): { file?: string; handler?: string } {
  let file = spec.input.file as string | undefined;
  let handler = spec.input.handler as string | undefined;
  if (spec.handlerSpec) {
    const dot = spec.handlerSpec.lastIndexOf('.');
    if (dot > 0) {
      handler = spec.handlerSpec.slice(dot + 1);
      const base = spec.handlerSpec.slice(0, dot);
      if (isDir || !file) file = (HANDLER_EXTS[runtime] ?? ['']).map((ext) => base + ext).find((f) => fs.existsSync(path.join(codeDir, f))) ?? file ?? base;
    } else handler = spec.handlerSpec;
  }
  return { file, handler };
}

export async function deployFunction(paths: Paths, spec: DeploySpec, opts: { reload?: boolean } = {}): Promise<{ config: FunctionConfig; report: ApplyReport }> {
  validateName(spec.name);
  // Validate what can be validated before touching anything.
  const building = spec.input.build !== undefined;
  buildFunctionConfig(spec.name, { ...spec.input, file: spec.input.file ?? ((spec.fromFile || spec.handlerSpec) && spec.input.runtime !== 'docker' ? 'placeholder' : undefined), image: building ? 'placeholder' : spec.input.image });
  if (building && spec.input.image !== undefined) fail('FAASS_E_USAGE', `Function ${spec.name}: image and build exclude each other (a build names its image ${imageRepo(spec.name)}:ID)`);
  const link = functionCodeDir(paths, spec.name);
  const previous = building ? currentConfig(paths, spec.name) : null;
  let version: string | null = null;
  let isDir = false;
  if (spec.fromFile) {
    isDir = fs.statSync(path.resolve(spec.fromFile), { throwIfNoEntry: false })?.isDirectory() ?? false;
    version = stageCode(paths, spec.name, spec.fromFile);
  } else if (!fs.existsSync(link)) version = emptyVersion(paths, spec.name);
  const codeDir = version ? path.join(versionsDir(paths, spec.name), version) : fs.realpathSync(link);
  try {
    const input: FunctionInput = { ...spec.input };
    if (spec.fromFile && !isDir && !input.file && input.runtime !== 'docker' && !spec.handlerSpec?.includes('.')) input.file = path.basename(spec.fromFile);
    Object.assign(input, Object.fromEntries(Object.entries(resolveHandler(spec, String(input.runtime), codeDir, isDir)).filter(([, v]) => v !== undefined)));
    // An image built from the code comes before anything is written: a failed build changes nothing.
    if (building) {
      const context = path.isAbsolute(String(input.build)) ? String(input.build) : path.join(codeDir, String(input.build));
      input.image = await buildImage(loadDockerConfig(paths).socketPath, spec.name, context, spec.onBuild ?? (() => undefined));
    }
    const cfg = buildFunctionConfig(spec.name, input);
    if (cfg.file !== undefined && !fs.existsSync(path.join(codeDir, cfg.file))) fail('FAASS_E_FILE_MISSING', `Function ${spec.name}: ${cfg.file} is not in the function's code${spec.fromFile ? ` (from ${spec.fromFile})` : ''}`);
    writeFileAtomic(functionConfPath(paths, spec.name), renderFunctionConfig(cfg));
    if (version) {
      fs.mkdirSync(path.dirname(link), { recursive: true });
      replaceSymlink(path.relative(path.dirname(link), path.join(versionsDir(paths, spec.name), version)), link);
      pruneVersions(paths, spec.name, version);
    }
    const report = await applyUnits(paths, { reload: opts.reload ?? true, enable: [spec.name], restart: [spec.name] });
    if (previous?.build !== undefined && previous.image !== undefined && cfg.image !== undefined && cfg.image !== previous.image) await pruneImages(loadDockerConfig(paths).socketPath, spec.name, [cfg.image, previous.image]);
    return { config: cfg, report };
  } catch (e) {
    if (version) fs.rmSync(path.join(versionsDir(paths, spec.name), version), { recursive: true, force: true });
    throw e;
  }
}

// Builds the function's image again from its build context and switches the function to it.
export async function rebuildFunction(paths: Paths, name: string, onBuild?: (e: BuildEvent) => void): Promise<{ previous: FunctionConfig; config: FunctionConfig; report: ApplyReport }> {
  const previous = loadFunctionConfig(paths, name);
  if (previous.build === undefined) fail('FAASS_E_USAGE', `Function ${name} has no build context; deploy it with --build DIR`);
  const input = configInput(previous);
  delete input.image;
  return { previous, ...(await deployFunction(paths, { name, input, onBuild })) };
}

// Who may call a function is kept on an update that does not say (auth '' makes it public):
// a code or settings update, local or through the API, must not open a protected function by
// leaving a field out. When the existing file cannot be read, its rules are unknown: the update
// is refused unless it says who may call (fail closed, never "public" by default).
export function keepAccess(paths: Paths, name: string, input: FunctionInput): void {
  let prev: FunctionConfig;
  try {
    prev = loadFunctionConfig(paths, name);
  } catch (e) {
    if (e instanceof FaassError && e.code === 'FAASS_E_FUNCTION_NOT_FOUND') return; // a new function
    if (input.auth !== undefined) return; // the update says; pass_authorization then defaults to off
    const reason = e instanceof FaassError ? e.message : `${functionConfPath(paths, name)}: ${(e as Error).message}`;
    fail('FAASS_E_ACCESS_UNKNOWN', `Cannot tell who may call ${name}: ${reason}; say it with --auth NAME[,NAME...] or --public ("auth" through the API)`);
  }
  if (input.auth === undefined && prev.auth.length > 0) input.auth = prev.auth.join(',');
  if (input.pass_authorization === undefined && prev.passAuthorization) input.pass_authorization = true;
}

// The function as it is now, or null when there is none or its file is broken: only for
// choices where a missing answer is safe (which images to prune, which units to stop).
function currentConfig(paths: Paths, name: string): FunctionConfig | null {
  try {
    return loadFunctionConfig(paths, name);
  } catch {
    return null;
  }
}

// Keeps the current version and the one before (a call started just before the swap may still use it).
function pruneVersions(paths: Paths, name: string, current: string): void {
  const dir = versionsDir(paths, name);
  const versions = fs.readdirSync(dir).filter((v) => !v.endsWith('.tmp') && v !== current).sort();
  for (const v of versions.slice(0, -1)) fs.rmSync(path.join(dir, v), { recursive: true, force: true });
}

export async function deleteFunction(paths: Paths, name: string): Promise<ApplyReport> {
  validateName(name);
  if (!fs.existsSync(functionConfPath(paths, name))) fail('FAASS_E_FUNCTION_NOT_FOUND', `No function named ${name}`);
  const base = functionUnitBase(name);
  const cfg = currentConfig(paths, name); // an invalid file is deleted all the same
  const reachable = await managerReachable();
  if (reachable) {
    await systemctl('disable', '--now', `${base}.socket`).catch(() => undefined);
    await systemctl('stop', `${base}.service`).catch(() => undefined);
    if (cfg?.kind === 'service') await systemctl('stop', `${base}-app.service`).catch(() => undefined);
  }
  if (cfg?.runtime === 'docker') await removeContainers(paths, name);
  if (cfg?.build !== undefined) await pruneImages(loadDockerConfig(paths).socketPath, name, []);
  fs.rmSync(functionConfPath(paths, name), { force: true });
  fs.rmSync(functionCodeDir(paths, name), { force: true });
  fs.rmSync(versionsDir(paths, name), { recursive: true, force: true });
  const report = await applyUnits(paths, { reload: true });
  if (reachable) await systemctl('reset-failed', `${base}.service`, `${base}.socket`).catch(() => undefined);
  return report;
}

// A deleted function's containers (a service's stopped one, leftovers of a killed runner) go too.
async function removeContainers(paths: Paths, name: string): Promise<void> {
  const { default: Docker } = await import('dockerode');
  const docker = new Docker({ socketPath: loadDockerConfig(paths).socketPath });
  try {
    const list = await docker.listContainers({ all: true, filters: { label: [`faass.function=${name}`] } });
    await Promise.all(list.map((c) => docker.getContainer(c.Id).remove({ force: true })));
  } catch (e) {
    process.stderr.write(`faassctl: Failed to remove the containers of ${name}: ${(e as Error).message}, ignoring\n`);
  }
}

export function loadAllFunctions(paths: Paths): FunctionConfig[] {
  return listFunctionNames(paths).map((n) => loadFunctionConfig(paths, n));
}

// The gateway's sockets follow faass.conf: a changed socket unit (address, HTTP or HTTPS) is
// restarted, the HTTPS socket is enabled or disabled with tls_listen. Only when the gateway is
// enabled at all; its running service is stopped first (systemd will not start a socket whose
// service runs) and comes back with the next connection.
async function syncGatewaySockets(changes: UnitChanges): Promise<void> {
  const touched = (u: string) => changes.written.includes(u) || changes.removed.includes(u);
  if (!touched('faass-gateway.socket') && !touched('faass-gateway-https.socket')) return;
  const enabled = await systemctl('is-enabled', 'faass-gateway.socket').then(
    (out) => out.trim() === 'enabled',
    () => false,
  );
  if (!enabled) return;
  await systemctl('stop', 'faass-gateway.service');
  if (changes.removed.includes('faass-gateway-https.socket')) await systemctl('disable', '--now', 'faass-gateway-https.socket').catch(() => undefined);
  if (changes.written.includes('faass-gateway.socket')) await systemctl('restart', 'faass-gateway.socket');
  if (changes.written.includes('faass-gateway-https.socket')) {
    await systemctl('enable', 'faass-gateway-https.socket');
    await systemctl('restart', 'faass-gateway-https.socket');
  }
}

// Regenerates every unit from the config files; with a user manager, reloads it, enables the
// sockets of `enable` and restarts the running services of `restart` (so they load new code).
export async function applyUnits(paths: Paths, opts: { dir?: string; reload: boolean; enable?: string[]; restart?: string[] }): Promise<ApplyReport> {
  const fns = loadAllFunctions(paths);
  const units = renderAllUnits(loadGatewayConfig(paths), fns, unitContext(paths));
  const changes = applyUnitFiles(opts.dir ?? paths.unitDir, units);
  if (!opts.reload) return { units: changes, systemd: 'skipped' };
  // The units may write only here (ReadWritePaths=-, ignored if missing): it must exist first.
  fs.mkdirSync(paths.stateDir, { recursive: true, mode: 0o700 });
  if (!(await managerReachable())) return { units: changes, systemd: 'unreachable' };
  try {
    if (changes.written.length || changes.removed.length) await systemctl('daemon-reload');
    await syncGatewaySockets(changes);
    for (const name of opts.enable ?? []) {
      const base = functionUnitBase(name);
      await systemctl('reset-failed', `${base}.socket`, `${base}.service`).catch(() => undefined);
      await systemctl('enable', '--now', `${base}.socket`);
    }
    for (const name of opts.restart ?? []) {
      const base = functionUnitBase(name);
      const service = fns.find((f) => f.name === name)?.kind === 'service';
      await systemctl('try-restart', `${base}.service`, ...(service ? [`${base}-app.service`] : []));
    }
  } catch (e) {
    if (e instanceof FaassError) throw e;
    throw new FaassError('FAASS_E_SYSTEMD_FAILED', String(e));
  }
  return { units: changes, systemd: 'applied' };
}
